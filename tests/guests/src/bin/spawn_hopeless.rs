//! Spawns that can never succeed at the G limit must fail with the limit error instead of waiting forever.
//! First argument, the shape: `two` — two spawners, each spawning children that block forever; `timer` —
//! one such spawner that also holds a pending one-hour timer; `tree` — every G spawns two children that do
//! the same, then blocks. Run with a small `--max-gs`; the program is expected to end with the spawn's
//! limit error (exit status 2), never to hang or spin.

use std::time::Duration;

use gmp::{Receiver, chan};

/// Spawn children that block on `gate` (never sent to) for ever.
fn spawner(gate: Receiver<u8>) {
    loop {
        let gate = gate.clone();
        gmp::go!(gate => {
            gate.recv();
        });
    }
}

fn tree(gate: Receiver<u8>) {
    for _ in 0..2 {
        let gate = gate.clone();
        gmp::go_with(gate, tree);
    }
    gate.recv();
}

fn main() {
    let shape = std::env::args().nth(1).expect("shape: two, timer or tree");
    let (_keep, gate) = chan::<u8>(0);
    match shape.as_str() {
        "two" => {
            for _ in 0..2 {
                gmp::go_with(gate.clone(), spawner);
            }
        }
        "timer" => {
            let gate = gate.clone();
            gmp::go!(gate => {
                let _pending = gmp::time::after(Duration::from_secs(3600));
                spawner(gate);
            });
        }
        "tree" => {
            gmp::go_with(gate.clone(), tree);
        }
        other => panic!("unknown shape {other}"),
    }
    gate.recv(); // never: the limit error ends the program first
    println!("unreachable: main was released");
}
