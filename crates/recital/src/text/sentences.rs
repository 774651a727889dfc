//! Sentences of a paragraph, for one language.
//!
//! The base is Unicode's sentence boundaries (UAX #29, `split_sentence_bounds`), which know
//! every script's full stops but nothing about abbreviations, quotation conventions or
//! scripts without punctuation. On top of them, per language:
//!
//! - cuts are *removed* after abbreviations and initials ("Mr. Smith", "J. R. R. Tolkien",
//!   "פרופ. כהן", "M. Dupont"), after `?`/`!` that end a quotation continued in lower case
//!   (`"Why?" he asked`), and before Japanese quotative と;
//! - cuts are *moved* so quotes and brackets stay with their sentence: a closing `»` that
//!   UAX #29 pushes to the next sentence comes back, an opening `「` it glues to the previous
//!   sentence moves on. ASCII quotes are told apart by counting, and Hebrew gershayim and
//!   geresh (`צה"ל`, `עמ'`) are letters of a word, not quotes;
//! - cuts are *added* after the Hebrew sof pasuq `׃`, the full-width `．`, an ellipsis `…`
//!   before a new sentence, and in Thai (which has no sentence punctuation) at a space
//!   once a phrase has at least [`THAI_MIN_CHARS`] characters — a heuristic, since a space
//!   in Thai separates phrases and sentences alike;
//! - sentences without letters ("1.", "—") join their neighbour, and sentences over
//!   [`MAX_CHARS`] are cut at their last comma or semicolon before the limit.
//!
//! The text itself is never changed beyond trimming and collapsing whitespace.

use unicode_segmentation::UnicodeSegmentation;

use super::clean::{collapse_whitespace, has_letters, is_trailing_close};

/// Longest sentence a reader is given; longer ones are cut at a comma.
pub(super) const MAX_CHARS: usize = 300;

/// How far back quotes are balanced when moving a cut.
const MAX_CONTEXT_BYTES: usize = 1024;

/// How long a Thai phrase must be before a space may end it as a sentence.
pub(super) const THAI_MIN_CHARS: usize = 30;

/// The language families whose rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    English,
    French,
    Hebrew,
    Yiddish,
    Japanese,
    Chinese,
    /// Thai and Lao: no sentence punctuation, spaces between phrases.
    Thai,
    Other,
}

impl Lang {
    fn from_tag(tag: &str) -> Lang {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Lang::English,
            "fr" => Lang::French,
            // "iw" and "ji" are the withdrawn ISO 639 codes, still sent by old systems.
            "he" | "iw" => Lang::Hebrew,
            "yi" | "ji" => Lang::Yiddish,
            "ja" => Lang::Japanese,
            "zh" | "yue" | "cmn" => Lang::Chinese,
            "th" | "lo" => Lang::Thai,
            _ => Lang::Other,
        }
    }

    fn hebrew_script(self) -> bool {
        matches!(self, Lang::Hebrew | Lang::Yiddish)
    }

    /// Scripts where upper case tells a new sentence from a continued one.
    fn cased(self) -> bool {
        matches!(self, Lang::English | Lang::French | Lang::Other)
    }
}

/// Sentences of one paragraph of plain text, in order, trimmed, whitespace collapsed.
pub fn split_sentences(paragraph: &str, language: &str) -> Vec<String> {
    let text = collapse_whitespace(paragraph);
    if text.is_empty() {
        return Vec::new();
    }
    let lang = Lang::from_tag(language);

    let mut candidates: Vec<usize> = text
        .split_sentence_bound_indices()
        .map(|(at, _)| at)
        .filter(|&at| at > 0)
        .collect();
    candidates.extend(extra_cuts(&text, lang));
    candidates.sort_unstable();
    candidates.dedup();

    let mut cuts = Vec::new();
    let mut start = 0;
    for candidate in candidates {
        if candidate <= start {
            continue;
        }
        let cut = adjust(&text, start, candidate);
        if cut <= start || cut >= text.len() {
            continue;
        }
        if keeps_cut(&text, start, cut, lang) {
            cuts.push(cut);
            start = cut;
        }
    }

    let mut ranges = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([text.len()]) {
        if let Some(range) = trimmed(&text, from, cut) {
            ranges.push(range);
        }
        from = cut;
    }
    let ranges = join_letterless(&text, ranges);

    let mut sentences = Vec::new();
    for (s, e) in ranges {
        let mut pieces = vec![(s, e)];
        if lang == Lang::Thai {
            pieces = pieces
                .into_iter()
                .flat_map(|(s, e)| thai_phrases(&text, s, e))
                .collect();
        }
        for (s, e) in pieces {
            for (s, e) in cut_long(&text, s, e) {
                sentences.push(text[s..e].to_owned());
            }
        }
    }
    sentences
}

/// `from..to` without surrounding whitespace, or None when nothing is left.
fn trimmed(text: &str, from: usize, to: usize) -> Option<(usize, usize)> {
    let piece = &text[from..to];
    let start = from + (piece.len() - piece.trim_start().len());
    let end = from + piece.trim_end().len();
    (start < end).then_some((start, end))
}

