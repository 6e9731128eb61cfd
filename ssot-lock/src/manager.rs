//! The in-process lock manager.
//!
//! # Design
//!
//! Keys live in a fixed number of shards, each a `parking_lot::Mutex` around a
//! `hashbrown::HashTable` of entries. An entry exists only while its key has a holder or
//! a waiter: acquiring an idle key inserts it, releasing the last hold removes it. So an
//! uncontended acquire + release is two short critical sections on one shard, with the
//! first holder stored inline in the entry and no allocation beyond the table slot
//! (hashbrown keeps its capacity after removals).
//!
//! An entry's table slot is reused, not freed; a table that grew for a burst of keys
//! is shrunk once it is mostly empty (see `SHRINK_ABOVE`).
//!
//! A guard does not keep a copy of the key: it keeps the key's hash and the entry's
//! id (unique within the shard), and finds its entry with `HashTable::find_entry(hash,
//! |e| e.id == id)`. That is why the table is a `HashTable` rather than a `HashMap`: a
//! `HashMap` could only be searched by key, and cloning a `String` key into every guard
//! would be an allocation on the fast path.
//!
//! A request the grant rule admits is granted on the fast path, under its key's shard
//! alone, whether or not others wait for the key: a `Read` passes a queued `Write` there,
//! as the table says it may. The fast path refuses only what needs more: a request that
//! must wait, and a grant that would overtake a conflicting waiter (a higher priority),
//! since that adds a wait-for edge from the waiter to the new holder.
//!
//! Those take the slow path, which needs a global view for the deadlock search. It takes
//! the manager's one wait-graph mutex, then the key's shard, re-examines the key, queues
//! the request (or grants it by overtaking), and searches the wait-for graph for a cycle
//! through the requesting owner before it sleeps. The search follows an index of who
//! waits where (kept under the wait-graph mutex) and locks the shard of each entry it
//! visits, one at a time, for as long as it reads that entry. So a request that waits
//! stalls only its own key's shard for the search, and every other key only for the
//! instant its entry is read; the fast path never touches the wait-graph mutex. The
//! request then sleeps on its own `Condvar` paired with the key's shard mutex. Whoever
//! changes a key's state (release, downgrade, a withdrawn request) grants what the rule
//! allows under that shard's mutex and wakes the granted waiters; a waiter never has to
//! retry. Lock order: the wait-graph mutex before any shard; only its holder ever holds
//! two shards at once (its own and the one it reads), so the manager's own mutexes can
//! never deadlock.
//!
//! Why the search needs no snapshot: an edge `A -> B` ("A waits for B") exists while A
//! has a queued request that conflicts with a holder B, or with a request of B queued
//! ahead of it. New edges (between two owners not already joined by one) appear only
//! when a request is queued (its own edges, and edges from the requests it overtakes),
//! when an upgrade is queued, or when a request is granted by overtaking a conflicting
//! queued one, and each of those happens on the slow path, under the wait-graph mutex.
//! Everything else only removes edges or turns a soft edge into a hard one between the
//! same owners: a grant from the queue (nothing ahead of the granted request conflicts
//! with it, and what conflicts behind it already waited for its owner), a release, a
//! downgrade, a timeout. So while one search runs, the graph outside the searcher's own
//! shard (which it holds) only loses edges. A cycle that exists when the search ends
//! existed throughout it and is found; a cycle the search reports existed in full at the
//! moment it read its first edge. Every cycle is therefore caught by the request that
//! would form it, at the moment it would form, and none is reported that never existed.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Debug};
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use parking_lot::{Mutex, MutexGuard};

use crate::combined::CombinedGuard;
use crate::error::{CycleStep, Error, Result};
use crate::file::FileLock;
use crate::state::{Holder, KeyState, Waiter, Waiting};
use crate::wait::{Patience, Spin, Wait};
use crate::{LockKind, LockStats, Owner};

/// A shard's table that has grown past this many slots is shrunk, on the next insert,
/// once fewer than an eighth of its slots are used: memory follows the keys in use,
/// and the 4x gap between shrinking and growing again keeps both amortized O(1).
const SHRINK_ABOVE: usize = 1024;

/// One key's entry in a shard.
struct Entry<K> {
    key: K,
    /// Unique within the shard for the shard's lifetime: guards find their entry by it.
    id: u64,
    state: KeyState,
}

/// "A request is queued on entry `id` of the shard `hash` picks."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WaitRef {
    hash: u64,
    id: u64,
}

/// Where each owner has a request queued: what the deadlock search follows.
///
/// Written only under the wait-graph mutex: an entry is added when a request queues
/// (on the slow path) and removed by the waiting thread once it stops waiting. So an
/// entry may briefly outlive its request (granted, not yet removed); the search then
/// finds the owner absent from the key's queue and follows no edge from it.
#[derive(Debug, Default)]
struct WaitIndex(HashMap<Owner, Vec<WaitRef>>);

impl WaitIndex {
    fn of(&self, owner: Owner) -> &[WaitRef] {
        self.0.get(&owner).map_or(&[], Vec::as_slice)
    }

    fn add(&mut self, owner: Owner, r: WaitRef) {
        self.0.entry(owner).or_default().push(r);
    }

    fn remove(&mut self, owner: Owner, r: WaitRef) {
        if let Some(refs) = self.0.get_mut(&owner) {
            if let Some(i) = refs.iter().position(|x| *x == r) {
                refs.swap_remove(i);
            }
            if refs.is_empty() {
                self.0.remove(&owner);
            }
        }
    }
}

struct Shard<K> {
    table: HashTable<Entry<K>>,
    next_id: u64,
    stats: LockStats,
}

impl<K> Shard<K> {
    fn new() -> Self {
        Shard {
            table: HashTable::new(),
            next_id: 0,
            stats: LockStats::default(),
        }
    }
}

/// A shard on its own cache lines, so that threads working on different shards do not
/// slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

/// Grants what the rule allows on one key and wakes the granted waiters.
fn settle(state: &mut KeyState) {
    state.grant_waiting(|w| {
        w.waiter.condvar.notify_one();
    });
}

/// How errors name a key unless told otherwise: `key "tasks.md"`.
fn debug_name<K: Debug>(key: &K) -> String {
    format!("key {key:?}")
}

