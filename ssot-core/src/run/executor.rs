//! [`Executor`] and its builder: the worker pool and the scheduling loop.
//!
//! # Design
//!
//! The calling thread is the coordinator; `workers` scoped threads take attempts from
//! one channel and send results back on another. The coordinator sends an attempt only
//! when a worker is free (it counts attempts in flight), so an attempt never waits in
//! the channel behind a slow one, and a freed worker gets the next ready node at once:
//! there are no waves.
//!
//! Readiness comes from [`ssot_graph::DepGraph`]: a node is marked `Running` when it
//! starts and `Done` when it succeeds; after a success the coordinator asks the graph
//! which direct dependents became [`is_ready`](ssot_graph::DepGraph::is_ready), and a
//! failure's transitive [`dependents`](ssot_graph::DepGraph::dependents) are skipped.
//! The coordinator keeps its own min-heaps of ready nodes by rank (one per concurrency
//! group, one for nodes without a group) so that the next node is found in O(log n)
//! and a node whose group is full does not hold back a node of another group.
//!
//! Retries wait in a heap of due times instead of on a worker, so a backing-off node
//! does not occupy one. `fail_fast` stops new starts and lets running attempts finish
//! (as `make` does); cancellation also tells running attempts to stop through their
//! [`CancelToken`].

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ssot_graph::State;

use crate::error::Error;
use crate::run::context::{CancelToken, Job, JobError, RunContext};
use crate::run::incremental::{HashStore, Inputs};
use crate::run::journal::{self, Journal};
use crate::run::plan::{Plan, TaskOptions};
use crate::run::record::{
    Attempt, AttemptOutcome, Event, EventKind, RunRecord, TaskOutcome, TaskRecord,
};
use crate::run::retry::RetryPolicy;
use crate::task::{Task, TaskId};

/// What the executor does when a node fails after its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Skip the failed node's transitive dependents; independent branches go on.
    #[default]
    KeepGoing,
    /// Also start nothing new; running attempts finish; nodes not started end
    /// cancelled.
    FailFast,
}

/// Builds an [`Executor`].
#[derive(Debug, Clone)]
pub struct ExecutorBuilder {
    workers: usize,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    failure: FailurePolicy,
    groups: BTreeMap<String, usize>,
    output_limit: usize,
    journal_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
}

impl Default for ExecutorBuilder {
    fn default() -> Self {
        ExecutorBuilder {
            workers: thread::available_parallelism().map_or(1, usize::from),
            timeout: None,
            retry: RetryPolicy::None,
            failure: FailurePolicy::KeepGoing,
            groups: BTreeMap::new(),
            output_limit: 16 * 1024,
            journal_dir: None,
            state_dir: None,
        }
    }
}

impl ExecutorBuilder {
    /// Worker threads (at least 1; default: the available parallelism).
    #[must_use]
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Time limit of each attempt, unless a node's options say otherwise (default:
    /// none).
    #[must_use]
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Retry policy, unless a node's options say otherwise (default: none).
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// What a failure does to the rest of the run (default: keep going).
    #[must_use]
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure = policy;
        self
    }

    /// Shorthand for `failure_policy(FailurePolicy::FailFast)`.
    #[must_use]
    pub fn fail_fast(self) -> Self {
        self.failure_policy(FailurePolicy::FailFast)
    }

    /// A named concurrency group: at most `limit` of its nodes run at once (1 makes
    /// it a mutex; 0 is taken as 1).
    #[must_use]
    pub fn group(mut self, name: impl Into<String>, limit: usize) -> Self {
        self.groups.insert(name.into(), limit.max(1));
        self
    }

    /// Bytes of each attempt's output kept in the record (its tail; default 16 KiB).
    #[must_use]
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Keep a run journal (one file per run) in `dir`, so that a killed run can be
    /// [resumed](Executor::resume). See the `journal` module docs for the format and
    /// the fsync policy (successes and process groups are synced).
    #[must_use]
    pub fn journal_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.journal_dir = Some(dir.into());
        self
    }

    /// Where the hashes of successful runs of nodes with [`Inputs`] are kept; without
    /// it, nodes always run. See the `incremental` module docs.
    #[must_use]
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The executor.
    #[must_use]
    pub fn build(self) -> Executor {
        Executor { cfg: self }
    }
}

