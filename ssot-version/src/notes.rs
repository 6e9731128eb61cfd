//! Kept notes: the [`WriteSet::note`](crate::WriteSet::note) of a write that recovery
//! finished without a recovery hook.
//!
//! A write's note is its caller's record of the write (an audit log's records, say),
//! handed to [`on_recover`](crate::VersionStoreBuilder::on_recover) when recovery
//! finishes the write after a crash. A program that opens the store *without* that
//! hook (a tool, a script using this crate directly) still finishes the write, as it
//! must: the files are committed. Dropping the note with the journal would lose the
//! caller's record for good. So recovery without a hook keeps a non-empty note in
//! `.ssot/versions/notes/<n>` (`n` counting up; written durably before the journal
//! is removed), and the next operation of a store opened *with* a hook gives it the
//! kept notes first, oldest first, each through the hook, then deletes it. A hook
//! must be idempotent anyway (recovery can run twice); a note delivered and not yet
//! deleted when a crash comes is delivered again.
//!
//! Cost: one `lstat` of `notes/` per operation of a store with a hook (the directory
//! exists only while notes are kept).

use std::fs;
use std::io;

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::{Error, Result, io_err};
use crate::id::{ObjectHash, VersionId};
use crate::journal::Hex;
use crate::store::{Inner, VersionStore};
use crate::write::Written;

/// A kept note: what recovery would have handed the hook.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    version: Option<String>,
    files: Vec<(String, Option<ObjectHash>)>,
    note: Hex,
}

impl VersionStore {
    /// Keeps `written`'s note in `notes/` (see the module docs), durably.
    pub(crate) fn keep_note(&self, written: &Written) -> Result<()> {
        let dir = &self.dirs.notes;
        match fs::create_dir(dir) {
            Ok(()) => durable::sync_dir(&self.dirs.store)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create", dir)(e)),
        }
        self.check_notes_dir()?;
        let next = self.kept_notes()?.last().map_or(1, |(n, _)| n + 1);
        let kept = Kept {
            version: written.version.as_ref().map(|v| v.id().to_string()),
            files: written.files.clone(),
            note: Hex(written.note.clone()),
        };
        let bytes = serde_json::to_vec(&kept).map_err(|e| Error::CorruptStore {
            path: dir.clone(),
            reason: format!("cannot encode a kept note: {e}"),
        })?;
        durable::write_atomic(
            &self.dirs.tmp,
            &dir.join(next.to_string()),
            &bytes,
            None,
            true,
        )?;
        durable::sync_dir(dir)
    }

    /// The kept notes, by number, oldest first. Names that are not numbers are not
    /// notes (left alone).
    fn kept_notes(&self) -> Result<Vec<(u64, std::path::PathBuf)>> {
        let dir = &self.dirs.notes;
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", dir)(e)),
        };
        let mut notes = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("read", dir))?;
            if let Some(n) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u64>().ok())
            {
                notes.push((n, entry.path()));
            }
        }
        notes.sort_unstable();
        Ok(notes)
    }

    /// Whether `notes/` exists; an error if it is not a real directory (a link
    /// could make the store write or read outside the root).
    fn check_notes_dir(&self) -> Result<bool> {
        match fs::symlink_metadata(&self.dirs.notes) {
            Ok(m) if m.is_dir() => Ok(true),
            Ok(_) => Err(Error::UnsafePath {
                path: self.dirs.notes.display().to_string(),
                version: None,
                reason: "the store's own notes directory is a symbolic link or a file; remove it if you did not put it there".into(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("stat", &self.dirs.notes)(e)),
        }
    }

    /// Gives the recovery hook every kept note, oldest first, deleting each once the
    /// hook accepted it, and `notes/` once empty. Called under the lock. A hook that
    /// fails stops the delivery with [`Error::Finish`] (the note stays).
    pub(crate) fn deliver_notes(&self, inner: &mut Inner) -> Result<()> {
        let Some(hook) = self.recover_hook.clone() else {
            return Ok(());
        };
        if !self.check_notes_dir()? {
            return Ok(());
        }
        for (_, path) in self.kept_notes()? {
            let bytes = fs::read(&path).map_err(io_err("read", &path))?;
            let kept: Kept = serde_json::from_slice(&bytes).map_err(|e| Error::CorruptStore {
                path: path.clone(),
                reason: format!(
                    "not a kept note ({e}); move it away to go on (its caller's records are then lost)"
                ),
            })?;
            // The version may have been pruned since: the hook then gets none.
            let id = kept
                .version
                .as_deref()
                .map(str::parse::<VersionId>)
                .transpose()?;
            let version = match &id {
                Some(id) if self.dirs.manifest(id).exists() => Some(self.load_version(inner, id)?),
                _ => None,
            };
            let written = Written {
                version,
                note: kept.note.0,
                files: kept.files,
            };
            hook(&written).map_err(|source| Error::Finish {
                journal: None,
                source,
            })?;
            crate::fault::point("notes: delivered");
            fs::remove_file(&path).map_err(io_err("remove", &path))?;
            durable::sync_dir(&self.dirs.notes)?;
        }
        match fs::remove_dir(&self.dirs.notes) {
            Ok(()) => durable::sync_dir(&self.dirs.store),
            // Something else is in it (not a note): leave it.
            Err(_) => Ok(()),
        }
    }
}
