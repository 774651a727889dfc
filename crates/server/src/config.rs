//! The server's settings, in one place with their defaults, so `tutti serve` with nothing
//! configured runs on one machine and every knob for a larger setup is named here.
//!
//! Settings come from three layers, later ones winning: a TOML file (`--config PATH`, or
//! `./tutti.toml` when it exists), environment variables `TUTTI_*` (nested keys joined by
//! `__`, e.g. `TUTTI_OIDC__ISSUER`), and the command-line flags actually given. They are
//! checked once, on load, so a mistake stops the program with a message naming the
//! setting instead of failing later in a request.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};
use url::Url;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "tutti.toml";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

// The accounts studio declares its own settings; they sit at the top level of the file.
pub use tutti_accounts::{LimitSettings, OidcSettings, Signup, SmtpSettings};
// Upload limits are the platform's; they sit in `[uploads]`.
pub use tutti_platform::uploads::UploadSettings;
// WebSocket limits are the platform's; they sit in `[websocket]`.
pub use tutti_platform::ws::SocketSettings;

/// The background job workers of this process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Jobs run at the same time.
    pub workers: usize,
    /// Seconds without a heartbeat after which a running job counts as orphaned.
    pub stale_after_secs: u64,
    /// How often to look for jobs other processes enqueued.
    pub poll_ms: u64,
    /// Days a finished job stays listed before the daily retention job deletes it;
    /// failed jobs stay until an admin retries them.
    pub keep_done_days: u64,
    /// Seconds a stopping server lets running jobs finish before it cancels them and puts
    /// them back on the queue for another worker.
    pub grace_secs: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            workers: 2,
            stale_after_secs: 30,
            poll_ms: 1000,
            keep_done_days: 7,
            grace_secs: 10,
        }
    }
}

/// Everything the server is configured with, after defaults are filled in and checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub public_url: Url,
    pub database_url: String,
    pub blob_url: String,
    pub blob_options: BTreeMap<String, String>,
    /// MiB of memory for served blobs (streams, covers) kept whole, so hot media is
    /// answered without touching the store; 0 turns it off.
    pub blob_memory_cache_mib: u64,
    pub log_format: LogFormat,
    /// One log line per request (method, path, status, latency) at INFO; `false` moves
    /// them to DEBUG, for busy servers whose proxy already keeps an access log.
    pub access_log: bool,
    pub migrate_on_start: bool,
    pub trust_proxy_headers: bool,
    /// The proxies whose `X-Forwarded-For` is believed (CIDRs or addresses); empty means
    /// loopback and private networks.
    pub trusted_proxies: Vec<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub signup: Signup,
    pub session_days: i64,
    pub oidc: Option<OidcSettings>,
    pub smtp: Option<SmtpSettings>,
    pub jobs: JobSettings,
    /// Bearer token `/metrics` asks for; without one, only this machine may scrape.
    pub metrics_token: Option<String>,
    pub limits: LimitSettings,
    pub uploads: UploadSettings,
    pub websocket: SocketSettings,
    /// Each studio's own section, `[studios.<name>]`, as given; the studio reads it with
    /// [`Settings::studio`], which fills in its defaults and refuses unknown keys.
    pub studios: BTreeMap<String, serde_json::Value>,
}

/// The settings as the layers give them: the ones whose default depends on another
/// setting stay empty until [`Raw::resolve`].
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    data_dir: PathBuf,
    listen: String,
    public_url: Option<String>,
    database_url: Option<String>,
    blob_url: Option<String>,
    blob_options: BTreeMap<String, String>,
    blob_memory_cache_mib: u64,
    log_format: LogFormat,
    access_log: bool,
    migrate_on_start: bool,
    trust_proxy_headers: bool,
    #[serde(deserialize_with = "one_or_many")]
    trusted_proxies: Vec<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    max_body_bytes: usize,
    signup: Signup,
    session_days: i64,
    oidc: Option<OidcSettings>,
    smtp: Option<SmtpSettings>,
    jobs: JobSettings,
    metrics_token: Option<String>,
    limits: LimitSettings,
    uploads: UploadSettings,
    websocket: SocketSettings,
    studios: BTreeMap<String, serde_json::Value>,
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            data_dir: PathBuf::from("./tutti-data"),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: None,
            blob_url: None,
            blob_options: BTreeMap::new(),
            blob_memory_cache_mib: 128,
            log_format: LogFormat::Pretty,
            access_log: true,
            migrate_on_start: true,
            trust_proxy_headers: false,
            trusted_proxies: Vec::new(),
            tls_cert: None,
            tls_key: None,
            max_body_bytes: 16 * 1024 * 1024,
            signup: Signup::Invited,
            session_days: 30,
            oidc: None,
            smtp: None,
            jobs: JobSettings::default(),
            metrics_token: None,
            limits: LimitSettings::default(),
            uploads: UploadSettings::default(),
            websocket: SocketSettings::default(),
            studios: BTreeMap::new(),
        }
    }
}

