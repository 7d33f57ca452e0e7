//! Goroutines, channels and `select` for Rust programs run by **wasm-gmp**.
//!
//! A program built for `wasm32-wasip1` with this crate runs under the wasm-gmp runtime, which schedules its
//! green threads (Gs) the way Go's runtime schedules goroutines. Each G is its own instance of the program,
//! with its own memory: Gs share nothing, and talk only through channels. Values cross as [`Message`]s,
//! and channel ends are messages too, so they can be handed from G to G.
//!
//! ```
//! let (tx, rx) = gmp::chan::<String>(0);
//! gmp::go!(tx => tx.send(format!("hello from G {}", gmp::goid())));
//! println!("{}", rx.recv().unwrap());
//!
//! let results = gmp::chan::<u64>(0);
//! let wg = gmp::WaitGroup::new();
//! for n in 1..=4u64 {
//!     wg.add(1);
//!     let (tx, wg) = (results.0.clone(), wg.clone());
//!     gmp::go!(tx, wg, n => {
//!         tx.send(n * n);
//!         wg.done();
//!     });
//! }
//! let total: u64 = (0..4).map(|_| results.1.recv().unwrap()).sum();
//! wg.wait();
//! println!("sum of squares: {total}");
//! ```
//!
//! - Starting Gs: [`go`](fn@crate::go), [`go_with`], [`go!`]; each runs a plain `fn`, never a
//!   capturing closure, since it cannot share this G's memory.
//! - Channels: [`chan`] gives a [`Sender`] and a [`Receiver`] with Go's semantics (unbuffered rendezvous,
//!   buffered FIFO, explicit [`close`](Sender::close)); [`select!`] waits on several at once, and
//!   [`Select`] on a set of arms known only at run time (Go's `reflect.Select`). An `Option` of a channel
//!   end is Go's nil channel in either: `None` switches the arm off.
//! - [`sync`]: [`WaitGroup`], [`Mutex`](sync::Mutex), [`RwLock`](sync::RwLock), [`Cond`](sync::Cond),
//!   [`OnceValue`](sync::OnceValue), [`Once`](sync::Once),
//!   [`AtomicU64`](sync::AtomicU64), [`AtomicI64`](sync::AtomicI64), all living in the runtime. **Statics
//!   are per G**: each G is its own instance, so a `static` `AtomicU64`, `Mutex` or `OnceLock` from `std`
//!   has one copy in every G, and nothing another G does shows in yours. Share through these instead.
//! - [`context`]: Go's `context` (cancel, deadline, timeout, `done()` for `select!`), and
//!   [`ErrGroup`](sync::ErrGroup) (Go's `errgroup`).
//! - [`yield_now`], [`goid`], [`gomaxprocs`], [`num_goroutine`], [`exit`].
//! - [`Message`] with [`message!`] for your own structs, and with feature `serde`, `Serde<T>` for serde types
//!   (see *Messages* below).
//! - [`time`]: the runtime's clock, sleeping, and timers and tickers that deliver on channels, for timeouts
//!   in [`select!`].
//! - [`net`]: TCP and UDP sockets whose blocking calls park only the calling G.
//! - [`sys`]: the raw ABI underneath.
//!
//! # Messages
//!
//! The message format is the `gmp-message` crate's, re-exported here unchanged: [`Message`], [`Encoder`],
//! [`Decoder`], [`DecodeError`], [`message!`] and `Serde`. The host runtime depends on the same crate, so a
//! value the host side encodes (for its host channels) decodes in a G exactly as if another G had sent it. Its
//! documentation (and its examples, which name it `gmp_message` because they run on the host) describes
//! the format byte by byte; its whole-message `encode` and `decode` are what a send and a receive do here,
//! so the SDK does not re-export them. In a guest, a struct or an enum becomes a message with
//! `#[derive(gmp::Message)]` (or, for a struct, by listing its fields in [`message!`], which writes the same
//! bytes), and channel ends travel inside messages as handles:
//!
//! ```
//! #[derive(Debug, PartialEq, gmp::Message)]
//! pub struct Job {
//!     pub id: u32,
//!     pub input: Vec<u8>,
//! }
//!
//! #[derive(Debug, PartialEq, gmp::Message)]
//! pub enum Reply {
//!     Size(u32),
//!     Failed { why: String },
//! }
//!
//! let (jobs, queue) = gmp::chan::<(Job, gmp::Sender<Reply>)>(1);
//! let (reply, replies) = gmp::chan::<Reply>(1);
//! gmp::go!(queue => {
//!     let (job, reply) = queue.recv().unwrap();
//!     reply.send(Reply::Size(job.id + job.input.len() as u32));
//! });
//! jobs.send((Job { id: 1, input: vec![0; 9] }, reply));
//! assert_eq!(replies.recv(), Some(Reply::Size(10)));
//! ```
//!
//! Every G but the main one starts in the `gmp_entry` export, which this crate defines ([`gmp_entry`]).
//! rustc exports a `wasm32` executable's `#[no_mangle]` functions, its dependencies' included (it passes
//! `--export=gmp_entry` to the linker), so depending on this crate is enough; should a toolchain ever drop
//! it, `-C link-arg=--export=gmp_entry` brings it back.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod channel;
pub mod context;
mod message;
pub mod net;
mod panic;
mod sched;
mod select;
mod spawn;
pub mod sync;
pub mod sys;
pub mod time;

pub use channel::{Chan, IntoIter, Iter, Receiver, Sender, TryRecvError, TrySendError, chan, host_chan};
pub use gmp_message::{DecodeError, Decoder, Encoder, Message, message};
#[cfg(feature = "serde")]
pub use gmp_message::{Serde, serde};
pub use sched::{exit, goid, gomaxprocs, num_goroutine, yield_now};
pub use select::{RecvCase, Select, Selected, SendCase, SendValue};
pub use spawn::{gmp_entry, go, go_with};
pub use sync::WaitGroup;

/// The message format, for the code `#[derive(Message)]` generates; not part of the API.
#[doc(hidden)]
pub use gmp_message as __message;

/// What the macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::select::{MacroSelect, RecvArm, SendArm, block_forever};
}
