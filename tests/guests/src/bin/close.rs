//! Closing: receivers drain the buffer, then see the close; a blocked receiver is woken by it; iteration
//! ends at it. Prints `drained: 1 2 3`, `then: closed`, `try_recv: closed`, `len 0 cap 3`,
//! `blocked receiver woke: closed`, `iter: 4 5 6`.

use gmp::{TryRecvError, chan};

fn main() {
    let (tx, rx) = chan::<u32>(3);
    for i in 1..=3 {
        tx.send(i);
    }
    tx.close();
    let drained: Vec<String> = (0..3).map(|_| rx.recv().map_or("none".into(), |v| v.to_string())).collect();
    println!("drained: {}", drained.join(" "));
    println!("then: {}", if rx.recv().is_none() { "closed" } else { "a value" });
    println!("try_recv: {}", if rx.try_recv() == Err(TryRecvError::Closed) { "closed" } else { "not closed" });
    println!("len {} cap {}", rx.len(), rx.cap());

    let (tx, rx) = chan::<u32>(0);
    let (report_tx, report_rx) = chan::<String>(1);
    gmp::go!(rx, report_tx => {
        let outcome = if rx.recv().is_none() { "closed" } else { "a value" };
        report_tx.send(outcome.into());
    });
    // Usually lets the receiver block first; if it has not, it finds the channel closed all the same.
    for _ in 0..20 {
        gmp::yield_now();
    }
    tx.close();
    println!("blocked receiver woke: {}", report_rx.recv().expect("the receiver reports"));

    let (tx, rx) = chan::<u32>(3);
    for i in 4..=6 {
        tx.send(i);
    }
    tx.close();
    let items: Vec<String> = rx.iter().map(|v| v.to_string()).collect();
    println!("iter: {}", items.join(" "));
}
