//! Go by Example, *WaitGroups*: main starts five workers, `add`s one for each, and `wait`s until every
//! worker has called `done`. Each worker prints `Worker N starting`, sleeps 10 ms, then `Worker N done`;
//! the five interleave in any order, but all ten lines are printed before main returns.

use std::time::Duration;

use gmp::WaitGroup;

fn worker(id: u32) {
    println!("Worker {id} starting");
    gmp::time::sleep(Duration::from_millis(10));
    println!("Worker {id} done");
}

fn main() {
    let wg = WaitGroup::new();
    for i in 1..=5 {
        wg.add(1);
        let wg = wg.clone();
        gmp::go!(wg, i => {
            worker(i);
            wg.done();
        });
    }
    wg.wait();
}
