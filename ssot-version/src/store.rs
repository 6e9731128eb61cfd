//! [`VersionStore`]: opening a store, locking it, and the read-side operations
//! (resolve, get, history, diff, status, tags) plus snapshots.
//!
//! Every public operation runs under two locks: an in-process mutex (so one
//! `VersionStore` can be shared between threads) and an exclusive `File::lock` on
//! `.ssot/versions/lock` (so two processes, or two stores opened on one root, take
//! turns). Under the lock each operation first empties `tmp/`, finishes an interrupted
//! rollback or write if a journal is present, and refreshes the pack index from the `packs/`
//! listing, so state written by another process is always seen.
//!
//! Manifests read once are cached in memory. A manifest never changes (its name is
//! the hash of its bytes), so a cached one is right for as long as its file exists;
//! every use of a cached manifest checks that with one `lstat`, so a version another
//! handle or process pruned is never listed from the cache.
//!
//! Store layout under the root:
//!
//! ```text
//! .ssot/versions/
//!   lock              the cross-process lock (empty)
//!   HEAD              id of the newest version, replaced atomically
//!   tags.json         {"name": "id", ...}
//!   versions/<id>.json  manifests (see the `manifest` module)
//!   packs/<name>.pack   objects (see the `pack` module)
//!   journal           present only while a rollback or write is being applied
//!   staging/          files a rollback or write puts, written before the journal commits
//!   notes/<n>         notes of writes recovered without a hook, kept for the next
//!                     store opened with one (see `notes.rs`)
//!   statcache         the stat cache (a hint, not fsynced)
//!   clock             rewritten at each scan to read the file system's clock
//!   tmp/              temporary files, renamed into place
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::diff::Diff;
use crate::durable;
use crate::error::{Error, Result, io_err};
use crate::id::{ObjectHash, VersionId};
use crate::manifest::{self, DecodeError, FileEntry, STORE_REL, Version};
use crate::pack::{PackSet, PackWriter};
use crate::stat;
use crate::stat::{Stamp, StatKey};
use crate::statcache::StatCache;
use crate::walk::{self, Filter};
use crate::write::Written;

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;
pub(crate) type RecoverHook = Arc<dyn Fn(&Written) -> io::Result<()> + Send + Sync>;

/// Options for opening a [`VersionStore`]; start with [`VersionStore::builder`].
#[must_use = "a builder does nothing until `open` is called"]
pub struct VersionStoreBuilder {
    root: PathBuf,
    include: Vec<String>,
    exclude: Vec<String>,
    clock: Option<Clock>,
    recover_hook: Option<RecoverHook>,
}

impl VersionStoreBuilder {
    /// Tracks only files matching `glob` (and any other include). Without an include,
    /// every file is tracked. Globs match the relative `/`-path; `*` does not cross
    /// `/`, `**` does: `docs/**`, `*.md`, `**/*.yaml`.
    pub fn include(mut self, glob: impl Into<String>) -> Self {
        self.include.push(glob.into());
        self
    }

    /// Never tracks files matching `glob`, and skips directories matching it without
    /// descending: `target`, `**/*.tmp`, `.git`. Excluded files are neither
    /// snapshotted nor touched by a rollback. `.ssot/versions` is always excluded.
    pub fn exclude(mut self, glob: impl Into<String>) -> Self {
        self.exclude.push(glob.into());
        self
    }

    /// The clock that stamps new versions and that [`VersionStore::prune`] measures
    /// ages against (default: [`SystemTime::now`]). For tests and replays.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Called by recovery (whoever next locks the store after a crash: opening is
    /// enough) once a pending [`write`](VersionStore::write) has been rolled forward,
    /// with its [`Written`] (note included), after the files are in place and before
    /// the journal is removed. It must be idempotent: if recovery itself is
    /// interrupted, or `f` fails, it runs again at the next lock. If it fails, the
    /// operation that locked the store (opening included) fails with
    /// [`Error::Finish`] and the journal stays. Not called for a pending rollback
    /// (which has no note).
    ///
    /// Give the same hook every time the store is opened, like the globs: a process
    /// that opens the store without it finishes a pending write without calling it,
    /// but keeps the write's note (if not empty) in `.ssot/versions/notes/`, and the
    /// next operation of a store opened with a hook gives it the kept notes first,
    /// oldest first, then deletes them (see the `notes` module).
    /// The hook runs under the store's lock: it must not call this store (that would
    /// deadlock); it may write its own files (an audit log).
    pub fn on_recover(
        mut self,
        f: impl Fn(&Written) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.recover_hook = Some(Arc::new(f));
        self
    }

