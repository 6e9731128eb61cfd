//! The audit log, `.ssot/audit.log`: one JSON line per [`AuditRecord`], append-only,
//! hash-chained.
//!
//! # Format and chain
//!
//! Each line is the JSON of a record. A record's `hash` is the BLAKE3 (hex) of the
//! record's own line *without* its `hash` member: the line is written as that JSON
//! with `,"hash":"<64 hex>"` inserted before the closing `}`, so checking a line is
//! stripping that suffix and hashing the bytes, with no re-serialization that could
//! differ. Each record's `prev` is the `hash` of the record before it (64 zeros for
//! the first). So an edited record breaks its own hash, and a deleted, inserted or
//! reordered one breaks the next record's `prev`.
//!
//! A log cut short after a whole record still chains. So the store also keeps
//! `.ssot/audit.head`: the last revision and hash, replaced (temporary file, rename)
//! after every append. [`Store::verify_audit`](super::Store::verify_audit) reports a
//! log whose last record is older than the head as truncated. The head is an anchor,
//! not data: it is renamed into place without an fsync, after the log's fdatasync, so
//! it is never ahead of a durable log; after a crash it may be one append behind
//! (accepted: it must then match an earlier record of the log) and, on a file system
//! that does not order a rename after the data it names, empty or missing. Neither
//! is damage: `verify_audit` reports them in [`AuditCheck::head`] (a note; the next
//! change writes the head again). Damage is a head *ahead* of the log (records were
//! cut off its end) or a head naming a record the log does not have (rewritten).
//!
//! # Pruning
//!
//! With `settings: audit_retention`, old whole revisions are cut off the start of
//! the log, and `.ssot/audit.anchor` becomes the chain's starting point: the first
//! kept record's `prev` is the anchor's `hash`. See `retention.rs` for the anchor,
//! the crash-safe order of the two writes and what is never pruned. A reader
//! accepts a log that starts at revision 1 ([`GENESIS`]), right after the anchor, or
//! (a crash between the anchor and the shortened log) before it, as long as the
//! anchor's record is in it; records up to the anchor count as pruned.
//!
//! # Appending
//!
//! A group of records (one revision) is appended with one `write` of all its lines
//! and one `fdatasync`, under an exclusive `flock` on the log file itself (so the
//! version store's crash-recovery hook, which may run in a process that does not hold
//! the store's lock, appends safely too). The revision is assigned there: the last
//! revision in the log, plus one.
//!
//! Each store handle keeps the log's length, last revision, last hash and the last
//! `after` hash of every path in memory; before using them it `stat`s the log and
//! reads only what other handles or processes appended since. A log that became
//! shorter than what was read is an error ([`Error::AuditDamaged`]); a log that was
//! *replaced* (another inode: a prune renamed the shortened log into place) is read
//! again from its start, with the anchor, as a new handle would.
//!
//! # A torn last line
//!
//! A crash during an append can leave a last line without its newline. That record's
//! `fdatasync` never returned, so its change was never acknowledged: readers ignore
//! a last line without a newline, and the next append (which holds the log's lock)
//! cuts it off (`ftruncate` + `fdatasync`) before writing. Files a torn group had
//! already changed are then explained by the next change's drift check
//! (`External` records), or by the version store's recovery hook, which appends the
//! group again from its journal.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::retention::{self, Anchor, AnchorError, AuditPruned, PruneAudit};
use super::wal::Redo;
use crate::error::Error;

/// The hash a first record names as its `prev`.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Operation {
    /// A task's status changed ([`Store::set_status`](super::Store::set_status)).
    SetStatus {
        /// The task.
        id: String,
        /// The new status, as written in files (`done`, `in-progress`, ...).
        status: String,
    },
    /// A task was edited ([`Store::update_task`](super::Store::update_task)).
    UpdateTask {
        /// The task (its id before the edit).
        id: String,
    },
    /// A task was added ([`Store::add_task`](super::Store::add_task)).
    AddTask {
        /// The new task.
        id: String,
    },
    /// A task was removed ([`Store::remove_task`](super::Store::remove_task)).
    RemoveTask {
        /// The removed task.
        id: String,
    },
    /// A document was changed by a JSON Merge Patch ([`Store::patch`](super::Store::patch)).
    Patch,
    /// The file was restored from a version ([`Store::rollback`](super::Store::rollback)).
    Rollback {
        /// The version restored.
        version: String,
    },
    /// The file was changed outside the store (drift), recorded as found.
    External,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// The revision; the records of one commit share it.
    pub revision: u64,
    /// When the change was made.
    pub time: jiff::Timestamp,
    /// Who made it ([`StoreBuilder::actor`](super::StoreBuilder::actor)).
    pub actor: String,
    /// What was done.
    pub operation: Operation,
    /// The file, relative to the root.
    pub path: String,
    /// BLAKE3 (hex) of the file's bytes before; `None`: there was no file (or, for an
    /// `External` record, the log had never seen it).
    pub before: Option<String>,
    /// BLAKE3 (hex) of the file's bytes after; `None`: deleted.
    pub after: Option<String>,
    /// How to redo the change from the `before` bytes: the audit log is the store's
    /// write-ahead log (see [`Redo`]). On every record that changes a file through
    /// the store; absent on `External` and `Rollback` records and on records written
    /// before the log carried it. Covered by [`hash`](Self::hash) like every field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redo: Option<Redo>,
    /// On the last record of a group written ahead of its files (see `wal.rs`): the
    /// number of records in the group. A group whose records carry a redo but whose
    /// last record lacks this was cut short by a crash during its append (never
    /// acknowledged): it is removed, never replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u64>,
    /// The `ssot-version` id recorded with this revision, if any.
    pub version: Option<String>,
    /// `hash` of the previous record ([`GENESIS`] for the first).
    pub prev: String,
    /// BLAKE3 (hex) of this record's line without `hash` (see the module docs).
    pub hash: String,
}

/// The record as hashed: every field but `hash`, in the order of [`AuditRecord`].
#[derive(Serialize)]
struct Unhashed<'a> {
    revision: u64,
    time: jiff::Timestamp,
    actor: &'a str,
    operation: &'a Operation,
    path: &'a str,
    before: &'a Option<String>,
    after: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redo: Option<&'a Redo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<u64>,
    version: &'a Option<String>,
    prev: &'a str,
}

/// A record before the log gives it its revision and chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) time: jiff::Timestamp,
    pub(crate) actor: String,
    pub(crate) operation: Operation,
    pub(crate) path: String,
    pub(crate) before: Option<String>,
    pub(crate) after: Option<String>,
    /// The record's redo (see [`AuditRecord::redo`]).
    #[serde(default)]
    pub(crate) redo: Option<Redo>,
}

