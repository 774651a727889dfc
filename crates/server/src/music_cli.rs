//! `tutti music …`: import an album folder from the shell. Every file is read before
//! anything is created, so a folder with an unreadable file changes nothing and the
//! command names the file; then the release and its tracks are made the way a web upload
//! makes them, and the command runs the processing jobs itself (or waits for a running
//! server's) with a progress bar.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tutti_accounts::Email;
use tutti_accounts::admin::{self, Actor};
use tutti_media::probe::ProbeInfo;
use tutti_music::db;
use tutti_music::domain::{Slug, title_from_file_name};
use tutti_music::jobs::store_cover;
use tutti_music::service::{self, AlbumInput, ArtistInput, TrackInput, Who};
use tutti_music::{ARTIST, MusicError};
use tutti_web::Problem;

use crate::app;
use crate::cli::SettingsArgs;

#[derive(Debug, Args)]
pub struct MusicArgs {
    #[command(subcommand)]
    pub command: MusicCommand,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Subcommand)]
pub enum MusicCommand {
    /// Import an album folder: tags, cover, track order and lyrics (`.lrc` beside a
    /// track); waits until every track is processed.
    Import {
        /// The folder holding the album's audio files.
        dir: PathBuf,
        /// The artist's slug; the profile is created for `--owner` when it does not exist.
        #[arg(long)]
        artist: String,
        /// The account that owns a new artist profile (it gets the artist role).
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
        /// Publish the release once its tracks are processed (a draft otherwise).
        #[arg(long)]
        publish: bool,
    },
    /// Make an OpenSubsonic API key for an account, for music apps; printed on the last
    /// line, and listed (and revocable) on the account's profile page.
    ApiKey {
        /// The account the key signs in as.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// What the key is for, as the profile page lists it.
        #[arg(long, default_value = "Music app")]
        name: String,
    },
}

/// Audio files the import takes, by extension.
const AUDIO: &[&str] = &[
    "wav", "aif", "aiff", "flac", "mp3", "m4a", "aac", "mp4", "ogg", "oga", "opus",
];
/// Pictures beside the files taken as the cover, in order of preference.
const COVERS: &[&str] = &[
    "cover.jpg",
    "cover.jpeg",
    "cover.png",
    "folder.jpg",
    "folder.png",
    "front.jpg",
    "front.png",
];

fn problem(e: MusicError) -> anyhow::Error {
    let p = Problem::from(e);
    anyhow::anyhow!("{}", p.detail)
}

pub async fn run(app: &app::App, command: MusicCommand) -> anyhow::Result<()> {
    match command {
        MusicCommand::Import {
            dir,
            artist,
            owner,
            publish,
        } => import(app, &dir, &artist, owner.as_deref(), publish).await,
        MusicCommand::ApiKey { email, name } => {
            let key = admin::create_token_expiring(
                &app.accounts,
                &email,
                &name,
                tutti_accounts::TokenScope::Subsonic,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", Problem::from(e).detail))?;
            eprintln!(
                "API key {name:?} for {email}, for Subsonic apps (apiKey); it is shown only \
                 this once:"
            );
            println!("{key}");
            Ok(())
        }
    }
}

struct Found {
    path: PathBuf,
    name: String,
    info: ProbeInfo,
}

fn read_folder(dir: &Path) -> anyhow::Result<Vec<Found>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!(
            "{} holds no audio files ({})",
            dir.display(),
            AUDIO.join(", ")
        );
    }
    let mut found = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("audio")
            .to_string();
        let info = tutti_music::process::probe(&path)
            .map_err(|e| anyhow::anyhow!("{}: cannot be read as audio: {e}", path.display()))?;
        if info.frames == 0 {
            bail!("{}: holds no audio", path.display());
        }
        found.push(Found { path, name, info });
    }
    // Track numbers from the tags first, then the file names.
    found.sort_by(|a, b| {
        let n = |f: &Found| f.info.tags.track_number.unwrap_or(u64::MAX);
        n(a).cmp(&n(b)).then_with(|| a.name.cmp(&b.name))
    });
    Ok(found)
}

fn lyrics_beside(path: &Path) -> Option<String> {
    let lrc = path.with_extension("lrc");
    std::fs::read_to_string(lrc).ok()
}

