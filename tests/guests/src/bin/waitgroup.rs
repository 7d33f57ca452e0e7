//! A WaitGroup counts down as Gs call done from their own memories. Prints `waitgroup: 100 done`,
//! `sum: 5050`.

fn main() {
    let wg = gmp::WaitGroup::new();
    let (tx, rx) = gmp::chan::<u64>(100);
    for i in 1..=100u64 {
        wg.add(1);
        let (wg, tx) = (wg.clone(), tx.clone());
        gmp::go!(wg, tx, i => {
            tx.send(i);
            wg.done();
        });
    }
    wg.wait();
    // Every G sent its value before its done, so all 100 are buffered now.
    let sum: u64 = (0..100).map(|_| rx.try_recv().expect("sent before done")).sum();
    println!("waitgroup: 100 done");
    println!("sum: {sum}");
}
