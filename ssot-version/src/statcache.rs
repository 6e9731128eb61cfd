//! The stat cache: what each tracked file's hash was when its stat fields last had
//! given values, so that re-snapshotting an unchanged tree reads no file contents.
//!
//! # The racily clean rule
//!
//! A file can change twice within one tick of its timestamp (a second on some file
//! systems, a jiffy on Linux's coarse clock), leaving size and mtime as they were when
//! we hashed it. Git calls such an entry "racily clean". Our rule: each scan first
//! reads the file system's own clock by rewriting a one-byte file in the store
//! (`clock`) and taking its mtime, `T`. An entry is recorded as *settled* only if the
//! file's mtime **and** ctime are strictly older than `T`; any write after the scan
//! began gets an mtime and ctime of at least `T`, so it cannot hide behind a settled
//! entry. An unsettled entry is re-read (and re-hashed) by the next scan, which can
//! then settle it. ctime is compared because a program can set mtime back but not
//! ctime. Inode, device, size and mode are compared too.
//!
//! The cache is only a hint: it is written without fsync, carries a checksum, and a
//! missing, torn or foreign cache file is ignored (every file is then read once).
//! Because each entry is checked against the file's current stat, an out-of-date
//! cache, for instance one another process has since replaced, is still correct.
//!
//! File layout: `"SSOTSTAT"`, format u32 (little-endian, 2), the entries encoded with
//! `postcard` (a list of path, size, mtime, ctime, inode, device, mode, hash and the
//! settled flag), then the BLAKE3 hash of everything before it, which catches a torn
//! write (the file is not fsynced). A cache of another format, such as the
//! hand-encoded format 1 of earlier builds, is not converted: it reads as empty, and
//! the next scan reads every file once and writes the cache anew. That is always safe,
//! since the cache only saves reads.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::{Error, Result};
use crate::id::ObjectHash;
use crate::stat::{Stamp, StatKey};

const MAGIC: &[u8; 8] = b"SSOTSTAT";

#[derive(Clone, Copy)]
pub(crate) struct Entry {
    key: StatKey,
    hash: ObjectHash,
    settled: bool,
}

#[derive(Default)]
pub(crate) struct StatCache {
    entries: HashMap<String, Entry>,
    dirty: bool,
}

impl StatCache {
    /// Loads the cache file; any problem yields an empty cache.
    pub(crate) fn load(path: &Path) -> StatCache {
        let entries = fs::read(path)
            .ok()
            .and_then(|b| decode(&b))
            .unwrap_or_default();
        StatCache {
            entries,
            dirty: false,
        }
    }

    /// The hash recorded for `rel`, if its stat is unchanged and the entry settled.
    pub(crate) fn lookup(&self, rel: &str, key: &StatKey) -> Option<ObjectHash> {
        self.entries
            .get(rel)
            .filter(|e| e.settled && e.key == *key)
            .map(|e| e.hash)
    }

    /// Records that `rel`, with stat `key`, hashed to `hash` in a scan that began at
    /// `scan_start`.
    pub(crate) fn record(&mut self, rel: &str, key: StatKey, hash: ObjectHash, scan_start: Stamp) {
        let entry = Entry {
            key,
            hash,
            settled: key.settled_before(scan_start),
        };
        match self.entries.get_mut(rel) {
            Some(e) if e.key == entry.key && e.hash == entry.hash && e.settled == entry.settled => {
            }
            Some(e) => {
                *e = entry;
                self.dirty = true;
            }
            None => {
                self.entries.insert(rel.to_owned(), entry);
                self.dirty = true;
            }
        }
    }

    /// Drops the entries of paths a full scan did not see.
    pub(crate) fn retain_seen(&mut self, seen: &dyn Fn(&str) -> bool) {
        let before = self.entries.len();
        self.entries.retain(|k, _| seen(k));
        self.dirty |= self.entries.len() != before;
    }

    pub(crate) fn forget(&mut self, rel: &str) {
        self.dirty |= self.entries.remove(rel).is_some();
    }

    /// Writes the cache if it changed (atomically, without fsync: it is a hint).
    pub(crate) fn save(&mut self, path: &Path, tmp_dir: &Path) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        // Encoding into memory fails only on a serde bug; it is still an error, not an
        // empty cache written over a good one.
        let bytes = encode(&self.entries).map_err(|e| Error::Io {
            action: "encode",
            path: path.to_owned(),
            source: std::io::Error::other(e),
        })?;
        durable::write_atomic(tmp_dir, path, &bytes, None, false)?;
        self.dirty = false;
        Ok(())
    }
}