async fn import(
    app: &app::App,
    dir: &Path,
    artist_slug: &str,
    owner: Option<&str>,
    publish: bool,
) -> anyhow::Result<()> {
    let p = &app.platform;
    let files = read_folder(dir)?;
    let slug = Slug::parse("--artist", artist_slug).map_err(problem)?;
    let admin_who = Who {
        user_id: "",
        admin: true,
    };
    let artist = match db::artist_by_slug(p.db.pool(), slug.as_str())
        .await
        .map_err(problem)?
    {
        Some(a) => a,
        None => {
            let Some(owner) = owner else {
                bail!("there is no artist `{slug}`; give --owner EMAIL to create it");
            };
            let email = Email::parse(owner).map_err(|e| anyhow::anyhow!("--owner: {e}"))?;
            let user = tutti_accounts::db::user_by_email(p.db.pool(), &email)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .with_context(|| {
                    format!("there is no account {email}; create it with `tutti admin`")
                })?;
            admin::grant_role(&app.accounts, email.as_str(), ARTIST, Actor::Cli)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let name = files
                .iter()
                .find_map(|f| {
                    f.info
                        .tags
                        .album_artist
                        .clone()
                        .or(f.info.tags.artist.clone())
                })
                .unwrap_or_else(|| slug.as_str().to_string());
            service::create_artist(
                p,
                &user.id,
                &ArtistInput {
                    name,
                    slug: Some(slug.as_str().to_string()),
                    ..ArtistInput::default()
                },
            )
            .await
            .map_err(problem)?
        }
    };
    let first = &files[0].info.tags;
    let title = first.album.clone().unwrap_or_else(|| {
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("Album")
            .to_string()
    });
    let release_at = first.year.map(|y| format!("{y:04}-01-01"));
    let album = service::create_album(
        p,
        admin_who,
        &artist.id,
        &AlbumInput {
            title: title.clone(),
            slug: None,
            kind: Some(if files.len() == 1 { "single" } else { "album" }.into()),
            description: String::new(),
            licence: None,
            release_at,
            visibility: Some("draft".into()),
            downloads: None,
        },
    )
    .await
    .map_err(problem)?;

    // The cover beside the files wins over one embedded in them.
    let beside = COVERS.iter().map(|c| dir.join(c)).find(|p| p.is_file());
    let picture = match beside {
        Some(path) => Some(std::fs::read(&path).with_context(|| format!("{}", path.display()))?),
        None => files
            .iter()
            .find_map(|f| f.info.cover.as_ref().map(|c| c.data.clone())),
    };
    if let Some(picture) = picture {
        let key = store_cover(p, &format!("music/albums/{}/cover", album.id), &picture)
            .await
            .map_err(problem)?;
        let mut with_cover = album.clone();
        with_cover.cover_key = Some(key);
        db::update_album(p.db.pool(), &with_cover)
            .await
            .map_err(problem)?;
    }

    let mut ids = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let input = TrackInput {
            title: f
                .info
                .tags
                .title
                .clone()
                .or_else(|| Some(title_from_file_name(&f.name))),
            position: Some(i as i64 + 1),
            lyrics: lyrics_beside(&f.path),
            ..TrackInput::default()
        };
        let track = service::new_track(&album, &[], &input, &f.name).map_err(problem)?;
        db::insert_track(p.db.pool(), &track)
            .await
            .map_err(problem)?;
        let bytes = tokio::fs::read(&f.path)
            .await
            .with_context(|| format!("{}", f.path.display()))?;
        let key = format!("music/imports/{}/{}", track.id, tutti_store::new_id());
        let size = bytes.len() as i64;
        p.blobs.put(&key, bytes).await?;
        service::attach_audio(p, &track.id, &key, &f.name, "", size)
            .await
            .map_err(problem)?;
        ids.push(track.id);
    }
    println!(
        "Importing {} tracks into \"{title}\" by {}…",
        ids.len(),
        artist.name
    );
    wait_processed(app, &album.id, ids.len() as u64).await?;
    if publish {
        let mut published = db::album(p.db.pool(), &album.id)
            .await
            .map_err(problem)?
            .context("the release vanished")?;
        published.visibility = "published".into();
        db::update_album(p.db.pool(), &published)
            .await
            .map_err(problem)?;
    }
    let url = format!(
        "{}/music/{}/{}",
        app.settings.public_url.as_str().trim_end_matches('/'),
        artist.slug,
        album.slug
    );
    println!(
        "{} \"{title}\": {url}",
        if publish {
            "Published"
        } else {
            "Imported as a draft"
        }
    );
    Ok(())
}

/// Runs the queued jobs here and waits for a running server's, showing how many tracks
/// are processed; fails naming the first track that could not be.
async fn wait_processed(app: &app::App, album_id: &str, total: u64) -> anyhow::Result<()> {
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} tracks processed {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    loop {
        app.queue.release_orphans().await?;
        app::worker(app).run_until_idle().await?;
        let tracks = db::tracks_of(app.db.pool(), album_id)
            .await
            .map_err(problem)?;
        let ready = tracks.iter().filter(|t| t.status == "ready").count() as u64;
        bar.set_position(ready);
        if let Some(failed) = tracks.iter().find(|t| t.status == "failed") {
            bar.abandon();
            bail!(
                "{}",
                failed.error.clone().unwrap_or_else(|| format!(
                    "{} could not be processed",
                    failed.original_name.as_deref().unwrap_or("a track")
                ))
            );
        }
        if ready == total {
            bar.finish();
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(6 * 3600) {
            bail!("the tracks are still being processed after six hours");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
