//! Pack files: the objects of one snapshot in one file, so that a snapshot costs one
//! file fsync for its contents however many files changed.
//!
//! A pack is immutable once written. Layout (integers little-endian):
//!
//! ```text
//! header  "SSOTPACK" | format u32 = 1 | reserved u32 | nonce u64
//! objects the bytes of each object, back to back
//! index   count × (hash [32] | offset u64 | length u64), sorted by hash
//! footer  index offset u64 | count u64 | BLAKE3(index) [32] | "SSOTPEND"
//! ```
//!
//! A pack is written to a temporary file in the store's `tmp/` directory, fsynced,
//! renamed into `packs/` and the directory fsynced; only then may a manifest refer to
//! its objects. A pack whose footer or index checksum is wrong is set aside (its
//! objects count as missing, and [`verify`](crate::VersionStore::verify) reports it).
//! Every object read is re-hashed, so a flipped byte is an error, never wrong content.
//!
//! Packs are never rewritten in place: [`prune`](crate::VersionStore::prune) copies the
//! live objects of a partly dead pack into a new pack, makes it durable, then deletes
//! the old one.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::NamedTempFile;

use crate::durable;
use crate::error::{Error, Result, io_err};
use crate::id::ObjectHash;

const MAGIC: &[u8; 8] = b"SSOTPACK";
const END: &[u8; 8] = b"SSOTPEND";
const HEADER_LEN: u64 = 24;
const FOOTER_LEN: u64 = 56;
const ENTRY_LEN: usize = 48;

/// Writes one pack.
pub(crate) struct PackWriter {
    out: BufWriter<NamedTempFile>,
    header: [u8; HEADER_LEN as usize],
    offset: u64,
    entries: Vec<(ObjectHash, u64, u64)>,
    seen: HashSet<ObjectHash>,
}

impl PackWriter {
    pub(crate) fn new(tmp_dir: &Path) -> Result<PackWriter> {
        let tmp = NamedTempFile::new_in(tmp_dir)
            .map_err(io_err("create a temporary file in", tmp_dir))?;
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        let mut header = [0u8; HEADER_LEN as usize];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&1u32.to_le_bytes());
        header[16..24].copy_from_slice(&nonce.to_le_bytes());
        let mut out = BufWriter::with_capacity(1 << 20, tmp);
        out.write_all(&header).map_err(io_err("write", tmp_dir))?;
        Ok(PackWriter {
            out,
            header,
            offset: HEADER_LEN,
            entries: Vec::new(),
            seen: HashSet::new(),
        })
    }

    /// Adds an object unless this pack already holds it.
    pub(crate) fn add(&mut self, hash: ObjectHash, bytes: &[u8]) -> Result<()> {
        if !self.seen.insert(hash) {
            return Ok(());
        }
        let path = self.out.get_ref().path().to_owned();
        self.out.write_all(bytes).map_err(io_err("write", path))?;
        self.entries.push((hash, self.offset, bytes.len() as u64));
        self.offset += bytes.len() as u64;
        Ok(())
    }

    pub(crate) fn contains(&self, hash: &ObjectHash) -> bool {
        self.seen.contains(hash)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the index, makes the pack durable under `packs_dir` and returns its
    /// file name.
    pub(crate) fn finish(self, packs_dir: &Path) -> Result<String> {
        let (tmp, name) = self.seal()?;
        tmp.as_file()
            .sync_all()
            .map_err(io_err("fsync", tmp.path().to_owned()))?;
        let dest = packs_dir.join(&name);
        tmp.persist(&dest).map_err(|e| Error::Io {
            action: "rename a new pack to",
            path: dest.clone(),
            source: e.error,
        })?;
        durable::sync_dir(packs_dir)?;
        Ok(name)
    }

    /// Writes the index and footer; returns the complete pack, not yet fsynced or
    /// renamed, and the file name it must get.
    pub(crate) fn seal(mut self) -> Result<(NamedTempFile, String)> {
        self.entries.sort_unstable_by_key(|e| e.0);
        let mut index = Vec::with_capacity(self.entries.len() * ENTRY_LEN);
        for (hash, offset, len) in &self.entries {
            index.extend_from_slice(hash.as_bytes());
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&len.to_le_bytes());
        }
        let mut footer = Vec::with_capacity(FOOTER_LEN as usize);
        footer.extend_from_slice(&self.offset.to_le_bytes());
        footer.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        footer.extend_from_slice(blake3::hash(&index).as_bytes());
        footer.extend_from_slice(END);
        let tmp_path = self.out.get_ref().path().to_owned();
        self.out
            .write_all(&index)
            .map_err(io_err("write", &tmp_path))?;
        self.out
            .write_all(&footer)
            .map_err(io_err("write", &tmp_path))?;
        let tmp = self.out.into_inner().map_err(|e| Error::Io {
            action: "write",
            path: tmp_path.clone(),
            source: e.into_error(),
        })?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.header);
        hasher.update(&index);
        let name = format!("{}.pack", &hasher.finalize().to_hex()[..32]);
        Ok((tmp, name))
    }
}

