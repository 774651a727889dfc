//! The Subsonic methods: the public library as the API's entities (artists, albums and
//! songs in their ID3 form), lists and search, streams and covers, and each listener's
//! stars and playlists. Only public releases and their ready tracks are ever shown.

use std::collections::{BTreeMap, HashMap};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;
use tutti_platform::Identity;
use tutti_platform::serve::{self, Caching};
use tutti_store::new_id;

use super::reply::{Code, El, Fail};
use super::store::{self, AlbumOrder, Playlist};
use super::{Answer, Params, attachment};
use crate::Music;
use crate::db::{self, Album, Artist, Track};
use crate::domain::Lyrics;
use crate::jobs::cover_variant;
use crate::service;

type Result<T> = std::result::Result<T, Fail>;

/// One call: who asks, with what.
pub struct Ctx<'a> {
    pub m: &'a Music,
    pub who: &'a Identity,
    pub params: &'a Params,
    pub headers: &'a HeaderMap,
    pub now: i64,
}

impl Ctx<'_> {
    fn pool(&self) -> &sqlx::AnyPool {
        self.m.platform.db.pool()
    }

    fn user(&self) -> &str {
        &self.who.user.id
    }
}

/// The one music folder everything is in (apps insist on having one).
const FOLDER_ID: i64 = 1;
/// Articles left out when artists are put under a letter.
const IGNORED_ARTICLES: &str = "The El La Los Las Le Les";

/// The OpenSubsonic extensions offered, as `getOpenSubsonicExtensions` lists them.
pub fn extensions() -> Vec<El> {
    ["apiKeyAuthentication", "formPost", "songLyrics"]
        .into_iter()
        .map(|name| {
            El::new("openSubsonicExtensions")
                .attr("name", name)
                .values("versions", vec![1.into()])
        })
        .collect()
}

pub async fn handle(name: &str, c: &Ctx<'_>) -> Result<Answer> {
    let payload = match name {
        "ping" => None,
        "getLicense" => Some(
            El::new("license")
                .attr("valid", true)
                .attr("email", c.who.user.email.clone()),
        ),
        "getMusicFolders" => Some(El::new("musicFolders").many(
            "musicFolder",
            vec![
                El::new("musicFolder")
                    .attr("id", FOLDER_ID)
                    .attr("name", "Music"),
            ],
        )),
        "getUser" => Some(user(c)?),
        "getIndexes" => Some(indexes(c, false).await?),
        "getArtists" => Some(indexes(c, true).await?),
        "getArtist" => Some(artist(c).await?),
        "getArtistInfo2" => Some(artist_info(c).await?),
        "getAlbum" => Some(album(c).await?),
        "getSong" => Some(song(c).await?),
        "getAlbumList2" => Some(album_list(c).await?),
        "getRandomSongs" => Some(random_songs(c).await?),
        "search3" => Some(search(c).await?),
        "getGenres" => Some(El::new("genres").many("genre", vec![])),
        "getNowPlaying" => Some(El::new("nowPlaying").many("entry", vec![])),
        "getScanStatus" => Some(scan_status(c).await?),
        "stream" => return stream(c, false).await,
        "download" => return stream(c, true).await,
        "getCoverArt" => return cover(c).await,
        "scrobble" => {
            scrobble(c).await?;
            None
        }
        "star" => {
            star(c, true).await?;
            None
        }
        "unstar" => {
            star(c, false).await?;
            None
        }
        "getStarred2" => Some(starred(c).await?),
        "getLyricsBySongId" => Some(lyrics_by_song(c).await?),
        "getLyrics" => Some(lyrics(c).await?),
        "getPlaylists" => Some(playlists(c).await?),
        "getPlaylist" => Some(playlist(c, c.params.need("id")?).await?),
        "createPlaylist" => Some(create_playlist(c).await?),
        "updatePlaylist" => {
            update_playlist(c).await?;
            None
        }
        "deletePlaylist" => {
            let id = c.params.need("id")?;
            if !store::delete_playlist(c.pool(), id, c.user()).await? {
                return Err(Fail::not_found(format!("you have no playlist {id}")));
            }
            None
        }
        other => {
            return Err(Fail::new(
                Code::Generic,
                format!("unknown method {other}: this server does not offer it"),
            ));
        }
    };
    Ok(Answer::Payload(payload))
}

// ---- entities ----

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn year(ms: i64) -> i64 {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| i64::from(t.year()))
        .unwrap_or(1970)
}

