//! The tiered cache: promotion, time-to-live carried across tiers, invalidation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ssot_cache::{DiskTier, Error, ManualClock, MemoryCache, Tier, TierEntry, TieredCache};

type Disk = DiskTier<String, String>;

fn setup(
    dir: &std::path::Path,
    clock: &ManualClock,
) -> (
    MemoryCache<String, String>,
    Disk,
    TieredCache<String, String>,
) {
    let memory = MemoryCache::builder()
        .max_capacity(100)
        .clock(clock.clone())
        .build();
    let disk = DiskTier::builder(dir)
        .max_bytes(1 << 20)
        .clock(clock.clone())
        .open()
        .unwrap();
    let cache = TieredCache::builder()
        .tier(memory.clone())
        .tier(disk.clone())
        .build();
    (memory, disk, cache)
}

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn a_lower_tier_hit_is_promoted_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let (memory, disk, cache) = setup(dir.path(), &clock);
    cache.insert(s("k"), s("v")).unwrap();
    assert_eq!(memory.get("k"), Some(s("v")), "write-through: L1");
    assert_eq!(
        disk.get(&s("k")).unwrap(),
        Some(s("v")),
        "write-through: L2"
    );
    memory.invalidate_all();

    assert_eq!(cache.get(&s("k")).unwrap(), Some(s("v")));
    assert!(memory.contains_key("k"), "promoted into L1");
    assert_eq!(cache.get(&s("k")).unwrap(), Some(s("v")));
    assert_eq!(cache.get(&s("absent")).unwrap(), None);

    let stats = cache.stats();
    assert_eq!(
        (stats[0].name.as_str(), stats[1].name.as_str()),
        ("memory", "disk")
    );
    assert_eq!(
        (stats[0].hits, stats[0].misses, stats[0].promotions),
        (1, 2, 1)
    );
    assert_eq!(
        (stats[1].hits, stats[1].misses, stats[1].promotions),
        (1, 1, 0)
    );
}

#[test]
fn promotion_carries_the_remaining_time_to_live() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let (memory, _disk, cache) = setup(dir.path(), &clock);
    cache
        .insert_with_ttl(s("k"), s("v"), Duration::from_secs(60))
        .unwrap();
    memory.invalidate_all();
    clock.advance(Duration::from_secs(45));
    assert_eq!(cache.get(&s("k")).unwrap(), Some(s("v")));
    assert_eq!(
        memory.get_with_ttl("k").map(|(_, t)| t),
        Some(Some(Duration::from_secs(15)))
    );
    clock.advance(Duration::from_secs(15));
    assert_eq!(
        memory.get("k"),
        None,
        "the promoted copy expires with the original"
    );
    assert_eq!(
        cache.get(&s("k")).unwrap(),
        None,
        "and so does the original"
    );
}

#[test]
fn a_tier_keeps_the_shorter_of_the_carried_and_its_own_time_to_live() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let memory: MemoryCache<String, String> = MemoryCache::builder()
        .time_to_live(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    let disk: DiskTier<String, String> = DiskTier::builder(dir.path())
        .clock(clock.clone())
        .open()
        .unwrap();
    let cache = TieredCache::builder()
        .tier(memory.clone())
        .tier(disk)
        .build();
    cache
        .insert_with_ttl(s("k"), s("v"), Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        memory.get_with_ttl("k").map(|(_, t)| t),
        Some(Some(Duration::from_secs(10)))
    );
    clock.advance(Duration::from_secs(10));
    assert_eq!(memory.get("k"), None);
    assert_eq!(
        cache.get(&s("k")).unwrap(),
        Some(s("v")),
        "the disk still has it"
    );
}

