//! `cargo xtask ptx`: build the device kernels (`gpu-kernels`) to PTX for sm_80 and
//! sm_90, validate them, and write them to `gpu-kernels/ptx/` with a header stamping the
//! source hash and entry points ([`stamp`]). `--check` rebuilds and validates but writes
//! nothing, failing if the checked-in files were built from other sources or expose
//! other entry points — the CI guard that the committed PTX matches the code.
//!
//! Why this route (GPU_TOOLCHAIN.md): rustup's nvptx target is unreachable here, so the
//! build uses Debian's `rustc-web` (nvptx64 built in, LLVM 22, `rust-src` for
//! `-Zbuild-std=core`) driven by the stable cargo, with `RUSTC_BOOTSTRAP=1` for the
//! unstable flags, and the [`nvptx_ld`](../../nvptx_ld/index.html) shim as linker. All of
//! it is downloaded once into a cache ([`toolchain`]) — nothing is installed.
//!
//! Steps, each timed: toolchain → linker shim → per arch `cargo rustc -p gpu-kernels
//! --crate-type cdylib --target nvptx64-nvidia-cuda` (own target dir per arch) → ptxas +
//! instruction checks ([`validate`]) → entry points against `gpu_kernels::ENTRY_POINTS`
//! → write or compare.

pub(crate) mod sha256;
pub(crate) mod stamp;
mod toolchain;
mod validate;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use stamp::Entry;

/// GPU architectures the PTX is built for, with the file each is written to.
/// sm_80 PTX also runs on sm_90 and later (the driver JITs it); sm_90 is tuned for H100.
pub const ARCHES: &[(&str, &str)] =
    &[("sm_80", "gpu-kernels/ptx/simlanes_sm80.ptx"), ("sm_90", "gpu-kernels/ptx/simlanes_sm90.ptx")];

/// Options of `cargo xtask ptx`.
#[derive(clap::Args)]
pub struct PtxArgs {
    /// Rebuild and validate, then fail if the checked-in PTX was built from other sources
    /// or has other entry points/parameters (bytes are not compared). Writes nothing.
    #[arg(long)]
    pub check: bool,
    /// Where the toolchain is downloaded and unpacked (default: `$SIMLANES_PTX_CACHE`, else
    /// `.cache/ptx-toolchain`).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Parent of the per-arch nvptx target dirs (default `target/`).
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn step<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    println!("==> {what}");
    let t = Instant::now();
    let r = f();
    if r.is_ok() {
        println!("    {what}: done in {:.1} s", t.elapsed().as_secs_f64());
    }
    r
}

/// Builds the `nvptx-ld` linker shim (the second bin of this package) into
/// `TARGET/nvptx-tools/` and returns its path. It depends on `std` only, so a direct
/// `rustc -O` (about 3 s) avoids building the whole xtask dependency tree; an existing shim
/// newer than its source is reused.
fn build_linker_shim(target_parent: &Path) -> Result<PathBuf, String> {
    let src = root().join("xtask/src/ptx/nvptx_ld.rs");
    let dir = target_parent.join("nvptx-tools");
    let shim = dir.join("nvptx-ld");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(built), Some(source)) = (mtime(&shim), mtime(&src))
        && built >= source
    {
        println!("    reusing {}", shim.display());
        return Ok(shim);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let st = Command::new(rustc)
        .args(["--edition", "2024", "-O", "--crate-type", "bin", "--crate-name", "nvptx_ld"])
        .arg(&src)
        .arg("-o")
        .arg(&shim)
        .status()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    if !st.success() {
        return Err(format!("building the nvptx-ld linker shim failed ({st})"));
    }
    Ok(shim)
}

