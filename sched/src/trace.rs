//! Execution trace: what ran where, and who woke whom, as Trace Event Format JSON (what Perfetto and
//! `chrome://tracing` open; Go's `go tool trace` shows the same things).
//!
//! # Types
//! - `Tracer` (crate-private): the scheduler's collector, present only when [`Config::trace`] is on.
//! - `Event` / `Ev`: one recorded event, kept compact and turned into JSON only at the end.
//! - [`Trace`]: every event of a finished run, from [`Sched::take_trace`]; [`Trace::write_json`] writes it.
//!
//! # Cost
//! - **Off**: every event site is `if let Some(t) = &sched.tracer`, a field that never changes after
//!   [`Sched::start`]: one predictable branch per site, and no clock read, no allocation.
//! - **On**: an M records into its own buffer (`MLocal::trace`, a plain `Vec` on its stack frame), reached
//!   directly on the scheduling paths and through the thread-local `Current` from inside a poll (a channel
//!   readying a G, a spawn); no lock and no shared atomic per event. The buffer is handed to the tracer
//!   when the M exits or every `FLUSH_EVENTS` events. Threads that are not Ms (sysmon, the embedder's,
//!   wasmtime-wasi's) record into one locked buffer; they record rarely (a timer sysmon fires, a host send).
//!   Timestamps are nanoseconds since the scheduler's epoch ([`Sched::now`]); the poll's own two clock
//!   reads (kept for CPU time) give each run slice its start and end for free.
//!
//! # What is recorded
//! | event | where | when |
//! |---|---|---|
//! | G run slice (`X`) | the P's track and the M's track | each poll of a G: start, duration, how it ended; a blocking call inside the poll ends one slice and starts another after it, on the P the M holds then |
//! | block (`i`) | the P's track | the poll ended parked (`PARKED` won), with the [`WaitReason`] and object |
//! | unblock (`i`) + flow start (`s`) | the waker's track: its P, its M, or *outside* | `PARKED → RUNNABLE` won, by a G, a timer, the poller, or the host; or a dump queued a G woken while it inspected it (`inspect.rs`) |
//! | flow end (`f`, `bp: e`) | the P's track, at the woken G's next slice | the slice starts |
//! | spawn (`i`) + flow | the spawner's track | `Sched::spawn*`; the flow ends at the new G's first slice |
//! | steal, preemption, netpoll wake | the P's track (netpoll: or outside) | a thief took Gs, a G yielded its flagged slice, the poller readied Gs |
//! | syscall (`X`) | the M's track | a `blocking` call, start to end |
//! | syscall hand-off (`i`) | outside | sysmon took a P from a blocking call |
//!
//! A flow's id is the recording M's id (bits 40 and up; outside threads use `OUTSIDE_TRACK`) and a
//! counter of that M: unique without a shared counter, and below 2^53 so JavaScript viewers read it exactly.
//!
//! # Invariants of the file (checked by the integration test)
//! Every slice is closed (`X` events carry their duration); the G slices of one P never overlap (an M runs
//! one G at a time, and a P is held by one M); every unblock of a G follows a block of it (a G is unblocked
//! only by winning `PARKED → RUNNABLE`, which its block published); every flow end has its start. An M still
//! stuck in a blocking call at shutdown is left behind with its buffer, so its last events are missing.
//!
//! [`Config::trace`]: crate::Config::trace
//! [`WaitReason`]: crate::WaitReason

use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::g::WaitReason;
use crate::m::{Current, MLocal};
use crate::sched::Sched;

/// An M hands its buffer to the tracer after this many events, so a long run does not keep them all in
/// one growing `Vec` per M (a hand-off is one lock per 64 Ki events).
pub(crate) const FLUSH_EVENTS: usize = 1 << 16;

/// The track id (and flow-id prefix) of threads that are not Ms.
pub(crate) const OUTSIDE_TRACK: u32 = 4095;

/// Who made a G runnable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum By {
    G(u64),
    Timer,
    Poller,
    Host,
    /// Someone readied the G while a dump inspected it (see `inspect.rs`); the dump queued it.
    Dump,
}

/// A track: a P, an M without a P, or a thread that is not an M.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Track {
    P(u32),
    M(u32),
    Outside,
}

/// How a run slice ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// It returned `Pending` without yielding: parked, or requeued at once if woken during the poll.
    Pending,
    /// It yielded (Gosched or preemption).
    Yield,
    /// Its future completed.
    Exit,
    /// The poll panicked.
    Panic,
    /// The G entered a blocking call: the P went on without it (the slice goes on after the call).
    Syscall,
}

