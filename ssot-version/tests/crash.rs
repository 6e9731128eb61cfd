//! Crash safety of rollback and write: a child process performing a rollback (or a
//! `write` of many files) is stopped at each crash point in turn and killed with
//! SIGKILL; after reopening the store the tree equals exactly the old version or the
//! target (every path of the write old, or every one new), never a mix.
//!
//! The test re-executes its own binary (`std::env::current_exe()`), selecting the
//! ignored test `crash_child` with environment variables. The child installs a fault
//! hook (the crate's test-only `fault-injection` feature) that, at crash point *k*,
//! reports the point on stdout and blocks reading stdin; the parent then kills it with
//! `Child::kill` (SIGKILL on Unix). No timing is involved. Each point where the
//! journal was committed is also exercised a second time by crashing the recovery
//! itself at its first step.
#![cfg(unix)]
// Test helpers outside #[test] functions fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Tree, read_tree, tree, write_tree};
use ssot_version::{VersionStore, set_fault_hook};

const ROOT_ENV: &str = "SSOT_VERSION_CRASH_ROOT";
const STEP_ENV: &str = "SSOT_VERSION_CRASH_STEP";
const TARGET_ENV: &str = "SSOT_VERSION_CRASH_TARGET";
const MODE_ENV: &str = "SSOT_VERSION_CRASH_MODE";
const LOG_ENV: &str = "SSOT_VERSION_CRASH_LOG";

static STEP: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);

fn hook(name: &'static str) {
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if n == STEP.load(Ordering::SeqCst) {
        let mut out = std::io::stdout().lock();
        writeln!(out, "CRASH {n} {name}").unwrap();
        out.flush().unwrap();
        // Wait to be killed. If the parent went away instead, die anyway.
        let _ = std::io::stdin().read(&mut [0u8; 1]);
        std::process::abort();
    }
}

#[test]
#[ignore = "the child process of crash_at_every_step_leaves_exactly_one_version"]
fn crash_child() {
    let Ok(root) = std::env::var(ROOT_ENV) else {
        return;
    };
    let step: u64 = std::env::var(STEP_ENV).unwrap().parse().unwrap();
    STEP.store(step, Ordering::SeqCst);
    let mode = std::env::var(MODE_ENV).unwrap();
    if mode == "open" {
        set_fault_hook(Some(hook));
        let _store = open_with_log(Path::new(&root));
    } else if let Some(variant) = mode.strip_prefix("write-") {
        let store = open_with_log(Path::new(&root));
        set_fault_hook(Some(hook));
        store
            .write_with(write_set(variant), |w| append_log(&w.note))
            .unwrap();
    } else {
        let store = VersionStore::open(&root).unwrap();
        set_fault_hook(Some(hook));
        store.rollback(&std::env::var(TARGET_ENV).unwrap()).unwrap();
    }
    set_fault_hook(None);
    let mut out = std::io::stdout().lock();
    writeln!(out, "DONE {}", COUNT.load(Ordering::SeqCst)).unwrap();
    out.flush().unwrap();
}

/// Opens the store with a recovery hook that appends each note to the log file named
/// by `LOG_ENV` (as ssot-core appends its audit record), if the variable is set.
fn open_with_log(root: &Path) -> VersionStore {
    VersionStore::builder(root)
        .on_recover(|w| append_log(&w.note))
        .open()
        .unwrap()
}

fn append_log(note: &[u8]) -> std::io::Result<()> {
    let Ok(log) = std::env::var(LOG_ENV) else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    f.write_all(note)?;
    f.write_all(b"\n")?;
    f.sync_all()
}

enum Outcome {
    Crashed(String),
    Done(u64),
}

fn run_child(root: &Path, mode: &str, step: u64, target: &str) -> Outcome {
    run_child_logging(root, mode, step, target, None)
}

