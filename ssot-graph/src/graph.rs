//! The graph's storage, its edits, and the one hard algorithm: keeping a topological
//! order current while dependencies are added (Pearce–Kelly).
//!
//! # Storage: compact arrays, not a petgraph graph
//!
//! Every node gets a dense `u32` slot. What every edit reads or writes about a slot
//! (its position in the topological order, its count of unmet dependencies, its
//! index in the ready set, its state) is one 16-byte [`Node`] record, so an edit
//! touches one record per endpoint. Dependencies and dependents are two adjacency
//! lists per slot, kept in one shared pool (the `adjacency` module) rather than a
//! `Vec` per node, which spent more time in the allocator than in the cycle check.
//! A `HashMap<Id, u32>` (foldhash) maps ids to slots; removed slots are reused.
//!
//! This was chosen over keeping a `petgraph::StableDiGraph` as the storage because
//! the cycle check is a graph search, and a search's cost is memory traffic: here a
//! node's neighbours are contiguous and the positions it compares are 16 bytes
//! apart, where a petgraph graph walks a linked list of edge records scattered over
//! its edge vector. Contiguous lists also make "is this dependency already there?"
//! a scan of the shorter of two short lists. petgraph is still used where it does
//! the job as well as anything would: the bulk builder is a petgraph graph and finds
//! cycles with petgraph's strongly-connected-components algorithm, and
//! [`to_petgraph`](DepGraph::to_petgraph) hands the graph to petgraph's algorithms.
//!
//! # The cycle check: Pearce–Kelly
//!
//! The graph keeps a total order of its nodes in which every dependency comes before
//! its dependents (`ord`, slot to position, and `at`, position to slot, with holes
//! where nodes were removed). Adding "`task` depends on `dep`" is free when `dep` is
//! already earlier than `task`: the order stays valid and no cycle is possible,
//! because every path runs forward in the order. Otherwise only the nodes whose
//! position lies between the two can be involved: a breadth-first search forward from
//! `task` through dependents, skipping every node placed after `dep`, either reaches
//! `dep` (a cycle: the search's parent pointers give the shortest cycle through the
//! new dependency, and nothing has been changed) or collects the set F that must move
//! after `dep`; a search backward from `dep`, skipping every node placed before
//! `task`, collects the set B that must stay before. Those two sets are given back
//! their own positions, B's nodes first, each set keeping its relative order. The
//! work is proportional to the nodes and edges in that affected region, never the
//! whole graph (D. J. Pearce and P. H. J. Kelly, "A dynamic topological sort
//! algorithm for directed acyclic graphs", JEA 11, 2006). petgraph's
//! `acyclic::Acyclic` runs the same algorithm over a `BTreeMap` of positions and
//! `BTreeMap`s of visited nodes; here positions are plain arrays, the visited marks
//! are epoch stamps (never cleared between searches; one stamp serves both searches
//! of a check, because F and B never share a node), and the search buffers are
//! kept and reused, so a check allocates nothing once the graph has warmed up.
//!
//! Alternatives considered: a full reachability search per edge (what daggy does
//! with petgraph's `has_path_connecting`) costs O(V + E) per edge; the
//! Bender–Fineman–Gilbert–Tarjan two-way search has a better worst-case bound
//! (O(min(m^1/2, n^2/3)) amortized per edge) but larger constants and more state, and
//! Pearce–Kelly is the one measured fastest on sparse graphs in practice, which is
//! what dependency graphs are.
//!
//! Where the time goes (measured on the benchmark's random DAG of 10,000 nodes and
//! 50,000 edges inserted in adversarial order): about one edge in four goes against
//! the order, and the searches then visit about 0.8 nodes and 1.7 edges per inserted
//! edge in total. The search is therefore not the bulk of the cost: the per-edge
//! plumbing is (two id lookups, the duplicate check, two list appends, the counts),
//! which is why the storage above is laid out for memory traffic. Two ideas were
//! left for later: a two-way search that stops when the smaller of the two sets is
//! complete, which would visit about a third as many nodes here but needs
//! order-maintenance labels instead of dense positions; and an index-based API that
//! skips the id lookups.
//!
//! # Ready and blocked: counted, not scanned
//!
//! Each node counts its dependencies that are not [`State::Done`]. A pending node
//! with a count of zero is ready; the ready nodes are kept in a vector with each
//! node's position in it, so joining and leaving the set are O(1). A change into or
//! out of `Done` adjusts the counts of the node's direct dependents only.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use crate::adjacency::Lists;
use crate::cycle::Cycle;
use crate::error::Error;
use crate::state::State;

