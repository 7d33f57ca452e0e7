//! The [`select!`](crate::select!) macro, the dynamic [`Select`] for arms known only at run time (Go's
//! `reflect.Select`), and the machinery both run on: one `select` host call over every arm, with the receive
//! arms sharing one inline buffer (the runtime completes only the chosen case) and the send arms' messages
//! encoded back to back in one buffer.
//!
//! # Nil channels and values
//! An arm's channel may be an `Option`: `None` is Go's nil channel, an arm that is never ready (no case is
//! registered for it; a select of nothing but such arms and no default blocks forever, as in Go). A send
//! arm's value may be a reference: it is encoded (copied, as Go copies into a channel) and stays with the
//! caller whichever arm is chosen; an owned value is dropped if another arm is.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::channel::{INLINE_BYTES, INLINE_HANDLES, decode_inline, take_pending};
use crate::message::{recycle_encoder, take_encoder};
use crate::{Encoder, Message, Receiver, Sender, sys};

/// A channel end a select arm can receive from: a [`Receiver`], a reference to one, or an `Option` of
/// either (`None` is Go's nil channel: the arm is never ready).
pub trait RecvCase {
    /// What the arm receives.
    type Item: Message;
    /// The channel's handle; `None` for a nil channel.
    fn case_handle(&self) -> Option<u32>;
}

impl<T: Message> RecvCase for Receiver<T> {
    type Item = T;
    fn case_handle(&self) -> Option<u32> {
        Some(self.handle())
    }
}

impl<R: RecvCase + ?Sized> RecvCase for &R {
    type Item = R::Item;
    fn case_handle(&self) -> Option<u32> {
        (**self).case_handle()
    }
}

impl<R: RecvCase> RecvCase for Option<R> {
    type Item = R::Item;
    fn case_handle(&self) -> Option<u32> {
        self.as_ref().and_then(RecvCase::case_handle)
    }
}

/// A channel end a select arm can send on: a [`Sender`], a reference to one, or an `Option` of either
/// (`None` is Go's nil channel: the arm is never ready).
pub trait SendCase {
    /// What the arm sends.
    type Item: Message;
    /// The channel's handle; `None` for a nil channel.
    fn case_handle(&self) -> Option<u32>;
}

impl<T: Message> SendCase for Sender<T> {
    type Item = T;
    fn case_handle(&self) -> Option<u32> {
        Some(self.handle())
    }
}

impl<S: SendCase + ?Sized> SendCase for &S {
    type Item = S::Item;
    fn case_handle(&self) -> Option<u32> {
        (**self).case_handle()
    }
}

impl<S: SendCase> SendCase for Option<S> {
    type Item = S::Item;
    fn case_handle(&self) -> Option<u32> {
        self.as_ref().and_then(SendCase::case_handle)
    }
}

/// What a send arm sends: a value of the channel's type (dropped if another arm is chosen), or a reference
/// to one (encoded, as Go copies a value into a channel, and left with the caller either way: a loop can
/// offer the same value in every round without cloning it).
pub trait SendValue<T> {
    /// The value to encode.
    fn value(&self) -> &T;
}

impl<T: Message> SendValue<T> for T {
    fn value(&self) -> &T {
        self
    }
}

impl<T: Message> SendValue<T> for &T {
    fn value(&self) -> &T {
        self
    }
}

/// Where a send arm's message lies in the shared buffer.
#[derive(Clone, Copy, Default)]
struct Span {
    bytes: (usize, usize),
    handles: (usize, usize),
}

/// The buffers one select call writes into: the chosen receive arm's message (inline, if it fits) and
/// what the call says about it.
struct Landing {
    buf: [MaybeUninit<u8>; INLINE_BYTES],
    hbuf: [MaybeUninit<u32>; INLINE_HANDLES],
    info: sys::SelectInfo,
}

impl Landing {
    fn new() -> Self {
        Landing {
            buf: [MaybeUninit::uninit(); INLINE_BYTES],
            hbuf: [MaybeUninit::uninit(); INLINE_HANDLES],
            info: sys::SelectInfo::default(),
        }
    }

