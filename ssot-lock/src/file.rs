//! Cross-process locks on lock files, with the same three kinds. The design is in
//! [`FileLock`]'s documentation, where users of the crate can read it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::wait::Wait;
use crate::{LockKind, Owner};

const FIRST_BACKOFF: Duration = Duration::from_micros(50);
const MAX_BACKOFF: Duration = Duration::from_millis(10);

/// A cross-process lock with the three kinds of [`LockKind`], on a lock file and its
/// `.intent` and `.gate` companions.
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
///
/// # Design
///
/// The operating system offers two kinds of whole-file lock (std's `File::lock` and
/// `File::lock_shared`: `flock` on Unix, `LockFileEx` on Windows), no atomic change from
/// one to the other, and no writer preference. Three kinds are built from three files:
///
/// | kind      | `<path>.intent` | `<path>.gate`                 | `<path>` (data) |
/// |-----------|-----------------|-------------------------------|-----------------|
/// | Read      | -               | shared, while acquiring only  | shared          |
/// | Write     | exclusive       | -                             | shared          |
/// | Exclusive | exclusive       | exclusive, while acquiring only | exclusive     |
///
/// Checking the table: two `Write`s, or `Write` and `Exclusive`, meet on the intent
/// file; `Exclusive` and `Read` meet on the data file; `Read` and `Write` share the data
/// file and do not meet.
///
/// The gate gives writers the preference the operating system does not: an `Exclusive`
/// request (or an upgrade) holds the gate exclusively while it waits for the readers to
/// leave the data file, and a new reader must pass the gate (shared, released as soon
/// as it holds the data file), so new readers wait behind a waiting writer, as they do
/// in a [`LockManager`](crate::LockManager). Only an intent holder ever locks the data
/// file exclusively, and a reader holds the gate only while it waits for the data file,
/// which is then held by no one exclusively or by an `Exclusive` holder that waits for
/// nothing: so the files are never waited for in a cycle.
///
/// The upgrade from `Write` to `Exclusive` takes the gate, releases the shared lock on
/// the data file, waits for an exclusive one, and releases the gate. In the gap no second
/// writer can enter: it would need the intent file, which the upgrader keeps throughout.
/// If the exclusive lock is not obtained (try or timeout), the shared one is taken back
/// at once (only the intent holder could hold the data file exclusively, and that is
/// us), so the guard stays a `Write`. Downgrades never wait.
///
/// std has no timed file lock, so a timeout polls `try_lock` with exponential backoff:
/// 50 µs, doubling up to 10 ms between attempts, never sleeping past the deadline. A
/// timed request can therefore be overtaken by a blocking one; it costs one system call
/// per attempt.
///
/// The locks belong to the open files, not to the process: two `FileLock`s on the same
/// path exclude each other per the table even in one process, and closing the files (a
/// crash included) releases them.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    intent_path: PathBuf,
    gate_path: PathBuf,
    data: File,
    intent: File,
    gate: File,
    held: Option<LockKind>,
}

/// One of a `FileLock`'s three files.
#[derive(Debug, Clone, Copy)]
enum Part {
    Data,
    Intent,
    Gate,
}

const SHARED: bool = true;
const EXCLUSIVE: bool = false;

fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
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
                // Only how often it polls depends on this: `* 2` as `/ 2` (a mutant)
                // polls ever faster and gives the same answers, so it survives.
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

impl FileLock {
    /// Opens (creating if needed) the lock file `path` and its companions
    /// `<path>.intent` and `<path>.gate`. None of them is ever written; they may be left
    /// in place.
    ///
    /// Use a lock file beside the resource rather than the resource itself: on Windows
    /// a locked file cannot be read or written through other handles. Do not delete the
    /// lock files while any process may use them: a process that then creates a new file
    /// of the same name would lock a different file, and the lock would be split in two.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if a file cannot be opened or created.
    pub fn open(path: impl AsRef<Path>) -> Result<FileLock> {
        let path = path.as_ref().to_owned();
        let intent_path = companion(&path, ".intent");
        let gate_path = companion(&path, ".gate");
        Ok(FileLock {
            data: open(&path)?,
            intent: open(&intent_path)?,
            gate: open(&gate_path)?,
            path,
            intent_path,
            gate_path,
            held: None,
        })
    }

