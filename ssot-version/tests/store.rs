//! The store's read side and snapshots: ids, prefixes, history, diff, status, tags,
//! explicit path lists, globs, concurrent use.
// Test helpers outside #[test] functions fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::sync::Arc;

use common::{read_tree, tree, write_tree};
use ssot_version::{Error, ObjectHash, VersionStore};

#[test]
fn identical_content_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &tree(&[("a", "same"), ("b/c", "same"), ("d", "other")]),
    );
    let store = VersionStore::open(dir.path()).unwrap();
    let v = store.snapshot("one").unwrap();
    assert_eq!(v.files().len(), 3);
    assert_eq!(v.file("a").unwrap().hash, v.file("b/c").unwrap().hash);
    let report = store.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.objects_checked, 2);
    // A second snapshot of the same content writes no new pack.
    let packs = || {
        fs::read_dir(dir.path().join(".ssot/versions/packs"))
            .unwrap()
            .count()
    };
    assert_eq!(packs(), 1);
    store.snapshot("two").unwrap();
    assert_eq!(packs(), 1);
}

#[test]
fn a_version_records_path_size_hash_and_executable_bit() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = tree(&[("bin/run.sh", "#!/bin/sh\n"), ("README", "")]);
    t.get_mut("bin/run.sh").unwrap().1 = true;
    write_tree(dir.path(), &t);
    let store = VersionStore::open(dir.path()).unwrap();
    let v = store.snapshot("with an empty file").unwrap();
    let run = v.file("bin/run.sh").unwrap();
    assert_eq!(run.size, 10);
    assert_eq!(run.hash, ObjectHash::of(b"#!/bin/sh\n"));
    assert_eq!(run.executable, cfg!(unix));
    assert_eq!(v.file("README").unwrap().size, 0);
    assert!(!v.file("README").unwrap().executable);
    assert_eq!(v.description(), "with an empty file");
    assert_eq!(v.parent(), None);
    assert_eq!(store.get(v.id().as_str()).unwrap(), v);
}

#[test]
fn ids_are_unique_and_resolve_by_any_unique_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = VersionStore::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        fs::write(dir.path().join("f"), format!("{i}")).unwrap();
        ids.push(store.snapshot("s").unwrap().id().clone());
    }
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(&store.resolve(id.short()).unwrap(), id);
        assert_eq!(&store.resolve(&id.as_str().to_uppercase()).unwrap(), id);
    }
    // With 40 ids, some one-digit prefix is shared: it is ambiguous and lists them.
    let shared = (0..16u8)
        .map(|d| char::from_digit(u32::from(d), 16).unwrap().to_string())
        .find(|p| {
            ids.iter()
                .filter(|id| id.as_str().starts_with(p.as_str()))
                .count()
                > 1
        })
        .unwrap();
    match store.resolve(&shared) {
        Err(Error::AmbiguousVersion { prefix, candidates }) => {
            assert_eq!(prefix, shared);
            assert!(candidates.len() > 1);
            assert!(candidates.iter().all(|c| c.as_str().starts_with(&shared)));
            let msg = store.resolve(&shared).unwrap_err().to_string();
            assert!(msg.contains(candidates[0].as_str()), "{msg}");
        }
        other => panic!("expected ambiguity, got {other:?}"),
    }
    assert!(matches!(
        store.resolve("zz"),
        Err(Error::UnknownVersion { .. })
    ));
    assert!(matches!(
        store.resolve(""),
        Err(Error::UnknownVersion { .. })
    ));
}

#[test]
fn history_is_newest_first_along_parents() {
    let dir = tempfile::tempdir().unwrap();
    let store = VersionStore::open(dir.path()).unwrap();
    assert!(store.history().unwrap().is_empty());
    assert!(store.head().unwrap().is_none());
    let mut made = Vec::new();
    for i in 0..5 {
        fs::write(dir.path().join("f"), format!("{i}")).unwrap();
        made.push(store.snapshot(&format!("v{i}")).unwrap());
    }
    let history = store.history().unwrap();
    let descriptions: Vec<_> = history.iter().map(|v| v.description().to_owned()).collect();
    assert_eq!(descriptions, ["v4", "v3", "v2", "v1", "v0"]);
    for pair in history.windows(2) {
        assert_eq!(pair[0].parent(), Some(pair[1].id()));
        assert!(pair[0].created() >= pair[1].created());
    }
    assert_eq!(store.head().unwrap().unwrap().id(), made[4].id());
}

