//! Crash safety of the store's write side.
//!
//! 1. A transaction over three files (a status change in Markdown, a new task in YAML,
//!    a merge patch of a YAML document) is stopped at each crash point in turn and
//!    killed with SIGKILL. After reopening the store the three files are all old or all
//!    new, never a mix; the audit log verifies, holds all of the transaction's records
//!    or none, and explains every byte (no drift once the store has recorded what it
//!    found). Run once with `snapshot: on-request` and once with `every-change`, so the
//!    version store's own crash points are crossed too.
//! 2. A failing disk write (the audit log cannot be written; a read-only directory) and
//!    invalid changes leave every file as it was, the store valid and the log
//!    consistent.
//!
//! Crash points: the test installs one hook (`ssot_core::version::set_fault_hook`),
//! which receives the store's write-side points and `ssot-version`'s, compiled in by
//! the test-only `fault-injection` feature (CI runs with `--all-features`). The child re-executes
//! this test binary (selecting the ignored test `crash_child`); at crash point *k* it
//! reports the point on stdout and blocks on stdin until the parent kills it. No timing
//! is involved.
#![cfg(all(unix, feature = "store"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ssot_core::format::edit::Position;
use ssot_core::store::Store;
use ssot_core::{Error, Status, Task, TaskId};

const TODO: &str = "# Work\n\n- [ ] Build 🆔 build\n- [ ] Ship 🆔 ship ⛔ build\n";
const CI: &str = "# CI tasks\n- id: test\n  title: Test # keep\n  dependencies: [build]\n";
const APP: &str = "# app settings\nname: app\nreplicas: 1\n";
const SCHEMA: &str = r#"{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1}}}"#;

fn manifest(snapshot: &str) -> String {
    format!(
        "version: 1\nfiles:\n  \"**/*.md\": tasks\n  \"**/*.tasks.{{yaml,yml,json,csv}}\": tasks\n  \"config/*.yaml\": {{ schema: app }}\nschemas:\n  app: schemas/app.json\nsettings:\n  snapshot: {snapshot}\n"
    )
}

/// The managed files and their initial text.
const FILES: [(&str, &str); 3] = [
    ("todo.md", TODO),
    ("ci.tasks.yaml", CI),
    ("config/app.yaml", APP),
];

fn setup(root: &Path, snapshot: &str) {
    fs::create_dir_all(root.join("config")).unwrap();
    fs::create_dir_all(root.join("schemas")).unwrap();
    fs::write(root.join("ssot.yaml"), manifest(snapshot)).unwrap();
    fs::write(root.join("schemas/app.json"), SCHEMA).unwrap();
    for (path, text) in FILES {
        fs::write(root.join(path), text).unwrap();
    }
}

fn transaction(store: &Store) -> Result<ssot_core::store::Commit, Error> {
    store
        .transaction()
        .set_status("build", Status::Done)
        .add_task(
            "ci.tasks.yaml",
            Task::new(TaskId::new("lint").unwrap(), "Lint"),
            Position::End,
        )
        .patch("config/app.yaml", serde_json::json!({"replicas": 3}))
        .commit()
}

type Tree = BTreeMap<String, Option<String>>;

fn tree(root: &Path) -> Tree {
    FILES
        .iter()
        .map(|(p, _)| (p.to_string(), fs::read_to_string(root.join(p)).ok()))
        .collect()
}

fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Checks the audit log against the files: it verifies, and its last `after` of each
/// path is the file's hash (a path it never named is at its initial text).
fn assert_log_explains(root: &Path, store: &Store) {
    let check = store.verify_audit().unwrap();
    assert!(check.first_bad.is_none(), "{check:?}");
    let mut last: BTreeMap<String, Option<String>> = BTreeMap::new();
    for r in store.audit_log().unwrap() {
        last.insert(r.path.clone(), r.after.clone());
    }
    for (path, initial) in FILES {
        let now = fs::read(root.join(path)).ok();
        match last.get(path) {
            Some(after) => assert_eq!(
                *after,
                now.as_deref().map(hash),
                "{path}: the log's last hash is not the file's"
            ),
            None => assert_eq!(
                now.as_deref(),
                Some(initial.as_bytes()),
                "{path} changed without a record"
            ),
        }
    }
    let drift = store.drift().unwrap();
    if store.revision().unwrap() == 0 {
        // Before the first revision every file is new to the log: the baseline comes
        // with the first revision.
        assert_eq!(drift.added, ["ci.tasks.yaml", "config/app.yaml", "todo.md"]);
        assert!(
            drift.modified.is_empty() && drift.removed.is_empty(),
            "{drift:?}"
        );
    } else {
        assert!(drift.is_empty(), "{drift:?}");
    }
}

