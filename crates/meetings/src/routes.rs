//! The meetings studio's JSON API under `/api/v1/meetings`: meetings (instant or
//! scheduled, listed with a team filter, changed, cancelled), the caller's and a team's
//! secret calendar feeds, teams with their members, roles, ownership and invitation
//! links, and the caller's time zone for mail. Handlers parse, call `service`, and
//! answer problems naming the field at fault.

use std::time::Duration;

use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use tutti_platform::ws::{self, Peer, RoomKey, Who};
use tutti_platform::{Access, Identity, Role, Routes, StudioRoutes};
use tutti_web::{Json, Lang, Object, Problem, Query};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::db::{self, InviteRow, MeetingRow, MemberRow, TeamRow};
use crate::domain::{ScheduleInput, TeamRole};
use crate::room::Entrant;
use crate::service::{self, MeetingChanges, MeetingFields, When};
use crate::{Meetings, pages};

type Result<T> = std::result::Result<T, Problem>;

/// Every page and API route of the studio.
pub fn routes(m: Meetings) -> StudioRoutes {
    pages::routes(Routes::new())
        .api(Access::SignedIn, routes!(list_meetings, create_meeting))
        .api(
            Access::SignedIn,
            routes!(get_meeting, edit_meeting, cancel_meeting),
        )
        .api(Access::SignedIn, routes!(my_feed, regenerate_my_feed))
        .api(Access::SignedIn, routes!(set_settings))
        .api(Access::SignedIn, routes!(my_teams))
        .api(Access::Role(Role::MEMBER), routes!(create_team))
        .api(Access::SignedIn, routes!(get_team, rename_team))
        .api(Access::SignedIn, routes!(leave_team))
        .api(Access::SignedIn, routes!(set_member_role, remove_member))
        .api(Access::SignedIn, routes!(hand_over))
        .api(Access::SignedIn, routes!(list_invites, create_invite))
        .api(Access::SignedIn, routes!(revoke_invite))
        .api(Access::SignedIn, routes!(accept_invite))
        .api(Access::SignedIn, routes!(team_feed, regenerate_team_feed))
        .api(Access::Public, routes!(guest_pass))
        .page(
            Access::Public,
            Method::GET,
            "/meetings/join/{code}/socket",
            socket,
        )
        .with_state(m)
}

/// `Some(value)` for a field that was sent (`null` included), so a PATCH tells "clear"
/// from "leave as it is".
fn sent<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

// ---- Views --------------------------------------------------------------------------

/// A meeting as the API shows it. Times are RFC 3339 in UTC; `time_zone` says where its
/// wall-clock times are kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingView {
    pub id: String,
    /// The join code, `xxxx-xxxx-xxxx-xxxx`.
    pub code: String,
    /// Where to join it (absolute).
    pub join_url: String,
    /// Its iCalendar file (absolute; for those who may see the meeting).
    pub ics_url: String,
    pub title: String,
    pub team_id: Option<String>,
    pub host_id: String,
    /// The first (or only) occurrence.
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub time_zone: String,
    /// Started on the spot, with no schedule.
    pub instant: bool,
    /// Weekly on these days (empty: once).
    pub weekdays: Vec<String>,
    #[schema(format = Date)]
    pub repeat_until: Option<String>,
    pub repeat_count: Option<i64>,
    pub guests_allowed: bool,
    /// Grows with every change (iCalendar SEQUENCE).
    pub sequence: i64,
    /// `scheduled` or `cancelled`.
    pub status: String,
    /// The next occurrence that has not ended, if any.
    #[schema(format = DateTime)]
    pub next_starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub next_ends_at: Option<String>,
    /// When its live room actually opened and closed.
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
}

pub fn iso(ms: i64) -> String {
    crate::domain::ts(ms).to_string()
}

