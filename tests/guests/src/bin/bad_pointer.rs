//! A message pointer outside the G's memory traps it before anything is sent. Prints `before`.

fn main() {
    let h = gmp::sys::chan_new(1);
    println!("before");
    // SAFETY: deliberately not: the range runs past the end of the 4 GiB address space. The runtime checks
    // it before reading anything, so nothing in this G is touched.
    unsafe { gmp::sys::chan_send(h, 0xFFFF_FFF0usize as *const u8, 100, core::ptr::null(), 0) };
    println!("after: a bad pointer was accepted");
}
