//! Structured logs with `tracing` on stderr (stdout carries only the start-up banner);
//! RUST_LOG chooses what is shown.

use crate::config::LogFormat;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Pretty => registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}
