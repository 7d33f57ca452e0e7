//! Go's `sync`, `sync/atomic` and `errgroup` for Gs that share no memory: [`WaitGroup`], [`Mutex`],
//! [`RwLock`], [`Cond`], [`OnceValue`] and [`Once`], [`AtomicU64`] and [`AtomicI64`], [`ErrGroup`].
//!
//! # Statics are per G
//! Every G is its own instance with its own linear memory, so a `static` (an `AtomicU64`, a `Mutex`, a
//! `OnceLock`) from `std` exists once *per G*: 50 Gs each adding 1,000 to `static OPS: AtomicU64` leave every
//! G's own copy at 1,000, and main prints its own. The types here live in the runtime instead, reached through
//! handles: clone one or send it to other Gs (they are [`Message`]s), and every copy is the same object.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use crate::{DecodeError, Decoder, Encoder, Message, Receiver, Sender, TryRecvError, chan, goid, sys};

/// Deltas that can be in flight: as in Go, `done` must never block, or a burst of finished Gs would sit
/// parked (holding their place in the runtime's G pool) until the owner reaches `wait`. A channel's
/// capacity is only a limit (queued messages take memory, empty capacity does not), so make it unreachable.
const DELTA_BUFFER: usize = i32::MAX as usize;

/// Waits for a collection of Gs to finish, like Go's `sync.WaitGroup`.
///
/// Gs share no memory, so the counter lives in the G that called [`new`](WaitGroup::new) (the *owner*), and
/// copies elsewhere reach it through a buffered channel of deltas. A `WaitGroup` is a [`Message`]: pass it to
/// Gs with [`go_with`](crate::go_with), [`go!`](crate::go!) or over a channel.
///
/// The rules, as in Go: call [`add`](WaitGroup::add) before starting the G that will call
/// [`done`](WaitGroup::done) (or at least before that G's `done`), and [`wait`](WaitGroup::wait) only in the
/// owner (it panics elsewhere). In the owner `add` and `done` change the counter directly; elsewhere they send
/// the delta, and since one G's messages arrive in order, an `add` in a G is always counted before the `done`s
/// that G, or any G it starts afterwards, calls for it.
///
/// ```
/// let wg = gmp::WaitGroup::new();
/// for i in 0..3 {
///     wg.add(1);
///     let wg = wg.clone();
///     gmp::go!(wg, i => {
///         println!("G {i} done");
///         wg.done();
///     });
/// }
/// wg.wait();
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    deltas: Sender<i64>,
    owner: u64,
    /// The counter and the end it is fed from; only in the owner G.
    local: Option<Rc<Counter>>,
}

struct Counter {
    count: Cell<i64>,
    deltas: Receiver<i64>,
}

impl Counter {
    fn apply(&self, delta: i64) {
        let count = self.count.get() + delta;
        assert!(count >= 0, "gmp: negative WaitGroup counter");
        self.count.set(count);
    }
}

impl WaitGroup {
    /// A wait group with counter 0, owned by the calling G.
    ///
    /// ```
    /// let wg = gmp::WaitGroup::new();
    /// wg.wait(); // returns at once: nothing was added
    /// ```
    pub fn new() -> Self {
        let (deltas, rx) = chan(DELTA_BUFFER);
        WaitGroup { deltas, owner: goid(), local: Some(Rc::new(Counter { count: Cell::new(0), deltas: rx })) }
    }

    /// Adds `n` (which may be negative) to the counter.
    ///
    /// # Panics
    /// If the counter would go negative (detected in the owner).
    ///
    /// ```
    /// let wg = gmp::WaitGroup::new();
    /// wg.add(2);
    /// wg.done();
    /// wg.done();
    /// wg.wait();
    /// ```
    pub fn add(&self, n: i64) {
        match &self.local {
            Some(counter) => counter.apply(n),
            None => self.deltas.send(n),
        }
    }

    /// Subtracts one from the counter: this G's share of the work is finished.
    ///
    /// ```
    /// let wg = gmp::WaitGroup::new();
    /// wg.add(1);
    /// let copy = wg.clone();
    /// gmp::go!(copy => copy.done());
    /// wg.wait();
    /// ```
    pub fn done(&self) {
        self.add(-1);
    }

