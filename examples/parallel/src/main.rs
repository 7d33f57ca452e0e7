//! CPU-bound Gs run in parallel: K Gs (first argument, default 8) each run a long xorshift chain (about
//! 0.2 s on one core), and main sums the results. With 2 Ps it takes about half as long as with 1.
//! Prints `result: 18383833445064079348` for the default K.

/// Rounds of xorshift per G: enough to take a fraction of a second, and the chain cannot be shortcut.
const ROUNDS: u64 = 100_000_000;

fn work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..ROUNDS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn main() {
    let k: u64 = std::env::args().nth(1).map_or(8, |a| a.parse().expect("K must be a number"));
    let (tx, rx) = gmp::chan::<u64>(0);
    for seed in 0..k {
        let tx = tx.clone();
        gmp::go!(tx, seed => tx.send(work(seed)));
    }
    let result = rx.iter().take(k as usize).fold(0u64, u64::wrapping_add);
    println!("result: {result}");
}
