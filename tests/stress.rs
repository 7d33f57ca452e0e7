//! Many Gs at once: 10,000 Gs exchanging 100,000 messages with a checksum, and 10,000 parked Gs held
//! under the kernel's default `vm.max_map_count`.

use std::sync::Mutex;

use gmp_tests::run;

/// Both tests fill most of the engine's G pool, which every test in this process shares: one at a time.
static POOL: Mutex<()> = Mutex::new(());

#[test]
fn ten_thousand_gs_exchange_a_hundred_thousand_messages() {
    let _pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    for procs in [1, 2] {
        let r = run("stress", procs, &["10000", "100000"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, "messages: 100000\nchecksum: 10000000000\nchecksum ok\n", "at {procs} Ps");
    }
}

#[test]
fn ten_thousand_parked_gs_fit_with_the_default_map_count() {
    let _pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let r = run("park_many", 2, &["10000"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "parked: 10000\nall done\n");
}
