//! Bulk construction: take every node and dependency first, check once, and report
//! every cycle together.
//!
//! Adding dependencies one by one stops at the first cycle; a file of tasks written
//! by hand may hold several, and its author wants to see all of them in one run.
//! [`DepGraphBuilder`] accepts any dependencies (self-dependencies and cycles
//! included) into a petgraph `DiGraph`. [`build`](DepGraphBuilder::build) orders the
//! nodes with Kahn's algorithm, O(V + E); only when that fails does it run petgraph's
//! `kosaraju_scc` to find the strongly connected components, and for each a shortest
//! cycle through its smallest id (a breadth-first search inside the component).
//! Kosaraju's algorithm is used rather than petgraph's `tarjan_scc` because petgraph
//! implements Tarjan's recursively, which would overflow the stack on a long chain of
//! dependencies; its Kosaraju is iterative.

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::fmt;
use std::hash::Hash;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::cycle::{Cycle, CycleComponent};
use crate::error::Error;
use crate::graph::{DepGraph, IdMap, MAX_NODES, NONE};

/// Collects nodes and dependencies without checking for cycles, then builds a
/// [`DepGraph`] or reports every cycle at once.
///
/// ```
/// use ssot_graph::{DepGraphBuilder, Error};
///
/// let mut b = DepGraphBuilder::new();
/// for id in ["a", "b", "c", "d"] {
///     b.add_node(id)?;
/// }
/// b.add_dependency(&"a", &"b")?;
/// b.add_dependency(&"b", &"a")?;
/// b.add_dependency(&"c", &"c")?;
/// let cycles = b.cycles();
/// assert_eq!(cycles.len(), 2);
/// assert_eq!(cycles[0].cycle().to_string(), "a -> b -> a");
/// assert_eq!(cycles[1].cycle().to_string(), "c -> c");
/// assert!(matches!(b.build(), Err(Error::Cycles { .. })));
/// # Ok::<(), ssot_graph::Error<&str>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DepGraphBuilder<Id> {
    /// Arcs run from a dependency to its dependent, as in [`DepGraph`].
    graph: DiGraph<Id, (), u32>,
    index: IdMap<Id>,
}

impl<Id> Default for DepGraphBuilder<Id> {
    fn default() -> Self {
        DepGraphBuilder {
            graph: DiGraph::default(),
            index: IdMap::default(),
        }
    }
}

impl<Id: Clone + Eq + Hash + Ord> DepGraphBuilder<Id> {
    /// An empty builder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `nodes` nodes and `dependencies` dependencies.
    #[must_use]
    pub fn with_capacity(nodes: usize, dependencies: usize) -> Self {
        DepGraphBuilder {
            graph: DiGraph::with_capacity(nodes, dependencies),
            index: IdMap::with_capacity_and_hasher(nodes, Default::default()),
        }
    }

    /// The number of nodes so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no node has been added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds a node. O(1) amortized.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateNode`], [`Error::TooManyNodes`].
    pub fn add_node(&mut self, id: Id) -> Result<(), Error<Id>> {
        self.insert(id).map(drop)
    }

    fn insert(&mut self, id: Id) -> Result<NodeIndex<u32>, Error<Id>> {
        if self.index.contains_key(&id) {
            return Err(Error::DuplicateNode { id });
        }
        if self.index.len() >= MAX_NODES {
            return Err(Error::TooManyNodes {
                id,
                limit: MAX_NODES,
            });
        }
        let n = self.graph.add_node(id.clone());
        self.index.insert(id, n.index() as u32);
        Ok(n)
    }

