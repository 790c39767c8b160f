//! Random streams.
//!
//! * [`philox4x32_10()`] — the counter-based reference generator: any block of any stream in
//!   O(1), identical on every backend. [`stream`] fixes how `(seed, stream_id, counter)`
//!   map onto it and how words become uniforms and normals (WORKLOADS.md, "Random streams").
//! * [`jax`] — JAX-compatible streams (threefry2x32 keys, splits, bits, uniforms,
//!   normals), bit for bit with `jax.random`.
//! * [`splitmix64`], [`xoshiro256pp`], [`xoroshiro128p`] — fast sequential generators,
//!   bit-identical to the `rand_xoshiro` crate, implementing `rand_core::RngCore`.

pub mod jax;
pub mod philox4x32_10;
pub mod source;
pub mod splitmix64;
pub mod stream;
pub mod xoroshiro128p;
pub mod xoshiro256pp;

pub use philox4x32_10::philox4x32_10;
pub use source::NormalSource;
pub use splitmix64::SplitMix64;
pub use stream::{NormalSeq, Stream};
pub use xoroshiro128p::Xoroshiro128Plus;
pub use xoshiro256pp::Xoshiro256PlusPlus;
