//! Driver failures on request, for tests of the runner's error paths: the calls named in
//! `CUDA_STAND_IN_FAIL` (comma-separated) fail as a real driver's do in the case each
//! stands for.
//!
//! | call | code | the real case |
//! |---|---|---|
//! | `cuInit` | `CUDA_ERROR_NO_DEVICE` | a driver installed on a machine without a GPU |
//! | `cuModuleLoadData` | `CUDA_ERROR_UNSUPPORTED_PTX_VERSION` | a driver older than the PTX |
//! | `cuMemAlloc_v2` | `CUDA_ERROR_OUT_OF_MEMORY` | device memory taken by another process |
//! | `cuLaunchKernel` | `CUDA_ERROR_LAUNCH_FAILED`, sticky | a kernel that traps |
//! | `cuMemcpyDtoHAsync_v2` | `CUDA_ERROR_ILLEGAL_ADDRESS`, sticky | a fault seen at the next copy |

use std::sync::OnceLock;

use crate::{CUresult, code, make_sticky, say};

/// The calls that can be made to fail, and how.
const FAULTS: &[(&str, CUresult, bool)] = &[
    ("cuInit", code::NO_DEVICE, false),
    ("cuModuleLoadData", code::UNSUPPORTED_PTX_VERSION, false),
    ("cuMemAlloc_v2", code::OUT_OF_MEMORY, false),
    ("cuLaunchKernel", code::LAUNCH_FAILED, true),
    ("cuMemcpyDtoHAsync_v2", code::ILLEGAL_ADDRESS, true),
];

/// The failures `CUDA_STAND_IN_FAIL` asks for, read once; an unknown name is said on
/// stderr and ignored.
fn requested() -> &'static [(&'static str, CUresult, bool)] {
    static REQUESTED: OnceLock<Vec<(&str, CUresult, bool)>> = OnceLock::new();
    REQUESTED.get_or_init(|| {
        let list = std::env::var("CUDA_STAND_IN_FAIL").unwrap_or_default();
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match FAULTS.iter().find(|f| f.0 == name) {
                Some(f) => out.push(*f),
                None => say(format_args!(
                    "CUDA_STAND_IN_FAIL: `{name}` cannot be made to fail (known: {})",
                    FAULTS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        out
    })
}

/// `Err(code)` when `call` was asked to fail (making the code sticky where a device would).
pub(crate) fn check(call: &str) -> Result<(), CUresult> {
    match requested().iter().find(|f| f.0 == call) {
        None => Ok(()),
        Some(&(_, err, sticky)) => {
            say(format_args!("{call} fails on request (CUDA_STAND_IN_FAIL)"));
            Err(if sticky { make_sticky(err) } else { err })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_is_a_driver_error_code() {
        // Without CUDA_STAND_IN_FAIL in the test's environment nothing fails.
        if std::env::var_os("CUDA_STAND_IN_FAIL").is_none() {
            assert!(FAULTS.iter().all(|f| check(f.0).is_ok()));
        }
        assert!(FAULTS.iter().all(|f| f.1 != code::SUCCESS));
    }
}
