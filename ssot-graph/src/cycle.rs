//! Cycles as the user sees them: a path of ids that leads back to where it started.
//!
//! A [`Cycle`] is written in the direction of "depends on": in `a -> b -> c -> a`,
//! `a` depends on `b`, `b` on `c`, and `c` on `a`. It is the shortest such loop the
//! search found through the dependency that was refused (for
//! [`add_dependency`](crate::DepGraph::add_dependency)) or through the smallest id
//! of a strongly connected component (for
//! [`DepGraphBuilder::cycles`](crate::DepGraphBuilder::cycles)), so that the message
//! names as few dependencies as possible. A [`CycleComponent`] adds every node caught
//! in the same tangle: breaking the one cycle shown may leave another among them.

use std::fmt;

/// A dependency cycle: each node depends on the next, and the last on the first.
///
/// Displayed as `a -> b -> c -> a` (the first id repeated at the end to show the
/// loop closing), using the ids' [`Display`](fmt::Display). A self-dependency is the
/// cycle `a -> a`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cycle<Id> {
    nodes: Vec<Id>,
}

impl<Id> Cycle<Id> {
    /// A cycle through `nodes` (never empty), in "depends on" order.
    pub(crate) fn new(nodes: Vec<Id>) -> Self {
        debug_assert!(!nodes.is_empty(), "a cycle has at least one node");
        Cycle { nodes }
    }

    /// The nodes on the cycle, each depending on the next; the last depends on the
    /// first. Never empty.
    #[must_use]
    pub fn nodes(&self) -> &[Id] {
        &self.nodes
    }

    /// The number of nodes (and of dependencies) on the cycle; at least 1.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always `false`: a cycle has at least one node. Present for symmetry with
    /// [`len`](Self::len).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The dependencies that form the cycle, as `(task, depends_on)` pairs, starting
    /// with the first node's. Removing any one of them breaks this cycle.
    pub fn dependencies(&self) -> impl Iterator<Item = (&Id, &Id)> + '_ {
        let next = self.nodes.iter().cycle().skip(1);
        self.nodes.iter().zip(next)
    }

    /// The nodes, as [`nodes`](Self::nodes) lists them.
    #[must_use]
    pub fn into_nodes(self) -> Vec<Id> {
        self.nodes
    }
}

impl<Id: fmt::Display> fmt::Display for Cycle<Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for id in &self.nodes {
            write!(f, "{id} -> ")?;
        }
        match self.nodes.first() {
            Some(first) => write!(f, "{first}"),
            None => Ok(()),
        }
    }
}

/// A strongly connected component of a graph that has cycles: every node in it
/// depends, directly or not, on every other; with one concrete [`Cycle`] through it.
///
/// Displayed as its cycle, followed by the other members when the component is
/// larger than the cycle: `a -> b -> a (also caught in this loop: c, d)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CycleComponent<Id> {
    members: Vec<Id>,
    cycle: Cycle<Id>,
    /// Indexes into `members` of those not on `cycle`, for display.
    beyond: Vec<usize>,
}

impl<Id: Ord> CycleComponent<Id> {
    /// `members` sorted by id, and a cycle among them.
    pub(crate) fn new(members: Vec<Id>, cycle: Cycle<Id>) -> Self {
        let mut on_cycle: Vec<&Id> = cycle.nodes.iter().collect();
        on_cycle.sort_unstable();
        let beyond = (0..members.len())
            .filter(|&i| on_cycle.binary_search(&&members[i]).is_err())
            .collect();
        CycleComponent {
            members,
            cycle,
            beyond,
        }
    }
}

impl<Id> CycleComponent<Id> {
    /// Every node of the component, sorted by id.
    #[must_use]
    pub fn members(&self) -> &[Id] {
        &self.members
    }

    /// One cycle through the component's smallest id, as short as any through it.
    #[must_use]
    pub fn cycle(&self) -> &Cycle<Id> {
        &self.cycle
    }
}

impl<Id: fmt::Display> fmt::Display for CycleComponent<Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cycle)?;
        if !self.beyond.is_empty() {
            f.write_str(" (also caught in this loop: ")?;
            for (k, &i) in self.beyond.iter().enumerate() {
                if k > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", self.members[i])?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Writes components separated by `; `, for error messages.
pub(crate) struct ComponentList<'a, Id>(pub(crate) &'a [CycleComponent<Id>]);

impl<Id: fmt::Display> fmt::Display for ComponentList<'_, Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_displays_as_a_closed_path() {
        let c = Cycle::new(vec!["a", "b", "c"]);
        assert_eq!(c.to_string(), "a -> b -> c -> a");
        let pairs: Vec<_> = c.dependencies().collect();
        assert_eq!(pairs, vec![(&"a", &"b"), (&"b", &"c"), (&"c", &"a")]);
    }

    #[test]
    fn a_self_dependency_is_a_cycle_of_one() {
        let c = Cycle::new(vec![7]);
        assert_eq!(c.to_string(), "7 -> 7");
        assert_eq!(c.dependencies().collect::<Vec<_>>(), vec![(&7, &7)]);
        assert_eq!(c.len(), 1);
        assert!(!c.is_empty());
    }

    #[test]
    fn a_component_names_members_beyond_its_cycle() {
        let c = CycleComponent::new(vec!["a", "b", "c", "d"], Cycle::new(vec!["a", "b"]));
        assert_eq!(
            c.to_string(),
            "a -> b -> a (also caught in this loop: c, d)"
        );
        let only = CycleComponent::new(vec!["x", "y"], Cycle::new(vec!["x", "y"]));
        assert_eq!(only.to_string(), "x -> y -> x");
        let list = [only.clone(), c];
        assert_eq!(
            ComponentList(&list).to_string(),
            "x -> y -> x; a -> b -> a (also caught in this loop: c, d)"
        );
    }
}
