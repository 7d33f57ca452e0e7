//! The raw ABI: the functions the runtime provides in the wasm import module `gmp`, declared exactly as
//! `wit/README.md` lowers them, plus the constants and out-pointer layouts they use.
//!
//! Everything else in this crate is built on these declarations; a program needs them only to do what the safe
//! API deliberately does not (for example to test how the runtime treats a forged handle). Pointers are
//! addresses in the calling G's linear memory, lengths are `usize` (both are the core `i32` on `wasm32`), and
//! handles are `u32`. The runtime checks every pointer, length and handle and traps the calling G on a bad one,
//! so the functions that take no pointer are safe to call; those that do are `unsafe` because the runtime may
//! write through the pointers, and Rust must know nothing else owns that memory.
//!
//! Times (`wit/time.wit`) are `u64` nanoseconds on the runtime's monotonic clock, 0 being the program's start.
//! The socket functions (`wit/net.wit`) return an `i32` that is the result when it is not negative and the
//! negation of one of the `NET_E*` codes when it is; an address is a UTF-8 string `ip:port` passed as a
//! pointer and a length, or written by the runtime to a buffer the caller passes.
//!
//! ```
//! // A channel used through the raw ABI only: one byte sent into its buffer and received back.
//! let h = gmp::sys::chan_new(1);
//! let byte = 42u8;
//! // SAFETY: the pointer and length describe `byte`, which lives across the call; no handles are attached.
//! unsafe { gmp::sys::chan_send(h, &byte, 1, core::ptr::null(), 0) };
//! let mut buf = 0u8;
//! let mut info = gmp::sys::RecvInfo::default();
//! // SAFETY: the buffers are local, writable and exactly as large as the lengths passed.
//! let status = unsafe { gmp::sys::chan_recv(h, &mut buf, 1, core::ptr::null_mut(), 0, &mut info) };
//! assert_eq!((status, buf), (gmp::sys::RECV_OK, 42));
//! gmp::sys::handle_close(h);
//! ```

/// `chan_recv`, `chan_try_recv` and a select receive case: the message was written to the buffers.
///
/// ```
/// assert_eq!(gmp::sys::RECV_OK, 0);
/// ```
pub const RECV_OK: i32 = 0;

/// The message did not fit the buffers and is now the G's pending message: fetch it with [`msg_take`].
///
/// ```
/// assert_eq!(gmp::sys::RECV_PENDING, 1);
/// ```
pub const RECV_PENDING: i32 = 1;

/// The channel is closed and its buffer drained.
///
/// ```
/// assert_eq!(gmp::sys::RECV_CLOSED, 2);
/// ```
pub const RECV_CLOSED: i32 = 2;

/// Only from [`chan_try_recv`]: nothing to receive now.
///
/// ```
/// assert_eq!(gmp::sys::RECV_WOULD_BLOCK, 3);
/// ```
pub const RECV_WOULD_BLOCK: i32 = 3;

/// [`SelectCase::kind`] of a send case.
///
/// ```
/// assert_eq!(gmp::sys::CASE_SEND, 0);
/// ```
pub const CASE_SEND: u32 = 0;

/// [`SelectCase::kind`] of a receive case.
///
/// ```
/// assert_eq!(gmp::sys::CASE_RECV, 1);
/// ```
pub const CASE_RECV: u32 = 1;

/// What [`chan_recv`] and [`chan_try_recv`] write to their `info` pointer for [`RECV_OK`] and
/// [`RECV_PENDING`] (8 bytes).
///
/// ```
/// let info = gmp::sys::RecvInfo::default();
/// assert_eq!((info.len, info.nhandles), (0, 0));
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvInfo {
    /// The message's length in bytes.
    pub len: u32,
    /// How many handles came with it.
    pub nhandles: u32,
}

/// One case of [`select`] (24 bytes). Fields are `u32` rather than pointers so the layout is the ABI's on
/// every target.
///
/// ```
/// let rx = gmp::sys::chan_new(0);
/// let case = gmp::sys::SelectCase { handle: rx, kind: gmp::sys::CASE_RECV, ..Default::default() };
/// assert_eq!(core::mem::size_of_val(&case), 24);
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelectCase {
    /// The channel.
    pub handle: u32,
    /// [`CASE_SEND`] or [`CASE_RECV`].
    pub kind: u32,
    /// Send: the message's bytes. Receive: the buffer.
    pub ptr: u32,
    /// Send: the message's length. Receive: the buffer's capacity.
    pub len: u32,
    /// Send: the handles to attach. Receive: the handle buffer.
    pub hptr: u32,
    /// Send: how many handles. Receive: the handle buffer's capacity (in handles).
    pub hlen: u32,
}

/// What [`select`] writes to its `info` pointer when it chooses a receive case (12 bytes).
///
/// ```
/// let info = gmp::sys::SelectInfo::default();
/// assert_eq!(info.status, gmp::sys::RECV_OK);
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelectInfo {
    /// [`RECV_OK`], [`RECV_PENDING`] or [`RECV_CLOSED`].
    pub status: i32,
    /// The message's length in bytes.
    pub len: u32,
    /// How many handles came with it.
    pub nhandles: u32,
}

