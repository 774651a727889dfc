//! The meetings studio's rules, with no HTTP and no database: team roles and what each
//! may do, schedules (a time zone that exists, an end after the start, weekly days with
//! an end date or a count), the occurrences of a weekly meeting in any span of time
//! (local wall-clock time kept across daylight-saving changes), the RRULE calendar apps
//! read, join codes, and who may join, see or change a meeting.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;

use crate::db::MeetingRow;
use crate::error::MeetingError;

type Result<T> = std::result::Result<T, MeetingError>;

/// Longest meeting title.
pub const MAX_TITLE: usize = 200;
/// Longest team name.
pub const MAX_TEAM_NAME: usize = 120;
/// The longest a meeting lasts: a workshop day, not a week.
pub const MAX_DURATION_MS: i64 = 24 * 3600 * 1000;
/// The most occurrences a weekly meeting may have (ten years of one day a week).
pub const MAX_COUNT: i64 = 520;
/// How long an instant meeting is put in calendars for.
pub const INSTANT_MS: i64 = 3600 * 1000;
/// How far ahead a weekly meeting is expanded at most (calendars past this are empty).
const HORIZON_DAYS: i64 = 366 * 20;

/// A member's standing in a team; ordered by what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeamRole {
    Member,
    Admin,
    Owner,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Admin => "admin",
            TeamRole::Owner => "owner",
        }
    }

    pub fn parse(raw: &str) -> Option<TeamRole> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "member" => Some(TeamRole::Member),
            "admin" => Some(TeamRole::Admin),
            "owner" => Some(TeamRole::Owner),
            _ => None,
        }
    }

    /// Owners and admins manage members, invitations and the team's meetings.
    pub fn manages(self) -> bool {
        self >= TeamRole::Admin
    }
}

/// Whether `actor` may give `target` the role `new_role` (or remove them, for `None`).
/// Admins manage plain members; only the owner makes or unmakes admins; nobody changes
/// the owner this way (the owner hands ownership over instead).
pub fn may_change_member(
    actor: TeamRole,
    target: TeamRole,
    new_role: Option<TeamRole>,
) -> Result<()> {
    if !actor.manages() {
        return Err(MeetingError::forbidden(
            "not-team-manager",
            "Only the team's owner and admins manage its members.",
        ));
    }
    if target == TeamRole::Owner {
        return Err(MeetingError::forbidden(
            "team-owner",
            "The owner stays until they hand ownership to someone else.",
        ));
    }
    if new_role == Some(TeamRole::Owner) {
        return Err(MeetingError::invalid(
            "role",
            "Make someone the owner by handing ownership over; a role is admin or member.",
        ));
    }
    let touches_admin = target == TeamRole::Admin || new_role == Some(TeamRole::Admin);
    if touches_admin && actor != TeamRole::Owner {
        return Err(MeetingError::forbidden(
            "not-team-owner",
            "Only the team's owner makes, unmakes or removes admins.",
        ));
    }
    Ok(())
}

/// An IANA time zone, by its name.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    pub tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

/// A time zone the time-zone database knows, such as `Europe/Berlin` (fixed offsets
/// such as `+02:00` are refused: they would drift across daylight-saving changes).
pub fn parse_zone(field: &str, raw: &str) -> Result<Zone> {
    let name = raw.trim();
    let refuse = || {
        MeetingError::invalid(
            field,
            format!(
                "{:?} is not a time zone; give an IANA name such as Europe/Berlin or \
                 America/New_York.",
                name.chars().take(64).collect::<String>()
            ),
        )
    };
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_graphic()) {
        return Err(refuse());
    }
    let tz = TimeZone::get(name).map_err(|_| refuse())?;
    let canonical = tz.iana_name().unwrap_or(name).to_string();
    Ok(Zone {
        name: canonical,
        tz,
    })
}

/// A zone as stored with a meeting; one the database no longer knows reads as UTC.
pub fn stored_zone(name: &str) -> Zone {
    parse_zone("time_zone", name).unwrap_or_else(|_| Zone {
        name: "UTC".into(),
        tz: TimeZone::UTC,
    })
}

