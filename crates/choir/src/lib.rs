//! The choir studio: singing together over ordinary internet connections, "bucket
//! brigade" style. Singers sit in a chain of buckets a few seconds apart on one shared
//! timeline; each hears everyone in earlier buckets, in time, whatever their network.
//!
//! This crate owns the engine, independent of any transport: `timeline` is the shared
//! mix (a circular buffer of 48 kHz samples on the server's clock), and `domain` the
//! room's rules (buckets and the leader, the song and its rounds, metronome and backing
//! track, the mixing console, lag, the recording and each singer's aligned stem).
//! `mixer` decodes each voice once and encodes each bucket's mix once (Opus).
//! `protocol` is the versioned wire format (binary audio frames, JSON control messages)
//! that the WebSocket transport, pages and jobs build on.

pub mod domain;
pub mod mixer;
pub mod protocol;
pub mod timeline;

pub use domain::{Room, RoomError, SingerId};
pub use timeline::{Clock, SAMPLE_RATE, Timeline};
