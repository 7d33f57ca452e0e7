//! select! with and without default. Prints `default`, `recv 7`, `sent`, `default`, `closed`,
//! `sent to waiter`.

use gmp::{chan, select};

fn main() {
    let (tx, rx) = chan::<u32>(1);
    select! {
        recv(rx) -> v => println!("recv {v:?}"),
        default => println!("default"),
    }
    tx.send(7);
    select! {
        recv(rx) -> v => println!("recv {}", v.expect("rx is open")),
        default => println!("default"),
    }

    let (tx, _rx) = chan::<u32>(1);
    for _ in 0..2 {
        select! {
            send(tx, 1) => println!("sent"),
            default => println!("default"),
        }
    }

    let (tx, rx) = chan::<u32>(1);
    tx.close();
    select! {
        recv(rx) -> v => println!("{}", if v.is_none() { "closed" } else { "a value" }),
        default => println!("default"),
    }

    let (tx, rx) = chan::<u32>(0);
    let (ack_tx, ack_rx) = chan::<u32>(0);
    gmp::go!(rx, ack_tx => ack_tx.send(rx.recv().expect("main sends")));
    let (_never_tx, never) = chan::<u32>(0);
    select! {
        send(tx, 5) => println!("sent to waiter"),
        recv(never) -> v => println!("recv from never: {v:?}"),
    }
    assert_eq!(ack_rx.recv(), Some(5));
}