/// An RFC 3339 time, such as `2026-12-24T18:00:00+01:00`.
pub fn parse_time(field: &str, raw: &str) -> Result<Timestamp> {
    raw.trim().parse::<Timestamp>().map_err(|_| {
        MeetingError::invalid(
            field,
            "Give a date and time with its offset, such as 2026-12-24T18:00:00+01:00.",
        )
    })
}

/// A Unix-millisecond time as a [`Timestamp`] (out-of-range values clamp).
pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// The RFC 5545 day codes, Monday first.
pub const DAY_CODES: [(Weekday, &str); 7] = [
    (Weekday::Monday, "MO"),
    (Weekday::Tuesday, "TU"),
    (Weekday::Wednesday, "WE"),
    (Weekday::Thursday, "TH"),
    (Weekday::Friday, "FR"),
    (Weekday::Saturday, "SA"),
    (Weekday::Sunday, "SU"),
];

pub fn day_code(day: Weekday) -> &'static str {
    DAY_CODES
        .iter()
        .find(|(d, _)| *d == day)
        .map(|(_, c)| *c)
        .unwrap_or("MO")
}

/// Weekdays given as RFC 5545 codes (`MO`…`SU`); sorted Monday first, each once.
pub fn parse_weekdays(field: &str, raw: &[String]) -> Result<Vec<Weekday>> {
    let mut days = Vec::new();
    for item in raw {
        let found = DAY_CODES.iter().find(|(_, c)| c == item);
        match found {
            Some((d, _)) if !days.contains(d) => days.push(*d),
            Some(_) => {}
            None => {
                return Err(MeetingError::invalid(
                    field,
                    format!(
                        "{:?} is not a day; use MO, TU, WE, TH, FR, SA or SU.",
                        item.chars().take(20).collect::<String>()
                    ),
                ));
            }
        }
    }
    days.sort_by_key(|d| d.to_monday_zero_offset());
    Ok(days)
}

/// Days stored as `MO,WE`.
pub fn stored_weekdays(raw: &str) -> Vec<Weekday> {
    let items: Vec<String> = raw
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    parse_weekdays("weekdays", &items).unwrap_or_default()
}

pub fn weekdays_text(days: &[Weekday]) -> String {
    days.iter()
        .map(|d| day_code(*d))
        .collect::<Vec<_>>()
        .join(",")
}

/// How a weekly meeting repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Weekly {
    /// Monday first, at least one.
    pub days: Vec<Weekday>,
    /// The last local date an occurrence may fall on.
    pub until: Option<Date>,
    /// How many occurrences, the first included.
    pub count: Option<i64>,
}

/// When a meeting happens: its first occurrence, its zone, and how it repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub zone: Zone,
    pub weekly: Option<Weekly>,
}

/// A schedule as a request gives it (every field still text).
#[derive(Debug, Default)]
pub struct ScheduleInput<'a> {
    pub starts_at: &'a str,
    pub ends_at: &'a str,
    pub time_zone: &'a str,
    pub weekdays: &'a [String],
    pub repeat_until: Option<&'a str>,
    pub repeat_count: Option<i64>,
}

/// Checks a schedule, naming the field at fault.
pub fn check_schedule(input: &ScheduleInput<'_>) -> Result<Schedule> {
    let zone = parse_zone("time_zone", input.time_zone)?;
    let starts_at = parse_time("starts_at", input.starts_at)?;
    let ends_at = parse_time("ends_at", input.ends_at)?;
    let days = parse_weekdays("weekdays", input.weekdays)?;
    let until = input
        .repeat_until
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Date>().map_err(|_| {
                MeetingError::invalid("repeat_until", "Give the last date as YYYY-MM-DD.")
            })
        })
        .transpose()?;
    let weekly = if days.is_empty() {
        if until.is_some() || input.repeat_count.is_some() {
            return Err(MeetingError::invalid(
                "weekdays",
                "Choose the days a weekly meeting repeats on, or leave out repeat_until \
                 and repeat_count for a meeting that happens once.",
            ));
        }
        None
    } else {
        Some(Weekly {
            days,
            until,
            count: input.repeat_count,
        })
    };
    let schedule = Schedule {
        starts_at,
        ends_at,
        zone,
        weekly,
    };
    schedule.check()?;
    Ok(schedule)
}

