//! Capabilities: the objects a G may hold, each G's handle table, and the messages that carry them.
//!
//! A handle is a G-local number for an [`Object`] (a channel, timer, socket or atomic), like a file descriptor. The table is the only way from
//! a number to an object, so a G can reach exactly what it created or was given: a number it does not hold
//! is an error, never another G's object. Objects travel between Gs inside a [`Msg`] as references; the
//! receiving G gets fresh numbers for them when it takes the message (like `SCM_RIGHTS`), and the sender's
//! numbers stay valid.
//!
//! Invariant: handle `h` lives in `slots[h - 1]`; 0 is never a handle, so guests may use it as "none".
//!
//! # Types
//! - [`Object`]: what a handle names. Every object is reference counted: table entries, messages anywhere
//!   (buffered, pending, in flight) and blocking calls in progress each hold a reference.
//! - [`HostChan`]: a channel as the host holds it: the scheduler's [`Chan`] plus what the cycle collector
//!   needs — how many table entries name it (`held`) and its run's collector (see [`crate::gc`]).
//! - [`Msg`]: bytes plus attached objects. Dropping a message that was never delivered tells the collector
//!   (the objects it carried may now be reachable only from channel buffers).
//! - [`HandleTable`]: one G's table; it keeps `held` right and tells the collector when the last entry
//!   naming a channel goes.
//!
//! Freeing a channel frees its buffered messages, which may free channels whose buffers... a line of them can
//! be a million long, so `HostChan`'s drop frees such lines iteratively (see its `Drop`), never by recursion.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gmp_sched::Chan;

use crate::gc::Collector;
use crate::limits::{LimitExceeded, LimitState, MsgCharge};

/// A channel as the host holds it.
pub type ChanRef = Arc<HostChan>;

/// A channel of messages, with the counts the cycle collector reads (see *Counts* in [`crate::gc`]).
pub struct HostChan {
    chan: Chan<Msg>,
    /// Handle-table entries naming this channel, in any G: its references from outside message buffers
    /// that last. Changed only by [`HandleTable`].
    held: AtomicUsize,
    gc: Arc<Collector>,
}

impl HostChan {
    /// A new channel of capacity `cap` in the run whose collector is `gc`.
    pub(crate) fn new(cap: usize, gc: &Arc<Collector>) -> ChanRef {
        gc.created();
        Arc::new(HostChan { chan: Chan::new(cap), held: AtomicUsize::new(0), gc: gc.clone() })
    }

    /// The scheduler's channel (its address is what `select` and the collector lock by).
    pub(crate) fn chan(&self) -> &Chan<Msg> {
        &self.chan
    }

    /// True while some handle table names the channel.
    pub(crate) fn is_held(&self) -> bool {
        // Acquire: pairs with the AcqRel decrement in `HandleTable::release`.
        self.held.load(Ordering::Acquire) != 0
    }

    pub(crate) fn collector(&self) -> &Arc<Collector> {
        &self.gc
    }

    /// The embedder took an end of the channel (see `hostchan.rs`): it counts as one table entry.
    pub(crate) fn host_hold(&self) {
        self.held.fetch_add(1, Ordering::Relaxed);
    }

    /// The embedder let go of its end: as a table entry leaving (see `HandleTable::release`).
    pub(crate) fn host_release(c: &ChanRef) {
        if c.held.fetch_sub(1, Ordering::AcqRel) == 1 {
            crate::gc::dropped(c.clone());
        }
    }
}

impl Deref for HostChan {
    type Target = Chan<Msg>;
    fn deref(&self) -> &Chan<Msg> {
        &self.chan
    }
}

/// A freed channel's buffer may hold the last reference to a channel whose buffer holds the last reference to
/// another, and so on: a line a guest can make a million long. Dropping it by recursion would overflow the
/// thread's stack and abort the host, so the outermost freeing on a thread drops buffers from a list, and
/// nested ones only add to it.
impl Drop for HostChan {
    fn drop(&mut self) {
        self.gc.freed();
        let buf = {
            let mut b = self.chan.lock_buffer();
            // Nobody waits on a channel being freed (a waiter holds a reference); if one did, leave it be.
            if b.has_waiters() || b.iter().all(|m| m.objs.is_empty()) {
                return;
            }
            b.take()
        };
        let outermost = FREEING.try_with(|f| {
            let mut f = f.borrow_mut();
            match f.as_mut() {
                Some(list) => {
                    list.push(buf);
                    None
                }
                None => {
                    *f = Some(Vec::new());
                    Some(buf)
                }
            }
        });
        // `Err`: the thread is exiting and its list is gone; dropping here is the best left.
        let Ok(Some(mut buf)) = outermost else { return };
        loop {
            drop(buf);
            match FREEING.with(|f| f.borrow_mut().as_mut().and_then(Vec::pop)) {
                Some(next) => buf = next,
                None => break,
            }
        }
        FREEING.with(|f| *f.borrow_mut() = None);
    }
}

