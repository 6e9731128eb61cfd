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
    assert_one_lost_done(&run, "flaky");
}

/// A store of tasks whose status is written in every unusual form: no `status` key
/// (YAML and JSON), `todo` in quotes, an empty CSV cell, an unusual Markdown
/// checkbox.
const FORMS_MANIFEST: &str =
    "version: 1\nfiles:\n  \"**/*.md\": tasks\n  \"**/*.tasks.{yaml,json,csv}\": tasks\n";
const FORMS_YAML: &str = "# no status keys\ntasks:\n  - id: y1   # none\n    title: Y one\n    command: make\n  - id: y2\n    title: Y two\n    status: \"todo\"\n";
const FORMS_JSON: &str = "{\"tasks\": [\n  {\"id\": \"j1\", \"title\": \"J one\"},\n  {\"id\": \"j2\", \"title\": \"J two\", \"status\": \"Pending\"}\n]}\n";
const FORMS_CSV: &str = "id,title,status,owner\nc1,C one,,kim\nc2,C two,todo,\n";
const FORMS_MD: &str = "# Work\n\n- [?] Maybe later 🆔 m1\n- [ ] Plain 🆔 m2\n";

fn forms_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ssot.yaml", FORMS_MANIFEST);
    write(dir.path(), "a.tasks.yaml", FORMS_YAML);
    write(dir.path(), "b.tasks.json", FORMS_JSON);
    write(dir.path(), "c.tasks.csv", FORMS_CSV);
    write(dir.path(), "todo.md", FORMS_MD);
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn a_failed_task_comes_back_byte_identical_whatever_form_its_status_had() {
    let (dir, store) = forms_store();
    let root = dir.path().to_owned();
    let seen = Mutex::new(Vec::new());
    let job = |task: &Task, _: &RunContext| -> Result<(), JobError> {
        // While it runs, each task is in progress in its file.
        let all: String = ["a.tasks.yaml", "b.tasks.json", "c.tasks.csv", "todo.md"]
            .iter()
            .map(|f| fs::read_to_string(root.join(f)).unwrap())
            .collect();
        seen.lock().unwrap().push(all);
        Err(JobError::new(format!("{} failed", task.id)))
    };
    let before = store.revision().unwrap();
    let run = Executor::builder()
        .workers(1)
        .build()
        .run_store(&store, &job, &CancelToken::new(), None)
        .unwrap();
    assert!(run.write_back.is_empty(), "{:?}", run.write_back);
    assert_eq!(run.record.tasks.len(), 8);
    assert!(
        run.record
            .tasks
            .values()
            .all(|t| t.outcome == TaskOutcome::Failed)
    );
    // Each was written in progress (and the job saw it so), then put back.
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 8);
    assert!(seen.iter().any(|s| s.contains("- [/] Maybe later")));
    assert!(seen.iter().any(|s| s.contains("c1,C one,in_progress,kim")));
    assert!(seen.iter().any(|s| s.contains("status: in_progress")));
    assert_eq!(store.revision().unwrap(), before + 16);
    for (file, text) in [
        ("a.tasks.yaml", FORMS_YAML),
        ("b.tasks.json", FORMS_JSON),
        ("c.tasks.csv", FORMS_CSV),
        ("todo.md", FORMS_MD),
    ] {
        assert_eq!(
            fs::read_to_string(dir.path().join(file)).unwrap(),
            text,
            "{file}"
        );
    }
    assert!(store.verify_audit().is_ok());
}

