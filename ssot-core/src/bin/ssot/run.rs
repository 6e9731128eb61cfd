//! `ssot run`: runs each ready task's shell command, writing outcomes back.
//!
//! A task's command is its `command` field (else its `run` field): a shell line run
//! with `sh -c` in the store's directory, in its own process group
//! ([`CommandJob`]). Tasks without one are left out with a note, and so are the
//! tasks waiting on them. Outcomes are written back by
//! [`Executor::run_store_where`]: `in_progress` while a task runs, `done` when it
//! succeeded, back to `pending` when it failed. The task's own fields set its
//! timeout and retries ([`ssot_core::run::TaskOptions::from_task_fields`]).
//!
//! Ctrl-C (or SIGTERM) cancels the run: nothing new starts, running commands'
//! process groups are stopped, and their tasks go back to `pending`.
//!
//! One plain line per event on standard error, with a live status line below them
//! when standard error is a terminal (`indicatif`), the run record at the end on
//! standard output (`--json`: one document). Exit 1 when any task failed, was cancelled or its status could
//! not be written.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::sync::mpsc::channel;

use serde_json::{Value, json};
use ssot_core::run::{
    AttemptOutcome, CancelToken, CommandJob, Event, EventKind, Executor, Job, JobError, RunContext,
    TaskOutcome,
};
use ssot_core::{Task, TaskId};

use crate::args::{Global, RunArgs};
use crate::out::Output;
use crate::{Outcome, Run, open, stdout_error};

/// The fields a task's shell command is read from, first found wins.
const COMMAND_FIELDS: [&str; 2] = ["command", "run"];

/// The task's shell command, if it has one.
fn command_of(task: &Task) -> Option<&str> {
    COMMAND_FIELDS
        .iter()
        .find_map(|f| task.extra.get(*f).and_then(Value::as_str))
        .filter(|c| !c.trim().is_empty())
}

