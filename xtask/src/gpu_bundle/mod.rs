//! `cargo xtask gpu-bundle`: everything a GPU verification runs, prebuilt, in one folder
//! that a machine with a GPU but no Rust runs with one command (`./run.sh`).
//!
//! Why: the GPU machines this project is lent have the NVIDIA driver and Python but no Rust
//! and no network, and device time is short; `scripts/gpu-check.sh` needs cargo. The
//! bundle holds the GPU test binaries (`gpu_emulator`, `gpu_agreement`, `gpu_calibrate`,
//! `gpu_stream`, built by `cargo test --workspace --no-run`, the same build as the README's
//! test command, so CI reuses it), this very `xtask` binary (for `bench --backend
//! threaded,gpu` and `bench --verify`), [`RUN_SH`], a `MANIFEST.txt` (commit, build
//! flags, the PTX source hashes, every file's SHA-256) and, when `.ci/python` has built
//! the wheel, `python/`: the wheel and the tests against real JAX (run by `run.sh` where
//! `python3` has jax and pytest, as the GPU machines do). The PTX is embedded in the binaries
//! (`include_str!`), so nothing else travels. Debug info is stripped (`objcopy
//! --strip-debug`, when present) to keep the bundle small enough to carry.
//!
//! The folder is assembled beside its destination and renamed into place, so a failed
//! build never leaves a half-written bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::ptx::{ARCHES, root, sha256, stamp};

/// The test binaries the bundle carries, in the order `run.sh` runs them.
pub const TESTS: &[&str] = &["gpu_emulator", "gpu_agreement", "gpu_calibrate", "gpu_stream"];

/// The bundle's runner (`run.sh`): runs the tests, then the GPU benchmark.
pub const RUN_SH: &str = include_str!("run.sh");

/// Options of `cargo xtask gpu-bundle`.
#[derive(clap::Args)]
pub struct GpuBundleArgs {
    /// Where to write the bundle (default `target/gpu-bundle`); an existing bundle there
    /// is replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Builds the bundle.
pub fn run(args: GpuBundleArgs) -> Result<ExitCode, String> {
    portable_build(cfg!(target_feature = "avx512f"), |k| std::env::var_os(k).is_some())?;
    let root = root();
    let dest = args.out.unwrap_or_else(|| root.join("target/gpu-bundle"));
    println!("==> cargo test --workspace --no-run (the GPU test binaries)");
    let tests = build_tests(&root)?;
    let xtask = std::env::current_exe().map_err(|e| format!("cannot locate the xtask binary: {e}"))?;

    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let staging = parent.join(".gpu-bundle.partial");
    let _ = std::fs::remove_dir_all(&staging);
    let result = assemble(&root, &staging, &tests, &xtask);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&staging, &dest)
        .map_err(|e| format!("{} → {}: {e}", staging.display(), dest.display()))?;
    let bytes: u64 = walk_sizes(&dest);
    println!(
        "gpu-bundle: {} ({:.1} MiB). On a GPU machine (driver only, no Rust): {}/run.sh [--size seed|sweep]",
        dest.display(),
        bytes as f64 / (1 << 20) as f64,
        dest.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Variables that replace the `-C target-cpu=x86-64-v3` of `.cargo/config.toml`.
const FLAG_OVERRIDES: [&str; 3] =
    ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS"];

/// The bundle's binaries run on another machine (the GPU host), so they must be the
/// portable x86-64-v3 build: refuses an xtask built for AVX-512 (`avx512_build`) and
/// rustflags from the environment (`is_set`), which would reach the test binaries too.
fn portable_build(avx512_build: bool, is_set: impl Fn(&str) -> bool) -> Result<(), String> {
    let set: Vec<&str> = FLAG_OVERRIDES.iter().copied().filter(|k| is_set(k)).collect();
    if avx512_build || !set.is_empty() {
        return Err(format!(
            "gpu-bundle makes portable x86-64-v3 binaries for the GPU host, but {}: run \
             `cargo xtask gpu-bundle` with the flags of .cargo/config.toml and no RUSTFLAGS (the \
             GPU host's CPU may lack AVX-512)",
            if set.is_empty() {
                "this xtask was built for AVX-512".to_string()
            } else {
                format!("{} is set", set.join(", "))
            }
        ));
    }
    Ok(())
}

/// Runs `cargo test --workspace --no-run` and returns the executables of [`TESTS`].
fn build_tests(root: &Path) -> Result<BTreeMap<String, PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["test", "--workspace", "--no-run", "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo test --no-run failed ({})", out.status));
    }
    test_executables(&String::from_utf8_lossy(&out.stdout))
}

