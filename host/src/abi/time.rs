//! `wit/time.wit`: the monotonic clock, sleeping, timer and ticker channels.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::dump::parked;
use gmp_sched::{Action, Sched, Timer};
use wasmtime::{Caller, Linker};

use super::{MODULE, handle_error, limit_error, mem_and_data, region, write_u32s};
use crate::gstore::GData;
use crate::handles::{HeldTimer, HostChan, Msg, Object};

/// What a timer channel receives: the clock when the timer fired, 8 bytes little-endian.
fn tick_msg(now: u64) -> Msg {
    Msg::uncharged(&now.to_le_bytes())
}

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "now", |caller: Caller<'_, GData>| -> i64 { caller.data().run.sched.now() as i64 })?;

    linker.func_wrap_async(MODULE, "sleep", |mut caller: Caller<'_, GData>, (ns,): (i64,)| {
        Box::new(async move {
            parked(&mut caller, &[], gmp_sched::sleep(Duration::from_nanos(ns.max(0) as u64))).await;
            Ok(())
        })
    })?;

    linker.func_wrap(
        MODULE,
        "timer_new",
        |mut caller: Caller<'_, GData>, ns: i64, period: i64, chan_out: i32| -> wasmtime::Result<i32> {
            let call = "timer_new";
            let (mem, data) = mem_and_data(&mut caller, call)?;
            let out = region(mem.len(), chan_out, 1, 4, call, "the channel handle slot")?;
            let (chan, timer) = arm(data, call, ns, period)?;
            let gid = data.gid;
            let ch = data.handles.insert(Object::Chan(chan)).map_err(|e| handle_error(call, gid, e))?;
            let timer = Object::Timer(Arc::new(HeldTimer(timer)));
            let th = data.handles.insert(timer).map_err(|e| handle_error(call, gid, e))?;
            write_u32s(mem, out.start, &[ch]);
            Ok(th as i32)
        },
    )?;

    linker.func_wrap(MODULE, "timer_after", |mut caller: Caller<'_, GData>, ns: i64| -> wasmtime::Result<i32> {
        let call = "timer_after";
        let data = caller.data_mut();
        // No handle names the timer, so nothing stops it: it fires once and goes (see `timer_new`'s action).
        let (chan, _timer) = arm(data, call, ns, 0)?;
        let gid = data.gid;
        let ch = data.handles.insert(Object::Chan(chan)).map_err(|e| handle_error(call, gid, e))?;
        Ok(ch as i32)
    })?;

    linker.func_wrap(MODULE, "timer_stop", |caller: Caller<'_, GData>, h: i32| -> wasmtime::Result<i32> {
        let data = caller.data();
        let t = data.handles.timer(h as u32).map_err(|e| handle_error("timer_stop", data.gid, e))?;
        Ok(i32::from(t.stop()))
    })?;
    Ok(())
}

/// A timer firing `ns` from now (then every `period` ns, if positive) on a new channel of one slot, charged to
/// the program's `max_timers`.
fn arm(data: &mut GData, call: &'static str, ns: i64, period: i64) -> wasmtime::Result<(Arc<HostChan>, Timer)> {
    let charge = data.run.limits.charge_timer().map_err(|e| limit_error(call, data.gid, e))?;
    let sched = data.run.sched.clone();
    // The buffer holds one tick: a ticker drops ticks its receiver has not taken, as Go's does.
    let chan = HostChan::new(1, &data.run.gc);
    // Weak both ways: a ticker nobody listens to stops itself instead of keeping the channel (and the
    // scheduler) alive forever.
    let (weak_chan, weak_sched): (Weak<HostChan>, Weak<Sched>) = (Arc::downgrade(&chan), Arc::downgrade(&sched));
    // The action owns the timer's charge: it goes when the scheduler and every handle let go of it.
    let action = Action::Call(Box::new(move || match (&charge, weak_chan.upgrade(), weak_sched.upgrade()) {
        (_, Some(ch), Some(s)) => {
            let _ = ch.try_send(tick_msg(s.now()));
            // The upgrade was a reference outside any table: going away, it may leave the channel reachable
            // only from buffers (see *Candidates* in gc.rs).
            crate::gc::dropped(ch);
            true
        }
        _ => false,
    }));
    let when = sched.now().saturating_add(ns.max(0) as u64);
    let period = (period > 0).then(|| Duration::from_nanos(period as u64));
    Ok((chan, sched.add_timer(when, period, action)))
}