    /// Blocks until the counter is 0, counting the deltas other Gs have sent.
    ///
    /// # Panics
    /// When called in a G other than the one that created the wait group, or if the counter goes negative.
    ///
    /// ```
    /// let wg = gmp::WaitGroup::new();
    /// wg.add(1);
    /// let copy = wg.clone();
    /// gmp::go!(copy => copy.done());
    /// wg.wait();
    /// println!("all done");
    /// ```
    pub fn wait(&self) {
        let Some(counter) = &self.local else {
            panic!(
                "gmp: WaitGroup::wait called in G {}, but only the G that created it (G {}) can wait",
                goid(),
                self.owner
            );
        };
        // Deltas already sent count too, even when the local counter is 0: an `add` elsewhere may be waiting
        // in the buffer.
        loop {
            match counter.deltas.try_recv() {
                Ok(delta) => counter.apply(delta),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => unreachable!("a WaitGroup's channel is never closed"),
            }
        }
        while counter.count.get() != 0 {
            let delta = counter.deltas.recv().expect("a WaitGroup's channel is never closed");
            counter.apply(delta);
        }
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("WaitGroup");
        d.field("owner", &self.owner);
        if let Some(counter) = &self.local {
            d.field("count", &counter.count.get());
        }
        d.finish()
    }
}

/// Travels as a handle to its delta channel (plus the owner's id, for `wait`'s panic message); a decoded
/// copy is never the owner, even back in the owner's G.
impl Message for WaitGroup {
    fn encode(&self, enc: &mut Encoder) {
        self.owner.encode(enc);
        self.deltas.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(WaitGroup { owner: u64::decode(dec)?, deltas: Sender::decode(dec)?, local: None })
    }
}

/// A lock around a value, shared by Gs that share no memory: Go's `sync.Mutex` with the data it guards
/// inside, as Rust's `Mutex<T>` has.
///
/// The value lives in the runtime, in a channel of capacity one: [`lock`](Mutex::lock) takes it out (waiting
/// while another G holds it) and the guard puts it back when dropped. Waiting Gs get it in the order they
/// asked, as in Go's starvation mode, so none waits forever behind a stream of others. Clones, and copies
/// sent to other Gs, lock the same value.
///
/// ```
/// let hits = gmp::sync::Mutex::new(Vec::<u32>::new());
/// let wg = gmp::WaitGroup::new();
/// for i in 0..4 {
///     wg.add(1);
///     let (hits, wg) = (hits.clone(), wg.clone());
///     gmp::go!(hits, wg, i => {
///         hits.lock().push(i);
///         wg.done();
///     });
/// }
/// wg.wait();
/// let mut all = hits.lock().clone();
/// all.sort();
/// assert_eq!(all, [0, 1, 2, 3]);
/// ```
pub struct Mutex<T> {
    put: Sender<T>,
    take: Receiver<T>,
}

/// The value of a locked [`Mutex`]; dropping it unlocks.
pub struct MutexGuard<'a, T: Message> {
    mutex: &'a Mutex<T>,
    value: Option<T>,
}

impl<T: Message> Mutex<T> {
    /// A mutex holding `value`.
    pub fn new(value: T) -> Self {
        let (put, take) = chan(1);
        put.send(value);
        Mutex { put, take }
    }

    /// Waits until no other G holds the lock, then holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let value = self.take.recv().expect("gmp: a Mutex's channel was closed");
        MutexGuard { mutex: self, value: Some(value) }
    }

    /// Holds the lock if no G does now (Go's `TryLock`).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.take.try_recv().ok().map(|value| MutexGuard { mutex: self, value: Some(value) })
    }
}

impl<T: Message> core::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().expect("a guard holds its value until dropped")
    }
}

impl<T: Message> core::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("a guard holds its value until dropped")
    }
}

impl<T: Message> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(v) = self.value.take() {
            // The slot is empty while the value is out, so this never waits.
            self.mutex.put.send(v);
        }
    }
}

impl<T> Clone for Mutex<T> {
    fn clone(&self) -> Self {
        Mutex { put: self.put.clone(), take: self.take.clone() }
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex").field("handle", &self.take.handle()).finish()
    }
}

