//! [`Simulator`]: the one entry point. Each workload module adds its methods to it
//! (`impl Simulator` blocks in [`crate::workload`]), dispatching on the [`Backend`].

/// Where the simulations run. Results do not depend on this choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// One simulation at a time, plain `f32`/`f64`: the reference oracle.
    #[default]
    Scalar,
}

impl Backend {
    /// Short lower-case name used in reports and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
        }
    }
}

/// Runs workloads on one backend.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    backend: Backend,
}

impl Simulator {
    /// A simulator on `backend`.
    pub fn new(backend: Backend) -> Self {
        Self { backend }
    }

    /// The backend this simulator runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}
