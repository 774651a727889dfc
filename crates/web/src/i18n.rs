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

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use fluent_syntax::ast;

    /// Each message (and attribute) of a Fluent file, with the variables it uses.
    fn messages_of(source: &str, what: &str) -> BTreeMap<String, BTreeSet<String>> {
        let resource = fluent_syntax::parser::parse(source)
            .unwrap_or_else(|(_, errors)| panic!("{what} does not parse: {errors:?}"));
        let mut messages = BTreeMap::new();
        for entry in resource.body {
            let (id, value, attributes) = match entry {
                ast::Entry::Message(m) => (m.id.name.to_string(), m.value, m.attributes),
                ast::Entry::Term(t) => (format!("-{}", t.id.name), Some(t.value), t.attributes),
                _ => continue,
            };
            let mut vars = BTreeSet::new();
            if let Some(value) = &value {
                pattern_vars(value, &mut vars);
            }
            for attribute in &attributes {
                let mut attr_vars = BTreeSet::new();
                pattern_vars(&attribute.value, &mut attr_vars);
                messages.insert(format!("{id}.{}", attribute.id.name), attr_vars);
            }
            assert!(
                messages.insert(id.clone(), vars).is_none(),
                "{what}: {id} is defined twice"
            );
        }
        messages
    }

    fn pattern_vars(pattern: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_vars(expression, vars);
            }
        }
    }

    fn expression_vars(expression: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
        match expression {
            ast::Expression::Select { selector, variants } => {
                inline_vars(selector, vars);
                for variant in variants {
                    pattern_vars(&variant.value, vars);
                }
            }
            ast::Expression::Inline(inline) => inline_vars(inline, vars),
        }
    }

    fn inline_vars(inline: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                vars.insert(id.name.to_string());
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                for arg in &arguments.positional {
                    inline_vars(arg, vars);
                }
                for arg in &arguments.named {
                    inline_vars(&arg.value, vars);
                }
            }
            ast::InlineExpression::TermReference {
                arguments: Some(arguments),
                ..
            } => {
                for arg in &arguments.positional {
                    inline_vars(arg, vars);
                }
                for arg in &arguments.named {
                    inline_vars(&arg.value, vars);
                }
            }
            ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
            _ => {}
        }
    }

    /// Every crate's `locales/<lang>/<file>.ftl`, by crate and file name, then language.
    fn locale_files() -> BTreeMap<(String, String), BTreeMap<&'static str, String>> {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut files: BTreeMap<(String, String), BTreeMap<&'static str, String>> = BTreeMap::new();
        for krate in std::fs::read_dir(crates).unwrap() {
            let krate = krate.unwrap().path();
            let locales = krate.join("locales");
            if !locales.is_dir() {
                continue;
            }
            let name = krate.file_name().unwrap().to_string_lossy().to_string();
            for dir in std::fs::read_dir(&locales).unwrap() {
                let dir = dir.unwrap().path();
                let code = dir.file_name().unwrap().to_string_lossy().to_string();
                let lang = Lang::find(&code)
                    .unwrap_or_else(|| panic!("{}: {code} is not a shipped language", name));
                for file in std::fs::read_dir(&dir).unwrap() {
                    let file = file.unwrap().path();
                    if file.extension().is_some_and(|e| e == "ftl") {
                        let file_name = file.file_name().unwrap().to_string_lossy().to_string();
                        files
                            .entry((name.clone(), file_name))
                            .or_default()
                            .insert(lang.code(), std::fs::read_to_string(&file).unwrap());
                    }
                }
            }
        }
        files
    }

    #[test]
    fn every_crate_has_every_message_in_every_language_with_the_same_variables() {
        let files = locale_files();
        assert!(
            files.keys().any(|(krate, _)| krate == "accounts"),
            "the studios' files are found too: {:?}",
            files.keys()
        );
        let mut wrong = Vec::new();
        for ((krate, file), by_lang) in &files {
            let reference = LANGUAGES[0].code;
            let Some(source) = by_lang.get(reference) else {
                wrong.push(format!("{krate}/locales/{reference}/{file} is missing"));
                continue;
            };
            let expected = messages_of(source, &format!("{krate}/{reference}/{file}"));
            for lang in &LANGUAGES[1..] {
                let Some(source) = by_lang.get(lang.code) else {
                    wrong.push(format!("{krate}/locales/{}/{file} is missing", lang.code));
                    continue;
                };
                let what = format!("{krate}/locales/{}/{file}", lang.code);
                let found = messages_of(source, &what);
                for (id, vars) in &expected {
                    match found.get(id) {
                        None => wrong.push(format!("{what}: {id} is missing")),
                        Some(theirs) if theirs != vars => wrong.push(format!(
                            "{what}: {id} uses {theirs:?}, the {reference} one {vars:?}"
                        )),
                        Some(_) => {}
                    }
                }
                for id in found.keys().filter(|id| !expected.contains_key(*id)) {
                    wrong.push(format!("{what}: {id} is not in the {reference} file"));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "translations differ:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn the_variables_of_a_message_are_found_wherever_they_are() {
        let found = messages_of(
            "a = { $x } and { $y ->\n    [one] { $z }\n   *[other] { NUMBER($n) }\n}\n    .title = { $t }\n",
            "sample",
        );
        let vars = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(found["a"], vars(&["n", "x", "y", "z"]));
        assert_eq!(found["a.title"], vars(&["t"]));
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
