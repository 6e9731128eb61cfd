//! Who a lock belongs to.
//!
//! An owner is a process-wide unique number. Every thread has one, made on first use;
//! [`Owner::new`] makes one for a logical session that spans threads (a request handler
//! that hands work to a pool, say). Ids come from one counter and are never reused, so an
//! owner cannot be mistaken for an older one. An owner is `Copy`: pass it to the threads
//! that act for it.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD_OWNER: Cell<u64> = const { Cell::new(0) };
}

/// The owner of a lock request: a thread by default, or a session made with
/// [`Owner::new`] and passed to [`LockRequest::owner`](crate::LockRequest::owner).
///
/// Owners are the nodes of the deadlock detector's wait-for graph and the unit of
/// re-entry: an owner holds at most one lock (or one waiting request) per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner(u64);

impl Owner {
    /// A fresh owner, distinct from every thread's and every other session's.
    #[must_use]
    #[allow(clippy::new_without_default)] // `default()` would read as "the default owner"
    pub fn new() -> Owner {
        Owner(NEXT_OWNER.fetch_add(1, Ordering::Relaxed))
    }

    /// The calling thread's owner: the owner of requests that name none.
    #[must_use]
    pub fn current() -> Owner {
        THREAD_OWNER.with(|id| {
            let mut value = id.get();
            if value == 0 {
                value = NEXT_OWNER.fetch_add(1, Ordering::Relaxed);
                id.set(value);
            }
            Owner(value)
        })
    }

    /// The owner's number, as shown in messages (`owner 7`).
    #[must_use]
    pub const fn id(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "owner {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Owner;

    #[test]
    fn a_thread_keeps_its_owner_and_threads_differ() {
        let here = Owner::current();
        assert_eq!(here, Owner::current());
        let there = std::thread::spawn(Owner::current).join().unwrap();
        assert_ne!(here, there);
    }

    #[test]
    fn new_owners_are_unique() {
        let a = Owner::new();
        let b = Owner::new();
        assert_ne!(a, b);
        assert_ne!(a, Owner::current());
        assert_eq!(a.to_string(), format!("owner {}", a.id()));
    }
}
