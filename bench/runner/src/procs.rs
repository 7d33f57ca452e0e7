//! Starting the programs under test: servers that print `listening on ADDR`, and one-shot programs whose
//! output is a line of `key=value` figures.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The workspace root (this crate lives in bench/runner).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// A server process, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    /// Start `cmd` and wait for its `listening on ADDR` line.
    pub fn start(mut cmd: Command) -> anyhow::Result<Server> {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow::anyhow!("server said {line:?} instead of `listening on ADDR`"))?
            .to_string();
        Ok(Server { child, addr })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `cmd` to completion and return its stdout.
pub fn output(mut cmd: Command) -> anyhow::Result<String> {
    let out = cmd.stderr(Stdio::inherit()).output()?;
    anyhow::ensure!(out.status.success(), "{cmd:?} failed: {}", out.status);
    Ok(String::from_utf8(out.stdout)?)
}

/// The value of `key=` in a line of `key=value` figures.
pub fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// The middle value.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

/// A `wasm-gmp run` command for a release-built guest.
pub fn wasm_gmp(procs: usize, guest: &str, args: &[&str]) -> Command {
    wasm_gmp_with(procs, &[], guest, args)
}

/// [`wasm_gmp`] with `flags` for `wasm-gmp run`.
pub fn wasm_gmp_with(procs: usize, flags: &[String], guest: &str, args: &[&str]) -> Command {
    let root = root();
    let mut cmd = Command::new(root.join("target/release/wasm-gmp"));
    cmd.args(["run", "--procs", &procs.to_string()])
        .args(flags)
        .arg(root.join(format!("target/wasm/wasm32-wasip1/release/{guest}.wasm")))
        .arg("--")
        .args(args)
        .env("GMP_CACHE_DIR", root.join("target/gmp-cache"));
    cmd
}

/// A command for a Go twin built by [`crate::go::build`], with `GOMAXPROCS` set.
pub fn go(procs: usize, name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(root().join("target/bench-go").join(name));
    cmd.args(args).env("GOMAXPROCS", procs.to_string());
    cmd
}