#[test]
fn invalidation_reaches_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let (memory, disk, cache) = setup(dir.path(), &clock);
    for k in ["a", "b", "c"] {
        cache.insert(s(k), s(k)).unwrap();
    }
    cache.invalidate(&s("a")).unwrap();
    assert!(!memory.contains_key("a"));
    assert_eq!(disk.get(&s("a")).unwrap(), None);
    assert_eq!(cache.get(&s("a")).unwrap(), None);
    assert_eq!(cache.get(&s("b")).unwrap(), Some(s("b")));

    cache.invalidate_all().unwrap();
    assert!(memory.is_empty());
    assert!(disk.is_empty());
    assert_eq!(cache.get(&s("c")).unwrap(), None);
}

/// A tier that holds entries in a map and can be told to fail writes.
#[derive(Default)]
struct Flaky {
    map: Mutex<HashMap<String, (String, Option<Duration>)>>,
    fail_writes: std::sync::atomic::AtomicBool,
}

impl Tier<String, String> for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn get(&self, key: &String) -> Result<Option<TierEntry<String>>, Error> {
        let map = self.map.lock().unwrap();
        Ok(map.get(key).map(|(v, ttl)| TierEntry {
            value: v.clone(),
            ttl: *ttl,
        }))
    }
    fn insert(&self, key: &String, value: &String, ttl: Option<Duration>) -> Result<(), Error> {
        if self.fail_writes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::tier("flaky", "write refused"));
        }
        self.map
            .lock()
            .unwrap()
            .insert(key.clone(), (value.clone(), ttl));
        Ok(())
    }
    fn remove(&self, key: &String) -> Result<(), Error> {
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
    fn clear(&self) -> Result<(), Error> {
        self.map.lock().unwrap().clear();
        Ok(())
    }
}

#[test]
fn a_user_tier_at_the_bottom_is_promoted_through_every_tier_above() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let (memory, disk, _) = setup(dir.path(), &clock);
    let remote = Arc::new(Flaky::default());
    remote
        .map
        .lock()
        .unwrap()
        .insert(s("k"), (s("from remote"), Some(Duration::from_secs(30))));
    let cache = TieredCache::builder()
        .tier(memory.clone())
        .tier(disk.clone())
        .tier(Arc::clone(&remote))
        .build();
    assert_eq!(cache.get(&s("k")).unwrap(), Some(s("from remote")));
    assert_eq!(
        disk.get_with_ttl(&s("k")).unwrap(),
        Some((s("from remote"), Some(Duration::from_secs(30))))
    );
    assert_eq!(
        memory.get_with_ttl("k").map(|(_, t)| t),
        Some(Some(Duration::from_secs(30)))
    );
    let stats = cache.stats();
    assert_eq!(
        stats.iter().map(|t| t.promotions).collect::<Vec<_>>(),
        [1, 1, 0]
    );
}

#[test]
fn a_failed_write_leaves_no_tier_serving_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let (memory, _disk, _) = setup(dir.path(), &clock);
    let remote = Arc::new(Flaky::default());
    let cache = TieredCache::builder()
        .tier(memory.clone())
        .tier(Arc::clone(&remote))
        .build();
    cache.insert(s("k"), s("old")).unwrap();
    remote
        .fail_writes
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = cache.insert(s("k"), s("new")).unwrap_err();
    assert_eq!(err.to_string(), "tier `flaky`: write refused");
    assert_eq!(
        cache.get(&s("k")).unwrap(),
        None,
        "neither old nor half-written"
    );
}

/// A map tier whose next `get` can be held after it has read the value, so a test
/// can run a write or an invalidation between a read and its promotion.
#[derive(Default)]
struct Gated {
    inner: Flaky,
    /// (read done, release) of the held `get`.
    gate: Mutex<Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>>,
}

impl Tier<String, String> for Gated {
    fn name(&self) -> &str {
        "gated"
    }
    fn get(&self, key: &String) -> Result<Option<TierEntry<String>>, Error> {
        let found = self.inner.get(key);
        if let Some((read, release)) = self.gate.lock().unwrap().take() {
            read.send(()).unwrap();
            release
                .recv_timeout(Duration::from_secs(60))
                .expect("the test releases the held read");
        }
        found
    }
    fn insert(&self, key: &String, value: &String, ttl: Option<Duration>) -> Result<(), Error> {
        self.inner.insert(key, value, ttl)
    }
    fn remove(&self, key: &String) -> Result<(), Error> {
        self.inner.remove(key)
    }
    fn clear(&self) -> Result<(), Error> {
        self.inner.clear()
    }
}

