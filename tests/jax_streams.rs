//! Every value of `../shared/jax_vectors.json` (real JAX 0.10.2 output) reproduced bit for
//! bit: the threefry KATs, keys, splits, fold_ins, bits, uniforms (plain and with
//! minval/maxval), normals, chains and per-arm `u < p` counts — under both
//! `jax_threefry_partitionable` layouts, on scalar lanes (`f32`, `u32`) and on SIMD lanes
//! (`wide::f32x8`, `u32x8`), and through the user API of `simlanes::workload::jax`.

use serde_json::Value;
use simlanes::backend::gpu::emulator;
use simlanes::simcore::rng::jax::{
    self as core_jax, BitWidth, Key, Layout, RandomBits, fill_normal_f32, fill_uniform_f32,
};
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::workload::jax::{JaxKey, binomial_uniforms_from_jax_key, jax_bits32, jax_normal, jax_uniform};
use simlanes::{Backend, Simulator, ThreadConfig};
use wide::{f32x8, u32x8};

/// `<workspace>/../shared/jax_vectors.json`: from `tests/`, two levels up is the directory
/// holding both `main` (the workspace) and `shared`.
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/jax_vectors.json");

fn vectors() -> Value {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("reading {VECTORS}: {e}"));
    serde_json::from_str(&text).expect("jax_vectors.json parses")
}

fn hex(v: &Value) -> u32 {
    let s = v.as_str().expect("hex string");
    u32::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex u32")
}

fn u(v: &Value) -> u32 {
    u32::try_from(v.as_u64().expect("integer")).expect("u32")
}

fn key_of(v: &Value) -> [u32; 2] {
    [u(&v[0]), u(&v[1])]
}

fn seed(v: &Value) -> i128 {
    v.as_i64().map(i128::from).expect("seed fits i64")
}

fn layout(entry: &Value) -> Layout {
    if entry["threefry_partitionable"].as_bool().expect("layout flag") {
        Layout::Partitionable
    } else {
        Layout::Legacy
    }
}

