//! Channels that only channel buffers reach, for the cycle collector's tests (tests/chan_gc.rs). The first
//! argument picks the shape; the test registers `live_chans()` (channels of this run alive now) in the wasm
//! import module `gc_test` (and reads the run's counts after it). Handles are raw here: a channel that carries its own handle has no Rust type.
//!
//! - `self N`: N times, a channel whose buffer holds a message carrying the channel itself, then dropped by
//!   this G (the loop). Prints `max live: X` (sampled every 100 rounds) and `live: Y` at the end.
//! - `pair`: channels A and B, A's buffer holding B and B's holding A, both dropped. Prints `live: Y`.
//! - `socket`: a TCP listener in the buffer of a dropped self-referencing channel. Prints `refused` once a
//!   connection to it is refused (the listener was freed), or `accepted` if it is still listening.
//! - `chain K`: a cycle of K channels, each buffer holding (its index, the next channel), reachable only
//!   through a keeper channel, which goes to a new G as its spawn argument while main makes garbage; the G then
//!   walks the cycle. Prints `chain intact: K` if every message was there, in order.
//! - `line N`: N channels, each buffered in the next one, built by dropping each one after sending it (every
//!   drop is a candidate reaching the whole line so far), then walked from the last. Prints `line intact: N`.
//! - `race N`: two Gs each make N two-channel cycles and hand each to a shared buffered channel (a live G
//!   can reach them only through that buffer, or through the blocked send's message when it is full) before
//!   dropping their own handles, and make garbage in between; two other Gs take the cycles out and walk
//!   them. Every drop is a candidate and trials run on both Ps while the takers receive. Prints
//!   `race intact: 2N` if every cycle was found whole.
//! - `leave N`: the same line, then ten self-referencing channels, and main returns holding the line's last
//!   channel: the run's end must free it all (the line iteratively, not by a recursion N deep). Prints
//!   `live: X` before returning.

use gmp::Message;
use gmp::sys;

#[link(wasm_import_module = "gc_test")]
unsafe extern "C" {
    safe fn live_chans() -> u32;
}

/// Send `bytes` and `handles` on channel `h`; the channel must have room.
fn put(h: u32, bytes: &[u8], handles: &[u32]) {
    // SAFETY: both slices are readable for their lengths.
    let sent = unsafe { sys::chan_try_send(h, bytes.as_ptr(), bytes.len(), handles.as_ptr(), handles.len()) };
    assert_eq!(sent, 1, "the channel's buffer was full");
}

/// Receive without blocking from `h`: the bytes and one attached handle, or `None` if nothing is there.
fn take(h: u32) -> Option<(Vec<u8>, Option<u32>)> {
    let mut buf = [0u8; 64];
    let mut hbuf = [0u32; 1];
    let mut info = sys::RecvInfo::default();
    // SAFETY: the buffers are writable for the lengths given, and `info` is writable.
    let status = unsafe { sys::chan_try_recv(h, buf.as_mut_ptr(), buf.len(), hbuf.as_mut_ptr(), 1, &mut info) };
    match status {
        sys::RECV_OK => {
            let nh = info.nhandles as usize;
            Some((buf[..info.len as usize].to_vec(), (nh == 1).then_some(hbuf[0])))
        }
        sys::RECV_WOULD_BLOCK => None,
        other => panic!("chan_try_recv: status {other}"),
    }
}

fn self_cycle() {
    let h = sys::chan_new(1);
    put(h, b"me", &[h]);
    sys::handle_close(h);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().expect("a mode: self, pair, socket, chain or line");
    let n: u32 = args.next().map_or(1, |a| a.parse().expect("a count"));
    // The test keeps the run's channel counts from the first call, to read them after the run.
    live_chans();
    match mode.as_str() {
        "self" => {
            let mut max = 0;
            for i in 0..n {
                self_cycle();
                if i % 100 == 0 {
                    max = max.max(live_chans());
                }
            }
            println!("max live: {max}");
            println!("live: {}", live_chans());
        }
        "pair" => {
            let (a, b) = (sys::chan_new(1), sys::chan_new(1));
            put(a, b"holds b", &[b]);
            put(b, b"holds a", &[a]);
            sys::handle_close(a);
            sys::handle_close(b);
            println!("live: {}", live_chans());
        }
        "socket" => {
            let listener = gmp::net::TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
            let addr = listener.local_addr().expect("the listener's address");
            let mut enc = gmp::Encoder::new();
            listener.encode(&mut enc);
            let h = sys::chan_new(2);
            put(h, b"a listener", enc.handles());
            put(h, b"me", &[h]);
            drop(listener);
            sys::handle_close(h);
            match gmp::net::TcpStream::connect(addr) {
                Ok(_) => println!("accepted"),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => println!("refused"),
                Err(e) => println!("connect failed otherwise: {e}"),
            }
        }
        "chain" => chain(n),
        "race" => race(n),
        "line" => {
            let mut cur = line(n);
            for i in (0..n).rev() {
                let (bytes, h) = take(cur).expect("a link of the line is empty");
                assert_eq!(bytes, i.to_le_bytes(), "link {i} holds another message");
                sys::handle_close(cur);
                cur = h.expect("a link without the next channel");
            }
            assert_eq!(take(cur).map(|m| m.0), Some(u32::MAX.to_le_bytes().to_vec()), "the line's end");
            sys::handle_close(cur);
            println!("line intact: {n}");
        }
        "leave" => {
            let _head = line(n);
            for _ in 0..10 {
                self_cycle();
            }
            println!("live: {}", live_chans());
        }
        other => panic!("unknown mode {other}"),
    }
}

