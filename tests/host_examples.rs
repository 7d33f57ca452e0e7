//! The embedding examples (`host/examples/`) build, run, and print what their doc comments promise: each
//! is run as its own process, as a user would run it, and its exit status and key lines are checked.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use gmp_tests::{cargo, root, wait_or_kill, wasm};

/// The example binary `name`, built once per test process with the host crate's other examples (a no-op
/// when `cargo test` built them already, as it does).
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        // target/debug/deps/<test binary> → target/debug/examples
        let exe = std::env::current_exe().expect("test binary path");
        let profile = exe.parent().and_then(Path::parent).expect("test binary in target/<profile>/deps");
        let st = cargo().current_dir(root()).args(["build", "-p", "wasm-gmp", "--examples"]).status();
        assert!(st.is_ok_and(|s| s.success()), "cannot build the host examples");
        profile.join("examples")
    });
    dir.join(name)
}

/// Run example `name` with `args`; its exit status and stdout. Fails the test if it runs over a minute.
fn run_example(name: &str, args: &[&Path]) -> (i32, String) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the example {name}: {e}"));
    let status = wait_or_kill(&mut child, Duration::from_secs(60)).unwrap_or_else(|| panic!("{name} hung"));
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let code = status.code().unwrap_or(-1);
    assert!(err.is_empty() || code != 0, "{name} wrote to stderr:\n{err}");
    (code, out)
}

/// The line of `out` that starts with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line `{prefix}…` in:\n{out}"))
}

/// Eight jobs are answered right by the pool, the runaway is stopped by its run's deadline, the pool ends
/// when its queue is closed, and the summary says so.
#[test]
fn tokio_pool_answers_every_job_and_stops_the_runaway() {
    let (code, out) = run_example("tokio_pool", &[wasm("jobs").as_path()]);
    assert_eq!(code, 0, "{out}");
    for id in 1..=8u64 {
        let n = id * 100_000;
        let l = line(&out, &format!("job {id}: "));
        assert!(l.starts_with(&format!("job {id}: n = {n}: {} (worker G ", n * (n + 1) / 2)), "{l}");
    }
    let l = line(&out, "job 9: ");
    assert!(l.starts_with("job 9: timed out, its run stopped after ") && l.ends_with("(Deadline, status 124)"), "{l}");
    assert_eq!(line(&out, "pool: "), "pool: Returned, workers: 4 done");
    assert_eq!(line(&out, "summary: "), "summary: 8 jobs answered correctly, 0 wrong, 1 runaway stopped");
}

/// Each tenant ends as its limit says (kind, status, report), the well-behaved one untouched by the others.
#[test]
fn tenants_each_end_by_their_own_limit() {
    let (code, out) = run_example("tenants", &[]);
    assert_eq!(code, 0, "{out}");
    for (name, ending, report) in [
        ("well-behaved", "Returned, status 0", "-"),
        ("spinner", "Limit(CpuTime), status 2", "Limits::cpu_time"),
        ("spawner", "Limit(Gs), status 2", "Limits::max_gs"),
        ("hog", "Limit(MemoryTotal), status 2", "Limits::max_memory_total"),
        ("deadlock", "Deadlock, status 2", "fatal error: all goroutines are asleep - deadlock!"),
        ("sleeper", "Deadline, status 124", "-"),
    ] {
        let l = line(&out, &format!("tenant {name}: "));
        assert!(l.starts_with(&format!("tenant {name}: {ending}, after ")), "{l}");
        let (_, first_report_line) = l.split_once(" ms: ").unwrap_or_else(|| panic!("no report in {l}"));
        assert!(first_report_line.contains(report), "{name}'s report: {first_report_line}");
    }
    assert_eq!(line(&out, "summary: "), "summary: 6 of 6 tenants ended as their limits say");
}
