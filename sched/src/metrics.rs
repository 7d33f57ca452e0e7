//! Runtime metrics: what the scheduler has done so far, readable at any time (Go's `runtime/metrics`).
//!
//! # The problem
//! An embedder wants numbers (how many Gs, how much stealing, how busy each P was) without paying for them
//! on the paths that make those numbers large. A channel hand-off between two Ps takes a few hundred
//! nanoseconds; one shared counter bumped by both sides would bounce its cache line on every operation and
//! cost more than the counting is worth.
//!
//! # How they are kept
//! - **Per P**: every event that happens on an M holding a P (a channel operation by its G, a steal, a
//!   preemption, a timer it fires, a G it finds in the poller, the time its polls take) goes to
//!   [`Counters`] in that P's [`PShared`](crate::p::PShared), on a cache line of its own. Only the holder of
//!   the P writes them, so an increment is a Relaxed load and store (`Counters::bump`), no locked
//!   instruction; the next holder of the P sees the values through the hand-off of the P itself (the idle
//!   lock, the syscall slot's lock), which orders everything its previous holder did.
//! - **Outside any P**: sysmon (it fires timers, polls the network, hands off Ps taken from blocking calls)
//!   and an M blocked in the poller without a P count into the scheduler's own [`Counters`] with
//!   `fetch_add` (`Counters::add_shared`): these paths are rare (a tick, a wake-up), never per message.
//! - **Gauges** are read where they already live: `live` and the G id counter (Gs alive and Gs started),
//!   the run queues' lengths, the idle list.
//!
//! [`Sched::metrics`] sums the per-P counters with the outside ones. A sum taken while Ms run is not a
//! snapshot of one instant: each counter is exact at some moment during the read, and counters only grow.
//!
//! # Names
//! Each field of [`Metrics`] says which metric of Go's `runtime/metrics` it is, where Go has one; the others
//! are named `/gmp/...` in the same `/path:unit` shape ([`Metrics::named`] lists them all).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sched::Sched;

/// Event counts, kept per P (written by the P's holder only) and once more for events outside any P.
#[derive(Default, Debug)]
pub struct Counters {
    /// Sends started: `Chan::send`, `Chan::try_send`.
    pub chan_sends: AtomicU64,
    /// Receives started: `Chan::recv`, `Chan::try_recv`.
    pub chan_recvs: AtomicU64,
    /// Selects started (blocking or not).
    pub selects: AtomicU64,
    /// Successful steals: a thief found a victim with work.
    pub steals: AtomicU64,
    /// Gs those steals took (half a queue each, or a `runnext`).
    pub stolen: AtomicU64,
    /// Gs that yielded because sysmon flagged their slice (see *Preemption* in `sysmon.rs`).
    pub preemptions: AtomicU64,
    /// Blocking calls entered on the P (`entersyscall`).
    pub syscalls: AtomicU64,
    /// Ps taken from an M stuck in a blocking call and handed off (`retake` + `handoff_p`).
    pub handoffs: AtomicU64,
    /// Gs the netpoller found ready (each a socket wake-up).
    pub netpoll_wakes: AtomicU64,
    /// Timers fired: one-shot timers and ticker ticks.
    pub timers_fired: AtomicU64,
    /// Time spent polling Gs, in nanoseconds.
    pub busy_ns: AtomicU64,
}

impl Counters {
    /// Add `n` to a counter of a P. Holder of the P only: the one writer, so a plain load and store
    /// (Relaxed; the P's hand-off orders successive holders, see the module comment).
    #[inline]
    pub(crate) fn bump(c: &AtomicU64, n: u64) {
        c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// Add `n` to a counter of the scheduler's own set, from any thread (rare paths only).
    #[inline]
    pub(crate) fn add_shared(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn read(&self) -> [u64; 11] {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            r(&self.chan_sends),
            r(&self.chan_recvs),
            r(&self.selects),
            r(&self.steals),
            r(&self.stolen),
            r(&self.preemptions),
            r(&self.syscalls),
            r(&self.handoffs),
            r(&self.netpoll_wakes),
            r(&self.timers_fired),
            r(&self.busy_ns),
        ]
    }
}

/// One P's share of [`Metrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PMetrics {
    /// Gs in its local run queue and `runnext` now.
    pub runq: usize,
    /// Time its Ms spent polling Gs.
    pub busy: Duration,
    /// Steals it made, and the Gs they took.
    pub steals: u64,
    /// Gs it took from other Ps.
    pub stolen: u64,
    /// Gs preempted on it.
    pub preemptions: u64,
}

