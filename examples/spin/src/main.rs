//! Preemption: a G spins forever without calling anything, yet main still gets to run (even with one P),
//! exchanges messages with another G and returns, which ends the program with status 0.
//! Prints `main finished while a G spins`.

fn spin() {
    let mut x: u64 = 1;
    // No call in the body: only the runtime's preemption can take this G off its P.
    loop {
        x = x.wrapping_mul(3).wrapping_add(1);
        core::hint::black_box(x);
    }
}

fn main() {
    gmp::go(spin);
    let (tx, rx) = gmp::chan::<u32>(0);
    let (back_tx, back_rx) = gmp::chan::<u32>(0);
    gmp::go!(rx, back_tx => {
        for n in &rx {
            back_tx.send(n * 2);
        }
    });
    for n in 0..100 {
        tx.send(n);
        assert_eq!(back_rx.recv(), Some(n * 2));
    }
    println!("main finished while a G spins");
}
