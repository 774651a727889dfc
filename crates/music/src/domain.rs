//! The music studio's rules as plain types and functions: what an artist or album slug
//! may be (and which words are taken by fixed routes), the licences a release carries,
//! when a release is public, track numbering, and lyrics (plain, or synced line by line
//! in the LRC format apps read). Nothing here touches the database or HTTP.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::MusicError;

/// Words that are fixed routes under `/music/` (or beside an artist's page), so no
/// artist or album may take them as a slug.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "album",
    "albums",
    "api",
    "apps",
    "artist",
    "artists",
    "assets",
    "codes",
    "download",
    "downloads",
    "edit",
    "embed",
    "feed",
    "feeds",
    "import",
    "listen",
    "me",
    "new",
    "oembed",
    "playlist",
    "playlists",
    "podcast",
    "private",
    "redeem",
    "rest",
    "search",
    "settings",
    "share",
    "static",
    "stats",
    "stream",
    "studio",
    "track",
    "tracks",
    "upload",
    "uploads",
];

/// An artist's or album's address in links: lower-case letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Checks a slug typed by a person; `field` names it in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Slug, MusicError> {
        let ok_len = (1..=64).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends = !raw.starts_with('-') && !raw.ends_with('-') && !raw.contains("--");
        if !(ok_len && ok_chars && ok_ends) {
            return Err(MusicError::invalid(
                field,
                format!(
                    "`{raw}` is not a slug: use 1 to 64 lower-case letters, digits and single \
                     hyphens, not starting or ending with a hyphen"
                ),
            ));
        }
        // Taken by a page of the site, as another artist's slug would be.
        if RESERVED_SLUGS.contains(&raw) {
            return Err(MusicError::exists(
                field,
                format!("`{raw}` is the name of a page of the site; choose another slug"),
            ));
        }
        Ok(Slug(raw.to_string()))
    }

    /// A slug made from a name ("Sigur Rós" → `sigur-ros`): accents dropped, anything
    /// else not a letter or digit becomes one hyphen. A name with nothing usable, or one
    /// that would be a reserved word, gets `fallback`.
    pub fn from_name(name: &str, fallback: &str) -> Slug {
        let mut out = String::with_capacity(name.len());
        for c in name.chars().flat_map(fold_accent) {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let mut out = out.trim_end_matches('-').to_string();
        if out.len() > 64 {
            out.truncate(64);
            out = out.trim_end_matches('-').to_string();
        }
        Slug::parse("slug", &out).unwrap_or_else(|_| Slug(fallback.to_string()))
    }

    /// This slug, then `slug-2`, `slug-3` … (still at most 64 characters): the free
    /// one is taken when a name's slug is in use.
    pub fn candidates(&self) -> impl Iterator<Item = String> + '_ {
        let stem: String = self.0.chars().take(58).collect();
        let stem = stem.trim_end_matches('-').to_string();
        std::iter::once(self.0.clone()).chain((2..1000).map(move |n| format!("{stem}-{n}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The plain letters of a Latin letter with a mark, so slugs of accented names stay
/// readable; other scripts pass through (and are dropped by the slug rule).
fn fold_accent(c: char) -> impl Iterator<Item = char> {
    let plain: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' | 'ð' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => "e",
        'ğ' | 'Ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'İ' => "i",
        'ł' | 'ľ' | 'Ł' | 'Ľ' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ř' | 'Ř' => "r",
        'ś' | 'š' | 'ş' | 'Ś' | 'Š' | 'Ş' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'Ť' | 'Ţ' => "t",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű' => "u",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        '&' => "and",
        _ => "",
    };
    let own = plain.is_empty().then_some(c);
    plain.chars().chain(own)
}

/// The licence a release is published under, shown with its badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Licence {
    #[serde(rename = "all-rights-reserved")]
    AllRightsReserved,
    #[serde(rename = "cc0-1.0")]
    Cc0,
    #[serde(rename = "cc-by-4.0")]
    CcBy,
    #[serde(rename = "cc-by-sa-4.0")]
    CcBySa,
    #[serde(rename = "cc-by-nd-4.0")]
    CcByNd,
    #[serde(rename = "cc-by-nc-4.0")]
    CcByNc,
    #[serde(rename = "cc-by-nc-sa-4.0")]
    CcByNcSa,
    #[serde(rename = "cc-by-nc-nd-4.0")]
    CcByNcNd,
}

impl Licence {
    pub const ALL: [Licence; 8] = [
        Licence::AllRightsReserved,
        Licence::Cc0,
        Licence::CcBy,
        Licence::CcBySa,
        Licence::CcByNd,
        Licence::CcByNc,
        Licence::CcByNcSa,
        Licence::CcByNcNd,
    ];

    /// The id stored and sent in the API (SPDX's, where SPDX has one).
    pub fn id(self) -> &'static str {
        match self {
            Licence::AllRightsReserved => "all-rights-reserved",
            Licence::Cc0 => "cc0-1.0",
            Licence::CcBy => "cc-by-4.0",
            Licence::CcBySa => "cc-by-sa-4.0",
            Licence::CcByNd => "cc-by-nd-4.0",
            Licence::CcByNc => "cc-by-nc-4.0",
            Licence::CcByNcSa => "cc-by-nc-sa-4.0",
            Licence::CcByNcNd => "cc-by-nc-nd-4.0",
        }
    }

    /// The licence's short name, as its badge reads.
    pub fn label(self) -> &'static str {
        match self {
            Licence::AllRightsReserved => "All rights reserved",
            Licence::Cc0 => "CC0 1.0",
            Licence::CcBy => "CC BY 4.0",
            Licence::CcBySa => "CC BY-SA 4.0",
            Licence::CcByNd => "CC BY-ND 4.0",
            Licence::CcByNc => "CC BY-NC 4.0",
            Licence::CcByNcSa => "CC BY-NC-SA 4.0",
            Licence::CcByNcNd => "CC BY-NC-ND 4.0",
        }
    }

    /// The licence's deed, linked from the badge; none for all rights reserved.
    pub fn url(self) -> Option<&'static str> {
        Some(match self {
            Licence::AllRightsReserved => return None,
            Licence::Cc0 => "https://creativecommons.org/publicdomain/zero/1.0/",
            Licence::CcBy => "https://creativecommons.org/licenses/by/4.0/",
            Licence::CcBySa => "https://creativecommons.org/licenses/by-sa/4.0/",
            Licence::CcByNd => "https://creativecommons.org/licenses/by-nd/4.0/",
            Licence::CcByNc => "https://creativecommons.org/licenses/by-nc/4.0/",
            Licence::CcByNcSa => "https://creativecommons.org/licenses/by-nc-sa/4.0/",
            Licence::CcByNcNd => "https://creativecommons.org/licenses/by-nc-nd/4.0/",
        })
    }
}

