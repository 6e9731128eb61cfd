//! `VersionStore::write`: puts, deletes, expectations, notes, recorded versions,
//! refused paths, the empty set, the finish step and its recovery, and a property
//! test against a model of the tree. Crashes (SIGKILL at every crash point) are in
//! `crash.rs`.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{read_tree, tree, write_tree};
use proptest::prelude::*;
use ssot_version::{Error, ObjectHash, VersionStore, WriteSet, set_fault_hook};

/// The fault hook is process-wide: tests that install one, and tests that must not
/// meet one, take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn journal(root: &Path) -> std::path::PathBuf {
    root.join(".ssot/versions/journal")
}

fn contents(root: &Path) -> BTreeMap<String, String> {
    read_tree(root)
        .into_iter()
        .map(|(p, (c, _))| (p, String::from_utf8(c).unwrap()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect()
}

#[test]
fn puts_and_deletes_are_applied_and_reported() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(
        root,
        &tree(&[("a", "old a"), ("d/gone", "bye"), ("keep", "k")]),
    );
    let store = VersionStore::open(root).unwrap();
    let written = store
        .write(
            WriteSet::new()
                .put("a", "new a")
                .put("x/y/z.md", "deep new")
                .delete("d/gone")
                .delete("never-existed"),
        )
        .unwrap();
    assert_eq!(
        contents(root),
        map(&[("a", "new a"), ("keep", "k"), ("x/y/z.md", "deep new")])
    );
    assert!(
        !root.join("d").exists(),
        "a directory left empty is removed"
    );
    assert_eq!(
        written.files,
        vec![
            ("a".to_owned(), Some(ObjectHash::of(b"new a"))),
            ("d/gone".to_owned(), None),
            ("never-existed".to_owned(), None),
            ("x/y/z.md".to_owned(), Some(ObjectHash::of(b"deep new"))),
        ]
    );
    assert!(written.version.is_none());
    assert!(written.note.is_empty());
    assert!(!journal(root).exists());
    assert!(
        store.history().unwrap().is_empty(),
        "no version was recorded"
    );
}

#[test]
fn a_replaced_file_keeps_its_executable_bit() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut t = tree(&[("run.sh", "echo 1")]);
    t.get_mut("run.sh").unwrap().1 = true;
    write_tree(root, &t);
    let store = VersionStore::open(root).unwrap();
    store
        .write(WriteSet::new().put("run.sh", "echo 2").put("new.sh", "x"))
        .unwrap();
    let now = read_tree(root);
    assert_eq!(now["run.sh"], (b"echo 2".to_vec(), true));
    assert_eq!(now["new.sh"], (b"x".to_vec(), false));
}

#[test]
fn record_version_records_the_newest_version_with_the_set_applied() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a.md", "a"), ("b.md", "b")]));
    let store = VersionStore::builder(root).exclude("*.log").open().unwrap();
    let first = store.snapshot("first").unwrap();
    // Drift outside the set is not recorded by the write.
    std::fs::write(root.join("b.md"), "b drifted").unwrap();
    let written = store
        .write(
            WriteSet::new()
                .put("a.md", "a2")
                .put("c.md", "c")
                .put("audit.log", "untracked")
                .delete("b.md")
                .record_version("edit a, add c"),
        )
        .unwrap();
    let v = written.version.unwrap();
    assert_eq!(v.description(), "edit a, add c");
    assert_eq!(v.parent(), Some(first.id()));
    let paths: Vec<&str> = v.files().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["a.md", "c.md"],
        "excluded paths are written, not recorded"
    );
    assert_eq!(v.file("a.md").unwrap().hash, ObjectHash::of(b"a2"));
    assert_eq!(store.head().unwrap().unwrap().id(), v.id());
    assert_eq!(std::fs::read(root.join("audit.log")).unwrap(), b"untracked");
    assert!(store.status().unwrap().is_empty());
    assert!(store.verify().unwrap().is_ok(), "every object is stored");
    // And it rolls back like any version.
    store.rollback(first.id().as_str()).unwrap();
    assert_eq!(std::fs::read(root.join("a.md")).unwrap(), b"a");
    store.rollback(v.id().as_str()).unwrap();
    assert_eq!(std::fs::read(root.join("c.md")).unwrap(), b"c");
}