/// A lock manager: read, write and exclusive locks on keys of type `K`.
///
/// See the [crate documentation](crate) for the semantics and the cost of each
/// operation. The manager is `Send + Sync`; share it by reference (scoped threads) or
/// in an `Arc`.
pub struct LockManager<K> {
    shards: Box<[Padded<Mutex<Shard<K>>>]>,
    mask: usize,
    hasher: RandomState,
    /// The wait-graph mutex: held by a request on the slow path for its whole decision
    /// (see the module documentation); never taken by the fast path.
    waits: Padded<Mutex<WaitIndex>>,
    /// How errors name a key.
    name: fn(&K) -> String,
}

impl<K> fmt::Debug for LockManager<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockManager")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

/// Options for a [`LockManager<K>`]: `LockManager::<u64>::builder().shards(64).build()`.
#[must_use = "a builder does nothing until build()"]
pub struct LockManagerBuilder<K> {
    shards: usize,
    keys: PhantomData<fn(&K)>,
}

impl<K> fmt::Debug for LockManagerBuilder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockManagerBuilder")
            .field("shards", &self.shards)
            .finish()
    }
}

impl<K> Clone for LockManagerBuilder<K> {
    fn clone(&self) -> Self {
        LockManagerBuilder {
            shards: self.shards,
            keys: PhantomData,
        }
    }
}

impl<K> Default for LockManagerBuilder<K> {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(4, usize::from);
        LockManagerBuilder {
            shards: (cpus * 4).clamp(8, 128),
            keys: PhantomData,
        }
    }
}

impl<K> LockManagerBuilder<K> {
    /// The number of shards, rounded up to a power of two (at least 1, at most 4096).
    ///
    /// More shards let more threads lock different keys without meeting: a request
    /// that has to wait holds its key's shard while it checks for deadlock, and keys
    /// that share the shard wait that long. The default is four per CPU, between 8 and
    /// 128.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = shards;
        self
    }

    /// Makes the manager. Errors name a key by its `Debug` form: `key "tasks.md"`.
    #[must_use]
    pub fn build(self) -> LockManager<K>
    where
        K: Debug,
    {
        self.build_with_key_names(debug_name)
    }

    /// Makes the manager for keys that are not `Debug` (or should not be shown as
    /// such): errors name a key by `name(key)`, called only when an error is made.
    ///
    /// ```
    /// use ssot_lock::{Error, LockKind, LockManager};
    ///
    /// #[derive(Clone, PartialEq, Eq, Hash)]
    /// struct Account(u64); // no Debug
    ///
    /// let locks = LockManager::<Account>::builder()
    ///     .build_with_key_names(|a| format!("account {}", a.0));
    /// let _held = locks.lock(&Account(7), LockKind::Exclusive)?;
    /// let err = locks.try_lock(&Account(7), LockKind::Read).unwrap_err();
    /// assert!(err.to_string().contains("account 7"));
    /// # Ok::<(), Error>(())
    /// ```
    #[must_use]
    pub fn build_with_key_names(self, name: fn(&K) -> String) -> LockManager<K> {
        let count = self.shards.clamp(1, 4096).next_power_of_two();
        LockManager {
            shards: (0..count)
                .map(|_| Padded(Mutex::new(Shard::new())))
                .collect(),
            mask: count - 1,
            hasher: RandomState::default(),
            waits: Padded(Mutex::new(WaitIndex::default())),
            name,
        }
    }
}

impl<K: Debug> Default for LockManager<K> {
    fn default() -> Self {
        LockManagerBuilder::default().build()
    }
}

impl<K: Debug> LockManager<K> {
    /// A manager with the default options; errors name a key by its `Debug` form
    /// (see [`LockManagerBuilder::build_with_key_names`] for other keys).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<K> LockManager<K> {
    /// Options: the number of shards, and how errors name keys.
    pub fn builder() -> LockManagerBuilder<K> {
        // Equivalent mutant: `LockManagerBuilder::from(Default::default())` is this
        // same value (the identity `From`).
        LockManagerBuilder::default()
    }

    fn shard_index(&self, hash: u64) -> usize {
        // hashbrown uses the low bits for the bucket and the top 7 for its tags; take
        // the shard from the bits between.
        (hash >> 32) as usize & self.mask
    }

    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard<K>> {
        self.shards[self.shard_index(hash)].0.lock()
    }

    /// The number of keys with a holder or a waiter: the keys that take memory.
    #[must_use]
    pub fn active_keys(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().table.len()).sum()
    }

    /// The counters, summed over the shards (each shard is read in turn, so under load
    /// the sum is not one instant's).
    #[must_use]
    pub fn stats(&self) -> LockStats {
        let mut total = LockStats::default();
        for shard in self.shards.iter() {
            total += shard.0.lock().stats;
        }
        total
    }

    /// Releases the owner's hold on entry `(hash, id)`, grants what that allows and
    /// drops the entry if it became idle.
    fn release(&self, hash: u64, id: u64, owner: Owner) {
        let mut guard = self.shard(hash);
        if let Ok(mut occupied) = guard.table.find_entry(hash, |e| e.id == id) {
            let entry = occupied.get_mut();
            let removed = entry.state.holders.remove(owner);
            debug_assert!(removed, "a guard's hold is in its entry");
            settle(&mut entry.state);
            if entry.state.is_idle() {
                occupied.remove();
            }
        } else {
            debug_assert!(false, "a guard's entry lives as long as the guard");
        }
    }
}