#[cfg(feature = "fault-injection")]
mod killed {
    use super::*;
    use ssot_core::store::Operation;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicU64, Ordering};

    const ROOT_ENV: &str = "SSOT_STORE_CRASH_ROOT";
    const STEP_ENV: &str = "SSOT_STORE_CRASH_STEP";

    static STEP: AtomicU64 = AtomicU64::new(0);
    static COUNT: AtomicU64 = AtomicU64::new(0);

    fn hook(name: &'static str) {
        let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
        if n == STEP.load(Ordering::SeqCst) {
            let mut out = std::io::stdout().lock();
            writeln!(out, "CRASH {n} {name}").unwrap();
            out.flush().unwrap();
            // Wait to be killed; if the parent went away instead, die anyway.
            let _ = std::io::stdin().read(&mut [0u8; 1]);
            std::process::abort();
        }
    }

    #[test]
    #[ignore = "the child process of a_transaction_killed_at_every_crash_point_is_all_or_nothing"]
    fn crash_child() {
        let Ok(root) = std::env::var(ROOT_ENV) else {
            return;
        };
        STEP.store(
            std::env::var(STEP_ENV).unwrap().parse().unwrap(),
            Ordering::SeqCst,
        );
        let store = Store::open(&root).unwrap();
        ssot_core::version::set_fault_hook(Some(hook));
        let _ = transaction(&store).unwrap();
        ssot_core::version::set_fault_hook(None);
        let mut out = std::io::stdout().lock();
        writeln!(out, "DONE {}", COUNT.load(Ordering::SeqCst)).unwrap();
        out.flush().unwrap();
    }

    enum Outcome {
        Crashed(String),
        Done(u64),
    }

    fn run_child(root: &Path, step: u64) -> Outcome {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "killed::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROOT_ENV, root)
            .env(STEP_ENV, step.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(log.path()).unwrap())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        for line in stdout.lines() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if let Some((_, rest)) = line.split_once("CRASH ") {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                return Outcome::Crashed(rest.to_owned());
            }
            if let Some((_, count)) = line.split_once("DONE ") {
                assert!(child.wait().unwrap().success());
                return Outcome::Done(count.parse().unwrap());
            }
        }
        let status = child.wait();
        let stderr = fs::read_to_string(log.path()).unwrap_or_default();
        panic!("child ended without reporting ({status:?}):\n{seen}\n{stderr}");
    }

    fn crash_everywhere(snapshot: &str) {
        // The new tree, from an uninterrupted run.
        let reference = tempfile::tempdir().unwrap();
        setup(reference.path(), snapshot);
        let store = Store::open(reference.path()).unwrap();
        let commit = transaction(&store).unwrap();
        // Three changes, after the baseline of the first revision (`External`).
        let changes = commit
            .records
            .iter()
            .filter(|r| !matches!(r.operation, Operation::External))
            .count();
        assert_eq!(changes, 3);
        let new = tree(reference.path());
        let old: Tree = FILES
            .iter()
            .map(|(p, t)| (p.to_string(), Some((*t).to_owned())))
            .collect();
        assert_ne!(new, old);

        let mut crashed = Vec::new();
        for step in 1.. {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            setup(root, snapshot);
            let outcome = run_child(root, step);
            // Reopening recovers.
            let store = Store::open(root).unwrap();
            let now = tree(root);
            let point = match &outcome {
                Outcome::Crashed(point) => point.clone(),
                Outcome::Done(_) => "done".to_owned(),
            };
            assert!(
                now == old || now == new,
                "{snapshot}, crash at {point}: a mix of old and new files: {now:?}"
            );
            // The transaction's records: all or none, and only with the new files.
            let own = |log: &[ssot_core::store::AuditRecord]| {
                log.iter()
                    .filter(|r| !matches!(r.operation, Operation::External))
                    .count()
            };
            let records = own(&store.audit_log().unwrap());
            assert!(
                records == 0 || records == 3,
                "{snapshot}, crash at {point}: {records} of the 3 records"
            );
            if records == 3 {
                assert_eq!(
                    now, new,
                    "{snapshot}, crash at {point}: recorded but not written"
                );
            }
            // Whatever the crash left unrecorded is found as drift and recorded.
            let _ = store.record_drift().unwrap();
            assert_log_explains(root, &store);
            // A crashed apply is finished from the log, never recorded as drift:
            // the only `External` records are the first revision's baseline.
            let log = store.audit_log().unwrap();
            assert!(
                log.iter()
                    .filter(|r| matches!(r.operation, Operation::External))
                    .all(|r| r.revision == 1),
                "{snapshot}, crash at {point}: an External record after the baseline: {log:#?}"
            );
            assert!(store.validate().unwrap().problems().is_empty());
            // The store goes on working after the crash.
            let _ = store.set_status("ship", Status::InProgress).unwrap();
            assert_log_explains(root, &store);
            match outcome {
                Outcome::Crashed(point) => crashed.push(point),
                Outcome::Done(count) => {
                    assert_eq!(count + 1, step, "the child counted differently");
                    assert_eq!(now, new);
                    break;
                }
            }
        }
        eprintln!(
            "{snapshot}: killed at {} points: {crashed:?}",
            crashed.len()
        );
        assert!(
            crashed.len() >= 4,
            "{snapshot}: only {} crash points: {crashed:?}",
            crashed.len()
        );
    }

    /// Runs the child until it stops at crash point `name`; the store's directory.
    fn crash_at(name: &str) -> tempfile::TempDir {
        for step in 1.. {
            let dir = tempfile::tempdir().unwrap();
            setup(dir.path(), "on-request");
            match run_child(dir.path(), step) {
                Outcome::Crashed(point) if point.ends_with(name) => return dir,
                Outcome::Crashed(_) => {}
                Outcome::Done(_) => panic!("no crash point {name}"),
            }
        }
        unreachable!()
    }

    /// A crash during the audit append that left the group's last line torn (or
    /// missing), so its fdatasync never returned: none of the transaction, and the
    /// group's first records are cut off the log too.
    #[test]
    fn a_group_cut_short_in_the_log_is_none_of_the_transaction() {
        for keep_partial_line in [true, false] {
            let dir = crash_at("audit:after-sync");
            let root = dir.path();
            let log_path = root.join(".ssot/audit.log");
            let log = fs::read(&log_path).unwrap();
            let lines = log.split_inclusive(|&b| b == b'\n').count();
            assert!(lines >= 4, "the baseline and the three changes: {lines}");
            let last_start = log[..log.len() - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .unwrap()
                + 1;
            let cut = if keep_partial_line {
                log.len() - 10
            } else {
                last_start
            };
            fs::write(&log_path, &log[..cut]).unwrap();
            let store = Store::open(root).unwrap();
            let old: Tree = FILES
                .iter()
                .map(|(p, t)| (p.to_string(), Some((*t).to_owned())))
                .collect();
            assert_eq!(tree(root), old, "torn (partial line: {keep_partial_line})");
            assert!(store.audit_log().unwrap().is_empty());
            assert!(store.verify_audit().unwrap().is_ok());
            let _ = store.record_drift().unwrap();
            assert_log_explains(root, &store);
            let _ = transaction(&store).unwrap();
            assert_log_explains(root, &store);
        }
    }

    /// After the commit point and the first of the three files: all of it once the
    /// store is opened again, each revision once, no External record.
    #[test]
    fn a_crash_after_the_first_file_is_applied_is_all_after_reopening() {
        let dir = crash_at("wal:applied");
        let root = dir.path();
        let (_, new) = old_and_new("on-request");
        let written = FILES
            .iter()
            .filter(|(p, t)| fs::read_to_string(root.join(p)).unwrap() != *t)
            .count();
        assert_eq!(written, 1, "the crash came after one file");
        let store = Store::open(root).unwrap();
        assert_eq!(tree(root), new);
        let log = store.audit_log().unwrap();
        assert!(log.iter().all(|r| r.revision == 1), "{log:#?}");
        assert!(store.verify_audit().unwrap().is_ok());
        assert!(store.drift().unwrap().is_empty());
        assert_log_explains(root, &store);
    }

    #[test]
    fn a_transaction_killed_at_every_crash_point_is_all_or_nothing() {
        crash_everywhere("on-request");
    }

    #[test]
    fn a_transaction_with_a_snapshot_killed_at_every_crash_point_is_all_or_nothing() {
        crash_everywhere("every-change");
    }
}