#[test]
fn a_task_someone_else_moved_while_it_ran_is_left_as_they_made_it() {
    let (dir, store) = forms_store();
    let root = dir.path().to_owned();
    let job = |task: &Task, _: &RunContext| -> Result<(), JobError> {
        // Someone puts `y1` on hold while it runs; then it fails.
        let store = Store::open(&root).unwrap();
        let _moved = store
            .set_status(task.id.as_str(), ssot_core::Status::Blocked)
            .unwrap();
        Err(JobError::new("failed"))
    };
    let run = Executor::builder()
        .build()
        .run_store_where(
            &store,
            |t| t.id.as_str() == "y1",
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert!(run.write_back.is_empty(), "{:?}", run.write_back);
    let yaml = fs::read_to_string(dir.path().join("a.tasks.yaml")).unwrap();
    assert!(
        yaml.contains("    command: make\n    status: blocked\n"),
        "{yaml}"
    );
}

#[test]
fn a_dependency_is_done_in_the_store_before_any_dependent_is_written_in_progress() {
    // A chain of 12 and a fan-out of 6 on its head, on 2 workers: each dependent is
    // released the moment its dependency's job returns, which is where a `done`
    // written later (from the event stream) used to lose the race.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ssot.yaml", MANIFEST);
    let mut md = String::from("# Chain\n\n");
    for i in 0..12 {
        let dep = if i == 0 {
            String::new()
        } else {
            format!(" ⛔ c{}", i - 1)
        };
        md.push_str(&format!("- [ ] Step {i} 🆔 c{i}{dep}\n"));
    }
    for i in 0..6 {
        md.push_str(&format!("- [ ] Leaf {i} 🆔 f{i} ⛔ c0\n"));
    }
    write(dir.path(), "todo.md", &md);
    let store = Store::open(dir.path()).unwrap();
    let job = |_: &Task, _: &RunContext| -> Result<(), JobError> { Ok(()) };
    let run = Executor::builder()
        .workers(2)
        .build()
        .run_store(&store, &job, &CancelToken::new(), None)
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.write_back);
    let plan_deps = |id: &str| -> Vec<String> {
        if let Some(n) = id.strip_prefix('c') {
            let n: usize = n.parse().unwrap();
            return if n == 0 {
                vec![]
            } else {
                vec![format!("c{}", n - 1)]
            };
        }
        vec!["c0".to_owned()]
    };
    let log = store.audit_log().unwrap();
    let revision_of = |task: &str, status: &str| -> u64 {
        log.iter()
            .find_map(|a| match &a.operation {
                Operation::SetStatus { id, status: s } if id == task && s == status => {
                    Some(a.revision)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no `{status}` for {task}"))
    };
    for i in 0..12 {
        for id in [format!("c{i}"), format!("f{}", i % 6)] {
            let started = revision_of(&id, "in_progress");
            for dep in plan_deps(&id) {
                let done = revision_of(&dep, "done");
                assert!(
                    done < started,
                    "`{dep}` done at revision {done}, after `{id}` started at {started}"
                );
            }
        }
    }
    assert_eq!(
        fs::read_to_string(dir.path().join("todo.md")).unwrap(),
        md.replace("- [ ]", "- [x]")
    );
}

const REGISTRY_MANIFEST: &str = "version: 1\nfiles:\n  \"**/*.md\": tasks\n  \"registries/*.yaml\": { schema: automation }\nschemas:\n  automation: schemas/automation.json\n";
const REGISTRY_SCHEMA: &str = r#"{
  "type": "object",
  "required": ["automation"],
  "properties": {
    "automation": {"type": "object", "required": ["workflows"]}
  }
}
"#;
const REGISTRY: &str = "# Automation registry\nautomation:\n  workflows:\n    release:\n      preview:\n        steps: [check, build, publish]   # in order\n        timeout: 60\n  policies:\n    execution:\n      max_concurrent: 2\n";

#[test]
fn a_registry_workflow_runs_as_a_chain_and_its_last_run_is_patched_into_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ssot.yaml", REGISTRY_MANIFEST);
    write(dir.path(), "schemas/automation.json", REGISTRY_SCHEMA);
    write(dir.path(), "registries/automation.yaml", REGISTRY);
    write(dir.path(), "todo.md", "- [ ] Untouched 🆔 t\n");
    let store = Store::open(dir.path()).unwrap();
    let ran = Mutex::new(Vec::new());
    let fail_build = std::sync::atomic::AtomicBool::new(true);
    let job = |node: &String, _: &RunContext| -> Result<(), JobError> {
        ran.lock().unwrap().push(node.clone());
        if node.ends_with("/build") && fail_build.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(JobError::new("build broke"));
        }
        Ok(())
    };
    let executor = Executor::builder().workers(2).build();
    let before = store.revision().unwrap();
    let run = executor
        .run_workflow(
            &store,
            "registries/automation.yaml",
            "release.preview",
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert!(run.write_back.is_none(), "{:?}", run.write_back);
    assert!(!run.succeeded());
    assert_eq!(
        *ran.lock().unwrap(),
        ["release.preview/check", "release.preview/build"]
    );
    assert_eq!(run.last_run["outcome"], "failed");
    assert_eq!(
        run.last_run["steps"],
        serde_json::json!({"check": "succeeded", "build": "failed", "publish": "skipped"})
    );
    // One audited revision, the registry patched in place: only the new lines.
    assert_eq!(store.revision().unwrap(), before + 1);
    let text = fs::read_to_string(dir.path().join("registries/automation.yaml")).unwrap();
    assert!(text.starts_with(
        "# Automation registry\nautomation:\n  workflows:\n    release:\n      preview:\n        steps: [check, build, publish]   # in order\n        timeout: 60\n        last_run:"
    ), "{text}");
    assert!(
        text.ends_with("  policies:\n    execution:\n      max_concurrent: 2\n"),
        "{text}"
    );
    let doc = store.document("registries/automation.yaml").unwrap();
    assert_eq!(
        doc.value()["automation"]["workflows"]["release"]["preview"]["last_run"],
        run.last_run
    );
    assert!(matches!(
        store.audit_log().unwrap().last().map(|a| &a.operation),
        Some(Operation::Patch)
    ));

    // Fixed, the next run replaces `last_run`; the task file was never touched.
    fail_build.store(false, std::sync::atomic::Ordering::SeqCst);
    let run = executor
        .run_workflow(
            &store,
            "registries/automation.yaml",
            "release.preview",
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.write_back);
    let doc = store.document("registries/automation.yaml").unwrap();
    let last = &doc.value()["automation"]["workflows"]["release"]["preview"]["last_run"];
    assert_eq!(last["outcome"], "succeeded");
    assert_eq!(last["run_id"], run.record.run_id.as_str());
    assert_eq!(
        fs::read_to_string(dir.path().join("todo.md")).unwrap(),
        "- [ ] Untouched 🆔 t\n"
    );

    // An unknown workflow is an error naming the ones there are; nothing runs.
    let err = executor
        .run_workflow(
            &store,
            "registries/automation.yaml",
            "release.nightly",
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("release.preview"), "{err}");
}

#[test]
fn a_last_run_the_registry_schema_forbids_is_returned_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ssot.yaml", REGISTRY_MANIFEST);
    let strict = r#"{"type": "object", "properties": {"automation": {"type": "object",
      "properties": {"workflows": {"type": "object", "additionalProperties": {"type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": false,
          "properties": {"steps": {}, "timeout": {}}}}}}}}}"#;
    write(dir.path(), "schemas/automation.json", strict);
    write(dir.path(), "registries/automation.yaml", REGISTRY);
    let store = Store::open(dir.path()).unwrap();
    let job = |_: &String, _: &RunContext| -> Result<(), JobError> { Ok(()) };
    let run = Executor::builder()
        .build()
        .run_workflow(
            &store,
            "registries/automation.yaml",
            "release.preview",
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert!(run.record.succeeded());
    assert!(!run.succeeded(), "a lost last_run is not a success");
    assert!(run.write_back.is_some());
    assert_eq!(
        fs::read_to_string(dir.path().join("registries/automation.yaml")).unwrap(),
        REGISTRY
    );
}

