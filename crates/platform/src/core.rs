//! The platform's own pages and API: the home page (the studios' entries), the jobs admin
//! (list, retry, self-test) and the audit log. Mounted by the server beside the studios,
//! declared the same way.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tutti_store::jobs::{NewJob, SELFTEST, SelfTestPayload};
use tutti_store::{Job, JobStatus};
use tutti_web::{Form, Json, Problem, Query};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::Platform;
use crate::access::{Access, Routes, StudioRoutes};
use crate::audit::{self, AuditEntry};
use crate::error::PlatformError;
use crate::identity::{Gate, Identity, MaybeIdentity};
use crate::page::Page;
use crate::studio::NavEntry;

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "platform/admin_tabs.html",
        include_str!("../templates/admin_tabs.html"),
    ),
    (
        "platform/admin_jobs.html",
        include_str!("../templates/admin_jobs.html"),
    ),
    (
        "platform/admin_audit.html",
        include_str!("../templates/admin_audit.html"),
    ),
    (
        "platform/design.html",
        include_str!("../templates/design.html"),
    ),
];

pub const MESSAGES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en/platform.ftl")),
    ("he", include_str!("../locales/he/platform.ftl")),
];

/// The platform's tabs in the admin area, after the studios' own.
pub fn admin_tabs() -> Vec<NavEntry> {
    vec![
        NavEntry {
            href: "/admin/jobs",
            label: "admin-tab-jobs",
            about: "jobs-caption",
        },
        NavEntry {
            href: "/admin/audit",
            label: "admin-tab-audit",
            about: "audit-caption",
        },
    ]
}

/// The platform's routes.
pub fn routes(platform: &Platform) -> StudioRoutes {
    let admin = Access::admin;
    Routes::new()
        .page(Access::Public, Method::GET, "/", home)
        .page(admin(), Method::GET, "/admin/jobs", admin_jobs)
        .page(
            admin(),
            Method::POST,
            "/admin/jobs/selftest",
            admin_selftest,
        )
        .page(admin(), Method::POST, "/admin/jobs/{id}/retry", admin_retry)
        .page(admin(), Method::GET, "/admin/audit", admin_audit)
        .page(admin(), Method::GET, "/design", design)
        .api(admin(), routes!(list_jobs))
        .api(admin(), routes!(retry_job))
        .api(admin(), routes!(selftest))
        .api(admin(), routes!(audit_log))
        .with_state(platform.clone())
}

async fn home(
    State(p): State<Platform>,
    page: Page,
    gate: axum::Extension<Gate>,
    MaybeIdentity(viewer): MaybeIdentity,
) -> Result<Response, Problem> {
    // Someone signed in means an account exists: no need to ask the database.
    let setup_pending = viewer.is_none() && gate.provider.setup_pending().await?;
    page.render(
        "home.html",
        json!({ "studios": p.nav.as_slice(), "setup_pending": setup_pending }),
    )
}

/// Every component of the page shell on one page, for people building studios.
async fn design(page: Page) -> Result<Response, Problem> {
    page.render("platform/design.html", json!({}))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// queued, running, done or failed (all when absent)
    #[param(pattern = "^(queued|running|done|failed|all)?$")]
    pub status: Option<String>,
    /// How many jobs to list, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub counts: HashMap<String, i64>,
    pub jobs: Vec<Job>,
}

/// Parses the job status filter shared by the page and the API.
fn parse_status(raw: Option<&str>) -> Result<Option<JobStatus>, PlatformError> {
    match raw {
        None | Some("") | Some("all") => Ok(None),
        Some(s) => JobStatus::parse(s).map(Some).ok_or_else(|| {
            PlatformError::invalid(
                "status",
                format!("{s:?} is not a job status; use queued, running, done or failed."),
            )
        }),
    }
}

