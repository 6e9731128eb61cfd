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
//! Two more workloads measure what contention on one key costs everyone else, each at 1
//! and 2 measuring threads, beside `parking_lot::RwLock` doing the same:
//!
//! - `lock/read past queued write`: key 0 is held `Write` and a second `Write` waits
//!   for it (a thread blocked in `lock`); the measured threads take and release `Read`
//!   on key 0, which the grant rule lets past the queued writer. The peer: one
//!   `RwLock` held by an `upgradable_read`, a second `upgradable_read` parked on it,
//!   and the measured threads taking `read`.
//! - `lock/unrelated keys, one contended`: key 0 is held `Exclusive` while a background
//!   thread keeps requesting it with a zero timeout (each request queues, searches for
//!   deadlock and withdraws); the measured threads take and release `Exclusive` on
//!   keys 1 to 10,000 in turn. The peer: a `Vec` of 10,001 `RwLock`s, lock 0 held, the
//!   background thread calling `try_write_for(0)` on it.
//!
//! Run: `cargo bench -p ssot-benches --bench lock` (add a filter such as `uncontended`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dashmap::DashMap;
use parking_lot::RwLock;
use ssot_lock::{LockKind, LockManager, Owner};

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

/// `threads` threads, each running `op(round)` for `ROUNDS` rounds; the time from the
/// start barrier until all are done.
fn run_threads(threads: usize, iters: u64, op: &(dyn Fn(u64) + Sync)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let barrier = Barrier::new(threads + 1);
        let start = std::thread::scope(|s| {
            for t in 0..threads {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    for round in 0..ROUNDS {
                        op(round * threads as u64 + t as u64);
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

fn read_past_queued_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock/read past queued write");
    group.sample_size(20);
    let locks = LockManager::<u64>::new();
    let holder = locks
        .request(&0, LockKind::Write)
        .owner(Owner::new())
        .acquire()
        .expect("idle key");
    let peer = RwLock::new(());
    let peer_holder = peer.upgradable_read();
    std::thread::scope(|s| {
        let queued = s.spawn(|| drop(locks.lock(&0, LockKind::Write).expect("no cycle")));
        let peer_queued = s.spawn(|| drop(peer.upgradable_read()));
        while locks.waiters(&0).is_empty() {
            std::thread::yield_now();
        }
        for threads in [1usize, 2] {
            group.throughput(Throughput::Elements(threads as u64 * ROUNDS));
            let param = format!("{threads} threads");
            group.bench_function(BenchmarkId::new("ssot-lock", &param), |b| {
                b.iter_custom(|iters| {
                    run_threads(threads, iters, &|_| ours(&locks, 0, LockKind::Read))
                });
            });
            group.bench_function(BenchmarkId::new("parking_lot RwLock", &param), |b| {
                b.iter_custom(|iters| {
                    run_threads(threads, iters, &|_| drop(black_box(peer.read())))
                });
            });
        }
        assert_eq!(
            locks.waiters(&0).len(),
            1,
            "the writer stayed queued throughout"
        );
        drop(holder);
        drop(peer_holder);
        queued.join().expect("queued writer");
        peer_queued.join().expect("parked upgradable reader");
    });
    group.finish();
}

fn unrelated_keys_one_contended(c: &mut Criterion) {
    const KEYS: u64 = 10_000;
    let mut group = c.benchmark_group("lock/unrelated keys, one contended");
    group.sample_size(20);
    let locks = LockManager::<u64>::new();
    let peer: Vec<RwLock<()>> = (0..=KEYS).map(|_| RwLock::new(())).collect();
    let holder = locks
        .request(&0, LockKind::Exclusive)
        .owner(Owner::new())
        .acquire()
        .expect("idle key");
    let peer_holder = peer[0].write();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // At least once, even when a filter skips every benchmark of the group.
            loop {
                let refused = locks.lock_timeout(&0, LockKind::Exclusive, Duration::ZERO);
                assert!(refused.is_err(), "key 0 is held throughout");
                assert!(peer[0].try_write_for(Duration::ZERO).is_none());
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        });
        for threads in [1usize, 2] {
            group.throughput(Throughput::Elements(threads as u64 * ROUNDS));
            let param = format!("{threads} threads");
            group.bench_function(BenchmarkId::new("ssot-lock", &param), |b| {
                b.iter_custom(|iters| {
                    run_threads(threads, iters, &|i| {
                        ours(&locks, 1 + i % KEYS, LockKind::Exclusive);
                    })
                });
            });
            group.bench_function(BenchmarkId::new("parking_lot RwLock", &param), |b| {
                b.iter_custom(|iters| {
                    run_threads(threads, iters, &|i| {
                        drop(black_box(peer[(1 + i % KEYS) as usize].write()));
                    })
                });
            });
        }
        stop.store(true, Ordering::Relaxed);
    });
    let stats = locks.stats();
    assert!(
        stats.timeouts > 0,
        "the background thread contended: {stats:?}"
    );
    drop(holder);
    drop(peer_holder);
    group.finish();
}

criterion_group!(
    benches,
    uncontended,
    uncontended_string_keys,
    contended,
    read_past_queued_write,
    unrelated_keys_one_contended
);
criterion_main!(benches);
