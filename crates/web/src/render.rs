//! Server-rendered pages: one minijinja environment with every crate's templates, the
//! `t()` function that looks messages up in the request's language, and the per-request
//! context every layout needs.
//!
//! Templates have three message functions:
//! - `t(key, name=value…)`: the message as text, for text and attributes alike;
//! - `t_html(key, name=value…)`: the message as markup, each argument isolated in a
//!   `<bdi>` (user data such as names and emails keeps its own direction), or inserted as
//!   it is when the argument is already markup (a `{% set %}` block, e.g. a
//!   `<code dir="ltr">` sample);
//! - `has_t(key)`: whether the message exists, for keys built from data.

use std::sync::Arc;

use axum::response::Html;
use minijinja::value::Kwargs;
use minijinja::{Environment, State};
use serde::Serialize;

use crate::i18n::{I18n, LANGUAGES, Lang, Language};
use crate::problem::Problem;

/// The platform's templates; studios add theirs with [`Web::add_templates`].
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("error.html", include_str!("../templates/error.html")),
];

/// The signed-in person as the layout shows them.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Viewer {
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub is_admin: bool,
}

/// What every page needs to know about the request.
#[derive(Debug, Clone, Serialize)]
pub struct PageCtx {
    pub lang: &'static str,
    pub dir: &'static str,
    pub languages: &'static [Language],
    pub viewer: Option<Viewer>,
    /// The session's CSRF token, put in every form that changes something.
    pub csrf: String,
    /// Path and query of this request, so sign-in and the language switch can return here.
    pub here: String,
    /// The studios' links for the header.
    pub nav: Vec<NavLink>,
    /// The admin area's tabs.
    pub admin_tabs: Vec<NavLink>,
}

/// A link labelled by a message id, so it reads in the page's language.
#[derive(Debug, Clone, Serialize)]
pub struct NavLink {
    pub href: String,
    /// Fluent message id of the link text.
    pub label: String,
}

impl PageCtx {
    pub fn new(lang: Lang, viewer: Option<Viewer>, csrf: String, here: String) -> PageCtx {
        PageCtx {
            lang: lang.code(),
            dir: lang.dir(),
            languages: LANGUAGES,
            viewer,
            csrf,
            here,
            nav: Vec::new(),
            admin_tabs: Vec::new(),
        }
    }
}

/// Templates plus translations; built once at start-up and shared.
#[derive(Clone)]
pub struct Web {
    env: Arc<Environment<'static>>,
    i18n: Arc<I18n>,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web").finish_non_exhaustive()
    }
}

/// Collects templates and messages from every crate before the server starts.
pub struct WebBuilder {
    env: Environment<'static>,
    i18n: I18n,
}

impl WebBuilder {
    pub fn add_templates(mut self, templates: &[(&'static str, &'static str)]) -> Self {
        for (name, source) in templates {
            self.env
                .add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not parse: {e}"));
        }
        self
    }

    pub fn add_messages(mut self, files: &[(&'static str, &'static str)]) -> Self {
        self.i18n.add(files);
        self
    }

    pub fn build(mut self) -> Web {
        let i18n = Arc::new(self.i18n);
        let lookup = i18n.clone();
        self.env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
                let lang = lang_of(state);
                let args: Vec<(&str, String)> = kwargs
                    .args()
                    .map(|name| {
                        let value: minijinja::Value = kwargs.get(name)?;
                        Ok((name, value.to_string()))
                    })
                    .collect::<Result<_, minijinja::Error>>()?;
                Ok(lookup.text(&lang, key, &args))
            },
        );
        let lookup = i18n.clone();
        self.env.add_function(
            "t_html",
            move |state: &State,
                  key: &str,
                  kwargs: Kwargs|
                  -> Result<minijinja::Value, minijinja::Error> {
                let args: Vec<(&str, minijinja::Value)> = kwargs
                    .args()
                    .map(|name| Ok((name, kwargs.get::<minijinja::Value>(name)?)))
                    .collect::<Result<_, minijinja::Error>>()?;
                Ok(minijinja::Value::from_safe_string(markup(
                    &lookup,
                    &lang_of(state),
                    key,
                    &args,
                )))
            },
        );
        let lookup = i18n.clone();
        self.env.add_function("has_t", move |key: &str| -> bool {
            lookup.has(LANGUAGES[0].code, key)
        });
        self.env.add_filter("datetime", format_ms);
        Web {
            env: Arc::new(self.env),
            i18n,
        }
    }
}

impl Web {
    pub fn builder() -> WebBuilder {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        WebBuilder {
            env,
            i18n: I18n::new(),
        }
        .add_templates(TEMPLATES)
    }

    pub fn i18n(&self) -> &I18n {
        &self.i18n
    }

    /// Renders a page: the request's [`PageCtx`] under its own names plus `data`.
    pub fn render(
        &self,
        ctx: &PageCtx,
        template: &str,
        data: impl Serialize,
    ) -> Result<Html<String>, Problem> {
        let mut merged = match serde_json::to_value(ctx) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        match serde_json::to_value(data) {
            Ok(serde_json::Value::Object(map)) => merged.extend(map),
            Ok(serde_json::Value::Null) => {}
            Ok(_) => return Err(Problem::internal(&"page data must be an object")),
            Err(e) => return Err(Problem::internal(&e)),
        }
        let template = self
            .env
            .get_template(template)
            .map_err(|e| Problem::internal(&e))?;
        template
            .render(minijinja::Value::from(minijinja::value::Serde(&merged)))
            .map(Html)
            .map_err(|e| Problem::internal(&format!("{e:#}")))
    }

    /// The message `key` in the page's language, for text built in handlers.
    pub fn t(&self, ctx: &PageCtx, key: &str) -> String {
        self.i18n.text(ctx.lang, key, &[])
    }
}

