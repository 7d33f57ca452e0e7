//! Every standard implementation survives a round trip, in the middle of a message and as a whole one; the
//! bytes are pinned, so the format cannot drift between host and guest without a test saying so; the
//! `_last` encodings drop exactly the prefixes the crate doc says; handles come back in encoding order; and a
//! whole message must be used up.

use std::fmt::Debug;

use gmp_message::{DecodeError, Decoder, Encoder, Message};

/// A value standing for a runtime object: it travels as its handle, like the guest SDK's channel ends.
#[derive(Debug, PartialEq)]
struct Handle(u32);

impl Message for Handle {
    fn encode(&self, enc: &mut Encoder) {
        enc.push_handle(self.0);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        dec.take_handle().map(Handle)
    }
}

gmp_message::message! {
    #[derive(Debug, PartialEq)]
    struct Job {
        id: u32,
        owner: Handle,
        tags: Vec<String>,
        body: String,
    }
}

/// Checks `value` both ways: encoded with `encode` and followed by a sentinel (so a decode that reads too far
/// or too little shows), and as a whole message.
#[track_caller]
fn round_trip<T: Message + PartialEq + Debug>(value: T) {
    let mut enc = Encoder::new();
    value.encode(&mut enc);
    0xa5u8.encode(&mut enc);
    enc.push_handle(0xdead);
    let mut dec = Decoder::new(enc.bytes(), enc.handles());
    assert_eq!(T::decode(&mut dec).as_ref(), Ok(&value), "mid-message decode");
    assert_eq!(u8::decode(&mut dec), Ok(0xa5), "decode stopped at the wrong byte for {value:?}");
    assert_eq!(dec.take_handle(), Ok(0xdead), "decode took the wrong number of handles for {value:?}");
    assert_eq!((dec.remaining_bytes(), dec.remaining_handles()), (0, 0));

    let enc = gmp_message::encode(&value);
    assert_eq!(gmp_message::decode::<T>(enc.bytes(), enc.handles()), Ok(value), "whole-message decode");
}

/// The bytes of `value` encoded with `encode`, then as a whole message (`encode_last`).
fn bytes_of<T: Message>(value: &T) -> (Vec<u8>, Vec<u8>) {
    let mut enc = Encoder::new();
    value.encode(&mut enc);
    (enc.bytes().to_vec(), gmp_message::encode(value).into_parts().0)
}

#[test]
fn integers_round_trip_at_their_extremes() {
    round_trip(0u8);
    round_trip(u8::MAX);
    round_trip(u16::MAX);
    round_trip(u32::MAX);
    round_trip(u64::MAX);
    round_trip(u128::MAX);
    round_trip(i8::MIN);
    round_trip(i16::MIN);
    round_trip(i32::MIN);
    round_trip(i64::MIN);
    round_trip(i128::MIN);
    round_trip(-1i32);
    round_trip(usize::MAX);
    round_trip(isize::MIN);
    round_trip(0usize);
}

#[test]
fn floats_round_trip_bit_for_bit() {
    for x in [0.0f64, -0.0, 1.5, f64::MIN_POSITIVE, f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        let enc = gmp_message::encode(&x);
        assert_eq!(gmp_message::decode::<f64>(enc.bytes(), &[]).map(f64::to_bits), Ok(x.to_bits()));
    }
    let odd_nan = f32::from_bits(0x7fc0_1234);
    let enc = gmp_message::encode(&odd_nan);
    assert_eq!(gmp_message::decode::<f32>(enc.bytes(), &[]).map(f32::to_bits), Ok(0x7fc0_1234));
    round_trip(-2.25f32);
}

#[test]
fn scalars_round_trip() {
    round_trip(true);
    round_trip(false);
    round_trip('a');
    round_trip('é');
    round_trip(char::MAX);
    round_trip(());
}

#[test]
fn strings_and_vectors_round_trip() {
    round_trip(String::new());
    round_trip(String::from("héllo, wörld"));
    round_trip(Vec::<u8>::new());
    round_trip(vec![0u8, 1, 255]);
    round_trip(vec![1u32, u32::MAX]);
    round_trip(vec![String::new(), "a".into(), "bc".into()]);
    round_trip(vec![vec![1u8], vec![], vec![2, 3]]);
    round_trip(vec![(); 3]);
    round_trip(vec![Some(1i64), None]);
}

#[test]
fn wrappers_round_trip() {
    round_trip(None::<u8>);
    round_trip(Some(7u8));
    round_trip(Some(String::from("x")));
    round_trip(Some(None::<u8>));
    round_trip(Ok::<u16, String>(3));
    round_trip(Err::<u16, String>("no".into()));
    round_trip(Box::new(5u32));
    round_trip(Box::new(String::from("boxed")));
}