/// A file under an excluded directory is hidden from scans even if its own path
/// matches no glob: `record_version` leaves it out too, so the tree stays clean.
#[test]
fn record_version_leaves_out_files_under_an_excluded_directory() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::builder(root).exclude("build").open().unwrap();
    let w = store
        .write(
            WriteSet::new()
                .put("build/out/x.bin", "artifact")
                .put("src.md", "source")
                .record_version("v"),
        )
        .unwrap();
    let v = w.version.unwrap();
    let paths: Vec<&str> = v.files().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["src.md"]);
    assert_eq!(
        std::fs::read(root.join("build/out/x.bin")).unwrap(),
        b"artifact"
    );
    assert!(store.status().unwrap().is_empty());
    assert_eq!(store.snapshot("again").unwrap().id(), v.id());
}

#[test]
fn record_version_of_an_unchanged_tree_returns_the_newest_version() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a", "same")]));
    let store = VersionStore::open(root).unwrap();
    let head = store.snapshot("s").unwrap();
    let w = store
        .write(WriteSet::new().put("a", "same").record_version("no-op"))
        .unwrap();
    assert_eq!(w.version.unwrap().id(), head.id());
    assert_eq!(store.history().unwrap().len(), 1);
    // Before any version: an empty set records nothing.
    let dir = tempfile::tempdir().unwrap();
    let store = VersionStore::open(dir.path()).unwrap();
    let w = store.write(WriteSet::new().record_version("x")).unwrap();
    assert!(w.version.is_none());
    // But a first write may be the first version.
    let w = store
        .write(WriteSet::new().put("f", "1").record_version("first"))
        .unwrap();
    assert_eq!(w.version.unwrap().parent(), None);
}

#[test]
fn a_failed_expectation_is_a_conflict_and_writes_nothing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a", "current")]));
    let store = VersionStore::open(root).unwrap();
    let stale = ObjectHash::of(b"what I read earlier");
    let err = store
        .write(
            WriteSet::new()
                .put("a", "mine")
                .put("b", "also mine")
                .expect("a", Some(stale)),
        )
        .unwrap_err();
    match &err {
        Error::Conflict {
            path,
            expected,
            found,
        } => {
            assert_eq!(path, "a");
            assert_eq!(*expected, Some(stale));
            assert_eq!(*found, Some(ObjectHash::of(b"current")));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("`a`"), "{err}");
    assert_eq!(contents(root), map(&[("a", "current")]));

    // Must not exist, but does.
    let err = store
        .write(WriteSet::new().put("a", "x").expect("a", None))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Conflict {
                expected: None,
                found: Some(_),
                ..
            }
        ),
        "{err}"
    );
    // Must exist, but does not.
    let err = store
        .write(WriteSet::new().expect("missing", Some(ObjectHash::of(b"x"))))
        .unwrap_err();
    assert!(matches!(&err, Error::Conflict { found: None, .. }), "{err}");

    // Expectations that hold.
    store
        .write(
            WriteSet::new()
                .put("a", "next")
                .put("b", "new")
                .expect("a", Some(VersionStore::hash_bytes(b"current")))
                .expect("b", None),
        )
        .unwrap();
    assert_eq!(contents(root), map(&[("a", "next"), ("b", "new")]));
}

#[test]
fn unsafe_paths_are_refused_before_anything_is_written() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("f"), root.join("filelink")).unwrap();
    let store = VersionStore::open(root).unwrap();
    for bad in [
        "../escape",
        "/etc/passwd",
        "a/../../b",
        "a//b",
        "./a",
        "a/",
        "",
        ".ssot/versions/HEAD",
        ".SSOT/Versions/HEAD",
        ".ssot/other",
        "link/inside",
        "filelink",
    ] {
        for set in [
            WriteSet::new().put("ok", "fine").put(bad, "x"),
            WriteSet::new().put("ok", "fine").delete(bad),
            WriteSet::new().put("ok", "fine").expect(bad, None),
        ] {
            let err = store.write(set).unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "`{bad}`: {err}");
            assert!(!root.join("ok").exists(), "`{bad}`: nothing written");
        }
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

    // A file and a directory at once.
    let err = store
        .write(WriteSet::new().put("a", "1").put("a/b", "2"))
        .unwrap_err();
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
    // `a-b` sorts between `a` and `a/b`: still found.
    let err = store
        .write(
            WriteSet::new()
                .put("a", "1")
                .put("a-b", "2")
                .put("a/b", "3"),
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
    assert!(!root.join("a").exists());
}

