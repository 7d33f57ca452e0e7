//! `gmp::sync` and `gmp::context` in real guests: atomics, mutexes, once-values, contexts, error groups and
//! after-funcs shared by Gs that share no memory.

use gmp_tests::run;

/// Go by Example's atomic counter and mutex programs, `RWMutex` and `Cond`, with checksums of every update
/// (see the guest).
#[test]
fn sync_objects_are_shared_by_every_g() {
    for procs in [1, 2, 4] {
        let r = run("sync_objects", procs, &[]);
        assert_eq!(r.code, 0, "procs {procs}: {r:?}");
        assert_eq!(
            r.stdout,
            "atomic: 50000\ncas: 1 winner of 50\nmutex: 5000 [0..4999]\nonce: 1 ran, 20 agree\n\
             rwlock: 5 readers at once, writer waited, 2000 writes\ncond: fifo 0..9, broadcast 10, 1000 items\n",
            "procs {procs}"
        );
    }
}

/// An atomic handle used as a channel, or an unknown operation, traps the G naming what was wrong.
#[test]
fn misused_atomics_trap_with_a_clear_error() {
    let cfg = wasm_gmp::EngineConfig::default();
    for (body, want) in [
        (
            "(drop (call $op (call $new (i64.const 1)) (i32.const 99) (i64.const 0) (i64.const 0)))",
            "unknown operation 99",
        ),
        ("(drop (call $op (call $chan_new (i32.const 0)) (i32.const 0) (i64.const 0) (i64.const 0)))", "not an atomic"),
        ("(drop (call $op (i32.const 77) (i32.const 0) (i64.const 0) (i64.const 0)))", "handle 77 is not held"),
    ] {
        let wat = format!(
            r#"(module
                (import "gmp" "atomic_new" (func $new (param i64) (result i32)))
                (import "gmp" "atomic_op" (func $op (param i32 i32 i64 i64) (result i64)))
                (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
                (memory (export "memory") 1)
                (func (export "_start") {body}))"#
        );
        let program = wasm_gmp::Program::from_bytes(&cfg, wat.as_bytes()).unwrap();
        let rt = wasm_gmp::Runtime::new(wasm_gmp::Config { procs: 1, ..Default::default() }).unwrap();
        let exit = rt.run(&program, wasm_gmp::RunOptions::default().stderr(wasm_gmp::Output::Null)).unwrap();
        assert_eq!(exit.kind, wasm_gmp::ExitKind::Panic, "{body}");
        let report = exit.report.unwrap_or_default();
        assert!(report.contains("gmp.atomic_op") && report.contains(want), "{body}: {report}");
    }
}

/// Go's `context` tree, `errgroup`, `time.AfterFunc` and `runtime.NumGoroutine` (see the guest): every
/// cancellation reaches every watcher, and no watcher G outlives its context.
#[test]
fn contexts_errgroups_and_after_funcs_work_as_in_go() {
    for procs in [1, 2] {
        let r = run("context_tree", procs, &[]);
        assert_eq!(r.code, 0, "procs {procs}: {r:?}");
        assert_eq!(
            r.stdout,
            "tree: 12 workers canceled\ndeadline: inherited, exceeded\nchild: parent untouched\n\
             errgroup: part 7 failed, ok group ok\nafter_func: 50 fired, 50 stopped\ngoroutines: 1\n",
            "procs {procs}"
        );
    }
}
