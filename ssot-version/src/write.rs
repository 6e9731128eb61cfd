//! [`VersionStore::write`]: a set of file changes applied all or nothing, through the
//! same journal as [`rollback`](VersionStore::rollback) (the `journal` module holds
//! the one implementation of staging, commit, apply and recovery).
//!
//! # Semantics
//!
//! - **All or nothing.** After any crash, once the store is next locked (opening it is
//!   enough), every path of the set holds either its old content or its new one, all
//!   the same way: never a mix. With [`record_version`](WriteSet::record_version),
//!   `HEAD` names the new version exactly when the files are the new ones.
//! - **Paths** are relative `/`-paths under the root, refused ([`Error::UnsafePath`])
//!   if absolute, with an empty, `.` or `..` component, in `.ssot` (in any letter case:
//!   the store and other ssot components keep their data there), through a symbolic
//!   link or onto one; checked again just before each rename. Nothing is ever written
//!   outside the root. A directory in the way, a special file, or a file where a
//!   directory must go is [`Error::Blocked`], unless the same set deletes it.
//! - **Untracked paths.** A set may write files the include/exclude globs do not track
//!   (an audit log, a lock file). They are written and journaled like any other;
//!   `record_version` leaves them out of the version (which holds tracked paths
//!   only), so a later [`status`](VersionStore::status) does not report them.
//! - **Expectations** ([`WriteSet::expect`]) are checked under the store's lock
//!   before anything is written: compare-and-swap across processes.
//! - **Drift outside the set** is neither recorded nor touched: the version
//!   `record_version` writes is the newest version's files with the set applied, not a
//!   scan of the tree (that would cost an `lstat` per tracked file). A write puts its
//!   bytes over whatever is at a path; use `expect` to make sure that is what you read.
//! - **Cross-process.** A write runs under the store's lock (`.ssot/versions/lock`,
//!   and an in-process mutex), like every operation: writes, snapshots and rollbacks
//!   of any number of threads and processes take turns.
//!
//! # The protocol (shared with rollback)
//!
//! 1. **Plan** (under the lock): check paths and expectations; read each path's
//!    current state (its `before`: hash, size, executable bit, or absent). Choose each
//!    put's *durable source*: an object already in a pack; else, if the set adds at
//!    most 1 MiB of new bytes in all, the bytes themselves, inline in the journal
//!    (hex); else a new pack. A recorded version's new objects always go into a pack.
//!    **Pre-flight** (`journal`'s `preflight`): every directory the apply will
//!    change (each put's parent or nearest existing ancestor, each deleted file's
//!    parent, and the store's `packs/`, `versions/` and directory with a version or
//!    pack) must pass `faccessat(W_OK | X_OK, AT_EACCESS)`, one call per directory,
//!    no write; otherwise [`Error::NotWritable`] names it, before anything is
//!    written. It cannot foresee a permission changed after it, a full disk or a
//!    sticky directory's foreign-owned target: those still fail after the commit and
//!    the journal stays until the next lock finishes the write.
//! 2. **Stage**: each put is written to `staging/`; the new pack, manifest and `HEAD`
//!    to temporary files (fsynced in batches of 256 staged files).
//! 3. **Commit**. If every new byte is inline (or already stored), the journal is
//!    written in place as `journal`, with a checksum of its body, and **one**
//!    concurrent round fsyncs it, the staged files, the temporary files and the store
//!    directory: that round is the commit. A crash in it may leave a torn journal,
//!    which fails its checksum, or torn staged files, which recovery checks against
//!    their hash and rewrites from the inline bytes. Otherwise (more than 1 MiB new)
//!    the staged files and the pack are fsynced first (a round), the pack is renamed
//!    into `packs/`, and the journal is written and fsynced with `packs/` and the
//!    store directory (a second round); a journal whose pack is missing was never
//!    committed (the crash came during that round) and is dropped.
//! 4. **Apply**: deletions, directories left empty removed, each staged file renamed
//!    into place; with a version, a pack of inline bytes renamed into `packs/` (if
//!    lost in a crash, recovery rebuilds it from the journal), the manifest into
//!    `versions/`, and `HEAD` moved.
//! 5. **Sync** (one round): every touched directory, and `packs/`, `versions/` and the
//!    store directory as needed.
//! 6. **Finish**: `write_with`'s `finish` (or, on recovery, the
//!    [`on_recover`](crate::VersionStoreBuilder::on_recover) hook) runs.
//! 7. **Remove** (one round): the journal is removed and the store directory fsynced.
//!
//! Recovery (whoever next locks the store and finds a journal) first checks the
//! journal (a torn one, or one whose early pack is missing, was never committed: it is
//! removed and the tree was never touched), then re-runs steps 4 to 7, which are
//! idempotent: a staged file already renamed is found in place and checked against
//! its hash, or rewritten from its durable source. So a crash before the commit
//! leaves everything as it was (`staging/` and `tmp/` are emptied at the next lock);
//! a crash after it is rolled forward.
//!
//! Trade-off of the checksummed journal: a committed journal damaged on disk later
//! (not by a crash) would also fail its checksum and be dropped, leaving whatever part
//! of the write was applied. The store's other files are checksummed, not redundant,
//! too; the journal lives for one write.
//!
//! # Edits made between a crash and the recovery
//!
//! The same rule as rollback's: before rolling forward, recovery compares every
//! journaled path with its `before` state and its new state. A path in neither was
//! edited after the crash; if any was, the tree is recorded as an ordinary snapshot
//! (including edited paths the globs skip) and the journal rewritten so that the
//! write's version (if any) is rebuilt on that snapshot (its files with the set
//! applied) and names it as parent; then the write is finished. The edit is never
//! silently lost: it is in history, one version before the write's.
//!
//! # Cost
//!
//! | Write | fsync rounds | other work |
//! |---|---|---|
//! | 1 file (≤ 1 MiB), with or without `record_version` | **3** (commit, sync, remove) | read and hash of the file it replaces; one staged file; the bytes inline in the journal; with a version, a pack of the new object, the manifest, `HEAD` |
//! | N files, ≤ 1 MiB new in all | 3, plus one per 256 files beyond the first 256 | as above, per file; the fsyncs of a round run concurrently (up to 64 threads) |
//! | more than 1 MiB new | 4 (data, commit, sync, remove), plus the batches | the new bytes also go into a pack (freed by [`prune`](VersionStore::prune) if no version keeps them) |
//!
//! The protocol needs at least three ordered rounds: the new bytes and the intent
//! must be durable before any file is replaced (commit), the replacements before the
//! journal goes (sync), and the journal's removal before `write` returns (or a later
//! crash would make recovery redo the write over the caller's next edits). A
//! journaling file system commits the concurrent fsyncs of one round together, so a
//! round costs about one journal commit whatever the number of files in it. Before
//! this design (journal committed by a rename) a 1-file write took 4 rounds.
//!
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;

