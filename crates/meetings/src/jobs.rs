//! The studio's background work: reminders by mail shortly before each occurrence of a
//! meeting (a periodic job every minute; a claim on the meeting row, in the mail's own
//! transaction, sends each occurrence's reminders once whichever node runs it), and the
//! wording of meeting mail (invitations and reminders), with times in the recipient's
//! zone when they told us theirs, else in the meeting's, named.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tutti_store::{JobError, JobRun, Schedule as Every, TypedJob, Worker, now_ms};

use crate::Meetings;
use crate::db::{self, MeetingRow};
use crate::domain::{self, Schedule, stored_zone};
use crate::error::MeetingError;
use crate::service::{REMINDER_LEAD_MS, schedule_of};

/// `start–end (zone)` in `zone`, as mail shows a meeting's time.
pub fn when_text(zone: &domain::Zone, start: Timestamp, end: Timestamp) -> String {
    let a = zone.tz.to_datetime(start);
    let b = zone.tz.to_datetime(end);
    let end = if a.date() == b.date() {
        b.strftime("%H:%M").to_string()
    } else {
        b.strftime("%Y-%m-%d %H:%M").to_string()
    };
    format!("{}–{end} ({})", a.strftime("%Y-%m-%d %H:%M"), zone.name)
}

/// A meeting mail's subject and body for one recipient, from the messages
/// `<key>-subject` and `<key>-body`: the next occurrence from now, in their zone and
/// language when they said, else in the meeting's zone and `lang`.
#[allow(clippy::too_many_arguments)]
pub async fn meeting_mail(
    m: &Meetings,
    key: &str,
    meeting: &MeetingRow,
    schedule: &Schedule,
    recipient: &str,
    lang: &str,
    by: &str,
    team: Option<&str>,
) -> Result<(String, String), MeetingError> {
    let known = db::person(m.platform.db.pool(), recipient).await?;
    let (zone, lang) = match &known {
        Some((zone, lang)) => (stored_zone(zone), lang.as_str()),
        None => (schedule.zone.clone(), lang),
    };
    let (start, end) = schedule
        .next_after(Timestamp::now())
        .unwrap_or((schedule.starts_at, schedule.ends_at));
    let settings = &m.platform.settings;
    let repeats = match &schedule.weekly {
        Some(w) => w
            .days
            .iter()
            .map(|d| {
                m.platform.web.i18n().text(
                    lang,
                    &format!("meetings-day-{}", domain::day_code(*d).to_lowercase()),
                    &[],
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    };
    let args = [
        ("title", meeting.title.clone()),
        ("by", by.to_string()),
        ("team", team.unwrap_or_default().to_string()),
        ("when", when_text(&zone, start, end)),
        ("repeats", repeats),
        (
            "link",
            settings.link(&format!("/meetings/join/{}", meeting.code)),
        ),
        (
            "ics",
            settings.link(&format!("/meetings/{}/calendar.ics", meeting.id)),
        ),
    ];
    let i18n = m.platform.web.i18n();
    let subject = i18n.text(lang, &format!("{key}-subject"), &args);
    let weekly = format!("{key}-weekly-body");
    let body_key = if schedule.weekly.is_some() && i18n.has(lang, &weekly) {
        weekly
    } else {
        format!("{key}-body")
    };
    let mut body = i18n.text(lang, &body_key, &args);
    body.push('\n');
    Ok((subject, body))
}

/// Sends the reminders of every occurrence starting within [`REMINDER_LEAD_MS`] of
/// `now` whose reminders have not gone out; returns how many mails it wrote.
pub async fn send_reminders(m: &Meetings, now: i64) -> Result<usize, MeetingError> {
    let pool = m.platform.db.pool();
    let to = now + REMINDER_LEAD_MS;
    let mut sent = 0;
    for meeting in db::reminder_candidates(pool, now, to).await? {
        let schedule = schedule_of(&meeting);
        let Some((start, _)) = schedule
            .starting_between(domain::ts(now), domain::ts(to))
            .into_iter()
            .next()
        else {
            continue;
        };
        let start_ms = start.as_millisecond();
        if meeting.reminded_until.is_some_and(|r| r >= start_ms) {
            continue;
        }
        let recipients: Vec<(String, String)> = match &meeting.team_id {
            Some(team) => db::members(pool, team)
                .await?
                .into_iter()
                .filter_map(|r| r.email.map(|e| (r.user_id, e)))
                .collect(),
            None => db::user(pool, &meeting.host_id)
                .await?
                .map(|u| vec![(u.id, u.email)])
                .unwrap_or_default(),
        };
        let team_name = match &meeting.team_id {
            Some(t) => db::team(pool, t).await?.map(|t| t.name),
            None => None,
        };
        let host = db::user(pool, &meeting.host_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        // The occurrence this reminder is for, as its mail names it.
        let mut this = schedule.clone();
        this.ends_at = start
            .checked_add(jiff::SignedDuration::from_millis(schedule.duration_ms()))
            .unwrap_or(start);
        this.starts_at = start;
        this.weekly = None;
        let mut mails = Vec::new();
        for (user, email) in recipients {
            let (subject, body) = meeting_mail(
                m,
                "meetings-mail-reminder",
                &meeting,
                &this,
                &user,
                "en",
                &host,
                team_name.as_deref(),
            )
            .await?;
            mails.push((email, subject, body));
        }
        let mut tx = m.platform.db.begin().await?;
        if !db::claim_reminder(&mut tx, &meeting.id, start_ms).await? {
            continue;
        }
        for (email, subject, body) in &mails {
            m.mailer
                .send(&mut tx, email, subject, body, None, None)
                .await?;
        }
        tx.commit().await?;
        sent += mails.len();
    }
    Ok(sent)
}

/// What one run of the reminders did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reminded {
    pub mails: usize,
}

/// The periodic reminders job.
pub struct Reminders(pub Meetings);

impl TypedJob for Reminders {
    const KIND: &'static str = "meetings.reminders";
    type Payload = ();
    type Output = Reminded;

    fn timeout() -> Duration {
        Duration::from_secs(5 * 60)
    }

    fn max_attempts() -> i64 {
        2
    }

    async fn run(&self, _: (), _run: &JobRun) -> Result<Reminded, JobError> {
        let mails = send_reminders(&self.0, now_ms())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        Ok(Reminded { mails })
    }
}

/// Adds the studio's jobs to a worker.
pub fn register(worker: Worker, m: &Meetings) -> Worker {
    worker.periodic(Reminders(m.clone()), Every::every_minutes(1))
}
