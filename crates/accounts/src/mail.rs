//! Outgoing mail. Every message is first written to the `outbox` table in the caller's
//! transaction; with SMTP configured a job sends it (retrying while the server is down),
//! without SMTP it stays `held` and the admin area shows it, links included, for an admin
//! to pass on. Nothing is ever dropped silently.

use std::sync::Arc;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tutti_store::jobs::NewJob;

use tutti_store::{Db, JobError, JobHandler, JobRun, Queue, Tx, new_id, now_ms};
use tutti_web::Problem;

/// The job kind that sends one outbox message.
pub const SEND_MAIL: &str = "mail.send";

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
    pub body: String,
    pub link: Option<String>,
    /// `queued`, `sent`, `held` (no SMTP: an admin passes it on), `passed-on`, `failed`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl Mailer {
    pub fn new(db: Db, queue: Queue, smtp: Option<SmtpSettings>) -> Result<Mailer, Problem> {
        let smtp = smtp
            .map(|s| {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&require_tls_for_credentials(&s.url))
                    .map_err(|e| {
                        Problem::invalid("smtp.url", format!("The SMTP URL is not usable: {e}."))
                    })?
                    .build();
                let from: Mailbox = s.from.parse().map_err(|e| {
                    Problem::invalid(
                        "smtp.from",
                        format!("{:?} is not a sender address ({e}); write it like Tutti <tutti@example.org>.", s.from),
                    )
                })?;
                Ok::<_, Problem>(Arc::new(Smtp { transport, from }))
            })
            .transpose()?;
        Ok(Mailer { db, queue, smtp })
    }

    /// Whether mail actually leaves the server.
    pub fn sends(&self) -> bool {
        self.smtp.is_some()
    }

    /// Records a message in the caller's transaction and, with SMTP, queues its sending.
    pub async fn send(
        &self,
        tx: &mut Tx,
        to: &str,
        subject: &str,
        body: &str,
        link: Option<&str>,
    ) -> Result<(), Problem> {
        let id = new_id();
        let status = if self.sends() { "queued" } else { "held" };
        sqlx::query(
            "INSERT INTO outbox (id, to_email, subject, body, link, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(link)
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
    ) -> Result<Vec<OutboxMessage>, Problem> {
        Ok(sqlx::query_as(
            "SELECT id, to_email, subject, body, link, status, error, created_at, sent_at FROM outbox \
             WHERE ($1 = '' OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(status.unwrap_or(""))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.db.pool())
        .await?)
    }

    /// An admin says they passed a held message on by hand.
    pub async fn mark_passed_on(&self, id: &str) -> Result<bool, Problem> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'passed-on', sent_at = $1 WHERE id = $2 AND status = 'held'",
        )
        .bind(now_ms())
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn deliver(&self, id: &str) -> Result<(), JobError> {
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
        if message.status == "sent" {
            return Ok(());
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
            sqlx::query("UPDATE outbox SET error = $1 WHERE id = $2")
                .bind(e.to_string())
                .bind(id)
                .execute(self.db.pool())
                .await?;
            return Err(if e.is_permanent() {
                JobError::Abort(format!("the mail server refused the message: {e}"))
            } else {
                JobError::Retry(format!("could not reach the mail server: {e}"))
            });
        }
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, error = NULL WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
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
        self.0.deliver(&payload.outbox_id).await?;
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
