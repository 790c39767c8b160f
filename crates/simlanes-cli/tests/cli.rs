//! The `simlanes` binary end to end: a small grid round-trips through `calibrate` and
//! `validate` (CSV and JSON) and agrees with the library; every bad input exits with code 2
//! and a message naming the row or flag; a failed run leaves no output file.

use simlanes::calibration::binomial::BinomialModel;
use simlanes::calibration::{Grid, Tiling, calibrate, validate};
use simlanes::{Backend, Simulator, ThreadConfig};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("simlanes-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_simlanes")).args(args).output().expect("binary runs")
}

const GRID: &str =
    "theta0,theta1,theta2,theta3,label\n0.1,0.2,0.3,0.4,a\n-0.5,0,0.5,1,b\n0.9,0.9,0.9,0.9,c\n";

#[test]
fn calibrate_and_validate_round_trip_a_small_grid() {
    let d = dir("roundtrip");
    let grid = d.join("grid.csv");
    std::fs::write(&grid, GRID).unwrap();
    let out = d.join("cal.csv");
    let g = grid.to_str().unwrap();
    let o = run(&[
        "calibrate",
        "--grid",
        g,
        "-n",
        "5",
        "-K",
        "999",
        "--seed",
        "3",
        "--threads",
        "2",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "theta0,theta1,theta2,theta3,null,lambda_star");
    assert_eq!(lines.len(), 4);
    // The library's answer for the same grid and settings.
    let theta = vec![0.1, 0.2, 0.3, 0.4, -0.5, 0.0, 0.5, 1.0, 0.9, 0.9, 0.9, 0.9];
    let grid_lib = Grid::new(4, theta).unwrap();
    let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2))).unwrap();
    let m = BinomialModel::new(3, 5, 4).unwrap();
    let c = calibrate(&sim, &m, &grid_lib, 0.025, 999, Tiling::default()).unwrap();
    for (line, l) in lines[1..].iter().zip(&c.lambda) {
        let got: f32 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert_eq!(got, *l, "{line}");
    }
    // validate at the calibrated minimum: JSON, counts equal to the library's.
    let lam = c.min_lambda.to_string();
    let o = run(&[
        "validate", "--grid", g, "-n", "5", "-K", "999", "--seed", "3", "--lambda", &lam, "--format", "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = validate(&sim, &m, &grid_lib, f64::from(c.min_lambda), 0.01, 999, Tiling::default()).unwrap();
    let pts = doc["points"].as_array().unwrap();
    assert_eq!(pts.len(), 3);
    for (p, want) in pts.iter().zip(&v.points) {
        assert_eq!(p["count"].as_u64(), Some(want.count));
        assert_eq!(p["upper"].as_f64(), Some(want.upper));
    }
    assert_eq!(pts[1]["point"]["theta2"].as_f64(), Some(0.5));
    // Rejections at λ* stay at or below m − 1 = ⌊1000·0.025⌋ − 1 at every point.
    assert!(v.points.iter().all(|p| p.count < 25));
}

#[test]
fn ztest_model_and_null_column() {
    let d = dir("ztest");
    let grid = d.join("z.csv");
    std::fs::write(&grid, "mu_control,mu_treatment,null\n0,0,true\n0,0.5,false\n0.3,0.3,1\n").unwrap();
    let o = run(&[
        "calibrate",
        "--model",
        "ztest",
        "--grid",
        grid.to_str().unwrap(),
        "-n",
        "20",
        "-K",
        "4000",
        "--format",
        "json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pts = doc["points"].as_array().unwrap();
    assert!(pts[1]["lambda_star"].is_null());
    let l0 = pts[0]["lambda_star"].as_f64().unwrap();
    assert_eq!(pts[2]["lambda_star"].as_f64(), Some(l0), "same effect, same threshold");
    assert!((l0 + 1.96).abs() < 0.2, "{l0}");
    assert!(o.stderr.is_empty(), "quiet");
}

#[test]
fn bad_inputs_exit_2_naming_the_row_or_flag() {
    let d = dir("bad");
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = write("good.csv", GRID);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "validate".into(),
                "--grid".into(),
                write("nan.csv", "theta0,theta1\n1,2\n0,NaN\n"),
                "--lambda".into(),
                "0.5".into(),
            ],
            "row 2",
        ),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                write("inf.csv", "theta0\ninf\n"),
                "--lambda".into(),
                "0.5".into(),
            ],
            "row 1",
        ),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                write("empty.csv", "theta0,theta1\n"),
                "--lambda".into(),
                "0.5".into(),
            ],
            "no points",
        ),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                write("nothing.csv", ""),
                "--lambda".into(),
                "0.5".into(),
            ],
            "empty",
        ),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                write("ragged.csv", "theta0,theta1\n1,2\n3\n"),
                "--lambda".into(),
                "0.5".into(),
            ],
            "row 2",
        ),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                write("text.csv", "theta0\nabc\n"),
                "--lambda".into(),
                "0.5".into(),
            ],
            "not a number",
        ),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                write("notheta.csv", "x,y\n1,2\n"),
                "--lambda".into(),
                "0.5".into(),
            ],
            "theta",
        ),
        (vec!["validate".into(), "--grid".into(), good.clone(), "--lambda".into(), "NaN".into()], "--lambda"),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                good.clone(),
                "--lambda".into(),
                "0.5".into(),
                "--delta".into(),
                "1".into(),
            ],
            "--delta",
        ),
        (
            vec![
                "validate".into(),
                "--grid".into(),
                good.clone(),
                "--lambda".into(),
                "0.5".into(),
                "--delta".into(),
                "0".into(),
            ],
            "--delta",
        ),
        (vec!["calibrate".into(), "--grid".into(), good.clone(), "--alpha".into(), "0".into()], "--alpha"),
        (vec!["calibrate".into(), "--grid".into(), good.clone(), "--alpha".into(), "1.5".into()], "--alpha"),
        // Negative values reach the range check (clap took them for flags before).
        (
            vec!["calibrate".into(), "--grid".into(), good.clone(), "--alpha".into(), "-0.1".into()],
            "--alpha must",
        ),
        (vec!["calibrate".into(), "--grid".into(), good.clone(), "-K".into(), "0".into()], "--sims"),
        (
            vec!["calibrate".into(), "--grid".into(), good.clone(), "--model".into(), "ztest".into()],
            "mu_control",
        ),
        (
            vec!["calibrate".into(), "--grid".into(), d.join("missing.csv").to_str().unwrap().into()],
            "cannot read",
        ),
    ];
    let out = d.join("out.csv");
    for (mut args, needle) in cases {
        args.extend(["-o".to_string(), out.to_str().unwrap().to_string()]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&refs);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(!out.exists(), "{args:?} left an output file");
    }
    // Nothing half-written: no temporary files remain either.
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| n.to_string_lossy().ends_with(".csv")), "{left:?}");
}

