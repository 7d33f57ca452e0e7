//! Channel ends travel inside messages and spawn arguments. Prints `reply via passed sender: 42`,
//! `sum via spawn args: 6`, `two hops: ok`.

use gmp::{Sender, chan};

fn main() {
    let (reply_tx, reply_rx) = chan::<u32>(0);
    let (req_tx, req_rx) = chan::<Sender<u32>>(0);
    gmp::go!(req_rx => req_rx.recv().expect("main sends a sender").send(42));
    req_tx.send(reply_tx);
    println!("reply via passed sender: {}", reply_rx.recv().expect("the G replies"));

    let (values_tx, values_rx) = chan::<u32>(3);
    let (sum_tx, sum_rx) = chan::<u32>(0);
    gmp::go_with((values_rx, sum_tx), |(values_rx, sum_tx)| {
        sum_tx.send((0..3).map(|_| values_rx.recv().expect("main sends 3")).sum());
    });
    for v in 1..=3 {
        values_tx.send(v);
    }
    println!("sum via spawn args: {}", sum_rx.recv().expect("the G sums"));

    let (out_tx, out_rx) = chan::<String>(0);
    let (hop1_tx, hop1_rx) = chan::<Sender<String>>(0);
    let (hop2_tx, hop2_rx) = chan::<Sender<String>>(0);
    gmp::go!(hop1_rx, hop2_tx => hop2_tx.send(hop1_rx.recv().expect("main sends")));
    gmp::go!(hop2_rx => hop2_rx.recv().expect("the first hop forwards").send("ok".into()));
    hop1_tx.send(out_tx);
    println!("two hops: {}", out_rx.recv().expect("the second hop answers"));
}
