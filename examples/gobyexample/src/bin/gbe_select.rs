//! Go by Example, *Select*: main waits on two channels at once with `select`, taking each value as it
//! comes. Two Gs answer after 10 ms and 100 ms; main prints `received one` and `received two`, in the
//! order they arrive (that order on a machine that is not overloaded).

use std::time::Duration;

use gmp::time::sleep;

fn main() {
    let (c1, r1) = gmp::chan::<String>(0);
    let (c2, r2) = gmp::chan::<String>(0);
    gmp::go!(c1 => {
        sleep(Duration::from_millis(10));
        c1.send("one".to_string());
    });
    gmp::go!(c2 => {
        sleep(Duration::from_millis(100));
        c2.send("two".to_string());
    });

    for _ in 0..2 {
        gmp::select! {
            recv(r1) -> msg => println!("received {}", msg.unwrap()),
            recv(r2) -> msg => println!("received {}", msg.unwrap()),
        }
    }
}
