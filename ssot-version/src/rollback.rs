//! Rollback: making the tracked files exactly those of a version, all or nothing.
//!
//! # The protocol
//!
//! A rollback is a plan handed to the store's one journal (the `journal` module; the
//! protocol, its fsync rounds and recovery are described in the `write` module, since
//! [`write`](VersionStore::write) exposes the same mechanism):
//!
//! 1. **Check.** Resolve the target, load and validate its manifest (unsafe paths are
//!    refused here), scan the tree. If the tree drifted from the newest version, the
//!    drift is first recorded as an ordinary snapshot, so a rollback never loses work
//!    and can itself be undone.
//! 2. **Plan.** Deletions: tracked files the target lacks. Restores: target files whose
//!    content or executable bit differ. Every restore path is checked on disk: no
//!    ancestor may be a symbolic link (that could lead outside the root) and nothing
//!    untracked may be in the way. Each journaled path records its current state
//!    (`before`), for recovery.
//! 3. **Stage and commit.** Every object to restore is read from its pack, re-hashed (a
//!    corrupt or missing object fails the rollback here, with the tree untouched) and
//!    written to `staging/`; the journal (the plan and the new version's manifest) is
//!    written in place with a checksum, and one concurrent round of fsyncs (batches of
//!    256 staged files before it) makes all of it durable: that round is the commit.
//!    Every restored byte already has a durable copy in a pack, so a staged file torn
//!    by a crash is rewritten from its object, and a torn journal (which fails its
//!    checksum) means nothing was applied.
//! 4. **Apply.** Deletions, then each staged file renamed into place (concurrently);
//!    directories left empty removed; the manifest renamed into `versions/` and `HEAD`
//!    moved; one round fsyncs every touched directory, `versions/` and the store
//!    directory; then the journal is removed (one more round).
//!
//! A crash before the commit leaves the tree untouched: the next lock empties
//! `staging/`. A crash after it leaves a journal; whoever next locks the store
//! (opening it is enough) first looks for edits made since the crash (below), then
//! re-runs step 4, which is idempotent: a staged file already renamed is found in
//! place and checked against its hash, or rewritten from its object; a deletion
//! already done is skipped. So after any crash the tree equals either the version it
//! had or the target, never a mix, and `HEAD` names the version it equals. We roll
//! forward rather than back because after the commit point everything the target
//! needs is durable in the packs.
//!
//! # Edits made between the crash and the recovery
//!
//! Someone may change a file after the crash and before the store is next opened.
//! Re-running step 4 blindly would overwrite or delete that change without a trace.
//! So recovery first compares every journaled path (each restore and each deletion)
//! with the two states it may legitimately be in: its `before` state and its target
//! content (or no file, for a deletion). A path in neither state was edited. If any
//! was, the tree is recorded as an ordinary snapshot (as step 1 records drift),
//! including edited paths the globs now skip, and the journal is rewritten
//! (temporary file, fsync, rename, directory fsync) so that the edits are the
//! `before` states and the rollback's version names that snapshot as its parent;
//! then step 4 runs. A crash in between is harmless: before the rename the old
//! journal still stands and the edits are found again; after it, none is found. We
//! record rather than refuse because every operation, opening included, finishes a
//! pending rollback first: a refusal would make the store unusable until someone
//! moved the files away by hand.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::journal::{self, Delete, Journal, Kind, Put, State};
use crate::manifest::{self, FileEntry, Version};
use crate::pack::PackSet;
use crate::stat;
use crate::store::VersionStore;

