//! Collecting channel cycles: channels that only other channels' buffers reach, which no G can ever receive
//! from again, are freed together with everything their buffered messages carry (Go's GC frees them too).
//!
//! # The problem
//! Objects are reference counted (`Arc`), and a message in a channel's buffer holds references to the
//! objects attached to it (see `handles.rs`: messages carry objects like `SCM_RIGHTS`). So a channel whose
//! buffer holds a message carrying the channel itself — directly, or through other channels' buffers (A holds
//! B, B holds A) — keeps itself alive after every G has let go of it. A G that builds such a channel in a loop
//! leaks it each time: the issue measured 1.45 GB for a million of them, none of which any G could reach.
//!
//! # Approaches rejected
//! - *Tracing from the roots*, as Go does: the roots are every G's handle table, pending message and blocked
//!   call. Either a pause that grows with the number of live Gs, or a concurrent marker with a write barrier
//!   in every ABI call that moves a handle.
//! - *Refusing to buffer a message that carries its own channel*: a cycle through two channels is as easy,
//!   and a check for cycles at every send costs what this collector costs, on every send.
//! - *Weak references in buffered messages*: a buffered message must keep what it carries alive, or a G that
//!   receives it later finds the channel gone.
//!
//! # The design: local trial deletion (Bacon and Rajan's synchronous cycle collection, 2001)
//! A channel can become garbage only when a reference to it goes away while others remain, so such drops
//! name *candidates*; a trial then looks only at what is reachable through buffers from the candidates and
//! decides, by counting, which of those channels nothing outside that subgraph references. Its cost is
//! proportional to that subgraph, never to the number of Gs or of objects elsewhere.
//!
//! # Counts
//! - The `Arc` strong count of a [`HostChan`] counts every reference: handle-table entries, messages wherever
//!   they are (buffered, pending in a G, in flight in a send, queued with a blocked sender, spawn arguments),
//!   clones held by blocking calls in progress and by a firing timer, and the collector's own pins.
//! - `held` counts the handle-table entries alone: the references from outside message buffers that last.
//! - A trial computes the rest: of a channel's strong count, one is its pin, *internal* ones are references
//!   from the buffers it scanned, and anything else is a reference from outside the subgraph.
//!
//! # Candidates (Bacon and Rajan's *possible roots*)
//! Two drops can leave a channel referenced only from buffers; [`dropped`] records both:
//! 1. the last handle-table entry naming it goes (`handle_close`, a G's exit) while other references remain;
//! 2. a message carrying it is dropped undelivered (an unchosen select case, a send on a closed channel, a G
//!    exiting with a pending message, a garbage buffer, a freed channel's buffer) while no table names it.
//!
//! The other references that come and go without a table entry (a blocking call's clone, a timer's upgraded
//! weak reference) are covered: a blocking call's clone goes before its G's table does, except when a run is
//! torn down, after which [`Collector::collect_all`] runs; a timer releases its clone through [`dropped`].
//! A candidate is queued as a `Weak`, pushed only *after* the dropping reference is gone: a trial that ran
//! while the dropper still held it would see a live channel and, with no later drop, never look again.
//!
//! # A trial, in passes (over every candidate queued so far)
//! 1. **Scan.** From the candidates, walk through buffers, locking one channel at a time: note each
//!    channel's strong count and the channels its buffered messages carry, each a reference internal to the
//!    subgraph. Every channel reached is pinned (one strong reference) until the trial ends.
//! 2. **Mark.** A channel with references besides its pin and its internal ones is reachable from outside:
//!    it, and everything it reaches through the scanned buffers, is live.
//! 3. **Verify.** The unmarked channels were scanned at different moments while Gs ran, so lock them all
//!    at once, in address order (the order `select` locks in, so neither can deadlock the other), recount
//!    among them alone, and mark again. Under those locks an unmarked channel is referenced only from the
//!    buffers of unmarked channels, has no waiter, and so can be reached by no G; nor can it become
//!    reachable, since a new reference is only ever made from an existing one.
//! 4. **Sweep.** Take the unmarked channels' buffers, unlock, unpin, drop the messages: the cycle's
//!    references go, and with them the channels and whatever else the messages carried (sockets, timers).
//!
//! # Why a running G cannot lose a message
//! A G that could still receive from a channel holds a handle to it or to a channel whose buffer reaches it
//! (or is in the middle of a receive, holding a clone): either way a reference from outside the unmarked set,
//! seen under the locks of step 3. Marking is conservative in step 2 (a count read too early only keeps a
//! channel alive, and the drop that later frees it queues it again), and exact in step 3.
//!
//! # Pacing
//! A trial that finds a candidate live has spent work on live channels, and a program can make the same live
//! structure scanned again and again (a line of channels, each buffered in the next, built by closing each
//! one's handle after sending it: every close is a candidate reaching the whole line so far, and a trial per
//! close would be quadratic). So, like Go's GC pacer, the next trial waits for one candidate per
//! [`LIVE_SCANS_PER_CANDIDATE`] channels the last one marked live: work on live channels stays a constant per
//! candidate (a line grows by a fixed fraction between trials, so the trials' total is a geometric sum), and
//! garbage waits at most that many candidates. Trials that found little live run at the first candidate.
//!
//! # Locks
//! `trial` (one trial at a time) is taken only at safe points, before any channel lock; a trial then locks
//! channels one at a time (pass 1) or all of a set in address order (pass 3). `suspects` is a leaf: candidate
//! drops happen anywhere, channel locks held or not, and only push to it.
//!
//! # Programs
//! Handles travel only in messages between Gs of one program (nothing else creates, moves or exposes them), so
//! objects are never shared between programs: each run has its own collector, its Gs run its trials at safe
//! points ([`Collector::poll`], after ABI calls that drop references), and a program never pays for another's
//! garbage. When a run ends, [`Collector::collect_all`] frees what its Gs left.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::handles::{ChanRef, HostChan, Msg, Object};

