//! The wasmtime engine shared by every G: its configuration for many small instances, and the G limit.
//!
//! # Why one engine per configuration, per process
//! The pooling allocator reserves its slots when the engine is created: address space for every memory
//! slot, and two memory mappings (stack and guard page) per fiber-stack slot. An engine per `Runtime` would
//! multiply that by the number of runtimes alive at once (parallel tests, an embedder running several
//! programs), and mappings are the scarce resource (`vm.max_map_count`). So engines are shared: [`shared`]
//! returns the one engine for a given [`EngineConfig`], creating it on first use, and the live-G count that
//! guards its pool is the engine's, not a runtime's.
//!
//! # Sizing the pool from `vm.max_map_count`
//! Each pooled G costs about [`MAPS_PER_G`] mappings (its memory slot split into accessible and reserved
//! parts; [`MAPS_PER_G_COW`] with copy-on-write images) plus [`MAPS_PER_STACK_SLOT`] per stack slot, made
//! up front. The kernel refuses mappings beyond `vm.max_map_count` (65530 by default), and an `mmap` that
//! fails deep inside instantiation is a poor error. So the pool holds at most as many Gs as fit under the
//! limit after leaving [`MAPS_RESERVED`] for everything else in the process, and a spawn beyond that fails
//! with an error that names the limit and how to raise it (see [`LimitError`]).
//!
//! # Why the default pool stops at [`DEFAULT_MAX_GS`]
//! Those stack slots are made when the engine is: one `mprotect` per guard page, each a split of the
//! process's mapping tree, about 3.5 µs a slot on the 2-core VM of `bench/results` (0.04 s for the 15,382
//! slots of the default map count, 0.2 s for 65,536, 3.8 s for a million), paid again at exit. Some
//! distributions now raise `vm.max_map_count` by default (1,048,576 on Fedora since 39), and a pool sized
//! to that made every run of a one-G program take 0.9–1.1 s. So without `max_gs` the pool holds what
//! the map count allows up to [`DEFAULT_MAX_GS`]; a program that wants more says so with `--max-gs`, and
//! pays for its pool in start-up, as it will in memory.
//!
//! # Copy-on-write images: when they cost no G
//! With an image, a G's memory maps the module's initial data from one shared copy and pays only for the
//! pages it writes (bench_park, 10k parked Gs: 32 KiB per G instead of 43). The price is mappings: the
//! image splits the slot's accessible part in three, and a slot that held another module's image keeps
//! one split more (wasmtime zeroes the old image's range with a fresh mapping, which merges with only one
//! of its neighbours: they were faulted apart, under different anon_vmas), so a slot holds up to 5, not 2
//! (`tests/stress.rs` measures both). Under the default map count that is 8,790 Gs instead of 15,382,
//! fewer than a runtime for many Gs should hold out of the box. So [`CowImages::Auto`] turns images on
//! only where they cost no G: where the map count holds the engine's pool (`max_gs`, or the default pool)
//! with them, i.e. from 462,752 for the default pool of [`DEFAULT_MAX_GS`] (distributions that ship
//! 1,048,576 get them), and 7 million for a million Gs. [`CowImages::On`] and [`CowImages::Off`] decide it
//! outright. `wasm-gmp compile` has no `max_gs`, so it decides for the default pool, and a precompiled
//! module loads only into an engine that decided the same way.
//!
//! # Waiting for a place
//! A full pool is usually a burst of spawns outrunning the Gs that would exit, so a spawn at the limit
//! waits for a place ([`SharedEngine::wait_for_place`]) instead of failing at once. The waiter parks (no
//! spinning): it registers its waker, then tries once more; a freed place (`Slot`'s drop) lowers `live`,
//! then wakes every registered waiter (both sides SeqCst, so a place freed between the failed try and the
//! registration is seen by one of them).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Mappings a live pooled G holds: its memory slot split into accessible and reserved parts (measured:
/// 2.00 per parked G with `scripts/measure-rss.py`).
pub const MAPS_PER_G: usize = 2;
/// The same with copy-on-write images: up to 5 (see *Copy-on-write images*; measured by
/// `tests/stress.rs`: 4 with one module's image, 5 after a slot changes modules).
pub const MAPS_PER_G_COW: usize = 5;
/// Mappings the pool makes per fiber-stack slot up front: the stack and its guard page.
pub const MAPS_PER_STACK_SLOT: usize = 2;
/// Mappings left for the rest of the process: code, libraries, thread stacks, malloc arenas.
pub const MAPS_RESERVED: usize = 4_000;