impl<K: Hash + Eq> LockManager<K> {
    /// Waits for a lock of `kind` on `key`, as the calling thread.
    ///
    /// # Errors
    ///
    /// [`Error::Deadlock`] if waiting would close a cycle, [`Error::AlreadyHeld`] if the
    /// thread already holds or waits for `key`.
    ///
    /// ```
    /// use ssot_lock::{LockKind, LockManager};
    ///
    /// let locks = LockManager::<String>::new();
    /// let guard = locks.lock("tasks.md", LockKind::Read)?;
    /// assert_eq!(guard.kind(), LockKind::Read);
    /// # Ok::<(), ssot_lock::Error>(())
    /// ```
    pub fn lock<Q>(&self, key: &Q, kind: LockKind) -> Result<LockGuard<'_, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        self.acquire(key, kind, Owner::current(), 0, Wait::Block)
    }

    /// Takes a lock of `kind` on `key` if that needs no waiting, as the calling thread.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] if it would have to wait (a conflicting holder, or a
    /// conflicting request queued ahead), [`Error::AlreadyHeld`] as for
    /// [`lock`](Self::lock).
    pub fn try_lock<Q>(&self, key: &Q, kind: LockKind) -> Result<LockGuard<'_, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        self.acquire(key, kind, Owner::current(), 0, Wait::Try)
    }

    /// Waits at most `timeout` for a lock of `kind` on `key`, as the calling thread.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time passes (the request is withdrawn), and the
    /// errors of [`lock`](Self::lock).
    pub fn lock_timeout<Q>(
        &self,
        key: &Q,
        kind: LockKind,
        timeout: Duration,
    ) -> Result<LockGuard<'_, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        self.acquire(key, kind, Owner::current(), 0, Wait::timeout(timeout))
    }

    /// A request with options: owner, priority, timeout, and a cross-process lock file.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ssot_lock::{LockKind, LockManager, Owner};
    ///
    /// let locks = LockManager::<String>::new();
    /// let session = Owner::new();
    /// let guard = locks
    ///     .request("config.yaml", LockKind::Write)
    ///     .owner(session)
    ///     .priority(10)
    ///     .timeout(Duration::from_secs(5))
    ///     .acquire()?;
    /// assert_eq!(guard.owner(), session);
    /// # Ok::<(), ssot_lock::Error>(())
    /// ```
    pub fn request<'m, 'q, Q>(&'m self, key: &'q Q, kind: LockKind) -> LockRequest<'m, 'q, K, Q>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        LockRequest {
            manager: self,
            key,
            kind,
            owner: None,
            priority: 0,
            wait: Patience::Forever,
        }
    }

    /// The current holders of `key`, in no particular order.
    #[must_use]
    pub fn holders<Q>(&self, key: &Q) -> Vec<(Owner, LockKind)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        shard
            .table
            .find(hash, |e| e.key.borrow() == key)
            .map(|e| e.state.holders.iter().map(|h| (h.owner, h.kind)).collect())
            .unwrap_or_default()
    }

    /// The requests waiting for `key`, in the order they will be considered.
    #[must_use]
    pub fn waiters<Q>(&self, key: &Q) -> Vec<QueuedRequest>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        shard
            .table
            .find(hash, |e| e.key.borrow() == key)
            .map(|e| {
                e.state
                    .queue
                    .iter()
                    .map(|w| QueuedRequest {
                        owner: w.owner,
                        kind: w.kind,
                        priority: w.priority,
                        upgrade: w.upgrade,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn guard(&self, hash: u64, id: u64, owner: Owner, kind: LockKind) -> LockGuard<'_, K> {
        LockGuard {
            manager: self,
            hash,
            id,
            owner,
            kind,
        }
    }

    fn acquire<Q>(
        &self,
        key: &Q,
        kind: LockKind,
        owner: Owner,
        priority: i32,
        wait: Wait,
    ) -> Result<LockGuard<'_, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        let hash = self.hasher.hash_one(key);
        // Set once the fast path has failed: the spinning, and when it started.
        let mut spinning: Option<(Spin, Instant)> = None;
        loop {
            // Fast path: the key is idle, or the grant rule admits the request (every
            // holder and every request queued ahead is compatible) and it overtakes no
            // conflicting waiter.
            let mut guard = self.shard(hash);
            let shard = &mut *guard;
            let id = match shard.table.find_mut(hash, |e| e.key.borrow() == key) {
                None => self.insert_held(shard, hash, key, owner, kind),
                Some(entry) => {
                    if let Some(held) = entry.state.involvement(owner) {
                        return Err(Error::AlreadyHeld {
                            owner,
                            resource: (self.name)(&entry.key),
                            kind: held,
                        });
                    }
                    let pos = entry.state.position(priority, false);
                    if entry.state.grantable_at(kind, pos, None) {
                        if entry.state.overtakes_conflicting(kind, pos) {
                            // A new wait-for edge: the deadlock search decides.
                            drop(guard);
                            break;
                        }
                        entry.state.holders.push(Holder { owner, kind });
                        entry.id
                    } else if matches!(wait, Wait::Try) {
                        let resource = (self.name)(&entry.key);
                        shard.stats.would_block += 1;
                        return Err(Error::WouldBlock { resource, kind });
                    } else {
                        drop(guard);
                        // Spin a little before queuing; see `Spin`.
                        let (spin, _) =
                            spinning.get_or_insert_with(|| (Spin::default(), Instant::now()));
                        if spin.again() {
                            continue;
                        }
                        break;
                    }
                }
            };
            count_grant(shard, spinning.map(|(_, started)| started));
            return Ok(self.guard(hash, id, owner, kind));
        }
        let spun = spinning.map(|(_, started)| started);
        self.acquire_slow(key, hash, kind, owner, priority, wait, spun)
    }

    /// Creates the entry of an idle key, held by `owner`, and returns its id.
    #[inline]
    fn insert_held<Q>(
        &self,
        shard: &mut Shard<K>,
        hash: u64,
        key: &Q,
        owner: Owner,
        kind: LockKind,
    ) -> u64
    where
        Q: ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        // Not killable by a test (cargo-mutants): `>` as `>=` and `<` as `<=` move the
        // thresholds by one slot, and `capacity()` (items plus free slots, lowered by
        // tombstones) cannot be set to an exact value from outside hashbrown.
        if shard.table.capacity() > SHRINK_ABOVE && shard.table.len() * 8 < shard.table.capacity() {
            // A burst of keys is over: give the table's memory back.
            let len = shard.table.len();
            shard
                .table
                .shrink_to(len * 2, |e| self.hasher.hash_one(&e.key));
        }
        let id = shard.next_id;
        shard.next_id += 1;
        shard.table.insert_unique(
            hash,
            Entry {
                key: key.to_owned().into(),
                id,
                state: KeyState::held_by(owner, kind),
            },
            |e| self.hasher.hash_one(&e.key),
        );
        id
    }

    /// The slow path of a request: under the wait-graph mutex and the key's shard,
    /// decides afresh and either grants (checking a grant that overtakes a conflicting
    /// waiter for a cycle), refuses, or queues and waits. `spun` is when the fast path
    /// started spinning, if it did: that time counts as waiting.
    #[allow(clippy::too_many_arguments)]
    fn acquire_slow<Q>(
        &self,
        key: &Q,
        hash: u64,
        kind: LockKind,
        owner: Owner,
        priority: i32,
        wait: Wait,
        spun: Option<Instant>,
    ) -> Result<LockGuard<'_, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        let started = spun.unwrap_or_else(Instant::now);
        let index = self.waits.0.lock();
        let si = self.shard_index(hash);
        let mut own = self.shards[si].0.lock();
        let shard = &mut *own;
        // The state may have changed while no shard was held: decide afresh.
        let Some(entry) = shard.table.find_mut(hash, |e| e.key.borrow() == key) else {
            let id = self.insert_held(shard, hash, key, owner, kind);
            count_grant(shard, spun);
            return Ok(self.guard(hash, id, owner, kind));
        };
        if let Some(held) = entry.state.involvement(owner) {
            return Err(Error::AlreadyHeld {
                owner,
                resource: (self.name)(&entry.key),
                kind: held,
            });
        }
        let id = entry.id;
        let pos = entry.state.position(priority, false);
        if entry.state.grantable_at(kind, pos, None) {
            entry.state.holders.push(Holder { owner, kind });
            if entry.state.overtakes_conflicting(kind, pos) {
                // Overtaking a conflicting waiter gives it an edge to `owner`, which
                // closes a cycle if `owner` waits elsewhere (an owner shared by threads).
                // The shard stays held, so no one sees the hold before it is settled.
                if let Some(cycle) = self.find_cycle(&index, si, shard, owner) {
                    if let Some(entry) = shard.table.find_mut(hash, |e| e.id == id) {
                        entry.state.holders.remove(owner);
                    }
                    shard.stats.deadlocks += 1;
                    return Err(Error::Deadlock {
                        victim: owner,
                        cycle,
                    });
                }
            }
            count_grant(shard, spun);
            return Ok(self.guard(hash, id, owner, kind));
        }
        if matches!(wait, Wait::Try) {
            let resource = (self.name)(&entry.key);
            // Reached only when the key changed between the fast path (which found the
            // request grantable) and here: a race no test can order without a hook, so
            // the mutants of this count survive (cargo-mutants).
            shard.stats.would_block += 1;
            return Err(Error::WouldBlock { resource, kind });
        }
        let waiter = Arc::new(Waiter::default());
        entry.state.queue.insert(
            pos,
            Waiting {
                owner,
                kind,
                priority,
                upgrade: false,
                waiter: Arc::clone(&waiter),
            },
        );
        self.wait_queued(
            index, own, si, &waiter, hash, id, owner, kind, wait, started, false,
        )?;
        Ok(self.guard(hash, id, owner, kind))
    }

    /// The common tail of a request or upgrade that must wait. With the wait-graph
    /// mutex and the key's shard held and the request already in its key's queue:
    /// refuse it if waiting would close a cycle in the wait-for graph, else release the
    /// wait-graph mutex, wait for the grant, and take the request out of the index.
    #[allow(clippy::too_many_arguments)]
    fn wait_queued(
        &self,
        mut index: MutexGuard<'_, WaitIndex>,
        mut own: MutexGuard<'_, Shard<K>>,
        si: usize,
        waiter: &Waiter,
        hash: u64,
        id: u64,
        owner: Owner,
        kind: LockKind,
        wait: Wait,
        started: Instant,
        upgrade: bool,
    ) -> Result<()> {
        let r = WaitRef { hash, id };
        index.add(owner, r);
        if let Some(cycle) = self.find_cycle(&index, si, &own, owner) {
            index.remove(owner, r);
            self.withdraw(&mut own, hash, id, owner);
            own.stats.deadlocks += 1;
            return Err(Error::Deadlock {
                victim: owner,
                cycle,
            });
        }
        drop(index);
        own.stats.contended += 1;
        let result =
            self.wait_for_grant(own, waiter, hash, id, owner, kind, wait, started, upgrade);
        // Not holding any shard now, as the lock order asks.
        self.waits.0.lock().remove(owner, r);
        result
    }

    /// Withdraws the owner's queued request on `(hash, id)`, grants what that allows,
    /// and drops the entry if it became idle. Returns the key's description.
    fn withdraw(&self, shard: &mut Shard<K>, hash: u64, id: u64, owner: Owner) -> String {
        let Ok(mut occupied) = shard.table.find_entry(hash, |e| e.id == id) else {
            debug_assert!(false, "a waiter's entry lives as long as its request");
            return String::new();
        };
        let entry = occupied.get_mut();
        let resource = (self.name)(&entry.key);
        entry.state.withdraw(owner);
        settle(&mut entry.state);
        if entry.state.is_idle() {
            occupied.remove();
        }
        resource
    }

    #[allow(clippy::too_many_arguments)] // private: the whole of one waiting request
    fn wait_for_grant(
        &self,
        mut own: MutexGuard<'_, Shard<K>>,
        waiter: &Waiter,
        hash: u64,
        id: u64,
        owner: Owner,
        kind: LockKind,
        wait: Wait,
        started: Instant,
        upgrade: bool,
    ) -> Result<()> {
        loop {
            if waiter.is_granted() {
                own.stats.wait_time += started.elapsed();
                if upgrade {
                    own.stats.upgrades += 1;
                } else {
                    own.stats.acquisitions += 1;
                }
                return Ok(());
            }
            match wait {
                Wait::Until { deadline, timeout } => {
                    let timed_out = waiter.condvar.wait_until(&mut own, deadline).timed_out();
                    // `&&` as `||` (a mutant) differs only for a request granted
                    // at its very deadline (parking_lot has no spurious wake-ups): a
                    // race no test can order, so it survives.
                    if timed_out && !waiter.is_granted() {
                        let resource = self.withdraw(&mut own, hash, id, owner);
                        own.stats.timeouts += 1;
                        own.stats.wait_time += started.elapsed();
                        return Err(Error::Timeout {
                            resource,
                            kind,
                            timeout,
                        });
                    }
                }
                Wait::Block | Wait::Try => waiter.condvar.wait(&mut own),
            }
        }
    }

    fn describe_entry(&self, hash: u64, id: u64) -> String {
        let shard = self.shard(hash);
        shard
            .table
            .find(hash, |e| e.id == id)
            .map(|e| (self.name)(&e.key))
            .unwrap_or_default()
    }

    fn upgrade(&self, hash: u64, id: u64, owner: Owner, wait: Wait) -> Result<()> {
        {
            let mut guard = self.shard(hash);
            let shard = &mut *guard;
            if let Some(entry) = shard.table.find_mut(hash, |e| e.id == id) {
                if entry
                    .state
                    .grantable_at(LockKind::Exclusive, 0, Some(owner))
                {
                    if let Some(h) = entry.state.holders.get_mut(owner) {
                        h.kind = LockKind::Exclusive;
                    }
                    shard.stats.upgrades += 1;
                    return Ok(());
                }
                if matches!(wait, Wait::Try) {
                    let resource = (self.name)(&entry.key);
                    shard.stats.would_block += 1;
                    return Err(Error::WouldBlock {
                        resource,
                        kind: LockKind::Exclusive,
                    });
                }
            }
        }
        let started = Instant::now();
        let index = self.waits.0.lock();
        let si = self.shard_index(hash);
        let mut own = self.shards[si].0.lock();
        let shard = &mut *own;
        let Some(entry) = shard.table.find_mut(hash, |e| e.id == id) else {
            debug_assert!(false, "a guard's entry lives as long as the guard");
            return Ok(());
        };
        if entry
            .state
            .grantable_at(LockKind::Exclusive, 0, Some(owner))
        {
            if let Some(h) = entry.state.holders.get_mut(owner) {
                h.kind = LockKind::Exclusive;
            }
            // Reached only if the readers left since the check above: a race no test
            // can order without a hook, so this count's mutants survive (cargo-mutants).
            shard.stats.upgrades += 1;
            return Ok(());
        }
        let waiter = Arc::new(Waiter::default());
        entry.state.queue.insert(
            0,
            Waiting {
                owner,
                kind: LockKind::Exclusive,
                priority: i32::MAX,
                upgrade: true,
                waiter: Arc::clone(&waiter),
            },
        );
        self.wait_queued(
            index,
            own,
            si,
            &waiter,
            hash,
            id,
            owner,
            LockKind::Exclusive,
            wait,
            started,
            true,
        )
    }

    fn downgrade(&self, hash: u64, id: u64, owner: Owner, to: LockKind) {
        let mut guard = self.shard(hash);
        if let Some(entry) = guard.table.find_mut(hash, |e| e.id == id) {
            if let Some(h) = entry.state.holders.get_mut(owner) {
                h.kind = to;
            }
            settle(&mut entry.state);
        }
    }
}

