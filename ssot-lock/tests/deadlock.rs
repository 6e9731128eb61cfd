//! Deadlock detection: every cycle in the wait-for graph becomes one `Deadlock` error at
//! the moment it would form, including cycles through queued requests (soft edges),
//! upgrades, and sessions that span threads. A test whose detection failed would block
//! forever; a watchdog turns that into a failure (see `support`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Barrier, mpsc};

use ssot_lock::LockKind::{Exclusive, Read, Write};
use ssot_lock::{Error, LockManager, Owner};

fn until_queued(locks: &LockManager<String>, key: &str, n: usize) {
    support::until(&format!("{n} requests queue on {key:?}"), || {
        locks.waiters(key).len() >= n
    });
}

#[test]
fn two_owners_taking_two_keys_in_opposite_order_get_one_deadlock_and_one_success() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let barrier = Barrier::new(2);
    let run = |first: &str, second: &str| {
        let held = locks.lock(first, Exclusive).unwrap();
        barrier.wait();
        let result = locks.lock(second, Exclusive).map(|g| g.kind());
        drop(held);
        (Owner::current(), result)
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run("a", "b"));
        let b = s.spawn(|| run("b", "a"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let outcomes = [&a, &b];
    let failed: Vec<_> = outcomes.iter().filter(|(_, r)| r.is_err()).collect();
    let succeeded: Vec<_> = outcomes.iter().filter(|(_, r)| r.is_ok()).collect();
    assert_eq!(failed.len(), 1, "{outcomes:?}");
    assert_eq!(succeeded.len(), 1, "{outcomes:?}");
    let (victim, Err(err)) = failed[0] else {
        unreachable!()
    };
    match err {
        Error::Deadlock { victim: v, cycle } => {
            assert_eq!(v, victim);
            assert_eq!(cycle.len(), 2);
            assert_eq!(cycle[0].owner, *victim);
            assert_eq!(cycle[0].blocked_by, cycle[1].owner);
            assert_eq!(cycle[1].blocked_by, *victim);
        }
        other => panic!("expected a deadlock, got {other}"),
    }
    let msg = err.to_string();
    for needle in [
        a.0.to_string(),
        b.0.to_string(),
        "key \"a\"".into(),
        "key \"b\"".into(),
    ] {
        assert!(msg.contains(&needle), "{msg} does not name {needle}");
    }
    assert_eq!(locks.stats().deadlocks, 1);
    assert_eq!(locks.active_keys(), 0);
}

/// A holds Read on k1; C queues Exclusive on k1 (waits for A); B holds k2 and queues
/// Read on k1, which A's Read would let in but C's queued Exclusive does not (B waits
/// for C: a soft edge). When A asks for k2, waiting would close A -> B -> C -> A.
/// Without soft edges the detector would see no cycle, and all three would hang.
#[test]
fn a_cycle_through_a_queued_request_is_detected() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let (a, b, c) = (Owner::new(), Owner::new(), Owner::new());
    let ga = locks.request("k1", Read).owner(a).acquire().unwrap();
    let gb = locks.request("k2", Exclusive).owner(b).acquire().unwrap();
    std::thread::scope(|s| {
        let tc = s.spawn(|| locks.request("k1", Exclusive).owner(c).acquire().map(drop));
        until_queued(&locks, "k1", 1);
        let tb = s.spawn(|| locks.request("k1", Read).owner(b).acquire().map(drop));
        until_queued(&locks, "k1", 2);

        let err = locks.request("k2", Write).owner(a).acquire().unwrap_err();
        let Error::Deadlock { victim, cycle } = &err else {
            panic!("{err}")
        };
        assert_eq!(*victim, a);
        let owners: Vec<Owner> = cycle.iter().map(|step| step.owner).collect();
        assert_eq!(owners, vec![a, b, c], "{err}");
        assert_eq!(cycle[1].resource, "key \"k1\"");

        // The victim gives up what it holds; everyone else proceeds.
        drop(ga);
        tc.join().unwrap().unwrap();
        drop(gb);
        tb.join().unwrap().unwrap();
    });
    assert_eq!(locks.active_keys(), 0);
}

#[test]
fn an_upgrade_that_would_wait_for_a_reader_waiting_on_the_upgrader_is_refused() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let (a, b) = (Owner::new(), Owner::new());
    let mut writer = locks.request("doc", Write).owner(a).acquire().unwrap();
    let other = locks
        .request("index", Exclusive)
        .owner(a)
        .acquire()
        .unwrap();
    let reader = locks.request("doc", Read).owner(b).acquire().unwrap();
    std::thread::scope(|s| {
        let tb = s.spawn(|| locks.request("index", Read).owner(b).acquire().map(drop));
        until_queued(&locks, "index", 1);
        let err = writer.upgrade().unwrap_err();
        assert!(
            matches!(err, Error::Deadlock { victim, .. } if victim == a),
            "{err}"
        );
        // The upgrade failed, the Write lock stays.
        assert_eq!(writer.kind(), Write);
        drop(other);
        tb.join().unwrap().unwrap();
    });
    drop(reader);
    writer.upgrade().unwrap();
    assert_eq!(writer.kind(), Exclusive);
}

