//! Go's classic concurrent prime sieve: a generator G feeds a chain of filter Gs over unbuffered channels,
//! one filter per prime found. Prints the first N primes (first argument, default 100), one per line:
//! `2`, `3`, `5`, ... `541`.

/// Sends 2, 3, 4, ... forever.
fn generate(out: gmp::Sender<u64>) {
    for i in 2.. {
        out.send(i);
    }
}

/// Passes on the numbers that `prime` does not divide.
fn filter((input, out, prime): (gmp::Receiver<u64>, gmp::Sender<u64>, u64)) {
    for i in &input {
        if i % prime != 0 {
            out.send(i);
        }
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).map_or(100, |a| a.parse().expect("N must be a number"));
    let (tx, mut rx) = gmp::chan(0);
    gmp::go_with(tx, generate);
    for _ in 0..n {
        let prime = rx.recv().expect("the chain never closes");
        println!("{prime}");
        let (tx, next) = gmp::chan(0);
        gmp::go_with((rx, tx, prime), filter);
        rx = next;
    }
}