thread_local! {
    /// Buffers of freed channels waiting to be dropped by the outermost `HostChan::drop` on this thread.
    static FREEING: std::cell::RefCell<Option<Vec<VecDeque<Msg>>>> = const { std::cell::RefCell::new(None) };
}

/// What a handle can name.
#[derive(Clone)]
pub enum Object {
    /// A channel.
    Chan(ChanRef),
    /// A timer or ticker (its channel is a separate handle).
    Timer(Arc<HeldTimer>),
    /// A listening TCP socket.
    TcpListener(crate::net::TcpListenerRef),
    /// A connected TCP socket.
    TcpStream(crate::net::TcpStreamRef),
    /// A UDP socket.
    Udp(crate::net::UdpRef),
    /// An atomic integer (`wit/sync.wit`).
    Atomic(Arc<std::sync::atomic::AtomicU64>),
}

/// A timer as handles name it: stopped once the last handle, and the last message carrying one, lets go, as
/// Go (since 1.23) stops a timer nothing references. Without this, a `Timer` sent to another G could not stop
/// itself when dropped (a copy elsewhere may still want it), and a forgotten ticker would tick forever.
///
/// The stop may run wherever an object is dropped. It takes only the timer heap's lock (a leaf) and, for the
/// last pending timer of a program, the deadlock check, which defers its teardown when called from inside a
/// G's poll, where messages are dropped (`Group::finish`).
pub struct HeldTimer(pub gmp_sched::Timer);

impl Drop for HeldTimer {
    fn drop(&mut self) {
        self.0.stop();
    }
}

impl Object {
    fn kind(&self) -> &'static str {
        match self {
            Object::Chan(_) => "channel",
            Object::Timer(_) => "timer",
            Object::TcpListener(_) => "TCP listener",
            Object::TcpStream(_) => "TCP stream",
            Object::Udp(_) => "UDP socket",
            Object::Atomic(_) => "atomic",
        }
    }
}

/// Payload bytes kept inline in a [`Msg`]: most messages are a few integers or a short string, and a
/// message that fits crosses from G to G without touching the allocator.
pub const INLINE_MSG_BYTES: usize = 32;

/// A message between Gs: bytes plus the objects attached to it.
pub struct Msg {
    /// The payload, copied out of the sender's memory.
    pub bytes: smallvec::SmallVec<[u8; INLINE_MSG_BYTES]>,
    /// Attached objects, installed in the receiver's table when it takes the message (which moves them out,
    /// see [`Msg::take_objs`]).
    pub objs: Vec<Object>,
    /// What the message counts against its program's `max_buffered_bytes`, given back when it is dropped,
    /// wherever that happens (see the table in `limits.rs`).
    #[allow(dead_code, reason = "a drop guard: held only for its drop")]
    charge: MsgCharge,
}

// A buffered message's slot, doubled for a buffer's growth by doubling, is what `MSG_OVERHEAD` charges.
const _: () = assert!(2 * std::mem::size_of::<Msg>() as u64 <= crate::limits::MSG_OVERHEAD);

impl Msg {
    /// A message the guest sends, charged to its program by `charge`.
    pub(crate) fn charged(bytes: &[u8], objs: Vec<Object>, charge: MsgCharge) -> Msg {
        Msg { bytes: smallvec::SmallVec::from_slice(bytes), objs, charge }
    }

    /// A message the host makes (a timer's tick), charged to nothing: timers have a limit of their own.
    pub(crate) fn uncharged(bytes: &[u8]) -> Msg {
        Msg { bytes: smallvec::SmallVec::from_slice(bytes), objs: Vec::new(), charge: MsgCharge::default() }
    }

    /// A message the embedder sends through a host channel, charged to no program: the embedder decides
    /// what it sends (see `hostchan.rs`).
    pub(crate) fn from_host(bytes: Vec<u8>, objs: Vec<Object>) -> Msg {
        Msg { bytes: smallvec::SmallVec::from_vec(bytes), objs, charge: MsgCharge::default() }
    }

