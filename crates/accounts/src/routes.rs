//! The accounts' JSON API under `/api/v1`, described in the OpenAPI document from the
//! annotations here. Handlers parse, call [`crate::admin`] or the queries, and render.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tutti_store::jobs::{NewJob, SELFTEST, SelfTestPayload};
use tutti_store::{Job, JobStatus};
use tutti_web::{Json, Problem, Query};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{self, Actor, NewToken};
use crate::db::{self, ApiToken, AuditEntry, UserSummary};
use crate::domain::{Role, TokenScope, parse_name};
use crate::mail::OutboxMessage;
use crate::{Identity, Platform};

/// The API routes, already under `/api/v1`.
pub fn api() -> OpenApiRouter<Platform> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(me, update_me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_users))
        .routes(routes!(grant_role, revoke_role))
        .routes(routes!(invite))
        .routes(routes!(list_jobs))
        .routes(routes!(retry_job))
        .routes(routes!(selftest))
        .routes(routes!(audit_log))
        .routes(routes!(outbox));
    OpenApiRouter::new().nest("/api/v1", v1)
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
            crate::auth::Via::Delegated { actor, .. } => Some(actor.email.clone()),
            _ => None,
        },
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMe {
    pub name: String,
}

#[utoipa::path(patch, path = "/me", tag = "accounts", request_body = UpdateMe,
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn update_me(
    State(p): State<Platform>,
    mut identity: Identity,
    Json(body): Json<UpdateMe>,
) -> Result<Json<Me>, Problem> {
    let name = parse_name(&body.name, "name")?;
    db::set_name(p.db.pool(), &identity.user.id, &name).await?;
    identity.user.name = name;
    Ok(Json(me_of(&identity)))
}

#[utoipa::path(get, path = "/me/tokens", tag = "accounts",
    responses((status = 200, body = Vec<ApiToken>), (status = 401, body = Problem)))]