#[test]
fn directories_and_files_in_the_way_are_blocked_unless_the_set_clears_them() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("d/x", "x"), ("f", "file")]));
    let store = VersionStore::open(root).unwrap();
    for set in [
        WriteSet::new().put("d", "over a directory"),
        WriteSet::new().delete("d"),
        WriteSet::new().expect("d", None),
        WriteSet::new().put("f/under", "a file where a directory must go"),
    ] {
        let err = store.write(set).unwrap_err();
        assert!(matches!(err, Error::Blocked { .. }), "{err}");
    }
    assert_eq!(contents(root), map(&[("d/x", "x"), ("f", "file")]));
    // Deleting what is in the way makes room, in the same set.
    store
        .write(
            WriteSet::new()
                .delete("d/x")
                .put("d", "now a file")
                .delete("f")
                .put("f/under", "now a directory"),
        )
        .unwrap();
    assert_eq!(
        contents(root),
        map(&[("d", "now a file"), ("f/under", "now a directory")])
    );
}

#[test]
fn an_empty_set_writes_nothing_but_calls_finish_with_the_note() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::open(root).unwrap();
    let set = WriteSet::new().note(b"audit".to_vec());
    assert!(set.is_empty());
    let mut seen = None;
    let w = store
        .write_with(set, |w| {
            seen = Some(w.note.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(seen.as_deref(), Some(&b"audit"[..]));
    assert!(w.files.is_empty());
    assert_eq!(contents(root), BTreeMap::new());
    assert!(!WriteSet::new().put("a", "").is_empty());
}

#[test]
fn finish_runs_with_the_files_in_place_before_the_journal_is_removed() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let store = VersionStore::open(&root).unwrap();
    let mut calls = 0;
    let w = store
        .write_with(
            WriteSet::new()
                .put("a", "1")
                .note("record 1")
                .record_version("v"),
            |w| {
                calls += 1;
                assert_eq!(std::fs::read(root.join("a")).unwrap(), b"1");
                assert!(journal(&root).exists(), "the journal is still there");
                assert_eq!(w.note, b"record 1");
                assert!(w.version.is_some());
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(w.note, b"record 1");
    assert!(!journal(&root).exists());
}

#[test]
fn a_failed_finish_leaves_the_journal_and_recovery_calls_the_hook_with_the_note() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let hook = |seen: &Arc<Mutex<Vec<Vec<u8>>>>| {
        let seen = Arc::clone(seen);
        move |w: &ssot_version::Written| {
            seen.lock().unwrap().push(w.note.clone());
            Ok(())
        }
    };
    let store = VersionStore::builder(root)
        .on_recover(hook(&seen))
        .open()
        .unwrap();
    let err = store
        .write_with(
            WriteSet::new().put("a", "1").delete("b").note("audit 7"),
            |_| Err(std::io::Error::other("disk full")),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Finish { .. }), "{err}");
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(journal(root).exists());
    assert_eq!(std::fs::read(root.join("a")).unwrap(), b"1");
    assert!(seen.lock().unwrap().is_empty());
    // The next operation recovers, calling the hook once.
    store.status().unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![b"audit 7".to_vec()]);
    assert!(!journal(root).exists());
    store.status().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_failing_recovery_hook_fails_the_open_and_keeps_the_journal() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::open(root).unwrap();
    let _ = store
        .write_with(WriteSet::new().put("a", "1"), |_| {
            Err(std::io::Error::other("no"))
        })
        .unwrap_err();
    drop(store);
    let failing = VersionStore::builder(root)
        .on_recover(|_| Err(std::io::Error::other("audit log unavailable")))
        .open()
        .unwrap_err();
    assert!(matches!(failing, Error::Finish { .. }), "{failing}");
    assert!(journal(root).exists());
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    VersionStore::builder(root)
        .on_recover(move |w| {
            assert_eq!(w.files, vec![("a".to_owned(), Some(ObjectHash::of(b"1")))]);
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .open()
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(!journal(root).exists());
}

#[test]
fn large_contents_go_through_a_pack_and_verify() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::open(root).unwrap();
    // More than the 1 MiB that goes inline in the journal.
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    store
        .write(
            WriteSet::new()
                .put("big.bin", big.clone())
                .put("small", "s"),
        )
        .unwrap();
    assert_eq!(std::fs::read(root.join("big.bin")).unwrap(), big);
    assert!(store.verify().unwrap().is_ok());
    let w = store
        .write(
            WriteSet::new()
                .put("big2.bin", big.clone())
                .record_version("big"),
        )
        .unwrap();
    assert!(w.version.is_some());
    assert!(store.verify().unwrap().is_ok());
}

fn crash_at_commit(name: &'static str) {
    if name == "journal: committed" {
        panic!("simulated crash at {name}");
    }
}

fn packs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root.join(".ssot/versions/packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Commits a write and "crashes" right after the commit, then deletes the pack the
/// write added, as a power loss may lose its directory entry; returns the store's
/// root state for the caller to reopen.
fn committed_write_losing_its_pack(root: &Path, set: WriteSet) {
    let store = VersionStore::open(root).unwrap();
    let before = packs(root);
    set_fault_hook(Some(crash_at_commit));
    let result = catch_unwind(AssertUnwindSafe(|| store.write(set)));
    set_fault_hook(None);
    assert!(result.is_err());
    assert!(journal(root).exists());
    let added: Vec<_> = packs(root)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    for p in added {
        std::fs::remove_file(p).unwrap();
    }
}

/// A small write that records a version renames its pack only after the commit; if
/// that pack is lost, recovery rebuilds it from the bytes inline in the journal.
#[test]
fn recovery_rebuilds_a_lost_pack_whose_bytes_are_in_the_journal() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a", "a0")]));
    VersionStore::open(root).unwrap().snapshot("base").unwrap();
    committed_write_losing_its_pack(
        root,
        WriteSet::new()
            .put("a", "a1")
            .put("b", "b1")
            .record_version("v"),
    );
    let store = VersionStore::open(root).unwrap();
    assert_eq!(contents(root), map(&[("a", "a1"), ("b", "b1")]));
    assert_eq!(store.head().unwrap().unwrap().description(), "v");
    assert!(
        store.verify().unwrap().is_ok(),
        "the objects are stored again"
    );
}

/// A write too large for the journal makes its pack durable before the journal; a
/// journal whose pack is missing was therefore never committed, and is dropped.
#[test]
fn recovery_drops_a_journal_whose_early_pack_is_missing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a", "a0")]));
    VersionStore::open(root).unwrap().snapshot("base").unwrap();
    let big = vec![7u8; 1_200_000];
    committed_write_losing_its_pack(
        root,
        WriteSet::new()
            .put("a", "a1")
            .put("big", big)
            .record_version("v"),
    );
    let store = VersionStore::open(root).unwrap();
    assert!(!journal(root).exists());
    assert_eq!(contents(root), map(&[("a", "a0")]), "nothing was applied");
    assert_eq!(store.head().unwrap().unwrap().description(), "base");
    assert!(store.verify().unwrap().is_ok());
}

