//! Sockets as G-held objects, and the network policy that says which addresses a program may use.
//!
//! # Types
//! - [`Socket`]: a non-blocking mio socket registered with the scheduler's netpoller, deregistered when the
//!   last handle to it (in any G, or in a queued message) is gone.
//! - [`NetPolicy`]: the `--net` rules. By default a program may listen on loopback and connect only to its
//!   own listeners ([`OwnPorts`]): a service of the machine listening on 127.0.0.1 (a database, an admin
//!   endpoint) is as far out of an untrusted program's reach as one on another host. Rules grant the rest.
//!   Anything not granted fails with "permission denied", never silently.
//! - [`OwnPorts`]: the addresses a program's own TCP listeners and UDP sockets are bound to, registered
//!   while each socket lives, unregistered before it closes (so a port freed and taken by another process
//!   is never "own" for a moment).
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
    /// Declared before `io`: a listener's address stops being the program's own before the socket closes.
    _own: Option<Owned>,
    pub(crate) io: T,
    pub(crate) pd: Arc<PollDesc>,
    sched: Arc<Sched>,
}

impl<T: mio::event::Source> Socket<T> {
    /// Register `io` with `sched`'s netpoller.
    pub(crate) fn new(sched: &Arc<Sched>, mut io: T) -> io::Result<Arc<Socket<T>>> {
        let pd = sched.netpoll().register(&mut io)?;
        Ok(Arc::new(Socket { _own: None, io, pd, sched: sched.clone() }))
    }

    /// Like [`Socket::new`], for a socket the program listens (TCP) or receives (UDP) on at `local`: it
    /// may connect (send) to that address while the socket lives.
    pub(crate) fn new_own(
        sched: &Arc<Sched>,
        mut io: T,
        own: &Arc<OwnPorts>,
        proto: Proto,
        local: SocketAddr,
    ) -> io::Result<Arc<Socket<T>>> {
        let pd = sched.netpoll().register(&mut io)?;
        let _own = Some(own.register(proto, local));
        Ok(Arc::new(Socket { _own, io, pd, sched: sched.clone() }))
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

/// A transport, for [`OwnPorts`]: a TCP listener is no UDP socket's peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// TCP listeners.
    Tcp,
    /// UDP sockets.
    Udp,
}

/// The local addresses of one program's listening sockets (see the module comment). A program may connect
/// to a loopback address one of them is bound to without a rule.
#[derive(Debug, Default)]
pub struct OwnPorts {
    bound: parking_lot::Mutex<Vec<(Proto, SocketAddr)>>,
}

impl OwnPorts {
    fn register(self: &Arc<Self>, proto: Proto, local: SocketAddr) -> Owned {
        let local = canonical(local);
        self.bound.lock().push((proto, local));
        Owned { ports: self.clone(), proto, local }
    }

    /// Is `to` a loopback address one of the program's own `proto` sockets is bound to? A socket bound to
    /// the unspecified address receives on every loopback address of its family (`[::]` on both).
    pub fn owns(&self, proto: Proto, to: &SocketAddr) -> bool {
        let to = canonical(*to);
        if !to.ip().is_loopback() {
            return false;
        }
        self.bound.lock().iter().any(|&(p, local)| {
            p == proto
                && local.port() == to.port()
                && (local.ip() == to.ip()
                    || (local.ip().is_unspecified() && (local.is_ipv6() || local.is_ipv4() == to.is_ipv4())))
        })
    }
}

/// One registration in [`OwnPorts`], removed when the socket holding it goes.
#[derive(Debug)]
struct Owned {
    ports: Arc<OwnPorts>,
    proto: Proto,
    local: SocketAddr,
}

impl Drop for Owned {
    fn drop(&mut self) {
        let mut bound = self.ports.bound.lock();
        if let Some(i) = bound.iter().position(|&b| b == (self.proto, self.local)) {
            bound.swap_remove(i);
        }
    }
}

/// `addr` with an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it stands for, so that
/// one rule, and one loopback check, covers both spellings.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

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
    /// Listening on loopback needs no rule (the default); `none` takes it away too.
    loopback_listen: bool,
}

