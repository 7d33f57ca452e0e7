//! `Sched`: one scheduler instance — its Ps, its global queue, its Ms, sysmon — and its public surface.
//!
//! Lifecycle: [`Sched::start`] makes the Ps and starts sysmon; [`Sched::spawn`] adds Gs (the first spawn wakes
//! the first M); some G or host call ends the program with [`Sched::exit`], or the scheduler finds a deadlock;
//! [`Sched::wait`] returns that [`Outcome`]; [`Sched::shutdown`] stops the Ms and sysmon and drops every G
//! left. Dropping every G matters: a parked G's future holds channels whose wait queues hold the G, a cycle
//! only teardown breaks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::g::{G, GFuture, GRef, GStatus, WaitReason};
use crate::group::Group;
use crate::idle::Idle;
use crate::inspect::Inspection;
use crate::loom::AtomicUsize;
use crate::m::Current;
use crate::p::{P, PShared};
use crate::runq::GlobalQueue;

/// Wraps an M thread's body: `|body| { set_up(); body() }`.
pub type MContext = Box<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// What the scheduler needs from its embedder.
pub struct Hooks {
    /// Called by sysmon every tick while some P runs a G: the wasm side advances the engine epoch here, which
    /// makes every running G look at `preempt_requested` at its next safe point.
    pub tick: Box<dyn Fn() + Send + Sync>,
    /// Where schedtrace lines go (stderr for the CLI).
    pub trace: Box<dyn Fn(&str) + Send + Sync>,
    /// Runs each M thread's whole body: the embedder may set up thread context around it (the wasm side
    /// enters a tokio runtime, which some WASI calls expect to find).
    pub m_context: MContext,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks { tick: Box::new(|| {}), trace: Box::new(|line| eprintln!("{line}")), m_context: Box::new(|body| body()) }
    }
}

/// Scheduler settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// GOMAXPROCS: the number of Ps. At least 1.
    pub procs: usize,
    /// How long a G may run before sysmon asks it to yield (Go: `forcePreemptNS`, 10 ms).
    pub timeslice: Duration,
    /// sysmon's period while Gs run: the epoch tick. Preemption is as precise as this.
    pub tick: Duration,
    /// Print a schedtrace line this often (Go's `GODEBUG=schedtrace=MS`).
    pub schedtrace: Option<Duration>,
    /// Report every G of the scheduler asleep as [`Outcome::Deadlock`] of the whole scheduler (Go's
    /// checkdead). Off for an embedder that runs several programs as [`Group`]s: each group reports its own
    /// deadlock, and one program's must not end the others.
    pub checkdead: bool,
    /// Record an execution trace (see [`crate::trace`]); read it with [`Sched::take_trace`] after
    /// [`Sched::shutdown`]. Off: one untaken branch per event site.
    pub trace: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            procs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeslice: Duration::from_millis(10), // Go's forcePreemptNS
            tick: Duration::from_millis(1),       // 1 ms: a slice overrun is noticed within a tick
            schedtrace: None,
            checkdead: true,
            trace: false,
        }
    }
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Some G or the embedder called [`Sched::exit`] with this code.
    Exited(i32),
    /// Every G was blocked with nothing that could wake one. Each entry is a G as it waited.
    Deadlock(Vec<GDump>),
    /// Polling a G panicked: a bug in the host code it was running (ours, wasmtime's, an embedder's host
    /// function). The program is stopped instead of leaving that M, and whatever waits on the G, hanging.
    HostPanic {
        /// The G whose poll panicked.
        gid: u64,
        /// The panic's message.
        message: String,
    },
}

/// One G as a goroutine dump or a deadlock report shows it.
///
/// Two dumps are equal when they describe the same G in the same wait (id, status, reason, object): how
/// long it has waited and what an inspection found are observations of the moment, not part of the wait.
#[derive(Debug, Clone)]
pub struct GDump {
    /// The G's id.
    pub id: u64,
    /// Running, runnable or waiting.
    pub status: GStatus,
    /// What it waited for ([`WaitReason::None`] unless it is waiting).
    pub reason: WaitReason,
    /// On what: a channel id, or 0.
    pub obj: u64,
    /// How long it has been waiting (zero unless it is waiting).
    pub waiting: Duration,
    /// The G that spawned it, or 0.
    pub created_by: u64,
    /// Its stack and what it holds, if it was inspected (see [`crate::inspect`]): only a G parked in a
    /// future that answers inspection polls can be.
    pub inspection: Option<Inspection>,
}