    /// The lock file's path (the data lock; the others are `<path>.intent` and
    /// `<path>.gate`).
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
    /// [design notes](FileLock#design)).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], and those of [`lock`](Self::lock).
    pub fn lock_timeout(&mut self, kind: LockKind, timeout: Duration) -> Result<FileLockGuard<'_>> {
        self.acquire(kind, Wait::timeout(timeout))?;
        Ok(FileLockGuard { lock: self })
    }

    fn file(&self, part: Part) -> (&File, &Path) {
        match part {
            Part::Data => (&self.data, &self.path),
            Part::Intent => (&self.intent, &self.intent_path),
            Part::Gate => (&self.gate, &self.gate_path),
        }
    }

    fn io_error(&self, part: Part, action: &'static str, source: io::Error) -> Error {
        Error::Io {
            path: self.file(part).1.to_owned(),
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

    /// Locks one file for a request of `kind`, or says why not.
    fn take(&self, part: Part, shared: bool, wait: Wait, kind: LockKind) -> Result<()> {
        match take(self.file(part).0, shared, wait) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.refused(kind, wait)),
            Err(e) => Err(self.io_error(part, "lock", e)),
        }
    }

    /// Unlocks one file on a path that is already failing or cannot fail usefully: an
    /// unlock only fails on a handle that is not locked or not open, and the locks go
    /// with the files when they close in any case.
    fn unlock_quietly(&self, part: Part) {
        let _ = self.file(part).0.unlock();
    }

    pub(crate) fn acquire(&mut self, kind: LockKind, wait: Wait) -> Result<()> {
        if let Some(held) = self.held {
            return Err(Error::AlreadyHeld {
                owner: Owner::current(),
                resource: format!("lock file {}", self.path.display()),
                kind: held,
            });
        }
        match kind {
            LockKind::Read => {
                self.take(Part::Gate, SHARED, wait, kind)?;
                let data = self.take(Part::Data, SHARED, wait, kind);
                self.unlock_quietly(Part::Gate);
                data?;
            }
            LockKind::Write => {
                self.take(Part::Intent, EXCLUSIVE, wait, kind)?;
                if let Err(e) = self.take(Part::Data, SHARED, wait, kind) {
                    self.unlock_quietly(Part::Intent);
                    return Err(e);
                }
            }
            LockKind::Exclusive => {
                self.take(Part::Intent, EXCLUSIVE, wait, kind)?;
                if let Err(e) = self.take(Part::Gate, EXCLUSIVE, wait, kind) {
                    self.unlock_quietly(Part::Intent);
                    return Err(e);
                }
                let data = self.take(Part::Data, EXCLUSIVE, wait, kind);
                self.unlock_quietly(Part::Gate);
                if let Err(e) = data {
                    self.unlock_quietly(Part::Intent);
                    return Err(e);
                }
            }
        }
        self.held = Some(kind);
        Ok(())
    }

    pub(crate) fn release(&mut self) {
        if let Some(kind) = self.held.take() {
            self.unlock_quietly(Part::Data);
            if kind != LockKind::Read {
                self.unlock_quietly(Part::Intent);
            }
        }
    }

    pub(crate) fn upgrade(&mut self, wait: Wait) -> Result<()> {
        match self.held {
            Some(LockKind::Exclusive) => Ok(()),
            Some(LockKind::Write) => {
                let kind = LockKind::Exclusive;
                // Hold new readers back while we wait for the current ones.
                self.take(Part::Gate, EXCLUSIVE, wait, kind)?;
                let exchanged = self
                    .data
                    .unlock()
                    .map_err(|e| self.io_error(Part::Data, "unlock", e))
                    .and_then(|()| self.take(Part::Data, EXCLUSIVE, wait, kind));
                if exchanged.is_err() {
                    // We hold the intent file, so no one else can hold the data file
                    // exclusively: the shared lock comes back without waiting.
                    if let Err(e) = self.data.lock_shared() {
                        self.unlock_quietly(Part::Gate);
                        return Err(self.io_error(Part::Data, "lock", e));
                    }
                }
                self.unlock_quietly(Part::Gate);
                exchanged?;
                self.held = Some(kind);
                Ok(())
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
            self.data
                .unlock()
                .map_err(|e| self.io_error(Part::Data, "unlock", e))?;
            // From here on the lock is no longer Exclusive, whatever happens next; if the
            // shared data lock cannot be taken, the intent file alone still keeps every
            // other writer out, which is what Write promises.
            self.held = Some(LockKind::Write);
            self.data
                .lock_shared()
                .map_err(|e| self.io_error(Part::Data, "lock", e))?;
        }
        if to == LockKind::Read && self.held == Some(LockKind::Write) {
            self.intent
                .unlock()
                .map_err(|e| self.io_error(Part::Intent, "unlock", e))?;
            self.held = Some(LockKind::Read);
        }
        Ok(())
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the three files releases their locks anyway, so an empty `drop` (a
        // mutant) behaves the same; the explicit release keeps `held` honest and does
        // not rely on the close order.
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
    /// No second writer can enter meanwhile (see the [design notes](FileLock#design)).
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
