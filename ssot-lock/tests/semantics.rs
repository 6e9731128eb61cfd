//! The manager's semantics, one behaviour per test: the table, queueing, priorities,
//! owners, upgrades, timeouts, introspection, statistics and memory.
//!
//! Threads are ordered with barriers, channels and the manager's own introspection
//! (`waiters()`), never with sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::mpsc;
use std::time::Duration;

use ssot_lock::LockKind::{Exclusive, Read, Write};
use ssot_lock::{Error, LockKind, LockManager, Owner};

/// Spins (yielding) until `key` has `n` queued requests.
fn until_queued(locks: &LockManager<String>, key: &str, n: usize) {
    support::until(&format!("{n} requests queue on {key:?}"), || {
        locks.waiters(key).len() >= n
    });
}

#[test]
fn try_lock_follows_the_compatibility_table() {
    for held in LockKind::ALL {
        for asked in LockKind::ALL {
            let locks = LockManager::<String>::new();
            let a = Owner::new();
            let b = Owner::new();
            let _g = locks.request("k", held).owner(a).acquire().unwrap();
            let result = locks.request("k", asked).owner(b).no_wait().acquire();
            assert_eq!(
                result.is_ok(),
                held.compatible_with(asked),
                "{held} then {asked}"
            );
            if let Err(e) = result {
                assert!(matches!(e, Error::WouldBlock { .. }), "{e}");
                assert!(e.to_string().contains("key \"k\""), "{e}");
            }
        }
    }
}

#[test]
fn a_queued_exclusive_blocks_new_readers_and_writers() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let reader = locks.lock("k", Read).unwrap();
    std::thread::scope(|s| {
        let writer = s.spawn(|| locks.lock("k", Exclusive).map(|g| g.kind()));
        until_queued(&locks, "k", 1);
        let other = Owner::new();
        for kind in [Read, Write] {
            let r = locks.request("k", kind).owner(other).no_wait().acquire();
            assert!(
                matches!(r, Err(Error::WouldBlock { .. })),
                "{kind} overtook a queued Exclusive"
            );
        }
        drop(reader);
        assert_eq!(writer.join().unwrap().unwrap(), Exclusive);
    });
}

#[test]
fn a_queued_write_lets_readers_in() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let first = locks.lock("k", Write).unwrap();
    std::thread::scope(|s| {
        let second = s.spawn(|| locks.lock("k", Write).map(drop));
        until_queued(&locks, "k", 1);
        let r = locks
            .request("k", Read)
            .owner(Owner::new())
            .no_wait()
            .acquire();
        assert!(r.is_ok());
        drop(r);
        drop(first);
        second.join().unwrap().unwrap();
    });
}

#[test]
fn waiters_are_granted_by_priority_then_arrival() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let blocker = locks.lock("k", Exclusive).unwrap();
    let (tx, rx) = mpsc::channel();
    // (label, priority), queued one after another in this order.
    let requests = [
        ("low-1", 0),
        ("high-1", 5),
        ("low-2", 0),
        ("high-2", 5),
        ("mid", 2),
    ];
    std::thread::scope(|s| {
        for (i, (label, priority)) in requests.into_iter().enumerate() {
            let tx = tx.clone();
            let locks = &locks;
            s.spawn(move || {
                let g = locks
                    .request("k", Exclusive)
                    .priority(priority)
                    .acquire()
                    .unwrap();
                tx.send(label).unwrap();
                drop(g);
            });
            until_queued(locks, "k", i + 1);
        }
        let queued: Vec<i32> = locks.waiters("k").iter().map(|w| w.priority).collect();
        assert_eq!(queued, vec![5, 5, 2, 0, 0]);
        drop(blocker);
    });
    let order: Vec<&str> = rx.try_iter().collect();
    assert_eq!(order, vec!["high-1", "high-2", "mid", "low-1", "low-2"]);
}

#[test]
fn a_release_grants_every_compatible_waiter_at_once() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let blocker = locks.lock("k", Exclusive).unwrap();
    let barrier = std::sync::Barrier::new(3);
    std::thread::scope(|s| {
        for _ in 0..3 {
            let (locks, barrier) = (&locks, &barrier);
            s.spawn(move || {
                let _g = locks.lock("k", Read).unwrap();
                // All three hold Read together, or this barrier never opens.
                barrier.wait();
            });
        }
        until_queued(&locks, "k", 3);
        drop(blocker);
    });
}

