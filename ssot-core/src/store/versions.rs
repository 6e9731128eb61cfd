//! Versions of the store's directory: [`Store::snapshot`], [`Store::history`],
//! [`Store::diff`], [`Store::rollback`], on an `ssot-version` store at
//! `<root>/.ssot/versions`.
//!
//! The version store tracks every regular file under the root except `.ssot/` and
//! `.git/` (the manifest included), whatever the manifest says, so that a rollback
//! restores the directory as it was. It is also the store's one mechanism for
//! all-or-nothing writes: every commit is a [`ssot_version::WriteSet`] (see
//! `change.rs`), whose note carries the commit's audit records, so that crash
//! recovery (run by whoever next locks the version store; opening the store is
//! enough) appends them to the audit log exactly once.
//!
//! The version store is opened when the store is opened if `.ssot/versions` exists
//! (which finishes a write a crash interrupted), else at the first write; if it
//! cannot be opened then (a read-only directory), the store still opens for reading
//! and the first write reports the error.
//!
//! [`Store::rollback`] is such a write too (the files that differ from the target,
//! its records in the note), so a crash cannot separate a rollback from its records.
//!
//! A process that opens `.ssot/versions` with `ssot-version` directly, without this
//! hook, finishes a crashed write without appending its records, but `ssot-version`
//! keeps the note (`.ssot/versions/notes/`) and hands it to the hook of the next
//! store that locks the version store (any operation of a [`Store`] that touches
//! versions, opening with `.ssot/versions` present included), which appends the
//! records then, exactly once (the hook's check below). Until then the files show as
//! drift; if a change records that drift (`External`) before the note is delivered,
//! the late records follow it in the log.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use ssot_version::{Diff, FileEntry, Version, VersionStore, WriteSet, Written};

use super::Store;
use super::audit::{AuditLog, Operation, Pending};
use super::change::{Commit, hash_hex};
use super::scan::{self, STATE_DIR};
use crate::error::Error;

/// What a commit's [`WriteSet`](ssot_version::WriteSet) note holds.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Note {
    pub(crate) records: Vec<Pending>,
}

/// Opens the version store of `root` with the audit log's recovery hook.
pub(crate) fn open_versions(root: &Path) -> Result<VersionStore, Error> {
    let state_dir = root.join(STATE_DIR);
    Ok(VersionStore::builder(root)
        .exclude(STATE_DIR)
        .exclude(".git")
        .exclude("**/.git")
        .on_recover(move |written| recover(&state_dir, written))
        .open()?)
}

/// The recovery hook: appends the records of a write a crash interrupted, unless
/// the log already has them (the crash came after the append, before the journal
/// was removed). The check compares the group's first record (time, actor,
/// operation, path, hashes) with the log's records: times are in nanoseconds, so a
/// match is that group.
fn recover(state_dir: &Path, written: &Written) -> io::Result<()> {
    if written.note.is_empty() {
        return Ok(());
    }
    let note: Note = serde_json::from_slice(&written.note).map_err(io::Error::other)?;
    let Some(first) = note.records.first().cloned() else {
        return Ok(());
    };
    let log = AuditLog::new(state_dir);
    let version = written.version.as_ref().map(|v| v.id().as_str().to_owned());
    log.append(&note.records, version, |log| {
        Ok(log.read_all()?.iter().rev().any(|r| {
            r.time == first.time
                && r.actor == first.actor
                && r.path == first.path
                && r.operation == first.operation
                && r.before == first.before
                && r.after == first.after
        }))
    })
    .map(drop)
    .map_err(io::Error::other)
}

impl Store {
    /// The version store, opened (and recovered) on first use.
    pub(crate) fn versions(&self) -> Result<&VersionStore, Error> {
        if let Some(v) = self.write.versions.get() {
            return Ok(v);
        }
        let opened = open_versions(&self.root)?;
        Ok(self.write.versions.get_or_init(|| opened))
    }

    /// Records the directory as a new version (unless it equals the newest, which
    /// is then returned). Not a revision: the audit log is not written.
    ///
    /// # Errors
    ///
    /// [`Error::Version`] when the version store fails.
    pub fn snapshot(&self, description: &str) -> Result<Version, Error> {
        // Under the store's lock: a commit renames its files one by one after its
        // commit point (`wal.rs`), and a snapshot must not see half of one.
        self.locked(&BTreeSet::new(), || {
            Ok(self.versions()?.snapshot(description)?)
        })
    }

