//! The engine's own floor under a G, measured in-process with wasm-gmp's engine configuration and no
//! scheduler: a bare loop polling wasmtime's futures.
//!
//! - instantiate + call + drop: `Store::new` with a WASI context, `instantiate_async`, `call_async` of an
//!   empty export, drop — what every spawn+exit pays at least.
//! - suspend + resume: one async host call that returns `Pending` once (the fiber switches out and back) —
//!   what every blocking channel operation pays at least.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use wasmtime::{Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;

/// Poll a future to completion on this thread; wasmtime's futures here are ready or yield once.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// One `Pending`, then ready: the cheapest suspension there is.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The floor figures, ns per operation.
#[derive(serde::Serialize)]
pub struct Floor {
    pub instantiate_call_drop_ns: f64,
    pub suspend_resume_ns: f64,
}

pub fn measure(wasm: &std::path::Path, iters: u32) -> anyhow::Result<Floor> {
    let engine = &wasm_gmp::EngineConfig::default().engine()?;
    let module = Module::from_file(engine, wasm).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |c| c).map_err(|e| anyhow::anyhow!("{e}"))?;
    linker
        .func_wrap_async("bench_host", "yield_once", |_c, (): ()| Box::new(YieldOnce(false)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    linker.define_unknown_imports_as_traps(&module).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pre = linker.instantiate_pre(&module).map_err(|e| anyhow::anyhow!("{e}"))?;
    let new_store = || {
        let mut s = Store::new(engine, WasiCtxBuilder::new().inherit_stdio().build_p1());
        s.set_epoch_deadline(u64::MAX / 2);
        s
    };

    let run_once = || -> anyhow::Result<()> {
        let mut store = new_store();
        block_on(async {
            let i = pre.instantiate_async(&mut store).await?;
            let f = i.get_typed_func::<(), ()>(&mut store, "floor_noop")?;
            f.call_async(&mut store, ()).await
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
    };
    for _ in 0..iters / 10 {
        run_once()?; // warm the pool's slots
    }
    let t0 = Instant::now();
    for _ in 0..iters {
        run_once()?;
    }
    let instantiate_call_drop_ns = t0.elapsed().as_nanos() as f64 / iters as f64;

    let mut store = new_store();
    let calls = iters * 20;
    let suspend_resume_ns = block_on(async {
        let i = pre.instantiate_async(&mut store).await?;
        let f = i.get_typed_func::<u32, ()>(&mut store, "floor_yield")?;
        f.call_async(&mut store, 1000).await?;
        let t0 = Instant::now();
        f.call_async(&mut store, calls).await?;
        Ok::<f64, wasmtime::Error>(t0.elapsed().as_nanos() as f64 / calls as f64)
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Floor { instantiate_call_drop_ns, suspend_resume_ns })
}