use crate::error::{Error, Result};
use crate::id::{ObjectHash, VersionId};
use crate::journal::{self, Delete, Hex, Journal, Kind, Put, State};
use crate::manifest::{self, FileEntry, Version};
use crate::pack::{PackSet, PackWriter};
use crate::store::{Inner, VersionStore};
use crate::walk;

/// New contents up to this many bytes in all are kept in the journal itself (as hex,
/// so the journal grows by twice as much): every new byte then has a durable copy in
/// the journal, and the journal commits in the same fsync round as the staged files.
/// Larger sets go through a pack made durable before the journal (one round more).
pub(crate) const INLINE_MAX: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>),
    Delete,
}

/// A set of file changes applied all or nothing by [`VersionStore::write`].
///
/// Built by chaining: `WriteSet::new().put("a.md", "…").delete("old.md")`. Paths are
/// relative to the store's root, with `/` separators; they are checked when the set
/// is written (see [`VersionStore::write`] for the rules). A later `put` or `delete`
/// of the same path replaces the earlier one, as does a later `expect` of a path or
/// a later `note`.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct WriteSet {
    ops: BTreeMap<String, Op>,
    expects: BTreeMap<String, Option<ObjectHash>>,
    note: Option<Vec<u8>>,
    record: Option<String>,
    restored_from: Option<VersionId>,
    executable: BTreeMap<String, bool>,
}

