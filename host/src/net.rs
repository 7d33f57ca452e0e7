//! Sockets as G-held objects, and the network policy that says which addresses a program may use.
//!
//! # Types
//! - [`Socket`]: a non-blocking mio socket registered with the scheduler's netpoller, deregistered when the
//!   last handle to it (in any G, or in a queued message) is gone.
//! - [`NetPolicy`]: the `--net` rules. A program may listen on or connect to an address only if a rule
//!   allows it; by default, loopback only. Anything else fails with "permission denied", never silently.
//! - [`errno`]: the ABI's error codes (`wit/net.wit`), from `std::io::ErrorKind`.
//!
//! Every operation follows the netpoller's protocol (see `gmp_sched::netpoll`): read the readiness number,
//! try, and on `WouldBlock` park until the number moves. So "would block" never reaches the guest.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use gmp_sched::{Dir, PollDesc, Sched};

/// A registered non-blocking socket.
pub struct Socket<T: mio::event::Source> {
    pub(crate) io: T,
    pub(crate) pd: Arc<PollDesc>,
    sched: Arc<Sched>,
}

impl<T: mio::event::Source> Socket<T> {
    /// Register `io` with `sched`'s netpoller.
    pub(crate) fn new(sched: &Arc<Sched>, mut io: T) -> io::Result<Arc<Socket<T>>> {
        let pd = sched.netpoll().register(&mut io)?;
        Ok(Arc::new(Socket { io, pd, sched: sched.clone() }))
    }

    /// Run `op` until it does not say `WouldBlock`, parking the calling G in between.
    pub(crate) async fn io<R>(&self, dir: Dir, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            let seq = self.pd.seq(dir);
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    gmp_sched::io_wait(&self.sched, &self.pd, dir, seq).await;
                }
                r => return r,
            }
        }
    }

    /// The readiness number of `dir`, for callers that must try an operation themselves (with guest memory
    /// borrowed between awaits).
    pub(crate) fn seq(&self, dir: Dir) -> u64 {
        self.pd.seq(dir)
    }

    /// Park until `dir` readiness moves past `seq`.
    pub(crate) async fn wait(&self, dir: Dir, seq: u64) {
        gmp_sched::io_wait(&self.sched, &self.pd, dir, seq).await
    }
}

impl<T: mio::event::Source> Drop for Socket<T> {
    fn drop(&mut self) {
        self.sched.netpoll().deregister(&mut self.io, &self.pd);
    }
}

/// A listening TCP socket.
pub type TcpListenerRef = Arc<Socket<mio::net::TcpListener>>;
/// A connected TCP socket.
pub type TcpStreamRef = Arc<Socket<mio::net::TcpStream>>;
/// A UDP socket.
pub type UdpRef = Arc<Socket<mio::net::UdpSocket>>;

/// What a rule permits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetUse {
    /// Listening or binding (TCP listen, UDP bind).
    Listen,
    /// Connecting or sending to (TCP connect, UDP send_to).
    Connect,
}

/// One `--net` rule: a use (or both), an address (or any), a port (or any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    use_: Option<NetUse>,
    ip: Option<IpAddr>,
    port: Option<u16>,
}

/// The `--net` rules of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetPolicy {
    rules: Vec<NetRule>,
    loopback: bool,
}

impl Default for NetPolicy {
    /// Loopback only, any port, both uses.
    fn default() -> Self {
        NetPolicy { rules: Vec::new(), loopback: true }
    }
}

impl NetPolicy {
    /// No network at all.
    pub fn none() -> NetPolicy {
        NetPolicy { rules: Vec::new(), loopback: false }
    }

