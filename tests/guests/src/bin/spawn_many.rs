//! A burst of short-lived Gs: main spawns N (first argument, default 30000) Gs that each send one number
//! and exit (the buffer holds them all), then sums what they sent. Prints `spawned: N` and `sum: S`, S = 0 + 1 + ... + N-1.

fn main() {
    let n: u64 = std::env::args().nth(1).map_or(30_000, |a| a.parse().expect("N must be a number"));
    let (tx, rx) = gmp::chan::<u64>(n as usize);
    for i in 0..n {
        let tx = tx.clone();
        gmp::go!(tx, i => tx.send(i));
    }
    let sum: u64 = rx.iter().take(n as usize).sum();
    println!("spawned: {n}");
    println!("sum: {sum}");
}
