//! The meetings studio's queries, one dialect for SQLite and PostgreSQL. People's names
//! and emails are read from the accounts' `users` table (never written here).

use serde::Serialize;
use sqlx::AnyPool;
use tutti_store::{Tx, new_id, now_ms};

use crate::domain::TeamRole;
use crate::error::MeetingError;

type Result<T> = std::result::Result<T, MeetingError>;

macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const TEAM: &str = "id, name, created_by, created_at, updated_at";

/// A team member with their account's name and email.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub role: String,
    pub joined_at: i64,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl MemberRow {
    pub fn team_role(&self) -> TeamRole {
        TeamRole::parse(&self.role).unwrap_or(TeamRole::Member)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InviteRow {
    pub id: String,
    pub team_id: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub accepted: i64,
}

const INVITE: &str =
    "id, team_id, token_hash, created_by, created_at, expires_at, revoked_at, accepted";

impl InviteRow {
    /// Whether the link still lets people in at `now`.
    pub fn open_at(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A meeting as stored: its first occurrence and how it repeats (see `domain::Schedule`).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MeetingRow {
    pub id: String,
    pub code: String,
    pub title: String,
    pub team_id: Option<String>,
    pub host_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub time_zone: String,
    pub instant: i64,
    pub weekdays: String,
    pub repeat_until: Option<String>,
    pub repeat_count: Option<i64>,
    pub guests_allowed: i64,
    pub sequence: i64,
    pub status: String,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub reminded_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const MEETING: &str = "id, code, title, team_id, host_id, starts_at, ends_at, time_zone, \
    instant, weekdays, repeat_until, repeat_count, guests_allowed, sequence, status, \
    started_at, ended_at, reminded_until, created_at, updated_at";

impl MeetingRow {
    pub fn is_cancelled(&self) -> bool {
        self.status == "cancelled"
    }
}

/// A person as the accounts know them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
}

// ---- Teams -------------------------------------------------------------------------

/// Makes a team with `owner` as its owner.
pub async fn create_team(tx: &mut Tx, name: &str, owner: &str) -> Result<TeamRow> {
    let now = now_ms();
    let team = TeamRow {
        id: new_id(),
        name: name.to_string(),
        created_by: owner.to_string(),
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO meetings_teams (id, name, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&team.id)
    .bind(name)
    .bind(owner)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO meetings_team_members (team_id, user_id, role, joined_at) \
         VALUES ($1, $2, 'owner', $3)",
    )
    .bind(&team.id)
    .bind(owner)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(team)
}

pub async fn team(pool: &AnyPool, id: &str) -> Result<Option<TeamRow>> {
    Ok(
        sqlx::query_as(sql!("SELECT {TEAM} FROM meetings_teams WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The teams someone belongs to, by name, with their role in each.
pub async fn teams_of(pool: &AnyPool, user: &str) -> Result<Vec<(TeamRow, TeamRole)>> {
    let rows: Vec<(String, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT t.id, t.name, t.created_by, t.created_at, t.updated_at, m.role \
         FROM meetings_teams t JOIN meetings_team_members m ON m.team_id = t.id \
         WHERE m.user_id = $1 ORDER BY t.name, t.id",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, created_by, created_at, updated_at, role)| {
            (
                TeamRow {
                    id,
                    name,
                    created_by,
                    created_at,
                    updated_at,
                },
                TeamRole::parse(&role).unwrap_or(TeamRole::Member),
            )
        })
        .collect())
}

pub async fn member_role(pool: &AnyPool, team: &str, user: &str) -> Result<Option<TeamRole>> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role FROM meetings_team_members WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team)
    .bind(user)
    .fetch_optional(pool)
    .await?;
    Ok(role.as_deref().and_then(TeamRole::parse))
}

/// A team's members, owner first, then admins, then by when they joined.
pub async fn members(pool: &AnyPool, team: &str) -> Result<Vec<MemberRow>> {
    Ok(sqlx::query_as(
        "SELECT m.user_id, m.role, m.joined_at, u.email, u.name \
         FROM meetings_team_members m LEFT JOIN users u ON u.id = m.user_id \
         WHERE m.team_id = $1 \
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, \
         m.joined_at, m.user_id",
    )
    .bind(team)
    .fetch_all(pool)
    .await?)
}

pub async fn rename_team(pool: &AnyPool, id: &str, name: &str) -> Result<()> {
    sqlx::query("UPDATE meetings_teams SET name = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(now_ms())
        .execute(pool)
        .await?;
    Ok(())
}

/// Adds a member; false when they already are one (their role stays).
pub async fn add_member(tx: &mut Tx, team: &str, user: &str, role: TeamRole) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO meetings_team_members (team_id, user_id, role, joined_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, user_id) DO NOTHING",
    )
    .bind(team)
    .bind(user)
    .bind(role.as_str())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_role(pool: &AnyPool, team: &str, user: &str, role: TeamRole) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE meetings_team_members SET role = $3 WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team)
    .bind(user)
    .bind(role.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves ownership from `from` (who becomes an admin) to `to`, in one transaction.
pub async fn hand_over(tx: &mut Tx, team: &str, from: &str, to: &str) -> Result<bool> {
    let taken = sqlx::query(
        "UPDATE meetings_team_members SET role = 'owner' \
         WHERE team_id = $1 AND user_id = $2 AND role <> 'owner'",
    )
    .bind(team)
    .bind(to)
    .execute(&mut **tx)
    .await?;
    if taken.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE meetings_team_members SET role = 'admin' \
         WHERE team_id = $1 AND user_id = $2 AND role = 'owner'",
    )
    .bind(team)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

pub async fn remove_member(tx: &mut Tx, team: &str, user: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM meetings_team_members WHERE team_id = $1 AND user_id = $2")
        .bind(team)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_members(tx: &mut Tx, team: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM meetings_team_members WHERE team_id = $1")
            .bind(team)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Removes a team; its members, invitations and meetings go with it.
pub async fn delete_team(tx: &mut Tx, id: &str) -> Result<()> {
    // The notes are keyed by meeting without a foreign key (they landed apart); they go
    // with the team's meetings.
    for table in ["meeting_note_updates", "meeting_note_snapshots"] {
        sqlx::query(sql!(
            "DELETE FROM {table} WHERE meeting_id IN (SELECT id FROM meetings WHERE team_id = $1)"
        ))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("DELETE FROM meetings_feeds WHERE owner = $1")
        .bind(format!("team:{id}"))
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM meetings_teams WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---- Invitations --------------------------------------------------------------------

pub async fn create_invite(
    pool: &AnyPool,
    id: &str,
    team: &str,
    token_hash: &str,
    by: &str,
    expires_at: i64,
) -> Result<InviteRow> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO meetings_invites (id, team_id, token_hash, created_by, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(team)
    .bind(token_hash)
    .bind(by)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    invite(pool, team, id)
        .await?
        .ok_or_else(|| MeetingError::internal("an invitation just made is gone"))
}

pub async fn invite(pool: &AnyPool, team: &str, id: &str) -> Result<Option<InviteRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {INVITE} FROM meetings_invites WHERE id = $1 AND team_id = $2"
    ))
    .bind(id)
    .bind(team)
    .fetch_optional(pool)
    .await?)
}

/// A team's invitations, newest first (revoked and expired ones too, for a while).
pub async fn invites(pool: &AnyPool, team: &str) -> Result<Vec<InviteRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {INVITE} FROM meetings_invites WHERE team_id = $1 \
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(team)
    .fetch_all(pool)
    .await?)
}

pub async fn invite_by_hash(pool: &AnyPool, hash: &str) -> Result<Option<InviteRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {INVITE} FROM meetings_invites WHERE token_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await?)
}

