//! One vocabulary across the tiers: what `evictions` counts, how `insert` takes its
//! arguments, and lookups by a borrowed key (issue 12, item 11).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ssot_cache::{DiskTier, ManualClock, MemoryCache, Tier, TieredCache};

#[test]
fn evictions_count_only_what_a_tier_dropped_on_its_own_everywhere() {
    let cache: MemoryCache<u32, u32> = MemoryCache::builder()
        .max_capacity(2)
        .shards(1)
        .clock(ManualClock::new())
        .build();
    cache.insert(1, 1);
    cache.insert(1, 2); // replaced: not an eviction
    cache.insert(2, 2);
    cache.insert(3, 3); // evicts 1 for capacity
    cache.remove(&2); // explicit: not an eviction
    let stats = cache.stats();
    assert_eq!(
        (stats.evicted_capacity, stats.replaced, stats.explicit),
        (1, 1, 1)
    );
    assert_eq!(stats.evictions(), 1);
    assert_eq!(Tier::evictions(&cache), stats.evictions());

    let dir = tempfile::tempdir().unwrap();
    let disk: DiskTier<u32, u32> = DiskTier::open(dir.path(), 1 << 20).unwrap();
    disk.insert(1, 1).unwrap();
    disk.insert(1, 2).unwrap();
    disk.remove(&1).unwrap();
    assert_eq!(disk.stats().evictions(), 0);
    assert_eq!(Tier::evictions(&disk), disk.stats().evictions());

    // One of each cause the disk tier drops on its own: capacity, expiry, damage.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let disk: DiskTier<u32, Vec<u8>> = DiskTier::builder(dir.path())
        .max_bytes(300)
        .clock(clock.clone())
        .open()
        .unwrap();
    disk.insert(1, vec![0; 100]).unwrap();
    disk.insert(2, vec![0; 100]).unwrap();
    disk.insert(3, vec![0; 100]).unwrap(); // evicts 1
    disk.insert_with_ttl(4, vec![0; 10], Duration::from_secs(1))
        .unwrap(); // evicts 2
    clock.advance(Duration::from_secs(2));
    assert_eq!(disk.get(&4).unwrap(), None); // expired
    std::fs::write(disk.path_of(&3).unwrap(), b"damaged").unwrap();
    assert_eq!(disk.get(&3).unwrap(), None); // corrupt
    let s = disk.stats();
    assert_eq!((s.evicted_capacity, s.expired, s.corrupt), (2, 1, 1));
    assert_eq!(s.evictions(), 4);
    assert_eq!(Tier::evictions(&disk), 4);
}

#[test]
fn insert_takes_key_and_value_by_value_in_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let memory: MemoryCache<String, Vec<u8>> = MemoryCache::new(10);
    let disk: DiskTier<String, Vec<u8>> = DiskTier::open(dir.path(), 1 << 20).unwrap();
    let tiered: TieredCache<String, Vec<u8>> = TieredCache::builder().build();
    type Memory = MemoryCache<String, Vec<u8>>;
    type Disk = DiskTier<String, Vec<u8>>;
    type Tiered = TieredCache<String, Vec<u8>>;
    type Stored = ssot_cache::Result<()>;
    let insert_memory: fn(&Memory, String, Vec<u8>) = MemoryCache::insert;
    let insert_disk: fn(&Disk, String, Vec<u8>) -> Stored = DiskTier::insert;
    let insert_tiered: fn(&Tiered, String, Vec<u8>) -> Stored = TieredCache::insert;
    insert_memory(&memory, "k".to_string(), vec![1]);
    insert_disk(&disk, "k".to_string(), vec![1]).unwrap();
    insert_tiered(&tiered, "k".to_string(), vec![1]).unwrap();
    assert_eq!(memory.get("k"), Some(vec![1]));
    assert_eq!(disk.get("k").unwrap(), Some(vec![1]));
}

/// A key whose every clone is counted: `ToOwned` of a `Clone` type is `clone`.
#[derive(PartialEq, Eq, Hash, Debug)]
struct Counted(u32);

static CLONES: AtomicUsize = AtomicUsize::new(0);

impl Clone for Counted {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, Ordering::SeqCst);
        Counted(self.0)
    }
}

#[test]
fn get_or_insert_with_takes_a_borrowed_key_and_owns_it_only_on_a_miss() {
    let cache: MemoryCache<String, u32> = MemoryCache::new(10);
    assert_eq!(cache.get_or_insert_with("a", || 1), 1);
    assert_eq!(cache.get_or_insert_with("a", || 2), 1);
    assert_eq!(cache.try_get_or_insert_with("b", || Ok::<_, ()>(3)), Ok(3));

    let cache: MemoryCache<Counted, u32> = MemoryCache::new(10);
    let key = Counted(7);
    assert_eq!(cache.get_or_insert_with(&key, || 1), 1);
    let after_miss = CLONES.load(Ordering::SeqCst);
    assert_eq!(after_miss, 1, "a miss makes the one owned key it stores");
    for _ in 0..5 {
        assert_eq!(cache.get_or_insert_with(&key, || 2), 1);
    }
    assert_eq!(
        CLONES.load(Ordering::SeqCst),
        after_miss,
        "a hit clones no key"
    );
}
