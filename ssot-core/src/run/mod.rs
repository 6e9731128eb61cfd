//! Run a plan: the embedded executor.
//!
//! An [`Executor`] runs a [`Plan`] (any [`ssot_graph::DepGraph`] with a job per node,
//! or a list of [`Task`](crate::Task)s by their dependencies) on a pool of threads: a
//! node starts only when every dependency succeeded; among ready nodes the plan's order
//! holds (for tasks, the [`TaskQueue`](crate::TaskQueue) order: priority, then age,
//! then id); a freed worker takes the next ready node at once. Each attempt has a
//! timeout and a [`RetryPolicy`]; a node that fails after its retries makes its
//! transitive dependents skipped, naming it. Named concurrency groups bound how many of
//! their nodes run at once. Every attempt is in the [`RunRecord`]; every state change is
//! an [`Event`] on a standard channel.
//!
//! Overhead: on the shared, loaded 2-core development machine, 1 to 2.5 µs per no-op
//! task including setting up the run and building its record (`BENCHMARKS.md`),
//! against well under 1 µs for rayon running the same DAG wave by wave: right for
//! commands and I/O, not for tasks of a few microseconds (use rayon for those).
//! Workers take ready nodes from one shared ready set and queue dependents themselves,
//! so there is no coordinator round trip per task. A node with inputs gets a
//! `Started` event before the worker finds it up to date (then `UpToDate`, with no
//! attempt recorded).
//!
//! A task's own fields can set its timeout, retries, retry policy and concurrency
//! group ([`TaskOptions::from_task_fields`], used by [`Executor::run_tasks`]); an
//! automation registry's workflows run as chains of steps ([`AutomationRegistry`]).
//!
//! Threads only, no async runtime. Timeouts of closure jobs are cooperative (see
//! [`RunContext`]).
//!
//! [`CommandJob`] (Unix only) runs a program or shell line in its own process group.
//!
//! With [`ExecutorBuilder::journal_dir`] each state change goes to an append-only run
//! journal, and [`Executor::resume`] finishes a run whose process was killed.
//!
//! A node may declare [`Inputs`]; with [`ExecutorBuilder::state_dir`] it is skipped as
//! up to date when their hash equals its last success's, and
//! [`Executor::dry_run`] says what would run and why.
//!
//! With the `store` feature, [`Executor::run_store`] runs a store's plan and writes
//! each outcome back to its files (`[/]` while running, `[x]` when done, a failed
//! task put back byte for byte as it was), [`Executor::dry_run_store`] says what
//! would run and why, and [`Executor::run_workflow`] runs a workflow of an
//! automation registry kept in the store, recording its `last_run` there.
//!
//! # Example: a graph with a flaky node
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use ssot_core::run::{Executor, JobError, Plan, RetryPolicy, RunContext, TaskOutcome};
//! use ssot_graph::DepGraph;
//!
//! let graph = DepGraph::from_tasks([
//!     ("fetch", vec![]),
//!     ("build", vec!["fetch"]),
//!     ("lint", vec![]),
//! ])?;
//! let tries = AtomicU32::new(0);
//! let executor = Executor::builder()
//!     .workers(2)
//!     .retry(RetryPolicy::Fixed { retries: 2, delay: Duration::from_millis(1) })
//!     .build();
//! let record = executor.run(&Plan::new(graph), &|id: &&str, _ctx: &RunContext| {
//!     if *id == "fetch" && tries.fetch_add(1, Ordering::SeqCst) == 0 {
//!         return Err(JobError::new("network down"));
//!     }
//!     Ok(())
//! })?;
//! assert!(record.succeeded());
//! assert_eq!(record.tasks["fetch"].attempts.len(), 2);
//! assert_eq!(record.tasks["build"].outcome, TaskOutcome::Succeeded);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(unix)]
mod command;
mod context;
mod executor;
mod incremental;
mod journal;
mod plan;
mod record;
mod retry;
mod settings;
#[cfg(feature = "store")]
mod store;

#[cfg(unix)]
pub use self::command::{CommandJob, CommandOutput, process_gone};
pub use self::context::{CancelToken, Job, JobError, RunContext};
pub use self::executor::{DryRun, Executor, ExecutorBuilder, FailurePolicy, ResumeReport};
pub use self::incremental::{InputChange, InputManifest, Inputs};
pub use self::plan::{Plan, TaskOptions};
pub use self::record::{
    Attempt, AttemptOutcome, Event, EventKind, RunRecord, TaskOutcome, TaskRecord,
};
pub use self::retry::RetryPolicy;
pub use self::settings::{
    AutomationRegistry, COMMAND_FIELDS, DEFAULT_RETRIES, WORKFLOW_GROUP, Workflow, command_of,
};
#[cfg(feature = "store")]
pub use self::store::{STORE_RUN_STATE, StoreDryRun, StoreRun, WorkflowRun, WriteBackError};
