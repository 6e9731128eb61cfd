//! One shard of the memory tier: an exact LRU list threaded through a slab.
//!
//! Why this shape: the hot path (a hit) must not allocate and should touch as few
//! cache lines as possible. Entry `i` is split over three dense vectors: `nodes[i]`
//! (key, value, effective deadline, weight: what a hit reads), `links[i]` (the LRU
//! list as two `u32` indices: no pointers, no `unsafe`, no per-entry allocation) and
//! `cold[i]` (hash and time-to-live deadline: only writes and removals read them).
//! The hash index is a `hashbrown::HashTable<u32>` of slab indices (4 bytes and a
//! control byte per entry; the key is stored once, in the node). A hit is one table
//! probe, one node read, a relink in the small `links` array, and a clone of the
//! value. Splitting the links out took a uniform 50,000-key hit from about 20 ns to
//! about 17 ns on the development machine.
//!
//! The slab stays dense: removing an entry moves the last node into the hole
//! (`swap_remove`) and repoints its neighbours and its table slot. Eviction on insert
//! does better: when one eviction makes room, the new entry is written into the
//! victim's node in place, so a full cache's insert does no slab work at all.
//!
//! Two eviction policies share this code. [`Policy::Lru`] moves an entry to the front
//! on every hit (exclusive lock). [`Policy::Clock`] marks it instead
//! ([`Shard::get_shared`], under a shared lock: the mark is an `AtomicBool` in the
//! node's padding and hit counters are atomics beside the lock word), and an eviction
//! gives marked entries at the tail a second chance ([`Shard::second_chance`]): the
//! list then orders entries by insertion or last second chance, which is CLOCK's
//! circular order without a separate hand.
//!
//! Expiry is lazy. A node carries its effective deadline (the earlier of its
//! time-to-live deadline and last access + time-to-idle); a read of a node whose
//! effective deadline is "never" does not read the clock. Expired entries are removed
//! when read, when they reach the LRU tail during an eviction (reported as expired, not
//! as a capacity eviction), by `purge_expired`, or by invalidation.

use std::borrow::Borrow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hashbrown::HashTable;

use crate::clock::Clock;
use crate::flight::Flight;
use crate::stats::RemovalCause;

/// A filter of `invalidate_if`.
pub(crate) type Predicate<'a, K, V> = &'a mut dyn FnMut(&K, &V) -> bool;

/// "No node" in the list links.
const NIL: u32 = u32::MAX;
/// "Never" as a deadline in nanoseconds.
pub(crate) const NEVER: u64 = u64::MAX;

#[inline]
fn ix(i: u32) -> usize {
    i as usize
}

/// One cached entry: what a hit reads, and nothing else. For `u64 → u64` it is 32
/// bytes, so two nodes share a cache line and none straddles two.
#[repr(C)]
pub(crate) struct Node<K, V> {
    key: K,
    value: V,
    /// The earlier of `expires_at` and last access + time-to-idle, or [`NEVER`].
    deadline: u64,
    weight: u32,
    /// [`Policy::Clock`]: read since it last reached the tail (set under a shared lock,
    /// hence atomic; it fits in the node's padding). Unused by [`Policy::Lru`].
    referenced: AtomicBool,
}

/// How a shard orders its entries for eviction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Exact LRU: every hit moves its entry to the front (an exclusive lock).
    Lru,
    /// CLOCK (second chance): a hit only sets the entry's `referenced` bit (a shared
    /// lock); an eviction moves referenced entries from the tail to the front,
    /// clearing their bit, and evicts the first unreferenced (or expired) one.
    Clock,
}

/// What only writes and removals need of a node (`cold[i]` belongs to `nodes[i]`).
#[derive(Clone, Copy)]
struct Cold {
    hash: u64,
    /// Time-to-live deadline (nanoseconds since the epoch), or [`NEVER`].
    expires_at: u64,
}

/// A node's place in the LRU list, kept apart from the nodes (`links[i]` belongs to
/// `nodes[i]`): relinking on every hit then touches a dense array of 8-byte
/// entries that stays in cache, not three scattered nodes.
#[derive(Clone, Copy)]
struct Link {
    /// Towards the most recently used end.
    prev: u32,
    /// Towards the least recently used end.
    next: u32,
}

