//! What can run now and what is waiting: [`ready`](DepGraph::ready),
//! [`blocked`](DepGraph::blocked), [`blockers`](DepGraph::blockers).
//!
//! The ready set is maintained by the graph's edits (see the `graph` module); these
//! methods only read it out, sorted by id so that the same graph always lists the
//! same way. `blocked()` has no maintained set behind it: it scans the pending nodes,
//! which is what printing a report of every blocked node costs anyway.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;

use crate::error::Error;
use crate::graph::DepGraph;
use crate::state::State;

impl<Id: Clone + Eq + Hash + Ord> DepGraph<Id> {
    /// The [`Pending`](State::Pending) nodes whose dependencies are all
    /// [`Done`](State::Done), sorted by id.
    ///
    /// Cost: O(r log r) for r ready nodes; the set itself is maintained by every edit.
    #[must_use]
    pub fn ready(&self) -> Vec<&Id> {
        let mut out: Vec<&Id> = self.ready.iter().map(|&v| self.id(v)).collect();
        out.sort_unstable();
        out
    }

    /// The number of ready nodes. O(1).
    #[must_use]
    pub fn ready_count(&self) -> usize {
        self.ready.len()
    }

    /// Whether the node is ready: pending, with every dependency done. `false` for
    /// an unknown id. O(1).
    #[must_use]
    pub fn is_ready<Q>(&self, id: &Q) -> bool
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.get(id).is_some_and(|&v| {
            let v = v as usize;
            self.node[v].state == State::Pending && self.node[v].unmet == 0
        })
    }

    /// Every [`Pending`](State::Pending) node that has a dependency not yet
    /// [`Done`](State::Done), with those dependencies (the ones still holding it;
    /// done ones are left out). Sorted by id, and each list of holders too.
    ///
    /// Only direct dependencies are named: if `a` waits for `b` and `b` for `c`, `a`
    /// is held by `b`, and `b` (also listed) by `c`.
    ///
    /// Cost: O(V) to find them, plus O(degree + h log h) for each blocked node with h
    /// holders, plus sorting the blocked nodes.
    #[must_use]
    pub fn blocked(&self) -> Vec<(&Id, Vec<&Id>)> {
        let mut out: Vec<(&Id, Vec<&Id>)> = self
            .ids
            .iter()
            .enumerate()
            .filter(|&(v, id)| {
                id.is_some() && self.node[v].state == State::Pending && self.node[v].unmet > 0
            })
            .map(|(v, _)| (self.id(v as u32), self.holders(v as u32)))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// The direct dependencies of `id` that are not [`Done`](State::Done), sorted
    /// by id: what it waits for, whatever its own state. Empty when nothing holds it.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownNode`].
    ///
    /// Cost: O(degree + h log h) for h holders.
    pub fn blockers<Q>(&self, id: &Q) -> Result<Vec<&Id>, Error<Id>>
    where
        Id: Borrow<Q>,
        Q: Hash + Eq + fmt::Display + ?Sized,
    {
        let v = self.slot(id)?;
        Ok(self.holders(v))
    }

    fn holders(&self, v: u32) -> Vec<&Id> {
        let mut out: Vec<&Id> = self
            .deps
            .get(v)
            .iter()
            .filter(|&&d| self.node[d as usize].state != State::Done)
            .map(|&d| self.id(d))
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{DepGraph, State};

    fn chain() -> DepGraph<&'static str> {
        // deploy -> test -> build, and deploy -> docs
        let mut g = DepGraph::new();
        for id in ["build", "test", "docs", "deploy"] {
            g.add_node(id).unwrap();
        }
        g.add_dependency(&"test", &"build").unwrap();
        g.add_dependency(&"deploy", &"test").unwrap();
        g.add_dependency(&"deploy", &"docs").unwrap();
        g
    }

    #[test]
    fn marking_done_releases_dependents_in_order() {
        let mut g = chain();
        assert_eq!(g.ready(), vec![&"build", &"docs"]);
        g.mark_done(&"build").unwrap();
        assert_eq!(g.ready(), vec![&"docs", &"test"]);
        g.mark_done(&"test").unwrap();
        g.mark_done(&"docs").unwrap();
        assert_eq!(g.ready(), vec![&"deploy"]);
        g.mark_done(&"deploy").unwrap();
        assert!(g.ready().is_empty());
        assert!(g.blocked().is_empty());
    }

    #[test]
    fn blocked_names_only_dependencies_not_done() {
        let mut g = chain();
        g.mark_done(&"docs").unwrap();
        assert_eq!(
            g.blocked(),
            vec![(&"deploy", vec![&"test"]), (&"test", vec![&"build"])]
        );
        assert_eq!(g.blockers(&"deploy").unwrap(), vec![&"test"]);
    }

    #[test]
    fn failed_and_cancelled_dependencies_keep_holding() {
        let mut g = chain();
        g.set_state(&"build", State::Failed).unwrap();
        assert_eq!(g.blocked()[1], (&"test", vec![&"build"]));
        g.set_state(&"build", State::Cancelled).unwrap();
        assert!(!g.is_ready(&"test"));
        g.remove_node(&"build").unwrap();
        assert!(g.is_ready(&"test"));
    }

    #[test]
    fn only_pending_nodes_are_ready_or_blocked() {
        let mut g = chain();
        g.set_state(&"build", State::Running).unwrap();
        g.set_state(&"deploy", State::OnHold).unwrap();
        assert_eq!(g.ready(), vec![&"docs"]);
        assert_eq!(g.blocked(), vec![(&"test", vec![&"build"])]);
        assert_eq!(g.ready_count(), 1);
        // A redo puts the dependents back on hold.
        g.mark_done(&"build").unwrap();
        assert!(g.is_ready(&"test"));
        g.mark_pending(&"build").unwrap();
        assert!(!g.is_ready(&"test"));
        assert!(g.is_ready(&"build"));
    }
}
