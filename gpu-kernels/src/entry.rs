//! The kernel entry points: thread index, bounds check, call the [`crate::body`] function,
//! store. On nvptx they are the PTX's `extern "ptx-kernel"` functions; on the host the same
//! definitions (the `kernel!` macro) are `unsafe fn`s that [`crate::host`] launches for the
//! libcuda stand-in. The crate's `unsafe` lives here, beside the entries of
//! [`crate::calibrate`] and [`crate::stream_bench`], each block with its contract; the host
//! runner (`simlanes::backend::gpu`) guarantees the buffer sizes stated in each `# Safety`
//! section.

use crate::grid::thread_index;

/// Thread `i < n` computes `f(i)` and stores it at `out[i]`; threads at or past `n` do
/// nothing. The shape of every kernel with one output element per thread.
///
/// # Safety
/// `out` points to `n` writable, device-global `T`.
#[inline(always)]
unsafe fn one_per_thread<T>(out: *mut T, n: u32, f: impl FnOnce(u32) -> T) {
    let i = thread_index();
    if i < u64::from(n) {
        let v = f(i as u32);
        // SAFETY: i < n and `out` holds n elements (the caller's contract); each thread
        // writes its own element.
        unsafe { out.add(i as usize).write(v) }
    }
}

/// A panic (only reachable through a failed bounds check in core) aborts the kernel: the
/// host sees a launch failure rather than wrong numbers.
#[cfg(target_arch = "nvptx64")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: `trap` has no preconditions; it stops the kernel with an error.
    unsafe { core::arch::nvptx::trap() }
}

kernel! {
    /// W1 hits: `hits[i] = body::pi_hits(i, …)` for `i < n`.
    ///
    /// # Safety
    /// `hits` points to `n` writable, device-global `u32`.
    pub unsafe fn pi_hits(hits: *mut u32, seed: u64, first: u64, n: u32, pairs: u64) {
        // SAFETY: `hits` holds n elements (this kernel's contract).
        unsafe { one_per_thread(hits, n, |i| crate::body::pi_hits(i, seed, first, pairs)) }
    }
}

kernel! {
    /// W1 hits, JAX mode: `hits[i] = body::pi_hits_jax(i, …)` for `i < n`, estimate
    /// `first + i` of a batch of `count` keyed by `split(key, count)` (`layout` 1 = legacy).
    ///
    /// # Safety
    /// `hits` points to `n` writable, device-global `u32`.
    pub unsafe fn pi_hits_jax(
        hits: *mut u32,
        key: u64,
        layout: u32,
        count: u64,
        first: u64,
        n: u32,
        pairs: u64,
    ) {
        // SAFETY: `hits` holds n elements (this kernel's contract).
        unsafe {
            one_per_thread(hits, n, |i| {
                let jax = crate::body::JaxNoise::from_args(key, layout, count);
                crate::body::pi_hits_jax(i, &jax, first, pairs)
            })
        }
    }
}

/// For thread `i < n`: `i` and a writer of row `i` of `out` (`count` wide; `put(j, v)`
/// stores `v` at `out[i·count + j]` for `j < count`); `None` for threads at or past `n`.
/// The shape of the `fill_*` kernels.
///
/// # Safety
/// `out` points to `n·count` writable, device-global `f32`, and the writer is called with
/// `j < count` only.
#[inline(always)]
unsafe fn own_row(out: *mut f32, n: u32, count: u32) -> Option<(u32, impl FnMut(u32, f32))> {
    let i = thread_index();
    if i >= u64::from(n) {
        return None;
    }
    let row = i as usize * count as usize;
    Some((i as u32, move |j: u32, v: f32| {
        // SAFETY: row + j < n·count (i < n, j < count); each thread writes its own row.
        unsafe { out.add(row + j as usize).write(v) }
    }))
}

kernel! {
    /// Uniforms: `out[i * count + j]` = uniform `j` of stream `first + i`, for `i < n`.
    ///
    /// # Safety
    /// `out` points to `n * count` writable, device-global `f32`.
    pub unsafe fn fill_uniforms(out: *mut f32, seed: u64, first: u64, n: u32, count: u32) {
        // SAFETY: `out` holds n·count elements (this kernel's contract); the body writes
        // columns below `count` only.
        if let Some((i, put)) = unsafe { own_row(out, n, count) } {
            crate::body::fill_uniforms(i, seed, first, count, put);
        }
    }
}

