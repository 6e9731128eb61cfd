//! Corruption and path traversal: damage is reported by `verify` and stops a rollback
//! before the tree is touched; crafted manifests and symbolic links are refused and
//! nothing is written outside the root.
// Test helpers outside #[test] functions fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;

use common::{read_tree, tree, write_tree};
use ssot_version::{Error, ObjectHash, Problem, VersionStore};

fn only_pack(root: &Path, skip: &[String]) -> std::path::PathBuf {
    fs::read_dir(root.join(".ssot/versions/packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !skip.iter().any(|s| p.ends_with(s)))
        .unwrap()
}

#[test]
fn a_flipped_byte_is_reported_and_stops_the_rollback_before_the_tree_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("f", "original content")]));
    let store = VersionStore::open(root).unwrap();
    let v1 = store.snapshot("v1").unwrap();
    let first_pack = only_pack(root, &[]);
    write_tree(root, &tree(&[("f", "changed"), ("g", "new")]));
    store.snapshot("v2").unwrap();

    // The first object of the first pack starts right after the 24-byte header.
    let mut bytes = fs::read(&first_pack).unwrap();
    bytes[24] ^= 0x01;
    fs::write(&first_pack, bytes).unwrap();

    let report = store.verify().unwrap();
    assert!(!report.is_ok());
    assert!(
        report.problems.iter().any(|p| matches!(p,
        Problem::CorruptObject { hash, .. } if *hash == ObjectHash::of(b"original content"))),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::MissingObject { path, .. } if path == "f"))
    );

    let err = store.rollback(v1.id().as_str()).unwrap_err();
    assert!(matches!(err, Error::CorruptObject { .. }), "{err}");
    assert!(
        err.to_string().contains("verify()"),
        "the message says what to do: {err}"
    );
    assert_eq!(
        read_tree(root),
        tree(&[("f", "changed"), ("g", "new")]),
        "the tree is untouched"
    );
    assert_eq!(store.history().unwrap().len(), 2, "no version was recorded");
}

#[test]
fn a_truncated_pack_is_reported_and_its_objects_count_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("f", "content")]));
    let store = VersionStore::open(root).unwrap();
    let v1 = store.snapshot("v1").unwrap();
    let pack = only_pack(root, &[]);
    let bytes = fs::read(&pack).unwrap();
    fs::write(&pack, &bytes[..bytes.len() - 3]).unwrap();
    let report = store.verify().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::UnreadablePack { .. })),
        "{:?}",
        report.problems
    );
    write_tree(root, &tree(&[("f", "other")]));
    assert!(matches!(
        store.rollback(v1.id().as_str()),
        Err(Error::MissingObject { .. })
    ));
    assert_eq!(read_tree(root), tree(&[("f", "other")]));
}

/// Writes a manifest by hand, named by its own hash as the store names manifests.
fn craft_manifest(root: &Path, files: &str) -> String {
    let json = format!(
        r#"{{"format":1,"parent":null,"created_unix_ns":0,"description":"crafted","restored_from":null,"files":{files}}}"#
    );
    let id = &blake3::hash(json.as_bytes()).to_hex()[..32];
    fs::write(
        root.join(format!(".ssot/versions/versions/{id}.json")),
        json,
    )
    .unwrap();
    id.to_owned()
}

#[test]
fn crafted_manifests_with_traversal_or_absolute_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("f", "payload")]));
    let store = VersionStore::open(root).unwrap();
    store.snapshot("real").unwrap();
    let hash = ObjectHash::of(b"payload");
    let escape = format!("ssot-version-escape-{}", std::process::id());
    let outside = root.parent().unwrap().join(&escape);
    for bad in [
        format!("../{escape}"),
        format!("a/../../{escape}"),
        outside.display().to_string(),
        "./f".into(),
        ".ssot/versions/HEAD".into(),
    ] {
        let id = craft_manifest(root, &format!(r#"[["{bad}",7,"{hash}",false]]"#));
        let err = store.rollback(&id).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{bad}: {err}");
        assert!(
            err.to_string().contains(&bad),
            "the message names the path: {err}"
        );
        assert!(matches!(store.get(&id), Err(Error::UnsafePath { .. })));
        let report = store.verify().unwrap();
        assert!(
            report
                .problems
                .iter()
                .any(|p| matches!(p, Problem::CorruptManifest { .. }))
        );
        fs::remove_file(root.join(format!(".ssot/versions/versions/{id}.json"))).unwrap();
    }
    assert!(!outside.exists(), "nothing was written outside the root");
    assert_eq!(read_tree(root), tree(&[("f", "payload")]));
}

#[cfg(unix)]
#[test]
fn restoring_through_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("d/f", "inside"), ("other", "x")]));
    let store = VersionStore::open(root).unwrap();
    let v1 = store.snapshot("d is a directory").unwrap();

    // `d` becomes a link to a directory outside the root.
    fs::remove_dir_all(root.join("d")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("d")).unwrap();
    let err = store.rollback(v1.id().as_str()).unwrap_err();
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(
        fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing written outside"
    );

    // A crafted manifest naming a path under the link is refused the same way.
    let hash = ObjectHash::of(b"inside");
    let id = craft_manifest(root, &format!(r#"[["d/evil",6,"{hash}",false]]"#));
    assert!(matches!(store.rollback(&id), Err(Error::UnsafePath { .. })));
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);

    // A link where a file must go is not replaced silently either.
    fs::remove_file(root.join("d")).unwrap();
    fs::create_dir(root.join("d")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("target"), root.join("d/f")).unwrap();
    assert!(matches!(
        store.rollback(v1.id().as_str()),
        Err(Error::UnsafePath { .. })
    ));
    assert!(!outside.path().join("target").exists());
}

#[test]
fn a_manifest_that_does_not_match_its_id_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &tree(&[("f", "x")]));
    let store = VersionStore::open(root).unwrap();
    let v = store.snapshot("v").unwrap();
    let path = root.join(format!(".ssot/versions/versions/{}.json", v.id()));
    let text = fs::read_to_string(&path).unwrap().replace("\"v\"", "\"w\"");
    fs::write(&path, text).unwrap();
    let store = VersionStore::open(root).unwrap();
    assert!(matches!(
        store.get(v.id().as_str()),
        Err(Error::CorruptStore { .. })
    ));
    assert!(!store.verify().unwrap().is_ok());
}
