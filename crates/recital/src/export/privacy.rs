//! What a dataset may say about a speaker: a salted hash instead of any account detail,
//! an age decade instead of a year of birth, and no demographic value that fewer than
//! five speakers of the export share (Common Voice's "rule of five"), because a rare
//! value next to a voice can identify a person.

use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Demographics;

/// Fewest distinct speakers who must share a demographic value for it to be published.
pub const MIN_GROUP: usize = 5;

/// The speaker id that goes into datasets: HMAC-SHA256 of the user id keyed with the
/// salt, hex, first 32 characters. Stable within a server and campaign, not reversible
/// without the salt, and never an e-mail or a user id.
pub fn speaker_id(salt: &[u8], user_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(salt).expect("HMAC takes any key");
    mac.update(user_id.as_bytes());
    let mut id = hex::encode(mac.finalize().into_bytes());
    id.truncate(32);
    id
}

/// The decade a speaker's age falls in during `year`, as Common Voice words it
/// ("teens", "twenties", …), or `None` for an age no speaker can have. The age is
/// `year - year_of_birth`, so it may be a year ahead of the real one.
pub fn age_bucket(year_of_birth: i32, year: i32) -> Option<&'static str> {
    const DECADES: [&str; 9] = [
        "teens",
        "twenties",
        "thirties",
        "forties",
        "fifties",
        "sixties",
        "seventies",
        "eighties",
        "nineties",
    ];
    let age = year.checked_sub(year_of_birth)?;
    if !(10..100).contains(&age) {
        return None;
    }
    Some(DECADES[(age / 10 - 1) as usize])
}

/// A speaker's demographic values as they appear in the files; an empty string is a
/// value not given or blanked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// A decade, e.g. "twenties".
    pub age: String,
    /// As the speaker worded it.
    pub gender: String,
    /// As the speaker worded it.
    pub accent: String,
}

impl Published {
    /// The values a speaker gave, before blanking: age as a decade counted in `year`,
    /// gender and accent trimmed.
    pub fn of(d: &Demographics, year: i32) -> Published {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
        Published {
            age: d
                .year_of_birth
                .and_then(|y| age_bucket(y, year))
                .unwrap_or("")
                .to_string(),
            gender: text(&d.gender),
            accent: text(&d.accent),
        }
    }
}

/// Blanks every age, gender and accent value held by fewer than [`MIN_GROUP`] distinct
/// speakers among `speakers` (speaker id, values): pass every speaker of the export.
pub fn blank_small_groups(speakers: &mut [(String, Published)]) {
    type Field = fn(&mut Published) -> &mut String;
    let fields: [Field; 3] = [|p| &mut p.age, |p| &mut p.gender, |p| &mut p.accent];
    for field in fields {
        let mut holders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (id, values) in speakers.iter_mut() {
            let value = field(values);
            if !value.is_empty() {
                holders.entry(value.clone()).or_default().insert(id.clone());
            }
        }
        for (_, values) in speakers.iter_mut() {
            let value = field(values);
            if !value.is_empty() && holders[value.as_str()].len() < MIN_GROUP {
                value.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaker_ids_hide_the_user_and_depend_on_the_salt() {
        let user = "alice@example.org";
        let a = speaker_id(b"server-one/campaign", user);
        let b = speaker_id(b"server-two/campaign", user);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(!a.contains(user) && !a.contains("alice"));
        assert_ne!(a, b, "another salt gives another id");
        assert_eq!(a, speaker_id(b"server-one/campaign", user), "stable");
        assert_ne!(a, speaker_id(b"server-one/campaign", "bob@example.org"));
        let uuid = "0195f3c2-7a1e-7c44-9f0e-3b2a1c0d9e8f";
        let id = speaker_id(b"salt", uuid);
        assert!(!id.contains(uuid) && !id.contains(&uuid.replace('-', "")[..16]));
    }

    #[test]
    fn speaker_id_is_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            speaker_id(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
    }

    #[test]
    fn ages_are_decades() {
        assert_eq!(age_bucket(2008, 2025), Some("teens"));
        assert_eq!(age_bucket(2000, 2025), Some("twenties"));
        assert_eq!(age_bucket(1996, 2025), Some("twenties"));
        assert_eq!(age_bucket(1995, 2025), Some("thirties"));
        assert_eq!(age_bucket(1980, 2025), Some("forties"));
        assert_eq!(age_bucket(1930, 2025), Some("nineties"));
        assert_eq!(age_bucket(1900, 2025), None);
        assert_eq!(age_bucket(2020, 2025), None);
        assert_eq!(age_bucket(2030, 2025), None);
        assert_eq!(age_bucket(i32::MIN, 2025), None);
    }

    fn speaker(id: &str, age: &str, gender: &str, accent: &str) -> (String, Published) {
        (
            id.to_string(),
            Published {
                age: age.into(),
                gender: gender.into(),
                accent: accent.into(),
            },
        )
    }

    #[test]
    fn values_of_fewer_than_five_speakers_are_blanked() {
        let mut speakers = vec![
            speaker("s1", "twenties", "female", "north"),
            speaker("s2", "twenties", "female", "north"),
            speaker("s3", "twenties", "female", "north"),
            speaker("s4", "twenties", "female", "north"),
            speaker("s5", "twenties", "male", "north"),
            speaker("s6", "sixties", "male", "islands"),
            speaker("s7", "twenties", "male", ""),
            // The same speaker listed twice counts once.
            speaker("s6", "sixties", "male", "islands"),
        ];
        blank_small_groups(&mut speakers);
        let values: Vec<(&str, &str, &str)> = speakers
            .iter()
            .map(|(_, p)| (p.age.as_str(), p.gender.as_str(), p.accent.as_str()))
            .collect();
        assert_eq!(
            values,
            [
                ("twenties", "", "north"),
                ("twenties", "", "north"),
                ("twenties", "", "north"),
                ("twenties", "", "north"),
                ("twenties", "", "north"),
                ("", "", ""),
                ("twenties", "", ""),
                ("", "", ""),
            ],
            "4 female and 3 male speakers: both blanked; 6 in their twenties: kept"
        );
    }

    #[test]
    fn five_speakers_keep_their_value() {
        let mut speakers: Vec<_> = (0..5)
            .map(|i| speaker(&format!("s{i}"), "thirties", "nonbinary", "coastal"))
            .collect();
        blank_small_groups(&mut speakers);
        assert!(
            speakers.iter().all(|(_, p)| p.gender == "nonbinary"
                && p.age == "thirties"
                && p.accent == "coastal")
        );
        speakers.pop();
        blank_small_groups(&mut speakers);
        assert!(speakers.iter().all(|(_, p)| *p == Published::default()));
    }

    #[test]
    fn published_values_come_from_the_profile() {
        let d = Demographics {
            year_of_birth: Some(1990),
            gender: Some("  female ".into()),
            accent: None,
        };
        assert_eq!(
            Published::of(&d, 2025),
            Published {
                age: "thirties".into(),
                gender: "female".into(),
                accent: String::new(),
            }
        );
    }
}
