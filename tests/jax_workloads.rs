//! The JAX stream mode of every workload (`jax_key: Some(..)`, mapping in
//! `simlanes::workload::jax`): scalar = SIMD = threaded (1 and 2 threads) = the GPU grid
//! emulator bit for bit, on batch sizes around each backend's lane count, under both
//! `jax_threefry_partitionable` layouts; each equal to an independent reference built
//! from the array fills already checked against real JAX (`tests/jax_streams.rs`); and
//! the statistical checks of WORKLOADS.md under a fixed key.

use simlanes::backend::gpu::emulator;
use simlanes::simcore::models::heun::{self, HeunCoeffs, Network, Scratch};
use simlanes::simcore::models::jansen_rit::JansenRit;
use simlanes::simcore::models::mpr::{Mpr, RateStats};
use simlanes::simcore::rng::NormalSource;
use simlanes::workload::jansen_rit::JansenRitSpec;
use simlanes::workload::jax::{JaxKey, Layout, jax_normal, jax_uniform};
use simlanes::workload::mpr::{MprOutput, MprSpec, R0, STAT_FIRST, V0};
use simlanes::workload::ou::{OuParams, OuSpec};
use simlanes::workload::pi::PiSpec;
use simlanes::{Backend, SimError, Simulator, ThreadConfig};

const LAYOUTS: [Layout; 2] = [Layout::Partitionable, Layout::Legacy];

fn key(seed: i128, layout: Layout) -> JaxKey {
    JaxKey::new(seed).unwrap().with_layout(layout)
}

/// Scalar first (the reference of the others), then SIMD and threaded with 1 and 2 threads.
fn cpu_backends() -> Vec<Simulator> {
    let threaded = |t| Backend::Threaded(ThreadConfig { threads: t, tile: None, pin: false });
    [Backend::Scalar, Backend::Simd, threaded(1), threaded(2)]
        .into_iter()
        .map(|b| Simulator::new(b).unwrap())
        .collect()
}

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn bits64(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A caller-supplied normal sequence (the reference feeds the heun loop from an array).
struct Slice<'a>(std::slice::Iter<'a, f32>);

impl NormalSource<f32> for Slice<'_> {
    fn next(&mut self) -> f32 {
        *self.0.next().expect("enough normals")
    }
}

#[test]
fn w1_jax_mode_is_the_count_over_jax_uniforms_on_every_backend() {
    let pairs = 37usize;
    for layout in LAYOUTS {
        for estimates in [1usize, 15, 17] {
            let k = key(2024, layout);
            let spec = PiSpec { seed: 0, pairs_per_estimate: pairs as u64, estimates, jax_key: Some(k) };
            // Reference: xy = jax.random.uniform(split(key, I)[i], (N, 2)), same hit test.
            let want: Vec<u64> = k
                .split(estimates)
                .unwrap()
                .into_iter()
                .map(|ki| {
                    let xy = jax_uniform(ki, &[pairs, 2]).unwrap();
                    xy.chunks(2).filter(|p| p[0].mul_add(p[0], p[1] * p[1]) < 1.0).count() as u64
                })
                .collect();
            for sim in cpu_backends() {
                assert_eq!(sim.pi(&spec).unwrap().hits, want, "{:?} {layout:?} I={estimates}", sim.backend());
            }
            assert_eq!(emulator::pi(&spec).unwrap(), want, "emulator {layout:?} I={estimates}");
            let philox =
                Simulator::new(Backend::Scalar).unwrap().pi(&PiSpec { jax_key: None, ..spec }).unwrap();
            assert!(estimates < 15 || philox.hits != want, "the key must change the draws");
        }
    }
}

