//! Timers and tickers as values, as Go's `*time.Timer` is: sent to other Gs, cloned, stopped from anywhere,
//! and stopped by the runtime once no G holds one. Prints `sent: fired`, `clone: ticking`, `dropped: stopped`
//! and `remote stop: ok`; a line that says something else names what went wrong.

use std::time::Duration;

use gmp::TryRecvError;
use gmp::time::{self, Ticker, Timer};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn main() {
    // A timer sent to another G fires there, though the sender's copy went with the send.
    let timer = Timer::new(ms(10));
    let (tx, rx) = gmp::chan::<bool>(0);
    gmp::go!(timer, tx => tx.send(timer.receiver().recv().is_some()));
    println!("sent: {}", if rx.recv() == Some(true) { "fired" } else { "not fired" });

    // A ticker with a clone elsewhere keeps ticking when this G drops its copy.
    let ticker = Ticker::new(ms(5));
    let (copy_tx, copy_rx) = gmp::chan::<Ticker>(1);
    copy_tx.send(ticker.clone());
    let ticks = ticker.receiver().clone();
    drop(ticker);
    let ticks_after_drop = (0..3).filter(|_| ticks.recv().is_some()).count();
    println!("clone: {}", if ticks_after_drop == 3 { "ticking" } else { "stopped early" });

    // Once the last copy goes (here, the one buffered in a channel), the runtime stops it.
    drop(copy_rx.recv());
    drop((copy_tx, copy_rx));
    // A tick sent before the drop may wait in the channel, or be on its way from a timer that fired on another
    // M just as it was stopped: let that land, then drain.
    time::sleep(ms(10));
    while ticks.try_recv().is_ok() {}
    time::sleep(ms(50));
    match ticks.try_recv() {
        Err(TryRecvError::Empty) => println!("dropped: stopped"),
        other => println!("dropped: still ticking ({other:?})"),
    }

    // Another G's copy stops it: this G's copy then never fires.
    let timer = Timer::new(ms(30));
    let (done_tx, done) = gmp::chan::<bool>(0);
    {
        let timer = timer.clone();
        gmp::go!(timer, done_tx => done_tx.send(timer.stop()));
    }
    let stopped_there = done.recv() == Some(true);
    let fired = gmp::select! {
        recv(timer.receiver()) -> _ => true,
        recv(time::after(ms(80))) -> _ => false,
    };
    println!("remote stop: {}", if stopped_there && !fired && !timer.stop() { "ok" } else { "failed" });
}