    /// Points the cases at their buffers and makes the call; the chosen case's index, or `None` (only when
    /// `block` is false). The encoder goes back to the pool: its messages are sent or abandoned.
    ///
    /// Pointers are filled in only now: the select may have moved since the arms were registered, and the
    /// encoder's buffer may have grown.
    fn run(&mut self, cases: &mut [sys::SelectCase], spans: &[Span], enc: Encoder, block: bool) -> Option<usize> {
        let (bytes, handles) = (enc.bytes().as_ptr(), enc.handles().as_ptr());
        for (case, span) in cases.iter_mut().zip(spans) {
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
        // SAFETY: `cases` is readable; each send case points into the encoder's live buffers at spans
        // recorded when the message was encoded; every receive case points at `buf`/`hbuf`, owned by `self`
        // and writable for the capacities given (the runtime fills at most one case's buffers, the chosen
        // one's, so sharing them is fine); `info` is owned by `self`. A null pointer with no cases is not
        // read.
        let chosen = unsafe { sys::select(cases.as_ptr(), cases.len(), u32::from(block), &mut self.info) };
        recycle_encoder(enc);
        let chosen = usize::try_from(chosen).ok();
        assert!(chosen.is_some() || !block, "gmp: a blocking select returned no case");
        chosen
    }

    /// The chosen receive case's outcome: `Some(value)`, or `None` if its channel is closed.
    fn take_recv<T: Message>(&self) -> Option<T> {
        match self.info.status {
            sys::RECV_OK => Some(decode_inline(&self.buf, &self.hbuf, self.info.len, self.info.nhandles)),
            sys::RECV_PENDING => Some(take_pending(self.info.len, self.info.nhandles, "a received message")),
            sys::RECV_CLOSED => None,
            other => panic!("gmp: select returned unknown receive status {other}"),
        }
    }
}

/// Encodes `value` at the end of `enc`; where it lies.
fn encode_span<T: Message>(enc: &mut Encoder, value: &T) -> Span {
    let (b, h) = (enc.bytes().len(), enc.handles().len());
    value.encode_last(enc);
    Span { bytes: (b, enc.bytes().len() - b), handles: (h, enc.handles().len() - h) }
}

/// The index a nil arm gets: no case has it, so it is never chosen.
const NIL_ARM: usize = usize::MAX;

/// One `select!` in progress over at most `N` arms. Only the macro uses this.
#[doc(hidden)]
pub struct MacroSelect<const N: usize> {
    cases: [sys::SelectCase; N],
    spans: [Span; N],
    n: usize,
    enc: Option<Encoder>,
    landing: Landing,
    chosen: Option<usize>,
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
pub struct SendArm<V> {
    index: usize,
    _value: V,
}

impl<T> RecvArm<T> {
    /// The arm's case index.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<V> SendArm<V> {
    /// The arm's case index.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<const N: usize> Default for MacroSelect<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MacroSelect<N> {
    /// A select with no arms registered yet.
    pub fn new() -> Self {
        MacroSelect {
            cases: [sys::SelectCase::default(); N],
            spans: [Span::default(); N],
            n: 0,
            enc: Some(take_encoder()),
            landing: Landing::new(),
            chosen: None,
        }
    }

    /// Registers `recv(rx)`.
    pub fn recv<R: RecvCase + ?Sized>(&mut self, rx: &R) -> RecvArm<R::Item> {
        let index = rx.case_handle().map_or(NIL_ARM, |h| self.push(h, sys::CASE_RECV));
        RecvArm { index, _type: PhantomData }
    }

    /// Registers `send(tx, value)`, encoding the value now (Go evaluates it before choosing, too).
    pub fn send<S: SendCase + ?Sized, V: SendValue<S::Item>>(&mut self, tx: &S, value: V) -> SendArm<V> {
        let Some(handle) = tx.case_handle() else { return SendArm { index: NIL_ARM, _value: value } };
        let enc = self.enc.as_mut().expect("gmp: a select ran twice");
        let span = encode_span(enc, value.value());
        let index = self.push(handle, sys::CASE_SEND);
        self.spans[index] = span;
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
        let enc = self.enc.take().expect("gmp: a select ran twice");
        self.chosen = self.landing.run(&mut self.cases[..self.n], &self.spans[..self.n], enc, block);
        self.chosen
    }

