//! `FileLock` semantics between handles of one process (a lock belongs to the open
//! files, so two handles exclude each other exactly as two processes do), and the
//! combined in-process + file lock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use ssot_lock::LockKind::{self, Exclusive, Read, Write};
use ssot_lock::{Error, FileLock, LockManager};

fn lock_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data.lock")
}

#[test]
fn the_table_holds_between_handles() {
    let dir = tempfile::tempdir().unwrap();
    for held in LockKind::ALL {
        for asked in LockKind::ALL {
            let mut a = FileLock::open(lock_path(&dir)).unwrap();
            let mut b = FileLock::open(lock_path(&dir)).unwrap();
            let _g = a.lock(held).unwrap();
            let result = b.try_lock(asked);
            assert_eq!(
                result.is_ok(),
                held.compatible_with(asked),
                "{held} then {asked}"
            );
            if let Err(e) = result {
                assert!(matches!(e, Error::WouldBlock { .. }), "{e}");
                assert!(e.to_string().contains("data.lock"), "{e}");
            }
        }
    }
}

#[test]
fn upgrade_waits_for_readers_and_no_second_writer_ever_enters() {
    let _watchdog = support::watchdog();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = FileLock::open(lock_path(&dir)).unwrap();
    let mut reader = FileLock::open(lock_path(&dir)).unwrap();
    let mut rival = FileLock::open(lock_path(&dir)).unwrap();

    let mut w = writer.lock(Write).unwrap();
    let r = reader.lock(Read).unwrap();
    assert!(matches!(
        w.try_upgrade(),
        Err(Error::WouldBlock {
            kind: Exclusive,
            ..
        })
    ));
    assert_eq!(w.kind(), Write);
    // The failed upgrade gave the data lock back: still a writer, readers still welcome.
    assert!(rival.try_lock(Write).is_err());
    assert!(rival.try_lock(Read).is_ok());

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(move || {
            w.upgrade().unwrap();
            assert_eq!(w.kind(), Exclusive);
            tx.send(()).unwrap();
            // Hold Exclusive until the main thread has checked.
            drop(w);
        });
        // Whatever point the upgrade is at (before, in or after its gap), no second
        // writer gets in.
        for _ in 0..200 {
            assert!(rival.try_lock(Write).is_err());
            assert!(rival.try_lock(Exclusive).is_err());
            std::thread::yield_now();
        }
        drop(r);
        rx.recv().unwrap();
    });
    assert!(rival.try_lock(Exclusive).is_ok());
}

#[test]
fn a_timed_out_file_lock_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = FileLock::open(lock_path(&dir)).unwrap();
    let mut b = FileLock::open(lock_path(&dir)).unwrap();
    let _g = a.lock(Exclusive).unwrap();
    let err = b.lock_timeout(Read, Duration::from_millis(5)).unwrap_err();
    assert!(matches!(err, Error::Timeout { kind: Read, .. }), "{err}");
    assert_eq!(b.held(), None);
}

#[test]
fn upgrade_timeout_keeps_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = FileLock::open(lock_path(&dir)).unwrap();
    let mut b = FileLock::open(lock_path(&dir)).unwrap();
    let mut c = FileLock::open(lock_path(&dir)).unwrap();
    let mut w = a.lock(Write).unwrap();
    let _r = b.lock(Read).unwrap();
    let err = w.upgrade_timeout(Duration::from_millis(5)).unwrap_err();
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
    assert_eq!(w.kind(), Write);
    assert!(c.try_lock(Write).is_err());
}

#[test]
fn downgrades_let_others_in_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = FileLock::open(lock_path(&dir)).unwrap();
    let mut b = FileLock::open(lock_path(&dir)).unwrap();
    let mut g = a.lock(Exclusive).unwrap();
    assert!(b.try_lock(Read).is_err());
    g.downgrade(Write).unwrap();
    assert!(b.try_lock(Read).is_ok());
    assert!(b.try_lock(Write).is_err());
    g.downgrade(Read).unwrap();
    assert!(b.try_lock(Write).is_ok());
    assert!(matches!(
        g.downgrade(Exclusive),
        Err(Error::InvalidDowngrade { .. })
    ));
    assert!(matches!(
        g.upgrade(),
        Err(Error::InvalidUpgrade { from: Read, .. })
    ));
    drop(g);
    assert_eq!(a.held(), None);
    assert!(b.try_lock(Exclusive).is_ok());
}