fn crash_at_put(name: &'static str) {
    if name == "apply: put a file" {
        panic!("simulated crash at {name}");
    }
}

/// A write interrupted after its commit is finished by the next open; a file it
/// journaled that was edited in between is recorded first, never lost.
#[test]
fn an_edit_made_after_an_interrupted_write_is_recorded_before_recovery_finishes_it() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a", "a0"), ("b", "b0")]));
    let store = VersionStore::open(root).unwrap();
    let base = store.snapshot("base").unwrap();
    set_fault_hook(Some(crash_at_put));
    let result = catch_unwind(AssertUnwindSafe(|| {
        store.write(
            WriteSet::new()
                .put("a", "a1")
                .put("b", "b1")
                .record_version("both"),
        )
    }));
    set_fault_hook(None);
    assert!(result.is_err(), "the write was interrupted");
    assert!(journal(root).exists());
    drop(store);
    // Someone edits `b` before the store is opened again.
    std::fs::write(root.join("b"), "edited").unwrap();
    let store = VersionStore::open(root).unwrap();
    assert_eq!(contents(root), map(&[("a", "a1"), ("b", "b1")]));
    let history = store.history().unwrap();
    let descriptions: Vec<&str> = history.iter().map(|v| v.description()).collect();
    assert_eq!(
        descriptions,
        [
            "both",
            "changes found when finishing an interrupted write",
            "base"
        ]
    );
    assert_eq!(
        history[1].file("b").unwrap().hash,
        ObjectHash::of(b"edited"),
        "the edit is in history"
    );
    assert_eq!(history[2].id(), base.id());
    assert!(store.status().unwrap().is_empty());
    assert!(store.verify().unwrap().is_ok());
}

