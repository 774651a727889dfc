//! Whole exports of a small synthetic campaign, one per layout, with real Opus clips so
//! the LJSpeech conversion decodes for real.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;
use tutti_media::encode::{Output, encoder_for};
use tutti_media::pcm::{AudioSpec, sine};
use tutti_media::presets::Preset;

use super::audio::Shared;
use super::*;

const MADE: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);
const SALT: &[u8] = b"server secret for campaign emotions";

/// Opus in Ogg, mono 48 kHz, `ms` long: a 220 Hz tone encoded by the media engine.
fn opus(ms: u64) -> Vec<u8> {
    static CACHE: OnceLock<Mutex<BTreeMap<u64, Vec<u8>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(bytes) = cache.lock().unwrap().get(&ms) {
        return bytes.clone();
    }
    let spec = AudioSpec::new(48_000, 1).unwrap();
    let file = Shared::default();
    let preset = Preset::by_name("speech-light").unwrap();
    let mut encoder = encoder_for(preset, spec, Output::seekable(file.clone())).unwrap();
    encoder
        .write(&sine(spec, 220.0, ms as f32 / 1000.0, 0.4))
        .unwrap();
    encoder.finish().unwrap();
    drop(encoder);
    let bytes = file.into_bytes();
    cache.lock().unwrap().insert(ms, bytes.clone());
    bytes
}

fn user(n: usize) -> String {
    format!("user{n}@example.org")
}

/// Seven speakers: five women in their thirties from the north (a group of five: kept),
/// two men (blanked), one of them in his sixties from the islands (blanked).
fn speakers() -> Vec<Speaker> {
    (1..=7)
        .map(|n| Speaker {
            user_id: user(n),
            demographics: match n {
                1..=5 => Demographics {
                    year_of_birth: Some(1990),
                    gender: Some("female".into()),
                    accent: Some("north".into()),
                },
                6 => Demographics {
                    year_of_birth: Some(1960),
                    gender: Some("male".into()),
                    accent: Some("islands".into()),
                },
                _ => Demographics {
                    year_of_birth: None,
                    gender: Some("male".into()),
                    accent: None,
                },
            },
        })
        .collect()
}

fn clip(n: usize, speaker: usize, status: ClipStatus, ms: u64, text: &str) -> Clip {
    let labels = [Some("happy"), Some("sad"), None];
    Clip {
        id: format!("c{n:02}"),
        speaker_user_id: user(speaker),
        session_id: format!("s{speaker}"),
        sentence_id: format!("sentence-{n}"),
        text: text.into(),
        label: labels[n % 3].map(String::from),
        language: "en".into(),
        duration_ms: ms,
        status,
        up_votes: 2,
        down_votes: u32::from(status == ClipStatus::Invalid) * 2,
        audio_key: format!("recital/clips/c{n:02}.ogg"),
    }
}

fn dataset() -> Dataset {
    use ClipStatus::*;
    let rows: [(usize, ClipStatus, u64, &str); 16] = [
        (1, Valid, 1000, "The sun rose over the hills."),
        (1, Valid, 1500, "Left | right, then \"home\"."),
        (1, Invalid, 1000, "A rejected take."),
        (1, Valid, 2000, "Numbers like 42 stay as they are."),
        (2, Valid, 1500, "Tabs\tand\nbreaks  in   text."),
        (2, Pending, 1000, "Nobody listened yet."),
        (2, Valid, 1000, "Second speaker, third clip."),
        (3, Valid, 1000, "Three."),
        (3, Valid, 1500, "Three again."),
        (4, Valid, 1000, "Four."),
        (4, Pending, 1500, "Four, pending."),
        (5, Valid, 2000, "Five."),
        (5, Valid, 1000, "Five again."),
        (6, Valid, 1500, "Six."),
        (6, Invalid, 1000, "Six, rejected."),
        (7, Valid, 1000, "Seven."),
    ];
    let clips = rows
        .iter()
        .enumerate()
        .map(|(i, (speaker, status, ms, text))| clip(i + 1, *speaker, *status, *ms, text))
        .collect();
    let sessions = (1..=4)
        .map(|n| LongSession {
            id: format!("session-{n}"),
            speaker_user_id: user(n),
            language: "en".into(),
            duration_ms: 60_000 * n as u64,
            audio_key: format!("recital/sessions/{n}/archive.flac"),
            vtt_key: format!("recital/sessions/{n}/transcript.vtt"),
        })
        .collect();
    Dataset {
        campaign: Campaign {
            slug: "emotions".into(),
            title: "Read with feeling".into(),
            languages: vec!["en".into()],
            licence: "CC0-1.0".into(),
            labels: vec!["happy".into(), "sad".into()],
            description: "Sentences read with an acted emotion.".into(),
        },
        speakers: speakers(),
        clips,
        sessions,
    }
}

