//! [`TieredCache`]: tiers in order, read-through with promotion, write-through.
//!
//! Reads go down the tiers and stop at the first hit; the value is then written into
//! every tier above the one that had it, with the entry's remaining time-to-live, so
//! the next read stops higher. Writes go to every tier, lowest first: a failure part
//! way removes the key from every tier before the error is returned, so no tier is
//! left serving the previous value above a tier holding the new one.
//!
//! A read and a write of the same key may overlap: the read may have taken the old
//! value from a lower tier before the write, and promote it after the write has
//! replaced (or removed) the key above. Left alone, the upper tier would then serve
//! the old value until it expires. So writes and invalidations are counted when they
//! start and when they finish, and a read that overlapped any of them (a write in
//! progress when it started, or one started before its promotion finished) undoes
//! its promotion by removing the key from the tiers it promoted into. The counters are
//! cache-wide, not per key, so under concurrent writes some promotions are undone
//! needlessly: that costs a later lower-tier read, never a stale value.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::stats::TierStats;
use crate::tier::Tier;

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    promotions: AtomicU64,
}

/// Writes and invalidations started and finished (see the module docs).
#[derive(Default)]
struct WriteCounts {
    started: AtomicU64,
    finished: AtomicU64,
}

/// Counts a write as finished when dropped, even if a tier panics.
struct WriteInProgress<'a>(&'a WriteCounts);

impl<'a> WriteInProgress<'a> {
    fn start(counts: &'a WriteCounts) -> WriteInProgress<'a> {
        counts.started.fetch_add(1, Ordering::SeqCst);
        WriteInProgress(counts)
    }
}

impl Drop for WriteInProgress<'_> {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::SeqCst);
    }
}

/// Caches in tiers (L1, L2, ...): a fast small tier in front of larger, slower ones.
///
/// ```
/// use std::time::Duration;
/// use ssot_cache::{DiskTier, ManualClock, MemoryCache, TieredCache};
///
/// let dir = tempfile::tempdir()?;
/// let clock = ManualClock::new();
/// let memory = MemoryCache::builder().max_capacity(1_000).clock(clock.clone()).build();
/// let disk = DiskTier::builder(dir.path()).max_bytes(1 << 20).clock(clock.clone()).open()?;
/// let cache = TieredCache::builder().tier(memory.clone()).tier(disk).build();
///
/// cache.insert_with_ttl("plan".to_string(), vec![1u32, 2, 3], Duration::from_secs(60))?;
/// memory.invalidate_all(); // as after a restart: only the disk has it
/// clock.advance(Duration::from_secs(20));
///
/// assert_eq!(cache.get(&"plan".to_string())?, Some(vec![1, 2, 3])); // from disk...
/// let (_, ttl) = memory.get_with_ttl("plan").expect("...promoted to memory");
/// assert_eq!(ttl, Some(Duration::from_secs(40)), "with its remaining time-to-live");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TieredCache<K, V> {
    tiers: Vec<Box<dyn Tier<K, V>>>,
    counters: Vec<Counters>,
    writes: WriteCounts,
    ttl: Option<Duration>,
}

