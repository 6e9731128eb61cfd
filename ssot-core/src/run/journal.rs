//! The run journal: every state change of a run, appended to one file per run, so that
//! [`Executor::resume`](crate::run::Executor::resume) can finish a run whose process
//! was killed.
//!
//! # Format
//!
//! `<dir>/<run id>.jsonl`, one JSON object per line: `{"node":"build","event":
//! "started","attempt":1}`, events `queued`, `started`, `succeeded`, `failed`,
//! `retrying`, `skipped`, `cancelled`, and `{"node":..,"event":"process_group",
//! "pgid":1234}` / `"process_group_done"` around each command. Nodes are named by
//! their `Display` text.
//!
//! # Durability and group commit
//!
//! The file is opened in append mode and every line is one `write` (whole or not at
//! all, as far as the page cache goes), so a *process* kill (SIGKILL, panic, OOM)
//! loses nothing that was written: the kernel keeps it. `fdatasync` only matters for
//! a *machine* crash (power loss, kernel panic), which drops lines not yet synced.
//!
//! Two kinds of line are synced, because resume relies on them: `succeeded` /
//! `up_to_date` (never re-run a success) and `process_group` (kill what was left
//! running). They are synced by **group commit**: a thread that needs its line on
//! disk waits until a sync that started after its line was written has finished;
//! if no sync is running it runs one itself, covering every line written so far.
//! While one `fdatasync` runs, the lines appended meanwhile wait and then share the
//! next one, so n successes finishing during one sync cost one more sync, not n.
//!
//! The executor does not hold a worker on that wait: a worker whose job succeeded
//! writes the `succeeded` line and goes on to the next ready node; a separate
//! syncer thread syncs and only then *releases* the success (see the executor).
//!
//! The guarantee, precisely: **when a node is reported as succeeded** (its
//! `Succeeded` or `UpToDate` event is sent, its dependents are queued, or the run
//! returns a record saying so), **its journal line is on disk**, so resume will not
//! run it again, even after a machine crash. A node whose job succeeded but whose
//! line was not yet synced when the machine crashed was never reported as
//! succeeded, and resume runs it again (the safe direction: a job must tolerate
//! running again after a crash anyway, since it may have been cut off mid-way).
//! After a process kill, resume skips every node whose `succeeded` line was
//! written, synced or not. Other lines are not synced: after a machine crash they
//! may be lost, which only makes resume run more. A torn last line is ignored on
//! reading.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    node: String,
    event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pgid: Option<i32>,
}

/// An open run journal (append-only, group-committed).
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    /// The appending handle and the number of lines written through it.
    writer: Mutex<Writer>,
    /// A second handle to the same file, for `fdatasync` without holding `writer`
    /// (appends go on while a sync runs).
    sync_file: File,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
}

#[derive(Debug)]
struct Writer {
    file: File,
    /// Lines written so far; line `n` (1-based) is covered by a sync that read
    /// `lines >= n` before it started.
    lines: u64,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Every line up to this one is on disk.
    synced: u64,
    /// A thread is in `fdatasync` now.
    running: bool,
    /// `fdatasync` calls made (for tests and diagnostics).
    syncs: u64,
}

impl Journal {
    pub(crate) fn path_of(dir: &Path, run_id: &str) -> PathBuf {
        dir.join(format!("{run_id}.jsonl"))
    }