fn artist_el(name: &'static str, a: &Artist, albums: Option<i64>, starred: Option<i64>) -> El {
    El::new(name)
        .attr("id", a.id.clone())
        .attr("name", a.name.clone())
        .attr_opt(
            "coverArt",
            a.picture_key.as_ref().map(|_| format!("ar-{}", a.id)),
        )
        .attr_opt("albumCount", albums)
        .attr_opt("starred", starred.map(iso))
        .attr("sortName", a.name.clone())
        .attr("musicBrainzId", "")
}

fn album_el(
    name: &'static str,
    b: &Album,
    artist: Option<&Artist>,
    (songs, ms): (i64, i64),
    starred: Option<i64>,
) -> El {
    let artist_name = artist.map(|a| a.name.clone()).unwrap_or_default();
    let artists = artist
        .map(|a| {
            vec![
                El::new("artists")
                    .attr("id", a.id.clone())
                    .attr("name", a.name.clone()),
            ]
        })
        .unwrap_or_default();
    El::new(name)
        .attr("id", b.id.clone())
        .attr("name", b.title.clone())
        .attr("artist", artist_name.clone())
        .attr("artistId", b.artist_id.clone())
        .attr_opt("coverArt", b.cover_key.as_ref().map(|_| b.id.clone()))
        .attr("songCount", songs)
        .attr("duration", ms / 1000)
        .attr("created", iso(b.created_at))
        .attr("year", year(b.release_at))
        .attr_opt("starred", starred.map(iso))
        .attr("displayArtist", artist_name)
        .attr("sortName", b.title.clone())
        .attr("isCompilation", false)
        .attr("musicBrainzId", "")
        .many("genres", vec![])
        .many("artists", artists)
        .values(
            "releaseTypes",
            vec![
                if b.kind == "single" {
                    "Single"
                } else {
                    "Album"
                }
                .into(),
            ],
        )
        .many("recordLabels", vec![])
        .values("moods", vec![])
}

/// The file type apps are told a track has: the original's.
fn suffix_of(t: &Track) -> String {
    t.original_name
        .as_deref()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| ext.len() <= 5 && !ext.is_empty())
        .unwrap_or_else(|| "mp3".into())
}

/// The original's media type: as uploaded, or from its extension (imports and some
/// browsers send none).
fn content_type_of(t: &Track) -> String {
    if let Some(given) = t.original_type.as_deref().filter(|v| !v.is_empty()) {
        return given.to_string();
    }
    match suffix_of(t).as_str() {
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "m4a" | "mp4" | "aac" => "audio/mp4",
        "aif" | "aiff" => "audio/aiff",
        _ => "audio/mpeg",
    }
    .to_string()
}

fn song_el(
    name: &'static str,
    t: &Track,
    b: &Album,
    artist: Option<&Artist>,
    plays: i64,
    starred: Option<i64>,
) -> El {
    let artist_name = artist.map(|a| a.name.clone()).unwrap_or_default();
    let seconds = t.duration_ms.unwrap_or(0) / 1000;
    let bytes = t.original_bytes.unwrap_or(0);
    let bit_rate = t
        .duration_ms
        .filter(|ms| *ms > 0)
        .map(|ms| bytes * 8 / ms)
        .unwrap_or(0);
    let suffix = suffix_of(t);
    let gain = El::new("replayGain")
        .attr_opt("trackGain", t.track_gain_db)
        .attr_opt("trackPeak", t.track_peak);
    let artists = artist
        .map(|a| {
            vec![
                El::new("artists")
                    .attr("id", a.id.clone())
                    .attr("name", a.name.clone()),
            ]
        })
        .unwrap_or_default();
    El::new(name)
        .attr("id", t.id.clone())
        .attr("parent", b.id.clone())
        .attr("isDir", false)
        .attr("title", t.title.clone())
        .attr("album", b.title.clone())
        .attr("artist", artist_name.clone())
        .attr("track", t.position)
        .attr("discNumber", 1)
        .attr("year", year(b.release_at))
        .attr_opt("coverArt", b.cover_key.as_ref().map(|_| b.id.clone()))
        .attr("size", bytes)
        .attr("contentType", content_type_of(t))
        .attr("suffix", suffix.clone())
        .attr("transcodedContentType", "audio/mpeg")
        .attr("transcodedSuffix", "mp3")
        .attr("duration", seconds)
        .attr("bitRate", bit_rate)
        .attr_opt("bitDepth", t.bit_depth)
        .attr_opt("samplingRate", t.sample_rate)
        .attr_opt("channelCount", t.channels)
        .attr(
            "path",
            format!(
                "{}/{}/{:02} {}.{suffix}",
                clean_path(&artist_name),
                clean_path(&b.title),
                t.position,
                clean_path(&t.title)
            ),
        )
        .attr("albumId", b.id.clone())
        .attr("artistId", b.artist_id.clone())
        .attr("type", "music")
        .attr("mediaType", "song")
        .attr("isVideo", false)
        .attr("created", iso(t.created_at))
        .attr_opt("starred", starred.map(iso))
        .attr("playCount", plays)
        .attr("displayArtist", artist_name)
        .attr("sortName", t.title.clone())
        .attr("musicBrainzId", "")
        .one(gain)
        .many("genres", vec![])
        .many("artists", artists)
        .values("moods", vec![])
}

