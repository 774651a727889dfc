//! Meetings as iCalendar (RFC 5545), so they appear in any calendar app: one meeting's
//! `.ics` file, a person's feed and a team's feed. A meeting's UID is stable
//! (`meeting-<id>@<host>`), its SEQUENCE grows with every change, and a cancelled
//! meeting stays in the feeds as `STATUS:CANCELLED` so apps remove it. A meeting that
//! happens once is written in UTC; a weekly one in its own zone (`DTSTART;TZID=…` with
//! that zone's VTIMEZONE and an RRULE), because a UTC start repeated weekly would move by
//! an hour across a daylight-saving change.

use icalendar::{Calendar, Component as _, Property};
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use std::collections::BTreeMap;

use crate::db::MeetingRow;
use crate::domain::{Schedule, Zone};

/// One meeting as the calendar shows it.
pub struct Entry<'a> {
    pub meeting: &'a MeetingRow,
    pub schedule: Schedule,
    /// Where to join it, absolute.
    pub join_url: String,
    /// The team it belongs to, if any, added to its summary.
    pub team_name: Option<&'a str>,
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn local(zone: &Zone, t: Timestamp) -> String {
    zone.tz.to_datetime(t).strftime("%Y%m%dT%H%M%S").to_string()
}

/// `+0100`, as TZOFFSETFROM and TZOFFSETTO write offsets.
fn offset_text(o: Offset) -> String {
    let s = o.seconds();
    let sign = if s < 0 { '-' } else { '+' };
    let a = s.unsigned_abs();
    let (h, m, sec) = (a / 3600, a / 60 % 60, a % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// The zone's offset changes from a year before `from` to `to`, as a VTIMEZONE: each
/// change an observance of its own (STANDARD or DAYLIGHT), so no rule needs guessing.
fn vtimezone(zone: &Zone, from: Timestamp, to: Timestamp) -> String {
    let tz: &TimeZone = &zone.tz;
    let begin = from
        .checked_sub(jiff::SignedDuration::from_hours(366 * 24))
        .unwrap_or(from);
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", zone.name);
    let mut any = false;
    for t in tz.following(begin).take(64) {
        if t.timestamp() > to {
            break;
        }
        let before = tz.to_offset(
            t.timestamp()
                .checked_sub(jiff::SignedDuration::from_secs(1))
                .unwrap_or(t.timestamp()),
        );
        let kind = if t.dst().is_dst() {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        let onset = before.to_datetime(t.timestamp()).strftime("%Y%m%dT%H%M%S");
        out.push_str(&format!(
            "BEGIN:{kind}\r\nDTSTART:{onset}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\n\
             TZNAME:{}\r\nEND:{kind}\r\n",
            offset_text(before),
            offset_text(t.offset()),
            t.abbreviation(),
        ));
        any = true;
    }
    if !any {
        let o = tz.to_offset(from);
        out.push_str(&format!(
            "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:{0}\r\n\
             TZOFFSETTO:{0}\r\nEND:STANDARD\r\n",
            offset_text(o)
        ));
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// How far past a never-ending series' start its zone's changes are written out.
const OPEN_SERIES_YEARS: i64 = 10;

/// The calendar of these meetings, named `name`; `host` makes the UIDs unique to this
/// server.
pub fn calendar(name: &str, host: &str, entries: &[Entry<'_>]) -> String {
    let mut cal = Calendar::new();
    cal.name(name);
    // Each zone a weekly meeting uses, with the span its changes must cover.
    let mut zones: BTreeMap<String, (Zone, Timestamp, Timestamp)> = BTreeMap::new();
    for e in entries {
        let m = e.meeting;
        let s = &e.schedule;
        let summary = match e.team_name {
            Some(team) => format!("{} · {team}", m.title),
            None => m.title.clone(),
        };
        let mut event = icalendar::Event::new();
        event
            .uid(&format!("meeting-{}@{host}", m.id))
            .summary(&summary)
            .description(&format!("{}\n{}", e.join_url, m.code))
            .url(&e.join_url)
            .sequence(u32::try_from(m.sequence).unwrap_or(0))
            .status(if m.is_cancelled() {
                icalendar::EventStatus::Cancelled
            } else {
                icalendar::EventStatus::Confirmed
            })
            .append_property(Property::new(
                "DTSTAMP",
                utc(crate::domain::ts(m.updated_at)),
            ));
        match s.rrule() {
            Some(rule) => {
                let zone = &s.zone;
                for (key, at) in [("DTSTART", s.starts_at), ("DTEND", s.ends_at)] {
                    event.append_property(
                        Property::new(key, local(zone, at))
                            .add_parameter("TZID", &zone.name)
                            .done(),
                    );
                }
                event.append_property(Property::new("RRULE", rule));
                let until = s.last_end().unwrap_or_else(|| {
                    s.starts_at
                        .checked_add(jiff::SignedDuration::from_hours(
                            OPEN_SERIES_YEARS * 366 * 24,
                        ))
                        .unwrap_or(Timestamp::MAX)
                });
                let span =
                    zones
                        .entry(zone.name.clone())
                        .or_insert((zone.clone(), s.starts_at, until));
                span.1 = span.1.min(s.starts_at);
                span.2 = span.2.max(until);
            }
            None => {
                event
                    .append_property(Property::new("DTSTART", utc(s.starts_at)))
                    .append_property(Property::new("DTEND", utc(s.ends_at)));
            }
        }
        cal.push(event.done());
    }
    // Written by hand and put in before the end: the crate would give every component,
    // VTIMEZONE and its observances too, a random UID and a DTSTAMP, which they must not
    // carry.
    let text = cal.done().to_string();
    let zones: String = zones
        .values()
        .map(|(zone, from, to)| vtimezone(zone, *from, *to))
        .collect();
    match text.rfind("END:VCALENDAR") {
        Some(at) => format!("{}{zones}{}", &text[..at], &text[at..]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ScheduleInput, check_schedule};
    use icalendar::CalendarComponent;
    use std::str::FromStr as _;

    fn row(id: &str, sequence: i64, status: &str, weekdays: &str) -> MeetingRow {
        MeetingRow {
            id: id.into(),
            code: "abcd-efgh-jkmn-pqrs".into(),
            title: "Planning; with, commas".into(),
            team_id: None,
            host_id: "h".into(),
            starts_at: 0,
            ends_at: 0,
            time_zone: "Europe/Berlin".into(),
            instant: 0,
            weekdays: weekdays.into(),
            repeat_until: None,
            repeat_count: None,
            guests_allowed: 0,
            sequence,
            status: status.into(),
            started_at: None,
            ended_at: None,
            reminded_until: None,
            created_at: 1_796_000_000_000,
            updated_at: 1_796_000_000_000,
        }
    }

    #[test]
    fn feeds_parse_back_with_stable_uids_sequences_rules_and_zones() {
        let once = row("m1", 0, "scheduled", "");
        let weekly = row("m2", 3, "scheduled", "MO,WE");
        let gone = row("m3", 2, "cancelled", "");
        let days = vec!["MO".to_string(), "WE".to_string()];
        let weekly_schedule = check_schedule(&ScheduleInput {
            starts_at: "2027-03-15T09:00:00+01:00",
            ends_at: "2027-03-15T10:00:00+01:00",
            time_zone: "Europe/Berlin",
            weekdays: &days,
            repeat_until: None,
            repeat_count: Some(8),
        })
        .unwrap();
        let once_schedule = check_schedule(&ScheduleInput {
            starts_at: "2026-12-24T18:00:00+01:00",
            ends_at: "2026-12-24T19:00:00+01:00",
            time_zone: "Europe/Berlin",
            ..Default::default()
        })
        .unwrap();
        let entries = [
            Entry {
                meeting: &once,
                schedule: once_schedule.clone(),
                join_url: "https://tutti.example/meetings/join/abcd".into(),
                team_name: Some("Board"),
            },
            Entry {
                meeting: &weekly,
                schedule: weekly_schedule,
                join_url: "https://tutti.example/meetings/join/efgh".into(),
                team_name: None,
            },
            Entry {
                meeting: &gone,
                schedule: once_schedule,
                join_url: "https://tutti.example/meetings/join/jkmn".into(),
                team_name: None,
            },
        ];
        let text = calendar("Meetings", "tutti.example", &entries);
        assert!(text.contains("DTSTART:20261224T170000Z"), "{text}");
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20270315T090000"),
            "{text}"
        );
        assert!(text.contains("BEGIN:VTIMEZONE"), "{text}");
        assert!(text.contains("TZOFFSETTO:+0200"), "{text}");

        let parsed = icalendar::Calendar::from_str(&text).expect("the feed parses");
        let events: Vec<_> = parsed
            .components
            .iter()
            .filter_map(|c| c.as_event())
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].get_uid(), Some("meeting-m1@tutti.example"));
        assert_eq!(
            events[0].get_summary(),
            Some("Planning; with, commas · Board")
        );
        assert_eq!(
            events[0].get_url(),
            Some("https://tutti.example/meetings/join/abcd")
        );
        assert_eq!(events[1].get_sequence(), Some(3));
        assert_eq!(
            events[1].property_value("RRULE"),
            Some("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=8")
        );
        let start = events[1].properties().get("DTSTART").unwrap();
        assert_eq!(
            start.params().get("TZID").map(|p| p.value()),
            Some("Europe/Berlin")
        );
        assert_eq!(
            events[2].get_status(),
            Some(icalendar::EventStatus::Cancelled)
        );
        assert_eq!(events[2].get_sequence(), Some(2));
        assert!(
            parsed
                .components
                .iter()
                .any(|c| !matches!(c, CalendarComponent::Event(_))),
            "the zone is in the parsed calendar"
        );
        assert_eq!(text, calendar("Meetings", "tutti.example", &entries));
    }

    #[test]
    fn offsets_are_written_as_rfc_5545_wants() {
        assert_eq!(offset_text(Offset::from_seconds(3600).unwrap()), "+0100");
        assert_eq!(offset_text(Offset::from_seconds(-16200).unwrap()), "-0430");
        assert_eq!(offset_text(Offset::from_seconds(0).unwrap()), "+0000");
    }
}
