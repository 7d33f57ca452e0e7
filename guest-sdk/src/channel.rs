//! Typed channels: [`chan`], the [`Sender`] and [`Receiver`] halves, their errors and iterators, and the
//! receive path shared with `select!` and spawning (a small stack buffer first, the pending message only when
//! that is too small).

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::message::{decode_message, with_encoded};
use crate::{DecodeError, Decoder, Encoder, Message, sys};

/// Receive buffer sizes tried before falling back to the pending message: most messages are a few integers
/// or a short string, and these keep a receive to one host call without touching the heap.
pub(crate) const INLINE_BYTES: usize = 128;
pub(crate) const INLINE_HANDLES: usize = 8;

/// Sends of at most this many bytes try the synchronous call before the blocking one (see `send`).
const TRY_FIRST_BYTES: usize = 4096;

/// After a try on a handle fails, this many of its next blocking operations skip the try (see [`Waits`]).
const SKIP_TRIES_AFTER_A_WAIT: u8 = 3;

/// Which handles have lately had to wait: a blocking send or receive tries the cheap synchronous call
/// first, which pays off when the operation can complete at once (a buffer with room or messages, a
/// partner already waiting) and is a wasted host call when it cannot. A handle that just waited will most
/// likely wait again (the two ends of a ping-pong, a link of the prime sieve: every receive there waits),
/// so its next few blocking operations go straight to the blocking call, and then one tries again, so a
/// handle whose traffic changes is re-learnt within a few operations. A hint only: the blocking call tries
/// before it parks, so either way the operation is the same. Direct-mapped by handle number; two handles
/// sharing a slot only share a guess.
struct Waits;

thread_local! {
    static WAITS: [core::cell::Cell<u8>; 64] = const { [const { core::cell::Cell::new(0) }; 64] };
}

impl Waits {
    /// True if the next blocking operation on `handle` should skip its try (and counts it).
    #[inline]
    fn skip_try(handle: u32) -> bool {
        WAITS.with(|w| {
            let c = &w[handle as usize % 64];
            let n = c.get();
            if n > 0 {
                c.set(n - 1);
            }
            n > 0
        })
    }

    /// A try on `handle` failed: the operation is about to wait.
    #[inline]
    fn waited(handle: u32) {
        WAITS.with(|w| w[handle as usize % 64].set(SKIP_TRIES_AFTER_A_WAIT));
    }
}

/// Creates a channel for `T` with a buffer of `cap` messages (0 = unbuffered: a send waits for a receiver).
///
/// The halves are two handles to one channel, and either can be cloned or sent to other Gs. As in Go, dropping
/// every sender does not close the channel: call [`Sender::close`].
///
/// ```
/// let (tx, rx) = gmp::chan::<String>(1);
/// tx.send("hi".to_string());
/// assert_eq!(rx.recv().as_deref(), Some("hi"));
/// ```
pub fn chan<T: Message>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let cap = i32::try_from(cap).expect("gmp: channel capacity exceeds i32::MAX");
    let handle = sys::chan_new(cap);
    let rx = sys::handle_dup(handle);
    (Sender { handle, _type: PhantomData }, Receiver { handle: rx, _type: PhantomData })
}

/// The host channel the embedder handed this program under `name` (its `RunOptions::chan`), as both ends;
/// None if there is none. Values are encoded the same way on both sides, so the host's `Chan<Job>` is a
/// channel of `Job` here. Every call gives new handles to the same channel.
///
/// ```
/// match gmp::host_chan::<u64>("jobs") {
///     Some((_results, jobs)) => jobs.iter().for_each(|job| println!("job {job}")),
///     None => println!("not run by a host that hands us \"jobs\""), // as here, under `wasm-gmp run`
/// }
/// ```
pub fn host_chan<T: Message>(name: &str) -> Option<(Sender<T>, Receiver<T>)> {
    // SAFETY: the name is readable for its length.
    let handle = unsafe { sys::chan_lookup(name.as_ptr(), name.len()) };
    if handle == 0 {
        return None;
    }
    let rx = sys::handle_dup(handle);
    Some((Sender { handle, _type: PhantomData }, Receiver { handle: rx, _type: PhantomData }))
}

