//! `wit/net.wit`: TCP and UDP sockets on the netpoller.
//!
//! Read and write work on the G's memory directly: each attempt borrows the memory, tries the non-blocking
//! call, and lets go before parking (memory cannot be held across a park), so no byte is copied twice.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::ops::Range;

use crate::dump::parked;
use gmp_sched::Dir;
use wasmtime::{Caller, Linker};

use super::{MODULE, handle_error, mem_and_data, region, write_u32s};
use crate::gstore::GData;
use crate::handles::Object;
use crate::net::{EINVAL, EPERM, NetUse, Proto, Socket, errno, parse_addr};

/// The address string at `ptr`/`len`, or None if it is not UTF-8 (the call then returns `EINVAL`).
fn read_addr(mem: &[u8], ptr: i32, len: i32, call: &str) -> wasmtime::Result<Option<SocketAddr>> {
    let r = region(mem.len(), ptr, len, 1, call, "the address")?;
    Ok(std::str::from_utf8(&mem[r]).ok().and_then(parse_addr))
}

/// The address at `ptr`/`len`, if it parses and the `--net` policy allows this use of it over `proto`
/// (connecting to one of the program's own `proto` sockets needs no rule); else the `-errno` to return
/// (`EINVAL`, `EPERM`).
fn allowed_addr(
    mem: &[u8],
    data: &GData,
    ptr: i32,
    len: i32,
    use_: NetUse,
    proto: Proto,
    call: &str,
) -> wasmtime::Result<Result<SocketAddr, i32>> {
    let run = &data.run;
    Ok(match read_addr(mem, ptr, len, call)? {
        None => Err(EINVAL),
        Some(addr) if run.opts.net.allows(use_, &addr) => Ok(addr),
        Some(addr) if use_ == NetUse::Connect && run.own_ports.owns(proto, &addr) => Ok(addr),
        Some(_) => Err(EPERM),
    })
}

/// Where an address result goes: a buffer and a 4-byte length slot, both checked up front.
struct AddrOut {
    buf: Range<usize>,
    len_at: usize,
}

impl AddrOut {
    fn check(mem_len: usize, buf: i32, cap: i32, len_out: i32, call: &str) -> wasmtime::Result<AddrOut> {
        Ok(AddrOut {
            buf: region(mem_len, buf, cap, 1, call, "the address buffer")?,
            len_at: region(mem_len, len_out, 1, 4, call, "the address length slot")?.start,
        })
    }

    fn write(&self, mem: &mut [u8], addr: &SocketAddr) {
        let n = write_str(mem, self.buf.clone(), &addr.to_string());
        write_u32s(mem, self.len_at, &[n]);
    }
}

/// Write `s` (truncated) into `buf`; returns the bytes written.
fn write_str(mem: &mut [u8], buf: Range<usize>, s: &str) -> u32 {
    let n = s.len().min(buf.len());
    mem[buf.start..buf.start + n].copy_from_slice(&s.as_bytes()[..n]);
    n as u32
}

/// A read or a write on stream `h` against `len` bytes of the G's memory at `buf`, retried (parking in
/// between) until it does not say "would block". Returns the byte count (0 at once for `len` 0), or
/// `-errno`.
async fn stream_io(
    caller: &mut Caller<'_, GData>,
    call: &str,
    h: i32,
    buf: i32,
    len: i32,
    dir: Dir,
    op: fn(&mio::net::TcpStream, &mut [u8]) -> io::Result<usize>,
) -> wasmtime::Result<i32> {
    let (s, buf) = {
        let (mem, data) = mem_and_data(caller, call)?;
        let s = data.handles.tcp_stream(h as u32).map_err(|e| handle_error(call, data.gid, e))?.clone();
        (s, region(mem.len(), buf, len, 1, call, "the buffer")?)
    };
    if buf.is_empty() {
        // POSIX: a transfer of 0 bytes returns 0 at once. Tried on the socket, a read of 0 would say "would
        // block" with nothing buffered, park until data came, then return 0: end of stream, with the data
        // still unread.
        return Ok(0);
    }
    loop {
        let seq = s.seq(dir);
        let r = {
            let (mem, _) = mem_and_data(caller, call)?;
            op(&s.io, &mut mem[buf.clone()])
        };
        match r {
            Ok(n) => return Ok(n as i32),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => parked(caller, &[], s.wait(dir, seq)).await,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Ok(errno(&e)),
        }
    }
}

fn listen(addr: SocketAddr, backlog: i32) -> io::Result<mio::net::TcpListener> {
    let sock = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into())?;
    sock.listen(backlog.clamp(1, 65_535))?;
    sock.set_nonblocking(true)?;
    Ok(mio::net::TcpListener::from_std(sock.into()))
}

