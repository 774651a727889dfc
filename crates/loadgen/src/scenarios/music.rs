//! `tutti-load music`: what opening an album costs the server, the two ways listeners do
//! it, alternately: the public album page in a browser (server-rendered, no sign-in) and
//! the Subsonic `getAlbum` call a music app makes (authenticated by its `apiKey` on every
//! call, answered with status 200 even when it fails, so the JSON envelope's `status` is
//! what says it worked).

use clap::Args;
use futures_util::future::BoxFuture;
use reqwest::{Method, RequestBuilder, StatusCode, header};

use crate::clients::{self, HttpUser};
use crate::run::{self, LoadArgs, Output};
use crate::schedule::Workload;
use crate::stats::Summary;

/// The Subsonic method the scenario calls, as apps spell it.
pub const GET_ALBUM: &str = "/rest/getAlbum.view";

/// The options of `tutti-load music`.
// The listeners are anonymous: the album page is public and the Subsonic call carries its
// own key, so no one signs in. LoadArgs still declares the sign-in options every other
// scenario needs; rather than loosen them for all, this scenario alone stops requiring
// the password and hides the options it ignores. `--users` keeps its meaning minus the
// sign-in: clients, each with its own connection pool and source address.
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("password", |a| a.required(false).default_value("").hide(true)),
    mut_arg("email", |a| a.hide(true)),
    mut_arg("sign_in_concurrency", |a| a.hide(true)),
    mut_arg("users", |a| a.help(
        "Anonymous listeners, each with its own connections and source address; requests \
         go to them in turn"
    )),
)]
pub struct MusicArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// The public album page, e.g. /music/ARTIST/ALBUM (as `tutti music import` prints it).
    #[arg(long, value_name = "PATH")]
    pub album_path: String,
    /// The query of the getAlbum call: `id=ALBUM&apiKey=KEY&f=json` (the album's id, a
    /// key from `tutti music api-key`, JSON answers).
    #[arg(
        long,
        value_name = "QUERY",
        env = "TUTTI_LOAD_SUBSONIC_QUERY",
        hide_env_values = true
    )]
    pub subsonic_query: String,
}

impl MusicArgs {
    /// Refuses an album path or a Subsonic query no request could use.
    pub fn check(&self) -> anyhow::Result<()> {
        self.load.check()?;
        anyhow::ensure!(
            self.album_path.starts_with('/'),
            "--album-path must be a path on the server starting with /, such as \
             /music/ARTIST/ALBUM; {:?} is not",
            self.album_path
        );
        let query = self.query();
        let has = |name: &str| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        anyhow::ensure!(
            has("f").as_deref() == Some("json"),
            "--subsonic-query must ask for JSON with f=json: the scenario reads the \
             answer's status from its JSON envelope"
        );
        anyhow::ensure!(
            has("id").is_some_and(|id| !id.is_empty()),
            "--subsonic-query must name the album with id=ALBUM_ID"
        );
        Ok(())
    }

    /// The query without the `?` someone may have copied along with it.
    fn query(&self) -> &str {
        self.subsonic_query.trim_start_matches('?')
    }
}

/// The workload: even requests open the album page, odd ones call getAlbum; request `n`
/// belongs to listener `(n / 2) % listeners`, so each does both.
pub struct Music {
    listeners: Vec<HttpUser>,
    album_path: String,
    get_album: String,
}

impl Music {
    /// The workload for these listeners, the album page at `album_path`, and getAlbum
    /// with `subsonic_query`.
    pub fn new(listeners: Vec<HttpUser>, album_path: &str, subsonic_query: &str) -> Music {
        Music {
            listeners,
            album_path: album_path.to_string(),
            get_album: format!("{GET_ALBUM}?{}", subsonic_query.trim_start_matches('?')),
        }
    }
}

impl Workload for Music {
    fn operations(&self) -> &[&'static str] {
        &["album_page", "subsonic_get_album"]
    }

    fn call(&self, n: u64) -> (usize, BoxFuture<'static, Result<(), String>>) {
        let listener = &self.listeners[((n / 2) % self.listeners.len() as u64) as usize];
        if n.is_multiple_of(2) {
            let request = listener.page(&self.album_path);
            (0, Box::pin(clients::expect(request, StatusCode::OK)))
        } else {
            let request = listener
                .request(Method::GET, &self.get_album)
                .header(header::ACCEPT, "application/json");
            (1, Box::pin(subsonic_ok(request)))
        }
    }
}

/// Sends a Subsonic call and succeeds when it is answered with 200 and an envelope whose
/// status is `ok`.
async fn subsonic_ok(request: RequestBuilder) -> Result<(), String> {
    let response = request.send().await.map_err(|e| clients::error_kind(&e))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| clients::error_kind(&e))?;
    if status != StatusCode::OK {
        return Err(format!("status {}", status.as_u16()));
    }
    envelope_ok(&body)
}

/// Whether a Subsonic JSON answer says `ok`; a failure is counted by the API's error
/// code, which keeps the kinds few.
fn envelope_ok(body: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "subsonic: not JSON".to_string())?;
    let envelope = &value["subsonic-response"];
    match envelope["status"].as_str() {
        Some("ok") => Ok(()),
        Some(_) => Err(match envelope["error"]["code"].as_i64() {
            Some(code) => format!("subsonic error {code}"),
            None => "subsonic: failed".into(),
        }),
        None => Err("subsonic: no envelope".into()),
    }
}

/// Makes the anonymous listeners, then runs the music workload as the options say.
pub async fn run(args: MusicArgs) -> anyhow::Result<Summary> {
    args.check()?;
    let out = Output {
        json: args.load.json,
    };
    let listeners = args.load.clients.http_users()?;
    eprintln!(
        "{} anonymous listeners at {}: {} and {GET_ALBUM}",
        listeners.len(),
        args.load.clients.url,
        args.album_path
    );
    let workload = Music::new(listeners.clone(), &args.album_path, args.query());
    run::drive("music", &args.load, &listeners, workload, &out).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        music: MusicArgs,
    }

    fn parse(args: &[&str]) -> Result<MusicArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|c| c.music)
    }

    #[test]
    fn needs_no_password_but_an_album_and_a_json_query() {
        let ok = parse(&[
            "--album-path",
            "/music/a/b",
            "--subsonic-query",
            "?id=al1&apiKey=k&f=json",
        ])
        .unwrap();
        ok.check().unwrap();
        assert_eq!(ok.query(), "id=al1&apiKey=k&f=json");
        let xml = parse(&[
            "--album-path",
            "/music/a/b",
            "--subsonic-query",
            "id=al1&apiKey=k",
        ])
        .unwrap();
        assert!(xml.check().unwrap_err().to_string().contains("f=json"));
        let relative = parse(&[
            "--album-path",
            "music/a/b",
            "--subsonic-query",
            "id=1&f=json",
        ])
        .unwrap();
        assert!(relative.check().is_err());
        assert!(parse(&["--album-path", "/music/a/b"]).is_err());
    }

    #[test]
    fn only_an_ok_envelope_counts() {
        assert_eq!(
            envelope_ok(br#"{"subsonic-response":{"status":"ok","album":{}}}"#),
            Ok(())
        );
        assert_eq!(
            envelope_ok(br#"{"subsonic-response":{"status":"failed","error":{"code":70}}}"#),
            Err("subsonic error 70".into())
        );
        assert_eq!(
            envelope_ok(b"<subsonic-response status=\"ok\"/>"),
            Err("subsonic: not JSON".into())
        );
        assert_eq!(envelope_ok(b"{}"), Err("subsonic: no envelope".into()));
    }
}
