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

/// Writes `text` to `name` in `d`; returns the path as a string.
fn put(d: &std::path::Path, name: &str, text: &str) -> String {
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small calibration: binomial, n = 5, K = 99, fixed tiles (no autotuning).
fn small(args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["-n", "5", "-K", "99", "--threads", "1", "--grid-tile", "64", "--sim-tile", "64"]);
    run(&all)
}

/// Peak resident memory (KiB) of the binary run with `args`.
#[cfg(target_os = "linux")]
fn peak_rss_kib(args: &[&str]) -> i64 {
    #[expect(clippy::zombie_processes, reason = "reaped by wait4 below, which reports its resource usage")]
    let child = Command::new(env!("CARGO_BIN_EXE_simlanes"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 reaps exactly this child (never waited on
    // through `child`).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{args:?}: {status}");
    usage.ru_maxrss
}

#[test]
#[cfg(target_os = "linux")]
fn json_output_is_streamed_not_built_in_memory() {
    let d = dir("jsonmem");
    let mut text = String::from("theta0,theta1\n");
    for i in 0..100_000 {
        text.push_str(&format!("{},{}\n", (i % 97) as f64 / 100.0, -((i % 89) as f64) / 100.0));
    }
    let g = put(&d, "big.csv", &text);
    let args = |format: &'static str, out: &'static str| {
        let out = d.join(out).to_str().unwrap().to_string();
        let v: Vec<String> = [
            "calibrate",
            "--grid",
            &g,
            "-n",
            "3",
            "-K",
            "8",
            "--threads",
            "1",
            "--grid-tile",
            "1024",
            "--sim-tile",
            "8",
            "-q",
            "--format",
            format,
            "-o",
            &out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v
    };
    let rss = |v: Vec<String>| peak_rss_kib(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let csv = rss(args("csv", "o.csv"));
    let json = rss(args("json", "o.json"));
    // Before: the whole document as a serde_json::Value tree, then as a String (~3.5 KB per
    // point, 350 MB here). Now the JSON run needs what the CSV run needs.
    assert!(json < csv + 30_000, "JSON peak {json} KiB, CSV peak {csv} KiB");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("o.json")).unwrap()).unwrap();
    assert_eq!(doc["points"].as_array().unwrap().len(), 100_000);
    assert_eq!(doc["points"][1]["point"]["theta1"].as_f64(), Some(-0.01));
    assert!(doc["min_lambda_star"].as_f64().is_some());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn lambda_prints_the_same_in_csv_and_json() {
    let d = dir("f32");
    let g = put(&d, "g1.csv", "theta0,theta1\n0,0\n0.1,-0.2\n");
    let o = run(&["calibrate", "--grid", &g, "-n", "3", "-K", "200", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let from_csv: Vec<&str> = csv.lines().skip(1).map(|l| l.rsplit(',').next().unwrap()).collect();
    let o = run(&["calibrate", "--grid", &g, "-n", "3", "-K", "200", "-q", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap();
    // The raw JSON number is the CSV's f32 shortest form, not the f32 widened to f64.
    for l in &from_csv {
        assert!(text.contains(&format!("\"lambda_star\": {l}}}")), "{l} not in {text}");
        assert!(l.parse::<f32>().unwrap().to_string() == *l);
    }
    let min = from_csv.iter().map(|l| l.parse::<f32>().unwrap()).fold(f32::INFINITY, f32::min);
    assert!(text.contains(&format!("\"min_lambda_star\": {min},")), "{text}");
    // validate: --lambda 0.1 reads back as 0.1, not 0.10000000149011612.
    let o =
        run(&["validate", "--grid", &g, "-n", "3", "-K", "200", "-q", "--lambda", "0.1", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("\"lambda\": 0.1,"), "{text}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap()["lambda"].as_f64(), Some(0.1));
    // NaN (a non-null point, and the minimum when no point is null) stays valid JSON: null.
    let z = put(&d, "z.csv", "mu_control,mu_treatment\n0,1\n");
    let o = run(&["calibrate", "--model", "ztest", "--grid", &z, "-K", "99", "-q", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["min_lambda_star"].is_null() && doc["argmin_row"].is_null());
    assert!(doc["points"][0]["lambda_star"].is_null());
}

#[test]
fn summary_file_gives_the_minimum_of_a_csv_run() {
    let d = dir("summary");
    let g = put(&d, "g.csv", GRID);
    let (out, sum) = (d.join("cal.csv"), d.join("sum.csv"));
    let o = small(&[
        "calibrate",
        "--grid",
        &g,
        "-q",
        "-o",
        out.to_str().unwrap(),
        "--summary",
        sum.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stderr.is_empty());
    let text = std::fs::read_to_string(&sum).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "min_lambda_star,argmin_row,rank,sims,alpha");
    assert_eq!(lines.len(), 2, "{text}");
    let f: Vec<&str> = lines[1].split(',').collect();
    // The same as the JSON's, and the minimum of the CSV's column.
    let o = small(&["calibrate", "--grid", &g, "-q", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(f[0].parse::<f64>().ok(), doc["min_lambda_star"].as_f64());
    assert_eq!(f[1].parse::<u64>().ok(), doc["argmin_row"].as_u64());
    assert_eq!(f[2].parse::<u64>().ok(), doc["rank"].as_u64());
    assert_eq!((f[3], f[4]), ("99", "0.025"));
    let cal = std::fs::read_to_string(&out).unwrap();
    assert_eq!(cal.lines().count(), 4, "one row per point");
    let row: usize = f[1].parse().unwrap();
    assert_eq!(cal.lines().nth(row).unwrap().rsplit(',').next(), Some(f[0]));
    // Without -q, the stderr line has the minimum, its row and the rank.
    let o = small(&["calibrate", "--grid", &g]);
    assert!(
        stderr(&o).contains(&format!("min lambda* = {} (row {row}, rank m = {})", f[0], f[2])),
        "{}",
        stderr(&o)
    );
    // The same file twice is refused; --help documents the option.
    let o =
        small(&["calibrate", "--grid", &g, "-o", out.to_str().unwrap(), "--summary", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let h = run(&["calibrate", "--help"]);
    assert!(String::from_utf8_lossy(&h.stdout).contains("--summary"));
    assert!(String::from_utf8_lossy(&run(&["--help"]).stdout).contains("--summary"));
}

#[test]
fn quoted_csv_fields_are_read_as_rfc_4180() {
    let d = dir("quoted");
    let plain = small(&["calibrate", "--grid", &put(&d, "plain.csv", "theta0,theta1\n0,0\n0.5,-1\n")]);
    assert!(plain.status.success());
    // R's write.csv: everything quoted (and CRLF line ends).
    let r = put(&d, "r.csv", "\"theta0\",\"theta1\"\r\n\"0\",\"0\"\r\n\"0.5\",\"-1\"\r\n");
    let o = small(&["calibrate", "--grid", &r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, plain.stdout);
    // Embedded commas, doubled quotes and line breaks in an ignored column.
    let text = "theta0,theta1,name\n0,0,\"a,b\"\n0.5,-1,\"say \"\"hi\"\"\nover two lines\"\n";
    let o = small(&["calibrate", "--grid", &put(&d, "embedded.csv", text)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, plain.stdout);
    // Line numbers count the lines inside quotes.
    let o = small(&["calibrate", "--grid", &put(&d, "badafter.csv", &format!("{text}x,0,c\n"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("row 3 (line 5)"), "{}", stderr(&o));
    // A column name that needs quotes is quoted in the output.
    let o = small(&["calibrate", "--grid", &put(&d, "name.csv", "\"theta,a\",theta1\n0,0\n")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("\"theta,a\",theta1,null,lambda_star\n"));
    // Malformed quoting: exit 2 naming the line.
    for (text, needle) in [("theta0\n\"0\n1\n", "line 2"), ("theta0\n0\n\"1\"x\n", "line 3")] {
        let o = small(&["calibrate", "--grid", &put(&d, "bad.csv", text)]);
        assert_eq!(o.status.code(), Some(2), "{text:?}");
        assert!(stderr(&o).contains(needle), "{text:?}: {}", stderr(&o));
    }
}

#[test]
fn duplicate_columns_are_refused() {
    let d = dir("dup");
    for (model, text, needle) in [
        ("binomial", "theta0,theta0\n0,1\n", "`theta0` appears twice"),
        ("binomial", "theta0,THETA0\n0,1\n", "`THETA0` appears twice"),
        ("binomial", "theta0,null,null\n0,true,false\n", "`null` appears twice"),
        ("binomial", "theta0,null,NULL\n0,true,false\n", "`NULL` appears twice"),
        ("ztest", "mu_control,mu_treatment,mu_control\n0,0,1\n", "`mu_control` appears twice"),
    ] {
        let o = small(&["calibrate", "--model", model, "--grid", &put(&d, "g.csv", text)]);
        assert_eq!(o.status.code(), Some(2), "{text:?}");
        assert!(stderr(&o).contains(needle), "{text:?}: {}", stderr(&o));
    }
    // Columns the run does not read may repeat.
    let o = small(&["calibrate", "--grid", &put(&d, "g.csv", "theta0,x,x\n0,1,2\n")]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn null_column_name_is_case_insensitive() {
    let d = dir("nullcase");
    for name in ["NULL", "Null", "null"] {
        let g = put(&d, "g.csv", &format!("theta0,{name}\n0,false\n0.5,true\n"));
        let o = small(&["calibrate", "--grid", &g, "--format", "json", "-q"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(doc["points"][0]["lambda_star"].is_null(), "{name}: the first point is not null");
        assert_eq!(doc["argmin_row"].as_u64(), Some(2), "{name}");
    }
}

#[test]
fn value_errors_give_the_line() {
    let d = dir("lines");
    let g = put(&d, "g.csv", "theta0\n\n\n0.5\nabc\n");
    let o = small(&["calibrate", "--grid", &g]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("grid row 2 (line 5): column `theta0` is not a number"), "{}", stderr(&o));
    let g = put(&d, "n.csv", "theta0,null\n\n0.5,true\n0.5,maybe\n");
    let o = small(&["calibrate", "--grid", &g]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("grid row 2 (line 4): column `null`"), "{}", stderr(&o));
}

#[test]
fn output_path_problems_are_bad_input() {
    let d = dir("outpath");
    let g = put(&d, "g.csv", GRID);
    let missing = d.join("nodir").join("x.csv");
    for out in [missing.to_str().unwrap(), d.to_str().unwrap(), "."] {
        let o = small(&["calibrate", "--grid", &g, "-o", out]);
        assert_eq!(o.status.code(), Some(2), "{out}: {}", stderr(&o));
        assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    }
    // A dangling symlink: its target is created, the link stays.
    #[cfg(unix)]
    {
        let (target, link) = (d.join("target.csv"), d.join("link.csv"));
        std::os::unix::fs::symlink("target.csv", &link).unwrap();
        let o = small(&["calibrate", "--grid", &g, "-o", link.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        let want = small(&["calibrate", "--grid", &g]).stdout;
        assert_eq!(std::fs::read(&target).unwrap(), want);
        // A link into a missing directory is bad input, naming the target.
        let bad = d.join("bad.csv");
        std::os::unix::fs::symlink(d.join("nodir").join("t.csv"), &bad).unwrap();
        let o = small(&["calibrate", "--grid", &g, "-o", bad.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("t.csv"), "{}", stderr(&o));
    }
}

#[test]
#[cfg(unix)]
fn interrupted_write_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let d = dir("sigint");
    let mut text = String::from("theta0,theta1\n");
    for i in 0..1_000_000 {
        text.push_str(&format!("{},{}\n", (i % 1000) as f64 / 1000.0, -((i % 997) as f64) / 997.0));
    }
    let g = put(&d, "big.csv", &text);
    let out = d.join("out.csv");
    // SIGINT, and SIGTERM in case SIGINT is ignored here (a background job of a script).
    let mut hit = 0;
    for (attempt, sig) in [libc::SIGINT, libc::SIGTERM].into_iter().cycle().take(6).enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_simlanes"))
            .args(["calibrate", "--grid", &g, "-n", "5", "-K", "8", "--brute-force", "-q"])
            .args(["--grid-tile", "4096", "--sim-tile", "8", "-o", out.to_str().unwrap()])
            .spawn()
            .unwrap();
        let tmp = d.join(format!(".out.csv.tmp.{}", child.id()));
        // Signal once the write phase has begun (the temporary file has content).
        while child.try_wait().unwrap().is_none() {
            if std::fs::metadata(&tmp).is_ok_and(|m| m.len() > 0) {
                // SAFETY: a signal to our own child, which has not been reaped yet.
                assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
        let status = child.wait().unwrap();
        if status.signal() == Some(sig) {
            hit += 1;
            assert!(!tmp.exists(), "attempt {attempt}: {} left behind", tmp.display());
            assert!(!out.exists(), "attempt {attempt}: a partial output");
        }
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&tmp);
        if hit >= 3 {
            break;
        }
    }
    assert!(hit > 0, "never interrupted during the write");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn negative_option_values_are_accepted() {
    let d = dir("negative");
    let z = put(&d, "z1.csv", "mu_control,mu_treatment\n0,0\n");
    for lam in ["-.5", "-1.96", "-0.5e1"] {
        let o = run(&["validate", "--model", "ztest", "--grid", &z, "-K", "99", "-q", "--lambda", lam]);
        assert!(o.status.success(), "--lambda {lam}: {}", stderr(&o));
    }
    // -inf is a valid threshold (the engine's docs: nothing rejects), written with a hyphen.
    let o = run(&["validate", "--model", "ztest", "--grid", &z, "-K", "99", "-q", "--lambda", "-inf"]);
    assert!(o.status.success(), "--lambda -inf: {}", stderr(&o));
    // Columns mu_control,mu_treatment,null,count,...: no trial rejects.
    let row = String::from_utf8_lossy(&o.stdout).lines().nth(1).map(str::to_string);
    assert_eq!(row.as_deref().and_then(|l| l.split(',').nth(3)), Some("0"), "{row:?}");
    // NaN or out-of-range values reach the range checks, which name the flag.
    for (args, needle) in [
        (vec!["validate", "--lambda", "NaN"], "--lambda"),
        (vec!["validate", "--lambda", "0.5", "--delta", "-.5"], "--delta must"),
        (vec!["calibrate", "--alpha", "-.1"], "--alpha must"),
    ] {
        let mut all = args.clone();
        all.extend(["--model", "ztest", "--grid", &z]);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn library_errors_name_the_flags() {
    let d = dir("flags");
    let g = put(&d, "g1.csv", "theta0,theta1\n0,0\n0.1,-0.2\n");
    let tiles = ["--grid-tile", "64", "--sim-tile", "64", "-q"];
    let mut a = vec!["calibrate", "--grid", &g, "-K", "18446744073709551615"];
    a.extend(tiles);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--sims (-K) is too large"), "{}", stderr(&o));
    let mut a = vec!["calibrate", "--grid", &g, "-n", "16777216", "-K", "10"];
    a.extend(tiles);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("-n times the number of arms"), "{}", stderr(&o));
    assert!(!stderr(&o).contains('`'), "{}", stderr(&o));
}

#[test]
#[cfg(target_os = "linux")]
fn closed_stdout_is_an_error() {
    let d = dir("closed");
    let g = put(&d, "g1.csv", "theta0,theta1\n0,0\n0.1,-0.2\n");
    let o = Command::new("sh")
        .args(["-c", "exec \"$0\" \"$@\" >&-", env!("CARGO_BIN_EXE_simlanes")])
        .args(["validate", "--grid", &g, "--lambda", "0.5", "-n", "5", "-K", "99", "-q"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("standard output is closed"), "{}", stderr(&o));
    // With -o, a closed standard output does not matter.
    let out = d.join("v.csv");
    let o = Command::new("sh")
        .args(["-c", "exec \"$0\" \"$@\" >&-", env!("CARGO_BIN_EXE_simlanes")])
        .args(["validate", "--grid", &g, "--lambda", "0.5", "-n", "5", "-K", "99", "-q", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists());
    // Other write errors (a full disk) exit 1 too.
    if std::path::Path::new("/dev/full").exists() {
        let o = Command::new(env!("CARGO_BIN_EXE_simlanes"))
            .args(["validate", "--grid", &g, "--lambda", "0.5", "-n", "5", "-K", "99", "-q"])
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    }
}
