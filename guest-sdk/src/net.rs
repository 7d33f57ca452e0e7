//! TCP and UDP sockets on the runtime's netpoller: [`TcpListener`], [`TcpStream`], [`UdpSocket`], and the
//! [`ToAddr`] trait for the addresses they take.
//!
//! They follow `std::net` (which cannot open sockets under WASI preview 1), and for a G they behave like
//! blocking sockets: a call that cannot go on yet parks only the calling G while the runtime waits for the
//! socket on its netpoller, so "would block" never reaches the program, and serving many connections is a G
//! per connection, as in Go:
//!
//! ```
//! use std::io::{Read, Write};
//! use gmp::net::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! gmp::go_with(addr.to_string(), |addr| {
//!     let mut conn = TcpStream::connect(addr).unwrap();
//!     conn.write_all(b"hi").unwrap();
//! });
//! let (mut conn, peer) = listener.accept()?;
//! let mut text = String::new();
//! conn.read_to_string(&mut text)?;
//! println!("{peer} sent {text}");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Errors are `std::io::Error`s whose kind is the one the runtime's error code stands for (`wit/net.wit`) and
//! whose message names the operation, as in `connect 127.0.0.1:1: connection refused`. Which addresses a
//! program may use is the runtime's decision: by default it may listen on loopback and connect only to its
//! own listeners (and send UDP only to its own sockets); `wasm-gmp run --net` grants more. The others fail
//! with `PermissionDenied`, and the message names the flag that would grant them. Addresses are `ip:port` strings, resolved by the runtime: no names but `localhost`.
//!
//! A socket is a handle, so it is a [`Message`]: a [`TcpStream`] sent to another G (with
//! [`go_with`](crate::go_with) or over a channel) gives that G its own handle to the same connection, and the
//! sender's copy is closed with the value, as for channel ends. A socket closes when the last handle to it, in
//! any G, is gone; `try_clone` makes a second handle in the same G, to read in one G and write in another.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::{DecodeError, Decoder, Encoder, Message, sys};

/// The room given for an address the runtime writes: the longest `SocketAddr` text, an IPv6 address with a
/// scope id and a port (`[ffff:…:ffff%4294967295]:65535`), is 58 bytes.
const ADDR_CAP: usize = 64;

/// The listen backlog: enough queued connections for a burst while the accepting G is busy, as Go's default
/// (the system's `somaxconn`, which caps it anyway) is.
const BACKLOG: u32 = 1024;

/// Reads and writes larger than this are split: results travel as a non-negative `i32`.
const MAX_IO: usize = i32::MAX as usize;

/// Something that names a socket address, for the functions that take one: `&str` and `String` (`ip:port`,
/// `[ipv6]:port` or `localhost:port`), `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`, and `(ip, port)` tuples
/// of an `IpAddr`, `Ipv4Addr`, `Ipv6Addr` or `&str`, plus references to any of these.
///
/// The runtime takes addresses as text and resolves no host names but `localhost`; a malformed address fails
/// with `InvalidInput`.
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// use gmp::net::{TcpListener, ToAddr};
///
/// let a = TcpListener::bind("127.0.0.1:0")?;
/// let b = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
/// let c = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
/// assert_eq!(("::1", 80).to_addr(), "[::1]:80");
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ToAddr {
    /// The address as the text the runtime reads.
    ///
    /// ```
    /// use gmp::net::ToAddr;
    ///
    /// assert_eq!(("localhost", 8080).to_addr(), "localhost:8080");
    /// ```
    fn to_addr(&self) -> Cow<'_, str>;
}

