//! What the network policy lets a program reach (tests/net.rs). Each argument is a target: `ADDR` is a TCP
//! connect, `udp=ADDR` a UDP datagram sent from a fresh socket. Prints `ADDR: ok` or `ADDR: KIND` for each,
//! the message of the first denial as `message: ...`, then the same for its own TCP listener (under both
//! spellings of its loopback address) and its own UDP socket, which need no rule: `own ...: ok`.

use gmp::net::{TcpListener, TcpStream, UdpSocket};

fn report(what: &str, r: std::io::Result<()>, first_denial: &mut Option<String>) {
    match r {
        Ok(()) => println!("{what}: ok"),
        Err(e) => {
            println!("{what}: {:?}", e.kind());
            if e.kind() == std::io::ErrorKind::PermissionDenied && first_denial.is_none() {
                *first_denial = Some(e.to_string());
            }
        }
    }
}

fn main() {
    let mut denial = None;
    for target in std::env::args().skip(1) {
        let r = match target.strip_prefix("udp=") {
            Some(to) => UdpSocket::bind("127.0.0.1:0").and_then(|s| s.send_to(b"x", to)).map(drop),
            None => TcpStream::connect(target.as_str()).map(drop),
        };
        report(&target, r, &mut denial);
    }
    if let Some(m) = denial.take() {
        println!("message: {m}");
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback: allowed by default");
    let port = listener.local_addr().expect("local address").port();
    for own in [format!("127.0.0.1:{port}"), format!("[::ffff:127.0.0.1]:{port}")] {
        report(&format!("own {own}"), TcpStream::connect(own.as_str()).map(drop), &mut denial);
    }
    let (a, b) = (UdpSocket::bind("127.0.0.1:0").expect("bind"), UdpSocket::bind("127.0.0.1:0").expect("bind"));
    let to = b.local_addr().expect("local address");
    report("own udp", a.send_to(b"x", to).map(drop), &mut denial);
    drop(b);
    // Its socket gone, the port is no longer the program's own.
    report("closed udp", a.send_to(b"x", to).map(drop), &mut denial);
}
