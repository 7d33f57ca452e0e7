//! Socket errors reach the guest as `std::io::ErrorKind`s, and a peer's reset is an error of the reading G
//! alone. Prints `connect refused: ConnectionRefused`, `listen twice: AddrInUse`,
//! `connect denied: PermissionDenied`, `listening on ADDR`; then, once the test's client has connected, sent
//! `hi` and reset the connection, `read: ConnectionReset` (or `read: EOF` if the reset showed as end of
//! stream) and `still running`.

use std::io::{Read, Write};

use gmp::net::{TcpListener, TcpStream};

fn main() {
    // (1) Nothing listens on port 1.
    match TcpStream::connect("127.0.0.1:1") {
        Ok(_) => println!("connect refused: connected"),
        Err(e) => println!("connect refused: {:?}", e.kind()),
    }

    // (2) The same address twice.
    let first = TcpListener::bind("127.0.0.1:0").expect("listen on a free port");
    let addr = first.local_addr().expect("local address");
    match TcpListener::bind(addr) {
        Ok(_) => println!("listen twice: listening"),
        Err(e) => println!("listen twice: {:?}", e.kind()),
    }
    drop(first);

    // (3) An address no rule grants (the test grants only 127.0.0.1:1).
    match TcpStream::connect("10.1.2.3:80") {
        Ok(_) => println!("connect denied: connected"),
        Err(e) => println!("connect denied: {:?}", e.kind()),
    }

    // (4) A peer that resets the connection.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on a free port");
    println!("listening on {}", listener.local_addr().expect("local address"));
    // The test reads this line to know where to connect.
    std::io::stdout().flush().expect("stdout");
    let (mut conn, _) = listener.accept().expect("accept the test's connection");
    let mut buf = [0u8; 64];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => {
                println!("read: EOF");
                break;
            }
            Ok(_) => {} // `hi`, before the reset
            Err(e) => {
                println!("read: {:?}", e.kind());
                break;
            }
        }
    }
    println!("still running");
}
