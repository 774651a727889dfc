//! Readable paragraphs of a web page.
//!
//! A page is mostly not the text: menus, headers, footers, sidebars, reference lists,
//! tables and captions would all be read aloud by a naive `innerText`. We keep only the
//! elements that hold running text (`p`, `h2`–`h4`, `li`, `blockquote`), outside of the
//! page furniture, and fall back to the whole body split on blank lines only when a page
//! has no such elements at all (a bare text wrapped in `<pre>`-less HTML).

use scraper::{ElementRef, Html, Node, Selector};

use std::collections::HashMap;

use super::TextError;
use super::clean::has_letters;

/// Elements whose text is running text, each its own paragraph.
const BLOCKS: &[&str] = &["p", "h2", "h3", "h4", "li", "blockquote"];

/// Elements that are page furniture, code or data, never prose to read.
const SKIPPED: &[&str] = &[
    "head",
    "header",
    "footer",
    "nav",
    "aside",
    "script",
    "style",
    "noscript",
    "figure",
    "figcaption",
    "table",
    "sup",
    "template",
    "svg",
    "math",
    "form",
    "button",
    "select",
    "textarea",
    "iframe",
    "object",
    "pre",
    "audio",
    "video",
    "canvas",
];

/// Class or id fragments of footnote lists, reference sections and navigation boxes
/// (Wikipedia's among them).
const SKIPPED_MARKS: &[&str] = &[
    "footnote",
    "reference",
    "mw-references",
    "navbox",
    "mw-editsection",
];

/// ARIA roles of page furniture, for sites that use `div role=navigation` instead of `nav`.
const SKIPPED_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
];

/// Elements that separate words even when the page has no whitespace between them.
const BREAKS_WORDS: &[&str] = &[
    "div", "section", "article", "main", "td", "th", "dd", "dt", "ul", "ol", "dl", "h1", "h5",
    "h6", "hr", "address", "details", "summary",
];

/// Most parsing work, in "start tags times open elements", a page may cost; see
/// [`nesting_cost`]. Ordinary pages, even very long ones, stay under a tenth of it.
const MAX_NESTING_COST: u64 = 50_000_000;

/// The title and the text blocks of an HTML document, before tidying.
pub(super) fn extract(source: &str) -> Result<(Option<String>, Vec<String>), TextError> {
    if nesting_cost(source) > MAX_NESTING_COST {
        return Err(TextError::TooComplex {
            field: "text",
            detail: "the page nests its elements thousands of levels deep, which is not an ordinary web page; save its text as a .txt file and upload that".to_owned(),
        });
    }
    let document = Html::parse_document(source);
    let title = title(&document);
    let mut blocks = walk(document.root_element(), false);
    if !blocks.iter().any(|block| has_letters(block)) {
        blocks = walk(document.root_element(), true);
    }
    Ok((title, blocks))
}

/// Elements without content, or closed by the next of their kind, which never deepen
/// the tree by themselves.
const NEVER_NEST: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody",
    "thead", "tfoot", "rb", "rt", "rp", "colgroup", "caption",
];

