//! select! picks at random among ready arms: with two receive arms always ready, each wins about half of
//! 10000 selects. Prints `a=<count> b=<count>`.

fn main() {
    let (a_tx, a) = gmp::chan::<u32>(1);
    let (b_tx, b) = gmp::chan::<u32>(1);
    a_tx.send(0);
    b_tx.send(0);
    let (mut count_a, mut count_b) = (0, 0);
    for _ in 0..10_000 {
        gmp::select! {
            recv(a) -> v => {
                count_a += 1;
                a_tx.send(v.expect("a stays open"));
            }
            recv(b) -> v => {
                count_b += 1;
                b_tx.send(v.expect("b stays open"));
            }
        }
    }
    println!("a={count_a} b={count_b}");
}
