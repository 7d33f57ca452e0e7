//! The time API end to end: sleeps wake in deadline order, `after`, `select!` with a timeout, a ticker,
//! `std::thread::sleep` on the runtime's timers, and stopping a timer. Prints `order: 25 50 75 100 125`,
//! `after: ok`, `select timeout: ok`, `select value: 7`, `ticks: 3`, `thread sleep: ok`, `stop: ok`; a line
//! that says something else names what went wrong.

use std::time::Duration;

use gmp::time::{self, Instant, Timer};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn main() {
    // (a) Sleepers started in one order wake in the order of their deadlines.
    let (tx, rx) = gmp::chan::<u64>(5);
    // 25 ms apart: timers due together ready their Gs together, and the last readied runs first (Go's
    // runnext), so deadlines closer than a descheduled M's delay on a loaded machine could come out swapped.
    for n in [125u64, 25, 100, 50, 75] {
        let tx = tx.clone();
        gmp::go!(tx, n => {
            time::sleep(ms(n));
            tx.send(n);
        });
    }
    let order: Vec<String> = rx.iter().take(5).map(|n| n.to_string()).collect();
    println!("order: {}", order.join(" "));

    // (b) `after` fires no earlier than asked.
    let start = Instant::now();
    let fired = time::after(ms(20)).recv().expect("a timer's channel is never closed");
    let waited = start.elapsed();
    if waited >= ms(20) && fired >= start + ms(20) {
        println!("after: ok");
    } else {
        println!("after: early ({waited:?}, fired at {fired:?} for a start at {start:?})");
    }

    // (c) A select whose only other arm never proceeds takes the timeout...
    let (_keep, never) = gmp::chan::<u32>(0);
    let start = Instant::now();
    gmp::select! {
        recv(never) -> v => println!("select timeout: received {v:?}"),
        recv(time::after(ms(30))) -> _ => {
            let waited = start.elapsed();
            if waited >= ms(30) {
                println!("select timeout: ok");
            } else {
                println!("select timeout: early ({waited:?})");
            }
        }
    }
    // ...and one whose value comes first takes the value.
    let (tx, rx) = gmp::chan::<u32>(1);
    gmp::go!(tx => {
        time::sleep(ms(5));
        tx.send(7);
    });
    gmp::select! {
        recv(rx) -> v => println!("select value: {}", v.expect("the sender does not close")),
        recv(time::after(Duration::from_secs(2))) -> _ => println!("select value: timed out"),
    }

    // (d) A ticker: the k-th tick comes no earlier than k periods after it was made (ticks are due at fixed
    // times, so one that fires late may be followed by one less than a period later; the k-th cannot be
    // early), and each later than the one before.
    let start = Instant::now();
    let ticker = time::tick(ms(10));
    let mut last = start;
    let mut ok = 0;
    for k in 1..=3u32 {
        let t = ticker.receiver().recv().expect("a ticker's channel is never closed");
        if t >= start + ms(10) * k && t > last && Instant::now() >= t {
            ok += 1;
        } else {
            println!("tick {k} at {t:?}: early (start {start:?}, previous {last:?})");
        }
        last = t;
    }
    ticker.stop();
    println!("ticks: {ok}");

    // (e) std's sleep parks the G on the same clock.
    let start = Instant::now();
    std::thread::sleep(ms(30));
    let waited = start.elapsed();
    if waited >= ms(30) {
        println!("thread sleep: ok");
    } else {
        println!("thread sleep: early ({waited:?})");
    }

    // (f) Stopping a pending timer says it was pending, once.
    let timer = Timer::new(Duration::from_secs(3600));
    let (first, second) = (timer.stop(), timer.stop());
    if first && !second {
        println!("stop: ok");
    } else {
        println!("stop: first {first}, second {second}");
    }
}