/// The clock, read at most once per operation and only when an answer depends on it.
pub(crate) struct LazyNow<'a> {
    clock: &'a dyn Clock,
    now: Option<u64>,
}

impl<'a> LazyNow<'a> {
    pub(crate) fn new(clock: &'a dyn Clock) -> LazyNow<'a> {
        LazyNow { clock, now: None }
    }

    #[inline]
    pub(crate) fn get(&mut self) -> u64 {
        match self.now {
            Some(n) => n,
            None => {
                let n = self.clock.now().as_unix_nanos();
                self.now = Some(n);
                n
            }
        }
    }
}

/// Entries removed during an operation, handed to the eviction listener after the
/// shard's lock is released (so a listener may call the cache). Without a listener
/// nothing is kept and nothing is allocated.
pub(crate) struct Removed<K, V> {
    keep: bool,
    pub(crate) items: Vec<(K, V, RemovalCause)>,
}

impl<K, V> Removed<K, V> {
    pub(crate) fn new(keep: bool) -> Removed<K, V> {
        Removed {
            keep,
            items: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, key: K, value: V, cause: RemovalCause) {
        if self.keep {
            self.items.push((key, value, cause));
        }
    }
}

/// A snapshot of a shard's counters. The counters themselves are fields of the shard,
/// written under its lock (so no shared atomics on the hot path), and summed by
/// `MemoryCache::stats`.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Counters {
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) inserts: u64,
    /// Indexed by [`RemovalCause::index`].
    pub(crate) removed: [u64; 4],
}

/// A load in progress for one key (single flight).
pub(crate) struct Pending<K, V> {
    pub(crate) key: K,
    pub(crate) hash: u64,
    pub(crate) flight: Arc<Flight<V>>,
    /// Cleared when the key is written or removed during the load: the loaded value is
    /// then handed to the callers but not cached, since it may be older than the write.
    pub(crate) store: bool,
}

/// Per-entry configuration every shard shares.
#[derive(Clone, Copy)]
pub(crate) struct ShardConfig {
    pub(crate) capacity: u64,
    /// Time-to-idle in nanoseconds, or [`NEVER`].
    pub(crate) tti: u64,
    pub(crate) policy: Policy,
}

/// What a read under a shared lock ([`Shard::get_shared`]) found.
pub(crate) enum SharedRead<V> {
    /// A live entry: its value and time-to-live deadline (as [`Shard::get`]).
    Hit(V, u64),
    /// No entry.
    Miss,
    /// An entry the read must write to (expired, or its idle time restarts): retry
    /// with [`Shard::get`] under the exclusive lock.
    Exclusive,
}

/// One shard: an LRU list over a dense slab, its hash index, its loads in progress.
///
/// `repr(C)` to place fields by cache line. The shard lives in a `RwLock` whose lock
/// word takes the first 8 bytes, so the first line holds the lock, the list ends, the
/// hit and miss counters and the hash table's header: everything a read writes, and
/// most of what it reads. When two cores take turns on a shard, a hit then moves one
/// line between them, not three. The second line (slab and link vectors, weight,
/// inserts) changes only on inserts that grow the slab or change weights.
#[repr(C)]
pub(crate) struct Shard<K, V> {
    /// Most recently used.
    head: u32,
    /// Least recently used: the next victim.
    tail: u32,
    /// Atomic because [`Shard::get_shared`] counts under a shared lock; under the
    /// exclusive lock they are written through `get_mut`, a plain add.
    hits: AtomicU64,
    misses: AtomicU64,
    table: HashTable<u32>,
    nodes: Vec<Node<K, V>>,
    links: Vec<Link>,
    cold: Vec<Cold>,
    weight: u64,
    inserts: u64,
    config: ShardConfig,
    /// Indexed by [`RemovalCause::index`].
    removed: [u64; 4],
    pub(crate) loads: HashTable<Pending<K, V>>,
}

