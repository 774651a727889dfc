//! Readable paragraphs of a Markdown document (CommonMark with the usual GitHub
//! extensions: tables, footnotes, strikethrough, task lists, front matter).
//!
//! Hand-written rather than a full CommonMark parser because we only need the words a
//! reader says: code, images, link targets, footnotes, tables and markup go, headings and
//! list items become paragraphs of their own, and everything else is joined the way a
//! renderer would join it (a single line break is a space).

use std::collections::HashSet;

/// The title (front matter `title:` or the first level-1 heading) and the text blocks,
/// before tidying.
pub(super) fn extract(source: &str) -> (Option<String>, Vec<String>) {
    let source = source.replace("\r\n", "\n").replace('\r', "\n");
    let source = strip_comments(&source);
    let mut lines: Vec<&str> = source.lines().collect();

    let mut title = None;
    if let Some((front_title, body_start)) = front_matter(&lines) {
        title = front_title;
        lines.drain(..body_start);
    }

    let labels = reference_labels(&lines);
    let mut parser = Blocks::default();
    for line in lines {
        parser.line(line);
    }
    parser.flush();
    if title.is_none() {
        title = parser.first_h1.map(|heading| inline(&heading, &labels, 0));
    }
    let blocks = parser
        .out
        .iter()
        .map(|block| inline(block, &labels, 0))
        .collect();
    (title, blocks)
}

/// HTML comments may span lines, so they go before lines are looked at.
fn strip_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// YAML front matter (`---` … `---`): its `title:` and the index of the first body line.
fn front_matter(lines: &[&str]) -> Option<(Option<String>, usize)> {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return None;
    }
    let end = lines
        .iter()
        .skip(1)
        .position(|l| matches!(l.trim_end(), "---" | "..."))?
        + 1;
    let title = lines[1..end].iter().find_map(|line| {
        let value = line.strip_prefix("title:")?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    });
    Some((title, end + 1))
}

/// Labels of link reference definitions (`[label]: url`), so `[label]` alone keeps its
/// text as a link instead of being dropped as a bracketed aside.
fn reference_labels(lines: &[&str]) -> HashSet<String> {
    lines
        .iter()
        .filter_map(|line| reference_definition(line))
        .map(|label| label.to_lowercase())
        .collect()
}

/// `[label]: target` → `label`; footnote definitions (`[^1]:`) are not link definitions.
fn reference_definition(line: &str) -> Option<&str> {
    let rest = indent_at_most(line, 3)?.strip_prefix('[')?;
    if rest.starts_with('^') {
        return None;
    }
    let (label, after) = rest.split_once("]:")?;
    (!label.is_empty() && !after.trim().is_empty()).then_some(label)
}

/// The line without up to `max` leading spaces, or None when it is indented more.
fn indent_at_most(line: &str, max: usize) -> Option<&str> {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    (spaces <= max && !line.starts_with('\t')).then(|| &line[spaces..])
}

fn is_footnote_definition(line: &str) -> bool {
    indent_at_most(line, 3).is_some_and(|rest| {
        rest.strip_prefix("[^")
            .and_then(|r| r.split_once("]:"))
            .is_some_and(|(label, _)| !label.is_empty())
    })
}

/// A fence opening or closing a code block: its character and length.
fn fence(line: &str) -> Option<(char, usize)> {
    let rest = indent_at_most(line, 3)?;
    let c = rest.chars().next().filter(|&c| c == '`' || c == '~')?;
    let len = rest.chars().take_while(|&x| x == c).count();
    (len >= 3).then_some((c, len))
}

fn atx_heading(line: &str) -> Option<(usize, &str)> {
    let rest = indent_at_most(line, 3)?;
    let level = rest.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let text = &rest[level..];
    if !text.is_empty() && !text.starts_with([' ', '\t']) {
        return None;
    }
    // Closing hashes ("## Title ##") are decoration.
    let text = text.trim();
    let text = match text.trim_end_matches('#') {
        stripped if stripped.is_empty() || stripped.ends_with([' ', '\t']) => stripped.trim_end(),
        _ => text,
    };
    Some((level, text))
}

