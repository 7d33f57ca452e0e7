//! Goroutine dumps (issue 10, items 1 and 2): `RunHandle::dump` on a running program, `SIGQUIT` in the
//! command line, `GOTRACEBACK`, and the deadlock report that names who holds what and the cycles.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gmp_tests::{bin, config, program, root, run, run_with, wait_or_kill, wasm};
use wasm_gmp::{Capture, ExitKind, GStatus, Output, Runtime, Traceback, WaitReason};

/// Dumps taken as fast as they come while 4 pairs of Gs ping-pong: the program sees nothing (every message
/// counted once, the same sum), and the dumps show the G parked in `wait_here` with its stack.
#[test]
fn dumps_of_a_running_program_change_nothing_and_show_the_parked_stacks() {
    for procs in [1, 2] {
        let setup = config("dumps", procs, &["pingpong", "4", "20000"]);
        let out = Capture::new();
        let rt = Runtime::new(setup.rt).unwrap();
        let run = rt.start(&program("dumps"), setup.opts.stdout(Output::Capture(out.clone()))).unwrap();
        let (mut dumps, mut with_waiter, mut inspected) = (0, 0, 0);
        let t0 = Instant::now();
        while !run.is_finished() {
            assert!(t0.elapsed() < Duration::from_secs(120), "the program did not end: {}", out.contents());
            let d = run.dump();
            dumps += 1;
            inspected += d.goroutines.iter().filter(|g| g.inspection.is_some()).count();
            let text = d.to_string();
            // The waiter parks once, for the whole run, in `wait_here`, spawned by main.
            if let Some(at) = text.find("dumps::wait_here") {
                let header = text[..at].rfind("goroutine ").map(|h| &text[h..at]).unwrap_or_default();
                assert!(header.contains("[chan receive]:\n\twaiting to receive on chan #"), "{text}");
                assert!(text[at..].contains("created by goroutine 1"), "{text}");
                with_waiter += 1;
            }
        }
        let exit = run.wait();
        assert_eq!(exit.kind, ExitKind::Returned, "at {procs} Ps: {:?}", exit.report);
        assert!(out.contents().ends_with("ready\nsum 80000\nbye\n"), "at {procs} Ps: {}", out.contents());
        assert!(
            dumps > 0 && with_waiter > 0 && inspected > 0,
            "at {procs} Ps: {dumps} dumps, {with_waiter} with the waiter"
        );
    }
}

/// Every field of a dumped G, for a program that is only waiting: the main G asleep in `gmp::time::sleep`,
/// the other in `wait_here`.
#[test]
fn a_dump_says_status_reason_object_creator_and_stack() {
    let setup = config("dumps", 1, &["sigquit"]);
    let out = Capture::new();
    let rt = Runtime::new(setup.rt).unwrap();
    let run = rt.start(&program("dumps"), setup.opts.stdout(Output::Capture(out.clone()))).unwrap();
    let t0 = Instant::now();
    let d = loop {
        let d = run.dump();
        if d.goroutines.len() == 2 && d.goroutines.iter().all(|g| g.inspection.is_some()) {
            break d;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "never both parked: {d}");
        std::thread::sleep(Duration::from_millis(2));
    };
    let (main, waiter) = (&d.goroutines[0], &d.goroutines[1]);
    assert_eq!((main.id, main.status, main.reason, main.created_by), (1, GStatus::Waiting, WaitReason::Sleep, 0));
    assert_eq!(
        (waiter.id, waiter.status, waiter.reason, waiter.created_by),
        (2, GStatus::Waiting, WaitReason::ChanReceive, 1)
    );
    let main_stack = &main.inspection.as_ref().unwrap().stack;
    assert!(main_stack.starts_with("gmp::time::sleep\n\t") && main_stack.contains("\ndumps::main\n\t"), "{main_stack}");
    assert!(!main_stack.contains("_start") && !main_stack.contains("lang_start"), "startup frames: {main_stack}");
    let waiter_i = waiter.inspection.as_ref().unwrap();
    assert!(waiter_i.stack.contains("dumps::wait_here\n\t"), "{}", waiter_i.stack);
    assert!(waiter_i.holds.contains(&waiter.obj), "the waiter holds the channel it waits on: {waiter_i:?}");
    assert!(main.waiting < Duration::from_secs(60) && main.waiting > Duration::ZERO, "{:?}", main.waiting);
    run.kill();
    assert_eq!(run.wait().kind, ExitKind::Killed);
}

