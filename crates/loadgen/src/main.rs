//! `tutti-load SCENARIO [OPTIONS]`: runs one load scenario against a Tutti server and
//! prints what it measured (see the `tutti_loadgen` library for how).

use clap::{Parser, Subcommand};
use tutti_loadgen::scenarios::{choir, meetings, music, pages, recital};

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
    /// Singers in choir rooms: each a guest on a WebSocket sending its own Opus voice in
    /// 600 ms batches at real-time pace behind a leader, hearing its bucket's mix; mix
    /// latency from due, late packets, protocol errors, and a probe that decodes one
    /// listener's mix for the leader's test tone.
    Choir(choir::ChoirArgs),
    /// Meetings of synthetic WebRTC participants (str0m): a host and guests per room,
    /// each sending Opus audio and VP8 video and receiving everyone else's; forwarded
    /// tracks, frame loss, one-way latency and protocol errors.
    Meetings(meetings::MeetingsArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::Pages(args) => pages::run(args).await.map(|_| ()),
        Scenario::Music(args) => music::run(args).await.map(|_| ()),
        Scenario::Recital(args) => recital::run(args).await.map(|_| ()),
        Scenario::Choir(args) => choir::run(args).await.map(|_| ()),
        Scenario::Meetings(args) => meetings::run(args).await.map(|_| ()),
    }
}
