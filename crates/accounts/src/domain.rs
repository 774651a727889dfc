//! Account rules as types: once a value has parsed, nobody checks it again. Parse errors
//! name the field and the rule broken so the edge can answer with a precise problem.

use std::fmt;
use std::str::FromStr;

use crate::AccountsError;
use serde::{Deserialize, Serialize};

/// A lower-cased email address with one `@` and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, AccountsError> {
        let email = raw.trim().to_lowercase();
        // The local part takes RFC 5322's atom characters (no slashes, quotes or
        // invisible characters); the domain takes letters of any script, digits and
        // hyphens in dot-separated labels.
        // RFC 5322 atext, and dots between atoms.
        let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let valid = email.len() <= 254
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && local.chars().all(atom)
                        && !local.starts_with('.')
                        && !local.ends_with('.')
                        && !local.contains("..")
                        && domain.contains('.')
                        && domain.split('.').all(label_ok)
                }
                None => false,
            };
        if valid {
            Ok(Email(email))
        } else {
            let shown: String = raw
                .chars()
                .take(80)
                .filter(|c| tutti_web::text::is_allowed(*c))
                .collect();
            Err(AccountsError::invalid(
                "email",
                format!("{shown:?} is not an email address; write it like name@example.org."),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Act as the token's owner.
    Api,
    /// Act on behalf of any non-admin user named in the `X-Tutti-On-Behalf-Of` header;
    /// only admins create these, for trusted systems, and every use is audited.
    Delegate,
    /// A key for music apps speaking the Subsonic API (its `apiKey`): apps put it in
    /// stream URLs, so it opens `/rest/` only and is refused as a bearer token.
    Subsonic,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Api => "api",
            TokenScope::Delegate => "delegate",
            TokenScope::Subsonic => "subsonic",
        }
    }
}

impl FromStr for TokenScope {
    type Err = AccountsError;

    fn from_str(s: &str) -> Result<TokenScope, AccountsError> {
        match s.trim() {
            "api" | "" => Ok(TokenScope::Api),
            "delegate" => Ok(TokenScope::Delegate),
            "subsonic" => Ok(TokenScope::Subsonic),
            other => Err(AccountsError::invalid(
                "scope",
                format!("{other:?} is not a token scope; use api, delegate or subsonic."),
            )),
        }
    }
}

/// A password good enough to keep: long, not just spaces.
pub struct NewPassword(String);

/// Passphrases beat complexity rules; length is the rule that matters.
pub const MIN_PASSWORD_CHARS: usize = 10;

impl NewPassword {
    pub fn parse(raw: &str, field: &str) -> Result<NewPassword, AccountsError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS || raw.trim().is_empty() {
            return Err(AccountsError::invalid(
                field,
                format!(
                    "The password must have at least {MIN_PASSWORD_CHARS} characters; a few words in a row make a good one."
                ),
            ));
        }
        if chars > 512 {
            return Err(AccountsError::invalid(
                field,
                "The password is longer than 512 characters.",
            ));
        }
        Ok(NewPassword(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1 to 100 characters.
pub fn parse_name(raw: &str, field: &str) -> Result<String, AccountsError> {
    tutti_web::text::single_line(raw, field, "The name", 100)
        .map_err(|p| AccountsError::from_text(p, field))
}

/// A label for a token: trimmed, 1 to 80 characters, saying what uses it.
pub fn parse_token_name(raw: &str) -> Result<String, AccountsError> {
    tutti_web::text::single_line(raw, "name", "The token's name", 80)
        .map_err(|p| AccountsError::from_text(p, "name"))
}

/// A path to return to after sign-in; only local paths, so the link cannot send the
/// user to another site.
pub fn safe_next(raw: Option<&str>) -> String {
    safe_next_or(raw, "/profile")
}

/// A local path to send the browser on to, or `fallback` when `raw` could lead anywhere
/// else: it must start with one `/`, and hold no backslash (browsers read `/\host` as
/// `//host`) and no whitespace or control character (browsers drop tabs and newlines
/// from URLs, so `/<tab>/host` would become `//host`).
pub fn safe_next_or(raw: Option<&str>, fallback: &str) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            p.to_string()
        }
        _ => fallback.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Dana@Example.ORG ").unwrap().as_str(),
            "dana@example.org"
        );
        for bad in [
            "",
            "dana",
            "dana@",
            "@example.org",
            "dana@example",
            "a b@example.org",
            "a@b@c.org",
            "dana@.org",
            "\u{202e}admin@x.org",
            "../../etc/passwd@x.org",
            "a..b@example.org",
            "dana@-x.org",
        ] {
            let e = Email::parse(bad).unwrap_err();
            assert!(
                matches!(&e, AccountsError::Invalid { field, .. } if field == "email"),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn passwords_must_be_long_enough() {
        assert!(NewPassword::parse("short", "password").is_err());
        assert!(NewPassword::parse("          ", "password").is_err());
        assert!(NewPassword::parse("correct horse battery", "password").is_ok());
    }

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next(Some("/admin/users?x=1")), "/admin/users?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/profile");
        assert_eq!(safe_next(Some("https://evil.example")), "/profile");
        assert_eq!(safe_next(Some("/\\evil.example")), "/profile");
        assert_eq!(safe_next(None), "/profile");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/profile");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/profile");
        assert_eq!(safe_next_or(Some("/\\evil.example"), "/"), "/");
        assert_eq!(safe_next_or(Some("/profile"), "/"), "/profile");
    }
}
