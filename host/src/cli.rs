//! The command line: `wasm-gmp run APP [ARGS…]` and `wasm-gmp compile APP`. Parses flags (and Go's
//! `GOMAXPROCS`, `GODEBUG=schedtrace=N` and `GOTRACEBACK`, which flags override) into a [`Config`] and
//! [`RunOptions`], and answers `SIGQUIT` as Go does (every G's stack, then status 2); nothing else.
//!
//! # Exit statuses
//! A run exits with the program's status (0 when main returns, its `exit` code, 2 after a panic, deadlock
//! or limit, 124 at a deadline, 137 when killed). The command line's own failures stay apart from those:
//! [`EXIT_USAGE`] when it cannot be understood, [`EXIT_CANNOT_START`] when the program cannot be started.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Parser, Subcommand};

use crate::engine::MAX_MEMORY;
use crate::runtime::{MAX_PERIOD, MAX_PROCS};
use crate::{Config, CowImages, EngineConfig, Input, Limits, Program, RunOptions, Runtime, Traceback};

/// Exit status for a command line that cannot be understood (an unknown flag, a bad value, a bad `--env`
/// or `--net` rule): `EX_USAGE` of BSD's sysexits, outside what programs exit with.
pub const EXIT_USAGE: i32 = 64;

/// Exit status when the program cannot be started: its file is unreadable or is not a program, its options
/// do not fit together, or the runtime cannot start (wasmtime's and `go run`'s status for the same).
pub const EXIT_CANNOT_START: i32 = 1;

/// Exit status after `SIGQUIT` and its goroutine dump (Go's).
pub const EXIT_QUIT: i32 = 2;

/// What `--help` says about exit statuses.
const EXIT_HELP: &str = "Exit status: the program's own (0 when main returns, the code it exits with, 2 after \
a panic, a deadlock, a limit or SIGQUIT, which prints every goroutine's stack first); 64 when the command line cannot be understood; 1 when the program cannot be \
started (unreadable, not a program, options that do not fit together).";

/// Largest value of a flag in MiB that is not a G's memory: 1 PiB, beyond any machine, small enough that
/// shifting it into bytes cannot overflow.
const MAX_MIB: u64 = 1 << 30;

/// Run WebAssembly programs whose green threads are scheduled like Go's goroutines.
#[derive(Parser, Debug)]
#[command(name = "wasm-gmp", version, about, long_about = None, after_help = EXIT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a program built with the gmp guest SDK, or a plain WASI command (wasm32-wasip1), which runs as
    /// one G. Everything after APP goes to the program.
    #[command(after_help = EXIT_HELP)]
    Run(Box<RunArgs>),
    /// Compile a program ahead of time into a .cwasm file for this machine and this wasm-gmp, which `run
    /// --allow-precompiled` then loads without compiling. Run it with the same --max-memory and
    /// --no-preempt it was compiled with.
    Compile(CompileArgs),
    /// Create a guest crate NAME: Cargo.toml with the gmp SDK, .cargo/config.toml with the wasm32-wasip1
    /// target, the small shadow stack Gs want and `wasm-gmp run` as the runner (so `cargo run` runs it),
    /// and a hello-world src/main.rs.
    New(NewArgs),
}

#[derive(clap::Args, Debug)]
struct NewArgs {
    /// Where the guest SDK (the `gmp` crate) is. Default: the guest-sdk folder of the wasm-gmp source this
    /// binary was built from, if it is still there.
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,

    /// The crate's folder; its last component, with `-` for any character a crate name cannot have, names
    /// the crate.
    name: PathBuf,
}

/// Flags that change the compiled code: `run` and `compile` take the same.
#[derive(clap::Args, Debug)]
struct CodeArgs {
    /// Most linear memory one G may use, in MiB: 1 to 4096 (4 GiB, all a 32-bit wasm memory can address).
    /// A G that grows past it ends the program with a fatal error naming this flag.
    #[arg(long, default_value_t = 64, value_name = "MIB",
          value_parser = RangedU64ValueParser::<u64>::new().range(1..=MAX_MEMORY >> 20))]
    max_memory: u64,

    /// Compile the program without the epoch checks that let sysmon preempt it: a G in a loop with no calls
    /// then keeps its P until it blocks. Only for measuring what preemption costs.
    #[arg(long)]
    no_preempt: bool,

    /// Do not cache compiled modules (the cache lives in $GMP_CACHE_DIR, else ~/.cache/wasm-gmp).
    #[arg(long)]
    no_cache: bool,

    /// Map each G's initial data from a copy-on-write image of the module (less memory per G, more
    /// mappings): auto turns it on where it costs no G of the pool, i.e. where vm.max_map_count holds the
    /// pool with it (462,752 for the default pool).
    #[arg(long, value_enum, default_value_t = CowArg::Auto, value_name = "WHEN")]
    cow_images: CowArg,
}

