//! Running the store's plan, and the automation registry's workflows, writing each
//! outcome back to the store.
//!
//! # Tasks: [`Executor::run_store`]
//!
//! [`Executor::run_store`] runs the tasks of [`Store::plan`] that are not finished
//! (as [`Executor::run_tasks`] does) and writes each outcome back through the store's
//! change path (validated, locked, audited, in place):
//!
//! | When | Status written | Markdown |
//! |---|---|---|
//! | the first attempt starts | [`Status::InProgress`] | `[/]` |
//! | an attempt succeeds, before its dependents are released | [`Status::Done`] | `[x]` |
//! | found up to date (no attempt), before its dependents are released | [`Status::Done`] | `[x]` |
//! | it failed after its retries, or the run was cancelled while it ran | as it was before the run | `[ ]` |
//! | skipped (a dependency failed), not started | untouched | |
//!
//! **A failed task comes back byte-identical.** It is still work to do, the next run
//! picks it up again, and why it failed is in the [`RunRecord`]. Before the run, the
//! status of each task to run is read as it is written ([`Document::status_text`]:
//! no `status` key, `todo`, an empty CSV cell, an unusual Markdown checkbox). Put
//! back, it is written in that form ([`Store::update_task`] with the
//! [`STATUS_AS_WRITTEN`] entry, or `status_char` in Markdown), so a YAML task that had
//! no `status` loses the `status: in_progress` the run added instead of gaining
//! `status: pending`. A task already written `pending` (or `[ ]`) is simply set back
//! with [`Store::set_status`]. A task whose status someone else changed while it ran
//! (not `in_progress` any more) is left as they made it.
//!
//! **`[x]` before the dependents' `[/]`.** `Done` is written by the worker, in the
//! job wrapper, after the job succeeded and before it returns to the executor; the
//! executor releases dependents only when the job has returned, so the audit log
//! orders a task's `done` before any `in_progress` of a task that depends on it.
//! `InProgress` is written on the worker too, just before the job's first attempt,
//! so a job that reads its file sees `[/]` for its own task. (Both writes are part
//! of the attempt, so its recorded time includes them: one store commit each.)
//! Tasks that started but did not succeed are put back after the run, in id order.
//!
//! **Up to date is done.** A task the executor skips as up to date (see
//! *Incremental runs*) is treated as done by the run, so it is written `Done`
//! likewise: through [`Job::up_to_date`], which the executor calls on the worker
//! when it finds the task up to date and before it releases the dependents, so the
//! same ordering holds (no `[/]` is written for it first). Otherwise the file would
//! say `[ ]`, and every later run would find the task again, skip it again, and
//! leave it pending. A `Done` that cannot be written is in
//! [`StoreRun::write_back`] like any other. `job`'s own
//! [`up_to_date`](Job::up_to_date) is called after the write.
//!
//! A write-back that fails does not fail the job nor stop the run: it is returned in
//! [`StoreRun::write_back`] and makes the run not [`succeeded`](StoreRun::succeeded).
//! In particular a `Done` that cannot be written leaves the job a success: the
//! command did its work, and running it again to make the file agree would repeat
//! its effects. Its dependents then run (the record, not the file, is what the
//! executor schedules on), and the file shows `[/]` for it until someone fixes it;
//! the error names the task and the reason.
//!
//! **Resume.** The store is the run's durable state: a task written `[x]` is done and
//! [`Store::plan`] never runs it again, whether or not a journal recorded its
//! success (a `Done` is written before the executor journals the success, so a
//! process killed between the two leaves `[x]` and no journal line: running the
//! store again does not repeat it; [`Executor::resume`] over a plan built from the
//! store's tasks marks it done likewise). A task left `[/]` by a killed process is
//! not picked up (another process may be running it); `ssot set ID pending` hands it
//! back.
//!
//! **Incremental runs.** A task's `inputs` and `outputs` fields
//! ([`Inputs::from_task_fields`]) make it skippable as up to date when the executor
//! has a [`state_dir`](crate::run::ExecutorBuilder::state_dir). After each success
//! the run also records the task's [`InputManifest`] under
//! [`STORE_RUN_STATE`] in the store, so that [`Executor::dry_run_store`] (`ssot run
//! --dry-run`) can say which input changed. `ssot run` uses that directory as the
//! executor's state directory too.
//!
//! # Workflows: [`Executor::run_workflow`]
//!
//! A workflow of an automation registry that is a document of the store runs as a
//! chain of its steps ([`AutomationRegistry::plan`]), each step a node
//! `<category>.<name>/<step>` given to the job. Its outcome is written back as the
//! workflow's `last_run`, patched into the registry document with [`Store::patch`]
//! (validated against the document's schema, locked, audited, in place: one
//! revision per run, the rest of the file untouched):
//!
//! ```yaml
//! last_run:
//!   run_id: 1764686400000-4242-0
//!   started: 2026-12-02T14:00:00Z
//!   ended: 2026-12-02T14:00:03Z
//!   outcome: failed          # succeeded, failed or cancelled
//!   steps: {check_schema: succeeded, build: failed, publish: skipped}
//! ```
//!
//! Why `last_run` rather than one task per step: a registry is configuration, the
//! same steps run again on every trigger, so the answer a reader wants from the file
//! is "how did it go last time"; per-attempt detail is in the run record. The
//! registry's schema must allow the key (the shipped example's does); if it does
//! not, the patch is refused and returned in [`WorkflowRun::write_back`].
//!
//! Cost: one store revision (a locked, audited, in-place rewrite of one file) per
//! status change, i.e. two per successful task, one per up-to-date task, one per
//! workflow run: right for
//! commands, not for thousands of tiny tasks per second.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::mpsc::Sender;

