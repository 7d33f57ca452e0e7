//! Go by Example, *Tickers*: a `Ticker` sends on its channel every period until stopped. A G prints
//! `tick N` for each tick (checking that tick N came at least N periods of 20 ms after the start) until
//! main, after 110 ms, stops the ticker and tells it to finish; main then prints `Ticker stopped`. How
//! many ticks there are depends on the machine's load (usually 5; a tick the G is too slow for is
//! dropped, as in Go).

use std::time::Duration;

use gmp::time::{Instant, Ticker, sleep};

const PERIOD: Duration = Duration::from_millis(20);

fn main() {
    let start = Instant::now();
    let ticker = Ticker::new(PERIOD);
    let (done, done_rx) = gmp::chan::<bool>(0);

    {
        let ticker = ticker.clone();
        gmp::go!(ticker, done_rx, start => {
            let mut n = 0u32;
            loop {
                gmp::select! {
                    recv(done_rx) -> _ => return,
                    recv(ticker.receiver()) -> t => {
                        n += 1;
                        // Dropped ticks only make a tick later than its number says, never earlier.
                        assert!(t.unwrap() - start >= PERIOD * n, "tick {n} came early");
                        println!("tick {n}");
                    }
                }
            }
        });
    }

    sleep(Duration::from_millis(110));
    ticker.stop();
    // An unbuffered send: once it is received, the G has printed its last tick.
    done.send(true);
    println!("Ticker stopped");
}
