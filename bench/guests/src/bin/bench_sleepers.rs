//! The other program of the isolation figure (bench/runner/src/embed.rs): G Gs (first argument, default
//! 1000) each sleep D ms (second, default 10) R times (third, default 20) and record how late each sleep
//! ended. Prints `lateness_us p50=X p99=Y max=Z samples=N`. No Go twin: the figure compares this program
//! alone with the same program next to another program that spins on the same runtime.

use std::time::Duration;

use gmp::time::{Instant, sleep};

fn main() {
    let mut args = std::env::args().skip(1);
    let gs: usize = args.next().map_or(1000, |a| a.parse().expect("G count"));
    let ms: u64 = args.next().map_or(10, |a| a.parse().expect("sleep, ms"));
    let rounds: usize = args.next().map_or(20, |a| a.parse().expect("sleeps per G"));
    let (tx, rx) = gmp::chan::<Vec<u64>>(gs);
    for _ in 0..gs {
        let tx = tx.clone();
        gmp::go!(tx, ms, rounds => {
            let d = Duration::from_millis(ms);
            let mut late = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let t = Instant::now();
                sleep(d);
                late.push(t.elapsed().saturating_sub(d).as_nanos() as u64);
            }
            tx.send(late);
        });
    }
    let mut all: Vec<u64> = rx.iter().take(gs).flatten().collect();
    all.sort_unstable();
    let p = |q: f64| all[(q * (all.len() - 1) as f64) as usize] as f64 / 1000.0;
    println!("lateness_us p50={:.1} p99={:.1} max={:.1} samples={}", p(0.50), p(0.99), p(1.0), all.len());
}