pub async fn revoke_invite(pool: &AnyPool, team: &str, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE meetings_invites SET revoked_at = $3 \
         WHERE id = $1 AND team_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(team)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn invite_used(tx: &mut Tx, id: &str) -> Result<()> {
    sqlx::query("UPDATE meetings_invites SET accepted = accepted + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---- Meetings -----------------------------------------------------------------------

pub async fn insert_meeting(tx: &mut Tx, m: &MeetingRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO meetings (id, code, title, team_id, host_id, starts_at, ends_at, \
         time_zone, instant, weekdays, repeat_until, repeat_count, guests_allowed, sequence, \
         status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, 0, 'scheduled', $14, $14)",
    )
    .bind(&m.id)
    .bind(&m.code)
    .bind(&m.title)
    .bind(&m.team_id)
    .bind(&m.host_id)
    .bind(m.starts_at)
    .bind(m.ends_at)
    .bind(&m.time_zone)
    .bind(m.instant)
    .bind(&m.weekdays)
    .bind(&m.repeat_until)
    .bind(m.repeat_count)
    .bind(m.guests_allowed)
    .bind(m.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn meeting(pool: &AnyPool, id: &str) -> Result<Option<MeetingRow>> {
    Ok(
        sqlx::query_as(sql!("SELECT {MEETING} FROM meetings WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The meeting a join code opens (the live room looks meetings up this way).
pub async fn meeting_by_code(pool: &AnyPool, code: &str) -> Result<Option<MeetingRow>> {
    Ok(
        sqlx::query_as(sql!("SELECT {MEETING} FROM meetings WHERE code = $1"))
            .bind(code)
            .fetch_optional(pool)
            .await?,
    )
}

/// Writes a meeting's editable fields and bumps its sequence.
pub async fn update_meeting(pool: &AnyPool, m: &MeetingRow) -> Result<()> {
    sqlx::query(
        "UPDATE meetings SET title = $2, starts_at = $3, ends_at = $4, time_zone = $5, \
         weekdays = $6, repeat_until = $7, repeat_count = $8, guests_allowed = $9, \
         sequence = sequence + 1, updated_at = $10, \
         reminded_until = CASE WHEN starts_at = $3 THEN reminded_until ELSE NULL END \
         WHERE id = $1",
    )
    .bind(&m.id)
    .bind(&m.title)
    .bind(m.starts_at)
    .bind(m.ends_at)
    .bind(&m.time_zone)
    .bind(&m.weekdays)
    .bind(&m.repeat_until)
    .bind(m.repeat_count)
    .bind(m.guests_allowed)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks a meeting cancelled (kept for the feeds, with a bumped sequence).
pub async fn cancel_meeting(pool: &AnyPool, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE meetings SET status = 'cancelled', sequence = sequence + 1, updated_at = $2 \
         WHERE id = $1 AND status <> 'cancelled'",
    )
    .bind(id)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The live room opened: the meeting's actual start (a later opening replaces it and
/// clears the end).
pub async fn mark_started(pool: &AnyPool, id: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE meetings SET started_at = $2, ended_at = NULL WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}

/// The live room closed (its last person left, or the host ended it for everyone).
pub async fn mark_ended(pool: &AnyPool, id: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE meetings SET ended_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}

/// The meetings someone sees: their own without a team, and those of their teams.
/// `team` narrows to one team (`""`: all); `with_cancelled` is for calendar feeds.
pub async fn meetings_for(
    pool: &AnyPool,
    user: &str,
    team: &str,
    with_cancelled: bool,
) -> Result<Vec<MeetingRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {MEETING} FROM meetings WHERE \
         (($3 = 1) OR status = 'scheduled') AND ($2 = '' OR team_id = $2) AND \
         ((team_id IS NULL AND host_id = $1) OR team_id IN \
          (SELECT team_id FROM meetings_team_members WHERE user_id = $1)) \
         ORDER BY starts_at, id"
    ))
    .bind(user)
    .bind(team)
    .bind(with_cancelled as i64)
    .fetch_all(pool)
    .await?)
}

/// A team's meetings, cancelled ones included (for its feed).
pub async fn team_meetings(pool: &AnyPool, team: &str) -> Result<Vec<MeetingRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {MEETING} FROM meetings WHERE team_id = $1 ORDER BY starts_at, id"
    ))
    .bind(team)
    .fetch_all(pool)
    .await?)
}

/// Scheduled meetings that may have an occurrence starting before `to`: one-off ones
/// starting in `[from, to)`, and every weekly one that has begun by then.
pub async fn reminder_candidates(pool: &AnyPool, from: i64, to: i64) -> Result<Vec<MeetingRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {MEETING} FROM meetings WHERE status = 'scheduled' AND instant = 0 \
         AND starts_at < $2 AND (weekdays <> '' OR starts_at >= $1) ORDER BY starts_at, id"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?)
}

