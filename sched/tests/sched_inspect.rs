//! Inspection polls (`inspect.rs`): a parked G shows its state without being woken, a wake-up that races
//! with an inspection is neither lost nor doubled, and a deadlocked group's report carries what each G
//! said about itself.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use common::{config, go, run};
use gmp_sched::{Chan, GStatus, Inspection, Outcome, Sched, WaitReason, inspected, inspecting, park_inspectable};

/// What the wasm side does around a blocking call: answer an inspection with `what`, never touching the
/// wait; mark the G inspectable each time the wait parks it.
async fn answering<F: Future>(what: String, holds: Vec<u64>, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| {
        if inspecting() {
            inspected(Inspection { stack: what.clone(), holds: holds.clone(), waits_on: vec![] });
            return Poll::Pending;
        }
        let r = fut.as_mut().poll(cx);
        if r.is_pending() {
            park_inspectable();
        }
        r
    })
    .await
}

/// Wait until the G `id` of `s` is parked.
fn until_parked(s: &Sched, id: u64) {
    for _ in 0..5000 {
        if s.dump().iter().any(|d| d.id == id && d.status == GStatus::Waiting) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("G {id} never parked: {:?}", s.dump());
}

#[test]
fn a_parked_g_answers_and_stays_parked_and_then_receives() {
    for procs in [1, 2] {
        let outcome = run(config(procs), move |s| async move {
            let ch = Arc::new(Chan::<u64>::new(0));
            let got = Arc::new(AtomicU64::new(0));
            let (c2, g2) = (ch.clone(), got.clone());
            let id = go(&s, async move {
                let v = answering("in the receiver".into(), vec![c2.id()], c2.recv()).await.unwrap();
                g2.store(v, Ordering::SeqCst);
            });
            // Inspect from a plain thread, as an embedder does, while this G waits on the outcome.
            let (s2, ch_id) = (s.clone(), ch.id());
            let dumped = std::thread::spawn(move || {
                until_parked(&s2, id);
                let d = s2.dump_inspected().into_iter().find(|d| d.id == id).unwrap();
                assert_eq!((d.status, d.reason, d.obj), (GStatus::Waiting, WaitReason::ChanReceive, ch_id));
                assert_eq!(d.created_by, 1, "spawned by the main G");
                d.inspection
            });
            while !dumped.is_finished() {
                gmp_sched::yield_now().await;
            }
            let found = dumped.join().unwrap();
            assert_eq!(
                found,
                Some(Inspection { stack: "in the receiver".into(), holds: vec![ch.id()], waits_on: vec![] })
            );
            // Still parked on the channel: the send completes the very receive that was inspected.
            ch.send(42).await.unwrap();
            while got.load(Ordering::SeqCst) == 0 {
                gmp_sched::yield_now().await;
            }
            assert_eq!(got.load(Ordering::SeqCst), 42);
        });
        assert_eq!(outcome, Outcome::Exited(0), "at {procs} Ps");
    }
}

/// ...even right after it parked in one that can: the mark does not outlive the wait that set it.
#[test]
fn a_g_parked_in_a_future_that_cannot_answer_is_not_polled() {
    let outcome = run(config(1), move |s| async move {
        let ch = Arc::new(Chan::<u8>::new(0));
        let c2 = ch.clone();
        let id = go(&s, async move {
            answering("first wait".into(), vec![], c2.recv()).await.unwrap();
            c2.recv().await.unwrap();
        });
        ch.send(0).await.unwrap();
        let s2 = s.clone();
        let t = std::thread::spawn(move || {
            until_parked(&s2, id);
            s2.dump_inspected().into_iter().find(|d| d.id == id).unwrap()
        });
        while !t.is_finished() {
            gmp_sched::yield_now().await;
        }
        let d = t.join().unwrap();
        assert_eq!((d.status, d.inspection), (GStatus::Waiting, None));
        ch.send(1).await.unwrap();
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// Two Gs pass a counter back and forth 20,000 times through inspectable waits while a thread inspects
/// them as fast as it can: every message arrives exactly once, in order, and the program ends.
#[test]
fn inspections_racing_a_ping_pong_lose_and_double_nothing() {
    for procs in [1, 2] {
        const ROUNDS: u64 = 20_000;
        let outcome = run(config(procs), move |s| async move {
            let (ping, pong) = (Arc::new(Chan::<u64>::new(0)), Arc::new(Chan::<u64>::new(0)));
            let (pi, po) = (ping.clone(), pong.clone());
            go(&s, async move {
                loop {
                    let v = answering("pong".into(), vec![], pi.recv()).await.unwrap();
                    answering("pong".into(), vec![], po.send(v + 1)).await.unwrap();
                    if v + 1 >= ROUNDS {
                        break;
                    }
                }
            });
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (s2, st) = (s.clone(), stop.clone());
            let inspector = std::thread::spawn(move || {
                let mut seen = 0u64;
                while !st.load(Ordering::SeqCst) {
                    seen += s2.dump_inspected().iter().filter(|d| d.inspection.is_some()).count() as u64;
                }
                seen
            });
            let mut v = 0;
            while v < ROUNDS {
                answering("ping".into(), vec![], ping.send(v)).await.unwrap();
                let back = answering("ping".into(), vec![], pong.recv()).await.unwrap();
                assert_eq!(back, v + 1, "a message was lost or doubled");
                v = back;
            }
            stop.store(true, Ordering::SeqCst);
            while !inspector.is_finished() {
                gmp_sched::yield_now().await;
            }
            let seen = inspector.join().unwrap();
            assert!(seen > 0, "the inspector never caught a parked G");
        });
        assert_eq!(outcome, Outcome::Exited(0), "at {procs} Ps");
    }
}

#[test]
fn a_deadlocked_groups_report_carries_each_gs_answer() {
    for procs in [1, 2] {
        let s = Sched::start(gmp_sched::Config { checkdead: false, ..config(procs) }, gmp_sched::Hooks::default());
        let g = s.new_group();
        let (a, b) = (Arc::new(Chan::<u8>::new(0)), Arc::new(Chan::<u8>::new(0)));
        let (a_id, b_id) = (a.id(), b.id());
        let s2 = s.clone();
        let first = s
            .spawn_in(&g, move |_| {
                Box::pin(async move {
                    let (a2, b2) = (a.clone(), b.clone());
                    s2.spawn(move |_| {
                        Box::pin(async move {
                            let holds = vec![a2.id(), b2.id()];
                            answering("second".into(), holds, a2.send(1)).await.unwrap();
                        })
                    });
                    let holds = vec![a.id(), b.id()];
                    answering("first".into(), holds, b.recv()).await.unwrap();
                })
            })
            .unwrap();
        let outcome = g.wait_timeout(Duration::from_secs(30)).expect("the group did not end");
        let Outcome::Deadlock(gs) = outcome else { panic!("expected a deadlock at {procs} Ps, got {outcome:?}") };
        let said: Vec<_> =
            gs.iter().map(|d| (d.id, d.reason, d.obj, d.inspection.clone().map(|i| (i.stack, i.holds)))).collect();
        assert_eq!(
            said,
            vec![
                (first, WaitReason::ChanReceive, b_id, Some(("first".into(), vec![a_id, b_id]))),
                (first + 1, WaitReason::ChanSend, a_id, Some(("second".into(), vec![a_id, b_id]))),
            ],
            "at {procs} Ps"
        );
        s.exit(0);
        s.shutdown();
    }
}

/// Two dumpers at once over Gs that stay parked the whole time: every dump shows every one of them waiting
/// and answering, never "running" because the other dumper held it at the moment its status was read (the
/// race the scheduler fuzzer once caught as a deadlock report with a runnable G in it).
#[test]
fn concurrent_dumps_see_each_parked_g_parked() {
    const GS: u64 = 8;
    let outcome = run(config(2), move |s| async move {
        let ch = Arc::new(Chan::<u8>::new(0));
        let mut ids = vec![];
        for _ in 0..GS {
            let c = ch.clone();
            ids.push(go(&s, async move {
                answering("parked".into(), vec![], c.recv()).await.unwrap();
            }));
        }
        for &id in &ids {
            until_parked(&s, id);
        }
        let dumper = |s: Arc<Sched>, ids: Vec<u64>| {
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    let dump = s.dump_inspected();
                    for &id in &ids {
                        let d = dump.iter().find(|d| d.id == id).unwrap();
                        assert_eq!((d.status, d.reason), (GStatus::Waiting, WaitReason::ChanReceive), "G {id}");
                        assert!(d.inspection.is_some(), "G {id} was not inspected");
                    }
                }
            })
        };
        let dumpers = [dumper(s.clone(), ids.clone()), dumper(s.clone(), ids.clone())];
        while dumpers.iter().any(|d| !d.is_finished()) {
            gmp_sched::yield_now().await;
        }
        for d in dumpers {
            d.join().unwrap();
        }
        for _ in 0..GS {
            ch.send(0).await.unwrap();
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
}