/// Live channels a trial may scan per candidate before the next trial waits for more candidates (see
/// *Pacing*): structures this small never delay a collection, and a large one scanned again and again costs
/// at most this many visits per candidate.
const LIVE_SCANS_PER_CANDIDATE: usize = 64;

/// One run's cycle collector: its candidates, its pacing, and counts for tests and metrics.
pub(crate) struct Collector {
    /// Channels of the run alive now.
    live: AtomicUsize,
    /// Candidates waiting for a trial (a leaf lock: nothing is locked while it is held).
    suspects: Mutex<Vec<Weak<HostChan>>>,
    /// `suspects.len()`, readable without the lock, for [`Collector::poll`].
    nsuspects: AtomicUsize,
    /// Candidates to wait for before the next trial (see *Pacing*); at least 1.
    threshold: AtomicUsize,
    /// Held while a trial runs: one at a time, so a trial's pins are the only ones.
    trial: Mutex<()>,
    /// Channels freed by trials, and channels scanned, since the run began.
    collected: AtomicU64,
    scanned: AtomicU64,
}

impl Default for Collector {
    fn default() -> Self {
        Collector {
            live: AtomicUsize::new(0),
            suspects: Mutex::new(Vec::new()),
            nsuspects: AtomicUsize::new(0),
            threshold: AtomicUsize::new(1),
            trial: Mutex::new(()),
            collected: AtomicU64::new(0),
            scanned: AtomicU64::new(0),
        }
    }
}

/// A reference to `c` from outside any table is going away (a candidate drop, see *Candidates*): dropping it
/// is the caller's last use of it. If the channel survives and no table names it, it is queued for a trial.
pub(crate) fn dropped(c: ChanRef) {
    if c.is_held() || Arc::strong_count(&c) == 1 {
        return; // a G holds it, or this was the last reference and the channel is freed right here
    }
    let gc = c.collector().clone();
    let weak = Arc::downgrade(&c);
    drop(c);
    if weak.strong_count() > 0 {
        gc.suspect(weak);
    }
}