pub fn meeting_view(m: &Meetings, row: &MeetingRow) -> MeetingView {
    let s = service::schedule_of(row);
    let next = s.next_after(jiff::Timestamp::now());
    let settings = &m.platform.settings;
    MeetingView {
        id: row.id.clone(),
        code: row.code.clone(),
        join_url: settings.link(&format!("/meetings/join/{}", row.code)),
        ics_url: settings.link(&format!("/meetings/{}/calendar.ics", row.id)),
        title: row.title.clone(),
        team_id: row.team_id.clone(),
        host_id: row.host_id.clone(),
        starts_at: iso(row.starts_at),
        ends_at: iso(row.ends_at),
        time_zone: row.time_zone.clone(),
        instant: row.instant != 0,
        weekdays: row
            .weekdays
            .split(',')
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
        repeat_until: row.repeat_until.clone(),
        repeat_count: row.repeat_count,
        guests_allowed: row.guests_allowed != 0,
        sequence: row.sequence,
        status: row.status.clone(),
        next_starts_at: next.map(|(a, _)| a.to_string()),
        next_ends_at: next.map(|(_, b)| b.to_string()),
        started_at: row.started_at.map(iso),
        ended_at: row.ended_at.map(iso),
    }
}

/// A team as its members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    /// The caller's role in it: `owner`, `admin` or `member`.
    pub role: String,
    /// Its page.
    pub url: String,
}

fn team_view(m: &Meetings, t: &TeamRow, role: TeamRole) -> TeamView {
    TeamView {
        id: t.id.clone(),
        name: t.name.clone(),
        role: role.as_str().to_string(),
        url: m
            .platform
            .settings
            .link(&format!("/meetings/teams/{}", t.id)),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberView {
    pub user_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// `owner`, `admin` or `member`.
    pub role: String,
    #[schema(format = DateTime)]
    pub joined_at: String,
}

pub fn member_view(r: &MemberRow) -> TeamMemberView {
    TeamMemberView {
        user_id: r.user_id.clone(),
        name: r.name.clone(),
        email: r.email.clone(),
        role: r.role.clone(),
        joined_at: iso(r.joined_at),
    }
}

/// A team with its members.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDetails {
    #[serde(flatten)]
    pub team: TeamView,
    pub members: Vec<TeamMemberView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamInviteView {
    pub id: String,
    /// The link to pass on; whoever signs in and opens it joins the team.
    pub url: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub revoked: bool,
    /// How many people joined through it.
    pub accepted: i64,
}

async fn invite_view(m: &Meetings, i: &InviteRow) -> Result<TeamInviteView> {
    Ok(TeamInviteView {
        id: i.id.clone(),
        url: service::invite_url(&m.platform, &i.id).await?,
        expires_at: iso(i.expires_at),
        revoked: i.revoked_at.is_some(),
        accepted: i.accepted,
    })
}

/// A secret calendar feed: whoever has the address reads it, no sign-in needed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingFeed {
    pub feed_url: String,
}

// ---- Meetings -----------------------------------------------------------------------

/// A new meeting. Leave out the times for an instant meeting (it starts now).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeetingInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub title: String,
    /// RFC 3339, e.g. `2026-12-24T18:00:00+01:00`; with `ends_at` and `time_zone`.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// An IANA time zone such as `Europe/Berlin`: where the meeting's wall-clock time is
    /// kept (weekly meetings stay at it across daylight-saving changes).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    /// A team of yours; its members are invited by mail. None: a meeting of your own.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub team_id: Option<String>,
    /// Weekly on these days; the first meeting's day must be one of them.
    #[serde(default)]
    #[schema(max_items = 7)]
    pub weekdays: Vec<MeetingDay>,
    /// The last date (in the meeting's zone) a weekly meeting may fall on.
    #[serde(default)]
    #[schema(format = Date)]
    pub repeat_until: Option<String>,
    /// How many times a weekly meeting happens, the first included.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 520)]
    pub repeat_count: Option<i64>,
    /// Whether people without an account may join (with a name).
    #[serde(default)]
    pub guests_allowed: bool,
}

/// A day of the week, as iCalendar writes it.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
pub enum MeetingDay {
    MO,
    TU,
    WE,
    TH,
    FR,
    SA,
    SU,
}

