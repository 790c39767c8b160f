//! Node-parallel Heun: the nodes of one group's network split across threads.
//!
//! Why: a batch of a few members leaves the tile executor with fewer tiles than threads
//! (tiles hold whole groups of 16 lanes: W4's seed size, 8 members, is one tile of one
//! `f32x8` group), so the other threads idle.
//! Within each phase of a Heun step the nodes are independent, so each thread takes a
//! contiguous range of nodes and runs the core's phases on it
//! (`simcore::models::heun`: coupling variables, coupling rows, predictor, corrector);
//! between phases the threads exchange their nodes' coupling variables. An instantaneous
//! step exchanges twice (the state's and the predictor's), a delayed step once (its ring
//! buffer slot; every thread keeps the whole ring).
//!
//! **Same bits.** Each node's coupling sum runs over every node in the same order, and
//! its normals are drawn from normal `(t*nn + i)*NV` of each lane's stream whichever
//! thread owns it, so the split changes no number (tested against the one-thread
//! [`integrate_group`](crate::backend::heun_group::integrate_group) for 1 to 5 threads).
//!
//! **Synchronisation.** A phase lasts about a microsecond (W4, 32 nodes, 8 members, two
//! threads), far shorter than a futex wake-up, so the threads spin (yielding to the OS
//! after a short spin, so that an oversubscribed machine still progresses). Each thread
//! copies its nodes' values into its own slot, then raises its own epoch counter (its
//! own cache line); the others wait until they see that epoch, then copy from the slot
//! ([`Shared::exchange`] gives the ordering argument). That is one cache-line hand-over
//! per direction, where a counting barrier took two in sequence. A panicking thread
//! poisons the group, so the others stop waiting and the panic propagates.
//!
//! The threads are scoped threads of the call, not the rayon pool's workers: two runs
//! sharing one pool could otherwise each hold one worker spinning for a partner that
//! the other run occupies.
//!
//! Used by W4 (final states) and W5, whose statistic adds every node's rate of every
//! step from step 401 on to f64 sums per member, in node order: from that step on, each
//! thread also hands its nodes' state to the thread that keeps the sums, which calls the
//! same per-step observer as the one-thread run (one more exchange per step).
//!
//! Measured (Zen 3 VM, 2 threads against the one-thread SIMD row, `cargo xtask bench`):
//! W4 at the seed size (32 nodes, 8 members; a step takes 5.8 µs on one thread) 1.7×
//! with instantaneous coupling, 1.8× delayed; W5's first 8 members (164 nodes) 1.5×.
//! A hand-over costs about 0.2 µs, so while it waits each thread draws its next normals
//! (W4: 1.6× → 1.7× instantaneous, 1.7× → 1.8× delayed); the split loop still compiles
//! less well than the one-thread loop (W5, the same work on one thread through this
//! driver: 1.13× the time). Two fixes measured on W5: the coupling compiled on its own
//! ([`couple`]; 1.15× faster split) and values moved as whole vectors instead of lane by
//! lane through atomics (1.1×); together the W5 row went from 1.1× to 1.5× the one-thread
//! run.

use crate::backend::heun_group::{GroupBufs, GroupNoise, Noise};
use simcore::lane::Real;
use simcore::models::heun::{self, HeunCoeffs, Network, NetworkModel, ring_slot};
use simcore::rng::jax::JaxNormals;
use simcore::rng::{NormalSeq, NormalSource};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Fewest nodes per thread for a split: W4 spends about 0.18 µs per node and step on
/// 8 members (Zen 3), so at 8 nodes the two 0.2 µs hand-overs of a step already take a
/// quarter of it.
pub(crate) const MIN_NODES_PER_THREAD: usize = 8;

/// Threads to split a network of `nn` nodes over, given `threads` workers (1: no split),
/// at most one per logical CPU: the threads spin while they wait for each other, which
/// oversubscribed CPUs turn into time slices.
pub(crate) fn node_threads(threads: usize, nn: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    threads.min(cpus).min(nn / MIN_NODES_PER_THREAD).max(1)
}

