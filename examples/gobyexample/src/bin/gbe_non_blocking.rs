//! Go by Example, *Non-Blocking Channel Operations*: a `select` with a `default` arm tries a receive, a
//! send, and a receive from either of two channels without waiting. Nobody is on the other side of these
//! unbuffered channels, so every attempt falls through: prints `no message received`, `no message sent`,
//! `no activity`.

fn main() {
    let (messages, inbox) = gmp::chan::<String>(0);
    let (_signals, signals_rx) = gmp::chan::<bool>(0);

    gmp::select! {
        recv(inbox) -> msg => println!("received message {}", msg.unwrap()),
        default => println!("no message received"),
    }

    let msg = "hi".to_string();
    gmp::select! {
        send(messages, msg) => println!("sent message"),
        default => println!("no message sent"),
    }

    gmp::select! {
        recv(inbox) -> msg => println!("received message {}", msg.unwrap()),
        recv(signals_rx) -> sig => println!("received signal {}", sig.unwrap()),
        default => println!("no activity"),
    }
}