impl ToAddr for str {
    fn to_addr(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl ToAddr for String {
    fn to_addr(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl ToAddr for SocketAddr {
    fn to_addr(&self) -> Cow<'_, str> {
        // `SocketAddr`'s text is the runtime's syntax, brackets around IPv6 included.
        Cow::Owned(self.to_string())
    }
}

impl ToAddr for SocketAddrV4 {
    fn to_addr(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl ToAddr for SocketAddrV6 {
    fn to_addr(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl ToAddr for (IpAddr, u16) {
    fn to_addr(&self) -> Cow<'_, str> {
        Cow::Owned(SocketAddr::from(*self).to_string())
    }
}

impl ToAddr for (Ipv4Addr, u16) {
    fn to_addr(&self) -> Cow<'_, str> {
        Cow::Owned(SocketAddrV4::new(self.0, self.1).to_string())
    }
}

impl ToAddr for (Ipv6Addr, u16) {
    fn to_addr(&self) -> Cow<'_, str> {
        Cow::Owned(SocketAddrV6::new(self.0, self.1, 0, 0).to_string())
    }
}

/// A host (an IP address or `localhost`) and a port; an IPv6 host gets the brackets the syntax needs.
impl ToAddr for (&str, u16) {
    fn to_addr(&self) -> Cow<'_, str> {
        let (host, port) = *self;
        if host.contains(':') && !host.starts_with('[') {
            Cow::Owned(format!("[{host}]:{port}"))
        } else {
            Cow::Owned(format!("{host}:{port}"))
        }
    }
}

impl<T: ToAddr + ?Sized> ToAddr for &T {
    fn to_addr(&self) -> Cow<'_, str> {
        (**self).to_addr()
    }
}

/// A socket call's result: the value when it is not negative, else the error its code stands for, with a
/// message naming `op` (and the address, when there is one).
#[inline]
fn check(ret: i32, op: &str, addr: Option<&str>) -> io::Result<u32> {
    match u32::try_from(ret) {
        Ok(v) => Ok(v),
        Err(_) => Err(error(ret.unsigned_abs(), op, addr)),
    }
}

/// The `std::io::Error` for the runtime's error `code` (`wit/net.wit`).
#[cold]
fn error(code: u32, op: &str, addr: Option<&str>) -> io::Error {
    let (kind, text) = match code.try_into() {
        Ok(sys::NET_ERR_PERMISSION_DENIED) => (ErrorKind::PermissionDenied, "permission denied"),
        Ok(sys::NET_ERR_CONNECTION_REFUSED) => (ErrorKind::ConnectionRefused, "connection refused"),
        Ok(sys::NET_ERR_CONNECTION_RESET) => (ErrorKind::ConnectionReset, "connection reset by peer"),
        Ok(sys::NET_ERR_CONNECTION_ABORTED) => (ErrorKind::ConnectionAborted, "connection aborted"),
        Ok(sys::NET_ERR_NOT_CONNECTED) => (ErrorKind::NotConnected, "not connected"),
        Ok(sys::NET_ERR_ADDR_IN_USE) => (ErrorKind::AddrInUse, "address in use"),
        Ok(sys::NET_ERR_ADDR_NOT_AVAILABLE) => (ErrorKind::AddrNotAvailable, "address not available"),
        Ok(sys::NET_ERR_BROKEN_PIPE) => (ErrorKind::BrokenPipe, "broken pipe"),
        Ok(sys::NET_ERR_INVALID_INPUT) => (ErrorKind::InvalidInput, "invalid address or argument"),
        Ok(sys::NET_ERR_TIMED_OUT) => (ErrorKind::TimedOut, "timed out"),
        Ok(sys::NET_ERR_UNREACHABLE) => (ErrorKind::HostUnreachable, "host or network unreachable"),
        // The ABI says 12 is "other"; a code this SDK does not know yet is reported the same way.
        _ => (ErrorKind::Other, "network error"),
    };
    let text = if code == sys::NET_ERR_OTHER as u32 || kind != ErrorKind::Other {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{text} (runtime error code {code})"))
    };
    let message = match addr {
        // Say which flag would grant it: the runtime's policy is the user's to widen, not the program's.
        Some(addr) if kind == ErrorKind::PermissionDenied => {
            let rule = if matches!(op, "listen" | "bind") { "listen" } else { "connect" };
            format!("{op} {addr}: {text} by the runtime's network policy (wasm-gmp run --net {rule}={addr} grants it)")
        }
        Some(addr) => format!("{op} {addr}: {text}"),
        None => format!("{op}: {text}"),
    };
    io::Error::new(kind, message)
}

/// Parses an address the runtime wrote: `len` bytes of `buf` (the runtime may report more than it had room
/// for; that cannot happen for a real address in `ADDR_CAP` bytes, and fails to parse if it does).
fn parse_addr(buf: &[u8; ADDR_CAP], len: u32, op: &str) -> io::Result<SocketAddr> {
    let text = buf.get(..len as usize).and_then(|b| core::str::from_utf8(b).ok());
    text.and_then(|t| t.parse().ok()).ok_or_else(|| {
        io::Error::new(ErrorKind::InvalidData, format!("{op}: the runtime returned a malformed address ({len} bytes)"))
    })
}

/// Socket `h`'s own or peer address, through `call` (`sock_local_addr` or `sock_peer_addr`).
fn sock_addr(h: u32, call: unsafe extern "C" fn(u32, *mut u8, usize) -> i32, op: &str) -> io::Result<SocketAddr> {
    let mut buf = [0u8; ADDR_CAP];
    // SAFETY: `buf` is a local, writable for the `ADDR_CAP` bytes passed, and nothing else refers to it.
    let len = check(unsafe { call(h, buf.as_mut_ptr(), ADDR_CAP) }, op, None)?;
    parse_addr(&buf, len, op)
}

/// A second handle to socket `h`, as the `try_clone`s return.
fn dup(h: u32) -> io::Result<u32> {
    // Duplicating a handle this G holds cannot fail (the runtime traps on one it does not hold, which safe
    // code cannot have): the `io::Result` is only there to match std's `try_clone`.
    Ok(sys::handle_dup(h))
}

/// A TCP socket listening for connections.
///
/// ```
/// use std::io::Write;
///
/// let listener = gmp::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?.to_string();
/// # gmp::go_with(addr, |addr| for _ in 0..3 { let mut c = gmp::net::TcpStream::connect(&addr).unwrap(); let mut s = String::new(); std::io::Read::read_to_string(&mut c, &mut s).unwrap(); assert_eq!(s, "hello\n"); });
/// for conn in listener.incoming().take(3) {
///     gmp::go_with(conn?, |mut conn| {
///         let _ = conn.write_all(b"hello\n");
///     });
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    handle: u32,
}

impl TcpListener {
    /// Listens on `addr`; port 0 picks a free port, which [`local_addr`](TcpListener::local_addr) tells.
    ///
    /// # Errors
    /// `AddrInUse` if something else listens there, `PermissionDenied` if the runtime does not allow the
    /// address, `InvalidInput` if it is malformed.
    ///
    /// ```
    /// let listener = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// println!("listening on {}", listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToAddr>(addr: A) -> io::Result<TcpListener> {
        let addr = addr.to_addr();
        // SAFETY: the pointer and length describe `addr`'s text, which lives across the call.
        let ret = unsafe { sys::tcp_listen(addr.as_ptr(), addr.len(), BACKLOG) };
        let handle = check(ret, "listen", Some(&addr))?;
        Ok(TcpListener { handle })
    }

