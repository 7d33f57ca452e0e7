//! Memory as the kernel pays it, read from outside a running process: proportional set size
//! (`/proc/PID/smaps_rollup`: a page shared by k mappings counts 1/k in each) plus page tables (`VmPTE`),
//! next to RSS (which counts a shared copy-on-write page once per mapping and leaves page tables out).
//!
//! For a wasm-gmp process, [`itemize`] also splits the Pss by what the memory is for, from the shape of its
//! mappings in `/proc/PID/smaps` (wasmtime does not say where its pools are):
//! - *linear memory*: the accessible part of each G's memory slot (an anonymous read-write mapping directly
//!   followed by the slot's inaccessible rest, the two together one slot long) and any copy-on-write image
//!   mapped into it (`memfd:wasm-memory-image`);
//! - *fiber stacks*: read-write mappings exactly one stack long, each right after its guard page;
//! - *tables*: the table pool, the one anonymous read-write mapping of a gibibyte or more;
//! - *code and data of the binary*: file-backed mappings other than memory images;
//! - *host heap*: everything else anonymous and read-write (malloc's heap and arenas, the Ms' stacks).
//!
//! Each item per G is the difference between a process with N parked Gs and one with a single G, over
//! N − 1, so what every process has (code, runtime) drops out.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde::Serialize;

/// What a process holds, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Mem {
    pub rss: f64,
    pub pss: f64,
    pub page_tables: f64,
    /// Memory mappings (what `vm.max_map_count` limits).
    pub maps: f64,
}

impl Mem {
    /// What the kernel pays: Pss plus page tables.
    pub fn true_cost(&self) -> f64 {
        self.pss + self.page_tables
    }

    fn per_item(&self, base: &Mem, n: usize) -> Mem {
        let d = (n - 1).max(1) as f64;
        Mem {
            rss: (self.rss - base.rss) / d,
            pss: (self.pss - base.pss) / d,
            page_tables: (self.page_tables - base.page_tables) / d,
            maps: (self.maps - base.maps) / d,
        }
    }
}

/// A wasm-gmp process's Pss by what it is for, in KiB (see the module comment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Items {
    pub linear_memory: f64,
    pub fiber_stacks: f64,
    pub tables: f64,
    pub host_heap: f64,
    pub binary: f64,
    pub page_tables: f64,
}

impl Items {
    fn per_item(&self, base: &Items, n: usize) -> Items {
        let d = (n - 1).max(1) as f64;
        Items {
            linear_memory: (self.linear_memory - base.linear_memory) / d,
            fiber_stacks: (self.fiber_stacks - base.fiber_stacks) / d,
            tables: (self.tables - base.tables) / d,
            host_heap: (self.host_heap - base.host_heap) / d,
            binary: (self.binary - base.binary) / d,
            page_tables: (self.page_tables - base.page_tables) / d,
        }
    }
}

fn kib_field(text: &str, key: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(key)?.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Rss, Pss, page tables and mapping count of process `pid`.
pub fn read(pid: u32) -> anyhow::Result<Mem> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?.lines().count() as f64;
    let missing = |what| anyhow::anyhow!("no {what} for process {pid}");
    Ok(Mem {
        rss: kib_field(&rollup, "Rss:").ok_or_else(|| missing("Rss"))?,
        pss: kib_field(&rollup, "Pss:").ok_or_else(|| missing("Pss"))?,
        page_tables: kib_field(&status, "VmPTE:").ok_or_else(|| missing("VmPTE"))?,
        maps,
    })
}

struct Mapping {
    start: u64,
    end: u64,
    perm: String,
    name: String,
    pss: f64,
}

impl Mapping {
    fn len(&self) -> u64 {
        self.end - self.start
    }
    fn anon_rw(&self) -> bool {
        self.name.is_empty() && self.perm.starts_with("rw")
    }
}

fn mappings(pid: u32) -> anyhow::Result<Vec<Mapping>> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let mut out: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16))
        {
            let perm = words.next().unwrap_or("").to_string();
            let name = words.nth(3).map(|_| line.split_whitespace().skip(5).collect::<Vec<_>>().join(" "));
            out.push(Mapping { start, end, perm, name: name.unwrap_or_default(), pss: 0.0 });
        } else if let Some(v) = line.strip_prefix("Pss:")
            && let Some(m) = out.last_mut()
        {
            m.pss = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0.0);
        }
    }
    Ok(out)
}

