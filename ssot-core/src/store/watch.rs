//! Watching the store's directory for outside edits (feature `watch`): the file
//! watcher, the batch filter and [`Store::watch`]. The design and costs are documented
//! on [`Watcher`], where users see them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};
use notify_debouncer_full::{
    DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache, new_debouncer,
};

use super::Store;
use super::manifest::MANIFEST_FILE;
use super::scan::{STATE_DIR, relative, role_of};
use crate::Error;

/// How long a path must be quiet before its edits are handed over as one batch:
/// 200 ms, long enough to merge an editor's save, short enough to feel immediate.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);

/// The directories under the root whose events are dropped.
const IGNORED_DIRS: [&str; 2] = [STATE_DIR, ".git"];

/// A running watch of a store's directory; made by [`Store::watch`] (feature
/// `watch`).
///
/// [`Store::watch`] starts a file watcher (the `notify` crate, debounced by
/// `notify-debouncer-full`) on the root. Each debounced batch of edits to store files
/// is handed to [`Store::record_drift`], so an edit made by an editor, `git checkout`
/// or another program becomes `External` records in the audit log and
/// [`Event`](super::Event)s with `external: true` for every [`Store::subscribe`]r,
/// like a change made through the store.
///
/// Dropping the `Watcher` (or calling [`Watcher::stop`]) stops the file watcher and
/// its background thread; a drift check that is running is finished first. Errors of
/// the background thread are queued and read with [`Watcher::errors`]; the ones still
/// queued at [`Watcher::stop`] are returned by it. The watcher holds an `Arc` of the
/// store, released when the watch stops. `Send` and `Sync`.
///
/// # Design
///
/// - **One drift check per batch, not per event.** An editor saving a file produces
///   a burst of events (a temporary file, a rename, an attribute change); the
///   debouncer waits until the path has been quiet for the debounce time (default
///   [`DEFAULT_DEBOUNCE`]) and hands over the whole burst, and the watcher thread also
///   merges the batches that queued while it was busy. The drift check compares the
///   files with the last revision, so the watcher never needs to know *what* changed,
///   only *that* something might have: a missed detail cannot lose an edit.
/// - **Filtered to store files.** Events under `.ssot/` (the store's own audit log
///   and versions) and `.git/` are dropped, as are reads (access events), attribute
///   changes (`chmod`, `touch`: no byte changed) and files the manifest does not
///   manage. A path that is no longer a regular file (removed, or a directory that
///   was renamed or removed with store files in it) always counts. A back-end that
///   lost events (inotify queue overflow) asks for a rescan, which also triggers a
///   check.
/// - **The store's own writes are seen too.** A change made through the store also
///   touches its files; the drift check that follows finds them equal to the last
///   revision and records nothing.
/// - **Nothing is lost between start and the first event.** The watcher thread runs
///   one drift check right after the watch is in place, so edits made before
///   [`Store::watch`] returned are recorded as well.
/// - **Errors are kept, not printed.** The background thread cannot return an error;
///   it queues each one (a failed drift check, a back-end error such as the inotify
///   watch limit) for [`Watcher::errors`] and keeps watching.
///
/// # Costs
///
/// The watch is recursive: on Linux one inotify watch per directory under the root,
/// `.ssot/` included (its events are dropped, not avoided). Each batch that touches a
/// store file costs one [`Store::record_drift`]: a walk of the store and a hash of
/// each file whose `stat` changed, under the store's lock. Stopping (dropping the
/// [`Watcher`]) waits for a running drift check and at most one debouncer tick
/// (a quarter of the debounce time).
#[must_use = "the watch stops when the Watcher is dropped"]
pub struct Watcher {
    root: PathBuf,
    debouncer: Option<Debouncer<notify::RecommendedWatcher, RecommendedCache>>,
    worker: Option<JoinHandle<()>>,
    errors: Mutex<mpsc::Receiver<Error>>,
    batches: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("root", &self.root)
            .field("batches", &self.batches())
            .field("running", &self.debouncer.is_some())
            .finish_non_exhaustive()
    }
}

/// What one call of the batch handler is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    /// The store paths (relative, `/` separated, sorted, unique) that were edited.
    pub(crate) paths: Vec<String>,
    /// The back-end lost events (or this is the check at start): anything may have
    /// changed.
    pub(crate) rescan: bool,
}