/// `cargo rustc` of gpu-kernels for one arch; returns the PTX path.
fn build_arch(
    tc: &toolchain::Toolchain,
    shim: &Path,
    arch: &str,
    target_parent: &Path,
) -> Result<PathBuf, String> {
    let target_dir = target_parent.join(format!("nvptx-{arch}"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root())
        .args(["rustc", "--release", "-p", "gpu-kernels", "--lib", "--crate-type", "cdylib"])
        .args(["--target", "nvptx64-nvidia-cuda", "-Zbuild-std=core", "--target-dir"])
        .arg(&target_dir)
        .env("RUSTC", &tc.rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("LD_LIBRARY_PATH", &tc.ld_library_path)
        .env("LLVM_BIN", &tc.llvm_bin)
        .env("CARGO_TARGET_NVPTX64_NVIDIA_CUDA_LINKER", shim)
        // -C target-cpu is mandatory: rustc's default is sm_30.
        .env("CARGO_TARGET_NVPTX64_NVIDIA_CUDA_RUSTFLAGS", format!("-C target-cpu={arch}"))
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let st = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !st.success() {
        return Err(format!("nvptx build for {arch} failed ({st})"));
    }
    let ptx = target_dir.join("nvptx64-nvidia-cuda/release/gpu_kernels.ptx");
    if ptx.exists() { Ok(ptx) } else { Err(format!("{} was not produced", ptx.display())) }
}

/// `gpu_kernels::ENTRY_POINTS` as [`Entry`] values.
fn expected_entries() -> Vec<Entry> {
    gpu_kernels::ENTRY_POINTS
        .iter()
        .map(|e| Entry { name: e.name.to_string(), params: e.params.iter().map(|s| s.to_string()).collect() })
        .collect()
}

fn sorted(mut v: Vec<Entry>) -> Vec<Entry> {
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Validates one built PTX; returns its entries.
fn validate_one(tc: &toolchain::Toolchain, arch: &str, ptx_path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(ptx_path).map_err(|e| format!("{}: {e}", ptx_path.display()))?;
    let kernels = validate::ptxas(&tc.ptxas, arch, ptx_path)?;
    println!("    {arch}: {} bytes of PTX; ptxas -arch={arch} -v:", text.len());
    println!(
        "      {:<22} {:>5} {:>8} {:>12} {:>11} {:>10}",
        "kernel",
        "regs",
        "stack B",
        "spill st B",
        "spill ld B",
        format!("occ. @{}", gpu_kernels::BLOCK_THREADS)
    );
    for k in &kernels {
        println!(
            "      {:<22} {:>5} {:>8} {:>12} {:>11} {:>9.1}%",
            k.name,
            k.registers,
            k.stack,
            k.spill_stores,
            k.spill_loads,
            100.0 * validate::occupancy(k.registers, gpu_kernels::BLOCK_THREADS)
        );
        if k.spill_stores > 0 || k.spill_loads > 0 {
            println!("      warning: {} spills registers on {arch}", k.name);
        }
    }
    let bad = validate::forbidden_instructions(&text);
    if !bad.is_empty() {
        return Err(format!(
            "{arch} PTX has {} instruction(s) that break CPU/GPU bit equality (see LANE_MATH.md):\n  {}",
            bad.len(),
            bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n  ")
        ));
    }
    let entries = stamp::entries(&text);
    let want = expected_entries();
    if sorted(entries.clone()) != sorted(want.clone()) {
        return Err(format!(
            "{arch} PTX entry points differ from gpu_kernels::ENTRY_POINTS:\n  built:    {}\n  declared: {}",
            entries.iter().map(Entry::to_string).collect::<Vec<_>>().join(", "),
            want.iter().map(Entry::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(entries)
}

/// Runs `cargo xtask ptx [--check]`.
pub fn run(args: PtxArgs) -> Result<ExitCode, String> {
    let total = Instant::now();
    let root = root();
    let cache = args
        .cache_dir
        .clone()
        .or_else(|| std::env::var_os("SIMLANES_PTX_CACHE").map(PathBuf::from))
        .unwrap_or_else(|| root.join(".cache/ptx-toolchain"));
    let target_parent = args.target_dir.clone().unwrap_or_else(|| root.join("target"));
    let tc = step(&format!("toolchain in {}", cache.display()), || toolchain::ensure(&cache))?;
    println!("    rustc: {}\n    ptxas: {}", tc.rustc_version, tc.ptxas_version);
    let shim = step("linker shim nvptx-ld", || build_linker_shim(&target_parent))?;
    let hash = stamp::source_hash(&root)?;
    println!("    source-sha256 ({}): {hash}", stamp::SOURCE_DIRS.join(" + "));
    let toolchain_line = format!("{}; ptxas {}", tc.rustc_version, tc.ptxas_version);

    let mut failures = Vec::new();
    for (arch, dest) in ARCHES {
        let built =
            step(&format!("build gpu-kernels for {arch}"), || build_arch(&tc, &shim, arch, &target_parent))?;
        let entries = step(&format!("validate {arch}"), || validate_one(&tc, arch, &built))?;
        let dest = root.join(dest);
        if args.check {
            let checked_in = match std::fs::read_to_string(&dest) {
                Ok(t) => t,
                Err(e) => {
                    failures.push(format!("{}: {e} (run `cargo xtask ptx`)", dest.display()));
                    continue;
                }
            };
            match stamp::recorded_hash(&checked_in) {
                Some(h) if h == hash => {}
                Some(h) => failures.push(format!(
                    "{} was built from other sources (recorded {h}, current {hash}): run `cargo xtask ptx` \
                     and commit the PTX",
                    dest.display()
                )),
                None => failures.push(format!("{} has no source-sha256 header", dest.display())),
            }
            let old = stamp::entries(&checked_in);
            if sorted(old.clone()) != sorted(entries.clone()) {
                failures.push(format!(
                    "{} entry points differ from a fresh build:\n  checked in: {}\n  built:      {}",
                    dest.display(),
                    old.iter().map(Entry::to_string).collect::<Vec<_>>().join(", "),
                    entries.iter().map(Entry::to_string).collect::<Vec<_>>().join(", ")
                ));
            }
        } else {
            let body = std::fs::read_to_string(&built).map_err(|e| format!("{}: {e}", built.display()))?;
            let text = format!("{}{body}", stamp::header(arch, &hash, &toolchain_line, &entries));
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            if std::fs::read_to_string(&dest).ok().as_deref() == Some(text.as_str()) {
                println!("    {} unchanged", dest.display());
            } else {
                std::fs::write(&dest, &text).map_err(|e| format!("{}: {e}", dest.display()))?;
                println!("    wrote {} ({} entry points)", dest.display(), entries.len());
            }
        }
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("error: {f}");
        }
        println!("cargo xtask ptx --check: FAILED after {:.1} s", total.elapsed().as_secs_f64());
        return Ok(ExitCode::FAILURE);
    }
    let mode = if args.check { "ptx --check: OK" } else { "ptx: OK" };
    println!("cargo xtask {mode} in {:.1} s", total.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
