//! Goroutines, channels and `select` for Rust programs run by **wasm-gmp**.
//!
//! A program built for `wasm32-wasip1` with this crate runs under the wasm-gmp runtime, which schedules its
//! green threads (Gs) the way Go's runtime schedules goroutines. Each G is its own instance of the program,
//! with its own memory: Gs share nothing, and talk only through channels. Values cross as [`Message`]s,
//! and channel ends are messages too, so they can be handed from G to G.
//!
//! ```no_run
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
//!   buffered FIFO, explicit [`close`](Sender::close)); [`select!`] waits on several at once.
//! - [`WaitGroup`], and [`yield_now`], [`goid`], [`gomaxprocs`], [`exit`].
//! - [`Message`] with [`message!`] for your own structs, and with feature `serde`, `Serde<T>` for serde types.
//! - [`time`]: the runtime's clock, sleeping, and timers and tickers that deliver on channels, for timeouts
//!   in [`select!`].
//! - [`net`]: TCP and UDP sockets whose blocking calls park only the calling G.
//! - [`sys`]: the raw ABI underneath.
//!
//! Every G but the main one starts in the `gmp_entry` export, which this crate defines ([`gmp_entry`]).
//! rustc exports a `wasm32` executable's `#[no_mangle]` functions, its dependencies' included (it passes
//! `--export=gmp_entry` to the linker), so depending on this crate is enough; should a toolchain ever drop
//! it, `-C link-arg=--export=gmp_entry` brings it back.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod channel;
mod message;
pub mod net;
mod sched;
mod select;
#[cfg(feature = "serde")]
mod serde_support;
mod spawn;
mod sync;
pub mod sys;
pub mod time;

pub use channel::{IntoIter, Iter, Receiver, Sender, TryRecvError, TrySendError, chan};
pub use message::{DecodeError, Decoder, Encoder, Message};
pub use sched::{exit, goid, gomaxprocs, yield_now};
#[cfg(feature = "serde")]
pub use serde_support::Serde;
pub use spawn::{gmp_entry, go, go_with};
pub use sync::WaitGroup;

/// What the macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::select::{RecvArm, Select, SendArm, block_forever};
}
