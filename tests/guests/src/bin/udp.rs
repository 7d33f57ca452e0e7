//! UDP between two sockets, and a socket handed to another G over a channel. Prints `udp: ping pong` and
//! `udp passed: ok`.

use gmp::net::UdpSocket;

fn main() {
    let a = UdpSocket::bind("127.0.0.1:0").expect("bind a");
    let b = UdpSocket::bind("127.0.0.1:0").expect("bind b");
    let (a_addr, b_addr) = (a.local_addr().expect("a's address"), b.local_addr().expect("b's address"));

    a.send_to(b"ping", b_addr).expect("send ping");
    let mut buf = [0u8; 64];
    let (n, from) = b.recv_from(&mut buf).expect("receive ping");
    assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));
    b.send_to(b"pong", from).expect("send pong");
    let (n, from) = a.recv_from(&mut buf).expect("receive pong");
    assert_eq!((&buf[..n], from), (&b"pong"[..], b_addr));
    println!("udp: ping pong");

    // b goes to another G, which answers a datagram on it; main's handle is closed by the send.
    let (sock_tx, sock_rx) = gmp::chan::<UdpSocket>(1);
    gmp::go!(sock_rx => {
        let b = sock_rx.recv().expect("the socket arrives");
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).expect("receive in the other G");
        let mut reply = b"ack ".to_vec();
        reply.extend_from_slice(&buf[..n]);
        b.send_to(&reply, from).expect("reply from the other G");
    });
    sock_tx.send(b);
    a.send_to(b"hello", b_addr).expect("send hello");
    let (n, from) = a.recv_from(&mut buf).expect("receive the reply");
    if &buf[..n] == b"ack hello" && from == b_addr {
        println!("udp passed: ok");
    } else {
        println!("udp passed: got {:?} from {from}", String::from_utf8_lossy(&buf[..n]));
    }
}
