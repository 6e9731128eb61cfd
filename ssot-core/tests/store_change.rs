//! End-to-end tests of the store's single changes, the audit log and revisions.

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
use ssot_core::store::{Operation, ProblemKind, Store};
use ssot_core::{Error, Status, Task, TaskId};

const MD: &str = "# Work\n\n<!-- keep me -->\n- [ ] Build 🆔 build ⏱ 2h\n- [ ] Test 🆔 test ⛔ build\n\nTrailing prose.\n";
const YAML: &str = "# ci tasks\n- id: lint   # fast\n  title: Lint\n  status: pending\n\n- id: fmt\n  title: 'Format'\n";
const JSON: &str = "{\n  \"tasks\": [\n    {\"id\": \"j1\", \"title\": \"One\", \"status\": \"pending\"},\n    {\"id\": \"j2\", \"title\": \"Two\"}\n  ],\n  \"owner\": \"ops\"\n}\n";
const CSV: &str = "id,title,status\nc1,First,pending\nc2,Second,pending\n";

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("todo.md"), MD).unwrap();
    fs::write(dir.path().join("ci.tasks.yaml"), YAML).unwrap();
    fs::write(dir.path().join("api.tasks.json"), JSON).unwrap();
    fs::write(dir.path().join("sheet.tasks.csv"), CSV).unwrap();
    let store = Store::builder().actor("tester").init(dir.path()).unwrap();
    (dir, store)
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn set_status_in_each_format_changes_only_the_status_bytes() {
    let (dir, store) = store();
    store.set_status("build", Status::Done).unwrap();
    assert_eq!(
        read(dir.path(), "todo.md"),
        MD.replace("- [ ] Build", "- [x] Build")
    );
    store.set_status("lint", Status::InProgress).unwrap();
    assert_eq!(
        read(dir.path(), "ci.tasks.yaml"),
        YAML.replace("status: pending", "status: in_progress")
    );
    store.set_status("j1", Status::Done).unwrap();
    assert_eq!(
        read(dir.path(), "api.tasks.json"),
        JSON.replace("\"status\": \"pending\"", "\"status\": \"done\"")
    );
    store.set_status("c2", Status::Cancelled).unwrap();
    assert_eq!(
        read(dir.path(), "sheet.tasks.csv"),
        CSV.replace("c2,Second,pending", "c2,Second,cancelled")
    );
    // The untouched files of each step kept every byte.
    assert_eq!(store.revision().unwrap(), 4);
}

#[test]
fn update_add_and_remove_keep_every_other_byte() {
    let (dir, store) = store();
    store
        .update_task("fmt", |t| t.title = "Format all".into())
        .unwrap();
    assert_eq!(
        read(dir.path(), "ci.tasks.yaml"),
        YAML.replace("'Format'", "'Format all'")
    );
    store
        .add_task(
            "sheet.tasks.csv",
            Task::new(TaskId::new("c3").unwrap(), "Third"),
            Position::End,
        )
        .unwrap();
    assert_eq!(
        read(dir.path(), "sheet.tasks.csv"),
        format!("{CSV}c3,Third,pending\n")
    );
    store.remove_task("c1").unwrap();
    assert_eq!(
        read(dir.path(), "sheet.tasks.csv"),
        "id,title,status\nc2,Second,pending\nc3,Third,pending\n"
    );
    store
        .add_task(
            "todo.md",
            Task::new(TaskId::new("ship").unwrap(), "Ship"),
            Position::After(TaskId::new("test").unwrap()),
        )
        .unwrap();
    let md = read(dir.path(), "todo.md");
    assert!(md.starts_with("# Work\n\n<!-- keep me -->\n- [ ] Build 🆔 build ⏱ 2h\n- [ ] Test 🆔 test ⛔ build\n- [ ] Ship"));
    assert!(md.ends_with("\n\nTrailing prose.\n"));
    assert_eq!(store.task_file("todo.md").unwrap().tasks().len(), 3);
}