/// The executables of [`TESTS`] among cargo's JSON messages (one object per line;
/// `compiler-artifact` messages of test targets carry `target.name` and `executable`).
/// Fails naming any test that is missing.
pub fn test_executables(messages: &str) -> Result<BTreeMap<String, PathBuf>, String> {
    let mut found = BTreeMap::new();
    for line in messages.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if v["reason"] != "compiler-artifact" || v["profile"]["test"] != true {
            continue;
        }
        let (Some(name), Some(exe)) = (v["target"]["name"].as_str(), v["executable"].as_str()) else {
            continue;
        };
        if TESTS.contains(&name) {
            found.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    let missing: Vec<&str> = TESTS.iter().copied().filter(|t| !found.contains_key(*t)).collect();
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(format!("cargo built no executable for the test(s) {}", missing.join(", ")))
    }
}

/// Writes the bundle into `dir`.
fn assemble(root: &Path, dir: &Path, tests: &BTreeMap<String, PathBuf>, xtask: &Path) -> Result<(), String> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    for (name, exe) in tests {
        copy_stripped(exe, &bin.join(name))?;
    }
    copy_stripped(xtask, &bin.join("xtask"))?;
    add_python_check(root, dir)?;
    let run_sh = dir.join("run.sh");
    std::fs::write(&run_sh, RUN_SH).map_err(|e| format!("{}: {e}", run_sh.display()))?;
    make_executable(&run_sh)?;
    let manifest = manifest(root, dir)?;
    std::fs::write(dir.join("MANIFEST.txt"), manifest).map_err(|e| format!("MANIFEST.txt: {e}"))
}

/// The Python files of the optional JAX check, from `crates/simlanes-py/tests/`.
pub const PYTHON_TESTS: &[&str] = &["test_with_jax.py", "_reference.py"];

/// The timing comparison with JAX that `run.sh` runs on the GPU, from `scripts/`.
pub const PYTHON_BENCH: &str = "bench_vs_jax.py";

/// Adds `python/`: the Python wheel `.ci/python` built (abi3, any CPython ≥ 3.9) and the
/// tests that compare simlanes with real JAX, so that `run.sh` can check the JAX stream
/// mode against the JAX version installed on the GPU machine. Left out, saying so, when
/// no wheel has been built.
fn add_python_check(root: &Path, dir: &Path) -> Result<(), String> {
    let wheels = root.join("target/python-ci/wheels");
    let wheel = std::fs::read_dir(&wheels)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let Some(wheel) = wheel else {
        println!(
            "    no Python wheel in {} (run `bash .ci/python` first): the bundle's JAX check is left out",
            wheels.display()
        );
        return Ok(());
    };
    let py = dir.join("python");
    std::fs::create_dir_all(&py).map_err(|e| format!("{}: {e}", py.display()))?;
    let name = wheel.file_name().unwrap_or_default();
    std::fs::copy(&wheel, py.join(name)).map_err(|e| format!("{}: {e}", wheel.display()))?;
    for t in PYTHON_TESTS {
        let src = root.join("crates/simlanes-py/tests").join(t);
        std::fs::copy(&src, py.join(t)).map_err(|e| format!("{}: {e}", src.display()))?;
    }
    let src = root.join("scripts").join(PYTHON_BENCH);
    std::fs::copy(&src, py.join(PYTHON_BENCH)).map_err(|e| format!("{}: {e}", src.display()))?;
    println!("    added {}, the JAX equality tests and {PYTHON_BENCH}", Path::new(name).display());
    Ok(())
}

/// Copies `src` to `dst` without debug info (`objcopy --strip-debug`), or as is when
/// objcopy is missing or fails.
fn copy_stripped(src: &Path, dst: &Path) -> Result<(), String> {
    let stripped = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(src)
        .arg(dst)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(src, dst).map_err(|e| format!("{} → {}: {e}", src.display(), dst.display()))?;
    }
    make_executable(dst)
}

