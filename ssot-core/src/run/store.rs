//! Running the store's plan, writing each outcome back to the store.
//!
//! [`Executor::run_store`] runs the tasks of [`Store::plan`] that are not finished
//! (as [`Executor::run_tasks`] does) and writes each outcome back through the store's
//! change path ([`Store::set_status`]: validated, locked, audited, in place):
//!
//! | When | Status written | Markdown |
//! |---|---|---|
//! | the first attempt starts | [`Status::InProgress`] | `[/]` |
//! | an attempt succeeds | [`Status::Done`] | `[x]` |
//! | it failed after its retries, or the run was cancelled while it ran | [`Status::Pending`] | `[ ]` |
//! | skipped (a dependency failed), not started, up to date | untouched | |
//!
//! A failed task goes back to `Pending` (legal from `InProgress` in the state
//! machine of [`Status`]) rather than `Blocked` or `Cancelled`: it is still work to
//! do, the next run picks it up again, and why it failed is in the
//! [`RunRecord`]. Its dependents are never written.
//!
//! Design: `InProgress` is written by the worker thread just before the job's first
//! attempt, so a job that reads its file sees `[/]` for its own task. `Done` is
//! written by a thread consuming the executor's [`Event`]s, in event order; the
//! store's cross-process lock orders these writes against each other. Tasks that
//! started but did not succeed are set back to `Pending` after the run, in id
//! order. A write-back that fails does not fail the job nor stop the run: it is
//! returned in [`StoreRun::write_back`] (a job is never re-run because its status
//! could not be written).
//!
//! Cost: one store revision (a locked, audited, in-place rewrite of one file) per
//! status change, i.e. two per successful task: right for commands, not for
//! thousands of tiny tasks per second.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};

use crate::run::{
    CancelToken, Event, EventKind, Executor, Job, RunContext, RunRecord, TaskOptions,
};
use crate::run::{JobError, TaskOutcome};
use crate::{Error, Status, Store, Task, TaskId};

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
/// How outcomes are written back ([`Store::set_status`]: validated, locked,
/// audited, in place):
///
/// | When | Status written | Markdown |
/// |---|---|---|
/// | the first attempt starts (before the job is called) | [`Status::InProgress`] | `[/]` |
/// | an attempt succeeds | [`Status::Done`] | `[x]` |
/// | it failed after its retries, or the run was cancelled while it ran | [`Status::Pending`] | `[ ]` |
/// | skipped (a dependency failed), never started, up to date, left out | untouched | |
///
/// A failed task goes back to `Pending` (the state machine of [`Status`] allows it
/// from `InProgress`): it is still work to do and the next run picks it up again;
/// why it failed is in the record. A write-back that fails is in
/// [`write_back`](Self::write_back); it neither fails the job nor stops the run.
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

impl Executor {
    /// Runs the store's plan: the tasks of [`Store::plan`] that are not finished,
    /// calling `job` with each, in dependency and [`TaskQueue`](crate::TaskQueue)
    /// order, as [`run_tasks`](Self::run_tasks) does (task fields set timeouts,
    /// retries and groups). Each outcome is written back to the store as the
    /// [`StoreRun`] says; `events` (if given) receives every event
    /// after it was handled.
    ///
    /// # Errors
    ///
    /// As [`Store::plan`] and [`run_tasks`](Self::run_tasks) (nothing runs nor is
    /// written then). Job failures and failed write-backs are not errors: they are
    /// in the returned [`StoreRun`].
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
        let plan = store.plan()?;
        let mut tasks: Vec<Task> = plan
            .graph()
            .nodes()
            .filter_map(|id| plan.task(id.as_str()))
            .map(|p| p.task.clone())
            .collect();
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
            job.run(task, ctx)
        };
        let (tx, rx) = channel::<Event<TaskId>>();
        let record = std::thread::scope(|s| {
            let handler = s.spawn(|| {
                for event in rx {
                    if let EventKind::Succeeded { .. } = event.kind {
                        write(&event.node, Status::Done);
                    }
                    if let Some(out) = events {
                        // A caller that stopped listening does not stop the run.
                        let _ = out.send(event);
                    }
                }
            });
            let record =
                self.run_tasks(&tasks, |_| TaskOptions::default(), &each, cancel, Some(&tx));
            drop(tx);
            // The handler only writes and forwards; a panic there is a bug in
            // `set_status`, reported as the write-backs it recorded so far.
            let _ = handler.join();
            record
        })?;
        let started = std::mem::take(&mut *lock(&started));
        for id in started {
            let succeeded = record
                .tasks
                .get(&id)
                .is_some_and(|t| t.outcome == TaskOutcome::Succeeded);
            if !succeeded {
                write(&id, Status::Pending);
            }
        }
        let write_back = std::mem::take(&mut *lock(&failures));
        Ok(StoreRun {
            record,
            write_back,
            left_out: left_out.into_iter().collect(),
        })
    }
}

/// Locks `m`, going on with the data if a thread panicked while holding it (the
/// data are plain lists, always consistent).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
