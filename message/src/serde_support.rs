//! [`Serde`]: any serde type as a [`Message`], encoded with postcard (feature `serde`). Host and guest must
//! agree on postcard's format too, which is why this crate pins its version.
//!
//! The `serde` crate is re-exported (`gmp_message::serde`, `gmp::serde` in the guest SDK) with its derives
//! and std impls, so a program needs no serde dependency of its own: derive with
//! `#[derive(gmp::serde::Serialize, gmp::serde::Deserialize)]` and `#[serde(crate = "gmp::serde")]`.

use crate::{DecodeError, Decoder, Encoder, Message};

/// Sends any `serde` type as a message, in postcard's compact format: a `u32` length and the postcard bytes,
/// or at the end of a message the postcard bytes alone.
///
/// Serde types carry no handles, so channel ends inside one cannot travel this way; put them next to it in a
/// tuple instead (`(Serde<Config>, Sender<u32>)`).
///
/// ```
/// use gmp_message::Serde;
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Config {
///     name: String,
///     retries: u8,
/// }
///
/// let sent = (Serde(Config { name: "x".into(), retries: 3 }), 9u8);
/// let enc = gmp_message::encode(&sent);
/// assert_eq!(enc.bytes(), &[3, 0, 0, 0, 1, b'x', 3, 9]);
/// let (Serde(config), nine) = gmp_message::decode::<(Serde<Config>, u8)>(enc.bytes(), &[]).unwrap();
/// assert_eq!((config.retries, nine), (3, 9));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serde<T>(pub T);

impl<T: serde::Serialize + serde::de::DeserializeOwned> Message for Serde<T> {
    fn encode(&self, enc: &mut Encoder) {
        // Length first, patched once postcard has written straight into the message.
        let at = enc.bytes().len();
        enc.write(&[0; 4]);
        self.encode_last(enc);
        let len = u32::try_from(enc.bytes().len() - at - 4).expect("gmp: Serde value over u32::MAX bytes");
        enc.bytes_mut()[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let n = dec.read_len()?;
        from_postcard(dec.read(n)?)
    }

    fn encode_last(&self, enc: &mut Encoder) {
        let bytes = core::mem::take(enc.bytes_mut());
        *enc.bytes_mut() = postcard::to_extend(&self.0, bytes).expect("gmp: serde serialization failed");
    }

    fn decode_last(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        from_postcard(dec.read_rest())
    }
}

fn from_postcard<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Serde<T>, DecodeError> {
    postcard::from_bytes(bytes).map(Serde).map_err(|_| DecodeError::Invalid("postcard data in Serde<T>"))
}
