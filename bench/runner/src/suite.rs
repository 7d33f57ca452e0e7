//! The benchmark suite: every figure of the performance issue, wasm-gmp, Go and Lunatic run alternately in
//! one session, written as a table (markdown), JSON, and an SVG plot of spawn cost and memory per G against
//! the number of live Gs.
//!
//! Each figure runs `reps` times per side, alternating wasm-gmp and its twins (Go's in `bench/go`, and for
//! spawn, ping-pong and parked memory Lunatic's in `bench/lunatic`) so that all see the same machine state;
//! the table shows the median and the min–max range. Per-operation figures come from the programs' own
//! clocks (they time only the operation, not start-up); memory per G is the difference between a process
//! with N parked Gs and one with a single G, divided by N − 1, as the kernel pays it (Pss plus page tables)
//! and as RSS; wasm-gmp's is also itemized (`mem.rs`). The embedding figures (`embed.rs`) run last, in this
//! process, with no twin.
//!
//! A twin runtime that is missing (Go not on PATH, Lunatic not installable here) only loses its column:
//! `go.rs` and `lunatic.rs` say why.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::Command;

use serde::Serialize;

use crate::plot::{Point, Sample};
use crate::procs::{Server, field, go, median, output, root, wasm_gmp, wasm_gmp_with};

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
    pub lunatic: Vec<f64>,
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
            lunatic: Vec::new(),
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
    pub with_lunatic: bool,
    pub quick: bool,
}

/// The twin runtimes of a run: each one's version line, None when it is not part of the run.
#[derive(Default)]
pub struct Peers {
    pub go: Option<String>,
    pub lunatic: Option<String>,
}

impl Peers {
    /// Find (Lunatic: install) the runtimes `opts` asks for and build their twins (`go_twins` for Go); the
    /// options of the run are then `opts` less the runtimes that could not be had.
    pub fn ready(opts: &Opts, go_twins: &[&str]) -> (Peers, Opts) {
        let peers = Peers {
            go: if opts.with_go { crate::go::ready(go_twins) } else { None },
            lunatic: if opts.with_lunatic { crate::lunatic::ready() } else { None },
        };
        let opts = Opts { with_go: peers.go.is_some(), with_lunatic: peers.lunatic.is_some(), ..*opts };
        (peers, opts)
    }
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

/// Alternate wasm-gmp, Go and (when it has a twin) Lunatic `reps` times, collecting `key` from each output.
fn alternate(
    fig: &mut Figure,
    opts: &Opts,
    key: &str,
    ours: &dyn Fn() -> Command,
    go: &dyn Fn() -> Command,
    lunatic: Option<&dyn Fn() -> Command>,
) {
    let run = |cmd: Command| try_output(cmd, &fig.name).and_then(|s| field(&s, key));
    for _ in 0..opts.reps {
        let ours = run(ours());
        let go = if opts.with_go { run(go()) } else { None };
        let lunatic = if opts.with_lunatic { lunatic.and_then(|l| run(l())) } else { None };
        fig.ours.extend(ours);
        fig.go.extend(go);
        fig.lunatic.extend(lunatic);
    }
}

/// Alternate wasm-gmp and Go `reps` times, collecting `key` from each output.
fn pair(fig: &mut Figure, opts: &Opts, ours: impl Fn() -> Command, theirs: impl Fn() -> Command, key: &str) {
    alternate(fig, opts, key, &ours, &theirs, None);
}

/// `wasm-gmp run` flags for a program of `gs` Gs: a pool that holds them (the default one stops at
/// [`wasm_gmp::DEFAULT_MAX_GS`]) and [`limits_for`] them.
pub(crate) fn room_for(gs: usize) -> Vec<String> {
    let mut flags = limits_for(gs);
    if gs > wasm_gmp::DEFAULT_MAX_GS {
        flags.extend(["--max-gs".to_string(), gs.to_string()]);
    }
    flags
}

/// `wasm-gmp run` flags past the default limits for `gs` Gs, which bound what the Gs could use (each G's
/// whole linear memory, 128 KiB for the bench guests, and a handle each), not what parked Gs hold: 100,000
/// Gs would end at the total memory limit of a 24 GiB machine.
fn limits_for(gs: usize) -> Vec<String> {
    if gs <= 10_000 {
        return Vec::new();
    }
    ["--max-memory-total", &(gs / 8 + 1024).to_string(), "--max-handles", &(2 * gs + 1000).to_string()]
        .map(String::from)
        .to_vec()
}

/// A program parking Gs (or goroutines): its protocol is `bench_park`'s.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parker {
    /// Go's twin.
    Go,
    /// `bench_park`: a Rust G from the guest SDK.
    Rust,
    /// `bench/guests/park_min.wat`: a G with no data, no table and untouched memory, so what the runtime
    /// itself pays per G.
    Smallest,
}