#[test]
fn w1_jax_mode_mean_is_within_four_standard_errors_of_pi() {
    let (n, i) = (20_000u64, 64usize);
    let spec =
        PiSpec { seed: 0, pairs_per_estimate: n, estimates: i, jax_key: Some(key(7, Layout::Partitionable)) };
    let out = Simulator::new(Backend::Simd).unwrap().pi(&spec).unwrap();
    let pi = std::f64::consts::PI;
    let se = (pi * (4.0 - pi) / (n as f64 * i as f64)).sqrt();
    assert!((out.mean - pi).abs() < 4.0 * se, "mean {} se {se}", out.mean);
}

#[test]
fn w2_jax_mode_is_mode_c_fed_jax_normals_on_every_backend() {
    let steps = 53usize;
    let params = OuParams { x0: 0.5, ..OuParams::default() };
    for layout in LAYOUTS {
        for num_sim in [1usize, 3, 5, 9] {
            let k = key(99, layout);
            let spec = OuSpec { seed: 0, num_sim, num_steps: steps, params, jax_key: Some(k) };
            // Reference: mode (c) with z[t][i] = jax.random.normal(split(key, n)[i], (steps,))[t].
            let mut z = vec![0.0f64; steps * num_sim];
            for (i, ki) in k.split(num_sim).unwrap().into_iter().enumerate() {
                for (t, &zt) in jax_normal(ki, &[steps]).unwrap().iter().enumerate() {
                    z[t * num_sim + i] = f64::from(zt);
                }
            }
            let scalar = Simulator::new(Backend::Scalar).unwrap();
            let want = bits64(&scalar.ou_with_normals(&spec, &z).unwrap());
            let mut want_path = vec![0.0; (steps + 1) * num_sim];
            let c = params.coeffs_f64();
            for i in 0..num_sim {
                let mut x = params.x0;
                want_path[i] = x;
                for t in 0..steps {
                    x = x * c.relax + c.diffuse * z[t * num_sim + i];
                    want_path[(t + 1) * num_sim + i] = x;
                }
            }
            // Parallel in time (4 chunks of 16 steps) reads the same normals by element
            // index: within the bound of `Simulator::ou_final_parallel_in_time` of the
            // sequential states, the same bits on every backend.
            let u = f64::EPSILON / 2.0;
            let max_x = want_path.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let max_dz = z.iter().fold(0.0f64, |m, x| m.max((c.diffuse * x).abs()));
            let (chunks, log_len) = (4.0, 5.0); // ⌈log2(16 + 1)⌉
            let bound =
                u * ((2.0 * max_dz + 6.0 * max_x) / (1.0 - c.relax) + chunks * max_x * (2.0 + 2.0 * log_len));
            let pit = scalar.ou_final_parallel_in_time(&spec, 4).unwrap();
            for (p, w) in pit.iter().zip(&want) {
                assert!((p - f64::from_bits(*w)).abs() <= bound, "{p} vs {}", f64::from_bits(*w));
            }
            let want_path = bits64(&want_path);
            assert_eq!(&want_path[steps * num_sim..], &want[..]);
            for sim in cpu_backends() {
                let tag = format!("{:?} {layout:?} n={num_sim}", sim.backend());
                assert_eq!(bits64(&sim.ou_final(&spec).unwrap()), want, "{tag}");
                let mut path = vec![0.0; spec.path_len().unwrap()];
                sim.ou_path(&spec, &mut path).unwrap();
                assert_eq!(bits64(&path), want_path, "{tag}");
                assert_eq!(bits64(&sim.ou_final_parallel_in_time(&spec, 4).unwrap()), bits64(&pit), "{tag}");
            }
            assert_eq!(bits64(&emulator::ou_final_spec(&spec).unwrap()), want);
            assert_eq!(bits64(&emulator::ou_path_spec(&spec).unwrap()), want_path);
        }
    }
}