    /// Add a rule in `--net` syntax: `[listen=|connect=]IP:PORT` where IP and PORT may be `*`
    /// (`[IPV6]:PORT` for IPv6), or `*` alone for everything, or `none` to drop every rule so far, loopback
    /// included.
    ///
    /// # Errors
    /// A rule that does not parse, with what was wrong.
    pub fn add(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule == "none" {
            *self = NetPolicy::none();
            return Ok(());
        }
        if rule == "*" {
            self.rules.push(NetRule { use_: None, ip: None, port: None });
            return Ok(());
        }
        let (use_, addr) = match rule.split_once('=') {
            Some(("listen", a)) => (Some(NetUse::Listen), a),
            Some(("connect", a)) => (Some(NetUse::Connect), a),
            Some((k, _)) => return Err(format!("--net {rule}: `{k}` is not `listen` or `connect`")),
            None => (None, rule),
        };
        let (host, port) = addr.rsplit_once(':').ok_or_else(|| format!("--net {rule}: expected IP:PORT"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = match host {
            "*" => None,
            "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
            h => Some(h.parse().map_err(|_| format!("--net {rule}: `{h}` is not an IP address or `*`"))?),
        };
        let port = match port {
            "*" => None,
            p => Some(p.parse().map_err(|_| format!("--net {rule}: `{p}` is not a port or `*`"))?),
        };
        self.rules.push(NetRule { use_, ip, port });
        Ok(())
    }

    /// May the program use `addr` this way? Listening on the unspecified address (0.0.0.0) needs a rule
    /// for it: it exposes the program beyond loopback.
    pub fn allows(&self, use_: NetUse, addr: &SocketAddr) -> bool {
        if self.loopback && addr.ip().is_loopback() {
            return true;
        }
        self.rules.iter().any(|r| {
            r.use_.is_none_or(|u| u == use_)
                && r.ip.is_none_or(|ip| ip == addr.ip())
                && r.port.is_none_or(|p| p == addr.port())
        })
    }
}

/// Parse an ABI address string: `ip:port`, `[ipv6]:port`, or `localhost:port`.
pub fn parse_addr(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let port = s.strip_prefix("localhost:")?.parse().ok()?;
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The ABI's error code for an I/O error (`wit/net.wit`), as the negative value a call returns.
pub fn errno(e: &io::Error) -> i32 {
    use io::ErrorKind::*;
    -match e.kind() {
        PermissionDenied => 1,
        ConnectionRefused => 2,
        ConnectionReset => 3,
        ConnectionAborted => 4,
        NotConnected => 5,
        AddrInUse => 6,
        AddrNotAvailable => 7,
        BrokenPipe => 8,
        InvalidInput => 9,
        TimedOut => 10,
        HostUnreachable | NetworkUnreachable => 11,
        _ => 12,
    }
}

/// `-errno` for "the address is not allowed".
pub const EPERM: i32 = -1;
/// `-errno` for "malformed address or argument".
pub const EINVAL: i32 = -9;

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_policy_is_loopback_only() {
        let p = NetPolicy::default();
        assert!(p.allows(NetUse::Listen, &a("127.0.0.1:80")));
        assert!(p.allows(NetUse::Connect, &a("[::1]:9")));
        assert!(!p.allows(NetUse::Connect, &a("10.1.2.3:80")));
        assert!(!p.allows(NetUse::Listen, &a("0.0.0.0:8080")));
    }

    #[test]
    fn rules_widen_and_none_narrows() {
        let mut p = NetPolicy::default();
        p.add("connect=10.1.2.3:443").unwrap();
        p.add("listen=0.0.0.0:*").unwrap();
        assert!(p.allows(NetUse::Connect, &a("10.1.2.3:443")));
        assert!(!p.allows(NetUse::Connect, &a("10.1.2.3:80")));
        assert!(!p.allows(NetUse::Listen, &a("10.1.2.3:443")));
        assert!(p.allows(NetUse::Listen, &a("0.0.0.0:8080")));
        p.add("none").unwrap();
        assert!(!p.allows(NetUse::Listen, &a("127.0.0.1:80")));
        p.add("*").unwrap();
        assert!(p.allows(NetUse::Connect, &a("8.8.8.8:53")));
        assert!(p.add("bind=1.2.3.4:5").is_err());
        assert!(p.add("1.2.3.4").is_err());
        assert!(p.add("x.y:5").is_err());
    }

    #[test]
    fn addresses_parse_with_localhost() {
        assert_eq!(parse_addr("localhost:80"), Some(a("127.0.0.1:80")));
        assert_eq!(parse_addr("[::1]:80"), Some(a("[::1]:80")));
        assert_eq!(parse_addr("example.com:80"), None);
    }
}
