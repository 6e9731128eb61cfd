//! File-system primitives: durable atomic writes, directory fsync, the tree walk and
//! the stat fields the cache compares.
//!
//! Every file the crate writes, in the store or in the tree, is written to a temporary
//! file in the store's `tmp/` directory, fsynced and renamed over its destination, and
//! then the destination's directory is fsynced. The temporary file is never inside the
//! tracked tree, so a crash leaves no stray file there; `tmp/` is emptied whenever the
//! store is locked.

use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::path::Path;

use globset::{GlobSet, GlobSetBuilder};
use tempfile::NamedTempFile;

use crate::error::{Error, Result, io_err};
use crate::manifest::is_store_path;

/// fsyncs a directory so that renames and unlinks in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// How many threads may wait on the file system at once (stat calls, fsyncs).
pub(crate) fn io_threads(items: usize, cap: usize) -> usize {
    items.min(cap).max(1)
}

/// The number of CPUs, capped: for CPU-bound fan-out such as `stat` calls.
pub(crate) fn cpu_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// Maps `f` over `items` on up to `threads` scoped threads, keeping order. Used for
/// system calls that block (fsync, stat): journaling file systems commit concurrent
/// fsyncs together, so N files cost about one commit instead of N.
pub(crate) fn parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Result<Vec<R>>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part?),
                Err(_) => {
                    return Err(Error::Io {
                        action: "run a worker thread for",
                        path: std::path::PathBuf::new(),
                        source: io::Error::other("a worker thread panicked"),
                    });
                }
            }
        }
        Ok(out)
    })
}

/// fsyncs every file and directory in `paths`, concurrently. The descriptors are
/// opened read-only, which Unix allows for `fsync` (Windows' `FlushFileBuffers` would
/// need write access: one reason the crate is Unix-only, see `lib.rs`).
pub(crate) fn sync_paths(paths: &[&Path]) -> Result<()> {
    parallel(paths, io_threads(paths.len(), 64), |p| {
        File::open(p)
            .and_then(|f| f.sync_all())
            .map_err(io_err("fsync", *p))
    })
    .map(drop)
}

/// Reads exactly `buf.len()` bytes at `offset` (`pread`) without moving the file's
/// cursor, so threads may share one `File`.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

/// Writes `bytes` to a temporary file in `tmp_dir`, sets its permissions, fsyncs it
/// (if `durable`) and renames it to `dest`. The caller fsyncs `dest`'s directory.
pub(crate) fn write_atomic(
    tmp_dir: &Path,
    dest: &Path,
    bytes: &[u8],
    executable: Option<bool>,
    durable: bool,
) -> Result<()> {
    let mut tmp =
        NamedTempFile::new_in(tmp_dir).map_err(io_err("create a temporary file in", tmp_dir))?;
    tmp.write_all(bytes)
        .map_err(io_err("write", tmp.path().to_owned()))?;
    if let Some(executable) = executable {
        set_executable(tmp.as_file(), tmp.path(), executable)?;
    }
    if durable {
        tmp.as_file()
            .sync_all()
            .map_err(io_err("fsync", tmp.path().to_owned()))?;
    }
    tmp.persist(dest).map_err(|e| Error::Io {
        action: "rename a temporary file to",
        path: dest.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

/// Writes `bytes` to a new temporary file in `tmp_dir`, without fsync; the caller
/// fsyncs it (see [`sync_paths`]) before [`persist`]ing it.
pub(crate) fn temp_file(tmp_dir: &Path, bytes: &[u8]) -> Result<NamedTempFile> {
    let mut tmp =
        NamedTempFile::new_in(tmp_dir).map_err(io_err("create a temporary file in", tmp_dir))?;
    tmp.write_all(bytes)
        .map_err(io_err("write", tmp.path().to_owned()))?;
    Ok(tmp)
}

/// Renames a temporary file over `dest`.
pub(crate) fn persist(tmp: NamedTempFile, dest: &Path) -> Result<()> {
    tmp.persist(dest).map(drop).map_err(|e| Error::Io {
        action: "rename a temporary file to",
        path: dest.to_owned(),
        source: e.error,
    })
}

/// Sets or clears the execute bits of a freshly created file, keeping the read and
/// write bits it was created with (0o666 less the umask): executable gets an execute
/// bit wherever it has a read bit, as git does.
pub(crate) fn set_executable(file: &File, path: &Path, executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let created = file
        .metadata()
        .map_err(io_err("stat", path))?
        .permissions()
        .mode()
        & 0o666;
    let mode = if executable {
        created | ((created & 0o444) >> 2)
    } else {
        created
    };
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("set permissions of", path))
}

/// Whether any execute bit is set.
pub(crate) fn is_executable(meta: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

/// A file-system timestamp: (seconds, nanoseconds) since the epoch.
pub(crate) type Stamp = (i64, i64);

/// The stat fields that tell whether a file may have changed since it was hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StatKey {
    pub(crate) size: u64,
    pub(crate) mtime: Stamp,
    pub(crate) ctime: Stamp,
    pub(crate) ino: u64,
    pub(crate) dev: u64,
    pub(crate) mode: u32,
}

impl StatKey {
    pub(crate) fn of(meta: &Metadata) -> StatKey {
        use std::os::unix::fs::MetadataExt;
        StatKey {
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
            mode: meta.mode(),
        }
    }

    /// The "racily clean" rule: a cache entry may be trusted only if the file's last
    /// change (mtime and ctime) is strictly older than the moment the scan that
    /// recorded it began, as the file system's own clock and granularity saw it.
    pub(crate) fn settled_before(&self, scan_start: Stamp) -> bool {
        self.mtime < scan_start && self.ctime < scan_start
    }
}

/// Reads the file system's current time at its own granularity, by rewriting a
/// one-byte file in the store and reading back its mtime.
pub(crate) fn fs_now(store: &Path) -> Result<Stamp> {
    let path = store.join("clock");
    let mut f = File::create(&path).map_err(io_err("write", &path))?;
    f.write_all(b"\n").map_err(io_err("write", &path))?;
    let meta = f.metadata().map_err(io_err("stat", &path))?;
    Ok(StatKey::of(&meta).mtime)
}

/// Which paths under the root the store tracks.
pub(crate) struct Filter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Filter {
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Filter> {
        let build = |globs: &[String]| -> Result<GlobSet> {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                let glob = globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map_err(|source| Error::Glob {
                        glob: g.clone(),
                        source,
                    })?;
                b.add(glob);
            }
            b.build().map_err(|source| Error::Glob {
                glob: globs.join(", "),
                source,
            })
        };
        Ok(Filter {
            include: if include.is_empty() {
                None
            } else {
                Some(build(include)?)
            },
            exclude: build(exclude)?,
        })
    }

    /// Whether the file at `rel` is tracked.
    pub(crate) fn tracks_file(&self, rel: &str) -> bool {
        !in_store(rel)
            && (self.exclude.is_empty() || !self.exclude.is_match(rel))
            && self.include.as_ref().is_none_or(|inc| inc.is_match(rel))
    }

    /// Whether the walk may skip the directory at `rel` entirely.
    pub(crate) fn skips_dir(&self, rel: &str) -> bool {
        in_store(rel) || (!self.exclude.is_empty() && self.exclude.is_match(rel))
    }
}

fn in_store(rel: &str) -> bool {
    is_store_path(rel)
}

/// Appends every tracked regular file under `root/start` (`start` relative, `""` for
/// the whole tree) to `out` as (relative `/`-path, lstat metadata). Symbolic links
/// and special files are not followed and not tracked.
pub(crate) fn walk(
    root: &Path,
    start: &str,
    filter: &Filter,
    out: &mut Vec<(String, Metadata)>,
) -> Result<()> {
    let mut stack = vec![start.to_owned()];
    let mut files: Vec<(String, fs::DirEntry)> = Vec::new();
    let mut dirs_open = 0usize;
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_owned()
        } else {
            root.join(&rel)
        };
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !rel.is_empty() => continue,
            Err(e) => return Err(io_err("list", dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("list", &dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::UnsafePath {
                    path: entry.path().display().to_string(),
                    version: None,
                    reason: "the file name is not valid UTF-8; rename it or exclude its directory"
                        .into(),
                });
            };
            let child = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            let file_type = entry.file_type().map_err(io_err("stat", entry.path()))?;
            if file_type.is_dir() {
                if !filter.skips_dir(&child) {
                    stack.push(child);
                }
            } else if file_type.is_file() && filter.tracks_file(&child) {
                files.push((child, entry));
            }
        }
        // A pending entry keeps its directory open: stat in batches so that a tree
        // of many directories never holds many descriptors.
        dirs_open += 1;
        if files.len() >= 8192 || dirs_open >= 64 {
            stat_batch(&mut files, out)?;
            dirs_open = 0;
        }
    }
    stat_batch(&mut files, out)
}