#[test]
fn diff_and_status_report_added_removed_and_modified_paths() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &tree(&[("keep", "k"), ("change", "1"), ("drop", "d")]),
    );
    let store = VersionStore::open(dir.path()).unwrap();
    let status = store.status().unwrap();
    assert_eq!(
        status.added,
        ["change", "drop", "keep"],
        "before any version, all is added"
    );
    let a = store.snapshot("a").unwrap();
    assert!(store.status().unwrap().is_empty());

    fs::write(dir.path().join("change"), "2").unwrap();
    fs::remove_file(dir.path().join("drop")).unwrap();
    fs::create_dir(dir.path().join("new")).unwrap();
    fs::write(dir.path().join("new/file"), "n").unwrap();
    let drift = store.status().unwrap();
    assert_eq!(drift.added, ["new/file"]);
    assert_eq!(drift.removed, ["drop"]);
    assert_eq!(drift.modified, ["change"]);

    let b = store.snapshot("b").unwrap();
    let diff = store.diff(a.id().as_str(), b.id().as_str()).unwrap();
    assert_eq!(diff, drift);
    let back = store.diff(b.id().as_str(), a.id().as_str()).unwrap();
    assert_eq!(back.added, ["drop"]);
    assert_eq!(back.removed, ["new/file"]);
    assert!(store.status().unwrap().is_empty());
}

#[test]
fn globs_choose_the_tracked_files_and_the_store_is_never_snapshotted() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &tree(&[
            ("docs/a.md", "a"),
            ("docs/b.txt", "b"),
            ("src/x.md", "x"),
            ("target/t.md", "t"),
        ]),
    );
    let store = VersionStore::builder(dir.path())
        .include("**/*.md")
        .exclude("target")
        .open()
        .unwrap();
    let v = store.snapshot("md only").unwrap();
    let paths: Vec<_> = v.files().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["docs/a.md", "src/x.md"]);
    assert!(
        VersionStore::builder(dir.path())
            .include("a[")
            .open()
            .is_err()
    );
}

#[test]
fn snapshot_paths_updates_only_the_listed_paths() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &tree(&[("a", "1"), ("b", "1"), ("d/x", "1"), ("d/y", "1")]),
    );
    let store = VersionStore::open(dir.path()).unwrap();
    store.snapshot("all").unwrap();
    write_tree(dir.path(), &tree(&[("a", "2"), ("b", "2"), ("d/x", "2")]));
    fs::remove_file(dir.path().join("d/y")).unwrap();
    let v = store.snapshot_paths("a and d", ["a", "d"]).unwrap();
    assert_eq!(v.file("a").unwrap().hash, ObjectHash::of(b"2"));
    assert_eq!(
        v.file("b").unwrap().hash,
        ObjectHash::of(b"1"),
        "b was not listed"
    );
    assert_eq!(v.file("d/x").unwrap().hash, ObjectHash::of(b"2"));
    assert!(
        v.file("d/y").is_none(),
        "a deleted file under a listed directory is dropped"
    );

    // Absolute paths under the root work; outside the root and `..` are refused.
    let abs = dir.path().join("b");
    let v = store.snapshot_paths("b", [&abs]).unwrap();
    assert_eq!(v.file("b").unwrap().hash, ObjectHash::of(b"2"));
    assert!(matches!(
        store.snapshot_paths("x", ["/etc/passwd"]),
        Err(Error::OutsideRoot { .. })
    ));
    assert!(matches!(
        store.snapshot_paths("x", ["../x"]),
        Err(Error::UnsafePath { .. })
    ));
    assert!(matches!(
        store.snapshot_paths("x", [".ssot/versions/HEAD"]),
        Err(Error::UnsafePath { .. })
    ));
}

#[test]
fn tags_resolve_and_cannot_be_hex_or_moved_silently() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "1").unwrap();
    let store = VersionStore::open(dir.path()).unwrap();
    let a = store.snapshot("a").unwrap();
    fs::write(dir.path().join("f"), "2").unwrap();
    let b = store.snapshot("b").unwrap();
    store.tag(a.id().short(), "v1.0").unwrap();
    store.tag(a.id().short(), "v1.0").unwrap();
    assert_eq!(store.resolve("v1.0").unwrap(), *a.id());
    assert!(matches!(
        store.tag(b.id().as_str(), "v1.0"),
        Err(Error::InvalidTag { .. })
    ));
    assert!(matches!(
        store.tag(b.id().as_str(), "cafe"),
        Err(Error::InvalidTag { .. })
    ));
    assert!(matches!(
        store.tag(b.id().as_str(), "has space"),
        Err(Error::InvalidTag { .. })
    ));
    assert_eq!(store.untag("v1.0").unwrap(), Some(a.id().clone()));
    store.tag(b.id().as_str(), "v1.0").unwrap();
    assert_eq!(store.tags().unwrap()["v1.0"], *b.id());
}

