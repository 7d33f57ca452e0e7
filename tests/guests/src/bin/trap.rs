//! A trap in any G ends the program (status 2). Prints `G about to trap`.

/// A frame of the G's own for the report to show (a closure's body may be inlined into the SDK's caller).
#[inline(never)]
fn trap_here() {
    core::arch::wasm32::unreachable();
}

fn main() {
    gmp::go(|| {
        println!("G about to trap");
        trap_here();
    });
    let (_tx, rx) = gmp::chan::<u32>(0);
    rx.recv();
    println!("after: main was woken");
}
