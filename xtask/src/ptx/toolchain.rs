//! The nvptx toolchain, fetched and unpacked into a cache directory with no system
//! install (GPU_TOOLCHAIN.md, "Packages"):
//!
//! * Debian `rustc-web`, `libstd-rust-web-dev`, `libstd-rust-web-X.Y`, `rust-web-src`
//!   (a rustc with the `nvptx64-nvidia-cuda` target built in, and the `core` sources for
//!   `-Zbuild-std`), plus `libllvmNN` and `llvm-NN` for the linker shim — `X.Y` read from
//!   `libstd-rust-web-dev`'s dependency and `NN` from `libstd-rust-web-X.Y`'s, so no Debian
//!   revision is pinned;
//! * PyPI `nvidia-cuda-nvcc-cu12` for `ptxas`.
//!
//! Layout: `CACHE/debs/*.deb`, `CACHE/wheels/*.whl` (downloads, kept), `CACHE/prefix/`
//! (`dpkg -x` of every deb), `CACHE/nvcc/` (the unzipped wheel). A `.complete` file in
//! each unpacked tree marks it usable, so an interrupted run redoes only what it lacked
//! and a second run downloads nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The unpacked tools one build needs.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// Debian's rustc (has the nvptx64 target).
    pub rustc: PathBuf,
    /// `llvm-NN/bin` (llvm-link, opt, llc) for the linker shim.
    pub llvm_bin: PathBuf,
    /// `ptxas` from the nvcc wheel.
    pub ptxas: PathBuf,
    /// `LD_LIBRARY_PATH` the Debian binaries need (their RUNPATH does not resolve here).
    pub ld_library_path: String,
    /// `rustc --version` of the Debian rustc.
    pub rustc_version: String,
    /// First line of `ptxas --version`'s release line.
    pub ptxas_version: String,
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn status(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let st = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if st.success() { Ok(()) } else { Err(format!("{shown} failed ({st})")) }
}

/// The first `Depends:` of `pkg` whose name starts with `prefix` (from `apt-cache depends`).
fn dependency(pkg: &str, prefix: &str) -> Result<Option<String>, String> {
    let text = output(Command::new("apt-cache").args(["depends", pkg]))?;
    Ok(text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .find(|d| d.starts_with(prefix) && !d.starts_with('<'))
        .map(String::from))
}

/// The Debian package names, resolved from the dependency chain.
fn package_names() -> Result<Vec<String>, String> {
    let std_pkg = dependency("libstd-rust-web-dev", "libstd-rust-web-")?
        .ok_or("apt knows no `libstd-rust-web-dev` depending on `libstd-rust-web-X.Y`")?;
    let llvm_lib =
        dependency(&std_pkg, "libllvm")?.ok_or_else(|| format!("`{std_pkg}` depends on no `libllvmNN`"))?;
    let nn = llvm_lib.trim_start_matches("libllvm");
    Ok(["rustc-web", "libstd-rust-web-dev", "rust-web-src", &std_pkg, &llvm_lib, &format!("llvm-{nn}")]
        .iter()
        .map(|s| s.to_string())
        .collect())
}

fn files_with(dir: &Path, start: &str, end: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(start) && n.ends_with(end))
        })
        .collect();
    v.sort();
    v
}

/// Oldest Debian rustc that builds the kernels: the workspace's `rust-version` (Cargo.toml).
const MIN_RUSTC: (u32, u32) = (1, 95);

/// `(major, minor)` of a version string such as `1.96.0+dfsg1-1~deb12u2` or
/// `rustc 1.96.0 (…)`.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let v = v.trim().trim_start_matches("rustc ");
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// apt's candidate version of `rustc-web` (`apt-cache policy`), if any.
fn rustc_web_candidate() -> Option<String> {
    let text = output(Command::new("apt-cache").args(["policy", "rustc-web"])).ok()?;
    let v = text.lines().find_map(|l| l.trim().strip_prefix("Candidate: "))?.trim().to_string();
    (v != "(none)").then_some(v)
}

/// Whether a `rustc-web` version is at least [`MIN_RUSTC`] (bookworm-security carries
/// one; stale package lists may offer only bookworm's older one).
fn is_recent(version: Option<&str>) -> bool {
    version.and_then(major_minor).is_some_and(|mm| mm >= MIN_RUSTC)
}

