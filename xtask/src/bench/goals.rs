//! The GPU speed goals of the GPU issue, judged from one bench run's own rows, so that
//! a run on a lent GPU answers them without hand arithmetic:
//!
//! * **W1** ≥ 2e11 pairs/s: the fastest passing GPU `pi` row;
//! * **W3 pregenerated** ≥ 80 % of the device's theoretical bandwidth: the passing GPU
//!   `validate pregen` row that moves the most bytes (the one least helped by the L2);
//! * **W4 and W5** ≥ 20× the 2-core CPU backend: for each variant, the GPU row against the
//!   threaded row of the same size in the same run, at the largest size both ran (one GPU
//!   thread carries one simulation, so small batches leave most of the device idle; the
//!   line lists every size's ratio).
//!
//! The CPU side is the threaded backend with the bench's `--threads`. A ratio against more
//! than 2 threads that meets the goal meets it against 2, and one against a single thread
//! that falls short falls short against 2; any other ratio is not judged and says to rerun
//! with `--threads 2`. A run on the libcuda stand-in (kernels on the host CPU) is not
//! judged at all. Goals are reported, never a failed check: speed is measured, not
//! asserted.

use serde_json::{Value, json};

use super::machine::Machine;
use super::report::{Row, fig};

/// Threads of "the 2-core CPU backend" the W4/W5 goals compare against.
const CPU_THREADS: usize = 2;
/// W1 goal, pairs/s.
const W1_PAIRS_PER_S: f64 = 2e11;
/// W3 pregenerated goal, % of the theoretical bandwidth.
const W3_PCT_THEORETICAL: f64 = 80.0;
/// W4/W5 goal: GPU throughput over the 2-core CPU backend's.
const W45_RATIO: f64 = 20.0;
/// How the libcuda stand-in names its device (`crates/cuda-stand-in`).
const STAND_IN_PREFIX: &str = "simlanes CUDA stand-in";

/// Whether a goal was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Measured and reached.
    Met,
    /// Measured and not reached.
    Short,
    /// Not measurable from this run (the line says why).
    NotJudged,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Short => "short",
            Verdict::NotJudged => "not judged",
        }
    }
}

/// One goal's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    /// What is measured, e.g. `W4 instant: GPU / threaded`.
    pub name: String,
    /// The target, e.g. `>= 20x`.
    pub target: String,
    /// The measured figure in the target's unit, if any.
    pub measured: Option<f64>,
    /// Met, short or not judged.
    pub verdict: Verdict,
    /// Which rows it came from, or why it is not judged.
    pub detail: String,
}

fn goal(
    name: impl Into<String>,
    target: String,
    measured: Option<f64>,
    verdict: Verdict,
    detail: String,
) -> Goal {
    Goal { name: name.into(), target, measured, verdict, detail }
}

fn on(r: &Row, backend: &str, workload: &str) -> bool {
    r.backend == backend && r.workload == workload && r.check.pass && r.stats.best > 0.0
}

fn at_least(value: f64, target: f64) -> Verdict {
    if value >= target { Verdict::Met } else { Verdict::Short }
}

fn w1(rows: &[Row]) -> Goal {
    let target = format!(">= {W1_PAIRS_PER_S:.0e} pairs/s");
    let best = rows
        .iter()
        .filter(|r| on(r, "gpu", "W1") && r.variant == "pi")
        .max_by(|a, b| a.throughput().total_cmp(&b.throughput()));
    match best {
        Some(r) => goal(
            "W1 pi on the GPU",
            target,
            Some(r.throughput()),
            at_least(r.throughput(), W1_PAIRS_PER_S),
            format!("{:.3e} pairs/s at {}", r.throughput(), r.size),
        ),
        None => goal("W1 pi on the GPU", target, None, Verdict::NotJudged, "no passing GPU W1 pi row".into()),
    }
}

fn w3(m: &Machine, rows: &[Row]) -> Goal {
    let name = "W3 validate pregen on the GPU, % of theoretical bandwidth";
    let target = format!(">= {W3_PCT_THEORETICAL:.0} %");
    let largest = rows
        .iter()
        .filter(|r| on(r, "gpu", "W3") && r.variant == "validate pregen" && r.bytes.is_some())
        .max_by(|a, b| a.bytes.map(|x| x.0).unwrap_or(0.0).total_cmp(&b.bytes.map(|x| x.0).unwrap_or(0.0)));
    let Some(r) = largest else {
        return goal(name, target, None, Verdict::NotJudged, "no passing GPU W3 pregen row".into());
    };
    let bytes = r.bytes.map_or(0.0, |b| b.0);
    let Some(pct) = r.pct_theoretical(m) else {
        return goal(name, target, None, Verdict::NotJudged, "the GPU's bandwidth was not measured".into());
    };
    let of_measured = r.pct_measured(m).map_or_else(String::new, |p| format!(", {p:.1} % of BabelStream"));
    goal(
        name,
        target,
        Some(pct),
        at_least(pct, W3_PCT_THEORETICAL),
        format!(
            "{:.1} GB/s{of_measured}, {:.0} MB per run at {}",
            r.bytes_per_s().unwrap_or(0.0) / 1e9,
            bytes / 1e6,
            r.size
        ),
    )
}

