//! WASI preview 1 for every G: each its own context (arguments, environment, `--dir` preopens, stdio,
//! clocks, random), with the calls that could block a thread kept off the G's P.
//!
//! # Which WASI calls block, and what we do about it
//! wasmtime-wasi's async preview 1 already parks the G for most waiting: inherited stdin is read on its
//! worker thread (an embedder's reader on a thread of ours, `stdin.rs`), files on tokio's blocking pool, and
//! `poll_oneoff` (what `std::thread::sleep` uses) awaits a tokio timer.
//! In all of these the G's future returns `Pending`, the G parks (counted as in a syscall, so never as
//! deadlocked) and its M runs other Gs.
//!
//! Some of those futures (`poll_oneoff`'s timers) expect a tokio runtime around them: every M runs inside
//! one ([`tokio_handle`]), a small runtime whose own thread drives tokio's timers and I/O and wakes our Gs.
//!
//! The exception is inherited stdout/stderr: wasmtime-wasi writes them synchronously, so a full pipe (a
//! slow reader of our output) would stop the M with the G's whole P. [`BlockingStdio`] does the same writes
//! inside [`gmp_sched::blocking`], Go's `entersyscall`: if the write lasts, sysmon hands the P to another M.

use std::io::Write;
use std::sync::Arc;

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::run::{Input, Output, RunShared, SharedWriter};

/// The tokio runtime wasmtime-wasi's futures run under (entered by every M). One worker thread: it only
/// drives timers and I/O readiness for those futures; the Gs themselves run on our Ms.
pub(crate) fn tokio_handle() -> &'static tokio::runtime::Handle {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("gmp-tokio")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime for WASI")
    })
    .handle()
}

/// The host process's stdout or stderr, or an embedder's writer, written under [`gmp_sched::blocking`].
#[derive(Clone)]
pub(crate) enum BlockingStdio {
    /// File descriptor 1.
    Stdout,
    /// File descriptor 2.
    Stderr,
    /// [`crate::Output::Writer`].
    Writer(SharedWriter),
}

impl BlockingStdio {
    fn write_all(&self, bytes: &[u8]) -> std::io::Result<()> {
        gmp_sched::blocking(|| match self {
            BlockingStdio::Stdout => std::io::stdout().lock().write_all(bytes),
            BlockingStdio::Stderr => std::io::stderr().lock().write_all(bytes),
            BlockingStdio::Writer(w) => w.0.lock().write_all(bytes),
        })
    }

    fn flush(&self) -> std::io::Result<()> {
        gmp_sched::blocking(|| match self {
            BlockingStdio::Stdout => std::io::stdout().flush(),
            BlockingStdio::Stderr => std::io::stderr().flush(),
            BlockingStdio::Writer(w) => w.0.lock().flush(),
        })
    }
}

fn stream_error(e: std::io::Error) -> StreamError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StreamError::Closed
    } else {
        StreamError::LastOperationFailed(e.into())
    }
}

impl IsTerminal for BlockingStdio {
    fn is_terminal(&self) -> bool {
        match self {
            BlockingStdio::Stdout => std::io::IsTerminal::is_terminal(&std::io::stdout()),
            BlockingStdio::Stderr => std::io::IsTerminal::is_terminal(&std::io::stderr()),
            BlockingStdio::Writer(_) => false,
        }
    }
}

impl StdoutStream for BlockingStdio {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for BlockingStdio {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.write_all(&bytes).map_err(stream_error)
    }