fn run_child_logging(
    root: &Path,
    mode: &str,
    step: u64,
    target: &str,
    note_log: Option<&Path>,
) -> Outcome {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    if let Some(note_log) = note_log {
        command.env(LOG_ENV, note_log);
    }
    let mut child = command
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROOT_ENV, root)
        .env(STEP_ENV, step.to_string())
        .env(TARGET_ENV, target)
        .env(MODE_ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log.path()).unwrap())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        // libtest may print `test crash_child ... ` on the same line first.
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
    let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
    panic!("child ended without reporting ({status:?}):\n{seen}\n{stderr}");
}

fn target_tree() -> Tree {
    let mut t = tree(&[
        ("a", "alpha"),
        ("b/c", "see"),
        ("d", "delta"),
        ("e/f/g", "deep"),
        ("s", "same"),
    ]);
    t.get_mut("d").unwrap().1 = true;
    t
}

fn old_tree() -> Tree {
    tree(&[
        ("a", "ALPHA, changed"),
        ("d", "delta"),
        ("e", "e is a file now"),
        ("h/i", "new in a new dir"),
        ("new", "new file"),
        ("s", "same"),
    ])
}

/// A store whose head is `old_tree()` (also on disk) with `target_tree()` one version
/// back; returns the target's id.
fn setup(root: &Path) -> String {
    write_tree(root, &target_tree());
    let store = VersionStore::open(root).unwrap();
    let target = store.snapshot("target").unwrap();
    common::clear(root, &|_| false);
    write_tree(root, &old_tree());
    store.snapshot("old").unwrap();
    target.id().to_string()
}

/// Reopens the store (which recovers) and checks the tree is exactly one version.
fn check(root: &Path, target: &str) -> bool {
    let store = VersionStore::open(root).unwrap();
    let now = read_tree(root);
    let at_target = now == target_tree();
    assert!(
        at_target || now == old_tree(),
        "tree is a mix: {:?}",
        now.keys().collect::<Vec<_>>()
    );
    let head = store.head().unwrap().unwrap();
    let head_paths: Vec<&str> = head.files().iter().map(|f| f.path.as_str()).collect();
    let tree_paths: Vec<&str> = now.keys().map(String::as_str).collect();
    assert_eq!(
        head_paths, tree_paths,
        "HEAD names the version the tree equals"
    );
    assert_eq!(
        head.restored_from().map(|id| id.as_str()) == Some(target),
        at_target
    );
    assert!(store.status().unwrap().is_empty());
    assert!(!root.join(".ssot/versions/journal").exists());
    assert!(store.verify().unwrap().is_ok());
    // Nothing was edited after the crash, so recovery recorded no version of its
    // own: the history is the rollback's version (if it happened), "old", "target".
    let descriptions: Vec<String> = store
        .history()
        .unwrap()
        .iter()
        .map(|v| v.description().to_owned())
        .collect();
    let rollback = format!("rollback to {}", &target[..12]);
    let expected: &[&str] = if at_target {
        &[&rollback, "old", "target"]
    } else {
        &["old", "target"]
    };
    assert_eq!(descriptions, expected);
    at_target
}

#[test]
fn crash_at_every_step_leaves_exactly_one_version() {
    // A full run counts the crash points.
    let dir = tempfile::tempdir().unwrap();
    let target = setup(dir.path());
    let Outcome::Done(points) = run_child(dir.path(), "rollback", 0, &target) else {
        panic!("no crash was requested");
    };
    assert!(check(dir.path(), &target));
    // 4 staged, journal committed (with the staged files, in one round), 3 deletes,
    // 4 restores, manifest, head, synced, journal removed.
    assert_eq!(points, 16, "the crash points of this rollback");

    let (mut old, mut new) = (0, 0);
    for step in 1..=points {
        let dir = tempfile::tempdir().unwrap();
        let target = setup(dir.path());
        let Outcome::Crashed(at) = run_child(dir.path(), "rollback", step, &target) else {
            panic!("step {step} was not reached");
        };
        let committed = dir.path().join(".ssot/versions/journal").exists();
        if committed {
            // Crash the recovery too, at its first step, then recover for real.
            let _ = run_child(dir.path(), "open", 1, &target);
        }
        if check(dir.path(), &target) {
            new += 1;
        } else {
            old += 1;
            assert!(
                !committed,
                "a committed rollback must be finished (crash at {at})"
            );
        }
    }
    assert!(
        old > 0 && new > 0,
        "crashes before and after the commit point: {old} old, {new} new"
    );
}