// ---------------------------------------------------------------------------------------
// Characters

fn is_hebrew_letter(c: char) -> bool {
    matches!(c, '\u{05D0}'..='\u{05EA}' | '\u{05EF}'..='\u{05F2}' | '\u{FB1D}'..='\u{FB4F}')
}

/// Hebrew points and cantillation, which Yiddish spelling uses on letters (פּ, אָ).
fn is_hebrew_mark(c: char) -> bool {
    matches!(c, '\u{0591}'..='\u{05BD}' | '\u{05BF}' | '\u{05C1}' | '\u{05C2}' | '\u{05C4}'..='\u{05C7}')
}

/// `"` between two Hebrew letters is gershayim (צה"ל), part of the word.
fn is_gershayim(chars: &[char], i: usize) -> bool {
    chars[i] == '"'
        && i > 0
        && is_hebrew_letter(base_before(chars, i))
        && chars.get(i + 1).is_some_and(|&c| is_hebrew_letter(c))
}

/// The letter before `i`, skipping Hebrew points.
fn base_before(chars: &[char], i: usize) -> char {
    chars[..i]
        .iter()
        .rev()
        .copied()
        .find(|&c| !is_hebrew_mark(c))
        .unwrap_or(' ')
}

/// `'` that is an apostrophe (don't, ג'ירפה) or a geresh (עמ', וכו') rather than a quote.
fn is_apostrophe(chars: &[char], i: usize) -> bool {
    if chars[i] != '\'' && chars[i] != '’' {
        return false;
    }
    let before = if i > 0 { base_before(chars, i) } else { ' ' };
    let after = chars.get(i + 1).copied().unwrap_or(' ');
    is_hebrew_letter(before) || (before.is_alphanumeric() && after.is_alphanumeric())
}

/// Whether the quote or bracket `c` at the start of `rest` closes something opened in
/// `sentence`.
fn closes_open(sentence: &[char], c: char) -> bool {
    let count = |wanted: &dyn Fn(usize) -> bool| (0..sentence.len()).filter(|&i| wanted(i)).count();
    match c {
        '"' => count(&|i| sentence[i] == '"' && !is_gershayim(sentence, i)) % 2 == 1,
        '\'' => single_quote_open(sentence),
        _ => {
            let openers: &[char] = match c {
                '»' => &['«'],
                '›' => &['‹'],
                '”' => &['“', '„'],
                '“' => &['„'],
                '’' => &['‘', '‚'],
                ')' => &['('],
                ']' => &['['],
                '}' => &['{'],
                '）' => &['（'],
                '」' => &['「'],
                '』' => &['『'],
                '】' => &['【'],
                '》' => &['《'],
                '〉' => &['〈'],
                '〕' => &['〔'],
                '］' => &['［'],
                _ => return false,
            };
            let opened = count(&|i| openers.contains(&sentence[i]));
            let closed = count(&|i| sentence[i] == c);
            opened > closed
        }
    }
}

/// Whether a `'` quotation is open at the end of `sentence`. Unlike `"`, a `'` is often an
/// apostrophe at a word's end ("the dogs' bone"), so only a `'` after a space opens a
/// quotation, and a closing one counts only when one is open.
fn single_quote_open(sentence: &[char]) -> bool {
    let mut depth = 0usize;
    for i in 0..sentence.len() {
        if sentence[i] != '\'' || is_apostrophe(sentence, i) {
            continue;
        }
        let before = if i == 0 { ' ' } else { sentence[i - 1] };
        let after = sentence.get(i + 1).copied().unwrap_or(' ');
        if (before.is_whitespace() || is_opener(before)) && !after.is_whitespace() {
            depth += 1;
        } else if !before.is_whitespace() {
            depth = depth.saturating_sub(1);
        }
    }
    depth > 0
}

fn is_opener(c: char) -> bool {
    matches!(
        c,
        '(' | '['
            | '{'
            | '«'
            | '‹'
            | '“'
            | '‘'
            | '„'
            | '‚'
            | '「'
            | '『'
            | '（'
            | '【'
            | '《'
            | '〈'
            | '〔'
            | '［'
    )
}

// ---------------------------------------------------------------------------------------
// Moving cuts