/// A file saved by an editor while a commit runs (between reading it under the lock
/// and writing it) is left as the editor saved it: the commit is in the log, says
/// so (`Unapplied`), and the next look records the file as an outside change.
#[cfg(feature = "fault-injection")]
mod during {
    use super::*;
    use std::cell::RefCell;
    use std::path::PathBuf;

    thread_local! {
        /// The file this thread's hook appends to at `wal:staged`.
        static EDIT: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
        /// The point at which this thread's hook panics (a crash the test survives).
        static PANIC_AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
    }

    fn hook(name: &'static str) {
        if PANIC_AT.with(|p| p.get()) == Some(name) {
            PANIC_AT.with(|p| p.set(None));
            panic!("simulated crash at {name}");
        }
        if name == "wal:staged" {
            EDIT.with(|e| {
                if let Some(path) = e.borrow_mut().take() {
                    let mut text = fs::read_to_string(&path).unwrap();
                    text.push_str("- [ ] Outside 🆔 outside\n");
                    fs::write(&path, text).unwrap();
                }
            });
        }
    }

    /// A rollback by a handle opened before another one crashed after its commit
    /// point finishes the crashed apply first: no `External` record for it.
    #[test]
    fn a_rollback_after_a_crashed_apply_finishes_it_first() {
        let (dir, store) = fresh();
        let root = dir.path();
        let start = store.snapshot("start").unwrap();
        let other = Store::open(root).unwrap();
        ssot_core::version::set_fault_hook(Some(hook));
        PANIC_AT.with(|p| p.set(Some("audit:after-sync")));
        // `other` is moved in and dropped by the unwinding, as a killed process's
        // files are closed (its audit log `flock` goes with them).
        let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            other.set_status("build", Status::Done)
        }));
        PANIC_AT.with(|p| p.set(None));
        assert!(crashed.is_err(), "the crash point was not reached");
        assert_eq!(fs::read_to_string(root.join("todo.md")).unwrap(), TODO);
        let commit = store.rollback(start.id().as_str()).unwrap();
        assert!(
            commit
                .records
                .iter()
                .all(|r| r.operation != ssot_core::store::Operation::External),
            "{:#?}",
            commit.records
        );
        assert_eq!(fs::read_to_string(root.join("todo.md")).unwrap(), TODO);
        assert_log_explains(root, &store);
    }

    #[test]
    fn a_file_saved_outside_while_a_commit_runs_is_left_as_saved() {
        let (dir, store) = fresh();
        let root = dir.path();
        let _ = store.set_status("ship", Status::InProgress).unwrap();
        ssot_core::version::set_fault_hook(Some(hook));
        EDIT.with(|e| *e.borrow_mut() = Some(root.join("todo.md")));
        let err = store.set_status("build", Status::Done).unwrap_err();
        EDIT.with(|e| *e.borrow_mut() = None);
        match &err {
            Error::Unapplied { revision, path, .. } => {
                assert_eq!((*revision, path.as_str()), (2, "todo.md"));
            }
            other => panic!("{other}"),
        }
        let text = fs::read_to_string(root.join("todo.md")).unwrap();
        assert!(
            text.contains("Outside") && text.contains("- [ ] Build"),
            "{text}"
        );
        assert_eq!(store.drift().unwrap().modified, ["todo.md"]);
        let recorded = store.record_drift().unwrap().unwrap();
        assert_eq!(recorded.revision, 3);
        assert_log_explains(root, &store);
    }
}