/// A crash during recovery itself, at every one of its crash points, for a rollback
/// crashed at each point after its commit: the next open still finishes it.
#[test]
fn crash_at_every_step_of_recovery_still_finishes_the_rollback() {
    let mut recovery_points_seen = 0;
    for step in 1..=16 {
        for recovery_step in 1..=64 {
            let dir = tempfile::tempdir().unwrap();
            let target = setup(dir.path());
            let Outcome::Crashed(_) = run_child(dir.path(), "rollback", step, &target) else {
                panic!("step {step} was not reached");
            };
            if !dir.path().join(".ssot/versions/journal").exists() {
                break;
            }
            match run_child(dir.path(), "open", recovery_step, &target) {
                Outcome::Crashed(at) => {
                    recovery_points_seen += 1;
                    assert!(
                        check(dir.path(), &target),
                        "rollback crashed at {step}, recovery at {at}: not finished"
                    );
                }
                Outcome::Done(_) => {
                    assert!(check(dir.path(), &target));
                    break;
                }
            }
            assert!(recovery_step < 64, "recovery never completed");
        }
    }
    assert!(
        recovery_points_seen > 16,
        "recovery was crashed at {recovery_points_seen} points in all"
    );
}

const EDITED_A: &[u8] = b"edited after the crash";
const EDITED_NEW: &[u8] = b"recreated after the crash";

/// Edits two files a rollback journaled: `a` (which it restores) and `new` (which it
/// deletes).
fn edit_journaled_files(root: &Path) {
    std::fs::write(root.join("a"), EDITED_A).unwrap();
    std::fs::write(root.join("new"), EDITED_NEW).unwrap();
}

/// Opens the store (finishing the rollback) and checks that the edits of
/// `edit_journaled_files` are in the version just before the rollback's, from which
/// they come back.
fn check_edits_kept(root: &Path, target: &str, at: &str) {
    let store = VersionStore::open(root).unwrap();
    assert_eq!(read_tree(root), target_tree(), "crash at {at}");
    let history = store.history().unwrap();
    let head = &history[0];
    assert_eq!(
        head.restored_from().unwrap().as_str(),
        target,
        "crash at {at}"
    );
    let kept = &history[1];
    assert_eq!(head.parent(), Some(kept.id()), "crash at {at}");
    assert_eq!(
        kept.file("a").unwrap().hash,
        ssot_version::ObjectHash::of(EDITED_A),
        "crash at {at}: the edit of `a` is in the version before the rollback's"
    );
    assert_eq!(
        kept.file("new").unwrap().hash,
        ssot_version::ObjectHash::of(EDITED_NEW),
        "crash at {at}"
    );
    assert!(store.verify().unwrap().is_ok());
    // And it comes back.
    store.rollback(kept.id().as_str()).unwrap();
    assert_eq!(std::fs::read(root.join("a")).unwrap(), EDITED_A);
    assert_eq!(std::fs::read(root.join("new")).unwrap(), EDITED_NEW);
}

/// Item 1 of the review: files the rollback journaled, edited between the crash and
/// the next open. Recovery must not destroy the edits: it finishes the rollback, and
/// the edits are recorded first, as the parent of the rollback's version.
#[test]
fn an_edit_made_after_a_crash_survives_recovery_in_history() {
    let mut committed_steps = 0;
    for step in 1..=16 {
        let dir = tempfile::tempdir().unwrap();
        let target = setup(dir.path());
        let Outcome::Crashed(at) = run_child(dir.path(), "rollback", step, &target) else {
            panic!("step {step} was not reached");
        };
        if !dir.path().join(".ssot/versions/journal").exists() {
            continue;
        }
        committed_steps += 1;
        edit_journaled_files(dir.path());
        check_edits_kept(dir.path(), &target, &at);
    }
    assert!(
        committed_steps >= 10,
        "{committed_steps} committed crash points"
    );
}

