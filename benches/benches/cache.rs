//! The memory tier against moka, quick_cache and `lru` behind a mutex; the disk tier.
//!
//! Every memory cache holds `u64 → u64` (a cheap clone, so the numbers are the caches'
//! own cost) and is driven through the same trait from 1 and 2 threads (each thread
//! does the same number of operations; throughput is operations of all threads per
//! second of wall time):
//!
//! - `get_hit`: reads of 50,000 present keys (capacity 100,000), uniformly at random;
//! - `get_miss`: reads of keys never inserted;
//! - `insert`: writes of keys drawn from 1,000,000 into a full cache of 10,000, so
//!   nearly every write evicts;
//! - `zipf_mixed`: 90 % reads, 10 % writes, keys Zipf-distributed (s = 1.0) over
//!   100,000, capacity 10,000.
//!
//! - `get_hit_ttl`: `get_hit` with a time-to-live on every entry (ours with the system
//!   clock and with a `CoarseClock`, and moka), which makes each hit read the clock.
//! - `get_hit_cost`: where a hit's time goes: ours, ours read with `contains_key` (no
//!   write), ours with 64 shards, ours with `EvictionPolicy::Clock`, and quick_cache.
//!
//! Hit ratios on one Zipf trace (1,000,000 reads of 100,000 keys, s = 0.9, read-through:
//! a miss inserts) at capacities of 1 % and 10 % of the keys are printed once, before
//! the timings, for every peer and for ours with `EvictionPolicy::Clock`. Then `disk`: `DiskTier` get and insert of 256-byte values, one thread.
//!
//! Peers as configured by default: moka (TinyLFU admission, LRU eviction),
//! quick_cache (S3-FIFO-like), `lru::LruCache` in a `parking_lot::Mutex`.
//!
//! Run: `cargo bench -p ssot-benches --bench cache` (add a filter such as `get_hit`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly. The hit-ratio
// table is printed for the reader.
#![allow(clippy::expect_used, clippy::print_stderr, missing_docs)]

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::Zipf;
use ssot_cache::{CoarseClock, DiskTier, EvictionPolicy, MemoryCache};

/// What every cache under test offers.
trait Cache: Sync {
    fn get(&self, k: u64) -> Option<u64>;
    fn insert(&self, k: u64, v: u64);
    /// Finishes deferred work (moka applies writes and maintenance lazily), so a
    /// measurement starts from a steady state.
    fn settle(&self) {}
}

impl Cache for MemoryCache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        MemoryCache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        MemoryCache::insert(self, k, v);
    }
}

impl Cache for moka::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        moka::sync::Cache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        moka::sync::Cache::insert(self, k, v);
    }
    fn settle(&self) {
        self.run_pending_tasks();
    }
}

impl Cache for quick_cache::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        quick_cache::sync::Cache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        quick_cache::sync::Cache::insert(self, k, v);
    }
}

impl Cache for Mutex<lru::LruCache<u64, u64>> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.lock().get(&k).copied()
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.lock().put(k, v);
    }
}

/// `MemoryCache::contains_key` in place of `get`: the same hash, shard lock and probe,
/// but nothing written (no LRU relink, no counter). `get_hit_cost` uses it to tell the
/// cost of the lock from the cost of the write an exact LRU makes on every hit.
struct Peek(MemoryCache<u64, u64>);

impl Cache for Peek {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.0.contains_key(&k).then_some(k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

const NAMES: [&str; 4] = ["ssot", "moka", "quick_cache", "lru_mutex"];

fn ssot(capacity: u64) -> MemoryCache<u64, u64> {
    MemoryCache::new(capacity)
}

fn ssot_clock(capacity: u64) -> MemoryCache<u64, u64> {
    MemoryCache::builder()
        .max_capacity(capacity)
        .eviction_policy(EvictionPolicy::Clock)
        .build()
}

fn moka(capacity: u64) -> moka::sync::Cache<u64, u64> {
    moka::sync::Cache::new(capacity)
}

fn quick(capacity: u64) -> quick_cache::sync::Cache<u64, u64> {
    quick_cache::sync::Cache::new(usize::try_from(capacity).expect("capacity fits usize"))
}

fn lru_mutex(capacity: u64) -> Mutex<lru::LruCache<u64, u64>> {
    let n = usize::try_from(capacity).expect("capacity fits usize");
    Mutex::new(lru::LruCache::new(
        NonZeroUsize::new(n).expect("capacity > 0"),
    ))
}

/// Fills `keys`, then lets the cache finish deferred work.
fn prefill<C: Cache>(cache: &C, keys: std::ops::Range<u64>) {
    for k in keys {
        cache.insert(k, k);
    }
    cache.settle();
}

const TRACE: usize = 1 << 16;

fn uniform(seed: u64, below: u64, offset: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..TRACE)
        .map(|_| offset + rng.random_range(0..below))
        .collect()
}

// Key counts are at most 100,000: exact in f64, and samples convert back exactly.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn zipf_trace(seed: u64, len: usize, keys: u64, s: f64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(keys as f64, s).expect("valid Zipf parameters");
    (0..len).map(|_| rng.sample(zipf) as u64).collect()
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    Insert,
    /// 9 reads, then 1 write.
    Mixed,
}

