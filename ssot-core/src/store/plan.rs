//! The plan across files; the design is documented on [`Plan`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use ssot_graph::{DepGraph, DepGraphBuilder, State};

use super::read::TaskFile;
use super::report::{Location, Problem, ProblemKind, Report};
use crate::queue::TaskQueue;
use crate::task::{Task, TaskId};

/// A task of the plan and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTask {
    /// The task, shared with the parsed file that holds it (it dereferences to
    /// [`Task`]: `planned.task.title`, `planned.task.status()`).
    pub task: SharedTask,
    /// Its file and line.
    pub location: Location,
}

/// A task of a parsed task file, shared with that file rather than copied.
///
/// It dereferences to the [`Task`], so fields and methods read as on a `Task`;
/// cloning it counts a reference (O(1)), and [`SharedTask::to_task`] copies the task
/// out when an owned one is needed. A plan of 10,000 tasks holds 10,000 of these
/// instead of 10,000 copies of the tasks.
#[derive(Clone)]
pub struct SharedTask {
    file: Arc<TaskFile>,
    index: usize,
}

impl SharedTask {
    /// The task at `index` of `file`, or `None` past its end.
    fn new(file: &Arc<TaskFile>, index: usize) -> Option<SharedTask> {
        (index < file.tasks().len()).then(|| SharedTask {
            file: Arc::clone(file),
            index,
        })
    }

    /// The parsed task file that holds the task.
    #[must_use]
    pub fn file(&self) -> &TaskFile {
        &self.file
    }

    /// The task's index among its file's tasks (document order).
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// A copy of the task, owned. O(size of the task).
    #[must_use]
    pub fn to_task(&self) -> Task {
        Task::clone(self)
    }
}

impl Deref for SharedTask {
    type Target = Task;

    fn deref(&self) -> &Task {
        // `SharedTask::new` checked the index against this file, which is immutable
        // behind its `Arc`: the index is in bounds.
        &self.file.tasks()[self.index]
    }
}

impl AsRef<Task> for SharedTask {
    fn as_ref(&self) -> &Task {
        self
    }
}

impl fmt::Debug for SharedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Task::fmt(self, f)
    }
}

impl PartialEq for SharedTask {
    fn eq(&self, other: &SharedTask) -> bool {
        **self == **other
    }
}

impl PartialEq<Task> for SharedTask {
    fn eq(&self, other: &Task) -> bool {
        **self == *other
    }
}

/// A pending task that waits on others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The waiting task.
    pub id: TaskId,
    /// Its direct dependencies that are not done, sorted.
    pub waiting_on: Vec<TaskId>,
    /// What must move first: the not-done tasks below it that nothing holds, sorted.
    ///
    /// Shared between the blocked tasks that have the same root causes (along a
    /// chain of dependencies, every task has its first task's), so a plan does not
    /// copy an id per blocked task and root cause.
    pub root_causes: Arc<[TaskId]>,
}

/// The longest chain of remaining work by estimated time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalPath {
    /// The tasks, first to last; each depends on the one before.
    pub tasks: Vec<TaskId>,
    /// The sum of their remaining estimates.
    pub total: Duration,
    /// How many tasks of the store that are not finished have no estimate (counted
    /// as zero).
    pub unestimated: usize,
}

/// The plan of a store: what is ready, what is blocked and why, in which waves the
/// work can run, and how long it will take.
///
/// # Ids across files
///
/// Task ids are unique across the whole store, not only within a file, so a
/// dependency names a task wherever it is written (`⛔ build` in `todo.md` may point
/// at `build` in `ci.tasks.yaml`). An id found in two files, a dependency on an id no
/// file holds, and every cycle are reported together, each at the `file:line` of
/// the tasks and dependencies involved; a plan is only made from a store where there
/// are none, and where every task file parses. Derived ids (tasks written without
/// one) follow the same rule: two files with a task titled alike give both the same
/// id, and the fix is an explicit id.
///
/// # Statuses
///
/// A task's [`Status`](crate::Status) becomes the graph's [`State`] by the crate's
/// one total mapping, `From<Status> for State` (its table is on that impl). As in `ssot-graph`, only a done task releases the tasks
/// that depend on it: a task waiting on a cancelled one stays blocked until the
/// dependency is removed or the task is done.
///
/// # Root causes
///
/// A blocked task waits on its direct dependencies that are not done. Its *root
/// causes* are what must move first: following not-done dependencies down, the
/// tasks that are themselves held by nothing (ready, in progress, on hold,
/// cancelled). They are found for every blocked task in one pass over the graph in
/// dependency order, and blocked tasks with the same root causes share one
/// [`Blocked::root_causes`] slice.
///
/// # Sharing, not copying
///
/// A plan copies no task: each [`PlannedTask`] holds a [`SharedTask`], a reference
/// to the parsed, immutable [`TaskFile`](super::TaskFile) and the task's index in
/// it. The plan keeps the files it was built from alive; on a store of 10,000 tasks
/// that saves 10,000 task copies (their strings, tags, dependencies and fields) per
/// plan, and as many drops.
///
/// # Critical path
///
/// By estimated time of the work that remains: a done or cancelled task weighs
/// nothing, a task without an estimate weighs nothing and is counted in
/// [`CriticalPath::unestimated`].
#[derive(Debug, Clone)]
pub struct Plan {
    graph: DepGraph<TaskId>,
    tasks: HashMap<TaskId, PlannedTask>,
    ready: Vec<TaskId>,
    blocked: Vec<Blocked>,
    waves: Vec<Vec<TaskId>>,
    critical_path: Option<CriticalPath>,
}

