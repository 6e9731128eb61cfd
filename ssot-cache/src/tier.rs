//! The [`Tier`] trait: what a [`TieredCache`](crate::TieredCache) needs of a level.
//!
//! A tier is told remaining time-to-live as a [`Duration`], not a deadline, so tiers
//! with different clocks (or a remote tier with its own) still agree on what "expires
//! in 30 s" means when an entry is promoted.
//!
//! The contract, which [`MemoryCache`] and [`DiskTier`](crate::DiskTier) keep: a tier
//! may drop an entry earlier than asked (capacity, its own shorter time-to-live,
//! corruption) but never serves it after its time-to-live has passed, and never
//! serves a value that was not the last one written for its key.

use std::hash::Hash;
use std::time::Duration;

use crate::error::Result;
use crate::memory::MemoryCache;

/// A value read from a tier and how long it has left to live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierEntry<V> {
    /// The value.
    pub value: V,
    /// The remaining time-to-live; `None` if the entry does not expire.
    pub ttl: Option<Duration>,
}

/// One level of a [`TieredCache`](crate::TieredCache). Implement it to add your own
/// (a remote cache, a read-only snapshot, ...).
///
/// Methods take `&self`: a tier is shared between threads and synchronizes itself.
/// Keys and values are passed by reference (unlike the tiers' own `insert`, which take
/// them by value): a [`TieredCache`](crate::TieredCache) writes one value into
/// several tiers, and each tier copies or encodes what it keeps.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use ssot_cache::{Error, MemoryCache, Result, Tier, TierEntry, TieredCache};
///
/// /// A tier that never forgets (a stand-in for a remote store).
/// #[derive(Default)]
/// struct Forever(Mutex<HashMap<String, String>>);
///
/// impl Tier<String, String> for Forever {
///     fn name(&self) -> &str { "forever" }
///     fn get(&self, key: &String) -> Result<Option<TierEntry<String>>> {
///         let map = self.0.lock().map_err(|_| Error::tier("forever", "poisoned"))?;
///         Ok(map.get(key).map(|v| TierEntry { value: v.clone(), ttl: None }))
///     }
///     fn insert(&self, key: &String, value: &String, _ttl: Option<Duration>) -> Result<()> {
///         let mut map = self.0.lock().map_err(|_| Error::tier("forever", "poisoned"))?;
///         map.insert(key.clone(), value.clone());
///         Ok(())
///     }
///     fn remove(&self, key: &String) -> Result<()> {
///         self.0.lock().map_err(|_| Error::tier("forever", "poisoned"))?.remove(key);
///         Ok(())
///     }
///     fn clear(&self) -> Result<()> {
///         self.0.lock().map_err(|_| Error::tier("forever", "poisoned"))?.clear();
///         Ok(())
///     }
/// }
///
/// let cache = TieredCache::builder()
///     .tier(MemoryCache::new(100))
///     .tier(Forever::default())
///     .build();
/// cache.insert("k".to_string(), "v".to_string())?;
/// assert_eq!(cache.get(&"k".to_string())?.as_deref(), Some("v"));
/// # Ok::<(), ssot_cache::Error>(())
/// ```
pub trait Tier<K, V>: Send + Sync {
    /// A short name for statistics and error messages (`memory`, `disk`).
    fn name(&self) -> &str;

    /// The entry for `key`, if this tier holds a live one.
    fn get(&self, key: &K) -> Result<Option<TierEntry<V>>>;

    /// Stores `value` under `key` for at most `ttl` (`None`: no time-to-live of its
    /// own; the tier may still apply its configured one).
    fn insert(&self, key: &K, value: &V, ttl: Option<Duration>) -> Result<()>;

    /// Removes `key`; removing an absent key is not an error.
    fn remove(&self, key: &K) -> Result<()>;

    /// Removes every entry.
    fn clear(&self) -> Result<()>;

    /// Entries the tier dropped on its own (capacity, expiry, corruption) since it was
    /// created; explicit removals and replaced values do not count. The same meaning
    /// as [`CacheStats::evictions`](crate::CacheStats::evictions). Default: 0, for
    /// tiers that do not count.
    fn evictions(&self) -> u64 {
        0
    }
}

impl<K, V> Tier<K, V> for MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        "memory"
    }

    fn get(&self, key: &K) -> Result<Option<TierEntry<V>>> {
        Ok(self
            .get_with_ttl(key)
            .map(|(value, ttl)| TierEntry { value, ttl }))
    }

    /// The entry lives for the shorter of `ttl` and the cache's default time-to-live.
    fn insert(&self, key: &K, value: &V, ttl: Option<Duration>) -> Result<()> {
        match ttl {
            Some(ttl) => self.insert_with_ttl_capped(key.clone(), value.clone(), ttl),
            None => self.insert(key.clone(), value.clone()),
        }
        Ok(())
    }

    fn remove(&self, key: &K) -> Result<()> {
        MemoryCache::remove(self, key);
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        self.invalidate_all();
        Ok(())
    }

    fn evictions(&self) -> u64 {
        self.stats().evictions()
    }
}

/// A shared tier is a tier: keep an `Arc` to inspect a tier you gave to a
/// [`TieredCache`](crate::TieredCache).
impl<K, V, T> Tier<K, V> for std::sync::Arc<T>
where
    T: Tier<K, V> + ?Sized,
{
    fn name(&self) -> &str {
        (**self).name()
    }

    fn get(&self, key: &K) -> Result<Option<TierEntry<V>>> {
        (**self).get(key)
    }

    fn insert(&self, key: &K, value: &V, ttl: Option<Duration>) -> Result<()> {
        (**self).insert(key, value, ttl)
    }

    fn remove(&self, key: &K) -> Result<()> {
        (**self).remove(key)
    }

    fn clear(&self) -> Result<()> {
        (**self).clear()
    }

    fn evictions(&self) -> u64 {
        (**self).evictions()
    }
}
