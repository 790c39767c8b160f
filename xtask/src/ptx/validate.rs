//! Checks every PTX must pass before it is written or accepted:
//!
//! * `ptxas -arch=<sm> -v` assembles it (so a driver's JIT will too), and its per-kernel
//!   registers, stack and spills are reported;
//! * no instruction may break bit-equality with the CPU (LANE_MATH.md, "Traps"):
//!   approximate math (`.approx`, `div.full`), flush-to-zero (`.ftz`), or a float
//!   `add`/`sub`/`mul`/`fma` without an explicit rounding mode — only `.rn` forms are
//!   guaranteed never to be contracted into an FMA by ptxas;
//! * no `.extern .func` (an unresolved call no driver could link).

use std::path::Path;
use std::process::Command;

/// ptxas's figures for one kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelInfo {
    /// Kernel name.
    pub name: String,
    /// Registers per thread.
    pub registers: u32,
    /// Stack frame, bytes.
    pub stack: u32,
    /// Spill stores, bytes.
    pub spill_stores: u32,
    /// Spill loads, bytes.
    pub spill_loads: u32,
}

fn number_before(text: &str, unit: &str) -> Option<u32> {
    let pos = text.find(unit)?;
    text[..pos].split_whitespace().last()?.parse().ok()
}

/// Parses `ptxas -v` output into per-entry figures.
pub fn parse_ptxas(log: &str) -> Vec<KernelInfo> {
    let mut out: Vec<KernelInfo> = Vec::new();
    let mut current: Option<usize> = None;
    for line in log.lines() {
        if let Some(rest) = line.split("Compiling entry function '").nth(1) {
            let name = rest.split('\'').next().unwrap_or_default().to_string();
            out.push(KernelInfo { name, ..KernelInfo::default() });
            current = Some(out.len() - 1);
        } else if line.contains("Function properties for ") {
            let name = line.split("Function properties for ").nth(1).unwrap_or_default().trim();
            current = out.iter().position(|k| k.name == name);
        } else if let Some(k) = current.and_then(|i| out.get_mut(i)) {
            if let Some(n) = number_before(line, "bytes stack frame") {
                k.stack = n;
                k.spill_stores = number_before(line, "bytes spill stores").unwrap_or(0);
                k.spill_loads = number_before(line, "bytes spill loads").unwrap_or(0);
            }
            if let Some(n) = number_before(line, "registers") {
                k.registers = n;
            }
        }
    }
    out
}

/// Theoretical occupancy (resident warps over the SM's 64) of a kernel using `registers`
/// per thread, launched in blocks of `block_threads`, on sm_80 and sm_90 (A100, H100/H200:
/// 65 536 registers, 64 warps and 32 blocks per SM, registers allocated per warp in units of
/// 256). The kernels use no shared memory (no `.shared` in the PTX), so registers, the warp
/// and the block limits are all that bound it.
pub fn occupancy(registers: u32, block_threads: u32) -> f64 {
    const REGS_PER_SM: u32 = 65_536;
    const WARPS_PER_SM: u32 = 64;
    const BLOCKS_PER_SM: u32 = 32;
    let warps_per_block = block_threads.div_ceil(32).max(1);
    let regs_per_warp = (registers.max(1) * 32).div_ceil(256) * 256;
    let warps_by_regs = REGS_PER_SM / regs_per_warp;
    let blocks = (warps_by_regs / warps_per_block).min(WARPS_PER_SM / warps_per_block).min(BLOCKS_PER_SM);
    f64::from(blocks * warps_per_block) / f64::from(WARPS_PER_SM)
}

/// Runs `ptxas -arch=<arch> -v` on `ptx`; the per-kernel figures, or ptxas's errors.
pub fn ptxas(ptxas: &Path, arch: &str, ptx: &Path) -> Result<Vec<KernelInfo>, String> {
    let out = Command::new(ptxas)
        .arg(format!("-arch={arch}"))
        .arg("-v")
        .arg(ptx)
        .args(["-o", "/dev/null"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", ptxas.display()))?;
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("ptxas -arch={arch} rejected {}:\n{}", ptx.display(), log.trim_end()));
    }
    Ok(parse_ptxas(&log))
}

