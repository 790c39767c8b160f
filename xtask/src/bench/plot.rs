//! SVG plots of `--out DIR` (plotters, SVG backend):
//!
//! * `roofline.svg` — arithmetic intensity (flops per byte of the row's byte model) vs
//!   achieved GFLOP/s, every row that counts both, under the measured ceilings
//!   `min(AI × bandwidth, FMA peak)` for the measured read, write and copy ceilings
//!   and the FMA and AVX2 FMA peaks;
//! * `w3_tiles.svg` — W3 throughput (comparisons/s) vs the tile/batch size, one line per
//!   backend and variant, from the rows that report a tile size.

use std::path::Path;

use plotters::prelude::*;

use super::machine::Machine;
use super::report::Row;

type PlotResult = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("plot: {e}")
}

/// Tableau-10, for points and series.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Greys for the ceilings, darkest first.
const GREYS: [RGBColor; 4] =
    [RGBColor(0, 0, 0), RGBColor(90, 90, 90), RGBColor(160, 160, 160), RGBColor(200, 60, 60)];

/// Axis label: plain number, no needless decimals.
fn label(v: &f64) -> String {
    if *v >= 1.0 { format!("{v:.0}") } else { format!("{v}") }
}

/// A point marker per backend: scalar ×, simd ○, threaded △, anything else □.
fn marker<'a>(backend: &str, at: (f64, f64), c: RGBColor) -> DynElement<'static, SVGBackend<'a>, (f64, f64)> {
    match backend {
        "scalar" => Cross::new(at, 5, c.stroke_width(2)).into_dyn(),
        "simd" => Circle::new(at, 5, c.filled()).into_dyn(),
        "threaded" => TriangleMarker::new(at, 6, c.filled()).into_dyn(),
        _ => Rectangle::new([at, at], c.stroke_width(8)).into_dyn(),
    }
}

/// Powers of ten around `[lo, hi]`.
fn decades(lo: f64, hi: f64) -> (f64, f64) {
    (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil()))
}

/// Writes the roofline plot. Rows without flops or bytes are left out.
pub fn roofline(path: &Path, m: &Machine, rows: &[Row]) -> PlotResult {
    let points: Vec<(String, &str, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            let (b, _) = r.bytes?;
            let f = r.flops?;
            (b > 0.0 && f > 0.0 && r.stats.best > 0.0).then(|| {
                (format!("{} {}", r.workload, r.variant), r.backend.as_str(), f / b, f / r.stats.best / 1e9)
            })
        })
        .collect();
    let peak = m.fma.peak_gflops;
    let bws = [("read", m.peak.read), ("write", m.peak.write), ("copy", m.peak.copy)];
    let ai = points.iter().map(|p| p.2);
    let (x0, x1) = decades(ai.clone().fold(0.01, f64::min), ai.fold(100.0, f64::max));
    let perf = points.iter().map(|p| p.3);
    let ymin_bw = bws.iter().map(|b| b.1).filter(|&b| b > 0.0).fold(f64::INFINITY, f64::min) * x0;
    let (y0, y1) = decades(perf.clone().fold(ymin_bw.min(1.0), f64::min), perf.fold(peak, f64::max) * 1.5);

    let root = SVGBackend::new(path, (1000, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("Roofline: {} ({} threads)", m.cpu, m.threads), ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity (flop/byte)")
        .y_desc("GFLOP/s")
        .x_label_formatter(&label)
        .y_label_formatter(&label)
        .draw()
        .map_err(err)?;
    let xs: Vec<f64> = (0..=200).map(|i| x0 * (x1 / x0).powf(f64::from(i) / 200.0)).collect();
    for (i, (name, bw)) in bws.iter().enumerate() {
        let c = GREYS[i];
        chart
            .draw_series(LineSeries::new(xs.iter().map(|&x| (x, (x * bw).min(peak))), c.stroke_width(2)))
            .map_err(err)?
            .label(format!("{name} {bw:.1} GB/s, FMA peak {peak:.0} GFLOP/s"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    let avx2 = m.fma.peak_avx2_gflops;
    if (avx2 - peak).abs() > 1e-6 * peak {
        let c = GREYS[3];
        chart
            .draw_series(LineSeries::new(vec![(x0, avx2), (x1, avx2)], c))
            .map_err(err)?
            .label(format!("AVX2 FMA peak {avx2:.0} GFLOP/s"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
    }
    // One colour per workload variant, one marker per backend.
    let mut keys: Vec<&str> = Vec::new();
    for (key, backend, x, y) in &points {
        let i = keys.iter().position(|k| k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        let c = COLORS[i % COLORS.len()];
        chart
            .draw_series(std::iter::once(marker(backend, (*x, *y), c)))
            .map_err(err)?
            .label(format!("{key} {backend}"))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Writes the W3 tile sweep plot; `Ok(false)` (nothing written) if no row has a tile size.
pub fn w3_tiles(path: &Path, rows: &[Row]) -> Result<bool, String> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for r in rows.iter().filter(|r| r.workload == "W3" && r.stats.best > 0.0) {
        let Some(tile) = r.tile else { continue };
        let size = r.size.split(" tile=").next().unwrap_or(&r.size);
        let key = format!("{} {} ({size})", r.backend, r.variant);
        let p = (tile as f64, r.throughput());
        match series.iter_mut().find(|s| s.0 == key) {
            Some(s) => s.1.push(p),
            None => series.push((key, vec![p])),
        }
    }
    if series.is_empty() {
        return Ok(false);
    }
    let all = || series.iter().flat_map(|s| s.1.iter());
    let (x0, x1) = decades(
        all().map(|p| p.0).fold(f64::INFINITY, f64::min),
        all().map(|p| p.0).fold(1.0, f64::max) * 1.01,
    );
    let y1 = all().map(|p| p.1).fold(1.0, f64::max) * 1.2;
    let root = SVGBackend::new(path, (1000, 650)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("W3 binomial counting: throughput vs tile size", ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((x0..x1).log_scale(), 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("tile size (simulations per tile)")
        .y_desc("comparisons/s")
        .x_label_formatter(&label)
        .y_label_formatter(&|v| format!("{v:.2e}"))
        .draw()
        .map_err(err)?;
    for (i, (name, mut pts)) in series.into_iter().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let c = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)).point_size(4))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(true)
}