use serde_json::{Value, json};

use crate::format::Format;
use crate::format::edit::{Document, STATUS_AS_WRITTEN};
use crate::run::{
    AutomationRegistry, CancelToken, DryRun, Event, Executor, InputManifest, Inputs, Job, JobError,
    Plan, RunContext, RunRecord, TaskOptions, TaskOutcome, Workflow,
};
use crate::{Error, Status, Store, Task, TaskId};

/// Where, under a store's root, a store run keeps its state: the input manifests
/// of [`Executor::run_store`], and (as `ssot run` configures it) the executor's
/// [`state_dir`](crate::run::ExecutorBuilder::state_dir).
pub const STORE_RUN_STATE: &str = ".ssot/run";

/// A status that could not be written back to the store during
/// [`Executor::run_store`].
#[derive(Debug)]
pub struct WriteBackError {
    /// The task.
    pub task: TaskId,
    /// The status that was to be written.
    pub status: Status,
    /// Why it was not written.
    pub error: Error,
}

/// What [`Executor::run_store`] returns: the run's record and every status that
/// could not be written back.
///
/// How outcomes are written back (validated, locked, audited, in place):
///
/// | When | Status written | Markdown |
/// |---|---|---|
/// | the first attempt starts (before the job is called) | [`Status::InProgress`] | `[/]` |
/// | an attempt succeeds (before its dependents are released) | [`Status::Done`] | `[x]` |
/// | found up to date, no attempt (before its dependents are released) | [`Status::Done`] | `[x]` |
/// | it failed after its retries, or the run was cancelled while it ran | as written before the run | `[ ]` |
/// | skipped (a dependency failed), never started, left out | untouched | |
///
/// - **A failed task comes back byte-identical**: its status is read as written
///   before the run ([`Document::status_text`]: no `status` key, `todo`, an empty
///   CSV cell, an unusual Markdown checkbox) and put back in that form
///   ([`Store::update_task`] with [`STATUS_AS_WRITTEN`]), so a YAML task without a
///   `status` does not gain `status: pending`. A task someone else moved while it
///   ran (no longer `in_progress`) is left as they made it.
/// - **`[x]` before the dependents' `[/]`**: `Done` is written on the worker after
///   the job succeeded and before it returns (for an up-to-date task, in
///   [`Job::up_to_date`], before the executor goes on); the executor releases
///   dependents only then, so the audit log orders a task's `done` before any
///   `in_progress` of a task depending on it.
/// - **A write-back that fails** is in [`write_back`](Self::write_back); it neither
///   fails the job nor stops the run. A `Done` that cannot be written leaves the job a
///   success (running it again would repeat its effects); its dependents run, the
///   file shows `[/]` for it, the error names it.
/// - **Resume**: the store is the durable state. A task written `[x]` is done and
///   never runs again, whether or not a journal recorded its success (a process
///   killed between the `Done` write and the journal line leaves `[x]`). A task left
///   `[/]` by a killed process is not picked up (another may be running it);
///   `ssot set ID pending` hands it back.
#[derive(Debug)]
pub struct StoreRun {
    /// Every attempt of every task run, as [`Executor::run_tasks`] returns it.
    pub record: RunRecord<TaskId>,
    /// Write-backs that failed, in the order they were tried. Empty when the
    /// store shows every outcome.
    pub write_back: Vec<WriteBackError>,
    /// Unfinished tasks left out of the run by
    /// [`run_store_where`](Executor::run_store_where), sorted: those not selected
    /// and those waiting (directly or not) on one. Never written.
    pub left_out: Vec<TaskId>,
}