kernel! {
    /// Normals: `out[i * count + j]` = normal `j` of stream `first + i`, for `i < n`.
    ///
    /// # Safety
    /// `out` points to `n * count` writable, device-global `f32`.
    pub unsafe fn fill_normals(out: *mut f32, seed: u64, first: u64, n: u32, count: u32) {
        // SAFETY: as in `fill_uniforms`.
        if let Some((i, put)) = unsafe { own_row(out, n, count) } {
            crate::body::fill_normals(i, seed, first, count, put);
        }
    }
}

kernel! {
    /// W2 (b): `out[i]` = final state of simulation `first + i`, for `i < n`.
    ///
    /// # Safety
    /// `out` points to `n` writable, device-global `f64`.
    pub unsafe fn ou_final(
        out: *mut f64,
        seed: u64,
        first: u64,
        n: u32,
        num_steps: u64,
        x0: f64,
        relax: f64,
        diffuse: f64,
    ) {
        // SAFETY: `out` holds n elements (this kernel's contract).
        unsafe {
            one_per_thread(out, n, |i| crate::body::ou_final(i, seed, first, num_steps, x0, relax, diffuse))
        }
    }
}

kernel! {
    /// W2 (b) parallel in time, stage 1: `out[i]` = sum of chunk `i % chunks` of simulation
    /// `i / chunks`, run from 0 (`n` = simulations × chunks).
    ///
    /// # Safety
    /// `out` points to `n` writable, device-global `f64`.
    pub unsafe fn ou_chunk_sums(
        out: *mut f64,
        seed: u64,
        n: u32,
        chunks: u32,
        len: u64,
        last: u64,
        relax: f64,
        diffuse: f64,
    ) {
        if chunks > 0 {
            // SAFETY: `out` holds n elements (this kernel's contract).
            unsafe {
                one_per_thread(out, n, |i| crate::body::ou_chunk_sum(i, seed, chunks, len, last, relax, diffuse))
            }
        }
    }
}

kernel! {
    /// [`ou_chunk_sums`] on JAX normals: keys as in [`ou_final_jax`], `count` = simulations.
    ///
    /// # Safety
    /// `out` points to `n` writable, device-global `f64`.
    pub unsafe fn ou_chunk_sums_jax(
        out: *mut f64,
        key: u64,
        layout: u32,
        count: u64,
        n: u32,
        chunks: u32,
        len: u64,
        last: u64,
        relax: f64,
        diffuse: f64,
    ) {
        // Written out rather than through `one_per_thread`: that way ptxas gives this kernel
        // 80 bytes of stack instead of 32 (same registers), for no clear reason.
        let i = thread_index();
        if i < u64::from(n) && chunks > 0 {
            let jax = crate::body::JaxNoise::from_args(key, layout, count);
            let y = crate::body::ou_chunk_sum_jax(i as u32, &jax, chunks, len, last, relax, diffuse);
            // SAFETY: i < n and `out` holds n elements; each thread writes its own element.
            unsafe { out.add(i as usize).write(y) }
        }
    }
}

kernel! {
    /// W2 (b), JAX mode: `out[i]` = final state of simulation `first + i` of a batch of
    /// `count` keyed by `split(key, count)` (`layout` 1 = legacy).
    ///
    /// # Safety
    /// `out` points to `n` writable, device-global `f64`.
    pub unsafe fn ou_final_jax(
        out: *mut f64,
        key: u64,
        layout: u32,
        count: u64,
        first: u64,
        n: u32,
        num_steps: u64,
        x0: f64,
        relax: f64,
        diffuse: f64,
    ) {
        // SAFETY: `out` holds n elements (this kernel's contract).
        unsafe {
            one_per_thread(out, n, |i| {
                let jax = crate::body::JaxNoise::from_args(key, layout, count);
                crate::body::ou_final_jax(i, &jax, first, num_steps, x0, relax, diffuse)
            })
        }
    }
}