/// The id-to-slot map.
pub(crate) type IdMap<Id> = HashMap<Id, u32, foldhash::fast::RandomState>;

/// "No slot", "not in the ready set", "no position".
pub(crate) const NONE: u32 = u32::MAX;

/// The most nodes a graph holds. Positions may run up to twice the node count before
/// they are compacted, and must stay below [`NONE`].
pub(crate) const MAX_NODES: usize = (u32::MAX / 4) as usize;

/// Positions are renumbered once removals have left this many holes beyond the node
/// count (and more holes than nodes), keeping `at` at most about twice the node count.
const COMPACT_SLACK: usize = 1024;

/// A dependency graph over ids of type `Id`, kept acyclic, with each node's
/// [`State`].
///
/// See the [crate documentation](crate) for examples and the cost of every operation.
/// `Id` is anything `Clone + Eq + Hash + Ord`: `String`, `&str`, integers, your own
/// id type. The `Ord` gives every listing a deterministic order; the graph stores two
/// copies of each id (one in its lookup table).
///
/// Methods that take an id take it by reference, as any borrowed form of `Id`
/// (`&str` for `String` ids), like [`HashMap::get`]; see
/// [looking ids up](crate#looking-ids-up) for the bound and why fallible lookups
/// also ask `Display`.
#[derive(Clone)]
pub struct DepGraph<Id> {
    /// Id to slot.
    pub(crate) index: IdMap<Id>,
    /// Slot to id; `None` for a free slot.
    pub(crate) ids: Vec<Option<Id>>,
    /// Slot to its direct dependencies (arcs into the slot).
    pub(crate) deps: Lists,
    /// Slot to its direct dependents (arcs out of the slot).
    pub(crate) dependents: Lists,
    /// Slot to what is read and written on every edit of the slot.
    pub(crate) node: Vec<Node>,
    /// Position to slot, `NONE` for a hole. Iterating it skipping holes is a
    /// topological order.
    pub(crate) at: Vec<u32>,
    /// The ready slots, in no particular order.
    pub(crate) ready: Vec<u32>,
    /// Free slots, reused by `add_node`.
    free: Vec<u32>,
    /// Number of dependencies (arcs).
    arcs: usize,
    /// Reusable buffers for the cycle check.
    search: Search,
}

/// The per-slot fields every edit touches, together so that an edit reads one
/// 16-byte record per endpoint rather than four arrays.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// Position in the topological order (`NONE` for a free slot).
    pub(crate) ord: u32,
    /// The number of direct dependencies that are not `Done`.
    pub(crate) unmet: u32,
    /// Index in `ready`, or `NONE`.
    ready_at: u32,
    pub(crate) state: State,
}

impl Node {
    const FREE: Node = Node {
        ord: NONE,
        unmet: 0,
        ready_at: NONE,
        state: State::Pending,
    };
}

/// Scratch space of the Pearce–Kelly search, kept between calls so that a check
/// allocates nothing once warm.
#[derive(Clone, Default)]
struct Search {
    /// Slot to the stamp of the search that last visited it; 0 (what a new slot
    /// holds) is never a search's stamp.
    mark: Vec<u32>,
    /// Slot to the node the forward search reached it from.
    parent: Vec<u32>,
    /// The stamp of the latest search. Both halves of a search mark with it: the
    /// forward and backward sets never share a node (a node in both would lie on a
    /// path from `y` to `x`, which the forward search reports as a cycle before the
    /// backward one starts), so one stamp tells "visited by this search" apart.
    epoch: u32,
    forward: Vec<u32>,
    backward: Vec<u32>,
    positions: Vec<u32>,
}

impl Search {
    /// Starts a new search, returning its stamp. When the stamps run out (once in
    /// four billion searches) every mark is cleared and stamps start again at 1.
    fn next_epoch(&mut self) -> u32 {
        self.epoch = match self.epoch.checked_add(1) {
            Some(next) => next,
            None => {
                self.mark.fill(0);
                1
            }
        };
        self.epoch
    }
}

impl<Id> Default for DepGraph<Id> {
    fn default() -> Self {
        DepGraph {
            index: IdMap::default(),
            ids: Vec::new(),
            deps: Lists::default(),
            dependents: Lists::default(),
            node: Vec::new(),
            at: Vec::new(),
            ready: Vec::new(),
            free: Vec::new(),
            arcs: 0,
            search: Search::default(),
        }
    }
}