/// A line of `n` channels, each buffered in the next with its index, built by dropping each after sending it;
/// returns the last one's handle.
fn line(n: u32) -> u32 {
    let mut prev = sys::chan_new(1);
    put(prev, &u32::MAX.to_le_bytes(), &[]);
    for i in 0..n {
        let next = sys::chan_new(1);
        put(next, &i.to_le_bytes(), &[prev]);
        sys::handle_close(prev);
        prev = next;
    }
    prev
}

/// See `chain K` in the module comment.
fn chain(k: u32) {
    let keeper = sys::chan_new(1);
    let first = sys::chan_new(1);
    let back = sys::handle_dup(first);
    put(keeper, b"head", &[first]);
    let mut cur = first;
    for i in 0..k {
        let next = if i + 1 < k { sys::chan_new(1) } else { back };
        put(cur, &i.to_le_bytes(), &[next]);
        sys::handle_close(cur);
        cur = next;
    }
    sys::handle_close(cur);

    let (result_tx, result_rx) = gmp::chan::<String>(1);
    let (go_tx, go_rx) = gmp::chan::<()>(0);
    let kept = Keeper(keeper);
    gmp::go!(kept, result_tx, go_rx, k => {
        go_rx.recv();
        result_tx.send(walk(kept.0, k));
    });
    sys::handle_close(keeper);
    // Garbage while the chain is reachable only through the new G's keeper: trials run, and must leave it.
    for _ in 0..1_000 {
        self_cycle();
    }
    go_tx.send(());
    println!("{}", result_rx.recv().expect("the walker reports"));
}

/// Follow the cycle from the keeper and check every message.
fn walk(keeper: u32, k: u32) -> String {
    let Some((head, Some(first))) = take(keeper) else { return "the keeper is empty".into() };
    assert_eq!(head, b"head");
    let mut cur = first;
    for i in 0..k {
        let Some((bytes, Some(next))) = take(cur) else { return format!("link {i} is empty") };
        if bytes != i.to_le_bytes() {
            return format!("link {i} holds {bytes:?}");
        }
        sys::handle_close(cur);
        cur = next;
    }
    // Back at the first link, whose message was taken at the start.
    if take(cur).is_some() {
        return "the cycle does not close".into();
    }
    sys::handle_close(cur);
    sys::handle_close(keeper);
    format!("chain intact: {k}")
}

/// See `race N` in the module comment.
fn race(n: u32) {
    let (hold_tx, hold_rx) = gmp::chan::<Keeper>(16);
    let (made_tx, made_rx) = gmp::chan::<()>(2);
    let (whole_tx, whole_rx) = gmp::chan::<u32>(2);
    for _ in 0..2 {
        let (hold_tx, made_tx) = (hold_tx.clone(), made_tx.clone());
        gmp::go!(hold_tx, made_tx, n => {
            for i in 0..n {
                let (a, b) = (sys::chan_new(1), sys::chan_new(1));
                put(a, &i.to_le_bytes(), &[b]);
                put(b, &i.to_le_bytes(), &[a]);
                hold_tx.send(Keeper(a));
                sys::handle_close(a);
                sys::handle_close(b);
                if i % 4 == 0 {
                    self_cycle();
                }
            }
            made_tx.send(());
        });
    }
    for _ in 0..2 {
        let (hold_rx, whole_tx) = (hold_rx.clone(), whole_tx.clone());
        gmp::go!(hold_rx, whole_tx => {
            let mut whole = 0;
            for Keeper(a) in &hold_rx {
                let Some((ia, Some(b))) = take(a) else { panic!("a cycle's first channel is empty") };
                let Some((ib, Some(a2))) = take(b) else { panic!("a cycle's second channel is empty") };
                assert_eq!(ia, ib, "the two channels of a cycle disagree");
                for h in [a, b, a2] {
                    sys::handle_close(h);
                }
                whole += 1;
            }
            whole_tx.send(whole);
        });
    }
    made_rx.iter().take(2).for_each(drop);
    hold_tx.close();
    println!("race intact: {}", whole_rx.iter().take(2).sum::<u32>());
}

/// A raw channel handle as a spawn argument.
struct Keeper(u32);

impl Message for Keeper {
    fn encode(&self, enc: &mut gmp::Encoder) {
        enc.push_handle(self.0);
    }

    fn decode(dec: &mut gmp::Decoder<'_>) -> Result<Self, gmp::DecodeError> {
        Ok(Keeper(dec.take_handle()?))
    }
}
