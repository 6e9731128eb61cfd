//! `ssot run`: runs each ready task's shell command, writing outcomes back; or a
//! workflow of the store's automation registry.
//!
//! A task's command is its `command` field (else its `run` field): a shell line run
//! with `sh -c` in the store's directory, in its own process group
//! ([`CommandJob`]). Tasks without one are left out with a note, and so are the
//! tasks waiting on them. Outcomes are written back by
//! [`Executor::run_store_where`]: `in_progress` while a task runs, `done` when it
//! succeeded or was found up to date (before any task that depends on it starts),
//! and a failed task is put back exactly as it was written. The task's own fields
//! set its timeout and retries ([`ssot_core::run::TaskOptions::from_task_fields`])
//! and, with `inputs` and `outputs`, make it skippable as up to date (state in
//! `.ssot/run`; the file then says `done`, as the record says `up to date`, so the
//! next run and dry run do not list it again). A
//! `concurrency_group` is a mutex: one task of the group runs at a time.
//!
//! `--dry-run` says per task "would run" and why (no previous run, which inputs
//! changed, command changed, a dependency runs) or "up to date" (what the run
//! records, and writes `done`, for that task), and what is left out; it runs and
//! writes nothing.
//!
//! `--workflow CATEGORY.NAME` runs a workflow of the automation registry (a store
//! document with `automation.workflows`; `--registry FILE` names it when several
//! could): its steps' `run` commands as a chain, then its `last_run` is patched
//! into the registry ([`Executor::run_workflow`]).
//!
//! Ctrl-C (or SIGTERM) cancels the run: nothing new starts, running commands'
//! process groups are stopped, and their tasks are put back.
//!
//! One plain line per event on standard error, with a live status line below them
//! when standard error is a terminal (`indicatif`), the run record at the end on
//! standard output (`--json`: one document). Exit 0 when everything ran (or was up
//! to date, or there was nothing to run), 1 when any task or step failed, was
//! skipped or cancelled, or its status could not be written, 3 when the store
//! could not be read.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::mpsc::{Sender, channel};

use serde_json::{Value, json};
use ssot_core::run::{
    AttemptOutcome, AutomationRegistry, CancelToken, CommandJob, DryRun, Event, EventKind,
    Executor, Job, JobError, RetryPolicy, RunContext, RunRecord, STORE_RUN_STATE, TaskOptions,
    TaskOutcome, command_of,
};
use ssot_core::store::{Role, Store};
use ssot_core::{Task, TaskId};

use crate::args::{Global, RunArgs};
use crate::out::Output;
use crate::{Outcome, Run, open, stdout_error};

/// `ssot run`.
pub(crate) fn run(global: &Global, args: &RunArgs, out: &mut Output) -> Run {
    let store = open(global)?;
    let mut builder = Executor::builder().state_dir(store.root().join(STORE_RUN_STATE));
    if let Some(n) = args.workers {
        builder = builder.workers(n);
    }
    // Each concurrency group a task names is a mutex: one of its tasks at a time.
    for group in groups(&store) {
        builder = builder.group(group, 1);
    }
    let executor = builder.build();
    if let Some(name) = &args.workflow {
        return workflow(&store, &executor, name, args, out);
    }
    if args.dry_run {
        return dry_run(&store, &executor, out);
    }
    let root = store.root().to_owned();
    let job = |task: &Task, ctx: &RunContext| -> Result<(), JobError> {
        match command_of(task) {
            Some(line) => Job::<Task>::run(&CommandJob::shell(line).current_dir(&root), task, ctx),
            // Only tasks with a command are selected.
            None => Err(JobError::new(format!("task `{}` has no command", task.id))),
        }
    };
    let cancel = cancel_on_signal(out);
    let result = with_progress(|tx| {
        executor.run_store_where(&store, |t| command_of(t).is_some(), &job, &cancel, Some(tx))
    })?;
    note_left_out(
        &store,
        &result.left_out,
        result.record.tasks.is_empty(),
        out,
    );
    for w in &result.write_back {
        out.error(&format!(
            "could not write status `{}` of task `{}`: {}",
            w.status, w.task, w.error
        ));
    }
    if out.json {
        let write_back: Vec<Value> = result
            .write_back
            .iter()
            .map(|w| json!({"task": w.task.as_str(), "status": w.status.as_str(), "error": w.error.to_string()}))
            .collect();
        let mut doc = record_json(&result.record);
        doc["succeeded"] = result.succeeded().into();
        doc["left_out"] = result
            .left_out
            .iter()
            .map(TaskId::as_str)
            .collect::<Vec<_>>()
            .into();
        doc["write_back_errors"] = write_back.into();
        out.json_value(&doc).map_err(stdout_error)?;
    } else {
        print_record(&result.record, result.left_out.len(), out)?;
    }
    Ok(if result.succeeded() {
        Outcome::Done
    } else {
        Outcome::No
    })
}

