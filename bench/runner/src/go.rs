//! The Go twins of the benchmark programs: find the `go` on PATH and build each `bench/go/NAME.go` into
//! `target/bench-go/NAME`. The runner installs nothing and writes nothing outside the project: without Go
//! it says how to get it and the table has no Go column.

use std::process::Command;

use crate::procs::root;

/// How to get Go, printed when it is missing or too old to build the twins.
const INSTALL_HINT: &str = "install Go (Debian/Ubuntu: `sudo apt-get install golang-go`; or the official \
                            tarball from https://go.dev/dl/) and put `go` on PATH";

/// Go's version line; None when there is no `go` on PATH (the runner then prints no Go column).
pub fn ensure() -> Option<String> {
    match Command::new("go").arg("version").output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        _ => {
            eprintln!("gmp-bench: Go not found; the table will have no Go column. To compare with Go, {INSTALL_HINT}.");
            None
        }
    }
}

/// Build `bench/go/NAME.go` for each name.
///
/// # Errors
/// When a twin does not build (the message names it and says how to get Go).
pub fn build(names: &[&str]) -> anyhow::Result<()> {
    let root = root();
    let out = root.join("target/bench-go");
    std::fs::create_dir_all(&out)?;
    for name in names {
        let st = Command::new("go")
            .args(["build", "-o"])
            .arg(out.join(name))
            .arg(root.join(format!("bench/go/{name}.go")))
            .env("GOCACHE", root.join("target/bench-go/cache"))
            .env("GO111MODULE", "off")
            .status()?;
        anyhow::ensure!(st.success(), "go build {name} failed; if your Go is too old, {INSTALL_HINT}");
    }
    Ok(())
}

/// Go's version line and the built twins `names`, or None (with the reason printed) when Go is missing or a
/// twin does not build: the caller then runs without the Go column.
pub fn ready(names: &[&str]) -> Option<String> {
    let version = ensure()?;
    match build(names) {
        Ok(()) => Some(version),
        Err(e) => {
            eprintln!("gmp-bench: {e}; the table will have no Go column");
            None
        }
    }
}
