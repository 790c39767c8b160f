//! The workload rows: one module per workload of `WORKLOADS.md`, each with its sizes,
//! its byte (and flop) model next to the code that times it, and its check.
//!
//! Backends are every `simlanes::Backend` that can start here ([`available_backends`]:
//! scalar, SIMD, threaded, and the GPU when `Simulator::new` finds a driver and a
//! device; asked for by name without one, the run stops before it starts). Seed-size runs of the big workloads on the scalar backend
//! would take minutes; there the row runs a documented reduced size and says so in its
//! `size` (suffix `(reduced)`) and note.

use simlanes::simulator::ThreadConfig;
use simlanes::{Backend, Simulator};

use super::report::{Check, Row};
use super::stream::Traffic;
use super::timing::Stats;

mod binomial;
mod jansen_rit;
mod mpr;
mod noise;
mod ou;
mod pi;

/// Problem size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Small: the whole run finishes in under a minute on 2 cores.
    Quick,
    /// WORKLOADS.md's seed sizes (reduced on slow backends where documented).
    Seed,
    /// Several sizes per workload.
    Sweep,
}

impl Size {
    /// From a command-line name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "quick" => Some(Size::Quick),
            "seed" => Some(Size::Seed),
            "sweep" => Some(Size::Sweep),
            _ => None,
        }
    }
    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Size::Quick => "quick",
            Size::Seed => "seed",
            Size::Sweep => "sweep",
        }
    }
}

/// The workloads of WORKLOADS.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// W1 Monte Carlo pi.
    Pi,
    /// W2 Ornstein–Uhlenbeck.
    Ou,
    /// W3 binomial rejection counting.
    Binomial,
    /// W4 Jansen–Rit network.
    JansenRit,
    /// W5 Montbrio–Pazo–Roxin sweep.
    Mpr,
}

impl Workload {
    /// All, in catalogue order.
    pub const ALL: [Workload; 5] =
        [Workload::Pi, Workload::Ou, Workload::Binomial, Workload::JansenRit, Workload::Mpr];

    /// `W1` … `W5`.
    pub fn id(self) -> &'static str {
        match self {
            Workload::Pi => "W1",
            Workload::Ou => "W2",
            Workload::Binomial => "W3",
            Workload::JansenRit => "W4",
            Workload::Mpr => "W5",
        }
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Pi => "pi",
            Workload::Ou => "ou",
            Workload::Binomial => "binomial",
            Workload::JansenRit => "jansen-rit",
            Workload::Mpr => "mpr",
        }
    }

    /// From `w1`..`w5` or the short name (case-insensitive; `_` for `-` accepted).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|w| {
            s == w.id().to_ascii_lowercase() || s == w.name() || (s == "jr" && *w == Workload::JansenRit)
        })
    }
}

/// Every backend simlanes has: scalar, SIMD, threaded (`threads` pinned workers,
/// default tiles) and the first GPU.
pub fn all_backends(threads: usize) -> Vec<Backend> {
    vec![
        Backend::Scalar,
        Backend::Simd,
        Backend::Threaded(ThreadConfig::new(threads).pinned()),
        Backend::Gpu { device: 0 },
    ]
}

/// Whether `b` can run here (the GPU backend needs a driver, a device and accepted PTX;
/// `Simulator::new` reports why not, without panicking).
pub fn usable(b: Backend) -> Result<(), String> {
    simulator(b).map(|_| ())
}

/// The backends of [`all_backends`] that can run on this machine.
pub fn available_backends(threads: usize) -> Vec<Backend> {
    all_backends(threads).into_iter().filter(|&b| usable(b).is_ok()).collect()
}

/// `b` with `threads` workers if it is the threaded backend.
pub fn with_threads(b: Backend, threads: usize) -> Backend {
    match b {
        Backend::Threaded(cfg) => Backend::Threaded(ThreadConfig { threads, ..cfg }),
        other => other,
    }
}

/// Parses a backend name against [`all_backends`] (the threaded backend's thread count
/// is set later from `--threads`; whether a GPU is there is checked before the run).
pub fn parse_backend(s: &str) -> Result<Backend, String> {
    let all = all_backends(1);
    all.iter().copied().find(|b| b.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
        let valid: Vec<&str> = all.iter().map(|b| b.name()).collect();
        format!("unknown backend `{s}`; valid: {}", valid.join(", "))
    })
}

/// Settings shared by every row.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Size class.
    pub size: Size,
    /// Workload seed.
    pub seed: u64,
    /// Fewer repeats.
    pub quick: bool,
}

impl Ctx {
    /// Timed repeats per row (after one warm-up run).
    pub fn repeats(&self) -> usize {
        if self.quick { 3 } else { 5 }
    }
    /// Stop repeating a row once its timed runs took this long (at least one run).
    pub fn budget_s(&self) -> f64 {
        if self.quick { 1.0 } else { 4.0 }
    }
}

