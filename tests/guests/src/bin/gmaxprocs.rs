//! The scheduler queries. Prints `gomaxprocs: <n>`, `goid: 1`, `child goid differs`.

fn main() {
    println!("gomaxprocs: {}", gmp::gomaxprocs());
    println!("goid: {}", gmp::goid());
    let (tx, rx) = gmp::chan::<u64>(0);
    gmp::go!(tx => tx.send(gmp::goid()));
    let child = rx.recv().expect("the child reports");
    println!("child goid {}", if child != 1 { "differs" } else { "is 1" });
}