    /// Opens the store, creating `.ssot/versions` if needed, and finishes any rollback
    /// or write a crash interrupted.
    ///
    /// # Errors
    /// [`Error::Io`] if the root is not a directory or the store cannot be created,
    /// [`Error::Glob`] for a bad pattern, [`Error::UnsafePath`] if `.ssot`,
    /// `.ssot/versions` or one of the store's own directories or files is a symbolic
    /// link, and anything recovery can fail with.
    pub fn open(self) -> Result<VersionStore> {
        let root =
            fs::canonicalize(&self.root).map_err(io_err("open the root directory", &self.root))?;
        let meta = fs::metadata(&root).map_err(io_err("open the root directory", &root))?;
        if !meta.is_dir() {
            return Err(Error::Io {
                action: "open the root directory",
                path: root,
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let filter = Filter::new(&self.include, &self.exclude)?;
        let mut store = root.clone();
        for part in STORE_REL.split('/') {
            let parent = store.clone();
            store.push(part);
            // Create, then check what is there: race-free when another process opens
            // the same root at the same moment. A new directory's entry is made
            // durable, or a crash could lose the whole store after its first snapshot.
            match fs::create_dir(&store) {
                Ok(()) => durable::sync_dir(&parent)?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err("create", &store)(e)),
            }
            match fs::symlink_metadata(&store) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::UnsafePath {
                        path: store.display().to_string(),
                        version: None,
                        reason: "the store directory must be a real directory under the root, not a symbolic link or file".into(),
                    });
                }
                Err(e) => return Err(io_err("stat", &store)(e)),
            }
        }
        let dirs = Dirs::new(store);
        let mut created = false;
        for dir in [&dirs.packs, &dirs.versions, &dirs.tmp, &dirs.staging] {
            match fs::create_dir(dir) {
                Ok(()) => created = true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err("create", dir)(e)),
            }
        }
        if created {
            durable::sync_dir(&dirs.store)?;
        }
        dirs.check_no_links()?;
        let lock_file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&dirs.lock)
            .map_err(io_err("open", &dirs.lock))?;
        let store = VersionStore {
            inner: Mutex::new(Inner {
                packs: PackSet::new(dirs.packs.clone()),
                manifests: HashMap::new(),
                stat: StatCache::load(&dirs.statcache),
                files_read: 0,
            }),
            root,
            dirs,
            filter,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemTime::now)),
            recover_hook: self.recover_hook,
            lock_file,
        };
        store.locked(|_| Ok(()))?;
        Ok(store)
    }
}

pub(crate) struct Dirs {
    pub(crate) store: PathBuf,
    pub(crate) packs: PathBuf,
    pub(crate) versions: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) staging: PathBuf,
    pub(crate) head: PathBuf,
    pub(crate) tags: PathBuf,
    pub(crate) journal: PathBuf,
    pub(crate) statcache: PathBuf,
    pub(crate) lock: PathBuf,
    /// Notes kept by a recovery that ran without a hook (see `notes.rs`).
    pub(crate) notes: PathBuf,
}

impl Dirs {
    fn new(store: PathBuf) -> Dirs {
        Dirs {
            packs: store.join("packs"),
            versions: store.join("versions"),
            tmp: store.join("tmp"),
            staging: store.join("staging"),
            head: store.join("HEAD"),
            tags: store.join("tags.json"),
            journal: store.join("journal"),
            statcache: store.join("statcache"),
            lock: store.join("lock"),
            notes: store.join("notes"),
            store,
        }
    }

    /// Refuses a store whose own directories or files are symbolic links (or not of
    /// the expected kind). A tree received from elsewhere may carry a crafted
    /// `.ssot/versions`: emptying a linked `tmp/` or rewriting a linked `clock` would
    /// delete or change files outside the root.
    fn check_no_links(&self) -> Result<()> {
        let dirs = [&self.packs, &self.versions, &self.tmp, &self.staging];
        let clock = self.store.join("clock");
        let files = [
            &self.head,
            &self.tags,
            &self.journal,
            &self.statcache,
            &self.lock,
            &clock,
        ];
        let refuse = |path: &Path, what: &str| Error::UnsafePath {
            path: path.display().to_string(),
            version: None,
            reason: format!(
                "the store's own {what} is a symbolic link or of the wrong kind, which could make the store change files outside the root; remove it (or the whole store) if you did not put it there"
            ),
        };
        for dir in dirs {
            match fs::symlink_metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(refuse(dir, "directory")),
                Err(e) => return Err(io_err("stat", dir)(e)),
            }
        }
        for file in files {
            match fs::symlink_metadata(file) {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Err(refuse(file, "file")),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("stat", file)(e)),
            }
        }
        Ok(())
    }

    pub(crate) fn manifest(&self, id: &VersionId) -> PathBuf {
        self.versions.join(format!("{id}.json"))
    }
}

pub(crate) struct Inner {
    pub(crate) packs: PackSet,
    pub(crate) manifests: HashMap<VersionId, Version>,
    pub(crate) stat: StatCache,
    /// Files whose contents scans have read (the stat cache missed), for tests.
    pub(crate) files_read: u64,
}