#[link(wasm_import_module = "gmp")]
unsafe extern "C" {
    /// Starts a new G in a fresh instance of this program at its `gmp_entry(entry, arg_len, nhandles)` export;
    /// the bytes and handles become the new G's pending message. Returns the new G's id.
    ///
    /// # Safety
    /// `arg_ptr`/`arg_len` and `handles_ptr`/`nhandles` must describe readable memory. The new G's
    /// `gmp_entry` trusts `entry`: with this crate's [`gmp_entry`](crate::gmp_entry) it must be what
    /// [`go`](fn@crate::go) would pass, so use [`go`](fn@crate::go) or [`go_with`](crate::go_with) instead.
    ///
    /// ```
    /// # fn entry(_: &[u8], _: &[u32]) {}
    /// // What `gmp::go_with` does, minus the encoding: the entry is a function-table index.
    /// let trampoline: fn(&[u8], &[u32]) = entry;
    /// let arg = [0u8; 4];
    /// // SAFETY: `arg` is readable for its length; no handles are attached.
    /// let id = unsafe { gmp::sys::spawn(trampoline as usize as u32, arg.as_ptr(), 4, core::ptr::null(), 0) };
    /// assert!(id > 1);
    /// ```
    pub fn spawn(entry: u32, arg_ptr: *const u8, arg_len: usize, handles_ptr: *const u32, nhandles: usize) -> u64;

    /// Gosched: lets other Gs run. Prefer [`yield_now`](crate::yield_now).
    ///
    /// ```
    /// gmp::sys::r#yield();
    /// ```
    pub safe fn r#yield();

    /// The calling G's id (the main G is 1). Prefer [`goid`](crate::goid).
    ///
    /// ```
    /// assert!(gmp::sys::goid() >= 1);
    /// ```
    pub safe fn goid() -> u64;

    /// The number of Ps. Prefer [`gomaxprocs`](crate::gomaxprocs).
    ///
    /// ```
    /// assert!(gmp::sys::gomaxprocs() >= 1);
    /// ```
    pub safe fn gomaxprocs() -> u32;

    /// The program's live Gs. Prefer [`num_goroutine`](crate::num_goroutine).
    ///
    // Its own program: rustdoc merges examples into one, where Gs of earlier ones may still be
    // winding down.
    /// ```standalone_crate
    /// assert_eq!(gmp::sys::num_goroutine(), 1);
    /// ```
    pub safe fn num_goroutine() -> u32;

    /// Ends the whole program with `code`, without flushing anything. Prefer [`exit`](crate::exit).
    ///
    /// ```no_run
    /// gmp::sys::exit(0);
    /// ```
    pub safe fn exit(code: i32) -> !;

    /// Ends the program with Go's panic report: `panic: <msg>`, then the G's stack with `loc` under its
    /// first frame. The SDK's panic hook calls it for every Rust panic; prefer `panic!`.
    ///
    /// # Safety
    /// `msg` and `loc` must be readable for `msg_len` and `loc_len` bytes.
    ///
    /// ```no_run
    /// let (msg, loc) = ("boom", "src/main.rs:1:1");
    /// // SAFETY: both are live string slices.
    /// unsafe { gmp::sys::panic(msg.as_ptr(), msg.len(), loc.as_ptr(), loc.len()) };
    /// ```
    pub fn panic(msg: *const u8, msg_len: usize, loc: *const u8, loc_len: usize) -> !;

    /// Copies the G's pending message out: `buf_len` and `nhandles` must equal the sizes the runtime reported.
    ///
    /// # Safety
    /// `buf_ptr`/`buf_len` and `handles_ptr`/`nhandles` must describe writable memory nothing else uses.
    ///
    /// ```
    /// let h = gmp::sys::chan_new(1);
    /// let msg = [7u8; 100];
    /// // SAFETY: `msg` is readable for its length.
    /// unsafe { gmp::sys::chan_send(h, msg.as_ptr(), msg.len(), core::ptr::null(), 0) };
    /// let mut info = gmp::sys::RecvInfo::default();
    /// let (buf, hbuf) = (core::ptr::null_mut(), core::ptr::null_mut());
    /// // SAFETY: a zero-length buffer is never written; `info` is writable.
    /// let status = unsafe { gmp::sys::chan_recv(h, buf, 0, hbuf, 0, &mut info) };
    /// assert_eq!(status, gmp::sys::RECV_PENDING);
    /// let mut buf = vec![0u8; info.len as usize];
    /// // SAFETY: `buf` is writable for exactly the reported length.
    /// unsafe { gmp::sys::msg_take(buf.as_mut_ptr(), buf.len(), core::ptr::null_mut(), 0) };
    /// ```
    pub fn msg_take(buf_ptr: *mut u8, buf_len: usize, handles_ptr: *mut u32, nhandles: usize);

    /// A new handle to the host channel named `name` (the embedder's `RunOptions::chan`), or 0 if the
    /// program was given none by that name. Prefer [`host_chan`](crate::host_chan).
    ///
    /// # Safety
    /// `name_ptr`/`name_len` must describe readable memory.
    ///
    /// ```
    /// let name = "jobs";
    /// // SAFETY: the name is readable for its length.
    /// let h = unsafe { gmp::sys::chan_lookup(name.as_ptr(), name.len()) };
    /// assert_eq!(h, 0); // not run by a host that handed it a "jobs" channel
    /// ```
    pub fn chan_lookup(name_ptr: *const u8, name_len: usize) -> u32;

    /// A new channel with buffer capacity `cap` (0 = unbuffered); returns its handle. Prefer
    /// [`chan`](crate::chan).
    ///
    /// ```
    /// let h = gmp::sys::chan_new(4);
    /// assert_eq!(gmp::sys::chan_cap(h), 4);
    /// ```
    pub safe fn chan_new(cap: i32) -> u32;

    /// Sends, blocking until the message is taken (unbuffered) or buffered.
    ///
    /// # Safety
    /// `ptr`/`len` and `handles_ptr`/`nhandles` must describe readable memory.
    ///
    /// ```
    /// let h = gmp::sys::chan_new(1);
    /// // SAFETY: an empty message reads nothing.
    /// unsafe { gmp::sys::chan_send(h, core::ptr::null(), 0, core::ptr::null(), 0) };
    /// ```
    pub fn chan_send(h: u32, ptr: *const u8, len: usize, handles_ptr: *const u32, nhandles: usize);

    /// Sends if that can complete now: returns 1 if sent, 0 if it would block.
    ///
    /// # Safety
    /// As for [`chan_send`].
    ///
    /// ```
    /// let h = gmp::sys::chan_new(0);
    /// // SAFETY: an empty message reads nothing.
    /// let sent = unsafe { gmp::sys::chan_try_send(h, core::ptr::null(), 0, core::ptr::null(), 0) };
    /// assert_eq!(sent, 0); // nobody is receiving
    /// ```
    pub fn chan_try_send(h: u32, ptr: *const u8, len: usize, handles_ptr: *const u32, nhandles: usize) -> i32;

    /// Receives, blocking; returns [`RECV_OK`], [`RECV_PENDING`] or [`RECV_CLOSED`] and fills `info` for the
    /// first two.
    ///
    /// # Safety
    /// `buf_ptr`/`buf_cap`, `hbuf_ptr`/`hbuf_cap` (in handles) and `info` must describe writable memory
    /// nothing else uses.
    ///
    /// ```
    /// let h = gmp::sys::chan_new(1);
    /// gmp::sys::chan_close(h);
    /// let mut info = gmp::sys::RecvInfo::default();
    /// let (buf, hbuf) = (core::ptr::null_mut(), core::ptr::null_mut());
    /// // SAFETY: empty buffers are never written; `info` is writable.
    /// let status = unsafe { gmp::sys::chan_recv(h, buf, 0, hbuf, 0, &mut info) };
    /// assert_eq!(status, gmp::sys::RECV_CLOSED);
    /// ```
    pub fn chan_recv(
        h: u32,
        buf_ptr: *mut u8,
        buf_cap: usize,
        hbuf_ptr: *mut u32,
        hbuf_cap: usize,
        info: *mut RecvInfo,
    ) -> i32;

    /// Receives if something is there now; like [`chan_recv`] but returns [`RECV_WOULD_BLOCK`] instead of
    /// blocking.
    ///
    /// # Safety
    /// As for [`chan_recv`].
    ///
    /// ```
    /// let h = gmp::sys::chan_new(1);
    /// let mut info = gmp::sys::RecvInfo::default();
    /// let (buf, hbuf) = (core::ptr::null_mut(), core::ptr::null_mut());
    /// // SAFETY: empty buffers are never written; `info` is writable.
    /// let status = unsafe { gmp::sys::chan_try_recv(h, buf, 0, hbuf, 0, &mut info) };
    /// assert_eq!(status, gmp::sys::RECV_WOULD_BLOCK);
    /// ```
    pub fn chan_try_recv(
        h: u32,
        buf_ptr: *mut u8,
        buf_cap: usize,
        hbuf_ptr: *mut u32,
        hbuf_cap: usize,
        info: *mut RecvInfo,
    ) -> i32;

    /// Closes the channel: blocked receivers get [`RECV_CLOSED`]; closing twice traps.
    ///
    /// ```
    /// gmp::sys::chan_close(gmp::sys::chan_new(0));
    /// ```
    pub safe fn chan_close(h: u32);

    /// Messages in the channel's buffer now.
    ///
    /// ```
    /// assert_eq!(gmp::sys::chan_len(gmp::sys::chan_new(3)), 0);
    /// ```
    pub safe fn chan_len(h: u32) -> u32;

    /// The channel's buffer capacity.
    ///
    /// ```
    /// assert_eq!(gmp::sys::chan_cap(gmp::sys::chan_new(3)), 3);
    /// ```
    pub safe fn chan_cap(h: u32) -> u32;

    /// The channel's identity: the same for every handle to it in every G (and in the runtime's reports,
    /// "chan #7").
    ///
    /// ```
    /// let h = gmp::sys::chan_new(0);
    /// assert_eq!(gmp::sys::chan_id(h), gmp::sys::chan_id(gmp::sys::handle_dup(h)));
    /// assert_ne!(gmp::sys::chan_id(h), gmp::sys::chan_id(gmp::sys::chan_new(0)));
    /// ```
    pub safe fn chan_id(h: u32) -> u64;

    /// Chooses one ready case of `ncases` at `cases` at random, blocking for one if `block` is not 0; returns
    /// its index, or -1 when nothing is ready and `block` is 0. For a receive case it fills `info`.
    ///
    /// # Safety
    /// `cases`/`ncases` must be readable, each case's buffers must be valid as for [`chan_send`] (send) or
    /// [`chan_recv`] (receive), and `info` writable.
    ///
    /// ```
    /// let h = gmp::sys::chan_new(0);
    /// let case = gmp::sys::SelectCase { handle: h, kind: gmp::sys::CASE_RECV, ..Default::default() };
    /// let mut info = gmp::sys::SelectInfo::default();
    /// // SAFETY: one readable case whose receive buffers are empty; `info` is writable.
    /// let chosen = unsafe { gmp::sys::select(&case, 1, 0, &mut info) };
    /// assert_eq!(chosen, -1); // nothing ready, not blocking: the default arm
    /// ```
    pub fn select(cases: *const SelectCase, ncases: usize, block: u32, info: *mut SelectInfo) -> i32;

    /// A second handle to the object `h` refers to.
    ///
    /// ```
    /// let h = gmp::sys::chan_new(0);
    /// assert_ne!(gmp::sys::handle_dup(h), h);
    /// ```
    pub safe fn handle_dup(h: u32) -> u32;

    /// Releases the handle `h`; the object lives on while anything else refers to it.
    ///
    /// ```
    /// gmp::sys::handle_close(gmp::sys::chan_new(0));
    /// ```
    pub safe fn handle_close(h: u32);
}