/// The sending half of a channel of `T`.
///
/// ```
/// let (tx, rx) = gmp::chan::<u32>(0);
/// gmp::go_with(tx, |tx| tx.send(1));
/// assert_eq!(rx.recv(), Some(1));
/// ```
pub struct Sender<T> {
    handle: u32,
    _type: PhantomData<fn(T)>,
}

/// The receiving half of a channel of `T`.
///
/// ```
/// let (tx, rx) = gmp::chan::<u32>(0);
/// gmp::go_with(rx, |rx| println!("{:?}", rx.recv()));
/// tx.send(1);
/// ```
pub struct Receiver<T> {
    handle: u32,
    _type: PhantomData<fn() -> T>,
}

/// Why [`Sender::try_send`] did not send; it hands the value back.
///
/// ```
/// let (tx, _rx) = gmp::chan::<u8>(0);
/// let gmp::TrySendError::Full(v) = tx.try_send(5).unwrap_err();
/// assert_eq!(v, 5);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// No receiver is waiting (unbuffered) or the buffer is full. (Sending on a closed channel is not an
    /// error but a panic, as in Go: the runtime traps the G.)
    Full(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let (tx, _rx) = gmp::chan::<u8>(0);
    /// assert_eq!(tx.try_send(5).unwrap_err().into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a full channel")
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`] returned no value.
///
/// ```
/// let (tx, rx) = gmp::chan::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(gmp::TryRecvError::Empty));
/// tx.close();
/// assert_eq!(rx.try_recv(), Err(gmp::TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive now.
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Closed => "receiving on a closed channel",
        })
    }
}

impl std::error::Error for TryRecvError {}

impl<T: Message> Sender<T> {
    /// Sends `value`, blocking until a receiver takes it (unbuffered) or there is room in the buffer.
    ///
    /// Handles inside `value` go with the message, and this G's copies are closed once it is sent.
    ///
    /// # Panics
    /// Sending on a closed channel panics (the runtime traps the G and ends the program), as in Go.
    ///
    /// ```
    /// let (tx, rx) = gmp::chan::<Vec<u8>>(1);
    /// tx.send(vec![1, 2, 3]);
    /// assert_eq!(rx.recv(), Some(vec![1, 2, 3]));
    /// ```
    pub fn send(&self, value: T) {
        with_encoded(&value, |bytes, handles| {
            // Try the cheap synchronous call first: it completes whenever a receiver waits or the buffer has
            // room, and only a send that must wait pays for the blocking (fiber-suspending) call. Large
            // messages skip it: a failed try would have copied them for nothing. So do sends on a handle
            // that has just had to wait (see `Waits`).
            // SAFETY: both pointer/length pairs come from live slices that outlive the calls.
            unsafe {
                let (b, h) = (bytes.as_ptr(), handles.as_ptr());
                let sent = bytes.len() <= TRY_FIRST_BYTES
                    && !Waits::skip_try(self.handle)
                    && (sys::chan_try_send(self.handle, b, bytes.len(), h, handles.len()) != 0 || {
                        Waits::waited(self.handle);
                        false
                    });
                if !sent {
                    sys::chan_send(self.handle, b, bytes.len(), h, handles.len());
                }
            }
        });
    }

    /// Sends `value` if that can complete now, else hands it back in [`TrySendError::Full`].
    ///
    /// # Panics
    /// On a closed channel, as [`send`](Sender::send) does.
    ///
    /// ```
    /// let (tx, _rx) = gmp::chan::<u8>(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(tx.try_send(2).is_err()); // the buffer holds one
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let sent = with_encoded(&value, |bytes, handles| {
            // SAFETY: both pointer/length pairs come from live slices that outlive the call.
            unsafe { sys::chan_try_send(self.handle, bytes.as_ptr(), bytes.len(), handles.as_ptr(), handles.len()) }
        });
        if sent != 0 { Ok(()) } else { Err(TrySendError::Full(value)) }
    }
}

