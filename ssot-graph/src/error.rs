//! The crate's one error type.
//!
//! [`Error`] is generic over the graph's id type so that a caller can match on it and
//! get the ids back, typed: the refused dependency's cycle is a `Vec<Id>`, not a
//! string to parse. Its messages write ids with their [`Display`](fmt::Display)
//! (so `Error<Id>` is an [`std::error::Error`] when `Id: Display + Debug`); a
//! cycle reads `a -> b -> c -> a`, each id depending on the next.
//!
//! The one exception is [`Error::UnknownNode`], which holds the unknown id as text.
//! An id that is not in the graph reaches us only in the borrowed form the caller
//! looked it up with (`&str` for `String` or `ssot_core::TaskId` ids), and turning
//! that back into an `Id` would need a conversion that many id types cannot offer
//! infallibly (a validated id type has `TryFrom<&str>`, not `From`). Writing it with
//! `Display` needs nothing from `Id`, and the caller still has the id it passed.
//! This is why lookups that can fail ask `Q: Display` of the borrowed form.

use std::fmt;

use crate::cycle::{ComponentList, Cycle, CycleComponent};

/// Everything that can go wrong in `ssot-graph`.
///
/// Every refused call leaves the graph exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error<Id> {
    /// An operation named a node the graph does not have.
    ///
    /// The id is carried as text, written with its [`Display`](fmt::Display): a
    /// lookup takes any borrowed form of `Id` (a `&str` for a `String` or a
    /// validated id type), and a borrowed form cannot always be turned back into an
    /// `Id` (a validated id has no infallible `From<&str>`). The caller still holds
    /// the id it passed; the text is for the message and for telling which of two
    /// ids was missing.
    #[error("no node `{id}` in the dependency graph (add it with add_node first)")]
    UnknownNode {
        /// The id that was looked up, as its `Display` writes it.
        id: String,
    },

    /// [`add_node`](crate::DepGraph::add_node) with an id the graph already has.
    #[error(
        "node `{id}` is already in the dependency graph (ids must be unique; remove it first to replace it)"
    )]
    DuplicateNode {
        /// The id that is already present.
        id: Id,
    },

    /// A node was asked to depend on itself.
    #[error("`{id}` cannot depend on itself")]
    SelfDependency {
        /// The node.
        id: Id,
    },

    /// The dependency would close a cycle; the graph is unchanged.
    #[error(
        "cannot make `{task}` depend on `{depends_on}`: that would close the cycle {cycle} \
         (each depends on the next; remove one of those dependencies first)"
    )]
    Cycle {
        /// The node that was to gain a dependency.
        task: Id,
        /// The dependency that was refused.
        depends_on: Id,
        /// The cycle the dependency would close, starting with `task, depends_on`.
        cycle: Cycle<Id>,
    },

    /// Bulk construction found cycles: every strongly connected component that has
    /// one, each with a concrete cycle.
    #[error(
        "the dependencies contain {count} cycle{s}: {list} \
         (each id depends on the next; remove one dependency from each cycle)",
        count = components.len(),
        s = if components.len() == 1 { "" } else { "s" },
        list = ComponentList(components)
    )]
    Cycles {
        /// One entry per strongly connected component with a cycle, ordered by their
        /// smallest member.
        components: Vec<CycleComponent<Id>>,
    },

    /// Bulk construction found dependencies on ids that are not in the list.
    #[error(
        "{count} {what} not in the list: {list} (add those tasks, or remove the dependencies)",
        count = missing.len(),
        what = if missing.len() == 1 {
            "dependency names a task that is"
        } else {
            "dependencies name tasks that are"
        },
        list = MissingList(missing)
    )]
    UnknownDependencies {
        /// Every `(task, depends_on)` pair whose `depends_on` is unknown, in input
        /// order.
        missing: Vec<(Id, Id)>,
    },

    /// A [`critical_path`](crate::DepGraph::critical_path) total does not fit in
    /// the weight type.
    #[error(
        "the critical path total overflows its weight type at node `{node}` (use a wider weight type)"
    )]
    WeightOverflow {
        /// The node whose weight could not be added.
        node: Id,
    },

    /// The graph cannot hold more nodes: node handles are 32-bit.
    #[error("the dependency graph is full ({limit} nodes); node `{id}` was not added")]
    TooManyNodes {
        /// The node that was refused.
        id: Id,
        /// The most nodes a graph holds.
        limit: usize,
    },
}

/// The result type of this crate: `Result<T, Id>` is
/// `std::result::Result<T, Error<Id>>`.
///
/// The other `ssot` crates spell theirs `Result<T, E = Error>`; here the error is
/// generic over the graph's id type, so the second parameter is that id type, not
/// an error type: a function working on a `DepGraph<String>` returns
/// `ssot_graph::Result<T, String>`.
///
/// ```
/// use ssot_graph::DepGraph;
///
/// fn plan() -> ssot_graph::Result<DepGraph<String>, String> {
///     let mut g = DepGraph::new();
///     g.add_node("build".to_string())?;
///     g.add_node("test".to_string())?;
///     g.add_dependency("test", "build")?;
///     Ok(g)
/// }
/// assert_eq!(plan()?.ready(), ["build"]);
/// # Ok::<(), ssot_graph::Error<String>>(())
/// ```
pub type Result<T, Id> = std::result::Result<T, Error<Id>>;

impl<Id> Error<Id> {
    /// [`Error::UnknownNode`] for an id looked up in any borrowed form.
    pub(crate) fn unknown_node<Q: fmt::Display + ?Sized>(id: &Q) -> Self {
        Error::UnknownNode { id: id.to_string() }
    }
}

struct MissingList<'a, Id>(&'a [(Id, Id)]);

impl<Id: fmt::Display> fmt::Display for MissingList<'_, Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (task, dep)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{task}` depends on `{dep}`")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_dependency_names_the_whole_cycle() {
        let e: Error<&str> = Error::Cycle {
            task: "a",
            depends_on: "c",
            cycle: Cycle::new(vec!["a", "c", "b"]),
        };
        assert_eq!(
            e.to_string(),
            "cannot make `a` depend on `c`: that would close the cycle a -> c -> b -> a \
             (each depends on the next; remove one of those dependencies first)"
        );
    }

    #[test]
    fn bulk_errors_list_every_problem() {
        let e: Error<u32> = Error::Cycles {
            components: vec![
                CycleComponent::new(vec![1, 2], Cycle::new(vec![1, 2])),
                CycleComponent::new(vec![5], Cycle::new(vec![5])),
            ],
        };
        assert_eq!(
            e.to_string(),
            "the dependencies contain 2 cycles: 1 -> 2 -> 1; 5 -> 5 \
             (each id depends on the next; remove one dependency from each cycle)"
        );
        let e: Error<&str> = Error::UnknownDependencies {
            missing: vec![("a", "x")],
        };
        assert_eq!(
            e.to_string(),
            "1 dependency names a task that is not in the list: `a` depends on `x` \
             (add those tasks, or remove the dependencies)"
        );
    }
}