#[test]
fn two_stores_on_one_root_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let root = Arc::new(dir.path().to_owned());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let root = Arc::clone(&root);
            std::thread::spawn(move || {
                // Each thread opens its own store: its own lock file handle.
                let store = VersionStore::open(&*root).unwrap();
                let mut ids = Vec::new();
                for i in 0..10 {
                    fs::write(root.join(format!("t{t}")), format!("{i}")).unwrap();
                    ids.push(store.snapshot(&format!("t{t} {i}")).unwrap().id().clone());
                }
                ids
            })
        })
        .collect();
    let mut returned = std::collections::BTreeSet::new();
    for t in threads {
        returned.extend(t.join().unwrap());
    }
    let store = VersionStore::open(&*root).unwrap();
    // A snapshot that found its write already recorded by another thread's returns
    // that version (an empty snapshot is no version), so there may be fewer than 40;
    // but every version any snapshot returned is on the one chain, and nothing else.
    let chain: std::collections::BTreeSet<_> = store
        .history()
        .unwrap()
        .iter()
        .map(|v| v.id().clone())
        .collect();
    assert_eq!(chain, returned, "every snapshot is on one chain");
    assert!(store.verify().unwrap().is_ok());
    assert_eq!(read_tree(&root).len(), 4);
}

#[test]
fn a_store_directory_that_is_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join(".ssot")).unwrap();
        assert!(matches!(
            VersionStore::open(dir.path()),
            Err(Error::UnsafePath { .. })
        ));
        assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}

#[test]
fn a_tree_of_many_directories_is_scanned_completely() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = common::Tree::new();
    for i in 0..300 {
        t.insert(format!("d{i}/e/f{i}"), (vec![i as u8; 3], false));
    }
    for i in 0..600 {
        t.insert(format!("flat/f{i}"), (i.to_string().into_bytes(), false));
    }
    write_tree(dir.path(), &t);
    let store = VersionStore::open(dir.path()).unwrap();
    let v = store.snapshot("many").unwrap();
    assert_eq!(v.files().len(), 900);
    common::clear(dir.path(), &|_| false);
    store.rollback(v.id().as_str()).unwrap();
    assert_eq!(read_tree(dir.path()), t);
}

/// Every file under the store directory, with its content: what a snapshot wrote.
fn store_files(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for sub in ["versions", "packs"] {
        for entry in fs::read_dir(root.join(".ssot/versions").join(sub)).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{sub}/{}", entry.file_name().to_string_lossy());
            out.insert(name, fs::read(entry.path()).unwrap());
        }
    }
    out.insert(
        "HEAD".into(),
        fs::read(root.join(".ssot/versions/HEAD")).unwrap(),
    );
    out
}

/// A snapshot of a tree equal to `HEAD` (content and executable bits) records nothing:
/// like git, which refuses an empty commit, there is no new version; the snapshot
/// returns `HEAD`. So it writes no manifest, pack or `HEAD` and fsyncs nothing.
#[test]
fn a_snapshot_of_an_unchanged_tree_returns_head_and_writes_no_version() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a", "alpha"), ("b/c", "see")]));
    let store = VersionStore::open(root).unwrap();
    let first = store.snapshot("first").unwrap();
    let before = store_files(root);

    let again = store.snapshot("nothing changed").unwrap();
    assert_eq!(again.id(), first.id());
    assert_eq!(again.description(), "first");
    let listed = store
        .snapshot_paths("nothing changed either", ["a", "b"])
        .unwrap();
    assert_eq!(listed.id(), first.id());
    assert_eq!(
        store_files(root),
        before,
        "no manifest, pack or HEAD written"
    );
    assert_eq!(store.history().unwrap().len(), 1);

    // Any change, an executable bit included, is a new version.
    common::set_executable(&root.join("a"), true);
    let second = store.snapshot("a is executable").unwrap();
    assert_ne!(second.id(), first.id());
    assert_eq!(second.parent(), Some(first.id()));
    // And back to content equal to an older version is a change too.
    common::set_executable(&root.join("a"), false);
    let third = store.snapshot("a is not").unwrap();
    assert_ne!(third.id(), first.id());
    assert_eq!(store.history().unwrap().len(), 3);
}
