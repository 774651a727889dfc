//! Sentence lists for short-clip campaigns (one clip per sentence, as in Common Voice):
//! either one sentence per line, or a TSV with a header row.
//!
//! Lists are curated by people, so sentences are taken as written (only whitespace is
//! collapsed; no brackets removed, nothing split). TSV cells are not unquoted: Common
//! Voice's files are plain tab-separated text, and a quote at both ends of a sentence is
//! more often a quotation than CSV-style quoting.

use std::collections::{HashMap, HashSet};

use super::TextError;
use super::clean::collapse_whitespace;
use super::decode;

const FIELD: &str = "file";

/// A sentence list for short-clip campaigns: one sentence per line, or TSV whose header
/// row has an `id` column and a `sentence` (or `text`) column; returns (optional external
/// id, sentence). Blank lines skipped; duplicates (same text) dropped keeping the first; a
/// TSV row without a sentence is an error naming the line number.
///
/// The file is a TSV when its first non-blank line has a tab (or is just `sentence`); the
/// `id` column is optional, so a Common Voice `sentence`-only file works too. Two rows
/// giving one id to different sentences are an error, since the id is how exports refer
/// back to the source.
pub fn sentence_list(bytes: &[u8]) -> Result<Vec<(Option<String>, String)>, TextError> {
    let text = decode(bytes)?;
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let Some(first) = lines.iter().position(|line| !line.trim().is_empty()) else {
        return Err(empty());
    };
    let header = lines[first].trim_start_matches('\u{FEFF}');
    let single = header.trim().to_lowercase();
    let rows = if header.contains('\t') || single == "sentence" {
        tsv(&lines, first, header)?
    } else {
        lines
            .iter()
            .enumerate()
            .map(|(index, line)| (index + 1, None, collapse_whitespace(line)))
            .filter(|(_, _, sentence)| !sentence.is_empty())
            .collect()
    };

    let mut seen_text = HashSet::new();
    let mut seen_id: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (line, id, sentence) in rows {
        if !seen_text.insert(sentence.clone()) {
            continue;
        }
        if let Some(id) = &id
            && let Some(first_line) = seen_id.insert(id.clone(), line)
        {
            return Err(TextError::DuplicateId {
                field: FIELD,
                line,
                detail: format!(
                    "line {line} uses the id \"{id}\" that line {first_line} already gave to another sentence; ids must be unique"
                ),
            });
        }
        out.push((id, sentence));
    }
    if out.is_empty() {
        return Err(empty());
    }
    Ok(out)
}

/// Rows of a TSV as (line number, id, sentence).
fn tsv(
    lines: &[&str],
    first: usize,
    header: &str,
) -> Result<Vec<(usize, Option<String>, String)>, TextError> {
    let columns: Vec<String> = header
        .split('\t')
        .map(|name| name.trim().to_lowercase())
        .collect();
    let find = |name: &str| columns.iter().position(|column| column == name);
    let Some(sentence_column) = find("sentence").or_else(|| find("text")) else {
        return Err(TextError::BadHeader {
            field: FIELD,
            detail: format!(
                "line {} has tabs, so the file is read as a table, but its header has no \"sentence\" (or \"text\") column; name the columns, e.g. \"id<TAB>sentence\", or put one sentence per line without tabs",
                first + 1
            ),
        });
    };
    let id_column = find("id");
    let mut rows = Vec::new();
    for (index, line) in lines.iter().enumerate().skip(first + 1) {
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let cells: Vec<&str> = line.split('\t').collect();
        let sentence = cells
            .get(sentence_column)
            .map(|cell| collapse_whitespace(cell))
            .unwrap_or_default();
        if sentence.is_empty() {
            return Err(TextError::MissingSentence {
                field: FIELD,
                line: number,
                detail: format!(
                    "line {number} has no sentence in column {} (\"{}\"); fill it in or delete the line",
                    sentence_column + 1,
                    columns[sentence_column]
                ),
            });
        }
        let id = id_column
            .and_then(|column| cells.get(column))
            .map(|cell| cell.trim().to_owned())
            .filter(|cell| !cell.is_empty());
        rows.push((number, id, sentence));
    }
    Ok(rows)
}

fn empty() -> TextError {
    TextError::EmptyText {
        field: FIELD,
        detail: "the list has no sentences; put one sentence on each line".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(Option<&str>, &str)]) -> Vec<(Option<String>, String)> {
        items
            .iter()
            .map(|(id, s)| (id.map(str::to_owned), (*s).to_owned()))
            .collect()
    }

    #[test]
    fn one_sentence_per_line() {
        let list = sentence_list(
            "\u{FEFF}First  sentence.\r\n\r\nשלום עולם.\nFirst sentence.\n  Third one. \n"
                .as_bytes(),
        );
        // The BOM is dropped by decoding; the duplicate goes.
        assert_eq!(
            list.unwrap(),
            pairs(&[
                (None, "First sentence."),
                (None, "שלום עולם."),
                (None, "Third one."),
            ])
        );
    }

    #[test]
    fn tsv_with_ids() {
        let source = "client\tid\tSentence\tsource\nx\ts1\tHello there.\tbook\n\n\
                      x\ts2\tGood  morning.\tweb\nx\t\tNo id here.\tweb\nx\ts3\tHello there.\tdup\n";
        assert_eq!(
            sentence_list(source.as_bytes()).unwrap(),
            pairs(&[
                (Some("s1"), "Hello there."),
                (Some("s2"), "Good morning."),
                (None, "No id here."),
            ])
        );
    }

    #[test]
    fn tsv_with_text_column_or_sentence_only() {
        assert_eq!(
            sentence_list(b"text\tid\nOne.\t1\nTwo.\t2\n").unwrap(),
            pairs(&[(Some("1"), "One."), (Some("2"), "Two.")])
        );
        assert_eq!(
            sentence_list(b"sentence\nOne.\nTwo.\n").unwrap(),
            pairs(&[(None, "One."), (None, "Two.")])
        );
    }

    #[test]
    fn row_without_sentence_names_its_line() {
        let error = sentence_list(b"id\tsentence\n1\tOne.\n\n2\t  \n").unwrap_err();
        assert_eq!(error.kind(), "missing-sentence");
        assert_eq!(error.field(), "file");
        assert!(
            matches!(error, TextError::MissingSentence { line: 4, .. }),
            "{error:?}"
        );
        assert!(error.detail().contains("line 4"), "{}", error.detail());
        let error = sentence_list(b"id\tsentence\n1\n").unwrap_err();
        assert!(
            matches!(error, TextError::MissingSentence { line: 2, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn bad_headers_and_duplicate_ids() {
        let error = sentence_list(b"id\tphrase\n1\tOne.\n").unwrap_err();
        assert_eq!(error.kind(), "bad-header");
        let error = sentence_list(b"id\tsentence\na\tOne.\na\tTwo.\n").unwrap_err();
        assert_eq!(error.kind(), "duplicate-id");
        assert!(
            matches!(error, TextError::DuplicateId { line: 3, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn empty_and_undecodable_lists() {
        assert_eq!(sentence_list(b" \n\n").unwrap_err().kind(), "empty-text");
        assert_eq!(
            sentence_list(b"id\tsentence\n").unwrap_err().kind(),
            "empty-text"
        );
        assert_eq!(sentence_list(b"\xF9\xEC\n").unwrap_err().kind(), "not-utf8");
    }
}
