//! Go by Example, *Atomic Counters*: 50 Gs each add 1 to a shared counter 1,000 times, through
//! `gmp::sync::AtomicU64` (Go's `atomic.Uint64`); a `WaitGroup` waits for them all. Prints `ops: 50000`.
//!
//! Gs share no memory, so a `static` std `AtomicU64` would not do here: each G has its own copy and
//! main's would stay at 0. The SDK's atomic lives in the runtime, and every clone is the same integer.

use gmp::WaitGroup;
use gmp::sync::AtomicU64;

fn main() {
    let ops = AtomicU64::new(0);
    let wg = WaitGroup::new();

    for _ in 0..50 {
        wg.add(1);
        let (ops, wg) = (ops.clone(), wg.clone());
        gmp::go!(ops, wg => {
            for _ in 0..1000 {
                ops.add(1);
            }
            wg.done();
        });
    }

    wg.wait();
    println!("ops: {}", ops.load());
}
