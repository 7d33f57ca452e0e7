//! `gmp::sync` across Gs that share no memory, as Go by Example's counters do it. Prints one line per check:
//! - `atomic: 50000`: 50 Gs each add 1,000 to one `AtomicU64` (a `static` would leave main at 0);
//! - `cas: 1 winner of 50`: 50 Gs race to compare-and-swap 0 → their id + 1; exactly one wins, and the
//!   value is its id + 1;
//! - `mutex: 5000 [...]`: 50 Gs each push 100 entries into one `Mutex<Vec<u32>>` and bump a counter in it;
//! - `once: 1 ran, 20 agree`: 20 Gs ask one `OnceValue` at once; the init runs once and all get its value.

use gmp::sync::{AtomicI64, AtomicU64, Mutex, OnceValue};

fn main() {
    let wg = gmp::WaitGroup::new();
    let ops = AtomicU64::new(0);
    for _ in 0..50 {
        wg.add(1);
        let (ops, wg) = (ops.clone(), wg.clone());
        gmp::go!(ops, wg => {
            for _ in 0..1000 {
                ops.add(1);
            }
            wg.done();
        });
    }
    wg.wait();
    println!("atomic: {}", ops.load());

    let slot = AtomicI64::new(0);
    let (won_tx, won) = gmp::chan::<bool>(50);
    for id in 0..50i64 {
        let (slot, won_tx) = (slot.clone(), won_tx.clone());
        gmp::go!(slot, won_tx, id => won_tx.send(slot.compare_and_swap(0, id + 1)));
    }
    let winners = won.iter().take(50).filter(|&w| w).count();
    assert_eq!(winners, 1, "exactly one compare-and-swap wins");
    assert!((1..=50).contains(&slot.load()));
    println!("cas: {winners} winner of 50");

    let shared = Mutex::new((0u64, Vec::<u32>::new()));
    let wg = gmp::WaitGroup::new();
    for g in 0..50u32 {
        wg.add(1);
        let (shared, wg) = (shared.clone(), wg.clone());
        gmp::go!(shared, wg, g => {
            for i in 0..100 {
                let mut s = shared.lock();
                s.0 += 1;
                s.1.push(g * 100 + i);
                if i % 10 == 0 {
                    drop(s);
                    gmp::yield_now(); // let others contend
                }
            }
            wg.done();
        });
    }
    wg.wait();
    let s = shared.lock();
    let mut seen = s.1.clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..5000).collect::<Vec<_>>(), "every push once");
    assert!(shared.try_lock().is_none(), "held here");
    println!("mutex: {} [{}..{}]", s.0, seen[0], seen[seen.len() - 1]);
    drop(s);

    let value = OnceValue::<String>::new();
    let runs = AtomicU64::new(0);
    let (tx, rx) = gmp::chan::<String>(0);
    for _ in 0..20 {
        let (value, runs, tx) = (value.clone(), runs.clone(), tx.clone());
        gmp::go!(value, runs, tx => {
            tx.send(value.get_or_init(|| {
                runs.add(1);
                gmp::yield_now(); // others arrive while it runs
                "the value".to_string()
            }));
        });
    }
    let agree = rx.iter().take(20).filter(|v| v == "the value").count();
    println!("once: {} ran, {agree} agree", runs.load());
}
