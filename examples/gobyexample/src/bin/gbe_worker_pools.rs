//! Go by Example, *Worker Pools*: three worker Gs share one jobs channel and report on a results
//! channel; five jobs of 20 ms each get done in about two rounds, not five. Each worker prints `worker W
//! started job J` and `worker W finished job J` (which worker takes which job, and the interleaving,
//! vary from run to run); main then prints `results: 2 4 6 8 10` (each job's result, sorted).

use std::time::Duration;

use gmp::{Receiver, Sender};

fn worker((id, jobs, results): (u32, Receiver<u32>, Sender<u32>)) {
    for j in &jobs {
        println!("worker {id} started job {j}");
        gmp::time::sleep(Duration::from_millis(20));
        println!("worker {id} finished job {j}");
        results.send(j * 2);
    }
}

fn main() {
    const NUM_JOBS: usize = 5;
    let (jobs, jobs_rx) = gmp::chan::<u32>(NUM_JOBS);
    let (results_tx, results) = gmp::chan::<u32>(NUM_JOBS);

    for w in 1..=3 {
        gmp::go_with((w, jobs_rx.clone(), results_tx.clone()), worker);
    }

    for j in 1..=NUM_JOBS as u32 {
        jobs.send(j);
    }
    jobs.close();

    let mut got: Vec<u32> = results.iter().take(NUM_JOBS).collect();
    got.sort();
    let got: Vec<String> = got.iter().map(u32::to_string).collect();
    println!("results: {}", got.join(" "));
}
