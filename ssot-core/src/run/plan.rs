//! [`Plan`]: a dependency graph, the order to prefer among ready nodes, and per-node
//! options.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use ssot_graph::DepGraph;

use crate::error::Error;
use crate::queue::TaskQueue;
use crate::run::incremental::Inputs;
use crate::run::retry::RetryPolicy;
use crate::task::{Task, TaskId};

/// Per-node settings that override the executor's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOptions {
    /// Retry policy; `None` uses the executor's default.
    pub retry: Option<RetryPolicy>,
    /// Time limit of each attempt; `None` uses the executor's default.
    pub timeout: Option<Duration>,
    /// The concurrency group the node runs in (see
    /// [`ExecutorBuilder::group`](crate::run::ExecutorBuilder::group)).
    pub group: Option<String>,
    /// Declared inputs: with an executor
    /// [`state_dir`](crate::run::ExecutorBuilder::state_dir), the node is skipped as
    /// up to date when they did not change since its last success.
    pub inputs: Option<Inputs>,
}

/// What to run: a [`DepGraph`], the preference among ready nodes, and options.
///
/// Only nodes in state [`Pending`](ssot_graph::State::Pending) are run; a node already
/// [`Done`](ssot_graph::State::Done) satisfies its dependents without running; any
/// other state holds its dependents (they end skipped, naming it).
#[derive(Clone)]
pub struct Plan<Id> {
    pub(crate) graph: DepGraph<Id>,
    /// Lower runs first among ready nodes.
    pub(crate) rank: HashMap<Id, usize>,
    pub(crate) options: HashMap<Id, TaskOptions>,
}

impl<Id: fmt::Debug + Ord> fmt::Debug for Plan<Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("graph", &self.graph)
            .field("options", &self.options.len())
            .finish_non_exhaustive()
    }
}

impl<Id: Clone + Eq + Hash + Ord + fmt::Display> Plan<Id> {
    /// A plan over `graph`; among ready nodes, the smallest id runs first until
    /// [`with_order`](Self::with_order) says otherwise. O(V log V).
    #[must_use]
    pub fn new(graph: DepGraph<Id>) -> Plan<Id> {
        let mut ids: Vec<Id> = graph.nodes().cloned().collect();
        ids.sort_unstable();
        let rank = ids.into_iter().enumerate().map(|(r, id)| (id, r)).collect();
        Plan {
            graph,
            rank,
            options: HashMap::new(),
        }
    }

    /// Prefers ready nodes in the order of `order` (earlier first). Nodes not listed
    /// come after, by id.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`] when `order` names a node not in the graph.
    pub fn with_order(mut self, order: impl IntoIterator<Item = Id>) -> Result<Plan<Id>, Error> {
        let mut listed = Vec::new();
        for id in order {
            if !self.graph.contains(&id) {
                return Err(Error::UnknownNode { id: id.to_string() });
            }
            listed.push(id);
        }
        let mut rest: Vec<Id> = self
            .graph
            .nodes()
            .filter(|id| !listed.contains(id))
            .cloned()
            .collect();
        rest.sort_unstable();
        self.rank = listed
            .into_iter()
            .chain(rest)
            .enumerate()
            .map(|(r, id)| (id, r))
            .collect();
        Ok(self)
    }

    /// Sets the options of one node.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`] when `id` is not in the graph.
    pub fn set_options(&mut self, id: Id, options: TaskOptions) -> Result<(), Error> {
        if !self.graph.contains(&id) {
            return Err(Error::UnknownNode { id: id.to_string() });
        }
        self.options.insert(id, options);
        Ok(())
    }

    /// The graph.
    #[must_use]
    pub fn graph(&self) -> &DepGraph<Id> {
        &self.graph
    }
}

impl Plan<TaskId> {
    /// A plan over tasks, using each task's dependencies; among ready tasks the
    /// [`TaskQueue`] order holds (priority, then age, then id). Each task's status sets
    /// its node state (see `From<Status> for State`): only tasks still to do run, done
    /// ones satisfy their dependents. O((V + E) log V).
    ///
    /// # Errors
    ///
    /// [`Error::Graph`] for a duplicate id, a dependency on a task not in the list
    /// or a cycle.
    pub fn from_tasks(tasks: &[Task]) -> Result<Plan<TaskId>, Error> {
        let mut graph =
            DepGraph::from_tasks(tasks.iter().map(|t| (t.id.clone(), t.dependencies.clone())))
                .map_err(|e| Error::Graph(e.to_string()))?;
        let mut queue = TaskQueue::new();
        for t in tasks {
            graph
                .set_state(&t.id, t.status().into())
                .map_err(|e| Error::Graph(e.to_string()))?;
            // Ids are unique (checked by `from_tasks` above), so the push cannot fail.
            queue.push(t.clone())?;
        }
        let rank = queue
            .iter()
            .enumerate()
            .map(|(r, t)| (t.id.clone(), r))
            .collect();
        Ok(Plan {
            graph,
            rank,
            options: HashMap::new(),
        })
    }
}
