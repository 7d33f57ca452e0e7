//! Groups: several programs on one scheduler, each ending, deadlocking and being killed on its own.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gmp_sched::{Action, Chan, Config, GDump, Group, Hooks, Outcome, Sched, WaitReason, sleep, yield_now};

/// A scheduler running groups: the scheduler-wide deadlock check is off, as an embedder sets it.
fn sched(procs: usize) -> Arc<Sched> {
    Sched::start(Config { procs, checkdead: false, ..Config::default() }, Hooks::default())
}

fn stop(s: &Arc<Sched>) {
    s.exit(0);
    s.shutdown();
}

fn wait(g: &Group) -> Outcome {
    g.wait_timeout(Duration::from_secs(30)).unwrap_or_else(|| panic!("group did not end in 30 s: {}", g.internals()))
}

/// Sets its flag when dropped: shows that a G's future (and what it holds) was released.
struct Dropped(Arc<AtomicBool>);
impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// One program deadlocks while another keeps running: the first is reported with its own Gs only, the
/// second is untouched and ends as it chooses.
#[test]
fn a_deadlock_is_reported_per_group_while_another_group_runs() {
    for procs in [1, 2] {
        let s = sched(procs);
        let busy = s.new_group();
        let stop_busy = Arc::new(AtomicBool::new(false));
        let sb = stop_busy.clone();
        let b2 = busy.clone();
        s.spawn_in(&busy, move |_| {
            Box::pin(async move {
                while !sb.load(Ordering::SeqCst) {
                    yield_now().await;
                }
                b2.exit(7);
            })
        })
        .unwrap();

        let stuck = s.new_group();
        let a = Arc::new(Chan::<u8>::new(0));
        let b = Arc::new(Chan::<u8>::new(0));
        let (a_id, b_id) = (a.id(), b.id());
        let s2 = s.clone();
        let first = s
            .spawn_in(&stuck, move |_| {
                Box::pin(async move {
                    let a2 = a.clone();
                    s2.spawn(move |_| Box::pin(async move { a2.send(1).await.unwrap() }));
                    let _ = b.recv().await;
                    drop(a);
                })
            })
            .unwrap();
        match wait(&stuck) {
            Outcome::Deadlock(gs) => assert_eq!(
                gs,
                vec![
                    GDump::waiting_on(first, WaitReason::ChanReceive, b_id),
                    GDump::waiting_on(first + 1, WaitReason::ChanSend, a_id),
                ],
                "at {procs} Ps"
            ),
            o => panic!("expected a deadlock at {procs} Ps, got {o:?}"),
        }
        assert_eq!(stuck.live(), 0, "a deadlocked group's Gs are dropped");
        assert!(!busy.is_exiting(), "the other group was ended too");
        stop_busy.store(true, Ordering::SeqCst);
        assert_eq!(wait(&busy), Outcome::Exited(7));
        stop(&s);
    }
}

/// Ending a group from outside drops its parked Gs at once, releasing what they hold, and a G that
/// checks `exiting` (as the wasm side's epoch hook does) stops at its next check.
#[test]
fn exit_from_outside_drops_parked_gs_and_stops_running_ones() {
    for procs in [1, 2] {
        let s = sched(procs);
        let g = s.new_group();
        let released = Arc::new(AtomicBool::new(false));
        let spinning = Arc::new(AtomicBool::new(false));
        let (r2, sp2, s2) = (released.clone(), spinning.clone(), s.clone());
        s.spawn_in(&g, move |_| {
            Box::pin(async move {
                let sp3 = sp2.clone();
                s2.spawn(move |_| {
                    Box::pin(async move {
                        sp3.store(true, Ordering::SeqCst);
                        // A tight loop that only looks at its safe point.
                        while !gmp_sched::exiting() {
                            std::hint::spin_loop();
                        }
                    })
                });
                let _guard = Dropped(r2);
                let never = Chan::<u8>::new(0);
                let _ = never.recv().await;
            })
        })
        .unwrap();
        let t0 = Instant::now();
        while !spinning.load(Ordering::SeqCst) {
            assert!(t0.elapsed() < Duration::from_secs(10), "spinner never started");
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(20));
        g.finish(Outcome::Exited(9));
        assert!(released.load(Ordering::SeqCst), "the parked G was not dropped by the call that ended its group");
        assert_eq!(wait(&g), Outcome::Exited(9));
        assert_eq!(g.live(), 0);
        assert!(s.spawn_in(&g, |_| Box::pin(async {})).is_none(), "an ended group took a new G");
        stop(&s);
    }
}

