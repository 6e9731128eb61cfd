//! The memory tier: [`MemoryCache`] and its [`MemoryCacheBuilder`].
//!
//! The cache is an array of shards, each an LRU list under its own
//! `parking_lot::RwLock` (see `shard.rs`). A key's shard is chosen by bits of its hash
//! that the shard's own hash table does not use for bucket selection.
//!
//! Under the default [`EvictionPolicy::Lru`] every hit writes (it moves the entry to
//! the front of the list), so every operation takes the exclusive lock; an
//! uncontended exclusive `parking_lot` lock costs one atomic read-modify-write, as a
//! mutex would. That is exact and cheap on one thread, but when two cores hit the
//! same shards each hit also drags the list's cache lines (the neighbours' links, the
//! head) from the other core, and two hits on one shard exclude each other: a thread
//! preempted while holding a shard's lock (common on a loaded machine) stalls the
//! other. [`EvictionPolicy::Clock`] serves hits under the shared lock and writes at
//! most one bit, in the entry's own node; the list is reordered only on evictions
//! (second chance). See `BENCHMARKS.md` (`get_hit_cost`) for what each costs.
//!
//! Consequence of sharding: LRU is exact *within a shard*. The victim of an eviction
//! is the least recently used entry of the shard the new key hashes to, and each shard
//! holds `capacity / shards` of the capacity. A one-shard cache
//! ([`MemoryCacheBuilder::shards`]`(1)`) is an exact global LRU.
//!
//! Counters live in the shards, beside the lock word, so statistics cost no other
//! shared cache line on the hot path (atomics, written with a plain add under the
//! exclusive lock). The eviction listener runs after the shard's lock is
//! released, on the thread whose operation removed the entry.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::clock::{Clock, SystemClock};
use crate::flight::{Flight, Outcome};
use crate::shard::{
    LazyNow, NEVER, Pending, Policy, Predicate, Removed, Shard, ShardConfig, SharedRead,
};
use crate::stats::{CacheStats, RemovalCause};

type Weigher<K, V> = Box<dyn Fn(&K, &V) -> u32 + Send + Sync>;
type Listener<K, V> = Box<dyn Fn(K, V, RemovalCause) + Send + Sync>;
type Shards<K, V> = Box<[Padded<RwLock<Shard<K, V>>>]>;

/// How a [`MemoryCache`] chooses what to evict; see
/// [`MemoryCacheBuilder::eviction_policy`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvictionPolicy {
    /// Exact least-recently-used within each shard (the default): every hit moves
    /// its entry to the front of its shard's list, under the shard's exclusive lock.
    /// Checked against a reference model, operation by operation.
    #[default]
    Lru,
    /// CLOCK, or second chance, as quick_cache and many page caches approximate LRU:
    /// a hit only sets the entry's reference bit, under the shard's *shared* lock,
    /// so concurrent hits do not exclude each other. An eviction looks at the least
    /// recently inserted end; an entry read since it was last there goes back to the
    /// front with its bit cleared, the first one not read is evicted. Hits on entries
    /// with a time-to-idle, or found expired, still take the exclusive lock.
    Clock,
}

/// Bits of the hash used to pick a shard: hashbrown picks buckets with the low bits
/// and uses the top 7 as tags, so shards take bits from the middle.
const SHARD_SHIFT: u32 = 32;

/// A shard on its own cache lines, so two cores locking neighbouring shards do not
/// contend for one line.
#[repr(align(128))]
struct Padded<T>(T);

struct Inner<K, V> {
    shards: Shards<K, V>,
    mask: u64,
    hasher: foldhash::fast::RandomState,
    clock: Arc<dyn Clock>,
    /// Default time-to-live in nanoseconds, or [`NEVER`].
    ttl: u64,
    capacity: u64,
    weigher: Option<Weigher<K, V>>,
    listener: Option<Listener<K, V>>,
    /// [`EvictionPolicy::Clock`]: hits are served under a shared lock.
    shared_reads: bool,
}

