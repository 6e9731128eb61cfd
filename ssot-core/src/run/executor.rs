//! [`Executor`] and its builder: the worker pool and the scheduling loop.
//!
//! # Design
//!
//! `workers` threads (the calling thread is one of them) share one mutex-guarded
//! state: sets of ready nodes by rank (one per concurrency group, one for nodes
//! without a group; hierarchical bitsets over the plan's dense ranks, O(log64 V) per
//! insert, remove or minimum), a heap of retries waiting for their due time, and per
//! node the count of dependencies not yet done. A worker pops the best-ranked ready node whose
//! group has room, runs its attempt without the lock, then books the result itself:
//! a success decrements its dependents' counts and pushes those that reach zero, so
//! a freed worker takes the next ready node at once (no waves, no coordinator round
//! trip). A worker sleeps on a condition variable only when nothing can start, and
//! is woken when something can (or every 20 ms, to look at the cancel token and due
//! retries). Per attempt: one lock hold (booking the attempt and taking the next
//! node), O(log64 V) set work, O(degree) on success, O(transitive dependents) on
//! failure. Every event is sent under the lock,
//! so the event stream is in the order the state changed.
//!
//! The counts come from the plan's index arrays (see the `plan` module: its
//! [`ssot_graph::DepGraph`]'s dependencies and node states by slot, a `Done` node
//! satisfying its dependents, any state other than `Pending` and `Done` holding
//! them), computed once per plan and shared by its runs, so that neither a run's
//! setup nor a step of it hashes an id. Slots are in id order, so the record's map
//! is built from a sorted sequence in O(V).
//!
//! Per attempt, what is left is the record's content and the lock: two
//! `Timestamp::now()`, the attempt's entry (one allocation for the node's attempt
//! list), the cancel token read (an atomic load) and one lock hold that books the
//! attempt and takes the next node. A worker wakes another only when more can start
//! than it takes itself; nothing is sent or written when no channel or journal listens.
//!
//! A node found up to date gets no attempt: the worker calls the job's
//! [`Job::up_to_date`] instead (no lock held), then books it like a success, so
//! whatever the hook does (the store run writes the task done) is finished before a
//! dependent is released. The check, and so the call, happens only for nodes that
//! declare inputs in a run with a state directory: a run without them does not
//! reach it (nothing added per attempt).
//!
//! Retries wait in the heap of due times instead of on a worker, so a backing-off
//! node does not occupy one. `fail_fast` stops new starts and lets running attempts
//! finish (as `make` does); cancellation also tells running attempts to stop through
//! their [`CancelToken`].
//!
//! With a journal, a success is released (event sent, dependents queued) only once
//! its journal line is on disk. The worker writes the line and goes on; a syncer
//! thread syncs every line written since its last sync with one `fdatasync` (group
//! commit) and then releases that batch. So a journaled run pays about one
//! `fdatasync` per batch, not per node, and a node's `Succeeded` event may come
//! after its worker has started another node (the event's `running` counts jobs
//! running, so it can be lower than the `Started` events not yet followed by an
//! ending event).

use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ssot_graph::State;

use crate::error::Error;
use crate::run::context::{CancelToken, Job, JobError, RunContext};
use crate::run::incremental::{HashStore, Inputs};
use crate::run::journal::{self, Journal};
use crate::run::plan::{Plan, TaskOptions, Topo};
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

