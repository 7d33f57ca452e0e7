//! The channel-cycle leak of the issue: N times (first argument, default 1000000) create a channel with a
//! buffer of one, send into it a message carrying the channel's own handle (`self`, the default second
//! argument) or no handle (`plain`), and close the handle. Prints `ns_per_round=X`; measure the runtime's
//! peak RSS from outside (`/usr/bin/time -f %M`, or `gmp-bench`), which a leak makes grow with N.

use gmp::sys;
use gmp::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(1_000_000, |a| a.parse().expect("N"));
    let with_self = match args.next().as_deref() {
        None | Some("self") => true,
        Some("plain") => false,
        Some(other) => panic!("second argument: `self` or `plain`, not {other:?}"),
    };
    let t0 = Instant::now();
    for _ in 0..n {
        let h = sys::chan_new(1);
        let handles: &[u32] = if with_self { &[h] } else { &[] };
        // SAFETY: the message is empty and `handles` is readable for its length.
        let sent = unsafe { sys::chan_try_send(h, core::ptr::null(), 0, handles.as_ptr(), handles.len()) };
        assert_eq!(sent, 1, "a fresh channel with a buffer of one takes a message");
        sys::handle_close(h);
    }
    println!("ns_per_round={:.1}", t0.elapsed().as_nanos() as f64 / n as f64);
}
