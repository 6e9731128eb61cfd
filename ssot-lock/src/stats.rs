//! Counters kept by a [`LockManager`](crate::LockManager).
//!
//! Each shard counts under its own mutex, which the operation holds anyway, so counting
//! costs no extra atomic operation on the fast path; [`LockManager::stats`]
//! (crate::LockManager::stats) sums the shards.

use std::ops::AddAssign;
use std::time::Duration;

/// What a [`LockManager`](crate::LockManager) has done since it was made.
///
/// Every request ends in exactly one of: a grant (`acquisitions`, or `upgrades` for an
/// upgrade that had to change anything), `would_block`, `timeouts`, `deadlocks`, or a
/// usage error (`AlreadyHeld`, `InvalidUpgrade`, `InvalidDowngrade`), which is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockStats {
    /// Locks granted, at once or after waiting.
    pub acquisitions: u64,
    /// Write-to-Exclusive upgrades granted.
    pub upgrades: u64,
    /// Requests (and upgrades) that had to wait, whatever their outcome: those that
    /// queued, and those granted after spinning on the fast path. A request the grant
    /// rule admits at once (a `Read` past a queued `Write`, say) did not wait and is not
    /// counted, even though others wait for the same key.
    pub contended: u64,
    /// `try_*` requests refused because they would have waited.
    pub would_block: u64,
    /// Requests withdrawn because their timeout passed.
    pub timeouts: u64,
    /// Requests refused because waiting would have closed a cycle.
    pub deadlocks: u64,
    /// Total time spent waiting by contended requests.
    pub wait_time: Duration,
}

impl AddAssign for LockStats {
    fn add_assign(&mut self, other: LockStats) {
        self.acquisitions += other.acquisitions;
        self.upgrades += other.upgrades;
        self.contended += other.contended;
        self.would_block += other.would_block;
        self.timeouts += other.timeouts;
        self.deadlocks += other.deadlocks;
        self.wait_time += other.wait_time;
    }
}