static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_run_id(now: Timestamp) -> String {
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", now.as_millisecond(), std::process::id())
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
    /// among ready ones, calling `job` with each task. Each task's settings come,
    /// field by field, from `options` (what it sets), else from the task's own
    /// fields (`timeout`, `retries`, `retry_policy`, `concurrency_group`, ...: see
    /// [`TaskOptions::from_task_fields`]), else from the executor's defaults.
    /// Tasks not to do (done, cancelled, ...) are not run; see
    /// [`Plan::from_tasks`].
    ///
    /// # Errors
    ///
    /// As [`Plan::from_tasks`] and [`run_with`](Self::run_with);
    /// [`Error::TaskField`] when a task's setting field does not parse (nothing
    /// runs then).
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
            let fields = TaskOptions::from_task_fields(t, self.cfg.retry)?;
            plan.set_options(t.id.clone(), options(t).or(fields))?;
            by_id.insert(&t.id, t);
        }
        let each = ByTask { by_id: &by_id, job };
        self.run_with(&plan, &each, cancel, events)
    }

    /// Runs `plan`, calling `job` for each node, sending [`Event`]s to `events` (if
    /// given) as they happen, and stopping when `cancel` is cancelled: nothing new
    /// starts, running attempts see the token, and nodes not finished end
    /// [`Cancelled`](TaskOutcome::Cancelled). Blocks until the run ends.
    ///
    /// Cost per node: O(log64 V) for the ready sets, O(degree) on success, O(transitive
    /// dependents) on failure, one lock hold; plus O(V) array copies to set up the
    /// run (and, on a plan's first run unless [`Plan::prepare`] ran, O((V + E) +
    /// V log V) to compute its index) and O(V) to build the record.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`] when a node's group is not defined on the builder;
    /// [`Error::Spawn`] when a worker thread cannot be started;
    /// [`Error::Journal`] when the run journal cannot be opened, written or synced
    /// (the run then starts nothing new, lets running attempts finish, and returns
    /// this error instead of the record). Job failures are not errors: they are in
    /// the record.
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
            plan.mark_done(id);
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
        let group_names: Vec<&String> = self.cfg.groups.keys().collect();
        let limits: Vec<usize> = self.cfg.groups.values().copied().collect();

        let compiled = Arc::clone(plan.compiled());
        let ids = &compiled.ids;
        let topo = &compiled.topo;
        let in_run = &compiled.in_run;
        let n = ids.len();
        let default_cfg = NodeCfg {
            group: None,
            retry: self.cfg.retry,
            timeout: self.cfg.timeout,
        };
        // Options by slot: a lookup per node that has options, none for the rest
        // (and no array at all when no node has any).
        let mut cfgs: Vec<NodeCfg> = Vec::new();
        let mut inputs: Vec<Option<Inputs>> = Vec::new();
        for (id, o) in &plan.options {
            let Some(i) = compiled.slot(id) else { continue };
            let group = match &o.group {
                None => None,
                Some(g) => Some(group_names.iter().position(|n| *n == g).ok_or_else(|| {
                    Error::UnknownGroup {
                        id: id.to_string(),
                        group: g.clone(),
                    }
                })?),
            };
            if cfgs.is_empty() {
                cfgs = vec![default_cfg; n];
            }
            cfgs[i] = NodeCfg {
                group,
                retry: o.retry.unwrap_or(self.cfg.retry),
                timeout: o.timeout.or(self.cfg.timeout),
            };
            if let Some(inp) = &o.inputs {
                if inputs.is_empty() {
                    inputs = vec![None; n];
                }
                inputs[i] = Some(inp.clone());
            }
        }
        let store = self.cfg.state_dir.clone().map(HashStore::new);
        let unmet = compiled.unmet.clone();

        let workers = self.cfg.workers.min(n.max(1));
        let ctx = Shared {
            ids,
            cfgs: &cfgs,
            default_cfg,
            rank: &compiled.rank,
            slot_at: &compiled.slot_at,
            topo,
            in_run,
            job,
            cancel,
            events,
            output_limit: self.cfg.output_limit,
            journal: journal.as_ref(),
            inputs: &inputs,
            store: store.as_ref(),
            fail_fast: self.cfg.failure == FailurePolicy::FailFast,
            state: Mutex::new(RunState {
                ready: (0..=limits.len()).map(|_| RankSet::new(n)).collect(),
                running_in: vec![0; limits.len()],
                limits,
                delayed: BinaryHeap::new(),
                in_flight: 0,
                unmet,
                outcome: vec![None; n],
                attempts: (0..n).map(|_| Vec::new()).collect(),
                ran: vec![false; n],
                stopping: false,
                cancelled: false,
                unsynced: Vec::new(),
                syncing: 0,
                idle: 0,
                syncer_idle: false,
                finished: false,
                journal_err: None,
            }),
            wake: Condvar::new(),
            wake_syncer: Condvar::new(),
        };
        {
            let mut st = ctx.lock();
            for (i, _) in in_run.iter().enumerate().filter(|(_, r)| **r) {
                if st.unmet[i] == 0 {
                    ctx.push_ready(&mut st, i);
                }
            }
            ctx.check_finished(&mut st);
        }

        thread::scope(|scope| -> Result<(), Error> {
            let ctx = &ctx;
            let stop = |e: std::io::Error| {
                // The threads already started finish what they hold and stop.
                let mut st = ctx.lock();
                st.stopping = true;
                ctx.check_finished(&mut st);
                ctx.wake.notify_all();
                ctx.wake_syncer.notify_all();
                Error::Spawn(e)
            };
            if journal.is_some() {
                thread::Builder::new()
                    .name("ssot-run-sync".into())
                    .spawn_scoped(scope, move || ctx.syncer())
                    .map_err(stop)?;
            }
            // The calling thread is one of the workers.
            for w in 1..workers {
                thread::Builder::new()
                    .name(format!("ssot-run-{w}"))
                    .spawn_scoped(scope, move || ctx.worker())
                    .map_err(stop)?;
            }
            ctx.worker();
            Ok(())
        })?;

        let Shared { state, .. } = ctx;
        let st = state.into_inner().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = st.journal_err {
            return Err(e);
        }
        let RunState {
            outcome,
            attempts,
            stopping,
            cancelled,
            ..
        } = st;
        // Whatever did not end: cancelled by the run, or held by a node that was not
        // part of the run (failed, on hold, ... before it started).
        let done = |d: usize| {
            compiled.done[d] || matches!(outcome[d], Some(Outcome::Succeeded | Outcome::UpToDate))
        };
        let send = |e: Event<Id>| {
            if let Some(tx) = events {
                let _ = tx.send(e);
            }
        };
        // Slots are in id order: the map is built from a sorted sequence, in O(V),
        // instead of by V inserts.
        let mut tasks = Vec::with_capacity(n);
        for (i, (out, attempts)) in outcome.iter().zip(attempts).enumerate() {
            if !in_run[i] {
                continue;
            }
            let outcome = match *out {
                Some(Outcome::Skipped(because)) => TaskOutcome::Skipped {
                    because: ids[because].clone(),
                },
                Some(Outcome::Succeeded) => TaskOutcome::Succeeded,
                Some(Outcome::Failed) => TaskOutcome::Failed,
                Some(Outcome::UpToDate) => TaskOutcome::UpToDate,
                Some(Outcome::Cancelled) => TaskOutcome::Cancelled,
                None if stopping => {
                    send(Event {
                        node: ids[i].clone(),
                        kind: EventKind::Cancelled,
                        running: 0,
                    });
                    TaskOutcome::Cancelled
                }
                None => {
                    // The first direct dependency (by id) that is not done holds it.
                    let because = topo
                        .deps(i)
                        .iter()
                        .map(|&d| d as usize)
                        .filter(|&d| !done(d))
                        .min_by(|&a, &b| ids[a].cmp(&ids[b]));
                    match because {
                        Some(b) => {
                            send(Event {
                                node: ids[i].clone(),
                                kind: EventKind::Skipped {
                                    because: ids[b].clone(),
                                },
                                running: 0,
                            });
                            TaskOutcome::Skipped {
                                because: ids[b].clone(),
                            }
                        }
                        None => TaskOutcome::Cancelled,
                    }
                }
            };
            tasks.push((ids[i].clone(), TaskRecord { outcome, attempts }));
        }
        Ok(RunRecord {
            run_id,
            started,
            ended: Timestamp::now(),
            cancelled,
            tasks: tasks.into_iter().collect(),
        })
    }
}

