//! `wit/sched.wit`: spawn, yield, goid, gomaxprocs, exit, msg_take.

use wasmtime::{Caller, Linker};

use super::{MODULE, abi_error, install, mem_and_data, read_msg, region};
use crate::gstore::{ExitRequest, GData, GKind, g_future};

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "spawn",
        |mut caller: Caller<'_, GData>, entry: i32, ptr: i32, len: i32, hptr: i32, nh: i32| -> wasmtime::Result<i64> {
            let (mem, data) = mem_and_data(&mut caller, "spawn")?;
            let arg = read_msg(mem, data, ptr, len, hptr, nh, "spawn")?;
            let run = data.run.clone();
            let slot = run
                .program
                .shared_engine()
                .reserve()
                .map_err(|e| abi_error("spawn", e))?;
            let entry = entry as u32;
            let gid = run
                .sched
                .spawn(|gid| g_future(run.clone(), gid, GKind::Spawned { entry, arg }, slot));
            Ok(gid as i64)
        },
    )?;
    linker.func_wrap_async(MODULE, "yield", |_caller: Caller<'_, GData>, (): ()| {
        Box::new(async move {
            gmp_sched::yield_now().await;
            Ok(())
        })
    })?;
    linker.func_wrap(MODULE, "goid", |caller: Caller<'_, GData>| -> i64 {
        caller.data().gid as i64
    })?;
    linker.func_wrap(MODULE, "gomaxprocs", |caller: Caller<'_, GData>| -> i32 {
        caller.data().run.sched.procs() as i32
    })?;
    linker.func_wrap(
        MODULE,
        "exit",
        |_caller: Caller<'_, GData>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(ExitRequest(code)))
        },
    )?;
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
            let msg = data.pending.take().expect("checked above");
            mem[buf].copy_from_slice(&msg.bytes);
            install(mem, data, msg.objs, hbuf.start, call)
        },
    )?;
    Ok(())
}