/// A store of versions of the files under one root directory.
///
/// See the [crate documentation](crate) for the model, the guarantees and the cost of
/// each operation. All methods take `&self`; a store may be shared between threads,
/// and several processes may open the same root: operations take turns under a lock.
pub struct VersionStore {
    pub(crate) root: PathBuf,
    pub(crate) dirs: Dirs,
    pub(crate) filter: Filter,
    pub(crate) clock: Clock,
    pub(crate) recover_hook: Option<RecoverHook>,
    lock_file: File,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for VersionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionStore")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

struct Unlock<'a>(&'a File);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        // Closing the file would release the lock too; an unlock error leaves nothing
        // to clean up.
        let _ = self.0.unlock();
    }
}

/// Collects the objects a scan must store, creating the pack only when one is needed.
pub(crate) struct Sink<'a> {
    tmp: &'a Path,
    pub(crate) writer: Option<PackWriter>,
}

impl VersionStore {
    /// Opens (creating if needed) the store of the directory `root`, tracking every
    /// file. Use [`VersionStore::builder`] for include and exclude globs.
    ///
    /// # Errors
    /// As [`VersionStoreBuilder::open`].
    pub fn open(root: impl AsRef<Path>) -> Result<VersionStore> {
        VersionStore::builder(root).open()
    }

    /// Options for opening the store of `root`.
    pub fn builder(root: impl AsRef<Path>) -> VersionStoreBuilder {
        VersionStoreBuilder {
            root: root.as_ref().to_owned(),
            include: Vec::new(),
            exclude: Vec::new(),
            clock: None,
            recover_hook: None,
        }
    }

    /// The root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store directory, `<root>/.ssot/versions`.
    pub fn store_dir(&self) -> &Path {
        &self.dirs.store
    }

    /// Runs `f` under both locks, after the housekeeping every operation needs.
    pub(crate) fn locked<T>(&self, f: impl FnOnce(&mut Inner) -> Result<T>) -> Result<T> {
        let mut inner: MutexGuard<'_, Inner> =
            self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        self.lock_file
            .lock()
            .map_err(io_err("lock", &self.dirs.lock))?;
        let _unlock = Unlock(&self.lock_file);
        empty_dir(&self.dirs.tmp)?;
        // Notes an earlier recovery kept for want of a hook come first: they are of
        // writes older than any journal present now.
        if self.recover_hook.is_some() {
            self.deliver_notes(&mut inner)?;
        }
        if self.dirs.journal.exists() {
            inner.packs.refresh()?;
            self.recover(&mut inner)?;
        } else {
            empty_dir(&self.dirs.staging)?;
        }
        inner.packs.refresh()?;
        f(&mut inner)
    }

    // ----- reading -----

