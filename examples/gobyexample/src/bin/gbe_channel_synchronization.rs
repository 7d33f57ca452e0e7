//! Go by Example, *Channel Synchronization*: main blocks on `<-done` until a worker G says it has
//! finished. The worker prints `working...`, pauses, then `done`; main waits for it, so the output is
//! always `working...done`. Without the receive, main could end before the worker has printed anything.

use std::time::Duration;

use gmp::Sender;

fn worker(done: Sender<bool>) {
    print!("working...");
    gmp::time::sleep(Duration::from_millis(20));
    println!("done");
    done.send(true);
}

fn main() {
    let (done, finished) = gmp::chan::<bool>(1);
    gmp::go_with(done, worker);
    finished.recv();
}