impl StoreRun {
    /// Whether every task succeeded (or was up to date) and every outcome was
    /// written back.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.record.succeeded() && self.write_back.is_empty()
    }
}

/// What [`Executor::dry_run_store`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreDryRun {
    /// Each task that would be in the run, in dependency order, with whether it
    /// would run and why.
    pub tasks: Vec<(TaskId, DryRun)>,
    /// As [`StoreRun::left_out`].
    pub left_out: Vec<TaskId>,
}

/// What [`Executor::run_workflow`] returns.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkflowRun {
    /// The workflow, as the registry defines it.
    pub workflow: Workflow,
    /// Every attempt of every step (node ids `<category>.<name>/<step>`).
    pub record: RunRecord<String>,
    /// What was patched into the registry as the workflow's `last_run`.
    pub last_run: Value,
    /// Why `last_run` could not be written, if it could not.
    pub write_back: Option<Error>,
}

impl WorkflowRun {
    /// Whether every step succeeded and `last_run` was written.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.record.succeeded() && self.write_back.is_none()
    }
}

/// The tasks a store run runs, with the tasks left out.
struct Selection {
    tasks: Vec<Task>,
    left_out: BTreeSet<TaskId>,
    /// The file of each task, relative to the root.
    files: HashMap<TaskId, String>,
}

/// How a task's status was written before the run, when it was not plain `pending`
/// or `[ ]` (those are set back with `set_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Written {
    /// In YAML, JSON or CSV: no status (`None`) or this text.
    Text(Option<String>),
    /// In Markdown: this unusual checkbox character.
    Checkbox(Value),
}

impl Executor {
    /// Runs the store's plan: the tasks of [`Store::plan`] that are not finished,
    /// calling `job` with each, in dependency and [`TaskQueue`](crate::TaskQueue)
    /// order, as [`run_tasks`](Self::run_tasks) does (task fields set timeouts,
    /// retries, groups, and `inputs`/`outputs` for incremental runs). Each outcome
    /// is written back to the store as the [`StoreRun`] says; `events` (if given)
    /// receives every event after it was handled.
    ///
    /// # Errors
    ///
    /// As [`Store::plan`] and [`run_tasks`](Self::run_tasks), and
    /// [`Error::TaskField`] for `inputs` or `outputs` fields that do not parse
    /// (nothing runs nor is written then). Job failures and failed write-backs are
    /// not errors: they are in the returned [`StoreRun`].
    pub fn run_store<J>(
        &self,
        store: &Store,
        job: &J,
        cancel: &CancelToken,
        events: Option<&Sender<Event<TaskId>>>,
    ) -> Result<StoreRun, Error>
    where
        J: Job<Task> + ?Sized,
    {
        self.run_store_where(store, |_| true, job, cancel, events)
    }