    /// The attached objects, moved out for delivery: the message no longer holds them.
    pub fn take_objs(&mut self) -> Vec<Object> {
        std::mem::take(&mut self.objs)
    }
}

/// A message dropped undelivered (unchosen select case, send on a closed channel, a G exiting with a
/// pending message, a buffer of garbage) may have held the last reference from outside the buffers to a
/// channel that no table names: that channel is a candidate (see *Candidates* in [`crate::gc`]).
impl Drop for Msg {
    fn drop(&mut self) {
        for obj in self.objs.drain(..) {
            if let Object::Chan(c) = obj
                && !c.is_held()
            {
                crate::gc::dropped(c);
            }
        }
    }
}

/// "an" before a vowel ("an atomic"), else "a".
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

fn wrong_kind(handle: u32, want: &'static str, got: &Object) -> HandleError {
    HandleError::WrongKind { handle, want, got: got.kind() }
}

/// Why a handle lookup failed; the ABI turns it into a trap naming the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleError {
    /// The G holds no handle with this number.
    NotHeld(u32),
    /// The handle names an object of another kind.
    WrongKind { handle: u32, want: &'static str, got: &'static str },
    /// The table is full (`u32` handles).
    TooMany,
    /// The G or its program holds as many handles as its limits allow (`call` and `gid` still to be filled).
    Limit(LimitExceeded),
}

impl std::fmt::Display for HandleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandleError::NotHeld(h) => write!(f, "handle {h} is not held by this G"),
            HandleError::WrongKind { handle, want, got } => {
                write!(f, "handle {handle} is {} {got}, not {} {want}", article(got), article(want))
            }
            HandleError::TooMany => write!(f, "the G's handle table is full"),
            HandleError::Limit(l) => l.fmt(f),
        }
    }
}

/// One G's handle table. Its entries count against the program's handle limits: every entry made is
/// counted in `insert`, every entry gone in `remove` or the table's drop.
pub struct HandleTable {
    slots: Vec<Option<Object>>,
    free: Vec<u32>,
    limits: Arc<LimitState>,
}

impl HandleTable {
    /// An empty table of a G of the program whose limits are `limits`.
    pub(crate) fn new(limits: Arc<LimitState>) -> HandleTable {
        HandleTable { slots: Vec::new(), free: Vec::new(), limits }
    }

    /// Install `obj` and return its new handle.
    ///
    /// # Errors
    /// [`HandleError::Limit`] when the G or its program holds as many handles as allowed (`obj` is dropped).
    pub fn insert(&mut self, obj: Object) -> Result<u32, HandleError> {
        self.limits.add_handle(self.len()).map_err(HandleError::Limit)?;
        let h = match self.free.pop() {
            Some(h) => h,
            None => {
                let Ok(h) = u32::try_from(self.slots.len() + 1) else {
                    self.limits.remove_handles(1);
                    return Err(HandleError::TooMany);
                };
                self.slots.push(None);
                h
            }
        };
        if let Object::Chan(c) = &obj {
            // Relaxed: a new entry is made from a reference the caller holds, so the count cannot be
            // falling to zero concurrently; only the decrement publishes (see `release`).
            c.held.fetch_add(1, Ordering::Relaxed);
        }
        self.slots[h as usize - 1] = Some(obj);
        Ok(h)
    }

    /// An entry leaves the table: the last entry naming a channel that something else still references
    /// makes it a candidate for the collector (see *Candidates* in [`crate::gc`]).
    fn release(obj: Object) {
        if let Object::Chan(c) = obj {
            // AcqRel: pairs with the Acquire in `HostChan::is_held`, so a message dropped after this sees 0.
            if c.held.fetch_sub(1, Ordering::AcqRel) == 1 {
                crate::gc::dropped(c);
            }
        }
    }

    /// The object behind `h`.
    pub fn get(&self, h: u32) -> Result<&Object, HandleError> {
        (h as usize)
            .checked_sub(1)
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
            .ok_or(HandleError::NotHeld(h))
    }

    /// The channel behind `h`.
    pub fn chan(&self, h: u32) -> Result<&ChanRef, HandleError> {
        match self.get(h)? {
            Object::Chan(c) => Ok(c),
            other => Err(wrong_kind(h, "channel", other)),
        }
    }

    /// The timer behind `h`.
    pub fn timer(&self, h: u32) -> Result<&gmp_sched::Timer, HandleError> {
        match self.get(h)? {
            Object::Timer(t) => Ok(&t.0),
            other => Err(wrong_kind(h, "timer", other)),
        }
    }