#[test]
fn the_run_state_lives_in_the_stores_own_state_directory() {
    // Never a store file, never walked for inputs.
    assert!(ssot_core::run::STORE_RUN_STATE.starts_with(ssot_core::store::STATE_DIR));
}

/// Two tasks with inputs (`use` waits on `gen`), in Markdown; `gen` writes
/// `out/gen.txt` from `src/a.txt`, `use` reads it and `use.txt`.
const INCREMENTAL_MD: &str = "# Build

- [ ] Generate [inputs:: src/a.txt] [outputs:: out/gen.txt] 🆔 gen
- [ ] Use [inputs:: out/gen.txt; use.txt] 🆔 use ⛔ gen
";

/// Runs the store with a job that does `gen`'s and `use`'s work; the ids that ran.
fn run_incremental(
    root: &std::path::Path,
    store: &Store,
) -> (ssot_core::run::StoreRun, Vec<String>) {
    let ran = Mutex::new(Vec::new());
    let job = |task: &Task, _: &RunContext| -> Result<(), JobError> {
        ran.lock().unwrap().push(task.id.to_string());
        if task.id.as_str() == "gen" {
            fs::create_dir_all(root.join("out")).unwrap();
            fs::copy(root.join("src/a.txt"), root.join("out/gen.txt")).unwrap();
        }
        Ok(())
    };
    let run = Executor::builder()
        .workers(2)
        .state_dir(root.join(ssot_core::run::STORE_RUN_STATE))
        .build()
        .run_store(store, &job, &CancelToken::new(), None)
        .unwrap();
    let mut ran = ran.into_inner().unwrap();
    ran.sort();
    (run, ran)
}

