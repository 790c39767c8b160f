//! # simlanes — batched stochastic simulation, same answers on every backend
//!
//! One simulation is one SIMD lane or one GPU thread; thousands run side by side. The
//! math lives once in [`simcore`]; this crate owns the memory, the loops and the
//! backends, and checks every input before any kernel runs.
//!
//! Pick a backend with one value ([`Backend`]), build a [`Simulator`], and call the
//! workload methods ([`Simulator::pi`], [`Simulator::ou_final`], …). Every backend returns
//! the same numbers for the same seed: integer counts exactly, floats bit for bit.
//!
//! ```
//! use simlanes::workload::pi::PiSpec;
//! use simlanes::{Backend, Simulator, ThreadConfig};
//!
//! # fn main() -> Result<(), simlanes::SimError> {
//! let spec = PiSpec { seed: 0, pairs_per_estimate: 50_000, estimates: 64, jax_key: None };
//! let simd = Simulator::new(Backend::Simd)?.pi(&spec)?;
//! let threads = Simulator::new(Backend::Threaded(ThreadConfig::new(2)))?.pi(&spec)?;
//! assert_eq!(simd.hits, threads.hits); // same seed, same answer, any backend
//! assert!((simd.mean - std::f64::consts::PI).abs() < 0.01);
//! println!("pi ≈ {:.5} from {} estimates", simd.mean, simd.estimates.len());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod calibration;
pub mod cpu;
pub mod error;
pub mod memory;
pub mod simulator;
pub mod workload;

pub use error::SimError;
pub use simcore;
pub use simulator::{Backend, CancelToken, Simulator, ThreadConfig};
