//! Go by Example, *Timers*: a `Timer` delivers one value on its channel when it fires, and unlike a
//! sleep it can be stopped first. Timer 1 (20 ms) is waited for; timer 2 (200 ms) has a G waiting on
//! it, but main stops it at once, so that G never wakes. Prints `Timer 1 fired` (checked to be at least
//! 20 ms after it was set) then `Timer 2 stopped`, and no `Timer 2 fired`.

use std::time::Duration;

use gmp::time::{Instant, Timer, sleep};

fn main() {
    let start = Instant::now();
    let timer1 = Timer::new(Duration::from_millis(20));
    timer1.receiver().recv();
    assert!(start.elapsed() >= Duration::from_millis(20), "timer 1 fired early");
    println!("Timer 1 fired");

    let timer2 = Timer::new(Duration::from_millis(200));
    {
        // The G's copy is the same timer, so main's stop below keeps it from firing there too.
        let timer2 = timer2.clone();
        gmp::go!(timer2 => {
            timer2.receiver().recv();
            println!("Timer 2 fired");
        });
    }
    if timer2.stop() {
        println!("Timer 2 stopped");
    }

    // Long enough for timer 2 to have fired, had it not been stopped.
    sleep(Duration::from_millis(300));
}
