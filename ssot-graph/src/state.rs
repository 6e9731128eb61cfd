//! The state of one node, and what each state means for its dependents.
//!
//! The graph needs only two facts about a node's state: does it *satisfy* the nodes
//! that depend on it (only [`State::Done`] does), and is it a *candidate to start*
//! (only [`State::Pending`] is). Every other state is a reason the node is neither:
//! it is under way, it failed, it was cancelled, or it is on hold for a reason the
//! graph does not know. Those states exist so that a caller can say which reason
//! applies and see it again in [`DepGraph::state`](crate::DepGraph::state) and in
//! [`to_dot`](crate::DepGraph::to_dot); the graph treats them alike.
//!
//! Why a cancelled or failed dependency does not release its dependents: a task
//! whose prerequisite never happened should not start silently. It stays in
//! [`blocked`](crate::DepGraph::blocked), named as held by the cancelled node, until
//! the caller decides: remove the dependency, remove the node, or mark it done.

use std::fmt;

/// The state of a node.
///
/// | state | satisfies its dependents | listed by `ready()` | listed by `blocked()` |
/// |---|---|---|---|
/// | [`Pending`](State::Pending) | no | when every dependency is `Done` | when some dependency is not `Done` |
/// | [`Running`](State::Running) | no | no | no |
/// | [`Done`](State::Done) | **yes** | no | no |
/// | [`Failed`](State::Failed) | no | no | no |
/// | [`Cancelled`](State::Cancelled) | no | no | no |
/// | [`OnHold`](State::OnHold) | no | no | no |
///
/// Any state may follow any other: the graph records what the caller says happened
/// (a node may be marked `Done` before its dependencies, because the files that are
/// the source of truth say so). `ssot-core` turns its task `Status` into a `State`
/// with `From<Status> for State`, whose documentation holds the mapping's table
/// (in short: in progress is `Running`, blocked is `OnHold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum State {
    /// Not started. The only state that [`ready`](crate::DepGraph::ready) and
    /// [`blocked`](crate::DepGraph::blocked) list. A new node starts here.
    #[default]
    Pending,
    /// Started and not finished (a task in progress, a step being run).
    Running,
    /// Finished. The only state that satisfies the nodes depending on this one.
    Done,
    /// Tried and did not succeed. Its dependents stay blocked until it is retried
    /// (`Pending`), completed (`Done`) or removed.
    Failed,
    /// Will not be done. Its dependents stay blocked: remove the dependency or the
    /// node to release them.
    Cancelled,
    /// Not to be started, for a reason outside the graph (waiting on a person, a
    /// manual block).
    OnHold,
}

impl State {
    /// Every state, in declaration order.
    pub const ALL: [State; 6] = [
        State::Pending,
        State::Running,
        State::Done,
        State::Failed,
        State::Cancelled,
        State::OnHold,
    ];

    /// The state's name in snake_case, as [`Display`](fmt::Display) writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
            State::OnHold => "on_hold",
        }
    }

    /// Whether a node in this state satisfies the nodes that depend on it (only
    /// [`State::Done`]).
    #[must_use]
    pub fn satisfies_dependents(self) -> bool {
        self == State::Done
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_done_satisfies_dependents() {
        let satisfying: Vec<State> = State::ALL
            .into_iter()
            .filter(|s| s.satisfies_dependents())
            .collect();
        assert_eq!(satisfying, vec![State::Done]);
    }

    #[test]
    fn names_are_distinct_snake_case() {
        let mut names: Vec<&str> = State::ALL.iter().map(|s| s.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), State::ALL.len());
        assert_eq!(State::OnHold.to_string(), "on_hold");
        assert_eq!(State::default(), State::Pending);
    }
}
