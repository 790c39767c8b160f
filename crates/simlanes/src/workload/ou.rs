//! W2 — the Ornstein–Uhlenbeck process, exact discretisation, f64 (WORKLOADS.md W2).
//! Simulation `i` takes its normals from stream `i` of the seed; the step and the
//! coefficient roundings are fixed in [`simcore::models::ou`].
//!
//! Three modes: (a) [`Simulator::ou_path`] writes every state, layout `[t][sim]` (batch
//! innermost, `num_steps + 1` rows including `x0`); (b) [`Simulator::ou_final`] keeps the
//! final state only; (c) [`Simulator::ou_with_normals`] runs the deterministic part on
//! normals the caller supplies (layout `[t][sim]`).

use crate::error::SimError;
use crate::simulator::{Backend, Simulator};
use crate::workload::jax::{JaxKey, check_member_draws};
use simcore::ParamError;
use simcore::error::nonzero;
pub use simcore::models::ou::OuParams;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OuSpec {
    /// Seed of the random streams (benchmarks use 0).
    pub seed: u64,
    /// Number of independent simulations (>= 1); simulation `i` uses stream `i`.
    pub num_sim: usize,
    /// Steps per simulation (0 allowed: the output is then `x0`).
    pub num_steps: usize,
    /// Model parameters (defaults: `dt = 0.1, τ = 1, σ = 2, x0 = 0`).
    pub params: OuParams,
    /// When `Some`, the normals of modes (a) and (b) come from this JAX key, not from the Philox streams of
    /// `seed`: simulation `i` of the batch draws with key `jax.random.split(key, num_sim)[i]`,
    /// `z[t]` = `jax.random.normal(k_i, (num_steps,))[t]` (f32, widened exactly to f64) (mapping and migration example in [`crate::workload::jax`]).
    /// Mode (c) ignores it.
    pub jax_key: Option<JaxKey>,
}

impl OuSpec {
    /// Checks the parameters and sizes.
    ///
    /// # Errors
    /// [`SimError::Param`]: invalid [`OuParams`], `num_sim = 0`, or a path length
    /// `(num_steps + 1)·num_sim` that overflows `usize`.
    pub fn validate(&self) -> Result<(), SimError> {
        self.params.validate()?;
        nonzero("num_sim", self.num_sim)?;
        self.path_len()?;
        check_member_draws(self.jax_key, self.num_sim, Some(self.num_steps as u64))?;
        Ok(())
    }

    /// Length of a full path array, `(num_steps + 1)·num_sim`.
    ///
    /// # Errors
    /// [`ParamError::TooLarge`] when it overflows `usize`.
    pub fn path_len(&self) -> Result<usize, SimError> {
        self.num_steps.checked_add(1).and_then(|r| r.checked_mul(self.num_sim)).ok_or(SimError::Param(
            ParamError::TooLarge { name: "(num_steps+1)*num_sim", max: usize::MAX as u64 },
        ))
    }
}

