//! A cache you can trust in a threaded program: a bounded, expiring, observable
//! in-memory LRU cache, a checksummed disk tier that survives a restart, and a tiered
//! cache that puts the first in front of the second.
//!
//! [`MemoryCache`] is a sharded, exact-per-shard LRU cache (`Send + Sync`) with a
//! capacity in entries or in weight, a default and a per-entry time-to-live, an
//! optional time-to-idle, single-flight loading ([`MemoryCache::get_or_insert_with`]),
//! an eviction listener and statistics. [`DiskTier`] keeps one checksummed file per
//! entry in a directory, bounded in bytes, written atomically; a damaged file is a
//! miss, never a wrong value. [`TieredCache`] composes tiers through the public
//! [`Tier`] trait: reads fall through and promote what they find upwards with its
//! remaining time-to-live, writes and invalidations reach every tier. Time comes from
//! a [`Clock`], so expiry is tested with a [`ManualClock`] instead of sleeps.
//!
//! # Example: a bounded cache with a time-to-live
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ssot_cache::MemoryCache;
//!
//! // Values are cloned out on every hit: share big values through an `Arc`.
//! let cache: MemoryCache<String, Arc<str>> = MemoryCache::builder()
//!     .max_capacity(10_000)
//!     .time_to_live(Duration::from_secs(300))
//!     .build();
//!
//! cache.insert("config".to_string(), Arc::from("{\"retries\": 3}"));
//! assert_eq!(cache.get("config").as_deref(), Some("{\"retries\": 3}"));
//! assert_eq!(cache.stats().hits, 1);
//! ```
//!
//! # Example: load once, however many threads ask
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use ssot_cache::MemoryCache;
//!
//! let cache: MemoryCache<u32, String> = MemoryCache::new(1_000);
//! let loads = AtomicUsize::new(0);
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             let plan = cache.get_or_insert_with(&42, || {
//!                 loads.fetch_add(1, Ordering::SeqCst);
//!                 "computed plan".to_string()
//!             });
//!             assert_eq!(plan, "computed plan");
//!         });
//!     }
//! });
//! assert_eq!(loads.load(Ordering::SeqCst), 1);
//! ```
//!
//! # Example: weigh entries and watch evictions
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use ssot_cache::{MemoryCache, RemovalCause};
//!
//! let evicted = Arc::new(Mutex::new(Vec::new()));
//! let log = Arc::clone(&evicted);
//! let cache: MemoryCache<&str, Vec<u8>> = MemoryCache::builder()
//!     .max_capacity(1_000) // bytes, with the weigher below
//!     .weigher(|_key, value: &Vec<u8>| value.len().try_into().unwrap_or(u32::MAX))
//!     .shards(1)
//!     .eviction_listener(move |key, _value, cause| log.lock().unwrap().push((key, cause)))
//!     .build();
//! cache.insert("a", vec![0; 600]);
//! cache.insert("b", vec![0; 600]); // 1,200 bytes do not fit: "a" goes
//! assert_eq!(*evicted.lock().unwrap(), [("a", RemovalCause::Capacity)]);
//! assert_eq!(cache.weighted_size(), 600);
//! ```
//!
//! # Example: a memory tier in front of a disk tier
//!
//! ```
//! use ssot_cache::{DiskTier, MemoryCache, TieredCache};
//!
//! let dir = tempfile::tempdir()?;
//! let memory: MemoryCache<String, Vec<String>> = MemoryCache::new(1_000);
//! let disk = DiskTier::open(dir.path(), 64 << 20)?;
//! let cache = TieredCache::builder().tier(memory.clone()).tier(disk).build();
//!
//! cache.insert("schema:task".to_string(), vec!["id".to_string(), "title".to_string()])?;
//! memory.invalidate_all(); // as after a restart
//! assert!(cache.get(&"schema:task".to_string())?.is_some()); // read from disk...
//! assert!(memory.contains_key("schema:task")); // ...and promoted
//! assert_eq!(cache.stats()[1].hits, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//!
//! | Operation | Memory tier |
//! |---|---|
//! | `get` | a live entry's value (cloned); the entry becomes its shard's most recently used and its idle time restarts. An expired entry found is removed (listener: `Expired`) and is a miss. |
//! | `insert`, `insert_with_ttl` | stores the entry as most recently used with the default or the given time-to-live; a previous value is reported `Replaced`; least recently used entries of the shard are evicted (`Capacity`, or `Expired` if they had expired) until it fits. An entry heavier than a shard's capacity is not stored (`Capacity`). |
//! | `remove` | the value if live; reported `Explicit` (`Expired` if it had expired). |
//! | `contains_key` | whether a live entry exists; no statistics, no reordering. |
//! | `invalidate_all`, `invalidate_if` | remove all or matching entries (`Explicit`, or `Expired`). |
//! | `get_or_insert_with`, `try_get_or_insert_with` | single flight per key; see their docs for failures and panics. |
//! | `purge_expired` | removes every expired entry now. |
//!
//! **Sharding.** The cache is split into shards (a power of two; by default four per
//! core, at most one per 32 units of capacity), each an exact LRU list holding an
//! equal share of the capacity. The eviction victim is the least recently used
//! entry of the new key's shard, not necessarily of the whole cache;
//! [`MemoryCacheBuilder::shards`]`(1)` gives an exact global LRU.
//!
//! **Eviction policy.** [`EvictionPolicy::Lru`] (the default) is the exact LRU above:
//! a hit moves its entry under the shard's exclusive lock.
//! [`EvictionPolicy::Clock`] (second chance) serves a hit under the shard's shared
//! lock and only marks the entry as read; an eviction passes over marked entries once
//! (moving them to the front, unmarked) and takes the first unmarked one. Hits then
//! scale across threads; the victims approximate LRU's. Both are checked against the
//! reference model in `tests/model.rs`.
//!
//! **Expiry is lazy.** An expired entry is removed when it is read, reaches the LRU
//! end during an eviction, or by `purge_expired`/invalidation; until then it counts
//! towards `len` and capacity (never towards hits). Entries that cannot expire (no
//! time-to-live or time-to-idle) are served without reading the clock.
//!
//! **Disk and tiers.** A tier may drop an entry earlier than asked (capacity, its own
//! shorter time-to-live, corruption) but never serves it after its time-to-live, nor
//! a value other than the last one written. A promoted entry keeps its remaining
//! time-to-live; a tier with its own default time-to-live keeps the shorter of the
//! two.
//!
//! # Costs
//!
//! | Operation | Cost |
//! |---|---|
//! | `MemoryCache::get` (hit) | one hash (foldhash), one uncontended lock of one shard, one hash-table probe, an O(1) relink in the LRU list, `V::clone`. No allocation; one clock read only if the entry can expire. With `EvictionPolicy::Clock`: the shard's shared lock and at most one bit written instead of the relink (an entry with a time-to-idle, or found expired, takes the exclusive path). |
//! | eviction under `EvictionPolicy::Clock` | O(1) amortized: each entry passed over had its mark cleared, so at most one pass over the shard per mark set by hits. |
//! | `get` (miss) | hash, lock, probe. |
//! | `insert` | hash, weigher, lock, probe, O(1) per evicted entry; when one eviction makes room the new entry reuses the victim's slot. Allocates only when a shard's slab or table grows. |
//! | `remove`, `contains_key` | O(1); `contains_key` takes the shard's shared lock. |
//! | `invalidate_all`, `invalidate_if`, `purge_expired` | O(n), one shard locked at a time. |
//! | `len`, `weighted_size`, `stats` | one shared lock per shard. |
//! | `get_or_insert_with` (miss) | a `get`, one `Arc` for the flight, the loader (no lock held), an `insert`. Waiters block on a condition variable. |
//! | eviction listener | runs after the shard's lock is released; with a listener set, an operation that removes entries collects them in a `Vec` first. |
//! | `DiskTier::get` | postcard-encode and blake3 the key, an index lookup under a mutex, read the file, blake3 it, decode. |
//! | `DiskTier::insert` | encode, checksum, write a temporary file, rename it under the file's stripe lock, unlink evicted files (optionally `fsync`). No file-system call is made under the index mutex. |
//! | `DiskTier::open` | one `stat` per file in the directory, and an 8-byte read of each file named as an entry (its magic). |
//! | `TieredCache::get` | tier reads down to the first hit, then one insert per tier above it. |
//! | `TieredCache::insert` | one insert per tier. |
//!
//! **Memory per entry** (memory tier): a node of `size_of::<K>() + size_of::<V>()` plus
//! 13 bytes (effective deadline, weight, CLOCK mark; padded to the alignment of `K` and `V`), 8
//! bytes of LRU links and 16 bytes of data only writes read (hash, time-to-live
//! deadline), each in its own dense vector, and about 6 bytes of hash index (a 4-byte
//! slot and a control byte at up to 7/8 load). For `u64 → u64` that is
//! 32 + 8 + 16 + ~6 ≈ 62 bytes.
//! A shard's vectors grow by doubling, so up to half of a shard's reserved memory may
//! be slack while it fills; it is not given back when entries leave. Heap data
//! owned by keys and values (a `String`'s buffer) comes on top.
//!
//! # Platforms
//!
//! Tested on Linux (x86-64), the only platform CI runs. The crate builds on Unix
//! targets only: the disk tier relies on a rename replacing a file other threads are
//! reading and on flushing a directory after a rename (`sync_writes`), which the
//! standard library offers on Unix alone. Elsewhere the build stops with a
//! `compile_error!` that says so, rather than ship a disk tier that half works. The
//! memory tier and the clocks use nothing platform-specific.
//!
//! # Map of the crate
//!
//! - [`MemoryCache`], [`MemoryCacheBuilder`], [`EvictionPolicy`]: the memory tier.
//! - [`DiskTier`], [`DiskTierBuilder`], [`DiskStats`]: the disk tier and its file format.
//! - [`TieredCache`], [`TieredCacheBuilder`], [`Tier`], [`TierEntry`]: composition.
//! - [`Clock`], [`SystemClock`], [`CoarseClock`], [`ManualClock`], [`Timestamp`]: time.
//! - [`CacheStats`], [`TierStats`], [`RemovalCause`]: observation.
//! - [`Error`], [`Result`]: the one error type (disk and user tiers; the memory tier
//!   cannot fail) and its `Result` alias.
#![deny(missing_docs)]

mod clock;
mod disk;
mod error;
mod flight;
mod memory;
mod shard;
mod stats;
mod tier;
mod tiered;

pub use clock::{Clock, CoarseClock, ManualClock, SystemClock, Timestamp};
pub use disk::{DiskStats, DiskTier, DiskTierBuilder};
pub use error::{Error, Result};
pub use memory::{EvictionPolicy, MemoryCache, MemoryCacheBuilder};
pub use stats::{CacheStats, RemovalCause, TierStats};
pub use tier::{Tier, TierEntry};
pub use tiered::{TieredCache, TieredCacheBuilder};