impl<T> Sender<T> {
    /// Closes the channel: receivers drain what is buffered, then get `None`. Closing a closed channel
    /// panics (the runtime traps the G), as in Go.
    ///
    /// ```
    /// let (tx, rx) = gmp::chan::<u8>(1);
    /// tx.send(1);
    /// tx.close();
    /// assert_eq!(rx.recv(), Some(1));
    /// assert_eq!(rx.recv(), None);
    /// ```
    pub fn close(&self) {
        sys::chan_close(self.handle);
    }

    /// Messages in the buffer now (always 0 for an unbuffered channel).
    ///
    /// ```
    /// let (tx, _rx) = gmp::chan::<u8>(2);
    /// tx.send(1);
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        sys::chan_len(self.handle) as usize
    }

    /// Whether the buffer is empty now.
    ///
    /// ```
    /// let (tx, _rx) = gmp::chan::<u8>(2);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity.
    ///
    /// ```
    /// let (tx, _rx) = gmp::chan::<u8>(2);
    /// assert_eq!(tx.cap(), 2);
    /// ```
    pub fn cap(&self) -> usize {
        sys::chan_cap(self.handle) as usize
    }
}

impl<T: Message> Receiver<T> {
    /// Receives a value, blocking until one arrives; `None` once the channel is closed and drained.
    ///
    /// # Panics
    /// If the message does not decode as a `T` (which safe code cannot cause).
    ///
    /// ```
    /// let (tx, rx) = gmp::chan::<u8>(1);
    /// tx.send(1);
    /// tx.close();
    /// assert_eq!(rx.recv(), Some(1));
    /// assert_eq!(rx.recv(), None);
    /// ```
    pub fn recv(&self) -> Option<T> {
        match recv_raw(self.handle, true) {
            Recv::Value(v) => Some(v),
            Recv::Closed => None,
            Recv::WouldBlock => unreachable!("gmp: a blocking receive returned would-block"),
        }
    }

    /// Receives a value if one (or the closed state) is there now.
    ///
    /// ```
    /// let (tx, rx) = gmp::chan::<u8>(1);
    /// assert_eq!(rx.try_recv(), Err(gmp::TryRecvError::Empty));
    /// tx.send(1);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match recv_raw(self.handle, false) {
            Recv::Value(v) => Ok(v),
            Recv::Closed => Err(TryRecvError::Closed),
            Recv::WouldBlock => Err(TryRecvError::Empty),
        }
    }

    /// A blocking iterator over received values; it ends when the channel is closed and drained.
    ///
    /// ```
    /// let (tx, rx) = gmp::chan::<u32>(3);
    /// for i in 1..=3 {
    ///     tx.send(i);
    /// }
    /// tx.close();
    /// assert_eq!(rx.iter().sum::<u32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }
}

impl<T> Receiver<T> {
    /// Messages in the buffer now (always 0 for an unbuffered channel).
    ///
    /// ```
    /// let (tx, rx) = gmp::chan::<u8>(2);
    /// tx.send(1);
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        sys::chan_len(self.handle) as usize
    }

    /// Whether the buffer is empty now.
    ///
    /// ```
    /// let (_tx, rx) = gmp::chan::<u8>(2);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity.
    ///
    /// ```
    /// let (_tx, rx) = gmp::chan::<u8>(2);
    /// assert_eq!(rx.cap(), 2);
    /// ```
    pub fn cap(&self) -> usize {
        sys::chan_cap(self.handle) as usize
    }

    pub(crate) fn handle(&self) -> u32 {
        self.handle
    }

    /// Wraps a channel handle this G owns (a timer's channel, say); the receiver closes it when dropped. The
    /// caller vouches that the channel's messages decode as `T`.
    pub(crate) fn from_handle(handle: u32) -> Self {
        Receiver { handle, _type: PhantomData }
    }
}

