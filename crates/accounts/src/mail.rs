//! Outgoing mail. Every message is first written to the `outbox` table in the caller's
//! transaction; with SMTP configured a job sends it (retrying while the server is down),
//! without SMTP it stays `held` and the admin area shows it, links included, for an admin
//! to pass on. Nothing is ever dropped silently.
//!
//! A message keeps its link only while it waits (`held` or `queued`): once it is sent,
//! passed on or failed, or the one-time link in it is used or expires, the link is cut
//! from the body and the `link` column, so a database backup or an admin token does not
//! hand out working invitations and resets.

use std::sync::Arc;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tutti_store::jobs::NewJob;

use tutti_store::{Db, JobError, JobHandler, JobRun, Queue, Tx, new_id, now_ms};

use crate::AccountsError;

/// The job kind that sends one outbox message.
pub const SEND_MAIL: &str = "mail.send";

/// What takes a link's place in a message that no longer waits.
const LINK_REMOVED: &str = "[link removed]";

/// The assignments that cut a message's link out of it (`$LINK_REMOVED` is spliced in).
fn scrub_sql() -> String {
    format!("body = COALESCE(REPLACE(body, link, '{LINK_REMOVED}'), body), link = NULL")
}

/// Finished messages (sent, passed on, failed, lapsed) are deleted after this many days.
pub const KEEP_FINISHED_DAYS: i64 = 30;

/// Where and as whom to send mail: the `[smtp]` section of the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://user:pass@host:587` (STARTTLS, required whenever the URL holds
    /// credentials), `smtps://…:465` for TLS from the start, or `smtp://host:25` for a
    /// credential-less relay on a trusted network (plain unless `?tls=required`).
    pub url: String,
    /// The sender, e.g. `Tutti <tutti@example.org>`.
    pub from: String,
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Sends mail, or holds it for an admin when there is no SMTP server.
#[derive(Clone)]
pub struct Mailer {
    db: Db,
    queue: Queue,
    smtp: Option<Arc<Smtp>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.smtp.is_some())
            .finish()
    }
}

