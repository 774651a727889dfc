//! Tutti's media engine: everything the studios do to audio and pictures, as a pure
//! library over byte slices, readers and writers (no database, no HTTP). Probe a file,
//! decode any format users bring to interleaved `f32` PCM in constant memory, join
//! recorded chunks, resample and remix, encode to archive and web formats from a shared
//! preset table, analyse loudness and quality, draw waveforms, write and read WebVTT, and
//! make cover-art variants.
//!
//! Audio flows as blocks of interleaved samples from a [`PcmSource`] to one or more
//! [`PcmSink`]s, so a file is decoded once however many outputs and analyses it feeds,
//! and nothing holds a whole file in memory.

#![forbid(unsafe_code)]

// Damaged uploads reach codecs with bugs; the engine contains their panics with
// `catch_unwind` (decode.rs), which does nothing under `panic = "abort"`.
#[cfg(panic = "abort")]
compile_error!(
    "tutti-media needs panic = \"unwind\": it contains panics inside codecs with catch_unwind"
);

pub mod analyse;
pub mod concat;
pub mod cut;
pub mod decode;
pub(crate) mod ebml;
pub mod encode;
pub mod error;
pub mod image;
pub mod pcm;
pub mod presets;
pub mod probe;
pub mod resample;
pub mod transcode;
pub mod vtt;
pub mod waveform;

pub use error::MediaError;
pub use pcm::{AudioSpec, PcmSink, PcmSource};

/// Results of this crate.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
