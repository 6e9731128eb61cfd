//! `Executor::run_store`: a store's plan runs and each outcome is written back to
//! the task files in place (`[/]` while running, `[x]` when done, back to `[ ]` on
//! failure), audited, every other byte unchanged.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_common;

use std::fs;
use std::sync::Mutex;
use std::sync::mpsc::channel;

use ssot_core::run::{CancelToken, EventKind, Executor, JobError, RunContext, TaskOutcome};
use ssot_core::store::{Operation, Store};
use ssot_core::{Task, TaskId};
use store_common::write;

const MANIFEST: &str = "version: 1\nfiles:\n  \"**/*.md\": tasks\n  \"**/*.tasks.yaml\": tasks\n";

const TODO: &str = "# Plan

Prose that is not a task.

- [ ] Fetch the sources 🆔 fetch
- [ ] Compile 🆔 compile ⛔ fetch
- [ ] Flaky step 🆔 flaky
- [x] Old work 🆔 old

Trailing prose.
";

const CI: &str = "# CI tasks; `test` waits on `compile` in todo.md.
tasks:
  - id: test
    title: Run the tests
    status: pending
    dependencies:
      - compile
  - id: deploy
    title: Deploy
    status: pending
    dependencies:
      - flaky
";

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ssot.yaml", MANIFEST);
    write(dir.path(), "todo.md", TODO);
    write(dir.path(), "ci.tasks.yaml", CI);
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn id(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

#[test]
fn outcomes_are_written_back_in_place_and_audited() {
    let (dir, store) = store();
    let root = dir.path().to_owned();
    let seen_running = Mutex::new(Vec::new());
    let job = |task: &Task, _ctx: &RunContext| -> Result<(), JobError> {
        let todo = fs::read_to_string(root.join("todo.md")).unwrap();
        let ci = fs::read_to_string(root.join("ci.tasks.yaml")).unwrap();
        let mine = match task.id.as_str() {
            "compile" => todo.contains("- [/] Compile 🆔 compile ⛔ fetch\n"),
            "fetch" => todo.contains("- [/] Fetch the sources 🆔 fetch\n"),
            "flaky" => todo.contains("- [/] Flaky step 🆔 flaky\n"),
            "test" => {
                ci.contains("  - id: test\n    title: Run the tests\n    status: in_progress\n")
            }
            other => panic!("task `{other}` should not run"),
        };
        seen_running
            .lock()
            .unwrap()
            .push((task.id.to_string(), mine));
        if task.id.as_str() == "flaky" {
            return Err(JobError::new("flaky failed"));
        }
        Ok(())
    };
    let before = store.revision().unwrap();
    let (tx, rx) = channel();
    let run = Executor::builder()
        .workers(2)
        .build()
        .run_store(&store, &job, &CancelToken::new(), Some(&tx))
        .unwrap();
    drop(tx);

    assert!(run.write_back.is_empty(), "{:?}", run.write_back);
    assert!(!run.succeeded());
    let r = &run.record;
    assert_eq!(r.tasks[&id("fetch")].outcome, TaskOutcome::Succeeded);
    assert_eq!(r.tasks[&id("compile")].outcome, TaskOutcome::Succeeded);
    assert_eq!(r.tasks[&id("test")].outcome, TaskOutcome::Succeeded);
    assert_eq!(r.tasks[&id("flaky")].outcome, TaskOutcome::Failed);
    assert_eq!(
        r.tasks[&id("deploy")].outcome,
        TaskOutcome::Skipped {
            because: id("flaky")
        }
    );
    assert!(!r.tasks.contains_key(&id("old")), "done tasks do not run");

    // Every job saw its own task in progress in its file.
    let mut seen = seen_running.into_inner().unwrap();
    seen.sort();
    let expected: Vec<(String, bool)> = ["compile", "fetch", "flaky", "test"]
        .iter()
        .map(|s| ((*s).to_owned(), true))
        .collect();
    assert_eq!(seen, expected);

    // The events were forwarded to the caller.
    let succeeded = rx
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Succeeded { .. }))
        .count();
    assert_eq!(succeeded, 3);

    // Done tasks show `[x]`, the failed one is back to `[ ]`; every other byte is
    // as it was.
    let todo = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    let want_todo = TODO
        .replace("- [ ] Fetch", "- [x] Fetch")
        .replace("- [ ] Compile", "- [x] Compile");
    assert_eq!(todo, want_todo);
    let ci = fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap();
    let want_ci = CI.replacen("status: pending", "status: done", 1);
    assert_eq!(ci, want_ci);

    // One audit record per status change (two per started task), revisions
    // consecutive after the store's revision before the run. (The first commit
    // also records the files found as they were, as `External`.)
    let log = store.audit_log().unwrap();
    let changes: Vec<(u64, String, String)> = log
        .iter()
        .filter_map(|a| match &a.operation {
            Operation::SetStatus { id, status } => Some((a.revision, id.clone(), status.clone())),
            _ => None,
        })
        .collect();
    let revisions: Vec<u64> = changes.iter().map(|c| c.0).collect();
    let want: Vec<u64> = (before + 1..=before + 8).collect();
    assert_eq!(revisions, want);
    assert_eq!(store.revision().unwrap(), before + 8);
    for task in ["fetch", "compile", "test", "flaky"] {
        let statuses: Vec<&str> = changes
            .iter()
            .filter(|c| c.1 == task)
            .map(|c| c.2.as_str())
            .collect();
        let last = if task == "flaky" { "pending" } else { "done" };
        assert_eq!(statuses.len(), 2, "{task}: {statuses:?}");
        assert_eq!(statuses[1], last, "{task}: {statuses:?}");
    }
    assert!(changes.iter().all(|c| c.1 != "deploy" && c.1 != "old"));
    assert!(store.verify_audit().is_ok());
}

