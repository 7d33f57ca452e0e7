//! How values cross between Gs: the [`Message`] trait, the [`Encoder`]/[`Decoder`] pair that carries bytes
//! plus handles, the implementations for standard types, and the [`message!`](crate::message!) macro.
//!
//! The format is private to this crate and only ever read by the same program (every G runs the same module),
//! so it is simple rather than self-describing: integers and floats are fixed-width little-endian, lengths and
//! enum tags come first, and handles travel out of band in the message's handle list, in encoding order. The
//! value that ends a message is encoded with [`Message::encode_last`], which lets a trailing `Vec<u8>` or
//! `String` skip its length prefix: a `Sender<Vec<u8>>` sends exactly the vector's bytes, so the runtime's
//! message-size limit means what it says.

use core::fmt;
use std::cell::Cell;

/// A value that can be sent to another G: over a channel, or as a spawn argument.
///
/// Gs share no memory, so a message is bytes plus handles: [`encode`](Message::encode) writes the value to
/// an [`Encoder`], [`decode`](Message::decode) rebuilds it from a [`Decoder`] in the receiving G. Channel
/// ends and [`WaitGroup`](crate::WaitGroup)s are messages too: they travel as handles, which the runtime
/// duplicates into the receiver.
///
/// Implemented for integers, floats, `bool`, `char`, `()`, `String`, `Vec<T>`, `Option<T>`, `Result<T, E>`,
/// `Box<T>`, arrays and tuples of up to 8 messages. For a struct, list its fields with
/// [`message!`](crate::message!); for anything else implement the two methods by hand:
///
/// ```no_run
/// use gmp::{DecodeError, Decoder, Encoder, Message};
///
/// enum Shape {
///     Circle(f64),
///     Rect { w: f64, h: f64 },
/// }
///
/// impl Message for Shape {
///     fn encode(&self, enc: &mut Encoder) {
///         match self {
///             Shape::Circle(r) => {
///                 0u8.encode(enc);
///                 r.encode(enc);
///             }
///             Shape::Rect { w, h } => {
///                 1u8.encode(enc);
///                 w.encode(enc);
///                 h.encode(enc);
///             }
///         }
///     }
///
///     fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
///         match u8::decode(dec)? {
///             0 => Ok(Shape::Circle(f64::decode(dec)?)),
///             1 => Ok(Shape::Rect { w: f64::decode(dec)?, h: f64::decode(dec)? }),
///             _ => Err(DecodeError::Invalid("Shape tag")),
///         }
///     }
/// }
///
/// let (tx, rx) = gmp::chan::<Shape>(1);
/// tx.send(Shape::Circle(1.0));
/// assert!(matches!(rx.recv(), Some(Shape::Circle(_))));
/// ```
pub trait Message: Sized {
    /// Appends the value to `enc`.
    ///
    /// ```no_run
    /// use gmp::{Encoder, Message};
    ///
    /// let mut enc = Encoder::new();
    /// 7u16.encode(&mut enc);
    /// assert_eq!(enc.bytes(), &[7, 0]);
    /// ```
    fn encode(&self, enc: &mut Encoder);

    /// Reads a value that [`encode`](Message::encode) wrote, taking ownership of the handles it uses.
    ///
    /// ```no_run
    /// use gmp::{Decoder, Message};
    ///
    /// let mut dec = Decoder::new(&[7, 0], &[]);
    /// assert_eq!(u16::decode(&mut dec), Ok(7));
    /// ```
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError>;

    /// Appends the value when nothing follows it in the message. The default is
    /// [`encode`](Message::encode); types whose encoding ends in a length-prefixed run of bytes (`Vec<u8>`,
    /// `String`, and anything whose last part is one) leave the prefix out, since the message's end marks
    /// where the bytes stop. Override it together with [`decode_last`](Message::decode_last), or neither.
    ///
    /// ```no_run
    /// use gmp::{Encoder, Message};
    ///
    /// let mut enc = Encoder::new();
    /// String::from("hi").encode_last(&mut enc);
    /// assert_eq!(enc.bytes(), b"hi");
    /// ```
    fn encode_last(&self, enc: &mut Encoder) {
        self.encode(enc);
    }