#[test]
fn patch_of_a_document_keeps_comments() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("ssot.yaml"),
        "version: 1\nfiles:\n  \"config/*.yaml\": { schema: app }\nschemas:\n  app: schemas/app.json\n",
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("config")).unwrap();
    fs::create_dir_all(dir.path().join("schemas")).unwrap();
    fs::write(
        dir.path().join("schemas/app.json"),
        r#"{"type": "object", "properties": {"retries": {"type": "integer"}}}"#,
    )
    .unwrap();
    let text = "# app settings\nretries: 3   # keep low\nname: web\n";
    fs::write(dir.path().join("config/app.yaml"), text).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let commit = store
        .patch("config/app.yaml", &json!({"retries": 5}))
        .unwrap();
    assert_eq!(commit.records.last().unwrap().operation, Operation::Patch);
    assert_eq!(
        read(dir.path(), "config/app.yaml"),
        text.replace("3 ", "5 ")
    );

    // A patch breaking the schema is refused and writes nothing.
    let err = store
        .patch("config/app.yaml", &json!({"retries": "many"}))
        .unwrap_err();
    let Error::Invalid(report) = err else {
        panic!("expected Invalid, got {err}")
    };
    assert_eq!(report.problems()[0].kind, ProblemKind::Schema);
    assert_eq!(
        read(dir.path(), "config/app.yaml"),
        text.replace("3 ", "5 ")
    );
    assert_eq!(store.revision().unwrap(), 1);
}

#[test]
fn invalid_changes_are_refused_and_leave_file_and_log_untouched() {
    let (dir, store) = store();
    store.set_status("build", Status::Done).unwrap();
    let log_before = fs::read(dir.path().join(".ssot/audit.log")).unwrap();
    let files_before: Vec<String> = [
        "todo.md",
        "ci.tasks.yaml",
        "api.tasks.json",
        "sheet.tasks.csv",
    ]
    .iter()
    .map(|f| read(dir.path(), f))
    .collect();

    // A duplicate id across files.
    let dup = store.add_task(
        "ci.tasks.yaml",
        Task::new(TaskId::new("build").unwrap(), "Again"),
        Position::End,
    );
    assert!(
        matches!(dup, Err(Error::Invalid(_)) | Err(Error::IdConflict { .. })),
        "{dup:?}"
    );
    // An unknown dependency.
    let unknown = store.update_task("lint", |t| {
        t.dependencies.push(TaskId::new("nowhere").unwrap())
    });
    let Err(Error::Invalid(report)) = unknown else {
        panic!("expected Invalid, got {unknown:?}")
    };
    assert_eq!(report.problems()[0].kind, ProblemKind::UnknownDependency);
    // A cycle across files.
    let cycle = store.update_task("build", |t| {
        t.dependencies.push(TaskId::new("test").unwrap())
    });
    assert!(matches!(cycle, Err(Error::Invalid(_))), "{cycle:?}");
    // Removing a task another depends on.
    let dangling = store.remove_task("build");
    assert!(matches!(dangling, Err(Error::Invalid(_))), "{dangling:?}");
    // An illegal transition (done -> blocked) and an unknown id.
    assert!(matches!(
        store.set_status("build", Status::Blocked),
        Err(Error::IllegalTransition { .. })
    ));
    assert!(matches!(
        store.set_status("ghost", Status::Done),
        Err(Error::TaskNotFound { .. })
    ));

    let files_after: Vec<String> = [
        "todo.md",
        "ci.tasks.yaml",
        "api.tasks.json",
        "sheet.tasks.csv",
    ]
    .iter()
    .map(|f| read(dir.path(), f))
    .collect();
    assert_eq!(files_after, files_before);
    assert_eq!(
        fs::read(dir.path().join(".ssot/audit.log")).unwrap(),
        log_before
    );
    assert_eq!(store.revision().unwrap(), 1);
}

#[test]
fn a_refused_change_writes_nothing_at_all() {
    let (dir, store) = store();
    let before = read(dir.path(), "todo.md");
    let r = store.update_task("test", |t| {
        t.dependencies.push(TaskId::new("missing").unwrap())
    });
    assert!(matches!(r, Err(Error::Invalid(_))));
    assert_eq!(read(dir.path(), "todo.md"), before);
    assert!(!dir.path().join(".ssot/audit.log").exists() || store.audit_log().unwrap().is_empty());
    assert_eq!(store.revision().unwrap(), 0);
}