kernel! {
    /// W2 (a), JAX mode: `out[t·n + i]` = state `t` of simulation `first + i`, keys as in
    /// [`ou_final_jax`].
    ///
    /// # Safety
    /// `out` points to `(num_steps + 1)·n` writable, device-global `f64`.
    pub unsafe fn ou_path_jax(
        out: *mut f64,
        key: u64,
        layout: u32,
        count: u64,
        first: u64,
        n: u32,
        num_steps: u64,
        x0: f64,
        relax: f64,
        diffuse: f64,
    ) {
        let i = thread_index();
        if i < u64::from(n) {
            let stride = n as usize;
            let jax = crate::body::JaxNoise::from_args(key, layout, count);
            crate::body::ou_path_jax(i as u32, &jax, first, num_steps, x0, relax, diffuse, |t, x| {
                // SAFETY: t <= num_steps and i < n, so t·n + i < (num_steps + 1)·n; each
                // thread writes its own column.
                unsafe { out.add(t as usize * stride + i as usize).write(x) }
            });
        }
    }
}

kernel! {
    /// W2 (a): `out[t·n + i]` = state `t` (`0..=num_steps`) of simulation `first + i`.
    ///
    /// # Safety
    /// `out` points to `(num_steps + 1)·n` writable, device-global `f64`.
    pub unsafe fn ou_path(
        out: *mut f64,
        seed: u64,
        first: u64,
        n: u32,
        num_steps: u64,
        x0: f64,
        relax: f64,
        diffuse: f64,
    ) {
        let i = thread_index();
        if i < u64::from(n) {
            let stride = n as usize;
            crate::body::ou_path(i as u32, seed, first, num_steps, x0, relax, diffuse, |t, x| {
                // SAFETY: t <= num_steps and i < n, so t·n + i < (num_steps + 1)·n; each
                // thread writes its own column.
                unsafe { out.add(t as usize * stride + i as usize).write(x) }
            });
        }
    }
}

kernel! {
    /// W2 (c): `out[i]` = final state of simulation `i` driven by `z[t·n + i]`.
    ///
    /// # Safety
    /// `out` points to `n` writable `f64`, `z` to `num_steps·n` readable `f64`, both
    /// device-global.
    pub unsafe fn ou_with_normals(
        out: *mut f64,
        z: *const f64,
        n: u32,
        num_steps: u64,
        x0: f64,
        relax: f64,
        diffuse: f64,
    ) {
        let stride = n as usize;
        let final_state = |i: u32| {
            crate::body::ou_with_normals(num_steps, x0, relax, diffuse, |t| {
                // SAFETY: t < num_steps and i < n (one_per_thread calls it for i < n only), so
                // t·n + i < num_steps·n.
                unsafe { z.add(t as usize * stride + i as usize).read() }
            })
        };
        // SAFETY: `out` holds n elements (this kernel's contract).
        unsafe { one_per_thread(out, n, final_state) }
    }
}

/// The W3 kernels' shared arguments ([`crate::body::CountArgs`]) from their parameters:
/// `u` null means fused uniforms of `seed`.
///
/// # Safety
/// `p` points to `points·d` readable `f32`; `u`, unless null, to `sims·n·d` readable `f32`;
/// both device-global and unchanged for the whole launch.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn count_args<'a>(
    p: *const f32,
    points: u32,
    d: u32,
    n: u32,
    sims: u32,
    sims_per_thread: u32,
    seed: u64,
    u: *const f32,
) -> crate::body::CountArgs<'a> {
    let (d, n) = (d as usize, n as usize);
    // SAFETY: `p` holds points·d f32 (caller's contract), read-only for the whole launch.
    let p = unsafe { core::slice::from_raw_parts(p, points as usize * d) };
    let uniforms = if u.is_null() {
        crate::body::Uniforms::Fused { seed }
    } else {
        // SAFETY: a non-null `u` holds sims·n·d f32, read-only for the whole launch.
        crate::body::Uniforms::Pregenerated(unsafe { core::slice::from_raw_parts(u, sims as usize * n * d) })
    };
    crate::body::CountArgs { p, d, n, sims, sims_per_thread, uniforms }
}

