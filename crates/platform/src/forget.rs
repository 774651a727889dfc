//! Forgetting a person: when an account is deleted, every studio removes what it keeps
//! about them (recordings, their audio in the blob store, profiles) before the account
//! itself goes. A studio hands its [`Forget`] over with [`crate::Mounted`]; the server
//! collects them in [`Forgetting`], which the accounts studio calls.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::error::PlatformError;

/// What a studio does when a person's account is deleted.
#[async_trait]
pub trait Forget: Send + Sync {
    /// Removes (or queues the removal of) everything the studio keeps about `user_id`.
    /// Called before the account is deleted; must be safe to call again.
    async fn forget(&self, user_id: &str) -> Result<(), PlatformError>;
}

/// Every studio's [`Forget`], filled in once the studios are mounted.
#[derive(Clone, Default)]
pub struct Forgetting(Arc<RwLock<Vec<Arc<dyn Forget>>>>);

impl std::fmt::Debug for Forgetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map(|v| v.len()).unwrap_or(0);
        f.debug_tuple("Forgetting").field(&n).finish()
    }
}

impl Forgetting {
    pub fn add(&self, forget: Arc<dyn Forget>) {
        if let Ok(mut list) = self.0.write() {
            list.push(forget);
        }
    }

    /// Asks every studio to forget the person; stops at the first that cannot (the
    /// account then stays, and deleting it again retries).
    pub async fn person(&self, user_id: &str) -> Result<(), PlatformError> {
        let list: Vec<Arc<dyn Forget>> = self.0.read().map(|v| v.clone()).unwrap_or_default();
        for forget in list {
            forget.forget(user_id).await?;
        }
        Ok(())
    }
}