#[test]
fn revisions_are_consecutive_and_the_first_records_a_baseline() {
    let (_dir, store) = store();
    assert_eq!(store.revision().unwrap(), 0);
    let first = store.set_status("build", Status::InProgress).unwrap();
    assert_eq!(first.revision, 1);
    // The baseline: every file of the store, recorded as found, then the change.
    let external: Vec<&str> = first
        .records
        .iter()
        .filter(|r| r.operation == Operation::External)
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        external,
        [
            "api.tasks.json",
            "ci.tasks.yaml",
            "sheet.tasks.csv",
            "todo.md"
        ]
    );
    assert_eq!(first.records.last().unwrap().path, "todo.md");
    for n in 2..=6 {
        let status = if n % 2 == 0 {
            Status::Pending
        } else {
            Status::InProgress
        };
        let c = store.set_status("build", status).unwrap();
        assert_eq!(c.revision, n);
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.records[0].actor, "tester");
    }
    let log = store.audit_log().unwrap();
    let revisions: Vec<u64> = log.iter().map(|r| r.revision).collect();
    assert_eq!(revisions, [1, 1, 1, 1, 1, 2, 3, 4, 5, 6]);
    for pair in log.windows(2) {
        assert_eq!(pair[1].prev, pair[0].hash);
        if pair[0].path == pair[1].path {
            assert_eq!(pair[1].before, pair[0].after);
        }
    }
    assert!(store.verify_audit().unwrap().is_ok());
}

