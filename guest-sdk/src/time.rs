//! Time on the runtime's clock: [`Instant`], [`sleep`], and timers that deliver their expiry on a channel
//! ([`after`], [`Timer`], [`tick`] and [`Ticker`]), so that waiting for a deadline is one more `select!` arm.
//!
//! The clock is the runtime's monotonic one: nanoseconds since the program started, the same in every G, so an
//! [`Instant`] taken in one G and sent to another still names the same moment. (`std::time::Instant` reads
//! WASI's clock, which does not start at 0; timers report times on this one.) [`sleep`] parks the G on the
//! runtime's timer heap and holds no thread meanwhile; under wasm-gmp, `std::thread::sleep` does the same.
//!
//! A timer is two handles: the timer, which stopping it needs, and a channel the runtime sends the firing time
//! to. That channel is an ordinary one, so the [`Receiver<Instant>`] over it works with `recv`, `try_recv`,
//! iteration and [`select!`](crate::select!):
//!
//! ```
//! use std::time::Duration;
//! use gmp::time;
//!
//! let (tx, rx) = gmp::chan::<u32>(0);
//! gmp::go!(tx => {
//!     time::sleep(Duration::from_millis(10));
//!     tx.send(42);
//! });
//! gmp::select! {
//!     recv(rx) -> v => println!("answer: {v:?}"),
//!     recv(time::after(Duration::from_secs(1))) -> _ => println!("timed out"),
//! }
//! ```
//!
//! Who stops a timer: [`Timer`] and [`Ticker`] are [`Message`]s, so clones and copies sent to other Gs are
//! the same timer; `stop` on any copy stops it, and the runtime stops it when the last copy is dropped (as Go
//! stops a timer nothing references), so that a forgotten one, a ticker above all, does not stay in the
//! runtime's timer heap. [`after`] has no timer to hold: it fires once and goes.
//!
//! Durations are passed to the runtime as signed 64-bit nanoseconds; longer ones (about 292 years) are cut to
//! that.

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::{DecodeError, Decoder, Encoder, Message, Receiver, sys};

/// A moment on the runtime's monotonic clock, with nanosecond resolution.
///
/// It is a [`Message`] of 8 bytes, the format timers send, so it can be passed between Gs, and a timer's
/// channel is a [`Receiver<Instant>`].
///
/// ```
/// use std::time::Duration;
/// use gmp::time::Instant;
///
/// let start = Instant::now();
/// gmp::time::sleep(Duration::from_millis(5));
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// assert!(Instant::now() > start);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Nanoseconds since the program started.
    ns: u64,
}

impl Instant {
    /// The runtime's clock now.
    ///
    /// ```
    /// let t = gmp::time::Instant::now();
    /// println!("{t:?} since the program started");
    /// ```
    pub fn now() -> Instant {
        Instant { ns: sys::now() }
    }

    /// How long ago `self` was (zero if it is in the future).
    ///
    /// ```
    /// let start = gmp::time::Instant::now();
    /// let spent = start.elapsed();
    /// println!("took {spent:?}");
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later (as `std::time::Instant` does).
    ///
    /// ```
    /// use std::time::Duration;
    /// use gmp::time::Instant;
    ///
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(3);
    /// assert_eq!(b.duration_since(a), Duration::from_millis(3));
    /// assert_eq!(a.duration_since(b), Duration::ZERO);
    /// ```
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.checked_duration_since(earlier).unwrap_or_default()
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    ///
    /// ```
    /// use std::time::Duration;
    /// use gmp::time::Instant;
    ///
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(3);
    /// assert_eq!(a.checked_duration_since(b), None);
    /// ```
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.ns.checked_sub(earlier.ns).map(Duration::from_nanos)
    }

    /// `self + d`, or `None` if that is past the clock's range.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let now = gmp::time::Instant::now();
    /// assert!(now.checked_add(Duration::from_secs(1)).is_some());
    /// assert!(now.checked_add(Duration::MAX).is_none());
    /// ```
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        let ns = u64::try_from(d.as_nanos()).ok()?;
        self.ns.checked_add(ns).map(|ns| Instant { ns })
    }

    /// `self - d`, or `None` if that is before the program started.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let now = gmp::time::Instant::now();
    /// assert!(now.checked_sub(Duration::from_secs(1_000_000)).is_none());
    /// ```
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        let ns = u64::try_from(d.as_nanos()).ok()?;
        self.ns.checked_sub(ns).map(|ns| Instant { ns })
    }
}

