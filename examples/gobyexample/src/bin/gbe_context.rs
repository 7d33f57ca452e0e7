//! Go by Example, *Context*: work that stops when its `context.Context` is done, watched with
//! `ctx.done()` in a `select!` next to the work itself. Go's chapter has an HTTP handler give up when the
//! client goes away; here the handler is a G and the client's patience is a `with_timeout` deadline.
//!
//! 1. A worker G squares numbers from a jobs channel until main cancels its context (`with_cancel`):
//!    prints `worker: 1 -> 1`, `worker: 2 -> 4`, `worker: 3 -> 9`, then `worker: context canceled`.
//! 2. A handler that needs 10 ms, under a 1 s deadline, answers: `fast request: hello`.
//! 3. A handler that needs 2 s, under a 50 ms deadline, gives up when the deadline passes (checked to
//!    be at least 50 ms after the start): `slow request: context deadline exceeded`.

use std::time::Duration;

use gmp::context::Context;
use gmp::time::{Instant, after};

/// Answers `hello` after `work_ms`, unless `ctx` is done first; then it answers why.
fn handler((ctx, work_ms, reply): (Context, u64, gmp::Sender<String>)) {
    gmp::select! {
        recv(after(Duration::from_millis(work_ms))) -> _ => reply.send("hello".to_string()),
        recv(ctx.done()) -> _ => reply.send(ctx.err().expect("done, so it has a reason").to_string()),
    }
}

fn main() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (jobs, jobs_rx) = gmp::chan::<u64>(0);
    let (results, results_rx) = gmp::chan::<String>(0);
    gmp::go!(ctx, jobs_rx, results => loop {
        gmp::select! {
            recv(jobs_rx) -> n => {
                let n = n.expect("main cancels rather than closes");
                results.send(format!("worker: {n} -> {}", n * n));
            }
            recv(ctx.done()) -> _ => {
                results.send(format!("worker: {}", ctx.err().expect("done, so it has a reason")));
                return;
            }
        }
    });
    for n in 1..=3 {
        jobs.send(n);
        println!("{}", results_rx.recv().unwrap());
    }
    cancel.cancel();
    println!("{}", results_rx.recv().unwrap());

    for (name, work_ms, timeout) in [("fast", 10, Duration::from_secs(1)), ("slow", 2000, Duration::from_millis(50))] {
        let start = Instant::now();
        let (ctx, cancel) = Context::background().with_timeout(timeout);
        let (reply, answer) = gmp::chan::<String>(1);
        gmp::go_with((ctx, work_ms, reply), handler);
        let answer = answer.recv().unwrap();
        // Ends the deadline's watcher G now: Go's `defer cancel()`.
        cancel.cancel();
        if name == "slow" {
            assert!(start.elapsed() >= timeout, "gave up before the deadline");
        }
        println!("{name} request: {answer}");
    }
}
