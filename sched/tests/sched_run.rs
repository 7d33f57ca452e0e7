//! Every G runs exactly once, whatever the contention, and the queues behave as Go's do.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{config, go, run};
use gmp_sched::{Chan, Outcome, yield_now};

/// Many Gs spawned from several Gs at once on 2 Ps: each body runs exactly once.
#[test]
fn every_g_runs_exactly_once_under_contention() {
    for procs in [1, 2, 4] {
        const SPAWNERS: usize = 8;
        const PER: usize = 5_000;
        let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..SPAWNERS * PER).map(|_| AtomicUsize::new(0)).collect());
        let c = counts.clone();
        let outcome = run(config(procs), move |s| async move {
            let done = Arc::new(Chan::<()>::new(SPAWNERS * PER));
            for sp in 0..SPAWNERS {
                let (s2, c, done) = (s.clone(), c.clone(), done.clone());
                go(&s, async move {
                    for i in 0..PER {
                        let (c, done) = (c.clone(), done.clone());
                        go(&s2, async move {
                            c[sp * PER + i].fetch_add(1, Ordering::Relaxed);
                            done.send(()).await.unwrap();
                        });
                        if i % 64 == 0 {
                            yield_now().await;
                        }
                    }
                });
            }
            for _ in 0..SPAWNERS * PER {
                done.recv().await.unwrap();
            }
        });
        assert_eq!(outcome, Outcome::Exited(0));
        for (i, c) in counts.iter().enumerate() {
            assert_eq!(c.load(Ordering::Relaxed), 1, "G {i} ran {} times at {procs} Ps", c.load(Ordering::Relaxed));
        }
    }
}

/// Gs that yield again and again all finish; nothing is lost on the global queue.
#[test]
fn yielding_gs_all_finish() {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let outcome = run(config(2), move |s| async move {
        let done = Arc::new(Chan::<()>::new(1000));
        for _ in 0..1000 {
            let (f, done) = (f.clone(), done.clone());
            go(&s, async move {
                for _ in 0..50 {
                    yield_now().await;
                }
                f.fetch_add(1, Ordering::Relaxed);
                done.send(()).await.unwrap();
            });
        }
        for _ in 0..1000 {
            done.recv().await.unwrap();
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(finished.load(Ordering::Relaxed), 1000);
}

/// The program ends when main returns, even with Gs still blocked or runnable (Go's rule).
#[test]
fn main_return_ends_the_program_with_others_alive() {
    let outcome = run(config(2), move |s| async move {
        let never = Arc::new(Chan::<u8>::new(0));
        for _ in 0..10 {
            let never = never.clone();
            go(&s, async move {
                let _ = never.recv().await;
            });
            go(&s, async move {
                loop {
                    yield_now().await;
                }
            });
        }
        yield_now().await;
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// `exit` from any G wins with its code.
#[test]
fn exit_from_another_g_sets_the_code() {
    let outcome = run(config(2), move |s| async move {
        let s2 = s.clone();
        go(&s, async move { s2.exit(7) });
        let never = Chan::<u8>::new(0);
        let _ = never.recv().await;
    });
    assert_eq!(outcome, Outcome::Exited(7));
}

/// The G ids count from 1 in spawn order.
#[test]
fn gids_count_from_one() {
    let ids = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let ids2 = ids.clone();
    run(config(1), move |s| async move {
        ids2.lock().push(gmp_sched::current().unwrap().id());
        let a = go(&s, async {});
        let b = go(&s, async {});
        ids2.lock().extend([a, b]);
    });
    assert_eq!(*ids.lock(), vec![1, 2, 3]);
}
