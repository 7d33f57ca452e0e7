//! The concurrent prime sieve (a chain of filter Gs over unbuffered channels), timed: N primes (first
//! argument, default 1000). Prints `ms=X last=P`. Go twin: bench/go/sieve.go.

use gmp::time::Instant;
use gmp::{Receiver, Sender};

fn generate(tx: Sender<u64>) {
    for i in 2.. {
        tx.send(i);
    }
}

fn filter((rx, tx, p): (Receiver<u64>, Sender<u64>, u64)) {
    for i in &rx {
        if i % p != 0 {
            tx.send(i);
        }
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).map_or(1000, |a| a.parse().expect("N"));
    let t0 = Instant::now();
    let (tx, mut rx) = gmp::chan::<u64>(0);
    gmp::go_with(tx, generate);
    let mut last = 0;
    for _ in 0..n {
        let p = rx.recv().expect("the chain never closes");
        last = p;
        let (tx2, rx2) = gmp::chan::<u64>(0);
        gmp::go_with((rx, tx2, p), filter);
        rx = rx2;
    }
    println!("ms={:.1} last={last}", t0.elapsed().as_secs_f64() * 1000.0);
}
