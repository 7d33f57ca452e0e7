//! Host channels with real programs: the host feeds a guest worker pool and collects its answers, blocking
//! and async; a cancelled receive loses nothing; a channel the host holds keeps its program from being
//! called deadlocked, and letting go of it lets the deadlock show.

use std::time::Duration;

use gmp_tests::program;
use wasm_gmp::{Capture, Chan, Config, ExitKind, Output, RunOptions, Runtime};

type Job = (u64, u64, Chan<u64>);

fn answer(id: u64, n: u64) -> u64 {
    id * 1_000_000 + n * (n + 1) / 2
}

fn start_workers(rt: &Runtime, jobs: &Chan<Job>, workers: usize) -> (wasm_gmp::RunHandle, Capture) {
    let out = Capture::new();
    let opts = RunOptions::default()
        .args(["host_worker.wasm".to_string(), workers.to_string()])
        .stdout(Output::Capture(out.clone()))
        .chan("jobs", jobs);
    (rt.start(&program("host_worker"), opts).unwrap(), out)
}

/// The host sends 200 jobs with a reply channel each (a host end travelling inside a message, arriving as
/// a guest `Sender`), from two threads, and checks every answer; closing "jobs" ends the workers.
#[test]
fn a_guest_worker_pool_answers_every_job_through_host_channels() {
    for procs in [1, 2] {
        let rt = Runtime::new(Config { procs, ..Config::default() }).unwrap();
        let jobs = rt.chan::<Job>(0);
        let (run, out) = start_workers(&rt, &jobs, 4);
        let feeders: Vec<_> = (0..2u64)
            .map(|t| {
                let (jobs, replies) = (jobs.clone(), rt.chan::<u64>(1));
                std::thread::spawn(move || {
                    for i in 0..100u64 {
                        let id = t * 100 + i;
                        jobs.send_blocking((id, id % 50 + 1, replies.clone())).unwrap();
                        assert_eq!(replies.recv_blocking().unwrap(), answer(id, id % 50 + 1));
                    }
                })
            })
            .collect();
        for f in feeders {
            f.join().unwrap();
        }
        assert!(jobs.close());
        let exit = run.wait();
        assert_eq!(exit.kind, ExitKind::Returned, "{exit:?}");
        assert_eq!(out.contents(), "workers: 4 done\n");
    }
}

/// The same from async code on tokio's current-thread executor: many jobs in flight at once, each answered.
#[test]
fn async_host_code_talks_to_guests_without_blocking_its_executor() {
    let rt = Runtime::new(Config { procs: 2, ..Config::default() }).unwrap();
    let jobs = rt.chan::<Job>(0);
    let (run, _) = start_workers(&rt, &jobs, 8);
    let tokio = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let answers = tokio.block_on(async {
        let mut tasks = Vec::new();
        for id in 0..64u64 {
            let (jobs, reply) = (jobs.clone(), rt.chan::<u64>(0));
            tasks.push(tokio::spawn(async move {
                jobs.send((id, 1000, reply.clone())).await.unwrap();
                (id, reply.recv().await.unwrap())
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        answers
    });
    for (id, a) in answers {
        assert_eq!(a, answer(id, 1000));
    }
    jobs.close();
    assert_eq!(run.wait().kind, ExitKind::Returned);
}

/// A receive abandoned while its value is on the way (a timeout) loses nothing: the next receive gets it.
#[test]
fn a_cancelled_receive_loses_no_message() {
    let rt = Runtime::new(Config { procs: 2, ..Config::default() }).unwrap();
    let jobs = rt.chan::<Job>(0);
    let (run, _) = start_workers(&rt, &jobs, 1);
    let tokio = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    tokio.block_on(async {
        let reply = rt.chan::<u64>(0);
        for id in 0..5u64 {
            // A job long enough that the first receives time out while the proxy waits for the answer.
            jobs.send((id, 3_000_000, reply.clone())).await.unwrap();
            let mut timeouts = 0;
            let got = loop {
                match tokio::time::timeout(Duration::from_micros(300), reply.recv()).await {
                    Ok(r) => break r.unwrap(),
                    Err(_) => timeouts += 1,
                }
            };
            assert_eq!(got, answer(id, 3_000_000), "after {timeouts} cancelled receives");
        }
    });
    jobs.close();
    assert_eq!(run.wait().kind, ExitKind::Returned);
}

/// While the host holds "jobs", workers waiting on it are not deadlocked; once the host drops its last end
/// without closing it, nothing can ever send, and the deadlock is reported.
#[test]
fn a_held_host_channel_keeps_waiting_gs_alive_until_the_host_lets_go() {
    let rt = Runtime::new(Config { procs: 1, ..Config::default() }).unwrap();
    let jobs = rt.chan::<Job>(0);
    let (run, _) = start_workers(&rt, &jobs, 3);
    assert!(run.wait_timeout(Duration::from_millis(300)).is_none(), "ended while the host held its channel");
    drop(jobs);
    let exit = run.wait_timeout(Duration::from_secs(30)).expect("no deadlock reported after the host let go");
    assert_eq!(exit.kind, ExitKind::Deadlock, "{exit:?}");
}

/// A runaway job is stopped by killing its run, and the host goes on with its channels.
#[test]
fn killing_a_run_with_a_runaway_job_frees_the_host() {
    let rt = Runtime::new(Config { procs: 1, ..Config::default() }).unwrap();
    let jobs = rt.chan::<Job>(0);
    let (run, _) = start_workers(&rt, &jobs, 1);
    let reply = rt.chan::<u64>(0);
    jobs.send_blocking((1, 0, reply.clone())).unwrap(); // n = 0: spins forever
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(reply.try_recv(), Err(wasm_gmp::TryRecvError::Empty));
    run.kill();
    assert_eq!(run.wait().kind, ExitKind::Killed);
    reply.close();
    assert!(reply.recv_blocking().is_err());
}

/// `#[derive(wasm_gmp::Message)]` works in a host program that depends on `wasm-gmp` alone (the derive finds
/// the format through `wasm_gmp::message`), writing what a guest's `#[derive(gmp::Message)]` reads.
#[test]
fn the_derive_works_on_the_host() {
    #[derive(Debug, PartialEq, wasm_gmp::Message)]
    enum Command {
        Stop,
        Resize { w: u32, h: u32 },
        Say(String),
    }
    for c in [Command::Stop, Command::Resize { w: 3, h: 4 }, Command::Say("hi".into())] {
        let enc = wasm_gmp::message::encode(&c);
        assert_eq!(wasm_gmp::message::decode::<Command>(enc.bytes(), enc.handles()), Ok(c));
    }
    let enc = wasm_gmp::message::encode(&Command::Resize { w: 1, h: 2 });
    assert_eq!(enc.bytes(), [1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], "variant index, then the fields");
}
