//! A G blocked writing to a full stdout pipe holds no P: one G writes 4 MiB to stdout (the test does not
//! read it, so the pipe fills and the write blocks in the kernel) while 100 worker Gs still run. Prints
//! `workers done: 4950` on stderr and returns, ending the program with status 0 although the writer is
//! still blocked.

use std::io::Write;

fn main() {
    gmp::go(|| {
        let chunk = vec![b'x'; 64 << 10];
        let mut out = std::io::stdout();
        for _ in 0..64 {
            if out.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    for _ in 0..10 {
        gmp::yield_now();
    }
    let (tx, rx) = gmp::chan::<u64>(0);
    for i in 0..100u64 {
        let tx = tx.clone();
        gmp::go!(tx, i => tx.send(i));
    }
    let sum: u64 = rx.iter().take(100).sum();
    eprintln!("workers done: {sum}");
}