/// The top-level keys; environment variables naming anything else (such as the test
/// suite's `TUTTI_TEST_*`) are not settings and are left alone.
const KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "public_url",
    "database_url",
    "blob_url",
    "blob_options",
    "blob_memory_cache_mib",
    "log_format",
    "access_log",
    "migrate_on_start",
    "trust_proxy_headers",
    "trusted_proxies",
    "tls_cert",
    "tls_key",
    "max_body_bytes",
    "signup",
    "session_days",
    "oidc",
    "smtp",
    "jobs",
    "metrics_token",
    "limits",
    "uploads",
    "websocket",
    "studios",
];

/// Settings given on the command line; only those present override the other layers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_on_start: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_proxy_headers: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Settings {
    /// Loads the settings from the config file, the environment and the flags given.
    /// `config` is the `--config` flag: a file named there must exist, while the
    /// default `./tutti.toml` is read only when present.
    pub fn load(config: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
        let mut figment = Figment::new();
        match config {
            Some(path) => {
                anyhow::ensure!(
                    path.is_file(),
                    "config file {} does not exist: fix --config (or TUTTI_CONFIG), or leave \
                     it out to use only the environment and flags",
                    path.display()
                );
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        let figment = figment
            .merge(environment())
            .merge(Serialized::defaults(overrides));
        Settings::from_figment(&figment)
    }

    /// Settings from one TOML file alone, checked like [`Settings::load`] checks them:
    /// how `tutti admin move --to` reads the target installation, so this one's
    /// environment and flags do not leak into it.
    pub fn from_file(path: &Path) -> anyhow::Result<Settings> {
        anyhow::ensure!(
            path.is_file(),
            "settings file {} does not exist: write the target's settings there, in the \
             format of tutti.toml",
            path.display()
        );
        Settings::from_figment(&Figment::new().merge(Toml::file_exact(path)))
            .with_context(|| format!("in {}", path.display()))
    }

    /// Extracts and checks settings from any figment; the layers are the caller's choice.
    pub fn from_figment(figment: &Figment) -> anyhow::Result<Settings> {
        let raw: Raw = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
        raw.resolve()
    }

    /// The defaults with every file under `data_dir`: what `tutti serve` runs with when
    /// nothing is configured, and a starting point for tests.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Settings {
        Raw {
            data_dir: data_dir.into(),
            ..Raw::default()
        }
        .resolve()
        .expect("the defaults are valid")
    }

    /// A studio's settings from `[studios.<name>]` (`TUTTI_STUDIOS__<NAME>__<KEY>` in the
    /// environment): its defaults where the section is silent. A key the studio does not
    /// know, or a value of the wrong kind, stops the server naming the setting.
    pub fn studio<T: serde::de::DeserializeOwned + Default + Serialize>(
        &self,
        name: &str,
    ) -> anyhow::Result<T> {
        let Some(given) = self.studios.get(name) else {
            return Ok(T::default());
        };
        let mut merged = serde_json::to_value(T::default())?;
        if let (serde_json::Value::Object(base), serde_json::Value::Object(over)) =
            (&mut merged, given)
        {
            for (key, value) in over {
                base.insert(key.clone(), value.clone());
            }
        } else {
            anyhow::bail!("[studios.{name}] must be a table of settings");
        }
        let mut unknown = None;
        let mut note = |path: serde_ignored::Path<'_>| {
            unknown.get_or_insert_with(|| path.to_string());
        };
        let de = serde_ignored::Deserializer::new(merged, &mut note);
        let parsed = serde_path_to_error::deserialize(de).map_err(|e| {
            anyhow::anyhow!(
                "studios.{name}.{}: {} (the settings of the {name} studio are listed in \
                 `tutti config`)",
                e.path(),
                e.inner()
            )
        })?;
        if let Some(key) = unknown {
            anyhow::bail!(
                "studios.{name}.{key} is not a setting of the {name} studio (its settings are \
                 listed in `tutti config`)"
            );
        }
        Ok(parsed)
    }

    /// Refuses `[studios.<name>]` sections that no studio reads, most likely misspelt.
    pub fn check_studio_sections(&self, names: &[&str]) -> anyhow::Result<()> {
        for given in self.studios.keys() {
            anyhow::ensure!(
                names.contains(&given.as_str()),
                "[studios.{given}]: no studio of this server reads it; the studios with \
                 settings are: {}",
                names.join(", ")
            );
        }
        Ok(())
    }

    /// The effective settings as TOML, with every password, secret and key replaced by
    /// `REDACTED`, so they can be printed or pasted into a bug report.
    pub fn redacted(&self) -> String {
        let mut copy = self.clone();
        copy.database_url = redact_url(&copy.database_url);
        copy.blob_url = redact_url(&copy.blob_url);
        for (key, value) in copy.blob_options.iter_mut() {
            if is_secret_option(key) {
                *value = REDACTED.into();
            }
        }
        if let Some(oidc) = &mut copy.oidc {
            oidc.client_secret = REDACTED.into();
        }
        if let Some(smtp) = &mut copy.smtp {
            smtp.url = redact_url(&smtp.url);
        }
        if let Some(token) = &mut copy.metrics_token {
            *token = REDACTED.into();
        }
        for section in copy.studios.values_mut() {
            redact_secret_keys(section);
        }
        toml::to_string(&copy).expect("settings always serialize to TOML")
    }
}

