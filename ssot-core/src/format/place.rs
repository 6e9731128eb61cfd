//! [`Position`]: where an editor puts a new task. Below the formats, so that the
//! Markdown editor and the other editors of [`format::edit`](crate::format::edit) share
//! it without importing each other.

use crate::task::TaskId;

/// Where an `insert` puts a new task (see [`format::edit`](crate::format::edit)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position {
    /// After the last task.
    End,
    /// Right after the task with this id (after its subtasks, in Markdown).
    After(TaskId),
    /// Markdown only: as the last subtask of the task with this id.
    Subtask(TaskId),
    /// Markdown only: at the end of the tasks of the section under the first heading
    /// with this text (before the next heading of the same or a higher level).
    UnderHeading(String),
}