/// Runs a [`Plan`] on a pool of threads, in dependency and preference order, with
/// timeouts, retries and concurrency groups, and records every attempt.
///
/// ```
/// use ssot_core::run::{Executor, JobError, Plan, RunContext};
/// use ssot_graph::DepGraph;
///
/// let graph = DepGraph::from_tasks([("test", vec!["build"]), ("build", vec![])])?;
/// let executor = Executor::builder().workers(2).build();
/// let record = executor.run(&Plan::new(graph), &|id: &&str, ctx: &RunContext| {
///     ctx.log(&format!("ran {id}"));
///     Ok::<(), JobError>(())
/// })?;
/// assert!(record.succeeded());
/// assert_eq!(record.tasks["test"].attempts[0].output_tail, "ran test");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Executor {
    cfg: ExecutorBuilder,
}

/// What [`Executor::dry_run`] says about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DryRun {
    /// It would run, for this reason.
    Runs(String),
    /// It would be skipped as up to date.
    UpToDate,
}

/// What [`Executor::resume`] found in the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResumeReport {
    /// Nodes recorded as succeeded: not run again.
    pub already_succeeded: Vec<String>,
    /// Process groups the killed run left: (node, process group id, whether it was
    /// still running and was killed now).
    pub left_running: Vec<(String, i32, bool)>,
}

/// Kills process group `pgid` if any of it still runs; whether it did.
#[cfg(unix)]
fn kill_group(pgid: i32) -> bool {
    match rustix::process::Pid::from_raw(pgid) {
        Some(p) => rustix::process::kill_process_group(p, rustix::process::Signal::KILL).is_ok(),
        None => false,
    }
}

#[cfg(not(unix))]
fn kill_group(_pgid: i32) -> bool {
    false
}

/// One attempt handed to a worker.
struct Work {
    slot: usize,
    attempt: u32,
    timeout: Option<Duration>,
    /// No dependency ran in this run: the node may be up to date.
    may_skip: bool,
}

/// A worker's answer.
struct Done {
    slot: usize,
    /// `None`: skipped as up to date.
    attempt: Option<Attempt>,
}

static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_run_id(now: Timestamp) -> String {
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", now.as_millisecond(), std::process::id())
}

/// Per-node scheduling state.
struct NodeRun {
    group: Option<usize>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    rank: usize,
    salt: u64,
    outcome: Option<TaskOutcome<usize>>,
    attempts: Vec<Attempt>,
}

impl Executor {
    /// A builder with the defaults.
    #[must_use]
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// Runs `plan`, calling `job` for each node, and returns the record.
    ///
    /// # Errors
    ///
    /// See [`run_with`](Self::run_with).
    pub fn run<Id, J>(&self, plan: &Plan<Id>, job: &J) -> Result<RunRecord<Id>, Error>
    where
        Id: Clone + Eq + Hash + Ord + fmt::Display + Send + Sync,
        J: Job<Id> + ?Sized,
    {
        self.run_with(plan, job, &CancelToken::new(), None)
    }

    /// Runs tasks by their dependencies, in [`TaskQueue`](crate::TaskQueue) order
    /// among ready ones, calling `job` with each task; `options` gives per-task
    /// overrides. Tasks not to do (done, cancelled, ...) are not run; see
    /// [`Plan::from_tasks`].
    ///
    /// # Errors
    ///
    /// As [`Plan::from_tasks`] and [`run_with`](Self::run_with).
    pub fn run_tasks<J>(
        &self,
        tasks: &[Task],
        options: impl Fn(&Task) -> TaskOptions,
        job: &J,
        cancel: &CancelToken,
        events: Option<&Sender<Event<TaskId>>>,
    ) -> Result<RunRecord<TaskId>, Error>
    where
        J: Job<Task> + ?Sized,
    {
        let mut plan = Plan::from_tasks(tasks)?;
        let mut by_id: HashMap<&TaskId, &Task> = HashMap::with_capacity(tasks.len());
        for t in tasks {
            plan.set_options(t.id.clone(), options(t))?;
            by_id.insert(&t.id, t);
        }
        let by_id = &by_id;
        let each = move |id: &TaskId, ctx: &RunContext| match by_id.get(id) {
            Some(task) => job.run(task, ctx),
            // The plan was built from exactly these tasks.
            None => Err(JobError::new(format!("task `{id}` is not in the list"))),
        };
        self.run_with(&plan, &each, cancel, events)
    }

