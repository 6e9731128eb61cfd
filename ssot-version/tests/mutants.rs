//! Tests written to kill mutants of `src/pack.rs` that the other tests let survive
//! (`cargo mutants -f ssot-version/src/pack.rs`; results in the README's `Testing`).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{read_tree, tree, write_tree};
use ssot_version::VersionStore;

/// A pack whose only object is the empty file has no object bytes: its index starts
/// right after the header. Such a pack is sound (kills `index_offset < HEADER_LEN` as
/// `<=` in `load`, which would set it aside as corrupt).
#[test]
fn a_pack_holding_only_the_empty_file_is_read_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("empty", "")]));
    let first = VersionStore::open(root).unwrap().snapshot("empty").unwrap();
    std::fs::remove_file(root.join("empty")).unwrap();
    // A new handle loads the pack from disk.
    let store = VersionStore::open(root).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    let _ = store.rollback(first.id().as_ref()).unwrap();
    assert_eq!(read_tree(root), tree(&[("empty", "")]));
}
