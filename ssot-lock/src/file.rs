//! Cross-process locks on lock files, with the same three kinds.
//!
//! # Design
//!
//! The operating system offers two kinds of whole-file lock (std's `File::lock` and
//! `File::lock_shared`: `flock` on Unix, `LockFileEx` on Windows), and no atomic change
//! from one to the other. Three kinds are built from two files:
//!
//! | kind      | `<path>.intent` | `<path>` (data) |
//! |-----------|-----------------|-----------------|
//! | Read      | -               | shared          |
//! | Write     | exclusive       | shared          |
//! | Exclusive | exclusive       | exclusive       |
//!
//! Checking the table: two `Write`s, or `Write` and `Exclusive`, meet on the intent
//! file; `Exclusive` and `Read` meet on the data file; `Read` and `Write` share the data
//! file and do not meet. Every kind that takes both files takes the intent file first,
//! so two processes never wait for each other in opposite orders.
//!
//! The upgrade from `Write` to `Exclusive` releases the shared lock on the data file and
//! then waits for an exclusive one. In that gap a reader may come in (which the table
//! allows beside a `Write` anyway), but no second writer can: it would need the intent
//! file, which the upgrader keeps throughout. If the exclusive lock is not obtained
//! (try or timeout), the shared one is taken back at once (only an intent holder can
//! hold the data file exclusively, and that is us), so the guard stays a `Write`.
//! Downgrades work the same way in reverse and never wait.
//!
//! The operating system gives no writer preference: a steady stream of readers in other
//! processes can delay an `Exclusive` (or an upgrade) for as long as it lasts. Within
//! one process, put a [`LockManager`](crate::LockManager) in front
//! ([`LockRequest::acquire_with_file`](crate::LockRequest::acquire_with_file)), which
//! does queue readers behind a waiting writer.
//!
//! std has no timed file lock, so a timeout polls `try_lock` with exponential backoff:
//! 50 µs, doubling up to 10 ms between attempts, never sleeping past the deadline. A
//! timed request can therefore be overtaken by a blocking one; it costs one system call
//! per attempt.
//!
//! The locks belong to the open files, not to the process: two `FileLock`s on the same
//! path exclude each other per the table even in one process, and closing the files (a
//! crash included) releases them.

use std::fmt::Debug;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::Hash;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::manager::LockGuard;
use crate::wait::Wait;
use crate::{LockKind, Owner};

const FIRST_BACKOFF: Duration = Duration::from_micros(50);
const MAX_BACKOFF: Duration = Duration::from_millis(10);

/// A cross-process lock with the three kinds of [`LockKind`], on a lock file and its
/// `.intent` companion.
///
/// Taking a lock needs `&mut self`, so one `FileLock` is held by one guard at a time;
/// for several threads of one process, give each its own `FileLock` or, better, use
/// [`LockRequest::acquire_with_file`](crate::LockRequest::acquire_with_file).
///
/// ```
/// use ssot_lock::{FileLock, LockKind};
///
/// let dir = tempfile::tempdir()?;
/// let mut lock = FileLock::open(dir.path().join("tasks.md.lock"))?;
/// let mut guard = lock.lock(LockKind::Write)?;
/// // ... read and prepare; other processes may still read ...
/// guard.upgrade()?;
/// // ... write; no one else holds any lock now ...
/// drop(guard);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    intent_path: PathBuf,
    data: File,
    intent: File,
    held: Option<LockKind>,
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            action: "open",
            source,
        })
}