fn day_codes(days: &[MeetingDay]) -> Result<Vec<String>> {
    if days.len() > 7 {
        return Err(Problem::invalid(
            "weekdays",
            "Name each day at most once (seven at most).",
        ));
    }
    Ok(days.iter().map(|d| format!("{d:?}")).collect())
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    when: Option<MeetingsWhen>,
}

/// Which meetings a list holds.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MeetingsWhen {
    /// Not over yet, soonest first (the default).
    Upcoming,
    /// Over, most recent first.
    Past,
}

#[utoipa::path(get, path = "/meetings", tag = "meetings",
    summary = "Your meetings (your own and your teams'), upcoming or past",
    params(("team_id" = Option<String>, Query, description = "Only this team's"),
        ("when" = Option<MeetingsWhen>, Query, description = "`upcoming` (the default) or `past`")),
    responses((status = 200, body = Vec<MeetingView>), (status = 422, body = Problem)))]
async fn list_meetings(
    State(m): State<Meetings>,
    identity: Identity,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<MeetingView>>> {
    let when = match q.when {
        None | Some(MeetingsWhen::Upcoming) => When::Upcoming,
        Some(MeetingsWhen::Past) => When::Past,
    };
    let team = q.team_id.as_deref().filter(|t| !t.is_empty());
    let list = service::list_meetings(&m, &identity.user.id, team, when).await?;
    Ok(Json(
        list.iter().map(|(r, ..)| meeting_view(&m, r)).collect(),
    ))
}

#[utoipa::path(post, path = "/meetings", tag = "meetings",
    summary = "Start an instant meeting or schedule one (once or weekly)",
    request_body = MeetingInput,
    responses((status = 201, body = MeetingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_meeting(
    State(m): State<Meetings>,
    identity: Identity,
    lang: Lang,
    Json(Object(input)): Json<Object<MeetingInput>>,
) -> Result<(StatusCode, Json<MeetingView>)> {
    let days = day_codes(&input.weekdays)?;
    let schedule = match (&input.starts_at, &input.ends_at) {
        (None, None) => {
            if !days.is_empty() || input.repeat_until.is_some() || input.repeat_count.is_some() {
                return Err(Problem::invalid(
                    "starts_at",
                    "A weekly meeting needs its first start and end times.",
                ));
            }
            None
        }
        (Some(_), None) => {
            return Err(Problem::invalid(
                "ends_at",
                "Give the end time too (or neither, for an instant meeting).",
            ));
        }
        (None, Some(_)) => {
            return Err(Problem::invalid(
                "starts_at",
                "Give the start time too (or neither, for an instant meeting).",
            ));
        }
        (Some(start), Some(end)) => Some(ScheduleInput {
            starts_at: start,
            ends_at: end,
            time_zone: input.time_zone.as_deref().unwrap_or(""),
            weekdays: &days,
            repeat_until: input.repeat_until.as_deref(),
            repeat_count: input.repeat_count,
        }),
    };
    let fields = MeetingFields {
        title: &input.title,
        schedule,
        time_zone: input.time_zone.as_deref(),
        team_id: input.team_id.as_deref(),
        guests_allowed: input.guests_allowed,
    };
    let row = service::create_meeting(&m, &identity, &fields, lang.code()).await?;
    Ok((StatusCode::CREATED, Json(meeting_view(&m, &row))))
}

#[utoipa::path(get, path = "/meetings/{id}", tag = "meetings",
    summary = "One meeting (for its host and its team's members)",
    params(("id" = String, Path)),
    responses((status = 200, body = MeetingView), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn get_meeting(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    Ok(Json(meeting_view(&m, &row)))
}

/// Changes to a meeting; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeetingPatch {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    /// Empty: the meeting happens once.
    #[serde(default)]
    #[schema(max_items = 7)]
    pub weekdays: Option<Vec<MeetingDay>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<String>, format = Date, nullable)]
    pub repeat_until: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 520, nullable)]
    pub repeat_count: Option<Option<i64>>,
    #[serde(default)]
    pub guests_allowed: Option<bool>,
}