/// A mutex travels as its two channel handles; the receiving G locks the same value.
impl<T> Message for Mutex<T> {
    fn encode(&self, enc: &mut Encoder) {
        self.put.encode(enc);
        self.take.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Mutex { put: Sender::decode(dec)?, take: Receiver::decode(dec)? })
    }
}

/// Readers that may hold an [`RwLock`] at once; a writer subtracts it from the reader count to say it waits
/// (Go's `rwmutexMaxReaders`, the same scheme).
const MAX_READERS: i64 = 1 << 30;

/// A reader/writer lock around a value, shared by Gs that share no memory: Go's `sync.RWMutex` with the data
/// inside, as Rust's `RwLock<T>` has.
///
/// Any number of Gs may [`read`](RwLock::read) at once, or one may [`write`](RwLock::write). As in Go, a
/// waiting writer stops new readers from coming in, so a stream of readers cannot starve it, and the readers
/// that queued behind it go in together when it unlocks. Writers take turns in the order they asked.
///
/// The value lives in the runtime. A writer's guard holds it, as a [`Mutex`]'s does; a reader's guard holds
/// a copy (so reading needs `T: Clone`: Gs share no memory, and a copy is what another G can see). Clones,
/// and copies sent to other Gs, lock the same value.
///
/// ```
/// let table = gmp::sync::RwLock::new(vec![1u32, 2, 3]);
/// let wg = gmp::WaitGroup::new();
/// for _ in 0..3 {
///     wg.add(1);
///     let (table, wg) = (table.clone(), wg.clone());
///     gmp::go!(table, wg => {
///         let rows = table.read(); // readers hold the lock together
///         assert!(rows.len() == 3 || *rows == [1, 2, 3, 4]); // before the write, or after it
///         wg.done();
///     });
/// }
/// table.write().push(4);
/// wg.wait();
/// assert_eq!(*table.read(), [1, 2, 3, 4]);
/// ```
pub struct RwLock<T> {
    value: Mutex<T>,
    /// Writers among themselves.
    writers: Mutex<()>,
    /// Readers holding or waiting for the lock; less `MAX_READERS` while a writer holds or waits for it.
    readers: AtomicI64,
    /// Readers the waiting writer still waits to leave.
    departing: AtomicI64,
    /// Where readers that came in behind a writer wait, and the writer lets them go.
    reader_sem: Semaphore,
    /// Where a writer waits for the readers ahead of it to leave.
    writer_sem: Semaphore,
}

/// A counting semaphore: a channel whose capacity is never reached, so a release never waits.
struct Semaphore {
    release: Sender<()>,
    acquire: Receiver<()>,
}

impl Semaphore {
    fn new() -> Self {
        let (release, acquire) = chan(DELTA_BUFFER);
        Semaphore { release, acquire }
    }

    fn acquire(&self) {
        self.acquire.recv().expect("gmp: a semaphore's channel was closed");
    }

    fn release(&self) {
        self.release.send(());
    }
}

impl Clone for Semaphore {
    fn clone(&self) -> Self {
        Semaphore { release: self.release.clone(), acquire: self.acquire.clone() }
    }
}

impl Message for Semaphore {
    fn encode(&self, enc: &mut Encoder) {
        self.release.encode(enc);
        self.acquire.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Semaphore { release: Sender::decode(dec)?, acquire: Receiver::decode(dec)? })
    }
}

/// A copy of a read-locked [`RwLock`]'s value; dropping it unlocks.
pub struct RwLockReadGuard<'a, T: Message> {
    lock: &'a RwLock<T>,
    value: T,
}

/// The value of a write-locked [`RwLock`]; dropping it puts the value back and unlocks.
pub struct RwLockWriteGuard<'a, T: Message> {
    lock: &'a RwLock<T>,
    value: Option<MutexGuard<'a, T>>,
    /// This writer's turn among writers, given up last.
    turn: Option<MutexGuard<'a, ()>>,
}

impl<T: Message> RwLock<T> {
    /// A lock holding `value`.
    pub fn new(value: T) -> Self {
        RwLock {
            value: Mutex::new(value),
            writers: Mutex::new(()),
            readers: AtomicI64::new(0),
            departing: AtomicI64::new(0),
            reader_sem: Semaphore::new(),
            writer_sem: Semaphore::new(),
        }
    }

