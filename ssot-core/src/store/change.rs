//! The write side: changes, validated before anything is written, made under locks,
//! written atomically and durably, and audited.
//!
//! # One commit path
//!
//! Every change ([`Store::set_status`], [`Store::update_task`], [`Store::add_task`],
//! [`Store::remove_task`], [`Store::patch`]), every [`Transaction`](super::Transaction),
//! [`Store::record_drift`] and [`Store::rollback`] goes through one function:
//!
//! 1. **Find** each change's file: a task id through the id index, checked against
//!    the cached read of the indexed file, else through a walk of the store (ids
//!    are unique across the store), a path through the manifest.
//! 2. **Lock**: an in-process `Write` lock per file touched ([`ssot_lock::LockManager`],
//!    in path order), then the store's lock file `.ssot/lock` (an exclusive
//!    [`ssot_lock::FileLock`]) for the rest of the commit; the waits are bounded by the
//!    manifest's `lock_timeout` ([`Error::LockTimeout`] names what was waited for).
//!    When another process holds `.ssot/lock`, the wait is a blocking `flock` on a
//!    helper thread, not polling, so that a process committing in a loop cannot
//!    starve the others (see `WaitedLock`). Threads of one handle also take turns on
//!    the handle's lock-file handle, a wait bounded by the holder's own.
//! 3. **Read** each file's current bytes (never the cache) and compare their hash with
//!    the audit log's last `after` for the file. A difference is drift: it is
//!    recorded first, as an `External` record of the same revision. On the store's
//!    first revision (an empty log) every file of the store is recorded so: that is
//!    the baseline [`Store::drift`] compares with.
//! 4. **Edit** with the in-place editors ([`format::edit::Document`],
//!    [`ConfigDocument::merge_patch`]); several changes to one file compose.
//! 5. **Validate** each new text as the read side reads it (parse, the file's schema)
//!    and, when a change can alter ids or dependencies (add, remove, update, a patch
//!    of a task file), the plan across files: a change that adds a duplicate id, an
//!    unknown dependency or a cycle is refused. Problems the store already had are not
//!    held against a change (they are compared without line numbers, which an edit
//!    may shift). A refused change is [`Error::Invalid`] with the report; nothing is
//!    written.
//! 6. **Write**, with the audit log as the write-ahead log (`wal.rs`): each changed
//!    file's new bytes are staged in a temporary file beside it; the records, each
//!    with its redo (the splice from the text before it to the text after it), are
//!    **appended** to the audit log as one revision with one `fdatasync`: the
//!    commit point. Then each staged file is renamed over its file, unless the
//!    file's bytes changed since they were read under the lock (then it is left as
//!    found and the commit returns [`Error::Unapplied`]); then `.ssot/audit.head`
//!    is written, marking the group applied. Then the read cache's entries of the
//!    files are invalidated and one [`Event`] per record is published to
//!    [`Store::subscribe`]rs.
//!
//!    With `snapshot: every-change` in the manifest the files are instead written
//!    all or nothing as one [`ssot_version::WriteSet`] (with an `expect` of each
//!    file's hash as read), through [`VersionStore::write_with`], which also records
//!    a version (its id is in every record of the revision and in
//!    [`Commit::version`]); its note carries the records, which are appended once
//!    the files are in place and before the version store's journal is removed.
//!
//! # Crashes
//!
//! A crash before the audit append's `fdatasync` returns leaves every file as it
//! was: the staged files are never renamed, and a group the crash cut short in the
//! log is removed by the next recovery (see `AuditRecord::group`). A crash after it
//! is finished from the log by whoever next takes the store's lock (opening the
//! store is enough): the files not yet written are redone from their records, and
//! no `External` record is made for them. See `wal.rs` for how a crashed apply is
//! told from an outside edit, and for an operating-system crash.
//!
//! With `snapshot: every-change`, a crash before the version store's commit point
//! leaves every file as it was and no record; a crash after it is finished by
//! whoever next locks the version store: the files are rolled forward, and the
//! recovery hook appends the note's records unless the log already has them, so
//! each committed revision is in the log exactly once.
//!
//! A failure to stage (a read-only directory, a full disk) or to append refuses the
//! commit: nothing is written. A rename that fails after the commit point returns
//! [`Error::Unapplied`]; the head stays behind, so the next commit, open or
//! [`Store::checkpoint`] writes the file from the log.
//!
//! # Durability and its cost
//!
//! **One `fdatasync` per commit** (`snapshot: on-request`), whatever the number of
//! changes and files: the audit log's, the commit point. The files are renamed into
//! place without an fsync; every [`CHECKPOINT_REVISIONS`](super::CHECKPOINT_REVISIONS)
//! revisions (or [`CHECKPOINT_BYTES`](super::CHECKPOINT_BYTES) of log) a checkpoint
//! fsyncs the files changed since the last one and their directories, so a
//! single-file change costs one fdatasync plus two syncs (the file's `fdatasync`,
//! its directory's `fsync`) per 128 changes. Counted with `strace -f -c -e
//! trace=fsync,fdatasync,rename,flock` over `ssot set` run 50 and 300 times (one
//! process per change; see `BENCHMARKS.md`): per change **1 `fdatasync`, 0
//! `fsync`**, 2 `rename`s (the file, the head), 8 `flock`s; over 300 changes, the two
//! checkpoints added 2 `fdatasync` and 2 `fsync`. Before this design: 5 `fsync`, 1
//! `fdatasync`, 2 `rename`s and 14 `flock`s per change, through the version store's
//! journal.
//!
//! With `snapshot: every-change`: the version store's three ordered fsync rounds
//! (commit: the staged files and the journal; sync: each touched directory; remove:
//! the journal's directory) plus the audit log's fdatasync, 4 rounds per commit.
//!
//! Plus a `flock` of `.ssot/lock` and of the audit log (and of
//! `.ssot/versions/lock` when that directory exists, to finish a version store
//! write a crash interrupted). Validation costs a parse of each changed file and,
//! for changes that can alter ids or dependencies, a plan of the whole store from
//! the cached reads (O(tasks)). Finding a task by id goes through an id index
//! checked against the indexed file (one `stat`); when that misses, the store is
//! walked and every task file `stat`ed (see `Store::locate` for what the index can
//! miss).
//!
//! [`VersionStore::write_with`]: ssot_version::VersionStore::write_with
//! [`format::edit::Document`]: crate::format::edit::Document
//! [`ConfigDocument::merge_patch`]: crate::format::edit::ConfigDocument::merge_patch

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use ssot_lock::{FileLock, LockKind, LockManager};
use ssot_version::{ObjectHash, VersionStore, WriteSet};

