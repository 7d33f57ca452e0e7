//! Workers fed by the host: N Gs (first argument, default 4) take jobs `(id, n, reply)` from the host channel
//! "jobs" and answer `id * 1_000_000 + (1 + 2 + … + n)` on the job's own reply channel, until "jobs" is
//! closed. A job with n = 0 spins forever (a runaway for the host to kill). Prints `workers: N done`.

fn main() {
    let n: usize = std::env::args().nth(1).map_or(4, |a| a.parse().expect("N must be a number"));
    let (_, jobs) = gmp::host_chan::<(u64, u64, gmp::Sender<u64>)>("jobs").expect("no host channel \"jobs\"");
    let wg = gmp::WaitGroup::new();
    for _ in 0..n {
        wg.add(1);
        let (jobs, wg) = (jobs.clone(), wg.clone());
        gmp::go!(jobs, wg => {
            for (id, n, reply) in jobs.iter() {
                if n == 0 {
                    loop {
                        std::hint::black_box(id);
                    }
                }
                // A loop the optimizer cannot fold: big jobs take a while, as real work does.
                let sum = (1..=n).fold(0u64, |s, k| std::hint::black_box(s + k));
                reply.send(id * 1_000_000 + sum);
            }
            wg.done();
        });
    }
    wg.wait();
    println!("workers: {n} done");
}