fn clean_path(s: &str) -> String {
    s.replace(['/', '\\'], "-")
}

/// Songs for `tracks`, with their releases, artists, plays and the caller's stars.
async fn songs(c: &Ctx<'_>, name: &'static str, tracks: &[Track]) -> Result<Vec<El>> {
    let album_ids: Vec<String> = unique(tracks.iter().map(|t| t.album_id.clone()));
    let albums = store::albums_by_id(c.pool(), &album_ids).await?;
    let artist_ids: Vec<String> = unique(albums.values().map(|b| b.artist_id.clone()));
    let artists = store::artists_by_id(c.pool(), &artist_ids).await?;
    let ids: Vec<String> = tracks.iter().map(|t| t.id.clone()).collect();
    let plays = store::play_counts(c.pool(), &ids).await?;
    let stars = store::stars(c.pool(), c.user(), "track").await?;
    Ok(song_els(name, tracks, &albums, &artists, &plays, &stars))
}

/// Songs from what the caller has read already, so `getAlbum` does not read it twice.
fn song_els(
    name: &'static str,
    tracks: &[Track],
    albums: &HashMap<String, Album>,
    artists: &HashMap<String, Artist>,
    plays: &HashMap<String, i64>,
    stars: &HashMap<String, i64>,
) -> Vec<El> {
    tracks
        .iter()
        .filter_map(|t| {
            let b = albums.get(&t.album_id)?;
            Some(song_el(
                name,
                t,
                b,
                artists.get(&b.artist_id),
                plays.get(&t.id).copied().unwrap_or(0),
                stars.get(&t.id).copied(),
            ))
        })
        .collect()
}

/// Albums for `albums`, with their artists, sizes and the caller's stars.
async fn albums(c: &Ctx<'_>, name: &'static str, albums: &[Album]) -> Result<Vec<El>> {
    let artist_ids: Vec<String> = unique(albums.iter().map(|b| b.artist_id.clone()));
    let artists = store::artists_by_id(c.pool(), &artist_ids).await?;
    let ids: Vec<String> = albums.iter().map(|b| b.id.clone()).collect();
    let sizes = store::album_sizes(c.pool(), &ids).await?;
    let stars = store::stars(c.pool(), c.user(), "album").await?;
    Ok(albums
        .iter()
        .map(|b| {
            album_el(
                name,
                b,
                artists.get(&b.artist_id),
                sizes.get(&b.id).copied().unwrap_or((0, 0)),
                stars.get(&b.id).copied(),
            )
        })
        .collect())
}

fn unique(ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = ids.collect();
    v.sort_unstable();
    v.dedup();
    v
}

// ---- browsing ----

fn user(c: &Ctx<'_>) -> Result<El> {
    let asked = c.params.get("username").unwrap_or(&c.who.user.email);
    if !asked.eq_ignore_ascii_case(&c.who.user.email) && !c.who.is_admin() {
        return Err(Fail::new(
            Code::NotAuthorized,
            "you can only look yourself up",
        ));
    }
    let role = |r: bool| Value::Bool(r);
    Ok(El::new("user")
        .attr("username", c.who.user.email.clone())
        .attr("email", c.who.user.email.clone())
        .attr("scrobblingEnabled", true)
        .attr("adminRole", role(c.who.is_admin()))
        .attr("settingsRole", false)
        .attr("downloadRole", true)
        .attr("uploadRole", false)
        .attr("playlistRole", true)
        .attr("coverArtRole", false)
        .attr("commentRole", false)
        .attr("podcastRole", false)
        .attr("streamRole", true)
        .attr("jukeboxRole", false)
        .attr("shareRole", false)
        .attr("videoConversionRole", false)
        .values("folder", vec![FOLDER_ID.into()]))
}

/// The letter an artist is listed under: the first of their name without a leading
/// article, `#` for anything but a letter.
fn index_letter(name: &str) -> String {
    let trimmed = name.trim();
    let lower = trimmed.to_lowercase();
    let rest = IGNORED_ARTICLES
        .split(' ')
        .find_map(|a| {
            lower
                .strip_prefix(&format!("{} ", a.to_lowercase()))
                .map(|_| &trimmed[a.len() + 1..])
        })
        .unwrap_or(trimmed);
    match rest.chars().next() {
        Some(ch) if ch.is_alphabetic() => ch.to_uppercase().collect(),
        _ => "#".into(),
    }
}

