//! `tutti recital …`: set up campaigns and their texts from the shell, and write dataset
//! exports to a folder. The export first runs the processing jobs still queued (so it
//! works with no server running) and waits for any a running server is doing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tutti_recital::export::{DirSink, Format};
use tutti_recital::pages::CampaignForm;
use tutti_recital::service::{self, Actor};
use tutti_recital::{Recital, RecitalError};
use tutti_web::Problem;

use crate::app;
use crate::cli::SettingsArgs;

#[derive(Debug, Args)]
pub struct RecitalArgs {
    #[command(subcommand)]
    pub command: RecitalCommand,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Subcommand)]
pub enum RecitalCommand {
    /// Create and list campaigns.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Import texts into a campaign.
    #[command(subcommand)]
    Text(TextCommand),
    /// Write a campaign's dataset to a folder, processing what is still queued first.
    Export {
        #[arg(long, value_name = "SLUG")]
        campaign: String,
        /// audiofolder, ljspeech, commonvoice or longform.
        #[arg(long, value_name = "FORMAT")]
        format: String,
        /// Include takes that are not validated yet.
        #[arg(long)]
        all: bool,
        /// The folder to write (it must not exist or be empty).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        title: String,
        /// The language people read in (a tag such as he or en; several with commas).
        #[arg(long)]
        language: String,
        /// long-form (whole documents) or clip (one take per sentence).
        #[arg(long)]
        mode: String,
        /// Labels each sentence is read with once, e.g. joy,sadness,anger.
        #[arg(long, default_value = "")]
        labels: String,
        /// Let anyone signed in speak (otherwise approved people and invitation holders).
        #[arg(long)]
        open: bool,
        #[arg(long, default_value = "")]
        description: String,
        /// A file with the agreement speakers consent to (a standard text otherwise).
        #[arg(long, value_name = "FILE")]
        agreement: Option<PathBuf>,
        /// The dataset's licence (SPDX), CC0-1.0 by default.
        #[arg(long, default_value = "")]
        licence: String,
    },
    /// List campaigns.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TextCommand {
    /// Import a .txt, .html, .md or .tsv file; prints the new document's id last.
    Import {
        #[arg(long, value_name = "SLUG")]
        campaign: String,
        file: PathBuf,
        #[arg(long)]
        title: Option<String>,
        /// The text's language when it is not the campaign's first.
        #[arg(long)]
        language: Option<String>,
        /// Read the file as a sentence list (one per line, or TSV with an id column).
        #[arg(long)]
        list: bool,
    },
}

fn problem(e: RecitalError) -> anyhow::Error {
    let p = Problem::from(e);
    match p.field {
        Some(field) => anyhow::anyhow!("{field}: {}", p.detail),
        None => anyhow::anyhow!("{}", p.detail),
    }
}

pub async fn run(app: &app::App, command: RecitalCommand) -> anyhow::Result<()> {
    let recital = Recital::new(app.platform.clone(), app.settings.studio("recital")?);
    let p = &recital.platform;
    match command {
        RecitalCommand::Campaign(CampaignCommand::Create {
            slug,
            title,
            language,
            mode,
            labels,
            open,
            description,
            agreement,
            licence,
        }) => {
            let agreement = match agreement {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                None => String::new(),
            };
            let form = CampaignForm {
                slug,
                title,
                description,
                language,
                mode,
                labels,
                access: if open { "open" } else { "approved" }.into(),
                agreement,
                licence,
                ..CampaignForm::default()
            };
            let new = form.parse().map_err(problem)?;
            let c = service::create_campaign(p, Actor::CommandLine, new)
                .await
                .map_err(problem)?;
            println!("Created the campaign {} ({}).", c.title, c.slug);
        }
        RecitalCommand::Campaign(CampaignCommand::List) => {
            for c in tutti_recital::db::campaigns(p.db.pool())
                .await
                .map_err(problem)?
            {
                println!(
                    "{}\t{}\t{}\t{}",
                    c.slug,
                    c.mode.as_str(),
                    c.access.as_str(),
                    c.title
                );
            }
        }
        RecitalCommand::Text(TextCommand::Import {
            campaign,
            file,
            title,
            language,
            list,
        }) => {
            let c = service::campaign(p, &campaign).await.map_err(problem)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "text.txt".into());
            let doc = service::import_file(
                &recital,
                Actor::CommandLine,
                &c,
                service::TextFile {
                    name: &name,
                    bytes: &bytes,
                    title: title.as_deref(),
                    language: language.as_deref(),
                    as_list: list,
                },
            )
            .await
            .map_err(|e| problem(e).context(format!("{} was not imported", file.display())))?;
            let sentences = tutti_recital::db::sentences(p.db.pool(), &doc.id)
                .await
                .map_err(problem)?
                .len();
            println!(
                "Imported {} ({sentences} sentences) into {}.",
                doc.title, c.slug
            );
            println!("{}", doc.id);
        }
        RecitalCommand::Export {
            campaign,
            format,
            all,
            output,
        } => {
            let c = service::campaign(p, &campaign).await.map_err(problem)?;
            let format: Format = format.parse().map_err(|e| anyhow::anyhow!("format: {e}"))?;
            drain_processing(app).await?;
            let sink = DirSink::new(&output)
                .with_context(|| format!("cannot write the export to {}", output.display()))?;
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("{format} export of {}", c.slug));
            let progress_bar = bar.clone();
            let (summary, _) = tutti_recital::jobs::write_export(
                &recital,
                &c,
                format,
                all,
                Box::new(sink),
                move |done, total| {
                    progress_bar.set_length(total);
                    progress_bar.set_position(done);
                },
            )
            .await
            .map_err(problem)?;
            bar.finish_and_clear();
            println!(
                "Wrote {} clips and {} sessions of {} speakers ({:.2} h, {} files) to {}.",
                summary.clips,
                summary.sessions,
                summary.speakers,
                summary.seconds / 3600.0,
                summary.files,
                output.display()
            );
        }
    }
    Ok(())
}

/// Runs the queued jobs here, then waits while a running server still processes
/// sessions, so the export sees every recording that was ended.
async fn drain_processing(app: &app::App) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        app.queue.release_orphans().await?;
        app::worker(app).run_until_idle().await?;
        let busy: i64 = tutti_store::sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'recital.process' \
             AND status IN ('queued', 'running')",
        )
        .fetch_one(app.db.pool())
        .await?;
        if busy == 0 {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("{busy} sessions are still being processed after an hour; try again later");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
