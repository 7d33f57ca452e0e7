//! `select`: uniform choice among ready cases, default, blocking, and clean wait queues afterwards.

mod common;

use std::sync::Arc;

use common::{config, go, run};
use gmp_sched::{Case, Chan, Closed, Outcome, Selected, select, yield_now};

/// Two always-ready cases are chosen about equally often. 10,000 draws of a fair coin have a standard
/// deviation of 50; a bound of ±400 (8 sigma) never flakes yet catches any real bias.
#[test]
fn select_chooses_uniformly_among_ready_cases() {
    let counts = Arc::new(parking_lot::Mutex::new([0u32; 2]));
    let c2 = counts.clone();
    run(config(1), move |_s| async move {
        let a = Chan::<u8>::new(1);
        let b = Chan::<u8>::new(1);
        a.try_send(0).unwrap();
        b.try_send(1).unwrap();
        for _ in 0..10_000 {
            match select(vec![Case::Recv(&a), Case::Recv(&b)], true).await {
                Selected::Recv(i, Ok(v)) => {
                    c2.lock()[i] += 1;
                    [&a, &b][i].try_send(v).unwrap();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    });
    let [a, b] = *counts.lock();
    assert!((4600..=5400).contains(&a) && a + b == 10_000, "a={a} b={b}");
}

#[test]
fn select_default_when_nothing_is_ready() {
    run(config(1), move |_s| async move {
        let a = Chan::<u8>::new(0);
        let b = Chan::<u8>::new(1);
        assert_eq!(select(vec![Case::Recv(&a), Case::Recv(&b)], false).await, Selected::Default);
        b.try_send(7).unwrap();
        assert_eq!(select(vec![Case::Recv(&a), Case::Recv(&b)], false).await, Selected::Recv(1, Ok(7)));
        assert_eq!(select(vec![Case::Send(&b, 1)], false).await, Selected::Sent(0));
        assert_eq!(select(vec![Case::Send(&b, 2)], false).await, Selected::Default);
        assert_eq!(b.try_recv(), Ok(1), "the unchosen send's message must not have been delivered");
        assert_eq!(select::<u8>(vec![], false).await, Selected::Default);
        b.close().unwrap();
        assert_eq!(select(vec![Case::Recv(&a), Case::Recv(&b)], false).await, Selected::Recv(1, Err(Closed)));
        assert_eq!(select(vec![Case::Send(&b, 3)], false).await, Selected::SendClosed(0));
    });
}

/// A blocked select is completed by a later send or receive on any of its channels, and leaves no waiter
/// behind on the others.
#[test]
fn blocked_select_wakes_on_any_case_and_cleans_up() {
    for procs in [1, 2] {
        let outcome = run(config(procs), move |s| async move {
            let a = Arc::new(Chan::<u32>::new(0));
            let b = Arc::new(Chan::<u32>::new(0));
            let res = Arc::new(Chan::<Selected<u32>>::new(1));
            for round in 0..200u32 {
                let (a2, b2, r2) = (a.clone(), b.clone(), res.clone());
                go(&s, async move {
                    let sel = select(vec![Case::Recv(&a2), Case::Send(&b2, round)], true).await;
                    r2.send(sel).await.unwrap();
                });
                yield_now().await;
                if round % 2 == 0 {
                    a.send(round).await.unwrap();
                    assert_eq!(res.recv().await.unwrap(), Selected::Recv(0, Ok(round)));
                } else {
                    assert_eq!(b.recv().await.unwrap(), round);
                    assert_eq!(res.recv().await.unwrap(), Selected::Sent(1));
                }
                // No stale waiter: with nobody blocked, non-blocking ops on both fail.
                assert!(a.try_send(0).is_err());
                assert!(b.try_recv().is_err());
            }
        });
        assert_eq!(outcome, Outcome::Exited(0));
    }
}

/// A select that sends to and receives from the same unbuffered channel, against a partner doing the same:
/// each pairs with the other, never with itself.
#[test]
fn select_on_same_channel_both_ways_pairs_with_the_partner() {
    let outcome = run(config(2), move |s| async move {
        let c = Arc::new(Chan::<u32>::new(0));
        let res = Arc::new(Chan::<Selected<u32>>::new(2));
        for id in 0..2u32 {
            let (c, res) = (c.clone(), res.clone());
            go(&s, async move {
                let sel = select(vec![Case::Send(&c, id), Case::Recv(&c)], true).await;
                res.send(sel).await.unwrap();
            });
        }
        let x = res.recv().await.unwrap();
        let y = res.recv().await.unwrap();
        let sent = [&x, &y].iter().filter(|s| matches!(s, Selected::Sent(0))).count();
        let recvd = [&x, &y].iter().filter(|s| matches!(s, Selected::Recv(1, Ok(_)))).count();
        assert_eq!((sent, recvd), (1, 1), "{x:?} {y:?}");
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// Many Gs selecting over the same channels from both sides: nothing is lost or duplicated.
#[test]
fn select_stress_checksum() {
    const SENDERS: u64 = 20;
    const PER: u64 = 1_000;
    let total = Arc::new(parking_lot::Mutex::new((0u64, 0u64)));
    let t2 = total.clone();
    let outcome = run(config(2), move |s| async move {
        let a = Arc::new(Chan::<u64>::new(0));
        let b = Arc::new(Chan::<u64>::new(4));
        let out = Arc::new(Chan::<(u64, u64)>::new(SENDERS as usize));
        for p in 0..SENDERS {
            let (a, b) = (a.clone(), b.clone());
            go(&s, async move {
                for i in 0..PER {
                    let v = p * PER + i;
                    match select(vec![Case::Send(&a, v), Case::Send(&b, v)], true).await {
                        Selected::Sent(_) => {}
                        other => panic!("{other:?}"),
                    }
                }
            });
        }
        for _ in 0..SENDERS {
            let (a, b, out) = (a.clone(), b.clone(), out.clone());
            go(&s, async move {
                let (mut n, mut sum) = (0, 0);
                while n < PER {
                    match select(vec![Case::Recv(&a), Case::Recv(&b)], true).await {
                        Selected::Recv(_, Ok(v)) => {
                            n += 1;
                            sum += v;
                        }
                        other => panic!("{other:?}"),
                    }
                }
                out.send((n, sum)).await.unwrap();
            });
        }
        let mut t = (0, 0);
        for _ in 0..SENDERS {
            let (n, sum) = out.recv().await.unwrap();
            t = (t.0 + n, t.1 + sum);
        }
        *t2.lock() = t;
    });
    assert_eq!(outcome, Outcome::Exited(0));
    let n = SENDERS * PER;
    assert_eq!(*total.lock(), (n, n * (n - 1) / 2));
}

/// Thousands of Gs blocked in selects on the same channels at once, completed from both sides (receive
/// cases by senders, send cases by receivers) and finally by a quit channel: every value arrives exactly
/// once. Each woken select takes its entries out of queues thousands long (see *Wait queues* in chan.rs).
#[test]
fn many_gs_selecting_on_shared_channels_lose_and_duplicate_nothing() {
    const RECEIVERS: u64 = 2_000;
    const SENDERS: u64 = 500;
    const PER: u64 = 40;
    let total = Arc::new(parking_lot::Mutex::new((0u64, 0u64, 0u64)));
    let t2 = total.clone();
    let outcome = run(config(2), move |s| async move {
        let a = Arc::new(Chan::<u64>::new(0));
        let b = Arc::new(Chan::<u64>::new(8));
        let quit = Arc::new(Chan::<u64>::new(0));
        let done = Arc::new(Chan::<()>::new(SENDERS as usize));
        let out = Arc::new(Chan::<(u64, u64, u64)>::new(RECEIVERS as usize));
        for _ in 0..RECEIVERS {
            let (a, b, quit, out) = (a.clone(), b.clone(), quit.clone(), out.clone());
            go(&s, async move {
                let (mut n, mut sum, mut squares) = (0, 0u64, 0u64);
                let mut take = |v: u64| {
                    n += 1;
                    sum = sum.wrapping_add(v);
                    squares = squares.wrapping_add(v.wrapping_mul(v));
                };
                loop {
                    match select(vec![Case::Recv(&a), Case::Recv(&b), Case::Recv(&quit)], true).await {
                        Selected::Recv(0 | 1, Ok(v)) => take(v),
                        Selected::Recv(2, Err(Closed)) => break,
                        other => panic!("{other:?}"),
                    }
                }
                // Every sender is done: what is not yet taken is in b's buffer.
                while let Ok(v) = b.try_recv() {
                    take(v);
                }
                out.send((n, sum, squares)).await.unwrap();
            });
        }
        for p in 0..SENDERS {
            let (a, b, done) = (a.clone(), b.clone(), done.clone());
            go(&s, async move {
                for i in 0..PER {
                    let v = p * PER + i;
                    match select(vec![Case::Send(&a, v), Case::Send(&b, v)], true).await {
                        Selected::Sent(_) => {}
                        other => panic!("{other:?}"),
                    }
                }
                done.send(()).await.unwrap();
            });
        }
        for _ in 0..SENDERS {
            done.recv().await.unwrap();
        }
        quit.close().unwrap();
        let mut t = (0, 0u64, 0u64);
        for _ in 0..RECEIVERS {
            let (n, sum, squares) = out.recv().await.unwrap();
            t = (t.0 + n, t.1.wrapping_add(sum), t.2.wrapping_add(squares));
        }
        *t2.lock() = t;
        // No stale waiter: with nobody blocked, non-blocking operations on every channel fail.
        assert!(a.try_send(0).is_err() && a.try_recv().is_err() && b.try_recv().is_err());
    });
    assert_eq!(outcome, Outcome::Exited(0));
    let n = SENDERS * PER;
    let squares = (0..n).fold(0u64, |acc, v| acc.wrapping_add(v * v));
    assert_eq!(*total.lock(), (n, n * (n - 1) / 2, squares));
}