/// As the Philox check in `tests/w2_ou.rs` (derivation there), at a smaller size.
#[test]
fn w2_jax_mode_stationary_variance_and_lag_one_autocorrelation() {
    let (k, burn, m) = (8usize, 500usize, 60_000usize);
    let spec = OuSpec {
        seed: 0,
        num_sim: k,
        num_steps: burn + m,
        params: OuParams::default(),
        jax_key: Some(key(11, Layout::Partitionable)),
    };
    let mut path = vec![0.0; spec.path_len().unwrap()];
    Simulator::new(Backend::Simd).unwrap().ou_path(&spec, &mut path).unwrap();
    let (rho, sigma2) = ((-0.1f64).exp(), 4.0);
    let (mut sxx, mut sxy) = (0.0f64, 0.0f64);
    for i in 0..k {
        for t in burn..burn + m {
            let (x, y) = (path[t * k + i], path[(t + 1) * k + i]);
            sxx += x * x;
            sxy += x * y;
        }
    }
    let km = (k * m) as f64;
    let se_var = sigma2 * (2.0 * (1.0 + rho * rho) / ((1.0 - rho * rho) * km)).sqrt();
    assert!((sxx / km - sigma2).abs() < 4.0 * se_var, "variance {}, se {se_var}", sxx / km);
    let se_rho = ((1.0 - rho * rho) / km).sqrt();
    assert!((sxy / sxx - rho).abs() < 4.0 * se_rho, "rho {} vs {rho}", sxy / sxx);
}

/// W4 member `b` integrated by the core Heun loop fed `jax_normal(k_b, (nt, nn, 6))`.
fn jansen_rit_reference(spec: &JansenRitSpec, b: usize, z: &[f32]) -> Vec<f32> {
    let nn = spec.nn;
    let nv = 6;
    let member = |v: &[f32]| if v.len() == 1 { v[0] } else { v[b] };
    let model = JansenRit::<f32>::new(&spec.params, member(&spec.mu));
    let net = Network::new(nn, &spec.weights, spec.lags.as_deref()).unwrap();
    let h = HeunCoeffs::<f32>::new(spec.dt, spec.sigma).unwrap();
    let mut x: Vec<f32> =
        (0..nv * nn).map(|e| spec.initial.as_ref().map_or(0.0, |x0| x0[e * spec.batch + b])).collect();
    let (mut xp, mut f1, mut nz) = (vec![0.0; nv * nn], vec![0.0; nv * nn], vec![0.0; nv * nn]);
    let (mut cv, mut c, mut hist) = (vec![0.0; nn], vec![0.0; nn], vec![0.0; heun::RING * nn]);
    let mut s = Scratch { xp: &mut xp[..], f1: &mut f1[..], nz: &mut nz[..], cv: &mut cv[..], c: &mut c[..] };
    let hist = if spec.lags.is_some() {
        heun::init_history::<f32, _, [f32], 6>(&model, nn, &x[..], &mut hist[..]);
        Some(&mut hist[..])
    } else {
        None
    };
    let mut normals = Slice(z.iter());
    heun::run::<f32, _, [f32], 6>(
        &model,
        &net,
        member(&spec.k),
        &h,
        &mut x[..],
        hist,
        &mut s,
        &mut normals,
        0,
        spec.nt as u64,
        |_, _| {},
    );
    assert!(normals.0.next().is_none(), "every normal used once");
    x
}

#[test]
fn w4_and_w4d_jax_mode_is_heun_fed_jax_normals_on_every_backend() {
    let (nn, nt) = (3usize, 24usize);
    for layout in LAYOUTS {
        for delays in [false, true] {
            for batch in [1usize, 7, 9, 17] {
                let k = key(5, layout);
                let mut spec = JansenRitSpec::with_size(3, nn, nt, batch).unwrap();
                if delays {
                    spec = spec.with_default_lags().unwrap();
                }
                spec.sigma = 0.05;
                spec.k = (0..batch).map(|b| 0.01 * (1 + b % 3) as f32).collect();
                spec.jax_key = Some(k);
                let mut want = vec![0.0f32; 6 * nn * batch];
                for (b, kb) in k.split(batch).unwrap().into_iter().enumerate() {
                    let z = jax_normal(kb, &[nt, nn, 6]).unwrap();
                    for (e, v) in jansen_rit_reference(&spec, b, &z).into_iter().enumerate() {
                        want[e * batch + b] = v;
                    }
                }
                let want = bits32(&want);
                for sim in cpu_backends() {
                    let got = bits32(&sim.jansen_rit(&spec).unwrap());
                    assert_eq!(got, want, "{:?} {layout:?} delays={delays} B={batch}", sim.backend());
                }
                assert_eq!(bits32(&emulator::jansen_rit(&spec).unwrap()), want, "emulator");
                let philox = Simulator::new(Backend::Scalar)
                    .unwrap()
                    .jansen_rit(&JansenRitSpec { jax_key: None, ..spec });
                assert_ne!(bits32(&philox.unwrap()), want, "the key must change the noise");
            }
        }
    }
}

