//! The crate's one error type.
//!
//! Every fallible operation returns [`Error`]. A message names what went wrong, where
//! (the file path, the version id, the object hash) and, where there is one, the way
//! out: ``no version matches `3fa`; ids are listed by `history()` `` or
//! ``version prefix `3f` is ambiguous: it matches 3fa0…, 3f91…; give more characters``.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::id::{ObjectHash, VersionId};

/// Everything that can go wrong in `ssot-version`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done (`"read"`, `"rename"`, `"lock"`, ...).
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// No version id starts with the given text and no tag has that name.
    #[error("no version matches `{spec}`; ids and tags are listed by `history()` and `tags()`")]
    UnknownVersion {
        /// The id, prefix or tag that was looked up.
        spec: String,
    },

    /// An id prefix matches more than one version.
    #[error(
        "version prefix `{prefix}` is ambiguous: it matches {}; give more characters",
        Candidates(candidates)
    )]
    AmbiguousVersion {
        /// The prefix that was looked up.
        prefix: String,
        /// Every version whose id starts with it, sorted.
        candidates: Vec<VersionId>,
    },

    /// The store holds no version yet, and the operation needs one.
    #[error("the store at `{}` has no version yet; take a snapshot first", store.display())]
    NoVersions {
        /// The store directory.
        store: PathBuf,
    },

    /// A path that must not be written: absolute, with `..`, inside the store, through a
    /// symbolic link, or not representable. Nothing was written.
    #[error("refusing path `{path}`{}: {reason}", version.as_ref().map(|v| format!(" of version {v}")).unwrap_or_default())]
    UnsafePath {
        /// The path as given or as recorded in the manifest.
        path: String,
        /// The version whose manifest holds it, where there is one.
        version: Option<VersionId>,
        /// Why it is refused.
        reason: String,
    },

    /// A rollback cannot put a file in place because something the store does not track
    /// is in the way (a directory holding excluded files, an excluded file where a
    /// directory must go). Nothing was written.
    #[error("cannot restore `{path}`: {reason}")]
    Blocked {
        /// The path that cannot be restored.
        path: String,
        /// What is in the way, and what to do.
        reason: String,
    },

    /// A directory a write or rollback must change cannot be changed by this process:
    /// its permissions, a read-only mount or an immutable flag refuse it. Found by the
    /// pre-flight check before the change is committed: nothing was written.
    #[error(
        "cannot change `{target}`: the directory `{}` is not writable by this process ({source}); make it writable (`chmod u+w`, or remount the file system read-write) and try again; nothing was written",
        dir.display()
    )]
    NotWritable {
        /// The path (relative to the root) the change puts or deletes.
        target: String,
        /// The directory that refuses the change.
        dir: PathBuf,
        /// The operating system's answer to the access check.
        #[source]
        source: io::Error,
    },

    /// An object's bytes do not hash to its name: the store is damaged.
    #[error(
        "object {hash} in `{}` is corrupt: {detail}; run `verify()` for a full report and restore the store from a backup",
        pack.display()
    )]
    CorruptObject {
        /// The object's recorded hash.
        hash: ObjectHash,
        /// The pack file that holds it.
        pack: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// A version needs an object the store does not hold.
    #[error(
        "object {hash} for `{path}` of version {version} is missing from the store; run `verify()` for a full report"
    )]
    MissingObject {
        /// The missing object's hash.
        hash: ObjectHash,
        /// The file that needs it.
        path: String,
        /// The version that records the file.
        version: VersionId,
    },

    /// A store file (manifest, pack, head, journal, tags) is damaged or not one of ours.
    #[error("corrupt store file `{}`: {reason}", path.display())]
    CorruptStore {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// An include or exclude pattern is not a valid glob.
    #[error("invalid glob `{glob}`: {source}")]
    Glob {
        /// The pattern as given.
        glob: String,
        /// What globset said.
        #[source]
        source: globset::Error,
    },

    /// A tag name that cannot be used.
    #[error("invalid tag name `{name}`: {reason}")]
    InvalidTag {
        /// The rejected name.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    /// A store file (manifest, journal, tags) could not be encoded. Nothing was
    /// written: the encoding happens before anything is committed.
    #[error("cannot encode {what}: {source}; nothing was written")]
    Encode {
        /// What was being encoded (`"the rollback journal"`, `"the tags"`, ...).
        what: &'static str,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },

    /// A [`WriteSet::expect`](crate::WriteSet::expect) precondition did not hold: the
    /// file changed since the caller read it. Nothing was written.
    #[error(
        "write refused, nothing was written: `{path}` was expected {} but {}; read it again and rebuild the write",
        Expected(expected),
        Found(found)
    )]
    Conflict {
        /// The path whose precondition failed.
        path: String,
        /// The content hash the write expected (`None`: no file).
        expected: Option<ObjectHash>,
        /// The content hash found (`None`: no file).
        found: Option<ObjectHash>,
    },

    /// The `finish` step of [`write_with`](crate::VersionStore::write_with), or the
    /// store's recovery hook ([`on_recover`](crate::VersionStoreBuilder::on_recover)),
    /// failed. The files are in place; the journal stays, so the next lock of the
    /// store (the next operation on it, or opening it) calls the recovery hook again.
    /// (A set that changed no file wrote no journal: then nothing is left to do.)
    #[error("{}", FinishMessage(journal, source))]
    Finish {
        /// The journal left in place; `None` for a set that changed no file.
        journal: Option<PathBuf>,
        /// The hook's error.
        #[source]
        source: io::Error,
    },

    /// A path given to `snapshot_paths` that is not under the root.
    #[error("path `{}` is not under the store's root `{}`", path.display(), root.display())]
    OutsideRoot {
        /// The path as given.
        path: PathBuf,
        /// The root of the store.
        root: PathBuf,
    },
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds the closure for `map_err` that wraps an `io::Error` with what and where.
pub(crate) fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// Encodes `value` as JSON, or returns [`Error::Encode`] naming `what`. Never falls
/// back to empty bytes: a store file written empty would be committed as damage.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| Error::Encode { what, source })
}

struct FinishMessage<'a>(&'a Option<PathBuf>, &'a io::Error);

impl fmt::Display for FinishMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(journal) => write!(
                f,
                "the write's files are in place but its finish step failed: {}; the journal `{}` stays, and the next operation on the store finishes the write again and runs the recovery hook",
                self.1,
                journal.display()
            ),
            None => write!(
                f,
                "the finish step of a write that changed no file failed: {}; nothing was written and nothing is left to recover",
                self.1
            ),
        }
    }
}

struct Expected<'a>(&'a Option<ObjectHash>);

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(h) => write!(f, "to hold content {h}"),
            None => f.write_str("not to exist"),
        }
    }
}

struct Found<'a>(&'a Option<ObjectHash>);

impl fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(h) => write!(f, "it holds {h}"),
            None => f.write_str("it does not exist"),
        }
    }
}

struct Candidates<'a>(&'a [VersionId]);

impl fmt::Display for Candidates<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_value_json_cannot_encode_is_an_error_naming_it_not_empty_bytes() {
        // JSON object keys must be strings: this map cannot be encoded.
        let map: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let err = to_json(&map, "the tags").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Encode {
                    what: "the tags",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("nothing was written"), "{err}");
        assert_eq!(to_json(&[1, 2], "a list").unwrap(), b"[1,2]");
    }
}