#[test]
fn reacquiring_a_held_key_is_an_error_not_a_deadlock() {
    let locks = LockManager::<String>::new();
    let _g = locks.lock("k", Read).unwrap();
    for kind in LockKind::ALL {
        let err = locks.lock("k", kind).unwrap_err();
        assert!(
            matches!(err, Error::AlreadyHeld { kind: Read, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade()"), "{err}");
    }
    // The failed attempts changed nothing.
    assert_eq!(locks.holders("k"), vec![(Owner::current(), Read)]);
}

#[test]
fn a_session_owner_spans_threads() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let session = Owner::new();
    let g = locks.request("k", Write).owner(session).acquire().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            let again = locks.request("k", Read).owner(session).no_wait().acquire();
            assert!(matches!(again, Err(Error::AlreadyHeld { .. })));
            // The thread's own owner is someone else, and Read is compatible with Write.
            let mine = locks.try_lock("k", Read).unwrap();
            assert_eq!(mine.owner(), Owner::current());
        });
    });
    // A guard can be released on another thread than the one that took it.
    std::thread::scope(|s| {
        s.spawn(move || drop(g));
    });
    assert_eq!(locks.active_keys(), 0);
}

#[test]
fn upgrade_waits_for_readers_and_blocks_new_ones() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let reader = locks
        .request("k", Read)
        .owner(Owner::new())
        .acquire()
        .unwrap();
    std::thread::scope(|s| {
        let upgrader = s.spawn(|| {
            let mut g = locks.lock("k", Write).unwrap();
            assert!(matches!(g.try_upgrade(), Err(Error::WouldBlock { .. })));
            g.upgrade().unwrap();
            assert_eq!(locks.holders("k"), vec![(Owner::current(), Exclusive)]);
        });
        until_queued(&locks, "k", 1);
        let w = locks.waiters("k");
        assert!(w[0].upgrade && w[0].kind == Exclusive);
        let late = locks
            .request("k", Read)
            .owner(Owner::new())
            .no_wait()
            .acquire();
        assert!(matches!(late, Err(Error::WouldBlock { .. })));
        drop(reader);
        upgrader.join().unwrap();
    });
}

#[test]
fn upgrade_of_a_read_lock_is_refused() {
    let locks = LockManager::<String>::new();
    let mut g = locks.lock("k", Read).unwrap();
    let err = g.upgrade().unwrap_err();
    assert!(
        matches!(err, Error::InvalidUpgrade { from: Read, .. }),
        "{err}"
    );
    assert_eq!(g.kind(), Read);
}

#[test]
fn upgrade_timeout_keeps_the_write_lock() {
    let locks = LockManager::<String>::new();
    let _reader = locks
        .request("k", Read)
        .owner(Owner::new())
        .acquire()
        .unwrap();
    let mut g = locks.lock("k", Write).unwrap();
    let err = g.upgrade_timeout(Duration::from_millis(1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: Exclusive,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(g.kind(), Write);
    assert!(locks.waiters("k").is_empty());
    assert_eq!(locks.stats().timeouts, 1);
}

#[test]
fn downgrade_lets_waiters_in_and_refuses_to_strengthen() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let mut g = locks.lock("k", Exclusive).unwrap();
    std::thread::scope(|s| {
        let reader = s.spawn(|| locks.lock("k", Read).map(|g| g.kind()));
        until_queued(&locks, "k", 1);
        g.downgrade(Write).unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), Read);
    });
    let err = g.downgrade(Exclusive).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidDowngrade {
                from: Write,
                to: Exclusive,
                ..
            }
        ),
        "{err}"
    );
    g.downgrade(Read).unwrap();
    assert_eq!(locks.holders("k"), vec![(Owner::current(), Read)]);
}