/// The blob store: a clip's Opus, or a session's files.
fn blobs(dataset: &Dataset) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for c in &dataset.clips {
        out.insert(c.audio_key.clone(), opus(c.duration_ms));
    }
    for s in &dataset.sessions {
        out.insert(s.audio_key.clone(), format!("fLaC {}", s.id).into_bytes());
        out.insert(
            s.vtt_key.clone(),
            format!("WEBVTT\n\n00:00.000 --> 00:01.000\n{}\n", s.id).into_bytes(),
        );
    }
    out
}

fn request(format: Format, include_all: bool) -> Request {
    Request {
        format,
        include_all,
        salt: SALT.to_vec(),
    }
}

fn export(dataset: &Dataset, request: &Request) -> Result<(MemorySink, Summary), ExportError> {
    export_at(dataset, request, MADE)
}

fn export_at(
    dataset: &Dataset,
    request: &Request,
    made: OffsetDateTime,
) -> Result<(MemorySink, Summary), ExportError> {
    let store = blobs(dataset);
    let mut sink = MemorySink::default();
    let mut last = (0, 0);
    let summary = write_at(
        dataset,
        request,
        made,
        &mut sink,
        &mut |key| {
            store
                .get(key)
                .cloned()
                .ok_or_else(|| ExportError::Fetch(format!("no blob {key}")))
        },
        &mut |done, total| {
            assert_eq!(done, last.0 + 1, "one call per item");
            last = (done, total);
        },
    )?;
    assert_eq!(last.0, last.1, "progress reaches its total");
    assert_eq!(summary.files, sink.files.len() as u64);
    Ok((sink, summary))
}

fn sid(n: usize) -> String {
    speaker_id(SALT, &user(n))
}

/// Parses a CSV into its header and rows.
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn tsv_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect()
}

/// No file of the export names an account or holds a blanked value.
fn assert_private(sink: &MemorySink) {
    for (path, bytes) in &sink.files {
        if path.ends_with(".ogg") || path.ends_with(".wav") || path.ends_with(".flac") {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for secret in ["example.org", "user1", "islands", "sixties", "1990", "1960"] {
            assert!(!text.contains(secret), "{path} contains {secret}");
        }
        let male = text
            .split(['\t', ',', '\n', '|'])
            .any(|field| field == "male");
        assert!(!male, "{path}: two men are a group too small to publish");
    }
}

#[test]
fn audiofolder_layout_and_contents() {
    let ds = dataset();
    let (sink, summary) = export(&ds, &request(Format::AudioFolder, false)).unwrap();
    let valid: Vec<&Clip> = ds
        .clips
        .iter()
        .filter(|c| c.status == ClipStatus::Valid)
        .collect();
    assert_eq!(summary.clips, valid.len() as u64);
    assert_eq!(summary.speakers, 7);
    assert_eq!(summary.sessions, 0);
    let ms: u64 = valid.iter().map(|c| c.duration_ms).sum();
    assert!((summary.seconds - ms as f64 / 1000.0).abs() < 1e-9);
    assert_eq!(summary.splits.values().sum::<u64>(), valid.len() as u64);

    let mut seen_clips = BTreeSet::new();
    let mut speaker_split: BTreeMap<String, String> = BTreeMap::new();
    for split in ["train", "dev", "test"] {
        let Some(text) = sink.text(&format!("{split}/metadata.csv")) else {
            assert_eq!(summary.splits[split], 0, "{split}");
            continue;
        };
        let (header, rows) = read_csv(text);
        assert_eq!(
            header,
            [
                "file_name",
                "transcription",
                "label",
                "speaker_id",
                "age",
                "gender",
                "accent",
                "duration_s"
            ]
        );
        assert_eq!(rows.len() as u64, summary.splits[split]);
        let names: Vec<&String> = rows.iter().map(|r| &r[0]).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "rows are in clip id order");
        for row in rows {
            let id = row[0].strip_suffix(".ogg").unwrap();
            let clip = ds.clips.iter().find(|c| c.id == id).unwrap();
            assert_eq!(
                sink.files[&format!("{split}/{}", row[0])],
                opus(clip.duration_ms),
                "the clip as stored, beside its csv"
            );
            assert_eq!(row[1], clip.text);
            assert_eq!(row[2], clip.label.clone().unwrap_or_default());
            assert_eq!(row[3], speaker_id(SALT, &clip.speaker_user_id));
            assert_eq!(row[7], format!("{:.3}", clip.duration_ms as f64 / 1000.0));
            let previous = speaker_split.insert(row[3].clone(), split.to_string());
            assert!(
                previous.is_none_or(|p| p == split),
                "speaker {} is in two splits",
                row[3]
            );
            assert!(seen_clips.insert(id.to_string()));
            let n: usize = clip.speaker_user_id[4..5].parse().unwrap();
            let expected = if n <= 5 {
                ["thirties", "female", "north"]
            } else {
                ["", "", ""]
            };
            assert_eq!(&row[4..7], expected, "speaker {n}");
        }
    }
    assert_eq!(seen_clips.len(), valid.len(), "every clip, once");
    let expected_files = 1 + valid.len() + summary.splits.values().filter(|n| **n > 0).count();
    assert_eq!(sink.files.len(), expected_files);
    assert_private(&sink);
}