/// The concurrency groups the store's unfinished tasks name (a task field that
/// does not parse is reported by the run itself).
fn groups(store: &Store) -> BTreeSet<String> {
    let Ok(plan) = store.plan() else {
        return BTreeSet::new();
    };
    plan.graph()
        .nodes()
        .filter_map(|id| plan.task(id.as_str()))
        .filter(|p| !p.task.status().is_finished())
        .filter_map(|p| TaskOptions::from_task_fields(&p.task, RetryPolicy::None).ok())
        .filter_map(|o| o.group)
        .collect()
}

/// Ctrl-C or SIGTERM cancels the run: nothing new starts, running commands'
/// process groups get SIGTERM (then SIGKILL), their tasks are put back.
fn cancel_on_signal(out: &mut Output) -> CancelToken {
    let cancel = CancelToken::new();
    let on_signal = cancel.clone();
    if let Err(e) = ctrlc::set_handler(move || on_signal.cancel()) {
        out.note(&format!(
            "Ctrl-C will not stop the commands cleanly: cannot install a handler: {e}"
        ));
    }
    cancel
}

/// Runs `f` with a sender whose events are printed as progress, until `f` returns.
fn with_progress<Id, T>(f: impl FnOnce(&Sender<Event<Id>>) -> T) -> T
where
    Id: fmt::Display + Send,
{
    let (tx, rx) = channel::<Event<Id>>();
    std::thread::scope(|s| {
        let printer = s.spawn(move || {
            let mut progress = Progress::new();
            for event in rx {
                progress.event(&event);
            }
            progress.finish();
        });
        let result = f(&tx);
        drop(tx);
        // The printer only prints; nothing to recover if it panicked.
        let _ = printer.join();
        result
    })
}

/// Why task `id` is left out of a run of the tasks with a command: it has none, or
/// it waits on this left-out task.
fn left_out_reason(
    store_plan: Option<&ssot_core::store::Plan>,
    id: &TaskId,
    left_out: &[TaskId],
) -> String {
    let task = store_plan
        .and_then(|p| p.task(id.as_str()))
        .map(|p| &p.task);
    match task {
        Some(t) if command_of(t).is_some() => {
            match t.dependencies.iter().find(|d| left_out.contains(d)) {
                Some(d) => format!("waits on `{d}`, which is left out"),
                None => "waits on a task that is left out".to_owned(),
            }
        }
        _ => "no `command` field".to_owned(),
    }
}

