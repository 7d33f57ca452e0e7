//! Decoding input nobody honest wrote (invariant 3 of the crate doc): truncated messages, random bytes and
//! lying length prefixes give a `DecodeError`, never a panic, and never an allocation sized by the lie.
//!
//! The binary counts allocations: every request is recorded, and one above `REFUSE` is refused outright, so
//! a decoder that trusts a `u32::MAX` length aborts the test binary (a failure) instead of reserving
//! gigabytes on the machine running the tests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use gmp_message::{DecodeError, Decoder, Encoder, Message};

/// The largest single allocation any test here makes honestly is a few KiB.
const REFUSE: usize = 256 << 20;

/// The largest allocation request seen. Relaxed: a plain maximum, read after the requests it bounds were made
/// on the same thread.
static LARGEST: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: forwards to `System`, which upholds `GlobalAlloc`'s contract; refusing (null) is allowed.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > REFUSE {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout contract is passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout (via `alloc` or `realloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        if new_size > REFUSE {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`; `ptr` and `layout` are the caller's, unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// `u32::MAX`, the longest length a prefix can claim (2^32 - 1 elements), little-endian.
const HUGE: [u8; 4] = [0xff; 4];

/// Decodes `bytes` as a `T` (mid-message) and checks it fails with `want` without any allocation near the
/// claimed size.
#[track_caller]
fn rejects_cheaply<T: Message + Debug>(bytes: &[u8], handles: &[u32], want: DecodeError) {
    let mut dec = Decoder::new(bytes, handles);
    assert_eq!(T::decode(&mut dec).map(|_| ()), Err(want));
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 1 << 20, "decoding {} bytes allocated {largest} bytes at once", bytes.len());
}

#[test]
fn a_length_of_u32_max_reserves_only_what_the_input_can_hold() {
    let mut bytes = HUGE.to_vec();
    bytes.extend_from_slice(&[0; 64]);
    rejects_cheaply::<Vec<u64>>(&bytes, &[], DecodeError::UnexpectedEnd);
    rejects_cheaply::<Vec<u128>>(&bytes, &[], DecodeError::UnexpectedEnd);
    rejects_cheaply::<Vec<String>>(&bytes, &[], DecodeError::UnexpectedEnd);
    rejects_cheaply::<Vec<(u64, u64, u64, u64)>>(&bytes, &[1, 2], DecodeError::UnexpectedEnd);
    rejects_cheaply::<Vec<u8>>(&bytes, &[], DecodeError::UnexpectedEnd);
    rejects_cheaply::<String>(&bytes, &[], DecodeError::UnexpectedEnd);
    rejects_cheaply::<Vec<Vec<u32>>>(&[HUGE, [1, 0, 0, 0], HUGE].concat(), &[], DecodeError::UnexpectedEnd);
    rejects_cheaply::<Option<Vec<[u64; 4]>>>(&[&[1][..], &HUGE].concat(), &[], DecodeError::UnexpectedEnd);
    // Whole messages: the last `Vec<u64>` keeps its length and is checked the same way.
    assert_eq!(
        gmp_message::decode::<(u8, Vec<u64>)>(&[&[1][..], &HUGE].concat(), &[]),
        Err(DecodeError::UnexpectedEnd)
    );
}

#[test]
fn every_strict_prefix_of_a_message_is_unexpected_end() {
    #[track_caller]
    fn check<T: Message + Debug>(value: T) {
        let mut enc = Encoder::new();
        value.encode(&mut enc);
        let bytes = enc.bytes();
        for cut in 0..bytes.len() {
            let mut dec = Decoder::new(&bytes[..cut], enc.handles());
            assert_eq!(T::decode(&mut dec).map(|_| ()), Err(DecodeError::UnexpectedEnd), "{value:?} cut at {cut}");
        }
    }
    check(0x1234_5678u32);
    check(-1i128);
    check(7usize);
    check(2.5f64);
    check('x');
    check(true);
    check(String::from("truncate me"));
    check(vec![1u8, 2, 3]);
    check(vec![String::from("a"), String::from("bc")]);
    check(Some((1u16, Box::new(String::from("s")))));
    check(Err::<u8, Vec<u32>>(vec![1, 2]));
    check([[1u8, 2], [3, 4]]);
    check((1u8, 2u16, 3u32, 4u64, 5u8, 6u8, 7u8, String::from("8")));
}

