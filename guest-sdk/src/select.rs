//! The [`select!`](crate::select!) macro and the machinery it expands to: one `select` host call over every
//! arm, with the receive arms sharing one inline buffer (the runtime completes only the chosen case) and the
//! send arms' messages encoded back to back in one buffer.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::channel::{INLINE_BYTES, INLINE_HANDLES, decode_inline, take_pending};
use crate::message::{recycle_encoder, take_encoder};
use crate::{Encoder, Message, Receiver, Sender, sys};

/// Where a send arm's message lies in the shared buffer.
#[derive(Clone, Copy, Default)]
struct Span {
    bytes: (usize, usize),
    handles: (usize, usize),
}

/// One `select!` in progress over `N` arms. Only the macro uses this.
#[doc(hidden)]
pub struct Select<const N: usize> {
    cases: [sys::SelectCase; N],
    spans: [Span; N],
    n: usize,
    enc: Encoder,
    buf: [MaybeUninit<u8>; INLINE_BYTES],
    hbuf: [MaybeUninit<u32>; INLINE_HANDLES],
    info: sys::SelectInfo,
    chosen: Option<usize>,
    ran: bool,
}

/// A registered receive arm: its case index, and the type its message decodes to.
#[doc(hidden)]
pub struct RecvArm<T> {
    index: usize,
    _type: PhantomData<fn() -> T>,
}

/// A registered send arm: its case index, and the value being sent, kept alive (with its handles) until the
/// select is over and dropped afterwards whether or not this arm was chosen.
#[doc(hidden)]
pub struct SendArm<T> {
    index: usize,
    _value: T,
}

impl<T> RecvArm<T> {
    /// The arm's case index.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<T> SendArm<T> {
    /// The arm's case index.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<const N: usize> Default for Select<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Select<N> {
    /// A select with no arms registered yet.
    pub fn new() -> Self {
        Select {
            cases: [sys::SelectCase::default(); N],
            spans: [Span::default(); N],
            n: 0,
            enc: take_encoder(),
            buf: [MaybeUninit::uninit(); INLINE_BYTES],
            hbuf: [MaybeUninit::uninit(); INLINE_HANDLES],
            info: sys::SelectInfo::default(),
            chosen: None,
            ran: false,
        }
    }

    /// Registers `recv(rx)`.
    pub fn recv<T: Message>(&mut self, rx: &Receiver<T>) -> RecvArm<T> {
        let index = self.push(rx.handle(), sys::CASE_RECV);
        RecvArm { index, _type: PhantomData }
    }

    /// Registers `send(tx, value)`, encoding the value now (Go evaluates it before choosing, too).
    pub fn send<T: Message>(&mut self, tx: &Sender<T>, value: T) -> SendArm<T> {
        let (b, h) = (self.enc.bytes().len(), self.enc.handles().len());
        value.encode_last(&mut self.enc);
        let index = self.push(tx.handle(), sys::CASE_SEND);
        self.spans[index] = Span { bytes: (b, self.enc.bytes().len() - b), handles: (h, self.enc.handles().len() - h) };
        SendArm { index, _value: value }
    }

    fn push(&mut self, handle: u32, kind: u32) -> usize {
        let index = self.n;
        self.cases[index] = sys::SelectCase { handle, kind, ..Default::default() };
        self.n += 1;
        index
    }

