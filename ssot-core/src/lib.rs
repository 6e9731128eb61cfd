//! The task model of `ssot`: task lists kept in plain files (Markdown, JSON, YAML,
//! CSV), read and written without losing data, and a priority queue to work them.
//!
//! Lossless means: `parse(render(list)) == list` for every format; a
//! [`MarkdownDocument`](format::markdown::MarkdownDocument) edit keeps every byte of the
//! file but those of the task it changes; and a value that cannot be kept exactly (a
//! JSON integer beyond 64 bits, which serde_json would round; YAML's `.nan`; a key given
//! twice) is refused with its line and column, never changed.
//!
//! A [`Task`] is one record of a single source of truth: an id, a title, a
//! [`Priority`], a [`Status`] that changes only along a documented state machine,
//! dependencies on other tasks, timestamps, estimates, tags, and every field the model
//! does not know, kept in [`Task::extra`] so that a read-modify-write cycle loses
//! nothing. The [`format`](mod@format) module reads and writes lists of them; its
//! [`MarkdownDocument`](format::markdown::MarkdownDocument) edits a Markdown file in
//! place, rewriting only the lines of the tasks that changed. [`TaskQueue`] orders
//! tasks by priority, age and id and hands out the next one that is ready.
//!
//! # Example: edit an Obsidian task list in place
//!
//! ```
//! use ssot_core::format::markdown::MarkdownDocument;
//! use ssot_core::Status;
//!
//! let text = "# Today\n\n- [ ] Write the report 🆔 report ⏫\n- [ ] Send it ⛔ report\n";
//! let mut doc = MarkdownDocument::parse(text)?;
//! assert_eq!(doc.tasks().len(), 2);
//!
//! doc.set_status("report", Status::Done)?;
//! assert_eq!(
//!     doc.as_str(),
//!     "# Today\n\n- [x] Write the report 🆔 report ⏫\n- [ ] Send it ⛔ report\n"
//! );
//! # Ok::<(), ssot_core::Error>(())
//! ```
//!
//! # Example: edit a YAML, JSON or CSV task list in place
//!
//! ```
//! use ssot_core::format::edit::{Document, Position};
//! use ssot_core::{Format, Status, Task, TaskId};
//!
//! let text = "tasks:\n  - id: report   # due Friday\n    title: 'Write the report'\n";
//! let mut doc = Document::parse(Format::Yaml, text)?;
//! doc.set_status("report", Status::Done)?;
//! doc.insert(Task::new(TaskId::new("send")?, "Send it"), Position::End)?;
//! assert_eq!(
//!     doc.as_str(),
//!     "tasks:\n  - id: report   # due Friday\n    title: 'Write the report'\n    status: done\n  \
//!      - id: send\n    title: 'Send it'\n    status: pending\n"
//! );
//! // The new task copies its neighbour: indentation, key order, quoting, a `status`.
//! # Ok::<(), ssot_core::Error>(())
//! ```
//!
//! # Example: convert between formats
//!
//! ```
//! use ssot_core::{format, Format};
//!
//! let json = r#"[{"id": "a", "title": "Ship it", "priority": "high", "owner": "kim"}]"#;
//! let list = format::parse(Format::Json, json)?;
//! assert_eq!(list.tasks[0].title, "Ship it");
//! // `owner` is not a task field: it is kept, and written back.
//! assert_eq!(list.tasks[0].extra["owner"], "kim");
//!
//! let csv = format::render(Format::Csv, &list)?;
//! assert_eq!(format::parse(Format::Csv, &csv)?, list);
//! # Ok::<(), ssot_core::Error>(())
//! ```
//!
//! # Example: work a queue in priority order
//!
//! ```
//! use ssot_core::{format, Format, Status, TaskQueue};
//!
//! let list = format::parse(Format::Yaml, "
//! tasks:
//!   - { id: docs, title: Write docs, priority: low }
//!   - { id: fix, title: Fix the bug, priority: critical, dependencies: [repro] }
//!   - { id: repro, title: Reproduce the bug, priority: high }
//! ")?;
//! let mut queue = TaskQueue::new();
//! for task in list.tasks {
//!     queue.push(task)?;
//! }
//! // `fix` is the most urgent, but it waits for `repro`.
//! let done: Vec<&str> = vec![];
//! let next = queue.pop_next(|t| t.dependencies.iter().all(|d| done.contains(&d.as_str())));
//! assert_eq!(next.map(|t| t.id.to_string()), Some("repro".to_string()));
//! # Ok::<(), ssot_core::Error>(())
//! ```
//!
//! # Example: a directory of task files as one store
//!
//! ```
//! # #[cfg(feature = "store")] {
//! use ssot_core::prelude::*;
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("todo.md"), "# Release\n- [ ] Ship 🆔 ship ⛔ test\n")?;
//! std::fs::write(dir.path().join("ci.tasks.yaml"), "- { id: test, title: Test }\n")?;
//! // No ssot.yaml: Markdown files and `*.tasks.*` files are task lists.
//! let plan = Store::open(dir.path())?.plan()?;
//! assert_eq!(plan.ready(), ["test"]);
//! let ship = plan.task("ship").map(|t| t.location.to_string());
//! assert_eq!(ship.as_deref(), Some("todo.md:2"));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Map of the crate
//!
//! - [`Task`], [`Status`], [`Priority`], [`TaskId`], [`Tag`]: the model.
//! - [`format`](mod@format): [`Format`], [`TaskList`], `parse`/`render` per format, the id rules
//!   for tasks written without one, and the Markdown editor.
//! - [`format::edit`]: every format edited in place behind one API
//!   ([`Document`](format::edit::Document)), and JSON Merge Patch applied in place to any
//!   YAML or JSON document ([`ConfigDocument`](format::edit::ConfigDocument)).
//! - [`TaskQueue`]: the priority queue.
//! - [`run`]: the embedded executor: run a plan of tasks or graph nodes on a thread pool,
//!   with retries, timeouts, concurrency groups, a run record and events.
//! - [`Error`], [`ParseError`]: the one error type; parse errors carry the format,
//!   line, column and field. [`Result`] is `Result<T, Error>`.
//! - [`store`] (feature `store`): [`Store`], a directory of task lists, documents
//!   and configuration files described by a manifest, validated as a whole, planned
//!   across files, read through a cache that is never stale.
//! - [`prelude`]: the names most programs use, in one `use`.
//!
//! # The leaf crates
//!
//! One dependency on `ssot-core` gives the whole toolkit: [`graph`] (`ssot-graph`) and
//! [`schema`] (`ssot-schema`) always (the model and the formats use them), and
//! [`lock`] (`ssot-lock`), [`version`] (`ssot-version`) and [`cache`] (`ssot-cache`)
//! under default-on features of the same names.
#![deny(missing_docs)]

