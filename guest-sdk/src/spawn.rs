//! Starting Gs: [`go`](fn@crate::go), [`go_with`], the [`go!`](crate::go!) macro, and the
//! `gmp_entry` export where every G but the main one begins.
//!
//! A new G is a fresh instance of this same module, so it shares no memory with its spawner; all it gets is a
//! message. `spawn`'s `entry` is the function-table index of a trampoline monomorphized for the argument type,
//! and the message is the user function's table index followed by the encoded argument. On `wasm32` a Rust
//! function pointer *is* its index in the module's indirect-function table, and every instance of one module
//! starts with the same table (the element segments fill it; nothing in Rust code grows or writes it), so an
//! index taken in one G names the same function in all of them.

use crate::message::{recycle_encoder, take_encoder};
use crate::{Message, sys};

/// What a trampoline is: called by `gmp_entry` with the new G's spawn message.
type Trampoline = fn(&[u8], &[u32]);

/// Starts a new G running `f` and returns its id.
///
/// `f` is a function pointer, not a closure: a new G shares no memory with this one, so it cannot borrow or
/// own anything here. Closures that capture nothing coerce to `fn()`; one that captures a variable is a
/// compile error ("closures can only be coerced to `fn` types if they do not capture any variables"). To give
/// the new G values, use [`go_with`] or [`go!`](crate::go!).
///
/// ```
/// gmp::go(|| println!("hello from G {}", gmp::goid()));
///
/// fn worker() {
///     println!("worker");
/// }
/// let id: u64 = gmp::go(worker);
/// assert!(id > 1);
/// ```
pub fn go(f: fn()) -> u64 {
    spawn(call_unit, f as usize, &())
}

/// Starts a new G running `f(arg)` and returns its id. `arg` is sent to the new G as a [`Message`], so it can
/// carry channel ends and [`WaitGroup`](crate::WaitGroup)s; this G's copy is dropped once the G is spawned.
///
/// As with [`go`](fn@crate::go), `f` must not capture anything.
///
/// ```
/// let (tx, rx) = gmp::chan::<u64>(0);
/// gmp::go_with((tx, 20u64), |(tx, n)| tx.send(n * 2));
/// assert_eq!(rx.recv(), Some(40));
/// ```
pub fn go_with<T: Message>(arg: T, f: fn(T)) -> u64 {
    spawn(call_with::<T>, f as usize, &arg)
}

fn spawn<T: Message>(trampoline: Trampoline, f: usize, arg: &T) -> u64 {
    let (trampoline, f) = (table_index(trampoline as usize), table_index(f));
    let mut enc = take_encoder();
    f.encode(&mut enc);
    arg.encode_last(&mut enc);
    let (bytes, handles) = (enc.bytes(), enc.handles());
    // SAFETY: the pointer/length pairs come from live slices; `trampoline` is the table index of a function of
    // exactly the type `gmp_entry` calls it as, and the bytes are what that trampoline reads. The caller
    // still owns `arg` and drops it (closing its handles) after the runtime has taken its own duplicates.
    let id = unsafe { sys::spawn(trampoline, bytes.as_ptr(), bytes.len(), handles.as_ptr(), handles.len()) };
    recycle_encoder(enc);
    id
}

/// `f` as a value another G can call: its table index, the same in every instance (see the module doc).
pub(crate) fn fn_index<A, R>(f: fn(A) -> R) -> u32 {
    table_index(f as usize)
}

/// The function [`fn_index`] gave `i` for.
///
/// # Safety
/// `i` must come from `fn_index::<A, R>` in this module (in any G): the types must agree.
pub(crate) unsafe fn fn_at<A, R>(i: u32) -> fn(A) -> R {
    // SAFETY: the caller guarantees `i` is the table index of an `fn(A) -> R`; on wasm32 such a pointer is
    // its index, the same in every instance of the module.
    unsafe { core::mem::transmute::<usize, fn(A) -> R>(i as usize) }
}

