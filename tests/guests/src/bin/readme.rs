//! The guest example of README.md, kept compiling and running. Prints 0 to 4, one per line.

use gmp::{chan, select};

fn main() {
    let (tx, rx) = chan::<u64>(0); // unbuffered: every send waits for a receiver
    let (quit_tx, quit_rx) = chan::<()>(0);
    gmp::go!(tx, quit_rx => {
        let mut n = 0;
        loop {
            select! {
                send(tx, n) => n += 1,
                recv(quit_rx) -> _ => return,
            }
        }
    });
    for _ in 0..5 {
        println!("{}", rx.recv().unwrap());
    }
    quit_tx.send(());
}