/// W5 member `b` through the core Heun loop fed `jax_normal(k_b, (nt, nn, 2))`: its
/// statistic and final state `[2][nn]`.
fn mpr_reference(spec: &MprSpec, b: usize, z: &[f32]) -> (f64, Vec<f32>) {
    let nn = spec.nn;
    let member = |v: &[f32]| if v.len() == 1 { v[0] } else { v[b] };
    let model = Mpr::<f32>::new(&spec.params, member(&spec.eta));
    let net = Network::new(nn, &spec.weights, None).unwrap();
    let h = HeunCoeffs::<f32>::new(spec.dt, spec.sigma).unwrap();
    let mut x: Vec<f32> = (0..2 * nn).map(|e| if e < nn { R0 } else { V0 }).collect();
    let (mut xp, mut f1, mut nz) = (vec![0.0; 2 * nn], vec![0.0; 2 * nn], vec![0.0; 2 * nn]);
    let (mut cv, mut c) = (vec![0.0; nn], vec![0.0; nn]);
    let mut s = Scratch { xp: &mut xp[..], f1: &mut f1[..], nz: &mut nz[..], cv: &mut cv[..], c: &mut c[..] };
    let mut stats = RateStats::default();
    let mut normals = Slice(z.iter());
    heun::run::<f32, _, [f32], 2>(
        &model,
        &net,
        member(&spec.k),
        &h,
        &mut x[..],
        None,
        &mut s,
        &mut normals,
        0,
        spec.nt as u64,
        |t, x| {
            if t >= STAT_FIRST as u64 {
                x[..nn].iter().for_each(|&r| stats.push(r));
            }
        },
    );
    (stats.std(), x)
}

#[test]
fn w5_jax_mode_is_heun_fed_jax_normals_on_every_backend() {
    let (nn, nt) = (3usize, STAT_FIRST + 6);
    for layout in LAYOUTS {
        for batch in [1usize, 7, 9, 17] {
            let k = key(-3, layout);
            let full = MprSpec::sweep_sized(1, nn, nt).unwrap();
            let spec = MprSpec {
                batch,
                k: full.k[..batch].to_vec(),
                eta: full.eta[..batch].to_vec(),
                jax_key: Some(k),
                ..full
            };
            let mut want = MprOutput { std_r: vec![0.0; batch], final_state: vec![0.0; 2 * nn * batch] };
            for (b, kb) in k.split(batch).unwrap().into_iter().enumerate() {
                let z = jax_normal(kb, &[nt, nn, 2]).unwrap();
                let (sd, x) = mpr_reference(&spec, b, &z);
                want.std_r[b] = sd;
                for (e, v) in x.into_iter().enumerate() {
                    want.final_state[e * batch + b] = v;
                }
            }
            let check = |got: MprOutput, tag: &str| {
                assert_eq!(bits64(&got.std_r), bits64(&want.std_r), "{tag} {layout:?} B={batch}");
                assert_eq!(bits32(&got.final_state), bits32(&want.final_state), "{tag} {layout:?} B={batch}");
            };
            for sim in cpu_backends() {
                check(sim.mpr(&spec).unwrap(), &format!("{:?}", sim.backend()));
            }
            check(emulator::mpr(&spec).unwrap(), "emulator");
        }
    }
}