    /// Reads a value that [`encode_last`](Message::encode_last) wrote: it extends to the message's end.
    ///
    /// ```no_run
    /// use gmp::{Decoder, Message};
    ///
    /// let mut dec = Decoder::new(b"hi", &[]);
    /// assert_eq!(String::decode_last(&mut dec).as_deref(), Ok("hi"));
    /// ```
    fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Self::decode(dec)
    }

    /// Specialization hook for `Vec<Self>`: encodes a run of values. The default writes the length and each
    /// value; `u8` overrides it to copy the bytes at once (and to drop the length when `last`).
    #[doc(hidden)]
    fn __encode_vec(items: &[Self], enc: &mut Encoder, last: bool) {
        let _ = last;
        enc.write_len(items.len());
        for item in items {
            item.encode(enc);
        }
    }

    /// Specialization hook for `Vec<Self>`: the inverse of `__encode_vec`.
    #[doc(hidden)]
    fn __decode_vec(dec: &mut Decoder<'_>, last: bool) -> Result<Vec<Self>, DecodeError> {
        let _ = last;
        let n = dec.read_len()?;
        // A hostile length must not make us reserve gigabytes: each value takes at least one byte or one
        // handle, except zero-sized encodings, whose vectors cost nothing to grow anyway.
        let mut items = Vec::with_capacity(n.min(dec.remaining_bytes() + dec.remaining_handles()));
        for _ in 0..n {
            items.push(Self::decode(dec)?);
        }
        Ok(items)
    }
}

/// Why a message could not be decoded as the type the receiver expected.
///
/// The channel and spawn APIs never return it: a message of the wrong shape means sender and receiver disagree
/// on the type, a bug, so they panic with it. It is for [`Message`] implementations to report with.
///
/// ```no_run
/// use gmp::{DecodeError, Decoder, Message};
///
/// let mut dec = Decoder::new(&[1], &[]);
/// assert_eq!(u32::decode(&mut dec), Err(DecodeError::UnexpectedEnd));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes ended before the value did.
    UnexpectedEnd,
    /// The value needed a handle the message did not carry.
    MissingHandle,
    /// Bytes or handles were left over after the value.
    TrailingData,
    /// A field held something its type does not allow; the text names it.
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
/// ```no_run
/// use gmp::{Encoder, Message};
///
/// let (tx, _rx) = gmp::chan::<u8>(0);
/// let mut enc = Encoder::new();
/// (1u8, tx).encode(&mut enc);
/// assert_eq!(enc.bytes(), &[1]);
/// assert_eq!(enc.handles().len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct Encoder {
    bytes: Vec<u8>,
    handles: Vec<u32>,
}

impl Encoder {
    /// An empty encoder.
    ///
    /// ```no_run
    /// let enc = gmp::Encoder::new();
    /// assert!(enc.bytes().is_empty());
    /// ```
    pub const fn new() -> Self {
        Encoder { bytes: Vec::new(), handles: Vec::new() }
    }

    /// Appends raw bytes.
    ///
    /// ```no_run
    /// let mut enc = gmp::Encoder::new();
    /// enc.write(b"abc");
    /// assert_eq!(enc.bytes(), b"abc");
    /// ```
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Attaches a handle. The message borrows it: the runtime gives the receiver its own duplicate, and the
    /// handle stays the sender's to close.
    ///
    /// ```no_run
    /// let h = gmp::sys::chan_new(0);
    /// let mut enc = gmp::Encoder::new();
    /// enc.push_handle(h);
    /// assert_eq!(enc.handles(), &[h]);
    /// ```
    #[inline]
    pub fn push_handle(&mut self, handle: u32) {
        self.handles.push(handle);
    }

