//! `cargo xtask bench` (to be written).

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Small sizes that finish in under a minute on 2 cores.
    #[arg(long)]
    pub quick: bool,
}

/// Runs the benchmark.
pub fn run(_args: BenchArgs) -> Result<std::process::ExitCode, String> {
    Err("not implemented yet".into())
}
