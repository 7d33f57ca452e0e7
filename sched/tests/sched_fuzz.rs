//! A randomized scheduler fuzzer: seeded random programs of plain-future Gs, run on a real scheduler at 1–4 Ps.
//!
//! # What a program does
//! A program is a tree of Gs (main spawns children, they spawn grandchildren). Each G runs a list of
//! operations, drawn at random: spin for a while without yielding except when sysmon asks it to (what a wasm
//! G's epoch check does), spin until another G sets a latch, sleep, make a blocking call, park in a future
//! that a plain thread wakes (a host call), hold the scheduler's outside-wake-up count for a while, yield,
//! spawn a child, and send, receive, close on buffered and unbuffered channels in four styles (a plain
//! blocking operation, a blocking `select` with cases that never fire, a `try_*` loop, a non-blocking
//! `select` loop). Every G ends by joining its children (a WaitGroup made of a buffered channel each child
//! sends its index on) and main's return ends the program.
//!
//! # What is checked
//! - **Liveness**: the program ends within five times its sequential time plus two seconds
//!   ([`Program::bound`]). One that has not is given [`SECOND_CHANCE`] more (this machine is shared) and then
//!   fails, with a dump of every G as it was at the bound, instead of hanging the suite.
//! - **No false deadlock**: a program without a planted deadlock must exit with status 0.
//! - **Every real deadlock is reported**: some programs plant one (a G blocked on a channel nobody will ever
//!   use, two Gs each sending to the other, an empty `select`); every other G finishes, and the outcome must
//!   be `Deadlock` naming exactly the planted Gs and their ancestors, each with the right wait reason and
//!   channel.
//! - **Nothing lost, duplicated or reordered**: every channel has one sender and one receiver; the receiver
//!   checks each message against the one it must get next, and the sums and counts of everything sent and
//!   received must match at the end.
//! - **Inspections change nothing**: every G answers inspection polls (its whole future is wrapped, so an
//!   inspection never reaches an operation), and a thread takes an inspected dump every 200 µs all through
//!   the run: every check above must still hold, whatever wait an inspection catches a G in (channel,
//!   select, timer, a foreign future, a hold) and whatever wakes it meanwhile.
//!
//! # Why a generated program cannot deadlock (unless one is planted)
//! Programs are generated as one global sequence of *events*; an event gives one operation to one G (a
//! local operation, a spawn) or a matching pair of operations to two Gs (send and receive of one message,
//! close and the receive that sees it, set and wait of a latch). Each G performs its operations in event
//! order. Suppose every G were stuck, and take the earliest event not yet completed:
//! 1. every operation of an earlier event has completed, so each G of this event has reached its operation
//!    (and exists: the spawn event of a G precedes all of its own events);
//! 2. a local operation always completes; a spawned G runs;
//! 3. for a message on channel `c`, sender and receiver are `c`'s only users and both do their `c`
//!    operations in event order, so when both have reached this event the buffer holds, or a waiting sender
//!    offers, exactly the message the receiver is after — neither can be stuck; a latch is the same with a
//!    flag instead of a channel;
//! 4. a join completes once all of the G's children have finished, and they finish because none of their
//!    events waits on anything but earlier events; the join channel is buffered for every child, so the
//!    children's final sends never block.
//!
//! Two styles could still livelock, and are kept apart: a `try_*` loop or non-blocking `select` loop on both
//! ends of an unbuffered channel never meet (neither ever waits in the channel's queue), so on an unbuffered
//! channel at most one end polls. A planted deadlock blocks its G forever; nothing but the final joins of its
//! ancestors waits for it, so exactly those Gs are blocked at the end.
//!
//! # Replaying and running more
//! `GMP_FUZZ_SEED=N` runs seed N alone, `GMP_FUZZ_START` / `GMP_FUZZ_SEEDS` choose the first seed and how many,
//! `GMP_FUZZ_PROCS` overrides the Ps (otherwise `seed % 4 + 1`), `GMP_FUZZ_GROUPED=0|1` whether the program
//! runs as a group next to a busy neighbour program (otherwise every other block of four seeds), `GMP_FUZZ_REPEAT` runs each seed that many
//! times (interleavings differ from run to run, so a replay may need a few tries), `GMP_FUZZ_MAX_FAILURES`
//! (10) is where the run stops reporting. A failing seed prints the command that replays it, the program it
//! generated, what went wrong and, for a hang, every G as it was at the bound.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use gmp_sched::{
    Case, Chan, Config, GDump, GFuture, Group, Hooks, Outcome, Sched, Selected, TryRecvError, TrySendError, WaitReason,
    blocking, exiting, preempt_requested, select, sleep, yield_now,
};
use parking_lot::Mutex;

/// Seeds run by default. The release run (`.ci/run`) does 5,000 in about 75 s on the shared 2-core machine
/// (6,000 took 88 s with builds running next door); the debug build that the plain `cargo test` makes runs a
/// tenth of them, for the scheduler's `debug_assert!`s, in a few seconds.
const DEFAULT_SEEDS: u64 = if cfg!(debug_assertions) { 500 } else { 5_000 };

/// What the runner exits a program with when it gave up waiting for it.
const EXIT_GAVE_UP: i32 = 99;

/// How much longer the runner waits, past a program's bound, before it calls the program hung. This box is
/// shared with other builds, and while they run it has been seen to leave a freshly started thread without a
/// CPU for over four seconds; a program that ends during the second chance is reported as late (a warning),
/// and a lost wake-up still fails within the bound plus ten seconds.
const SECOND_CHANCE: Duration = Duration::from_secs(10);

/// The command that replays a seed (and the test that runs seeds).
const REPLAY: &str = "cargo test -p gmp-sched --release --test sched_fuzz -- random_programs --nocapture";

// ---------------------------------------------------------------------------------------------------------------
// The program model.

/// How a G performs one channel operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// `send` / `recv`: park until done.
    Plain,
    /// A blocking `select` whose other two cases never fire: the real case is case `at`.
    Select { at: usize },
    /// `try_send` / `try_recv` until it works, yielding (and now and then sleeping) in between.
    Try,
    /// A non-blocking `select` (real case `at`, one case that never fires) until it works.
    SelectDefault { at: usize },
}

impl Style {
    /// True for the styles that never wait in the channel's queue (see the module comment on livelock).
    fn polls(self) -> bool {
        matches!(self, Style::Try | Style::SelectDefault { .. })
    }
}

