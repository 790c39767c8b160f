//! `cargo xtask ptx` (to be written).

/// Options of `cargo xtask ptx`.
#[derive(clap::Args)]
pub struct PtxArgs {
    /// Rebuild and compare source hash and entry points with the checked-in PTX.
    #[arg(long)]
    pub check: bool,
}

/// Builds and validates the PTX.
pub fn run(_args: PtxArgs) -> Result<std::process::ExitCode, String> {
    Err("not implemented yet".into())
}