/// Notes on standard error why tasks were left out, in two lines however many
/// there are (a todo list of manual tasks next to a few commands is common): those
/// without a command, and those waiting on one; then a hint when nothing could run.
fn note_left_out(store: &Store, left_out: &[TaskId], nothing_ran: bool, out: &mut Output) {
    let plan = store.plan().ok();
    let (mut no_command, mut waiting) = (Vec::new(), Vec::new());
    for id in left_out {
        let why = left_out_reason(plan.as_ref(), id, left_out);
        if why.starts_with("no ") {
            no_command.push(format!("`{id}`"));
        } else {
            let on = why
                .split('`')
                .nth(1)
                .map_or(String::new(), |d| format!(" (on `{d}`)"));
            waiting.push(format!("`{id}`{on}"));
        }
    }
    if !no_command.is_empty() {
        out.note(&format!(
            "left out {} without a `command` field: {}",
            tasks(no_command.len()),
            names(&no_command)
        ));
    }
    if !waiting.is_empty() {
        out.note(&format!(
            "left out {} waiting on a task left out: {}",
            tasks(waiting.len()),
            names(&waiting)
        ));
    }
    if nothing_ran && !left_out.is_empty() {
        out.note(NOTHING_TO_RUN);
    }
}

/// `1 task`, `3 tasks`.
fn tasks(n: usize) -> String {
    if n == 1 {
        "1 task".to_owned()
    } else {
        format!("{n} tasks")
    }
}

/// The first ten names, then how many more.
fn names(all: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = all
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > SHOWN {
        text.push_str(&format!(" and {} more", all.len() - SHOWN));
    }
    text
}

/// The hint when no task has a command.
const NOTHING_TO_RUN: &str = "nothing to run: give a task a shell line to run, e.g. \
     `command: make test` in YAML, `[command:: make test]` in Markdown, or a `command` \
     column in CSV";

