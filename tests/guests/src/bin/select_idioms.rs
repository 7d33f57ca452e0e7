//! Go's select idioms through the SDK, one check per line of output (each prints `ok: <what>`):
//! a temporary channel in an arm, a send arm offered the same value by reference round after round, nil
//! channels switching cases off, a select of only nil channels, a `select!` of 40 arms, and the dynamic
//! `gmp::Select` over a run-time set of arms.

fn main() {
    temporary_channel_in_an_arm();
    send_by_reference_keeps_the_value();
    nil_channels_switch_cases_off();
    only_nil_channels_take_the_default();
    forty_arms();
    dynamic_select();
}

/// The program: `send(cc_rx.recv().unwrap(), 2)` sends on a channel that exists only for the arm.
fn temporary_channel_in_an_arm() {
    let (cc_tx, cc_rx) = gmp::chan::<gmp::Sender<u32>>(1);
    let (tx, rx) = gmp::chan::<u32>(1);
    cc_tx.send(tx);
    let (rtx, rrx) = gmp::chan::<gmp::Receiver<u32>>(1);
    let (tx2, rx2) = gmp::chan::<u32>(1);
    tx2.send(7);
    rtx.send(rx2);
    gmp::select! {
        send(cc_rx.recv().unwrap(), 2) => {}
    }
    let got = gmp::select! {
        recv(rrx.recv().unwrap()) -> v => v,
    };
    assert_eq!((rx.recv(), got), (Some(2), Some(7)));
    println!("ok: temporary channels");
}

/// A value offered by reference is copied into the channel; the caller keeps it, unsent or sent.
fn send_by_reference_keeps_the_value() {
    let (tx, rx) = gmp::chan::<String>(2);
    let msg = String::from("hello");
    let mut sent = 0;
    for _ in 0..5 {
        gmp::select! {
            send(tx, &msg) => sent += 1,
            default => {}
        }
    }
    tx.close();
    let got: Vec<String> = rx.iter().collect();
    assert_eq!((sent, got.len(), msg.as_str()), (2, 2, "hello"));
    assert!(got.iter().all(|m| m == "hello"));
    println!("ok: send by reference");
}

/// Go's merge loop: when a channel closes, setting it to nil switches its case off.
fn nil_channels_switch_cases_off() {
    let (atx, arx) = gmp::chan::<u64>(0);
    let (btx, brx) = gmp::chan::<u64>(0);
    gmp::go!(atx => {
        (1..=100).for_each(|i| atx.send(i));
        atx.close();
    });
    gmp::go!(btx => {
        (101..=150).for_each(|i| btx.send(i));
        btx.close();
    });
    let (mut a, mut b) = (Some(arx), Some(brx));
    let (mut sum, mut n) = (0, 0);
    while a.is_some() || b.is_some() {
        gmp::select! {
            recv(a) -> v => match v {
                Some(x) => (sum, n) = (sum + x, n + 1),
                None => a = None,
            },
            recv(b) -> v => match v {
                Some(x) => (sum, n) = (sum + x, n + 1),
                None => b = None,
            },
        }
    }
    assert_eq!((n, sum), (150, 150 * 151 / 2));
    println!("ok: nil channels");
}

/// A select whose channels are all nil never proceeds: with a default, the default runs.
fn only_nil_channels_take_the_default() {
    let none: Option<gmp::Receiver<u32>> = None;
    let no_tx: Option<&gmp::Sender<u32>> = None;
    let took = gmp::select! {
        recv(none) -> _ => "recv",
        send(no_tx, 1) => "send",
        default => "default",
    };
    assert_eq!(took, "default");
    println!("ok: only nil channels");
}