impl Schedule {
    /// The rules a schedule keeps, whoever built it.
    pub fn check(&self) -> Result<()> {
        let length = self.duration_ms();
        if length <= 0 {
            return Err(MeetingError::invalid(
                "ends_at",
                "A meeting must end after it starts.",
            ));
        }
        if length > MAX_DURATION_MS {
            return Err(MeetingError::invalid(
                "ends_at",
                "A meeting lasts at most 24 hours.",
            ));
        }
        if let Some(w) = &self.weekly {
            let first = self.local_start().date();
            if !w.days.contains(&first.weekday()) {
                return Err(MeetingError::invalid(
                    "weekdays",
                    format!(
                        "The first meeting falls on a {:?} ({first}) in {}; make that one of \
                         the weekly days, or move the first meeting.",
                        first.weekday(),
                        self.zone.name
                    ),
                ));
            }
            if w.until.is_some() && w.count.is_some() {
                return Err(MeetingError::invalid(
                    "repeat_count",
                    "Give a last date or a number of meetings, not both.",
                ));
            }
            if let Some(until) = w.until
                && until < first
            {
                return Err(MeetingError::invalid(
                    "repeat_until",
                    format!("The last date comes before the first meeting ({first})."),
                ));
            }
            if let Some(n) = w.count
                && !(1..=MAX_COUNT).contains(&n)
            {
                return Err(MeetingError::invalid(
                    "repeat_count",
                    format!("A weekly meeting happens 1 to {MAX_COUNT} times."),
                ));
            }
        }
        Ok(())
    }

    pub fn duration_ms(&self) -> i64 {
        self.ends_at.as_millisecond() - self.starts_at.as_millisecond()
    }

    /// The first occurrence's start on the meeting's own clock.
    pub fn local_start(&self) -> DateTime {
        self.zone.tz.to_datetime(self.starts_at)
    }

    /// Every occurrence's start, in order, while `go_on` says so; stops at the end of a
    /// bounded series.
    fn each_start(&self, mut go_on: impl FnMut(Timestamp) -> bool) {
        let Some(w) = &self.weekly else {
            go_on(self.starts_at);
            return;
        };
        let local = self.local_start();
        let (time, mut day) = (local.time(), local.date());
        let mut seen = 0;
        for _ in 0..HORIZON_DAYS {
            if w.until.is_some_and(|u| day > u) {
                return;
            }
            if w.days.contains(&day.weekday()) {
                seen += 1;
                if w.count.is_some_and(|c| seen > c) {
                    return;
                }
                // A wall-clock time that a daylight-saving change skips or repeats is
                // taken the way calendar apps take it (RFC 5545: the later offset).
                let Ok(start) = self.zone.tz.to_timestamp(DateTime::from_parts(day, time)) else {
                    return;
                };
                if !go_on(start) {
                    return;
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => return,
            }
        }
    }

    /// The occurrences overlapping `[from, to)`, as (start, end).
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let length = jiff::SignedDuration::from_millis(self.duration_ms());
        let mut out = Vec::new();
        self.each_start(|start| {
            if start >= to {
                return false;
            }
            let end = start.checked_add(length).unwrap_or(Timestamp::MAX);
            if end > from {
                out.push((start, end));
            }
            true
        });
        out
    }

    /// The occurrences starting in `[from, to)`.
    pub fn starting_between(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        self.occurrences(from, to)
            .into_iter()
            .filter(|(s, _)| *s >= from)
            .collect()
    }

    /// When the last occurrence ends; none for a series without end.
    pub fn last_end(&self) -> Option<Timestamp> {
        if let Some(w) = &self.weekly
            && w.until.is_none()
            && w.count.is_none()
        {
            return None;
        }
        let mut last = self.starts_at;
        self.each_start(|start| {
            last = start;
            true
        });
        last.checked_add(jiff::SignedDuration::from_millis(self.duration_ms()))
            .ok()
    }