/// Environment variables `TUTTI_*`, lower-cased, `__` separating nested keys.
fn environment() -> Environment {
    Environment(Env::prefixed("TUTTI_").split("__").filter(|key| {
        let top = key.as_str().split('.').next().unwrap_or_default();
        KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
    }))
}

/// Settings whose values are text even when they look like something else: figment's
/// own environment provider would read `TUTTI_OIDC__CLIENT_SECRET=0042` as the number 42
/// and `TUTTI_BLOB_OPTIONS__AWS_ALLOW_HTTP=true` as a boolean, and then refuse them.
fn is_text(key: &str) -> bool {
    const TEXT: &[&str] = &[
        "data_dir",
        "listen",
        "public_url",
        "database_url",
        "blob_url",
        "tls_cert",
        "tls_key",
        "oidc.issuer",
        "oidc.client_id",
        "oidc.client_secret",
        "oidc.name",
        "smtp.url",
        "smtp.from",
        "metrics_token",
    ];
    TEXT.contains(&key) || key.starts_with("blob_options.")
}

/// figment's environment provider with [`is_text`] keys kept as written.
struct Environment(Env);

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, raw) in self.0.iter() {
            let value = if is_text(key.as_str()) {
                Value::from(raw)
            } else {
                raw.parse()
                    .expect("parsing an environment value never fails")
            };
            if let Some(nested) = figment::util::nest(key.as_str(), value).into_dict() {
                merge(&mut dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Deep merge, so `TUTTI_OIDC__ISSUER` and `TUTTI_OIDC__CLIENT_ID` fill one table.
fn merge(into: &mut Dict, from: Dict) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Dict(_, existing)), Value::Dict(_, new)) => merge(existing, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// figment's message names the key and where its value came from; this adds the hint
/// that the environment spells nested keys with `__`.
fn describe(errors: figment::Error) -> String {
    errors
        .into_iter()
        .map(|e| {
            let text = e.to_string();
            if text.contains("unknown field") {
                format!(
                    "{text} (settings are listed in `tutti config`; in the environment, \
                     write nested keys as TUTTI_SECTION__KEY)"
                )
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Raw {
    /// Fills in the defaults that depend on other settings and checks every rule,
    /// reporting all broken rules at once so one run shows everything to fix.
    fn resolve(self) -> anyhow::Result<Settings> {
        let mut problems: Vec<String> = Vec::new();

        let listen = match self.listen.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                problems.push(format!(
                    "listen = {:?} is not an address: write IP:PORT, e.g. 127.0.0.1:8080 \
                     (or 0.0.0.0:8080 to accept connections from other machines)",
                    self.listen
                ));
                None
            }
        };

        let scheme = if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", self.listen));
        let public_url = match Url::parse(&public_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(url)
            }
            _ => {
                problems.push(format!(
                    "public_url = {public_url:?} is not an http(s) URL: write the address \
                     people type into their browser, e.g. https://tutti.example.org"
                ));
                None
            }
        };

        let data_dir = self.data_dir.display().to_string();
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{data_dir}/tutti.db"));
        if let Err(e) = tutti_store::Backend::from_url(&database_url) {
            problems.push(format!("database_url: {e}"));
        }
        let blob_url = self.blob_url.unwrap_or_else(|| format!("{data_dir}/blobs"));
        if blob_url.is_empty() {
            problems.push(
                "blob_url is empty: write a folder path or an object-store URL such as \
                 s3://bucket/prefix"
                    .into(),
            );
        }

        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => problems.push(
                "tls_cert is set but tls_key is not: set tls_key to the certificate's private \
                 key file (PEM), or remove tls_cert to serve plain HTTP"
                    .into(),
            ),
            (None, Some(_)) => problems.push(
                "tls_key is set but tls_cert is not: set tls_cert to the certificate chain \
                 file (PEM), or remove tls_key to serve plain HTTP"
                    .into(),
            ),
            _ => {}
        }
        if self.max_body_bytes == 0 {
            problems.push("max_body_bytes must be above 0, e.g. 16777216 (16 MiB)".into());
        }
        if self.session_days < 1 {
            problems.push(format!(
                "session_days = {} must be at least 1: it is how many days a sign-in lasts",
                self.session_days
            ));
        }
        if self.jobs.workers == 0 {
            problems.push("jobs.workers must be at least 1".into());
        }
        if self.jobs.stale_after_secs == 0 {
            problems.push(
                "jobs.stale_after_secs must be at least 1 (seconds without a heartbeat \
                 before a job is taken over)"
                    .into(),
            );
        }
        if self.jobs.poll_ms == 0 {
            problems.push("jobs.poll_ms must be at least 1 (milliseconds)".into());
        }
        for proxy in &self.trusted_proxies {
            if parse_proxy(proxy).is_none() {
                problems.push(format!(
                    "trusted_proxies: {proxy:?} is not an address or network: write e.g. \
                     \"10.0.0.5\" or \"10.0.0.0/8\""
                ));
            }
        }
        if self
            .metrics_token
            .as_deref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            problems.push(
                "metrics_token is shorter than 16 characters: use a long random one, e.g. \
                 from `openssl rand -hex 32`, or leave it out to serve /metrics only to \
                 this machine"
                    .into(),
            );
        }
        problems.extend(self.limits.problems());
        problems.extend(self.uploads.problems());
        problems.extend(self.websocket.problems());
        if let Some(oidc) = &self.oidc {
            if !Url::parse(&oidc.issuer).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                problems.push(format!(
                    "oidc.issuer = {:?} is not an http(s) URL: write the provider's issuer, \
                     e.g. https://accounts.example.org/realms/main",
                    oidc.issuer
                ));
            }
            if oidc.client_id.is_empty() {
                problems.push("oidc.client_id is empty: copy it from the provider".into());
            }
            if oidc.scopes.iter().all(|s| s != "openid") {
                problems.push(
                    "oidc.scopes must include \"openid\", e.g. [\"openid\", \"email\", \"profile\"]"
                        .into(),
                );
            }
        }
        if let Some(smtp) = &self.smtp {
            if !Url::parse(&smtp.url).is_ok_and(|u| matches!(u.scheme(), "smtp" | "smtps")) {
                problems.push(format!(
                    "smtp.url = {:?} is not a mail server URL: write \
                     smtp://USER:PASSWORD@HOST:587 or smtps://USER:PASSWORD@HOST:465",
                    redact_url(&smtp.url)
                ));
            }
            if !smtp.from.contains('@') {
                problems.push(format!(
                    "smtp.from = {:?} is not an address: write e.g. \"Tutti <tutti@example.org>\"",
                    smtp.from
                ));
            }
        }

        if !problems.is_empty() {
            anyhow::bail!("invalid settings:\n  - {}", problems.join("\n  - "));
        }
        Ok(Settings {
            data_dir: self.data_dir,
            listen: listen.context("checked above")?,
            public_url: public_url.context("checked above")?,
            database_url,
            blob_url,
            blob_options: self.blob_options,
            blob_memory_cache_mib: self.blob_memory_cache_mib,
            log_format: self.log_format,
            access_log: self.access_log,
            migrate_on_start: self.migrate_on_start,
            trust_proxy_headers: self.trust_proxy_headers,
            trusted_proxies: self.trusted_proxies,
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            max_body_bytes: self.max_body_bytes,
            signup: self.signup,
            session_days: self.session_days,
            oidc: self.oidc,
            smtp: self.smtp,
            jobs: self.jobs,
            metrics_token: self.metrics_token,
            limits: self.limits,
            uploads: self.uploads,
            websocket: self.websocket,
            studios: self.studios,
        })
    }
}