impl Plan {
    /// Checks what [`Plan::build`] checks (every duplicate id, unknown dependency
    /// and cycle) without making the plan: what validation needs.
    pub(crate) fn check(files: &[Arc<TaskFile>]) -> Result<(), Report> {
        Plan::checked_graph(files).map(drop)
    }

    /// The dependency graph's builder over every task and the file and index of each
    /// id, or every duplicate id, unknown dependency and cycle.
    #[allow(clippy::type_complexity)]
    fn checked_graph(
        files: &[Arc<TaskFile>],
    ) -> Result<(DepGraphBuilder<TaskId>, HashMap<&TaskId, (usize, usize)>), Report> {
        let mut problems = Vec::new();
        // id -> (file index, task index)
        let mut first: HashMap<&TaskId, (usize, usize)> = HashMap::new();
        let mut builder = DepGraph::<TaskId>::builder();
        for (f, file) in files.iter().enumerate() {
            for (i, task) in file.tasks().iter().enumerate() {
                if let Some(&(f0, i0)) = first.get(&task.id) {
                    let here = file.location(i);
                    let there = files[f0].location(i0);
                    problems.push(
                        Problem::new(
                            here,
                            ProblemKind::DuplicateId,
                            format!(
                                "task id `{}` is also used at {there}; ids are unique across the store: give one of them another id",
                                task.id
                            ),
                        )
                        .with_related(vec![there]),
                    );
                    continue;
                }
                first.insert(&task.id, (f, i));
                // The id is new (checked just above), so this cannot fail for a
                // duplicate; it fails only past the graph's size limit.
                if let Err(e) = builder.add_node(task.id.clone()) {
                    problems.push(Problem::new(
                        file.location(i),
                        ProblemKind::DuplicateId,
                        e.to_string(),
                    ));
                }
            }
        }
        for (&id, &(f, i)) in &first {
            let file = &files[f];
            let task = &file.tasks()[i];
            for (d, dep) in task.dependencies.iter().enumerate() {
                if builder.add_dependency(id, dep).is_err() {
                    problems.push(Problem::new(
                        file.dependency_location(i, d),
                        ProblemKind::UnknownDependency,
                        format!(
                            "task `{id}` depends on `{dep}`, which no task file of the store holds; \
                             add that task, correct the id, or remove the dependency"
                        ),
                    ));
                }
            }
        }
        for component in builder.cycles() {
            let cycle = component.cycle();
            let mut edges = Vec::new();
            let mut text = Vec::new();
            for (task, on) in cycle.dependencies() {
                let Some(&(f, i)) = first.get(task) else {
                    continue;
                };
                let d = files[f].tasks()[i]
                    .dependencies
                    .iter()
                    .position(|x| x == on)
                    .unwrap_or(0);
                let at = files[f].dependency_location(i, d);
                text.push(format!("`{task}` depends on `{on}` at {at}"));
                edges.push(at);
            }
            let first_edge = edges.first().cloned().unwrap_or_else(|| Location::file(""));
            problems.push(
                Problem::new(
                    first_edge,
                    ProblemKind::Cycle,
                    format!(
                        "dependency cycle {cycle}: {}; remove one of these dependencies",
                        text.join(", ")
                    ),
                )
                .with_related(edges),
            );
        }
        if !problems.is_empty() {
            return Err(Report::new(problems));
        }
        Ok((builder, first))
    }