/// The revision of the last `SetStatus` of `task` to `status` after `since`.
fn set_status_revision(store: &Store, since: u64, task: &str, status: &str) -> Option<u64> {
    store
        .audit_log()
        .unwrap()
        .iter()
        .filter(|a| a.revision > since)
        .find_map(|a| match &a.operation {
            Operation::SetStatus { id, status: s } if id == task && s == status => Some(a.revision),
            _ => None,
        })
}

fn last_revision(store: &Store) -> u64 {
    store
        .audit_log()
        .unwrap()
        .iter()
        .map(|a| a.revision)
        .max()
        .unwrap_or(0)
}

#[test]
fn an_up_to_date_task_is_written_done_before_its_dependent_starts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    write(&root, "ssot.yaml", MANIFEST);
    write(&root, "src/a.txt", "alpha\n");
    write(&root, "use.txt", "one\n");
    write(&root, "todo.md", INCREMENTAL_MD);
    let store = Store::open(&root).unwrap();

    let (run, ran) = run_incremental(&root, &store);
    assert!(run.succeeded(), "{:?}", run.write_back);
    assert_eq!(ran, ["gen", "use"]);
    assert_eq!(
        fs::read_to_string(root.join("todo.md")).unwrap(),
        INCREMENTAL_MD.replace("- [ ]", "- [x]")
    );

    // The statuses are reset (as a checkout would); only `use.txt` changed: `gen`
    // is up to date and written done, before `use` (which runs) is in progress.
    write(&root, "todo.md", INCREMENTAL_MD);
    write(&root, "use.txt", "two\n");
    let before = last_revision(&store);
    let (run, ran) = run_incremental(&root, &store);
    assert!(run.succeeded(), "{:?}", run.write_back);
    assert_eq!(ran, ["use"]);
    assert_eq!(run.record.tasks[&id("gen")].outcome, TaskOutcome::UpToDate);
    assert!(run.record.tasks[&id("gen")].attempts.is_empty());
    assert_eq!(run.record.tasks[&id("use")].outcome, TaskOutcome::Succeeded);
    assert_eq!(
        fs::read_to_string(root.join("todo.md")).unwrap(),
        INCREMENTAL_MD.replace("- [ ]", "- [x]")
    );
    let done = set_status_revision(&store, before, "gen", "done").expect("`gen` written done");
    let started =
        set_status_revision(&store, before, "use", "in_progress").expect("`use` in progress");
    assert!(
        done < started,
        "`gen` done at revision {done}, after `use` started at {started}"
    );
    // An up-to-date task is never written in progress.
    assert_eq!(
        set_status_revision(&store, before, "gen", "in_progress"),
        None
    );

    // Written done, it is finished: the next run has nothing to do and writes nothing.
    let before = last_revision(&store);
    let (run, ran) = run_incremental(&root, &store);
    assert!(run.succeeded());
    assert!(ran.is_empty() && run.record.tasks.is_empty(), "{ran:?}");
    assert_eq!(last_revision(&store), before);

    // Reset again, and `gen`'s input changed: it runs again, and so does `use`.
    write(&root, "todo.md", INCREMENTAL_MD);
    write(&root, "src/a.txt", "alpha, changed\n");
    let (run, ran) = run_incremental(&root, &store);
    assert!(run.succeeded(), "{:?}", run.write_back);
    assert_eq!(ran, ["gen", "use"]);
    assert_eq!(run.record.tasks[&id("gen")].outcome, TaskOutcome::Succeeded);
    assert_eq!(
        fs::read_to_string(root.join("out/gen.txt")).unwrap(),
        "alpha, changed\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("todo.md")).unwrap(),
        INCREMENTAL_MD.replace("- [ ]", "- [x]")
    );
}

