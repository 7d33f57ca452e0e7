//! Where a parked G's host memory goes: a counting allocator (installed for this binary only) measures the
//! live heap bytes per G of (a) bare wasmtime — N stores each instantiated from the floor module, no
//! scheduler, kept alive — and (b) wasm-gmp running `bench_park` with N parked Gs, in this process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use wasmtime::{Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;

/// `System` plus a count of live bytes.
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments unchanged; the counter has no effect
// on the allocations themselves.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(p, l, new) }
    }
}

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Heap bytes per bare wasmtime store + instance of the floor module (WASI context included).
fn bare(n: usize) -> anyhow::Result<f64> {
    let engine = &wasm_gmp::EngineConfig::default().engine()?;
    let wasm = crate::procs::root().join("target/wasm/wasm32-wasip1/release/bench_floor.wasm");
    let module = Module::from_file(engine, wasm).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |c| c).map_err(|e| anyhow::anyhow!("{e}"))?;
    linker.define_unknown_imports_as_traps(&module).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pre = linker.instantiate_pre(&module).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut stores = Vec::with_capacity(n);
    let before = live();
    for _ in 0..n {
        let mut s = Store::new(engine, wasmtime_wasi::WasiCtxBuilder::new().inherit_stdio().build_p1());
        s.set_epoch_deadline(u64::MAX / 2);
        crate::floor::block_on(pre.instantiate_async(&mut s)).map_err(|e| anyhow::anyhow!("{e}"))?;
        stores.push(s);
    }
    let per = (live() - before) as f64 / n as f64;
    drop(stores);
    Ok(per)
}

/// Heap bytes per parked G under wasm-gmp (bench_park in this process): sampled once the program says its
/// Gs are parked, while it waits on a stdin that only this function writes to.
fn gmp(n: usize) -> anyhow::Result<f64> {
    let run = |k: usize| -> anyhow::Result<isize> {
        let (stdin, mut release) = std::io::pipe()?;
        let out = wasm_gmp::Capture::new();
        let opts = wasm_gmp::RunOptions {
            args: vec!["park".into(), k.to_string()],
            stdin: wasm_gmp::Input::reader(stdin),
            stdout: wasm_gmp::Output::Capture(out.clone()),
            ..Default::default()
        };
        let rt = wasm_gmp::Runtime::new(wasm_gmp::Config { procs: 2, ..Default::default() })?;
        let program = rt.load(crate::procs::root().join("target/wasm/wasm32-wasip1/release/bench_park.wasm"))?;
        let run = std::thread::spawn(move || rt.run(&program, opts));
        let t0 = std::time::Instant::now();
        while !out.contents().contains("parked=") {
            anyhow::ensure!(!run.is_finished(), "bench_park ended before its Gs parked");
            anyhow::ensure!(t0.elapsed() < Duration::from_secs(120), "bench_park did not park {k} Gs in 2 minutes");
            std::thread::sleep(Duration::from_millis(10));
        }
        let sample = live();
        std::io::Write::write_all(&mut release, b"\n")?;
        run.join().map_err(|_| anyhow::anyhow!("the run panicked"))??;
        Ok(sample)
    };
    let (one, many) = (run(1)?, run(n)?);
    Ok((many - one) as f64 / (n - 1) as f64)
}

pub fn measure(n: usize) -> anyhow::Result<()> {
    let b = bare(n)?;
    println!("bare wasmtime store + instance (with a WASI context): {:.1} KiB heap each", b / 1024.0);
    let g = gmp(n)?;
    println!("wasm-gmp parked G (bench_park): {:.1} KiB heap each", g / 1024.0);
    Ok(())
}
