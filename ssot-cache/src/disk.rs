//! [`DiskTier`]: a persistent tier, one checksummed file per entry in a directory.
//!
//! The file format and the choice of postcard are documented on [`DiskTier`].
//!
//! # Index and recency
//!
//! The tier keeps an in-memory index (file id → size, recency) under one mutex; file
//! reads and the encoding happen outside it. Opening scans the directory once (one
//! `stat` per file, no reads) and orders entries by modification time, so recency
//! across a restart is approximated by last write; within a process it is exact LRU.
//! One process owns a directory at a time: two `DiskTier`s on one directory do not
//! see each other's index (guard the directory with a lock file if processes share it).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{ErrorKind, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::tier::{Tier, TierEntry};

const MAGIC: &[u8; 8] = b"SSOTCE01";
const HEADER: usize = 8 + 8 + 8 + 4 + 4;
const CHECKSUM: usize = 32;
const EXTENSION: &str = "entry";
const TEMP_PREFIX: &str = ".tmp-";
const NEVER: u64 = u64::MAX;

type FileId = [u8; 32];

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
/// disk.insert(&"primes".to_string(), &vec![2, 3, 5, 7])?;
/// drop(disk);
///
/// let disk: DiskTier<String, Vec<u32>> = DiskTier::open(dir.path(), 10 << 20)?;
/// assert_eq!(disk.get("primes")?, Some(vec![2, 3, 5, 7]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # File format
///
/// An entry of key `k` lives in `<dir>/<blake3(postcard(k)) in hex>.entry`:
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
/// Leftover temporary files of a crashed writer are removed on open.
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
    counters: Counters,
    generation: AtomicU64,
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
    /// Cost: one `stat` per file in the directory. Leftover temporary files are
    /// removed; if the entries exceed the capacity, the least recently written are
    /// removed. Files this tier did not write are left alone.
    ///
    /// Errors: [`Error::Io`] if the directory cannot be created or read.
    pub fn open(self) -> Result<DiskTier<K, V>, Error> {
        let dir = self.dir;
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let mut found: Vec<(SystemTime, FileId, u64)> = Vec::new();
        let listing = fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
        for item in listing {
            let item = item.map_err(|e| Error::io("read directory", &dir, e))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(item.path());
                continue;
            }
            let Some(id) = parse_file_name(name) else {
                continue;
            };
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            found.push((modified, id, meta.len()));
        }
        found.sort();
        let mut index = Index::default();
        for (_, id, bytes) in found {
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
                counters: Counters::default(),
                generation: AtomicU64::new(1),
            }),
            _types: PhantomData,
        };
        {
            let mut index = tier.inner.index.lock();
            tier.evict_to_fit(&mut index, 0);
        }
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

fn parse_file_name(name: &str) -> Option<FileId> {
    let hex = name.strip_suffix(EXTENSION)?.strip_suffix('.')?;
    if hex.len() != 64 {
        return None;
    }
    // Exactly what `file_name` writes: lowercase hex digits. (`from_str_radix`
    // alone would also take `AB` or `+a`, naming a file this tier never wrote and
    // could not find again under its own spelling of the name.)
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let hex = hex.as_bytes();
    let mut id = [0u8; 32];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = digit(hex[2 * i])? << 4 | digit(hex[2 * i + 1])?;
    }
    Some(id)
}

