//! Panic containment: the engine turns a panic inside a codec (symphonia, opus-pure) into
//! a decode error with `catch_unwind`, which only works while panics unwind. A profile
//! that sets `panic = "abort"` would silently turn every such damaged upload into a crashed
//! server, so this is checked three ways: the library refuses to compile under
//! `panic = "abort"` (a `compile_error!` in lib.rs), the workspace's profiles are read
//! here, and a real panic inside a decode is shown to be contained.

use std::cell::Cell;
use std::path::Path;

use tutti_media::decode::Decoder;
use tutti_media::pcm::PcmSource;

#[test]
fn this_build_unwinds() {
    const { assert!(cfg!(panic = "unwind")) };
}

/// Every `[profile.*]` (and per-package override) in the workspace manifest and in this
/// crate's own manifest keeps the default `panic = "unwind"`.
#[test]
fn no_profile_sets_panic_abort() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for manifest in [
        root.join("Cargo.toml"),
        root.join("crates/media/Cargo.toml"),
    ] {
        let text = std::fs::read_to_string(&manifest).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        let Some(profiles) = doc.get("profile").and_then(|p| p.as_table()) else {
            continue;
        };
        let mut settings = Vec::new();
        for (name, profile) in profiles {
            let profile = profile.as_table().unwrap();
            settings.push((name.clone(), profile.get("panic")));
            if let Some(packages) = profile.get("package").and_then(|p| p.as_table()) {
                for (package, table) in packages {
                    settings.push((format!("{name}.package.{package}"), table.get("panic")));
                }
            }
        }
        for (name, panic) in settings {
            assert!(
                panic.is_none_or(|p| p.as_str() == Some("unwind")),
                "[profile.{name}] in {} sets panic = {panic:?}: tutti-media contains codec \
                 panics with catch_unwind, which needs panic = \"unwind\"",
                manifest.display()
            );
        }
    }
}

thread_local! {
    /// Panics on this thread while it counts them (`None`: not counting).
    static PANICS_HERE: Cell<Option<u32>> = const { Cell::new(None) };
}

/// A file the fuzzer found that makes symphonia's MS ADPCM decoder panic: the panic
/// happens (counted by a hook for this thread) and the decode still ends in a value, not
/// an unwinding test.
#[test]
fn a_panic_inside_a_codec_is_contained() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        match PANICS_HERE.with(Cell::get) {
            Some(n) => PANICS_HERE.with(|c| c.set(Some(n + 1))),
            // Other threads' panics (a failing test) are reported as usual.
            None => previous(info),
        }
    }));
    PANICS_HERE.with(|c| c.set(Some(0)));
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/any--fuzz-adpcm-ms-panic.wav");
    let outcome = Decoder::open_path(&file).map(|mut decoder| {
        let mut frames = 0;
        loop {
            match decoder.read() {
                Ok(Some(block)) => frames += block.len(),
                Ok(None) => break Ok(frames),
                Err(e) => break Err(e),
            }
        }
    });
    let panics = PANICS_HERE.with(|c| c.take()).unwrap_or(0);
    assert!(
        panics > 0,
        "the ADPCM file no longer panics inside symphonia (outcome {outcome:?}); \
         pick another input that does, so containment stays tested"
    );
    // Contained: we got here, with an error or some audio.
    eprintln!("{panics} panic(s) contained, outcome {outcome:?}");
}
