//! sysmon preemption, with a plain future standing in for a wasm G's epoch checks: a G that never blocks
//! still gives way once its time slice is used up.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{config, go, run};
use gmp_sched::{Chan, Outcome, preempt_requested, yield_now};

/// What a wasm G's epoch callback does, in a plain future: spin, and yield when sysmon says so.
async fn spin_forever(preemptions: Arc<AtomicU64>) {
    loop {
        let start = Instant::now();
        while !preempt_requested() {
            std::hint::spin_loop();
            if start.elapsed() > Duration::from_secs(30) {
                panic!("spinner was never asked to yield");
            }
        }
        preemptions.fetch_add(1, Ordering::Relaxed);
        yield_now().await;
    }
}

/// At one P, a spinning G does not keep main from finishing.
#[test]
fn spinning_g_is_preempted_at_one_p() {
    let pre = Arc::new(AtomicU64::new(0));
    let p2 = pre.clone();
    let t0 = Instant::now();
    let outcome = run(config(1), move |s| async move {
        go(&s, spin_forever(p2));
        // Main gives the P to the spinner (global queue), and gets it back only by preemption.
        yield_now().await;
    });
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(pre.load(Ordering::Relaxed) >= 1, "the spinner was never preempted");
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
}

/// Two spinners and a G doing channel work at one P: the worker still completes many rounds, and each
/// spinner keeps getting turns (no starvation among the preempted either).
#[test]
fn spinners_share_one_p_with_a_worker() {
    let pre = Arc::new(AtomicU64::new(0));
    let p2 = pre.clone();
    let outcome = run(config(1), move |s| async move {
        go(&s, spin_forever(p2.clone()));
        go(&s, spin_forever(p2));
        let ch = Arc::new(Chan::<u32>::new(0));
        let c2 = ch.clone();
        go(&s, async move {
            for i in 0..20 {
                c2.send(i).await.unwrap();
                yield_now().await;
            }
        });
        for i in 0..20 {
            assert_eq!(ch.recv().await, Ok(i));
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(pre.load(Ordering::Relaxed) >= 2);
}

/// A slice lasts about `timeslice`: with a 10 ms slice a spinner is asked to yield after 10 ms, not at
/// once and not after a second. Generous bounds: this box may be loaded.
#[test]
fn slice_length_follows_timeslice() {
    let lengths = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let l2 = lengths.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let outcome = run(config(1), move |s| async move {
        let (l3, st2) = (l2.clone(), st.clone());
        go(&s, async move {
            while !st2.load(Ordering::Relaxed) {
                let start = Instant::now();
                while !preempt_requested() {
                    std::hint::spin_loop();
                }
                l3.lock().push(start.elapsed());
                yield_now().await;
            }
        });
        while l2.lock().len() < 5 {
            yield_now().await;
        }
        st.store(true, Ordering::Relaxed);
    });
    assert_eq!(outcome, Outcome::Exited(0));
    let l = lengths.lock();
    let mut sorted = l.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    assert!(median >= Duration::from_millis(5) && median <= Duration::from_millis(200), "slices {l:?}");
}