impl<T> Sender<T> {
    pub(crate) fn handle(&self) -> u32 {
        self.handle
    }
}

/// A second sender for the same channel (a new handle).
impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender { handle: sys::handle_dup(self.handle), _type: PhantomData }
    }
}

/// A second receiver for the same channel (a new handle).
impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver { handle: sys::handle_dup(self.handle), _type: PhantomData }
    }
}

/// Releases this handle only; the channel stays open.
impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        sys::handle_close(self.handle);
    }
}

/// Releases this handle only.
impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        sys::handle_close(self.handle);
    }
}

// Identity, as Go compares channel values: two ends are equal when they are ends of the same channel,
// whatever their handles (a channel received twice arrives under two handles). Each comparison or hash asks
// the runtime for the channel's id.

impl<T> Sender<T> {
    /// The channel's identity: the same for every end of it, in every G, and the number the runtime's
    /// reports use ("waiting on chan #7"). Ends are `==` (and hash alike) exactly when their ids are.
    ///
    /// ```
    /// let (tx, rx) = gmp::chan::<u32>(0);
    /// assert_eq!(tx.id(), rx.id());
    /// assert_eq!(tx, tx.clone()); // another handle, the same channel
    /// assert_ne!(tx, gmp::chan::<u32>(0).0);
    /// ```
    pub fn id(&self) -> u64 {
        sys::chan_id(self.handle)
    }
}

impl<T> Receiver<T> {
    /// The channel's identity (see [`Sender::id`]).
    pub fn id(&self) -> u64 {
        sys::chan_id(self.handle)
    }
}

impl<T> PartialEq for Sender<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<T> Eq for Sender<T> {}

impl<T> core::hash::Hash for Sender<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<T> PartialEq for Receiver<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<T> Eq for Receiver<T> {}

impl<T> core::hash::Hash for Receiver<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("chan", &self.id()).field("handle", &self.handle).finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("chan", &self.id()).field("handle", &self.handle).finish()
    }
}

/// Both ends of a channel in one value: Go's bidirectional `chan T`, to keep in a struct or pass to a G that
/// both sends and receives. It derefs to neither end; use [`tx`](Chan::tx) and [`rx`](Chan::rx), or the
/// shortcuts below. Equal, and hashed alike, when it is the same channel.
///
/// ```
/// let ch = gmp::Chan::<u32>::new(1);
/// ch.send(5);
/// assert_eq!(ch.recv(), Some(5));
/// let (tx, rx) = ch.clone().split();
/// assert_eq!(tx.id(), ch.rx().id());
/// drop(rx);
/// ```
pub struct Chan<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
}

impl<T: Message> Chan<T> {
    /// A channel with a buffer of `cap` messages, as [`chan`] makes.
    pub fn new(cap: usize) -> Self {
        let (tx, rx) = chan(cap);
        Chan { tx, rx }
    }

    /// Sends `value` (see [`Sender::send`]).
    pub fn send(&self, value: T) {
        self.tx.send(value);
    }

    /// Receives a value; `None` once the channel is closed and drained (see [`Receiver::recv`]).
    pub fn recv(&self) -> Option<T> {
        self.rx.recv()
    }

    /// Closes the channel (see [`Sender::close`]).
    pub fn close(&self) {
        self.tx.close();
    }
}

impl<T> Chan<T> {
    /// The sending end.
    pub fn tx(&self) -> &Sender<T> {
        &self.tx
    }

    /// The receiving end.
    pub fn rx(&self) -> &Receiver<T> {
        &self.rx
    }

    /// The two ends, apart.
    pub fn split(self) -> (Sender<T>, Receiver<T>) {
        (self.tx, self.rx)
    }
}

impl<T> From<(Sender<T>, Receiver<T>)> for Chan<T> {
    fn from((tx, rx): (Sender<T>, Receiver<T>)) -> Self {
        Chan { tx, rx }
    }
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan { tx: self.tx.clone(), rx: self.rx.clone() }
    }
}

