//! The crate's one error type.
//!
//! A message names the resource (`key "tasks.md"` for a [`LockManager`](crate::LockManager)
//! key, formatted with `Debug`; `lock file /path` for a [`FileLock`](crate::FileLock)),
//! the kind of lock, and what to do next. Keys are formatted into the error only when an
//! error is made, so the error type does not depend on the key type.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::{LockKind, Owner};

/// Everything that can go wrong in `ssot-lock`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `try_lock` or `try_upgrade` that would have had to wait.
    #[error(
        "{kind} lock on {resource} is not available without waiting (use lock() to wait, or lock_timeout() to wait a bounded time)"
    )]
    WouldBlock {
        /// The key or lock file.
        resource: String,
        /// The kind that was asked for.
        kind: LockKind,
    },

    /// A timed request that was not granted in time; it was withdrawn from the queue.
    #[error(
        "timed out after {timeout:?} waiting for a {kind} lock on {resource} (LockManager::holders() shows who holds a key; a lock file has no such view)"
    )]
    Timeout {
        /// The key or lock file.
        resource: String,
        /// The kind that was asked for.
        kind: LockKind,
        /// The timeout that passed.
        timeout: Duration,
    },

    /// Waiting would have closed a cycle in the wait-for graph. The request was refused
    /// and withdrawn; the other owners in the cycle keep waiting and will proceed once
    /// this owner releases what it holds.
    #[error(
        "deadlock: {}; the request of {victim} was refused so that the others can proceed (release {victim}'s locks, then retry)",
        Cycle(.cycle)
    )]
    Deadlock {
        /// The owner whose request was refused.
        victim: Owner,
        /// The cycle, starting with the refused request: each step waits for the next.
        cycle: Vec<CycleStep>,
    },

    /// The owner already holds, or already waits for, a lock on this key. Re-entry is an
    /// error rather than a count, so that a lock's kind is never ambiguous and an owner
    /// never waits on itself.
    #[error(
        "{owner} already holds or waits for a {kind} lock on {resource} (an owner has one lock per key: use the guard's upgrade() or downgrade() to change its kind)"
    )]
    AlreadyHeld {
        /// The owner that asked twice.
        owner: Owner,
        /// The key.
        resource: String,
        /// The kind it already holds or waits for.
        kind: LockKind,
    },

    /// An upgrade of a lock that is not `Write`.
    #[error(
        "cannot upgrade a {from} lock on {resource}: only Write upgrades to Exclusive (take Write rather than Read when you mean to modify: two readers that both upgrade would deadlock)"
    )]
    InvalidUpgrade {
        /// The key or lock file.
        resource: String,
        /// The kind held.
        from: LockKind,
    },

    /// A downgrade to a kind that is not weaker than the one held.
    #[error(
        "cannot downgrade a {from} lock on {resource} to {to}: a downgrade only weakens a lock (Exclusive > Write > Read)"
    )]
    InvalidDowngrade {
        /// The key or lock file.
        resource: String,
        /// The kind held.
        from: LockKind,
        /// The kind asked for.
        to: LockKind,
    },

    /// An operating-system error on a lock file.
    #[error("lock file {}: cannot {action}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`open`, `lock`, `unlock`).
        action: &'static str,
        /// The underlying error. On a platform where std has no file locking, its kind
        /// is [`io::ErrorKind::Unsupported`].
        #[source]
        source: io::Error,
    },
}

/// One step of a deadlock cycle: `owner` wants a `wants` lock on `resource`, and is kept
/// waiting by `blocked_by` (a holder, or a conflicting request queued ahead of it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CycleStep {
    /// The waiting owner.
    pub owner: Owner,
    /// The kind it waits for.
    pub wants: LockKind,
    /// The key it waits on, formatted with `Debug`.
    pub resource: String,
    /// The owner it waits for: the next step's owner.
    pub blocked_by: Owner,
}

struct Cycle<'a>(&'a [CycleStep]);

impl fmt::Display for Cycle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(
                f,
                "{} waits for {} on {} held or queued by {}",
                step.owner, step.wants, step.resource, step.blocked_by
            )?;
        }
        Ok(())
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlock_message_names_every_owner_and_key() {
        let (a, b) = (Owner::new(), Owner::new());
        let err = Error::Deadlock {
            victim: a,
            cycle: vec![
                CycleStep {
                    owner: a,
                    wants: LockKind::Write,
                    resource: "key \"b\"".into(),
                    blocked_by: b,
                },
                CycleStep {
                    owner: b,
                    wants: LockKind::Exclusive,
                    resource: "key \"a\"".into(),
                    blocked_by: a,
                },
            ],
        };
        let msg = err.to_string();
        for needle in [
            &a.to_string(),
            &b.to_string(),
            "key \"a\"",
            "key \"b\"",
            "Write",
            "Exclusive",
        ] {
            assert!(msg.contains(needle), "{msg} lacks {needle}");
        }
    }
}
