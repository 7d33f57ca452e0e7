//! CPU-bound Gs: K Gs (first argument, default 16) each run a xorshift chain of R rounds (second argument,
//! default 20000000); prints `ms=X result=Y`. Run at 1 and 2 Ps for the speed-up. Go twin:
//! bench/go/parallel.go.

use gmp::time::Instant;

fn work((seed, rounds): (u64, u64)) -> u64 {
    let mut x = seed | 1;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn main() {
    let mut args = std::env::args().skip(1);
    let k: u64 = args.next().map_or(16, |a| a.parse().expect("K"));
    let rounds: u64 = args.next().map_or(20_000_000, |a| a.parse().expect("R"));
    let t0 = Instant::now();
    let (tx, rx) = gmp::chan::<u64>(k as usize);
    for i in 0..k {
        let tx = tx.clone();
        gmp::go!(tx, i, rounds => tx.send(work((i, rounds))));
    }
    let result = rx.iter().take(k as usize).fold(0u64, |a, b| a ^ b);
    println!("ms={:.1} result={result}", t0.elapsed().as_secs_f64() * 1000.0);
}
