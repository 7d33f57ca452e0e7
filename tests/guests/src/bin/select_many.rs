//! N workers (first argument, default 2000) block in `select!` on two shared channels and a quit channel,
//! and take N×M messages (second argument M, default 20), sent alternately on the two, between them; the quit
//! channel fires only once every message is out. A worker woken through one channel leaves a stale entry in
//! the other's queue until it takes it out, so the sends meet stale entries all the time. Prints
//! `messages: X`, `checksum: S` and `checksum ok` (sum and sum of squares).

use gmp::{chan, select};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("arguments must be numbers"));
    let workers = args.next().unwrap_or(2_000);
    let total = workers * args.next().unwrap_or(20);

    let (tx, rx) = chan::<u64>(0);
    let (tx2, rx2) = chan::<u64>(0);
    let (quit_tx, quit_rx) = chan::<()>(0);
    let (report_tx, report_rx) = chan::<(u64, u64, u64)>(1024);
    for _ in 0..workers {
        let (rx, rx2, quit_rx, report_tx) = (rx.clone(), rx2.clone(), quit_rx.clone(), report_tx.clone());
        gmp::go!(rx, rx2, quit_rx, report_tx => {
            let (mut n, mut sum, mut squares) = (0u64, 0u64, 0u64);
            loop {
                let v = select! {
                    recv(rx) -> v => v,
                    recv(rx2) -> v => v,
                    recv(quit_rx) -> _ => break,
                };
                let v = v.expect("the data channels are never closed");
                n += 1;
                sum = sum.wrapping_add(v);
                squares = squares.wrapping_add(v.wrapping_mul(v));
            }
            report_tx.send((n, sum, squares));
        });
    }
    for v in 0..total {
        if v % 2 == 0 { tx.send(v) } else { tx2.send(v) }
    }
    // The data channels are unbuffered, so every message has been taken by now.
    quit_tx.close();
    let (n, sum, squares) = report_rx
        .iter()
        .take(workers as usize)
        .fold((0u64, 0u64, 0u64), |(n, s, q), (dn, ds, dq)| (n + dn, s.wrapping_add(ds), q.wrapping_add(dq)));
    let want = (0..total).fold((0u64, 0u64), |(s, q), v| (s.wrapping_add(v), q.wrapping_add(v.wrapping_mul(v))));
    println!("messages: {n}");
    println!("checksum: {sum}");
    println!("checksum {}", if n == total && (sum, squares) == want { "ok" } else { "MISMATCH" });
}