    /// The TCP listener behind `h`.
    pub fn tcp_listener(&self, h: u32) -> Result<&crate::net::TcpListenerRef, HandleError> {
        match self.get(h)? {
            Object::TcpListener(s) => Ok(s),
            other => Err(wrong_kind(h, "TCP listener", other)),
        }
    }

    /// The TCP stream behind `h`.
    pub fn tcp_stream(&self, h: u32) -> Result<&crate::net::TcpStreamRef, HandleError> {
        match self.get(h)? {
            Object::TcpStream(s) => Ok(s),
            other => Err(wrong_kind(h, "TCP stream", other)),
        }
    }

    /// The atomic integer behind `h`.
    pub fn atomic(&self, h: u32) -> Result<&Arc<std::sync::atomic::AtomicU64>, HandleError> {
        match self.get(h)? {
            Object::Atomic(a) => Ok(a),
            other => Err(wrong_kind(h, "atomic", other)),
        }
    }

    /// The UDP socket behind `h`.
    pub fn udp(&self, h: u32) -> Result<&crate::net::UdpRef, HandleError> {
        match self.get(h)? {
            Object::Udp(s) => Ok(s),
            other => Err(wrong_kind(h, "UDP socket", other)),
        }
    }

    /// The ids of the channels the table holds, each once, in order (for dumps: who holds what).
    pub(crate) fn chan_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .slots
            .iter()
            .filter_map(|o| match o {
                Some(Object::Chan(c)) => Some(c.chan().id()),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Release `h`. The object lives on while other handles or messages refer to it.
    pub fn remove(&mut self, h: u32) -> Result<(), HandleError> {
        let slot = (h as usize).checked_sub(1).and_then(|i| self.slots.get_mut(i)).ok_or(HandleError::NotHeld(h))?;
        let obj = slot.take().ok_or(HandleError::NotHeld(h))?;
        self.free.push(h);
        self.limits.remove_handles(1);
        HandleTable::release(obj);
        Ok(())
    }

    /// Handles held now.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// A G's end releases every handle it still holds.
impl Drop for HandleTable {
    fn drop(&mut self) {
        self.limits.remove_handles(self.len());
        for obj in self.slots.drain(..).flatten() {
            HandleTable::release(obj);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chan() -> Object {
        Object::Chan(HostChan::new(0, &Arc::new(Collector::default())))
    }

    fn table() -> HandleTable {
        HandleTable::new(LimitState::new(crate::limits::Limits::default()))
    }

    #[test]
    fn handles_start_at_one_and_are_reused() {
        let mut t = table();
        assert_eq!(t.insert(chan()), Ok(1));
        assert_eq!(t.insert(chan()), Ok(2));
        t.remove(1).unwrap();
        assert_eq!(t.insert(chan()), Ok(1));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn unknown_and_released_handles_are_not_held() {
        let mut t = table();
        assert_eq!(t.get(0).err(), Some(HandleError::NotHeld(0)));
        assert_eq!(t.get(5).err(), Some(HandleError::NotHeld(5)));
        let h = t.insert(chan()).unwrap();
        t.remove(h).unwrap();
        assert_eq!(t.get(h).err(), Some(HandleError::NotHeld(h)));
        assert_eq!(t.remove(h).err(), Some(HandleError::NotHeld(h)));
        assert_eq!(t.get(u32::MAX).err(), Some(HandleError::NotHeld(u32::MAX)));
    }

    #[test]
    fn entries_count_against_the_limits_until_removed_or_dropped() {
        let limits = crate::limits::Limits { max_handles_per_g: 2, max_handles_total: 3, ..Default::default() };
        let state = LimitState::new(limits);
        let (mut a, mut b) = (HandleTable::new(state.clone()), HandleTable::new(state.clone()));
        let h = a.insert(chan()).unwrap();
        a.insert(chan()).unwrap();
        let kind = |r: Result<u32, HandleError>| match r {
            Err(HandleError::Limit(l)) => Some(l.kind),
            _ => None,
        };
        assert_eq!(kind(a.insert(chan())), Some(crate::limits::LimitKind::HandlesPerG));
        b.insert(chan()).unwrap();
        assert_eq!(kind(b.insert(chan())), Some(crate::limits::LimitKind::HandlesTotal));
        a.remove(h).unwrap();
        b.insert(chan()).unwrap();
        assert_eq!(state.usage().handles, 3);
        drop((a, b));
        assert_eq!(state.usage().handles, 0);
    }
}
