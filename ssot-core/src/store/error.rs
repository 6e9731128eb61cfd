//! [`StoreError`]: what can go wrong opening, reading or planning a store.
//!
//! Problems *in* the store's files (a task list that does not parse, a document that
//! breaks its schema, a dependency on an unknown task) are not errors of the call
//! that meets them one by one: they are collected in a [`Report`], which
//! [`Store::validate`](super::Store::validate) returns and which the other
//! operations wrap in [`StoreError::Invalid`] when they cannot answer without the
//! broken file. A `StoreError` of another kind means the store itself could not be
//! used (its directory is missing, its manifest is invalid, a symbolic link leads out
//! of it).

use std::io;
use std::path::PathBuf;

use super::report::Report;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or directory of the store could not be read or written.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// [`Store::open`](super::Store::open) was given something that is not a
    /// directory.
    #[error("{path}: not a directory (a store is a directory; create it, or run init)", path = path.display())]
    NotADirectory {
        /// The path that was given.
        path: PathBuf,
    },

    /// [`Store::init`](super::Store::init) found a manifest already there.
    #[error(
        "{path}: the directory is already a store (it has an ssot.yaml); open it instead",
        path = path.display()
    )]
    AlreadyInitialized {
        /// The store's directory.
        path: PathBuf,
    },

    /// The manifest (`ssot.yaml`) is invalid: every problem found, each with its
    /// `ssot.yaml:line:col`.
    #[error("invalid manifest:\n{0}")]
    Manifest(Box<Report>),

    /// A symbolic link that a manifest glob matches leads outside the store's root.
    #[error(
        "{link}: symbolic link to `{target}`, outside the store's root `{root}`; \
         replace the link with the file itself, or mark it `ignore` in ssot.yaml",
        target = target.display(),
        root = root.display()
    )]
    SymlinkEscape {
        /// The link, relative to the root.
        link: String,
        /// Where it leads.
        target: PathBuf,
        /// The store's root.
        root: PathBuf,
    },

    /// A path given to the store reaches outside its root (`..`, an absolute path
    /// elsewhere, or a symbolic link out).
    #[error("{path}: outside the store's root `{root}`; name files relative to the root, without `..`", root = root.display())]
    OutsideRoot {
        /// The path as given.
        path: String,
        /// The store's root.
        root: PathBuf,
    },

    /// A path given to the store is not a file the manifest makes part of it.
    #[error(
        "{path}: not a {wanted} of this store (no glob under `files:` in ssot.yaml makes it one)"
    )]
    NotManaged {
        /// The path, relative to the root.
        path: String,
        /// What the caller asked for: `task list` or `document`.
        wanted: &'static str,
    },

    /// The files needed to answer are invalid: every problem found.
    #[error("{0}")]
    Invalid(Box<Report>),

    /// No configuration of this name is declared under `configs:` in the manifest.
    #[error("no configuration `{name}` in ssot.yaml; declared: {known}")]
    UnknownConfig {
        /// The name asked for.
        name: String,
        /// The declared names, comma separated, or `none`.
        known: String,
    },

    /// [`ConfigView::explain`](super::ConfigView::explain) of a key the view does not
    /// hold.
    #[error("configuration `{config}` has no key `{key}`{removed}")]
    UnknownKey {
        /// The configuration.
        config: String,
        /// The key asked for.
        key: String,
        /// Why, when an overlay removed it (`null` in RFC 7396).
        removed: String,
    },

    /// A schema could not be registered (a built-in one: a bug).
    #[error(transparent)]
    Schema(#[from] ssot_schema::Error),

    /// An error of the task model.
    #[error(transparent)]
    Task(#[from] crate::Error),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
