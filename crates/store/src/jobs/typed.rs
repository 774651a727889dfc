//! Typed jobs: a job kind declared once, with its name, payload type, result type, time
//! limit and retry policy, so neither the enqueuer nor the handler spells a kind string or
//! decodes JSON by hand. Every [`TypedJob`] is also a [`JobHandler`], so the string layer
//! ([`Worker::register`](super::Worker::register)) still accepts it.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{JobError, JobHandler, JobRun, backoff};

/// The time limit of a typed job that does not declare its own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How many times a typed job is tried when it does not say otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;

/// One kind of background work.
///
/// ```ignore
/// struct Transcode(Blobs);
///
/// impl TypedJob for Transcode {
///     const KIND: &'static str = "music.transcode";
///     type Payload = TranscodeRequest;
///     type Output = ();
///
///     fn timeout() -> Duration {
///         Duration::from_secs(20 * 60)
///     }
///
///     async fn run(&self, req: TranscodeRequest, run: &JobRun) -> Result<(), JobError> {
///         let bytes = self.0.get(&req.source).await?;
///         // CPU work off the runtime, stopping when the run is cancelled.
///         let encoded = run.blocking(move |cancel| encode(&bytes, &cancel)).await??;
///         self.0.put(&req.target, encoded).await?;
///         Ok(())
///     }
/// }
///
/// let worker = worker.register_typed(Transcode(blobs));
/// queue.enqueue_typed::<Transcode>(&request).await?;
/// ```
pub trait TypedJob: Send + Sync + 'static {
    /// The kind stored in the queue; dotted, crate first (`"recital.finalize"`).
    const KIND: &'static str;
    /// What the enqueuer hands over; a stored payload that no longer decodes aborts the job.
    type Payload: Serialize + DeserializeOwned + Send + 'static;
    /// What a run leaves as the job's result (`()` for none).
    type Output: Serialize + Send + 'static;

    /// How long one run may take; past it the run is cancelled and counts as a failed
    /// attempt (retried while attempts are left).
    fn timeout() -> Duration {
        DEFAULT_TIMEOUT
    }

    /// How many runs a job of this kind gets before it stays `failed`; stored with each job
    /// [`NewJob::typed`](super::NewJob::typed) builds.
    fn max_attempts() -> i64 {
        DEFAULT_MAX_ATTEMPTS
    }

    /// How long to wait before the next attempt after `attempts` runs failed.
    fn retry_delay(attempts: i64) -> Duration {
        backoff(attempts)
    }

    /// Does the work. Return [`JobError::Retry`] for what may pass, [`JobError::Abort`] for
    /// what never will. A handler whose effect is a database write should commit it with
    /// [`JobRun::finish_in`] so a superseded run cannot also commit it.
    fn run(
        &self,
        payload: Self::Payload,
        run: &JobRun,
    ) -> impl Future<Output = Result<Self::Output, JobError>> + Send;
}

#[async_trait]
impl<J: TypedJob> JobHandler for J {
    async fn run(&self, run: &JobRun) -> Result<Option<serde_json::Value>, JobError> {
        let payload: J::Payload = run.payload()?;
        let output = TypedJob::run(self, payload, run).await?;
        let value = serde_json::to_value(output).map_err(|e| {
            JobError::Abort(format!(
                "the result of a {} job cannot be stored: {e}",
                J::KIND
            ))
        })?;
        Ok((!value.is_null()).then_some(value))
    }

    fn timeout(&self) -> Option<Duration> {
        Some(J::timeout())
    }

    fn retry_delay(&self, attempts: i64) -> Duration {
        J::retry_delay(attempts)
    }
}