/// The run record as JSON: the run and every task's attempts.
fn record_json<Id: fmt::Display + Ord>(r: &RunRecord<Id>) -> Value {
    let tasks: Vec<Value> = r
        .tasks
        .iter()
        .map(|(id, t)| {
            json!({
                "id": id.to_string(),
                "outcome": t.outcome.name(),
                "because": match &t.outcome {
                    TaskOutcome::Skipped { because } => Some(because.to_string()),
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
    json!({
        "run_id": r.run_id,
        "started": r.started.to_string(),
        "ended": r.ended.to_string(),
        "cancelled": r.cancelled,
        "tasks": tasks,
    })
}

/// The run record as text: one line per task, then the counts.
fn print_record<Id: fmt::Display + Ord>(
    r: &RunRecord<Id>,
    left_out: usize,
    out: &mut Output,
) -> Result<(), ssot_core::Error> {
    if !r.tasks.is_empty() {
        out.line(format!("run {}", r.run_id))
            .map_err(stdout_error)?;
    }
    let width = r
        .tasks
        .keys()
        .map(|id| id.to_string().chars().count())
        .max()
        .unwrap_or(0);
    // In the order they started (what the progress lines showed), then those
    // that never started (skipped, up to date, cancelled), by id.
    let mut rows: Vec<_> = r.tasks.iter().collect();
    rows.sort_by(|(_, a), (_, b)| {
        let start = |t: &ssot_core::run::TaskRecord<Id>| t.attempts.first().map(|a| a.started);
        match (start(a), start(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
    for (id, t) in rows {
        let mut line = format!(
            "{:<width$}  {:<10}",
            id.to_string(),
            t.outcome.name().replace('_', " ")
        );
        match t.attempts.len() {
            0 => {}
            1 => line.push_str("  1 attempt"),
            n => line.push_str(&format!("  {n} attempts")),
        }
        if let TaskOutcome::Skipped { because } = &t.outcome {
            line.push_str(&format!(" (because `{because}` failed)"));
        }
        if let Some(err) = t.attempts.last().and_then(|a| a.error.as_ref()) {
            line.push_str(&format!(": {err}"));
        }
        out.line(line.trim_end()).map_err(stdout_error)?;
    }
    let count = |name: &str| {
        r.tasks
            .values()
            .filter(|t| t.outcome.name() == name)
            .count()
    };
    let mut summary = format!(
        "{} succeeded, {} up to date, {} failed, {} skipped",
        count("succeeded"),
        count("up_to_date"),
        count("failed"),
        count("skipped"),
    );
    if r.cancelled || count("cancelled") > 0 {
        summary.push_str(&format!(", {} cancelled", count("cancelled")));
    }
    if left_out > 0 {
        summary.push_str(&format!(", {left_out} left out"));
    }
    out.line(summary).map_err(stdout_error)?;
    Ok(())
}

/// `ssot run --dry-run`: per task in plan order, whether it would run and why, or
/// that it is up to date; and the tasks left out. Writes nothing.
fn dry_run(store: &Store, executor: &Executor, out: &mut Output) -> Run {
    let dry = executor.dry_run_store(store, |t| command_of(t).is_some())?;
    let plan = store.plan()?;
    let command = |id: &TaskId| {
        plan.task(id.as_str())
            .and_then(|p| command_of(&p.task))
            .map(str::to_owned)
    };
    let mut rows = Vec::new();
    for (id, verdict) in &dry.tasks {
        let (runs, why) = match verdict {
            DryRun::UpToDate => (false, None),
            DryRun::Runs(why) => (true, Some(why.clone())),
            other => (true, Some(format!("{other:?}"))),
        };
        rows.push(json!({"id": id.as_str(), "runs": runs, "up_to_date": !runs,
            "why": why, "command": command(id)}));
    }
    for id in &dry.left_out {
        let why = left_out_reason(Some(&plan), id, &dry.left_out);
        rows.push(
            json!({"id": id.as_str(), "runs": false, "up_to_date": false,
            "left_out": true, "why": why, "command": command(id)}),
        );
    }
    if out.json {
        out.json_value(&json!({ "tasks": rows }))
            .map_err(stdout_error)?;
        return Ok(Outcome::Done);
    }
    for row in &rows {
        let id = row["id"].as_str().unwrap_or_default();
        let why = row["why"].as_str().unwrap_or_default();
        let line = if row["up_to_date"].as_bool() == Some(true) {
            format!("up to date {id}")
        } else if row["left_out"].as_bool() == Some(true) {
            format!("would leave out {id}: {why}")
        } else {
            let cmd = row["command"].as_str().unwrap_or_default();
            format!("would run {id}: {cmd} (why: {why})")
        };
        out.line(line).map_err(stdout_error)?;
    }
    if dry.tasks.is_empty() {
        let hint = if dry.left_out.is_empty() {
            "nothing to run: every task is finished"
        } else {
            NOTHING_TO_RUN
        };
        out.note(hint);
    }
    Ok(Outcome::Done)
}

/// `ssot run --workflow NAME`: the workflow's steps as a chain of shell commands
/// in the store's directory, then its `last_run` written into the registry.
fn workflow(
    store: &Store,
    executor: &Executor,
    name: &str,
    args: &RunArgs,
    out: &mut Output,
) -> Run {
    let registry = match &args.registry {
        Some(path) => path.clone(),
        None => find_registry(store, name)?,
    };
    let reg = AutomationRegistry::parse(store.document(&registry)?.text())?;
    let Some(wf) = reg.workflow(name) else {
        return Err(ssot_core::Error::Workflow {
            key: format!("automation.workflows.{name}"),
            message: format!(
                "no such workflow in {registry}; it has: {}",
                reg.workflows
                    .iter()
                    .map(|w| w.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let missing: Vec<&str> = wf
        .steps
        .iter()
        .filter(|s| !wf.commands.contains_key(*s))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ssot_core::Error::Workflow {
            key: format!("automation.workflows.{name}.steps"),
            message: format!(
                "step(s) {} have no command to run (in {registry}); write each step as \
                 `{{name: STEP, run: SHELL LINE}}`",
                missing.join(", ")
            ),
        });
    }
    if args.dry_run {
        let rows: Vec<Value> = wf
            .steps
            .iter()
            .map(
                |step| json!({"id": wf.node(step), "runs": true, "command": wf.commands.get(step)}),
            )
            .collect();
        if out.json {
            out.json_value(&json!({"workflow": name, "registry": registry, "tasks": rows}))
                .map_err(stdout_error)?;
            return Ok(Outcome::Done);
        }
        for row in &rows {
            out.line(format!(
                "would run {}: {}",
                row["id"].as_str().unwrap_or_default(),
                row["command"].as_str().unwrap_or_default()
            ))
            .map_err(stdout_error)?;
        }
        return Ok(Outcome::Done);
    }
    let root = store.root().to_owned();
    let prefix = format!("{name}/");
    let commands = &wf.commands;
    let job = |node: &String, ctx: &RunContext| -> Result<(), JobError> {
        let step = node.strip_prefix(&prefix).unwrap_or(node);
        match commands.get(step) {
            Some(line) => {
                Job::<String>::run(&CommandJob::shell(line).current_dir(&root), node, ctx)
            }
            // Checked above: every step has a command.
            None => Err(JobError::new(format!("step `{step}` has no command"))),
        }
    };
    let cancel = cancel_on_signal(out);
    let result =
        with_progress(|tx| executor.run_workflow(store, &registry, name, &job, &cancel, Some(tx)))?;
    if let Some(e) = &result.write_back {
        out.error(&format!(
            "could not write `last_run` of workflow `{name}` into {registry}: {e}"
        ));
    }
    if out.json {
        let mut doc = record_json(&result.record);
        doc["workflow"] = name.into();
        doc["registry"] = registry.as_str().into();
        doc["succeeded"] = result.succeeded().into();
        doc["last_run"] = result.last_run.clone();
        doc["write_back_error"] = result.write_back.as_ref().map(ToString::to_string).into();
        out.json_value(&doc).map_err(stdout_error)?;
    } else {
        print_record(&result.record, 0, out)?;
        if result.write_back.is_none() {
            out.note(&format!("recorded as `last_run` of `{name}` in {registry}"));
        }
    }
    Ok(if result.succeeded() {
        Outcome::Done
    } else {
        Outcome::No
    })
}

/// The one store document that is an automation registry with workflow `name`.
fn find_registry(store: &Store, name: &str) -> Result<String, ssot_core::Error> {
    let mut registries = Vec::new();
    let mut holding = Vec::new();
    let mut known = Vec::new();
    for file in store.files()? {
        if !matches!(file.role, Role::Document { .. }) {
            continue;
        }
        let Ok(doc) = store.document(&file.path) else {
            continue;
        };
        if doc.value().pointer("/automation/workflows").is_none() {
            continue;
        }
        if let Ok(r) = AutomationRegistry::parse(doc.text()) {
            if r.workflow(name).is_some() {
                holding.push(file.path.clone());
            }
            known.extend(r.workflows.iter().map(|w| w.name.clone()));
        }
        registries.push(file.path);
    }
    match (holding.len(), registries.is_empty()) {
        (1, _) => Ok(holding.remove(0)),
        (0, true) => Err(ssot_core::Error::Workflow {
            key: "automation.workflows".into(),
            message: "no document of the store is an automation registry; add one (a \
                      document with `automation.workflows`) to ssot.yaml's `files`, or name \
                      it with --registry"
                .into(),
        }),
        (0, false) => Err(ssot_core::Error::Workflow {
            key: format!("automation.workflows.{name}"),
            message: format!(
                "no workflow `{name}` in the store's registries ({}); they have: {}",
                registries.join(", "),
                known.join(", ")
            ),
        }),
        _ => Err(ssot_core::Error::Workflow {
            key: format!("automation.workflows.{name}"),
            message: format!(
                "several registries have it ({}); choose one with --registry",
                holding.join(", ")
            ),
        }),
    }
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

    fn event<Id: fmt::Display>(&mut self, e: &Event<Id>) {
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
fn event_line<Id: fmt::Display>(e: &Event<Id>) -> Option<String> {
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

fn attempt_name(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Succeeded => "succeeded",
        AttemptOutcome::Failed => "failed",
        AttemptOutcome::TimedOut => "timed_out",
        AttemptOutcome::Cancelled => "cancelled",
        _ => "other",
    }
}