/// A thread-safe, bounded, expiring in-memory cache with least-recently-used eviction.
///
/// `MemoryCache` is a handle: clones share the same cache. It is `Send + Sync`
/// whenever `K` and `V` are `Send + Sync` (hits may read one entry from several
/// threads at once under [`EvictionPolicy::Clock`]). Reads return a clone of the value, so keep `V`
/// cheap to clone: an `Arc<T>` for anything larger than a few words.
///
/// See the [crate documentation](crate) for the semantics of every operation and its
/// cost, and [`MemoryCacheBuilder`] for the options.
///
/// ```
/// use std::sync::Arc;
/// use ssot_cache::MemoryCache;
///
/// let cache: MemoryCache<String, Arc<str>> = MemoryCache::new(10_000);
/// cache.insert("greeting".to_string(), Arc::from("hello"));
/// assert_eq!(cache.get("greeting").as_deref(), Some("hello"));
/// assert_eq!(cache.get("missing"), None);
/// ```
pub struct MemoryCache<K, V> {
    inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for MemoryCache<K, V> {
    fn clone(&self) -> Self {
        MemoryCache {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V> fmt::Debug for MemoryCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache")
            .field("capacity", &self.inner.capacity)
            .field("shards", &self.inner.shards.len())
            .finish_non_exhaustive()
    }
}

/// Options of a [`MemoryCache`]; start from [`MemoryCache::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct MemoryCacheBuilder<K, V> {
    capacity: u64,
    weigher: Option<Weigher<K, V>>,
    ttl: Option<Duration>,
    tti: Option<Duration>,
    listener: Option<Listener<K, V>>,
    clock: Arc<dyn Clock>,
    shards: Option<usize>,
    policy: EvictionPolicy,
}

impl<K, V> fmt::Debug for MemoryCacheBuilder<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCacheBuilder")
            .field("capacity", &self.capacity)
            .field("weigher", &self.weigher.is_some())
            .field("ttl", &self.ttl)
            .field("tti", &self.tti)
            .field("shards", &self.shards)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<K, V> MemoryCacheBuilder<K, V>
where
    K: Hash + Eq + Send + 'static,
    V: Clone + Send + 'static,
{
    /// The cache's capacity: a number of entries, or with a [`weigher`](Self::weigher)
    /// a total weight. Default: 10,000.
    pub fn max_capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity;
        self
    }

