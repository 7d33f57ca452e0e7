//! A worker pool for a host program: W worker Gs (first argument, default 4) take `Job`s from the host
//! channel "jobs" and answer each with a `JobResult` on the reply channel the job carries, until the host
//! closes "jobs"; then it prints `workers: W done`. The host defines the same two structs with
//! `wasm_gmp::message!` (host/examples/tokio_pool.rs is that host). A job with `n = 0` never ends: it
//! stands for a runaway computation, which only its host can stop.

gmp::message! {
    /// Sum the numbers 1 to `n`; answer on `reply`.
    pub struct Job {
        pub id: u64,
        pub n: u64,
        pub reply: gmp::Sender<JobResult>,
    }
}

gmp::message! {
    /// The answer to job `id`, and which worker G computed it.
    pub struct JobResult {
        pub id: u64,
        pub sum: u64,
        pub worker: u64,
    }
}

/// 1 + 2 + … + n, one addition at a time, as real work takes time; n = 0 spins forever.
fn work(n: u64) -> u64 {
    if n == 0 {
        // No call in the loop: only the runtime (preemption, then the host's kill or deadline) stops it.
        loop {
            std::hint::black_box(n);
        }
    }
    (1..=n).fold(0, |s, k| std::hint::black_box(s + k))
}

fn main() {
    let workers: u64 = std::env::args().nth(1).map_or(4, |a| a.parse().expect("W must be a number"));
    let (_, jobs) = gmp::host_chan::<Job>("jobs").expect("run by a host that hands us the channel \"jobs\"");
    let wg = gmp::WaitGroup::new();
    for _ in 0..workers {
        wg.add(1);
        let (jobs, wg) = (jobs.clone(), wg.clone());
        gmp::go!(jobs, wg => {
            for job in jobs.iter() {
                let sum = work(job.n);
                job.reply.send(JobResult { id: job.id, sum, worker: gmp::goid() });
            }
            wg.done();
        });
    }
    wg.wait();
    println!("workers: {workers} done");
}
