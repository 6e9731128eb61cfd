//! What a file's `lstat` says: the fields the stat cache compares ([`StatKey`]), the
//! file system's own clock ([`fs_now`]) for the racily-clean rule, and the executable
//! bit a version records.

use std::fs::{self, File, Metadata};
use std::io::Write;
use std::path::Path;

use crate::error::{Result, io_err};

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

#[cfg(test)]
mod tests {
    use super::*;

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
