#!/usr/bin/env python3
"""Resident memory per parked G: run park_many with N Gs held parked, read the process's RSS, and compare
with a run holding 1 G. Usage: scripts/measure-rss.py [N ...] (default 10000). Needs a release build of
wasm-gmp and the test guests (cargo test builds them into target/wasm)."""
import os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/wasm-gmp")
GUEST = os.path.join(ROOT, "target/wasm/wasm32-wasip1/release/park_many.wasm")

def rss_kib(n, procs):
    p = subprocess.Popen([BIN, "run", "--procs", str(procs), GUEST, "--", str(n), "hold"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("parked:"), line
    with open(f"/proc/{p.pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    with open(f"/proc/{p.pid}/maps") as f:
        maps = sum(1 for _ in f)
    p.stdin.write("\n"); p.stdin.flush()
    p.wait()
    return rss, maps

for n in [int(a) for a in sys.argv[1:]] or [10000]:
    base, base_maps = rss_kib(1, 2)
    rss, maps = rss_kib(n, 2)
    print(f"{n} parked Gs: RSS {rss} KiB (1 G: {base} KiB) -> {(rss - base) / (n - 1):.1f} KiB per parked G; "
          f"mappings {maps} (1 G: {base_maps}) -> {(maps - base_maps) / (n - 1):.2f} per G")