fn lines(dir: &Path) -> Vec<String> {
    read(dir, ".ssot/audit.log")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    fs::write(dir.join(".ssot/audit.log"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn verify_detects_an_edited_record() {
    let (dir, store) = store();
    store.set_status("build", Status::Done).unwrap();
    store.set_status("lint", Status::Done).unwrap();
    let mut l = lines(dir.path());
    let n = l.len();
    l[n - 2] = l[n - 2].replace("tester", "mallory");
    write_lines(dir.path(), &l);
    let check = Store::open(dir.path()).unwrap().verify_audit().unwrap();
    let bad = check.first_bad.unwrap();
    assert_eq!(bad.line, n as u64 - 1);
    assert!(bad.reason.contains("edited"), "{}", bad.reason);
}

#[test]
fn verify_detects_a_deleted_record() {
    let (dir, store) = store();
    store.set_status("build", Status::Done).unwrap();
    store.set_status("lint", Status::Done).unwrap();
    store.set_status("c1", Status::Done).unwrap();
    let mut l = lines(dir.path());
    let n = l.len();
    l.remove(n - 2);
    write_lines(dir.path(), &l);
    let check = Store::open(dir.path()).unwrap().verify_audit().unwrap();
    let bad = check.first_bad.unwrap();
    assert_eq!(bad.line, n as u64 - 1);
    assert!(bad.reason.contains("chain"), "{}", bad.reason);
}

#[test]
fn verify_detects_a_truncated_log() {
    let (dir, store) = store();
    store.set_status("build", Status::Done).unwrap();
    store.set_status("lint", Status::Done).unwrap();
    let mut l = lines(dir.path());
    l.pop();
    write_lines(dir.path(), &l);
    let check = Store::open(dir.path()).unwrap().verify_audit().unwrap();
    assert!(check.first_bad.unwrap().reason.contains("cut off"));
    // This handle had read the whole log: it notices the shrink too.
    assert!(matches!(
        store.set_status("c1", Status::Done),
        Err(Error::AuditDamaged { .. })
    ));
}

#[test]
fn two_handles_in_one_process_see_each_others_revisions() {
    let (dir, a) = store();
    let b = Store::builder().actor("other").open(dir.path()).unwrap();
    assert_eq!(
        a.set_status("build", Status::InProgress).unwrap().revision,
        1
    );
    assert_eq!(b.revision().unwrap(), 1);
    assert_eq!(b.set_status("build", Status::Done).unwrap().revision, 2);
    assert_eq!(a.revision().unwrap(), 2);
    assert_eq!(a.set_status("lint", Status::Done).unwrap().revision, 3);
    // b's change was made on a's change: no drift recorded for todo.md.
    let log = a.audit_log().unwrap();
    assert_eq!(log.iter().filter(|r| r.revision > 1).count(), 2);
    assert_eq!(
        read(dir.path(), "todo.md"),
        MD.replace("- [ ] Build", "- [x] Build")
    );
}

#[test]
fn threads_sharing_a_store_get_distinct_consecutive_revisions() {
    let (dir, store) = store();
    let store = std::sync::Arc::new(store);
    let ids = ["build", "lint", "j1", "c1"];
    std::thread::scope(|s| {
        for id in ids {
            let store = std::sync::Arc::clone(&store);
            s.spawn(move || {
                for i in 0..5 {
                    let status = if i % 2 == 0 {
                        Status::InProgress
                    } else {
                        Status::Pending
                    };
                    store.set_status(id, status).unwrap();
                }
            });
        }
    });
    assert_eq!(store.revision().unwrap(), 20);
    let mut revisions: Vec<u64> = store
        .audit_log()
        .unwrap()
        .iter()
        .filter(|r| r.operation != Operation::External)
        .map(|r| r.revision)
        .collect();
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=20).collect::<Vec<_>>());
    assert!(store.verify_audit().unwrap().is_ok());
    drop(dir);
}

#[test]
fn changes_since_replays_and_subscribers_receive_events() {
    let (_dir, store) = store();
    let rx = store.subscribe();
    store.set_status("build", Status::Done).unwrap();
    store.set_status("lint", Status::Done).unwrap();
    let events: Vec<_> = rx.try_iter().collect();
    assert_eq!(events.len(), 6); // 4 baseline records, then 1 per change
    assert!(events[..4].iter().all(|e| e.external));
    assert_eq!(events[5].revision, 2);
    assert_eq!(store.changes_since(0).unwrap(), events);
    let since_one = store.changes_since(1).unwrap();
    assert_eq!(since_one.len(), 1);
    assert_eq!(
        since_one[0].operation,
        Operation::SetStatus {
            id: "lint".into(),
            status: "done".into()
        }
    );
    // A dropped receiver is forgotten, not an error.
    drop(rx);
    store.set_status("c1", Status::Done).unwrap();
}

#[test]
fn an_outside_edit_is_recorded_as_drift_before_the_change() {
    let (dir, store) = store();
    store.set_status("build", Status::InProgress).unwrap();
    fs::write(dir.path().join("todo.md"), MD.replace("Trailing", "Edited")).unwrap();
    let c = store.set_status("test", Status::InProgress).unwrap();
    assert_eq!(c.records.len(), 2);
    assert_eq!(c.records[0].operation, Operation::External);
    assert_eq!(c.records[0].path, "todo.md");
    assert_eq!(c.records[1].before, c.records[0].after);
    let text = read(dir.path(), "todo.md");
    assert!(text.contains("Edited prose"));
    assert!(text.contains("- [/] Test"));
}

#[test]
fn add_task_creates_a_new_markdown_task_list() {
    let (dir, store) = store();
    let c = store
        .add_task(
            "notes/later.md",
            Task::new(TaskId::new("later").unwrap(), "Later"),
            Position::End,
        )
        .unwrap();
    let add = c.records.last().unwrap();
    assert_eq!(add.before, None);
    assert_eq!(add.operation, Operation::AddTask { id: "later".into() });
    assert_eq!(read(dir.path(), "notes/later.md"), "- [ ] Later 🆔 later\n");
    assert!(store.plan().unwrap().task("later").is_some());
}

#[test]
fn bad_paths_and_bad_files_are_clear_errors_and_change_nothing() {
    let (dir, store) = store();
    assert!(matches!(
        store.add_task(
            "../escape.md",
            Task::new(TaskId::new("x").unwrap(), "X"),
            Position::End
        ),
        Err(Error::OutsideRoot { .. })
    ));
    assert!(matches!(
        store.patch("todo.md", &json!({"a": 1})),
        Err(Error::NotManaged { .. })
    ));
    fs::write(dir.path().join("notes.txt"), "x: 1\n").unwrap();
    assert!(matches!(
        store.patch("notes.txt", &json!({"x": 2})),
        Err(Error::NotManaged { .. })
    ));
    // Binary junk where a task list is expected.
    fs::write(dir.path().join("junk.md"), [0xff, 0xfe, 0x00, 0x2d]).unwrap();
    let junk = store.add_task(
        "junk.md",
        Task::new(TaskId::new("j").unwrap(), "J"),
        Position::End,
    );
    let Err(Error::Invalid(report)) = junk else {
        panic!("expected Invalid, got {junk:?}")
    };
    assert_eq!(report.problems()[0].location.file, "junk.md");
    assert_eq!(
        fs::read(dir.path().join("junk.md")).unwrap(),
        [0xff, 0xfe, 0x00, 0x2d]
    );
    fs::remove_file(dir.path().join("junk.md")).unwrap();
    // A file deleted between the plan and the change.
    assert!(store.plan().is_ok());
    fs::remove_file(dir.path().join("sheet.tasks.csv")).unwrap();
    assert!(matches!(
        store.set_status("c1", Status::Done),
        Err(Error::TaskNotFound { .. })
    ));
    assert_eq!(store.revision().unwrap(), 0);
}

#[test]
fn a_configuration_overlay_file_is_patched_in_place() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("ssot.yaml"),
        "version: 1\nconfigs:\n  app: [base.yaml, prod.yaml]\n",
    )
    .unwrap();
    fs::write(dir.path().join("base.yaml"), "# base\nport: 80\nhost: a\n").unwrap();
    fs::write(dir.path().join("prod.yaml"), "port: 8080 # prod\n").unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.patch("prod.yaml", &json!({"host": "b"})).unwrap();
    assert_eq!(
        read(dir.path(), "prod.yaml"),
        "port: 8080 # prod\nhost: b\n"
    );
    assert_eq!(store.config("app").unwrap().get("host"), Some(&json!("b")));
}

