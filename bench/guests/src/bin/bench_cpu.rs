//! A CPU-bound guest for the cost of preemption checks, run with and without epoch interruption: ROUNDS
//! (first argument) of one kernel (second argument): `sort` (sorting pseudo-random numbers: branchy code
//! with calls, what ordinary programs look like), `hash` (FNV over a buffer, byte by byte), `sieve` (a sieve
//! of Eratosthenes), `tight` (a loop of three instructions: the worst case for a check on every loop
//! back-edge), or `all` (sort, hash and sieve). Prints `ms=X result=Y`.

use gmp::time::Instant;

fn sieve(n: usize) -> u64 {
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

fn sort(n: usize, seed: u64) -> u64 {
    let mut x = seed | 1;
    let mut v: Vec<u64> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect();
    v.sort_unstable();
    v[n / 2]
}

fn fnv(buf: &[u8]) -> u64 {
    buf.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

fn tight(n: u64) -> u64 {
    let mut x = 1u64;
    for _ in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    x
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: u64 = args.next().map_or(10, |a| a.parse().expect("rounds"));
    let kernel = args.next().unwrap_or_else(|| "all".into());
    let t0 = Instant::now();
    let mut result = 0u64;
    let buf: Vec<u8> = (0..4_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    for r in 0..rounds {
        match kernel.as_str() {
            "sort" => result ^= sort(1_000_000, r),
            "hash" => result ^= fnv(&buf).wrapping_add(r),
            "sieve" => result = result.wrapping_add(sieve(4_000_000)),
            "tight" => result ^= tight(200_000_000 + r),
            _ => {
                result = result.wrapping_add(sieve(2_000_000));
                result ^= sort(500_000, r);
                result ^= fnv(&buf);
            }
        }
    }
    println!("ms={:.1} result={result}", t0.elapsed().as_secs_f64() * 1000.0);
}
