//! Rollback: making the tracked files exactly those of a version, all or nothing.
//!
//! # The protocol
//!
//! 1. **Check.** Resolve the target, load and validate its manifest (unsafe paths are
//!    refused here), scan the tree. If the tree drifted from the newest version, the
//!    drift is first recorded as an ordinary snapshot, so a rollback never loses work
//!    and can itself be undone.
//! 2. **Plan.** Deletions: tracked files the target lacks. Restores: target files whose
//!    content or executable bit differ. Every restore path is checked on disk: no
//!    ancestor may be a symbolic link (that could lead outside the root) and nothing
//!    untracked may be in the way.
//! 3. **Stage.** Every object to restore is read from its pack, re-hashed (a corrupt or
//!    missing object fails the rollback here, with the tree untouched) and written to
//!    `staging/` with its permissions; the journal (the plan and the bytes of the new
//!    version's manifest) is written to a temporary file; all of them are fsynced
//!    concurrently, in batches of 256 files.
//! 4. **Commit.** The journal is renamed to `journal` and the store directory fsynced.
//!    This rename is the commit point.
//! 5. **Apply.** Deletions, then each staged file is renamed into place (one atomic
//!    rename per file, concurrently); directories left empty by deletions are removed;
//!    every touched directory is fsynced, together with the new manifest and `HEAD`
//!    written to temporary files.
//! 6. **Record.** The manifest is renamed into place and its directory fsynced, then
//!    `HEAD` is renamed (and the store directory fsynced), then the journal is removed
//!    (and the store directory fsynced again).
//!
//! A crash before step 4 leaves the tree untouched: the next lock empties `staging/`.
//! A crash after it leaves a journal; whoever next locks the store (opening it is
//! enough) first looks for edits made since the crash (below), then re-runs steps 5
//! and 6, which are idempotent: a staged file already renamed
//! is found in place and checked against its hash, or rewritten from its object (as is
//! a staged file whose directory entry a crash lost, which is why `staging/` needs no
//! fsync of its own); a deletion already done is skipped. So after any crash the tree
//! equals either the version it had or the target, never a mix, and `HEAD` names the
//! version it equals. We roll forward rather than back because after the commit point
//! everything the target needs is durable in `staging/` and the packs.
//!
//! # Edits made between the crash and the recovery
//!
//! Someone may change a file after the crash and before the store is next opened.
//! Re-running step 5 blindly would overwrite or delete that change without a trace.
//! So recovery first compares every journaled path (each restore and each deletion)
//! with the two states it may legitimately be in: its content in the version the
//! rollback started from (the parent recorded in the journal's manifest) and its
//! target content (or no file, for a deletion). A path in neither state was edited.
//! If any was, the tree is recorded as an ordinary snapshot (as step 1 records
//! drift), including edited paths the globs now skip, and the journal is rewritten
//! (temporary file, fsync, rename, directory fsync) so that the rollback's version
//! names that snapshot as its parent; then steps 5 and 6 run. A crash in between is
//! harmless: before the rename the old journal still stands and the edits are found
//! again; after it, the snapshot is the parent, the edits are its content and none is
//! found. We record rather than refuse because every operation, opening included,
//! finishes a pending rollback first: a refusal would make the store unusable until
//! someone moved the files away by hand.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::{Error, Result, io_err, to_json};
use crate::fault;
use crate::id::{ObjectHash, VersionId};
use crate::manifest::{self, FileEntry, Version};
use crate::parallel;
use crate::stat;
use crate::store::{Inner, VersionStore, decode_error};
use crate::walk;

