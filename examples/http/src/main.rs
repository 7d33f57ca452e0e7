//! A small HTTP/1.1 server: every request gets `200 OK` with the body `hello\n`. Each connection has a G of
//! its own, which keeps the connection open for further requests until the client closes it or asks to
//! (`Connection: close`; HTTP/1.0 clients close unless they send `Connection: keep-alive`). Requests are
//! parsed with `httparse` from a buffer that collects reads until a whole request is there, so requests split
//! across reads and pipelined ones (several in one read, answered in order with one write) both work. The
//! first argument is the address to listen on (default `127.0.0.1:8080`; port 0 picks a free one). Once
//! connections are accepted it prints the address it is bound to, then serves forever:
//!
//! ```text
//! listening on 127.0.0.1:8080
//! ```
//!
//! Try it with `curl -v http://127.0.0.1:8080/`.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use gmp::net::{TcpListener, TcpStream};

/// The body every request gets.
const BODY: &[u8] = b"hello\n";

/// A request head (request line and headers) longer than this is refused: without a limit, a client that
/// never ends its headers would make the buffer grow without end.
const MAX_HEAD: usize = 64 * 1024;

/// Headers a request may have; more is refused.
const MAX_HEADERS: usize = 64;

/// How much room each read gets.
const READ_CHUNK: usize = 8 * 1024;

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    // Whoever started us (a test, a script) waits for this line before connecting.
    io::stdout().flush()?;
    for conn in listener.incoming() {
        match conn {
            Ok(conn) => {
                gmp::go_with(conn, serve);
            }
            Err(e) => {
                // Out of file descriptors, say: give the other Gs a moment to close some.
                eprintln!("http: {e}");
                gmp::time::sleep(Duration::from_millis(10));
            }
        }
    }
    Ok(())
}

/// What one parsed request asks of the connection.
struct Request {
    /// Whether the client wants the connection kept open afterwards.
    keep_alive: bool,
    /// HTTP/1.0 clients need to be told the connection stays open; 1.1 ones assume it.
    http10: bool,
    /// A `HEAD` request gets the headers without the body.
    head: bool,
    /// The request's body length, to skip before the next request.
    body_len: usize,
}

/// Why a request gets an error status, and the connection is closed after it.
struct Refused(&'static str);

/// Serves one connection until the client closes it, asks to, or sends something unparseable.
fn serve(mut conn: TcpStream) {
    // Each response is one small write that the client waits for: send it at once rather than let Nagle's
    // algorithm hold it back for the acknowledgement of the previous one.
    let _ = conn.set_nodelay(true);
    // Bytes read but not yet consumed: at most part of one request once the loop below is done with them.
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    // Body bytes of the last request still to come off the connection (they may span reads).
    let mut skip = 0usize;
    // The responses to everything parsed from the reads so far, written together.
    let mut out = Vec::new();
    loop {
        let filled = buf.len();
        buf.resize(filled + READ_CHUNK, 0);
        match conn.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return, // the client is gone (end of stream, or reset)
            Ok(n) => buf.truncate(filled + n),
        }
        let mut at = 0;
        let mut close = false;
        while !close {
            if skip > 0 {
                let n = skip.min(buf.len() - at);
                (skip, at) = (skip - n, at + n);
                if skip > 0 {
                    break;
                }
            }
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf[at..]) {
                Ok(httparse::Status::Complete(head_len)) => {
                    at += head_len;
                    match inspect(&req) {
                        Ok(r) => {
                            respond(&mut out, &r);
                            skip = r.body_len;
                            close = !r.keep_alive;
                        }
                        Err(Refused(status)) => {
                            refuse(&mut out, status);
                            close = true;
                        }
                    }
                }
                Ok(httparse::Status::Partial) => {
                    if buf.len() - at > MAX_HEAD {
                        refuse(&mut out, "431 Request Header Fields Too Large");
                        close = true;
                    }
                    break;
                }
                Err(_) => {
                    refuse(&mut out, "400 Bad Request");
                    close = true;
                }
            }
        }
        buf.drain(..at);
        if !out.is_empty() {
            if conn.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
        if close {
            // Shutting down the writing side lets the client read everything before it sees the end; the
            // handle is closed when `conn` is dropped.
            let _ = conn.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// What a parsed request head asks for, or why it is refused.
fn inspect(req: &httparse::Request<'_, '_>) -> Result<Request, Refused> {
    let http10 = req.version == Some(0);
    // HTTP/1.1 keeps connections open unless told otherwise; HTTP/1.0 closes them unless told otherwise.
    let mut keep_alive = !http10;
    let mut body_len = 0;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            // A list of tokens (`keep-alive, Upgrade`).
            for token in String::from_utf8_lossy(h.value).split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            body_len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or(Refused("400 Bad Request"))?;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // A chunked body would have to be decoded to find where it ends; this server has no use for one.
            return Err(Refused("501 Not Implemented"));
        }
    }
    Ok(Request { keep_alive, http10, head: req.method == Some("HEAD"), body_len })
}

/// Appends the `200 OK` response to `req`.
fn respond(out: &mut Vec<u8>, req: &Request) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ");
    out.extend_from_slice(BODY.len().to_string().as_bytes());
    out.extend_from_slice(match (req.keep_alive, req.http10) {
        (false, _) => &b"\r\nConnection: close\r\n\r\n"[..],
        (true, true) => b"\r\nConnection: keep-alive\r\n\r\n",
        (true, false) => b"\r\n\r\n",
    });
    if !req.head {
        out.extend_from_slice(BODY);
    }
}

/// Appends an error response with `status`, after which the connection is closed.
fn refuse(out: &mut Vec<u8>, status: &str) {
    out.extend_from_slice(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
}
