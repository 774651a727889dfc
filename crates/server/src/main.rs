//! The `tutti` binary; everything it does lives in the `tutti_server` library.

use std::process::ExitCode;

use clap::Parser as _;
use tutti_server::cli::{self, Cli};

/// A request allocates and frees dozens of small blocks across threads: with glibc's
/// malloc an album page took about a fifth more CPU. Huge pages stay off (`no_thp`) so
/// that freed memory is given back in small pieces and the server's memory stays flat.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
