//! The meetings studio over HTTP: the API contract (meetings instant and scheduled, the
//! caller's secret feed, teams), schedules refused field by field with nothing written,
//! team meetings kept to the team, invitation links accepted, revoked and expired, the
//! last member leaving only when they confirm, edits and cancellations as calendar apps
//! see them, mail to the team and reminders sent once, and the pages in both languages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tutti_accounts::{Role, TokenScope};

use crate::helpers::*;

async fn member_token(app: &TestApp, email: &str) -> String {
    app.user(email, &[MEMBER]).await;
    app.token(email, TokenScope::Api).await
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = with_token(token).request(method, app.url(path));
    if let Some(b) = body {
        request = request.json(&b);
    }
    request.send().await.unwrap()
}

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let url = response.url().to_string();
    let got = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{url}: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

async fn create_team(app: &TestApp, token: &str, name: &str) -> String {
    let team = json_of(
        call(
            app,
            token,
            Method::POST,
            "/api/v1/meetings/teams",
            Some(json!({"name": name})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    team["id"].as_str().unwrap().to_string()
}

/// A meeting in `days` days at 10:00-11:00 UTC.
fn scheduled(title: &str, days: i64, team: Option<&str>) -> Value {
    let start = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .unwrap()
        .strftime("%Y-%m-%dT10:00:00Z")
        .to_string();
    let end = start.replace("T10:", "T11:");
    let mut body =
        json!({"title": title, "starts_at": start, "ends_at": end, "time_zone": "Europe/Berlin"});
    if let Some(t) = team {
        body["team_id"] = json!(t);
    }
    body
}

/// A feed's text, read as a calendar app does: no session, no token.
async fn read_feed(url: &str) -> (StatusCode, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The value of `key` in the VEVENT whose UID names `id`.
fn event_field(ics: &str, id: &str, key: &str) -> Option<String> {
    let unfolded = ics.replace("\r\n ", "");
    let event = unfolded
        .split("BEGIN:VEVENT")
        .find(|e| e.contains(&format!("UID:meeting-{id}@")))?;
    event
        .lines()
        .find(|l| l.starts_with(&format!("{key}:")) || l.starts_with(&format!("{key};")))
        .map(|l| l.split_once(':').unwrap().1.trim().to_string())
}

#[tokio::test]
async fn the_contract_makes_meetings_teams_and_a_secret_feed() {
    let app = spawn_app().await;
    let token = member_token(&app, "host@example.test").await;

    let team = create_team(&app, &token, "Board").await;
    let made = json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/meetings",
            Some(scheduled("Planning", 3, Some(&team))),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    let code = made["code"].as_str().unwrap();
    assert_eq!(code.len(), 19, "{made}");
    assert!(
        made["join_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/meetings/join/{code}"))
    );
    assert!(made["ics_url"].as_str().unwrap().contains(&id));
    assert_eq!(made["team_id"], json!(team));
    assert_eq!(made["sequence"], 0);

    // An instant meeting: no times, starting now, hosted by its maker.
    let instant = json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Quick sync"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(instant["instant"], true);
    let started: jiff::Timestamp = instant["starts_at"].as_str().unwrap().parse().unwrap();
    assert!((jiff::Timestamp::now().as_millisecond() - started.as_millisecond()).abs() < 120_000);
    assert_ne!(instant["code"], made["code"]);

    let listed = json_of(
        call(&app, &token, Method::GET, "/api/v1/meetings", None).await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()) && ids.len() == 2, "{listed}");
    let of_team = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/meetings?team_id={team}"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(of_team.as_array().unwrap().len(), 1, "{of_team}");
    let past = json_of(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/meetings?when=past",
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(past, json!([]));
    let bad = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/meetings?when=soon",
        None,
    )
    .await;
    assert_eq!(
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "when"
    );

    // The feed opens without signing in; a wrong token is simply not there.
    let feed = json_of(
        call(&app, &token, Method::GET, "/api/v1/meetings/calendar", None).await,
        StatusCode::OK,
    )
    .await;
    let feed_url = feed["feed_url"].as_str().unwrap().to_string();
    let again = json_of(
        call(&app, &token, Method::GET, "/api/v1/meetings/calendar", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        again["feed_url"],
        json!(feed_url),
        "the address stays until it is renewed"
    );
    let (status, ics) = read_feed(&feed_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        event_field(&ics, &id, "SEQUENCE").as_deref(),
        Some("0"),
        "{ics}"
    );
    assert_eq!(
        event_field(&ics, &id, "SUMMARY").as_deref(),
        Some("Planning · Board")
    );
    assert!(event_field(&ics, &id, "URL").unwrap().ends_with(code));
    let wrong = feed_url.replace("/feeds/", "/feeds/0");
    assert_eq!(read_feed(&wrong).await.0, StatusCode::NOT_FOUND);

    // An edit bumps the sequence; a cancellation bumps it again and says CANCELLED.
    let edited = json_of(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/meetings/{id}"),
            Some(json!({"title": "Planning, moved"})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["sequence"], 1);
    assert_eq!(edited["title"], "Planning, moved");
    assert_eq!(
        edited["starts_at"], made["starts_at"],
        "what was not sent stays"
    );
    let (_, ics) = read_feed(&feed_url).await;
    assert_eq!(event_field(&ics, &id, "SEQUENCE").as_deref(), Some("1"));
    let gone = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/meetings/{id}"),
        None,
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let (_, ics) = read_feed(&feed_url).await;
    assert_eq!(
        event_field(&ics, &id, "STATUS").as_deref(),
        Some("CANCELLED"),
        "{ics}"
    );
    assert_eq!(event_field(&ics, &id, "SEQUENCE").as_deref(), Some("2"));
    let listed = json_of(
        call(&app, &token, Method::GET, "/api/v1/meetings", None).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        !listed.to_string().contains(&id),
        "a cancelled meeting leaves the list"
    );
    let refused = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/meetings/{id}"),
        Some(json!({"title": "Back"})),
    )
    .await;
    problem(refused, StatusCode::CONFLICT).await;

    // A new address retires the old one.
    let renewed = json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/meetings/calendar",
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_ne!(renewed["feed_url"], json!(feed_url));
    assert_eq!(read_feed(&feed_url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        read_feed(renewed["feed_url"].as_str().unwrap()).await.0,
        StatusCode::OK
    );

    // The meeting's own file, for those who may see it.
    let file = call(
        &app,
        &token,
        Method::GET,
        &format!("/meetings/{}/calendar.ics", instant["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(file.status(), StatusCode::OK);
    assert!(file.text().await.unwrap().contains("BEGIN:VEVENT"));
}

#[tokio::test]
async fn bad_schedules_name_their_field_and_change_nothing() {
    let app = spawn_app().await;
    let token = member_token(&app, "host@example.test").await;
    let base = scheduled("Standup", 2, None);
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    let start = base["starts_at"].as_str().unwrap().to_string();
    let cases = [
        (with("time_zone", json!("Mars/Olympus_Mons")), "time_zone"),
        (
            with("ends_at", json!(start.replace("T10:", "T09:"))),
            "ends_at",
        ),
        (with("starts_at", json!("next tuesday")), "starts_at"),
        (with("title", json!("   ")), "title"),
        (with("weekdays", json!(["XX"])), "weekdays"),
        (with("repeat_count", json!(3)), "weekdays"),
        (with("colour", json!("blue")), "colour"),
        (json!({"title": "Half", "starts_at": start}), "ends_at"),
        (with("team_id", json!(["not", "a", "string"])), "team_id"),
    ];
    for (body, field) in cases {
        let refused = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/meetings",
            Some(body.clone()),
        )
        .await;
        let p = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        // A wrong item names its place in the list (`weekdays[0]`).
        assert!(
            p["field"].as_str().unwrap().starts_with(field),
            "{body}: {p}"
        );
    }
    // The first meeting's weekday must be one of the weekly days.
    let day = jiff::civil::Date::strptime("%Y-%m-%d", &start[..10])
        .unwrap()
        .weekday();
    let other = crate::meetings::code_of(day.next());
    let refused = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/meetings",
        Some(with("weekdays", json!([other]))),
    )
    .await;
    assert_eq!(
        problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "weekdays"
    );
    let missing_team = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/meetings",
        Some(with("team_id", json!("no-such-team"))),
    )
    .await;
    problem(missing_team, StatusCode::NOT_FOUND).await;
    let listed = json_of(
        call(&app, &token, Method::GET, "/api/v1/meetings", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]), "nothing was made");

    // A weekly one, and an edit that breaks a rule leaves it as it was.
    let weekly = with("weekdays", json!([crate::meetings::code_of(day)]));
    let made = json_of(
        call(&app, &token, Method::POST, "/api/v1/meetings", Some(weekly)).await,
        StatusCode::CREATED,
    )
    .await;
    let id = made["id"].as_str().unwrap();
    let bad = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/meetings/{id}"),
        Some(json!({"time_zone": "Nowhere/Land"})),
    )
    .await;
    assert_eq!(
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "time_zone"
    );
    // Serde would read an array as the fields by position; a PATCH takes an object.
    let array = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/meetings/{id}"),
        Some(json!([null, null])),
    )
    .await;
    assert_eq!(array.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let now = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(now["sequence"], 0);
    assert_eq!(now["time_zone"], "Europe/Berlin");
    let feed = json_of(
        call(&app, &token, Method::GET, "/api/v1/meetings/calendar", None).await,
        StatusCode::OK,
    )
    .await;
    let (_, ics) = read_feed(feed["feed_url"].as_str().unwrap()).await;
    let rule = event_field(&ics, id, "RRULE").unwrap();
    assert_eq!(
        rule,
        format!("FREQ=WEEKLY;BYDAY={}", crate::meetings::code_of(day))
    );
    let start_line = ics
        .lines()
        .find(|l| l.starts_with("DTSTART;TZID=Europe/Berlin:"))
        .unwrap();
    assert!(
        start_line.ends_with("T110000") || start_line.ends_with("T120000"),
        "{start_line}"
    );
    assert!(ics.contains("BEGIN:VTIMEZONE"));
}

/// The RFC 5545 code of a weekday.
pub fn code_of(day: jiff::civil::Weekday) -> &'static str {
    tutti_meetings::domain::day_code(day)
}

#[tokio::test]
async fn team_meetings_are_for_members_and_invitations_let_people_in() {
    let app = spawn_app().await;
    let owner = member_token(&app, "owner@example.test").await;
    let outsider = member_token(&app, "outsider@example.test").await;
    let team = create_team(&app, &owner, "Choir board").await;
    let made = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            "/api/v1/meetings",
            Some(scheduled("Budget", 4, Some(&team))),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();

    // An outsider can neither see nor change it, nor schedule for the team.
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"title": "Mine"}))),
        (Method::DELETE, None),
    ] {
        let refused = call(
            &app,
            &outsider,
            method.clone(),
            &format!("/api/v1/meetings/{id}"),
            body,
        )
        .await;
        problem(refused, StatusCode::FORBIDDEN).await;
    }
    let refused = call(
        &app,
        &outsider,
        Method::POST,
        "/api/v1/meetings",
        Some(scheduled("Coup", 1, Some(&team))),
    )
    .await;
    problem(refused, StatusCode::FORBIDDEN).await;
    problem(
        call(
            &app,
            &outsider,
            Method::GET,
            &format!("/api/v1/meetings/teams/{team}"),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        call(
            &app,
            &outsider,
            Method::GET,
            "/api/v1/meetings/no-such-meeting",
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        call(
            &app,
            &outsider,
            Method::POST,
            &format!("/api/v1/meetings/teams/{team}/invites"),
            Some(json!({})),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // An invitation link lets them in as a plain member: they see it but may not change it.
    let invite = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            &format!("/api/v1/meetings/teams/{team}/invites"),
            Some(json!({"expires_in_days": 7})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = invite["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let joined = json_of(
        call(
            &app,
            &outsider,
            Method::POST,
            &format!("/api/v1/meetings/invites/{token}"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(joined["role"], "member");
    json_of(
        call(
            &app,
            &outsider,
            Method::GET,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let refused = call(
        &app,
        &outsider,
        Method::PATCH,
        &format!("/api/v1/meetings/{id}"),
        Some(json!({"title": "Mine"})),
    )
    .await;
    problem(refused, StatusCode::FORBIDDEN).await;
    let details = json_of(
        call(
            &app,
            &outsider,
            Method::GET,
            &format!("/api/v1/meetings/teams/{team}"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let roles: Vec<(&str, &str)> = details["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("owner@example.test", "owner"),
            ("outsider@example.test", "member")
        ]
    );

    // A new team meeting is mailed to the members, but not to its maker.
    let second = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            "/api/v1/meetings",
            Some(scheduled("Concert plan", 5, Some(&team))),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mails: Vec<(String, String, String)> =
        sqlx::query_as("SELECT to_email, subject, body FROM outbox ORDER BY created_at")
            .fetch_all(app.platform().db.pool())
            .await
            .unwrap();
    let invited: Vec<_> = mails
        .iter()
        .filter(|(_, s, _)| s.contains("Concert plan"))
        .collect();
    assert_eq!(invited.len(), 1, "{mails:?}");
    assert_eq!(invited[0].0, "outsider@example.test");
    assert!(
        invited[0].2.contains(&format!(
            "/meetings/join/{}",
            second["code"].as_str().unwrap()
        )),
        "{}",
        invited[0].2
    );
    assert!(
        invited[0].2.contains("(Europe/Berlin)"),
        "the meeting's zone is named: {}",
        invited[0].2
    );

    // Revoked and expired links let nobody in.
    let third = member_token(&app, "late@example.test").await;
    let revoked = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            &format!("/api/v1/meetings/teams/{team}/invites"),
            Some(json!({})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let gone = call(
        &app,
        &owner,
        Method::DELETE,
        &format!(
            "/api/v1/meetings/teams/{team}/invites/{}",
            revoked["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let secret = revoked["url"].as_str().unwrap().rsplit('/').next().unwrap();
    problem(
        call(
            &app,
            &third,
            Method::POST,
            &format!("/api/v1/meetings/invites/{secret}"),
            None,
        )
        .await,
        StatusCode::GONE,
    )
    .await;
    let expiring = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            &format!("/api/v1/meetings/teams/{team}/invites"),
            Some(json!({"expires_in_days": 1})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    sqlx::query("UPDATE meetings_invites SET expires_at = 1 WHERE id = $1")
        .bind(expiring["id"].as_str().unwrap())
        .execute(app.platform().db.pool())
        .await
        .unwrap();
    let secret = expiring["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    problem(
        call(
            &app,
            &third,
            Method::POST,
            &format!("/api/v1/meetings/invites/{secret}"),
            None,
        )
        .await,
        StatusCode::GONE,
    )
    .await;
    problem(
        call(
            &app,
            &third,
            Method::POST,
            "/api/v1/meetings/invites/not-a-link",
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        call(
            &app,
            &third,
            Method::GET,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let bad_days = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/teams/{team}/invites"),
        Some(json!({"expires_in_days": 90})),
    )
    .await;
    assert_eq!(
        problem(bad_days, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "expires_in_days"
    );

    // The team's feed holds its meetings; an admin made by the owner may edit them.
    let feed = json_of(
        call(
            &app,
            &outsider,
            Method::GET,
            &format!("/api/v1/meetings/teams/{team}/calendar"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (status, ics) = read_feed(feed["feed_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ics.contains(&format!("UID:meeting-{id}@")));
    let member_id = details["members"][1]["user_id"].as_str().unwrap();
    let promoted = call(
        &app,
        &owner,
        Method::PUT,
        &format!("/api/v1/meetings/teams/{team}/members/{member_id}"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(json_of(promoted, StatusCode::OK).await["role"], "admin");
    let edited = call(
        &app,
        &outsider,
        Method::PATCH,
        &format!("/api/v1/meetings/{id}"),
        Some(json!({"guests_allowed": true})),
    )
    .await;
    assert_eq!(
        json_of(edited, StatusCode::OK).await["guests_allowed"],
        true
    );
}

#[tokio::test]
async fn the_last_member_leaves_only_when_they_confirm_and_the_team_goes() {
    let app = spawn_app().await;
    let owner = member_token(&app, "owner@example.test").await;
    let other = member_token(&app, "other@example.test").await;
    let team = create_team(&app, &owner, "Trio").await;
    let invite = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            &format!("/api/v1/meetings/teams/{team}/invites"),
            Some(json!({})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = invite["url"].as_str().unwrap().rsplit('/').next().unwrap();
    json_of(
        call(
            &app,
            &other,
            Method::POST,
            &format!("/api/v1/meetings/invites/{secret}"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let made = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            "/api/v1/meetings",
            Some(scheduled("Rehearsal", 2, Some(&team))),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let meeting = made["id"].as_str().unwrap();
    // The meeting has notes: they go with the team.
    let pool = app.running().app.platform.db.pool().clone();
    sqlx::query(
        "INSERT INTO meeting_note_updates (meeting_id, seq, data, created_at) VALUES ($1, 1, $2, 0)",
    )
        .bind(meeting)
        .bind(vec![0u8, 0])
        .execute(&pool)
        .await
        .unwrap();
    let notes = || async {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM meeting_note_updates WHERE meeting_id = $1")
                .bind(meeting)
                .fetch_one(&pool)
                .await
                .unwrap();
        n
    };
    assert_eq!(notes().await, 1);

    // The owner hands over before leaving a team others are in.
    let refused = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/teams/{team}/leave"),
        Some(json!({})),
    )
    .await;
    problem(refused, StatusCode::CONFLICT).await;
    let left = json_of(
        call(
            &app,
            &other,
            Method::POST,
            &format!("/api/v1/meetings/teams/{team}/leave"),
            Some(json!({})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(left["team_removed"], false);
    problem(
        call(
            &app,
            &other,
            Method::GET,
            &format!("/api/v1/meetings/{meeting}"),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let unconfirmed = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/teams/{team}/leave"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        problem(unconfirmed, StatusCode::CONFLICT).await["field"],
        "confirm"
    );
    json_of(
        call(
            &app,
            &owner,
            Method::GET,
            &format!("/api/v1/meetings/teams/{team}"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let removed = json_of(
        call(
            &app,
            &owner,
            Method::POST,
            &format!("/api/v1/meetings/teams/{team}/leave"),
            Some(json!({"confirm": true})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(removed["team_removed"], true);
    assert_eq!(notes().await, 0, "the team's notes went with it");
    problem(
        call(
            &app,
            &owner,
            Method::GET,
            &format!("/api/v1/meetings/teams/{team}"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        call(
            &app,
            &owner,
            Method::GET,
            &format!("/api/v1/meetings/{meeting}"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn reminders_go_out_once_shortly_before_a_meeting() {
    let app = spawn_app().await;
    let token = member_token(&app, "host@example.test").await;
    // The host said their zone: the reminder shows times in it.
    let settings = call(
        &app,
        &token,
        Method::PUT,
        "/api/v1/meetings/settings",
        Some(json!({"time_zone": "America/New_York"})),
    )
    .await;
    assert_eq!(
        json_of(settings, StatusCode::OK).await["time_zone"],
        "America/New_York"
    );
    let soon = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(5))
        .unwrap();
    let later = soon
        .checked_add(jiff::SignedDuration::from_mins(30))
        .unwrap();
    let body = json!({"title": "Soon", "starts_at": soon.to_string(), "ends_at": later.to_string(), "time_zone": "Asia/Jerusalem"});
    json_of(
        call(&app, &token, Method::POST, "/api/v1/meetings", Some(body)).await,
        StatusCode::CREATED,
    )
    .await;
    let far = scheduled("Far away", 9, None);
    json_of(
        call(&app, &token, Method::POST, "/api/v1/meetings", Some(far)).await,
        StatusCode::CREATED,
    )
    .await;

    let meetings =
        tutti_meetings::Meetings::new(app.running().app.platform.clone(), None, Default::default())
            .unwrap();
    let now = tutti_store::now_ms();
    // The server's own worker may have sent them already; either way, exactly once.
    let first = tutti_meetings::jobs::send_reminders(&meetings, now)
        .await
        .unwrap();
    let second = tutti_meetings::jobs::send_reminders(&meetings, now)
        .await
        .unwrap();
    assert!(first <= 1 && second == 0, "{first} then {second}");
    let mails: Vec<(String, String, String)> =
        sqlx::query_as("SELECT to_email, subject, body FROM outbox WHERE subject LIKE '%Soon%'")
            .fetch_all(app.platform().db.pool())
            .await
            .unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "host@example.test");
    assert!(mails[0].2.contains("(America/New_York)"), "{}", mails[0].2);
    let others: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE subject LIKE '%Far away%'")
            .fetch_one(app.platform().db.pool())
            .await
            .unwrap();
    assert_eq!(others, 0);
}

/// The page's HTML after a GET, with its status checked.
async fn page(browser: &Browser, path: &str) -> String {
    let response = browser.get(path).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    html.replace("&#x2f;", "/")
}

#[tokio::test]
async fn the_pages_schedule_list_show_and_join_meetings_in_both_languages() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("dana@example.test", &[Role::MEMBER]).await;
    let home = page(&browser, "/meetings").await;
    assert!(home.contains(r#"action="/meetings/instant""#), "{home}");

    let made = browser
        .form("/meetings/teams", &[("name", "רביעייה")])
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let team_url = made.headers()["location"].to_str().unwrap().to_string();
    let team = team_url.rsplit('/').next().unwrap().to_string();
    let team_page = page(&browser, &team_url).await;
    assert!(team_page.contains("רביעייה") && team_page.contains(r#"id="leave-form""#));

    // The schedule form takes the day and times on the chosen zone's clock.
    let date = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 10))
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    let bad = browser
        .form(
            "/meetings/new",
            &[
                ("title", "חזרת קבוצה"),
                ("team_id", &team),
                ("date", &date),
                ("start", "19:00"),
                ("end", "18:00"),
                ("time_zone", "Asia/Jerusalem"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains(r#"id="f-end-error""#) && bad.contains(r#"value="חזרת קבוצה""#),
        "{bad}"
    );
    let made = browser
        .form(
            "/meetings/new",
            &[
                ("title", "חזרת קבוצה"),
                ("team_id", &team),
                ("date", &date),
                ("start", "18:00"),
                ("end", "19:30"),
                ("time_zone", "Asia/Jerusalem"),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let meeting_url = made.headers()["location"].to_str().unwrap().to_string();
    let meeting = page(&browser, &meeting_url).await;
    assert!(
        meeting.contains("חזרת קבוצה") && meeting.contains("(Asia/Jerusalem)"),
        "{meeting}"
    );
    let code_at = meeting.find(r#"id="code">"#).unwrap() + r#"id="code">"#.len();
    let code = meeting[code_at..code_at + 19].to_string();

    let home = page(&browser, "/meetings").await;
    assert!(home.contains("חזרת קבוצה"));
    let filtered = page(&browser, "/meetings?team=no-such-team").await;
    assert!(!filtered.contains("חזרת קבוצה"));
    let calendar = page(
        &browser,
        &format!("/meetings/calendar?month={}", &date[..7]),
    )
    .await;
    assert!(
        calendar.contains("חזרת קבוצה") && calendar.contains(&format!(r#"data-date="{date}""#)),
        "{calendar}"
    );
    page(&browser, "/meetings/teams").await;
    page(&browser, &format!("{meeting_url}/edit")).await;

    // The join page: its host is told so; a guest is turned away from a team meeting.
    let join = page(&browser, &format!("/meetings/join/{code}")).await;
    assert!(join.contains(r#"data-role="host""#), "{join}");
    let guest = app.anonymous().get(&format!("/meetings/join/{code}")).await;
    assert_eq!(guest.status(), StatusCode::OK);
    assert!(guest.text().await.unwrap().contains(r#"id="join-refused""#));
    let nothing = app
        .anonymous()
        .get("/meetings/join/abcd-efgh-jkmn-pqrs")
        .await;
    assert_eq!(nothing.status(), StatusCode::NOT_FOUND);

    // Every page reads in Hebrew with no English outside user data.
    let switched = browser
        .form("/language", &[("lang", "he"), ("next", "/meetings")])
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    browser.csrf = csrf_of(&browser.get("/profile").await.text().await.unwrap()).unwrap();
    let mut english = Vec::new();
    for path in [
        "/meetings".to_string(),
        "/meetings/new".to_string(),
        "/meetings/calendar".to_string(),
        "/meetings/teams".to_string(),
        team_url.clone(),
        meeting_url.clone(),
        format!("/meetings/join/{code}"),
    ] {
        let html = page(&browser, &path).await;
        assert!(html.contains(r#"<html lang="he" dir="rtl">"#), "{path}");
        let words = crate::pages::latin_outside_user_data(&html, "he");
        if !words.is_empty() {
            english.push(format!("{path}: {words:?}"));
        }
    }
    assert!(
        english.is_empty(),
        "English on Hebrew pages:\n{}",
        english.join("\n")
    );

    // Cancelling from the page takes it off the list.
    let cancelled = browser.form(&format!("{meeting_url}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let home = page(&browser, "/meetings").await;
    assert!(!home.contains("חזרת קבוצה"));
}
