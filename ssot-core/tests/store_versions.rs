//! End-to-end tests of versions (snapshot, history, diff, rollback) and drift.

// Most steps only need the change to succeed; its `Commit` is checked where it matters.
#![allow(
    unused_must_use,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fs;
use std::path::Path;

use ssot_core::Status;
use ssot_core::store::{Operation, ProblemKind, Store};

const MD: &str = "- [ ] Build 🆔 build\n- [ ] Test 🆔 test ⛔ build\n";
const YAML: &str = "- id: lint\n  title: Lint\n";

fn store_with(manifest: Option<&str>) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("todo.md"), MD).unwrap();
    fs::write(dir.path().join("ci.tasks.yaml"), YAML).unwrap();
    let store = match manifest {
        Some(m) => {
            fs::write(dir.path().join("ssot.yaml"), m).unwrap();
            Store::open(dir.path()).unwrap()
        }
        None => Store::init(dir.path()).unwrap(),
    };
    (dir, store)
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn snapshot_history_and_diff() {
    let (_dir, store) = store_with(None);
    let v1 = store.snapshot("start").unwrap();
    assert!(v1.file("todo.md").is_some());
    assert!(v1.files().iter().all(|f| !f.path.starts_with(".ssot")));
    store.set_status("build", Status::Done).unwrap();
    let v2 = store.snapshot("built").unwrap();
    let history = store.history().unwrap();
    assert_eq!(history[0].id(), v2.id());
    assert_eq!(history[1].id(), v1.id());
    let diff = store.diff(v1.id().as_str(), v2.id().as_str()).unwrap();
    assert_eq!(diff.modified, ["todo.md"]);
    assert!(diff.added.is_empty() && diff.removed.is_empty());
}

#[test]
fn rollback_is_a_revision_and_refreshes_cached_reads() {
    let (dir, store) = store_with(None);
    let v1 = store.snapshot("start").unwrap();
    store.set_status("build", Status::Done).unwrap();
    assert_eq!(
        store.task_file("todo.md").unwrap().tasks()[0].status(),
        Status::Done
    );
    let c = store.rollback(v1.id().short()).unwrap();
    assert_eq!(c.revision, 2);
    assert!(c.version.is_some());
    assert_eq!(
        c.records,
        store
            .audit_log()
            .unwrap()
            .into_iter()
            .filter(|r| r.revision == 2)
            .collect::<Vec<_>>()
    );
    assert_eq!(c.records.len(), 1);
    assert_eq!(c.records[0].path, "todo.md");
    assert_eq!(
        c.records[0].operation,
        Operation::Rollback {
            version: v1.id().as_str().to_owned()
        }
    );
    assert_eq!(read(dir.path(), "todo.md"), MD);
    assert_eq!(
        store.task_file("todo.md").unwrap().tasks()[0].status(),
        Status::Pending
    );
    // The log explains the bytes: no drift after a rollback.
    assert!(store.drift().unwrap().is_empty());
    assert!(store.verify_audit().unwrap().is_ok());
    // And the next change builds on it.
    assert_eq!(
        store
            .set_status("build", Status::InProgress)
            .unwrap()
            .records
            .len(),
        1
    );
}

#[test]
fn every_change_snapshot_policy_records_a_version_per_revision() {
    let manifest = "version: 1\nsettings:\n  snapshot: every-change\n";
    let (_dir, store) = store_with(Some(manifest));
    let c1 = store.set_status("build", Status::Done).unwrap();
    let c2 = store.set_status("lint", Status::Done).unwrap();
    let (v1, v2) = (c1.version.unwrap(), c2.version.unwrap());
    assert_ne!(v1, v2);
    assert!(
        c2.records
            .iter()
            .all(|r| r.version.as_deref() == Some(v2.as_str()))
    );
    let history = store.history().unwrap();
    assert_eq!(history[0].id(), &v2);
    assert_eq!(history[1].id(), &v1);
    assert!(history[0].description().contains("set-status lint"));
    assert_eq!(
        store.diff(v1.as_str(), v2.as_str()).unwrap().modified,
        ["ci.tasks.yaml"]
    );
}

#[test]
fn drift_is_reported_validated_and_recorded_once() {
    let (dir, store) = store_with(None);
    store.set_status("build", Status::InProgress).unwrap();
    assert!(store.drift().unwrap().is_empty());
    assert!(store.record_drift().unwrap().is_none());

    fs::write(
        dir.path().join("ci.tasks.yaml"),
        "- id: lint\n  title: [broken\n",
    )
    .unwrap();
    fs::write(dir.path().join("new.md"), "- [ ] New 🆔 new\n").unwrap();
    fs::remove_file(dir.path().join("todo.md")).unwrap();
    let drift = store.drift().unwrap();
    assert_eq!(drift.added, ["new.md"]);
    assert_eq!(drift.modified, ["ci.tasks.yaml"]);
    assert_eq!(drift.removed, ["todo.md"]);
    assert_eq!(drift.problems[0].kind, ProblemKind::Parse);
    assert_eq!(drift.problems[0].location.file, "ci.tasks.yaml");
    // drift() wrote nothing.
    assert_eq!(store.revision().unwrap(), 1);

    let rx = store.subscribe();
    let c = store.record_drift().unwrap().unwrap();
    assert_eq!(c.revision, 2);
    assert_eq!(c.records.len(), 3);
    assert!(c.records.iter().all(|r| r.operation == Operation::External));
    let removed = c.records.iter().find(|r| r.path == "todo.md").unwrap();
    assert_eq!(removed.after, None);
    assert_eq!(rx.try_iter().filter(|e| e.external).count(), 3);
    // Recorded once.
    assert!(store.record_drift().unwrap().is_none());
    assert!(store.drift().unwrap().is_empty());
    assert_eq!(store.changes_since(1).unwrap().len(), 3);
}

