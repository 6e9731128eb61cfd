//! The audit log as the write-ahead log: one fdatasync per durable change.
//!
//! # The idea
//!
//! Every audit record that changes a file through the store carries its [`Redo`]:
//! the splice from the file's `before` bytes to its `after` bytes (the common prefix
//! and suffix left out: `{"at": byte offset, "cut": n, "put": "text"}`; a created
//! file is its whole text). The record is hash-chained like every other field. So
//! once a commit's records are in the log and the log is `fdatasync`ed, the commit
//! is durable even if none of its files is: they can be written again from the log.
//! That append is the **commit point**, and the commit's only fsync.
//!
//! # A commit (`snapshot: on-request`, the default)
//!
//! Under the locks, as `change.rs` describes: [recover](#recovery), read, drift
//! check, edit, validate; then
//!
//! 1. **stage** each changed file: its new bytes in a temporary file beside it
//!    (`.<name>.ssot-new`, one name per file: only the holder of the store's lock
//!    writes there), with the file's permissions. A file that cannot be staged (a
//!    read-only directory, a full disk, a symbolic link at the path) refuses the
//!    commit before its commit point: nothing is written, nothing is logged.
//! 2. **append** the records to the log with one write and one `fdatasync` (the
//!    commit point), *without* writing `.ssot/audit.head`;
//! 3. **apply**: each staged file is renamed over its file (no fsync), unless the
//!    file's bytes changed since they were read under the lock (an editor saving
//!    while the commit ran): that file is left as found and the commit returns
//!    [`Error::Unapplied`] (its records are in the log; the next change records the
//!    file as `External`, so the log still explains every byte);
//! 4. **mark applied**: `.ssot/audit.head` is written (temporary file, rename, no
//!    fsync) naming the new revision. A head behind the log therefore marks the
//!    groups whose files may not all be in place.
//!
//! `snapshot: every-change` keeps the version store's all-or-nothing write (it
//! records a version, whose objects must be durable anyway), and so does
//! [`Store::rollback`]; both write the head at once, their files being in place.
//!
//! # Recovery
//!
//! The groups after the head are replayed: for each path they name, if the file is
//! not at the log's last `after`, but at the `before` of one of those records, the
//! redo of that record and of every later one for the path is applied (each step's
//! hash checked) and the file written (temporary file + rename). That is a crashed
//! apply, not drift. A file at no state of those records was edited outside the
//! store: it is left alone, and drift records it (`External`) as before. Then the
//! head is written. Recovery runs under the store's lock, first thing whenever it
//! is taken (so in every commit before the drift check, in [`Store::rollback`],
//! [`Store::snapshot`], [`Store::checkpoint`] and [`Store::record_drift`]), and at
//! [`Store::open`] and before [`Store::drift`] reports when the store's lock is free
//! (a try-lock; skipped otherwise), so a crashed apply never shows as drift.
//!
//! **Why the head bounds the replay, not the checkpoint.** A file put back by hand
//! to a state it had a few changes ago (an editor's undo) cannot be told from a
//! crashed apply by its bytes. Replaying every record since the last checkpoint
//! would silently redo the change the user just undid. A crashed apply can only be
//! in the groups after the head, and a commit of the same path cannot follow one
//! without recovering it first, so the replay is limited to them: only an undo made
//! while a commit was being applied (and killed) is redone.
//!
//! # Checkpoints and the operating system crashing
//!
//! A process killed after the commit point loses nothing: the page cache keeps what
//! it wrote. An operating-system crash or a power loss can lose the renames and the
//! files' data too, since they are not fsynced. `.ssot/checkpoint` names the
//! revision (and its byte offset and hash in the log) up to which every changed file
//! is known durable, and the boot it was written in (Linux's
//! `/proc/sys/kernel/random/boot_id`). When the system booted since, recovery
//! replays every group after the checkpoint, not only those after the head, then
//! checkpoints. A checkpoint recovers, `fsync`s every file changed after the old
//! checkpoint and each of their directories, then replaces the checkpoint file
//! (rename, no fsync: a stale checkpoint only means more to check).
//!
//! It runs when the log holds [`CHECKPOINT_REVISIONS`] revisions or
//! [`CHECKPOINT_BYTES`] bytes after the checkpoint (checked after every commit, in the
//! commit's lock), and on [`Store::checkpoint`]. Not on `Drop`: a process that makes
//! one change and exits (the `ssot` command) would then pay a file and a directory
//! fsync on top of the log's, three rounds instead of one, for nothing the log does
//! not already guarantee. Amortized, a single change costs one fdatasync plus
//! `(files + directories) / 128` fsyncs.
//!
//! **What the replay cannot repair**: a file whose content is at no logged state
//! after an operating-system crash (a file system that can persist a rename before
//! the data it names: ext4 with `noauto_da_alloc`, or a new file whose rename
//! outlived its data). It is reported as drift; its committed bytes are in the log's
//! redo records. On systems without a boot id, recovery always takes the head's
//! window (a process crash is covered, an operating-system crash only up to the last
//! checkpoint).
//!
//! A `.<name>.ssot-new` file left by a commit killed before its commit point is
//! overwritten by the next commit of that file; the manifest's globs do not match
//! it unless one matches dot files ending in `.ssot-new`. [`Store::snapshot`] takes
//! the store's lock, so a snapshot never sees a staged file or half of a
//! transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::Store;
use super::audit::{AuditRecord, GENESIS};
use super::change::hash_hex;
use crate::error::Error;

