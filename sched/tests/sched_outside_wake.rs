//! Wake-ups from outside the Ms against Ms going to sleep and against checkdead: a G readied by a plain
//! thread (holding a `Hold`, as an embedder's host work does) or by a timer that sysmon fires is never
//! lost, and never taken for a deadlock: the real code end to end, many short rounds. The windows of these
//! races are a few instructions wide, so a run passing here says little about them by itself; the loom
//! models `loom_idle_m_parking_sees_an_outside_ready_or_is_woken` and
//! `loom_checkdead_vs_outside_wake_never_reports_a_readied_g` (sched/src/idle.rs) are what fail when the
//! orderings break (tried: dropping the non-spinning M's re-check passes here and fails there).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{config, run};
use gmp_sched::{Chan, Outcome};

/// A G parks on a channel; a plain thread, holding a `Hold` while it works, sends to it from outside any M
/// and then drops the hold. Every round must end with the G receiving, at 1 and 2 Ps.
#[test]
fn a_g_readied_from_a_host_thread_always_runs() {
    for procs in [1, 2] {
        let outcome = run(config(procs), move |s| async move {
            for round in 0..2_000u32 {
                let ch = Arc::new(Chan::<u32>::new(0));
                let (c2, hold) = (ch.clone(), s.hold());
                let t = std::thread::spawn(move || {
                    if round % 2 == 0 {
                        std::thread::yield_now();
                    }
                    // From outside any M: the send readies the parked receiver onto the global queue.
                    while let Err(gmp_sched::TrySendError::Full(_)) = c2.try_send(round) {
                        std::thread::yield_now();
                    }
                    drop(hold);
                });
                assert_eq!(ch.recv().await, Ok(round));
                t.join().unwrap();
            }
        });
        assert_eq!(outcome, Outcome::Exited(0), "at {procs} Ps");
    }
}

/// Short sleeps, so that the G is readied by whichever of a blocked M, a spinning M or sysmon fires its
/// timer, while every M keeps going idle in between: none of the 1,000 wake-ups is lost.
#[test]
fn short_sleeps_in_a_row_all_wake() {
    for procs in [1, 2, 3] {
        let outcome = run(config(procs), move |_| async move {
            for i in 0..1_000u64 {
                gmp_sched::sleep(Duration::from_micros(i % 50)).await;
            }
        });
        assert_eq!(outcome, Outcome::Exited(0), "at {procs} Ps");
    }
}