    /// The next occurrence that has not ended at `now`.
    pub fn next_after(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let mut found = None;
        let length = jiff::SignedDuration::from_millis(self.duration_ms());
        self.each_start(|start| {
            let end = start.checked_add(length).unwrap_or(Timestamp::MAX);
            if end > now {
                found = Some((start, end));
                return false;
            }
            true
        });
        found
    }

    /// The iCalendar recurrence rule, for weekly meetings: `FREQ=WEEKLY;BYDAY=MO,WE`,
    /// then `COUNT=n` or `UNTIL=` the last date's end in UTC (RFC 5545 wants UTC there
    /// when the start carries a TZID).
    pub fn rrule(&self) -> Option<String> {
        let w = self.weekly.as_ref()?;
        let mut rule = format!("FREQ=WEEKLY;BYDAY={}", weekdays_text(&w.days));
        if let Some(n) = w.count {
            rule.push_str(&format!(";COUNT={n}"));
        }
        if let Some(until) = w.until {
            let last = until
                .tomorrow()
                .ok()
                .and_then(|d| {
                    let midnight = DateTime::from_parts(d, jiff::civil::Time::midnight());
                    self.zone.tz.to_timestamp(midnight).ok()
                })
                .map(|t| {
                    t.checked_sub(jiff::SignedDuration::from_secs(1))
                        .unwrap_or(t)
                })
                .unwrap_or(Timestamp::MAX);
            rule.push_str(&format!(";UNTIL={}", last.strftime("%Y%m%dT%H%M%SZ")));
        }
        Some(rule)
    }
}

/// A join code: 80 random bits from the operating system's generator, written as
/// sixteen characters of Crockford's base-32 alphabet in groups of four
/// (`k3m9-x2ab-…`), easy to read aloud and to type.
pub fn new_code() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let bytes: [u8; 10] = rand::random();
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let mut code = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let shift = 75 - 5 * i;
        code.push(ALPHABET[((bits >> shift) & 31) as usize] as char);
    }
    code
}

/// A code as typed (any case, spaces around) in the form [`new_code`] writes, if it
/// could be one.
pub fn normalize_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_lowercase();
    let groups: Vec<&str> = code.split('-').collect();
    let ok = groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric()));
    ok.then_some(code)
}

/// Who asks to join a meeting.
#[derive(Debug, Clone)]
pub enum Joiner {
    /// A signed-in person, with their role in the meeting's team if they have one.
    Person {
        user_id: String,
        team_role: Option<TeamRole>,
    },
    /// Someone with no account, under the name they gave.
    Guest { name: String },
}

/// What someone is in a meeting they may join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JoinRole {
    /// Its host: runs the meeting (mute, remove, lock, end).
    Host,
    /// One of its people: a member of its team, or anyone signed in for a meeting
    /// without a team.
    Member,
    /// Let in because its host allows guests.
    Guest,
}

/// Whether `who` may join `meeting`, and as what. Team meetings are for the team's
/// members (and, if the host allows guests, for guests); a meeting without a team is for
/// anyone signed in who has its code, and for guests if allowed. A cancelled meeting
/// takes nobody.
pub fn may_join(who: &Joiner, meeting: &MeetingRow) -> Result<JoinRole> {
    if meeting.is_cancelled() {
        return Err(MeetingError::not_found("This meeting was cancelled."));
    }
    let guests = meeting.guests_allowed != 0;
    match who {
        Joiner::Person { user_id, .. } if *user_id == meeting.host_id => Ok(JoinRole::Host),
        Joiner::Person { team_role, .. } => match (&meeting.team_id, team_role) {
            (None, _) | (Some(_), Some(_)) => Ok(JoinRole::Member),
            (Some(_), None) if guests => Ok(JoinRole::Guest),
            (Some(_), None) => Err(MeetingError::forbidden(
                "team-members-only",
                "This meeting is for its team's members. Ask the team for an invitation.",
            )),
        },
        Joiner::Guest { .. } if guests => Ok(JoinRole::Guest),
        Joiner::Guest { .. } => Err(MeetingError::forbidden(
            "guests-not-allowed",
            "This meeting's host does not let guests in. Sign in to join.",
        )),
    }
}

