//! WASI proc_exit (std::process::exit) from any G ends the program with its code: status 4 here. Prints
//! nothing.

fn main() {
    gmp::go(|| std::process::exit(4));
    let (_tx, rx) = gmp::chan::<u32>(0);
    rx.recv();
}
