//! One module per scenario, each with its options (the shared [`crate::run::LoadArgs`],
//! or [`crate::run::ClientArgs`] for a scenario on its own timeline, plus its own) and a
//! `run` that signs its users in (or, for `music`, makes anonymous listeners) and drives
//! its workload. `choir` runs one task pair per singer on its own
//! timeline, like `recital`, and so does `meetings` (one WebRTC client per participant).

pub mod choir;
pub mod meetings;
pub mod music;
pub mod pages;
pub mod recital;
