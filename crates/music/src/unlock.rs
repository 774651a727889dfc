//! Unlocking a release beyond what its public settings allow: downloads (of a track or a
//! whole release as a ZIP) when the artist offers them, download codes an artist hands
//! out that unlock a release's downloads for whoever redeems one, and private links that
//! let anyone holding one listen to a release before it is public.
//!
//! A redeemed code or a visited link leaves a *grant* in the browser: a cookie scoped to
//! one release, signed with a server key ([`Keys`]) and expiring, so the download and
//! stream routes check it without a table of sessions. A listening grant also names its
//! link, so revoking the link stops its streams at once.
//!
//! This module holds the rules and what the routes and pages share; `db` its queries,
//! `archive` the ZIP writer, `routes` and `pages` the edges.

pub mod archive;
pub mod db;
pub mod pages;
pub mod routes;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tutti_platform::{Identity, Platform};
use tutti_store::{new_id, now_ms};
use utoipa::ToSchema;

use crate::db::{Album, Artist, Track};
use crate::error::MusicError;
use crate::service::{self, Who};
use crate::{Music, db as music_db};

type Result<T> = std::result::Result<T, MusicError>;

// ---- rules ----

/// The characters of a download code: capitals and digits nobody misreads when a code
/// is printed on a card (no 0 and O, no 1, I and L).
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Characters in a code: 31^12 is about 2^59, so guessing a live code is hopeless even
/// among thousands, and redemption needs no rate limit of its own.
pub const CODE_LEN: usize = 12;
/// Characters of a code the artist's list shows, to tell codes apart.
const HINT_LEN: usize = 4;
/// The longest code a person may type (with spaces and hyphens), as the API says.
pub const MAX_TYPED_CODE: usize = 64;

// Bounds of what an artist asks for; the API document states the same ones.
pub const MAX_CODES_PER_BATCH: i64 = 500;
pub const MAX_USES_PER_CODE: i64 = 1000;
pub const MAX_CODE_DAYS: i64 = 3650;
pub const MAX_LINK_DAYS: i64 = 90;
pub const MAX_LABEL: usize = 100;

const DAY_MS: i64 = 86_400_000;
/// How long a redeemed code keeps one browser's downloads of the release unlocked:
/// long enough to download everything, short enough that a copied cookie soon dies.
pub const DOWNLOAD_GRANT_MS: i64 = DAY_MS;
/// How long a visit to a private link lets that browser stream; each visit renews it,
/// never past the link's own expiry.
pub const LISTEN_GRANT_MS: i64 = 12 * 3_600_000;

/// A new download code, grouped for reading aloud or typing: `ABCD-EFGH-JKMN`.
pub fn new_code() -> String {
    let mut out = String::with_capacity(CODE_LEN + 2);
    let mut made = 0;
    while made < CODE_LEN {
        let byte: u8 = rand::random();
        // Rejecting the top of the byte range keeps every character equally likely.
        let limit = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u8;
        if byte >= limit {
            continue;
        }
        if made > 0 && made % 4 == 0 {
            out.push('-');
        }
        out.push(CODE_ALPHABET[byte as usize % CODE_ALPHABET.len()] as char);
        made += 1;
    }
    out
}

/// A code as typed, in the form it was hashed in: capitals, without the spaces and
/// hyphens people add; `None` when it cannot be a code at all.
pub fn normalise_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let fits = code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b));
    fits.then_some(code)
}

/// A random secret for a private link's address: 256 bits, hex.
pub fn new_link_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// What a listener downloads: the file the artist uploaded, or a streaming copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Original,
    Mp3,
    Opus,
}

impl Format {
    pub fn id(self) -> &'static str {
        match self {
            Format::Original => "original",
            Format::Mp3 => "mp3",
            Format::Opus => "opus",
        }
    }

    /// A format named in a query; `field` names it in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Format> {
        match raw {
            "original" => Ok(Format::Original),
            "mp3" => Ok(Format::Mp3),
            "opus" => Ok(Format::Opus),
            other => Err(MusicError::invalid(
                field,
                format!("`{other}` is not a download format: ask for original, mp3 or opus"),
            )),
        }
    }
}

/// What a viewer may download of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Nothing,
    /// The MP3 and Opus copies only (`downloads = renditions`).
    Copies,
    /// The originals as well.
    Everything,
}