/// The command parking `k` Gs with `parker` (with a pool of `max_gs` when given).
pub(crate) fn park_cmd(parker: Parker, k: usize, max_gs: Option<usize>, cow_images: &str) -> Command {
    park_cmd_with(parker, k, max_gs, &["--cow-images", cow_images])
}

/// [`park_cmd`] with any `wasm-gmp run` flags.
pub(crate) fn park_cmd_with(parker: Parker, k: usize, max_gs: Option<usize>, flags: &[&str]) -> Command {
    let guest = match parker {
        Parker::Go => return go(2, "park", &[&k.to_string()]),
        Parker::Rust => root().join("target/wasm/wasm32-wasip1/release/bench_park.wasm"),
        Parker::Smallest => root().join("bench/guests/park_min.wat"),
    };
    let mut c = Command::new(root().join("target/release/wasm-gmp"));
    c.args(["run", "--procs", "2"]).args(flags);
    if let Some(m) = max_gs {
        c.args(["--max-gs", &m.to_string()]).args(limits_for(m.max(10_001)));
    }
    c.arg(guest).args(["--", &k.to_string()]).env("GMP_CACHE_DIR", root().join("target/gmp-cache"));
    c
}

/// What `vm.max_map_count` must be for a pool of `n` Gs without copy-on-write images.
fn map_count_for(n: usize) -> usize {
    wasm_gmp::map_count_for(n, false)
}

