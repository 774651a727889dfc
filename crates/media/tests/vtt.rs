//! WebVTT as the recital studio uses it: subtitles of read texts in any script written
//! and read back unchanged, files people bring read or refused with the line at fault.

use std::time::Duration;

use proptest::prelude::*;
use tutti_media::MediaError;
use tutti_media::vtt::{Cue, parse, write};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn cue(start: u64, end: u64, text: &str) -> Cue {
    Cue {
        id: None,
        start: ms(start),
        end: ms(end),
        text: text.into(),
        settings: None,
    }
}

/// The message of a parse error, which must be `Corrupt`.
fn refusal(file: &str) -> String {
    match parse(file) {
        Err(MediaError::Corrupt(message)) => message,
        other => panic!("expected a Corrupt error for {file:?}, got {other:?}"),
    }
}

#[test]
fn right_to_left_texts_and_markup_characters_are_written_escaped() {
    let cues = vec![
        Cue {
            id: Some("שורה 1".into()),
            ..cue(0, 2_500, "שלום עולם & <ברוכים> הבאים")
        },
        cue(2_500, 61_000, "אַ גוטן טאָג\nאיך הייס <משה>"),
        Cue {
            settings: Some("align:end".into()),
            ..cue(
                3_723_004,
                3_725_000,
                "مرحبا بالعالم -> 3 < 4 && 5 > 2 --> نهاية",
            )
        },
    ];
    let expected = "WEBVTT\n\
        \n\
        שורה 1\n\
        00:00:00.000 --> 00:00:02.500\n\
        שלום עולם &amp; &lt;ברוכים&gt; הבאים\n\
        \n\
        00:00:02.500 --> 00:01:01.000\n\
        אַ גוטן טאָג\n\
        איך הייס &lt;משה&gt;\n\
        \n\
        01:02:03.004 --> 01:02:05.000 align:end\n\
        مرحبا بالعالم -&gt; 3 &lt; 4 &amp;&amp; 5 &gt; 2 --&gt; نهاية\n";
    let written = write(&cues).unwrap();
    assert_eq!(written, expected);
    assert_eq!(parse(&written).unwrap(), cues);
}

#[test]
fn a_file_from_elsewhere_is_read_with_its_comments_styles_and_markup_dropped() {
    let file = "\u{feff}WEBVTT - subtitles of a recital\r\n\
        Kind: captions\r\n\
        Language: he\r\n\
        \r\n\
        STYLE\r\n\
        ::cue { color: yellow }\r\n\
        \r\n\
        REGION\r\n\
        id:bottom width:40%\r\n\
        \r\n\
        NOTE written by hand,\r\n\
        over two lines\r\n\
        \r\n\
        \r\n\
        intro\r\n\
        00:01.000 --> 00:04.250\tline:0 align:start\r\n\
        <v Miriam>ברוכים הבאים</v> &amp; <i>welcome</i>&nbsp;&lrm;&#x5D0;&#1488; a&b\r\n\
        \r\n\
        NOTE\r\n\
        \r\n\
        00:00:04.250  -->  00:00:04.250\r\n\
        \r\n\
        100:00:00.000 --> 100:00:01.000\r\n\
        last <00:00:00.500>words\r\n\
        \r\n";
    let cues = parse(file).unwrap();
    assert_eq!(
        cues,
        vec![
            Cue {
                id: Some("intro".into()),
                settings: Some("line:0 align:start".into()),
                ..cue(1_000, 4_250, "ברוכים הבאים & welcome\u{a0}\u{200e}אא a&b")
            },
            cue(4_250, 4_250, ""),
            cue(360_000_000, 360_001_000, "last words"),
        ]
    );
}

#[test]
fn cr_alone_ends_lines_too() {
    let cues = parse("WEBVTT\r\r00:00.000 --> 00:01.000\rone\rtwo\r").unwrap();
    assert_eq!(cues, vec![cue(0, 1_000, "one\ntwo")]);
    assert_eq!(parse("WEBVTT").unwrap(), vec![]);
    assert_eq!(parse("WEBVTT\tno cues\n\n\n").unwrap(), vec![]);
}