/// # Panics
/// If the result is past the clock's range; [`Instant::checked_add`] does not panic.
impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, d: Duration) -> Instant {
        self.checked_add(d).expect("gmp: overflow when adding a duration to an instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// # Panics
/// If the result is before the program started; [`Instant::checked_sub`] does not panic.
impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d).expect("gmp: overflow when subtracting a duration from an instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

/// [`Instant::duration_since`]: zero if `earlier` is later.
impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

/// Shows the time since the program started: `Instant(1.5ms)`.
impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Instant").field(&Duration::from_nanos(self.ns)).finish()
    }
}

/// 8 bytes, the nanoseconds little-endian: exactly what a timer sends.
impl Message for Instant {
    fn encode(&self, enc: &mut Encoder) {
        self.ns.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Instant { ns: u64::decode(dec)? })
    }
}

/// A duration as the runtime's nanoseconds: its core type is `i64`, so longer durations are cut to
/// `i64::MAX` rather than wrapping to a negative (past) time.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).map_or(i64::MAX as u64, |ns| ns.min(i64::MAX as u64))
}

/// A new timer: its handle, and a receiver over its channel.
fn timer_new(delay: Duration, period: Duration) -> (u32, Receiver<Instant>) {
    let mut chan = 0u32;
    // SAFETY: `chan` is a local, writable for the 4 bytes the runtime writes, and nothing else refers to it.
    let timer = unsafe { sys::timer_new(nanos(delay), nanos(period), &mut chan) };
    // Timers send 8-byte little-endian clock readings, which is `Instant`'s encoding.
    (timer, Receiver::from_handle(chan))
}

/// Parks the calling G for `d`; other Gs run meanwhile, and no thread is held.
///
/// ```
/// use std::time::Duration;
///
/// let start = gmp::time::Instant::now();
/// gmp::time::sleep(Duration::from_millis(20));
/// assert!(start.elapsed() >= Duration::from_millis(20));
/// ```
pub fn sleep(d: Duration) {
    sys::sleep(nanos(d));
}

/// A channel that receives the time once, `d` from now (Go's `time.After`): the usual timeout arm of a
/// [`select!`](crate::select!).
///
/// It cannot be stopped; if the receiver is dropped first, the runtime discards the timer when it fires. Use
/// [`Timer`] to stop one early.
///
/// ```
/// use std::time::Duration;
///
/// let (_tx, rx) = gmp::chan::<u32>(0);
/// let timeout = gmp::time::after(Duration::from_millis(50));
/// gmp::select! {
///     recv(rx) -> v => println!("got {v:?}"),
///     recv(timeout) -> t => println!("timed out at {:?}", t.unwrap()),
/// }
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    // Timers send 8-byte little-endian clock readings, which is `Instant`'s encoding.
    Receiver::from_handle(sys::timer_after(nanos(d)))
}

/// A ticker that sends the time every `period`, the first tick one `period` from now (Go's `time.Tick`, but
/// stoppable: see [`Ticker`]).
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
///
/// let ticker = gmp::time::tick(Duration::from_millis(100));
/// for t in ticker.receiver().iter().take(3) {
///     println!("tick at {t:?}");
/// }
/// ```
pub fn tick(period: Duration) -> Ticker {
    Ticker::new(period)
}

/// A one-shot timer: its [`receiver`](Timer::receiver) gets the time once the delay has passed, unless
/// [`stop`](Timer::stop) comes first (Go's `time.Timer`).
///
/// A timer is a [`Message`]: clones, and copies sent to other Gs, are the same timer, and it stops once the
/// last of them is dropped. (A clone of the receiver alone does not keep it running: hold a copy of the
/// timer, or use [`after`].)
///
/// ```
/// use std::time::Duration;
/// use gmp::time::Timer;
///
/// let timer = Timer::new(Duration::from_millis(10));
/// let fired_at = timer.receiver().recv().unwrap();
/// println!("fired at {fired_at:?}");
/// ```
pub struct Timer {
    handle: u32,
    rx: Receiver<Instant>,
}

