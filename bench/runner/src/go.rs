//! The Go twins of the benchmark programs: find Go (installing the distribution's package when it is
//! missing and apt-get can), build each `bench/go/NAME.go` into `target/bench-go/NAME`.

use std::process::Command;

use crate::procs::root;

/// Go's version line, installing Go first if needed; None when Go cannot be had (the runner then prints
/// no Go column).
pub fn ensure() -> Option<String> {
    let version = || Command::new("go").arg("version").output().ok().filter(|o| o.status.success());
    if let Some(v) = version() {
        return Some(String::from_utf8_lossy(&v.stdout).trim().to_string());
    }
    eprintln!("gmp-bench: Go not found; trying `apt-get install golang-go` (Go 1.23 from bookworm-backports)");
    let backports = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\n\
                     Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";
    let _ = std::fs::write("/etc/apt/sources.list.d/gmp-bench-backports.sources", backports);
    let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq", "-t", "bookworm-backports", "golang-go"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
        || Command::new("apt-get")
            .args(["install", "-y", "-qq", "golang-go"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("gmp-bench: could not install Go; the table will have no Go column");
        return None;
    }
    version().map(|v| String::from_utf8_lossy(&v.stdout).trim().to_string())
}

/// Build `bench/go/NAME.go` for each name.
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
        anyhow::ensure!(st.success(), "go build {name} failed");
    }
    Ok(())
}
