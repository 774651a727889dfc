//! The accounts' periodic clean-up: what can no longer be used is deleted (expired
//! sessions, used or expired one-time links, waiting sign-ups among them, stale OpenID
//! Connect sign-ins, form keys past their lifetime), outgoing messages lose links that no
//! longer wait, and finished messages go after a while. Every node schedules it; the
//! queue runs it once per period.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tutti_store::{Db, JobError, JobRun, Schedule, TypedJob};

use crate::db::{self, Swept};
use crate::mail::{self, OutboxSwept};

/// The job kind.
pub const SWEEP: &str = "accounts.sweep";

/// How often it runs.
pub fn schedule() -> Schedule {
    Schedule::every_minutes(15)
}

/// What one run removed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SweepReport {
    #[serde(flatten)]
    pub expired: Swept,
    #[serde(flatten)]
    pub outbox: OutboxSwept,
}

/// Runs the sweep once: outbox first (it looks at the links the second step deletes).
pub async fn sweep(db: &Db) -> Result<SweepReport, tutti_store::StoreError> {
    let outbox = mail::sweep_outbox(db).await?;
    let expired = db::sweep_expired(db).await?;
    Ok(SweepReport { expired, outbox })
}

/// The periodic job.
pub struct Sweep(pub Db);

impl TypedJob for Sweep {
    const KIND: &'static str = SWEEP;
    type Payload = ();
    type Output = SweepReport;

    fn timeout() -> Duration {
        Duration::from_secs(5 * 60)
    }

    fn max_attempts() -> i64 {
        3
    }

    async fn run(&self, _: (), _run: &JobRun) -> Result<SweepReport, JobError> {
        Ok(sweep(&self.0).await?)
    }
}
