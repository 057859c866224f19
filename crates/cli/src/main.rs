//! `cellproof`: keys, trust lists, status lists, issuing, verifying and QR decoding.
//!
//! `main` only parses arguments and maps the outcome to an exit code (ripgrep's habit):
//! 0 valid or success, 1 invalid or unverifiable, 2 usage or I/O error.

use std::process::ExitCode;

use clap::Parser as _;

mod args;
mod cmd;
mod fetch;
mod inputs;
mod inspect;
mod lifecycle;
mod output;
mod publish;
mod resolve;
mod sandbox;
mod sync;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match cmd::run(cli) {
        Ok(cmd::Outcome::Success) => ExitCode::SUCCESS,
        Ok(cmd::Outcome::NotValid) => ExitCode::from(1),
        Err(e) => {
            // An error can quote input (a file's content, a scanned text): escaped for the terminal.
            eprintln!("cellproof: error: {}", output::safe(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