/// Downloads the debs not yet in `debs/`, running `apt-get update` once if apt cannot
/// resolve them or offers a rustc older than [`MIN_RUSTC`].
fn fetch_debs(debs: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let mut candidate = rustc_web_candidate();
    let names = match package_names() {
        Ok(n) if is_recent(candidate.as_deref()) => n,
        resolved => {
            let why = match resolved {
                Ok(_) => format!(
                    "apt offers rustc-web {}, older than {}.{}",
                    candidate.as_deref().unwrap_or_default(),
                    MIN_RUSTC.0,
                    MIN_RUSTC.1
                ),
                Err(e) => format!("apt cannot resolve the packages ({e})"),
            };
            println!("  {why}; running `apt-get update`");
            status(Command::new("apt-get").arg("update").arg("-q"))?;
            candidate = rustc_web_candidate();
            if !is_recent(candidate.as_deref()) {
                return Err(format!(
                    "after `apt-get update` apt offers rustc-web {}: the kernels need {}.{} or newer \
                     (Debian bookworm-security's rustc-web; see GPU_TOOLCHAIN.md)",
                    candidate.as_deref().unwrap_or("(none)"),
                    MIN_RUSTC.0,
                    MIN_RUSTC.1
                ));
            }
            package_names()?
        }
    };
    // Debs of another version (an older download) would be taken for these.
    let upstream = candidate.as_deref().unwrap_or_default().split('+').next().unwrap_or_default();
    for old in files_with(debs, "", ".deb") {
        let name = old.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let rust_pkg =
            ["rustc-web_", "libstd-rust-web-dev_", "rust-web-src_"].iter().any(|p| name.starts_with(p));
        if rust_pkg && !name.contains(&format!("_{upstream}")) {
            std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
        }
    }
    println!("  packages: {}", names.join(" "));
    let missing: Vec<&String> =
        names.iter().filter(|n| files_with(debs, &format!("{n}_"), ".deb").is_empty()).collect();
    if !missing.is_empty() {
        let t = Instant::now();
        let download = |dir: &Path| {
            output(Command::new("apt-get").current_dir(dir).arg("download").arg("-q").args(&missing))
        };
        if download(debs).is_err() {
            status(Command::new("apt-get").arg("update").arg("-q"))?;
            download(debs)
                .map_err(|e| format!("{e}\n(is apt reachable? you need root for apt-get update)"))?;
        }
        println!("  apt-get download {} packages: {:.1} s", missing.len(), t.elapsed().as_secs_f64());
    }
    names
        .iter()
        .map(|n| {
            files_with(debs, &format!("{n}_"), ".deb")
                .pop()
                .ok_or_else(|| format!("`apt-get download {n}` left no .deb in {}", debs.display()))
        })
        .collect()
}

fn fetch_wheel(wheels: &Path) -> Result<PathBuf, String> {
    let pick = || files_with(wheels, "nvidia_cuda_nvcc_cu12-", ".whl").pop();
    if let Some(w) = pick() {
        return Ok(w);
    }
    let t = Instant::now();
    status(
        Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d"])
            .arg(wheels)
            .arg("nvidia-cuda-nvcc-cu12"),
    )?;
    println!("  pip download nvidia-cuda-nvcc-cu12: {:.1} s", t.elapsed().as_secs_f64());
    pick().ok_or_else(|| format!("pip left no nvidia_cuda_nvcc_cu12 wheel in {}", wheels.display()))
}

