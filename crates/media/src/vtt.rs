//! WebVTT subtitles: writes cue files that every browser's `<track>` accepts and reads
//! them back, rejecting what the W3C WebVTT syntax forbids with the line at fault.
//!
//! The recital studio aligns read-aloud texts to recordings and exports them as WebVTT,
//! and imports cue files that people bring. A [`Cue`]'s text is plain text in any script
//! (right-to-left included): [`write`] escapes `&`, `<` and `>`, and [`parse`] unescapes
//! character references and drops cue markup such as `<v Speaker>` or `<i>`, since the
//! studios keep the words, not their styling. NOTE, STYLE and REGION blocks are checked and
//! skipped.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{MediaError, Result};

/// One cue: a stretch of time and the text shown during it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cue {
    /// An optional name, one line, without `-->`.
    pub id: Option<String>,
    #[serde(with = "seconds")]
    pub start: Duration,
    #[serde(with = "seconds")]
    pub end: Duration,
    /// Plain text; lines are separated by `\n` and none may be empty (an empty line would
    /// end the cue).
    pub text: String,
    /// Cue settings as written after the end time, e.g. `align:start line:0`.
    pub settings: Option<String>,
}

/// Cue times travel in JSON as seconds.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(value.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// Cue setting names the syntax allows.
const SETTING_NAMES: [&str; 6] = ["vertical", "line", "position", "size", "align", "region"];

