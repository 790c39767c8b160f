//! `nvptx-ld`: the linker rustc calls for `nvptx64-nvidia-cuda` (`-C linker=…`), standing
//! in for rustc's `llvm-bitcode-linker`, which Debian's `rustc-web` does not ship.
//!
//! Why a shim: on nvptx every object and rlib member rustc hands the linker is LLVM
//! bitcode, and "linking" means merging the modules and running LLVM's NVPTX back end
//! once over the whole program. This binary does exactly that with the `llvm-NN` tools
//! `cargo xtask ptx` unpacked (`LLVM_BIN`), as /work/shared/GPU_TOOLCHAIN.md prescribes:
//!
//! 1. `llvm-link --ignore-non-bitcode` over the objects and rlibs (rlibs are read
//!    directly; their `lib.rmeta` member is skipped);
//! 2. `opt` with `internalize` (only the `--export-symbol` kernels stay public),
//!    `globaldce` and `default<O3>`; `nvvm-reflect` with `__CUDA_FTZ=0` and
//!    `__CUDA_PREC_SQRT=1`, so nothing flushes subnormals or approximates `sqrt`;
//! 3. `llc -O3 -mcpu=<sm>` to PTX;
//! 4. a check that no `.extern .func` is left: such a PTX would load on no driver.
//!
//! Invoked by rustc as
//! `nvptx-ld --export-symbol K… FILES… -L DIR… --target nvptx64-nvidia-cuda
//!  --target-cpu sm_90 [--target-feature=…] -o out.ptx -O3`.
//! Exit status 0 on success; 1 with a message on stderr otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// What rustc asked for.
#[derive(Debug, Default)]
struct LinkArgs {
    exports: Vec<String>,
    inputs: Vec<PathBuf>,
    target_cpu: Option<String>,
    target_features: Vec<String>,
    output: Option<PathBuf>,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<LinkArgs, String> {
    let mut out = LinkArgs::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("`{flag}` needs a value"));
        match a.as_str() {
            "--export-symbol" => out.exports.push(value("--export-symbol")?),
            "--target-cpu" => out.target_cpu = Some(value("--target-cpu")?),
            "--target-feature" => out.target_features.push(value("--target-feature")?),
            "-o" => out.output = Some(PathBuf::from(value("-o")?)),
            "-L" | "--target" => {
                value(&a)?;
            }
            _ if a.starts_with("--target-feature=") => {
                out.target_features.push(a["--target-feature=".len()..].to_string())
            }
            _ if a.starts_with("--target-cpu=") => {
                out.target_cpu = Some(a["--target-cpu=".len()..].to_string())
            }
            _ if a.starts_with("-L")
                || a.starts_with("-O")
                || a == "--debug"
                || a.starts_with("--target=") => {}
            _ if a.starts_with('-') => return Err(format!("unexpected linker argument `{a}`")),
            _ => out.inputs.push(PathBuf::from(a)),
        }
    }
    Ok(out)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{shown} failed with {status}")) }
}

fn tool(bin: &Path, name: &str) -> PathBuf {
    bin.join(name)
}

fn link(args: &LinkArgs) -> Result<(), String> {
    let bin =
        PathBuf::from(std::env::var_os("LLVM_BIN").ok_or("LLVM_BIN is not set (run via `cargo xtask ptx`)")?);
    let output = args.output.as_ref().ok_or("no `-o` output given")?;
    let cpu =
        args.target_cpu.as_deref().ok_or("no `--target-cpu` given (the default sm_30 is not supported)")?;
    if args.exports.is_empty() {
        return Err("no `--export-symbol`: the crate exports no kernels".into());
    }
    let dir = output.with_extension("ld");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let linked = dir.join("linked.bc");
    let optimised = dir.join("opt.bc");
    let exports = dir.join("exports.txt");
    std::fs::write(&exports, args.exports.join("\n") + "\n")
        .map_err(|e| format!("{}: {e}", exports.display()))?;

    run(Command::new(tool(&bin, "llvm-link"))
        .arg("--ignore-non-bitcode")
        .args(&args.inputs)
        .arg("-o")
        .arg(&linked))?;
    run(Command::new(tool(&bin, "opt"))
        .arg(format!("-mcpu={cpu}"))
        .arg(format!("--internalize-public-api-file={}", exports.display()))
        .arg("--passes=nvvm-reflect,internalize,globaldce,default<O3>")
        .arg("-nvvm-reflect-add=__CUDA_FTZ=0")
        .arg("-nvvm-reflect-add=__CUDA_PREC_SQRT=1")
        .arg("--strip-debug")
        .arg(&linked)
        .arg("-o")
        .arg(&optimised))?;
    let mut llc = Command::new(tool(&bin, "llc"));
    llc.arg("-O3").arg(format!("-mcpu={cpu}"));
    let features: Vec<&str> =
        args.target_features.iter().flat_map(|f| f.split(',')).filter(|f| !f.is_empty()).collect();
    if !features.is_empty() {
        llc.arg(format!("-mattr={}", features.join(",")));
    }
    run(llc.arg(&optimised).arg("-o").arg(output))?;

    let ptx = std::fs::read_to_string(output).map_err(|e| format!("{}: {e}", output.display()))?;
    let externs: Vec<&str> = ptx.lines().filter(|l| l.contains(".extern .func")).collect();
    if !externs.is_empty() {
        return Err(format!(
            "{} calls functions that are not defined (a libcall or missing intrinsic):\n  {}",
            output.display(),
            externs.join("\n  ")
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1)).and_then(|a| link(&a));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nvptx-ld: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rustc_invocation() {
        let argv = "--export-symbol pi_counts --export-symbol ou_final a.o b.rlib -L /x --target \
                    nvptx64-nvidia-cuda --target-cpu sm_90 --target-feature=+ptx80 -o k.ptx -O3";
        let a = parse(argv.split_whitespace().map(String::from)).unwrap();
        assert_eq!(a.exports, ["pi_counts", "ou_final"]);
        assert_eq!(a.inputs, [PathBuf::from("a.o"), PathBuf::from("b.rlib")]);
        assert_eq!(a.target_cpu.as_deref(), Some("sm_90"));
        assert_eq!(a.target_features, ["+ptx80"]);
        assert_eq!(a.output, Some(PathBuf::from("k.ptx")));
    }

    #[test]
    fn rejects_unknown_flags() {
        assert!(parse(["--frobnicate".to_string()]).is_err());
        assert!(parse(["-o".to_string()]).is_err());
    }
}
