//! Go by Example, *Channel Directions*: Go's send-only `chan<- T` and receive-only `<-chan T` parameters
//! are the two ends the SDK hands out anyway, `Sender<T>` and `Receiver<T>`: `ping` can only send, `pong`
//! receives from one channel and sends on another. Prints `passed message`.

use gmp::{Receiver, Sender};

fn ping(pings: &Sender<String>, msg: &str) {
    pings.send(msg.to_string());
}

fn pong(pings: &Receiver<String>, pongs: &Sender<String>) {
    let msg = pings.recv().expect("ping sent first");
    pongs.send(msg);
}

fn main() {
    let (pings_tx, pings_rx) = gmp::chan::<String>(1);
    let (pongs_tx, pongs_rx) = gmp::chan::<String>(1);
    ping(&pings_tx, "passed message");
    pong(&pings_rx, &pongs_tx);
    println!("{}", pongs_rx.recv().unwrap());
}
