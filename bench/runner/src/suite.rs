//! The benchmark suite: every figure of the performance issue, wasm-gmp and Go run alternately in one
//! session, written as a table (markdown), JSON, and an SVG plot of spawn cost and memory per G against
//! the number of live Gs.
//!
//! Each figure runs `reps` times per side, alternating wasm-gmp and Go so that both see the same machine
//! state; the table shows the median and the min–max range. Per-operation figures come from the programs'
//! own clocks (they time only the operation, not start-up); memory per G is the difference of the process's
//! Pss plus page tables between N parked Gs and one, divided by N − 1, itemized for wasm-gmp (`mem.rs`). The embedding figures (`embed.rs`) run last, in this
//! process, with no Go twin.

use std::fmt::Write as _;
use std::process::Command;

use serde::Serialize;

use crate::procs::{Server, field, go, median, output, root, wasm_gmp};

/// Which direction is better for a figure.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// One row of the table, and of the JSON's `figures`.
#[derive(Serialize)]
pub struct Figure {
    pub name: String,
    pub unit: &'static str,
    #[serde(rename = "wasm_gmp")]
    pub ours: Vec<f64>,
    pub go: Vec<f64>,
    pub floor: Option<f64>,
    pub target: String,
    pub better: Better,
    pub note: String,
}

impl Figure {
    pub fn new(name: impl Into<String>, unit: &'static str, target: impl Into<String>, better: Better) -> Figure {
        Figure {
            name: name.into(),
            unit,
            ours: Vec::new(),
            go: Vec::new(),
            floor: None,
            target: target.into(),
            better,
            note: String::new(),
        }
    }
}

/// Options of a suite run.
pub struct Opts {
    pub reps: usize,
    pub with_go: bool,
    pub quick: bool,
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn cell(v: &[f64]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    if v.len() == 1 {
        fmt_num(v[0])
    } else {
        format!("{} ({}–{})", fmt_num(median(v.to_vec())), fmt_num(lo), fmt_num(hi))
    }
}

/// Run a program that prints `key=value` figures; `None` (with the reason printed) if it failed.
fn try_output(cmd: Command, what: &str) -> Option<String> {
    match output(cmd) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("gmp-bench: {what}: {e}");
            None
        }
    }
}

/// Alternate wasm-gmp and Go `reps` times, collecting `key` from each output.
fn pair(fig: &mut Figure, opts: &Opts, ours: impl Fn() -> Command, theirs: impl Fn() -> Command, key: &str) {
    for _ in 0..opts.reps {
        if let Some(v) = try_output(ours(), &fig.name).and_then(|s| field(&s, key)) {
            fig.ours.push(v);
        }
        if opts.with_go
            && let Some(v) = try_output(theirs(), &fig.name).and_then(|s| field(&s, key))
        {
            fig.go.push(v);
        }
    }
}

/// The command parking `k` Gs: wasm-gmp's `bench_park` (with a pool of `max_gs` when given) or Go's twin.
pub(crate) fn park_cmd(ours: bool, k: usize, max_gs: Option<usize>) -> Command {
    if !ours {
        return go(2, "park", &[&k.to_string()]);
    }
    let mut c = Command::new(root().join("target/release/wasm-gmp"));
    c.args(["run", "--procs", "2"]);
    if let Some(m) = max_gs {
        c.args(["--max-gs", &m.to_string()]);
    }
    c.arg(root().join("target/wasm/wasm32-wasip1/release/bench_park.wasm"))
        .args(["--", &k.to_string()])
        .env("GMP_CACHE_DIR", root().join("target/gmp-cache"));
    c
}

/// What `vm.max_map_count` must be for a pool of `n` Gs.
fn map_count_for(n: usize) -> usize {
    n * (wasm_gmp::MAPS_PER_G + wasm_gmp::MAPS_PER_STACK_SLOT) + wasm_gmp::MAPS_RESERVED
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().to_string()))
        })
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {mem_gib:.0} GiB, Linux {}, vm.max_map_count {}",
        kernel.trim(),
        wasm_gmp::max_map_count().unwrap_or(0)
    )
}

