//! `cargo xtask <command>`: project automation.
//!
//! * `bench` — measures the machine (bandwidth, FMA peak) and runs every workload on every
//!   available backend, reporting throughput and utilisation ([`mod@bench`]).
//! * `ptx` — builds the device kernels to PTX and validates them with ptxas ([`ptx`]).
//! * `gpu-bundle` — the GPU test binaries, this binary and a runner script in one folder,
//!   for a GPU machine without Rust ([`gpu_bundle`]).

mod bench;
mod gpu_bundle;
mod ptx;

use clap::{Parser, Subcommand};

/// Project automation for simlanes.
#[derive(Parser)]
#[command(name = "xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every workload on every available backend and report throughput against the
    /// machine's measured and theoretical peaks.
    Bench(bench::BenchArgs),
    /// Build the GPU kernels to PTX (sm_80, sm_90) and validate them with ptxas.
    Ptx(ptx::PtxArgs),
    /// Put the GPU test binaries, this binary and `run.sh` into one folder
    /// (`target/gpu-bundle`) that a machine with a GPU but no Rust runs with one command.
    GpuBundle(gpu_bundle::GpuBundleArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Ptx(args) => ptx::run(args),
        Command::GpuBundle(args) => gpu_bundle::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
