//! The execution trace (`Config::trace`, `wasm-gmp run --trace FILE`): the file is Trace Event Format JSON
//! that keeps its invariants — every slice closed, no P running two Gs at once, every unblock of a G after a
//! block of it, every flow end after its start, every track named — and shows what the program did.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use gmp_tests::{cli, program, wasm};
use serde_json::Value;
use wasm_gmp::{Capture, Config, Output, RunOptions, Runtime, TraceOutput};

/// A writer the test reads back after the runtime wrote to it.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Run guest `name` at `procs` Ps with tracing on; the trace's events.
fn traced(name: &str, procs: usize) -> Vec<Value> {
    traced_with(name, procs, Output::Capture(Capture::new()))
}

/// [`traced`], with the program's stdout going to `stdout`.
fn traced_with(name: &str, procs: usize, stdout: Output) -> Vec<Value> {
    let buf = Buf::default();
    let cfg = Config { procs, trace: Some(TraceOutput::writer(buf.clone())), ..Config::default() };
    {
        let rt = Runtime::new(cfg).unwrap();
        let exit = rt.run(&program(name), RunOptions::default().stdout(stdout)).unwrap();
        assert!(exit.success(), "{name}: {exit:?}");
    } // dropping the runtime writes the trace
    let bytes = buf.0.lock().unwrap().clone();
    parse(&bytes)
}

fn parse(bytes: &[u8]) -> Vec<Value> {
    let v: Value = serde_json::from_slice(bytes).expect("the trace is not valid JSON");
    v["traceEvents"].as_array().expect("no traceEvents array").clone()
}

fn s<'a>(e: &'a Value, k: &str) -> &'a str {
    e[k].as_str().unwrap_or("")
}

fn n(e: &Value, k: &str) -> f64 {
    e[k].as_f64().unwrap_or_else(|| panic!("{k} is not a number in {e}"))
}

/// Check every invariant of the module comment; panics naming the first broken one.
fn check_invariants(evs: &[Value]) {
    let mut named: Vec<(u64, u64)> = Vec::new();
    for e in evs {
        let ph = s(e, "ph");
        assert!(["X", "i", "s", "f", "M"].contains(&ph), "unexpected phase (an unclosed B?): {e}");
        if ph == "M" && s(e, "name") == "thread_name" {
            named.push((e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap()));
        }
        if ph == "X" {
            assert!(n(e, "dur") >= 0.0, "a slice with a negative duration: {e}");
        }
    }
    // Every track an event is on is named.
    for e in evs.iter().filter(|e| s(e, "ph") != "M") {
        let track = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
        assert!(named.contains(&track), "track {track:?} has no thread_name: {e}");
    }
    // No P runs two Gs at once: its G slices, in time order, never overlap (1 ns of rounding allowed).
    let mut by_p: HashMap<u64, Vec<(f64, f64, &Value)>> = HashMap::new();
    for e in evs.iter().filter(|e| s(e, "ph") == "X" && s(e, "cat") == "g") {
        assert_eq!(e["pid"], 1, "a G slice off the P tracks: {e}");
        by_p.entry(e["tid"].as_u64().unwrap()).or_default().push((n(e, "ts"), n(e, "ts") + n(e, "dur"), e));
    }
    assert!(!by_p.is_empty(), "no G slices at all");
    for (p, mut slices) in by_p {
        slices.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in slices.windows(2) {
            assert!(w[1].0 >= w[0].1 - 0.001, "P{p} runs two Gs at once:\n{}\n{}", w[0].2, w[1].2);
        }
    }
    // Every unblock of a G follows a block of it, one for one, in the file's (time) order.
    let mut blocked: HashMap<u64, bool> = HashMap::new();
    let (mut blocks, mut unblocks) = (0, 0);
    for e in evs.iter().filter(|e| s(e, "ph") == "i") {
        let g = e["args"]["g"].as_u64().unwrap_or(0);
        if s(e, "name").starts_with("block G") {
            assert!(!blocked.get(&g).copied().unwrap_or(false), "G{g} blocked twice without an unblock: {e}");
            blocked.insert(g, true);
            blocks += 1;
        } else if s(e, "name").starts_with("unblock G") {
            assert!(blocked.get(&g).copied().unwrap_or(false), "G{g} unblocked without a block before: {e}");
            blocked.insert(g, false);
            unblocks += 1;
        }
    }
    assert!(blocks > 0 && unblocks > 0, "no block/unblock pairs ({blocks}, {unblocks})");
    // Every flow end has its start, earlier, and each id is used by one start.
    let mut starts: HashMap<u64, f64> = HashMap::new();
    for e in evs.iter().filter(|e| s(e, "ph") == "s") {
        let id = e["id"].as_u64().expect("flow id is an integer");
        assert!(id < 1 << 53, "flow id {id} does not fit a JavaScript number");
        assert!(starts.insert(id, n(e, "ts")).is_none(), "flow id {id} started twice");
    }
    for e in evs.iter().filter(|e| s(e, "ph") == "f") {
        let id = e["id"].as_u64().unwrap();
        let t = starts.get(&id).unwrap_or_else(|| panic!("flow end without a start: {e}"));
        assert!(*t <= n(e, "ts"), "flow {id} ends before it starts");
        assert_eq!(s(e, "bp"), "e", "a flow end binds to the enclosing slice: {e}");
    }
}

