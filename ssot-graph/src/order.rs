//! Orders over the whole graph: [`waves`](DepGraph::waves),
//! [`topo_order`](DepGraph::topo_order) and
//! [`critical_path`](DepGraph::critical_path).
//!
//! All three walk the maintained topological order once, so none of them sorts the
//! graph from scratch. That order depends on the history of edits, though, and the
//! answers must not: two graphs with the same nodes and dependencies give the same
//! answers however they were built. So a node's *wave* is its depth (the number of
//! nodes on the longest chain of dependencies below it), which is a property of the
//! graph; the topological order this crate hands out lists wave 0, then wave 1, and
//! so on, each sorted by id; and the critical path breaks ties by id.

use std::time::Duration;

use crate::error::Error;
use crate::graph::{DepGraph, NONE};
use std::hash::Hash;

/// A node weight for [`DepGraph::critical_path`]: a number that adds with overflow
/// detection. Implemented for every primitive integer and for [`Duration`].
pub trait Weight: Copy + Ord {
    /// The weight of nothing.
    const ZERO: Self;

    /// `self + other`, or `None` on overflow.
    fn checked_add(self, other: Self) -> Option<Self>;
}

macro_rules! integer_weight {
    ($($t:ty),*) => {$(
        impl Weight for $t {
            const ZERO: Self = 0;
            fn checked_add(self, other: Self) -> Option<Self> {
                <$t>::checked_add(self, other)
            }
        }
    )*};
}

integer_weight!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

impl Weight for Duration {
    const ZERO: Self = Duration::ZERO;
    fn checked_add(self, other: Self) -> Option<Self> {
        Duration::checked_add(self, other)
    }
}

/// The heaviest chain of dependencies, as [`DepGraph::critical_path`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct CriticalPath<'a, Id, W> {
    nodes: Vec<&'a Id>,
    total: W,
}

impl<'a, Id, W: Copy> CriticalPath<'a, Id, W> {
    /// The nodes of the path, first to last: each depends directly on the one
    /// before it. Never empty.
    #[must_use]
    pub fn nodes(&self) -> &[&'a Id] {
        &self.nodes
    }

    /// The sum of the path's weights.
    #[must_use]
    pub fn total(&self) -> W {
        self.total
    }
}

impl<Id: Clone + Eq + Hash + Ord> DepGraph<Id> {
    /// The nodes in layers that can run in parallel: wave 0 holds the nodes with
    /// no dependencies, and each later wave the nodes whose dependencies all lie in
    /// earlier waves, with at least one in the wave just before (a node's wave is
    /// the length of the longest chain of dependencies below it). Each wave is
    /// sorted by id. States are not considered: this is the plan for the whole graph.
    ///
    /// Cost: O(V + E) for the depths, O(V log V) to sort the waves.
    #[must_use]
    pub fn waves(&self) -> Vec<Vec<&Id>> {
        let mut depth = vec![0u32; self.slot_bound()];
        let mut sizes: Vec<usize> = Vec::new();
        for v in self.slots_in_order() {
            let d = self
                .deps
                .get(v)
                .iter()
                .map(|&p| depth[p as usize] + 1)
                .max()
                .unwrap_or(0);
            depth[v as usize] = d;
            if sizes.len() <= d as usize {
                sizes.resize(d as usize + 1, 0);
            }
            // Only capacities come from `sizes`: `+=` as `*=` (a mutant) reserves
            // nothing and gives the same waves.
            sizes[d as usize] += 1;
        }
        let mut waves: Vec<Vec<&Id>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
        for v in self.slots_in_order() {
            waves[depth[v as usize] as usize].push(self.id(v));
        }
        for wave in &mut waves {
            wave.sort_unstable();
        }
        waves
    }

    /// Every node, each after all of its dependencies: the [`waves`](Self::waves)
    /// one after another. The same graph always gives the same order, however it
    /// was built.
    ///
    /// Cost: as [`waves`](Self::waves), O(V + E + V log V).
    #[must_use]
    pub fn topo_order(&self) -> Vec<&Id> {
        let mut out = Vec::with_capacity(self.len());
        for wave in self.waves() {
            out.extend(wave);
        }
        out
    }