impl Simulator {
    /// W2 mode (b): the final state `x[num_steps]` of every simulation.
    ///
    /// # Errors
    /// As [`OuSpec::validate`].
    pub fn ou_final(&self, spec: &OuSpec) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        crate::memory::ensure_allocatable::<f64>("final states", spec.num_sim)?;
        Ok(match self.backend() {
            Backend::Scalar => crate::backend::scalar::ou::final_states(spec),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::ou::final_states(self, spec),
            Backend::Gpu { .. } => self.device()?.ou_final(spec)?,
        })
    }

    /// W2 mode (a): every state, `out[t·num_sim + i] = x_i[t]` for `t = 0..=num_steps`.
    ///
    /// # Errors
    /// As [`OuSpec::validate`], and [`SimError::Shape`] when `out.len()` is not
    /// `(num_steps + 1)·num_sim`. Nothing is written on error.
    pub fn ou_path(&self, spec: &OuSpec, out: &mut [f64]) -> Result<(), SimError> {
        spec.validate()?;
        let expected = spec.path_len()?;
        if out.len() != expected {
            return Err(SimError::Shape { name: "out", expected, got: out.len() });
        }
        match self.backend() {
            Backend::Scalar => crate::backend::scalar::ou::path(spec, out),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::ou::path(spec, out),
            Backend::Gpu { .. } => self.device()?.ou_path(spec, out)?,
        }
        Ok(())
    }

    /// W2 mode (c): the final states when `z[t·num_sim + i]` is the normal of simulation
    /// `i` at step `t` (`z` has `num_steps·num_sim` entries; `spec.seed` is unused).
    /// Non-finite normals are not rejected; they propagate into the affected states.
    ///
    /// # Errors
    /// As [`OuSpec::validate`], and [`SimError::Shape`] when `z.len()` is not
    /// `num_steps·num_sim`.
    pub fn ou_with_normals(&self, spec: &OuSpec, z: &[f64]) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        // Cannot overflow: (num_steps + 1)·num_sim fits.
        let expected = spec.num_steps * spec.num_sim;
        if z.len() != expected {
            return Err(SimError::Shape { name: "z", expected, got: z.len() });
        }
        Ok(match self.backend() {
            Backend::Scalar => crate::backend::scalar::ou::with_normals(spec, z),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::ou::with_normals(self, spec, z),
            Backend::Gpu { .. } => self.device()?.ou_with_normals(spec, z)?,
        })
    }

    /// W2 mode (b), **parallel in time**: the final states, computed by cutting each path
    /// into at most `chunks_per_sim` chunks of `len = ⌈num_steps/chunks⌉` steps (rounded up
    /// to a multiple of 4), running every chunk **from 0** as its own lane or thread task
    /// ([`simcore::models::ou::ou_chunk_sums`]), and stitching in order:
    /// `x ← fma(x, relax^len_c, y_c)` from `x0`. The recurrence is linear, so this is the
    /// same quantity as [`Self::ou_final`] (the sequential oracle and the default) up to
    /// rounding. Every backend gives the same bits for the same `chunks_per_sim`; on
    /// [`Backend::Gpu`] one device thread runs each chunk (kernel `ou_chunk_sums`) and the
    /// host stitches, so a few long paths fill the GPU: give it thousands of chunks per
    /// simulation there (tens on a CPU).
    /// With `spec.jax_key` set the chunks read the JAX normals of [`Self::ou_final`]'s JAX
    /// mode ([`simcore::models::ou::ou_chunk_sums_jax`], random access by element index),
    /// within the same bound of it.
    ///
    /// **Agreement bound.** With `u = 2^-53`, `r = relax`, `M_x = max_t |x_t|` over the
    /// path and `M_z = max_t |diffuse·z_t|`, `C` chunks of `len` steps:
    ///
    /// `|x_par − x_seq| ≤ u·[(2·M_z + 6·M_x)/(1 − r) + C·M_x·(2 + 2⌈log2(len + 1)⌉)]`.
    ///
    /// Derivation: a step `fl(fl(x·r) + fl(d·z))` errs by at most
    /// `u·(r·|x| + |d·z| + |x'|) ≤ u·(|d·z| + 2·M_x)` and errors decay by `r` per step,
    /// so the sequential loop is within `u·(M_z + 2·M_x)/(1 − r)` of the exact recurrence
    /// (same `r`, `d`). A chunk sum runs the same recurrence with states `|y| ≤ 2·M_x`
    /// (`y = x_t − r^s·x_start`); its errors are decayed by the later carries exactly as
    /// per-step errors are, so all chunk sums together add at most
    /// `u·(M_z + 4·M_x)/(1 − r)`. Each stitch rounds once (`u·M_x`) and its carry
    /// `relax^len` has relative error `≤ 2⌈log2(len + 1)⌉·u` (binary powering),
    /// multiplying `|x| ≤ M_x`. At the seed size (σ = 2, `r = e^-0.1`, `M_x ≈ 5σ`,
    /// `M_z ≈ 5.5·d`), 64 chunks of 78 125 steps: `≈ 2.6e-12 ≈ 1.3e-12·σ`, almost all of
    /// it the carries' term.
    ///
    /// # Errors
    /// As [`OuSpec::validate`], and [`SimError::Param`] (`ZeroSize`) for
    /// `chunks_per_sim = 0`.
    pub fn ou_final_parallel_in_time(
        &self,
        spec: &OuSpec,
        chunks_per_sim: usize,
    ) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        nonzero("chunks_per_sim", chunks_per_sim)?;
        crate::memory::ensure_allocatable::<f64>("final states", spec.num_sim)?;
        let Some(ch) = crate::backend::simd::ou::Chunking::new(spec.num_steps, chunks_per_sim) else {
            return Ok(vec![spec.params.x0; spec.num_sim]);
        };
        // Every chunk's sum, and the work list (one entry per 8 chunks at most).
        let sums = spec.num_sim.saturating_mul(ch.count);
        crate::memory::ensure_all_allocatable("parallel-in-time chunk sums", &[(sums, 8 + 8)])?;
        let y = match self.backend() {
            Backend::Gpu { .. } => self.device()?.ou_chunk_sums(spec, &ch)?,
            _ => crate::backend::simd::ou::chunk_sums(self, spec, &ch),
        };
        Ok(crate::backend::simd::ou::stitch_final_states(spec, &ch, &y))
    }

    /// W2 mode (a), **parallel in time**: every state, `out[t·num_sim + i] = x_i[t]`, by
    /// chunks of rows computed from 0 on threads and then corrected with the carry
    /// `relax^k·x_start` (see `backend::simd::ou::path_parallel_in_time` for the steps).
    /// [`Self::ou_path`] stays the sequential oracle and the default. Every backend gives
    /// the same bits for the same `chunks_per_sim`; on [`Backend::Gpu`] this mode runs on
    /// the CPU, on one thread. With `spec.jax_key` set the chunks read the JAX normals of
    /// [`Self::ou_path`]'s JAX mode from their first element on, within the same bound.
    ///
    /// **Agreement bound** (notation of [`Self::ou_final_parallel_in_time`]), for every `t`:
    /// `|x_par[t] − x_seq[t]| ≤ u·[(2·M_z + 6·M_x)/(1 − r) + C·M_x·(2 + 1/(1 − r))]`:
    /// the carries are running products, `relax^k` to within `k·u` relative, so a
    /// correction errs by at most `M_x·u·k·r^k ≤ M_x·u/(e·ln(1/r)) ≤ M_x·u/(1 − r)`.
    ///
    /// # Errors
    /// As [`Self::ou_path`], and [`SimError::Param`] (`ZeroSize`) for
    /// `chunks_per_sim = 0`. Nothing is written on error.
    pub fn ou_path_parallel_in_time(
        &self,
        spec: &OuSpec,
        out: &mut [f64],
        chunks_per_sim: usize,
    ) -> Result<(), SimError> {
        spec.validate()?;
        nonzero("chunks_per_sim", chunks_per_sim)?;
        let expected = spec.path_len()?;
        if out.len() != expected {
            return Err(SimError::Shape { name: "out", expected, got: out.len() });
        }
        let ch = crate::backend::simd::ou::Chunking::new(spec.num_steps, chunks_per_sim);
        if let Some(ch) = &ch {
            // The chunks' start states.
            let starts = spec.num_sim.saturating_mul(ch.count);
            crate::memory::ensure_allocatable::<f64>("parallel-in-time chunk starts", starts)?;
        }
        match ch {
            None => out.fill(spec.params.x0),
            Some(ch) => crate::backend::simd::ou::path_parallel_in_time(self, spec, &ch, out),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ThreadConfig;
    use crate::workload::jax::Layout;
    use simcore::models::ou::ou_step;
    use simcore::rng::jax::JaxNormalsWidened;
    use simcore::rng::{NormalSeq, NormalSource, Stream};

    /// The sequential final state of simulation `i`, with `M_x = max |x_t|` and
    /// `M_z = max |diffuse·z_t|` along the path.
    /// With a JAX key the normals are those of the JAX mode (`JaxNormalsWidened`).
    fn oracle(spec: &OuSpec, i: u64) -> (f64, f64, f64) {
        let c = spec.params.coeffs::<f64>();
        let mut philox = NormalSeq::new(Stream::<f64>::consecutive(spec.seed, i), 0);
        let mut jax = spec.jax_key.map(|key| {
            let lanes =
                crate::workload::jax::member_lanes::<u32>(key, spec.num_sim, i, spec.num_steps as u64);
            JaxNormalsWidened::<f64>::new(lanes.expect("valid draw"), 0)
        });
        let (mut x, mut mx, mut mz) = (spec.params.x0, spec.params.x0.abs(), 0.0f64);
        for _ in 0..spec.num_steps {
            let zt = match jax.as_mut() {
                Some(z) => NormalSource::next(z),
                None => philox.next(),
            };
            mz = mz.max((c.diffuse * zt).abs());
            x = ou_step(x, zt, &c);
            mx = mx.max(x.abs());
        }
        (x, mx, mz)
    }

    #[test]
    fn parallel_in_time_is_within_the_stated_bound_of_sequential() {
        let u = f64::EPSILON / 2.0;
        let sims = [
            Simulator::new(Backend::Scalar).expect("scalar"),
            Simulator::new(Backend::Simd).expect("simd"),
            Simulator::new(Backend::Threaded(ThreadConfig::new(2))).expect("threads"),
        ];
        // Philox streams, and JAX keys under both layouts (the chunks then read the JAX
        // normals by element index).
        let jax = |seed: u64, layout| Some(JaxKey::new(i128::from(seed)).expect("key").with_layout(layout));
        for (seed, steps, chunks, x0, tau, jax_key) in [
            (1u64, 20_000usize, 16usize, 0.0, 1.0, None),
            (2, 20_001, 7, 3.0, 1.0, None),
            (3, 9_999, 40, -1.0, 30.0, None),
            (4, 20_001, 7, 3.0, 1.0, jax(4, Layout::Partitionable)),
            (5, 9_999, 40, -1.0, 30.0, jax(5, Layout::Legacy)),
        ] {
            let params = OuParams { x0, tau, ..OuParams::default() };
            let spec = OuSpec { seed, num_sim: 5, num_steps: steps, params, jax_key };
            let seq = sims[0].ou_final(&spec).expect("valid");
            let par = sims[0].ou_final_parallel_in_time(&spec, chunks).expect("valid");
            let r = spec.params.coeffs::<f64>().relax;
            let ch = crate::backend::simd::ou::Chunking::new(steps, chunks).expect("steps > 0");
            let log = (usize::BITS - ch.len.leading_zeros()) as f64; // ⌈log2(len + 1)⌉
            for i in 0..spec.num_sim {
                let (x, mx, mz) = oracle(&spec, i as u64);
                assert_eq!(x, seq[i]);
                let bound =
                    u * ((2.0 * mz + 6.0 * mx) / (1.0 - r) + ch.count as f64 * mx * (2.0 + 2.0 * log));
                assert!((par[i] - x).abs() <= bound, "seed {seed} sim {i}: {} vs {x}, bound {bound}", par[i]);
            }
            for sim in &sims[1..] {
                let got = sim.ou_final_parallel_in_time(&spec, chunks).expect("valid");
                assert_eq!(
                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    par.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{:?}",
                    sim.backend()
                );
            }
        }
    }

    #[test]
    fn parallel_in_time_edge_cases() {
        let sim = Simulator::new(Backend::Simd).expect("simd");
        let spec = OuSpec {
            seed: 0,
            num_sim: 3,
            num_steps: 0,
            params: OuParams { x0: 1.25, ..OuParams::default() },
            jax_key: None,
        };
        assert_eq!(sim.ou_final_parallel_in_time(&spec, 4).expect("valid"), vec![1.25; 3]);
        assert!(matches!(
            sim.ou_final_parallel_in_time(&spec, 0),
            Err(SimError::Param(ParamError::ZeroSize { name: "chunks_per_sim" }))
        ));
        // One chunk starting from x0 = 0 is the sequential loop itself, bit for bit.
        let spec = OuSpec { num_steps: 1001, params: OuParams::default(), ..spec };
        assert_eq!(
            sim.ou_final_parallel_in_time(&spec, 1).expect("valid"),
            sim.ou_final(&spec).expect("valid")
        );
        // More chunks than steps: chunks of 4 steps.
        let spec = OuSpec { num_steps: 10, ..spec };
        let got = sim.ou_final_parallel_in_time(&spec, 100).expect("valid");
        let want = sim.ou_final(&spec).expect("valid");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-14, "{g} {w}");
        }
    }

    #[test]
    fn parallel_in_time_path_is_within_the_stated_bound_of_sequential() {
        let u = f64::EPSILON / 2.0;
        let sims = [
            Simulator::new(Backend::Scalar).expect("scalar"),
            Simulator::new(Backend::Simd).expect("simd"),
            Simulator::new(Backend::Threaded(ThreadConfig::new(2))).expect("threads"),
        ];
        // Philox streams, and JAX keys under both layouts (9 members: f64x8, then f64).
        let jax = |seed: u64, layout| Some(JaxKey::new(i128::from(seed)).expect("key").with_layout(layout));
        for (seed, n, steps, chunks, x0, tau, jax_key) in [
            (1u64, 5usize, 20_000usize, 3usize, 2.0, 1.0, None),
            (2, 4, 9_001, 7, -3.0, 1.0, None),
            (3, 1, 2_000, 5, 1.0, 300.0, None),
            (4, 9, 9_001, 7, -3.0, 1.0, jax(4, Layout::Partitionable)),
            (5, 5, 2_000, 5, 1.0, 300.0, jax(5, Layout::Legacy)),
        ] {
            let params = OuParams { x0, tau, ..OuParams::default() };
            let spec = OuSpec { seed, num_sim: n, num_steps: steps, params, jax_key };
            let len = spec.path_len().expect("fits");
            let mut seq = vec![0.0; len];
            sims[0].ou_path(&spec, &mut seq).expect("valid");
            let mut par = vec![0.0; len];
            sims[0].ou_path_parallel_in_time(&spec, &mut par, chunks).expect("valid");
            let r = spec.params.coeffs::<f64>().relax;
            let count =
                crate::backend::simd::ou::Chunking::new(steps, chunks).expect("steps > 0").count as f64;
            let mut worst = 0.0f64;
            for i in 0..n {
                let (_, mx, mz) = oracle(&spec, i as u64);
                let bound = u * ((2.0 * mz + 6.0 * mx) / (1.0 - r) + count * mx * (2.0 + 1.0 / (1.0 - r)));
                for t in 0..=steps {
                    let d = (par[t * n + i] - seq[t * n + i]).abs();
                    assert!(d <= bound, "seed {seed} sim {i} t {t}: {d} > {bound}");
                    worst = worst.max(d);
                }
            }
            assert!(par != seq || worst == 0.0);
            for sim in &sims[1..] {
                let mut got = vec![f64::NAN; len];
                sim.ou_path_parallel_in_time(&spec, &mut got, chunks).expect("valid");
                assert!(got.iter().zip(&par).all(|(a, b)| a.to_bits() == b.to_bits()), "{:?}", sim.backend());
            }
        }
        let spec = OuSpec { seed: 0, num_sim: 2, num_steps: 3, params: OuParams::default(), jax_key: None };
        let mut short = vec![0.0; 7];
        assert!(matches!(
            sims[1].ou_path_parallel_in_time(&spec, &mut short, 2),
            Err(SimError::Shape { name: "out", expected: 8, got: 7 })
        ));
    }
}
