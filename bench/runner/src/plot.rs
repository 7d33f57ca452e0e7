//! The plot of the suite: spawn cost and memory per G against the number of live Gs (1k … 1M), wasm-gmp, Go
//! and Lunatic, as a hand-written SVG (two panels, logarithmic x axis), so the runner needs no plotting
//! library.

use std::fmt::Write as _;

use serde::Serialize;

/// One runtime's figures with a number of Gs parked, per G.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Sample {
    /// Gs parked when measured: the point's, or fewer where a runtime holds fewer (see `lunatic.rs`).
    pub parked: usize,
    /// What the kernel pays: Pss plus page tables, KiB.
    pub kib_per_g: f64,
    pub pss_kib_per_g: f64,
    pub page_tables_kib_per_g: f64,
    /// RSS, KiB: counts a shared page once per mapping and leaves page tables out.
    pub rss_kib_per_g: f64,
    /// Memory mappings (what `vm.max_map_count` limits).
    pub maps_per_g: f64,
    /// The spawn cost the program printed, ns.
    pub spawn_ns: f64,
}

/// Live Gs, and each runtime's figures there, where measured.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Point {
    pub gs: usize,
    /// `bench_park`, a Rust G.
    pub wasm_gmp: Option<Sample>,
    /// `park_min.wat`, the smallest G (memory only, from 10,000 Gs).
    pub smallest: Option<Sample>,
    pub go: Option<Sample>,
    pub lunatic: Option<Sample>,
}

/// A named, coloured line of (x, y) points.
type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

const W: f64 = 420.0;
const H: f64 = 260.0;
const PAD: f64 = 50.0;

fn panel(out: &mut String, x0: f64, title: &str, unit: &str, pts: &[Point], pick: impl Fn(&Sample) -> f64) {
    let line = |of: fn(&Point) -> Option<Sample>| -> Vec<(f64, f64)> {
        pts.iter().filter_map(|p| of(p).map(|v| (v.parked as f64, pick(&v)))).collect()
    };
    let series: [Series<'_>; 4] = [
        ("wasm-gmp", "#d9480f", line(|p| p.wasm_gmp)),
        ("wasm-gmp, smallest G", "#f59f00", line(|p| p.smallest)),
        ("Go", "#1c7ed6", line(|p| p.go)),
        ("Lunatic", "#2f9e44", line(|p| p.lunatic)),
    ];
    let ymax = series.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(1.0f64, f64::max) * 1.15;
    let (xl, xr) = (3.0f64, 6.0f64); // 1k … 1M, log10
    let px = |n: f64| x0 + PAD + (n.log10() - xl) / (xr - xl) * (W - 2.0 * PAD);
    let py = |v: f64| H - PAD - v / ymax * (H - 2.0 * PAD);
    let _ = writeln!(out, r#"<text x="{}" y="20" font-size="14" text-anchor="middle">{title}</text>"#, x0 + W / 2.0);
    let _ = writeln!(
        out,
        r#"<line x1="{a}" y1="{b}" x2="{c}" y2="{b}" stroke="black"/><line x1="{a}" y1="{d}" x2="{a}" y2="{b}" stroke="black"/>"#,
        a = x0 + PAD,
        b = H - PAD,
        c = x0 + W - PAD,
        d = PAD
    );
    for (i, label) in ["1k", "10k", "100k", "1M"].iter().enumerate() {
        let x = px(10f64.powi(3 + i as i32));
        let _ =
            writeln!(out, r#"<text x="{x}" y="{}" font-size="11" text-anchor="middle">{label}</text>"#, H - PAD + 16.0);
    }
    for k in 0..=4 {
        let v = ymax * k as f64 / 4.0;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{:.0}</text>"#,
            x0 + PAD - 4.0,
            py(v) + 3.0,
            v
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">live Gs ({unit})</text>"#,
        x0 + W / 2.0,
        H - 12.0
    );
    for (k, (name, color, s)) in series.iter().enumerate() {
        if s.is_empty() {
            continue;
        }
        let path: Vec<String> = s.iter().map(|&(n, v)| format!("{:.1},{:.1}", px(n), py(v))).collect();
        let _ =
            writeln!(out, r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#, path.join(" "));
        for &(n, v) in s {
            let _ = writeln!(out, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#, px(n), py(v));
        }
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="11" fill="{color}">{name}</text>"#,
            x0 + W - PAD - 110.0,
            PAD + 14.0 * k as f64
        );
    }
}

/// The SVG document.
pub fn svg(pts: &[Point]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>"#,
        2.0 * W
    );
    panel(&mut out, 0.0, "spawn cost per G (ns)", "ns per spawn", pts, |v| v.spawn_ns);
    panel(&mut out, W, "memory per parked G, Pss + page tables (KiB)", "KiB per G", pts, |v| v.kib_per_g);
    out.push_str("</svg>\n");
    out
}
