//! `Program`: a compiled guest, checked to have what every G needs, and the builder that adds the embedder's
//! host functions next to WASI and the `gmp` ABI. Compile once, run many times, on any [`Runtime`] whose
//! engine configuration it was compiled for.
//!
//! [`Runtime`]: crate::Runtime

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
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
    entry: ModuleExport,
    memory: ModuleExport,
}

impl Program {
    /// Compile the module at `path` for the engine `cfg` describes.
    ///
    /// # Errors
    /// When the file cannot be read (or is a device, a directory, or larger than [`MAX_MODULE_FILE`]), is
    /// not a valid wasm module (binary or text), needs more memory than `cfg.max_memory`, or is not a
    /// wasm-gmp program (missing `_start`, `gmp_entry` or `memory` exports of the right types, or imports
    /// the runtime does not provide).
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
        ProgramBuilder { cfg: cfg.clone(), host: Vec::new(), name: None }
    }

    /// The program's name: its file's name, or what [`ProgramBuilder::name`] gave it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The engine configuration it was compiled for.
    pub fn engine_config(&self) -> &EngineConfig {
        &self.inner.engine_cfg
    }

    fn build(cfg: &EngineConfig, name: String, bytes: &[u8], host: Vec<HostFns>) -> anyhow::Result<Program> {
        let binary = to_binary(bytes)?;
        let engine = engine::shared(cfg)?;
        check_memories(&binary, cfg.max_memory)?;
        let module = Module::from_binary(engine.engine(), &binary)
            .map_err(|e| anyhow!("not a valid WebAssembly module: {e}"))?;
        let start = export(&module, "_start", &[])?;
        let entry = export(&module, "gmp_entry", &[ValType::I32, ValType::I32, ValType::I32])?;
        let memory = match module.get_export("memory") {
            Some(ExternType::Memory(_)) => module.get_export_index("memory").expect("export listed but not indexed"),
            _ => bail!("not a wasm-gmp program: it exports no `memory`"),
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
            inner: Arc::new(ProgramInner { name, engine_cfg: cfg.clone(), engine, pre, start, entry, memory }),
        })
    }

    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        self.inner.engine.engine()
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

    pub(crate) fn entry(&self, i: &Instance, s: &mut Store<GData>) -> wasmtime::Result<TypedFunc<(i32, i32, i32), ()>> {
        func(i, s, &self.inner.entry)?.typed(&*s)
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
        let name = self.name.unwrap_or_else(|| "main.wasm".to_string());
        Program::build(&self.cfg, name, bytes, self.host)
    }
}

fn func(i: &Instance, s: &mut Store<GData>, idx: &ModuleExport) -> wasmtime::Result<wasmtime::Func> {
    i.get_module_export(&mut *s, idx).and_then(|e| e.into_func()).ok_or_else(|| wasmtime::Error::msg("export vanished"))
}

/// Check that `module` exports a function `name` with `params` and no results.
fn export(module: &Module, name: &str, params: &[ValType]) -> anyhow::Result<ModuleExport> {
    let hint = "build it with the gmp guest SDK (guest-sdk/)";
    let Some(ExternType::Func(ty)) = module.get_export(name) else {
        bail!("not a wasm-gmp program: it does not export the function `{name}`; {hint}");
    };
    let ok = ty.results().len() == 0
        && ty.params().len() == params.len()
        && ty.params().zip(params).all(|(a, b)| ValType::eq(&a, b));
    if !ok {
        bail!("not a wasm-gmp program: its export `{name}` has type {ty}, expected ({params:?}) -> (); {hint}");
    }
    Ok(module.get_export_index(name).expect("export listed but not indexed"))
}
