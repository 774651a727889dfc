//! Each act of the studio once, for the API, the pages and the jobs alike: teams and
//! their members, invitations and leaving, meetings made, changed and cancelled (with
//! the mail that goes with them), the secret feed addresses, and who may see what.

use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use tutti_platform::{Identity, Platform, Role};
use tutti_store::{new_id, now_ms};

use crate::Meetings;
use crate::db::{self, InviteRow, MeetingRow, TeamRow};
use crate::domain::{
    self, INSTANT_MS, JoinRole, Joiner, Schedule, ScheduleInput, TeamRole, check_schedule,
    stored_zone, ts,
};
use crate::error::MeetingError;

type Result<T> = std::result::Result<T, MeetingError>;

/// How long an invitation link lasts unless its maker says otherwise.
pub const INVITE_DAYS: i64 = 7;
/// The longest an invitation link may last.
pub const MAX_INVITE_DAYS: i64 = 30;
/// Reminders go out this long before a meeting starts.
pub const REMINDER_LEAD_MS: i64 = 15 * 60_000;

// ---- Secrets ------------------------------------------------------------------------

/// A secret made from `what` with the studio's server key: the same on every node, so
/// the link can be shown again without storing it; only its hash is stored.
async fn derive(p: &Platform, what: &str) -> Result<String> {
    let key = tutti_platform::server_secret(&p.db, "meetings-links").await?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).map_err(MeetingError::internal)?;
    mac.update(what.as_bytes());
    Ok(hex::encode(&mac.finalize().into_bytes()[..20]))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An invitation's link secret.
pub async fn invite_token(p: &Platform, invite_id: &str) -> Result<String> {
    derive(p, &format!("invite:{invite_id}")).await
}

pub async fn invite_url(p: &Platform, invite_id: &str) -> Result<String> {
    let token = invite_token(p, invite_id).await?;
    Ok(p.settings.link(&format!("/meetings/invite/{token}")))
}

/// The feed of `owner` (`user:<id>` or `team:<id>`), made on first use.
pub async fn feed_url(p: &Platform, owner: &str) -> Result<String> {
    let pool = p.db.pool();
    let generation = match db::feed_generation(pool, owner).await? {
        Some(g) => g,
        None => {
            let token = derive(p, &format!("feed:{owner}:1")).await?;
            db::start_feed(pool, owner, &hash_secret(&token)).await?;
            db::feed_generation(pool, owner).await?.unwrap_or(1)
        }
    };
    let token = derive(p, &format!("feed:{owner}:{generation}")).await?;
    Ok(p.settings.link(&format!("/meetings/feeds/{token}.ics")))
}

/// A new address for the feed of `owner`; the old one stops working.
pub async fn regenerate_feed(p: &Platform, owner: &str) -> Result<String> {
    feed_url(p, owner).await?;
    let pool = p.db.pool();
    let current = db::feed_generation(pool, owner).await?.unwrap_or(1);
    let token = derive(p, &format!("feed:{owner}:{}", current + 1)).await?;
    db::next_feed(pool, owner, current, &hash_secret(&token)).await?;
    feed_url(p, owner).await
}

// ---- Looking things up --------------------------------------------------------------

pub async fn team_or_404(m: &Meetings, id: &str) -> Result<TeamRow> {
    db::team(m.platform.db.pool(), id)
        .await?
        .ok_or_else(|| MeetingError::not_found("There is no such team."))
}

/// The person's role in the team; refused when they are not in it (administrators see
/// every team, as members).
pub async fn must_belong(m: &Meetings, identity: &Identity, team: &TeamRow) -> Result<TeamRole> {
    match db::member_role(m.platform.db.pool(), &team.id, &identity.user.id).await? {
        Some(role) => Ok(role),
        None if identity.is_admin() => Ok(TeamRole::Member),
        None => Err(MeetingError::forbidden(
            "not-team-member",
            "Only the team's members may do this. Ask its owner or an admin for an \
             invitation link.",
        )),
    }
}