#[utoipa::path(patch, path = "/meetings/{id}", tag = "meetings",
    summary = "Change a meeting (its host or its team's owner and admins); bumps its sequence",
    params(("id" = String, Path)), request_body = MeetingPatch,
    responses((status = 200, body = MeetingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn edit_meeting(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
    Json(Object(p)): Json<Object<MeetingPatch>>,
) -> Result<Json<MeetingView>> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    let days = p.weekdays.as_deref().map(day_codes).transpose()?;
    let changes = MeetingChanges {
        title: p.title.as_deref(),
        starts_at: p.starts_at.as_deref(),
        ends_at: p.ends_at.as_deref(),
        time_zone: p.time_zone.as_deref(),
        weekdays: days.as_deref(),
        repeat_until: p.repeat_until.as_ref().map(|u| u.as_deref()),
        repeat_count: p.repeat_count,
        guests_allowed: p.guests_allowed,
    };
    let row = service::edit_meeting(&m, &identity, &row, &changes).await?;
    Ok(Json(meeting_view(&m, &row)))
}

#[utoipa::path(delete, path = "/meetings/{id}", tag = "meetings",
    summary = "Cancel a meeting: it leaves the lists, and calendar feeds mark it cancelled",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn cancel_meeting(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    service::cancel_meeting(&m, &identity, &row).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/meetings/calendar", tag = "meetings",
    summary = "The address of your secret calendar feed (your meetings and your teams')",
    responses((status = 200, body = MeetingFeed)))]
async fn my_feed(State(m): State<Meetings>, identity: Identity) -> Result<Json<MeetingFeed>> {
    let feed_url = service::feed_url(&m.platform, &format!("user:{}", identity.user.id)).await?;
    Ok(Json(MeetingFeed { feed_url }))
}

#[utoipa::path(post, path = "/meetings/calendar", tag = "meetings",
    summary = "A new address for your calendar feed; the old one stops working",
    responses((status = 200, body = MeetingFeed)))]
async fn regenerate_my_feed(
    State(m): State<Meetings>,
    identity: Identity,
) -> Result<Json<MeetingFeed>> {
    let feed_url =
        service::regenerate_feed(&m.platform, &format!("user:{}", identity.user.id)).await?;
    Ok(Json(MeetingFeed { feed_url }))
}

/// Your settings for meeting mail.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct MeetingSettings {
    /// Your IANA time zone: invitations and reminders show times in it.
    #[schema(max_length = 64)]
    pub time_zone: String,
}

#[utoipa::path(put, path = "/meetings/settings", tag = "meetings",
    summary = "Your time zone for meeting mail (mail is in the language of this request)",
    request_body = MeetingSettings,
    responses((status = 200, body = MeetingSettings), (status = 422, body = Problem)))]
async fn set_settings(
    State(m): State<Meetings>,
    identity: Identity,
    lang: Lang,
    Json(Object(input)): Json<Object<MeetingSettings>>,
) -> Result<Json<MeetingSettings>> {
    let time_zone = service::set_person(&m, &identity, &input.time_zone, lang.code()).await?;
    Ok(Json(MeetingSettings { time_zone }))
}

// ---- Teams --------------------------------------------------------------------------

#[utoipa::path(get, path = "/meetings/teams", tag = "meetings",
    summary = "The teams you belong to",
    responses((status = 200, body = Vec<TeamView>)))]
async fn my_teams(State(m): State<Meetings>, identity: Identity) -> Result<Json<Vec<TeamView>>> {
    let teams = db::teams_of(m.platform.db.pool(), &identity.user.id).await?;
    Ok(Json(
        teams.iter().map(|(t, r)| team_view(&m, t, *r)).collect(),
    ))
}

/// A team's name.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamInput {
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub name: String,
}

#[utoipa::path(post, path = "/meetings/teams", tag = "meetings",
    summary = "Create a team (members and administrators); you become its owner",
    request_body = TeamInput,
    responses((status = 201, body = TeamView), (status = 422, body = Problem)))]