/// More arms than the old limit of 32: each channel holds one value; all 40 are received, once each.
fn forty_arms() {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..40).map(|_| gmp::chan::<u32>(1)).unzip();
    for (i, tx) in txs.iter().enumerate() {
        tx.send(i as u32 * 3);
    }
    let mut seen = [false; 40];
    for _ in 0..40 {
        let (i, v) = gmp::select! {
            recv(rxs[0]) -> v => (0, v),
            recv(rxs[1]) -> v => (1, v),
            recv(rxs[2]) -> v => (2, v),
            recv(rxs[3]) -> v => (3, v),
            recv(rxs[4]) -> v => (4, v),
            recv(rxs[5]) -> v => (5, v),
            recv(rxs[6]) -> v => (6, v),
            recv(rxs[7]) -> v => (7, v),
            recv(rxs[8]) -> v => (8, v),
            recv(rxs[9]) -> v => (9, v),
            recv(rxs[10]) -> v => (10, v),
            recv(rxs[11]) -> v => (11, v),
            recv(rxs[12]) -> v => (12, v),
            recv(rxs[13]) -> v => (13, v),
            recv(rxs[14]) -> v => (14, v),
            recv(rxs[15]) -> v => (15, v),
            recv(rxs[16]) -> v => (16, v),
            recv(rxs[17]) -> v => (17, v),
            recv(rxs[18]) -> v => (18, v),
            recv(rxs[19]) -> v => (19, v),
            recv(rxs[20]) -> v => (20, v),
            recv(rxs[21]) -> v => (21, v),
            recv(rxs[22]) -> v => (22, v),
            recv(rxs[23]) -> v => (23, v),
            recv(rxs[24]) -> v => (24, v),
            recv(rxs[25]) -> v => (25, v),
            recv(rxs[26]) -> v => (26, v),
            recv(rxs[27]) -> v => (27, v),
            recv(rxs[28]) -> v => (28, v),
            recv(rxs[29]) -> v => (29, v),
            recv(rxs[30]) -> v => (30, v),
            recv(rxs[31]) -> v => (31, v),
            recv(rxs[32]) -> v => (32, v),
            recv(rxs[33]) -> v => (33, v),
            recv(rxs[34]) -> v => (34, v),
            recv(rxs[35]) -> v => (35, v),
            recv(rxs[36]) -> v => (36, v),
            recv(rxs[37]) -> v => (37, v),
            recv(rxs[38]) -> v => (38, v),
            recv(rxs[39]) -> v => (39, v),
        };
        assert_eq!(v, Some(i as u32 * 3));
        assert!(!seen[i], "arm {i} chosen twice");
        seen[i] = true;
    }
    println!("ok: 40 arms");
}

/// Go's reflect.Select: workers answer on channels of their own; nil arms (finished workers) are skipped,
/// and send arms count too.
fn dynamic_select() {
    let workers: Vec<gmp::Receiver<u64>> = (0..50u64)
        .map(|i| {
            let (tx, rx) = gmp::chan(0);
            gmp::go!(tx, i => tx.send(i * i));
            rx
        })
        .collect();
    let (out_tx, out_rx) = gmp::chan::<u64>(1000);
    let mut open: Vec<Option<&gmp::Receiver<u64>>> = workers.iter().map(Some).collect();
    let (mut sum, mut sends) = (0, 0);
    let mut received = 0;
    while received < workers.len() {
        let mut sel = gmp::Select::new();
        for rx in &open {
            sel.recv(rx);
        }
        let send_arm = sel.send(&out_tx, sends);
        let op = sel.select();
        let i = op.index();
        if i == send_arm {
            sends += 1;
            continue;
        }
        sum += op.recv(&open[i]).expect("a worker sends once before it ends");
        open[i] = None;
        received += 1;
    }
    out_tx.close();
    let offered: Vec<u64> = out_rx.iter().collect();
    assert_eq!(sum, (0..50u64).map(|i| i * i).sum::<u64>());
    assert_eq!(offered, (0..sends).collect::<Vec<_>>());
    assert!(gmp::Select::new().try_select().is_none(), "a select of nothing has nothing ready");
    println!("ok: dynamic select");
}
