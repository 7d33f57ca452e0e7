//! Go's channel rules, seen from real guests at one and two Ps.

use gmp_tests::run;

#[test]
fn unbuffered_send_completes_only_when_a_receiver_takes_it() {
    for procs in [1, 2] {
        let r = run("rendezvous", procs, &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(
            r.stdout, "rendezvous ok\ntry_send unbuffered: full\ntry_send cap1: ok then full\n",
            "at {procs} Ps"
        );
    }
}

#[test]
fn channels_are_fifo_and_blocked_senders_go_in_arrival_order() {
    // Arrival order of blocked senders is only deterministic at one P (see the guest).
    let r = run("fifo", 1, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "buffered fifo ok\nblocked senders: 0 1 2 3 4 5 6 7 8 9\nfifo ok\n");
}

#[test]
fn receive_after_close_drains_then_reports_closed() {
    for procs in [1, 2] {
        let r = run("close", procs, &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(
            r.stdout,
            "drained: 1 2 3\nthen: closed\ntry_recv: closed\nlen 0 cap 3\nblocked receiver woke: closed\niter: 4 5 6\n"
        );
    }
}

#[test]
fn send_on_a_closed_channel_panics() {
    let r = run("send_closed", 2, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (2, "before\n"), "{r:?}");
    let report = r.report.unwrap();
    assert!(report.starts_with("panic: send on closed channel\n\ngoroutine 1 [running]:\n"), "{report}");
}

#[test]
fn closing_a_closed_channel_panics() {
    let r = run("close_closed", 2, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (2, "before\n"), "{r:?}");
    assert!(r.report.unwrap().starts_with("panic: close of closed channel\n"));
}

#[test]
fn messages_up_to_the_limit_arrive_whole_and_larger_ones_panic() {
    let r = run("big_message", 2, &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "big message ok: 16777216 bytes\n");
    let report = r.report.unwrap();
    assert!(
        report.contains("gmp.chan_send: a message of 16777217 bytes exceeds the limit of 16777216 bytes"),
        "{report}"
    );
}

/// A G's spawn message is read onto its stack when it fits the SDK's inline buffers (so a G that allocates
/// nothing never sets up its allocator), onto the heap when not; both arrive whole.
#[test]
fn spawn_messages_arrive_whole_on_either_side_of_the_inline_buffers() {
    for procs in [1, 2] {
        let r = run("spawn_args", procs, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "allocations before the body: 0\nspawn args ok\n"), "{r:?}");
    }
}

#[test]
fn waitgroup_waits_for_every_done() {
    for procs in [1, 2] {
        let r = run("waitgroup", procs, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "waitgroup: 100 done\nsum: 5050\n"), "{r:?}");
    }
}

/// Channel ends are equal and hash alike when they are the same channel, whatever their handles; `Chan<T>`
/// and the std collections travel as messages (see the guest).
#[test]
fn channel_ends_compare_by_identity_and_collections_travel() {
    let r = gmp_tests::run("chan_identity", 2, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "ok: 4 registrations, 2 clients\nok: Chan<T> both ends\nok: std collections\nok: derived and serde messages\n"
    );
}