#[derive(Debug, Clone)]
enum ModelOp {
    Put(usize, Vec<u8>),
    Delete(usize),
}

const PATHS: &[&str] = &["a", "b", "d/c", "d/e/f", "g/h", "i"];

fn op() -> impl Strategy<Value = ModelOp> {
    prop_oneof![
        (
            0..PATHS.len(),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(i, b)| ModelOp::Put(i, b)),
        (0..PATHS.len()).prop_map(ModelOp::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(48)))]

    /// Random sets of puts and deletes, written one after another, leave the tree equal
    /// to a `BTreeMap` model; each recorded version equals the model too. A set may
    /// expect one path to hold what the model says (it is written) or something stale
    /// (a conflict, and nothing changes).
    #[test]
    fn writes_match_a_model_of_the_tree(
        sets in proptest::collection::vec(
            (proptest::collection::vec(op(), 0..6), proptest::option::of((0..PATHS.len(), any::<bool>()))),
            1..6,
        ),
        record in any::<bool>(),
    ) {
        let _s = serial();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let store = VersionStore::open(root).unwrap();
        let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (ops, expectation) in sets {
            let mut set = WriteSet::new();
            let mut conflict = false;
            if let Some((i, stale)) = expectation {
                let current = model.get(PATHS[i]).map(|b| ObjectHash::of(b));
                let expected = if stale {
                    Some(ObjectHash::of(b"stale content no put produces, longer than 40 bytes"))
                } else {
                    current
                };
                conflict = expected != current;
                set = set.expect(PATHS[i], expected);
            }
            let mut step: BTreeMap<&str, Option<Vec<u8>>> = BTreeMap::new();
            for op in ops {
                match op {
                    ModelOp::Put(i, b) => {
                        set = set.put(PATHS[i], b.clone());
                        step.insert(PATHS[i], Some(b));
                    }
                    ModelOp::Delete(i) => {
                        set = set.delete(PATHS[i]);
                        step.insert(PATHS[i], None);
                    }
                }
            }
            if record {
                set = set.record_version("step");
            }
            if conflict {
                let err = store.write(set).unwrap_err();
                prop_assert!(matches!(err, Error::Conflict { .. }), "{}", err);
                let now: BTreeMap<String, Vec<u8>> =
                    read_tree(root).into_iter().map(|(p, (c, _))| (p, c)).collect();
                prop_assert_eq!(&now, &model);
                continue;
            }
            let w = store.write(set).unwrap();
            for (p, b) in &step {
                match b {
                    Some(b) => { model.insert((*p).to_owned(), b.clone()); }
                    None => { model.remove(*p); }
                }
            }
            let expected_files: Vec<(String, Option<ObjectHash>)> = step
                .iter()
                .map(|(p, b)| ((*p).to_owned(), b.as_deref().map(ObjectHash::of)))
                .collect();
            prop_assert_eq!(&w.files, &expected_files);
            let now: BTreeMap<String, Vec<u8>> =
                read_tree(root).into_iter().map(|(p, (c, _))| (p, c)).collect();
            prop_assert_eq!(&now, &model);
            if record && let Some(v) = &w.version {
                let recorded: BTreeMap<String, ObjectHash> =
                    v.files().iter().map(|f| (f.path.clone(), f.hash)).collect();
                let wanted: BTreeMap<String, ObjectHash> =
                    model.iter().map(|(p, b)| (p.clone(), ObjectHash::of(b))).collect();
                prop_assert_eq!(recorded, wanted);
            }
        }
        prop_assert!(!journal(root).exists());
        if record {
            prop_assert!(store.status().unwrap().is_empty());
            prop_assert!(store.verify().unwrap().is_ok());
        }
    }
}