#[test]
fn an_up_to_date_done_that_cannot_be_written_is_returned_not_lost() {
    // `a_cut` (no inputs, first by id on one worker) deletes `z_gen`'s line, which
    // is then found up to date: its `done` cannot be written.
    const MD: &str = "# Work\n\n- [ ] Cut 🆔 a_cut\n- [ ] Generate [inputs:: src/a.txt] 🆔 z_gen\n";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    write(&root, "ssot.yaml", MANIFEST);
    write(&root, "src/a.txt", "alpha\n");
    write(&root, "todo.md", MD);
    let store = Store::open(&root).unwrap();
    let executor = Executor::builder()
        .workers(1)
        .state_dir(root.join(ssot_core::run::STORE_RUN_STATE))
        .build();
    let nothing = |_: &Task, _: &RunContext| -> Result<(), JobError> { Ok(()) };
    let run = executor
        .run_store_where(
            &store,
            |t| t.id.as_str() == "z_gen",
            &nothing,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.write_back);

    write(&root, "todo.md", MD);
    let cut = |task: &Task, _: &RunContext| -> Result<(), JobError> {
        if task.id.as_str() == "a_cut" {
            let todo = fs::read_to_string(root.join("todo.md")).unwrap();
            let without: String = todo
                .lines()
                .filter(|l| !l.contains("🆔 z_gen"))
                .map(|l| format!("{l}\n"))
                .collect();
            fs::write(root.join("todo.md"), without).unwrap();
        }
        Ok(())
    };
    let run = executor
        .run_store(&store, &cut, &CancelToken::new(), None)
        .unwrap();
    assert_eq!(
        run.record.tasks[&id("z_gen")].outcome,
        TaskOutcome::UpToDate
    );
    assert_one_lost_done(&run, "z_gen");
}

/// The run's one write-back that failed is task `task`'s `Done`, and the run is not
/// a success because of it.
fn assert_one_lost_done(run: &ssot_core::run::StoreRun, task: &str) {
    assert!(!run.succeeded(), "a lost write-back is not a success");
    assert_eq!(run.write_back.len(), 1, "{:?}", run.write_back);
    let w = &run.write_back[0];
    assert_eq!((w.task.as_str(), w.status), (task, ssot_core::Status::Done));
    assert!(w.error.to_string().contains(task), "{}", w.error);
}