/// An undo made outside the store (the file put back to its text before the last
/// change) is an outside change: not redone from the log, recorded as drift.
#[test]
fn a_change_undone_outside_the_store_is_drift_not_redone() {
    let (dir, store) = fresh();
    let root = dir.path();
    let _ = store.set_status("build", Status::Done).unwrap();
    assert_ne!(fs::read_to_string(root.join("todo.md")).unwrap(), TODO);
    fs::write(root.join("todo.md"), TODO).unwrap();
    drop(store);
    let store = Store::open(root).unwrap();
    assert_eq!(fs::read_to_string(root.join("todo.md")).unwrap(), TODO);
    assert_eq!(store.drift().unwrap().modified, ["todo.md"]);
    let _ = store
        .patch("config/app.yaml", &serde_json::json!({"replicas": 2}))
        .unwrap();
    assert_eq!(fs::read_to_string(root.join("todo.md")).unwrap(), TODO);
    let _ = store.set_status("ship", Status::InProgress).unwrap();
    assert_eq!(
        fs::read_to_string(root.join("todo.md")).unwrap(),
        TODO.replace("- [ ] Ship", "- [/] Ship")
    );
    let externals = store
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|r| r.revision > 1 && r.operation == ssot_core::store::Operation::External)
        .count();
    assert_eq!(externals, 1);
    assert_log_explains(root, &store);
}

