//! The audit log over its life: retention (pruning with `.ssot/audit.anchor`, seen
//! by other handles and processes, a crash between the anchor and the log, an edited
//! anchor), a rollback killed at every crash point (its records come with it, once),
//! and the records of a write recovered by a program that opened `.ssot/versions`
//! without the store's hook (kept by `ssot-version`, appended at the next open).
//!
//! Old records are made without waiting: [`Store::prune_audit_as_of`] takes the time
//! to prune as of. Crashes: the child re-executes this test binary (the ignored test
//! `child`), stops at crash point *k* of the one fault hook
//! (`ssot_core::version::set_fault_hook`), reports it on stdout and waits to be
//! killed with SIGKILL. No timing is involved.
#![cfg(all(unix, feature = "store"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::fs;
use std::path::Path;

use ssot_core::Error;
use ssot_core::Status;
use ssot_core::store::{Operation, Store};

const TODO: &str = "- [ ] A 🆔 a\n- [ ] B 🆔 b\n- [ ] C 🆔 c\n- [ ] D 🆔 d\n";
const CI: &str = "- id: lint\n  title: Lint\n";
const MANIFEST: &str = "version: 1\nsettings:\n  audit_retention: 90d\n";

fn setup(root: &Path) {
    setup_with(root, MANIFEST);
}

fn setup_with(root: &Path, manifest: &str) {
    fs::write(root.join("ssot.yaml"), manifest).unwrap();
    fs::write(root.join("todo.md"), TODO).unwrap();
    fs::write(root.join("ci.tasks.yaml"), CI).unwrap();
}

/// A store with three revisions: the first also records the baseline of every file.
fn store_with_history(root: &Path) -> Store {
    store_with_history_of(root, MANIFEST)
}

/// [`store_with_history`] with another manifest.
fn store_with_history_of(root: &Path, manifest: &str) -> Store {
    setup_with(root, manifest);
    let store = Store::open(root).unwrap();
    for id in ["a", "b", "lint"] {
        let _ = store.set_status(id, Status::Done).unwrap();
    }
    assert_eq!(store.revision().unwrap(), 3);
    store
}

/// 91 days from now: every record so far is older than the 90-day retention.
fn later() -> jiff::Timestamp {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 91))
        .unwrap()
}

#[test]
fn a_prune_keeps_the_last_revision_a_verifying_log_and_no_drift() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_history(dir.path());
    let all = store.audit_log().unwrap();
    // Nothing is old yet.
    let p = store.prune_audit().unwrap();
    assert_eq!((p.removed, p.pruned), (0, None));

    let p = store.prune_audit_as_of(later()).unwrap();
    let last_revision: Vec<_> = all.iter().filter(|r| r.revision == 3).cloned().collect();
    assert_eq!(p.removed as usize, all.len() - last_revision.len());
    let pruned = p.pruned.unwrap();
    assert_eq!((pruned.revision, pruned.records), (2, p.removed));
    assert_eq!(store.audit_log().unwrap(), last_revision);
    assert_eq!(store.revision().unwrap(), 3);
    let check = store.verify_audit().unwrap();
    assert!(check.is_ok(), "{check:?}");
    assert_eq!(check.pruned.as_ref().unwrap().revision, 2);
    // Files last changed before the cut (ci.tasks.yaml, and todo.md's baseline) are
    // not drift: the anchor keeps their last hash.
    assert!(store.drift().unwrap().is_empty());
    let health = store.health().unwrap();
    assert!(health.is_healthy(), "{health}");
    assert!(
        health
            .to_string()
            .contains("records up to revision 2 pruned on"),
        "{health}"
    );
    // The store goes on, and a reopened store agrees.
    let c = store.set_status("c", Status::Done).unwrap();
    assert_eq!((c.revision, c.records.len()), (4, 1));
    let reopened = Store::open(dir.path()).unwrap();
    assert!(reopened.verify_audit().unwrap().is_ok());
    assert!(reopened.drift().unwrap().is_empty());
    assert_eq!(reopened.audit_log().unwrap().len(), last_revision.len() + 1);
}

#[test]
fn changes_since_a_pruned_revision_is_an_error_that_says_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_history(dir.path());
    let _ = store.prune_audit_as_of(later()).unwrap();
    assert_eq!(store.changes_since(2).unwrap().len(), 1);
    assert!(store.changes_since(3).unwrap().is_empty());
    let err = store.changes_since(0).unwrap_err();
    match &err {
        Error::AuditPruned { requested, oldest } => assert_eq!((*requested, *oldest), (0, 3)),
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("pruned") && text.contains("oldest kept is 3"),
        "{text}"
    );
}