mod error;
pub mod format;
mod queue;
pub mod run;
#[cfg(feature = "store")]
pub mod store;
mod task;

#[cfg(feature = "cache")]
#[doc(inline)]
pub use ssot_cache as cache;
#[doc(inline)]
pub use ssot_graph as graph;
#[cfg(feature = "lock")]
#[doc(inline)]
pub use ssot_lock as lock;
#[doc(inline)]
pub use ssot_schema as schema;
#[cfg(feature = "version")]
#[doc(inline)]
pub use ssot_version as version;

pub use crate::error::{Error, ParseError, Result};
pub use crate::format::{Format, TaskList};
pub use crate::queue::TaskQueue;
#[cfg(feature = "store")]
pub use crate::store::Store;
pub use crate::task::{Extra, Priority, Status, Tag, Task, TaskId};

/// The names most programs use: `use ssot_core::prelude::*;`.
pub mod prelude {
    pub use crate::format::{Format, TaskList};
    #[cfg(feature = "store")]
    pub use crate::store::{
        ConfigView, Explanation, Location, Plan, PlannedTask, Problem, ProblemKind, Report, Store,
    };
    pub use crate::{Error, Priority, Status, Task, TaskId, TaskQueue};
}

/// The workspace README's Rust example, compiled as a doctest so that it cannot drift
/// from the API. `cfg(doctest)` keeps the file outside the crate out of normal builds
/// and of `cargo package`.
#[cfg(all(doctest, feature = "store"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