/// Refuses unless the person is the team's owner or one of its admins.
pub async fn must_manage_team(
    m: &Meetings,
    identity: &Identity,
    team: &TeamRow,
) -> Result<TeamRole> {
    let role = must_belong(m, identity, team).await?;
    if role.manages() || identity.is_admin() {
        Ok(role.max(TeamRole::Admin))
    } else {
        Err(MeetingError::forbidden(
            "not-team-manager",
            "Only the team's owner and admins may do this.",
        ))
    }
}

/// A meeting by id; a cancelled one is gone for everyone but `with_cancelled` callers.
pub async fn meeting_or_404(m: &Meetings, id: &str) -> Result<MeetingRow> {
    db::meeting(m.platform.db.pool(), id)
        .await?
        .ok_or_else(|| MeetingError::not_found("There is no such meeting."))
}

/// The person's role in the meeting's team, if it has one and they are in it.
pub async fn team_role_in(
    m: &Meetings,
    meeting: &MeetingRow,
    user: &str,
) -> Result<Option<TeamRole>> {
    match &meeting.team_id {
        Some(team) => db::member_role(m.platform.db.pool(), team, user).await,
        None => Ok(None),
    }
}

pub async fn must_see(m: &Meetings, identity: &Identity, meeting: &MeetingRow) -> Result<()> {
    let role = team_role_in(m, meeting, &identity.user.id).await?;
    if domain::may_see(&identity.user.id, identity.is_admin(), meeting, role) {
        Ok(())
    } else {
        Err(MeetingError::forbidden(
            "not-meeting-member",
            "This meeting is its host's and its team's; you are neither.",
        ))
    }
}

pub async fn must_manage(m: &Meetings, identity: &Identity, meeting: &MeetingRow) -> Result<()> {
    let role = team_role_in(m, meeting, &identity.user.id).await?;
    if domain::may_manage(&identity.user.id, identity.is_admin(), meeting, role) {
        Ok(())
    } else {
        Err(MeetingError::forbidden(
            "not-meeting-host",
            "Only the meeting's host and its team's owner and admins may change it.",
        ))
    }
}

/// Who a signed-in person is to a meeting, for [`domain::may_join`].
pub async fn joiner(m: &Meetings, identity: &Identity, meeting: &MeetingRow) -> Result<Joiner> {
    Ok(Joiner::Person {
        user_id: identity.user.id.clone(),
        team_role: team_role_in(m, meeting, &identity.user.id).await?,
    })
}

/// The schedule stored with a meeting.
pub fn schedule_of(meeting: &MeetingRow) -> Schedule {
    Schedule {
        starts_at: ts(meeting.starts_at),
        ends_at: ts(meeting.ends_at),
        zone: stored_zone(&meeting.time_zone),
        weekly: {
            let days = domain::stored_weekdays(&meeting.weekdays);
            (!days.is_empty()).then(|| domain::Weekly {
                days,
                until: meeting.repeat_until.as_deref().and_then(|d| d.parse().ok()),
                count: meeting.repeat_count,
            })
        },
    }
}

// ---- Teams --------------------------------------------------------------------------

pub async fn create_team(m: &Meetings, identity: &Identity, name: &str) -> Result<TeamRow> {
    identity.require(&Role::MEMBER)?;
    let name = domain::check_team_name(name)?;
    let mut tx = m.platform.db.begin().await?;
    let team = db::create_team(&mut tx, &name, &identity.user.id).await?;
    tx.commit().await?;
    tracing::info!(team = %team.id, "meetings team created");
    Ok(team)
}

/// What leaving did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    Left,
    /// The last member left, so the team went with its meetings.
    TeamRemoved,
}