    /// Waits until no writer holds or waits for the lock, then holds it with other readers; the guard holds
    /// a copy of the value (Go's `RLock`).
    pub fn read(&self) -> RwLockReadGuard<'_, T>
    where
        T: Clone,
    {
        if self.readers.add(1) < 0 {
            // A writer holds or waits for the lock: it lets this reader in when it unlocks.
            self.reader_sem.acquire();
        }
        // Readers take turns only for the moment of copying; the writer cannot take the value meanwhile,
        // since it waits for every reader counted above.
        let value = self.value.lock().clone();
        RwLockReadGuard { lock: self, value }
    }

    /// Holds the lock with other readers if no writer holds or waits for it now (Go's `TryRLock`).
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>>
    where
        T: Clone,
    {
        loop {
            let n = self.readers.load();
            if n < 0 {
                return None;
            }
            if self.readers.compare_and_swap(n, n + 1) {
                let value = self.value.lock().clone();
                return Some(RwLockReadGuard { lock: self, value });
            }
        }
    }

    /// Waits until no G holds the lock, then holds it alone (Go's `Lock`).
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let turn = self.writers.lock();
        // Announce the writer: readers arriving from now on wait for it.
        let active = self.readers.add(-MAX_READERS) + MAX_READERS;
        // Wait for the readers already in, unless they all left before `departing` counted them.
        if active != 0 && self.departing.add(active) != 0 {
            self.writer_sem.acquire();
        }
        RwLockWriteGuard { lock: self, value: Some(self.value.lock()), turn: Some(turn) }
    }

    /// Holds the lock alone if no G holds it now (Go's `TryLock`).
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        let turn = self.writers.try_lock()?;
        if !self.readers.compare_and_swap(0, -MAX_READERS) {
            return None;
        }
        Some(RwLockWriteGuard { lock: self, value: Some(self.value.lock()), turn: Some(turn) })
    }

    fn unlock_read(&self) {
        let n = self.readers.add(-1);
        if n < 0 {
            assert!(n + 1 != 0 && n + 1 != -MAX_READERS, "gmp: RwLock read-unlocked while not read-locked");
            // A writer waits: the last reader it waits for lets it in.
            if self.departing.add(-1) == 0 {
                self.writer_sem.release();
            }
        }
    }

    fn unlock_write(&self) {
        // Let readers in again, and wake those that queued behind this writer.
        let queued = self.readers.add(MAX_READERS);
        assert!(queued < MAX_READERS, "gmp: RwLock write-unlocked while not write-locked");
        for _ in 0..queued {
            self.reader_sem.release();
        }
    }
}

impl<T: Message> core::ops::Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Message> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock_read();
    }
}

impl<T: Message> core::ops::Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().expect("a guard holds its value until dropped")
    }
}

impl<T: Message> core::ops::DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("a guard holds its value until dropped")
    }
}

impl<T: Message> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        // The value goes back before any reader is let in, and readers go in before the next writer: Go's
        // order, which keeps readers that queued behind this writer from waiting out the next one too.
        drop(self.value.take());
        self.lock.unlock_write();
        drop(self.turn.take());
    }
}

impl<T> Clone for RwLock<T> {
    fn clone(&self) -> Self {
        RwLock {
            value: self.value.clone(),
            writers: self.writers.clone(),
            readers: self.readers.clone(),
            departing: self.departing.clone(),
            reader_sem: self.reader_sem.clone(),
            writer_sem: self.writer_sem.clone(),
        }
    }
}

impl<T> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock").field("handle", &self.value.take.handle()).finish()
    }
}

/// A lock travels as its handles; the receiving G locks the same value.
impl<T> Message for RwLock<T> {
    fn encode(&self, enc: &mut Encoder) {
        self.value.encode(enc);
        self.writers.encode(enc);
        self.readers.encode(enc);
        self.departing.encode(enc);
        self.reader_sem.encode(enc);
        self.writer_sem.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(RwLock {
            value: Mutex::decode(dec)?,
            writers: Mutex::decode(dec)?,
            readers: AtomicI64::decode(dec)?,
            departing: AtomicI64::decode(dec)?,
            reader_sem: Semaphore::decode(dec)?,
            writer_sem: Semaphore::decode(dec)?,
        })
    }
}

