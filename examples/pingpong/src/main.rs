//! Two Gs bounce a counter over two unbuffered channels, N times (first argument, default 100000):
//! every round trip is two rendezvous. Prints `pingpong: 100000 round trips`.

fn main() {
    let rounds: u64 = std::env::args().nth(1).map_or(100_000, |a| a.parse().expect("N must be a number"));
    let (ping_tx, ping_rx) = gmp::chan::<u64>(0);
    let (pong_tx, pong_rx) = gmp::chan::<u64>(0);

    // The other player: returns each counter plus one, until the pings stop.
    gmp::go!(ping_rx, pong_tx => {
        for n in &ping_rx {
            pong_tx.send(n + 1);
        }
    });

    let mut count = 0;
    for _ in 0..rounds {
        ping_tx.send(count);
        count = pong_rx.recv().expect("the other player never closes");
    }
    ping_tx.close();
    assert_eq!(count, rounds);
    println!("pingpong: {count} round trips");
}