#[test]
fn partitionable_member_draws_do_not_depend_on_the_batch_size() {
    // split(key, n)[i] = fold_in(key, i) under the partitionable layout: a prefix of the
    // batch gives the same members; under the legacy layout it does not.
    let spec = |b, layout| OuSpec {
        seed: 0,
        num_sim: b,
        num_steps: 20,
        params: OuParams::default(),
        jax_key: Some(key(1, layout)),
    };
    let sim = Simulator::new(Backend::Simd).unwrap();
    let (a, b) = (
        sim.ou_final(&spec(3, Layout::Partitionable)).unwrap(),
        sim.ou_final(&spec(6, Layout::Partitionable)).unwrap(),
    );
    assert_eq!(bits64(&a), bits64(&b[..3]));
    let (a, b) =
        (sim.ou_final(&spec(3, Layout::Legacy)).unwrap(), sim.ou_final(&spec(6, Layout::Legacy)).unwrap());
    assert_ne!(bits64(&a), bits64(&b[..3]));
}

#[test]
fn legacy_limits_are_typed_errors() {
    let legacy = key(0, Layout::Legacy);
    let sim = Simulator::new(Backend::Scalar).unwrap();
    // 2^31 estimates cannot be split under the legacy layout.
    let pi = PiSpec { seed: 0, pairs_per_estimate: 1, estimates: 1 << 31, jax_key: Some(legacy) };
    assert!(matches!(sim.pi(&pi), Err(SimError::Param(_))));
    // 2^31 pairs = 2^32 words per member: over the legacy limit, fine when partitionable.
    let pi = PiSpec { seed: 0, pairs_per_estimate: 1 << 31, estimates: 1, jax_key: Some(legacy) };
    assert!(matches!(pi.validate(), Err(SimError::Param(_))));
    let ok = PiSpec { jax_key: Some(key(0, Layout::Partitionable)), ..pi };
    assert!(ok.validate().is_ok());
    // nt·nn·6 = 3·2^32 normals per member.
    let jr = JansenRitSpec { jax_key: Some(legacy), ..JansenRitSpec::with_size(0, 2, 1 << 30, 1).unwrap() };
    assert!(matches!(jr.validate(), Err(SimError::Param(_))));
    assert!(JansenRitSpec { jax_key: Some(key(0, Layout::Partitionable)), ..jr }.validate().is_ok());
}

/// W3 grid of `g` points, `d` arms: logits in (-1.5, 1.5).
fn w3_theta(g: usize, d: usize) -> Vec<f64> {
    (0..g * d).map(|i| ((i as f64 * 0.754_877_666).fract() - 0.5) * 3.0).collect()
}