/// Memory per G at `n` parked Gs of the park program `cmd(k)` (itemized by `layout` when given), and the
/// spawn cost it printed; None (with the reason printed) when it failed.
fn parked(
    what: &str,
    n: usize,
    cmd: impl Fn(usize) -> Command,
    layout: Option<crate::mem::Layout>,
) -> Option<(Sample, Option<crate::mem::Items>)> {
    let measured = crate::mem::per_g(cmd, n, layout).and_then(|(m, items, line)| {
        let spawn_ns = field(&line, "ns_per_spawn").ok_or_else(|| anyhow::anyhow!("park said {line:?}"))?;
        let sample = Sample {
            parked: n,
            kib_per_g: m.true_cost(),
            pss_kib_per_g: m.pss,
            page_tables_kib_per_g: m.page_tables,
            rss_kib_per_g: m.rss,
            maps_per_g: m.maps,
            spawn_ns,
        };
        Ok((sample, items))
    });
    measured.map_err(|e| eprintln!("gmp-bench: {what}, {n} parked: {e:#}")).ok()
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

/// The Go twins the whole suite runs.
const GO_TWINS: [&str; 9] =
    ["spawn", "pingpong", "chan_throughput", "sieve", "park", "parallel", "preempt", "echo", "timers"];

/// The places wasm-gmp's pool may hold (with `--max-gs`) under this machine's `vm.max_map_count` (without
/// copy-on-write images, as the default engine there unless the map count is raised far enough that they
/// cost no place).
fn pool() -> usize {
    wasm_gmp::max_gs_for_map_count(wasm_gmp::max_map_count().unwrap_or(65_530), false)
}

/// spawn+exit per G: at 1 and 2 P with no other G, then at 1 P with each of `alive` Gs parked meanwhile.
fn spawn_figures(opts: &Opts, floor: &crate::floor::Floor, alive: &[usize]) -> Vec<Figure> {
    let n_spawn = if opts.quick { "20000" } else { "100000" };
    let rows = [(1, 0, "≤ 5000"), (2, 0, "< the 1 P figure")].into_iter().chain(alive.iter().map(|&a| (1, a, "—")));
    let mut figs = Vec::new();
    for (procs, alive, target) in rows {
        let name = if alive == 0 {
            format!("spawn+exit, {procs} P")
        } else {
            format!("spawn+exit, {procs} P, {alive} Gs alive")
        };
        let mut f = Figure::new(name, "ns", target, Better::Lower);
        f.floor = Some(floor.instantiate_call_drop_ns);
        let pool = pool();
        // The spawned Gs exit at once; only the parked ones (plus a burst) hold pool places.
        if alive + 2_000 > pool {
            f.note = format!("needs vm.max_map_count ≥ {} (pool holds {pool}); not run", map_count_for(alive + 2_000));
        } else {
            let a = alive.to_string();
            let lunatic: &dyn Fn() -> Command = &|| crate::lunatic::command(procs, "spawn", &[n_spawn, &a]);
            let lunatic_fits = alive <= crate::lunatic::max_processes();
            if opts.with_lunatic && !lunatic_fits {
                f.note = crate::lunatic::limit_note(None);
            }
            alternate(
                &mut f,
                opts,
                "ns_per_op",
                &|| wasm_gmp_with(procs, &room_for(alive + 2_000), "bench_spawn", &[n_spawn, &a]),
                &|| go(procs, "spawn", &[n_spawn, &a]),
                lunatic_fits.then_some(lunatic),
            );
        }
        figs.push(f);
    }
    figs
}

/// Unbuffered ping-pong round trip at 1 and 2 P.
fn pingpong_figures(opts: &Opts, floor: &crate::floor::Floor) -> Vec<Figure> {
    let mut figs = Vec::new();
    for (procs, target) in [(1, "≤ 500"), (2, "—")] {
        let mut f = Figure::new(format!("ping-pong round trip, {procs} P"), "ns", target, Better::Lower);
        f.floor = Some(2.0 * floor.suspend_resume_ns);
        f.note = "floor: two fiber suspend/resume".into();
        let n = if opts.quick { "200000" } else { "1000000" };
        alternate(
            &mut f,
            opts,
            "ns_per_op",
            &|| wasm_gmp(procs, "bench_pingpong", &[n]),
            &|| go(procs, "pingpong", &[n]),
            Some(&|| crate::lunatic::command(procs, "pingpong", &[n])),
        );
        figs.push(f);
    }
    figs
}

/// Memory per parked G at each of `ns` Gs, and the plot's points. From 10,000 Gs on, rows of what the kernel
/// pays and of RSS; at 10,000 Gs also wasm-gmp's itemization and the mappings per G.
fn parked_figures(opts: &Opts, ns: &[usize]) -> (Vec<Figure>, Vec<Point>) {
    let (mut figs, mut points) = (Vec::new(), Vec::new());
    let pool = pool();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemAvailable:").map(|v| v.trim().trim_end_matches("kB").trim().to_string())
            })
        })
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    // Pessimistic first guesses, replaced by each measurement.
    let (mut per_g_kib, mut smallest_per_g_kib) = (64.0, 32.0);
    for &n in ns {
        let room = room_for_parked(n, pool, per_g_kib, mem_kib);
        let fits = room.is_ok();
        let max_gs = (n > 10_000).then_some(n + 10);
        let layout = Some(crate::mem::Layout::default_engine());
        let (ours, items) = if fits {
            parked("wasm-gmp", n, |k| park_cmd(Parker::Rust, k, max_gs, "auto"), layout).unzip()
        } else {
            (None, None)
        };
        // The same with copy-on-write images, where the map count holds them (one module here, so 4 per slot).
        let cow_fits = fits && wasm_gmp::map_count_for(n + 10, true) <= wasm_gmp::max_map_count().unwrap_or(65_530);
        let cow = if cow_fits && n >= 10_000 {
            parked("wasm-gmp, --cow-images on", n, |k| park_cmd(Parker::Rust, k, Some(n + 10), "on"), layout)
        } else {
            None
        };
        if let Some(s) = ours {
            per_g_kib = s.kib_per_g.max(1.0);
        }
        // The smallest guest, from 10,000 Gs: the runtime's own cost per G, and the count it reaches.
        let smallest_room = room_for_parked(n, pool, smallest_per_g_kib, mem_kib);
        let smallest = if n >= 10_000 && smallest_room.is_ok() {
            parked("wasm-gmp, smallest guest", n, |k| park_cmd(Parker::Smallest, k, max_gs, "auto"), layout)
        } else {
            None
        };
        if let Some((s, _)) = &smallest {
            smallest_per_g_kib = s.kib_per_g.max(1.0);
        }
        let go = if opts.with_go {
            parked("Go", n, |k| park_cmd(Parker::Go, k, None, "auto"), None).map(|p| p.0)
        } else {
            None
        };
        let lunatic_n = crate::lunatic::parked_count(n);
        let lunatic = match lunatic_n {
            Some(k) if opts.with_lunatic => {
                parked("Lunatic", k, |k| crate::lunatic::command(2, "park", &[&k.to_string()]), None).map(|p| p.0)
            }
            _ => None,
        };
        points.push(Point { gs: n, wasm_gmp: ours, smallest: smallest.map(|s| s.0), go, lunatic });
        if n < 10_000 {
            continue;
        }
        let mut notes = Vec::new();
        match room {
            Err(why) => notes.push(why),
            Ok(()) if ours.is_none() => notes.push("failed (see stderr)".into()),
            Ok(()) => {}
        }
        if opts.with_lunatic && lunatic_n != Some(n) {
            notes.push(crate::lunatic::limit_note(lunatic_n));
        }
        let row = |name: String, target: &str, pick: fn(&Sample) -> f64, note: String| {
            let mut f = Figure::new(name, "KiB", target, Better::Lower);
            f.ours.extend(ours.as_ref().map(pick));
            f.go.extend(go.as_ref().map(pick));
            f.lunatic.extend(lunatic.as_ref().map(pick));
            f.note = note;
            f
        };
        let not_run = notes.join("; ");
        let rss_note = if not_run.is_empty() {
            "counts a shared copy-on-write page in full in every G".into()
        } else {
            not_run.clone()
        };
        figs.push(row(format!("memory per parked G (Pss + page tables), {n} Gs"), "≤ 24", |s| s.kib_per_g, not_run));
        if let Some((c, citems)) = &cow {
            let mut f = Figure::new(
                format!("memory per parked G (Pss + page tables), {n} Gs, --cow-images on"),
                "KiB",
                "≤ 24",
                Better::Lower,
            );
            f.ours.push(c.kib_per_g);
            f.note = match citems {
                Some(i) => format!(
                    "{}; {:.2} maps per G (on by itself for this pool of {} where vm.max_map_count ≥ {})",
                    itemized(i),
                    c.maps_per_g,
                    n + 10,
                    wasm_gmp::map_count_for(n + 10, true)
                ),
                None => String::new(),
            };
            figs.push(f);
        }
        figs.push(row(format!("RSS per parked G, {n} Gs"), "—", |s| s.rss_kib_per_g, rss_note));
        let mut f = Figure::new(
            format!("memory per parked G (Pss + page tables), {n} Gs, smallest guest"),
            "KiB",
            "—",
            Better::Lower,
        );
        f.note = match (&smallest, smallest_room) {
            (Some((m, items)), _) => {
                f.ours.push(m.kib_per_g);
                let items = items.as_ref().map_or(String::new(), |i| format!(": {}", itemized(i)));
                format!("park_min.wat: no data, no table, memory untouched, so what the runtime pays per G{items}")
            }
            (None, Err(why)) => why,
            (None, Ok(())) => "failed (see stderr)".into(),
        };
        figs.push(f);
        // Where it goes, at 10,000 Gs.
        if let (10_000, Some(items)) = (n, items.flatten()) {
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
        }
        if n == 10_000 {
            let mut f = Figure::new(format!("memory mappings per parked G, {n} Gs"), "maps", "—", Better::Lower);
            f.ours.extend(ours.map(|s| s.maps_per_g));
            f.go.extend(go.map(|s| s.maps_per_g));
            f.lunatic.extend(lunatic.map(|s| s.maps_per_g));
            f.note = "what vm.max_map_count limits".into();
            figs.push(f);
        }
    }
    (figs, points)
}