/// Leaves a team. The owner hands ownership over first while others remain; the last
/// member must confirm, since the team and its meetings go with them.
pub async fn leave_team(
    m: &Meetings,
    identity: &Identity,
    team: &TeamRow,
    confirm: bool,
) -> Result<Left> {
    let role = db::member_role(m.platform.db.pool(), &team.id, &identity.user.id)
        .await?
        .ok_or_else(|| {
            MeetingError::forbidden("not-team-member", "You are not a member of this team.")
        })?;
    let mut tx = m.platform.db.begin().await?;
    let count = db::count_members(&mut tx, &team.id).await?;
    if count <= 1 {
        if !confirm {
            return Err(MeetingError::conflict(
                "last-member",
                Some("confirm"),
                "You are the team's last member: leaving removes the team with its \
                 meetings. Confirm (`confirm: true`) to go ahead.",
            ));
        }
        db::delete_team(&mut tx, &team.id).await?;
        tx.commit().await?;
        tracing::info!(team = %team.id, "meetings team removed by its last member");
        return Ok(Left::TeamRemoved);
    }
    if role == TeamRole::Owner {
        return Err(MeetingError::conflict(
            "owner-leaving",
            None,
            "The owner cannot leave while others are in the team: hand ownership to \
             someone first.",
        ));
    }
    db::remove_member(&mut tx, &team.id, &identity.user.id).await?;
    tx.commit().await?;
    Ok(Left::Left)
}