#[test]
fn opening_a_lock_file_in_a_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("x.lock");
    let err = FileLock::open(&path).unwrap_err();
    assert!(matches!(err, Error::Io { action: "open", .. }), "{err}");
    assert!(err.to_string().contains("x.lock"), "{err}");
}

#[test]
fn the_combined_lock_holds_in_process_and_across_handles() {
    let _watchdog = support::watchdog();
    let dir = tempfile::tempdir().unwrap();
    let locks = LockManager::<String>::new();
    let mut outsider = FileLock::open(lock_path(&dir)).unwrap();

    let mut g = locks
        .request("data", Write)
        .acquire_with_file(lock_path(&dir))
        .unwrap();
    assert_eq!(g.kind(), Write);
    assert_eq!(locks.holders("data").len(), 1);
    assert!(outsider.try_lock(Write).is_err());
    assert!(outsider.try_lock(Read).is_ok());

    g.upgrade().unwrap();
    assert_eq!(g.kind(), Exclusive);
    assert!(outsider.try_lock(Read).is_err());
    std::thread::scope(|s| {
        s.spawn(|| {
            let r = locks
                .request("data", Read)
                .no_wait()
                .acquire_with_file(lock_path(&dir));
            assert!(matches!(r, Err(Error::WouldBlock { .. })));
        });
    });

    g.downgrade(Read).unwrap();
    assert!(outsider.try_lock(Write).is_ok());
    drop(g);
    assert_eq!(locks.active_keys(), 0);
    assert!(outsider.try_lock(Exclusive).is_ok());
}

#[test]
fn a_combined_upgrade_that_fails_on_the_file_leaves_both_locks_write() {
    let dir = tempfile::tempdir().unwrap();
    let locks = LockManager::<String>::new();
    let mut reader = FileLock::open(lock_path(&dir)).unwrap();
    let _r = reader.lock(Read).unwrap();
    let mut g = locks
        .request("data", Write)
        .acquire_with_file(lock_path(&dir))
        .unwrap();
    assert!(matches!(g.try_upgrade(), Err(Error::WouldBlock { .. })));
    assert_eq!(g.kind(), Write);
    assert_eq!(locks.holders("data")[0].1, Write);
}

#[test]
fn a_waiting_exclusive_holds_new_readers_back() {
    let _watchdog = support::watchdog();
    let dir = tempfile::tempdir().unwrap();
    let mut reader = FileLock::open(lock_path(&dir)).unwrap();
    let mut writer = FileLock::open(lock_path(&dir)).unwrap();
    let mut late = FileLock::open(lock_path(&dir)).unwrap();
    let r = reader.lock(Read).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(move || {
            let g = writer.lock(Exclusive).unwrap();
            tx.send(()).unwrap();
            drop(g);
        });
        // Once the writer waits (holding the gate), new readers are refused, although
        // the only holder is a reader.
        support::until("a new reader is refused", || late.try_lock(Read).is_err());
        assert!(matches!(late.try_lock(Read), Err(Error::WouldBlock { .. })));
        drop(r);
        rx.recv().unwrap();
    });
    assert!(late.try_lock(Read).is_ok());
}

#[test]
fn an_upgrade_holds_new_readers_back_and_keeps_writers_out() {
    let _watchdog = support::watchdog();
    let dir = tempfile::tempdir().unwrap();
    let mut reader = FileLock::open(lock_path(&dir)).unwrap();
    let mut writer = FileLock::open(lock_path(&dir)).unwrap();
    let mut late = FileLock::open(lock_path(&dir)).unwrap();
    let r = reader.lock(Read).unwrap();
    let mut w = writer.lock(Write).unwrap();
    std::thread::scope(|s| {
        let t = s.spawn(move || w.upgrade().map(|()| w.kind()));
        support::until("a new reader is refused", || late.try_lock(Read).is_err());
        assert!(late.try_lock(Write).is_err());
        drop(r);
        assert_eq!(t.join().unwrap().unwrap(), Exclusive);
    });
}

#[test]
fn a_combined_guard_debugs_as_its_file_lock_and_its_in_process_guard() {
    let dir = tempfile::tempdir().unwrap();
    let locks = LockManager::<String>::new();
    let g = locks
        .request("data", Write)
        .acquire_with_file(lock_path(&dir))
        .unwrap();
    let shown = format!("{g:?}");
    assert!(shown.starts_with("CombinedGuard"), "{shown}");
    assert!(shown.contains("data.lock"), "{shown}");
    assert!(shown.contains("LockGuard"), "{shown}");
    assert!(shown.contains("Write"), "{shown}");
    assert_eq!(g.path(), lock_path(&dir));
}