/// How many staged files are written (and held open) before they are fsynced.
const STAGE_BATCH: usize = 256;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    format: u32,
    version: String,
    manifest: String,
    deletes: Vec<String>,
    puts: Vec<Put>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Put {
    path: String,
    staged: String,
    hash: ObjectHash,
    size: u64,
    executable: bool,
}

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
    /// files are in the way; [`Error::CorruptObject`] or [`Error::MissingObject`] if
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
            for f in &changed {
                self.check_restore_path(&f.path, &have, &delete_set, &target_id)?;
            }

            // The journal is written first (not yet durable) so that its fsync can join
            // the staged files' last round.
            let puts: Vec<Put> = changed
                .iter()
                .enumerate()
                .map(|(i, f)| Put {
                    path: f.path.clone(),
                    staged: i.to_string(),
                    hash: f.hash,
                    size: f.size,
                    executable: f.executable,
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
                format: manifest::FORMAT,
                version: new_id.to_string(),
                manifest,
                deletes,
                puts,
            };
            let journal_bytes = to_json(&journal, "the rollback journal")?;
            let journal_tmp = durable::temp_file(&self.dirs.tmp, &journal_bytes)?;

            // Stage. Files are written in batches and each batch is fsynced through the
            // handles just written, concurrently: journaling file systems commit
            // concurrent fsyncs together, so a batch costs about one commit rather
            // than one per file. Batches bound the open descriptors. The staging
            // directory itself is not fsynced: if a staged file's entry is lost in a
            // crash, recovery restores that file from its object instead.
            // Each batch is fsynced before the next is written, and the last one
            // together with the journal: the journal's fsync is never a separate
            // round, and never skipped.
            let sync_round = |files: &[(&fs::File, &Path)]| {
                parallel::parallel(
                    files,
                    parallel::io_threads(files.len(), 64),
                    |(file, path)| file.sync_all().map_err(io_err("fsync", *path)),
                )
                .map(drop)
            };
            let mut pending: Vec<(fs::File, PathBuf)> = Vec::new();
            for batch in journal.puts.chunks(STAGE_BATCH) {
                let files: Vec<(&fs::File, &Path)> =
                    pending.iter().map(|(f, p)| (f, p.as_path())).collect();
                sync_round(&files)?;
                drop(files);
                pending.clear();
                // Creating files is mostly kernel time (inode allocation): spread it.
                let packs = &inner.packs;
                pending = parallel::parallel(batch, parallel::cpu_threads(), |put| {
                    let bytes = packs.read(&put.hash)?.ok_or_else(|| Error::MissingObject {
                        hash: put.hash,
                        path: put.path.clone(),
                        version: target_id.clone(),
                    })?;
                    let path = self.dirs.staging.join(&put.staged);
                    let file = write_file(&path, &bytes, put.executable)?;
                    fault::point("rollback: staged a file");
                    Ok((file, path))
                })?;
            }
            let mut files: Vec<(&fs::File, &Path)> =
                pending.iter().map(|(f, p)| (f, p.as_path())).collect();
            files.push((journal_tmp.as_file(), journal_tmp.path()));
            sync_round(&files)?;
            drop(files);
            drop(pending);
            fault::point("rollback: staging synced");

            // Commit.
            durable::persist(journal_tmp, &self.dirs.journal)?;
            durable::sync_dir(&self.dirs.store)?;
            fault::point("rollback: journal committed");

            self.apply(inner, &journal)
        })
    }

    /// Finishes the rollback whose journal is present.
    pub(crate) fn recover(&self, inner: &mut Inner) -> Result<()> {
        let bytes = fs::read(&self.dirs.journal).map_err(io_err("read", &self.dirs.journal))?;
        let corrupt = |reason: String| Error::CorruptStore {
            path: self.dirs.journal.clone(),
            reason: format!(
                "{reason}; the interrupted rollback cannot be finished (restore the store from a backup, or remove the journal and check the tree with `status()`)"
            ),
        };
        let journal: Journal =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not a journal: {e}")))?;
        if journal.format != manifest::FORMAT {
            return Err(corrupt(format!(
                "journal format {} is not supported",
                journal.format
            )));
        }
        for path in journal
            .deletes
            .iter()
            .chain(journal.puts.iter().map(|p| &p.path))
        {
            manifest::check_rel_path(path).map_err(|reason| Error::UnsafePath {
                path: path.clone(),
                version: None,
                reason: format!("{reason} (in the rollback journal)"),
            })?;
        }
        if journal
            .puts
            .iter()
            .any(|p| p.staged.is_empty() || !p.staged.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(corrupt("a staged file name is not a number".into()));
        }
        let journal = self.keep_later_edits(inner, journal)?;
        self.apply(inner, &journal).map(|_| ())
    }

    /// Before recovery re-applies a journal, records every journaled path whose
    /// content is neither what it held before the rollback nor what the rollback puts
    /// there: someone changed it between the crash and this open. Such edits are
    /// recorded as an ordinary snapshot of the tree (as a rollback records drift
    /// before it starts), and the journal is rewritten, atomically, so that the
    /// rollback's version names that snapshot as its parent. The edit then survives
    /// in history, one step before the rollback, and can be restored from there.
    ///
    /// Why record rather than refuse: every operation, opening included, finishes a
    /// pending rollback first, so a refusal would leave the store unusable until
    /// someone moved the edited files away by hand, which is the same loss with more
    /// steps. Recording keeps the store's promise (after any crash the tree equals one
    /// version) and loses nothing.
    ///
    /// Cost: one `lstat` per journaled path and a read and hash of each that is a
    /// regular file; a snapshot only when something was edited.
    fn keep_later_edits(&self, inner: &mut Inner, journal: Journal) -> Result<Journal> {
        let (_, version) = self.journal_version(&journal)?;
        let Some(before_id) = version.parent() else {
            return Err(Error::CorruptStore {
                path: self.dirs.journal.clone(),
                reason: "the journal's version has no parent, so edits made since the crash cannot be told apart; restore the store from a backup, or copy the tree away, remove the journal and check the tree with `status()`".into(),
            });
        };
        let before = match self.load_version(inner, before_id) {
            Ok(v) => v,
            Err(Error::UnknownVersion { .. }) => {
                return Err(Error::CorruptStore {
                    path: self.dirs.manifest(before_id),
                    reason: format!(
                        "the version before the interrupted rollback, {before_id}, is missing, so edits made since the crash cannot be told apart; restore the store from a backup, or copy the tree away, remove `{}` and check the tree with `status()`",
                        self.dirs.journal.display()
                    ),
                });
            }
            Err(e) => return Err(e),
        };
        let expected = journal
            .deletes
            .iter()
            .map(|rel| (rel.as_str(), None))
            .chain(
                journal
                    .puts
                    .iter()
                    .map(|p| (p.path.as_str(), Some((p.hash, p.size, p.executable)))),
            );
        let mut edited = Vec::new();
        for (rel, target) in expected {
            let old = before.file(rel).map(|f| (f.hash, f.size, f.executable));
            if self.holds_neither(rel, old, target)? {
                edited.push(rel.to_owned());
            }
        }
        if edited.is_empty() {
            return Ok(journal);
        }

        // Record the tree as found, with every edited path in it even if the globs
        // given to this open skip it.
        let description = format!(
            "changes found when finishing an interrupted rollback to {}",
            version.restored_from().map_or("?", VersionId::short)
        );
        let kept = self.snapshot_locked_with(inner, &description, &edited)?;
        fault::point("recovery: edits recorded");

        let (new_id, manifest) = manifest::encode(
            Some(kept.id()),
            version.description(),
            version.created(),
            version.restored_from(),
            version.files(),
        )?;
        let rewritten = Journal {
            format: journal.format,
            version: new_id.to_string(),
            manifest,
            deletes: journal.deletes,
            puts: journal.puts,
        };
        let bytes = to_json(&rewritten, "the rollback journal")?;
        let tmp = durable::temp_file(&self.dirs.tmp, &bytes)?;
        tmp.as_file()
            .sync_all()
            .map_err(io_err("fsync", tmp.path()))?;
        durable::persist(tmp, &self.dirs.journal)?;
        durable::sync_dir(&self.dirs.store)?;
        fault::point("recovery: journal rewritten");
        Ok(rewritten)
    }

    /// Whether the file at `rel` is neither in state `a` nor in state `b` (each
    /// `None` for no file, or hash, size and executable bit). Something that is not
    /// a regular file (a directory, a link, a FIFO) counts as no file: the store does
    /// not track it and neither state can be it. A path through a symbolic link is
    /// not read (it may lead outside the root) and counts as unchanged: `apply`
    /// refuses or skips it.
    fn holds_neither(
        &self,
        rel: &str,
        a: Option<(ObjectHash, u64, bool)>,
        b: Option<(ObjectHash, u64, bool)>,
    ) -> Result<bool> {
        if self.has_symlink_ancestor(rel)? {
            return Ok(false);
        }
        let path = walk::under(&self.root, rel);
        let now = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => match fs::read(&path) {
                Ok(bytes) => Some((
                    ObjectHash::of(&bytes),
                    bytes.len() as u64,
                    stat::is_executable(&m),
                )),
                // Deleted since the `lstat`: no file.
                Err(e) if is_absent(&e) => None,
                Err(e) => return Err(io_err("read", &path)(e)),
            },
            Ok(_) => None,
            Err(e) if is_absent(&e) => None,
            Err(e) => return Err(io_err("stat", &path)(e)),
        };
        Ok(now != a && now != b)
    }

    /// The version a journal records, parsed and checked.
    fn journal_version(&self, journal: &Journal) -> Result<(VersionId, Version)> {
        let id: VersionId = journal.version.parse().map_err(|_| Error::CorruptStore {
            path: self.dirs.journal.clone(),
            reason: format!("`{}` is not a version id", journal.version),
        })?;
        let version = manifest::decode(&id, journal.manifest.as_bytes())
            .map_err(|e| decode_error(e, &self.dirs.journal, &id))?;
        Ok((id, version))
    }

    /// Steps 5 and 6 of the protocol; idempotent.
    fn apply(&self, inner: &mut Inner, journal: &Journal) -> Result<Version> {
        let (id, version) = self.journal_version(journal)?;
        let mut touched: BTreeSet<PathBuf> = BTreeSet::new();

        for rel in &journal.deletes {
            let path = walk::under(&self.root, rel);
            if self.has_symlink_ancestor(rel)? {
                // The path now leads through a link (it cannot have when the rollback was
                // planned): whatever is there is not ours to delete.
                continue;
            }
            match fs::symlink_metadata(&path) {
                Ok(m) if !m.is_dir() => {
                    fs::remove_file(&path).map_err(io_err("remove", &path))?;
                    inner.stat.forget(rel);
                    fault::point("rollback: deleted a file");
                }
                Ok(_) => {}
                // Gone, or an ancestor is now a file (a directory replaced by a file
                // before a crash, on recovery): either way there is nothing to delete.
                Err(e) if is_absent(&e) => {}
                Err(e) => return Err(io_err("stat", &path)(e)),
            }
            if let Some(parent) = path.parent() {
                touched.insert(parent.to_owned());
            }
        }
        // Remove directories the deletions left empty, deepest first.
        let mut dirs: Vec<&str> = journal
            .deletes
            .iter()
            .flat_map(|rel| rel.match_indices('/').map(move |(i, _)| &rel[..i]))
            .collect();
        dirs.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        dirs.dedup();
        for rel in dirs {
            let path = walk::under(&self.root, rel);
            // On recovery a directory may have been replaced by a link since the plan:
            // never remove anything reached through one (it may be outside the root).
            if !self.has_symlink_ancestor(&format!("{rel}/"))?
                && fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
                && fs::remove_dir(&path).is_ok()
                && let Some(parent) = path.parent()
            {
                touched.insert(parent.to_owned());
            }
        }

        for put in &journal.puts {
            let dest = walk::under(&self.root, &put.path);
            self.make_parents(&put.path, &mut touched)?;
            if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) {
                fs::remove_dir(&dest).map_err(|_| Error::Blocked {
                    path: put.path.clone(),
                    reason: "a directory holding untracked files is in the way".into(),
                })?;
            }
            if let Some(parent) = dest.parent() {
                touched.insert(parent.to_owned());
            }
        }
        // The renames are independent once the directories exist; rename latency is
        // mostly waiting on the file system's journal, so they run concurrently.
        let packs = &inner.packs;
        parallel::parallel(
            &journal.puts,
            parallel::io_threads(journal.puts.len(), 16),
            |put| {
                let dest = walk::under(&self.root, &put.path);
                let staged = self.dirs.staging.join(&put.staged);
                // Checked again right before the rename (the directories were checked
                // when created, possibly long before): a directory swapped for a link
                // since then would make the rename write outside the root. Without
                // `renameat` on an open directory this narrows the window to one
                // system call; it cannot close it against a concurrent attacker.
                if self.has_symlink_ancestor(&put.path)? {
                    return Err(Error::UnsafePath {
                        path: put.path.clone(),
                        version: Some(id.clone()),
                        reason: "a directory on the way became a symbolic link during the rollback; remove the link and open the store again to finish it".into(),
                    });
                }
                match fs::rename(&staged, &dest) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound && !staged.exists() => {
                        // Renamed before a crash: check what is there, rewrite it if needed.
                        if !file_matches(&dest, put.hash, put.executable) {
                            let bytes =
                                packs.read(&put.hash)?.ok_or_else(|| Error::MissingObject {
                                    hash: put.hash,
                                    path: put.path.clone(),
                                    version: id.clone(),
                                })?;
                            let tmp = self.dirs.tmp.join(format!("restore-{}", put.staged));
                            write_durable(&tmp, &bytes, put.executable)?;
                            fs::rename(&tmp, &dest).map_err(io_err("rename into place", &dest))?;
                        }
                    }
                    Err(e) => return Err(io_err("rename into place", &dest)(e)),
                }
                fault::point("rollback: restored a file");
                Ok(())
            },
        )?;
        for put in &journal.puts {
            inner.stat.forget(&put.path);
        }
        // One round: the touched directories, and the new manifest and `HEAD` written
        // to temporary files. Then the manifest is renamed and its directory synced
        // before `HEAD` moves.
        let manifest_tmp = durable::temp_file(&self.dirs.tmp, journal.manifest.as_bytes())?;
        let head_tmp = durable::temp_file(&self.dirs.tmp, format!("{id}\n").as_bytes())?;
        let mut round: Vec<&Path> = touched
            .iter()
            .map(PathBuf::as_path)
            .filter(|d| d.exists())
            .collect();
        round.push(manifest_tmp.path());
        round.push(head_tmp.path());
        durable::sync_paths(&round)?;
        fault::point("rollback: tree synced");

        durable::persist(manifest_tmp, &self.dirs.manifest(&id))?;
        durable::sync_dir(&self.dirs.versions)?;
        fault::point("rollback: manifest written");
        durable::persist(head_tmp, &self.dirs.head)?;
        durable::sync_dir(&self.dirs.store)?;
        fault::point("rollback: head moved");
        fs::remove_file(&self.dirs.journal).map_err(io_err("remove", &self.dirs.journal))?;
        durable::sync_dir(&self.dirs.store)?;
        fault::point("rollback: journal removed");
        crate::store::empty_dir(&self.dirs.staging)?;
        inner.manifests.insert(id, version.clone());
        inner.stat.save(&self.dirs.statcache, &self.dirs.tmp)?;
        Ok(version)
    }

    /// Refuses a restore path that leads through a symbolic link or onto something
    /// untracked. Runs before the tree is touched.
    fn check_restore_path(
        &self,
        rel: &str,
        tracked: &HashMap<&str, &FileEntry>,
        deletes: &HashSet<&str>,
        version: &VersionId,
    ) -> Result<()> {
        let mut end = 0;
        loop {
            let next = rel[end..].find('/').map(|i| end + i);
            let prefix = &rel[..next.unwrap_or(rel.len())];
            let is_last = next.is_none();
            let path = walk::under(&self.root, prefix);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_err("stat", &path)(e)),
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::UnsafePath {
                        path: rel.to_owned(),
                        version: Some(version.clone()),
                        reason: if is_last {
                            "a symbolic link is at this path; restoring would replace it (move it away first)".into()
                        } else {
                            format!(
                                "`{prefix}` is a symbolic link; restoring through it could write outside the root"
                            )
                        },
                    });
                }
                Ok(m) if m.is_dir() => {
                    if is_last && !self.empties_with(prefix, deletes)? {
                        return Err(Error::Blocked {
                            path: rel.to_owned(),
                            reason: "a directory holding untracked (excluded) files is in the way; move it away first".into(),
                        });
                    }
                }
                Ok(_) => {
                    if is_last && !tracked.contains_key(prefix) {
                        // Excluded by the globs (or otherwise not scanned): not ours to
                        // overwrite.
                        return Err(Error::Blocked {
                            path: rel.to_owned(),
                            reason: "a file the store does not track (excluded by the globs) is at this path; move it away first".into(),
                        });
                    }
                    if !is_last && !deletes.contains(prefix) {
                        return Err(Error::Blocked {
                            path: rel.to_owned(),
                            reason: format!(
                                "`{prefix}` is a file the store does not track; move it away first"
                            ),
                        });
                    }
                    if !is_last {
                        return Ok(());
                    }
                }
            }
            match next {
                Some(i) => end = i + 1,
                None => return Ok(()),
            }
        }
    }

    /// Whether the directory at `rel` holds only files that are about to be deleted.
    fn empties_with(&self, rel: &str, deletes: &HashSet<&str>) -> Result<bool> {
        let dir = walk::under(&self.root, rel);
        for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
            let entry = entry.map_err(io_err("list", &dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Ok(false);
            };
            let child = format!("{rel}/{name}");
            let ty = entry.file_type().map_err(io_err("stat", entry.path()))?;
            let ok = if ty.is_dir() {
                self.empties_with(&child, deletes)?
            } else {
                deletes.contains(child.as_str())
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether a component of `rel` before its last `/` is a symbolic link. A missing
    /// component, or one that is a file, ends the path: nothing beyond it can be a link.
    pub(crate) fn has_symlink_ancestor(&self, rel: &str) -> Result<bool> {
        for (i, _) in rel.match_indices('/') {
            let path = walk::under(&self.root, &rel[..i]);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => return Ok(true),
                Ok(m) if !m.is_dir() => return Ok(false),
                Ok(_) => {}
                Err(e) if is_absent(&e) => return Ok(false),
                Err(e) => return Err(io_err("stat", &path)(e)),
            }
        }
        Ok(false)
    }

    /// Creates the missing directories above `rel`, never following a symbolic link.
    fn make_parents(&self, rel: &str, touched: &mut BTreeSet<PathBuf>) -> Result<()> {
        for (i, _) in rel.match_indices('/') {
            let prefix = &rel[..i];
            let path = walk::under(&self.root, prefix);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::UnsafePath {
                        path: rel.to_owned(),
                        version: None,
                        reason: format!(
                            "`{prefix}` is a symbolic link; restoring through it could write outside the root"
                        ),
                    });
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::Blocked {
                        path: rel.to_owned(),
                        reason: format!(
                            "`{prefix}` is a file where a directory must go; move it away first"
                        ),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&path).map_err(io_err("create directory", &path))?;
                    if let Some(parent) = path.parent() {
                        touched.insert(parent.to_owned());
                    }
                }
                Err(e) => return Err(io_err("stat", &path)(e)),
            }
        }
        Ok(())
    }
}

/// Whether a failed `lstat` means "nothing there": not found, or a component of the
/// path is a file (`ENOTDIR`).
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn write_file(path: &Path, bytes: &[u8], executable: bool) -> Result<fs::File> {
    use std::io::Write;
    let mut f = fs::File::create(path).map_err(io_err("create", path))?;
    f.write_all(bytes).map_err(io_err("write", path))?;
    stat::set_executable(&f, path, executable)?;
    Ok(f)
}

fn write_durable(path: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    write_file(path, bytes, executable)?
        .sync_all()
        .map_err(io_err("fsync", path))
}

fn file_matches(path: &Path, hash: ObjectHash, executable: bool) -> bool {
    // The type is checked before anything is opened: a link must not be followed and a
    // FIFO put there since the crash must not block the read forever.
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && stat::is_executable(&m) == executable => {
            fs::read(path).is_ok_and(|bytes| ObjectHash::of(&bytes) == hash)
        }
        _ => false,
    }
}