/// Gives `target` the role `role` (admin or member), or removes them (`None`).
pub async fn change_member(
    m: &Meetings,
    identity: &Identity,
    team: &TeamRow,
    target: &str,
    role: Option<TeamRole>,
) -> Result<()> {
    let actor = must_manage_team(m, identity, team).await?;
    let pool = m.platform.db.pool();
    let current = db::member_role(pool, &team.id, target)
        .await?
        .ok_or_else(|| MeetingError::not_found("That person is not a member of this team."))?;
    let actor = if identity.is_admin() {
        TeamRole::Owner
    } else {
        actor
    };
    domain::may_change_member(actor, current, role)?;
    match role {
        Some(r) => {
            db::set_role(pool, &team.id, target, r).await?;
        }
        None => {
            let mut tx = m.platform.db.begin().await?;
            db::remove_member(&mut tx, &team.id, target).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// The owner hands the team to another member, and stays as an admin.
pub async fn hand_over(m: &Meetings, identity: &Identity, team: &TeamRow, to: &str) -> Result<()> {
    let pool = m.platform.db.pool();
    let role = db::member_role(pool, &team.id, &identity.user.id).await?;
    if role != Some(TeamRole::Owner) {
        return Err(MeetingError::forbidden(
            "not-team-owner",
            "Only the team's owner hands ownership over.",
        ));
    }
    if db::member_role(pool, &team.id, to).await?.is_none() {
        return Err(MeetingError::conflict(
            "not-team-member",
            Some("user_id"),
            "Ownership goes to a member of the team; that person is not one.",
        ));
    }
    if to == identity.user.id {
        return Ok(());
    }
    let mut tx = m.platform.db.begin().await?;
    db::hand_over(&mut tx, &team.id, &identity.user.id, to).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create_invite(
    m: &Meetings,
    identity: &Identity,
    team: &TeamRow,
    days: Option<i64>,
) -> Result<InviteRow> {
    must_manage_team(m, identity, team).await?;
    let days = days.unwrap_or(INVITE_DAYS);
    if !(1..=MAX_INVITE_DAYS).contains(&days) {
        return Err(MeetingError::invalid(
            "expires_in_days",
            format!("An invitation link lasts 1 to {MAX_INVITE_DAYS} days."),
        ));
    }
    let id = new_id();
    let token = invite_token(&m.platform, &id).await?;
    db::create_invite(
        m.platform.db.pool(),
        &id,
        &team.id,
        &hash_secret(&token),
        &identity.user.id,
        now_ms() + days * 86_400_000,
    )
    .await
}

/// The invitation a link's secret opens, if it still lets people in.
pub async fn open_invite(m: &Meetings, token: &str) -> Result<(InviteRow, TeamRow)> {
    let missing = || MeetingError::not_found("This invitation link is not (or no longer) valid.");
    if token.len() > 100 {
        return Err(missing());
    }
    let invite = db::invite_by_hash(m.platform.db.pool(), &hash_secret(token))
        .await?
        .ok_or_else(missing)?;
    if invite.revoked_at.is_some() {
        return Err(MeetingError::Gone(
            "This invitation link was revoked; ask the team for a new one.".into(),
        ));
    }
    if invite.expires_at <= now_ms() {
        return Err(MeetingError::Gone(
            "This invitation link has expired; ask the team for a new one.".into(),
        ));
    }
    let team = team_or_404(m, &invite.team_id).await?;
    Ok((invite, team))
}

/// Joins the team an invitation link is for (already a member: nothing changes).
pub async fn accept_invite(m: &Meetings, identity: &Identity, token: &str) -> Result<TeamRow> {
    let (invite, team) = open_invite(m, token).await?;
    let mut tx = m.platform.db.begin().await?;
    if db::add_member(&mut tx, &team.id, &identity.user.id, TeamRole::Member).await? {
        db::invite_used(&mut tx, &invite.id).await?;
    }
    tx.commit().await?;
    Ok(team)
}

// ---- Meetings -----------------------------------------------------------------------

/// A meeting as someone asks for it (the API's and the form's fields).
#[derive(Debug, Default)]
pub struct MeetingFields<'a> {
    pub title: &'a str,
    /// None for an instant meeting (starts now, for an hour).
    pub schedule: Option<ScheduleInput<'a>>,
    /// For an instant meeting: the zone its times are shown in (UTC by default).
    pub time_zone: Option<&'a str>,
    pub team_id: Option<&'a str>,
    pub guests_allowed: bool,
}

/// Makes a meeting: the creator hosts it; a team meeting needs a team member, one
/// without a team the `member` role. Team members get an invitation by mail.
pub async fn create_meeting(
    m: &Meetings,
    identity: &Identity,
    fields: &MeetingFields<'_>,
    lang: &str,
) -> Result<MeetingRow> {
    let title = domain::check_title(fields.title)?;
    let (schedule, instant) = match &fields.schedule {
        Some(input) => (check_schedule(input)?, false),
        None => {
            let zone = domain::parse_zone("time_zone", fields.time_zone.unwrap_or("UTC"))?;
            let now = now_ms();
            let schedule = Schedule {
                starts_at: ts(now),
                ends_at: ts(now + INSTANT_MS),
                zone,
                weekly: None,
            };
            (schedule, true)
        }
    };
    let team = match fields.team_id.filter(|t| !t.is_empty()) {
        Some(id) => {
            let team = db::team(m.platform.db.pool(), id)
                .await?
                .ok_or_else(|| MeetingError::not_found("There is no such team (team_id)."))?;
            must_belong(m, identity, &team).await?;
            Some(team)
        }
        None => {
            identity.require(&Role::MEMBER)?;
            None
        }
    };
    let now = now_ms();
    let weekly = schedule.weekly.as_ref();
    let row = MeetingRow {
        id: new_id(),
        code: domain::new_code(),
        title,
        team_id: team.as_ref().map(|t| t.id.clone()),
        host_id: identity.user.id.clone(),
        starts_at: schedule.starts_at.as_millisecond(),
        ends_at: schedule.ends_at.as_millisecond(),
        time_zone: schedule.zone.name.clone(),
        instant: instant as i64,
        weekdays: weekly
            .map(|w| domain::weekdays_text(&w.days))
            .unwrap_or_default(),
        repeat_until: weekly.and_then(|w| w.until).map(|d| d.to_string()),
        repeat_count: weekly.and_then(|w| w.count),
        guests_allowed: fields.guests_allowed as i64,
        sequence: 0,
        status: "scheduled".into(),
        started_at: None,
        ended_at: None,
        reminded_until: None,
        created_at: now,
        updated_at: now,
    };
    let recipients = match (&team, instant) {
        (Some(team), false) => db::members(m.platform.db.pool(), &team.id)
            .await?
            .into_iter()
            .filter(|r| r.user_id != identity.user.id)
            .collect(),
        _ => Vec::new(),
    };
    let mut mails = Vec::new();
    for r in &recipients {
        let Some(email) = r.email.clone() else {
            continue;
        };
        let (subject, body) = crate::jobs::meeting_mail(
            m,
            "meetings-mail-invite",
            &row,
            &schedule,
            &r.user_id,
            lang,
            &identity.user.name,
            team.as_ref().map(|t| t.name.as_str()),
        )
        .await?;
        mails.push((email, subject, body));
    }
    let mut tx = m.platform.db.begin().await?;
    db::insert_meeting(&mut tx, &row).await?;
    for (email, subject, body) in &mails {
        m.mailer
            .send(&mut tx, email, subject, body, None, None)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(meeting = %row.id, instant, "meeting created");
    Ok(row)
}

/// Changes to a meeting; each field left out stays as it is.
#[derive(Debug, Default)]
pub struct MeetingChanges<'a> {
    pub title: Option<&'a str>,
    pub starts_at: Option<&'a str>,
    pub ends_at: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub weekdays: Option<&'a [String]>,
    /// `Some(None)` clears it.
    pub repeat_until: Option<Option<&'a str>>,
    pub repeat_count: Option<Option<i64>>,
    pub guests_allowed: Option<bool>,
}

/// Edits a meeting (its host, its team's managers), bumping its sequence.
pub async fn edit_meeting(
    m: &Meetings,
    identity: &Identity,
    meeting: &MeetingRow,
    c: &MeetingChanges<'_>,
) -> Result<MeetingRow> {
    must_manage(m, identity, meeting).await?;
    if meeting.is_cancelled() {
        return Err(MeetingError::conflict(
            "meeting-cancelled",
            None,
            "This meeting was cancelled; schedule a new one instead.",
        ));
    }
    let title = match c.title {
        Some(t) => domain::check_title(t)?,
        None => meeting.title.clone(),
    };
    let current = schedule_of(meeting);
    let start = c
        .starts_at
        .map(str::to_string)
        .unwrap_or_else(|| current.starts_at.to_string());
    let end = c
        .ends_at
        .map(str::to_string)
        .unwrap_or_else(|| current.ends_at.to_string());
    let days: Vec<String> = match c.weekdays {
        Some(d) => d.to_vec(),
        None => meeting
            .weekdays
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let until = match c.repeat_until {
        Some(u) => u.map(str::to_string),
        None => meeting.repeat_until.clone(),
    };
    let count = c.repeat_count.unwrap_or(meeting.repeat_count);
    let schedule = check_schedule(&ScheduleInput {
        starts_at: &start,
        ends_at: &end,
        time_zone: c.time_zone.unwrap_or(&meeting.time_zone),
        weekdays: &days,
        repeat_until: until.as_deref(),
        repeat_count: count,
    })?;
    let weekly = schedule.weekly.as_ref();
    let mut row = meeting.clone();
    row.title = title;
    row.starts_at = schedule.starts_at.as_millisecond();
    row.ends_at = schedule.ends_at.as_millisecond();
    row.time_zone = schedule.zone.name.clone();
    row.weekdays = weekly
        .map(|w| domain::weekdays_text(&w.days))
        .unwrap_or_default();
    row.repeat_until = weekly.and_then(|w| w.until).map(|d| d.to_string());
    row.repeat_count = weekly.and_then(|w| w.count);
    row.guests_allowed = c
        .guests_allowed
        .map(i64::from)
        .unwrap_or(meeting.guests_allowed);
    db::update_meeting(m.platform.db.pool(), &row).await?;
    meeting_or_404(m, &meeting.id).await
}

/// Cancels a meeting: it leaves the lists and its feeds say `CANCELLED`.
pub async fn cancel_meeting(m: &Meetings, identity: &Identity, meeting: &MeetingRow) -> Result<()> {
    must_manage(m, identity, meeting).await?;
    db::cancel_meeting(m.platform.db.pool(), &meeting.id).await?;
    Ok(())
}

/// Which of someone's meetings a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum When {
    /// Those not over yet, soonest first.
    #[default]
    Upcoming,
    /// Those over, most recent first.
    Past,
}

/// Someone's meetings (of one team, or all), with the occurrence each list shows: the
/// next one for upcoming meetings, the last one for past ones.
pub async fn list_meetings(
    m: &Meetings,
    user: &str,
    team: Option<&str>,
    when: When,
) -> Result<Vec<(MeetingRow, Schedule, Timestamp, Timestamp)>> {
    let rows = db::meetings_for(m.platform.db.pool(), user, team.unwrap_or(""), false).await?;
    let now = Timestamp::now();
    let mut out = Vec::new();
    for row in rows {
        let s = schedule_of(&row);
        match (when, s.next_after(now)) {
            (When::Upcoming, Some((a, b))) => out.push((row, s, a, b)),
            (When::Past, None) => {
                let end = s.last_end().unwrap_or(s.ends_at);
                let start = end
                    .checked_sub(jiff::SignedDuration::from_millis(s.duration_ms()))
                    .unwrap_or(s.starts_at);
                out.push((row, s, start, end));
            }
            _ => {}
        }
    }
    match when {
        When::Upcoming => out.sort_by_key(|(_, _, a, _)| *a),
        When::Past => out.sort_by_key(|(_, _, a, _)| std::cmp::Reverse(*a)),
    }
    Ok(out)
}

/// The occurrences of someone's meetings overlapping `[from, to)`, soonest first.
pub async fn occurrences_for(
    m: &Meetings,
    user: &str,
    team: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(MeetingRow, Timestamp, Timestamp)>> {
    let rows = db::meetings_for(m.platform.db.pool(), user, team.unwrap_or(""), false).await?;
    let mut out = Vec::new();
    for row in rows {
        for (a, b) in schedule_of(&row).occurrences(from, to) {
            out.push((row.clone(), a, b));
        }
    }
    out.sort_by_key(|(r, a, _)| (*a, r.id.clone()));
    Ok(out)
}

/// Remembers someone's time zone (and language) for the mail they get.
pub async fn set_person(
    m: &Meetings,
    identity: &Identity,
    zone: &str,
    lang: &str,
) -> Result<String> {
    let zone = domain::parse_zone("time_zone", zone)?;
    db::set_person(m.platform.db.pool(), &identity.user.id, &zone.name, lang).await?;
    Ok(zone.name)
}

// ---- The live call ------------------------------------------------------------------

/// What someone is in the running meeting: its host (or a manager of its team, who has
/// the host's powers), one of its people, or a guest; refused when they may not join.
pub async fn call_role(
    m: &Meetings,
    identity: Option<&Identity>,
    meeting: &MeetingRow,
) -> Result<crate::protocol::Role> {
    use crate::protocol::Role as CallRole;
    let Some(identity) = identity else {
        let guest = Joiner::Guest {
            name: String::new(),
        };
        domain::may_join(&guest, meeting)?;
        return Ok(CallRole::Guest);
    };
    let team_role = team_role_in(m, meeting, &identity.user.id).await?;
    let who = Joiner::Person {
        user_id: identity.user.id.clone(),
        team_role,
    };
    let joins = domain::may_join(&who, meeting)?;
    let manages = domain::may_manage(&identity.user.id, identity.is_admin(), meeting, team_role);
    Ok(match joins {
        JoinRole::Host => CallRole::Host,
        _ if manages => CallRole::Host,
        JoinRole::Member => CallRole::Member,
        JoinRole::Guest => CallRole::Guest,
    })
}

/// The meeting a code opens, unless it was cancelled.
pub async fn meeting_for_code(m: &Meetings, code: &str) -> Result<MeetingRow> {
    let missing = || MeetingError::not_found("No meeting has this code. Check the link.");
    let code = domain::normalize_code(code).ok_or_else(missing)?;
    db::meeting_by_code(m.platform.db.pool(), &code)
        .await?
        .filter(|r| !r.is_cancelled())
        .ok_or_else(missing)
}