impl Offer {
    pub fn formats(self) -> &'static [Format] {
        match self {
            Offer::Nothing => &[],
            Offer::Copies => &[Format::Mp3, Format::Opus],
            Offer::Everything => &[Format::Original, Format::Mp3, Format::Opus],
        }
    }

    pub fn allows(self, format: Format) -> bool {
        self.formats().contains(&format)
    }

    /// The best format offered, for a download link that names none.
    pub fn default_format(self) -> Option<Format> {
        self.formats().first().copied()
    }
}

/// A name safe as a file name on every system: no path separators, no characters
/// Windows refuses, no control characters, no leading or trailing dots and spaces.
pub fn safe_file_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .take(180)
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        "track".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The extension of a file name, lower-cased (`Song.FLAC` → `flac`), if it has one.
fn extension_of(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    let plain = !stem.is_empty()
        && (1..=5).contains(&ext.len())
        && ext.chars().all(|c| c.is_ascii_alphanumeric());
    plain.then(|| ext.to_ascii_lowercase())
}

/// A track's file name inside a release's archive, and for its copies: `01 Title.ext`.
pub fn numbered_name(track: &Track, format: Format) -> String {
    let ext = match format {
        Format::Original => track
            .original_name
            .as_deref()
            .and_then(extension_of)
            .unwrap_or_else(|| "audio".into()),
        Format::Mp3 => "mp3".into(),
        Format::Opus => "opus".into(),
    };
    safe_file_name(&format!("{:02} {}.{ext}", track.position, track.title))
}

/// A `Content-Disposition` value that downloads under `name`: the UTF-8 name for
/// browsers (RFC 6266 with RFC 8187 encoding), an ASCII stand-in for the rest.
pub fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        let plain = b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
        if plain {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

// ---- keys and grants ----

/// The server key that hashes codes and link tokens and signs grants, read once per
/// process (the platform keeps it in `platform_secrets`, the same on every node).
#[derive(Clone, Default)]
pub struct Keys(Arc<tokio::sync::OnceCell<Vec<u8>>>);

impl Keys {
    async fn key(&self, p: &Platform) -> Result<&[u8]> {
        let key = self
            .0
            .get_or_try_init(|| tutti_platform::server_secret(&p.db, "music-unlock"))
            .await?;
        Ok(key.as_slice())
    }

    /// The keyed hash of `value` for `purpose`: what the tables keep of a code or a
    /// link token. Keyed, so a copy of the database alone cannot test guesses offline.
    async fn hash(&self, p: &Platform, purpose: &str, value: &str) -> Result<String> {
        Ok(hex::encode(mac(self.key(p).await?, &[purpose, value])?))
    }
}

fn mac(key: &[u8], parts: &[&str]) -> Result<Vec<u8>> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).map_err(MusicError::internal)?;
    for part in parts {
        // Lengths first, so no two different lists of parts sign the same bytes.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// What a grant unlocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// A redeemed code: the release's downloads.
    Download,
    /// A private link: listening to the release.
    Listen,
}

impl GrantKind {
    fn id(self) -> &'static str {
        match self {
            GrantKind::Download => "dl",
            GrantKind::Listen => "listen",
        }
    }

    /// The cookie carrying this kind of grant for `album_id` (one per release, so
    /// grants for several releases live side by side).
    pub fn cookie_name(self, p: &Platform, album_id: &str) -> String {
        p.settings
            .cookie_name(&format!("tutti_music_{}_{album_id}", self.id()))
    }
}

/// A grant as its token says: the release, the link it came from (listening only) and
/// when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    album_id: String,
    link_id: Option<String>,
    expires_at: i64,
}

/// Signs a grant: `album.link.expiry.signature` (`-` for no link), URL- and cookie-safe.
async fn sign(m: &Music, kind: GrantKind, grant: &Grant) -> Result<String> {
    let link = grant.link_id.as_deref().unwrap_or("-");
    let expires = grant.expires_at.to_string();
    let key = m.keys.key(&m.platform).await?;
    let sig = mac(key, &["grant", kind.id(), &grant.album_id, link, &expires])?;
    Ok(format!(
        "{}.{link}.{expires}.{}",
        grant.album_id,
        hex::encode(&sig[..16])
    ))
}

