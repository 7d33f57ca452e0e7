//! Go by Example, *Rate Limiting*: requests are served one per tick of a ticker (every 20 ms), then, with
//! a bursty limiter, three at once and the rest one per tick. The limiter in the second part is a
//! channel of three tokens, refilled by a G from a ticker. Prints `request 1..5`, then
//! `5 requests took at least 80 ms: ok`, `bursty request 1..5`, and
//! `bursty: the 5th request waited at least 20 ms: ok`.

use std::time::Duration;

use gmp::time::{Instant, tick};

const PERIOD: Duration = Duration::from_millis(20);

fn main() {
    let (requests, queue) = gmp::chan::<u32>(5);
    for i in 1..=5 {
        requests.send(i);
    }
    requests.close();

    let start = Instant::now();
    let limiter = tick(PERIOD);
    for req in &queue {
        limiter.receiver().recv();
        println!("request {req}");
    }
    // Five ticks take five periods; four is the bound that leaves room for rounding.
    let took = start.elapsed();
    assert!(took >= PERIOD * 4, "5 requests took only {took:?}");
    println!("5 requests took at least 80 ms: ok");

    let (bursty_tx, bursty_limiter) = gmp::chan::<Instant>(3);
    for _ in 0..3 {
        bursty_tx.send(Instant::now());
    }
    let start = Instant::now();
    // Refills one token per period for as long as the program runs; main returning ends it.
    gmp::go!(bursty_tx => {
        let refill = tick(PERIOD);
        for t in refill.receiver() {
            bursty_tx.send(t);
        }
    });

    let (bursty_requests, bursty_queue) = gmp::chan::<u32>(5);
    for i in 1..=5 {
        bursty_requests.send(i);
    }
    bursty_requests.close();
    for req in &bursty_queue {
        bursty_limiter.recv();
        println!("bursty request {req}");
    }
    // The burst of three is used up by then; the 4th and 5th tokens come from two refill ticks.
    let took = start.elapsed();
    assert!(took >= PERIOD, "the bursty requests took only {took:?}");
    println!("bursty: the 5th request waited at least 20 ms: ok");
}