async fn indexes(c: &Ctx<'_>, id3: bool) -> Result<El> {
    let all = store::artists(c.pool(), c.now).await?;
    let stars = store::stars(c.pool(), c.user(), "artist").await?;
    let mut by_letter: BTreeMap<String, Vec<El>> = BTreeMap::new();
    for (a, count) in &all {
        by_letter
            .entry(index_letter(&a.name))
            .or_default()
            .push(artist_el(
                "artist",
                a,
                Some(*count),
                stars.get(&a.id).copied(),
            ));
    }
    let index: Vec<El> = by_letter
        .into_iter()
        .map(|(letter, artists)| {
            El::new("index")
                .attr("name", letter)
                .many("artist", artists)
        })
        .collect();
    let last = all.iter().map(|(a, _)| a.updated_at).max().unwrap_or(0);
    Ok(if id3 {
        El::new("artists")
            .attr("ignoredArticles", IGNORED_ARTICLES)
            .many("index", index)
    } else {
        El::new("indexes")
            .attr("lastModified", last)
            .attr("ignoredArticles", IGNORED_ARTICLES)
            .many("shortcut", vec![])
            .many("index", index)
            .many("child", vec![])
    })
}

async fn public_artist(c: &Ctx<'_>, id: &str) -> Result<(Artist, Vec<Album>)> {
    let missing = || Fail::not_found(format!("there is no artist {id}"));
    let a = db::artist(c.pool(), id).await?.ok_or_else(missing)?;
    let releases = store::albums_of(c.pool(), &a.id, c.now).await?;
    if releases.is_empty() {
        return Err(missing());
    }
    Ok((a, releases))
}

async fn artist(c: &Ctx<'_>) -> Result<El> {
    let (a, releases) = public_artist(c, c.params.need("id")?).await?;
    let stars = store::stars(c.pool(), c.user(), "artist").await?;
    let list = albums(c, "album", &releases).await?;
    Ok(artist_el(
        "artist",
        &a,
        Some(releases.len() as i64),
        stars.get(&a.id).copied(),
    )
    .many("album", list))
}

async fn artist_info(c: &Ctx<'_>) -> Result<El> {
    let (a, _) = public_artist(c, c.params.need("id")?).await?;
    let settings = &c.m.platform.settings;
    let page = settings.link(&format!("/music/{}", a.slug));
    let image = a
        .picture_key
        .as_ref()
        .map(|_| settings.link(&format!("/rest/getCoverArt?id=ar-{}", a.id)));
    Ok(El::new("artistInfo2")
        .attr("biography", a.bio.clone())
        .attr("lastFmUrl", page)
        .attr_opt("largeImageUrl", image)
        .many("similarArtist", vec![]))
}

async fn public_album(c: &Ctx<'_>, id: &str) -> Result<Album> {
    store::album(c.pool(), id, c.now)
        .await?
        .ok_or_else(|| Fail::not_found(format!("there is no album {id}")))
}

async fn album(c: &Ctx<'_>) -> Result<El> {
    let b = public_album(c, c.params.need("id")?).await?;
    let tracks = store::tracks_of(c.pool(), &b.id).await?;
    let artists = store::artists_by_id(c.pool(), std::slice::from_ref(&b.artist_id)).await?;
    let size = store::album_sizes(c.pool(), std::slice::from_ref(&b.id)).await?;
    let ids: Vec<String> = tracks.iter().map(|t| t.id.clone()).collect();
    let plays = store::play_counts(c.pool(), &ids).await?;
    let (album_stars, track_stars) = store::all_stars(c.pool(), c.user()).await?;
    let el = album_el(
        "album",
        &b,
        artists.get(&b.artist_id),
        size.get(&b.id).copied().unwrap_or((0, 0)),
        album_stars.get(&b.id).copied(),
    )
    .attr("playCount", plays.values().sum::<i64>());
    let albums = HashMap::from([(b.id.clone(), b)]);
    let list = song_els("song", &tracks, &albums, &artists, &plays, &track_stars);
    Ok(el.many("song", list))
}

async fn public_track(c: &Ctx<'_>, id: &str) -> Result<Track> {
    store::track(c.pool(), id, c.now)
        .await?
        .ok_or_else(|| Fail::not_found(format!("there is no song {id}")))
}

async fn song(c: &Ctx<'_>) -> Result<El> {
    let t = public_track(c, c.params.need("id")?).await?;
    songs(c, "song", std::slice::from_ref(&t))
        .await?
        .pop()
        .ok_or_else(|| Fail::not_found("the song went"))
}

