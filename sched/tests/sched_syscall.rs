//! Blocking calls: a G blocked in its thread does not hold up the Gs queued on its P.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{config, go, run};
use gmp_sched::{Chan, Outcome, blocking, yield_now};

/// At one P, a G blocks its thread until the other Gs have finished their work: only a handoff of its P
/// lets them run. (Without it, this test would hang until the 60 s limit.)
#[test]
fn a_blocked_thread_hands_its_p_to_the_queued_gs() {
    for procs in [1, 2] {
        let outcome = run(config(procs), move |s| async move {
            let (tx, rx) = std::sync::mpsc::channel::<u64>();
            let done = Arc::new(Chan::<u64>::new(1));
            let d2 = done.clone();
            go(&s, async move {
                // Blocks this M until the workers below report through a plain channel.
                let sum = blocking(move || rx.recv_timeout(Duration::from_secs(30)).expect("workers never ran"));
                d2.send(sum).await.unwrap();
            });
            yield_now().await;
            let results = Arc::new(Chan::<u64>::new(100));
            for i in 0..100 {
                let r = results.clone();
                go(&s, async move {
                    yield_now().await;
                    r.send(i).await.unwrap();
                });
            }
            let mut sum = 0;
            for _ in 0..100 {
                sum += results.recv().await.unwrap();
            }
            tx.send(sum).unwrap();
            assert_eq!(done.recv().await.unwrap(), 4950);
        });
        assert_eq!(outcome, Outcome::Exited(0), "at {procs} Ps");
    }
}

/// Short blocking calls keep their P (no handoff churn) and many of them in a row work.
#[test]
fn many_short_blocking_calls() {
    let t0 = Instant::now();
    let outcome = run(config(2), move |_s| async move {
        let mut n = 0u64;
        for i in 0..100_000u64 {
            n += blocking(|| i & 1);
        }
        assert_eq!(n, 50_000);
    });
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(t0.elapsed() < Duration::from_secs(30));
}

/// At one P, a G comes back from blocking calls while another G spins (never blocking, preempted every
/// slice): the returning G must get the P back at the next scheduling point, not wait for the spinner to
/// give it up for good (it never does).
#[test]
fn a_g_back_from_a_blocking_call_is_not_starved_by_a_spinner() {
    let outcome = run(config(1), move |s| async move {
        go(&s, async {
            loop {
                while !gmp_sched::preempt_requested() {
                    std::hint::spin_loop();
                }
                yield_now().await;
            }
        });
        yield_now().await;
        for _ in 0..20 {
            // Long enough for sysmon to hand the P to the spinner meanwhile.
            blocking(|| std::thread::sleep(Duration::from_micros(300)));
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
}