    /// The bytes written so far.
    ///
    /// ```no_run
    /// let mut enc = gmp::Encoder::new();
    /// enc.write(&[1, 2]);
    /// assert_eq!(enc.bytes().len(), 2);
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The handles attached so far.
    ///
    /// ```no_run
    /// assert!(gmp::Encoder::new().handles().is_empty());
    /// ```
    pub fn handles(&self) -> &[u32] {
        &self.handles
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

    fn clear(&mut self) {
        self.bytes.clear();
        self.handles.clear();
    }
}

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
pub(crate) fn recycle_encoder(mut enc: Encoder) {
    if enc.bytes.capacity() <= CACHE_LIMIT && enc.handles.capacity() <= CACHE_LIMIT / 4 {
        enc.clear();
        CACHED.set(enc);
    }
}

/// Encodes `value` as a whole message and hands its bytes and handles to `f`.
#[inline]
pub(crate) fn with_encoded<T: Message, R>(value: &T, f: impl FnOnce(&[u8], &[u32]) -> R) -> R {
    let mut enc = take_encoder();
    value.encode_last(&mut enc);
    let r = f(&enc.bytes, &enc.handles);
    recycle_encoder(enc);
    r
}

/// Decodes a whole message, panicking if it is not a `T`: sender and receiver disagree on the type.
pub(crate) fn decode_message<T: Message>(bytes: &[u8], handles: &[u32], what: &str) -> T {
    let mut dec = Decoder::new(bytes, handles);
    let value = T::decode_last(&mut dec).and_then(|v| {
        if dec.remaining_bytes() == 0 && dec.remaining_handles() == 0 { Ok(v) } else { Err(DecodeError::TrailingData) }
    });
    match value {
        Ok(v) => v,
        Err(e) => panic!(
            "gmp: {what} does not decode as {}: {e} ({} bytes, {} handles)",
            core::any::type_name::<T>(),
            bytes.len(),
            handles.len()
        ),
    }
}

/// A received message being read: its bytes and its handles, consumed in the order they were encoded.
///
/// ```no_run
/// use gmp::{Decoder, Message};
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
    /// ```no_run
    /// let dec = gmp::Decoder::new(b"xyz", &[]);
    /// assert_eq!(dec.remaining_bytes(), 3);
    /// ```
    pub fn new(bytes: &'a [u8], handles: &'a [u32]) -> Self {
        Decoder { bytes, handles }
    }

    /// Reads the next `n` bytes.
    ///
    /// ```no_run
    /// let mut dec = gmp::Decoder::new(b"xyz", &[]);
    /// assert_eq!(dec.read(2), Ok(&b"xy"[..]));
    /// assert!(dec.read(2).is_err());
    /// ```
    #[inline]
    pub fn read(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.bytes.len() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Reads all the bytes that are left.
    ///
    /// ```no_run
    /// let mut dec = gmp::Decoder::new(b"xyz", &[]);
    /// assert_eq!(dec.read_rest(), b"xyz");
    /// assert_eq!(dec.remaining_bytes(), 0);
    /// ```
    pub fn read_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    /// Takes the next handle. The caller owns it from now on and must close it (usually by wrapping it in the
    /// type that does, as [`Sender`](crate::Sender) does).
    ///
    /// ```no_run
    /// let mut dec = gmp::Decoder::new(&[], &[5]);
    /// assert_eq!(dec.take_handle(), Ok(5));
    /// assert!(dec.take_handle().is_err());
    /// ```
    #[inline]
    pub fn take_handle(&mut self) -> Result<u32, DecodeError> {
        let (&first, rest) = self.handles.split_first().ok_or(DecodeError::MissingHandle)?;
        self.handles = rest;
        Ok(first)
    }

    /// How many bytes are left to read.
    ///
    /// ```no_run
    /// assert_eq!(gmp::Decoder::new(&[0; 4], &[]).remaining_bytes(), 4);
    /// ```
    pub fn remaining_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// How many handles are left to take.
    ///
    /// ```no_run
    /// assert_eq!(gmp::Decoder::new(&[], &[3, 4]).remaining_handles(), 2);
    /// ```
    pub fn remaining_handles(&self) -> usize {
        self.handles.len()
    }

    #[inline]
    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.read(N)?;
        Ok(bytes.try_into().expect("read returned N bytes"))
    }

    #[inline]
    pub(crate) fn read_len(&mut self) -> Result<usize, DecodeError> {
        let len = u32::from_le_bytes(self.read_array()?);
        usize::try_from(len).map_err(|_| DecodeError::Invalid("length"))
    }
}

macro_rules! fixed_width {
    ($($t:ty),*) => {$(
        impl Message for $t {
            #[inline]
            fn encode(&self, enc: &mut Encoder) {
                enc.write(&self.to_le_bytes());
            }

            #[inline]
            fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(dec.read_array()?))
            }
        }
    )*};
}

