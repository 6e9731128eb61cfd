//! The run journal: every state change of a run, appended to one file per run, so that
//! [`Executor::resume`](crate::run::Executor::resume) can finish a run whose process
//! was killed.
//!
//! # Format and durability
//!
//! `<dir>/<run id>.jsonl`, one JSON object per line: `{"node":"build","event":
//! "started","attempt":1}`, events `queued`, `started`, `succeeded`, `failed`,
//! `retrying`, `skipped`, `cancelled`, and `{"node":..,"event":"process_group",
//! "pgid":1234}` / `"process_group_done"` around each command. Nodes are named by
//! their `Display` text.
//!
//! fsync policy: the file is opened in append mode and every line is one `write`
//! (whole or not at all, as far as the page cache goes). `succeeded` and
//! `process_group` lines are followed by `fdatasync` before the executor goes on:
//! those are the two facts resume relies on (never re-run a success; kill what was
//! left running). Other lines are not synced: after a machine crash (not a process
//! kill) they may be lost, and resume then runs those nodes again, which is the safe
//! direction. A torn last line is ignored on reading.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

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

/// An open run journal (append-only).
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: Mutex<File>,
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
        Ok(Journal {
            path,
            file: Mutex::new(file),
        })
    }

    /// Appends one line; syncs it when `durable`.
    pub(crate) fn append(
        &self,
        node: &str,
        event: &str,
        attempt: Option<u32>,
        pgid: Option<i32>,
        durable: bool,
    ) -> Result<(), Error> {
        let line = Line {
            node: node.to_owned(),
            event: event.to_owned(),
            attempt,
            pgid,
        };
        let mut text = serde_json::to_string(&line).map_err(|e| Error::Journal {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let io = |source| Error::Journal {
            path: self.path.clone(),
            source,
        };
        file.write_all(text.as_bytes()).map_err(io)?;
        if durable {
            file.sync_data().map_err(io)?;
        }
        Ok(())
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
