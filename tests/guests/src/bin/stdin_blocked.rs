//! A G blocked reading stdin holds no P: while it waits (the test keeps the pipe open and silent), 100 worker
//! Gs still run. Prints `workers done: 4950` and returns, ending the program with status 0 although the
//! reader is still blocked.

fn main() {
    gmp::go(|| {
        let mut line = String::new();
        // Whatever comes of it, the output must not change: the read only has to be blocked meanwhile.
        let _ = std::io::stdin().read_line(&mut line);
    });
    // Let the reader get to its read before the workers start.
    for _ in 0..10 {
        gmp::yield_now();
    }
    println!("workers done: {}", run_workers(100));
}

/// Starts `n` Gs that each send their index, and sums what they send.
fn run_workers(n: u64) -> u64 {
    let (tx, rx) = gmp::chan::<u64>(0);
    for i in 0..n {
        let tx = tx.clone();
        gmp::go!(tx, i => {
            // Something small to compute: the index, the long way round.
            tx.send((0..=i).sum::<u64>() - (0..i).sum::<u64>());
        });
    }
    rx.iter().take(n as usize).sum()
}
