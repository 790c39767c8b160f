//! Every kernel's parameter list, once, as a Rust function type.
//!
//! A launch pushes its arguments one by one through the driver API, which checks nothing:
//! an argument of the wrong width or in the wrong place reads as garbage on the device, a
//! wrong result or a fault that no test without a GPU would see. So the parameter lists
//! are written here once and three parties are held to them by the compiler or a test:
//!
//! * the device entries: `cargo xtask ptx` compiles `const _: Sig = entry;` beside each
//!   entry (on nvptx these types are `unsafe extern "ptx-kernel" fn`, on the host plain
//!   `unsafe fn`, and the entries compile for both), so an entry whose parameters differ
//!   does not build;
//! * the host runner (`simlanes::backend::gpu`): it pushes a launch's arguments as one
//!   tuple through a function bounded by the kernel's [`Signature`] (host only), so a
//!   missing, extra, misplaced or mistyped argument — or an input buffer passed where the
//!   kernel writes — does not compile;
//! * the host launches of the entries ([`crate::host`], for the libcuda stand-in): a
//!   driver's argument block is read back by the same types ([`HostEntry`]);
//! * [`crate::ENTRY_POINTS`], which `cargo xtask ptx --check` compares with the built
//!   PTX, is derived from these types.

macro_rules! signatures {
    ($($(#[$doc:meta])* $name:ident $(<$g:ident>)? = fn($($p:ident: $t:ty),* $(,)?);)*) => {$(
        $(#[$doc])*
        #[cfg(target_arch = "nvptx64")]
        pub type $name$(<$g>)? = unsafe extern "ptx-kernel" fn($($p: $t),*);
        $(#[$doc])*
        #[cfg(not(target_arch = "nvptx64"))]
        pub type $name$(<$g>)? = unsafe fn($($p: $t),*);
    )*};
}

signatures! {
    /// W1 hit counts of estimates `first .. first + n`.
    PiHits = fn(hits: *mut u32, seed: u64, first: u64, n: u32, pairs: u64);
    /// W1 in the JAX stream mode (`key = key_data[0] << 32 | key_data[1]`, `layout` 1 =
    /// legacy, `count` = the batch the key is split into).
    PiHitsJax = fn(hits: *mut u32, key: u64, layout: u32, count: u64, first: u64, n: u32, pairs: u64);
    /// `n × count` uniforms or normals of streams `first ..`.
    Fill = fn(out: *mut f32, seed: u64, first: u64, n: u32, count: u32);
    /// W2 final state (b) or full path (a).
    Ou = fn(out: *mut f64, seed: u64, first: u64, n: u32, num_steps: u64, x0: f64, relax: f64, diffuse: f64);
    /// [`Ou`] in the JAX stream mode.
    OuJax = fn(
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
    );
    /// W2 parallel in time: every chunk of every path from 0.
    OuChunkSums = fn(
        out: *mut f64,
        seed: u64,
        n: u32,
        chunks: u32,
        len: u64,
        last: u64,
        relax: f64,
        diffuse: f64,
    );
    /// [`OuChunkSums`] in the JAX stream mode.
    OuChunkSumsJax = fn(
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
    );
    /// W2 (c): final states from the caller's normals.
    OuWithNormals = fn(out: *mut f64, z: *const f64, n: u32, num_steps: u64, x0: f64, relax: f64, diffuse: f64);
    /// W3 validate: partial rejection counts per (point, chunk of simulations); `u` null
    /// for fused uniforms.
    BinomialValidate = fn(
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
    );
    /// W3 calibrate: per-point histograms of the counts; `u` null for fused uniforms.
    BinomialHistogram = fn(
        hist: *mut u32,
        p: *const f32,
        points: u32,
        d: u32,
        n: u32,
        sims: u32,
        sims_per_thread: u32,
        seed: u64,
        u: *const f32,
    );
    /// W4 / W4d (`lags` null: no delays).
    JansenRit = fn(
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
    );
    /// [`JansenRit`] in the JAX stream mode: `key, layout` in place of `seed`.
    JansenRitJax = fn(
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
    );
    /// W5.
    Mpr = fn(
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
    );
    /// [`Mpr`] in the JAX stream mode: `key, layout` in place of `seed`.
    MprJax = fn(
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
    );
    /// BabelStream fill: `c[i] = v`.
    StreamFill<T> = fn(c: *mut T, n: u64, v: T);
    /// BabelStream copy: `c[i] = a[i]`.
    StreamCopy<T> = fn(a: *const T, c: *mut T, n: u64);
    /// BabelStream scale: `b[i] = s·c[i]`.
    StreamScale<T> = fn(c: *const T, b: *mut T, n: u64, s: T);
    /// BabelStream add: `c[i] = a[i] + b[i]`.
    StreamAdd<T> = fn(a: *const T, b: *const T, c: *mut T, n: u64);
    /// BabelStream triad: `a[i] = b[i] + s·c[i]`.
    StreamTriad<T> = fn(b: *const T, c: *const T, a: *mut T, n: u64, s: T);
    /// BabelStream dot, first pass: one partial sum per thread.
    StreamDot<T> = fn(a: *const T, b: *const T, partial: *mut T, n: u64);
    /// BabelStream sum (dot's second pass): one partial sum per thread.
    StreamSum<T> = fn(x: *const T, partial: *mut T, n: u64);
}

/// A kernel parameter type and its PTX parameter type (device pointers are `.u64`).
#[cfg(not(target_arch = "nvptx64"))]
pub trait PtxParam {
    /// The PTX type `ptxas` and `cargo xtask ptx --check` see.
    const PTX: &'static str;
}

#[cfg(not(target_arch = "nvptx64"))]
impl<T> PtxParam for *mut T {
    const PTX: &'static str = "u64";
}
#[cfg(not(target_arch = "nvptx64"))]
impl<T> PtxParam for *const T {
    const PTX: &'static str = "u64";
}
#[cfg(not(target_arch = "nvptx64"))]
macro_rules! ptx_scalars {
    ($($t:ty => $s:literal),*) => {$(
        impl PtxParam for $t {
            const PTX: &'static str = $s;
        }
    )*};
}
#[cfg(not(target_arch = "nvptx64"))]
ptx_scalars!(u32 => "u32", u64 => "u64", f32 => "f32", f64 => "f64");

/// A kernel signature on the host: its parameters as a tuple (what a launch must push, in
/// order) and as PTX types.
#[cfg(not(target_arch = "nvptx64"))]
pub trait Signature {
    /// The parameter types, in order, as one tuple.
    type Params;
    /// The parameters' PTX types, in order.
    const PTX: &'static [&'static str];
}

/// An entry point's host form, called with its parameters read from a driver's argument
/// block (what `cuLaunchKernel` receives), for [`crate::host::launch`].
#[cfg(not(target_arch = "nvptx64"))]
#[allow(unsafe_code)]
pub trait HostEntry: Signature {
    /// Runs the entry once, for the current grid thread ([`crate::grid`]).
    ///
    /// # Safety
    /// `params` holds one pointer per parameter, each to a value of that parameter's type,
    /// and the values satisfy the entry's `# Safety` contract with host memory as the
    /// device's.
    unsafe fn call(self, params: crate::host::RawParams);
}

#[cfg(not(target_arch = "nvptx64"))]
macro_rules! signature_arities {
    ($(($($a:ident),+))*) => {$(
        impl<$($a: PtxParam),+> Signature for unsafe fn($($a),+) {
            type Params = ($($a,)+);
            const PTX: &'static [&'static str] = &[$($a::PTX),+];
        }

        #[allow(unsafe_code)]
        impl<$($a: PtxParam + Copy),+> HostEntry for unsafe fn($($a),+) {
            #[allow(non_snake_case)]
            unsafe fn call(self, params: crate::host::RawParams) {
                let mut next = params;
                $(
                    // SAFETY: `params` holds one pointer per parameter, this one to an
                    // `$a` (the caller's contract); `next` stays within the block.
                    let $a = unsafe {
                        let v = (*next as *const $a).read_unaligned();
                        next = next.add(1);
                        v
                    };
                )+
                let _ = next;
                // SAFETY: the entry's own contract, which the caller guarantees.
                unsafe { self($($a),+) }
            }
        }
    )*};
}
#[cfg(not(target_arch = "nvptx64"))]
signature_arities! {
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, F)
    (A, B, C, D, E, F, G)
    (A, B, C, D, E, F, G, H)
    (A, B, C, D, E, F, G, H, I)
    (A, B, C, D, E, F, G, H, I, J)
    (A, B, C, D, E, F, G, H, I, J, K)
    (A, B, C, D, E, F, G, H, I, J, K, L)
    (A, B, C, D, E, F, G, H, I, J, K, L, M)
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N)
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O)
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P)
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q)
}

/// The parameters' PTX types of signature `S` (for [`crate::ENTRY_POINTS`]).
#[cfg(not(target_arch = "nvptx64"))]
pub const fn ptx<S: Signature>() -> &'static [&'static str] {
    S::PTX
}