/// `Store::checkpoint` makes everything durable and moves the checkpoint; a store
/// keeps working across checkpoints taken by the commits themselves.
#[test]
fn checkpoints_are_taken_by_commits_and_on_request() {
    let (dir, store) = fresh();
    let root = dir.path();
    let first = store.checkpoint().unwrap();
    assert_eq!((first.revision, first.synced), (0, 0));
    let mut to = Status::InProgress;
    for _ in 0..(ssot_core::store::CHECKPOINT_REVISIONS + 5) {
        let _ = store.set_status("ship", to).unwrap();
        to = if to == Status::InProgress {
            Status::Pending
        } else {
            Status::InProgress
        };
    }
    let text: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join(".ssot/checkpoint")).unwrap()).unwrap();
    assert!(text["revision"].as_u64().unwrap() >= ssot_core::store::CHECKPOINT_REVISIONS);
    let done = store.checkpoint().unwrap();
    assert_eq!(done.revision, store.revision().unwrap());
    assert_eq!(
        done.synced, 1,
        "only todo.md changed since the last checkpoint"
    );
    assert!(done.repaired.is_empty());
    assert_log_explains(root, &store);
    let again = store.checkpoint().unwrap();
    assert_eq!((again.revision, again.synced), (done.revision, 0));
}

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "on-request");
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// Every file as set up, the store valid, the log explaining everything.
fn assert_untouched(root: &Path, store: &Store, revision: u64) {
    for (path, text) in FILES {
        assert_eq!(fs::read_to_string(root.join(path)).unwrap(), text, "{path}");
    }
    assert_eq!(store.revision().unwrap(), revision);
    assert!(store.validate().unwrap().problems().is_empty());
    assert_log_explains(root, store);
}

#[test]
fn an_audit_log_that_cannot_be_written_refuses_the_change_and_changes_no_file() {
    let (dir, store) = fresh();
    let root = dir.path();
    // A directory where the log should be: no permission bit can be bypassed, so this
    // fails for root too.
    fs::create_dir_all(root.join(".ssot/audit.log")).unwrap();
    let err = store.set_status("build", Status::Done).unwrap_err();
    assert!(err.to_string().contains("audit"), "{err}");
    let err = transaction(&store).unwrap_err();
    assert!(err.to_string().contains("audit"), "{err}");
    for (path, text) in FILES {
        assert_eq!(fs::read_to_string(root.join(path)).unwrap(), text, "{path}");
    }
    fs::remove_dir(root.join(".ssot/audit.log")).unwrap();
    let store = Store::open(root).unwrap();
    assert_untouched(root, &store, 0);
    // And works again.
    let _ = transaction(&store).unwrap();
    assert_log_explains(root, &store);
}