/// The grant in `token` when its signature is ours, it is of `kind` and for
/// `album_id`, and it has not expired.
async fn verify(
    m: &Music,
    kind: GrantKind,
    album_id: &str,
    token: &str,
    now: i64,
) -> Result<Option<Grant>> {
    let parts: Vec<&str> = token.split('.').collect();
    let [album, link, expires, sig] = parts[..] else {
        return Ok(None);
    };
    let Ok(expires_at) = expires.parse::<i64>() else {
        return Ok(None);
    };
    if album != album_id || expires_at <= now {
        return Ok(None);
    }
    let key = m.keys.key(&m.platform).await?;
    let expected = mac(key, &["grant", kind.id(), album, link, expires])?;
    if !tutti_platform::same_secret(&hex::encode(&expected[..16]), sig) {
        return Ok(None);
    }
    Ok(Some(Grant {
        album_id: album.to_string(),
        link_id: (link != "-").then(|| link.to_string()),
        expires_at,
    }))
}

/// The grants a request carries: the music cookies a redeemed code or a visited link
/// set, and any handed over directly (a download grant in the query, the grant a link
/// page makes before its cookie is back). Nothing is checked until a route asks about a
/// release.
#[derive(Debug, Clone, Default)]
pub struct Passes {
    /// `(kind, album id, token)`.
    tokens: Vec<(GrantKind, String, String)>,
}

impl Passes {
    /// These passes and one more grant `token` of `kind` for `album_id`.
    pub fn with(mut self, kind: GrantKind, album_id: &str, token: &str) -> Passes {
        self.tokens
            .push((kind, album_id.to_string(), token.to_string()));
        self
    }

