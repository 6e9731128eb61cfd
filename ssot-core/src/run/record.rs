//! What a run leaves behind: the [`RunRecord`] (every attempt of every node) and the
//! [`Event`]s sent while it runs.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

/// What happened to a node, as an [`Event`] says it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind<Id> {
    /// Every dependency succeeded: the node waits for a worker (and its group).
    Queued,
    /// An attempt started.
    Started {
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// The attempt succeeded; the node is done.
    Succeeded {
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// The attempt failed (or timed out) and no retry is left.
    Failed {
        /// The last attempt.
        attempt: u32,
        /// Why.
        error: String,
    },
    /// The attempt failed (or timed out); another starts after `delay`.
    Retrying {
        /// The attempt that failed.
        attempt: u32,
        /// Why it failed.
        error: String,
        /// Wait before the next attempt.
        delay: Duration,
    },
    /// Not run because a dependency failed.
    Skipped {
        /// The failed node that caused the skip.
        because: Id,
    },
    /// Not run, or stopped, because the run was cancelled (or failed fast).
    Cancelled,
    /// Not run: its inputs, command and environment hash as at its last success.
    UpToDate,
}

/// One state change of one node, in the order the executor saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<Id> {
    /// The node.
    pub node: Id,
    /// What happened.
    pub kind: EventKind<Id>,
    /// Nodes running when the event was sent (after a `Started`, including it).
    pub running: usize,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The job returned `Ok` before its deadline.
    Succeeded,
    /// The job returned an error.
    Failed,
    /// The deadline passed: a failure, retried like one.
    TimedOut,
    /// The run was cancelled while the attempt ran.
    Cancelled,
}

/// One attempt of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first.
    pub number: u32,
    /// When it started.
    pub started: Timestamp,
    /// When it ended.
    pub ended: Timestamp,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The failure message, when it did not succeed.
    pub error: Option<String>,
    /// The last bytes of what the job logged.
    pub output_tail: String,
}

/// How a node ended in the run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOutcome<Id> {
    /// An attempt succeeded.
    Succeeded,
    /// Every allowed attempt failed.
    Failed,
    /// Not run: the named dependency (direct or not) failed.
    Skipped {
        /// The failed node.
        because: Id,
    },
    /// Not run or stopped: the run was cancelled or failed fast.
    Cancelled,
    /// Not run: its inputs had not changed since its last success.
    UpToDate,
}

impl<Id> TaskOutcome<Id> {
    /// The outcome's name in data and reports: `succeeded`, `failed`, `skipped`,
    /// `cancelled` or `up_to_date` (a workflow's `last_run.steps`, `ssot run --json`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            TaskOutcome::Succeeded => "succeeded",
            TaskOutcome::Failed => "failed",
            TaskOutcome::Skipped { .. } => "skipped",
            TaskOutcome::Cancelled => "cancelled",
            TaskOutcome::UpToDate => "up_to_date",
        }
    }
}

/// Every attempt of one node and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord<Id> {
    /// How it ended.
    pub outcome: TaskOutcome<Id>,
    /// Its attempts, first first (empty when it never started).
    pub attempts: Vec<Attempt>,
}

/// The record of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord<Id: Ord> {
    /// The run's id (a timestamp and a counter; unique within a process).
    pub run_id: String,
    /// When the run started.
    pub started: Timestamp,
    /// When the last node ended.
    pub ended: Timestamp,
    /// Whether the run was cancelled.
    pub cancelled: bool,
    /// Per node, sorted by id.
    pub tasks: BTreeMap<Id, TaskRecord<Id>>,
}

impl<Id: Ord> RunRecord<Id> {
    /// Whether every node succeeded (or was up to date).
    #[must_use]
    pub fn succeeded(&self) -> bool {
        !self.cancelled
            && self
                .tasks
                .values()
                .all(|t| matches!(t.outcome, TaskOutcome::Succeeded | TaskOutcome::UpToDate))
    }

    /// The nodes that ended with `outcome`'s variant, sorted.
    pub fn with_outcome<'a>(
        &'a self,
        pred: impl Fn(&TaskOutcome<Id>) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Id> + 'a {
        self.tasks
            .iter()
            .filter(move |(_, t)| pred(&t.outcome))
            .map(|(id, _)| id)
    }
}