/// One event per committed record: what changed, where, at which revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Event {
    /// The revision.
    pub revision: u64,
    /// What was done.
    pub operation: Operation,
    /// The file, relative to the root.
    pub path: String,
    /// The version recorded with the revision, if any.
    pub version: Option<String>,
    /// Whether the change was made outside the store (drift).
    pub external: bool,
}

impl From<&AuditRecord> for Event {
    fn from(r: &AuditRecord) -> Event {
        Event {
            revision: r.revision,
            operation: r.operation.clone(),
            path: r.path.clone(),
            version: r.version.clone(),
            external: r.operation == Operation::External,
        }
    }
}

/// The result of [`Store::verify_audit`](super::Store::verify_audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditCheck {
    /// How many records were read (up to the first bad one), not counting records
    /// up to the anchor (pruned, or being pruned).
    pub records: u64,
    /// The first damage found, if any.
    pub first_bad: Option<AuditDamage>,
    /// What `.ssot/audit.head` says, when that is not damage (see [`AuditHead`]).
    pub head: AuditHead,
    /// What was pruned from the start of the log (`.ssot/audit.anchor`), if anything.
    pub pruned: Option<AuditPruned>,
}

/// The state of `.ssot/audit.head` as [`Store::verify_audit`](super::Store::verify_audit)
/// found it. Only [`Current`](Self::Current) proves the log was not cut short; the
/// others are notes, not damage: a crash right after an append may leave the head one
/// append behind, or (the first append) missing or empty, since it is renamed into
/// place without an fsync. The next change writes it again. (A head ahead of the log,
/// or naming a record the log does not have, is damage, in
/// [`AuditCheck::first_bad`].)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum AuditHead {
    /// The head names the log's last record (or there is no record and no head).
    Current,
    /// There is no head: a truncated log cannot be told from a whole one until the
    /// next change writes it.
    Missing,
    /// The head names an earlier record of the log: an append after it did not get
    /// to write the head (a crash), so the records after it are not covered.
    Behind {
        /// The revision the head names.
        revision: u64,
        /// How many revisions the log has beyond it.
        by: u64,
    },
    /// The head cannot be read (empty or torn by a crash).
    Unreadable {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for AuditHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditHead::Current => write!(f, ".ssot/audit.head names the last record"),
            AuditHead::Missing => write!(
                f,
                ".ssot/audit.head is missing (a crash after the first append?): the end of the log is not covered until the next change writes it"
            ),
            AuditHead::Behind { revision, by } => write!(
                f,
                ".ssot/audit.head names revision {revision}, {by} behind the log (a crash after an append?): the last {by} revision(s) are not covered until the next change"
            ),
            AuditHead::Unreadable { reason } => write!(
                f,
                ".ssot/audit.head cannot be read ({reason}): the end of the log is not covered until the next change rewrites it"
            ),
        }
    }
}

impl AuditCheck {
    /// Whether the log is intact.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// Where and how the audit log is damaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditDamage {
    /// The 1-based line of `.ssot/audit.log`; for a damaged or missing
    /// `.ssot/audit.head`, the line after the last record.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for AuditDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ".ssot/audit.log:{}: {}", self.line, self.reason)
    }
}

/// `,"hash":"` + 64 hex + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

/// The line of a record (with its newline) and its hash.
fn line_of(
    revision: u64,
    p: &Pending,
    group: Option<u64>,
    version: &Option<String>,
    prev: &str,
) -> Result<(String, String), Error> {
    let body = serde_json::to_string(&Unhashed {
        revision,
        time: p.time,
        actor: &p.actor,
        operation: &p.operation,
        path: &p.path,
        before: &p.before,
        after: &p.after,
        redo: p.redo.as_ref(),
        group,
        version,
        prev,
    })
    .map_err(|e| Error::io(".ssot/audit.log", io::Error::other(e)))?;
    let hash = blake3::hash(body.as_bytes()).to_hex().to_string();
    let mut line = String::with_capacity(body.len() + HASH_SUFFIX_LEN + 1);
    line.push_str(&body[..body.len() - 1]);
    line.push_str(",\"hash\":\"");
    line.push_str(&hash);
    line.push_str("\"}\n");
    Ok((line, hash))
}

/// Checks one line (without its newline): the record, or why it is bad.
fn check_line(line: &str) -> Result<AuditRecord, String> {
    let record: AuditRecord =
        serde_json::from_str(line).map_err(|e| format!("not an audit record: {e}"))?;
    let expected_suffix = format!(",\"hash\":\"{}\"}}", record.hash);
    if record.hash.len() != 64 || !line.ends_with(&expected_suffix) {
        return Err("the record's `hash` is not its last member; the line was rewritten".into());
    }
    let mut body = String::with_capacity(line.len());
    body.push_str(&line[..line.len() - HASH_SUFFIX_LEN]);
    body.push('}');
    let hash = blake3::hash(body.as_bytes()).to_hex();
    if hash.as_str() != record.hash {
        return Err(format!(
            "record of revision {} does not match its hash: it was edited after it was written",
            record.revision
        ));
    }
    Ok(record)
}

/// `.ssot/audit.head`.
#[derive(Debug, Serialize, Deserialize)]
struct Head {
    revision: u64,
    hash: String,
}

/// What a handle knows of the log.
#[derive(Debug)]
struct Tail {
    file: Option<File>,
    /// Bytes of whole lines read.
    offset: u64,
    lines: u64,
    revision: u64,
    hash: String,
    /// The last `after` of every path the log (and the anchor) names.
    last: HashMap<String, Option<String>>,
    /// `.ssot/audit.anchor`, read when the log file was opened.
    anchor: Option<Anchor>,
    /// The time of the log's first record, for `may_prune`.
    first_time: Option<jiff::Timestamp>,
    /// The revision at which a prune last found nothing it could remove (so
    /// `may_prune` does not try again before the log grows).
    prune_stuck: Option<u64>,
}