/// Run everything and write `bench/results/`.
pub fn run(opts: &Opts) -> anyhow::Result<()> {
    let go_version = if opts.with_go { crate::go::ensure() } else { None };
    let opts = &Opts { with_go: go_version.is_some(), ..*opts };
    if opts.with_go {
        crate::go::build(&[
            "spawn",
            "pingpong",
            "chan_throughput",
            "sieve",
            "park",
            "parallel",
            "preempt",
            "echo",
            "timers",
        ])?;
    }
    let n_spawn = if opts.quick { "20000" } else { "100000" };
    let mut figs: Vec<Figure> = Vec::new();

    let floor = crate::floor::measure(&root().join("target/wasm/wasm32-wasip1/release/bench_floor.wasm"), 20_000)?;

    // spawn+exit
    for (procs, alive, target) in [(1, 0, "≤ 5000"), (2, 0, "< the 1 P figure"), (1, 1000, "—"), (1, 100_000, "—")]
    {
        let name = if alive == 0 {
            format!("spawn+exit, {procs} P")
        } else {
            format!("spawn+exit, {procs} P, {alive} Gs alive")
        };
        let mut f = Figure::new(name, "ns", target, Better::Lower);
        f.floor = Some(floor.instantiate_call_drop_ns);
        let pool = wasm_gmp::max_gs_for_map_count(wasm_gmp::max_map_count().unwrap_or(65_530));
        // The spawned Gs exit at once; only the parked ones (plus a burst) hold pool places.
        if alive + 2_000 > pool {
            f.note = format!("needs vm.max_map_count ≥ {} (pool holds {pool}); not run", map_count_for(alive + 2_000));
        } else {
            let a = alive.to_string();
            pair(
                &mut f,
                opts,
                || wasm_gmp(procs, "bench_spawn", &[n_spawn, &a]),
                || go(procs, "spawn", &[n_spawn, &a]),
                "ns_per_op",
            );
        }
        figs.push(f);
    }

    // ping-pong
    for (procs, target) in [(1, "≤ 500"), (2, "—")] {
        let mut f = Figure::new(format!("ping-pong round trip, {procs} P"), "ns", target, Better::Lower);
        f.floor = Some(2.0 * floor.suspend_resume_ns);
        f.note = "floor: two fiber suspend/resume".into();
        let n = if opts.quick { "200000" } else { "1000000" };
        pair(&mut f, opts, || wasm_gmp(procs, "bench_pingpong", &[n]), || go(procs, "pingpong", &[n]), "ns_per_op");
        figs.push(f);
    }

    // buffered channel
    for p in ["1", "4"] {
        let mut f =
            Figure::new(format!("buffered chan (cap 1024), {p} prod/{p} cons, 2 P"), "ns/msg", "≤ 100", Better::Lower);
        let m = if opts.quick { "500000" } else { "2000000" };
        pair(
            &mut f,
            opts,
            || wasm_gmp(2, "bench_chan_throughput", &[p, m]),
            || go(2, "chan_throughput", &[p, m]),
            "ns_per_op",
        );
        figs.push(f);
    }

    // sieve
    for (n, target) in [("1000", "—"), ("5000", "≤ 2× Go")] {
        if opts.quick && n == "5000" {
            continue;
        }
        let mut f = Figure::new(format!("prime sieve, {n} primes, 2 P"), "ms", target, Better::Lower);
        pair(&mut f, opts, || wasm_gmp(2, "bench_sieve", &[n]), || go(2, "sieve", &[n]), "ms");
        figs.push(f);
    }

    // memory per parked G as the kernel pays it, and the plot's data
    let mut live_points: Vec<crate::plot::Point> = Vec::new();
    let pool = wasm_gmp::max_gs_for_map_count(wasm_gmp::max_map_count().unwrap_or(65_530));
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemAvailable:").map(|v| v.trim().trim_end_matches("kB").trim().to_string())
            })
        })
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    let mut per_g_kib = 64.0; // a pessimistic first guess, replaced by each measurement
    for n in [1_000usize, 10_000, 100_000, 1_000_000] {
        // Room in the pool (vm.max_map_count) and in memory (with a margin) for n parked Gs.
        let fits = n < pool && (n as f64) * per_g_kib * 1.2 < mem_kib;
        let max_gs = (n > 10_000).then_some(n + 10);
        let layout = Some(crate::mem::Layout::default_engine());
        let ours = if fits {
            crate::mem::per_g(|k| park_cmd(true, k, max_gs), n, layout)
                .map_err(|e| eprintln!("gmp-bench: {n} parked Gs: {e:#}"))
                .ok()
        } else {
            None
        };
        if let Some((m, ..)) = &ours {
            per_g_kib = m.true_cost().max(1.0);
        }
        let theirs = if opts.with_go { crate::mem::per_g(|k| park_cmd(false, k, None), n, None).ok() } else { None };
        let spawn_ns = |line: &str| field(line, "ns_per_spawn").unwrap_or(f64::NAN);
        live_points.push((
            n,
            ours.as_ref().map(|(m, _, line)| (m.true_cost(), spawn_ns(line))),
            theirs.as_ref().map(|(m, _, line)| (m.true_cost(), spawn_ns(line))),
        ));
        if n < 10_000 {
            continue;
        }
        let not_run = if n >= pool {
            format!("needs vm.max_map_count ≥ {} (pool holds {pool}); not run", map_count_for(n + 10))
        } else if !fits {
            format!(
                "needs ~{:.0} GiB free at {per_g_kib:.0} KiB per G; not run",
                n as f64 * per_g_kib * 1.2 / (1 << 20) as f64
            )
        } else if ours.is_none() {
            "failed (see stderr)".into()
        } else {
            String::new()
        };
        let mut f =
            Figure::new(format!("memory per parked G (Pss + page tables), {n} Gs"), "KiB", "≤ 24", Better::Lower);
        f.ours.extend(ours.as_ref().map(|o| o.0.true_cost()));
        f.go.extend(theirs.as_ref().map(|t| t.0.true_cost()));
        f.note = not_run.clone();
        figs.push(f);
        let mut f = Figure::new(format!("RSS per parked G, {n} Gs"), "KiB", "—", Better::Lower);
        f.ours.extend(ours.as_ref().map(|o| o.0.rss));
        f.go.extend(theirs.as_ref().map(|t| t.0.rss));
        f.note =
            if not_run.is_empty() { "counts a shared copy-on-write page in full in every G".into() } else { not_run };
        figs.push(f);
        // Where it goes, at 10,000 Gs.
        if let (10_000, Some((m, Some(items), _))) = (n, &ours) {
            let rows = [
                ("linear memory (Pss)", items.linear_memory),
                ("fiber stack (Pss)", items.fiber_stacks),
                ("table (Pss)", items.tables),
                ("host heap (Pss)", items.host_heap),
                ("page tables", items.page_tables),
            ];
            for (what, kib) in rows {
                let mut f = Figure::new(format!("… of which {what}, {n} Gs"), "KiB", "—", Better::Lower);
                f.ours.push(kib);
                figs.push(f);
            }
            let mut f = Figure::new(format!("memory mappings per parked G, {n} Gs"), "maps", "—", Better::Lower);
            f.ours.push(m.maps);
            f.note = "what vm.max_map_count limits".into();
            figs.push(f);
        }
    }
    let mut alive = Figure::new("Gs alive at once (parked)", "Gs", "≥ 1,000,000", Better::Higher);
    if let Some(max) = live_points.iter().filter(|p| p.1.is_some()).map(|p| p.0).max() {
        alive.ours.push(max as f64);
        alive.note = format!("largest parked count run here (pool limit {pool} from vm.max_map_count)");
    }
    figs.push(alive);

    // parallel speed-up
    {
        let mut f = Figure::new("speed-up 2 P vs 1 P (16 CPU-bound Gs)", "×", "≥ 1.9", Better::Higher);
        let rounds = if opts.quick { "5000000" } else { "20000000" };
        for _ in 0..opts.reps {
            let one =
                try_output(wasm_gmp(1, "bench_parallel", &["16", rounds]), "parallel").and_then(|s| field(&s, "ms"));
            let two =
                try_output(wasm_gmp(2, "bench_parallel", &["16", rounds]), "parallel").and_then(|s| field(&s, "ms"));
            if let (Some(a), Some(b)) = (one, two) {
                f.ours.push(a / b);
            }
            if opts.with_go {
                let one = try_output(go(1, "parallel", &["16", rounds]), "parallel").and_then(|s| field(&s, "ms"));
                let two = try_output(go(2, "parallel", &["16", rounds]), "parallel").and_then(|s| field(&s, "ms"));
                if let (Some(a), Some(b)) = (one, two) {
                    f.go.push(a / b);
                }
            }
        }
        figs.push(f);
    }

    // preemption
    for (key, target) in [("p50", "—"), ("p99", "≤ 12000")] {
        let mut f =
            Figure::new(format!("1 ms sleeper lateness {key} while a G spins, 1 P"), "µs", target, Better::Lower);
        pair(&mut f, opts, || wasm_gmp(1, "bench_preempt", &["200"]), || go(1, "preempt", &["200"]), key);
        figs.push(f);
    }

    // TCP echo
    for conns in [100usize, 1000] {
        let secs = if opts.quick { 2.0 } else { 5.0 };
        let mut rt =
            Figure::new(format!("TCP echo, {conns} connections, 2 P"), "round trips/s", "≥ 0.7× Go", Better::Higher);
        let mut p99 = Figure::new(format!("TCP echo p99, {conns} connections, 2 P"), "µs", "—", Better::Lower);
        for _ in 0..opts.reps {
            if let Ok((r, _, p)) =
                crate::net::echo_once(Server::start(wasm_gmp(2, "echo", &["127.0.0.1:0"]))?, conns, secs)
            {
                rt.ours.push(r);
                p99.ours.push(p);
            }
            if opts.with_go
                && let Ok((r, _, p)) =
                    crate::net::echo_once(Server::start(go(2, "echo", &["127.0.0.1:0"]))?, conns, secs)
            {
                rt.go.push(r);
                p99.go.push(p);
            }
        }
        figs.push(rt);
        figs.push(p99);
    }

    // epoch checks, per kind of code: the cost is a check at every function entry and loop back-edge
    for (kernel, label, target) in [
        ("sort", "sorting (branchy, many calls)", "≤ 10"),
        ("hash", "hashing a buffer", "≤ 10"),
        ("sieve", "a sieve of Eratosthenes", "≤ 10"),
        ("tight", "a 3-instruction loop", "—"),
    ] {
        let mut f = Figure::new(format!("epoch-check overhead, {label}"), "%", target, Better::Lower);
        let rounds = if opts.quick { "1" } else { "3" };
        for _ in 0..opts.reps {
            let with = try_output(wasm_gmp(1, "bench_cpu", &[rounds, kernel]), "cpu").and_then(|s| field(&s, "ms"));
            let mut c = Command::new(root().join("target/release/wasm-gmp"));
            c.args(["run", "--procs", "1", "--no-preempt"])
                .arg(root().join("target/wasm/wasm32-wasip1/release/bench_cpu.wasm"))
                .args(["--", rounds, kernel])
                .env("GMP_CACHE_DIR", root().join("target/gmp-cache"));
            let without = try_output(c, "cpu --no-preempt").and_then(|s| field(&s, "ms"));
            if let (Some(a), Some(b)) = (with, without) {
                f.ours.push((a / b - 1.0) * 100.0);
            }
        }
        f.go.push(0.0);
        f.note = "Go: no check in loops (async preemption by signal)".into();
        figs.push(f);
    }

    // the embedding API: kill latency, runs per second, isolation (no Go twin)
    figs.extend(crate::embed::figures(opts)?);

    write_results("latest", &figs, Some(&live_points), Some(&floor), go_version.as_deref(), opts)
}