/// Locks `file` (shared or exclusive) as `wait` says; `Ok(false)` if it did not get it.
fn take(file: &File, shared: bool, wait: Wait) -> io::Result<bool> {
    let attempt = || {
        let result = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match result {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(e)) => Err(e),
        }
    };
    match wait {
        Wait::Block => {
            if shared {
                file.lock_shared()?;
            } else {
                file.lock()?;
            }
            Ok(true)
        }
        Wait::Try => attempt(),
        Wait::Until { deadline, .. } => {
            let mut backoff = FIRST_BACKOFF;
            loop {
                if attempt()? {
                    return Ok(true);
                }
                let now = Instant::now();
                if now >= deadline {
                    return Ok(false);
                }
                std::thread::sleep(backoff.min(deadline - now));
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

impl FileLock {
    /// Opens (creating if needed) the lock file `path` and its companion
    /// `<path>.intent`. Neither file is ever written; they may be left in place.
    ///
    /// Use a lock file beside the resource rather than the resource itself: on Windows
    /// a locked file cannot be read or written through other handles.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if either file cannot be opened or created.
    pub fn open(path: impl AsRef<Path>) -> Result<FileLock> {
        let path = path.as_ref().to_owned();
        let mut intent_path = path.clone().into_os_string();
        intent_path.push(".intent");
        let intent_path = PathBuf::from(intent_path);
        Ok(FileLock {
            data: open(&path)?,
            intent: open(&intent_path)?,
            path,
            intent_path,
            held: None,
        })
    }

    /// The lock file's path (the data lock; the intent lock is `<path>.intent`).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kind this handle holds, if any.
    #[must_use]
    pub fn held(&self) -> Option<LockKind> {
        self.held
    }

    /// Waits for a lock of `kind`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the system refuses to lock (on a platform without file locks,
    /// with [`io::ErrorKind::Unsupported`]); [`Error::AlreadyHeld`] if a guard of this
    /// handle was leaked with `mem::forget`.
    pub fn lock(&mut self, kind: LockKind) -> Result<FileLockGuard<'_>> {
        self.acquire(kind, Wait::Block)?;
        Ok(FileLockGuard { lock: self })
    }

    /// Takes a lock of `kind` if no other holder prevents it.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`], and those of [`lock`](Self::lock).
    pub fn try_lock(&mut self, kind: LockKind) -> Result<FileLockGuard<'_>> {
        self.acquire(kind, Wait::Try)?;
        Ok(FileLockGuard { lock: self })
    }

    /// Waits at most `timeout` for a lock of `kind`, polling (see the
    /// [module documentation](self)).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], and those of [`lock`](Self::lock).
    pub fn lock_timeout(&mut self, kind: LockKind, timeout: Duration) -> Result<FileLockGuard<'_>> {
        self.acquire(kind, Wait::timeout(timeout))?;
        Ok(FileLockGuard { lock: self })
    }

    fn io(&self, intent: bool, action: &'static str) -> impl FnOnce(io::Error) -> Error + use<> {
        let path = if intent {
            self.intent_path.clone()
        } else {
            self.path.clone()
        };
        move |source| Error::Io {
            path,
            action,
            source,
        }
    }

    fn refused(&self, kind: LockKind, wait: Wait) -> Error {
        let resource = format!("lock file {}", self.path.display());
        match wait {
            Wait::Until { timeout, .. } => Error::Timeout {
                resource,
                kind,
                timeout,
            },
            Wait::Block | Wait::Try => Error::WouldBlock { resource, kind },
        }
    }

    pub(crate) fn acquire(&mut self, kind: LockKind, wait: Wait) -> Result<()> {
        if let Some(held) = self.held {
            return Err(Error::AlreadyHeld {
                owner: Owner::current(),
                resource: format!("lock file {}", self.path.display()),
                kind: held,
            });
        }
        if kind != LockKind::Read
            && !take(&self.intent, false, wait).map_err(self.io(true, "lock"))?
        {
            return Err(self.refused(kind, wait));
        }
        let shared = kind != LockKind::Exclusive;
        match take(&self.data, shared, wait) {
            Ok(true) => {
                self.held = Some(kind);
                Ok(())
            }
            outcome => {
                if kind != LockKind::Read {
                    // Best effort: closing the file releases it in any case.
                    let _ = self.intent.unlock();
                }
                match outcome {
                    Err(e) => Err(self.io(false, "lock")(e)),
                    _ => Err(self.refused(kind, wait)),
                }
            }
        }
    }

    pub(crate) fn release(&mut self) {
        if let Some(kind) = self.held.take() {
            // An unlock can only fail on a handle that is not locked or not open; the
            // locks go with the files when they close in any case.
            let _ = self.data.unlock();
            if kind != LockKind::Read {
                let _ = self.intent.unlock();
            }
        }
    }

    pub(crate) fn upgrade(&mut self, wait: Wait) -> Result<()> {
        match self.held {
            Some(LockKind::Exclusive) => Ok(()),
            Some(LockKind::Write) => {
                self.data.unlock().map_err(self.io(false, "unlock"))?;
                match take(&self.data, false, wait) {
                    Ok(true) => {
                        self.held = Some(LockKind::Exclusive);
                        Ok(())
                    }
                    outcome => {
                        // We hold the intent file, so no one else can hold the data file
                        // exclusively: the shared lock comes back without waiting.
                        self.data.lock_shared().map_err(self.io(false, "lock"))?;
                        match outcome {
                            Err(e) => Err(self.io(false, "lock")(e)),
                            _ => Err(self.refused(LockKind::Exclusive, wait)),
                        }
                    }
                }
            }
            held => Err(Error::InvalidUpgrade {
                resource: format!("lock file {}", self.path.display()),
                from: held.unwrap_or(LockKind::Read),
            }),
        }
    }

    pub(crate) fn downgrade(&mut self, to: LockKind) -> Result<()> {
        let Some(from) = self.held else {
            return Ok(());
        };
        if to > from {
            return Err(Error::InvalidDowngrade {
                resource: format!("lock file {}", self.path.display()),
                from,
                to,
            });
        }
        if from == LockKind::Exclusive && to != LockKind::Exclusive {
            // The intent file stays ours throughout, so no writer enters the gap.
            self.data.unlock().map_err(self.io(false, "unlock"))?;
            self.data.lock_shared().map_err(self.io(false, "lock"))?;
            self.held = Some(LockKind::Write);
        }
        if to == LockKind::Read && self.held == Some(LockKind::Write) {
            self.intent.unlock().map_err(self.io(true, "unlock"))?;
            self.held = Some(LockKind::Read);
        }
        Ok(())
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        self.release();
    }
}

