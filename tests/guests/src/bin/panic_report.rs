//! A Rust panic in G 2 ends the program with Go's report: `panic: <message>` and the G's stack from the
//! function that panicked. Prints `G 2 about to panic` first. With the argument `main`, main panics instead,
//! through `Option::expect` (a `#[track_caller]` panic: the location is the caller's line).

fn check(n: u32) {
    if n == 7 {
        panic!("boom {n}: the answer was wrong");
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("main") {
        let missing: Option<u32> = std::env::var("UNSET_IN_THIS_TEST").ok().map(|_| 1);
        missing.expect("main wanted a value");
    }
    gmp::go(|| {
        println!("G 2 about to panic");
        check(7);
    });
    let (_tx, rx) = gmp::chan::<u32>(0);
    rx.recv();
}