#[cfg(unix)]
fn make_executable(p: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", p.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<(), String> {
    Ok(())
}

/// What the bundle was built from: commit, toolchain and flags, the checked-in PTX's
/// source hashes, and each file's size and SHA-256.
fn manifest(root: &Path, dir: &Path) -> Result<String, String> {
    let cmd_line = |prog: &str, args: &[&str]| -> String {
        Command::new(prog)
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    let dirty = cmd_line("git", &["status", "--porcelain", "--untracked-files=no"]);
    let mut m = String::from("simlanes GPU bundle (`cargo xtask gpu-bundle`)\n");
    m += &format!(
        "commit: {}{}\n",
        cmd_line("git", &["rev-parse", "HEAD"]),
        if dirty.is_empty() || dirty == "unknown" { "" } else { " (with uncommitted changes)" }
    );
    m += &format!("rustc: {}\n", cmd_line("rustc", &["-V"]));
    m += "host flags: -C target-cpu=x86-64-v3 (.cargo/config.toml); the binaries stop with a clear message on a CPU without AVX2+FMA\n";
    for (arch, file) in ARCHES {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        let hash = stamp::recorded_hash(&text).unwrap_or("missing");
        m += &format!("ptx {arch}: {file}, source-sha256 {hash}\n");
    }
    let mut files = bundle_files(dir)?;
    files.sort();
    for f in files {
        let data = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let rel = f.strip_prefix(dir).unwrap_or(&f).display().to_string();
        m += &format!("file: {rel} {} bytes sha256 {}\n", data.len(), sha256::hex_digest(&data));
    }
    Ok(m)
}

/// Every file of the bundle in `dir` (the manifest excepted), through the PTX stamp's
/// own directory walk.
fn bundle_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = vec![dir.join("run.sh")];
    for sub in ["bin", "python"].map(|s| dir.join(s)).into_iter().filter(|d| d.is_dir()) {
        stamp::collect(&sub, &mut files).map_err(|e| format!("{}: {e}", sub.display()))?;
    }
    Ok(files)
}

fn walk_sizes(dir: &Path) -> u64 {
    let manifest = dir.join("MANIFEST.txt");
    bundle_files(dir)
        .unwrap_or_default()
        .iter()
        .chain([&manifest])
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_only_portable_builds() {
        assert!(portable_build(false, |_| false).is_ok());
        let e = portable_build(true, |_| false).unwrap_err();
        assert!(e.contains("built for AVX-512"), "{e}");
        let e = portable_build(false, |k| k == "RUSTFLAGS").unwrap_err();
        assert!(e.contains("RUSTFLAGS is set"), "{e}");
    }

    fn artifact(name: &str, test: bool, exe: Option<&str>) -> String {
        serde_json::json!({
            "reason": "compiler-artifact",
            "target": { "name": name, "kind": ["test"] },
            "profile": { "test": test },
            "executable": exe,
        })
        .to_string()
    }

    #[test]
    fn finds_every_gpu_test_among_cargo_messages() {
        let mut lines = vec![
            "not json".to_string(),
            artifact("w1_pi", true, Some("/t/w1_pi-1")),
            artifact("simlanes", false, None),
            serde_json::json!({"reason": "build-finished", "success": true}).to_string(),
        ];
        for t in TESTS {
            lines.push(artifact(t, true, Some(&format!("/t/{t}-abc"))));
        }
        let found = test_executables(&lines.join("\n")).expect("all found");
        assert_eq!(found.len(), TESTS.len());
        assert_eq!(found["gpu_stream"], PathBuf::from("/t/gpu_stream-abc"));
        assert!(!found.contains_key("w1_pi"));
    }

    #[test]
    fn names_the_missing_tests() {
        let lines =
            [artifact("gpu_emulator", true, Some("/t/e")), artifact("gpu_stream", false, Some("/t/s"))];
        let err = test_executables(&lines.join("\n")).unwrap_err();
        assert!(err.contains("gpu_agreement, gpu_calibrate, gpu_stream"), "{err}");
    }

    #[test]
    fn the_runner_runs_every_carried_test() {
        for t in TESTS {
            assert!(RUN_SH.contains(t), "run.sh does not run {t}");
        }
    }
}
