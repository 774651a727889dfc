//! Clutter removal shared by every format, and plain-text paragraphs.
//!
//! Volunteers read exactly what is on screen, so anything a reader would skip or stumble
//! over goes: bracketed asides and citation marks (`[12]`, `(see above)`), leftover tags,
//! runs of whitespace, and "paragraphs" that are only page numbers or rules (`***`).

/// Opening brackets whose contents are dropped, with their closers. Full-width forms are
/// the same asides in Chinese and Japanese text.
const BRACKETS: &[(char, char)] = &[
    ('(', ')'),
    ('[', ']'),
    ('{', '}'),
    ('<', '>'),
    ('（', '）'),
    ('［', '］'),
    ('｛', '｝'),
];

/// An aside longer than this is more likely an unclosed bracket swallowing the text than
/// a real aside; it also bounds the search so a run of unclosed brackets stays linear.
const MAX_ASIDE_CHARS: usize = 2000;

/// Characters that are spaces a writer meant not to break, which French puts before `?`,
/// `!`, `:` and `;`; a run of whitespace containing one collapses to it, not to a space.
fn is_no_break(c: char) -> bool {
    matches!(c, '\u{A0}' | '\u{202F}' | '\u{2007}')
}

/// Removes bracketed asides and collapses whitespace: what every paragraph of every format
/// goes through before it is split.
pub(super) fn tidy(text: &str) -> String {
    collapse_whitespace(&remove_brackets(text))
}

/// Whether a paragraph has anything to read, as opposed to page numbers, list numbers or
/// decorative rules.
pub(super) fn has_letters(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
}

/// Runs of whitespace become one space (or one no-break space when the run had one),
/// the ends are trimmed, and invisible soft hyphens and control characters go, since
/// they only get in the way of matching what was read to what was shown.
pub(super) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending: Option<char> = None;
    for c in text.chars() {
        if c.is_whitespace() {
            pending = match pending {
                Some(kept) if is_no_break(kept) => Some(kept),
                _ if is_no_break(c) => Some(c),
                _ => Some(' '),
            };
            continue;
        }
        if c == '\u{AD}' || (c.is_control() && c != '\t') {
            continue;
        }
        if let Some(space) = pending.take()
            && !out.is_empty()
        {
            out.push(space);
        }
        out.push(c);
    }
    out
}

fn closer_of(c: char) -> Option<char> {
    BRACKETS
        .iter()
        .find(|(open, _)| *open == c)
        .map(|(_, close)| *close)
}

fn is_closer(c: char) -> bool {
    BRACKETS.iter().any(|(_, close)| *close == c)
}

/// Whether `chars[i]` opens an aside. `<` followed by a space is a comparison ("a < b"),
/// never a tag.
fn opens(chars: &[char], i: usize) -> Option<char> {
    let close = closer_of(chars[i])?;
    if chars[i] == '<' && chars.get(i + 1).is_none_or(|c| c.is_whitespace()) {
        return None;
    }
    Some(close)
}

/// Deepest nesting of asides followed; deeper openers are taken as stray characters.
const MAX_DEPTH: usize = 32;

/// Spans (first and last char index) of complete bracketed asides, outermost only, in
/// order. One pass with a stack: a closer that skips inner openers ("(a [b) c") closes
/// the outer one, treating the inner as stray, and an opener left open for longer than
/// [`MAX_ASIDE_CHARS`] is dropped from the stack as stray, keeping the pass linear.
fn aside_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut stack: std::collections::VecDeque<(usize, char)> = std::collections::VecDeque::new();
    for (j, &c) in chars.iter().enumerate() {
        while stack.front().is_some_and(|&(i, _)| j - i > MAX_ASIDE_CHARS) {
            stack.pop_front();
        }
        if let Some(close) = opens(chars, j) {
            if stack.len() == MAX_DEPTH {
                stack.pop_front();
            }
            stack.push_back((j, close));
        } else if is_closer(c)
            && let Some(depth) = stack.iter().rposition(|&(_, want)| want == c)
        {
            let open_at = stack[depth].0;
            stack.truncate(depth);
            // Inner asides are recorded too, in case the outer one never closes; an outer
            // one that does close replaces them.
            while spans.last().is_some_and(|&(s, _)| s >= open_at) {
                spans.pop();
            }
            spans.push((open_at, j));
        }
    }
    spans
}

