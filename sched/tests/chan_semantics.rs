//! Go's channel rules, on plain futures.

mod common;

use std::sync::Arc;

use common::{config, go, run};
use gmp_sched::{Chan, Closed, Outcome, TryRecvError, TrySendError, WaitReason, chan::AlreadyClosed, yield_now};

/// An unbuffered send completes only once a receiver has taken the message.
#[test]
fn unbuffered_send_waits_for_a_receiver() {
    for procs in [1, 2] {
        let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let l = log.clone();
        run(config(procs), move |s| async move {
            let ch = Arc::new(Chan::<u32>::new(0));
            let done = Arc::new(Chan::<()>::new(1));
            let (ch2, l2, done2) = (ch.clone(), l.clone(), done.clone());
            go(&s, async move {
                for _ in 0..20 {
                    yield_now().await;
                }
                l2.lock().push("recv-start");
                assert_eq!(ch2.recv().await, Ok(5));
                done2.send(()).await.unwrap();
            });
            ch.send(5).await.unwrap();
            l.lock().push("send-done");
            done.recv().await.unwrap();
        });
        assert_eq!(*log.lock(), vec!["recv-start", "send-done"], "at {procs} Ps");
    }
}

#[test]
fn try_send_on_unbuffered_without_receiver_is_full() {
    let ch = Chan::<u8>::new(0);
    assert_eq!(ch.try_send(1), Err(TrySendError::Full(1)));
    let ch = Chan::<u8>::new(1);
    assert_eq!(ch.try_send(1), Ok(()));
    assert_eq!(ch.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!((ch.len(), ch.cap()), (1, 1));
}

/// Buffered channels deliver in send order.
#[test]
fn buffered_channel_is_fifo() {
    let ch = Chan::<u32>::new(100);
    for i in 0..100 {
        ch.try_send(i).unwrap();
    }
    let got: Vec<u32> = (0..100).map(|_| ch.try_recv().unwrap()).collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

/// Blocked senders are served in arrival order, through a full buffer too.
#[test]
fn blocked_senders_are_served_in_arrival_order() {
    for cap in [0, 1] {
        let got = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let g2 = got.clone();
        run(config(1), move |s| async move {
            let ch = Arc::new(Chan::<u32>::new(cap));
            if cap == 1 {
                ch.send(100).await.unwrap();
            }
            for i in 0..10 {
                let ch = ch.clone();
                go(&s, async move { ch.send(i).await.unwrap() });
                // At 1 P the new G is in runnext; yielding lets it run until it blocks.
                yield_now().await;
            }
            for _ in 0..(10 + cap) {
                let v = ch.recv().await.unwrap();
                g2.lock().push(v);
            }
        });
        let mut want: Vec<u32> = if cap == 1 { vec![100] } else { vec![] };
        want.extend(0..10);
        assert_eq!(*got.lock(), want, "cap {cap}");
    }
}

/// Blocked receivers are served in arrival order.
#[test]
fn blocked_receivers_are_served_in_arrival_order() {
    let got = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let g2 = got.clone();
    run(config(1), move |s| async move {
        let ch = Arc::new(Chan::<u32>::new(0));
        let out = Arc::new(Chan::<(u32, u32)>::new(10));
        for i in 0..10 {
            let (ch, out) = (ch.clone(), out.clone());
            go(&s, async move {
                let v = ch.recv().await.unwrap();
                out.send((i, v)).await.unwrap();
            });
            yield_now().await;
        }
        for v in 0..10 {
            ch.send(v).await.unwrap();
        }
        for _ in 0..10 {
            let v = out.recv().await.unwrap();
            g2.lock().push(v);
        }
    });
    let mut got = got.lock().clone();
    got.sort();
    assert_eq!(got, (0..10).map(|i| (i, i)).collect::<Vec<_>>(), "receiver i must get the i-th message");
}

/// Receive after close drains the buffer, then reports closed; blocked receivers wake with closed.
#[test]
fn close_drains_then_reports_closed() {
    let outcome = run(config(2), move |s| async move {
        let ch = Chan::<u32>::new(3);
        for i in 1..=3 {
            ch.send(i).await.unwrap();
        }
        ch.close().unwrap();
        for i in 1..=3 {
            assert_eq!(ch.recv().await, Ok(i));
        }
        assert_eq!(ch.recv().await, Err(Closed));
        assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(ch.close(), Err(AlreadyClosed));
        assert_eq!(ch.try_send(9), Err(TrySendError::Closed(9)));

        let unbuf = Arc::new(Chan::<u32>::new(0));
        let res = Arc::new(Chan::<Result<u32, Closed>>::new(1));
        let (u2, r2) = (unbuf.clone(), res.clone());
        go(&s, async move { r2.send(u2.recv().await).await.unwrap() });
        yield_now().await;
        unbuf.close().unwrap();
        assert_eq!(res.recv().await.unwrap(), Err(Closed));
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// A sender blocked on a channel that gets closed learns it (Go: it panics).
#[test]
fn close_fails_blocked_senders() {
    let outcome = run(config(1), move |s| async move {
        let ch = Arc::new(Chan::<u32>::new(0));
        let res = Arc::new(Chan::<Result<(), Closed>>::new(1));
        let (c2, r2) = (ch.clone(), res.clone());
        go(&s, async move { r2.send(c2.send(1).await).await.unwrap() });
        yield_now().await;
        ch.close().unwrap();
        assert_eq!(res.recv().await.unwrap(), Err(Closed));
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// Many producers and consumers over one channel: every message arrives exactly once (count and checksum).
#[test]
fn stress_many_gs_checksum() {
    for (procs, cap) in [(1, 0), (2, 0), (2, 16), (4, 1024)] {
        const PRODUCERS: u64 = 50;
        const CONSUMERS: u64 = 50;
        const PER: u64 = 2_000;
        let result = Arc::new(parking_lot::Mutex::new((0u64, 0u64)));
        let r2 = result.clone();
        let outcome = run(config(procs), move |s| async move {
            let ch = Arc::new(Chan::<u64>::new(cap));
            let pdone = Arc::new(Chan::<()>::new(PRODUCERS as usize));
            let sums = Arc::new(Chan::<(u64, u64)>::new(CONSUMERS as usize));
            for p in 0..PRODUCERS {
                let (ch, pdone) = (ch.clone(), pdone.clone());
                go(&s, async move {
                    for i in 0..PER {
                        ch.send(p * PER + i).await.unwrap();
                    }
                    pdone.send(()).await.unwrap();
                });
            }
            for _ in 0..CONSUMERS {
                let (ch, sums) = (ch.clone(), sums.clone());
                go(&s, async move {
                    let (mut n, mut sum) = (0, 0);
                    while let Ok(v) = ch.recv().await {
                        n += 1;
                        sum += v;
                    }
                    sums.send((n, sum)).await.unwrap();
                });
            }
            for _ in 0..PRODUCERS {
                pdone.recv().await.unwrap();
            }
            ch.close().unwrap();
            let mut total = (0, 0);
            for _ in 0..CONSUMERS {
                let (n, sum) = sums.recv().await.unwrap();
                total = (total.0 + n, total.1 + sum);
            }
            *r2.lock() = total;
        });
        assert_eq!(outcome, Outcome::Exited(0), "procs {procs} cap {cap}");
        let n = PRODUCERS * PER;
        assert_eq!(*result.lock(), (n, n * (n - 1) / 2), "procs {procs} cap {cap}: lost or duplicated messages");
    }
}

/// The wait reason of a blocked G names the channel operation.
#[test]
fn blocked_g_reports_its_wait_reason() {
    run(config(1), move |s| async move {
        let ch = Arc::new(Chan::<u8>::new(0));
        let c2 = ch.clone();
        let id = go(&s, async move {
            let _ = c2.recv().await;
        });
        yield_now().await;
        let d = s.dump().into_iter().find(|d| d.id == id).unwrap();
        assert_eq!((d.reason, d.obj), (WaitReason::ChanReceive, ch.id()));
        ch.send(1).await.unwrap();
    });
}
