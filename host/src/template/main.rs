//! A wasm-gmp program: `cargo run` builds it for wasm32-wasip1 and runs it with `wasm-gmp run`.
//!
//! Each G is its own instance, sharing no memory with the others: pass data in `go!` and over channels,
//! and share state through `gmp::sync` (a `static` exists once per G).

fn main() {
    let (tx, rx) = gmp::chan::<String>(0);
    let wg = gmp::WaitGroup::new();
    for n in 1..=3u32 {
        wg.add(1);
        let (tx, wg) = (tx.clone(), wg.clone());
        gmp::go!(tx, wg, n => {
            tx.send(format!("hello from G {} (worker {n})", gmp::goid()));
            wg.done();
        });
    }
    drop(tx);
    let mut lines: Vec<String> = rx.iter().take(3).collect();
    lines.sort();
    for line in lines {
        println!("{line}");
    }
    wg.wait();
}