/// Counts a grant made without queuing; `spun` is when the request started spinning on
/// the fast path, if it did.
fn count_grant<K>(shard: &mut Shard<K>, spun: Option<Instant>) {
    shard.stats.acquisitions += 1;
    // `spun` is set only when the holders left while the request spun (or between its
    // fast and slow paths): timing no test can order, so the mutants of the two counts
    // below survive (cargo-mutants).
    if let Some(started) = spun {
        shard.stats.contended += 1;
        shard.stats.wait_time += started.elapsed();
    }
}

/// One step of the search: `from` waits with a `kind` request on entry `(hash, id)`.
#[derive(Clone, Copy)]
struct Edge {
    from: Owner,
    kind: LockKind,
    hash: u64,
    id: u64,
}

impl<K: Hash + Eq> LockManager<K> {
    /// Reads shard `si`: through `own` if that is the shard already held (shard
    /// `own_index`), else by locking it for the duration of `read`.
    fn read_shard<R>(
        &self,
        si: usize,
        own_index: usize,
        own: &Shard<K>,
        read: impl FnOnce(&Shard<K>) -> R,
    ) -> R {
        if si == own_index {
            read(own)
        } else {
            read(&self.shards[si].0.lock())
        }
    }

    /// Searches the wait-for graph for a path from `start` back to itself, with the
    /// wait-graph mutex (`index`) and shard `own_index` (`own`) held; see the module
    /// documentation for why reading the other shards one at a time is enough.
    /// Cost: one probe per request of each owner reached, locking its shard; so
    /// O(edges reached), and no shard is touched that no reached owner waits on.
    fn find_cycle(
        &self,
        index: &WaitIndex,
        own_index: usize,
        own: &Shard<K>,
        start: Owner,
    ) -> Option<Vec<CycleStep>> {
        let mut stack = vec![start];
        let mut seen: HashSet<Owner> = HashSet::from([start]);
        let mut via: HashMap<Owner, Edge> = HashMap::new();
        let mut blockers = Vec::new();
        while let Some(owner) = stack.pop() {
            for r in index.of(owner) {
                blockers.clear();
                self.read_shard(self.shard_index(r.hash), own_index, own, |shard| {
                    if let Some(entry) = shard.table.find(r.hash, |e| e.id == r.id) {
                        blockers.extend(entry.state.blockers(owner));
                    }
                });
                for &(kind, blocker) in &blockers {
                    let edge = Edge {
                        from: owner,
                        kind,
                        hash: r.hash,
                        id: r.id,
                    };
                    if blocker == start {
                        let mut path = vec![(edge, start)];
                        let mut at = owner;
                        while at != start {
                            let Some(&back) = via.get(&at) else { break };
                            path.push((back, at));
                            at = back.from;
                        }
                        path.reverse();
                        let steps = path
                            .into_iter()
                            .map(|(edge, blocked_by)| CycleStep {
                                owner: edge.from,
                                wants: edge.kind,
                                resource: self.read_shard(
                                    self.shard_index(edge.hash),
                                    own_index,
                                    own,
                                    |shard| {
                                        shard
                                            .table
                                            .find(edge.hash, |e| e.id == edge.id)
                                            .map(|e| (self.name)(&e.key))
                                            .unwrap_or_default()
                                    },
                                ),
                                blocked_by,
                            })
                            .collect();
                        return Some(steps);
                    }
                    if seen.insert(blocker) {
                        via.insert(blocker, edge);
                        stack.push(blocker);
                    }
                }
            }
        }
        None
    }
}