/// What the scheduler has done since it started, and what it holds now. See the module comment for how
/// exact a reading taken while Gs run is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Gs started since the scheduler did. Go: `/sched/goroutines-created:goroutines`.
    pub gs_started: u64,
    /// Gs alive now (spawned, not finished). Go: `/sched/goroutines:goroutines`.
    pub gs_live: u64,
    /// The most Gs alive at once. `/gmp/sched/goroutines-peak:goroutines`.
    pub gs_peak: u64,
    /// GOMAXPROCS. Go: `/sched/gomaxprocs:threads`.
    pub gomaxprocs: u64,
    /// OS threads started to run Gs (Ms), idle or not. `/gmp/sched/threads:threads`.
    pub threads: u64,
    /// Gs in the global run queue now. `/gmp/sched/runqueue/global:goroutines`.
    pub global_runq: u64,
    /// Successful steals. `/gmp/sched/steals:steals`.
    pub steals: u64,
    /// Gs taken by steals. `/gmp/sched/stolen:goroutines`.
    pub stolen: u64,
    /// Gs preempted by sysmon. `/gmp/sched/preemptions:goroutines`.
    pub preemptions: u64,
    /// Blocking calls entered. `/gmp/sched/syscalls:calls`.
    pub syscalls: u64,
    /// Ps taken from blocking calls and handed to another M. `/gmp/sched/syscall-handoffs:handoffs`.
    pub syscall_handoffs: u64,
    /// Gs readied by the netpoller. `/gmp/sched/netpoll-wakes:goroutines`.
    pub netpoll_wakes: u64,
    /// Timers fired (one-shot timers and ticker ticks). `/gmp/sched/timers-fired:timers`.
    pub timers_fired: u64,
    /// Channel sends started. `/gmp/chan/sends:operations`.
    pub chan_sends: u64,
    /// Channel receives started. `/gmp/chan/receives:operations`.
    pub chan_recvs: u64,
    /// Selects started. `/gmp/chan/selects:operations`.
    pub selects: u64,
    /// Time all Ps spent running Gs. Go: `/cpu/classes/user:cpu-seconds` (Go counts it per thread; here it
    /// is the sum of the polls).
    pub busy: Duration,
    /// Each P, by id. `/gmp/sched/p/{id}/...`.
    pub ps: Vec<PMetrics>,
}

impl Metrics {
    /// Every value under its metric name, Go's where Go has one (see the field docs), in a fixed order.
    pub fn named(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            ("/sched/goroutines-created:goroutines", self.gs_started.to_string()),
            ("/sched/goroutines:goroutines", self.gs_live.to_string()),
            ("/gmp/sched/goroutines-peak:goroutines", self.gs_peak.to_string()),
            ("/sched/gomaxprocs:threads", self.gomaxprocs.to_string()),
            ("/gmp/sched/threads:threads", self.threads.to_string()),
            ("/gmp/sched/runqueue/global:goroutines", self.global_runq.to_string()),
            ("/gmp/sched/steals:steals", self.steals.to_string()),
            ("/gmp/sched/stolen:goroutines", self.stolen.to_string()),
            ("/gmp/sched/preemptions:goroutines", self.preemptions.to_string()),
            ("/gmp/sched/syscalls:calls", self.syscalls.to_string()),
            ("/gmp/sched/syscall-handoffs:handoffs", self.syscall_handoffs.to_string()),
            ("/gmp/sched/netpoll-wakes:goroutines", self.netpoll_wakes.to_string()),
            ("/gmp/sched/timers-fired:timers", self.timers_fired.to_string()),
            ("/gmp/chan/sends:operations", self.chan_sends.to_string()),
            ("/gmp/chan/receives:operations", self.chan_recvs.to_string()),
            ("/gmp/chan/selects:operations", self.selects.to_string()),
            ("/cpu/classes/user:cpu-seconds", format!("{:.6}", self.busy.as_secs_f64())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (i, p) in self.ps.iter().enumerate() {
            v.push((format!("/gmp/sched/p/{i}/runqueue:goroutines"), p.runq.to_string()));
            v.push((format!("/gmp/sched/p/{i}/busy:cpu-seconds"), format!("{:.6}", p.busy.as_secs_f64())));
            v.push((format!("/gmp/sched/p/{i}/steals:steals"), p.steals.to_string()));
            v.push((format!("/gmp/sched/p/{i}/preemptions:goroutines"), p.preemptions.to_string()));
        }
        v
    }
}

impl Sched {
    /// What the scheduler has done so far and holds now (see [`Metrics`]). Any thread, any time; costs a
    /// read of each P's counters and the idle lock once.
    pub fn metrics(&self) -> Metrics {
        let mut m = Metrics {
            gs_started: self.next_gid.load(Ordering::Relaxed) - 1,
            gs_live: self.live.load(Ordering::Relaxed) as u64,
            gs_peak: self.peak_live.load(Ordering::Relaxed) as u64,
            gomaxprocs: self.cfg.procs as u64,
            threads: self.idle.lock().nthreads as u64,
            global_runq: self.global.len() as u64,
            ..Metrics::default()
        };
        let mut total = self.outside.read();
        for p in self.ps.iter() {
            let c = p.stats.read();
            for (t, v) in total.iter_mut().zip(c) {
                *t += v;
            }
            m.ps.push(PMetrics {
                runq: p.runq_len(),
                busy: Duration::from_nanos(c[10]),
                steals: c[3],
                stolen: c[4],
                preemptions: c[5],
            });
        }
        [
            m.chan_sends,
            m.chan_recvs,
            m.selects,
            m.steals,
            m.stolen,
            m.preemptions,
            m.syscalls,
            m.syscall_handoffs,
            m.netpoll_wakes,
            m.timers_fired,
        ] = total[..10].try_into().expect("ten counters");
        m.busy = Duration::from_nanos(total[10]);
        // A G counted live an instant before the peak was raised: the peak is never below what we report.
        m.gs_peak = m.gs_peak.max(m.gs_live);
        m
    }
}
