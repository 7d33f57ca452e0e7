//! A handle the G does not hold traps it. Prints `before`.

fn main() {
    println!("before");
    let byte = 0u8;
    // SAFETY: the message is one readable byte; the handle is deliberately one this G never got.
    unsafe { gmp::sys::chan_send(9999, &byte, 1, core::ptr::null(), 0) };
    println!("after: a forged handle was accepted");
}