/// A checkpoint is taken when the log holds this many revisions after the last one.
pub const CHECKPOINT_REVISIONS: u64 = 128;

/// ... or this many bytes (records with their redo) after it.
pub const CHECKPOINT_BYTES: u64 = 1 << 20;

/// How to redo a change from the file's `before` bytes: replace `cut` bytes at byte
/// offset `at` with `put`. Made from the common prefix and suffix of the two texts,
/// so a status change logs a few bytes, not the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Redo {
    /// The byte offset of the splice.
    pub at: u64,
    /// How many bytes of `before` it replaces.
    pub cut: u64,
    /// The text put in their place.
    pub put: String,
}

impl Redo {
    /// The splice that turns `before` into `after` (both ends on UTF-8 character
    /// boundaries of `after`, so `put` is text).
    pub(crate) fn between(before: &[u8], after: &str) -> Redo {
        let new = after.as_bytes();
        let mut prefix = before.iter().zip(new).take_while(|(a, b)| a == b).count();
        while !after.is_char_boundary(prefix) {
            prefix -= 1;
        }
        let room = before.len().min(new.len()) - prefix;
        let mut suffix = before
            .iter()
            .rev()
            .zip(new.iter().rev())
            .take(room)
            .take_while(|(a, b)| a == b)
            .count();
        while !after.is_char_boundary(new.len() - suffix) {
            suffix -= 1;
        }
        Redo {
            at: prefix as u64,
            cut: (before.len() - prefix - suffix) as u64,
            put: after[prefix..new.len() - suffix].to_owned(),
        }
    }

    /// `before` with the splice applied; `None` when it does not fit.
    pub(crate) fn apply(&self, before: &[u8]) -> Option<Vec<u8>> {
        let at = usize::try_from(self.at).ok()?;
        let end = at.checked_add(usize::try_from(self.cut).ok()?)?;
        if end > before.len() {
            return None;
        }
        let mut out = Vec::with_capacity(before.len() - (end - at) + self.put.len());
        out.extend_from_slice(&before[..at]);
        out.extend_from_slice(self.put.as_bytes());
        out.extend_from_slice(&before[end..]);
        Some(out)
    }
}

/// What [`Store::checkpoint`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[must_use]
pub struct Checkpointed {
    /// Every change up to this revision is now durable in its file.
    pub revision: u64,
    /// How many files were fsynced.
    pub synced: usize,
    /// The files written from the log first (a crashed apply), sorted.
    pub repaired: Vec<String>,
}

/// `.ssot/checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) revision: u64,
    /// The log's length up to the record of `revision`.
    pub(crate) offset: u64,
    /// The hash of the last record of `revision`.
    pub(crate) hash: String,
    /// The boot it was written in (see the module docs).
    #[serde(default)]
    pub(crate) boot: Option<String>,
}

