//! The audit log: who did what, for every studio. Entries are written in the same
//! transaction as the act they record, so one never exists without the other.

use serde::Serialize;
use sqlx::{Any, Executor};
use tutti_store::{new_id, now_ms};

use crate::error::PlatformError;

/// One line of the audit log.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub on_behalf_of_id: Option<String>,
    pub on_behalf_of_email: Option<String>,
    pub token_id: Option<String>,
    pub action: String,
    pub detail: String,
}

impl AuditEntry {
    /// An act done at the shell (`tutti admin …`), with no person behind a request.
    pub fn command_line(action: &str, detail: String) -> AuditEntry {
        AuditEntry {
            actor_email: Some("command line".into()),
            action: action.to_string(),
            detail,
            ..Default::default()
        }
    }
}

/// Records an entry; pass the transaction of the act it records.
pub async fn record<'c>(
    e: impl Executor<'c, Database = Any>,
    entry: AuditEntry,
) -> Result<(), PlatformError> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_email, on_behalf_of_id, on_behalf_of_email, token_id, action, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id())
    .bind(now_ms())
    .bind(entry.actor_id)
    .bind(entry.actor_email)
    .bind(entry.on_behalf_of_id)
    .bind(entry.on_behalf_of_email)
    .bind(entry.token_id)
    .bind(entry.action)
    .bind(entry.detail)
    .execute(e)
    .await?;
    Ok(())
}

/// The newest entries first, at most `limit` (1 to 1000).
pub async fn newest<'c>(
    e: impl Executor<'c, Database = Any>,
    limit: i64,
) -> Result<Vec<AuditEntry>, PlatformError> {
    Ok(sqlx::query_as(
        "SELECT id, at, actor_id, actor_email, on_behalf_of_id, on_behalf_of_email, token_id, action, detail \
         FROM audit_log ORDER BY at DESC, id DESC LIMIT $1",
    )
    .bind(limit.clamp(1, 1000))
    .fetch_all(e)
    .await?)
}