#[test]
fn a_campaign_without_labels_leaves_the_label_column_empty() {
    let mut ds = dataset();
    ds.campaign.labels.clear();
    let (sink, _) = export(&ds, &request(Format::AudioFolder, true)).unwrap();
    let (_, rows) = read_csv(sink.text("train/metadata.csv").unwrap());
    assert!(rows.iter().all(|r| r[2].is_empty()));
    let readme = sink.text("README.md").unwrap();
    assert!(!readme.contains("By label"), "{readme}");
}

/// The format, channels, rate and bits of a WAV, and its frames.
fn wav_info(bytes: &[u8]) -> (u16, u16, u32, u16, u64) {
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let mut at = 12;
    let mut fmt = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32_at(at + 4) as usize;
        if id == b"fmt " {
            fmt = Some((
                u16_at(at + 8),
                u16_at(at + 10),
                u32_at(at + 12),
                u16_at(at + 22),
            ));
        }
        if id == b"data" {
            let (tag, channels, rate, bits) = fmt.expect("fmt comes before data");
            let frames = len as u64 / u64::from(channels * bits / 8);
            assert_eq!(at + 8 + len, bytes.len(), "the data chunk ends the file");
            return (tag, channels, rate, bits, frames);
        }
        at += 8 + len + len % 2;
    }
    panic!("no data chunk");
}