#[test]
fn a_store_with_nothing_to_do_writes_nothing() {
    let (dir, store) = store();
    let done = TODO.replace("- [ ]", "- [x]");
    write(dir.path(), "todo.md", &done);
    let ci = CI.replace("status: pending", "status: cancelled");
    write(dir.path(), "ci.tasks.yaml", &ci);
    let before = store.revision().unwrap();
    let job = |_: &Task, _: &RunContext| -> Result<(), JobError> { panic!("nothing to run") };
    let run = Executor::builder()
        .build()
        .run_store(&store, &job, &CancelToken::new(), None)
        .unwrap();
    assert!(run.succeeded());
    assert!(run.record.tasks.is_empty());
    assert_eq!(store.revision().unwrap(), before);
    assert_eq!(
        fs::read_to_string(dir.path().join("todo.md")).unwrap(),
        done
    );
}

#[test]
fn tasks_not_selected_and_their_dependents_are_left_out_untouched() {
    let (dir, store) = store();
    let job = |_: &Task, _: &RunContext| -> Result<(), JobError> { Ok(()) };
    let run = Executor::builder()
        .workers(1)
        .build()
        .run_store_where(
            &store,
            |t| t.id.as_str() != "compile",
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert!(run.succeeded());
    assert_eq!(run.left_out, [id("compile"), id("test")]);
    let ran: Vec<&str> = run.record.tasks.keys().map(TaskId::as_str).collect();
    assert_eq!(ran, ["deploy", "fetch", "flaky"]);
    let todo = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    assert_eq!(
        todo,
        TODO.replace("- [ ] Fetch", "- [x] Fetch")
            .replace("- [ ] Flaky", "- [x] Flaky")
    );
    let ci = fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap();
    assert_eq!(
        ci,
        CI.replace(
            "status: pending\n    dependencies:\n      - flaky",
            "status: done\n    dependencies:\n      - flaky"
        )
    );
}

#[test]
fn a_status_that_cannot_be_written_back_is_returned_not_lost() {
    let (dir, store) = store();
    let root = dir.path().to_owned();
    // While `flaky` runs, someone deletes its line: its `done` cannot be written.
    let job = |task: &Task, _: &RunContext| -> Result<(), JobError> {
        if task.id.as_str() == "flaky" {
            let todo = fs::read_to_string(root.join("todo.md")).unwrap();
            let without: String = todo
                .lines()
                .filter(|l| !l.contains("🆔 flaky"))
                .map(|l| format!("{l}\n"))
                .collect();
            fs::write(root.join("todo.md"), without).unwrap();
        }
        Ok(())
    };
    let run = Executor::builder()
        .workers(1)
        .build()
        .run_store_where(
            &store,
            |t| t.id.as_str() == "flaky",
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert_eq!(
        run.record.tasks[&id("flaky")].outcome,
        TaskOutcome::Succeeded
    );
    assert!(!run.succeeded(), "a lost write-back is not a success");
    assert_eq!(run.write_back.len(), 1, "{:?}", run.write_back);
    let w = &run.write_back[0];
    assert_eq!(
        (w.task.as_str(), w.status),
        ("flaky", ssot_core::Status::Done)
    );
    assert!(w.error.to_string().contains("flaky"), "{}", w.error);
}
