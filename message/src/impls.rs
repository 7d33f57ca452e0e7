//! [`Message`] for the standard types, in the encodings the crate doc's table lists. Each type that ends in a
//! run of bytes (`String`, `Vec<u8>`) or in another value (`Option`, `Result`, `Box`, tuples) overrides the
//! `_last` pair; the others keep the defaults (invariant 2).

use crate::{DecodeError, Decoder, Encoder, Message};

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
        enc.push_byte(*self);
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
