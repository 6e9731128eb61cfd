//! Snapshots of a directory of files, with history, diff, drift status, and a rollback
//! and a multi-file write that a crash cannot leave half done.
//!
//! Contents: [examples](#example-snapshot-change-roll-back) (snapshot and rollback;
//! tracking and tags; pruning; [an all-or-nothing write](#example-an-all-or-nothing-write)),
//! [semantics and costs](#semantics), [crash safety](#crash-safety),
//! [concurrency](#concurrency), [the stat cache](#the-stat-cache-and-racily-clean-files),
//! [security](#security), [platforms](#platforms), [testing](#testing),
//! [fault injection](#fault-injection-test-only).
//!
//! A [`VersionStore`] keeps versions of the files under one root directory in
//! `<root>/.ssot/versions`. Each file's bytes are stored once, under their BLAKE3
//! hash, however many files and versions share them; the new objects of one snapshot
//! go into one pack file, so a snapshot costs four rounds of fsyncs at most, not one per
//! file. A stat cache means a snapshot of an unchanged tree reads no file contents.
//! [`rollback`](VersionStore::rollback) is journaled: after a crash, opening the
//! store finishes it, so the tree always equals exactly one version.
//! [`write`](VersionStore::write) exposes the same journal as a general
//! all-or-nothing write of many files ([`WriteSet`]), with preconditions, an opaque
//! note for the caller's own records and, optionally, a new version.
//!
//! # Example: snapshot, change, roll back
//!
//! ```
//! use ssot_version::VersionStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let root = dir.path();
//! std::fs::write(root.join("todo.md"), "- [ ] write the report\n")?;
//! let store = VersionStore::open(root)?;
//! let first = store.snapshot("first draft")?;
//!
//! std::fs::write(root.join("todo.md"), "- [x] write the report\n")?;
//! std::fs::write(root.join("notes.md"), "done early\n")?;
//! let status = store.status()?;
//! assert_eq!(status.added, ["notes.md"]);
//! assert_eq!(status.modified, ["todo.md"]);
//!
//! // Back to the first draft: `notes.md` goes, `todo.md` is restored. The changes
//! // were recorded first, so this rollback can itself be undone.
//! let restored = store.rollback(first.id().short())?;
//! assert_eq!(restored.restored_from(), Some(first.id()));
//! assert_eq!(std::fs::read_to_string(root.join("todo.md"))?, "- [ ] write the report\n");
//! assert!(!root.join("notes.md").exists());
//! assert_eq!(store.history()?.len(), 3); // rollback, uncommitted changes, first draft
//! # Ok(()) }
//! ```
//!
//! # Example: choose what is tracked, compare versions, tag
//!
//! ```
//! use ssot_version::VersionStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let root = dir.path();
//! std::fs::create_dir(root.join("build"))?;
//! std::fs::write(root.join("build/out.bin"), [0u8; 16])?;
//! std::fs::write(root.join("config.yaml"), "retries: 3\n")?;
//! let store = VersionStore::builder(root).exclude("build").open()?;
//! let v1 = store.snapshot("v1")?;
//! assert_eq!(v1.files().len(), 1); // build/ is excluded
//! store.tag(v1.id().as_str(), "release-1")?;
//!
//! std::fs::write(root.join("config.yaml"), "retries: 5\n")?;
//! let v2 = store.snapshot("more retries")?;
//! let diff = store.diff("release-1", v2.id().as_str())?;
//! assert_eq!(diff.modified, ["config.yaml"]);
//! # Ok(()) }
//! ```
//!
//! # Example: check and prune the store
//!
//! ```
//! use ssot_version::{PrunePolicy, VersionStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let root = dir.path();
//! let store = VersionStore::open(root)?;
//! for i in 0..5 {
//!     std::fs::write(root.join("counter.txt"), format!("{i}\n"))?;
//!     store.snapshot(&format!("count {i}"))?;
//! }
//! let report = store.prune(&PrunePolicy::new().keep_last(2))?;
//! assert_eq!(report.removed_versions.len(), 3);
//! assert_eq!(report.removed_objects, 3); // "0\n", "1\n", "2\n" are gone
//! assert!(store.verify()?.is_ok());
//! # Ok(()) }
//! ```
//!
//! # Example: an all-or-nothing write
//!
//! ```
//! use ssot_version::{Error, VersionStore, WriteSet};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let root = dir.path();
//! std::fs::write(root.join("tasks.md"), "- [ ] ship\n")?;
//! let store = VersionStore::builder(root)
//!     // After a crash, whoever next opens the store finishes the write and calls this.
//!     .on_recover(|written| { let _audit_record = &written.note; Ok(()) })
//!     .open()?;
//! let read = VersionStore::hash_bytes(b"- [ ] ship\n");
//! let written = store.write_with(
//!     WriteSet::new()
//!         .put("tasks.md", "- [x] ship\n")
//!         .put("archive/2026.md", "- [x] plan\n")
//!         .delete("draft.md") // absent: fine
//!         .expect("tasks.md", Some(read)) // nobody changed it since we read it
//!         .note("moved 1 task")
//!         .record_version("ship"),
//!     // Runs with the files in place, before the journal is removed.
//!     |written| { assert_eq!(written.note, b"moved 1 task"); Ok(()) },
//! )?;
//! assert_eq!(written.files.len(), 3);
//! assert_eq!(store.head()?.map(|v| v.description().to_owned()).as_deref(), Some("ship"));
//!
//! // The same expectation now fails, and nothing is written.
//! let stale = store.write(WriteSet::new().put("tasks.md", "x").expect("tasks.md", Some(read)));
//! assert!(matches!(stale, Err(Error::Conflict { .. })));
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! | Operation | What it does | Cost |
//! |---|---|---|
//! | [`open`](VersionStore::open) | creates the store if needed, finishes an interrupted rollback or write | O(1); after a crash mid-rollback, a read of each file it touches (to find edits made since) and its remaining work |
//! | [`snapshot`](VersionStore::snapshot) | records every tracked file as a new version, which becomes `HEAD`; returns `HEAD` unchanged if the tree equals it | one `lstat` per tracked file (spread over the CPUs), reads only files whose stat changed; writes one pack (if any content is new), one manifest (O(files)) and `HEAD`; three rounds of fsyncs (four with new content) whatever the number of files; nothing written or fsynced for an unchanged tree |
//! | [`snapshot_paths`](VersionStore::snapshot_paths) | `HEAD` with only the listed files or directories re-read | as `snapshot`, for those paths |
//! | [`status`](VersionStore::status) | how the tree differs from `HEAD` | as `snapshot`'s scan, no writes but the stat cache |
//! | [`history`](VersionStore::history) | versions newest first along parents | reads each manifest once (then cached: one `lstat` per version, so versions another process pruned are never listed) |
//! | [`get`](VersionStore::get), [`resolve`](VersionStore::resolve) | a version by tag, id or unique id prefix | one directory listing for a prefix |
//! | [`diff`](VersionStore::diff) | added, removed, modified paths between two versions | O(files) merge |
//! | [`rollback`](VersionStore::rollback) | tracked files become the version's; recorded as a new version | a scan, then reads, writes, fsyncs (concurrently, in batches of 256) and renames each changed file; 3 rounds of fsyncs (one more per 256 files beyond 256) |
//! | [`write`](VersionStore::write), [`write_with`](VersionStore::write_with) | puts and deletes a [`WriteSet`] all or nothing, after checking its expectations; optionally records the newest version with the set applied | a read and hash of each file it replaces; writes and renames each file; 3 rounds of fsyncs for 1 file or N files (one more per 256 files beyond 256; one more if over 1 MiB of new bytes), with or without a version (see the `write` module) |
//! | [`verify`](VersionStore::verify) | re-hashes every object, checks manifests, `HEAD`, tags | reads the whole store |
//! | [`prune`](VersionStore::prune) | removes versions a [`PrunePolicy`] does not keep, frees dead objects | reads every manifest; rewrites the live objects of partly dead packs |
//! | [`tag`](VersionStore::tag) | names a version; tagged versions survive pruning | one durable write |
//!
//! **Tracked files** are the regular files under the root that the include/exclude
//! globs select ([`VersionStoreBuilder::include`], [`VersionStoreBuilder::exclude`]),
//! never anything under `.ssot/versions`. Symbolic links and special files are not
//! tracked and are never followed. Paths are recorded relative to the root with `/`
//! separators; file names must be UTF-8. The globs are given each time the store is
//! opened (like a `.gitignore`, they are part of how you use the store, not of its
//! data): open a store with the same globs every time. Files are read whole into
//! memory; the crate is meant for directories of documents, not of disk images.
//!
//! **Versions** ([`Version`]) record an id, parent, description, creation time, the
//! version restored (for a rollback) and, per file, its path, size, hash and executable
//! bit. Ids are 32 hex digits naming the manifest's content; a unique prefix resolves.
//! An empty snapshot is no version: a snapshot of a tree equal to the newest version
//! writes nothing and returns that version (git refuses such a commit), at the cost
//! of the stat pass alone.
//!
//! # Crash safety
//!
//! Every file the store writes, in the store or in the tree, is written to a
//! temporary file in the store, fsynced and renamed into place, and its directory is
//! fsynced. Objects (packs) and manifests are durable before `HEAD` moves; `HEAD`
//! moves by an atomic rename (a rollback or write moves it under its journal, which
//! recovery finishes). A rollback stages every file it will restore, then
//! commits a checksummed journal; a crash before the commit leaves the tree untouched, a crash
//! after it is finished by the next process that opens (or locks) the store. A file
//! the rollback restores or deletes that was edited between the crash and that open
//! is not lost: recovery records the tree as a version first, which becomes the
//! parent of the rollback's version (see the `rollback` module). A
//! [`write`](VersionStore::write) runs through the same journal, with the same
//! guarantees (see the `write` module). The
//! rollback checks everything that could fail (unsafe paths, symbolic links,
//! untracked files in the way, corrupt or missing objects) before the commit.
//!
//! # Concurrency
//!
//! Every operation holds an exclusive [`File::lock`](std::fs::File::lock) on
//! `.ssot/versions/lock` (and an in-process mutex), so any number of threads and
//! processes may use one store; operations take turns. A process holding the lock
//! that dies releases it.
//!
//! # The stat cache and racily clean files
//!
//! See the `statcache` module: a file's cached hash is trusted only if size, mtime,
//! ctime, inode, device and mode are unchanged **and** its mtime and ctime were
//! strictly older than the start of the scan that recorded them, by the file
//! system's own clock. A file written twice within one timestamp tick is therefore
//! always re-read.
//!
//! # Security
//!
//! A manifest path that is absolute, has a `.`, `..` or empty component, lies in the
//! store, or is both a file and a directory is refused when the manifest is read. A
//! rollback refuses to write through a symbolic link or onto one, or over a file the
//! globs exclude, and creates directories without following links; `snapshot_paths`
//! refuses a path through a link; a store whose own directories or files are links is
//! refused at open. Nothing is ever written outside the root, with one limit: paths
//! are checked with `lstat` just before each rename or unlink, not resolved relative
//! to an open directory handle, so a concurrent process that can write in the root and
//! swaps a directory for a link in the instant between the check and the call could
//! still redirect that one call. Restored files get the read/write permissions of
//! a new file (0o666 less the umask), plus execute bits where recorded.
//!
//! # Platforms
//!
//! Unix only; **tested on Linux** (x86_64, ext4), where every test, including the
//! crash tests that kill a process at each step of a rollback, runs in CI. Other Unix
//! systems (macOS, the BSDs) build and use the same code, but are not tested; note
//! that on macOS `fsync` does not flush the drive's own cache (that takes
//! `F_FULLFSYNC`), so durability there is weaker than on Linux.
//!
//! Other targets (Windows) are refused at build time with a `compile_error!` rather
//! than given code nobody runs: the crate fsyncs directories and files opened
//! read-only (Windows' `FlushFileBuffers` needs write access and directories cannot
//! be flushed that way), reads packs with `pread` from a `File` shared by threads,
//! and its stat cache relies on inode and ctime (see the `statcache` module). A port
//! needs each of these rethought and a CI runner to test them.
//!
//! # Testing
//!
//! Property tests (including random writes against a model of the tree), SIGKILL
//! crash tests at every crash point of a rollback or a write and of its recovery, and
//! mutation-testing results: see the crate's README (`Testing`).
//!
//! # Fault injection (test only)
//!
//! The non-default `fault-injection` feature compiles in `set_fault_hook`, which the
//! crate's crash test uses to stop a child process at each step of a rollback or a
//! write and kill it. Without the feature the crash points compile to nothing. The crate's own
//! tests enable it through a dev-dependency on itself.
#![deny(missing_docs)]

#[cfg(not(unix))]
compile_error!(
    "ssot-version supports Unix only (tested on Linux): its crash safety relies on fsyncing directories and read-only descriptors, positional reads, and the inode and ctime a stat cache needs. See the crate documentation's `Platforms` section; on this target, leave ssot-version out (or turn off the feature of the crate that pulls it in)."
);

mod diff;
mod durable;
mod error;
mod fault;
mod id;
mod journal;
mod manifest;
mod notes;
mod pack;
mod parallel;
mod prune;
mod rollback;
mod stat;
mod statcache;
mod store;
mod verify;
mod walk;
mod write;

pub use diff::Diff;
pub use error::{Error, Result};
#[cfg(feature = "fault-injection")]
pub use fault::{fault_point, set_fault_hook};
pub use id::{ObjectHash, VersionId};
pub use manifest::{FileEntry, Version};
pub use prune::{PrunePolicy, PruneReport};
pub use store::{VersionStore, VersionStoreBuilder};
pub use verify::{Problem, VerifyReport};
pub use write::{WriteSet, Written};
