//! Prints its arguments after its name, one per line: a plain Rust program that uses nothing of the SDK,
//! for the command line's argument passing (and as a WASI program that never spawns).

fn main() {
    for a in std::env::args().skip(1) {
        println!("{a}");
    }
}