/// A set of ranks in `0..n` with insert, remove and minimum in O(log64 n): a bitmap
/// per level, each bit of a level saying whether a word of the level below is not
/// zero. Faster than a binary heap of 100,000 ready nodes (a few word reads per
/// operation instead of a sift through 17 levels of scattered entries).
#[derive(Debug, Clone)]
struct RankSet {
    /// `levels[0]` holds one bit per rank; the last level is one word.
    levels: Vec<Vec<u64>>,
}

impl RankSet {
    fn new(n: usize) -> RankSet {
        let mut levels = Vec::new();
        let mut words = n.div_ceil(64).max(1);
        loop {
            levels.push(vec![0u64; words]);
            if words == 1 {
                break;
            }
            words = words.div_ceil(64);
        }
        RankSet { levels }
    }

    fn is_empty(&self) -> bool {
        self.levels.last().is_none_or(|top| top[0] == 0)
    }

    fn insert(&mut self, rank: usize) {
        let mut i = rank;
        for level in &mut self.levels {
            let was = level[i / 64];
            level[i / 64] = was | 1 << (i % 64);
            if was != 0 {
                // The levels above already mark this word.
                return;
            }
            i /= 64;
        }
    }

    fn remove(&mut self, rank: usize) {
        let mut i = rank;
        for level in &mut self.levels {
            level[i / 64] &= !(1 << (i % 64));
            if level[i / 64] != 0 {
                return;
            }
            i /= 64;
        }
    }

