//! Many sleeping Gs: N Gs (first argument, default 100000) each sleep 100 ms on the runtime's timers, then
//! report on a channel with room for all. Prints `slept: N`, then `elapsed_ms: X`, the time from before the
//! first spawn to the last report (about 100 when the timers scale).

use std::time::Duration;

use gmp::time::{self, Instant};

fn main() {
    let n: usize = std::env::args().nth(1).map_or(100_000, |a| a.parse().expect("N must be a number"));
    let (tx, rx) = gmp::chan::<u8>(n);
    let start = Instant::now();
    for _ in 0..n {
        let tx = tx.clone();
        gmp::go!(tx => {
            time::sleep(Duration::from_millis(100));
            tx.send(1);
        });
    }
    let slept: usize = rx.iter().take(n).map(usize::from).sum();
    let elapsed = start.elapsed();
    println!("slept: {slept}");
    println!("elapsed_ms: {}", elapsed.as_millis());
}