#[test]
fn a_timed_out_exclusive_is_withdrawn_and_lets_queued_readers_in() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let reader = locks
        .request("k", Read)
        .owner(Owner::new())
        .acquire()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let locks_ref = &locks;
    std::thread::scope(|s| {
        // This Exclusive waits until it times out: the holder stays until the end.
        let writer = s.spawn(move || {
            locks_ref
                .lock_timeout("k", Exclusive, Duration::from_millis(300))
                .map(drop)
        });
        until_queued(locks_ref, "k", 1);
        // Queued behind the Exclusive although compatible with the holder (when it
        // arrives before the timeout, as it almost always does; granted at once
        // otherwise: the test holds either way).
        s.spawn(move || {
            let g = locks_ref.lock("k", Read).unwrap();
            tx.send(g.kind()).unwrap();
        });
        assert!(matches!(writer.join().unwrap(), Err(Error::Timeout { .. })));
        assert_eq!(rx.recv().unwrap(), Read);
    });
    drop(reader);
    assert_eq!(locks.active_keys(), 0);
}

#[test]
fn introspection_shows_holders_and_waiters() {
    let locks = LockManager::<String>::new();
    let (a, b) = (Owner::new(), Owner::new());
    let ga = locks.request("k", Read).owner(a).acquire().unwrap();
    let gb = locks.request("k", Write).owner(b).acquire().unwrap();
    let mut holders = locks.holders("k");
    holders.sort();
    assert_eq!(holders, vec![(a, Read), (b, Write)]);
    assert!(locks.waiters("k").is_empty());
    assert!(locks.holders("other").is_empty());
    drop((ga, gb));
    assert!(locks.holders("k").is_empty());
}

#[test]
fn statistics_count_every_outcome() {
    let locks = LockManager::<String>::new();
    let g = locks.lock("k", Write).unwrap();
    let other = Owner::new();
    assert!(
        locks
            .request("k", Write)
            .owner(other)
            .no_wait()
            .acquire()
            .is_err()
    );
    assert!(
        locks
            .request("k", Exclusive)
            .owner(other)
            .timeout(Duration::ZERO)
            .acquire()
            .is_err()
    );
    drop(g);
    let mut g = locks.lock("k", Write).unwrap();
    g.upgrade().unwrap();
    drop(g);
    let stats = locks.stats();
    assert_eq!(stats.acquisitions, 2);
    assert_eq!(stats.upgrades, 1);
    assert_eq!(stats.would_block, 1);
    assert_eq!(stats.timeouts, 1);
    assert_eq!(stats.contended, 1);
    assert_eq!(stats.deadlocks, 0);
}

#[test]
fn idle_keys_take_no_memory() {
    let locks = LockManager::<u64>::builder().shards(4).build();
    let guards: Vec<_> = (0..1000u64)
        .map(|k| locks.lock(&k, Read).unwrap())
        .collect();
    assert_eq!(locks.active_keys(), 1000);
    drop(guards);
    assert_eq!(locks.active_keys(), 0);
}

#[test]
fn many_readers_of_one_key_are_held_together() {
    let locks = LockManager::<String>::new();
    let owners: Vec<Owner> = (0..10).map(|_| Owner::new()).collect();
    let guards: Vec<_> = owners
        .iter()
        .map(|&o| {
            locks
                .request("k", Read)
                .owner(o)
                .no_wait()
                .acquire()
                .unwrap()
        })
        .collect();
    assert_eq!(locks.holders("k").len(), 10);
    // Release out of order.
    let (even, odd): (Vec<_>, Vec<_>) = guards
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    drop(odd);
    assert_eq!(locks.holders("k").len(), 5);
    drop(even);
    assert_eq!(locks.active_keys(), 0);
}

#[test]
fn a_session_cannot_queue_twice_for_one_key() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let session = Owner::new();
    let blocker = locks.lock("k", Exclusive).unwrap();
    std::thread::scope(|s| {
        let waiting = s.spawn(|| {
            locks
                .request("k", Read)
                .owner(session)
                .acquire()
                .map(|g| g.kind())
        });
        until_queued(&locks, "k", 1);
        // The same session, from this thread, while its first request waits.
        let again = locks.request("k", Write).owner(session).no_wait().acquire();
        assert!(
            matches!(again, Err(Error::AlreadyHeld { kind: Read, .. })),
            "{again:?}"
        );
        drop(blocker);
        assert_eq!(waiting.join().unwrap().unwrap(), Read);
    });
}

#[test]
fn guards_and_managers_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<LockManager<String>>();
    send_sync::<ssot_lock::LockGuard<'static, String>>();
    send_sync::<ssot_lock::FileLock>();
    send_sync::<Error>();
}