    /// Waits for a connection (parking this G) and returns it with the peer's address.
    ///
    /// ```
    /// let listener = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// # gmp::go_with(listener.local_addr()?.to_string(), |a| drop(gmp::net::TcpStream::connect(a)));
    /// let (conn, peer) = listener.accept()?;
    /// println!("connection from {peer}");
    /// assert_eq!(conn.peer_addr()?, peer);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut buf = [0u8; ADDR_CAP];
        let mut len = 0u32;
        // SAFETY: `buf` and `len` are locals, writable for the sizes passed, and nothing else refers to them.
        let ret = unsafe { sys::tcp_accept(self.handle, buf.as_mut_ptr(), ADDR_CAP, &mut len) };
        // The stream owns its handle before anything else can fail, so an error below still closes it.
        let stream = TcpStream { handle: check(ret, "accept", None)? };
        Ok((stream, parse_addr(&buf, len, "accept")?))
    }

    /// An endless iterator of [`accept`](TcpListener::accept)ed connections (without the peer addresses).
    ///
    /// ```
    /// let listener = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// # gmp::go_with(listener.local_addr()?.to_string(), |a| for _ in 0..2 { drop(gmp::net::TcpStream::connect(&a)) });
    /// for conn in listener.incoming().take(2) {
    ///     let conn = conn?;
    ///     println!("connection from {}", conn.peer_addr()?);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to, with the actual port when it was bound to port 0.
    ///
    /// ```
    /// let listener = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_addr(self.handle, sys::sock_local_addr, "local address")
    }

    /// A second handle to the same listener, for accepting in two places.
    ///
    /// ```
    /// let listener = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// let other = listener.try_clone()?;
    /// assert_eq!(other.local_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener { handle: dup(self.handle)? })
    }
}

