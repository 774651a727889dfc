//! A studio's own settings: `[studios.<name>]`, read by the studio with its defaults,
//! checked when the server starts.

use reqwest::StatusCode;
use serde_json::json;
use tutti_server::Settings;
use tutti_server::app::spawn_studios_for_tests;

use crate::helpers::*;
use crate::rehearsal::{Rehearsal, RehearsalSettings};

#[tokio::test]
async fn a_studio_runs_with_its_section_of_the_settings() {
    let app = spawn_app_with(|s| {
        s.studios
            .insert("rehearsal".into(), json!({ "motto": "Sing out, Louise" }));
    })
    .await;
    let speaker = app.signed_in("speaker@example.test", &[SPEAKER]).await;
    let room = speaker.get("/rehearsal").await;
    assert_eq!(room.status(), StatusCode::OK);
    assert!(room.text().await.unwrap().contains("Sing out, Louise"));

    // What the section leaves out keeps its default.
    let mut settings = Settings::with_data_dir("/nonexistent");
    settings
        .studios
        .insert("rehearsal".into(), json!({ "motto": "Hum" }));
    let read: RehearsalSettings = settings.studio("rehearsal").unwrap();
    assert_eq!(read.max_notes, RehearsalSettings::default().max_notes);
    assert_eq!(read.motto, "Hum");
}

#[test]
fn a_wrong_or_unknown_setting_is_named() {
    let mut settings = Settings::with_data_dir("/nonexistent");
    for (section, named) in [
        (json!({ "volume": 11 }), "studios.rehearsal.volume"),
        (
            json!({ "max_notes": "many" }),
            "studios.rehearsal.max_notes",
        ),
        (json!("loud"), "[studios.rehearsal]"),
    ] {
        settings.studios.insert("rehearsal".into(), section);
        let error = Rehearsal::new(&settings)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains(named), "{named} in {error}");
    }
}

#[tokio::test]
async fn a_section_no_studio_reads_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::with_data_dir(dir.path());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings
        .studios
        .insert("rehersal".into(), json!({ "motto": "typo" }));
    let studio = Rehearsal::new(&settings).unwrap();
    let error = spawn_studios_for_tests(settings, vec![Box::new(studio)])
        .await
        .err()
        .expect("a misspelt section is refused")
        .to_string();
    assert!(
        error.contains("[studios.rehersal]") && error.contains("rehearsal"),
        "{error}"
    );
    assert!(
        !dir.path().join("tutti.db").exists(),
        "refused before the database is made"
    );
}