    /// As [`run_store`](Self::run_store), running only the unfinished tasks for
    /// which `select` is true; the others, and every task waiting on one of them
    /// (directly or not), are left out of the run and listed in
    /// [`StoreRun::left_out`]. `ssot run` selects the tasks that have a command.
    ///
    /// # Errors
    ///
    /// As [`run_store`](Self::run_store).
    pub fn run_store_where<J>(
        &self,
        store: &Store,
        select: impl Fn(&Task) -> bool,
        job: &J,
        cancel: &CancelToken,
        events: Option<&Sender<Event<TaskId>>>,
    ) -> Result<StoreRun, Error>
    where
        J: Job<Task> + ?Sized,
    {
        let Selection {
            tasks,
            left_out,
            files,
        } = select_tasks(store, &select)?;
        let inputs = inputs_of(store, &tasks)?;
        let written = written_forms(store, &tasks, &files);
        let state = store.root().join(STORE_RUN_STATE);
        let failures = Mutex::new(Vec::new());
        let started = Mutex::new(BTreeSet::new());
        let write = |id: &TaskId, status: Status| {
            if let Err(error) = store.set_status(id.as_str(), status) {
                lock(&failures).push(WriteBackError {
                    task: id.clone(),
                    status,
                    error,
                });
                return false;
            }
            true
        };
        let each = |task: &Task, ctx: &RunContext| -> Result<(), JobError> {
            if ctx.attempt() == 1 && write(&task.id, Status::InProgress) {
                lock(&started).insert(task.id.clone());
            }
            // What the inputs are as the job starts (the executor hashes them at
            // the same point): recorded only if it succeeds.
            let manifest = inputs.get(&task.id).map(Inputs::manifest);
            job.run(task, ctx)?;
            // The executor counts an attempt that returns after its deadline as
            // timed out, whatever it returned: only a success is `Done`.
            if !ctx.timed_out() {
                if let Some(Ok(m)) = manifest
                    && let Err(e) = m.save(&state, task.id.as_str())
                {
                    ctx.log(&format!("{e}\n"));
                }
                // Before returning, so before the executor releases dependents.
                write(&task.id, Status::Done);
            }
            Ok(())
        };
        // Found up to date: the run treats it as done, so the file says so too,
        // written on the worker before the executor releases its dependents.
        let up_to_date = |task: &Task| {
            write(&task.id, Status::Done);
            job.up_to_date(task);
        };
        let options = |t: &Task| TaskOptions {
            inputs: inputs.get(&t.id).cloned(),
            ..TaskOptions::default()
        };
        let job = WithUpToDate {
            run: each,
            up_to_date,
        };
        let record = self.run_tasks(&tasks, options, &job, cancel, events)?;
        let started = std::mem::take(&mut *lock(&started));
        for id in started {
            let succeeded = record
                .tasks
                .get(&id)
                .is_some_and(|t| t.outcome == TaskOutcome::Succeeded);
            if !succeeded {
                put_back(store, &id, written.get(&id), &failures);
            }
        }
        let write_back = std::mem::take(&mut *lock(&failures));
        Ok(StoreRun {
            record,
            write_back,
            left_out: left_out.into_iter().collect(),
        })
    }

