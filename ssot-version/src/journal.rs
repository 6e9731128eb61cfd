//! The one journal: applying a set of file changes under the root all or nothing,
//! and finishing it after a crash. [`rollback`](VersionStore::rollback) and
//! [`write`](VersionStore::write) both plan a [`Journal`] and hand it to
//! [`VersionStore::run_journal`]; recovery (on the next lock) calls
//! [`VersionStore::recover`]. See the `write` module for the protocol, its cost and
//! the rule for edits made between a crash and the recovery.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tempfile::NamedTempFile;

use crate::durable;
use crate::error::{Error, Result, io_err, to_json};
use crate::fault;
use crate::id::{ObjectHash, VersionId};
use crate::manifest::{self, FileEntry, Version};
use crate::pack::{PackSet, PackWriter};
use crate::parallel;
use crate::stat;
use crate::store::{Inner, VersionStore, decode_error};
use crate::walk;
use crate::write::Written;

/// The journal format this build writes and reads. Format 1 (before writes shared
/// the journal) carried no per-path `before` state; such a journal is refused with a
/// message (the crate is unreleased, so none exists outside its own history).
pub(crate) const FORMAT: u32 = 2;

/// How many staged files are written (and held open) before they are fsynced.
const STAGE_BATCH: usize = 256;

/// What wrote a journal. It decides the path rules (a write also stays out of
/// `.ssot`), whether the recovery hook runs without a note, and how a recorded
/// version is rebuilt when edits made after a crash are recorded first.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Rollback,
    Write,
}

/// A file's state: content hash, size, executable bit.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct State {
    pub(crate) hash: ObjectHash,
    pub(crate) size: u64,
    pub(crate) executable: bool,
}

/// The journal: everything recovery needs to finish the change without the process
/// that started it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Journal {
    pub(crate) format: u32,
    pub(crate) kind: Kind,
    /// The id of the version recorded with the change, and its manifest text.
    pub(crate) version: Option<String>,
    pub(crate) manifest: Option<String>,
    /// A pack of new objects, renamed into `packs/` before the commit: a journal
    /// naming a pack that is not there was never committed (see `recover`).
    pub(crate) pack: Option<String>,
    pub(crate) deletes: Vec<Delete>,
    pub(crate) puts: Vec<Put>,
    /// The caller's opaque bytes ([`WriteSet::note`](crate::WriteSet::note)).
    pub(crate) note: Option<Hex>,
}

/// A file to delete.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Delete {
    pub(crate) path: String,
    /// The file's state when the change was planned (`None`: no file).
    pub(crate) before: Option<State>,
}

/// A file to put in place.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Put {
    pub(crate) path: String,
    pub(crate) before: Option<State>,
    pub(crate) hash: ObjectHash,
    pub(crate) size: u64,
    pub(crate) executable: bool,
    /// The staged file's name in `staging/` (a number).
    pub(crate) staged: String,
    /// The bytes themselves, for small writes that add no pack; otherwise the bytes
    /// are an object in a pack.
    pub(crate) inline: Option<Hex>,
}

impl Put {
    fn after(&self) -> State {
        State {
            hash: self.hash,
            size: self.size,
            executable: self.executable,
        }
    }
}

/// Bytes, serialized as lowercase hex (the journal is JSON, for a person reading a
/// damaged store; a JSON array of numbers would be larger still).
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct Hex(pub(crate) Vec<u8>);

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hex({} bytes)", self.0.len())
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(self.0.len() * 2);
        for b in &self.0 {
            text.push(char::from(DIGITS[usize::from(b >> 4)]));
            text.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let bytes = text.as_bytes();
        if bytes.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd number of hex digits"));
        }
        bytes
            .chunks_exact(2)
            .map(|pair| match (digit(pair[0]), digit(pair[1])) {
                (Some(hi), Some(lo)) => Ok((hi << 4) | lo),
                _ => Err(serde::de::Error::custom("not lowercase hex")),
            })
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map(Hex)
    }
}

/// The hook a caller runs after the files are in place and before the journal is
/// removed (`write_with`'s `finish`, or the store's recovery hook).
pub(crate) type Finish<'a> = &'a mut dyn FnMut(&Written) -> io::Result<()>;

/// Where the bytes of each put are read from while staging.
pub(crate) type Content<'a, 'c> = &'a (dyn Fn(&PackSet, &Put) -> Result<Cow<'c, [u8]>> + Sync);

