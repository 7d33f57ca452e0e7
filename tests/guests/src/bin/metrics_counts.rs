//! Known numbers of things for the metrics test (tests/metrics.rs): 21 Gs spawned (20 senders and a
//! spinner), 201 sends (200 on one unbuffered channel) and 201 receives, 5 selects, a 2 ms sleep, and a spinner that
//! spins for 60 ms, so sysmon preempts it (the slice is 10 ms). Prints `done`.

const SENDERS: u64 = 20;
const EACH: u64 = 10;
const SELECTS: u64 = 5;

fn main() {
    let (spun, spinner_done) = gmp::chan::<()>(1);
    gmp::go!(spun => {
        let t = gmp::time::Instant::now();
        // No blocking call: only preemption takes this G off its P.
        while t.elapsed() < std::time::Duration::from_millis(60) {
            std::hint::spin_loop();
        }
        spun.send(());
    });
    let (tx, rx) = gmp::chan::<u64>(0);
    for _ in 0..SENDERS {
        let tx = tx.clone();
        gmp::go!(tx => {
            for i in 0..EACH {
                tx.send(i);
            }
        });
    }
    // Every sender runs and blocks on its first send while main sleeps: a timer fires for main.
    gmp::time::sleep(std::time::Duration::from_millis(2));
    let mut got = 0;
    for _ in 0..SELECTS {
        gmp::select! {
            recv(rx) -> v => got += u64::from(v.is_some()),
        }
    }
    while got < SENDERS * EACH {
        got += u64::from(rx.recv().is_some());
    }
    assert_eq!(got, SENDERS * EACH);
    spinner_done.recv();
    println!("done");
}
