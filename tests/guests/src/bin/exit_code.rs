//! gmp::exit from any G ends the program with its code: status 3 here. Prints nothing.

fn main() {
    gmp::go(|| gmp::exit(3));
    let (_tx, rx) = gmp::chan::<u32>(0);
    rx.recv();
}