async fn album_list(c: &Ctx<'_>) -> Result<El> {
    let p = c.params;
    let size = p.int("size", 10, 0, 500)?;
    let offset = p.int("offset", 0, 0, i64::from(i32::MAX))?;
    let order = match p.need("type")? {
        "newest" => AlbumOrder::Newest,
        "random" => AlbumOrder::Random,
        "frequent" | "highest" => AlbumOrder::Frequent,
        "recent" => AlbumOrder::Recent,
        "alphabeticalByName" => AlbumOrder::ByName,
        "alphabeticalByArtist" => AlbumOrder::ByArtist,
        "starred" => AlbumOrder::Starred,
        "byYear" => AlbumOrder::ByYear(
            p.int("fromYear", 0, -9999, 9999)? as i32,
            p.int("toYear", 9999, -9999, 9999)? as i32,
        ),
        // No genres are kept, so no release is of one.
        "byGenre" => {
            p.need("genre")?;
            return Ok(El::new("albumList2").many("album", vec![]));
        }
        other => {
            return Err(Fail::new(
                Code::Generic,
                format!("{other} is not a list type"),
            ));
        }
    };
    let found = store::album_list(c.pool(), order, c.user(), c.now, size, offset).await?;
    Ok(El::new("albumList2").many("album", albums(c, "album", &found).await?))
}

async fn random_songs(c: &Ctx<'_>) -> Result<El> {
    let size = c.params.int("size", 10, 0, 500)?;
    let tracks = store::random_tracks(c.pool(), c.now, size).await?;
    Ok(El::new("randomSongs").many("song", songs(c, "song", &tracks).await?))
}

async fn search(c: &Ctx<'_>) -> Result<El> {
    let p = c.params;
    // Apps send `""` (quotes included) or nothing to mean everything, and may end the
    // query with `*`.
    let needle = p
        .get("query")
        .unwrap_or("")
        .trim()
        .trim_matches('"')
        .trim_end_matches('*')
        .trim();
    if needle.chars().count() > 200 {
        return Err(Fail::new(
            Code::Generic,
            "search for at most 200 characters",
        ));
    }
    let page = |count: &str, offset: &str| -> Result<(i64, i64)> {
        Ok((
            p.int(count, 20, 0, 500)?,
            p.int(offset, 0, 0, i64::from(i32::MAX))?,
        ))
    };
    let pages = [
        page("artistCount", "artistOffset")?,
        page("albumCount", "albumOffset")?,
        page("songCount", "songOffset")?,
    ];
    let found = store::search(c.pool(), needle, c.now, pages).await?;
    let ids: Vec<String> = found.artists.iter().map(|a| a.id.clone()).collect();
    let counts: HashMap<String, i64> = if ids.is_empty() {
        HashMap::new()
    } else {
        store::artists(c.pool(), c.now)
            .await?
            .into_iter()
            .filter(|(a, _)| ids.contains(&a.id))
            .map(|(a, n)| (a.id, n))
            .collect()
    };
    let stars = store::stars(c.pool(), c.user(), "artist").await?;
    let artists: Vec<El> = found
        .artists
        .iter()
        .map(|a| {
            artist_el(
                "artist",
                a,
                counts.get(&a.id).copied(),
                stars.get(&a.id).copied(),
            )
        })
        .collect();
    Ok(El::new("searchResult3")
        .many("artist", artists)
        .many("album", albums(c, "album", &found.albums).await?)
        .many("song", songs(c, "song", &found.tracks).await?))
}

async fn scan_status(c: &Ctx<'_>) -> Result<El> {
    let tracks = store::search(c.pool(), "", c.now, [(0, 0), (0, 0), (100_000, 0)]).await?;
    Ok(El::new("scanStatus")
        .attr("scanning", false)
        .attr("count", tracks.tracks.len() as i64))
}

// ---- media ----