/// The nodes of thread `p` of `parts`: contiguous, sizes differing by at most one.
fn piece(nn: usize, parts: usize, p: usize) -> Range<usize> {
    nn * p / parts..nn * (p + 1) / parts
}

/// Spins before each yield to the OS while waiting for the other threads.
const SPINS: u32 = 1 << 12;

/// An atomic counter alone in its cache line (each thread's epoch: others read it while
/// it writes only its own).
#[repr(align(128))]
struct Epoch(AtomicU64);

/// What the threads of one group share: each thread's epoch (the number of exchanges it
/// has published), its exchange slots (`slots[parity][p]`: thread `p`'s nodes' values,
/// `[row][its node]`, of the exchanges of that parity) and the poison flag.
struct Shared<L> {
    parts: usize,
    nn: usize,
    epochs: Box<[Epoch]>,
    slots: [Box<[Mutex<Vec<L>>]>; 2],
    poisoned: AtomicBool,
}

impl<L: Copy> Shared<L> {
    /// For `parts` threads over `nn` nodes.
    fn new(parts: usize, nn: usize) -> Self {
        let slots = || (0..parts).map(|_| Mutex::new(Vec::new())).collect();
        Self {
            parts,
            nn,
            epochs: (0..parts).map(|_| Epoch(AtomicU64::new(0))).collect(),
            slots: [slots(), slots()],
            poisoned: AtomicBool::new(false),
        }
    }

    /// Exchange number `e` (0, 1, 2, … in every thread) of thread `p`: publishes its
    /// nodes' cells of `rows` (rows of one cell per node, `[row][node]`), runs `meanwhile`
    /// (work that does not need the others' values: it hides the hand-over), waits until
    /// every other thread has published exchange `e`, then, when `collect`, copies their
    /// cells into `rows`.
    ///
    /// Ordering: a slot is written before its thread's epoch is raised to `e + 1`
    /// (release) and read after that epoch is seen (acquire). A thread writes its slot of
    /// parity `e % 2` again at exchange `e + 2`, which it reaches only once every other
    /// thread has published `e + 1`, that is, has finished reading `e`. So the locks are
    /// never contended: they make the hand-over safe Rust, and the values move as whole
    /// vectors (a copy of lanes through per-lane atomics cost W5's split 1.1×).
    ///
    /// # Panics
    /// When another thread of the group panicked (see [`PoisonOnPanic`]).
    fn exchange(&self, e: u64, p: usize, rows: &mut [L], collect: bool, meanwhile: impl FnOnce()) {
        let parity = (e % 2) as usize;
        let mine = piece(self.nn, self.parts, p);
        {
            let mut slot = self.slots[parity][p].lock().unwrap_or_else(PoisonError::into_inner);
            slot.clear();
            for row in rows.chunks_exact(self.nn) {
                slot.extend_from_slice(&row[mine.clone()]);
            }
        }
        self.epochs[p].0.store(e + 1, Ordering::Release);
        meanwhile();
        for q in (0..self.parts).filter(|&q| q != p) {
            let mut spins = 0;
            while self.epochs[q].0.load(Ordering::Acquire) <= e {
                assert!(
                    !self.poisoned.load(Ordering::Relaxed),
                    "another thread of a node-parallel group panicked"
                );
                if spins < SPINS {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        }
        if collect {
            for q in (0..self.parts).filter(|&q| q != p) {
                let theirs = piece(self.nn, self.parts, q);
                if theirs.is_empty() {
                    continue;
                }
                let slot = self.slots[parity][q].lock().unwrap_or_else(PoisonError::into_inner);
                for (row, values) in rows.chunks_exact_mut(self.nn).zip(slot.chunks_exact(theirs.len())) {
                    row[theirs.clone()].copy_from_slice(values);
                }
            }
        }
    }
}

/// Poisons the group when its thread unwinds, so that no other thread waits forever.
struct PoisonOnPanic<'a, L>(&'a Shared<L>);

impl<L> Drop for PoisonOnPanic<'_, L> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Relaxed);
        }
    }
}

