//! A closed-loop TCP echo load generator: N connections, each sending a message, waiting for its echo,
//! sending the next. Reports round trips per second and latency percentiles.
//!
//! Two event-loop threads (mio, one per core of this machine) drive the connections, so the client costs
//! the same whichever server it measures, and 1,000 connections do not mean 1,000 threads.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// What one run measured.
#[derive(Debug, Clone)]
pub struct EchoResult {
    pub conns: usize,
    pub round_trips: u64,
    pub secs: f64,
    /// Round-trip latencies, sorted, in nanoseconds.
    pub latencies: Vec<u64>,
}

impl EchoResult {
    pub fn per_sec(&self) -> f64 {
        self.round_trips as f64 / self.secs
    }

    pub fn percentile_us(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[i] as f64 / 1000.0
    }
}

struct Conn {
    s: TcpStream,
    msg: Vec<u8>,
    got: usize,
    sent_at: Instant,
}

/// Drive `conns` connections to `addr` for `warmup` then `measure`, messages of `size` bytes.
pub fn run(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<EchoResult> {
    let threads = 2.min(conns).max(1);
    let start = Instant::now() + Duration::from_millis(200);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let n = conns / threads + usize::from(t < conns % threads);
            std::thread::spawn(move || drive(addr, n, size, start, start + warmup, start + warmup + measure))
        })
        .collect();
    let mut res = EchoResult { conns, round_trips: 0, secs: measure.as_secs_f64(), latencies: Vec::new() };
    for h in handles {
        let (n, lat) = h.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        res.round_trips += n;
        res.latencies.extend(lat);
    }
    res.latencies.sort_unstable();
    Ok(res)
}

fn drive(
    addr: SocketAddr,
    n: usize,
    size: usize,
    start: Instant,
    from: Instant,
    until: Instant,
) -> anyhow::Result<(u64, Vec<u64>)> {
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let std = std::net::TcpStream::connect(addr)?;
        std.set_nodelay(true)?;
        std.set_nonblocking(true)?;
        let mut s = TcpStream::from_std(std);
        poll.registry().register(&mut s, Token(i), Interest::READABLE)?;
        let msg = (0..size).map(|b| (b + i) as u8).collect();
        conns.push(Conn { s, msg, got: 0, sent_at: Instant::now() });
    }
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    for c in &mut conns {
        c.sent_at = Instant::now();
        c.s.write_all(&c.msg)?;
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; size.max(4096)];
    let (mut count, mut lat) = (0u64, Vec::with_capacity(1 << 20));
    while Instant::now() < until {
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            loop {
                match c.s.read(&mut buf[..size - c.got]) {
                    Ok(0) => anyhow::bail!("the server closed a connection"),
                    Ok(k) => {
                        anyhow::ensure!(buf[..k] == c.msg[c.got..c.got + k], "echo mismatch");
                        c.got += k;
                        if c.got == size {
                            let now = Instant::now();
                            if now >= from && now < until {
                                count += 1;
                                lat.push((now - c.sent_at).as_nanos() as u64);
                            }
                            c.got = 0;
                            c.sent_at = now;
                            c.s.write_all(&c.msg)?;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok((count, lat))
}