    /// Runs the select; `Some(index)` of the chosen arm, `None` for `default` (only when `block` is false).
    pub fn run(&mut self, block: bool) -> Option<usize> {
        // A second run would point the send cases into the recycled (now empty) buffer.
        assert!(!self.ran, "gmp: a select ran twice");
        self.ran = true;
        // Pointers are filled in only now: `self` may have moved since the arms were registered, and the
        // encoder's buffer may have grown.
        let (bytes, handles) = (self.enc.bytes().as_ptr(), self.enc.handles().as_ptr());
        for (case, span) in self.cases[..self.n].iter_mut().zip(&self.spans) {
            if case.kind == sys::CASE_SEND {
                case.ptr = bytes.wrapping_add(span.bytes.0) as usize as u32;
                case.len = span.bytes.1 as u32;
                case.hptr = handles.wrapping_add(span.handles.0) as usize as u32;
                case.hlen = span.handles.1 as u32;
            } else {
                case.ptr = self.buf.as_mut_ptr() as usize as u32;
                case.len = INLINE_BYTES as u32;
                case.hptr = self.hbuf.as_mut_ptr() as usize as u32;
                case.hlen = INLINE_HANDLES as u32;
            }
        }
        // SAFETY: `cases[..n]` is readable; each send case points into the encoder's live buffers at spans
        // recorded when the message was encoded; every receive case points at `buf`/`hbuf`, owned by `self`
        // and writable for the capacities given (the runtime fills at most one case's buffers, the chosen
        // one's, so sharing them is fine); `info` is owned by `self`.
        let chosen = unsafe { sys::select(self.cases.as_ptr(), self.n, u32::from(block), &mut self.info) };
        // The messages are sent or abandoned: the buffer can serve the next send while the arm's body runs.
        recycle_encoder(core::mem::take(&mut self.enc));
        self.chosen = usize::try_from(chosen).ok();
        assert!(self.chosen.is_some() || !block, "gmp: a blocking select returned no case");
        self.chosen
    }

    /// The chosen receive arm's outcome: `Some(value)`, or `None` if its channel is closed.
    pub fn take_recv<T: Message>(&self, arm: RecvArm<T>) -> Option<T> {
        assert_eq!(self.chosen, Some(arm.index), "gmp: select arm taken but not chosen");
        match self.info.status {
            sys::RECV_OK => Some(decode_inline(&self.buf, &self.hbuf, self.info.len, self.info.nhandles)),
            sys::RECV_PENDING => Some(take_pending(self.info.len, self.info.nhandles, "a received message")),
            sys::RECV_CLOSED => None,
            other => panic!("gmp: select returned unknown receive status {other}"),
        }
    }
}

/// `select! {}`: blocks this G forever, like Go's `select {}`.
#[doc(hidden)]
pub fn block_forever() -> ! {
    let mut info = sys::SelectInfo::default();
    loop {
        // SAFETY: no cases are read; `info` is a writable local.
        unsafe { sys::select(core::ptr::null(), 0, 1, &mut info) };
    }
}

/// Waits on several channel operations at once and runs the arm of the one that proceeds, like Go's
/// `select` (the syntax follows `crossbeam_channel::select!`).
///
/// ```no_run
/// # let (tx, rx) = gmp::chan::<u32>(1);
/// # let (out, _keep) = gmp::chan::<String>(1);
/// gmp::select! {
///     recv(rx) -> v => println!("received {v:?}"), // v: Option<u32>, None if rx is closed
///     send(out, "hi".to_string()) => println!("sent"),
///     default => println!("nothing ready"),
/// }
/// ```
///
/// - `recv(rx) -> pat => body`: `rx` is a `&Receiver<T>` or `Receiver<T>`, a place or a temporary (such as
///   [`gmp::time::after(d)`](crate::time::after), Go's `case <-time.After(d)`) that lives until the
///   `select!` is over; `pat` binds an `Option<T>`, `None` meaning closed and drained.
/// - `send(tx, value) => body`: sends `value` on `tx` (a `Sender<T>`). Sending on a closed channel panics.
/// - `default => body`: taken when no other arm can proceed now; without it, `select!` blocks until one can.
///
/// Any number of arms (up to 32) in any mix, each body an expression followed by a comma or a block. All
/// channel and value expressions are evaluated first, in order; the runtime picks uniformly at random among
/// the arms that can proceed, so no arm starves. A send arm's value is dropped if another arm is chosen.
/// The whole `select!` is an expression whose value is that of the chosen body; `select! {}` blocks forever.
///
/// ```no_run
/// let (tx, rx) = gmp::chan::<u32>(0);
/// let (quit_tx, quit) = gmp::chan::<()>(0);
/// gmp::go!(tx, quit_tx => {
///     for i in 0..3 {
///         tx.send(i);
///     }
///     quit_tx.send(());
/// });
/// let mut sum = 0;
/// loop {
///     gmp::select! {
///         recv(rx) -> v => sum += v.unwrap(),
///         recv(quit) -> _ => break,
///     }
/// }
/// assert_eq!(sum, 3);
/// ```
#[macro_export]
macro_rules! select {
    () => {
        $crate::__private::block_forever()
    };
    ($($arms:tt)+) => {
        $crate::__select!(
            @parse sel [] [] [] []
            [
                __gmp_a0 __gmp_a1 __gmp_a2 __gmp_a3 __gmp_a4 __gmp_a5 __gmp_a6 __gmp_a7
                __gmp_a8 __gmp_a9 __gmp_a10 __gmp_a11 __gmp_a12 __gmp_a13 __gmp_a14 __gmp_a15
                __gmp_a16 __gmp_a17 __gmp_a18 __gmp_a19 __gmp_a20 __gmp_a21 __gmp_a22 __gmp_a23
                __gmp_a24 __gmp_a25 __gmp_a26 __gmp_a27 __gmp_a28 __gmp_a29 __gmp_a30 __gmp_a31
            ]
            $($arms)+
        )
    };
}