impl Watcher {
    /// The directory watched: the store's root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many batches the background thread has handled so far (the check at
    /// start included), whether or not they found drift.
    #[must_use]
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Acquire)
    }

    /// Takes the errors the background thread met since the last call: a drift
    /// check that failed (an outside edit that cannot be recorded, an I/O error) or
    /// an error of the file watcher ([`Error::Watch`]). The watch goes on after an
    /// error; the next batch checks the whole store again.
    #[must_use]
    pub fn errors(&self) -> Vec<Error> {
        // A poisoned lock only means a reader panicked; the receiver is still whole.
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        errors.try_iter().collect()
    }

    /// Stops the watch (as dropping it does) and returns the errors still queued.
    pub fn stop(mut self) -> Vec<Error> {
        self.shutdown();
        self.errors()
    }

    fn shutdown(&mut self) {
        // Batches still queued are not handled: their edits stay drift, recorded by
        // the next change or `record_drift`.
        self.stopping.store(true, Ordering::Release);
        if let Some(debouncer) = self.debouncer.take() {
            // Joins the debouncer's thread, which drops the sender: the worker's
            // `recv` then ends once the queue is drained.
            debouncer.stop();
        }
        if let Some(worker) = self.worker.take() {
            // A worker that panicked has nothing more to report; the panic message
            // went to stderr through the panic hook.
            let _ = worker.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a debounced recursive watch of `root` (canonical) and a thread that calls
/// `on_batch` once at start (`rescan: true`) and then for each batch of edits to
/// paths `relevant` accepts. Errors of `on_batch` and of the watcher are queued for
/// [`Watcher::errors`].
pub(crate) fn spawn(
    root: &Path,
    debounce: Duration,
    relevant: impl Fn(&str, &Path) -> bool + Send + 'static,
    mut on_batch: impl FnMut(&Batch) -> Result<(), Error> + Send + 'static,
) -> Result<Watcher, Error> {
    let (events_tx, events_rx) = mpsc::channel::<DebounceEventResult>();
    let (errors_tx, errors_rx) = mpsc::channel::<Error>();
    let watch_error = |source: notify::Error| Error::Watch {
        path: root.to_path_buf(),
        source,
    };
    let mut debouncer = new_debouncer(debounce, None, events_tx).map_err(watch_error)?;
    debouncer
        .watch(root, notify::RecursiveMode::Recursive)
        .map_err(watch_error)?;
    let batches = Arc::new(AtomicU64::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    let worker_root = root.to_path_buf();
    let worker_batches = Arc::clone(&batches);
    let worker_stopping = Arc::clone(&stopping);
    let worker = std::thread::Builder::new()
        .name("ssot-store-watch".to_owned())
        .spawn(move || {
            let mut handle = |batch: &Batch| {
                if let Err(e) = on_batch(batch) {
                    // The receiver lives in the Watcher; when it is gone nobody asks.
                    let _ = errors_tx.send(e);
                }
                worker_batches.fetch_add(1, Ordering::AcqRel);
            };
            handle(&Batch {
                paths: Vec::new(),
                rescan: true,
            });
            while let Ok(first) = events_rx.recv() {
                if worker_stopping.load(Ordering::Acquire) {
                    break;
                }
                // Merge what queued while the last batch was handled.
                let mut batch = Batch::default();
                for result in std::iter::once(first).chain(events_rx.try_iter()) {
                    match result {
                        Ok(events) => collect(&worker_root, &relevant, &events, &mut batch),
                        Err(errors) => {
                            for source in errors {
                                // Lost events: check everything next.
                                batch.rescan = true;
                                let _ = errors_tx.send(Error::Watch {
                                    path: worker_root.clone(),
                                    source,
                                });
                            }
                        }
                    }
                }
                if batch.rescan || !batch.paths.is_empty() {
                    batch.paths.sort();
                    batch.paths.dedup();
                    handle(&batch);
                }
            }
        })
        .map_err(|e| Error::io(root, e))?;
    Ok(Watcher {
        root: root.to_path_buf(),
        debouncer: Some(debouncer),
        worker: Some(worker),
        errors: Mutex::new(errors_rx),
        batches,
        stopping,
    })
}

impl Store {
    /// Starts watching the store's directory for outside edits, with the
    /// [`DEFAULT_DEBOUNCE`]; see [`Store::watch_with`].
    ///
    /// # Errors
    ///
    /// As [`Store::watch_with`].
    pub fn watch(self: &Arc<Store>) -> Result<Watcher, Error> {
        self.watch_with(DEFAULT_DEBOUNCE)
    }

    /// Starts watching the store's directory for outside edits: each debounced batch
    /// of edits to store files (see [`Watcher`] for what counts)
    /// runs [`Store::record_drift`], so outside edits become `External` audit records
    /// and events with `external: true` for every [`Store::subscribe`]r. One drift
    /// check also runs at once, for edits made before the watch started.
    ///
    /// The watch runs on a background thread until the returned [`Watcher`] is
    /// dropped; its errors (a drift check that failed, a watcher error) are kept for
    /// [`Watcher::errors`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use ssot_core::store::Store;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let store = Arc::new(Store::init(dir.path())?);
    /// let events = store.subscribe();
    /// let watcher = store.watch_with(Duration::from_millis(50))?;
    /// std::fs::write(dir.path().join("todo.md"), "- [ ] Written by hand 🆔 hand\n")?;
    /// let event = events.recv_timeout(Duration::from_secs(30))?;
    /// assert!(event.external);
    /// assert_eq!(event.path, "todo.md");
    /// assert!(watcher.stop().is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Watch`] when the file watcher cannot be started (on Linux, the
    /// inotify instance or watch limit); [`Error::Io`] when its thread cannot.
    pub fn watch_with(self: &Arc<Store>, debounce: Duration) -> Result<Watcher, Error> {
        let filter = Arc::clone(self);
        let store = Arc::clone(self);
        spawn(
            self.root(),
            debounce,
            move |rel, full| filter.is_watched(rel, full),
            move |_batch| store.record_drift().map(drop),
        )
    }

    /// Whether an event on `rel` (at `full`) may change what the store holds: a file
    /// the manifest manages, the manifest or a schema file, or a path that is no
    /// longer a regular file (removed, or a directory that may hold store files).
    fn is_watched(&self, rel: &str, full: &Path) -> bool {
        rel == MANIFEST_FILE
            || role_of(self.manifest(), rel).is_some()
            || self.manifest().schemas().iter().any(|(_, p)| p == rel)
            || self.manifest().schema_paths().iter().any(|p| p == rel)
            || !full.is_file()
    }
}

/// Adds the store paths of `events` that `relevant` accepts to `batch`.
fn collect(
    root: &Path,
    relevant: &impl Fn(&str, &Path) -> bool,
    events: &[DebouncedEvent],
    batch: &mut Batch,
) {
    for event in events {
        if event.need_rescan() {
            batch.rescan = true;
        }
        if matches!(
            event.kind,
            EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_))
        ) {
            continue;
        }
        for path in &event.paths {
            let Some(rel) = relative(root, path) else {
                // Not under the root (cannot happen for a recursive watch of it) or
                // not UTF-8, which no store file is: scan to be safe.
                batch.rescan = true;
                continue;
            };
            if rel.is_empty() {
                // The root itself was moved, removed or changed attributes.
                batch.rescan = true;
                continue;
            }
            let top = rel.split('/').next().unwrap_or_default();
            if IGNORED_DIRS.contains(&top) {
                continue;
            }
            if relevant(&rel, path) {
                batch.paths.push(rel);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::time::Instant;

    /// Long enough for any loaded machine; the tests wait for an outcome, never for a
    /// fixed time, except to prove that something does *not* happen.
    const PATIENCE: Duration = Duration::from_secs(30);

    fn start(root: &Path) -> (Watcher, mpsc::Receiver<Batch>) {
        let (tx, rx) = mpsc::channel();
        let watcher = spawn(
            root,
            Duration::from_millis(50),
            |rel, _| rel.ends_with(".md"),
            move |batch| {
                tx.send(batch.clone()).unwrap();
                Ok(())
            },
        )
        .unwrap();
        (watcher, rx)
    }

    fn canonical_tempdir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        (dir, root)
    }

    /// Waits for a batch that names `path`; returns the batches seen.
    fn wait_for(rx: &mpsc::Receiver<Batch>, path: &str) -> Vec<Batch> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(batch) => {
                    let hit = batch.paths.iter().any(|p| p == path);
                    seen.push(batch);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no batch named `{path}` within {PATIENCE:?}; saw {seen:?}");
    }

    #[test]
    fn the_first_batch_is_a_rescan_at_start() {
        let (_dir, root) = canonical_tempdir();
        let (watcher, rx) = start(&root);
        let first = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(
            first,
            Batch {
                paths: vec![],
                rescan: true
            }
        );
        // The count moves once the handler has returned.
        let deadline = Instant::now() + PATIENCE;
        while watcher.batches() < 1 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(watcher.batches(), 1);
        assert!(watcher.stop().is_empty());
    }

    #[test]
    fn an_edit_to_a_store_file_is_handed_over_with_its_relative_path() {
        let (_dir, root) = canonical_tempdir();
        std::fs::create_dir(root.join("sub")).unwrap();
        let (watcher, rx) = start(&root);
        rx.recv_timeout(PATIENCE).unwrap(); // the check at start
        std::fs::write(root.join("sub/todo.md"), "- [ ] a\n").unwrap();
        let seen = wait_for(&rx, "sub/todo.md");
        assert!(seen.iter().all(|b| !b.rescan), "{seen:?}");
        assert!(watcher.errors().is_empty());
    }

    #[test]
    fn edits_under_state_and_git_dirs_and_unmanaged_files_are_dropped() {
        let (_dir, root) = canonical_tempdir();
        for dir in [".ssot", ".git"] {
            std::fs::create_dir(root.join(dir)).unwrap();
        }
        let (watcher, rx) = start(&root);
        rx.recv_timeout(PATIENCE).unwrap();
        std::fs::write(root.join(".ssot/audit.md"), "x").unwrap();
        std::fs::write(root.join(".git/HEAD.md"), "x").unwrap();
        std::fs::write(root.join("notes.txt"), "x").unwrap();
        // A marker after them: the batches up to and including it must name only it.
        std::fs::write(root.join("marker.md"), "x").unwrap();
        let seen = wait_for(&rx, "marker.md");
        for batch in &seen {
            assert_eq!(batch.paths, ["marker.md"], "{seen:?}");
        }
        drop(watcher);
    }

    #[test]
    fn collect_filters_paths_and_flags_a_rescan() {
        use notify::event::{AccessKind, CreateKind, Flag, MetadataKind};
        let root = Path::new("/r");
        let ev = |kind, path: &str| {
            DebouncedEvent::new(
                notify::Event::new(kind).add_path(PathBuf::from(path)),
                std::time::Instant::now(),
            )
        };
        let events = vec![
            ev(EventKind::Create(CreateKind::File), "/r/a.md"),
            ev(EventKind::Access(AccessKind::Any), "/r/b.md"),
            ev(
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
                "/r/c.md",
            ),
            ev(EventKind::Create(CreateKind::File), "/r/.ssot/d.md"),
            ev(EventKind::Create(CreateKind::File), "/r/.git/e.md"),
            ev(EventKind::Create(CreateKind::File), "/r/x/.ssot/f.md"),
            ev(EventKind::Create(CreateKind::File), "/r/g.txt"),
        ];
        let mut batch = Batch::default();
        collect(root, &|rel, _| rel.ends_with(".md"), &events, &mut batch);
        // A `.ssot` below the root's top level is an ordinary directory.
        assert_eq!(batch.paths, ["a.md", "x/.ssot/f.md"]);
        assert!(!batch.rescan);

        let rescan = DebouncedEvent::new(
            notify::Event::new(EventKind::Other).set_flag(Flag::Rescan),
            std::time::Instant::now(),
        );
        collect(root, &|_, _| true, &[rescan], &mut batch);
        assert!(batch.rescan);
    }

    #[test]
    fn errors_of_the_handler_are_queued_and_the_watch_goes_on() {
        let (_dir, root) = canonical_tempdir();
        let (tx, rx) = mpsc::channel();
        let watcher = spawn(
            &root,
            Duration::from_millis(50),
            |_, _| true,
            move |batch| {
                tx.send(batch.clone()).unwrap();
                Err(Error::NotADirectory {
                    path: PathBuf::from(batch.paths.join(",")),
                })
            },
        )
        .unwrap();
        rx.recv_timeout(PATIENCE).unwrap();
        std::fs::write(root.join("a.md"), "x").unwrap();
        let seen = wait_for(&rx, "a.md");
        // The errors are queued before the batch counter moves; wait for the count.
        let deadline = Instant::now() + PATIENCE;
        while watcher.batches() < 1 + seen.len() as u64 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        let mut errors = watcher.errors();
        errors.extend(watcher.stop());
        assert_eq!(errors.len(), 1 + seen.len(), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, Error::NotADirectory { path } if path.to_str().unwrap().contains("a.md")))
        );
    }

    #[test]
    fn dropping_the_watcher_stops_the_thread_and_the_handler() {
        let (_dir, root) = canonical_tempdir();
        let (watcher, rx) = start(&root);
        rx.recv_timeout(PATIENCE).unwrap();
        drop(watcher);
        // The handler (and its sender) was dropped with the thread: the channel is
        // closed, so no edit after the drop can reach it.
        std::fs::write(root.join("late.md"), "x").unwrap();
        assert!(matches!(
            rx.recv_timeout(PATIENCE),
            Err(mpsc::RecvTimeoutError::Disconnected)
        ));
    }

    /// Waits for an event on `path` with `external` as given.
    fn wait_event(
        events: &mpsc::Receiver<crate::store::Event>,
        path: &str,
        external: bool,
    ) -> crate::store::Event {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match events.recv_timeout(left) {
                Ok(e) if e.path == path && e.external == external => return e,
                Ok(e) => seen.push(e),
                Err(_) => break,
            }
        }
        panic!("no event on `{path}` (external: {external}) within {PATIENCE:?}; saw {seen:?}");
    }

    #[test]
    fn an_outside_edit_becomes_an_audit_record_and_an_external_event() {
        let (_dir, root) = canonical_tempdir();
        std::fs::write(root.join("todo.md"), "- [ ] A 🆔 a\n").unwrap();
        let store = Arc::new(Store::init(&root).unwrap());
        let events = store.subscribe();
        let watcher = store.watch_with(Duration::from_millis(50)).unwrap();
        // The check at start records what was there before the first revision.
        let baseline = wait_event(&events, "todo.md", true);
        assert_eq!(baseline.revision, 1);

        std::fs::write(root.join("todo.md"), "- [x] A 🆔 a\n").unwrap();
        let event = wait_event(&events, "todo.md", true);
        assert_eq!(event.revision, 2);
        assert_eq!(event.operation, crate::store::Operation::External);
        let log = store.audit_log().unwrap();
        let last = log.last().unwrap();
        assert_eq!((last.revision, last.path.as_str()), (2, "todo.md"));
        assert_eq!(
            last.after.as_deref(),
            Some(
                blake3::hash(b"- [x] A \xf0\x9f\x86\x94 a\n")
                    .to_hex()
                    .as_str()
            )
        );
        assert!(store.drift().unwrap().modified.is_empty());
        assert!(watcher.stop().is_empty());
    }

    #[test]
    fn a_change_through_the_store_is_not_recorded_again_as_an_outside_edit() {
        let (_dir, root) = canonical_tempdir();
        std::fs::write(root.join("todo.md"), "- [ ] A 🆔 a\n").unwrap();
        let store = Arc::new(Store::init(&root).unwrap());
        let events = store.subscribe();
        let watcher = store.watch_with(Duration::from_millis(50)).unwrap();
        wait_event(&events, "todo.md", true);
        let commit = store.set_status("a", crate::Status::Done).unwrap();
        wait_event(&events, "todo.md", false);
        // An outside edit after it: once it is recorded, the batch with the store's
        // own write has been handled too (batches are handled in order).
        std::fs::write(root.join("marker.md"), "- [ ] M 🆔 m\n").unwrap();
        wait_event(&events, "marker.md", true);
        let external_todo_after: Vec<_> = store
            .audit_log()
            .unwrap()
            .into_iter()
            .filter(|r| r.revision > commit.revision && r.path == "todo.md")
            .collect();
        assert!(external_todo_after.is_empty(), "{external_todo_after:?}");
        assert!(watcher.errors().is_empty());
    }

    #[test]
    fn the_watch_stops_with_the_watcher_and_later_edits_wait_for_the_next_change() {
        let (_dir, root) = canonical_tempdir();
        std::fs::write(root.join("todo.md"), "- [ ] A 🆔 a\n").unwrap();
        let store = Arc::new(Store::init(&root).unwrap());
        let events = store.subscribe();
        let watcher = store.watch_with(Duration::from_millis(50)).unwrap();
        wait_event(&events, "todo.md", true);
        drop(watcher);
        // The watcher's `Arc` of the store is released with its thread.
        assert_eq!(Arc::strong_count(&store), 1);
        std::fs::write(root.join("todo.md"), "- [/] A 🆔 a\n").unwrap();
        // Nothing records it now: the drift stays until asked for.
        assert_eq!(store.drift().unwrap().modified, ["todo.md"]);
        assert_eq!(store.revision().unwrap(), 1);
    }

    #[test]
    fn a_watcher_can_be_sent_and_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Watcher>();
    }

    #[test]
    fn watching_a_missing_directory_is_an_error_naming_it() {
        let (_dir, root) = canonical_tempdir();
        let missing = root.join("gone");
        let err = spawn(&missing, DEFAULT_DEBOUNCE, |_, _| true, |_| Ok(())).unwrap_err();
        assert!(matches!(&err, Error::Watch { path, .. } if *path == missing));
        assert!(err.to_string().contains("gone"), "{err}");
    }
}
