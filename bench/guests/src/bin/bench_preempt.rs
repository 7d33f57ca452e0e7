//! Preemption latency: at one P, a G spins in a loop with no calls while another sleeps 1 ms N times
//! (first argument, default 200) and records how late it wakes. Prints `lateness_us p50=X p99=Y`.
//! Go twin: bench/go/preempt.go.

use std::time::Duration;

use gmp::time::{Instant, sleep};

fn main() {
    let n: usize = std::env::args().nth(1).map_or(200, |a| a.parse().expect("N"));
    gmp::go(|| {
        let mut x = 1u64;
        loop {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            std::hint::black_box(x);
        }
    });
    let mut late = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        sleep(Duration::from_millis(1));
        late.push(t.elapsed().saturating_sub(Duration::from_millis(1)).as_nanos() as u64);
    }
    late.sort_unstable();
    let p = |q: f64| late[(q * (late.len() - 1) as f64) as usize] as f64 / 1000.0;
    println!("lateness_us p50={:.1} p99={:.1}", p(0.50), p(0.99));
}