#[test]
fn drift_before_the_first_revision_is_every_file() {
    let (_dir, store) = store_with(None);
    assert_eq!(store.drift().unwrap().added, ["ci.tasks.yaml", "todo.md"]);
    let c = store.record_drift().unwrap().unwrap();
    assert_eq!(c.revision, 1);
    assert!(store.drift().unwrap().is_empty());
    // The first change after the baseline records no more drift.
    assert_eq!(
        store
            .set_status("build", Status::Done)
            .unwrap()
            .records
            .len(),
        1
    );
}

#[test]
fn another_handle_sees_rollback_and_drift_revisions() {
    let (dir, a) = store_with(None);
    let b = Store::open(dir.path()).unwrap();
    let v = a.snapshot("start").unwrap();
    a.set_status("build", Status::Done).unwrap();
    b.rollback(v.id().as_str()).unwrap();
    assert_eq!(a.revision().unwrap(), 2);
    assert_eq!(
        a.task_file("todo.md").unwrap().tasks()[0].status(),
        Status::Pending
    );
    assert_eq!(a.set_status("build", Status::Done).unwrap().revision, 3);
}

#[test]
fn drift_sees_a_same_size_rewrite_even_with_the_old_mtime() {
    let (dir, store) = store_with(None);
    store.record_drift().unwrap();
    let path = dir.path().join("ci.tasks.yaml");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    // An old file: its fingerprint is trusted once hashed.
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    store.record_drift().unwrap();
    assert!(store.drift().unwrap().is_empty());
    // Same size, same mtime put back: the ctime still tells.
    fs::write(&path, YAML.replace("Lint", "Tint")).unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(store.drift().unwrap().modified, ["ci.tasks.yaml"]);
    // A young file rewritten at once with the same size is re-read.
    store.record_drift().unwrap();
    fs::write(&path, YAML.replace("Lint", "Mint")).unwrap();
    assert_eq!(store.drift().unwrap().modified, ["ci.tasks.yaml"]);
}

#[test]
fn configuration_overlay_files_are_in_the_baseline_and_restored_by_rollback() {
    let manifest = "version: 1\nconfigs:\n  app: [config/base.yaml, config/prod.yaml]\n";
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("todo.md"), MD).unwrap();
    fs::create_dir(dir.path().join("config")).unwrap();
    fs::write(dir.path().join("config/base.yaml"), "pool: 10\n").unwrap();
    fs::write(dir.path().join("config/prod.yaml"), "pool: 20\n").unwrap();
    fs::write(dir.path().join("ssot.yaml"), manifest).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let c = store.set_status("build", Status::Done).unwrap();
    let baseline: Vec<&str> = c
        .records
        .iter()
        .filter(|r| r.operation == Operation::External)
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        baseline,
        ["config/base.yaml", "config/prod.yaml", "todo.md"]
    );
    let v = store.snapshot("pool 20").unwrap();
    let p = store
        .patch("config/prod.yaml", &serde_json::json!({"pool": 40}))
        .unwrap();
    assert_eq!(p.records.len(), 1);
    let r = store.rollback(v.id().as_str()).unwrap();
    assert_eq!(r.records.len(), 1, "{:?}", r.records);
    assert_eq!(r.records[0].path, "config/prod.yaml");
    assert_eq!(
        r.records[0].after.as_deref(),
        Some(blake3::hash(b"pool: 20\n").to_hex().as_str())
    );
    assert_eq!(read(dir.path(), "config/prod.yaml"), "pool: 20\n");
    assert!(store.drift().unwrap().is_empty());
}

#[test]
fn rollback_records_a_version_restored_from_its_target_and_a_second_one_records_none() {
    let (_dir, store) = store_with(None);
    let v1 = store.snapshot("start").unwrap();
    store.set_status("build", Status::Done).unwrap();
    let c = store.rollback(v1.id().short()).unwrap();
    let history = store.history().unwrap();
    // The rollback, the uncommitted change recorded first, the start.
    assert_eq!(history.len(), 3);
    assert_eq!(Some(history[0].id()), c.version.as_ref());
    assert_eq!(history[0].restored_from(), Some(v1.id()));
    assert!(history[1].description().contains("before rollback"));
    // The directory is that of v1 already: a revision says the rollback ran, and
    // it names the newest version, whose files are v1's.
    let again = store.rollback(v1.id().short()).unwrap();
    assert_eq!(again.revision, c.revision + 1);
    assert_eq!(again.records.len(), 1);
    assert_eq!(again.records[0].path, ".");
    assert_eq!(again.version, c.version);
    assert_eq!(store.history().unwrap().len(), 3);
    assert!(store.drift().unwrap().is_empty());
}
