//! Prune keeps what the policy keeps (and HEAD), frees every object only removed
//! versions used, and leaves every kept version restorable.
// Test helpers outside #[test] functions fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{read_tree, tree, write_tree};
use ssot_version::{PrunePolicy, VersionStore};

fn packs(root: &std::path::Path) -> usize {
    fs::read_dir(root.join(".ssot/versions/packs"))
        .unwrap()
        .count()
}

#[test]
fn keep_last_keeps_the_newest_and_frees_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::open(root).unwrap();
    let mut ids = Vec::new();
    for i in 0..6 {
        write_tree(
            root,
            &tree(&[("shared", "always"), ("n", &format!("value {i}"))]),
        );
        ids.push(store.snapshot(&format!("v{i}")).unwrap().id().clone());
    }
    let report = store.prune(&PrunePolicy::new().keep_last(2)).unwrap();
    assert_eq!(report.removed_versions.len(), 4);
    assert_eq!(report.kept_versions, 2);
    assert_eq!(
        report.removed_objects, 4,
        "value 0..3 are freed, `always` is shared"
    );
    assert_eq!(report.freed_bytes, 4 * 7);
    for id in &ids[..4] {
        assert!(store.get(id.as_str()).is_err());
    }
    assert!(store.verify().unwrap().is_ok());
    // The kept versions still roll back.
    store.rollback(ids[4].as_str()).unwrap();
    assert_eq!(
        read_tree(root),
        tree(&[("shared", "always"), ("n", "value 4")])
    );
    // History ends at the pruned parent.
    assert_eq!(store.history().unwrap().len(), 3);
}

#[test]
fn head_is_never_pruned_and_tagged_versions_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::open(root).unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        write_tree(root, &tree(&[("f", &format!("{i}"))]));
        ids.push(store.snapshot("s").unwrap().id().clone());
    }
    store.tag(ids[1].as_str(), "v-keep").unwrap();
    let report = store.prune(&PrunePolicy::new()).unwrap();
    assert_eq!(report.kept_versions, 2);
    assert_eq!(report.removed_versions.len(), 2);
    assert!(store.get(ids[3].as_str()).is_ok(), "HEAD");
    assert!(store.get("v-keep").is_ok());
    store.rollback("v-keep").unwrap();
    assert_eq!(read_tree(root), tree(&[("f", "1")]));
    assert!(store.verify().unwrap().is_ok());

    // Without keep_tagged, the tag goes with its version.
    let report = store.prune(&PrunePolicy::new().keep_tagged(false)).unwrap();
    assert_eq!(report.kept_versions, 1);
    assert!(store.tags().unwrap().is_empty());
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn keep_newer_than_measures_age_on_the_store_clock() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let now = Arc::new(AtomicU64::new(100));
    let clock = Arc::clone(&now);
    let store = VersionStore::builder(root)
        .clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst)))
        .open()
        .unwrap();
    let mut ids = Vec::new();
    for t in [100, 200, 300, 400] {
        now.store(t, Ordering::SeqCst);
        write_tree(root, &tree(&[("f", &format!("{t}"))]));
        let v = store.snapshot("s").unwrap();
        assert_eq!(v.created(), UNIX_EPOCH + Duration::from_secs(t));
        ids.push(v.id().clone());
    }
    now.store(450, Ordering::SeqCst);
    let report = store
        .prune(&PrunePolicy::new().keep_newer_than(Duration::from_secs(200)))
        .unwrap();
    let mut removed = vec![ids[0].clone(), ids[1].clone()];
    removed.sort();
    assert_eq!(report.removed_versions, removed);
    let _ = SystemTime::now();
}

#[test]
fn a_partly_dead_pack_is_repacked_and_a_dead_pack_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = VersionStore::open(root).unwrap();
    write_tree(root, &tree(&[("a", "A"), ("b", "B")]));
    store.snapshot("pack 1 holds A and B").unwrap();
    write_tree(root, &tree(&[("b", "B2")]));
    store.snapshot("pack 2 holds B2").unwrap();
    write_tree(root, &tree(&[("b", "B3")]));
    store.snapshot("pack 3 holds B3").unwrap();
    assert_eq!(packs(root), 3);
    let report = store.prune(&PrunePolicy::new()).unwrap();
    assert_eq!(report.removed_objects, 2, "B and B2");
    assert_eq!(
        report.packs_deleted, 2,
        "pack 1 (repacked) and pack 2 (all dead)"
    );
    assert_eq!(report.packs_written, 1, "the live A, copied");
    assert_eq!(packs(root), 2);
    let verify = store.verify().unwrap();
    assert!(verify.is_ok());
    assert_eq!(verify.objects_checked, 2, "A and B3 remain");
    // A second prune has nothing to do.
    let again = store.prune(&PrunePolicy::new()).unwrap();
    assert_eq!(
        (
            again.removed_objects,
            again.packs_deleted,
            again.packs_written
        ),
        (0, 0, 0)
    );
}

/// Versions another handle (or process) pruned are gone for every handle: a handle
/// that had read them before must not list them from its cache.
#[test]
fn a_prune_by_another_handle_is_seen_by_history_and_get() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let a = VersionStore::open(root).unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        write_tree(root, &tree(&[("n", &format!("value {i}"))]));
        ids.push(a.snapshot(&format!("v{i}")).unwrap().id().clone());
    }
    // `a` has read every manifest.
    assert_eq!(a.history().unwrap().len(), 5);
    for id in &ids {
        a.get(id.as_str()).unwrap();
    }

    let b = VersionStore::open(root).unwrap();
    let report = b.prune(&PrunePolicy::new().keep_last(2)).unwrap();
    assert_eq!(report.removed_versions.len(), 3);

    let listed: Vec<_> = a
        .history()
        .unwrap()
        .iter()
        .map(|v| v.id().clone())
        .collect();
    assert_eq!(listed, [ids[4].clone(), ids[3].clone()]);
    for id in &ids[..3] {
        assert!(a.get(id.as_str()).is_err(), "{id} was pruned");
    }
    assert!(a.verify().unwrap().is_ok());
}
