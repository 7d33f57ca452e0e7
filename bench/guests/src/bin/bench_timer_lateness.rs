//! Timer wake-up lateness: G Gs (first argument, default 100) each sleep 1 ms N times (second argument,
//! default 200) and record how late they woke. Prints `lateness_us p50=X p99=Y`. Go twin: bench/go/timers.go.

use std::time::Duration;

use gmp::time::{Instant, sleep};

fn main() {
    let mut args = std::env::args().skip(1);
    let gs: usize = args.next().map_or(100, |a| a.parse().expect("G count"));
    let n: usize = args.next().map_or(200, |a| a.parse().expect("sleeps per G"));
    let (tx, rx) = gmp::chan::<Vec<u64>>(gs);
    for _ in 0..gs {
        let tx = tx.clone();
        gmp::go!(tx, n => {
            let mut late = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                sleep(Duration::from_millis(1));
                late.push(t.elapsed().saturating_sub(Duration::from_millis(1)).as_nanos() as u64);
            }
            tx.send(late);
        });
    }
    let mut all: Vec<u64> = rx.iter().take(gs).flatten().collect();
    all.sort_unstable();
    let p = |q: f64| all[(q * (all.len() - 1) as f64) as usize] as f64 / 1000.0;
    println!("lateness_us p50={:.1} p99={:.1}", p(0.50), p(0.99));
}