async fn stream(c: &Ctx<'_>, download: bool) -> Result<Answer> {
    let t = public_track(c, c.params.need("id")?).await?;
    let b = public_album(c, &t.album_id).await?;
    let renditions = db::renditions(c.pool(), &t.id).await?;
    let by_format = |f: &str| renditions.iter().find(|r| r.format == f);
    let format = c.params.get("format").unwrap_or("").to_ascii_lowercase();
    let max_kbps = c.params.int("maxBitRate", 0, 0, 100_000)?;
    if download && b.downloads == "none" {
        return Err(Fail::new(
            Code::NotAuthorized,
            "the artist does not offer downloads of this release",
        ));
    }
    // The original goes out only where the artist lets people download it: streaming
    // it "raw" is downloading it.
    let original_allowed = b.downloads == "original";
    let want_original = if download {
        original_allowed
    } else {
        format == "raw" && original_allowed
    };
    let (key, media_type, ext) = if want_original && t.original_key.is_some() {
        (
            t.original_key.clone().unwrap_or_default(),
            content_type_of(&t),
            suffix_of(&t),
        )
    } else {
        let opus = by_format("opus");
        let mp3 = by_format("mp3");
        let pick = match format.as_str() {
            "opus" | "ogg" => opus.or(mp3),
            "mp3" => mp3.or(opus),
            // Below what the MP3 copy needs, the smaller Opus copy is the one that fits.
            _ if max_kbps > 0 && mp3.is_some_and(|r| r.bitrate_kbps > max_kbps) => opus.or(mp3),
            _ => mp3.or(opus),
        };
        let Some(r) = pick else {
            return Err(Fail::not_found(
                "the song is still being processed; try again in a moment",
            ));
        };
        let ext = if r.format == "opus" { "opus" } else { "mp3" };
        (r.blob_key.clone(), r.media_type.clone(), ext.to_string())
    };
    let response =
        c.m.media(&key, &media_type, Caching::Immutable, c.headers)
            .await;
    let response = match response {
        Ok(r) => r,
        // A range past the end is the HTTP client's business, answered as HTTP.
        Err(p) if p.status == StatusCode::RANGE_NOT_SATISFIABLE.as_u16() => {
            return Ok(Answer::Raw(p.into_response()));
        }
        Err(_) => return Err(Fail::not_found("the song's file is missing")),
    };
    Ok(Answer::Raw(if download {
        attachment(response, &format!("{:02} {}.{ext}", t.position, t.title))
    } else {
        response
    }))
}

async fn cover(c: &Ctx<'_>) -> Result<Answer> {
    let id = c.params.need("id")?;
    let size = c.params.int("size", 600, 1, 10_000)? as u32;
    let missing = || Fail::not_found(format!("there is no cover art {id}"));
    let prefix = if let Some(artist_id) = id.strip_prefix("ar-") {
        let (a, _) = public_artist(c, artist_id).await?;
        a.picture_key.ok_or_else(missing)?
    } else {
        let album_id = match store::album(c.pool(), id, c.now).await? {
            Some(b) => b.id,
            None => public_track(c, id).await.map_err(|_| missing())?.album_id,
        };
        public_album(c, &album_id)
            .await?
            .cover_key
            .ok_or_else(missing)?
    };
    serve::blob(
        &c.m.platform.blobs,
        &cover_variant(&prefix, size),
        "image/jpeg",
        Caching::Immutable,
        c.headers,
    )
    .await
    .map(Answer::Raw)
    .map_err(|_| missing())
}

async fn scrobble(c: &Ctx<'_>) -> Result<()> {
    let ids = c.params.all("id");
    if ids.is_empty() {
        return Err(Fail::missing("id"));
    }
    let tracks = store::tracks(c.pool(), &ids, c.now).await?;
    if tracks.len() < unique(ids.into_iter()).len() {
        return Err(Fail::not_found("one of the songs is not there"));
    }
    // `submission=false` says "now playing", which counts nothing.
    if c.params.flag("submission", true) {
        for t in &tracks {
            service::count_play(&c.m.platform, &t.id).await?;
        }
    }
    Ok(())
}

// ---- the listener's own ----

