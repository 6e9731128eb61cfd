//! Helpers shared by the integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// A tree: relative `/`-path -> (content, executable).
pub type Tree = BTreeMap<String, (Vec<u8>, bool)>;

pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every regular file under `root` except the store, with content and executable bit.
pub fn read_tree(root: &Path) -> Tree {
    let mut out = Tree::new();
    read_into(root, "", &mut out);
    out
}

fn read_into(root: &Path, rel: &str, out: &mut Tree) {
    let dir = if rel.is_empty() {
        root.to_owned()
    } else {
        root.join(rel)
    };
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if child == ".ssot" {
            continue;
        }
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            read_into(root, &child, out);
        } else if ty.is_file() {
            let meta = entry.metadata().unwrap();
            out.insert(child, (fs::read(entry.path()).unwrap(), executable(&meta)));
        }
    }
}

#[cfg(unix)]
pub fn executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
pub fn executable(_: &fs::Metadata) -> bool {
    false
}

pub fn set_executable(path: &Path, exec: bool) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            path,
            fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }),
        )
        .unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, exec);
}

/// Removes everything under `root` except `.ssot` and the paths `keep` selects.
pub fn clear(root: &Path, keep: &dyn Fn(&str) -> bool) {
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name == ".ssot" || keep(&name) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            fs::remove_dir_all(entry.path()).unwrap();
        } else {
            fs::remove_file(entry.path()).unwrap();
        }
    }
}

/// Writes `tree` under `root` (parents created).
pub fn write_tree(root: &Path, tree: &Tree) {
    for (rel, (content, exec)) in tree {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        set_executable(&path, *exec);
    }
}

/// A tree from (path, content) pairs, not executable.
pub fn tree(files: &[(&str, &str)]) -> Tree {
    files
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (c.as_bytes().to_vec(), false)))
        .collect()
}