impl FromStr for Licence {
    type Err = MusicError;
    fn from_str(s: &str) -> Result<Licence, MusicError> {
        let wanted = s.trim().to_ascii_lowercase();
        Licence::ALL
            .into_iter()
            .find(|l| l.id() == wanted)
            .ok_or_else(|| {
                let ids: Vec<&str> = Licence::ALL.iter().map(|l| l.id()).collect();
                MusicError::invalid(
                    "licence",
                    format!(
                        "`{s}` is not a licence we know; use one of {}",
                        ids.join(", ")
                    ),
                )
            })
    }
}

/// Where a release stands. Public means listeners see it; everything else is seen by
/// its owner only (and through a private link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// Being prepared.
    Draft,
    /// Publishes itself at its release time.
    Scheduled,
    Published,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Draft => "draft",
            Visibility::Scheduled => "scheduled",
            Visibility::Published => "published",
        }
    }
}

impl FromStr for Visibility {
    type Err = MusicError;
    fn from_str(s: &str) -> Result<Visibility, MusicError> {
        match s {
            "draft" => Ok(Visibility::Draft),
            "scheduled" => Ok(Visibility::Scheduled),
            "published" => Ok(Visibility::Published),
            other => Err(MusicError::invalid(
                "visibility",
                format!("`{other}` is not a visibility: use draft, scheduled or published"),
            )),
        }
    }
}

/// Whether listeners see a release now: published, or scheduled and its time has come,
/// and not taken down by an admin. Checked at read time, so a scheduled release needs no
/// job to appear on the minute.
pub fn is_public(
    visibility: Visibility,
    release_at_ms: i64,
    taken_down: bool,
    now_ms: i64,
) -> bool {
    !taken_down
        && match visibility {
            Visibility::Draft => false,
            Visibility::Scheduled => release_at_ms <= now_ms,
            Visibility::Published => true,
        }
}