impl<K, V> fmt::Debug for TieredCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.tiers.iter().map(|t| t.name()).collect();
        f.debug_struct("TieredCache")
            .field("tiers", &names)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Options of a [`TieredCache`]; start from [`TieredCache::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct TieredCacheBuilder<K, V> {
    tiers: Vec<Box<dyn Tier<K, V>>>,
    ttl: Option<Duration>,
}

impl<K, V> fmt::Debug for TieredCacheBuilder<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.tiers.iter().map(|t| t.name()).collect();
        f.debug_struct("TieredCacheBuilder")
            .field("tiers", &names)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl<K, V> TieredCacheBuilder<K, V> {
    /// Adds the next tier below those added so far (the first is L1, read first).
    pub fn tier(mut self, tier: impl Tier<K, V> + 'static) -> Self {
        self.tiers.push(Box::new(tier));
        self
    }

    /// The time-to-live [`TieredCache::insert`] gives entries. Default: none (each
    /// tier still applies its own).
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Builds the cache. A cache without tiers is valid and always misses.
    #[must_use]
    pub fn build(self) -> TieredCache<K, V> {
        let counters = self.tiers.iter().map(|_| Counters::default()).collect();
        TieredCache {
            tiers: self.tiers,
            counters,
            writes: WriteCounts::default(),
            ttl: self.ttl,
        }
    }
}

impl<K, V> TieredCache<K, V> {
    /// A builder with no tiers.
    pub fn builder() -> TieredCacheBuilder<K, V> {
        TieredCacheBuilder {
            tiers: Vec::new(),
            ttl: None,
        }
    }

    /// The value of `key` from the first tier that has it, promoted into every tier
    /// above with its remaining time-to-live.
    ///
    /// Unlike `MemoryCache::get`, `key` is a `&K`, not any borrowed form of it: the
    /// tiers are trait objects ([`Tier`]), whose methods cannot be generic over the
    /// borrowed form.
    ///
    /// If a write or invalidation ran while this read was in progress, the promotion is
    /// undone (the key is removed from the tiers above), so an upper tier never keeps
    /// a value older than the write; the read itself may answer the old or the new
    /// value, as any read overlapping a write.
    ///
    /// Errors: the first error of a tier read or a promotion write.
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        // Finished before started: a write counted in `started` but not in
        // `finished` was in progress.
        let finished = self.writes.finished.load(Ordering::SeqCst);
        let started = self.writes.started.load(Ordering::SeqCst);
        for (i, tier) in self.tiers.iter().enumerate() {
            match tier.get(key)? {
                Some(entry) => {
                    self.counters[i].hits.fetch_add(1, Ordering::Relaxed);
                    let mut promoted = Ok(());
                    let mut upto = i;
                    while upto > 0 && promoted.is_ok() {
                        upto -= 1;
                        promoted = self.tiers[upto].insert(key, &entry.value, entry.ttl);
                    }
                    let overlapped = started != finished
                        || self.writes.started.load(Ordering::SeqCst) != started;
                    if overlapped {
                        for t in &self.tiers[upto..i] {
                            // Best effort: a failed removal leaves the tier as a
                            // failed write does.
                            let _ = t.remove(key);
                        }
                    } else {
                        let done = if promoted.is_ok() { upto } else { upto + 1 };
                        for c in &self.counters[done..i] {
                            c.promotions.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    promoted?;
                    return Ok(Some(entry.value));
                }
                None => {
                    self.counters[i].misses.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(None)
    }

    /// Writes `key → value` to every tier with the cache's default time-to-live.
    ///
    /// Key and value are taken by value, as by
    /// [`MemoryCache::insert`](crate::MemoryCache::insert) and
    /// [`DiskTier::insert`](crate::DiskTier::insert); each tier is handed a reference
    /// (the memory tier stores clones).
    ///
    /// Errors: the first tier error; the key is then removed from every tier (best
    /// effort), so no tier serves an older value.
    pub fn insert(&self, key: K, value: V) -> Result<()> {
        self.write(&key, &value, self.ttl)
    }

    /// Like [`insert`](Self::insert), with this entry's own time-to-live.
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> Result<()> {
        self.write(&key, &value, Some(ttl))
    }

    fn write(&self, key: &K, value: &V, ttl: Option<Duration>) -> Result<()> {
        let _counted = WriteInProgress::start(&self.writes);
        for tier in self.tiers.iter().rev() {
            if let Err(e) = tier.insert(key, value, ttl) {
                for t in &self.tiers {
                    let _ = t.remove(key);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// The value of `key`, or `loader`'s, which is then written to every tier.
    ///
    /// Not single flight: two threads missing the same key at once both run their
    /// loader (the last write wins). Where that matters, call this inside
    /// [`MemoryCache::get_or_insert_with`](crate::MemoryCache::get_or_insert_with)
    /// of a separate memory cache, which does deduplicate loads.
    ///
    /// Errors: the loader's, or a tier's converted with `E: From<Error>`.
    pub fn get_or_try_insert_with<E>(
        &self,
        key: &K,
        loader: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        E: From<Error>,
    {
        if let Some(v) = self.get(key)? {
            return Ok(v);
        }
        let v = loader()?;
        self.write(key, &v, self.ttl)?;
        Ok(v)
    }

    /// Removes `key` from every tier. Every tier is tried; the first error is returned.
    pub fn invalidate(&self, key: &K) -> Result<()> {
        let _counted = WriteInProgress::start(&self.writes);
        let mut first = Ok(());
        for tier in &self.tiers {
            if let Err(e) = tier.remove(key)
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }

    /// Removes every entry from every tier. Every tier is tried; the first error is
    /// returned.
    pub fn invalidate_all(&self) -> Result<()> {
        let _counted = WriteInProgress::start(&self.writes);
        let mut first = Ok(());
        for tier in &self.tiers {
            if let Err(e) = tier.clear()
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }

    /// Counters per tier, L1 first.
    #[must_use]
    pub fn stats(&self) -> Vec<TierStats> {
        self.tiers
            .iter()
            .zip(&self.counters)
            .map(|(t, c)| TierStats {
                name: t.name().to_string(),
                hits: c.hits.load(Ordering::Relaxed),
                misses: c.misses.load(Ordering::Relaxed),
                promotions: c.promotions.load(Ordering::Relaxed),
                evictions: t.evictions(),
            })
            .collect()
    }

    /// The number of tiers.
    #[must_use]
    pub fn tier_count(&self) -> usize {
        self.tiers.len()
    }
}