/// Most Gs the pool holds when `max_gs` is not set, however high `vm.max_map_count` is (see *Why the default
/// pool stops at `DEFAULT_MAX_GS`*).
pub const DEFAULT_MAX_GS: usize = 65_536;

/// Address space the G pool may reserve: 64 TiB, half of a 47-bit user address space.
const ADDRESS_SPACE_BUDGET: u64 = 1 << 46;

/// The wasm page: the unit of linear memory.
pub const WASM_PAGE: u64 = 64 << 10;

/// The guard after each G's memory slot: a small one still lets the compiler fold constant offsets into
/// one bounds check.
pub const MEMORY_GUARD: u64 = 64 << 10;

/// Largest `max_memory`: 4 GiB, all that a 32-bit memory (the only kind the ABI's pointers reach) can hold.
pub const MAX_MEMORY: u64 = 1 << 32;

/// What the engine is configured with. Two runtimes with equal `EngineConfig`s share one engine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EngineConfig {
    /// Most linear memory one G may have, in bytes; also its address-space reservation. Smaller
    /// reservations fit more Gs in the address space, at the price of explicit bounds checks.
    pub max_memory: u64,
    /// Most Gs alive at once; `None` sizes it from `vm.max_map_count`, up to [`DEFAULT_MAX_GS`].
    pub max_gs: Option<usize>,
    /// Size of each G's fiber stack, which wasm frames and host calls share.
    pub stack_size: usize,
    /// Where compiled modules are cached across runs; `None` compiles every time. Default:
    /// [`default_cache_dir`], as the CLI.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Compile epoch checks into the guest so sysmon can preempt it. Off only to measure what the checks
    /// cost: without them a G in a loop with no calls keeps its P forever.
    pub preemption: bool,
    /// Map each G's initial data from a copy-on-write image of the module instead of copying it in (see
    /// [`CowImages`]).
    pub cow_images: CowImages,
}

/// Whether Gs map their initial data from copy-on-write images (see *Copy-on-write images* in the module
/// comment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CowImages {
    /// Where they cost no G of the pool's capacity.
    #[default]
    Auto,
    /// Always; a pool sized by the machine holds fewer Gs ([`MAPS_PER_G_COW`] mappings each).
    On,
    /// Never: every G copies the module's data in.
    Off,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_memory: 64 << 20, // 64 MiB per G: far more than a goroutine-sized G needs, small enough for 1M slots
            max_gs: None,
            stack_size: 256 << 10, // 256 KiB: room for deep-ish wasm recursion plus WASI host frames
            cache_dir: default_cache_dir(),
            preemption: true,
            cow_images: CowImages::Auto,
        }
    }
}

impl EngineConfig {
    /// The wasmtime engine this configuration makes, shared by every runtime and program with an equal
    /// configuration: for measuring the engine's own costs next to the runtime's, or for compiling modules
    /// of one's own with the same settings.
    ///
    /// # Errors
    /// When a setting is out of range, or the pool cannot be reserved.
    pub fn engine(&self) -> anyhow::Result<Engine> {
        Ok(shared(self)?.engine().clone())
    }

    /// How many Gs the pool of this configuration's engine holds: `max_gs`, or what `vm.max_map_count` and
    /// the address space allow, up to [`DEFAULT_MAX_GS`].
    ///
    /// # Errors
    /// As [`EngineConfig::engine`].
    pub fn pool_capacity(&self) -> anyhow::Result<usize> {
        Ok(shared(self)?.max_gs)
    }

    /// Whether this configuration's engine maps Gs' memory from copy-on-write images ([`CowImages`]
    /// decided for this machine).
    ///
    /// # Errors
    /// As [`EngineConfig::engine`].
    pub fn uses_cow_images(&self) -> anyhow::Result<bool> {
        Ok(shared(self)?.cow)
    }
}