#[test]
fn arrays_round_trip() {
    round_trip([1u8, 2, 3]);
    round_trip([0u64; 0]);
    round_trip([String::from("a"), String::new()]);
    round_trip([[1i16, -1], [2, -2]]);
}

#[test]
fn tuples_of_every_arity_round_trip() {
    round_trip((1u8,));
    round_trip((1u8, String::from("b")));
    round_trip((1u8, 2u16, String::from("c")));
    round_trip((1u8, 2u16, 3u32, vec![4u8]));
    round_trip((1u8, 2u16, 3u32, 4u64, 'e'));
    round_trip((1u8, 2u16, 3u32, 4u64, 5i8, true));
    round_trip((1u8, 2u16, 3u32, 4u64, 5i8, 6i16, String::from("g")));
    round_trip((1u8, 2u16, 3u32, 4u64, 5i8, 6i16, 7i32, Some(vec![8u8])));
}

#[test]
fn nested_values_round_trip() {
    round_trip(Some(vec![(1u8, String::from("one")), (2, String::new())]));
    round_trip(Ok::<Vec<u8>, String>(vec![1, 2]));
    round_trip(Box::new(Some(vec![Some(String::from("deep"))])));
    round_trip(vec![Err::<(), [u8; 2]>([1, 2]), Ok(())]);
    round_trip((vec![vec![String::from("x")]], Box::new((1u8, vec![2u8])), [Some('z'), None]));
    round_trip(Job { id: 9, owner: Handle(4), tags: vec!["a".into(), "b".into()], body: "text".into() });
    round_trip(vec![Job { id: 1, owner: Handle(1), tags: vec![], body: String::new() }]);
}