    /// What [`run_store_where`](Self::run_store_where) would do now, without
    /// running or writing anything: per task in the run, in dependency order,
    /// whether it would run and why ([`Executor::dry_run`]'s verdict, with the
    /// reason made precise from the task's last recorded [`InputManifest`]: which
    /// input files changed, or the command), or that it is up to date.
    ///
    /// Cost: as [`Store::plan`], plus hashing the inputs of tasks that declare
    /// them, twice (once for the verdict, once for the manifest).
    ///
    /// # Errors
    ///
    /// As [`run_store`](Self::run_store).
    pub fn dry_run_store(
        &self,
        store: &Store,
        select: impl Fn(&Task) -> bool,
    ) -> Result<StoreDryRun, Error> {
        let Selection {
            tasks, left_out, ..
        } = select_tasks(store, &select)?;
        let inputs = inputs_of(store, &tasks)?;
        let mut plan = Plan::from_tasks(&tasks)?;
        for (id, inp) in &inputs {
            plan.set_options(
                id.clone(),
                TaskOptions {
                    inputs: Some(inp.clone()),
                    ..TaskOptions::default()
                },
            )?;
        }
        let state = store.root().join(STORE_RUN_STATE);
        let verdicts = self
            .dry_run(&plan)
            .into_iter()
            .map(|(id, verdict)| {
                let verdict = match (verdict, inputs.get(&id)) {
                    (DryRun::Runs(why), Some(inp)) => {
                        DryRun::Runs(precise_reason(why, inp, &state, &id))
                    }
                    (DryRun::Runs(why), None) if why == NO_INPUTS => DryRun::Runs(
                        "declares no `inputs` or `outputs`: runs every time".to_owned(),
                    ),
                    (other, _) => other,
                };
                (id, verdict)
            })
            .collect();
        Ok(StoreDryRun {
            tasks: verdicts,
            left_out: left_out.into_iter().collect(),
        })
    }

    /// Runs workflow `name` (`<category>.<name>`) of the automation registry that
    /// is the store's document `registry` (a path relative to the root): its steps
    /// as a chain, each step's node (`<category>.<name>/<step>`) given to `job`,
    /// with the workflow's timeout and retry policy. The outcome is patched into
    /// the registry document as the workflow's `last_run` with [`Store::patch`]
    /// (validated against the document's schema, locked, audited, in place: one
    /// revision, the rest of the file untouched); `events` (if given) receives
    /// every event.
    ///
    /// ```yaml
    /// last_run:
    ///   run_id: 1764686400000-4242-0
    ///   started: 2026-12-02T14:00:00Z
    ///   ended: 2026-12-02T14:00:03Z
    ///   outcome: failed          # succeeded, failed or cancelled
    ///   steps: {check: succeeded, build: failed, publish: skipped}
    /// ```
    ///
    /// Why `last_run` rather than a task per step: a registry is configuration, the
    /// same steps run again on every trigger, so what a reader wants from the file
    /// is how it went last time; per-attempt detail is in the record. The
    /// registry's schema must allow the key; if it does not, the patch is refused
    /// and returned in [`WorkflowRun::write_back`].
    ///
    /// The registry's `max_concurrent` does not apply: one workflow is a chain, one
    /// step at a time.
    ///
    /// # Errors
    ///
    /// As [`Store::document`] for the registry; [`Error::Workflow`] when it is not
    /// an automation registry or has no workflow `name`; as
    /// [`run_with`](Self::run_with). Step failures and a `last_run` that cannot be
    /// written are not errors: they are in the returned [`WorkflowRun`].
    pub fn run_workflow<J>(
        &self,
        store: &Store,
        registry: &str,
        name: &str,
        job: &J,
        cancel: &CancelToken,
        events: Option<&Sender<Event<String>>>,
    ) -> Result<WorkflowRun, Error>
    where
        J: Job<String> + ?Sized,
    {
        let doc = store.document(registry)?;
        let mut reg = AutomationRegistry::parse(doc.text()).map_err(|e| match e {
            Error::Workflow { key, message } => Error::Workflow {
                key,
                message: format!("{message} (in {registry})"),
            },
            other => other,
        })?;
        // A chain runs one step at a time; no group to define on the executor.
        reg.max_concurrent = None;
        let plan = reg.plan(&[name])?;
        let workflow = reg.workflow(name).cloned().ok_or_else(|| Error::Workflow {
            key: format!("automation.workflows.{name}"),
            message: "no such workflow".to_owned(),
        })?;
        let record = self.run_with(&plan, job, cancel, events)?;
        let last_run = last_run_of(&workflow, &record);
        let patch = json!({"automation": {"workflows": {
            workflow.category.as_str(): {workflow.key.as_str(): {"last_run": last_run}}
        }}});
        let write_back = store.patch(registry, &patch).err();
        Ok(WorkflowRun {
            workflow,
            record,
            last_run,
            write_back,
        })
    }
}