#[test]
fn forever_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_history(dir.path());
    fs::write(dir.path().join("ssot.yaml"), "version: 1\n").unwrap();
    let forever = Store::open(dir.path()).unwrap();
    let p = forever.prune_audit_as_of(later()).unwrap();
    assert_eq!((p.removed, p.pruned), (0, None));
    assert_eq!(forever.audit_log().unwrap(), store.audit_log().unwrap());
}

#[test]
fn a_second_handle_reading_by_offset_sees_the_pruned_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_history(dir.path());
    let other = Store::open(dir.path()).unwrap();
    assert_eq!(other.revision().unwrap(), 3);
    assert!(other.drift().unwrap().is_empty());
    let _ = store.prune_audit_as_of(later()).unwrap();
    // The other handle read the old log by offset; it re-reads the new one.
    assert_eq!(other.revision().unwrap(), 3);
    assert!(other.drift().unwrap().is_empty());
    let c = other.set_status("c", Status::Done).unwrap();
    assert_eq!(c.revision, 4);
    assert!(c.records.iter().all(|r| r.operation != Operation::External));
    assert_eq!(store.revision().unwrap(), 4);
    assert!(store.verify_audit().unwrap().is_ok());
}

#[test]
fn an_edited_anchor_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_history(dir.path());
    let _ = store.prune_audit_as_of(later()).unwrap();
    let anchor = dir.path().join(".ssot/audit.anchor");
    let text = fs::read_to_string(&anchor).unwrap();
    // Claim a file's last hash was something else (to hide an outside edit).
    let edited = text.replacen(
        "\"last\":{\"ci.tasks.yaml\":\"",
        "\"last\":{\"ci.tasks.yaml\":\"0",
        1,
    );
    assert_ne!(edited, text);
    fs::write(&anchor, edited).unwrap();
    let fresh = Store::open(dir.path()).unwrap();
    let check = fresh.verify_audit().unwrap();
    let bad = check.first_bad.expect("an edited anchor is damage");
    assert!(bad.reason.contains("audit.anchor"), "{bad}");
    assert!(matches!(fresh.revision(), Err(Error::AuditDamaged { .. })));
    assert!(!fresh.health().unwrap().is_healthy());
}

#[test]
fn a_missing_head_after_the_first_revision_is_a_note_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let store = Store::open(dir.path()).unwrap();
    let _ = store.set_status("a", Status::Done).unwrap();
    fs::remove_file(dir.path().join(".ssot/audit.head")).unwrap();
    let check = store.verify_audit().unwrap();
    assert!(check.is_ok(), "{check:?}");
    assert_eq!(check.head, ssot_core::store::AuditHead::Missing);
    let health = store.health().unwrap();
    assert!(health.is_healthy(), "{health}");
    assert!(health.audit.head.is_some());
    // The next change writes it again.
    let _ = store.set_status("b", Status::Done).unwrap();
    assert_eq!(
        store.verify_audit().unwrap().head,
        ssot_core::store::AuditHead::Current
    );
}

