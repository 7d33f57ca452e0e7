//! A CPU-bound guest for the cost of preemption checks: one G runs a mix of loops and calls (a sieve of
//! Eratosthenes and a hash chain), run with and without epoch interruption. Prints `ms=X result=Y`.

use gmp::time::Instant;

fn sieve(n: usize) -> usize {
    let mut composite = vec![false; n + 1];
    let mut count = 0;
    for i in 2..=n {
        if !composite[i] {
            count += 1;
            let mut j = i * i;
            while j <= n {
                composite[j] = true;
                j += i;
            }
        }
    }
    count
}

#[inline(never)]
fn mix(mut h: u64, v: u64) -> u64 {
    h ^= v;
    h = h.wrapping_mul(0x100000001b3);
    h.rotate_left(5)
}

fn main() {
    let rounds: u64 = std::env::args().nth(1).map_or(20, |a| a.parse().expect("rounds"));
    let t0 = Instant::now();
    let mut result = 0u64;
    for r in 0..rounds {
        result = result.wrapping_add(sieve(2_000_000) as u64);
        let mut h = r;
        for v in 0..5_000_000u64 {
            h = mix(h, v);
        }
        result ^= h;
    }
    println!("ms={:.1} result={result}", t0.elapsed().as_secs_f64() * 1000.0);
}