async fn list_tokens(
    State(p): State<Platform>,
    identity: Identity,
) -> Result<Json<Vec<ApiToken>>, Problem> {
    Ok(Json(db::tokens_of(p.db.pool(), &identity.user.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateToken {
    pub name: String,
    #[serde(default)]
    pub scope: Option<TokenScope>,
}

#[utoipa::path(post, path = "/me/tokens", tag = "accounts", request_body = CreateToken,
    responses((status = 201, body = NewToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(p): State<Platform>,
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
        Actor::Web(&identity),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "accounts",
    params(("id" = String, Path, description = "token id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(p): State<Platform>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    admin::revoke_token(&p, &identity, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/users", tag = "admin",
    responses((status = 200, body = Vec<UserSummary>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_users(
    State(p): State<Platform>,
    identity: Identity,
) -> Result<Json<Vec<UserSummary>>, Problem> {
    identity.require(Role::Admin)?;
    Ok(Json(admin::list_users(&p).await?))
}

#[utoipa::path(put, path = "/admin/users/{email}/roles/{role}", tag = "admin",
    params(("email" = String, Path), ("role" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn grant_role(
    State(p): State<Platform>,
    identity: Identity,
    Path((email, role)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    identity.require(Role::Admin)?;
    let role = Role::parse_field(&role, "role")?;
    admin::grant_role(&p, &email, role, Actor::Web(&identity)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/admin/users/{email}/roles/{role}", tag = "admin",
    params(("email" = String, Path), ("role" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn revoke_role(
    State(p): State<Platform>,
    identity: Identity,
    Path((email, role)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    identity.require(Role::Admin)?;
    let role = Role::parse_field(&role, "role")?;
    admin::revoke_role(&p, &email, role, Actor::Web(&identity)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Invitation {
    pub email: String,
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
    responses((status = 201, body = Invited), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn invite(
    State(p): State<Platform>,
    identity: Identity,
    Json(body): Json<Invitation>,
) -> Result<impl IntoResponse, Problem> {
    identity.require(Role::Admin)?;
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
pub struct JobFilter {
    /// queued, running, done or failed
    pub status: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub counts: HashMap<String, i64>,
    pub jobs: Vec<Job>,
}

/// Parses the job status filter shared by the page and the API.
pub fn parse_status(raw: Option<&str>) -> Result<Option<JobStatus>, Problem> {
    match raw {
        None | Some("") | Some("all") => Ok(None),
        Some(s) => JobStatus::parse(s).map(Some).ok_or_else(|| {
            Problem::invalid(
                "status",
                format!("{s:?} is not a job status; use queued, running, done or failed."),
            )
        }),
    }
}

pub async fn job_list(
    p: &Platform,
    status: Option<JobStatus>,
    limit: i64,
) -> Result<JobList, Problem> {
    let counts = p
        .queue
        .counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n))
        .collect();
    Ok(JobList {
        counts,
        jobs: p.queue.list(status, limit).await?,
    })
}

#[utoipa::path(get, path = "/admin/jobs", tag = "admin", params(JobFilter),
    responses((status = 200, body = JobList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_jobs(
    State(p): State<Platform>,
    identity: Identity,
    Query(filter): Query<JobFilter>,
) -> Result<Json<JobList>, Problem> {
    identity.require(Role::Admin)?;
    let status = parse_status(filter.status.as_deref())?;
    Ok(Json(
        job_list(&p, status, filter.limit.unwrap_or(100)).await?,
    ))
}

pub async fn retry(p: &Platform, identity: &Identity, id: &str) -> Result<(), Problem> {
    if !p.queue.retry(id).await? {
        return Err(Problem::not_found("There is no failed job with that id.").with_field("id"));
    }
    db::audit(p.db.pool(), identity.audit("job-retried", id.to_string())).await?;
    Ok(())
}

#[utoipa::path(post, path = "/admin/jobs/{id}/retry", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn retry_job(
    State(p): State<Platform>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    identity.require(Role::Admin)?;
    retry(&p, &identity, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SelfTestRequest {
    /// How many self-test jobs to queue (1 to 1000).
    pub count: i64,
    /// How long each job waits before completing, in milliseconds (0 to 60000).
    #[serde(default)]
    pub sleep_ms: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub ids: Vec<String>,
}

/// Queues self-test jobs in one transaction.
pub async fn queue_selftest(
    p: &Platform,
    identity: &Identity,
    count: i64,
    sleep_ms: u64,
) -> Result<Vec<String>, Problem> {
    if !(1..=1000).contains(&count) {
        return Err(Problem::invalid(
            "count",
            "Queue between 1 and 1000 self-test jobs.",
        ));
    }
    if sleep_ms > 60_000 {
        return Err(Problem::invalid(
            "sleep_ms",
            "A self-test job may wait at most 60000 ms.",
        ));
    }
    let mut tx = p.db.begin().await?;
    let mut ids = Vec::new();
    for _ in 0..count {
        let job = NewJob::new(SELFTEST, &SelfTestPayload { sleep_ms })?.max_attempts(3);
        ids.push(p.queue.enqueue_in(&mut tx, job).await?);
    }
    db::audit(
        &mut *tx,
        identity.audit("selftest-queued", format!("{count} jobs of {sleep_ms} ms")),
    )
    .await?;
    tx.commit().await?;
    Ok(ids)
}

#[utoipa::path(post, path = "/admin/jobs/selftest", tag = "admin", request_body = SelfTestRequest,
    responses((status = 201, body = Queued), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn selftest(
    State(p): State<Platform>,
    identity: Identity,
    Json(body): Json<SelfTestRequest>,
) -> Result<impl IntoResponse, Problem> {
    identity.require(Role::Admin)?;
    let ids = queue_selftest(&p, &identity, body.count, body.sleep_ms).await?;
    Ok((StatusCode::CREATED, Json(Queued { ids })))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct Limit {
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(Limit),
    responses((status = 200, body = Vec<AuditEntry>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn audit_log(
    State(p): State<Platform>,
    identity: Identity,
    Query(q): Query<Limit>,
) -> Result<Json<Vec<AuditEntry>>, Problem> {
    identity.require(Role::Admin)?;
    Ok(Json(
        db::audit_log(p.db.pool(), q.limit.unwrap_or(200)).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxFilter {
    /// queued, sent, held, passed-on or failed
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/admin/outbox", tag = "admin", params(OutboxFilter),
    responses((status = 200, body = Vec<OutboxMessage>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn outbox(
    State(p): State<Platform>,
    identity: Identity,
    Query(q): Query<OutboxFilter>,
) -> Result<Json<Vec<OutboxMessage>>, Problem> {
    identity.require(Role::Admin)?;
    Ok(Json(p.mailer.list(q.status.as_deref(), 200).await?))
}