/// A cross-process lock held through a [`FileLock`], released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct FileLockGuard<'a> {
    lock: &'a mut FileLock,
}

impl FileLockGuard<'_> {
    /// The kind held now.
    #[must_use]
    pub fn kind(&self) -> LockKind {
        self.lock.held.unwrap_or(LockKind::Read)
    }

    /// Upgrades `Write` to `Exclusive`, waiting for other processes' readers to go.
    /// No second writer can enter meanwhile (see the [module documentation](self)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUpgrade`] for a `Read` lock, [`Error::Io`]. On error the guard
    /// still holds `Write`.
    pub fn upgrade(&mut self) -> Result<()> {
        self.lock.upgrade(Wait::Block)
    }

    /// Upgrades `Write` to `Exclusive` if no other process reads.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`], and those of [`upgrade`](Self::upgrade).
    pub fn try_upgrade(&mut self) -> Result<()> {
        self.lock.upgrade(Wait::Try)
    }

    /// Upgrades `Write` to `Exclusive`, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], and those of [`upgrade`](Self::upgrade).
    pub fn upgrade_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.lock.upgrade(Wait::timeout(timeout))
    }

    /// Weakens the lock to `to`, without waiting.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDowngrade`] if `to` is stronger than the kind held; [`Error::Io`].
    pub fn downgrade(&mut self, to: LockKind) -> Result<()> {
        self.lock.downgrade(to)
    }
}

impl Drop for FileLockGuard<'_> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

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

impl<'a, K: Hash + Eq + Debug> CombinedGuard<'a, K> {
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
    /// Those of [`LockGuard::upgrade`] and [`FileLockGuard::upgrade`]; on error both
    /// locks are `Write` again.
    pub fn upgrade(&mut self) -> Result<()> {
        self.upgrade_with(Wait::Block)
    }

    /// Upgrades both locks if that needs no waiting.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`], and those of [`upgrade`](Self::upgrade).
    pub fn try_upgrade(&mut self) -> Result<()> {
        self.upgrade_with(Wait::Try)
    }

    /// Upgrades both locks within one `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], and those of [`upgrade`](Self::upgrade).
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
    /// [`Error::InvalidDowngrade`] if `to` is stronger than the kind held; [`Error::Io`].
    pub fn downgrade(&mut self, to: LockKind) -> Result<()> {
        if to > self.memory.kind() {
            return self.memory.downgrade(to);
        }
        self.file.downgrade(to)?;
        self.memory.downgrade(to)
    }
}
