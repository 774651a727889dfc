//! Interface languages. Messages live in Fluent files (`locales/<lang>/*.ftl`), never in
//! code; each studio adds its own files. The language is the one the user picked (a
//! cookie), else the best match for the browser's `Accept-Language`, else English.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A shipped interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Language {
    pub code: &'static str,
    /// The language's name in itself, as the switcher shows it.
    pub name: &'static str,
    pub rtl: bool,
}

/// Every language Tutti ships; the first is the fallback.
pub const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        name: "English",
        rtl: false,
    },
    Language {
        code: "he",
        name: "עברית",
        rtl: true,
    },
];

/// The name of the cookie that remembers the user's choice.
pub const LANG_COOKIE: &str = "tutti_lang";

/// The platform's own messages; studios pass theirs to [`I18n::add`].
pub const PLATFORM_MESSAGES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en/platform.ftl")),
    ("he", include_str!("../locales/he/platform.ftl")),
];

/// All message bundles, one per language.
pub struct I18n {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n").finish_non_exhaustive()
    }
}

impl I18n {
    /// Bundles with the platform messages loaded.
    pub fn new() -> I18n {
        let mut bundles = HashMap::new();
        for lang in LANGUAGES {
            let id: LanguageIdentifier = lang.code.parse().expect("shipped language id");
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Pages mark direction with dir attributes; isolation marks would leak into
            // attributes and form values.
            bundle.set_use_isolating(false);
            bundles.insert(lang.code, bundle);
        }
        let mut i18n = I18n { bundles };
        i18n.add(PLATFORM_MESSAGES);
        i18n
    }

    /// Adds message files. A broken file is a bug in the binary, so it panics at start-up
    /// rather than showing message ids to users later.
    pub fn add(&mut self, files: &[(&'static str, &'static str)]) {
        for (code, source) in files {
            let bundle = self
                .bundles
                .get_mut(code)
                .unwrap_or_else(|| panic!("no language {code}"));
            let resource = FluentResource::try_new(source.to_string())
                .unwrap_or_else(|(_, errors)| panic!("bad Fluent file for {code}: {errors:?}"));
            bundle.add_resource(resource).unwrap_or_else(|errors| {
                panic!("duplicate Fluent messages for {code}: {errors:?}")
            });
        }
    }

    /// The message `key` in `lang`, falling back to English, then to the key itself.
    pub fn text(&self, lang: &str, key: &str, args: &[(&str, String)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, FluentValue::from(value.clone()));
        }
        for code in [lang, LANGUAGES[0].code] {
            let Some(bundle) = self.bundles.get(code) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            return text.into_owned();
        }
        tracing::warn!(key, lang, "missing message");
        key.to_string()
    }

    /// Every message id in a language, so tests can prove the translations are complete.
    pub fn has(&self, lang: &str, key: &str) -> bool {
        self.bundles.get(lang).is_some_and(|b| b.has_message(key))
    }
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

/// The request's interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(pub &'static Language);

impl Lang {
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    pub fn dir(&self) -> &'static str {
        if self.0.rtl { "rtl" } else { "ltr" }
    }

    /// The shipped language with this code, if any.
    pub fn find(code: &str) -> Option<Lang> {
        LANGUAGES.iter().find(|l| l.code == code).map(Lang)
    }

    /// Picks from the remembered choice, else from `Accept-Language`.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::find) {
            return lang;
        }
        let requested = fluent_langneg::accepted_languages::parse(accept_language.unwrap_or(""));
        let available: Vec<fluent_langneg::LanguageIdentifier> = LANGUAGES
            .iter()
            .map(|l| l.code.parse().expect("shipped language id"))
            .collect();
        let default: fluent_langneg::LanguageIdentifier =
            LANGUAGES[0].code.parse().expect("shipped language id");
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            Some(&default),
            fluent_langneg::NegotiationStrategy::Filtering,
        );
        chosen
            .first()
            .and_then(|id| Lang::find(id.language.as_str()))
            .unwrap_or(Lang(&LANGUAGES[0]))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let cookie = cookie_value(parts, LANG_COOKIE);
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(Lang::negotiate(cookie.as_deref(), accept))
    }
}

/// Reads one cookie from the request headers.
pub fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_the_cookie_then_the_browser() {
        assert_eq!(
            Lang::negotiate(None, Some("he-IL,he;q=0.9,en;q=0.8")).code(),
            "he"
        );
        assert_eq!(Lang::negotiate(None, Some("fr-FR, en;q=0.5")).code(), "en");
        assert_eq!(Lang::negotiate(None, Some("yi, de")).code(), "en");
        assert_eq!(Lang::negotiate(Some("en"), Some("he")).code(), "en");
        assert_eq!(Lang::negotiate(Some("xx"), Some("he")).code(), "he");
        assert_eq!(Lang::negotiate(None, None).dir(), "ltr");
        assert_eq!(Lang::find("he").unwrap().dir(), "rtl");
    }

    #[test]
    fn every_english_message_has_a_hebrew_translation() {
        let i18n = I18n::new();
        for (code, source) in PLATFORM_MESSAGES.iter().filter(|(c, _)| *c == "en") {
            let resource = FluentResource::try_new(source.to_string()).unwrap();
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    assert!(
                        i18n.has("he", m.id.name),
                        "{code}: {} has no Hebrew",
                        m.id.name
                    );
                }
            }
        }
    }

    #[test]
    fn messages_take_arguments_and_fall_back_to_english() {
        let mut i18n = I18n::new();
        i18n.add(&[("en", "greet = Hello, { $name }!")]);
        assert_eq!(
            i18n.text("he", "greet", &[("name", "Dana".into())]),
            "Hello, Dana!"
        );
        assert_eq!(i18n.text("he", "no-such-key", &[]), "no-such-key");
    }
}