    async fn valid(&self, m: &Music, kind: GrantKind, album: &Album) -> Result<Vec<Grant>> {
        let now = now_ms();
        let mut out = Vec::new();
        for (k, album_id, token) in &self.tokens {
            if *k == kind
                && *album_id == album.id
                && let Some(g) = verify(m, kind, &album.id, token, now).await?
            {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Whether a private link of `album`, still live, lets this request listen.
    pub async fn listens(&self, m: &Music, album: &Album) -> Result<bool> {
        if album.taken_down_reason.is_some() {
            return Ok(false);
        }
        let now = now_ms();
        for grant in self.valid(m, GrantKind::Listen, album).await? {
            let Some(link_id) = grant.link_id else {
                continue;
            };
            let live = db::link(m.platform.db.pool(), &link_id)
                .await?
                .is_some_and(|l| l.album_id == album.id && l.is_live(now));
            if live {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether a redeemed code unlocked `album`'s downloads for this request.
    pub async fn downloads(&self, m: &Music, album: &Album) -> Result<bool> {
        Ok(!self.valid(m, GrantKind::Download, album).await?.is_empty())
    }
}

impl FromRequestParts<Music> for Passes {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        m: &Music,
    ) -> std::result::Result<Passes, Self::Rejection> {
        let mut passes = Passes::default();
        let pairs = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='));
        for (name, value) in pairs {
            for kind in [GrantKind::Download, GrantKind::Listen] {
                let prefix = kind.cookie_name(&m.platform, "");
                if let Some(album_id) = name.strip_prefix(&prefix) {
                    passes = passes.with(kind, album_id, value);
                }
            }
        }
        Ok(passes)
    }
}

/// A `Set-Cookie` value carrying a grant until it expires.
fn grant_cookie(
    p: &Platform,
    kind: GrantKind,
    album_id: &str,
    token: &str,
    expires_at: i64,
) -> axum::http::HeaderValue {
    let max_age = ((expires_at - now_ms()) / 1000).max(1);
    tutti_platform::page::cookie(p, &kind.cookie_name(p, album_id), token, max_age)
}

// ---- downloads ----

/// What `identity`, with `passes`, may download of `album`: its owner and admins
/// everything; others what a redeemed code unlocked, else what the artist offers of a
/// public release. Nothing of a release taken down.
pub async fn offer(
    m: &Music,
    identity: Option<&Identity>,
    passes: &Passes,
    album: &Album,
) -> Result<Offer> {
    if service::may_preview(&m.platform, identity.map(Who::from), album).await? {
        return Ok(Offer::Everything);
    }
    if album.taken_down_reason.is_some() {
        return Ok(Offer::Nothing);
    }
    if passes.downloads(m, album).await? {
        return Ok(Offer::Everything);
    }
    if !service::album_is_public(album, now_ms()) {
        return Ok(Offer::Nothing);
    }
    Ok(match album.downloads.as_str() {
        "original" => Offer::Everything,
        "renditions" => Offer::Copies,
        _ => Offer::Nothing,
    })
}

/// One file to download: where it is and what to call it.
#[derive(Debug, Clone)]
pub struct DownloadFile {
    pub blob_key: String,
    pub media_type: String,
    pub name: String,
    pub size: u64,
}

/// The file of `track` in `format`, if it has one yet.
async fn file_of(m: &Music, track: &Track, format: Format) -> Result<Option<DownloadFile>> {
    if track.status != "ready" {
        return Ok(None);
    }
    if format == Format::Original {
        return Ok(track.original_key.as_ref().map(|key| DownloadFile {
            blob_key: key.clone(),
            media_type: track
                .original_type
                .clone()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "application/octet-stream".into()),
            name: safe_file_name(
                track
                    .original_name
                    .as_deref()
                    .unwrap_or(&numbered_name(track, format)),
            ),
            size: track.original_bytes.unwrap_or(0).max(0) as u64,
        }));
    }
    let renditions = music_db::renditions(m.platform.db.pool(), &track.id).await?;
    Ok(renditions
        .into_iter()
        .find(|r| r.format == format.id())
        .map(|r| DownloadFile {
            blob_key: r.blob_key,
            media_type: match format {
                Format::Opus => "audio/ogg; codecs=opus".into(),
                _ => r.media_type,
            },
            name: numbered_name(track, format),
            size: r.size_bytes.max(0) as u64,
        }))
}

/// Refuses a download nobody offered: "not found" to whoever may not even see the
/// release (so a draft stays unknown), "forbidden" with the reason to the others.
async fn refuse(
    m: &Music,
    identity: Option<&Identity>,
    passes: &Passes,
    album: &Album,
    offer: Offer,
    format: Option<Format>,
    missing: MusicError,
) -> Result<MusicError> {
    let visible = service::album_is_public(album, now_ms())
        || service::may_preview(&m.platform, identity.map(Who::from), album).await?
        || passes.listens(m, album).await?;
    if !visible {
        return Ok(missing);
    }
    Ok(match (offer, format) {
        (Offer::Nothing, _) => MusicError::forbidden(
            "downloads-off",
            "the artist does not offer downloads of this release; a download code from \
             them unlocks them",
        ),
        (_, Some(f)) => MusicError::forbidden(
            "format-not-offered",
            format!(
                "the artist offers the streaming copies of this release (mp3, opus), not \
                 `{}`",
                f.id()
            ),
        ),
        (_, None) => missing,
    })
}

/// The track's file a listener asked for, when they may have it.
pub async fn track_download(
    m: &Music,
    identity: Option<&Identity>,
    passes: &Passes,
    track_id: &str,
    format: Option<Format>,
) -> Result<Ready<DownloadFile>> {
    let p = &m.platform;
    let missing = || MusicError::not_found(format!("there is no track `{track_id}`"));
    let track = music_db::track(p.db.pool(), track_id)
        .await?
        .ok_or_else(missing)?;
    let album = music_db::album(p.db.pool(), &track.album_id)
        .await?
        .ok_or_else(missing)?;
    let offer = offer(m, identity, passes, &album).await?;
    let owner = service::may_preview(p, identity.map(Who::from), &album).await?;
    if track.taken_down_reason.is_some() && !owner {
        return Err(missing());
    }
    let Some(format) = format.or(offer.default_format()) else {
        return Err(refuse(m, identity, passes, &album, offer, None, missing()).await?);
    };
    if !offer.allows(format) {
        return Err(refuse(m, identity, passes, &album, offer, Some(format), missing()).await?);
    }
    Ok(match file_of(m, &track, format).await? {
        Some(file) => Ready::Now(file),
        None => Ready::NotYet(
            "the track is still being processed (or could not be); try again in a moment",
        ),
    })
}

/// A download that may have to wait for processing.
pub enum Ready<T> {
    Now(T),
    /// Not yet: why, for a 409 the listener can retry.
    NotYet(&'static str),
}

/// A release to download as one archive: its name and its files in order, cover last.
pub struct AlbumDownload {
    pub album: Album,
    pub name: String,
    pub files: Vec<(String, DownloadFile)>,
}

/// Every ready track of a release in `format` (and its cover), when the listener may
/// have them.
pub async fn album_download(
    m: &Music,
    identity: Option<&Identity>,
    passes: &Passes,
    album_id: &str,
    format: Option<Format>,
) -> Result<Ready<AlbumDownload>> {
    let p = &m.platform;
    let missing = || MusicError::not_found(format!("there is no release `{album_id}`"));
    let album = music_db::album(p.db.pool(), album_id)
        .await?
        .ok_or_else(missing)?;
    let offer = offer(m, identity, passes, &album).await?;
    let Some(format) = format.or(offer.default_format()) else {
        return Err(refuse(m, identity, passes, &album, offer, None, missing()).await?);
    };
    if !offer.allows(format) {
        return Err(refuse(m, identity, passes, &album, offer, Some(format), missing()).await?);
    }
    let owner = service::may_preview(p, identity.map(Who::from), &album).await?;
    let tracks = music_db::tracks_of(p.db.pool(), &album.id).await?;
    if tracks
        .iter()
        .any(|t| t.status == "waiting" || t.status == "processing")
    {
        return Ok(Ready::NotYet(
            "some tracks are still being processed; try again in a moment",
        ));
    }
    let mut files: Vec<(String, DownloadFile)> = Vec::new();
    for t in tracks
        .iter()
        .filter(|t| owner || t.taken_down_reason.is_none())
    {
        if let Some(f) = file_of(m, t, format).await? {
            let name = unique_name(&files, numbered_name(t, format));
            files.push((name, f));
        }
    }
    if files.is_empty() {
        return Ok(Ready::NotYet(
            "the release has no track ready to download yet",
        ));
    }
    if let Some(prefix) = &album.cover_key {
        let key = crate::jobs::cover_variant(prefix, u32::MAX);
        if let Some(size) = p.blobs.size(&key).await? {
            files.push((
                "cover.jpg".into(),
                DownloadFile {
                    blob_key: key,
                    media_type: "image/jpeg".into(),
                    name: "cover.jpg".into(),
                    size,
                },
            ));
        }
    }
    let artist = music_db::artist(p.db.pool(), &album.artist_id)
        .await?
        .ok_or_else(missing)?;
    let name = safe_file_name(&format!("{} - {}.zip", artist.name, album.title));
    Ok(Ready::Now(AlbumDownload { album, name, files }))
}

/// `name`, or `name (2)` … when an earlier file took it (two tracks of one number and
/// title).
fn unique_name(files: &[(String, DownloadFile)], name: String) -> String {
    if !files.iter().any(|(n, _)| *n == name) {
        return name;
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
    (2..)
        .map(|i| format!("{stem} ({i}).{ext}"))
        .find(|candidate| !files.iter().any(|(n, _)| n == candidate))
        .unwrap_or(name)
}

// ---- download codes ----

/// A batch of download codes as the artist asks for it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CodeBatch {
    /// How many codes to make.
    #[schema(minimum = 1, maximum = 500)]
    pub count: i64,
    /// How many times each code may be redeemed (1 when left out).
    #[schema(minimum = 1, maximum = 1000)]
    pub uses: Option<i64>,
    /// Days until the codes stop working; never when left out.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

fn in_range(field: &str, value: i64, max: i64, what: &str) -> Result<i64> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(MusicError::invalid(
            field,
            format!("{what} runs from 1 to {max}"),
        ))
    }
}

/// Makes a batch of codes for a release; returns each with its code in the clear, the
/// only time anyone sees it.
///
/// Codes are kept hashed, not in the clear, because each is a bearer credential for
/// something an artist may sell: a copy of the database (a backup, a leaked dump) must
/// not hand out working codes. The artist copies them from the one page or answer that
/// shows them; their list shows each code's first characters, and a lost batch is
/// withdrawn and made anew.
pub async fn create_codes(
    m: &Music,
    who: Who<'_>,
    album_id: &str,
    batch: &CodeBatch,
) -> Result<Vec<(db::DownloadCode, String)>> {
    let p = &m.platform;
    let (_, album) = service::owned_album(p, who, album_id).await?;
    let count = in_range(
        "count",
        batch.count,
        MAX_CODES_PER_BATCH,
        "a batch of codes",
    )?;
    let uses = in_range(
        "uses",
        batch.uses.unwrap_or(1),
        MAX_USES_PER_CODE,
        "the uses of a code",
    )?;
    let now = now_ms();
    let expires_at = match batch.expires_in_days {
        Some(days) => {
            Some(now + in_range("expires_in_days", days, MAX_CODE_DAYS, "the days")? * DAY_MS)
        }
        None => None,
    };
    // Hashed before the transaction: reading the key may write it first, which on
    // SQLite must not wait behind our own write.
    let mut made = Vec::new();
    for _ in 0..count {
        let code = new_code();
        let plain = normalise_code(&code).ok_or_else(|| MusicError::internal("a bad code"))?;
        let row = db::DownloadCode {
            id: new_id(),
            album_id: album.id.clone(),
            code_hash: m.keys.hash(p, "code", &plain).await?,
            hint: plain[..HINT_LEN].to_string(),
            uses: 0,
            max_uses: uses,
            expires_at,
            revoked_at: None,
            created_at: now,
        };
        made.push((row, code));
    }
    // Two equal codes out of 2^59 would take a clash on the unique index: the batch
    // fails whole and the artist asks again.
    let mut tx = p.db.begin().await?;
    for (row, _) in &made {
        db::insert_code(&mut *tx, row).await?;
    }
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(made)
}

/// A code of a release `who` owns.
async fn owned_code(m: &Music, who: Who<'_>, code_id: &str) -> Result<db::DownloadCode> {
    let missing = || MusicError::not_found(format!("you have no download code `{code_id}`"));
    let code = db::code(m.platform.db.pool(), code_id)
        .await?
        .ok_or_else(missing)?;
    service::owned_album(&m.platform, who, &code.album_id)
        .await
        .map_err(|_| missing())?;
    Ok(code)
}

/// Stops a code working; redemptions made before stay in the log. Revoking twice keeps
/// the first time.
pub async fn revoke_code(m: &Music, who: Who<'_>, code_id: &str) -> Result<db::DownloadCode> {
    let code = owned_code(m, who, code_id).await?;
    db::revoke_code(&mut *m.platform.db.write().await?, &code.id, now_ms()).await?;
    owned_code(m, who, code_id).await
}

/// A release's codes, newest first.
pub async fn codes(m: &Music, who: Who<'_>, album_id: &str) -> Result<Vec<db::DownloadCode>> {
    let (_, album) = service::owned_album(&m.platform, who, album_id).await?;
    db::codes_of(m.platform.db.pool(), &album.id).await
}

/// A release's redemptions, newest first.
pub async fn redemptions(m: &Music, who: Who<'_>, album_id: &str) -> Result<Vec<db::Redemption>> {
    let (_, album) = service::owned_album(&m.platform, who, album_id).await?;
    db::redemptions_of(m.platform.db.pool(), &album.id).await
}

/// A redeemed code: the release it unlocked and the grant that now carries it.
pub struct Redeemed {
    pub artist: Artist,
    pub album: Album,
    pub token: String,
    pub expires_at: i64,
    pub cookie: axum::http::HeaderValue,
}

/// Redeems a code typed by a listener: one use is taken (atomically, so two people
/// redeeming a code's last use at once cannot both win), the redemption is logged, and
/// a download grant for the release is signed.
pub async fn redeem(m: &Music, identity: Option<&Identity>, typed: &str) -> Result<Redeemed> {
    let p = &m.platform;
    // The rule of one-line text the API document states (`tutti_web::text`): what it
    // lets through is looked up, and is at worst an unknown code.
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(MusicError::invalid(
            "code",
            "type the download code you were given",
        ));
    }
    if typed.chars().count() > MAX_TYPED_CODE {
        return Err(MusicError::invalid(
            "code",
            format!("a download code has {CODE_LEN} letters and digits; this is far longer"),
        ));
    }
    if !typed.chars().all(tutti_web::text::is_allowed) {
        return Err(MusicError::invalid(
            "code",
            "a download code has letters and digits only; this has invisible characters",
        ));
    }
    let unknown = || {
        MusicError::not_found(
            "there is no such download code: check it (letters and digits, hyphens do not \
             matter) and try again",
        )
    };
    let plain = normalise_code(typed).ok_or_else(unknown)?;
    let hash = m.keys.hash(p, "code", &plain).await?;
    let code = db::code_by_hash(p.db.pool(), &hash)
        .await?
        .ok_or_else(unknown)?;
    // The lookup compares hashes, never the code, so its timing tells nothing about
    // the code; compared again here in constant time all the same.
    if !tutti_platform::same_secret(&code.code_hash, &hash) {
        return Err(unknown());
    }
    let album = music_db::album(p.db.pool(), &code.album_id)
        .await?
        .ok_or_else(unknown)?;
    if album.taken_down_reason.is_some() {
        return Err(MusicError::forbidden(
            "taken-down",
            "this release was taken down, so its codes no longer work",
        ));
    }
    let now = now_ms();
    let mut tx = p.db.begin().await?;
    if !db::take_use(&mut *tx, &code.id, now).await? {
        drop(tx);
        let code = db::code(p.db.pool(), &code.id).await?.ok_or_else(unknown)?;
        return Err(match code.state(now) {
            CodeState::Revoked => MusicError::forbidden(
                "code-revoked",
                "this download code was withdrawn by the artist",
            ),
            CodeState::Expired => {
                MusicError::forbidden("code-expired", "this download code has expired")
            }
            _ => MusicError::forbidden(
                "code-used-up",
                "this download code has been used as many times as it allows",
            ),
        });
    }
    db::insert_redemption(
        &mut *tx,
        &db::Redemption {
            id: new_id(),
            code_id: code.id.clone(),
            hint: code.hint.clone(),
            signed_in: identity.is_some(),
            redeemed_at: now,
        },
    )
    .await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    let artist = music_db::artist(p.db.pool(), &album.artist_id)
        .await?
        .ok_or_else(unknown)?;
    let grant = Grant {
        album_id: album.id.clone(),
        link_id: None,
        expires_at: now + DOWNLOAD_GRANT_MS,
    };
    let token = sign(m, GrantKind::Download, &grant).await?;
    let cookie = grant_cookie(p, GrantKind::Download, &album.id, &token, grant.expires_at);
    Ok(Redeemed {
        artist,
        album,
        token,
        expires_at: grant.expires_at,
        cookie,
    })
}

/// Where a code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Live,
    Revoked,
    Expired,
    UsedUp,
}

impl CodeState {
    pub fn id(self) -> &'static str {
        match self {
            CodeState::Live => "live",
            CodeState::Revoked => "revoked",
            CodeState::Expired => "expired",
            CodeState::UsedUp => "used-up",
        }
    }
}

// ---- private links ----

/// A private link as the artist asks for it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LinkInput {
    /// Days until the link stops working.
    #[schema(minimum = 1, maximum = 90)]
    pub days: i64,
    /// Whom it is for, to tell links apart (only the artist sees it).
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub label: String,
}

