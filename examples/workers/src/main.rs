//! Fan-out/fan-in: N jobs (first argument, default 1000) go to W worker Gs (second argument, default 8) over
//! one channel, and their results come back over another. Prints a checksum that does not depend on which
//! worker did what: `checksum: 332833500` then `jobs: 1000` for the defaults.

/// The "work": anything deterministic will do.
fn work(job: u64) -> u64 {
    job * job % 1_000_003
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("arguments must be numbers"));
    let jobs = args.next().unwrap_or(1000);
    let workers = args.next().unwrap_or(8);

    let (job_tx, job_rx) = gmp::chan::<u64>(0);
    let (result_tx, result_rx) = gmp::chan::<u64>(0);
    for _ in 0..workers {
        let (job_rx, result_tx) = (job_rx.clone(), result_tx.clone());
        gmp::go!(job_rx, result_tx => {
            for job in &job_rx {
                result_tx.send(work(job));
            }
        });
    }
    // A separate feeder, so main can collect results while jobs are still going out.
    gmp::go!(job_tx, jobs => {
        for job in 0..jobs {
            job_tx.send(job);
        }
        job_tx.close();
    });

    let checksum: u64 = result_rx.iter().take(jobs as usize).sum();
    assert_eq!(checksum, (0..jobs).map(work).sum::<u64>());
    println!("checksum: {checksum}");
    println!("jobs: {jobs}");
}