impl Collector {
    pub(crate) fn created(&self) {
        self.live.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn freed(&self) {
        let before = self.live.fetch_sub(1, Ordering::Relaxed);
        debug_assert!(before > 0, "Collector::freed: more channels freed than created");
    }

    fn suspect(&self, c: Weak<HostChan>) {
        let mut s = self.suspects.lock();
        s.push(c);
        self.nsuspects.store(s.len(), Ordering::Relaxed);
    }

    /// At a safe point (no channel lock held, no reference about to be dropped): run trials while enough
    /// candidates are queued. Two relaxed loads when there is nothing to do. If another thread is in a trial,
    /// that one takes our candidates: it looks at the queue again after it stops holding `trial`.
    pub(crate) fn poll(&self) {
        while self.due() {
            let Some(_one_at_a_time) = self.trial.try_lock() else { return };
            while self.due() {
                self.run_trial();
            }
        }
    }

    /// When the run has ended and every G is gone: collect everything that is garbage now, whatever the pacing.
    pub(crate) fn collect_all(&self) {
        let _one_at_a_time = self.trial.lock();
        while self.nsuspects.load(Ordering::Relaxed) > 0 {
            self.run_trial();
        }
    }

    fn due(&self) -> bool {
        self.nsuspects.load(Ordering::Relaxed) >= self.threshold.load(Ordering::Relaxed)
    }

    /// One trial over every candidate queued now. The caller holds `trial`.
    fn run_trial(&self) {
        let batch = {
            let mut s = self.suspects.lock();
            self.nsuspects.store(0, Ordering::Relaxed);
            std::mem::take(&mut *s)
        };
        let t = trial(batch);
        self.scanned.fetch_add(t.scanned as u64, Ordering::Relaxed);
        self.collected.fetch_add(t.collected as u64, Ordering::Relaxed);
        self.threshold.store((t.live / LIVE_SCANS_PER_CANDIDATE).max(1), Ordering::Relaxed);
    }

    pub(crate) fn stats(self: &Arc<Self>) -> ChanStats {
        ChanStats(self.clone())
    }
}

/// Channel counts of one run, for tests and metrics: [`crate::GData::chan_stats`] hands them out, and they
/// stay readable after the run.
#[derive(Clone)]
pub struct ChanStats(Arc<Collector>);

impl ChanStats {
    /// Channels of the run alive now (every channel the run created and has not freed, garbage included).
    pub fn live(&self) -> usize {
        self.0.live.load(Ordering::Relaxed)
    }

    /// Channels the cycle collector has freed: those its trials found unreachable (including any whose last
    /// reference, by then, was the trial's own).
    pub fn collected(&self) -> u64 {
        self.0.collected.load(Ordering::Relaxed)
    }

    /// Channels the cycle collector has looked at (each time it looked).
    pub fn scanned(&self) -> u64 {
        self.0.scanned.load(Ordering::Relaxed)
    }
}

/// What one trial did.
struct Trial {
    scanned: usize,
    live: usize,
    collected: usize,
}

/// Channels a trial reached and the references among them: node `j`'s buffer refers to the nodes
/// `edges[range[j].0..range[j].1]`.
#[derive(Default)]
struct Graph {
    range: Vec<(usize, usize)>,
    edges: Vec<usize>,
}

impl Graph {
    /// References to each node from the nodes' buffers.
    fn internal(&self, n: usize) -> Vec<usize> {
        let mut internal = vec![0; n];
        for &k in &self.edges {
            internal[k] += 1;
        }
        internal
    }