/// A job from two closures: `run` for [`Job::run`], `up_to_date` for
/// [`Job::up_to_date`].
struct WithUpToDate<R, U> {
    run: R,
    up_to_date: U,
}

impl<N: ?Sized, R, U> Job<N> for WithUpToDate<R, U>
where
    R: Fn(&N, &RunContext) -> Result<(), JobError> + Sync,
    U: Fn(&N) + Sync,
{
    fn run(&self, node: &N, ctx: &RunContext) -> Result<(), JobError> {
        (self.run)(node, ctx)
    }

    fn up_to_date(&self, node: &N) {
        (self.up_to_date)(node);
    }
}

/// [`Executor::dry_run`]'s reason for a node without inputs.
const NO_INPUTS: &str = "declares no inputs";

/// A dry run's reason, made precise from the manifest of the task's last success.
fn precise_reason(why: String, inputs: &Inputs, state: &std::path::Path, id: &TaskId) -> String {
    let missing: Vec<String> = inputs
        .outputs
        .iter()
        .filter(|o| !inputs.root.join(o).exists())
        .map(|o| o.display().to_string())
        .collect();
    let Some(old) = InputManifest::load(state, id.as_str()) else {
        // Never run (through the store): that is the reason, whatever else holds.
        return if why.starts_with("no successful run") || !missing.is_empty() {
            "no previous successful run recorded".to_owned()
        } else {
            why
        };
    };
    let Ok(now) = inputs.manifest() else {
        return why;
    };
    let changes = now.changes_since(&old);
    if changes.is_empty() {
        return if missing.is_empty() {
            why
        } else {
            format!("output missing: {}", missing.join(", "))
        };
    }
    let files: Vec<String> = changes
        .iter()
        .filter(|c| !matches!(c, crate::run::InputChange::Command))
        .map(ToString::to_string)
        .collect();
    let command = changes.contains(&crate::run::InputChange::Command);
    match (files.is_empty(), command) {
        (true, _) => "command changed".to_owned(),
        (false, false) => format!("inputs changed: {}", files.join(", ")),
        (false, true) => format!("command changed; inputs changed: {}", files.join(", ")),
    }
}

/// The `last_run` value of a workflow run.
fn last_run_of(workflow: &Workflow, record: &RunRecord<String>) -> Value {
    let outcome = if record.cancelled {
        "cancelled"
    } else if record.succeeded() {
        "succeeded"
    } else {
        "failed"
    };
    let steps: serde_json::Map<String, Value> = workflow
        .steps
        .iter()
        .map(|step| {
            let o = record
                .tasks
                .get(&workflow.node(step))
                .map_or("not_run", |t| t.outcome.name());
            (step.clone(), Value::from(o))
        })
        .collect();
    json!({
        "run_id": record.run_id,
        "started": record.started.to_string(),
        "ended": record.ended.to_string(),
        "outcome": outcome,
        "steps": steps,
    })
}

