//! Go by Example, *Channel Buffering*: `make(chan string, 2)` takes two sends with no receiver waiting,
//! so main can fill it itself and drain it afterwards. Prints `buffered` then `channel`.

fn main() {
    let (tx, rx) = gmp::chan::<String>(2);
    tx.send("buffered".to_string());
    tx.send("channel".to_string());
    println!("{}", rx.recv().unwrap());
    println!("{}", rx.recv().unwrap());
}