/// Runs `op` `iters` times on each of `threads` threads over `trace`, released
/// together by a barrier; returns the wall time from the first thread's start to the
/// last thread's end.
fn run<C: Cache>(cache: &C, threads: usize, iters: u64, trace: &[u64], op: Op) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mask = trace.len() - 1;
                    let first = t * (trace.len() / 2);
                    barrier.wait();
                    let start = Instant::now();
                    for n in 0..iters {
                        // Threads start half a trace apart, so they rarely touch one key.
                        let k = trace[(first + n as usize) & mask];
                        match op {
                            Op::Get => {
                                black_box(cache.get(k));
                            }
                            Op::Insert => cache.insert(k, n),
                            Op::Mixed => {
                                if n % 10 == 0 {
                                    cache.insert(k, n);
                                } else {
                                    black_box(cache.get(k));
                                }
                            }
                        }
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        let spans: Vec<(Instant, Instant)> = handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect();
        let start = spans.iter().map(|s| s.0).min();
        let end = spans.iter().map(|s| s.1).max();
        match (start, end) {
            (Some(start), Some(end)) => end.duration_since(start),
            _ => Duration::ZERO,
        }
    })
}

fn group(c: &mut Criterion, name: &str, capacity: u64, fill: u64, trace: &[u64], op: Op) {
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements(threads as u64));
        let id = |peer: &str| BenchmarkId::new(peer, format!("{threads}t"));
        let cache = ssot(capacity);
        prefill(&cache, 0..fill);
        g.bench_function(id(NAMES[0]), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, op))
        });
        let cache = moka(capacity);
        prefill(&cache, 0..fill);
        g.bench_function(id(NAMES[1]), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, op))
        });
        let cache = quick(capacity);
        prefill(&cache, 0..fill);
        g.bench_function(id(NAMES[2]), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, op))
        });
        let cache = lru_mutex(capacity);
        prefill(&cache, 0..fill);
        g.bench_function(id(NAMES[3]), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, op))
        });
    }
    g.finish();
}

fn memory(c: &mut Criterion) {
    hit_ratios();
    group(
        c,
        "get_hit",
        100_000,
        50_000,
        &uniform(1, 50_000, 0),
        Op::Get,
    );
    group(
        c,
        "get_miss",
        100_000,
        50_000,
        &uniform(2, 50_000, 1 << 40),
        Op::Get,
    );
    group(
        c,
        "insert",
        10_000,
        10_000,
        &uniform(3, 1_000_000, 0),
        Op::Insert,
    );
    group(
        c,
        "zipf_mixed",
        10_000,
        0,
        &zipf_trace(4, TRACE, 100_000, 1.0),
        Op::Mixed,
    );
    get_hit_ttl(c, &uniform(1, 50_000, 0));
    get_hit_cost(c, &uniform(1, 50_000, 0));
}

/// Where a hit's time goes at 1 and 2 threads, on `get_hit`'s workload: ours as
/// configured by default (`ssot`), the same cache read with `contains_key` (lock and
/// probe, no write: `ssot_peek`), ours with 64 shards instead of the default
/// (`ssot_64_shards`), ours with `EvictionPolicy::Clock` (hits under a shared lock:
/// `ssot_clock`), and quick_cache beside them.
fn get_hit_cost(c: &mut Criterion, trace: &[u64]) {
    let mut g = c.benchmark_group("get_hit_cost");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements(threads as u64));
        let id = |peer: &str| BenchmarkId::new(peer, format!("{threads}t"));
        let cache = ssot(100_000);
        prefill(&cache, 0..50_000);
        g.bench_function(id("ssot"), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, Op::Get))
        });
        let peek = Peek(cache);
        g.bench_function(id("ssot_peek"), |b| {
            b.iter_custom(|n| run(&peek, threads, n, trace, Op::Get))
        });
        let cache: MemoryCache<u64, u64> = MemoryCache::builder()
            .max_capacity(100_000)
            .shards(64)
            .build();
        prefill(&cache, 0..50_000);
        g.bench_function(id("ssot_64_shards"), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, Op::Get))
        });
        let cache = ssot_clock(100_000);
        prefill(&cache, 0..50_000);
        g.bench_function(id("ssot_clock"), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, Op::Get))
        });
        let cache = quick(100_000);
        prefill(&cache, 0..50_000);
        g.bench_function(id(NAMES[2]), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, Op::Get))
        });
    }
    g.finish();
}

