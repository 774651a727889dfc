//! The audit log: who did what, for every studio. Entries are written in the same
//! transaction as the act they record, so one never exists without the other.
//!
//! An entry's `action` is a code (`token-created`) and its `detail` the server's English
//! words; `args` holds the values the detail names, so the audit page words the entry in
//! the reader's language with the messages `audit-action-<action>` and
//! `audit-detail-<action>` (or `audit-detail-<action>-<variant>` when the `variant`
//! argument is set). Entries without `args` (older ones) show their English detail.

use std::collections::BTreeMap;

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
    /// The values `detail` names (emails, ids, role names …), by name; null on entries
    /// recorded before arguments were kept.
    #[sqlx(try_from = "Option<String>")]
    #[schema(value_type = Option<Object>)]
    pub args: AuditArgs,
}

/// The named values of an audit entry, stored as a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct AuditArgs(pub Option<BTreeMap<String, serde_json::Value>>);

impl From<Option<String>> for AuditArgs {
    fn from(raw: Option<String>) -> AuditArgs {
        AuditArgs(raw.and_then(|raw| serde_json::from_str(&raw).ok()))
    }
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

    /// Adds a named value that the detail names, for wording it in other languages.
    pub fn arg(mut self, name: &str, value: impl Into<serde_json::Value>) -> AuditEntry {
        self.args
            .0
            .get_or_insert_with(BTreeMap::new)
            .insert(name.to_string(), value.into());
        self
    }

    /// Says the entry's words need no values (its detail is fixed or empty).
    pub fn no_args(mut self) -> AuditEntry {
        self.args.0.get_or_insert_with(BTreeMap::new);
        self
    }
}

/// Records an entry; pass the transaction of the act it records.
pub async fn record<'c>(
    e: impl Executor<'c, Database = Any>,
    entry: AuditEntry,
) -> Result<(), PlatformError> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_email, on_behalf_of_id, on_behalf_of_email, token_id, action, detail, args) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
    .bind(
        entry
            .args
            .0
            .map(|args| serde_json::Value::Object(args.into_iter().collect()).to_string()),
    )
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
        "SELECT id, at, actor_id, actor_email, on_behalf_of_id, on_behalf_of_email, token_id, action, detail, args \
         FROM audit_log ORDER BY at DESC, id DESC LIMIT $1",
    )
    .bind(limit.clamp(1, 1000))
    .fetch_all(e)
    .await?)
}