/// `ssot run`.
pub(crate) fn run(global: &Global, args: &RunArgs, out: &mut Output) -> Run {
    let store = open(global)?;
    if args.dry_run {
        return dry_run(&store, out);
    }
    let mut builder = Executor::builder();
    if let Some(n) = args.workers {
        builder = builder.workers(n);
    }
    let executor = builder.build();
    let root = store.root().to_owned();
    let job = |task: &Task, ctx: &RunContext| -> Result<(), JobError> {
        match command_of(task) {
            Some(line) => Job::<Task>::run(&CommandJob::shell(line).current_dir(&root), task, ctx),
            // Only tasks with a command are selected.
            None => Err(JobError::new(format!("task `{}` has no command", task.id))),
        }
    };
    // Ctrl-C or SIGTERM cancels the run: nothing new starts, running commands'
    // process groups get SIGTERM (then SIGKILL), their tasks go back to pending.
    let cancel = CancelToken::new();
    let on_signal = cancel.clone();
    if let Err(e) = ctrlc::set_handler(move || on_signal.cancel()) {
        out.note(&format!(
            "Ctrl-C will not stop the commands cleanly: cannot install a handler: {e}"
        ));
    }
    let (tx, rx) = channel::<Event<TaskId>>();
    let result = std::thread::scope(|s| {
        let printer = s.spawn(move || {
            let mut progress = Progress::new();
            for event in rx {
                progress.event(&event);
            }
            progress.finish();
        });
        let result = executor.run_store_where(
            &store,
            |t| command_of(t).is_some(),
            &job,
            &cancel,
            Some(&tx),
        );
        drop(tx);
        // The printer only prints; nothing to recover if it panicked.
        let _ = printer.join();
        result
    })?;
    for id in &result.left_out {
        out.note(&format!(
            "left out `{id}`: it has no `command` field, or waits on a task without one"
        ));
    }
    for w in &result.write_back {
        out.error(&format!(
            "could not write status `{}` of task `{}`: {}",
            w.status, w.task, w.error
        ));
    }
    let r = &result.record;
    if out.json {
        let tasks: Vec<Value> = r
            .tasks
            .iter()
            .map(|(id, t)| {
                json!({
                    "id": id.as_str(),
                    "outcome": outcome_name(&t.outcome),
                    "because": match &t.outcome {
                        TaskOutcome::Skipped { because } => Some(because.as_str()),
                        _ => None,
                    },
                    "attempts": t.attempts.iter().map(|a| json!({
                        "number": a.number,
                        "started": a.started.to_string(),
                        "ended": a.ended.to_string(),
                        "outcome": attempt_name(a.outcome),
                        "error": a.error,
                        "output_tail": a.output_tail,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let write_back: Vec<Value> = result
            .write_back
            .iter()
            .map(|w| json!({"task": w.task.as_str(), "status": w.status.as_str(), "error": w.error.to_string()}))
            .collect();
        out.json_value(&json!({
            "run_id": r.run_id,
            "started": r.started.to_string(),
            "ended": r.ended.to_string(),
            "cancelled": r.cancelled,
            "succeeded": result.succeeded(),
            "tasks": tasks,
            "left_out": result.left_out.iter().map(TaskId::as_str).collect::<Vec<_>>(),
            "write_back_errors": write_back,
        }))
        .map_err(stdout_error)?;
    } else {
        out.line(format!("run {}", r.run_id))
            .map_err(stdout_error)?;
        for (id, t) in &r.tasks {
            let mut line = format!(
                "{:<20} {:<10} {} attempt(s)",
                id.as_str(),
                outcome_name(&t.outcome),
                t.attempts.len()
            );
            if let TaskOutcome::Skipped { because } = &t.outcome {
                line.push_str(&format!(" (because `{because}` failed)"));
            }
            if let Some(err) = t.attempts.last().and_then(|a| a.error.as_ref()) {
                line.push_str(&format!(": {err}"));
            }
            out.line(line).map_err(stdout_error)?;
        }
        let count = |name: &str| {
            r.tasks
                .values()
                .filter(|t| outcome_name(&t.outcome) == name)
                .count()
        };
        out.line(format!(
            "{} succeeded, {} failed, {} skipped, {} cancelled, {} left out",
            count("succeeded") + count("up_to_date"),
            count("failed"),
            count("skipped"),
            count("cancelled"),
            result.left_out.len()
        ))
        .map_err(stdout_error)?;
    }
    Ok(if result.succeeded() {
        Outcome::Done
    } else {
        Outcome::No
    })
}

/// `ssot run --dry-run`: the tasks that would run, in plan order, with their
/// commands, and those left out. Writes nothing.
fn dry_run(store: &ssot_core::store::Store, out: &mut Output) -> Run {
    let plan = store.plan()?;
    let todo = |id: &TaskId| {
        plan.task(id.as_str())
            .map(|p| &p.task)
            .filter(|t| !t.status().is_finished())
    };
    let mut left_out: BTreeSet<&TaskId> = BTreeSet::new();
    let mut rows = Vec::new();
    for wave in plan.waves() {
        for id in wave {
            let Some(task) = todo(id) else { continue };
            let waits = task.dependencies.iter().find(|d| left_out.contains(d));
            match (command_of(task), waits) {
                (Some(cmd), None) => {
                    rows.push(json!({"id": id.as_str(), "runs": true, "command": cmd}))
                }
                (None, _) => {
                    left_out.insert(id);
                    rows.push(
                        json!({"id": id.as_str(), "runs": false, "why": "no `command` field"}),
                    );
                }
                (Some(_), Some(d)) => {
                    left_out.insert(id);
                    rows.push(json!({"id": id.as_str(), "runs": false, "why": format!("waits on `{d}`, which is left out")}));
                }
            }
        }
    }
    if out.json {
        out.json_value(&json!({ "tasks": rows }))
            .map_err(stdout_error)?;
    } else {
        for row in &rows {
            let id = row["id"].as_str().unwrap_or_default();
            let line = match (row["command"].as_str(), row["why"].as_str()) {
                (Some(cmd), _) => format!("would run {id}: {cmd}"),
                (None, why) => format!("would leave out {id}: {}", why.unwrap_or_default()),
            };
            out.line(line).map_err(stdout_error)?;
        }
    }
    Ok(Outcome::Done)
}

/// Progress on standard error: one plain line per event; on a terminal also a
/// live status line below them (`indicatif`), cleared at the end.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: usize,
    failed: usize,
    skipped: usize,
}

impl Progress {
    fn new() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            done: 0,
            failed: 0,
            skipped: 0,
        }
    }

    fn event(&mut self, e: &Event<TaskId>) {
        match e.kind {
            EventKind::Succeeded { .. } | EventKind::UpToDate => self.done += 1,
            EventKind::Failed { .. } => self.failed += 1,
            EventKind::Skipped { .. } | EventKind::Cancelled => self.skipped += 1,
            _ => {}
        }
        let Some(line) = event_line(e) else { return };
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.set_message(format!(
                    "{} running, {} done, {} failed, {} skipped",
                    e.running, self.done, self.failed, self.skipped
                ));
                bar.tick();
            }
            // Progress for the person; a closed stderr does not stop the run.
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// One plain line for an event, or `None` for events not worth a line (queued).
fn event_line(e: &Event<TaskId>) -> Option<String> {
    let id = &e.node;
    Some(match &e.kind {
        EventKind::Started { attempt: 1 } => format!("started {id}"),
        EventKind::Started { attempt } => format!("started {id} (attempt {attempt})"),
        EventKind::Succeeded { .. } => format!("done {id}"),
        EventKind::Failed { error, .. } => format!("failed {id}: {error}"),
        EventKind::Retrying {
            attempt,
            error,
            delay,
        } => format!("retrying {id} after attempt {attempt} in {delay:?}: {error}"),
        EventKind::Skipped { because } => format!("skipped {id}: `{because}` failed"),
        EventKind::Cancelled => format!("cancelled {id}"),
        EventKind::UpToDate => format!("up to date {id}"),
        _ => return None,
    })
}

fn outcome_name(o: &TaskOutcome<TaskId>) -> &'static str {
    match o {
        TaskOutcome::Succeeded => "succeeded",
        TaskOutcome::Failed => "failed",
        TaskOutcome::Skipped { .. } => "skipped",
        TaskOutcome::Cancelled => "cancelled",
        TaskOutcome::UpToDate => "up_to_date",
        _ => "other",
    }
}

fn attempt_name(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Succeeded => "succeeded",
        AttemptOutcome::Failed => "failed",
        AttemptOutcome::TimedOut => "timed_out",
        AttemptOutcome::Cancelled => "cancelled",
        _ => "other",
    }
}