/// Reads `k` through a two-tier cache whose lower tier is held after reading, runs
/// `meanwhile` while it is held, then lets the read promote what it read.
fn promote_across(
    meanwhile: impl FnOnce(&TieredCache<String, String>),
) -> MemoryCache<String, String> {
    let memory: MemoryCache<String, String> = MemoryCache::new(100);
    let lower = Arc::new(Gated::default());
    let cache = TieredCache::builder()
        .tier(memory.clone())
        .tier(Arc::clone(&lower))
        .build();
    cache.insert(s("k"), s("old")).unwrap();
    memory.invalidate_all(); // only the lower tier has it
    let (read_tx, read_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    *lower.gate.lock().unwrap() = Some((read_tx, release_rx));
    std::thread::scope(|sc| {
        let reader = sc.spawn(|| cache.get(&s("k")).unwrap());
        read_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the reader reaches the lower tier");
        meanwhile(&cache);
        release_tx.send(()).unwrap();
        // The read itself may answer either value: it overlapped the write.
        let _ = reader.join().unwrap();
    });
    memory
}

#[test]
fn a_promotion_racing_an_invalidation_does_not_resurrect_the_value() {
    let memory = promote_across(|cache| cache.invalidate(&s("k")).unwrap());
    assert_eq!(
        memory.get("k"),
        None,
        "the upper tier serves an invalidated value"
    );
}

#[test]
fn a_promotion_racing_a_write_does_not_leave_the_older_value_above() {
    let memory = promote_across(|cache| cache.insert(s("k"), s("new")).unwrap());
    assert_ne!(
        memory.get("k").as_deref(),
        Some("old"),
        "the upper tier serves an overwritten value"
    );
}

#[test]
fn huge_times_to_live_mean_never_in_every_tier_without_overflow() {
    // Deadlines are `now + ttl` in u64 nanoseconds: every sum must saturate, at any
    // clock reading, into "never" rather than wrap into the past or panic.
    let huge = [
        Duration::MAX,
        Duration::from_secs(u64::MAX),
        Duration::from_nanos(u64::MAX - 1),
    ];
    for start in [1_000_000_000, u64::MAX - 10] {
        for ttl in huge {
            let dir = tempfile::tempdir().unwrap();
            let clock = ManualClock::starting_at(ssot_cache::Timestamp::from_unix_nanos(start));
            let memory: MemoryCache<String, String> = MemoryCache::builder()
                .time_to_live(ttl)
                .time_to_idle(ttl)
                .clock(clock.clone())
                .build();
            let disk: Disk = DiskTier::builder(dir.path())
                .time_to_live(ttl)
                .clock(clock.clone())
                .open()
                .unwrap();
            let cache = TieredCache::builder()
                .tier(memory.clone())
                .tier(disk.clone())
                .time_to_live(ttl)
                .build();
            cache.insert(s("a"), s("1")).unwrap();
            cache.insert_with_ttl(s("b"), s("2"), ttl).unwrap();
            memory.insert_with_ttl(s("c"), s("3"), ttl);
            clock.advance(Duration::from_secs(1_000 * 365 * 24 * 3600));
            memory.invalidate_all();
            assert_eq!(cache.get(&s("a")).unwrap().as_deref(), Some("1"), "{ttl:?}");
            assert_eq!(cache.get(&s("b")).unwrap().as_deref(), Some("2"), "{ttl:?}");
            assert_eq!(disk.get_with_ttl(&s("b")).unwrap().map(|e| e.1), Some(None));
            let _ = memory.get_or_insert_with("c", || s("3"));
            assert_eq!(memory.get_with_ttl("c"), Some((s("3"), None)));
        }
    }
}