/// `--cow-images`: [`CowImages`] on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum CowArg {
    Auto,
    On,
    Off,
}

impl CodeArgs {
    fn engine(&self) -> EngineConfig {
        let mut e = EngineConfig {
            max_memory: self.max_memory << 20, // cannot overflow: the parser allows at most MAX_MEMORY >> 20
            preemption: !self.no_preempt,
            cow_images: match self.cow_images {
                CowArg::Auto => CowImages::Auto,
                CowArg::On => CowImages::On,
                CowArg::Off => CowImages::Off,
            },
            ..EngineConfig::default()
        };
        if self.no_cache {
            e.cache_dir = None;
        }
        e
    }
}

#[derive(clap::Args, Debug)]
struct CompileArgs {
    #[command(flatten)]
    code: CodeArgs,

    /// Where to write the compiled program. Default: APP with the extension .cwasm.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The program: a .wasm file.
    app: PathBuf,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Number of Ps (GOMAXPROCS): how many Gs run in parallel, 1 to 1024. Default: $GMP_MAXPROCS, else
    /// $GOMAXPROCS (as Go reads it), else the number of CPUs.
    #[arg(long, env = "GMP_MAXPROCS", value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_PROCS as u64))]
    procs: Option<usize>,

    /// How long a G may run before it is preempted, e.g. `10ms`, `500us`, `1s` (a bare number is ms).
    #[arg(long, default_value = "10ms", value_parser = parse_duration, value_name = "DURATION")]
    timeslice: Duration,

    /// Give the program a host directory: `HOST` (seen as the same path) or `HOST::GUEST`. Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,

    /// Set an environment variable for the program: `KEY=VALUE`, or `KEY` to pass the host's. Repeatable.
    #[arg(long = "env", value_name = "KEY[=VALUE]")]
    env: Vec<String>,

