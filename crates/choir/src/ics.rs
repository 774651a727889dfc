//! iCalendar feeds of choir sessions, so rehearsals appear in any calendar app: one per
//! room and one of every open room. A session's UID is stable (its id and this server's
//! host), and its DTSTAMP is when it was scheduled.

use icalendar::{Calendar, Component as _, Property};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::db::SessionRow;

/// One session as the feed shows it.
pub struct Entry<'a> {
    pub session: &'a SessionRow,
    pub room_name: &'a str,
    /// Where to join it, absolute.
    pub join_url: String,
}

/// UTC date-time the way RFC 5545 writes it (`20261224T180000Z`), from Unix milliseconds.
fn utc(ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap_or_default()
}

/// The calendar of these sessions, named `name`; `host` makes the UIDs unique to this
/// server.
pub fn calendar(name: &str, host: &str, entries: &[Entry<'_>]) -> String {
    let mut cal = Calendar::new();
    cal.name(name);
    for e in entries {
        let s = e.session;
        let event = icalendar::Event::new()
            .uid(&format!("choir-session-{}@{host}", s.id))
            .summary(&format!("{} · {}", s.title, e.room_name))
            .description(&e.join_url)
            .url(&e.join_url)
            .append_property(Property::new("DTSTAMP", utc(s.created_at)))
            .append_property(Property::new("DTSTART", utc(s.starts_at)))
            .append_property(Property::new("DTEND", utc(s.ends_at)))
            .done();
        cal.push(event);
    }
    cal.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr as _;

    #[test]
    fn the_feed_parses_back_with_stable_uids_and_utc_times() {
        let session = SessionRow {
            id: "s1".into(),
            room_id: "r1".into(),
            title: "Dress rehearsal; with, commas".into(),
            starts_at: 1_798_135_200_000, // 2026-12-24T18:00:00Z
            ends_at: 1_798_142_400_000,
            created_at: 1_796_000_000_000,
        };
        let entries = [Entry {
            session: &session,
            room_name: "Tuesday",
            join_url: "https://tutti.example/choir/rooms/r1/join".into(),
        }];
        let text = calendar("Choir", "tutti.example", &entries);
        assert!(text.contains("DTSTART:20261224T180000Z"), "{text}");
        let parsed = Calendar::from_str(&text).expect("the feed parses");
        let events: Vec<_> = parsed
            .components
            .iter()
            .filter_map(|c| c.as_event())
            .collect();
        assert_eq!(events.len(), 1);
        let event = events[0];
        assert_eq!(event.get_uid(), Some("choir-session-s1@tutti.example"));
        assert_eq!(
            event.get_summary(),
            Some("Dress rehearsal; with, commas · Tuesday")
        );
        assert_eq!(text, calendar("Choir", "tutti.example", &entries));
    }
}