    /// Runs `plan`, calling `job` for each node, sending [`Event`]s to `events` (if
    /// given) as they happen, and stopping when `cancel` is cancelled: nothing new
    /// starts, running attempts see the token, and nodes not finished end
    /// [`Cancelled`](TaskOutcome::Cancelled). Blocks until the run ends.
    ///
    /// Cost per node: O(log V) for the heaps plus the graph's updates (O(degree) on
    /// success, O(dependents) on failure) and two channel messages.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`] when a node's group is not defined on the builder;
    /// [`Error::Spawn`] when a worker thread cannot be started. Job failures are
    /// not errors: they are in the record.
    pub fn run_with<Id, J>(
        &self,
        plan: &Plan<Id>,
        job: &J,
        cancel: &CancelToken,
        events: Option<&Sender<Event<Id>>>,
    ) -> Result<RunRecord<Id>, Error>
    where
        Id: Clone + Eq + Hash + Ord + fmt::Display + Send + Sync,
        J: Job<Id> + ?Sized,
    {
        self.run_inner(plan, job, cancel, events, None)
    }

    /// Finishes run `run_id` from its journal (in the builder's
    /// [`journal_dir`](ExecutorBuilder::journal_dir)) after its process was killed:
    /// process groups it left running are killed (SIGKILL to the group) and
    /// reported; nodes the journal records as succeeded are not run again (they
    /// count as done for their dependents and are left out of the record); the rest
    /// of `plan` runs, appending to the same journal. `plan` must be the plan the run
    /// was started with (nodes are matched by their `Display` text).
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchRun`] without a journal directory or journal file,
    /// [`Error::Journal`] when it cannot be read, and as
    /// [`run_with`](Self::run_with).
    pub fn resume<Id, J>(
        &self,
        run_id: &str,
        plan: &Plan<Id>,
        job: &J,
        cancel: &CancelToken,
        events: Option<&Sender<Event<Id>>>,
    ) -> Result<(ResumeReport, RunRecord<Id>), Error>
    where
        Id: Clone + Eq + Hash + Ord + fmt::Display + Send + Sync,
        J: Job<Id> + ?Sized,
    {
        let no_run = |dir: PathBuf| Error::NoSuchRun {
            run_id: run_id.to_owned(),
            dir,
        };
        let dir = self
            .cfg
            .journal_dir
            .clone()
            .ok_or_else(|| no_run(PathBuf::new()))?;
        if !Journal::path_of(&dir, run_id).exists() {
            return Err(no_run(dir));
        }
        let state = journal::read(&dir, run_id)?;
        let mut report = ResumeReport::default();
        for (&pgid, node) in &state.open_groups {
            report
                .left_running
                .push((node.clone(), pgid, kill_group(pgid)));
        }
        let mut plan = plan.clone();
        let done: Vec<Id> = plan
            .graph
            .nodes()
            .filter(|id| state.succeeded.contains(&id.to_string()))
            .cloned()
            .collect();
        for id in &done {
            // `id` came from the graph.
            let _ = plan.graph.mark_done(id);
            report.already_succeeded.push(id.to_string());
        }
        let record = self.run_inner(&plan, job, cancel, events, Some(run_id.to_owned()))?;
        Ok((report, record))
    }

    /// What [`run`](Self::run) would do with `plan` now, without running anything: per
    /// node in the run (pending), in dependency order, whether it would run and why.
    /// Nodes after a node that would run would run too (their inputs may change).
    ///
    /// Cost: O(V + E) plus hashing the inputs of nodes that declare them.
    #[must_use]
    pub fn dry_run<Id>(&self, plan: &Plan<Id>) -> Vec<(Id, DryRun)>
    where
        Id: Clone + Eq + Hash + Ord + fmt::Display,
    {
        let store = self.cfg.state_dir.clone().map(HashStore::new);
        let mut runs: HashMap<Id, bool> = HashMap::new();
        let mut out = Vec::new();
        for id in plan.graph.topo_order() {
            if plan.graph.state(id) != Some(State::Pending) {
                continue;
            }
            let upstream = plan.graph.direct_dependencies(id).ok().and_then(|deps| {
                deps.into_iter()
                    .find(|d| runs.get(*d).copied().unwrap_or(false))
                    .cloned()
            });
            let inputs = plan.options.get(id).and_then(|o| o.inputs.as_ref());
            let verdict = match (&store, inputs, upstream) {
                (None, _, _) => DryRun::Runs("no state directory: every node runs".into()),
                (_, None, _) => DryRun::Runs("declares no inputs".into()),
                (_, _, Some(dep)) => DryRun::Runs(format!("dependency `{dep}` runs")),
                (Some(store), Some(inp), None) => match inp.fingerprint() {
                    Err(e) => DryRun::Runs(format!("cannot hash its inputs: {e}")),
                    Ok(_) if !inp.outputs_exist() => DryRun::Runs("an output is missing".into()),
                    Ok(h) => match store.get(&id.to_string()) {
                        None => DryRun::Runs("no successful run recorded".into()),
                        Some(old) if old == h => DryRun::UpToDate,
                        Some(_) => DryRun::Runs("inputs, command or environment changed".into()),
                    },
                },
            };
            runs.insert(id.clone(), verdict != DryRun::UpToDate);
            out.push((id.clone(), verdict));
        }
        out
    }

    fn run_inner<Id, J>(
        &self,
        plan: &Plan<Id>,
        job: &J,
        cancel: &CancelToken,
        events: Option<&Sender<Event<Id>>>,
        run_id: Option<String>,
    ) -> Result<RunRecord<Id>, Error>
    where
        Id: Clone + Eq + Hash + Ord + fmt::Display + Send + Sync,
        J: Job<Id> + ?Sized,
    {
        let started = Timestamp::now();
        let run_id = run_id.unwrap_or_else(|| new_run_id(started));
        let journal = match &self.cfg.journal_dir {
            Some(dir) => Some(Arc::new(Journal::open(dir, &run_id)?)),
            None => None,
        };
        let journal_err: RefCell<Option<Error>> = RefCell::new(None);
        let group_names: Vec<&String> = self.cfg.groups.keys().collect();
        let limits: Vec<usize> = self.cfg.groups.values().copied().collect();

        let mut graph = plan.graph.clone();
        let ids: Vec<Id> = graph.nodes().cloned().collect();
        let slot_of: HashMap<&Id, usize> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
        let default_opts = TaskOptions::default();
        let mut nodes: Vec<NodeRun> = Vec::with_capacity(ids.len());
        for id in &ids {
            let o = plan.options.get(id).unwrap_or(&default_opts);
            let group = match &o.group {
                None => None,
                Some(g) => Some(group_names.iter().position(|n| *n == g).ok_or_else(|| {
                    Error::UnknownGroup {
                        id: id.to_string(),
                        group: g.clone(),
                    }
                })?),
            };
            let mut h = DefaultHasher::new();
            id.hash(&mut h);
            nodes.push(NodeRun {
                group,
                retry: o.retry.unwrap_or(self.cfg.retry),
                timeout: o.timeout.or(self.cfg.timeout),
                rank: plan.rank.get(id).copied().unwrap_or(usize::MAX),
                salt: h.finish(),
                outcome: None,
                attempts: Vec::new(),
            });
        }
        let inputs: Vec<Option<Inputs>> = ids
            .iter()
            .map(|id| plan.options.get(id).and_then(|o| o.inputs.clone()))
            .collect();
        let store = self.cfg.state_dir.clone().map(HashStore::new);
        let mut ran = vec![false; ids.len()];
        // Nodes that are not pending are not part of the run.
        let in_run: Vec<bool> = ids
            .iter()
            .map(|id| graph.state(id) == Some(State::Pending))
            .collect();

        let send = |e: Event<Id>| {
            if let Some(j) = &journal {
                let (name, attempt, durable) = match &e.kind {
                    EventKind::Queued => ("queued", None, false),
                    EventKind::Started { attempt } => ("started", Some(*attempt), false),
                    EventKind::Succeeded { attempt } => ("succeeded", Some(*attempt), true),
                    EventKind::Failed { attempt, .. } => ("failed", Some(*attempt), false),
                    EventKind::Retrying { attempt, .. } => ("retrying", Some(*attempt), false),
                    EventKind::Skipped { .. } => ("skipped", None, false),
                    EventKind::Cancelled => ("cancelled", None, false),
                    EventKind::UpToDate => ("up_to_date", None, true),
                };
                if let Err(err) = j.append(&e.node.to_string(), name, attempt, None, durable) {
                    journal_err.borrow_mut().get_or_insert(err);
                }
            }
            if let Some(tx) = events {
                // A caller that dropped its receiver no longer wants events.
                let _ = tx.send(e);
            }
        };

        let (work_tx, work_rx) = mpsc::channel::<Work>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let work_rx = Mutex::new(work_rx);
        let workers = self.cfg.workers.min(ids.len().max(1));
        let output_limit = self.cfg.output_limit;

        thread::scope(|scope| -> Result<RunRecord<Id>, Error> {
            for w in 0..workers {
                let work_rx = &work_rx;
                let done_tx = done_tx.clone();
                let ids = &ids;
                let journal = journal.clone();
                let (inputs, store) = (&inputs, store.as_ref());
                thread::Builder::new()
                    .name(format!("ssot-run-{w}"))
                    .spawn_scoped(scope, move || {
                        let shared = Shared {
                            ids,
                            job,
                            cancel,
                            output_limit,
                            journal: journal.as_ref(),
                            inputs,
                            store,
                        };
                        worker(work_rx, &done_tx, &shared);
                    })
                    .map_err(Error::Spawn)?;
            }
            drop(done_tx);

            let mut sched = Sched {
                ready: vec![BinaryHeap::new(); limits.len() + 1],
                running_in: vec![0; limits.len()],
                limits,
                delayed: BinaryHeap::new(),
                in_flight: 0,
                workers,
            };
            for (i, id) in ids.iter().enumerate() {
                if in_run[i] && graph.is_ready(id) {
                    sched.push_ready(&nodes[i], i);
                    send(Event {
                        node: id.clone(),
                        kind: EventKind::Queued,
                        running: 0,
                    });
                }
            }
            let mut stopping = false;
            let mut cancelled = false;
            loop {
                // A journal that cannot be written makes resume unsafe: stop.
                if journal_err.borrow().is_some() {
                    stopping = true;
                }
                if !cancelled && cancel.is_cancelled() {
                    cancelled = true;
                    stopping = true;
                }
                // Due retries rejoin the ready heaps.
                let now = Instant::now();
                while let Some(&Reverse((due, i, _))) = sched.delayed.peek() {
                    if due > now && !stopping {
                        break;
                    }
                    sched.delayed.pop();
                    if stopping {
                        nodes[i].outcome = Some(TaskOutcome::Cancelled);
                        let _ = graph.set_state(&ids[i], State::Cancelled);
                        send(Event {
                            node: ids[i].clone(),
                            kind: EventKind::Cancelled,
                            running: sched.in_flight,
                        });
                    } else {
                        sched.push_ready(&nodes[i], i);
                    }
                }
                while !stopping && sched.in_flight < sched.workers {
                    let Some(i) = sched.pop_next() else { break };
                    let attempt = nodes[i].attempts.len() as u32 + 1;
                    // The node is in the graph (ids came from it).
                    let _ = graph.set_state(&ids[i], State::Running);
                    sched.start(&nodes[i]);
                    send(Event {
                        node: ids[i].clone(),
                        kind: EventKind::Started { attempt },
                        running: sched.in_flight,
                    });
                    let may_skip = store.is_some()
                        && inputs[i].is_some()
                        && graph
                            .direct_dependencies(&ids[i])
                            .is_ok_and(|deps| deps.iter().all(|d| !ran[slot_of[*d]]));
                    if work_tx
                        .send(Work {
                            slot: i,
                            attempt,
                            timeout: nodes[i].timeout,
                            may_skip,
                        })
                        .is_err()
                    {
                        // Every worker is gone: only if one panicked outside a job,
                        // which `worker` prevents; stop rather than wait forever.
                        stopping = true;
                    }
                }
                if sched.in_flight == 0
                    && (stopping || (sched.delayed.is_empty() && sched.ready_empty()))
                {
                    break;
                }
                // Wake for a result, a due retry, or to look at the cancel token.
                let mut wait = Duration::from_millis(20);
                if let Some(&Reverse((due, _, _))) = sched.delayed.peek() {
                    wait = wait.min(due.saturating_duration_since(Instant::now()));
                }
                let done = match done_rx.recv_timeout(wait) {
                    Ok(d) => d,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                let i = done.slot;
                sched.finish(&nodes[i]);
                let Some(attempt) = done.attempt else {
                    nodes[i].outcome = Some(TaskOutcome::UpToDate);
                    let id = &ids[i];
                    let _ = graph.mark_done(id);
                    send(Event {
                        node: id.clone(),
                        kind: EventKind::UpToDate,
                        running: sched.in_flight,
                    });
                    let next: Vec<Id> = graph
                        .direct_dependents(id)
                        .map(|v| v.into_iter().cloned().collect())
                        .unwrap_or_default();
                    for d in next {
                        let j = slot_of[&d];
                        if in_run[j] && nodes[j].outcome.is_none() && graph.is_ready(&d) {
                            sched.push_ready(&nodes[j], j);
                            send(Event {
                                node: d,
                                kind: EventKind::Queued,
                                running: sched.in_flight,
                            });
                        }
                    }
                    continue;
                };
                let done_attempt = attempt;
                let outcome = done_attempt.outcome;
                let error = done_attempt.error.clone().unwrap_or_default();
                let number = done_attempt.number;
                nodes[i].attempts.push(done_attempt);
                let id = &ids[i];
                match outcome {
                    AttemptOutcome::Succeeded => {
                        nodes[i].outcome = Some(TaskOutcome::Succeeded);
                        ran[i] = true;
                        let _ = graph.mark_done(id);
                        send(Event {
                            node: id.clone(),
                            kind: EventKind::Succeeded { attempt: number },
                            running: sched.in_flight,
                        });
                        let next: Vec<Id> = graph
                            .direct_dependents(id)
                            .map(|v| v.into_iter().cloned().collect())
                            .unwrap_or_default();
                        for d in next {
                            let j = slot_of[&d];
                            if in_run[j] && nodes[j].outcome.is_none() && graph.is_ready(&d) {
                                sched.push_ready(&nodes[j], j);
                                send(Event {
                                    node: d,
                                    kind: EventKind::Queued,
                                    running: sched.in_flight,
                                });
                            }
                        }
                    }
                    AttemptOutcome::Cancelled => {
                        nodes[i].outcome = Some(TaskOutcome::Cancelled);
                        let _ = graph.set_state(id, State::Cancelled);
                        send(Event {
                            node: id.clone(),
                            kind: EventKind::Cancelled,
                            running: sched.in_flight,
                        });
                    }
                    AttemptOutcome::Failed | AttemptOutcome::TimedOut => {
                        let policy = nodes[i].retry;
                        if number <= policy.max_retries() && !stopping && !cancel.is_cancelled() {
                            let delay = policy.delay(number, nodes[i].salt);
                            send(Event {
                                node: id.clone(),
                                kind: EventKind::Retrying {
                                    attempt: number,
                                    error,
                                    delay,
                                },
                                running: sched.in_flight,
                            });
                            sched
                                .delayed
                                .push(Reverse((Instant::now() + delay, i, number)));
                            continue;
                        }
                        nodes[i].outcome = Some(TaskOutcome::Failed);
                        let _ = graph.set_state(id, State::Failed);
                        send(Event {
                            node: id.clone(),
                            kind: EventKind::Failed {
                                attempt: number,
                                error,
                            },
                            running: sched.in_flight,
                        });
                        let below: Vec<Id> = graph
                            .dependents(id)
                            .map(|v| v.into_iter().cloned().collect())
                            .unwrap_or_default();
                        for d in below {
                            let j = slot_of[&d];
                            if in_run[j] && nodes[j].outcome.is_none() {
                                nodes[j].outcome = Some(TaskOutcome::Skipped { because: i });
                                let _ = graph.set_state(&d, State::Cancelled);
                                send(Event {
                                    node: d,
                                    kind: EventKind::Skipped {
                                        because: id.clone(),
                                    },
                                    running: sched.in_flight,
                                });
                            }
                        }
                        if self.cfg.failure == FailurePolicy::FailFast {
                            stopping = true;
                        }
                    }
                }
            }
            drop(work_tx);

            // Whatever did not end: cancelled by the run, or held by a node that was
            // not part of the run (failed, on hold, ... before it started).
            let mut tasks = BTreeMap::new();
            for (i, node) in nodes.into_iter().enumerate() {
                if !in_run[i] {
                    continue;
                }
                let outcome = match node.outcome {
                    Some(TaskOutcome::Skipped { because }) => TaskOutcome::Skipped {
                        because: ids[because].clone(),
                    },
                    Some(TaskOutcome::Succeeded) => TaskOutcome::Succeeded,
                    Some(TaskOutcome::Failed) => TaskOutcome::Failed,
                    Some(TaskOutcome::UpToDate) => TaskOutcome::UpToDate,
                    Some(_) => TaskOutcome::Cancelled,
                    None if stopping => {
                        send(Event {
                            node: ids[i].clone(),
                            kind: EventKind::Cancelled,
                            running: 0,
                        });
                        TaskOutcome::Cancelled
                    }
                    None => {
                        let because = graph
                            .blockers(&ids[i])
                            .ok()
                            .and_then(|b| b.first().map(|x| (*x).clone()));
                        match because {
                            Some(because) => {
                                send(Event {
                                    node: ids[i].clone(),
                                    kind: EventKind::Skipped {
                                        because: because.clone(),
                                    },
                                    running: 0,
                                });
                                TaskOutcome::Skipped { because }
                            }
                            None => TaskOutcome::Cancelled,
                        }
                    }
                };
                tasks.insert(
                    ids[i].clone(),
                    TaskRecord {
                        outcome,
                        attempts: node.attempts,
                    },
                );
            }
            Ok(RunRecord {
                run_id,
                started,
                ended: Timestamp::now(),
                cancelled,
                tasks,
            })
        })
    }
}

/// The ready heaps, the retry heap and the counts the limits apply to.
struct Sched {
    /// One heap per group, the last for nodes without one; min-heaps of (rank, slot).
    ready: Vec<BinaryHeap<Reverse<(usize, usize)>>>,
    running_in: Vec<usize>,
    limits: Vec<usize>,
    delayed: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    in_flight: usize,
    workers: usize,
}

impl Sched {
    fn heap_of(&self, node: &NodeRun) -> usize {
        node.group.unwrap_or(self.limits.len())
    }

    fn push_ready(&mut self, node: &NodeRun, slot: usize) {
        let h = self.heap_of(node);
        self.ready[h].push(Reverse((node.rank, slot)));
    }

    fn ready_empty(&self) -> bool {
        self.ready.iter().all(BinaryHeap::is_empty)
    }

    /// The best-ranked ready node whose group has room. O(groups + log n).
    fn pop_next(&mut self) -> Option<usize> {
        let mut best: Option<((usize, usize), usize)> = None;
        for (h, heap) in self.ready.iter().enumerate() {
            if h < self.limits.len() && self.running_in[h] >= self.limits[h] {
                continue;
            }
            if let Some(&Reverse(key)) = heap.peek()
                && best.is_none_or(|(b, _)| key < b)
            {
                best = Some((key, h));
            }
        }
        let (_, h) = best?;
        self.ready[h].pop().map(|Reverse((_, slot))| slot)
    }

    fn start(&mut self, node: &NodeRun) {
        self.in_flight += 1;
        if let Some(g) = node.group {
            self.running_in[g] += 1;
        }
    }

    fn finish(&mut self, node: &NodeRun) {
        self.in_flight -= 1;
        if let Some(g) = node.group {
            self.running_in[g] -= 1;
        }
    }
}

/// What every worker shares for one run.
struct Shared<'a, Id, J: ?Sized> {
    ids: &'a [Id],
    job: &'a J,
    cancel: &'a CancelToken,
    output_limit: usize,
    journal: Option<&'a Arc<Journal>>,
    inputs: &'a [Option<Inputs>],
    store: Option<&'a HashStore>,
}

fn worker<Id, J>(work: &Mutex<Receiver<Work>>, done: &Sender<Done>, sh: &Shared<'_, Id, J>)
where
    Id: fmt::Display,
    J: Job<Id> + ?Sized,
{
    let Shared {
        ids,
        job,
        cancel,
        output_limit,
        journal,
        inputs,
        store,
    } = *sh;
    loop {
        let next = work.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(Work {
            slot,
            attempt,
            timeout,
            may_skip,
        }) = next
        else {
            return;
        };
        let name = ids[slot].to_string();
        // The fingerprint before the job runs: what a success is recorded against.
        let fingerprint = match (store, &inputs[slot]) {
            (Some(_), Some(inp)) => Some(inp.fingerprint()),
            _ => None,
        };
        if let (Some(store), Some(Ok(hash)), Some(inp)) = (store, &fingerprint, &inputs[slot])
            && may_skip
            && attempt == 1
            && inp.outputs_exist()
            && store.get(&name) == Some(*hash)
        {
            if done
                .send(Done {
                    slot,
                    attempt: None,
                })
                .is_err()
            {
                return;
            }
            continue;
        }
        let ctx = RunContext::new(attempt, cancel.clone(), timeout, output_limit)
            .with_journal(journal.map(|j| (Arc::clone(j), ids[slot].to_string())));
        let started = Timestamp::now();
        let result = match &fingerprint {
            Some(Err(e)) => Err(e.clone()),
            _ => catch_unwind(AssertUnwindSafe(|| job.run(&ids[slot], &ctx)))
                .unwrap_or_else(|_| Err(JobError::new(format!("the job for `{name}` panicked")))),
        };
        let ended = Timestamp::now();
        let (outcome, error) = if ctx.timed_out() {
            let limit = timeout.unwrap_or_default();
            (
                AttemptOutcome::TimedOut,
                Some(format!(
                    "timed out after {limit:?}; raise the node's timeout or make the job faster"
                )),
            )
        } else {
            match result {
                Ok(()) => (AttemptOutcome::Succeeded, None),
                Err(e) if cancel.is_cancelled() => (AttemptOutcome::Cancelled, Some(e.to_string())),
                Err(e) => (AttemptOutcome::Failed, Some(e.to_string())),
            }
        };
        if let (Some(store), Some(Ok(hash))) = (store, &fingerprint) {
            if outcome == AttemptOutcome::Succeeded {
                if let Err(e) = store.record_success(&name, *hash) {
                    ctx.log(&format!("{e}\n"));
                }
            } else {
                store.forget(&name);
            }
        }
        let attempt = Attempt {
            number: attempt,
            started,
            ended,
            outcome,
            error,
            output_tail: ctx.into_output(),
        };
        if done
            .send(Done {
                slot,
                attempt: Some(attempt),
            })
            .is_err()
        {
            return;
        }
    }
}
