//! A TCP connection handed from the G that accepted it to another over a channel: main accepts, a second G
//! answers on the stream it was sent, and the connecting G prints `got: world`.

use std::io::{Read, Write};

use gmp::net::{TcpListener, TcpStream};

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on a free port");
    // Addresses travel between Gs as text, which is also what `connect` takes.
    let addr = listener.local_addr().expect("local address").to_string();
    let (done_tx, done) = gmp::chan::<()>(0);

    // The client: says hello, prints the answer.
    gmp::go!(addr, done_tx => {
        let mut conn = TcpStream::connect(addr).expect("connect");
        conn.write_all(b"hello").expect("write hello");
        let mut answer = [0u8; 5];
        conn.read_exact(&mut answer).expect("read the answer");
        println!("got: {}", String::from_utf8_lossy(&answer));
        done_tx.send(());
    });

    // The server's worker: gets the accepted stream over a channel and answers on it.
    let (stream_tx, stream_rx) = gmp::chan::<TcpStream>(0);
    gmp::go!(stream_rx => {
        let mut conn = stream_rx.recv().expect("a stream arrives");
        let mut hello = [0u8; 5];
        conn.read_exact(&mut hello).expect("read hello");
        assert_eq!(&hello, b"hello");
        conn.write_all(b"world").expect("write world");
    });

    let (conn, _) = listener.accept().expect("accept");
    stream_tx.send(conn);
    done.recv();
}