/// Who may see a meeting's details (times, code, calendar file): its host, the members
/// of its team, and administrators.
pub fn may_see(
    user_id: &str,
    is_admin: bool,
    meeting: &MeetingRow,
    team_role: Option<TeamRole>,
) -> bool {
    is_admin || meeting.host_id == user_id || (meeting.team_id.is_some() && team_role.is_some())
}

/// Who may change or cancel a meeting: its host, its team's owner and admins, and
/// administrators.
pub fn may_manage(
    user_id: &str,
    is_admin: bool,
    meeting: &MeetingRow,
    team_role: Option<TeamRole>,
) -> bool {
    is_admin
        || meeting.host_id == user_id
        || (meeting.team_id.is_some() && team_role.is_some_and(TeamRole::manages))
}

/// A title as typed: trimmed, 1 to [`MAX_TITLE`] characters, no control characters.
pub fn check_title(raw: &str) -> Result<String> {
    tutti_web::text::single_line(raw, "title", "A meeting's title", MAX_TITLE)
        .map_err(|p| MeetingError::invalid("title", p.detail))
}

/// A team name as typed.
pub fn check_team_name(raw: &str) -> Result<String> {
    tutti_web::text::single_line(raw, "name", "A team's name", MAX_TEAM_NAME)
        .map_err(|p| MeetingError::invalid("name", p.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn schedule(start: &str, end: &str, zone: &str, weekly: &[&str]) -> Result<Schedule> {
        let weekdays = days(weekly);
        check_schedule(&ScheduleInput {
            starts_at: start,
            ends_at: end,
            time_zone: zone,
            weekdays: &weekdays,
            ..Default::default()
        })
    }

    fn field(e: MeetingError) -> String {
        match e {
            MeetingError::Invalid { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
    }

    fn meeting(host: &str, team: Option<&str>, guests: bool) -> MeetingRow {
        MeetingRow {
            id: "m1".into(),
            code: new_code(),
            title: "Planning".into(),
            team_id: team.map(str::to_string),
            host_id: host.into(),
            starts_at: 0,
            ends_at: 3_600_000,
            time_zone: "UTC".into(),
            instant: 0,
            weekdays: String::new(),
            repeat_until: None,
            repeat_count: None,
            guests_allowed: guests as i64,
            sequence: 0,
            status: "scheduled".into(),
            started_at: None,
            ended_at: None,
            reminded_until: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_schedule_names_the_field_it_breaks() {
        let ok = schedule(
            "2026-12-24T18:00:00+01:00",
            "2026-12-24T19:00:00+01:00",
            "Europe/Berlin",
            &[],
        )
        .unwrap();
        assert_eq!(ok.zone.name, "Europe/Berlin");
        assert_eq!(ok.duration_ms(), 3_600_000);
        let bad = |s, e, z, w: &[&str]| field(schedule(s, e, z, w).unwrap_err());
        let (s, e) = ("2026-12-24T18:00:00Z", "2026-12-24T19:00:00Z");
        assert_eq!(bad(s, e, "Mars/Olympus_Mons", &[]), "time_zone");
        assert_eq!(bad(s, e, "+02:00", &[]), "time_zone");
        assert_eq!(bad(s, e, "", &[]), "time_zone");
        assert_eq!(bad("tomorrow", e, "UTC", &[]), "starts_at");
        assert_eq!(bad(s, "2026-12-24T19:00:00", "UTC", &[]), "ends_at");
        assert_eq!(bad(e, s, "UTC", &[]), "ends_at");
        assert_eq!(bad(s, s, "UTC", &[]), "ends_at");
        assert_eq!(bad(s, "2026-12-26T19:00:00Z", "UTC", &[]), "ends_at");
        // 2026-12-24 is a Thursday.
        assert_eq!(bad(s, e, "UTC", &["MO"]), "weekdays");
        assert_eq!(bad(s, e, "UTC", &["TH", "someday"]), "weekdays");
        assert_eq!(bad(s, e, "UTC", &["th"]), "weekdays");
        let twice = schedule(s, e, "UTC", &["TH", "MO", "TH"]).unwrap();
        assert_eq!(
            twice.weekly.unwrap().days,
            [Weekday::Monday, Weekday::Thursday]
        );
        let until_and_count = check_schedule(&ScheduleInput {
            starts_at: s,
            ends_at: e,
            time_zone: "UTC",
            weekdays: &days(&["TH"]),
            repeat_until: Some("2027-03-01"),
            repeat_count: Some(3),
        });
        assert_eq!(field(until_and_count.unwrap_err()), "repeat_count");
        let early_end = check_schedule(&ScheduleInput {
            starts_at: s,
            ends_at: e,
            time_zone: "UTC",
            weekdays: &days(&["TH"]),
            repeat_until: Some("2026-12-01"),
            repeat_count: None,
        });
        assert_eq!(field(early_end.unwrap_err()), "repeat_until");
        let repeat_without_days = check_schedule(&ScheduleInput {
            starts_at: s,
            ends_at: e,
            time_zone: "UTC",
            weekdays: &[],
            repeat_until: None,
            repeat_count: Some(3),
        });
        assert_eq!(field(repeat_without_days.unwrap_err()), "weekdays");
    }

    #[test]
    fn weekly_meetings_keep_their_local_time_across_daylight_saving_and_months() {
        // Mondays and Wednesdays at 09:00 in Berlin from 2027-03-15, eight times: Europe
        // moves its clocks on 2027-03-28, so 08:00 UTC becomes 07:00 UTC.
        let weekdays = days(&["MO", "WE"]);
        let s = check_schedule(&ScheduleInput {
            starts_at: "2027-03-15T09:00:00+01:00",
            ends_at: "2027-03-15T10:30:00+01:00",
            time_zone: "Europe/Berlin",
            weekdays: &weekdays,
            repeat_until: None,
            repeat_count: Some(8),
        })
        .unwrap();
        let all = s.occurrences(Timestamp::MIN, Timestamp::MAX);
        let starts: Vec<String> = all.iter().map(|(a, _)| a.to_string()).collect();
        assert_eq!(
            starts,
            [
                "2027-03-15T08:00:00Z",
                "2027-03-17T08:00:00Z",
                "2027-03-22T08:00:00Z",
                "2027-03-24T08:00:00Z",
                "2027-03-29T07:00:00Z",
                "2027-03-31T07:00:00Z",
                "2027-04-05T07:00:00Z",
                "2027-04-07T07:00:00Z",
            ]
        );
        for (a, b) in &all {
            assert_eq!(b.as_millisecond() - a.as_millisecond(), 90 * 60_000);
        }
        // April alone: the two April meetings, and one ending in it counts too.
        let april = s.occurrences(
            "2027-04-01T00:00:00Z".parse().unwrap(),
            "2027-05-01T00:00:00Z".parse().unwrap(),
        );
        assert_eq!(april.len(), 2);
        let across = s.occurrences(
            "2027-03-31T07:30:00Z".parse().unwrap(),
            "2027-04-01T00:00:00Z".parse().unwrap(),
        );
        assert_eq!(
            across.len(),
            1,
            "a meeting running at the span's start is in it"
        );
        assert_eq!(s.last_end().unwrap().to_string(), "2027-04-07T08:30:00Z");
        assert_eq!(s.rrule().unwrap(), "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=8");
        let next = s
            .next_after("2027-03-25T00:00:00Z".parse().unwrap())
            .unwrap();
        assert_eq!(next.0.to_string(), "2027-03-29T07:00:00Z");
    }

    #[test]
    fn a_series_ends_on_its_last_local_date_and_an_open_one_goes_on() {
        let weekdays = days(&["FR"]);
        let until = check_schedule(&ScheduleInput {
            starts_at: "2026-10-02T23:30:00-04:00",
            ends_at: "2026-10-03T00:30:00-04:00",
            time_zone: "America/New_York",
            weekdays: &weekdays,
            repeat_until: Some("2026-10-16"),
            repeat_count: None,
        })
        .unwrap();
        let all = until.occurrences(Timestamp::MIN, Timestamp::MAX);
        assert_eq!(all.len(), 3, "{all:?}");
        // The last date's end in New York, in UTC.
        assert_eq!(
            until.rrule().unwrap(),
            "FREQ=WEEKLY;BYDAY=FR;UNTIL=20261017T035959Z"
        );
        let open = check_schedule(&ScheduleInput {
            starts_at: "2026-10-02T10:00:00Z",
            ends_at: "2026-10-02T11:00:00Z",
            time_zone: "UTC",
            weekdays: &weekdays,
            ..Default::default()
        })
        .unwrap();
        assert!(open.last_end().is_none());
        let year = open.occurrences(
            "2030-01-01T00:00:00Z".parse().unwrap(),
            "2031-01-01T00:00:00Z".parse().unwrap(),
        );
        assert!((52..=53).contains(&year.len()), "{}", year.len());
    }

    #[test]
    fn codes_carry_eighty_random_bits_in_a_readable_form() {
        let a = new_code();
        assert_eq!(a.len(), 19);
        assert_eq!(
            normalize_code(&format!("  {} ", a.to_uppercase())),
            Some(a.clone())
        );
        assert_ne!(a, new_code());
        assert!(normalize_code("abcd-efgh").is_none());
        assert!(normalize_code("../../etc/passwd").is_none());
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| new_code()).collect();
        assert_eq!(codes.len(), 1000);
    }

    #[test]
    fn team_meetings_are_for_members_and_guests_only_when_allowed() {
        let person = |id: &str, role| Joiner::Person {
            user_id: id.into(),
            team_role: role,
        };
        let guest = Joiner::Guest { name: "Gal".into() };
        let team = meeting("host", Some("t1"), false);
        assert_eq!(
            may_join(&person("host", None), &team).unwrap(),
            JoinRole::Host
        );
        assert_eq!(
            may_join(&person("m", Some(TeamRole::Member)), &team).unwrap(),
            JoinRole::Member
        );
        assert!(may_join(&person("stranger", None), &team).is_err());
        assert!(may_join(&guest, &team).is_err());
        let open_team = meeting("host", Some("t1"), true);
        assert_eq!(
            may_join(&person("stranger", None), &open_team).unwrap(),
            JoinRole::Guest
        );
        assert_eq!(may_join(&guest, &open_team).unwrap(), JoinRole::Guest);
        let own = meeting("host", None, false);
        assert_eq!(
            may_join(&person("anyone", None), &own).unwrap(),
            JoinRole::Member
        );
        assert!(may_join(&guest, &own).is_err());
        let mut cancelled = meeting("host", None, true);
        cancelled.status = "cancelled".into();
        assert!(may_join(&person("host", None), &cancelled).is_err());

        assert!(may_manage("host", false, &team, None));
        assert!(may_manage("a", false, &team, Some(TeamRole::Admin)));
        assert!(!may_manage("m", false, &team, Some(TeamRole::Member)));
        assert!(may_see("m", false, &team, Some(TeamRole::Member)));
        assert!(!may_see("stranger", false, &team, None));
        assert!(!may_see("stranger", false, &own, None));
        assert!(may_see("root", true, &own, None));
    }

    #[test]
    fn owners_manage_admins_and_admins_manage_members() {
        use TeamRole::*;
        assert!(may_change_member(Owner, Member, Some(Admin)).is_ok());
        assert!(may_change_member(Owner, Admin, None).is_ok());
        assert!(may_change_member(Admin, Member, None).is_ok());
        assert!(may_change_member(Admin, Member, Some(Admin)).is_err());
        assert!(may_change_member(Admin, Admin, None).is_err());
        assert!(may_change_member(Member, Member, None).is_err());
        assert!(may_change_member(Owner, Owner, Some(Member)).is_err());
        assert!(may_change_member(Owner, Member, Some(Owner)).is_err());
        assert!(Owner.manages() && Admin.manages() && !Member.manages());
        assert_eq!(TeamRole::parse(" Admin "), Some(Admin));
        assert_eq!(TeamRole::parse("boss"), None);
    }
}
