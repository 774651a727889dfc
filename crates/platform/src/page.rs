//! The page shell every studio renders through: the [`Page`] extractor (renderer, layout
//! context, the person), the error page that problems on navigations become, and the
//! cookies the platform sets.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tutti_web::render::ShownProblem;
use tutti_web::{Lang, PageCtx, Problem, Web};

use crate::Platform;
use crate::identity::Identity;

/// What a page handler needs: the renderer, the layout context and the person, if any.
pub struct Page {
    pub web: Web,
    pub ctx: PageCtx,
    pub identity: Option<Identity>,
}

impl Page {
    /// Renders a template with this request's layout context.
    pub fn render(&self, template: &str, data: impl serde::Serialize) -> Result<Response, Problem> {
        self.web
            .render(&self.ctx, template, data)
            .map(IntoResponse::into_response)
    }

    /// A message in the page's language, for text built in handlers.
    pub fn t(&self, key: &str) -> String {
        self.web.t(&self.ctx, key)
    }

    /// A problem as this page shows it (beside its field, or at the top of a form): in
    /// the page's language when it has the words for it.
    pub fn shown(&self, problem: &Problem) -> ShownProblem {
        self.web.shown_problem(self.ctx.lang, problem)
    }
}

fn ctx_for(p: &Platform, lang: Lang, identity: Option<&Identity>, here: String) -> PageCtx {
    let csrf = identity.map(Identity::csrf).unwrap_or_default();
    let mut ctx = PageCtx::new(lang, identity.map(Identity::viewer), csrf, here);
    ctx.nav = p.nav.iter().map(|n| n.link()).collect();
    ctx.admin_tabs = p.admin_tabs.iter().map(|n| n.link()).collect();
    ctx
}

impl<S: Send + Sync> FromRequestParts<S> for Page
where
    Platform: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let platform = Platform::from_ref(state);
        let lang = Lang::from_request_parts(parts, state).await?;
        let identity = parts
            .extensions
            .get::<Option<Identity>>()
            .cloned()
            .flatten();
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let ctx = ctx_for(&platform, lang, identity.as_ref(), here);
        Ok(Page {
            web: platform.web.clone(),
            ctx,
            identity,
        })
    }
}

/// The error page a problem on a browser navigation becomes, with the same status and
/// the problem's other headers (`Retry-After`, cookies the handler set or cleared).
pub(crate) async fn problem_page(
    p: &Platform,
    lang: Lang,
    identity: Option<Identity>,
    here: String,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let problem: Problem =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Problem::from_status(status));
    let ctx = ctx_for(p, lang, identity.as_ref(), here);
    let shown = p.web.shown_problem(lang.code(), &problem);
    match p.web.render(
        &ctx,
        "error.html",
        serde_json::json!({ "problem": problem, "shown": shown }),
    ) {
        Ok(html) => {
            let mut page = (status, html).into_response();
            for (name, value) in &parts.headers {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    page.headers_mut().append(name, value.clone());
                }
            }
            page.extensions_mut().extend(parts.extensions);
            page
        }
        Err(p) => p.into_response(),
    }
}

/// A `Set-Cookie` header value for this server's cookies.
pub fn cookie(p: &Platform, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if p.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are URL-safe")
}
