//! sysmon preemption, with a plain future standing in for a wasm G's epoch checks: a G that never blocks
//! still gives way once its time slice is used up.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{config, go, run};
use gmp_sched::{Chan, Outcome, preempt_requested, yield_now};

/// What a wasm G's epoch callback does, in a plain future: spin, and yield when sysmon says so.
async fn spin_forever(preemptions: Arc<AtomicU64>) {
    loop {
        let start = Instant::now();
        while !preempt_requested() {
            std::hint::spin_loop();
            if start.elapsed() > Duration::from_secs(30) {
                panic!("spinner was never asked to yield");
            }
        }
        preemptions.fetch_add(1, Ordering::Relaxed);
        yield_now().await;
    }
}

/// At one P, a spinning G does not keep main from finishing.
#[test]
fn spinning_g_is_preempted_at_one_p() {
    let pre = Arc::new(AtomicU64::new(0));
    let p2 = pre.clone();
    let t0 = Instant::now();
    let outcome = run(config(1), move |s| async move {
        go(&s, spin_forever(p2));
        // Main gives the P to the spinner (global queue), and gets it back only by preemption.
        yield_now().await;
    });
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(pre.load(Ordering::Relaxed) >= 1, "the spinner was never preempted");
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
}

/// Two spinners and a G doing channel work at one P: the worker still completes many rounds, and each
/// spinner keeps getting turns (no starvation among the preempted either).
#[test]
fn spinners_share_one_p_with_a_worker() {
    let pre = Arc::new(AtomicU64::new(0));
    let p2 = pre.clone();
    let outcome = run(config(1), move |s| async move {
        go(&s, spin_forever(p2.clone()));
        go(&s, spin_forever(p2));
        let ch = Arc::new(Chan::<u32>::new(0));
        let c2 = ch.clone();
        go(&s, async move {
            for i in 0..20 {
                c2.send(i).await.unwrap();
                yield_now().await;
            }
        });
        for i in 0..20 {
            assert_eq!(ch.recv().await, Ok(i));
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(pre.load(Ordering::Relaxed) >= 2);
}

/// A slice lasts about `timeslice`: with a 10 ms slice a spinner is asked to yield after 10 ms, not at
/// once and not after a second. Generous bounds: this box may be loaded.
#[test]
fn slice_length_follows_timeslice() {
    let lengths = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let l2 = lengths.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let outcome = run(config(1), move |s| async move {
        let (l3, st2) = (l2.clone(), st.clone());
        go(&s, async move {
            while !st2.load(Ordering::Relaxed) {
                let start = Instant::now();
                while !preempt_requested() {
                    std::hint::spin_loop();
                }
                l3.lock().push(start.elapsed());
                yield_now().await;
            }
        });
        while l2.lock().len() < 5 {
            yield_now().await;
        }
        st.store(true, Ordering::Relaxed);
    });
    assert_eq!(outcome, Outcome::Exited(0));
    let l = lengths.lock();
    let mut sorted = l.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    assert!(median >= Duration::from_millis(5) && median <= Duration::from_millis(200), "slices {l:?}");
}

// # Preemption on every wake path
// sysmon must preempt a spinning G however it got onto its P: each test below makes `procs` (or more) Gs
// runnable by one path and lets them spin, while main sleeps and then needs a P to return. Main gets one
// back only through preemption. A spinner that is never asked to yield gives up after `SPIN_LIMIT` and the
// program reports a host panic, so a regression fails in seconds instead of hanging.

const SPIN_LIMIT: Duration = Duration::from_secs(10);

/// Spin until `stop`, yielding whenever sysmon asks (as a wasm G's epoch callback does).
async fn spin_until(stop: Arc<AtomicBool>, preemptions: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        while !preempt_requested() {
            std::hint::spin_loop();
            assert!(start.elapsed() < SPIN_LIMIT, "a spinner was never asked to yield");
        }
        preemptions.fetch_add(1, Ordering::Relaxed);
        yield_now().await;
    }
}

/// Run a program whose main sets up `spinners` Gs with `setup` (each gets its index, the stop flag and
/// the preemption counter, and must end by spinning), sleeps 50 ms, and returns; assert it exits promptly
/// and that spinners were preempted.
fn spinners_let_main_finish<F, Fut>(procs: usize, spinners: usize, setup: F)
where
    F: Fn(Arc<gmp_sched::Sched>, usize, Arc<AtomicBool>, Arc<AtomicU64>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let pre = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (p2, st) = (pre.clone(), stop.clone());
    let t0 = Instant::now();
    let outcome = run(config(procs), move |s| async move {
        for i in 0..spinners {
            go(&s, setup(s.clone(), i, st.clone(), p2.clone()));
        }
        gmp_sched::sleep(Duration::from_millis(50)).await;
        st.store(true, Ordering::Relaxed);
    });
    assert_eq!(outcome, Outcome::Exited(0), "procs {procs}, {spinners} spinners");
    assert!(pre.load(Ordering::Relaxed) >= 1, "procs {procs}: no spinner was preempted");
    assert!(t0.elapsed() < Duration::from_secs(10), "procs {procs}: took {:?}", t0.elapsed());
}

/// The program: a G sleeps 20 ms, then spins. Its timer readies it into an idle P's `runnext`,
/// where it inherits that P's slice.
#[test]
fn a_g_woken_by_its_own_timer_is_preempted() {
    for procs in [1, 2] {
        spinners_let_main_finish(procs, procs, |_, _, stop, pre| async move {
            gmp_sched::sleep(Duration::from_millis(20)).await;
            spin_until(stop, pre).await;
        });
    }
}

/// Several timer-woken spinners at once, more than there are Ps.
#[test]
fn more_timer_woken_spinners_than_ps_are_all_preempted() {
    for procs in [1, 2] {
        spinners_let_main_finish(procs, procs + 2, |_, i, stop, pre| async move {
            gmp_sched::sleep(Duration::from_millis(10 + 5 * i as u64)).await;
            spin_until(stop, pre).await;
        });
    }
}

/// A G readied by a channel send from another G (into the sender's `runnext`), which then parks.
#[test]
fn a_g_woken_by_a_channel_send_is_preempted() {
    for procs in [1, 2] {
        spinners_let_main_finish(procs, procs, |s, _, stop, pre| async move {
            let ch = Arc::new(Chan::<u32>::new(0));
            let c2 = ch.clone();
            go(&s, async move {
                gmp_sched::sleep(Duration::from_millis(10)).await;
                c2.send(1).await.unwrap(); // readies the receiver into this P's runnext, then exits
            });
            assert_eq!(ch.recv().await, Ok(1));
            spin_until(stop, pre).await;
        });
    }
}

/// A G readied by the netpoller: a plain thread writes to its socket after 20 ms.
#[test]
fn a_g_woken_by_a_socket_is_preempted() {
    use std::io::{ErrorKind, Read, Write};
    for procs in [1, 2] {
        spinners_let_main_finish(procs, procs, |s, _, stop, pre| async move {
            let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            let writer = std::thread::spawn(move || {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                std::thread::sleep(Duration::from_millis(20));
                c.write_all(b"x").unwrap();
                c // kept open until joined
            });
            let pd = s.netpoll().register(&mut listener).unwrap();
            let (mut conn, _) = loop {
                let seq = pd.seq(gmp_sched::Dir::Read);
                match listener.accept() {
                    Ok(c) => break c,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        gmp_sched::io_wait(&s, &pd, gmp_sched::Dir::Read, seq).await
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            };
            let cpd = s.netpoll().register(&mut conn).unwrap();
            let mut b = [0u8; 1];
            loop {
                let seq = cpd.seq(gmp_sched::Dir::Read);
                match conn.read(&mut b) {
                    Ok(1) => break,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        gmp_sched::io_wait(&s, &cpd, gmp_sched::Dir::Read, seq).await
                    }
                    r => panic!("read: {r:?}"),
                }
            }
            let _peer = writer.join().unwrap();
            spin_until(stop, pre).await;
        });
    }
}

/// A G back from a blocking call long enough for sysmon to hand its P away: it continues on whatever P it
/// gets (a fresh slice), then spins.
#[test]
fn a_g_back_from_a_blocking_call_is_preempted() {
    for procs in [1, 2] {
        spinners_let_main_finish(procs, procs, |_, _, stop, pre| async move {
            gmp_sched::blocking(|| std::thread::sleep(Duration::from_millis(20)));
            spin_until(stop, pre).await;
        });
    }
}

/// A sleeper woken while spinners hold every P waits about a tick, not the rest of a spinner's slice (see
/// *Sleepers do not wait out whole slices* in sysmon.rs). With 200 ms slices, waiting for a slice to end
/// would make the median wake-up ~100 ms late; generous bound: 50.
#[test]
fn a_woken_sleeper_does_not_wait_out_a_spinners_slice() {
    for procs in [1, 2] {
        let late = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let (pre, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (l2, p2, st) = (late.clone(), pre.clone(), stop.clone());
        let cfg = gmp_sched::Config { timeslice: Duration::from_millis(200), ..config(procs) };
        let outcome = run(cfg, move |s| async move {
            for _ in 0..procs {
                go(&s, spin_until(st.clone(), p2.clone()));
            }
            for _ in 0..12 {
                let t = Instant::now();
                gmp_sched::sleep(Duration::from_millis(30)).await;
                l2.lock().push(t.elapsed().saturating_sub(Duration::from_millis(30)));
            }
            st.store(true, Ordering::Relaxed);
        });
        assert_eq!(outcome, Outcome::Exited(0));
        let mut late = late.lock().clone();
        late.sort();
        assert!(late[late.len() / 2] < Duration::from_millis(50), "procs {procs}: lateness {late:?}");
        assert!(pre.load(Ordering::Relaxed) >= 1, "procs {procs}: the spinners were never preempted");
    }
}