impl Default for NetPolicy {
    /// Listen on loopback (any port); connect only to the program's own listeners ([`OwnPorts`]).
    fn default() -> Self {
        NetPolicy { rules: Vec::new(), loopback_listen: true }
    }
}

impl NetPolicy {
    /// No network at all: not even a loopback listener.
    pub fn none() -> NetPolicy {
        NetPolicy { rules: Vec::new(), loopback_listen: false }
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
            h => Some(
                h.parse::<IpAddr>()
                    .map_err(|_| format!("--net {rule}: `{h}` is not an IP address or `*`"))?
                    .to_canonical(),
            ),
        };
        let port = match port {
            "*" => None,
            p => Some(p.parse().map_err(|_| format!("--net {rule}: `{p}` is not a port or `*`"))?),
        };
        self.rules.push(NetRule { use_, ip, port });
        Ok(())
    }

    /// Do the rules let the program use `addr` this way? Listening on loopback needs none (unless the
    /// policy is `none`); listening on the unspecified address (0.0.0.0) does, as it exposes the program
    /// beyond loopback; connecting needs one, except to the program's own listeners, which the caller checks
    /// ([`OwnPorts::owns`]).
    pub fn allows(&self, use_: NetUse, addr: &SocketAddr) -> bool {
        let addr = canonical(*addr);
        if self.loopback_listen && use_ == NetUse::Listen && addr.ip().is_loopback() {
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
    fn by_default_a_program_listens_on_loopback_and_connects_nowhere() {
        let p = NetPolicy::default();
        assert!(p.allows(NetUse::Listen, &a("127.0.0.1:80")));
        assert!(p.allows(NetUse::Listen, &a("[::1]:0")));
        assert!(p.allows(NetUse::Listen, &a("[::ffff:127.0.0.1]:80")));
        assert!(!p.allows(NetUse::Listen, &a("0.0.0.0:8080")));
        for to in ["127.0.0.1:5432", "[::1]:9", "[::ffff:127.0.0.1]:6379", "10.1.2.3:80"] {
            assert!(!p.allows(NetUse::Connect, &a(to)), "{to}");
        }
    }

    #[test]
    fn a_program_owns_the_loopback_addresses_its_sockets_are_bound_to_while_they_live() {
        let own = Arc::new(OwnPorts::default());
        let v4 = own.register(Proto::Tcp, a("127.0.0.1:4000"));
        assert!(own.owns(Proto::Tcp, &a("127.0.0.1:4000")));
        assert!(own.owns(Proto::Tcp, &a("[::ffff:127.0.0.1]:4000")), "the v4-mapped spelling");
        assert!(!own.owns(Proto::Tcp, &a("[::1]:4000")), "another socket may listen on ::1");
        assert!(!own.owns(Proto::Tcp, &a("127.0.0.2:4000")));
        assert!(!own.owns(Proto::Tcp, &a("127.0.0.1:4001")));
        assert!(!own.owns(Proto::Udp, &a("127.0.0.1:4000")), "a TCP listener is no UDP peer");
        drop(v4);
        assert!(!own.owns(Proto::Tcp, &a("127.0.0.1:4000")), "gone with its socket");
        let any6 = own.register(Proto::Udp, a("[::]:5000"));
        assert!(own.owns(Proto::Udp, &a("[::1]:5000")) && own.owns(Proto::Udp, &a("127.0.0.1:5000")));
        assert!(!own.owns(Proto::Udp, &a("10.0.0.1:5000")), "only loopback is ever owned");
        drop(any6);
        let _any4 = own.register(Proto::Tcp, a("0.0.0.0:6000"));
        assert!(own.owns(Proto::Tcp, &a("127.0.0.1:6000")) && !own.owns(Proto::Tcp, &a("[::1]:6000")));
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
        let mut p = NetPolicy::default();
        p.add("connect=[::ffff:127.0.0.1]:5432").unwrap();
        assert!(p.allows(NetUse::Connect, &a("127.0.0.1:5432")), "one rule covers both spellings");
        assert!(p.allows(NetUse::Connect, &a("[::ffff:127.0.0.1]:5432")));
        assert!(!p.allows(NetUse::Connect, &a("[::1]:5432")));
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