/// A journal written by an older build (format 1: JSON without the header line) is
/// refused with a message, not mistaken for a torn one and dropped.
#[test]
fn a_format_1_journal_is_refused_not_dropped() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    VersionStore::open(root).unwrap();
    std::fs::write(
        journal(root),
        br#"{"format":1,"version":"x","manifest":"","deletes":[],"puts":[]}"#,
    )
    .unwrap();
    let err = VersionStore::open(root).unwrap_err();
    assert!(matches!(err, Error::CorruptStore { .. }), "{err}");
    assert!(err.to_string().contains("format-1"), "{err}");
    assert!(journal(root).exists());
}

#[test]
fn a_failed_finish_of_a_set_that_changes_nothing_says_nothing_is_left() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let store = VersionStore::open(dir.path()).unwrap();
    let err = store
        .write_with(WriteSet::new().note("n"), |_| {
            Err(std::io::Error::other("boom"))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Finish { journal: None, .. }), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
}

/// `expect` is a compare-and-swap under the store's lock: threads incrementing one
/// counter through two handles on the same root (each its own `File::lock`) lose no
/// update: a lost race is a `Conflict`, and is retried.
#[test]
fn expectations_make_concurrent_increments_lose_no_update() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    std::fs::write(root.join("counter"), "0").unwrap();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let store = VersionStore::open(&root).unwrap();
            let root = &root;
            scope.spawn(move || {
                for _ in 0..15 {
                    loop {
                        let read = std::fs::read(root.join("counter")).unwrap();
                        let n: u32 = std::str::from_utf8(&read).unwrap().parse().unwrap();
                        let set = WriteSet::new()
                            .put("counter", (n + 1).to_string())
                            .expect("counter", Some(ObjectHash::of(&read)));
                        match store.write(set) {
                            Ok(_) => break,
                            // Lost a race: read again and retry.
                            Err(Error::Conflict { .. }) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            });
        }
    });
    assert_eq!(std::fs::read_to_string(root.join("counter")).unwrap(), "30");
}

/// Whether this process can write in a read-only directory (root, or
/// `CAP_DAC_OVERRIDE`), which makes permission tests meaningless.
fn privileged(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let writable = std::fs::write(&probe, "x").is_ok();
    let _ = std::fs::remove_file(&probe);
    writable
}

