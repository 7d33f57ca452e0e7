//! Handles are capabilities: they travel in messages and spawn arguments, and a forged one is an error
//! that names the call, never another G's object.

use gmp_tests::run;

#[test]
fn channel_handles_pass_through_channels_and_spawn_arguments() {
    for procs in [1, 2] {
        let r = run("handles", procs, &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, "reply via passed sender: 42\nsum via spawn args: 6\ntwo hops: ok\n");
    }
}

#[test]
fn a_forged_handle_traps_the_g_with_the_call_named() {
    let r = run("forged", 2, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (2, "before\n"), "{r:?}");
    let report = r.report.unwrap();
    assert!(report.starts_with("panic: gmp.chan_send: handle 9999 is not held by G 1\n"), "{report}");
    assert!(report.contains("goroutine 1 [running]:"), "{report}");
}

#[test]
fn an_out_of_bounds_pointer_traps_the_g_with_the_call_named() {
    let r = run("bad_pointer", 2, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (2, "before\n"), "{r:?}");
    let report = r.report.unwrap();
    assert!(
        report.starts_with("panic: gmp.chan_send: the message at 0xfffffff0 (100 x 1 bytes) is outside"),
        "{report}"
    );
}
