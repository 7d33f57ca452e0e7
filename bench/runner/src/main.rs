//! `gmp-bench`: load generators and the benchmark runner for wasm-gmp.
//!
//! `gmp-bench echo ADDR [CONNS] [SECS] [SIZE]` drives an echo server and prints round trips per second and
//! latency percentiles, for wasm-gmp's echo example and Go's `bench/go/echo` alike.

mod echo_load;

use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("echo") => {
            let addr = args
                .get(1)
                .ok_or_else(|| anyhow::anyhow!("usage: gmp-bench echo ADDR [CONNS] [SECS] [SIZE]"))?;
            let conns = args.get(2).map_or(Ok(100), |s| s.parse())?;
            let secs: f64 = args.get(3).map_or(Ok(5.0), |s| s.parse())?;
            let size = args.get(4).map_or(Ok(64), |s| s.parse())?;
            let r = echo_load::run(
                addr.parse()?,
                conns,
                size,
                Duration::from_secs(1),
                Duration::from_secs_f64(secs),
            )?;
            println!(
                "echo conns={} round_trips_per_sec={:.0} p50_us={:.1} p99_us={:.1}",
                r.conns,
                r.per_sec(),
                r.percentile_us(0.50),
                r.percentile_us(0.99)
            );
            Ok(())
        }
        _ => anyhow::bail!("usage: gmp-bench echo ADDR [CONNS] [SECS] [SIZE]"),
    }
}
