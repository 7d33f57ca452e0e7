//! The network and timer figures: the echo example against Go's echo at 100 and 1,000 connections, and
//! timer wake-up lateness, each pair run alternately in one session.

use std::net::SocketAddr;
use std::time::Duration;

use crate::echo_load;
use crate::procs::{Server, field, go, median, output, wasm_gmp};

/// One echo measurement: round trips per second, p50 and p99 latency in µs.
type Echo = (f64, f64, f64);

pub(crate) fn echo_once(server: Server, conns: usize, secs: f64) -> anyhow::Result<Echo> {
    let addr: SocketAddr = server.addr.parse()?;
    let r = echo_load::run(addr, conns, 64, Duration::from_secs(1), Duration::from_secs_f64(secs))?;
    Ok((r.per_sec(), r.percentile_us(0.50), r.percentile_us(0.99)))
}

fn summarize(name: &str, runs: &[Echo]) -> String {
    let rt = median(runs.iter().map(|r| r.0).collect());
    let p50 = median(runs.iter().map(|r| r.1).collect());
    let p99 = median(runs.iter().map(|r| r.2).collect());
    format!("{name:<10} {rt:>10.0} rt/s   p50 {p50:>7.1} µs   p99 {p99:>8.1} µs")
}

/// Run the echo and timer comparisons; `with_go` adds the Go twins.
pub fn run(procs: usize, reps: usize, secs: f64, with_go: bool) -> anyhow::Result<()> {
    for conns in [100, 1000] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            ours.push(echo_once(Server::start(wasm_gmp(procs, "echo", &["127.0.0.1:0"]))?, conns, secs)?);
            if with_go {
                theirs.push(echo_once(Server::start(go(procs, "echo", &["127.0.0.1:0"]))?, conns, secs)?);
            }
        }
        println!("echo, {conns} connections, {procs} P, 64-byte messages, median of {reps} × {secs} s:");
        println!("  {}", summarize("wasm-gmp", &ours));
        if with_go {
            println!("  {}", summarize("Go", &theirs));
            let ratio = median(ours.iter().map(|r| r.0).collect()) / median(theirs.iter().map(|r| r.0).collect());
            println!("  wasm-gmp / Go round trips: {ratio:.2}");
        }
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        ours.push(output(wasm_gmp(procs, "bench_timer_lateness", &["100", "200"]))?);
        if with_go {
            theirs.push(output(go(procs, "timers", &["100", "200"]))?);
        }
    }
    let p = |v: &[String], k: &str| median(v.iter().filter_map(|l| field(l, k)).collect());
    println!("timer lateness, 100 Gs × 200 sleeps of 1 ms, {procs} P, median of {reps}:");
    println!("  wasm-gmp   p50 {:>7.1} µs   p99 {:>8.1} µs", p(&ours, "p50"), p(&ours, "p99"));
    if with_go {
        println!("  Go         p50 {:>7.1} µs   p99 {:>8.1} µs", p(&theirs, "p50"), p(&theirs, "p99"));
    }
    Ok(())
}