impl Checkpoint {
    fn genesis() -> Checkpoint {
        Checkpoint {
            revision: 0,
            offset: 0,
            hash: GENESIS.to_owned(),
            boot: None,
        }
    }

    fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("checkpoint")
    }

    /// The checkpoint, `None` when there is none (or it cannot be read: then every
    /// record is after it, which is more to check, never less).
    pub(crate) fn read(state_dir: &Path) -> Option<Checkpoint> {
        let text = fs::read_to_string(Checkpoint::path(state_dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Replaces the checkpoint file (temporary file, rename; no fsync).
    fn write(&self, state_dir: &Path) -> Result<(), Error> {
        let path = Checkpoint::path(state_dir);
        let tmp = state_dir.join(format!("checkpoint.tmp{}", std::process::id()));
        let text =
            serde_json::to_string(self).map_err(|e| Error::io(&path, io::Error::other(e)))?;
        fs::write(&tmp, text + "\n")
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                Error::io(&path, e)
            })
    }

    /// Whether the system booted since this checkpoint was written.
    fn rebooted(&self) -> bool {
        match (boot_id(), &self.boot) {
            (Some(now), Some(then)) => now != then,
            _ => false,
        }
    }
}

/// This boot's id (Linux), read once per process.
fn boot_id() -> Option<&'static str> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    BOOT.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    })
    .as_deref()
}

/// A file's new bytes, staged beside it.
#[derive(Debug)]
pub(crate) struct Staged {
    pub(crate) rel: String,
    full: PathBuf,
    tmp: PathBuf,
}

/// Writes `bytes` to the temporary file of `rel`, beside it, as `.<name>.ssot-new`
/// (one name per file: only the holder of the store's lock writes there), with the
/// permissions of the file it replaces. Beside it, not in `.ssot/`: creating the
/// file is the check, made before the commit point, that the directory takes the
/// rename. A symbolic link at `rel` is refused: the rename would replace the link.
pub(crate) fn stage(root: &Path, rel: &str, bytes: &[u8]) -> Result<Staged, Error> {
    let full = root.join(rel);
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = full.with_file_name(format!(".{name}.ssot-new"));
    let permissions = match fs::symlink_metadata(&full) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::io(
                &full,
                io::Error::other(
                    "a symbolic link is at this path, and writing the file would replace it; \
                     name the file it points to in the manifest, or move the link away",
                ),
            ));
        }
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&full, e)),
    };
    let mut file = match File::create(&tmp) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A new file in a directory that does not exist yet.
            let dir = tmp.parent().unwrap_or(root);
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            File::create(&tmp).map_err(|e| Error::io(&tmp, e))?
        }
        Err(e) => return Err(Error::io(&tmp, e)),
    };
    let written = file.write_all(bytes).and_then(|()| match permissions {
        Some(p) => file.set_permissions(p),
        None => Ok(()),
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    Ok(Staged {
        rel: rel.to_owned(),
        full,
        tmp,
    })
}

impl Staged {
    /// Removes the staged file (a commit refused before its commit point).
    pub(crate) fn discard(self) {
        let _ = fs::remove_file(&self.tmp);
    }

    /// Renames the staged file over its file if the file still holds `expect`
    /// (`None`: no file); otherwise, or when the rename fails, says why.
    pub(crate) fn install(self, expect: Option<&[u8]>) -> Result<(), NotInstalled> {
        let failed = |e: io::Error| {
            NotInstalled::Failed(format!(
                "{e}; the next change of the file, Store::open or Store::checkpoint writes it from the log"
            ))
        };
        let now = match fs::read(&self.full) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                let _ = fs::remove_file(&self.tmp);
                return Err(failed(e));
            }
        };
        if now.as_deref() != expect {
            let _ = fs::remove_file(&self.tmp);
            return Err(NotInstalled::Conflict(
                "it was changed outside the store while the commit ran, so it was left as found; \
                 the next change or Store::record_drift records it as an external change: check \
                 it and make the change again if it still applies"
                    .to_owned(),
            ));
        }
        fs::rename(&self.tmp, &self.full).map_err(|e| {
            let _ = fs::remove_file(&self.tmp);
            failed(e)
        })
    }
}