#[derive(Debug)]
pub(crate) enum Ev {
    Slice { p: u32, m: u32, g: u64, dur: u64, flow: u64, end: End },
    Block { p: u32, g: u64, reason: WaitReason, obj: u64 },
    Unblock { track: Track, g: u64, by: By, flow: u64 },
    Spawn { track: Track, g: u64, by: Option<u64>, flow: u64 },
    Steal { p: u32, victim: u32, n: u32 },
    Preempt { p: u32, g: u64 },
    Syscall { m: u32, dur: u64 },
    Handoff { p: u32 },
    NetpollWake { track: Track, n: u32 },
    Label { g: u64, name: Box<str> },
}

#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) ts: u64,
    pub(crate) ev: Ev,
}

thread_local! {
    /// Set while this thread runs timers or hands out the poller's wake-ups, so that a G readied meanwhile is
    /// shown as woken by the timer or the poller. Only set while tracing.
    static WAKING: Cell<Option<By>> = const { Cell::new(None) };
}

/// Marks the thread as waking Gs for a timer or the poller until dropped (see `WAKING`).
pub(crate) struct WakingAs(Option<By>);

impl WakingAs {
    pub(crate) fn new(sched: &Sched, by: By) -> WakingAs {
        if sched.tracer.is_none() {
            return WakingAs(None);
        }
        WakingAs(Some(WAKING.with(|w| w.replace(Some(by))).unwrap_or(By::Host)))
    }
}

impl Drop for WakingAs {
    fn drop(&mut self) {
        if let Some(prev) = self.0 {
            WAKING.with(|w| w.set(if prev == By::Host { None } else { Some(prev) }));
        }
    }
}

/// The scheduler's trace collector (see the module comment).
#[derive(Default)]
pub(crate) struct Tracer {
    /// Buffers handed in by Ms.
    done: Mutex<Vec<Vec<Event>>>,
    /// The buffer of threads that are not Ms.
    outside: Mutex<Vec<Event>>,
    outside_flows: AtomicU64,
}

impl Tracer {
    /// An M's buffer, full or at the M's exit.
    pub(crate) fn hand_in(&self, buf: &mut Vec<Event>) {
        if !buf.is_empty() {
            self.done.lock().push(std::mem::take(buf));
        }
    }
}

impl MLocal {
    /// Record on this M. Tracing must be on.
    pub(crate) fn trace(&mut self, tracer: &Tracer, ts: u64, ev: Ev) {
        self.trace.push(Event { ts, ev });
        if self.trace.len() >= FLUSH_EVENTS {
            tracer.hand_in(&mut self.trace);
        }
    }

    /// A new flow id of this M.
    pub(crate) fn flow_id(&mut self) -> u64 {
        self.trace_seq += 1;
        ((self.id as u64) << 40) | self.trace_seq
    }

    /// This M's track: its P's, or its own while it holds none.
    pub(crate) fn track(&self) -> Track {
        match &self.p {
            Some(p) => Track::P(p.id as u32),
            None => Track::M(self.id),
        }
    }
}

impl Sched {
    /// Record an event from wherever this thread is: on its M's buffer if it is an M of this scheduler,
    /// else on the outside buffer. `make` gets the track and a fresh flow id. Tracing must be on.
    pub(crate) fn trace_here(&self, tracer: &Tracer, make: impl FnOnce(Track, u64) -> Ev) {
        let ts = self.now_ns();
        let mut make = Some(make);
        let on_m = Current::with_ml_of(self, |ml| {
            let (track, flow) = (ml.track(), ml.flow_id());
            let ev = (make.take().expect("called once"))(track, flow);
            ml.trace(tracer, ts, ev);
        });
        if on_m.is_none() {
            let flow = ((OUTSIDE_TRACK as u64) << 40) | (tracer.outside_flows.fetch_add(1, Ordering::Relaxed) + 1);
            let ev = (make.take().expect("called once"))(Track::Outside, flow);
            tracer.outside.lock().push(Event { ts, ev });
        }
    }

    /// Who is making a G runnable right now, on this thread.
    pub(crate) fn trace_waker() -> By {
        Current::with_g(|g| By::G(g.id())).or_else(|| WAKING.with(|w| w.get())).unwrap_or(By::Host)
    }

    /// Name G `gid` in the trace ("main", the function a spawn runs): `name` is called only while tracing.
    /// Any thread; the name is attached to the G's slices when the trace is written.
    pub fn trace_label(&self, gid: u64, name: impl FnOnce() -> String) {
        if let Some(t) = &self.tracer {
            let name = name().into_boxed_str();
            self.trace_here(t, |_, _| Ev::Label { g: gid, name });
        }
    }

