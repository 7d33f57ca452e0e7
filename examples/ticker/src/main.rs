//! A ticker: its channel receives the time every 20 ms until it is stopped. Prints:
//!
//! ```text
//! tick 1
//! tick 2
//! tick 3
//! stopped
//! ```

use std::time::Duration;

fn main() {
    let ticker = gmp::time::tick(Duration::from_millis(20));
    for n in 1..=3 {
        ticker.receiver().recv().expect("a ticker's channel is never closed");
        println!("tick {n}");
    }
    // Dropping the ticker would stop it too; stopping says so.
    ticker.stop();
    println!("stopped");
}