/// How a planted G blocks forever. The numbers index `Program::voids`: channels nobody else touches.
#[derive(Clone, Copy, Debug)]
enum Forever {
    Recv(usize),
    Send(usize),
    /// A blocking select receiving from the first and sending to the second.
    Select(usize, usize),
    /// `select {}`.
    NoCases,
    /// Send on the first (an unbuffered channel whose receiver is the other half of the cycle, itself stuck
    /// sending), then receive from the second.
    Cycle(usize, usize),
}

/// One operation of a G.
#[derive(Clone, Debug)]
enum Op {
    /// Busy for this long; yields only when preempted.
    Spin(Duration),
    /// Busy until latch `.0` is set; yields only when preempted.
    SpinWait(usize),
    SetLatch(usize),
    Sleep(Duration),
    /// `blocking(|| thread::sleep(d))`.
    Blocking(Duration),
    /// Park in a future a plain thread completes after `d` (a host call). With `stale`, that thread calls the
    /// waker once more a little later, when the G is parked somewhere else: wakers may be called any time,
    /// and a G must shrug off a wake-up that is not for it.
    Foreign {
        d: Duration,
        stale: bool,
    },
    /// Hand a `Sched::hold` to a plain thread that drops it after `d`.
    Hold(Duration),
    Yield,
    /// Spawn G `.0`.
    Spawn(usize),
    Send {
        chan: usize,
        seq: u32,
        style: Style,
    },
    Recv {
        chan: usize,
        seq: u32,
        style: Style,
    },
    Close(usize),
    /// Receive on a closed, drained channel: must see `Closed`.
    RecvClosed {
        chan: usize,
        style: Style,
    },
    /// Planted: never returns.
    Block(Forever),
}

impl Op {
    /// What the op costs when nothing runs in parallel; the basis of [`Program::bound`].
    fn sequential_cost(&self) -> Duration {
        match *self {
            Op::Spin(d) | Op::Sleep(d) | Op::Blocking(d) | Op::Hold(d) => d,
            Op::Foreign { d, .. } => d,
            // At one P the waiter may hold the P until sysmon preempts it: up to a slice (10 ms), each time
            // the setter is not yet done.
            Op::SpinWait(_) => Duration::from_millis(25),
            _ => Duration::from_micros(50),
        }
    }
}

fn fmt_d(d: Duration) -> String {
    if d >= Duration::from_millis(1) {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{}µs", d.as_micros())
    }
}

fn fmt_style(s: Style) -> String {
    match s {
        Style::Plain => String::new(),
        Style::Select { at } => format!(" (select, case {at})"),
        Style::Try => " (try loop)".into(),
        Style::SelectDefault { at } => format!(" (select-default loop, case {at})"),
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Op::Spin(d) => write!(f, "spin {}", fmt_d(d)),
            Op::SpinWait(l) => write!(f, "spin until L{l}"),
            Op::SetLatch(l) => write!(f, "set L{l}"),
            Op::Sleep(d) => write!(f, "sleep {}", fmt_d(d)),
            Op::Blocking(d) => write!(f, "blocking {}", fmt_d(d)),
            Op::Foreign { d, stale } => write!(f, "foreign {}{}", fmt_d(d), if stale { " +stale wake" } else { "" }),
            Op::Hold(d) => write!(f, "hold {}", fmt_d(d)),
            Op::Yield => write!(f, "yield"),
            Op::Spawn(g) => write!(f, "spawn G{g}"),
            Op::Send { chan, seq, style } => write!(f, "send c{chan}#{seq}{}", fmt_style(style)),
            Op::Recv { chan, seq, style } => write!(f, "recv c{chan}#{seq}{}", fmt_style(style)),
            Op::Close(c) => write!(f, "close c{c}"),
            Op::RecvClosed { chan, style } => write!(f, "recv c{chan} closed{}", fmt_style(style)),
            Op::Block(Forever::Recv(v)) => write!(f, "BLOCK recv v{v}"),
            Op::Block(Forever::Send(v)) => write!(f, "BLOCK send v{v}"),
            Op::Block(Forever::Select(a, b)) => write!(f, "BLOCK select recv v{a} / send v{b}"),
            Op::Block(Forever::NoCases) => write!(f, "BLOCK select {{}}"),
            Op::Block(Forever::Cycle(a, b)) => write!(f, "BLOCK send v{a} then recv v{b}"),
        }
    }
}

/// One G of a program.
#[derive(Clone, Debug, Default)]
struct GSpec {
    parent: Option<usize>,
    ops: Vec<Op>,
}

impl GSpec {
    fn children(&self) -> usize {
        self.ops.iter().filter(|o| matches!(o, Op::Spawn(_))).count()
    }
}

/// One channel: one sender, one receiver.
#[derive(Clone, Debug)]
struct ChanSpec {
    cap: usize,
    sender: usize,
    receiver: usize,
    msgs: u32,
    closed: bool,
}

/// What a G of a planted deadlock must be seen waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Obj {
    None,
    Void(usize),
    /// The G's own join channel.
    Join,
}

/// Where a program came from: its seed, or the test that wrote it by hand.
#[derive(Clone, Copy, Debug)]
enum Origin {
    Seed(u64),
    Test(&'static str),
}

impl Default for Origin {
    fn default() -> Self {
        Origin::Seed(0)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Seed(seed) => write!(f, "seed {seed}"),
            Origin::Test(name) => write!(f, "the program of test {name}"),
        }
    }
}

/// A program: generated from a seed, or written by hand.
#[derive(Clone, Debug, Default)]
struct Program {
    origin: Origin,
    gs: Vec<GSpec>,
    chans: Vec<ChanSpec>,
    latches: usize,
    voids: usize,
    /// The Gs a planted deadlock blocks, with what each must wait on; empty if the program must finish.
    blocked: Vec<(usize, WaitReason, Obj)>,
}

impl Program {
    /// How long the program may take: five times its sequential time plus two seconds. Generous (this box is
    /// shared), yet a hung program fails within a few seconds.
    fn bound(&self) -> Duration {
        self.sequential() * 5 + Duration::from_secs(2)
    }

    /// The sum of every operation's [`Op::sequential_cost`].
    fn sequential(&self) -> Duration {
        self.gs.iter().flat_map(|g| &g.ops).map(Op::sequential_cost).sum()
    }