    /// The trace, once the scheduler has shut down ([`Sched::shutdown`]); None if tracing was off (or it
    /// was taken already).
    pub fn take_trace(&self) -> Option<Trace> {
        let t = self.tracer.as_ref()?;
        let mut events: Vec<Event> = t.done.lock().drain(..).flatten().collect();
        events.append(&mut t.outside.lock());
        if events.is_empty() {
            return None;
        }
        // Sorted by time; at equal times a block before the unblock it allows, and a flow's start before its
        // end.
        events.sort_by_key(|e| (e.ts, rank(&e.ev)));
        Some(Trace { events, procs: self.cfg.procs })
    }
}

fn rank(ev: &Ev) -> u8 {
    match ev {
        Ev::Label { .. } => 0,
        Ev::Block { .. } => 1,
        Ev::Unblock { .. } | Ev::Spawn { .. } => 2,
        _ => 3,
    }
}

/// A finished run's events, in time order (see [`Sched::take_trace`]).
pub struct Trace {
    events: Vec<Event>,
    procs: usize,
}

/// Nanoseconds as the format's microseconds, exactly.
fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

const PID_P: u32 = 1;
const PID_M: u32 = 2;
const PID_OUTSIDE: u32 = 3;

fn track_ids(t: Track) -> (u32, u32) {
    match t {
        Track::P(p) => (PID_P, p),
        Track::M(m) => (PID_M, m),
        Track::Outside => (PID_OUTSIDE, 0),
    }
}

