//! Deadlock detection: main waits for a message nobody will send while another G sends on a channel nobody
//! receives from, so every G is blocked for good. Prints `about to deadlock`; then the runtime reports the
//! deadlock on stderr and exits with status 2.

fn main() {
    println!("about to deadlock");
    let (stuck_tx, _stuck_rx) = gmp::chan::<u32>(0);
    gmp::go!(stuck_tx => stuck_tx.send(1));
    let (_never_tx, never_rx) = gmp::chan::<u32>(0);
    never_rx.recv();
    unreachable!("nothing sends on this channel");
}