impl Tail {
    /// A tail before anything of the log was read: at the anchor, if any.
    fn at(file: Option<File>, anchor: Option<Anchor>) -> Tail {
        let (revision, hash, last) = match &anchor {
            Some(a) => (
                a.revision,
                a.hash.clone(),
                a.last.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            None => (0, GENESIS.to_owned(), HashMap::new()),
        };
        Tail {
            file,
            offset: 0,
            lines: 0,
            revision,
            hash,
            last,
            anchor,
            first_time: None,
            prune_stuck: None,
        }
    }
}

/// Checks how the log's first record starts the chain: at revision 1 from
/// [`GENESIS`], right after the anchor, or (the anchor is written before the
/// shortened log) at or before the anchor.
fn check_start(anchor: Option<&Anchor>, first: &AuditRecord) -> Result<(), String> {
    if first.revision == 1 && first.prev == GENESIS {
        return Ok(());
    }
    match anchor {
        None => Err(format!(
            "the log starts at revision {} and there is no .ssot/audit.anchor: records were removed from its start (or the anchor was deleted; restore it from a backup)",
            first.revision
        )),
        Some(a) if first.revision == a.revision + 1 => {
            if first.prev == a.hash {
                Ok(())
            } else {
                Err(format!(
                    "revision {} does not chain to .ssot/audit.anchor (revision {}): the anchor or the log was replaced",
                    first.revision, a.revision
                ))
            }
        }
        Some(a) if first.revision <= a.revision => Ok(()),
        Some(a) => Err(format!(
            "the log starts at revision {}, but .ssot/audit.anchor says only revisions up to {} were pruned: revisions between were removed",
            first.revision, a.revision
        )),
    }
}

/// Checks that a log that starts before the anchor crosses it at the anchor's
/// record: `record` (of revision `anchor + 1`) follows a record whose hash is `prev`.
fn check_crossing(
    anchor: Option<&Anchor>,
    record: &AuditRecord,
    prev_revision: u64,
) -> Result<(), String> {
    match anchor {
        Some(a)
            if record.revision == a.revision + 1
                && prev_revision == a.revision
                && record.prev != a.hash =>
        {
            Err(format!(
                "the record of revision {} the log holds is not the one .ssot/audit.anchor names: the anchor or the log was edited",
                a.revision
            ))
        }
        _ => Ok(()),
    }
}

/// The audit log of one store handle.
#[derive(Debug)]
pub(crate) struct AuditLog {
    path: PathBuf,
    head_path: PathBuf,
    anchor_path: PathBuf,
    tail: Mutex<Tail>,
}

/// What an append did.
#[derive(Debug)]
pub(crate) struct Appended {
    pub(crate) records: Vec<AuditRecord>,
    /// The log's length after the group: where the next record starts.
    pub(crate) end: u64,
}

impl AuditLog {
    /// The log of the store whose state directory is `state_dir` (`<root>/.ssot`).
    pub(crate) fn new(state_dir: &Path) -> AuditLog {
        AuditLog {
            path: state_dir.join("audit.log"),
            head_path: state_dir.join("audit.head"),
            anchor_path: state_dir.join("audit.anchor"),
            tail: Mutex::new(Tail::at(None, None)),
        }
    }

    /// The log file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn damaged(&self, line: u64, reason: impl Into<String>) -> Error {
        Error::AuditDamaged {
            path: self.path.clone(),
            line,
            reason: reason.into(),
        }
    }

    /// The anchor, or why it cannot be used (as a damage of the log).
    fn anchor(&self) -> Result<Option<Anchor>, Error> {
        Anchor::read(&self.anchor_path).map_err(|e| match e {
            AnchorError::Io(e) => Error::io(&self.anchor_path, e),
            AnchorError::Bad(reason) => self.damaged(0, reason),
        })
    }

