//! Versions and their manifests: what a version records and how it is written down.
//!
//! A manifest is one JSON file, `versions/<id>.json`, whose id is the hash of its own
//! bytes (so [`verify`](crate::VersionStore::verify) can check every manifest against
//! its name). JSON because a person inspecting a damaged store can read it, and
//! `serde_json` is already a dependency. Files are written as arrays rather than
//! objects to keep a 10,000-file manifest near one megabyte:
//!
//! ```json
//! {"format":1,"parent":"9c1e…","created_unix_ns":1764000000000000000,
//!  "description":"nightly","restored_from":null,
//!  "files":[["docs/a.md",4096,"<64 hex digits>",false], …]}
//! ```
//!
//! Files are sorted by path (bytewise). Every manifest read from disk is validated
//! before anything uses it: its format number, that every path is a safe relative
//! `/`-path (no absolute path, no `.` or `..`, no empty component, nothing inside the
//! store), that paths are unique and sorted, and that no path is both a file and a
//! directory. A crafted manifest therefore cannot make a rollback write outside the
//! root.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::id::{ObjectHash, VersionId};

/// One version: a snapshot of the tracked files under the root.
///
/// Cheap to clone: the file list is shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub(crate) id: VersionId,
    pub(crate) parent: Option<VersionId>,
    pub(crate) description: String,
    pub(crate) created: SystemTime,
    pub(crate) restored_from: Option<VersionId>,
    pub(crate) files: Arc<[FileEntry]>,
}

impl Version {
    /// The version's id.
    pub fn id(&self) -> &VersionId {
        &self.id
    }

    /// The version this one was taken after (`None` for the first). After a
    /// [`prune`](crate::VersionStore::prune) the parent may no longer be in the store.
    pub fn parent(&self) -> Option<&VersionId> {
        self.parent.as_ref()
    }

    /// The description given to the snapshot.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// When the version was recorded.
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// For a version recorded by a rollback, the version that was restored.
    pub fn restored_from(&self) -> Option<&VersionId> {
        self.restored_from.as_ref()
    }

    /// Every file of the version, sorted by path.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The file at `path` (a relative `/`-path), if the version has it.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }

    /// The sum of the file sizes.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// One file of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileEntry {
    /// The path relative to the root, with `/` separators.
    pub path: String,
    /// The size in bytes.
    pub size: u64,
    /// The hash of the content, which names its object.
    pub hash: ObjectHash,
    /// Whether any execute permission bit was set.
    pub executable: bool,
}

impl FileEntry {
    /// A file entry.
    pub fn new(
        path: impl Into<String>,
        size: u64,
        hash: ObjectHash,
        executable: bool,
    ) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            hash,
            executable,
        }
    }
}

pub(crate) const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    format: u32,
    parent: Option<String>,
    created_unix_ns: u64,
    description: String,
    restored_from: Option<String>,
    files: Vec<(String, u64, ObjectHash, bool)>,
}

/// `t` as a manifest records it: nanoseconds since the epoch, clamped to `u64`.
pub(crate) fn normalize_time(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_ns(t))
}

fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The manifest text of a new version, and its id.
///
/// # Errors
/// [`Error::Encode`] if serde_json fails (it cannot for these types today; the error
/// is returned, never replaced by an empty manifest).
pub(crate) fn encode(
    parent: Option<&VersionId>,
    description: &str,
    created: SystemTime,
    restored_from: Option<&VersionId>,
    files: &[FileEntry],
) -> Result<(VersionId, String), Error> {
    let created_unix_ns = unix_ns(created);
    let repr = Repr {
        format: FORMAT,
        parent: parent.map(|p| p.to_string()),
        created_unix_ns,
        description: description.to_owned(),
        restored_from: restored_from.map(|p| p.to_string()),
        files: files
            .iter()
            .map(|f| (f.path.clone(), f.size, f.hash, f.executable))
            .collect(),
    };
    // `to_string`, not `to_vec`: the journal carries the manifest as text, and no
    // UTF-8 conversion (with a fallback) is then needed.
    let text = serde_json::to_string(&repr).map_err(|source| Error::Encode {
        what: "a version's manifest",
        source,
    })?;
    Ok((VersionId::of_manifest(text.as_bytes()), text))
}

/// Parses and validates manifest bytes. `Err` carries the reason; the caller adds where.
pub(crate) fn decode(id: &VersionId, bytes: &[u8]) -> Result<Version, DecodeError> {
    if VersionId::of_manifest(bytes) != *id {
        return Err(DecodeError::Corrupt(
            "its content does not hash to its id (the file was changed or damaged)".into(),
        ));
    }
    decode_unchecked(id.clone(), bytes)
}