    /// The chosen receive arm's outcome: `Some(value)`, or `None` if its channel is closed.
    pub fn take_recv<T: Message>(&self, arm: RecvArm<T>) -> Option<T> {
        assert_eq!(self.chosen, Some(arm.index), "gmp: select arm taken but not chosen");
        self.landing.take_recv()
    }
}

/// A select over arms known only at run time, any number of them: Go's `reflect.Select`, and what
/// [`select!`](crate::select!) is built like. Register arms with [`recv`](Select::recv) and
/// [`send`](Select::send) (each returns the arm's index, counting from 0 in the order registered), then
/// [`select`](Select::select) blocks until one can proceed (or [`try_select`](Select::try_select) returns
/// `None` at once if none can, Go's `default`). The runtime picks uniformly at random among the arms that
/// can proceed.
///
/// ```
/// // Collect from however many workers there are, whichever answers first.
/// let workers: Vec<gmp::Receiver<u64>> = (0..5u64)
///     .map(|i| {
///         let (tx, rx) = gmp::chan(1);
///         gmp::go!(tx, i => tx.send(i * 10));
///         rx
///     })
///     .collect();
/// let mut sum = 0;
/// let mut open: Vec<Option<&gmp::Receiver<u64>>> = workers.iter().map(Some).collect();
/// for _ in 0..workers.len() {
///     let mut sel = gmp::Select::new();
///     for rx in &open {
///         sel.recv(rx); // a `None` is a nil channel: never ready
///     }
///     let op = sel.select();
///     let i = op.index();
///     sum += op.recv(&open[i]).expect("a worker sends before it ends");
///     open[i] = None; // Go's trick: a nil channel switches the case off
/// }
/// assert_eq!(sum, 100);
/// ```
pub struct Select<'a> {
    cases: Vec<sys::SelectCase>,
    spans: Vec<Span>,
    /// For each case, the arm it belongs to (nil arms have no case).
    arm_of: Vec<usize>,
    arms: usize,
    enc: Encoder,
    /// Send arms' values, kept (with their handles) until the select is over.
    keep: Vec<Box<dyn Keep + 'a>>,
}

/// Anything, kept alive in a box until dropped.
trait Keep {}
impl<T: ?Sized> Keep for T {}

/// The arm a [`Select`] chose.
pub struct Selected<'a> {
    arm: usize,
    handle: u32,
    kind: u32,
    landing: Landing,
    _keep: Vec<Box<dyn Keep + 'a>>,
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a> Select<'a> {
    /// A select with no arms.
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            spans: Vec::new(),
            arm_of: Vec::new(),
            arms: 0,
            enc: take_encoder(),
            keep: Vec::new(),
        }
    }

    /// Adds an arm receiving from `rx` (`None`: a nil channel, never ready); returns the arm's index.
    pub fn recv<R: RecvCase + ?Sized>(&mut self, rx: &'a R) -> usize {
        if let Some(handle) = rx.case_handle() {
            self.push(handle, sys::CASE_RECV, Span::default());
        }
        self.next_arm()
    }

    /// Adds an arm sending `value` on `tx` (`None`: a nil channel, never ready); returns the arm's index.
    /// The value is encoded now; an owned one is dropped when the select is over, whichever arm was chosen.
    pub fn send<S: SendCase + ?Sized, V: SendValue<S::Item> + 'a>(&mut self, tx: &'a S, value: V) -> usize {
        if let Some(handle) = tx.case_handle() {
            let span = encode_span(&mut self.enc, value.value());
            self.push(handle, sys::CASE_SEND, span);
        }
        self.keep.push(Box::new(value));
        self.next_arm()
    }

    fn push(&mut self, handle: u32, kind: u32, span: Span) {
        self.cases.push(sys::SelectCase { handle, kind, ..Default::default() });
        self.spans.push(span);
        self.arm_of.push(self.arms);
    }

    fn next_arm(&mut self) -> usize {
        self.arms += 1;
        self.arms - 1
    }

    /// Blocks until an arm can proceed, runs it, and says which. With no arms, or only nil ones, it blocks
    /// forever, as Go's `select {}` does.
    pub fn select(self) -> Selected<'a> {
        self.run(true).expect("a blocking select chooses an arm")
    }

    /// Runs an arm that can proceed now, or returns `None` if none can (Go's `default`).
    pub fn try_select(self) -> Option<Selected<'a>> {
        self.run(false)
    }

    fn run(mut self, block: bool) -> Option<Selected<'a>> {
        let mut landing = Landing::new();
        let chosen = landing.run(&mut self.cases, &self.spans, core::mem::take(&mut self.enc), block)?;
        let case = self.cases[chosen];
        Some(Selected { arm: self.arm_of[chosen], handle: case.handle, kind: case.kind, landing, _keep: self.keep })
    }
}