/// Thread `p`'s run of `nt` steps from the state `x0` (`[var][node]`): every buffer is
/// its own and whole-network sized, but it computes only its nodes (and the coupling
/// variables of the others arrive by exchange). Returns its state, valid at its nodes.
/// `normals_at(n)` positions each lane's normals at normal `n`. From step `t + 1 =
/// observe.from` on, every thread publishes its nodes' state after each step and the
/// thread holding `observe.after` (thread 0) collects the whole state and calls it.
#[allow(clippy::too_many_arguments)]
fn thread_run<L, M, N, F, const V: usize>(
    shared: &Shared<L>,
    p: usize,
    model: &M,
    net: &Network<'_, f32>,
    k: L,
    h: &HeunCoeffs<L>,
    nt: usize,
    x0: &[L],
    normals_at: impl Fn(u64) -> N,
    observe: Observe<'_, F>,
) -> Vec<L>
where
    L: Real<Scalar = f32>,
    M: NetworkModel<L, V>,
    N: NormalSource<L>,
    F: FnMut(u64, &[L]),
{
    let Observe { from, mut after } = observe;
    let _poison = PoisonOnPanic(shared);
    let nn = net.nn();
    let mine = piece(nn, shared.parts, p);
    let mut bufs = GroupBufs::<L>::new(V, nn, net.lags().is_some());
    bufs.x.copy_from_slice(x0);
    let (x, mut s, mut hist) = bufs.prepare::<M, V>(model, net);
    // The step's normals of this thread's nodes are drawn ahead into `zs` while the
    // thread waits for the others' values (half at each exchange of an instantaneous
    // step: the second half of step t's at the first, the first half of step t+1's at
    // the second; all of them at a delayed step's one exchange). Same values, read in
    // the same order by the predictor. `half` is even: Box–Muller pairs stay whole.
    let delayed = hist.is_some();
    let own = mine.len() * V;
    let half = (own / 2) & !1;
    let mut zs = vec![L::splat(0.0); own];
    let draw = |zs: &mut [L], t: u64, part: Range<usize>| {
        let mut src = normals_at((t * nn as u64 + mine.start as u64) * V as u64 + part.start as u64);
        for v in &mut zs[part] {
            *v = src.next();
        }
    };
    if !delayed && nt > 0 {
        draw(&mut zs, 0, 0..half);
    }
    // Every thread makes the same exchanges in the same order: `e` counts them.
    let mut e = 0u64;
    for t in 0..nt as u64 {
        if let Some(hist) = hist.as_deref_mut() {
            heun::record_history::<L, M, [L], V>(model, nn, mine.clone(), t, &x[..], hist);
            let slot = ring_slot(t) * nn;
            shared.exchange(e, p, &mut hist[slot..slot + nn], true, || draw(&mut zs, t, 0..own));
            e += 1;
            heun::coupling_delayed(net, k, t, mine.clone(), &*hist, s.c);
            let mut normals = Drawn { z: &zs, at: 0 };
            heun::predictor::<L, M, [L], V>(model, nn, mine.clone(), h, &x[..], &mut s, &mut normals);
        } else {
            heun::coupling_vars::<L, M, [L], V>(model, nn, mine.clone(), &x[..], s.cv);
            shared.exchange(e, p, s.cv, true, || draw(&mut zs, t, half..own));
            couple(net, k, mine.clone(), &*s.cv, s.c);
            let mut normals = Drawn { z: &zs, at: 0 };
            heun::predictor::<L, M, [L], V>(model, nn, mine.clone(), h, &x[..], &mut s, &mut normals);
            heun::coupling_vars::<L, M, [L], V>(model, nn, mine.clone(), &*s.xp, s.cv);
            let next = t + 1 < nt as u64;
            shared.exchange(e + 1, p, s.cv, true, || {
                if next {
                    draw(&mut zs, t + 1, 0..half);
                }
            });
            e += 2;
            couple(net, k, mine.clone(), &*s.cv, s.c);
        }
        heun::corrector::<L, M, [L], V>(model, nn, mine.clone(), h, &mut x[..], &s);
        if from.is_some_and(|f| t + 1 >= f) {
            shared.exchange(e, p, &mut x[..], after.is_some(), || {});
            e += 1;
            if let Some(after) = after.as_mut() {
                after(t + 1, &x[..]);
            }
        }
    }
    bufs.x
}