/// Where a G's memory slot and fiber stack end up, to recognise them (see the module comment).
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// A memory slot: the G's most linear memory plus its guard.
    pub memory_slot: u64,
    pub stack: u64,
}

impl Layout {
    /// The layout of `wasm-gmp run` with its default engine configuration.
    pub fn default_engine() -> Layout {
        Layout::with_max_memory(wasm_gmp::EngineConfig::default().max_memory)
    }

    /// The layout of `wasm-gmp run --max-memory` (in bytes here).
    pub fn with_max_memory(max_memory: u64) -> Layout {
        let c = wasm_gmp::EngineConfig::default();
        Layout { memory_slot: max_memory + wasm_gmp::MEMORY_GUARD, stack: c.stack_size as u64 }
    }
}

/// Itemize process `pid`'s Pss (see the module comment).
pub fn itemize(pid: u32, layout: Layout) -> anyhow::Result<Items> {
    let maps = mappings(pid)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut items = Items { page_tables: kib_field(&status, "VmPTE:").unwrap_or(0.0), ..Items::default() };
    // A slot is the accessible part, perhaps a memory image mapped over part of it, then the reserved rest:
    // collect runs of adjacent mappings that end in an inaccessible one, one slot long in all.
    let mut in_slot = vec![false; maps.len()];
    for i in 0..maps.len() {
        let mut j = i;
        let mut len = 0;
        while j < maps.len() && (j == i || maps[j].start == maps[j - 1].end) && len < layout.memory_slot {
            len += maps[j].len();
            let image = maps[j].name.contains("wasm-memory-image");
            let ok = maps[j].anon_rw() || image || maps[j].perm.starts_with("---");
            if !ok {
                break;
            }
            if maps[j].perm.starts_with("---") {
                if len == layout.memory_slot && j > i {
                    in_slot[i..=j].iter_mut().for_each(|s| *s = true);
                }
                break;
            }
            j += 1;
        }
    }
    for (i, m) in maps.iter().enumerate() {
        let after_guard = i > 0 && maps[i - 1].end == m.start && maps[i - 1].perm.starts_with("---");
        if in_slot[i] || m.name.contains("wasm-memory-image") {
            items.linear_memory += m.pss;
        } else if m.anon_rw() && m.len() == layout.stack && after_guard {
            items.fiber_stacks += m.pss;
        } else if m.anon_rw() && m.len() >= 1 << 30 {
            items.tables += m.pss;
        } else if m.name.starts_with('/') || m.name.starts_with('[') && m.name != "[heap]" && m.name != "[stack]" {
            items.binary += m.pss;
        } else {
            items.host_heap += m.pss;
        }
    }
    Ok(items)
}

/// A process holding parked Gs (or goroutines, or processes): started by `cmd`, it prints one line when
/// they are all parked and waits for a line on stdin before it ends.
pub struct Parked {
    child: std::process::Child,
    /// The line it printed.
    pub line: String,
}

impl Parked {
    pub fn start(mut cmd: Command) -> anyhow::Result<Parked> {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("piped")).read_line(&mut line)?;
        anyhow::ensure!(!line.is_empty(), "{cmd:?} ended before it said its Gs were parked");
        Ok(Parked { child, line })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        let _ = self.child.stdin.as_mut().expect("piped").write_all(b"\n");
        let _ = self.child.wait();
    }
}

/// Memory per parked G at `n` Gs: `cmd(k)` starts a process parking k of them; the result is
/// (process at n − process at 1) / (n − 1), with the itemization when `layout` is given, and the line the
/// process at n printed.
pub fn per_g(
    cmd: impl Fn(usize) -> Command,
    n: usize,
    layout: Option<Layout>,
) -> anyhow::Result<(Mem, Option<Items>, String)> {
    let measure = |k: usize| -> anyhow::Result<(Mem, Option<Items>, String)> {
        let p = Parked::start(cmd(k))?;
        let items = layout.map(|l| itemize(p.pid(), l)).transpose()?;
        Ok((read(p.pid())?, items, p.line.clone()))
    };
    let (base, base_items, _) = measure(1)?;
    let (at_n, items, line) = measure(n)?;
    let items = items.zip(base_items).map(|(i, b)| i.per_item(&b, n));
    Ok((at_n.per_item(&base, n), items, line))
}
