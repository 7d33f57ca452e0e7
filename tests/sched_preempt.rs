//! Preemption: a G in a loop with no calls at all cannot keep other Gs from running.

use std::time::{Duration, Instant};

use gmp_tests::run;

/// At one P, `spin` starts a G that loops forever without a single call, then main does channel work and
/// returns: only preemption through the epoch lets main run again.
#[test]
fn a_call_free_loop_is_preempted_at_one_p() {
    let t0 = Instant::now();
    let r = run("spin", 1, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "main finished while a G spins\n"), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(30), "took {:?}", t0.elapsed());
}

/// A short timeslice still lets everybody finish; a long one too. (Behaviour only: timing is measured in
/// the benchmarks, not asserted here.)
#[test]
fn timeslice_setting_is_honoured_both_ways() {
    for slice in [Duration::from_millis(1), Duration::from_millis(50)] {
        let mut cfg = gmp_tests::config("spin", 1, &[]);
        cfg.timeslice = slice;
        let r = gmp_tests::run_with("spin", cfg);
        assert_eq!(r.code, 0, "slice {slice:?}: {r:?}");
    }
}
