//! Spurious wake-ups: a G woken while its wait is not over is polled again and parks again, and must still
//! count as waiting on what it waits on. Before, a re-polled channel wait left no wait reason, the M took
//! the G for one inside a foreign future (a syscall), and the deadlock report was switched off for good.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gmp_sched::{Case, Chan, Config, Hooks, Outcome, Sched, WaitReason, select};

/// Polls `inner`, first stashing the waker it was polled with, so that another G can wake this one
/// spuriously.
struct Stash<F> {
    inner: F,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl<F: Future + Unpin> Future for Stash<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// Main and a victim G block for good on channels nobody will send to; a third G wakes the victim
/// spuriously, a few times, then exits. The program is deadlocked and must be reported so, with the victim
/// still shown waiting on its channel. `how` picks the victim's wait: a receive, a send, or a select.
fn spurious_wakes_leave_a_deadlock_reported(how: &'static str) {
    for procs in [1, 2] {
        let s = Sched::start(Config { procs, ..Config::default() }, Hooks::default());
        let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (victim_chan, main_chan) = (Arc::new(Chan::<u32>::new(0)), Arc::new(Chan::<u32>::new(0)));
        let (s2, st, vc, mc) = (s.clone(), stash.clone(), victim_chan.clone(), main_chan.clone());
        s.spawn(move |_| {
            Box::pin(async move {
                let st2 = st.clone();
                let vc2 = vc.clone();
                s2.spawn(move |_| {
                    Box::pin(async move {
                        match how {
                            "recv" => drop(Stash { inner: Box::pin(vc2.recv()), waker: st2 }.await),
                            "send" => drop(Stash { inner: Box::pin(vc2.send(7)), waker: st2 }.await),
                            _ => {
                                let other = Chan::<u32>::new(0);
                                let cases = vec![Case::Recv(&*vc2), Case::Recv(&other)];
                                let _ = Stash { inner: select(cases, true), waker: st2 }.await;
                            }
                        }
                    })
                });
                s2.spawn(move |_| {
                    Box::pin(async move {
                        for _ in 0..5 {
                            gmp_sched::sleep(Duration::from_millis(2)).await;
                            if let Some(w) = st.lock().unwrap().as_ref() {
                                w.wake_by_ref(); // spurious: nothing was sent
                            }
                        }
                    })
                });
                let _ = mc.recv().await; // never
            })
        });
        let outcome = s.wait_timeout(Duration::from_secs(10));
        s.exit(0); // no-op if the program already ended
        s.shutdown();
        match outcome {
            Some(Outcome::Deadlock(gs)) => {
                let victim = gs.iter().find(|g| g.id == 2).unwrap_or_else(|| panic!("victim missing: {gs:?}"));
                let want = match how {
                    "recv" => WaitReason::ChanReceive,
                    "send" => WaitReason::ChanSend,
                    _ => WaitReason::Select,
                };
                assert_eq!(victim.reason, want, "{how} at {procs} Ps: {gs:?}");
            }
            other => panic!("{how} at {procs} Ps: expected a deadlock report, got {other:?}"),
        }
        drop((victim_chan, main_chan));
    }
}

#[test]
fn a_spuriously_woken_receiver_still_counts_for_the_deadlock_report() {
    spurious_wakes_leave_a_deadlock_reported("recv");
}

#[test]
fn a_spuriously_woken_sender_still_counts_for_the_deadlock_report() {
    spurious_wakes_leave_a_deadlock_reported("send");
}

#[test]
fn a_spuriously_woken_select_still_counts_for_the_deadlock_report() {
    spurious_wakes_leave_a_deadlock_reported("select");
}