/// The same, with the recovery that records the edits itself killed at each of its
/// first steps (the edits recorded, the journal rewritten, the first deletion).
#[test]
fn an_edit_survives_a_crash_of_the_recovery_that_records_it() {
    let mut recovery_points = std::collections::BTreeSet::new();
    for step in [5, 9, 15] {
        for recovery_step in 1..=3 {
            let dir = tempfile::tempdir().unwrap();
            let target = setup(dir.path());
            let Outcome::Crashed(at) = run_child(dir.path(), "rollback", step, &target) else {
                panic!("step {step} was not reached");
            };
            assert!(dir.path().join(".ssot/versions/journal").exists(), "{at}");
            edit_journaled_files(dir.path());
            let Outcome::Crashed(recovery_at) =
                run_child(dir.path(), "open", recovery_step, &target)
            else {
                panic!("recovery step {recovery_step} was not reached");
            };
            check_edits_kept(dir.path(), &target, &format!("{at}, then {recovery_at}"));
            recovery_points.insert(recovery_at.split_once(' ').unwrap().1.to_owned());
        }
    }
    assert!(
        recovery_points.contains("recovery: edits recorded"),
        "{recovery_points:?}"
    );
    assert!(
        recovery_points.contains("recovery: journal rewritten"),
        "{recovery_points:?}"
    );
}

// ----- write -----

const NOTE: &str = "audit: the write";

/// The write every crash test of `write` performs: changes, a new file in new
/// directories, deletions (one leaving a directory empty), a note; `record` also
/// records a version (its new objects go through a pack), `plain` does not (its bytes
/// go inline in the journal).
fn write_set(variant: &str) -> ssot_version::WriteSet {
    let set = ssot_version::WriteSet::new()
        .put("a", "ALPHA, written")
        .put("b/c", "SEE, written")
        .put("new/dir/f", "new file")
        .delete("d")
        .delete("gone/x")
        .expect("a", Some(ssot_version::ObjectHash::of(b"alpha")))
        .note(NOTE);
    match variant {
        "record" => set.record_version("the write"),
        // More new bytes than go inline in the journal: a pack, durable before it.
        "large" => set.put("big", big()).record_version("the write"),
        _ => set,
    }
}

fn write_old_tree() -> Tree {
    tree(&[
        ("a", "alpha"),
        ("b/c", "see"),
        ("d", "delta"),
        ("gone/x", "bye"),
        ("s", "same"),
    ])
}

fn write_new_tree() -> Tree {
    tree(&[
        ("a", "ALPHA, written"),
        ("b/c", "SEE, written"),
        ("new/dir/f", "new file"),
        ("s", "same"),
    ])
}

/// A store at `write_old_tree()` with one version, "base".
fn write_setup(root: &Path) {
    write_tree(root, &write_old_tree());
    VersionStore::open(root).unwrap().snapshot("base").unwrap();
}

