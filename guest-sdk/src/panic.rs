//! Rust panics reported as Go reports a panic: `panic: <message>` and the G's stack starting at the
//! function that panicked, on stderr and in the embedder's `Exit::report`, instead of std's
//! `thread '<unnamed>' panicked at ...` followed by a trap in `abort` and a dozen frames of panic machinery.
//!
//! The hook hands the message and location to the runtime (`gmp.panic`), which ends the program; it never
//! returns, which is all std's `panic = "abort"` on wasm32 would do next anyway. It is installed before
//! `main` by a constructor (wasm-ld runs `.init_array` entries from `_start`, and from every other export of
//! a command module, `gmp_entry` included), once per G, since each G is its own instance with its own hook.

use std::cell::Cell;
use std::fmt::Write;

thread_local! {
    /// Set once the hook is installed in this instance.
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the hook, if this G has not yet.
pub(crate) fn install() {
    if INSTALLED.with(|i| i.replace(true)) {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let message = match info.payload_as_str() {
            Some(s) => s.to_string(),
            None => "Box<dyn Any>".to_string(),
        };
        let mut location = String::new();
        if let Some(l) = info.location() {
            let _ = write!(location, "{}:{}:{}", l.file(), l.line(), l.column());
        }
        // SAFETY: both pointers are of live strings, readable for their lengths.
        unsafe { crate::sys::panic(message.as_ptr(), message.len(), location.as_ptr(), location.len()) }
    }));
}

extern "C" fn install_at_start() {
    install();
}

/// The constructor: a pointer in `.init_array`, called by `__wasm_call_ctors` before `main`.
#[used]
#[unsafe(link_section = ".init_array")]
static INSTALL_AT_START: extern "C" fn() = install_at_start;