impl<K, V> Shard<K, V> {
    pub(crate) fn new(config: ShardConfig) -> Shard<K, V> {
        Shard {
            table: HashTable::new(),
            nodes: Vec::new(),
            links: Vec::new(),
            cold: Vec::new(),
            head: NIL,
            tail: NIL,
            weight: 0,
            config,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            inserts: 0,
            removed: [0; 4],
            loads: HashTable::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn weight(&self) -> u64 {
        self.weight
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.config.capacity
    }

    pub(crate) fn counters(&self) -> Counters {
        Counters {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            inserts: self.inserts,
            removed: self.removed,
        }
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let nodes = &self.nodes;
        self.table
            .find(hash, |&i| nodes[ix(i)].key.borrow() == key)
            .copied()
    }

    #[inline]
    fn unlink(&mut self, i: u32) {
        let Link { prev, next } = self.links[ix(i)];
        if prev == NIL {
            self.head = next;
        } else {
            self.links[ix(prev)].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.links[ix(next)].prev = prev;
        }
    }

    #[inline]
    fn push_front(&mut self, i: u32) {
        let old = self.head;
        self.links[ix(i)] = Link {
            prev: NIL,
            next: old,
        };
        if old == NIL {
            self.tail = i;
        } else {
            self.links[ix(old)].prev = i;
        }
        self.head = i;
    }

    #[inline]
    fn move_to_front(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// Removes node `i` from the list, the index and the slab; returns it.
    fn remove_at(&mut self, i: u32) -> Node<K, V> {
        self.unlink(i);
        let hash = self.cold[ix(i)].hash;
        if let Ok(entry) = self.table.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        let last = u32::try_from(self.nodes.len() - 1).unwrap_or(NIL);
        let node = self.nodes.swap_remove(ix(i));
        self.links.swap_remove(ix(i));
        self.cold.swap_remove(ix(i));
        if i != last {
            // The node that was last now sits at `i`: repoint its neighbours and slot.
            let Link { prev, next } = self.links[ix(i)];
            let moved_hash = self.cold[ix(i)].hash;
            if prev == NIL {
                self.head = i;
            } else {
                self.links[ix(prev)].next = i;
            }
            if next == NIL {
                self.tail = i;
            } else {
                self.links[ix(next)].prev = i;
            }
            if let Some(slot) = self.table.find_mut(moved_hash, |&j| j == last) {
                *slot = i;
            }
        }
        self.weight -= u64::from(node.weight);
        node
    }

    fn count(&mut self, cause: RemovalCause) {
        self.removed[cause.index()] += 1;
    }

    /// Whether `key` is present and not expired, without counting, reordering, or
    /// removing anything (`contains_key`).
    pub(crate) fn contains<Q>(&self, hash: u64, key: &Q, now: &mut LazyNow<'_>) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.find(hash, key).is_some_and(|i| {
            let deadline = self.nodes[ix(i)].deadline;
            deadline == NEVER || now.get() < deadline
        })
    }

    /// Reads `key`: the value and, if `want_ttl`, its time-to-live deadline (else
    /// [`NEVER`]), or `None` (a miss; an expired entry found on the way is removed).
    /// Counts a hit or a miss; a hit becomes the most recently used entry and restarts
    /// its idle time.
    #[inline]
    pub(crate) fn get<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        now: &mut LazyNow<'_>,
        want_ttl: bool,
        removed: &mut Removed<K, V>,
    ) -> Option<(V, u64)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
        V: Clone,
    {
        let Some(i) = self.find(hash, key) else {
            *self.misses.get_mut() += 1;
            return None;
        };
        let deadline = self.nodes[ix(i)].deadline;
        if deadline != NEVER {
            let t = now.get();
            if t >= deadline {
                let node = self.remove_at(i);
                self.count(RemovalCause::Expired);
                removed.push(node.key, node.value, RemovalCause::Expired);
                *self.misses.get_mut() += 1;
                return None;
            }
            if self.config.tti != NEVER {
                let expires_at = self.cold[ix(i)].expires_at;
                self.nodes[ix(i)].deadline = expires_at.min(t.saturating_add(self.config.tti));
            }
        }
        match self.config.policy {
            Policy::Lru => self.move_to_front(i),
            Policy::Clock => *self.nodes[ix(i)].referenced.get_mut() = true,
        }
        *self.hits.get_mut() += 1;
        // An entry without a deadline has no time-to-live: skip the cold read.
        let expires_at = if !want_ttl || deadline == NEVER {
            NEVER
        } else {
            self.cold[ix(i)].expires_at
        };
        Some((self.nodes[ix(i)].value.clone(), expires_at))
    }