/// The iterator from [`TcpListener::incoming`]: each item is one `accept`; it never ends.
///
/// ```
/// let listener = gmp::net::TcpListener::bind("127.0.0.1:0")?;
/// # gmp::go_with(listener.local_addr()?.to_string(), |a| drop(gmp::net::TcpStream::connect(a)));
/// let mut incoming: gmp::net::Incoming<'_> = listener.incoming();
/// let first = incoming.next().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}

/// A TCP connection. Read and write it through `std::io::Read` and `Write`, on the stream or on a shared
/// reference to it (`&TcpStream`), as with `std::net::TcpStream`; writes are not buffered, so `flush` does
/// nothing.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
///
/// # let server = gmp::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = server.local_addr()?.to_string();
/// # gmp::go_with(server, |s| { let (mut c, _) = s.accept().unwrap(); c.write_all(b"HTTP/1.0 200 OK\r\n\r\n").unwrap(); });
/// let mut conn = gmp::net::TcpStream::connect(&addr)?; // a server's address, such as "127.0.0.1:8080"
/// conn.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
/// let mut status = String::new();
/// BufReader::new(&conn).read_line(&mut status)?;
/// print!("{status}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    handle: u32,
}

impl TcpStream {
    /// Connects to `addr`, parking this G until the connection is made or fails.
    ///
    /// # Errors
    /// `ConnectionRefused` when nothing listens there, `PermissionDenied` if the runtime does not allow the
    /// address, `InvalidInput` if it is malformed; others as the network reports them.
    ///
    /// ```
    /// match gmp::net::TcpStream::connect("127.0.0.1:1") {
    ///     Ok(_) => println!("connected"),
    ///     Err(e) => println!("{:?}: {e}", e.kind()), // ConnectionRefused: connect 127.0.0.1:1: connection refused
    /// }
    /// ```
    pub fn connect<A: ToAddr>(addr: A) -> io::Result<TcpStream> {
        let addr = addr.to_addr();
        // SAFETY: the pointer and length describe `addr`'s text, which lives across the call.
        let ret = unsafe { sys::tcp_connect(addr.as_ptr(), addr.len()) };
        let handle = check(ret, "connect", Some(&addr))?;
        Ok(TcpStream { handle })
    }

