//! [`Plan`]: a dependency graph, the order to prefer among ready nodes, and per-node
//! options.
//!
//! A plan also keeps the index arrays a run works on (`Compiled`: the nodes sorted
//! by id, their dependencies and dependents by position, their states and dense
//! ranks), computed once, on the first run or by [`Plan::prepare`], and shared by
//! every later run and every clone. So a run of an unchanged plan hashes no id: its
//! setup is a few O(V + E) array copies. What changes the index (the order, a node's
//! state in [`Executor::resume`](crate::run::Executor::resume)) drops it; options are
//! not part of it.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ssot_graph::{DepGraph, State};

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
    /// The index arrays, once computed; see the module docs.
    compiled: OnceLock<Arc<Compiled<Id>>>,
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
            compiled: OnceLock::new(),
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
        self.compiled = OnceLock::new();
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

    /// Computes the index arrays every run of this plan uses (otherwise the first
    /// run does): O((V + E) + V log V) once, shared by the plan's clones. Useful to
    /// keep that cost out of the first run's latency; calling it again costs nothing.
    pub fn prepare(&self) {
        let _ = self.compiled();
    }

    /// The index arrays, computed on first use.
    pub(crate) fn compiled(&self) -> &Arc<Compiled<Id>> {
        self.compiled
            .get_or_init(|| Arc::new(Compiled::new(&self.graph, &self.rank)))
    }

    /// Marks `id` done (resume: it succeeded in the killed run) and drops the index
    /// arrays, whose states it changes.
    pub(crate) fn mark_done(&mut self, id: &Id) {
        // `id` comes from the graph (resume reads the graph's own nodes).
        let _ = self.graph.mark_done(id);
        self.compiled = OnceLock::new();
    }
}

/// A plan's index arrays: every node has a *slot*, its position among the ids
/// sorted, so a record built in slot order is sorted by id without a sort.
pub(crate) struct Compiled<Id> {
    /// The node ids, sorted.
    pub(crate) ids: Vec<Id>,
    /// Dependencies and dependents by slot.
    pub(crate) topo: Topo,
    /// Whether each node takes part in a run (its state is `Pending`).
    pub(crate) in_run: Vec<bool>,
    /// Whether each node is `Done` (it satisfies its dependents without running).
    pub(crate) done: Vec<bool>,
    /// Per node, its dependencies not done when a run starts.
    pub(crate) unmet: Vec<u32>,
    /// Dense rank of each slot (a permutation of `0..n`; lower runs first).
    pub(crate) rank: Vec<usize>,
    /// The slot of each rank.
    pub(crate) slot_at: Vec<usize>,
}

impl<Id: Clone + Eq + Hash + Ord + fmt::Display> Compiled<Id> {
    fn new(graph: &DepGraph<Id>, rank: &HashMap<Id, usize>) -> Compiled<Id> {
        let mut ids: Vec<Id> = graph.nodes().cloned().collect();
        ids.sort_unstable();
        let slot_of: foldhash::HashMap<&Id, usize> =
            ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
        let topo = Topo::new(graph, &ids, &slot_of);
        let states: Vec<Option<State>> = ids.iter().map(|id| graph.state(id)).collect();
        let in_run: Vec<bool> = states.iter().map(|s| *s == Some(State::Pending)).collect();
        let done: Vec<bool> = states.iter().map(|s| *s == Some(State::Done)).collect();
        let unmet = (0..ids.len())
            .map(|i| topo.deps(i).iter().filter(|&&d| !done[d as usize]).count() as u32)
            .collect();
        let mut rank: Vec<usize> = ids
            .iter()
            .map(|id| rank.get(id).copied().unwrap_or(usize::MAX))
            .collect();
        let slot_at = dense_ranks(&mut rank, &ids);
        Compiled {
            ids,
            topo,
            in_run,
            done,
            unmet,
            rank,
            slot_at,
        }
    }

    /// The slot of `id`, if it is a node. O(log V).
    pub(crate) fn slot(&self, id: &Id) -> Option<usize> {
        self.ids.binary_search(id).ok()
    }
}

/// The dependency structure by slot: readiness is a count of unmet dependencies per
/// node, decremented as they succeed (the same bookkeeping as
/// `DepGraph::mark_done`, without an id lookup per step).
pub(crate) struct Topo {
    /// Dependents of slot `i`: `down[down_at[i]..down_at[i + 1]]`.
    down_at: Vec<u32>,
    down: Vec<u32>,
    /// Dependencies of slot `i`: `up[up_at[i]..up_at[i + 1]]`.
    up_at: Vec<u32>,
    up: Vec<u32>,
}