/// One runtime's point of the plot in the JSON, per G.
#[derive(Serialize)]
struct LiveSample {
    kib_per_g: f64,
    spawn_ns: f64,
}

/// A point of the plot in the JSON.
#[derive(Serialize)]
struct LivePoint {
    gs: usize,
    wasm_gmp: Option<LiveSample>,
    go: Option<LiveSample>,
}

/// The JSON of a results file: the table's figures, and the plot's points.
#[derive(Serialize)]
struct Results<'a> {
    machine: &'a str,
    loadavg: &'a str,
    /// Go's version line, empty without Go.
    go: &'a str,
    floor: Option<&'a crate::floor::Floor>,
    figures: &'a [Figure],
    live_gs: Vec<LivePoint>,
}

/// Every fractional number of `v` to three decimals: the JSON stays readable, and no figure here is that
/// precise.
fn round_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(r) = n.as_f64().and_then(|x| serde_json::Number::from_f64((x * 1000.0).round() / 1000.0)) {
                *n = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_numbers),
        Value::Object(fields) => fields.values_mut().for_each(round_numbers),
        _ => {}
    }
}

/// Write `bench/results/{stem}.md` and `{stem}.json` (and `live-gs.svg` when there are live-G points), and
/// print the table.
pub fn write_results(
    stem: &str,
    figs: &[Figure],
    live: Option<&[crate::plot::Point]>,
    floor: Option<&crate::floor::Floor>,
    go_version: Option<&str>,
    opts: &Opts,
) -> anyhow::Result<()> {
    let dir = root().join("bench/results");
    std::fs::create_dir_all(&dir)?;
    let machine = machine();
    let mut md = String::new();
    let _ = writeln!(md, "# wasm-gmp benchmarks\n");
    let _ = writeln!(md, "- machine: {machine}");
    let _ = writeln!(md, "- Go: {}", go_version.unwrap_or("not available (no Go column)"));
    // Other processes' load skews every figure on a shared machine: say how busy it was.
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let loadavg = loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let _ = writeln!(md, "- load average (1, 5, 15 min) when the table was written: {loadavg}");
    if let Some(floor) = floor {
        let _ = writeln!(
            md,
            "- engine floor: instantiate + call + drop {:.0} ns; one async host call that suspends and resumes {:.0} ns",
            floor.instantiate_call_drop_ns, floor.suspend_resume_ns
        );
    }
    let _ = writeln!(
        md,
        "- each cell: median (min–max) of {} runs, wasm-gmp and Go alternating (unless the note says otherwise)\n",
        opts.reps
    );
    let _ = writeln!(md, "| figure | unit | wasm-gmp | Go | ratio | engine floor | target | note |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for f in figs {
        let (o, g) = (median(f.ours.clone()), median(f.go.clone()));
        let ratio =
            if f.ours.is_empty() || f.go.is_empty() || g == 0.0 { "–".into() } else { format!("{:.2}", o / g) };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            f.name,
            f.unit,
            cell(&f.ours),
            cell(&f.go),
            ratio,
            f.floor.map_or("–".into(), fmt_num),
            f.target,
            f.note
        );
    }
    let live = live.unwrap_or_default();
    let sample = |v: &Option<(f64, f64)>| v.map(|(kib_per_g, spawn_ns)| LiveSample { kib_per_g, spawn_ns });
    let mut json = serde_json::to_value(Results {
        machine: &machine,
        loadavg: &loadavg,
        go: go_version.unwrap_or(""),
        floor,
        figures: figs,
        live_gs: live.iter().map(|(n, o, g)| LivePoint { gs: *n, wasm_gmp: sample(o), go: sample(g) }).collect(),
    })?;
    round_numbers(&mut json);
    let json = serde_json::to_string_pretty(&json)? + "\n";
    if !live.is_empty() {
        let _ = writeln!(md, "\n![spawn cost and memory per G against live Gs](live-gs.svg)");
        std::fs::write(dir.join("live-gs.svg"), crate::plot::svg(live))?;
    }
    std::fs::write(dir.join(format!("{stem}.md")), &md)?;
    std::fs::write(dir.join(format!("{stem}.json")), &json)?;
    println!("{md}");
    println!("written: bench/results/{stem}.md, {stem}.json{}", if live.is_empty() { "" } else { ", live-gs.svg" });
    Ok(())
}
