//! The meetings studio's server-rendered pages: the home page (your meetings with a team
//! filter, an instant meeting, your feed and time zone), the schedule and edit forms,
//! a meeting's page and its `.ics`, the month calendar, teams and a team's page
//! (members, roles, invitation links, leaving), an invitation's page, the join page
//! (the live call replaces its body), and the secret feeds. Times go out in UTC inside
//! `<time datetime>`; the page's script shows them in the viewer's own zone.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use serde::Deserialize;
use serde_json::{Value, json};
use tutti_platform::{Access, Identity, MaybeIdentity, Page, Role, Routes};
use tutti_web::{Form, Problem, Query};

use crate::Meetings;
use crate::db::{self, MeetingRow, TeamRow};
use crate::domain::{self, DAY_CODES, Joiner, ScheduleInput, TeamRole};
use crate::error::MeetingError;
use crate::routes::iso;
use crate::service::{self, MeetingChanges, MeetingFields, When};

/// `(name, source)` pairs of files embedded from one folder, named by their file name.
macro_rules! embedded {
    ($prefix:literal, $dir:literal: $($file:literal),* $(,)?) => {
        &[$((concat!($prefix, $file), include_str!(concat!($dir, $file)))),*]
    };
}

pub const TEMPLATES: &[(&str, &str)] = embedded!("meetings/", "../templates/":
    "home.html", "schedule.html", "meeting.html", "calendar.html", "teams.html", "team.html",
    "invite.html", "join.html", "call.html",
);

pub const ASSETS: &[(&str, &str)] = &[
    ("meetings.js", include_str!("../assets/meetings.js")),
    ("meetings.css", include_str!("../assets/meetings.css")),
    (
        "meetings-call.js",
        include_str!("../assets/meetings-call.js"),
    ),
    (
        "meetings-call.css",
        include_str!("../assets/meetings-call.css"),
    ),
    (
        "meetings-notes.js",
        include_str!("../assets/meetings-notes.js"),
    ),
    (
        "meetings-notes.css",
        include_str!("../assets/meetings-notes.css"),
    ),
    // Yjs, y-protocols, ProseMirror and y-prosemirror as one module, bundled from npm by
    // tools/vendor/build.sh (served flat: `/assets/` names have no folders).
    (
        "meetings-notes-editor.js",
        include_str!("../assets/vendor/notes-editor.js"),
    ),
];

type Result<T> = std::result::Result<T, Problem>;

pub fn routes(r: Routes<Meetings>) -> Routes<Meetings> {
    let (get, post) = (Method::GET, Method::POST);
    r.page(Access::Public, get.clone(), "/meetings", home)
        .page(Access::SignedIn, post.clone(), "/meetings/instant", instant)
        .page(
            Access::SignedIn,
            post.clone(),
            "/meetings/settings",
            settings,
        )
        .page(Access::SignedIn, post.clone(), "/meetings/feed", new_feed)
        .page(Access::SignedIn, get.clone(), "/meetings/new", new_page)
        .page(Access::SignedIn, post.clone(), "/meetings/new", new_meeting)
        .page(
            Access::SignedIn,
            get.clone(),
            "/meetings/calendar",
            calendar,
        )
        .page(Access::SignedIn, get.clone(), "/meetings/teams", teams_page)
        .page(
            Access::Role(Role::MEMBER),
            post.clone(),
            "/meetings/teams",
            new_team,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/meetings/teams/{id}",
            team_page,
        )
        .page(
            Access::SignedIn,
            post.clone(),
            "/meetings/teams/{id}",
            team_action,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/meetings/invite/{token}",
            invite_page,
        )
        .page(
            Access::SignedIn,
            post.clone(),
            "/meetings/invite/{token}",
            invite_accept,
        )
        .page(
            Access::Public,
            get.clone(),
            "/meetings/join/{code}",
            join_page,
        )
        .page(Access::Public, get.clone(), "/meetings/feeds/{token}", feed)
        .page(
            Access::SignedIn,
            get.clone(),
            "/meetings/{id}",
            meeting_page,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/meetings/{id}/edit",
            edit_page,
        )
        .page(
            Access::SignedIn,
            post.clone(),
            "/meetings/{id}/edit",
            edit_meeting,
        )
        .page(
            Access::SignedIn,
            post.clone(),
            "/meetings/{id}/cancel",
            cancel,
        )
        .page(
            Access::SignedIn,
            get,
            "/meetings/{id}/calendar.ics",
            meeting_ics,
        )
}

// ---- Shared pieces ------------------------------------------------------------------