    /// Builds the plan from every task file (sorted by path), or reports every
    /// duplicate id, unknown dependency and cycle.
    pub(crate) fn build(files: &[Arc<TaskFile>]) -> Result<Plan, Report> {
        let (builder, first) = Plan::checked_graph(files)?;
        // Every cycle was reported above, so `build` cannot fail here; were it to,
        // its error is passed on rather than turned into a panic.
        let mut graph = builder.build().map_err(|e| {
            Report::new(vec![Problem::new(
                Location::file(""),
                ProblemKind::Cycle,
                e.to_string(),
            )])
        })?;
        let mut tasks = HashMap::with_capacity(first.len());
        for (&id, &(f, i)) in &first {
            let task = &files[f].tasks()[i];
            let state = State::from(task.status());
            if state != State::Pending {
                // Every id of `first` is a node of the graph.
                let _ = graph.set_state(id, state);
            }
            // `i` enumerates this file's tasks (`checked_graph`): always `Some`.
            if let Some(task) = SharedTask::new(&files[f], i) {
                tasks.insert(
                    id.clone(),
                    PlannedTask {
                        task,
                        location: files[f].location(i),
                    },
                );
            }
        }
        let ready: Vec<TaskId> = graph.ready().into_iter().cloned().collect();
        let roots = all_root_causes(&graph);
        // Each distinct set of root causes becomes one shared slice, keyed by the
        // set's address: the ids are cloned once per set, not per blocked task.
        let mut shared: HashMap<*const BTreeSet<&TaskId>, Arc<[TaskId]>> = HashMap::new();
        let blocked = graph
            .blocked()
            .into_iter()
            .map(|(id, holders)| Blocked {
                id: id.clone(),
                waiting_on: holders.into_iter().cloned().collect(),
                root_causes: roots.get(id).map_or_else(
                    || Arc::from(Vec::new()),
                    |r| {
                        Arc::clone(shared.entry(Arc::as_ptr(r)).or_insert_with(|| {
                            r.iter().map(|&t| t.clone()).collect::<Vec<_>>().into()
                        }))
                    },
                ),
            })
            .collect();
        let waves = graph
            .waves()
            .into_iter()
            .map(|w| w.into_iter().cloned().collect())
            .collect();
        let weight = |id: &TaskId| {
            tasks.get(id).map_or(Duration::ZERO, |t| {
                if t.task.status().is_finished() {
                    Duration::ZERO
                } else {
                    t.task.estimated_time.unwrap_or(Duration::ZERO)
                }
            })
        };
        let unestimated = tasks
            .values()
            .filter(|t| !t.task.status().is_finished() && t.task.estimated_time.is_none())
            .count();
        let critical_path = match graph.critical_path(weight) {
            Ok(Some(path)) => Some(CriticalPath {
                tasks: path.nodes().iter().map(|&id| id.clone()).collect(),
                total: path.total(),
                unestimated,
            }),
            Ok(None) => None,
            Err(e) => {
                let at = match &e {
                    ssot_graph::Error::WeightOverflow { node } => tasks
                        .get(node)
                        .map_or_else(|| Location::file(""), |t| t.location.clone()),
                    _ => Location::file(""),
                };
                return Err(Report::new(vec![Problem::new(
                    at,
                    ProblemKind::Estimate,
                    format!("{e}; the estimates are too large to add up"),
                )]));
            }
        };
        Ok(Plan {
            graph,
            tasks,
            ready,
            blocked,
            waves,
            critical_path,
        })
    }

    /// The dependency graph, every task in its state.
    #[must_use]
    pub fn graph(&self) -> &DepGraph<TaskId> {
        &self.graph
    }

    /// How many tasks the store holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the store holds no task.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The task with this id, and where it is.
    #[must_use]
    pub fn task(&self, id: &str) -> Option<&PlannedTask> {
        self.tasks.get(id)
    }

    /// The tasks that can start now (pending, every dependency done), sorted by id.
    #[must_use]
    pub fn ready(&self) -> &[TaskId] {
        &self.ready
    }

    /// The pending tasks that wait on others, sorted by id.
    #[must_use]
    pub fn blocked(&self) -> &[Blocked] {
        &self.blocked
    }

    /// Every task in waves that can run in parallel: wave 0 has no dependencies,
    /// each later wave depends only on earlier ones. Sorted by id within a wave.
    #[must_use]
    pub fn waves(&self) -> &[Vec<TaskId>] {
        &self.waves
    }

    /// The longest chain of remaining work by estimated time; `None` without tasks.
    #[must_use]
    pub fn critical_path(&self) -> Option<&CriticalPath> {
        self.critical_path.as_ref()
    }

    /// The task to work on next: among the ready tasks, the first in
    /// [`TaskQueue`]'s order (priority, then creation time, then id).
    #[must_use]
    pub fn next_task(&self) -> Option<&PlannedTask> {
        let mut queue = TaskQueue::new();
        for id in &self.ready {
            if let Some(t) = self.tasks.get(id) {
                // Ready ids are unique and the queue is unbounded: push cannot fail.
                let _ = queue.push(t.task.to_task());
            }
        }
        queue.peek().and_then(|t| self.tasks.get(&t.id))
    }