/// A request being built: [`LockManager::request`], then options, then
/// [`acquire`](Self::acquire).
#[must_use = "a request does nothing until acquire()"]
pub struct LockRequest<'m, 'q, K, Q: ?Sized> {
    manager: &'m LockManager<K>,
    key: &'q Q,
    kind: LockKind,
    owner: Option<Owner>,
    priority: i32,
    wait: Patience,
}

impl<K, Q: ?Sized> fmt::Debug for LockRequest<'_, '_, K, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockRequest")
            .field("kind", &self.kind)
            .field("owner", &self.owner)
            .field("priority", &self.priority)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl<'m, K, Q> LockRequest<'m, '_, K, Q>
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ToOwned + ?Sized,
    Q::Owned: Into<K>,
{
    /// Requests as `owner` instead of the calling thread.
    pub fn owner(mut self, owner: Owner) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Waiting requests are granted highest priority first, first come first served
    /// within a priority. The default is 0; negative priorities are allowed. A request
    /// of higher priority may overtake a queued `Exclusive` of lower priority: writer
    /// starvation freedom holds within a priority.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Waits at most `timeout` (the default is to wait as long as it takes), counted
    /// from the call to [`acquire`](Self::acquire). With
    /// [`acquire_with_file`](Self::acquire_with_file) the one deadline covers both locks.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.wait = Patience::AtMost(timeout);
        self
    }

    /// Does not wait at all: the request is granted now or refused with
    /// [`Error::WouldBlock`].
    pub fn no_wait(mut self) -> Self {
        self.wait = Patience::Never;
        self
    }

    /// Takes the lock.
    ///
    /// # Errors
    ///
    /// [`Error::Deadlock`], [`Error::AlreadyHeld`], and [`Error::WouldBlock`] or
    /// [`Error::Timeout`] as the waiting option says.
    pub fn acquire(self) -> Result<LockGuard<'m, K>> {
        let owner = self.owner.unwrap_or_else(Owner::current);
        self.manager
            .acquire(self.key, self.kind, owner, self.priority, self.wait.start())
    }

    /// Takes the lock in this process and then, under it, the same kind of
    /// [`FileLock`] on `lock_file` across processes, within the one timeout.
    ///
    /// The in-process lock comes first, so threads of this process queue (with
    /// priorities and deadlock detection) in the manager, and only the winner touches
    /// the file. The lock files (`lock_file`, `<lock_file>.intent`, `<lock_file>.gate`)
    /// are opened for this guard and closed with it.
    /// The guard releases the file lock first, then the in-process lock.
    ///
    /// # Errors
    ///
    /// Those of [`acquire`](Self::acquire), and [`Error::Io`] if the lock files cannot
    /// be opened or locked. Deadlocks between processes are not detected: take file
    /// locks in one global order (or with a timeout).
    pub fn acquire_with_file(self, lock_file: impl AsRef<Path>) -> Result<CombinedGuard<'m, K>> {
        let wait = self.wait.start();
        let mut file = FileLock::open(lock_file)?;
        let kind = self.kind;
        let owner = self.owner.unwrap_or_else(Owner::current);
        let memory = self
            .manager
            .acquire(self.key, kind, owner, self.priority, wait)?;
        file.acquire(kind, wait)?;
        Ok(CombinedGuard::new(file, memory))
    }
}