kernel! {
    /// W3 validate: `partial[g·chunks + c]` = rejections at point `g` among chunk `c` of the
    /// simulations (see [`crate::body::binomial_validate`]); `u` null means fused uniforms.
    ///
    /// # Safety
    /// `p` points to `points·d` readable `f32`; `partial` to `points·chunks` writable `u32`
    /// (`chunks = ceil(sims / sims_per_thread)`); `u`, unless null, to `sims·n·d` readable
    /// `f32`; all device-global, `d >= 1`, `sims_per_thread >= 1`.
    pub unsafe fn binomial_validate(
        partial: *mut u32,
        p: *const f32,
        points: u32,
        d: u32,
        n: u32,
        sims: u32,
        sims_per_thread: u32,
        lambda: f32,
        seed: u64,
        u: *const f32,
    ) {
        // SAFETY: this kernel's contract is `count_args`'s.
        let counts = unsafe { count_args(p, points, d, n, sims, sims_per_thread, seed, u) };
        let args = crate::body::BinomialArgs { counts, lambda };
        let i = thread_index();
        if i < counts.threads() {
            let chunks = counts.chunks() as usize;
            let c = i as usize % chunks;
            crate::body::binomial_validate(i as u32, &args, |g, r| {
                // SAFETY: g < points and c < chunks, so g·chunks + c < points·chunks; the pair
                // (g, c) belongs to this thread alone.
                unsafe { partial.add(g * chunks + c).write(r) }
            });
        }
    }
}

/// One member's lane of a strided `[element][batch]` array in global memory: element `e`
/// at `ptr[e·stride + lane]` (the device twin of [`crate::body::Strided`]).
struct StridedPtr {
    ptr: *mut f32,
    stride: usize,
    lane: usize,
}

impl simcore::models::heun::LaneBuf<f32> for StridedPtr {
    #[inline(always)]
    fn get(&self, i: usize) -> f32 {
        // SAFETY: every StridedPtr is built in `jansen_rit` below over a region of at least
        // (elements)·stride f32 with lane < stride, and the integrator indexes elements
        // below the region's element count (its documented buffer sizes).
        unsafe { self.ptr.add(i * self.stride + self.lane).read() }
    }
    #[inline(always)]
    fn set(&mut self, i: usize, x: f32) {
        // SAFETY: as in `get`; lane `b` is written by thread `b` only.
        unsafe { self.ptr.add(i * self.stride + self.lane).write(x) }
    }
}

kernel! {
    /// W4 / W4d: integrates member `b < batch` in place in `x` (`[6][nn][batch]`).
    ///
    /// # Safety
    /// `x`: `6·nn·batch` f32; `work`: `jansen_rit_work_elems(nn, lags != null)·batch` f32;
    /// `weights`: `nn·nn` f32; `lags`: null or `nn·nn` u8; `k`: `k_len` f32 and `mu`: `mu_len`
    /// f32 (each 1 or `batch`); `params`: `JR_PARAMS` f32; all device-global, validated values.
    pub unsafe fn jansen_rit(
        x: *mut f32,
        work: *mut f32,
        weights: *const f32,
        lags: *const u8,
        k: *const f32,
        mu: *const f32,
        params: *const f32,
        nn: u32,
        batch: u32,
        k_len: u32,
        mu_len: u32,
        nt: u64,
        seed: u64,
        dt: f32,
        sigma: f32,
    ) {
        // SAFETY: this entry's contract is `jansen_rit_impl`'s.
        unsafe {
            jansen_rit_impl(
                x, work, weights, lags, k, mu, params, nn, batch, k_len, mu_len, nt, seed, dt, sigma, None,
            )
        }
    }
}

kernel! {
    /// W4 / W4d in the JAX stream mode: as [`jansen_rit`] with member `b`'s noise from
    /// `jax.random.split(key, batch)[b]` (`key = key_data[0] << 32 | key_data[1]`, `layout`
    /// 1 = legacy).
    ///
    /// # Safety
    /// As [`jansen_rit`].
    pub unsafe fn jansen_rit_jax(
        x: *mut f32,
        work: *mut f32,
        weights: *const f32,
        lags: *const u8,
        k: *const f32,
        mu: *const f32,
        params: *const f32,
        nn: u32,
        batch: u32,
        k_len: u32,
        mu_len: u32,
        nt: u64,
        key: u64,
        layout: u32,
        dt: f32,
        sigma: f32,
    ) {
        let jax = crate::body::JaxNoise::from_args(key, layout, u64::from(batch));
        // SAFETY: this entry's contract is `jansen_rit_impl`'s.
        unsafe {
            jansen_rit_impl(
                x,
                work,
                weights,
                lags,
                k,
                mu,
                params,
                nn,
                batch,
                k_len,
                mu_len,
                nt,
                0,
                dt,
                sigma,
                Some(jax),
            )
        }
    }
}