/// One line of synced lyrics: when it starts, and its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LyricLine {
    pub start_ms: u64,
    pub text: String,
}

/// A track's lyrics: plain text, or lines with times (from an `.lrc` file or typed as
/// `[mm:ss.xx] words`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Lyrics {
    Plain { text: String },
    Synced { lines: Vec<LyricLine> },
}

impl Lyrics {
    /// Reads lyrics as typed or imported: synced when every line that has words carries
    /// a time tag (`[01:02.50]`, several tags repeat a line), plain otherwise. Metadata
    /// tags such as `[ar:Artist]` and `[offset:+250]` are honoured or skipped. Empty
    /// text is no lyrics.
    pub fn parse(raw: &str) -> Option<Lyrics> {
        let raw = raw.trim_start_matches('\u{feff}');
        if raw.trim().is_empty() {
            return None;
        }
        let mut offset_ms: i64 = 0;
        let mut lines = Vec::new();
        let mut untimed = 0usize;
        for line in raw.lines() {
            let mut rest = line.trim();
            let mut times = Vec::new();
            let mut meta = false;
            while let Some(tag) = rest.strip_prefix('[') {
                let Some(end) = tag.find(']') else { break };
                let inner = &tag[..end];
                if let Some(ms) = lrc_time(inner) {
                    times.push(ms);
                } else if let Some((key, value)) = inner.split_once(':') {
                    meta = true;
                    if key.trim().eq_ignore_ascii_case("offset") {
                        offset_ms = value.trim().parse().unwrap_or(0);
                    }
                } else {
                    break;
                }
                rest = tag[end + 1..].trim_start();
            }
            if times.is_empty() {
                if !(meta || rest.is_empty()) {
                    untimed += 1;
                }
                continue;
            }
            for t in times {
                lines.push((t, rest.to_string()));
            }
        }
        if lines.is_empty() || untimed > 0 {
            return Some(Lyrics::Plain {
                text: raw.trim().to_string(),
            });
        }
        // LRC's offset moves the words earlier when positive.
        let mut lines: Vec<LyricLine> = lines
            .into_iter()
            .map(|(t, text)| LyricLine {
                start_ms: (t as i64 - offset_ms).max(0) as u64,
                text,
            })
            .collect();
        lines.sort_by_key(|l| l.start_ms);
        Some(Lyrics::Synced { lines })
    }