fixed_width!(u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

impl Message for u8 {
    #[inline]
    fn encode(&self, enc: &mut Encoder) {
        enc.bytes.push(*self);
    }

    #[inline]
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(dec.read_array::<1>()?[0])
    }

    fn __encode_vec(items: &[Self], enc: &mut Encoder, last: bool) {
        if !last {
            enc.write_len(items.len());
        }
        enc.write(items);
    }

    fn __decode_vec(dec: &mut Decoder<'_>, last: bool) -> Result<Vec<Self>, DecodeError> {
        let bytes = if last {
            dec.read_rest()
        } else {
            let n = dec.read_len()?;
            dec.read(n)?
        };
        Ok(bytes.to_vec())
    }
}

// usize and isize travel as 64-bit so a message means the same whatever the target's pointer width.
impl Message for usize {
    #[inline]
    fn encode(&self, enc: &mut Encoder) {
        (*self as u64).encode(enc);
    }

    #[inline]
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        usize::try_from(u64::decode(dec)?).map_err(|_| DecodeError::Invalid("usize"))
    }
}

impl Message for isize {
    #[inline]
    fn encode(&self, enc: &mut Encoder) {
        (*self as i64).encode(enc);
    }

    #[inline]
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        isize::try_from(i64::decode(dec)?).map_err(|_| DecodeError::Invalid("isize"))
    }
}

impl Message for bool {
    #[inline]
    fn encode(&self, enc: &mut Encoder) {
        u8::from(*self).encode(enc);
    }

    #[inline]
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match u8::decode(dec)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid("bool")),
        }
    }
}

impl Message for char {
    #[inline]
    fn encode(&self, enc: &mut Encoder) {
        u32::from(*self).encode(enc);
    }

    #[inline]
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        char::from_u32(u32::decode(dec)?).ok_or(DecodeError::Invalid("char"))
    }
}

impl Message for () {
    #[inline]
    fn encode(&self, _enc: &mut Encoder) {}

    #[inline]
    fn decode(_dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl Message for String {
    fn encode(&self, enc: &mut Encoder) {
        u8::__encode_vec(self.as_bytes(), enc, false);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let n = dec.read_len()?;
        utf8(dec.read(n)?)
    }

    fn encode_last(&self, enc: &mut Encoder) {
        u8::__encode_vec(self.as_bytes(), enc, true);
    }

    fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        utf8(dec.read_rest())
    }
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    core::str::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError::Invalid("UTF-8 in String"))
}

impl<T: Message> Message for Vec<T> {
    fn encode(&self, enc: &mut Encoder) {
        T::__encode_vec(self, enc, false);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        T::__decode_vec(dec, false)
    }

    fn encode_last(&self, enc: &mut Encoder) {
        T::__encode_vec(self, enc, true);
    }

    fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        T::__decode_vec(dec, true)
    }
}

impl<T: Message> Message for Box<T> {
    fn encode(&self, enc: &mut Encoder) {
        (**self).encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        T::decode(dec).map(Box::new)
    }

    fn encode_last(&self, enc: &mut Encoder) {
        (**self).encode_last(enc);
    }

    fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        T::decode_last(dec).map(Box::new)
    }
}

impl<T: Message> Message for Option<T> {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            None => 0u8.encode(enc),
            Some(v) => {
                1u8.encode(enc);
                v.encode(enc);
            }
        }
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match u8::decode(dec)? {
            0 => Ok(None),
            1 => T::decode(dec).map(Some),
            _ => Err(DecodeError::Invalid("Option tag")),
        }
    }

    fn encode_last(&self, enc: &mut Encoder) {
        match self {
            None => 0u8.encode(enc),
            Some(v) => {
                1u8.encode(enc);
                v.encode_last(enc);
            }
        }
    }

    fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match u8::decode(dec)? {
            0 => Ok(None),
            1 => T::decode_last(dec).map(Some),
            _ => Err(DecodeError::Invalid("Option tag")),
        }
    }
}