/// What an id names, for `star` with a bare `id`.
async fn kind_of(c: &Ctx<'_>, id: &str) -> Result<&'static str> {
    if store::track(c.pool(), id, c.now).await?.is_some() {
        return Ok("track");
    }
    if store::album(c.pool(), id, c.now).await?.is_some() {
        return Ok("album");
    }
    if public_artist(c, id).await.is_ok() {
        return Ok("artist");
    }
    Err(Fail::not_found(format!(
        "there is nothing with the id {id}"
    )))
}

async fn star(c: &Ctx<'_>, on: bool) -> Result<()> {
    let mut items: Vec<(&'static str, String)> = Vec::new();
    for id in c.params.all("id") {
        items.push((kind_of(c, &id).await?, id));
    }
    for id in c.params.all("albumId") {
        public_album(c, &id).await?;
        items.push(("album", id));
    }
    for id in c.params.all("artistId") {
        public_artist(c, &id).await?;
        items.push(("artist", id));
    }
    if items.is_empty() {
        return Err(Fail::missing("id"));
    }
    let mut tx = c.m.platform.db.begin().await?;
    for (kind, id) in &items {
        if on {
            store::star(&mut *tx, c.user(), kind, id, c.now).await?;
        } else {
            store::unstar(&mut *tx, c.user(), kind, id).await?;
        }
    }
    tx.commit().await.map_err(crate::MusicError::from)?;
    Ok(())
}

async fn starred(c: &Ctx<'_>) -> Result<El> {
    let artist_stars = store::stars(c.pool(), c.user(), "artist").await?;
    let artists: Vec<El> = store::artists(c.pool(), c.now)
        .await?
        .iter()
        .filter_map(|(a, n)| {
            let at = artist_stars.get(&a.id)?;
            Some(artist_el("artist", a, Some(*n), Some(*at)))
        })
        .collect();
    let album_ids: Vec<String> = store::stars(c.pool(), c.user(), "album")
        .await?
        .into_keys()
        .collect();
    let mut public: Vec<Album> = store::albums_by_id(c.pool(), &album_ids)
        .await?
        .into_values()
        .filter(|b| service::album_is_public(b, c.now))
        .collect();
    public.sort_by(|a, b| a.title.cmp(&b.title));
    let track_ids: Vec<String> = store::stars(c.pool(), c.user(), "track")
        .await?
        .into_keys()
        .collect();
    let mut tracks = store::tracks(c.pool(), &track_ids, c.now).await?;
    tracks.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(El::new("starred2")
        .many("artist", artists)
        .many("album", albums(c, "album", &public).await?)
        .many("song", songs(c, "song", &tracks).await?))
}

async fn track_artist(c: &Ctx<'_>, t: &Track) -> Result<String> {
    let b = public_album(c, &t.album_id).await?;
    Ok(db::artist(c.pool(), &b.artist_id)
        .await?
        .map(|a| a.name)
        .unwrap_or_default())
}

fn lyrics_of(t: &Track) -> Option<Lyrics> {
    t.lyrics
        .as_deref()
        .and_then(|raw| serde_json::from_str(raw).ok())
}

async fn lyrics_by_song(c: &Ctx<'_>) -> Result<El> {
    let t = public_track(c, c.params.need("id")?).await?;
    let artist = track_artist(c, &t).await?;
    let structured = lyrics_of(&t).map(|l| {
        let (synced, lines) = match l {
            Lyrics::Synced { lines } => (
                true,
                lines
                    .into_iter()
                    .map(|l| {
                        El::new("line")
                            .attr("start", l.start_ms as i64)
                            .text(l.text)
                    })
                    .collect(),
            ),
            Lyrics::Plain { text } => (
                false,
                text.lines()
                    .map(|line| El::new("line").text(line.to_string()))
                    .collect(),
            ),
        };
        El::new("structuredLyrics")
            .attr("displayArtist", artist.clone())
            .attr("displayTitle", t.title.clone())
            .attr("lang", "und")
            .attr("offset", 0)
            .attr("synced", synced)
            .many("line", lines)
    });
    Ok(El::new("lyricsList").many("structuredLyrics", structured.into_iter().collect()))
}

async fn lyrics(c: &Ctx<'_>) -> Result<El> {
    let title = c.params.get("title").unwrap_or("").trim();
    let artist = c.params.get("artist").unwrap_or("").trim();
    let empty = El::new("lyrics");
    if title.is_empty() {
        return Ok(empty);
    }
    let found = store::search(c.pool(), title, c.now, [(0, 0), (0, 0), (50, 0)]).await?;
    for t in found.tracks {
        if !t.title.eq_ignore_ascii_case(title) {
            continue;
        }
        let by = track_artist(c, &t).await?;
        if !artist.is_empty() && !by.eq_ignore_ascii_case(artist) {
            continue;
        }
        let text = match lyrics_of(&t) {
            Some(Lyrics::Plain { text }) => text,
            Some(Lyrics::Synced { lines }) => lines
                .into_iter()
                .map(|l| l.text)
                .collect::<Vec<_>>()
                .join("\n"),
            None => continue,
        };
        return Ok(El::new("lyrics")
            .attr("artist", by)
            .attr("title", t.title.clone())
            .text(text));
    }
    Ok(empty)
}

async fn playlist_el(c: &Ctx<'_>, list: &Playlist, with_entries: bool) -> Result<El> {
    let ids = store::entries(c.pool(), &list.id).await?;
    let found = store::tracks(c.pool(), &ids, c.now).await?;
    let by_id: HashMap<&str, &Track> = found.iter().map(|t| (t.id.as_str(), t)).collect();
    // In the playlist's order, repeats kept, without what is no longer public.
    let ordered: Vec<Track> = ids
        .iter()
        .filter_map(|id| by_id.get(id.as_str()).map(|t| (*t).clone()))
        .collect();
    let ms: i64 = ordered.iter().filter_map(|t| t.duration_ms).sum();
    let cover = ordered.first().map(|t| t.album_id.clone());
    let mut el = El::new("playlist")
        .attr("id", list.id.clone())
        .attr("name", list.name.clone())
        .attr("comment", list.comment.clone())
        .attr("owner", c.who.user.email.clone())
        .attr("public", false)
        .attr("songCount", ordered.len() as i64)
        .attr("duration", ms / 1000)
        .attr("created", iso(list.created_at))
        .attr("changed", iso(list.updated_at))
        .attr_opt("coverArt", cover)
        .many("allowedUser", vec![]);
    if with_entries {
        el = el.many("entry", songs(c, "entry", &ordered).await?);
    }
    Ok(el)
}

async fn playlists(c: &Ctx<'_>) -> Result<El> {
    let mut out = Vec::new();
    for list in store::playlists_of(c.pool(), c.user()).await? {
        out.push(playlist_el(c, &list, false).await?);
    }
    Ok(El::new("playlists").many("playlist", out))
}

async fn own_playlist(c: &Ctx<'_>, id: &str) -> Result<Playlist> {
    store::playlist(c.pool(), id, c.user())
        .await?
        .ok_or_else(|| Fail::not_found(format!("you have no playlist {id}")))
}

async fn playlist(c: &Ctx<'_>, id: &str) -> Result<El> {
    let list = own_playlist(c, id).await?;
    playlist_el(c, &list, true).await
}

/// Refuses ids that are not public songs, naming the first.
async fn public_songs(c: &Ctx<'_>, ids: &[String]) -> Result<()> {
    let found = store::tracks(c.pool(), ids, c.now).await?;
    match ids.iter().find(|id| !found.iter().any(|t| &t.id == *id)) {
        Some(id) => Err(Fail::not_found(format!("there is no song {id}"))),
        None => Ok(()),
    }
}

fn playlist_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Fail::new(
            Code::Generic,
            "a playlist's name has 1 to 200 characters",
        ));
    }
    Ok(name.to_string())
}