/// Every change kind in every format writes exactly what the in-place editor makes of
/// the file's text (whose byte-for-byte guarantees the editor's own tests prove), and
/// nothing else: the other files keep every byte.
#[test]
fn every_change_kind_in_every_format_writes_the_editors_text_only() {
    use ssot_core::Format;
    use ssot_core::format::edit::Document;
    let cases = [
        ("todo.md", Format::Markdown, MD, "test"),
        ("ci.tasks.yaml", Format::Yaml, YAML, "fmt"),
        ("api.tasks.json", Format::Json, JSON, "j2"),
        ("sheet.tasks.csv", Format::Csv, CSV, "c2"),
    ];
    type Op = (
        &'static str,
        fn(&Store, &str, &str),
        fn(&mut Document, &str),
    );
    let ops: [Op; 4] = [
        (
            "set_status",
            |s, _, id| {
                s.set_status(id, Status::InProgress).unwrap();
            },
            |d, id| d.set_status(id, Status::InProgress).unwrap(),
        ),
        (
            "update_task",
            |s, _, id| {
                s.update_task(id, |t| t.title = "Renamed".into()).unwrap();
            },
            |d, id| d.update(id, |t| t.title = "Renamed".into()).unwrap(),
        ),
        (
            "add_task",
            |s, path, _| {
                s.add_task(
                    path,
                    Task::new(TaskId::new("fresh").unwrap(), "Fresh"),
                    Position::End,
                )
                .unwrap();
            },
            |d, _| {
                d.insert(
                    Task::new(TaskId::new("fresh").unwrap(), "Fresh"),
                    Position::End,
                )
                .unwrap();
            },
        ),
        (
            "remove_task",
            |s, _, id| {
                s.remove_task(id).unwrap();
            },
            |d, id| {
                d.remove(id).unwrap();
            },
        ),
    ];
    for (path, format, text, id) in cases {
        for (name, on_store, on_doc) in ops {
            let (dir, store) = store();
            let others: Vec<(&str, String)> = cases
                .iter()
                .filter(|c| c.0 != path)
                .map(|c| (c.0, read(dir.path(), c.0)))
                .collect();
            on_store(&store, path, id);
            let mut doc = Document::parse(format, text).unwrap();
            on_doc(&mut doc, id);
            assert_eq!(read(dir.path(), path), doc.as_str(), "{name} in {path}");
            assert_ne!(doc.as_str(), text, "{name} in {path} changed nothing");
            for (other, before) in others {
                assert_eq!(
                    read(dir.path(), other),
                    before,
                    "{name} in {path} touched {other}"
                );
            }
        }
    }
}