use super::audit::{AuditLog, AuditRecord, Event, Operation};
use super::manifest::SnapshotPolicy;
use super::read::{Content, ReadAs, TaskFile};
use super::report::{Location, Problem, ProblemKind, Report};
use super::scan::{self, Role, STATE_DIR};
use super::versions::Note;
use super::wal::Redo;
use super::{Plan, Store};
use crate::error::Error;
use crate::format::Format;
use crate::format::edit::{ConfigDocument, Document as EditDocument, Position};
use crate::task::{Status, Task};

/// What one commit did: its revision, the version recorded with it, and its audit
/// records (drift found first, then the changes, in order).
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use]
pub struct Commit {
    /// The revision of the commit.
    pub revision: u64,
    /// The version recorded with it (with `snapshot: every-change`, or a rollback's).
    pub version: Option<ssot_version::VersionId>,
    /// Its audit records, all of revision [`revision`](Self::revision).
    pub records: Vec<AuditRecord>,
}

/// The store's lock file taken by a helper thread that waits for it blocking.
///
/// Why not [`FileLock::lock_timeout`]: std has no timed file lock, so it polls, with
/// a backoff up to 10 ms; a process that commits in a loop releases and re-takes the
/// lock within a millisecond, and a poller can miss every such window (measured:
/// starved past a 5 s timeout with two processes making 200 changes each). A
/// blocking `flock` waiter is woken by the kernel at the release. So a contended
/// commit waits on a thread of its own (its own [`FileLock`] handle, so the lock
/// belongs to that thread's open files) and the caller waits on a channel with the
/// timeout. On a timeout the thread stays blocked until the lock is released, then
/// takes it, finds no one waiting, and releases it at once.
struct WaitedLock {
    release: Option<Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WaitedLock {
    /// Waits at most `wait` for the lock file `path`; `None` on a timeout.
    fn acquire(path: PathBuf, wait: Duration) -> Result<Option<WaitedLock>, Error> {
        let (got_tx, got_rx) = channel::<Result<(), ssot_lock::Error>>();
        let (release_tx, release_rx) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ssot-store-lock".into())
            .spawn({
                let path = path.clone();
                move || {
                    let mut lock = match FileLock::open(&path) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = got_tx.send(Err(e));
                            return;
                        }
                    };
                    let held = match lock.lock(LockKind::Exclusive) {
                        Ok(g) => g,
                        Err(e) => {
                            let _ = got_tx.send(Err(e));
                            return;
                        }
                    };
                    if got_tx.send(Ok(())).is_ok() {
                        // Held until the commit drops its `WaitedLock`.
                        let _ = release_rx.recv();
                    }
                    drop(held);
                }
            })
            .map_err(|e| Error::io(&path, e))?;
        match got_rx.recv_timeout(wait) {
            Ok(Ok(())) => Ok(Some(WaitedLock {
                release: Some(release_tx),
                thread: Some(thread),
            })),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(Error::Lock(e))
            }
            Err(_) => Ok(None),
        }
    }
}

impl Drop for WaitedLock {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            // The thread only releases the lock and ends.
            let _ = thread.join();
        }
    }
}

/// The task files as the cached reads give them, and the problems met.
type TaskFiles = (Vec<Arc<TaskFile>>, Vec<Problem>);

/// One change, before it is applied.
pub(crate) enum Change<'a> {
    SetStatus {
        id: String,
        status: Status,
    },
    Update {
        id: String,
        f: Box<dyn FnOnce(&mut Task) + 'a>,
    },
    Add {
        path: String,
        task: Box<Task>,
        at: Position,
    },
    Remove {
        id: String,
    },
    Patch {
        path: String,
        patch: Value,
    },
}

impl Change<'_> {
    /// Whether the change can alter ids or dependencies (so the plan is checked).
    fn touches_plan(&self) -> bool {
        !matches!(self, Change::SetStatus { .. })
    }
}

/// The state of the write side of one store handle.
pub(crate) struct WriteSide {
    pub(crate) actor: String,
    pub(crate) state_dir: PathBuf,
    /// The in-process locks, one key per file (for `health`'s statistics too).
    pub(crate) locks: LockManager<String>,
    file_lock: Mutex<Option<FileLock>>,
    pub(crate) audit: AuditLog,
    subscribers: Mutex<Vec<Sender<Event>>>,
    pub(crate) versions: OnceLock<VersionStore>,
    /// Drift's stat cache: path -> (fingerprint, trusted, hash); see `file_hashes`.
    pub(crate) hashes: Mutex<HashMap<String, (Fingerprint, bool, String)>>,
    /// The last checkpoint this handle saw (revision, log offset); see `wal.rs`.
    checkpoint_hint: Mutex<Option<(u64, u64)>>,
    /// Whether the checkpoint was found written in this boot (see `wal.rs`).
    pub(crate) boot_checked: std::sync::atomic::AtomicBool,
    /// Task id -> the task file that held it at the last whole-store walk; see
    /// `Store::locate`.
    ids: Mutex<HashMap<String, String>>,
}