// Atomics: `wit/sync.wit`.
#[link(wasm_import_module = "gmp")]
unsafe extern "C" {
    /// A new atomic integer holding `init`; returns its handle. Prefer [`sync::AtomicU64`](crate::sync::AtomicU64).
    ///
    /// ```
    /// let h = gmp::sys::atomic_new(5);
    /// assert_eq!(gmp::sys::atomic_op(h, gmp::sys::ATOMIC_ADD, 2, 0), 7);
    /// ```
    pub safe fn atomic_new(init: u64) -> u32;

    /// One operation (`ATOMIC_*`) on the atomic `h`, with operands `a` and `b`; see `wit/sync.wit` for what
    /// each returns.
    ///
    /// ```
    /// let h = gmp::sys::atomic_new(1);
    /// assert_eq!(gmp::sys::atomic_op(h, gmp::sys::ATOMIC_CAS, 1, 9), 1);
    /// assert_eq!(gmp::sys::atomic_op(h, gmp::sys::ATOMIC_LOAD, 0, 0), 9);
    /// ```
    pub safe fn atomic_op(h: u32, op: u32, a: u64, b: u64) -> u64;
}

/// [`atomic_op`]: the value.
pub const ATOMIC_LOAD: u32 = 0;
/// [`atomic_op`]: set the value to `a`.
pub const ATOMIC_STORE: u32 = 1;
/// [`atomic_op`]: add `a`, return the new value.
pub const ATOMIC_ADD: u32 = 2;
/// [`atomic_op`]: set the value to `a`, return the old one.
pub const ATOMIC_SWAP: u32 = 3;
/// [`atomic_op`]: if the value is `a`, set it to `b` and return 1; else 0.
pub const ATOMIC_CAS: u32 = 4;
/// [`atomic_op`]: AND with `a`, return the old value.
pub const ATOMIC_AND: u32 = 5;
/// [`atomic_op`]: OR with `a`, return the old value.
pub const ATOMIC_OR: u32 = 6;

