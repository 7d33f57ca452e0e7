//! The two ends of the format: [`Encoder`] appends bytes and handles, [`Decoder`] reads them back in the
//! same order, and [`DecodeError`] says why it could not. [`encode`] and [`decode`] do a whole message, the
//! only place where the `_last` methods are chosen for the caller.
//!
//! Every read checks its length against what is left before touching the input (invariant 3 of the crate
//! doc), so a `Decoder` over any bytes at all returns errors, never panics.

use core::fmt;

use crate::Message;

/// Encodes `value` as a whole message, with [`Message::encode_last`]: what a channel send puts on the wire.
///
/// ```
/// let enc = gmp_message::encode(&(1u8, vec![2u8, 3]));
/// assert_eq!(enc.bytes(), &[1, 2, 3]);
/// let (bytes, handles) = enc.into_parts();
/// assert_eq!((bytes.len(), handles.len()), (3, 0));
/// ```
///
/// # Panics
///
/// If a string or vector in the value is longer than `u32::MAX`, which the format cannot express.
pub fn encode<T: Message>(value: &T) -> Encoder {
    let mut enc = Encoder::new();
    value.encode_last(&mut enc);
    enc
}

/// Decodes a whole message as a `T`, with [`Message::decode_last`], and checks that it used every byte and
/// every handle.
///
/// ```
/// use gmp_message::DecodeError;
///
/// assert_eq!(gmp_message::decode::<(u8, Vec<u8>)>(&[1, 2, 3], &[]), Ok((1, vec![2, 3])));
/// assert_eq!(gmp_message::decode::<u8>(&[1, 2], &[]), Err(DecodeError::TrailingData));
/// assert_eq!(gmp_message::decode::<u8>(&[1], &[9]), Err(DecodeError::TrailingData));
/// ```
///
/// # Errors
///
/// The value's [`DecodeError`], or [`DecodeError::TrailingData`] if bytes or handles are left over. On an
/// error, the handles the value had taken before it failed are not given back: the caller, who owns the
/// handle list, decides what becomes of them.
pub fn decode<T: Message>(bytes: &[u8], handles: &[u32]) -> Result<T, DecodeError> {
    let mut dec = Decoder::new(bytes, handles);
    let value = T::decode_last(&mut dec)?;
    if dec.remaining_bytes() == 0 && dec.remaining_handles() == 0 { Ok(value) } else { Err(DecodeError::TrailingData) }
}

