//! Bytes to text. Only encodings that announce themselves are accepted: UTF-8 (with or
//! without a byte-order mark) and UTF-16 with a byte-order mark. Guessing a legacy code
//! page (Windows-1255 for Hebrew, Latin-1 for French) would silently turn a wrong guess
//! into gibberish that volunteers then read aloud, so those files are refused with the
//! place of the first bad byte and a way out.

use super::TextError;

const FIELD: &str = "file";
const SAVE_AS_UTF8: &str =
    "save the file as UTF-8 (in most editors: Save As, Encoding: UTF-8) and upload it again";

/// Bytes of a text file: UTF-8 (a BOM is dropped) or UTF-16 LE/BE with a BOM. Anything
/// else (e.g. Windows-1255 or Latin-1 bytes) is an error that names the byte offset of the
/// first invalid sequence and suggests saving the file as UTF-8.
pub fn decode(bytes: &[u8]) -> Result<String, TextError> {
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) || bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Err(not_utf8(
            0,
            format!("the file is in UTF-32, which is not supported; {SAVE_AS_UTF8}"),
        ));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, 3);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    utf8(bytes, 0)
}

/// `base` is how many bytes (the BOM) precede `bytes` in the file, so offsets match what
/// a hex editor shows.
fn utf8(bytes: &[u8], base: usize) -> Result<String, TextError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            // UTF-16 without a BOM, and binary files, pass as "valid UTF-8" full of NULs.
            if let Some(at) = text.find('\0') {
                return Err(not_utf8(
                    base + at,
                    format!(
                        "the file has a NUL byte at offset {}: it is not a plain text file, or it is UTF-16 without a byte-order mark; {SAVE_AS_UTF8}",
                        base + at
                    ),
                ));
            }
            Ok(text.to_owned())
        }
        Err(error) => {
            let at = error.valid_up_to();
            let len = error.error_len().unwrap_or(bytes.len() - at).clamp(1, 4);
            let shown: Vec<String> = bytes[at..(at + len).min(bytes.len())]
                .iter()
                .map(|b| format!("0x{b:02X}"))
                .collect();
            Err(not_utf8(
                base + at,
                format!(
                    "the file is not UTF-8: the bytes at offset {} ({}) are not valid UTF-8, so it is probably in an older encoding such as Windows-1255 or Latin-1; {SAVE_AS_UTF8}",
                    base + at,
                    shown.join(" ")
                ),
            ))
        }
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, TextError> {
    if bytes.len() % 2 == 1 {
        return Err(not_utf8(
            2 + bytes.len() - 1,
            format!(
                "the file starts like UTF-16 but ends in half a character at offset {}: it may be cut short; {SAVE_AS_UTF8}",
                2 + bytes.len() - 1
            ),
        ));
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| unit([pair[0], pair[1]]))
        .collect();
    let mut text = String::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(decoded) = char::decode_utf16(units[index..].iter().copied()).next() {
        let offset = 2 + index * 2;
        match decoded {
            Ok('\0') => {
                return Err(not_utf8(
                    offset,
                    format!(
                        "the file has a NUL character at offset {offset}: it is not a plain text file; {SAVE_AS_UTF8}"
                    ),
                ));
            }
            Ok(c) => {
                text.push(c);
                index += c.len_utf16();
            }
            Err(_) => {
                return Err(not_utf8(
                    offset,
                    format!(
                        "the file is UTF-16 but the bytes at offset {offset} are half of a character pair (a lone surrogate); {SAVE_AS_UTF8}"
                    ),
                ));
            }
        }
    }
    Ok(text)
}

fn not_utf8(offset: usize, detail: String) -> TextError {
    TextError::NotUtf8 {
        field: FIELD,
        offset,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(error: TextError) -> usize {
        match error {
            TextError::NotUtf8 { offset, .. } => offset,
            other => panic!("expected not-utf8, got {other:?}"),
        }
    }

    #[test]
    fn plain_utf8_passes_through() {
        assert_eq!(decode("שלום, world".as_bytes()).unwrap(), "שלום, world");
        assert_eq!(decode(b"").unwrap(), "");
    }

    #[test]
    fn utf8_bom_is_dropped() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("Bonjour.".as_bytes());
        assert_eq!(decode(&bytes).unwrap(), "Bonjour.");
    }

    #[test]
    fn utf16_le_and_be_with_bom() {
        let text = "שלום 👋 a";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
            be.extend_from_slice(&unit.to_be_bytes());
        }
        assert_eq!(decode(&le).unwrap(), text);
        assert_eq!(decode(&be).unwrap(), text);
    }

    #[test]
    fn windows_1255_is_refused_with_the_offset() {
        // "Shalom " in Windows-1255: ש=0xF9 ל=0xEC ו=0xE5 ם=0xED, after 3 ASCII bytes.
        let bytes = b"ok \xF9\xEC\xE5\xED";
        let error = decode(bytes).unwrap_err();
        assert_eq!(error.kind(), "not-utf8");
        assert_eq!(error.field(), "file");
        assert!(error.detail().contains("offset 3"), "{}", error.detail());
        assert!(error.detail().contains("0xF9"), "{}", error.detail());
        assert!(error.detail().contains("UTF-8"), "{}", error.detail());
        assert_eq!(offset(error), 3);
    }

    #[test]
    fn latin1_after_a_bom_counts_the_bom() {
        let error = decode(b"\xEF\xBB\xBFcaf\xE9 au lait").unwrap_err();
        assert_eq!(offset(error), 6);
    }

    #[test]
    fn utf16_without_bom_is_refused() {
        let bytes: Vec<u8> = "hi".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let error = decode(&bytes).unwrap_err();
        assert_eq!(offset(error), 1);
    }

    #[test]
    fn broken_utf16_is_refused() {
        assert_eq!(offset(decode(&[0xFF, 0xFE, 0x41]).unwrap_err()), 2);
        // "A", a lone high surrogate, then "A": the offset counts code units, not chars.
        assert_eq!(
            offset(decode(&[0xFF, 0xFE, 0x41, 0x00, 0x3D, 0xD8, 0x41, 0x00]).unwrap_err()),
            4
        );
        // After an emoji (two code units) the offset still matches the bytes.
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend("👋".encode_utf16().flat_map(u16::to_le_bytes));
        bytes.extend_from_slice(&[0x00, 0xDC]);
        assert_eq!(offset(decode(&bytes).unwrap_err()), 6);
        assert_eq!(
            decode(&[0xFF, 0xFE, 0, 0, 0x41, 0, 0, 0])
                .unwrap_err()
                .kind(),
            "not-utf8"
        );
    }
}
