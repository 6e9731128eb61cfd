//! A dependency graph that refuses cycles as they are made, names the whole cycle
//! when it does, and answers what can run now, what is blocked and by what, in which
//! order and waves things can run, and what a change would affect.
//!
//! A [`DepGraph<Id>`](DepGraph) holds nodes (tasks, services, workflow steps) keyed by
//! any `Id: Clone + Eq + Hash + Ord`, and dependencies between them. It is always
//! acyclic: [`add_dependency`](DepGraph::add_dependency) checks each new dependency
//! incrementally (the Pearce–Kelly dynamic topological order, which searches only the
//! part of the graph the new edge could disturb) and refuses one that would close a
//! cycle with [`Error::Cycle`], carrying the cycle as a path of ids. Each node has a
//! [`State`]; the graph counts each node's dependencies that are not done, so
//! [`ready`](DepGraph::ready) is always current without a rescan. To load a whole
//! file of tasks at once, [`DepGraph::from_tasks`] or a [`DepGraphBuilder`] report
//! every cycle in one error rather than the first.
//!
//! # Example: refuse a cycle, see why
//!
//! ```
//! use ssot_graph::{DepGraph, Error};
//!
//! let mut g = DepGraph::new();
//! for id in ["design", "build", "test"] {
//!     g.add_node(id.to_string())?;
//! }
//! g.add_dependency("build", "design")?;
//! g.add_dependency("test", "build")?;
//!
//! let err = g.add_dependency("design", "test").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "cannot make `design` depend on `test`: that would close the cycle \
//!      design -> test -> build -> design (each depends on the next; \
//!      remove one of those dependencies first)"
//! );
//! if let Error::Cycle { cycle, .. } = err {
//!     assert_eq!(cycle.nodes(), ["design", "test", "build"]);
//! }
//! // The refused dependency left the graph as it was.
//! assert_eq!(g.dependency_count(), 2);
//! # Ok::<(), ssot_graph::Error<String>>(())
//! ```
//!
//! # Example: work through a plan
//!
//! ```
//! use ssot_graph::DepGraph;
//!
//! let mut g = DepGraph::from_tasks([
//!     ("deploy", vec!["test", "docs"]),
//!     ("test", vec!["build"]),
//!     ("build", vec![]),
//!     ("docs", vec![]),
//! ])?;
//! assert_eq!(g.waves(), [vec![&"build", &"docs"], vec![&"test"], vec![&"deploy"]]);
//!
//! assert_eq!(g.ready(), [&"build", &"docs"]);
//! g.mark_done(&"build")?;
//! assert_eq!(g.ready(), [&"docs", &"test"]);
//! assert_eq!(g.blocked(), [(&"deploy", vec![&"docs", &"test"])]);
//!
//! // What would a change to `build` affect?
//! assert_eq!(g.dependents(&"build")?, [&"deploy", &"test"]);
//! # Ok::<(), ssot_graph::Error<&str>>(())
//! ```
//!
//! # Example: every cycle in a file at once
//!
//! ```
//! use ssot_graph::{DepGraph, Error};
//!
//! let tasks = [("a", vec!["b"]), ("b", vec!["a"]), ("c", vec!["c"]), ("d", vec![])];
//! match DepGraph::from_tasks(tasks) {
//!     Err(Error::Cycles { components }) => {
//!         let cycles: Vec<String> = components.iter().map(|c| c.to_string()).collect();
//!         assert_eq!(cycles, ["a -> b -> a", "c -> c"]);
//!     }
//!     other => panic!("expected cycles, got {other:?}"),
//! }
//! ```
//!
//! # Example: how long will it take?
//!
//! ```
//! use std::collections::HashMap;
//! use ssot_graph::DepGraph;
//!
//! let hours = HashMap::from([("design", 3u32), ("build", 8), ("docs", 2), ("ship", 1)]);
//! let g = DepGraph::from_tasks([
//!     ("design", vec![]),
//!     ("build", vec!["design"]),
//!     ("docs", vec!["design"]),
//!     ("ship", vec!["build", "docs"]),
//! ])?;
//! let path = g.critical_path(|id| hours[id])?.expect("the graph is not empty");
//! assert_eq!(path.nodes(), [&"design", &"build", &"ship"]);
//! assert_eq!(path.total(), 12);
//! # Ok::<(), ssot_graph::Error<&str>>(())
//! ```
//!
//! # Semantics
//!
//! | concept | meaning |
//! |---|---|
//! | `add_dependency(task, on)` | `task` cannot start before `on` is [`Done`](State::Done) |
//! | cycle `a -> b -> c -> a` | `a` depends on `b`, `b` on `c`, `c` on `a` |
//! | ready | [`Pending`](State::Pending), and every direct dependency `Done` |
//! | blocked | `Pending`, and some direct dependency not `Done` (those are its holders) |
//! | [`Failed`](State::Failed), [`Cancelled`](State::Cancelled), [`OnHold`](State::OnHold), [`Running`](State::Running) dependency | holds its dependents like a pending one: only `Done` releases |
//! | wave of a node | length of the longest chain of dependencies below it |
//! | `topo_order()` | waves in order, each sorted by id |
//! | listings | sorted by id: the same graph always answers the same way |
//! | unknown id | [`Error::UnknownNode`]; a refused call changes nothing |
//!
//! # Cost of every operation
//!
//! V is the number of nodes, E of dependencies, d a node's number of direct
//! neighbours; hashing an id is counted as O(1).
//!
//! | operation | cost |
//! |---|---|
//! | [`add_node`](DepGraph::add_node) | O(1) amortized |
//! | [`remove_node`](DepGraph::remove_node) | O(Σ degrees of its neighbours) |
//! | [`add_dependency`](DepGraph::add_dependency), already in order | O(min d of the two) |
//! | [`add_dependency`](DepGraph::add_dependency), against the order | O(nodes and edges placed between the two, k log k to reorder those k) |
//! | [`remove_dependency`](DepGraph::remove_dependency) | O(d of both) |
//! | [`mark_done`](DepGraph::mark_done), [`mark_pending`](DepGraph::mark_pending), [`set_state`](DepGraph::set_state) | O(direct dependents) when entering or leaving `Done`, else O(1) |
//! | [`ready`](DepGraph::ready) | O(r log r) for r ready nodes |
//! | [`ready_count`](DepGraph::ready_count), [`is_ready`](DepGraph::is_ready), [`state`](DepGraph::state), [`contains`](DepGraph::contains) | O(1) |
//! | [`blocked`](DepGraph::blocked) | O(V), plus O(d + h log h) per blocked node with h holders, plus sorting them |
//! | [`blockers`](DepGraph::blockers), [`direct_dependencies`](DepGraph::direct_dependencies), [`direct_dependents`](DepGraph::direct_dependents) | O(d log d) |
//! | [`dependents`](DepGraph::dependents), [`dependencies`](DepGraph::dependencies) | O(V/64 + k + their edges + k log k) for k results |
//! | [`depends_on`](DepGraph::depends_on) | O(1) when the order answers, else a search between the two |
//! | [`waves`](DepGraph::waves), [`topo_order`](DepGraph::topo_order) | O(V + E + V log V) |
//! | [`critical_path`](DepGraph::critical_path) | O(V + E) |
//! | [`to_dot`](DepGraph::to_dot), [`to_petgraph`](DepGraph::to_petgraph) | O(V log V + E log E) |
//! | [`from_tasks`](DepGraph::from_tasks), [`DepGraphBuilder::build`] | O(V + E); with cycles, plus sorting each component |
//! | [`DepGraphBuilder::cycles`] | O(V + E), plus sorting each component |
//!
//! Memory: per node, two copies of its id and about 60 bytes; per dependency, 8
//! bytes (up to twice that while adjacency lists grow, before the pool is
//! compacted). Up to about a billion nodes ([`Error::TooManyNodes`]).
//!
//! # Looking ids up
//!
//! Every method that names an existing node takes it by reference, as any borrowed
//! form `Q` of `Id`, exactly as [`HashMap::get`](std::collections::HashMap::get)
//! does (the lookup convention of every `ssot` crate):
//!
//! ```text
//! fn f<Q>(&self, id: &Q) where Id: Borrow<Q>, Q: Hash + Eq + ?Sized
//! ```
//!
//! A `DepGraph<String>`, a `DepGraph<Arc<str>>` or a `DepGraph<ssot_core::TaskId>`
//! takes `"build"`; a `DepGraph<&str>` takes `&"build"`; a `DepGraph<u32>` takes
//! `&7`. As with `HashMap`, `Borrow` promises that `Q` hashes and compares as `Id`
//! does. Methods that fail on an unknown id also ask `Q: Display`: the
//! [`Error::UnknownNode`] they return carries the id as text, so that no `Id` has to
//! be made from the borrowed form (an id type that validates its text has no
//! infallible `From<&str>`). Queries that cannot fail ([`contains`](DepGraph::contains),
//! [`state`](DepGraph::state), [`is_ready`](DepGraph::is_ready),
//! [`has_dependency`](DepGraph::has_dependency)) need only the `HashMap` bound.
//!
//! ```
//! use std::borrow::Borrow;
//! use std::fmt;
//! use ssot_graph::{DepGraph, Error};
//!
//! /// A validated id: made only by `TaskId::new`, never from arbitrary text.
//! #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
//! struct TaskId(String);
//! impl Borrow<str> for TaskId {
//!     fn borrow(&self) -> &str { &self.0 }
//! }
//! impl fmt::Display for TaskId {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
//! }
//!
//! let mut g = DepGraph::new();
//! g.add_node(TaskId("build".into()))?;
//! g.add_node(TaskId("test".into()))?;
//! g.add_dependency("test", "build")?;
//! assert!(g.has_dependency("test", "build"));
//! assert_eq!(
//!     g.mark_done("deploy"),
//!     Err(Error::UnknownNode { id: "deploy".to_string() })
//! );
//! # Ok::<(), Error<TaskId>>(())
//! ```
//!
//! # Platforms
//!
//! The crate is pure computation on memory: no file system, no threads, no clock, no
//! `unsafe`, and no code that differs between platforms. It is tested on
//! x86_64 Linux (`x86_64-unknown-linux-gnu`), which is what the workspace's CI runs,
//! with Rust 1.89 or later; nothing in it is expected to behave differently on
//! other 32- or 64-bit targets that have `std`, but those are not tested. Targets
//! with 16-bit pointers are refused at compile time: node handles are `u32` and are
//! used as indices.
//!
//! # Map of the crate
//!
//! - [`DepGraph`]: the graph; its storage and the cycle check are explained in the
//!   `graph` module's source documentation.
//! - [`State`]: a node's state and what it means for its dependents.
//! - [`DepGraphBuilder`]: bulk construction that reports every cycle.
//! - [`Cycle`], [`CycleComponent`]: cycles as paths of ids.
//! - [`CriticalPath`], [`Weight`]: the answer of `critical_path` and what it adds up.
//! - [`Error`]: the one error type, and [`Result<T, Id>`](Result), the alias for
//!   `std::result::Result<T, Error<Id>>`.
#![deny(missing_docs)]

// Slots and positions are `u32` and index vectors: a 16-bit `usize` would truncate
// them. Refused rather than half working.
#[cfg(target_pointer_width = "16")]
compile_error!("ssot-graph needs a target with 32- or 64-bit pointers (node handles are u32)");

mod adjacency;
mod builder;
mod cycle;
mod error;
mod export;
mod graph;
mod order;
mod reach;
mod schedule;
mod state;

pub use crate::builder::DepGraphBuilder;
pub use crate::cycle::{Cycle, CycleComponent};
pub use crate::error::{Error, Result};
pub use crate::graph::DepGraph;
pub use crate::order::{CriticalPath, Weight};
pub use crate::state::State;
