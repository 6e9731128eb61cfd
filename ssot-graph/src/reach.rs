//! Impact queries: what depends on a node, what it depends on, directly or not.
//!
//! Transitive queries are breadth-first searches with a bitset of visited slots
//! (V/8 bytes, allocated per call so that these methods take `&self`); the answers
//! are sorted by id. [`depends_on`](DepGraph::depends_on) prunes its search with the
//! maintained topological order: a node placed before `b` cannot depend on `b`.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;

use crate::adjacency::Lists;
use crate::error::Error;
use crate::graph::DepGraph;

/// A fixed-size set of slots.
struct SlotSet(Vec<u64>);

impl SlotSet {
    fn new(bound: usize) -> Self {
        SlotSet(vec![0; bound.div_ceil(64)])
    }

    /// Inserts `v`; `true` if it was not there.
    fn insert(&mut self, v: u32) -> bool {
        let (word, bit) = ((v / 64) as usize, 1u64 << (v % 64));
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }
}

impl<Id: Clone + Eq + Hash + Ord> DepGraph<Id> {
    /// Every node that depends on `id`, directly or through others: what a change
    /// to `id` affects. Sorted by id; `id` itself is not included.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(V/64 + k + edges out of those k + k log k) for k results.
    pub fn dependents<Q>(&self, id: &Q) -> Result<Vec<&Id>, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let v = self.slot(id)?;
        Ok(self.reach(v, &self.dependents))
    }

    /// Every node `id` depends on, directly or through others: what must be done
    /// before it. Sorted by id; `id` itself is not included.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(V/64 + k + edges into those k + k log k) for k results.
    pub fn dependencies<Q>(&self, id: &Q) -> Result<Vec<&Id>, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let v = self.slot(id)?;
        Ok(self.reach(v, &self.deps))
    }

    /// The nodes that depend directly on `id`, sorted by id.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(d log d) for d direct dependents.
    pub fn direct_dependents<Q>(&self, id: &Q) -> Result<Vec<&Id>, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let v = self.slot(id)?;
        Ok(self.sorted_ids(self.dependents.get(v)))
    }

    /// The nodes `id` depends on directly, sorted by id.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(d log d) for d direct dependencies.
    pub fn direct_dependencies<Q>(&self, id: &Q) -> Result<Vec<&Id>, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let v = self.slot(id)?;
        Ok(self.sorted_ids(self.deps.get(v)))
    }

    /// Whether `task` depends on `on`, directly or through others. `false` when
    /// they are the same node.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(1) when `task` is placed before `on` in the maintained order;
    /// otherwise a search backward from `task` that skips every node placed before
    /// `on`, O(V/64 + the nodes and edges between them) at most.
    pub fn depends_on<Q>(&self, task: &Q, on: &Q) -> Result<bool, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let t = self.slot(task)?;
        let o = self.slot(on)?;
        let floor = self.node[o as usize].ord;
        if self.node[t as usize].ord <= floor {
            return Ok(false);
        }
        let mut seen = SlotSet::new(self.slot_bound());
        let mut queue = vec![t];
        seen.insert(t);
        while let Some(v) = queue.pop() {
            for &d in self.deps.get(v) {
                if d == o {
                    return Ok(true);
                }
                // Equivalent mutant: `>=` would admit only `on` itself (the one node
                // at `floor`), which the test above has already answered for.
                if self.node[d as usize].ord > floor && seen.insert(d) {
                    queue.push(d);
                }
            }
        }
        Ok(false)
    }

    fn reach(&self, start: u32, adjacency: &Lists) -> Vec<&Id> {
        let mut seen = SlotSet::new(self.slot_bound());
        seen.insert(start);
        let mut found = vec![start];
        let mut i = 0;
        while let Some(&v) = found.get(i) {
            i += 1;
            for &w in adjacency.get(v) {
                if seen.insert(w) {
                    found.push(w);
                }
            }
        }
        self.sorted_ids(&found[1..])
    }

    fn sorted_ids(&self, slots: &[u32]) -> Vec<&Id> {
        let mut out: Vec<&Id> = slots.iter().map(|&v| self.id(v)).collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::DepGraph;

    #[test]
    fn impact_follows_chains_both_ways() {
        let mut g = DepGraph::new();
        for id in 1..=5u8 {
            g.add_node(id).unwrap();
        }
        // 1 <- 2 <- 3, 2 <- 4; 5 alone.
        g.add_dependency(&2, &1).unwrap();
        g.add_dependency(&3, &2).unwrap();
        g.add_dependency(&4, &2).unwrap();
        assert_eq!(g.dependents(&1).unwrap(), vec![&2, &3, &4]);
        assert_eq!(g.dependencies(&3).unwrap(), vec![&1, &2]);
        assert_eq!(g.direct_dependents(&2).unwrap(), vec![&3, &4]);
        assert_eq!(g.direct_dependencies(&2).unwrap(), vec![&1]);
        assert!(g.dependents(&5).unwrap().is_empty());
        assert!(g.depends_on(&3, &1).unwrap());
        assert!(!g.depends_on(&1, &3).unwrap());
        assert!(!g.depends_on(&3, &4).unwrap());
        assert!(!g.depends_on(&3, &3).unwrap());
        assert!(g.dependents(&9).is_err());
    }

    #[test]
    fn a_node_reached_by_many_paths_is_listed_once() {
        // 0 <- each of 1..=130 <- 131: 131 is reached through 130 paths, and the
        // slots span three 64-bit words of the visited set.
        let mut g = DepGraph::new();
        for id in 0..=131u32 {
            g.add_node(id).unwrap();
        }
        for mid in 1..=130u32 {
            g.add_dependency(&mid, &0).unwrap();
            g.add_dependency(&131, &mid).unwrap();
        }
        let all_but = |skip: u32| (0..=131u32).filter(|&v| v != skip).collect::<Vec<_>>();
        let ids = |found: Vec<&u32>| found.into_iter().copied().collect::<Vec<_>>();
        assert_eq!(ids(g.dependents(&0).unwrap()), all_but(0));
        assert_eq!(ids(g.dependencies(&131).unwrap()), all_but(131));
        assert!(g.depends_on(&131, &0).unwrap());
        assert!(!g.depends_on(&0, &131).unwrap());
    }

    #[test]
    fn depends_on_visits_each_node_once_on_a_ladder_of_diamonds() {
        // 0 is alone and placed first; then 40 diamonds stacked: 2^40 paths lead down
        // from the top. Answering "no" must not walk them one by one.
        let mut g = DepGraph::new();
        g.add_node(0u32).unwrap();
        g.add_node(1).unwrap();
        let mut bottom = 1;
        for i in 0..40u32 {
            let (left, right, top) = (2 + 3 * i, 3 + 3 * i, 4 + 3 * i);
            for id in [left, right, top] {
                g.add_node(id).unwrap();
            }
            for side in [left, right] {
                g.add_dependency(&side, &bottom).unwrap();
                g.add_dependency(&top, &side).unwrap();
            }
            bottom = top;
        }
        assert!(!g.depends_on(&bottom, &0).unwrap());
        assert!(g.depends_on(&bottom, &1).unwrap());
    }
}
