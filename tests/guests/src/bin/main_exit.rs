//! When main returns the program exits 0, whatever the other Gs are doing. Prints `main done`.

fn main() {
    let (tx, rx) = gmp::chan::<u32>(0);
    for _ in 0..3 {
        let rx = rx.clone();
        gmp::go!(rx => {
            rx.recv();
        });
    }
    gmp::go(|| {
        loop {
            gmp::yield_now();
        }
    });
    println!("main done");
    // Kept open to the end, so the blocked Gs stay blocked rather than seeing a closed channel.
    drop(tx);
}
