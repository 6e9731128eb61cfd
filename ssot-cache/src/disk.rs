//! [`DiskTier`]: a persistent tier, one checksummed file per entry in a directory.
//!
//! The file format and the choice of postcard are documented on [`DiskTier`].
//!
//! # Which files are ours
//!
//! The directory may hold other files. A file is an entry of this tier only if its
//! name is exactly what the tier writes (64 lowercase hex digits of a blake3 hash and
//! `.entry`) **and** it starts with the entry magic `SSOTCE01`: opening reads those 8
//! bytes of every file so named. Anything else is never indexed, counted towards the
//! capacity, evicted or cleared. Temporary files carry a prefix of their own
//! (`.ssot-cache-tmp-`), so a crashed writer's leftovers can be removed on open
//! without touching anyone else's `.tmp-` files. The one thing the tier does to a
//! foreign file is the one its names imply: inserting the key whose entry name it
//! has replaces it.
//!
//! # Index, file locks and recency
//!
//! The tier keeps an in-memory index (file id → size, recency, generation) under one
//! mutex, and makes **no file-system call while holding it**: a slow disk delays the
//! operations on the file concerned, never every lookup. What orders the file
//! operations on one entry instead is a small array of stripe locks (a file's stripe
//! is chosen by its id): renaming a new file into place, removing a damaged or
//! explicitly removed file, and removing an evicted file each run under the file's
//! stripe, and take the index mutex only for the bookkeeping inside. An eviction
//! forgets the victim in the index at once and removes its file afterwards, under the
//! victim's stripe and only if no writer put the key back meanwhile. For that moment
//! the directory may hold a little more than the capacity. No thread holds two
//! stripes, and the index mutex is always taken last, so the locks cannot deadlock.
//! In debug builds every file-system call asserts that its thread does not hold the
//! index mutex, so the whole test suite checks the rule.
//!
//! Opening scans the directory once and orders entries by modification time, so
//! recency across a restart is approximated by last write; within a process it is
//! exact LRU. One process owns a directory at a time: two `DiskTier`s on one directory
//! do not see each other's index (guard the directory with a lock file if processes
//! share it).
//!
//! # Platforms
//!
//! Tested on Linux. The tier relies on Unix semantics: a rename replaces a file that
//! another thread is reading, and a directory can be opened and flushed (for
//! [`sync_writes`](DiskTierBuilder::sync_writes)). Neither holds on Windows with the
//! standard library alone, so the crate refuses to build outside Unix rather than
//! offer a disk tier that fails under concurrent use or claims durability it lacks.

use std::borrow::Borrow;
#[cfg(debug_assertions)]
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, MutexGuard};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::tier::{Tier, TierEntry};

const MAGIC: &[u8; 8] = b"SSOTCE01";
const HEADER: usize = 8 + 8 + 8 + 4 + 4;
const CHECKSUM: usize = 32;
const EXTENSION: &str = "entry";
const TEMP_PREFIX: &str = ".ssot-cache-tmp-";
/// Random characters `tempfile` puts after the prefix.
const TEMP_RANDOM: usize = 12;
const NEVER: u64 = u64::MAX;
/// Stripe locks ordering the file operations of one entry (a power of two).
const STRIPES: usize = 64;

/// An entry file's id: the blake3 hash of its encoded key.
type FileId = blake3::Hash;

struct Meta {
    bytes: u64,
    stamp: u64,
    /// Changes on every write of the file, so a reader that found a corrupt file removes
    /// only that file, not a newer one written meanwhile.
    generation: u64,
}

#[derive(Default)]
struct Index {
    entries: HashMap<FileId, Meta>,
    /// Recency stamp → file; the first is the least recently used.
    lru: BTreeMap<u64, FileId>,
    total: u64,
    tick: u64,
}

impl Index {
    fn touch(&mut self, id: &FileId) -> Option<u64> {
        self.tick += 1;
        let tick = self.tick;
        let meta = self.entries.get_mut(id)?;
        self.lru.remove(&meta.stamp);
        meta.stamp = tick;
        self.lru.insert(tick, *id);
        Some(meta.generation)
    }

    fn forget(&mut self, id: &FileId) -> Option<Meta> {
        let meta = self.entries.remove(id)?;
        self.lru.remove(&meta.stamp);
        self.total -= meta.bytes;
        Some(meta)
    }

