//! N Gs (first argument, default 1) read stdin at once, each taking whatever the next read returns, until the
//! end of the stream. Prints `bytes=B sum=S errors=E`: every byte read, their sum, and how many reads failed
//! (each failure also printed as `read error: ...`). With one stream shared by every G, no byte is lost or
//! read twice, whatever the interleaving.

use std::io::Read;

fn main() {
    let n: usize = std::env::args().nth(1).map_or(1, |a| a.parse().expect("N must be a number"));
    let (tx, rx) = gmp::chan::<(u64, u64, u64)>(0);
    for _ in 0..n {
        let tx = tx.clone();
        gmp::go!(tx => {
            // Bigger than std's stdin buffer, so every read goes straight to the stream.
            let mut buf = vec![0u8; 64 << 10];
            let (mut bytes, mut sum, mut errors) = (0u64, 0u64, 0u64);
            loop {
                match std::io::stdin().read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => {
                        bytes += k as u64;
                        sum += buf[..k].iter().map(|&b| u64::from(b)).sum::<u64>();
                    }
                    Err(e) => {
                        println!("read error: {e}");
                        errors += 1;
                    }
                }
            }
            tx.send((bytes, sum, errors));
        });
    }
    let (bytes, sum, errors) = rx.iter().take(n).fold((0, 0, 0), |(b, s, e), (b2, s2, e2)| (b + b2, s + s2, e + e2));
    println!("bytes={bytes} sum={sum} errors={errors}");
}