/// Why a staged file was not put in place.
#[derive(Debug)]
pub(crate) enum NotInstalled {
    /// The file changed since it was read under the lock: left as found (final).
    Conflict(String),
    /// The rename failed: recovery writes it from the log later.
    Failed(String),
}

impl NotInstalled {
    pub(crate) fn reason(self) -> String {
        match self {
            NotInstalled::Conflict(r) | NotInstalled::Failed(r) => r,
        }
    }
}

/// Writes `bytes` (`None`: removes the file) at `rel` now, by a staged rename.
fn write_now(root: &Path, rel: &str, bytes: Option<&[u8]>) -> Result<(), Error> {
    match bytes {
        Some(b) => {
            let staged = stage(root, rel, b)?;
            fs::rename(&staged.tmp, &staged.full).map_err(|e| {
                let _ = fs::remove_file(&staged.tmp);
                Error::io(&staged.full, e)
            })
        }
        None => match fs::remove_file(root.join(rel)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(root.join(rel), e)),
            _ => Ok(()),
        },
    }
}

/// Whether a path the log names is a plain relative path under the root (a log is
/// data: a crafted one must not make recovery write elsewhere).
fn is_plain(rel: &str) -> bool {
    let path = Path::new(rel);
    !rel.is_empty()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
        && path
            .components()
            .next()
            .is_some_and(|c| c.as_os_str() != super::STATE_DIR)
}

/// The state after redoing `chain` from `state`, each step's hashes checked;
/// `None` when a step does not check or has no redo.
fn redo_chain(mut state: Option<Vec<u8>>, chain: &[&AuditRecord]) -> Option<Option<Vec<u8>>> {
    for r in chain {
        if state.as_deref().map(hash_hex) != r.before {
            return None;
        }
        state = match (&r.after, &r.redo) {
            (None, _) => None,
            (Some(_), Some(redo)) => Some(redo.apply(state.as_deref().unwrap_or_default())?),
            (Some(_), None) => return None,
        };
        if state.as_deref().map(hash_hex) != r.after {
            return None;
        }
    }
    Some(state)
}

impl Store {
    /// Makes every change in the audit log up to now durable in its file: finishes
    /// a crashed apply (see the module docs), `fsync`s every file changed since the
    /// last checkpoint and their directories, and moves the checkpoint
    /// (`.ssot/checkpoint`) to the log's last revision. Taken by the commits
    /// themselves every [`CHECKPOINT_REVISIONS`] revisions or [`CHECKPOINT_BYTES`]
    /// bytes of log; call it to bound the work of recovery, before a backup for
    /// instance.
    ///
    /// Costs a read of the log after the last checkpoint, a read and hash of each
    /// file it names, and one `fsync` per such file and directory.
    ///
    /// # Errors
    ///
    /// [`Error::LockTimeout`]; [`Error::Io`]; [`Error::AuditDamaged`].
    pub fn checkpoint(&self) -> Result<Checkpointed, Error> {
        self.locked(&BTreeSet::new(), || self.checkpoint_locked())
    }