/// A pending timer armed by one of the group's Gs is a wake-up source: a G waiting for the channel the
/// timer feeds is not deadlocked. Once it waits with no timer left, it is.
#[test]
fn a_pending_timer_keeps_a_group_alive_and_its_end_lets_the_deadlock_show() {
    let s = sched(2);
    let g = s.new_group();
    let got = Arc::new(AtomicUsize::new(0));
    let (got2, s2) = (got.clone(), s.clone());
    s.spawn_in(&g, move |_| {
        Box::pin(async move {
            let c = Arc::new(Chan::<u8>::new(1));
            for _ in 0..3 {
                let c2 = c.clone();
                let when = s2.now() + 20_000_000;
                s2.add_timer(when, None, Action::Call(Box::new(move || c2.try_send(1).is_ok())));
                c.recv().await.unwrap();
                got2.fetch_add(1, Ordering::SeqCst);
            }
            let _ = c.recv().await; // no timer left: a deadlock
        })
    })
    .unwrap();
    match wait(&g) {
        Outcome::Deadlock(gs) => assert_eq!(gs.len(), 1),
        o => panic!("expected a deadlock, got {o:?}"),
    }
    assert_eq!(got.load(Ordering::SeqCst), 3, "a pending timer was taken for a deadlock");
    stop(&s);
}

/// An embedder's hold keeps a group alive; dropping the last one lets its deadlock show.
#[test]
fn a_group_hold_keeps_deadlock_away_until_dropped() {
    let s = sched(1);
    let g = s.new_group();
    let hold = g.hold();
    s.spawn_in(&g, |_| {
        Box::pin(async {
            let c = Chan::<u8>::new(0);
            let _ = c.recv().await;
        })
    })
    .unwrap();
    assert_eq!(g.wait_timeout(Duration::from_millis(200)), None, "deadlock reported while a hold lived");
    drop(hold);
    assert!(matches!(wait(&g), Outcome::Deadlock(_)));
    stop(&s);
}

/// Many programs at once, each a ring of Gs passing a token, some with sleeps (timers) in the ring:
/// programs built to finish end with their code, programs built to stall (the last hop waits for a token
/// that never comes) are reported deadlocked, each with all of its Gs and none of another's. Every token
/// sent is received exactly once (the checksum).
#[test]
fn many_groups_each_end_their_own_way() {
    for procs in [1, 2, 4] {
        let s = sched(procs);
        let mut groups = Vec::new();
        let sum = Arc::new(AtomicUsize::new(0));
        for k in 0..24usize {
            let g = s.new_group();
            let stall = k % 3 == 0;
            let ring = 2 + k % 5;
            let laps = 1 + k % 4;
            let timers = k % 2 == 1;
            let (s2, g2, sum2) = (s.clone(), g.clone(), sum.clone());
            s.spawn_in(&g, move |_| {
                Box::pin(async move {
                    let chans: Vec<Arc<Chan<usize>>> = (0..=ring).map(|_| Arc::new(Chan::new(0))).collect();
                    for i in 0..ring {
                        let (inp, out, sum3) = (chans[i].clone(), chans[i + 1].clone(), sum2.clone());
                        s2.spawn(move |_| {
                            Box::pin(async move {
                                while let Ok(v) = inp.recv().await {
                                    sum3.fetch_add(v, Ordering::SeqCst);
                                    if timers {
                                        sleep(Duration::from_micros(200)).await;
                                    }
                                    if out.send(v).await.is_err() {
                                        return;
                                    }
                                }
                            })
                        });
                    }
                    for lap in 0..laps {
                        chans[0].send(lap + 1).await.unwrap();
                        chans[ring].recv().await.unwrap();
                    }
                    if stall {
                        let _ = chans[ring].recv().await; // nobody sends: every G of the ring waits too
                    }
                    g2.exit(k as i32);
                })
            })
            .unwrap();
            groups.push((g, stall, ring, laps));
        }
        let mut expect_sum = 0;
        for (k, (g, stall, ring, laps)) in groups.iter().enumerate() {
            expect_sum += ring * laps * (laps + 1) / 2;
            match wait(g) {
                Outcome::Deadlock(gs) if *stall => {
                    assert_eq!(gs.len(), ring + 1, "program {k} at {procs} Ps: {gs:?}")
                }
                Outcome::Exited(code) if !stall => assert_eq!(code, k as i32),
                o => panic!("program {k} (stall: {stall}) at {procs} Ps ended with {o:?}"),
            }
            assert_eq!(g.live(), 0, "program {k}: Gs left");
        }
        assert_eq!(sum.load(Ordering::SeqCst), expect_sum, "a token was lost or delivered twice at {procs} Ps");
        assert_eq!(s.live(), 0);
        stop(&s);
    }
}

