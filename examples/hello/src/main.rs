//! Spawning a G and receiving from it over a channel. Prints:
//!
//! ```text
//! hello from G 2
//! hello, world
//! ```

fn main() {
    let (tx, rx) = gmp::chan::<String>(0);
    gmp::go!(tx => tx.send(format!("hello from G {}", gmp::goid())));
    println!("{}", rx.recv().expect("the greeter sends before anything closes"));
    println!("hello, world");
}