/// The body of [`jansen_rit`] and [`jansen_rit_jax`].
///
/// # Safety
/// As [`jansen_rit`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn jansen_rit_impl(
    x: *mut f32,
    work: *mut f32,
    weights: *const f32,
    lags: *const u8,
    k: *const f32,
    mu: *const f32,
    params: *const f32,
    nn: u32,
    batch: u32,
    k_len: u32,
    mu_len: u32,
    nt: u64,
    seed: u64,
    dt: f32,
    sigma: f32,
    jax: Option<crate::body::JaxNoise>,
) {
    use crate::body::{JR_PARAMS, JansenRitArgs};
    let b = thread_index();
    if b >= u64::from(batch) {
        return;
    }
    let (nn, bs, lane) = (nn as usize, batch as usize, b as usize);
    // SAFETY: sizes per this function's contract; all read-only during the launch.
    let (weights, lags, k, mu, params) = unsafe {
        (
            core::slice::from_raw_parts(weights, nn * nn),
            if lags.is_null() { None } else { Some(core::slice::from_raw_parts(lags, nn * nn)) },
            core::slice::from_raw_parts(k, k_len as usize),
            core::slice::from_raw_parts(mu, mu_len as usize),
            *(params as *const [f32; JR_PARAMS]),
        )
    };
    let args = JansenRitArgs { nn, nt, seed, dt, sigma, params, k, mu, weights, lags, jax };
    let view = |elem_offset: usize| StridedPtr {
        // SAFETY: elem_offset·batch is within `work` (offsets below are region starts of
        // jansen_rit_work_elems(nn, delayed) elements).
        ptr: unsafe { work.add(elem_offset * bs) },
        stride: bs,
        lane,
    };
    let nv = simcore::models::jansen_rit::NV;
    let (mut xp, mut f1, mut nz) = (view(0), view(nv * nn), view(2 * nv * nn));
    let (mut cv, mut c, mut hist) = (view(3 * nv * nn), view((3 * nv + 1) * nn), view((3 * nv + 2) * nn));
    let mut s =
        simcore::models::heun::Scratch { xp: &mut xp, f1: &mut f1, nz: &mut nz, cv: &mut cv, c: &mut c };
    let mut xs = StridedPtr { ptr: x, stride: bs, lane };
    let hist = if args.lags.is_some() { Some(&mut hist) } else { None };
    crate::body::jansen_rit(b as u32, &args, &mut xs, &mut s, hist);
}

kernel! {
    /// W5: integrates member `b < batch` in place in `x` (`[2][nn][batch]`, holding the
    /// initial state) and writes the statistic of its `r` to `std_r[b]`.
    ///
    /// # Safety
    /// `x`: `2·nn·batch` f32; `std_r`: `batch` f64; `work`: `mpr_work_elems(nn)·batch` f32;
    /// `weights`: `nn·nn` f32; `k`: `k_len` f32 and `eta`: `eta_len` f32 (each 1 or `batch`);
    /// `params`: `MPR_PARAMS` f32; all device-global, validated values.
    pub unsafe fn mpr(
        x: *mut f32,
        std_r: *mut f64,
        work: *mut f32,
        weights: *const f32,
        k: *const f32,
        eta: *const f32,
        params: *const f32,
        nn: u32,
        batch: u32,
        k_len: u32,
        eta_len: u32,
        nt: u64,
        stat_first: u64,
        seed: u64,
        dt: f32,
        sigma: f32,
    ) {
        // SAFETY: this entry's contract is `mpr_impl`'s.
        unsafe {
            mpr_impl(
                x, std_r, work, weights, k, eta, params, nn, batch, k_len, eta_len, nt, stat_first, seed, dt,
                sigma, None,
            )
        }
    }
}