    /// The words without times.
    pub fn text(&self) -> String {
        match self {
            Lyrics::Plain { text } => text.clone(),
            Lyrics::Synced { lines } => lines
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// As an `.lrc` file (synced) or the plain text.
    pub fn to_lrc(&self) -> String {
        match self {
            Lyrics::Plain { text } => text.clone(),
            Lyrics::Synced { lines } => lines
                .iter()
                .map(|l| {
                    let cs = l.start_ms / 10;
                    format!(
                        "[{:02}:{:02}.{:02}]{}\n",
                        cs / 6000,
                        (cs / 100) % 60,
                        cs % 100,
                        l.text
                    )
                })
                .collect(),
        }
    }
}

/// `mm:ss`, `mm:ss.xx` or `mm:ss.xxx` in milliseconds.
fn lrc_time(tag: &str) -> Option<u64> {
    let (min, sec) = tag.split_once(':')?;
    let min: u64 = min.trim().parse().ok()?;
    let (whole, frac) = sec.split_once(['.', ':']).unwrap_or((sec, ""));
    if whole.len() != 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    if whole >= 60 || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 3 {
        return None;
    }
    let frac_ms = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 100,
        2 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse::<u64>().ok()?,
    };
    Some(min * 60_000 + whole * 1000 + frac_ms)
}

/// The title a track gets from its file when its tags have none: the name without its
/// extension and a leading track number ("03 - Night Drive.flac" → "Night Drive").
pub fn title_from_file_name(name: &str) -> String {
    let stem = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(name);
    let rest = stem.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = if rest.len() < stem.len() {
        rest.trim_start_matches([' ', '-', '.', '_'])
    } else {
        stem
    };
    let title = rest.replace('_', " ").trim().to_string();
    if title.is_empty() {
        stem.to_string()
    } else {
        title
    }
}

/// Checks a name or title a person typed: trimmed, 1 to `max` characters.
pub fn text_field(field: &str, raw: &str, max: usize) -> Result<String, MusicError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(MusicError::invalid(
            field,
            format!("{field} cannot be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(MusicError::invalid(
            field,
            format!("{field} can be at most {max} characters"),
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_rule_and_fixed_routes_are_refused() {
        assert!(Slug::parse("slug", "night-drive-2").is_ok());
        for bad in [
            "",
            "Night",
            "-a",
            "a-",
            "a--b",
            "a b",
            "über",
            &"a".repeat(65),
        ] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad}");
        }
        for word in RESERVED_SLUGS {
            let e = Slug::parse("slug", word).unwrap_err();
            assert!(e.to_string().contains("page of the site"), "{e}");
        }
    }

    #[test]
    fn slugs_from_names_stay_readable() {
        assert_eq!(Slug::from_name("Sigur Rós", "x").as_str(), "sigur-ros");
        assert_eq!(
            Slug::from_name("  The   Œuvre & Co. ", "x").as_str(),
            "the-oeuvre-and-co"
        );
        assert_eq!(Slug::from_name("שלום", "artist-1").as_str(), "artist-1");
        assert_eq!(Slug::from_name("Search", "album-2").as_str(), "album-2");
        let night = Slug::from_name("Night Drive", "x");
        let mut next = night.candidates();
        assert_eq!(next.next().as_deref(), Some("night-drive"));
        assert_eq!(next.next().as_deref(), Some("night-drive-2"));
        let long = Slug::from_name(&"ab ".repeat(40), "x");
        assert!(long.as_str().len() <= 64 && !long.as_str().ends_with('-'));
    }

    #[test]
    fn licences_round_trip_and_unknown_ones_are_named() {
        for l in Licence::ALL {
            assert_eq!(l.id().parse::<Licence>().unwrap(), l);
            assert_eq!(l.url().is_none(), l == Licence::AllRightsReserved);
        }
        let e = "gpl".parse::<Licence>().unwrap_err().to_string();
        assert!(e.contains("cc-by-4.0"), "{e}");
    }

    #[test]
    fn a_scheduled_release_is_public_from_its_time_unless_taken_down() {
        assert!(!is_public(Visibility::Draft, 0, false, 10));
        assert!(!is_public(Visibility::Scheduled, 11, false, 10));
        assert!(is_public(Visibility::Scheduled, 10, false, 10));
        assert!(is_public(Visibility::Published, 99, false, 10));
        assert!(!is_public(Visibility::Published, 0, true, 10));
    }

    #[test]
    fn lrc_lyrics_are_synced_and_anything_else_is_plain() {
        let lrc =
            "[ar:Someone]\n[offset:+500]\n[00:12.00]First line\n[00:05.5][01:00.250]Chorus\n\n";
        let Some(Lyrics::Synced { lines }) = Lyrics::parse(lrc) else {
            panic!("synced expected");
        };
        let got: Vec<(u64, &str)> = lines
            .iter()
            .map(|l| (l.start_ms, l.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [(5000, "Chorus"), (11_500, "First line"), (59_750, "Chorus")]
        );
        let again = Lyrics::parse(
            &Lyrics::Synced {
                lines: lines.clone(),
            }
            .to_lrc(),
        );
        assert_eq!(again, Some(Lyrics::Synced { lines }));

        let plain = "Verse one\n[00:10.00] timed\nuntimed again";
        assert_eq!(
            Lyrics::parse(plain),
            Some(Lyrics::Plain {
                text: plain.to_string()
            })
        );
        assert_eq!(Lyrics::parse(" \n "), None);
        assert!(matches!(
            Lyrics::parse("[99:99] x"),
            Some(Lyrics::Plain { .. })
        ));
    }

    #[test]
    fn titles_come_from_file_names_without_numbers() {
        assert_eq!(title_from_file_name("03 - Night Drive.flac"), "Night Drive");
        assert_eq!(
            title_from_file_name("dir/01_intro_theme.mp3"),
            "intro theme"
        );
        assert_eq!(title_from_file_name("1999.wav"), "1999");
        assert_eq!(title_from_file_name("Song.v2.ogg"), "Song.v2");
    }
}
