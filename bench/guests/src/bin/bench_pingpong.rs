//! Unbuffered ping-pong: two Gs bounce a counter N times (first argument, default 1000000). Prints
//! `ns_per_op=X` per round trip. Go twin: bench/go/pingpong.go.

use gmp::time::Instant;

fn main() {
    let n: u64 = std::env::args().nth(1).map_or(1_000_000, |a| a.parse().expect("N"));
    let (ping_tx, ping_rx) = gmp::chan::<u64>(0);
    let (pong_tx, pong_rx) = gmp::chan::<u64>(0);
    gmp::go!(ping_rx, pong_tx => {
        for v in &ping_rx {
            pong_tx.send(v + 1);
        }
    });
    let t0 = Instant::now();
    let mut v = 0;
    for _ in 0..n {
        ping_tx.send(v);
        v = pong_rx.recv().expect("pong");
    }
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(v, n);
    println!("ns_per_op={ns:.1}");
    ping_tx.close();
}