/// The parser behind [`select!`](crate::select!). State: the select's identifier, `+ 1` per arm, the setup
/// statements, the match arms, `[default]` once a default arm was seen, the unused arm identifiers; then the
/// tokens left to parse. Each arm's head is parsed by an `@parse` rule, its body by the `@body` rules.
#[doc(hidden)]
#[macro_export]
macro_rules! __select {
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*] [$id:ident $($ids:ident)*]
        recv($rx:expr) -> $v:pat => $($rest:tt)*) => {
        // Binding `&$rx` first keeps a temporary receiver (`recv(gmp::time::after(d))`) alive, and its handle
        // open, until the select is over; the arm's identifier then shadows the reference.
        $crate::__select!(@body $sel [$($n)* + 1] [$($setup)* let $id = &$rx; let $id = $sel.recv($id);] [$($cases)*]
            [$($def)*] [$($ids)*]
            (::core::option::Option::Some(i) if i == $id.index()) (let $v = $sel.take_recv($id);)
            $($rest)*)
    };
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*] [$id:ident $($ids:ident)*]
        send($tx:expr, $val:expr $(,)?) => $($rest:tt)*) => {
        $crate::__select!(@body $sel [$($n)* + 1] [$($setup)* let $id = $sel.send(&$tx, $val);] [$($cases)*]
            [$($def)*] [$($ids)*]
            (::core::option::Option::Some(i) if i == $id.index()) ()
            $($rest)*)
    };
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [] [$($ids:ident)*]
        default => $($rest:tt)*) => {
        $crate::__select!(@body $sel [$($n)*] [$($setup)*] [$($cases)*] [default] [$($ids)*]
            (::core::option::Option::None) ()
            $($rest)*)
    };
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [default] [$($ids:ident)*]
        default $($rest:tt)*) => {
        ::core::compile_error!("select! has more than one `default` arm")
    };
    // All parsed.
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*] [$($ids:ident)*]) => {{
        #[allow(unused_mut)]
        let mut $sel = $crate::__private::Select::<{ 0 $($n)* }>::new();
        $($setup)*
        match $sel.run($crate::__select!(@block $($def)*)) {
            $($cases)*
            _ => ::core::unreachable!(),
        }
    }};
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*] []
        $($rest:tt)+) => {
        ::core::compile_error!("select! supports at most 32 send and recv arms")
    };
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*] [$($ids:ident)*]
        $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> v => body`, `send(tx, value) => body` or `default => body`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };

    // An arm's body: a block (a comma after it is optional) or an expression (a comma after it is required
    // unless it is the last arm). `$pat` is the arm's match pattern, `$pre` what runs before the body.
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt $ids:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:block, $($rest:tt)*) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def $ids $($rest)*)
    };
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt $ids:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:block $($rest:tt)*) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def $ids $($rest)*)
    };
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt $ids:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:expr, $($rest:tt)*) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def $ids $($rest)*)
    };
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt $ids:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:expr) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def $ids)
    };

    // Whether the select blocks: only without a default arm.
    (@block) => { true };
    (@block default) => { false };
}
