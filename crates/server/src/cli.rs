//! The `tutti` command line: what an operator types to run the server, migrate, inspect
//! the settings, manage people and tokens, and look after the job queue. Each command
//! but `media` loads the same settings as `serve`, so it acts on the same database; the
//! settings flags ([`SettingsArgs`]) belong to those commands and are listed after each
//! one's own flags.

use std::io::BufRead as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Arg, Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tutti_accounts::admin::{self, Actor};
use tutti_accounts::{Role, TokenScope};
use tutti_store::{Db, JobStatus};
use tutti_web::Problem;

use crate::app;
use crate::config::{LogFormat, Overrides, Settings};

/// Voice and music together, in one self-hosted server.
#[derive(Debug, Parser)]
#[command(
    name = "tutti",
    version,
    propagate_version = true,
    // The settings flags also work before the command's name (`tutti --data-dir X admin
    // …`), but they belong to the commands that read settings and are listed there.
    mut_args(before_the_command),
    after_help = "Settings flags (--config, --data-dir, --database-url, --blob-url, \
                  --log-format) go with the commands that read settings, every one but \
                  `media`: see `tutti <COMMAND> --help`."
)]
pub struct Cli {
    /// Settings flags given before the command's name.
    #[command(flatten)]
    pub early: SettingsArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level copies of [`SettingsArgs`]: not passed down (so `media` has none),
/// hidden, and read from the command line only (the environment is read by each
/// command's own copy, so `TUTTI_CONFIG` does not count as a flag given to `media`).
fn before_the_command(arg: Arg) -> Arg {
    arg.global(false).hide(true).env(None::<&str>)
}

/// The heading the shared settings flags are listed under, after a command's own flags.
const SETTINGS: &str = "Settings";

/// Where the settings come from and which database and blob store to use: every command
/// that reads the settings accepts these, after its name (or its subcommand's) or before.
/// `global` passes them from `admin` and `jobs` to their subcommands, so both
/// `tutti admin --data-dir X list-users` and `tutti admin list-users --data-dir X` work.
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct SettingsArgs {
    /// TOML settings file [default: ./tutti.toml when it exists].
    #[arg(long, global = true, env = "TUTTI_CONFIG", value_name = "PATH", help_heading = SETTINGS)]
    pub config: Option<PathBuf>,
    /// Folder for the embedded database and local blobs [default: ./tutti-data].
    #[arg(long, global = true, value_name = "DIR", help_heading = SETTINGS)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, global = true, value_name = "URL", help_heading = SETTINGS)]
    pub database_url: Option<String>,
    /// A folder, or an object store such as s3://bucket/prefix.
    #[arg(long, global = true, value_name = "URL", help_heading = SETTINGS)]
    pub blob_url: Option<String>,
    /// How log lines are written.
    #[arg(long, global = true, value_enum, value_name = "FORMAT", help_heading = SETTINGS)]
    pub log_format: Option<LogFormat>,
}

impl SettingsArgs {
    /// These flags, with `under`'s filling the ones not given here.
    fn or(&self, under: &SettingsArgs) -> SettingsArgs {
        SettingsArgs {
            config: self.config.clone().or_else(|| under.config.clone()),
            data_dir: self.data_dir.clone().or_else(|| under.data_dir.clone()),
            database_url: self
                .database_url
                .clone()
                .or_else(|| under.database_url.clone()),
            blob_url: self.blob_url.clone().or_else(|| under.blob_url.clone()),
            log_format: self.log_format.or(under.log_format),
        }
    }