    fn messages(&self) -> u64 {
        self.chans.iter().map(|c| u64::from(c.msgs)).sum()
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} Gs, {} channels, {} latches; sequential time {}, bound {:.1}s",
            self.origin,
            self.gs.len(),
            self.chans.len(),
            self.latches,
            fmt_d(self.sequential()),
            self.bound().as_secs_f64()
        )?;
        for (i, c) in self.chans.iter().enumerate() {
            let closed = if c.closed { ", closed" } else { "" };
            writeln!(f, "  c{i}: cap {}, G{} -> G{}, {} msgs{closed}", c.cap, c.sender, c.receiver, c.msgs)?;
        }
        if !self.blocked.is_empty() {
            let gs: Vec<String> = self.blocked.iter().map(|(g, r, _)| format!("G{g} ({})", r.as_str())).collect();
            writeln!(f, "  planted deadlock; expected blocked: {}", gs.join(", "))?;
        }
        for (i, g) in self.gs.iter().enumerate() {
            let who = match g.parent {
                None => "main".to_string(),
                Some(p) => format!("child of G{p}"),
            };
            let ops: Vec<String> = g.ops.iter().map(Op::to_string).collect();
            let join = match g.children() {
                0 => String::new(),
                n => format!(" | join {n}"),
            };
            writeln!(f, "  G{i} ({who}): {}{join}", ops.join(" | "))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Generation.

/// SplitMix64: tiny, seedable, and good enough to draw programs from.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn micros(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_micros(lo + self.next() % (hi - lo))
    }
}

/// Most spins and sleeps are short so that thousands of programs fit in a minute; a few are longer than the
/// 10 ms time slice, so that sysmon's preemption and its overdue-timer pass are exercised.
fn spin_time(rng: &mut Rng) -> Duration {
    match rng.below(100) {
        0..70 => rng.micros(1, 200),
        70..96 => rng.micros(200, 3_000),
        _ => rng.micros(8_000, 25_000),
    }
}

fn sleep_time(rng: &mut Rng) -> Duration {
    match rng.below(100) {
        0..8 => Duration::ZERO,
        8..65 => rng.micros(1, 300),
        65..93 => rng.micros(300, 3_000),
        _ => rng.micros(3_000, 15_000),
    }
}

fn local_op(rng: &mut Rng) -> Op {
    match rng.below(100) {
        0..30 => Op::Spin(spin_time(rng)),
        30..60 => Op::Sleep(sleep_time(rng)),
        60..72 => Op::Blocking(if rng.chance(70) { rng.micros(1, 200) } else { rng.micros(200, 3_000) }),
        72..82 => Op::Yield,
        82..94 => Op::Foreign { d: rng.micros(20, 2_000), stale: rng.chance(40) },
        _ => Op::Hold(rng.micros(100, 5_000)),
    }
}

fn style(rng: &mut Rng) -> Style {
    match rng.below(100) {
        0..45 => Style::Plain,
        45..70 => Style::Select { at: rng.below(3) },
        70..85 => Style::Try,
        _ => Style::SelectDefault { at: rng.below(2) },
    }
}

/// Styles for the two ends of a message on a channel of capacity `cap`: on an unbuffered channel at most
/// one end polls (see the module comment).
fn styles(rng: &mut Rng, cap: usize) -> (Style, Style) {
    let (s, mut r) = (style(rng), style(rng));
    if cap == 0 && s.polls() && r.polls() {
        r = if rng.chance(50) { Style::Plain } else { Style::Select { at: rng.below(3) } };
    }
    (s, r)
}

/// Draw the program of `seed`.
fn generate(seed: u64) -> Program {
    let mut rng = Rng(seed ^ 0x5EED_F022_0000_0000);
    let max_gs = 2 + rng.below(7);
    let events = 4 + rng.below(37);
    let mut p = Program { origin: Origin::Seed(seed), gs: vec![GSpec::default()], ..Program::default() };
    // Gs that may still be given events: spawned, not finished, not planted.
    let mut alive = vec![0usize];
    let plant_at = rng.chance(20).then(|| rng.below(events + 1));
    for e in 0..=events {
        if plant_at == Some(e) {
            plant(&mut rng, &mut p, &alive);
        }
        if e == events {
            break;
        }
        #[derive(PartialEq)]
        enum Event {
            Spawn,
            Message,
            Close,
            Latch,
            Finish,
            Local,
        }
        let mut event = match rng.below(100) {
            0..12 => Event::Spawn,
            12..47 => Event::Message,
            47..53 => Event::Close,
            53..59 => Event::Latch,
            59..63 => Event::Finish,
            _ => Event::Local,
        };
        let unplanted = p.gs.len() - p.blocked.iter().filter(|b| b.2 != Obj::Join).count();
        if alive.len() < 2 && event != Event::Local {
            event = Event::Spawn;
        }
        if event == Event::Spawn && unplanted >= max_gs {
            event = Event::Local;
        }
        match event {
            Event::Spawn => {
                let parent = rng.pick(&alive);
                let child = p.gs.len();
                p.gs.push(GSpec { parent: Some(parent), ops: Vec::new() });
                p.gs[parent].ops.push(Op::Spawn(child));
                alive.push(child);
            }
            Event::Message => message(&mut rng, &mut p, &alive),
            Event::Close => {
                if !close(&mut rng, &mut p, &alive) {
                    message(&mut rng, &mut p, &alive);
                }
            }
            Event::Latch => {
                let (w, s) = two(&mut rng, &alive);
                let l = p.latches;
                p.latches += 1;
                p.gs[s].ops.push(Op::SetLatch(l));
                p.gs[w].ops.push(Op::SpinWait(l));
            }
            Event::Finish => {
                // This G gets no more events: it runs on to its join while the others go on.
                let i = 1 + rng.below(alive.len() - 1);
                alive.remove(i);
            }
            Event::Local => {
                let g = rng.pick(&alive);
                let op = local_op(&mut rng);
                p.gs[g].ops.push(op);
            }
        }
    }
    p
}

/// Two distinct alive Gs.
fn two(rng: &mut Rng, alive: &[usize]) -> (usize, usize) {
    let a = rng.below(alive.len());
    let b = (a + 1 + rng.below(alive.len() - 1)) % alive.len();
    (alive[a], alive[b])
}