    /// The chain of dependencies with the largest total weight, and that total:
    /// with estimated durations as weights, the shortest time in which the whole
    /// graph can be finished, and the nodes that set it. `None` for an empty graph.
    ///
    /// `weight` is called once per node, in an unspecified order. Every node is
    /// counted whatever its state; to plan the remaining work, give done nodes a
    /// weight of zero. Weights may be negative (for signed types): the path is then
    /// the heaviest of all paths, which need not start at a node without
    /// dependencies. Among paths of equal total, the one chosen is deterministic for
    /// the graph (ties go to the smaller id).
    ///
    /// # Errors
    ///
    /// [`Error::WeightOverflow`] if a path's total does not fit in `W`.
    ///
    /// Cost: O(V + E) plus V calls to `weight`.
    pub fn critical_path<W, F>(
        &self,
        mut weight: F,
    ) -> Result<Option<CriticalPath<'_, Id, W>>, Error<Id>>
    where
        W: Weight,
        F: FnMut(&Id) -> W,
    {
        let n = self.slot_bound();
        // best[v]: the heaviest path ending at v; prev[v]: its node before v.
        let mut best = vec![W::ZERO; n];
        let mut prev = vec![NONE; n];
        let mut end = NONE;
        for v in self.slots_in_order() {
            let mut from = NONE;
            for &p in self.deps.get(v) {
                if from == NONE || self.better(p, from, &best) {
                    from = p;
                }
            }
            let id = self.id(v);
            let w = weight(id);
            if from != NONE && best[from as usize] >= W::ZERO {
                best[v as usize] = best[from as usize]
                    .checked_add(w)
                    .ok_or_else(|| Error::WeightOverflow { node: id.clone() })?;
                prev[v as usize] = from;
            } else {
                best[v as usize] = w;
            }
            if end == NONE || self.better(v, end, &best) {
                end = v;
            }
        }
        if end == NONE {
            return Ok(None);
        }
        let total = best[end as usize];
        let mut nodes = Vec::new();
        let mut cur = end;
        while cur != NONE {
            nodes.push(self.id(cur));
            cur = prev[cur as usize];
        }
        nodes.reverse();
        Ok(Some(CriticalPath { nodes, total }))
    }

    /// Whether the path ending at `a` beats the one ending at `b`: heavier, or as
    /// heavy with a smaller id.
    fn better<W: Weight>(&self, a: u32, b: u32, best: &[W]) -> bool {
        let (wa, wb) = (best[a as usize], best[b as usize]);
        // Equivalent mutant: `id(a) <= id(b)` would do, as `a` and `b` are always two
        // different nodes, whose ids differ.
        wa > wb || (wa == wb && self.id(a) < self.id(b))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{DepGraph, Error};

    fn diamond() -> DepGraph<char> {
        // d depends on b and c, which depend on a; e is alone.
        let mut g = DepGraph::new();
        for id in ['a', 'b', 'c', 'd', 'e'] {
            g.add_node(id).unwrap();
        }
        for (t, d) in [('b', 'a'), ('c', 'a'), ('d', 'b'), ('d', 'c')] {
            g.add_dependency(&t, &d).unwrap();
        }
        g
    }

    #[test]
    fn waves_are_depths_sorted_by_id() {
        let g = diamond();
        assert_eq!(
            g.waves(),
            vec![vec![&'a', &'e'], vec![&'b', &'c'], vec![&'d']]
        );
        assert_eq!(g.topo_order(), vec![&'a', &'e', &'b', &'c', &'d']);
        assert!(DepGraph::<u8>::new().waves().is_empty());
    }

    #[test]
    fn critical_path_takes_the_heaviest_branch() {
        let g = diamond();
        let minutes = |id: &char| match id {
            'a' => 5u32,
            'b' => 10,
            'c' => 30,
            'd' => 1,
            _ => 20,
        };
        let path = g.critical_path(minutes).unwrap().unwrap();
        assert_eq!(path.nodes(), &[&'a', &'c', &'d']);
        assert_eq!(path.total(), 36);
        let secs = g
            .critical_path(|_| Duration::from_secs(2))
            .unwrap()
            .unwrap();
        assert_eq!(secs.total(), Duration::from_secs(6));
        // Equal totals: the smaller id wins.
        assert_eq!(secs.nodes(), &[&'a', &'b', &'d']);
    }

    #[test]
    fn critical_path_ties_go_to_the_smaller_id_whatever_the_insertion_order() {
        for (first, second) in [('b', 'c'), ('c', 'b')] {
            let mut g = DepGraph::new();
            for id in ['a', first, second, 'd'] {
                g.add_node(id).unwrap();
            }
            for t in [first, second] {
                g.add_dependency(&t, &'a').unwrap();
            }
            g.add_dependency(&'d', &first).unwrap();
            g.add_dependency(&'d', &second).unwrap();
            let path = g.critical_path(|_| 1u8).unwrap().unwrap();
            assert_eq!(path.nodes(), &[&'a', &'b', &'d'], "{first} added first");

            // Two equal ends: the smaller id ends the path.
            let mut g = DepGraph::new();
            for id in [second, first] {
                g.add_node(id).unwrap();
            }
            let path = g.critical_path(|_| 5u8).unwrap().unwrap();
            assert_eq!(path.nodes(), &[&'b'], "{second} added first");
            assert_eq!(path.total(), 5);
        }
    }

    #[test]
    fn negative_weights_may_start_mid_graph() {
        let g = diamond();
        let path = g
            .critical_path(|id| if *id == 'a' { -100i32 } else { 3 })
            .unwrap()
            .unwrap();
        assert_eq!(path.nodes(), &[&'b', &'d']);
        assert_eq!(path.total(), 6);
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let g = diamond();
        let err = g.critical_path(|_| u8::MAX).unwrap_err();
        assert!(matches!(err, Error::WeightOverflow { .. }));
        assert_eq!(DepGraph::<u8>::new().critical_path(|_| 1u8).unwrap(), None);
    }
}