/// A private link's address on this server.
pub fn link_path(token: &str) -> String {
    format!("/music/listen/{token}")
}

/// Makes a private link to a release; returns it with its secret token, shown this
/// once (the table keeps its hash).
pub async fn create_link(
    m: &Music,
    who: Who<'_>,
    album_id: &str,
    input: &LinkInput,
) -> Result<(db::ListenLink, String)> {
    let p = &m.platform;
    let (_, album) = service::owned_album(p, who, album_id).await?;
    let days = in_range("days", input.days, MAX_LINK_DAYS, "a link's days")?;
    let label = input.label.trim();
    if label.chars().count() > MAX_LABEL {
        return Err(MusicError::invalid(
            "label",
            format!("a link's label can be at most {MAX_LABEL} characters"),
        ));
    }
    // Checked before trimming too: Rust trims U+0085 (a control character) as space.
    if !input.label.chars().all(tutti_web::text::is_allowed) {
        return Err(MusicError::invalid(
            "label",
            "a link's label cannot hold control or text-direction characters",
        ));
    }
    let token = new_link_token();
    let now = now_ms();
    let link = db::ListenLink {
        id: new_id(),
        album_id: album.id.clone(),
        token_hash: m.keys.hash(p, "link", &token).await?,
        label: label.to_string(),
        expires_at: now + days * DAY_MS,
        revoked_at: None,
        visits: 0,
        created_at: now,
    };
    db::insert_link(&mut *p.db.write().await?, &link).await?;
    Ok((link, token))
}

