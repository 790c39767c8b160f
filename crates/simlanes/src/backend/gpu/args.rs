//! Kernel arguments held to the kernel's signature at compile time.
//!
//! cudarc's launch builder pushes whatever it is given; the driver copies the bytes into
//! the kernel's parameter space without knowing their types. A wrong width, order or
//! count would reach the device as garbage. [`push_args`] instead takes a launch's
//! arguments as one tuple and compiles only when that tuple's parameter types are those
//! of the kernel's [`Signature`] (`gpu_kernels::signature`, the same types the device
//! entries are checked against when `cargo xtask ptx` builds them). An output buffer must
//! be passed as `&mut` (a `*mut` parameter); an input as `&` or, when the kernel takes a
//! null pointer for "absent", as an `Option`.

use cudarc::driver::{CudaSlice, DeviceRepr, LaunchArgs, PushKernelArg};
use gpu_kernels::signature::{PtxParam, Signature};

/// A scalar kernel parameter, passed by value.
pub trait ScalarParam: PtxParam + DeviceRepr + Copy {}
impl ScalarParam for u32 {}
impl ScalarParam for u64 {}
impl ScalarParam for f32 {}
impl ScalarParam for f64 {}

/// What the host passes for one kernel parameter, and the parameter's type in the kernel.
pub trait KernelArg<'a> {
    /// The kernel's parameter type.
    type Param;
    /// Pushes the argument onto the launch.
    fn push(self, launch: &mut LaunchArgs<'a>);
}

impl<'a, T: ScalarParam> KernelArg<'a> for &'a T {
    type Param = T;
    fn push(self, launch: &mut LaunchArgs<'a>) {
        launch.arg(self);
    }
}

impl<'a, T> KernelArg<'a> for &'a mut CudaSlice<T> {
    type Param = *mut T;
    fn push(self, launch: &mut LaunchArgs<'a>) {
        launch.arg(self);
    }
}

impl<'a, T> KernelArg<'a> for &'a CudaSlice<T> {
    type Param = *const T;
    fn push(self, launch: &mut LaunchArgs<'a>) {
        launch.arg(self);
    }
}

/// A null device pointer, for an optional input that is absent.
static NULL: u64 = 0;

impl<'a, T> KernelArg<'a> for Option<&'a CudaSlice<T>> {
    type Param = *const T;
    fn push(self, launch: &mut LaunchArgs<'a>) {
        match self {
            Some(s) => launch.arg(s),
            None => launch.arg(&NULL),
        };
    }
}

/// A launch's whole argument list, as a tuple of [`KernelArg`]s.
pub trait KernelArgs<'a> {
    /// The kernel parameter types, in order, as a tuple (compare [`Signature::Params`]).
    type Params;
    /// Pushes every argument, in order.
    fn push_all(self, launch: &mut LaunchArgs<'a>);
}

macro_rules! arg_tuples {
    ($(($($a:ident),+))*) => {$(
        impl<'a, $($a: KernelArg<'a>),+> KernelArgs<'a> for ($($a,)+) {
            type Params = ($($a::Param,)+);
            #[allow(non_snake_case)]
            fn push_all(self, launch: &mut LaunchArgs<'a>) {
                let ($($a,)+) = self;
                $($a.push(launch);)+
            }
        }
    )*};
}

arg_tuples! {
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

/// Pushes `args` onto `launch` in order. Compiles only when `args` are kernel `S`'s
/// parameters: the same count, each of the same type in the same place (see the module
/// docs).
///
/// ```no_run
/// # use cudarc::driver::{CudaSlice, LaunchArgs};
/// # use simlanes::backend::gpu::{args::push_args, gpu_kernels::signature as sig};
/// fn pi_hits<'a>(launch: &mut LaunchArgs<'a>, hits: &'a mut CudaSlice<u32>, seed: &'a u64, n: &'a u32) {
///     push_args::<sig::PiHits, _>(launch, (hits, seed, seed, n, seed));
/// }
/// ```
///
/// A `u64` where the kernel takes `n: u32` does not compile:
///
/// ```compile_fail,E0271
/// # use cudarc::driver::{CudaSlice, LaunchArgs};
/// # use simlanes::backend::gpu::{args::push_args, gpu_kernels::signature as sig};
/// fn pi_hits<'a>(launch: &mut LaunchArgs<'a>, hits: &'a mut CudaSlice<u32>, seed: &'a u64) {
///     push_args::<sig::PiHits, _>(launch, (hits, seed, seed, seed, seed));
/// }
/// ```
///
/// Nor does an input buffer where the kernel writes (`hits: *mut u32`):
///
/// ```compile_fail,E0271
/// # use cudarc::driver::{CudaSlice, LaunchArgs};
/// # use simlanes::backend::gpu::{args::push_args, gpu_kernels::signature as sig};
/// fn pi_hits<'a>(launch: &mut LaunchArgs<'a>, hits: &'a CudaSlice<u32>, seed: &'a u64, n: &'a u32) {
///     push_args::<sig::PiHits, _>(launch, (hits, seed, seed, n, seed));
/// }
/// ```
pub fn push_args<'a, S: Signature, A: KernelArgs<'a, Params = S::Params>>(
    launch: &mut LaunchArgs<'a>,
    args: A,
) {
    args.push_all(launch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpu_kernels::signature as sig;

    /// Type-level only: the tuple a launch passes has the kernel's parameter types.
    fn params_of<'a, S: Signature, A: KernelArgs<'a, Params = S::Params>>() {}

    #[test]
    fn argument_tuples_map_to_kernel_parameters() {
        params_of::<sig::PiHits, (&mut CudaSlice<u32>, &u64, &u64, &u32, &u64)>();
        params_of::<sig::StreamScale<f64>, (&CudaSlice<f64>, &mut CudaSlice<f64>, &u64, &f64)>();
        params_of::<
            sig::BinomialHistogram,
            (
                &mut CudaSlice<u32>,
                &CudaSlice<f32>,
                &u32,
                &u32,
                &u32,
                &u32,
                &u32,
                &u64,
                Option<&CudaSlice<f32>>,
            ),
        >();
        assert_eq!(<sig::PiHits as Signature>::PTX, ["u64", "u64", "u64", "u32", "u64"]);
    }
}
