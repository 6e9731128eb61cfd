//! End-to-end tests of transactions: one revision, all or nothing, crash recovery.

// Most steps only need the change to succeed; its `Commit` is checked where it matters.
#![allow(
    unused_must_use,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fs;
use std::path::Path;

use serde_json::json;
use ssot_core::format::edit::Position;
use ssot_core::store::{Operation, Store};
use ssot_core::{Error, Status, Task, TaskId};

const MD: &str = "# Work\n- [ ] Build 🆔 build\n- [ ] Test 🆔 test ⛔ build\n";
const YAML: &str = "# ci\n- id: lint\n  title: Lint\n- id: fmt\n  title: Format\n";

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("todo.md"), MD).unwrap();
    fs::write(dir.path().join("ci.tasks.yaml"), YAML).unwrap();
    let store = Store::init(dir.path()).unwrap();
    (dir, store)
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn a_transaction_across_files_is_one_revision() {
    let (dir, store) = store();
    store.set_status("fmt", Status::InProgress).unwrap();
    let c = store
        .transaction()
        .set_status("build", Status::Done)
        .set_status("lint", Status::Done)
        .add_task(
            "ci.tasks.yaml",
            Task::new(TaskId::new("docs").unwrap(), "Docs"),
            Position::End,
        )
        .commit()
        .unwrap();
    assert_eq!(c.revision, 2);
    assert_eq!(c.records.len(), 3);
    assert!(c.records.iter().all(|r| r.revision == 2));
    assert_eq!(
        read(dir.path(), "todo.md"),
        MD.replacen("- [ ] Build", "- [x] Build", 1)
    );
    let yaml = read(dir.path(), "ci.tasks.yaml");
    assert!(
        yaml.starts_with("# ci\n- id: lint\n  title: Lint\n  status: done\n- id: fmt\n"),
        "{yaml}"
    );
    assert!(yaml.contains("- id: docs\n  title: Docs\n"), "{yaml}");
    assert_eq!(store.revision().unwrap(), 2);
    assert!(store.verify_audit().unwrap().is_ok());
}

#[test]
fn changes_to_one_file_compose_and_chain_their_hashes() {
    let (dir, store) = store();
    let c = store
        .transaction()
        .set_status("build", Status::InProgress)
        .set_status("build", Status::Done)
        .update_task("test", |t| t.title = "Test all".into())
        .commit()
        .unwrap();
    let changes: Vec<_> = c
        .records
        .iter()
        .filter(|r| r.operation != Operation::External)
        .collect();
    assert_eq!(changes.len(), 3);
    assert_eq!(changes[1].before, changes[0].after);
    assert_eq!(changes[2].before, changes[1].after);
    assert_eq!(
        read(dir.path(), "todo.md"),
        "# Work\n- [x] Build 🆔 build\n- [ ] Test all 🆔 test ⛔ build\n"
    );
    assert_eq!(
        changes[2].after.as_deref(),
        Some(
            blake3::hash(read(dir.path(), "todo.md").as_bytes())
                .to_hex()
                .as_str()
        )
    );
}

#[test]
fn one_invalid_change_refuses_the_whole_transaction() {
    let (dir, store) = store();
    let result = store
        .transaction()
        .set_status("build", Status::Done)
        .patch("ci.tasks.yaml", json!({"not": "a list"}))
        .commit();
    assert!(result.is_err());
    let result = store
        .transaction()
        .set_status("build", Status::Done)
        .update_task("lint", |t| {
            t.dependencies.push(TaskId::new("nowhere").unwrap())
        })
        .commit();
    assert!(matches!(result, Err(Error::Invalid(_))), "{result:?}");
    let result = store
        .transaction()
        .set_status("lint", Status::Done)
        .set_status("ghost", Status::Done)
        .commit();
    assert!(
        matches!(result, Err(Error::TaskNotFound { .. })),
        "{result:?}"
    );
    assert_eq!(read(dir.path(), "todo.md"), MD);
    assert_eq!(read(dir.path(), "ci.tasks.yaml"), YAML);
    assert_eq!(store.revision().unwrap(), 0);
    assert!(store.audit_log().unwrap().is_empty());
}