impl<Id> DepGraph<Id> {
    /// An empty graph.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of nodes. O(1).
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the graph has no nodes. O(1).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The number of dependencies (edges). O(1).
    #[must_use]
    pub fn dependency_count(&self) -> usize {
        self.arcs
    }

    /// Every node's id, in no particular order. O(1) per id.
    pub fn nodes(&self) -> impl Iterator<Item = &Id> + '_ {
        self.ids.iter().flatten()
    }

    /// The number of slots, live or free: the bound of every per-slot vector.
    pub(crate) fn slot_bound(&self) -> usize {
        self.ids.len()
    }

    /// The id in a live slot.
    pub(crate) fn id(&self, slot: u32) -> &Id {
        // Invariant: every slot reachable from `index`, `at`, `ready` or an adjacency
        // list is live, and live slots hold `Some`; `remove_node` unlinks a slot from
        // all of them before clearing it.
        #[allow(clippy::expect_used)]
        self.ids[slot as usize]
            .as_ref()
            .expect("a live slot holds its id")
    }

    /// Live slots in topological order (every dependency before its dependents).
    pub(crate) fn slots_in_order(&self) -> impl Iterator<Item = u32> + '_ {
        self.at.iter().copied().filter(|&v| v != NONE)
    }

    /// Recomputes whether `v` belongs to the ready set and moves it in or out.
    fn refresh_ready(&mut self, v: u32) {
        let n = self.node[v as usize];
        self.set_ready(v, n.state == State::Pending && n.unmet == 0);
    }

    /// Puts `v` in the ready set or takes it out. O(1).
    fn set_ready(&mut self, v: u32, ready: bool) {
        let vi = v as usize;
        let is = self.node[vi].ready_at != NONE;
        if ready && !is {
            self.node[vi].ready_at = self.ready.len() as u32;
            self.ready.push(v);
        } else if !ready && is {
            let p = self.node[vi].ready_at as usize;
            self.ready.swap_remove(p);
            if let Some(&moved) = self.ready.get(p) {
                self.node[moved as usize].ready_at = p as u32;
            }
            self.node[vi].ready_at = NONE;
        }
    }

    /// Whether the arc `dep -> task` exists: a scan of the shorter adjacency list.
    fn has_arc(&self, dep: u32, task: u32) -> bool {
        let out = self.dependents.get(dep);
        let inn = self.deps.get(task);
        // Equivalent mutants (`<=` as `>` and the like): the two lists mirror each
        // other, so either scan gives the same answer; the shorter is only faster.
        if out.len() <= inn.len() {
            out.contains(&task)
        } else {
            inn.contains(&dep)
        }
    }

    /// Adds the arc `dep -> task` ("`task` depends on `dep`") if it keeps the graph
    /// acyclic. `Ok(false)` if it was already there; `Err` with the cycle's slots, in
    /// "depends on" order starting with `task, dep`, if it would close one. Nothing
    /// changes on `Err`.
    pub(crate) fn link(&mut self, dep: u32, task: u32) -> Result<bool, Vec<u32>> {
        debug_assert_ne!(dep, task);
        // Equivalent mutant: `<=` here, since two nodes never share a position.
        if self.node[dep as usize].ord < self.node[task as usize].ord {
            if self.has_arc(dep, task) {
                return Ok(false);
            }
        } else {
            // `dep` is placed after `task`: the arc cannot exist yet (the order is
            // topological), and the order must change or the arc is refused.
            self.reorder(dep, task)?;
        }
        self.dependents.push(dep, task);
        self.deps.push(task, dep);
        self.arcs += 1;
        if self.node[dep as usize].state != State::Done {
            self.node[task as usize].unmet += 1;
            self.refresh_ready(task);
        }
        Ok(true)
    }

    /// Pearce–Kelly: makes room for the arc `x -> y` where `ord[y] < ord[x]`, or
    /// returns the cycle it would close. See the module documentation.
    fn reorder(&mut self, x: u32, y: u32) -> Result<(), Vec<u32>> {
        let lower = self.node[y as usize].ord;
        let upper = self.node[x as usize].ord;
        let node = &mut self.node;
        let s = &mut self.search;
        let mark = s.next_epoch();

        // Forward from y through dependents, within positions [lower, upper].
        s.forward.clear();
        s.forward.push(y);
        s.mark[y as usize] = mark;
        let mut i = 0;
        while let Some(&v) = s.forward.get(i) {
            i += 1;
            for &w in self.dependents.get(v) {
                let o = node[w as usize].ord;
                if o > upper {
                    continue;
                }
                if o == upper {
                    // `w` is `x`: y already reaches x, so x -> y closes a cycle.
                    s.parent[w as usize] = v;
                    let mut cycle = vec![y];
                    let mut cur = x;
                    while cur != y {
                        cycle.push(cur);
                        cur = s.parent[cur as usize];
                    }
                    return Err(cycle);
                }
                if s.mark[w as usize] != mark {
                    s.mark[w as usize] = mark;
                    s.parent[w as usize] = v;
                    s.forward.push(w);
                }
            }
        }

        // Backward from x through dependencies, within positions (lower, upper].
        s.backward.clear();
        s.backward.push(x);
        s.mark[x as usize] = mark;
        let mut i = 0;
        while let Some(&v) = s.backward.get(i) {
            i += 1;
            for &w in self.deps.get(v) {
                let o = node[w as usize].ord;
                // Equivalent mutant: `o >= lower` would admit only `y` itself
                // (the one node at `lower`), and `y` is never a dependency of `x`
                // here, or the forward search would have found the cycle.
                if o > lower && s.mark[w as usize] != mark {
                    s.mark[w as usize] = mark;
                    s.backward.push(w);
                }
            }
        }

        // Hand the union of both sets' positions back: B first, then F, each in its
        // old relative order. (k log k for the k nodes moved, as the two sorts
        // before it.)
        s.backward.sort_unstable_by_key(|&v| node[v as usize].ord);
        s.forward.sort_unstable_by_key(|&v| node[v as usize].ord);
        s.positions.clear();
        s.positions.extend(
            s.backward
                .iter()
                .chain(&s.forward)
                .map(|&v| node[v as usize].ord),
        );
        s.positions.sort_unstable();
        for (&v, &p) in s.backward.iter().chain(&s.forward).zip(&s.positions) {
            node[v as usize].ord = p;
            self.at[p as usize] = v;
        }
        Ok(())
    }

    /// Removes the arc `dep -> task` if present.
    pub(crate) fn unlink(&mut self, dep: u32, task: u32) -> bool {
        if !self.deps.remove(task, dep) {
            return false;
        }
        self.dependents.remove(dep, task);
        self.arcs -= 1;
        if self.node[dep as usize].state != State::Done {
            self.node[task as usize].unmet -= 1;
            self.refresh_ready(task);
        }
        true
    }

    /// Sets a slot's state, adjusting its dependents' counts when it enters or
    /// leaves `Done`. Returns the previous state.
    pub(crate) fn set_slot_state(&mut self, v: u32, new: State) -> State {
        let vi = v as usize;
        let old = self.node[vi].state;
        if old == new {
            return old;
        }
        self.node[vi].state = new;
        let was_done = old == State::Done;
        let is_done = new == State::Done;
        if was_done != is_done {
            for k in 0..self.dependents.len(v) {
                let w = self.dependents.get(v)[k];
                if is_done {
                    self.node[w as usize].unmet -= 1;
                } else {
                    self.node[w as usize].unmet += 1;
                }
                self.refresh_ready(w);
            }
        }
        self.refresh_ready(v);
        old
    }

    /// Renumbers positions 0.. in the current order, dropping holes. O(positions).
    fn compact_order(&mut self) {
        let mut next = 0usize;
        for k in 0..self.at.len() {
            let v = self.at[k];
            if v != NONE {
                self.at[next] = v;
                self.node[v as usize].ord = next as u32;
                next += 1;
            }
        }
        self.at.truncate(next);
    }
}

