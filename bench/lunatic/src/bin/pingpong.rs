//! Ping-pong: main and one process bounce a counter N times (first argument, default 1000000), each
//! waiting in `receive` for the other. Prints `ns_per_op=X` per round trip. Twin of
//! bench/guests/src/bin/bench_pingpong.rs and bench/go/pingpong.go, whose unbuffered channels are here the
//! two processes' mailboxes.

use std::time::Instant;

use lunatic::{Mailbox, Process};

#[lunatic::main]
fn main(mailbox: Mailbox<u64>) {
    let n: u64 = std::env::args().nth(1).map_or(1_000_000, |a| a.parse().expect("N"));
    let echo = Process::<u64>::spawn(mailbox.this(), |main: Process<u64>, ping: Mailbox<u64>| {
        loop {
            main.send(ping.receive() + 1);
        }
    });
    let t0 = Instant::now();
    let mut v = 0;
    for _ in 0..n {
        echo.send(v);
        v = mailbox.receive();
    }
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(v, n);
    println!("ns_per_op={ns:.1}");
}