/// Why a message could not be decoded as the type the receiver expected.
///
/// The guest SDK's channel and spawn APIs never return it: a message of the wrong shape means sender and
/// receiver disagree on the type, a bug, so they panic with it. It is for [`Message`] implementations to
/// report with, and for a host that decodes what a guest sent, which it must not trust.
///
/// ```
/// use gmp_message::{DecodeError, Decoder, Message};
///
/// assert_eq!(u32::decode(&mut Decoder::new(&[1], &[])), Err(DecodeError::UnexpectedEnd));
/// assert_eq!(<(u8, u32)>::decode(&mut Decoder::new(&[1, 0, 0, 0, 0], &[])), Ok((1, 0)));
/// assert_eq!(Option::<u8>::decode(&mut Decoder::new(&[2], &[])), Err(DecodeError::Invalid("Option tag")));
/// assert_eq!(DecodeError::Invalid("bool").to_string(), "invalid bool");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes ended before the value did.
    ///
    /// ```
    /// # use gmp_message::{DecodeError, Decoder, Message};
    /// assert_eq!(String::decode(&mut Decoder::new(&[9, 0, 0, 0, b'x'], &[])), Err(DecodeError::UnexpectedEnd));
    /// ```
    UnexpectedEnd,
    /// The value needed a handle the message did not carry.
    ///
    /// ```
    /// # use gmp_message::{DecodeError, Decoder};
    /// assert_eq!(Decoder::new(&[], &[]).take_handle(), Err(DecodeError::MissingHandle));
    /// ```
    MissingHandle,
    /// Bytes or handles were left over after the value.
    ///
    /// ```
    /// # use gmp_message::DecodeError;
    /// assert_eq!(gmp_message::decode::<bool>(&[1, 1], &[]), Err(DecodeError::TrailingData));
    /// ```
    TrailingData,
    /// A field held something its type does not allow; the text names it.
    ///
    /// ```
    /// # use gmp_message::DecodeError;
    /// assert_eq!(gmp_message::decode::<char>(&[0, 0xd8, 0, 0], &[]), Err(DecodeError::Invalid("char")));
    /// ```
    Invalid(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnexpectedEnd => f.write_str("message ended early"),
            DecodeError::MissingHandle => f.write_str("message carries too few handles"),
            DecodeError::TrailingData => f.write_str("message has bytes or handles left over"),
            DecodeError::Invalid(what) => write!(f, "invalid {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A message being built: its bytes and the handles to attach.
///
/// ```
/// use gmp_message::{Encoder, Message};
///
/// let mut enc = Encoder::new();
/// 1u8.encode(&mut enc);
/// enc.push_handle(40);
/// 2u8.encode(&mut enc);
/// enc.push_handle(41);
/// assert_eq!(enc.bytes(), &[1, 2]);
/// assert_eq!(enc.handles(), &[40, 41]);
/// ```
#[derive(Debug, Default)]
pub struct Encoder {
    bytes: Vec<u8>,
    handles: Vec<u32>,
}

impl Encoder {
    /// An empty encoder.
    ///
    /// ```
    /// let enc = gmp_message::Encoder::new();
    /// assert!(enc.bytes().is_empty() && enc.handles().is_empty());
    /// ```
    pub const fn new() -> Self {
        Encoder { bytes: Vec::new(), handles: Vec::new() }
    }

    /// An encoder that appends to `bytes` and `handles`: how a caller reuses buffers it got back from
    /// [`into_parts`](Encoder::into_parts), or writes a message after a header of its own.
    ///
    /// ```
    /// use gmp_message::{Encoder, Message};
    ///
    /// let mut enc = Encoder::from_parts(vec![0xff], Vec::new());
    /// 1u16.encode(&mut enc);
    /// assert_eq!(enc.bytes(), &[0xff, 1, 0]);
    /// ```
    pub fn from_parts(bytes: Vec<u8>, handles: Vec<u32>) -> Self {
        Encoder { bytes, handles }
    }

    /// The bytes and handles, to keep or send without copying.
    ///
    /// ```
    /// let mut enc = gmp_message::encode(&String::from("ok"));
    /// enc.push_handle(3);
    /// assert_eq!(enc.into_parts(), (b"ok".to_vec(), vec![3]));
    /// ```
    pub fn into_parts(self) -> (Vec<u8>, Vec<u32>) {
        (self.bytes, self.handles)
    }

    /// Appends raw bytes.
    ///
    /// ```
    /// let mut enc = gmp_message::Encoder::new();
    /// enc.write(b"abc");
    /// assert_eq!(enc.bytes(), b"abc");
    /// ```
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Attaches a handle, after those already attached. This crate gives it no meaning; in wasm-gmp the
    /// message borrows it: the runtime gives the receiver its own duplicate, and the handle stays the
    /// sender's to close.
    ///
    /// ```
    /// let mut enc = gmp_message::Encoder::new();
    /// enc.push_handle(5);
    /// enc.push_handle(2);
    /// assert_eq!(enc.handles(), &[5, 2]);
    /// ```
    #[inline]
    pub fn push_handle(&mut self, handle: u32) {
        self.handles.push(handle);
    }

    /// The bytes written so far.
    ///
    /// ```
    /// let mut enc = gmp_message::Encoder::new();
    /// enc.write(&[1, 2]);
    /// assert_eq!(enc.bytes().len(), 2);
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The handles attached so far.
    ///
    /// ```
    /// assert!(gmp_message::Encoder::new().handles().is_empty());
    /// ```
    pub fn handles(&self) -> &[u32] {
        &self.handles
    }

    #[inline]
    pub(crate) fn push_byte(&mut self, byte: u8) {
        self.bytes.push(byte);
    }

    #[cfg(feature = "serde")]
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Writes a length as the `u32` every length in the format is.
    #[inline]
    pub(crate) fn write_len(&mut self, len: usize) {
        let len = u32::try_from(len).expect("gmp: a length in a message exceeds u32::MAX");
        self.write(&len.to_le_bytes());
    }
}

/// A received message being read: its bytes and its handles, each consumed in the order it was encoded.
///
/// ```
/// use gmp_message::{Decoder, Message};
///
/// let mut dec = Decoder::new(&[1, 0, 0, 0, 9], &[]);
/// assert_eq!(<(u32, u8)>::decode(&mut dec), Ok((1, 9)));
/// assert_eq!(dec.remaining_bytes(), 0);
/// ```
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    handles: &'a [u32],
}

impl<'a> Decoder<'a> {
    /// A decoder over a message's bytes and handles.
    ///
    /// ```
    /// let dec = gmp_message::Decoder::new(b"xyz", &[1]);
    /// assert_eq!((dec.remaining_bytes(), dec.remaining_handles()), (3, 1));
    /// ```
    pub fn new(bytes: &'a [u8], handles: &'a [u32]) -> Self {
        Decoder { bytes, handles }
    }

    /// Reads the next `n` bytes.
    ///
    /// ```
    /// let mut dec = gmp_message::Decoder::new(b"xyz", &[]);
    /// assert_eq!(dec.read(2), Ok(&b"xy"[..]));
    /// assert!(dec.read(2).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedEnd`] if fewer than `n` bytes are left; nothing is consumed then.
    #[inline]
    pub fn read(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.bytes.split_at_checked(n).ok_or(DecodeError::UnexpectedEnd)?;
        self.bytes = tail;
        Ok(head)
    }

    /// Reads all the bytes that are left.
    ///
    /// ```
    /// let mut dec = gmp_message::Decoder::new(b"xyz", &[]);
    /// assert_eq!(dec.read_rest(), b"xyz");
    /// assert_eq!(dec.remaining_bytes(), 0);
    /// ```
    pub fn read_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    /// Takes the next handle. What the caller may do with it is the carrier's business; in a wasm-gmp guest
    /// the caller owns it from now on and must close it (usually by wrapping it in the type that does, as the
    /// SDK's `Sender` does).
    ///
    /// ```
    /// let mut dec = gmp_message::Decoder::new(&[], &[5, 6]);
    /// assert_eq!(dec.take_handle(), Ok(5));
    /// assert_eq!(dec.take_handle(), Ok(6));
    /// assert!(dec.take_handle().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`DecodeError::MissingHandle`] if no handle is left.
    #[inline]
    pub fn take_handle(&mut self) -> Result<u32, DecodeError> {
        let (&first, rest) = self.handles.split_first().ok_or(DecodeError::MissingHandle)?;
        self.handles = rest;
        Ok(first)
    }

    /// How many bytes are left to read.
    ///
    /// ```
    /// assert_eq!(gmp_message::Decoder::new(&[0; 4], &[]).remaining_bytes(), 4);
    /// ```
    pub fn remaining_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// How many handles are left to take.
    ///
    /// ```
    /// assert_eq!(gmp_message::Decoder::new(&[], &[3, 4]).remaining_handles(), 2);
    /// ```
    pub fn remaining_handles(&self) -> usize {
        self.handles.len()
    }

    #[inline]
    pub(crate) fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self.bytes.split_first_chunk::<N>().ok_or(DecodeError::UnexpectedEnd)?;
        self.bytes = tail;
        Ok(*head)
    }

    /// Reads a length: a `u32`, which fits a `usize` on every target wasm-gmp runs on (32 and 64 bits).
    #[inline]
    pub(crate) fn read_len(&mut self) -> Result<usize, DecodeError> {
        let len = u32::from_le_bytes(self.read_array()?);
        usize::try_from(len).map_err(|_| DecodeError::Invalid("length"))
    }
}