impl GDump {
    /// A G waiting for `reason` on `obj`, as tests write the dumps they expect.
    pub fn waiting_on(id: u64, reason: WaitReason, obj: u64) -> GDump {
        GDump { id, status: GStatus::Waiting, reason, obj, waiting: Duration::ZERO, created_by: 0, inspection: None }
    }

    /// `g` as it is now; inspected too if `inspect` (see [`Sched::inspect`]).
    pub(crate) fn of(g: &GRef, now_ns: u64, inspect: bool) -> Option<GDump> {
        // Inspected first, whatever the status looks like now: another inspector holding the G would make
        // it look running, and `inspect` waits for that one. The status is read after the inspection (the G
        // may have been woken or have finished since: what the inspection saw is then the past, and a dump
        // shows each G as it is) but before the next inspector may take it.
        let (mut inspection, status) =
            if inspect { g.sched.inspect_then(g, || g.state.status()) } else { (None, g.state.status()) };
        if status == GStatus::Dead {
            return None;
        }
        if status != GStatus::Waiting {
            inspection = None;
        }
        let (reason, obj) = if status == GStatus::Waiting { g.wait() } else { (WaitReason::None, 0) };
        let waiting = match status {
            GStatus::Waiting => Duration::from_nanos(now_ns.saturating_sub(g.parked_at.load(Ordering::Relaxed))),
            _ => Duration::ZERO,
        };
        Some(GDump { id: g.id(), status, reason, obj, waiting, created_by: g.created_by(), inspection })
    }
}

impl PartialEq for GDump {
    fn eq(&self, other: &GDump) -> bool {
        (self.id, self.status, self.reason, self.obj) == (other.id, other.status, other.reason, other.obj)
    }
}

impl Eq for GDump {}

/// Every live G, for the deadlock report and teardown. Sharded by id so spawns on different Ps rarely meet
/// on one lock.
pub(crate) struct Registry {
    shards: Box<[Mutex<HashMap<u64, GRef>>]>,
}

const REGISTRY_SHARDS: usize = 64; // a power of two well above any GOMAXPROCS we expect on one machine

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry { shards: (0..REGISTRY_SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }
    fn shard(&self, id: u64) -> &Mutex<HashMap<u64, GRef>> {
        &self.shards[id as usize & (REGISTRY_SHARDS - 1)]
    }
    pub(crate) fn insert(&self, g: GRef) {
        self.shard(g.id()).lock().insert(g.id(), g);
    }
    pub(crate) fn remove(&self, id: u64) {
        self.shard(id).lock().remove(&id);
    }
    pub(crate) fn all(&self) -> Vec<GRef> {
        let mut v: Vec<GRef> =
            self.shards.iter().flat_map(|s| s.lock().values().cloned().collect::<Vec<_>>()).collect();
        v.sort_by_key(|g| g.id());
        v
    }
}

/// How long teardown waits for an M stuck in a blocking call before leaving it behind.
const STUCK_M_GRACE: Duration = Duration::from_secs(1);

/// The Ms inside [`crate::blocking`], under one lock with teardown's decision to leave them behind, so that
/// an M coming back and a teardown giving up on it agree on which came first: either the M is back (and
/// teardown waits for it like any other) or it was left behind (and it parks for good, touching nothing).
#[derive(Default)]
pub(crate) struct Blocked {
    pub(crate) ms: usize,
    pub(crate) abandoned: bool,
}

