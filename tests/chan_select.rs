//! `select!` in real guests: fairness, default, and blocking cases.

use gmp_tests::run;

/// 10,000 selects over two always-ready channels: each count must be within 8 standard deviations
/// (sd = 50) of 5,000, a bound a fair coin never misses and any real bias does.
#[test]
fn select_is_fair_between_ready_cases() {
    for procs in [1, 2] {
        let r = run("select_fair", procs, &[]);
        assert_eq!(r.code, 0, "{r:?}");
        let counts: Vec<u32> = r
            .stdout
            .trim()
            .split(' ')
            .map(|kv| kv.split_once('=').expect("a=N b=N").1.parse().expect("a count"))
            .collect();
        assert_eq!(counts.len(), 2, "{}", r.stdout);
        assert_eq!(counts[0] + counts[1], 10_000);
        assert!((4_600..=5_400).contains(&counts[0]), "unfair: {}", r.stdout);
    }
}

#[test]
fn select_default_and_blocking_cases() {
    for procs in [1, 2] {
        let r = run("select_default", procs, &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, "default\nrecv 7\nsent\ndefault\nclosed\nsent to waiter\n", "at {procs} Ps");
    }
}

/// 2,000 Gs blocked in `select!` on two data channels and a quit channel take 40,000 messages between them:
/// each wake-up takes the G's other entries out of queues 2,000 long, sends keep meeting entries of Gs woken
/// through the other channel, and nothing is lost or duplicated.
#[test]
fn thousands_of_gs_selecting_on_shared_channels_lose_nothing() {
    for procs in [1, 2] {
        let r = run("select_many", procs, &["2000", "20"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, "messages: 40000\nchecksum: 799980000\nchecksum ok\n", "at {procs} Ps");
    }
}

/// Go's select idioms (see the guest): temporary channels in arms, a send arm offered a reference, nil
/// channels switching cases off, a select of only nil channels, 40 arms, and the dynamic `gmp::Select`.
#[test]
fn select_idioms_work_as_in_go() {
    for procs in [1, 2] {
        let r = run("select_idioms", procs, &[]);
        assert_eq!(r.code, 0, "procs {procs}: {r:?}");
        assert_eq!(
            r.stdout,
            "ok: temporary channels\nok: send by reference\nok: nil channels\nok: only nil channels\nok: 40 arms\n\
             ok: dynamic select\n",
            "procs {procs}"
        );
    }
}