#[test]
fn a_session_waiting_on_itself_through_another_owner_is_refused() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let session = Owner::new();
    let p = Owner::new();
    let held = locks
        .request("k1", Exclusive)
        .owner(session)
        .acquire()
        .unwrap();
    let gp = locks.request("k2", Exclusive).owner(p).acquire().unwrap();
    std::thread::scope(|s| {
        // p waits for the session's k1.
        let tp = s.spawn(|| locks.request("k1", Read).owner(p).acquire().map(drop));
        until_queued(&locks, "k1", 1);
        // Another thread of the session asks for p's k2.
        let err = s
            .spawn(|| locks.request("k2", Read).owner(session).acquire().map(drop))
            .join()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(err, Error::Deadlock { victim, .. } if victim == session),
            "{err}"
        );
        drop(held);
        tp.join().unwrap().unwrap();
    });
    drop(gp);
}

/// Overtaking by priority adds an edge to the waiter overtaken. If the overtaking
/// owner itself waits elsewhere (a session used from two threads), that grant would
/// close a cycle, so it is refused instead.
#[test]
fn a_grant_by_overtaking_that_would_close_a_cycle_is_refused() {
    let _watchdog = support::watchdog();
    let manager = LockManager::<String>::new();
    let locks = &manager;
    let (session, p, h) = (Owner::new(), Owner::new(), Owner::new());
    let gp = locks.request("k2", Exclusive).owner(p).acquire().unwrap();
    let gh = locks.request("k1", Read).owner(h).acquire().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        // p queues Exclusive on k1 behind h's Read; it holds k2.
        let tp = s.spawn(move || {
            let g = locks.request("k1", Exclusive).owner(p).acquire().unwrap();
            drop(g);
            drop(gp);
        });
        until_queued(locks, "k1", 1);
        // One thread of the session waits for p's k2.
        let ts = s.spawn(move || {
            let r = locks.request("k2", Read).owner(session).acquire().map(drop);
            tx.send(()).unwrap();
            r
        });
        until_queued(locks, "k2", 1);
        // Another thread of the session would overtake p on k1 with a high priority.
        let err = s
            .spawn(move || {
                locks
                    .request("k1", Read)
                    .owner(session)
                    .priority(9)
                    .acquire()
                    .map(drop)
            })
            .join()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(err, Error::Deadlock { victim, .. } if victim == session),
            "{err}"
        );
        assert_eq!(locks.stats().deadlocks, 1);
        // Without the cycle, the same overtaking is granted.
        let q = Owner::new();
        let gq = locks
            .request("k1", Read)
            .owner(q)
            .priority(9)
            .no_wait()
            .acquire()
            .unwrap();
        drop(gq);
        drop(gh);
        tp.join().unwrap();
        rx.recv().unwrap();
        ts.join().unwrap().unwrap();
    });
    assert_eq!(locks.active_keys(), 0);
}

#[test]
fn a_long_cycle_names_every_owner_and_key() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let owners: Vec<Owner> = (0..4).map(|_| Owner::new()).collect();
    let keys: Vec<String> = (0..4).map(|i| format!("k{i}")).collect();
    let guards: Vec<_> = owners
        .iter()
        .zip(&keys)
        .map(|(&o, k)| {
            locks
                .request(k.as_str(), Exclusive)
                .owner(o)
                .acquire()
                .unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        // owner i waits for key i+1, for i in 0..3.
        let mut waiting = vec![];
        for i in 0..3 {
            let (locks, owner, key) = (&locks, owners[i], keys[i + 1].as_str());
            waiting
                .push(s.spawn(move || locks.request(key, Write).owner(owner).acquire().map(drop)));
            until_queued(locks, key, 1);
        }
        // owner 3 asks for key 0: the cycle has four steps.
        let err = locks
            .request("k0", Read)
            .owner(owners[3])
            .acquire()
            .unwrap_err();
        let Error::Deadlock { cycle, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(cycle.len(), 4, "{err}");
        let msg = err.to_string();
        for o in &owners {
            assert!(msg.contains(&o.to_string()), "{msg}");
        }
        for k in &keys {
            assert!(msg.contains(&format!("key {k:?}")), "{msg}");
        }
        drop(guards);
        for t in waiting {
            t.join().unwrap().unwrap();
        }
    });
}

/// A guard handed to another thread stays its owner's lock. When the receiving thread
/// waits as the same session (what the docs ask for when passing guards), a cycle
/// through the handed-over guard is still seen.
#[test]
fn a_guard_handed_to_another_thread_of_its_session_keeps_deadlocks_detected() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<String>::new();
    let (session, other) = (Owner::new(), Owner::new());
    let handed = locks
        .request("k1", Exclusive)
        .owner(session)
        .acquire()
        .unwrap();
    let held = locks
        .request("k2", Exclusive)
        .owner(other)
        .acquire()
        .unwrap();
    std::thread::scope(|s| {
        let locks = &locks;
        let receiver = s.spawn(move || {
            // Holds `handed` and waits for k2 as the session that owns `handed`.
            let result = locks
                .request("k2", Write)
                .owner(session)
                .acquire()
                .map(|g| g.kind());
            drop(handed);
            result
        });
        until_queued(locks, "k2", 1);
        let err = locks
            .request("k1", Read)
            .owner(other)
            .acquire()
            .unwrap_err();
        assert!(
            matches!(&err, Error::Deadlock { victim, cycle } if *victim == other && cycle.len() == 2),
            "{err}"
        );
        drop(held);
        assert_eq!(receiver.join().unwrap().unwrap(), Write);
    });
    assert_eq!(locks.active_keys(), 0);
}
