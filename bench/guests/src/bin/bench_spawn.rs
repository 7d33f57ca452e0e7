//! spawn+exit per G: with ALIVE Gs already parked (second argument, default 0), spawn N Gs (first
//! argument, default 100000) that each only report done to a WaitGroup, and wait for them all. Prints
//! `ns_per_op=X alive=ALIVE`. Go twin: bench/go/spawn.go.

use gmp::WaitGroup;
use gmp::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(100_000, |a| a.parse().expect("N"));
    let alive: u64 = args.next().map_or(0, |a| a.parse().expect("ALIVE"));
    let (gate_tx, gate) = gmp::chan::<()>(0);
    for _ in 0..alive {
        let gate = gate.clone();
        gmp::go!(gate => {
            gate.recv();
        });
    }
    let wg = WaitGroup::new();
    let t0 = Instant::now();
    for _ in 0..n {
        wg.add(1);
        let wg = wg.clone();
        gmp::go!(wg => wg.done());
    }
    wg.wait();
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("ns_per_op={ns:.1} alive={alive}");
    gate_tx.close();
}
