//! Sizes that pass validation can still be far beyond the machine (`estimates = 2^40`):
//! allocating such an output would abort the process ("memory allocation failed") or panic
//! ("capacity overflow"), neither of which a caller can handle. [`ensure_allocatable`]
//! asks the allocator for the block first, before any work, and turns a refusal into
//! [`SimError::OutOfMemory`]. The probe is released at once; the backends then allocate
//! as usual. (Under Linux's default overcommit a probe close to the free memory can still
//! succeed and the run later be killed for memory: the check catches the impossible sizes,
//! not every tight one.)

use crate::error::SimError;

/// `Ok` if `len` values of `T` could be allocated now, else [`SimError::OutOfMemory`]
/// naming `what` (a byte count past `usize::MAX` is reported saturated).
pub fn ensure_allocatable<T>(what: &'static str, len: usize) -> Result<(), SimError> {
    let mut probe: Vec<T> = Vec::new();
    probe.try_reserve_exact(len).map_err(|_| SimError::OutOfMemory {
        what,
        bytes: (len as u128).saturating_mul(size_of::<T>() as u128),
    })
}

/// [`ensure_allocatable`] for several buffers at once, as one block of their summed size
/// (a run needs them together).
pub fn ensure_all_allocatable(what: &'static str, bytes: &[(usize, usize)]) -> Result<(), SimError> {
    let total = bytes
        .iter()
        .try_fold(0usize, |acc, &(len, size)| len.checked_mul(size).and_then(|b| acc.checked_add(b)));
    match total {
        Some(b) => ensure_allocatable::<u8>(what, b),
        None => Err(SimError::OutOfMemory {
            what,
            bytes: bytes.iter().map(|&(len, size)| len as u128 * size as u128).sum(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_typed_errors() {
        assert!(ensure_allocatable::<u64>("hits", 1000).is_ok());
        for len in [1usize << 40, usize::MAX / 8, usize::MAX] {
            match ensure_allocatable::<u64>("hits", len) {
                Err(SimError::OutOfMemory { what: "hits", bytes }) => assert_eq!(bytes, len as u128 * 8),
                other => panic!("{len}: {other:?}"),
            }
        }
        assert!(ensure_all_allocatable("state", &[(10, 4), (3, 8)]).is_ok());
        assert!(matches!(
            ensure_all_allocatable("state", &[(usize::MAX, 4), (3, 8)]),
            Err(SimError::OutOfMemory { what: "state", .. })
        ));
    }
}
