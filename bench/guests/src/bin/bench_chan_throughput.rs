//! Buffered channel throughput: P producers and P consumers (first argument, default 1) move M messages
//! (second argument, default 2000000) through one channel of capacity 1024. Prints `ns_per_op=X` per
//! message (wall time / messages). Go twin: bench/go/chan_throughput.go.

use gmp::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let p: u64 = args.next().map_or(1, |a| a.parse().expect("P"));
    let m: u64 = args.next().map_or(2_000_000, |a| a.parse().expect("M"));
    let (tx, rx) = gmp::chan::<u64>(1024);
    let (sent_tx, sent_rx) = gmp::chan::<()>(p as usize);
    let (count_tx, count_rx) = gmp::chan::<u64>(p as usize);
    let t0 = Instant::now();
    for i in 0..p {
        let (tx, sent_tx) = (tx.clone(), sent_tx.clone());
        let per = m / p + u64::from(i < m % p);
        gmp::go!(tx, sent_tx, per => {
            for k in 0..per {
                tx.send(k);
            }
            sent_tx.send(());
        });
    }
    for _ in 0..p {
        let (rx, count_tx) = (rx.clone(), count_tx.clone());
        gmp::go!(rx, count_tx => count_tx.send(rx.iter().count() as u64));
    }
    for _ in 0..p {
        sent_rx.recv();
    }
    tx.close();
    let total: u64 = count_rx.iter().take(p as usize).sum();
    let ns = t0.elapsed().as_nanos() as f64 / m as f64;
    assert_eq!(total, m, "messages lost or duplicated");
    println!("ns_per_op={ns:.1}");
}