/// The unfinished tasks of the store's plan for which `select` is true, minus
/// those waiting on one it is false for.
fn select_tasks(store: &Store, select: &impl Fn(&Task) -> bool) -> Result<Selection, Error> {
    let plan = store.plan()?;
    let mut files = HashMap::new();
    let mut tasks: Vec<Task> = Vec::new();
    for id in plan.graph().nodes() {
        if let Some(p) = plan.task(id.as_str()) {
            files.insert(p.task.id.clone(), p.location.file.clone());
            tasks.push(p.task.to_task());
        }
    }
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    let mut left_out: BTreeSet<TaskId> = tasks
        .iter()
        .filter(|t| !t.status().is_finished() && !select(t))
        .map(|t| t.id.clone())
        .collect();
    // Close over dependents: a fixpoint, O(V * (V + E)) at worst, on plans of
    // commands (hundreds of tasks) negligible.
    loop {
        let more: Vec<TaskId> = tasks
            .iter()
            .filter(|t| {
                !left_out.contains(&t.id)
                    && !t.status().is_finished()
                    && t.dependencies.iter().any(|d| left_out.contains(d))
            })
            .map(|t| t.id.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        left_out.extend(more);
    }
    tasks.retain(|t| !left_out.contains(&t.id));
    // Only finished tasks can still name a left-out task; they do not run, so
    // the edge (which the plan would reject as unknown) is dropped.
    for t in &mut tasks {
        t.dependencies.retain(|d| !left_out.contains(d));
    }
    Ok(Selection {
        tasks,
        left_out,
        files,
    })
}

/// The declared inputs of the tasks that have `inputs` or `outputs` fields.
fn inputs_of(store: &Store, tasks: &[Task]) -> Result<HashMap<TaskId, Inputs>, Error> {
    let mut out = HashMap::new();
    for t in tasks {
        if let Some(inp) = Inputs::from_task_fields(t, store.root())? {
            out.insert(t.id.clone(), inp);
        }
    }
    Ok(out)
}

/// How the status of each pending task was written, reading each of their files
/// once. A file that cannot be read or parsed gives nothing (its tasks are set back
/// to `pending`, as before this was kept).
fn written_forms(
    store: &Store,
    tasks: &[Task],
    files: &HashMap<TaskId, String>,
) -> HashMap<TaskId, Written> {
    let mut by_file: BTreeMap<&str, Vec<&Task>> = BTreeMap::new();
    for t in tasks.iter().filter(|t| t.status() == Status::Pending) {
        if let Some(f) = files.get(&t.id) {
            by_file.entry(f.as_str()).or_default().push(t);
        }
    }
    let mut out = HashMap::new();
    for (file, tasks) in by_file {
        let Some(format) = store.task_file(file).ok().map(|f| f.format()) else {
            continue;
        };
        if format == Format::Markdown {
            for t in tasks {
                if let Some(c) = t.extra.get(MARKDOWN_STATUS_CHAR) {
                    out.insert(t.id.clone(), Written::Checkbox(c.clone()));
                }
            }
            continue;
        }
        let Some(doc) = std::fs::read_to_string(store.root().join(file))
            .ok()
            .and_then(|text| Document::parse(format, text).ok())
        else {
            continue;
        };
        for t in tasks {
            if let Ok(text) = doc.status_text(t.id.as_str()) {
                let plain = text.as_deref() == Some(Status::Pending.as_str());
                if !plain {
                    out.insert(t.id.clone(), Written::Text(text));
                }
            }
        }
    }
    out
}

/// The `extra` key in which the Markdown reader keeps an unusual checkbox
/// character (its editor writes it back for a pending task).
const MARKDOWN_STATUS_CHAR: &str = "status_char";

/// Puts a task that started and did not succeed back as it was written before the
/// run (see the module documentation), recording a failure in `failures`.
fn put_back(
    store: &Store,
    id: &TaskId,
    written: Option<&Written>,
    failures: &Mutex<Vec<WriteBackError>>,
) {
    let result = match written {
        None => store.set_status(id.as_str(), Status::Pending),
        Some(form) => store.update_task(id.as_str(), |t| {
            // Someone else moved it while it ran: theirs stands.
            if t.status() != Status::InProgress || t.transition(Status::Pending).is_err() {
                return;
            }
            match form {
                Written::Text(text) => {
                    t.extra.insert(
                        STATUS_AS_WRITTEN.to_owned(),
                        text.clone().map_or(Value::Null, Value::String),
                    );
                }
                Written::Checkbox(c) => {
                    t.extra.insert(MARKDOWN_STATUS_CHAR.to_owned(), c.clone());
                }
            }
        }),
    };
    if let Err(error) = result {
        lock(failures).push(WriteBackError {
            task: id.clone(),
            status: Status::Pending,
            error,
        });
    }
}

/// Locks `m`, going on with the data if a thread panicked while holding it (the
/// data are plain lists, always consistent).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