    fn lock_tail(&self) -> std::sync::MutexGuard<'_, Tail> {
        // A panic while holding the lock cannot leave the tail half updated in a
        // way that matters: `refresh` re-derives it from the file.
        self.tail.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads what was appended since this handle last looked. With `repair` (the
    /// caller holds the log's `flock`), a torn last line is cut off.
    fn refresh(&self, tail: &mut Tail, repair: bool) -> Result<(), Error> {
        use std::os::unix::fs::MetadataExt as _;
        let on_disk = match fs::metadata(&self.path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let Some(on_disk) = on_disk else {
            if tail.lines > 0 {
                return Err(self.damaged(
                    tail.lines,
                    "the log was deleted after this store read it; open the store again to start a new log",
                ));
            }
            tail.file = None;
            return Ok(());
        };
        // A log replaced by another file (moved away and started anew) is read
        // from its start, as a new handle would.
        let replaced = match tail.file.as_ref() {
            Some(f) => {
                let open = f.metadata().map_err(|e| Error::io(&self.path, e))?;
                (open.dev(), open.ino()) != (on_disk.dev(), on_disk.ino())
            }
            None => true,
        };
        if replaced {
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| Error::io(&self.path, e))?;
            // The anchor after the log: a prune writes the anchor first, so the file
            // opened is never shorter than this anchor allows.
            let anchor = self.anchor()?;
            let stuck = tail.prune_stuck;
            *tail = Tail::at(Some(file), anchor);
            tail.prune_stuck = stuck;
        }
        let Some(file) = tail.file.as_ref() else {
            return Ok(());
        };
        let len = on_disk.len();
        if len < tail.offset {
            return Err(self.damaged(
                tail.lines,
                format!(
                    "the log shrank from {} to {len} bytes after this store read it: records were removed",
                    tail.offset
                ),
            ));
        }
        if len == tail.offset {
            return Ok(());
        }
        let size = usize::try_from(len - tail.offset)
            .map_err(|_| self.damaged(tail.lines, "the log is too large to read"))?;
        let mut buf = vec![0; size];
        file.read_exact_at(&mut buf, tail.offset)
            .map_err(|e| Error::io(&self.path, e))?;
        let whole = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for raw in buf[..whole].split(|&b| b == b'\n') {
            if raw.is_empty() {
                continue;
            }
            let line_no = tail.lines + 1;
            let text =
                std::str::from_utf8(raw).map_err(|_| self.damaged(line_no, "not UTF-8 text"))?;
            let record = check_line(text).map_err(|r| self.damaged(line_no, r))?;
            if tail.lines == 0 {
                check_start(tail.anchor.as_ref(), &record).map_err(|r| self.damaged(line_no, r))?;
                tail.hash.clone_from(&record.prev);
                tail.first_time = Some(record.time);
            } else {
                check_crossing(tail.anchor.as_ref(), &record, tail.revision)
                    .map_err(|r| self.damaged(line_no, r))?;
            }
            if record.prev != tail.hash {
                return Err(self.damaged(
                    line_no,
                    "the record does not chain to the one before it (a record was removed, inserted or reordered); run verify_audit",
                ));
            }
            tail.lines = line_no;
            tail.revision = record.revision;
            tail.hash = record.hash;
            tail.last.insert(record.path, record.after);
        }
        tail.offset += whole as u64;
        if whole < buf.len() && repair {
            file.set_len(tail.offset)
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// The last revision in the log (0 when there is none).
    pub(crate) fn revision(&self) -> Result<u64, Error> {
        let mut tail = self.lock_tail();
        self.refresh(&mut tail, false)?;
        Ok(tail.revision)
    }

    /// The last `after` the log records for each path it names (`None`: its last
    /// record deleted it).
    pub(crate) fn last_after(&self) -> Result<HashMap<String, Option<String>>, Error> {
        Ok(self.state()?.1)
    }

    /// The last revision and [`last_after`](Self::last_after), read together.
    pub(crate) fn state(&self) -> Result<(u64, HashMap<String, Option<String>>), Error> {
        let mut tail = self.lock_tail();
        self.refresh(&mut tail, false)?;
        Ok((tail.revision, tail.last.clone()))
    }

    /// Appends `records` as one revision (the log's last, plus one): one write, one
    /// fdatasync, under the log's `flock`. `skip` is asked, under that lock and with
    /// the log read to its end, whether the group is already in the log (the crash
    /// recovery hook's exactly-once check); if so nothing is written and `None` is
    /// returned. `skip` must not call [`revision`](Self::revision) or
    /// [`last_after`](Self::last_after) (this handle's tail is locked meanwhile);
    /// [`read_all`](Self::read_all) is fine.
    ///
    /// The `flock` is taken on a duplicate of this handle's descriptor, which shares
    /// its lock with the handle: threads of one handle are kept apart by the tail's
    /// mutex, held throughout.
    pub(crate) fn append(
        &self,
        records: &[Pending],
        version: Option<String>,
        skip: impl FnOnce(&AuditLog) -> Result<bool, Error>,
    ) -> Result<Option<Appended>, Error> {
        self.append_group(records, version, skip, true)
    }

    /// [`append`](Self::append) without writing `audit.head`: the write-ahead commit
    /// (`wal.rs`) writes the head with [`mark_applied`](Self::mark_applied) once the
    /// group's files are in place, so a head behind the log marks a group whose files
    /// may not all be written.
    pub(crate) fn append_unapplied(&self, records: &[Pending]) -> Result<Option<Appended>, Error> {
        self.append_group(records, None, |_| Ok(false), false)
    }

    fn append_group(
        &self,
        records: &[Pending],
        version: Option<String>,
        skip: impl FnOnce(&AuditLog) -> Result<bool, Error>,
        head: bool,
    ) -> Result<Option<Appended>, Error> {
        let mut tail = self.lock_tail();
        let lock_file = self.lock_log(&mut tail)?;
        let result = (|| {
            self.refresh(&mut tail, true)?;
            if skip(self)? {
                // The group is in the log; a crash may have come before the head
                // was written: write it again.
                self.write_head(tail.revision, &tail.hash);
                return Ok(None);
            }
            let revision = tail.revision + 1;
            let mut prev = tail.hash.clone();
            let mut text = String::new();
            let mut out = Vec::with_capacity(records.len());
            for (i, p) in records.iter().enumerate() {
                // The write-ahead commit closes its group (see `AuditRecord::group`).
                let group = (!head && i + 1 == records.len()).then_some(records.len() as u64);
                let (line, hash) = line_of(revision, p, group, &version, &prev)?;
                text.push_str(&line);
                out.push(AuditRecord {
                    revision,
                    time: p.time,
                    actor: p.actor.clone(),
                    operation: p.operation.clone(),
                    path: p.path.clone(),
                    before: p.before.clone(),
                    after: p.after.clone(),
                    redo: p.redo.clone(),
                    group,
                    version: version.clone(),
                    prev: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                });
            }
            let Some(file) = tail.file.as_mut() else {
                return Err(self.damaged(tail.lines, "the log file is not open"));
            };
            crate::store::fault::point("audit:before-write");
            file.write_all(text.as_bytes())
                .map_err(|e| Error::io(&self.path, e))?;
            crate::store::fault::point("audit:before-sync");
            file.sync_data().map_err(|e| Error::io(&self.path, e))?;
            crate::store::fault::point("audit:after-sync");
            tail.offset += text.len() as u64;
            tail.lines += out.len() as u64;
            tail.revision = revision;
            tail.hash.clone_from(&prev);
            for r in &out {
                tail.last.insert(r.path.clone(), r.after.clone());
            }
            if head {
                self.write_head(revision, &prev);
            }
            Ok(Some(Appended {
                records: out,
                end: tail.offset,
            }))
        })();
        let unlocked = lock_file.unlock().map_err(|e| Error::io(&self.path, e));
        let appended = result?;
        unlocked?;
        Ok(appended)
    }

    /// Replaces `audit.head` (temporary file, rename; no fsync: see the module docs).
    /// A failure is not an error of the change, which is durable already; the next
    /// append writes the head again, and `verify_audit` reports a stale one.
    fn write_head(&self, revision: u64, hash: &str) {
        let tmp = self
            .head_path
            .with_extension(format!("head.tmp{}", std::process::id()));
        let Ok(text) = serde_json::to_string(&Head {
            revision,
            hash: hash.to_owned(),
        }) else {
            return;
        };
        if fs::write(&tmp, text + "\n").is_ok() && fs::rename(&tmp, &self.head_path).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }

    /// Every kept record (after the anchor), oldest first, checked (hash and chain).
    pub(crate) fn read_all(&self) -> Result<Vec<AuditRecord>, Error> {
        let (mut records, damage, anchor) = self.scan()?;
        if let Some(d) = damage {
            return Err(self.damaged(d.line, d.reason));
        }
        if let Some(a) = &anchor {
            records.retain(|r| r.revision > a.revision);
        }
        Ok(records)
    }

    /// The events of every revision after `revision` (see
    /// [`Store::changes_since`](super::Store::changes_since)).
    pub(crate) fn since(&self, revision: u64) -> Result<Vec<Event>, Error> {
        let (records, damage, anchor) = self.scan()?;
        if let Some(d) = damage {
            return Err(self.damaged(d.line, d.reason));
        }
        if let Some(a) = &anchor
            && revision < a.revision
        {
            return Err(Error::AuditPruned {
                requested: revision,
                oldest: a.revision + 1,
            });
        }
        Ok(records
            .iter()
            .filter(|r| r.revision > revision)
            .map(Event::from)
            .collect())
    }

    /// What was pruned so far, as the anchor says.
    pub(crate) fn pruned(&self) -> Result<Option<AuditPruned>, Error> {
        Ok(self.anchor()?.map(|a| a.summary()))
    }

    /// Every record of the log file up to the first damage, that damage, and the
    /// anchor. A damaged anchor is damage at line 1.
    fn scan(&self) -> Result<Scanned, Error> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let anchor = match Anchor::read(&self.anchor_path) {
            Ok(a) => a,
            Err(AnchorError::Io(e)) => return Err(Error::io(&self.anchor_path, e)),
            Err(AnchorError::Bad(reason)) => {
                return Ok((Vec::new(), Some(AuditDamage { line: 1, reason }), None));
            }
        };
        let (records, damage, _) = scan_bytes(&bytes, anchor.as_ref());
        Ok((records, damage, anchor))
    }

    /// Checks the whole log, the anchor and the head (see the module docs).
    pub(crate) fn verify(&self) -> Result<AuditCheck, Error> {
        let (records, damage, anchor) = self.scan()?;
        let pruned = anchor.as_ref().map(Anchor::summary);
        let floor = anchor.as_ref().map_or(0, |a| a.revision);
        let count = records.iter().filter(|r| r.revision > floor).count() as u64;
        let check = |first_bad, head| AuditCheck {
            records: count,
            first_bad,
            head,
            pruned: pruned.clone(),
        };
        if damage.is_some() {
            return Ok(check(damage, AuditHead::Current));
        }
        let after_last = records.len() as u64 + 1;
        let head = match fs::read_to_string(&self.head_path) {
            Ok(text) => match serde_json::from_str::<Head>(&text) {
                Ok(h) => h,
                Err(e) => {
                    return Ok(check(
                        None,
                        AuditHead::Unreadable {
                            reason: e.to_string(),
                        },
                    ));
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let state = if records.is_empty() {
                    AuditHead::Current
                } else {
                    AuditHead::Missing
                };
                return Ok(check(None, state));
            }
            Err(e) => return Err(Error::io(&self.head_path, e)),
        };
        let last_revision = records.last().map_or(floor, |r| r.revision);
        if head.revision > last_revision {
            return Ok(check(
                Some(AuditDamage {
                    line: after_last,
                    reason: format!(
                        "the log ends at revision {last_revision}, but .ssot/audit.head says revision {} was written: records were cut off the end",
                        head.revision
                    ),
                }),
                AuditHead::Current,
            ));
        }
        // The head names the last record of its revision.
        let named = records
            .iter()
            .rev()
            .find(|r| r.revision == head.revision)
            .map(|r| r.hash.as_str())
            .or_else(|| {
                anchor
                    .as_ref()
                    .filter(|a| a.revision == head.revision)
                    .map(|a| a.hash.as_str())
            });
        if named != Some(head.hash.as_str()) {
            return Ok(check(
                Some(AuditDamage {
                    line: after_last,
                    reason: format!(
                        "the last record of revision {} is not the one .ssot/audit.head names: the log was rewritten",
                        head.revision
                    ),
                }),
                AuditHead::Current,
            ));
        }
        let state = if head.revision == last_revision {
            AuditHead::Current
        } else {
            AuditHead::Behind {
                revision: head.revision,
                by: last_revision - head.revision,
            }
        };
        Ok(check(None, state))
    }

    /// Takes the log's `flock` on the file its path names (creating the log if
    /// needed), with the tail read up to it; returns the locked descriptor (a
    /// duplicate of the tail's: unlock it when done).
    fn lock_log(&self, tail: &mut Tail) -> Result<File, Error> {
        use std::os::unix::fs::MetadataExt as _;
        loop {
            if tail.file.is_none() {
                if let Some(dir) = self.path.parent() {
                    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&self.path)
                    .map_err(|e| Error::io(&self.path, e))?;
            }
            self.refresh(tail, false)?;
            let Some(file) = tail.file.as_ref() else {
                // Deleted between the create and the refresh: create it again.
                continue;
            };
            let lock_file = file.try_clone().map_err(|e| Error::io(&self.path, e))?;
            lock_file.lock().map_err(|e| Error::io(&self.path, e))?;
            let locked = lock_file.metadata().map_err(|e| Error::io(&self.path, e))?;
            match fs::metadata(&self.path) {
                Ok(m) if (m.dev(), m.ino()) == (locked.dev(), locked.ino()) => {
                    return Ok(lock_file);
                }
                _ => lock_file.unlock().map_err(|e| Error::io(&self.path, e))?,
            }
        }
    }

    /// Whether a prune with this `cutoff` may remove something: the log's first
    /// record is older than it (or this handle only wrote the log and has not read
    /// its first record's time yet: the prune reads it once), and no prune since
    /// found nothing to do. No I/O.
    pub(crate) fn may_prune(&self, cutoff: jiff::Timestamp) -> bool {
        let tail = self.lock_tail();
        let old = match tail.first_time {
            Some(t) => t < cutoff,
            None => tail.lines > 0,
        };
        old && tail.prune_stuck != Some(tail.revision)
    }

    /// Prunes whole revisions older than `cutoff`, up to `upto`, never the last one
    /// (see `retention.rs`): the anchor, then the shortened log, each written
    /// durably, under the log's `flock`.
    pub(crate) fn prune(
        &self,
        cutoff: jiff::Timestamp,
        now: jiff::Timestamp,
        upto: u64,
    ) -> Result<PruneAudit, Error> {
        if !self.path.exists() {
            // No log (yet): nothing to prune, and no empty log to create.
            return Ok(PruneAudit {
                removed: 0,
                pruned: self.pruned()?,
            });
        }
        let mut tail = self.lock_tail();
        let lock_file = self.lock_log(&mut tail)?;
        let result = (|| {
            self.refresh(&mut tail, true)?;
            let bytes = fs::read(&self.path).map_err(|e| Error::io(&self.path, e))?;
            let old = self.anchor()?;
            let (records, damage, ends) = scan_bytes(&bytes, old.as_ref());
            if let Some(d) = damage {
                return Err(self.damaged(d.line, d.reason));
            }
            tail.first_time = records.first().map(|r| r.time);
            let n = retention::cut(&records, cutoff, upto);
            let floor = old.as_ref().map_or(0, |a| a.revision);
            let removed = records[..n].iter().filter(|r| r.revision > floor).count() as u64;
            if n == 0 {
                tail.prune_stuck = Some(tail.revision);
                return Ok(PruneAudit {
                    removed: 0,
                    pruned: old.map(|a| a.summary()),
                });
            }
            let anchor = if removed > 0 {
                let mut last = old.as_ref().map(|a| a.last.clone()).unwrap_or_default();
                for r in &records[..n] {
                    last.insert(r.path.clone(), r.after.clone());
                }
                let boundary = &records[n - 1];
                let mut anchor = Anchor {
                    revision: boundary.revision,
                    hash: boundary.hash.clone(),
                    pruned_at: now,
                    records: old.as_ref().map_or(0, |a| a.records) + removed,
                    last,
                    check: String::new(),
                };
                anchor.write(&self.anchor_path)?;
                crate::store::fault::point("audit:anchor-written");
                anchor
            } else {
                // A crash came between the anchor and the log: finish the cut.
                old.clone()
                    .ok_or_else(|| self.damaged(1, "records to prune, but no anchor"))?
            };
            let whole = ends.last().copied().unwrap_or(0);
            let from = ends[n - 1];
            retention::write_durably(&self.path, &bytes[from..whole])?;
            crate::store::fault::point("audit:log-pruned");
            // Read the new log from its start, as other handles will.
            let stuck = tail.prune_stuck;
            *tail = Tail::at(None, None);
            tail.prune_stuck = stuck;
            self.refresh(&mut tail, false)?;
            Ok(PruneAudit {
                removed,
                pruned: Some(anchor.summary()),
            })
        })();
        let unlocked = lock_file.unlock().map_err(|e| Error::io(&self.path, e));
        let pruned = result?;
        unlocked?;
        Ok(pruned)
    }
}

/// What [`AuditLog::scan`] found: the records, the first damage, the anchor.
type Scanned = (Vec<AuditRecord>, Option<AuditDamage>, Option<Anchor>);

/// Every record of a log's bytes up to the first damage, that damage, and the byte
/// offset after each record's line. A last line without a newline (torn) is ignored.
fn scan_bytes(
    bytes: &[u8],
    anchor: Option<&Anchor>,
) -> (Vec<AuditRecord>, Option<AuditDamage>, Vec<usize>) {
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut records: Vec<AuditRecord> = Vec::new();
    let mut ends = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut last_revision = 0;
    let mut at = 0;
    if whole == 0 {
        return (records, None, ends);
    }
    for (i, raw) in bytes[..whole - 1].split(|&b| b == b'\n').enumerate() {
        at += raw.len() + 1;
        let line = i as u64 + 1;
        let bad = |reason: String| Some(AuditDamage { line, reason });
        let Ok(text) = std::str::from_utf8(raw) else {
            return (records, bad("not UTF-8 text".into()), ends);
        };
        let record = match check_line(text) {
            Ok(r) => r,
            Err(reason) => return (records, bad(reason), ends),
        };
        if records.is_empty() {
            if let Err(reason) = check_start(anchor, &record) {
                return (records, bad(reason), ends);
            }
            prev.clone_from(&record.prev);
        } else if let Err(reason) = check_crossing(anchor, &record, last_revision) {
            return (records, bad(reason), ends);
        }
        if record.prev != prev {
            return (
                records,
                bad(format!(
                    "revision {} does not chain to the record before it: a record was removed, inserted or reordered here",
                    record.revision
                )),
                ends,
            );
        }
        let fits = records.is_empty()
            || record.revision == last_revision
            || record.revision == last_revision + 1;
        if !fits {
            return (
                records,
                bad(format!(
                    "revision {} follows revision {last_revision}: revisions must go up by one",
                    record.revision
                )),
                ends,
            );
        }
        last_revision = record.revision;
        prev.clone_from(&record.hash);
        records.push(record);
        ends.push(at);
    }
    (records, None, ends)
}

/// The write-ahead log's reads and marks (see `wal.rs`).
impl AuditLog {
    /// The last revision, its last record's hash, and the log's length in bytes of
    /// whole lines (`0`, [`GENESIS`], `0` for an empty log).
    pub(crate) fn position(&self) -> Result<(u64, String, u64), Error> {
        let mut tail = self.lock_tail();
        self.refresh(&mut tail, false)?;
        Ok((tail.revision, tail.hash.clone(), tail.offset))
    }

    /// The last revision in the log, read from its end only (the last whole line,
    /// its hash checked, not its chain): `None` when there is no log or no record.
    /// For [`Store::open`](super::Store::open), which must not read a long log.
    pub(crate) fn last_revision_quick(&self) -> Option<u64> {
        let file = File::open(&self.path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut window: u64 = 64 * 1024;
        loop {
            let from = len.saturating_sub(window);
            let mut buf = vec![0; usize::try_from(len - from).ok()?];
            file.read_exact_at(&mut buf, from).ok()?;
            let whole = buf.iter().rposition(|&b| b == b'\n')?;
            match buf[..whole].iter().rposition(|&b| b == b'\n') {
                Some(start) => {
                    let line = std::str::from_utf8(&buf[start + 1..whole]).ok()?;
                    return check_line(line).ok().map(|r| r.revision);
                }
                None if from == 0 => {
                    let line = std::str::from_utf8(&buf[..whole]).ok()?;
                    return check_line(line).ok().map(|r| r.revision);
                }
                None => window = window.saturating_mul(4),
            }
        }
    }

    /// The revision `audit.head` names (`None`: no readable head). With the
    /// write-ahead commit, the head is written once a group's files are in place,
    /// so the groups after it are the ones whose files may not all be written.
    pub(crate) fn head_revision(&self) -> Option<u64> {
        let text = fs::read_to_string(&self.head_path).ok()?;
        serde_json::from_str::<Head>(&text).ok().map(|h| h.revision)
    }

    /// Removes the last group when a crash cut it short during its append (see
    /// [`AuditRecord::group`]): truncates the log to the group's first line and
    /// syncs it, under the log's lock. Returns whether it did. Reads the whole log;
    /// called by recovery only, when the head is behind the log.
    pub(crate) fn cut_torn_group(&self) -> Result<bool, Error> {
        let mut tail = self.lock_tail();
        self.refresh(&mut tail, false)?;
        if tail.file.is_none() {
            return Ok(false);
        }
        // Locked on the file the path names now (a prune may have replaced it).
        let lock_file = self.lock_log(&mut tail)?;
        let result = (|| -> Result<bool, Error> {
            let bytes = fs::read(&self.path).map_err(|e| Error::io(&self.path, e))?;
            let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            // (start offset, record) of each whole line.
            let mut lines = Vec::new();
            let mut start = 0;
            for raw in bytes[..whole].split_inclusive(|&b| b == b'\n') {
                let text =
                    std::str::from_utf8(raw).map_err(|_| self.damaged(0, "not UTF-8 text"))?;
                let record = check_line(text.trim_end_matches('\n'))
                    .map_err(|r| self.damaged(lines.len() as u64 + 1, r))?;
                lines.push((start, record));
                start += raw.len();
            }
            let Some((_, last)) = lines.last() else {
                return Ok(false);
            };
            if last.redo.is_none() || last.group.is_some() {
                return Ok(false);
            }
            let revision = last.revision;
            let Some(&(cut_at, _)) = lines.iter().find(|(_, r)| r.revision == revision) else {
                return Ok(false);
            };
            let Some(file) = tail.file.as_ref() else {
                return Ok(false);
            };
            file.set_len(cut_at as u64)
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::io(&self.path, e))?;
            Ok(true)
        })();
        let unlocked = lock_file.unlock().map_err(|e| Error::io(&self.path, e));
        let cut = result?;
        unlocked?;
        if cut {
            // Read again from the start: the tail named the records cut off.
            // (`refresh` opens it again, with the anchor.)
            let stuck = tail.prune_stuck;
            *tail = Tail::at(None, None);
            tail.prune_stuck = stuck;
            self.refresh(&mut tail, false)?;
        }
        Ok(cut)
    }

    /// Writes `audit.head` for the group `revision` whose last record is `hash`:
    /// its files are in place (see [`append_unapplied`](Self::append_unapplied)).
    pub(crate) fn mark_applied(&self, revision: u64, hash: &str) {
        self.write_head(revision, hash);
    }

    /// The records after the one whose line ends at byte `offset` and whose hash is
    /// `hash` (a checkpoint), checked, oldest first, and the log's length in whole
    /// lines. When `offset` is not such a line end any more (the log was replaced
    /// or rewritten), the records after the one with that hash, found by reading the
    /// whole log; when no record has it, every record (more to check, never less).
    pub(crate) fn records_after(
        &self,
        offset: u64,
        hash: &str,
    ) -> Result<(Vec<AuditRecord>, u64), Error> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let len = file.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        if offset <= len {
            // From the byte before `offset`, which must end a line.
            let from = offset.saturating_sub(1);
            let size = usize::try_from(len - from)
                .map_err(|_| self.damaged(0, "the log is too large to read"))?;
            let mut buf = vec![0; size];
            file.read_exact_at(&mut buf, from)
                .map_err(|e| Error::io(&self.path, e))?;
            let body = if offset == 0 {
                Some(&buf[..])
            } else if buf.first() == Some(&b'\n') {
                Some(&buf[1..])
            } else {
                None
            };
            if let Some(body) = body
                && let Some(records) = chained(body, hash)
            {
                let whole = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                return Ok((records, offset + whole as u64));
            }
        }
        let all = self.read_all()?;
        let end = {
            let bytes = fs::read(&self.path).map_err(|e| Error::io(&self.path, e))?;
            bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) as u64
        };
        let after = all
            .iter()
            .rposition(|r| r.hash == hash)
            .map_or(0, |i| i + 1);
        Ok((all[after..].to_vec(), end))
    }
}

/// The records of the whole lines of `buf`, if each checks and the first chains to
/// `prev`; `None` otherwise.
fn chained(buf: &[u8], prev: &str) -> Option<Vec<AuditRecord>> {
    let whole = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut prev = prev.to_owned();
    let mut out = Vec::new();
    for raw in buf[..whole].split(|&b| b == b'\n') {
        if raw.is_empty() {
            continue;
        }
        let record = check_line(std::str::from_utf8(raw).ok()?).ok()?;
        if record.prev != prev {
            return None;
        }
        prev.clone_from(&record.hash);
        out.push(record);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(path: &str) -> Pending {
        Pending {
            time: jiff::Timestamp::UNIX_EPOCH,
            actor: "tester".into(),
            operation: Operation::SetStatus {
                id: "a".into(),
                status: "done".into(),
            },
            path: path.into(),
            before: None,
            after: Some("ab".repeat(32)),
            redo: None,
        }
    }

    #[test]
    fn a_line_checks_and_an_edited_line_does_not() {
        let (line, hash) = line_of(1, &pending("a.md"), None, &None, GENESIS).unwrap();
        let record = check_line(line.trim_end()).unwrap();
        assert_eq!(record.hash, hash);
        assert_eq!(record.revision, 1);
        let edited = line.trim_end().replace("tester", "mallory");
        assert!(check_line(&edited).unwrap_err().contains("edited"));
    }

    #[test]
    fn appends_share_a_revision_and_chain() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        let a = log
            .append(&[pending("a.md"), pending("b.md")], None, |_| Ok(false))
            .unwrap()
            .unwrap();
        assert_eq!(a.records[0].revision, 1);
        assert_eq!(a.records[1].revision, 1);
        assert_eq!(a.records[1].prev, a.records[0].hash);
        let b = log
            .append(&[pending("a.md")], None, |_| Ok(false))
            .unwrap()
            .unwrap();
        assert_eq!(b.records[0].revision, 2);
        assert_eq!(log.revision().unwrap(), 2);
        assert_eq!(log.read_all().unwrap().len(), 3);
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn a_torn_last_line_is_ignored_then_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        log.append(&[pending("a.md")], None, |_| Ok(false)).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("audit.log"))
            .unwrap();
        f.write_all(b"{\"revision\":2,\"ti").unwrap();
        let other = AuditLog::new(dir.path());
        assert_eq!(other.revision().unwrap(), 1);
        assert_eq!(other.read_all().unwrap().len(), 1);
        let c = other
            .append(&[pending("a.md")], None, |_| Ok(false))
            .unwrap()
            .unwrap();
        assert_eq!(c.records[0].revision, 2);
        assert!(other.verify().unwrap().is_ok());
        assert_eq!(log.revision().unwrap(), 2);
    }

