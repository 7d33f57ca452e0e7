//! `gmp-bench`: the benchmark runner of wasm-gmp and its load generators.
//!
//! - `gmp-bench all [--reps N] [--quick] [--no-go] [--no-lunatic]`: the whole suite (see `suite.rs`); writes
//!   `bench/results/latest.{md,json}` and `live-gs.svg`. `bench/run` builds everything and calls it. Go is
//!   the `go` on PATH (`go.rs`); Lunatic is installed into `target/lunatic` when missing (`lunatic.rs`).
//! - `gmp-bench peers [--reps N] [--quick] [--no-go] [--no-lunatic]`: only the figures with a Lunatic twin
//!   (spawn+exit, ping-pong, memory per parked G) for wasm-gmp, Go and Lunatic; writes
//!   `bench/results/peers.{md,json}` and `peers-live-gs.svg`.
//! - `gmp-bench embed [--reps N] [--quick]`: only the embedding figures (see `embed.rs`: kill latency, runs
//!   per second against the engine's floor, isolation of two programs on one runtime), in this process;
//!   writes `bench/results/embed.{md,json}`. Needs the guests in `target/wasm` (`bench_sleepers`).
//! - `gmp-bench dump [--reps N]`: only the goroutine dump figure (`embed.rs`, figure 5); writes
//!   `bench/results/dump.{md,json}`. Needs `bench_park` in `target/wasm`.
//! - `gmp-bench heap [--gs N]`: host heap bytes per bare wasmtime store and per parked wasm-gmp G.
//! - `gmp-bench mem [--gs N] [--cow-images auto|on|off] [--max-memory MIB] [--guest rust|smallest]`: memory
//!   per parked G as the kernel pays it (Pss + page tables), itemized (`mem.rs`), from `wasm-gmp run` of
//!   `bench_park` (a Rust G) or of `bench/guests/park_min.wat` (the smallest G: the runtime's own cost).
//! - `gmp-bench floor`: the engine's own costs under wasm-gmp's configuration (see `floor.rs`).
//! - `gmp-bench net [--procs N] [--reps N] [--secs S] [--no-go]`: the echo example against Go's echo at 100
//!   and 1,000 connections, and timer wake-up lateness against Go's, run alternately. Needs release builds:
//!   `cargo build --release -p wasm-gmp -p gmp-bench` and the guests in `target/wasm` (`bench/run` does
//!   all of it).
//! - `gmp-bench echo ADDR [CONNS] [SECS] [SIZE]`: drive any echo server and print round trips per second
//!   and latency percentiles.

mod echo_load;
mod embed;
mod floor;
mod go;
mod heap;
mod lunatic;
mod mem;
mod net;
mod plot;
mod procs;
mod suite;

use std::time::Duration;

