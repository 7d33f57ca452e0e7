//! Metrics (`Sched::metrics`): a program of plain futures that does known numbers of things, and the counts
//! it must find afterwards.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{config, go};
use gmp_sched::{Case, Chan, Hooks, Outcome, Sched, preempt_requested, preempt_yield, select, sleep};

const SENDERS: u64 = 10;
const EACH: u64 = 5;

/// 10 senders blocked on one unbuffered channel (so all are alive at once), a spinner that sysmon must
/// preempt, 50 receives, one select, one sleep: each shows in its counter, and nothing else does.
#[test]
fn metrics_count_what_the_program_did() {
    let s = Sched::start(config(2), Hooks::default());
    let s2 = s.clone();
    let seen_live = Arc::new(parking_lot::Mutex::new(None));
    let seen = seen_live.clone();
    s.spawn(move |_| {
        Box::pin(async move {
            let stop = Arc::new(AtomicBool::new(false));
            let stop2 = stop.clone();
            go(&s2, async move {
                // What a wasm G's epoch callback does: spin, and yield when sysmon says so.
                let t0 = Instant::now();
                while !stop2.load(Ordering::Relaxed) {
                    if preempt_requested() {
                        preempt_yield().await;
                    }
                    assert!(t0.elapsed() < Duration::from_secs(30), "the spinner was never stopped");
                    std::hint::spin_loop();
                }
            });
            let ch = Arc::new(Chan::<u64>::new(0));
            for _ in 0..SENDERS {
                let ch = ch.clone();
                go(&s2, async move {
                    for i in 0..EACH {
                        ch.send(i).await.unwrap();
                    }
                });
            }
            // Every sender runs and blocks on its first send before main receives (main yields until so; if
            // sends were not counted, the asserts below say so after 10 s).
            let t0 = Instant::now();
            while s2.metrics().chan_sends < SENDERS && t0.elapsed() < Duration::from_secs(10) {
                gmp_sched::yield_now().await;
            }
            *seen.lock() = Some(s2.metrics());
            for _ in 0..SENDERS * EACH {
                ch.recv().await.unwrap();
            }
            let other = Chan::<u64>::new(1);
            other.try_send(7).unwrap();
            assert!(matches!(select(vec![Case::Recv(&other)], true).await, gmp_sched::Selected::Recv(0, Ok(7))));
            sleep(Duration::from_millis(2)).await;
            // The spinner has had whole slices of its own by now (main yielded to it above at 2 Ps, or
            // waited behind it): wait until sysmon preempted it at least once.
            while s2.metrics().preemptions == 0 && t0.elapsed() < Duration::from_secs(20) {
                sleep(Duration::from_millis(1)).await;
            }
            stop.store(true, Ordering::Relaxed);
            s2.exit(0);
        })
    });
    assert_eq!(s.wait_timeout(Duration::from_secs(60)), Some(Outcome::Exited(0)));
    let m = s.metrics();
    s.shutdown();

    let during = seen_live.lock().clone().expect("main read the metrics");
    assert_eq!(during.gs_live, SENDERS + 2, "main, the spinner and every sender were alive: {during:?}");
    assert_eq!(m.gs_started, SENDERS + 2, "{m:?}");
    assert_eq!(m.gs_peak, SENDERS + 2, "{m:?}");
    assert_eq!(m.gomaxprocs, 2);
    assert_eq!(m.ps.len(), 2);
    // Every send and receive the program made (+1 each: the select's try_send before it), and no other.
    assert_eq!(m.chan_sends, SENDERS * EACH + 1, "{m:?}");
    assert_eq!(m.chan_recvs, SENDERS * EACH, "{m:?}");
    assert_eq!(m.selects, 1, "{m:?}");
    assert!(m.timers_fired >= 1, "the sleep's timer: {m:?}");
    assert!(m.preemptions >= 1, "{m:?}");
    assert_eq!(m.preemptions, m.ps.iter().map(|p| p.preemptions).sum::<u64>());
    assert!(m.busy > Duration::ZERO && m.busy == m.ps.iter().map(|p| p.busy).sum::<Duration>(), "{m:?}");
    assert_eq!(m.steals, m.ps.iter().map(|p| p.steals).sum::<u64>());
    assert!(m.stolen >= m.steals, "a steal takes at least one G: {m:?}");
    assert!(m.threads >= 1);
    let names = m.named();
    assert!(names.iter().any(|(k, v)| k == "/sched/goroutines-created:goroutines" && *v == (SENDERS + 2).to_string()));
}

/// Steals: at 2 Ps, a G that readies many Gs at once leaves work for the other P's M to steal.
#[test]
fn steals_are_counted_per_thief() {
    let s = Sched::start(config(2), Hooks::default());
    let s2 = s.clone();
    s.spawn(move |_| {
        Box::pin(async move {
            let done = Arc::new(Chan::<()>::new(1000));
            for _ in 0..200 {
                let done = done.clone();
                // Each G spins a little so its queue-mates wait long enough to be stolen.
                go(&s2, async move {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_micros(200) {
                        std::hint::spin_loop();
                    }
                    done.send(()).await.unwrap();
                });
            }
            for _ in 0..200 {
                done.recv().await.unwrap();
            }
            s2.exit(0);
        })
    });
    assert_eq!(s.wait_timeout(Duration::from_secs(60)), Some(Outcome::Exited(0)));
    let m = s.metrics();
    s.shutdown();
    assert!(m.steals >= 1, "200 Gs queued on one P while another was idle: {m:?}");
    assert!(m.stolen >= m.steals);
    assert_eq!(m.stolen, m.ps.iter().map(|p| p.stolen).sum::<u64>());
}