    #[test]
    fn a_log_moved_away_is_started_anew_and_a_deleted_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        log.append(&[pending("a.md")], None, |_| Ok(false)).unwrap();
        fs::rename(dir.path().join("audit.log"), dir.path().join("old.log")).unwrap();
        assert!(matches!(log.revision(), Err(Error::AuditDamaged { .. })));
        fs::write(dir.path().join("audit.log"), "").unwrap();
        assert_eq!(log.revision().unwrap(), 0);
        let c = log
            .append(&[pending("b.md")], None, |_| Ok(false))
            .unwrap()
            .unwrap();
        assert_eq!(c.records[0].revision, 1);
        assert_eq!(c.records[0].prev, GENESIS);
    }

    fn at(secs: i64, path: &str) -> Pending {
        Pending {
            time: jiff::Timestamp::from_second(secs).unwrap(),
            ..pending(path)
        }
    }

    /// A log of revisions 1..=4 at times 10, 20, 30, 40 (revision 2 has two records).
    fn four_revisions(dir: &Path) -> AuditLog {
        let log = AuditLog::new(dir);
        for (secs, paths) in [
            (10, &["a.md"][..]),
            (20, &["b.md", "c.md"]),
            (30, &["a.md"]),
            (40, &["d.md"]),
        ] {
            let group: Vec<Pending> = paths.iter().map(|p| at(secs, p)).collect();
            log.append(&group, None, |_| Ok(false)).unwrap();
        }
        log
    }

    fn ts(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn a_prune_cuts_old_whole_revisions_and_the_log_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let log = four_revisions(dir.path());
        let before = log.last_after().unwrap();
        let p = log.prune(ts(25), ts(100), u64::MAX).unwrap();
        assert_eq!(p.removed, 3);
        assert_eq!(p.pruned.as_ref().unwrap().revision, 2);
        let kept = log.read_all().unwrap();
        assert_eq!(kept.iter().map(|r| r.revision).collect::<Vec<_>>(), [3, 4]);
        let check = log.verify().unwrap();
        assert!(check.is_ok(), "{check:?}");
        assert_eq!((check.records, check.head.clone()), (2, AuditHead::Current));
        assert_eq!(check.pruned.unwrap().records, 3);
        // The anchor keeps each path's last `after`: drift sees no difference.
        assert_eq!(log.last_after().unwrap(), before);
        assert_eq!(AuditLog::new(dir.path()).last_after().unwrap(), before);
        // Appends go on from the kept log.
        let next = log
            .append(&[at(50, "a.md")], None, |_| Ok(false))
            .unwrap()
            .unwrap();
        assert_eq!(next.records[0].revision, 5);
        assert!(log.verify().unwrap().is_ok());
        // A second prune adds to the anchor's count; the last revision always stays.
        let p = log.prune(ts(1000), ts(1000), u64::MAX).unwrap();
        assert_eq!((p.removed, p.pruned.unwrap().records), (2, 5));
        assert_eq!(log.read_all().unwrap().len(), 1);
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn since_below_the_anchor_is_an_error_naming_the_oldest_kept_revision() {
        let dir = tempfile::tempdir().unwrap();
        let log = four_revisions(dir.path());
        let _ = log.prune(ts(25), ts(100), u64::MAX).unwrap();
        assert_eq!(log.since(2).unwrap().len(), 2);
        assert_eq!(log.since(3).unwrap().len(), 1);
        match log.since(1) {
            Err(Error::AuditPruned { requested, oldest }) => {
                assert_eq!((requested, oldest), (1, 3))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn another_handle_reading_by_offset_notices_the_replaced_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = four_revisions(dir.path());
        let other = AuditLog::new(dir.path());
        assert_eq!(other.revision().unwrap(), 4);
        let _ = log.prune(ts(35), ts(100), u64::MAX).unwrap();
        // The other handle read 5 lines by offset; the new log has 1 and is shorter.
        assert_eq!(other.revision().unwrap(), 4);
        let appended = other
            .append(&[at(60, "e.md")], None, |_| Ok(false))
            .unwrap()
            .unwrap();
        assert_eq!(appended.records[0].revision, 5);
        assert_eq!(log.revision().unwrap(), 5);
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn a_crash_between_the_anchor_and_the_log_is_accepted_and_finished() {
        let dir = tempfile::tempdir().unwrap();
        let log = four_revisions(dir.path());
        let whole = fs::read(dir.path().join("audit.log")).unwrap();
        let _ = log.prune(ts(25), ts(100), u64::MAX).unwrap();
        // Put the whole log back: the anchor is new, the log old (as after a crash
        // between the two renames).
        fs::write(dir.path().join("audit.log"), &whole).unwrap();
        let reader = AuditLog::new(dir.path());
        let check = reader.verify().unwrap();
        assert!(check.is_ok(), "{check:?}");
        assert_eq!(check.records, 2, "records up to the anchor count as pruned");
        assert_eq!(reader.read_all().unwrap().len(), 2);
        assert_eq!(reader.revision().unwrap(), 4);
        assert!(matches!(reader.since(0), Err(Error::AuditPruned { .. })));
        // The next prune finishes the cut without counting the records twice.
        let p = reader.prune(ts(25), ts(100), u64::MAX).unwrap();
        assert_eq!((p.removed, p.pruned.unwrap().records), (0, 3));
        assert!(fs::read(dir.path().join("audit.log")).unwrap().len() < whole.len());
        assert!(reader.verify().unwrap().is_ok());
    }

    #[test]
    fn an_edited_or_missing_anchor_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let log = four_revisions(dir.path());
        let _ = log.prune(ts(25), ts(100), u64::MAX).unwrap();
        let anchor = dir.path().join("audit.anchor");
        let text = fs::read_to_string(&anchor).unwrap();
        fs::write(&anchor, text.replace("\"revision\":2", "\"revision\":1")).unwrap();
        let bad = AuditLog::new(dir.path()).verify().unwrap();
        assert!(bad.first_bad.unwrap().reason.contains("edited"));
        assert!(matches!(
            AuditLog::new(dir.path()).revision(),
            Err(Error::AuditDamaged { .. })
        ));
        fs::remove_file(&anchor).unwrap();
        let bad = AuditLog::new(dir.path()).verify().unwrap();
        assert!(
            bad.first_bad
                .unwrap()
                .reason
                .contains("no .ssot/audit.anchor")
        );
    }

    #[test]
    fn a_missing_or_stale_head_is_a_note_and_a_head_ahead_is_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        log.append(&[pending("a.md")], None, |_| Ok(false)).unwrap();
        let head = dir.path().join("audit.head");
        // A crash right after the first append: no head yet.
        let first = fs::read(&head).unwrap();
        fs::remove_file(&head).unwrap();
        let check = log.verify().unwrap();
        assert!(check.is_ok(), "{check:?}");
        assert_eq!(check.head, AuditHead::Missing);
        // Empty (a rename ordered before its data).
        fs::write(&head, "").unwrap();
        let check = log.verify().unwrap();
        assert!(
            check.is_ok() && matches!(check.head, AuditHead::Unreadable { .. }),
            "{check:?}"
        );
        // One behind: the second append's head was lost.
        log.append(&[pending("a.md")], None, |_| Ok(false)).unwrap();
        let second = fs::read(&head).unwrap();
        fs::write(&head, &first).unwrap();
        let check = log.verify().unwrap();
        assert!(check.is_ok(), "{check:?}");
        assert_eq!(check.head, AuditHead::Behind { revision: 1, by: 1 });
        // A head ahead of the log: the last record was cut off.
        let text = fs::read_to_string(dir.path().join("audit.log")).unwrap();
        let first_line = text.lines().next().unwrap().to_owned() + "\n";
        fs::write(&head, &second).unwrap();
        fs::write(dir.path().join("audit.log"), first_line).unwrap();
        let check = AuditLog::new(dir.path()).verify().unwrap();
        assert!(check.first_bad.unwrap().reason.contains("cut off the end"));
    }
}
