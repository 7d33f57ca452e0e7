//! A trap in any G ends the program (status 2). Prints `G about to trap`.

fn main() {
    gmp::go(|| {
        println!("G about to trap");
        core::arch::wasm32::unreachable();
    });
    let (_tx, rx) = gmp::chan::<u32>(0);
    rx.recv();
    println!("after: main was woken");
}
