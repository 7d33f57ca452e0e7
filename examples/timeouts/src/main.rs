//! A receive with a timeout: `select!` between a worker's answer and a `gmp::time::after` channel. The worker
//! answers after 10 ms in round 1 and after 200 ms in round 2, while main waits 50 ms each time. Prints:
//!
//! ```text
//! round 1: got answer
//! round 2: timed out
//! ```

use std::time::Duration;

use gmp::time;

fn main() {
    for (round, delay_ms) in [(1, 10u64), (2, 200)] {
        // One slot of buffer: a worker that answers too late still completes its send and ends, instead of
        // blocking forever on a channel nobody reads (Go's usual fix for the same leak).
        let (tx, rx) = gmp::chan::<u64>(1);
        gmp::go!(tx, delay_ms => {
            time::sleep(Duration::from_millis(delay_ms));
            tx.send(42);
        });
        gmp::select! {
            recv(rx) -> _ => println!("round {round}: got answer"),
            recv(time::after(Duration::from_millis(50))) -> _ => println!("round {round}: timed out"),
        }
    }
}