/// Room in the pool (vm.max_map_count) and in memory (with a margin) for `n` parked Gs of `per_g_kib` each,
/// or why not, as the table's note says it.
fn room_for_parked(n: usize, pool: usize, per_g_kib: f64, mem_kib: f64) -> Result<(), String> {
    if n >= pool {
        return Err(format!("needs vm.max_map_count ≥ {} (pool holds {pool}); not run", map_count_for(n + 10)));
    }
    let need = n as f64 * per_g_kib * 1.2;
    if need >= mem_kib {
        return Err(format!("needs ~{:.0} GiB free at {per_g_kib:.0} KiB per G; not run", need / (1 << 20) as f64));
    }
    Ok(())
}

/// A wasm-gmp process's memory per G by what it is for, as the table's notes say it.
fn itemized(i: &crate::mem::Items) -> String {
    format!(
        "linear memory {:.1}, fiber stack {:.1}, table {:.1}, host heap {:.1}, page tables {:.1}",
        shown(i.linear_memory),
        shown(i.fiber_stacks),
        shown(i.tables),
        shown(i.host_heap),
        shown(i.page_tables)
    )
}

/// An item of the memory itemization as the table shows it: a difference of two processes' figures, so
/// what no G holds comes out as noise around zero (-0.0 in print); none is negative in truth.
fn shown(kib: f64) -> f64 {
    if kib > 0.0 { kib } else { 0.0 }
}

