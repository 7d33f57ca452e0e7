//! The `wasm-gmp` command: a thin layer over [`wasm_gmp::cli`].

fn main() {
    std::process::exit(wasm_gmp::cli::main());
}