impl WriteSet {
    /// An empty set.
    pub fn new() -> WriteSet {
        WriteSet::default()
    }

    /// Writes `bytes` to `path` (relative to the root, `/`-separated; created with
    /// parent directories if needed). A file replaced keeps its executable bit; a new
    /// file gets the permissions of a new file (0o666 less the umask).
    pub fn put(mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> WriteSet {
        self.ops.insert(path.into(), Op::Put(bytes.into()));
        self
    }

    /// Deletes `path` (no error if already absent). Directories the deletion leaves
    /// empty are removed.
    pub fn delete(mut self, path: impl Into<String>) -> WriteSet {
        self.ops.insert(path.into(), Op::Delete);
        self
    }

    /// A precondition checked under the store's lock before anything is written:
    /// `path` must currently have content hash `hash` ([`ObjectHash::of`], also
    /// [`VersionStore::hash_bytes`]), or with `None` must not exist. Otherwise the
    /// write fails with [`Error::Conflict`] naming the path, the expected and the
    /// found hash, and nothing is written. `path` need not be written by the set.
    pub fn expect(mut self, path: impl Into<String>, hash: Option<ObjectHash>) -> WriteSet {
        self.expects.insert(path.into(), hash);
        self
    }

    /// Opaque caller bytes kept in the journal until the write is finished, and
    /// handed back in [`Written::note`] (to `write_with`'s `finish` and to the
    /// recovery hook, [`VersionStoreBuilder::on_recover`](crate::VersionStoreBuilder::on_recover)).
    pub fn note(mut self, bytes: impl Into<Vec<u8>>) -> WriteSet {
        self.note = Some(bytes.into());
        self
    }

    /// Also records the resulting tree as a new version, atomically with the files:
    /// the newest version's files with this set applied (paths the include/exclude
    /// globs do not track are written but not recorded). If that equals the newest
    /// version, no version is written and [`Written::version`] is the newest one, as
    /// for an empty [`snapshot`](VersionStore::snapshot).
    pub fn record_version(mut self, description: impl Into<String>) -> WriteSet {
        self.record = Some(description.into());
        self
    }

    /// Sets (`true`) or clears the executable bit of the file the set puts at
    /// `path`; without it a replaced file keeps its bit and a new file has none. No
    /// effect on a path the set does not put.
    pub fn executable(mut self, path: impl Into<String>, executable: bool) -> WriteSet {
        self.executable.insert(path.into(), executable);
        self
    }

    /// The version [`record_version`](WriteSet::record_version) records says it
    /// restores `version` ([`Version::restored_from`]), as a
    /// [`rollback`](VersionStore::rollback)'s does: for a rollback built as a write
    /// (its files computed by the caller, with a note of its own).
    pub fn restored_from(mut self, version: VersionId) -> WriteSet {
        self.restored_from = Some(version);
        self
    }

    /// Whether the set changes no file (it may still hold expectations, a note or a
    /// version to record).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// What a finished write did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Written {
    /// The version recorded with the files
    /// ([`record_version`](WriteSet::record_version)): a new one, or the newest one if
    /// the set changed nothing it tracks. `None` without `record_version`, or if the
    /// store has no version and the set recorded nothing.
    pub version: Option<Version>,
    /// The set's [`note`](WriteSet::note) (empty without one).
    pub note: Vec<u8>,
    /// Every path the set puts or deletes, sorted, with its new content hash
    /// (`None`: deleted).
    pub files: Vec<(String, Option<ObjectHash>)>,
}

impl VersionStore {
    /// Hash of a file as the store records it (BLAKE3 of its bytes), for building
    /// [`WriteSet::expect`]. The same as [`ObjectHash::of`].
    pub fn hash_bytes(bytes: &[u8]) -> ObjectHash {
        ObjectHash::of(bytes)
    }

    /// Applies `set` all or nothing; returns once every file is durable. See
    /// [`write_with`](Self::write_with).
    ///
    /// # Errors
    /// As [`write_with`](Self::write_with).
    pub fn write(&self, set: WriteSet) -> Result<Written> {
        self.write_with(set, |_| Ok(()))
    }