/// The format, byte for byte: what the guest SDK wrote before this crate existed, and what the host and guest
/// must both keep writing.
#[test]
fn encodings_are_pinned() {
    assert_eq!(bytes_of(&0x0102_0304u32).0, [4, 3, 2, 1]);
    assert_eq!(bytes_of(&-2i16).0, [0xfe, 0xff]);
    assert_eq!(bytes_of(&1u128).0, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(bytes_of(&3usize).0, [3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(bytes_of(&-1isize).0, [0xff; 8]);
    assert_eq!(bytes_of(&1.0f32).0, [0, 0, 0x80, 0x3f]);
    assert_eq!(bytes_of(&-2.0f64).0, [0, 0, 0, 0, 0, 0, 0, 0xc0]);
    assert_eq!(bytes_of(&true).0, [1]);
    assert_eq!(bytes_of(&'é').0, [0xe9, 0, 0, 0]);
    assert_eq!(bytes_of(&()).0, [0u8; 0]);
    assert_eq!(bytes_of(&String::from("ab")), (vec![2, 0, 0, 0, b'a', b'b'], b"ab".to_vec()));
    assert_eq!(bytes_of(&vec![7u8]), (vec![1, 0, 0, 0, 7], vec![7]));
    assert_eq!(bytes_of(&vec![7u16]).1, [1, 0, 0, 0, 7, 0]);
    assert_eq!(bytes_of(&vec![String::from("a")]).1, [1, 0, 0, 0, 1, 0, 0, 0, b'a']);
    assert_eq!(bytes_of(&None::<u32>).0, [0]);
    assert_eq!(bytes_of(&Some(5u16)).0, [1, 5, 0]);
    assert_eq!(bytes_of(&Ok::<u8, u8>(4)).0, [0, 4]);
    assert_eq!(bytes_of(&Err::<u8, u8>(4)).0, [1, 4]);
    assert_eq!(bytes_of(&Box::new(9u8)).0, [9]);
    assert_eq!(bytes_of(&[1u16, 2]).0, [1, 0, 2, 0]);
    assert_eq!(bytes_of(&(1u8, 2u16)).0, [1, 2, 0]);
    let job = Job { id: 2, owner: Handle(8), tags: vec!["t".into()], body: "b".into() };
    assert_eq!(bytes_of(&job).1, [2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b't', 1, 0, 0, 0, b'b']);
}

/// `encode_last` drops the length of a trailing byte run, passes "last" down through tuples, `Option`,
/// `Result` and `Box`, and nowhere else.
#[test]
fn encode_last_drops_only_the_trailing_length() {
    // A byte run that ends the message loses its length...
    assert_eq!(gmp_message::encode(&String::from("hi")).bytes(), b"hi");
    assert_eq!(gmp_message::encode(&vec![1u8, 2]).bytes(), &[1, 2]);
    assert_eq!(gmp_message::encode(&(1u8, String::from("hi"))).bytes(), &[1, b'h', b'i']);
    assert_eq!(gmp_message::encode(&Some(vec![5u8])).bytes(), &[1, 5]);
    assert_eq!(gmp_message::encode(&Err::<u8, String>("e".into())).bytes(), &[1, b'e']);
    assert_eq!(gmp_message::encode(&Ok::<String, u8>("o".into())).bytes(), &[0, b'o']);
    assert_eq!(gmp_message::encode(&Box::new(String::from("b"))).bytes(), b"b");
    assert_eq!(gmp_message::encode(&(1u8, (2u8, vec![3u8]))).bytes(), &[1, 2, 3]);
    // ...one that does not end it keeps it...
    assert_eq!(gmp_message::encode(&(String::from("hi"), 1u8)).bytes(), &[2, 0, 0, 0, b'h', b'i', 1]);
    // ...and vectors of anything else, arrays and `message!` structs always keep theirs.
    assert_eq!(gmp_message::encode(&vec![String::from("s")]).bytes(), &[1, 0, 0, 0, 1, 0, 0, 0, b's']);
    assert_eq!(gmp_message::encode(&vec![vec![9u8]]).bytes(), &[1, 0, 0, 0, 1, 0, 0, 0, 9]);
    assert_eq!(gmp_message::encode(&[String::from("a")]).bytes(), &[1, 0, 0, 0, b'a']);
    let job = Job { id: 0, owner: Handle(0), tags: vec![], body: "z".into() };
    assert!(gmp_message::encode(&job).bytes().ends_with(&[1, 0, 0, 0, b'z']));
}

#[test]
fn decode_last_takes_the_rest_of_the_message() {
    assert_eq!(gmp_message::decode::<String>(&[], &[]), Ok(String::new()));
    assert_eq!(gmp_message::decode::<Vec<u8>>(&[0, 0, 0, 0], &[]), Ok(vec![0, 0, 0, 0]));
    assert_eq!(gmp_message::decode::<(u8, Vec<u8>)>(&[1], &[]), Ok((1, vec![])));
    // A tail written with `encode_last` is not what `decode` expects.
    let mut dec = Decoder::new(b"hi", &[]);
    assert_eq!(String::decode(&mut dec), Err(DecodeError::UnexpectedEnd));
}

#[test]
fn handles_come_back_in_encoding_order() {
    let value = (Handle(30), 1u8, vec![Handle(31), Handle(32)], Some(Handle(33)), String::from("end"));
    let enc = gmp_message::encode(&value);
    assert_eq!(enc.handles(), &[30, 31, 32, 33]);
    assert_eq!(enc.bytes(), &[1, 2, 0, 0, 0, 1, b'e', b'n', b'd'], "handles take no bytes");
    assert_eq!(gmp_message::decode(enc.bytes(), enc.handles()), Ok(value));

    // The same bytes with the handle list reversed decode with the handles reversed: order is all there is.
    let reversed: Vec<u32> = enc.handles().iter().rev().copied().collect();
    let (a, _, v, o, _) =
        gmp_message::decode::<(Handle, u8, Vec<Handle>, Option<Handle>, String)>(enc.bytes(), &reversed)
            .expect("the shape is the same");
    assert_eq!((a.0, v[0].0, v[1].0, o.map(|h| h.0)), (33, 32, 31, Some(30)));
}

#[test]
fn a_missing_handle_is_an_error() {
    let enc = gmp_message::encode(&(Handle(1), Handle(2)));
    assert_eq!(gmp_message::decode::<(Handle, Handle)>(enc.bytes(), &[1]), Err(DecodeError::MissingHandle));
    assert_eq!(gmp_message::decode::<Vec<Handle>>(&[1, 0, 0, 0], &[]), Err(DecodeError::MissingHandle));
}

#[test]
fn leftover_bytes_or_handles_are_trailing_data() {
    assert_eq!(gmp_message::decode::<u32>(&[1, 0, 0, 0, 0], &[]), Err(DecodeError::TrailingData));
    assert_eq!(gmp_message::decode::<()>(&[0], &[]), Err(DecodeError::TrailingData));
    assert_eq!(gmp_message::decode::<String>(b"all bytes", &[7]), Err(DecodeError::TrailingData));
    assert_eq!(gmp_message::decode::<Vec<u16>>(&[1, 0, 0, 0, 1, 0, 2], &[]), Err(DecodeError::TrailingData));
    assert_eq!(gmp_message::decode::<(Handle,)>(&[], &[1, 2]), Err(DecodeError::TrailingData));
    // Exactly used up is fine.
    assert_eq!(gmp_message::decode::<(Handle,)>(&[], &[1]), Ok((Handle(1),)));
}

#[test]
fn encoder_parts_round_trip_and_append() {
    let enc = gmp_message::encode(&(Handle(3), 1u8));
    let (bytes, handles) = enc.into_parts();
    let mut enc = Encoder::from_parts(bytes, handles);
    (Handle(4), 2u8).encode(&mut enc);
    assert_eq!((enc.bytes(), enc.handles()), (&[1u8, 2][..], &[3u32, 4][..]));
}

#[cfg(feature = "serde")]
mod with_serde {
    use super::*;
    use gmp_message::Serde;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Config {
        name: String,
        retries: u8,
        weights: Vec<f32>,
    }

    fn config() -> Config {
        Config { name: "n".into(), retries: 2, weights: vec![0.5] }
    }

    #[test]
    fn serde_values_round_trip() {
        round_trip(Serde(config()));
        round_trip((Serde(config()), Handle(1), Serde(7u64)));
    }

    #[test]
    fn serde_drops_its_length_only_at_the_end() {
        let inner = postcard::to_allocvec(&config()).expect("postcard encodes");
        assert_eq!(gmp_message::encode(&Serde(config())).bytes(), &inner[..]);
        let mut mid = (inner.len() as u32).to_le_bytes().to_vec();
        mid.extend_from_slice(&inner);
        mid.push(9);
        assert_eq!(gmp_message::encode(&(Serde(config()), 9u8)).bytes(), &mid[..]);
    }

    #[test]
    fn bad_postcard_data_is_invalid() {
        let err = Some(DecodeError::Invalid("postcard data in Serde<T>"));
        assert_eq!(gmp_message::decode::<Serde<Config>>(&[5, b'x'], &[]).err(), err);
        assert_eq!(gmp_message::decode::<(Serde<Config>, u8)>(&[1, 0, 0, 0, 0xff, 1], &[]).err(), err);
    }
}

mod derived {
    use gmp_message::{DecodeError, Message, decode, encode};

    #[derive(Debug, Clone, PartialEq, Message)]
    struct Job {
        id: u32,
        name: String,
        tags: Vec<String>,
    }

    #[derive(Debug, Clone, PartialEq, Message)]
    struct Pair(i64, Option<u8>);

    #[derive(Debug, Clone, PartialEq, Message)]
    struct Unit;

    #[derive(Debug, Clone, PartialEq, Message)]
    enum Event<T> {
        Started,
        Progress(u8, T),
        Done { job: Job, ok: bool },
    }

    gmp_message::message! {
        #[derive(Debug, PartialEq)]
        struct JobByMacro {
            id: u32,
            name: String,
            tags: Vec<String>,
        }
    }

    /// Structs (named, tuple, unit) and a generic enum round-trip, with something after them.
    #[test]
    fn derived_types_round_trip() {
        let job = Job { id: 7, name: "build".into(), tags: vec!["a".into(), "".into()] };
        let events =
            vec![Event::Started, Event::Progress(50, Pair(-3, Some(9))), Event::Done { job: job.clone(), ok: true }];
        let sent = (job, Pair(i64::MIN, None), Unit, events, 99u8);
        let enc = encode(&sent);
        assert_eq!(decode(enc.bytes(), enc.handles()), Ok(sent));
    }

    /// The derive writes what `message!` writes for the same struct: either side reads the other.
    #[test]
    fn derive_and_message_macro_agree() {
        let job = Job { id: 1, name: "x".into(), tags: vec!["t".into()] };
        let by_macro = JobByMacro { id: 1, name: "x".into(), tags: vec!["t".into()] };
        assert_eq!(encode(&job).bytes(), encode(&by_macro).bytes());
        let enc = encode(&by_macro);
        assert_eq!(decode::<Job>(enc.bytes(), enc.handles()), Ok(job));
    }

    /// An enum index with no variant, and a truncated message, are errors, never panics.
    #[test]
    fn bad_derived_input_is_an_error() {
        let enc = encode(&3u32);
        assert_eq!(decode::<Event<u8>>(enc.bytes(), &[]), Err(DecodeError::Invalid("Event variant")));
        let enc = encode(&Event::<u8>::Done { job: Job { id: 1, name: "n".into(), tags: vec![] }, ok: false });
        for cut in 0..enc.bytes().len() {
            assert!(decode::<Event<u8>>(&enc.bytes()[..cut], &[]).is_err(), "{cut} bytes decoded");
        }
    }
}