/// Reopens the store (which recovers, calling the hook) and checks that every path
/// of the write is old or every one new, `HEAD` agrees, and the note was seen (by
/// `finish` or the recovery hook) exactly when the write happened. Returns whether it
/// did.
fn write_check(root: &Path, variant: &str, log: &Path, at: &str) -> bool {
    let store = open_with_log_at(root, log);
    let mut now = read_tree(root);
    let big_written = now.remove("big").map(|(bytes, _)| bytes);
    let new = now == write_new_tree();
    if variant == "large" {
        assert_eq!(
            big_written.is_some(),
            new,
            "crash at {at}: `big` and the rest disagree"
        );
        assert!(
            big_written.is_none_or(|b| b == big()),
            "crash at {at}: `big` is torn"
        );
    }
    assert!(
        new || now == write_old_tree(),
        "crash at {at}: the tree is a mix: {now:?}"
    );
    assert!(
        !root.join(".ssot/versions/journal").exists(),
        "crash at {at}"
    );
    let history: Vec<String> = store
        .history()
        .unwrap()
        .iter()
        .map(|v| v.description().to_owned())
        .collect();
    let recorded = variant != "plain" && new;
    let expected: &[&str] = if recorded {
        &["the write", "base"]
    } else {
        &["base"]
    };
    assert_eq!(history, expected, "crash at {at}");
    let head = store.head().unwrap().unwrap();
    if recorded || !new {
        let head_paths: Vec<&str> = head.files().iter().map(|f| f.path.as_str()).collect();
        let on_disk: Vec<String> = read_tree(root).into_keys().collect();
        assert_eq!(head_paths, on_disk, "crash at {at}: HEAD names the tree");
        assert!(store.status().unwrap().is_empty(), "crash at {at}");
    }
    assert!(store.verify().unwrap().is_ok(), "crash at {at}");
    let notes = std::fs::read_to_string(log).unwrap_or_default();
    let seen = notes.lines().filter(|l| *l == NOTE).count();
    if new {
        assert!(seen >= 1, "crash at {at}: the note was never handed back");
    } else {
        assert_eq!(
            seen, 0,
            "crash at {at}: a write that did not happen was finished"
        );
    }
    new
}

fn open_with_log_at(root: &Path, log: &Path) -> VersionStore {
    let log = log.to_owned();
    VersionStore::builder(root)
        .on_recover(move |w| {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)?;
            f.write_all(&w.note)?;
            f.write_all(b"\n")
        })
        .open()
        .unwrap()
}

/// A write killed at each of its crash points, and its recovery killed at its first
/// step, then at each of its own crash points: after the next open every path of the
/// set is all old or all new, `HEAD` agrees, the note was handed back once the write
/// happened. For both a write that records a version (through a pack) and one that
/// does not (bytes inline in the journal), and one too large for the journal (its
/// pack is made durable before the journal is).
#[test]
fn a_write_crashed_at_every_step_and_every_recovery_step_is_all_or_nothing() {
    for variant in ["plain", "record", "large"] {
        let mode = format!("write-{variant}");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let log = dir.path().join("notes");
        write_setup(&root);
        let Outcome::Done(points) = run_child_logging(&root, &mode, 0, "", Some(&log)) else {
            panic!("no crash was requested");
        };
        assert!(write_check(&root, variant, &log, "nowhere"));
        assert!(points >= 12, "{variant}: {points} crash points");

        let (mut old, mut new, mut recovery_points) = (0, 0, 0);
        for step in 1..=points {
            for recovery_step in 0..=64 {
                let dir = tempfile::tempdir().unwrap();
                let root = dir.path().join("root");
                std::fs::create_dir(&root).unwrap();
                let log = dir.path().join("notes");
                write_setup(&root);
                let Outcome::Crashed(at) = run_child_logging(&root, &mode, step, "", Some(&log))
                else {
                    panic!("{variant}: step {step} was not reached");
                };
                let committed = root.join(".ssot/versions/journal").exists();
                let mut at = at;
                if committed && recovery_step > 0 {
                    match run_child_logging(&root, "open", recovery_step, "", Some(&log)) {
                        Outcome::Crashed(r) => {
                            recovery_points += 1;
                            at = format!("{at}, then recovery at {r}");
                        }
                        Outcome::Done(_) => {
                            write_check(&root, variant, &log, &at);
                            break;
                        }
                    }
                }
                if write_check(&root, variant, &log, &at) {
                    new += 1;
                } else {
                    old += 1;
                }
                if !committed {
                    break;
                }
                assert!(recovery_step < 64, "recovery never completed");
            }
        }
        assert!(
            old > 0 && new > 0,
            "{variant}: crashes before and after the commit point: {old} old, {new} new"
        );
        assert!(
            recovery_points > points / 2,
            "{variant}: {recovery_points} recovery crashes"
        );
    }
}

/// The large variant's extra file: more than the 1 MiB that goes inline.
fn big() -> Vec<u8> {
    (0..1_100_000u32).map(|i| b'a' + (i % 26) as u8).collect()
}
