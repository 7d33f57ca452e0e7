//! A G blocked in a host call holds no P: one G calls the test's `block()`, which keeps its thread until
//! `release()`, while 100 worker Gs still run. Prints `workers done: 4950`, then releases the blocked G and
//! prints `released` once it has sent its message. The test registers both functions in the wasm import
//! module `test_host`.

#[link(wasm_import_module = "test_host")]
unsafe extern "C" {
    fn block();
    fn release();
}

fn main() {
    let (started_tx, started) = gmp::chan::<()>(0);
    let (done_tx, done) = gmp::chan::<()>(1);
    gmp::go!(started_tx, done_tx => {
        started_tx.send(());
        // SAFETY: the test host's `block` takes no arguments and touches no guest memory.
        unsafe { block() };
        done_tx.send(());
    });
    // Once the G has said it started, it is on its way into `block()`.
    started.recv();
    gmp::yield_now();
    println!("workers done: {}", run_workers(100));
    // SAFETY: the test host's `release` takes no arguments and touches no guest memory.
    unsafe { release() };
    done.recv();
    println!("released");
}

/// Starts `n` Gs that each send their index, and sums what they send.
fn run_workers(n: u64) -> u64 {
    let (tx, rx) = gmp::chan::<u64>(0);
    for i in 0..n {
        let tx = tx.clone();
        gmp::go!(tx, i => {
            // Something small to compute: the index, the long way round.
            tx.send((0..=i).sum::<u64>() - (0..i).sum::<u64>());
        });
    }
    rx.iter().take(n as usize).sum()
}
