//! One rule for short text people type (names, labels, titles): trimmed, a length in
//! characters, and no control or bidirectional-formatting characters, which would let a
//! name reorder or hide the text around it where it is shown (pages, logs, mail).

use crate::Problem;

/// Characters that change the direction of surrounding text (RLO, LRI, …) or are invisible
/// direction marks; legitimate right-to-left text needs none of them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// [`single_line`]'s rule as a regular expression (ECMA-262 and Python alike), for API
/// documents: at least one visible character, none of the refused ones.
pub const SINGLE_LINE_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$";

/// Whether `c` may appear in a one-line text a person typed.
pub fn is_allowed(c: char) -> bool {
    !c.is_control() && !is_bidi_control(c)
}

/// A one-line text for the request field `field`: trimmed, 1 to `max` characters, no
/// control or bidi-formatting characters. `what` names it in the error ("The name").
pub fn single_line(raw: &str, field: &str, what: &str, max: usize) -> Result<String, Problem> {
    let text = raw.trim();
    // The limit counts what was sent, spaces included, as the API schema's maxLength does.
    if text.is_empty() || raw.chars().count() > max {
        return Err(Problem::invalid(
            field,
            format!("{what} must have between 1 and {max} characters."),
        ));
    }
    if let Some(bad) = text.chars().find(|c| !is_allowed(*c)) {
        return Err(Problem::invalid(
            field,
            format!(
                "{what} contains the invisible character U+{:04X}; remove it.",
                bad as u32
            ),
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_real_scripts_and_lose_control_characters() {
        assert_eq!(
            single_line("  דנה כהן ", "name", "The name", 100).unwrap(),
            "דנה כהן"
        );
        for bad in [
            "a\u{0000}b",
            "\u{001b}[31mred",
            "evil\u{202e}gnp.exe",
            "",
            "   ",
        ] {
            let p = single_line(bad, "name", "The name", 100).unwrap_err();
            assert_eq!(p.field.as_deref(), Some("name"), "{bad:?}");
        }
        assert!(single_line(&"x".repeat(101), "name", "The name", 100).is_err());
    }
}