const REDACTED: &str = "REDACTED";

/// A `trusted_proxies` entry: a network (`10.0.0.0/8`) or one address (`10.0.0.5`).
pub fn parse_proxy(raw: &str) -> Option<ipnet::IpNet> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| raw.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// A list setting also given as one comma-separated string (as an environment variable
/// such as `TUTTI_TRUSTED_PROXIES=10.0.0.0/8,192.168.0.0/16` arrives).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        OneOrMany::Many(list) => list,
    })
}

fn redact_url(url: &str) -> String {
    tutti_store::db::redact_url(url)
}

/// Object-store options that grant access (`aws_secret_access_key`, `aws_session_token`,
/// `azure_storage_account_key`, `google_service_account_key` …); ids and regions stay.
/// Values of keys that name a secret, anywhere in a studio's section.
fn redact_secret_keys(value: &mut serde_json::Value) {
    if let serde_json::Value::Object(map) = value {
        for (key, inner) in map.iter_mut() {
            if is_secret_option(key) && !inner.is_object() {
                *inner = REDACTED.into();
            } else {
                redact_secret_keys(inner);
            }
        }
    }
}

fn is_secret_option(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["secret", "password", "token", "sas"]
        .iter()
        .any(|word| key.contains(word))
        || key.ends_with("_key")
        || key == "key"
}

