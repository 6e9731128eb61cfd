//! Lock acquire + release, `ssot-lock`'s `LockManager` beside the floor.
//!
//! The floor is what a keyed lock costs with no manager at all: a
//! `DashMap<u64, Arc<parking_lot::RwLock<()>>>` holding every key in advance, looked up,
//! then the `RwLock` locked and unlocked. Two variants of the floor:
//!
//! - `floor dashmap+arc`: clone the `Arc` out of the map, drop the map reference, lock
//!   and unlock. This is how such a map is used when a lock may be waited for (holding
//!   the map's shard while waiting would block the whole shard).
//! - `floor dashmap ref`: lock and unlock while holding the map reference; the least
//!   work there is, usable only for locks that are never waited on.
//!
//! The floor has no kinds beyond read/write, no queue, no priorities, no owners, no
//! deadlock detection, no statistics, and keeps every key in memory forever; the
//! manager inserts an idle key's entry on acquire and removes it on release.
//!
//! Workloads: one thread acquiring and releasing Read, then Exclusive, on one key and
//! cycling through 10,000 `u64` keys (uncontended); the same with 10,000 path-like
//! string keys, as `String` and as `Arc<str>` (the manager clones the key into its
//! entry); and two threads each acquiring and releasing the same key 1,000 times
//! (contended), for Exclusive and for Read.
//!
//! Run: `cargo bench -p ssot-benches --bench lock` (add a filter such as `uncontended`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dashmap::DashMap;
use parking_lot::RwLock;
use ssot_lock::{LockKind, LockManager};

type Floor = DashMap<u64, Arc<RwLock<()>>>;

fn floor(keys: u64) -> Floor {
    let map = Floor::new();
    for k in 0..keys {
        map.insert(k, Arc::new(RwLock::new(())));
    }
    map
}

fn floor_arc(map: &Floor, key: u64, kind: LockKind) {
    let lock = Arc::clone(&map.get(&key).expect("key present"));
    if kind == LockKind::Read {
        drop(black_box(lock.read()));
    } else {
        drop(black_box(lock.write()));
    }
}

fn floor_ref(map: &Floor, key: u64, kind: LockKind) {
    let entry = map.get(&key).expect("key present");
    if kind == LockKind::Read {
        drop(black_box(entry.read()));
    } else {
        drop(black_box(entry.write()));
    }
}

fn ours(locks: &LockManager<u64>, key: u64, kind: LockKind) {
    drop(black_box(locks.lock(&key, kind).expect("uncontended")));
}

fn uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock/uncontended");
    group.sample_size(50);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    for keys in [1u64, 10_000] {
        let locks = LockManager::<u64>::new();
        let map = floor(keys);
        for kind in [LockKind::Read, LockKind::Exclusive] {
            let param = format!("{kind}/{keys} keys");
            group.bench_function(BenchmarkId::new("ssot-lock", &param), |b| {
                let mut k = 0;
                b.iter(|| {
                    ours(&locks, k, kind);
                    k = (k + 1) % keys;
                });
            });
            group.bench_function(BenchmarkId::new("floor dashmap+arc", &param), |b| {
                let mut k = 0;
                b.iter(|| {
                    floor_arc(&map, k, kind);
                    k = (k + 1) % keys;
                });
            });
            group.bench_function(BenchmarkId::new("floor dashmap ref", &param), |b| {
                let mut k = 0;
                b.iter(|| {
                    floor_ref(&map, k, kind);
                    k = (k + 1) % keys;
                });
            });
        }
    }
    group.finish();
}

/// Path-like string keys: the manager clones the key into the entry on an uncontended
/// acquire (an allocation for `String`, two atomic operations for `Arc<str>`); the
/// floor looks keys up by `&str` in a map that owns them already.
fn uncontended_string_keys(c: &mut Criterion) {
    const KEYS: usize = 10_000;
    let mut group = c.benchmark_group("lock/uncontended string keys");
    group.sample_size(50);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    let names: Vec<String> = (0..KEYS)
        .map(|i| format!("projects/p{}/tasks-{i}.md", i % 97))
        .collect();
    let shared: Vec<Arc<str>> = names.iter().map(|n| Arc::from(n.as_str())).collect();
    let floor: DashMap<String, Arc<RwLock<()>>> = names
        .iter()
        .map(|n| (n.clone(), Arc::new(RwLock::new(()))))
        .collect();
    let by_string = LockManager::<String>::new();
    let by_arc = LockManager::<Arc<str>>::new();
    let kind = LockKind::Exclusive;
    let param = format!("{kind}/{KEYS} keys");
    group.bench_function(BenchmarkId::new("ssot-lock String", &param), |b| {
        let mut i = 0;
        b.iter(|| {
            drop(black_box(
                by_string
                    .lock(names[i].as_str(), kind)
                    .expect("uncontended"),
            ));
            i = (i + 1) % KEYS;
        });
    });
    group.bench_function(BenchmarkId::new("ssot-lock Arc<str>", &param), |b| {
        let mut i = 0;
        b.iter(|| {
            drop(black_box(
                by_arc.lock(&shared[i], kind).expect("uncontended"),
            ));
            i = (i + 1) % KEYS;
        });
    });
    group.bench_function(BenchmarkId::new("floor dashmap+arc", &param), |b| {
        let mut i = 0;
        b.iter(|| {
            let lock = Arc::clone(&floor.get(names[i].as_str()).expect("key present"));
            drop(black_box(lock.write()));
            i = (i + 1) % KEYS;
        });
    });
    group.finish();
}

const ROUNDS: u64 = 1_000;

/// Two threads, each acquiring and releasing key 0 `ROUNDS` times; the time from the
/// start barrier until both are done.
fn two_threads(iters: u64, op: &(dyn Fn() + Sync)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let barrier = Barrier::new(3);
        let start = std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..ROUNDS {
                        op();
                    }
                });
            }
            barrier.wait();
            Instant::now()
        });
        total += start.elapsed();
    }
    total
}

fn contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock/contended");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(2 * ROUNDS));
    let locks = LockManager::<u64>::new();
    let map = floor(1);
    for kind in [LockKind::Exclusive, LockKind::Read] {
        let param = format!("{kind}/2 threads");
        group.bench_function(BenchmarkId::new("ssot-lock", &param), |b| {
            b.iter_custom(|iters| two_threads(iters, &|| ours(&locks, 0, kind)));
        });
        group.bench_function(BenchmarkId::new("floor dashmap+arc", &param), |b| {
            b.iter_custom(|iters| two_threads(iters, &|| floor_arc(&map, 0, kind)));
        });
    }
    group.finish();
}

criterion_group!(benches, uncontended, uncontended_string_keys, contended);
criterion_main!(benches);
