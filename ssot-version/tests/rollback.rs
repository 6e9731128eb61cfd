//! Rollback: arbitrary trees come back byte for byte, excluded files stay untouched,
//! file/directory swaps and executable bits are restored, and a rollback can be undone.
// Test helpers outside #[test] functions fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{Tree, cases, clear, read_tree, tree, write_tree};
use proptest::prelude::*;
use ssot_version::VersionStore;

/// Arbitrary trees: names from a small alphabet (so that later trees collide with
/// earlier ones, including a file where a directory was), nesting up to 3 levels,
/// contents empty, small, binary or a few kilobytes, some executable.
fn arb_tree() -> impl Strategy<Value = Tree> {
    let name = prop::sample::select(vec!["a", "b", "c.md", "D", ".h", "é", "x y"]);
    let path = prop::collection::vec(name, 1..=3).prop_map(|parts| parts.join("/"));
    let content = prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(any::<u8>(), 1000..5000),
    ];
    prop::collection::btree_map(path, (content, any::<bool>()), 0..12).prop_map(|mut t| {
        // A path cannot be both a file and a directory: drop the file.
        let paths: Vec<String> = t.keys().cloned().collect();
        for p in &paths {
            if paths.iter().any(|q| {
                q.len() > p.len() && q.starts_with(p.as_str()) && q.as_bytes()[p.len()] == b'/'
            }) {
                t.remove(p);
            }
        }
        if !cfg!(unix) {
            for v in t.values_mut() {
                v.1 = false;
            }
        }
        t
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn rollback_restores_every_byte_and_exactly_the_file_set(
        first in arb_tree(),
        second in arb_tree(),
        commit_second in any::<bool>(),
        ignored in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_tree(root, &first);
        fs::write(root.join("ignored.log"), b"before").unwrap();
        let store = VersionStore::builder(root).exclude("*.log").open().unwrap();
        let v1 = store.snapshot("first").unwrap();

        // Arbitrary changes: the tree becomes `second`, the excluded file changes too.
        clear(root, &|name| name == "ignored.log");
        write_tree(root, &second);
        fs::write(root.join("ignored.log"), &ignored).unwrap();
        let v2 = if commit_second { Some(store.snapshot("second").unwrap()) } else { None };

        let restored = store.rollback(v1.id().as_str()).unwrap();
        let mut expected = first.clone();
        expected.insert("ignored.log".into(), (ignored.clone(), false));
        prop_assert_eq!(read_tree(root), expected.clone());
        prop_assert_eq!(restored.files(), v1.files());
        prop_assert!(store.status().unwrap().is_empty());

        // The rollback can be undone: the second tree was recorded, either by the
        // explicit snapshot or as the rollback's record of uncommitted changes.
        let second_version = v2.map_or_else(|| restored.parent().unwrap().clone(), |v| v.id().clone());
        store.rollback(second_version.as_str()).unwrap();
        let mut expected2 = second.clone();
        expected2.insert("ignored.log".into(), (ignored, false));
        prop_assert_eq!(read_tree(root), expected2);
        prop_assert!(store.verify().unwrap().is_ok());
    }
}

#[test]
fn a_rollback_is_recorded_as_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &tree(&[("f", "1")]));
    let store = VersionStore::open(dir.path()).unwrap();
    let v1 = store.snapshot("one").unwrap();
    write_tree(dir.path(), &tree(&[("f", "2")]));
    let v2 = store.snapshot("two").unwrap();
    let r = store.rollback(v1.id().short()).unwrap();
    assert_eq!(
        r.parent(),
        Some(v2.id()),
        "no drift, so the parent is the head"
    );
    assert_eq!(r.restored_from(), Some(v1.id()));
    assert_eq!(r.description(), format!("rollback to {}", v1.id().short()));
    let history: Vec<_> = store
        .history()
        .unwrap()
        .iter()
        .map(|v| v.id().clone())
        .collect();
    assert_eq!(history, [r.id().clone(), v2.id().clone(), v1.id().clone()]);
}

#[test]
fn uncommitted_changes_are_snapshotted_before_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &tree(&[("f", "committed")]));
    let store = VersionStore::open(dir.path()).unwrap();
    let v1 = store.snapshot("one").unwrap();
    write_tree(dir.path(), &tree(&[("f", "precious work")]));
    let r = store.rollback(v1.id().as_str()).unwrap();
    let saved = store.get(r.parent().unwrap().as_str()).unwrap();
    assert!(
        saved
            .description()
            .starts_with("uncommitted changes before rollback")
    );
    store.rollback(saved.id().as_str()).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("f")).unwrap(),
        "precious work"
    );
}

#[test]
fn a_directory_and_a_file_can_trade_places() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("x/inner/deep", "d"), ("y", "file y")]));
    let store = VersionStore::open(root).unwrap();
    let v1 = store.snapshot("x is a dir").unwrap();
    clear(root, &|_| false);
    write_tree(root, &tree(&[("x", "file x"), ("y/z", "y is a dir")]));
    let v2 = store.snapshot("x is a file").unwrap();
    store.rollback(v1.id().as_str()).unwrap();
    assert_eq!(
        read_tree(root),
        tree(&[("x/inner/deep", "d"), ("y", "file y")])
    );
    store.rollback(v2.id().as_str()).unwrap();
    assert_eq!(
        read_tree(root),
        tree(&[("x", "file x"), ("y/z", "y is a dir")])
    );
    assert!(
        !root.join("x/inner").exists(),
        "emptied directories are removed"
    );
}

#[test]
fn an_excluded_file_in_the_way_blocks_the_rollback_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("a", "file a"), ("b", "b1")]));
    let store = VersionStore::builder(root)
        .exclude("**/*.log")
        .open()
        .unwrap();
    let v1 = store.snapshot("a is a file").unwrap();
    clear(root, &|_| false);
    write_tree(
        root,
        &tree(&[("a/x", "tracked"), ("a/keep.log", "excluded"), ("b", "b2")]),
    );
    store.snapshot("a is a dir").unwrap();
    let err = store.rollback(v1.id().as_str()).unwrap_err();
    assert!(matches!(err, ssot_version::Error::Blocked { .. }), "{err}");
    assert!(err.to_string().contains("`a`"), "{err}");
    assert_eq!(
        read_tree(root),
        tree(&[("a/x", "tracked"), ("a/keep.log", "excluded"), ("b", "b2")])
    );
}

#[test]
fn executable_bits_are_restored() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut t: Tree = BTreeMap::new();
    t.insert("run".into(), (b"#!/bin/sh".to_vec(), cfg!(unix)));
    write_tree(root, &t);
    let store = VersionStore::open(root).unwrap();
    let v1 = store.snapshot("exec").unwrap();
    common::set_executable(&root.join("run"), false);
    store.rollback(v1.id().as_str()).unwrap();
    assert_eq!(read_tree(root), t);
}
