//! Parked processes for measuring memory: twin of bench/guests/src/bin/bench_park.rs and bench/go/park.go.
//! N processes (first argument, default 10000) each wait in `receive`; main prints `parked=N
//! ns_per_spawn=X` and waits for a line on stdin (the runner reads the process's memory meanwhile), then
//! returns, which ends the runtime and them with it.
//!
//! Lunatic offers no way to see that a process has reached its `receive`, so each one first tells main that
//! it runs: main prints only after all N have, and so `ns_per_spawn` includes those N messages. Before it
//! prints, main also checks (untimed) that the runtime still lists every one of them as alive; the handles
//! it keeps for that are 16 bytes a process.

use std::time::Instant;

use lunatic::{Mailbox, Process};

#[lunatic::main]
fn main(mailbox: Mailbox<()>) {
    let n: usize = std::env::args().nth(1).map_or(10_000, |a| a.parse().expect("N"));
    let mut parked = Vec::with_capacity(n);
    let t0 = Instant::now();
    for _ in 0..n {
        // The capture (main's handle) reaches the child as its first message.
        parked.push(Process::<()>::spawn(mailbox.this(), |main: Process<()>, gate: Mailbox<()>| {
            main.send(());
            gate.receive();
        }));
    }
    for _ in 0..n {
        mailbox.receive();
    }
    let ns = t0.elapsed().as_nanos() as f64 / n.max(1) as f64;
    assert!(parked.iter().all(Process::is_alive), "park: a process ended before the release");
    println!("parked={n} ns_per_spawn={ns:.1}");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("stdin");
}