/// An engine and the live-G accounting of its pool.
pub struct SharedEngine {
    pub(crate) engine: Engine,
    /// Gs alive in this engine's pool, over all runtimes using it.
    live: AtomicUsize,
    /// Most Gs alive at once.
    pub max_gs: usize,
    /// Where `max_gs` came from, for the error message.
    pub(crate) limit_source: LimitSource,
    /// Gs map their memory from copy-on-write images.
    pub cow: bool,
    /// Places freed so far: a waiting spawn that sees it move knows some G exited.
    freed: AtomicU64,
    /// Spawns waiting for a place (see *Waiting for a place*).
    place_waiters: Mutex<Vec<Waker>>,
    nplace_waiters: AtomicUsize,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum LimitSource {
    Configured,
    /// The kernel's map count, and the mappings each G's memory slot may hold.
    MapCount(usize, usize),
    /// [`DEFAULT_MAX_GS`], and the most Gs the map count would hold.
    Default(usize),
}

/// A spawn refused because the G pool is full.
#[derive(Debug)]
pub struct LimitError {
    /// Gs alive when the spawn was refused.
    pub live: usize,
    max_gs: usize,
    source: LimitSource,
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot start another G: {} Gs are alive, the limit is {}", self.live, self.max_gs)?;
        match self.source {
            LimitSource::Configured => write!(f, " (set by --max-gs / EngineConfig::max_gs; raise it there)"),
            LimitSource::MapCount(n, per_g) => write!(
                f,
                " (sized to the kernel's vm.max_map_count = {n}, about {per_g} + {MAPS_PER_STACK_SLOT} \
                 mappings per G; raise it with `sudo sysctl -w vm.max_map_count=N`, then --max-gs)"
            ),
            LimitSource::Default(room) => write!(
                f,
                " (the default pool; --max-gs / EngineConfig::max_gs raises it, to {room} under this \
                 vm.max_map_count)"
            ),
        }
    }
}

impl std::error::Error for LimitError {}

/// Holds one G's place in the pool; dropping it frees the place.
pub(crate) struct Slot(Arc<SharedEngine>);

impl Drop for Slot {
    fn drop(&mut self) {
        let e = &self.0;
        // SeqCst: pairs with `wait_for_place`'s registration then retry (see *Waiting for a place*).
        e.live.fetch_sub(1, Ordering::SeqCst);
        e.freed.fetch_add(1, Ordering::SeqCst);
        if e.nplace_waiters.load(Ordering::SeqCst) > 0 {
            let waiters = std::mem::take(&mut *e.place_waiters.lock().unwrap_or_else(|p| p.into_inner()));
            for w in waiters {
                w.wake();
            }
        }
    }
}

impl SharedEngine {
    /// Reserve a place for one more G.
    pub(crate) fn reserve(self: &Arc<Self>) -> Result<Slot, LimitError> {
        let prev = self.live.fetch_add(1, Ordering::SeqCst);
        if prev >= self.max_gs {
            self.live.fetch_sub(1, Ordering::SeqCst);
            return Err(LimitError { live: prev, max_gs: self.max_gs, source: self.limit_source });
        }
        Ok(Slot(self.clone()))
    }