    /// Forgets least recently used entries until the total fits `capacity`; returns
    /// them, for their files to be removed once the index is released.
    fn evict_to_fit(&mut self, capacity: u64) -> Vec<FileId> {
        let mut victims = Vec::new();
        while self.total > capacity {
            let Some((_, id)) = self.lru.pop_first() else {
                break;
            };
            if let Some(meta) = self.entries.remove(&id) {
                self.total -= meta.bytes;
            }
            victims.push(id);
        }
        victims
    }
}

#[cfg(debug_assertions)]
thread_local! {
    /// How many index guards this thread holds (debug builds check the rule below).
    static INDEX_HELD: Cell<u32> = const { Cell::new(0) };
}

/// The index mutex's guard. In debug builds it counts itself in [`INDEX_HELD`], so
/// that [`no_index_held`] can prove no file-system call runs under the mutex.
struct IndexGuard<'a>(MutexGuard<'a, Index>);

impl<'a> IndexGuard<'a> {
    fn lock(index: &'a Mutex<Index>) -> IndexGuard<'a> {
        let guard = index.lock();
        #[cfg(debug_assertions)]
        INDEX_HELD.with(|n| n.set(n.get() + 1));
        IndexGuard(guard)
    }
}

impl Drop for IndexGuard<'_> {
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        INDEX_HELD.with(|n| n.set(n.get() - 1));
    }
}

impl Deref for IndexGuard<'_> {
    type Target = Index;
    fn deref(&self) -> &Index {
        &self.0
    }
}

impl DerefMut for IndexGuard<'_> {
    fn deref_mut(&mut self) -> &mut Index {
        &mut self.0
    }
}

/// Called first by every function of [`mod@file`]: the rule of the module docs.
#[inline]
fn no_index_held(action: &str) {
    #[cfg(debug_assertions)]
    INDEX_HELD.with(|n| {
        debug_assert!(
            n.get() == 0,
            "DiskTier: `{action}` would touch the file system while the index mutex is \
             held; release the index first (see the module docs)"
        );
    });
    #[cfg(not(debug_assertions))]
    let _ = action;
}

/// Every file-system call of the tier, each checking that the index is not held.
mod file {
    use super::{Error, ErrorKind, Path, Read, Result, fs, no_index_held};

    pub(super) fn read(path: &Path) -> std::io::Result<Vec<u8>> {
        no_index_held("read");
        fs::read(path)
    }

    /// Whether `path` starts with `magic` (a file too short, or unreadable, does not).
    pub(super) fn starts_with(path: &Path, magic: &[u8]) -> bool {
        no_index_held("read the magic of");
        let mut head = vec![0; magic.len()];
        fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| head == magic)
    }

    /// Removes `path`; an absent file is not an error.
    pub(super) fn remove(path: &Path) -> Result<()> {
        no_index_held("remove");
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", path, e)),
        }
    }

    pub(super) fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
        no_index_held("rename");
        tmp.persist(path)
            .map(drop)
            .map_err(|e| Error::io("rename a temporary file to", path, e.error))
    }

    pub(super) fn temp(dir: &Path, prefix: &str, random: usize) -> Result<tempfile::NamedTempFile> {
        no_index_held("create a temporary file");
        tempfile::Builder::new()
            .prefix(prefix)
            .rand_bytes(random)
            .tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file in", dir, e))
    }

    pub(super) fn sync_dir(dir: &Path) -> Result<()> {
        no_index_held("flush the directory");
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("flush the directory", dir, e))
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    evicted_capacity: AtomicU64,
    expired: AtomicU64,
    corrupt: AtomicU64,
}

/// Counters of a [`DiskTier`] since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskStats {
    /// Reads that returned a value.
    pub hits: u64,
    /// Reads that returned nothing (absent, expired or corrupt).
    pub misses: u64,
    /// Entries written.
    pub inserts: u64,
    /// Entries removed to stay within the byte capacity, or not stored because one
    /// entry alone exceeds it.
    pub evicted_capacity: u64,
    /// Entries removed because they had expired.
    pub expired: u64,
    /// Entry files found corrupt, truncated or undecodable, and removed.
    pub corrupt: u64,
}

impl DiskStats {
    /// Entries the tier dropped on its own: for capacity, expiry or damage. Not
    /// `remove`, `clear` or replacement by an insert, as in
    /// [`CacheStats::evictions`](crate::CacheStats::evictions) and
    /// [`Tier::evictions`].
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.evicted_capacity + self.expired + self.corrupt
    }
}

