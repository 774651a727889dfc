//! One module per scenario, each with its options (the shared [`crate::run::LoadArgs`],
//! or [`crate::run::ClientArgs`] for a scenario on its own timeline, plus its own) and a
//! `run` that signs its users in and drives its workload. The choir and meetings
//! scenarios come here beside `pages` and `recital`.

pub mod pages;
pub mod recital;
