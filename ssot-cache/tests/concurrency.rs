//! Threads: single-flight loads and a stress test with a self-checked invariant.
//!
//! Nothing here waits on wall-clock time: threads are lined up with barriers, and a
//! loader that must stay in flight until every caller has arrived waits for the
//! cache's own miss counter to say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use ssot_cache::{ManualClock, MemoryCache, RemovalCause};

const THREADS: usize = 8;

#[test]
fn concurrent_callers_for_one_missing_key_run_the_loader_once() {
    for round in 0..20u64 {
        let cache: MemoryCache<u64, Arc<String>> = MemoryCache::new(1_000);
        let runs = AtomicUsize::new(0);
        let barrier = Barrier::new(THREADS);
        let results: Vec<Arc<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        cache.get_or_insert_with(&round, || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            // Stay in flight until every caller has missed: then all
                            // but this one are waiting on this load.
                            // The deadline only turns a broken single flight
                            // (a caller that never arrives) into a failure.
                            let deadline = std::time::Instant::now() + Duration::from_secs(60);
                            while cache.stats().misses < THREADS as u64 {
                                assert!(
                                    std::time::Instant::now() < deadline,
                                    "not every caller missed within 60 s"
                                );
                                std::thread::yield_now();
                            }
                            Arc::new(format!("value {round}"))
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "round {round}: loader ran more than once"
        );
        for r in &results {
            assert_eq!(**r, format!("value {round}"));
            assert!(
                Arc::ptr_eq(r, &results[0]),
                "everyone got the one loaded value"
            );
        }
        let stats = cache.stats();
        assert_eq!((stats.misses, stats.inserts), (THREADS as u64, 1));
    }
}

#[test]
fn loads_of_different_keys_run_in_parallel() {
    // Two loaders that each wait for the other to start: this only finishes if a load
    // of one key does not block a load of another, even in the same shard.
    let cache: MemoryCache<u32, u32> = MemoryCache::builder().max_capacity(10).shards(1).build();
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        for k in 0..2u32 {
            let (cache, barrier) = (&cache, &barrier);
            s.spawn(move || {
                cache.get_or_insert_with(&k, || {
                    barrier.wait();
                    k * 10
                })
            });
        }
    });
    assert_eq!((cache.get(&0), cache.get(&1)), (Some(0), Some(10)));
}

/// A value that names its key, so a value served under another key is detectable.
fn value_for(key: u64, n: u64) -> u64 {
    (key << 32) | (n & 0xFFFF_FFFF)
}

fn key_of(value: u64) -> u64 {
    value >> 32
}

#[test]
fn stress_values_are_never_mixed_between_keys() {
    const KEYS: u64 = 512;
    const OPS: u64 = 20_000;
    let clock = ManualClock::new();
    let mixed = Arc::new(AtomicBool::new(false));
    let listener_mixed = Arc::clone(&mixed);
    let cache: MemoryCache<u64, u64> = MemoryCache::builder()
        .max_capacity(100)
        .shards(4)
        .time_to_live(Duration::from_secs(50))
        .clock(clock.clone())
        .eviction_listener(move |k, v, _cause: RemovalCause| {
            if key_of(v) != k {
                listener_mixed.store(true, Ordering::SeqCst);
            }
        })
        .build();
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS as u64 {
            let (cache, barrier, clock) = (&cache, &barrier, &clock);
            s.spawn(move || {
                barrier.wait();
                let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for n in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = x % KEYS;
                    match x % 100 {
                        0..=59 => {
                            if let Some(v) = cache.get(&key) {
                                assert_eq!(key_of(v), key, "get({key}) returned {v:#x}");
                            }
                        }
                        60..=84 => cache.insert(key, value_for(key, n)),
                        85..=92 => {
                            let v = cache.get_or_insert_with(&key, || value_for(key, n));
                            assert_eq!(key_of(v), key);
                        }
                        93..=96 => {
                            if let Some(v) = cache.remove(&key) {
                                assert_eq!(key_of(v), key);
                            }
                        }
                        97 => cache.insert_with_ttl(key, value_for(key, n), Duration::from_secs(3)),
                        98 => clock.advance(Duration::from_secs(1)),
                        _ => cache.invalidate_if(|k, v| k % 7 == 0 && key_of(*v) == *k),
                    }
                }
            });
        }
    });
    assert!(
        !mixed.load(Ordering::SeqCst),
        "the listener saw a value under another key"
    );
    assert!(cache.weighted_size() <= 100);
    let stats = cache.stats();
    assert!(stats.hits > 0 && stats.misses > 0 && stats.evicted_capacity > 0 && stats.expired > 0);
    for key in 0..KEYS {
        if let Some(v) = cache.get(&key) {
            assert_eq!(key_of(v), key);
        }
    }
}

/// Runs `f` on its own thread and fails (instead of hanging the test run) if it has
/// not finished after a generous minute: the timeout only turns a deadlock into a
/// failure, it asserts nothing about speed.
fn within_a_minute<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: deadlocked (no answer within 60 s)"))
}

#[test]
fn a_loader_asking_for_another_key_of_the_same_shard_does_not_deadlock() {
    let got = within_a_minute("nested load of another key", || {
        let cache: MemoryCache<u32, u32> = MemoryCache::builder().shards(1).build();
        cache.get_or_insert_with(&1, || cache.get_or_insert_with(&2, || 20) + 1)
    });
    assert_eq!(got.unwrap(), 21);
}

#[test]
fn a_loader_asking_for_its_own_key_panics_instead_of_deadlocking() {
    let got = within_a_minute("nested load of the same key", || {
        let cache: MemoryCache<u32, u32> = MemoryCache::builder().shards(1).build();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.get_or_insert_with(&1, || cache.get_or_insert_with(&1, || 10) + 1)
        }));
        // The cache is still usable: the abandoned load left nothing behind.
        (r.is_err(), cache.get_or_insert_with(&1, || 5))
    });
    assert_eq!(got.unwrap(), (true, 5));
}

#[test]
fn a_listener_may_use_the_cache_it_listens_to() {
    let got = within_a_minute("listener re-entering the cache", || {
        let slot: Arc<std::sync::OnceLock<MemoryCache<u32, u32>>> = Arc::default();
        let seen = Arc::clone(&slot);
        let cache: MemoryCache<u32, u32> = MemoryCache::builder()
            .max_capacity(2)
            .shards(1)
            .eviction_listener(move |k, v, cause| {
                if let Some(c) = seen.get()
                    && cause == RemovalCause::Capacity
                    && k < 100
                {
                    // Re-enter: read, write (evicting again) and remove.
                    let _ = c.get(&k);
                    c.insert(k + 100, v);
                    c.remove(&(k + 100));
                }
            })
            .build();
        let _ = slot.set(cache.clone());
        for k in 0..10 {
            cache.insert(k, k);
            let _ = cache.get_or_insert_with(&(k + 50), || k);
        }
        cache.len()
    });
    assert!(got.unwrap() <= 2);
}
