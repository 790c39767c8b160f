//! Noise-only rows: the normals a workload draws, generated with nothing else to do, on
//! the SIMD lanes and threads of the backend. The workload's kernel draws exactly these
//! normals and does its model math besides, so its rate can exceed this one only by the
//! run-to-run noise of the machine (about ±10 % on the 2-core VM): the measurement behind
//! the W2 final-state and W4 targets that the stream contract puts out of reach (see the
//! README).
//!
//! What runs: `per_stream` normals of each of `streams` Philox streams of the seed, drawn
//! by the kernels' own fastest generator path — `simcore::models::ou::ou_chunk_sums` on
//! the backend's vector type (the parallel-in-time W2 kernel: each lane a contiguous chunk
//! of one stream; `f64x8` draws its Philox blocks in one `u32x8` call; Box–Muller as
//! `NormalSeq`), two lane groups per stream, with `relax = 1, diffuse = 1`, so that the
//! "model" is a running sum of the normals.
//! Chunks along time give every lane its own dependent chain, the most favourable
//! schedule for the generator; a count that does not split into whole blocks per chunk is
//! rounded down (the row's note says so). Streams are spread over the backend's threads. Check: the
//! mean of all the normals is within 4 standard errors (`1/sqrt(N)`) of 0.

use rayon::prelude::*;
use simlanes::Backend;
use simlanes::backend::simd::WidePrecision;
use simlanes::simcore::lane::{Precision, Real};
use simlanes::simcore::models::ou::{OuCoeffs, normals_per_block, ou_chunk_sums};

use super::{Ctx, Measured, Meta, threads_of, within_4se};
use crate::bench::machine::pinned_pool;
use crate::bench::report::Row;
use crate::bench::timing::repeat;

/// The noise-only row of `meta` on `b` (SIMD or threaded; `None` for the other backends):
/// `per_stream` normals of precision `P` from each of `streams` streams of `seed`, the row's
/// work `work` (in the workload's own unit) per timed run.
pub fn row<P: WidePrecision>(
    b: Backend,
    ctx: &Ctx,
    meta: Meta,
    streams: usize,
    per_stream: usize,
    work: f64,
) -> Option<Row> {
    if !matches!(b, Backend::Simd | Backend::Threaded(_)) {
        return None;
    }
    // Chunks per call: two lane groups, each chunk whole generator blocks. A count that
    // does not split so (W2's sweep: 50 000 steps in 16 chunks of 2-normal blocks) is
    // rounded down to one that does, by fewer than `chunks · per` normals, and the row's
    // work scaled to match: the rate is that of the normals actually drawn.
    let chunks = 2 * <P::Wide as Real>::LANES;
    let per = normals_per_block::<P>() as usize;
    let drawn = per_stream / (chunks * per) * (chunks * per);
    if streams == 0 || drawn == 0 {
        return Some(meta.failed(format!(
            "{streams} streams of {per_stream} normals: fewer than {chunks} chunks of whole {per}-normal blocks"
        )));
    }
    let work = work * drawn as f64 / per_stream as f64;
    let len = (drawn / chunks) as u64;
    // Pinned, as the threaded backend of the rows it is compared with.
    let pool = match pinned_pool(threads_of(b).max(1)) {
        Ok(p) => p,
        Err(e) => return Some(meta.failed(e)),
    };
    let one = <P as Precision>::from_f64(1.0);
    let sum_ones = OuCoeffs { relax: P::Wide::splat(one), diffuse: P::Wide::splat(one) };
    let seed = ctx.seed;
    let lane_sum = |v: P::Wide| (0..<P::Wide as Real>::LANES).map(|l| v.lane(l).to_f64()).sum::<f64>();
    let draw = || -> f64 {
        pool.install(|| {
            (0..streams as u64)
                .into_par_iter()
                .map(|s| {
                    let lanes = <P::Wide as Real>::LANES;
                    let chunk = |g: usize| {
                        let start = |l: usize| (g * lanes + l) as u64 * len;
                        ou_chunk_sums::<P::Wide>(seed, |_| s, start, len, &sum_ones)
                    };
                    let (a, b) = (chunk(0), chunk(1));
                    lane_sum(a) + lane_sum(b)
                })
                .sum()
        })
    };
    let (stats, sum) = repeat(ctx.repeats(), ctx.budget_s(), draw);
    let n = (streams * drawn) as f64;
    let check = within_4se("mean of the normals", sum / n, 0.0, 1.0 / n.sqrt());
    let mut row = meta.row(Measured { stats, work, bytes: None, flops: None, check });
    if drawn < per_stream {
        row.note = Some(format!("{drawn} of the {per_stream} normals per stream (whole blocks per chunk)"));
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::super::Size;
    use super::*;

    fn noise_row(per_stream: usize) -> Row {
        let ctx = Ctx { size: Size::Quick, seed: 3, quick: true };
        let meta = Meta::new("W2", "noise only", Backend::Simd, "steps/s");
        row::<f64>(Backend::Simd, &ctx, meta, 2, per_stream, per_stream as f64).expect("SIMD has a noise row")
    }

    #[test]
    fn counts_that_do_not_split_into_whole_blocks_are_rounded_down_and_the_work_with_them() {
        // f64x8: 16 chunks of 2-normal blocks, so whole multiples of 32 normals.
        let exact = noise_row(3200);
        assert!(exact.check.pass && exact.note.is_none(), "{exact:?}");
        assert_eq!(exact.work, 3200.0);
        let rounded = noise_row(3210);
        assert!(rounded.check.pass, "{rounded:?}");
        assert_eq!(rounded.work, 3200.0);
        assert!(rounded.note.as_deref().is_some_and(|n| n.starts_with("3200 of the 3210")), "{rounded:?}");
        let none = noise_row(31);
        assert!(!none.check.pass && none.check.detail.contains("fewer than 16 chunks"), "{none:?}");
    }
}