/// A request waiting in a key's queue, as [`LockManager::waiters`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueuedRequest {
    /// Who asked.
    pub owner: Owner,
    /// The kind asked for (`Exclusive` for an upgrade).
    pub kind: LockKind,
    /// Its priority (`i32::MAX` for an upgrade).
    pub priority: i32,
    /// Whether it is an upgrade of the owner's `Write` lock.
    pub upgrade: bool,
}

/// A lock on one key, released when dropped.
///
/// It remembers the key's hash and entry, not the key, so making one copies nothing.
///
/// A guard can be sent to another thread and dropped there; it remains the lock of
/// [`owner`](Self::owner), the owner it was requested as. Deadlock detection sees
/// owners, not threads, so if the receiving thread then waits as a different owner
/// (its own thread owner, say) and another owner waits for this guard's key, the
/// cycle is invisible and the two block for good. To pass locks between threads,
/// request them as a session ([`Owner::new`], [`LockRequest::owner`]) and have the
/// receiving thread request as that session too.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a, K> {
    manager: &'a LockManager<K>,
    hash: u64,
    id: u64,
    owner: Owner,
    kind: LockKind,
}

impl<K> fmt::Debug for LockGuard<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("owner", &self.owner)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq> LockGuard<'_, K> {
    /// The kind held now.
    #[must_use]
    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// The owner holding it.
    #[must_use]
    pub fn owner(&self) -> Owner {
        self.owner
    }

    /// Upgrades `Write` to `Exclusive`, waiting for the readers to drain. The upgrade
    /// goes ahead of every queued request, and while it waits, new requests queue
    /// behind it. An `Exclusive` guard upgrades to itself at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUpgrade`] for a `Read` guard, [`Error::Deadlock`] if a reader
    /// waits (directly or not) for this owner. On error the guard still holds `Write`.
    pub fn upgrade(&mut self) -> Result<()> {
        self.upgrade_with(Wait::Block)
    }

    /// Upgrades `Write` to `Exclusive` if no reader holds the key.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] if readers hold it; [`Error::InvalidUpgrade`] as for
    /// [`upgrade`](Self::upgrade). The guard still holds `Write`.
    pub fn try_upgrade(&mut self) -> Result<()> {
        self.upgrade_with(Wait::Try)
    }

    /// Upgrades `Write` to `Exclusive`, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], and those of [`upgrade`](Self::upgrade). The guard still
    /// holds `Write`.
    pub fn upgrade_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.upgrade_with(Wait::timeout(timeout))
    }

    pub(crate) fn upgrade_with(&mut self, wait: Wait) -> Result<()> {
        match self.kind {
            LockKind::Exclusive => Ok(()),
            LockKind::Read => Err(Error::InvalidUpgrade {
                resource: self.manager.describe_entry(self.hash, self.id),
                from: LockKind::Read,
            }),
            LockKind::Write => {
                self.manager.upgrade(self.hash, self.id, self.owner, wait)?;
                self.kind = LockKind::Exclusive;
                Ok(())
            }
        }
    }

    /// Weakens the lock to `to` at once, letting in the requests that allows.
    /// Downgrading to the kind held does nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDowngrade`] if `to` is stronger than the kind held.
    pub fn downgrade(&mut self, to: LockKind) -> Result<()> {
        if to > self.kind {
            return Err(Error::InvalidDowngrade {
                resource: self.manager.describe_entry(self.hash, self.id),
                from: self.kind,
                to,
            });
        }
        // Equivalent mutant: `to <= self.kind` would also "downgrade" to the kind held,
        // which changes nothing.
        if to < self.kind {
            self.manager.downgrade(self.hash, self.id, self.owner, to);
            self.kind = to;
        }
        Ok(())
    }
}

