//! The PTX text, as far as the stand-in reads it: the `.version` and `.target` header and
//! each `.entry`'s parameter list (types and `.ptr` marks). The code is never compiled.

use crate::{CUresult, code, say};

/// Newest PTX ISA a CUDA 12.8 driver accepts.
const MAX_PTX_ISA: (u32, u32) = (8, 7);
/// The device's architecture (`sm_90`).
const DEVICE_SM: u32 = 90;

/// One `.entry` of a PTX text.
pub(crate) struct PtxEntry {
    pub name: String,
    /// Each parameter's type (`u64`, `u32`, `f32`, …), in order.
    pub params: Vec<String>,
    /// Whether each parameter is a pointer (`.ptr`).
    pub pointers: Vec<bool>,
}

/// The `.entry` kernels of `ptx` with their parameters, in file order (the parse of
/// `cargo xtask ptx`'s stamp, plus the `.ptr` marks).
pub(crate) fn entries(ptx: &str) -> Vec<PtxEntry> {
    let mut out = Vec::new();
    let mut current: Option<PtxEntry> = None;
    for line in ptx.lines() {
        let l = line.trim();
        if l.starts_with("//") {
            continue;
        }
        if let Some(e) = current.as_mut() {
            if let Some(rest) = l.strip_prefix(".param") {
                let mut words = rest.split_whitespace();
                e.params.push(words.next().unwrap_or_default().trim_start_matches('.').to_string());
                e.pointers.push(words.next() == Some(".ptr"));
            }
            if l.starts_with(')') || l.ends_with(')') {
                out.extend(current.take());
            }
        } else if let Some(pos) = l.find(".entry ") {
            let rest = &l[pos + ".entry ".len()..];
            let name = rest.split(['(', ' ']).next().unwrap_or_default().to_string();
            let e = PtxEntry { name, params: Vec::new(), pointers: Vec::new() };
            if rest.ends_with("()") {
                out.push(e);
            } else {
                current = Some(e);
            }
        }
    }
    out
}

/// The argument of directive `name` (`.version 7.8` → `"7.8"`), if present.
fn directive<'a>(ptx: &'a str, name: &str) -> Option<&'a str> {
    ptx.lines().find_map(|l| l.trim().strip_prefix(name).and_then(|r| r.split_whitespace().next()))
}

/// Checks the header as the driver's JIT would: a `.version` this driver knows and a
/// `.target` this device runs.
pub(crate) fn check_header(ptx: &str) -> Result<(), CUresult> {
    let (Some(version), Some(target)) = (directive(ptx, ".version "), directive(ptx, ".target ")) else {
        say(format_args!("the module image is not PTX (no .version or .target directive)"));
        return Err(code::INVALID_PTX);
    };
    let isa =
        version.split_once('.').and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    match isa {
        None => return Err(code::INVALID_PTX),
        Some(v) if v > MAX_PTX_ISA => {
            say(format_args!("PTX ISA {version} is newer than this driver's (CUDA 12.8: 8.7)"));
            return Err(code::UNSUPPORTED_PTX_VERSION);
        }
        Some(_) => {}
    }
    let sm = target
        .trim_end_matches(',')
        .strip_prefix("sm_")
        .and_then(|s| s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse::<u32>().ok());
    match sm {
        Some(sm) if sm <= DEVICE_SM => Ok(()),
        _ => {
            say(format_args!("PTX .target {target} does not run on this sm_{DEVICE_SM} device"));
            Err(code::INVALID_PTX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::tests::SM90;

    #[test]
    fn the_shipped_ptx_matches_every_host_entry_point() {
        let found = entries(SM90);
        for e in gpu_kernels::ENTRY_POINTS {
            let p = found.iter().find(|p| p.name == e.name).unwrap_or_else(|| panic!("{} missing", e.name));
            assert_eq!(p.params, e.params, "{}", e.name);
            // Pointers are u64 and marked `.ptr`; scalars are not.
            assert!(p.pointers.iter().zip(&p.params).all(|(&ptr, t)| !ptr || t == "u64"), "{}", e.name);
            assert!(p.pointers[0], "{}: the first parameter is a buffer", e.name);
        }
        assert!(check_header(SM90).is_ok());
    }
}