/// One message between two alive Gs, on a channel they already share (in that direction) or a new one.
fn message(rng: &mut Rng, p: &mut Program, alive: &[usize]) {
    let (s, r) = two(rng, alive);
    let existing: Vec<usize> = (0..p.chans.len())
        .filter(|&c| !p.chans[c].closed && p.chans[c].sender == s && p.chans[c].receiver == r)
        .collect();
    let chan = if !existing.is_empty() && rng.chance(70) {
        rng.pick(&existing)
    } else {
        p.chans.push(ChanSpec { cap: rng.pick(&[0, 0, 0, 1, 2, 3]), sender: s, receiver: r, msgs: 0, closed: false });
        p.chans.len() - 1
    };
    let seq = p.chans[chan].msgs;
    p.chans[chan].msgs += 1;
    let (ss, rs) = styles(rng, p.chans[chan].cap);
    p.gs[s].ops.push(Op::Send { chan, seq, style: ss });
    p.gs[r].ops.push(Op::Recv { chan, seq, style: rs });
}

/// Close an open channel whose two ends are alive; false if there is none.
fn close(rng: &mut Rng, p: &mut Program, alive: &[usize]) -> bool {
    let open: Vec<usize> = (0..p.chans.len())
        .filter(|&c| !p.chans[c].closed && alive.contains(&p.chans[c].sender) && alive.contains(&p.chans[c].receiver))
        .collect();
    if open.is_empty() {
        return false;
    }
    let chan = rng.pick(&open);
    p.chans[chan].closed = true;
    p.gs[p.chans[chan].sender].ops.push(Op::Close(chan));
    p.gs[p.chans[chan].receiver].ops.push(Op::RecvClosed { chan, style: style(rng) });
    true
}