impl<Id: Clone + Eq + Hash + Ord> DepGraph<Id> {
    /// An empty graph with room for `nodes` nodes before it reallocates.
    #[must_use]
    pub fn with_capacity(nodes: usize) -> Self {
        let mut g = Self::default();
        g.index.reserve(nodes);
        g.ids.reserve(nodes);
        g.deps = Lists::with_capacity(nodes, 0);
        g.dependents = Lists::with_capacity(nodes, 0);
        g.node.reserve(nodes);
        g.at.reserve(nodes);
        g.search.mark.reserve(nodes);
        g.search.parent.reserve(nodes);
        g
    }

    /// The slot of `id`, or [`Error::UnknownNode`].
    pub(crate) fn slot<Q>(&self, id: &Q) -> Result<u32, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        self.index
            .get(id)
            .copied()
            .ok_or_else(|| Error::unknown_node(id))
    }

    /// Builds a graph from ids (slot `i` holds `ids[i]`), deduplicated dependency
    /// lists, and a topological order of all slots. Every node starts `Pending`.
    pub(crate) fn from_parts(ids: Vec<Id>, deps: Vec<Vec<u32>>, order: Vec<u32>) -> Self {
        let n = ids.len();
        let mut g = DepGraph::with_capacity(n);
        let mut dependents: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (task, list) in deps.iter().enumerate() {
            for &d in list {
                dependents[d as usize].push(task as u32);
            }
        }
        g.arcs = deps.iter().map(Vec::len).sum();
        g.node = deps
            .iter()
            .map(|l| Node {
                unmet: l.len() as u32,
                ..Node::FREE
            })
            .collect();
        g.deps = Lists::from_vecs(&deps);
        g.dependents = Lists::from_vecs(&dependents);
        for (p, &v) in order.iter().enumerate() {
            g.node[v as usize].ord = p as u32;
        }
        g.at = order;
        g.search.mark = vec![0; n];
        g.search.parent = vec![NONE; n];
        for (slot, id) in ids.iter().enumerate() {
            g.index.insert(id.clone(), slot as u32);
        }
        g.ids = ids.into_iter().map(Some).collect();
        for v in 0..n as u32 {
            g.refresh_ready(v);
        }
        g
    }

    /// Adds a node, [`Pending`](State::Pending) and with no dependencies.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateNode`] if the id is already present;
    /// [`Error::TooManyNodes`] past about a billion nodes.
    ///
    /// Cost: O(1) amortized (a hash insert; after many removals, an occasional
    /// O(V) renumbering of positions, amortized over those removals).
    pub fn add_node(&mut self, id: Id) -> Result<(), Error<Id>> {
        if self.index.contains_key(&id) {
            return Err(Error::DuplicateNode { id });
        }
        if self.index.len() >= MAX_NODES {
            return Err(Error::TooManyNodes {
                id,
                limit: MAX_NODES,
            });
        }
        if self.at.len() >= 2 * self.index.len() + COMPACT_SLACK {
            self.compact_order();
        }
        let position = self.at.len() as u32;
        let slot = match self.free.pop() {
            Some(slot) => {
                let si = slot as usize;
                self.ids[si] = Some(id.clone());
                self.node[si] = Node {
                    ord: position,
                    ..Node::FREE
                };
                slot
            }
            None => {
                let slot = self.ids.len() as u32;
                self.ids.push(Some(id.clone()));
                self.deps.push_list();
                self.dependents.push_list();
                self.node.push(Node {
                    ord: position,
                    ..Node::FREE
                });
                self.search.mark.push(0);
                self.search.parent.push(NONE);
                slot
            }
        };
        self.at.push(slot);
        self.index.insert(id, slot);
        self.refresh_ready(slot);
        Ok(())
    }

    /// Removes a node and every dependency to and from it. Its dependents lose a
    /// dependency: those it was holding (it was not `Done`) may become ready.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(Σ degree of its neighbours): each neighbour's list is scanned to
    /// unlink it.
    pub fn remove_node<Q>(&mut self, id: &Q) -> Result<(), Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let v = self.slot(id)?;
        let vi = v as usize;
        let held = self.node[vi].state != State::Done;
        let deps = self.deps.take(v);
        for &d in &deps {
            self.dependents.remove(d, v);
        }
        let dependents = self.dependents.take(v);
        for &w in &dependents {
            self.deps.remove(w, v);
            if held {
                self.node[w as usize].unmet -= 1;
                self.refresh_ready(w);
            }
        }
        self.arcs -= deps.len() + dependents.len();
        self.set_ready(v, false);
        self.at[self.node[vi].ord as usize] = NONE;
        self.node[vi] = Node::FREE;
        self.index.remove(id);
        self.ids[vi] = None;
        self.free.push(v);
        Ok(())
    }

    /// Makes `task` depend on `depends_on`, unless that would close a cycle.
    /// Returns `true` if the dependency was added, `false` if it was already there.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`] for an unknown id, [`Error::SelfDependency`] when both
    /// are the same node, and [`Error::Cycle`] when `depends_on` already depends on
    /// `task`, directly or not: the error carries the shortest such cycle through the
    /// new dependency, starting `task -> depends_on -> ...`. On error the graph is
    /// unchanged.
    ///
    /// Cost: O(min(degree of either)) when `depends_on` is already placed before
    /// `task` in the maintained order. Otherwise the Pearce–Kelly search visits only
    /// the nodes placed between the two and their edges (the "affected region"),
    /// plus a sort of what it visited: never a traversal of the whole graph unless
    /// the whole graph lies between them.
    pub fn add_dependency<Q>(&mut self, task: &Q, depends_on: &Q) -> Result<bool, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let t = self.slot(task)?;
        let d = self.slot(depends_on)?;
        if t == d {
            return Err(Error::SelfDependency {
                id: self.id(t).clone(),
            });
        }
        self.link(d, t).map_err(|cycle| Error::Cycle {
            task: self.id(t).clone(),
            depends_on: self.id(d).clone(),
            cycle: Cycle::new(cycle.into_iter().map(|s| self.id(s).clone()).collect()),
        })
    }

    /// Removes the dependency of `task` on `depends_on`. Returns `true` if it was
    /// there. `task` may become ready.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`] for an unknown id.
    ///
    /// Cost: O(degree of `task` + degree of `depends_on`).
    pub fn remove_dependency<Q>(&mut self, task: &Q, depends_on: &Q) -> Result<bool, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let t = self.slot(task)?;
        let d = self.slot(depends_on)?;
        Ok(self.unlink(d, t))
    }

    /// Whether the graph has a node with this id. O(1).
    #[must_use]
    pub fn contains<Q>(&self, id: &Q) -> bool
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.contains_key(id)
    }

    /// Whether `task` directly depends on `depends_on` (`false` if either is
    /// unknown). O(min(degree of either)).
    #[must_use]
    pub fn has_dependency<Q>(&self, task: &Q, depends_on: &Q) -> bool
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match (self.index.get(task), self.index.get(depends_on)) {
            (Some(&t), Some(&d)) => self.has_arc(d, t),
            _ => false,
        }
    }

    /// The node's state, or `None` if there is no such node. O(1).
    #[must_use]
    pub fn state<Q>(&self, id: &Q) -> Option<State>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.get(id).map(|&v| self.node[v as usize].state)
    }

    /// Sets a node's state and returns the previous one. Any state may follow any
    /// other; see [`State`] for what each means to `ready()` and `blocked()`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(number of direct dependents) when the node enters or leaves
    /// [`State::Done`] (each dependent's unmet count changes), O(1) otherwise.
    pub fn set_state<Q>(&mut self, id: &Q, state: State) -> Result<State, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let v = self.slot(id)?;
        Ok(self.set_slot_state(v, state))
    }

    /// Marks a node [`Done`](State::Done): dependents whose last unmet dependency
    /// it was become ready. Same as `set_state(id, State::Done)`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(number of direct dependents).
    pub fn mark_done<Q>(&mut self, id: &Q) -> Result<(), Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        self.set_state(id, State::Done).map(drop)
    }

    /// Marks a node [`Pending`](State::Pending) again (for example to redo it): if
    /// it was `Done`, its dependents are held by it once more. Same as
    /// `set_state(id, State::Pending)`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(number of direct dependents) if it was `Done`, else O(1).
    pub fn mark_pending<Q>(&mut self, id: &Q) -> Result<(), Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        self.set_state(id, State::Pending).map(drop)
    }
}

