//! `Program`: a compiled guest, checked to have what every G needs, and the builder that adds the embedder's
//! host functions next to WASI and the `gmp` ABI. Compile once, run many times, on any [`Runtime`] whose
//! engine configuration it was compiled for.
//!
//! A program is a WASI command module (`_start` and `memory` exported). One built with the gmp guest SDK
//! also exports `gmp_entry`, where every G but the first starts; a plain WASI program without it runs as
//! one G, and a spawn from it fails naming the missing export. Precompiled modules (`.cwasm`, from
//! [`Program::precompile`] or `wasm-gmp compile`) are native code and load only when the embedder says it
//! trusts them ([`ProgramBuilder::allow_precompiled`]).
//!
//! [`Runtime`]: crate::Runtime

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail, ensure};
use wasmtime::{ExternType, Instance, InstancePre, Linker, Memory, Module, ModuleExport, Store, TypedFunc, ValType};

use crate::engine::{self, EngineConfig, SharedEngine};
use crate::gstore::GData;

/// A compiled guest, checked to have what every G needs. Cheap to clone.
#[derive(Clone)]
pub struct Program {
    inner: Arc<ProgramInner>,
}

struct ProgramInner {
    /// The module's file name (or `main.wasm` for bytes): the program's `argv[0]` unless a run gives one.
    name: String,
    engine_cfg: EngineConfig,
    engine: Arc<SharedEngine>,
    pre: InstancePre<GData>,
    start: ModuleExport,
    /// Where spawned Gs start; None for a plain WASI program (one G).
    entry: Option<ModuleExport>,
    memory: ModuleExport,
    /// What is wrong with the module without stopping it from running (see [`Program::warnings`]).
    warnings: Vec<String>,
    /// What spawned Gs are called in the trace (see `trace.rs`); empty for a precompiled module.
    entry_names: crate::trace::EntryNames,
}

impl Program {
    /// Compile the module at `path` for the engine `cfg` describes.
    ///
    /// # Errors
    /// When the file cannot be read (or is a device, a directory, or larger than [`MAX_MODULE_FILE`]), is
    /// not a valid wasm module (binary or text), needs more memory than `cfg.max_memory`, is not a program
    /// (missing `_start` or `memory` exports, a `gmp_entry` of the wrong type, or imports the runtime does
    /// not provide), or is precompiled (see [`ProgramBuilder::allow_precompiled`]).
    pub fn from_file(cfg: &EngineConfig, path: impl AsRef<Path>) -> anyhow::Result<Program> {
        Program::builder(cfg).file(path)
    }

    /// Compile `bytes` (a wasm binary, or WAT text).
    ///
    /// # Errors
    /// As [`Program::from_file`].
    pub fn from_bytes(cfg: &EngineConfig, bytes: &[u8]) -> anyhow::Result<Program> {
        Program::builder(cfg).bytes(bytes)
    }

    /// A builder, to add the embedder's own host functions before compiling.
    pub fn builder(cfg: &EngineConfig) -> ProgramBuilder {
        ProgramBuilder { cfg: cfg.clone(), host: Vec::new(), name: None, precompiled: false }
    }

    /// The program's name: its file's name, or what [`ProgramBuilder::name`] gave it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The engine configuration it was compiled for.
    pub fn engine_config(&self) -> &EngineConfig {
        &self.inner.engine_cfg
    }

