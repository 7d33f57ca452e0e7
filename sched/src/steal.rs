//! Work stealing policy: whom a spinning M robs, in what order, and how much (Go's `stealWork`).
//!
//! 1. [`STEAL_TRIES`] rounds; each round visits every other P once, in a random order (a random start and a
//!    random stride coprime to the number of Ps, so each order is a permutation without allocating).
//! 2. From each victim take half of its local queue (`LocalQueue::steal_half_from`): half, so that thief and
//!    victim end with equal work and the next imbalance is as far away as possible.
//! 3. Only in the last round take a victim's `runnext`, and from a running P only after a few µs: it usually
//!    belongs to a pair of Gs handing work back and forth on that P, which should stay together unless the
//!    thief is otherwise about to sleep.

use crate::g::GRef;
use crate::p::P;
use crate::sched::Sched;

/// How long a thief lets a running victim take its own `runnext` (Go: `usleep(3)`).
const RUNNEXT_GRACE: std::time::Duration = std::time::Duration::from_micros(3);

/// Rounds over all other Ps (Go: `stealTries`).
const STEAL_TRIES: usize = 4;

impl Sched {
    /// A spinning M with P `p`: find a G to run on another P.
    /// Returns the G to run, the victim's id and how many Gs were taken.
    pub(crate) fn steal_work(&self, p: &mut P) -> Option<(GRef, usize, usize)> {
        let n = self.cfg.procs;
        if n == 1 {
            return None;
        }
        for round in 0..STEAL_TRIES {
            let last = round == STEAL_TRIES - 1;
            let start = p.fastrand() as usize % n;
            let stride = coprime_stride(n, p.fastrand() as usize);
            let mut i = start;
            for _ in 0..n {
                if i != p.id {
                    let victim = &self.ps[i];
                    let before = p.runq.len();
                    if let Some(g) = p.runq.steal_half_from(&victim.stealer) {
                        let n = 1 + p.runq.len().saturating_sub(before);
                        self.count_steal(p, n);
                        return Some((g, i, n));
                    }
                    if last && victim.runnext.is_occupied() {
                        // Go's grace: the victim's M is probably about to run its runnext (a G it just
                        // readied, when the one it runs blocks); stealing it at once would split a
                        // ping-pong pair across Ps. Wait a few µs for that to happen first.
                        if victim.status.load(std::sync::atomic::Ordering::Relaxed) == crate::p::P_RUNNING {
                            let t = std::time::Instant::now();
                            while victim.runnext.is_occupied() && t.elapsed() < RUNNEXT_GRACE {
                                std::hint::spin_loop();
                            }
                        }
                        if let Some(g) = victim.runnext.take() {
                            self.count_steal(p, 1);
                            return Some((g, i, 1));
                        }
                    }
                }
                i = (i + stride) % n;
            }
        }
        None
    }
}

impl Sched {
    /// A steal by the holder of `p` took `n` Gs (see `metrics.rs`).
    fn count_steal(&self, p: &P, n: usize) {
        let c = &self.ps[p.id].stats;
        crate::metrics::Counters::bump(&c.steals, 1);
        crate::metrics::Counters::bump(&c.stolen, n as u64);
    }
}

/// A stride in `1..n` coprime to `n`, picked from `seed`: stepping by it visits every index once.
fn coprime_stride(n: usize, seed: usize) -> usize {
    let mut s = seed % n;
    loop {
        if s != 0 && gcd(s, n) == 1 {
            return s;
        }
        s = (s + 1) % n;
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coprime_stride_visits_every_index_once() {
        for n in 2..20 {
            for seed in 0..40 {
                let s = coprime_stride(n, seed);
                let mut seen = vec![false; n];
                let mut i = seed % n;
                for _ in 0..n {
                    assert!(!seen[i], "n={n} stride={s} repeats {i}");
                    seen[i] = true;
                    i = (i + s) % n;
                }
            }
        }
    }
}
