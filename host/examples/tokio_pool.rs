//! A tokio service with a guest worker pool: the service hands the program `examples/jobs` (W worker Gs) a
//! host channel "jobs", sends it `Job`s from tokio tasks and awaits each `JobResult` on the job's own reply
//! channel, all concurrently. One job is a runaway (the guest spins on it forever): the service, told the
//! job is untrusted, runs it in a separate run of the same program with a deadline, so the pool never loses
//! a worker to it, and reports it as timed out when the deadline ends that run. Prints a line per job and a
//! summary; exits with status 0 when every normal job got the right answer and the runaway was stopped.
//!
//! Run it from the workspace root once the guests are built (`cargo test` builds them, or
//! `cargo build --release --target wasm32-wasip1 --target-dir target/wasm -p jobs`):
//!
//! ```sh
//! cargo run -p wasm-gmp --example tokio_pool [-- path/to/jobs.wasm]
//! ```
//!
//! The path defaults to this workspace's `target/wasm/wasm32-wasip1/release/jobs.wasm`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasm_gmp::{Capture, Chan, Config, Exit, Output, Program, RunOptions, Runtime};

// The guest's two structs, field for field: both sides encode them in the guest SDK's message format. A
// `Chan` here is a `gmp::Sender` there.
wasm_gmp::message! {
    /// Sum the numbers 1 to `n` (0: spin forever); answer on `reply`.
    #[derive(Debug)]
    struct Job {
        id: u64,
        n: u64,
        reply: Chan<JobResult>,
    }
}

wasm_gmp::message! {
    /// The answer to job `id`, and which worker G computed it.
    #[derive(Debug)]
    struct JobResult {
        id: u64,
        sum: u64,
        worker: u64,
    }
}

/// Worker Gs in the pool.
const WORKERS: usize = 4;

/// How long an untrusted job may run: ample for any honest job here (the largest takes a few ms).
const UNTRUSTED_BUDGET: Duration = Duration::from_millis(300);

/// How a job ended.
enum Outcome {
    Answered(JobResult),
    /// Its run ended before it answered: the deadline, or any other ending (`Exit` says which).
    Stopped(Exit, Duration),
}

/// The service: one runtime, the compiled worker program, and the pool's job queue.
struct Service {
    rt: Runtime,
    program: Program,
    jobs: Chan<Job>,
}

impl Service {
    /// A trusted job goes to the shared pool.
    async fn pooled(&self, id: u64, n: u64) -> Outcome {
        let reply = self.rt.chan::<JobResult>(1);
        self.jobs.send(Job { id, n, reply: reply.clone() }).await.expect("the pool's queue is open");
        Outcome::Answered(reply.recv().await.expect("a worker answers every job"))
    }

    /// An untrusted job gets a run of its own (one worker) with a deadline: when it never answers, ending
    /// that run stops it without touching the pool. (`RunHandle::kill` after a `tokio::time::timeout`
    /// would do the same.)
    async fn isolated(&self, id: u64, n: u64) -> Outcome {
        let (jobs, reply) = (self.rt.chan::<Job>(1), self.rt.chan::<JobResult>(1));
        let opts = RunOptions::default()
            .args(["jobs.wasm", "1"])
            .stdout(Output::Null)
            .chan("jobs", &jobs)
            .deadline(UNTRUSTED_BUDGET);
        let t0 = Instant::now();
        let mut run = self.rt.start(&self.program, opts).expect("the runtime starts the job's run");
        jobs.send(Job { id, n, reply: reply.clone() }).await.expect("the job's queue is open");
        tokio::select! {
            answer = reply.recv() => {
                jobs.close(); // the worker ends, and its run with it
                run.await;
                Outcome::Answered(answer.expect("a worker answers its job"))
            }
            exit = &mut run => Outcome::Stopped(exit, t0.elapsed()),
        }
    }
}

/// 1 + 2 + … + n.
fn expected(n: u64) -> u64 {
    n * (n + 1) / 2
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/wasm/wasm32-wasip1/release/jobs.wasm").to_string()
    });
    let rt = Runtime::new(Config { procs: 2, ..Config::default() })?;
    // Compiling takes a while and blocks: here, before the service takes requests.
    let program = rt.load(&path).map_err(|e| e.context(format!("cannot load the worker program {path}")))?;
    let jobs = rt.chan::<Job>(0);
    let pool_out = Capture::new();
    let pool = rt.start(
        &program,
        RunOptions::default()
            .args(["jobs.wasm".to_string(), WORKERS.to_string()])
            .stdout(Output::Capture(pool_out.clone()))
            .chan("jobs", &jobs),
    )?;
    let service = Arc::new(Service { rt, program, jobs });

    // (id, n, trusted): eight honest jobs and one runaway (n = 0), all submitted at once.
    let requests: Vec<(u64, u64, bool)> = (1..=8).map(|id| (id, id * 100_000, true)).chain([(9, 0, false)]).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (id, n, trusted) in requests {
        let service = service.clone();
        tasks.spawn(async move {
            let outcome = if trusted { service.pooled(id, n).await } else { service.isolated(id, n).await };
            (id, n, outcome)
        });
    }
    let mut outcomes = tasks.join_all().await;
    outcomes.sort_by_key(|(id, _, _)| *id);

    let (mut right, mut wrong, mut stopped) = (0, 0, 0);
    for (id, n, outcome) in &outcomes {
        match outcome {
            Outcome::Answered(r) if *n != 0 && r.id == *id && r.sum == expected(*n) => {
                right += 1;
                println!("job {id}: n = {n}: {} (worker G {})", r.sum, r.worker);
            }
            Outcome::Answered(r) => {
                wrong += 1;
                println!("job {id}: n = {n}: WRONG ANSWER {r:?}");
            }
            Outcome::Stopped(exit, took) if *n == 0 => {
                stopped += 1;
                println!(
                    "job {id}: timed out, its run stopped after {} ms ({:?}, status {})",
                    took.as_millis(),
                    exit.kind,
                    exit.code
                );
            }
            Outcome::Stopped(exit, _) => {
                wrong += 1;
                println!("job {id}: n = {n}: STOPPED {exit:?}");
            }
        }
    }

    // Closing the queue ends the workers, and the pool's run with them.
    service.jobs.close();
    let exit = pool.await;
    println!("pool: {:?}, {}", exit.kind, pool_out.contents().trim_end());
    println!("summary: {right} jobs answered correctly, {wrong} wrong, {stopped} runaway stopped");
    Ok(if right == 8 && wrong == 0 && stopped == 1 && exit.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