    /// Print a scheduler trace line every MS milliseconds, like Go's GODEBUG=schedtrace=MS (which is read
    /// too, when this flag is not given): gomaxprocs, idle Ps, threads, spinning Ms, idle Ms, global queue
    /// length, and each P's queue length. MS is 1 to 3600000 (an hour).
    #[arg(long, value_name = "MS",
          value_parser = RangedU64ValueParser::<u64>::new().range(1..=MAX_PERIOD.as_millis() as u64))]
    schedtrace: Option<u64>,

    /// Grant network access. By default a program may listen on loopback and connect only to its own
    /// listeners (and send UDP only to its own sockets). Rules: `listen=IP:PORT`, `connect=IP:PORT`, or
    /// `IP:PORT` for both, `*` for any IP or port; `--net '*'` allows everything, `--net none` nothing (not
    /// even a loopback listener). Repeatable. A denied address fails with "permission denied".
    #[arg(long = "net", value_name = "RULE")]
    net: Vec<String>,

    /// Largest message a channel carries, in bytes (at most 4 GiB).
    #[arg(long, default_value_t = Limits::default().max_message, value_name = "BYTES",
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_MEMORY))]
    max_message: usize,

    /// Most linear memory all the program's Gs may use together, in MiB. Default: half of the machine's
    /// memory (or of its cgroup's limit).
    #[arg(long, value_name = "MIB", value_parser = RangedU64ValueParser::<u64>::new().range(1..=MAX_MIB))]
    max_memory_total: Option<u64>,

    /// Most handles (channels, timers, sockets) one G may hold at once, 1 to 4294967295.
    #[arg(long, default_value_t = Limits::default().max_handles_per_g, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=u32::MAX as u64))]
    max_handles_per_g: usize,

    /// Most handles all the program's Gs may hold together, at least 1.
    #[arg(long, default_value_t = Limits::default().max_handles_total, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    max_handles: usize,

    /// Most bytes of messages the runtime holds for the program (buffered, queued with blocked senders,
    /// pending), in MiB; each message counts its bytes plus 128, plus 256 per handle it carries. At least
    /// max-message.
    #[arg(long, default_value_t = Limits::default().max_buffered_bytes >> 20, value_name = "MIB",
          value_parser = RangedU64ValueParser::<u64>::new().range(1..=MAX_MIB))]
    max_buffered: u64,

    /// Most timers and tickers the program may have pending at once.
    #[arg(long, default_value_t = Limits::default().max_timers, value_name = "N")]
    max_timers: usize,

    /// CPU time the program's Gs may use together, e.g. `30s` (a bare number is ms, at most an hour); past
    /// it the program ends with a fatal error (status 2). Default: no limit.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    cpu_time: Option<Duration>,

    /// Most Gs of the program alive at once (its share of --max-gs); a spawn past it waits for a G to
    /// exit, and fails when none can. Default: no limit but --max-gs.
    #[arg(long = "max-gs-per-program", value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    max_gs_per_program: Option<usize>,

    /// Most Gs alive at once, at least 1. Default: as many as the kernel's vm.max_map_count allows (about
    /// 15,000 at its default of 65530), up to 65,536; past 15,000 raise that sysctl first. The pool is made
    /// at start-up, about 3.5 µs per G.
    #[arg(long, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    max_gs: Option<usize>,

    /// At exit, print the runtime's metrics to stderr, one `name value` line each, named after Go's
    /// runtime/metrics where Go has the metric: Gs started, alive and at most, run queues, steals,
    /// preemptions, blocking calls and P hand-offs, netpoll wake-ups, timers fired, channel operations, busy
    /// time per P, the program's linear memory and message bytes.
    #[arg(long)]
    stats: bool,

    /// Record an execution trace and write it to FILE at exit, as Trace Event Format JSON (open it in
    /// <https://ui.perfetto.dev> or chrome://tracing): a track per P and per M with each G's run slices,
    /// block and unblock with the wait reason, an arrow from whoever readied a G to its next slice, spawns,
    /// steals, preemptions, blocking calls and netpoll wake-ups.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,

    #[command(flatten)]
    code: CodeArgs,

    /// Load APP even if it is precompiled (a .cwasm from `wasm-gmp compile`): native code that runs
    /// unchecked, so only for files you trust.
    #[arg(long)]
    allow_precompiled: bool,

    /// The program (a .wasm file, or a .cwasm with --allow-precompiled), then its arguments: everything
    /// after APP goes to the program, flags included. A `--` right after APP is dropped, so `APP -- ARGS`
    /// works too.
    // One positional for both: clap stops parsing flags once it starts, so a flag after APP is the
    // program's (with APP alone in its own positional, clap would still take `--procs` after it).
    #[arg(trailing_var_arg = true, required = true, value_name = "APP [ARGS]")]
    app_and_args: Vec<String>,
}

impl RunArgs {
    fn app(&self) -> &Path {
        Path::new(&self.app_and_args[0]) // `required`: clap guarantees one
    }

    /// The program's arguments after its name.
    fn args(&self) -> &[String] {
        let args = &self.app_and_args[1..];
        args.strip_prefix(&["--".to_string()]).unwrap_or(args)
    }
}

/// Parse `10ms`, `500us`, `2s`, or a bare number of milliseconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map_or((s, "ms"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 10ms"))?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ns, us, ms or s)")),
    };
    let out_of_range = || format!("`{s}` is out of range (1ns or more, at most an hour)");
    if !(secs > 0.0 && secs <= MAX_PERIOD.as_secs_f64()) {
        return Err(out_of_range());
    }
    // Rounds down to whole nanoseconds: `0.1ns` would become a zero slice.
    let d = Duration::from_secs_f64(secs);
    if d.is_zero() {
        return Err(out_of_range());
    }
    Ok(d)
}

/// `GOTRACEBACK`, as Go reads it (see [`Traceback::parse`]); unknown values are ignored, and said so.
fn env_traceback() -> Option<Traceback> {
    let v = std::env::var("GOTRACEBACK").ok()?;
    let t = Traceback::parse(&v);
    if t.is_none() {
        eprintln!("wasm-gmp: GOTRACEBACK={v} is not none, single, all, system or crash; ignored");
    }
    t
}

/// `GOMAXPROCS`, as Go reads it: a number of Ps. Anything else is ignored (Go ignores it silently; we say so).
fn env_gomaxprocs() -> Option<usize> {
    let v = std::env::var("GOMAXPROCS").ok()?;
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PROCS).contains(&n) => Some(n),
        _ => {
            eprintln!("wasm-gmp: GOMAXPROCS={v} is not a number from 1 to {MAX_PROCS}; ignored");
            None
        }
    }
}