/// A place for Gs to wait until another G says a condition may have changed: Go's `sync.Cond`, used with a
/// [`Mutex`] as Rust's `Condvar` is.
///
/// [`wait`](Cond::wait) takes the guard of a locked mutex, unlocks it while it waits, and locks it again
/// before it returns. [`signal`](Cond::signal) wakes the G that has waited longest, [`broadcast`](Cond::broadcast)
/// every waiting G; as in Go, a G that starts waiting after a signal is not woken by it, and the caller need
/// not hold the lock. A woken G finds the condition as some G left it, so it checks again in a loop (or
/// calls [`wait_while`](Cond::wait_while)).
///
/// ```
/// use gmp::sync::{Cond, Mutex};
///
/// let queue = Mutex::new(Vec::<u32>::new());
/// let ready = Cond::new();
/// let (done_tx, done) = gmp::chan::<u32>(0);
/// {
///     let (queue, ready) = (queue.clone(), ready.clone());
///     gmp::go!(queue, ready, done_tx => {
///         let mut items = ready.wait_while(queue.lock(), |q| q.is_empty());
///         done_tx.send(items.pop().unwrap());
///     });
/// }
/// queue.lock().push(7);
/// ready.signal();
/// assert_eq!(done.recv(), Some(7));
/// ```
#[derive(Clone)]
pub struct Cond {
    /// One wake-up channel per waiting G, in the order they began to wait.
    waiters: Sender<Sender<()>>,
    next: Receiver<Sender<()>>,
}

impl Cond {
    /// A condition no G waits on.
    pub fn new() -> Self {
        let (waiters, next) = chan(DELTA_BUFFER);
        Cond { waiters, next }
    }

    /// Unlocks `guard`'s mutex, waits for a [`signal`](Cond::signal) or [`broadcast`](Cond::broadcast), and
    /// locks it again (Go's `Wait`).
    pub fn wait<'a, T: Message>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = guard.mutex;
        // Queue this G's wake-up before unlocking, so that a signal sent once the lock is free finds it.
        let (wake, woken) = chan::<()>(1);
        self.waiters.send(wake);
        drop(guard);
        woken.recv().expect("gmp: a Cond's wake-up channel was closed");
        mutex.lock()
    }

    /// Waits, as [`wait`](Cond::wait) does, for as long as `condition` holds of the value; returns with the
    /// lock held and the condition false.
    pub fn wait_while<'a, T: Message>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Wakes the G that has waited longest, if any G waits (Go's `Signal`).
    pub fn signal(&self) {
        if let Ok(wake) = self.next.try_recv() {
            // Capacity one, and each wake-up channel is used once: this never waits.
            wake.send(());
        }
    }

    /// Wakes every G that waits now (Go's `Broadcast`).
    pub fn broadcast(&self) {
        while let Ok(wake) = self.next.try_recv() {
            wake.send(());
        }
    }
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond").field("waiting", &self.next.len()).finish()
    }
}

/// A condition travels as its handles; the receiving G waits on and signals the same one.
impl Message for Cond {
    fn encode(&self, enc: &mut Encoder) {
        self.waiters.encode(enc);
        self.next.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Cond { waiters: Sender::decode(dec)?, next: Receiver::decode(dec)? })
    }
}

/// A value computed once, by whichever G asks first, for every G that shares it: Go's `sync.OnceValue`.
/// Gs asking while it is being computed wait for it, as Go's `Once.Do` callers do. Clones and copies sent to
/// other Gs share it.
///
/// ```
/// let config = gmp::sync::OnceValue::<String>::new();
/// let (done_tx, done) = gmp::chan::<String>(0);
/// for _ in 0..3 {
///     let (config, done_tx) = (config.clone(), done_tx.clone());
///     gmp::go!(config, done_tx => done_tx.send(config.get_or_init(|| "loaded once".to_string())));
/// }
/// for _ in 0..3 {
///     assert_eq!(done.recv().unwrap(), "loaded once");
/// }
/// ```
pub struct OnceValue<T> {
    cell: Mutex<Option<T>>,
}

impl<T: Message + Clone> OnceValue<T> {
    /// Not computed yet.
    pub fn new() -> Self {
        OnceValue { cell: Mutex::new(None) }
    }