async fn create_team(
    State(m): State<Meetings>,
    identity: Identity,
    Json(Object(input)): Json<Object<TeamInput>>,
) -> Result<(StatusCode, Json<TeamView>)> {
    let team = service::create_team(&m, &identity, &input.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(team_view(&m, &team, TeamRole::Owner)),
    ))
}

#[utoipa::path(get, path = "/meetings/teams/{id}", tag = "meetings",
    summary = "A team with its members (for its members)",
    params(("id" = String, Path)),
    responses((status = 200, body = TeamDetails), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn get_team(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<TeamDetails>> {
    let team = service::team_or_404(&m, &id).await?;
    let role = service::must_belong(&m, &identity, &team).await?;
    let members = db::members(m.platform.db.pool(), &team.id).await?;
    Ok(Json(TeamDetails {
        team: team_view(&m, &team, role),
        members: members.iter().map(member_view).collect(),
    }))
}

#[utoipa::path(patch, path = "/meetings/teams/{id}", tag = "meetings",
    summary = "Rename a team (its owner and admins)",
    params(("id" = String, Path)), request_body = TeamInput,
    responses((status = 200, body = TeamView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn rename_team(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
    Json(Object(input)): Json<Object<TeamInput>>,
) -> Result<Json<TeamView>> {
    let team = service::team_or_404(&m, &id).await?;
    let role = service::must_manage_team(&m, &identity, &team).await?;
    let name = crate::domain::check_team_name(&input.name)?;
    db::rename_team(m.platform.db.pool(), &team.id, &name).await?;
    let team = service::team_or_404(&m, &id).await?;
    Ok(Json(team_view(&m, &team, role)))
}

/// Leaving a team.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamLeave {
    /// Needed from the last member: the team and its meetings are removed with them.
    #[serde(default)]
    pub confirm: bool,
}

/// What leaving did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamLeft {
    /// The last member left, so the team is gone with its meetings.
    pub team_removed: bool,
}

#[utoipa::path(post, path = "/meetings/teams/{id}/leave", tag = "meetings",
    summary = "Leave a team (the last member must confirm: the team goes with them)",
    params(("id" = String, Path)), request_body = TeamLeave,
    responses((status = 200, body = TeamLeft), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn leave_team(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
    Json(Object(input)): Json<Object<TeamLeave>>,
) -> Result<Json<TeamLeft>> {
    let team = service::team_or_404(&m, &id).await?;
    let left = service::leave_team(&m, &identity, &team, input.confirm).await?;
    Ok(Json(TeamLeft {
        team_removed: left == service::Left::TeamRemoved,
    }))
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamRoleInput {
    pub role: TeamMemberRole,
}

/// A role to give (ownership is handed over instead).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TeamMemberRole {
    Admin,
    Member,
}

#[utoipa::path(put, path = "/meetings/teams/{id}/members/{user_id}", tag = "meetings",
    summary = "Make a member an admin or a plain member (admins: the owner only)",
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = TeamRoleInput,
    responses((status = 200, body = TeamMemberView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_member_role(
    State(m): State<Meetings>,
    identity: Identity,
    Path((id, user)): Path<(String, String)>,
    Json(Object(input)): Json<Object<TeamRoleInput>>,
) -> Result<Json<TeamMemberView>> {
    let team = service::team_or_404(&m, &id).await?;
    let role = match input.role {
        TeamMemberRole::Admin => TeamRole::Admin,
        TeamMemberRole::Member => TeamRole::Member,
    };
    service::change_member(&m, &identity, &team, &user, Some(role)).await?;
    let member = db::members(m.platform.db.pool(), &team.id)
        .await?
        .into_iter()
        .find(|r| r.user_id == user)
        .ok_or_else(|| Problem::not_found("That person is not a member of this team."))?;
    Ok(Json(member_view(&member)))
}

#[utoipa::path(delete, path = "/meetings/teams/{id}/members/{user_id}", tag = "meetings",
    summary = "Remove a member (the owner and admins; admins only by the owner)",
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_member(
    State(m): State<Meetings>,
    identity: Identity,
    Path((id, user)): Path<(String, String)>,
) -> Result<StatusCode> {
    let team = service::team_or_404(&m, &id).await?;
    service::change_member(&m, &identity, &team, &user, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who becomes the team's owner.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamOwnerInput {
    #[schema(max_length = 100)]
    pub user_id: String,
}

#[utoipa::path(post, path = "/meetings/teams/{id}/owner", tag = "meetings",
    summary = "Hand the team to another member (the owner only; they stay as an admin)",
    params(("id" = String, Path)), request_body = TeamOwnerInput,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn hand_over(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
    Json(Object(input)): Json<Object<TeamOwnerInput>>,
) -> Result<StatusCode> {
    let team = service::team_or_404(&m, &id).await?;
    service::must_belong(&m, &identity, &team).await?;
    service::hand_over(&m, &identity, &team, &input.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new invitation link.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamInviteInput {
    /// How long the link works: 1 to 30 days (7 when left out).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub expires_in_days: Option<i64>,
}

#[utoipa::path(get, path = "/meetings/teams/{id}/invites", tag = "meetings",
    summary = "A team's invitation links, newest first (its owner and admins)",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<TeamInviteView>), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn list_invites(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<Vec<TeamInviteView>>> {
    let team = service::team_or_404(&m, &id).await?;
    service::must_manage_team(&m, &identity, &team).await?;
    let mut out = Vec::new();
    for i in db::invites(m.platform.db.pool(), &team.id).await? {
        out.push(invite_view(&m, &i).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/meetings/teams/{id}/invites", tag = "meetings",
    summary = "Make an invitation link to the team (its owner and admins)",
    params(("id" = String, Path)), request_body = TeamInviteInput,
    responses((status = 201, body = TeamInviteView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_invite(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
    Json(Object(input)): Json<Object<TeamInviteInput>>,
) -> Result<(StatusCode, Json<TeamInviteView>)> {
    let team = service::team_or_404(&m, &id).await?;
    let invite = service::create_invite(&m, &identity, &team, input.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(invite_view(&m, &invite).await?)))
}

#[utoipa::path(delete, path = "/meetings/teams/{id}/invites/{invite_id}", tag = "meetings",
    summary = "Revoke an invitation link (its owner and admins)",
    params(("id" = String, Path), ("invite_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_invite(
    State(m): State<Meetings>,
    identity: Identity,
    Path((id, invite)): Path<(String, String)>,
) -> Result<StatusCode> {
    let team = service::team_or_404(&m, &id).await?;
    service::must_manage_team(&m, &identity, &team).await?;
    db::invite(m.platform.db.pool(), &team.id, &invite)
        .await?
        .ok_or_else(|| Problem::not_found("There is no such invitation."))?;
    db::revoke_invite(m.platform.db.pool(), &team.id, &invite).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/meetings/invites/{token}", tag = "meetings",
    summary = "Join the team an invitation link is for",
    params(("token" = String, Path, description = "The secret at the end of the link")),
    responses((status = 200, body = TeamView), (status = 404, body = Problem),
        (status = 410, body = Problem)))]
async fn accept_invite(
    State(m): State<Meetings>,
    identity: Identity,
    Path(token): Path<String>,
) -> Result<Json<TeamView>> {
    let team = service::accept_invite(&m, &identity, &token).await?;
    let role = db::member_role(m.platform.db.pool(), &team.id, &identity.user.id)
        .await?
        .unwrap_or(TeamRole::Member);
    Ok(Json(team_view(&m, &team, role)))
}

#[utoipa::path(get, path = "/meetings/teams/{id}/calendar", tag = "meetings",
    summary = "The address of the team's secret calendar feed (for its members)",
    params(("id" = String, Path)),
    responses((status = 200, body = MeetingFeed), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn team_feed(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<MeetingFeed>> {
    let team = service::team_or_404(&m, &id).await?;
    service::must_belong(&m, &identity, &team).await?;
    let feed_url = service::feed_url(&m.platform, &format!("team:{}", team.id)).await?;
    Ok(Json(MeetingFeed { feed_url }))
}

#[utoipa::path(post, path = "/meetings/teams/{id}/calendar", tag = "meetings",
    summary = "A new address for the team's feed (its owner and admins); the old one stops",
    params(("id" = String, Path)),
    responses((status = 200, body = MeetingFeed), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn regenerate_team_feed(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<MeetingFeed>> {
    let team = service::team_or_404(&m, &id).await?;
    service::must_manage_team(&m, &identity, &team).await?;
    let feed_url = service::regenerate_feed(&m.platform, &format!("team:{}", team.id)).await?;
    Ok(Json(MeetingFeed { feed_url }))
}

// ---- The live call ------------------------------------------------------------------

/// How long a guest's pass opens the meeting's socket (reconnects included).
const GUEST_PASS: Duration = Duration::from_secs(12 * 3600);

/// Asking to join a meeting as a guest.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeetingGuestInput {
    /// The name the others see.
    #[schema(pattern = "\\S", max_length = 60)]
    pub name: String,
}

/// A guest's pass into one meeting's live connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingGuestPass {
    /// Sent as `?guest=` on the WebSocket.
    pub token: String,
    pub socket_url: String,
}

#[utoipa::path(post, path = "/meetings/join/{code}/guests", tag = "meetings",
    summary = "A guest's pass into a meeting whose host allows guests, under a name",
    params(("code" = String, Path)), request_body = MeetingGuestInput,
    responses((status = 200, body = MeetingGuestPass), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn guest_pass(
    State(m): State<Meetings>,
    Path(code): Path<String>,
    Json(Object(input)): Json<Object<MeetingGuestInput>>,
) -> Result<axum::Json<MeetingGuestPass>> {
    let meeting = service::meeting_for_code(&m, &code).await?;
    let name = crate::room::clean_name(&input.name)
        .filter(|_| input.name.chars().count() <= crate::room::MAX_NAME)
        .ok_or_else(|| {
            Problem::invalid(
                "name",
                "Give the name the others will see (at most 60 characters).",
            )
        })?;
    service::call_role(&m, None, &meeting).await?;
    let token = m
        .platform
        .sockets
        .guest_token(&RoomKey::new("meetings", &meeting.id), &name, GUEST_PASS)
        .await
        .map_err(Problem::from)?;
    Ok(axum::Json(MeetingGuestPass {
        token,
        socket_url: format!("/meetings/join/{}/socket", meeting.code),
    }))
}

/// The meeting's WebSocket (protocol v1, `crate::protocol`): a signed-in person as what
/// they are to the meeting, a guest with a pass for it.
async fn socket(
    State(m): State<Meetings>,
    ws: WebSocketUpgrade,
    peer: Peer,
    Path(code): Path<String>,
) -> Response {
    match entrant(&m, &peer, &code).await {
        Ok((meeting, entrant)) => {
            let live = m.live.clone();
            let key = RoomKey::new("meetings", &meeting.id);
            ws::upgrade(ws, peer, key, move |conn| async move {
                live.serve(meeting, entrant, conn).await;
            })
        }
        Err(p) => p.into_response(),
    }
}

async fn entrant(m: &Meetings, peer: &Peer, code: &str) -> Result<(MeetingRow, Entrant)> {
    let meeting = service::meeting_for_code(m, code).await?;
    let entrant = match peer.who() {
        Who::Member(identity) => Entrant {
            who: crate::room::Who::Account(identity.user.id.clone()),
            name: identity.user.name.clone(),
            role: service::call_role(m, Some(identity), &meeting).await?,
        },
        Who::Guest(guest) => {
            service::call_role(m, None, &meeting).await?;
            Entrant {
                // A guest is known by their pass: a removed guest's pass stays refused.
                who: crate::room::Who::Guest(guest.name.clone()),
                name: guest.name.clone(),
                role: crate::protocol::Role::Guest,
            }
        }
    };
    Ok((meeting, entrant))
}
