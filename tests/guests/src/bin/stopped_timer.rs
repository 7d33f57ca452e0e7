//! Main waits on the channel of a timer it stopped: nothing will ever send on it, so the runtime reports a
//! deadlock (exit status 2). Prints `stopped` before blocking. With the argument `drop`, main drops the
//! timer instead, keeping only its channel: the runtime stops a timer no G holds, so that is a deadlock too.

use std::io::Write;
use std::time::Duration;

fn main() {
    let timer = gmp::time::Timer::new(Duration::from_secs(3600));
    let rx = timer.receiver().clone();
    if std::env::args().nth(1).as_deref() == Some("drop") {
        drop(timer);
    } else {
        assert!(timer.stop(), "the timer was pending");
    }
    println!("stopped");
    std::io::stdout().flush().expect("stdout");
    let _ = rx.recv();
    println!("received from a stopped timer");
}
