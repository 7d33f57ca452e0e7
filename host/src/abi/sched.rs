//! `wit/sched.wit`: spawn, yield, goid, gomaxprocs, num_goroutine, exit, msg_take.

use std::time::Duration;

use wasmtime::{Caller, Linker};

use super::{MODULE, abi_error, install, mem_and_data, read_msg, region};
use crate::engine::Slot;
use crate::gstore::{ExitRequest, GData, GKind, GuestPanicMessage, MAX_PANIC_TEXT, g_future};
use crate::limits::{LimitExceeded, LimitKind};
use crate::run::RunShared;

/// How long a spawn at the G limit waits for a place while no G anywhere exits, before it fails. Places
/// are freed only by Gs exiting; a second without a single exit means the Gs that hold them are blocked
/// (often on the very spawner, or on each other's spawns), and waiting longer only hides the limit.
const SPAWN_PATIENCE: Duration = Duration::from_secs(1);

/// A place for a new G: one of the program's own ([`crate::RunOptions::max_gs`]) and one in the engine's
/// G pool, shared by every program of the runtime. A full pool or program is usually a burst of spawns
/// outrunning the Gs that would exit: the spawner then parks until some G exits and tries again. It fails
/// with the limit error (worded by [`LimitError`], or naming the program's limit) when no other G can still
/// run (nothing could ever free a place), or when no G has exited for [`SPAWN_PATIENCE`] — whatever the
/// others do meanwhile: two spawners waiting on each other, or a pending timer that will not free anything,
/// do not keep a hopeless spawn alive.
///
/// [`LimitError`]: crate::engine::LimitError
async fn reserve_slot(run: &RunShared, gid: u64) -> wasmtime::Result<Slot> {
    let engine = run.program.shared_engine();
    let patience = SPAWN_PATIENCE.as_nanos() as u64;
    let mut deadline = None;
    loop {
        if let Some(slot) = try_reserve(run)? {
            return Ok(slot);
        }
        // Look at the others first, then try once more: the places freed by Gs that exited between the
        // failed try and the look are then seen, and a G that is neither running nor queued now cannot exit
        // later without something else running first.
        let hopeless = !run.sched.others_may_progress();
        let why = match try_reserve(run)? {
            Some(slot) => return Ok(slot),
            None => match run.reserve_own_place() {
                Err(max) => Err(LimitExceeded::new(LimitKind::Gs, max as u64, max as u64).at("gmp.spawn", gid)),
                Ok(()) => {
                    run.release_own_place();
                    Ok(engine.reserve().err().map_or_else(|| "a place was just freed".to_string(), |e| e.to_string()))
                }
            },
        };
        if hopeless {
            return Err(match why {
                Err(limit) => limit.into(),
                Ok(e) => abi_error("spawn", e),
            });
        }
        let d = *deadline.get_or_insert_with(|| run.sched.now().saturating_add(patience));
        match engine.wait_for_place(&run.sched, d).await {
            Ok(()) => deadline = None, // a G exited: progress, so wait afresh if the place went to another
            Err(()) => {
                let waited = format!("no G exited in the {SPAWN_PATIENCE:?} this spawn waited for a place");
                return Err(match why {
                    // No G of the program exited all that time: the limit is the story.
                    Err(limit) => limit.into(),
                    Ok(e) => abi_error("spawn", format!("{e}; {waited}")),
                });
            }
        }
    }
}

/// One try: the program's own place, then the pool's (giving the first back if the second is refused).
fn try_reserve(run: &RunShared) -> wasmtime::Result<Option<Slot>> {
    if run.reserve_own_place().is_err() {
        return Ok(None);
    }
    match run.program.shared_engine().reserve() {
        Ok(slot) => Ok(Some(slot)),
        Err(_) => {
            run.release_own_place();
            Ok(None)
        }
    }
}

