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
//! File layout: `"SSOTSTAT"`, format u32, count u64, then per entry path length u32,
//! path, size u64, mtime and ctime as two i64 each, inode u64, device u64, mode u32,
//! hash [32], settled u8; then BLAKE3 of everything before.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::error::Result;
use crate::fsutil::{self, Stamp, StatKey};
use crate::id::ObjectHash;

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
        let bytes = encode(&self.entries);
        fsutil::write_atomic(tmp_dir, path, &bytes, None, false)?;
        self.dirty = false;
        Ok(())
    }
}

fn encode(entries: &HashMap<String, Entry>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + entries.len() * 128);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (path, e) in entries {
        out.extend_from_slice(&(path.len() as u32).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&e.key.size.to_le_bytes());
        for v in [e.key.mtime.0, e.key.mtime.1, e.key.ctime.0, e.key.ctime.1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&e.key.ino.to_le_bytes());
        out.extend_from_slice(&e.key.dev.to_le_bytes());
        out.extend_from_slice(&e.key.mode.to_le_bytes());
        out.extend_from_slice(e.hash.as_bytes());
        out.push(u8::from(e.settled));
    }
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

fn decode(bytes: &[u8]) -> Option<HashMap<String, Entry>> {
    let (body, sum) = bytes.split_at(bytes.len().checked_sub(32)?);
    if blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut r = Reader(body);
    if r.take(8)? != MAGIC || r.u32()? != 1 {
        return None;
    }
    let count = r.u64()?;
    let mut entries = HashMap::with_capacity(usize::try_from(count).ok()?.min(1 << 20));
    for _ in 0..count {
        let len = r.u32()? as usize;
        let path = std::str::from_utf8(r.take(len)?).ok()?.to_owned();
        let size = r.u64()?;
        let mtime = (r.i64()?, r.i64()?);
        let ctime = (r.i64()?, r.i64()?);
        let key = StatKey {
            size,
            mtime,
            ctime,
            ino: r.u64()?,
            dev: r.u64()?,
            mode: r.u32()?,
        };
        let hash = ObjectHash::from_bytes(r.array()?);
        let settled = r.take(1)?[0] == 1;
        entries.insert(path, Entry { key, hash, settled });
    }
    r.0.is_empty().then_some(entries)
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
        let bytes = encode(&c.entries);
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
