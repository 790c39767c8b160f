//! The default connectivity of the network workloads (WORKLOADS.md, W4 and W5): weights
//! and lags drawn from stream `2^64 - 1` of the workload seed, so benchmarks and examples
//! need no data files and every backend builds the same network.
//!
//! * `u[i,j]` = f32 uniform of word `i*nn + j`; the diagonal is set to 0; each row is
//!   divided by its f32 sum (accumulated `j` ascending, one rounding per addition; one
//!   correctly rounded division per weight), so every row sums to 1 within a few ulps and
//!   the coupling is a weighted mean. A row whose sum is 0 (only `nn = 1`, or every draw
//!   exactly 0) is left at 0 rather than divided (no NaN).
//! * `L[i,j]` = the low byte (`w & 255`) of word `nn*nn + i*nn + j` (the diagonal is kept;
//!   its weight is 0).

use crate::error::{ParamError, nonzero};
use crate::rng::Stream;

/// The stream id the default connectivity is drawn from.
pub const STREAM: u64 = u64::MAX;

/// Checks `nn >= 1` and that `2*nn*nn` words are addressable; returns `nn*nn`.
fn words(nn: usize) -> Result<usize, ParamError> {
    nonzero("nn", nn)?;
    let n2 = nn.checked_mul(nn).ok_or(ParamError::TooLarge { name: "nn", max: u32::MAX as u64 })?;
    n2.checked_mul(2).ok_or(ParamError::TooLarge { name: "nn", max: u32::MAX as u64 })?;
    Ok(n2)
}

/// Word `j` of the connectivity stream.
#[inline(always)]
fn word(s: &Stream<f32>, j: u64) -> u32 {
    s.block(j / 4)[(j % 4) as usize]
}

/// Fills `out` (`nn*nn`, `[i][j]` row-major) with the default weights for `seed`.
///
/// # Errors
/// [`ParamError::ZeroSize`] for `nn = 0`; [`ParamError::TooLarge`] when `nn*nn` overflows
/// or `out` does not have `nn*nn` elements (`max` = that length).
pub fn default_weights(seed: u64, nn: usize, out: &mut [f32]) -> Result<(), ParamError> {
    let n2 = words(nn)?;
    if out.len() != n2 {
        return Err(ParamError::TooLarge { name: "weights (length must be nn*nn)", max: n2 as u64 });
    }
    let s = Stream::<f32>::new(seed, |_| STREAM);
    let per = 4usize;
    for (c, chunk) in out.chunks_mut(per).enumerate() {
        let u = s.uniform_block(c as u64);
        chunk.copy_from_slice(&u[..chunk.len()]);
    }
    for (i, row) in out.chunks_mut(nn).enumerate() {
        row[i] = 0.0;
        let sum = row.iter().fold(0.0f32, |a, &w| a + w);
        if sum > 0.0 {
            for w in row.iter_mut() {
                *w /= sum;
            }
        }
    }
    Ok(())
}

/// Fills `out` (`nn*nn`, `[i][j]` row-major) with the default lags (steps, `0..=255`).
///
/// # Errors
/// As [`default_weights`].
pub fn default_lags(seed: u64, nn: usize, out: &mut [u8]) -> Result<(), ParamError> {
    let n2 = words(nn)?;
    if out.len() != n2 {
        return Err(ParamError::TooLarge { name: "lags (length must be nn*nn)", max: n2 as u64 });
    }
    let s = Stream::<f32>::new(seed, |_| STREAM);
    for (e, l) in out.iter_mut().enumerate() {
        *l = (word(&s, (n2 + e) as u64) & 255) as u8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn rows_sum_to_one_and_diagonal_is_zero() {
        for nn in [2usize, 3, 7, 32, 164] {
            let mut w = vec![0.0f32; nn * nn];
            default_weights(42, nn, &mut w).unwrap();
            for (i, row) in w.chunks(nn).enumerate() {
                assert_eq!(row[i], 0.0);
                assert!(row.iter().all(|&x| (0.0..=1.0).contains(&x)));
                let sum: f64 = row.iter().map(|&x| f64::from(x)).sum();
                // Each weight carries <= 1/2 ulp of the division and the f32 row sum's
                // error (<= nn ulps relative): bound nn+1 f32 epsilons.
                assert!(
                    (sum - 1.0).abs() <= (nn as f64 + 1.0) * f64::from(f32::EPSILON),
                    "nn={nn} row {i}: {sum}"
                );
            }
        }
    }

    #[test]
    fn weights_follow_the_stream_contract() {
        let nn = 5;
        let mut w = vec![0.0f32; nn * nn];
        default_weights(7, nn, &mut w).unwrap();
        let s = Stream::<f32>::new(7, |_| u64::MAX);
        let i = 2;
        let u: std::vec::Vec<f32> =
            (0..nn).map(|j| if j == i { 0.0 } else { s.uniform((i * nn + j) as u64) }).collect();
        let sum = u.iter().fold(0.0f32, |a, &x| a + x);
        for j in 0..nn {
            assert_eq!(w[i * nn + j].to_bits(), (u[j] / sum).to_bits());
        }
        let mut w2 = vec![0.0f32; nn * nn];
        default_weights(8, nn, &mut w2).unwrap();
        assert_ne!(w, w2);
    }

    #[test]
    fn lags_are_low_bytes_of_the_second_block_of_words() {
        let nn = 6;
        let mut l = vec![0u8; nn * nn];
        default_lags(3, nn, &mut l).unwrap();
        let s = Stream::<f32>::new(3, |_| u64::MAX);
        for (e, &lag) in l.iter().enumerate() {
            assert_eq!(lag, (word(&s, (nn * nn + e) as u64) & 255) as u8);
        }
        // Lags span the range: with 36 draws some are above 127 and some below.
        assert!(l.iter().any(|&x| x > 127) && l.iter().any(|&x| x < 128));
    }

    #[test]
    fn single_node_and_bad_sizes() {
        let mut w = [1.0f32];
        default_weights(0, 1, &mut w).unwrap();
        assert_eq!(w, [0.0]);
        assert!(matches!(default_weights(0, 0, &mut []), Err(ParamError::ZeroSize { .. })));
        assert!(matches!(default_weights(0, 2, &mut [0.0; 3]), Err(ParamError::TooLarge { .. })));
        assert!(matches!(default_lags(0, 2, &mut [0; 5]), Err(ParamError::TooLarge { .. })));
        assert!(matches!(default_weights(0, usize::MAX, &mut []), Err(ParamError::TooLarge { .. })));
    }
}