    fn min(&self) -> Option<usize> {
        let mut i = 0usize;
        for level in self.levels.iter().rev() {
            let w = level[i];
            if w == 0 {
                return None;
            }
            i = i * 64 + w.trailing_zeros() as usize;
        }
        Some(i)
    }
}

/// Per-node settings, fixed for the run.
#[derive(Clone, Copy)]
struct NodeCfg {
    group: Option<usize>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
}

/// How a node ended, by slot.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Succeeded,
    Failed,
    Skipped(usize),
    Cancelled,
    UpToDate,
}

/// Everything the workers change, behind one mutex.
struct RunState {
    /// Ready nodes by rank: one set per group, the last for nodes without one.
    ready: Vec<RankSet>,
    running_in: Vec<usize>,
    limits: Vec<usize>,
    /// Retries waiting for their due time: (due, slot).
    delayed: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Attempts running now.
    in_flight: usize,
    /// Dependencies of each node not yet done.
    unmet: Vec<u32>,
    outcome: Vec<Option<Outcome>>,
    attempts: Vec<Vec<Attempt>>,
    /// Nodes whose job ran (and succeeded) in this run: their dependents are not up
    /// to date.
    ran: Vec<bool>,
    stopping: bool,
    cancelled: bool,
    /// Successes written to the journal, waiting for its sync before they are
    /// released: (slot, attempt (`None`: up to date), journal line).
    unsynced: Vec<(usize, Option<Attempt>, u64)>,
    /// Successes in the sync running now.
    syncing: usize,
    /// Workers waiting for work.
    idle: usize,
    syncer_idle: bool,
    finished: bool,
    journal_err: Option<Error>,
}

impl RunState {
    fn ready_empty(&self) -> bool {
        self.ready.iter().all(RankSet::is_empty)
    }

    /// The rank of the best-ranked ready node whose group has room.
    /// O(groups * log64 n).
    fn pop_next(&mut self) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (h, set) in self.ready.iter().enumerate() {
            if h < self.limits.len() && self.running_in[h] >= self.limits[h] {
                continue;
            }
            if let Some(r) = set.min()
                && best.is_none_or(|(b, _)| r < b)
            {
                best = Some((r, h));
            }
        }
        let (r, h) = best?;
        self.ready[h].remove(r);
        Some(r)
    }

    /// Whether a node could start now (one is ready and its group has room).
    fn has_startable(&self) -> bool {
        self.ready.iter().enumerate().any(|(h, set)| {
            !set.is_empty() && (h >= self.limits.len() || self.running_in[h] < self.limits[h])
        })
    }
}

/// What the workers of one run share.
struct Shared<'a, Id, J: ?Sized> {
    ids: &'a [Id],
    /// Settings by slot; empty when no node has options.
    cfgs: &'a [NodeCfg],
    default_cfg: NodeCfg,
    /// The dense rank of each slot.
    rank: &'a [usize],
    /// The slot of each rank.
    slot_at: &'a [usize],
    topo: &'a Topo,
    in_run: &'a [bool],
    job: &'a J,
    cancel: &'a CancelToken,
    events: Option<&'a Sender<Event<Id>>>,
    output_limit: usize,
    journal: Option<&'a Arc<Journal>>,
    /// Empty when no node declares inputs.
    inputs: &'a [Option<Inputs>],
    store: Option<&'a HashStore>,
    fail_fast: bool,
    state: Mutex<RunState>,
    /// Workers wait here for work (or the end).
    wake: Condvar,
    /// The syncer waits here for successes to sync (or the end).
    wake_syncer: Condvar,
}