    /// The value, computing it with `f` if no G has yet.
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> T {
        let mut v = self.cell.lock();
        v.get_or_insert_with(f).clone()
    }

    /// The value, if some G computed it.
    pub fn get(&self) -> Option<T> {
        self.cell.lock().clone()
    }
}

impl<T: Message + Clone> Default for OnceValue<T> {
    fn default() -> Self {
        OnceValue::new()
    }
}

impl<T> Clone for OnceValue<T> {
    fn clone(&self) -> Self {
        OnceValue { cell: self.cell.clone() }
    }
}

impl<T> fmt::Debug for OnceValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceValue").field("cell", &self.cell).finish()
    }
}

impl<T> Message for OnceValue<T> {
    fn encode(&self, enc: &mut Encoder) {
        self.cell.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(OnceValue { cell: Mutex::decode(dec)? })
    }
}

/// Runs a function once among every G that shares it: Go's `sync.Once`.
///
/// ```
/// let once = gmp::sync::Once::new();
/// let runs = gmp::sync::AtomicU64::new(0);
/// for _ in 0..3 {
///     once.call_once(|| {
///         runs.add(1);
///     });
/// }
/// assert!(once.is_completed());
/// assert_eq!(runs.load(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Once(OnceValue<()>);

impl Once {
    /// Not run yet.
    pub fn new() -> Self {
        Once(OnceValue::new())
    }

    /// Runs `f` if no G has called `call_once` on this `Once` before; waits while another G's call runs.
    pub fn call_once(&self, f: impl FnOnce()) {
        self.0.get_or_init(f);
    }

    /// True once some G's `f` has returned.
    pub fn is_completed(&self) -> bool {
        self.0.get().is_some()
    }
}

impl Message for Once {
    fn encode(&self, enc: &mut Encoder) {
        self.0.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Once(OnceValue::decode(dec)?))
    }
}

macro_rules! atomic {
    ($name:ident, $t:ty, $doc:literal) => {
        #[doc = $doc]
        ///
        /// The integer lives in the runtime; each operation is one call to it, sequentially consistent as
        /// Go's `sync/atomic` is. Clones, and copies sent to other Gs, are the same integer.
        pub struct $name {
            handle: u32,
        }

        impl $name {
            /// A new integer holding `v`.
            pub fn new(v: $t) -> Self {
                $name { handle: sys::atomic_new(v as u64) }
            }

            fn op(&self, op: u32, a: $t, b: $t) -> $t {
                sys::atomic_op(self.handle, op, a as u64, b as u64) as $t
            }

            /// The value (Go's `Load`).
            pub fn load(&self) -> $t {
                self.op(sys::ATOMIC_LOAD, 0, 0)
            }

            /// Sets the value (Go's `Store`).
            pub fn store(&self, v: $t) {
                self.op(sys::ATOMIC_STORE, v, 0);
            }

            /// Adds `delta`, wrapping; returns the new value (Go's `Add`).
            pub fn add(&self, delta: $t) -> $t {
                self.op(sys::ATOMIC_ADD, delta, 0)
            }

            /// Sets the value to `v`; returns the old one (Go's `Swap`).
            pub fn swap(&self, v: $t) -> $t {
                self.op(sys::ATOMIC_SWAP, v, 0)
            }

            /// Sets the value to `new` if it is `old`; true if it did (Go's `CompareAndSwap`).
            pub fn compare_and_swap(&self, old: $t, new: $t) -> bool {
                self.op(sys::ATOMIC_CAS, old, new) == 1
            }

            /// ANDs `mask` in; returns the old value (Go's `And`).
            pub fn and(&self, mask: $t) -> $t {
                self.op(sys::ATOMIC_AND, mask, 0)
            }

            /// ORs `mask` in; returns the old value (Go's `Or`).
            pub fn or(&self, mask: $t) -> $t {
                self.op(sys::ATOMIC_OR, mask, 0)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::new(0)
            }
        }

        /// The same integer, through a new handle.
        impl Clone for $name {
            fn clone(&self) -> Self {
                $name { handle: sys::handle_dup(self.handle) }
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                sys::handle_close(self.handle);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.load()).finish()
            }
        }

        /// Travels as its handle; the receiving G reaches the same integer.
        impl Message for $name {
            fn encode(&self, enc: &mut Encoder) {
                enc.push_handle(self.handle);
            }

            fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok($name { handle: dec.take_handle()? })
            }
        }
    };
}