/// A persistent cache tier: entries in files under a directory, bounded in total
/// bytes with least-recently-used eviction, surviving a restart.
///
/// `DiskTier` is a handle: clones share the same index and directory. Every operation
/// does file-system work and returns a `Result`; a damaged entry is a miss, not an
/// error.
///
/// ```
/// use ssot_cache::DiskTier;
///
/// let dir = tempfile::tempdir()?;
/// let disk: DiskTier<String, Vec<u32>> = DiskTier::open(dir.path(), 10 << 20)?;
/// disk.insert("primes".to_string(), vec![2, 3, 5, 7])?;
/// drop(disk);
///
/// let disk: DiskTier<String, Vec<u32>> = DiskTier::open(dir.path(), 10 << 20)?;
/// assert_eq!(disk.get("primes")?, Some(vec![2, 3, 5, 7]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # File format
///
/// An entry of key `k` lives in `<dir>/<blake3(postcard(k)) in lowercase hex>.entry`.
/// Only files so named that start with the magic are entries; the tier leaves every
/// other file in the directory alone (see the module docs of `disk.rs`):
///
/// ```text
/// magic  "SSOTCE01"          8 bytes
/// type tag                   u64 LE: hash of K's and V's type names and the schema version
/// expires_at                 u64 LE, nanoseconds since the Unix epoch; u64::MAX = never
/// key length, value length   u32 LE each
/// key bytes                  postcard
/// value bytes                postcard
/// checksum                   blake3 of everything above, 32 bytes
/// ```
///
/// A file whose length, magic, checksum, type tag or stored key does not match, or
/// whose value does not decode as `V` to the last byte, is a miss, and the file is
/// removed: a torn write, a flipped bit or a changed value type can make an entry
/// disappear, never return a wrong value.
/// The key is stored so that even a hash collision could not return another key's
/// value.
///
/// Writes go to a temporary file in the same directory (`tempfile`), which is then
/// renamed over the entry: readers see the old file or the new one, never half of one.
/// Leftover temporary files of a crashed writer (named `.ssot-cache-tmp-` and 12
/// random letters or digits) are removed on open.
///
/// # Why postcard
///
/// Values are encoded with postcard: it is compact (varints, no field names, so
/// entries are little more than their data), fast, works with any serde type that
/// does not need a self-describing format, and has a stable, documented wire format
/// (1.0) maintained as part of the embedded-Rust ecosystem. Because it is not
/// self-describing, bytes written for one type can decode as another (a string's
/// bytes read as integers): hence the type tag, which makes entries written for other
/// key or value types misses, and
/// [`schema_version`](DiskTierBuilder::schema_version) for changes of shape that
/// keep a type's name.
pub struct DiskTier<K, V> {
    inner: Arc<Shared>,
    _types: PhantomData<fn(&K, &V) -> V>,
}

impl<K, V> Clone for DiskTier<K, V> {
    fn clone(&self) -> Self {
        DiskTier {
            inner: Arc::clone(&self.inner),
            _types: PhantomData,
        }
    }
}

/// What clones of a [`DiskTier`] share.
struct Shared {
    dir: PathBuf,
    /// Identifies the key and value types and the schema version in every file.
    tag: u64,
    capacity: u64,
    ttl: u64,
    sync: bool,
    clock: Arc<dyn Clock>,
    index: Mutex<Index>,
    /// Stripe locks ordering the file operations of one entry (see the module docs).
    files: Box<[Mutex<()>]>,
    counters: Counters,
    generation: AtomicU64,
}

impl Shared {
    fn index(&self) -> IndexGuard<'_> {
        IndexGuard::lock(&self.index)
    }

    fn stripe(&self, id: &FileId) -> MutexGuard<'_, ()> {
        self.files[usize::from(id.as_bytes()[0]) % STRIPES].lock()
    }

    fn path(&self, id: &FileId) -> PathBuf {
        self.dir.join(file_name(id))
    }

    /// Removes the files of evicted entries, each under its stripe and only if no
    /// writer has put its key back since it was forgotten.
    fn remove_evicted(&self, victims: Vec<FileId>) {
        for id in victims {
            let _file = self.stripe(&id);
            let back = self.index().entries.contains_key(&id);
            if !back {
                // A file that cannot be removed is already out of the index and the
                // capacity; the next open indexes it again.
                let _ = file::remove(&self.path(&id));
            }
        }
    }
}

impl<K, V> fmt::Debug for DiskTier<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskTier")
            .field("dir", &self.inner.dir)
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

/// Options of a [`DiskTier`]; start from [`DiskTier::builder`].
#[must_use = "a builder does nothing until `open` is called"]
pub struct DiskTierBuilder<K, V> {
    dir: PathBuf,
    capacity: u64,
    ttl: Option<Duration>,
    sync: bool,
    schema_version: u64,
    clock: Arc<dyn Clock>,
    _types: PhantomData<fn(&K, &V) -> V>,
}