#[test]
fn values_a_type_does_not_allow_are_invalid() {
    let invalid = |what| Some(DecodeError::Invalid(what));
    assert_eq!(gmp_message::decode::<bool>(&[2], &[]).err(), invalid("bool"));
    assert_eq!(gmp_message::decode::<char>(&[0, 0xd8, 0, 0], &[]).err(), invalid("char"), "a surrogate");
    assert_eq!(gmp_message::decode::<char>(&[0, 0, 0x11, 0], &[]).err(), invalid("char"), "past U+10FFFF");
    assert_eq!(gmp_message::decode::<String>(&[0xc3, 0x28], &[]).err(), invalid("UTF-8 in String"));
    assert_eq!(gmp_message::decode::<(String, u8)>(&[1, 0, 0, 0, 0xff, 0], &[]).err(), invalid("UTF-8 in String"));
    assert_eq!(gmp_message::decode::<Option<u8>>(&[2, 0], &[]).err(), invalid("Option tag"));
    assert_eq!(gmp_message::decode::<Result<u8, u8>>(&[9, 0], &[]).err(), invalid("Result tag"));
    assert_eq!(gmp_message::decode::<[bool; 3]>(&[1, 0, 5], &[]).err(), invalid("bool"));
}

/// A `usize` is 64 bits on the wire; on a 32-bit target (a guest) a value that does not fit is refused, not
/// truncated.
#[test]
fn a_usize_too_wide_for_the_target_is_invalid_there() {
    let big = (u64::from(u32::MAX) + 1).to_le_bytes();
    let neg = (i64::from(i32::MIN) - 1).to_le_bytes();
    if cfg!(target_pointer_width = "32") {
        assert_eq!(gmp_message::decode::<usize>(&big, &[]), Err(DecodeError::Invalid("usize")));
        assert_eq!(gmp_message::decode::<isize>(&neg, &[]), Err(DecodeError::Invalid("isize")));
    } else {
        assert_eq!(gmp_message::decode::<u64>(&big, &[]).map(|v| v as usize), gmp_message::decode::<usize>(&big, &[]));
        assert_eq!(gmp_message::decode::<i64>(&neg, &[]).map(|v| v as isize), gmp_message::decode::<isize>(&neg, &[]));
    }
}

/// Random bytes and handle counts, decoded as a spread of types both ways: every outcome is `Ok` or `Err`,
/// and a panic fails the test.
#[test]
fn random_input_never_panics() {
    // xorshift64*: a fixed seed, so a failure reproduces.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    type Nested = (Option<Vec<(u8, String)>>, Result<Box<[char; 2]>, Vec<Vec<u8>>>, bool, usize);
    for _ in 0..20_000 {
        let len = (next() % 48) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Small length prefixes now and then, so that decoding gets past the first one.
        if len >= 4 && next() % 2 == 0 {
            bytes[..4].copy_from_slice(&((next() % 8) as u32).to_le_bytes());
        }
        let handles: Vec<u32> = (0..next() % 3).map(|_| next() as u32).collect();
        let _ = gmp_message::decode::<Nested>(&bytes, &handles);
        let _ = gmp_message::decode::<Vec<String>>(&bytes, &handles);
        let _ = gmp_message::decode::<(String, char, f32)>(&bytes, &handles);
        let _ = gmp_message::decode::<Vec<Option<Result<u16, i8>>>>(&bytes, &handles);
        let _ = gmp_message::decode::<[Vec<u8>; 3]>(&bytes, &handles);
        let _ = Nested::decode(&mut Decoder::new(&bytes, &handles));
        let _ = <Vec<Vec<u64>>>::decode(&mut Decoder::new(&bytes, &handles));
    }
    assert!(LARGEST.load(Ordering::Relaxed) < 1 << 20);
}