    /// Mark `seed` and everything its buffer reaches live.
    fn mark(&self, live: &mut [bool], stack: &mut Vec<usize>, seed: usize) {
        if live[seed] {
            return;
        }
        live[seed] = true;
        stack.push(seed);
        while let Some(j) = stack.pop() {
            let (from, to) = self.range[j];
            for &k in &self.edges[from..to] {
                if !live[k] {
                    live[k] = true;
                    stack.push(k);
                }
            }
        }
    }
}

/// The address a channel is locked in order of (the same as `select`'s).
fn lock_key(c: &HostChan) -> usize {
    c.chan() as *const gmp_sched::Chan<Msg> as usize
}

/// The channels a message carries.
fn chans(msg: &Msg) -> impl Iterator<Item = &ChanRef> {
    msg.objs.iter().filter_map(|o| match o {
        Object::Chan(c) => Some(c),
        _ => None,
    })
}

/// One trial over `batch` (see the passes in the module comment).
fn trial(batch: Vec<Weak<HostChan>>) -> Trial {
    // The pins: exactly one per channel reached, so a candidate queued twice is upgraded once.
    let mut pins: Vec<ChanRef> = Vec::new();
    let mut index: HashMap<*const HostChan, usize> = HashMap::new();
    for w in batch {
        if !index.contains_key(&w.as_ptr())
            && let Some(c) = w.upgrade()
        {
            index.insert(Arc::as_ptr(&c), pins.len());
            pins.push(c);
        }
    }

    // Pass 1: scan, one channel locked at a time.
    let mut g = Graph::default();
    let mut strong = Vec::new();
    let mut found = Vec::new();
    let mut i = 0;
    while i < pins.len() {
        let from = g.edges.len();
        {
            let buf = pins[i].chan().lock_buffer();
            for c in buf.iter().flat_map(chans) {
                let next = pins.len() + found.len();
                g.edges.push(*index.entry(Arc::as_ptr(c)).or_insert_with(|| {
                    found.push(c.clone());
                    next
                }));
            }
            strong.push(Arc::strong_count(&pins[i]));
        }
        g.range.push((from, g.edges.len()));
        pins.append(&mut found);
        i += 1;
    }

    // Pass 2: mark what is referenced from outside (besides its pin and the scanned buffers) live.
    let n = pins.len();
    let internal = g.internal(n);
    let mut live = vec![false; n];
    let mut stack = Vec::new();
    for j in 0..n {
        if strong[j] > 1 + internal[j] {
            g.mark(&mut live, &mut stack, j);
        }
    }
    let nlive = live.iter().filter(|&&l| l).count();
    let mut t = Trial { scanned: n, live: nlive, collected: 0 };
    let mut white: Vec<usize> = (0..n).filter(|&j| !live[j]).collect();
    if white.is_empty() {
        return t;
    }

    // Pass 3: verify, with every unmarked channel locked (in `select`'s order), among them alone.
    white.sort_by_key(|&j| lock_key(&pins[j]));
    let at: HashMap<*const HostChan, usize> =
        white.iter().enumerate().map(|(k, &j)| (Arc::as_ptr(&pins[j]), k)).collect();
    let mut bufs: Vec<_> = white.iter().map(|&j| pins[j].chan().lock_buffer()).collect();
    let mut w = Graph::default();
    let (mut wstrong, mut waiters) = (Vec::with_capacity(white.len()), Vec::with_capacity(white.len()));
    for (k, buf) in bufs.iter().enumerate() {
        let from = w.edges.len();
        w.edges.extend(buf.iter().flat_map(chans).filter_map(|c| at.get(&Arc::as_ptr(c)).copied()));
        w.range.push((from, w.edges.len()));
        wstrong.push(Arc::strong_count(&pins[white[k]]));
        waiters.push(buf.has_waiters());
    }
    let internal = w.internal(white.len());
    let mut wlive = vec![false; white.len()];
    for k in 0..white.len() {
        if waiters[k] || wstrong[k] > 1 + internal[k] {
            w.mark(&mut wlive, &mut stack, k);
        }
    }

    // Pass 4: sweep. Unlock, unpin, then drop the messages: the last references to the garbage go with
    // them, and a channel freed that way finds its buffer already empty.
    let garbage: Vec<_> = bufs.iter_mut().zip(&wlive).filter(|(_, l)| !**l).map(|(b, _)| b.take()).collect();
    drop(bufs);
    drop(pins);
    t.collected = garbage.len();
    t.live += wlive.iter().filter(|&&l| l).count();
    drop(garbage);
    t
}