/// One occurrence of a meeting as lists and the calendar show it.
fn occurrence(m: &MeetingRow, start: Timestamp, end: Timestamp, team: Option<&str>) -> Value {
    let zone = domain::stored_zone(&m.time_zone);
    json!({
        "id": m.id, "title": m.title, "code": m.code, "team_id": m.team_id, "team": team,
        "starts_at": start.to_string(), "ends_at": end.to_string(),
        "local": crate::jobs::when_text(&zone, start, end),
        "weekly": !m.weekdays.is_empty(), "instant": m.instant != 0,
        "url": format!("/meetings/{}", m.id),
        "join_url": format!("/meetings/join/{}", m.code),
    })
}

async fn team_names(m: &Meetings, user: &str) -> Result<Vec<(TeamRow, TeamRole)>> {
    Ok(db::teams_of(m.platform.db.pool(), user).await?)
}

fn teams_json(teams: &[(TeamRow, TeamRole)]) -> Vec<Value> {
    teams
        .iter()
        .map(|(t, r)| json!({ "id": t.id, "name": t.name, "role": r.as_str() }))
        .collect()
}

fn name_of(teams: &[(TeamRow, TeamRole)], id: Option<&str>) -> Option<String> {
    let id = id?;
    teams
        .iter()
        .find(|(t, _)| t.id == id)
        .map(|(t, _)| t.name.clone())
}

/// Every time zone the database knows, for the forms' lists.
fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.to_string())
        .filter(|n| n.contains('/') || n == "UTC")
        .collect();
    names.sort();
    names.dedup();
    names
}

fn ics_response(body: String, file: Option<&str>) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response();
    if let Some(file) = file
        && let Ok(v) = format!("attachment; filename=\"{file}\"").parse()
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

fn host_of(m: &Meetings) -> String {
    m.platform
        .settings
        .public_url
        .host_str()
        .unwrap_or("tutti")
        .to_string()
}

// ---- Home ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct HomeQuery {
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    when: Option<String>,
}

async fn home(
    State(m): State<Meetings>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Query(q): Query<HomeQuery>,
) -> Result<Response> {
    let Some(identity) = identity else {
        return page.render("meetings/home.html", json!({ "signed_in": false }));
    };
    let teams = team_names(&m, &identity.user.id).await?;
    let team = q.team.as_deref().filter(|t| !t.is_empty());
    let when = if q.when.as_deref() == Some("past") {
        When::Past
    } else {
        When::Upcoming
    };
    let list = service::list_meetings(&m, &identity.user.id, team, when).await?;
    let meetings: Vec<Value> = list
        .iter()
        .map(|(r, _, a, b)| occurrence(r, *a, *b, name_of(&teams, r.team_id.as_deref()).as_deref()))
        .collect();
    let feed_url = service::feed_url(&m.platform, &format!("user:{}", identity.user.id)).await?;
    let person = db::person(m.platform.db.pool(), &identity.user.id).await?;
    page.render(
        "meetings/home.html",
        json!({
            "signed_in": true,
            "member": identity.has(&Role::MEMBER),
            "teams": teams_json(&teams),
            "team": team,
            "past": when == When::Past,
            "meetings": meetings,
            "feed_url": feed_url,
            "my_zone": person.map(|(z, _)| z),
            "zones": zone_names(),
        }),
    )
}

#[derive(Debug, Deserialize)]
struct InstantForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    guests_allowed: Option<String>,
}

async fn instant(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Form(f): Form<InstantForm>,
) -> Result<Response> {
    let title = if f.title.trim().is_empty() {
        page.t("meetings-instant-title")
    } else {
        f.title.clone()
    };
    // A zone the browser named but the database does not know must not stop the meeting.
    let zone = f
        .time_zone
        .as_deref()
        .filter(|z| domain::parse_zone("time_zone", z).is_ok());
    let fields = MeetingFields {
        title: &title,
        schedule: None,
        time_zone: zone,
        team_id: f.team_id.as_deref(),
        guests_allowed: f.guests_allowed.is_some(),
    };
    let row = service::create_meeting(&m, &identity, &fields, page.ctx.lang).await?;
    Ok(Redirect::to(&format!("/meetings/join/{}", row.code)).into_response())
}

#[derive(Debug, Deserialize)]
struct SettingsForm {
    time_zone: String,
}

async fn settings(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Form(f): Form<SettingsForm>,
) -> Result<Response> {
    service::set_person(&m, &identity, &f.time_zone, page.ctx.lang).await?;
    Ok(Redirect::to("/meetings#settings").into_response())
}

async fn new_feed(State(m): State<Meetings>, identity: Identity) -> Result<Response> {
    service::regenerate_feed(&m.platform, &format!("user:{}", identity.user.id)).await?;
    Ok(Redirect::to("/meetings#feed").into_response())
}