fn file_name(id: &FileId) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64 + 1 + EXTENSION.len());
    for b in id {
        let _ = write!(s, "{b:02x}");
    }
    s.push('.');
    s.push_str(EXTENSION);
    s
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
    pub fn open(dir: impl AsRef<Path>, max_bytes: u64) -> Result<DiskTier<K, V>, Error> {
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
    pub fn path_of<Q>(&self, key: &Q) -> Result<PathBuf, Error>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let (_, id) = self.key_id(key)?;
        Ok(self.inner.dir.join(file_name(&id)))
    }

    fn key_id<Q: Serialize + ?Sized>(&self, key: &Q) -> Result<(Vec<u8>, FileId), Error> {
        let bytes = postcard::to_allocvec(key).map_err(|source| Error::Encode {
            dir: self.inner.dir.clone(),
            what: "key",
            source,
        })?;
        let id = *blake3::hash(&bytes).as_bytes();
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
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>, Error>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        Ok(self.get_with_ttl(key)?.map(|(v, _)| v))
    }

    /// Like [`get`](Self::get), also returning the entry's remaining time-to-live
    /// (`None`: it does not expire).
    pub fn get_with_ttl<Q>(&self, key: &Q) -> Result<Option<(V, Option<Duration>)>, Error>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let (key_bytes, id) = self.key_id(key)?;
        let Some(generation) = self.inner.index.lock().touch(&id) else {
            self.inner.counters.misses.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        let path = self.inner.dir.join(file_name(&id));
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // Deleted behind our back: forget it.
                self.drop_entry(&id, generation, &path, None);
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
                    self.drop_entry(&id, generation, &path, Some(&self.inner.counters.corrupt));
                    None
                }
            },
            Parsed::Expired => {
                self.drop_entry(&id, generation, &path, Some(&self.inner.counters.expired));
                None
            }
            Parsed::Corrupt => {
                self.drop_entry(&id, generation, &path, Some(&self.inner.counters.corrupt));
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

    /// Removes the entry file if it is still the one that was read.
    fn drop_entry(&self, id: &FileId, generation: u64, path: &Path, counter: Option<&AtomicU64>) {
        let mut index = self.inner.index.lock();
        if index
            .entries
            .get(id)
            .is_some_and(|m| m.generation == generation)
        {
            index.forget(id);
            let _ = fs::remove_file(path);
            if let Some(c) = counter {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stores `value` under `key` with the default time-to-live.
    ///
    /// Cost: encoding, a checksum, writing a temporary file, a rename, and removing
    /// least recently used files until the total fits. An entry larger than the whole
    /// capacity is not stored (and any older value of `key` is removed).
    ///
    /// Errors: [`Error::Encode`], or [`Error::Io`] if the file cannot be written.
    pub fn insert(&self, key: &K, value: &V) -> Result<(), Error> {
        self.write(key, value, self.inner.ttl)
    }

    /// Like [`insert`](Self::insert), with this entry's own time-to-live.
    pub fn insert_with_ttl(&self, key: &K, value: &V, ttl: Duration) -> Result<(), Error> {
        self.write(key, value, u64::try_from(ttl.as_nanos()).unwrap_or(NEVER))
    }

    fn write(&self, key: &K, value: &V, ttl: u64) -> Result<(), Error> {
        let (key_bytes, id) = self.key_id(key)?;
        let value_bytes = postcard::to_allocvec(value).map_err(|source| Error::Encode {
            dir: self.inner.dir.clone(),
            what: "value",
            source,
        })?;
        let path = self.inner.dir.join(file_name(&id));
        let (Ok(key_len), Ok(value_len)) = (
            u32::try_from(key_bytes.len()),
            u32::try_from(value_bytes.len()),
        ) else {
            // Over 4 GiB: cannot be framed, so it is too large for any capacity.
            return self.refuse(&id, &path);
        };
        let total = HEADER + key_bytes.len() + value_bytes.len() + CHECKSUM;
        if total as u64 > self.inner.capacity {
            return self.refuse(&id, &path);
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

        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.inner.dir)
            .map_err(|e| Error::io("create a temporary file in", &self.inner.dir, e))?;
        tmp.write_all(&buf)
            .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
        if self.inner.sync {
            tmp.as_file()
                .sync_data()
                .map_err(|e| Error::io("flush", tmp.path().to_path_buf(), e))?;
        }

        let mut index = self.inner.index.lock();
        tmp.persist(&path)
            .map_err(|e| Error::io("rename a temporary file to", &path, e.error))?;
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
        self.evict_to_fit(&mut index, 0);
        drop(index);
        if self.inner.sync {
            // The rename is a change of the directory: until the directory is flushed
            // a crash may undo it, leaving the previous file (value) in place.
            sync_dir(&self.inner.dir)?;
        }
        Ok(())
    }

    /// Not storing an entry larger than the capacity: the key's old value must go too.
    fn refuse(&self, id: &FileId, path: &Path) -> Result<(), Error> {
        let mut index = self.inner.index.lock();
        if index.forget(id).is_some() {
            remove_file(path)?;
        }
        self.inner
            .counters
            .evicted_capacity
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Removes least recently used files until `extra` more bytes fit.
    fn evict_to_fit(&self, index: &mut Index, extra: u64) {
        while index.total + extra > self.inner.capacity {
            let Some((_, id)) = index.lru.pop_first() else {
                break;
            };
            if let Some(meta) = index.entries.remove(&id) {
                index.total -= meta.bytes;
            }
            // A file that cannot be removed is already out of the index and capacity.
            let _ = fs::remove_file(self.inner.dir.join(file_name(&id)));
            self.inner
                .counters
                .evicted_capacity
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Removes `key`'s entry; removing an absent key is not an error.
    ///
    /// Errors: [`Error::Io`] if the file exists but cannot be removed.
    pub fn remove<Q>(&self, key: &Q) -> Result<(), Error>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let (_, id) = self.key_id(key)?;
        let mut index = self.inner.index.lock();
        if index.forget(&id).is_some() {
            remove_file(&self.inner.dir.join(file_name(&id)))?;
        }
        Ok(())
    }

    /// Removes every entry this tier indexes.
    ///
    /// Errors: the first [`Error::Io`] of a file that could not be removed (the others
    /// are still removed).
    pub fn clear(&self) -> Result<(), Error> {
        let mut index = self.inner.index.lock();
        let mut first = Ok(());
        for id in index.entries.keys() {
            if let Err(e) = remove_file(&self.inner.dir.join(file_name(id)))
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        *index = Index {
            tick: index.tick,
            ..Index::default()
        };
        first
    }

    /// The number of entry files indexed (including expired or damaged ones not yet
    /// read).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.index.lock().entries.len()
    }

    /// Whether no entry is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total size of the entry files, in bytes.
    #[must_use]
    pub fn size_bytes(&self) -> u64 {
        self.inner.index.lock().total
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

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("flush the directory", dir, e))
}

/// Directories cannot be opened and flushed this way outside Unix; the rename is
/// then as durable as the platform makes it.
#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps)]
fn sync_dir(_dir: &Path) -> Result<(), Error> {
    Ok(())
}

fn remove_file(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

impl<K, V> Tier<K, V> for DiskTier<K, V>
where
    K: Serialize + Send + Sync,
    V: Serialize + DeserializeOwned + Send + Sync,
{
    fn name(&self) -> &str {
        "disk"
    }

    fn get(&self, key: &K) -> Result<Option<TierEntry<V>>, Error> {
        Ok(self
            .get_with_ttl(key)?
            .map(|(value, ttl)| TierEntry { value, ttl }))
    }

    /// The entry lives for the shorter of `ttl` and the tier's default time-to-live.
    fn insert(&self, key: &K, value: &V, ttl: Option<Duration>) -> Result<(), Error> {
        let ttl = ttl.map_or(NEVER, |d| u64::try_from(d.as_nanos()).unwrap_or(NEVER));
        self.write(key, value, ttl.min(self.inner.ttl))
    }

    fn remove(&self, key: &K) -> Result<(), Error> {
        DiskTier::remove(self, key)
    }

    fn clear(&self) -> Result<(), Error> {
        DiskTier::clear(self)
    }

    fn evictions(&self) -> u64 {
        let s = self.stats();
        s.evicted_capacity + s.expired + s.corrupt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        let id = *blake3::hash(b"k").as_bytes();
        assert_eq!(parse_file_name(&file_name(&id)), Some(id));
        assert_eq!(parse_file_name("notes.txt"), None);
        assert_eq!(parse_file_name("zz.entry"), None);
        let upper = file_name(&id).to_uppercase().replace(".ENTRY", ".entry");
        assert_eq!(parse_file_name(&upper), None);
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