fn shape(entry: &Value) -> Vec<usize> {
    entry["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

fn jkey(entry: &Value) -> JaxKey {
    JaxKey::new(seed(&entry["seed"])).unwrap().with_layout(layout(entry))
}

/// `(flat index, expected)` pairs: the first-16 list (index = position) and an
/// `*_at_flat_index` map.
fn expected(entry: &Value, list: &str, at: &str, conv: fn(&Value) -> u32) -> Vec<(u64, u32)> {
    let mut out: Vec<(u64, u32)> =
        entry[list].as_array().expect(list).iter().enumerate().map(|(i, v)| (i as u64, conv(v))).collect();
    if let Some(map) = entry[at].as_object() {
        out.extend(map.iter().map(|(k, v)| (k.parse().unwrap(), conv(v))));
    }
    out
}

/// Element `i` of a draw of `n` by the lane-generic core fill, on `L` lanes (one full
/// vector starting at `i`, keeping lane 0: also exercises unaligned starts).
fn uniform_at<L: simlanes::simcore::Real<Scalar = f32>>(
    key: JaxKey,
    n: u64,
    lo: f32,
    hi: f32,
    i: u64,
) -> u32 {
    let mut out = vec![0f32; L::LANES];
    fill_uniform_f32::<L>(key.core(), key.layout(), n, lo, hi, i, &mut out).unwrap();
    out[0].to_bits()
}

fn normal_at<L: simlanes::simcore::Real<Scalar = f32>>(key: JaxKey, n: u64, i: u64) -> u32 {
    let mut out = vec![0f32; L::LANES];
    fill_normal_f32::<L>(key.core(), key.layout(), n, i, &mut out).unwrap();
    out[0].to_bits()
}

#[test]
fn threefry_random123_kat_scalar_and_simd() {
    for kat in vectors()["threefry2x32_kat"].as_array().unwrap() {
        let (key, ctr, out) = (
            [hex(&kat["key"][0]), hex(&kat["key"][1])],
            [hex(&kat["ctr"][0]), hex(&kat["ctr"][1])],
            [hex(&kat["out"][0]), hex(&kat["out"][1])],
        );
        assert_eq!(core_jax::threefry2x32::<u32>(key, ctr), out);
        let lanes = core_jax::threefry2x32::<u32x8>(key.map(u32x8::splat), ctr.map(u32x8::splat));
        assert_eq!(lanes.map(|v| v.to_array()), out.map(|w| [w; 8]));
    }
}

#[test]
fn keys_from_seeds() {
    for e in vectors()["keys"].as_array().unwrap() {
        let s = seed(&e["seed"]);
        assert_eq!(JaxKey::new(s).unwrap().data(), key_of(&e["key_x64_false"]), "seed {s}");
        assert_eq!(JaxKey::new_x64(s).unwrap().data(), key_of(&e["key_x64_true"]), "seed {s} x64");
    }
}

#[test]
fn splits_both_layouts() {
    let mut checked = 0;
    for e in vectors()["split"].as_array().unwrap() {
        let key = jkey(e);
        let num = e["num"].as_u64().unwrap();
        let all = key.split(num as usize).unwrap();
        let want: Vec<(u64, [u32; 2])> = match e["keys"].as_array() {
            Some(keys) => keys.iter().enumerate().map(|(i, k)| (i as u64, key_of(k))).collect(),
            None => e["keys_at"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(i, k)| (i.parse().unwrap(), key_of(k)))
                .collect(),
        };
        for (i, k) in want {
            assert_eq!(all[i as usize].data(), k, "{e}");
            assert_eq!(core_jax::split_at(key.core(), key.layout(), num, i).unwrap(), Key(k));
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * (2 + 2 + 5 + 3 + 5));
}

#[test]
fn fold_ins() {
    for e in vectors()["fold_in"].as_array().unwrap() {
        let data = e["data"].as_u64().unwrap();
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let key = jkey(&serde_json::json!({"seed": e["seed"], "threefry_partitionable": true}))
                .with_layout(layout);
            assert_eq!(key.fold_in(data).unwrap().data(), key_of(&e["key"]), "{e}");
        }
    }
}

#[test]
fn bits_and_uniforms_scalar_simd_and_api() {
    let mut checked = 0;
    for e in vectors()["bits_uniform"].as_array().unwrap() {
        let key = jkey(e);
        let shape = shape(e);
        let n = shape.iter().product::<usize>() as u64;
        let bits = RandomBits::new(key.core(), key.layout(), BitWidth::W32, n).unwrap();
        let want_bits = expected(e, "bits_first16", "bits_at_flat_index", hex);
        let want_unif = expected(e, "uniform_first16_hex", "uniform_at_flat_index_hex", hex);
        // The user API fills the whole array (f32x8 lanes, rayon for large draws).
        let api_bits = jax_bits32(key, &shape).unwrap();
        let api_unif = jax_uniform(key, &shape).unwrap();
        for &(i, w) in &want_bits {
            assert_eq!(bits.get(i), u64::from(w), "bits {i} of {e}");
            assert_eq!(bits.lanes32::<u32>(i), w);
            assert_eq!(bits.lanes32::<u32x8>(i).to_array()[0], w);
            assert_eq!(api_bits[i as usize], w);
        }
        for &(i, w) in &want_unif {
            assert_eq!(uniform_at::<f32>(key, n, 0.0, 1.0, i), w, "uniform {i} of {e}");
            assert_eq!(uniform_at::<f32x8>(key, n, 0.0, 1.0, i), w, "uniform {i} (f32x8) of {e}");
            assert_eq!(api_unif[i as usize].to_bits(), w);
            checked += 1;
        }
        // The decimal strings are the same floats.
        for (i, d) in e["uniform_first16_dec"].as_array().unwrap().iter().enumerate() {
            assert_eq!(api_unif[i], d.as_str().unwrap().parse::<f32>().unwrap());
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn uniforms_with_minval_maxval() {
    for e in vectors()["uniform_minmax"].as_array().unwrap() {
        let key = jkey(e);
        let shape = shape(e);
        let n = shape.iter().product::<usize>() as u64;
        let (lo, hi) = (e["minval"].as_f64().unwrap(), e["maxval"].as_f64().unwrap());
        let api = simlanes::workload::jax::jax_uniform_range(key, &shape, lo, hi).unwrap();
        for (i, w) in e["hex"].as_array().unwrap().iter().map(hex).enumerate() {
            assert_eq!(uniform_at::<f32>(key, n, lo as f32, hi as f32, i as u64), w, "{i} of {e}");
            assert_eq!(uniform_at::<f32x8>(key, n, lo as f32, hi as f32, i as u64), w, "{i} f32x8");
            assert_eq!(api[i].to_bits(), w);
        }
    }
}

#[test]
fn normals_scalar_simd_and_api() {
    for e in vectors()["normal"].as_array().unwrap() {
        let key = jkey(e);
        let shape = shape(e);
        let n = shape.iter().product::<usize>() as u64;
        let api = jax_normal(key, &shape).unwrap();
        for (i, w) in e["first16_hex"].as_array().unwrap().iter().map(hex).enumerate() {
            assert_eq!(normal_at::<f32>(key, n, i as u64), w, "normal {i} of {e}: got {}", api[i]);
            assert_eq!(normal_at::<f32x8>(key, n, i as u64), w, "normal {i} (f32x8) of {e}");
            assert_eq!(api[i].to_bits(), w);
        }
    }
}

#[test]
fn chains_split_fold_in_uniform() {
    for e in vectors()["chains"].as_array().unwrap() {
        let root = JaxKey::new(0).unwrap().with_layout(layout(e));
        let key = root.split(2).unwrap()[1].fold_in(3).unwrap();
        assert_eq!(key.data(), key_of(&e["intermediate_key"]));
        let u = jax_uniform(key, &[64, 3]).unwrap();
        for (i, w) in e["uniform_first16_hex"].as_array().unwrap().iter().map(hex).enumerate() {
            assert_eq!(u[i].to_bits(), w, "{i} of {e}");
        }
    }
}

/// The seed-000 draw `(131072, 1, 4)`: per-arm counts of `u < p` equal JAX's, and W3's
/// validate on the pregenerated array gives the rejection counts written out by hand, on
/// every backend (scalar, SIMD, threads, the GPU grid emulator, and a GPU when present).
#[test]
fn w3_counts_equal_jax() {
    for e in vectors()["rejection_counts"].as_array().unwrap() {
        let key = jkey(e);
        let shape = shape(e);
        let (sims, n, d) = (shape[0], shape[1], shape[2]);
        let u = binomial_uniforms_from_jax_key(key, sims, n, d).unwrap();
        let p = e["threshold_f32"].as_f64().unwrap() as f32;
        let mut counts = vec![0u64; d];
        for (j, &x) in u.iter().enumerate() {
            counts[j % d] += u64::from(x < p);
        }
        let want: Vec<u64> =
            e["count_u_lt_p_per_last_axis"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
        assert_eq!(counts, want, "{e}");

        // One grid point with every arm at p (θ = logit p; expit rounds back to f32 p).
        let theta = ((p as f64) / (1.0 - p as f64)).ln();
        assert_eq!(simlanes::simcore::models::binomial::expit_f32(theta), p);
        let spec = BinomialSpec { seed: 0, theta: vec![theta; d], d, n, sims, null_truth: None };
        let lambda = 0.5f32;
        let by_hand = u
            .chunks(n * d)
            .filter(|sim| (sim.iter().filter(|&&x| x < p).count() as f32 / (n * d) as f32) < lambda)
            .count() as u64;
        let backends = [Backend::Scalar, Backend::Simd, Backend::Threaded(ThreadConfig::new(2))];
        for backend in backends {
            let rej = Simulator::new(backend)
                .unwrap()
                .binomial_validate(&spec, lambda.into(), Uniforms::Pregenerated(&u))
                .unwrap();
            assert_eq!(rej, vec![by_hand], "{backend:?}");
        }
        // The GPU kernel body on the host grid emulator, then a real GPU when there is one.
        let plan = spec.plan(Uniforms::Pregenerated(&u)).unwrap();
        assert_eq!(emulator::binomial_validate_plan(&plan, lambda, 7).unwrap(), vec![by_hand]);
        match Simulator::new(Backend::Gpu { device: 0 }) {
            Ok(gpu) => {
                let rej = gpu.binomial_validate(&spec, lambda.into(), Uniforms::Pregenerated(&u)).unwrap();
                assert_eq!(rej, vec![by_hand], "gpu");
                println!("GPU: JAX-key W3 counts equal ({by_hand})");
            }
            Err(e) => eprintln!("SKIP gpu part of {}: {e}", module_path!()),
        }
    }
}

/// Beyond the vectors: the SIMD lanes (`f32x8`, `f64x4`, through the user API) give the
/// scalar lanes' bits on every element of larger draws, both layouts, unaligned starts.
#[test]
fn simd_lanes_equal_scalar_lanes_on_large_draws() {
    let n = 100_003usize;
    for layout in [Layout::Partitionable, Layout::Legacy] {
        for seed in [0i128, 7, -3] {
            let key = JaxKey::new(seed).unwrap().with_layout(layout);
            let simd = jax_normal(key, &[n]).unwrap();
            let mut scalar = vec![0f32; n];
            fill_normal_f32::<f32>(key.core(), layout, n as u64, 0, &mut scalar).unwrap();
            let diff = simd.iter().zip(&scalar).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
            assert_eq!(diff, 0, "normals {layout:?} seed {seed}");
            // Moments of the normals: mean 0 and variance 1 within 4 standard errors.
            let mean = scalar.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
            let var = scalar.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(mean.abs() < 4.0 / (n as f64).sqrt(), "{mean}");
            assert!((var - 1.0).abs() < 4.0 * (2.0 / n as f64).sqrt(), "{var}");

            let wide64 = simlanes::workload::jax::jax_uniform_f64(key, &[n], -2.0, 3.0).unwrap();
            let mut scalar64 = vec![0f64; n];
            core_jax::fill_uniform_f64::<f64>(key.core(), layout, n as u64, -2.0, 3.0, 0, &mut scalar64)
                .unwrap();
            assert!(wide64.iter().zip(&scalar64).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(scalar64.iter().all(|x| (-2.0..3.0).contains(x)));
        }
    }
}