async fn create_playlist(c: &Ctx<'_>) -> Result<El> {
    let songs = c.params.all("songId");
    if songs.len() > 5000 {
        return Err(Fail::new(
            Code::Generic,
            "a playlist holds at most 5000 songs",
        ));
    }
    public_songs(c, &songs).await?;
    let list = match c.params.get("playlistId").filter(|v| !v.is_empty()) {
        Some(id) => {
            let mut list = own_playlist(c, id).await?;
            if let Some(name) = c.params.get("name") {
                list.name = playlist_name(name)?;
            }
            list.updated_at = c.now;
            list
        }
        None => Playlist {
            id: new_id(),
            owner_id: c.user().to_string(),
            name: playlist_name(c.params.need("name")?)?,
            comment: String::new(),
            created_at: c.now,
            updated_at: c.now,
        },
    };
    let mut tx = c.m.platform.db.begin().await?;
    store::save_playlist(&mut tx, &list, &songs).await?;
    tx.commit().await.map_err(crate::MusicError::from)?;
    playlist_el(c, &list, true).await
}

async fn update_playlist(c: &Ctx<'_>) -> Result<()> {
    let mut list = own_playlist(c, c.params.need("playlistId")?).await?;
    if let Some(name) = c.params.get("name") {
        list.name = playlist_name(name)?;
    }
    if let Some(comment) = c.params.get("comment") {
        list.comment = comment.chars().take(2000).collect();
    }
    let mut entries = store::entries(c.pool(), &list.id).await?;
    let mut remove: Vec<usize> = Vec::new();
    for raw in c.params.all("songIndexToRemove") {
        match raw.trim().parse::<usize>() {
            Ok(i) if i < entries.len() => remove.push(i),
            _ => {
                return Err(Fail::new(
                    Code::Generic,
                    format!("songIndexToRemove {raw} is not a position in the playlist"),
                ));
            }
        }
    }
    remove.sort_unstable();
    remove.dedup();
    for i in remove.into_iter().rev() {
        entries.remove(i);
    }
    let add = c.params.all("songIdToAdd");
    public_songs(c, &add).await?;
    entries.extend(add);
    if entries.len() > 5000 {
        return Err(Fail::new(
            Code::Generic,
            "a playlist holds at most 5000 songs",
        ));
    }
    list.updated_at = c.now;
    let mut tx = c.m.platform.db.begin().await?;
    store::save_playlist(&mut tx, &list, &entries).await?;
    tx.commit().await.map_err(crate::MusicError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artists_are_listed_under_their_first_letter_without_articles() {
        assert_eq!(index_letter("The Beatles"), "B");
        assert_eq!(index_letter("los lobos"), "L");
        assert_eq!(index_letter("Theodora"), "T");
        assert_eq!(index_letter("élan"), "É");
        assert_eq!(index_letter("2 Unlimited"), "#");
        assert_eq!(index_letter("שלום"), "ש");
        assert_eq!(index_letter(""), "#");
    }
}