#[test]
fn a_lock_held_too_long_is_a_timeout_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("todo.md"), MD).unwrap();
    fs::write(
        dir.path().join("ssot.yaml"),
        "version: 1\nsettings:\n  lock_timeout: 50ms\n",
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.set_status("build", Status::InProgress).unwrap();
    // Another process's commit, as far as this handle can tell.
    let mut other = ssot_core::lock::FileLock::open(dir.path().join(".ssot/lock")).unwrap();
    let held = other.lock(ssot_core::lock::LockKind::Exclusive).unwrap();
    let err = store.set_status("build", Status::Done).unwrap_err();
    let Error::LockTimeout { path, timeout } = &err else {
        panic!("expected LockTimeout, got {err}")
    };
    assert_eq!(path, ".ssot/lock");
    assert_eq!(*timeout, std::time::Duration::from_millis(50));
    assert!(err.to_string().contains("lock_timeout"));
    drop(held);
    assert_eq!(store.set_status("build", Status::Done).unwrap().revision, 2);
    assert!(read(dir.path(), "todo.md").contains("- [x] Build"));
}

#[test]
fn a_problem_the_store_already_had_does_not_block_other_changes() {
    let (dir, store) = store();
    fs::write(
        dir.path().join("broken.md"),
        "- [ ] Waits 🆔 waits ⛔ nowhere\n",
    )
    .unwrap();
    assert!(store.plan().is_err());
    store
        .update_task("lint", |t| t.title = "Lint all".into())
        .unwrap();
    store
        .add_task(
            "todo.md",
            Task::new(TaskId::new("more").unwrap(), "More"),
            Position::End,
        )
        .unwrap();
    // A new problem of the same kind is still refused.
    let r = store.update_task("more", |t| {
        t.dependencies.push(TaskId::new("elsewhere").unwrap())
    });
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    assert_eq!(store.revision().unwrap(), 2);
}

/// Finding a task goes through an id index checked against the indexed file: a
/// task moved to another file outside the store is found again by a walk.
#[test]
fn a_task_moved_to_another_file_outside_the_store_is_found_again() {
    let (dir, store) = store();
    store.set_status("build", Status::InProgress).unwrap();
    fs::write(
        dir.path().join("todo.md"),
        "# Work\n\n- [ ] Test 🆔 test ⛔ build\n",
    )
    .unwrap();
    fs::write(dir.path().join("moved.md"), "- [/] Build 🆔 build\n").unwrap();
    let commit = store.set_status("build", Status::Done).unwrap();
    assert!(
        commit
            .records
            .iter()
            .any(|r| r.path == "moved.md" && matches!(r.operation, Operation::SetStatus { .. }))
    );
    assert_eq!(read(dir.path(), "moved.md"), "- [x] Build 🆔 build\n");
}

/// What the index does not see (documented on `Store::locate`): an id copied into
/// another file outside the store after the index was built. The change goes to the
/// indexed file; `validate` reports the duplicate with both files.
#[test]
fn a_duplicate_id_added_outside_the_store_is_reported_by_validate() {
    let (dir, store) = store();
    store.set_status("build", Status::InProgress).unwrap();
    fs::write(dir.path().join("copy.md"), "- [ ] Build again 🆔 build\n").unwrap();
    store.set_status("build", Status::Done).unwrap();
    assert!(read(dir.path(), "todo.md").contains("- [x] Build"));
    let report = store.validate().unwrap();
    assert!(
        report
            .problems()
            .iter()
            .any(|p| p.kind == ProblemKind::DuplicateId),
        "{report:?}"
    );
    // A new handle walks the store first, and refuses the ambiguous id.
    let fresh = Store::open(dir.path()).unwrap();
    assert!(fresh.set_status("build", Status::Pending).is_err());
}
