//! Helpers shared by the scheduler's tests: run a "program" of plain futures on a real scheduler.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gmp_sched::{Config, Hooks, Outcome, Sched};

pub fn config(procs: usize) -> Config {
    Config { procs, ..Config::default() }
}

/// Run `main` as the first G; the program exits 0 when it returns. Gives up (failing the test) after a
/// minute, so a lost wake-up shows as a failure, not a hung suite.
pub fn run<F, Fut>(cfg: Config, main: F) -> Outcome
where
    F: FnOnce(Arc<Sched>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let s = Sched::start(cfg, Hooks::default());
    let fut = main(s.clone());
    let s2 = s.clone();
    s.spawn(move |_| {
        Box::pin(async move {
            fut.await;
            s2.exit(0);
        })
    });
    let outcome = s.wait_timeout(Duration::from_secs(60)).expect("program did not finish within 60 s");
    s.shutdown();
    outcome
}

/// Spawn a G running `fut` on `s`.
pub fn go(s: &Arc<Sched>, fut: impl Future<Output = ()> + Send + 'static) -> u64 {
    s.spawn(move |_| Box::pin(fut))
}
