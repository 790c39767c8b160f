//! W4 — Jansen–Rit network SDE (and W4d delays): the WORKLOADS.md check (with `sigma = 0`
//! and `W = 0` every member equals the single-member reference run), batch-size
//! independence, delays, layout, and typed errors for bad input.

use simlanes::workload::jansen_rit::{JansenRitSpec, NV};
use simlanes::{Backend, SimError, Simulator};

fn sim() -> Simulator {
    Simulator::new(Backend::Scalar).expect("scalar simulator")
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Member `b` of a `[6][nn][B]` array, as a `[6][nn]` array.
fn member_of(x: &[f32], nn: usize, bsz: usize, b: usize) -> Vec<f32> {
    (0..NV * nn).map(|e| x[e * bsz + b]).collect()
}

/// A distinct, non-trivial initial state for every member.
fn initial(nn: usize, bsz: usize) -> Vec<f32> {
    (0..NV * nn * bsz).map(|e| ((e * 37 % 101) as f32 - 50.0) * 0.01).collect()
}

#[test]
fn sigma_zero_w_zero_every_member_equals_the_single_member_reference() {
    let (nn, nt, bsz) = (6, 300, 5);
    let mut spec = JansenRitSpec::with_size(11, nn, nt, bsz).unwrap();
    spec.sigma = 0.0;
    spec.weights = vec![0.0; nn * nn];
    spec.mu = (0..bsz).map(|b| 0.1 + 0.05 * b as f32).collect();
    spec.k = (0..bsz).map(|b| 0.01 * b as f32).collect();
    spec.initial = Some(initial(nn, bsz));
    let out = sim().jansen_rit(&spec).unwrap();
    assert_eq!(out.len(), NV * nn * bsz);
    assert!(out.iter().all(|x| x.is_finite()));
    for b in 0..bsz {
        let one = JansenRitSpec {
            batch: 1,
            mu: vec![spec.mu[b]],
            k: vec![spec.k[b]],
            initial: Some(member_of(spec.initial.as_ref().unwrap(), nn, bsz, b)),
            ..spec.clone()
        };
        let r = sim().jansen_rit(&one).unwrap();
        assert_eq!(bits(&member_of(&out, nn, bsz, b)), bits(&r), "member {b}");
    }
    // The members really differ (different mu and initial states).
    assert_ne!(bits(&member_of(&out, nn, bsz, 0)), bits(&member_of(&out, nn, bsz, 1)));
}

#[test]
fn one_node_one_step_matches_a_hand_heun_step() {
    // sigma = 0, W = 0: x1 = x0 + dt/2 (f(x0) + f(x0 + dt f(x0))).
    use simlanes::simcore::models::heun::NetworkModel;
    use simlanes::simcore::models::jansen_rit::JansenRit;
    let mut spec = JansenRitSpec::with_size(0, 1, 1, 1).unwrap();
    spec.sigma = 0.0;
    let x0 = [0.5f32, 8.0, 2.0, 0.1, -0.2, 0.05];
    spec.initial = Some(x0.to_vec());
    let out = sim().jansen_rit(&spec).unwrap();
    let m = JansenRit::<f32>::new(&spec.params, spec.mu[0]);
    let f1 = m.drift(x0, 0.0);
    let xp: [f32; NV] = std::array::from_fn(|v| f1[v].mul_add(1.0, x0[v]));
    let f2 = m.drift(xp, 0.0);
    let want: Vec<f32> = (0..NV).map(|v| 0.5f32.mul_add(f1[v] + f2[v], x0[v])).collect();
    assert_eq!(bits(&out), bits(&want));
    assert_ne!(out, x0.to_vec());
}

#[test]
fn members_do_not_depend_on_the_batch_size() {
    // Member b always uses stream b: a batch of 3 is the prefix of a batch of 7.
    let mut small = JansenRitSpec::with_size(5, 8, 128, 3).unwrap();
    small.sigma = 0.05;
    let big = JansenRitSpec { batch: 7, ..small.clone() };
    let (a, b) = (sim().jansen_rit(&small).unwrap(), sim().jansen_rit(&big).unwrap());
    for m in 0..3 {
        assert_eq!(bits(&member_of(&a, 8, 3, m)), bits(&member_of(&b, 8, 7, m)), "member {m}");
    }
    // Different streams: members differ; another seed differs.
    assert_ne!(bits(&member_of(&a, 8, 3, 0)), bits(&member_of(&a, 8, 3, 1)));
    let other = JansenRitSpec { seed: 6, ..small.clone() };
    assert_ne!(bits(&a), bits(&sim().jansen_rit(&other).unwrap()));
    assert_eq!(bits(&a), bits(&sim().jansen_rit(&small).unwrap()));
}

#[test]
fn seed_size_runs_and_leaves_rest() {
    let spec = JansenRitSpec::seed_size(0).unwrap();
    assert_eq!((spec.nn, spec.nt, spec.batch, spec.dt, spec.sigma), (32, 1024, 8, 1.0, 1e-3));
    let out = sim().jansen_rit(&spec).unwrap();
    assert_eq!(out.len(), 6 * 32 * 8);
    assert!(out.iter().all(|x| x.is_finite()));
    // Driven by mu and the sigmoid's offset, y1 (node potentials) leave 0.
    assert!(out[32 * 8..2 * 32 * 8].iter().all(|&y1| y1 > 0.0));
}

#[test]
fn delayed_run() {
    let (nn, nt, bsz) = (8, 600, 3);
    let mut plain = JansenRitSpec::with_size(2, nn, nt, bsz).unwrap();
    plain.k = vec![2.0]; // strong coupling so the delays matter
    plain.initial = Some(initial(nn, bsz));
    let delayed = plain.clone().with_default_lags().unwrap();
    let lags = delayed.lags.as_ref().unwrap();
    assert_eq!(lags.len(), nn * nn);
    assert!(lags.iter().any(|&l| l > 100), "default lags span 0..=255");
    let a = sim().jansen_rit(&plain).unwrap();
    let d = sim().jansen_rit(&delayed).unwrap();
    assert!(d.iter().all(|x| x.is_finite()));
    assert_ne!(bits(&a), bits(&d));
    assert_eq!(bits(&d), bits(&sim().jansen_rit(&delayed).unwrap()));
    // Batch-size independence holds with delays too.
    let d1 = sim().jansen_rit(&JansenRitSpec { batch: 1, initial: None, ..delayed.clone() }).unwrap();
    let d2 = sim().jansen_rit(&JansenRitSpec { batch: 2, initial: None, ..delayed.clone() }).unwrap();
    assert_eq!(bits(&d1), bits(&member_of(&d2, nn, 2, 0)));

    // Without coupling the delays are irrelevant: W = 0 gives the non-delayed bits.
    let w0 = JansenRitSpec { weights: vec![0.0; nn * nn], ..plain.clone() };
    let w0d = JansenRitSpec { lags: delayed.lags.clone(), ..w0.clone() };
    assert_eq!(bits(&sim().jansen_rit(&w0).unwrap()), bits(&sim().jansen_rit(&w0d).unwrap()));
}

#[test]
fn bad_input_is_a_typed_error() {
    let ok = JansenRitSpec::with_size(0, 4, 10, 3).unwrap();
    assert!(ok.validate().is_ok());
    let s = sim();
    let param = |spec: JansenRitSpec| matches!(s.jansen_rit(&spec), Err(SimError::Param(_)));
    let shape = |spec: JansenRitSpec, n: &str| matches!(s.jansen_rit(&spec), Err(SimError::Shape { name, .. }) if name == n);
    let mut p = ok.params;
    p.A = f32::NAN;
    assert!(param(JansenRitSpec { params: p, ..ok.clone() }));
    p = ok.params;
    p.r = f32::INFINITY;
    assert!(param(JansenRitSpec { params: p, ..ok.clone() }));
    assert!(param(JansenRitSpec { nn: 0, weights: vec![], ..ok.clone() }));
    assert!(param(JansenRitSpec { nt: 0, ..ok.clone() }));
    assert!(param(JansenRitSpec { batch: 0, ..ok.clone() }));
    assert!(param(JansenRitSpec { dt: 0.0, ..ok.clone() }));
    assert!(param(JansenRitSpec { dt: -1.0, ..ok.clone() }));
    assert!(param(JansenRitSpec { dt: f32::NAN, ..ok.clone() }));
    assert!(param(JansenRitSpec { sigma: -1e-3, ..ok.clone() }));
    assert!(param(JansenRitSpec { sigma: f32::INFINITY, ..ok.clone() }));
    assert!(param(JansenRitSpec { k: vec![f32::NAN], ..ok.clone() }));
    assert!(param(JansenRitSpec { mu: vec![0.1, f32::INFINITY, 0.2], ..ok.clone() }));
    let mut w = ok.weights.clone();
    w[3] = f32::NAN;
    assert!(param(JansenRitSpec { weights: w, ..ok.clone() }));
    assert!(param(JansenRitSpec { initial: Some(vec![f32::NAN; 6 * 4 * 3]), ..ok.clone() }));
    assert!(param(JansenRitSpec { batch: usize::MAX / 2, ..ok.clone() }));
    // The noise index (t*nn + i)*6 + v must fit u64.
    assert!(param(JansenRitSpec { nt: usize::MAX, ..ok.clone() }));
    assert!(shape(JansenRitSpec { weights: vec![0.0; 15], ..ok.clone() }, "weights"));
    assert!(shape(JansenRitSpec { lags: Some(vec![0; 17]), ..ok.clone() }, "lags"));
    assert!(shape(JansenRitSpec { k: vec![0.1, 0.2], ..ok.clone() }, "k"));
    assert!(shape(JansenRitSpec { mu: vec![], ..ok.clone() }, "mu"));
    assert!(shape(JansenRitSpec { initial: Some(vec![0.0; 6 * 4 * 3 - 1]), ..ok.clone() }, "initial"));
    // Per-member arrays of length B are accepted.
    assert!(s.jansen_rit(&JansenRitSpec { k: vec![0.1, 0.2, 0.3], mu: vec![0.2; 3], ..ok }).is_ok());
}

#[test]
fn simd_and_threaded_backends_give_the_scalar_bits() {
    use simlanes::ThreadConfig;
    // 11 members: one full f32x8 group and a remainder of 3 on plain f32.
    let mut spec = JansenRitSpec::with_size(4, 6, 200, 11).unwrap();
    spec.sigma = 0.01;
    spec.k = (0..11).map(|b| 0.1 * b as f32).collect();
    spec.initial = Some(initial(6, 11));
    let delayed = spec.clone().with_default_lags().unwrap();
    for s in [&spec, &delayed] {
        let want = bits(&sim().jansen_rit(s).unwrap());
        for backend in [Backend::Simd, Backend::Threaded(ThreadConfig::new(2).with_tile(3))] {
            let got = Simulator::new(backend).unwrap().jansen_rit(s).unwrap();
            assert_eq!(bits(&got), want, "{} delayed={}", backend.name(), s.lags.is_some());
        }
    }
}