#[cfg(test)]
// figment's Jail closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn load_in_jail(overrides: &Overrides) -> figment::error::Result<Settings> {
        Settings::load(None, overrides).map_err(|e| figment::Error::from(format!("{e:#}")))
    }

    #[test]
    fn defaults_put_everything_in_the_data_folder() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let s = load_in_jail(&Overrides::default())?;
            assert_eq!(s.data_dir, PathBuf::from("./tutti-data"));
            assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(s.public_url.as_str(), "http://127.0.0.1:8080/");
            assert_eq!(s.database_url, "sqlite://./tutti-data/tutti.db");
            assert_eq!(s.blob_url, "./tutti-data/blobs");
            assert!(s.migrate_on_start);
            assert_eq!(s.max_body_bytes, 16 * 1024 * 1024);
            assert_eq!(s.signup, Signup::Invited);
            assert_eq!(s.jobs, JobSettings::default());
            assert_eq!(s, Settings::with_data_dir("./tutti-data"));
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_then_flags() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "tutti.toml",
                r#"
                data_dir = "/from/file"
                listen = "0.0.0.0:1000"
                session_days = 7
                [jobs]
                workers = 5
                [oidc]
                issuer = "https://id.example.org"
                client_id = "tutti"
                client_secret = "from-file"
                "#,
            )?;
            let s = load_in_jail(&Overrides::default())?;
            assert_eq!(s.data_dir, PathBuf::from("/from/file"));
            assert_eq!(s.database_url, "sqlite:///from/file/tutti.db");
            assert_eq!(s.jobs.workers, 5);
            assert_eq!(s.jobs.poll_ms, 1000, "unset nested keys keep their default");
            assert_eq!(s.oidc.as_ref().unwrap().name, "OpenID Connect");

            jail.set_env("TUTTI_DATA_DIR", "/from/env");
            jail.set_env("TUTTI_LISTEN", "0.0.0.0:2000");
            jail.set_env("TUTTI_OIDC__CLIENT_SECRET", "from-env");
            jail.set_env("TUTTI_JOBS__POLL_MS", "250");
            jail.set_env("TUTTI_TEST_DATABASE_URL", "not a setting");
            let s = load_in_jail(&Overrides::default())?;
            assert_eq!(s.data_dir, PathBuf::from("/from/env"));
            assert_eq!(s.listen.port(), 2000);
            assert_eq!(
                s.session_days, 7,
                "the file still counts where env is silent"
            );
            assert_eq!(s.oidc.as_ref().unwrap().client_secret, "from-env");
            assert_eq!(s.oidc.as_ref().unwrap().client_id, "tutti");
            assert_eq!(s.jobs.workers, 5);
            assert_eq!(s.jobs.poll_ms, 250);

            let flags = Overrides {
                data_dir: Some("/from/flag".into()),
                migrate_on_start: Some(false),
                ..Overrides::default()
            };
            let s = load_in_jail(&flags)?;
            assert_eq!(s.data_dir, PathBuf::from("/from/flag"));
            assert_eq!(s.listen.port(), 2000, "flags not given do not override");
            assert!(!s.migrate_on_start);
            assert_eq!(s.public_url.as_str(), "http://0.0.0.0:2000/");
            Ok(())
        });
    }

    #[test]
    fn environment_values_that_look_like_numbers_stay_text() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("TUTTI_BLOB_OPTIONS__AWS_ALLOW_HTTP", "true");
            jail.set_env("TUTTI_BLOB_OPTIONS__AWS_REGION", "1");
            jail.set_env("TUTTI_OIDC__ISSUER", "https://id.example.org");
            jail.set_env("TUTTI_OIDC__CLIENT_ID", "12345");
            jail.set_env("TUTTI_OIDC__CLIENT_SECRET", "0042");
            let s = load_in_jail(&Overrides::default())?;
            assert_eq!(s.blob_options["aws_allow_http"], "true");
            assert_eq!(s.blob_options["aws_region"], "1");
            let oidc = s.oidc.unwrap();
            assert_eq!(oidc.client_id, "12345");
            assert_eq!(oidc.client_secret, "0042");
            Ok(())
        });
    }

    #[test]
    fn a_settings_file_alone_ignores_the_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("TUTTI_DATABASE_URL", "sqlite://from-env.db");
            jail.create_file(
                "new.toml",
                r#"
                database_url = "postgres://tutti:pw@db/tutti"
                blob_url = "s3://media/tutti"
                [blob_options]
                aws_allow_http = "true"
                "#,
            )?;
            let s = Settings::from_file(Path::new("new.toml"))
                .map_err(|e| figment::Error::from(format!("{e:#}")))?;
            assert_eq!(s.database_url, "postgres://tutti:pw@db/tutti");
            assert_eq!(s.blob_url, "s3://media/tutti");
            assert_eq!(s.blob_options["aws_allow_http"], "true");
            jail.create_file("bad.toml", "database_url = \"mysql://x\"\n")?;
            let err = format!(
                "{:#}",
                Settings::from_file(Path::new("bad.toml")).unwrap_err()
            );
            assert!(
                err.contains("bad.toml") && err.contains("database_url"),
                "{err}"
            );
            let err = Settings::from_file(Path::new("none.toml")).unwrap_err();
            assert!(err.to_string().contains("does not exist"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_explicit_config_file_must_exist() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let err = Settings::load(Some(Path::new("missing.toml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("missing.toml does not exist"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn broken_rules_are_all_named_with_their_fix() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("TUTTI_TLS_CERT", "/etc/tutti/cert.pem");
            jail.set_env("TUTTI_LISTEN", "localhost");
            jail.set_env("TUTTI_DATABASE_URL", "mysql://db/tutti");
            let err = format!(
                "{:#}",
                Settings::load(None, &Overrides::default()).unwrap_err()
            );
            assert!(err.contains("tls_cert is set but tls_key is not"), "{err}");
            assert!(
                err.contains("listen = \"localhost\" is not an address"),
                "{err}"
            );
            assert!(err.contains("database_url"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("tutti.toml", "lisen = \"0.0.0.0:80\"\n")?;
            let err = format!(
                "{:#}",
                Settings::load(None, &Overrides::default()).unwrap_err()
            );
            assert!(err.contains("lisen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn proxies_metrics_and_limits_are_read_and_checked() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("TUTTI_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.5");
            jail.set_env("TUTTI_METRICS_TOKEN", "0000111122223333");
            jail.set_env("TUTTI_LIMITS__PER_ACCOUNT", "7");
            let s = load_in_jail(&Overrides::default())?;
            assert_eq!(s.trusted_proxies, ["10.0.0.0/8", "192.168.1.5"]);
            assert_eq!(s.metrics_token.as_deref(), Some("0000111122223333"));
            assert_eq!(s.limits.per_account, 7);
            assert_eq!(s.limits.window_secs, 60, "unset keys keep their default");
            assert!(!s.redacted().contains("0000111122223333"));

            jail.create_file(
                "tutti.toml",
                "trusted_proxies = [\"172.16.0.0/12\"]\n[limits]\nwindow_secs = 0\n",
            )?;
            jail.set_env("TUTTI_TRUSTED_PROXIES", "10.0.0.0/33");
            jail.set_env("TUTTI_METRICS_TOKEN", "short");
            let err = format!(
                "{:#}",
                Settings::load(None, &Overrides::default()).unwrap_err()
            );
            for named in [
                "trusted_proxies",
                "10.0.0.0/33",
                "metrics_token",
                "limits.window_secs",
            ] {
                assert!(err.contains(named), "{named}: {err}");
            }
            jail.set_env("TUTTI_TRUSTED_PROXIES", "");
            jail.set_env("TUTTI_METRICS_TOKEN", "0000111122223333");
            jail.create_file("tutti.toml", "trusted_proxies = [\"172.16.0.0/12\"]\n")?;
            let s = load_in_jail(&Overrides::default())?;
            assert!(s.trusted_proxies.is_empty(), "the environment wins: {s:?}");
            Ok(())
        });
    }

    #[test]
    fn redacted_hides_every_secret_and_keeps_the_rest() {
        let mut s = Settings::with_data_dir("/srv/tutti");
        s.database_url = "postgres://tutti:db-pass@db.internal/tutti".into();
        s.blob_url = "s3://media/tutti".into();
        s.blob_options = BTreeMap::from([
            ("aws_access_key_id".into(), "AKIDEXAMPLE".into()),
            ("aws_secret_access_key".into(), "s3-secret".into()),
            ("aws_region".into(), "eu-west-1".into()),
        ]);
        s.oidc = Some(OidcSettings {
            issuer: "https://id.example.org".into(),
            client_id: "tutti".into(),
            client_secret: "oidc-secret".into(),
            name: "OpenID Connect".into(),
            scopes: vec!["openid".into()],
        });
        s.smtp = Some(SmtpSettings {
            url: "smtps://mailer:mail-pass@mail.example.org:465".into(),
            from: "tutti@example.org".into(),
        });
        let text = s.redacted();
        for secret in ["db-pass", "s3-secret", "oidc-secret", "mail-pass"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        for kept in [
            "AKIDEXAMPLE",
            "eu-west-1",
            "db.internal",
            "mailer:REDACTED@mail.example.org",
        ] {
            assert!(text.contains(kept), "{kept} missing:\n{text}");
        }
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["oidc"]["client_secret"].as_str(), Some("REDACTED"));
        assert_eq!(
            parsed["blob_options"]["aws_secret_access_key"].as_str(),
            Some("REDACTED")
        );
    }
}