impl<K, V> fmt::Debug for DiskTierBuilder<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskTierBuilder")
            .field("dir", &self.dir)
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

impl<K, V> DiskTierBuilder<K, V>
where
    K: Serialize,
    V: Serialize + DeserializeOwned,
{
    /// The most bytes the entry files may take together (headers and checksums
    /// included). Default: 256 MiB.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.capacity = bytes;
        self
    }

    /// The time-to-live [`DiskTier::insert`] gives entries, and the longest any entry
    /// is kept. Default: none.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Whether each write is flushed to the device (`fsync`) before it is renamed into
    /// place, and the directory flushed after the rename (on Unix), so an insert that
    /// returned survives a crash. Default: off. Without it a crash may lose recent
    /// entries, or bring back the value a lost rename replaced (a torn file is caught
    /// by its checksum); with it, each insert costs two device flushes.
    pub fn sync_writes(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// A number stored in every entry file and checked on read: change it when the
    /// meaning or shape of `K` or `V` changes without their type names changing (a
    /// field added to a struct), so entries written before are misses rather than
    /// mis-decoded. Default: 0.
    pub fn schema_version(mut self, version: u64) -> Self {
        self.schema_version = version;
        self
    }

    /// The source of time for expiry. Default: [`SystemClock`]. Deadlines are stored
    /// as wall-clock time, so they keep their meaning across a restart.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same, for a clock already shared.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Opens (creating if needed) the directory and indexes the entries in it.
    ///
    /// Cost: one `stat` of every file in the directory, and for each file named as an
    /// entry, an 8-byte read of its magic (see [`DiskTier`] for which files are
    /// entries). Leftover temporary files of this tier are removed; if the entries
    /// exceed the capacity, the least recently written are removed. Files this tier
    /// did not write are left alone.
    ///
    /// Errors: [`Error::Io`] if the directory cannot be created or read.
    pub fn open(self) -> Result<DiskTier<K, V>> {
        let dir = self.dir;
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let mut found: Vec<(SystemTime, [u8; 32], u64)> = Vec::new();
        let listing = fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
        for item in listing {
            let item = item.map_err(|e| Error::io("read directory", &dir, e))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_temp_name(name) {
                let _ = file::remove(&item.path());
                continue;
            }
            let Some(id) = parse_file_name(name) else {
                continue;
            };
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_file() || !file::starts_with(&item.path(), MAGIC) {
                continue;
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            found.push((modified, *id.as_bytes(), meta.len()));
        }
        found.sort();
        let mut index = Index::default();
        for (_, id, bytes) in found {
            let id = blake3::Hash::from_bytes(id);
            index.tick += 1;
            index.entries.insert(
                id,
                Meta {
                    bytes,
                    stamp: index.tick,
                    generation: 0,
                },
            );
            index.lru.insert(index.tick, id);
            index.total += bytes;
        }
        let victims = index.evict_to_fit(self.capacity);
        let tier = DiskTier {
            inner: Arc::new(Shared {
                tag: type_tag::<K, V>(self.schema_version),
                dir,
                capacity: self.capacity,
                ttl: self
                    .ttl
                    .map_or(NEVER, |d| u64::try_from(d.as_nanos()).unwrap_or(NEVER)),
                sync: self.sync,
                clock: self.clock,
                index: Mutex::new(index),
                files: (0..STRIPES).map(|_| Mutex::new(())).collect(),
                counters: Counters::default(),
                generation: AtomicU64::new(1),
            }),
            _types: PhantomData,
        };
        tier.inner
            .counters
            .evicted_capacity
            .fetch_add(victims.len() as u64, Ordering::Relaxed);
        tier.inner.remove_evicted(victims);
        Ok(tier)
    }
}

/// The type tag of entries of `K → V` at a schema version: a hash of the type names
/// (which may change between compiler versions; that only turns old entries into
/// misses) and the version.
fn type_tag<K, V>(schema_version: u64) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(std::any::type_name::<K>().as_bytes());
    h.update(b"\0");
    h.update(std::any::type_name::<V>().as_bytes());
    h.update(&schema_version.to_le_bytes());
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(tag)
}

/// The id named by an entry file name, if `name` is exactly what [`file_name`] writes
/// (lowercase hex: `from_hex` alone would also take uppercase, naming a file this tier
/// never wrote and could not find again under its own spelling of the name).
fn parse_file_name(name: &str) -> Option<FileId> {
    let hex = name.strip_suffix(EXTENSION)?.strip_suffix('.')?;
    let id = blake3::Hash::from_hex(hex).ok()?;
    (id.to_hex().as_str() == hex).then_some(id)
}