    /// [`Policy::Clock`]'s read under a shared lock: a live entry that needs no write
    /// beyond its `referenced` bit is a hit; everything else is a miss or must be
    /// retried under the exclusive lock ([`SharedRead::Exclusive`]). Counts what it
    /// answers.
    #[inline]
    pub(crate) fn get_shared<Q>(
        &self,
        hash: u64,
        key: &Q,
        now: &mut LazyNow<'_>,
        want_ttl: bool,
    ) -> SharedRead<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
        V: Clone,
    {
        let Some(i) = self.find(hash, key) else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return SharedRead::Miss;
        };
        let node = &self.nodes[ix(i)];
        if node.deadline != NEVER && (self.config.tti != NEVER || now.get() >= node.deadline) {
            return SharedRead::Exclusive;
        }
        // Read first: a bit already set costs no write to a shared cache line.
        if !node.referenced.load(Ordering::Relaxed) {
            node.referenced.store(true, Ordering::Relaxed);
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        let expires_at = if !want_ttl || node.deadline == NEVER {
            NEVER
        } else {
            self.cold[ix(i)].expires_at
        };
        SharedRead::Hit(node.value.clone(), expires_at)
    }

    /// [`Policy::Clock`]'s second chance, before the tail is evicted: moves referenced
    /// (and unexpired) tail entries to the front, clearing their bit, until the tail
    /// is an entry to evict. `keep` (the entry being written, or [`NIL`]) is never
    /// left at the tail while others remain. Each move but `keep`'s clears a bit, and
    /// `keep` can come round again only after every other entry was moved once, so at
    /// most `2 * len + 1` moves are made; the bound is a guard, not a tuning. No-op for
    /// [`Policy::Lru`].
    fn second_chance(&mut self, keep: u32, now: &mut LazyNow<'_>) {
        if self.config.policy != Policy::Clock {
            return;
        }
        for _ in 0..=2 * self.nodes.len() {
            let tail = self.tail;
            if tail == NIL || (tail == keep && self.head == keep) {
                return;
            }
            let node = &mut self.nodes[ix(tail)];
            let expired = node.deadline != NEVER && now.get() >= node.deadline;
            let referenced = node.referenced.get_mut();
            if tail != keep && (expired || !*referenced) {
                return;
            }
            *referenced = false;
            self.move_to_front(tail);
        }
    }