    pub(crate) fn read_head(&self) -> Result<Option<VersionId>> {
        let text = match fs::read_to_string(&self.dirs.head) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", &self.dirs.head)(e)),
        };
        // `HEAD` is only ever written whole, by a rename, so an empty one is damage:
        // reading it as "no version yet" would start a new, parentless history.
        let text = text.trim();
        text.parse().map(Some).map_err(|_| Error::CorruptStore {
            path: self.dirs.head.clone(),
            reason: format!(
                "`{text}` is not a version id; it must name the newest version: write that version's id (a file name in `versions/`) into it, or restore the store from a backup"
            ),
        })
    }

    pub(crate) fn load_version(&self, inner: &mut Inner, id: &VersionId) -> Result<Version> {
        let path = self.dirs.manifest(id);
        if let Some(v) = inner.manifests.get(id) {
            // A manifest never changes (its name is its hash), but another handle or
            // process may have pruned it: one `lstat` tells.
            match fs::symlink_metadata(&path) {
                Ok(_) => return Ok(v.clone()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    inner.manifests.remove(id);
                    return Err(Error::UnknownVersion {
                        spec: id.to_string(),
                    });
                }
                Err(e) => return Err(io_err("stat", &path)(e)),
            }
        }
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::UnknownVersion {
                    spec: id.to_string(),
                });
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let version = manifest::decode(id, &bytes).map_err(|e| decode_error(e, &path, id))?;
        inner.manifests.insert(id.clone(), version.clone());
        Ok(version)
    }

    /// Every version id in the store, sorted.
    pub(crate) fn list_ids(&self) -> Result<Vec<VersionId>> {
        let mut ids = Vec::new();
        for entry in
            fs::read_dir(&self.dirs.versions).map_err(io_err("list", &self.dirs.versions))?
        {
            let entry = entry.map_err(io_err("list", &self.dirs.versions))?;
            if let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<VersionId>().ok())
            {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    pub(crate) fn read_tags(&self) -> Result<BTreeMap<String, VersionId>> {
        let bytes = match fs::read(&self.dirs.tags) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(io_err("read", &self.dirs.tags)(e)),
        };
        let raw: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|e| Error::CorruptStore {
                path: self.dirs.tags.clone(),
                reason: format!("not a tag map: {e}"),
            })?;
        raw.into_iter()
            .map(|(name, id)| match id.parse() {
                Ok(id) => Ok((name, id)),
                Err(_) => Err(Error::CorruptStore {
                    path: self.dirs.tags.clone(),
                    reason: format!("tag `{name}` names `{id}`, which is not a version id"),
                }),
            })
            .collect()
    }

    pub(crate) fn write_tags(&self, tags: &BTreeMap<String, VersionId>) -> Result<()> {
        let raw: BTreeMap<&str, &str> =
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Pretty, for a person reading a damaged store; an encoding error is returned
        // before anything is written, never replaced by an empty tag file.
        let bytes = serde_json::to_vec_pretty(&raw).map_err(|source| Error::Encode {
            what: "the tags",
            source,
        })?;
        durable::write_atomic(&self.dirs.tmp, &self.dirs.tags, &bytes, None, true)?;
        durable::sync_dir(&self.dirs.store)
    }

    pub(crate) fn resolve_locked(&self, spec: &str) -> Result<VersionId> {
        if let Some(id) = self.read_tags()?.remove(spec) {
            return Ok(id);
        }
        let prefix = spec.to_ascii_lowercase();
        if prefix.is_empty()
            || prefix.len() > VersionId::LEN
            || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(Error::UnknownVersion {
                spec: spec.to_owned(),
            });
        }
        let mut matches: Vec<VersionId> = self
            .list_ids()?
            .into_iter()
            .filter(|id| id.as_str().starts_with(&prefix))
            .collect();
        match matches.len() {
            0 => Err(Error::UnknownVersion {
                spec: spec.to_owned(),
            }),
            1 => Ok(matches.remove(0)),
            _ => Err(Error::AmbiguousVersion {
                prefix: spec.to_owned(),
                candidates: matches,
            }),
        }
    }

    /// The id of the version named by `spec`: a tag name, a full id, or a unique
    /// prefix of one (any case).
    ///
    /// # Errors
    /// [`Error::UnknownVersion`] if nothing matches, [`Error::AmbiguousVersion`] (listing
    /// every candidate) if a prefix matches several versions.
    pub fn resolve(&self, spec: &str) -> Result<VersionId> {
        self.locked(|_| self.resolve_locked(spec))
    }

    /// The version named by `spec` (see [`resolve`](Self::resolve)).
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve); [`Error::CorruptStore`] or
    /// [`Error::UnsafePath`] if its manifest is damaged or crafted.
    pub fn get(&self, spec: &str) -> Result<Version> {
        self.locked(|inner| {
            let id = self.resolve_locked(spec)?;
            self.load_version(inner, &id)
        })
    }

    /// The bytes of file `path` (relative, `/`-separated) as version `spec` (see
    /// [`resolve`](Self::resolve)) recorded it; `None` if the version has no such
    /// file. The object is read from its pack and re-hashed. Cost: the lock, one
    /// pack read of the file's size.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`Error::MissingObject`] if the store lost the object;
    /// [`Error::CorruptObject`] if its bytes do not match their hash.
    pub fn read_file(&self, spec: &str, path: &str) -> Result<Option<Vec<u8>>> {
        self.locked(|inner| {
            let id = self.resolve_locked(spec)?;
            let version = self.load_version(inner, &id)?;
            let Some(entry) = version.file(path) else {
                return Ok(None);
            };
            inner
                .packs
                .read(&entry.hash)?
                .map(Some)
                .ok_or_else(|| Error::MissingObject {
                    hash: entry.hash,
                    path: path.to_owned(),
                    version: id.clone(),
                })
        })
    }

    /// The newest version, or `None` before the first snapshot.
    ///
    /// # Errors
    /// [`Error::CorruptStore`] if `HEAD` or its manifest is damaged.
    pub fn head(&self) -> Result<Option<Version>> {
        self.locked(|inner| match self.read_head()? {
            Some(id) => self.load_version(inner, &id).map(Some),
            None => Ok(None),
        })
    }

    /// The versions from the newest back along parents, newest first. The walk stops
    /// at the first version and at a parent that [`prune`](Self::prune) removed.
    ///
    /// # Errors
    /// [`Error::CorruptStore`] if a manifest on the way is damaged.
    pub fn history(&self) -> Result<Vec<Version>> {
        self.locked(|inner| {
            let mut out = Vec::new();
            let mut next = self.read_head()?;
            let mut seen = HashSet::new();
            while let Some(id) = next {
                if !seen.insert(id.clone()) {
                    break;
                }
                let version = match self.load_version(inner, &id) {
                    Ok(v) => v,
                    Err(Error::UnknownVersion { .. }) if !out.is_empty() => break,
                    Err(e) => return Err(e),
                };
                next = version.parent.clone();
                out.push(version);
            }
            Ok(out)
        })
    }

    /// What changed from version `from` to version `to`.
    ///
    /// # Errors
    /// As [`get`](Self::get) for either version.
    pub fn diff(&self, from: &str, to: &str) -> Result<Diff> {
        self.locked(|inner| {
            let a = self.resolve_locked(from)?;
            let b = self.resolve_locked(to)?;
            let a = self.load_version(inner, &a)?;
            let b = self.load_version(inner, &b)?;
            Ok(Diff::between(a.files(), b.files()))
        })
    }

    /// How the tracked files under the root differ from the newest version (all files
    /// are "added" before the first snapshot). Reads only files whose stat changed.
    ///
    /// # Errors
    /// [`Error::Io`] if the tree cannot be read.
    pub fn status(&self) -> Result<Diff> {
        self.locked(|inner| {
            let stamp = stat::fs_now(&self.dirs.store)?;
            let files = self.scan(inner, "", None, stamp)?;
            inner.stat.save(&self.dirs.statcache, &self.dirs.tmp)?;
            let head = match self.read_head()? {
                Some(id) => Some(self.load_version(inner, &id)?),
                None => None,
            };
            Ok(Diff::between(
                head.as_ref().map_or(&[][..], |h| h.files()),
                &files,
            ))
        })
    }

    /// Every tag and the version it names.
    ///
    /// # Errors
    /// [`Error::CorruptStore`] if `tags.json` is damaged.
    pub fn tags(&self) -> Result<BTreeMap<String, VersionId>> {
        self.locked(|_| self.read_tags())
    }

    /// Names the version `spec` `name`. Tagged versions survive
    /// [`prune`](Self::prune) (unless the policy says otherwise) and `name` resolves to
    /// the version. Re-tagging the same version is a no-op.
    ///
    /// # Errors
    /// [`Error::InvalidTag`] for a bad name or one already naming another version
    /// ([`untag`](Self::untag) it first); resolution errors as [`resolve`](Self::resolve).
    pub fn tag(&self, spec: &str, name: &str) -> Result<VersionId> {
        check_tag_name(name)?;
        self.locked(|_| {
            let id = self.resolve_locked(spec)?;
            let mut tags = self.read_tags()?;
            match tags.get(name) {
                Some(existing) if *existing == id => return Ok(id),
                Some(_) => {
                    return Err(Error::InvalidTag {
                        name: name.to_owned(),
                        reason: "it already names another version; untag it first to move it",
                    });
                }
                None => {}
            }
            tags.insert(name.to_owned(), id.clone());
            self.write_tags(&tags)?;
            Ok(id)
        })
    }

    /// Removes a tag; returns the version it named, or `None` if there was no such tag.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::CorruptStore`] for the tag file.
    pub fn untag(&self, name: &str) -> Result<Option<VersionId>> {
        self.locked(|_| {
            let mut tags = self.read_tags()?;
            let removed = tags.remove(name);
            if removed.is_some() {
                self.write_tags(&tags)?;
            }
            Ok(removed)
        })
    }

    // ----- snapshots -----

    /// Records every tracked file under the root as a new version and makes it the
    /// newest, and returns it.
    ///
    /// A snapshot of a tree equal to the newest version (every tracked path with the
    /// same content and executable bit) is empty, and an empty snapshot is no version:
    /// like git, which refuses an empty commit, nothing is written, and the newest
    /// version is returned as it is (with its own description). Compare its
    /// [`id`](Version::id) with the previous head's to tell. Such a snapshot costs the
    /// scan only: one `lstat` per tracked file once the stat cache has settled, no
    /// file read, no fsync.
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be read or the store written,
    /// [`Error::UnsafePath`] for a file name that is not UTF-8.
    pub fn snapshot(&self, description: &str) -> Result<Version> {
        self.locked(|inner| self.snapshot_locked(inner, description))
    }

    pub(crate) fn snapshot_locked(&self, inner: &mut Inner, description: &str) -> Result<Version> {
        self.snapshot_locked_with(inner, description, &[])
    }

    /// A snapshot of the whole tree that also records each of `extra` (relative
    /// paths) that is a regular file the scan skipped because the globs exclude it:
    /// recovery uses it so that an edit it must keep is recorded whatever the globs.
    pub(crate) fn snapshot_locked_with(
        &self,
        inner: &mut Inner,
        description: &str,
        extra: &[String],
    ) -> Result<Version> {
        let stamp = stat::fs_now(&self.dirs.store)?;
        let mut sink = Sink {
            tmp: &self.dirs.tmp,
            writer: None,
        };
        let mut files = self.scan(inner, "", Some(&mut sink), stamp)?;
        let mut added = false;
        for rel in extra {
            if files.binary_search_by(|f| f.path.as_str().cmp(rel)).is_ok()
                || self.has_symlink_ancestor(rel)?
            {
                continue;
            }
            let path = walk::under(&self.root, rel);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() => {
                    if let Some(f) = self.scan_one(inner, rel, &m, Some(&mut sink), stamp)? {
                        files.push(f);
                        added = true;
                    }
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) => {}
                Err(e) => return Err(io_err("stat", &path)(e)),
            }
        }
        if added {
            files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        }
        let seen: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        inner.stat.retain_seen(&|p| seen.contains(p));
        let parent = self.read_head()?;
        let version = self.commit(inner, sink, parent.as_ref(), description, files)?;
        inner.stat.save(&self.dirs.statcache, &self.dirs.tmp)?;
        Ok(version)
    }

    /// Records a new version that is the newest one with only the given paths
    /// re-read: a listed file is updated (or dropped if it no longer exists); a listed
    /// directory has all its tracked files re-read. Paths are relative to the root or
    /// absolute under it. Before the first snapshot the version holds just these paths.
    /// If nothing changed, no version is written and the newest is returned, as for
    /// [`snapshot`](Self::snapshot).
    ///
    /// # Errors
    /// [`Error::OutsideRoot`] for a path not under the root, [`Error::UnsafePath`] for
    /// one with `..`, inside the store, through a symbolic link or excluded by the globs; as
    /// [`snapshot`](Self::snapshot) otherwise.
    pub fn snapshot_paths<P: AsRef<Path>>(
        &self,
        description: &str,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Version> {
        let rels = paths
            .into_iter()
            .map(|p| self.relativize(p.as_ref()))
            .collect::<Result<Vec<String>>>()?;
        self.locked(|inner| {
            let parent = self.read_head()?;
            let mut files: BTreeMap<String, FileEntry> = match &parent {
                Some(id) => self
                    .load_version(inner, id)?
                    .files()
                    .iter()
                    .map(|f| (f.path.clone(), f.clone()))
                    .collect(),
                None => BTreeMap::new(),
            };
            let stamp = stat::fs_now(&self.dirs.store)?;
            let mut sink = Sink {
                tmp: &self.dirs.tmp,
                writer: None,
            };
            for rel in &rels {
                let dir_prefix = format!("{rel}/");
                files.retain(|p, _| p != rel && !p.starts_with(&dir_prefix));
                let path = walk::under(&self.root, rel);
                // A link on the way would make us read (and record) files outside the
                // root; the walk never follows links, and neither does this.
                if self.has_symlink_ancestor(rel)? {
                    return Err(Error::UnsafePath {
                        path: rel.clone(),
                        version: None,
                        reason: "a directory on the way is a symbolic link, which the store does not follow; give the path under the link's target instead".into(),
                    });
                }
                let excluded = |dir: &str| Error::UnsafePath {
                    path: rel.clone(),
                    version: None,
                    reason: format!("the store's exclude globs exclude the directory `{dir}`"),
                };
                if let Some((i, _)) = rel
                    .match_indices('/')
                    .find(|&(i, _)| self.filter.skips_dir(&rel[..i]))
                {
                    return Err(excluded(&rel[..i]));
                }
                match fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => {
                        if self.filter.skips_dir(rel) {
                            return Err(excluded(rel));
                        }
                        for f in self.scan(inner, rel, Some(&mut sink), stamp)? {
                            files.insert(f.path.clone(), f);
                        }
                    }
                    Ok(m) if m.is_file() => {
                        if !self.filter.tracks_file(rel) {
                            return Err(Error::UnsafePath {
                                path: rel.clone(),
                                version: None,
                                reason: "the store's include/exclude globs exclude it".into(),
                            });
                        }
                        if let Some(f) = self.scan_one(inner, rel, &m, Some(&mut sink), stamp)? {
                            files.insert(f.path.clone(), f);
                        }
                    }
                    Ok(_) => {}
                    // Gone, or a directory on the way is now a file: dropped.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                        ) => {}
                    Err(e) => return Err(io_err("stat", &path)(e)),
                }
            }
            let files: Vec<FileEntry> = files.into_values().collect();
            let version = self.commit(inner, sink, parent.as_ref(), description, files)?;
            inner.stat.save(&self.dirs.statcache, &self.dirs.tmp)?;
            Ok(version)
        })
    }

    fn relativize(&self, path: &Path) -> Result<String> {
        let rel = if path.is_absolute() {
            let canonical_parent = path.parent().and_then(|p| fs::canonicalize(p).ok());
            let candidate = match (canonical_parent, path.file_name()) {
                (Some(parent), Some(name)) => parent.join(name),
                _ => path.to_owned(),
            };
            match candidate.strip_prefix(&self.root) {
                Ok(r) => r.to_owned(),
                Err(_) => {
                    return Err(Error::OutsideRoot {
                        path: path.to_owned(),
                        root: self.root.clone(),
                    });
                }
            }
        } else {
            path.to_owned()
        };
        let mut parts = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(s) => match s.to_str() {
                    Some(s) => parts.push(s),
                    None => {
                        return Err(Error::UnsafePath {
                            path: path.display().to_string(),
                            version: None,
                            reason: "the path is not valid UTF-8".into(),
                        });
                    }
                },
                Component::CurDir => {}
                _ => {
                    return Err(Error::UnsafePath {
                        path: path.display().to_string(),
                        version: None,
                        reason: "`..` and prefixes are not allowed; give a path under the root"
                            .into(),
                    });
                }
            }
        }
        let rel = parts.join("/");
        manifest::check_rel_path(&rel).map_err(|reason| Error::UnsafePath {
            path: path.display().to_string(),
            version: None,
            reason: reason.into(),
        })?;
        Ok(rel)
    }

    /// Makes a snapshot durable and moves `HEAD` to it, in three rounds of fsyncs
    /// (four with new content) whatever its size: (1) the pack, the manifest and the
    /// new `HEAD` are written to temporary files and fsynced together; (2) the pack is
    /// renamed into place and `packs/` fsynced (only with new content); (3) the
    /// manifest is renamed and `versions/` fsynced; (4) `HEAD` is renamed over the old
    /// one and the store directory fsynced. No manifest can name a lost object and
    /// `HEAD` never names a version whose manifest or objects could be lost.
    ///
    /// An empty snapshot is no version: if `files` are exactly the parent's (`HEAD`'s)
    /// and the scan found no object missing from the store, nothing is written and
    /// the parent is returned. (A parent whose manifest cannot be read is no reason to
    /// refuse a snapshot, which records the tree whole: one is then written.)
    fn commit(
        &self,
        inner: &mut Inner,
        sink: Sink<'_>,
        parent: Option<&VersionId>,
        description: &str,
        files: Vec<FileEntry>,
    ) -> Result<Version> {
        let new_objects = sink.writer.as_ref().is_some_and(|w| !w.is_empty());
        if let Some(parent) = parent
            && !new_objects
        {
            match self.load_version(inner, parent) {
                Ok(head) if manifest::same_files(head.files(), &files) => return Ok(head),
                Ok(_) | Err(Error::UnknownVersion { .. } | Error::CorruptStore { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let created = (self.clock)();
        let (id, text) = manifest::encode(parent, description, created, None, &files)?;
        let bytes = text.into_bytes();
        let pack = match sink.writer {
            Some(w) if !w.is_empty() => Some(w.seal()?),
            _ => None,
        };
        let manifest_tmp = durable::temp_file(&self.dirs.tmp, &bytes)?;
        let head_tmp = durable::temp_file(&self.dirs.tmp, format!("{id}\n").as_bytes())?;
        let mut round: Vec<&Path> = vec![manifest_tmp.path(), head_tmp.path()];
        if let Some((tmp, _)) = &pack {
            round.push(tmp.path());
        }
        durable::sync_paths(&round)?;
        // The pack's entry is made durable before the manifest's, so that no manifest
        // on disk can ever name objects a crash lost.
        if let Some((tmp, name)) = pack {
            durable::persist(tmp, &self.dirs.packs.join(name))?;
            durable::sync_dir(&self.dirs.packs)?;
        }
        durable::persist(manifest_tmp, &self.dirs.manifest(&id))?;
        durable::sync_dir(&self.dirs.versions)?;
        durable::persist(head_tmp, &self.dirs.head)?;
        durable::sync_dir(&self.dirs.store)?;
        inner.packs.refresh()?;
        let version = Version {
            id: id.clone(),
            parent: parent.cloned(),
            description: description.to_owned(),
            created: manifest::normalize_time(created),
            restored_from: None,
            files: files.into(),
        };
        inner.manifests.insert(id, version.clone());
        Ok(version)
    }

    /// The tracked files under `root/start`, sorted by path, hashed through the stat
    /// cache. With a sink, every object the store lacks is added to it.
    pub(crate) fn scan(
        &self,
        inner: &mut Inner,
        start: &str,
        mut sink: Option<&mut Sink<'_>>,
        stamp: Stamp,
    ) -> Result<Vec<FileEntry>> {
        let mut found = Vec::new();
        walk::walk(&self.root, start, &self.filter, &mut found)?;
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut files = Vec::with_capacity(found.len());
        for (rel, meta) in found {
            if let Some(f) = self.scan_one(inner, &rel, &meta, sink.as_deref_mut(), stamp)? {
                files.push(f);
            }
        }
        Ok(files)
    }

    fn scan_one(
        &self,
        inner: &mut Inner,
        rel: &str,
        meta: &fs::Metadata,
        sink: Option<&mut Sink<'_>>,
        stamp: Stamp,
    ) -> Result<Option<FileEntry>> {
        let key = StatKey::of(meta);
        if let Some(hash) = inner.stat.lookup(rel, &key) {
            let stored = match &sink {
                None => true,
                Some(s) => {
                    inner.packs.contains(&hash)
                        || s.writer.as_ref().is_some_and(|w| w.contains(&hash))
                }
            };
            if stored {
                return Ok(Some(FileEntry::new(
                    rel,
                    key.size,
                    hash,
                    stat::is_executable(meta),
                )));
            }
        }
        let path = walk::under(&self.root, rel);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                inner.stat.forget(rel);
                return Ok(None);
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let mut bytes =
            Vec::with_capacity(usize::try_from(key.size).unwrap_or(0).saturating_add(1));
        file.read_to_end(&mut bytes)
            .map_err(io_err("read", &path))?;
        inner.files_read += 1;
        let after = file.metadata().map_err(io_err("stat", &path))?;
        let hash = ObjectHash::of(&bytes);
        inner.stat.record(rel, StatKey::of(&after), hash, stamp);
        if let Some(sink) = sink
            && !inner.packs.contains(&hash)
        {
            let writer = match &mut sink.writer {
                Some(w) => w,
                None => sink.writer.insert(PackWriter::new(sink.tmp)?),
            };
            writer.add(hash, &bytes)?;
        }
        Ok(Some(FileEntry::new(
            rel,
            bytes.len() as u64,
            hash,
            stat::is_executable(&after),
        )))
    }
}

pub(crate) fn decode_error(e: DecodeError, path: &Path, id: &VersionId) -> Error {
    match e {
        DecodeError::Corrupt(reason) => Error::CorruptStore {
            path: path.to_owned(),
            reason,
        },
        DecodeError::UnsafePath { path, reason } => Error::UnsafePath {
            path,
            version: Some(id.clone()),
            reason,
        },
    }
}

/// Removes every entry of a store-internal scratch directory.
pub(crate) fn empty_dir(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("list", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err("list", dir))?;
        let path = entry.path();
        let result = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &path)(e)),
        }
    }
    Ok(())
}

