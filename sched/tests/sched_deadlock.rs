//! checkdead: every G blocked with nothing to wake one is a deadlock; anything that could still wake a G
//! is not.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{config, go, run};
use gmp_sched::{Chan, GDump, Outcome, WaitReason, select, yield_now};

#[test]
fn all_gs_blocked_on_channels_is_a_deadlock() {
    for procs in [1, 2] {
        let ids = Arc::new(parking_lot::Mutex::new((0, 0, 0)));
        let i2 = ids.clone();
        let outcome = run(config(procs), move |s| async move {
            let a = Arc::new(Chan::<u8>::new(0));
            let b = Arc::new(Chan::<u8>::new(0));
            let a2 = a.clone();
            go(&s, async move { a2.send(1).await.unwrap() });
            yield_now().await;
            yield_now().await;
            *i2.lock() = (a.id(), b.id(), 0);
            let b2 = b.clone();
            let _ = b2.recv().await;
            let _ = a;
        });
        let (a, b, _) = *ids.lock();
        assert_eq!(
            outcome,
            Outcome::Deadlock(vec![
                GDump::waiting_on(1, WaitReason::ChanReceive, b),
                GDump::waiting_on(2, WaitReason::ChanSend, a),
            ]),
            "at {procs} Ps"
        );
    }
}

#[test]
fn empty_select_forever_is_a_deadlock() {
    let outcome = run(config(1), move |_s| async move {
        select::<u8>(vec![], true).await;
    });
    assert_eq!(outcome, Outcome::Deadlock(vec![GDump::waiting_on(1, WaitReason::SelectNoCases, 0)]));
}

/// A G parked in a future the scheduler does not know (here: woken by a plain thread later) is not
/// deadlocked, nor is a program with a registered outside wake-up source.
#[test]
fn a_g_waiting_on_the_outside_is_not_a_deadlock() {
    let outcome = run(config(1), move |_s| async move {
        let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
        std::thread::spawn(move || {
            let w = rx.recv().unwrap();
            std::thread::sleep(Duration::from_millis(100));
            w.wake();
        });
        let mut sent = Some(tx);
        std::future::poll_fn(move |cx| match sent.take() {
            Some(tx) => {
                tx.send(cx.waker().clone()).unwrap();
                std::task::Poll::Pending
            }
            None => std::task::Poll::Ready(()),
        })
        .await;
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// While a hold lives, a G blocked for good is not a deadlock: no report for as long as the holder waits
/// (200 ms, while the G is parked from the start). Once the hold is dropped, the deadlock is reported.
#[test]
fn a_hold_keeps_deadlock_away_until_dropped() {
    // What the outside thread saw while it held: an outcome already (the hold did nothing) or none.
    let seen_while_held = Arc::new(parking_lot::Mutex::new(None));
    let seen = seen_while_held.clone();
    let outcome = run(config(1), move |s| async move {
        let hold = s.hold();
        let ch = Arc::new(Chan::<u8>::new(0));
        let c2 = ch.clone();
        std::thread::spawn(move || {
            *seen.lock() = Some(s.wait_timeout(Duration::from_millis(200)));
            drop(hold);
            drop(c2);
        });
        let _ = ch.recv().await;
    });
    assert!(matches!(outcome, Outcome::Deadlock(ref d) if d.len() == 1), "{outcome:?}");
    let seen = seen_while_held.lock().take();
    assert_eq!(seen, Some(None), "the program ended while the hold was alive");
}
