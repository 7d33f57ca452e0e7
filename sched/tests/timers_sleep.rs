//! Timers: sleeping Gs wake in deadline order and roughly on time, many sleepers sleep in parallel, tickers
//! tick until stopped, and pending timers keep deadlock away while stopped ones do not.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{config, go, run};
use gmp_sched::{Action, Chan, Outcome, WaitReason, sleep};

/// Sleepers started together wake in deadline order.
#[test]
fn sleepers_wake_in_deadline_order() {
    for procs in [1, 2] {
        let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let o2 = order.clone();
        run(config(procs), move |s| async move {
            let done = Arc::new(Chan::<()>::new(5));
            for ms in [50u64, 10, 40, 20, 30] {
                let (o, d) = (o2.clone(), done.clone());
                go(&s, async move {
                    sleep(Duration::from_millis(ms)).await;
                    o.lock().push(ms);
                    d.send(()).await.unwrap();
                });
            }
            for _ in 0..5 {
                done.recv().await.unwrap();
            }
        });
        assert_eq!(*order.lock(), vec![10, 20, 30, 40, 50], "at {procs} Ps");
    }
}

/// A sleep lasts at least its duration and not absurdly longer (generous bound: a loaded CI box).
#[test]
fn sleep_is_roughly_on_time() {
    let took = Arc::new(parking_lot::Mutex::new(Duration::ZERO));
    let t2 = took.clone();
    run(config(2), move |_s| async move {
        let t0 = Instant::now();
        sleep(Duration::from_millis(30)).await;
        *t2.lock() = t0.elapsed();
    });
    let took = *took.lock();
    assert!(took >= Duration::from_millis(30) && took < Duration::from_millis(1_000), "slept {took:?}");
}

/// 100,000 Gs sleeping 100 ms each finish in about 100 ms, not one after another.
#[test]
fn a_hundred_thousand_sleepers_sleep_in_parallel() {
    let t0 = Instant::now();
    let outcome = run(config(2), move |s| async move {
        const N: usize = 100_000;
        let done = Arc::new(Chan::<()>::new(N));
        for _ in 0..N {
            let d = done.clone();
            go(&s, async move {
                sleep(Duration::from_millis(100)).await;
                d.send(()).await.unwrap();
            });
        }
        for _ in 0..N {
            done.recv().await.unwrap();
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
}

/// A ticker fires repeatedly until stopped; a stopped timer never fires.
#[test]
fn ticker_ticks_until_stopped_and_a_stopped_timer_never_fires() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let fired = Arc::new(AtomicUsize::new(0));
    let (t2, f2) = (ticks.clone(), fired.clone());
    run(config(1), move |s| async move {
        let t3 = t2.clone();
        let now = s.now();
        let ticker = s.add_timer(
            now + 5_000_000,
            Some(Duration::from_millis(5)),
            Action::Call(Box::new(move || {
                t3.fetch_add(1, Ordering::SeqCst);
                true
            })),
        );
        let f3 = f2.clone();
        let never = s.add_timer(
            now + 20_000_000,
            None,
            Action::Call(Box::new(move || {
                f3.fetch_add(1, Ordering::SeqCst);
                true
            })),
        );
        assert!(never.stop(), "a pending timer stops");
        assert!(!never.stop(), "a stopped timer is not pending");
        sleep(Duration::from_millis(60)).await;
        assert!(ticker.stop());
        let at_stop = t2.load(Ordering::SeqCst);
        sleep(Duration::from_millis(30)).await;
        assert_eq!(t2.load(Ordering::SeqCst), at_stop, "ticks after stop");
    });
    assert!(ticks.load(Ordering::SeqCst) >= 3, "only {} ticks", ticks.load(Ordering::SeqCst));
    assert_eq!(fired.load(Ordering::SeqCst), 0);
}

/// A program waiting on a pending timer is not deadlocked; one whose only timer was stopped is.
#[test]
fn pending_timers_are_not_deadlock_stopped_ones_are() {
    let outcome = run(config(1), move |s| async move {
        let ch = Arc::new(Chan::<()>::new(1));
        let c2 = ch.clone();
        s.add_timer(s.now() + 50_000_000, None, Action::Call(Box::new(move || c2.try_send(()).is_ok())));
        ch.recv().await.unwrap();
    });
    assert_eq!(outcome, Outcome::Exited(0), "a timer that will send is not a deadlock");

    let outcome = run(config(1), move |s| async move {
        let ch = Arc::new(Chan::<()>::new(1));
        let c2 = ch.clone();
        let t = s.add_timer(s.now() + 3_600_000_000_000, None, Action::Call(Box::new(move || c2.try_send(()).is_ok())));
        let s2 = s.clone();
        go(&s, async move {
            sleep(Duration::from_millis(20)).await;
            t.stop();
            drop(s2);
        });
        ch.recv().await.unwrap();
    });
    match outcome {
        Outcome::Deadlock(gs) => assert_eq!(gs[0].reason, WaitReason::ChanReceive),
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

/// Long timeouts armed and stopped in a loop do not pile up in the heap until their deadline: stopped
/// entries are dropped once they outnumber live ones, while live timers stay.
#[test]
fn stopped_timers_do_not_pile_up_in_the_heap() {
    let outcome = run(config(1), move |s| async move {
        let hour = 3_600_000_000_000;
        let live: Vec<_> =
            (0..100).map(|_| s.add_timer(s.now() + hour, None, Action::Call(Box::new(|| true)))).collect();
        let mut most = 0;
        for _ in 0..10_000 {
            s.add_timer(s.now() + hour, None, Action::Call(Box::new(|| true))).stop();
            most = most.max(s.timer_entries());
        }
        assert!(most <= 2 * 100 + 2, "the heap grew to {most} entries for 100 live timers");
        assert!(s.timer_entries() >= 100, "live timers were dropped: {}", s.timer_entries());
        for t in live {
            assert!(t.stop(), "a live timer was lost");
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// Many Gs sleeping 1 ms again and again: the moment a timer fires and readies its G must never look like
/// "everyone asleep" to an idle M (a timer stops counting as pending only once its G is queued).
#[test]
fn firing_timers_never_look_like_a_deadlock() {
    for _ in 0..8 {
        let outcome = run(config(2), move |s| async move {
            let done = Arc::new(Chan::<()>::new(100));
            for _ in 0..100 {
                let d = done.clone();
                go(&s, async move {
                    for _ in 0..50 {
                        sleep(Duration::from_millis(1)).await;
                    }
                    d.send(()).await.unwrap();
                });
            }
            for _ in 0..100 {
                done.recv().await.unwrap();
            }
        });
        assert_eq!(outcome, Outcome::Exited(0));
    }
}

/// A program that ends while a G sleeps on a long timer leaves nothing behind: the pending timer held the
/// G, and the G its scheduler, so before teardown cleared the heap the scheduler (threads' state, poller
/// descriptors) outlived its program.
#[test]
fn teardown_drops_pending_timers_and_frees_the_scheduler() {
    let s = gmp_sched::Sched::start(config(2), gmp_sched::Hooks::default());
    let weak = Arc::downgrade(&s);
    go(&s, async { sleep(Duration::from_secs(3600)).await });
    let s2 = s.clone();
    go(&s, async move {
        sleep(Duration::from_millis(5)).await;
        s2.exit(0);
    });
    assert_eq!(s.wait_timeout(Duration::from_secs(10)), Some(Outcome::Exited(0)));
    s.shutdown();
    drop(s);
    assert!(weak.upgrade().is_none(), "the scheduler outlived its program: something still holds it");
}