    /// The flags given, as they are spelled.
    fn given(&self) -> Vec<&'static str> {
        [
            (self.config.is_some(), "--config"),
            (self.data_dir.is_some(), "--data-dir"),
            (self.database_url.is_some(), "--database-url"),
            (self.blob_url.is_some(), "--blob-url"),
            (self.log_format.is_some(), "--log-format"),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the job workers.
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit.
    Migrate(SettingsArgs),
    /// Print the effective settings as TOML, with secrets hidden; takes the flags of
    /// `serve`, to show what it would run with.
    Config(ServeArgs),
    /// Manage people, roles and API tokens.
    Admin(AdminArgs),
    /// Inspect and drive the background job queue.
    Jobs(JobsArgs),
    /// Probe, transcode, analyse and draw audio files with the media engine (no settings
    /// or database needed).
    #[command(subcommand)]
    Media(crate::media_cli::MediaCommand),
    /// Recital campaigns, texts and dataset exports.
    Recital(crate::recital_cli::RecitalArgs),
    /// Music: import album folders.
    Music(crate::music_cli::MusicArgs),
}

/// The flags of `serve`, which `config` takes too.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to accept connections on, e.g. 0.0.0.0:8080.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The address people open in their browser, e.g. https://tutti.example.org.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Do not apply database migrations on start.
    #[arg(long)]
    pub no_migrate: bool,
    /// Certificate chain (PEM) to serve HTTPS.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of the certificate.
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long)]
    pub trust_proxy_headers: bool,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: JobsCommand,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account. Without --password, prints a link to choose one.
    CreateUser {
        /// The account's email, which is also its sign-in name.
        #[arg(long)]
        email: String,
        /// Display name [default: the email].
        #[arg(long)]
        name: Option<String>,
        /// Initial password; "-" reads it from the first line of standard input, which
        /// keeps it out of the shell history.
        #[arg(long)]
        password: Option<String>,
        /// A role to grant; repeat for several (admin, or a role a studio declares).
        #[arg(long = "role", value_name = "ROLE", value_parser = role_arg)]
        roles: Vec<Role>,
    },
    /// Grant a role to an email (the person need not have signed up yet).
    GrantRole {
        /// The person's email.
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = role_arg)]
        role: Role,
    },
    /// Revoke a role from an email.
    RevokeRole {
        /// The person's email.
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = role_arg)]
        role: Role,
    },
    /// List people and their roles.
    ListUsers {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create an API token for an account and print it (it is shown only this once).
    CreateToken {
        /// The email of the account the token acts as.
        #[arg(long)]
        email: String,
        /// A label to recognise the token by, e.g. "backup script".
        #[arg(long)]
        name: String,
        /// api: act as the account; delegate: act for other people (admins only).
        #[arg(long, default_value = "api")]
        scope: TokenScope,
        /// Days until the token stops working [default: never for api tokens, 30 for
        /// delegate tokens].
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
    /// Print a fresh one-time link that makes its opener the first administrator, while
    /// no account exists; the link printed before stops working.
    SetupLink,
    /// Write a consistent backup (database snapshot, blobs, manifest with checksums) to a
    /// new folder, while the server keeps running.
    Backup {
        /// The folder to write; it must not exist yet or be empty.
        #[arg(value_name = "OUT")]
        out: PathBuf,
    },
    /// Restore a backup made by `tutti admin backup` into this installation (its server
    /// stopped), checking every checksum.
    Restore {
        /// The backup folder.
        #[arg(value_name = "IN")]
        input: PathBuf,
        /// Overwrite an installation that already has accounts or blobs.
        #[arg(long)]
        force: bool,
    },
    /// Copy every row and every blob to another installation (e.g. from SQLite and files
    /// to PostgreSQL and S3), verify both sides, and resume where it stopped if run again.
    Move {
        /// The target's settings file, in the format of tutti.toml (database_url,
        /// blob_url, blob_options).
        #[arg(long, value_name = "NEW.toml")]
        to: PathBuf,
        /// Rows per transaction.
        #[arg(long, default_value_t = 1000, value_name = "ROWS")]
        batch_size: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List the newest jobs.
    List {
        /// Only jobs in this status: queued, running, done or failed.
        #[arg(long, value_parser = parse_status)]
        status: Option<JobStatus>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put a failed job back on the queue with fresh attempts.
    Retry {
        /// The job's id, as `tutti jobs list` shows it.
        id: String,
    },
    /// Run every job that is ready now in this process, then exit (for cron, or when no
    /// server runs).
    RunOnce,
}

fn parse_status(raw: &str) -> Result<JobStatus, String> {
    JobStatus::parse(raw.trim()).ok_or_else(|| {
        format!("{raw:?} is not a job status; use one of queued, running, done, failed")
    })
}

impl Cli {
    /// The settings flags given to the command (after its name or before), or `None` for
    /// `media`, which reads no settings.
    fn settings_args(&self) -> Option<SettingsArgs> {
        let own = match &self.command {
            Command::Serve(serve) | Command::Config(serve) => &serve.settings,
            Command::Migrate(settings) => settings,
            Command::Admin(admin) => &admin.settings,
            Command::Jobs(jobs) => &jobs.settings,
            Command::Recital(recital) => &recital.settings,
            Command::Music(music) => &music.settings,
            Command::Media(_) => return None,
        };
        Some(own.or(&self.early))
    }

    /// The flags given, as the top layer of the settings.
    pub fn overrides(&self) -> Overrides {
        let flags = self.settings_args().unwrap_or_default();
        let mut o = Overrides {
            data_dir: flags.data_dir,
            database_url: flags.database_url,
            blob_url: flags.blob_url,
            log_format: flags.log_format,
            ..Overrides::default()
        };
        if let Command::Serve(serve) | Command::Config(serve) = &self.command {
            o.listen = serve.listen.clone();
            o.public_url = serve.public_url.clone();
            o.migrate_on_start = serve.no_migrate.then_some(false);
            o.trust_proxy_headers = serve.trust_proxy_headers.then_some(true);
            o.tls_cert = serve.tls_cert.clone();
            o.tls_key = serve.tls_key.clone();
        }
        o
    }

    pub fn settings(&self) -> anyhow::Result<Settings> {
        let config = self.settings_args().and_then(|flags| flags.config);
        Settings::load(config.as_deref(), &self.overrides())
    }
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        // The media tools work on files alone: no settings are read, so bad ones cannot
        // stop them, and flags that would choose a database are a mistake to point out.
        Command::Media(command) => {
            let given = cli.early.given();
            anyhow::ensure!(
                given.is_empty(),
                "`tutti media` reads no settings and uses no database: leave out {}",
                given.join(", ")
            );
            crate::media_cli::run(command).await
        }
        _ => {
            let settings = cli.settings()?;
            run_with_settings(cli.command, settings).await
        }
    }
}

async fn run_with_settings(command: Command, settings: Settings) -> anyhow::Result<()> {
    crate::telemetry::init(settings.log_format);
    match command {
        Command::Serve(_) => serve(&settings).await,
        Command::Migrate(_) => {
            let db = Db::connect(&settings.database_url).await?;
            app::migrate(&db, &settings).await?;
            db.close().await;
            println!("The database is up to date.");
            Ok(())
        }
        Command::Config(_) => {
            print!("{}", app::effective_settings(&settings)?.redacted());
            Ok(())
        }
        Command::Admin(AdminArgs { command, .. }) => match command {
            // Backups, restores and moves open the databases themselves: building the
            // app would migrate (or create) them first.
            AdminCommand::Backup { out } => crate::backup::backup(&settings, &out).await,
            AdminCommand::Restore { input, force } => {
                crate::backup::restore(&settings, &input, force).await
            }
            AdminCommand::Move { to, batch_size } => {
                crate::relocate::run(&settings, &to, batch_size).await
            }
            command => {
                let app = app::build(&settings).await?;
                let result = run_admin(&app, command).await;
                app.db.close().await;
                result
            }
        },
        Command::Jobs(JobsArgs { command, .. }) => {
            let app = app::build(&settings).await?;
            let result = run_jobs(&app, command).await;
            app.db.close().await;
            result
        }
        Command::Recital(crate::recital_cli::RecitalArgs { command, .. }) => {
            let app = app::build(&settings).await?;
            let result = crate::recital_cli::run(&app, command).await;
            app.db.close().await;
            result
        }
        Command::Music(crate::music_cli::MusicArgs { command, .. }) => {
            let app = app::build(&settings).await?;
            let result = crate::music_cli::run(&app, command).await;
            app.db.close().await;
            result
        }
        Command::Media(_) => unreachable!("run runs media commands without settings"),
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let running = app::start(settings, stop.clone()).await?;
    let hard = running.hard_stop_token();
    let grace = settings.jobs.grace_secs;
    tokio::spawn(async move {
        crate::serve::shutdown_signal().await;
        tracing::info!(
            grace_secs = grace,
            "stopping: finishing requests and jobs in flight (signal again to stop at once)"
        );
        stop.cancel();
        crate::serve::shutdown_signal().await;
        tracing::warn!("stopping at once: cancelling running jobs and putting them back");
        hard.cancel();
    });
    running.wait().await
}

/// A role as typed; whether some studio declares it is checked when it is used, against
/// the roles of the studios this server runs.
fn role_arg(raw: &str) -> Result<Role, String> {
    Ok(Role::stored(raw.trim().to_lowercase()))
}

async fn run_admin(app: &app::App, command: AdminCommand) -> anyhow::Result<()> {
    let p = &app.accounts;
    match command {
        AdminCommand::CreateUser {
            email,
            name,
            password,
            roles,
        } => {
            let password = match password.as_deref() {
                Some("-") => Some(read_password()?),
                other => other.map(str::to_owned),
            };
            let created = admin::create_user(
                p,
                &email,
                name.as_deref().unwrap_or(""),
                password.as_deref(),
                &roles,
                Actor::Cli,
            )
            .await
            .map_err(problem)?;
            println!("Created account {} for {email}.", created.id);
            if let Some(link) = created.setup_link {
                println!("They choose their password at: {link}");
            }
        }
        AdminCommand::GrantRole { email, role } => {
            admin::grant_role(p, &email, role.clone(), Actor::Cli)
                .await
                .map_err(problem)?;
            println!("{email} now has the role {role}.");
        }
        AdminCommand::RevokeRole { email, role } => {
            admin::revoke_role(p, &email, role.clone(), Actor::Cli)
                .await
                .map_err(problem)?;
            println!("{email} no longer has the role {role}.");
        }
        AdminCommand::ListUsers { json } => {
            let users = admin::list_users(p).await.map_err(problem)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                let rows = users.iter().map(|u| {
                    vec![
                        u.email.clone(),
                        u.name.clone().unwrap_or_default(),
                        join(u.roles.iter()),
                        u.id.clone().unwrap_or_else(|| "(invited)".into()),
                        u.created_at.map(format_time).unwrap_or_default(),
                    ]
                });
                print_table(&["EMAIL", "NAME", "ROLES", "ID", "CREATED"], rows);
            }
        }
        AdminCommand::CreateToken {
            email,
            name,
            scope,
            expires_in_days,
        } => {
            let token = admin::create_token_expiring(p, &email, &name, scope, expires_in_days)
                .await
                .map_err(problem)?;
            eprintln!("Token {name:?} for {email}; it is shown only this once:");
            println!("{token}");
        }
        AdminCommand::SetupLink => {
            let link = admin::fresh_setup_link(p).await.map_err(problem)?;
            eprintln!(
                "Open this link within 7 days to create the first administrator; any link \
                 made before no longer works:"
            );
            println!("{link}");
        }
        AdminCommand::Backup { .. } | AdminCommand::Restore { .. } | AdminCommand::Move { .. } => {
            unreachable!("run_with_settings runs these without building the app")
        }
    }
    Ok(())
}

async fn run_jobs(app: &app::App, command: JobsCommand) -> anyhow::Result<()> {
    match command {
        JobsCommand::List {
            status,
            limit,
            json,
        } => {
            let jobs = app.queue.list(status, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else {
                let rows = jobs.iter().map(|j| {
                    vec![
                        j.id.clone(),
                        j.kind.clone(),
                        j.status.clone(),
                        format!("{}/{}", j.attempts, j.max_attempts),
                        format_time(j.updated_at),
                        j.last_error.clone().unwrap_or_default(),
                    ]
                });
                print_table(
                    &["ID", "KIND", "STATUS", "ATTEMPTS", "UPDATED", "LAST ERROR"],
                    rows,
                );
            }
        }
        JobsCommand::Retry { id } => {
            if !app.queue.retry(&id).await? {
                anyhow::bail!(
                    "there is no failed job with id {id}: only failed jobs can be retried \
                     (see `tutti jobs list --status failed`)"
                );
            }
            println!("Job {id} is queued again.");
        }
        JobsCommand::RunOnce => {
            // Only what is queued and due: a running job may belong to a live server, so
            // run-once never puts one back (a serving node's sweep does, once it is stale).
            let ran = app::worker(app).run_until_idle().await?;
            println!("Ran {ran} jobs.");
        }
    }
    Ok(())
}

/// A problem document as an operator reads it: the field at fault, then what to do.
fn problem(e: impl Into<Problem>) -> anyhow::Error {
    let p = e.into();
    match p.field {
        Some(field) => anyhow::anyhow!("{field}: {}", p.detail),
        None => anyhow::anyhow!("{}", p.detail),
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// Milliseconds since the epoch as UTC, to the second.
pub(crate) fn format_time(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

fn print_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let rows: Vec<Vec<String>> = rows.collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("tutti").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("tutti {args:?}: {e}"))
    }

    /// The text `tutti ARGS --help` prints.
    fn help(args: &[&str]) -> String {
        let err = Cli::try_parse_from(
            std::iter::once("tutti")
                .chain(args.iter().copied())
                .chain(["--help"]),
        )
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{err}");
        err.to_string()
    }

    #[test]
    fn settings_flags_work_before_and_after_the_command() {
        let expected = Some(PathBuf::from("/srv/tutti"));
        for args in [
            &["--data-dir", "/srv/tutti", "admin", "list-users"][..],
            &["admin", "--data-dir", "/srv/tutti", "list-users"],
            &["admin", "list-users", "--data-dir", "/srv/tutti"],
            &["--data-dir", "/srv/tutti", "jobs", "run-once"],
            &["jobs", "run-once", "--data-dir", "/srv/tutti"],
            &["--data-dir", "/srv/tutti", "serve"],
            &["serve", "--data-dir", "/srv/tutti"],
            &["migrate", "--data-dir", "/srv/tutti"],
            &["--data-dir", "/srv/tutti", "config"],
        ] {
            assert_eq!(parse(args).overrides().data_dir, expected, "{args:?}");
        }
        let cli = parse(&[
            "--data-dir",
            "/before",
            "--log-format",
            "json",
            "admin",
            "list-users",
            "--data-dir",
            "/after",
        ]);
        let o = cli.overrides();
        assert_eq!(
            o.data_dir,
            Some(PathBuf::from("/after")),
            "the later one wins"
        );
        assert_eq!(o.log_format, Some(LogFormat::Json));
        assert_eq!(o.listen, None);
    }

    #[test]
    fn each_command_lists_its_own_flags_before_the_settings() {
        for (args, own) in [
            (&["serve"][..], "--listen"),
            (&["config"], "--public-url"),
            (&["admin", "create-user"], "--email"),
            (&["jobs", "list"], "--status"),
        ] {
            let text = help(args);
            let at = |flag: &str| {
                text.find(flag)
                    .unwrap_or_else(|| panic!("{args:?} lists no {flag}:\n{text}"))
            };
            let settings = at("\nSettings:\n");
            assert!(at(own) < settings, "{args:?}:\n{text}");
            for shared in ["--config", "--data-dir", "--database-url", "--blob-url"] {
                assert!(settings < at(shared), "{args:?} {shared}:\n{text}");
            }
        }
    }

    #[test]
    fn media_takes_no_settings_flags() {
        for args in [&["media"][..], &["media", "transcode"], &["media", "probe"]] {
            let text = help(args);
            for flag in [
                "--config",
                "--data-dir",
                "--database-url",
                "--blob-url",
                "Settings",
            ] {
                assert!(!text.contains(flag), "{args:?} lists {flag}:\n{text}");
            }
        }
        let err = Cli::try_parse_from(["tutti", "media", "probe", "a.wav", "--data-dir", "x"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{err}");
        // Before the command's name they parse (they are shared), and `run` refuses them.
        let cli = parse(&["--database-url", "sqlite://x.db", "media", "presets"]);
        assert_eq!(cli.early.given(), ["--database-url"]);
        assert_eq!(cli.settings_args(), None);
        assert!(
            !help(&[]).contains("--data-dir <DIR>"),
            "listed with the commands"
        );
    }

    #[test]
    fn config_takes_the_flags_of_serve() {
        let cli = parse(&[
            "config",
            "--listen",
            "127.0.0.1:9",
            "--public-url",
            "https://tutti.example.org",
            "--no-migrate",
        ]);
        let o = cli.overrides();
        assert_eq!(o.listen.as_deref(), Some("127.0.0.1:9"));
        assert_eq!(o.public_url.as_deref(), Some("https://tutti.example.org"));
        assert_eq!(o.migrate_on_start, Some(false));
    }

    #[test]
    fn serve_flags_override_only_when_given() {
        let cli = Cli::try_parse_from(["tutti", "serve", "--no-migrate"]).unwrap();
        let o = cli.overrides();
        assert_eq!(o.migrate_on_start, Some(false));
        assert_eq!(o.trust_proxy_headers, None);

        let err = Cli::try_parse_from(["tutti", "serve", "--tls-cert", "c.pem"]).unwrap_err();
        assert!(err.to_string().contains("--tls-key"), "{err}");
    }

    #[test]
    fn roles_and_statuses_are_checked_when_parsed() {
        let cli = Cli::try_parse_from([
            "tutti",
            "admin",
            "create-user",
            "--email",
            "a@example.org",
            "--role",
            "admin",
            "--role",
            "speaker",
        ])
        .unwrap();
        let Command::Admin(AdminArgs {
            command: AdminCommand::CreateUser { roles, .. },
            ..
        }) = cli.command
        else {
            panic!("parsed another command");
        };
        assert_eq!(roles, vec![Role::ADMIN, Role::stored("speaker")]);

        let err = Cli::try_parse_from(["tutti", "jobs", "list", "--status", "lost"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("queued, running, done, failed"), "{err}");
    }

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_time(1_709_210_096_000), "2024-02-29 12:34:56Z");
    }
}