    /// From inside a G: park until a place may be free (some G exited: `Ok`), or until `deadline`
    /// (scheduler ns of `sched`: `Err`, and no G exited meanwhile). See *Waiting for a place*.
    pub(crate) fn wait_for_place(self: &Arc<Self>, sched: &Arc<gmp_sched::Sched>, deadline: u64) -> PlaceWait {
        PlaceWait {
            engine: self.clone(),
            freed_at_start: self.freed.load(Ordering::SeqCst),
            timer: gmp_sched::current().map(|g| sched.add_timer(deadline, None, gmp_sched::Action::Ready(g))),
            registered: false,
        }
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// The future of [`SharedEngine::wait_for_place`].
pub(crate) struct PlaceWait {
    engine: Arc<SharedEngine>,
    freed_at_start: u64,
    /// Readies the waiting G at the deadline; None outside a G (then the wait ends at once).
    timer: Option<gmp_sched::Timer>,
    registered: bool,
}

impl Future for PlaceWait {
    type Output = Result<(), ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let e = self.engine.clone();
        if !self.registered {
            e.nplace_waiters.fetch_add(1, Ordering::SeqCst);
            self.registered = true;
        }
        e.place_waiters.lock().unwrap_or_else(|p| p.into_inner()).push(cx.waker().clone());
        // Registered first, then look: a place freed before the registration shows here.
        if e.freed.load(Ordering::SeqCst) != self.freed_at_start || e.live.load(Ordering::SeqCst) < e.max_gs {
            return Poll::Ready(Ok(()));
        }
        match &self.timer {
            Some(t) if !t.fired() => Poll::Pending,
            _ => Poll::Ready(Err(())),
        }
    }
}

impl Drop for PlaceWait {
    fn drop(&mut self) {
        if self.registered {
            self.engine.nplace_waiters.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(t) = self.timer.take() {
            t.stop();
        }
    }
}

/// Where compiled modules are cached by default: `$GMP_CACHE_DIR`, else `$XDG_CACHE_HOME/wasm-gmp`, else
/// `~/.cache/wasm-gmp` (None without a home). Compiling a real program takes a second or more; loading it
/// from the cache, milliseconds.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    if let Some(d) = std::env::var_os("GMP_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wasm-gmp"))
}

/// The kernel's `vm.max_map_count`, if it can be read.
pub fn max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

/// The most Gs a pool may hold under a `vm.max_map_count` of `map_count`, with copy-on-write images or
/// without.
pub fn max_gs_for_map_count(map_count: usize, cow_images: bool) -> usize {
    map_count.saturating_sub(MAPS_RESERVED) / (maps_per_g(cow_images) + MAPS_PER_STACK_SLOT)
}

/// What `vm.max_map_count` must be for a pool of `n` Gs, with copy-on-write images or without.
pub fn map_count_for(n: usize, cow_images: bool) -> usize {
    n * (maps_per_g(cow_images) + MAPS_PER_STACK_SLOT) + MAPS_RESERVED
}

fn maps_per_g(cow_images: bool) -> usize {
    if cow_images { MAPS_PER_G_COW } else { MAPS_PER_G }
}

/// The engine for `cfg`, created on first use.
///
/// # Errors
/// When wasmtime rejects the configuration or cannot reserve the pool (out of address space or memory).
pub fn shared(cfg: &EngineConfig) -> anyhow::Result<Arc<SharedEngine>> {
    static ENGINES: OnceLock<Mutex<HashMap<EngineConfig, Arc<SharedEngine>>>> = OnceLock::new();
    let mut engines = ENGINES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = engines.get(cfg) {
        return Ok(e.clone());
    }
    let e = Arc::new(build(cfg)?);
    engines.insert(cfg.clone(), e.clone());
    Ok(e)
}

fn build(cfg: &EngineConfig) -> anyhow::Result<SharedEngine> {
    anyhow::ensure!(
        (WASM_PAGE..=MAX_MEMORY).contains(&cfg.max_memory),
        "max_memory (--max-memory) is {} bytes; it must be one wasm page (64 KiB) to 4 GiB",
        cfg.max_memory
    );
    // The pool reserves address space for every slot up front; keep it within half of what a 47-bit user
    // address space holds, whatever the map count allows.
    let per_slot = cfg.max_memory.saturating_add(MEMORY_GUARD).saturating_add(cfg.stack_size as u64);
    let by_address_space = ((ADDRESS_SPACE_BUDGET / per_slot) as usize).max(1);
    let maps = max_map_count().unwrap_or(65_530);
    let cow = cow_images(cfg, maps, by_address_space);
    let (max_gs, limit_source) = pool_size(cfg, maps, cow, by_address_space)?;
    anyhow::ensure!(max_gs >= 1, "the G limit must be at least 1");
    let slots = u32::try_from(max_gs).map_err(|_| anyhow::anyhow!("--max-gs {max_gs} is too large"))?;

    let pagemap = PoolingAllocationConfig::is_pagemap_scan_available();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_stacks(slots)
        .total_component_instances(0)
        .max_memory_size(cfg.max_memory as usize)
        // Reusing a slot must not cost page faults: with PAGEMAP_SCAN (Linux 6.7+) wasmtime finds the pages
        // a G dirtied and resets just those, so the whole of a typical G's memory can stay resident instead
        // of being handed back to the kernel (madvise, TLB shootdowns, then faults on the next G). Without
        // the ioctl the kept region is memset whole, so the size stays moderate.
        .pagemap_scan(wasmtime::Enabled::Auto)
        .linear_memory_keep_resident(if pagemap { 1 << 20 } else { 64 << 10 })
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10)
        // Decommit what does go back to the kernel in batches: one madvise and one TLB shootdown per batch.
        .decommit_batch_size(64);

    let mut c = wasmtime::Config::new();
    c.epoch_interruption(cfg.preemption)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .memory_reservation(cfg.max_memory)
        .memory_reservation_for_growth(0)
        // Explicit bounds checks are the price of small reservations.
        .memory_guard_size(MEMORY_GUARD)
        .guard_before_linear_memory(false)
        // See *Copy-on-write images* for when, and for the pool's size with them.
        .memory_init_cow(cow)
        .async_stack_size(cfg.stack_size)
        .max_wasm_stack(cfg.stack_size * 3 / 4);
    if let Some(dir) = &cfg.cache_dir {
        let mut cc = wasmtime::CacheConfig::new();
        cc.with_directory(dir);
        c.cache(Some(
            wasmtime::Cache::new(cc).map_err(|e| anyhow::anyhow!("compilation cache at {}: {e}", dir.display()))?,
        ));
    }
    let engine = Engine::new(&c).map_err(|e| anyhow::anyhow!("cannot create the wasm engine for {max_gs} Gs: {e}"))?;
    Ok(SharedEngine {
        engine,
        live: AtomicUsize::new(0),
        max_gs,
        limit_source,
        cow,
        freed: AtomicU64::new(0),
        place_waiters: Mutex::new(Vec::new()),
        nplace_waiters: AtomicUsize::new(0),
    })
}