async fn owned_link(m: &Music, who: Who<'_>, link_id: &str) -> Result<db::ListenLink> {
    let missing = || MusicError::not_found(format!("you have no private link `{link_id}`"));
    let link = db::link(m.platform.db.pool(), link_id)
        .await?
        .ok_or_else(missing)?;
    service::owned_album(&m.platform, who, &link.album_id)
        .await
        .map_err(|_| missing())?;
    Ok(link)
}

/// Stops a link working, and the streams of everyone who opened it.
pub async fn revoke_link(m: &Music, who: Who<'_>, link_id: &str) -> Result<db::ListenLink> {
    let link = owned_link(m, who, link_id).await?;
    db::revoke_link(&mut *m.platform.db.write().await?, &link.id, now_ms()).await?;
    owned_link(m, who, link_id).await
}

/// A release's private links, newest first.
pub async fn links(m: &Music, who: Who<'_>, album_id: &str) -> Result<Vec<db::ListenLink>> {
    let (_, album) = service::owned_album(&m.platform, who, album_id).await?;
    db::links_of(m.platform.db.pool(), &album.id).await
}

/// A visit to a private link: the release it opens, with the grant (token and cookie)
/// that lets this browser stream it. The visit is counted.
pub struct Visit {
    pub artist: Artist,
    pub album: Album,
    pub token: String,
    pub cookie: axum::http::HeaderValue,
}

