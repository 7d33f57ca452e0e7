//! [`WaitGroup`]: Go's `sync.WaitGroup` for Gs that share no memory.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use crate::{DecodeError, Decoder, Encoder, Message, Receiver, Sender, TryRecvError, chan, goid};

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
/// ```no_run
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
    /// ```no_run
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
    /// ```no_run
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
    /// ```no_run
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
    /// ```no_run
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