impl<T> PartialEq for Chan<T> {
    fn eq(&self, other: &Self) -> bool {
        self.rx == other.rx
    }
}

impl<T> Eq for Chan<T> {}

impl<T> core::hash::Hash for Chan<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.rx.hash(state);
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan").field("chan", &self.rx.id()).finish()
    }
}

/// Travels as its two handles.
impl<T> Message for Chan<T> {
    fn encode(&self, enc: &mut Encoder) {
        self.tx.encode(enc);
        self.rx.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Chan { tx: Sender::decode(dec)?, rx: Receiver::decode(dec)? })
    }
}

/// A sender travels as its handle; the receiving G gets its own.
impl<T> Message for Sender<T> {
    fn encode(&self, enc: &mut Encoder) {
        enc.push_handle(self.handle);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Sender { handle: dec.take_handle()?, _type: PhantomData })
    }
}

/// A receiver travels as its handle; the receiving G gets its own.
impl<T> Message for Receiver<T> {
    fn encode(&self, enc: &mut Encoder) {
        enc.push_handle(self.handle);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Receiver { handle: dec.take_handle()?, _type: PhantomData })
    }
}

/// Borrowing iterator from [`Receiver::iter`]: blocks for each value, ends when the channel is closed and
/// drained.
///
/// ```
/// let (tx, rx) = gmp::chan::<u8>(2);
/// tx.send(1);
/// tx.close();
/// let mut it: gmp::Iter<'_, u8> = rx.iter();
/// assert_eq!(it.next(), Some(1));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T: Message> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

/// Owning iterator from `Receiver::into_iter`: like [`Iter`], and releases the receiver at the end.
///
/// ```
/// let (tx, rx) = gmp::chan::<u8>(2);
/// tx.send(1);
/// tx.close();
/// let it: gmp::IntoIter<u8> = rx.into_iter();
/// assert_eq!(it.collect::<Vec<_>>(), [1]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T: Message> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

impl<'a, T: Message> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Message> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

pub(crate) enum Recv<T> {
    Value(T),
    Closed,
    WouldBlock,
}

/// One receive on channel `handle`: inline buffers first, the pending message if it did not fit.
#[inline]
fn recv_raw<T: Message>(handle: u32, block: bool) -> Recv<T> {
    let mut buf = [MaybeUninit::<u8>::uninit(); INLINE_BYTES];
    let mut hbuf = [MaybeUninit::<u32>::uninit(); INLINE_HANDLES];
    let mut info = sys::RecvInfo::default();
    // SAFETY: the buffers and `info` are locals, writable for exactly the capacities passed, and nothing else
    // refers to them during the calls.
    let status = unsafe {
        let (b, h) = (buf.as_mut_ptr().cast(), hbuf.as_mut_ptr().cast());
        // The synchronous try first, as in `send`: only a receive that must wait pays for the blocking call
        // (and a handle that has just had to wait skips the try, see `Waits`).
        if block && Waits::skip_try(handle) {
            sys::chan_recv(handle, b, INLINE_BYTES, h, INLINE_HANDLES, &mut info)
        } else {
            let st = sys::chan_try_recv(handle, b, INLINE_BYTES, h, INLINE_HANDLES, &mut info);
            if st == sys::RECV_WOULD_BLOCK && block {
                Waits::waited(handle);
                sys::chan_recv(handle, b, INLINE_BYTES, h, INLINE_HANDLES, &mut info)
            } else {
                st
            }
        }
    };
    match status {
        sys::RECV_OK => Recv::Value(decode_inline(&buf, &hbuf, info.len, info.nhandles)),
        sys::RECV_PENDING => Recv::Value(take_pending(info.len, info.nhandles, "a received message")),
        sys::RECV_CLOSED => Recv::Closed,
        sys::RECV_WOULD_BLOCK if !block => Recv::WouldBlock,
        other => panic!("gmp: chan_recv returned unknown status {other}"),
    }
}