/// The page's language code, from the layout context.
fn lang_of(state: &State) -> String {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| LANGUAGES[0].code.into())
}

/// Marks where an argument goes while the message is formatted (private-use characters,
/// which no message contains).
const ARG_OPEN: char = '\u{E000}';
const ARG_CLOSE: char = '\u{E001}';

/// The message `key` as HTML: its text escaped, each argument in a `<bdi>` (escaped too),
/// or as it is when the argument is markup already. Missing and empty arguments are
/// empty.
fn markup(i18n: &I18n, lang: &str, key: &str, args: &[(&str, minijinja::Value)]) -> String {
    let marked: Vec<(&str, String)> = args
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, format!("{ARG_OPEN}{i}{ARG_CLOSE}")))
        .collect();
    let text = i18n.text(lang, key, &marked);
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text.as_str();
    while let Some(open) = rest.find(ARG_OPEN) {
        out.push_str(&minijinja::HtmlEscape(&rest[..open]).to_string());
        let after = &rest[open + ARG_OPEN.len_utf8()..];
        let Some(close) = after.find(ARG_CLOSE) else {
            rest = after;
            continue;
        };
        if let Some((_, value)) = after[..close]
            .parse::<usize>()
            .ok()
            .and_then(|i| args.get(i))
        {
            if value.is_safe() {
                out.push_str(value.as_str().unwrap_or_default());
            } else if !(value.is_none() || value.is_undefined()) {
                let shown = value.to_string();
                out.push_str("<bdi>");
                out.push_str(&minijinja::HtmlEscape(&shown).to_string());
                out.push_str("</bdi>");
            }
        }
        rest = &after[close + ARG_CLOSE.len_utf8()..];
    }
    out.push_str(&minijinja::HtmlEscape(rest).to_string());
    out
}

/// A problem as a page shows it: in the page's language when a translation exists
/// (`problem-<type>-<field>`, then `problem-<type>`), else the server's own English
/// words, marked as English. English pages keep the server's words, which often name
/// the value at fault.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShownProblem {
    pub status: u16,
    /// The request field at fault, if any.
    pub field: Option<String>,
    pub detail: String,
    /// The language of `detail` when it is not the page's.
    pub lang: Option<&'static str>,
}

impl Web {
    /// `problem` as a page in `lang` shows it.
    pub fn shown_problem(&self, lang: &str, problem: &Problem) -> ShownProblem {
        let english = LANGUAGES[0].code;
        let kind = problem
            .kind
            .strip_prefix("urn:tutti:problem:")
            .unwrap_or(&problem.kind);
        let field = problem.field.as_deref().filter(|f| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        let translated = (lang != english)
            .then(|| {
                field
                    .map(|f| format!("problem-{kind}-{f}"))
                    .into_iter()
                    .chain([format!("problem-{kind}")])
                    .find(|key| self.i18n.has(lang, key))
                    .map(|key| self.i18n.text(lang, &key, &[]))
            })
            .flatten();
        let untranslated = translated.is_none() && lang != english;
        ShownProblem {
            status: problem.status,
            field: problem.field.clone(),
            detail: translated.unwrap_or_else(|| problem.detail.clone()),
            lang: untranslated.then_some(english),
        }
    }
}

/// Formats Unix milliseconds as a UTC time; pages may localise it in the browser.
fn format_ms(ms: Option<i64>) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    ms.and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Web {
        Web::builder()
            .add_messages(&[
                ("en", "hello = Hello, { $name }!\nplain = A < B\nproblem-test-gone = Gone."),
                ("he", "hello = שלום, { $name }!\nproblem-test-gone = אין כלום."),
            ])
            .add_templates(&[
                ("t.html", "{{ t_html('hello', name=who) }}|{{ has_t('hello') }}|{{ has_t('nope') }}|{{ t_html('plain') }}"),
                ("safe.html", "{% set code %}<code dir=\"ltr\">a &lt;b&gt;</code>{% endset %}{{ t_html('hello', name=code) }}"),
            ])
            .build()
    }

    fn ctx(lang: &str) -> PageCtx {
        PageCtx::new(Lang::find(lang).unwrap(), None, String::new(), "/".into())
    }

    #[test]
    fn messages_as_markup_isolate_their_arguments() {
        let web = web();
        let html = web
            .render(&ctx("he"), "t.html", serde_json::json!({ "who": "<Dana>" }))
            .unwrap()
            .0;
        assert_eq!(html, "שלום, <bdi>&lt;Dana&gt;</bdi>!|True|False|A &lt; B");
        let html = web
            .render(&ctx("en"), "safe.html", serde_json::json!({}))
            .unwrap()
            .0;
        assert_eq!(html, "Hello, <code dir=\"ltr\">a &lt;b&gt;</code>!");
    }

    #[test]
    fn problems_are_worded_in_the_page_language_when_a_translation_exists() {
        let web = web();
        let missing = Problem::new(
            axum::http::StatusCode::GONE,
            "test-gone",
            "There is no job 7.",
        )
        .with_field("id");
        let he = web.shown_problem("he", &missing);
        assert_eq!((he.detail.as_str(), he.lang), ("אין כלום.", None));
        let en = web.shown_problem("en", &missing);
        assert_eq!((en.detail.as_str(), en.lang), ("There is no job 7.", None));
        let other = web.shown_problem("he", &Problem::bad_request("test-other", "No."));
        assert_eq!((other.detail.as_str(), other.lang), ("No.", Some("en")));
    }

    #[test]
    fn times_render_as_utc_dates() {
        assert_eq!(format_ms(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(format_ms(Some(1_795_435_200_000)), "2026-11-23 12:00 UTC");
        assert_eq!(format_ms(None), "");
    }
}