#[test]
fn ljspeech_converts_to_22050_hz_wav_and_keeps_lines_whole() {
    let ds = dataset();
    let (sink, summary) = export(&ds, &request(Format::LjSpeech, false)).unwrap();
    let valid: Vec<&Clip> = ds
        .clips
        .iter()
        .filter(|c| c.status == ClipStatus::Valid)
        .collect();
    for clip in &valid {
        let wav = &sink.files[&format!("wavs/{}.wav", clip.id)];
        let (tag, channels, rate, bits, frames) = wav_info(wav);
        assert_eq!(
            (tag, channels, rate, bits),
            (1, 1, 22_050, 16),
            "{}",
            clip.id
        );
        let want = clip.duration_ms as f64 * 22.05;
        assert!(
            (frames as f64 - want).abs() <= want * 0.01,
            "{}: {frames} frames for {} ms",
            clip.id,
            clip.duration_ms
        );
    }

    let metadata = sink.text("metadata.csv").unwrap();
    let lines: Vec<&str> = metadata.lines().collect();
    assert_eq!(lines.len(), valid.len(), "no header, one line per clip");
    assert!(
        lines.iter().all(|l| l.split('|').count() == 3),
        "{metadata}"
    );
    assert!(
        lines.contains(&"c02|Left   right, then \"home\".|Left right, then \"home\"."),
        "{metadata}"
    );
    assert!(
        lines.contains(&"c05|Tabs\tand breaks  in   text.|Tabs and breaks in text."),
        "{metadata}"
    );
    assert!(
        lines.contains(&"c04|Numbers like 42 stay as they are.|Numbers like 42 stay as they are.")
    );

    let (header, rows) = read_csv(sink.text("splits.csv").unwrap());
    assert_eq!(header, ["id", "split"]);
    assert_eq!(rows.len(), valid.len());
    let order = |s: &str| Split::ALL.iter().position(|x| x.as_str() == s).unwrap();
    let keys: Vec<(usize, &str)> = rows.iter().map(|r| (order(&r[1]), r[0].as_str())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by split, then id");
    let ids: Vec<&str> = lines.iter().map(|l| l.split('|').next().unwrap()).collect();
    assert_eq!(ids, keys.iter().map(|k| k.1).collect::<Vec<_>>());
    for split in Split::ALL {
        let n = rows.iter().filter(|r| r[1] == split.as_str()).count() as u64;
        assert_eq!(summary.splits[split.as_str()], n);
    }

    let readme = sink.text("README.md").unwrap();
    assert!(readme.contains("replaced with a space"), "{readme}");
    assert!(readme.contains("2 clip(s) had one"), "{readme}");
    assert_private(&sink);
}

#[test]
fn commonvoice_sorts_clips_by_status_and_splits_validated_ones() {
    let ds = dataset();
    let (sink, summary) = export(&ds, &request(Format::CommonVoice, true)).unwrap();
    let count = |s| ds.clips.iter().filter(|c| c.status == s).count();
    let header = sink.text("validated.tsv").unwrap().lines().next().unwrap();
    assert_eq!(
        header,
        "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\t\
         gender\taccents\tvariant\tlocale\tsegment\tlabel"
    );
    let validated = tsv_rows(sink.text("validated.tsv").unwrap());
    assert_eq!(validated.len(), count(ClipStatus::Valid));
    assert_eq!(
        tsv_rows(sink.text("invalidated.tsv").unwrap()).len(),
        count(ClipStatus::Invalid)
    );
    assert_eq!(
        tsv_rows(sink.text("other.tsv").unwrap()).len(),
        count(ClipStatus::Pending)
    );
    let mut in_splits = BTreeSet::new();
    let mut speaker_split = BTreeMap::new();
    for split in ["train", "dev", "test"] {
        let rows = tsv_rows(sink.text(&format!("{split}.tsv")).unwrap());
        assert_eq!(rows.len() as u64, summary.splits[split]);
        for row in rows {
            assert_eq!(row.len(), 14);
            assert!(
                validated.contains(&row),
                "train/dev/test come from validated"
            );
            assert!(in_splits.insert(row[1]));
            let previous = speaker_split.insert(row[0], split);
            assert!(
                previous.is_none_or(|p| p == split),
                "{} in two splits",
                row[0]
            );
        }
    }
    assert_eq!(in_splits.len(), validated.len());
    assert_eq!(summary.clips as usize, ds.clips.len());
    for c in &ds.clips {
        assert_eq!(
            sink.files[&format!("clips/{}.ogg", c.id)],
            opus(c.duration_ms)
        );
    }

    let row = validated.iter().find(|r| r[1] == "c05.ogg").unwrap();
    assert_eq!(
        row,
        &[
            sid(2).as_str(),
            "c05.ogg",
            "sentence-5",
            "Tabs and breaks  in   text.",
            "",
            "2",
            "0",
            "thirties",
            "female",
            "north",
            "",
            "en",
            "",
            "",
        ]
    );
    let durations = sink.text("clip_durations.tsv").unwrap();
    assert!(durations.starts_with("clip\tduration[ms]\nc01.ogg\t1000\nc02.ogg\t1500\n"));
    assert_eq!(durations.lines().count(), ds.clips.len() + 1);
    let readme = sink.text("README.md").unwrap();
    assert!(readme.contains("| invalidated | 2 |"), "{readme}");
    assert_private(&sink);
}

#[test]
fn commonvoice_without_labels_has_exactly_its_columns() {
    let mut ds = dataset();
    ds.campaign.labels.clear();
    let (sink, _) = export(&ds, &request(Format::CommonVoice, false)).unwrap();
    let columns = "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\t\
                   down_votes\tage\tgender\taccents\tvariant\tlocale\tsegment\n";
    for file in ["validated", "invalidated", "other", "train", "dev", "test"] {
        let text = sink.text(&format!("{file}.tsv")).unwrap();
        assert!(text.starts_with(columns), "{file}: {text}");
    }
    assert_eq!(
        sink.text("invalidated.tsv").unwrap(),
        columns,
        "validated only"
    );
    assert_eq!(sink.text("other.tsv").unwrap(), columns);
    let clips = sink
        .files
        .keys()
        .filter(|k| k.starts_with("clips/"))
        .count();
    assert_eq!(clips, 12);
}

#[test]
fn validated_only_and_all_clips() {
    let ds = dataset();
    for format in [Format::AudioFolder, Format::LjSpeech, Format::CommonVoice] {
        let (_, only) = export(&ds, &request(format, false)).unwrap();
        let (sink, all) = export(&ds, &request(format, true)).unwrap();
        assert_eq!(only.clips, 12, "{format}");
        assert_eq!(all.clips, 16, "{format}");
        let readme = sink.text("README.md").unwrap();
        assert!(readme.contains("all clips: validated, invalidated and not yet reviewed"));
        if format != Format::CommonVoice {
            assert_eq!(
                all.splits.values().sum::<u64>(),
                16,
                "{format}: all in splits"
            );
        } else {
            assert_eq!(
                all.splits.values().sum::<u64>(),
                12,
                "validated only in splits"
            );
        }
    }
}

#[test]
fn longform_writes_sessions_with_their_transcripts() {
    let ds = dataset();
    let (sink, summary) = export(&ds, &request(Format::LongForm, false)).unwrap();
    assert_eq!(
        (summary.sessions, summary.clips, summary.speakers),
        (4, 0, 4)
    );
    assert_eq!(summary.seconds, 600.0);
    assert_eq!(sink.files.len(), 1 + 1 + 4 * 2);
    let (header, rows) = read_csv(sink.text("metadata.csv").unwrap());
    assert_eq!(
        header,
        [
            "session",
            "speaker_id",
            "language",
            "duration_s",
            "audio",
            "transcript",
            "split"
        ]
    );
    assert_eq!(rows.len(), 4);
    let splits: BTreeSet<&str> = rows.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(splits.len(), 3, "four speakers fill three splits");
    for row in &rows {
        let n: usize = row[0].strip_prefix("session-").unwrap().parse().unwrap();
        assert_eq!(row[1], sid(n));
        assert_eq!(row[3], format!("{}.000", 60 * n));
        assert_eq!(sink.files[&row[4]], format!("fLaC {}", row[0]).into_bytes());
        assert!(sink.text(&row[5]).unwrap().starts_with("WEBVTT"));
        assert_eq!(row[4], format!("{}/audio.flac", row[0]));
        assert_eq!(row[5], format!("{}/transcript.vtt", row[0]));
    }
    let readme = sink.text("README.md").unwrap();
    assert!(
        readme.contains("- Sessions: 4") && readme.contains("- Hours: 0.17"),
        "{readme}"
    );
    assert_private(&sink);
}

#[test]
fn an_empty_selection_says_which_filter_left_nothing() {
    let mut ds = dataset();
    for c in &mut ds.clips {
        if c.status == ClipStatus::Valid {
            c.status = ClipStatus::Pending;
        }
    }
    let err = export(&ds, &request(Format::AudioFolder, false)).unwrap_err();
    let ExportError::Empty(why) = &err else {
        panic!("{err:?}")
    };
    assert!(
        why.contains("validated") && why.contains("14 pending"),
        "{why}"
    );
    assert_eq!(err.code(), "export-empty");
    assert!(export(&ds, &request(Format::AudioFolder, true)).is_ok());

    ds.sessions.clear();
    let err = export(&ds, &request(Format::LongForm, false)).unwrap_err();
    assert!(
        matches!(&err, ExportError::Empty(why) if why.contains("sessions")),
        "{err}"
    );
    ds.clips.clear();
    let err = export(&ds, &request(Format::CommonVoice, true)).unwrap_err();
    assert!(
        matches!(&err, ExportError::Empty(why) if why.contains("no clips")),
        "{err}"
    );
}

#[test]
fn the_same_input_gives_the_same_bytes_apart_from_the_date() {
    let ds = dataset();
    for format in Format::ALL {
        let (a, _) = export(&ds, &request(format, true)).unwrap();
        let (b, _) = export(&ds, &request(format, true)).unwrap();
        assert_eq!(a.files, b.files, "{format}");
        let (c, _) =
            export_at(&ds, &request(format, true), datetime!(2025-12-31 23:59 UTC)).unwrap();
        assert_eq!(
            a.files.keys().collect::<Vec<_>>(),
            c.files.keys().collect::<Vec<_>>()
        );
        for (path, bytes) in &a.files {
            if path != "README.md" {
                assert_eq!(bytes, &c.files[path], "{format} {path}");
            }
        }
        let (ra, rc) = (a.text("README.md").unwrap(), c.text("README.md").unwrap());
        let differ: Vec<(&str, &str)> =
            ra.lines().zip(rc.lines()).filter(|(x, y)| x != y).collect();
        assert_eq!(
            differ,
            [(
                "| Made | 2025-06-01 12:00 UTC |",
                "| Made | 2025-12-31 23:59 UTC |"
            )]
        );
    }
}

#[test]
fn the_datasheet_says_what_the_data_is() {
    let ds = dataset();
    let (sink, summary) = export(&ds, &request(Format::AudioFolder, false)).unwrap();
    let readme = sink.text("README.md").unwrap();
    let hours = format!("- Hours: {:.2}", summary.seconds / 3600.0);
    for want in [
        "# Read with feeling",
        "Sentences read with an acted emotion.",
        "`audiofolder`",
        "validated clips only",
        "| Licence | CC0-1.0 |",
        "| Languages | en |",
        "- Clips: 12",
        "- Speakers: 7",
        hours.as_str(),
        "| split | clips | speakers | hours |",
        "| label | clips | speakers | hours |",
        "| happy |",
        "| (none) |",
        "HMAC-SHA256",
        "cannot be turned back into an account without the server's secret",
        "fewer than 5 speakers",
        "speaker-disjoint",
        "| Made | 2025-06-01 12:00 UTC |",
    ] {
        assert!(readme.contains(want), "missing {want:?} in\n{readme}");
    }
    let train = summary.splits["train"];
    assert!(readme.contains(&format!("| train | {train} |")), "{readme}");
}

#[test]
fn fetch_failures_name_the_clip() {
    let ds = dataset();
    let mut sink = MemorySink::default();
    let err = write_at(
        &ds,
        &request(Format::CommonVoice, false),
        MADE,
        &mut sink,
        &mut |key| Err(ExportError::Fetch(format!("{key} is gone"))),
        &mut |_, _| {},
    )
    .unwrap_err();
    let ExportError::Fetch(why) = err else {
        panic!("{err:?}")
    };
    assert!(
        why.starts_with("clip c01 (`recital/clips/c01.ogg`)"),
        "{why}"
    );
}

#[test]
fn broken_audio_is_a_media_error_naming_the_clip() {
    let ds = dataset();
    let mut sink = MemorySink::default();
    let err = write_at(
        &ds,
        &request(Format::LjSpeech, false),
        MADE,
        &mut sink,
        &mut |_| Ok(b"OggS but not really".to_vec()),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        matches!(&err, ExportError::Media(what, _) if what == "clip c01"),
        "{err}"
    );
}

#[test]
fn ids_that_cannot_be_file_names_are_refused() {
    for bad in ["../up", "a/b", "", ".hidden", "sp ace"] {
        let mut ds = dataset();
        ds.clips[3].id = bad.into();
        let err = export(&ds, &request(Format::AudioFolder, true)).unwrap_err();
        assert!(matches!(err, ExportError::Invalid(_)), "{bad}: {err}");
    }
    let mut ds = dataset();
    ds.clips[3].id = ds.clips[0].id.clone();
    assert!(matches!(
        export(&ds, &request(Format::AudioFolder, true)),
        Err(ExportError::Invalid(_))
    ));
}

#[test]
fn an_export_goes_into_a_tar_gz() {
    let ds = dataset();
    let store = blobs(&ds);
    let mut sink = TarGzSink::new(Vec::new()).with_root("emotions").unwrap();
    let summary = write_at(
        &ds,
        &request(Format::CommonVoice, true),
        MADE,
        &mut sink,
        &mut |key| Ok(store[key].clone()),
        &mut |_, _| {},
    )
    .unwrap();
    let bytes = sink.into_inner().unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len() as u64, summary.files);
    assert_eq!(names[0], "emotions/README.md");
    assert!(names.contains(&"emotions/clips/c16.ogg".to_string()));
}