/// The format number written after the magic; see the module documentation.
const FORMAT: u32 = 2;

/// One entry as stored.
#[derive(Serialize, Deserialize)]
struct Record {
    path: String,
    size: u64,
    mtime: Stamp,
    ctime: Stamp,
    ino: u64,
    dev: u64,
    mode: u32,
    hash: [u8; 32],
    settled: bool,
}

fn encode(entries: &HashMap<String, Entry>) -> Result<Vec<u8>, postcard::Error> {
    let records: Vec<Record> = entries
        .iter()
        .map(|(path, e)| Record {
            path: path.clone(),
            size: e.key.size,
            mtime: e.key.mtime,
            ctime: e.key.ctime,
            ino: e.key.ino,
            dev: e.key.dev,
            mode: e.key.mode,
            hash: *e.hash.as_bytes(),
            settled: e.settled,
        })
        .collect();
    let mut out = Vec::with_capacity(16 + entries.len() * 96);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    let mut out = postcard::to_extend(&records, out)?;
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    Ok(out)
}

/// The entries of a cache file, or `None` for anything but an intact cache of this
/// format.
fn decode(bytes: &[u8]) -> Option<HashMap<String, Entry>> {
    let (body, sum) = bytes.split_at(bytes.len().checked_sub(32)?);
    if blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let rest = body.strip_prefix(MAGIC)?;
    let (format, rest) = rest.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*format) != FORMAT {
        return None;
    }
    let (records, tail): (Vec<Record>, &[u8]) = postcard::take_from_bytes(rest).ok()?;
    if !tail.is_empty() {
        return None;
    }
    Some(
        records
            .into_iter()
            .map(|r| {
                let key = StatKey {
                    size: r.size,
                    mtime: r.mtime,
                    ctime: r.ctime,
                    ino: r.ino,
                    dev: r.dev,
                    mode: r.mode,
                };
                let entry = Entry {
                    key,
                    hash: ObjectHash::from_bytes(r.hash),
                    settled: r.settled,
                };
                (r.path, entry)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(m: i64) -> StatKey {
        StatKey {
            size: 3,
            mtime: (m, 0),
            ctime: (m, 0),
            ino: 7,
            dev: 1,
            mode: 0o644,
        }
    }

    #[test]
    fn the_cache_survives_a_round_trip_and_rejects_damage() {
        let mut c = StatCache::default();
        c.record("a/b", key(5), ObjectHash::of(b"x"), (6, 0));
        c.record("c", key(6), ObjectHash::of(b"y"), (6, 0));
        let bytes = encode(&c.entries).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert!(back["a/b"].settled);
        assert!(!back["c"].settled);
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(decode(&bad).is_none());
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
    }

    #[test]
    fn a_cache_of_the_old_hand_encoded_format_reads_as_empty() {
        // Format 1: magic, format, count, one entry (path length, path, size, mtime
        // and ctime, inode, device, mode, hash, settled), then the checksum.
        let mut old = Vec::new();
        old.extend_from_slice(MAGIC);
        old.extend_from_slice(&1u32.to_le_bytes());
        old.extend_from_slice(&1u64.to_le_bytes());
        old.extend_from_slice(&1u32.to_le_bytes());
        old.push(b'a');
        for v in [3u64, 5, 0, 5, 0, 7, 1] {
            old.extend_from_slice(&v.to_le_bytes());
        }
        old.extend_from_slice(&0o644u32.to_le_bytes());
        old.extend_from_slice(&[0u8; 32]);
        old.push(1);
        let sum = blake3::hash(&old);
        old.extend_from_slice(sum.as_bytes());
        assert!(decode(&old).is_none());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("statcache");
        fs::write(&path, &old).unwrap();
        assert!(StatCache::load(&path).entries.is_empty());
    }

    #[test]
    fn only_settled_unchanged_entries_are_trusted() {
        let mut c = StatCache::default();
        c.record("a", key(5), ObjectHash::of(b"x"), (6, 0));
        c.record("racy", key(6), ObjectHash::of(b"y"), (6, 0));
        assert_eq!(c.lookup("a", &key(5)), Some(ObjectHash::of(b"x")));
        assert_eq!(
            c.lookup("a", &key(4)),
            None,
            "a changed stat is not trusted"
        );
        assert_eq!(
            c.lookup("racy", &key(6)),
            None,
            "a racily clean entry is re-read"
        );
    }
}