impl<Id: fmt::Debug + Ord> fmt::Debug for DepGraph<Id> {
    /// Each node, sorted by id, with its state and its direct dependencies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Node<'a, Id> {
            state: State,
            depends_on: Vec<&'a Id>,
        }
        impl<Id: fmt::Debug> fmt::Debug for Node<'_, Id> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} ", self.state)?;
                f.debug_list().entries(&self.depends_on).finish()
            }
        }
        let mut nodes: Vec<(&Id, Node<'_, Id>)> = self
            .ids
            .iter()
            .enumerate()
            .filter_map(|(slot, id)| {
                let id = id.as_ref()?;
                let mut depends_on: Vec<&Id> = self
                    .deps
                    .get(slot as u32)
                    .iter()
                    .filter_map(|&d| self.ids[d as usize].as_ref())
                    .collect();
                depends_on.sort_unstable();
                Some((
                    id,
                    Node {
                        state: self.node[slot].state,
                        depends_on,
                    },
                ))
            })
            .collect();
        nodes.sort_unstable_by(|a, b| a.0.cmp(b.0));
        f.debug_map().entries(nodes).finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks every internal invariant: the order is topological and consistent
    /// with `at`, counts and the ready set match the states.
    pub(crate) fn check_invariants<Id: Clone + Eq + Hash + Ord + fmt::Debug>(g: &DepGraph<Id>) {
        let mut live = 0;
        for (slot, id) in g.ids.iter().enumerate() {
            let v = slot as u32;
            let Some(id) = id else {
                assert_eq!(g.node[slot].ord, NONE);
                assert!(g.deps.get(v).is_empty() && g.dependents.get(v).is_empty());
                assert_eq!(g.node[slot].ready_at, NONE);
                continue;
            };
            live += 1;
            assert_eq!(g.index[id], v);
            assert_eq!(g.at[g.node[slot].ord as usize], v);
            for &d in g.deps.get(v) {
                assert!(g.node[d as usize].ord < g.node[slot].ord, "order violated");
                assert!(g.dependents.get(d).contains(&v));
            }
            let unmet = g
                .deps
                .get(v)
                .iter()
                .filter(|&&d| g.node[d as usize].state != State::Done)
                .count();
            assert_eq!(g.node[slot].unmet as usize, unmet);
            let ready = g.node[slot].state == State::Pending && unmet == 0;
            assert_eq!(g.node[slot].ready_at != NONE, ready);
            if ready {
                assert_eq!(g.ready[g.node[slot].ready_at as usize], v);
            }
        }
        assert_eq!(live, g.index.len());
        assert_eq!(g.arcs, g.deps.entries());
        assert_eq!(g.arcs, g.dependents.entries());
        assert_eq!(g.at.iter().filter(|&&v| v != NONE).count(), live);
    }

    #[test]
    fn an_edge_against_the_order_reorders_the_affected_region() {
        let mut g = DepGraph::new();
        for id in 0..6u32 {
            g.add_node(id).unwrap();
        }
        // Order 0..5; make 0 depend on 5 and 1 on 0, forcing moves.
        assert!(g.add_dependency(&0, &5).unwrap());
        assert!(g.add_dependency(&1, &0).unwrap());
        assert!(g.add_dependency(&5, &3).unwrap());
        check_invariants(&g);
        let err = g.add_dependency(&3, &1).unwrap_err();
        match err {
            Error::Cycle { cycle, .. } => assert_eq!(cycle.nodes(), &[3, 1, 0, 5]),
            other => panic!("expected a cycle, got {other:?}"),
        }
        check_invariants(&g);
    }

    #[test]
    fn with_capacity_reserves_room_for_every_node() {
        let g: DepGraph<u32> = DepGraph::with_capacity(1000);
        assert!(g.index.capacity() >= 1000);
        assert!(g.ids.capacity() >= 1000 && g.node.capacity() >= 1000);
        assert!(g.at.capacity() >= 1000);
        assert!(g.search.mark.capacity() >= 1000 && g.search.parent.capacity() >= 1000);
        assert!(g.is_empty());
    }

    #[test]
    fn duplicate_dependencies_are_not_counted_twice() {
        let mut g = DepGraph::new();
        g.add_node("a").unwrap();
        g.add_node("b").unwrap();
        assert!(g.add_dependency(&"a", &"b").unwrap());
        assert!(!g.add_dependency(&"a", &"b").unwrap());
        assert_eq!(g.dependency_count(), 1);
        g.mark_done(&"b").unwrap();
        assert_eq!(g.state(&"a"), Some(State::Pending));
        check_invariants(&g);
        assert!(g.remove_dependency(&"a", &"b").unwrap());
        assert!(!g.remove_dependency(&"a", &"b").unwrap());
        check_invariants(&g);
    }

    #[test]
    fn positions_are_compacted_after_many_removals() {
        let mut g = DepGraph::new();
        for round in 0..5u32 {
            for i in 0..1000u32 {
                g.add_node(round * 1000 + i).unwrap();
                if i > 0 {
                    g.add_dependency(&(round * 1000 + i), &(round * 1000 + i - 1))
                        .unwrap();
                }
            }
            for i in 0..1000u32 {
                if i % 10 != 0 {
                    g.remove_node(&(round * 1000 + i)).unwrap();
                }
            }
            check_invariants(&g);
        }
        assert!(g.at.len() <= 2 * g.len() + COMPACT_SLACK + 1);
        assert_eq!(g.len(), 500);
    }

    /// Renumbering is O(positions): it runs only once the holes exceed both the
    /// live node count and the slack, never on every insert.
    #[test]
    fn positions_are_compacted_only_past_the_slack() {
        let mut g = DepGraph::new();
        for id in 0..1200u32 {
            g.add_node(id).unwrap();
        }
        for id in 100..1200u32 {
            g.remove_node(&id).unwrap();
        }
        // 100 nodes over 1,200 positions: under 2 * 100 + 1,024 positions.
        g.add_node(5000).unwrap();
        assert_eq!(g.at.len(), 1201, "compacted too early");
        // Each insert takes a new position; the one that finds 2 * 101 + 1,024
        // positions taken renumbers first.
        for id in 0..25u32 {
            g.add_node(6000 + id).unwrap();
            g.remove_node(&(6000 + id)).unwrap();
        }
        assert_eq!(g.at.len(), 1226, "compacted too early");
        g.add_node(7000).unwrap();
        assert_eq!(g.at.len(), 102, "not compacted");
        check_invariants(&g);
    }

    /// A long pseudo-random run on a few hundred nodes: enough edits for the
    /// adjacency pool to move and compact lists and for positions to be compacted,
    /// with every invariant checked along the way.
    #[test]
    fn a_long_random_run_keeps_every_invariant() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n) as u32
        };
        let mut g = DepGraph::new();
        let (mut refused, mut added) = (0, 0);
        for step in 0..60_000u32 {
            let (a, b) = (next(400), next(400));
            match next(20) {
                0 => {
                    let _ = g.remove_node(&a);
                }
                1 | 2 => {
                    let _ = g.add_node(a);
                }
                3 => {
                    let _ = g.remove_dependency(&a, &b);
                }
                4 | 5 => {
                    let _ = g.set_state(&a, State::ALL[b as usize % State::ALL.len()]);
                }
                _ => match g.add_dependency(&a, &b) {
                    Ok(true) => added += 1,
                    Err(Error::Cycle { .. }) => refused += 1,
                    _ => {}
                },
            }
            if step % 5_000 == 0 {
                check_invariants(&g);
            }
        }
        check_invariants(&g);
        assert!(
            added > 1_000 && refused > 100,
            "{added} added, {refused} refused"
        );
        assert!(crate::adjacency::COMPACTIONS.with(|c| c.get()) > 0);
    }

    /// Two reorders in a row whose backward searches meet the same node: the
    /// second must not take the first one's marks for its own, or it leaves that
    /// node behind and the order stops being topological.
    #[test]
    fn consecutive_reorders_do_not_see_each_others_marks() {
        let mut g = DepGraph::new();
        for id in 0..6u32 {
            g.add_node(id).unwrap();
        }
        // In order: no search.
        g.add_dependency(&5, &4).unwrap();
        // Against the order: 5 and, behind it, 4 move before 1.
        g.add_dependency(&1, &5).unwrap();
        check_invariants(&g);
        // Against the order again: the backward search from 5 must collect 4 again.
        g.add_dependency(&0, &5).unwrap();
        check_invariants(&g);
        assert_eq!(g.topo_order(), [&2, &3, &4, &5, &0, &1]);
    }

    /// Each search takes the next stamp, and the marks are cleared (an O(V) pass)
    /// only when the stamps run out, not before.
    #[test]
    fn marks_are_cleared_only_when_the_stamps_run_out() {
        let mut g = DepGraph::new();
        for id in 0..4u32 {
            g.add_node(id).unwrap();
        }
        // Each of these goes against the order, so each runs a search.
        g.add_dependency(&0, &3).unwrap();
        g.add_dependency(&1, &2).unwrap();
        assert_eq!(g.search.epoch, 2, "one stamp per search");
        // The last stamp is still used without clearing.
        g.search.epoch = u32::MAX - 1;
        g.add_dependency(&3, &2).unwrap();
        assert_eq!(g.search.epoch, u32::MAX, "cleared too early");
        check_invariants(&g);
    }

    #[test]
    fn epoch_wraparound_clears_marks() {
        let mut g = DepGraph::new();
        for id in 0..4u32 {
            g.add_node(id).unwrap();
        }
        g.search.epoch = u32::MAX;
        g.search.mark.fill(u32::MAX);
        // Each of these goes against the order, so each runs a search.
        g.add_dependency(&0, &3).unwrap();
        assert_eq!(g.search.epoch, 1);
        assert!(
            g.search.mark.iter().all(|&m| m <= 1),
            "stale marks survived"
        );
        g.add_dependency(&1, &2).unwrap();
        g.add_dependency(&3, &2).unwrap();
        check_invariants(&g);
        assert_eq!(g.search.epoch, 3);
    }
}