    /// As [`write`](Self::write), and calls `finish` with the result after the
    /// files (and the version) are in place and durable, and **before** the journal
    /// is removed, still under the store's lock. If `finish` fails, the journal stays
    /// and the error is returned as [`Error::Finish`]: the next lock of the store
    /// (the next operation, in this process or another) finishes the write again and
    /// calls the recovery hook ([`on_recover`](crate::VersionStoreBuilder::on_recover))
    /// with the same [`Written`]. A set that changes no file writes no journal:
    /// `finish` is called, and its failure is returned, with nothing to recover.
    /// `finish` runs under the store's lock: it must not call this store (that would
    /// deadlock).
    ///
    /// # Errors
    /// [`Error::UnsafePath`] for a path that is absolute, has an empty, `.` or `..`
    /// component, is in `.ssot` (in any letter case), leads through a symbolic link
    /// or is one, or that the set both puts and writes under; [`Error::Blocked`] if a
    /// directory holding files the set does not delete, a special file, or a file
    /// where a directory must go is in the way, or a deleted or expected path is a
    /// directory; [`Error::Conflict`] if an [`expect`](WriteSet::expect) fails; all of
    /// these before anything is written. [`Error::NotWritable`], before anything is
    /// written, if a directory the set changes is not writable by this process.
    /// [`Error::Io`] if the file system fails: before
    /// the commit nothing was written; after it the journal stays and the next lock
    /// of the store finishes the write (and calls the recovery hook).
    /// [`Error::Finish`] if `finish` fails.
    pub fn write_with(
        &self,
        set: WriteSet,
        finish: impl FnOnce(&Written) -> io::Result<()>,
    ) -> Result<Written> {
        check_set_paths(&set)?;
        let mut finish = Some(finish);
        let mut call_finish = |w: &Written| match finish.take() {
            Some(f) => f(w),
            None => Ok(()),
        };
        self.locked(|inner| {
            for (path, want) in &set.expects {
                let found = self.expect_state(path)?.map(|s| s.hash);
                if found != *want {
                    return Err(Error::Conflict {
                        path: path.clone(),
                        expected: *want,
                        found,
                    });
                }
            }
            let plan = self.plan_write(inner, &set)?;
            let Some((journal, pack, contents)) = plan.journal else {
                let written = Written {
                    version: plan.version,
                    note: set.note.clone().unwrap_or_default(),
                    files: Vec::new(),
                };
                call_finish(&written).map_err(|source| Error::Finish {
                    journal: None,
                    source,
                })?;
                return Ok(written);
            };
            let mut written = journal.written(None);
            let content = |_: &PackSet, put: &Put| -> Result<Cow<'_, [u8]>> {
                let i: usize = put.staged.parse().map_err(|_| Error::CorruptStore {
                    path: self.dirs.journal.clone(),
                    reason: format!("staged name `{}` is not a number", put.staged),
                })?;
                contents
                    .get(i)
                    .map(|b| Cow::Borrowed(*b))
                    .ok_or_else(|| Error::CorruptStore {
                        path: self.dirs.journal.clone(),
                        reason: format!("no content for staged file {i}"),
                    })
            };
            let recorded =
                self.run_journal(inner, journal, &content, pack, Some(&mut call_finish))?;
            written.version = recorded.or(plan.version);
            Ok(written)
        })
    }

