//! A new G reads its spawn message onto its stack when the message fits the SDK's inline buffers, and onto
//! the heap when it does not. This checks both sides of that line, and that the stack side allocates nothing:
//! a G that allocates nothing never sets up the allocator, whose state and end-of-heap record would cost it
//! two pages of written memory.
//!
//! Each G is an instance of its own, so the counting allocator's count is that G's alone. Prints
//! `allocations before the body: 0` (a small G), then for each message shape `bytes B, handles H: ok`,
//! then `spawn args ok`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use gmp::{Receiver, Sender};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn pattern(len: usize, salt: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + salt) % 251) as u8).collect()
}

fn main() {
    let (tx, rx) = gmp::chan::<u64>(0);
    gmp::go!(tx => tx.send(ALLOCATIONS.load(Ordering::Relaxed) as u64));
    println!("allocations before the body: {}", rx.recv().expect("the G replies"));

    // Byte counts around the inline buffer's 128 (the message adds the function's index and the lengths),
    // and far past it; handle counts around its 8 (the reply channel is one of them).
    for len in (96..=160).chain([1000, 100_000]) {
        for extra in [0, 6, 7, 8, 19] {
            let (reply, replies) = gmp::chan::<u64>(1);
            let (ends, rxs): (Vec<Sender<u64>>, Vec<Receiver<u64>>) = (0..extra).map(|_| gmp::chan(1)).unzip();
            let bytes = pattern(len, extra);
            gmp::go!(reply, bytes, ends => {
                for (i, end) in ends.iter().enumerate() {
                    end.send(i as u64);
                }
                reply.send(bytes.len() as u64 * 1000 + u64::from(bytes == pattern(bytes.len(), ends.len())));
            });
            let got = replies.recv().expect("the G replies");
            let ends_ok = rxs.iter().enumerate().all(|(i, r)| r.recv() == Some(i as u64));
            if got != len as u64 * 1000 + 1 || !ends_ok {
                println!("bytes {len}, handles {}: CORRUPT (reply {got}, ends {ends_ok})", extra + 1);
                std::process::exit(1);
            }
        }
    }
    println!("spawn args ok");
}