/// `schedtrace=MS` in `GODEBUG` (comma-separated `name=value` settings; the last one counts, unknown names
/// are ignored, as in Go). 0 means off.
fn env_schedtrace() -> Option<u64> {
    let v = std::env::var("GODEBUG").ok()?;
    let ms = v.rsplit(',').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == "schedtrace")?.1;
    match ms.parse::<u64>() {
        Ok(0) => None,
        Ok(n) if n <= MAX_PERIOD.as_millis() as u64 => Some(n),
        _ => {
            eprintln!("wasm-gmp: GODEBUG schedtrace={ms} is not a number of milliseconds up to an hour; ignored");
            None
        }
    }
}

fn config(a: &RunArgs) -> Result<(Config, RunOptions), String> {
    let mut cfg = Config { engine: a.code.engine(), ..Config::default() };
    let mut opts = RunOptions { stdin: Input::Inherit, ..RunOptions::default() };
    if let Some(p) = a.procs.or_else(env_gomaxprocs) {
        cfg.procs = p;
    }
    cfg.timeslice = a.timeslice;
    if let Some(t) = env_traceback() {
        opts.traceback = t;
    }
    cfg.schedtrace = a.schedtrace.or_else(env_schedtrace).map(Duration::from_millis);
    cfg.engine.max_gs = a.max_gs;
    cfg.trace = a.trace.clone().map(crate::TraceOutput::File);
    let l = &mut opts.limits;
    l.max_message = a.max_message;
    l.max_memory_per_g = cfg.engine.max_memory; // the reservation is the limit: one flag for both
    if let Some(mib) = a.max_memory_total {
        l.max_memory_total = mib << 20; // cannot overflow: at most MAX_MIB
    }
    l.max_handles_per_g = a.max_handles_per_g;
    l.max_handles_total = a.max_handles;
    l.max_buffered_bytes = a.max_buffered << 20;
    l.max_timers = a.max_timers; // combinations (max-buffered below max-message) are checked by the run
    l.cpu_time = a.cpu_time;
    l.max_gs = a.max_gs_per_program;
    let app = a.app();
    let name = app.file_name().map_or_else(|| app.display().to_string(), |n| n.to_string_lossy().into_owned());
    opts.args = std::iter::once(name).chain(a.args().iter().cloned()).collect();
    for e in &a.env {
        match e.split_once('=') {
            Some((k, v)) => opts.env.push((k.to_string(), v.to_string())),
            None => match std::env::var(e) {
                Ok(v) => opts.env.push((e.clone(), v)),
                Err(_) => return Err(format!("--env {e}: the host has no such variable")),
            },
        }
    }
    for rule in &a.net {
        opts.net.add(rule)?;
    }
    for d in &a.dirs {
        let (host, guest) = d.split_once("::").unwrap_or((d, d));
        opts.dirs.push((PathBuf::from(host), guest.to_string()));
    }
    Ok((cfg, opts))
}

/// Go's answer to `SIGQUIT` (Ctrl-\\): every G's stack on stderr, then exit status 2. Taken from a thread
/// of its own, so the signal handler itself only wakes it.
fn quit_dumps(run: &std::sync::Arc<crate::RunHandle>) {
    let mut signals = match signal_hook::iterator::Signals::new([signal_hook::consts::SIGQUIT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wasm-gmp: warning: cannot catch SIGQUIT ({e}); it will end the process without a dump");
            return;
        }
    };
    let run = run.clone();
    let spawned = std::thread::Builder::new().name("gmp-sigquit".into()).spawn(move || {
        if signals.forever().next().is_some() {
            let text = format!("SIGQUIT: quit\n\n{}", run.dump());
            crate::run::write_out(&crate::Output::Inherit, &text);
            std::process::exit(EXIT_QUIT);
        }
    });
    if let Err(e) = spawned {
        eprintln!("wasm-gmp: warning: cannot start the SIGQUIT thread ({e})");
    }
}

/// `program`, after printing its warnings.
fn warned(program: Program, path: &Path) -> Program {
    for w in program.warnings() {
        eprintln!("wasm-gmp: warning: {}: {w}", path.display());
    }
    program
}