/// Longest a waiting worker sleeps before it looks at the cancel token again.
const POLL: Duration = Duration::from_millis(20);

impl<Id, J> Shared<'_, Id, J>
where
    Id: Clone + Eq + Hash + Ord + fmt::Display + Send + Sync,
    J: Job<Id> + ?Sized,
{
    /// The settings of slot `i` (the executor's defaults unless its options say
    /// otherwise).
    fn cfg(&self, i: usize) -> &NodeCfg {
        self.cfgs.get(i).unwrap_or(&self.default_cfg)
    }

    fn lock(&self) -> MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends an event (and journals it, unless it is a success: those are journaled
    /// by the worker before the syncer releases them).
    #[inline]
    fn send(&self, st: &mut RunState, i: usize, kind: EventKind<Id>) {
        // No call at all (three per node) when no one listens.
        if self.journal.is_some() || self.events.is_some() {
            self.send_to_listeners(st, i, kind);
        }
    }

    #[inline(never)]
    fn send_to_listeners(&self, st: &mut RunState, i: usize, kind: EventKind<Id>) {
        if let Some(j) = self.journal {
            let line = match &kind {
                EventKind::Queued => Some(("queued", None)),
                EventKind::Started { attempt } => Some(("started", Some(*attempt))),
                EventKind::Failed { attempt, .. } => Some(("failed", Some(*attempt))),
                EventKind::Retrying { attempt, .. } => Some(("retrying", Some(*attempt))),
                EventKind::Skipped { .. } => Some(("skipped", None)),
                EventKind::Cancelled => Some(("cancelled", None)),
                EventKind::Succeeded { .. } | EventKind::UpToDate => None,
            };
            if let Some((name, attempt)) = line
                && let Err(err) = j.write(&self.ids[i].to_string(), name, attempt, None)
            {
                st.journal_err.get_or_insert(err);
            }
        }
        if let Some(tx) = self.events {
            // A caller that dropped its receiver no longer wants events.
            let _ = tx.send(Event {
                node: self.ids[i].clone(),
                kind,
                running: st.in_flight,
            });
        }
    }

    fn push_ready(&self, st: &mut RunState, i: usize) {
        let h = self.cfg(i).group.unwrap_or(st.limits.len());
        st.ready[h].insert(self.rank[i]);
        self.send(st, i, EventKind::Queued);
    }

    /// Wakes one waiting worker if there is something for it to do.
    fn wake_one(&self, st: &RunState) {
        if st.idle > 0 && (st.finished || st.has_startable()) {
            self.wake.notify_one();
        }
    }

    /// Marks the run finished when nothing runs, waits or can start.
    fn check_finished(&self, st: &mut RunState) {
        if !st.finished
            && st.in_flight == 0
            && st.unsynced.is_empty()
            && st.syncing == 0
            && (st.stopping || (st.delayed.is_empty() && st.ready_empty()))
        {
            st.finished = true;
            self.wake.notify_all();
            self.wake_syncer.notify_all();
        }
    }

    /// Cancel token, journal errors and due retries.
    fn poll(&self, st: &mut RunState) {
        // A journal that cannot be written makes resume unsafe: stop.
        if st.journal_err.is_some() {
            st.stopping = true;
        }
        if !st.cancelled && self.cancel.is_cancelled() {
            st.cancelled = true;
            st.stopping = true;
        }
        if st.delayed.is_empty() {
            return;
        }
        let now = Instant::now();
        while let Some(&Reverse((due, i))) = st.delayed.peek() {
            if due > now && !st.stopping {
                break;
            }
            st.delayed.pop();
            if st.stopping {
                st.outcome[i] = Some(Outcome::Cancelled);
                self.send(st, i, EventKind::Cancelled);
            } else {
                let h = self.cfg(i).group.unwrap_or(st.limits.len());
                st.ready[h].insert(self.rank[i]);
            }
        }
    }

    /// A worker: takes the best ready node, runs one attempt without the lock, and
    /// books the result; waits when nothing can start.
    fn worker(&self) {
        // Reset for each attempt (see `RunContext::reset`).
        let mut ctx = RunContext::new(0, self.cancel.clone(), None, self.output_limit);
        let mut st = self.lock();
        loop {
            if st.finished {
                return;
            }
            self.poll(&mut st);
            let next = if st.stopping {
                None
            } else {
                st.pop_next().map(|r| self.slot_at[r])
            };
            if let Some(i) = next {
                let cfg = *self.cfg(i);
                st.in_flight += 1;
                if let Some(g) = cfg.group {
                    st.running_in[g] += 1;
                }
                let attempt = st.attempts[i].len() as u32 + 1;
                self.send(&mut st, i, EventKind::Started { attempt });
                let may_skip = self.store.is_some()
                    && self.inputs.get(i).is_some_and(Option::is_some)
                    && self.topo.deps(i).iter().all(|&d| !st.ran[d as usize]);
                self.wake_one(&st);
                drop(st);
                let result = self.attempt(i, attempt, may_skip, &mut ctx);
                st = self.lock();
                st.in_flight -= 1;
                if let Some(g) = cfg.group {
                    st.running_in[g] -= 1;
                }
                self.book(&mut st, i, result);
                self.check_finished(&mut st);
                // No wake-up here: this worker takes the next ready node itself at
                // the top of the loop and wakes another only if more can start
                // (waking one for the node it is about to take cost a futex call
                // and a futile wake-up per node in a chain).
                continue;
            }
            self.check_finished(&mut st);
            if st.finished {
                return;
            }
            let mut wait = POLL;
            if let Some(&Reverse((due, _))) = st.delayed.peek() {
                wait = wait.min(due.saturating_duration_since(Instant::now()));
            }
            st.idle += 1;
            st = self
                .wake
                .wait_timeout(st, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            st.idle -= 1;
        }
    }

    /// Books a finished attempt. A success of a journaled run waits for the sync.
    fn book(&self, st: &mut RunState, i: usize, result: Finished) {
        match result {
            Finished::Unsynced(attempt, line) => {
                st.unsynced.push((i, attempt, line));
                if st.syncer_idle {
                    self.wake_syncer.notify_one();
                }
            }
            Finished::JournalFailed(attempt, e) => {
                st.journal_err.get_or_insert(e);
                self.release_success(st, i, attempt);
            }
            Finished::Done(None) => self.release_success(st, i, None),
            Finished::Done(Some(attempt)) => self.book_attempt(st, i, attempt),
        }
    }

    fn book_attempt(&self, st: &mut RunState, i: usize, attempt: Attempt) {
        let outcome = attempt.outcome;
        let number = attempt.number;
        if outcome == AttemptOutcome::Succeeded {
            self.release_success(st, i, Some(attempt));
            return;
        }
        let error = attempt.error.clone().unwrap_or_default();
        push_attempt(&mut st.attempts[i], attempt);
        match outcome {
            AttemptOutcome::Cancelled => {
                st.outcome[i] = Some(Outcome::Cancelled);
                self.send(st, i, EventKind::Cancelled);
            }
            _ => {
                let policy = self.cfg(i).retry;
                if number <= policy.max_retries() && !st.stopping && !self.cancel.is_cancelled() {
                    let delay = policy.delay(number, salt(&self.ids[i]));
                    self.send(
                        st,
                        i,
                        EventKind::Retrying {
                            attempt: number,
                            error,
                            delay,
                        },
                    );
                    st.delayed.push(Reverse((Instant::now() + delay, i)));
                    if st.idle > 0 {
                        // A waiting worker recomputes its wake-up time.
                        self.wake.notify_one();
                    }
                    return;
                }
                st.outcome[i] = Some(Outcome::Failed);
                self.send(
                    st,
                    i,
                    EventKind::Failed {
                        attempt: number,
                        error,
                    },
                );
                self.skip_dependents(st, i);
                if self.fail_fast {
                    st.stopping = true;
                }
            }
        }
    }

    /// A success (or up to date, `attempt` = `None`), durable if journaled: record
    /// it and queue the dependents it was the last unmet dependency of.
    fn release_success(&self, st: &mut RunState, i: usize, attempt: Option<Attempt>) {
        let kind = match attempt {
            Some(a) => {
                let number = a.number;
                push_attempt(&mut st.attempts[i], a);
                st.outcome[i] = Some(Outcome::Succeeded);
                st.ran[i] = true;
                EventKind::Succeeded { attempt: number }
            }
            None => {
                st.outcome[i] = Some(Outcome::UpToDate);
                EventKind::UpToDate
            }
        };
        self.send(st, i, kind);
        for &d in self.topo.dependents(i) {
            let d = d as usize;
            st.unmet[d] -= 1;
            if st.unmet[d] == 0 && self.in_run[d] && st.outcome[d].is_none() {
                self.push_ready(st, d);
            }
        }
    }

    /// Skips every transitive dependent of failed node `i` not ended yet.
    fn skip_dependents(&self, st: &mut RunState, i: usize) {
        let mut seen = vec![false; self.ids.len()];
        let mut stack: Vec<usize> = self
            .topo
            .dependents(i)
            .iter()
            .map(|&d| d as usize)
            .collect();
        while let Some(d) = stack.pop() {
            if std::mem::replace(&mut seen[d], true) {
                continue;
            }
            if self.in_run[d] && st.outcome[d].is_none() {
                st.outcome[d] = Some(Outcome::Skipped(i));
                self.send(
                    st,
                    d,
                    EventKind::Skipped {
                        because: self.ids[i].clone(),
                    },
                );
            }
            stack.extend(self.topo.dependents(d).iter().map(|&x| x as usize));
        }
    }

    /// The journal's syncer: takes the successes written since the last sync, syncs
    /// once for all of them (group commit), then releases them.
    fn syncer(&self) {
        let Some(journal) = self.journal else { return };
        let mut st = self.lock();
        loop {
            while st.unsynced.is_empty() && !st.finished {
                st.syncer_idle = true;
                st = self
                    .wake_syncer
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
                st.syncer_idle = false;
            }
            if st.unsynced.is_empty() {
                return;
            }
            let batch = std::mem::take(&mut st.unsynced);
            st.syncing = batch.len();
            drop(st);
            let last = batch.iter().map(|(_, _, line)| *line).max().unwrap_or(0);
            let synced = journal.sync_through(last);
            st = self.lock();
            st.syncing = 0;
            if let Err(e) = synced {
                st.journal_err.get_or_insert(e);
            }
            for (i, attempt, _) in batch {
                self.release_success(&mut st, i, attempt);
            }
            self.poll(&mut st);
            self.check_finished(&mut st);
            let ready = usize::from(st.has_startable());
            if st.idle > 0 && ready > 0 {
                self.wake.notify_all();
            }
        }
    }

    /// Runs one attempt of node `i` (no lock held): the up-to-date check, the job,
    /// the input hash bookkeeping and, for a journaled success, its journal line.
    fn attempt(&self, i: usize, attempt: u32, may_skip: bool, ctx: &mut RunContext) -> Finished {
        let id = &self.ids[i];
        let inputs = self.inputs.get(i).and_then(Option::as_ref);
        // The fingerprint before the job runs: what a success is recorded against.
        let fingerprint = match (self.store, inputs) {
            (Some(_), Some(inp)) => Some(inp.fingerprint()),
            _ => None,
        };
        if let (Some(store), Some(Ok(hash)), Some(inp)) = (self.store, &fingerprint, inputs)
            && may_skip
            && attempt == 1
            && inp.outputs_exist()
            && store.get(&id.to_string()) == Some(*hash)
        {
            // Before returning, so before the executor releases dependents (only
            // on this path: a run without inputs never gets here). The node is up
            // to date whatever the hook does; a panic in it must not leave the
            // worker's attempt unbooked (the run would never finish).
            let _ = catch_unwind(AssertUnwindSafe(|| self.job.up_to_date(id)));
            return self.journal_success(i, None);
        }
        let timeout = self.cfg(i).timeout;
        ctx.reset(
            attempt,
            timeout,
            self.journal.map(|j| (Arc::clone(j), id.to_string())),
        );
        let started = Timestamp::now();
        let result = match &fingerprint {
            Some(Err(e)) => Err(e.clone()),
            _ => catch_unwind(AssertUnwindSafe(|| self.job.run(id, &*ctx)))
                .unwrap_or_else(|_| Err(JobError::new(format!("the job for `{id}` panicked")))),
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
                Err(e) if self.cancel.is_cancelled() => {
                    (AttemptOutcome::Cancelled, Some(e.to_string()))
                }
                Err(e) => (AttemptOutcome::Failed, Some(e.to_string())),
            }
        };
        if let (Some(store), Some(Ok(hash))) = (self.store, &fingerprint) {
            let name = id.to_string();
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
            output_tail: ctx.take_output(),
        };
        if outcome == AttemptOutcome::Succeeded {
            self.journal_success(i, Some(attempt))
        } else {
            Finished::Done(Some(attempt))
        }
    }

    /// Writes a success's journal line (not synced yet: the syncer does that).
    fn journal_success(&self, i: usize, attempt: Option<Attempt>) -> Finished {
        let Some(journal) = self.journal else {
            return Finished::Done(attempt);
        };
        let (event, number) = match &attempt {
            Some(a) => ("succeeded", Some(a.number)),
            None => ("up_to_date", None),
        };
        match journal.write(&self.ids[i].to_string(), event, number, None) {
            Ok(line) => Finished::Unsynced(attempt, line),
            Err(e) => Finished::JournalFailed(attempt, e),
        }
    }
}

/// The job of [`Executor::run_tasks`]: a task's id to the task, for both of
/// [`Job`]'s calls.
struct ByTask<'a, J: ?Sized> {
    by_id: &'a HashMap<&'a TaskId, &'a Task>,
    job: &'a J,
}

