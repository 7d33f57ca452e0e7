//! Many Gs and messages: N workers (first argument, default 10000) turn M numbers (second argument, default
//! 100000) from a feeder into x*2+1 for main. Prints `messages: M`, `checksum: S`, `checksum ok`.

use gmp::chan;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("arguments must be numbers"));
    let workers = args.next().unwrap_or(10_000);
    let messages = args.next().unwrap_or(100_000);

    let (in_tx, in_rx) = chan::<u64>(0);
    let (out_tx, out_rx) = chan::<u64>(1024);
    for _ in 0..workers {
        let (in_rx, out_tx) = (in_rx.clone(), out_tx.clone());
        gmp::go!(in_rx, out_tx => {
            for x in &in_rx {
                out_tx.send(x * 2 + 1);
            }
        });
    }
    gmp::go!(in_tx, messages => {
        for x in 0..messages {
            in_tx.send(x);
        }
        in_tx.close();
    });

    let checksum = out_rx.iter().take(messages as usize).fold(0u64, u64::wrapping_add);
    let expected = (0..messages).map(|x| x * 2 + 1).fold(0u64, u64::wrapping_add);
    println!("messages: {messages}");
    println!("checksum: {checksum}");
    println!("checksum {}", if checksum == expected { "ok" } else { "MISMATCH" });
}
