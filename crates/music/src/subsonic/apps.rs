//! `/music/apps`: how a signed-in person connects a Subsonic app, and their app
//! password for apps that only know token authentication. The password is made by the
//! server, shown once, sealed ([`super::keys`]) and replaceable; API keys, which apps
//! should prefer, are made and revoked with the other keys on the profile page.

use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use tutti_platform::{Access, Identity, Page, Routes};
use tutti_web::{Form, Problem};

use super::{keys, store};
use crate::Music;

pub fn routes(r: Routes<Music>) -> Routes<Music> {
    r.page(Access::SignedIn, Method::GET, "/music/apps", show)
        .page(Access::SignedIn, Method::POST, "/music/apps", act)
}

async fn render(
    m: &Music,
    page: &Page,
    identity: &Identity,
    fresh: Option<String>,
) -> Result<Response, Problem> {
    let current = store::app_password(m.platform.db.pool(), &identity.user.id).await?;
    page.render(
        "music/apps.html",
        json!({
            "server": m.platform.settings.link(""),
            "username": identity.user.email,
            "password_made_at": current.map(|(_, at)| at),
            "fresh": fresh,
        }),
    )
}

async fn show(State(m): State<Music>, page: Page, identity: Identity) -> Result<Response, Problem> {
    render(&m, &page, &identity, None).await
}

#[derive(Debug, Deserialize)]
struct AppsForm {
    /// `create` (or replace) the app password, or `delete` it.
    action: String,
}

async fn act(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Form(form): Form<AppsForm>,
) -> Result<Response, Problem> {
    let user = &identity.user.id;
    match form.action.as_str() {
        "create" => {
            let password = keys::new_password();
            let sealed = m.seal_key()?.seal(user, &password)?;
            let mut db = m.platform.db.write().await?;
            store::set_app_password(&mut *db, user, &sealed, tutti_store::now_ms()).await?;
            drop(db);
            render(&m, &page, &identity, Some(password)).await
        }
        "delete" => {
            let mut db = m.platform.db.write().await?;
            store::delete_app_password(&mut *db, user).await?;
            Ok(Redirect::to("/music/apps").into_response())
        }
        other => Err(Problem::invalid(
            "action",
            format!("`{other}` is not something this page does: create or delete"),
        )),
    }
}