/// Moves a candidate cut so quotes stay with their sentence: back before openers that
/// UAX #29 attached to the previous sentence (`。「`), forward past closers it pushed to the
/// next one (`! »`).
fn adjust(text: &str, start: usize, cut: usize) -> usize {
    // Quote balance over the last few thousand characters is as good as over all of them
    // (sentences are cut at 300 anyway) and keeps a paragraph of a million initials linear.
    let mut start = start.max(cut.saturating_sub(MAX_CONTEXT_BYTES));
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let before = &text[start..cut];
    let trimmed_len = before.trim_end().len();
    let before_chars: Vec<char> = before[..trimmed_len].chars().collect();

    // The run of quotes and brackets after the sentence's last punctuation.
    let run_start = before_chars
        .iter()
        .rposition(|&c| !(is_trailing_close(c) || is_opener(c)))
        .map_or(0, |i| i + 1);
    if run_start > 0 && run_start < before_chars.len() {
        let mut context: Vec<char> = before_chars[..run_start].to_vec();
        for (k, &c) in before_chars[run_start..].iter().enumerate() {
            let opening = is_opener(c) || (matches!(c, '"' | '\'') && !closes_open(&context, c));
            if opening {
                let offset: usize = before_chars[..run_start + k]
                    .iter()
                    .map(|c| c.len_utf8())
                    .sum();
                return start + offset;
            }
            context.push(c);
        }
    }

    // Closers at the start of the next piece that close a quote of this sentence.
    let mut context: Vec<char> = before_chars;
    let mut at = cut;
    while let Some(c) = text[at..].chars().next() {
        if c.is_whitespace() && at > cut {
            // Allow "! » »" but not a whole next word.
            let next = text[at..].trim_start().chars().next();
            if next.is_some_and(|n| is_trailing_close(n) && closes_open(&context, n)) {
                at += text[at..].len() - text[at..].trim_start().len();
                continue;
            }
            break;
        }
        if is_trailing_close(c) && closes_open(&context, c) {
            context.push(c);
            at += c.len_utf8();
        } else {
            break;
        }
    }
    at
}

// ---------------------------------------------------------------------------------------
// Adding cuts

/// Cuts UAX #29 does not make: after sof pasuq, after the full-width full stop, after an
/// ellipsis that ends a sentence.
fn extra_cuts(text: &str, lang: Lang) -> Vec<usize> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut cuts = Vec::new();
    for (k, &(_, c)) in chars.iter().enumerate() {
        let ends = match c {
            '\u{05C3}' => true,
            '．' => !chars
                .get(k + 1)
                .is_some_and(|&(_, n)| n.is_ascii_digit() || ('０'..='９').contains(&n)),
            '…' => {
                let next = chars[k + 1..]
                    .iter()
                    .map(|&(_, n)| n)
                    .find(|&n| !(n.is_whitespace() || is_trailing_close(n)));
                let spaced = chars
                    .get(k + 1)
                    .is_some_and(|&(_, n)| n.is_whitespace() || is_trailing_close(n));
                match next {
                    Some(n) if spaced && lang.cased() => n.is_uppercase(),
                    Some(n) if spaced && lang.hebrew_script() => n.is_alphabetic(),
                    _ => false,
                }
            }
            _ => false,
        };
        if !ends {
            continue;
        }
        // The cut goes after trailing closers and spaces, where UAX #29 would put it.
        let mut j = k + 1;
        while chars
            .get(j)
            .is_some_and(|&(_, n)| is_trailing_close(n) && n != '"' && n != '\'')
        {
            j += 1;
        }
        while chars.get(j).is_some_and(|&(_, n)| n.is_whitespace()) {
            j += 1;
        }
        if let Some(&(at, _)) = chars.get(j) {
            cuts.push(at);
        }
    }
    cuts
}

// ---------------------------------------------------------------------------------------
// Removing cuts

/// Whether the cut at `cut` (between `text[start..cut]` and the rest) is a real sentence
/// end.
fn keeps_cut(text: &str, start: usize, cut: usize, lang: Lang) -> bool {
    let before = text[start..cut].trim_end();
    let after = text[cut..].trim_start();
    if before.is_empty() || after.is_empty() {
        return false;
    }
    let core = before.trim_end_matches(|c: char| is_trailing_close(c) || c.is_whitespace());
    let closed_quote = core.len() < before.len();
    let Some(last) = core.chars().next_back() else {
        return true;
    };
    let next_word = first_word(after);
    let next_first = next_word.chars().next().unwrap_or(' ');

    // `"Why?" he asked.` and `« Bonjour ! » dit-il.` are one sentence.
    if closed_quote && matches!(last, '?' | '!' | '？' | '！') && next_first.is_lowercase() {
        return false;
    }
    // 「行こう。」と言った。: the quote is the object of と.
    if lang == Lang::Japanese
        && closed_quote
        && (after.starts_with('と') || after.starts_with("って") || after.starts_with('、'))
    {
        return false;
    }
    if last != '.' || closed_quote {
        return true;
    }

    // The word that ends in this full stop, without openers such as "(".
    let mut words = core.split_whitespace().rev();
    let token = words
        .next()
        .unwrap_or("")
        .trim_start_matches(|c: char| is_opener(c) || matches!(c, '"' | '\''));
    let word = token.strip_suffix('.').unwrap_or(token);
    let previous = words.next().unwrap_or("");
    if word.is_empty() || word.ends_with('.') {
        // "..." is an ellipsis, which UAX #29 already keeps before lower case.
        return true;
    }
    match lang {
        Lang::English => !english_abbreviation(word, next_word),
        Lang::French => !french_abbreviation(word, previous, next_word),
        Lang::Hebrew | Lang::Yiddish => !hebrew_abbreviation(word, next_word),
        _ => !generic_abbreviation(word, next_word),
    }
}