/// W4/W5: one goal per variant that both the GPU and the threaded backend ran.
fn speedups(rows: &[Row], workload: &str) -> Vec<Goal> {
    let target = format!(">= {W45_RATIO:.0}x the {CPU_THREADS}-core CPU backend");
    let mut variants: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| on(r, "gpu", workload)) {
        if !variants.contains(&r.variant.as_str()) {
            variants.push(&r.variant);
        }
    }
    let mut goals = Vec::new();
    for v in variants {
        let name = format!("{workload} {v}: GPU / threaded");
        // (work, ratio, size, cpu threads) per size both ran, in the order of the rows.
        let pairs: Vec<(f64, f64, &str, usize)> = rows
            .iter()
            .filter(|g| on(g, "gpu", workload) && g.variant == v)
            .filter_map(|g| {
                let c = rows
                    .iter()
                    .find(|c| on(c, "threaded", workload) && c.variant == v && c.size == g.size)?;
                Some((g.work, g.throughput() / c.throughput(), g.size.as_str(), c.threads))
            })
            .collect();
        let Some(&(_, ratio, size, threads)) = pairs.iter().max_by(|a, b| a.0.total_cmp(&b.0)) else {
            goals.push(goal(
                name,
                target.clone(),
                None,
                Verdict::NotJudged,
                "no threaded row of the same size".into(),
            ));
            continue;
        };
        let sizes: Vec<String> =
            pairs.iter().map(|&(_, r, s, _)| format!("{s}: {}x", fig(Some(r)))).collect();
        // More CPU threads than the goal's only make a met goal safer, fewer only make a
        // missed one surer; any other answer would need the 2-thread row.
        let met = ratio >= W45_RATIO;
        let decided =
            threads == CPU_THREADS || (threads > CPU_THREADS && met) || (threads < CPU_THREADS && !met);
        let verdict = if decided { at_least(ratio, W45_RATIO) } else { Verdict::NotJudged };
        let mut detail = format!("largest size {size} against {threads} CPU threads; {}", sizes.join(", "));
        if verdict == Verdict::NotJudged {
            detail.push_str(&format!("; rerun with --threads {CPU_THREADS} to judge"));
        }
        goals.push(goal(name, target.clone(), Some(ratio), verdict, detail));
    }
    goals
}

/// The goals, when the run has GPU rows (else none).
pub fn judge(m: &Machine, rows: &[Row]) -> Vec<Goal> {
    if !rows.iter().any(|r| r.backend == "gpu") {
        return Vec::new();
    }
    let mut goals = vec![w1(rows), w3(m, rows)];
    goals.extend(speedups(rows, "W4"));
    goals.extend(speedups(rows, "W5"));
    // The driver's device name (the GPU bandwidth run), else nvidia-smi's.
    let device = m.gpu_stream.as_ref().map(|g| g.name.as_str()).or(m.gpu.as_deref());
    if let Some(name) = device.filter(|n| n.starts_with(STAND_IN_PREFIX)) {
        for g in &mut goals {
            g.verdict = Verdict::NotJudged;
            g.detail = format!("{}; not judged: the GPU backend ran on \"{name}\"", g.detail);
        }
    }
    goals
}

/// The goals as text lines (empty when there are none).
pub fn summary(goals: &[Goal]) -> String {
    if goals.is_empty() {
        return String::new();
    }
    let mut s = String::from("GPU speed goals (the GPU issue), from this run's rows:\n");
    for g in goals {
        let measured = match g.measured {
            Some(x) if x >= 1e4 => format!("{x:.3e}"),
            x => fig(x),
        };
        s.push_str(&format!(
            "  {:<11} {} — {measured} (goal {}): {}\n",
            g.verdict.name().to_uppercase(),
            g.name,
            g.target,
            g.detail
        ));
    }
    s
}