struct Pack {
    name: String,
    path: PathBuf,
    file: File,
    entries: Vec<(ObjectHash, u64, u64)>,
}

#[derive(Clone, Copy)]
struct Loc {
    pack: usize,
    offset: u64,
    len: u64,
}

/// The packs of a store and the index of every object they hold.
pub(crate) struct PackSet {
    dir: PathBuf,
    packs: Vec<Pack>,
    index: HashMap<ObjectHash, Loc>,
    /// Packs that could not be read: (file name, reason).
    broken: Vec<(String, String)>,
}

impl PackSet {
    pub(crate) fn new(dir: PathBuf) -> PackSet {
        PackSet {
            dir,
            packs: Vec::new(),
            index: HashMap::new(),
            broken: Vec::new(),
        }
    }

    /// Brings the set up to date with the pack directory (another process may have
    /// added or removed packs). Costs a directory listing when nothing changed.
    pub(crate) fn refresh(&mut self) -> Result<()> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err("list", &self.dir))? {
            let entry = entry.map_err(io_err("list", &self.dir))?;
            if let Some(name) = entry.file_name().to_str()
                && name.ends_with(".pack")
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        let mut current: Vec<&str> = self.packs.iter().map(|p| p.name.as_str()).collect();
        current.extend(self.broken.iter().map(|(n, _)| n.as_str()));
        current.sort_unstable();
        if current == names {
            return Ok(());
        }
        let mut old: HashMap<String, Pack> =
            self.packs.drain(..).map(|p| (p.name.clone(), p)).collect();
        self.broken.clear();
        for name in names {
            if let Some(pack) = old.remove(&name) {
                self.packs.push(pack);
                continue;
            }
            let path = self.dir.join(&name);
            match load(&path) {
                Ok((file, entries)) => self.packs.push(Pack {
                    name,
                    path,
                    file,
                    entries,
                }),
                Err(LoadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
                Err(LoadError::Io(e)) => return Err(io_err("read", path)(e)),
                Err(LoadError::Corrupt(reason)) => self.broken.push((name, reason)),
            }
        }
        self.index.clear();
        for (i, pack) in self.packs.iter().enumerate() {
            for &(hash, offset, len) in &pack.entries {
                self.index.entry(hash).or_insert(Loc {
                    pack: i,
                    offset,
                    len,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn contains(&self, hash: &ObjectHash) -> bool {
        self.index.contains_key(hash)
    }

    /// The bytes of an object, checked against its hash; `None` if no pack holds it.
    pub(crate) fn read(&self, hash: &ObjectHash) -> Result<Option<Vec<u8>>> {
        let Some(loc) = self.index.get(hash) else {
            return Ok(None);
        };
        let pack = &self.packs[loc.pack];
        let bytes = read_checked(pack, *hash, loc.offset, loc.len)?;
        Ok(Some(bytes))
    }

    pub(crate) fn broken(&self) -> &[(String, String)] {
        &self.broken
    }

    /// Every readable pack: (file name, its objects).
    pub(crate) fn packs(&self) -> impl Iterator<Item = (&str, &[(ObjectHash, u64, u64)])> {
        self.packs
            .iter()
            .map(|p| (p.name.as_str(), p.entries.as_slice()))
    }

    /// Reads one object of a named pack, checked against its hash.
    pub(crate) fn read_from(
        &self,
        pack: &str,
        hash: ObjectHash,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>> {
        match self.packs.iter().find(|p| p.name == pack) {
            Some(p) => read_checked(p, hash, offset, len),
            None => Err(Error::CorruptStore {
                path: self.dir.join(pack),
                reason: "the pack disappeared while it was read".into(),
            }),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

fn read_checked(pack: &Pack, hash: ObjectHash, offset: u64, len: u64) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(1 << 40)];
    read_exact_at(&pack.file, &mut bytes, offset).map_err(io_err("read", &pack.path))?;
    let actual = ObjectHash::of(&bytes);
    if actual != hash {
        return Err(Error::CorruptObject {
            hash,
            pack: pack.path.clone(),
            detail: format!("its {len} bytes at offset {offset} hash to {actual}"),
        });
    }
    Ok(bytes)
}

enum LoadError {
    Io(io::Error),
    Corrupt(String),
}

impl From<io::Error> for LoadError {
    fn from(e: io::Error) -> LoadError {
        LoadError::Io(e)
    }
}

type Entries = Vec<(ObjectHash, u64, u64)>;

fn load(path: &Path) -> Result<(File, Entries), LoadError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size < HEADER_LEN + FOOTER_LEN {
        return Err(LoadError::Corrupt(format!(
            "{size} bytes is too short for a pack"
        )));
    }
    let mut header = [0u8; HEADER_LEN as usize];
    (&file).read_exact(&mut header)?;
    if &header[..8] != MAGIC {
        return Err(LoadError::Corrupt("not a pack (bad magic)".into()));
    }
    let mut footer = [0u8; FOOTER_LEN as usize];
    read_exact_at(&file, &mut footer, size - FOOTER_LEN)?;
    if &footer[48..] != END {
        return Err(LoadError::Corrupt("truncated pack (bad end marker)".into()));
    }
    let u64_at = |b: &[u8], at: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(a)
    };
    let index_offset = u64_at(&footer, 0);
    let count = u64_at(&footer, 8);
    let index_len = count.checked_mul(ENTRY_LEN as u64);
    if index_offset < HEADER_LEN
        || index_len.and_then(|l| l.checked_add(index_offset)) != Some(size - FOOTER_LEN)
    {
        return Err(LoadError::Corrupt(
            "index offset and count do not fit the file".into(),
        ));
    }
    let mut index = vec![0u8; (size - FOOTER_LEN - index_offset) as usize];
    read_exact_at(&file, &mut index, index_offset)?;
    if blake3::hash(&index).as_bytes()[..] != footer[16..48] {
        return Err(LoadError::Corrupt("index checksum mismatch".into()));
    }
    let format = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if format != 1 {
        return Err(LoadError::Corrupt(format!(
            "pack format {format} is not supported (this build reads format 1)"
        )));
    }
    // The name is the hash of the header and the index (see `seal`): checking it
    // covers the header bytes no other check reads.
    let mut hasher = blake3::Hasher::new();
    hasher.update(&header);
    hasher.update(&index);
    let expected = format!("{}.pack", &hasher.finalize().to_hex()[..32]);
    if path.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
        return Err(LoadError::Corrupt(format!(
            "its header and index hash to the name `{expected}`, not to its own"
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for chunk in index.chunks_exact(ENTRY_LEN) {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&chunk[..32]);
        let offset = u64_at(chunk, 32);
        let len = u64_at(chunk, 40);
        if offset < HEADER_LEN || offset.checked_add(len).is_none_or(|end| end > index_offset) {
            return Err(LoadError::Corrupt(
                "an index entry points outside the object area".into(),
            ));
        }
        entries.push((ObjectHash::from_bytes(hash), offset, len));
    }
    Ok((file, entries))
}

/// Reads exactly `buf.len()` bytes at `offset` (`pread`) without moving the file's
/// cursor, so threads may share one `File`.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}