    /// Every version, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Version`].
    pub fn history(&self) -> Result<Vec<Version>, Error> {
        Ok(self.versions()?.history()?)
    }

    /// The paths added, removed and modified from version `from` to version `to`
    /// (ids, unique id prefixes or tags).
    ///
    /// # Errors
    ///
    /// [`Error::Version`] for an unknown or ambiguous version.
    pub fn diff(&self, from: &str, to: &str) -> Result<Diff, Error> {
        Ok(self.versions()?.diff(from, to)?)
    }

    /// Makes the directory that of `version` as one revision: drift found first
    /// (`External` records), then one `Rollback` record per store file the rollback
    /// changed. The current tree is recorded as a version first (when it differs
    /// from the newest), so a rollback can be undone; the result is recorded as a new
    /// version whose [`restored_from`](Version::restored_from) is `version`. The
    /// read cache is refreshed.
    ///
    /// The rollback is one all-or-nothing write ([`ssot_version::WriteSet`]): every
    /// file that differs from the target is put (its bytes read from the version
    /// store) or deleted, with an `expect` of its current hash, and the version is
    /// recorded with the files; the audit records travel in the write's note and are
    /// appended before its journal is removed. So a crash at any point leaves either
    /// nothing of the rollback or all of it *with* its records: the version store's
    /// recovery hook appends them exactly once when the store is next opened. (Files
    /// the rollback leaves alone are not re-checked under the version store's lock:
    /// one edited outside the store in that instant is found as drift later.)
    ///
    /// If the directory is already that of `version`, nothing is written and the
    /// commit names the newest version (whose files are the target's).
    ///
    /// # Errors
    ///
    /// [`Error::Version`] (unknown version, a file in the way, a file changed
    /// outside the store during the rollback (`Conflict`), a damaged version store);
    /// [`Error::LockTimeout`]; [`Error::Io`].
    pub fn rollback(&self, version: &str) -> Result<Commit, Error> {
        self.locked(&BTreeSet::new(), || {
            let versions = self.versions()?;
            let target = versions.get(version)?;
            let target_id = target.id().clone();
            let current = versions.snapshot(&format!(
                "uncommitted changes before rollback to {}",
                target_id.short()
            ))?;
            let before = self.file_hashes()?;
            let last = self.write.audit.last_after()?;
            let now = jiff::Timestamp::now();
            let mut records = Vec::new();
            for (path, hash) in &before {
                let logged = last.get(path).cloned().flatten();
                if logged.as_ref() != Some(hash) {
                    records.push(self.pending(
                        now,
                        Operation::External,
                        path,
                        logged,
                        Some(hash.clone()),
                    ));
                }
            }
            for (path, after) in &last {
                if after.is_some() && !before.iter().any(|(p, _)| p == path) {
                    records.push(self.pending(now, Operation::External, path, after.clone(), None));
                }
            }

            // The write: every file that differs from the target.
            let have: HashMap<&str, &FileEntry> = current
                .files()
                .iter()
                .map(|f| (f.path.as_str(), f))
                .collect();
            let mut set = WriteSet::new();
            for f in current.files() {
                if target.file(&f.path).is_none() {
                    set = set
                        .expect(f.path.clone(), Some(f.hash))
                        .delete(f.path.clone());
                }
            }
            for f in target.files() {
                let now_there = have.get(f.path.as_str());
                if now_there.is_some_and(|h| h.hash == f.hash && h.executable == f.executable) {
                    continue;
                }
                let bytes = versions
                    .read_file(target_id.as_str(), &f.path)?
                    .ok_or_else(|| {
                        Error::io(self.root.join(&f.path), io::ErrorKind::NotFound.into())
                    })?;
                set = set
                    .expect(f.path.clone(), now_there.map(|h| h.hash))
                    .put(f.path.clone(), bytes)
                    .executable(f.path.clone(), f.executable);
            }

            // Its records: each store file whose bytes change.
            let operation = Operation::Rollback {
                version: target_id.as_str().to_owned(),
            };
            let mut paths: BTreeSet<String> = before.iter().map(|(p, _)| p.clone()).collect();
            paths.extend(
                target
                    .files()
                    .iter()
                    .filter(|f| self.is_tracked(&f.path))
                    .map(|f| f.path.clone()),
            );
            for path in &paths {
                let b = before
                    .iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, h)| h.clone());
                let a = target.file(path).map(|f| f.hash.to_string());
                if b != a {
                    records.push(self.pending(now, operation.clone(), path, b, a));
                }
            }
            if records.is_empty() {
                // Nothing changed: a revision still records that the rollback ran.
                records.push(self.pending(now, operation.clone(), ".", None, None));
            }
            let note = serde_json::to_vec(&Note {
                records: records.clone(),
            })
            .map_err(|e| Error::io(&self.write.state_dir, io::Error::other(e)))?;
            set = set
                .note(note)
                .record_version(format!("rollback to {}", target_id.short()))
                .restored_from(target_id.clone());

            let mut appended = Vec::new();
            let written = versions.write_with(set, |written| {
                super::fault::point("rollback:files-written");
                let version = written.version.as_ref().map(|v| v.id().as_str().to_owned());
                match self.write.audit.append(&records, version, |_| Ok(false)) {
                    Ok(a) => {
                        appended = a.map(|a| a.records).unwrap_or_default();
                        Ok(())
                    }
                    Err(e) => Err(io::Error::other(e.to_string())),
                }
            });
            let written = match written {
                Ok(w) => w,
                Err(e) => {
                    // As a commit: try to finish a write that failed after its
                    // commit point (the hook then appends the records).
                    let _ = versions.head();
                    self.reader.clear();
                    return Err(e.into());
                }
            };
            self.reader.clear();
            self.write.publish(&appended);
            Ok(Commit {
                revision: appended.first().map_or(0, |r| r.revision),
                version: written
                    .version
                    .map(|v| v.id().clone())
                    .or(Some(current.id().clone())),
                records: appended,
            })
        })
    }

    /// The paths the audit log follows: the store's files (as the manifest selects
    /// them) and the files of its configuration overlay sets, sorted.
    pub(crate) fn tracked_paths(&self) -> Result<Vec<String>, Error> {
        let mut paths: BTreeSet<String> = self.files()?.into_iter().map(|f| f.path).collect();
        for set in self.manifest.configs() {
            for file in &set.files {
                if let Ok((rel, _)) = super::scan::resolve(&self.root, file) {
                    paths.insert(rel);
                }
            }
        }
        Ok(paths.into_iter().collect())
    }

    /// Whether the audit log follows `rel` (see [`tracked_paths`](Self::tracked_paths)).
    pub(crate) fn is_tracked(&self, rel: &str) -> bool {
        scan::role_of(&self.manifest, rel).is_some()
            || self
                .manifest
                .configs()
                .iter()
                .any(|c| c.files.iter().any(|f| f == rel))
    }

    /// Every file the audit log follows (see [`tracked_paths`](Self::tracked_paths))
    /// that exists now, with the hash of its bytes, sorted by path.
    ///
    /// A file whose `stat` fingerprint (size, mtime, ctime, inode, device) is the one
    /// recorded when it was last hashed, and whose mtime was then at least
    /// [`RACY_WINDOW`](super::RACY_WINDOW) older than that hashing (the read cache's
    /// racy-clean rule), is not read again.
    pub(crate) fn file_hashes(&self) -> Result<Vec<(String, String)>, Error> {
        use std::os::unix::fs::MetadataExt as _;
        let mut known = self
            .write
            .hashes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for path in self.tracked_paths()? {
            let full: PathBuf = self.root.join(&path);
            let meta = match std::fs::metadata(&full) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(full, e)),
            };
            let print = (
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ctime(),
                meta.ctime_nsec(),
                meta.ino(),
                meta.dev(),
            );
            seen.insert(path.clone());
            if let Some((p, trusted, hash)) = known.get(&path)
                && *p == print
                && *trusted
            {
                out.push((path, hash.clone()));
                continue;
            }
            let read_at = std::time::SystemTime::now();
            let bytes = match std::fs::read(&full) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(full, e)),
            };
            let hash = hash_hex(&bytes);
            let trusted = meta
                .modified()
                .ok()
                .and_then(|m| m.checked_add(super::RACY_WINDOW))
                .is_some_and(|limit| limit <= read_at);
            known.insert(path.clone(), (print, trusted, hash.clone()));
            out.push((path, hash));
        }
        known.retain(|p, _| seen.contains(p));
        Ok(out)
    }

    pub(crate) fn pending(
        &self,
        time: jiff::Timestamp,
        operation: Operation,
        path: &str,
        before: Option<String>,
        after: Option<String>,
    ) -> Pending {
        Pending {
            time,
            actor: self.write.actor.clone(),
            operation,
            path: path.to_owned(),
            before,
            after,
            redo: None,
        }
    }
}