    /// Stores `key → value` as the most recently used entry, evicting from the LRU
    /// end until the shard's weight fits its capacity. `ttl` is in nanoseconds
    /// ([`NEVER`] for none).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        ttl: u64,
        now: &mut LazyNow<'_>,
        removed: &mut Removed<K, V>,
    ) where
        K: Eq,
    {
        self.inserts += 1;
        if !self.loads.is_empty() {
            self.forget_load(hash, &key);
        }
        let w = u64::from(weight);
        let (expires_at, deadline) = self.deadlines(ttl, now);
        if let Some(mut i) = self.find(hash, &key) {
            if w > self.config.capacity {
                let old = self.remove_at(i);
                self.count(RemovalCause::Replaced);
                removed.push(old.key, old.value, RemovalCause::Replaced);
                self.count(RemovalCause::Capacity);
                removed.push(key, value, RemovalCause::Capacity);
                return;
            }
            let n = &mut self.nodes[ix(i)];
            let old_value = std::mem::replace(&mut n.value, value);
            let old_weight = std::mem::replace(&mut n.weight, weight);
            n.deadline = deadline;
            *n.referenced.get_mut() = false;
            self.cold[ix(i)].expires_at = expires_at;
            self.weight = self.weight - u64::from(old_weight) + w;
            self.move_to_front(i);
            self.count(RemovalCause::Replaced);
            removed.push(key, old_value, RemovalCause::Replaced);
            while self.weight > self.config.capacity {
                self.second_chance(i, now);
                if self.tail == i {
                    break;
                }
                // Evicting moves the slab's last node into the victim's slot: if that
                // was the entry being written, follow it (CLOCK's second chance must
                // still recognise it).
                let last = u32::try_from(self.nodes.len() - 1).unwrap_or(NIL);
                let victim = self.tail;
                self.evict_tail(now, removed);
                if i == last {
                    i = victim;
                }
            }
            return;
        }
        if w > self.config.capacity {
            self.count(RemovalCause::Capacity);
            removed.push(key, value, RemovalCause::Capacity);
            return;
        }
        while self.weight + w > self.config.capacity && self.tail != NIL {
            self.second_chance(NIL, now);
            let tail = self.tail;
            let tail_weight = u64::from(self.nodes[ix(tail)].weight);
            if self.weight - tail_weight + w <= self.config.capacity {
                // The last eviction needed: write the new entry into the victim's node.
                self.replace_tail(
                    tail, hash, key, value, weight, expires_at, deadline, now, removed,
                );
                return;
            }
            self.evict_tail(now, removed);
        }
        let Ok(i) = u32::try_from(self.nodes.len()) else {
            // More than 2^32 - 1 entries in one shard: refuse rather than corrupt links.
            self.count(RemovalCause::Capacity);
            removed.push(key, value, RemovalCause::Capacity);
            return;
        };
        self.nodes.push(Node {
            key,
            value,
            deadline,
            weight,
            referenced: AtomicBool::new(false),
        });
        self.links.push(Link {
            prev: NIL,
            next: NIL,
        });
        self.cold.push(Cold { hash, expires_at });
        self.weight += w;
        self.push_front(i);
        let cold = &self.cold;
        self.table.insert_unique(hash, i, |&j| cold[ix(j)].hash);
    }

    fn deadlines(&self, ttl: u64, now: &mut LazyNow<'_>) -> (u64, u64) {
        if ttl == NEVER && self.config.tti == NEVER {
            return (NEVER, NEVER);
        }
        let t = now.get();
        let expires_at = if ttl == NEVER {
            NEVER
        } else {
            t.saturating_add(ttl)
        };
        let idle = if self.config.tti == NEVER {
            NEVER
        } else {
            t.saturating_add(self.config.tti)
        };
        (expires_at, expires_at.min(idle))
    }

    fn victim_cause(&self, i: u32, now: &mut LazyNow<'_>) -> RemovalCause {
        let deadline = self.nodes[ix(i)].deadline;
        if deadline != NEVER && now.get() >= deadline {
            RemovalCause::Expired
        } else {
            RemovalCause::Capacity
        }
    }

    fn evict_tail(&mut self, now: &mut LazyNow<'_>, removed: &mut Removed<K, V>) {
        let tail = self.tail;
        let cause = self.victim_cause(tail, now);
        let node = self.remove_at(tail);
        self.count(cause);
        removed.push(node.key, node.value, cause);
    }

    #[allow(clippy::too_many_arguments)]
    fn replace_tail(
        &mut self,
        tail: u32,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        expires_at: u64,
        deadline: u64,
        now: &mut LazyNow<'_>,
        removed: &mut Removed<K, V>,
    ) {
        let cause = self.victim_cause(tail, now);
        self.unlink(tail);
        let old_hash = self.cold[ix(tail)].hash;
        if let Ok(entry) = self.table.find_entry(old_hash, |&j| j == tail) {
            entry.remove();
        }
        let n = &mut self.nodes[ix(tail)];
        let old_key = std::mem::replace(&mut n.key, key);
        let old_value = std::mem::replace(&mut n.value, value);
        let old_weight = std::mem::replace(&mut n.weight, weight);
        n.deadline = deadline;
        *n.referenced.get_mut() = false;
        self.cold[ix(tail)] = Cold { hash, expires_at };
        self.weight = self.weight - u64::from(old_weight) + u64::from(weight);
        self.push_front(tail);
        let cold = &self.cold;
        self.table.insert_unique(hash, tail, |&j| cold[ix(j)].hash);
        self.count(cause);
        removed.push(old_key, old_value, cause);
    }

    /// Removes `key`; returns its value unless it had expired (then it is removed and
    /// reported as expired).
    pub(crate) fn remove<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        now: &mut LazyNow<'_>,
        removed: &mut Removed<K, V>,
    ) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
        V: Clone,
    {
        if !self.loads.is_empty() {
            self.forget_load(hash, key);
        }
        let i = self.find(hash, key)?;
        let cause = self.victim_cause(i, now);
        let node = self.remove_at(i);
        self.count(match cause {
            RemovalCause::Expired => RemovalCause::Expired,
            _ => RemovalCause::Explicit,
        });
        if cause == RemovalCause::Expired {
            removed.push(node.key, node.value, RemovalCause::Expired);
            None
        } else if removed.keep {
            let value = node.value.clone();
            removed.push(node.key, node.value, RemovalCause::Explicit);
            Some(value)
        } else {
            Some(node.value)
        }
    }

    /// Removes every entry for which `pred` holds (all when `pred` is `None`);
    /// expired ones among them are reported as expired.
    pub(crate) fn remove_where(
        &mut self,
        mut pred: Option<Predicate<'_, K, V>>,
        now: &mut LazyNow<'_>,
        removed: &mut Removed<K, V>,
    ) {
        if pred.is_none() {
            for p in self.loads.iter_mut() {
                p.store = false;
            }
        }
        // Descending, so the node `swap_remove` moves into a hole was already visited.
        for i in (0..self.nodes.len()).rev() {
            let Ok(i) = u32::try_from(i) else { continue };
            let hit = match pred.as_mut() {
                None => true,
                Some(p) => {
                    let n = &self.nodes[ix(i)];
                    p(&n.key, &n.value)
                }
            };
            if hit {
                let cause = match self.victim_cause(i, now) {
                    RemovalCause::Expired => RemovalCause::Expired,
                    _ => RemovalCause::Explicit,
                };
                let node = self.remove_at(i);
                self.count(cause);
                removed.push(node.key, node.value, cause);
            }
        }
    }

    /// Removes every expired entry.
    pub(crate) fn purge_expired(&mut self, now: &mut LazyNow<'_>, removed: &mut Removed<K, V>) {
        for i in (0..self.nodes.len()).rev() {
            let Ok(i) = u32::try_from(i) else { continue };
            if self.victim_cause(i, now) == RemovalCause::Expired {
                let node = self.remove_at(i);
                self.count(RemovalCause::Expired);
                removed.push(node.key, node.value, RemovalCause::Expired);
            }
        }
    }

    /// Marks a load of `key` in progress as not to be cached.
    fn forget_load<Q>(&mut self, hash: u64, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        if let Some(p) = self.loads.find_mut(hash, |p| p.key.borrow() == key) {
            p.store = false;
        }
    }

    /// Keys from least to most recently used (tests and debugging).
    #[cfg(test)]
    pub(crate) fn keys_lru_first(&self) -> Vec<&K> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut i = self.tail;
        while i != NIL {
            let n = &self.nodes[ix(i)];
            out.push(&n.key);
            i = self.links[ix(i)].prev;
        }
        out
    }

    /// Checks the list, the index and the weight agree (tests).
    #[cfg(test)]
    pub(crate) fn check(&self)
    where
        K: Eq,
    {
        let mut seen = 0;
        let mut i = self.head;
        let mut prev = NIL;
        let mut weight = 0;
        while i != NIL {
            let n = &self.nodes[ix(i)];
            assert_eq!(self.links[ix(i)].prev, prev);
            assert_eq!(self.find(self.cold[ix(i)].hash, &n.key), Some(i));
            weight += u64::from(n.weight);
            seen += 1;
            prev = i;
            i = self.links[ix(i)].next;
        }
        assert_eq!(prev, self.tail);
        assert_eq!(seen, self.nodes.len());
        assert_eq!(self.links.len(), self.nodes.len());
        assert_eq!(self.cold.len(), self.nodes.len());
        assert_eq!(self.table.len(), self.nodes.len());
        assert_eq!(weight, self.weight);
        assert!(self.weight <= self.config.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn shard(capacity: u64) -> Shard<u32, u32> {
        Shard::new(ShardConfig {
            capacity,
            tti: NEVER,
            policy: Policy::Lru,
        })
    }

    #[test]
    fn clock_gives_read_entries_a_second_chance() {
        let clock = ManualClock::new();
        let mut now = LazyNow::new(&clock);
        let mut s = Shard::new(ShardConfig {
            capacity: 3,
            tti: NEVER,
            policy: Policy::Clock,
        });
        let mut rm = Removed::new(true);
        for k in 1..=3 {
            s.insert(h(k), k, k * 10, 1, NEVER, &mut now, &mut rm);
        }
        assert!(matches!(
            s.get_shared(h(1), &1, &mut now, false),
            SharedRead::Hit(10, NEVER)
        ));
        assert_eq!(s.keys_lru_first(), [&1, &2, &3], "a hit moves nothing");
        s.insert(h(4), 4, 40, 1, NEVER, &mut now, &mut rm);
        assert_eq!(
            rm.items,
            [(2, 20, RemovalCause::Capacity)],
            "1 was read: 2 goes"
        );
        assert_eq!(s.keys_lru_first(), [&3, &1, &4]);
        s.check();
    }

    fn clock_shard(capacity: u64) -> Shard<u32, u32> {
        Shard::new(ShardConfig {
            capacity,
            tti: NEVER,
            policy: Policy::Clock,
        })
    }

    #[test]
    fn clock_gives_a_second_chance_when_a_heavier_value_replaces_one() {
        // The replaced entry is at the front: the pass must still skip read entries
        // at the tail (a mutant that returned early whenever the head is the entry
        // being written evicted the read entry 1 here).
        let clock = ManualClock::new();
        let mut now = LazyNow::new(&clock);
        let mut s = clock_shard(3);
        let mut rm = Removed::new(true);
        for k in 1..=3 {
            s.insert(h(k), k, k * 10, 1, NEVER, &mut now, &mut rm);
        }
        assert!(matches!(
            s.get_shared(h(1), &1, &mut now, false),
            SharedRead::Hit(10, NEVER)
        ));
        s.insert(h(3), 3, 31, 2, NEVER, &mut now, &mut rm);
        assert_eq!(
            rm.items,
            [
                (3, 30, RemovalCause::Replaced),
                (2, 20, RemovalCause::Capacity)
            ]
        );
        assert_eq!(s.keys_lru_first(), [&3, &1], "1 went round to the front");
        s.check();
    }

    #[test]
    fn clock_serves_an_unexpired_entry_with_a_time_to_live_under_the_shared_lock() {
        // Only expiry or a time-to-idle need the exclusive lock; a mutant that sent
        // every entry with a deadline there kept the answers but lost the point.
        let clock = ManualClock::new();
        let mut now = LazyNow::new(&clock);
        let mut s = clock_shard(3);
        let mut rm = Removed::new(false);
        s.insert(h(1), 1, 10, 1, 5_000, &mut now, &mut rm);
        assert!(matches!(
            s.get_shared(h(1), &1, &mut now, false),
            SharedRead::Hit(10, NEVER)
        ));
        clock.advance(std::time::Duration::from_nanos(5_000));
        let mut later = LazyNow::new(&clock);
        assert!(matches!(
            s.get_shared(h(1), &1, &mut later, false),
            SharedRead::Exclusive
        ));
    }

    fn h(k: u32) -> u64 {
        u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn what_a_read_writes_shares_the_mutex_word_s_cache_line() {
        // parking_lot's read-write lock puts its 8-byte lock word first; the shard
        // follows at its alignment, 8.
        assert_eq!(
            std::mem::size_of::<parking_lot::RwLock<Shard<u64, u64>>>(),
            8 + std::mem::size_of::<Shard<u64, u64>>()
        );
        let end =
            std::mem::offset_of!(Shard<u64, u64>, table) + std::mem::size_of::<HashTable<u32>>();
        assert!(8 + end <= 64, "hot fields end at byte {}", 8 + end);
    }

    #[test]
    fn lru_order_follows_use_and_evicts_the_tail_in_place() {
        let clock = ManualClock::new();
        let mut now = LazyNow::new(&clock);
        let mut s = shard(3);
        let mut rm = Removed::new(true);
        for k in 1..=3 {
            s.insert(h(k), k, k * 10, 1, NEVER, &mut now, &mut rm);
        }
        assert_eq!(s.keys_lru_first(), [&1, &2, &3]);
        assert_eq!(s.get(h(1), &1, &mut now, false, &mut rm), Some((10, NEVER)));
        assert_eq!(s.keys_lru_first(), [&2, &3, &1]);
        s.insert(h(4), 4, 40, 1, NEVER, &mut now, &mut rm);
        assert_eq!(rm.items, [(2, 20, RemovalCause::Capacity)]);
        assert_eq!(s.keys_lru_first(), [&3, &1, &4]);
        s.check();
    }

    #[test]
    fn an_insert_that_one_eviction_makes_room_for_reuses_the_victim_s_slot() {
        // Kills the mutant that never takes the in-place path (`weight + tail_weight`
        // in its condition): evicting and pushing gives the same order but moves
        // the last node into the hole and appends the new one.
        let clock = ManualClock::new();
        let mut now = LazyNow::new(&clock);
        let mut s = shard(3);
        let mut rm = Removed::new(false);
        for k in 1..=3 {
            s.insert(h(k), k, k, 1, NEVER, &mut now, &mut rm);
        }
        let victim_slot = s.find(h(1), &1);
        s.insert(h(4), 4, 4, 1, NEVER, &mut now, &mut rm);
        assert_eq!(
            s.find(h(4), &4),
            victim_slot,
            "written into the victim's node"
        );
        assert_eq!(s.find(h(3), &3), Some(2), "no node moved");
        s.check();
    }

    #[test]
    fn a_read_that_does_not_ask_for_the_time_to_live_gets_never() {
        // The documented contract of `get`'s second value; it also spares the read of
        // the cold vector (the mutant `!want_ttl && ...` reads it and returns it).
        let clock = ManualClock::new();
        let mut now = LazyNow::new(&clock);
        let mut s = shard(3);
        let mut rm = Removed::new(false);
        s.insert(h(1), 1, 10, 1, 5_000, &mut now, &mut rm);
        let deadline = now.get() + 5_000;
        assert_eq!(s.get(h(1), &1, &mut now, false, &mut rm), Some((10, NEVER)));
        assert_eq!(
            s.get(h(1), &1, &mut now, true, &mut rm),
            Some((10, deadline))
        );
    }

    #[test]
    fn an_entry_is_expired_for_contains_at_its_deadline_exactly() {
        let clock = ManualClock::new();
        let mut s = shard(3);
        let mut rm = Removed::new(false);
        s.insert(h(1), 1, 10, 1, 5, &mut LazyNow::new(&clock), &mut rm);
        clock.advance(std::time::Duration::from_nanos(4));
        assert!(s.contains(h(1), &1, &mut LazyNow::new(&clock)));
        clock.advance(std::time::Duration::from_nanos(1));
        assert!(!s.contains(h(1), &1, &mut LazyNow::new(&clock)));
    }

    #[test]
    fn removing_from_the_middle_keeps_links_and_index_consistent() {
        let clock = ManualClock::new();
        let mut now = LazyNow::new(&clock);
        let mut s = shard(10);
        let mut rm = Removed::new(false);
        for k in 0..10 {
            s.insert(h(k), k, k, 1, NEVER, &mut now, &mut rm);
        }
        for k in [0, 5, 9, 3] {
            assert_eq!(s.remove(h(k), &k, &mut now, &mut rm), Some(k));
            s.check();
        }
        assert_eq!(s.keys_lru_first(), [&1, &2, &4, &6, &7, &8]);
    }
}