    /// The address of the other end.
    ///
    /// ```
    /// # let server = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = server.local_addr()?.to_string();
    /// # gmp::go_with(server, |s| { let (mut c, _) = s.accept().unwrap(); let _ = std::io::copy(&mut c.try_clone().unwrap(), &mut c); });
    /// let conn = gmp::net::TcpStream::connect(&addr)?;
    /// assert_eq!(conn.peer_addr()?.to_string(), addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sock_addr(self.handle, sys::sock_peer_addr, "peer address")
    }

    /// The address of this end.
    ///
    /// ```
    /// # let server = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = server.local_addr()?.to_string();
    /// # gmp::go_with(server, |s| { let (mut c, _) = s.accept().unwrap(); let _ = std::io::copy(&mut c.try_clone().unwrap(), &mut c); });
    /// let conn = gmp::net::TcpStream::connect(&addr)?;
    /// println!("from {}", conn.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_addr(self.handle, sys::sock_local_addr, "local address")
    }

    /// Shuts down reading, writing or both, for every handle to the connection. After `Shutdown::Write` the
    /// peer reads end of stream, while this end can still read its answer.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    ///
    /// # let server = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = server.local_addr()?.to_string();
    /// # gmp::go_with(server, |s| { let (mut c, _) = s.accept().unwrap(); let _ = std::io::copy(&mut c.try_clone().unwrap(), &mut c); });
    /// let mut conn = gmp::net::TcpStream::connect(&addr)?;
    /// conn.write_all(b"request")?;
    /// conn.shutdown(Shutdown::Write)?; // the peer reads to the end, answers, closes
    /// let mut answer = Vec::new();
    /// conn.read_to_end(&mut answer)?;
    /// assert_eq!(answer, b"request"); // this peer echoes
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => sys::SHUTDOWN_READ,
            Shutdown::Write => sys::SHUTDOWN_WRITE,
            Shutdown::Both => sys::SHUTDOWN_BOTH,
        };
        check(sys::tcp_shutdown(self.handle, how), "shutdown", None).map(drop)
    }

    /// Sets `TCP_NODELAY`: `true` sends small writes at once instead of letting the stack batch them
    /// (Nagle's algorithm), for request/response traffic that waits on each reply.
    ///
    /// ```
    /// # let server = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = server.local_addr()?.to_string();
    /// # gmp::go_with(server, |s| { let (mut c, _) = s.accept().unwrap(); let _ = std::io::copy(&mut c.try_clone().unwrap(), &mut c); });
    /// let conn = gmp::net::TcpStream::connect(&addr)?;
    /// conn.set_nodelay(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        check(sys::tcp_set_nodelay(self.handle, u32::from(nodelay)), "set_nodelay", None).map(drop)
    }

    /// A second handle to the same connection, for example to read in one G and write in another.
    ///
    /// ```
    /// use std::io::{BufRead, BufReader, Write};
    ///
    /// # let server = gmp::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = server.local_addr()?.to_string();
    /// # gmp::go_with(server, |s| { let (mut c, _) = s.accept().unwrap(); let _ = std::io::copy(&mut c.try_clone().unwrap(), &mut c); });
    /// let conn = gmp::net::TcpStream::connect(&addr)?;
    /// let writer = conn.try_clone()?;
    /// gmp::go_with(writer, |mut w| {
    ///     let _ = w.write_all(b"ping\n");
    /// });
    /// let mut line = String::new();
    /// BufReader::new(&conn).read_line(&mut line)?; // this peer echoes
    /// assert_eq!(line, "ping\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream { handle: dup(self.handle)? })
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // An empty read would have nothing to wait for; it returns 0 without a host call, as the
        // `Read` contract allows.
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(MAX_IO);
        // SAFETY: `buf` is an exclusive borrow, writable for at least `len` bytes.
        let ret = unsafe { sys::sock_read(self.handle, buf.as_mut_ptr(), len) };
        check(ret, "read", None).map(|n| n as usize)
    }

    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(MAX_IO);
        // SAFETY: `buf` is a live borrow, readable for at least `len` bytes.
        let ret = unsafe { sys::sock_write(self.handle, buf.as_ptr(), len) };
        check(ret, "write", None).map(|n| n as usize)
    }
}

/// Reads park this G until data arrives; `Ok(0)` is end of stream.
impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
}

/// As for `TcpStream`: reading needs no exclusive access to the handle.
impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
}

/// Writes park this G until the socket takes some bytes.
impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// As for `TcpStream`: writing needs no exclusive access to the handle.
impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A UDP socket.
///
/// ```
/// # let peer = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
/// # let peer_addr = peer.local_addr()?.to_string();
/// # gmp::go_with(peer, |p| { let mut b = [0u8; 64]; let (n, from) = p.recv_from(&mut b).unwrap(); p.send_to(&b[..n], from).unwrap(); });
/// let socket = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
/// socket.send_to(b"ping", &peer_addr)?; // an echo server, such as "127.0.0.1:9999"
/// let mut buf = [0u8; 1500];
/// let (n, from) = socket.recv_from(&mut buf)?;
/// println!("{n} bytes from {from}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    handle: u32,
}