    /// The state of an expected path: a regular file's, `None` if absent; a link on
    /// the way or anything else at the path is refused.
    fn expect_state(&self, rel: &str) -> Result<Option<State>> {
        self.check_no_link_on_the_way(rel)?;
        let path = walk::under(&self.root, rel);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => self.file_state(rel),
            Ok(m) => Err(not_a_file(rel, &m)),
            Err(e) if journal::is_absent(&e) => Ok(None),
            Err(e) => Err(crate::error::io_err("stat", &path)(e)),
        }
    }

    fn check_no_link_on_the_way(&self, rel: &str) -> Result<()> {
        if self.has_symlink_ancestor(rel)? {
            return Err(Error::UnsafePath {
                path: rel.to_owned(),
                version: None,
                reason: "a directory on the way is a symbolic link, which the store does not follow; write under the link's target instead".into(),
            });
        }
        Ok(())
    }

    /// Checks every path on disk and builds the journal (`None` if the set changes no
    /// file), the pack of new objects and each staged file's bytes.
    fn plan_write<'s>(&self, inner: &mut Inner, set: &'s WriteSet) -> Result<WritePlan<'s>> {
        let deletes: HashSet<&str> = set
            .ops
            .iter()
            .filter(|(_, op)| matches!(op, Op::Delete))
            .map(|(p, _)| p.as_str())
            .collect();
        let mut journal_deletes = Vec::new();
        let mut puts = Vec::new();
        let mut contents: Vec<&'s [u8]> = Vec::new();
        for (path, op) in &set.ops {
            self.check_no_link_on_the_way(path)?;
            match op {
                Op::Delete => {
                    let full = walk::under(&self.root, path);
                    match fs::symlink_metadata(&full) {
                        Ok(m) if m.is_file() => {}
                        Ok(m) => return Err(not_a_file(path, &m)),
                        Err(e) if journal::is_absent(&e) => {}
                        Err(e) => return Err(crate::error::io_err("stat", &full)(e)),
                    }
                    journal_deletes.push(Delete {
                        path: path.clone(),
                        before: self.file_state(path)?,
                    });
                }
                Op::Put(bytes) => {
                    self.check_put_path(path, &|_| true, &deletes, None)?;
                    let before = self.file_state(path)?;
                    puts.push(Put {
                        path: path.clone(),
                        before,
                        hash: ObjectHash::of(bytes),
                        size: bytes.len() as u64,
                        executable: set
                            .executable
                            .get(path)
                            .copied()
                            .unwrap_or(before.is_some_and(|b| b.executable)),
                        staged: contents.len().to_string(),
                        inline: None,
                    });
                    contents.push(bytes);
                }
            }
        }

        // The version: the newest one's files with the set applied, tracked paths only.
        let mut version = None;
        let mut new_version = None;
        if let Some(description) = &set.record {
            let head = match self.read_head()? {
                Some(id) => Some(self.load_version(inner, &id)?),
                None => None,
            };
            let mut files: Vec<FileEntry> = head
                .as_ref()
                .map_or(&[][..], |h| h.files())
                .iter()
                .filter(|f| !set.ops.contains_key(&f.path))
                .cloned()
                .chain(
                    puts.iter()
                        .filter(|p| self.filter.tracks_path(&p.path))
                        .map(|p| FileEntry::new(p.path.clone(), p.size, p.hash, p.executable)),
                )
                .collect();
            files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
            let unchanged = head
                .as_ref()
                .is_some_and(|h| manifest::same_files(h.files(), &files));
            if unchanged || (head.is_none() && files.is_empty()) {
                version = head;
            } else {
                let parent = head.as_ref().map(|h| h.id().clone());
                new_version = Some((
                    manifest::encode(
                        parent.as_ref(),
                        description,
                        (self.clock)(),
                        set.restored_from.as_ref(),
                        &files,
                    )?,
                    files,
                ));
            }
        }
        if set.ops.is_empty() {
            return Ok(WritePlan {
                version,
                journal: None,
            });
        }

        // Where each put's bytes survive a crash: an object already in a pack, the
        // journal itself (small writes that record no version), or a new pack.
        let missing = |p: &&Put| !inner.packs.contains(&p.hash);
        let inline_total: u64 = puts.iter().filter(missing).map(|p| p.size).sum();
        let version_needs_objects = new_version
            .as_ref()
            .is_some_and(|(_, files)| files.iter().any(|f| !inner.packs.contains(&f.hash)));
        let inline = inline_total <= INLINE_MAX;
        if inline {
            for (p, bytes) in puts.iter_mut().zip(&contents) {
                if !inner.packs.contains(&p.hash) {
                    p.inline = Some(Hex(bytes.to_vec()));
                }
            }
        }
        // The version's objects go into a pack; so do all new bytes too large to be
        // inline. (A pack of inline bytes only is renamed after the commit; see
        // `journal::run_journal`.)
        let mut pack = None;
        if version_needs_objects || !inline {
            let mut writer = PackWriter::new(&self.dirs.tmp)?;
            for (p, bytes) in puts.iter().zip(&contents) {
                if !inner.packs.contains(&p.hash) {
                    writer.add(p.hash, bytes)?;
                }
            }
            pack = Some(writer);
        }
        let (id, manifest) = match new_version {
            Some(((id, text), _)) => (Some(id.to_string()), Some(text)),
            None => (None, None),
        };
        let journal = Journal {
            format: journal::FORMAT,
            kind: Kind::Write,
            version: id,
            manifest,
            pack: None,
            deletes: journal_deletes,
            puts,
            note: set.note.clone().map(Hex),
        };
        Ok(WritePlan {
            version,
            journal: Some((journal, pack, contents)),
        })
    }
}