/// Run the command line of this process; returns the exit status (see *Exit statuses*).
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 }; // --help and --version are not errors
        }
    };
    let cannot_start = |e: anyhow::Error| {
        eprintln!("wasm-gmp: {e:#}");
        EXIT_CANNOT_START
    };
    match cli.command {
        Command::Run(a) => {
            let (cfg, opts) = match config(&a) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("wasm-gmp: {e}");
                    return EXIT_USAGE;
                }
            };
            let mut builder = Program::builder(&cfg.engine);
            if a.allow_precompiled {
                // SAFETY: the user vouched for the file with --allow-precompiled (its help says what it means).
                builder = unsafe { builder.allow_precompiled() };
            }
            // The program first: a bad module file is reported before the engine's pool is reserved.
            let rt = builder.file(a.app()).and_then(|p| Ok((Runtime::new(cfg)?, p)));
            match rt.and_then(|(rt, p)| Ok((rt.start(&warned(p, a.app()), opts)?, rt))) {
                Ok((run, _rt)) => {
                    let run = std::sync::Arc::new(run);
                    quit_dumps(&run);
                    let code = run.wait().code;
                    if a.stats {
                        eprint!("{}", run.metrics().report());
                    }
                    // `_rt` drops after this: the runtime shuts down and writes the trace, if any.
                    code
                }
                Err(e) => cannot_start(e),
            }
        }
        Command::New(a) => match new_crate(&a) {
            Ok(()) => 0,
            Err(e) => cannot_start(e),
        },
        Command::Compile(a) => {
            let out = a.output.clone().unwrap_or_else(|| a.app.with_extension("cwasm"));
            let program = Program::from_file(&a.code.engine(), &a.app).map(|p| warned(p, &a.app));
            let compiled = program.and_then(|p| p.precompile()).and_then(|b| {
                std::fs::write(&out, b).map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", out.display()))
            });
            match compiled {
                Ok(()) => 0,
                Err(e) => cannot_start(e),
            }
        }
    }
}

/// The hello-world program of a new crate.
const TEMPLATE_MAIN: &str = include_str!("template/main.rs");

/// `wasm-gmp new`: writes the crate, refusing to touch a folder that exists.
fn new_crate(a: &NewArgs) -> anyhow::Result<()> {
    let dir = &a.name;
    if dir.exists() {
        anyhow::bail!("{}: already exists", dir.display());
    }
    let sdk = match &a.sdk {
        Some(s) => s.clone(),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk")),
    };
    let sdk = std::fs::canonicalize(&sdk).ok().filter(|s| s.join("Cargo.toml").is_file()).ok_or_else(|| {
        anyhow::anyhow!("{}: no guest SDK (the gmp crate) there; say where with --sdk", sdk.display())
    })?;
    let name: String = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{}: not a folder name", dir.display()))?
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        anyhow::bail!("{name}: a crate name starts with a letter");
    }
    let cargo_toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         gmp = {{ path = {sdk:?} }}\n\n\
         # A crate of its own, even inside another workspace.\n[workspace]\n",
        sdk = sdk.display().to_string(),
    );
    // TOML strings and Rust's Debug agree for the paths we write (quotes, backslashes and escapes).
    let config = "[build]\ntarget = \"wasm32-wasip1\"\n\n\
        [target.wasm32-wasip1]\n\
        # Each G is an instance with its own shadow stack: 64 KiB rather than Rust's default 1 MiB keeps Gs small.\n\
        rustflags = [\"-C\", \"link-arg=-zstack-size=65536\"]\n\
        # `cargo run` runs the program under wasm-gmp (on PATH); arguments after `--` reach the program.\n\
        runner = \"wasm-gmp run\"\n";
    let write = |path: &std::path::Path, text: &str| -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", parent.display()))?;
        }
        std::fs::write(path, text).map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    };
    write(&dir.join("Cargo.toml"), &cargo_toml)?;
    write(&dir.join(".cargo/config.toml"), config)?;
    write(&dir.join("src/main.rs"), TEMPLATE_MAIN)?;
    write(&dir.join(".gitignore"), "/target\n")?;
    eprintln!(
        "created {name} in {}: `rustup target add wasm32-wasip1` once, then `cargo run` there (with wasm-gmp on \
         PATH), or `cargo build --release` and `wasm-gmp run target/wasm32-wasip1/release/{name}.wasm`",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_millis(7)));
        assert!(parse_duration("0ms").is_err());
        assert!(parse_duration("0.1ns").is_err(), "rounds to a zero slice");
        assert!(parse_duration("3601s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