/// `get_hit` again with a one-hour time-to-live on every entry, so each hit checks
/// expiry: ours reads `SystemClock` (`SystemTime::now`) on such hits, or a
/// `CoarseClock` (one atomic load, refreshed every millisecond); moka its own clock. quick_cache and `lru` have no time-to-live and are not in this group.
fn get_hit_ttl(c: &mut Criterion, trace: &[u64]) {
    let mut g = c.benchmark_group("get_hit_ttl");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let hour = Duration::from_secs(3_600);
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements(threads as u64));
        let id = |peer: &str| BenchmarkId::new(peer, format!("{threads}t"));
        let cache: MemoryCache<u64, u64> = MemoryCache::builder()
            .max_capacity(100_000)
            .time_to_live(hour)
            .build();
        prefill(&cache, 0..50_000);
        g.bench_function(id(NAMES[0]), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, Op::Get))
        });
        let cache: MemoryCache<u64, u64> = MemoryCache::builder()
            .max_capacity(100_000)
            .time_to_live(hour)
            .clock(CoarseClock::new(Duration::from_millis(1)))
            .build();
        prefill(&cache, 0..50_000);
        g.bench_function(id("ssot_coarse_clock"), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, Op::Get))
        });
        let cache: moka::sync::Cache<u64, u64> = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(hour)
            .build();
        prefill(&cache, 0..50_000);
        g.bench_function(id(NAMES[1]), |b| {
            b.iter_custom(|n| run(&cache, threads, n, trace, Op::Get))
        });
    }
    g.finish();
}

/// Hit ratio of each cache on one read-through Zipf trace, at two capacities.
fn hit_ratios() {
    let trace = zipf_trace(5, 1_000_000, 100_000, 0.9);
    eprintln!("hit ratio, Zipf s=0.9 over 100,000 keys, 1,000,000 read-through reads:");
    for capacity in [1_000u64, 10_000] {
        let mut row = format!("  capacity {capacity:>6}:");
        let ratios = [
            hit_ratio(&ssot(capacity), &trace),
            hit_ratio(&moka(capacity), &trace),
            hit_ratio(&quick(capacity), &trace),
            hit_ratio(&lru_mutex(capacity), &trace),
            hit_ratio(&ssot_clock(capacity), &trace),
        ];
        for (peer, ratio) in NAMES.iter().chain(&["ssot_clock"]).zip(ratios) {
            row.push_str(&format!("  {peer} {:.2} %", ratio * 100.0));
        }
        eprintln!("{row}");
    }
}

fn hit_ratio<C: Cache>(cache: &C, trace: &[u64]) -> f64 {
    let mut hits = 0u64;
    for &k in trace {
        if cache.get(k).is_some() {
            hits += 1;
        } else {
            cache.insert(k, k);
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let ratio = hits as f64 / trace.len() as f64;
    ratio
}

fn disk(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tier: DiskTier<u64, Vec<u8>> =
        DiskTier::open(dir.path(), 64 << 20).expect("open disk tier");
    let value = vec![0xA5u8; 256];
    for k in 0..1_000u64 {
        tier.insert(k, value.clone()).expect("insert");
    }
    let mut g = c.benchmark_group("disk");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));
    let mut k = 0u64;
    g.bench_function("get_hit_256B", |b| {
        b.iter(|| {
            k = (k + 1) % 1_000;
            black_box(tier.get(&k).expect("get"))
        });
    });
    g.bench_function("insert_256B", |b| {
        b.iter(|| {
            k = (k + 1) % 1_000;
            tier.insert(k, value.clone()).expect("insert");
        });
    });
    g.finish();
}

criterion_group!(benches, memory, disk);
criterion_main!(benches);