/// Elements whose content is raw text, where `<` starts no tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// A cheap estimate of html5ever's work: the sum, over start tags, of how many elements
/// are open. The parser walks its stack of open elements for many start tags, so a page
/// nested tens of thousands deep (`<ul><li>` repeated) takes minutes to parse; this
/// pass is linear and lets us refuse such a page first.
fn nesting_cost(source: &str) -> u64 {
    let bytes = source.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut cost: u64 = 0;
    let mut i = 0;
    while let Some(found) = source[i..].find('<') {
        i += found + 1;
        if source[i..].starts_with("!--") {
            i = source[i..]
                .find("-->")
                .map_or(source.len(), |end| i + end + 3);
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let name_start = if closing { i + 1 } else { i };
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 {
            continue;
        }
        let name = source[name_start..name_start + name_len].to_ascii_lowercase();
        let Some(end) = source[name_start..].find('>').map(|end| name_start + end) else {
            break;
        };
        i = end + 1;
        if closing {
            // An end tag closes the innermost open element of its name, if there is one;
            // a stray one closes nothing, as in the parser.
            if counts.get(&name).is_some_and(|&count| count > 0) {
                while let Some(top) = open.pop() {
                    if let Some(count) = counts.get_mut(&top) {
                        *count -= 1;
                    }
                    if top == name {
                        break;
                    }
                }
            }
            continue;
        }
        cost += open.len() as u64;
        if RAW_TEXT.contains(&name.as_str()) {
            i = find_end_tag(source, i, &name).unwrap_or(source.len());
            continue;
        }
        let self_closing = source[..end].ends_with('/');
        if self_closing || NEVER_NEST.contains(&name.as_str()) {
            continue;
        }
        *counts.entry(name.clone()).or_insert(0) += 1;
        open.push(name);
    }
    cost
}

/// Where `</name` starts at or after `from`, in any letter case.
fn find_end_tag(source: &str, from: usize, name: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut at = from;
    while let Some(found) = source[at..].find("</") {
        let start = at + found;
        let tag = start + 2;
        if bytes
            .get(tag..tag + name.len())
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name.as_bytes()))
        {
            return Some(start);
        }
        at = tag;
    }
    None
}

/// Chunks of text between lines that are empty or only whitespace.
fn split_on_blank_lines(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.trim().is_empty() {
                chunks.push(std::mem::take(&mut current));
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        chunks.push(current);
    }
    chunks
}

fn title(document: &Html) -> Option<String> {
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Only text outside page furniture: a site's logo is often an h1 in the header.
    let text_of = |selector: &str| -> Option<String> {
        let selector = Selector::parse(selector).ok()?;
        document
            .select(&selector)
            .filter(|element| {
                !element
                    .ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|ancestor| ancestor.value().name() != "head" && skipped(&ancestor))
            })
            .map(|element| words(&element.text().collect::<String>()))
            .find(|text| !text.is_empty())
    };
    let og_title = || -> Option<String> {
        let selector =
            Selector::parse(r#"meta[property="og:title"], meta[name="og:title"]"#).ok()?;
        document
            .select(&selector)
            .filter_map(|element| element.value().attr("content"))
            .map(words)
            .find(|text| !text.is_empty())
    };
    text_of("head > title")
        .or_else(|| text_of("h1"))
        .or_else(og_title)
}