/// The statuses `exit` accepts: WASI's `proc_exit` range, which wasmtime enforces for `std::process::exit`
/// in the guest too. Anything else traps the G (a panic: status 2) instead of reaching the host's
/// `std::process::exit`, which keeps only the low 8 bits: `exit(256)` would end the program with 0, success.
pub(crate) const EXIT_STATUSES: std::ops::Range<i32> = 0..126;

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        MODULE,
        "spawn",
        |mut caller: Caller<'_, GData>, (entry, ptr, len, hptr, nh): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let (arg, run, gid) = {
                    let (mem, data) = mem_and_data(&mut caller, "spawn")?;
                    if !data.run.program.can_spawn() {
                        return Err(abi_error(
                            "spawn",
                            "the program does not export `gmp_entry`, where a new G starts (a plain WASI \
                             program runs as one G; build it with the gmp guest SDK to spawn Gs)",
                        ));
                    }
                    (read_msg(mem, data, ptr, len, hptr, nh, "spawn")?, data.run.clone(), data.gid)
                };
                let slot = reserve_slot(&run, gid).await?;
                let entry = entry as u32;
                // The trace's name for the G, made only while tracing (see `trace.rs`).
                let name_arg: Option<[u8; 4]> = arg.bytes.get(..4).and_then(|b| b.try_into().ok());
                let r2 = run.clone();
                match run
                    .sched
                    .spawn_in(&run.group, |gid| g_future(r2, gid, GKind::Spawned { entry, arg: Box::new(arg) }, slot))
                {
                    Some(gid) => {
                        run.gcounts.spawned(run.group.live());
                        run.sched.trace_label(gid, || {
                            run.program.entry_name(entry, name_arg.as_ref().map_or(&[][..], |a| &a[..]))
                        });
                        Ok(gid as i64)
                    }
                    None => {
                        // The program is ending: the spawner itself stops at its next check. (The closure and
                        // the slot it holds were dropped unused; its place in the program goes back too.)
                        run.release_own_place();
                        Err(abi_error("spawn", "the program is ending"))
                    }
                }
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
    linker.func_wrap(MODULE, "num_goroutine", |caller: Caller<'_, GData>| -> i32 {
        caller.data().run.group.live() as i32
    })?;
    linker.func_wrap(MODULE, "exit", |_caller: Caller<'_, GData>, code: i32| -> wasmtime::Result<()> {
        if !EXIT_STATUSES.contains(&code) {
            return Err(abi_error(
                "exit",
                format!(
                    "exit status {code} is outside {}..{} (a process reports only the low 8 bits, and shells \
                     read 126 and up as 'cannot run' or a signal)",
                    EXIT_STATUSES.start, EXIT_STATUSES.end
                ),
            ));
        }
        Err(wasmtime::Error::new(ExitRequest(code)))
    })?;
    linker.func_wrap(
        MODULE,
        "panic",
        |mut caller: Caller<'_, GData>, msg: i32, msg_len: i32, loc: i32, loc_len: i32| -> wasmtime::Result<()> {
            let call = "panic";
            let (mem, _) = mem_and_data(&mut caller, call)?;
            let text = |ptr: i32, len: i32, what: &str| -> wasmtime::Result<String> {
                // A message longer than this is cut: it is one report line, and the guest controls its size.
                let len = len.clamp(0, MAX_PANIC_TEXT as i32);
                let r = region(mem.len(), ptr, len, 1, call, what)?;
                Ok(String::from_utf8_lossy(&mem[r]).into_owned())
            };
            let message = text(msg, msg_len, "the message")?;
            let location = text(loc, loc_len, "the location")?;
            Err(wasmtime::Error::new(GuestPanicMessage { message, location }))
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
            let mut msg = data.pending.take().expect("checked above");
            mem[buf].copy_from_slice(&msg.bytes);
            install(mem, data, msg.take_objs(), hbuf.start, call)
        },
    )?;
    Ok(())
}
