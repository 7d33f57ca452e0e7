//! The atomics our own lock-free code uses, from loom under `--cfg gmp_loom` and from std otherwise.
//!
//! Only the pieces we wrote ourselves go through this shim ([`crate::g::GState`], [`crate::runq::RunNext`]):
//! crossbeam-deque and parking_lot are trusted and stress-tested instead, since loom cannot model them.

#[cfg(gmp_loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU8};

#[cfg(not(gmp_loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU8};
