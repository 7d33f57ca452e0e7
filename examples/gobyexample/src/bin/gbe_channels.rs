//! Go by Example, *Channels*: one G sends a value into an unbuffered channel and main receives it
//! (`messages <- "ping"`, `msg := <-messages`); the send waits for the receiver. Prints `ping`.

fn main() {
    let (messages, inbox) = gmp::chan::<String>(0);
    gmp::go!(messages => messages.send("ping".to_string()));
    let msg = inbox.recv().expect("the sender sends before it ends");
    println!("{msg}");
}