    /// Measures entries by weight rather than count: the capacity bounds the sum of
    /// `weigher(key, value)` over the entries. A weight of 0 counts as 1, so the
    /// capacity also bounds the number of entries. An entry heavier than one shard's
    /// share of the capacity is not stored (the listener is told, with
    /// [`RemovalCause::Capacity`]); use [`shards`](Self::shards)`(1)` when single
    /// entries may take a large part of the capacity.
    ///
    /// The weigher runs on every insert, outside the lock for `insert` and under it for
    /// a load's result; keep it cheap (`value.len()`), and do not use this cache from
    /// it (under the lock that would deadlock).
    pub fn weigher(mut self, weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Box::new(weigher));
        self
    }

    /// Entries expire this long after they were written, unless written with
    /// [`MemoryCache::insert_with_ttl`]. Default: never.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Entries expire this long after they were last read or written, independently
    /// of (and in addition to) their time-to-live. Default: never.
    pub fn time_to_idle(mut self, tti: Duration) -> Self {
        self.tti = Some(tti);
        self
    }

    /// Called with the key, the value and the cause whenever an entry leaves the
    /// cache (including a value replaced by an insert of its key).
    ///
    /// It runs on the thread whose operation removed the entry, after the shard's
    /// lock is released, so it may use the cache. Expired entries are noticed lazily
    /// (see the crate docs), so an expiry is reported when it is noticed, not when it
    /// happens.
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(K, V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// The source of time for expiry. Default: [`SystemClock`]. Tests pass a
    /// [`ManualClock`](crate::ManualClock).
    ///
    /// Hits on entries that can expire read the clock once. Where the system clock is
    /// slow to read (some virtual machines), a [`CoarseClock`](crate::CoarseClock)
    /// makes that read one atomic load, at the price of its resolution.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same, for a clock already shared.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The number of shards, rounded up to a power of two (at least 1, at most
    /// 65,536). Default: four per available core, but no more than one per 32 units
    /// of capacity, so small caches stay close to an exact LRU. One shard makes the
    /// cache an exact global LRU at the price of one lock for every thread.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// How entries are chosen for eviction. Default: [`EvictionPolicy::Lru`], exact
    /// per shard. [`EvictionPolicy::Clock`] makes hits cheaper when threads share
    /// the cache (a shared lock and at most one bit written, instead of an exclusive
    /// lock and a relink); its victims approximate LRU's, and `BENCHMARKS.md`
    /// compares both hit ratios on the same traces.
    pub fn eviction_policy(mut self, policy: EvictionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Builds the cache.
    #[must_use]
    pub fn build(self) -> MemoryCache<K, V> {
        let n = match self.shards {
            Some(n) => n.clamp(1, 1 << 16).next_power_of_two(),
            None => {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                // `cores + 4` (a mutant) gives the same 8 on 2 cores, where it survives;
                // `the_default_shard_count_is_four_per_core_for_a_large_cache` catches it
                // on any other core count.
                let by_cores = (cores * 4).next_power_of_two();
                let by_capacity = usize::try_from(self.capacity / 32)
                    .unwrap_or(usize::MAX)
                    .max(1);
                // The largest power of two not above `by_capacity`.
                let by_capacity = 1usize << (usize::BITS - 1 - by_capacity.leading_zeros());
                by_cores.min(by_capacity).min(1 << 16)
            }
        };
        let tti = self.tti.map_or(NEVER, nanos);
        let policy = match self.policy {
            EvictionPolicy::Lru => Policy::Lru,
            EvictionPolicy::Clock => Policy::Clock,
        };
        let n64 = n as u64;
        let shards = (0..n64)
            .map(|i| {
                let capacity = self.capacity / n64 + u64::from(i < self.capacity % n64);
                Padded(RwLock::new(Shard::new(ShardConfig {
                    capacity,
                    tti,
                    policy,
                })))
            })
            .collect();
        MemoryCache {
            inner: Arc::new(Inner {
                shards,
                mask: n64 - 1,
                hasher: foldhash::fast::RandomState::default(),
                clock: self.clock,
                ttl: self.ttl.map_or(NEVER, nanos),
                capacity: self.capacity,
                weigher: self.weigher,
                listener: self.listener,
                shared_reads: policy == Policy::Clock,
            }),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NEVER)
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Send + 'static,
    V: Clone + Send + 'static,
{
    /// A cache of up to `capacity` entries, with no expiry.
    #[must_use]
    pub fn new(capacity: u64) -> MemoryCache<K, V> {
        MemoryCache::builder().max_capacity(capacity).build()
    }

    /// A builder with every option at its default.
    pub fn builder() -> MemoryCacheBuilder<K, V> {
        MemoryCacheBuilder {
            capacity: 10_000,
            weigher: None,
            ttl: None,
            tti: None,
            listener: None,
            clock: Arc::new(SystemClock),
            shards: None,
            policy: EvictionPolicy::Lru,
        }
    }

    #[inline]
    fn shard_for(&self, hash: u64) -> &RwLock<Shard<K, V>> {
        // The mask keeps the index below the shard count, a power of two.
        let i = ((hash >> SHARD_SHIFT) & self.inner.mask) as usize;
        &self.inner.shards[i].0
    }

    #[inline]
    #[allow(clippy::manual_hash_one)]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        // Spelled out rather than `hash_one`, which the compiler did not inline here.
        let mut h = self.inner.hasher.build_hasher();
        key.hash(&mut h);
        h.finish()
    }

    #[inline]
    fn removed(&self) -> Removed<K, V> {
        Removed::new(self.inner.listener.is_some())
    }

    #[inline]
    fn notify(&self, removed: Removed<K, V>) {
        if let Some(listener) = &self.inner.listener {
            for (k, v, cause) in removed.items {
                listener(k, v, cause);
            }
        }
    }

    fn weigh(&self, key: &K, value: &V) -> u32 {
        self.inner
            .weigher
            .as_ref()
            .map_or(1, |w| w(key, value).max(1))
    }

    /// The value of `key`, if present and not expired. A hit makes the entry the most
    /// recently used of its shard and restarts its idle time.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut now = LazyNow::new(&*self.inner.clock);
        if self.inner.shared_reads {
            // Bound before matching, so the shared lock is released first.
            let read = self
                .shard_for(hash)
                .read()
                .get_shared(hash, key, &mut now, false);
            match read {
                SharedRead::Hit(v, _) => return Some(v),
                SharedRead::Miss => return None,
                SharedRead::Exclusive => {}
            }
        }
        let mut removed = self.removed();
        let found = self
            .shard_for(hash)
            .write()
            .get(hash, key, &mut now, false, &mut removed);
        if !removed.items.is_empty() {
            self.notify(removed);
        }
        found.map(|(v, _)| v)
    }

    /// Like [`get`](Self::get), also returning how long the entry has left to live
    /// (`None`: no time-to-live). Time-to-idle is not included: it restarts on every
    /// read.
    pub fn get_with_ttl<Q>(&self, key: &Q) -> Option<(V, Option<Duration>)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut now = LazyNow::new(&*self.inner.clock);
        let shared = if self.inner.shared_reads {
            let read = self
                .shard_for(hash)
                .read()
                .get_shared(hash, key, &mut now, true);
            match read {
                SharedRead::Hit(v, expires_at) => Some(Some((v, expires_at))),
                SharedRead::Miss => Some(None),
                SharedRead::Exclusive => None,
            }
        } else {
            None
        };
        let found = match shared {
            Some(found) => found,
            None => {
                let mut removed = self.removed();
                let found =
                    self.shard_for(hash)
                        .write()
                        .get(hash, key, &mut now, true, &mut removed);
                self.notify(removed);
                found
            }
        };
        found.map(|(v, expires_at)| {
            let ttl = (expires_at != NEVER)
                .then(|| std::time::Duration::from_nanos(expires_at.saturating_sub(now.get())));
            (v, ttl)
        })
    }

    /// Whether `key` is present and not expired. Does not count as a read: no
    /// statistics, no change of recency, nothing removed.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut now = LazyNow::new(&*self.inner.clock);
        self.shard_for(hash).read().contains(hash, key, &mut now)
    }

    /// Stores `value` under `key` with the default time-to-live, as the most recently
    /// used entry; evicts least recently used entries of the key's shard as needed.
    /// A previous value of `key` is replaced (the listener hears
    /// [`RemovalCause::Replaced`]).
    #[inline]
    pub fn insert(&self, key: K, value: V) {
        self.insert_nanos(key, value, self.inner.ttl);
    }

    /// Like [`insert`](Self::insert), with this entry's own time-to-live instead of
    /// the default (longer or shorter). A time-to-idle still applies.
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        self.insert_nanos(key, value, nanos(ttl));
    }

    /// Inserts with the shorter of `ttl` and the default time-to-live (the
    /// [`Tier`](crate::Tier) contract: never keep an entry longer than asked, nor longer
    /// than this tier's own bound).
    pub(crate) fn insert_with_ttl_capped(&self, key: K, value: V, ttl: Duration) {
        self.insert_nanos(key, value, nanos(ttl).min(self.inner.ttl));
    }

    #[inline]
    fn insert_nanos(&self, key: K, value: V, ttl: u64) {
        let hash = self.hash(&key);
        let weight = self.weigh(&key, &value);
        let mut now = LazyNow::new(&*self.inner.clock);
        let mut removed = self.removed();
        self.shard_for(hash)
            .write()
            .insert(hash, key, value, weight, ttl, &mut now, &mut removed);
        if !removed.items.is_empty() {
            self.notify(removed);
        }
    }

    /// Removes `key`, returning its value if it was present and not expired. A load
    /// of `key` in progress (see [`get_or_insert_with`](Self::get_or_insert_with))
    /// still answers its callers but its value is not cached.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut now = LazyNow::new(&*self.inner.clock);
        let mut removed = self.removed();
        let value = self
            .shard_for(hash)
            .write()
            .remove(hash, key, &mut now, &mut removed);
        self.notify(removed);
        value
    }

    /// Removes every entry. Loads in progress still answer their callers but their
    /// values are not cached.
    pub fn invalidate_all(&self) {
        self.remove_where(None);
    }

    /// Removes every entry for which `predicate(key, value)` holds.
    ///
    /// The predicate runs under each shard's lock in turn: it must not use this
    /// cache. Loads in progress are not affected. Cost: O(n).
    pub fn invalidate_if(&self, mut predicate: impl FnMut(&K, &V) -> bool) {
        self.remove_where(Some(&mut predicate));
    }

    fn remove_where(&self, mut predicate: Option<Predicate<'_, K, V>>) {
        for shard in &self.inner.shards {
            let mut now = LazyNow::new(&*self.inner.clock);
            let mut removed = self.removed();
            shard.0.write().remove_where(
                predicate.as_mut().map(|p| &mut **p as _),
                &mut now,
                &mut removed,
            );
            self.notify(removed);
        }
    }

    /// Removes every expired entry now rather than when it is next touched; the
    /// listener hears [`RemovalCause::Expired`] for each. Cost: O(n). Call it from a
    /// housekeeping thread if memory held by expired entries matters.
    pub fn purge_expired(&self) {
        for shard in &self.inner.shards {
            let mut now = LazyNow::new(&*self.inner.clock);
            let mut removed = self.removed();
            shard.0.write().purge_expired(&mut now, &mut removed);
            self.notify(removed);
        }
    }

    /// The number of entries held, including expired ones not yet noticed (see
    /// [`purge_expired`](Self::purge_expired)). Cost: one lock per shard.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| s.0.read().len()).sum()
    }

    /// Whether the cache holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total weight held (the number of entries without a weigher).
    #[must_use]
    pub fn weighted_size(&self) -> u64 {
        self.inner.shards.iter().map(|s| s.0.read().weight()).sum()
    }

    /// The capacity the cache was built with (entries, or weight with a weigher).
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// The number of shards.
    #[must_use]
    pub fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }

    /// The capacity of each shard, in shard order (they differ by at most one).
    #[must_use]
    pub fn shard_capacities(&self) -> Vec<u64> {
        self.inner
            .shards
            .iter()
            .map(|s| s.0.read().capacity())
            .collect()
    }

    /// Counters since the cache was built, summed over the shards.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        let mut out = CacheStats::default();
        for shard in &self.inner.shards {
            let c = shard.0.read().counters();
            out.hits += c.hits;
            out.misses += c.misses;
            out.inserts += c.inserts;
            out.add_removed(&c.removed);
        }
        out
    }

    /// The value of `key`, loading it with `loader` on a miss and caching it with the
    /// default time-to-live.
    ///
    /// `key` is borrowed, like [`get`](Self::get)'s (`&str` for a `String` key): a hit
    /// makes no owned key; a miss makes one (`ToOwned`) to store.
    ///
    /// Single flight: when several threads miss the same key at once, one runs its
    /// loader and the others wait for and receive its value; the loader runs once.
    /// If the key is written or removed while the loader runs, the callers still get
    /// the loaded value but it is not cached. If the loader panics, the panic reaches
    /// its caller and the waiters retry (one of them loads).
    ///
    /// The loader runs without any lock held, so it may use this cache, including
    /// loading other keys. It must not load its own key: that call panics (rather than
    /// wait for itself forever), and the outer load is abandoned as with any panicking
    /// loader. Loaders on different threads that wait for each other's keys (`a`'s
    /// loader loads `b` while `b`'s loads `a`) deadlock, as with any lock cycle.
    ///
    /// # Panics
    ///
    /// If the loader panics (the panic is propagated), or if it calls
    /// `get_or_insert_with`/`try_get_or_insert_with` for the same key.
    pub fn get_or_insert_with<Q>(&self, key: &Q, loader: impl FnOnce() -> V) -> V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        V: Sync,
    {
        match self.try_get_or_insert_with(key, || Ok::<V, std::convert::Infallible>(loader())) {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// The fallible [`get_or_insert_with`](Self::get_or_insert_with): on a miss,
    /// `loader`'s value is cached and returned; its error is returned and nothing is
    /// cached, so the next call loads again.
    ///
    /// What waiters get when the loader fails: every caller waiting on that load whose
    /// call has the same error type `E` receives the same error, as `Arc<E>` (which is
    /// why errors are shared, not cloned). A waiting caller whose call has a different
    /// error type retries with its own loader.
    ///
    /// ```
    /// use ssot_cache::MemoryCache;
    ///
    /// let cache: MemoryCache<u32, String> = MemoryCache::new(100);
    /// let err = cache.try_get_or_insert_with(&7, || Err("backend down")).unwrap_err();
    /// assert_eq!(*err, "backend down");
    /// assert!(!cache.contains_key(&7), "a failed load caches nothing");
    /// let v = cache.try_get_or_insert_with(&7, || Ok::<_, &str>("seven".to_string()));
    /// assert_eq!(v.as_deref(), Ok("seven"));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`get_or_insert_with`](Self::get_or_insert_with): if the loader panics, or
    /// loads its own key.
    pub fn try_get_or_insert_with<Q, E>(
        &self,
        key: &Q,
        loader: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        E: Send + Sync + 'static,
        V: Sync,
    {
        let hash = self.hash(key);
        let shard = self.shard_for(hash);
        let flight = loop {
            let mut now = LazyNow::new(&*self.inner.clock);
            let mut removed = self.removed();
            let joined = {
                let mut s = shard.write();
                if let Some((v, _)) = s.get(hash, key, &mut now, false, &mut removed) {
                    drop(s);
                    self.notify(removed);
                    return Ok(v);
                }
                match s.loads.find(hash, |p| p.key.borrow() == key) {
                    Some(p) => Arc::clone(&p.flight),
                    None => {
                        let flight = Arc::new(Flight::new());
                        // The one owned key of a miss: stored when the load lands.
                        let pending = Pending {
                            key: key.to_owned(),
                            hash,
                            flight: Arc::clone(&flight),
                            store: true,
                        };
                        s.loads.insert_unique(hash, pending, |p| p.hash);
                        drop(s);
                        self.notify(removed);
                        break flight;
                    }
                }
            };
            self.notify(removed);
            assert!(
                !joined.led_by_current_thread(),
                "MemoryCache::get_or_insert_with: the loader of a key asked the cache for \
                 the same key, and would wait for itself forever; compute the value without \
                 loading that key again from inside its own loader"
            );
            match joined.wait() {
                Outcome::Loaded(v) => return Ok(v),
                Outcome::Failed(e) => {
                    if let Ok(e) = e.downcast::<E>() {
                        return Err(e);
                    }
                }
                Outcome::Abandoned | Outcome::Loading => {}
            }
            // Retry: the load failed with another error type, or its loader panicked.
        };

        // We lead the load. The guard unregisters the flight if the loader panics.
        let mut guard = LoadGuard {
            cache: self,
            hash,
            flight: Arc::clone(&flight),
            armed: true,
        };
        let result = loader();
        let mut removed = self.removed();
        match result {
            Ok(value) => {
                {
                    let mut s = shard.write();
                    if let Some(p) = take_load(&mut s, hash, &flight)
                        && p.store
                    {
                        let weight = self.weigh(&p.key, &value);
                        let mut now = LazyNow::new(&*self.inner.clock);
                        s.insert(
                            hash,
                            p.key,
                            value.clone(),
                            weight,
                            self.inner.ttl,
                            &mut now,
                            &mut removed,
                        );
                    }
                }
                flight.finish(Outcome::Loaded(value.clone()));
                // Armed until here: a weigher or `Clone` panicking above still
                // releases the waiters.
                guard.armed = false;
                self.notify(removed);
                Ok(value)
            }
            Err(e) => {
                let e = Arc::new(e);
                drop(take_load(&mut shard.write(), hash, &flight));
                let shared: Arc<dyn std::any::Any + Send + Sync> = Arc::clone(&e) as _;
                flight.finish(Outcome::Failed(shared));
                guard.armed = false;
                Err(e)
            }
        }
    }
}

/// Unregisters `flight` from the shard, returning its registration.
fn take_load<K, V>(
    shard: &mut Shard<K, V>,
    hash: u64,
    flight: &Arc<Flight<V>>,
) -> Option<Pending<K, V>> {
    shard
        .loads
        .find_entry(hash, |p| Arc::ptr_eq(&p.flight, flight))
        .ok()
        .map(|e| e.remove().0)
}

/// Abandons a load whose loader panicked, so its waiters retry instead of hanging.
struct LoadGuard<'a, K, V>
where
    K: Hash + Eq + Send + 'static,
    V: Clone + Send + 'static,
{
    cache: &'a MemoryCache<K, V>,
    hash: u64,
    flight: Arc<Flight<V>>,
    armed: bool,
}

impl<K, V> Drop for LoadGuard<'_, K, V>
where
    K: Hash + Eq + Send + 'static,
    V: Clone + Send + 'static,
{
    fn drop(&mut self) {
        if self.armed {
            drop(take_load(
                &mut self.cache.shard_for(self.hash).write(),
                self.hash,
                &self.flight,
            ));
            self.flight.finish(Outcome::Abandoned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn memory_cache_is_send_and_sync() {
        assert_send_sync::<MemoryCache<String, Arc<Vec<u8>>>>();
    }

    #[test]
    fn default_shard_count_keeps_small_caches_in_one_shard() {
        let small: MemoryCache<u32, u32> = MemoryCache::new(40);
        assert_eq!(small.shard_count(), 1);
        let big: MemoryCache<u32, u32> = MemoryCache::new(1_000_000);
        assert!(big.shard_count() >= 4);
        assert_eq!(big.shard_capacities().iter().sum::<u64>(), 1_000_000);
    }

    #[test]
    fn a_cache_and_its_builder_debug_as_their_settings() {
        let builder = MemoryCache::<u32, u32>::builder()
            .max_capacity(100)
            .weigher(|_, v| *v)
            .time_to_live(Duration::from_secs(5))
            .shards(2)
            .eviction_policy(EvictionPolicy::Clock);
        assert_eq!(
            format!("{builder:?}"),
            "MemoryCacheBuilder { capacity: 100, weigher: true, ttl: Some(5s), tti: None, \
             shards: Some(2), policy: Clock, .. }"
        );
        let cache = builder.build();
        assert_eq!(
            format!("{cache:?}"),
            "MemoryCache { capacity: 100, shards: 2, .. }"
        );
    }

    #[test]
    fn the_default_shard_count_is_four_per_core_for_a_large_cache() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let big: MemoryCache<u32, u32> = MemoryCache::new(1_000_000);
        // 1,000,000 / 32 = 31,250 allows up to 16,384 shards.
        assert_eq!(
            big.shard_count(),
            (cores * 4).next_power_of_two().min(1 << 14)
        );
        // One shard per 32 units of capacity at most: 100 / 32 = 3, rounded down to 2.
        let mid: MemoryCache<u32, u32> = MemoryCache::new(100);
        assert_eq!(mid.shard_count(), 2.min((cores * 4).next_power_of_two()));
    }

    #[test]
    fn capacity_is_split_over_the_shards_the_first_taking_the_remainder() {
        let cache: MemoryCache<u32, u32> =
            MemoryCache::builder().max_capacity(10).shards(4).build();
        assert_eq!(cache.shard_capacities(), vec![3, 3, 2, 2]);
        assert_eq!(cache.capacity(), 10);
        assert!(cache.is_empty());
        cache.insert(1, 1);
        assert!(!cache.is_empty());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn keys_are_spread_over_every_shard() {
        let cache: MemoryCache<u32, u32> =
            MemoryCache::builder().max_capacity(8_000).shards(8).build();
        for k in 0..800 {
            cache.insert(k, k);
        }
        // With a random hasher, a shard left empty by 800 keys has odds below 1e-40.
        let per_shard: Vec<usize> = cache
            .inner
            .shards
            .iter()
            .map(|s| s.0.read().len())
            .collect();
        assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
        assert_eq!(per_shard.iter().sum::<usize>(), 800);
    }

    /// Waits (without timing) until `n` callers wait on the only flight of `key`'s shard.
    fn until_waiting(cache: &MemoryCache<u32, u32>, key: u32, n: usize) {
        let hash = cache.hash(&key);
        // Only turns a caller that never starts waiting into a failure, not a hang.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "{n} callers did not wait on the load of {key} within 60 s"
            );
            let waiting = cache
                .shard_for(hash)
                .write()
                .loads
                .find(hash, |p| p.key == key)
                .map(|p| p.flight.waiting.load(Ordering::SeqCst));
            if waiting == Some(n) {
                return;
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn waiters_of_a_failed_load_get_the_same_error_and_nothing_is_cached() {
        let cache: MemoryCache<u32, u32> = MemoryCache::builder().clock(ManualClock::new()).build();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let runs = &AtomicUsize::new(0);
        let cache = &cache;
        std::thread::scope(|s| {
            let leader = s.spawn(move || {
                cache.try_get_or_insert_with(&1, || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Err::<u32, String>("backend down".to_string())
                })
            });
            started_rx.recv().unwrap();
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(move || {
                        cache.try_get_or_insert_with(&1, || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            Ok::<u32, String>(99)
                        })
                    })
                })
                .collect();
            until_waiting(cache, 1, 3);
            release_tx.send(()).unwrap();
            let lead_err = leader.join().unwrap().unwrap_err();
            for w in waiters {
                let err = w.join().unwrap().unwrap_err();
                assert!(
                    Arc::ptr_eq(&err, &lead_err),
                    "waiters share the leader's error"
                );
            }
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(!cache.contains_key(&1));
        assert_eq!(
            cache.try_get_or_insert_with(&1, || Ok::<_, String>(5)),
            Ok(5)
        );
    }

    #[test]
    fn waiters_retry_when_the_loader_panics() {
        let cache: MemoryCache<u32, u32> = MemoryCache::builder().clock(ManualClock::new()).build();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let cache = &cache;
        std::thread::scope(|s| {
            let leader = s.spawn(move || {
                cache.get_or_insert_with(&1, || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    panic!("loader bug");
                })
            });
            started_rx.recv().unwrap();
            let waiter = s.spawn(move || cache.get_or_insert_with(&1, || 42));
            until_waiting(cache, 1, 1);
            release_tx.send(()).unwrap();
            assert!(leader.join().is_err(), "the panic reaches the leader");
            assert_eq!(waiter.join().unwrap(), 42, "the waiter loaded it itself");
        });
        assert_eq!(cache.get(&1), Some(42));
    }

    #[test]
    fn waiters_retry_when_the_weigher_panics_on_the_loaded_value() {
        // The weigher runs under the shard's lock when a load's value is stored; a
        // panic there must still release the waiters.
        let cache: MemoryCache<u32, u32> = MemoryCache::builder()
            .weigher(|_, v| if *v == 13 { panic!("weigher bug") } else { 1 })
            .clock(ManualClock::new())
            .build();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let cache = &cache;
        std::thread::scope(|s| {
            let leader = s.spawn(move || {
                cache.get_or_insert_with(&1, || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    13
                })
            });
            started_rx.recv().unwrap();
            let waiter = s.spawn(move || cache.get_or_insert_with(&1, || 14));
            until_waiting(cache, 1, 1);
            release_tx.send(()).unwrap();
            assert!(leader.join().is_err());
            assert_eq!(waiter.join().unwrap(), 14);
        });
        assert_eq!(cache.get(&1), Some(14));
    }

    #[test]
    fn a_write_during_a_load_wins_over_the_loaded_value() {
        let cache: MemoryCache<u32, u32> = MemoryCache::builder().clock(ManualClock::new()).build();
        let got = cache.get_or_insert_with(&1, || {
            cache.insert(1, 7);
            3
        });
        assert_eq!(got, 3, "the caller gets what its loader produced");
        assert_eq!(cache.get(&1), Some(7), "but the newer write stays cached");
    }

    #[test]
    fn a_removal_during_a_load_keeps_the_loaded_value_out_of_the_cache() {
        let cache: MemoryCache<u32, u32> = MemoryCache::builder().clock(ManualClock::new()).build();
        let got = cache.get_or_insert_with(&1, || {
            assert_eq!(cache.remove(&1), None);
            3
        });
        assert_eq!(got, 3, "the caller gets what its loader produced");
        assert_eq!(cache.get(&1), None, "but the removal during the load wins");
        let got = cache.get_or_insert_with(&2, || {
            cache.invalidate_all();
            4
        });
        assert_eq!(got, 4);
        assert_eq!(cache.get(&2), None, "as does an invalidation");
    }

    #[test]
    fn node_overhead_is_as_documented() {
        // Documented in the crate docs: 13 bytes of node beyond key and value
        // (deadline, weight), padded; links (8) and cold data (16) live apart.
        let base = std::mem::size_of::<crate::shard::Node<(), ()>>();
        assert_eq!(base, 16);
        assert_eq!(std::mem::size_of::<crate::shard::Node<u64, u64>>(), 32);
    }
}
