//! An unbuffered send completes only once a receiver has arrived, and try_send never completes without
//! one. Prints `rendezvous ok`, `try_send unbuffered: full`, `try_send cap1: ok then full`.

use gmp::{TrySendError, chan};

fn main() {
    let (tx, rx) = chan::<u32>(0);
    let (log_tx, log_rx) = chan::<String>(16);
    let receiver_log = log_tx.clone();
    gmp::go!(rx, receiver_log => {
        // Give main every chance to reach its send first.
        for _ in 0..50 {
            gmp::yield_now();
        }
        receiver_log.send("recv-start".into());
        rx.recv();
        receiver_log.send("recv-done".into());
    });
    tx.send(1);
    log_tx.send("send-done".into());
    let order: Vec<String> = log_rx.iter().take(3).collect();
    let at = |entry: &str| order.iter().position(|e| e == entry);
    if at("recv-start") < at("send-done") && at("recv-done").is_some() {
        println!("rendezvous ok");
    } else {
        println!("rendezvous BROKEN: {}", order.join(" "));
    }

    let (tx, _rx) = chan::<u32>(0);
    match tx.try_send(1) {
        Err(TrySendError::Full(1)) => println!("try_send unbuffered: full"),
        other => println!("try_send unbuffered: {other:?}"),
    }

    let (tx, _rx) = chan::<u32>(1);
    match (tx.try_send(1), tx.try_send(2)) {
        (Ok(()), Err(TrySendError::Full(2))) => println!("try_send cap1: ok then full"),
        other => println!("try_send cap1: {other:?}"),
    }
}