// ---- Schedule and edit --------------------------------------------------------------

/// The schedule form as typed: the date and times are wall-clock times in `time_zone`.
#[derive(Debug, Deserialize, Default)]
struct ScheduleForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    day_mo: Option<String>,
    #[serde(default)]
    day_tu: Option<String>,
    #[serde(default)]
    day_we: Option<String>,
    #[serde(default)]
    day_th: Option<String>,
    #[serde(default)]
    day_fr: Option<String>,
    #[serde(default)]
    day_sa: Option<String>,
    #[serde(default)]
    day_su: Option<String>,
    #[serde(default)]
    repeat_until: Option<String>,
    #[serde(default)]
    repeat_count: Option<String>,
    #[serde(default)]
    guests_allowed: Option<String>,
}

impl ScheduleForm {
    fn days(&self) -> Vec<String> {
        let ticked = [
            &self.day_mo,
            &self.day_tu,
            &self.day_we,
            &self.day_th,
            &self.day_fr,
            &self.day_sa,
            &self.day_su,
        ];
        DAY_CODES
            .iter()
            .zip(ticked)
            .filter(|(_, t)| t.is_some())
            .map(|((_, c), _)| c.to_string())
            .collect()
    }

    /// The form's local date and times as RFC 3339 instants in its zone.
    fn instants(&self) -> std::result::Result<(String, String), MeetingError> {
        let zone = domain::parse_zone("time_zone", &self.time_zone)?;
        let date: Date = self
            .date
            .trim()
            .parse()
            .map_err(|_| MeetingError::invalid("date", "Choose the day of the meeting."))?;
        let time = |field: &str, raw: &str| {
            raw.trim()
                .parse::<Time>()
                .map_err(|_| MeetingError::invalid(field, "Give a time such as 18:30."))
        };
        let start = time("start", &self.start)?;
        let end = time("end", &self.end)?;
        let at = |t: Time, field: &str| {
            zone.tz
                .to_timestamp(DateTime::from_parts(date, t))
                .map(|ts| ts.to_string())
                .map_err(|_| MeetingError::invalid(field, "That time does not exist there."))
        };
        Ok((at(start, "start")?, at(end, "end")?))
    }

    fn count(&self) -> std::result::Result<Option<i64>, MeetingError> {
        match self.repeat_count.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                MeetingError::invalid("repeat_count", format!("`{v}` is not a whole number."))
            }),
        }
    }

    fn until(&self) -> Option<&str> {
        self.repeat_until
            .as_deref()
            .filter(|u| !u.trim().is_empty())
    }

    /// The form's fields under the names the API's errors use (`starts_at` is the start).
    fn as_json(&self) -> Value {
        json!({
            "title": self.title, "team_id": self.team_id, "date": self.date,
            "start": self.start, "end": self.end, "time_zone": self.time_zone,
            "days": self.days(), "repeat_until": self.repeat_until,
            "repeat_count": self.repeat_count, "guests_allowed": self.guests_allowed.is_some(),
        })
    }

    fn of(row: &MeetingRow) -> ScheduleForm {
        let zone = domain::stored_zone(&row.time_zone);
        let a = zone.tz.to_datetime(domain::ts(row.starts_at));
        let b = zone.tz.to_datetime(domain::ts(row.ends_at));
        let days = domain::stored_weekdays(&row.weekdays);
        let has = |code: &str| {
            days.iter()
                .any(|d| domain::day_code(*d) == code)
                .then(|| "1".to_string())
        };
        ScheduleForm {
            title: row.title.clone(),
            team_id: row.team_id.clone(),
            date: a.date().to_string(),
            start: a.time().strftime("%H:%M").to_string(),
            end: b.time().strftime("%H:%M").to_string(),
            time_zone: zone.name,
            day_mo: has("MO"),
            day_tu: has("TU"),
            day_we: has("WE"),
            day_th: has("TH"),
            day_fr: has("FR"),
            day_sa: has("SA"),
            day_su: has("SU"),
            repeat_until: row.repeat_until.clone(),
            repeat_count: row.repeat_count.map(|n| n.to_string()),
            guests_allowed: (row.guests_allowed != 0).then(|| "1".into()),
        }
    }
}

/// Where a schedule problem is shown on the form: its `starts_at` is the start time.
fn form_field(field: &str) -> &str {
    match field {
        "starts_at" => "start",
        "ends_at" => "end",
        other => other,
    }
}

