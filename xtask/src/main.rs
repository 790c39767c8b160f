//! `cargo xtask <command>`: project automation.
//!
//! * `bench` — measures the machine (bandwidth, FMA peak) and runs every workload on every
//!   available backend, reporting throughput and utilisation ([`mod@bench`]).
//! * `ptx` — builds the device kernels to PTX and validates them with ptxas ([`ptx`]).

mod bench;
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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Ptx(args) => ptx::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