    /// What is wrong with the module without stopping it from running, one sentence each, for the embedder
    /// to show once (the CLI prints them as it loads the program). Today: a shadow stack larger than
    /// [`LARGE_SHADOW_STACK`], which every G pays for in memory.
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    /// The program compiled to native code for this machine and its engine configuration (a `.cwasm`), to
    /// load later without compiling, with [`ProgramBuilder::allow_precompiled`] on an engine configured
    /// the same way (`max_memory` and `preemption` must match; wasmtime refuses a mismatch, saying which).
    ///
    /// ```
    /// use wasm_gmp::{Config, Program, RunOptions, Runtime};
    ///
    /// let rt = Runtime::new(Config::default())?;
    /// let wat = br#"(module (import "gmp" "exit" (func $exit (param i32))) (memory (export "memory") 1)
    ///     (func (export "_start") (call $exit (i32.const 7))))"#;
    /// let cwasm = Program::from_bytes(&rt.config().engine, wat)?.precompile()?;
    /// // Refused unless the embedder says it trusts the bytes.
    /// assert!(Program::from_bytes(&rt.config().engine, &cwasm).is_err());
    /// // SAFETY: these bytes come from `precompile` just above.
    /// let program = unsafe { Program::builder(&rt.config().engine).allow_precompiled() }.bytes(&cwasm)?;
    /// assert_eq!(rt.run(&program, RunOptions::default())?.code, 7);
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    ///
    /// # Errors
    /// When wasmtime cannot serialize the module.
    pub fn precompile(&self) -> anyhow::Result<Vec<u8>> {
        self.inner.pre.module().serialize().map_err(|e| anyhow!("cannot serialize the compiled module: {e}"))
    }

    fn build(b: ProgramBuilder, bytes: &[u8]) -> anyhow::Result<Program> {
        let ProgramBuilder { cfg, host, name, precompiled } = b;
        let cfg = &cfg;
        let name = name.unwrap_or_else(|| "main.wasm".to_string());
        let engine = engine::shared(cfg)?;
        let mut warnings = Vec::new();
        let mut entry_names = crate::trace::EntryNames::default();
        let module = if wasmtime::Engine::detect_precompiled(bytes).is_some() {
            ensure!(
                precompiled,
                "a precompiled module (.cwasm) is native code that runs unchecked: load it only if you trust \
                 it, with --allow-precompiled (ProgramBuilder::allow_precompiled)"
            );
            // SAFETY: the embedder vouched for these bytes (`allow_precompiled`); wasmtime still refuses
            // modules from another version or engine configuration.
            unsafe { Module::deserialize(engine.engine(), bytes) }.map_err(|e| {
                anyhow!(
                    "cannot load the precompiled module: {e:#} (precompile it again with this wasm-gmp and the \
                     same --max-memory, --no-preempt and --cow-images; `auto` decides from vm.max_map_count and \
                     --max-gs, so pin it with `on` or `off` where they differ)"
                )
            })?
        } else {
            let binary = to_binary(bytes)?;
            check_memories(&binary, cfg.max_memory)?;
            if let Some(stack) = shadow_stack(&binary).filter(|&s| s > LARGE_SHADOW_STACK) {
                warnings.push(format!(
                    "the module's shadow stack is {} KiB (Rust's default is 1024), and every G's memory holds one: \
                     build it with `-C link-arg=-zstack-size=65536` to make each G {} KiB smaller (see the \
                     README's \"Writing a guest\")",
                    stack >> 10,
                    (stack - 65536) >> 10
                ));
            }
            entry_names = crate::trace::EntryNames::of(&binary);
            Module::from_binary(engine.engine(), &binary).map_err(|e| anyhow!("not a valid WebAssembly module: {e}"))?
        };
        let start = export(&module, "_start", &[])?;
        let entry = match module.get_export("gmp_entry") {
            None => None,
            Some(_) => Some(export(&module, "gmp_entry", &[ValType::I32, ValType::I32, ValType::I32])?),
        };
        let memory = match module.get_export("memory") {
            Some(ExternType::Memory(_)) => module.get_export_index("memory").expect("export listed but not indexed"),
            _ => bail!("not a program: it exports no `memory` (a WASI command module exports one)"),
        };
        let mut linker: Linker<GData> = Linker::new(engine.engine());
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |d: &mut GData| d.wasi())
            .map_err(|e| anyhow!("linking WASI: {e}"))?;
        crate::abi::add_to_linker(&mut linker).map_err(|e| anyhow!("linking the gmp ABI: {e}"))?;
        for add in host {
            add(&mut linker).map_err(|e| anyhow!("adding the embedder's host functions: {e}"))?;
        }
        let pre = linker.instantiate_pre(&module).map_err(|e| anyhow!("cannot link the program: {e}"))?;
        Ok(Program {
            inner: Arc::new(ProgramInner {
                name,
                engine_cfg: cfg.clone(),
                engine,
                pre,
                start,
                entry,
                memory,
                warnings,
                entry_names,
            }),
        })
    }

    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        self.inner.engine.engine()
    }

    /// The trace's name for a G spawned at table index `entry` with argument `arg` (see `trace.rs`).
    pub(crate) fn entry_name(&self, entry: u32, arg: &[u8]) -> String {
        self.inner.entry_names.name(entry, arg)
    }

    pub(crate) fn shared_engine(&self) -> &Arc<SharedEngine> {
        &self.inner.engine
    }

    pub(crate) fn pre(&self) -> &InstancePre<GData> {
        &self.inner.pre
    }

    pub(crate) fn start(&self, i: &Instance, s: &mut Store<GData>) -> wasmtime::Result<TypedFunc<(), ()>> {
        func(i, s, &self.inner.start)?.typed(&*s)
    }

    /// True if the program exports `gmp_entry`: it can start Gs besides its first.
    pub(crate) fn can_spawn(&self) -> bool {
        self.inner.entry.is_some()
    }

    pub(crate) fn entry(&self, i: &Instance, s: &mut Store<GData>) -> wasmtime::Result<TypedFunc<(i32, i32, i32), ()>> {
        let Some(entry) = &self.inner.entry else {
            return Err(wasmtime::Error::msg(
                "cannot start a G: the program does not export `gmp_entry`, so it runs as one G (build it with \
                 the gmp guest SDK to spawn Gs)",
            ));
        };
        func(i, s, entry)?.typed(&*s)
    }

    pub(crate) fn memory(&self, i: &Instance, s: &mut Store<GData>) -> wasmtime::Result<Memory> {
        i.get_module_export(&mut *s, &self.inner.memory)
            .and_then(|e| e.into_memory())
            .ok_or_else(|| wasmtime::Error::msg("the instance has no memory"))
    }
}