#[test]
fn a_write_into_a_read_only_directory_is_refused_before_its_commit_with_the_tree_unchanged() {
    use std::os::unix::fs::PermissionsExt as _;
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(
        root,
        &tree(&[("a.txt", "old a"), ("locked/b.txt", "old b")]),
    );
    let store = VersionStore::open(root).unwrap();
    let _ = store.snapshot("base").unwrap();
    let before = read_tree(root);
    let locked = root.join("locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    if privileged(&locked) {
        eprintln!("skipped: running as root (CAP_DAC_OVERRIDE), a read-only directory is writable");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    // `a.txt` sorts first: without the pre-flight its rename would succeed before
    // the one into `locked/` fails. A put under a directory still to be created in
    // `locked/`, a delete in it, and a recorded version are refused the same way.
    for set in [
        WriteSet::new()
            .put("a.txt", "new a")
            .put("locked/b.txt", "new b"),
        WriteSet::new()
            .put("a.txt", "new a")
            .put("locked/sub/c.txt", "c"),
        WriteSet::new().put("a.txt", "new a").delete("locked/b.txt"),
        WriteSet::new()
            .put("a.txt", "new a")
            .put("locked/b.txt", "new b")
            .record_version("refused"),
    ] {
        let err = store.write(set).unwrap_err();
        assert!(
            matches!(&err, Error::NotWritable { dir, .. } if dir == &locked),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("locked") && message.contains("chmod"),
            "{message}"
        );
        assert_eq!(read_tree(root), before, "a refused write changed the tree");
        assert!(!journal(root).exists(), "a refused write left a journal");
    }
    assert_eq!(
        store.history().unwrap().len(),
        1,
        "a refused write recorded a version"
    );
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Once the directory is writable, the same write goes through.
    let _ = store
        .write(
            WriteSet::new()
                .put("a.txt", "new a")
                .put("locked/b.txt", "new b"),
        )
        .unwrap();
    assert_eq!(
        contents(root),
        map(&[("a.txt", "new a"), ("locked/b.txt", "new b")])
    );
}

#[test]
fn a_recovery_without_a_hook_keeps_the_note_for_the_next_store_with_one() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let notes = root.join(".ssot/versions/notes");
    let store = VersionStore::open(root).unwrap();
    for (path, note) in [("a", "audit 1"), ("b", "audit 2")] {
        let _ = store
            .write_with(WriteSet::new().put(path, "1").note(note), |_| {
                Err(std::io::Error::other("disk full"))
            })
            .unwrap_err();
        // A store without a hook finishes the write and keeps its note.
        drop(VersionStore::open(root).unwrap());
        assert!(!journal(root).exists());
    }
    assert_eq!(std::fs::read(root.join("a")).unwrap(), b"1");
    assert!(notes.join("1").is_file() && notes.join("2").is_file());
    // A write without a note keeps nothing.
    let _ = store
        .write_with(WriteSet::new().put("c", "1"), |_| {
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
    drop(VersionStore::open(root).unwrap());
    assert!(!notes.join("3").exists());

    // The next store with a hook gets the kept notes, oldest first, once.
    /// Each delivered note, with the paths of its write.
    type Seen = Arc<Mutex<Vec<(Vec<u8>, Vec<String>)>>>;
    let seen: Seen = Arc::default();
    let hook = {
        let seen = Arc::clone(&seen);
        move |w: &ssot_version::Written| {
            let paths = w.files.iter().map(|(p, _)| p.clone()).collect();
            seen.lock().unwrap().push((w.note.clone(), paths));
            Ok(())
        }
    };
    let with_hook = VersionStore::builder(root).on_recover(hook).open().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (b"audit 1".to_vec(), vec!["a".to_owned()]),
            (b"audit 2".to_vec(), vec!["b".to_owned()])
        ]
    );
    assert!(!notes.exists(), "delivered notes are deleted");
    with_hook.status().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn a_failing_hook_keeps_the_kept_note_for_the_next_try() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::open(root).unwrap();
    let _ = store
        .write_with(WriteSet::new().put("a", "1").note("n"), |_| {
            Err(std::io::Error::other("no"))
        })
        .unwrap_err();
    drop(store);
    drop(VersionStore::open(root).unwrap());
    let err = VersionStore::builder(root)
        .on_recover(|_| Err(std::io::Error::other("audit log unavailable")))
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::Finish { .. }), "{err}");
    assert!(root.join(".ssot/versions/notes/1").is_file());
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    VersionStore::builder(root)
        .on_recover(move |w| {
            assert_eq!(w.note, b"n");
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .open()
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_rollback_built_as_a_write_restores_bytes_and_bits_and_names_its_target() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut t = tree(&[("run.sh", "echo 1"), ("a", "1")]);
    t.get_mut("run.sh").unwrap().1 = true;
    write_tree(root, &t);
    let store = VersionStore::open(root).unwrap();
    let v1 = store.snapshot("v1").unwrap();
    std::fs::write(root.join("a"), "2").unwrap();
    let v2 = store.snapshot("v2").unwrap();
    assert_eq!(
        store.read_file(v1.id().as_str(), "a").unwrap().unwrap(),
        b"1"
    );
    assert_eq!(
        store.read_file(v2.id().short(), "a").unwrap().unwrap(),
        b"2"
    );
    assert!(store.read_file(v1.id().as_str(), "nope").unwrap().is_none());
    assert!(matches!(
        store.read_file("ffffffffffff", "a"),
        Err(Error::UnknownVersion { .. })
    ));
    let bytes = store.read_file(v1.id().as_str(), "a").unwrap().unwrap();
    let written = store
        .write(
            WriteSet::new()
                .expect("a", Some(ObjectHash::of(b"2")))
                .put("a", bytes)
                .put("run.sh", "echo 1")
                .executable("run.sh", false)
                .record_version("rollback to v1")
                .restored_from(v1.id().clone()),
        )
        .unwrap();
    let v3 = written.version.unwrap();
    assert_eq!(v3.restored_from(), Some(v1.id()));
    assert_eq!(v3.parent(), Some(v2.id()));
    let now = read_tree(root);
    assert_eq!(now["a"], (b"1".to_vec(), false));
    assert_eq!(
        now["run.sh"],
        (b"echo 1".to_vec(), false),
        "the bit was cleared"
    );
    assert!(!v3.file("run.sh").unwrap().executable);
}
