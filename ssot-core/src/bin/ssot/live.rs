//! The subcommands about the store as it runs: `health` (one report) and `watch`
//! (a stream of changes).
//!
//! `watch` prints from the audit log, not from `Store::subscribe`: a subscriber
//! hears only the commits of its own handle, and the log also holds the commits of
//! other processes (another shell running `ssot done`). The file watcher
//! (`Store::watch`) turns outside edits into `External` commits; the subscription
//! only wakes the loop early, and a check of `Store::revision` (a `stat` of the log)
//! every [`POLL`] catches the rest; the log is read (`Store::changes_since`, linear
//! in its size) only when the revision moved. Every revision is printed once, in
//! order.

use std::sync::Arc;
use std::time::Duration;

use ssot_core::store::Event;

use crate::args::{Global, WatchArgs};
use crate::out::Output;
use crate::write::short;
use crate::{Outcome, Run, open, stdout_error};

/// How often `watch` looks for revisions committed by other processes.
const POLL: Duration = Duration::from_millis(250);

/// `ssot health`: validation, drift, audit log, snapshots, locks, cache; exit 1
/// when the store needs attention.
pub(crate) fn health(global: &Global, out: &mut Output) -> Run {
    let health = open(global)?.health()?;
    if out.json {
        out.json_value(&health)
    } else {
        let text = health.to_string();
        out.line(text.trim_end())
    }
    .map_err(stdout_error)?;
    Ok(if health.is_healthy() {
        Outcome::Done
    } else {
        Outcome::No
    })
}

/// `ssot watch`: one line (or one JSON object) per change, as it is committed,
/// outside edits included; runs until interrupted or `--count` changes were shown.
pub(crate) fn watch(global: &Global, args: &WatchArgs, out: &mut Output) -> Run {
    let store = Arc::new(open(global)?);
    let wake = store.subscribe();
    let mut last = match args.since {
        Some(revision) => revision,
        None => store.revision()?,
    };
    let watcher = store.watch()?;
    out.note(&format!(
        "watching {} from revision {last} (Ctrl-C to stop)",
        store.root().display()
    ));
    let mut shown = 0u64;
    loop {
        if store.revision()? > last {
            for event in store.changes_since(last)? {
                last = last.max(event.revision);
                print_event(&event, out)?;
                shown += 1;
                if args.count.is_some_and(|n| shown >= n) {
                    out.flush().map_err(stdout_error)?;
                    for e in watcher.stop() {
                        out.error(&e.to_string());
                    }
                    return Ok(Outcome::Done);
                }
            }
            out.flush().map_err(stdout_error)?;
        }
        for e in watcher.errors() {
            out.error(&e.to_string());
        }
        // Woken early by a commit of this handle (the watcher's drift records);
        // otherwise look again after the poll interval.
        let _ = wake.recv_timeout(POLL);
        while wake.try_recv().is_ok() {}
    }
}

/// One event: `revision N  what  file`, or one JSON object per line.
fn print_event(event: &Event, out: &mut Output) -> Result<(), ssot_core::Error> {
    if out.json {
        let line = serde_json::to_string(event).map_err(|e| stdout_error(e.into()))?;
        return out.line(line).map_err(stdout_error);
    }
    let what = crate::write::operation_text(&event.operation);
    let what = if event.external {
        out.paint.yellow(&what)
    } else {
        out.paint.green(&what)
    };
    let mut line = format!(
        "{}  {what}  {}",
        out.paint.bold(&format!("revision {}", event.revision)),
        out.path(&event.path)
    );
    if let Some(v) = &event.version {
        line.push_str(&out.paint.dim(&format!("  version {}", short(v))));
    }
    out.line(line).map_err(stdout_error)
}
