//! Where log lines go and how they look: readable in a terminal, JSON lines for a log
//! collector. Everything logs through `tracing`, so one subscriber set up here covers the
//! HTTP layer, the job worker and every studio.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset: our own events, but not every SQL statement. The
/// decoders log a malformed upload as an error of their own; it is the uploader's mistake,
/// already answered as a problem naming the file, so it is not an error of the server.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,symphonia=off";

/// Installs the process-wide subscriber. Safe to call more than once (tests start several
/// servers in one process): only the first call takes effect.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