/// [`tcp_shutdown`]'s `how`: no more reading.
///
/// ```
/// assert_eq!(gmp::sys::SHUTDOWN_READ, 0);
/// ```
pub const SHUTDOWN_READ: u32 = 0;

/// [`tcp_shutdown`]'s `how`: no more writing (the peer reads end of stream).
///
/// ```
/// assert_eq!(gmp::sys::SHUTDOWN_WRITE, 1);
/// ```
pub const SHUTDOWN_WRITE: u32 = 1;

/// [`tcp_shutdown`]'s `how`: neither.
///
/// ```
/// assert_eq!(gmp::sys::SHUTDOWN_BOTH, 2);
/// ```
pub const SHUTDOWN_BOTH: u32 = 2;

/// Socket error code (returned negated): the runtime's `--net` rules do not allow the address.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_PERMISSION_DENIED, 1);
/// ```
pub const NET_ERR_PERMISSION_DENIED: i32 = 1;

/// Socket error code (returned negated): nothing listens at the address.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_CONNECTION_REFUSED, 2);
/// ```
pub const NET_ERR_CONNECTION_REFUSED: i32 = 2;

/// Socket error code (returned negated): the peer reset the connection.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_CONNECTION_RESET, 3);
/// ```
pub const NET_ERR_CONNECTION_RESET: i32 = 3;