atomic!(AtomicU64, u64, "An unsigned 64-bit integer shared by Gs: Go's `atomic.Uint64`.");
atomic!(AtomicI64, i64, "A signed 64-bit integer shared by Gs: Go's `atomic.Int64`.");

/// Gs working on parts of one task, where the first failure decides: Go's `errgroup.Group`.
///
/// [`go`](ErrGroup::go) starts a G running `f(arg)`; [`wait`](ErrGroup::wait) (in the G that made the
/// group, as for [`WaitGroup`]) waits for all of them and returns the first error any returned. A group made
/// [`with_context`](ErrGroup::with_context) also cancels its context at the first error, so the others can
/// stop early. Errors are `String`s, so that any G can report one.
///
/// ```
/// use gmp::context::Context;
/// use gmp::sync::ErrGroup;
///
/// let (group, ctx) = ErrGroup::with_context(&Context::background());
/// for n in [1u32, 2, 3, 4] {
///     group.go((n, ctx.clone()), |(n, ctx)| {
///         if n == 3 {
///             return Err(format!("part {n} failed"));
///         }
///         // The others wait until the failure cancels the context.
///         gmp::select! { recv(ctx.done()) -> _ => {} }
///         Ok(())
///     });
/// }
/// assert_eq!(group.wait(), Err("part 3 failed".to_string()));
/// assert!(ctx.err().is_some());
/// ```
#[derive(Clone)]
pub struct ErrGroup {
    wg: WaitGroup,
    first: OnceValue<String>,
    cancel: Option<crate::context::CancelFunc>,
}

impl ErrGroup {
    /// A group without a context.
    pub fn new() -> ErrGroup {
        ErrGroup { wg: WaitGroup::new(), first: OnceValue::new(), cancel: None }
    }

    /// A group, and a context derived from `ctx` that it cancels at its first error (or when
    /// [`wait`](ErrGroup::wait) returns).
    pub fn with_context(ctx: &crate::context::Context) -> (ErrGroup, crate::context::Context) {
        let (ctx, cancel) = ctx.with_cancel();
        (ErrGroup { wg: WaitGroup::new(), first: OnceValue::new(), cancel: Some(cancel) }, ctx)
    }

    /// Starts a G running `f(arg)`, as [`go_with`](crate::go_with) does; its error, if it is the group's
    /// first, is what [`wait`](ErrGroup::wait) returns.
    pub fn go<T: Message>(&self, arg: T, f: fn(T) -> Result<(), String>) {
        self.wg.add(1);
        crate::go_with((self.clone(), arg, crate::spawn::fn_index(f)), run_member::<T>);
    }

    /// Waits for every G of the group; the first error any returned. Only in the G that made the group.
    pub fn wait(&self) -> Result<(), String> {
        self.wg.wait();
        if let Some(cancel) = &self.cancel {
            cancel.cancel();
        }
        self.first.get().map_or(Ok(()), Err)
    }

    fn finish(&self, result: Result<(), String>) {
        if let Err(e) = result {
            self.first.get_or_init(|| e);
            if let Some(cancel) = &self.cancel {
                cancel.cancel();
            }
        }
        self.wg.done();
    }
}

impl Default for ErrGroup {
    fn default() -> Self {
        ErrGroup::new()
    }
}

fn run_member<T: Message>((group, arg, f): (ErrGroup, T, u32)) {
    // SAFETY: `ErrGroup::go::<T>` is the only spawner of `run_member::<T>`, and it passes the index of an
    // `fn(T) -> Result<(), String>`.
    let f = unsafe { crate::spawn::fn_at::<T, Result<(), String>>(f) };
    group.finish(f(arg));
}

impl fmt::Debug for ErrGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrGroup").field("wg", &self.wg).finish_non_exhaustive()
    }
}

impl Message for ErrGroup {
    fn encode(&self, enc: &mut Encoder) {
        self.wg.encode(enc);
        self.first.encode(enc);
        self.cancel.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ErrGroup { wg: WaitGroup::decode(dec)?, first: OnceValue::decode(dec)?, cancel: Option::decode(dec)? })
    }
}