impl Timer {
    /// A timer that fires once, `d` from now.
    ///
    /// ```
    /// let timer = gmp::time::Timer::new(std::time::Duration::from_secs(1));
    /// ```
    pub fn new(d: Duration) -> Timer {
        let (handle, rx) = timer_new(d, Duration::ZERO);
        Timer { handle, rx }
    }

    /// The channel the firing time arrives on; use it with `recv` or in a [`select!`](crate::select!).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (_tx, rx) = gmp::chan::<u32>(0);
    /// let timer = gmp::time::Timer::new(Duration::from_millis(50));
    /// gmp::select! {
    ///     recv(rx) -> v => println!("got {v:?}"),
    ///     recv(timer.receiver()) -> _ => println!("timed out"),
    /// }
    /// ```
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer: `true` if that kept it from firing, `false` if it had fired (or was stopped) already.
    /// As in Go, a time sent before the stop may still be waiting in the channel.
    ///
    /// ```
    /// let timer = gmp::time::Timer::new(std::time::Duration::from_secs(3600));
    /// assert!(timer.stop());
    /// assert!(!timer.stop());
    /// ```
    pub fn stop(&self) -> bool {
        sys::timer_stop(self.handle) == 1
    }
}

/// Releases the handle; the runtime stops the timer when no G holds it any more.
impl Drop for Timer {
    fn drop(&mut self) {
        sys::handle_close(self.handle);
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").field("handle", &self.handle).field("receiver", &self.rx).finish()
    }
}

/// The same timer, through new handles.
impl Clone for Timer {
    fn clone(&self) -> Self {
        Timer { handle: sys::handle_dup(self.handle), rx: self.rx.clone() }
    }
}

/// Travels as its two handles: the receiving G can wait on the timer's channel and stop it.
///
/// ```
/// use std::time::Duration;
/// use gmp::time::Timer;
///
/// let timer = Timer::new(Duration::from_millis(10));
/// let (tx, rx) = gmp::chan::<bool>(0);
/// gmp::go!(timer, tx => tx.send(timer.receiver().recv().is_some()));
/// assert_eq!(rx.recv(), Some(true)); // fired, though this G dropped its copy when it sent it
/// ```
impl Message for Timer {
    fn encode(&self, enc: &mut Encoder) {
        enc.push_handle(self.handle);
        self.rx.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Timer { handle: dec.take_handle()?, rx: Receiver::decode(dec)? })
    }
}

/// A ticker: its [`receiver`](Ticker::receiver) gets the time every period until it is stopped or dropped
/// (Go's `time.Ticker`). A tick the channel has no room for is dropped, so a slow receiver sees fewer ticks,
/// never a backlog.
///
/// ```
/// use std::time::Duration;
///
/// let ticker = gmp::time::Ticker::new(Duration::from_millis(20));
/// for n in 1..=3 {
///     ticker.receiver().recv();
///     println!("tick {n}");
/// }
/// ticker.stop();
/// ```
pub struct Ticker {
    handle: u32,
    rx: Receiver<Instant>,
}

impl Ticker {
    /// A ticker whose first tick comes one `period` from now; the same as [`tick`].
    ///
    /// # Panics
    /// If `period` is zero (as Go's `NewTicker` does for a non-positive one).
    ///
    /// ```
    /// let ticker = gmp::time::Ticker::new(std::time::Duration::from_secs(1));
    /// ```
    pub fn new(period: Duration) -> Ticker {
        // The runtime reads a zero period as "one-shot": refuse it rather than tick once.
        assert!(!period.is_zero(), "gmp: a ticker's period must be positive");
        let (handle, rx) = timer_new(period, period);
        Ticker { handle, rx }
    }