#[test]
fn formats_have_names() {
    for format in Format::ALL {
        assert_eq!(format.to_string().parse::<Format>().unwrap(), format);
        let json = serde_json::to_string(&format).unwrap();
        assert_eq!(json, format!("\"{format}\""));
        assert_eq!(serde_json::from_str::<Format>(&json).unwrap(), format);
    }
    assert_eq!("ljspeech".parse::<Format>().unwrap(), Format::LjSpeech);
    let err = "mp3".parse::<Format>().unwrap_err().to_string();
    assert!(err.contains("mp3") && err.contains("audiofolder"), "{err}");
    assert_eq!(
        serde_json::to_string(&ClipStatus::Pending).unwrap(),
        "\"pending\""
    );
}

#[test]
fn the_salt_stays_out_of_logs() {
    let debug = format!("{:?}", request(Format::LongForm, false));
    assert!(
        !debug.contains("secret") && debug.contains("35 bytes"),
        "{debug}"
    );
}

fn arbitrary_dataset() -> impl Strategy<Value = (Dataset, Format, bool)> {
    let status = prop_oneof![
        Just(ClipStatus::Valid),
        Just(ClipStatus::Invalid),
        Just(ClipStatus::Pending)
    ];
    let clips = prop::collection::vec((0usize..12, status, 100u64..20_000), 1..80);
    let sessions = prop::collection::vec((0usize..6, 1_000u64..600_000), 1..12);
    let format = prop_oneof![
        Just(Format::AudioFolder),
        Just(Format::LjSpeech),
        Just(Format::CommonVoice),
        Just(Format::LongForm)
    ];
    (clips, sessions, format, any::<bool>()).prop_map(|(clips, sessions, format, all)| {
        let mut ds = Dataset {
            speakers: (0..12)
                .map(|n| Speaker {
                    user_id: user(n),
                    demographics: Demographics::default(),
                })
                .collect(),
            ..Dataset::default()
        };
        for (i, (speaker, status, ms)) in clips.into_iter().enumerate() {
            ds.clips.push(clip(i, speaker, status, ms, "text"));
        }
        for (i, (speaker, ms)) in sessions.into_iter().enumerate() {
            ds.sessions.push(LongSession {
                id: format!("session-{i}"),
                speaker_user_id: user(speaker),
                language: "en".into(),
                duration_ms: ms,
                audio_key: String::new(),
                vtt_key: String::new(),
            });
        }
        (ds, format, all)
    })
}