impl UdpSocket {
    /// A socket bound to `addr`; port 0 picks a free port.
    ///
    /// # Errors
    /// `AddrInUse`, `PermissionDenied` or `InvalidInput`, as for [`TcpListener::bind`].
    ///
    /// ```
    /// let socket = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToAddr>(addr: A) -> io::Result<UdpSocket> {
        let addr = addr.to_addr();
        // SAFETY: the pointer and length describe `addr`'s text, which lives across the call.
        let ret = unsafe { sys::udp_bind(addr.as_ptr(), addr.len()) };
        let handle = check(ret, "bind", Some(&addr))?;
        Ok(UdpSocket { handle })
    }

    /// Sends `buf` as one datagram to `addr`; returns how many bytes were sent.
    ///
    /// Sending to an address that is not one of the program's own sockets needs the runtime's grant
    /// (`--net connect=ADDR`), as connecting does; without it the result is `PermissionDenied`.
    ///
    /// ```
    /// let socket = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let peer = gmp::net::UdpSocket::bind("127.0.0.1:0")?; // the program's own: no grant needed
    /// let n = socket.send_to(b"ping", peer.local_addr()?)?;
    /// assert_eq!(n, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<A: ToAddr>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let addr = addr.to_addr();
        // A datagram is sent whole or not at all; one past the result's range could not be either.
        let len = i32::try_from(buf.len())
            .map_err(|_| io::Error::new(ErrorKind::InvalidInput, "send_to: datagram too large"))?;
        // SAFETY: both pointer/length pairs describe live borrows (`buf`, `addr`'s text) that outlive the call.
        let ret = unsafe { sys::udp_send_to(self.handle, buf.as_ptr(), len as usize, addr.as_ptr(), addr.len()) };
        check(ret, "send_to", Some(&addr)).map(|n| n as usize)
    }

    /// Waits for a datagram (parking this G) and copies it into `buf`; returns its length and sender. Bytes
    /// past `buf`'s length are dropped, as with `std::net::UdpSocket`.
    ///
    /// ```
    /// let socket = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # let sender = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # sender.send_to(b"hello", socket.local_addr()?)?;
    /// let mut buf = [0u8; 1500];
    /// let (n, from) = socket.recv_from(&mut buf)?;
    /// socket.send_to(&buf[..n], from)?; // echo it
    /// # assert_eq!(sender.recv_from(&mut buf)?.0, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let len = buf.len().min(MAX_IO);
        let mut from = [0u8; ADDR_CAP];
        let mut from_len = 0u32;
        // SAFETY: `buf` is an exclusive borrow writable for `len` bytes; `from` and `from_len` are locals,
        // writable for the sizes passed; nothing else refers to any of them.
        let ret = unsafe {
            sys::udp_recv_from(self.handle, buf.as_mut_ptr(), len, from.as_mut_ptr(), ADDR_CAP, &mut from_len)
        };
        let n = check(ret, "recv_from", None)?;
        Ok((n as usize, parse_addr(&from, from_len, "recv_from")?))
    }

    /// The address the socket is bound to, with the actual port when it was bound to port 0.
    ///
    /// ```
    /// let socket = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
    /// println!("bound to {}", socket.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_addr(self.handle, sys::sock_local_addr, "local address")
    }

    /// A second handle to the same socket.
    ///
    /// ```
    /// let socket = gmp::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let other = socket.try_clone()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket { handle: dup(self.handle)? })
    }
}

/// Implements `Drop`, `Debug` and `Message` for a socket type: the three are the same but for the name and
/// which addresses are worth showing.
macro_rules! socket_common {
    ($ty:ident, $what:literal, $($field:literal => $addr:ident),*) => {
        #[doc = concat!("Releases this handle; the ", $what, " closes once no G holds one.")]
        impl Drop for $ty {
            fn drop(&mut self) {
                sys::handle_close(self.handle);
            }
        }

        /// Shows the handle and, when the runtime can tell them, the addresses.
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut d = f.debug_struct(stringify!($ty));
                d.field("handle", &self.handle);
                $(
                    if let Ok(addr) = self.$addr() {
                        d.field($field, &addr);
                    }
                )*
                d.finish()
            }
        }

        #[doc = concat!("A ", $what, " travels as its handle; the receiving G gets its own.")]
        impl Message for $ty {
            fn encode(&self, enc: &mut Encoder) {
                enc.push_handle(self.handle);
            }

            fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok($ty {
                    handle: dec.take_handle()?,
                })
            }
        }
    };
}

socket_common!(TcpListener, "listener", "addr" => local_addr);
socket_common!(TcpStream, "connection", "addr" => local_addr, "peer" => peer_addr);
socket_common!(UdpSocket, "socket", "addr" => local_addr);