/// A file's size, mtime, ctime (seconds and nanoseconds), inode and device.
pub(crate) type Fingerprint = (u64, i64, i64, i64, i64, u64, u64);

impl std::fmt::Debug for WriteSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteSide")
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

impl WriteSide {
    /// The write side of the store at `root`. Opens the version store (finishing a
    /// write a crash interrupted) if `.ssot/versions` exists. If that fails (a
    /// read-only directory, a damaged audit log the recovery cannot append to), the
    /// store still opens for reading, and the first write tries again and reports
    /// the error.
    pub(crate) fn open(root: &Path, actor: Option<String>) -> WriteSide {
        let side = WriteSide::new(root, actor);
        if root.join(STATE_DIR).join("versions").is_dir()
            && let Ok(versions) = super::versions::open_versions(root)
        {
            let _ = side.versions.set(versions);
        }
        side
    }

    fn new(root: &Path, actor: Option<String>) -> WriteSide {
        let actor = actor
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "ssot".to_owned());
        let state_dir = root.join(STATE_DIR);
        WriteSide {
            actor,
            audit: AuditLog::new(&state_dir),
            state_dir,
            locks: LockManager::new(),
            file_lock: Mutex::new(None),
            subscribers: Mutex::new(Vec::new()),
            versions: OnceLock::new(),
            hashes: Mutex::new(HashMap::new()),
            checkpoint_hint: Mutex::new(None),
            boot_checked: std::sync::atomic::AtomicBool::new(false),
            ids: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn checkpoint_hint(&self) -> Option<(u64, u64)> {
        *self
            .checkpoint_hint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn set_checkpoint_hint(&self, revision: u64, offset: u64) {
        *self
            .checkpoint_hint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((revision, offset));
    }

    pub(crate) fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(tx);
        rx
    }

    pub(crate) fn publish(&self, records: &[AuditRecord]) {
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for r in records {
            let event = Event::from(r);
            subs.retain(|s| s.send(event.clone()).is_ok());
        }
    }
}

/// A file being changed by a commit.
struct Work {
    rel: String,
    read_as: ReadAs,
    before: Option<Vec<u8>>,
    before_hash: Option<String>,
    text: Working,
    hash: Option<String>,
}

/// A file's text, as the last editor left it.
enum Working {
    Text(String),
    Tasks(EditDocument),
    Config(ConfigDocument),
}

impl Working {
    fn take_text(&mut self) -> String {
        match std::mem::replace(self, Working::Text(String::new())) {
            Working::Text(t) => t,
            Working::Tasks(d) => d.into_string(),
            Working::Config(d) => d.into_string(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Working::Text(t) => t,
            Working::Tasks(d) => d.as_str(),
            Working::Config(d) => d.as_str(),
        }
    }

    fn tasks(&mut self, rel: &str, format: Format) -> Result<&mut EditDocument, Error> {
        if !matches!(self, Working::Tasks(_)) {
            let text = self.take_text();
            match EditDocument::parse(format, text.clone()) {
                Ok(d) => *self = Working::Tasks(d),
                Err(e) => {
                    *self = Working::Text(text);
                    return Err(located(rel, e));
                }
            }
        }
        match self {
            Working::Tasks(d) => Ok(d),
            // Set just above.
            _ => Err(Error::Invalid(Box::new(Report::new(Vec::new())))),
        }
    }

    fn config(&mut self, rel: &str, format: Format) -> Result<&mut ConfigDocument, Error> {
        if !matches!(self, Working::Config(_)) {
            let text = self.take_text();
            match ConfigDocument::parse(format, text.clone()) {
                Ok(d) => *self = Working::Config(d),
                Err(e) => {
                    *self = Working::Text(text);
                    return Err(located(rel, e));
                }
            }
        }
        match self {
            Working::Config(d) => Ok(d),
            // Set just above.
            _ => Err(Error::Invalid(Box::new(Report::new(Vec::new())))),
        }
    }
}

/// A parse error of a file's current text, as a report naming the file.
fn located(rel: &str, e: Error) -> Error {
    match e {
        Error::Parse(p) => Error::Invalid(Box::new(Report::new(vec![Problem::new(
            Location::at(rel, (p.line > 0).then_some(p.line), p.column),
            ProblemKind::Parse,
            format!(
                "cannot change the file, it does not parse as {}: {}",
                p.format, p.message
            ),
        )]))),
        other => other,
    }
}

/// A version's description of one change: `set-status build (todo.md)`.
fn describe(operation: &Operation, path: &str) -> String {
    match operation {
        Operation::SetStatus { id, status } => format!("set-status {id} {status} ({path})"),
        Operation::UpdateTask { id } => format!("update-task {id} ({path})"),
        Operation::AddTask { id } => format!("add-task {id} ({path})"),
        Operation::RemoveTask { id } => format!("remove-task {id} ({path})"),
        Operation::Patch => format!("patch {path}"),
        Operation::Rollback { version } => format!("rollback to {version}"),
        Operation::External => format!("external change of {path}"),
    }
}

pub(crate) fn hash_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// The format a task list or a JSON/YAML document is edited as.
fn task_format(read_as: &ReadAs) -> Option<Format> {
    match read_as {
        ReadAs::Role(Role::Tasks { format, .. }) => Some(*format),
        _ => None,
    }
}

fn document_format(rel: &str) -> Option<Format> {
    match super::manifest::syntax_of(rel)? {
        ssot_schema::position::Syntax::Json => Some(Format::Json),
        ssot_schema::position::Syntax::Yaml => Some(Format::Yaml),
    }
}

/// Problems compared without line and column numbers (an edit shifts lines).
fn problem_key(p: &Problem) -> (ProblemKind, String, String) {
    let mut out = String::with_capacity(p.message.len());
    let mut chars = p.message.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ':' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        }
    }
    (p.kind, p.location.file.clone(), out)
}

