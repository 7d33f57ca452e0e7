//! `gmp::sync` across Gs that share no memory, as Go by Example's counters do it. Prints one line per check:
//! - `atomic: 50000`: 50 Gs each add 1,000 to one `AtomicU64` (a `static` would leave main at 0);
//! - `cas: 1 winner of 50`: 50 Gs race to compare-and-swap 0 → their id + 1; exactly one wins, and the
//!   value is its id + 1;
//! - `mutex: 5000 [...]`: 50 Gs each push 100 entries into one `Mutex<Vec<u32>>` and bump a counter in it;
//! - `once: 1 ran, 20 agree`: 20 Gs ask one `OnceValue` at once; the init runs once and all get its value;
//! - `rwlock: 5 readers at once, writer waited, 2000 writes`: five Gs hold one read lock together (each waits
//!   inside for all five); a waiting writer keeps new readers out; then 10 writers and 20 readers mix, and an
//!   atomic "inside" count checks that a writer is always alone;
//! - `cond: fifo 0..9, broadcast 10, 1000 items`: `signal` wakes waiters oldest first and not a G that waits
//!   after it, `broadcast` wakes all, and 4 consumers get each of 1,000 produced items once.

use gmp::sync::{AtomicI64, AtomicU64, Cond, Mutex, OnceValue, RwLock};

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

    rwlock();
    cond();
}

/// What a writer adds to the "inside" count; readers add 1, so a reading below it means no writer is in.
const WRITER: i64 = 1_000_000;

fn rwlock() {
    // Readers share the lock: each waits inside until all five are in (exclusive reads would deadlock).
    let lock = RwLock::new(0u64);
    let (in_tx, inside) = gmp::chan::<()>(0);
    let (go_tx, go_rx) = gmp::chan::<()>(0);
    let (done_tx, done) = gmp::chan::<u64>(0);
    for _ in 0..5 {
        let (lock, in_tx, go_rx, done_tx) = (lock.clone(), in_tx.clone(), go_rx.clone(), done_tx.clone());
        gmp::go!(lock, in_tx, go_rx, done_tx => {
            let v = lock.read();
            in_tx.send(());
            go_rx.recv();
            done_tx.send(*v);
        });
    }
    inside.iter().take(5).for_each(drop);
    assert!(lock.try_write().is_none(), "readers hold it");
    (0..5).for_each(|_| go_tx.send(()));
    assert_eq!(done.iter().take(5).sum::<u64>(), 0);

    // A waiting writer keeps new readers out until it has had its turn.
    let held = lock.read();
    let (wrote_tx, wrote) = gmp::chan::<u64>(0);
    {
        let lock = lock.clone();
        gmp::go!(lock, wrote_tx => {
            *lock.write() += 1;
            wrote_tx.send(1);
        });
    }
    let mut spins = 0;
    while let Some(r) = lock.try_read() {
        drop(r);
        spins += 1;
        assert!(spins < 100_000, "the writer never began to wait");
        gmp::yield_now();
    }
    drop(held);
    assert_eq!(wrote.recv(), Some(1));
    assert_eq!(*lock.read(), 1, "the reader after the writer sees its write");

    // Writers are alone; readers overlap only with readers.
    let lock = RwLock::new(0u64);
    let in_use = AtomicI64::new(0);
    let wg = gmp::WaitGroup::new();
    for w in 0..30u32 {
        wg.add(1);
        let (lock, in_use, wg) = (lock.clone(), in_use.clone(), wg.clone());
        gmp::go!(lock, in_use, wg, w => {
            for i in 0..200u32 {
                if w < 10 {
                    let mut v = lock.write();
                    assert_eq!(in_use.add(WRITER), WRITER, "a writer is alone");
                    *v += 1;
                    if i % 7 == 0 {
                        gmp::yield_now();
                    }
                    in_use.add(-WRITER);
                } else {
                    let v = lock.read();
                    assert!(in_use.add(1) < WRITER, "no writer while reading");
                    assert!(*v <= 2000);
                    if i % 5 == 0 {
                        gmp::yield_now();
                    }
                    in_use.add(-1);
                }
            }
            wg.done();
        });
    }
    wg.wait();
    println!("rwlock: 5 readers at once, writer waited, {} writes", *lock.read());
}