/// A function pointer as the 32-bit table index the ABI carries. Always exact on wasm32; elsewhere (where
/// pointers are addresses) refusing is what keeps the transmutes in the trampolines sound.
fn table_index(f: usize) -> u32 {
    u32::try_from(f).expect("gmp: function pointers must be 32-bit table indices (wasm32)")
}

fn call_unit(bytes: &[u8], _handles: &[u32]) {
    let f = read_index(bytes);
    // SAFETY: `go` wrote the index of an `fn()` (see the module doc for why indices agree across Gs), and
    // only `go` spawns with `call_unit` as the trampoline.
    let f = unsafe { core::mem::transmute::<usize, fn()>(f) };
    f();
}

fn call_with<T: Message>(bytes: &[u8], handles: &[u32]) {
    let f = read_index(bytes);
    // SAFETY: `go_with::<T>` wrote the index of an `fn(T)` and is the only spawner that passes
    // `call_with::<T>`, so the types agree; indices agree across Gs (module doc).
    let f = unsafe { core::mem::transmute::<usize, fn(T)>(f) };
    f(crate::message::decode_message(&bytes[4..], handles, "a spawn argument"));
}

fn read_index(bytes: &[u8]) -> usize {
    let index = bytes.first_chunk::<4>().expect("gmp: spawn message without a function index");
    u32::from_le_bytes(*index) as usize
}

/// Where every G except the main one starts; the runtime calls it, never a program.
///
/// It fetches the spawn message (`arg_len` bytes, `nhandles` handles) and runs the trampoline at table index
/// `entry`. The SDK defines it so programs need not: rustc exports `#[no_mangle]` functions from `wasm32`
/// executables, dependencies' included (checked with rustc 1.95: the linker gets `--export=gmp_entry`).
///
/// # Safety
/// `entry` must be a trampoline index that [`go`](fn@crate::go) or [`go_with`] passed to `spawn` in
/// this same module, and the G's pending message the one spawned with it.
///
/// ```
/// // What the runtime does for each new G; here `gmp::go` sets up the same thing safely.
/// gmp::go(|| println!("started in gmp_entry"));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gmp_entry(entry: u32, arg_len: u32, nhandles: u32) {
    // The constructor installed it already where the linker wraps exports in constructor calls; where it
    // did not, this does.
    crate::panic::install();
    // SAFETY: the caller guarantees `entry` is the table index of a `Trampoline` (a `fn` pointer on wasm32 is
    // its table index, the same in every instance of the module), paired with this spawn message.
    let trampoline = unsafe { core::mem::transmute::<usize, Trampoline>(entry as usize) };
    crate::channel::with_pending_raw(arg_len, nhandles, trampoline);
    // Only the main G gets std's exit-time flush: without this, a last `print!` without a newline would be
    // lost with the instance.
    let _ = std::io::Write::flush(&mut std::io::stdout());
}

/// Starts a new G running a block, moving the listed variables into it.
///
/// `go!(a, b => body)` is `go_with((a, b), |(a, b)| body)`, `body` being a block or any expression.
/// The variables are sent to the new G as one [`Message`] tuple (so each must be a `Message`: channel ends, `WaitGroup`s, numbers, strings...), and
/// the block may use nothing else from the spawning G. It evaluates to the new G's id. The bindings are
/// immutable; rebind with `let mut` inside the block.
///
/// ```
/// let (tx, rx) = gmp::chan::<String>(0);
/// let name = String::from("gopher");
/// gmp::go!(tx, name => {
///     tx.send(format!("hello, {name}"));
/// });
/// assert_eq!(rx.recv().as_deref(), Some("hello, gopher"));
///
/// gmp::go!(=> { println!("no arguments") });
/// ```
#[macro_export]
macro_rules! go {
    ($($var:ident),* $(,)? => $body:expr) => {
        $crate::go_with(($($var,)*), |($($var,)*)| $body)
    };
}