/// Largest module file [`ProgramBuilder::file`] reads: 256 MiB, ten times the largest real programs
/// (browsers, language runtimes compiled to wasm are 20–50 MiB), so a runaway input ends with an error
/// instead of eating the host's memory.
pub const MAX_MODULE_FILE: u64 = 256 << 20;

/// Read a module file: a regular file or a pipe (`<(cat app.wasm)`), never more than [`MAX_MODULE_FILE`]
/// bytes. Devices, sockets and directories are refused before reading: `/dev/zero` never ends.
fn read_module_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::FileTypeExt as _;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let ty = meta.file_type();
    let kind = if ty.is_dir() {
        Some("a directory")
    } else if ty.is_char_device() {
        Some("a character device")
    } else if ty.is_block_device() {
        Some("a block device")
    } else if ty.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(kind) = kind {
        bail!("it is {kind}, not a file");
    }
    let too_big = || anyhow!("the file is larger than the {} MiB a module may have", MAX_MODULE_FILE >> 20);
    if meta.len() > MAX_MODULE_FILE {
        return Err(too_big());
    }
    // A pipe's length is unknown, and a file may grow while read: stop one byte past the limit.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_MODULE_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MODULE_FILE {
        return Err(too_big());
    }
    Ok(bytes)
}

/// The wasm binary in `bytes`: the bytes themselves if they start with the binary format's `\0asm`, else
/// their translation from the text format. Anything but a binary is tried as text, so comments before the
/// `(module` are fine; the error then says why it is neither, on one line.
fn to_binary(bytes: &[u8]) -> anyhow::Result<std::borrow::Cow<'_, [u8]>> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes.into());
    }
    if std::str::from_utf8(bytes).is_err() {
        bail!("not a WebAssembly module: no `\\0asm` header, and not text (not UTF-8)");
    }
    wat::parse_bytes(bytes).map_err(|e| {
        // wat's message spans lines (the source line, a caret); keep the message and where.
        let text = e.to_string();
        let mut lines = text.lines();
        let what = lines.next().unwrap_or("unreadable");
        let at = lines.find_map(|l| l.trim().strip_prefix("--> <anon>:")).and_then(|lc| lc.split_once(':'));
        let at = at.map(|(line, col)| format!(" at line {line}, column {col}")).unwrap_or_default();
        anyhow!("not a WebAssembly module: no `\\0asm` header, and not valid WebAssembly text: {what}{at}")
    })
}

