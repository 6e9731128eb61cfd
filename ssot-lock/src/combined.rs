//! The guard of an in-process lock taken together with a cross-process file lock.

use std::hash::Hash;
use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use crate::file::FileLock;
use crate::manager::LockGuard;
use crate::wait::Wait;
use crate::{LockKind, Owner};

/// An in-process lock and a cross-process file lock of the same kind, taken together by
/// [`LockRequest::acquire_with_file`](crate::LockRequest::acquire_with_file). Dropping
/// it releases the file lock, then the in-process lock.
#[must_use = "the locks are released as soon as the guard is dropped"]
pub struct CombinedGuard<'a, K> {
    // Field order is drop order: the file first.
    file: FileLock,
    memory: LockGuard<'a, K>,
}

impl<K> std::fmt::Debug for CombinedGuard<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CombinedGuard")
            .field("file", &self.file)
            .field("memory", &self.memory)
            .finish()
    }
}

impl<'a, K: Hash + Eq> CombinedGuard<'a, K> {
    pub(crate) fn new(file: FileLock, memory: LockGuard<'a, K>) -> Self {
        CombinedGuard { file, memory }
    }

    /// The kind held now.
    #[must_use]
    pub fn kind(&self) -> LockKind {
        self.memory.kind()
    }

    /// The in-process owner.
    #[must_use]
    pub fn owner(&self) -> Owner {
        self.memory.owner()
    }

    /// The lock file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Upgrades both locks from `Write` to `Exclusive`: in-process first, then the file.
    ///
    /// # Errors
    ///
    /// Those of [`LockGuard::upgrade`] and [`FileLockGuard::upgrade`](crate::FileLockGuard::upgrade); on error both
    /// locks are `Write` again.
    pub fn upgrade(&mut self) -> Result<()> {
        self.upgrade_with(Wait::Block)
    }

    /// Upgrades both locks if that needs no waiting.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`](crate::Error::WouldBlock), and those of [`upgrade`](Self::upgrade).
    pub fn try_upgrade(&mut self) -> Result<()> {
        self.upgrade_with(Wait::Try)
    }

    /// Upgrades both locks within one `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`](crate::Error::Timeout), and those of [`upgrade`](Self::upgrade).
    pub fn upgrade_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.upgrade_with(Wait::timeout(timeout))
    }

    fn upgrade_with(&mut self, wait: Wait) -> Result<()> {
        let before = self.memory.kind();
        self.memory.upgrade_with(wait)?;
        if let Err(e) = self.file.upgrade(wait) {
            self.memory.downgrade(before)?;
            return Err(e);
        }
        Ok(())
    }

    /// Weakens both locks to `to`: the file first, then in-process.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDowngrade`](crate::Error::InvalidDowngrade) if `to` is stronger than the kind held; [`Error::Io`](crate::Error::Io).
    pub fn downgrade(&mut self, to: LockKind) -> Result<()> {
        // `>=` here would be equivalent (cargo-mutants): a downgrade to the kind held is
        // a no-op both in process and on the file.
        if to > self.memory.kind() {
            return self.memory.downgrade(to);
        }
        self.file.downgrade(to)?;
        self.memory.downgrade(to)
    }
}
