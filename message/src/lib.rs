//! The wire format of wasm-gmp's messages: how a value becomes the bytes and handles that cross a channel,
//! and back. The guest SDK (`gmp`, wasm32) and the host runtime (`wasm-gmp`) both depend on this crate, so
//! a `Job` that the embedder's Rust code encodes for a host channel arrives in a guest G as the same `Job`:
//! there is one encoder, and no second copy of the format to drift from it.
//!
//! ```
//! use gmp_message::{Decoder, Encoder, Message};
//!
//! gmp_message::message! {
//!     #[derive(Debug, PartialEq)]
//!     pub struct Job {
//!         pub id: u32,
//!         pub name: String,
//!     }
//! }
//!
//! let job = Job { id: 7, name: "resize".into() };
//! let enc = gmp_message::encode(&job);
//! assert_eq!(enc.bytes(), b"\x07\0\0\0\x06\0\0\0resize");
//! assert_eq!(gmp_message::decode::<Job>(enc.bytes(), enc.handles()), Ok(job));
//! ```
//!
//! # What this crate holds
//!
//! - [`Message`]: a type that can be written to an [`Encoder`] and read back from a [`Decoder`]; implemented
//!   here for the standard types, and by [`message!`] for a struct by listing its fields.
//! - [`Encoder`] / [`Decoder`]: a message's bytes and its handles, being written or read.
//! - [`encode`] / [`decode`]: a value as a whole message, the form that travels; `decode` also checks that
//!   nothing is left over.
//! - [`DecodeError`]: why bytes are not a value of the expected type.
//! - `Serde<T>` (feature `serde`): any serde type, as postcard bytes.
//!
//! What only makes sense inside a guest stays in the guest SDK: channel ends and `WaitGroup` (messages that
//! travel as handles), the per-G cache of encoders, and the panic a receive raises when a message does not
//! decode. This crate knows nothing of the runtime; a handle here is an opaque `u32`.
//!
//! # The format
//!
//! A message is a string of bytes plus a list of `u32` handles. It is not self-describing: no type tags, no
//! field names, no version. Sender and receiver agree on the type (every G runs the same module, and a host
//! channel is typed on both ends), so the bytes are only the values, one after another:
//!
//! | type | bytes |
//! |---|---|
//! | `u8`..`u128`, `i8`..`i128` | fixed width, little-endian (two's complement) |
//! | `usize`, `isize` | as `u64`, `i64`: the same on wasm32 and a 64-bit host |
//! | `f32`, `f64` | the IEEE 754 bits as `u32`, `u64` (NaN payloads kept) |
//! | `bool` | one byte, 0 or 1 |
//! | `char` | its scalar value as `u32` |
//! | `()` | nothing |
//! | `String` | length in bytes as `u32`, then the UTF-8 |
//! | `Vec<T>` | length in elements as `u32`, then each element (`Vec<u8>`: the bytes as they are) |
//! | `Option<T>` | tag byte 0 (`None`) or 1 then the value |
//! | `Result<T, E>` | tag byte 0 then the `Ok` value, or 1 then the `Err` value |
//! | `Box<T>` | as `T` |
//! | `[T; N]` | the N elements, no length |
//! | tuples, [`message!`] structs | the fields in order |
//!
//! Every length is a `u32`, little-endian, so no string or vector in a message holds more than `u32::MAX`
//! elements (encoding one panics).
//!
//! **The last value.** A whole message is written with [`Message::encode_last`], not
//! [`encode`](Message::encode): nothing follows it, so a trailing run of bytes needs no length, the message's
//! end marks where it stops. `String` and `Vec<u8>` drop their length prefix there, and the types that end in
//! another value pass "last" on to it: a tuple to its last element, `Option` and `Result` to their payload,
//! `Box` to its content. So `(1u8, String::from("hi"))` as a message is `01 68 69`, and a `Vec<u8>` alone is
//! exactly its bytes, which makes the runtime's message-size limit mean what it says. Vectors of anything but
//! `u8`, arrays and [`message!`] structs always write everything, last or not.
//!
//! **Handles.** A value that stands for a runtime object (a channel end, a socket) pushes its handle on the
//! message's handle list instead of writing bytes; decoding takes handles from the front of the list, so they
//! come back in the order they were encoded, independently of the bytes. What a handle means, and who owns it,
//! is up to the side that reads the message.
//!
//! # Invariants
//!
//! 1. Round trip: for every implementation here, decoding what `encode` wrote gives back an equal value and
//!    consumes exactly the bytes and handles written; the same for `encode_last` with `decode_last`.
//! 2. `encode_last` differs from `encode` only in the tail: a type overrides both `_last` methods or
//!    neither.
//! 3. Decoding never panics and never trusts a length: bad input of any kind is a [`DecodeError`], and a
//!    length prefix reserves at most as many elements as the bytes and handles left could hold, so a hostile
//!    `u32::MAX` costs nothing before the input runs out.
//! 4. The bytes depend only on the value, never on the target: no pointer width, no endianness, no padding.
//!    A `usize` above `u32::MAX` encoded on the host does not fit a wasm32 `usize`, and decoding it there is
//!    `DecodeError::Invalid("usize")`.
//! 5. [`decode`] accepts a message only if the value used every byte and every handle
//!    ([`DecodeError::TrailingData`] otherwise).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod codec;
mod impls;
mod macros;
mod message;
#[cfg(feature = "serde")]
mod serde_support;

pub use codec::{DecodeError, Decoder, Encoder, decode, encode};
/// `#[derive(Message)]` for structs and enums (see the `gmp-message-derive` crate for the format).
pub use gmp_message_derive::Message;
pub use message::Message;

// So that the derive's `::gmp_message::...` paths also work inside this crate's own tests and examples.
extern crate self as gmp_message;
/// serde itself, with its derives and std impls, for programs without a serde dependency of their own.
#[cfg(feature = "serde")]
pub use serde;
#[cfg(feature = "serde")]
pub use serde_support::Serde;