    /// [`checkpoint`](Self::checkpoint), the caller holding the store's lock.
    pub(crate) fn checkpoint_locked(&self) -> Result<Checkpointed, Error> {
        let state_dir = &self.write.state_dir;
        let (last, _, _) = self.write.audit.position()?;
        if self.write.audit.head_revision().unwrap_or(0) < last {
            self.write.audit.cut_torn_group()?;
        }
        let old = Checkpoint::read(state_dir).unwrap_or_else(Checkpoint::genesis);
        let (records, end) = self.write.audit.records_after(old.offset, &old.hash)?;
        let window = if old.rebooted() {
            0
        } else {
            self.write.audit.head_revision().unwrap_or(0)
        };
        let repaired = self.replay(&records, window)?;
        let (revision, hash) = records
            .last()
            .map_or((old.revision, old.hash.clone()), |r| {
                (r.revision, r.hash.clone())
            });
        if revision > 0 {
            self.write.audit.mark_applied(revision, &hash);
        }
        let paths: BTreeSet<&str> = records
            .iter()
            .map(|r| r.path.as_str())
            .filter(|p| is_plain(p))
            .collect();
        let mut dirs = BTreeSet::new();
        let mut synced = 0;
        for rel in paths {
            let full = self.root.join(rel);
            match File::open(&full) {
                Ok(f) => {
                    f.sync_data().map_err(|e| Error::io(&full, e))?;
                    synced += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&full, e)),
            }
            if let Some(dir) = full.parent() {
                dirs.insert(dir.to_path_buf());
            }
        }
        for dir in dirs {
            match File::open(&dir) {
                Ok(d) => d.sync_all().map_err(|e| Error::io(&dir, e))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&dir, e)),
            }
        }
        let new = Checkpoint {
            revision,
            offset: end,
            hash,
            boot: boot_id().map(str::to_owned),
        };
        new.write(state_dir)?;
        self.write.set_checkpoint_hint(new.revision, new.offset);
        Ok(Checkpointed {
            revision,
            synced,
            repaired,
        })
    }

    /// Finishes the applies a crash interrupted (see the module docs); the caller
    /// holds the store's lock. Returns the files written, sorted. In the common case
    /// (the head names the log's last revision) it costs a `stat` of the log and a
    /// read of the head.
    pub(crate) fn recover_locked(&self) -> Result<Vec<String>, Error> {
        let (mut revision, mut hash, _) = self.write.audit.position()?;
        if revision == 0 {
            return Ok(Vec::new());
        }
        let state_dir = &self.write.state_dir;
        if !self.write.boot_checked.load(Ordering::Relaxed) {
            match Checkpoint::read(state_dir) {
                // The first checkpoint of this log: stamp the boot, so that a later
                // boot is noticed. Nothing is claimed durable (revision 0).
                None => Checkpoint {
                    boot: boot_id().map(str::to_owned),
                    ..Checkpoint::genesis()
                }
                .write(state_dir)?,
                Some(c) if c.rebooted() => {
                    self.write.audit.cut_torn_group()?;
                    let done = self.checkpoint_locked()?;
                    self.write.boot_checked.store(true, Ordering::Relaxed);
                    return Ok(done.repaired);
                }
                Some(_) => {}
            }
            // Any later checkpoint is written in this boot too.
            self.write.boot_checked.store(true, Ordering::Relaxed);
        }
        let head = self.write.audit.head_revision().unwrap_or(0);
        if head >= revision {
            return Ok(Vec::new());
        }
        if self.write.audit.cut_torn_group()? {
            (revision, hash, _) = self.write.audit.position()?;
            if revision <= head {
                return Ok(Vec::new());
            }
        }
        let checkpoint = Checkpoint::read(state_dir).unwrap_or_else(Checkpoint::genesis);
        let (records, _) = self
            .write
            .audit
            .records_after(checkpoint.offset, &checkpoint.hash)?;
        let repaired = self.replay(&records, head)?;
        self.write.audit.mark_applied(revision, &hash);
        Ok(repaired)
    }

    /// Recovery when the store is opened: only when the log's last revision is past
    /// the head (or the system booted since the checkpoint) and the store's lock is
    /// free. Best effort: an error here is met again by the first operation that
    /// needs the log.
    pub(crate) fn recover_at_open(&self) {
        let Some(last) = self.write.audit.last_revision_quick() else {
            return;
        };
        let head = self.write.audit.head_revision().unwrap_or(0);
        let rebooted = Checkpoint::read(&self.write.state_dir).is_some_and(|c| c.rebooted());
        if head >= last && !rebooted {
            return;
        }
        let _ = self.try_locked(|| self.recover_locked());
    }

    /// Replays, for each path named by a record of a revision after `after`, the
    /// records of `records` (the log after the checkpoint) from the state the file
    /// is at, when that is the `before` of one of those records. Returns the files
    /// written, sorted.
    fn replay(&self, records: &[AuditRecord], after: u64) -> Result<Vec<String>, Error> {
        let mut by_path: BTreeMap<&str, Vec<&AuditRecord>> = BTreeMap::new();
        for r in records {
            by_path.entry(r.path.as_str()).or_default().push(r);
        }
        let mut repaired = Vec::new();
        for (rel, chain) in by_path {
            let Some(first) = chain.iter().position(|r| r.revision > after) else {
                continue;
            };
            if !is_plain(rel) {
                continue;
            }
            let full = self.root.join(rel);
            let now = match fs::read(&full) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(full, e)),
            };
            let now_hash = now.as_deref().map(hash_hex);
            if chain.last().is_some_and(|r| r.after == now_hash) {
                continue;
            }
            // The latest state of the window the file is at: any later record
            // would name it as its `before` too, and redoing from there is shorter.
            let Some(from) = (first..chain.len())
                .rev()
                .find(|&i| chain[i].before == now_hash)
            else {
                continue;
            };
            let Some(bytes) = redo_chain(now, &chain[from..]) else {
                continue;
            };
            write_now(&self.root, rel, bytes.as_deref())?;
            self.reader.invalidate(rel);
            repaired.push(rel.to_owned());
        }
        Ok(repaired)
    }

    /// After a commit that appended up to `revision` (the log then `end` bytes
    /// long): a checkpoint when the log has grown enough since the last one. Best
    /// effort: the commit is durable already; a failing checkpoint is tried again
    /// after the next commit.
    pub(crate) fn checkpoint_if_due(&self, revision: u64, end: u64) {
        let due = |(at, offset): (u64, u64)| {
            revision.saturating_sub(at) >= CHECKPOINT_REVISIONS
                || end.saturating_sub(offset) >= CHECKPOINT_BYTES
                || offset > end
        };
        if let Some(hint) = self.write.checkpoint_hint()
            && !due(hint)
        {
            return;
        }
        // Read the file: another process may have checkpointed meanwhile.
        let on_disk = Checkpoint::read(&self.write.state_dir).unwrap_or_else(Checkpoint::genesis);
        self.write
            .set_checkpoint_hint(on_disk.revision, on_disk.offset);
        if due((on_disk.revision, on_disk.offset)) {
            let _ = self.checkpoint_locked();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_redo_is_the_changed_middle() {
        let redo = Redo::between(b"- [ ] Build\n- [ ] Ship\n", "- [x] Build\n- [ ] Ship\n");
        assert_eq!((redo.at, redo.cut, redo.put.as_str()), (3, 1, "x"));
        let created = Redo::between(b"", "new\n");
        assert_eq!(
            (created.at, created.cut, created.put.as_str()),
            (0, 0, "new\n")
        );
    }

    #[test]
    fn a_redo_keeps_multibyte_characters_whole() {
        // "é" and "è" share their first byte (0xC3): the splice starts before it.
        let redo = Redo::between("café".as_bytes(), "cafè");
        assert_eq!(redo.put, "è");
        assert_eq!(redo.apply("café".as_bytes()).unwrap(), "cafè".as_bytes());
    }

    #[test]
    fn a_redo_that_does_not_fit_is_refused() {
        let redo = Redo::between(b"abcdef", "abXdef");
        assert!(redo.apply(b"ab").is_none());
    }

    #[test]
    fn plain_paths_only() {
        assert!(is_plain("todo.md"));
        assert!(is_plain("config/app.yaml"));
        assert!(!is_plain("../x.md"));
        assert!(!is_plain("/etc/passwd"));
        assert!(!is_plain("."));
        assert!(!is_plain(".ssot/audit.log"));
        assert!(!is_plain(""));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Redoing the splice between any two texts gives the second.
        #[test]
        fn a_redo_turns_before_into_after(before in "[a-cé🆔\n ]{0,40}", after in "[a-cé🆔\n ]{0,40}") {
            let redo = Redo::between(before.as_bytes(), &after);
            prop_assert_eq!(redo.apply(before.as_bytes()), Some(after.into_bytes()));
        }
    }
}