/// metrics_counts at 2 Ps: 21 spawns from main, a sleep that a timer ends, a spinner that sysmon preempts,
/// senders blocked on a channel and unblocked by main.
#[test]
fn trace_of_a_program_keeps_its_invariants_and_shows_what_happened() {
    let evs = traced("metrics_counts", 2);
    check_invariants(&evs);
    let named = |prefix: &str| evs.iter().filter(|e| s(e, "name").starts_with(prefix)).count();
    assert_eq!(named("spawn G"), 22, "the main G and 21 spawns");
    assert!(evs.iter().any(|e| s(e, "cat") == "g" && s(e, "name") == "G1 main"), "the main G's slices are named");
    assert!(named("preempt G") >= 1, "the spinner was preempted");
    let by = |who: &str| evs.iter().filter(|e| s(e, "name").starts_with("unblock G") && e["args"]["by"] == who).count();
    assert!(by("timer") >= 1, "main's sleep ended by its timer");
    assert!(by("G1") >= 20, "main's receives unblocked the senders");
    // Blocks say why.
    let reasons: Vec<&str> = evs
        .iter()
        .filter(|e| s(e, "name").starts_with("block G"))
        .filter_map(|e| e["args"]["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"chan send") && reasons.contains(&"sleep"), "{reasons:?}");
    // An M track shows the same slices.
    assert!(evs.iter().any(|e| s(e, "cat") == "m" && e["pid"] == 2));
}

/// The sieve names its Gs after the functions they run (the name section), not table indices.
#[test]
fn spawned_gs_are_named_after_their_function() {
    let evs = traced("sieve", 2);
    check_invariants(&evs);
    let has = |name: &str| evs.iter().any(|e| s(e, "cat") == "g" && s(e, "name").ends_with(name));
    assert!(has(" sieve::generate") && has(" sieve::filter"), "slices are not named after their functions");
}

/// A writer slower than the program: each write blocks its thread for 2 ms.
struct Slow;

impl Write for Slow {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(std::time::Duration::from_millis(2));
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// stdout_flood at 1 P into a slow writer: the writing G blocks in its writes (a blocking call, the P handed
/// to another M) while 100 workers run on the P. The writer's slices stop at each write and go on after it,
/// so P0's track still never shows two Gs at once, and the M's track shows the blocking calls.
#[test]
fn a_blocking_call_ends_the_slice_on_its_p() {
    let evs = traced_with("stdout_flood", 1, Output::writer(Slow));
    check_invariants(&evs);
    assert!(evs.iter().any(|e| s(e, "cat") == "g" && e["args"]["end"] == "syscall"), "no slice ended in a syscall");
    assert!(evs.iter().any(|e| s(e, "name") == "syscall" && e["pid"] == 2), "no syscall on an M track");
}

/// Goroutine dumps taken again and again while a traced program runs: a G a dump holds when its waker comes
/// is queued by the dump, and the trace still shows an unblock (by "woken during a dump") before it runs.
#[test]
fn dumps_during_a_traced_run_keep_the_invariants() {
    let buf = Buf::default();
    let cfg = Config { procs: 2, trace: Some(TraceOutput::writer(buf.clone())), ..Config::default() };
    {
        let rt = Runtime::new(cfg).unwrap();
        let run = rt.start(&program("metrics_counts"), RunOptions::default().stdout(Output::Capture(Capture::new())));
        let run = run.unwrap();
        let mut dumps = 0;
        while run.wait_timeout(std::time::Duration::ZERO).is_none() {
            let _ = run.dump();
            dumps += 1;
        }
        assert!(run.wait().success());
        assert!(dumps > 0);
    }
    let bytes = buf.0.lock().unwrap().clone();
    check_invariants(&parse(&bytes));
}

/// `--trace FILE` writes the file at exit; the program's output is unchanged.
#[test]
fn cli_trace_writes_the_file() {
    let dir = std::env::temp_dir().join(format!("gmp-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.json");
    let app = wasm("metrics_counts");
    let out = cli(&["run", "--procs", "2", "--trace", file.to_str().unwrap(), app.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    let evs = parse(&std::fs::read(&file).expect("no trace file"));
    check_invariants(&evs);
    let _ = std::fs::remove_dir_all(&dir);
}
