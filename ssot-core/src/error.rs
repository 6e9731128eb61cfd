//! The crate's one error type.
//!
//! Every fallible operation in `ssot-core` returns [`Error`]. Parse errors carry a
//! [`ParseError`] with the format, the 1-based line (and column where the format
//! tells us), the field at fault and what to do about it, so a message reads like
//! ``markdown line 12, column 7, field `priority`: unknown priority `urgent`; expected
//! one of critical, high, medium, normal, low, lowest``. The error does not know the
//! file's path: prefix it where you read the file (`tasks.md: markdown line 12, ...`).

use std::fmt;
use std::path::PathBuf;

use crate::format::kind::Format;
use crate::task::{Status, TaskId};

/// Everything that can go wrong in `ssot-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document could not be parsed; see [`ParseError`] for where and why.
    #[error(transparent)]
    Parse(#[from] ParseError),

    /// A status change that the task state machine does not allow.
    #[error(
        "task `{id}`: cannot change status from {from} to {to}; from {from} a task may go to: {allowed}",
        allowed = Status::list(from.allowed_next())
    )]
    IllegalTransition {
        /// The task whose status was to change.
        id: TaskId,
        /// Its current status.
        from: Status,
        /// The requested status.
        to: Status,
    },

    /// A string that is not a valid task id.
    #[error(
        "invalid task id `{value}`: {reason} (ids are non-empty and use only letters, digits, `-`, `_` and `.`)"
    )]
    InvalidId {
        /// The rejected text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A string that is not a valid tag.
    #[error(
        "invalid tag `{value}`: {reason} (tags are non-empty and use only letters, digits, `-`, `_` and `/`)"
    )]
    InvalidTag {
        /// The rejected text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A task cannot be written in the requested format without losing data.
    #[error("{format}: cannot write task `{id}` without losing data: field `{field}` {reason}")]
    Unrepresentable {
        /// The target format.
        format: Format,
        /// The task that cannot be written.
        id: TaskId,
        /// The field whose value the format cannot hold.
        field: &'static str,
        /// Why, and what to change.
        reason: String,
    },

    /// The document around the tasks cannot be written in the requested format.
    #[error("{format}: cannot write the document: {reason}")]
    InvalidDocument {
        /// The target format.
        format: Format,
        /// What is wrong, and what to change.
        reason: String,
    },

    /// A format's writer failed. Every writer writes to memory, so this means a bug in
    /// `ssot-core` or a dependency; it is reported rather than turned into a panic.
    #[error("{format}: writing failed: {message} (this is a bug; please report it)")]
    Write {
        /// The target format.
        format: Format,
        /// What the writer said.
        message: String,
    },

    /// A name that is not a priority or a status.
    #[error("unknown {what} `{name}`; expected one of {expected}")]
    UnknownName {
        /// `"priority"` or `"status"`.
        what: &'static str,
        /// The name that was not recognized.
        name: String,
        /// The accepted names.
        expected: &'static str,
    },

    /// An edit would give a task an id that another task has, or that would change the
    /// derived id of another task.
    #[error("cannot give a task the id `{id}`: {reason}")]
    IdConflict {
        /// The id the edit asked for.
        id: TaskId,
        /// Why it cannot be used, and what to do instead.
        reason: &'static str,
    },

    /// An edit that cannot be made by rewriting only the bytes it changes (see
    /// [`format::edit`](crate::format::edit)). Nothing was changed: the editors never
    /// fall back to re-rendering the file.
    #[error("{format} line {line}, column {column}: cannot edit in place: {reason}")]
    NotInPlace {
        /// The document's format.
        format: Format,
        /// 1-based line of the node that could not be edited.
        line: usize,
        /// 1-based character column of that node.
        column: usize,
        /// Why, and what to change in the file or the edit.
        reason: String,
    },

    /// A lookup by id found no task.
    #[error("no task with id `{id}`")]
    TaskNotFound {
        /// The id that was looked up.
        id: TaskId,
    },

    /// A push onto a [`TaskQueue`](crate::TaskQueue) that is at its `max_size`.
    #[error(
        "task queue is full ({max_size} tasks); task `{id}` was not added (pop or remove a task, or raise max_size)"
    )]
    QueueFull {
        /// The task that was refused.
        id: TaskId,
        /// The queue's limit.
        max_size: usize,
    },

    /// A push of a task whose id is already in the queue.
    #[error("task `{id}` is already in the queue (remove it first to replace it)")]
    DuplicateTask {
        /// The id that is already queued.
        id: TaskId,
    },

    /// A file or directory of the store could not be read or written.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// [`Store::open`](crate::store::Store::open) was given something that is not a
    /// directory.
    #[cfg(feature = "store")]
    #[error("{path}: not a directory (a store is a directory; create it, or run init)", path = path.display())]
    NotADirectory {
        /// The path that was given.
        path: PathBuf,
    },

    /// [`Store::init`](crate::store::Store::init) found a manifest already there.
    #[cfg(feature = "store")]
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
    #[cfg(feature = "store")]
    #[error("invalid manifest:\n{0}")]
    Manifest(Box<crate::store::Report>),

    /// A symbolic link that a manifest glob matches leads outside the store's root.
    #[cfg(feature = "store")]
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
    #[cfg(feature = "store")]
    #[error("{path}: outside the store's root `{root}`; name files relative to the root, without `..`", root = root.display())]
    OutsideRoot {
        /// The path as given.
        path: String,
        /// The store's root.
        root: PathBuf,
    },

    /// A path given to the store is not a file the manifest makes part of it.
    #[cfg(feature = "store")]
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
    #[cfg(feature = "store")]
    #[error("{0}")]
    Invalid(Box<crate::store::Report>),

    /// No configuration of this name is declared under `configs:` in the manifest.
    #[cfg(feature = "store")]
    #[error("no configuration `{name}` in ssot.yaml; declared: {known}")]
    UnknownConfig {
        /// The name asked for.
        name: String,
        /// The declared names, comma separated, or `none`.
        known: String,
    },

    /// [`ConfigView::explain`](crate::store::ConfigView::explain) of a key the view does not
    /// hold.
    #[cfg(feature = "store")]
    #[error("configuration `{config}` has no key `{key}`{removed}")]
    UnknownKey {
        /// The configuration.
        config: String,
        /// The key asked for.
        key: String,
        /// Why, when an overlay removed it (`null` in RFC 7396).
        removed: String,
    },

    /// A change waited longer than the manifest's `lock_timeout` for a lock.
    #[cfg(feature = "store")]
    #[error(
        "{path}: timed out after {timeout:?} waiting for the lock (another thread or process is changing the store); \
         retry, or raise `settings: lock_timeout` in ssot.yaml"
    )]
    LockTimeout {
        /// The file (relative to the root) or lock file waited for.
        path: String,
        /// The timeout that passed.
        timeout: std::time::Duration,
    },

    /// A lock could not be taken for another reason than a timeout (a deadlock
    /// between threads, a lock file that cannot be opened).
    #[cfg(feature = "store")]
    #[error(transparent)]
    Lock(#[from] ssot_lock::Error),

    /// The audit log (`.ssot/audit.log`) or its head is damaged: a record was edited,
    /// removed, reordered or cut off.
    #[cfg(feature = "store")]
    #[error(
        "{path}:{line}: audit log damaged: {reason}; Store::verify_audit reports the first damage \
         (restore the log from a backup, or move it away to start a new one)",
        path = path.display()
    )]
    AuditDamaged {
        /// The log file.
        path: PathBuf,
        /// The 1-based line of the first damage found.
        line: u64,
        /// What is wrong.
        reason: String,
    },

    /// [`Store::changes_since`](crate::store::Store::changes_since) was asked for
    /// revisions the audit log no longer holds: `audit_retention` pruned them.
    #[cfg(feature = "store")]
    #[error(
        ".ssot/audit.log: the changes after revision {requested} are not all in the audit log: \
         revisions up to {} were pruned (settings: audit_retention; see .ssot/audit.anchor) and \
         the oldest kept is {oldest}. Their records are gone: read the state they led to from \
         `history` (versions) or the files, then replay from changes_since({})",
        oldest - 1,
        oldest - 1
    )]
    AuditPruned {
        /// The revision asked for.
        requested: u64,
        /// The oldest revision the log still holds.
        oldest: u64,
    },

    /// The version store (`.ssot/versions`) failed.
    #[cfg(feature = "store")]
    #[error(transparent)]
    Version(#[from] ssot_version::Error),

    /// [`Transaction::commit`](crate::store::Transaction::commit) of a transaction
    /// without a change.
    #[cfg(feature = "store")]
    #[error("the transaction has no change to commit; add changes before commit, or drop it")]
    EmptyTransaction,

    /// A commit is durable (its audit records are in the log, the write-ahead log)
    /// but one of its files was not written: it was changed outside the store while
    /// the commit ran (it is then left as found), or writing it failed (the next
    /// change of the file, [`Store::open`](crate::store::Store::open) or
    /// [`Store::checkpoint`](crate::store::Store::checkpoint) writes it from the log).
    #[cfg(feature = "store")]
    #[error(
        "revision {revision} is committed in the audit log, but `{path}` was not written: {reason}"
    )]
    Unapplied {
        /// The committed revision.
        revision: u64,
        /// The file, relative to the store's root.
        path: String,
        /// Why, and what happens next.
        reason: String,
    },

    /// A schema could not be registered (a built-in one: a bug).
    #[error(transparent)]
    Schema(#[from] ssot_schema::Error),

    /// The plan names a node its graph does not have.
    #[error(
        "plan names node `{id}`, which is not in its graph; add the node or drop it from the order/options"
    )]
    UnknownNode {
        /// The id.
        id: String,
    },

    /// The tasks do not form a dependency graph.
    #[error("the tasks do not form a dependency graph: {0}")]
    Graph(String),

    /// A node names a concurrency group the executor does not define.
    #[error(
        "node `{id}` is in concurrency group `{group}`, which the executor does not define; add it with `ExecutorBuilder::group(\"{group}\", limit)`"
    )]
    UnknownGroup {
        /// The node.
        id: String,
        /// The group.
        group: String,
    },

    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}; lower the worker count")]
    Spawn(#[source] std::io::Error),

    /// The run journal could not be written or read.
    #[error("run journal {}: {source}; check the journal directory exists and is writable", path.display())]
    Journal {
        /// The journal file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// `resume` was asked for a run whose journal does not exist.
    #[error("no journal for run `{run_id}` in {}; pass the directory and run id the run was started with", dir.display())]
    NoSuchRun {
        /// The run id.
        run_id: String,
        /// The journal directory.
        dir: std::path::PathBuf,
    },

    /// The file watcher of [`Store::watch`](crate::store::Store::watch) failed: it
    /// could not start, or its back-end reported an error (events lost, the
    /// watch limit reached).
    #[cfg(feature = "watch")]
    #[error(
        "watching {} for outside edits: {source}; check the directory exists and is readable \
         (on Linux, `OS file watch limit reached` means raising `fs.inotify.max_user_watches`)",
        path.display()
    )]
    Watch {
        /// The directory watched.
        path: PathBuf,
        /// The watcher's error.
        #[source]
        source: notify::Error,
    },

    // run
    /// A task field read as a per-task run setting does not parse.
    #[error("task `{id}`, field `{field}`: {message}")]
    TaskField {
        /// The task.
        id: String,
        /// The field (`timeout`, `retries`, `retry_policy`, ...).
        field: String,
        /// What is wrong and how to write it.
        message: String,
    },

    // run
    /// An automation registry (or one of its workflows) cannot be read as a plan.
    #[error("automation registry, at `{key}`: {message}")]
    Workflow {
        /// The key, dotted from the root (`automation.workflows.release.production.timeout`).
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl Error {
    /// An [`Error::Io`] at `path`.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The result type of this crate: `Result<T>` is `std::result::Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where and why a document failed to parse.
///
/// `line` is 1-based; `column`, when known, is a 1-based count of characters
/// (not bytes) from the start of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseError {
    /// The format that was being read.
    pub format: Format,
    /// 1-based line of the offending input (0 when the input is empty).
    pub line: usize,
    /// 1-based column, where the format reports one.
    pub column: Option<usize>,
    /// The task field at fault, where one is.
    pub field: Option<String>,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl ParseError {
    /// A parse error at `line` with no column and no field.
    pub fn new(format: Format, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            format,
            line,
            column: None,
            field: None,
            message: message.into(),
        }
    }

    /// Sets the column.
    #[must_use]
    pub fn with_column(mut self, column: usize) -> ParseError {
        self.column = Some(column);
        self
    }

    /// Sets the field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> ParseError {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.format, self.line)?;
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ParseError {}