impl<T: Message, E: Message> Message for Result<T, E> {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            Ok(v) => {
                0u8.encode(enc);
                v.encode(enc);
            }
            Err(e) => {
                1u8.encode(enc);
                e.encode(enc);
            }
        }
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match u8::decode(dec)? {
            0 => T::decode(dec).map(Ok),
            1 => E::decode(dec).map(Err),
            _ => Err(DecodeError::Invalid("Result tag")),
        }
    }

    fn encode_last(&self, enc: &mut Encoder) {
        match self {
            Ok(v) => {
                0u8.encode(enc);
                v.encode_last(enc);
            }
            Err(e) => {
                1u8.encode(enc);
                e.encode_last(enc);
            }
        }
    }

    fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match u8::decode(dec)? {
            0 => T::decode_last(dec).map(Ok),
            1 => E::decode_last(dec).map(Err),
            _ => Err(DecodeError::Invalid("Result tag")),
        }
    }
}

impl<T: Message, const N: usize> Message for [T; N] {
    fn encode(&self, enc: &mut Encoder) {
        for item in self {
            item.encode(enc);
        }
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut error = None;
        let items: [Option<T>; N] = core::array::from_fn(|_| match error {
            Some(_) => None,
            None => T::decode(dec).map_err(|e| error = Some(e)).ok(),
        });
        match error {
            Some(e) => Err(e),
            None => Ok(items.map(|item| item.expect("every item decoded"))),
        }
    }
}

macro_rules! tuple {
    ($($t:ident $v:ident),* ; $last:ident $lv:ident) => {
        impl<$($t: Message,)* $last: Message> Message for ($($t,)* $last,) {
            #[inline]
            fn encode(&self, enc: &mut Encoder) {
                let ($($v,)* $lv,) = self;
                $($v.encode(enc);)*
                $lv.encode(enc);
            }

            #[inline]
            fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(($($t::decode(dec)?,)* $last::decode(dec)?,))
            }

            #[inline]
            fn encode_last(&self, enc: &mut Encoder) {
                let ($($v,)* $lv,) = self;
                $($v.encode(enc);)*
                $lv.encode_last(enc);
            }

            #[inline]
            fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(($($t::decode(dec)?,)* $last::decode_last(dec)?,))
            }
        }
    };
}

tuple!(; A a);
tuple!(A a; B b);
tuple!(A a, B b; C c);
tuple!(A a, B b, C c; D d);
tuple!(A a, B b, C c, D d; E e);
tuple!(A a, B b, C c, D d, E e; F f);
tuple!(A a, B b, C c, D d, E e, F f; G g);
tuple!(A a, B b, C c, D d, E e, F f, G g; H h);

/// Implements [`Message`] for a struct by listing its fields, in either of two forms.
///
/// Defining form: declares the struct (attributes, visibility and field types as usual; no generics) and
/// implements `Message` for it. Listing form: `impl Type { fields }` implements it for an existing struct
/// whose listed fields are all [`Message`]s; it must list every field, and works for tuple structs by number.
/// Fields are encoded in the order listed.
///
/// ```no_run
/// gmp::message! {
///     #[derive(Debug, Clone, PartialEq)]
///     pub struct Job {
///         pub id: u32,
///         pub data: Vec<u8>,
///     }
/// }
///
/// struct Point(i32, i32);
/// gmp::message!(impl Point { 0, 1 });
///
/// let (tx, rx) = gmp::chan::<(Job, Point)>(1);
/// tx.send((Job { id: 1, data: vec![2] }, Point(3, 4)));
/// let (job, point) = rx.recv().unwrap();
/// assert_eq!((job.id, point.1), (1, 4));
/// ```
#[macro_export]
macro_rules! message {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),*
        }

        $crate::message!(impl $name { $($field),* });
    };
    (impl $name:ty { $($field:tt),* $(,)? }) => {
        impl $crate::Message for $name {
            fn encode(&self, enc: &mut $crate::Encoder) {
                $($crate::Message::encode(&self.$field, enc);)*
            }

            fn decode(dec: &mut $crate::Decoder<'_>) -> ::core::result::Result<Self, $crate::DecodeError> {
                ::core::result::Result::Ok(Self { $($field: $crate::Message::decode(dec)?),* })
            }
        }
    };
}