impl Selected<'_> {
    /// The chosen arm's index, as [`Select::recv`] or [`Select::send`] returned it.
    pub fn index(&self) -> usize {
        self.arm
    }

    /// What the chosen receive arm received from `rx`: `Some(value)`, or `None` if the channel is closed and
    /// drained.
    ///
    /// # Panics
    /// If the chosen arm is not a receive from `rx`.
    pub fn recv<R: RecvCase + ?Sized>(self, rx: &R) -> Option<R::Item> {
        assert!(
            self.kind == sys::CASE_RECV && rx.case_handle() == Some(self.handle),
            "gmp: Selected::recv on a channel the chosen arm does not receive from"
        );
        self.landing.take_recv()
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
/// ```
/// # let (tx, rx) = gmp::chan::<u32>(1);
/// # let (out, _keep) = gmp::chan::<String>(1);
/// gmp::select! {
///     recv(rx) -> v => println!("received {v:?}"), // v: Option<u32>, None if rx is closed
///     send(out, "hi".to_string()) => println!("sent"),
///     default => println!("nothing ready"),
/// }
/// ```
///
/// - `recv(rx) -> pat => body`: `rx` is a `Receiver<T>`, a reference to one, or an `Option` of either
///   (`None` is Go's nil channel: the arm is never ready). It may be a place or a temporary (such as
///   [`gmp::time::after(d)`](crate::time::after), Go's `case <-time.After(d)`) that lives until the
///   `select!` is over; `pat` binds an `Option<T>`, `None` meaning closed and drained.
/// - `send(tx, value) => body`: sends `value` on `tx` (a `Sender<T>`, a reference, or an `Option`, as for
///   `recv`; a temporary lives until the `select!` is over). `value` is a `T`, dropped if another arm is
///   chosen, or a `&T`, copied into the channel and left with the caller either way, so a loop can offer the
///   same value round after round. Sending on a closed channel panics.
/// - `default => body`: taken when no other arm can proceed now; without it, `select!` blocks until one can
///   (forever, if every arm's channel is nil).
///
/// Any mix of arms, each body an expression followed by a comma or a block; up to about 60 arms, the
/// compiler's macro recursion limit (`#![recursion_limit = "256"]` raises it; [`Select`] has no limit).
/// All channel and value expressions are evaluated first, once each, in order; the runtime picks uniformly
/// at random among the arms that can proceed, so no arm starves. The whole `select!` is an expression whose
/// value is that of the chosen body; `select! {}` blocks forever.
///
/// ```
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
        $crate::__select!(@parse sel [] [] [] [] $($arms)+)
    };
}

/// The parser behind [`select!`](crate::select!). State: the select's identifier, `+ 1` per arm, the setup
/// statements, the match arms, `[default]` once a default arm was seen; then the tokens left to parse. Each
/// arm's head is parsed by an `@parse` rule, its body by the `@body` rules.
///
/// Each arm binds its own `__gmp_arm`: macro hygiene gives every expansion's identifiers their own scope,
/// so the bindings of different arms never shadow each other and need no numbering.
#[doc(hidden)]
#[macro_export]
macro_rules! __select {
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*]
        recv($rx:expr) -> $v:pat => $($rest:tt)*) => {
        // Binding `&$rx` first keeps a temporary receiver (`recv(gmp::time::after(d))`) alive, and its handle
        // open, until the select is over; the arm then shadows the reference.
        $crate::__select!(@body $sel [$($n)* + 1]
            [$($setup)* let __gmp_arm = &$rx; let __gmp_arm = $sel.recv(__gmp_arm);] [$($cases)*] [$($def)*]
            (::core::option::Option::Some(i) if i == __gmp_arm.index()) (let $v = $sel.take_recv(__gmp_arm);)
            $($rest)*)
    };
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*]
        send($tx:expr, $val:expr $(,)?) => $($rest:tt)*) => {
        // As for `recv`: a temporary sender (`send(make_chan(), v)`) stays open until the select is over.
        $crate::__select!(@body $sel [$($n)* + 1]
            [$($setup)* let __gmp_tx = &$tx; let __gmp_arm = $sel.send(__gmp_tx, $val);] [$($cases)*] [$($def)*]
            (::core::option::Option::Some(i) if i == __gmp_arm.index()) ()
            $($rest)*)
    };
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] []
        default => $($rest:tt)*) => {
        $crate::__select!(@body $sel [$($n)*] [$($setup)*] [$($cases)*] [default]
            (::core::option::Option::None) ()
            $($rest)*)
    };
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [default]
        default $($rest:tt)*) => {
        ::core::compile_error!("select! has more than one `default` arm")
    };
    // All parsed.
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*]) => {{
        #[allow(unused_mut)]
        let mut $sel = $crate::__private::MacroSelect::<{ 0 $($n)* }>::new();
        $($setup)*
        match $sel.run($crate::__select!(@block $($def)*)) {
            $($cases)*
            _ => ::core::unreachable!(),
        }
    }};
    (@parse $sel:ident [$($n:tt)*] [$($setup:tt)*] [$($cases:tt)*] [$($def:tt)*]
        $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> v => body`, `send(tx, value) => body` or `default => body`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };

    // An arm's body: a block (a comma after it is optional) or an expression (a comma after it is required
    // unless it is the last arm). `$pat` is the arm's match pattern, `$pre` what runs before the body.
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:block, $($rest:tt)*) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def $($rest)*)
    };
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:block $($rest:tt)*) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def $($rest)*)
    };
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:expr, $($rest:tt)*) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def $($rest)*)
    };
    (@body $sel:ident $n:tt $setup:tt [$($cases:tt)*] $def:tt ($($pat:tt)*) ($($pre:tt)*)
        $body:expr) => {
        $crate::__select!(@parse $sel $n $setup [$($cases)* $($pat)* => { $($pre)* $body }] $def)
    };

    // Whether the select blocks: only without a default arm.
    (@block) => { true };
    (@block default) => { false };
}