    /// Records that `task` depends on `depends_on`. Nothing is checked but that
    /// both exist: a self-dependency or a cycle is reported by
    /// [`cycles`](Self::cycles) and [`build`](Self::build); a repeated dependency
    /// counts once. O(1) amortized.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    pub fn add_dependency<Q>(&mut self, task: &Q, depends_on: &Q) -> Result<(), Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let lookup = |id: &Q| {
            self.index
                .get(id)
                .map(|&n| NodeIndex::new(n as usize))
                .ok_or_else(|| Error::unknown_node(id))
        };
        let t = lookup(task)?;
        let d = lookup(depends_on)?;
        self.graph.add_edge(d, t, ());
        Ok(())
    }

    /// Every strongly connected component that holds a cycle (two or more nodes,
    /// or one that depends on itself), each with its members and one shortest cycle
    /// through its smallest id. Ordered by smallest member. Empty when the
    /// dependencies are acyclic.
    ///
    /// Cost: O(V + E), plus sorting each component's members.
    #[must_use]
    pub fn cycles(&self) -> Vec<CycleComponent<Id>> {
        let g = &self.graph;
        let mut component = vec![NONE; g.node_count()];
        let mut out = Vec::new();
        for (c, members) in petgraph::algo::kosaraju_scc(g).into_iter().enumerate() {
            let first = members[0];
            if members.len() == 1 && g.find_edge(first, first).is_none() {
                continue;
            }
            for &m in &members {
                component[m.index()] = c as u32;
            }
            let root = members
                .iter()
                .copied()
                .min_by(|a, b| g[*a].cmp(&g[*b]))
                .unwrap_or(first);
            let cycle = shortest_cycle(g, root, |n| component[n.index()] == c as u32);
            let mut members: Vec<Id> = members.into_iter().map(|m| g[m].clone()).collect();
            members.sort_unstable();
            out.push(CycleComponent::new(members, cycle));
        }
        out.sort_unstable_by(|a, b| a.members()[0].cmp(&b.members()[0]));
        out
    }

    /// Builds the graph: every node [`Pending`](crate::State::Pending), repeated
    /// dependencies merged.
    ///
    /// # Errors
    ///
    /// [`Error::Cycles`] with every cycle, as [`cycles`](Self::cycles) lists them.
    ///
    /// Cost: O(V + E) when acyclic.
    pub fn build(self) -> Result<DepGraph<Id>, Error<Id>> {
        let n = self.graph.node_count();
        // Kahn's algorithm, counting repeated arcs as often as they occur.
        let mut pending_deps = vec![0u32; n];
        for e in self.graph.raw_edges() {
            pending_deps[e.target().index()] += 1;
        }
        let mut order: Vec<u32> = (0..n as u32)
            .filter(|&v| pending_deps[v as usize] == 0)
            .collect();
        let mut i = 0;
        while let Some(&v) = order.get(i) {
            i += 1;
            for w in self
                .graph
                .neighbors_directed(NodeIndex::new(v as usize), Direction::Outgoing)
            {
                let k = &mut pending_deps[w.index()];
                *k -= 1;
                if *k == 0 {
                    order.push(w.index() as u32);
                }
            }
        }
        if order.len() < n {
            return Err(Error::Cycles {
                components: self.cycles(),
            });
        }
        let (nodes, edges) = self.graph.into_nodes_edges();
        let mut deps: Vec<Vec<u32>> = vec![Vec::new(); n];
        for e in &edges {
            deps[e.target().index()].push(e.source().index() as u32);
        }
        // Merge repeated dependencies: stamp each dependency with its task.
        let mut stamp = vec![NONE; n];
        for (task, list) in deps.iter_mut().enumerate() {
            list.retain(|&d| {
                let fresh = stamp[d as usize] != task as u32;
                stamp[d as usize] = task as u32;
                fresh
            });
        }
        let ids = nodes.into_iter().map(|node| node.weight).collect();
        Ok(DepGraph::from_parts(ids, deps, order))
    }
}

/// A shortest cycle through `root` in "depends on" order, searching only nodes for
/// which `inside` holds. `root` is in a component with a cycle, so one exists; if
/// the search found none (impossible), the cycle is `root` alone.
fn shortest_cycle<Id: Clone>(
    g: &DiGraph<Id, (), u32>,
    root: NodeIndex<u32>,
    inside: impl Fn(NodeIndex<u32>) -> bool,
) -> Cycle<Id> {
    // Walk "depends on": from a node to its dependencies (incoming arcs).
    let mut parent = vec![NONE; g.node_count()];
    let mut queue = VecDeque::from([root]);
    parent[root.index()] = root.index() as u32;
    let mut last = root;
    'search: while let Some(v) = queue.pop_front() {
        for w in g.neighbors_directed(v, Direction::Incoming) {
            if w == root {
                last = v;
                break 'search;
            }
            if inside(w) && parent[w.index()] == NONE {
                parent[w.index()] = v.index() as u32;
                queue.push_back(w);
            }
        }
    }
    let mut path = vec![g[last].clone()];
    let mut cur = last;
    while cur != root {
        cur = NodeIndex::new(parent[cur.index()] as usize);
        path.push(g[cur].clone());
    }
    path.reverse();
    Cycle::new(path)
}

impl<Id: Clone + Eq + Hash + Ord> DepGraph<Id> {
    /// A builder, for bulk construction that reports every cycle at once.
    #[must_use]
    pub fn builder() -> DepGraphBuilder<Id> {
        // Equivalent mutant: `DepGraphBuilder::from(Default::default())` is this same
        // empty builder (the identity `From`).
        DepGraphBuilder::new()
    }