fn is_thematic_break(line: &str) -> bool {
    let Some(rest) = indent_at_most(line, 3) else {
        return false;
    };
    let marks: Vec<char> = rest.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3 && matches!(marks[0], '-' | '*' | '_') && marks.iter().all(|&c| c == marks[0])
}

/// `===` or `---` under a paragraph: the paragraph is a heading.
fn setext_underline(line: &str) -> Option<usize> {
    let rest = indent_at_most(line, 3)?.trim_end();
    if !rest.is_empty() && rest.chars().all(|c| c == '=') {
        Some(1)
    } else if !rest.is_empty() && rest.chars().all(|c| c == '-') {
        Some(2)
    } else {
        None
    }
}

/// A table's delimiter row (`| --- | :-: |`).
fn is_table_delimiter(line: &str) -> bool {
    let line = line.trim();
    line.contains('-')
        && (line.contains('|') || line.contains(':'))
        && line
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

/// A list item's content, without its marker (`- `, `* `, `+ `, `1. `, `1) `).
fn list_item(line: &str) -> Option<&str> {
    let rest = line.trim_start();
    let marker_len = if rest.starts_with(['-', '*', '+']) {
        1
    } else {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if !(1..=9).contains(&digits) || !rest[digits..].starts_with(['.', ')']) {
            return None;
        }
        digits + 1
    };
    let after = &rest[marker_len..];
    if after.is_empty() {
        return Some("");
    }
    after.starts_with([' ', '\t']).then(|| after.trim_start())
}

#[derive(Default)]
struct Blocks {
    out: Vec<String>,
    current: String,
    first_h1: Option<String>,
    fence: Option<(char, usize)>,
    /// Inside an HTML `<script>` or `<style>` block, until its closing tag.
    raw_html_end: Option<&'static str>,
    in_table: bool,
    in_footnote: bool,
    footnote_blank: bool,
    previous_blank: bool,
    in_list: bool,
    quote_depth: usize,
}

impl Blocks {
    fn flush(&mut self) {
        let block = self.current.trim();
        if !block.is_empty() {
            self.out.push(block.to_owned());
        }
        self.current.clear();
    }

    fn push_text(&mut self, text: &str) {
        if !self.current.is_empty() {
            self.current.push(' ');
        }
        self.current.push_str(text.trim());
    }

    fn heading(&mut self, level: usize, text: &str) {
        self.flush();
        if level == 1 && self.first_h1.is_none() && !text.trim().is_empty() {
            self.first_h1 = Some(text.trim().to_owned());
        }
        self.current.push_str(text);
        self.flush();
    }

    fn line(&mut self, raw: &str) {
        if let Some((c, len)) = self.fence {
            if fence(raw).is_some_and(|(d, n)| d == c && n >= len) {
                self.fence = None;
            }
            return;
        }
        if let Some(end) = self.raw_html_end {
            if raw.to_ascii_lowercase().contains(end) {
                self.raw_html_end = None;
            }
            return;
        }
        let blank = raw.trim().is_empty();
        if self.in_footnote {
            // A footnote runs on through indented lines and lazy continuations.
            let indented = raw.starts_with("    ") || raw.starts_with('\t');
            if blank {
                self.footnote_blank = true;
                return;
            }
            if indented || !self.footnote_blank {
                return;
            }
            self.in_footnote = false;
        }
        if blank {
            self.flush();
            self.in_table = false;
            self.previous_blank = true;
            return;
        }
        let was_blank = std::mem::replace(&mut self.previous_blank, false);
        if self.in_table {
            return;
        }

        // Indented code, unless it continues a list item.
        if (raw.starts_with("    ") || raw.starts_with('\t'))
            && self.current.is_empty()
            && !self.in_list
            && (was_blank || self.out.is_empty())
        {
            return;
        }

        // Block quotes: the content is ordinary text; a change of depth ends a paragraph.
        let mut line = raw;
        let mut depth = 0;
        while let Some(rest) = indent_at_most(line, 3).and_then(|l| l.strip_prefix('>')) {
            depth += 1;
            line = rest.strip_prefix(' ').unwrap_or(rest);
        }
        if depth != self.quote_depth {
            self.flush();
            self.quote_depth = depth;
        }
        if line.trim().is_empty() {
            self.flush();
            return;
        }

        if let Some(f) = fence(line) {
            self.flush();
            self.fence = Some(f);
            return;
        }
        let lower = line.trim_start().to_ascii_lowercase();
        for (open, close) in [("<script", "</script>"), ("<style", "</style>")] {
            if lower.starts_with(open) {
                self.flush();
                if !lower.contains(close) {
                    self.raw_html_end = Some(close);
                }
                return;
            }
        }
        if is_footnote_definition(line) {
            self.flush();
            self.in_footnote = true;
            self.footnote_blank = false;
            return;
        }
        if reference_definition(line).is_some() {
            self.flush();
            return;
        }
        if let Some((level, text)) = atx_heading(line) {
            self.in_list = false;
            self.heading(level, text);
            return;
        }
        if !self.current.is_empty() && is_table_delimiter(line) {
            // The paragraph so far was the table's header row.
            self.current.clear();
            self.in_table = true;
            return;
        }
        if !self.current.is_empty()
            && let Some(level) = setext_underline(line)
        {
            let text = std::mem::take(&mut self.current);
            self.heading(level, &text);
            return;
        }
        if is_thematic_break(line) {
            self.flush();
            self.in_list = false;
            return;
        }
        if let Some(content) = list_item(line) {
            self.flush();
            self.in_list = true;
            self.push_text(content);
            return;
        }
        if was_blank && self.in_list && !(line.starts_with("  ") || line.starts_with('\t')) {
            self.in_list = false;
        }
        // Two trailing spaces or a backslash are a hard line break, which reads like a
        // new paragraph (verse), as a line break does in plain text.
        let hard_break = line.ends_with("  ") || line.trim_end().ends_with('\\');
        let text = line
            .trim_end()
            .strip_suffix('\\')
            .unwrap_or(line.trim_end());
        self.push_text(text);
        if hard_break {
            self.flush();
        }
    }
}

/// Longest code span looked for; an unclosed backtick then costs a bounded scan instead
/// of one to the end of the paragraph.
const MAX_SPAN: usize = 4000;

/// Links inside link text are unusual past two levels; the bound keeps `[[[[…]]]]` from
/// recursing as deep as the brackets go.
const MAX_LINK_DEPTH: usize = 8;

/// The words of inline Markdown: link text without targets, no images, footnote
/// references, code spans' backticks, emphasis or strikethrough markers.
fn inline(text: &str, labels: &HashSet<String>, depth: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let pairs = Pairs::new(&chars);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) => {
                out.push(chars[i + 1]);
                i += 2;
            }
            '`' => {
                let run = chars[i..].iter().take_while(|&&x| x == '`').count();
                match find_run(&chars, i + run, '`', run) {
                    Some(end) => {
                        let code: String = chars[i + run..end].iter().collect();
                        out.push_str(code.trim());
                        i = end + run;
                    }
                    None => {
                        out.extend(&chars[i..i + run]);
                        i += run;
                    }
                }
            }
            '!' if chars.get(i + 1) == Some(&'[') => match link(&chars, &pairs, i + 1) {
                Some((_, end)) => i = end,
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            '[' if chars.get(i + 1) == Some(&'^') => match pairs.closing(i) {
                Some(close) => i = close + 1,
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            '[' => match link(&chars, &pairs, i) {
                Some((label, end)) => {
                    let label_text: String = chars[label.0..label.1].iter().collect();
                    let is_link = end > label.1 + 1 || labels.contains(&label_text.to_lowercase());
                    if is_link && depth < MAX_LINK_DEPTH {
                        out.push_str(&inline(&label_text, labels, depth + 1));
                    } else if is_link {
                        out.push_str(&label_text);
                    } else {
                        // A bracketed aside; tidying removes it with the others.
                        out.push('[');
                        out.push_str(&label_text);
                        out.push(']');
                    }
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            '*' | '_' | '~' => {
                let run = chars[i..].iter().take_while(|&&x| x == c).count();
                let before = if i == 0 { ' ' } else { chars[i - 1] };
                let after = chars.get(i + run).copied().unwrap_or(' ');
                let markup = match c {
                    // "2 * 3" is arithmetic, not emphasis.
                    '*' => !(before.is_whitespace() && after.is_whitespace()),
                    // snake_case words keep their underscores.
                    '_' => {
                        let spaced = before.is_whitespace() && after.is_whitespace();
                        let intraword = before.is_alphanumeric() && after.is_alphanumeric();
                        !(spaced || intraword)
                    }
                    // "~5 km" is approximate; "~~gone~~" is struck through.
                    _ => run >= 2,
                };
                if !markup {
                    out.extend(&chars[i..i + run]);
                }
                i += run;
            }
            '&' => match entity(&chars, i) {
                Some((decoded, end)) => {
                    out.push(decoded);
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The index of the next run of exactly `len` `c`s from `from`.
fn find_run(chars: &[char], from: usize, c: char, len: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len().min(from + MAX_SPAN) {
        if chars[i] == c {
            let run = chars[i..].iter().take_while(|&&x| x == c).count();
            if run == len {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// For every `[` and `(`, the index of the bracket closing it (with nesting and
/// backslash escapes), found in one pass so unclosed brackets cost nothing extra.
struct Pairs {
    close: Vec<Option<usize>>,
}

impl Pairs {
    fn new(chars: &[char]) -> Pairs {
        let mut close = vec![None; chars.len()];
        let mut square = Vec::new();
        let mut round = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 1,
                '[' => square.push(i),
                '(' => round.push(i),
                ']' => {
                    if let Some(open) = square.pop() {
                        close[open] = Some(i);
                    }
                }
                ')' => {
                    if let Some(open) = round.pop() {
                        close[open] = Some(i);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Pairs { close }
    }

    fn closing(&self, open: usize) -> Option<usize> {
        self.close.get(open).copied().flatten()
    }
}

/// A link or image starting with `[` at `open`: the label's range and the index after
/// the whole construct (`[text](target)`, `[text][ref]`, `[text][]` or `[text]`).
fn link(chars: &[char], pairs: &Pairs, open: usize) -> Option<((usize, usize), usize)> {
    let close = pairs.closing(open)?;
    let label = (open + 1, close);
    match chars.get(close + 1) {
        Some('(' | '[') => {
            let end = pairs.closing(close + 1)?;
            Some((label, end + 1))
        }
        _ => Some((label, close + 1)),
    }
}

/// The character references a Markdown writer is likely to type.
fn entity(chars: &[char], at: usize) -> Option<(char, usize)> {
    let end = chars[at..].iter().take(12).position(|&c| c == ';')? + at;
    let name: String = chars[at + 1..end].iter().collect();
    let decoded = match name.as_str() {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{A0}',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|&c| c != '\0')?
        }
    };
    Some((decoded, end + 1))
}

#[cfg(test)]
mod tests {
    use super::super::{Format, import};
    use super::*;

    fn blocks(source: &str) -> Vec<String> {
        extract(source).1
    }

    fn paragraphs(source: &str, lang: &str) -> Vec<Vec<String>> {
        import(source.as_bytes(), Format::Markdown, lang)
            .unwrap()
            .paragraphs
    }

    #[test]
    fn headings_are_paragraphs_without_hashes() {
        let (title, found) =
            extract("# The Title #\n\nText here.\n\nSub heading\n-----------\n\n### Third ###\n");
        assert_eq!(title.as_deref(), Some("The Title"));
        assert_eq!(
            found,
            vec!["The Title", "Text here.", "Sub heading", "Third"]
        );
        assert_eq!(blocks("#hashtag is text"), vec!["#hashtag is text"]);
    }

    #[test]
    fn front_matter_title_wins() {
        let (title, found) =
            extract("---\ntitle: \"From YAML\"\nauthor: x\n---\n# Heading\n\nBody.\n");
        assert_eq!(title.as_deref(), Some("From YAML"));
        assert_eq!(found, vec!["Heading", "Body."]);
    }

    #[test]
    fn code_is_dropped() {
        let source = "Intro line.\n\n```rust\nfn main() {}\n```\n\n    indented code\n\n~~~\nmore\n~~~\nRun `ls -l` now.\n";
        assert_eq!(blocks(source), vec!["Intro line.", "Run ls -l now."]);
    }

    #[test]
    fn links_images_and_emphasis() {
        let source = "See [the *docs*](https://example.com/x_(y)) and ![logo](logo.png) \
                      a [ref link][r] or [Wiki], **bold**, __strong__, _it_, ~~old~~ \
                      snake_case, 2 * 3, ~5 km, \\*literal\\* &amp; <b>tag</b> <https://x.y>.\n\n\
                      [r]: https://example.com\n[wiki]: https://wiki.example\n";
        assert_eq!(
            paragraphs(source, "en"),
            vec![vec![
                "See the docs and a ref link or Wiki, bold, strong, it, old snake_case, 2 * 3, ~5 km, *literal* & tag."
            ]]
        );
    }

    #[test]
    fn footnotes_are_dropped() {
        let source = "A claim.[^1] Another.[^note]\n\n[^1]: The source.\n    More source.\n\n[^note]: Note\nlazy line.\n\nBack to text.\n";
        assert_eq!(
            paragraphs(source, "en"),
            vec![vec!["A claim.", "Another."], vec!["Back to text."]]
        );
    }

    #[test]
    fn lists_quotes_tables_and_html() {
        let source = "- first item\n- second\n  continued\n1. numbered\n2) other\n* [x] done task\n\n\
                      > quoted text\n> goes on\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\nAfter table.\n\n\
                      <div class=\"x\">\nInside html.\n</div>\n<script>\nalert(1)\n</script>\n\n***\n\nEnd.\n";
        assert_eq!(
            blocks(source),
            vec![
                "first item",
                "second continued",
                "numbered",
                "other",
                "[x] done task",
                "quoted text goes on",
                "After table.",
                "<div class=\"x\"> Inside html. </div>",
                "End.",
            ]
        );
        assert_eq!(
            paragraphs(source, "en")[4..6],
            [
                vec!["done task".to_owned()],
                vec!["quoted text goes on".to_owned()]
            ]
        );
        assert_eq!(paragraphs(source, "en")[7], vec!["Inside html."]);
    }

    #[test]
    fn hard_breaks_split_verse() {
        assert_eq!(
            blocks("Line one  \nLine two\\\nLine three\n"),
            vec!["Line one", "Line two", "Line three"]
        );
    }

    #[test]
    fn hebrew_markdown() {
        let source =
            "# כותרת\n\nזה **טקסט** בעברית (עם הערה).[^1] עוד משפט.\n\n[^1]: הערת שוליים.\n";
        let text = import(source.as_bytes(), Format::Markdown, "he").unwrap();
        assert_eq!(text.title.as_deref(), Some("כותרת"));
        assert_eq!(
            text.paragraphs,
            vec![vec!["כותרת"], vec!["זה טקסט בעברית.", "עוד משפט."]]
        );
    }

    #[test]
    fn deep_brackets_do_not_overflow_the_stack() {
        let depth = 100_000;
        let source = format!("{}x{}(y) end.", "[".repeat(depth), "]".repeat(depth));
        let found = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || extract(&source).1)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn comments_are_dropped() {
        assert_eq!(
            paragraphs("Before <!-- a\nmulti-line comment --> after.\n", "en"),
            vec![vec!["Before after."]]
        );
    }
}
