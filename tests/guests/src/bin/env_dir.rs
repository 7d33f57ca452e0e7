//! What `--env` and `--dir` give a program: prints `GREETING=<value of $GREETING>`, then the contents of
//! `data/hello.txt` read through the preopened directory `data`, from main and from a spawned G.

fn main() {
    println!("GREETING={}", std::env::var("GREETING").unwrap_or_else(|_| "<unset>".into()));
    let read = || std::fs::read_to_string("data/hello.txt").unwrap_or_else(|e| format!("<{e}>"));
    println!("main read: {}", read().trim());
    let (tx, rx) = gmp::chan::<String>(0);
    gmp::go!(tx => tx.send(std::fs::read_to_string("data/hello.txt").unwrap_or_else(|e| format!("<{e}>"))));
    println!("G read: {}", rx.recv().unwrap_or_default().trim());
}
