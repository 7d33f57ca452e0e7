//! The calling G's view of the scheduler: giving way, asking who it is and how many Ps there are, and ending
//! the program.

use std::io::Write;

use crate::sys;

/// Lets other Gs run (Go's `runtime.Gosched`): this G goes to the back of the global run queue.
///
/// Gs are preempted anyway, so this is for politeness or for tests that want others to get ahead.
///
/// ```
/// gmp::go(|| println!("probably first"));
/// gmp::yield_now();
/// ```
pub fn yield_now() {
    sys::r#yield();
}

/// The calling G's id: 1 for the main G, then increasing in spawn order.
///
/// ```
/// assert_eq!(gmp::goid(), 1); // in main
/// ```
pub fn goid() -> u64 {
    sys::goid()
}

/// The number of Ps (GOMAXPROCS): how many Gs can run at once.
///
/// ```
/// println!("running on {} Ps", gmp::gomaxprocs());
/// ```
pub fn gomaxprocs() -> usize {
    sys::gomaxprocs() as usize
}

/// How many Gs of this program are alive, this one included (Go's `runtime.NumGoroutine`).
///
// Its own program: rustdoc merges examples into one, where Gs of earlier ones may still be
// winding down.
/// ```standalone_crate
/// assert_eq!(gmp::num_goroutine(), 1);
/// let (tx, rx) = gmp::chan::<()>(0);
/// gmp::go!(rx => {
///     rx.recv();
/// });
/// assert_eq!(gmp::num_goroutine(), 2);
/// tx.send(());
/// ```
pub fn num_goroutine() -> usize {
    sys::num_goroutine() as usize
}

/// Ends the whole program with status `code`, from any G; other Gs stop wherever they are.
///
/// This G's buffered standard output is flushed first; nothing else runs, not even destructors. WASI's
/// `proc_exit`, which `std::process::exit` calls, has the same effect.
///
/// ```no_run
/// gmp::go(|| gmp::exit(3));
/// gmp::chan::<()>(0).1.recv(); // the program ends with status 3 while main waits
/// ```
pub fn exit(code: i32) -> ! {
    // Exiting cannot report a failed flush anywhere: ignoring it is all that is left to do.
    let _ = std::io::stdout().flush();
    sys::exit(code)
}