/// One scheduler: `GOMAXPROCS` Ps, the Ms that run them, the global queue, sysmon.
pub struct Sched {
    pub(crate) cfg: Config,
    pub(crate) ps: Box<[PShared]>,
    pub(crate) global: GlobalQueue,
    /// Idle Ps, idle Ms, thread count; see `idle.rs`.
    pub(crate) idle: Mutex<Idle>,
    /// `npidle` (mirrors `idle.pidle.len()`) and `nmspinning`; see *Spinning Ms* in `idle.rs`.
    pub(crate) spin: crate::idle::SpinCounts,
    /// Mirrors `idle.msyscall.len()`: Ms back from a blocking call, waiting for a P. Changed only under `idle`.
    pub(crate) nmsyscall: AtomicUsize,
    /// Gs parked in futures the scheduler does not know (WaitReason::Syscall): they may be woken from
    /// outside, so while any exists there is no deadlock.
    pub(crate) nsyscall_wait: AtomicUsize,
    /// Other things that may wake a G from outside (timers, sockets, embedder work), registered with
    /// [`Sched::hold`]; while any exists there is no deadlock.
    pub(crate) nholds: AtomicUsize,
    pub(crate) live: AtomicUsize,
    /// The most Gs alive at once (`Metrics::gs_peak`): raised by a spawn that passes it.
    pub(crate) peak_live: AtomicUsize,
    /// Events outside any P (sysmon, an M in the poller without a P); see `metrics.rs`.
    pub(crate) outside: crate::metrics::Counters,
    pub(crate) next_gid: AtomicU64,
    next_group: AtomicU64,
    /// The group of Gs spawned from outside without one (see `group.rs`).
    default_group: std::sync::OnceLock<Arc<Group>>,
    pub(crate) allgs: Registry,
    pub(crate) exiting: AtomicBool,
    outcome: Mutex<Option<Outcome>>,
    outcome_cv: Condvar,
    pub(crate) sysmon: crate::sysmon::SysmonState,
    pub(crate) timers: crate::timers::Timers,
    pub(crate) netpoll: crate::netpoll::Netpoll,
    pub(crate) hooks: Hooks,
    /// The trace collector, when [`Config::trace`] is on; never changes after `start`, so every event site
    /// is one predictable branch when it is off.
    pub(crate) tracer: Option<Box<crate::trace::Tracer>>,
    pub(crate) epoch: Instant,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    /// The Ms in blocking calls, and whether teardown gave up on them (see [`Sched::shutdown`]).
    pub(crate) blocked: Mutex<Blocked>,
    /// Serializes inspections (see `inspect.rs` and the lock order in `lib.rs`).
    pub(crate) inspecting: Mutex<()>,
}

impl Sched {
    /// Make the Ps and start sysmon. No M runs until the first G is spawned.
    ///
    /// # Panics
    /// If `cfg.procs` is 0.
    pub fn start(cfg: Config, hooks: Hooks) -> Arc<Sched> {
        assert!(cfg.procs >= 1, "Sched::start: procs must be at least 1");
        let mut owned = Vec::with_capacity(cfg.procs);
        let mut shared = Vec::with_capacity(cfg.procs);
        for id in 0..cfg.procs {
            let (p, s) = P::new(id);
            owned.push(p);
            shared.push(s);
        }
        // Pop order is LIFO; reverse so P0 is handed out first, as Go does.
        owned.reverse();
        let tracer = cfg.trace.then(Box::default);
        let sched = Arc::new(Sched {
            spin: crate::idle::SpinCounts::new(cfg.procs),
            cfg,
            ps: shared.into_boxed_slice(),
            global: GlobalQueue::default(),
            idle: Mutex::new(Idle::new(owned)),
            nmsyscall: AtomicUsize::new(0),
            nsyscall_wait: AtomicUsize::new(0),
            nholds: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            peak_live: AtomicUsize::new(0),
            outside: crate::metrics::Counters::default(),
            next_gid: AtomicU64::new(1),
            next_group: AtomicU64::new(1),
            default_group: std::sync::OnceLock::new(),
            allgs: Registry::new(),
            exiting: AtomicBool::new(false),
            outcome: Mutex::new(None),
            outcome_cv: Condvar::new(),
            sysmon: crate::sysmon::SysmonState::default(),
            timers: crate::timers::Timers::default(),
            netpoll: crate::netpoll::Netpoll::new().expect("Sched::start: cannot create the netpoller (out of fds?)"),
            hooks,
            tracer,
            epoch: Instant::now(),
            threads: Mutex::new(Vec::new()),
            blocked: Mutex::new(Blocked::default()),
            inspecting: Mutex::new(()),
        });
        let _ = sched.default_group.set(Arc::new(Group::new(0, &sched)));
        let s = sched.clone();
        let h = std::thread::Builder::new()
            .name("gmp-sysmon".into())
            .spawn(move || s.sysmon_loop())
            .expect("Sched::start: cannot start the sysmon thread");
        *sched.sysmon.handle.lock() = Some(h);
        sched
    }

