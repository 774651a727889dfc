//! The notes document as Markdown and as HTML. The document is y-prosemirror's mapping
//! of a ProseMirror document: an `XmlFragment` ([`super::FRAGMENT`]) whose elements are
//! nodes named as in `assets/meetings-notes.js`'s schema (their attributes the node's
//! attributes) and whose texts carry the marks as formatting attributes. It is read into
//! [`Block`]s once and each format renders those.

use minijinja::HtmlEscape;
use yrs::types::Attrs;
use yrs::{
    Any, Doc, Out, ReadTxn, Text as _, Transact as _, Xml as _, XmlElementRef, XmlFragment, XmlOut,
    XmlTextRef,
};

/// A block of the document, as both exports see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    Quote(Vec<Block>),
    Code(String),
    Rule,
    /// Items of a bullet list, each its blocks.
    Bullets(Vec<Vec<Block>>),
    /// The first number and the items of an ordered list.
    Numbered(u64, Vec<Vec<Block>>),
    /// Checklist items: done or not, and their blocks.
    Tasks(Vec<(bool, Vec<Block>)>),
    /// Rows of cells.
    Table(Vec<Vec<Cell>>),
}

/// A table cell: header or not, its span, its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub header: bool,
    pub colspan: u64,
    pub rowspan: u64,
    pub blocks: Vec<Block>,
}

/// A run of text with its marks, or a hard line break.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String, Marks),
    Break,
}

/// The marks on a run of text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    pub strong: bool,
    pub em: bool,
    pub code: bool,
    pub highlight: bool,
    pub strike: bool,
    /// `(href, title)`.
    pub link: Option<(String, Option<String>)>,
}

/// The document's blocks, top to bottom.
pub fn blocks(doc: &Doc) -> Vec<Block> {
    let txn = doc.transact();
    match txn.get_xml_fragment(super::FRAGMENT) {
        Some(root) => read_blocks(&txn, root.children(&txn)),
        None => Vec::new(),
    }
}