    /// The graph in Graphviz DOT, tasks styled by state (see
    /// [`DepGraph::to_dot`]).
    #[must_use]
    pub fn to_dot(&self) -> String {
        self.graph.to_dot()
    }

    /// The plan as JSON: `ready` and `blocked` tasks with their locations, `waves`,
    /// and `critical_path` (`tasks`, `total_seconds`, `unestimated`).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let entry = |id: &TaskId| {
            let t = self.tasks.get(id);
            json!({
                "id": id.as_str(),
                "title": t.map(|t| t.task.title.as_str()),
                "status": t.map(|t| t.task.status().as_str()),
                "file": t.map(|t| t.location.file.as_str()),
                "line": t.and_then(|t| t.location.line),
            })
        };
        fn ids(ids: &[TaskId]) -> Vec<&str> {
            ids.iter().map(TaskId::as_str).collect()
        }
        json!({
            "tasks": self.tasks.len(),
            "ready": self.ready.iter().map(entry).collect::<Vec<_>>(),
            "blocked": self.blocked.iter().map(|b| {
                let mut e = entry(&b.id);
                e["waiting_on"] = json!(ids(&b.waiting_on));
                e["root_causes"] = json!(ids(&b.root_causes));
                e
            }).collect::<Vec<_>>(),
            "waves": self.waves.iter().map(|w| ids(w)).collect::<Vec<_>>(),
            "critical_path": self.critical_path.as_ref().map(|c| json!({
                "tasks": ids(&c.tasks),
                "total_seconds": c.total.as_secs_f64(),
                "unestimated": c.unestimated,
            })),
        })
    }
}

/// The root causes of every blocked task: the not-done tasks below it that nothing
/// holds (see [`Plan`]).
///
/// One pass in dependency order: a not-done task held by nothing is its own root,
/// any other not-done task's roots are the union of its holders' roots. O(V + E)
/// set unions, each as large as the roots it carries; a walk per blocked task would
/// be O(V²) on a long chain.
fn all_root_causes(graph: &DepGraph<TaskId>) -> HashMap<&TaskId, Arc<BTreeSet<&TaskId>>> {
    let mut roots: HashMap<&TaskId, Arc<BTreeSet<&TaskId>>> = HashMap::new();
    for id in graph.topo_order() {
        if graph.state(id) == Some(State::Done) {
            continue;
        }
        let holders = graph.blockers(id).unwrap_or_default();
        let set = match holders.as_slice() {
            [] => Arc::new(BTreeSet::from([id])),
            // One holder: share its set, no copy (a chain stays O(V)).
            [one] => roots.get(one).cloned().unwrap_or_default(),
            many => {
                let mut union = BTreeSet::new();
                for h in many {
                    if let Some(r) = roots.get(h) {
                        union.extend(r.iter().copied());
                    }
                }
                Arc::new(union)
            }
        };
        roots.insert(id, set);
    }
    roots
}

impl fmt::Display for Plan {
    /// A summary for a terminal: ready tasks with their `file:line`, blocked tasks
    /// with what they wait on, the waves and the critical path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = |id: &TaskId| self.tasks.get(id).map_or("", |t| t.task.title.as_str());
        let at = |id: &TaskId| {
            self.tasks
                .get(id)
                .map_or_else(String::new, |t| t.location.to_string())
        };
        writeln!(
            f,
            "{} tasks, {} ready, {} blocked",
            self.tasks.len(),
            self.ready.len(),
            self.blocked.len()
        )?;
        for id in &self.ready {
            writeln!(f, "ready    {id}  {}  ({})", title(id), at(id))?;
        }
        for b in &self.blocked {
            let list = |ids: &[TaskId]| {
                ids.iter()
                    .map(TaskId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                f,
                "blocked  {}  {}  ({}): waits on {}; root causes: {}",
                b.id,
                title(&b.id),
                at(&b.id),
                list(&b.waiting_on),
                list(&b.root_causes)
            )?;
        }
        let waves: BTreeMap<usize, String> = self
            .waves
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    i,
                    w.iter().map(TaskId::as_str).collect::<Vec<_>>().join(" "),
                )
            })
            .collect();
        for (i, w) in waves {
            writeln!(f, "wave {i}: {w}")?;
        }
        if let Some(c) = &self.critical_path {
            let mut total = String::new();
            crate::format::value::format_duration(&c.total, &mut total);
            let path: Vec<&str> = c.tasks.iter().map(TaskId::as_str).collect();
            write!(f, "critical path ({total}): {}", path.join(" -> "))?;
            if c.unestimated > 0 {
                write!(f, " ({} unfinished tasks have no estimate)", c.unestimated)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
