//! Main waits on the channel of a timer it stopped: nothing will ever send on it, so the runtime reports a
//! deadlock (exit status 2). Prints `stopped` before blocking.

use std::io::Write;
use std::time::Duration;

fn main() {
    let timer = gmp::time::Timer::new(Duration::from_secs(3600));
    assert!(timer.stop(), "the timer was pending");
    println!("stopped");
    std::io::stdout().flush().expect("stdout");
    let _ = timer.receiver().recv();
    println!("received from a stopped timer");
}