fn check_tag_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidTag {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 128 {
        return bad("tag names have 1 to 128 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return bad("tag names use only letters, digits, `-`, `_`, `.` and `/`");
    }
    if name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad(
            "a tag name made only of hex digits would hide id prefixes; add a letter such as `v`",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_read(store: &VersionStore) -> u64 {
        store.inner.lock().unwrap().files_read
    }

    /// Waits (without sleeping on a timer) until the file system's clock has moved
    /// past every file's last change, so the next scan can settle them.
    fn wait_for_fs_clock_past(store: &VersionStore, root: &Path) {
        let newest = fs::read_dir(root)
            .unwrap()
            .map(|e| StatKey::of(&e.unwrap().metadata().unwrap()))
            .map(|k| k.mtime.max(k.ctime))
            .max()
            .unwrap();
        while stat::fs_now(&store.dirs.store).unwrap() <= newest {
            std::thread::yield_now();
        }
    }

    #[test]
    fn an_unchanged_tree_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            fs::write(dir.path().join(format!("f{i}")), format!("content {i}")).unwrap();
        }
        let store = VersionStore::open(dir.path()).unwrap();
        store.snapshot("first").unwrap();
        assert_eq!(files_read(&store), 20);
        wait_for_fs_clock_past(&store, dir.path());
        // This scan may re-read files that were racily clean; it settles them all.
        store.snapshot("second").unwrap();
        let before = files_read(&store);
        let third = store.snapshot("third").unwrap();
        assert_eq!(files_read(&store), before, "no file was read");
        assert_eq!(third.files().len(), 20);

        // A changed file is read, and only it.
        fs::write(dir.path().join("f3"), "changed!!").unwrap();
        let fourth = store.snapshot("fourth").unwrap();
        assert_eq!(files_read(&store), before + 1);
        assert_eq!(
            fourth.file("f3").unwrap().hash,
            ObjectHash::of(b"changed!!")
        );
    }

    #[test]
    fn a_same_size_rewrite_within_one_tick_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let store = VersionStore::open(dir.path()).unwrap();
        for i in 0..50u32 {
            let content = format!("{:08}", i);
            fs::write(&path, &content).unwrap();
            let v = store.snapshot("s").unwrap();
            assert_eq!(
                v.file("f").unwrap().hash,
                ObjectHash::of(content.as_bytes()),
                "round {i}"
            );
        }
    }

    #[test]
    fn the_stat_cache_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            fs::write(dir.path().join(format!("f{i}")), "x").unwrap();
        }
        {
            let store = VersionStore::open(dir.path()).unwrap();
            store.snapshot("a").unwrap();
            wait_for_fs_clock_past(&store, dir.path());
            store.snapshot("b").unwrap();
        }
        let store = VersionStore::open(dir.path()).unwrap();
        store.snapshot("c").unwrap();
        assert_eq!(files_read(&store), 0);
    }
}
