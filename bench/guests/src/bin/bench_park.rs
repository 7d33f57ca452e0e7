//! Parked Gs for measuring memory: N Gs (first argument, default 10000) block on one channel; main prints
//! `parked=N` and waits for a line on stdin (the runner reads the process's RSS meanwhile), then releases
//! them. With a second argument `spawn`, it also times the spawns: `ns_per_spawn=X`.

use gmp::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(10_000, |a| a.parse().expect("N"));
    let (gate_tx, gate) = gmp::chan::<()>(0);
    let t0 = Instant::now();
    for _ in 0..n {
        let gate = gate.clone();
        gmp::go!(gate => {
            gate.recv();
        });
    }
    // Let every G reach its receive (spawned Gs start when the spawner yields).
    for _ in 0..4 {
        gmp::yield_now();
    }
    let ns = t0.elapsed().as_nanos() as f64 / n.max(1) as f64;
    println!("parked={n} ns_per_spawn={ns:.1}");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("stdin");
    gate_tx.close();
}