fn cond() {
    // `signal` wakes the oldest waiter; waiters queue in the order they began, one at a time.
    let order = Mutex::new(Vec::<u32>::new());
    let turn = Mutex::new(0u32);
    let cond = Cond::new();
    let (waiting_tx, waiting) = gmp::chan::<()>(0);
    for id in 0..10u32 {
        {
            let (turn, cond, order, waiting_tx) = (turn.clone(), cond.clone(), order.clone(), waiting_tx.clone());
            gmp::go!(turn, cond, order, waiting_tx, id => {
                let g = turn.lock();
                waiting_tx.send(()); // main holds the next waiter back until this one waits
                let g = cond.wait(g);
                order.lock().push(id);
                drop(g);
            });
        }
        waiting.recv();
        // The waiter sent while holding `turn`: once main can lock it, the waiter is queued on `cond`.
        drop(turn.lock());
    }
    for n in 1..=10 {
        cond.signal();
        while order.lock().len() < n {
            gmp::yield_now();
        }
    }
    let order = order.lock().clone();
    assert_eq!(order, (0..10).collect::<Vec<_>>());
    cond.signal(); // nobody waits: lost, as in Go

    // `broadcast` wakes every waiter, and not one that waits after it.
    let (woke_tx, woke) = gmp::chan::<u32>(20);
    for id in 0..10u32 {
        {
            let (turn, cond, waiting_tx, woke_tx) = (turn.clone(), cond.clone(), waiting_tx.clone(), woke_tx.clone());
            gmp::go!(turn, cond, waiting_tx, woke_tx, id => {
                let g = turn.lock();
                waiting_tx.send(());
                drop(cond.wait(g));
                woke_tx.send(id);
            });
        }
        waiting.recv();
        drop(turn.lock());
    }
    cond.broadcast();
    let mut woken: Vec<u32> = woke.iter().take(10).collect();
    woken.sort_unstable();
    assert_eq!(woken, (0..10).collect::<Vec<_>>());
    {
        let (turn, cond, waiting_tx, woke_tx) = (turn.clone(), cond.clone(), waiting_tx.clone(), woke_tx.clone());
        gmp::go!(turn, cond, waiting_tx, woke_tx => {
            let g = turn.lock();
            waiting_tx.send(());
            drop(cond.wait(g));
            woke_tx.send(99);
        });
    }
    waiting.recv();
    drop(turn.lock());
    for _ in 0..100 {
        gmp::yield_now();
    }
    assert!(woke.try_recv().is_err(), "a broadcast before the wait does not wake it");
    cond.signal();
    assert_eq!(woke.recv(), Some(99));

    // A queue with 4 consumers waiting on a condition and a producer broadcasting.
    let queue = Mutex::new((Vec::<u32>::new(), false));
    let nonempty = Cond::new();
    let (got_tx, got) = gmp::chan::<(u32, u64)>(4);
    for c in 0..4u32 {
        let (queue, nonempty, got_tx) = (queue.clone(), nonempty.clone(), got_tx.clone());
        gmp::go!(queue, nonempty, got_tx, c => {
            let (mut n, mut sum) = (0, 0u64);
            loop {
                let mut q = nonempty.wait_while(queue.lock(), |q| q.0.is_empty() && !q.1);
                match q.0.pop() {
                    Some(item) => {
                        n += 1;
                        sum += u64::from(item);
                    }
                    None => break, // closed and drained
                }
                drop(q);
                if c % 2 == 0 {
                    gmp::yield_now();
                }
            }
            got_tx.send((n, sum));
        });
    }
    for item in 0..1000u32 {
        queue.lock().0.push(item);
        if item % 3 == 0 {
            nonempty.broadcast()
        } else {
            nonempty.signal()
        }
        if item % 50 == 0 {
            gmp::yield_now();
        }
    }
    queue.lock().1 = true;
    nonempty.broadcast();
    let (n, sum) = got.iter().take(4).fold((0, 0), |(n, s), (a, b)| (n + a, s + b));
    assert_eq!(sum, (0..1000u64).sum::<u64>(), "each item once");
    println!("cond: fifo {}..{}, broadcast {}, {n} items", order[0], order[9], woken.len());
}