#[test]
fn sigquit_prints_every_goroutine_then_exits_two() {
    let mut child = Command::new(bin())
        .args(["run", wasm("dumps").to_str().unwrap(), "sigquit"])
        .env("GMP_CACHE_DIR", root().join("target/gmp-cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // "ready" comes before the waiter has surely parked; a dump before that shows it runnable, still true.
    std::thread::sleep(Duration::from_millis(200));
    let st = Command::new("kill").args(["-QUIT", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let status = wait_or_kill(&mut child, Duration::from_secs(30)).expect("SIGQUIT did not end the program");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.starts_with("SIGQUIT: quit\n\ngoroutine 1 [sleep]:\ngmp::time::sleep\n"), "{err}");
    assert!(err.contains("\ngoroutine 2 [chan receive]:\n\twaiting to receive on chan #"), "{err}");
    assert!(err.contains("dumps::wait_here\n") && err.ends_with("created by goroutine 1\n"), "{err}");
}

#[test]
fn a_deadlock_report_names_the_cycle() {
    for procs in [1, 2] {
        let r = run("dumps", procs, &["cycle"]);
        assert_eq!(r.code, 2);
        let report = r.report.unwrap();
        assert!(
            report.starts_with("fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\n"),
            "{report}"
        );
        let (a, b) = (chan_of(&report, 1), chan_of(&report, 2));
        assert!(
            report.contains(&format!(
                "goroutine 1 [chan receive]:\n\twaiting to receive on chan #{a}; its only other holder of chan #{a}, \
                 goroutine 2, waits to receive on chan #{b}\n"
            )),
            "{report}"
        );
        assert!(report.contains("dumps::wait_here\n\t"), "{report}");
        assert!(
            report.ends_with(&format!(
                "\ncycle: goroutine 1 waits on chan #{a}, held only by goroutine 2; goroutine 2 waits on chan #{b}, \
                 held only by goroutine 1.\n"
            )),
            "{report}"
        );
    }
}

/// The channel goroutine `g` of a deadlock report waits on.
fn chan_of(report: &str, g: u64) -> u64 {
    let at = report.find(&format!("goroutine {g} [")).expect("the G is in the report");
    let rest = &report[at..];
    let n = &rest[rest.find("on chan #").expect("waits on a channel") + 9..];
    n[..n.find(|c: char| !c.is_ascii_digit()).unwrap()].parse().unwrap()
}

#[test]
fn a_channel_nobody_else_holds_is_called_out() {
    let r = run("deadlock", 1, &[]);
    let report = r.report.unwrap();
    let c = chan_of(&report, 1);
    assert!(
        report.contains(&format!("\twaiting to receive on chan #{c}; no other goroutine holds chan #{c}\n")),
        "{report}"
    );
    assert!(!report.contains("cycle:"), "{report}");
}

#[test]
fn gotraceback_says_which_goroutines_a_panic_shows() {
    let with = |t: Traceback| {
        let mut setup = config("dumps", 1, &["panic"]);
        setup.opts = setup.opts.traceback(t);
        let r = run_with("dumps", setup);
        assert_eq!(r.code, 2);
        r.report.unwrap()
    };
    let single = with(Traceback::Single);
    assert!(single.starts_with("panic: main gives up\n\ngoroutine 1 [running]:\ndumps::main\n"), "{single}");
    assert!(!single.contains("goroutine 2"), "{single}");
    let all = with(Traceback::All);
    assert!(all.starts_with(&single), "{all}");
    for g in 2..=4 {
        assert!(all.contains(&format!("\ngoroutine {g} [chan receive]:\n\twaiting to receive on chan #")), "{all}");
    }
    assert_eq!(all.matches("dumps::wait_here\n").count(), 3, "{all}");
    let none = with(Traceback::None);
    assert_eq!(none, "panic: main gives up\n\n[goroutine stack traces omitted: GOTRACEBACK=none]\n");
    // The command line reads GOTRACEBACK.
    let out = Command::new(bin())
        .args(["run", wasm("dumps").to_str().unwrap(), "panic"])
        .env("GMP_CACHE_DIR", root().join("target/gmp-cache"))
        .env("GOTRACEBACK", "all")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("dumps::wait_here\n").count(), 3, "{err}");
}