/// The goals as a JSON array (the report's top-level `gpu_goals`, present when the run
/// has GPU rows).
pub fn to_json(goals: &[Goal]) -> Value {
    goals
        .iter()
        .map(|g| {
            json!({
                "name": g.name,
                "target": g.target,
                "measured": g.measured,
                "verdict": g.verdict.name(),
                "detail": g.detail,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::report::Check;
    use super::super::stream::Traffic;
    use super::super::timing::Stats;
    use super::super::{gpu_stream, machine};
    use super::*;

    fn row(
        workload: &'static str,
        variant: &str,
        backend: &str,
        threads: usize,
        size: &str,
        work: f64,
    ) -> Row {
        Row {
            workload,
            variant: variant.into(),
            backend: backend.into(),
            threads,
            size: size.into(),
            note: None,
            stats: Stats::of(&[1.0]),
            work,
            unit: "x/s",
            bytes: None,
            flops: None,
            check: Check::new(true, "ok"),
            tile: None,
        }
    }

    fn gpu_machine(name: &str) -> Machine {
        let mut m = machine::fake();
        let mut g = gpu_stream::fake();
        g.name = name.into();
        m.gpu_stream = Some(g);
        m
    }

    fn find<'a>(goals: &'a [Goal], name: &str) -> &'a Goal {
        goals.iter().find(|g| g.name.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {goals:?}"))
    }

    #[test]
    fn no_gpu_rows_no_goals() {
        let rows = [row("W1", "pi", "threaded", 2, "N=1", 1e9)];
        assert!(judge(&machine::fake(), &rows).is_empty());
        assert_eq!(summary(&[]), "");
    }

    #[test]
    fn each_goal_is_judged_from_the_right_rows() {
        let mut pregen_small = row("W3", "validate pregen", "gpu", 1, "G=1", 1.0);
        pregen_small.bytes = Some((1e9, Traffic::Read)); // 1 GB/s: far below
        let mut pregen_large = row("W3", "validate pregen", "gpu", 1, "G=2", 1.0);
        pregen_large.bytes = Some((2.8e12, Traffic::Read)); // 2800 GB/s of 3352: 83.5 %
        let mut failed = row("W1", "pi", "gpu", 1, "N=3", 9e11);
        failed.check = Check::new(false, "bad");
        let rows = vec![
            row("W1", "pi", "gpu", 1, "N=1", 1e11),
            row("W1", "pi", "gpu", 1, "N=2", 3e11),
            row("W1", "Philox only", "gpu", 1, "N=2", 9e11),
            failed,
            pregen_small,
            pregen_large,
            // W4 instant: 25x at the larger size, 2x at the small one, vs 2 threads.
            row("W4", "instant", "threaded", 2, "B=8", 1e8),
            row("W4", "instant", "gpu", 1, "B=8", 2e8),
            row("W4", "instant", "threaded", 2, "B=1024", 1e8),
            row("W4", "instant", "gpu", 1, "B=1024", 2.5e9),
            row("W4", "noise only", "threaded", 2, "B=8", 1e8),
            // W5 at 10x: short.
            row("W5", "sweep", "threaded", 2, "B=1152", 1e8),
            row("W5", "sweep", "gpu", 1, "B=1152", 1e9),
        ];
        let goals = judge(&gpu_machine("NVIDIA H100"), &rows);
        let w1 = find(&goals, "W1");
        assert_eq!((w1.measured, w1.verdict), (Some(3e11), Verdict::Met), "{w1:?}");
        let w3 = find(&goals, "W3");
        assert!((w3.measured.unwrap() - 2800.0 / 3352.0 * 100.0).abs() < 1e-9, "{w3:?}");
        assert_eq!(w3.verdict, Verdict::Met);
        let w4 = find(&goals, "W4 instant");
        assert_eq!((w4.measured, w4.verdict), (Some(25.0), Verdict::Met), "{w4:?}");
        assert!(w4.detail.contains("B=8: 2.00x") && w4.detail.contains("B=1024: 25.00x"), "{w4:?}");
        assert!(!goals.iter().any(|g| g.name.contains("noise only")), "{goals:?}");
        let w5 = find(&goals, "W5");
        assert_eq!((w5.measured, w5.verdict), (Some(10.0), Verdict::Short), "{w5:?}");
        assert_eq!(goals.len(), 4);
        let text = summary(&goals);
        assert!(text.contains("MET") && text.contains("SHORT"), "{text}");
        assert_eq!(to_json(&goals).as_array().map(Vec::len), Some(4));
    }

    #[test]
    fn the_cpu_side_must_be_two_threads_unless_the_answer_is_already_clear() {
        let pair = |threads, gpu| {
            let rows = [
                row("W5", "sweep", "threaded", threads, "B=1", 1e8),
                row("W5", "sweep", "gpu", 1, "B=1", gpu),
            ];
            find(&judge(&gpu_machine("NVIDIA H100"), &rows), "W5").verdict
        };
        assert_eq!(pair(16, 3e9), Verdict::Met); // 30x 16 threads: more than 20x two
        assert_eq!(pair(16, 1e9), Verdict::NotJudged); // 10x 16 threads says nothing of two
        assert_eq!(pair(1, 1e9), Verdict::Short); // 10x one thread: less against two
        assert_eq!(pair(1, 3e9), Verdict::NotJudged);
        assert_eq!(pair(2, 1.9e9), Verdict::Short);
    }

    #[test]
    fn missing_rows_and_the_stand_in_are_not_judged() {
        let rows = [row("W5", "sweep", "gpu", 1, "B=1", 1e9)];
        let goals = judge(&gpu_machine("NVIDIA H100"), &rows);
        assert!(goals.iter().all(|g| g.verdict == Verdict::NotJudged), "{goals:?}");
        let rows = [row("W1", "pi", "gpu", 1, "N=1", 3e11)];
        let goals = judge(&gpu_machine("simlanes CUDA stand-in (kernels on the host CPU, not a GPU)"), &rows);
        let w1 = find(&goals, "W1");
        assert_eq!(w1.verdict, Verdict::NotJudged);
        assert!(w1.detail.contains("stand-in"), "{w1:?}");
    }
}