impl VersionStore {
    /// Makes the tracked files under the root exactly those of version `spec`
    /// (restoring changed and missing files, deleting files the version lacks, leaving
    /// excluded files alone) and records the result as a new, newest version whose
    /// [`restored_from`](Version::restored_from) is the target. Uncommitted changes
    /// are first recorded as a snapshot, so nothing is lost.
    ///
    /// All or nothing: see the module documentation of `rollback.rs` (summarized in
    /// the [crate documentation](crate#crash-safety)) for the journal protocol.
    ///
    /// # Errors
    /// Resolution errors as [`resolve`](Self::resolve); [`Error::UnsafePath`] for a
    /// crafted manifest or a symbolic link on the way; [`Error::Blocked`] if untracked
    /// files are in the way; [`Error::NotWritable`] if a directory it changes is not
    /// writable by this process; [`Error::CorruptObject`] or [`Error::MissingObject`] if
    /// the store is damaged. All of these are detected before the tree is touched.
    pub fn rollback(&self, spec: &str) -> Result<Version> {
        self.locked(|inner| {
            let target_id = self.resolve_locked(spec)?;
            let target = self.load_version(inner, &target_id)?;
            for f in target.files() {
                if !inner.packs.contains(&f.hash) {
                    return Err(Error::MissingObject {
                        hash: f.hash,
                        path: f.path.clone(),
                        version: target_id.clone(),
                    });
                }
            }

            let stamp = stat::fs_now(&self.dirs.store)?;
            let mut current = self.scan(inner, "", None, stamp)?;
            let head = match self.read_head()? {
                Some(id) => Some(self.load_version(inner, &id)?),
                None => None,
            };
            let drifted = head
                .as_ref()
                .is_none_or(|h| !manifest::same_files(h.files(), &current));
            let parent = if drifted {
                let saved = self.snapshot_locked(
                    inner,
                    &format!(
                        "uncommitted changes before rollback to {}",
                        target_id.short()
                    ),
                )?;
                current = saved.files().to_vec();
                saved.id
            } else {
                head.map(|h| h.id).ok_or_else(|| Error::NoVersions {
                    store: self.dirs.store.clone(),
                })?
            };

            // Plan.
            let wanted: HashMap<&str, &FileEntry> = target
                .files()
                .iter()
                .map(|f| (f.path.as_str(), f))
                .collect();
            let have: HashMap<&str, &FileEntry> =
                current.iter().map(|f| (f.path.as_str(), f)).collect();
            let deletes: Vec<String> = current
                .iter()
                .filter(|f| !wanted.contains_key(f.path.as_str()))
                .map(|f| f.path.clone())
                .collect();
            let delete_set: HashSet<&str> = deletes.iter().map(String::as_str).collect();
            let changed: Vec<&FileEntry> = target
                .files()
                .iter()
                .filter(|f| {
                    have.get(f.path.as_str())
                        .is_none_or(|h| h.hash != f.hash || h.executable != f.executable)
                })
                .collect();
            let tracked = |p: &str| have.contains_key(p);
            for f in &changed {
                self.check_put_path(&f.path, &tracked, &delete_set, Some(&target_id))?;
            }

            let state = |f: &FileEntry| State {
                hash: f.hash,
                size: f.size,
                executable: f.executable,
            };
            let puts: Vec<Put> = changed
                .iter()
                .enumerate()
                .map(|(i, f)| Put {
                    path: f.path.clone(),
                    before: have.get(f.path.as_str()).map(|h| state(h)),
                    hash: f.hash,
                    size: f.size,
                    executable: f.executable,
                    staged: i.to_string(),
                    inline: None,
                })
                .collect();
            let deletes: Vec<Delete> = deletes
                .into_iter()
                .map(|path| Delete {
                    before: have.get(path.as_str()).map(|h| state(h)),
                    path,
                })
                .collect();
            let description = format!("rollback to {}", target_id.short());
            let (new_id, manifest) = manifest::encode(
                Some(&parent),
                &description,
                (self.clock)(),
                Some(&target_id),
                target.files(),
            )?;
            let journal = Journal {
                format: journal::FORMAT,
                kind: Kind::Rollback,
                version: Some(new_id.to_string()),
                manifest: Some(manifest),
                pack: None,
                deletes,
                puts,
                note: None,
            };
            // Every object was checked present above; each is read (and re-hashed: a
            // corrupt one fails here, with the tree untouched) as it is staged.
            let content = |packs: &PackSet, put: &Put| -> Result<Cow<'static, [u8]>> {
                packs
                    .read(&put.hash)?
                    .map(Cow::Owned)
                    .ok_or_else(|| Error::MissingObject {
                        hash: put.hash,
                        path: put.path.clone(),
                        version: target_id.clone(),
                    })
            };
            let version = self.run_journal(inner, journal, &content, None, None)?;
            // The journal above records a version; `run_journal` returns it.
            version.ok_or_else(|| Error::CorruptStore {
                path: self.dirs.journal.clone(),
                reason: "the rollback's journal recorded no version".into(),
            })
        })
    }
}