/// Socket error code (returned negated): the connection was aborted on this side.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_CONNECTION_ABORTED, 4);
/// ```
pub const NET_ERR_CONNECTION_ABORTED: i32 = 4;

/// Socket error code (returned negated): the socket is not connected.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_NOT_CONNECTED, 5);
/// ```
pub const NET_ERR_NOT_CONNECTED: i32 = 5;

/// Socket error code (returned negated): something else is bound to the address.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_ADDR_IN_USE, 6);
/// ```
pub const NET_ERR_ADDR_IN_USE: i32 = 6;

/// Socket error code (returned negated): the address is not one of this machine's.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_ADDR_NOT_AVAILABLE, 7);
/// ```
pub const NET_ERR_ADDR_NOT_AVAILABLE: i32 = 7;

/// Socket error code (returned negated): writing to a connection the peer has closed.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_BROKEN_PIPE, 8);
/// ```
pub const NET_ERR_BROKEN_PIPE: i32 = 8;

/// Socket error code (returned negated): a malformed address or argument.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_INVALID_INPUT, 9);
/// ```
pub const NET_ERR_INVALID_INPUT: i32 = 9;

/// Socket error code (returned negated): the operation timed out in the network stack.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_TIMED_OUT, 10);
/// ```
pub const NET_ERR_TIMED_OUT: i32 = 10;

/// Socket error code (returned negated): no route to the host or its network.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_UNREACHABLE, 11);
/// ```
pub const NET_ERR_UNREACHABLE: i32 = 11;

/// Socket error code (returned negated): any other failure.
///
/// ```
/// assert_eq!(gmp::sys::NET_ERR_OTHER, 12);
/// ```
pub const NET_ERR_OTHER: i32 = 12;

// Time: `wit/time.wit`.
#[link(wasm_import_module = "gmp")]
unsafe extern "C" {
    /// The runtime's monotonic clock in nanoseconds, 0 being the program's start. Prefer
    /// [`time::Instant::now`](crate::time::Instant::now).
    ///
    /// ```
    /// let (a, b) = (gmp::sys::now(), gmp::sys::now());
    /// assert!(b >= a);
    /// ```
    pub safe fn now() -> u64;

    /// Parks the calling G for `ns` nanoseconds (0 returns at once); it holds no thread meanwhile. Prefer
    /// [`time::sleep`](crate::time::sleep).
    ///
    /// ```
    /// gmp::sys::sleep(1_000_000); // 1 ms
    /// ```
    pub safe fn sleep(ns: u64);

    /// A timer that sends one 8-byte message (the clock when it fired, little-endian) `ns` nanoseconds from
    /// now, or with `period` > 0 a ticker that then sends every `period` ns, dropping ticks the channel has no
    /// room for. Writes the channel's handle to `chan_out` and returns the timer's handle. [`timer_stop`]
    /// stops the timer, and so does closing the last handle to it (copies from [`handle_dup`] and in messages
    /// count); closing the channel's handle does not. Prefer [`time`](crate::time).
    ///
    /// # Safety
    /// `chan_out` must be writable for 4 bytes that nothing else uses.
    ///
    /// ```
    /// let mut chan = 0u32;
    /// // SAFETY: `chan` is a writable local.
    /// let timer = unsafe { gmp::sys::timer_new(5_000_000, 0, &mut chan) };
    /// let mut fired = 0u64;
    /// let mut info = gmp::sys::RecvInfo::default();
    /// let (buf, hbuf) = ((&raw mut fired).cast(), core::ptr::null_mut());
    /// // SAFETY: `fired` is writable for the 8 bytes passed; no handle buffer; `info` is writable.
    /// let status = unsafe { gmp::sys::chan_recv(chan, buf, 8, hbuf, 0, &mut info) };
    /// assert_eq!((status, info.len), (gmp::sys::RECV_OK, 8));
    /// gmp::sys::handle_close(timer);
    /// gmp::sys::handle_close(chan);
    /// ```
    pub fn timer_new(ns: u64, period: u64, chan_out: *mut u32) -> u32;

    /// A timer that sends one 8-byte message, as [`timer_new`]'s does, `ns` nanoseconds from now, on the
    /// channel whose handle it returns. It has no handle of its own, so nothing stops it. Prefer
    /// [`time::after`](crate::time::after).
    ///
    /// ```
    /// let chan = gmp::sys::timer_after(1_000_000);
    /// let mut fired = 0u64;
    /// let mut info = gmp::sys::RecvInfo::default();
    /// let (buf, hbuf) = ((&raw mut fired).cast(), core::ptr::null_mut());
    /// // SAFETY: `fired` is writable for the 8 bytes passed; no handle buffer; `info` is writable.
    /// let status = unsafe { gmp::sys::chan_recv(chan, buf, 8, hbuf, 0, &mut info) };
    /// assert_eq!((status, info.len), (gmp::sys::RECV_OK, 8));
    /// assert!(fired >= 1_000_000);
    /// gmp::sys::handle_close(chan);
    /// ```
    pub safe fn timer_after(ns: u64) -> u32;

    /// Stops a timer or ticker: returns 1 if it was pending (a timer that had not fired yet, or a ticker), 0
    /// otherwise. Nothing is sent on its channel afterwards.
    ///
    /// ```
    /// let mut chan = 0u32;
    /// // SAFETY: `chan` is a writable local.
    /// let timer = unsafe { gmp::sys::timer_new(3_600_000_000_000, 0, &mut chan) };
    /// assert_eq!(gmp::sys::timer_stop(timer), 1);
    /// assert_eq!(gmp::sys::timer_stop(timer), 0);
    /// ```
    pub safe fn timer_stop(h: u32) -> u32;
}