/// Unpacks into `dest` via a temporary sibling, so `dest` exists only when complete;
/// `what` lists the archives (one per line), recorded in `dest/.complete`.
fn unpack(dest: &Path, what: &str, fill: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
    if dest.join(".complete").exists() {
        return Ok(());
    }
    let t = Instant::now();
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(dest);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    fill(&tmp)?;
    std::fs::write(tmp.join(".complete"), what).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, dest)
        .map_err(|e| format!("rename {} -> {}: {e}", tmp.display(), dest.display()))?;
    println!(
        "  unpacked {} into {}: {:.1} s",
        what.lines().count(),
        dest.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether the rustc unpacked under `prefix` is at least [`MIN_RUSTC`] (its version from
/// the `.complete` list of debs it came from).
fn unpacked_rustc_is_recent(prefix: &Path) -> bool {
    let list = std::fs::read_to_string(prefix.join(".complete")).unwrap_or_default();
    list.lines()
        .filter_map(|l| Path::new(l).file_name()?.to_str()?.strip_prefix("rustc-web_"))
        .any(|v| is_recent(Some(v)))
}

fn find_file(root: &Path, rel: &str) -> Option<PathBuf> {
    let direct = root.join(rel);
    if direct.exists() {
        return Some(direct);
    }
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter(|e| e.path().is_dir())
        .find_map(|e| find_file(&e.path(), rel))
}

/// Fetches (if needed) and unpacks (if needed) the toolchain under `cache`.
pub fn ensure(cache: &Path) -> Result<Toolchain, String> {
    let prefix = cache.join("prefix");
    let nvcc = cache.join("nvcc");
    if prefix.join(".complete").exists() && !unpacked_rustc_is_recent(&prefix) {
        println!("  the unpacked rustc is older than {}.{}: fetching a newer one", MIN_RUSTC.0, MIN_RUSTC.1);
        std::fs::remove_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
    }
    if !prefix.join(".complete").exists() {
        let debs = fetch_debs(&cache.join("debs"))?;
        let list = debs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join("\n");
        unpack(&prefix, &list, |tmp| {
            for d in &debs {
                status(Command::new("dpkg").arg("-x").arg(d).arg(tmp))?;
            }
            Ok(())
        })?;
    }
    if !nvcc.join(".complete").exists() {
        let wheel = fetch_wheel(&cache.join("wheels"))?;
        unpack(&nvcc, &wheel.display().to_string(), |tmp| {
            status(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(tmp))
        })?;
    }

    let rustc = prefix.join("usr/bin/rustc");
    let llvm_bin = std::fs::read_dir(prefix.join("usr/lib"))
        .map_err(|e| format!("{}: {e}", prefix.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("llvm-")))
        .map(|p| p.join("bin"))
        .find(|b| b.join("llc").exists())
        .ok_or_else(|| format!("no usr/lib/llvm-NN/bin/llc under {}", prefix.display()))?;
    let ptxas =
        find_file(&nvcc, "bin/ptxas").ok_or_else(|| format!("no bin/ptxas under {}", nvcc.display()))?;
    // Wheels do not keep the executable bit.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ptxas, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", ptxas.display()))?;
    }
    let ld_library_path =
        format!("{}:{}", prefix.join("usr/lib/x86_64-linux-gnu").display(), prefix.join("usr/lib").display());
    let rustc_version =
        output(Command::new(&rustc).arg("--version").env("LD_LIBRARY_PATH", &ld_library_path))?
            .trim()
            .to_string();
    let ptxas_version = output(Command::new(&ptxas).arg("--version"))?
        .lines()
        .find(|l| l.contains("release"))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    Ok(Toolchain { rustc, llvm_bin, ptxas, ld_library_path, rustc_version, ptxas_version })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_debian_and_rustc_strings() {
        assert_eq!(major_minor("1.96.0+dfsg1-1~deb12u2"), Some((1, 96)));
        assert_eq!(major_minor("rustc 1.85.0 (4d91de4e4 2025-02-17)"), Some((1, 85)));
        assert_eq!(major_minor("1.85.0+dfsg3-1~deb12u3_amd64.deb"), Some((1, 85)));
        assert_eq!(major_minor("(none)"), None);
        assert!(major_minor("1.85.0").unwrap() < MIN_RUSTC && major_minor("1.96.0").unwrap() >= MIN_RUSTC);
    }

    #[test]
    fn an_unpacked_rustc_is_judged_by_the_deb_it_came_from() {
        let dir = std::env::temp_dir().join(format!("simlanes-toolchain-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (deb, want) in [
            ("debs/rustc-web_1.85.0+dfsg3-1~deb12u3_amd64.deb", false),
            ("debs/rustc-web_1.96.0+dfsg1-1~deb12u2_amd64.deb", true),
            ("debs/llvm-22_1%3a22.1.0_amd64.deb", false),
        ] {
            std::fs::write(dir.join(".complete"), format!("debs/libllvm22_1_amd64.deb\n{deb}\n")).unwrap();
            assert_eq!(unpacked_rustc_is_recent(&dir), want, "{deb}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!is_recent(None) && !is_recent(Some("(none)")));
    }
}