/// Decodes a message the runtime wrote into inline buffers, `len` bytes and `nhandles` handles of it.
#[inline]
pub(crate) fn decode_inline<T: Message>(
    buf: &[MaybeUninit<u8>; INLINE_BYTES],
    hbuf: &[MaybeUninit<u32>; INLINE_HANDLES],
    len: u32,
    nhandles: u32,
) -> T {
    // SAFETY: the runtime wrote the first `len` bytes and `nhandles` handles (the call returned ok with these
    // sizes).
    let (bytes, handles) = unsafe { written(buf, hbuf, len, nhandles) };
    decode_message(bytes, handles, "a received message")
}

/// The first `len` bytes and `nhandles` handles of the inline buffers.
///
/// # Safety
/// The runtime must have written those prefixes. The sizes are checked against the buffers here (the runtime
/// only reports sizes that fit the buffers it was given; checking keeps the slices sound even if it did not).
unsafe fn written<'b>(
    buf: &'b [MaybeUninit<u8>; INLINE_BYTES],
    hbuf: &'b [MaybeUninit<u32>; INLINE_HANDLES],
    len: u32,
    nhandles: u32,
) -> (&'b [u8], &'b [u32]) {
    let (len, nhandles) = (len as usize, nhandles as usize);
    assert!(len <= INLINE_BYTES && nhandles <= INLINE_HANDLES, "gmp: runtime reported an oversized message");
    // SAFETY: the prefixes are initialized (the caller's contract) and in bounds (the assert).
    unsafe {
        (
            core::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len),
            core::slice::from_raw_parts(hbuf.as_ptr().cast::<u32>(), nhandles),
        )
    }
}

/// Fetches the G's pending message (`len` bytes, `nhandles` handles) and decodes it.
pub(crate) fn take_pending<T: Message>(len: u32, nhandles: u32, what: &str) -> T {
    let (bytes, handles) = take_pending_raw(len, nhandles);
    decode_message(&bytes, &handles, what)
}

/// Runs `f` on the G's pending message of `len` bytes and `nhandles` handles, read onto the stack when it
/// fits the inline buffers. A new G's spawn message goes through here: read onto the heap, it made every G
/// set up the allocator, whose state and end-of-heap record then cost each G two pages more of written
/// memory even when it allocated nothing else.
pub(crate) fn with_pending_raw<R>(len: u32, nhandles: u32, f: impl FnOnce(&[u8], &[u32]) -> R) -> R {
    let (n, nh) = (len as usize, nhandles as usize);
    if n > INLINE_BYTES || nh > INLINE_HANDLES {
        let (bytes, handles) = take_pending_raw(len, nhandles);
        return f(&bytes, &handles);
    }
    let mut buf = [MaybeUninit::<u8>::uninit(); INLINE_BYTES];
    let mut hbuf = [MaybeUninit::<u32>::uninit(); INLINE_HANDLES];
    // SAFETY: the buffers are locals, writable for at least `n` bytes and `nh` handles (checked above), and
    // `msg_take` writes exactly that many, so the prefixes `written` slices are initialized.
    let (bytes, handles) = unsafe {
        sys::msg_take(buf.as_mut_ptr().cast(), n, hbuf.as_mut_ptr().cast(), nh);
        written(&buf, &hbuf, len, nhandles)
    };
    f(bytes, handles)
}

/// Fetches the G's pending message of `len` bytes and `nhandles` handles.
pub(crate) fn take_pending_raw(len: u32, nhandles: u32) -> (Vec<u8>, Vec<u32>) {
    let mut bytes = vec![0u8; len as usize];
    let mut handles = vec![0u32; nhandles as usize];
    // SAFETY: both vectors are owned here and writable for exactly the lengths passed.
    unsafe { sys::msg_take(bytes.as_mut_ptr(), bytes.len(), handles.as_mut_ptr(), handles.len()) };
    (bytes, handles)
}
