//! `tutti-load`, the load generator the studios' scenarios share: HTTP clients (one per
//! virtual user, each signed in once and sending from its own address in 127.0.0.0/8 so
//! per-address limits see many clients) and WebSocket clients, an open-loop fixed-rate
//! schedule whose latencies count from each request's *scheduled* send time (a stalled
//! server shows up as latency instead of as fewer requests), HdrHistogram percentiles, a
//! ramp that finds the largest rate meeting a p99 and error-rate target, and the summary
//! printed as text or as one JSON object on the last line.
//!
//! A scenario is a module under [`scenarios`]: it signs its users in, implements
//! [`schedule::Workload`] (what request number `n` does) and hands it to [`run::drive`];
//! or, like `recital`, runs one task per user on its own timeline with the same clients
//! and statistics.

pub mod clients;
pub mod run;
pub mod scenarios;
pub mod schedule;
pub mod sources;
pub mod stats;
pub mod ws;
