//! The accounts' JSON API under `/api/v1`, described in the OpenAPI document from the
//! annotations here. Handlers parse, call [`crate::admin`] or the queries, and render.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tutti_web::{Json, Problem, Query};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::admin::{self, Actor, NewToken};
use crate::db::{self, ApiToken, UserSummary};
use crate::domain::{TokenScope, parse_name};
use crate::mail::OutboxMessage;
use crate::{Accounts, Identity};
use tutti_platform::{Access, Role, Routes};

/// The accounts' API routes (mounted under `/api/v1`), each group with who may call it.
pub fn api() -> Routes<Accounts> {
    let admin = Access::admin;
    Routes::new()
        .api(Access::SignedIn, routes!(me, update_me))
        .api(Access::SignedIn, routes!(list_tokens, create_token))
        .api(Access::SignedIn, routes!(revoke_token))
        .api(admin(), routes!(list_users))
        .api(admin(), routes!(grant_role, revoke_role))
        .api(admin(), routes!(invite))
        .api(admin(), routes!(outbox))
}

/// The signed-in person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    /// Set when a delegate token acts for this person: the token owner's email.
    pub acting_for_them: Option<String>,
}

#[utoipa::path(get, path = "/me", tag = "accounts",
    summary = "Who is asking: the signed-in person, their roles, and whom a delegate acts for",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(identity: Identity) -> Json<Me> {
    Json(me_of(&identity))
}

fn me_of(identity: &Identity) -> Me {
    Me {
        id: identity.user.id.clone(),
        email: identity.user.email.clone(),
        name: identity.user.name.clone(),
        roles: identity.roles.clone(),
        acting_for_them: match &identity.via {
            tutti_platform::Via::Delegated { actor, .. } => Some(actor.email.clone()),
            _ => None,
        },
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMe {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub name: String,
}

#[utoipa::path(patch, path = "/me", tag = "accounts", request_body = UpdateMe,
    summary = "Change your display name",
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn update_me(
    State(p): State<Accounts>,
    mut identity: Identity,
    Json(body): Json<UpdateMe>,
) -> Result<Json<Me>, Problem> {
    let name = parse_name(&body.name, "name")?;
    db::set_name(p.db.pool(), &identity.user.id, &name).await?;
    identity.user.name = name;
    Ok(Json(me_of(&identity)))
}

#[utoipa::path(get, path = "/me/tokens", tag = "accounts",
    summary = "Your API tokens (never their secrets)",
    responses((status = 200, body = Vec<ApiToken>), (status = 401, body = Problem)))]
async fn list_tokens(
    State(p): State<Accounts>,
    identity: Identity,
) -> Result<Json<Vec<ApiToken>>, Problem> {
    Ok(Json(db::tokens_of(p.db.pool(), &identity.user.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateToken {
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub name: String,
    #[serde(default)]
    pub scope: Option<TokenScope>,
    /// Days until the token stops working (1 to 3650). Without it, `api` tokens never
    /// expire and `delegate` tokens expire after 30 days.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// Creates a token; a delegate token acting for someone may not (403).
#[utoipa::path(post, path = "/me/tokens", tag = "accounts", request_body = CreateToken,
    summary = "Create an API token; its secret is in this answer only",
    responses((status = 201, body = NewToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(p): State<Accounts>,
    identity: Identity,
    Json(body): Json<CreateToken>,
) -> Result<impl IntoResponse, Problem> {
    let scope = body.scope.unwrap_or(TokenScope::Api);
    let token = admin::create_token_for(
        &p,
        &identity.user,
        identity.is_admin(),
        &body.name,
        scope,
        body.expires_in_days,
        Actor::Web(&identity),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// Revokes a token; a delegate token acting for someone may not (403).
#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "accounts",
    summary = "Revoke one of your API tokens",
    params(("id" = String, Path, description = "token id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(p): State<Accounts>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    admin::revoke_token(&p, &identity, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/users", tag = "admin",
    summary = "Everyone with an account or a role waiting for sign-up",
    responses((status = 200, body = Vec<UserSummary>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_users(State(p): State<Accounts>) -> Result<Json<Vec<UserSummary>>, Problem> {
    Ok(Json(admin::list_users(&p).await?))
}

#[utoipa::path(put, path = "/admin/users/{email}/roles/{role}", tag = "admin",
    summary = "Grant a role to an email (the person need not have signed up yet)",
    params(("email" = String, Path), ("role" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn grant_role(
    State(p): State<Accounts>,
    identity: Identity,
    Path((email, role)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let role = p.role(&role, "role")?;
    admin::grant_role(&p, &email, role, Actor::Web(&identity)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/admin/users/{email}/roles/{role}", tag = "admin",
    summary = "Revoke a role (the last administrator keeps theirs)",
    params(("email" = String, Path), ("role" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn revoke_role(
    State(p): State<Accounts>,
    identity: Identity,
    Path((email, role)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let role = p.role(&role, "role")?;
    admin::revoke_role(&p, &email, role, Actor::Web(&identity)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Invitation {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Roles the person gets from their first sign-in, each at most once.
    #[serde(default)]
    pub roles: Vec<Role>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Invited {
    /// The link that lets the person choose a password; absent when they have an account.
    pub link: Option<String>,
    /// Whether the link was mailed (otherwise an admin must pass it on).
    pub mailed: bool,
}

#[utoipa::path(post, path = "/admin/invitations", tag = "admin", request_body = Invitation,
    summary = "Invite someone by email, with roles from their first sign-in",
    responses((status = 201, body = Invited), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn invite(
    State(p): State<Accounts>,
    identity: Identity,
    Json(body): Json<Invitation>,
) -> Result<impl IntoResponse, Problem> {
    let link = admin::invite(&p, &body.email, &body.roles, Actor::Web(&identity)).await?;
    Ok((
        StatusCode::CREATED,
        Json(Invited {
            mailed: link.is_some() && p.mailer.sends(),
            link,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    /// queued, sent, held, passed-on, failed or lapsed (all when absent)
    #[param(pattern = "^(queued|sent|held|passed-on|failed|lapsed|all)?$")]
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/admin/outbox", tag = "admin", params(OutboxFilter),
    summary = "Outgoing mail: messages waiting, sent, held for an admin, or failed",
    responses((status = 200, body = Vec<OutboxMessage>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn outbox(
    State(p): State<Accounts>,
    Query(q): Query<OutboxFilter>,
) -> Result<Json<Vec<OutboxMessage>>, Problem> {
    let status = match q.status.as_deref() {
        None | Some("" | "all") => None,
        Some(s) if OUTBOX_STATUSES.contains(&s) => Some(s),
        Some(s) => {
            return Err(Problem::invalid(
                "status",
                format!(
                    "{:?} is not a message status; use one of {}.",
                    s.chars().take(40).collect::<String>(),
                    OUTBOX_STATUSES.join(", ")
                ),
            ));
        }
    };
    Ok(Json(p.mailer.list(status, 200).await?))
}

/// The states an outbox message moves through, as the filter takes them.
const OUTBOX_STATUSES: [&str; 6] = ["queued", "sent", "held", "passed-on", "failed", "lapsed"];
