//! Model-based tests of `MemoryCache` against a reference LRU + TTL model.
//!
//! The cache under test has ONE shard. Sharding makes LRU exact only within a shard
//! (the victim is the least recently used entry of the new key's shard), and which
//! shard a key lands in depends on a randomly seeded hasher; a global model would
//! disagree on victims, and mirroring the sharding would mean exposing the hasher. A
//! one-shard cache runs exactly the same per-shard code, so the exact comparison
//! (same hits and misses, same evictions with the same causes, same statistics) is
//! made there. A second property runs a sharded cache and checks what must hold
//! whatever the shard layout: capacity never exceeded, a read returns the last value
//! written or nothing, and the listener accounts for every entry that disappears.
//!
//! Both eviction policies run against the model: exact LRU (the default) and CLOCK
//! (second chance), whose reference in the model is a `Vec` rotated the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use ssot_cache::{CacheStats, EvictionPolicy, ManualClock, MemoryCache, RemovalCause};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const NEVER: u64 = u64::MAX;

#[derive(Clone, Debug)]
enum Op {
    Get(u8),
    Insert(u8, u32),
    InsertTtl(u8, u32, u64),
    Remove(u8),
    Contains(u8),
    Advance(u64),
    InvalidateAll,
    InvalidateOdd,
    Purge,
    GetOrInsert(u8, u32),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..12;
    prop_oneof![
        6 => key.clone().prop_map(Op::Get),
        6 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => (key.clone(), any::<u32>(), 1u64..6).prop_map(|(k, v, t)| Op::InsertTtl(k, v, t)),
        1 => key.clone().prop_map(Op::Remove),
        1 => key.clone().prop_map(Op::Contains),
        3 => (0u64..4).prop_map(Op::Advance),
        1 => Just(Op::InvalidateAll),
        1 => Just(Op::InvalidateOdd),
        1 => Just(Op::Purge),
        3 => (key, any::<u32>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
    ]
}

#[derive(Clone, Debug)]
struct Config {
    capacity: u64,
    weighted: bool,
    ttl: Option<u64>,
    tti: Option<u64>,
    /// [`EvictionPolicy::Clock`] instead of exact LRU.
    clock: bool,
}

fn config() -> impl Strategy<Value = Config> {
    (
        0u64..10,
        any::<bool>(),
        prop::option::of(1u64..8),
        prop::option::of(1u64..8),
        any::<bool>(),
    )
        .prop_map(|(capacity, weighted, ttl, tti, clock)| Config {
            capacity,
            weighted,
            ttl,
            tti,
            clock,
        })
}

/// One unit of model time, in the cache's clock.
const UNIT: Duration = Duration::from_secs(1);

fn weight_of(weighted: bool, v: u32) -> u64 {
    if weighted {
        u64::from((v % 5).max(1))
    } else {
        1
    }
}

type Event = (u8, u32, RemovalCause);

fn cause_rank(c: RemovalCause) -> u8 {
    match c {
        RemovalCause::Capacity => 0,
        RemovalCause::Expired => 1,
        RemovalCause::Explicit => 2,
        RemovalCause::Replaced => 3,
        _ => 4,
    }
}

fn sorted(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|&(k, v, c)| (k, v, cause_rank(c)));
    events
}

#[derive(Clone, Debug)]
struct Entry {
    key: u8,
    value: u32,
    expires_at: u64,
    deadline: u64,
    weight: u64,
    /// CLOCK: read since it was last at the front.
    referenced: bool,
}

/// The reference: a `Vec` ordered least recently used first (CLOCK: least recently
/// inserted or given a second chance first), scanned linearly.
struct Model {
    cfg: Config,
    now: u64,
    entries: Vec<Entry>,
    stats: CacheStats,
    events: Vec<Event>,
}

impl Model {
    fn weight(&self) -> u64 {
        self.entries.iter().map(|e| e.weight).sum()
    }

    fn pos(&self, k: u8) -> Option<usize> {
        self.entries.iter().position(|e| e.key == k)
    }

    fn expired(&self, e: &Entry) -> bool {
        self.now >= e.deadline
    }

    fn removed(&mut self, e: &Entry, cause: RemovalCause) {
        match cause {
            RemovalCause::Capacity => self.stats.evicted_capacity += 1,
            RemovalCause::Expired => self.stats.expired += 1,
            RemovalCause::Explicit => self.stats.explicit += 1,
            _ => self.stats.replaced += 1,
        }
        self.events.push((e.key, e.value, cause));
    }