async fn job_list(
    p: &Platform,
    status: Option<JobStatus>,
    limit: i64,
) -> Result<JobList, PlatformError> {
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
    summary = "List background jobs, newest first, with counts by status",
    responses((status = 200, body = JobList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_jobs(
    State(p): State<Platform>,
    Query(filter): Query<JobFilter>,
) -> Result<Json<JobList>, Problem> {
    let status = parse_status(filter.status.as_deref())?;
    let limit = list_limit(filter.limit, 100)?;
    Ok(Json(job_list(&p, status, limit).await?))
}

/// Queues a failed job again and records who did it: both or neither.
async fn retry(p: &Platform, identity: &Identity, id: &str) -> Result<(), PlatformError> {
    let mut tx = p.db.begin().await?;
    if !p.queue.retry_in(&mut tx, id).await? {
        return Err(PlatformError::not_found(
            "id",
            "There is no failed job with that id.",
        ));
    }
    let entry = identity.audit("job-retried", id.to_string()).arg("job", id);
    audit::record(&mut *tx, entry).await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    p.queue.notify();
    Ok(())
}

#[utoipa::path(post, path = "/admin/jobs/{id}/retry", tag = "admin",
    summary = "Queue a failed job again",
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn retry_job(
    State(p): State<Platform>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    retry(&p, &identity, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfTestRequest {
    /// How many self-test jobs to queue (1 to 1000).
    #[schema(minimum = 1, maximum = 1000)]
    pub count: i64,
    /// How long each job waits before completing, in milliseconds (0 to 60000).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 60000)]
    pub sleep_ms: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub ids: Vec<String>,
}

/// Queues self-test jobs and their audit entry in one transaction.
async fn queue_selftest(
    p: &Platform,
    identity: &Identity,
    count: i64,
    sleep_ms: u64,
) -> Result<Vec<String>, PlatformError> {
    if !(1..=1000).contains(&count) {
        return Err(PlatformError::invalid(
            "count",
            "Queue between 1 and 1000 self-test jobs.",
        ));
    }
    if sleep_ms > 60_000 {
        return Err(PlatformError::invalid(
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
    audit::record(
        &mut *tx,
        identity
            .audit("selftest-queued", format!("{count} jobs of {sleep_ms} ms"))
            .arg("count", count)
            .arg("sleep_ms", sleep_ms),
    )
    .await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    p.queue.notify();
    Ok(ids)
}

#[utoipa::path(post, path = "/admin/jobs/selftest", tag = "admin", request_body = SelfTestRequest,
    summary = "Queue self-test jobs to check that the workers run",
    responses((status = 201, body = Queued), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn selftest(
    State(p): State<Platform>,
    identity: Identity,
    Json(body): Json<SelfTestRequest>,
) -> Result<impl IntoResponse, Problem> {
    let ids = queue_selftest(&p, &identity, body.count, body.sleep_ms).await?;
    Ok((StatusCode::CREATED, Json(Queued { ids })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Limit {
    /// How many entries to list, 1 to 1000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The most entries one list operation returns.
pub const MAX_LIST: i64 = 1000;

/// A list's `limit` parameter: `default` when absent, refused outside 1 to [`MAX_LIST`]
/// (the document states that range, so the server keeps to it instead of clamping).
pub fn list_limit(raw: Option<i64>, default: i64) -> Result<i64, PlatformError> {
    match raw {
        None => Ok(default),
        Some(n) if (1..=MAX_LIST).contains(&n) => Ok(n),
        Some(n) => Err(PlatformError::invalid(
            "limit",
            format!("{n} is out of range; list between 1 and {MAX_LIST} entries."),
        )),
    }
}

#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(Limit),
    summary = "The audit log, newest first",
    responses((status = 200, body = Vec<AuditEntry>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn audit_log(
    State(p): State<Platform>,
    Query(q): Query<Limit>,
) -> Result<Json<Vec<AuditEntry>>, Problem> {
    let limit = list_limit(q.limit, 200)?;
    Ok(Json(audit::newest(p.db.pool(), limit).await?))
}

#[derive(Deserialize)]
struct JobsQuery {
    status: Option<String>,
    done: Option<String>,
}

async fn admin_jobs(
    State(p): State<Platform>,
    page: Page,
    Query(q): Query<JobsQuery>,
) -> Result<Response, Problem> {
    let status = parse_status(q.status.as_deref())?;
    let list = job_list(&p, status, 200).await?;
    page.render(
        "platform/admin_jobs.html",
        json!({
            "counts": list.counts,
            "jobs": list.jobs,
            "status": status.map(|s| s.as_str()),
            "statuses": ["queued", "running", "done", "failed"],
            "done": q.done,
        }),
    )
}

async fn admin_retry(
    State(p): State<Platform>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    retry(&p, &identity, &id).await?;
    Ok(Redirect::to("/admin/jobs?done=retried").into_response())
}

#[derive(Deserialize)]
struct SelfTestForm {
    count: i64,
    sleep_ms: Option<u64>,
}

async fn admin_selftest(
    State(p): State<Platform>,
    identity: Identity,
    Form(form): Form<SelfTestForm>,
) -> Result<Response, Problem> {
    queue_selftest(&p, &identity, form.count, form.sleep_ms.unwrap_or(0)).await?;
    Ok(Redirect::to("/admin/jobs?done=queued").into_response())
}

async fn admin_audit(State(p): State<Platform>, page: Page) -> Result<Response, Problem> {
    let entries = audit::newest(p.db.pool(), 300).await?;
    page.render("platform/admin_audit.html", json!({ "entries": entries }))
}
