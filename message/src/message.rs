//! The [`Message`] trait: what a type implements to travel in a message. Its two hidden methods are how
//! `Vec<u8>` is copied as one run of bytes while every other `Vec<T>` goes element by element, without
//! specialization.

use crate::{DecodeError, Decoder, Encoder};

/// A value that can travel in a message: over a channel, as a spawn argument, from the host to a guest.
///
/// A message is bytes plus handles (see the crate doc for the format): [`encode`](Message::encode) writes the
/// value to an [`Encoder`], [`decode`](Message::decode) rebuilds it from a [`Decoder`] on the receiving side.
/// Values that stand for runtime objects (the guest SDK's channel ends and `WaitGroup`) travel as handles.
///
/// Implemented for integers, floats, `bool`, `char`, `()`, `String`, `Vec<T>`, `Option<T>`, `Result<T, E>`,
/// `Box<T>`, arrays and tuples of up to 8 messages. For a struct, list its fields with
/// [`message!`](crate::message!); for anything else implement the two methods by hand, writing a tag first
/// for an enum:
///
/// ```
/// use gmp_message::{DecodeError, Decoder, Encoder, Message};
///
/// #[derive(Debug, PartialEq)]
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
/// let shapes = vec![Shape::Circle(1.0), Shape::Rect { w: 2.0, h: 0.5 }];
/// let enc = gmp_message::encode(&shapes);
/// assert_eq!(enc.bytes().len(), 4 + (1 + 8) + (1 + 8 + 8));
/// assert_eq!(gmp_message::decode::<Vec<Shape>>(enc.bytes(), enc.handles()), Ok(shapes));
/// assert_eq!(gmp_message::decode::<Shape>(&[2], &[]), Err(DecodeError::Invalid("Shape tag")));
/// ```
pub trait Message: Sized {
    /// Appends the value to `enc`.
    ///
    /// ```
    /// use gmp_message::{Encoder, Message};
    ///
    /// let mut enc = Encoder::new();
    /// 7u16.encode(&mut enc);
    /// String::from("hi").encode(&mut enc);
    /// assert_eq!(enc.bytes(), &[7, 0, 2, 0, 0, 0, b'h', b'i']);
    /// ```
    ///
    /// # Panics
    ///
    /// If a string or vector in the value is longer than `u32::MAX`, which the format cannot express.
    fn encode(&self, enc: &mut Encoder);

    /// Reads a value that [`encode`](Message::encode) wrote, taking the handles it uses.
    ///
    /// ```
    /// use gmp_message::{DecodeError, Decoder, Message};
    ///
    /// let mut dec = Decoder::new(&[7, 0, 1], &[]);
    /// assert_eq!(u16::decode(&mut dec), Ok(7));
    /// assert_eq!(u16::decode(&mut dec), Err(DecodeError::UnexpectedEnd));
    /// ```
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] if the input ends early, lacks a handle, or holds something the type does not
    /// allow. The decoder may have consumed part of the input by then.
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError>;

    /// Appends the value when nothing follows it in the message. The default is
    /// [`encode`](Message::encode); types whose encoding ends in a length-prefixed run of bytes (`Vec<u8>`,
    /// `String`, and anything whose last part is one) leave the prefix out, since the message's end marks
    /// where the bytes stop. Override it together with [`decode_last`](Message::decode_last), or neither.
    ///
    /// ```
    /// use gmp_message::{Encoder, Message};
    ///
    /// let mut enc = Encoder::new();
    /// (7u8, String::from("hi")).encode_last(&mut enc);
    /// assert_eq!(enc.bytes(), &[7, b'h', b'i']);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`encode`](Message::encode).
    fn encode_last(&self, enc: &mut Encoder) {
        self.encode(enc);
    }

    /// Reads a value that [`encode_last`](Message::encode_last) wrote: it extends to the message's end.
    ///
    /// ```
    /// use gmp_message::{Decoder, Message};
    ///
    /// let mut dec = Decoder::new(b"hi", &[]);
    /// assert_eq!(String::decode_last(&mut dec).as_deref(), Ok("hi"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`decode`](Message::decode).
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
        // A hostile length must not make us reserve gigabytes (invariant 3): each value takes at least one
        // byte or one handle, except zero-sized encodings, whose vectors cost nothing to grow anyway.
        let mut items = Vec::with_capacity(n.min(dec.remaining_bytes() + dec.remaining_handles()));
        for _ in 0..n {
            items.push(Self::decode(dec)?);
        }
        Ok(items)
    }
}