/// The group's wait as a future: it completes from whatever thread ends the group, without blocking the
/// thread that polls it.
#[test]
fn poll_wait_wakes_the_waiting_task() {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let s = sched(1);
    let g = s.new_group();
    let g2 = g.clone();
    s.spawn_in(&g, move |_| {
        Box::pin(async move {
            sleep(Duration::from_millis(30)).await;
            g2.exit(4);
        })
    })
    .unwrap();
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let t0 = Instant::now();
    let outcome = loop {
        if let Poll::Ready(o) = g.poll_wait(&mut cx) {
            break o;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "never woken");
        std::thread::park_timeout(Duration::from_secs(1));
    };
    assert_eq!(outcome, Outcome::Exited(4));
    stop(&s);
}

/// The default group takes Gs from outside for the scheduler's whole life: running out of Gs does not end
/// it (the embedder's host channels spawn their helper Gs there, one after another).
#[test]
fn the_default_group_outlives_running_out_of_gs() {
    let s = sched(1);
    for round in 0..3 {
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        s.spawn(move |_| Box::pin(async move { d2.store(true, Ordering::SeqCst) }));
        let t0 = Instant::now();
        while !done.load(Ordering::SeqCst) {
            assert!(t0.elapsed() < Duration::from_secs(10), "round {round}: the G never ran");
            std::thread::sleep(Duration::from_millis(1));
        }
        while s.default_group().live() > 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!s.default_group().is_exiting(), "round {round}: the default group ended");
    }
    stop(&s);
}

/// CPU time is counted per group: a spinner's group shows its time, a sleeper's shows next to none.
#[test]
fn cpu_time_is_counted_per_group() {
    let s = sched(2);
    let spin = s.new_group();
    let idle = s.new_group();
    let (sp, id) = (spin.clone(), idle.clone());
    s.spawn_in(&spin, move |_| {
        Box::pin(async move {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_millis(100) {
                std::hint::spin_loop();
            }
            sp.exit(0);
        })
    })
    .unwrap();
    s.spawn_in(&idle, move |_| {
        Box::pin(async move {
            sleep(Duration::from_millis(100)).await;
            id.exit(0);
        })
    })
    .unwrap();
    wait(&spin);
    wait(&idle);
    assert!(spin.cpu_time() >= Duration::from_millis(90), "{:?}", spin.cpu_time());
    assert!(idle.cpu_time() < Duration::from_millis(20), "{:?}", idle.cpu_time());
    stop(&s);
}

/// Time a G spends parked is not CPU time, however its M waited meanwhile (parked, in the poller, spinning):
/// a group whose G sleeps 10 × 10 ms, alone on the scheduler, shows far less than the 100 ms it waited.
#[test]
fn waiting_is_not_cpu_time() {
    for procs in [1, 2] {
        let s = sched(procs);
        let g = s.new_group();
        let g2 = g.clone();
        s.spawn_in(&g, move |_| {
            Box::pin(async move {
                for _ in 0..10 {
                    sleep(Duration::from_millis(10)).await;
                }
                g2.exit(0);
            })
        })
        .unwrap();
        wait(&g);
        // Waiting charged would be 100 ms; 50 leaves room for an M descheduled mid-poll on a loaded box.
        assert!(g.cpu_time() < Duration::from_millis(50), "{procs} Ps: {:?}", g.cpu_time());
        stop(&s);
    }
}
