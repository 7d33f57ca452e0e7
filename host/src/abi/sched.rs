//! `wit/sched.wit`: spawn, yield, goid, gomaxprocs, exit, msg_take.

use wasmtime::{Caller, Linker};

use super::{MODULE, abi_error, install, mem_and_data, read_msg, region};
use crate::engine::Slot;
use crate::gstore::{ExitRequest, GData, GKind, g_future};
use crate::runtime::RunShared;

/// A place in the engine's G pool for a new G. A full pool is usually a burst of spawns outrunning the
/// Gs that would exit: the spawner then gives way (Gosched) and tries again, as long as some other G can
/// still run and free a place. Only when none can is the limit an error, worded by [`LimitError`].
///
/// [`LimitError`]: crate::engine::LimitError
async fn reserve_slot(run: &RunShared) -> wasmtime::Result<Slot> {
    loop {
        match run.program.shared_engine().reserve() {
            Ok(slot) => return Ok(slot),
            Err(e) if !run.sched.others_may_progress() => return Err(abi_error("spawn", e)),
            Err(_) => gmp_sched::yield_now().await,
        }
    }
}

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        MODULE,
        "spawn",
        |mut caller: Caller<'_, GData>, (entry, ptr, len, hptr, nh): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let (arg, run) = {
                    let (mem, data) = mem_and_data(&mut caller, "spawn")?;
                    (read_msg(mem, data, ptr, len, hptr, nh, "spawn")?, data.run.clone())
                };
                let slot = reserve_slot(&run).await?;
                let entry = entry as u32;
                let gid = run.sched.spawn(|gid| g_future(run.clone(), gid, GKind::Spawned { entry, arg }, slot));
                Ok(gid as i64)
            })
        },
    )?;
    linker.func_wrap_async(MODULE, "yield", |_caller: Caller<'_, GData>, (): ()| {
        Box::new(async move {
            gmp_sched::yield_now().await;
            Ok(())
        })
    })?;
    linker.func_wrap(MODULE, "goid", |caller: Caller<'_, GData>| -> i64 { caller.data().gid as i64 })?;
    linker.func_wrap(MODULE, "gomaxprocs", |caller: Caller<'_, GData>| -> i32 {
        caller.data().run.sched.procs() as i32
    })?;
    linker.func_wrap(MODULE, "exit", |_caller: Caller<'_, GData>, code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::Error::new(ExitRequest(code)))
    })?;
    linker.func_wrap(
        MODULE,
        "msg_take",
        |mut caller: Caller<'_, GData>, ptr: i32, len: i32, hptr: i32, nh: i32| -> wasmtime::Result<()> {
            let call = "msg_take";
            let (mem, data) = mem_and_data(&mut caller, call)?;
            let Some(msg) = data.pending.as_ref() else {
                return Err(abi_error(call, "the G holds no pending message"));
            };
            if msg.bytes.len() != len as u32 as usize || msg.objs.len() != nh as u32 as usize {
                return Err(abi_error(
                    call,
                    format!(
                        "the pending message has {} bytes and {} handles, not {} and {}",
                        msg.bytes.len(),
                        msg.objs.len(),
                        len as u32,
                        nh as u32
                    ),
                ));
            }
            let buf = region(mem.len(), ptr, len, 1, call, "the buffer")?;
            let hbuf = region(mem.len(), hptr, nh, 4, call, "the handle buffer")?;
            let mut msg = data.pending.take().expect("checked above");
            mem[buf].copy_from_slice(&msg.bytes);
            install(mem, data, msg.take_objs(), hbuf.start, call)
        },
    )?;
    Ok(())
}