#[test]
fn a_combined_upgrade_timeout_gives_up_on_a_reading_process_and_succeeds_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let locks = LockManager::<String>::new();
    let mut reader = FileLock::open(lock_path(&dir)).unwrap();
    let mut outsider = FileLock::open(lock_path(&dir)).unwrap();
    let r = reader.lock(Read).unwrap();
    let mut g = locks
        .request("data", Write)
        .acquire_with_file(lock_path(&dir))
        .unwrap();
    let err = g.upgrade_timeout(Duration::from_millis(5)).unwrap_err();
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
    assert_eq!(locks.holders("data")[0].1, Write);
    assert!(outsider.try_lock(Read).is_ok());

    drop(r);
    g.upgrade_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(g.kind(), Exclusive);
    assert_eq!(locks.holders("data")[0].1, Exclusive);
    assert!(outsider.try_lock(Read).is_err());
}

#[test]
fn a_combined_downgrade_to_a_stronger_kind_is_refused_by_the_in_process_lock() {
    let dir = tempfile::tempdir().unwrap();
    let locks = LockManager::<String>::new();
    let mut g = locks
        .request("data", Read)
        .acquire_with_file(lock_path(&dir))
        .unwrap();
    let err = g.downgrade(Write).unwrap_err();
    // The key names the resource: the request never reached the lock file.
    match &err {
        Error::InvalidDowngrade { resource, from, to } => {
            assert_eq!((*from, *to), (Read, Write));
            assert!(resource.starts_with("key"), "{err}");
        }
        other => panic!("expected InvalidDowngrade, got {other}"),
    }
    assert_eq!(g.kind(), Read);
    // Downgrading to the kind held changes nothing.
    g.downgrade(Read).unwrap();
    assert_eq!(g.kind(), Read);
}

#[test]
fn a_timed_file_lock_is_granted_when_the_holder_leaves_before_the_deadline() {
    let _watchdog = support::watchdog();
    let dir = tempfile::tempdir().unwrap();
    let mut holder = FileLock::open(lock_path(&dir)).unwrap();
    let mut waiter = FileLock::open(lock_path(&dir)).unwrap();
    let gate = std::fs::File::open(dir.path().join("data.lock.gate")).unwrap();
    let g = holder.lock(Exclusive).unwrap();
    std::thread::scope(|s| {
        let t = s.spawn(move || waiter.lock_timeout(Read, support::LIMIT).map(|g| g.kind()));
        // A reader holds the gate (shared) only while it polls for the data file, which
        // the holder keeps: once the gate is taken, the waiter has started polling, and
        // the grant must come from a later attempt, well before the deadline.
        support::until("the waiter polls for the data file", || {
            // A waiter that gave up at once ends the wait too; the join below fails.
            if t.is_finished() {
                return true;
            }
            match gate.try_lock() {
                Ok(()) => {
                    gate.unlock().unwrap();
                    false
                }
                Err(std::fs::TryLockError::WouldBlock) => true,
                Err(std::fs::TryLockError::Error(e)) => panic!("{e}"),
            }
        });
        drop(g);
        assert_eq!(t.join().unwrap().unwrap(), Read);
    });
}

#[test]
fn a_leaked_file_guard_leaves_the_handle_holding_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = FileLock::open(lock_path(&dir)).unwrap();
    let mut b = FileLock::open(lock_path(&dir)).unwrap();
    std::mem::forget(a.lock(Write).unwrap());
    assert_eq!(a.held(), Some(Write));
    let err = a.try_lock(Read).unwrap_err();
    assert!(
        matches!(err, Error::AlreadyHeld { kind: Write, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("data.lock"), "{err}");
    assert!(b.try_lock(Write).is_err());
    drop(a);
    assert!(b.try_lock(Exclusive).is_ok());
}

#[test]
fn a_file_downgrade_to_the_kind_held_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = FileLock::open(lock_path(&dir)).unwrap();
    let mut b = FileLock::open(lock_path(&dir)).unwrap();
    for kind in LockKind::ALL {
        let mut g = a.lock(kind).unwrap();
        g.downgrade(kind).unwrap();
        assert_eq!(g.kind(), kind);
        for asked in LockKind::ALL {
            assert_eq!(
                b.try_lock(asked).is_ok(),
                kind.compatible_with(asked),
                "{kind} downgraded to itself, then {asked}"
            );
        }
    }
}
