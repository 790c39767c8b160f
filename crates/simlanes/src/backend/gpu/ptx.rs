//! The checked-in PTX of `gpu-kernels` (built by `cargo xtask ptx`, stamped with the hash
//! of its sources), embedded so a plain `cargo build` needs no GPU toolchain. sm_80 PTX
//! runs on every Ampere-or-newer GPU (the driver JIT-compiles it); sm_90 is used on
//! Hopper and newer.

/// PTX for compute capability 8.x (A100, …).
pub const SM80: &str = include_str!("../../../../../gpu-kernels/ptx/simlanes_sm80.ptx");
/// PTX for compute capability 9.0 and newer (H100, …).
pub const SM90: &str = include_str!("../../../../../gpu-kernels/ptx/simlanes_sm90.ptx");

/// The PTX (and its arch name) for a device of compute capability `major.minor`, or
/// `None` below 8.0.
pub fn for_compute_capability(major: i32, _minor: i32) -> Option<(&'static str, &'static str)> {
    match major {
        m if m >= 9 => Some(("sm_90", SM90)),
        8 => Some(("sm_80", SM80)),
        _ => None,
    }
}

/// The `source-sha256` stamped in a PTX header, if present.
pub fn source_hash(ptx: &str) -> Option<&str> {
    ptx.lines().take(64).find_map(|l| l.strip_prefix("// source-sha256: ")).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_ptx_by_compute_capability() {
        assert_eq!(for_compute_capability(9, 0).map(|p| p.0), Some("sm_90"));
        assert_eq!(for_compute_capability(10, 0).map(|p| p.0), Some("sm_90"));
        assert_eq!(for_compute_capability(8, 6).map(|p| p.0), Some("sm_80"));
        assert_eq!(for_compute_capability(7, 5), None);
    }

    #[test]
    fn embedded_ptx_is_stamped_and_has_every_entry_point() {
        for ptx in [SM80, SM90] {
            assert_eq!(source_hash(ptx).map(str::len), Some(64));
            // The header lists what `cargo xtask ptx` parsed from the PTX itself: every
            // kernel the runner launches, with the parameter types its launches push.
            for e in gpu_kernels::ENTRY_POINTS {
                let name = e.name;
                assert!(ptx.contains(&format!(".entry {name}(")), "{name} missing");
                let line = format!("// entry: {name}({})\n", e.params.join(", "));
                assert!(ptx.contains(&line), "{name}: parameters differ from ENTRY_POINTS");
            }
        }
    }
}