async fn render_schedule(
    m: &Meetings,
    page: &Page,
    identity: &Identity,
    form: &ScheduleForm,
    editing: Option<&MeetingRow>,
    error: Option<Problem>,
) -> Result<Response> {
    let teams = team_names(m, &identity.user.id).await?;
    let shown = error.map(|p| {
        let mut s = page.shown(&p);
        s.field = s.field.map(|f| form_field(&f).to_string());
        s
    });
    let status = shown.as_ref().map(|s| s.status);
    let mut response = page.render(
        "meetings/schedule.html",
        json!({
            "form": form.as_json(),
            "editing": editing.map(|r| json!({ "id": r.id, "title": r.title })),
            "teams": teams_json(&teams),
            "zones": zone_names(),
            "days": DAY_CODES.iter().map(|(_, c)| c.to_lowercase()).collect::<Vec<_>>(),
            "error": shown,
        }),
    )?;
    if let Some(code) = status.and_then(|s| axum::http::StatusCode::from_u16(s).ok()) {
        *response.status_mut() = code;
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct NewQuery {
    #[serde(default)]
    team: Option<String>,
}

async fn new_page(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Query(q): Query<NewQuery>,
) -> Result<Response> {
    let person = db::person(m.platform.db.pool(), &identity.user.id).await?;
    let form = ScheduleForm {
        team_id: q.team,
        time_zone: person.map(|(z, _)| z).unwrap_or_default(),
        ..Default::default()
    };
    render_schedule(&m, &page, &identity, &form, None, None).await
}

async fn new_meeting(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Form(form): Form<ScheduleForm>,
) -> Result<Response> {
    let outcome = async {
        let (start, end) = form.instants()?;
        let days = form.days();
        let fields = MeetingFields {
            title: &form.title,
            schedule: Some(ScheduleInput {
                starts_at: &start,
                ends_at: &end,
                time_zone: &form.time_zone,
                weekdays: &days,
                repeat_until: form.until(),
                repeat_count: form.count()?,
            }),
            time_zone: None,
            team_id: form.team_id.as_deref(),
            guests_allowed: form.guests_allowed.is_some(),
        };
        service::create_meeting(&m, &identity, &fields, page.ctx.lang).await
    }
    .await;
    match outcome {
        Ok(row) => Ok(Redirect::to(&format!("/meetings/{}", row.id)).into_response()),
        Err(e) => render_schedule(&m, &page, &identity, &form, None, Some(e.into())).await,
    }
}

async fn edit_page(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    service::must_manage(&m, &identity, &row).await?;
    let form = ScheduleForm::of(&row);
    render_schedule(&m, &page, &identity, &form, Some(&row), None).await
}

async fn edit_meeting(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> Result<Response> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    let outcome = async {
        let (start, end) = form.instants()?;
        let days = form.days();
        let count = form.count()?;
        let changes = MeetingChanges {
            title: Some(&form.title),
            starts_at: Some(&start),
            ends_at: Some(&end),
            time_zone: Some(&form.time_zone),
            weekdays: Some(&days),
            repeat_until: Some(form.until()),
            repeat_count: Some(count),
            guests_allowed: Some(form.guests_allowed.is_some()),
        };
        service::edit_meeting(&m, &identity, &row, &changes).await
    }
    .await;
    match outcome {
        Ok(row) => Ok(Redirect::to(&format!("/meetings/{}", row.id)).into_response()),
        Err(e) => render_schedule(&m, &page, &identity, &form, Some(&row), Some(e.into())).await,
    }
}

async fn cancel(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    service::cancel_meeting(&m, &identity, &row).await?;
    Ok(Redirect::to("/meetings").into_response())
}

// ---- One meeting --------------------------------------------------------------------

async fn meeting_page(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    let pool = m.platform.db.pool();
    let role = service::team_role_in(&m, &row, &identity.user.id).await?;
    let may_manage = domain::may_manage(&identity.user.id, identity.is_admin(), &row, role);
    let team = match &row.team_id {
        Some(t) => db::team(pool, t).await?,
        None => None,
    };
    let host = db::user(pool, &row.host_id).await?;
    let s = service::schedule_of(&row);
    let next = s.next_after(Timestamp::now());
    let (a, b) = next.unwrap_or((s.starts_at, s.ends_at));
    let coming: Vec<Value> = s
        .occurrences(Timestamp::now(), Timestamp::MAX)
        .into_iter()
        .take(6)
        .map(|(a, b)| occurrence(&row, a, b, None))
        .collect();
    let settings = &m.platform.settings;
    page.render(
        "meetings/meeting.html",
        json!({
            "meeting": occurrence(&row, a, b, team.as_ref().map(|t| t.name.as_str())),
            "cancelled": row.is_cancelled(),
            "over": next.is_none(),
            "zone": row.time_zone,
            "days": domain::stored_weekdays(&row.weekdays).iter()
                .map(|d| domain::day_code(*d).to_lowercase()).collect::<Vec<_>>(),
            "repeat_until": row.repeat_until,
            "repeat_count": row.repeat_count,
            "guests_allowed": row.guests_allowed != 0,
            "host": host.map(|h| h.name),
            "coming": coming,
            "join_link": settings.link(&format!("/meetings/join/{}", row.code)),
            "ics_url": format!("/meetings/{}/calendar.ics", row.id),
            "may_manage": may_manage,
            "started_at": row.started_at.map(iso),
            "ended_at": row.ended_at.map(iso),
        }),
    )
}

async fn meeting_ics(
    State(m): State<Meetings>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response> {
    let row = service::meeting_or_404(&m, &id).await?;
    service::must_see(&m, &identity, &row).await?;
    let team = match &row.team_id {
        Some(t) => db::team(m.platform.db.pool(), t).await?,
        None => None,
    };
    let entry = crate::ics::Entry {
        meeting: &row,
        schedule: service::schedule_of(&row),
        join_url: m
            .platform
            .settings
            .link(&format!("/meetings/join/{}", row.code)),
        team_name: team.as_ref().map(|t| t.name.as_str()),
    };
    let body = crate::ics::calendar(&row.title, &host_of(&m), &[entry]);
    Ok(ics_response(body, Some(&format!("meeting-{}.ics", row.id))))
}

/// A person's or a team's feed, for calendar apps, which sign in as nobody: the secret
/// address is the permission. A wrong token is simply not there.
async fn feed(State(m): State<Meetings>, Path(token): Path<String>) -> Result<Response> {
    let missing = || Problem::not_found("There is no calendar at this address.");
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    if token.len() > 100 {
        return Err(missing());
    }
    let pool = m.platform.db.pool();
    let owner = db::feed_owner(pool, &service::hash_secret(token))
        .await?
        .ok_or_else(missing)?;
    let (name, rows, teams) = if let Some(user) = owner.strip_prefix("user:") {
        let teams = db::teams_of(pool, user).await?;
        let rows = db::meetings_for(pool, user, "", true).await?;
        let name = db::user(pool, user)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        (name, rows, teams)
    } else if let Some(team) = owner.strip_prefix("team:") {
        let t = db::team(pool, team).await?.ok_or_else(missing)?;
        let rows = db::team_meetings(pool, team).await?;
        (t.name.clone(), rows, vec![(t, TeamRole::Member)])
    } else {
        return Err(missing());
    };
    let settings = &m.platform.settings;
    let entries: Vec<crate::ics::Entry<'_>> = rows
        .iter()
        .map(|r| crate::ics::Entry {
            meeting: r,
            schedule: service::schedule_of(r),
            join_url: settings.link(&format!("/meetings/join/{}", r.code)),
            team_name: r
                .team_id
                .as_deref()
                .and_then(|id| teams.iter().find(|(t, _)| t.id == id))
                .map(|(t, _)| t.name.as_str()),
        })
        .collect();
    let title = if name.is_empty() {
        "Meetings".to_string()
    } else {
        format!("Meetings · {name}")
    };
    let body = crate::ics::calendar(&title, &host_of(&m), &entries);
    Ok(ics_response(body, None))
}

// ---- Calendar -----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    team: Option<String>,
}

fn parse_month(raw: &str) -> Option<Date> {
    let (y, mo) = raw.trim().split_once('-')?;
    Date::new(y.parse().ok()?, mo.parse().ok()?, 1).ok()
}

fn month_text(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The month calendar: weeks of days (Monday first) holding the occurrences of your
/// meetings, placed by the day they fall on in your zone (the script moves them to the
/// browser's zone when it differs).
async fn calendar(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Query(q): Query<MonthQuery>,
) -> Result<Response> {
    let pool = m.platform.db.pool();
    let zone = db::person(pool, &identity.user.id)
        .await?
        .map(|(z, _)| domain::stored_zone(&z))
        .unwrap_or_else(|| domain::stored_zone("UTC"));
    let today = zone.tz.to_datetime(Timestamp::now()).date();
    let first = match q.month.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => parse_month(raw)
            .ok_or_else(|| Problem::invalid("month", "Give a month as YYYY-MM, e.g. 2026-12."))?,
        None => today.first_of_month(),
    };
    let next = first
        .last_of_month()
        .tomorrow()
        .map_err(|e| Problem::internal(&e))?;
    let prev = first
        .yesterday()
        .map_err(|e| Problem::internal(&e))?
        .first_of_month();
    let team = q.team.as_deref().filter(|t| !t.is_empty());
    let teams = team_names(&m, &identity.user.id).await?;
    // A day either side, so meetings near midnight reach the browser's zone too.
    let edge = |d: Date, days: i64| {
        zone.tz
            .to_timestamp(DateTime::from_parts(d, Time::midnight()))
            .ok()
            .and_then(|t| {
                t.checked_add(jiff::SignedDuration::from_hours(24 * days))
                    .ok()
            })
            .unwrap_or(Timestamp::now())
    };
    let found =
        service::occurrences_for(&m, &identity.user.id, team, edge(first, -1), edge(next, 1))
            .await?;
    let placed: Vec<(Date, Value)> = found
        .iter()
        .map(|(r, a, b)| {
            (
                zone.tz.to_datetime(*a).date(),
                occurrence(r, *a, *b, name_of(&teams, r.team_id.as_deref()).as_deref()),
            )
        })
        .collect();
    let lead = first.weekday().to_monday_zero_offset() as usize;
    let mut cells: Vec<Value> = vec![Value::Null; lead];
    let mut day = first;
    while day < next {
        let on: Vec<&Value> = placed
            .iter()
            .filter(|(d, _)| *d == day)
            .map(|(_, v)| v)
            .collect();
        cells.push(json!({ "day": day.day(), "date": day.to_string(),
            "today": day == today, "meetings": on }));
        day = day.tomorrow().map_err(|e| Problem::internal(&e))?;
    }
    while !cells.len().is_multiple_of(7) {
        cells.push(Value::Null);
    }
    let weeks: Vec<Vec<Value>> = cells.chunks(7).map(|w| w.to_vec()).collect();
    let in_month = placed.iter().any(|(d, _)| *d >= first && *d < next);
    page.render(
        "meetings/calendar.html",
        json!({
            "month": month_text(first),
            "prev": month_text(prev),
            "next": month_text(next),
            "weeks": weeks,
            "any": in_month,
            "team": team,
            "teams": teams_json(&teams),
            "zone": zone.name,
            "days": DAY_CODES.iter().map(|(_, c)| c.to_lowercase()).collect::<Vec<_>>(),
        }),
    )
}

// ---- Teams --------------------------------------------------------------------------

async fn teams_page(State(m): State<Meetings>, page: Page, identity: Identity) -> Result<Response> {
    render_teams(&m, &page, &identity, None, "").await
}

async fn render_teams(
    m: &Meetings,
    page: &Page,
    identity: &Identity,
    error: Option<Problem>,
    typed: &str,
) -> Result<Response> {
    let teams = team_names(m, &identity.user.id).await?;
    let status = error.as_ref().map(|p| p.status_code());
    let mut response = page.render(
        "meetings/teams.html",
        json!({
            "teams": teams_json(&teams),
            "member": identity.has(&Role::MEMBER),
            "error": error.map(|p| page.shown(&p)),
            "typed": typed,
        }),
    )?;
    if let Some(s) = status {
        *response.status_mut() = s;
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct TeamForm {
    #[serde(default)]
    name: String,
}

async fn new_team(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Form(f): Form<TeamForm>,
) -> Result<Response> {
    match service::create_team(&m, &identity, &f.name).await {
        Ok(team) => Ok(Redirect::to(&format!("/meetings/teams/{}", team.id)).into_response()),
        Err(e) => render_teams(&m, &page, &identity, Some(e.into()), &f.name).await,
    }
}

async fn render_team(
    m: &Meetings,
    page: &Page,
    identity: &Identity,
    team: &TeamRow,
    error: Option<(Problem, &str)>,
) -> Result<Response> {
    let role = service::must_belong(m, identity, team).await?;
    let pool = m.platform.db.pool();
    let manages = role.manages() || identity.is_admin();
    let members = db::members(pool, &team.id).await?;
    let now = tutti_store::now_ms();
    let mut invites = Vec::new();
    if manages {
        for i in db::invites(pool, &team.id).await? {
            invites.push(json!({
                "id": i.id, "url": service::invite_url(&m.platform, &i.id).await?,
                "expires_at": iso(i.expires_at), "open": i.open_at(now),
                "revoked": i.revoked_at.is_some(), "accepted": i.accepted,
            }));
        }
    }
    let coming =
        service::list_meetings(m, &identity.user.id, Some(&team.id), When::Upcoming).await?;
    let meetings: Vec<Value> = coming
        .iter()
        .map(|(r, _, a, b)| occurrence(r, *a, *b, None))
        .collect();
    let feed_url = service::feed_url(&m.platform, &format!("team:{}", team.id)).await?;
    let status = error.as_ref().map(|(p, _)| p.status_code());
    let mut response = page.render(
        "meetings/team.html",
        json!({
            "team": { "id": team.id, "name": team.name },
            "role": role.as_str(),
            "manages": manages,
            "owner": role == TeamRole::Owner,
            "me": identity.user.id,
            "members": members.iter().map(|r| json!({
                "user_id": r.user_id, "name": r.name, "email": r.email, "role": r.role,
            })).collect::<Vec<_>>(),
            "alone": members.len() <= 1,
            "invites": invites,
            "meetings": meetings,
            "feed_url": feed_url,
            "error": error.as_ref().map(|(p, _)| page.shown(p)),
            "failed": error.as_ref().map(|(_, a)| *a),
        }),
    )?;
    if let Some(s) = status {
        *response.status_mut() = s;
    }
    Ok(response)
}

async fn team_page(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response> {
    let team = service::team_or_404(&m, &id).await?;
    render_team(&m, &page, &identity, &team, None).await
}

/// One form of the team page; `action` says which.
#[derive(Debug, Deserialize)]
struct TeamActionForm {
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
}

async fn team_action(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
    Form(f): Form<TeamActionForm>,
) -> Result<Response> {
    let team = service::team_or_404(&m, &id).await?;
    service::must_belong(&m, &identity, &team).await?;
    let here = format!("/meetings/teams/{}", team.id);
    let pool = m.platform.db.pool();
    let outcome: std::result::Result<Option<String>, MeetingError> = async {
        match f.action.as_str() {
            "rename" => {
                service::must_manage_team(&m, &identity, &team).await?;
                let name = domain::check_team_name(&f.name)?;
                db::rename_team(pool, &team.id, &name).await?;
                Ok(None)
            }
            "role" => {
                let role = TeamRole::parse(&f.role)
                    .filter(|r| *r != TeamRole::Owner)
                    .ok_or_else(|| MeetingError::invalid("role", "Choose admin or member."))?;
                service::change_member(&m, &identity, &team, &f.user_id, Some(role)).await?;
                Ok(None)
            }
            "remove" => {
                service::change_member(&m, &identity, &team, &f.user_id, None).await?;
                Ok(None)
            }
            "owner" => {
                service::hand_over(&m, &identity, &team, &f.user_id).await?;
                Ok(None)
            }
            "invite" => {
                let days = match f.days.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(d) => Some(d.parse::<i64>().map_err(|_| {
                        MeetingError::invalid("expires_in_days", "Choose how many days.")
                    })?),
                };
                service::create_invite(&m, &identity, &team, days).await?;
                Ok(Some(format!("{here}#invites")))
            }
            "revoke" => {
                service::must_manage_team(&m, &identity, &team).await?;
                db::revoke_invite(pool, &team.id, &f.id).await?;
                Ok(Some(format!("{here}#invites")))
            }
            "feed" => {
                service::must_manage_team(&m, &identity, &team).await?;
                service::regenerate_feed(&m.platform, &format!("team:{}", team.id)).await?;
                Ok(Some(format!("{here}#feed")))
            }
            "leave" => {
                let left = service::leave_team(&m, &identity, &team, f.confirm.is_some()).await?;
                Ok(Some(match left {
                    service::Left::Left | service::Left::TeamRemoved => "/meetings/teams".into(),
                }))
            }
            other => Err(MeetingError::invalid(
                "action",
                format!("`{other}` is not something this page does."),
            )),
        }
    }
    .await;
    match outcome {
        Ok(to) => Ok(Redirect::to(&to.unwrap_or(here)).into_response()),
        Err(e) => render_team(&m, &page, &identity, &team, Some((e.into(), &f.action))).await,
    }
}

async fn invite_page(
    State(m): State<Meetings>,
    page: Page,
    identity: Identity,
    Path(token): Path<String>,
) -> Result<Response> {
    let (invite, team) = service::open_invite(&m, &token).await?;
    let already = db::member_role(m.platform.db.pool(), &team.id, &identity.user.id)
        .await?
        .is_some();
    page.render(
        "meetings/invite.html",
        json!({
            "team": { "id": team.id, "name": team.name },
            "already": already,
            "expires_at": iso(invite.expires_at),
        }),
    )
}

async fn invite_accept(
    State(m): State<Meetings>,
    identity: Identity,
    Path(token): Path<String>,
) -> Result<Response> {
    let team = service::accept_invite(&m, &identity, &token).await?;
    Ok(Redirect::to(&format!("/meetings/teams/{}", team.id)).into_response())
}

// ---- Join ---------------------------------------------------------------------------

/// The meeting a code opens: the call for whoever may join it, else why not.
async fn join_page(
    State(m): State<Meetings>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let _ = headers;
    let missing = || Problem::not_found("No meeting has this code. Check the link.");
    let code = domain::normalize_code(&code).ok_or_else(missing)?;
    let pool = m.platform.db.pool();
    let row = db::meeting_by_code(pool, &code)
        .await?
        .filter(|r| !r.is_cancelled())
        .ok_or_else(missing)?;
    let who = match &identity {
        Some(i) => service::joiner(&m, i, &row).await?,
        None => Joiner::Guest {
            name: String::new(),
        },
    };
    let verdict = domain::may_join(&who, &row);
    let team = match &row.team_id {
        Some(t) => db::team(pool, t).await?,
        None => None,
    };
    let host = db::user(pool, &row.host_id).await?;
    let s = service::schedule_of(&row);
    let (a, b) = s
        .next_after(Timestamp::now())
        .unwrap_or((s.starts_at, s.ends_at));
    let (role, refused) = match verdict {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(page.shown(&Problem::from(e)))),
    };
    if role.is_some() {
        return call_page(&m, &page, identity.as_ref(), &row).await;
    }
    page.render(
        "meetings/join.html",
        json!({
            "meeting": occurrence(&row, a, b, team.as_ref().map(|t| t.name.as_str())),
            "host": host.map(|h| h.name),
            "role": role,
            "refused": refused,
            "signed_in": identity.is_some(),
            "guests_allowed": row.guests_allowed != 0,
            "team_meeting": row.team_id.is_some(),
            "may_see": identity.as_ref().is_some_and(|i| {
                i.user.id == row.host_id || i.is_admin()
                    || matches!(who, Joiner::Person { team_role: Some(_), .. })
            }),
        }),
    )
}

/// The notes editor's words (`meetings-notes-*` messages), by the keys
/// `meetings-notes.js` names them.
const NOTES_LABELS: &[&str] = &[
    "toolbar",
    "editor",
    "paragraph",
    "heading1",
    "heading2",
    "heading3",
    "bold",
    "italic",
    "code",
    "highlight",
    "link",
    "linkPrompt",
    "bulletList",
    "orderedList",
    "checklist",
    "taskDone",
    "table",
    "addRow",
    "addColumn",
    "deleteRow",
    "deleteColumn",
    "deleteTable",
    "undo",
    "redo",
];

/// The running meeting: devices, the waiting room, tiles, roster, chat and notes.
async fn call_page(
    m: &Meetings,
    page: &Page,
    identity: Option<&Identity>,
    row: &MeetingRow,
) -> Result<Response> {
    let role = service::call_role(m, identity, row).await?;
    let labels: serde_json::Map<String, Value> = NOTES_LABELS
        .iter()
        .map(|k| {
            (
                k.to_string(),
                Value::String(page.t(&format!("meetings-notes-{k}"))),
            )
        })
        .collect();
    let meeting_url = match identity {
        Some(_) => format!("/meetings/{}", row.id),
        None => "/meetings".to_string(),
    };
    page.render(
        "meetings/call.html",
        json!({
            "meeting": { "title": row.title },
            "socket_url": format!("/meetings/join/{}/socket", row.code),
            // A guest without an account asks for a pass under a name first.
            "guests_url": identity
                .is_none()
                .then(|| format!("/api/v1/meetings/join/{}/guests", row.code)),
            "name": identity.map(|i| i.user.name.clone()),
            "role": role,
            "notes_labels": Value::Object(labels).to_string(),
            "meeting_url": meeting_url,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_form_reads_local_times_in_its_zone() {
        let form = ScheduleForm {
            title: "Board".into(),
            date: "2027-03-29".into(),
            start: "09:00".into(),
            end: "10:15".into(),
            time_zone: "Europe/Berlin".into(),
            day_mo: Some("1".into()),
            ..Default::default()
        };
        let (start, end) = form.instants().unwrap();
        assert_eq!(start, "2027-03-29T07:00:00Z");
        assert_eq!(end, "2027-03-29T08:15:00Z");
        assert_eq!(form.days(), ["MO"]);
        let no_zone = ScheduleForm {
            time_zone: "Nowhere".into(),
            ..form
        };
        match no_zone.instants().unwrap_err() {
            MeetingError::Invalid { field, .. } => assert_eq!(field, "time_zone"),
            other => panic!("{other}"),
        }
        assert_eq!(month_text(parse_month("2026-12").unwrap()), "2026-12");
        assert!(parse_month("2026-13").is_none());
    }
}