/// Run everything and write `bench/results/`.
pub fn run(opts: &Opts) -> anyhow::Result<()> {
    let (peers, opts) = Peers::ready(opts, &GO_TWINS);
    let opts = &opts;
    let mut figs: Vec<Figure> = Vec::new();

    let floor = crate::floor::measure(&root().join("target/wasm/wasm32-wasip1/release/bench_floor.wasm"), 20_000)?;

    figs.extend(spawn_figures(opts, &floor, &[1_000, 100_000]));
    figs.extend(pingpong_figures(opts, &floor));

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

    // memory per parked G, and the plot's data
    let (mem_figs, live_points) = parked_figures(opts, &[1_000, 10_000, 100_000, 1_000_000]);
    figs.extend(mem_figs);
    let mut alive = Figure::new("Gs alive at once (parked)", "Gs", "≥ 1,000,000", Better::Higher);
    let most = |of: fn(&Point) -> bool| live_points.iter().filter(|p| of(p)).map(|p| p.gs).max().unwrap_or(0);
    let (rust, smallest) = (most(|p| p.wasm_gmp.is_some()), most(|p| p.smallest.is_some()));
    if rust.max(smallest) > 0 {
        alive.ours.push(rust.max(smallest) as f64);
        alive.note = format!(
            "largest parked count run here: {smallest} of the smallest guest, {rust} of bench_park (Rust); \
             the pool may hold {} under vm.max_map_count (with --max-gs)",
            pool()
        );
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

    write_results("latest", &figs, Some(&live_points), Some(&floor), &peers, opts)
}

/// Only the figures with a Lunatic twin, for all three runtimes: spawn+exit (at 1 and 2 P, and with 1,000
/// Gs alive), ping-pong (1 and 2 P), memory per parked G (1,000 and 10,000 Gs); writes
/// `bench/results/peers.{md,json}` and `peers-live-gs.svg`. `all` measures the same and more.
pub fn peers(opts: &Opts) -> anyhow::Result<()> {
    let (peers, opts) = Peers::ready(opts, &["spawn", "pingpong", "park"]);
    let opts = &opts;
    let floor = crate::floor::measure(&root().join("target/wasm/wasm32-wasip1/release/bench_floor.wasm"), 20_000)?;
    let mut figs = spawn_figures(opts, &floor, &[1_000]);
    figs.extend(pingpong_figures(opts, &floor));
    let (mem_figs, live_points) = parked_figures(opts, &[1_000, 10_000]);
    figs.extend(mem_figs);
    write_results("peers", &figs, Some(&live_points), Some(&floor), &peers, opts)
}

/// The JSON of a results file: the table's figures, and the plot's points.
#[derive(Serialize)]
struct Results<'a> {
    machine: &'a str,
    loadavg: &'a str,
    /// Go's version line, empty without Go.
    go: &'a str,
    /// Lunatic's version line, empty without Lunatic.
    lunatic: &'a str,
    floor: Option<&'a crate::floor::Floor>,
    figures: &'a [Figure],
    live_gs: &'a [Point],
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

/// Write `bench/results/{stem}.md` and `{stem}.json` (and a plot, `live-gs.svg` for the suite and
/// `{stem}-live-gs.svg` for others, when there are live-G points), and print the table.
/// The machine line and each figure's wasm-gmp median of `bench/results/baseline.json`, if there is one.
fn previous_baseline(dir: &std::path::Path) -> Option<(String, HashMap<String, f64>)> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("baseline.json")).ok()?).ok()?;
    let figures = json.get("figures")?.as_array()?;
    let medians = figures
        .iter()
        .filter_map(|f| {
            let ours: Vec<f64> = f.get("wasm_gmp")?.as_array()?.iter().filter_map(|v| v.as_f64()).collect();
            let name = f.get("name")?.as_str()?.to_string();
            (!ours.is_empty()).then(|| (name, median(ours)))
        })
        .collect();
    Some((json.get("machine")?.as_str().unwrap_or("unknown").to_string(), medians))
}