/// Install a new socket object and return its handle (or `-errno` if it could not be registered).
fn install(data: &mut GData, call: &str, obj: io::Result<Object>) -> wasmtime::Result<i32> {
    match obj {
        Ok(obj) => Ok(data.handles.insert(obj).map_err(|e| handle_error(call, data.gid, e))? as i32),
        Err(e) => Ok(errno(&e)),
    }
}

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "tcp_listen",
        |mut caller: Caller<'_, GData>, ptr: i32, len: i32, backlog: i32| -> wasmtime::Result<i32> {
            let call = "tcp_listen";
            let (mem, data) = mem_and_data(&mut caller, call)?;
            let addr = match allowed_addr(mem, data, ptr, len, NetUse::Listen, Proto::Tcp, call)? {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let (sched, own) = (data.run.sched.clone(), data.run.own_ports.clone());
            let obj = listen(addr, backlog)
                .and_then(|l| {
                    let local = l.local_addr()?;
                    Socket::new_own(&sched, l, &own, Proto::Tcp, local)
                })
                .map(Object::TcpListener);
            install(data, call, obj)
        },
    )?;

    linker.func_wrap_async(
        MODULE,
        "tcp_accept",
        |mut caller: Caller<'_, GData>, (h, abuf, acap, alen): (i32, i32, i32, i32)| {
            Box::new(async move {
                let call = "tcp_accept";
                let (l, out, sched) = {
                    let (mem, data) = mem_and_data(&mut caller, call)?;
                    let l = data.handles.tcp_listener(h as u32).map_err(|e| handle_error(call, data.gid, e))?.clone();
                    (l, AddrOut::check(mem.len(), abuf, acap, alen, call)?, data.run.sched.clone())
                };
                let (stream, peer) = match parked(&mut caller, &[], l.io(Dir::Read, |io| io.accept())).await {
                    Ok(x) => x,
                    Err(e) => return Ok(errno(&e)),
                };
                // Go's default: no Nagle delay on TCP connections.
                let _ = stream.set_nodelay(true);
                let obj = Socket::new(&sched, stream).map(Object::TcpStream);
                let (mem, data) = mem_and_data(&mut caller, call)?;
                let h = install(data, call, obj)?;
                if h > 0 {
                    out.write(mem, &peer);
                }
                Ok(h)
            })
        },
    )?;

    linker.func_wrap_async(MODULE, "tcp_connect", |mut caller: Caller<'_, GData>, (ptr, len): (i32, i32)| {
        Box::new(async move {
            let call = "tcp_connect";
            let (addr, sched) = {
                let (mem, data) = mem_and_data(&mut caller, call)?;
                let addr = match allowed_addr(mem, data, ptr, len, NetUse::Connect, Proto::Tcp, call)? {
                    Ok(a) => a,
                    Err(code) => return Ok(code),
                };
                (addr, data.run.sched.clone())
            };
            let s = match mio::net::TcpStream::connect(addr).and_then(|c| Socket::new(&sched, c)) {
                Ok(s) => s,
                Err(e) => return Ok(errno(&e)),
            };
            // A non-blocking connect completes when the socket turns writable: then either an error is
            // pending or the peer address is known; "not connected" means not yet.
            loop {
                let seq = s.seq(Dir::Write);
                match s.io.take_error() {
                    Ok(Some(e)) | Err(e) => return Ok(errno(&e)),
                    Ok(None) => {}
                }
                match s.io.peer_addr() {
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        parked(&mut caller, &[], s.wait(Dir::Write, seq)).await
                    }
                    Err(e) => return Ok(errno(&e)),
                }
            }
            let _ = s.io.set_nodelay(true);
            let (_, data) = mem_and_data(&mut caller, call)?;
            install(data, call, Ok(Object::TcpStream(s)))
        })
    })?;

    linker.func_wrap_async(MODULE, "sock_read", |mut caller: Caller<'_, GData>, (h, buf, len): (i32, i32, i32)| {
        Box::new(async move { stream_io(&mut caller, "sock_read", h, buf, len, Dir::Read, |mut s, b| s.read(b)).await })
    })?;

    linker.func_wrap_async(MODULE, "sock_write", |mut caller: Caller<'_, GData>, (h, buf, len): (i32, i32, i32)| {
        Box::new(
            async move { stream_io(&mut caller, "sock_write", h, buf, len, Dir::Write, |mut s, b| s.write(b)).await },
        )
    })?;

    linker.func_wrap(
        MODULE,
        "tcp_shutdown",
        |caller: Caller<'_, GData>, h: i32, how: i32| -> wasmtime::Result<i32> {
            let data = caller.data();
            let s = data.handles.tcp_stream(h as u32).map_err(|e| handle_error("tcp_shutdown", data.gid, e))?;
            let how = match how {
                0 => Shutdown::Read,
                1 => Shutdown::Write,
                2 => Shutdown::Both,
                _ => return Ok(EINVAL),
            };
            Ok(s.io.shutdown(how).map_or_else(|e| errno(&e), |()| 0))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "tcp_set_nodelay",
        |caller: Caller<'_, GData>, h: i32, on: i32| -> wasmtime::Result<i32> {
            let data = caller.data();
            let s = data.handles.tcp_stream(h as u32).map_err(|e| handle_error("tcp_set_nodelay", data.gid, e))?;
            Ok(s.io.set_nodelay(on != 0).map_or_else(|e| errno(&e), |()| 0))
        },
    )?;

    for (name, peer) in [("sock_local_addr", false), ("sock_peer_addr", true)] {
        linker.func_wrap(
            MODULE,
            name,
            move |mut caller: Caller<'_, GData>, h: i32, buf: i32, cap: i32| -> wasmtime::Result<i32> {
                let (mem, data) = mem_and_data(&mut caller, name)?;
                let buf = region(mem.len(), buf, cap, 1, name, "the address buffer")?;
                let obj = data.handles.get(h as u32).map_err(|e| handle_error(name, data.gid, e))?;
                let addr = match (obj, peer) {
                    (Object::TcpListener(s), false) => s.io.local_addr(),
                    (Object::TcpStream(s), false) => s.io.local_addr(),
                    (Object::TcpStream(s), true) => s.io.peer_addr(),
                    (Object::Udp(s), false) => s.io.local_addr(),
                    (Object::Udp(s), true) => s.io.peer_addr(),
                    _ => {
                        return Err(super::abi_error(name, format!("handle {h} is not a socket with that address")));
                    }
                };
                Ok(addr.map_or_else(|e| errno(&e), |a| write_str(mem, buf, &a.to_string()) as i32))
            },
        )?;
    }

    linker.func_wrap(
        MODULE,
        "udp_bind",
        |mut caller: Caller<'_, GData>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let call = "udp_bind";
            let (mem, data) = mem_and_data(&mut caller, call)?;
            let addr = match allowed_addr(mem, data, ptr, len, NetUse::Listen, Proto::Udp, call)? {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let (sched, own) = (data.run.sched.clone(), data.run.own_ports.clone());
            let obj = mio::net::UdpSocket::bind(addr)
                .and_then(|u| {
                    let local = u.local_addr()?;
                    Socket::new_own(&sched, u, &own, Proto::Udp, local)
                })
                .map(Object::Udp);
            install(data, call, obj)
        },
    )?;

    linker.func_wrap_async(
        MODULE,
        "udp_send_to",
        |mut caller: Caller<'_, GData>, (h, buf, len, aptr, alen): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let call = "udp_send_to";
                let (s, buf, to) = {
                    let (mem, data) = mem_and_data(&mut caller, call)?;
                    let s = data.handles.udp(h as u32).map_err(|e| handle_error(call, data.gid, e))?.clone();
                    let buf = region(mem.len(), buf, len, 1, call, "the buffer")?;
                    let to = match allowed_addr(mem, data, aptr, alen, NetUse::Connect, Proto::Udp, call)? {
                        Ok(a) => a,
                        Err(code) => return Ok(code),
                    };
                    (s, buf, to)
                };
                loop {
                    let seq = s.seq(Dir::Write);
                    let r = {
                        let (mem, _) = mem_and_data(&mut caller, call)?;
                        s.io.send_to(&mem[buf.clone()], to)
                    };
                    match r {
                        Ok(n) => return Ok(n as i32),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            parked(&mut caller, &[], s.wait(Dir::Write, seq)).await
                        }
                        Err(e) => return Ok(errno(&e)),
                    }
                }
            })
        },
    )?;

    linker.func_wrap_async(
        MODULE,
        "udp_recv_from",
        |mut caller: Caller<'_, GData>, (h, buf, len, abuf, acap, alen): (i32, i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let call = "udp_recv_from";
                let (s, buf, out) = {
                    let (mem, data) = mem_and_data(&mut caller, call)?;
                    let s = data.handles.udp(h as u32).map_err(|e| handle_error(call, data.gid, e))?.clone();
                    let buf = region(mem.len(), buf, len, 1, call, "the buffer")?;
                    (s, buf, AddrOut::check(mem.len(), abuf, acap, alen, call)?)
                };
                loop {
                    let seq = s.seq(Dir::Read);
                    let r = {
                        let (mem, _) = mem_and_data(&mut caller, call)?;
                        let r = s.io.recv_from(&mut mem[buf.clone()]);
                        if let Ok((_, from)) = &r {
                            out.write(mem, from);
                        }
                        r
                    };
                    match r {
                        Ok((n, _)) => return Ok(n as i32),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            parked(&mut caller, &[], s.wait(Dir::Read, seq)).await
                        }
                        Err(e) => return Ok(errno(&e)),
                    }
                }
            })
        },
    )?;
    Ok(())
}