/// Plant a deadlock: an alive G spawns one G (or two, for a cycle) that does a few local things and then
/// blocks forever. That G's ancestors end up blocked in their final joins.
fn plant(rng: &mut Rng, p: &mut Program, alive: &[usize]) {
    let parent = rng.pick(alive);
    let spawn = |p: &mut Program, rng: &mut Rng, block: Forever| {
        let g = p.gs.len();
        let mut ops: Vec<Op> = (0..rng.below(3)).map(|_| local_op(rng)).collect();
        ops.push(Op::Block(block));
        p.gs.push(GSpec { parent: Some(parent), ops });
        p.gs[parent].ops.push(Op::Spawn(g));
        g
    };
    let void = |p: &mut Program| {
        p.voids += 1;
        p.voids - 1
    };
    match rng.below(5) {
        0 => {
            let v = void(p);
            let g = spawn(p, rng, Forever::Recv(v));
            p.blocked.push((g, WaitReason::ChanReceive, Obj::Void(v)));
        }
        1 => {
            let v = void(p);
            let g = spawn(p, rng, Forever::Send(v));
            p.blocked.push((g, WaitReason::ChanSend, Obj::Void(v)));
        }
        2 => {
            let (a, b) = (void(p), void(p));
            let g = spawn(p, rng, Forever::Select(a, b));
            // A select reports the channel of its first case.
            p.blocked.push((g, WaitReason::Select, Obj::Void(a)));
        }
        3 => {
            let g = spawn(p, rng, Forever::NoCases);
            p.blocked.push((g, WaitReason::SelectNoCases, Obj::None));
        }
        _ => {
            let (a, b) = (void(p), void(p));
            let g1 = spawn(p, rng, Forever::Cycle(a, b));
            let g2 = spawn(p, rng, Forever::Cycle(b, a));
            p.blocked.push((g1, WaitReason::ChanSend, Obj::Void(a)));
            p.blocked.push((g2, WaitReason::ChanSend, Obj::Void(b)));
        }
    }
    let mut up = Some(parent);
    while let Some(a) = up {
        if !p.blocked.iter().any(|b| b.0 == a) {
            p.blocked.push((a, WaitReason::ChanReceive, Obj::Join));
        }
        up = p.gs[a].parent;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Running.

/// A program's run: its channels, latches and tallies, shared by all its Gs.
struct Run {
    prog: Arc<Program>,
    sched: Arc<Sched>,
    /// In a grouped run, the program's group: its end, holds and deadlock are the group's.
    group: Option<Arc<Group>>,
    chans: Vec<Chan<u64>>,
    /// Per G: the channel its children send their index on when they finish (capacity: its children).
    joins: Vec<Chan<u64>>,
    /// Per G: a channel nobody sends on and one nobody receives from, for select cases that never fire.
    /// Private to the G, so two Gs' never-firing cases cannot meet.
    noise: Vec<(Chan<u64>, Chan<u64>)>,
    voids: Vec<Chan<u64>>,
    latches: Vec<AtomicBool>,
    gids: Vec<AtomicU64>,
    received: Vec<AtomicU32>,
    sent_sum: AtomicU64,
    recv_sum: AtomicU64,
    sent_n: AtomicU64,
    recv_n: AtomicU64,
    preemptions: AtomicU64,
    errors: Mutex<Vec<String>>,
}

/// A message names its channel and its place in that channel's sequence, so a wrong one reads at a glance.
fn msg_value(chan: usize, seq: u32) -> u64 {
    ((chan as u64) << 32) | u64::from(seq)
}

impl Run {
    fn new(prog: Arc<Program>, sched: Arc<Sched>, group: Option<Arc<Group>>) -> Run {
        let n = prog.gs.len();
        Run {
            group,
            chans: prog.chans.iter().map(|c| Chan::new(c.cap)).collect(),
            joins: prog.gs.iter().map(|g| Chan::new(g.children())).collect(),
            noise: (0..n).map(|_| (Chan::new(0), Chan::new(0))).collect(),
            voids: (0..prog.voids).map(|_| Chan::new(0)).collect(),
            latches: (0..prog.latches).map(|_| AtomicBool::new(false)).collect(),
            gids: (0..n).map(|_| AtomicU64::new(0)).collect(),
            received: (0..prog.chans.len()).map(|_| AtomicU32::new(0)).collect(),
            sent_sum: AtomicU64::new(0),
            recv_sum: AtomicU64::new(0),
            sent_n: AtomicU64::new(0),
            recv_n: AtomicU64::new(0),
            preemptions: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
            prog,
            sched,
        }
    }

    fn fail(&self, gi: usize, what: String) {
        self.errors.lock().push(format!("G{gi}: {what}"));
    }

    /// What a wasm G's epoch check does: yield when sysmon says the slice is used up, or when the program is
    /// ending (the runner gave up on it: shutdown waits for running Gs to stop).
    async fn safe_point(&self) {
        if preempt_requested() {
            self.preemptions.fetch_add(1, Ordering::Relaxed);
            yield_now().await;
        } else if exiting() {
            yield_now().await;
        }
    }

    /// Between two tries of a polling style: mostly yield, now and then sleep a little, so that a poller
    /// waiting for a sleeping partner does not burn a core all along.
    async fn backoff(tries: &mut u32) {
        *tries += 1;
        if tries.is_multiple_of(8) {
            sleep(Duration::from_micros(50)).await;
        } else {
            yield_now().await;
        }
    }

    async fn exec(self: &Arc<Self>, gi: usize, op: &Op) {
        match *op {
            Op::Spin(d) => {
                let start = Instant::now();
                while start.elapsed() < d {
                    self.safe_point().await;
                    std::hint::spin_loop();
                }
            }
            Op::SpinWait(l) => {
                while !self.latches[l].load(Ordering::Acquire) {
                    self.safe_point().await;
                    std::hint::spin_loop();
                }
            }
            Op::SetLatch(l) => self.latches[l].store(true, Ordering::Release),
            Op::Sleep(d) => sleep(d).await,
            Op::Blocking(d) => blocking(|| std::thread::sleep(d)),
            Op::Foreign { d, stale } => foreign(d, stale).await,
            Op::Hold(d) => {
                let hold = match &self.group {
                    Some(g) => Box::new(g.hold()) as Box<dyn Send>,
                    None => Box::new(self.sched.hold()),
                };
                std::thread::spawn(move || {
                    std::thread::sleep(d);
                    drop(hold);
                });
            }
            Op::Yield => yield_now().await,
            Op::Spawn(child) => {
                let run = self.clone();
                let id = self.sched.spawn(move |_| g_body(run, child));
                self.gids[child].store(id, Ordering::Relaxed);
            }
            Op::Send { chan, seq, style } => {
                let v = msg_value(chan, seq);
                match self.send(gi, chan, v, style).await {
                    Ok(()) => {
                        self.sent_sum.fetch_add(v, Ordering::Relaxed);
                        self.sent_n.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => self.fail(gi, format!("{op}: {e}")),
                }
            }
            Op::Recv { chan, seq, style } => match self.recv(gi, chan, style).await {
                Ok(Some(v)) if v == msg_value(chan, seq) => {
                    self.recv_sum.fetch_add(v, Ordering::Relaxed);
                    self.recv_n.fetch_add(1, Ordering::Relaxed);
                    self.received[chan].fetch_add(1, Ordering::Relaxed);
                }
                Ok(Some(v)) => self.fail(gi, format!("{op}: got c{}#{} instead", v >> 32, v & 0xFFFF_FFFF)),
                Ok(None) => self.fail(gi, format!("{op}: the channel was closed")),
                Err(e) => self.fail(gi, format!("{op}: {e}")),
            },
            Op::Close(chan) => {
                if self.chans[chan].close().is_err() {
                    self.fail(gi, format!("{op}: already closed"));
                }
            }
            Op::RecvClosed { chan, style } => match self.recv(gi, chan, style).await {
                Ok(None) => {}
                Ok(Some(v)) => self.fail(gi, format!("{op}: got c{}#{} instead", v >> 32, v & 0xFFFF_FFFF)),
                Err(e) => self.fail(gi, format!("{op}: {e}")),
            },
            Op::Block(how) => {
                let v = &self.voids;
                // Whatever these return, returning at all is the failure.
                match how {
                    Forever::Recv(a) => {
                        let _ = v[a].recv().await;
                    }
                    Forever::Send(a) => {
                        let _ = v[a].send(0).await;
                    }
                    Forever::Select(a, b) => {
                        let _ = select(vec![Case::Recv(&v[a]), Case::Send(&v[b], 0)], true).await;
                    }
                    Forever::NoCases => {
                        let _ = select::<u64>(vec![], true).await;
                    }
                    Forever::Cycle(a, b) => {
                        let _ = v[a].send(0).await;
                        let _ = v[b].recv().await;
                    }
                }
                self.fail(gi, format!("{op}: returned"));
            }
        }
    }

    /// Send `v` on channel `chan` in `style`. Err names what went wrong.
    async fn send(&self, gi: usize, chan: usize, v: u64, style: Style) -> Result<(), String> {
        let c = &self.chans[chan];
        let (never_sent, never_received) = &self.noise[gi];
        match style {
            Style::Plain => c.send(v).await.map_err(|_| "closed".to_string()),
            Style::Select { at } => {
                let mut cases = vec![Case::Recv(never_sent), Case::Send(never_received, 0)];
                cases.insert(at, Case::Send(c, v));
                match select(cases, true).await {
                    Selected::Sent(i) if i == at => Ok(()),
                    other => Err(format!("select returned {other:?}")),
                }
            }
            Style::Try => {
                let mut tries = 0;
                loop {
                    match c.try_send(v) {
                        Ok(()) => return Ok(()),
                        Err(TrySendError::Full(_)) => Self::backoff(&mut tries).await,
                        Err(TrySendError::Closed(_)) => return Err("closed".into()),
                    }
                }
            }
            Style::SelectDefault { at } => {
                let mut tries = 0;
                loop {
                    let mut cases = vec![Case::Recv(never_sent)];
                    cases.insert(at, Case::Send(c, v));
                    match select(cases, false).await {
                        Selected::Sent(i) if i == at => return Ok(()),
                        Selected::Default => Self::backoff(&mut tries).await,
                        other => return Err(format!("select returned {other:?}")),
                    }
                }
            }
        }
    }

    /// Receive from channel `chan` in `style`: Some(message), or None if it is closed and drained.
    async fn recv(&self, gi: usize, chan: usize, style: Style) -> Result<Option<u64>, String> {
        let c = &self.chans[chan];
        let (never_sent, never_received) = &self.noise[gi];
        match style {
            Style::Plain => Ok(c.recv().await.ok()),
            Style::Select { at } => {
                let mut cases = vec![Case::Recv(never_sent), Case::Send(never_received, 0)];
                cases.insert(at, Case::Recv(c));
                match select(cases, true).await {
                    Selected::Recv(i, r) if i == at => Ok(r.ok()),
                    other => Err(format!("select returned {other:?}")),
                }
            }
            Style::Try => {
                let mut tries = 0;
                loop {
                    match c.try_recv() {
                        Ok(v) => return Ok(Some(v)),
                        Err(TryRecvError::Empty) => Self::backoff(&mut tries).await,
                        Err(TryRecvError::Closed) => return Ok(None),
                    }
                }
            }
            Style::SelectDefault { at } => {
                let mut tries = 0;
                loop {
                    let mut cases = vec![Case::Recv(never_sent)];
                    cases.insert(at, Case::Recv(c));
                    match select(cases, false).await {
                        Selected::Recv(i, r) if i == at => return Ok(r.ok()),
                        Selected::Default => Self::backoff(&mut tries).await,
                        other => return Err(format!("select returned {other:?}")),
                    }
                }
            }
        }
    }
}

/// Park in a future the scheduler does not know, completed by a plain thread after `d` (a host call). With
/// `stale`, the thread wakes the G once more a little later, when it has moved on.
async fn foreign(d: Duration, stale: bool) {
    let done = Arc::new(AtomicBool::new(false));
    let mut started = false;
    std::future::poll_fn(move |cx| {
        if done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if !started {
            started = true;
            let (done, waker) = (done.clone(), cx.waker().clone());
            std::thread::spawn(move || {
                std::thread::sleep(d);
                done.store(true, Ordering::Release);
                waker.wake_by_ref();
                if stale {
                    std::thread::sleep(d / 2 + Duration::from_micros(100));
                    waker.wake();
                }
            });
        }
        Poll::Pending
    })
    .await;
}

/// The future of G `gi`: its operations, then its join, then its done message to its parent (or, for main,
/// the end of the program). A plain fn returning a box, not an `async fn`, because it spawns itself.
fn g_body(run: Arc<Run>, gi: usize) -> GFuture {
    Box::pin(answering_inspections(async move {
        let spec = &run.prog.gs[gi];
        for op in &spec.ops {
            run.exec(gi, op).await;
        }
        for _ in 0..spec.children() {
            if run.joins[gi].recv().await.is_err() {
                run.fail(gi, "join: channel closed".into());
            }
        }
        match spec.parent {
            Some(p) => {
                if run.joins[p].send(gi as u64).await.is_err() {
                    run.fail(gi, "done: join channel closed".into());
                }
            }
            None => match &run.group {
                Some(g) => g.exit(0),
                None => run.sched.exit(0),
            },
        }
    }))
}

/// The whole of a G's future made inspectable, as the wasm side makes each blocking call: an inspection
/// poll is answered here and never reaches the G's operations.
async fn answering_inspections(fut: impl std::future::Future<Output = ()>) {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        if gmp_sched::inspecting() {
            gmp_sched::inspected(gmp_sched::Inspection::default());
            return Poll::Pending;
        }
        let r = fut.as_mut().poll(cx);
        if r.is_pending() {
            gmp_sched::park_inspectable();
        }
        r
    })
    .await
}

/// What a successful run measured.
struct Ran {
    elapsed: Duration,
    preemptions: u64,
    deadlock: bool,
    /// Set when the program ended only after its bound, during the [`SECOND_CHANCE`]: what it looked like then.
    late: Option<String>,
}

/// Run `prog` at `procs` Ps and check everything the module comment promises. Err describes the failure.
///
/// A `grouped` run is the embedder's shape (see `group.rs`): the scheduler-wide deadlock check is off, the
/// program runs as a group and must report its own ending, and a second program (a G that yields and naps
/// until the first has ended) keeps the scheduler busy all along, so no M-level quiet can stand in for the
/// group's own detection.
fn run_program(prog: &Arc<Program>, procs: usize, grouped: bool) -> Result<Ran, String> {
    let bound = prog.bound();
    let sched = Sched::start(Config { procs, checkdead: !grouped, ..Config::default() }, Hooks::default());
    let group = grouped.then(|| sched.new_group());
    let neighbour_done = Arc::new(AtomicBool::new(false));
    let neighbour = grouped.then(|| {
        let g = sched.new_group();
        let done = neighbour_done.clone();
        sched.spawn_in(&g, move |_| {
            Box::pin(async move {
                while !done.load(Ordering::SeqCst) && !exiting() {
                    for _ in 0..8 {
                        yield_now().await;
                    }
                    sleep(Duration::from_micros(100)).await;
                }
            })
        });
        g
    });
    let run = Arc::new(Run::new(prog.clone(), sched.clone(), group.clone()));
    let t0 = Instant::now();
    let r2 = run.clone();
    let main = match &group {
        Some(g) => sched.spawn_in(g, move |_| g_body(r2, 0)).expect("a new group is not ending"),
        None => sched.spawn(move |_| g_body(r2, 0)),
    };
    run.gids[0].store(main, Ordering::Relaxed);
    let wait = |d| match &group {
        Some(g) => g.wait_timeout(d),
        None => sched.wait_timeout(d),
    };
    let inspector_stop = Arc::new(AtomicBool::new(false));
    let inspector = {
        let (sched, group, stop) = (sched.clone(), group.clone(), inspector_stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match &group {
                    Some(g) => drop(g.dump_inspected()),
                    None => drop(sched.dump_inspected()),
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let mut outcome = wait(bound);
    // See SECOND_CHANCE; the state at the bound goes into the report either way.
    let mut at_bound = None;
    if outcome.is_none() {
        let dump = group.as_ref().map_or_else(|| sched.dump(), |g| g.dump());
        let groups = group.as_ref().map(|g| format!("; {}", g.internals())).unwrap_or_default();
        at_bound = Some((dump, format!("{}; {}{groups}", sched.schedtrace_line(), sched.internals())));
        outcome = wait(SECOND_CHANCE);
    }
    inspector_stop.store(true, Ordering::SeqCst);
    let _ = inspector.join();
    neighbour_done.store(true, Ordering::SeqCst);
    if let Some(n) = &neighbour
        && n.wait_timeout(SECOND_CHANCE).is_none()
    {
        return Err(format!("the neighbour program did not end: {}", n.internals()));
    }
    let elapsed = t0.elapsed();
    sched.exit(EXIT_GAVE_UP); // ends a hung program; ignored if it ended
    sched.shutdown();

    let gid_of = |gi: usize| run.gids[gi].load(Ordering::Relaxed);
    let names = Names::new(&run);
    let at_bound = at_bound.map(|(dump, trace)| {
        format!("at the bound of {:.1}s: {trace}; Gs left:\n{}", bound.as_secs_f64(), names.dump(&dump))
    });
    let mut problems: Vec<String> = Vec::new();
    match (&outcome, prog.blocked.is_empty()) {
        (None, _) => problems.push(format!(
            "no outcome within the bound and {}s more; {}",
            SECOND_CHANCE.as_secs(),
            at_bound.clone().unwrap_or_default()
        )),
        (Some(Outcome::Exited(0)), true) => {}
        (Some(Outcome::Deadlock(dump)), false) => {
            let mut want: Vec<GDump> = prog
                .blocked
                .iter()
                .map(|&(gi, reason, obj)| {
                    let obj = match obj {
                        Obj::None => 0,
                        Obj::Void(v) => run.voids[v].id(),
                        Obj::Join => run.joins[gi].id(),
                    };
                    GDump::waiting_on(gid_of(gi), reason, obj)
                })
                .collect();
            want.sort_by_key(|d| d.id);
            if *dump != want {
                problems.push(format!(
                    "wrong deadlock report:\n{}  expected:\n{}",
                    names.dump(dump),
                    names.dump(&want)
                ));
            }
        }
        (Some(Outcome::Deadlock(dump)), true) => {
            problems.push(format!("false deadlock report:\n{}", names.dump(dump)));
        }
        (Some(other), _) => problems.push(format!("outcome {other:?}")),
    }
    problems.extend(run.errors.lock().iter().cloned());
    if outcome.is_some() {
        for (c, spec) in prog.chans.iter().enumerate() {
            let got = run.received[c].load(Ordering::Relaxed);
            if got != spec.msgs {
                problems.push(format!("c{c}: {got} of {} messages received", spec.msgs));
            }
        }
        let (sn, rn) = (run.sent_n.load(Ordering::Relaxed), run.recv_n.load(Ordering::Relaxed));
        let (ss, rs) = (run.sent_sum.load(Ordering::Relaxed), run.recv_sum.load(Ordering::Relaxed));
        if sn != prog.messages() || rn != sn || rs != ss {
            problems.push(format!(
                "checksum: {sn} sent (sum {ss:#x}), {rn} received (sum {rs:#x}), {} planned",
                prog.messages()
            ));
        }
    }
    if problems.is_empty() {
        let deadlock = !prog.blocked.is_empty();
        let late = at_bound.map(|a| format!("ended only after {:.1}s; {a}", elapsed.as_secs_f64()));
        Ok(Ran { elapsed, preemptions: run.preemptions.load(Ordering::Relaxed), deadlock, late })
    } else {
        Err(problems.join("\n"))
    }
}

/// Names for a run's G and channel ids in reports: `G3`, `c2`, `join(G1)`, `v0`.
struct Names {
    gs: Vec<(u64, usize)>,
    chans: Vec<(u64, String)>,
}

impl Names {
    fn new(run: &Run) -> Names {
        let gs = run.gids.iter().enumerate().map(|(i, g)| (g.load(Ordering::Relaxed), i)).collect();
        let mut chans: Vec<(u64, String)> = Vec::new();
        chans.extend(run.chans.iter().enumerate().map(|(i, c)| (c.id(), format!("c{i}"))));
        chans.extend(run.joins.iter().enumerate().map(|(i, c)| (c.id(), format!("join(G{i})"))));
        chans.extend(run.voids.iter().enumerate().map(|(i, c)| (c.id(), format!("v{i}"))));
        for (i, (a, b)) in run.noise.iter().enumerate() {
            chans.push((a.id(), format!("noise-recv(G{i})")));
            chans.push((b.id(), format!("noise-send(G{i})")));
        }
        Names { gs, chans }
    }

    fn dump(&self, dump: &[GDump]) -> String {
        let mut s = String::new();
        for d in dump {
            let g = self.gs.iter().find(|g| g.0 == d.id).map_or("G?".to_string(), |g| format!("G{}", g.1));
            let obj = match d.obj {
                0 => String::new(),
                id => {
                    self.chans.iter().find(|c| c.0 == id).map_or(format!(" on chan #{id}"), |c| format!(" on {}", c.1))
                }
            };
            s += &format!("    {g} (gid {}): {}{obj}\n", d.id, d.reason.as_str());
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The tests.

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v}: not a number")))
}

/// The Ps a seed runs at: all of 1–4 in every four consecutive seeds, unless `GMP_FUZZ_PROCS` says otherwise.
fn procs_of(seed: u64) -> usize {
    env_u64("GMP_FUZZ_PROCS").map_or(seed as usize % 4 + 1, |p| p as usize)
}

/// Whether a program runs grouped (see [`run_program`]): seeds alternate in blocks of four (so each of 1–4 Ps
/// is run both ways), unless `GMP_FUZZ_GROUPED` says; the named regression tests run as they were found.
fn grouped_of(origin: &Origin) -> bool {
    match origin {
        Origin::Seed(seed) => env_u64("GMP_FUZZ_GROUPED").map_or((seed / 4) % 2 == 1, |g| g != 0),
        Origin::Test(_) => false,
    }
}

/// Run `prog` `repeat` times at `procs` Ps (stopping at the first failure with `stop`). Ok holds the last run
/// and how many runs were late (each printed as a warning); Err the first failure, how many runs failed (a
/// scheduling bug may need a particular interleaving), the command that replays it, and the program.
fn run_repeated(prog: Program, procs: usize, repeat: u64, stop: bool) -> Result<(Ran, u64), String> {
    let prog = Arc::new(prog);
    let grouped = grouped_of(&prog.origin);
    let replay = match prog.origin {
        Origin::Seed(seed) => format!(
            "GMP_FUZZ_SEED={seed} GMP_FUZZ_PROCS={procs} GMP_FUZZ_GROUPED={} GMP_FUZZ_REPEAT={repeat} {REPLAY}",
            u8::from(grouped)
        ),
        Origin::Test(name) => format!("cargo test -p gmp-sched --release --test sched_fuzz -- --exact {name}"),
    };
    let (mut ran, mut late, mut first_failure, mut failed, mut runs) = (None, 0, None, 0, 0);
    for _ in 0..repeat {
        if stop && first_failure.is_some() {
            break;
        }
        runs += 1;
        match run_program(&prog, procs, grouped) {
            Ok(r) => {
                if let Some(l) = &r.late {
                    late += 1;
                    eprintln!("warning: {} at {procs} Ps {l}replay: {replay}\n{prog}", prog.origin);
                }
                ran = Some(r);
            }
            Err(e) => {
                failed += 1;
                first_failure.get_or_insert(e);
            }
        }
    }
    match first_failure {
        None => Ok((ran.expect("repeat is at least 1"), late)),
        Some(e) => Err(format!(
            "{} failed at {procs} Ps ({failed} of {runs} runs):\n{e}\nreplay: {replay}\n{prog}",
            prog.origin
        )),
    }
}

/// The fuzzer proper: the default run covers seeds 0..DEFAULT_SEEDS, a quarter at each of 1–4 Ps.
#[test]
fn random_programs_finish_or_report_their_deadlock() {
    let (start, count) = match env_u64("GMP_FUZZ_SEED") {
        Some(seed) => (seed, 1),
        None => (env_u64("GMP_FUZZ_START").unwrap_or(0), env_u64("GMP_FUZZ_SEEDS").unwrap_or(DEFAULT_SEEDS)),
    };
    let repeat = env_u64("GMP_FUZZ_REPEAT").unwrap_or(1).max(1);
    // A broken scheduler fails many seeds, each after its bound and the second chance; a handful of reports is
    // enough to go on.
    let max_failures = env_u64("GMP_FUZZ_MAX_FAILURES").unwrap_or(10) as usize;
    let t0 = Instant::now();
    let mut failures = Vec::new();
    let (mut preemptions, mut deadlocks, mut late, mut slowest) = (0, 0, 0, (Duration::ZERO, 0));
    let mut end = start;
    for seed in start..start + count {
        end = seed + 1;
        match run_repeated(generate(seed), procs_of(seed), repeat, false) {
            Ok((r, l)) => {
                preemptions += r.preemptions;
                deadlocks += u64::from(r.deadlock);
                late += l;
                if r.elapsed > slowest.0 {
                    slowest = (r.elapsed, seed);
                }
            }
            Err(report) => {
                eprintln!("{report}");
                failures.push(seed);
                if failures.len() >= max_failures {
                    break;
                }
            }
        }
    }
    eprintln!(
        "sched_fuzz: seeds {start}..{} in {:.1}s: {} failed, {late} late runs, {deadlocks} planted deadlocks \
         reported, {preemptions} preemptions, slowest seed {} ({:.1}ms)",
        end,
        t0.elapsed().as_secs_f64(),
        failures.len(),
        slowest.1,
        slowest.0.as_secs_f64() * 1e3
    );
    assert!(failures.is_empty(), "failing seeds (reports above): {failures:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// Regression cases: what the fuzzer found, as named tests. Each fails on the scheduler this file was written
// against (main at 86ab706) and passes once the bug it names is fixed. Seeds are replayed a few times each,
// since the bug they found needs an interleaving that not every run produces; the hand-made programs are the
// smallest ones found that hit the same bug (nearly) every run.

/// The program of test `name`, written by hand: `gs[i]` is G i's parent and ops (G 0 is main, with no parent).
fn hand_made(name: &'static str, gs: Vec<(Option<usize>, Vec<Op>)>, latches: usize, voids: usize) -> Program {
    Program {
        origin: Origin::Test(name),
        gs: gs.into_iter().map(|(parent, ops)| GSpec { parent, ops }).collect(),
        latches,
        voids,
        ..Program::default()
    }
}

fn assert_passes(prog: Program, procs: usize, repeat: u64) {
    if let Err(report) = run_repeated(prog, procs, repeat, true) {
        panic!("{report}");
    }
}

/// Replay `seeds`, each at the Ps the default run gives it, `repeat` times.
fn assert_seeds_pass(seeds: &[u64], repeat: u64) {
    let failures: Vec<String> = seeds
        .iter()
        .filter_map(|&seed| run_repeated(generate(seed), seed as usize % 4 + 1, repeat, true).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// A G woken by its timer on a P that was idle goes to that P's `runnext` and inherits the P's time slice,
/// but an idle P has none (`slice_start` is 0, which sysmon reads as "no G running"): the G is never
/// preempted. Here main, so woken, spins until G1 sets a latch after its own, later, timer; at one P, G1 never
/// runs again. Main sleeps 2.5 ms so that sysmon, with every P idle since the start, is asleep when the timer
/// is due, and the M that wakes for it is the one that fires it (sysmon fires due timers itself while a P is
/// busy, onto the global queue, where main would get a fresh slice).
#[test]
fn a_g_woken_by_a_timer_on_an_idle_p_is_still_preempted() {
    let prog = hand_made(
        "a_g_woken_by_a_timer_on_an_idle_p_is_still_preempted",
        vec![
            (None, vec![Op::Spawn(1), Op::Sleep(us(2_500)), Op::SpinWait(0)]),
            (Some(0), vec![Op::Sleep(us(6_000)), Op::SetLatch(0)]),
        ],
        1,
        0,
    );
    assert_passes(prog, 1, 5);
}

/// The same bug as found by the fuzzer: at one P (52, 404, 428, 488) and at two, where the G left behind sits
/// in the stuck P's local queue and the other P, busy with its own Gs, never steals it (993, 1953).
#[test]
fn seeds_where_a_timer_woken_g_kept_its_p_forever() {
    assert_seeds_pass(&[52, 404, 428, 488, 993, 1953], 3);
}

/// Wakers may be called at any time, also after the G has moved on: a G parked on a channel that is woken by a
/// stale waker and polled again is still parked on that channel. The channel's future returns Pending without
/// restating its wait reason, `execute` had reset it to None, so the G is counted as parked in a host call
/// (`nsyscall_wait`) and checkdead stays quiet for good. Here main's foreign call wakes it once more while it
/// waits in its join; the hold keeps checkdead away until then.
#[test]
fn a_stale_wake_up_does_not_hide_a_deadlock() {
    let mut prog = hand_made(
        "a_stale_wake_up_does_not_hide_a_deadlock",
        vec![
            (None, vec![Op::Spawn(1), Op::Foreign { d: us(300), stale: true }, Op::Hold(us(3_000))]),
            (Some(0), vec![Op::Block(Forever::Recv(0))]),
        ],
        0,
        1,
    );
    prog.blocked = vec![(0, WaitReason::ChanReceive, Obj::Join), (1, WaitReason::ChanReceive, Obj::Void(0))];
    for procs in [1, 2] {
        assert_passes(prog.clone(), procs, 2);
    }
}

/// The same bug as found by the fuzzer, at 1–4 Ps.
#[test]
fn seeds_where_a_stale_wake_up_hid_a_deadlock() {
    assert_seeds_pass(&[125, 218, 448, 467, 509], 4);
}

/// The last pending timer is uncounted (`Timers::active`) only after its action readied its G. When the thread
/// that fired it is slow to get there (sysmon or an M, descheduled right after waking another M), the woken G
/// may run and park and every M go idle in between: the last M's checkdead still saw a pending timer, and
/// nothing runs checkdead again when the count drops to zero. The same lag lets an M find a pending timer
/// but an empty heap and block in the netpoller with no deadline, never going idle. Found by the fuzzer;
/// each of these seeds missed its deadlock in a good share of runs.
#[test]
fn seeds_where_the_last_timer_hid_a_deadlock() {
    assert_seeds_pass(&[14, 37, 81, 119, 133, 411, 495, 537], 6);
}
