//! The embedding figures: what an embedder of [`wasm_gmp::Runtime`] sees when it runs many programs on one
//! scheduler, measured in this process through the public API (no `wasm-gmp` child process).
//!
//! # Figures
//! 1. **Kill latency**: a program whose main G spins in a loop with no calls runs 50 ms, then the time
//!    from `kill()` to `wait()` returning; at 1 and 2 Ps, against the promise of the API (a running G
//!    stops at its next epoch check, so within a tick, and well within two timeslices). The same for a
//!    program with 10,000 Gs parked on channels, where `wait` returns only once every G is dropped, against
//!    the floor of dropping as many bare instantiated stores.
//! 2. **Runs per second of the smallest program**: N starts and waits of a `_start` that returns, one at a
//!    time and with K in flight, on one runtime; against the engine's floor for the same module: a bare
//!    `Store::new` + `InstancePre::instantiate_async` + call of `_start` + drop, same engine, no scheduler
//!    (measured alternately with the runs, so both see the same machine).
//! 3. **Isolation**: program B (`bench_sleepers`: 100 Gs sleeping 10 ms in a loop, see [`SLEEPERS`]) reports how late its
//!    sleeps end, alone and next to program A, which keeps one G spinning per P on the same runtime. A
//!    spinning G keeps its P for a timeslice (10 ms) and sysmon notices within a tick (1 ms), so the target
//!    is a p99 (and max) within 11 ms.
//! 4. **Host↔guest channel round trip**: a `u64` sent by the host on one host channel and answered plus one
//!    by a guest G on another (`bench_host_echo`), from a plain thread (`send_blocking`/`recv_blocking`)
//!    and from tokio's current-thread executor (`send().await`/`recv().await`); next to the guest↔guest
//!    round trip of `bench_pingpong` on the same runtime in the same sitting. A host operation that must
//!    wait does so through a helper G and wakes the host thread, so the difference is about two thread
//!    wake-ups per round trip.
//! 5. **Goroutine dump latency**: `RunHandle::dump()` of a program (`bench_park`, a Rust guest) with N Gs
//!    parked on a channel and its main G in a stdin read: every parked G is inspected (its wasm backtrace
//!    taken from its suspended fiber, its handle table read). N is 100,000 where the kernel's
//!    `vm.max_map_count` lets the pool hold that many Gs, else 10,000 (the per-G cost in the note scales it).
//!
//! # Rejected
//! - Timing `kill` from another process (the CLI with a signal): that measures process teardown, not the
//!   API an embedder calls.
//! - The suite's floor module (`bench_floor`, a whole SDK guest) as the floor of a run: the run here is a
//!   three-function WAT module, so its floor is that module's instantiation.
//!
//! Benchmarks report, they do not assert timing: a run that ends the wrong way (not `Killed`, Gs still
//! alive after `wait`) is written into the row's note, and the figure is still reported.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use wasm_gmp::{Capture, Config, EngineConfig, ExitKind, Output, Program, RunOptions, Runtime};
use wasmtime::{Linker, Module, Store};

use crate::procs::{field, median, root};
use crate::suite::{Better, Figure, Opts};

/// How long the spinner runs before it is killed: several timeslices, so the kill lands on a G in the
/// middle of its slice, not on one still being instantiated.
const SPIN_BEFORE_KILL: Duration = Duration::from_millis(50);

/// Parked Gs of the parked-kill figure: well under the pool of a default `vm.max_map_count` (15,382 Gs).
const PARKED: u32 = 10_000;

/// Gs of the sleeping program B in the isolation figure. Not 1,000: B's Gs sleep in phase, so every 10 ms
/// they all wake at once and queue behind each other; at 1,000 Gs that burst alone (about 10 µs per wake-up
/// on the machine this was written on) makes B about 10 ms late with no A at all, the size of the target.
/// 100 Gs keep B's own burst near a millisecond, so the figure shows what A adds.
const SLEEPERS: &str = "100";

/// Runs in flight in the concurrent runs-per-second figure: more than the Ps, so a P never waits for the
/// embedder's thread to start the next one.
const IN_FLIGHT: usize = 16;

/// A program whose main G spins forever in a loop with no calls (only its epoch checks can stop it).
const SPINNER: &str = r#"(module (memory (export "memory") 1)
    (func (export "_start") (loop (br 0)))   ;; no call, no yield: only the epoch check stops it
    (func (export "gmp_entry") (param i32 i32 i32)))"#;

