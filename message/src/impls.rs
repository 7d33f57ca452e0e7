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

// The std collections: a `u32` count, then the items (for maps, each key then its value) in iteration
// order. Decoding a map or set keeps the last of equal keys.

fn encode_items<'a, T: Message + 'a>(enc: &mut Encoder, len: usize, items: impl Iterator<Item = &'a T>) {
    enc.write_len(len);
    items.for_each(|item| item.encode(enc));
}

fn decode_items<T: Message, C: FromIterator<T>>(dec: &mut Decoder<'_>) -> Result<C, DecodeError> {
    let n = dec.read_len()?;
    (0..n).map(|_| T::decode(dec)).collect()
}

fn encode_pairs<'a, K: Message + 'a, V: Message + 'a>(
    enc: &mut Encoder,
    len: usize,
    pairs: impl Iterator<Item = (&'a K, &'a V)>,
) {
    enc.write_len(len);
    for (k, v) in pairs {
        k.encode(enc);
        v.encode(enc);
    }
}

fn decode_pairs<K: Message, V: Message, C: FromIterator<(K, V)>>(dec: &mut Decoder<'_>) -> Result<C, DecodeError> {
    let n = dec.read_len()?;
    (0..n).map(|_| Ok((K::decode(dec)?, V::decode(dec)?))).collect()
}

impl<T: Message> Message for std::collections::VecDeque<T> {
    fn encode(&self, enc: &mut Encoder) {
        encode_items(enc, self.len(), self.iter());
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        decode_items(dec)
    }
}

impl<T: Message + Ord> Message for std::collections::BTreeSet<T> {
    fn encode(&self, enc: &mut Encoder) {
        encode_items(enc, self.len(), self.iter());
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        decode_items(dec)
    }
}

impl<T, S> Message for std::collections::HashSet<T, S>
where
    T: Message + Eq + std::hash::Hash,
    S: std::hash::BuildHasher + Default,
{
    fn encode(&self, enc: &mut Encoder) {
        encode_items(enc, self.len(), self.iter());
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        decode_items(dec)
    }
}

impl<K: Message + Ord, V: Message> Message for std::collections::BTreeMap<K, V> {
    fn encode(&self, enc: &mut Encoder) {
        encode_pairs(enc, self.len(), self.iter());
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        decode_pairs(dec)
    }
}

impl<K, V, S> Message for std::collections::HashMap<K, V, S>
where
    K: Message + Eq + std::hash::Hash,
    V: Message,
    S: std::hash::BuildHasher + Default,
{
    fn encode(&self, enc: &mut Encoder) {
        encode_pairs(enc, self.len(), self.iter());
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        decode_pairs(dec)
    }
}

#[cfg(test)]
mod collection_tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

    use crate::{DecodeError, Decoder, Encoder, Message, decode};

    fn round_trip<T: Message + PartialEq + std::fmt::Debug>(v: T) {
        let mut enc = Encoder::new();
        v.encode(&mut enc);
        7u8.encode(&mut enc); // something after it: the collection must know where it ends
        let mut dec = Decoder::new(enc.bytes(), enc.handles());
        assert_eq!(T::decode(&mut dec), Ok(v));
        assert_eq!(u8::decode(&mut dec), Ok(7));
    }

    #[test]
    fn std_collections_round_trip() {
        round_trip(HashMap::from([("a".to_string(), 1u32), ("b".to_string(), 2)]));
        round_trip(BTreeMap::from([(3u64, vec!["x".to_string()]), (1, vec![])]));
        round_trip(HashSet::from([1i32, -5, 9]));
        round_trip(BTreeSet::from(['z', 'a']));
        round_trip(VecDeque::from([Some(1u8), None]));
        round_trip(HashMap::<u8, HashMap<u8, String>>::from([(1, HashMap::from([(2, "nested".into())]))]));
        round_trip(HashMap::<u32, u32>::new());
    }

    #[test]
    fn a_truncated_collection_is_an_error_not_a_panic() {
        let mut enc = Encoder::new();
        HashMap::from([(1u32, 2u64), (3, 4)]).encode(&mut enc);
        let bytes = enc.bytes();
        for cut in 0..bytes.len() {
            let r: Result<HashMap<u32, u64>, DecodeError> = decode(&bytes[..cut], &[]);
            assert!(r.is_err(), "{cut} bytes decoded");
        }
    }
}