pub fn write_results(
    stem: &str,
    figs: &[Figure],
    live: Option<&[Point]>,
    floor: Option<&crate::floor::Floor>,
    peers: &Peers,
    opts: &Opts,
) -> anyhow::Result<()> {
    let dir = root().join("bench/results");
    std::fs::create_dir_all(&dir)?;
    let machine = machine();
    let mut md = String::new();
    let _ = writeln!(md, "# wasm-gmp benchmarks\n");
    let _ = writeln!(md, "- machine: {machine}");
    let _ = writeln!(md, "- Go: {}", peers.go.as_deref().unwrap_or("not available (no Go column)"));
    let _ = writeln!(
        md,
        "- Lunatic: {}",
        peers.lunatic.as_deref().map_or("not available (no Lunatic column)".into(), |v| format!(
            "{v} (its P: `TOKIO_WORKER_THREADS`, the tokio workers that run its processes)"
        ))
    );
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
        "- each cell: median (min–max) of {} runs, wasm-gmp, Go and Lunatic alternating (unless the note says \
         otherwise); ratio: wasm-gmp / Go\n",
        opts.reps
    );
    // The committed baseline's wasm-gmp medians, so a change shows next to what it changed.
    let previous = previous_baseline(&dir);
    if let Some((machine, _)) = &previous {
        let _ =
            writeln!(md, "- previous baseline: `bench/results/baseline.json` (wasm-gmp medians; machine: {machine})\n");
    }
    let _ = writeln!(
        md,
        "| figure | unit | wasm-gmp | previous baseline | Go | Lunatic | ratio | engine floor | target | note |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for f in figs {
        let before = previous.as_ref().and_then(|(_, p)| p.get(&f.name)).map_or("–".into(), |&v| fmt_num(v));
        let (o, g) = (median(f.ours.clone()), median(f.go.clone()));
        // A Go figure at or below zero is a difference of two processes' figures that came out as noise
        // (Go's mappings per goroutine): no ratio to it means anything.
        let ratio = if f.ours.is_empty() || f.go.is_empty() || g <= 0.0 || g.is_nan() {
            "–".into()
        } else {
            format!("{:.2}", o / g)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f.name,
            f.unit,
            cell(&f.ours),
            before,
            cell(&f.go),
            cell(&f.lunatic),
            ratio,
            f.floor.map_or("–".into(), fmt_num),
            f.target,
            f.note
        );
    }
    let live = live.unwrap_or_default();
    let mut json = serde_json::to_value(Results {
        machine: &machine,
        loadavg: &loadavg,
        go: peers.go.as_deref().unwrap_or(""),
        lunatic: peers.lunatic.as_deref().unwrap_or(""),
        floor,
        figures: figs,
        live_gs: live,
    })?;
    round_numbers(&mut json);
    let json = serde_json::to_string_pretty(&json)? + "\n";
    let svg = if stem == "latest" { "live-gs.svg".to_string() } else { format!("{stem}-live-gs.svg") };
    if !live.is_empty() {
        let _ = writeln!(md, "\n![spawn cost and memory per G against live Gs]({svg})");
        std::fs::write(dir.join(&svg), crate::plot::svg(live))?;
    }
    std::fs::write(dir.join(format!("{stem}.md")), &md)?;
    std::fs::write(dir.join(format!("{stem}.json")), &json)?;
    println!("{md}");
    println!(
        "written: bench/results/{stem}.md, {stem}.json{}",
        if live.is_empty() { String::new() } else { format!(", {svg}") }
    );
    Ok(())
}