/// The smallest program: `_start` returns.
const TINY: &str = r#"(module (memory (export "memory") 1)
    (func (export "_start"))
    (func (export "gmp_entry") (param i32 i32 i32)))"#;

/// A program whose main G spawns `n - 1` Gs, then all `n` spin forever: one spinning G per P for `n` = Ps.
fn spinners(n: u32) -> String {
    format!(
        r#"(module
            (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
            (import "gmp" "msg_take" (func $take (param i32 i32 i32 i32)))
            (memory (export "memory") 1)
            (func (export "_start") (local $i i32)
                (block $done (loop $spawn_all
                    (br_if $done (i32.ge_u (local.get $i) (i32.const {})))
                    (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $spawn_all)))
                (loop (br 0)))
            (func (export "gmp_entry") (param i32 i32 i32)
                (call $take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
                (loop (br 0))))"#,
        n - 1
    )
}

/// The engine configuration of every runtime here: the default, the one engine (and pool) the rest of the
/// process uses too. A second configuration would reserve a second pool's mappings.
/// The default engine, with a pool past [`wasm_gmp::DEFAULT_MAX_GS`] for the dump figure's
/// [`DUMP_GS_FULL`] Gs where the map count holds them (copy-on-write images or not).
fn engine_cfg() -> EngineConfig {
    let want = DUMP_GS_FULL + 100;
    let room = wasm_gmp::max_gs_for_map_count(wasm_gmp::max_map_count().unwrap_or(65_530), true);
    EngineConfig { max_gs: (room >= want).then_some(want), ..EngineConfig::default() }
}

fn runtime(procs: usize) -> anyhow::Result<Runtime> {
    Runtime::new(Config { procs, engine: engine_cfg(), ..Config::default() })
}

fn quiet() -> RunOptions {
    RunOptions::default().stdout(Output::Null).stderr(Output::Null)
}

/// Wait until `cond` holds, polling every few milliseconds, for at most `limit`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while !cond() {
        if t0.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// What went wrong in some repetitions of a figure, for its note (counted, not asserted).
#[derive(Default)]
struct Anomalies(Vec<String>);

impl Anomalies {
    fn add(&mut self, what: String) {
        if !self.0.contains(&what) {
            self.0.push(what);
        }
    }

    fn into_note(self, note: String) -> String {
        if self.0.is_empty() { note } else { format!("{note}; ANOMALY: {}", self.0.join("; ")) }
    }
}

/// Figure 1, a spinning program: ms from `kill()` to `wait()` returning.
fn kill_spinner(rt: &Runtime, spin: &Program, bad: &mut Anomalies) -> anyhow::Result<f64> {
    let run = rt.start(spin, quiet())?;
    std::thread::sleep(SPIN_BEFORE_KILL);
    if run.is_finished() {
        bad.add("the spinner ended before the kill".into());
    }
    let t0 = Instant::now();
    run.kill();
    let exit = run.wait();
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if exit.kind != ExitKind::Killed {
        bad.add(format!("ended {:?}, not Killed", exit.kind));
    }
    Ok(ms)
}

/// Figure 1, a program with `PARKED` parked Gs: ms from `kill()` to `wait()` returning with every G gone,
/// and ms until `kill()` itself returned (from outside a poll it drops the parked Gs on the caller's thread).
fn kill_parked(rt: &Runtime, parked: &Program, bad: &mut Anomalies) -> anyhow::Result<(f64, f64)> {
    let run = rt.start(parked, quiet())?;
    let want = PARKED as usize + 1;
    if !wait_until(Duration::from_secs(60), || run.live_gs() >= want || run.is_finished()) {
        bad.add(format!("only {} of {want} Gs after 60 s", run.live_gs()));
    }
    // Every G parked: the program uses no CPU any more (a G still instantiating would).
    let mut last = run.cpu_time();
    let settled = wait_until(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(20));
        let now = run.cpu_time();
        std::mem::replace(&mut last, now) == now
    });
    if !settled {
        bad.add("the parked program kept using CPU".into());
    }
    let t0 = Instant::now();
    run.kill();
    let kill_ms = t0.elapsed().as_secs_f64() * 1e3;
    let exit = run.wait();
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if exit.kind != ExitKind::Killed {
        bad.add(format!("ended {:?}, not Killed", exit.kind));
    }
    if run.live_gs() != 0 {
        bad.add(format!("{} Gs alive after wait", run.live_gs()));
    }
    Ok((ms, kill_ms))
}