/// The first word of `rest`, without leading quotes or brackets.
fn first_word(rest: &str) -> &str {
    let word = rest.split_whitespace().next().unwrap_or("");
    word.trim_start_matches(|c: char| is_opener(c) || is_trailing_close(c))
}

/// "J", "U.S", "e.g", "J.-C", "ש.י": single letters joined by dots (or hyphens).
fn is_dotted_letters(word: &str) -> bool {
    let mut parts = word.split(['.', '-']).filter(|p| !p.is_empty()).peekable();
    parts.peek().is_some()
        && parts.all(|part| {
            let mut letters = part.chars().filter(|&c| !is_hebrew_mark(c));
            letters.next().is_some_and(char::is_alphabetic) && letters.next().is_none()
        })
}

fn starts_upper(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

fn starts_digit(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Whether `word` (lower-cased, trailing punctuation dropped) is in `list`.
fn listed(word: &str, list: &[&str]) -> bool {
    let word = word
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    list.contains(&word.as_str())
}

/// Titles and the like, which always precede a name or a noun.
const EN_NEVER_FINAL: &[&str] = &[
    "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "St", "Mt", "Ft", "Gen", "Col", "Lt", "Sgt", "Capt",
    "Cmdr", "Adm", "Rev", "Hon", "Gov", "Sen", "Rep", "Pres", "Supt", "Messrs", "Fr", "e.g", "i.e",
    "cf", "vs", "v", "viz", "approx", "ca",
];
/// Abbreviations that precede a number ("No. 5", "p. 12").
const EN_BEFORE_NUMBER: &[&str] = &[
    "No", "Nos", "no", "nos", "Fig", "fig", "Figs", "Vol", "vol", "p", "pp", "Art", "Sec", "Ch",
    "ch", "Eq", "Op", "op", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct",
    "Nov", "Dec",
];
/// Abbreviations that may end a sentence or not: the next word decides.
const EN_AMBIGUOUS: &[&str] = &[
    "Inc", "Ltd", "Co", "Corp", "Jr", "Sr", "Bros", "al", "Ave", "Blvd", "Rd", "Ph.D",
];
/// Words that start sentences far more often than they follow an abbreviation; after an
/// ambiguous abbreviation or an initial they mean a new sentence.
const EN_STARTERS: &[&str] = &[
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "he",
    "she",
    "they",
    "we",
    "i",
    "you",
    "his",
    "her",
    "their",
    "our",
    "my",
    "your",
    "there",
    "here",
    "then",
    "but",
    "and",
    "or",
    "so",
    "yet",
    "in",
    "on",
    "at",
    "as",
    "if",
    "when",
    "while",
    "after",
    "before",
    "since",
    "because",
    "however",
    "although",
    "though",
    "what",
    "who",
    "why",
    "how",
    "where",
    "which",
    "some",
    "many",
    "most",
    "all",
    "not",
    "one",
    "today",
    "yesterday",
    "tomorrow",
    "now",
    "also",
    "still",
    "yes",
    "meanwhile",
    "later",
    "finally",
    "for",
    "from",
    "to",
    "with",
    "by",
    "of",
    "every",
    "each",
    "no",
    "nothing",
    "after",
    "let",
    "please",
    "thus",
    "therefore",
];

fn english_abbreviation(word: &str, next: &str) -> bool {
    if EN_NEVER_FINAL.contains(&word) {
        return true;
    }
    if EN_BEFORE_NUMBER.contains(&word) {
        return starts_digit(next);
    }
    if EN_AMBIGUOUS.contains(&word) || is_dotted_letters(word) {
        // "J. R. R. Tolkien", "the U.S. Army", "5 p.m. Monday" — but "Plan B. Then".
        return !(starts_upper(next) && listed(next, EN_STARTERS));
    }
    false
}

const FR_NEVER_FINAL: &[&str] = &[
    "M", "MM", "Mme", "Mmes", "Mlle", "Mlles", "Mgr", "Me", "Dr", "Pr", "St", "Ste", "cf", "env",
    "av", "apr", "bd", "boul", "éd", "vs",
];
const FR_BEFORE_NUMBER: &[&str] = &[
    "n", "no", "No", "p", "pp", "vol", "t", "chap", "fig", "art", "ch", "janv", "févr", "avr",
    "juil", "sept", "oct", "nov", "déc",
];
const FR_STARTERS: &[&str] = &[
    "le", "la", "les", "l", "un", "une", "des", "il", "elle", "ils", "elles", "je", "j", "tu",
    "nous", "vous", "on", "ce", "c", "cet", "cette", "ces", "mais", "et", "puis", "alors",
    "ensuite", "donc", "quand", "si", "dans", "en", "au", "aux", "pour", "par", "sur", "avec",
    "son", "sa", "ses", "leur", "leurs", "mon", "ma", "mes", "notre", "nos", "votre", "vos", "qui",
    "que", "quoi", "où", "comment", "pourquoi", "aujourd", "hier", "demain", "oui", "non", "ça",
    "cela", "ceci", "tout", "tous", "toute", "enfin", "après", "avant", "depuis", "comme",
];

fn french_abbreviation(word: &str, previous: &str, next: &str) -> bool {
    if FR_NEVER_FINAL.contains(&word) {
        return true;
    }
    // "p. ex." (par exemple), in both of its halves.
    if word == "p" && next.starts_with("ex") || word == "ex" && previous == "p." {
        return true;
    }
    if FR_BEFORE_NUMBER.contains(&word) {
        return starts_digit(next);
    }
    if is_dotted_letters(word) && word.chars().any(char::is_uppercase) {
        // "J.-C.", "S. N. C. F." and initials, unless a sentence plainly starts next.
        return !(starts_upper(next) && listed(next, FR_STARTERS));
    }
    false
}

/// Hebrew (and Yiddish) abbreviations written with a full stop rather than a geresh.
/// Only ones that are not also words: "גב" (back), "מס" (tax) or "טל" (Tal) end
/// sentences too, so they count only before a number.
const HE_NEVER_FINAL: &[&str] = &["פרופ", "רח", "פראפ"];
const HE_BEFORE_NUMBER: &[&str] = &["מס", "עמ", "טל", "נומ"];

fn hebrew_abbreviation(word: &str, next: &str) -> bool {
    let bare: String = word.chars().filter(|&c| !is_hebrew_mark(c)).collect();
    if HE_NEVER_FINAL.contains(&bare.as_str()) {
        return true;
    }
    if HE_BEFORE_NUMBER.contains(&bare.as_str()) {
        return starts_digit(next);
    }
    // Initials: "א. ב. יהושע", "ש.י. עגנון". Hebrew has no case to tell a one-letter
    // sentence end from an initial, and the latter is far more common.
    is_dotted_letters(&bare)
        && bare
            .chars()
            .all(|c| is_hebrew_letter(c) || c == '.' || c == '-')
}

fn generic_abbreviation(word: &str, next: &str) -> bool {
    if matches!(word, "Dr" | "Prof") {
        return true;
    }
    // "z.B.", "d.h.", "u.a.": lower-case dotted abbreviations do not end sentences.
    if word.contains('.')
        && is_dotted_letters(word)
        && word.chars().next().is_some_and(char::is_lowercase)
    {
        return true;
    }
    // A single capital followed by a capitalised word is an initial in any cased script.
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase) && chars.next().is_none() && starts_upper(next)
}

// ---------------------------------------------------------------------------------------
// After cutting

/// Pieces without letters ("1.", "—", "42!") are read as part of their neighbour.
fn join_letterless(text: &str, ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    // Start and end of a run of letterless pieces waiting for a sentence.
    let mut pending: Option<(usize, usize)> = None;
    for (s, e) in ranges {
        let s = pending.take().map_or(s, |(start, _)| start);
        if has_letters(&text[s..e]) {
            out.push((s, e));
        } else {
            pending = Some((s, e));
        }
    }
    if let Some((s, e)) = pending {
        match out.last_mut() {
            Some(last) => last.1 = e,
            None => out.push((s, e)),
        }
    }
    out
}

/// Thai sentences: a space after at least [`THAI_MIN_CHARS`] characters ends one.
fn thai_phrases(text: &str, s: usize, e: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = s;
    let mut count = 0;
    let mut chars = text[s..e].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            if count >= THAI_MIN_CHARS {
                out.push((from, s + i));
                while chars.peek().is_some_and(|&(_, n)| n.is_whitespace()) {
                    chars.next();
                }
                from = chars.peek().map_or(e, |&(j, _)| s + j);
                count = 0;
            }
            continue;
        }
        if !is_hebrew_mark(c) && !is_thai_mark(c) {
            count += 1;
        }
    }
    if from < e {
        out.push((from, e));
    }
    out
}

