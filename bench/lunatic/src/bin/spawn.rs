//! spawn+exit per process, with ALIVE processes already parked (second argument, default 0): spawn N
//! processes (first argument, default 100000) that each only tell main they are done, and wait for all N
//! messages. Prints `ns_per_op=X alive=ALIVE`. Twin of bench/guests/src/bin/bench_spawn.rs and
//! bench/go/spawn.go, where the done report is a WaitGroup's.
//!
//! A lunatic process learns about its spawner only from its capture, which the runtime sends it as its
//! first message: each process here gets main's handle that way, as a goroutine's closure captures the
//! WaitGroup.

use std::time::Instant;

use lunatic::{Mailbox, Process};

#[lunatic::main]
fn main(mailbox: Mailbox<()>) {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(100_000, |a| a.parse().expect("N"));
    let alive: u64 = args.next().map_or(0, |a| a.parse().expect("ALIVE"));
    for _ in 0..alive {
        Process::<()>::spawn((), |(), gate: Mailbox<()>| {
            gate.receive();
        });
    }
    let t0 = Instant::now();
    for _ in 0..n {
        Process::<()>::spawn(mailbox.this(), |main: Process<()>, _: Mailbox<()>| main.send(()));
    }
    for _ in 0..n {
        mailbox.receive();
    }
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("ns_per_op={ns:.1} alive={alive}");
}