    /// Builds a graph from `(task, dependencies)` pairs, as read from a file of
    /// tasks. Dependencies may name tasks listed later. Every node starts
    /// [`Pending`](crate::State::Pending); set states afterwards.
    ///
    /// # Errors
    ///
    /// Checked in this order, each reporting every instance found:
    /// [`Error::DuplicateNode`] for a task listed twice (the first repeat),
    /// [`Error::UnknownDependencies`] with every dependency on a task not in the
    /// list, and [`Error::Cycles`] with every cycle (a self-dependency is the cycle
    /// `a -> a`).
    ///
    /// Cost: O(V + E) when it succeeds.
    pub fn from_tasks<I, D>(tasks: I) -> Result<Self, Error<Id>>
    where
        I: IntoIterator<Item = (Id, D)>,
        D: IntoIterator<Item = Id>,
    {
        let tasks = tasks.into_iter();
        let mut b = DepGraphBuilder::with_capacity(tasks.size_hint().0, 0);
        let mut lists = Vec::with_capacity(tasks.size_hint().0);
        for (id, deps) in tasks {
            let n = b.insert(id)?;
            lists.push((n, deps));
        }
        let mut missing = Vec::new();
        for (t, deps) in lists {
            for dep in deps {
                match b.index.get(&dep) {
                    Some(&d) => {
                        b.graph.add_edge(NodeIndex::new(d as usize), t, ());
                    }
                    None => missing.push((b.graph[t].clone(), dep)),
                }
            }
        }
        if !missing.is_empty() {
            return Err(Error::UnknownDependencies { missing });
        }
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use crate::{DepGraph, DepGraphBuilder, Error};

    #[test]
    fn with_capacity_reserves_room_for_the_nodes_and_dependencies() {
        let b = DepGraphBuilder::<u32>::with_capacity(100, 300);
        let (nodes, edges) = b.graph.capacity();
        assert!(nodes >= 100 && edges >= 300, "{nodes} nodes, {edges} arcs");
        assert!(b.index.capacity() >= 100);
        assert!(b.is_empty());
    }

    #[test]
    fn len_and_is_empty_count_the_nodes_added() {
        let mut b = DepGraphBuilder::new();
        assert_eq!((b.len(), b.is_empty()), (0, true));
        b.add_node("a").unwrap();
        assert_eq!((b.len(), b.is_empty()), (1, false));
        b.add_node("b").unwrap();
        b.add_dependency(&"a", &"b").unwrap();
        assert_eq!((b.len(), b.is_empty()), (2, false));
        assert!(b.add_node("a").is_err());
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn from_tasks_accepts_forward_references() {
        let g = DepGraph::from_tasks([
            ("deploy", vec!["test", "docs"]),
            ("test", vec!["build", "build"]),
            ("build", vec![]),
            ("docs", vec![]),
        ])
        .unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g.dependency_count(), 3);
        assert_eq!(g.ready(), vec![&"build", &"docs"]);
        assert_eq!(g.topo_order(), vec![&"build", &"docs", &"test", &"deploy"]);
        crate::graph::tests::check_invariants(&g);
    }

    #[test]
    fn from_tasks_reports_every_cycle() {
        let err = DepGraph::from_tasks([
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a", "d"]),
            ("d", vec!["b"]),
            ("e", vec!["e"]),
            ("f", vec!["a"]),
        ])
        .unwrap_err();
        let Error::Cycles { components } = &err else {
            panic!("expected cycles, got {err:?}");
        };
        assert_eq!(components.len(), 2);
        assert_eq!(components[0].members(), &["a", "b", "c", "d"]);
        assert_eq!(components[0].cycle().nodes(), &["a", "b", "c"]);
        assert_eq!(components[1].cycle().nodes(), &["e"]);
        assert_eq!(
            err.to_string(),
            "the dependencies contain 2 cycles: a -> b -> c -> a (also caught in this loop: d); \
             e -> e (each id depends on the next; remove one dependency from each cycle)"
        );
    }

    #[test]
    fn from_tasks_reports_every_unknown_dependency_and_duplicates() {
        let err = DepGraph::from_tasks([("a", vec!["x"]), ("b", vec!["a", "y"])]).unwrap_err();
        assert_eq!(
            err,
            Error::UnknownDependencies {
                missing: vec![("a", "x"), ("b", "y")]
            }
        );
        let err = DepGraph::from_tasks([("a", vec![]), ("a", vec![])]).unwrap_err();
        assert_eq!(err, Error::DuplicateNode { id: "a" });
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 200_000u32;
        let tasks = (0..n).map(|i| (i, if i == 0 { vec![n - 1] } else { vec![i - 1] }));
        let err = DepGraph::from_tasks(tasks).unwrap_err();
        let Error::Cycles { components } = err else {
            panic!("expected a cycle");
        };
        assert_eq!(components.len(), 1);
        assert_eq!(components[0].cycle().len(), n as usize);
    }
}