/// Opens the link whose secret is `token`; wrong, revoked and expired links are all
/// "not found", so the address tells nothing to someone guessing.
pub async fn visit(m: &Music, token: &str) -> Result<Visit> {
    let p = &m.platform;
    let missing =
        || MusicError::not_found("this private link does not work (any more): ask the artist");
    let plain = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !plain {
        return Err(missing());
    }
    let hash = m.keys.hash(p, "link", &token.to_ascii_lowercase()).await?;
    let now = now_ms();
    let link = db::link_by_hash(p.db.pool(), &hash)
        .await?
        .filter(|l| tutti_platform::same_secret(&l.token_hash, &hash) && l.is_live(now))
        .ok_or_else(missing)?;
    let album = music_db::album(p.db.pool(), &link.album_id)
        .await?
        .filter(|a| a.taken_down_reason.is_none())
        .ok_or_else(missing)?;
    let artist = music_db::artist(p.db.pool(), &album.artist_id)
        .await?
        .ok_or_else(missing)?;
    db::count_visit(&mut *p.db.write().await?, &link.id).await?;
    let grant = Grant {
        album_id: album.id.clone(),
        link_id: Some(link.id.clone()),
        expires_at: (now + LISTEN_GRANT_MS).min(link.expires_at),
    };
    let token = sign(m, GrantKind::Listen, &grant).await?;
    let cookie = grant_cookie(p, GrantKind::Listen, &album.id, &token, grant.expires_at);
    Ok(Visit {
        artist,
        album,
        token,
        cookie,
    })
}