    fn get(&mut self, k: u8) -> Option<u32> {
        let Some(i) = self.pos(k) else {
            self.stats.misses += 1;
            return None;
        };
        if self.expired(&self.entries[i]) {
            let e = self.entries.remove(i);
            self.removed(&e, RemovalCause::Expired);
            self.stats.misses += 1;
            return None;
        }
        if self.cfg.clock {
            let now = self.now;
            let tti = self.cfg.tti;
            let e = &mut self.entries[i];
            if let Some(tti) = tti {
                e.deadline = e.expires_at.min(now + tti);
            }
            e.referenced = true;
            self.stats.hits += 1;
            return Some(e.value);
        }
        let mut e = self.entries.remove(i);
        if let Some(tti) = self.cfg.tti {
            e.deadline = e.expires_at.min(self.now + tti);
        }
        let v = e.value;
        self.entries.push(e);
        self.stats.hits += 1;
        Some(v)
    }

    fn insert(&mut self, k: u8, v: u32, ttl: Option<u64>) {
        self.stats.inserts += 1;
        let w = weight_of(self.cfg.weighted, v);
        let cap = self.cfg.capacity;
        let expires_at = ttl.map_or(NEVER, |t| self.now + t);
        let deadline = expires_at.min(self.cfg.tti.map_or(NEVER, |t| self.now + t));
        let new = Entry {
            key: k,
            value: v,
            expires_at,
            deadline,
            weight: w,
            referenced: false,
        };
        if let Some(i) = self.pos(k) {
            let old = self.entries.remove(i);
            self.removed(&old, RemovalCause::Replaced);
            if w > cap {
                self.removed(&new, RemovalCause::Capacity);
                return;
            }
            self.entries.push(new);
            while self.weight() > cap {
                if !self.evict_lru(Some(k)) {
                    break;
                }
            }
            return;
        }
        if w > cap {
            self.removed(&new, RemovalCause::Capacity);
            return;
        }
        while self.weight() + w > cap {
            self.evict_lru(None);
        }
        self.entries.push(new);
    }

    /// Evicts the front entry (CLOCK: after giving read entries, and `keep`, a second
    /// chance at the back); false if only `keep` could go.
    fn evict_lru(&mut self, keep: Option<u8>) -> bool {
        if self.cfg.clock {
            loop {
                let front = &self.entries[0];
                let is_keep = keep == Some(front.key);
                if is_keep && self.entries.len() == 1 {
                    return false;
                }
                if !is_keep && (self.expired(front) || !front.referenced) {
                    break;
                }
                let mut e = self.entries.remove(0);
                e.referenced = false;
                self.entries.push(e);
            }
        }
        if keep.is_some() && keep == self.entries.first().map(|e| e.key) {
            return false;
        }
        let e = self.entries.remove(0);
        let cause = if self.expired(&e) {
            RemovalCause::Expired
        } else {
            RemovalCause::Capacity
        };
        self.removed(&e, cause);
        true
    }

    fn remove_if(&mut self, only_expired: bool, pred: impl Fn(&Entry) -> bool) {
        let mut keep = Vec::new();
        for e in std::mem::take(&mut self.entries) {
            let expired = self.expired(&e);
            if pred(&e) && (!only_expired || expired) {
                let cause = if expired {
                    RemovalCause::Expired
                } else {
                    RemovalCause::Explicit
                };
                self.removed(&e, cause);
            } else {
                keep.push(e);
            }
        }
        self.entries = keep;
    }
}

fn build(
    cfg: &Config,
    clock: &ManualClock,
    shards: usize,
) -> (MemoryCache<u8, u32>, Arc<Mutex<Vec<Event>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let mut b = MemoryCache::builder()
        .max_capacity(cfg.capacity)
        .clock(clock.clone())
        .shards(shards)
        .eviction_policy(if cfg.clock {
            EvictionPolicy::Clock
        } else {
            EvictionPolicy::Lru
        })
        .eviction_listener(move |k, v, c| sink.lock().unwrap().push((k, v, c)));
    if cfg.weighted {
        b = b.weigher(|_, v: &u32| v % 5);
    }
    if let Some(t) = cfg.ttl {
        b = b.time_to_live(UNIT * u32::try_from(t).unwrap());
    }
    if let Some(t) = cfg.tti {
        b = b.time_to_idle(UNIT * u32::try_from(t).unwrap());
    }
    (b.build(), events)
}

