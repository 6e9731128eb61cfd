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
//! Everything that may wait takes the slow path: it locks **all** shards, in index
//! order, re-examines the key, and if the request must wait, queues it and searches the
//! wait-for graph for a cycle through the requesting owner before it sleeps. Holding all
//! shards gives the search a consistent graph (PostgreSQL's deadlock checker does the
//! same with its lock partitions), and taking them in one order keeps the manager itself
//! free of deadlock. Then every shard but the key's is released, and the request sleeps
//! on its own `Condvar` paired with the key's shard mutex. Whoever changes a key's state
//! (release, downgrade, a withdrawn request) grants what the rule allows under that
//! shard's mutex and wakes the granted waiters; a waiter never has to retry.
//!
//! Why the graph stays acyclic: an edge `A -> B` ("A waits for B") exists while A has a
//! queued request that conflicts with a holder B, or with a request of B queued ahead of
//! it. New edges appear only when a request is queued (its own edges, and edges from the
//! requests it overtakes), when an upgrade is queued, or when a request is granted by
//! overtaking a conflicting queued one. Each of those happens on the slow path and is
//! checked there, so every cycle is caught at the moment it would form, by the request
//! that would form it.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Debug};
use std::hash::{BuildHasher, Hash};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use parking_lot::{Mutex, MutexGuard};

use crate::error::{CycleStep, Error, Result};
use crate::file::{CombinedGuard, FileLock};
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

/// "This owner has a request queued on entry `id`": the shard's index of waiters, which
/// the deadlock search follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WaitRef {
    owner: Owner,
    hash: u64,
    id: u64,
}

struct Shard<K> {
    table: HashTable<Entry<K>>,
    next_id: u64,
    waiting: Vec<WaitRef>,
    stats: LockStats,
}

impl<K> Shard<K> {
    fn new() -> Self {
        Shard {
            table: HashTable::new(),
            next_id: 0,
            waiting: Vec::new(),
            stats: LockStats::default(),
        }
    }
}

/// A shard on its own cache lines, so that threads working on different shards do not
/// slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

/// Grants what the rule allows on one key and wakes the granted waiters.
fn settle(state: &mut KeyState, waiting: &mut Vec<WaitRef>, hash: u64, id: u64) {
    state.grant_waiting(|w| {
        unindex(
            waiting,
            WaitRef {
                owner: w.owner,
                hash,
                id,
            },
        );
        w.waiter.condvar.notify_one();
    });
}

fn unindex(waiting: &mut Vec<WaitRef>, r: WaitRef) {
    if let Some(i) = waiting.iter().position(|x| *x == r) {
        waiting.swap_remove(i);
    }
}

fn describe<K: Debug>(key: &K) -> String {
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
}

impl<K> fmt::Debug for LockManager<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockManager")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

/// Options for a [`LockManager`]: `LockManager::builder().shards(64).build()`.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build()"]
pub struct LockManagerBuilder {
    shards: usize,
}

impl Default for LockManagerBuilder {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(4, usize::from);
        LockManagerBuilder {
            shards: (cpus * 4).clamp(8, 128),
        }
    }
}

impl LockManagerBuilder {
    /// The number of shards, rounded up to a power of two (at least 1, at most 4096).
    ///
    /// More shards let more threads lock different keys without meeting; fewer make
    /// the slow path cheaper, since a request that has to wait locks every shard while
    /// it checks for deadlock. The default is four per CPU, between 8 and 128.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = shards;
        self
    }

    /// Makes the manager.
    #[must_use]
    pub fn build<K>(self) -> LockManager<K> {
        let count = self.shards.clamp(1, 4096).next_power_of_two();
        LockManager {
            shards: (0..count)
                .map(|_| Padded(Mutex::new(Shard::new())))
                .collect(),
            mask: count - 1,
            hasher: RandomState::default(),
        }
    }
}

impl<K> Default for LockManager<K> {
    fn default() -> Self {
        LockManagerBuilder::default().build()
    }
}

