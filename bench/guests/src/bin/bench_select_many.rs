//! Many Gs waiting on one channel, in `select!` or in plain receives: N workers (first argument, default
//! 10000) share N×M messages (second argument M, default 100) from one unbuffered channel. With `select`
//! (third argument, the default) each worker loops on `select!` over that channel and a quit channel that
//! never fires, so every wake-up must take the worker's entry out of the quit channel's queue of N; with
//! `recv` it loops on plain receives, the twin to compare with. Prints `ns_per_msg=X` (wall time from the
//! first send to the last worker's report, per message) and fails if a message was lost or duplicated.

use gmp::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(10_000, |a| a.parse().expect("N"));
    let m: u64 = args.next().map_or(100, |a| a.parse().expect("M"));
    let use_select = match args.next().as_deref() {
        None | Some("select") => true,
        Some("recv") => false,
        Some(other) => panic!("third argument: `select` or `recv`, not {other:?}"),
    };
    let (tx, rx) = gmp::chan::<u64>(0);
    let (_quit_tx, quit_rx) = gmp::chan::<()>(0);
    let (report_tx, report_rx) = gmp::chan::<(u64, u64)>(1024);
    for _ in 0..n {
        let (rx, quit_rx, report_tx) = (rx.clone(), quit_rx.clone(), report_tx.clone());
        gmp::go!(rx, quit_rx, report_tx, use_select => {
            let (mut count, mut sum) = (0u64, 0u64);
            loop {
                let v = if use_select {
                    gmp::select! {
                        recv(rx) -> v => v,
                        recv(quit_rx) -> _ => None,
                    }
                } else {
                    rx.recv()
                };
                let Some(v) = v else { break };
                count += 1;
                sum = sum.wrapping_add(v);
            }
            report_tx.send((count, sum));
        });
    }
    let total = n * m;
    let t0 = Instant::now();
    for v in 0..total {
        tx.send(v);
    }
    tx.close();
    let (count, sum) =
        report_rx.iter().take(n as usize).fold((0u64, 0u64), |(c, s), (dc, ds)| (c + dc, s.wrapping_add(ds)));
    let ns = t0.elapsed().as_nanos() as f64 / total as f64;
    assert_eq!(count, total, "messages lost or duplicated");
    assert_eq!(sum, (0..total).fold(0u64, u64::wrapping_add), "checksum mismatch");
    println!("ns_per_msg={ns:.1}");
}