    /// GOMAXPROCS.
    pub fn procs(&self) -> usize {
        self.cfg.procs
    }

    /// Gs alive now (spawned, not finished).
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Start a new G running the future `make(id)` returns (Go's `newproc`). Any thread.
    ///
    /// From inside a G of this scheduler the new G joins that G's group and goes to that P's `runnext`, so
    /// it runs soon and on the same P, warm in cache; from outside, it joins the default group and goes to
    /// the global queue. Returns the new G's id.
    pub fn spawn(self: &Arc<Self>, make: impl FnOnce(u64) -> GFuture) -> u64 {
        let group = Current::with_g(|g| (std::ptr::eq(&*g.sched, &**self)).then(|| g.group.clone())).flatten();
        let group = group.unwrap_or_else(|| self.default_group().clone());
        self.spawn_g(&group, make)
    }

    /// Start a new G in `group` (see [`Sched::spawn`] for where it queues). Returns None, without calling
    /// `make`, if the group is ending.
    pub fn spawn_in(self: &Arc<Self>, group: &Arc<Group>, make: impl FnOnce(u64) -> GFuture) -> Option<u64> {
        if group.is_exiting() {
            return None;
        }
        Some(self.spawn_g(group, make))
    }

    fn spawn_g(self: &Arc<Self>, group: &Arc<Group>, make: impl FnOnce(u64) -> GFuture) -> u64 {
        let id = self.next_gid.fetch_add(1, Ordering::Relaxed);
        let parent = Current::with_g(|g| if std::ptr::eq(&*g.sched, &**self) { g.id() } else { 0 }).unwrap_or(0);
        let g = Arc::new(G::new(id, parent, make(id), self.clone(), group.clone()));
        if let Some(t) = &self.tracer {
            let by = Current::with_g(|g| g.id());
            self.trace_here(t, |track, flow| {
                g.trace_flow.store(flow, Ordering::Relaxed);
                crate::trace::Ev::Spawn { track, g: id, by, flow }
            });
        }
        let live = self.live.fetch_add(1, Ordering::Relaxed) + 1;
        // A load first: the peak is read-mostly, so spawns on several Ps share its line without bouncing it.
        if live > self.peak_live.load(Ordering::Relaxed) {
            self.peak_live.fetch_max(live, Ordering::Relaxed);
        }
        self.allgs.insert(g.clone());
        group.add_g(&g);
        self.ready(g);
        id
    }

    /// A new group for the Gs of one program (see `group.rs`); spawn its first G with [`Sched::spawn_in`].
    pub fn new_group(self: &Arc<Self>) -> Arc<Group> {
        Arc::new(Group::new(self.next_group.fetch_add(1, Ordering::Relaxed), self))
    }

    /// The group of Gs spawned from outside without a group.
    pub fn default_group(&self) -> &Arc<Group> {
        self.default_group.get().expect("Sched: the default group is made at start")
    }

    /// Queue a G that just became runnable, then make sure an idle P gets an M (Go's `ready` + `wakep`).
    pub(crate) fn ready(self: &Arc<Self>, g: GRef) {
        let queued_locally = Current::with_p(self, |p| self.runq_put(p, g.clone(), true));
        if !queued_locally {
            self.global.push(g);
        }
        self.wakep();
    }

    /// Owner P only: Go's `runqput`. With `next`, `g` takes `runnext` and the G it displaces goes to the tail.
    pub(crate) fn runq_put(&self, p: &P, g: GRef, next: bool) {
        let g = if next {
            match self.ps[p.id].runnext.put(g) {
                None => return,
                Some(old) => old,
            }
        } else {
            g
        };
        if let Some(overflow) = p.runq.push(g) {
            for g in overflow.0 {
                self.global.push(g);
            }
        }
    }

    /// A G finished: forget it. The owner M, after its future completed.
    pub(crate) fn gexit(&self, g: &GRef) {
        g.state.transition_to_dead();
        drop(g.drop_future());
        self.allgs.remove(g.id());
        self.live.fetch_sub(1, Ordering::Relaxed);
        g.group.remove_g(g.id());
    }

    /// Could some other G still make progress (and, say, exit)? True if any G is queued, another P is busy,
    /// a timer is pending, a G waits on a socket, or something outside the Gs may wake one. Asked by a G that waits for a resource other Gs release
    /// (a place in the G pool): while this holds it yields and retries; when it fails, waiting is hopeless.
    pub fn others_may_progress(&self) -> bool {
        !self.global.is_empty()
            || self.ps.iter().any(|p| p.has_work())
            || self.cfg.procs - self.spin.npidle() > 1
            || self.nsyscall_wait.load(Ordering::SeqCst) > 0
            || self.nholds.load(Ordering::SeqCst) > 0
            || self.timers.active() > 0
            || self.netpoll.waiters.load(Ordering::SeqCst) > 0
    }

    /// Register a wake-up source outside the Gs (a timer, a socket, an embedder's async work): while the
    /// returned guard lives, the scheduler will not report a deadlock.
    pub fn hold(self: &Arc<Self>) -> Hold {
        self.nholds.fetch_add(1, Ordering::SeqCst);
        Hold(self.clone())
    }

    /// End the program with `code`. Any thread; the first call wins, later ones are ignored.
    pub fn exit(&self, code: i32) {
        self.finish(Outcome::Exited(code));
    }

    pub(crate) fn finish(&self, outcome: Outcome) {
        if self.record_outcome(outcome) {
            self.wake_all_ms();
            self.sysmon.wake();
            self.netpoll.break_now();
        }
    }

    /// Store the outcome if none is yet and raise `exiting`. Returns true for the first caller, who must then
    /// wake the parked Ms and sysmon.
    pub(crate) fn record_outcome(&self, outcome: Outcome) -> bool {
        let mut o = self.outcome.lock();
        if o.is_some() {
            return false;
        }
        *o = Some(outcome);
        // SeqCst: pairs with the loads in `find_runnable`, `stopm` and `is_exiting`.
        self.exiting.store(true, Ordering::SeqCst);
        self.outcome_cv.notify_all();
        true
    }

    /// True once the program is ending: running Gs should stop at their next safe point.
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Relaxed)
    }

    /// Block until the program ends, and say how.
    pub fn wait(&self) -> Outcome {
        let mut o = self.outcome.lock();
        while o.is_none() {
            self.outcome_cv.wait(&mut o);
        }
        o.clone().expect("Sched::wait: outcome vanished")
    }

    /// Like [`Sched::wait`], giving up after `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut o = self.outcome.lock();
        while o.is_none() {
            if self.outcome_cv.wait_until(&mut o, deadline).timed_out() {
                break;
            }
        }
        o.clone()
    }

    /// After the program ended: stop every M and sysmon, then drop every G still alive (their futures, and
    /// with them whatever they hold). Waits for running Gs to reach a safe point, so the embedder's tick hook
    /// must make them stop once [`Sched::is_exiting`] (the wasm side traps them at the next epoch check).
    ///
    /// # Panics
    /// If called before the program ended.
    pub fn shutdown(&self) {
        assert!(self.is_exiting(), "Sched::shutdown: the program has not ended");
        // Running Gs stop at their next epoch check (sysmon keeps ticking meanwhile), so Ms finish within
        // a tick or two. An M stuck in a blocking call may never come back: after a grace period it is left
        // behind, its G's future untouched (see `syscall.rs` for what it does if it ever returns). An M
        // doing anything else touches Gs and queues that the drops below touch too, so it is waited for as
        // long as Gs keep going away (reaping a program's million parked Gs takes seconds). One that makes
        // no progress for the grace (a G in a loop compiled without epoch checks, a host function blocking
        // outside `blocking`) is left behind too, and then nothing below runs: what is left leaks, rather
        // than be dropped under an M that may still touch it.
        let mut grace = Instant::now() + STUCK_M_GRACE;
        let mut live = self.live.load(Ordering::SeqCst);
        loop {
            let mut hs = self.threads.lock();
            let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *hs).into_iter().partition(|h| h.is_finished());
            *hs = running;
            let left = hs.len();
            drop(hs);
            for h in done {
                let _ = h.join();
            }
            if left == 0 {
                break;
            }
            let now_live = self.live.load(Ordering::SeqCst);
            if now_live != live {
                live = now_live;
                grace = Instant::now() + STUCK_M_GRACE;
            }
            if Instant::now() >= grace {
                // Every M left is in a blocking call (an M back from one is no longer counted, and one still
                // in it parks for good once it sees `abandoned`), or some M is stuck elsewhere.
                let mut blocked = self.blocked.lock();
                blocked.abandoned = true;
                self.threads.lock().clear();
                if left > blocked.ms {
                    drop(blocked);
                    self.sysmon.stop();
                    return;
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.sysmon.stop();
        // Pending timers hold what they would ready (a G, a callback holding channels), and a G holds its
        // scheduler: left in the heap, they would keep this scheduler and its poller's descriptors alive
        // after the program ended.
        self.timers.clear();
        // The Ms that remain are stuck in blocking calls and hold no P: queues and every future not being
        // polled are ours alone.
        while self.global.pop().is_some() {}
        for p in self.idle.lock().pidle.iter() {
            while p.runq.pop().is_some() {}
        }
        for ps in self.ps.iter() {
            drop(ps.runnext.take());
        }
        for g in self.allgs.all() {
            if !g.state.is_running() {
                drop(g.drop_future());
            }
            self.allgs.remove(g.id());
            // A group's table holds its Gs, and a G holds its scheduler: forget it, or the cycle leaks.
            g.group.forget(g.id());
        }
    }

    /// Nanoseconds since the scheduler started (never 0 after the first instant).
    pub(crate) fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// `t` in scheduler nanoseconds.
    pub(crate) fn ns_at(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// The scheduler's internal counts in one line, for hang reports: which Ms sleep where, and every count
    /// that keeps `checkdead` quiet. (The schedule fuzzer prints it when a program neither ends nor is
    /// reported deadlocked; an M missing from `midle` with `poller=blocked` found a lost wake-up that way.)
    pub fn internals(&self) -> String {
        let idle = self.idle.lock();
        format!(
            "Ms={} midle={} msyscall={} pidle={} poller={} timers={} next_timer={} socket_waiters={} \
             foreign_waits={} holds={} live={} global={}",
            idle.nthreads,
            idle.midle.len(),
            idle.msyscall.len(),
            idle.pidle.len(),
            if self.netpoll.claim.is_blocked() { "blocked" } else { "free" },
            self.timers.active(),
            match self.timers.next_when() {
                u64::MAX => "none".to_string(),
                t => format!("{}ns", t),
            },
            self.netpoll.waiters.load(Ordering::SeqCst),
            self.nsyscall_wait.load(Ordering::SeqCst),
            self.nholds.load(Ordering::SeqCst),
            self.live.load(Ordering::SeqCst),
            self.global.len(),
        )
    }

    /// Every G alive now, in id order, with what it waits for (for reports and tests).
    pub fn dump(&self) -> Vec<GDump> {
        let now = self.now_ns();
        self.allgs.all().iter().filter_map(|g| GDump::of(g, now, false)).collect()
    }

    /// Like [`Sched::dump`], with each parked G inspected (its stack, what it holds; see
    /// [`Sched::inspect`]). Not from inside a G's fiber.
    pub fn dump_inspected(&self) -> Vec<GDump> {
        let _scope = crate::inspect::scope();
        let now = self.now_ns();
        self.allgs.all().iter().filter_map(|g| GDump::of(g, now, true)).collect()
    }
}

/// Decrement one of the scheduler's counters (`nmspinning`, `npidle`, `nmsyscall`, pending timers, ...)
/// and return its value before. SeqCst, as every user of these counters pairs with a load elsewhere. A
/// counter going below zero is a bug of ours, caught where it happens (Go: "negative nmspinning").
pub(crate) fn dec(counter: &AtomicUsize, name: &str) -> usize {
    let prev = counter.fetch_sub(1, Ordering::SeqCst);
    debug_assert!(prev > 0, "dec: {name} went negative");
    prev
}

/// A registered outside wake-up source; see [`Sched::hold`]. Dropping it unregisters.
pub struct Hold(Arc<Sched>);

impl Drop for Hold {
    fn drop(&mut self) {
        if crate::sched::dec(&self.0.nholds, "nholds") == 1 {
            // The last hold going away may leave every G blocked for good.
            self.0.checkdead_from_outside();
        }
    }
}