/// Whether `cfg`'s engine maps Gs' memory from images, under a map count of `maps` and an address space
/// that holds `by_address_space` slots (see *Copy-on-write images*).
fn cow_images(cfg: &EngineConfig, maps: usize, by_address_space: usize) -> bool {
    match cfg.cow_images {
        CowImages::Auto => {
            let without = cfg.max_gs.unwrap_or_else(|| max_gs_for_map_count(maps, false).min(DEFAULT_MAX_GS));
            max_gs_for_map_count(maps, true) >= without.min(by_address_space)
        }
        c => c == CowImages::On,
    }
}

/// How many Gs the pool of `cfg` holds, and where that figure comes from, under a map count of `maps` and
/// an address space that holds `by_address_space` slots.
fn pool_size(
    cfg: &EngineConfig,
    maps: usize,
    cow: bool,
    by_address_space: usize,
) -> anyhow::Result<(usize, LimitSource)> {
    match cfg.max_gs {
        Some(n) => {
            anyhow::ensure!(
                (1..=by_address_space).contains(&n),
                "max_gs (--max-gs) is {n}; it must be 1 to {by_address_space} (Gs of {} MiB memory each fit \
                 in the {} TiB of address space the pool may reserve)",
                cfg.max_memory >> 20,
                ADDRESS_SPACE_BUDGET >> 40
            );
            Ok((n, LimitSource::Configured))
        }
        None => {
            let room = max_gs_for_map_count(maps, cow).min(by_address_space);
            if room > DEFAULT_MAX_GS {
                Ok((DEFAULT_MAX_GS, LimitSource::Default(room)))
            } else {
                Ok((room, LimitSource::MapCount(maps, maps_per_g(cow))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_map_count_fits_ten_thousand_gs() {
        assert!(max_gs_for_map_count(65_530, false) >= 10_001, "{}", max_gs_for_map_count(65_530, false));
    }

    /// A raised map count (distributions now ship 1,048,576) must not make every engine pay for a pool of
    /// hundreds of thousands of slots; `max_gs` still goes past the default.
    #[test]
    fn the_default_pool_stops_at_default_max_gs() {
        let cfg = EngineConfig::default();
        let sized = |maps, cfg: &EngineConfig| pool_size(cfg, maps, false, 1_000_000).unwrap();
        assert!(matches!(sized(65_530, &cfg), (15_382, LimitSource::MapCount(65_530, MAPS_PER_G))));
        assert!(matches!(sized(1_048_576, &cfg), (DEFAULT_MAX_GS, LimitSource::Default(261_144))));
        assert!(matches!(sized(8_000_000, &cfg), (DEFAULT_MAX_GS, LimitSource::Default(1_000_000))));
        let wide = EngineConfig { max_gs: Some(500_000), ..EngineConfig::default() };
        assert!(matches!(sized(8_000_000, &wide), (500_000, LimitSource::Configured)));
    }

    /// Images come on wherever the map count holds the engine's pool with them, and nowhere they would cost
    /// a G.
    #[test]
    fn images_come_on_where_they_cost_no_g() {
        let auto = EngineConfig::default();
        let sized = |n| EngineConfig { max_gs: Some(n), ..EngineConfig::default() };
        let on = |cfg: &EngineConfig, maps| cow_images(cfg, maps, 1_000_000);
        assert!(!on(&auto, 65_530), "8,790 Gs with images against 15,382 without");
        assert!(!on(&auto, 462_751));
        assert!(on(&auto, 462_752), "the default pool of 65,536 fits");
        assert!(on(&auto, 1_048_576));
        assert!(!on(&sized(200_000), 1_048_576), "149,225 Gs with images: 200,000 would not fit");
        assert!(on(&sized(1_000_000), 8_000_000));
        assert!(on(&sized(100), 65_530));
        let off = EngineConfig { cow_images: CowImages::Off, ..EngineConfig::default() };
        assert!(!on(&off, 8_000_000));
    }

    #[test]
    fn limit_error_names_the_limit_and_the_fix() {
        let e = LimitError { live: 10, max_gs: 10, source: LimitSource::MapCount(65_530, MAPS_PER_G) };
        let s = e.to_string();
        assert!(s.contains("vm.max_map_count = 65530") && s.contains("sysctl"), "{s}");
        let e = LimitError { live: 10, max_gs: 10, source: LimitSource::Default(2_000_000) };
        let s = e.to_string();
        assert!(s.contains("the default pool; --max-gs") && s.contains("to 2000000"), "{s}");
    }
}
