//! Go by Example, *Stateful Goroutines*: instead of a mutex, one G owns the state (a `HashMap`) and
//! serves reads and writes sent to it as requests, each carrying a `Sender` for the reply. 20 reader Gs
//! make 50 reads each and 10 writer Gs 10 writes each, counting them in `AtomicU64`s. Prints
//! `readOps: 1000`, `writeOps: 100` and `keys: 5` (what the state G reports holding at the end).

use std::collections::HashMap;

use gmp::sync::AtomicU64;
use gmp::{Receiver, Sender, WaitGroup};

#[derive(gmp::Message)]
struct ReadOp {
    key: u64,
    resp: Sender<u64>,
}

#[derive(gmp::Message)]
struct WriteOp {
    key: u64,
    val: u64,
    resp: Sender<bool>,
}

/// The only G that touches the map: requests are served one at a time, so no lock is needed.
fn state_owner((reads, writes, size): (Receiver<ReadOp>, Receiver<WriteOp>, Receiver<Sender<usize>>)) {
    let mut state = HashMap::<u64, u64>::new();
    loop {
        gmp::select! {
            recv(reads) -> read => {
                let read = read.expect("never closed");
                read.resp.send(state.get(&read.key).copied().unwrap_or(0));
            }
            recv(writes) -> write => {
                let write = write.expect("never closed");
                state.insert(write.key, write.val);
                write.resp.send(true);
            }
            recv(size) -> resp => resp.expect("never closed").send(state.len()),
        }
    }
}

fn main() {
    let read_ops = AtomicU64::new(0);
    let write_ops = AtomicU64::new(0);
    let (reads, reads_rx) = gmp::chan::<ReadOp>(0);
    let (writes, writes_rx) = gmp::chan::<WriteOp>(0);
    let (size, size_rx) = gmp::chan::<Sender<usize>>(0);
    gmp::go_with((reads_rx, writes_rx, size_rx), state_owner);

    let wg = WaitGroup::new();
    for r in 0..20u64 {
        wg.add(1);
        let (reads, read_ops, wg) = (reads.clone(), read_ops.clone(), wg.clone());
        gmp::go!(reads, read_ops, wg, r => {
            // Go makes a reply channel per request; one per G will do, with one request out at a time.
            let (resp, answer) = gmp::chan(0);
            for i in 0..50 {
                reads.send(ReadOp { key: (r + i) % 5, resp: resp.clone() });
                answer.recv();
                read_ops.add(1);
            }
            wg.done();
        });
    }
    for w in 0..10u64 {
        wg.add(1);
        let (writes, write_ops, wg) = (writes.clone(), write_ops.clone(), wg.clone());
        gmp::go!(writes, write_ops, wg, w => {
            let (resp, answer) = gmp::chan(0);
            for i in 0..10 {
                writes.send(WriteOp { key: (w + i) % 5, val: w * 100 + i, resp: resp.clone() });
                answer.recv();
                write_ops.add(1);
            }
            wg.done();
        });
    }
    wg.wait();

    println!("readOps: {}", read_ops.load());
    println!("writeOps: {}", write_ops.load());
    let (resp, answer) = gmp::chan(0);
    size.send(resp);
    println!("keys: {}", answer.recv().unwrap());
}