#[test]
fn help_explains_the_statistics() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let h = String::from_utf8_lossy(&o.stdout);
    for w in ["Clopper-Pearson", "alpha", "lambda", "common random numbers", "theta0", "mu_control"] {
        assert!(h.contains(w), "--help lacks {w}");
    }
    let o = run(&["calibrate", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--sims"));
}

#[test]
fn jax_key_gives_the_counts_of_the_jax_array() {
    use simlanes::workload::binomial::Uniforms;
    use simlanes::workload::jax::{JaxKey, Layout, binomial_uniforms_from_jax_key};
    let d = dir("jaxkey");
    let grid = d.join("grid.csv");
    std::fs::write(&grid, GRID).unwrap();
    let g = grid.to_str().unwrap();
    let theta = vec![0.1, 0.2, 0.3, 0.4, -0.5, 0.0, 0.5, 1.0, 0.9, 0.9, 0.9, 0.9];
    let grid_lib = Grid::new(4, theta).unwrap();
    let sim = Simulator::new(Backend::Simd).unwrap();
    for (legacy, layout) in [(false, Layout::Partitionable), (true, Layout::Legacy)] {
        let mut args =
            vec!["validate", "--grid", g, "-n", "20", "-K", "777", "--jax-key", "-3", "--lambda", "0.55"];
        args.extend(["--format", "json", "-q"]);
        if legacy {
            args.push("--jax-legacy");
        }
        let o = run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        // The library on the materialised jax.random.uniform(jax.random.key(-3), (777, 20, 4)).
        let key = JaxKey::new(-3).unwrap().with_layout(layout);
        let u = binomial_uniforms_from_jax_key(key, 777, 20, 4).unwrap();
        let m = BinomialModel::new(0, 20, 4).unwrap().with_uniforms(Uniforms::Pregenerated(&u));
        let v = validate(&sim, &m, &grid_lib, 0.55, 0.01, 777, Tiling::default()).unwrap();
        let pts = doc["points"].as_array().unwrap();
        for (p, want) in pts.iter().zip(&v.points) {
            assert_eq!(p["count"].as_u64(), Some(want.count), "{layout:?}");
        }
        assert!(v.points.iter().any(|p| p.count > 0 && p.count < 777), "a non-trivial check");
    }
    // Binomial only, and not with --seed; --jax-legacy needs --jax-key.
    for bad in [
        vec!["validate", "--grid", g, "--lambda", "0.5", "--jax-key", "1", "--seed", "2"],
        vec!["validate", "--grid", g, "--lambda", "0.5", "--jax-legacy"],
    ] {
        assert_eq!(run(&bad).status.code(), Some(2), "{bad:?}");
    }
    let z = d.join("z.csv");
    std::fs::write(&z, "mu_control,mu_treatment\n0,0\n").unwrap();
    let o = run(&[
        "validate",
        "--model",
        "ztest",
        "--grid",
        z.to_str().unwrap(),
        "--lambda",
        "-1.9",
        "--jax-key",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--jax-key"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn bom_headers_symlinks_and_fifos() {
    let d = dir("dest");
    // A UTF-8 byte order mark (spreadsheet CSV) is not part of the first column's name:
    // all four theta columns are read, as without it.
    let (plain, bom) = (d.join("plain.csv"), d.join("bom.csv"));
    std::fs::write(&plain, GRID).unwrap();
    std::fs::write(&bom, format!("\u{feff}{GRID}")).unwrap();
    let cal = |grid: &PathBuf, out: &str| {
        run(&[
            "calibrate",
            "--grid",
            grid.to_str().unwrap(),
            "-n",
            "3",
            "-K",
            "99",
            "--threads",
            "1",
            "-o",
            out,
        ])
    };
    let (a, b) = (d.join("a.csv"), d.join("b.csv"));
    assert!(cal(&plain, a.to_str().unwrap()).status.success());
    assert!(cal(&bom, b.to_str().unwrap()).status.success());
    let a_text = std::fs::read_to_string(&a).unwrap();
    assert_eq!(a_text, std::fs::read_to_string(&b).unwrap());
    assert!(a_text.starts_with("theta0,theta1,theta2,theta3,"), "{a_text}");

    // `-o` through a symlink writes its target and keeps the link.
    #[cfg(unix)]
    {
        let target = d.join("target.csv");
        std::fs::write(&target, "old").unwrap();
        let link = d.join("link.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(cal(&plain, link.to_str().unwrap()).status.success());
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), a_text);

        // A FIFO is written in place, not replaced by a regular file.
        let fifo = d.join("fifo");
        assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        assert!(cal(&plain, fifo.to_str().unwrap()).status.success());
        assert_eq!(reader.join().unwrap(), a_text);
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");

        // A directory is refused before any work.
        let o = cal(&plain, d.to_str().unwrap());
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("directory"));
    }
}