fn skipped(element: &ElementRef<'_>) -> bool {
    let value = element.value();
    if SKIPPED.contains(&value.name()) {
        return true;
    }
    if value.attr("hidden").is_some() || value.attr("aria-hidden") == Some("true") {
        return true;
    }
    if value
        .attr("role")
        .is_some_and(|role| SKIPPED_ROLES.contains(&role.trim().to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let marked = |text: &str| {
        let text = text.to_ascii_lowercase();
        SKIPPED_MARKS.iter().any(|mark| text.contains(mark))
    };
    value.attr("class").is_some_and(marked) || value.id().is_some_and(marked)
}

/// What leaving an element adds to the text.
#[derive(Clone, Copy)]
enum Exit {
    Nothing,
    /// End the paragraph.
    Flush,
    /// Separate words.
    Space,
    /// Separate chunks (fallback mode).
    BlankLine,
}

/// Paragraphs from the page's block elements, or with `whole_body`, all readable text with
/// blank lines between block elements. An explicit stack instead of recursion, because
/// pages nest deeply enough (by accident or on purpose) to overflow a thread's stack.
fn walk(root: ElementRef<'_>, whole_body: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let flush = |out: &mut Vec<String>, current: &mut String| {
        if !current.trim().is_empty() {
            out.push(std::mem::take(current));
        }
        current.clear();
    };
    let mut stack = vec![(root.children(), whole_body, Exit::Nothing)];
    while let Some(top) = stack.last_mut() {
        let in_block = top.1;
        let Some(child) = top.0.next() else {
            if let Some((_, _, exit)) = stack.pop() {
                match exit {
                    Exit::Nothing => {}
                    Exit::Flush => flush(&mut out, &mut current),
                    Exit::Space => current.push(' '),
                    Exit::BlankLine => current.push_str("\n\n"),
                }
            }
            continue;
        };
        match child.value() {
            Node::Text(text) if in_block => current.push_str(text),
            Node::Element(_) => {
                let Some(child) = ElementRef::wrap(child) else {
                    continue;
                };
                if skipped(&child) {
                    continue;
                }
                let name = child.value().name();
                let children = child.children();
                if name == "br" {
                    // A line break inside a paragraph (verse, addresses) starts a new one,
                    // as a line break does in plain text.
                    if whole_body {
                        current.push('\n');
                    } else if in_block {
                        flush(&mut out, &mut current);
                    }
                } else if whole_body {
                    let breaks = BREAKS_WORDS.contains(&name) || BLOCKS.contains(&name);
                    if breaks {
                        current.push_str("\n\n");
                    }
                    let exit = if breaks {
                        Exit::BlankLine
                    } else {
                        Exit::Nothing
                    };
                    stack.push((children, true, exit));
                } else if BLOCKS.contains(&name) {
                    flush(&mut out, &mut current);
                    stack.push((children, true, Exit::Flush));
                } else if BREAKS_WORDS.contains(&name) && in_block {
                    current.push(' ');
                    stack.push((children, true, Exit::Space));
                } else {
                    stack.push((children, in_block, Exit::Nothing));
                }
            }
            _ => {}
        }
    }
    if whole_body {
        return split_on_blank_lines(&current);
    }
    flush(&mut out, &mut current);
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Format, import};
    use super::{MAX_NESTING_COST, nesting_cost};

    fn paragraphs(html: &str) -> Vec<Vec<String>> {
        import(html.as_bytes(), Format::Html, "en")
            .unwrap()
            .paragraphs
    }

    #[test]
    fn furniture_is_dropped_and_title_found() {
        let page = r##"<!doctype html>
<html><head><title>  The  Story &amp; More </title><style>p { color: red }</style></head>
<body>
  <header><p>Site name. Log in.</p></header>
  <nav><ul><li>Home</li><li>About</li></ul></nav>
  <div role="navigation"><p>Skip to content.</p></div>
  <main>
    <h1>The Story</h1>
    <p>It was a dark night.<sup><a href="#fn1">[1]</a></sup> The wind blew.</p>
    <h2>Part two</h2>
    <p>She said &ldquo;hello&rdquo; &mdash; softly.</p>
    <figure><img src="a.png"><figcaption>A picture.</figcaption></figure>
    <table><tr><td><p>Cell text.</p></td></tr></table>
    <blockquote><p>A quoted line.</p></blockquote>
    <ul><li>First item.</li><li>Second <b>bold</b> item.</li></ul>
    <script>document.write("<p>Injected.</p>")</script>
    <div class="footnotes"><ol><li id="fn1">A footnote.</li></ol></div>
    <ol class="references"><li>Cited work.</li></ol>
    <div class="navbox"><p>Related pages.</p></div>
  </main>
  <aside><p>Advert.</p></aside>
  <footer><p>Copyright 2024.</p></footer>
</body></html>"##;
        let text = import(page.as_bytes(), Format::Html, "en").unwrap();
        assert_eq!(text.title.as_deref(), Some("The Story & More"));
        assert_eq!(
            text.paragraphs,
            vec![
                vec!["It was a dark night.", "The wind blew."],
                vec!["Part two"],
                vec!["She said “hello” — softly."],
                vec!["A quoted line."],
                vec!["First item."],
                vec!["Second bold item."],
            ]
        );
    }

    #[test]
    fn title_falls_back_to_h1_then_og_title() {
        let text = import(
            b"<html><body><header><h1>Site logo</h1></header><h1>Heading</h1><p>Text.</p></body></html>",
            Format::Html,
            "en",
        )
        .unwrap();
        assert_eq!(text.title.as_deref(), Some("Heading"));
        let text = import(
            br#"<html><head><meta property="og:title" content="Shared title"></head><body><p>Text.</p></body></html>"#,
            Format::Html,
            "en",
        )
        .unwrap();
        assert_eq!(text.title.as_deref(), Some("Shared title"));
        let text = import(b"<p>Text.</p>", Format::Html, "en").unwrap();
        assert_eq!(text.title, None);
    }

    #[test]
    fn nested_blocks_and_line_breaks() {
        assert_eq!(
            paragraphs(
                "<ul><li>Outer text<ul><li>Inner item.</li></ul></li></ul><p>Line one<br>Line two</p>"
            ),
            vec![
                vec!["Outer text"],
                vec!["Inner item."],
                vec!["Line one"],
                vec!["Line two"]
            ]
        );
        assert_eq!(
            paragraphs("<li><div>Word</div><div>another.</div></li>"),
            vec![vec!["Word another."]]
        );
    }

    #[test]
    fn pages_without_paragraphs_use_the_body() {
        assert_eq!(
            paragraphs(
                "<html><body>First part. Still first.\n \nSecond part.<div>Third.</div><nav>Menu</nav></body></html>"
            ),
            vec![
                vec!["First part.", "Still first."],
                vec!["Second part."],
                vec!["Third."]
            ]
        );
    }

    #[test]
    fn deep_nesting_is_walked_without_recursion() {
        // Deep enough to overflow a small stack if walked recursively, shallow enough for
        // the parser.
        let depth = 3000;
        let page = format!(
            "{}<p>Deep text.</p>{}",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let found = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || paragraphs(&page))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(found, vec![vec!["Deep text."]]);
    }

    #[test]
    fn pathological_nesting_is_refused_before_parsing() {
        let started = std::time::Instant::now();
        for unit in ["<ul><li>x", "<i><div>x", "<div>"] {
            let page = unit.repeat(50_000);
            let error = import(page.as_bytes(), Format::Html, "en").unwrap_err();
            assert_eq!(error.kind(), "too-complex", "{unit}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn nesting_cost_follows_the_tree() {
        assert_eq!(nesting_cost("<div><p>a<p>b</div><div></div>"), 2);
        // Stray end tags close nothing; raw text and comments hold no tags.
        assert_eq!(nesting_cost("<div></x><span></span></div>"), 1);
        assert_eq!(
            nesting_cost("<b><script>'<div><div>'</SCRIPT><!-- <div> --><i></i></b>"),
            1 + 1
        );
        let long_flat = "<div><p>Text <a href=x>link</a>.</p></div>".repeat(100_000);
        assert!(nesting_cost(&long_flat) < MAX_NESTING_COST / 10);
    }

    #[test]
    fn hebrew_wikipedia_style_page() {
        let page = r#"<html><head><title>ירושלים – ויקיפדיה</title></head><body>
<div id="content"><h1>ירושלים</h1>
<p>ירושלים (בערבית: القدس) היא עיר הבירה של ישראל.<sup class="reference"><a>[1]</a></sup> היא עיר עתיקה.</p>
<h2>היסטוריה<span class="mw-editsection">[עריכה]</span></h2>
<div class="mw-references-wrap"><ol class="references"><li>מקור.</li></ol></div>
</div></body></html>"#;
        let text = import(page.as_bytes(), Format::Html, "he").unwrap();
        assert_eq!(text.title.as_deref(), Some("ירושלים – ויקיפדיה"));
        assert_eq!(
            text.paragraphs,
            vec![
                vec!["ירושלים היא עיר הבירה של ישראל.", "היא עיר עתיקה."],
                vec!["היסטוריה"],
            ]
        );
    }
}