/// A grant as the API hands it over.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// Send it as `grant` with the download operations (browsers get it as a cookie).
    pub grant: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_typed_codes_normalise() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LEN + 2, "{code}");
            let plain = normalise_code(&code).unwrap();
            assert_eq!(plain.len(), CODE_LEN);
            assert!(!plain.contains(['0', 'O', '1', 'I', 'L']), "{plain}");
            let typed = format!(" {} ", code.to_lowercase().replace('-', " "));
            assert_eq!(normalise_code(&typed).as_deref(), Some(plain.as_str()));
        }
        assert_eq!(normalise_code("ABCD-EFGH-JKM"), None, "too short");
        assert_eq!(
            normalise_code("ABCD-EFGH-JKM0"),
            None,
            "not of the alphabet"
        );
    }

    #[test]
    fn download_names_are_safe_and_say_their_number() {
        assert_eq!(safe_file_name("a/b\\c:d*?\"<>|e"), "a_b_c_d______e");
        assert_eq!(safe_file_name(" ..hidden.. "), "hidden");
        assert_eq!(safe_file_name("\u{7}"), "_");
        assert_eq!(safe_file_name("..."), "track");
        assert_eq!(extension_of("Song.FLAC").as_deref(), Some("flac"));
        assert_eq!(extension_of("no extension"), None);
        assert_eq!(extension_of(".hidden"), None);
    }

    #[test]
    fn attachments_carry_the_utf8_name_and_an_ascii_stand_in() {
        assert_eq!(
            attachment("01 Glósóli.wav"),
            "attachment; filename=\"01 Gl_s_li.wav\"; \
             filename*=UTF-8''01%20Gl%C3%B3s%C3%B3li.wav"
        );
        assert!(attachment("a\"b.mp3").contains("filename=\"a_b.mp3\""));
    }

    #[test]
    fn what_is_offered_follows_the_setting() {
        assert_eq!(Offer::Nothing.default_format(), None);
        assert_eq!(Offer::Copies.default_format(), Some(Format::Mp3));
        assert!(!Offer::Copies.allows(Format::Original));
        assert!(Offer::Everything.allows(Format::Original));
        assert!(Format::parse("format", "flac").is_err());
    }

    #[test]
    fn grant_signatures_cover_every_part() {
        let key = b"0123456789abcdef0123456789abcdef";
        let a = mac(key, &["grant", "dl", "album", "-", "1"]).unwrap();
        let b = mac(key, &["grant", "dl", "albu", "m-", "1"]).unwrap();
        assert_ne!(a, b, "parts are length-prefixed");
        let c = mac(key, &["grant", "listen", "album", "-", "1"]).unwrap();
        assert_ne!(a, c, "kinds sign differently");
    }
}