/// Writes a WebVTT file. Times are written to the millisecond (rounded down). Fails,
/// naming the cue (counted from 1), when a cue could not be read back as written: an id
/// that is empty, spans lines or holds `-->`; text with an empty line; malformed
/// settings; an end before the start; or a start before the previous cue's start.
pub fn write(cues: &[Cue]) -> Result<String> {
    let mut out = String::from("WEBVTT\n");
    let mut previous_start = Duration::ZERO;
    for (i, cue) in cues.iter().enumerate() {
        let n = i + 1;
        let bad = |what: String| MediaError::Corrupt(format!("cue {n}: {what}"));
        let start = truncate_to_millis(cue.start);
        let end = truncate_to_millis(cue.end);
        if end < start {
            return Err(bad(format!(
                "it ends ({}) before it starts ({})",
                timestamp(end),
                timestamp(start)
            )));
        }
        if start < previous_start {
            return Err(bad(format!(
                "it starts ({}) before the cue before it ({}); sort the cues by start time",
                timestamp(start),
                timestamp(previous_start)
            )));
        }
        previous_start = start;

        out.push('\n');
        if let Some(id) = &cue.id {
            if id.is_empty() {
                return Err(bad("its id is empty; leave it out instead".into()));
            }
            if id.contains(['\n', '\r']) || id.contains("-->") {
                return Err(bad(format!(
                    "its id {id:?} holds a line break or `-->`, which would end the id early"
                )));
            }
            out.push_str(id);
            out.push('\n');
        }
        out.push_str(&timestamp(start));
        out.push_str(" --> ");
        out.push_str(&timestamp(end));
        if let Some(settings) = &cue.settings {
            if settings.contains(['\n', '\r']) {
                return Err(bad("its settings hold a line break".into()));
            }
            check_settings(settings).map_err(bad)?;
            if !settings.trim().is_empty() {
                out.push(' ');
                out.push_str(settings.trim());
            }
        }
        out.push('\n');
        let text = cue.text.replace("\r\n", "\n").replace('\r', "\n");
        if !text.is_empty() {
            for (l, line) in text.split('\n').enumerate() {
                if line.is_empty() {
                    return Err(bad(format!(
                        "line {} of its text is empty, which would end the cue there",
                        l + 1
                    )));
                }
                escape_into(line, &mut out);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

fn truncate_to_millis(t: Duration) -> Duration {
    Duration::from_millis(t.as_millis().min(u64::MAX as u128) as u64)
}

/// `hh:mm:ss.mmm`, with more hour digits when needed.
fn timestamp(t: Duration) -> String {
    let ms = t.as_millis();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Each setting is `name:value` with a known name, once each.
fn check_settings(settings: &str) -> std::result::Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for setting in settings.split([' ', '\t']).filter(|s| !s.is_empty()) {
        let Some((name, value)) = setting.split_once(':') else {
            return Err(format!("the cue setting `{setting}` is not `name:value`"));
        };
        if !SETTING_NAMES.contains(&name) {
            return Err(format!(
                "`{name}` is not a cue setting (known: {})",
                SETTING_NAMES.join(", ")
            ));
        }
        if value.is_empty() || value.contains("-->") {
            return Err(format!("the cue setting `{name}` has no usable value"));
        }
        if seen.contains(&name) {
            return Err(format!("the cue setting `{name}` is given twice"));
        }
        seen.push(name);
    }
    Ok(())
}

/// Splits text into lines at CRLF, LF or CR, as WebVTT does.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Whether `line` is `keyword` alone or followed by a space, tab or text after one.
fn starts_block(line: &str, keyword: &str) -> bool {
    line.strip_prefix(keyword)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Reads a WebVTT file into its cues, checking it against the WebVTT syntax. Errors are
/// [`MediaError::Corrupt`] and name the line (counted from 1) and what is wrong there.
pub fn parse(text: &str) -> Result<Vec<Cue>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bad = |line: usize, what: String| MediaError::Corrupt(format!("line {line}: {what}"));
    let mut numbered = lines(text).enumerate().map(|(i, l)| (i + 1, l)).peekable();

    let signature = numbered.next().map(|(_, l)| l).unwrap_or("");
    if !starts_block(signature, "WEBVTT") {
        return Err(bad(
            1,
            "a WebVTT file starts with `WEBVTT` (then optionally a space or tab and a title)"
                .into(),
        ));
    }
    // Header lines up to the first blank line are ignored by browsers; a cue there would
    // silently vanish, so refuse it.
    while let Some(&(n, line)) = numbered.peek() {
        if line.is_empty() {
            break;
        }
        if line.contains("-->") {
            return Err(bad(
                n,
                "a cue must be separated from the `WEBVTT` line by a blank line".into(),
            ));
        }
        numbered.next();
    }

    let mut cues: Vec<Cue> = Vec::new();
    let mut block: Vec<(usize, &str)> = Vec::new();
    loop {
        let next = numbered.next();
        match next {
            Some((n, line)) if !line.is_empty() => {
                block.push((n, line));
                continue;
            }
            _ => {}
        }
        if !block.is_empty() {
            if let Some(cue) = parse_block(&block, !cues.is_empty())? {
                if let Some(previous) = cues.last()
                    && cue.start < previous.start
                {
                    let n = block
                        .iter()
                        .find(|(_, l)| l.contains("-->"))
                        .map_or(0, |b| b.0);
                    return Err(bad(
                        n,
                        format!(
                            "this cue starts ({}) before the cue before it ({}); cues must be in order of start time",
                            timestamp(cue.start),
                            timestamp(previous.start)
                        ),
                    ));
                }
                cues.push(cue);
            }
            block.clear();
        }
        if next.is_none() {
            return Ok(cues);
        }
    }
}

/// One block between blank lines: a cue, or `None` for NOTE, STYLE and REGION blocks.
fn parse_block(block: &[(usize, &str)], after_cue: bool) -> Result<Option<Cue>> {
    let bad = |line: usize, what: String| MediaError::Corrupt(format!("line {line}: {what}"));
    let (first_n, first) = block[0];
    // Browsers take a first or second line with `-->` as the timing line whatever the
    // first line says, so a cue may be called NOTE or STYLE.
    let timing_at = if first.contains("-->") {
        0
    } else if block.len() > 1 && block[1].1.contains("-->") {
        1
    } else {
        for keyword in ["NOTE", "STYLE", "REGION"] {
            if starts_block(first, keyword) {
                if keyword != "NOTE" && after_cue {
                    return Err(bad(
                        first_n,
                        format!("{keyword} blocks must come before the first cue"),
                    ));
                }
                if let Some(&(n, _)) = block[1..].iter().find(|(_, l)| l.contains("-->")) {
                    return Err(bad(n, format!("a {keyword} block must not contain `-->`")));
                }
                return Ok(None);
            }
        }
        return Err(bad(
            first_n,
            format!(
                "expected a cue timing line like `00:00:01.000 --> 00:00:02.500` (on this line or the next), found {:?}",
                shorten(first)
            ),
        ));
    };
    let id = (timing_at == 1).then(|| first.to_string());
    let (n, timing) = block[timing_at];
    let (start, end, settings) = parse_timing(timing).map_err(|what| bad(n, what))?;
    if end < start {
        return Err(bad(
            n,
            format!(
                "the cue ends ({}) before it starts ({})",
                timestamp(end),
                timestamp(start)
            ),
        ));
    }
    let mut text = String::new();
    for (i, &(n, line)) in block[timing_at + 1..].iter().enumerate() {
        if line.contains("-->") {
            return Err(bad(
                n,
                "cue text must not contain `-->`; is a blank line missing before this cue?".into(),
            ));
        }
        if i > 0 {
            text.push('\n');
        }
        unescape_into(line, &mut text).map_err(|what| bad(n, what))?;
    }
    Ok(Some(Cue {
        id,
        start,
        end,
        text,
        settings,
    }))
}

fn shorten(line: &str) -> String {
    match line.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

/// `start --> end [settings]`, with spaces or tabs around the arrow.
fn parse_timing(line: &str) -> std::result::Result<(Duration, Duration, Option<String>), String> {
    let (left, right) = line.split_once("-->").expect("the caller found the arrow");
    let is_blank = |c: char| c == ' ' || c == '\t';
    if !left.ends_with(is_blank) || !right.starts_with(is_blank) {
        return Err("`-->` needs a space or tab on each side".into());
    }
    let start = parse_timestamp(left.trim_matches(is_blank))?;
    let right = right.trim_start_matches(is_blank);
    let (end, settings) = match right.find(is_blank) {
        Some(at) => (&right[..at], right[at..].trim_matches(is_blank)),
        None => (right, ""),
    };
    let end = parse_timestamp(end)?;
    if settings.contains("-->") {
        return Err("a timing line has one `-->`".into());
    }
    check_settings(settings)?;
    let settings = (!settings.is_empty()).then(|| settings.to_string());
    Ok((start, end, settings))
}

/// `mm:ss.ttt` or `hh:mm:ss.ttt` (hours: two or more digits).
fn parse_timestamp(text: &str) -> std::result::Result<Duration, String> {
    let bad = || {
        format!(
            "`{}` is not a timestamp like `00:01.500` or `00:00:01.500`",
            shorten(text)
        )
    };
    let (clock, millis) = text.split_once('.').ok_or_else(bad)?;
    let parts: Vec<&str> = clock.split(':').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if millis.len() != 3 || !digits(millis) || !parts.iter().all(|p| digits(p)) {
        return Err(bad());
    }
    let (hours, minutes, seconds) = match parts[..] {
        [m, s] => ("0", m, s),
        [h, m, s] if h.len() >= 2 => (h, m, s),
        _ => return Err(bad()),
    };
    if minutes.len() != 2 || seconds.len() != 2 {
        return Err(bad());
    }
    let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
    let (hours, minutes, seconds, millis) = (
        number(hours)?,
        number(minutes)?,
        number(seconds)?,
        number(millis)?,
    );
    if minutes > 59 || seconds > 59 {
        return Err(format!("`{text}` has minutes or seconds above 59"));
    }
    let total_seconds = hours
        .checked_mul(3600)
        .and_then(|s| s.checked_add(minutes * 60 + seconds))
        .ok_or_else(|| format!("`{}` is too far in the future", shorten(text)))?;
    Ok(Duration::from_secs(total_seconds) + Duration::from_millis(millis))
}

/// Appends one payload line as plain text: character references decoded, cue tags
/// (`<i>`, `<v Name>`, `<00:01.000>`) dropped.
fn unescape_into(line: &str, out: &mut String) -> std::result::Result<(), String> {
    let mut rest = line;
    while let Some(at) = rest.find(['&', '<']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('<') {
            let Some(close) = rest.find('>') else {
                return Err(
                    "`<` starts a tag that is never closed; write `&lt;` for a literal <".into(),
                );
            };
            rest = &rest[close + 1..];
            continue;
        }
        match character_reference(rest) {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            // A bare `&` is shown as it is by browsers.
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(())
}

/// The character a reference at the start of `text` stands for, and the reference's
/// length: the named ones cue text uses and numeric ones.
fn character_reference(text: &str) -> Option<(char, usize)> {
    const NAMED: [(&str, char); 6] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&nbsp;", '\u{a0}'),
        ("&lrm;", '\u{200e}'),
        ("&rlm;", '\u{200f}'),
    ];
    if let Some(&(name, c)) = NAMED.iter().find(|(name, _)| text.starts_with(name)) {
        return Some((c, name.len()));
    }
    let body = text.strip_prefix("&#")?;
    let end = body.find(';')?;
    let code = match body[..end].strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => body[..end].parse().ok()?,
    };
    char::from_u32(code)
        .filter(|&c| c != '\0')
        .map(|c| (c, end + 3))
}