impl Store {
    /// Where a change applies: its file (relative) and how that file is read.
    ///
    /// `files` caches the task files read for the first id looked up, so a
    /// transaction reads them once; `added` holds the tasks added by earlier changes
    /// of the same transaction, which later ones may change.
    fn target(
        &self,
        change: &Change<'_>,
        files: &mut Option<TaskFiles>,
        added: &HashMap<String, (String, ReadAs)>,
    ) -> Result<(String, ReadAs), Error> {
        match change {
            Change::SetStatus { id, .. } | Change::Update { id, .. } | Change::Remove { id } => {
                match added.get(id) {
                    Some(target) => Ok(target.clone()),
                    None => self.locate(id, files),
                }
            }
            Change::Add { path, .. } => {
                let (rel, _) = scan::resolve(&self.root, path)?;
                match scan::role_of(&self.manifest, &rel) {
                    Some(Ok(role @ Role::Tasks { .. })) => Ok((rel, ReadAs::Role(role))),
                    Some(Err(problem)) => Err(Error::Invalid(Box::new(Report::new(vec![problem])))),
                    _ => Err(Error::NotManaged {
                        path: rel,
                        wanted: "task list",
                    }),
                }
            }
            Change::Patch { path, .. } => {
                let (rel, _) = scan::resolve(&self.root, path)?;
                match scan::role_of(&self.manifest, &rel) {
                    Some(Ok(role @ Role::Document { .. })) => Ok((rel, ReadAs::Role(role))),
                    Some(Ok(
                        role @ Role::Tasks {
                            format: Format::Json | Format::Yaml,
                            ..
                        },
                    )) => Ok((rel, ReadAs::Role(role))),
                    Some(Err(problem)) => Err(Error::Invalid(Box::new(Report::new(vec![problem])))),
                    _ if self
                        .manifest
                        .configs()
                        .iter()
                        .any(|c| c.files.iter().any(|f| f == &rel)) =>
                    {
                        Ok((rel, ReadAs::Config))
                    }
                    _ => Err(Error::NotManaged {
                        path: rel,
                        wanted: "document",
                    }),
                }
            }
        }
    }

    /// The task file holding task `id`, through the cached reads.
    ///
    /// First through the id index: the file that held `id` at the last walk is
    /// read through the cache (a `stat`, and a read only when it changed), and used
    /// if it still holds `id`. Otherwise the whole store is walked (a `stat` of
    /// every file), which also rebuilds the index. Measured with callgrind on the
    /// 10,000-task, 100-file benchmark store, once the fsyncs were gone: the walk
    /// was 5.2 M of the 12.9 M instructions of a `set_status`; with the index a
    /// `set_status` is 7.7 M (see `BENCHMARKS.md`).
    ///
    /// What the index misses: the walk refuses an id found in two files; through
    /// the index, an id added to another file outside the store since the last walk
    /// is not seen, so the change goes to the indexed file, and the duplicate is
    /// reported by [`validate`](Store::validate) and [`plan`](Store::plan) (and
    /// refused by any change that checks the plan: add, remove, update, patch).
    fn locate(&self, id: &str, cache: &mut Option<TaskFiles>) -> Result<(String, ReadAs), Error> {
        if cache.is_none() {
            if let Some(hit) = self.locate_indexed(id) {
                return Ok(hit);
            }
            let walked = self.task_files()?;
            let mut ids = self
                .write
                .ids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ids.clear();
            for file in &walked.0 {
                for task in file.tasks() {
                    ids.insert(task.id.as_str().to_owned(), file.path().to_owned());
                }
            }
            drop(ids);
            *cache = Some(walked);
        }
        let Some((files, problems)) = cache.as_ref() else {
            return Err(Error::TaskNotFound {
                id: crate::TaskId::new(id)?,
            });
        };
        let mut hits = files
            .iter()
            .filter(|f| f.tasks().iter().any(|t| t.id.as_str() == id));
        let Some(first) = hits.next() else {
            // The task may be in a file that cannot be read or parsed: say which.
            let unreadable: Vec<Problem> = problems
                .iter()
                .filter(|p| {
                    matches!(
                        p.kind,
                        ProblemKind::Io | ProblemKind::Parse | ProblemKind::Encoding
                    )
                })
                .cloned()
                .map(|mut p| {
                    p.message = format!(
                        "no readable task file holds task `{id}`, and this one cannot be read: {}",
                        p.message
                    );
                    p
                })
                .collect();
            if !unreadable.is_empty() {
                return Err(Error::Invalid(Box::new(Report::new(unreadable))));
            }
            return Err(Error::TaskNotFound {
                id: crate::TaskId::new(id)?,
            });
        };
        if let Some(second) = hits.next() {
            return Err(Error::Invalid(Box::new(Report::new(vec![Problem::new(
                Location::file(second.path()),
                ProblemKind::DuplicateId,
                format!(
                    "task id `{id}` is in both {} and {}; ids are unique across the store: give one of them another id before changing it",
                    first.path(),
                    second.path()
                ),
            )]))));
        }
        let rel = first.path().to_owned();
        match scan::role_of(&self.manifest, &rel) {
            Some(Ok(role)) => Ok((rel, ReadAs::Role(role))),
            _ => Err(Error::NotManaged {
                path: rel,
                wanted: "task list",
            }),
        }
    }