struct WritePlan<'s> {
    /// The newest version, when `record_version` records no new one.
    version: Option<Version>,
    journal: Option<Staged<'s>>,
}

/// The journal to run, the pack of its new objects, and each staged file's bytes.
type Staged<'s> = (Journal, Option<PackWriter>, Vec<&'s [u8]>);

fn not_a_file(rel: &str, m: &fs::Metadata) -> Error {
    if m.file_type().is_symlink() {
        Error::UnsafePath {
            path: rel.to_owned(),
            version: None,
            reason: "a symbolic link is at this path; the store never writes, deletes or reads through links (move it away first)".into(),
        }
    } else {
        Error::Blocked {
            path: rel.to_owned(),
            reason: if m.is_dir() {
                "it is a directory; a write puts, deletes and expects regular files only".into()
            } else {
                "it is a special file (FIFO, socket or device); move it away first".into()
            },
        }
    }
}

/// The checks that need no file system: every path's syntax, and no path both put
/// and written under (`a` and `a/b`).
fn check_set_paths(set: &WriteSet) -> Result<()> {
    for path in set.ops.keys().chain(set.expects.keys()) {
        journal::check_journal_path(Kind::Write, path).map_err(|reason| Error::UnsafePath {
            path: path.clone(),
            version: None,
            reason: reason.into(),
        })?;
    }
    // Sorted keys: a path `a/...` under a put `a` follows `a` closely enough, but
    // `a-b` sorts between `a` and `a/b`, so each put checks its range.
    for (path, op) in &set.ops {
        if !matches!(op, Op::Put(_)) {
            continue;
        }
        let dir = format!("{path}/");
        if let Some((under, _)) = set
            .ops
            .range(dir.clone()..)
            .take_while(|(p, _)| p.starts_with(&dir))
            .find(|(_, op)| matches!(op, Op::Put(_)))
        {
            return Err(Error::UnsafePath {
                path: under.clone(),
                version: None,
                reason: format!(
                    "the same write puts a file at `{path}`, which would have to be a directory"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_put_or_delete_of_a_path_replaces_the_earlier_one() {
        let set = WriteSet::new()
            .put("a", "1")
            .delete("a")
            .delete("b")
            .put("b", "2")
            .note("x")
            .note("y")
            .expect("c", None)
            .expect("c", Some(ObjectHash::of(b"c")));
        assert!(matches!(set.ops["a"], Op::Delete));
        assert!(matches!(&set.ops["b"], Op::Put(b) if b == b"2"));
        assert_eq!(set.note.as_deref(), Some(&b"y"[..]));
        assert_eq!(set.expects["c"], Some(ObjectHash::of(b"c")));
        assert!(!set.is_empty());
        assert!(WriteSet::new().expect("a", None).note("n").is_empty());
    }

    #[test]
    fn set_paths_are_checked_before_any_file_system_access() {
        let ok = WriteSet::new()
            .put("a", "")
            .put("a-b", "")
            .delete("a/b")
            .put("ab/c", "");
        assert!(check_set_paths(&ok).is_ok(), "deleting under a put is fine");
        for bad in [
            WriteSet::new().put("x", "").put("x/y/z", ""),
            WriteSet::new().put("../x", ""),
            WriteSet::new().expect(".ssot/lock", None),
            WriteSet::new().delete("/abs"),
        ] {
            assert!(
                matches!(check_set_paths(&bad), Err(Error::UnsafePath { .. })),
                "{bad:?}"
            );
        }
    }
}