/// One outgoing message as the admin area lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub to_email: String,
    pub subject: String,
    /// The text; its link is cut out once the message no longer waits.
    pub body: String,
    /// The link to pass on, only while the message waits (`held` or `queued`).
    pub link: Option<String>,
    /// `queued`, `sent`, `held` (no SMTP: an admin passes it on), `passed-on`, `failed`,
    /// `lapsed` (its one-time link was used or expired before it went out).
    pub status: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl Mailer {
    pub fn new(db: Db, queue: Queue, smtp: Option<SmtpSettings>) -> Result<Mailer, AccountsError> {
        let smtp = smtp
            .map(|s| {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&require_tls_for_credentials(&s.url))
                    .map_err(|e| {
                        AccountsError::invalid("smtp.url", format!("The SMTP URL is not usable: {e}."))
                    })?
                    .build();
                let from: Mailbox = s.from.parse().map_err(|e| {
                    AccountsError::invalid(
                        "smtp.from",
                        format!("{:?} is not a sender address ({e}); write it like Tutti <tutti@example.org>.", s.from),
                    )
                })?;
                Ok::<_, AccountsError>(Arc::new(Smtp { transport, from }))
            })
            .transpose()?;
        Ok(Mailer { db, queue, smtp })
    }

    /// Whether mail actually leaves the server.
    pub fn sends(&self) -> bool {
        self.smtp.is_some()
    }

    /// Records a message in the caller's transaction and, with SMTP, queues its sending.
    /// `link_hash` is the stored hash of the one-time link the message carries, if any.
    pub async fn send(
        &self,
        tx: &mut Tx,
        to: &str,
        subject: &str,
        body: &str,
        link: Option<&str>,
        link_hash: Option<&str>,
    ) -> Result<(), AccountsError> {
        let id = new_id();
        let status = if self.sends() { "queued" } else { "held" };
        sqlx::query(
            "INSERT INTO outbox (id, to_email, subject, body, link, link_hash, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(link)
        .bind(link_hash)
        .bind(status)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
        if self.sends() {
            let job = NewJob::new(
                SEND_MAIL,
                &SendPayload {
                    outbox_id: id.clone(),
                },
            )?
            .unique(format!("mail:{id}"));
            self.queue.enqueue_in(tx, job).await?;
        }
        Ok(())
    }

    /// Messages by status (newest first); `held` is what admins must pass on.
    pub async fn list(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, AccountsError> {
        Ok(sqlx::query_as(
            "SELECT id, to_email, subject, body, link, status, error, created_at, sent_at FROM outbox \
             WHERE ($1 = '' OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(status.unwrap_or(""))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.db.pool())
        .await?)
    }

    /// An admin says they passed a held message on by hand; its link goes.
    pub async fn mark_passed_on(&self, id: &str) -> Result<bool, AccountsError> {
        let sql = format!(
            "UPDATE outbox SET status = 'passed-on', sent_at = $1, {} \
             WHERE id = $2 AND status = 'held'",
            scrub_sql()
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms())
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a message done with `status` (sent or failed) and cuts its link out.
    async fn finish(&self, id: &str, status: &str, error: Option<&str>) -> Result<(), JobError> {
        let sql = format!(
            "UPDATE outbox SET status = $1, sent_at = $2, error = $3, {} WHERE id = $4",
            scrub_sql()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status)
            .bind((status == "sent").then(now_ms))
            .bind(error)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Sends one queued message. `last_attempt` says the job will not run again, so a
    /// failure now is final.
    async fn deliver(&self, id: &str, last_attempt: bool) -> Result<(), JobError> {
        let smtp = self
            .smtp
            .as_ref()
            .ok_or_else(|| JobError::Abort("SMTP is no longer configured".into()))?;
        let message: Option<OutboxMessage> = sqlx::query_as(
            "SELECT id, to_email, subject, body, link, status, error, created_at, sent_at FROM outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(message) = message else {
            return Err(JobError::Abort(format!("outbox message {id} is gone")));
        };
        match message.status.as_str() {
            "queued" => {}
            "failed" => {
                return Err(JobError::Abort(
                    "the message failed before and its link was removed; make a new \
                     invitation or reset instead"
                        .into(),
                ));
            }
            // Sent already, or its link was used or expired: nothing left to send.
            _ => return Ok(()),
        }
        let to: Mailbox = message
            .to_email
            .parse()
            .map_err(|e| JobError::Abort(format!("bad recipient {}: {e}", message.to_email)))?;
        let email = Message::builder()
            .from(smtp.from.clone())
            .to(to)
            .subject(&message.subject)
            .body(message.body.clone())
            .map_err(|e| JobError::Abort(format!("cannot build the message: {e}")))?;
        if let Err(e) = smtp.transport.send(email).await {
            let error = e.to_string();
            if e.is_permanent() || last_attempt {
                self.finish(id, "failed", Some(&error)).await?;
            } else {
                sqlx::query("UPDATE outbox SET error = $1 WHERE id = $2")
                    .bind(&error)
                    .bind(id)
                    .execute(self.db.pool())
                    .await?;
            }
            return Err(if e.is_permanent() {
                JobError::Abort(format!("the mail server refused the message: {e}"))
            } else {
                JobError::Retry(format!("could not reach the mail server: {e}"))
            });
        }
        self.finish(id, "sent", None).await
    }
}

/// The one-time link with hash `link_hash` was used: the messages carrying it lose it,
/// and those still waiting need no passing on any more (`lapsed`). In the caller's
/// transaction, with the taking of the link.
pub async fn link_used(tx: &mut Tx, link_hash: &str) -> Result<(), AccountsError> {
    let sql = format!(
        "UPDATE outbox SET status = CASE WHEN status IN ('held', 'queued') THEN 'lapsed' \
         ELSE status END, {} WHERE link_hash = $1 AND link IS NOT NULL",
        scrub_sql()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(link_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What the periodic sweep did to the outbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboxSwept {
    /// Messages whose link was cut out.
    pub scrubbed: u64,
    /// Finished messages deleted after [`KEEP_FINISHED_DAYS`].
    pub deleted: u64,
}

/// Cuts the links out of messages that still carry one they should not: waiting ones
/// whose one-time link was used, expired or deleted (they become `lapsed`), and finished
/// ones. Then deletes finished messages older than [`KEEP_FINISHED_DAYS`].
pub async fn sweep_outbox(db: &Db) -> Result<OutboxSwept, tutti_store::StoreError> {
    let now = now_ms();
    let lapsed = format!(
        "UPDATE outbox SET status = 'lapsed', {} WHERE link IS NOT NULL \
         AND link_hash IS NOT NULL AND status IN ('held', 'queued') AND NOT EXISTS \
         (SELECT 1 FROM one_time_links l WHERE l.token_hash = outbox.link_hash \
          AND l.used_at IS NULL AND l.expires_at > $1)",
        scrub_sql()
    );
    let mut scrubbed = sqlx::query(sqlx::AssertSqlSafe(lapsed))
        .bind(now)
        .execute(db.pool())
        .await?
        .rows_affected();
    let finished = format!(
        "UPDATE outbox SET {} WHERE link IS NOT NULL AND status NOT IN ('held', 'queued')",
        scrub_sql()
    );
    scrubbed += sqlx::query(sqlx::AssertSqlSafe(finished))
        .execute(db.pool())
        .await?
        .rows_affected();
    let deleted = sqlx::query(
        "DELETE FROM outbox WHERE status NOT IN ('held', 'queued') AND created_at < $1",
    )
    .bind(now - KEEP_FINISHED_DAYS * 86_400_000)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(OutboxSwept { scrubbed, deleted })
}

/// lettre sends `smtp://` URLs in the clear unless told otherwise; a password must never
/// travel that way, so a URL with credentials and no `tls` choice gets STARTTLS required.
fn require_tls_for_credentials(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url)
            if url.scheme() == "smtp"
                && !url.username().is_empty()
                && !url.query_pairs().any(|(k, _)| k == "tls") =>
        {
            url.query_pairs_mut().append_pair("tls", "required");
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SendPayload {
    outbox_id: String,
}

/// The job that sends one outbox message.
pub struct SendMail(pub Mailer);

#[async_trait]
impl JobHandler for SendMail {
    async fn run(&self, run: &JobRun) -> Result<Option<serde_json::Value>, JobError> {
        let payload: SendPayload = run.payload()?;
        let last_attempt = run.job.attempts >= run.job.max_attempts;
        self.0.deliver(&payload.outbox_id, last_attempt).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::require_tls_for_credentials;

    #[test]
    fn credentials_never_travel_in_the_clear() {
        assert_eq!(
            require_tls_for_credentials("smtp://u:p@mail.example.org:587"),
            "smtp://u:p@mail.example.org:587?tls=required"
        );
        assert_eq!(
            require_tls_for_credentials("smtp://u:p@mail.example.org:587?tls=opportunistic"),
            "smtp://u:p@mail.example.org:587?tls=opportunistic"
        );
        assert_eq!(
            require_tls_for_credentials("smtp://127.0.0.1:2525"),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            require_tls_for_credentials("smtps://u:p@mail.example.org"),
            "smtps://u:p@mail.example.org"
        );
    }
}
