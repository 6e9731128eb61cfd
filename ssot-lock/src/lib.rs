//! Locks keyed by resource, with read, write and exclusive kinds, priorities, timeouts,
//! deadlock detection, and the same kinds across processes through lock files.
//!
//! A [`LockManager<K>`] hands out locks on keys of any hashable type (a path, a document
//! name, an id). There are three [`LockKind`]s. `Read` is shared. `Write` is an intent to
//! write: one writer at a time, while readers keep reading the old state as it prepares
//! the new one; it then [upgrades](LockGuard::upgrade) to `Exclusive` to commit, which
//! waits for the readers to drain. `Exclusive` admits no one. Every lock is an RAII
//! [`LockGuard`]. Requests that must wait are queued by priority and then by arrival;
//! a request that would wait in a cycle of owners fails at once with
//! [`Error::Deadlock`], naming the cycle, instead of hanging. [`FileLock`] gives the same
//! three kinds between processes, and
//! [`LockRequest::acquire_with_file`] takes both in one call.
//!
//! # Example: read, prepare, commit
//!
//! ```
//! use ssot_lock::{LockKind, LockManager};
//!
//! let locks = LockManager::<String>::new();
//!
//! // A writer announces its intent; readers are still let in.
//! let mut writer = locks.lock("tasks.md", LockKind::Write)?;
//! let reader = std::thread::scope(|s| {
//!     s.spawn(|| locks.try_lock("tasks.md", LockKind::Read).map(|g| g.kind())).join()
//! });
//! assert_eq!(reader.unwrap()?, LockKind::Read);
//!
//! // To commit, upgrade: it waits for readers, and new ones queue behind it.
//! writer.upgrade()?;
//! assert_eq!(writer.kind(), LockKind::Exclusive);
//! # Ok::<(), ssot_lock::Error>(())
//! ```
//!
//! # Example: a deadlock is an error, not a hang
//!
//! ```
//! use std::sync::Barrier;
//! use ssot_lock::{Error, LockKind, LockManager};
//!
//! let locks = LockManager::<String>::new();
//! let barrier = Barrier::new(2);
//! let run = |first: &str, second: &str| {
//!     let _held = locks.lock(first, LockKind::Exclusive)?;
//!     barrier.wait();
//!     locks.lock(second, LockKind::Exclusive).map(drop)
//! };
//! let outcomes: Vec<bool> = std::thread::scope(|s| {
//!     let a = s.spawn(|| run("a", "b"));
//!     let b = s.spawn(|| run("b", "a"));
//!     [a, b].map(|t| matches!(t.join().unwrap(), Err(Error::Deadlock { .. }))).to_vec()
//! });
//! // Exactly one of the two was refused; the other got both keys.
//! assert_eq!(outcomes.iter().filter(|&&d| d).count(), 1);
//! ```
//!
//! # Example: a session that spans threads, with priority and timeout
//!
//! ```
//! use std::time::Duration;
//! use ssot_lock::{Error, LockKind, LockManager, Owner};
//!
//! let locks = LockManager::<u64>::new();
//! let session = Owner::new();
//! let guard = locks.request(&7, LockKind::Exclusive).owner(session).priority(5).acquire()?;
//!
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         // Same session, other thread: re-entry is an error, never a self-deadlock.
//!         let again = locks.request(&7, LockKind::Read).owner(session).acquire();
//!         assert!(matches!(again, Err(Error::AlreadyHeld { .. })));
//!         // Another owner times out.
//!         let other = locks.lock_timeout(&7, LockKind::Read, Duration::from_millis(1));
//!         assert!(matches!(other, Err(Error::Timeout { .. })));
//!     });
//! });
//! assert_eq!(locks.holders(&7), vec![(session, LockKind::Exclusive)]);
//! drop(guard);
//! assert_eq!(locks.active_keys(), 0); // an idle key takes no memory
//! # Ok::<(), ssot_lock::Error>(())
//! ```
//!
//! # Example: across processes
//!
//! ```
//! use ssot_lock::{LockKind, LockManager};
//!
//! let dir = tempfile::tempdir()?;
//! let data = dir.path().join("tasks.md");
//! let locks = LockManager::<std::path::PathBuf>::new();
//!
//! // In-process first (queued, deadlock-checked), then `tasks.md.lock` for other processes.
//! let mut guard = locks
//!     .request(&data, LockKind::Write)
//!     .acquire_with_file(dir.path().join("tasks.md.lock"))?;
//! let text = std::fs::read_to_string(&data).unwrap_or_default();
//! guard.upgrade()?;
//! std::fs::write(&data, text + "- [ ] one more\n")?;
//! drop(guard);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Keys
//!
//! A key is any `K: Hash + Eq`. Every method takes the key as `&Q`, the way
//! `HashMap` does, so a `LockManager<String>` or `LockManager<Arc<str>>` is asked with
//! a `&str` and a `LockManager<PathBuf>` with a `&Path`. This is the one lookup bound
//! of the `ssot` crates:
//!
//! ```text
//! fn holders<Q>(&self, key: &Q)  where K: Borrow<Q>, Q: Hash + Eq + ?Sized
//! ```
//!
//! A request may have to store the key (the first holder of an idle key creates its
//! entry), so requests add `Q: ToOwned, Q::Owned: Into<K>`: a `&str` becomes a `String`
//! and then, for an `Arc<str>` key, an `Arc<str>` (pass an `&Arc<str>` to clone the
//! `Arc` instead). Keys need `Debug` only for the default way errors name them
//! (`key "tasks.md"`); [`LockManagerBuilder::build_with_key_names`] takes any other.
//!
//! # Semantics
//!
//! A holder of the row kind lets in a request of the column kind:
//!
//! |           | Read | Write | Exclusive |
//! |-----------|------|-------|-----------|
//! | Read      | yes  | yes   | no        |
//! | Write     | yes  | no    | no        |
//! | Exclusive | no   | no    | no        |
//!
//! These are SQL Server's S (shared), U (update) and X (exclusive) modes. `Write` is the
//! update lock, which exists to prevent the read-then-update deadlock: two readers that
//! both try to upgrade wait for each other forever, while two `Write` requests simply
//! queue. So only `Write` [upgrades](LockGuard::upgrade); a `Read` guard refuses with
//! [`Error::InvalidUpgrade`].
//!
//! - **Grant rule.** A request is granted when its kind is compatible with every holder
//!   and with every request queued ahead of it. The queue is ordered by upgrades first,
//!   then priority (highest first), then arrival. So while an `Exclusive` request or an
//!   upgrade waits, new `Read` and `Write` requests of the same or lower priority queue
//!   behind it: writers are never starved. A queued `Write` does not stop new readers,
//!   as a held one does not. A higher priority overtakes a lower one, whatever its kind.
//! - **Owners.** Every request has an [`Owner`]: the calling thread, or a session made
//!   with [`Owner::new`] and passed to [`LockRequest::owner`] from any thread. An owner
//!   has at most one lock or waiting request per key; asking again is
//!   [`Error::AlreadyHeld`] (never a count, never a self-deadlock). Change a lock's kind
//!   with [`upgrade`](LockGuard::upgrade) and [`downgrade`](LockGuard::downgrade).
//!   A guard may be moved to and dropped on another thread, but it stays the lock of
//!   the owner that requested it, and deadlock detection reasons about owners, not
//!   threads: a thread that holds a guard taken by another thread's owner and then
//!   waits as itself can deadlock undetected. Hand locks between threads through a
//!   session: every thread that holds or waits for them requests as that `Owner`.
//! - **Deadlocks.** Before a request waits, the manager searches the wait-for graph for
//!   a cycle through its owner (only then: a request granted at once never searches,
//!   unless it overtakes a conflicting waiter). A request waits for the holders it conflicts with and
//!   also for the conflicting requests queued ahead of it (PostgreSQL's soft edges,
//!   without which priority queueing would hide deadlocks). If waiting would close a
//!   cycle, that request fails with [`Error::Deadlock`], listing each owner, the key it
//!   waits on and whom it waits for; the others keep waiting. A request granted by
//!   overtaking a conflicting waiter (a higher priority) is checked the same way. Owners are the unit: with
//!   a session shared by threads, a cycle through the session is reported even if
//!   another of its threads might have broken it later.
//! - **Timeouts.** A timed-out request is withdrawn, and the requests it held back are
//!   granted if the rule now allows. A timeout or deadlock on an upgrade leaves the guard holding `Write`.
//! - **Memory.** A key's entry exists only while it has a holder or a waiter, and a
//!   shard's table that grew for a burst of keys is shrunk once it is mostly empty.
//! - **Statistics.** [`LockManager::stats`] counts acquisitions, upgrades, contended
//!   requests, refusals, timeouts, deadlocks and total wait time;
//!   [`LockManager::holders`] and [`LockManager::waiters`] show one key.
//! - **Across processes.** [`FileLock`] builds the same table, with the same preference
//!   for waiting writers, from three lock files and std's `File::lock`; see
//!   [its design notes](FileLock#design) for the upgrade that lets no second writer in, and for
//!   what differs: no priorities and no deadlock detection between processes, and
//!   timeouts by polling.
//!
//! # Costs
//!
//! With `S` shards (default: four per CPU, 8 to 128), `H` holders and `W` waiters on the
//! key, and `G` requests waiting in the whole manager:
//!
//! | operation | cost |
//! |-----------|------|
//! | uncontended `lock`/`try_lock` + drop | two lock/unlock pairs of one shard mutex, two hash probes, one clone of the key into the entry; no other allocation for the first holder (later readers of one key share a vector). For `String` or `PathBuf` keys the clone allocates (measured cheaper than the two atomic operations of an `Arc<str>` key's clone and drop) |
//! | `lock` the grant rule admits while others wait (a `Read` past a queued `Write`) | the same as uncontended, plus O(`H` + `W`) to check the rule: one shard, no waiting, not counted as contended |
//! | `lock` that must wait | first about 10 retries of the fast path (a few `spin_loop` rounds, then `yield_now`s: a holder that releases within microseconds is waited for without queuing); then the manager's wait-graph mutex and the key's shard, plus the deadlock search: one probe per request of each owner reached, locking that request's shard only while it is read; then one `Condvar` sleep. Requests on other shards are not held up, and the fast path never takes the wait-graph mutex; requests that must wait take it one at a time |
//! | `lock` granted by overtaking a conflicting waiter (higher priority) | as a `lock` that must wait, without the sleep |
//! | release, downgrade | one shard; with no waiters O(`H`), else the grant scan: O(`W` × (`H` + `W`)) at worst, and one wake-up per request granted |
//! | timeout | the key's shard only, and the grant scan |
//! | `upgrade` with no other holder | one shard; otherwise as a `lock` that must wait |
//! | `holders`, `waiters` | one shard, O(`H` or `W`) |
//! | `stats`, `active_keys` | all shards, one at a time |
//! | `FileLock` lock + unlock | system calls: Read 4 (gate and data file), Write 4 (intent and data), Exclusive 6; a timeout polls `try_lock` (50 µs doubling to 10 ms) |
//! | `acquire_with_file` | the in-process lock, plus opening three files and locking them |
//!
//! # Platforms
//!
//! Tested on Linux (x86_64), in development and CI. The crate has no platform-specific
//! code of its own: the in-process [`LockManager`] is portable Rust, and [`FileLock`]
//! goes through std's `File::lock`, `lock_shared`, `try_lock`, `try_lock_shared` and
//! `unlock` (`flock` on Unix, `LockFileEx` on Windows), and locks a handle only while
//! it holds no lock (an upgrade or downgrade unlocks first): the one case std specifies
//! the same on every platform. So on macOS and Windows the same protocol runs, compiled but not tested by us. On a
//! platform where std has no file locking, every [`FileLock`] call fails with
//! [`Error::Io`] of kind [`std::io::ErrorKind::Unsupported`]: a file lock is never
//! reported held when it is not.
//!
//! # Map of the crate
//!
//! - [`LockManager`], [`LockManagerBuilder`], [`LockRequest`], [`LockGuard`],
//!   [`QueuedRequest`], [`LockStats`]: in-process locks.
//! - [`LockKind`], [`Owner`]: what and who.
//! - [`FileLock`], [`FileLockGuard`], [`CombinedGuard`]: across processes.
//! - [`Error`], [`CycleStep`], [`Result`]: the one error type.
//!
//! Every public type has one path, at the crate root: the modules are private.
//!
//! ```compile_fail
//! use ssot_lock::file::CombinedGuard; // the file module is not public
//! ```
#![deny(missing_docs)]

mod combined;
mod error;
mod file;
mod kind;
mod manager;
mod owner;
mod state;
mod stats;
mod wait;

pub use crate::combined::CombinedGuard;
pub use crate::error::{CycleStep, Error, Result};
pub use crate::file::{FileLock, FileLockGuard};
pub use crate::kind::LockKind;
pub use crate::manager::{LockGuard, LockManager, LockManagerBuilder, LockRequest, QueuedRequest};
pub use crate::owner::Owner;
pub use crate::stats::LockStats;
