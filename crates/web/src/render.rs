//! Server-rendered pages: one minijinja environment with every crate's templates, the
//! `t()` function that looks messages up in the request's language, and the per-request
//! context every layout needs.

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
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "en".into());
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

    #[test]
    fn times_render_as_utc_dates() {
        assert_eq!(format_ms(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(format_ms(Some(1_795_435_200_000)), "2026-11-23 12:00 UTC");
        assert_eq!(format_ms(None), "");
    }
}