impl<K> LockManager<K> {
    /// A manager with the default options.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Options: the number of shards.
    pub fn builder() -> LockManagerBuilder {
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

    fn lock_all(&self) -> Vec<MutexGuard<'_, Shard<K>>> {
        self.shards.iter().map(|s| s.0.lock()).collect()
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
        let Shard { table, waiting, .. } = &mut *guard;
        if let Ok(mut occupied) = table.find_entry(hash, |e| e.id == id) {
            let entry = occupied.get_mut();
            let removed = entry.state.holders.remove(owner);
            debug_assert!(removed, "a guard's hold is in its entry");
            settle(&mut entry.state, waiting, hash, id);
            if entry.state.is_idle() {
                occupied.remove();
            }
        } else {
            debug_assert!(false, "a guard's entry lives as long as the guard");
        }
    }
}

impl<K: Hash + Eq + Debug> LockManager<K> {
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
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
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
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
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
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
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
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
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
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        // Set once the fast path has failed: the spinning, and when it started.
        let mut spinning: Option<(Spin, Instant)> = None;
        loop {
            // Fast path: the key is idle, or every holder is compatible and no one waits.
            let mut guard = self.shard(hash);
            let shard = &mut *guard;
            let id = match shard.table.find_mut(hash, |e| e.key.borrow() == key) {
                None => self.insert_held(shard, hash, key, owner, kind),
                Some(entry) => {
                    if let Some(held) = entry.state.involvement(owner) {
                        return Err(Error::AlreadyHeld {
                            owner,
                            resource: describe(&entry.key),
                            kind: held,
                        });
                    }
                    let grantable = entry.state.grantable(kind, priority);
                    if grantable && entry.state.queue.is_empty() {
                        entry.state.holders.push(Holder { owner, kind });
                        entry.id
                    } else if !grantable && matches!(wait, Wait::Try) {
                        let resource = describe(&entry.key);
                        shard.stats.would_block += 1;
                        return Err(Error::WouldBlock { resource, kind });
                    } else {
                        drop(guard);
                        if matches!(wait, Wait::Try) {
                            break;
                        }
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
            shard.stats.acquisitions += 1;
            if let Some((_, started)) = spinning {
                shard.stats.contended += 1;
                shard.stats.wait_time += started.elapsed();
            }
            return Ok(self.guard(hash, id, owner, kind));
        }
        let started = spinning.map_or_else(Instant::now, |(_, started)| started);
        self.acquire_slow(key, hash, kind, owner, priority, wait, started)
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
        Q: ToOwned<Owned = K> + ?Sized,
    {
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
                key: key.to_owned(),
                id,
                state: KeyState::held_by(owner, kind),
            },
            |e| self.hasher.hash_one(&e.key),
        );
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn acquire_slow<Q>(
        &self,
        key: &Q,
        hash: u64,
        kind: LockKind,
        owner: Owner,
        priority: i32,
        wait: Wait,
        started: Instant,
    ) -> Result<LockGuard<'_, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let si = self.shard_index(hash);
        let mut all = self.lock_all();
        let shard = &mut *all[si];
        // The state may have changed while no shard was held: decide afresh.
        let Some(entry) = shard.table.find_mut(hash, |e| e.key.borrow() == key) else {
            let id = self.insert_held(shard, hash, key, owner, kind);
            shard.stats.acquisitions += 1;
            return Ok(self.guard(hash, id, owner, kind));
        };
        if let Some(held) = entry.state.involvement(owner) {
            return Err(Error::AlreadyHeld {
                owner,
                resource: describe(&entry.key),
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
                if let Some(cycle) = find_cycle(&all, self.mask, owner) {
                    let shard = &mut *all[si];
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
            all[si].stats.acquisitions += 1;
            return Ok(self.guard(hash, id, owner, kind));
        }
        if matches!(wait, Wait::Try) {
            let resource = describe(&entry.key);
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
            all, si, &waiter, hash, id, owner, kind, wait, started, false,
        )?;
        Ok(self.guard(hash, id, owner, kind))
    }

    /// The common tail of a request or upgrade that must wait. With every shard held and
    /// the request already in its key's queue: refuse it if waiting would close a cycle
    /// in the wait-for graph, else release the other shards and wait for the grant.
    #[allow(clippy::too_many_arguments)]
    fn wait_queued(
        &self,
        mut all: Vec<MutexGuard<'_, Shard<K>>>,
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
        all[si].waiting.push(WaitRef { owner, hash, id });
        if let Some(cycle) = find_cycle(&all, self.mask, owner) {
            self.withdraw(&mut all[si], hash, id, owner);
            all[si].stats.deadlocks += 1;
            return Err(Error::Deadlock {
                victim: owner,
                cycle,
            });
        }
        all[si].stats.contended += 1;
        let own = all.swap_remove(si);
        drop(all);
        self.wait_for_grant(own, waiter, hash, id, owner, kind, wait, started, upgrade)
    }

    /// Withdraws the owner's queued request on `(hash, id)`, grants what that allows,
    /// and drops the entry if it became idle. Returns the key's description.
    fn withdraw(&self, shard: &mut Shard<K>, hash: u64, id: u64, owner: Owner) -> String {
        let Shard { table, waiting, .. } = shard;
        unindex(waiting, WaitRef { owner, hash, id });
        let Ok(mut occupied) = table.find_entry(hash, |e| e.id == id) else {
            debug_assert!(false, "a waiter's entry lives as long as its request");
            return String::new();
        };
        let entry = occupied.get_mut();
        let resource = describe(&entry.key);
        entry.state.withdraw(owner);
        settle(&mut entry.state, waiting, hash, id);
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
            .map(|e| describe(&e.key))
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
                    let resource = describe(&entry.key);
                    shard.stats.would_block += 1;
                    return Err(Error::WouldBlock {
                        resource,
                        kind: LockKind::Exclusive,
                    });
                }
            }
        }
        let started = Instant::now();
        let si = self.shard_index(hash);
        let mut all = self.lock_all();
        let shard = &mut *all[si];
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
            all,
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
        let Shard { table, waiting, .. } = &mut *guard;
        if let Some(entry) = table.find_mut(hash, |e| e.id == id) {
            if let Some(h) = entry.state.holders.get_mut(owner) {
                h.kind = to;
            }
            settle(&mut entry.state, waiting, hash, id);
        }
    }
}

/// One step of the search: `from` waits with a `kind` request on entry `(shard, hash, id)`.
#[derive(Clone, Copy)]
struct Edge {
    from: Owner,
    kind: LockKind,
    shard: usize,
    hash: u64,
    id: u64,
}

/// Searches the wait-for graph, with every shard held, for a path from `start` back to
/// itself. Cost: for each owner reached, a scan of every shard's waiter index, so
/// O(owners reached x waiting requests); the graph has edges only from waiting requests.
fn find_cycle<K: Debug>(
    all: &[MutexGuard<'_, Shard<K>>],
    mask: usize,
    start: Owner,
) -> Option<Vec<CycleStep>> {
    debug_assert_eq!(all.len(), mask + 1);
    let mut stack = vec![start];
    let mut seen: HashSet<Owner> = HashSet::from([start]);
    let mut via: HashMap<Owner, Edge> = HashMap::new();
    let step = |edge: Edge, blocked_by: Owner| CycleStep {
        owner: edge.from,
        wants: edge.kind,
        resource: all[edge.shard]
            .table
            .find(edge.hash, |e| e.id == edge.id)
            .map(|e| describe(&e.key))
            .unwrap_or_default(),
        blocked_by,
    };
    while let Some(owner) = stack.pop() {
        for (si, shard) in all.iter().enumerate() {
            for r in shard.waiting.iter().filter(|r| r.owner == owner) {
                let Some(entry) = shard.table.find(r.hash, |e| e.id == r.id) else {
                    continue;
                };
                for (kind, blocker) in entry.state.blockers(owner) {
                    let edge = Edge {
                        from: owner,
                        kind,
                        shard: si,
                        hash: r.hash,
                        id: r.id,
                    };
                    if blocker == start {
                        let mut steps = vec![step(edge, start)];
                        let mut at = owner;
                        while at != start {
                            let Some(&back) = via.get(&at) else { break };
                            steps.push(step(back, at));
                            at = back.from;
                        }
                        steps.reverse();
                        return Some(steps);
                    }
                    if seen.insert(blocker) {
                        via.insert(blocker, edge);
                        stack.push(blocker);
                    }
                }
            }
        }
    }
    None
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
    K: Hash + Eq + Debug + Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
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

impl<K: Hash + Eq + Debug> LockGuard<'_, K> {
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