    fn flush(&mut self) -> StreamResult<()> {
        BlockingStdio::flush(self).map_err(stream_error)
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Any size: a write blocks (off the P) until it is all out.
        Ok(1 << 20)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for BlockingStdio {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for BlockingStdio {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(self.write_all(buf).map(|()| buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(BlockingStdio::flush(&self))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The end of what one G wrote to stderr, for its report: a Rust program that aborts (out of memory, or a
/// plain WASI module's own panic) says why on stderr and then traps in `abort`, and the report, which
/// `Exit::report` hands to an embedder, should say it too. Only the last [`TAIL_BYTES`] are kept, and nothing
/// is allocated for a G that never writes to stderr.
pub(crate) type StderrTail = Arc<parking_lot::Mutex<Vec<u8>>>;

/// How much of a G's stderr its tail keeps.
pub(crate) const TAIL_BYTES: usize = 4096;

/// A G's stderr: what `inner` (none for [`Output::Null`]) writes, with the tail kept.
struct Tapped {
    inner: Option<Box<dyn StdoutStream + Sync>>,
    tail: StderrTail,
}

fn keep_tail(tail: &StderrTail, bytes: &[u8]) {
    let mut t = tail.lock();
    if bytes.len() >= TAIL_BYTES {
        t.clear();
        t.extend_from_slice(&bytes[bytes.len() - TAIL_BYTES..]);
        return;
    }
    t.extend_from_slice(bytes);
    // Trimmed once it holds twice the tail, so a stream of small writes moves each byte a bounded number of
    // times.
    if t.len() > 2 * TAIL_BYTES {
        let cut = t.len() - TAIL_BYTES;
        t.drain(..cut);
    }
}

impl IsTerminal for Tapped {
    fn is_terminal(&self) -> bool {
        self.inner.as_ref().is_some_and(|s| s.is_terminal())
    }
}

impl StdoutStream for Tapped {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(TappedStream { inner: self.inner.as_ref().map(|s| s.p2_stream()), tail: self.tail.clone() })
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASI preview 3 writes through this, and guests are preview 1: untapped.
        match &self.inner {
            Some(s) => s.async_stream(),
            None => Box::new(tokio::io::sink()),
        }
    }
}

struct TappedStream {
    inner: Option<Box<dyn OutputStream>>,
    tail: StderrTail,
}

impl OutputStream for TappedStream {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        keep_tail(&self.tail, &bytes);
        match &mut self.inner {
            Some(s) => s.write(bytes),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.as_mut().map_or(Ok(()), |s| s.flush())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.as_mut().map_or(Ok(1 << 20), |s| s.check_write())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for TappedStream {
    async fn ready(&mut self) {
        if let Some(s) = &mut self.inner {
            s.ready().await;
        }
    }
}

/// A WASI context for a G: the run's arguments, environment, directories and stdio. Every G may read
/// stdin, as any goroutine may read `os.Stdin`; all of a run's Gs read one stream.
///
/// A `--dir` that cannot be opened any more (removed while the program runs; `Runtime::start` checked it at
/// start) is left out of this G's preopens with a warning, rather than failing a G that may not even need it.
pub(crate) fn ctx(run: &RunShared) -> (WasiP1Ctx, StderrTail) {
    let opts = &run.opts;
    let mut b = WasiCtxBuilder::new();
    b.args(&opts.args).envs(&opts.env);
    match (&opts.stdin, &run.stdin) {
        (Input::Inherit, _) => {
            b.inherit_stdin();
        }
        (Input::Reader(r), _) => {
            b.stdin(r.stream());
        }
        (_, Some(pipe)) => {
            b.stdin(pipe.clone());
        }
        _ => {}
    }
    let sink = |out: &Output, inherit: BlockingStdio| -> Option<Box<dyn StdoutStream + Sync>> {
        match out {
            Output::Inherit => Some(Box::new(inherit)),
            Output::Capture(c) => Some(Box::new(c.pipe())),
            Output::Writer(w) => Some(Box::new(BlockingStdio::Writer(w.clone()))),
            Output::Null => None,
        }
    };
    if let Some(s) = sink(&opts.stdout, BlockingStdio::Stdout) {
        b.stdout(s);
    }
    let tail = StderrTail::default();
    b.stderr(Tapped { inner: sink(&opts.stderr, BlockingStdio::Stderr), tail: tail.clone() });
    for (host, guest) in &opts.dirs {
        if let Err(e) = b.preopened_dir(host, guest, FsPerms::ReadWrite) {
            eprintln!("wasm-gmp: --dir {}: {e}; not available to this G", host.display());
        }
    }
    (b.build_p1(), tail)
}