/// Normals drawn ahead into a buffer, handed out in order.
struct Drawn<'a, L> {
    z: &'a [L],
    at: usize,
}

impl<L: Copy> NormalSource<L> for Drawn<'_, L> {
    #[inline(always)]
    fn next(&mut self) -> L {
        let z = self.z[self.at];
        self.at += 1;
        z
    }
}

/// [`heun::coupling`] of the rows `rows`, compiled on its own: inlined into
/// [`thread_run`]'s loop, its accumulators and row addresses lost registers.
#[inline(never)]
fn couple<L: Real<Scalar = f32>>(net: &Network<'_, f32>, k: L, rows: Range<usize>, cv: &[L], c: &mut [L]) {
    heun::coupling(net, k, rows, cv, c);
}

/// Which states of a split run are observed (see [`thread_run`]): from step `from` on
/// (none when `None`), by `after` (held by one thread only).
struct Observe<'a, F> {
    from: Option<u64>,
    after: Option<&'a mut F>,
}

/// [`integrate_group`](crate::backend::heun_group::integrate_group) of members
/// `first .. first + L::LANES` from the state `x` (`[var][node]`, updated in place) for
/// `nt` steps, with the nodes split across `parts` scoped threads (thread `p` pinned to
/// logical CPU `p` when `pin`, as the pool's workers are; the calling thread waits).
/// Delayed when `net` has lags. `after(t, x)` sees the whole state `x[t]` for every
/// `t >= observe_from` (`t <= nt`; never when `None`), as the one-thread run's `after`
/// does; each observed step costs one more exchange (every thread's nodes to the
/// observing thread). Same bits as the one-thread run.
#[allow(clippy::too_many_arguments)]
pub(crate) fn integrate_group_split<L, M, F, const V: usize>(
    parts: usize,
    pin: bool,
    model: &M,
    net: &Network<'_, f32>,
    k: L,
    h: &HeunCoeffs<L>,
    noise: Noise,
    first: u64,
    nt: usize,
    x: &mut [L],
    observe_from: Option<u64>,
    after: F,
) where
    L: Real<Scalar = f32> + Send + Sync,
    M: NetworkModel<L, V> + Sync,
    F: FnMut(u64, &[L]) + Send,
{
    let nn = net.nn();
    let parts = parts.clamp(1, nn);
    let shared = Shared::<L>::new(parts, nn);
    let x0 = x.to_vec();
    let Some(source) = GroupNoise::<L>::of(noise, first, (nt * nn * V) as u64) else { return };
    let run = |p: usize, after: Option<&mut F>| {
        let observe = Observe { from: observe_from, after };
        match source {
            GroupNoise::Philox(stream) => thread_run::<L, M, _, F, V>(
                &shared,
                p,
                model,
                net,
                k,
                h,
                nt,
                &x0,
                |at| NormalSeq::new(stream, at),
                observe,
            ),
            GroupNoise::Jax(lanes) => thread_run::<L, M, _, F, V>(
                &shared,
                p,
                model,
                net,
                k,
                h,
                nt,
                &x0,
                |at| JaxNormals::<L, 4>::new(lanes, at),
                observe,
            ),
        }
    };
    let mut after = Some(after);
    let cores = if pin { core_affinity::get_core_ids().unwrap_or_default() } else { Vec::new() };
    let states: Vec<Vec<L>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..parts)
            .map(|p| {
                let core = (!cores.is_empty()).then(|| cores[p % cores.len()]);
                // Thread 0 observes.
                let mut after = if p == 0 { after.take() } else { None };
                let run = &run;
                scope.spawn(move || {
                    if let Some(core) = core {
                        // Best effort, as for the pool: a refused pin costs timing only.
                        let _ = core_affinity::set_for_current(core);
                    }
                    run(p, after.as_mut())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    for (p, state) in states.iter().enumerate() {
        for v in 0..V {
            let cells = piece(nn, parts, p);
            let cells = v * nn + cells.start..v * nn + cells.end;
            x[cells.clone()].copy_from_slice(&state[cells]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::heun_group::{GroupBufs, integrate_group};
    use crate::workload::jax::JaxKey;
    use simcore::models::connectivity::{default_lags, default_weights};
    use simcore::models::jansen_rit::{JansenRit, JansenRitParams};
    use wide::f32x8;

    /// The split run equals the one-thread run bit for bit, final states and every
    /// observed state (steps 140..=150): 1 to 5 threads over 13 nodes (uneven pieces,
    /// down to 2 nodes each), instantaneous and delayed, Philox and JAX noise, on `f32x8`
    /// and `f32` lanes.
    fn split_equals_one_thread<L: Real<Scalar = f32> + Send + Sync>(first: u64) {
        const V: usize = 6;
        let nn = 13;
        let (mut w, mut lags) = (vec![0.0f32; nn * nn], vec![0u8; nn * nn]);
        default_weights(2, nn, &mut w).unwrap();
        default_lags(2, nn, &mut lags).unwrap();
        let model = JansenRit::<L>::new(&JansenRitParams::default(), L::from_fn(|l| 0.2 + 0.01 * l as f32));
        let h = HeunCoeffs::<L>::new(1.0, 0.05).unwrap();
        let k = L::from_fn(|l| 2.0 + l as f32);
        let x0: Vec<L> = (0..V * nn).map(|e| L::from_fn(|l| 0.001 * (e * 7 + l) as f32)).collect();
        let jax = Noise::Jax { key: JaxKey::new(5).unwrap(), count: 24 };
        for lagged in [false, true] {
            let net = Network::new(nn, &w, lagged.then_some(&lags[..])).unwrap();
            for noise in [Noise::Philox(9), jax] {
                let mut bufs = GroupBufs::<L>::new(V, nn, lagged);
                bufs.x.copy_from_slice(&x0);
                integrate_group(&model, &net, k, &h, noise, first, 150, &mut bufs, |_, _| {});
                let want: Vec<Vec<u32>> =
                    bufs.x.iter().map(|x| (0..L::LANES).map(|l| x.lane(l).to_bits()).collect()).collect();
                let start: Vec<Vec<u32>> =
                    x0.iter().map(|x| (0..L::LANES).map(|l| x.lane(l).to_bits()).collect()).collect();
                assert_ne!(want, start, "the one-thread run must integrate ({noise:?})");
                // What an observer sees from step 140 on: (t, every lane of every cell).
                let seen = |t: u64, x: &[L]| {
                    let bits = x.iter().flat_map(|v| (0..L::LANES).map(move |l| v.lane(l).to_bits()));
                    (t, bits.collect::<Vec<u32>>())
                };
                let mut want_seen = Vec::new();
                bufs.x.copy_from_slice(&x0);
                integrate_group(&model, &net, k, &h, noise, first, 150, &mut bufs, |t, x| {
                    if t >= 140 {
                        want_seen.push(seen(t, x));
                    }
                });
                assert_eq!(want_seen.len(), 11);
                for parts in 1..=5 {
                    let split = |from: Option<u64>, after: &mut (dyn FnMut(u64, &[L]) + Send)| {
                        let (mut x, pin) = (x0.clone(), parts % 2 == 0);
                        integrate_group_split(
                            parts, pin, &model, &net, k, &h, noise, first, 150, &mut x, from, after,
                        );
                        x
                    };
                    let x = split(None, &mut |_, _| {});
                    let got: Vec<Vec<u32>> =
                        x.iter().map(|x| (0..L::LANES).map(|l| x.lane(l).to_bits()).collect()).collect();
                    assert_eq!(got, want, "lagged={lagged} {noise:?} {parts} threads");
                    let mut got_seen = Vec::new();
                    split(Some(140), &mut |t, x| got_seen.push(seen(t, x)));
                    assert_eq!(got_seen, want_seen, "observed: lagged={lagged} {noise:?} {parts} threads");
                }
            }
        }
    }

    #[test]
    fn split_nodes_give_the_one_thread_bits_f32x8() {
        split_equals_one_thread::<f32x8>(8);
    }

    #[test]
    fn split_nodes_give_the_one_thread_bits_f32() {
        split_equals_one_thread::<f32>(3);
    }

    #[test]
    fn pieces_cover_the_nodes_once() {
        for nn in 1..40 {
            for parts in 1..=nn.min(7) {
                let cells: Vec<usize> = (0..parts).flat_map(|p| piece(nn, parts, p)).collect();
                assert_eq!(cells, (0..nn).collect::<Vec<_>>(), "nn={nn} parts={parts}");
            }
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(node_threads(2, 32), cpus.min(2));
        assert_eq!(node_threads(8, 20), cpus.min(2));
        assert_eq!(node_threads(4, 7), 1);
        assert_eq!(node_threads(1000, 1 << 20), cpus);
    }

    #[test]
    fn a_panicking_thread_releases_the_others() {
        let shared = Shared::<f32>::new(3, 6);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|scope| {
                for p in 1..3 {
                    let shared = &shared;
                    scope.spawn(move || {
                        let _poison = PoisonOnPanic(shared);
                        let mut row = [p as f32; 6];
                        // Thread 0 never arrives: these wait until it poisons the group.
                        shared.exchange(0, p, &mut row, true, || {});
                    });
                }
                let _poison = PoisonOnPanic(&shared);
                panic!("thread 0 fails");
            });
        }));
        assert!(result.is_err());
    }

    /// One-row exchanges collected by every thread alternate with two-row exchanges
    /// collected by thread 0 only (as an observed step's state): each collector sees
    /// every node's value of that exchange, and a thread that does not collect keeps
    /// its other cells untouched.
    #[test]
    fn exchange_hands_each_thread_the_others_cells() {
        let (parts, nn) = (3, 8);
        let shared = Shared::<f32>::new(parts, nn);
        let value = |e: u64, i: usize| (100 * e + i as u64) as f32;
        let seen: Vec<Vec<Vec<f32>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..parts)
                .map(|p| {
                    let shared = &shared;
                    scope.spawn(move || {
                        let (mut seen, mut meanwhile) = (Vec::new(), 0);
                        for e in 0..8u64 {
                            let rows = if e % 2 == 0 { 1 } else { 2 };
                            let mut row = vec![f32::NAN; rows * nn];
                            for i in (0..rows * nn).filter(|i| piece(nn, parts, p).contains(&(i % nn))) {
                                row[i] = value(e, i);
                            }
                            shared.exchange(e, p, &mut row, rows == 1 || p == 0, || meanwhile += 1);
                            seen.push(row);
                        }
                        assert_eq!(meanwhile, 8, "thread {p}: the work meanwhile runs once per exchange");
                        seen
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (p, rows) in seen.iter().enumerate() {
            for (e, row) in rows.iter().enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    let mine = piece(nn, parts, p).contains(&(i % nn));
                    if e % 2 == 0 || p == 0 || mine {
                        assert_eq!(v, value(e as u64, i), "thread {p} exchange {e} cell {i}");
                    } else {
                        assert!(v.is_nan(), "thread {p} exchange {e} cell {i} written");
                    }
                }
            }
        }
    }
}