    /// Opens (creating) the journal of `run_id` in `dir` for appending.
    pub(crate) fn open(dir: &Path, run_id: &str) -> Result<Journal, Error> {
        let path = Journal::path_of(dir, run_id);
        let io = |source| Error::Journal {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let sync_file = file.try_clone().map_err(io)?;
        Ok(Journal {
            path,
            writer: Mutex::new(Writer { file, lines: 0 }),
            sync_file,
            sync: Mutex::new(SyncState::default()),
            synced_cv: Condvar::new(),
        })
    }

    fn err(&self, source: std::io::Error) -> Error {
        Error::Journal {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one line without syncing it; returns its number (for
    /// [`sync_through`](Self::sync_through)).
    pub(crate) fn write(
        &self,
        node: &str,
        event: &str,
        attempt: Option<u32>,
        pgid: Option<i32>,
    ) -> Result<u64, Error> {
        let line = Line {
            node: node.to_owned(),
            event: event.to_owned(),
            attempt,
            pgid,
        };
        let mut text =
            serde_json::to_string(&line).map_err(|e| self.err(std::io::Error::other(e)))?;
        text.push('\n');
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        w.file.write_all(text.as_bytes()).map_err(|e| self.err(e))?;
        w.lines += 1;
        Ok(w.lines)
    }

    /// Appends one line; when `durable`, returns only once it is on disk (group
    /// commit: see the module docs).
    pub(crate) fn append(
        &self,
        node: &str,
        event: &str,
        attempt: Option<u32>,
        pgid: Option<i32>,
        durable: bool,
    ) -> Result<(), Error> {
        let n = self.write(node, event, attempt, pgid)?;
        if durable {
            self.sync_through(n)?;
        }
        Ok(())
    }

    /// Returns once every line up to `line` is on disk: at once if a finished sync
    /// covered it; else after the running sync and, if that one started too early,
    /// one more (run by this thread or a waiting one). Cost: at most two
    /// `fdatasync`s of waiting, one of which is shared with every other waiter.
    pub(crate) fn sync_through(&self, line: u64) -> Result<(), Error> {
        let mut s = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if s.synced >= line {
                return Ok(());
            }
            if !s.running {
                break;
            }
            s = self
                .synced_cv
                .wait(s)
                .unwrap_or_else(PoisonError::into_inner);
        }
        s.running = true;
        drop(s);
        // Every line counted here was fully written before the count was read.
        let target = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lines;
        let result = self.sync_file.sync_data();
        let mut s = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        s.running = false;
        s.syncs += 1;
        if result.is_ok() {
            s.synced = s.synced.max(target);
        }
        self.synced_cv.notify_all();
        drop(s);
        result.map_err(|e| self.err(e))
    }
}

/// What a journal says about a run.
#[derive(Debug, Default)]
pub(crate) struct JournalState {
    /// Nodes recorded as succeeded.
    pub(crate) succeeded: BTreeSet<String>,
    /// Process groups started and not recorded as done, by node.
    pub(crate) open_groups: BTreeMap<i32, String>,
}

/// Reads the journal of `run_id`. A line that does not parse (a torn last write) is
/// skipped.
pub(crate) fn read(dir: &Path, run_id: &str) -> Result<JournalState, Error> {
    let path = Journal::path_of(dir, run_id);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Journal {
        path: path.clone(),
        source,
    })?;
    let mut state = JournalState::default();
    for line in text.lines() {
        let Ok(l) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        match (l.event.as_str(), l.pgid) {
            ("succeeded" | "up_to_date", _) => {
                state.succeeded.insert(l.node);
            }
            ("process_group", Some(p)) => {
                state.open_groups.insert(p, l.node);
            }
            ("process_group_done", Some(p)) => {
                state.open_groups.remove(&p);
            }
            _ => {}
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sync_covers_every_line_written_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), "r").unwrap();
        let lines: Vec<u64> = (0..10)
            .map(|i| {
                j.write(&format!("n{i}"), "succeeded", Some(1), None)
                    .unwrap()
            })
            .collect();
        assert_eq!(lines, (1..=10).collect::<Vec<u64>>());
        j.sync_through(10).unwrap();
        // Lines 1 to 9 were covered by that sync: no new one.
        for n in lines {
            j.sync_through(n).unwrap();
        }
        assert_eq!(j.sync.lock().unwrap().syncs, 1);
        j.append("n10", "succeeded", Some(1), None, true).unwrap();
        assert_eq!(j.sync.lock().unwrap().syncs, 2);
        let state = read(dir.path(), "r").unwrap();
        assert_eq!(state.succeeded.len(), 11);
    }

    #[test]
    fn concurrent_durable_appends_all_land_and_share_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), "r").unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let j = &j;
                s.spawn(move || {
                    for i in 0..25 {
                        j.append(&format!("t{t}-{i}"), "succeeded", Some(1), None, true)
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(read(dir.path(), "r").unwrap().succeeded.len(), 100);
        assert!(j.sync.lock().unwrap().syncs <= 100);
    }
}