#[cfg(feature = "fault-injection")]
mod killed {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicU64, Ordering};

    const ROOT_ENV: &str = "SSOT_STORE_AUDIT_ROOT";
    const STEP_ENV: &str = "SSOT_STORE_AUDIT_STEP";
    const ACTION_ENV: &str = "SSOT_STORE_AUDIT_ACTION";

    static STEP: AtomicU64 = AtomicU64::new(0);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    /// With a name, only that point counts (step 1 = its first passage).
    static ONLY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

    fn hook(name: &'static str) {
        if ONLY
            .get()
            .and_then(Option::as_deref)
            .is_some_and(|only| only != name)
        {
            return;
        }
        let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
        if n == STEP.load(Ordering::SeqCst) {
            let mut out = std::io::stdout().lock();
            writeln!(out, "CRASH {n} {name}").unwrap();
            out.flush().unwrap();
            let _ = std::io::stdin().read(&mut [0u8; 1]);
            std::process::abort();
        }
    }

    /// The child: opens the store, installs the hook, runs the action.
    #[test]
    #[ignore = "the child process of the tests of `killed`"]
    fn child() {
        let Ok(root) = std::env::var(ROOT_ENV) else {
            return;
        };
        let action = std::env::var(ACTION_ENV).unwrap();
        let (action, only) = match action.split_once('@') {
            Some((a, point)) => (a.to_owned(), Some(point.to_owned())),
            None => (action, None),
        };
        ONLY.set(only).unwrap();
        STEP.store(
            std::env::var(STEP_ENV).unwrap().parse().unwrap(),
            Ordering::SeqCst,
        );
        let store = Store::open(&root).unwrap();
        ssot_core::version::set_fault_hook(Some(hook));
        let report = match action.as_str() {
            "prune" => format!("{}", store.prune_audit_as_of(later()).unwrap().removed),
            "rollback" => {
                let target =
                    fs::read_to_string(Path::new(&root).join(".ssot/target-version")).unwrap();
                format!("{}", store.rollback(target.trim()).unwrap().revision)
            }
            "change" => format!("{}", store.set_status("c", Status::Done).unwrap().revision),
            "report" => {
                let check = store.verify_audit().unwrap();
                format!(
                    "{} {} {} {}",
                    store.revision().unwrap(),
                    store.audit_log().unwrap().len(),
                    check.is_ok(),
                    store.drift().unwrap().is_empty()
                )
            }
            other => panic!("unknown action {other}"),
        };
        ssot_core::version::set_fault_hook(None);
        let mut out = std::io::stdout().lock();
        writeln!(out, "DONE {} {report}", COUNT.load(Ordering::SeqCst)).unwrap();
        out.flush().unwrap();
    }

    enum Outcome {
        Crashed(String),
        Done(String),
    }

    fn run_child(root: &Path, action: &str, step: u64) -> Outcome {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "killed::child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROOT_ENV, root)
            .env(STEP_ENV, step.to_string())
            .env(ACTION_ENV, action)
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
            if let Some((_, rest)) = line.split_once("DONE ") {
                assert!(child.wait().unwrap().success());
                return Outcome::Done(rest.to_owned());
            }
        }
        let status = child.wait();
        let stderr = fs::read_to_string(log.path()).unwrap_or_default();
        panic!("child ended without reporting ({status:?}):\n{seen}\n{stderr}");
    }

    #[test]
    fn a_second_process_sees_the_pruned_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_history(dir.path());
        let kept = store
            .audit_log()
            .unwrap()
            .iter()
            .filter(|r| r.revision == 3)
            .count();
        let Outcome::Done(report) = run_child(dir.path(), "prune", 0) else {
            panic!("no crash point was asked for");
        };
        assert!(
            !report.ends_with(" 0"),
            "the child pruned nothing: {report}"
        );
        // This handle read the log before the other process replaced it.
        assert_eq!(store.audit_log().unwrap().len(), kept);
        assert!(store.drift().unwrap().is_empty());
        let _ = store.set_status("c", Status::Done).unwrap();
        // And another process reads what this one appended after the prune.
        let Outcome::Done(report) = run_child(dir.path(), "report", 0) else {
            panic!("no crash point was asked for");
        };
        assert!(
            report.ends_with(&format!("4 {} true true", kept + 1)),
            "{report}"
        );
    }

    #[test]
    fn a_crash_between_the_anchor_and_the_shortened_log_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let store = store_with_history(root);
        let all = store.audit_log().unwrap();
        let before = fs::read(root.join(".ssot/audit.log")).unwrap();
        let outcome = run_child(root, "prune@audit:anchor-written", 1);
        assert!(matches!(outcome, Outcome::Crashed(_)));
        assert!(root.join(".ssot/audit.anchor").is_file());
        assert_eq!(
            fs::read(root.join(".ssot/audit.log")).unwrap(),
            before,
            "the log was not cut yet"
        );
        for handle in [&store, &Store::open(root).unwrap()] {
            let check = handle.verify_audit().unwrap();
            assert!(check.is_ok(), "{check:?}");
            assert_eq!(check.pruned.as_ref().unwrap().revision, 2);
            let kept: Vec<_> = all.iter().filter(|r| r.revision == 3).cloned().collect();
            assert_eq!(handle.audit_log().unwrap(), kept);
            assert!(handle.drift().unwrap().is_empty());
            assert!(matches!(
                handle.changes_since(1),
                Err(Error::AuditPruned { .. })
            ));
        }
        // A change goes on, and the next prune finishes the cut.
        let _ = store.set_status("c", Status::Done).unwrap();
        let p = store.prune_audit_as_of(later()).unwrap();
        assert_eq!(p.pruned.unwrap().revision, 3);
        assert!(fs::read(root.join(".ssot/audit.log")).unwrap().len() < before.len());
        assert!(store.verify_audit().unwrap().is_ok());
        assert!(store.drift().unwrap().is_empty());
    }

    /// Sets up a store whose `todo.md` and `ci.tasks.yaml` changed since version
    /// `.ssot/target-version` (written there for the child), with `notes.md` added.
    fn rollback_setup(root: &Path) -> (Store, String) {
        setup(root);
        let store = Store::open(root).unwrap();
        let v1 = store.snapshot("start").unwrap();
        // In `.ssot/`, which versions do not track (the rollback leaves it alone).
        fs::write(root.join(".ssot/target-version"), v1.id().as_str()).unwrap();
        let _ = store.set_status("a", Status::Done).unwrap();
        let _ = store.set_status("lint", Status::Done).unwrap();
        let _ = store
            .add_task(
                "notes.md",
                ssot_core::Task::new(ssot_core::TaskId::new("n").unwrap(), "Note"),
                ssot_core::format::edit::Position::End,
            )
            .unwrap();
        (store, v1.id().as_str().to_owned())
    }

    fn files(root: &Path) -> Vec<Option<String>> {
        ["todo.md", "ci.tasks.yaml", "notes.md"]
            .iter()
            .map(|p| fs::read_to_string(root.join(p)).ok())
            .collect()
    }

    #[test]
    fn a_rollback_killed_at_every_crash_point_comes_with_its_records_once() {
        let old_files = {
            let dir = tempfile::tempdir().unwrap();
            let (_store, _) = rollback_setup(dir.path());
            files(dir.path())
        };
        let target = vec![Some(TODO.to_owned()), Some(CI.to_owned()), None];
        let mut crashed = Vec::new();
        for step in 1.. {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            let (store, v1) = rollback_setup(root);
            let revision = store.revision().unwrap();
            drop(store);
            let outcome = run_child(root, "rollback", step);
            let point = match &outcome {
                Outcome::Crashed(p) => p.clone(),
                Outcome::Done(_) => "done".to_owned(),
            };
            // Reopening finishes the rollback (or finds it never committed).
            let store = Store::open(root).unwrap();
            let now = files(root);
            assert!(
                now == old_files || now == target,
                "crash at {point}: a mix: {now:?}"
            );
            let log = store.audit_log().unwrap();
            let rollback: Vec<_> = log
                .iter()
                .filter(
                    |r| matches!(&r.operation, Operation::Rollback { version } if *version == v1),
                )
                .collect();
            if now == target {
                assert_eq!(store.revision().unwrap(), revision + 1, "crash at {point}");
                let paths: Vec<&str> = rollback.iter().map(|r| r.path.as_str()).collect();
                assert_eq!(
                    paths,
                    ["ci.tasks.yaml", "notes.md", "todo.md"],
                    "crash at {point}: records once each"
                );
            } else {
                assert_eq!(store.revision().unwrap(), revision, "crash at {point}");
                assert!(rollback.is_empty(), "crash at {point}");
            }
            // No External record, and nothing left to explain.
            assert!(
                log.iter()
                    .filter(|r| r.revision > 1)
                    .all(|r| r.operation != Operation::External),
                "crash at {point}"
            );
            assert!(store.drift().unwrap().is_empty(), "crash at {point}");
            assert!(store.verify_audit().unwrap().is_ok(), "crash at {point}");
            match outcome {
                Outcome::Crashed(p) => crashed.push(p),
                Outcome::Done(_) => {
                    assert_eq!(now, target);
                    break;
                }
            }
        }
        eprintln!("rollback killed at {} points: {crashed:?}", crashed.len());
        assert!(
            crashed.iter().any(|p| p.contains("journal: committed")),
            "the commit point was crossed: {crashed:?}"
        );
    }

    #[test]
    fn records_of_a_write_recovered_without_the_hook_are_appended_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A change goes through the version store's journal (and its note) only
        // when it records a version; by default it is a write-ahead commit.
        let store = store_with_history_of(
            root,
            "version: 1\nsettings:\n  audit_retention: 90d\n  snapshot: every-change\n",
        );
        let revision = store.revision().unwrap();
        drop(store);
        // Killed after the files are in place, before the records are appended.
        let outcome = run_child(root, "change@commit:files-written", 1);
        assert!(matches!(outcome, Outcome::Crashed(_)));
        // A program opens the version store without the store's hook: it finishes the
        // write, and keeps the note instead of dropping it.
        let raw = ssot_core::version::VersionStore::builder(root)
            .exclude(".ssot")
            .exclude(".git")
            .open()
            .unwrap();
        drop(raw);
        assert!(root.join(".ssot/versions/notes/1").is_file());
        assert!(
            fs::read_to_string(root.join("todo.md"))
                .unwrap()
                .contains("- [x] C")
        );
        // The store, opened, appends the records from the kept note.
        let store = Store::open(root).unwrap();
        assert!(!root.join(".ssot/versions/notes").exists());
        let log = store.audit_log().unwrap();
        let last: Vec<_> = log.iter().filter(|r| r.revision == revision + 1).collect();
        assert_eq!(last.len(), 1);
        assert!(matches!(&last[0].operation, Operation::SetStatus { id, .. } if id == "c"));
        assert!(store.drift().unwrap().is_empty());
        assert!(store.verify_audit().unwrap().is_ok());
    }
}
