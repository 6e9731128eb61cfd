//! Two real processes change one store at once: 200 changes each, all to the same
//! task file, interleaved by the store's file lock. No update is lost, no file is
//! corrupt, the audit log has exactly 400 records with the distinct consecutive
//! revisions 1..=400, and the files equal what the log says (the last `after` hash of
//! each path), which is also what each process asked for, in its order.
//!
//! The test re-executes its own binary (`std::env::current_exe()`), selecting the
//! ignored test `two_process_child` with environment variables, as `ssot-version`'s
//! crash test does. Both children report `READY` on stdout and wait on stdin, so the
//! parent starts them together; no timing is involved.
#![cfg(all(unix, feature = "store"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use ssot_core::format::edit::Position;
use ssot_core::store::{Operation, Store};
use ssot_core::{Status, Task, TaskId};

const ROOT_ENV: &str = "SSOT_STORE_TWO_PROCESS_ROOT";
const WHO_ENV: &str = "SSOT_STORE_TWO_PROCESS_WHO";
const CHANGES: usize = 200;

/// The changes of process `who`: 200 new tasks in the shared file, every tenth one
/// then marked done (the `i`-th change is the add of `who-i`, or the done of it).
fn changes(who: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < CHANGES {
        let id = format!("{who}-{i}");
        out.push((id.clone(), false));
        if i % 10 == 9 && out.len() < CHANGES {
            out.push((id, true));
        }
        i += 1;
    }
    out
}

#[test]
#[ignore = "the child process of two_processes_making_200_changes_each_lose_nothing"]
fn two_process_child() {
    let Ok(root) = std::env::var(ROOT_ENV) else {
        return;
    };
    let who = std::env::var(WHO_ENV).unwrap();
    let store = Store::builder().actor(who.clone()).open(&root).unwrap();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "READY").unwrap();
        out.flush().unwrap();
    }
    std::io::stdin().read_exact(&mut [0u8; 1]).unwrap();
    for (id, done) in changes(&who) {
        if done {
            store.set_status(&id, Status::Done).map(drop).unwrap();
        } else {
            let task = Task::new(TaskId::new(&id).unwrap(), format!("Task {id}"));
            store
                .add_task("shared.md", task, Position::End)
                .map(drop)
                .unwrap();
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "DONE").unwrap();
    out.flush().unwrap();
}

fn spawn(root: &std::path::Path, who: &str) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "two_process_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROOT_ENV, root)
        .env(WHO_ENV, who)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// Reads lines until one contains `word` (libtest may print before it on the line).
fn wait_for(stdout: &mut BufReader<std::process::ChildStdout>, word: &str) {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "child ended before `{word}`:\n{seen}"
        );
        if line.contains(word) {
            return;
        }
        seen.push_str(&line);
    }
}

#[test]
fn two_processes_making_200_changes_each_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // No file yet: the first change creates it. (A file present before the first
    // revision would be recorded as its baseline, an `External` record.)
    let store = Store::init(dir.path()).unwrap();

    let mut children: Vec<_> = ["a", "b"].iter().map(|w| spawn(dir.path(), w)).collect();
    for (_, stdout) in &mut children {
        wait_for(stdout, "READY");
    }
    for (child, _) in &mut children {
        child.stdin.as_mut().unwrap().write_all(b"g").unwrap();
    }
    for (mut child, mut stdout) in children {
        wait_for(&mut stdout, "DONE");
        assert!(child.wait().unwrap().success());
    }

    // Exactly 400 records, revisions 1..=400, one each, chained.
    let check = store.verify_audit().unwrap();
    assert!(check.first_bad.is_none(), "{check:?}");
    let log = store.audit_log().unwrap();
    assert_eq!(log.len(), 2 * CHANGES);
    assert_eq!(check.records, 2 * CHANGES as u64);
    for (i, record) in log.iter().enumerate() {
        assert_eq!(record.revision, i as u64 + 1, "{record:?}");
        assert_eq!(record.path, "shared.md");
    }
    assert_eq!(store.revision().unwrap(), 2 * CHANGES as u64);

    // Each process's records are its changes, in its order.
    for who in ["a", "b"] {
        let done: Vec<(String, bool)> = log
            .iter()
            .filter(|r| r.actor == who)
            .map(|r| match &r.operation {
                Operation::AddTask { id } => (id.clone(), false),
                Operation::SetStatus { id, .. } => (id.clone(), true),
                other => panic!("unexpected operation {other:?}"),
            })
            .collect();
        assert_eq!(done, changes(who), "the records of {who}");
    }
    // How often the commits alternated between the processes (information only: the
    // order is the scheduler's, so nothing is asserted about it).
    let switches = log.windows(2).filter(|w| w[0].actor != w[1].actor).count();
    eprintln!("the two processes' commits alternated {switches} times");
    // The chain of hashes: each record's `before` is the previous record's `after`
    // (the file's content at that revision), so no write slipped in unrecorded.
    for pair in log.windows(2) {
        assert_eq!(pair[1].before, pair[0].after, "{:?}", pair[1]);
    }

    // The file equals the log's replay: its hash is the last `after`, and it holds
    // every task, each with the status its process left it in.
    let bytes = std::fs::read(dir.path().join("shared.md")).unwrap();
    assert_eq!(
        Some(blake3::hash(&bytes).to_hex().to_string()),
        log.last().unwrap().after
    );
    let file = store.task_file("shared.md").unwrap();
    let statuses: BTreeMap<String, Status> = file
        .tasks()
        .iter()
        .map(|t| (t.id.to_string(), t.status()))
        .collect();
    let mut expected = BTreeMap::new();
    for who in ["a", "b"] {
        for (id, done) in changes(who) {
            expected.insert(id, if done { Status::Done } else { Status::Pending });
        }
    }
    assert_eq!(statuses, expected);
    assert!(store.validate().unwrap().problems().is_empty());
    let drift = store.drift().unwrap();
    assert!(drift.is_empty(), "{drift:?}");
}