/// Claims the reminders of the occurrence starting at `start`; false when they went out.
pub async fn claim_reminder(tx: &mut Tx, id: &str, start: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE meetings SET reminded_until = $2 WHERE id = $1 \
         AND (reminded_until IS NULL OR reminded_until < $2)",
    )
    .bind(id)
    .bind(start)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---- Feeds --------------------------------------------------------------------------

/// The current generation of a feed, if it has one.
pub async fn feed_generation(pool: &AnyPool, owner: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT generation FROM meetings_feeds WHERE owner = $1")
            .bind(owner)
            .fetch_optional(pool)
            .await?,
    )
}

/// Records a feed's first generation unless it has one.
pub async fn start_feed(pool: &AnyPool, owner: &str, token_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO meetings_feeds (owner, generation, token_hash, created_at) \
         VALUES ($1, 1, $2, $3) ON CONFLICT (owner) DO NOTHING",
    )
    .bind(owner)
    .bind(token_hash)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// Moves a feed from generation `from` to `from + 1`; false when another request did.
pub async fn next_feed(pool: &AnyPool, owner: &str, from: i64, token_hash: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE meetings_feeds SET generation = $2 + 1, token_hash = $3, created_at = $4 \
         WHERE owner = $1 AND generation = $2",
    )
    .bind(owner)
    .bind(from)
    .bind(token_hash)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whose feed a token hash opens (`user:<id>` or `team:<id>`).