/// The tree before the transaction and after it (from an uninterrupted run).
fn old_and_new(snapshot: &str) -> (Tree, Tree) {
    let reference = tempfile::tempdir().unwrap();
    setup(reference.path(), snapshot);
    let old = tree(reference.path());
    let store = Store::open(reference.path()).unwrap();
    let _ = transaction(&store).unwrap();
    (old, tree(reference.path()))
}

#[cfg(unix)]
#[test]
fn a_transaction_failing_on_a_read_only_directory_is_all_or_nothing() {
    use std::os::unix::fs::PermissionsExt as _;
    let (old, new) = old_and_new("on-request");
    let (dir, store) = fresh();
    let root = dir.path();
    let config = root.join("config");
    fs::set_permissions(&config, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = config.join("probe");
    let privileged = fs::write(&probe, "x").is_ok();
    let _ = fs::remove_file(&probe);
    if privileged {
        eprintln!(
            "skipped: running with CAP_DAC_OVERRIDE (root), a read-only directory is writable; \
             an_audit_log_that_cannot_be_written_refuses_the_change_and_changes_no_file covers a failing write"
        );
        fs::set_permissions(&config, fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let err = transaction(&store).unwrap_err();
    assert!(err.to_string().contains("config"), "{err}");
    let now = tree(root);
    assert!(now == old, "a refused transaction changed files: {now:#?}");
    fs::set_permissions(&config, fs::Permissions::from_mode(0o755)).unwrap();
    // Reopening finishes or undoes whatever the failed write left.
    let store = Store::open(root).unwrap();
    let now = tree(root);
    assert!(now == old || now == new, "a mix after reopening: {now:#?}");
    let _ = store.record_drift().unwrap();
    assert_log_explains(root, &store);
    assert!(store.validate().unwrap().problems().is_empty());
    let _ = store.set_status("ship", Status::InProgress).unwrap();
    assert_log_explains(root, &store);
}

#[test]
fn invalid_changes_are_refused_before_anything_is_written() {
    let (dir, store) = fresh();
    let root = dir.path();
    // A move the state machine forbids: done -> in_progress (via a transaction whose
    // first change is fine).
    let _ = store.set_status("ship", Status::Cancelled).unwrap();
    let after_first = fs::read_to_string(root.join("todo.md")).unwrap();
    let err = store.set_status("ship", Status::InProgress).unwrap_err();
    assert!(err.to_string().contains("ship"), "{err}");
    // A duplicate id across files.
    let err = store
        .add_task(
            "ci.tasks.yaml",
            Task::new(TaskId::new("build").unwrap(), "Again"),
            Position::End,
        )
        .unwrap_err();
    assert!(err.to_string().contains("build"), "{err}");
    // A dependency cycle: build -> test -> build.
    let err = store
        .update_task("build", |t| {
            t.dependencies.push(TaskId::new("test").unwrap())
        })
        .unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
    // A patch that breaks the document's schema.
    let err = store
        .patch("config/app.yaml", &serde_json::json!({"replicas": 0}))
        .unwrap_err();
    assert!(err.to_string().contains("config/app.yaml"), "{err}");
    // A transaction with one bad change among good ones writes nothing.
    let err = store
        .transaction()
        .set_status("build", Status::Done)
        .patch("config/app.yaml", serde_json::json!({"name": null}))
        .commit()
        .unwrap_err();
    assert!(err.to_string().contains("config/app.yaml"), "{err}");
    // An unknown task.
    let err = store.set_status("nowhere", Status::Done).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");

    assert_eq!(
        fs::read_to_string(root.join("todo.md")).unwrap(),
        after_first
    );
    assert_eq!(fs::read_to_string(root.join("ci.tasks.yaml")).unwrap(), CI);
    assert_eq!(
        fs::read_to_string(root.join("config/app.yaml")).unwrap(),
        APP
    );
    assert_eq!(store.revision().unwrap(), 1);
    assert!(store.validate().unwrap().problems().is_empty());
    assert_log_explains(root, &store);
}