#[global_allocator]
static ALLOC: heap::Counting = heap::Counting;

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T> {
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).ok_or_else(|| anyhow::anyhow!("{name} needs a value")),
        None => Ok(default),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("echo") => {
            let usage = "usage: gmp-bench echo ADDR [CONNS] [SECS] [SIZE]";
            let addr = args.get(1).ok_or_else(|| anyhow::anyhow!(usage))?;
            let conns = args.get(2).map_or(Ok(100), |s| s.parse())?;
            let secs: f64 = args.get(3).map_or(Ok(5.0), |s| s.parse())?;
            let size = args.get(4).map_or(Ok(64), |s| s.parse())?;
            let r = echo_load::run(addr.parse()?, conns, size, Duration::from_secs(1), Duration::from_secs_f64(secs))?;
            println!(
                "echo conns={} round_trips_per_sec={:.0} p50_us={:.1} p99_us={:.1}",
                r.conns,
                r.per_sec(),
                r.percentile_us(0.50),
                r.percentile_us(0.99)
            );
            Ok(())
        }
        Some(cmd @ ("all" | "peers")) => {
            let opts = suite::Opts {
                reps: flag(&args, "--reps", 3)?,
                with_go: !args.iter().any(|a| a == "--no-go"),
                with_lunatic: !args.iter().any(|a| a == "--no-lunatic"),
                quick: args.iter().any(|a| a == "--quick"),
            };
            if cmd == "all" { suite::run(&opts) } else { suite::peers(&opts) }
        }
        Some("embed") => {
            let opts = suite::Opts {
                reps: flag(&args, "--reps", 3)?,
                with_go: false,
                with_lunatic: false,
                quick: args.iter().any(|a| a == "--quick"),
            };
            let figs = embed::figures(&opts)?;
            suite::write_results("embed", &figs, None, None, &suite::Peers::default(), &opts)
        }
        Some("dump") => {
            let opts =
                suite::Opts { reps: flag(&args, "--reps", 5)?, with_go: false, with_lunatic: false, quick: false };
            let figs = embed::dump_figures(&opts)?;
            suite::write_results("dump", &figs, None, None, &suite::Peers::default(), &opts)
        }
        Some("heap") => heap::measure(flag(&args, "--gs", 5000)?),
        Some("mem") => {
            let n = flag(&args, "--gs", 10_000)?;
            let cow = args.iter().position(|a| a == "--cow-images").and_then(|i| args.get(i + 1));
            let cow = cow.map_or("auto", |s| s.as_str());
            let max_memory = flag(&args, "--max-memory", 64)?;
            let parker = match args.iter().position(|a| a == "--guest").and_then(|i| args.get(i + 1)) {
                None => suite::Parker::Rust,
                Some(g) if g == "rust" => suite::Parker::Rust,
                Some(g) if g == "smallest" => suite::Parker::Smallest,
                Some(g) => anyhow::bail!("--guest {g}: rust or smallest"),
            };
            let max_gs = (n > 10_000 || cow == "on").then_some(n + 10);
            let flags = ["--cow-images", cow, "--max-memory", &max_memory.to_string()];
            let layout = mem::Layout::with_max_memory(max_memory as u64 * (1 << 20));
            let (m, items, line) = mem::per_g(|k| suite::park_cmd_with(parker, k, max_gs, &flags), n, Some(layout))?;
            let items = items.unwrap_or_default();
            println!("{}", line.trim());
            println!(
                "per parked G at {n} Gs, KiB: pss+pte={:.2} (pss={:.2} pte={:.2}) rss={:.2} maps={:.2}",
                m.true_cost(),
                m.pss,
                m.page_tables,
                m.rss,
                m.maps
            );
            println!(
                "  linear_memory={:.2} fiber_stack={:.2} table={:.2} host_heap={:.2} binary={:.2} page_tables={:.2}",
                items.linear_memory, items.fiber_stacks, items.tables, items.host_heap, items.binary, items.page_tables
            );
            Ok(())
        }
        Some("floor") => {
            let f = floor::measure(&procs::root().join("target/wasm/wasm32-wasip1/release/bench_floor.wasm"), 20_000)?;
            println!(
                "instantiate_call_drop_ns={:.0} suspend_resume_ns={:.0}",
                f.instantiate_call_drop_ns, f.suspend_resume_ns
            );
            Ok(())
        }
        Some("net") => {
            let with_go = !args.iter().any(|a| a == "--no-go") && go::ready(&["echo", "timers"]).is_some();
            net::run(flag(&args, "--procs", 2)?, flag(&args, "--reps", 3)?, flag(&args, "--secs", 5.0)?, with_go)
        }
        _ => anyhow::bail!(
            "usage: gmp-bench (all [--reps N] [--quick] [--no-go] [--no-lunatic] | \
             peers [--reps N] [--quick] [--no-go] [--no-lunatic] | embed [--reps N] [--quick] | dump [--reps N] | \
             heap [--gs N] | mem [--gs N] [--cow-images WHEN] [--max-memory MIB] [--guest rust|smallest] | floor | net [--procs N] [--reps N] [--secs S] [--no-go] | \
             echo ADDR [CONNS] [SECS] [SIZE])"
        ),
    }
}