/// The rows of workload `w` on backend `b`.
pub fn run(w: Workload, b: Backend, ctx: &Ctx) -> Vec<Row> {
    match w {
        Workload::Pi => pi::rows(b, ctx),
        Workload::Ou => ou::rows(b, ctx),
        Workload::Binomial => binomial::rows(b, ctx),
        Workload::JansenRit => jansen_rit::rows(b, ctx),
        Workload::Mpr => mpr::rows(b, ctx),
    }
}

/// Threads a backend runs on (1 for the single-threaded ones).
pub fn threads_of(b: Backend) -> usize {
    match b {
        Backend::Threaded(cfg) => cfg.threads,
        _ => 1,
    }
}

/// A simulator on `b`.
fn simulator(b: Backend) -> Result<Simulator, String> {
    Simulator::new(b).map_err(|e| format!("cannot start backend {}: {e}", b.name()))
}

/// What identifies a row; [`Meta::row`] adds the measurements.
#[derive(Debug, Clone)]
struct Meta {
    workload: &'static str,
    variant: String,
    backend: Backend,
    size: String,
    note: Option<String>,
    unit: &'static str,
    tile: Option<usize>,
}

/// Measurements of one row.
struct Measured {
    stats: Stats,
    work: f64,
    bytes: Option<(f64, Traffic)>,
    flops: Option<f64>,
    check: Check,
}

impl Meta {
    fn new(workload: &'static str, variant: impl Into<String>, backend: Backend, unit: &'static str) -> Self {
        Self { workload, variant: variant.into(), backend, size: String::new(), note: None, unit, tile: None }
    }

    fn size(mut self, size: impl Into<String>, reduced: Option<String>) -> Self {
        self.size = size.into();
        if let Some(why) = reduced {
            self.size.push_str(" (reduced)");
            self.note = Some(why);
        }
        self
    }

    fn row(&self, m: Measured) -> Row {
        Row {
            workload: self.workload,
            variant: self.variant.clone(),
            backend: self.backend.name().to_string(),
            threads: threads_of(self.backend),
            size: self.size.clone(),
            note: self.note.clone(),
            stats: m.stats,
            work: m.work,
            unit: self.unit,
            bytes: m.bytes,
            flops: m.flops,
            check: m.check,
            tile: self.tile,
        }
    }

    /// A row for a run that could not happen: its check fails with the reason.
    fn failed(&self, why: impl Into<String>) -> Row {
        self.row(Measured {
            stats: Stats::of(&[f64::NAN]),
            work: 0.0,
            bytes: None,
            flops: None,
            check: Check::new(false, format!("error: {}", why.into())),
        })
    }
}

/// `|x - want| <= 4 se`, described.
fn within_4se(what: &str, x: f64, want: f64, se: f64) -> Check {
    let pass = (x - want).abs() <= 4.0 * se;
    Check::new(pass, format!("{what} {x:.6} vs {want:.6} (4 SE = {:.2e})", 4.0 * se))
}

/// Both checks must pass; details joined.
fn both(a: Check, b: Check) -> Check {
    Check::new(a.pass && b.pass, format!("{}; {}", a.detail, b.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_quick_rows_pass_their_checks() {
        let ctx = Ctx { size: Size::Quick, seed: 0, quick: true };
        let rows: Vec<Row> =
            [Workload::Pi, Workload::JansenRit].iter().flat_map(|&w| run(w, Backend::Simd, &ctx)).collect();
        // W1 pi and Philox only; W4 instant, delayed and noise only.
        assert_eq!(rows.len(), 5);
        for r in &rows {
            assert!(r.check.pass, "{} {}: {}", r.workload, r.variant, r.check.detail);
            assert!(r.stats.best > 0.0 && r.throughput() > 0.0);
        }
    }

    #[test]
    fn checks_fail_when_the_law_does_not_hold() {
        assert!(within_4se("x", 3.0, 3.0, 0.0).pass);
        assert!(!within_4se("x", 3.2, 3.0, 0.01).pass);
        assert!(!both(Check::new(true, "a"), Check::new(false, "b")).pass);
        let failed = Meta::new("W1", "pi", Backend::Scalar, "pairs/s").failed("boom");
        assert!(!failed.check.pass && failed.check.detail.contains("boom"));
    }

    #[test]
    fn names_parse_both_ways() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.id()), Some(w));
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
        assert_eq!(Workload::parse("JANSEN_RIT"), Some(Workload::JansenRit));
        assert_eq!(Workload::parse("w6"), None);
        assert_eq!(Size::parse("Sweep"), Some(Size::Sweep));
        assert_eq!(Size::parse("huge"), None);
        assert_eq!(parse_backend("scalar"), Ok(Backend::Scalar));
        assert_eq!(parse_backend("SIMD"), Ok(Backend::Simd));
        let e = parse_backend("tpu").unwrap_err();
        assert!(e.contains("valid: scalar, simd, threaded, gpu"), "{e}");
        assert_eq!(parse_backend("gpu"), Ok(Backend::Gpu { device: 0 }));
        let here = available_backends(2);
        assert!(here.starts_with(&[Backend::Scalar, Backend::Simd]), "{here:?}");
    }
}
