//! Go by Example, *Closing Channels*: main sends three jobs and closes the channel; the worker receives
//! until the receive reports it closed (`j, more := <-jobs`, here `None`), then signals `done`. Prints
//! `sent job 1..3` and `sent all jobs` (main's lines, in order) interleaved with `received job 1..3` and
//! `received all jobs` (the worker's, in order), then `received more jobs: false`.

fn main() {
    let (jobs, jobs_rx) = gmp::chan::<u32>(5);
    let (done, finished) = gmp::chan::<bool>(0);

    {
        // Main reads the channel again at the end, so the worker gets a second receiver of its own.
        let jobs_rx = jobs_rx.clone();
        gmp::go!(jobs_rx, done => loop {
            match jobs_rx.recv() {
                Some(j) => println!("received job {j}"),
                None => {
                    println!("received all jobs");
                    done.send(true);
                    return;
                }
            }
        });
    }

    for j in 1..=3 {
        jobs.send(j);
        println!("sent job {j}");
    }
    jobs.close();
    println!("sent all jobs");

    finished.recv();

    // A closed, drained channel answers "closed" at once, however often it is asked.
    let more = jobs_rx.recv().is_some();
    println!("received more jobs: {more}");
}