pub async fn feed_owner(pool: &AnyPool, token_hash: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT owner FROM meetings_feeds WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await?,
    )
}

// ---- People -------------------------------------------------------------------------

pub async fn user(pool: &AnyPool, id: &str) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as("SELECT id, email, name FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Someone's time zone and language for mail, if they said.
pub async fn person(pool: &AnyPool, user: &str) -> Result<Option<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT time_zone, lang FROM meetings_people WHERE user_id = $1")
            .bind(user)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn set_person(pool: &AnyPool, user: &str, zone: &str, lang: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO meetings_people (user_id, time_zone, lang, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
         time_zone = excluded.time_zone, lang = excluded.lang, updated_at = excluded.updated_at",
    )
    .bind(user)
    .bind(zone)
    .bind(lang)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// What the studio keeps about a person whose account goes: their memberships (a team
/// left empty goes too; an owner's team passes to its longest-standing admin, or else
/// member), their meetings without a team, their feed and their settings.
pub async fn forget(tx: &mut Tx, user: &str) -> Result<()> {
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT team_id FROM meetings_team_members WHERE user_id = $1 AND role = 'owner'",
    )
    .bind(user)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM meetings_team_members WHERE user_id = $1")
        .bind(user)
        .execute(&mut **tx)
        .await?;
    for team in owned {
        let heir: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM meetings_team_members WHERE team_id = $1 \
             ORDER BY CASE role WHEN 'admin' THEN 0 ELSE 1 END, joined_at, user_id LIMIT 1",
        )
        .bind(&team)
        .fetch_optional(&mut **tx)
        .await?;
        match heir {
            Some(h) => {
                sqlx::query(
                    "UPDATE meetings_team_members SET role = 'owner' \
                     WHERE team_id = $1 AND user_id = $2",
                )
                .bind(&team)
                .bind(h)
                .execute(&mut **tx)
                .await?;
            }
            None => delete_team(tx, &team).await?,
        }
    }
    // Teams someone else owned but that only they were left in are empty now.
    sqlx::query(
        "DELETE FROM meetings_teams WHERE NOT EXISTS \
         (SELECT 1 FROM meetings_team_members m WHERE m.team_id = meetings_teams.id)",
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM meetings WHERE host_id = $1 AND team_id IS NULL")
        .bind(user)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM meetings_feeds WHERE owner = $1")
        .bind(format!("user:{user}"))
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM meetings_people WHERE user_id = $1")
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---- Chat -----------------------------------------------------------------------------

/// Stores one chat line of a running meeting (before anyone is sent it).
pub async fn add_chat_line(
    pool: &AnyPool,
    meeting: &str,
    user_id: Option<&str>,
    line: &crate::protocol::ChatLine,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO meetings_chat (id, meeting_id, user_id, name, body, at, created_at, seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM meetings_chat WHERE meeting_id = $2))",
    )
    .bind(new_id())
    .bind(meeting)
    .bind(user_id)
    .bind(&line.name)
    .bind(&line.text)
    .bind(&line.at)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// The last `limit` chat lines of a meeting, oldest first.
pub async fn chat_lines(
    pool: &AnyPool,
    meeting: &str,
    limit: i64,
) -> Result<Vec<crate::protocol::ChatLine>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT name, body, at FROM meetings_chat WHERE meeting_id = $1 \
         ORDER BY seq DESC LIMIT $2",
    )
    .bind(meeting)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .rev()
        .map(|(name, text, at)| crate::protocol::ChatLine {
            from: None,
            name,
            text,
            at,
        })
        .collect())
}
