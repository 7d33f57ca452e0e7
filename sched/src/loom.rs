//! The synchronization our own protocols use, from loom under `--cfg gmp_loom` and from std/parking_lot
//! otherwise.
//!
//! What goes through this shim is exactly what the loom models check: the G status byte
//! ([`crate::g::GState`]), `runnext` ([`crate::runq::RunNext`]), the spinning/idle counters of the delicate
//! dance ([`crate::idle::SpinCounts`]), an M's parking place ([`crate::idle::M`]), the syscall slot
//! ([`crate::syscall::SyscallSlot`]), the poller claim ([`crate::netpoll::PollerClaim`]) and a sudog's
//! outcome ([`crate::chan::Outcome`]). crossbeam-deque
//! and the rest of parking_lot are trusted and stress-tested instead, since loom cannot model them; where a
//! model needs a run queue it stands in a SeqCst counter, which is what crossbeam's `push`/`is_empty` give.
//!
//! Under loom the lock types are thin wrappers giving loom's `Mutex`/`Condvar` parking_lot's shape (`lock()`
//! without a `Result`, `wait(&mut guard)`), so the same code compiles against both.

#[cfg(gmp_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize};
#[cfg(not(gmp_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize};

#[cfg(not(gmp_loom))]
pub(crate) use parking_lot::{Condvar, Mutex};

/// Between a SeqCst write and a SeqCst read of another location, in the handshakes where each side writes
/// its own flag and then reads the other's (the store-buffer pattern: the delicate dance, the poller claim,
/// the deaf sleeper). SeqCst accesses alone forbid both sides reading the old values, so this compiles to
/// nothing; loom, however, models SeqCst accesses as AcqRel (loom issue #180) and would report that
/// outcome, so under loom this is the SeqCst fence that restores the guarantee the code relies on.
#[inline(always)]
pub(crate) fn sc_fence() {
    #[cfg(gmp_loom)]
    loom::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}

#[cfg(gmp_loom)]
pub(crate) use self::sync::{Condvar, Mutex};

/// A cell whose exclusive access a protocol of ours guarantees (a sudog's outcome, see `chan.rs`): loom's
/// `UnsafeCell` under loom, which checks that guarantee, and std's otherwise.
#[cfg(gmp_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// std's `UnsafeCell` with loom's `with_mut` shape.
#[cfg(not(gmp_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(gmp_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(t: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(t))
    }

    /// `f` gets the cell's pointer; the caller's protocol makes it the only user for `f`'s span.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(gmp_loom)]
mod sync {
    use std::ops::{Deref, DerefMut};

    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// Holds loom's guard in an `Option` so that `Condvar::wait` can take it out and put it back.
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn new(t: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(t))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().expect("loom mutex poisoned")))
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().expect("guard present outside wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().expect("guard present outside wait")
        }
    }

    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Condvar {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let g = guard.0.take().expect("guard present outside wait");
            guard.0 = Some(self.0.wait(g).expect("loom mutex poisoned"));
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }
}