impl Journal {
    /// What the finished change did, for the finish and recovery hooks.
    pub(crate) fn written(&self, version: Option<Version>) -> Written {
        let mut files: Vec<(String, Option<ObjectHash>)> = self
            .deletes
            .iter()
            .map(|d| (d.path.clone(), None))
            .chain(self.puts.iter().map(|p| (p.path.clone(), Some(p.hash))))
            .collect();
        files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Written {
            version,
            note: self.note.as_ref().map(|n| n.0.clone()).unwrap_or_default(),
            files,
        }
    }
}

impl VersionStore {
    /// Stages, commits and applies `journal` (whose puts are staged from `content`),
    /// then calls `finish` and removes the journal. `pack`, if any, holds the new
    /// objects the journal's puts or version need. Returns the version recorded with
    /// the change, if any. See the `write` module for the protocol and its rounds.
    pub(crate) fn run_journal<'c>(
        &self,
        inner: &mut Inner,
        mut journal: Journal,
        content: Content<'_, 'c>,
        pack: Option<PackWriter>,
        finish: Option<Finish<'_>>,
    ) -> Result<Option<Version>> {
        self.preflight(&journal, pack.is_some())?;
        let pack = match pack {
            Some(w) if !w.is_empty() => Some(w.seal()?),
            _ => None,
        };
        journal.pack = pack.as_ref().map(|(_, name)| name.clone());
        // A pack whose every object is also inline in the journal (or already stored)
        // can be rebuilt by recovery: it is renamed into place with the version, after
        // the commit. Otherwise the staged files and the pack are the only copies of
        // the new bytes, and must be durable before the journal is.
        let late_pack = pack.is_some() && self.journal_rebuilds_pack(inner, &journal);
        let journal_bytes = encode_journal(&journal)?;

        // Stage. Files are written in batches and each batch is fsynced through the
        // handles just written, concurrently: journaling file systems commit
        // concurrent fsyncs together, so a batch costs about one commit rather than
        // one per file. Batches bound the open descriptors. The staging directory
        // itself is not fsynced: if a staged file's entry is lost (or its bytes torn)
        // in a crash, recovery writes that file from its durable source (inline bytes
        // in the journal, or an object in a pack) instead, after checking the staged
        // file against its hash.
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
                let bytes = content(packs, put)?;
                let path = self.dirs.staging.join(&put.staged);
                let file = write_file(&path, &bytes, put.executable)?;
                fault::point("journal: staged a file");
                Ok((file, path))
            })?;
        }
        // With a version, its manifest and the new `HEAD` are written now too, so that
        // their fsyncs join this round rather than a round of their own in `apply`.
        let version = match self.journal_version(&journal)? {
            Some((id, _)) => Some(self.prepare_version(&journal, &id)?),
            None => None,
        };
        let mut files: Vec<(&fs::File, &Path)> =
            pending.iter().map(|(f, p)| (f, p.as_path())).collect();
        if let Some((manifest_tmp, head_tmp)) = &version {
            files.push((manifest_tmp.as_file(), manifest_tmp.path()));
            files.push((head_tmp.as_file(), head_tmp.path()));
        }
        if let Some((tmp, _)) = &pack {
            files.push((tmp.as_file(), tmp.path()));
        }
        let store_dir = open_dir(&self.dirs.store)?;
        let mut late = None;
        if pack.is_some() && !late_pack {
            // The bytes are durable (one round), then the pack is renamed into place
            // and the journal written; the next round commits both. A crash in it may
            // keep the journal and lose the pack's entry: recovery then finds the
            // pack missing and, since nothing was applied yet, drops the journal.
            sync_round(&files)?;
            drop(files);
            fault::point("journal: data synced");
            if let Some((tmp, name)) = pack {
                durable::persist(tmp, &self.dirs.packs.join(name))?;
            }
            fault::point("journal: pack renamed");
            let packs_dir = open_dir(&self.dirs.packs)?;
            let journal_file = self.create_journal(&journal_bytes)?;
            sync_round(&[
                (&journal_file, self.dirs.journal.as_path()),
                (&packs_dir, self.dirs.packs.as_path()),
                (&store_dir, self.dirs.store.as_path()),
            ])?;
        } else {
            // Every new byte is in the journal (or a pack already durable): the
            // journal is written in place beside the staged files and one round makes
            // all of it durable. That round is the commit. A crash in it can leave a
            // torn journal, which fails its checksum: recovery drops it, as nothing
            // was applied.
            let journal_file = self.create_journal(&journal_bytes)?;
            files.push((&journal_file, self.dirs.journal.as_path()));
            files.push((&store_dir, self.dirs.store.as_path()));
            sync_round(&files)?;
            drop(files);
            late = pack;
        }
        drop(pending);
        fault::point("journal: committed");
        inner.packs.refresh()?;

        let prepared = Prepared { version, late };
        self.apply(inner, &journal, Some(prepared), finish)
    }

    /// The pre-flight check, before anything is staged: every directory the apply
    /// step will change must be writable (and searchable) by this process, so that a
    /// change bound to fail on a read-only directory is refused before its commit
    /// point, with nothing written, rather than failing halfway through the renames
    /// and leaving the tree part new until a later recovery finishes it.
    ///
    /// The directories are: for each put, its parent, or the nearest existing
    /// ancestor if the parent is still to be created; for each delete of a file that
    /// exists, its parent; with a version or a pack, the store's `packs/`,
    /// `versions/` and the store directory. Each is checked once with
    /// `faccessat(W_OK | X_OK, AT_EACCESS)`: one system call per distinct directory,
    /// no write. The kernel's answer covers the mode bits, ACLs, a read-only mount
    /// and an immutable flag, with the process's effective credentials (as root the
    /// mode bits do not refuse, just as they would not refuse the rename).
    ///
    /// What it cannot guarantee: a permission changed between the check and the
    /// apply, a full disk, or a sticky directory (such as `/tmp`) holding a target
    /// owned by another user. Such a change still fails after its commit point; the
    /// journal stays and the next lock of the store, once the cause is fixed,
    /// finishes the change (all or nothing is restored then, not at the failure).
    fn preflight(&self, journal: &Journal, store_dirs: bool) -> Result<()> {
        use rustix::fs::{Access, AtFlags, CWD, accessat};
        let mut dirs: BTreeSet<(PathBuf, &str)> = BTreeSet::new();
        let mut seen: HashSet<PathBuf> = HashSet::new();
        let targets = journal
            .puts
            .iter()
            .map(|p| (p.path.as_str(), true))
            .chain(journal.deletes.iter().map(|d| (d.path.as_str(), false)));
        for (rel, is_put) in targets {
            let dest = walk::under(&self.root, rel);
            if !is_put && !fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_dir()) {
                // Nothing to delete: the apply leaves the directory alone.
                continue;
            }
            if let Some(dir) = self.nearest_dir(&dest)?
                && seen.insert(dir.clone())
            {
                dirs.insert((dir, rel));
            }
        }
        if store_dirs || journal.version.is_some() {
            for dir in [&self.dirs.packs, &self.dirs.versions, &self.dirs.store] {
                if seen.insert(dir.clone()) {
                    dirs.insert((dir.clone(), ".ssot"));
                }
            }
        }
        for (dir, target) in dirs {
            accessat(
                CWD,
                &dir,
                Access::WRITE_OK | Access::EXEC_OK,
                AtFlags::EACCESS,
            )
            .map_err(|e| Error::NotWritable {
                target: target.to_owned(),
                dir: dir.clone(),
                source: io::Error::from(e),
            })?;
        }
        Ok(())
    }

    /// The nearest existing directory at or above `path`'s parent, within the root
    /// (the parent itself unless the apply must create it).
    fn nearest_dir(&self, path: &Path) -> Result<Option<PathBuf>> {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if !d.starts_with(&self.root) {
                return Ok(None);
            }
            match fs::symlink_metadata(d) {
                Ok(m) if m.is_dir() => return Ok(Some(d.to_owned())),
                // A file where a directory must go (the change deletes it) or
                // nothing yet: the directory above is the one that changes.
                Ok(_) => {}
                Err(e) if is_absent(&e) => {}
                Err(e) => return Err(io_err("stat", d)(e)),
            }
            dir = d.parent();
        }
        Ok(None)
    }

    /// Creates the journal file (it cannot exist: the lock's housekeeping finished
    /// any earlier one) and writes `bytes` to it; the caller fsyncs it.
    fn create_journal(&self, bytes: &[u8]) -> Result<fs::File> {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.dirs.journal)
            .map_err(io_err("create", &self.dirs.journal))?;
        f.write_all(bytes)
            .map_err(io_err("write", &self.dirs.journal))?;
        Ok(f)
    }

    /// Whether every put whose object is not stored has its bytes in the journal, so
    /// that recovery can rebuild a lost pack of them.
    fn journal_rebuilds_pack(&self, inner: &Inner, journal: &Journal) -> bool {
        journal
            .puts
            .iter()
            .all(|p| p.inline.is_some() || inner.packs.contains(&p.hash))
    }

    /// The manifest and `HEAD` of a journal's version, written to temporary files
    /// (not yet fsynced).
    fn prepare_version(
        &self,
        journal: &Journal,
        id: &VersionId,
    ) -> Result<(NamedTempFile, NamedTempFile)> {
        let text = journal.manifest.as_deref().unwrap_or_default();
        let manifest_tmp = durable::temp_file(&self.dirs.tmp, text.as_bytes())?;
        let head_tmp = durable::temp_file(&self.dirs.tmp, format!("{id}\n").as_bytes())?;
        Ok((manifest_tmp, head_tmp))
    }

    /// Finishes the change whose journal is present (called under the lock). A
    /// journal whose pack is missing was never committed and is dropped.
    pub(crate) fn recover(&self, inner: &mut Inner) -> Result<()> {
        let bytes = fs::read(&self.dirs.journal).map_err(io_err("read", &self.dirs.journal))?;
        let corrupt = |reason: String| Error::CorruptStore {
            path: self.dirs.journal.clone(),
            reason: format!(
                "{reason}; the interrupted change cannot be finished (restore the store from a backup, or remove the journal and check the tree with `status()`)"
            ),
        };
        if bytes.first() == Some(&b'{') {
            // Format 1 had no header line: written by an older build, not torn.
            return Err(corrupt(
                "a format-1 journal, written by an older ssot-version (this build reads format 2); finish it by opening the store with the build that wrote it".into(),
            ));
        }
        let Some(body) = journal_body(&bytes) else {
            // Torn: the crash came during the commit round (the journal is never
            // changed in place after it), so nothing was applied.
            return self.drop_journal("recovery: torn journal dropped");
        };
        let journal: Journal =
            serde_json::from_slice(body).map_err(|e| corrupt(format!("not a journal: {e}")))?;
        if journal.format != FORMAT {
            return Err(corrupt(format!(
                "journal format {} is not supported (this build reads format {FORMAT}; finish it with the build that wrote it)",
                journal.format
            )));
        }
        for path in journal
            .deletes
            .iter()
            .map(|d| &d.path)
            .chain(journal.puts.iter().map(|p| &p.path))
        {
            check_journal_path(journal.kind, path).map_err(|reason| Error::UnsafePath {
                path: path.clone(),
                version: None,
                reason: format!("{reason} (in the journal)"),
            })?;
        }
        if journal
            .puts
            .iter()
            .any(|p| p.staged.is_empty() || !p.staged.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(corrupt("a staged file name is not a number".into()));
        }
        if let Some(pack) = &journal.pack {
            if pack.contains('/') || !pack.ends_with(".pack") {
                return Err(corrupt(format!("`{pack}` is not a pack name")));
            }
            if !self.dirs.packs.join(pack).exists() {
                if !self.journal_rebuilds_pack(inner, &journal) {
                    // The pack was renamed before the journal was written; a crash
                    // in the commit round kept the journal but lost the pack's entry
                    // (see `run_journal`): nothing was applied.
                    return self.drop_journal("recovery: uncommitted journal dropped");
                }
                // Renamed with the version, after the commit: rebuilt from the bytes
                // inline in the journal.
                let mut writer = PackWriter::new(&self.dirs.tmp)?;
                for put in &journal.puts {
                    if let Some(bytes) = &put.inline
                        && !inner.packs.contains(&put.hash)
                    {
                        writer.add(put.hash, &bytes.0)?;
                    }
                }
                if !writer.is_empty() {
                    writer.finish(&self.dirs.packs)?;
                    inner.packs.refresh()?;
                }
                fault::point("recovery: pack rebuilt");
            }
        }
        if let Some((id, _)) = self.journal_version(&journal)? {
            // The manifest is written in the last round of `apply`; `HEAD` may name it
            // already. Make sure it is there before anything reads `HEAD`.
            let path = self.dirs.manifest(&id);
            if !path.exists()
                && let Some(text) = &journal.manifest
            {
                durable::write_atomic(&self.dirs.tmp, &path, text.as_bytes(), None, true)?;
                durable::sync_dir(&self.dirs.versions)?;
            }
        }
        let journal = self.keep_later_edits(inner, journal)?;
        let call = journal.kind == Kind::Write || journal.note.is_some();
        // Without a hook, a note is kept for the next store opened with one
        // (`notes.rs`), rather than lost with the journal.
        let mut run_hook = |w: &Written| match &self.recover_hook {
            Some(hook) if call => hook(w),
            None if call && !w.note.is_empty() => self
                .keep_note(w)
                .map_err(|e| io::Error::other(e.to_string())),
            _ => Ok(()),
        };
        self.apply(inner, &journal, None, Some(&mut run_hook))
            .map(drop)
    }

    /// Removes a journal that was never committed, and the staged files.
    fn drop_journal(&self, point: &'static str) -> Result<()> {
        fs::remove_file(&self.dirs.journal).map_err(io_err("remove", &self.dirs.journal))?;
        durable::sync_dir(&self.dirs.store)?;
        fault::point(point);
        crate::store::empty_dir(&self.dirs.staging)
    }

    /// Before recovery re-applies a journal, records every journaled path whose
    /// content is neither what it held when the change was planned nor what the
    /// change puts there: someone changed it between the crash and this lock. Such
    /// edits are recorded as an ordinary snapshot of the tree (including edited paths
    /// the globs skip), and the journal is rewritten, atomically, so that those paths'
    /// `before` states are the edits and the change's version (if any) names that
    /// snapshot as its parent. The edit then survives in history, one step before
    /// the change, and can be restored from there.
    ///
    /// Why record rather than refuse: every operation, opening included, finishes a
    /// pending change first, so a refusal would leave the store unusable until
    /// someone moved the edited files away by hand, which is the same loss with more
    /// steps. Recording keeps the store's promise (all or nothing) and loses nothing.
    ///
    /// Cost: one `lstat` per journaled path and a read and hash of each that is a
    /// regular file; a snapshot only when something was edited.
    fn keep_later_edits(&self, inner: &mut Inner, mut journal: Journal) -> Result<Journal> {
        let mut edited = Vec::new();
        for d in &journal.deletes {
            if self.holds_neither(&d.path, d.before, None)? {
                edited.push(d.path.clone());
            }
        }
        for p in &journal.puts {
            if self.holds_neither(&p.path, p.before, Some(p.after()))? {
                edited.push(p.path.clone());
            }
        }
        if edited.is_empty() {
            return Ok(journal);
        }

        let version = self.journal_version(&journal)?.map(|(_, v)| v);
        let what = match (&journal.kind, &version) {
            (Kind::Rollback, Some(v)) => format!(
                "an interrupted rollback to {}",
                v.restored_from().map_or("?", VersionId::short)
            ),
            (Kind::Rollback, None) => "an interrupted rollback".to_owned(),
            (Kind::Write, _) => "an interrupted write".to_owned(),
        };
        let kept = self.snapshot_locked_with(
            inner,
            &format!("changes found when finishing {what}"),
            &edited,
        )?;
        fault::point("recovery: edits recorded");

        // The edits are now the `before` states, so they are not found again.
        let state = |path: &str| {
            kept.file(path).map(|f| State {
                hash: f.hash,
                size: f.size,
                executable: f.executable,
            })
        };
        let edited: HashSet<&str> = edited.iter().map(String::as_str).collect();
        for d in &mut journal.deletes {
            if edited.contains(d.path.as_str()) {
                d.before = state(&d.path);
            }
        }
        for p in &mut journal.puts {
            if edited.contains(p.path.as_str()) {
                p.before = state(&p.path);
            }
        }
        if let Some(version) = version {
            // A rollback's version is the target's files; a write's is its parent's
            // files with the set applied, so it is rebuilt on the snapshot.
            let files: Vec<FileEntry> = match journal.kind {
                Kind::Rollback => version.files().to_vec(),
                Kind::Write => {
                    let set: HashSet<&str> = journal
                        .deletes
                        .iter()
                        .map(|d| d.path.as_str())
                        .chain(journal.puts.iter().map(|p| p.path.as_str()))
                        .collect();
                    let mut files: Vec<FileEntry> = kept
                        .files()
                        .iter()
                        .filter(|f| !set.contains(f.path.as_str()))
                        .cloned()
                        .chain(
                            journal
                                .puts
                                .iter()
                                .filter_map(|p| version.file(&p.path).cloned()),
                        )
                        .collect();
                    files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
                    files
                }
            };
            let (new_id, manifest) = manifest::encode(
                Some(kept.id()),
                version.description(),
                version.created(),
                version.restored_from(),
                &files,
            )?;
            journal.version = Some(new_id.to_string());
            journal.manifest = Some(manifest);
        }
        let bytes = encode_journal(&journal)?;
        let tmp = durable::temp_file(&self.dirs.tmp, &bytes)?;
        tmp.as_file()
            .sync_all()
            .map_err(io_err("fsync", tmp.path()))?;
        durable::persist(tmp, &self.dirs.journal)?;
        durable::sync_dir(&self.dirs.store)?;
        fault::point("recovery: journal rewritten");
        Ok(journal)
    }

    /// Whether the file at `rel` is neither in state `a` nor in state `b` (each
    /// `None` for no file). Something that is not a regular file (a directory, a
    /// link, a FIFO) counts as no file: neither state can be it. A path through a
    /// symbolic link is not read (it may lead outside the root) and counts as
    /// unchanged: `apply` refuses or skips it.
    fn holds_neither(&self, rel: &str, a: Option<State>, b: Option<State>) -> Result<bool> {
        if self.has_symlink_ancestor(rel)? {
            return Ok(false);
        }
        let now = self.file_state(rel)?;
        Ok(now != a && now != b)
    }

    /// The state of the regular file at `rel`, `None` if there is none (or something
    /// else, such as a directory, is there). The caller checks for links on the way.
    pub(crate) fn file_state(&self, rel: &str) -> Result<Option<State>> {
        let path = walk::under(&self.root, rel);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => match fs::read(&path) {
                Ok(bytes) => Ok(Some(State {
                    hash: ObjectHash::of(&bytes),
                    size: bytes.len() as u64,
                    executable: stat::is_executable(&m),
                })),
                // Deleted since the `lstat`: no file.
                Err(e) if is_absent(&e) => Ok(None),
                Err(e) => Err(io_err("read", &path)(e)),
            },
            Ok(_) => Ok(None),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(io_err("stat", &path)(e)),
        }
    }

    /// The version a journal records, parsed and checked.
    fn journal_version(&self, journal: &Journal) -> Result<Option<(VersionId, Version)>> {
        let (Some(id), Some(text)) = (&journal.version, &journal.manifest) else {
            return Ok(None);
        };
        let id: VersionId = id.parse().map_err(|_| Error::CorruptStore {
            path: self.dirs.journal.clone(),
            reason: format!("`{id}` is not a version id"),
        })?;
        let version = manifest::decode(&id, text.as_bytes())
            .map_err(|e| decode_error(e, &self.dirs.journal, &id))?;
        Ok(Some((id, version)))
    }

    /// Applies a committed journal: deletions, renames, the version (manifest and
    /// `HEAD`), one round of fsyncs, then `finish`, then the journal is removed.
    /// Idempotent.
    fn apply(
        &self,
        inner: &mut Inner,
        journal: &Journal,
        prepared: Option<Prepared>,
        finish: Option<Finish<'_>>,
    ) -> Result<Option<Version>> {
        let recorded = self.journal_version(journal)?;
        // Without `prepared` this is recovery: a staged file may be torn (the commit
        // round fsyncs it together with the journal), so each is checked first.
        let recovering = prepared.is_none();
        let (prepared_version, late_pack) = match prepared {
            Some(p) => (p.version, p.late),
            None => (None, None),
        };
        let mut touched: BTreeSet<PathBuf> = BTreeSet::new();

        for d in &journal.deletes {
            let rel = &d.path;
            let path = walk::under(&self.root, rel);
            if self.has_symlink_ancestor(rel)? {
                // The path now leads through a link (it cannot have when the change
                // was planned): whatever is there is not ours to delete.
                continue;
            }
            match fs::symlink_metadata(&path) {
                Ok(m) if !m.is_dir() => {
                    fs::remove_file(&path).map_err(io_err("remove", &path))?;
                    inner.stat.forget(rel);
                    fault::point("apply: deleted a file");
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
            .flat_map(|d| d.path.match_indices('/').map(move |(i, _)| &d.path[..i]))
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
                        version: recorded.as_ref().map(|(id, _)| id.clone()),
                        reason: "a directory on the way became a symbolic link during the change; remove the link and open the store again to finish it".into(),
                    });
                }
                if recovering && !file_matches(&staged, put.hash, put.executable) {
                    match fs::remove_file(&staged) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_err("remove", &staged)(e)),
                    }
                }
                match fs::rename(&staged, &dest) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound && !staged.exists() => {
                        // Renamed before a crash (or its entry lost): check what is
                        // there, rewrite it from its durable source if needed.
                        if !file_matches(&dest, put.hash, put.executable) {
                            let bytes = match &put.inline {
                                Some(bytes) => bytes.0.clone(),
                                None => packs.read(&put.hash)?.ok_or_else(|| {
                                    Error::CorruptStore {
                                        path: self.dirs.journal.clone(),
                                        reason: format!(
                                            "the content of `{}` ({}) is neither staged, in the journal nor in a pack; restore the store from a backup, or remove the journal and check the tree with `status()`",
                                            put.path, put.hash
                                        ),
                                    }
                                })?,
                            };
                            let tmp = self.dirs.tmp.join(format!("restore-{}", put.staged));
                            write_durable(&tmp, &bytes, put.executable)?;
                            fs::rename(&tmp, &dest).map_err(io_err("rename into place", &dest))?;
                        }
                    }
                    Err(e) => return Err(io_err("rename into place", &dest)(e)),
                }
                fault::point("apply: put a file");
                Ok(())
            },
        )?;
        for put in &journal.puts {
            inner.stat.forget(&put.path);
        }

        // One round: the touched directories, and (with a version) the manifest and
        // `HEAD`. Both are renamed before the round; a crash in it leaves the journal,
        // and recovery writes the manifest again if its entry was lost before anything
        // reads `HEAD`.
        let mut round: Vec<&Path> = touched
            .iter()
            .map(PathBuf::as_path)
            .filter(|d| d.exists())
            .collect();
        if let Some((tmp, name)) = late_pack {
            durable::persist(tmp, &self.dirs.packs.join(name))?;
            fault::point("apply: pack renamed");
            round.push(&self.dirs.packs);
        }
        if let Some((id, _)) = &recorded {
            let (manifest_tmp, head_tmp) = match prepared_version {
                Some(p) => p,
                None => {
                    // Recovery: written again, and fsynced in a round of their own.
                    let p = self.prepare_version(journal, id)?;
                    durable::sync_paths(&[p.0.path(), p.1.path()])?;
                    p
                }
            };
            durable::persist(manifest_tmp, &self.dirs.manifest(id))?;
            fault::point("apply: manifest written");
            durable::persist(head_tmp, &self.dirs.head)?;
            fault::point("apply: head moved");
            round.push(&self.dirs.versions);
            round.push(&self.dirs.store);
        }
        durable::sync_paths(&round)?;
        fault::point("apply: synced");

        let version = recorded.map(|(id, v)| {
            inner.manifests.insert(id, v.clone());
            v
        });
        if let Some(finish) = finish {
            finish(&journal.written(version.clone())).map_err(|source| Error::Finish {
                journal: Some(self.dirs.journal.clone()),
                source,
            })?;
            fault::point("apply: finished");
        }
        fs::remove_file(&self.dirs.journal).map_err(io_err("remove", &self.dirs.journal))?;
        durable::sync_dir(&self.dirs.store)?;
        fault::point("apply: journal removed");
        crate::store::empty_dir(&self.dirs.staging)?;
        inner.stat.save(&self.dirs.statcache, &self.dirs.tmp)?;
        Ok(version)
    }

    /// Refuses a path to put a file at that leads through a symbolic link, onto one,
    /// or onto something that may not be replaced: a directory that would not be
    /// empty after the `deletes`, a file `may_replace` refuses, or a file where a
    /// directory must go (unless it is deleted). Runs before the tree is touched.
    pub(crate) fn check_put_path(
        &self,
        rel: &str,
        may_replace: &dyn Fn(&str) -> bool,
        deletes: &HashSet<&str>,
        version: Option<&VersionId>,
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
                        version: version.cloned(),
                        reason: if is_last {
                            "a symbolic link is at this path; writing would replace it (move it away first)".into()
                        } else {
                            format!(
                                "`{prefix}` is a symbolic link; writing through it could write outside the root"
                            )
                        },
                    });
                }
                Ok(m) if m.is_dir() => {
                    if is_last && !self.empties_with(prefix, deletes)? {
                        return Err(Error::Blocked {
                            path: rel.to_owned(),
                            reason: "a directory holding files the change does not delete (untracked or excluded ones) is in the way; move it away first".into(),
                        });
                    }
                }
                Ok(m) => {
                    if is_last && !m.is_file() {
                        return Err(Error::Blocked {
                            path: rel.to_owned(),
                            reason: "a special file (FIFO, socket or device) is at this path; move it away first".into(),
                        });
                    }
                    if is_last && !may_replace(prefix) {
                        return Err(Error::Blocked {
                            path: rel.to_owned(),
                            reason: "a file the store does not track (excluded by the globs) is at this path; move it away first".into(),
                        });
                    }
                    if !is_last && !deletes.contains(prefix) {
                        return Err(Error::Blocked {
                            path: rel.to_owned(),
                            reason: format!(
                                "`{prefix}` is a file where a directory must go; move it away first"
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
                            "`{prefix}` is a symbolic link; writing through it could write outside the root"
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

/// What `run_journal` prepared for `apply`: the version's manifest and `HEAD` in
/// temporary files, and a pack to rename into place with them; all durable.
pub(crate) struct Prepared {
    version: Option<(NamedTempFile, NamedTempFile)>,
    late: Option<(NamedTempFile, String)>,
}

/// The first line of a journal file: a magic word, the format, and the BLAKE3 hash of
/// the JSON body that follows. The journal is written in place and committed by the
/// fsync that makes it durable; a crash before that fsync returns can leave it torn
/// (short, or zeros), which the hash tells.
const MAGIC: &str = "ssot-journal";

fn encode_journal(journal: &Journal) -> Result<Vec<u8>> {
    let body = to_json(journal, "the journal")?;
    let mut out = format!("{MAGIC} {FORMAT} {}\n", ObjectHash::of(&body)).into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

/// The JSON body of a journal file, or `None` if the file is torn: no complete
/// header, or a body that does not hash to the header's hash.
fn journal_body(bytes: &[u8]) -> Option<&[u8]> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&bytes[..newline]).ok()?;
    let body = &bytes[newline + 1..];
    let mut words = header.split(' ');
    let (magic, _format, hash) = (words.next()?, words.next()?, words.next()?);
    (magic == MAGIC && ObjectHash::from_hex(hash) == Some(ObjectHash::of(body))).then_some(body)
}

fn open_dir(dir: &Path) -> Result<fs::File> {
    fs::File::open(dir).map_err(io_err("open directory", dir))
}

/// The path rules of a journal's kind: a rollback's paths are a manifest's (anything
/// under the root but the store); a write's also stay out of `.ssot` as a whole.
pub(crate) fn check_journal_path(kind: Kind, path: &str) -> std::result::Result<(), &'static str> {
    manifest::check_rel_path(path)?;
    if kind == Kind::Write && in_ssot_dir(path) {
        return Err(
            "the path is inside `.ssot` (in any letter case), which holds ssot's own data; write somewhere else",
        );
    }
    Ok(())
}

/// Whether `rel` is `.ssot` or under it, ignoring ASCII case (a case-insensitive file
/// system makes `.SSOT/x` the same file).
pub(crate) fn in_ssot_dir(rel: &str) -> bool {
    let first = rel.split('/').next().unwrap_or(rel);
    first.eq_ignore_ascii_case(".ssot")
}

/// Whether a failed `lstat` means "nothing there": not found, or a component of the
/// path is a file (`ENOTDIR`).
pub(crate) fn is_absent(e: &io::Error) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_bad_digits() {
        let h = Hex(vec![0, 1, 0xab, 0xff]);
        let text = serde_json::to_string(&h).unwrap();
        assert_eq!(text, "\"0001abff\"");
        assert_eq!(serde_json::from_str::<Hex>(&text).unwrap(), h);
        assert!(serde_json::from_str::<Hex>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Hex>("\"ABCD\"").is_err());
        assert!(serde_json::from_str::<Hex>("\"zz\"").is_err());
    }

    #[test]
    fn the_ssot_directory_is_refused_in_any_case_for_writes_only() {
        for p in [".ssot", ".ssot/x", ".SSOT/lock", ".Ssot/a/b"] {
            assert!(check_journal_path(Kind::Write, p).is_err(), "{p}");
        }
        assert!(check_journal_path(Kind::Rollback, ".ssot/x").is_ok());
        assert!(check_journal_path(Kind::Rollback, ".ssot/versions/HEAD").is_err());
        assert!(check_journal_path(Kind::Write, "a/.ssot").is_ok());
        assert!(check_journal_path(Kind::Write, ".ssotx").is_ok());
    }
}