impl Topo {
    fn new<Id>(graph: &DepGraph<Id>, ids: &[Id], slot_of: &foldhash::HashMap<&Id, usize>) -> Topo
    where
        Id: Clone + Eq + Hash + Ord + fmt::Display,
    {
        let n = ids.len();
        let mut up_at = Vec::with_capacity(n + 1);
        let mut up = Vec::new();
        let mut fan_out = vec![0u32; n + 1];
        up_at.push(0);
        for id in ids {
            // `id` came from the graph, and so do its dependencies.
            for d in graph.direct_dependencies(id).unwrap_or_default() {
                if let Some(&s) = slot_of.get(d) {
                    up.push(s as u32);
                    fan_out[s] += 1;
                }
            }
            up_at.push(up.len() as u32);
        }
        let mut down_at = Vec::with_capacity(n + 1);
        let mut acc = 0u32;
        for &f in &fan_out {
            down_at.push(acc);
            acc += f;
        }
        down_at.truncate(n + 1);
        let mut fill = down_at.clone();
        let mut down = vec![0u32; up.len()];
        for i in 0..n {
            for &d in &up[up_at[i] as usize..up_at[i + 1] as usize] {
                down[fill[d as usize] as usize] = i as u32;
                fill[d as usize] += 1;
            }
        }
        Topo {
            down_at,
            down,
            up_at,
            up,
        }
    }

    /// The dependencies of slot `i`.
    pub(crate) fn deps(&self, i: usize) -> &[u32] {
        &self.up[self.up_at[i] as usize..self.up_at[i + 1] as usize]
    }

    /// The dependents of slot `i`.
    pub(crate) fn dependents(&self, i: usize) -> &[u32] {
        &self.down[self.down_at[i] as usize..self.down_at[i + 1] as usize]
    }
}

/// Makes the nodes' ranks dense (a permutation of `0..n`, lower first, ties by
/// slot) and returns the slot of each rank. O(n) when the plan's ranks already are
/// one (as `Plan` builds them), else O(n log n).
pub(crate) fn dense_ranks<Id: Ord>(rank: &mut [usize], ids: &[Id]) -> Vec<usize> {
    let n = rank.len();
    let mut slot_at = vec![usize::MAX; n];
    let mut dense = true;
    for (i, &r) in rank.iter().enumerate() {
        match slot_at.get_mut(r) {
            Some(s) if *s == usize::MAX => *s = i,
            _ => {
                dense = false;
                break;
            }
        }
    }
    if !dense {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by(|&a, &b| (rank[a], &ids[a]).cmp(&(rank[b], &ids[b])));
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        slot_at = order;
    }
    slot_at
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
            compiled: OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_made_dense_keeping_their_order() {
        let mut rank = vec![7, usize::MAX, 3, 7];
        let slot_at = dense_ranks(&mut rank, &["a", "b", "c", "d"]);
        assert_eq!(slot_at, [2, 0, 3, 1]);
        assert_eq!(rank, [1, 3, 0, 2]);
        let mut rank = vec![1, 0];
        assert_eq!(dense_ranks(&mut rank, &["a", "b"]), [1, 0]);
    }

    #[test]
    fn the_index_is_shared_by_clones_and_dropped_by_a_new_order() {
        let graph = DepGraph::from_tasks([("b", vec!["a"]), ("a", vec![])]).unwrap();
        let plan = Plan::new(graph);
        plan.prepare();
        let clone = plan.clone();
        assert!(Arc::ptr_eq(plan.compiled(), clone.compiled()));
        assert_eq!(plan.compiled().ids, ["a", "b"]);
        assert_eq!(plan.compiled().unmet, [0, 1]);
        assert_eq!(plan.compiled().topo.dependents(0), [1]);
        let reordered = clone.with_order(["b"]).unwrap();
        assert_eq!(reordered.compiled().rank, [1, 0]);
        assert_eq!(reordered.compiled().slot_at, [1, 0]);
    }

    #[test]
    fn marking_a_node_done_recomputes_what_its_dependents_wait_for() {
        let graph = DepGraph::from_tasks([("b", vec!["a"]), ("a", vec![])]).unwrap();
        let mut plan = Plan::new(graph);
        plan.prepare();
        plan.mark_done(&"a");
        assert_eq!(plan.compiled().unmet, [0, 0]);
        assert_eq!(plan.compiled().in_run, [false, true]);
    }
}