impl<K> Drop for LockGuard<'_, K> {
    fn drop(&mut self) {
        self.manager.release(self.hash, self.id, self.owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Far above any honest run: reaching it means a request stalled on a shard it
    /// should not need (the tests below hold one on purpose).
    const LIMIT: Duration = Duration::from_secs(120);

    fn until(what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < LIMIT, "gave up waiting until {what}");
            std::thread::yield_now();
        }
    }

    /// A manager with two shards, a key on shard 0 and the index of the other shard.
    fn two_shards() -> (Arc<LockManager<u64>>, u64, usize) {
        let locks = Arc::new(LockManager::<u64>::builder().shards(2).build());
        let key = (0..)
            .find(|k| locks.shard_index(locks.hasher.hash_one(k)) == 0)
            .unwrap_or_default();
        (locks, key, 1)
    }

    #[test]
    fn a_read_past_a_queued_write_is_granted_on_the_fast_path_and_not_contended() {
        let (locks, key, other) = two_shards();
        let holder = locks
            .request(&key, LockKind::Write)
            .owner(Owner::new())
            .acquire()
            .unwrap();
        let writer = {
            let locks = Arc::clone(&locks);
            std::thread::spawn(move || locks.lock(&key, LockKind::Write).map(|g| g.kind()))
        };
        until("the writer queues", || locks.stats().contended == 1);
        // With an unrelated shard held, the read can only be granted without the
        // global view.
        let blocked = locks.shards[other].0.lock();
        let (done, granted) = mpsc::channel();
        {
            let locks = Arc::clone(&locks);
            std::thread::spawn(move || {
                let got = locks.lock(&key, LockKind::Read).map(|g| g.kind());
                let _ = done.send(got);
            });
        }
        let got = granted.recv_timeout(LIMIT);
        drop(blocked);
        assert_eq!(got.unwrap().unwrap(), LockKind::Read);
        let stats = locks.stats();
        assert_eq!(stats.contended, 1, "only the writer waited: {stats:?}");
        assert_eq!(stats.acquisitions, 2);
        drop(holder);
        assert_eq!(writer.join().unwrap().unwrap(), LockKind::Write);
    }

    #[test]
    fn a_request_that_waits_stalls_no_other_shard() {
        let (locks, key, other) = two_shards();
        let holder = locks
            .request(&key, LockKind::Exclusive)
            .owner(Owner::new())
            .acquire()
            .unwrap();
        let blocked = locks.shards[other].0.lock();
        let waiting = {
            let locks = Arc::clone(&locks);
            std::thread::spawn(move || locks.lock(&key, LockKind::Read).map(|g| g.kind()))
        };
        // Queuing and the deadlock search need only the key's shard here. (Polled with
        // `try_lock`: a manager that took every shard would hold this one.)
        let hash = locks.hasher.hash_one(key);
        until("the request queues", || {
            locks.shards[0].0.try_lock().is_some_and(|shard| {
                shard
                    .table
                    .find(hash, |e| e.key == key)
                    .is_some_and(|e| e.state.queue.len() == 1)
            })
        });
        drop(blocked);
        drop(holder);
        assert_eq!(waiting.join().unwrap().unwrap(), LockKind::Read);
        assert_eq!(locks.stats().contended, 1);
    }

    #[test]
    fn a_manager_debugs_as_its_shard_count() {
        let locks = LockManager::<u64>::builder().shards(3).build();
        assert_eq!(format!("{locks:?}"), "LockManager { shards: 4, .. }");
    }

    #[test]
    fn a_request_debugs_as_its_options() {
        let locks = LockManager::<u64>::new();
        let request = locks.request(&7, LockKind::Write).priority(3).no_wait();
        let shown = format!("{request:?}");
        assert!(
            shown.starts_with("LockRequest { kind: Write, owner: None, priority: 3, wait: "),
            "{shown}"
        );
        assert!(shown.ends_with(", .. }"), "{shown}");
    }

    #[test]
    fn a_refused_try_upgrade_is_counted_as_would_block() {
        let locks = LockManager::<u64>::new();
        let _reader = locks
            .request(&1, LockKind::Read)
            .owner(Owner::new())
            .acquire()
            .unwrap();
        let mut writer = locks.lock(&1, LockKind::Write).unwrap();
        assert!(matches!(
            writer.try_upgrade(),
            Err(Error::WouldBlock { .. })
        ));
        let stats = locks.stats();
        assert_eq!((stats.would_block, stats.upgrades), (1, 0));
    }

    #[test]
    fn grants_and_upgrades_after_a_wait_are_counted() {
        let locks = LockManager::<u64>::builder().shards(1).build();
        let reader = locks
            .request(&1, LockKind::Read)
            .owner(Owner::new())
            .acquire()
            .unwrap();
        let mut writer = locks
            .request(&1, LockKind::Write)
            .owner(Owner::new())
            .acquire()
            .unwrap();
        std::thread::scope(|s| {
            let t = s.spawn(move || writer.upgrade().map(|()| writer.kind()));
            until("the upgrade waits", || locks.stats().contended == 1);
            drop(reader);
            assert_eq!(t.join().unwrap().unwrap(), LockKind::Exclusive);
        });
        let stats = locks.stats();
        assert_eq!((stats.acquisitions, stats.upgrades), (2, 1));
        assert_eq!(stats.would_block, 0);

        let holder = locks
            .request(&1, LockKind::Exclusive)
            .owner(Owner::new())
            .acquire()
            .unwrap();
        std::thread::scope(|s| {
            let t = s.spawn(|| locks.lock(&1, LockKind::Read).map(|g| g.kind()));
            until("the request waits", || locks.stats().contended == 2);
            drop(holder);
            assert_eq!(t.join().unwrap().unwrap(), LockKind::Read);
        });
        let stats = locks.stats();
        assert_eq!((stats.acquisitions, stats.upgrades), (4, 1));
    }

    #[test]
    fn a_builder_debugs_and_clones_with_its_shard_count() {
        let b = LockManager::<u64>::builder().shards(3);
        assert_eq!(format!("{b:?}"), "LockManagerBuilder { shards: 3 }");
        assert_eq!(
            format!("{:?}", b.clone()),
            "LockManagerBuilder { shards: 3 }"
        );
    }

    #[test]
    fn keys_are_spread_over_every_shard() {
        let locks = LockManager::<u64>::builder().shards(8).build();
        let guards: Vec<_> = (0..256u64)
            .map(|k| locks.lock(&k, LockKind::Read).unwrap())
            .collect();
        // With a random hasher, a shard left empty by 256 keys has odds below 1e-14.
        let per_shard: Vec<usize> = locks
            .shards
            .iter()
            .map(|s| s.0.lock().table.len())
            .collect();
        assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
        assert_eq!(per_shard.iter().sum::<usize>(), 256);
        drop(guards);
    }

    #[test]
    fn the_wait_index_forgets_a_request_once_it_stops_waiting() {
        let (locks, key, _) = two_shards();
        let holder = locks
            .request(&key, LockKind::Exclusive)
            .owner(Owner::new())
            .acquire()
            .unwrap();
        let waiting = {
            let locks = Arc::clone(&locks);
            std::thread::spawn(move || locks.lock(&key, LockKind::Read).map(|g| g.kind()))
        };
        until("the request queues", || !locks.waits.0.lock().0.is_empty());
        drop(holder);
        assert_eq!(waiting.join().unwrap().unwrap(), LockKind::Read);
        assert!(locks.waits.0.lock().0.is_empty());

        // A withdrawn (timed-out) request is forgotten too.
        let _holder = locks.lock(&key, LockKind::Exclusive).unwrap();
        let timed = {
            let locks = Arc::clone(&locks);
            std::thread::spawn(move || {
                locks
                    .request(&key, LockKind::Read)
                    .timeout(Duration::from_millis(1))
                    .acquire()
                    .map(|g| g.kind())
            })
        };
        assert!(matches!(timed.join().unwrap(), Err(Error::Timeout { .. })));
        assert!(locks.waits.0.lock().0.is_empty());
    }

    /// The bytes of shard 0's table: unlike `capacity()`, not lowered by tombstones.
    fn table_bytes(locks: &LockManager<u64>) -> usize {
        locks.shards[0].0.lock().table.allocation_size()
    }

    #[test]
    fn a_table_no_larger_than_the_shrink_threshold_keeps_its_slots() {
        let locks = LockManager::<u64>::builder().shards(1).build();
        let guards: Vec<_> = (0..100u64)
            .map(|k| locks.lock(&k, LockKind::Read).unwrap())
            .collect();
        assert!(locks.shards[0].0.lock().table.capacity() <= SHRINK_ABOVE);
        let grown = table_bytes(&locks);
        drop(guards);
        // Nearly empty, but small: not worth a rehash.
        drop(locks.lock(&1000, LockKind::Read).unwrap());
        assert_eq!(table_bytes(&locks), grown);
    }

    #[test]
    fn a_large_table_still_an_eighth_full_keeps_its_slots() {
        let locks = LockManager::<u64>::builder().shards(1).build();
        // 1,000 keys: 2,048 buckets, 1,792 slots, of which 792 are still free.
        let mut guards: Vec<_> = (0..1000u64)
            .map(|k| locks.lock(&k, LockKind::Read).unwrap())
            .collect();
        let grown = table_bytes(&locks);
        // 440 keys stay held: more than an eighth of the slots, which (440 held plus at
        // least the 792 free) are still more than `SHRINK_ABOVE`.
        guards.truncate(440);
        assert!(locks.shards[0].0.lock().table.capacity() > SHRINK_ABOVE);
        drop(locks.lock(&5000, LockKind::Read).unwrap());
        assert_eq!(table_bytes(&locks), grown);
        drop(guards);
        drop(locks.lock(&5000, LockKind::Read).unwrap());
        assert!(table_bytes(&locks) < grown);
    }

    #[test]
    fn a_shrunk_table_keeps_room_for_twice_its_keys() {
        let locks = LockManager::<u64>::builder().shards(1).build();
        let mut guards: Vec<_> = (0..2000u64)
            .map(|k| locks.lock(&k, LockKind::Read).unwrap())
            .collect();
        guards.truncate(100);
        drop(locks.lock(&5000, LockKind::Read).unwrap());
        // Shrunk to fit 200 keys: no tombstones yet, so `capacity()` is exact.
        let capacity = locks.shards[0].0.lock().table.capacity();
        assert!((200..=SHRINK_ABOVE).contains(&capacity), "{capacity}");
        drop(guards);
    }

    /// A key whose hash is the same for every value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Collide(u32);

    impl Hash for Collide {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            0u8.hash(state);
        }
    }

    #[test]
    fn each_guard_releases_its_own_key_when_every_hash_collides() {
        // Guards find their entry by hash and id: with one hash for all keys, only the
        // id tells the entries apart.
        let locks = LockManager::<Collide>::builder().shards(1).build();
        let guards: Vec<_> = (0..100)
            .map(|k| locks.lock(&Collide(k), LockKind::Exclusive).unwrap())
            .collect();
        for (k, g) in (0..100).zip(guards).rev() {
            drop(g);
            assert!(
                locks.try_lock(&Collide(k), LockKind::Exclusive).is_ok(),
                "key {k}"
            );
            assert_eq!(locks.active_keys(), k as usize);
        }
    }

    #[test]
    fn a_table_that_grew_for_a_burst_gives_its_memory_back() {
        let locks = LockManager::<u64>::builder().shards(1).build();
        let guards: Vec<_> = (0..20_000u64)
            .map(|k| locks.lock(&k, LockKind::Read).unwrap())
            .collect();
        let grown = locks.shards[0].0.lock().table.capacity();
        assert!(grown >= 20_000);
        drop(guards);
        assert_eq!(locks.active_keys(), 0);
        drop(locks.lock(&1, LockKind::Read).unwrap());
        let after = locks.shards[0].0.lock().table.capacity();
        assert!(after <= SHRINK_ABOVE, "{after} slots left after the burst");
    }
}