impl<J: Job<Task> + ?Sized> Job<TaskId> for ByTask<'_, J> {
    fn run(&self, id: &TaskId, ctx: &RunContext) -> Result<(), JobError> {
        match self.by_id.get(id) {
            Some(task) => self.job.run(task, ctx),
            // The plan was built from exactly these tasks.
            None => Err(JobError::new(format!("task `{id}` is not in the list"))),
        }
    }

    fn up_to_date(&self, id: &TaskId) {
        if let Some(task) = self.by_id.get(id) {
            self.job.up_to_date(task);
        }
    }
}

/// What a worker brings back from an attempt.
enum Finished {
    /// Not a success, or a success of a run without a journal; `None`: up to date.
    Done(Option<Attempt>),
    /// A success whose journal line (number) is written but not yet synced.
    Unsynced(Option<Attempt>, u64),
    /// A success whose journal line could not be written.
    JournalFailed(Option<Attempt>, Error),
}

/// Appends an attempt; the first gets a list of capacity one (a `Vec`'s first push
/// reserves four, ~350 bytes per node that nearly always runs once).
fn push_attempt(list: &mut Vec<Attempt>, attempt: Attempt) {
    if list.capacity() == 0 {
        list.reserve_exact(1);
    }
    list.push(attempt);
}

/// The jitter salt of a node: a hash of its id (computed only when it retries).
fn salt<Id: Hash>(id: &Id) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn rank_set_agrees_with_a_btree_set(
            n in 1usize..300_000,
            ops in proptest::collection::vec((any::<bool>(), any::<usize>()), 0..300),
        ) {
            let mut set = RankSet::new(n);
            let mut model = std::collections::BTreeSet::new();
            for (insert, r) in ops {
                let r = r % n;
                if insert {
                    set.insert(r);
                    model.insert(r);
                } else if let Some(m) = set.min() {
                    // Remove the minimum (what the executor does) or `r` if present.
                    let victim = if model.contains(&r) { r } else { m };
                    set.remove(victim);
                    model.remove(&victim);
                }
                prop_assert_eq!(set.min(), model.first().copied());
                prop_assert_eq!(set.is_empty(), model.is_empty());
            }
        }
    }
}