// Sockets: `wit/net.wit`. Each call that would block parks the G until it can go on; results are `-code` on
// failure, the `NET_ERR_*` codes above.
#[link(wasm_import_module = "gmp")]
unsafe extern "C" {
    /// Listens on the address (`addr_ptr`/`addr_len`, UTF-8 `ip:port`) with a connection backlog of `backlog`;
    /// returns the listener's handle. Prefer [`net::TcpListener`](crate::net::TcpListener).
    ///
    /// # Safety
    /// `addr_ptr`/`addr_len` must describe readable memory.
    ///
    /// ```
    /// let addr = "127.0.0.1:0";
    /// // SAFETY: the pointer and length describe `addr`.
    /// let h = unsafe { gmp::sys::tcp_listen(addr.as_ptr(), addr.len(), 128) };
    /// assert!(h > 0);
    /// ```
    pub fn tcp_listen(addr_ptr: *const u8, addr_len: usize, backlog: u32) -> i32;

    /// Accepts a connection on listener `h`, parking until one arrives; returns the new stream's handle and
    /// writes the peer's address (at most `addr_cap` bytes of it) to `addr_buf` and its length to
    /// `addr_len_out`.
    ///
    /// # Safety
    /// `addr_buf`/`addr_cap` and `addr_len_out` (4 bytes) must describe writable memory nothing else uses.
    ///
    /// ```
    /// let addr = "127.0.0.1:0";
    /// // SAFETY: the pointer and length describe `addr`.
    /// let listener = unsafe { gmp::sys::tcp_listen(addr.as_ptr(), addr.len(), 128) } as u32;
    /// # let mut a = [0u8; 64];
    /// # let alen = unsafe { gmp::sys::sock_local_addr(listener, a.as_mut_ptr(), a.len()) } as usize;
    /// # let _client = unsafe { gmp::sys::tcp_connect(a.as_ptr(), alen) };
    /// let mut peer = [0u8; 64];
    /// let mut len = 0u32;
    /// // SAFETY: `peer` and `len` are writable locals of the sizes passed.
    /// let stream = unsafe { gmp::sys::tcp_accept(listener, peer.as_mut_ptr(), peer.len(), &mut len) };
    /// println!("{stream}: {}", String::from_utf8_lossy(&peer[..len as usize]));
    /// ```
    pub fn tcp_accept(h: u32, addr_buf: *mut u8, addr_cap: usize, addr_len_out: *mut u32) -> i32;

    /// Connects to the address, parking until connected; returns the stream's handle.
    ///
    /// # Safety
    /// `addr_ptr`/`addr_len` must describe readable memory.
    ///
    /// ```
    /// let addr = "127.0.0.1:1";
    /// // SAFETY: the pointer and length describe `addr`.
    /// let h = unsafe { gmp::sys::tcp_connect(addr.as_ptr(), addr.len()) };
    /// // Not one of the program's own listeners, and no `--net connect=127.0.0.1:1` granted it.
    /// assert_eq!(h, -gmp::sys::NET_ERR_PERMISSION_DENIED);
    /// ```
    pub fn tcp_connect(addr_ptr: *const u8, addr_len: usize) -> i32;

    /// Reads up to `len` bytes from stream `h` into `buf`, parking until some arrive; returns how many, 0 at
    /// end of stream.
    ///
    /// # Safety
    /// `buf`/`len` must describe writable memory nothing else uses.
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let l = unsafe { gmp::sys::tcp_listen(any.as_ptr(), any.len(), 8) } as u32;
    /// # let (mut a, mut n) = ([0u8; 64], 0u32);
    /// # let alen = unsafe { gmp::sys::sock_local_addr(l, a.as_mut_ptr(), a.len()) } as usize;
    /// # let h = unsafe { gmp::sys::tcp_connect(a.as_ptr(), alen) } as u32;
    /// # let peer = unsafe { gmp::sys::tcp_accept(l, a.as_mut_ptr(), a.len(), &mut n) } as u32;
    /// # unsafe { gmp::sys::sock_write(peer, b"hi".as_ptr(), 2) };
    /// let mut buf = [0u8; 512];
    /// // SAFETY: `buf` is a writable local of the length passed.
    /// let n = unsafe { gmp::sys::sock_read(h, buf.as_mut_ptr(), buf.len()) };
    /// ```
    pub fn sock_read(h: u32, buf: *mut u8, len: usize) -> i32;

    /// Writes up to `len` bytes from `buf` to stream `h`, parking until some can be written; returns how many.
    ///
    /// # Safety
    /// `buf`/`len` must describe readable memory.
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let l = unsafe { gmp::sys::tcp_listen(any.as_ptr(), any.len(), 8) } as u32;
    /// # let (mut a, mut n) = ([0u8; 64], 0u32);
    /// # let alen = unsafe { gmp::sys::sock_local_addr(l, a.as_mut_ptr(), a.len()) } as usize;
    /// # let h = unsafe { gmp::sys::tcp_connect(a.as_ptr(), alen) } as u32;
    /// # let peer = unsafe { gmp::sys::tcp_accept(l, a.as_mut_ptr(), a.len(), &mut n) } as u32;
    /// # unsafe { gmp::sys::sock_write(peer, b"hi".as_ptr(), 2) };
    /// let msg = b"hello";
    /// // SAFETY: the pointer and length describe `msg`.
    /// let n = unsafe { gmp::sys::sock_write(h, msg.as_ptr(), msg.len()) };
    /// ```
    pub fn sock_write(h: u32, buf: *const u8, len: usize) -> i32;

    /// Shuts down reading ([`SHUTDOWN_READ`]), writing ([`SHUTDOWN_WRITE`]) or both ([`SHUTDOWN_BOTH`]) of
    /// stream `h`; returns 0.
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let l = unsafe { gmp::sys::tcp_listen(any.as_ptr(), any.len(), 8) } as u32;
    /// # let (mut a, mut n) = ([0u8; 64], 0u32);
    /// # let alen = unsafe { gmp::sys::sock_local_addr(l, a.as_mut_ptr(), a.len()) } as usize;
    /// # let h = unsafe { gmp::sys::tcp_connect(a.as_ptr(), alen) } as u32;
    /// # let peer = unsafe { gmp::sys::tcp_accept(l, a.as_mut_ptr(), a.len(), &mut n) } as u32;
    /// # unsafe { gmp::sys::sock_write(peer, b"hi".as_ptr(), 2) };
    /// gmp::sys::tcp_shutdown(h, gmp::sys::SHUTDOWN_WRITE);
    /// ```
    pub safe fn tcp_shutdown(h: u32, how: u32) -> i32;

    /// Sets `TCP_NODELAY` on stream `h`: `on` = 1 sends small writes at once (Nagle's algorithm off), 0
    /// lets the stack batch them; returns 0.
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let l = unsafe { gmp::sys::tcp_listen(any.as_ptr(), any.len(), 8) } as u32;
    /// # let (mut a, mut n) = ([0u8; 64], 0u32);
    /// # let alen = unsafe { gmp::sys::sock_local_addr(l, a.as_mut_ptr(), a.len()) } as usize;
    /// # let h = unsafe { gmp::sys::tcp_connect(a.as_ptr(), alen) } as u32;
    /// # let peer = unsafe { gmp::sys::tcp_accept(l, a.as_mut_ptr(), a.len(), &mut n) } as u32;
    /// # unsafe { gmp::sys::sock_write(peer, b"hi".as_ptr(), 2) };
    /// gmp::sys::tcp_set_nodelay(h, 1);
    /// ```
    pub safe fn tcp_set_nodelay(h: u32, on: u32) -> i32;

    /// Writes the address socket `h` is bound to (at most `cap` bytes of it) to `buf`; returns its length.
    ///
    /// # Safety
    /// `buf`/`cap` must describe writable memory nothing else uses.
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let l = unsafe { gmp::sys::tcp_listen(any.as_ptr(), any.len(), 8) } as u32;
    /// # let (mut a, mut n) = ([0u8; 64], 0u32);
    /// # let alen = unsafe { gmp::sys::sock_local_addr(l, a.as_mut_ptr(), a.len()) } as usize;
    /// # let h = unsafe { gmp::sys::tcp_connect(a.as_ptr(), alen) } as u32;
    /// # let peer = unsafe { gmp::sys::tcp_accept(l, a.as_mut_ptr(), a.len(), &mut n) } as u32;
    /// # unsafe { gmp::sys::sock_write(peer, b"hi".as_ptr(), 2) };
    /// let mut buf = [0u8; 64];
    /// // SAFETY: `buf` is a writable local of the length passed.
    /// let n = unsafe { gmp::sys::sock_local_addr(h, buf.as_mut_ptr(), buf.len()) };
    /// println!("{}", String::from_utf8_lossy(&buf[..n as usize]));
    /// ```
    pub fn sock_local_addr(h: u32, buf: *mut u8, cap: usize) -> i32;

    /// Writes the address stream `h` is connected to, as [`sock_local_addr`] does.
    ///
    /// # Safety
    /// As for [`sock_local_addr`].
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let l = unsafe { gmp::sys::tcp_listen(any.as_ptr(), any.len(), 8) } as u32;
    /// # let (mut a, mut n) = ([0u8; 64], 0u32);
    /// # let alen = unsafe { gmp::sys::sock_local_addr(l, a.as_mut_ptr(), a.len()) } as usize;
    /// # let h = unsafe { gmp::sys::tcp_connect(a.as_ptr(), alen) } as u32;
    /// # let peer = unsafe { gmp::sys::tcp_accept(l, a.as_mut_ptr(), a.len(), &mut n) } as u32;
    /// # unsafe { gmp::sys::sock_write(peer, b"hi".as_ptr(), 2) };
    /// let mut buf = [0u8; 64];
    /// // SAFETY: `buf` is a writable local of the length passed.
    /// let n = unsafe { gmp::sys::sock_peer_addr(h, buf.as_mut_ptr(), buf.len()) };
    /// ```
    pub fn sock_peer_addr(h: u32, buf: *mut u8, cap: usize) -> i32;

    /// A UDP socket bound to the address; returns its handle. Prefer [`net::UdpSocket`](crate::net::UdpSocket).
    ///
    /// # Safety
    /// `addr_ptr`/`addr_len` must describe readable memory.
    ///
    /// ```
    /// let addr = "127.0.0.1:0";
    /// // SAFETY: the pointer and length describe `addr`.
    /// let h = unsafe { gmp::sys::udp_bind(addr.as_ptr(), addr.len()) };
    /// assert!(h > 0);
    /// ```
    pub fn udp_bind(addr_ptr: *const u8, addr_len: usize) -> i32;

    /// Sends `buf`/`len` as one datagram from UDP socket `h` to the address, parking while the socket cannot
    /// send; returns the bytes sent.
    ///
    /// # Safety
    /// Both pointer/length pairs must describe readable memory.
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let h = unsafe { gmp::sys::udp_bind(any.as_ptr(), any.len()) } as u32;
    /// # let other = unsafe { gmp::sys::udp_bind(any.as_ptr(), any.len()) } as u32;
    /// # let mut a = [0u8; 64];
    /// # let alen = unsafe { gmp::sys::sock_local_addr(h, a.as_mut_ptr(), a.len()) } as usize;
    /// # unsafe { gmp::sys::udp_send_to(other, b"hi".as_ptr(), 2, a.as_ptr(), alen) };
    /// let (msg, to) = (b"ping", "127.0.0.1:9999");
    /// // SAFETY: both pairs describe locals that outlive the call.
    /// let n = unsafe { gmp::sys::udp_send_to(h, msg.as_ptr(), msg.len(), to.as_ptr(), to.len()) };
    /// ```
    pub fn udp_send_to(h: u32, buf: *const u8, len: usize, addr_ptr: *const u8, addr_len: usize) -> i32;

    /// Receives one datagram on UDP socket `h` into `buf` (what does not fit `len` is dropped), parking until
    /// one arrives; returns its length and writes the sender's address as [`tcp_accept`] does.
    ///
    /// # Safety
    /// `buf`/`len`, `addr_buf`/`addr_cap` and `addr_len_out` (4 bytes) must describe writable memory nothing
    /// else uses.
    ///
    /// ```
    /// # let any = "127.0.0.1:0";
    /// # let h = unsafe { gmp::sys::udp_bind(any.as_ptr(), any.len()) } as u32;
    /// # let other = unsafe { gmp::sys::udp_bind(any.as_ptr(), any.len()) } as u32;
    /// # let mut a = [0u8; 64];
    /// # let alen = unsafe { gmp::sys::sock_local_addr(h, a.as_mut_ptr(), a.len()) } as usize;
    /// # unsafe { gmp::sys::udp_send_to(other, b"hi".as_ptr(), 2, a.as_ptr(), alen) };
    /// let (mut buf, mut from, mut from_len) = ([0u8; 1500], [0u8; 64], 0u32);
    /// // SAFETY: the buffers are writable locals of the sizes passed.
    /// let n = unsafe {
    ///     gmp::sys::udp_recv_from(h, buf.as_mut_ptr(), buf.len(), from.as_mut_ptr(), from.len(), &mut from_len)
    /// };
    /// ```
    pub fn udp_recv_from(
        h: u32,
        buf: *mut u8,
        len: usize,
        addr_buf: *mut u8,
        addr_cap: usize,
        addr_len_out: *mut u32,
    ) -> i32;
}