    /// The channel the ticks arrive on.
    ///
    /// ```
    /// let ticker = gmp::time::tick(std::time::Duration::from_millis(10));
    /// let first = ticker.receiver().recv().unwrap();
    /// let second = ticker.receiver().recv().unwrap();
    /// assert!(second > first);
    /// ```
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticker: no tick is sent after this (one sent before may still be in the channel).
    ///
    /// ```
    /// let ticker = gmp::time::tick(std::time::Duration::from_millis(10));
    /// ticker.receiver().recv();
    /// ticker.stop();
    /// ```
    pub fn stop(&self) {
        sys::timer_stop(self.handle);
    }
}

/// Releases the handle; the runtime stops the ticker when no G holds it any more.
impl Drop for Ticker {
    fn drop(&mut self) {
        sys::handle_close(self.handle);
    }
}

/// The same ticker, through new handles.
impl Clone for Ticker {
    fn clone(&self) -> Self {
        Ticker { handle: sys::handle_dup(self.handle), rx: self.rx.clone() }
    }
}

/// Travels as its two handles: the receiving G gets the ticks and can stop it.
impl Message for Ticker {
    fn encode(&self, enc: &mut Encoder) {
        enc.push_handle(self.handle);
        self.rx.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Ticker { handle: dec.take_handle()?, rx: Receiver::decode(dec)? })
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker").field("handle", &self.handle).field("receiver", &self.rx).finish()
    }
}

/// Runs `f(arg)` in a G of its own once `d` has passed, unless stopped first: Go's `time.AfterFunc`. As
/// with [`go_with`](crate::go_with), `f` captures nothing and gets what it needs as `arg`.
///
/// ```
/// use std::time::Duration;
///
/// let (tx, rx) = gmp::chan::<String>(1);
/// let _fires = gmp::time::after_func(Duration::from_millis(5), tx.clone(), |tx| tx.send("fired".into()));
/// let stopped = gmp::time::after_func(Duration::from_millis(5), tx, |tx| tx.send("not stopped".into()));
/// assert!(stopped.stop(), "stopped before it fired");
/// assert_eq!(rx.recv().as_deref(), Some("fired"));
/// gmp::time::sleep(Duration::from_millis(20));
/// assert!(rx.try_recv().is_err(), "the stopped one never ran");
/// ```
pub fn after_func<T: Message>(d: Duration, arg: T, f: fn(T)) -> AfterFunc {
    let (tx, rx) = crate::chan::<()>(0);
    let state = crate::sync::AtomicU64::new(AFTER_PENDING);
    let stop = AfterFunc { stop: tx, state: state.clone() };
    // The deadline, not `d`: the G may start a little later, and the call is due `d` from now.
    let at = Instant::now().checked_add(d).unwrap_or(Instant { ns: u64::MAX });
    crate::go_with((at, rx, state, arg, crate::spawn::fn_index(f)), after_func_g::<T>);
    stop
}

const AFTER_PENDING: u64 = 0;
const AFTER_FIRED: u64 = 1;
const AFTER_STOPPED: u64 = 2;

fn after_func_g<T: Message>((at, stop, state, arg, f): (Instant, Receiver<()>, crate::sync::AtomicU64, T, u32)) {
    crate::select! {
        recv(after(at.duration_since(Instant::now()))) -> _ => {
            if state.compare_and_swap(AFTER_PENDING, AFTER_FIRED) {
                // SAFETY: `after_func::<T>` is the only spawner of `after_func_g::<T>`, and it passes the
                // index of an `fn(T)`.
                let f = unsafe { crate::spawn::fn_at::<T, ()>(f) };
                f(arg);
            }
        },
        recv(stop) -> _ => {}
    }
}

/// The pending call [`after_func`] set up.
pub struct AfterFunc {
    stop: crate::Sender<()>,
    state: crate::sync::AtomicU64,
}

impl AfterFunc {
    /// Stops the call if it has not started: true if this stopped it, false if it already ran (or was
    /// stopped before), as Go's `Timer.Stop`.
    pub fn stop(&self) -> bool {
        let stopped = self.state.compare_and_swap(AFTER_PENDING, AFTER_STOPPED);
        if stopped {
            // Ends the waiting G now rather than at the deadline.
            self.stop.close();
        }
        stopped
    }
}

impl fmt::Debug for AfterFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFunc").field("state", &self.state.load()).finish()
    }
}
