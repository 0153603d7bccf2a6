use clap::Parser;
use cohort::{cli, config::Cli, telemetry};
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: rendering pages allocates a lot of small strings.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cohort stopped with an error");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