kernel! {
    /// W5 in the JAX stream mode: as [`mpr`] with member `b`'s noise from
    /// `jax.random.split(key, batch)[b]` (arguments as in [`jansen_rit_jax`]).
    ///
    /// # Safety
    /// As [`mpr`].
    pub unsafe fn mpr_jax(
        x: *mut f32,
        std_r: *mut f64,
        work: *mut f32,
        weights: *const f32,
        k: *const f32,
        eta: *const f32,
        params: *const f32,
        nn: u32,
        batch: u32,
        k_len: u32,
        eta_len: u32,
        nt: u64,
        stat_first: u64,
        key: u64,
        layout: u32,
        dt: f32,
        sigma: f32,
    ) {
        let jax = crate::body::JaxNoise::from_args(key, layout, u64::from(batch));
        // SAFETY: this entry's contract is `mpr_impl`'s.
        unsafe {
            mpr_impl(
                x,
                std_r,
                work,
                weights,
                k,
                eta,
                params,
                nn,
                batch,
                k_len,
                eta_len,
                nt,
                stat_first,
                0,
                dt,
                sigma,
                Some(jax),
            )
        }
    }
}

/// The body of [`mpr`] and [`mpr_jax`].
///
/// # Safety
/// As [`mpr`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn mpr_impl(
    x: *mut f32,
    std_r: *mut f64,
    work: *mut f32,
    weights: *const f32,
    k: *const f32,
    eta: *const f32,
    params: *const f32,
    nn: u32,
    batch: u32,
    k_len: u32,
    eta_len: u32,
    nt: u64,
    stat_first: u64,
    seed: u64,
    dt: f32,
    sigma: f32,
    jax: Option<crate::body::JaxNoise>,
) {
    use crate::body::{MPR_PARAMS, MprArgs};
    let b = thread_index();
    if b >= u64::from(batch) {
        return;
    }
    let (nn, bs, lane) = (nn as usize, batch as usize, b as usize);
    // SAFETY: sizes per this function's contract; all read-only during the launch.
    let (weights, k, eta, params) = unsafe {
        (
            core::slice::from_raw_parts(weights, nn * nn),
            core::slice::from_raw_parts(k, k_len as usize),
            core::slice::from_raw_parts(eta, eta_len as usize),
            *(params as *const [f32; MPR_PARAMS]),
        )
    };
    let args = MprArgs { nn, nt, stat_first, seed, dt, sigma, params, k, eta, weights, jax };
    let view = |elem_offset: usize| StridedPtr {
        // SAFETY: elem_offset·batch is within `work` (region starts of mpr_work_elems(nn)).
        ptr: unsafe { work.add(elem_offset * bs) },
        stride: bs,
        lane,
    };
    let nv = simcore::models::mpr::NV;
    let (mut xp, mut f1, mut nz) = (view(0), view(nv * nn), view(2 * nv * nn));
    let (mut cv, mut c) = (view(3 * nv * nn), view((3 * nv + 1) * nn));
    let mut s =
        simcore::models::heun::Scratch { xp: &mut xp, f1: &mut f1, nz: &mut nz, cv: &mut cv, c: &mut c };
    let mut xs = StridedPtr { ptr: x, stride: bs, lane };
    let sd = crate::body::mpr(b as u32, &args, &mut xs, &mut s);
    // SAFETY: b < batch and `std_r` holds batch f64; each thread writes its own element.
    unsafe { std_r.add(lane).write(sd) }
}

// Every entry has its kernel's parameter list (`crate::signature`): one that differs does
// not build.
const _: () = {
    use crate::signature::*;
    let _: PiHits = pi_hits;
    let _: PiHitsJax = pi_hits_jax;
    let _: Fill = fill_uniforms;
    let _: Fill = fill_normals;
    let _: Ou = ou_final;
    let _: Ou = ou_path;
    let _: OuJax = ou_final_jax;
    let _: OuJax = ou_path_jax;
    let _: OuChunkSums = ou_chunk_sums;
    let _: OuChunkSumsJax = ou_chunk_sums_jax;
    let _: OuWithNormals = ou_with_normals;
    let _: BinomialValidate = binomial_validate;
    let _: JansenRit = jansen_rit;
    let _: JansenRitJax = jansen_rit_jax;
    let _: Mpr = mpr;
    let _: MprJax = mpr_jax;
};