/// GitHub-flavoured Markdown: `- [ ]` checklists, pipe tables, `<mark>` for highlight.
pub fn markdown(doc: &Doc) -> String {
    let mut out = blocks_md(&blocks(doc), false);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// An HTML fragment (no page around it), every text and attribute escaped.
pub fn html(doc: &Doc) -> String {
    let mut out = String::new();
    blocks_html(&blocks(doc), &mut out);
    out
}

// ---- reading the Yjs document ----

fn read_blocks<T: ReadTxn>(txn: &T, children: impl Iterator<Item = XmlOut>) -> Vec<Block> {
    let mut out = Vec::new();
    for child in children {
        match child {
            XmlOut::Element(el) => read_element(txn, &el, &mut out),
            XmlOut::Text(text) => out.push(Block::Paragraph(read_text(txn, &text))),
            XmlOut::Fragment(f) => out.extend(read_blocks(txn, f.children(txn))),
        }
    }
    out
}

fn read_element<T: ReadTxn>(txn: &T, el: &XmlElementRef, out: &mut Vec<Block>) {
    let items = |txn: &T| -> Vec<Vec<Block>> {
        el.children(txn)
            .map(|c| match c {
                XmlOut::Element(item) => read_blocks(txn, item.children(txn)),
                other => read_blocks(txn, std::iter::once(other)),
            })
            .collect()
    };
    match el.tag().as_ref() {
        "paragraph" => out.push(Block::Paragraph(read_inlines(txn, el))),
        "heading" => {
            let level = attr_number(txn, el, "level").unwrap_or(1.0).clamp(1.0, 6.0) as u8;
            out.push(Block::Heading(level, read_inlines(txn, el)));
        }
        "blockquote" => out.push(Block::Quote(read_blocks(txn, el.children(txn)))),
        "code_block" => out.push(Block::Code(plain_text(txn, el))),
        "horizontal_rule" => out.push(Block::Rule),
        "bullet_list" => out.push(Block::Bullets(items(txn))),
        "ordered_list" => {
            let start = attr_number(txn, el, "order").unwrap_or(1.0).max(0.0) as u64;
            out.push(Block::Numbered(start, items(txn)));
        }
        "task_list" => {
            let tasks = el
                .children(txn)
                .filter_map(|c| match c {
                    XmlOut::Element(item) => Some((
                        attr_bool(txn, &item, "checked"),
                        read_blocks(txn, item.children(txn)),
                    )),
                    _ => None,
                })
                .collect();
            out.push(Block::Tasks(tasks));
        }
        "task_item" => out.push(Block::Tasks(vec![(
            attr_bool(txn, el, "checked"),
            read_blocks(txn, el.children(txn)),
        )])),
        "table" => {
            let rows = el
                .children(txn)
                .filter_map(|row| match row {
                    XmlOut::Element(row) => Some(read_row(txn, &row)),
                    _ => None,
                })
                .collect();
            out.push(Block::Table(rows));
        }
        // A node this export does not know: keep its text, as a paragraph when it holds
        // text directly, else as the blocks inside it.
        _ => {
            if el.children(txn).any(|c| matches!(c, XmlOut::Text(_))) {
                out.push(Block::Paragraph(read_inlines(txn, el)));
            } else {
                out.extend(read_blocks(txn, el.children(txn)));
            }
        }
    }
}

fn read_row<T: ReadTxn>(txn: &T, row: &XmlElementRef) -> Vec<Cell> {
    row.children(txn)
        .filter_map(|cell| match cell {
            XmlOut::Element(cell) => Some(Cell {
                header: cell.tag().as_ref() == "table_header",
                colspan: attr_number(txn, &cell, "colspan").unwrap_or(1.0).max(1.0) as u64,
                rowspan: attr_number(txn, &cell, "rowspan").unwrap_or(1.0).max(1.0) as u64,
                blocks: read_blocks(txn, cell.children(txn)),
            }),
            _ => None,
        })
        .collect()
}

fn read_inlines<T: ReadTxn>(txn: &T, el: &XmlElementRef) -> Vec<Inline> {
    let mut out = Vec::new();
    for child in el.children(txn) {
        match child {
            XmlOut::Text(text) => out.extend(read_text(txn, &text)),
            XmlOut::Element(inner) if inner.tag().as_ref() == "hard_break" => {
                out.push(Inline::Break)
            }
            XmlOut::Element(inner) => {
                let text = plain_text(txn, &inner);
                if !text.is_empty() {
                    out.push(Inline::Text(text, Marks::default()));
                }
            }
            XmlOut::Fragment(_) => {}
        }
    }
    out
}

fn read_text<T: ReadTxn>(txn: &T, text: &XmlTextRef) -> Vec<Inline> {
    text.diff(txn, |_| ())
        .into_iter()
        .filter_map(|d| match d.insert {
            Out::Any(Any::String(s)) => {
                Some(Inline::Text(s.to_string(), marks(d.attributes.as_deref())))
            }
            _ => None,
        })
        .collect()
}

fn marks(attrs: Option<&Attrs>) -> Marks {
    let mut marks = Marks::default();
    for (name, value) in attrs.into_iter().flatten() {
        // y-prosemirror names a mark that may overlap itself `name--hash`.
        let name = name.split("--").next().unwrap_or_default();
        match name {
            "strong" | "bold" => marks.strong = true,
            "em" | "italic" => marks.em = true,
            "code" => marks.code = true,
            "highlight" | "mark" => marks.highlight = true,
            "strike" | "strikethrough" => marks.strike = true,
            "link" => {
                let field = |key: &str| match value {
                    Any::Map(m) => match m.get(key) {
                        Some(Any::String(s)) if !s.is_empty() => Some(s.to_string()),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(href) = field("href") {
                    marks.link = Some((href, field("title")));
                }
            }
            _ => {}
        }
    }
    marks
}

fn plain_text<T: ReadTxn>(txn: &T, el: &XmlElementRef) -> String {
    let mut out = String::new();
    for child in el.children(txn) {
        match child {
            XmlOut::Text(text) => {
                for inline in read_text(txn, &text) {
                    if let Inline::Text(s, _) = inline {
                        out.push_str(&s);
                    }
                }
            }
            XmlOut::Element(inner) if inner.tag().as_ref() == "hard_break" => out.push('\n'),
            XmlOut::Element(inner) => out.push_str(&plain_text(txn, &inner)),
            XmlOut::Fragment(_) => {}
        }
    }
    out
}

fn attr_number<T: ReadTxn>(txn: &T, el: &XmlElementRef, name: &str) -> Option<f64> {
    match el.get_attribute(txn, name)? {
        Out::Any(Any::Number(n)) => Some(match n {
            yrs::any::Number::Int(i) => i as f64,
            yrs::any::Number::Float(f) => f,
        }),
        Out::Any(Any::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

fn attr_bool<T: ReadTxn>(txn: &T, el: &XmlElementRef, name: &str) -> bool {
    match el.get_attribute(txn, name) {
        Some(Out::Any(Any::Bool(b))) => b,
        Some(Out::Any(Any::String(s))) => &*s == "true",
        _ => false,
    }
}

// ---- Markdown ----

fn blocks_md(blocks: &[Block], tight: bool) -> String {
    let mut out = String::new();
    let mut previous_was_list = false;
    // Two lists in a row with the same marker would read as one list, so a list right
    // after another takes the other marker.
    let mut previous_marker = ' ';
    for block in blocks {
        let marker = match (block, previous_marker) {
            (Block::Bullets(_) | Block::Tasks(_), '-') => '*',
            (Block::Bullets(_) | Block::Tasks(_), _) => '-',
            (Block::Numbered(..), '.') => ')',
            (Block::Numbered(..), _) => '.',
            _ => ' ',
        };
        let text = block_md(block, marker);
        if text.is_empty() {
            continue;
        }
        previous_marker = marker;
        let is_list = marker != ' ';
        if !out.is_empty() {
            // In a list item a nested list follows its paragraph directly; two lists in a
            // row need a blank line or they would read as one.
            let blank = !(tight && is_list && !previous_was_list);
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        out.push_str(&text);
        previous_was_list = is_list;
    }
    out
}

/// One block; `marker` is a bullet list's bullet (`-` or `*`) or an ordered list's
/// delimiter (`.` or `)`).
fn block_md(block: &Block, marker: char) -> String {
    match block {
        Block::Paragraph(inlines) => inlines_md(inlines, false),
        Block::Heading(level, inlines) => {
            let text = inlines_md(inlines, false);
            if text.is_empty() {
                String::new()
            } else {
                format!("{} {text}", "#".repeat(*level as usize))
            }
        }
        Block::Quote(blocks) => blocks_md(blocks, false)
            .lines()
            .map(|l| {
                if l.is_empty() {
                    ">".into()
                } else {
                    format!("> {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Code(code) => {
            let fence = "`".repeat(longest_run(code, '`').max(2) + 1);
            format!("{fence}\n{code}\n{fence}")
        }
        Block::Rule => "---".into(),
        Block::Bullets(items) => list_md(items.iter().map(|b| (format!("{marker} "), b))),
        Block::Numbered(start, items) => list_md(
            items
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("{}{marker} ", start + i as u64), b)),
        ),
        Block::Tasks(items) => list_md(items.iter().map(|(done, b)| {
            let check = if *done { 'x' } else { ' ' };
            (format!("{marker} [{check}] "), b)
        })),
        Block::Table(rows) => table_md(rows),
    }
}

fn list_md<'a>(items: impl Iterator<Item = (String, &'a Vec<Block>)>) -> String {
    items
        .map(|(marker, blocks)| {
            // Continuation lines line up under the item's text (a checkbox is part of it).
            let width = marker
                .trim_end_matches("[ ] ")
                .trim_end_matches("[x] ")
                .len();
            let body = blocks_md(blocks, true);
            let mut lines = body.lines();
            let mut item = format!("{marker}{}", lines.next().unwrap_or_default())
                .trim_end()
                .to_string();
            for line in lines {
                item.push('\n');
                if !line.is_empty() {
                    item.push_str(&" ".repeat(width));
                    item.push_str(line);
                }
            }
            item
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn table_md(rows: &[Vec<Cell>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    if columns == 0 {
        return String::new();
    }
    let row_md = |row: &[Cell]| {
        let mut cells: Vec<String> = row.iter().map(cell_md).collect();
        cells.resize(columns, String::new());
        format!("| {} |", cells.join(" | "))
    };
    let mut out = vec![row_md(&rows[0])];
    out.push(format!("|{}", " --- |".repeat(columns)));
    out.extend(rows[1..].iter().map(|r| row_md(r)));
    out.join("\n")
}

/// A table cell on one line: its paragraphs joined by line breaks.
fn cell_md(cell: &Cell) -> String {
    let mut parts = Vec::new();
    flatten_inlines(&cell.blocks, &mut parts);
    parts
        .iter()
        .map(|inlines| inlines_md(inlines, true))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("<br>")
}

fn flatten_inlines<'a>(blocks: &'a [Block], out: &mut Vec<&'a [Inline]>) {
    for block in blocks {
        match block {
            Block::Paragraph(i) | Block::Heading(_, i) => out.push(i),
            Block::Quote(b) => flatten_inlines(b, out),
            Block::Bullets(items) | Block::Numbered(_, items) => {
                items.iter().for_each(|b| flatten_inlines(b, out))
            }
            Block::Tasks(items) => items.iter().for_each(|(_, b)| flatten_inlines(b, out)),
            Block::Table(rows) => rows
                .iter()
                .flatten()
                .for_each(|c| flatten_inlines(&c.blocks, out)),
            Block::Code(_) | Block::Rule => {}
        }
    }
}

/// Marks that nest, outermost first; code is put around each run on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nest {
    Link,
    Strong,
    Em,
    Highlight,
    Strike,
}

fn nests(marks: &Marks) -> Vec<Nest> {
    let mut out = Vec::new();
    if marks.link.is_some() {
        out.push(Nest::Link);
    }
    for (on, n) in [
        (marks.strong, Nest::Strong),
        (marks.em, Nest::Em),
        (marks.highlight, Nest::Highlight),
        (marks.strike, Nest::Strike),
    ] {
        if on {
            out.push(n);
        }
    }
    out
}

/// Opens and closes marks between runs so they nest properly (`**a *b***`), keeping
/// the whitespace at a run's edges outside its markers, where Markdown needs it.
fn inlines_md(inlines: &[Inline], in_table: bool) -> String {
    let mut out = String::new();
    let mut open: Vec<Nest> = Vec::new();
    let mut link: Option<&(String, Option<String>)> = None;
    let mut pending_space = String::new();
    let mut line_start = true;
    let close_md = |n: Nest, link: Option<&(String, Option<String>)>| match n {
        Nest::Link => match link {
            Some((href, title)) => format!("]({}{})", md_href(href), md_title(title)),
            None => "]()".into(),
        },
        Nest::Strong => "**".into(),
        Nest::Em => "*".into(),
        Nest::Highlight => "</mark>".into(),
        Nest::Strike => "~~".into(),
    };
    for inline in inlines {
        let (text, marks) = match inline {
            Inline::Break => {
                for n in open.drain(..).rev() {
                    out.push_str(&close_md(n, link));
                }
                pending_space.clear();
                out.push_str(if in_table { "<br>" } else { "\\\n" });
                line_start = true;
                continue;
            }
            Inline::Text(text, marks) if !text.is_empty() => (text, marks),
            Inline::Text(..) => continue,
        };
        let text = text.replace('\n', " ");
        let wanted = nests(marks);
        // Close from the first mark that differs (a different link counts as different).
        let keep = open
            .iter()
            .zip(&wanted)
            .take_while(|(a, b)| a == b && (**a != Nest::Link || link == marks.link.as_ref()))
            .count();
        for n in open.drain(keep..).rev() {
            out.push_str(&close_md(n, link));
        }
        out.push_str(&pending_space);
        pending_space.clear();
        let core = text.trim_end();
        pending_space.push_str(&text[core.len()..]);
        let trimmed = core.trim_start();
        let lead = &core[..core.len() - trimmed.len()];
        if !(line_start && out.is_empty()) {
            out.push_str(lead);
        }
        if trimmed.is_empty() {
            continue;
        }
        for n in &wanted[keep..] {
            out.push_str(match n {
                Nest::Link => "[",
                Nest::Strong => "**",
                Nest::Em => "*",
                Nest::Highlight => "<mark>",
                Nest::Strike => "~~",
            });
            open.push(*n);
        }
        link = marks.link.as_ref();
        if marks.code {
            let fence = "`".repeat(longest_run(trimmed, '`') + 1);
            let pad = if trimmed.starts_with('`') || trimmed.ends_with('`') {
                " "
            } else {
                ""
            };
            out.push_str(&format!("{fence}{pad}{trimmed}{pad}{fence}"));
        } else {
            out.push_str(&escape_md(trimmed, line_start));
        }
        line_start = false;
    }
    for n in open.drain(..).rev() {
        out.push_str(&close_md(n, link));
    }
    out
}

/// Backslashes what Markdown would read as markup: the inline punctuation anywhere, and
/// at the start of a line what would begin a heading, list or rule.
fn escape_md(text: &str, line_start: bool) -> String {
    let mut out = String::with_capacity(text.len());
    if line_start {
        let digits = text.chars().take_while(char::is_ascii_digit).count();
        let rest = &text[digits..];
        if digits > 0 && (rest.starts_with('.') || rest.starts_with(')')) {
            out.push_str(&text[..digits]);
            out.push('\\');
            return out + &escape_md(rest, false);
        }
        if text.starts_with(['#', '-', '+', '=']) {
            out.push('\\');
        }
    }
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '|' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_href(href: &str) -> String {
    let href = href.replace('<', "%3C").replace('>', "%3E");
    if href.contains([' ', '(', ')']) {
        format!("<{href}>")
    } else {
        href
    }
}

fn md_title(title: &Option<String>) -> String {
    match title {
        Some(t) => format!(" \"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")),
        None => String::new(),
    }
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

// ---- HTML ----

fn blocks_html(blocks: &[Block], out: &mut String) {
    for block in blocks {
        block_html(block, out);
    }
}

fn block_html(block: &Block, out: &mut String) {
    match block {
        Block::Paragraph(inlines) => {
            out.push_str("<p>");
            inlines_html(inlines, out);
            out.push_str("</p>\n");
        }
        Block::Heading(level, inlines) => {
            out.push_str(&format!("<h{level}>"));
            inlines_html(inlines, out);
            out.push_str(&format!("</h{level}>\n"));
        }
        Block::Quote(blocks) => {
            out.push_str("<blockquote>\n");
            blocks_html(blocks, out);
            out.push_str("</blockquote>\n");
        }
        Block::Code(code) => {
            out.push_str(&format!("<pre><code>{}</code></pre>\n", HtmlEscape(code)));
        }
        Block::Rule => out.push_str("<hr>\n"),
        Block::Bullets(items) => {
            out.push_str("<ul>\n");
            for item in items {
                out.push_str("<li>");
                blocks_html(item, out);
                out.push_str("</li>\n");
            }
            out.push_str("</ul>\n");
        }
        Block::Numbered(start, items) => {
            if *start == 1 {
                out.push_str("<ol>\n");
            } else {
                out.push_str(&format!("<ol start=\"{start}\">\n"));
            }
            for item in items {
                out.push_str("<li>");
                blocks_html(item, out);
                out.push_str("</li>\n");
            }
            out.push_str("</ol>\n");
        }
        Block::Tasks(items) => {
            out.push_str("<ul class=\"checklist\">\n");
            for (done, item) in items {
                let checked = if *done { " checked" } else { "" };
                out.push_str(&format!(
                    "<li class=\"checklist-item\"><input type=\"checkbox\" disabled{checked}> "
                ));
                blocks_html(item, out);
                out.push_str("</li>\n");
            }
            out.push_str("</ul>\n");
        }
        Block::Table(rows) => {
            out.push_str("<table>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    let tag = if cell.header { "th" } else { "td" };
                    out.push('<');
                    out.push_str(tag);
                    if cell.colspan > 1 {
                        out.push_str(&format!(" colspan=\"{}\"", cell.colspan));
                    }
                    if cell.rowspan > 1 {
                        out.push_str(&format!(" rowspan=\"{}\"", cell.rowspan));
                    }
                    out.push('>');
                    blocks_html(&cell.blocks, out);
                    out.push_str(&format!("</{tag}>"));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
    }
}

fn inlines_html(inlines: &[Inline], out: &mut String) {
    let mut open: Vec<Nest> = Vec::new();
    let mut link: Option<&(String, Option<String>)> = None;
    let close = |n: Nest| match n {
        Nest::Link => "</a>",
        Nest::Strong => "</strong>",
        Nest::Em => "</em>",
        Nest::Highlight => "</mark>",
        Nest::Strike => "</s>",
    };
    for inline in inlines {
        let (text, marks) = match inline {
            Inline::Break => {
                out.push_str("<br>");
                continue;
            }
            Inline::Text(text, marks) => (text, marks),
        };
        let wanted = nests(marks);
        let keep = open
            .iter()
            .zip(&wanted)
            .take_while(|(a, b)| a == b && (**a != Nest::Link || link == marks.link.as_ref()))
            .count();
        for n in open.drain(keep..).rev() {
            out.push_str(close(n));
        }
        for n in &wanted[keep..] {
            match n {
                Nest::Link => {
                    let (href, title) = marks.link.as_ref().expect("a link mark has a link");
                    out.push_str(&format!("<a href=\"{}\"", HtmlEscape(safe_href(href))));
                    if let Some(title) = title {
                        out.push_str(&format!(" title=\"{}\"", HtmlEscape(title)));
                    }
                    out.push('>');
                }
                Nest::Strong => out.push_str("<strong>"),
                Nest::Em => out.push_str("<em>"),
                Nest::Highlight => out.push_str("<mark>"),
                Nest::Strike => out.push_str("<s>"),
            }
            open.push(*n);
        }
        link = marks.link.as_ref();
        if marks.code {
            out.push_str(&format!("<code>{}</code>", HtmlEscape(text)));
        } else {
            out.push_str(&HtmlEscape(text).to_string());
        }
    }
    for n in open.drain(..).rev() {
        out.push_str(close(n));
    }
}

/// Links that would run script when the export is opened (`javascript:`, `data:`) point
/// nowhere instead.
fn safe_href(href: &str) -> &str {
    let scheme = href
        .split_once(':')
        .map(|(s, _)| s.trim().to_ascii_lowercase())
        .filter(|s| !s.contains(['/', '?', '#']));
    match scheme.as_deref() {
        None | Some("http" | "https" | "mailto" | "tel") => href,
        Some(_) => "#",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Inline {
        Inline::Text(s.into(), Marks::default())
    }

    fn m(s: &str, f: impl FnOnce(&mut Marks)) -> Inline {
        let mut marks = Marks::default();
        f(&mut marks);
        Inline::Text(s.into(), marks)
    }

    #[test]
    fn nested_marks_open_and_close_in_order_with_spaces_outside() {
        let inlines = vec![
            t("a "),
            m("bold ", |m| m.strong = true),
            m("both", |m| {
                m.strong = true;
                m.em = true
            }),
            t(" end"),
        ];
        assert_eq!(inlines_md(&inlines, false), "a **bold *both*** end");
        let mut html = String::new();
        inlines_html(&inlines, &mut html);
        assert_eq!(html, "a <strong>bold <em>both</em></strong> end");
    }

    #[test]
    fn text_that_looks_like_markup_is_escaped() {
        assert_eq!(
            inlines_md(&[t("# not *a* heading")], false),
            "\\# not \\*a\\* heading"
        );
        assert_eq!(inlines_md(&[t("1. not a list")], false), "1\\. not a list");
        assert_eq!(inlines_md(&[t("a | b")], true), "a \\| b");
        let mut html = String::new();
        inlines_html(&[t("<script>&")], &mut html);
        assert_eq!(html, "&lt;script&gt;&amp;");
    }

    #[test]
    fn script_links_are_neutralised_in_html() {
        let link = m("x", |m| m.link = Some(("javascript:alert(1)".into(), None)));
        let mut html = String::new();
        inlines_html(&[link], &mut html);
        assert_eq!(html, "<a href=\"#\">x</a>");
        assert_eq!(
            safe_href("https://example.org/a:b"),
            "https://example.org/a:b"
        );
        assert_eq!(safe_href("/meetings/x?a=b:c"), "/meetings/x?a=b:c");
    }

    #[test]
    fn code_spans_fence_past_backticks_inside() {
        let code = m("a`b", |m| m.code = true);
        assert_eq!(inlines_md(&[code], false), "``a`b``");
    }
}