/// Drops `(…)`, `[…]`, `{…}` and `<…>` with what they enclose. An unclosed bracket is
/// kept as written, since guessing where it should end would delete real text.
pub(super) fn remove_brackets(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut spans = aside_spans(&chars).into_iter().peekable();
    let mut i = 0;
    while i < chars.len() {
        if let Some(&(start, end)) = spans.peek()
            && start == i
        {
            spans.next();
            i = end + 1;
            // "word (aside)." must not become "word ." but "a (b) c" keeps one space and
            // French "mot (note) !" keeps its space before "!".
            if chars.get(i).is_some_and(|&c| {
                !c.is_whitespace() && !c.is_alphanumeric() && closer_of(c).is_none()
            }) {
                let kept = out.trim_end_matches(|c: char| c.is_whitespace()).len();
                out.truncate(kept);
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Characters that end a sentence, for deciding whether a line break in plain text ends a
/// paragraph.
pub(super) fn is_terminal(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | '…'
            | ':'
            | ';'
            | '\u{05C3}'
            | '。'
            | '！'
            | '？'
            | '．'
            | '｡'
            | '؟'
            | '۔'
            | '।'
            | '॥'
    )
}

/// Quotes and brackets that may follow a sentence's last punctuation.
pub(super) fn is_trailing_close(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '”'
            | '’'
            | '»'
            | '›'
            | '“'
            | ')'
            | ']'
            | '}'
            | '）'
            | '」'
            | '』'
            | '】'
            | '〉'
            | '》'
            | '〕'
            | '］'
    )
}

/// Paragraphs of a plain text. Every line break starts a new paragraph, as in
/// crowd-recital, where each line of a pasted text is one paragraph; blank lines are only
/// separators. The one exception is hard-wrapped text (e-books wrapped at 70 columns):
/// a line that stops without closing punctuation and is followed by a line starting with a
/// lower-case letter continues the same paragraph. Scripts without case (Hebrew, CJK, Thai)
/// therefore always break at line ends, which is the predictable choice for them.
pub(super) fn plain_paragraphs(text: &str) -> Vec<String> {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.split([
        '\n', '\r', '\u{2028}', '\u{2029}', '\u{0B}', '\u{0C}', '\u{85}',
    ]) {
        let line = line.trim();
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            let ends_open = current
                .trim_end_matches(is_trailing_close)
                .chars()
                .next_back()
                .is_some_and(|c| !is_terminal(c));
            let continues = line.chars().next().is_some_and(char::is_lowercase);
            if ends_open && continues {
                current.push(' ');
                current.push_str(line);
                continue;
            }
            paragraphs.push(std::mem::take(&mut current));
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_citations_go() {
        assert_eq!(tidy("The cat (a tabby) sat.[12]"), "The cat sat.");
        assert_eq!(
            tidy("word [1], more {x} text <b>bold</b>"),
            "word, more text bold"
        );
        assert_eq!(tidy("(Aside.) Then."), "Then.");
        assert_eq!(tidy("nested (a (b) [c]) done"), "nested done");
        assert_eq!(tidy("said \"hi (x)\" again"), "said \"hi\" again");
        assert_eq!(tidy("東京（とうきょう）は大きい。"), "東京は大きい。");
    }

    #[test]
    fn unclosed_and_comparison_brackets_stay() {
        assert_eq!(tidy("a (b c"), "a (b c");
        assert_eq!(tidy("if a < b and c > d"), "if a < b and c > d");
        assert_eq!(tidy("smile :) ok"), "smile :) ok");
        assert_eq!(tidy("x (y [z) w"), "x w");
        assert_eq!(
            tidy("open (never closed [but this is] and more"),
            "open (never closed and more"
        );
        assert_eq!(tidy("a (b) (c [d) e"), "a e");
        let unclosed = format!("start ({} (aside) end", "word ".repeat(500));
        assert_eq!(
            tidy(&unclosed),
            format!("start ({}end", "word ".repeat(500))
        );
    }

    #[test]
    fn french_spacing_survives_bracket_removal() {
        assert_eq!(tidy("Vraiment (non) ?"), "Vraiment ?");
        assert_eq!(tidy("Vraiment\u{A0}?"), "Vraiment\u{A0}?");
    }

    #[test]
    fn whitespace_collapses_keeping_no_break_spaces() {
        assert_eq!(collapse_whitespace("  a \t\n b  "), "a b");
        assert_eq!(collapse_whitespace("Oui \u{202F}!"), "Oui\u{202F}!");
        assert_eq!(collapse_whitespace("soft\u{AD}hyphen\u{7}"), "softhyphen");
    }

    #[test]
    fn only_numbers_or_punctuation_is_not_a_paragraph() {
        assert!(!has_letters("12."));
        assert!(!has_letters("* * *"));
        assert!(!has_letters("— 3 —"));
        assert!(has_letters("שלום"));
        assert!(has_letters("東京"));
        assert!(has_letters("ภาษาไทย"));
    }

    #[test]
    fn plain_lines_are_paragraphs_except_hard_wraps() {
        let text = "Title line\nFirst paragraph is wrapped\nacross lines, and ends.\nSecond one.\r\n\r\n\r\nThird\n";
        assert_eq!(
            plain_paragraphs(text),
            vec![
                "Title line",
                "First paragraph is wrapped across lines, and ends.",
                "Second one.",
                "Third",
            ]
        );
        assert_eq!(
            plain_paragraphs("שורה ראשונה\nשורה שנייה"),
            vec!["שורה ראשונה", "שורה שנייה"]
        );
        assert_eq!(
            plain_paragraphs("Done.\nnext line"),
            vec!["Done.", "next line"]
        );
    }
}