fn take(events: &Mutex<Vec<Event>>) -> Vec<Event> {
    std::mem::take(&mut *events.lock().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// One shard, either policy: the cache and the reference agree on every answer,
    /// every eviction and its cause, and every counter; capacity is never exceeded.
    #[test]
    fn one_shard_cache_matches_the_lru_ttl_model(cfg in config(), ops in prop::collection::vec(op(), 1..120)) {
        let clock = ManualClock::new();
        let (cache, events) = build(&cfg, &clock, 1);
        let mut model = Model { cfg: cfg.clone(), now: 0, entries: Vec::new(), stats: CacheStats::default(), events: Vec::new() };
        for op in ops {
            match op {
                Op::Get(k) => prop_assert_eq!(cache.get(&k), model.get(k), "get {}", k),
                Op::Insert(k, v) => {
                    cache.insert(k, v);
                    model.insert(k, v, cfg.ttl);
                }
                Op::InsertTtl(k, v, t) => {
                    cache.insert_with_ttl(k, v, UNIT * u32::try_from(t).unwrap());
                    model.insert(k, v, Some(t));
                }
                Op::Remove(k) => {
                    let want = match model.pos(k) {
                        None => None,
                        Some(i) => {
                            let e = model.entries.remove(i);
                            if model.expired(&e) {
                                model.removed(&e, RemovalCause::Expired);
                                None
                            } else {
                                model.removed(&e, RemovalCause::Explicit);
                                Some(e.value)
                            }
                        }
                    };
                    prop_assert_eq!(cache.remove(&k), want);
                }
                Op::Contains(k) => {
                    let want = model.pos(k).is_some_and(|i| !model.expired(&model.entries[i]));
                    prop_assert_eq!(cache.contains_key(&k), want);
                }
                Op::Advance(d) => {
                    clock.advance(UNIT * u32::try_from(d).unwrap());
                    model.now += d;
                }
                Op::InvalidateAll => {
                    cache.invalidate_all();
                    model.remove_if(false, |_| true);
                }
                Op::InvalidateOdd => {
                    cache.invalidate_if(|k, _| k % 2 == 1);
                    model.remove_if(false, |e| e.key % 2 == 1);
                }
                Op::Purge => {
                    cache.purge_expired();
                    model.remove_if(true, |_| true);
                }
                Op::GetOrInsert(k, v) => {
                    let want = match model.get(k) {
                        Some(x) => x,
                        None => {
                            model.insert(k, v, cfg.ttl);
                            v
                        }
                    };
                    prop_assert_eq!(cache.get_or_insert_with(&k, || v), want);
                }
            }
            prop_assert_eq!(sorted(take(&events)), sorted(std::mem::take(&mut model.events)));
            prop_assert!(cache.weighted_size() <= cfg.capacity, "capacity exceeded");
            prop_assert_eq!(cache.weighted_size(), model.weight());
            prop_assert_eq!(cache.len(), model.entries.len());
        }
        prop_assert_eq!(cache.stats(), model.stats);
    }

    /// Many shards: whatever the layout, capacity holds, reads return the last value
    /// written or nothing, and every entry that disappears is reported to the listener.
    #[test]
    fn sharded_cache_keeps_capacity_and_reports_every_removal(
        capacity in 0u64..40,
        weighted in any::<bool>(),
        shards in 1usize..9,
        clock_policy in any::<bool>(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let clock = ManualClock::new();
        let cfg = Config { capacity, weighted, ttl: Some(5), tti: None, clock: clock_policy };
        let (cache, events) = build(&cfg, &clock, shards);
        prop_assert_eq!(cache.shard_capacities().iter().sum::<u64>(), capacity);
        let mut last: HashMap<u8, u32> = HashMap::new();
        let mut present: HashMap<u8, u32> = HashMap::new();
        for op in ops {
            match op {
                Op::Get(k) | Op::Contains(k) => {
                    if let Some(v) = cache.get(&k) {
                        prop_assert_eq!(Some(&v), last.get(&k));
                    }
                }
                Op::Insert(k, v) | Op::GetOrInsert(k, v) => {
                    cache.insert(k, v);
                    last.insert(k, v);
                    present.insert(k, v);
                }
                Op::InsertTtl(k, v, t) => {
                    cache.insert_with_ttl(k, v, UNIT * u32::try_from(t).unwrap());
                    last.insert(k, v);
                    present.insert(k, v);
                }
                Op::Remove(k) => {
                    if let Some(v) = cache.remove(&k) {
                        prop_assert_eq!(Some(&v), last.get(&k));
                    }
                }
                Op::Advance(d) => clock.advance(UNIT * u32::try_from(d).unwrap()),
                Op::InvalidateAll => cache.invalidate_all(),
                Op::InvalidateOdd => cache.invalidate_if(|k, _| k % 2 == 1),
                Op::Purge => cache.purge_expired(),
            }
            for (k, v, cause) in take(&events) {
                if cause != RemovalCause::Replaced {
                    prop_assert_eq!(present.remove(&k), Some(v), "removal of an entry not present");
                }
            }
            prop_assert!(cache.weighted_size() <= capacity);
            prop_assert_eq!(cache.len(), present.len(), "held entries = inserted - reported");
        }
    }
}
