//! Programs to take goroutine dumps of (tests/dumps.rs). The first argument picks one:
//! - `pingpong PAIRS ROUNDS`: PAIRS pairs of Gs pass a counter back and forth ROUNDS times each while one G
//!   waits in `wait_here` for main; prints `ready`, then `sum S` (S = PAIRS × ROUNDS, every message counted
//!   once) and `bye`.
//! - `cycle`: main and one G wait on each other's channel: a deadlock whose report names the cycle.
//! - `panic`: three Gs park in `wait_here`, then main panics (for `GOTRACEBACK=all`).
//! - `sigquit`: one G parks in `wait_here`; main prints `ready` and sleeps for a minute.

use gmp::{Receiver, chan};

#[inline(never)]
fn wait_here(rx: &Receiver<u64>) -> Option<u64> {
    rx.recv()
}

fn pingpong(pairs: u64, rounds: u64) {
    let (wake_tx, wake_rx) = chan::<u64>(0);
    let (waiter_done_tx, waiter_done) = chan::<u64>(0);
    gmp::go!(wake_rx, waiter_done_tx => {
        let v = wait_here(&wake_rx).unwrap_or(0);
        waiter_done_tx.send(v);
    });
    let (sums_tx, sums) = chan::<u64>(pairs as usize);
    for _ in 0..pairs {
        let (ping_tx, ping_rx) = chan::<u64>(0);
        let (pong_tx, pong_rx) = chan::<u64>(0);
        gmp::go!(ping_rx, pong_tx => {
            while let Some(v) = ping_rx.recv() {
                pong_tx.send(v + 1);
            }
        });
        let sums_tx = sums_tx.clone();
        gmp::go!(ping_tx, pong_rx, sums_tx, rounds => {
            let mut got = 0;
            for i in 0..rounds {
                ping_tx.send(i);
                let back = pong_rx.recv().expect("pong");
                assert_eq!(back, i + 1, "a message was lost or doubled");
                got += 1;
            }
            ping_tx.close();
            sums_tx.send(got);
        });
    }
    println!("ready");
    let sum: u64 = sums.iter().take(pairs as usize).sum();
    wake_tx.send(7);
    assert_eq!(waiter_done.recv(), Some(7));
    println!("sum {sum}");
    println!("bye");
}

fn cycle() {
    let (a_tx, a_rx) = chan::<u64>(0);
    let (b_tx, b_rx) = chan::<u64>(0);
    gmp::go!(a_rx, b_tx => {
        let v = wait_here(&a_rx).unwrap_or(0);
        b_tx.send(v);
    });
    // Main waits on b, which only the G holds the other end of; the G waits on a, which only main can send on.
    let _ = b_rx.recv();
    drop(a_tx);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize, d: u64| args.get(i).map_or(d, |a| a.parse().expect("a number"));
    match args.get(1).map(String::as_str) {
        Some("pingpong") => pingpong(num(2, 4), num(3, 10_000)),
        Some("cycle") => cycle(),
        Some("panic") => {
            let (_tx, rx) = chan::<u64>(0);
            for _ in 0..3 {
                let rx = rx.clone();
                gmp::go!(rx => {
                    wait_here(&rx);
                });
            }
            for _ in 0..10 {
                gmp::yield_now();
            }
            panic!("main gives up");
        }
        Some("sigquit") => {
            let (tx, rx) = chan::<u64>(0);
            gmp::go!(rx => {
                wait_here(&rx);
            });
            println!("ready");
            gmp::time::sleep(std::time::Duration::from_secs(60));
            drop(tx);
        }
        other => panic!("unknown mode {other:?}"),
    }
}
