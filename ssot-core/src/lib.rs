//! The task model of `ssot`: task lists kept in plain files (Markdown, JSON, YAML,
//! CSV), read and written without losing a byte, and a priority queue to work them.
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
//! # Map of the crate
//!
//! - [`Task`], [`Status`], [`Priority`], [`TaskId`], [`Tag`]: the model.
//! - [`format`](mod@format): [`Format`], [`TaskList`], `parse`/`render` per format, the id rules
//!   for tasks written without one, and the Markdown editor.
//! - [`TaskQueue`]: the priority queue.
//! - [`run`]: the embedded executor: run a plan of tasks or graph nodes on a thread pool,
//!   with retries, timeouts, concurrency groups, a run record and events.
//! - [`Error`], [`ParseError`]: the one error type; parse errors carry the format,
//!   line, column and field.
#![deny(missing_docs)]

mod error;
pub mod format;
mod queue;
pub mod run;
mod task;

pub use crate::error::{Error, ParseError};
pub use crate::format::{Format, TaskList};
pub use crate::queue::TaskQueue;
pub use crate::task::{Extra, Priority, Status, Tag, Task, TaskId};
