//! Texts to read: decoding, markup removal, paragraphs and sentences.
//!
//! This module owns everything between "someone gave us a text" and "a volunteer sees one
//! sentence at a time": [`decode`] turns file bytes into a string (UTF-8 or UTF-16 with a
//! byte-order mark, nothing guessed), the cleaners strip HTML, Markdown or plain-text
//! clutter into paragraphs, [`split_sentences`] cuts a paragraph into sentences with
//! per-language repairs on top of Unicode's sentence boundaries (UAX #29), [`import`] runs
//! the whole pipeline, [`sentence_list`] reads the one-sentence-per-line and TSV lists of
//! short-clip campaigns, and [`fetch`] downloads a web page for a reviewer without letting
//! the URL reach the server's private network.
//!
//! Everything here except [`fetch`] is a pure function of its input, so the rules are
//! tested without a server. Errors name the input field at fault and say what to do.

mod clean;
mod decode;
mod fetch;
mod html;
mod list;
mod markdown;
mod sentences;

use serde::{Deserialize, Serialize};

pub use decode::decode;
pub use fetch::{FetchPolicy, fetch};
pub use list::sentence_list;
pub use sentences::split_sentences;

/// Where a text came from, deciding how its markup is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Text as typed: every line is a paragraph (see the plain-text rules in `clean`).
    Plain,
    /// A web page: only its running text is kept.
    Html,
    /// Markdown: code, link targets and markup go, headings and list items are paragraphs.
    Markdown,
}

impl Format {
    /// From a file name's extension (.txt, .text -> Plain; .html, .htm -> Html; .md,
    /// .markdown -> Markdown), or None, so uploads are cleaned by what they claim to be.
    pub fn from_file_name(name: &str) -> Option<Format> {
        // A browser may send a full Windows path as the file name.
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let (stem, ext) = base.rsplit_once('.')?;
        if stem.is_empty() {
            return None;
        }
        match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => Some(Format::Plain),
            "html" | "htm" | "xhtml" => Some(Format::Html),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }

    /// From a Content-Type value (text/plain, text/html, application/xhtml+xml,
    /// text/markdown), or None, so fetched pages are cleaned by what the server sent.
    pub fn from_content_type(value: &str) -> Option<Format> {
        let essence = value.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "text/plain" => Some(Format::Plain),
            "text/html" | "application/xhtml+xml" => Some(Format::Html),
            "text/markdown" | "text/x-markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// A text split for reading: its title when the source had one, and paragraphs, each a
/// list of sentences (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    /// The page title, first level-1 heading or front-matter title, to name the text.
    pub title: Option<String>,
    /// Paragraphs in reading order, each a non-empty list of sentences.
    pub paragraphs: Vec<Vec<String>>,
}

/// Why a text could not be used; each variant names the input field at fault and carries
/// a detail a person can act on, so routes can render a problem document directly.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TextError {
    /// The bytes are not UTF-8 (nor UTF-16 with a byte-order mark).
    #[error("{detail}")]
    NotUtf8 {
        field: &'static str,
        /// Byte offset of the first sequence that could not be decoded.
        offset: usize,
        detail: String,
    },
    /// Nothing readable is left once markup and clutter are removed.
    #[error("{detail}")]
    EmptyText { field: &'static str, detail: String },
    /// The input would take unreasonable work to read (an HTML page nested thousands of
    /// levels deep).
    #[error("{detail}")]
    TooComplex { field: &'static str, detail: String },
    /// The input is over a size limit.
    #[error("{detail}")]
    TooLarge {
        field: &'static str,
        limit: u64,
        detail: String,
    },
    /// The URL cannot be parsed or has no host.
    #[error("{detail}")]
    BadUrl { field: &'static str, detail: String },
    /// The URL is not http or https.
    #[error("{detail}")]
    UnsupportedScheme { field: &'static str, detail: String },
    /// The host is, or resolves to, an address on a private or otherwise non-public network.
    #[error("{detail}")]
    PrivateAddress { field: &'static str, detail: String },
    /// The host name does not resolve.
    #[error("{detail}")]
    Unresolvable { field: &'static str, detail: String },
    /// The connection failed or the server answered with an error status.
    #[error("{detail}")]
    FetchFailed { field: &'static str, detail: String },
    /// The server took longer than the policy allows.
    #[error("{detail}")]
    Timeout { field: &'static str, detail: String },
    /// The server sent something that is not a text format we clean.
    #[error("{detail}")]
    NotText { field: &'static str, detail: String },
    /// The server redirected more times than we follow.
    #[error("{detail}")]
    TooManyRedirects { field: &'static str, detail: String },
    /// A TSV sentence list's header has no `sentence` (or `text`) column.
    #[error("{detail}")]
    BadHeader { field: &'static str, detail: String },
    /// A TSV sentence list's row has no sentence.
    #[error("{detail}")]
    MissingSentence {
        field: &'static str,
        /// 1-based line number in the file.
        line: usize,
        detail: String,
    },
    /// Two rows of a TSV sentence list give the same id to different sentences.
    #[error("{detail}")]
    DuplicateId {
        field: &'static str,
        /// 1-based line number of the second use.
        line: usize,
        detail: String,
    },
}

impl TextError {
    /// The input field at fault, for the problem document's field.
    pub fn field(&self) -> &'static str {
        match self {
            TextError::NotUtf8 { field, .. }
            | TextError::EmptyText { field, .. }
            | TextError::TooComplex { field, .. }
            | TextError::TooLarge { field, .. }
            | TextError::BadUrl { field, .. }
            | TextError::UnsupportedScheme { field, .. }
            | TextError::PrivateAddress { field, .. }
            | TextError::Unresolvable { field, .. }
            | TextError::FetchFailed { field, .. }
            | TextError::Timeout { field, .. }
            | TextError::NotText { field, .. }
            | TextError::TooManyRedirects { field, .. }
            | TextError::BadHeader { field, .. }
            | TextError::MissingSentence { field, .. }
            | TextError::DuplicateId { field, .. } => field,
        }
    }

    /// A stable short slug for the problem type, e.g. `urn:tutti:problem:not-utf8`.
    pub fn kind(&self) -> &'static str {
        match self {
            TextError::NotUtf8 { .. } => "not-utf8",
            TextError::EmptyText { .. } => "empty-text",
            TextError::TooComplex { .. } => "too-complex",
            TextError::TooLarge { .. } => "too-large",
            TextError::BadUrl { .. } => "bad-url",
            TextError::UnsupportedScheme { .. } => "unsupported-scheme",
            TextError::PrivateAddress { .. } => "private-address",
            TextError::Unresolvable { .. } => "unresolvable",
            TextError::FetchFailed { .. } => "fetch-failed",
            TextError::Timeout { .. } => "timeout",
            TextError::NotText { .. } => "not-text",
            TextError::TooManyRedirects { .. } => "too-many-redirects",
            TextError::BadHeader { .. } => "bad-header",
            TextError::MissingSentence { .. } => "missing-sentence",
            TextError::DuplicateId { .. } => "duplicate-id",
        }
    }

    /// The human detail, without the field.
    pub fn detail(&self) -> &str {
        match self {
            TextError::NotUtf8 { detail, .. }
            | TextError::EmptyText { detail, .. }
            | TextError::TooComplex { detail, .. }
            | TextError::TooLarge { detail, .. }
            | TextError::BadUrl { detail, .. }
            | TextError::UnsupportedScheme { detail, .. }
            | TextError::PrivateAddress { detail, .. }
            | TextError::Unresolvable { detail, .. }
            | TextError::FetchFailed { detail, .. }
            | TextError::Timeout { detail, .. }
            | TextError::NotText { detail, .. }
            | TextError::TooManyRedirects { detail, .. }
            | TextError::BadHeader { detail, .. }
            | TextError::MissingSentence { detail, .. }
            | TextError::DuplicateId { detail, .. } => detail,
        }
    }

    /// The same error blamed on another field, because the same bytes may arrive as an
    /// upload ("file"), a pasted text ("text") or a fetched page ("url").
    pub fn with_field(mut self, new: &'static str) -> TextError {
        match &mut self {
            TextError::NotUtf8 { field, .. }
            | TextError::EmptyText { field, .. }
            | TextError::TooComplex { field, .. }
            | TextError::TooLarge { field, .. }
            | TextError::BadUrl { field, .. }
            | TextError::UnsupportedScheme { field, .. }
            | TextError::PrivateAddress { field, .. }
            | TextError::Unresolvable { field, .. }
            | TextError::FetchFailed { field, .. }
            | TextError::Timeout { field, .. }
            | TextError::NotText { field, .. }
            | TextError::TooManyRedirects { field, .. }
            | TextError::BadHeader { field, .. }
            | TextError::MissingSentence { field, .. }
            | TextError::DuplicateId { field, .. } => *field = new,
        }
        self
    }
}

/// The whole pipeline: decode, strip markup for the format, split into paragraphs and
/// sentences for `language` (a BCP 47 tag such as "en", "he", "yi", "fr", "ja", "zh",
/// "th"). An input with no sentence left is an error (kind "empty-text").
///
/// Decoding errors blame the field "file"; an empty result blames "text". Callers that
/// got the bytes elsewhere relabel with [`TextError::with_field`].
pub fn import(bytes: &[u8], format: Format, language: &str) -> Result<Text, TextError> {
    let source = decode(bytes)?;
    let (title, blocks) = match format {
        Format::Plain => (None, clean::plain_paragraphs(&source)),
        Format::Html => html::extract(&source)?,
        Format::Markdown => markdown::extract(&source),
    };
    let title = title
        .map(|t| clean::tidy(&t))
        .filter(|t| clean::has_letters(t));
    let paragraphs: Vec<Vec<String>> = blocks
        .iter()
        .map(|block| clean::tidy(block))
        .filter(|block| clean::has_letters(block))
        .map(|block| split_sentences(&block, language))
        .filter(|sentences| !sentences.is_empty())
        .collect();
    if paragraphs.is_empty() {
        return Err(TextError::EmptyText {
            field: "text",
            detail: match format {
                Format::Plain => "the text has no sentences to read".to_owned(),
                Format::Html => {
                    "the page has no readable text once menus, footers and markup are removed"
                        .to_owned()
                }
                Format::Markdown => {
                    "the document has no readable text once code and markup are removed".to_owned()
                }
            },
        });
    }
    Ok(Text { title, paragraphs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_file_names() {
        assert_eq!(Format::from_file_name("a.txt"), Some(Format::Plain));
        assert_eq!(Format::from_file_name("A.TEXT"), Some(Format::Plain));
        assert_eq!(Format::from_file_name("page.HTM"), Some(Format::Html));
        assert_eq!(Format::from_file_name("page.html"), Some(Format::Html));
        assert_eq!(
            Format::from_file_name("C:\\Users\\x\\notes.md"),
            Some(Format::Markdown)
        );
        assert_eq!(
            Format::from_file_name("dir.v2/readme.markdown"),
            Some(Format::Markdown)
        );
        assert_eq!(Format::from_file_name("book.pdf"), None);
        assert_eq!(Format::from_file_name("README"), None);
        assert_eq!(Format::from_file_name(".md"), None);
    }

    #[test]
    fn formats_from_content_types() {
        assert_eq!(
            Format::from_content_type("text/html; charset=utf-8"),
            Some(Format::Html)
        );
        assert_eq!(
            Format::from_content_type("application/xhtml+xml"),
            Some(Format::Html)
        );
        assert_eq!(Format::from_content_type("Text/Plain"), Some(Format::Plain));
        assert_eq!(
            Format::from_content_type("text/markdown;variant=GFM"),
            Some(Format::Markdown)
        );
        assert_eq!(Format::from_content_type("image/png"), None);
        assert_eq!(Format::from_content_type("application/json"), None);
        assert_eq!(Format::from_content_type(""), None);
    }

    #[test]
    fn format_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&Format::Markdown).unwrap(),
            "\"markdown\""
        );
        let back: Format = serde_json::from_str("\"html\"").unwrap();
        assert_eq!(back, Format::Html);
    }

    #[test]
    fn errors_know_field_and_kind() {
        let error = TextError::EmptyText {
            field: "text",
            detail: "nothing".into(),
        };
        assert_eq!(error.field(), "text");
        assert_eq!(error.kind(), "empty-text");
        let error = error.with_field("file");
        assert_eq!(error.field(), "file");
        assert_eq!(error.to_string(), "nothing");
    }

    #[test]
    fn import_plain_text() {
        let text = import(
            "Hello there. How are you?\n\n  \n12.\nSecond paragraph (with an aside) here.[3]\n"
                .as_bytes(),
            Format::Plain,
            "en",
        )
        .unwrap();
        assert_eq!(text.title, None);
        assert_eq!(
            text.paragraphs,
            vec![
                vec!["Hello there.".to_owned(), "How are you?".to_owned()],
                vec!["Second paragraph here.".to_owned()],
            ]
        );
    }

    #[test]
    fn import_refuses_empty_results() {
        let error = import(b"  \n [1] \n 2. \n", Format::Plain, "en").unwrap_err();
        assert_eq!(error.kind(), "empty-text");
        assert_eq!(error.field(), "text");
        let error = import(
            b"<html><nav><p>Menu</p></nav><script>x()</script></html>",
            Format::Html,
            "en",
        )
        .unwrap_err();
        assert_eq!(error.kind(), "empty-text");
        let error = import(b"```\ncode only\n```\n", Format::Markdown, "en").unwrap_err();
        assert_eq!(error.kind(), "empty-text");
    }

    #[test]
    fn import_reports_decoding_errors() {
        let error = import(b"caf\xe9", Format::Plain, "fr").unwrap_err();
        assert_eq!(error.kind(), "not-utf8");
        assert_eq!(error.field(), "file");
    }

    #[test]
    fn import_html_and_markdown() {
        let html = "<html><head><title>T</title></head><body><p>One. Two.</p></body></html>";
        let text = import(html.as_bytes(), Format::Html, "en").unwrap();
        assert_eq!(text.title.as_deref(), Some("T"));
        assert_eq!(text.paragraphs, vec![vec!["One.", "Two."]]);
        let text = import(b"# Head\n\nBody *text*.\n", Format::Markdown, "en").unwrap();
        assert_eq!(text.title.as_deref(), Some("Head"));
        assert_eq!(text.paragraphs, vec![vec!["Head"], vec!["Body text."]]);
    }
}
