//! Many parked Gs: N Gs (first argument, default 10000) block on one channel until it is closed, then
//! report. Prints `parked: N`, `all done`. With a second argument `hold`, main waits for a line on stdin
//! after `parked: N`, so that the resident memory of N parked Gs can be measured from outside.

use gmp::chan;

fn main() {
    let n: usize = std::env::args().nth(1).map_or(10_000, |a| a.parse().expect("N must be a number"));
    let (gate_tx, gate) = chan::<()>(0);
    let (done_tx, done) = chan::<u8>(n);
    for _ in 0..n {
        let (gate, done_tx) = (gate.clone(), done_tx.clone());
        gmp::go!(gate, done_tx => {
            gate.recv();
            done_tx.send(1);
        });
    }
    for _ in 0..100 {
        gmp::yield_now();
    }
    println!("parked: {n}");
    if std::env::args().nth(2).as_deref() == Some("hold") {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).expect("stdin");
    }
    gate_tx.close();
    let count: usize = done.iter().take(n).map(usize::from).sum();
    assert_eq!(count, n);
    println!("all done");
}