fn file_name(id: &FileId) -> String {
    format!("{}.{EXTENSION}", id.to_hex())
}

/// Whether `name` is one of this tier's temporary files: the prefix, then exactly the
/// random characters `tempfile` adds (ASCII letters and digits).
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX).is_some_and(|rest| {
        rest.len() == TEMP_RANDOM && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// What a read of an entry file found.
enum Parsed<'a> {
    Live { expires_at: u64, value: &'a [u8] },
    Expired,
    Corrupt,
}

fn parse_entry<'a>(bytes: &'a [u8], tag: u64, key: &[u8], now: u64) -> Parsed<'a> {
    if bytes.len() < HEADER + CHECKSUM || &bytes[..8] != MAGIC {
        return Parsed::Corrupt;
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM);
    if blake3::hash(body).as_bytes() != sum {
        return Parsed::Corrupt;
    }
    let u64_at = |at: usize| {
        body.get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let u32_at = |at: usize| {
        body.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(|b| u32::from_le_bytes(b) as usize)
    };
    let (Some(stored_tag), Some(expires_at), Some(key_len), Some(value_len)) =
        (u64_at(8), u64_at(16), u32_at(24), u32_at(28))
    else {
        return Parsed::Corrupt;
    };
    if stored_tag != tag {
        return Parsed::Corrupt;
    }
    if HEADER
        .checked_add(key_len)
        .and_then(|n| n.checked_add(value_len))
        != Some(body.len())
    {
        return Parsed::Corrupt;
    }
    let stored_key = &body[HEADER..HEADER + key_len];
    if stored_key != key {
        return Parsed::Corrupt;
    }
    // "Never" is u64::MAX, which a saturated clock reading also is.
    if expires_at != NEVER && now >= expires_at {
        return Parsed::Expired;
    }
    Parsed::Live {
        expires_at,
        value: &body[HEADER + key_len..],
    }
}

impl<K, V> DiskTier<K, V>
where
    K: Serialize,
    V: Serialize + DeserializeOwned,
{
    /// Opens `dir` with a capacity of `max_bytes` and default options.
    ///
    /// Errors: [`Error::Io`] if the directory cannot be created or read.
    pub fn open(dir: impl AsRef<Path>, max_bytes: u64) -> Result<DiskTier<K, V>> {
        DiskTier::builder(dir).max_bytes(max_bytes).open()
    }

    /// A builder for a tier in `dir`.
    pub fn builder(dir: impl AsRef<Path>) -> DiskTierBuilder<K, V> {
        DiskTierBuilder {
            dir: dir.as_ref().to_path_buf(),
            capacity: 256 << 20,
            ttl: None,
            sync: false,
            schema_version: 0,
            clock: Arc::new(SystemClock),
            _types: PhantomData,
        }
    }

    /// The directory holding the entries.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The path of `key`'s entry file (whether or not it exists).
    ///
    /// Errors: [`Error::Encode`] if the key cannot be encoded.
    pub fn path_of<Q>(&self, key: &Q) -> Result<PathBuf>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let (_, id) = self.key_id(key)?;
        Ok(self.inner.path(&id))
    }

    fn key_id<Q: Serialize + ?Sized>(&self, key: &Q) -> Result<(Vec<u8>, FileId)> {
        let bytes = postcard::to_allocvec(key).map_err(|source| Error::Encode {
            dir: self.inner.dir.clone(),
            what: "key",
            source,
        })?;
        let id = blake3::hash(&bytes);
        Ok((bytes, id))
    }

    /// The value of `key`, if a live, intact entry is stored.
    ///
    /// `key` may be a borrowed form of `K` (`&str` for `String`) whose serde
    /// encoding is the same, as it is for the standard library's owned/borrowed
    /// pairs; a form that encodes differently simply misses.
    ///
    /// Cost: a hash of the encoded key, an index lookup, and reading and checksumming
    /// the entry file. An expired, corrupt, truncated or undecodable entry is removed
    /// and reported as `None`.
    ///
    /// Errors: [`Error::Io`] if the file exists but cannot be read.
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        Ok(self.get_with_ttl(key)?.map(|(v, _)| v))
    }

    /// Like [`get`](Self::get), also returning the entry's remaining time-to-live
    /// (`None`: it does not expire).
    pub fn get_with_ttl<Q>(&self, key: &Q) -> Result<Option<(V, Option<Duration>)>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let (key_bytes, id) = self.key_id(key)?;
        let touched = self.inner.index().touch(&id);
        let Some(generation) = touched else {
            self.inner.counters.misses.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        let path = self.inner.path(&id);
        let bytes = match file::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // Deleted behind our back: forget it.
                self.drop_entry(&id, generation, None);
                self.inner.counters.misses.fetch_add(1, Ordering::Relaxed);
                return Ok(None);
            }
            Err(e) => return Err(Error::io("read", path, e)),
        };
        let now = self.inner.clock.now().as_unix_nanos();
        let found = match parse_entry(&bytes, self.inner.tag, &key_bytes, now) {
            Parsed::Live { expires_at, value } => match postcard::take_from_bytes::<V>(value) {
                Ok((v, [])) => Some((v, expires_at)),
                Ok(_) | Err(_) => {
                    self.drop_entry(&id, generation, Some(&self.inner.counters.corrupt));
                    None
                }
            },
            Parsed::Expired => {
                self.drop_entry(&id, generation, Some(&self.inner.counters.expired));
                None
            }
            Parsed::Corrupt => {
                self.drop_entry(&id, generation, Some(&self.inner.counters.corrupt));
                None
            }
        };
        match found {
            Some((v, expires_at)) => {
                self.inner.counters.hits.fetch_add(1, Ordering::Relaxed);
                let ttl = (expires_at != NEVER)
                    .then(|| Duration::from_nanos(expires_at.saturating_sub(now)));
                Ok(Some((v, ttl)))
            }
            None => {
                self.inner.counters.misses.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    /// Removes the entry file if it is still the one that was read: under the file's
    /// stripe no writer can rename a newer file into place between the generation
    /// check and the removal.
    fn drop_entry(&self, id: &FileId, generation: u64, counter: Option<&AtomicU64>) {
        let _file = self.inner.stripe(id);
        let same = {
            let mut index = self.inner.index();
            let same = index
                .entries
                .get(id)
                .is_some_and(|m| m.generation == generation);
            if same {
                index.forget(id);
            }
            same
        };
        if same {
            let _ = file::remove(&self.inner.path(id));
            if let Some(c) = counter {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stores `value` under `key` with the default time-to-live.
    ///
    /// Key and value are taken by value, as by [`MemoryCache::insert`](crate::MemoryCache::insert)
    /// and [`TieredCache::insert`](crate::TieredCache::insert).
    ///
    /// Cost: encoding, a checksum, writing a temporary file, a rename, and removing
    /// least recently used files until the total fits. An entry larger than the whole
    /// capacity is not stored (and any older value of `key` is removed).
    ///
    /// Errors: [`Error::Encode`], or [`Error::Io`] if the file cannot be written.
    pub fn insert(&self, key: K, value: V) -> Result<()> {
        self.write(&key, &value, self.inner.ttl)
    }

    /// Like [`insert`](Self::insert), with this entry's own time-to-live.
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> Result<()> {
        self.write(&key, &value, u64::try_from(ttl.as_nanos()).unwrap_or(NEVER))
    }

    fn write(&self, key: &K, value: &V, ttl: u64) -> Result<()> {
        let (key_bytes, id) = self.key_id(key)?;
        let value_bytes = postcard::to_allocvec(value).map_err(|source| Error::Encode {
            dir: self.inner.dir.clone(),
            what: "value",
            source,
        })?;
        let path = self.inner.path(&id);
        let (Ok(key_len), Ok(value_len)) = (
            u32::try_from(key_bytes.len()),
            u32::try_from(value_bytes.len()),
        ) else {
            // Over 4 GiB: cannot be framed, so it is too large for any capacity.
            return self.refuse(&id);
        };
        let total = HEADER + key_bytes.len() + value_bytes.len() + CHECKSUM;
        if total as u64 > self.inner.capacity {
            return self.refuse(&id);
        }
        let expires_at = if ttl == NEVER {
            NEVER
        } else {
            self.inner.clock.now().as_unix_nanos().saturating_add(ttl)
        };
        let mut buf = Vec::with_capacity(total);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&self.inner.tag.to_le_bytes());
        buf.extend_from_slice(&expires_at.to_le_bytes());
        buf.extend_from_slice(&key_len.to_le_bytes());
        buf.extend_from_slice(&value_len.to_le_bytes());
        buf.extend_from_slice(&key_bytes);
        buf.extend_from_slice(&value_bytes);
        let sum = blake3::hash(&buf);
        buf.extend_from_slice(sum.as_bytes());

        let mut tmp = file::temp(&self.inner.dir, TEMP_PREFIX, TEMP_RANDOM)?;
        tmp.write_all(&buf)
            .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
        if self.inner.sync {
            tmp.as_file()
                .sync_data()
                .map_err(|e| Error::io("flush", tmp.path().to_path_buf(), e))?;
        }

        let victims = {
            let _file = self.inner.stripe(&id);
            file::persist(tmp, &path)?;
            let mut index = self.inner.index();
            index.forget(&id);
            index.tick += 1;
            let tick = index.tick;
            let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
            let bytes = total as u64;
            index.entries.insert(
                id,
                Meta {
                    bytes,
                    stamp: tick,
                    generation,
                },
            );
            index.lru.insert(tick, id);
            index.total += bytes;
            self.inner.counters.inserts.fetch_add(1, Ordering::Relaxed);
            index.evict_to_fit(self.inner.capacity)
        };
        self.inner
            .counters
            .evicted_capacity
            .fetch_add(victims.len() as u64, Ordering::Relaxed);
        self.inner.remove_evicted(victims);
        if self.inner.sync {
            // The rename is a change of the directory: until the directory is flushed
            // a crash may undo it, leaving the previous file (value) in place.
            file::sync_dir(&self.inner.dir)?;
        }
        Ok(())
    }

    /// Not storing an entry larger than the capacity: the key's old value must go too.
    fn refuse(&self, id: &FileId) -> Result<()> {
        self.remove_id(id)?;
        self.inner
            .counters
            .evicted_capacity
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Forgets `id` and removes its file, under the file's stripe.
    fn remove_id(&self, id: &FileId) -> Result<()> {
        let _file = self.inner.stripe(id);
        let forgotten = self.inner.index().forget(id).is_some();
        if forgotten {
            file::remove(&self.inner.path(id))?;
        }
        Ok(())
    }

    /// Removes `key`'s entry; removing an absent key is not an error.
    ///
    /// Errors: [`Error::Io`] if the file exists but cannot be removed.
    pub fn remove<Q>(&self, key: &Q) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let (_, id) = self.key_id(key)?;
        self.remove_id(&id)
    }

    /// Removes every entry this tier indexes (never a file it does not recognise as
    /// its own).
    ///
    /// Errors: the first [`Error::Io`] of a file that could not be removed (the others
    /// are still removed).
    pub fn clear(&self) -> Result<()> {
        let ids: Vec<FileId> = {
            let mut index = self.inner.index();
            let ids = index.entries.keys().copied().collect();
            // The index is empty afterwards, so recency stamps may restart: no stamp
            // of a forgotten entry can collide with a new one.
            *index = Index::default();
            ids
        };
        let mut first = Ok(());
        for id in ids {
            let _file = self.inner.stripe(&id);
            // Written again since the index was cleared: that entry is newer than
            // the clear and stays.
            let back = self.inner.index().entries.contains_key(&id);
            if !back
                && let Err(e) = file::remove(&self.inner.path(&id))
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }

    /// The number of entry files indexed (including expired or damaged ones not yet
    /// read).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.index().entries.len()
    }

    /// Whether no entry is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total size of the entry files, in bytes.
    #[must_use]
    pub fn size_bytes(&self) -> u64 {
        self.inner.index().total
    }

    /// The byte capacity.
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// Counters since the tier was opened.
    #[must_use]
    pub fn stats(&self) -> DiskStats {
        let c = &self.inner.counters;
        DiskStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            inserts: c.inserts.load(Ordering::Relaxed),
            evicted_capacity: c.evicted_capacity.load(Ordering::Relaxed),
            expired: c.expired.load(Ordering::Relaxed),
            corrupt: c.corrupt.load(Ordering::Relaxed),
        }
    }
}

// Platforms: see the module docs. A directory cannot be opened and flushed with the
// standard library outside Unix, and renaming over a file another thread has open
// fails on Windows; rather than a disk tier that half works there, no build.
#[cfg(not(unix))]
compile_error!(
    "ssot-cache is tested on Unix (Linux) only: its disk tier needs Unix rename and \
     directory-fsync semantics that the standard library does not offer on this \
     platform. Use the crate on a Unix target, or contribute a disk tier for this one \
     (see ssot-cache/src/disk.rs, `# Platforms`)."
);

impl<K, V> Tier<K, V> for DiskTier<K, V>
where
    K: Serialize + Send + Sync,
    V: Serialize + DeserializeOwned + Send + Sync,
{
    fn name(&self) -> &str {
        "disk"
    }

    fn get(&self, key: &K) -> Result<Option<TierEntry<V>>> {
        Ok(self
            .get_with_ttl(key)?
            .map(|(value, ttl)| TierEntry { value, ttl }))
    }

    /// The entry lives for the shorter of `ttl` and the tier's default time-to-live.
    fn insert(&self, key: &K, value: &V, ttl: Option<Duration>) -> Result<()> {
        let ttl = ttl.map_or(NEVER, |d| u64::try_from(d.as_nanos()).unwrap_or(NEVER));
        self.write(key, value, ttl.min(self.inner.ttl))
    }

    fn remove(&self, key: &K) -> Result<()> {
        DiskTier::remove(self, key)
    }

    fn clear(&self) -> Result<()> {
        DiskTier::clear(self)
    }

    fn evictions(&self) -> u64 {
        self.stats().evictions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        let id = blake3::hash(b"k");
        assert_eq!(parse_file_name(&file_name(&id)), Some(id));
        assert_eq!(parse_file_name("notes.txt"), None);
        assert_eq!(parse_file_name("zz.entry"), None);
        let upper = file_name(&id).to_uppercase().replace(".ENTRY", ".entry");
        assert_eq!(parse_file_name(&upper), None);
    }

    #[test]
    fn temporary_names_are_only_those_this_tier_writes() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = file::temp(dir.path(), TEMP_PREFIX, TEMP_RANDOM).unwrap();
        let name = tmp
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(is_temp_name(&name), "{name}");
        for foreign in [
            ".tmp-abc",
            ".ssot-cache-tmp-",
            ".ssot-cache-tmp-short",
            &format!("{name}x"),
        ] {
            assert!(!is_temp_name(foreign), "{foreign}");
        }
    }

    /// Every path that touches the file system, run in one process: in debug builds
    /// each file-system call asserts that its thread holds no index guard, so a call
    /// made under the index mutex panics here.
    #[test]
    fn no_file_system_call_is_made_while_the_index_mutex_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let clock = crate::clock::ManualClock::new();
        let open = |bytes| {
            DiskTier::<u32, Vec<u8>>::builder(dir.path())
                .max_bytes(bytes)
                .clock(clock.clone())
                .open()
                .unwrap()
        };
        let disk = open(1 << 20);
        for k in 0..20 {
            disk.insert(k, vec![1; 100]).unwrap(); // write, rename
        }
        drop(disk);
        let disk = open(1_000); // open: magic reads, evictions
        assert!(disk.stats().evicted_capacity > 0);
        disk.insert(100, vec![2; 100]).unwrap(); // eviction on insert
        disk.insert(101, vec![3; 5_000]).unwrap(); // refused
        disk.insert(100, vec![3; 5_000]).unwrap(); // refused, old value removed
        disk.insert_with_ttl(102, vec![4], Duration::from_secs(1))
            .unwrap();
        clock.advance(Duration::from_secs(2));
        assert_eq!(disk.get(&102).unwrap(), None); // expired: removed
        disk.insert(103, vec![5]).unwrap();
        std::fs::write(disk.path_of(&103).unwrap(), b"damaged").unwrap();
        assert_eq!(disk.get(&103).unwrap(), None); // corrupt: removed
        disk.insert(104, vec![6]).unwrap();
        std::fs::remove_file(disk.path_of(&104).unwrap()).unwrap();
        assert_eq!(disk.get(&104).unwrap(), None); // deleted behind its back
        disk.insert(105, vec![7]).unwrap();
        assert_eq!(disk.get(&105).unwrap(), Some(vec![7]));
        disk.remove(&105).unwrap();
        disk.insert(106, vec![8]).unwrap();
        disk.clear().unwrap();
        assert!(disk.is_empty());
        let synced = DiskTier::<u32, Vec<u8>>::builder(dir.path())
            .sync_writes(true)
            .open()
            .unwrap();
        synced.insert(1, vec![9]).unwrap(); // file and directory flushes
    }

    #[test]
    fn parse_rejects_every_truncation() {
        let mut buf = Vec::new();
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&7u64.to_le_bytes());
        buf.extend_from_slice(&NEVER.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
        buf.extend_from_slice(&2u32.to_le_bytes());
        buf.extend_from_slice(b"kvv");
        let sum = blake3::hash(&buf);
        buf.extend_from_slice(sum.as_bytes());
        assert!(matches!(
            parse_entry(&buf, 7, b"k", 0),
            Parsed::Live { value: b"vv", .. }
        ));
        for len in 0..buf.len() {
            assert!(
                matches!(parse_entry(&buf[..len], 7, b"k", 0), Parsed::Corrupt),
                "{len}"
            );
        }
        assert!(
            matches!(parse_entry(&buf, 7, b"x", 0), Parsed::Corrupt),
            "another key's file"
        );
    }
}