/// Thai vowel and tone marks, which do not count as characters for length.
fn is_thai_mark(c: char) -> bool {
    matches!(c, '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}')
}

/// Cuts a sentence over [`MAX_CHARS`] at its last comma or semicolon before the limit,
/// else at its last space, else at the limit.
fn cut_long(text: &str, s: usize, e: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = s;
    while text[from..e].chars().nth(MAX_CHARS).is_some() {
        let limit = text[from..e]
            .char_indices()
            .nth(MAX_CHARS)
            .map_or(e, |(i, _)| from + i);
        let window = &text[from..limit];
        let at_comma = window
            .char_indices()
            .filter(|&(_, c)| matches!(c, ',' | ';' | '،' | '؛' | '，' | '、' | '；'))
            .map(|(i, c)| from + i + c.len_utf8())
            .next_back();
        let at_space = window.rfind(' ').map(|i| from + i).filter(|&i| i > from);
        let cut = at_comma.or(at_space).unwrap_or_else(|| {
            // No comma and no space (CJK): the last grapheme boundary before the limit.
            window
                .grapheme_indices(true)
                .next_back()
                .map_or(limit, |(i, _)| from + i)
                .max(from + 1)
        });
        match trimmed(text, from, cut) {
            Some(range) => out.push(range),
            None => break,
        }
        match trimmed(text, cut, e) {
            Some((next, _)) => from = next,
            None => return out,
        }
    }
    out.push((from, e));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, lang: &str) -> Vec<String> {
        split_sentences(text, lang)
    }

    mod english {
        use super::*;

        #[test]
        fn plain_sentences() {
            assert_eq!(
                split("It rained.  Then it  stopped! Did it? Yes.", "en"),
                vec!["It rained.", "Then it stopped!", "Did it?", "Yes."]
            );
        }

        #[test]
        fn titles_and_abbreviations() {
            assert_eq!(
                split(
                    "Mr. Smith met Dr. Jones and Prof. Lee at St. Mary's. They talked.",
                    "en"
                ),
                vec![
                    "Mr. Smith met Dr. Jones and Prof. Lee at St. Mary's.",
                    "They talked."
                ]
            );
            assert_eq!(
                split(
                    "Bring fruit, e.g. Apples or pears, i.e. Food. Then go.",
                    "en"
                ),
                vec!["Bring fruit, e.g. Apples or pears, i.e. Food.", "Then go."]
            );
            assert_eq!(
                split("It was Ali vs. Frazier. Everyone watched.", "en"),
                vec!["It was Ali vs. Frazier.", "Everyone watched."]
            );
        }

        #[test]
        fn etc_splits_only_before_a_new_sentence() {
            assert_eq!(
                split("We saw cats, dogs, etc. and went home. We slept.", "en"),
                vec!["We saw cats, dogs, etc. and went home.", "We slept."]
            );
            assert_eq!(
                split("We saw cats, dogs, etc. Then we slept.", "en"),
                vec!["We saw cats, dogs, etc.", "Then we slept."]
            );
        }

        #[test]
        fn acronyms_times_and_numbers() {
            assert_eq!(
                split("The U.S. Army left at 5 p.m. Monday. It rained.", "en"),
                vec!["The U.S. Army left at 5 p.m. Monday.", "It rained."]
            );
            assert_eq!(
                split("He moved to the U.S. The rest is history.", "en"),
                vec!["He moved to the U.S.", "The rest is history."]
            );
            assert_eq!(
                split(
                    "They live at No. 10 Downing Street. See p. 12 Appendix.",
                    "en"
                ),
                vec!["They live at No. 10 Downing Street.", "See p. 12 Appendix."]
            );
            assert_eq!(
                split("Pi is 3.14 roughly. Not 3.", "en"),
                vec!["Pi is 3.14 roughly.", "Not 3."]
            );
            assert_eq!(
                split("I said no. Then I left.", "en"),
                vec!["I said no.", "Then I left."]
            );
        }

        #[test]
        fn initials() {
            assert_eq!(
                split("J. R. R. Tolkien wrote it. George W. Bush read it.", "en"),
                vec!["J. R. R. Tolkien wrote it.", "George W. Bush read it."]
            );
            assert_eq!(
                split("Take vitamin C. It helps.", "en"),
                vec!["Take vitamin C.", "It helps."]
            );
        }

        #[test]
        fn ellipses() {
            assert_eq!(
                split("Well... maybe not. Wait... Then go.", "en"),
                vec!["Well... maybe not.", "Wait...", "Then go."]
            );
            assert_eq!(
                split("Well… maybe not. Wait… Then go.", "en"),
                vec!["Well… maybe not.", "Wait…", "Then go."]
            );
        }

        #[test]
        fn quotes_stay_with_their_sentence() {
            assert_eq!(
                split("\"Why?\" he asked. \"Because.\" She smiled.", "en"),
                vec!["\"Why?\" he asked.", "\"Because.\"", "She smiled."]
            );
            assert_eq!(
                split("He said “Stop!” Then he ran (fast.) Away.", "en"),
                vec!["He said “Stop!”", "Then he ran (fast.)", "Away."]
            );
        }

        #[test]
        fn apostrophes_are_not_quotes() {
            assert_eq!(
                split(
                    "The dogs' bone was there. 'Hello,' she said. 'Go.' It's fine.",
                    "en"
                ),
                vec![
                    "The dogs' bone was there.",
                    "'Hello,' she said.",
                    "'Go.'",
                    "It's fine."
                ]
            );
        }

        #[test]
        fn numbers_alone_join_their_sentence() {
            assert_eq!(
                split("1. Introduction to it.", "en"),
                vec!["1. Introduction to it."]
            );
            assert_eq!(split("Done. 42!", "en"), vec!["Done. 42!"]);
        }

        #[test]
        fn long_sentences_are_cut_at_a_comma() {
            let clause = "and then the long road went on and on through the hills";
            let long = format!("{clause}, {clause}, {clause}, {clause}, {clause}, {clause}.");
            let pieces = split(&long, "en");
            assert!(pieces.len() >= 2, "{pieces:?}");
            for piece in &pieces {
                assert!(piece.chars().count() <= MAX_CHARS, "{piece}");
            }
            assert!(pieces[0].ends_with(','), "{pieces:?}");
            assert_eq!(pieces.join(" "), long);
            let words = "word ".repeat(100);
            let pieces = split(words.trim(), "en");
            assert!(pieces.iter().all(|p| p.chars().count() <= MAX_CHARS));
            assert_eq!(pieces.join(" "), words.trim());
        }

        #[test]
        fn tags_and_whitespace() {
            assert_eq!(split("  ", "en"), Vec::<String>::new());
            assert_eq!(split("One.\nTwo.", "en-US"), vec!["One.", "Two."]);
        }
    }

    mod hebrew {
        use super::*;

        #[test]
        fn plain_sentences() {
            assert_eq!(
                split("שלום לכולם. מה שלומכם? אני בסדר!", "he"),
                vec!["שלום לכולם.", "מה שלומכם?", "אני בסדר!"]
            );
        }

        #[test]
        fn gershayim_acronyms_are_not_quotes() {
            assert_eq!(
                split(
                    "הוא שירת בצה\"ל שלוש שנים. \"זה היה קשה\", אמר ד\"ר כהן מארה\"ב.",
                    "he"
                ),
                vec![
                    "הוא שירת בצה\"ל שלוש שנים.",
                    "\"זה היה קשה\", אמר ד\"ר כהן מארה\"ב."
                ]
            );
            assert_eq!(
                split("הוא שירת בצה״ל. ד״ר לוי הגיע.", "he"),
                vec!["הוא שירת בצה״ל.", "ד״ר לוי הגיע."]
            );
        }

        #[test]
        fn real_quotes_are_kept_together() {
            assert_eq!(
                split("הוא אמר: \"אני בא.\" ואז הלך.", "he"),
                vec!["הוא אמר: \"אני בא.\"", "ואז הלך."]
            );
        }

        #[test]
        fn geresh_and_abbreviations() {
            assert_eq!(
                split(
                    "ראו עמ' 5 בספר של ג'ורג'. תפוחים, אגסים וכו'. פרופ. כהן הסכים.",
                    "he"
                ),
                vec![
                    "ראו עמ' 5 בספר של ג'ורג'.",
                    "תפוחים, אגסים וכו'.",
                    "פרופ. כהן הסכים."
                ]
            );
            assert_eq!(
                split("את הספר כתב ש.י. עגנון. גם א. ב. יהושע כתב.", "he"),
                vec!["את הספר כתב ש.י. עגנון.", "גם א. ב. יהושע כתב."]
            );
            assert_eq!(
                split("ראו עמ׳ 5. זה ברור.", "he"),
                vec!["ראו עמ׳ 5.", "זה ברור."]
            );
        }

        #[test]
        fn abbreviations_that_are_also_words() {
            assert_eq!(
                split("ראו מס. 5 ברשימה. שילמנו מס. שמי טל. גר ברח. הרצל.", "he"),
                vec![
                    "ראו מס. 5 ברשימה.",
                    "שילמנו מס.",
                    "שמי טל.",
                    "גר ברח.",
                    "הרצל."
                ]
            );
        }

        #[test]
        fn sof_pasuq_ends_a_verse() {
            assert_eq!(
                split(
                    "בראשית ברא אלהים את השמים ואת הארץ׃ והארץ היתה תהו ובהו׃",
                    "he"
                ),
                vec![
                    "בראשית ברא אלהים את השמים ואת הארץ׃",
                    "והארץ היתה תהו ובהו׃"
                ]
            );
        }

        #[test]
        fn aside_and_footnote_from_import() {
            let text = super::super::super::import(
                "המדינה (שהוקמה בשנת 1948) גדלה מאוד.[1] היום יש בה מיליוני תושבים.".as_bytes(),
                super::super::super::Format::Plain,
                "he",
            )
            .unwrap();
            assert_eq!(
                text.paragraphs,
                vec![vec!["המדינה גדלה מאוד.", "היום יש בה מיליוני תושבים."]]
            );
        }
    }

    mod yiddish {
        use super::*;

        #[test]
        fn sentences_with_pointed_letters() {
            assert_eq!(
                split("איך גיי אַהיים. ווּ ביסטו? דער ד\"ר איז דאָ!", "yi"),
                vec!["איך גיי אַהיים.", "ווּ ביסטו?", "דער ד\"ר איז דאָ!"]
            );
        }

        #[test]
        fn initials_and_abbreviations() {
            assert_eq!(
                split(
                    "דאָס בוך האָט געשריבן י. ל. פּרץ. דער פּראָפ. האָט עס געלייענט.",
                    "yi"
                ),
                vec![
                    "דאָס בוך האָט געשריבן י. ל. פּרץ.",
                    "דער פּראָפ. האָט עס געלייענט."
                ]
            );
        }

        #[test]
        fn old_code_is_understood() {
            assert_eq!(split("ש. אַנ-סקי. גוט.", "ji"), vec!["ש. אַנ-סקי.", "גוט."]);
        }
    }

    mod french {
        use super::*;

        #[test]
        fn abbreviations() {
            assert_eq!(
                split(
                    "M. Dupont et Mme Martin sont venus. Mlle. Roy aussi, p. ex. Marie. Fin.",
                    "fr"
                ),
                vec![
                    "M. Dupont et Mme Martin sont venus.",
                    "Mlle. Roy aussi, p. ex. Marie.",
                    "Fin."
                ]
            );
            assert_eq!(
                split("Il est né en 50 av. J.-C. Puis il est mort.", "fr"),
                vec!["Il est né en 50 av. J.-C.", "Puis il est mort."]
            );
            assert_eq!(
                split("Voir le n. 5 du Dr. Petit. Merci.", "fr"),
                vec!["Voir le n. 5 du Dr. Petit.", "Merci."]
            );
        }

        #[test]
        fn guillemets_and_no_break_spaces() {
            assert_eq!(
                split(
                    "Il dit\u{A0}: «\u{A0}Bonjour\u{A0}!\u{A0}» Puis il part.",
                    "fr"
                ),
                vec![
                    "Il dit\u{A0}: «\u{A0}Bonjour\u{A0}!\u{A0}»",
                    "Puis il part."
                ]
            );
            assert_eq!(
                split("« Tu viens ? » demanda-t-il. « Oui ! » Elle rit.", "fr"),
                vec!["« Tu viens ? » demanda-t-il.", "« Oui ! »", "Elle rit."]
            );
            assert_eq!(
                split("Vraiment\u{202F}? Oui\u{202F}; enfin, peut-être.", "fr"),
                vec!["Vraiment\u{202F}?", "Oui\u{202F}; enfin, peut-être."]
            );
        }

        #[test]
        fn ellipsis() {
            assert_eq!(
                split("Il hésita... puis partit. Et voilà...", "fr"),
                vec!["Il hésita... puis partit.", "Et voilà..."]
            );
        }
    }

    mod japanese {
        use super::*;

        #[test]
        fn full_stops_and_brackets() {
            assert_eq!(
                split(
                    "今日は晴れです。明日は雨でしょう！本当？「行こう。」と彼は言った。",
                    "ja"
                ),
                vec![
                    "今日は晴れです。",
                    "明日は雨でしょう！",
                    "本当？",
                    "「行こう。」と彼は言った。"
                ]
            );
            assert_eq!(
                split("彼は言った。「こんにちは。」『さようなら』。", "ja"),
                vec!["彼は言った。", "「こんにちは。」", "『さようなら』。"]
            );
        }

        #[test]
        fn full_width_period() {
            assert_eq!(
                split("値は３．１４です．次へ．", "ja-JP"),
                vec!["値は３．１４です．", "次へ．"]
            );
        }
    }

    mod chinese {
        use super::*;

        #[test]
        fn full_stops_and_quotes() {
            assert_eq!(
                split("今天天气很好。你去哪儿？他说：“我不去！”然后走了。", "zh"),
                vec![
                    "今天天气很好。",
                    "你去哪儿？",
                    "他说：“我不去！”",
                    "然后走了。"
                ]
            );
            assert_eq!(
                split("（注：这是旁白。）我们开始吧。", "zh-Hans"),
                vec!["（注：这是旁白。）", "我们开始吧。"]
            );
        }

        #[test]
        fn long_sentences_cut_at_commas() {
            let clause = "我们在很长很长的路上走了很久很久很久很久很久很久很久很久很久很久很久";
            let long = format!("{}。", [clause; 12].join("，"));
            let pieces = split(&long, "zh");
            assert!(pieces.len() >= 2, "{pieces:?}");
            assert!(pieces.iter().all(|p| p.chars().count() <= MAX_CHARS));
            assert!(pieces[0].ends_with('，'));
            assert_eq!(pieces.concat(), long);
        }
    }

    mod thai {
        use super::*;

        #[test]
        fn spaces_after_long_phrases_end_sentences() {
            // Each phrase is over 30 letters; the short one ("ครับ") stays attached.
            let first = "วันนี้อากาศดีมากเราจึงไปเที่ยวทะเลกันทั้งครอบครัว";
            let second = "ที่ทะเลมีคนมากมายมาเล่นน้ำและพักผ่อนกันอย่างสนุกสนาน";
            let text = format!("{first} ครับ {second}");
            assert_eq!(
                split(&text, "th"),
                vec![first.to_owned(), format!("ครับ {second}")]
            );
        }

        #[test]
        fn short_phrases_stay_together() {
            assert_eq!(
                split("สวัสดี ครับ ยินดี ที่ได้รู้จัก", "th"),
                vec!["สวัสดี ครับ ยินดี ที่ได้รู้จัก"]
            );
        }
    }

    mod other_languages {
        use super::*;

        #[test]
        fn fallback_uses_unicode_rules_and_initials() {
            assert_eq!(
                split("J. K. Rowling schrieb Bücher. Sie sind bekannt.", "de"),
                vec!["J. K. Rowling schrieb Bücher.", "Sie sind bekannt."]
            );
            assert_eq!(
                split("Привет. Как дела?", "ru"),
                vec!["Привет.", "Как дела?"]
            );
            assert_eq!(
                split("مرحبا. كيف حالك؟ بخير.", "ar"),
                vec!["مرحبا.", "كيف حالك؟", "بخير."]
            );
        }
    }
}
