//! Messages up to the runtime's limit (16 MiB by default) go through whole; one byte more traps the sender.
//! A `Vec<u8>` sent alone is exactly its bytes on the wire. Prints `big message ok: 16777216 bytes`.

const LIMIT: usize = 16 << 20;

fn pattern(i: usize) -> u8 {
    (i * 7 % 251) as u8
}

fn main() {
    let (tx, rx) = gmp::chan::<Vec<u8>>(0);
    gmp::go!(tx => tx.send((0..LIMIT).map(pattern).collect()));
    let data = rx.recv().expect("the G sends");
    if data.len() == LIMIT && data.iter().enumerate().all(|(i, &b)| b == pattern(i)) {
        println!("big message ok: {} bytes", data.len());
    } else {
        println!("big message CORRUPT: {} bytes", data.len());
    }
    drop(data);

    let (tx, _rx) = gmp::chan::<Vec<u8>>(1);
    tx.send(vec![0; LIMIT + 1]);
    println!("after: a message over the limit was sent");
}
