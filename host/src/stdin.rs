//! An embedder's reader as a program's stdin ([`crate::Input::reader`]).
//!
//! # Who reads, and when
//! A `Read` may block its thread for as long as it likes, and a G must never block its M that way (the M
//! holds the G's P, and a killed program must let go of its Gs at once). So one thread per reader does the
//! reading, on demand: a G that finds nothing buffered asks for more and parks; the thread reads once, up to
//! [`CHUNK`] bytes, publishes them and wakes every G waiting. It never reads ahead of what a G asked for, as
//! a process reading a pipe takes only what it reads: the reader's bytes that no G wanted stay in the reader,
//! and at most one chunk is held here.
//!
//! # Invariants
//! - Bytes are handed out under one lock, so each byte the reader returned goes to exactly one read, in
//!   order, however many Gs read at once (goroutines reading one `os.Stdin` see the same).
//! - After the end of the stream or a read error the reader is not read again. The error goes to one read;
//!   every read after it sees the end.
//! - The thread exits at the end of the stream, or once every [`SharedReader`] clone is gone (the options
//!   and every run started with them). A thread blocked inside the reader's `read` can only exit when that
//!   `read` returns: a reader that never returns keeps its thread, never a G or an M.

use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};
use wasmtime_wasi::cli::{IsTerminal, StdinStream};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError, StreamResult};

/// The most one read of the embedder's reader asks for.
const CHUNK: usize = 64 << 10;

/// An embedder's reader, shared by every G of the runs started with it (see [`crate::Input::reader`]).
/// Clones share one stream: runs started with clones of the same options read it as two processes read one
/// pipe, each getting what it reads.
#[derive(Clone)]
pub struct SharedReader(Arc<Source>);

/// The stream, and the reader until its thread takes it.
struct Source {
    shared: Arc<Shared>,
    reader: Mutex<Option<Box<dyn Read + Send>>>,
}

/// What the reading thread and the Gs share.
struct Shared {
    state: Mutex<State>,
    /// Signalled when a G asks for bytes, and when the last [`SharedReader`] goes.
    asked: Condvar,
}

#[derive(Default)]
struct State {
    /// Read and not yet taken by any G.
    data: Bytes,
    end: Option<End>,
    /// A G wants more bytes and the thread has not read them yet.
    wanted: bool,
    /// Every [`SharedReader`] is gone: the thread should exit.
    gone: bool,
    /// Gs parked until there are bytes or an end.
    waiting: Vec<Waker>,
}

enum End {
    Eof,
    /// A read failed; the error is taken by the first G to read after it.
    Failed(Option<std::io::Error>),
}

impl SharedReader {
    pub(crate) fn new(reader: impl Read + Send + 'static) -> SharedReader {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), asked: Condvar::new() });
        SharedReader(Arc::new(Source { shared, reader: Mutex::new(Some(Box::new(reader))) }))
    }

    /// The stream a G's WASI context reads stdin from.
    pub(crate) fn stream(&self) -> ReaderStdin {
        ReaderStdin(self.clone())
    }

    /// Ready when there are bytes to take or the stream has ended; otherwise asks the thread for more and
    /// parks the caller's task until it has read.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let shared = &self.0.shared;
        let mut s = shared.state.lock();
        if !s.data.is_empty() || s.end.is_some() {
            return Poll::Ready(());
        }
        if !s.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiting.push(cx.waker().clone());
        }
        if !s.wanted {
            s.wanted = true;
            shared.asked.notify_one();
        }
        drop(s);
        self.start();
        Poll::Pending
    }

    /// Starts the reading thread the first time a G asks for bytes (a program that never reads stdin never
    /// touches the reader).
    fn start(&self) {
        let Some(reader) = self.0.reader.lock().take() else { return };
        let shared = self.0.shared.clone();
        let spawned = std::thread::Builder::new().name("gmp-stdin".into()).spawn(move || serve(&shared, reader));
        if let Err(e) = spawned {
            self.0.shared.publish(Err(e), &[]);
        }
    }

    /// Up to `size` of the bytes read; empty when none are there yet; the end or the error once there.
    fn take(&self, size: usize) -> StreamResult<Bytes> {
        let mut s = self.0.shared.state.lock();
        if !s.data.is_empty() {
            let n = size.min(s.data.len());
            return Ok(s.data.split_to(n));
        }
        match &mut s.end {
            None => Ok(Bytes::new()),
            Some(End::Eof) => Err(StreamError::Closed),
            Some(End::Failed(e)) => {
                let e = e.take();
                s.end = Some(End::Eof);
                match e {
                    Some(e) => Err(StreamError::LastOperationFailed(e.into())),
                    None => Err(StreamError::Closed),
                }
            }
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.shared.state.lock().gone = true;
        self.shared.asked.notify_all();
    }
}

impl Shared {
    /// Records what one read of the reader gave and wakes every G waiting for it.
    fn publish(&self, got: std::io::Result<usize>, buf: &[u8]) {
        let mut s = self.state.lock();
        s.wanted = false;
        match got {
            Ok(0) => s.end = Some(End::Eof),
            Ok(n) => s.data = Bytes::copy_from_slice(&buf[..n]),
            Err(e) => s.end = Some(End::Failed(Some(e))),
        }
        let waiting = std::mem::take(&mut s.waiting);
        drop(s);
        waiting.into_iter().for_each(Waker::wake);
    }
}

/// The reading thread: waits for a G to ask, reads once, publishes, until the end or until nobody is left.
fn serve(shared: &Shared, mut reader: Box<dyn Read + Send>) {
    let mut buf = vec![0; CHUNK];
    loop {
        {
            let mut s = shared.state.lock();
            while !s.wanted && !s.gone {
                shared.asked.wait(&mut s);
            }
            if s.gone {
                return;
            }
        }
        let got = loop {
            match reader.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                got => break got,
            }
        };
        let ended = !matches!(got, Ok(n) if n > 0);
        shared.publish(got, &buf);
        if ended {
            return;
        }
    }
}

/// One G's handle to the stream (WASI makes one per stdin descriptor; all share the stream).
#[derive(Clone)]
pub(crate) struct ReaderStdin(SharedReader);

impl IsTerminal for ReaderStdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for ReaderStdin {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for ReaderStdin {
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| self.0.poll_ready(cx)).await
    }
}

impl InputStream for ReaderStdin {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        self.0.take(size)
    }
}

impl tokio::io::AsyncRead for ReaderStdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if self.0.poll_ready(cx).is_pending() {
                return Poll::Pending;
            }
            match self.0.take(buf.remaining()) {
                // Another G took the bytes between ready and take: wait for the next ones.
                Ok(b) if b.is_empty() && buf.remaining() > 0 => continue,
                Ok(b) => {
                    buf.put_slice(&b);
                    return Poll::Ready(Ok(()));
                }
                Err(StreamError::Closed) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(std::io::Error::other(e.to_string()))),
            }
        }
    }
}
