//! The execution trace on the wasm side: where it goes ([`TraceOutput`], `Config::trace`, `wasm-gmp run
//! --trace FILE`), and what each G is called in it ([`EntryNames`]). The scheduler records the events
//! (`gmp_sched::trace`); this module names the Gs and writes the file when the runtime shuts down.
//!
//! # Why the trace is the runtime's, not a run's
//! The P and M tracks belong to the scheduler, which every program of a [`crate::Runtime`] shares, and an
//! M's buffer mixes the slices of every program it ran: a per-run trace would be a filter over the
//! runtime's. So tracing is switched on for a runtime (`Config::trace`), and the file is written when the
//! runtime is dropped, after its Ms have stopped and handed in their buffers. With one program per runtime
//! (the CLI) it is that program's trace.
//!
//! # Naming Gs
//! The main G is `main`. A spawned G runs `gmp_entry(entry, ...)`, where `entry` is a function-table index
//! (see `wit/sched.wit`): the trace names it after that function in the module's name section, demangled.
//! The SDK's `go`/`go_with` pass a trampoline (`gmp::spawn::call_unit`, `call_with::<T>`) and the table index
//! of the user's function as the first 4 bytes of the argument: for those, the user's function names the
//! G. Rust puts a closure passed as an `fn` (what `gmp::go!` makes) in the table as a shim named
//! `core::ops::function::FnOnce::call_once`, which calls the closure (`app::main::{{closure}}`) unless the
//! optimizer inlined it: the G is named after that callee when the shim's first few calls include one,
//! else `closure (table[N])`. A module without a name section gives `table[N]`.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::run::SharedWriter;

/// Where the trace goes.
#[derive(Clone)]
pub enum TraceOutput {
    /// A file, created (or truncated) when the runtime shuts down.
    File(PathBuf),
    /// The embedder's writer.
    Writer(SharedWriter),
}

impl TraceOutput {
    /// Trace into `w` (see [`TraceOutput::Writer`]).
    pub fn writer(w: impl std::io::Write + Send + 'static) -> TraceOutput {
        TraceOutput::Writer(SharedWriter(std::sync::Arc::new(parking_lot::Mutex::new(Box::new(w)))))
    }

    /// Write `trace` here.
    pub(crate) fn write(&self, trace: &gmp_sched::Trace) -> std::io::Result<()> {
        match self {
            TraceOutput::File(path) => {
                let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
                trace.write_json(&mut f)?;
                std::io::Write::flush(&mut f)
            }
            TraceOutput::Writer(w) => {
                let mut w = w.0.lock();
                trace.write_json(&mut **w)?;
                w.flush()
            }
        }
    }
}

impl std::fmt::Debug for TraceOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceOutput::File(p) => f.debug_tuple("File").field(p).finish(),
            TraceOutput::Writer(_) => f.write_str("Writer(..)"),
        }
    }
}

/// The demangled names of the functions in the module's table, by table index (see *Naming Gs*).
#[derive(Default, Debug)]
pub(crate) struct EntryNames(HashMap<u32, String>);

impl EntryNames {
    /// Read the active element segments of table 0 (constant offsets) and the name section. Whatever cannot
    /// be read is left out: names are a convenience of the trace, never a reason to refuse a module.
    pub(crate) fn of(binary: &[u8]) -> EntryNames {
        use wasmparser::{ElementItems, ElementKind, Name, Operator, Parser, Payload, TypeRef};
        let mut table: HashMap<u32, u32> = HashMap::new(); // table index → function index
        let mut funcs: HashMap<u32, String> = HashMap::new();
        // The first few functions each table function calls (for shims), and where the code section starts
        // counting: after the imported functions.
        let mut calls: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut next_body = 0u32;
        for payload in Parser::new(0).parse_all(binary) {
            let Ok(payload) = payload else { break };
            match payload {
                Payload::ImportSection(imports) => {
                    next_body +=
                        imports.into_imports().flatten().filter(|i| matches!(i.ty, TypeRef::Func(_))).count() as u32;
                }
                Payload::CodeSectionEntry(body) => {
                    let f = next_body;
                    next_body += 1;
                    if !table.values().any(|&t| t == f) {
                        continue;
                    }
                    let Ok(mut ops) = body.get_operators_reader() else { continue };
                    // A shim that calls its closure does so early; look no further.
                    let mut callees = Vec::new();
                    for _ in 0..64 {
                        match ops.read() {
                            Ok(Operator::Call { function_index }) => callees.push(function_index),
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    calls.insert(f, callees);
                }
                Payload::ElementSection(elems) => {
                    for e in elems.into_iter().flatten() {
                        let ElementKind::Active { table_index, offset_expr } = e.kind else { continue };
                        if table_index.unwrap_or(0) != 0 {
                            continue;
                        }
                        let Ok(Operator::I32Const { value }) = offset_expr.get_operators_reader().read() else {
                            continue;
                        };
                        let base = value as u32;
                        match e.items {
                            ElementItems::Functions(fs) => {
                                for (i, f) in fs.into_iter().enumerate() {
                                    if let Ok(f) = f {
                                        table.insert(base.wrapping_add(i as u32), f);
                                    }
                                }
                            }
                            ElementItems::Expressions(_, exprs) => {
                                for (i, x) in exprs.into_iter().enumerate() {
                                    if let Ok(x) = x
                                        && let Ok(Operator::RefFunc { function_index }) =
                                            x.get_operators_reader().read()
                                    {
                                        table.insert(base.wrapping_add(i as u32), function_index);
                                    }
                                }
                            }
                        }
                    }
                }
                Payload::CustomSection(c) => {
                    if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                        for name in names.into_iter().map_while(Result::ok) {
                            if let Name::Function(map) = name {
                                for n in map.into_iter().map_while(Result::ok) {
                                    funcs.insert(n.index, crate::gstore::clean_symbol(n.name));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // Every map uses the function index space (imports first), so they join directly.
        let name_of = |t: u32, f: u32| -> Option<String> {
            let name = funcs.get(&f)?;
            if !name.starts_with("core::ops::function::") {
                return Some(name.clone());
            }
            let closure =
                calls.get(&f).into_iter().flatten().filter_map(|c| funcs.get(c)).find(|n| n.contains("{{closure}}"));
            Some(closure.cloned().unwrap_or_else(|| format!("closure (table[{t}])")))
        };
        EntryNames(table.into_iter().filter_map(|(t, f)| Some((t, name_of(t, f)?))).collect())
    }

    /// What to call a G spawned at table index `entry` with argument bytes `arg` (see *Naming Gs*).
    pub(crate) fn name(&self, entry: u32, arg: &[u8]) -> String {
        let Some(name) = self.0.get(&entry) else { return format!("table[{entry}]") };
        if name.starts_with("gmp::spawn::call_")
            && let Some(f) = arg.get(..4)
        {
            let f = u32::from_le_bytes(f.try_into().expect("4 bytes"));
            if let Some(user) = self.0.get(&f) {
                return user.clone();
            }
        }
        name.clone()
    }
}
