//! Durable writes: atomic replacement of a file and the fsyncs that make renames
//! and new files survive a crash.
//!
//! Every file the crate writes, in the store or in the tree, is written to a temporary
//! file in the store's `tmp/` directory, fsynced and renamed over its destination, and
//! then the destination's directory is fsynced. The temporary file is never inside the
//! tracked tree, so a crash leaves no stray file there; `tmp/` is emptied whenever the
//! store is locked. Callers batch the fsyncs of many files into one concurrent round
//! ([`sync_paths`]), which journaling file systems commit together.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use tempfile::NamedTempFile;

use crate::error::{Error, Result, io_err};
use crate::parallel::{io_threads, parallel};
use crate::stat::set_executable;

/// fsyncs a directory so that renames and unlinks in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err("fsync directory", dir))
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