/// Stats a batch of listed files (the calls that dominate a scan), spread over the
/// CPUs as git's preloaded index does, and moves them to `out`.
fn stat_batch(
    files: &mut Vec<(String, fs::DirEntry)>,
    out: &mut Vec<(String, Metadata)>,
) -> Result<()> {
    let threads = if files.len() < 512 { 1 } else { cpu_threads() };
    let metas = parallel(files, threads, |(_, entry)| match entry.metadata() {
        Ok(meta) => Ok(Some(meta)),
        // Deleted between listing and stat: it is simply not there.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("stat", entry.path())(e)),
    })?;
    out.extend(
        files
            .drain(..)
            .zip(metas)
            .filter_map(|((rel, _), meta)| meta.map(|m| (rel, m))),
    );
    Ok(())
}

/// Converts a relative `/`-path to a path under `root`.
pub(crate) fn under(root: &Path, rel: &str) -> std::path::PathBuf {
    let mut p = root.to_owned();
    for c in rel.split('/') {
        p.push(c);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_excludes_the_store_and_applies_globs() {
        let f = Filter::new(&[], &["*.tmp".into(), "target".into()]).unwrap();
        assert!(f.tracks_file("a.md"));
        assert!(!f.tracks_file("x.tmp"));
        assert!(f.tracks_file("dir/x.tmp"), "`*` does not cross `/`");
        assert!(!f.tracks_file(".ssot/versions/HEAD"));
        assert!(
            !f.tracks_file(".SSOT/Versions/HEAD"),
            "case-insensitive file systems"
        );
        assert!(f.skips_dir("target"));
        assert!(f.skips_dir(".ssot/versions"));
        let f = Filter::new(&["docs/**".into()], &[]).unwrap();
        assert!(f.tracks_file("docs/a/b.md"));
        assert!(!f.tracks_file("src/a.rs"));
    }

    #[test]
    fn a_bad_glob_names_itself() {
        let err = Filter::new(&["a[".into()], &[]).err().unwrap();
        assert!(err.to_string().contains("`a[`"), "{err}");
    }

    #[test]
    fn racily_clean_entries_are_not_settled() {
        let key = StatKey {
            size: 1,
            mtime: (10, 5),
            ctime: (10, 5),
            ino: 1,
            dev: 1,
            mode: 0,
        };
        assert!(key.settled_before((10, 6)));
        assert!(
            !key.settled_before((10, 5)),
            "same tick as the scan start is racy"
        );
        assert!(!key.settled_before((9, 0)));
    }
}