/// Instructions that would make GPU bits differ from the CPU's, as `line: text` items.
pub fn forbidden_instructions(ptx: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for (n, line) in ptx.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default().trim();
        if code.is_empty() {
            continue;
        }
        let mut words = code.split_whitespace();
        let mut op = words.next().unwrap_or_default();
        if op.starts_with('@') {
            op = words.next().unwrap_or_default();
        }
        let parts: Vec<&str> = op.split('.').collect();
        let float_arith = matches!(parts.first(), Some(&("add" | "sub" | "mul" | "fma")))
            && parts.len() == 2
            && matches!(parts[1], "f16" | "f32" | "f64" | "bf16");
        let why = if code.contains(".extern .func") {
            Some("unresolved external function")
        } else if parts.contains(&"approx") {
            Some("approximate math")
        } else if parts.contains(&"ftz") {
            Some("flush-to-zero")
        } else if parts.first() == Some(&"div") && parts.contains(&"full") {
            Some("approximate division (div.full)")
        } else if float_arith {
            Some("float op without .rn (ptxas may contract it into an FMA)")
        } else {
            None
        };
        if let Some(why) = why {
            bad.push(format!("line {}: `{code}` ({why})", n + 1));
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_risky_float_instructions() {
        let ptx = "\tadd.rn.f32 \t%f1, %f2, %f3;\n\tmul.f32 %f1, %f2, %f3;\n\t@%p1 add.f64 %fd1, %fd2, %fd3;\n\
                   \tex2.approx.f32 %f1, %f2;\n\tsqrt.rn.ftz.f32 %f1, %f1;\n\tdiv.full.f32 %f1, %f2, %f3;\n\
                   \tadd.s32 %r1, %r2, %r3;\n\tmul.lo.s64 %rd1, %rd2, 4;\n\tfma.rn.f32 %f1, %f2, %f3, %f4;\n\
                   .extern .func foo\n\t// mul.f32 in a comment\n";
        let bad = forbidden_instructions(ptx);
        assert_eq!(bad.len(), 6, "{bad:#?}");
        assert!(bad[0].starts_with("line 2:"));
        assert!(bad[5].contains("unresolved"));
    }

    #[test]
    fn occupancy_follows_the_register_file() {
        // 64 registers: 2048 per warp, 32 warps, 4 blocks of 8 warps: half the SM.
        assert_eq!(occupancy(64, 256), 0.5);
        // 24 registers: 768 per warp, 85 warps by registers, but at most 64 per SM.
        assert_eq!(occupancy(24, 256), 1.0);
        // 216 registers: 6912 per warp, 9 warps: one block of 8.
        assert_eq!(occupancy(216, 256), 0.125);
        // 72 registers: 2304 per warp, 28 warps: 3 blocks of 8.
        assert_eq!(occupancy(72, 256), 0.375);
        // 255 registers, 1024-thread blocks: 8192 per warp, 8 warps: no block fits.
        assert_eq!(occupancy(255, 1024), 0.0);
    }

    #[test]
    fn parses_ptxas_report() {
        let log = "ptxas info    : 2824 bytes gmem\n\
ptxas info    : Compiling entry function 'pi_hits' for 'sm_90'\n\
ptxas info    : Function properties for pi_hits\n\
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n\
ptxas info    : Used 24 registers, used 0 barriers\n\
ptxas info    : Compiling entry function 'fill_normals' for 'sm_90'\n\
ptxas info    : Function properties for fill_normals\n\
    616 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads\n\
ptxas info    : Used 72 registers, used 0 barriers, 616 bytes cumulative stack size\n";
        let k = parse_ptxas(log);
        assert_eq!(k.len(), 2);
        assert_eq!(k[0], KernelInfo { name: "pi_hits".into(), registers: 24, ..KernelInfo::default() });
        assert_eq!((k[1].registers, k[1].stack, k[1].spill_stores, k[1].spill_loads), (72, 616, 8, 4));
    }
}