fn by_str(by: By) -> String {
    match by {
        By::G(g) => format!("G{g}"),
        By::Timer => "timer".into(),
        By::Poller => "netpoller".into(),
        By::Host => "host".into(),
        By::Dump => "woken during a dump".into(),
    }
}

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// An unblock or a spawn: the instant, and the start of the flow to the G's next slice. A flow starts
/// inside a slice: the waking G's own, else a zero-length one here naming the waker.
#[allow(clippy::too_many_arguments, reason = "one call site per kind; a struct would only rename them")]
fn wake(lines: &mut Vec<String>, ms: &mut Vec<u32>, track: Track, ts: u64, name: &str, g: u64, by: String, f: u64) {
    if let Track::M(m) = track
        && !ms.contains(&m)
    {
        ms.push(m);
    }
    let (pid, tid) = track_ids(track);
    if !by.starts_with('G') {
        lines.push(format!(
            r#"{{"name":{},"cat":"waker","ph":"X","ts":{},"dur":0,"pid":{pid},"tid":{tid}}}"#,
            json_str(&by),
            us(ts)
        ));
    }
    lines.push(format!(
        r#"{{"name":{},"ph":"i","s":"t","ts":{},"pid":{pid},"tid":{tid},"args":{{"g":{g},"by":{}}}}}"#,
        json_str(name),
        us(ts),
        json_str(&by)
    ));
    lines.push(format!(r#"{{"name":"ready","cat":"flow","ph":"s","id":{f},"ts":{},"pid":{pid},"tid":{tid}}}"#, us(ts)));
}

impl Trace {
    /// Events recorded.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Write the trace as Trace Event Format JSON (`{"traceEvents":[...]}`), one event per line: a track per
    /// P (process "Ps"), per M (process "Ms") and one for threads that are not Ms (process "outside").
    ///
    /// # Errors
    /// Whatever `w` returns.
    pub fn write_json(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let names: HashMap<u64, &str> = self
            .events
            .iter()
            .filter_map(|e| match &e.ev {
                Ev::Label { g, name } => Some((*g, &**name)),
                _ => None,
            })
            .collect();
        let gname = |g: u64| match names.get(&g) {
            Some(n) => format!("G{g} {n}"),
            None => format!("G{g}"),
        };
        let mut ms: Vec<u32> = Vec::new();
        let mut lines: Vec<String> = Vec::with_capacity(self.events.len() * 2);
        // An instant with arguments on track `t`.
        let instant = |t: Track, ts: u64, name: &str, args: String| {
            let (pid, tid) = track_ids(t);
            format!(
                r#"{{"name":{},"ph":"i","s":"t","ts":{},"pid":{pid},"tid":{tid},"args":{{{args}}}}}"#,
                json_str(name),
                us(ts)
            )
        };
        let flow = |ph: &str, t: Track, ts: u64, id: u64| {
            let (pid, tid) = track_ids(t);
            let bp = if ph == "f" { r#","bp":"e""# } else { "" };
            format!(
                r#"{{"name":"ready","cat":"flow","ph":"{ph}","id":{id},"ts":{},"pid":{pid},"tid":{tid}{bp}}}"#,
                us(ts)
            )
        };
        for e in &self.events {
            let ts = e.ts;
            match &e.ev {
                Ev::Slice { p, m, g, dur, flow: f, end } => {
                    if !ms.contains(m) {
                        ms.push(*m);
                    }
                    let end = match end {
                        End::Pending => "pending",
                        End::Yield => "yield",
                        End::Exit => "exit",
                        End::Panic => "host panic",
                        End::Syscall => "syscall",
                    };
                    let name = gname(*g);
                    lines.push(format!(
                        r#"{{"name":{},"cat":"g","ph":"X","ts":{},"dur":{},"pid":{PID_P},"tid":{p},"args":{{"g":{g},"m":{m},"end":"{end}"}}}}"#,
                        json_str(&name),
                        us(ts),
                        us(*dur)
                    ));
                    lines.push(format!(
                        r#"{{"name":{},"cat":"m","ph":"X","ts":{},"dur":{},"pid":{PID_M},"tid":{m},"args":{{"g":{g},"p":{p}}}}}"#,
                        json_str(&format!("{name} on P{p}")),
                        us(ts),
                        us(*dur)
                    ));
                    if *f != 0 {
                        lines.push(flow("f", Track::P(*p), ts, *f));
                    }
                }
                Ev::Block { p, g, reason, obj } => lines.push(instant(
                    Track::P(*p),
                    ts,
                    &format!("block G{g}"),
                    format!(r#""g":{g},"reason":{},"obj":{obj}"#, json_str(reason.as_str())),
                )),
                Ev::Unblock { track, g, by, flow: f } => {
                    wake(&mut lines, &mut ms, *track, ts, &format!("unblock G{g}"), *g, by_str(*by), *f)
                }
                Ev::Spawn { track, g, by, flow: f } => {
                    let by = by.map_or_else(|| "host".to_string(), |b| format!("G{b}"));
                    wake(&mut lines, &mut ms, *track, ts, &format!("spawn G{g}"), *g, by, *f)
                }
                Ev::Steal { p, victim, n } => {
                    lines.push(instant(Track::P(*p), ts, "steal", format!(r#""from":{victim},"gs":{n}"#)))
                }
                Ev::Preempt { p, g } => {
                    lines.push(instant(Track::P(*p), ts, &format!("preempt G{g}"), format!(r#""g":{g}"#)))
                }
                Ev::Syscall { m, dur } => {
                    if !ms.contains(m) {
                        ms.push(*m);
                    }
                    lines.push(format!(
                        r#"{{"name":"syscall","cat":"m","ph":"X","ts":{},"dur":{},"pid":{PID_M},"tid":{m}}}"#,
                        us(ts),
                        us(*dur)
                    ));
                }
                Ev::Handoff { p } => lines.push(instant(Track::Outside, ts, "syscall handoff", format!(r#""p":{p}"#))),
                Ev::NetpollWake { track, n } => lines.push(instant(*track, ts, "netpoll wake", format!(r#""gs":{n}"#))),
                Ev::Label { .. } => {}
            }
        }
        // Metadata: process and thread names, so each track says what it is.
        let mut meta = vec![
            r#"{"name":"process_name","ph":"M","pid":1,"args":{"name":"Ps"}}"#.to_string(),
            r#"{"name":"process_name","ph":"M","pid":2,"args":{"name":"Ms"}}"#.to_string(),
            r#"{"name":"process_name","ph":"M","pid":3,"args":{"name":"outside"}}"#.to_string(),
            r#"{"name":"thread_name","ph":"M","pid":3,"tid":0,"args":{"name":"sysmon, host threads"}}"#.to_string(),
        ];
        for p in 0..self.procs {
            meta.push(format!(r#"{{"name":"thread_name","ph":"M","pid":{PID_P},"tid":{p},"args":{{"name":"P{p}"}}}}"#));
            meta.push(format!(
                r#"{{"name":"thread_sort_index","ph":"M","pid":{PID_P},"tid":{p},"args":{{"sort_index":{p}}}}}"#
            ));
        }
        ms.sort_unstable();
        for m in ms {
            meta.push(format!(r#"{{"name":"thread_name","ph":"M","pid":{PID_M},"tid":{m},"args":{{"name":"M{m}"}}}}"#));
        }
        w.write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")?;
        let all: Vec<&String> = meta.iter().chain(lines.iter()).collect();
        for (i, l) in all.iter().enumerate() {
            w.write_all(l.as_bytes())?;
            w.write_all(if i + 1 < all.len() { b",\n" } else { b"\n" })?;
        }
        w.write_all(b"]}\n")
    }
}