/// Every memory the module defines must start within `max_memory`, or no G could ever be instantiated.
/// Checked on the binary before compiling it, because the pooling allocator refuses such a module while
/// compiling, in its own words ("module memory does not fit in pooling allocator requirements") that name
/// neither the flag nor the sizes. (Imported memories need no check: nothing here provides one, so such a
/// module fails to link.) A binary too malformed to read is left to the compiler, which says what is wrong.
fn check_memories(binary: &[u8], max_memory: u64) -> anyhow::Result<()> {
    use wasmparser::{Parser, Payload};
    for payload in Parser::new(0).parse_all(binary) {
        let memories = match payload {
            Ok(Payload::MemorySection(memories)) => memories,
            Ok(Payload::CodeSectionStart { .. }) | Err(_) => break, // memories come before code
            Ok(_) => continue,
        };
        for ty in memories.into_iter().map_while(Result::ok) {
            let page = 1u64 << ty.page_size_log2.unwrap_or(16);
            let min = ty.initial.saturating_mul(page);
            if min > max_memory {
                bail!(
                    "the module's memory starts at {} pages ({} KiB), more than the {} KiB a G may have \
                     (--max-memory / EngineConfig::max_memory)",
                    ty.initial,
                    min >> 10,
                    max_memory >> 10
                );
            }
        }
    }
    Ok(())
}

/// A shadow stack above this size makes [`Program::warnings`] say so: 256 KiB, four times what the guest SDK
/// asks for (64 KiB) and a quarter of Rust's default (1 MiB).
pub const LARGE_SHADOW_STACK: u64 = 256 << 10;

/// The size of the module's shadow stack (the C-style stack LLVM keeps in linear memory), if it can tell:
/// the initial value of `__stack_pointer`, found by name, else the first global when it is a mutable `i32`
/// set by a constant (where LLVM puts it). Toolchains lay the stack out first in memory (`--stack-first`,
/// Rust's default for wasm), so the stack pointer starts at the stack's size.
fn shadow_stack(binary: &[u8]) -> Option<u64> {
    use wasmparser::{Name, Operator, Parser, Payload, ValType as V};
    let mut inits = Vec::new();
    let mut named = None;
    for payload in Parser::new(0).parse_all(binary) {
        match payload.ok()? {
            Payload::GlobalSection(globals) => {
                for g in globals {
                    let g = g.ok()?;
                    let mut ops = g.init_expr.get_operators_reader();
                    let init = match ops.read() {
                        Ok(Operator::I32Const { value }) if g.ty.mutable && g.ty.content_type == V::I32 => {
                            Some(value as u32 as u64)
                        }
                        _ => None,
                    };
                    inits.push(init);
                }
            }
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                    for name in names.into_iter().map_while(Result::ok) {
                        if let Name::Global(map) = name {
                            named = map.into_iter().map_while(Result::ok).find(|n| n.name == "__stack_pointer");
                        }
                    }
                }
            }
            _ => {}
        }
    }
    match named {
        Some(n) => inits.get(n.index as usize).copied().flatten(),
        None => inits.first().copied().flatten(),
    }
}

/// A function that adds host functions to a program's linker.
type HostFns = Box<dyn FnOnce(&mut Linker<GData>) -> wasmtime::Result<()>>;