/// Parses and validates manifest bytes without checking them against an id (the
/// journal carries the bytes of a manifest not yet written).
pub(crate) fn decode_unchecked(id: VersionId, bytes: &[u8]) -> Result<Version, DecodeError> {
    let repr: Repr = serde_json::from_slice(bytes)
        .map_err(|e| DecodeError::Corrupt(format!("not a manifest: {e}")))?;
    if repr.format != FORMAT {
        return Err(DecodeError::Corrupt(format!(
            "manifest format {} is not supported (this build reads format {FORMAT}); upgrade ssot-version",
            repr.format
        )));
    }
    let parse_id = |text: Option<String>, what: &str| -> Result<Option<VersionId>, DecodeError> {
        match text {
            None => Ok(None),
            Some(t) => t
                .parse::<VersionId>()
                .map(Some)
                .map_err(|_| DecodeError::Corrupt(format!("{what} `{t}` is not a version id"))),
        }
    };
    let parent = parse_id(repr.parent, "parent")?;
    let restored_from = parse_id(repr.restored_from, "restored_from")?;
    let files: Vec<FileEntry> = repr
        .files
        .into_iter()
        .map(|(path, size, hash, executable)| FileEntry {
            path,
            size,
            hash,
            executable,
        })
        .collect();
    check_file_list(&files)?;
    Ok(Version {
        id,
        parent,
        description: repr.description,
        created: UNIX_EPOCH + Duration::from_nanos(repr.created_unix_ns),
        restored_from,
        files: files.into(),
    })
}

/// Whether two file lists (sorted by path) record the same tree: the same paths, each
/// with the same content and executable bit.
pub(crate) fn same_files(a: &[FileEntry], b: &[FileEntry]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.path == y.path && x.hash == y.hash && x.executable == y.executable)
}

/// Why a manifest was refused.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// Not a well-formed manifest.
    Corrupt(String),
    /// Well-formed, but a path is unsafe to restore.
    UnsafePath { path: String, reason: String },
}

fn check_file_list(files: &[FileEntry]) -> Result<(), DecodeError> {
    let mut set: HashSet<&str> = HashSet::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        if let Err(reason) = check_rel_path(&f.path) {
            return Err(DecodeError::UnsafePath {
                path: f.path.clone(),
                reason: reason.to_owned(),
            });
        }
        if i > 0 && files[i - 1].path.as_str() >= f.path.as_str() {
            return Err(DecodeError::Corrupt(format!(
                "file list is not sorted and unique at `{}`",
                f.path
            )));
        }
        set.insert(&f.path);
    }
    for f in files {
        for (i, _) in f.path.match_indices('/') {
            if set.contains(&f.path[..i]) {
                return Err(DecodeError::UnsafePath {
                    path: f.path.clone(),
                    reason: format!(
                        "`{}` is recorded both as a file and as a directory",
                        &f.path[..i]
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The directory, relative to the root, that holds the store's own data; nothing at or
/// under it is ever snapshotted or restored.
pub(crate) const STORE_REL: &str = ".ssot/versions";

/// Checks that `path` is a relative `/`-path that may be written under the root.
pub(crate) fn check_rel_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("the path is empty");
    }
    if path.starts_with('/') {
        return Err("absolute paths are not allowed");
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte");
    }
    for component in path.split('/') {
        match component {
            "" => return Err("the path has an empty component (`//` or a trailing `/`)"),
            "." => return Err("the path has a `.` component"),
            ".." => return Err("the path has a `..` component"),
            _ => {}
        }
    }
    if is_store_path(path) {
        return Err("the path is inside the store directory `.ssot/versions`");
    }
    Ok(())
}

/// Whether `rel` is the store directory or inside it. ASCII case is ignored: on a
/// case-insensitive file system (macOS by default) `.SSOT/Versions/HEAD` is the store's
/// `HEAD`, and a crafted manifest must not be able to write there.
pub(crate) fn is_store_path(rel: &str) -> bool {
    let (bytes, store) = (rel.as_bytes(), STORE_REL.as_bytes());
    bytes.len() >= store.len()
        && bytes[..store.len()].eq_ignore_ascii_case(store)
        && (bytes.len() == store.len() || bytes[store.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> FileEntry {
        FileEntry::new(path, 1, ObjectHash::of(path.as_bytes()), false)
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let files = vec![entry("a"), entry("b/c"), entry("b/d")];
        let t = UNIX_EPOCH + Duration::from_nanos(1_234_567_891);
        let (id, text) = encode(None, "first", t, None, &files).unwrap();
        let v = decode(&id, text.as_bytes()).unwrap();
        assert_eq!(v.files(), &files[..]);
        assert_eq!(v.created(), t);
        assert_eq!(v.description(), "first");
        assert_eq!(v.file("b/c"), Some(&files[1]));
        assert_eq!(v.file("b"), None);
    }

    #[test]
    fn a_changed_manifest_no_longer_matches_its_id() {
        let (id, text) = encode(None, "x", UNIX_EPOCH, None, &[entry("a")]).unwrap();
        let mut bytes = text.into_bytes();
        bytes[20] ^= 1;
        assert!(matches!(decode(&id, &bytes), Err(DecodeError::Corrupt(_))));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "./a",
            "a//b",
            "a/",
            ".ssot/versions/HEAD",
            ".SSOT/Versions/HEAD",
            ".ssot/VERSIONS",
            "a\0b",
        ] {
            assert!(check_rel_path(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a",
            ".hidden",
            "a/b/c.md",
            "..a",
            "a..",
            ".ssot/other",
            ".ssot/versionsx",
        ] {
            assert!(check_rel_path(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn a_path_that_is_both_file_and_directory_is_refused() {
        let files = vec![entry("a"), entry("a-b"), entry("a/b")];
        assert!(matches!(
            check_file_list(&files),
            Err(DecodeError::UnsafePath { .. })
        ));
    }
}
