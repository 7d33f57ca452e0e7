//! Parking and waking: no wake-up is ever lost, whoever wakes (another G, a plain thread) and however the
//! wake races with the parking.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

use common::{config, go, run};
use gmp_sched::{Chan, Outcome};

/// A future that hands its waker to a plain thread, which wakes it at once: the wake races with the
/// M parking the G. Thousands of rounds; a lost wake-up would hang (and the 60 s limit fails the test).
#[test]
fn wakes_from_plain_threads_racing_with_park_are_never_lost() {
    for procs in [1, 2] {
        let rounds = Arc::new(AtomicU64::new(0));
        let r2 = rounds.clone();
        let outcome = run(config(procs), move |s| async move {
            let (tx, rx) = std::sync::mpsc::channel::<Waker>();
            std::thread::spawn(move || {
                for w in rx {
                    w.wake();
                }
            });
            let done = Arc::new(Chan::<()>::new(8));
            for _ in 0..8 {
                let (tx, done, r2) = (tx.clone(), done.clone(), r2.clone());
                go(&s, async move {
                    for _ in 0..2_000 {
                        let mut armed = false;
                        std::future::poll_fn(|cx| {
                            if armed {
                                return Poll::Ready(());
                            }
                            armed = true;
                            tx.send(cx.waker().clone()).unwrap();
                            Poll::Pending
                        })
                        .await;
                        r2.fetch_add(1, Ordering::Relaxed);
                    }
                    done.send(()).await.unwrap();
                });
            }
            for _ in 0..8 {
                done.recv().await.unwrap();
            }
        });
        assert_eq!(outcome, Outcome::Exited(0));
        assert_eq!(rounds.load(Ordering::Relaxed), 16_000);
    }
}

/// With every P idle and every M parked, a G readied from outside still gets an M (wakep from a non-M).
#[test]
fn outside_wake_after_all_ms_parked_is_served() {
    let outcome = run(config(2), move |_s| async move {
        for _ in 0..50 {
            let (tx, rx) = std::sync::mpsc::channel::<Waker>();
            std::thread::spawn(move || {
                let w = rx.recv().unwrap();
                // Long enough that both Ms have parked.
                std::thread::sleep(Duration::from_millis(2));
                w.wake();
            });
            let mut tx = Some(tx);
            std::future::poll_fn(|cx| match tx.take() {
                Some(tx) => {
                    tx.send(cx.waker().clone()).unwrap();
                    Poll::Pending
                }
                None => Poll::Ready(()),
            })
            .await;
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// Ping-pong across Ps many times: each hand-off parks one G and readies the other.
#[test]
fn ping_pong_across_ps_never_stalls() {
    for procs in [1, 2, 4] {
        let outcome = run(config(procs), move |s| async move {
            let pairs = 8;
            let done = Arc::new(Chan::<()>::new(pairs));
            for _ in 0..pairs {
                let a = Arc::new(Chan::<u32>::new(0));
                let b = Arc::new(Chan::<u32>::new(0));
                let (a2, b2) = (a.clone(), b.clone());
                go(&s, async move {
                    while let Ok(v) = a2.recv().await {
                        b2.send(v + 1).await.unwrap();
                    }
                });
                let d = done.clone();
                go(&s, async move {
                    let mut v = 0;
                    for _ in 0..5_000 {
                        a.send(v).await.unwrap();
                        v = b.recv().await.unwrap();
                    }
                    assert_eq!(v, 5_000);
                    a.close().unwrap();
                    d.send(()).await.unwrap();
                });
            }
            for _ in 0..pairs {
                done.recv().await.unwrap();
            }
        });
        assert_eq!(outcome, Outcome::Exited(0), "at {procs} Ps");
    }
}