#[test]
fn broken_files_are_refused_with_the_line_and_the_rule() {
    let cases = [
        ("", "line 1: a WebVTT file starts with `WEBVTT`"),
        ("WEBVTTX\n", "line 1: a WebVTT file starts with `WEBVTT`"),
        (
            "1\n00:00.000 --> 00:01.000\n",
            "line 1: a WebVTT file starts",
        ),
        (
            "WEBVTT\n00:00.000 --> 00:01.000\nhi\n",
            "line 2: a cue must be separated from the `WEBVTT` line by a blank line",
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\none\n00:01.000 --> 00:02.000\ntwo\n",
            "line 5: cue text must not contain `-->`",
        ),
        (
            "WEBVTT\n\n00:02.000 --> 00:01.000\n",
            "line 3: the cue ends (00:00:01.000) before it starts (00:00:02.000)",
        ),
        (
            "WEBVTT\n\n00:05.000 --> 00:06.000\na\n\n00:04.000 --> 00:07.000\nb\n",
            "line 6: this cue starts (00:00:04.000) before the cue before it (00:00:05.000)",
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\na\n\nSTYLE\n::cue {}\n",
            "line 6: STYLE blocks must come before the first cue",
        ),
        (
            "WEBVTT\n\nNOTE a\n00:00.000 --> 00:01.000 is not a cue here\nb\n",
            // A first line before a timing line is the cue's id, whatever it says.
            "line 4: the cue setting `is` is not `name:value`",
        ),
        (
            "WEBVTT\n\nNOTE\nfirst\nthen 00:00.000 --> 00:01.000\n",
            "line 5: a NOTE block must not contain `-->`",
        ),
        (
            "WEBVTT\n\n0:00.000 --> 00:01.000\n",
            "line 3: `0:00.000` is not a timestamp",
        ),
        (
            "WEBVTT\n\n00:00:60.000 --> 00:01:00.000\n",
            "line 3: `00:00:60.000` has minutes or seconds above 59",
        ),
        (
            "WEBVTT\n\n00:00.00 --> 00:01.000\n",
            "line 3: `00:00.00` is not a timestamp",
        ),
        (
            "WEBVTT\n\n00:00.000-->00:01.000\n",
            "line 3: `-->` needs a space or tab on each side",
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000 colour:red\n",
            "line 3: `colour` is not a cue setting",
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000 align:start align:end\n",
            "line 3: the cue setting `align` is given twice",
        ),
        (
            "WEBVTT\n\nid\n00:00.000 --> 00:01.000\n2 <3 and 4\n",
            "line 5: `<` starts a tag that is never closed",
        ),
        (
            "WEBVTT\n\njust some text\n",
            "line 3: expected a cue timing line like `00:00:01.000 --> 00:00:02.500`",
        ),
        (
            "WEBVTT\n\n99999999999999999999:00:00.000 --> 99999999999999999999:00:01.000\n",
            "line 3: `99999999999999999999:00:00.000` is not a timestamp",
        ),
    ];
    for (file, expected) in cases {
        let message = refusal(file);
        assert!(
            message.starts_with(expected),
            "{file:?}\n  said:     {message}\n  expected: {expected}…"
        );
    }
}

#[test]
fn cues_that_cannot_be_read_back_are_not_written() {
    let cases = [
        (
            vec![Cue {
                id: Some("a --> b".into()),
                ..cue(0, 1, "x")
            }],
            "cue 1: its id \"a --> b\" holds a line break or `-->`",
        ),
        (
            vec![Cue {
                id: Some(String::new()),
                ..cue(0, 1, "x")
            }],
            "cue 1: its id is empty",
        ),
        (
            vec![cue(0, 1, "x"), cue(0, 1, "first\n\nthird")],
            "cue 2: line 2 of its text is empty",
        ),
        (
            vec![cue(5, 1, "x")],
            "cue 1: it ends (00:00:00.001) before it starts (00:00:00.005)",
        ),
        (
            vec![cue(5, 6, "x"), cue(4, 6, "y")],
            "cue 2: it starts (00:00:00.004) before the cue before it (00:00:00.005)",
        ),
        (
            vec![Cue {
                settings: Some("align".into()),
                ..cue(0, 1, "x")
            }],
            "cue 1: the cue setting `align` is not `name:value`",
        ),
    ];
    for (cues, expected) in cases {
        match write(&cues) {
            Err(MediaError::Corrupt(message)) => assert!(
                message.starts_with(expected),
                "said: {message}\nexpected: {expected}…"
            ),
            other => panic!("expected a Corrupt error for {cues:?}, got {other:?}"),
        }
    }
}

#[test]
fn cues_travel_in_json_with_times_in_seconds() {
    let json = serde_json::to_value(cue(1_500, 2_250, "שלום")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"id": null, "start": 1.5, "end": 2.25, "text": "שלום", "settings": null})
    );
    let back: Cue = serde_json::from_value(json).unwrap();
    assert_eq!(back, cue(1_500, 2_250, "שלום"));
}

/// Cues that a writer can write: times in milliseconds with non-decreasing starts, ids
/// and text lines of any characters but line breaks (and no `-->` in ids).
fn cues() -> impl Strategy<Value = Vec<Cue>> {
    let id = proptest::option::of("[^\r\n]{1,12}".prop_filter("no arrow", |s| !s.contains("-->")));
    let text = proptest::collection::vec("[^\r\n]{1,16}", 0..4).prop_map(|l| l.join("\n"));
    let settings = proptest::option::of(proptest::sample::select(vec![
        "align:start",
        "line:0 position:10%",
        "vertical:rl size:50% region:r1",
    ]));
    let one = (id, 0u64..5_000_000, 0u64..100_000, text, settings);
    proptest::collection::vec(one, 0..8).prop_map(|raw| {
        let mut start = 0;
        raw.into_iter()
            .map(|(id, gap, length, text, settings)| {
                start += gap;
                Cue {
                    id,
                    start: ms(start),
                    end: ms(start + length),
                    text,
                    settings: settings.map(String::from),
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn what_is_written_is_read_back_unchanged(cues in cues()) {
        let written = write(&cues).unwrap();
        prop_assert_eq!(parse(&written).unwrap(), cues);
    }

    #[test]
    fn any_text_at_all_is_parsed_or_refused_without_panicking(text in "(?s).{0,200}") {
        let _ = parse(&text);
        let _ = parse(&format!("WEBVTT\n\n{text}"));
    }
}