/// Figure 2: µs per run over `n` runs of `program`, at most `in_flight` at once.
fn runs(rt: &Runtime, program: &Program, n: usize, in_flight: usize, bad: &mut Anomalies) -> anyhow::Result<f64> {
    let mut going = VecDeque::with_capacity(in_flight);
    let mut check = |h: wasm_gmp::RunHandle| {
        let e = h.wait();
        if e.kind != ExitKind::Returned {
            bad.add(format!("a run ended {:?}", e.kind));
        }
    };
    let t0 = Instant::now();
    for _ in 0..n {
        if going.len() == in_flight {
            check(going.pop_front().expect("full"));
        }
        going.push_back(rt.start(program, quiet())?);
    }
    going.into_iter().for_each(&mut check);
    Ok(t0.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// The floor of one run of `wat`: µs per bare `Store::new` + `instantiate_async` + call of `_start` + drop
/// on the runtime's engine, polled on this thread with no scheduler (see `floor.rs`).
struct RunFloor {
    pre: wasmtime::InstancePre<()>,
    engine: wasmtime::Engine,
}

impl RunFloor {
    fn new(wat: &str) -> anyhow::Result<RunFloor> {
        let engine = engine_cfg().engine()?;
        let module = Module::new(&engine, wat).map_err(|e| anyhow::anyhow!("{e}"))?;
        let linker: Linker<()> = Linker::new(&engine);
        let pre = linker.instantiate_pre(&module).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(RunFloor { pre, engine })
    }

    fn measure(&self, n: usize) -> anyhow::Result<f64> {
        let t0 = Instant::now();
        for _ in 0..n {
            let mut store = Store::new(&self.engine, ());
            store.set_epoch_deadline(u64::MAX / 2); // the engine checks epochs; never interrupt here
            crate::floor::block_on(async {
                let i = self.pre.instantiate_async(&mut store).await?;
                i.get_typed_func::<(), ()>(&mut store, "_start")?.call_async(&mut store, ()).await
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(t0.elapsed().as_secs_f64() * 1e6 / n as f64)
    }

    /// The floor of dropping `n` Gs: ms to drop `n` bare stores, each holding an instance of the module.
    fn drop_many(&self, n: usize) -> anyhow::Result<f64> {
        let mut stores = Vec::with_capacity(n);
        for _ in 0..n {
            let mut store = Store::new(&self.engine, ());
            store.set_epoch_deadline(u64::MAX / 2);
            crate::floor::block_on(self.pre.instantiate_async(&mut store)).map_err(|e| anyhow::anyhow!("{e}"))?;
            stores.push(store);
        }
        let t0 = Instant::now();
        drop(stores);
        Ok(t0.elapsed().as_secs_f64() * 1e3)
    }
}

/// Figure 3: (p99, max) lateness in µs of one run of the sleepers.
fn sleepers_once(rt: &Runtime, sleepers: &Program, args: &[&str]) -> anyhow::Result<(f64, f64)> {
    let out = Capture::new();
    let exit = rt.run(
        sleepers,
        RunOptions::default()
            .args(std::iter::once("bench_sleepers.wasm").chain(args.iter().copied()))
            .stdout(Output::Capture(out.clone())),
    )?;
    let text = out.contents();
    anyhow::ensure!(exit.success(), "bench_sleepers ended {:?}: {text}", exit.kind);
    match (field(&text, "p99"), field(&text, "max")) {
        (Some(p99), Some(max)) => Ok((p99, max)),
        _ => anyhow::bail!("bench_sleepers said {text:?}"),
    }
}

fn range_note(v: &[f64]) -> String {
    let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    format!("{:.0} ({:.0}–{:.0})", median(v.to_vec()), lo, hi)
}

/// Every embedding figure, `opts.reps` repetitions each (kill latency: 5× as many, each is 50 ms).
pub fn figures(opts: &Opts) -> anyhow::Result<Vec<Figure>> {
    let mut figs = Vec::new();
    let cfg = engine_cfg();
    let spin = Program::from_bytes(&cfg, SPINNER.as_bytes())?;
    let tiny = Program::from_bytes(&cfg, TINY.as_bytes())?;
    let parked = Program::from_bytes(&cfg, gmp_tests::parker_wat(PARKED, None).as_bytes())?;
    let sleepers = Program::from_file(&cfg, root().join("target/wasm/wasm32-wasip1/release/bench_sleepers.wasm"))?;

    // 1. kill latency
    let kill_reps = opts.reps * 5;
    for procs in [1, 2] {
        let rt = runtime(procs)?;
        let mut f = Figure::new(
            format!("kill latency, spinning program, {procs} P"),
            "ms",
            "≤ 2 timeslices (20 ms)",
            Better::Lower,
        );
        let mut bad = Anomalies::default();
        for _ in 0..kill_reps {
            f.ours.push(kill_spinner(&rt, &spin, &mut bad)?);
        }
        f.note = bad.into_note(format!(
            "kill() → wait() after {} ms of spinning; {kill_reps} runs",
            SPIN_BEFORE_KILL.as_millis()
        ));
        figs.push(f);
    }
    let pool = cfg.pool_capacity()?;
    let floor = RunFloor::new(TINY)?;
    for procs in [1, 2] {
        let mut f = Figure::new(format!("kill latency, {PARKED} parked Gs, {procs} P"), "ms", "—", Better::Lower);
        if pool <= PARKED as usize + 1 {
            f.note = format!("the pool holds {pool} Gs (vm.max_map_count); not run");
        } else {
            let rt = runtime(procs)?;
            let (mut in_kill, mut floors, mut bad) = (Vec::new(), Vec::new(), Anomalies::default());
            for _ in 0..opts.reps {
                let (ms, kill_ms) = kill_parked(&rt, &parked, &mut bad)?;
                f.ours.push(ms);
                in_kill.push(kill_ms);
                floors.push(floor.drop_many(PARKED as usize)?);
            }
            f.floor = Some(median(floors.clone()));
            f.note = bad.into_note(format!(
                "kill() → wait() returning with every G dropped; kill() itself took {} ms (it drops the parked Gs \
                 on the caller's thread); floor: dropping {PARKED} bare instantiated stores, {} ms",
                range_note(&in_kill),
                range_note(&floors)
            ));
        }
        figs.push(f);
    }

    // 2. runs per second of the smallest program, against the engine's floor
    let n = if opts.quick { 500 } else { 2_000 };
    floor.measure(n / 10)?; // warm the pool's slots
    for procs in [1, 2] {
        let rt = runtime(procs)?;
        for in_flight in [1, IN_FLIGHT] {
            let how = if in_flight == 1 { "one at a time".to_string() } else { format!("{in_flight} in flight") };
            let mut f = Figure::new(
                format!("start+wait of a `_start` that returns, {how}, {procs} P"),
                "µs/run",
                "—",
                Better::Lower,
            );
            let (mut floors, mut bad) = (Vec::new(), Anomalies::default());
            runs(&rt, &tiny, n / 10, in_flight, &mut bad)?; // warm up
            for _ in 0..opts.reps {
                f.ours.push(runs(&rt, &tiny, n, in_flight, &mut bad)?);
                floors.push(floor.measure(n)?);
            }
            f.floor = Some(median(floors.clone()));
            let per_sec: Vec<f64> = f.ours.iter().map(|us| 1e6 / us).collect();
            f.note = bad.into_note(format!(
                "{} runs/s; floor: bare Store::new + instantiate_async + call + drop of the same module, {} \
                 ns ({n} runs per rep)",
                range_note(&per_sec),
                range_note(&floors.iter().map(|us| us * 1e3).collect::<Vec<_>>())
            ));
            figs.push(f);
        }
    }

    // 3. isolation: B's sleep lateness, alone and next to A spinning on every P
    let rounds = if opts.quick { "10" } else { "30" };
    for procs in [1, 2] {
        let rt = runtime(procs)?;
        let a = Program::from_bytes(&cfg, spinners(procs as u32).as_bytes())?;
        let target = "≤ 1 timeslice + tick (11 ms)";
        let mut rows = [
            Figure::new(format!("B's 10 ms sleeps: lateness p99, alone, {procs} P"), "ms", "—", Better::Lower),
            Figure::new(format!("B's 10 ms sleeps: lateness max, alone, {procs} P"), "ms", "—", Better::Lower),
            Figure::new(
                format!("B's 10 ms sleeps: lateness p99, next to A spinning on every P, {procs} P"),
                "ms",
                target,
                Better::Lower,
            ),
            Figure::new(
                format!("B's 10 ms sleeps: lateness max, next to A spinning on every P, {procs} P"),
                "ms",
                target,
                Better::Lower,
            ),
        ];
        let mut bad = Anomalies::default();
        for _ in 0..opts.reps {
            let (p99, max) = sleepers_once(&rt, &sleepers, &[SLEEPERS, "10", rounds])?;
            rows[0].ours.push(p99 / 1e3);
            rows[1].ours.push(max / 1e3);
            let spinning = rt.start(&a, quiet())?;
            // A's Gs hold every P before B starts.
            if !wait_until(Duration::from_secs(5), || spinning.live_gs() >= procs) {
                bad.add("A never had a G per P".into());
            }
            std::thread::sleep(Duration::from_millis(20));
            let (p99, max) = sleepers_once(&rt, &sleepers, &[SLEEPERS, "10", rounds])?;
            rows[2].ours.push(p99 / 1e3);
            rows[3].ours.push(max / 1e3);
            if spinning.is_finished() {
                bad.add("A ended before B".into());
            }
            spinning.kill();
            spinning.wait();
        }
        let what =
            format!("B: {SLEEPERS} Gs × {rounds} sleeps of 10 ms (bench_sleepers); A: {procs} spinning G, one per P");
        let note = bad.into_note(what);
        for r in &mut rows {
            r.note.clone_from(&note);
        }
        figs.extend(rows);
    }

    // 4. host↔guest round trips next to guest↔guest ones, in this process, alternately
    let echo = Program::from_file(&cfg, root().join("target/wasm/wasm32-wasip1/release/bench_host_echo.wasm"))?;
    let pingpong = Program::from_file(&cfg, root().join("target/wasm/wasm32-wasip1/release/bench_pingpong.wasm"))?;
    let trips: u64 = if opts.quick { 2_000 } else { 20_000 };
    for procs in [1, 2] {
        let rt = runtime(procs)?;
        let mut rows = [
            Figure::new(
                format!("host↔guest channel round trip, blocking host thread, {procs} P"),
                "ns",
                "",
                Better::Lower,
            ),
            Figure::new(
                format!("host↔guest channel round trip, async (tokio current-thread), {procs} P"),
                "ns",
                "",
                Better::Lower,
            ),
        ];
        let mut guest = Vec::new();
        for _ in 0..opts.reps {
            guest.push(guest_round_trip(&rt, &pingpong, trips * 10)?);
            rows[0].ours.push(host_round_trip(&rt, &echo, trips, false)?);
            rows[1].ours.push(host_round_trip(&rt, &echo, trips, true)?);
        }
        let g = median(guest);
        for r in &mut rows {
            r.target = format!("guest↔guest {g:.0} ns");
            r.note = format!(
                "{trips} round trips of a u64 through two host channels (bench_host_echo); guest↔guest: \
                 bench_pingpong in this process, same runtime"
            );
        }
        figs.extend(rows);
    }
    figs.extend(dump_figures(opts)?);
    Ok(figs)
}

/// Figure 5 alone (`gmp-bench dump`).
pub fn dump_figures(opts: &Opts) -> anyhow::Result<Vec<Figure>> {
    let mut figs = Vec::new();
    let cfg = engine_cfg();
    let pool = cfg.pool_capacity()?;
    let gs = if pool > DUMP_GS_FULL + 1 { DUMP_GS_FULL } else { DUMP_GS };
    let park = Program::from_file(&cfg, root().join("target/wasm/wasm32-wasip1/release/bench_park.wasm"))?;
    for procs in [1, 2] {
        let mut f = Figure::new(format!("goroutine dump, {gs} parked Gs, {procs} P"), "ms", "—", Better::Lower);
        let rt = runtime(procs)?;
        let mut bad = Anomalies::default();
        f.ours = dump_parked(&rt, &park, gs, opts.reps, &mut bad)?;
        let per_g_us = median(f.ours.clone()) * 1000.0 / gs as f64;
        f.note = bad.into_note(format!(
            "RunHandle::dump(): every G inspected (its stack read from its suspended fiber), {per_g_us:.2} µs per G; \
             {}",
            if gs == DUMP_GS_FULL {
                format!("the pool holds {pool}")
            } else {
                format!("100,000 Gs need `sudo sysctl -w vm.max_map_count=1000000` (the pool holds {pool})")
            }
        ));
        figs.push(f);
    }
    Ok(figs)
}

/// Parked Gs of the dump figure where the pool holds them, and where it does not.
const DUMP_GS_FULL: usize = 100_000;
const DUMP_GS: usize = 10_000;

/// Figure 5: ms per `dump()` of a program with `gs` parked Gs, `reps` dumps.
fn dump_parked(rt: &Runtime, park: &Program, gs: usize, reps: usize, bad: &mut Anomalies) -> anyhow::Result<Vec<f64>> {
    let (stdin, release) = std::io::pipe()?;
    // Past the default limits, which bound what the Gs could use (each G's whole linear memory, 128 KiB for
    // bench_park, and a handle each), not what parked Gs hold: 100,000 Gs would end at the total memory limit.
    let limits = wasm_gmp::Limits {
        max_memory_total: (gs as u64 / 8 + 1024) << 20,
        max_handles_total: 2 * gs + 1000,
        ..wasm_gmp::Limits::default()
    };
    let opts =
        quiet().args(["bench_park".to_string(), gs.to_string()]).stdin(wasm_gmp::Input::reader(stdin)).limits(limits);
    let run = rt.start(park, opts)?;
    // Parked: every G spawned and the program idle (main in its stdin read). A run that ended (at a limit)
    // stops the wait at once.
    if !wait_until(Duration::from_secs(300), || {
        run.is_finished()
            || run.live_gs() == gs + 1 && {
                let c = run.cpu_time();
                std::thread::sleep(Duration::from_millis(20));
                run.cpu_time() == c
            }
    }) {
        bad.add(format!("only {} of {gs} Gs came up", run.live_gs()));
    }
    let mut ms = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        let d = run.dump();
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        let inspected = d.goroutines.iter().filter(|g| g.inspection.is_some()).count();
        if inspected != gs {
            bad.add(format!("a dump inspected {inspected} of {gs} parked Gs"));
        }
    }
    drop(release);
    let exit = run.wait();
    if exit.kind != ExitKind::Returned {
        bad.add(format!("the program ended {:?}", exit.kind));
    }
    Ok(ms)
}

/// ns per round trip between two Gs of one program (bench_pingpong), run in this process.
fn guest_round_trip(rt: &Runtime, pingpong: &Program, n: u64) -> anyhow::Result<f64> {
    let out = Capture::new();
    let opts = RunOptions::default().args(["pingpong".to_string(), n.to_string()]).stdout(Output::Capture(out.clone()));
    let exit = rt.run(pingpong, opts)?;
    anyhow::ensure!(exit.kind == ExitKind::Returned, "bench_pingpong ended {exit:?}");
    out.contents().lines().find_map(|l| field(l, "ns_per_op")).ok_or_else(|| anyhow::anyhow!("no ns_per_op"))
}

/// ns per round trip from the host through a guest and back: the host sends on "ping", the guest answers
/// on "pong"; from a plain thread with the blocking calls, or from tokio's current-thread executor.
fn host_round_trip(rt: &Runtime, echo: &Program, n: u64, from_async: bool) -> anyhow::Result<f64> {
    let (ping, pong) = (rt.chan::<u64>(0), rt.chan::<u64>(0));
    let run = rt.start(echo, RunOptions::default().chan("ping", &ping).chan("pong", &pong))?;
    let trip = |v: u64| -> anyhow::Result<u64> {
        ping.send_blocking(v).map_err(|_| anyhow::anyhow!("ping closed"))?;
        pong.recv_blocking().map_err(|e| anyhow::anyhow!("pong: {e}"))
    };
    trip(0)?; // the guest is up
    let t0 = Instant::now();
    let last = if from_async {
        let tokio = tokio::runtime::Builder::new_current_thread().build()?;
        tokio.block_on(async {
            let mut v = 0;
            for _ in 0..n {
                ping.send(v).await.map_err(|_| anyhow::anyhow!("ping closed"))?;
                v = pong.recv().await.map_err(|e| anyhow::anyhow!("pong: {e}"))?;
            }
            Ok::<u64, anyhow::Error>(v)
        })?
    } else {
        let mut v = 0;
        for _ in 0..n {
            v = trip(v)?;
        }
        v
    };
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    anyhow::ensure!(last == n, "the guest answered {last} after {n} round trips");
    ping.close();
    let exit = run.wait();
    anyhow::ensure!(exit.kind == ExitKind::Returned, "bench_host_echo ended {exit:?}");
    Ok(ns)
}
