//! The Lunatic twins of three benchmark programs (`bench/lunatic/`: spawn, ping-pong, park), run by the
//! Lunatic runtime next to ours and Go's.
//!
//! Lunatic is the nearest peer of wasm-gmp: Rust guests compiled to wasm, each process an instance of its
//! own, scheduled by a host runtime (tokio's multi-threaded executor, one process one task, wasmtime's
//! async fibers). It is found at `target/lunatic/bin/lunatic`; when missing, the runner installs
//! `lunatic-runtime` [`VERSION`] there with `cargo install --root target/lunatic`, building in
//! `target/lunatic/build` (it pulls wasmtime 8 and takes a while, once). Nothing is written outside the
//! project but cargo's own download cache. When the install or the twins' build fails the runner says why
//! and the table has no Lunatic column.
//!
//! Lunatic's processes run on tokio's worker threads, one per core unless `TOKIO_WORKER_THREADS` says
//! otherwise: that variable is its `GOMAXPROCS`, so the 1 P and 2 P figures give it 1 and 2 workers.

use std::path::PathBuf;
use std::process::Command;

use crate::procs::root;

/// The Lunatic runtime measured: the last release (2023) that the lunatic crate 0.14.1 of the twins speaks to.
pub const VERSION: &str = "0.13.2";

/// The runtime's binary, under the project's target directory.
fn binary() -> PathBuf {
    root().join("target/lunatic/bin/lunatic")
}

/// Where a twin's wasm ends up (built by [`build`]).
fn twin(name: &str) -> PathBuf {
    root().join(format!("target/lunatic-twins/wasm32-wasip1/release/{name}.wasm"))
}

/// Install `lunatic-runtime` [`VERSION`] into `target/lunatic`: with `--locked` first (the versions it was
/// released with), then without (newer dependencies, for a toolchain the locked ones no longer build on).
fn install() -> anyhow::Result<()> {
    let root = root();
    for locked in [true, false] {
        eprintln!(
            "gmp-bench: installing lunatic-runtime {VERSION} into target/lunatic{} (once; this takes a while)",
            if locked { "" } else { ", without --locked" }
        );
        let mut cmd = Command::new("cargo");
        cmd.args(["install", "lunatic-runtime", "--version", VERSION, "--root"])
            .arg(root.join("target/lunatic"))
            .arg("--target-dir")
            .arg(root.join("target/lunatic/build"));
        if locked {
            cmd.arg("--locked");
        }
        if cmd.status()?.success() {
            return Ok(());
        }
    }
    anyhow::bail!("`cargo install lunatic-runtime --version {VERSION}` failed (see its output above)")
}

/// Build the twins in `bench/lunatic` for wasm32-wasip1 into `target/lunatic-twins`.
fn build() -> anyhow::Result<()> {
    let root = root();
    let st = Command::new("cargo")
        .args(["build", "--release", "--target", "wasm32-wasip1", "--manifest-path"])
        .arg(root.join("bench/lunatic/Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target/lunatic-twins"))
        .status()?;
    anyhow::ensure!(st.success(), "building the Lunatic twins (bench/lunatic) failed");
    Ok(())
}

/// Lunatic's version line, installing the runtime and building the twins first if needed; None (with the
/// reason printed) when either fails: the table then has no Lunatic column.
pub fn ready() -> Option<String> {
    let prepared = (|| {
        if !binary().exists() {
            install()?;
        }
        build()?;
        let out = Command::new(binary()).arg("--version").output()?;
        anyhow::ensure!(out.status.success(), "`lunatic --version` failed: {}", out.status);
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    })();
    match prepared {
        Ok(version) => Some(version),
        Err(e) => {
            eprintln!("gmp-bench: {e}; the table will have no Lunatic column");
            None
        }
    }
}

/// A `lunatic run` command for twin `name`, with `procs` worker threads.
pub fn command(procs: usize, name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("run").arg(twin(name)).args(args).env("TOKIO_WORKER_THREADS", procs.to_string());
    // Lunatic makes an `anyhow::Error` on its message path (seen in a profile of ping-pong), which captures
    // a backtrace when these are set: with RUST_BACKTRACE=1 a round trip took several times as long.
    cmd.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    cmd
}

/// Memory mappings one parked Lunatic process holds, in tenths: its linear memory's reservation (2 GiB
/// guard, 4 GiB, 2 GiB guard: wasmtime 8's static memories, which Lunatic forces) split where it is
/// accessible, and its 2 MiB fiber stack with its guard; the kernel merges some neighbours. Measured: 6.1 to
/// 6.3 a process with 10,000 parked, and one run of 10,000 failed for want of a mapping; 6.6 keeps a margin.
const MAPS_PER_PROCESS_X10: usize = 66;

/// Processes the x86-64 user address space (128 TiB) holds at 8 GiB each.
const ADDRESS_SPACE_PROCESSES: usize = 16_000;

/// The most processes one Lunatic runtime holds at once on this machine: `vm.max_map_count` allows
/// [`MAPS_PER_PROCESS_X10`] / 10 mappings each (less a margin for the runtime's own), and the address space
/// [`ADDRESS_SPACE_PROCESSES`].
pub fn max_processes() -> usize {
    let maps = wasm_gmp::max_map_count().unwrap_or(65_530) as usize;
    (maps.saturating_sub(1_000) * 10 / MAPS_PER_PROCESS_X10).min(ADDRESS_SPACE_PROCESSES)
}

/// How many processes Lunatic parks for a row of `n` parked Gs: `n` when it holds that many here; for the
/// first row past its limit (a tenth of `n` fits), the most it holds in whole thousands, so that the row
/// still compares (memory per process hardly changes between 9,000 and 10,000); else None.
pub fn parked_count(n: usize) -> Option<usize> {
    let max = max_processes();
    if n <= max {
        Some(n)
    } else if n / 10 <= max && max >= 1_000 {
        Some(max / 1_000 * 1_000)
    } else {
        None
    }
}

/// Why Lunatic has no figure in a row, or one at `ran` processes, fewer than the row's.
pub fn limit_note(ran: Option<usize>) -> String {
    let why = format!(
        "the most it holds here is {} ({:.1} mappings and 8 GiB of address space a process)",
        max_processes(),
        MAPS_PER_PROCESS_X10 as f64 / 10.0
    );
    match ran {
        Some(k) => format!("Lunatic: at {k} processes, {why}"),
        None => format!("Lunatic: not run, {why}"),
    }
}