/// Builds a [`Program`] with the embedder's own host functions next to WASI and the `gmp` ABI.
///
/// A host function that may block its thread (a database call, a lock) should do so inside
/// [`crate::blocking`], so the Gs queued behind it keep running on another thread, as Go's syscalls do. One
/// that waits for something asynchronous is better written async (`func_wrap_async`): it parks only the G
/// that called it, and its M runs other Gs meanwhile. Here `env.slow_double` blocks, and `env.next_job`
/// awaits a host channel the embedder feeds:
///
/// ```
/// use std::time::Duration;
/// use wasm_gmp::{Config, GData, Program, RunOptions, Runtime};
///
/// let rt = Runtime::new(Config::default())?;
/// let jobs = rt.chan::<i32>(8);
/// let feed = jobs.clone();
/// let program = Program::builder(&rt.config().engine)
///     .host_functions(move |linker| {
///         linker.func_wrap("env", "slow_double", |key: i32| -> i32 {
///             wasm_gmp::blocking(|| {
///                 std::thread::sleep(Duration::from_millis(5));
///                 key * 2
///             })
///         })?;
///         linker.func_wrap_async("env", "next_job", move |_caller: wasmtime::Caller<'_, GData>, (): ()| {
///             let jobs = feed.clone();
///             Box::new(async move { Ok(jobs.recv().await.unwrap_or(-1)) })
///         })?;
///         Ok(())
///     })
///     .bytes(br#"(module
///         (import "env" "slow_double" (func $double (param i32) (result i32)))
///         (import "env" "next_job" (func $next (result i32)))
///         (import "gmp" "exit" (func $exit (param i32)))
///         (memory (export "memory") 1)
///         (func (export "_start") (call $exit (call $double (call $next))))
///         (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
/// let run = rt.start(&program, RunOptions::default())?;
/// jobs.send_blocking(21).unwrap();
/// assert_eq!(run.wait().code, 42);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub struct ProgramBuilder {
    cfg: EngineConfig,
    host: Vec<HostFns>,
    name: Option<String>,
    precompiled: bool,
}

impl ProgramBuilder {
    /// Add host functions: `add` gets the program's wasmtime `Linker`, with WASI and `gmp` already in it.
    pub fn host_functions(mut self, add: impl FnOnce(&mut Linker<GData>) -> wasmtime::Result<()> + 'static) -> Self {
        self.host.push(Box::new(add));
        self
    }

    /// Name the program (its default `argv[0]`); by default the file's name, or `main.wasm`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Accept a precompiled module (a `.cwasm` from [`Program::precompile`] or `wasm-gmp compile`) as well
    /// as wasm. Without this, one is refused.
    ///
    /// # Safety
    /// A precompiled module is native code that wasmtime maps and runs without validating it: bytes that
    /// were not produced by [`Program::precompile`] (or were changed since) can do anything the host
    /// process can. wasmtime does check that they come from its own version and a compatible engine
    /// configuration.
    pub unsafe fn allow_precompiled(mut self) -> Self {
        self.precompiled = true;
        self
    }

    /// Compile the module at `path`.
    ///
    /// # Errors
    /// As [`Program::from_file`], and whatever the host-function closures return.
    pub fn file(mut self, path: impl AsRef<Path>) -> anyhow::Result<Program> {
        let path = path.as_ref();
        if self.name.is_none() {
            self.name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        }
        let bytes = read_module_file(path).with_context(|| format!("{}: cannot read", path.display()))?;
        self.bytes(&bytes).with_context(|| path.display().to_string())
    }

    /// Compile `bytes` (a wasm binary, or WAT text).
    ///
    /// # Errors
    /// As [`ProgramBuilder::file`].
    pub fn bytes(self, bytes: &[u8]) -> anyhow::Result<Program> {
        Program::build(self, bytes)
    }
}

fn func(i: &Instance, s: &mut Store<GData>, idx: &ModuleExport) -> wasmtime::Result<wasmtime::Func> {
    i.get_module_export(&mut *s, idx).and_then(|e| e.into_func()).ok_or_else(|| wasmtime::Error::msg("export vanished"))
}

/// Check that `module` exports a function `name` with `params` and no results.
fn export(module: &Module, name: &str, params: &[ValType]) -> anyhow::Result<ModuleExport> {
    let hint = "build it with the gmp guest SDK (guest-sdk/), or as a WASI command";
    let Some(ExternType::Func(ty)) = module.get_export(name) else {
        bail!("not a program: it does not export the function `{name}`; {hint}");
    };
    let ok = ty.results().len() == 0
        && ty.params().len() == params.len()
        && ty.params().zip(params).all(|(a, b)| ValType::eq(&a, b));
    if !ok {
        bail!("not a program: its export `{name}` has type {ty}, expected ({params:?}) -> (); {hint}");
    }
    Ok(module.get_export_index(name).expect("export listed but not indexed"))
}