proptest! {
    #[test]
    fn splits_are_speaker_disjoint_and_cover_every_item((ds, format, all) in arbitrary_dataset()) {
        let req = request(format, all);
        let plan = match plan(&ds, &req, 2025) {
            Ok(plan) => plan,
            Err(ExportError::Empty(_)) => {
                prop_assert!(!all && ds.clips.iter().all(|c| c.status != ClipStatus::Valid));
                return Ok(());
            }
            Err(e) => panic!("{e}"),
        };
        let mut split_of: BTreeMap<&str, Split> = BTreeMap::new();
        let mut assigned = |speaker: &str, split: Split| -> Result<(), TestCaseError> {
            let speaker = plan.speakers.get_key_value(speaker).unwrap().0.as_str();
            let previous = *split_of.entry(speaker).or_insert(split);
            prop_assert_eq!(previous, split, "speaker {} is in two splits", speaker);
            Ok(())
        };
        if format == Format::LongForm {
            prop_assert_eq!(plan.sessions.len(), ds.sessions.len());
            for s in &plan.sessions {
                assigned(&s.speaker, s.split)?;
            }
        } else {
            let selected = ds.clips.iter().filter(|c| all || c.status == ClipStatus::Valid).count();
            prop_assert_eq!(plan.clips.len(), selected, "every selected clip, once");
            for c in &plan.clips {
                let eligible = format != Format::CommonVoice || c.clip.status == ClipStatus::Valid;
                prop_assert_eq!(c.split.is_some(), eligible, "clip {}", &c.clip.id);
                if let Some(split) = c.split {
                    assigned(&c.speaker, split)?;
                }
            }
        }
        prop_assert!(split_of.is_empty() || split_of.values().any(|s| *s == Split::Train));
        let keys: Vec<(Option<Split>, &str)> =
            plan.clips.iter().map(|c| (c.split, c.clip.id.as_str())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);
    }
}
