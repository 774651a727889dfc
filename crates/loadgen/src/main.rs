//! `tutti-load SCENARIO [OPTIONS]`: runs one load scenario against a Tutti server and
//! prints what it measured (see the `tutti_loadgen` library for how).

use clap::{Parser, Subcommand};
use tutti_loadgen::scenarios::{music, pages, recital};

/// Open-loop load generator for Tutti: fixed-rate requests from virtual users (signed in,
/// or anonymous listeners), latencies from each request's scheduled send time.
#[derive(Debug, Parser)]
#[command(name = "tutti-load", version)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// The home page and an authenticated API read (GET /api/v1/me), alternately.
    Pages(pages::PagesArgs),
    /// Opening an album, anonymously: the public album page and the Subsonic getAlbum
    /// call (with an API key), alternately.
    Music(music::MusicArgs),
    /// Speakers reading aloud: each streams a WebM/Opus recording in chunks at real-time
    /// pace, marks its sentences and ends its session; chunk acknowledgement latency, lost
    /// chunks, and (with --wait-processing) the processing rate.
    Recital(recital::RecitalArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::Pages(args) => pages::run(args).await.map(|_| ()),
        Scenario::Music(args) => music::run(args).await.map(|_| ()),
        Scenario::Recital(args) => recital::run(args).await.map(|_| ()),
    }
}