    /// The file the id index names for `id`, if it is still a task list of the
    /// manifest and still holds `id` (read through the cache).
    fn locate_indexed(&self, id: &str) -> Option<(String, ReadAs)> {
        let rel = self
            .write
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()?;
        let role = match scan::role_of(&self.manifest, &rel) {
            Some(Ok(role @ Role::Tasks { .. })) => role,
            _ => return None,
        };
        let read_as = ReadAs::Role(role);
        let loaded = self.load(&rel, &read_as);
        match &loaded.content {
            Some(Content::Tasks(t)) if t.tasks().iter().any(|t| t.id.as_str() == id) => {
                Some((rel, read_as))
            }
            _ => None,
        }
    }

    /// Runs `f` holding the in-process locks of `paths` and the store's lock file,
    /// after finishing the applies of a commit a crash interrupted (`wal.rs`): so
    /// every operation under the lock (a commit, a rollback, a snapshot,
    /// `record_drift`, `checkpoint`) sees them done, never as drift.
    pub(crate) fn locked<R>(
        &self,
        paths: &BTreeSet<String>,
        f: impl FnOnce() -> Result<R, Error>,
    ) -> Result<R, Error> {
        let timeout = self.settings().lock_timeout;
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let mut guards = Vec::with_capacity(paths.len());
        for path in paths {
            let guard = self
                .write
                .locks
                .lock_timeout(path.as_str(), LockKind::Write, left())
                .map_err(|e| match e {
                    ssot_lock::Error::Timeout { .. } => Error::LockTimeout {
                        path: path.clone(),
                        timeout,
                    },
                    other => Error::Lock(other),
                })?;
            guards.push(guard);
        }
        let lock_path = self.write.state_dir.join("lock");
        let lock_name = format!("{STATE_DIR}/lock");
        // Threads of this handle take turns here (a blocking wait: the holder is
        // itself bounded by the timeout below, and then by its commit).
        let mut slot = self
            .write
            .file_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            fs::create_dir_all(&self.write.state_dir)
                .map_err(|e| Error::io(&self.write.state_dir, e))?;
            *slot = Some(FileLock::open(&lock_path)?);
        }
        if let Some(file_lock) = slot.as_mut() {
            match file_lock.try_lock(LockKind::Exclusive) {
                Ok(_held) => {
                    self.recover_locked()?;
                    return f();
                }
                Err(ssot_lock::Error::WouldBlock { .. }) => {}
                Err(other) => return Err(Error::Lock(other)),
            }
        }
        match WaitedLock::acquire(lock_path, left())? {
            Some(_held) => {
                self.recover_locked()?;
                f()
            }
            None => Err(Error::LockTimeout {
                path: lock_name,
                timeout,
            }),
        }
    }

    /// Runs `f` holding the store's lock file if it is free now (and no thread of
    /// this handle holds it); `None` otherwise. Takes no in-process path lock: for
    /// work on the whole store that may be skipped (recovery at open, before drift).
    pub(crate) fn try_locked<R>(
        &self,
        f: impl FnOnce() -> Result<R, Error>,
    ) -> Result<Option<R>, Error> {
        let mut slot = match self.write.file_lock.try_lock() {
            Ok(slot) => slot,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(None),
        };
        if slot.is_none() {
            if !self.write.state_dir.is_dir() {
                return Ok(None);
            }
            *slot = Some(FileLock::open(self.write.state_dir.join("lock"))?);
        }
        let Some(file_lock) = slot.as_mut() else {
            return Ok(None);
        };
        match file_lock.try_lock(LockKind::Exclusive) {
            Ok(_held) => f().map(Some),
            Err(ssot_lock::Error::WouldBlock { .. }) => Ok(None),
            Err(other) => Err(Error::Lock(other)),
        }
    }

    /// Commits `changes` as one revision (see the module docs).
    pub(crate) fn commit_changes(&self, changes: Vec<Change<'_>>) -> Result<Commit, Error> {
        if changes.is_empty() {
            return Err(Error::EmptyTransaction);
        }
        let mut targeted = Vec::with_capacity(changes.len());
        let mut files = None;
        let mut added = HashMap::new();
        for change in changes {
            let (rel, read_as) = self.target(&change, &mut files, &added)?;
            if let Change::Add { task, .. } = &change {
                added.insert(task.id.as_str().to_owned(), (rel.clone(), read_as.clone()));
            }
            targeted.push((rel, read_as, change));
        }
        let paths: BTreeSet<String> = targeted.iter().map(|(r, _, _)| r.clone()).collect();
        let commit = self.locked(&paths, || self.commit_locked(targeted))?;
        self.maybe_prune_audit();
        Ok(commit)
    }

    fn commit_locked(&self, targeted: Vec<(String, ReadAs, Change<'_>)>) -> Result<Commit, Error> {
        // A version store write a crash interrupted (a rollback, an `every-change`
        // commit) is finished first, appending its records; so is a write-ahead
        // apply (`wal.rs`). Then the log and the files read below are whole.
        let every_change = self.settings().snapshot == SnapshotPolicy::EveryChange;
        let head = if every_change || self.write.state_dir.join("versions").is_dir() {
            Some(self.versions()?.head()?)
        } else {
            None
        };
        let (revision, last) = self.write.audit.state()?;
        let first_revision = revision == 0;
        let now = jiff::Timestamp::now();
        let pending =
            |operation: Operation, path: &str, before: Option<String>, after: Option<String>| {
                self.pending(now, operation, path, before, after)
            };

        // Read every file touched, now, under the lock.
        let mut work: BTreeMap<String, Work> = BTreeMap::new();
        for (rel, read_as, _) in &targeted {
            if work.contains_key(rel) {
                continue;
            }
            let full = self.root.join(rel);
            let before = match fs::read(&full) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(full, e)),
            };
            let before_hash = before.as_deref().map(hash_hex);
            let text = match &before {
                None => String::new(),
                Some(b) => String::from_utf8(b.clone()).map_err(|e| {
                    let at = e.utf8_error().valid_up_to();
                    Error::Invalid(Box::new(Report::new(vec![Problem::new(
                        Location::file(rel.clone()),
                        ProblemKind::Encoding,
                        format!(
                            "not UTF-8 text (invalid byte at offset {at}); save the file as UTF-8"
                        ),
                    )])))
                })?,
            };
            work.insert(
                rel.clone(),
                Work {
                    rel: rel.clone(),
                    read_as: read_as.clone(),
                    hash: before_hash.clone(),
                    before,
                    before_hash,
                    text: Working::Text(text),
                },
            );
        }

        // Drift of the files touched (every file on the first revision) comes first.
        let mut records = Vec::new();
        let mut drift_paths: Vec<(String, Option<String>)> = work
            .values()
            .map(|w| (w.rel.clone(), w.before_hash.clone()))
            .collect();
        if first_revision {
            for (path, hash) in self.file_hashes()? {
                if !work.contains_key(&path) {
                    drift_paths.push((path, Some(hash)));
                }
            }
            drift_paths.sort();
        }
        for (rel, now_hash) in drift_paths {
            let logged = last.get(&rel).cloned().flatten();
            if logged != now_hash {
                records.push(pending(Operation::External, &rel, logged, now_hash));
            }
        }

        // Apply the changes in order; several to one file compose. Each record
        // carries its redo, from the text before it to the text after it.
        let plan_check = targeted.iter().any(|(_, _, c)| c.touches_plan());
        for (rel, read_as, change) in targeted {
            let Some(w) = work.get_mut(&rel) else {
                continue;
            };
            let was = w.text.as_str().to_owned();
            let operation = match change {
                Change::SetStatus { id, status } => {
                    let format = task_format(&read_as).unwrap_or(Format::Markdown);
                    w.text.tasks(&rel, format)?.set_status(&id, status)?;
                    Operation::SetStatus {
                        id,
                        status: status.as_str().to_owned(),
                    }
                }
                Change::Update { id, f } => {
                    let format = task_format(&read_as).unwrap_or(Format::Markdown);
                    w.text.tasks(&rel, format)?.update(&id, f)?;
                    Operation::UpdateTask { id }
                }
                Change::Add { task, at, .. } => {
                    let format = task_format(&read_as).unwrap_or(Format::Markdown);
                    let id = task.id.as_str().to_owned();
                    w.text.tasks(&rel, format)?.insert(*task, at)?;
                    Operation::AddTask { id }
                }
                Change::Remove { id } => {
                    let format = task_format(&read_as).unwrap_or(Format::Markdown);
                    w.text.tasks(&rel, format)?.remove(&id)?;
                    Operation::RemoveTask { id }
                }
                Change::Patch { patch, .. } => {
                    let format = task_format(&read_as)
                        .or_else(|| document_format(&rel))
                        .unwrap_or(Format::Yaml);
                    w.text.config(&rel, format)?.merge_patch(&patch)?;
                    Operation::Patch
                }
            };
            let before = w.hash.clone();
            w.hash = Some(hash_hex(w.text.as_str().as_bytes()));
            let mut record = pending(operation, &rel, before, w.hash.clone());
            record.redo = Some(Redo::between(was.as_bytes(), w.text.as_str()));
            records.push(record);
        }

        // Validate every new text as the read side reads it, then the plan.
        let mut problems = Vec::new();
        let mut parsed: HashMap<String, Arc<TaskFile>> = HashMap::new();
        for w in work.values() {
            let loaded = super::read::parse(
                &self.registry,
                &w.rel,
                w.text.as_str().as_bytes().to_vec(),
                &w.read_as,
            );
            problems.extend(loaded.problems.iter().cloned());
            if let Some(Content::Tasks(t)) = &loaded.content {
                parsed.insert(w.rel.clone(), Arc::clone(t));
            }
        }
        if problems.is_empty() && plan_check {
            problems = self.new_plan_problems(&work, &parsed)?;
        }
        Report::new(problems).into_result()?;

        if every_change {
            self.commit_versioned(&work, records, head.flatten().is_none())
        } else {
            self.commit_ahead(&work, &records)
        }
    }

    /// Writes the files of a validated commit with the audit log as the write-ahead
    /// log: stage, append (the commit point, one fdatasync), apply, mark applied
    /// (see `wal.rs`).
    fn commit_ahead(
        &self,
        work: &BTreeMap<String, Work>,
        records: &[super::audit::Pending],
    ) -> Result<Commit, Error> {
        let mut staged = Vec::new();
        for w in work.values() {
            let new = w.text.as_str().as_bytes();
            if w.before.as_deref() == Some(new) {
                continue;
            }
            match super::wal::stage(&self.root, &w.rel, new) {
                Ok(s) => staged.push(s),
                Err(e) => {
                    staged.into_iter().for_each(super::wal::Staged::discard);
                    return Err(e);
                }
            }
        }
        super::fault::point("wal:staged");
        let appended = match self.write.audit.append_unapplied(records) {
            Ok(Some(a)) => a,
            Ok(None) => {
                staged.into_iter().for_each(super::wal::Staged::discard);
                return Err(Error::io(
                    self.write.audit.path(),
                    std::io::Error::other("the audit log refused the group; this is a bug"),
                ));
            }
            Err(e) => {
                staged.into_iter().for_each(super::wal::Staged::discard);
                return Err(e);
            }
        };
        let revision = appended.records.first().map_or(0, |r| r.revision);
        let mut unapplied = None;
        let mut failed = false;
        for s in staged {
            let rel = s.rel.clone();
            let expect = work.get(&rel).and_then(|w| w.before.as_deref());
            if let Err(why) = s.install(expect) {
                failed |= matches!(why, super::wal::NotInstalled::Failed(_));
                if unapplied.is_none() {
                    unapplied = Some(Error::Unapplied {
                        revision,
                        path: rel.clone(),
                        reason: why.reason(),
                    });
                }
            }
            super::fault::point("wal:applied");
            self.reader.invalidate(&rel);
        }
        for w in work.values() {
            self.reader.invalidate(&w.rel);
        }
        // A file left unwritten by a failed rename keeps the head behind, so the
        // next commit, open or checkpoint writes it from the log; one left as an
        // editor saved it is final (drift records it).
        if !failed && let Some(last) = appended.records.last() {
            self.write.audit.mark_applied(revision, &last.hash);
        }
        super::fault::point("commit:audited");
        self.write.publish(&appended.records);
        self.checkpoint_if_due(revision, appended.end);
        if let Some(e) = unapplied {
            return Err(e);
        }
        Ok(Commit {
            revision,
            version: None,
            records: appended.records,
        })
    }

    /// Writes the files of a validated commit through the version store, recording
    /// a version (`snapshot: every-change`): all or nothing under its journal, whose
    /// note carries the records, appended once the files are in place.
    fn commit_versioned(
        &self,
        work: &BTreeMap<String, Work>,
        records: Vec<super::audit::Pending>,
        no_version_yet: bool,
    ) -> Result<Commit, Error> {
        let versions = self.versions()?;
        let mut set = WriteSet::new();
        let mut description = Vec::new();
        for w in work.values() {
            set = set.expect(w.rel.clone(), w.before.as_deref().map(ObjectHash::of));
            let new = w.text.as_str().as_bytes();
            if w.before.as_deref() != Some(new) {
                set = set.put(w.rel.clone(), new.to_vec());
            }
        }
        for r in records
            .iter()
            .filter(|r| r.operation != Operation::External)
        {
            description.push(describe(&r.operation, &r.path));
        }
        let note = serde_json::to_vec(&Note {
            records: records.clone(),
        })
        .map_err(|e| Error::io(&self.write.state_dir, std::io::Error::other(e)))?;
        set = set.note(note);
        if no_version_yet {
            versions.snapshot("the store before its first recorded change")?;
        }
        set = set.record_version(description.join("; "));
        let mut appended = Vec::new();
        let written = versions.write_with(set, |written| {
            super::fault::point("commit:files-written");
            let version = written.version.as_ref().map(|v| v.id().as_str().to_owned());
            match self.write.audit.append(&records, version, |_| Ok(false)) {
                Ok(a) => {
                    appended = a.map(|a| a.records).unwrap_or_default();
                    Ok(())
                }
                Err(e) => Err(std::io::Error::other(e.to_string())),
            }
        });
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                // A write that failed after its commit point (a directory that
                // refuses the rename, a full disk) left its journal: try to finish
                // it now, so that the files are not left half new while this handle
                // goes on. If that works, the hook has appended the records; if
                // not, the next operation on the store tries again. Either way the
                // caller gets the write's error.
                let _ = versions.head();
                for w in work.values() {
                    self.reader.invalidate(&w.rel);
                }
                return Err(e.into());
            }
        };
        super::fault::point("commit:audited");
        for w in work.values() {
            self.reader.invalidate(&w.rel);
        }
        self.write.publish(&appended);
        Ok(Commit {
            revision: appended.first().map_or(0, |r| r.revision),
            version: written.version.map(|v| v.id().clone()),
            records: appended,
        })
    }

    /// The plan problems the new texts bring that the current ones do not have.
    fn new_plan_problems(
        &self,
        work: &BTreeMap<String, Work>,
        parsed: &HashMap<String, Arc<TaskFile>>,
    ) -> Result<Vec<Problem>, Error> {
        let (files, _) = self.task_files()?;
        let others: Vec<Arc<TaskFile>> = files
            .into_iter()
            .filter(|f| !work.contains_key(f.path()))
            .collect();
        let with = |touched: Vec<Arc<TaskFile>>| {
            let mut all = others.clone();
            all.extend(touched);
            all.sort_by(|a, b| a.path().cmp(b.path()));
            all
        };
        // The common case: the new state plans. Only when it does not are the old
        // texts parsed, to leave out the problems the store already had.
        let after = match Plan::build(&with(parsed.values().cloned().collect())) {
            Ok(_) => return Ok(Vec::new()),
            Err(report) => report,
        };
        let mut old_touched = Vec::new();
        for w in work.values() {
            if let Some(old) = w.before.as_ref() {
                let loaded = super::read::parse(&self.registry, &w.rel, old.clone(), &w.read_as);
                if let Some(Content::Tasks(t)) = &loaded.content {
                    old_touched.push(Arc::clone(t));
                }
            }
        }
        let old: BTreeSet<_> = Plan::build(&with(old_touched))
            .err()
            .map(|r| r.problems().iter().map(problem_key).collect())
            .unwrap_or_default();
        Ok(after
            .problems()
            .iter()
            .filter(|p| !old.contains(&problem_key(p)))
            .cloned()
            .collect())
    }

    /// Moves task `id` to `status`, in place, as one revision.
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`]; [`Error::IllegalTransition`] (the state machine of
    /// [`Status`]); [`Error::Invalid`] when the file does not parse or the result
    /// would be invalid (nothing is written); [`Error::LockTimeout`]; [`Error::Io`].
    pub fn set_status(&self, id: &str, status: Status) -> Result<Commit, Error> {
        self.commit_changes(vec![Change::SetStatus {
            id: id.to_owned(),
            status,
        }])
    }

    /// Applies `f` to task `id` and writes what changed, in place, as one revision.
    /// The result is checked against the plan (a new id must stay unique, new
    /// dependencies must exist and close no cycle).
    ///
    /// # Errors
    ///
    /// As [`set_status`](Self::set_status), and [`Error::IdConflict`].
    pub fn update_task(&self, id: &str, f: impl FnOnce(&mut Task)) -> Result<Commit, Error> {
        self.commit_changes(vec![Change::Update {
            id: id.to_owned(),
            f: Box::new(f),
        }])
    }

    /// Adds `task` to the task list at `path` (relative to the root) at `at`, in the
    /// file's style, as one revision. A task list that does not exist yet is created
    /// (in Markdown and CSV; an empty JSON or YAML text is not a task list).
    ///
    /// # Errors
    ///
    /// [`Error::NotManaged`] when the manifest does not make `path` a task list;
    /// [`Error::Invalid`] for a duplicate id or an unknown dependency; as
    /// [`set_status`](Self::set_status).
    pub fn add_task(&self, path: &str, task: Task, at: Position) -> Result<Commit, Error> {
        self.commit_changes(vec![Change::Add {
            path: path.to_owned(),
            task: Box::new(task),
            at,
        }])
    }

    /// Removes task `id` from its file, as one revision. Refused
    /// ([`Error::Invalid`]) while another task depends on it.
    ///
    /// # Errors
    ///
    /// As [`set_status`](Self::set_status).
    pub fn remove_task(&self, id: &str) -> Result<Commit, Error> {
        self.commit_changes(vec![Change::Remove { id: id.to_owned() }])
    }

    /// Applies the RFC 7396 merge `patch` to the JSON or YAML file at `path` (a
    /// document, a configuration overlay file, or a JSON/YAML task list), in place,
    /// as one revision. The result is checked against the file's schema (and, for a
    /// task list, the plan).
    ///
    /// # Errors
    ///
    /// [`Error::NotManaged`]; [`Error::NotInPlace`] when the patch cannot be applied
    /// in place; [`Error::Invalid`] when the result breaks the schema; as
    /// [`set_status`](Self::set_status).
    pub fn patch(&self, path: &str, patch: &Value) -> Result<Commit, Error> {
        self.commit_changes(vec![Change::Patch {
            path: path.to_owned(),
            patch: patch.clone(),
        }])
    }

    /// The counters of this handle's in-process lock manager (one key per file
    /// changed).
    #[must_use]
    pub fn lock_stats(&self) -> ssot_lock::LockStats {
        self.write.locks.stats()
    }

    /// The audit log's path, `<root>/.ssot/audit.log` (it may not exist yet).
    #[must_use]
    pub fn audit_log_path(&self) -> &Path {
        self.write.audit.path()
    }

    /// The store's revision: that of the last commit in the audit log (0 when there
    /// is none). Costs one `stat` of the log, and a read of what others appended.
    ///
    /// # Errors
    ///
    /// [`Error::Io`]; [`Error::AuditDamaged`].
    pub fn revision(&self) -> Result<u64, Error> {
        self.write.audit.revision()
    }

    /// Every audit record, oldest first. Reads the whole log.
    ///
    /// # Errors
    ///
    /// [`Error::Io`]; [`Error::AuditDamaged`] at the first record that does not
    /// check (see [`verify_audit`](Self::verify_audit)).
    pub fn audit_log(&self) -> Result<Vec<AuditRecord>, Error> {
        self.write.audit.read_all()
    }

    /// Checks the whole audit log: every record's hash, the chain, revisions going up
    /// by one, and that the log ends where `.ssot/audit.head` says (a truncated log).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the log cannot be read; damage is in the result.
    pub fn verify_audit(&self) -> Result<super::AuditCheck, Error> {
        self.write.audit.verify()
    }

    /// The events of every revision after `revision`, replayed from the audit log,
    /// oldest first: a subscriber that was away misses nothing. Reads the whole log.
    ///
    /// # Errors
    ///
    /// As [`audit_log`](Self::audit_log); [`Error::AuditPruned`] when `revision` is
    /// below what `audit_retention` pruned (the records after it are gone).
    pub fn changes_since(&self, revision: u64) -> Result<Vec<Event>, Error> {
        self.write.audit.since(revision)
    }

    /// A channel that receives one [`Event`] per audit record committed through this
    /// handle from now on (drift records included). A receiver that is dropped is
    /// forgotten at the next commit. Commits of other handles and processes are not
    /// sent here: use [`changes_since`](Self::changes_since) (or `watch`) for those.
    pub fn subscribe(&self) -> Receiver<Event> {
        self.write.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_compare_without_line_numbers() {
        let at = |line, msg: &str| {
            Problem::new(
                Location::at("a.md", Some(line), None),
                ProblemKind::DuplicateId,
                msg,
            )
        };
        let before = at(3, "task id `x` is also used at b.md:12; ids are unique");
        let shifted = at(4, "task id `x` is also used at b.md:13; ids are unique");
        let other = at(3, "task id `y` is also used at b.md:12; ids are unique");
        assert_eq!(problem_key(&before), problem_key(&shifted));
        assert_ne!(problem_key(&before), problem_key(&other));
    }

    #[test]
    fn a_version_description_names_the_change_and_its_file() {
        let op = Operation::SetStatus {
            id: "build".into(),
            status: "done".into(),
        };
        assert_eq!(describe(&op, "todo.md"), "set-status build done (todo.md)");
        assert_eq!(describe(&Operation::Patch, "app.yaml"), "patch app.yaml");
    }

    #[test]
    fn the_actor_defaults_to_user_or_ssot_and_can_be_given() {
        let dir = Path::new("/nonexistent");
        assert_eq!(WriteSide::new(dir, Some("ci".into())).actor, "ci");
        assert!(!WriteSide::new(dir, None).actor.is_empty());
    }
}
