//! The guest's side of messages. The format itself (the [`Message`] trait, [`Encoder`]/[`Decoder`], the
//! implementations for standard types, `message!`) lives in the `gmp-message` crate, which the host runtime
//! shares so that a value it sends arrives here as the same value; `lib.rs` re-exports it unchanged. What is
//! left here only makes sense inside a G:
//!
//! - a per-G cache of one [`Encoder`], so that sends, selects and spawns stop allocating once the buffer has
//!   grown to the program's usual message size ([`take_encoder`], [`recycle_encoder`], [`with_encoded`]);
//! - [`decode_message`], which turns a message that does not decode into a panic: sender and receiver run the
//!   same program and name the same type, so a mismatch is a bug, not an input error.
//!
//! The `Message` implementations for the SDK's own types (channel ends, `WaitGroup`, sockets, `Instant`) sit
//! next to those types.

use std::cell::Cell;

use gmp_message::{Encoder, Message};

thread_local! {
    // Every G is single-threaded, so a cached encoder makes a send allocation-free once the buffer has grown
    // to the program's usual message size. It is taken out while in use, so an `encode` that itself sends,
    // or a select holding several messages, just gets a fresh one.
    static CACHED: Cell<Encoder> = const { Cell::new(Encoder::new()) };
}

/// Buffers larger than this are not kept for reuse, so one big message does not pin its memory for good.
const CACHE_LIMIT: usize = 64 * 1024;

/// Takes the cached encoder (empty), or a new one if it is in use.
pub(crate) fn take_encoder() -> Encoder {
    CACHED.take()
}

/// Returns an encoder from [`take_encoder`] for reuse.
pub(crate) fn recycle_encoder(enc: Encoder) {
    let (mut bytes, mut handles) = enc.into_parts();
    if bytes.capacity() <= CACHE_LIMIT && handles.capacity() <= CACHE_LIMIT / 4 {
        bytes.clear();
        handles.clear();
        CACHED.set(Encoder::from_parts(bytes, handles));
    }
}

/// Encodes `value` as a whole message (with `encode_last`, as [`gmp_message::encode`] does, but into the
/// cached encoder) and hands its bytes and handles to `f`.
#[inline]
pub(crate) fn with_encoded<T: Message, R>(value: &T, f: impl FnOnce(&[u8], &[u32]) -> R) -> R {
    let mut enc = take_encoder();
    value.encode_last(&mut enc);
    let r = f(enc.bytes(), enc.handles());
    recycle_encoder(enc);
    r
}

/// Decodes a whole message, panicking if it is not a `T`: sender and receiver disagree on the type.
pub(crate) fn decode_message<T: Message>(bytes: &[u8], handles: &[u32], what: &str) -> T {
    match gmp_message::decode(bytes, handles) {
        Ok(v) => v,
        Err(e) => panic!(
            "gmp: {what} does not decode as {}: {e} ({} bytes, {} handles)",
            core::any::type_name::<T>(),
            bytes.len(),
            handles.len()
        ),
    }
}
