//! Answers remembered for a moment, for reads that hot paths repeat many times a second
//! (a player's ranges of one stream, a music app's calls with one key) and that would each
//! cost database round trips. An entry is trusted for a fixed time only, so a change made
//! by another server reaches every answer within that time; changes made through this
//! server forget everything at once ([`forget_on_writes`]).

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use quick_cache::sync::Cache;

/// Values by key, each trusted for the same short time.
pub struct Brief<K, V> {
    cache: Cache<K, (Instant, V)>,
    ttl: Duration,
}

impl<K, V> std::fmt::Debug for Brief<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Brief")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Brief<K, V> {
    /// Holds up to `capacity` entries, each for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Brief {
            cache: Cache::new(capacity),
            ttl,
        }
    }

    /// The value remembered for `key`, when remembered less than the time ago.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + quick_cache::Equivalent<K> + ?Sized,
    {
        let (at, value) = self.cache.get(key)?;
        if at.elapsed() < self.ttl {
            Some(value)
        } else {
            self.cache.remove(key);
            None
        }
    }

    pub fn remember(&self, key: K, value: V) {
        self.cache.insert(key, (Instant::now(), value));
    }

    pub fn forget_all(&self) {
        self.cache.clear();
    }
}

/// Wraps `router` so that every request that may change something (any method but GET
/// and HEAD, except those `harmless` names by path) calls `forget` once it is answered,
/// typically [`Brief::forget_all`] of the briefs the router's reads fill.
pub fn forget_on_writes<S>(
    router: axum::Router<S>,
    forget: Arc<dyn Fn() + Send + Sync>,
    harmless: fn(&str) -> bool,
) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let forget = forget.clone();
            async move {
                let reads = matches!(*request.method(), Method::GET | Method::HEAD)
                    || harmless(request.uri().path());
                let response = next.run(request).await;
                if !reads {
                    forget();
                }
                response
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_are_forgotten_on_demand() {
        let brief: Brief<String, u32> = Brief::new(10, Duration::from_millis(30));
        assert_eq!(brief.get("a"), None);
        brief.remember("a".into(), 1);
        brief.remember("b".into(), 2);
        assert_eq!(brief.get("a"), Some(1));
        brief.forget_all();
        assert_eq!(brief.get("b"), None);
        brief.remember("a".into(), 3);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(brief.get("a"), None);
    }
}