#[test]
fn a_dependency_added_with_its_task_in_one_transaction_is_valid() {
    let (dir, store) = store();
    store
        .transaction()
        .add_task(
            "ci.tasks.yaml",
            Task::new(TaskId::new("pkg").unwrap(), "Package"),
            Position::End,
        )
        .update_task("test", |t| t.dependencies.push(TaskId::new("pkg").unwrap()))
        .commit()
        .unwrap();
    assert!(
        read(dir.path(), "todo.md").contains("⛔ build,pkg")
            || read(dir.path(), "todo.md").contains("pkg")
    );
    assert_eq!(store.plan().unwrap().blocked()[0].id.as_str(), "test");
}

#[test]
fn an_empty_transaction_is_an_error() {
    let (_dir, store) = store();
    let tx = store.transaction();
    assert!(tx.is_empty());
    assert!(matches!(tx.commit(), Err(Error::EmptyTransaction)));
    assert_eq!(store.revision().unwrap(), 0);
}

#[cfg(feature = "fault-injection")]
thread_local! {
    /// The crash point armed on this thread (tests run in parallel threads of one
    /// process, and the hook is process-wide).
    static ARMED: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// A crash point hook that panics (so the process survives to check) at the point
/// armed on the calling thread, once.
#[cfg(feature = "fault-injection")]
fn crash_at(point: &'static str) {
    if ARMED.with(|a| a.get()) == Some(point) {
        ARMED.with(|a| a.set(None));
        panic!("simulated crash at {point}");
    }
}

#[cfg(feature = "fault-injection")]
fn crash_once(point: &'static str, test: impl FnOnce() -> Result<ssot_core::store::Commit, Error>) {
    ssot_core::version::set_fault_hook(Some(crash_at));
    ARMED.with(|a| a.set(Some(point)));
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test));
    ARMED.with(|a| a.set(None));
    assert!(crashed.is_err(), "the crash point was not reached");
}

#[cfg(feature = "fault-injection")]
#[test]
fn crash_after_the_first_file_is_finished_from_the_log_exactly_once() {
    let (dir, store) = store();
    store.set_status("lint", Status::Done).unwrap();
    let root = dir.path().to_path_buf();
    // After the commit point (the audit append) and the first of the two files.
    crash_once("wal:applied", move || {
        store
            .transaction()
            .set_status("build", Status::Done)
            .set_status("fmt", Status::Done)
            .commit()
    });
    // Reopening writes the other file from the log; the records are there once.
    let store = Store::open(&root).unwrap();
    assert_eq!(store.revision().unwrap(), 2);
    let again = Store::open(&root).unwrap();
    assert_eq!(again.revision().unwrap(), 2);
    let last: Vec<_> = store
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|r| r.revision == 2)
        .collect();
    assert_eq!(last.len(), 2);
    assert!(read(&root, "todo.md").contains("- [x] Build"));
    assert!(read(&root, "ci.tasks.yaml").contains("status: done"));
    assert!(store.verify_audit().unwrap().is_ok());
    assert!(store.drift().unwrap().is_empty());
}

#[cfg(feature = "fault-injection")]
#[test]
fn crash_after_the_audit_before_the_file_is_written_is_finished_once() {
    let (dir, store) = store();
    let root = dir.path().to_path_buf();
    crash_once("audit:after-sync", move || {
        store.set_status("build", Status::Done)
    });
    assert!(!read(&root, "todo.md").contains("- [x] Build"));
    let store = Store::open(&root).unwrap();
    assert!(read(&root, "todo.md").contains("- [x] Build"));
    assert!(store.drift().unwrap().is_empty());
    assert_eq!(store.revision().unwrap(), 1);
    let changes = store
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|r| r.operation != Operation::External)
        .count();
    assert_eq!(changes, 1);
    assert!(store.verify_audit().unwrap().is_ok());
    assert_eq!(store.set_status("lint", Status::Done).unwrap().revision, 2);
}

#[test]
fn a_task_added_in_a_transaction_can_be_changed_later_in_it() {
    let (dir, store) = store();
    store
        .transaction()
        .add_task(
            "todo.md",
            Task::new(TaskId::new("ship").unwrap(), "Ship"),
            Position::End,
        )
        .set_status("ship", Status::InProgress)
        .commit()
        .unwrap();
    assert!(read(dir.path(), "todo.md").ends_with("- [/] Ship 🆔 ship\n"));
}
