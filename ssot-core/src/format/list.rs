//! [`TaskList`]: what every format reads and writes.

use crate::task::{Extra, Task};

/// A parsed task list: the tasks, in document order, and what surrounded them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskList {
    /// The tasks, in document order.
    pub tasks: Vec<Task>,
    /// For JSON and YAML: `None` when the document was a bare list of tasks, `Some`
    /// with every top-level key other than `tasks` when it was an object (an object
    /// with only `tasks` gives `Some` of an empty map). Rendering writes the same shape
    /// back. Markdown and CSV always give `None` and ignore it.
    pub document: Option<Extra>,
}

impl TaskList {
    /// A bare list of tasks.
    pub fn new(tasks: Vec<Task>) -> TaskList {
        TaskList {
            tasks,
            document: None,
        }
    }
}

impl From<Vec<Task>> for TaskList {
    fn from(tasks: Vec<Task>) -> TaskList {
        TaskList::new(tasks)
    }
}
