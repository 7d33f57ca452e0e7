//! The engine floor: the same Rust + SDK + WASI module as the other guests, with two exports the runner
//! calls from a bare wasmtime loop (no scheduler): `floor_noop` (instantiate + call + drop) and
//! `floor_yield(n)` (n async host calls that each suspend the fiber once).

#[link(wasm_import_module = "bench_host")]
unsafe extern "C" {
    safe fn yield_once();
}

/// Does nothing: the call in "instantiate + call + drop".
#[unsafe(no_mangle)]
pub extern "C" fn floor_noop() {}

/// Calls the host's `yield_once` `n` times.
#[unsafe(no_mangle)]
pub extern "C" fn floor_yield(n: u32) {
    for _ in 0..n {
        yield_once();
    }
}

fn main() {
    // Keep the SDK linked in, so the module is the size and shape of a real guest.
    println!("floor: G {}", gmp::goid());
}