#[test]
fn w3_jax_fused_equals_the_pregenerated_jax_array_on_every_backend() {
    use simlanes::calibration::binomial::{BinomialModel, Counting};
    use simlanes::calibration::{Grid, Tiling, calibrate, validate};
    use simlanes::workload::binomial::{BinomialSpec, Uniforms};
    use simlanes::workload::jax::binomial_uniforms_from_jax_key;
    for layout in LAYOUTS {
        let k = key(5, layout);
        // d = 4 (the four-arm fast path) and d = 3; S around the lane counts.
        for (n, d, sims) in [(3usize, 4usize, 19usize), (2, 3, 9), (1, 4, 8), (20, 4, 17)] {
            let u = binomial_uniforms_from_jax_key(k, sims, n, d).unwrap();
            let jax = Uniforms::Jax { key: k, sims };
            let spec = BinomialSpec { seed: 0, theta: w3_theta(6, d), d, n, sims, null_truth: None };
            let lambda = 0.5;
            let want = Simulator::new(Backend::Scalar)
                .unwrap()
                .binomial_validate(&spec, lambda, Uniforms::Pregenerated(&u))
                .unwrap();
            assert!(want.iter().any(|&r| r > 0) && want.iter().any(|&r| r < sims as u64), "{want:?}");
            let want_lam = Simulator::new(Backend::Scalar)
                .unwrap()
                .binomial_calibrate(&spec, 0.2, Uniforms::Pregenerated(&u))
                .unwrap();
            for sim in cpu_backends() {
                let what = format!("{layout:?} n {n} d {d} S {sims} {:?}", sim.backend());
                assert_eq!(sim.binomial_validate(&spec, lambda, jax).unwrap(), want, "{what}");
                assert_eq!(
                    bits32(&sim.binomial_calibrate(&spec, 0.2, jax).unwrap()),
                    bits32(&want_lam),
                    "{what}"
                );
            }
            // The GPU kernels' path (host-drawn array) in the emulator.
            let plan = spec.plan(jax).unwrap();
            assert_eq!(emulator::binomial_validate_plan(&plan, lambda as f32, 3).unwrap(), want);
            let m = simlanes::workload::binomial::calibration_rank(sims, 0.2).unwrap();
            let lam = simlanes::backend::gpu::calibrate::binomial_calibrate_emulated(&plan, m, 3).unwrap();
            assert_eq!(bits32(&lam), bits32(&want_lam));
            // The calibration engine, brute force and sorted counting.
            let grid = Grid::new(d, w3_theta(6, d)).unwrap();
            let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2))).unwrap();
            for counting in [Counting::BruteForce, Counting::Sorted] {
                let m = BinomialModel::new(0, n, d).unwrap().with_counting(counting);
                let (pre, fused) = (m.with_uniforms(Uniforms::Pregenerated(&u)), m.with_uniforms(jax));
                let tiling = Tiling::new(4, 8);
                assert_eq!(
                    validate(&sim, &fused, &grid, lambda, 0.01, sims, tiling).unwrap(),
                    validate(&sim, &pre, &grid, lambda, 0.01, sims, tiling).unwrap()
                );
                let (a, b) = (
                    calibrate(&sim, &fused, &grid, 0.2, sims, tiling).unwrap(),
                    calibrate(&sim, &pre, &grid, 0.2, sims, tiling).unwrap(),
                );
                assert_eq!(bits32(&a.lambda), bits32(&b.lambda), "{counting:?}");
            }
        }
    }
}

#[test]
fn w3_jax_fused_checks_its_draw() {
    use simlanes::calibration::binomial::BinomialModel;
    use simlanes::calibration::{Grid, Tiling, validate};
    use simlanes::workload::binomial::{BinomialSpec, Uniforms};
    let sim = Simulator::new(Backend::Simd).unwrap();
    let spec = BinomialSpec { seed: 0, theta: w3_theta(2, 4), d: 4, n: 2, sims: 10, null_truth: None };
    // A draw of another S.
    let other = Uniforms::Jax { key: key(1, Layout::Partitionable), sims: 11 };
    assert!(matches!(
        sim.binomial_validate(&spec, 0.5, other),
        Err(SimError::Shape { name: "jax sims", .. })
    ));
    let m = BinomialModel::new(0, 2, 4).unwrap().with_uniforms(other);
    let grid = Grid::new(4, w3_theta(2, 4)).unwrap();
    assert!(matches!(
        validate(&sim, &m, &grid, 0.5, 0.01, 10, Tiling::default()),
        Err(SimError::Shape { name: "jax sims", .. })
    ));
    // S·n·d = 2^32 words: over the legacy limit (refused before anything runs), fine
    // when partitionable.
    let (n, sims) = (1usize << 22, 256usize);
    let big = BinomialSpec { n, sims, ..spec };
    for (layout, ok) in [(Layout::Legacy, false), (Layout::Partitionable, true)] {
        let plan = big.plan(Uniforms::Jax { key: key(1, layout), sims });
        assert_eq!(plan.is_ok(), ok, "{layout:?}");
        if !ok {
            assert!(matches!(plan, Err(SimError::Param(_))));
        }
    }
}
