//! Go by Example, *Timeouts*: `select` between a result and `time.After`. The first call's result takes
//! 2 s against a 50 ms timeout, the second's 10 ms against 1 s. Prints `timeout 1` then `result 2`, and
//! ends at once: main returning ends the program, so the slow G does not keep it alive.

use std::time::Duration;

use gmp::time::{after, sleep};

/// Starts a G that delivers `result` after `delay_ms`.
fn call(result: &str, delay_ms: u64) -> gmp::Receiver<String> {
    // Buffered, so that a result nobody waits for any more does not block its G forever (Go's advice too).
    let (tx, rx) = gmp::chan::<String>(1);
    let result = result.to_string();
    gmp::go!(tx, result, delay_ms => {
        sleep(Duration::from_millis(delay_ms));
        tx.send(result);
    });
    rx
}

fn main() {
    let c1 = call("result 1", 2000);
    gmp::select! {
        recv(c1) -> res => println!("{}", res.unwrap()),
        recv(after(Duration::from_millis(50))) -> _ => println!("timeout 1"),
    }

    let c2 = call("result 2", 10);
    gmp::select! {
        recv(c2) -> res => println!("{}", res.unwrap()),
        recv(after(Duration::from_secs(1))) -> _ => println!("timeout 2"),
    }
}
