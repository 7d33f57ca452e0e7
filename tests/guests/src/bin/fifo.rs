//! Channels are FIFO: a buffered channel hands values out in the order they went in, and senders blocked on
//! an unbuffered channel are served in the order they blocked (run with --procs 1: each sender is given
//! time to block before the next is started). Prints `buffered fifo ok`,
//! `blocked senders: 0 1 2 3 4 5 6 7 8 9`, `fifo ok`.

use gmp::chan;

fn main() {
    let (tx, rx) = chan::<u32>(100);
    for i in 0..100 {
        tx.send(i);
    }
    let buffered_ok = (0..100).all(|i| rx.recv() == Some(i));
    println!("buffered fifo {}", if buffered_ok { "ok" } else { "BROKEN" });

    let (tx, rx) = chan::<u32>(0);
    for i in 0..10 {
        let tx = tx.clone();
        gmp::go!(tx, i => tx.send(i));
        for _ in 0..200 {
            gmp::yield_now();
        }
    }
    let order: Vec<String> = rx.iter().take(10).map(|i| i.to_string()).collect();
    println!("blocked senders: {}", order.join(" "));

    if buffered_ok {
        println!("fifo ok");
    }
}
