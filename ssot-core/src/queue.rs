//! [`TaskQueue`]: tasks in the order they should be worked on.
//!
//! # Design
//!
//! The queue is a `BTreeMap` keyed by (priority, creation time, id) beside a
//! `HashMap` from id to that key. The tree gives the order and a cheap first element;
//! the index makes removal by id logarithmic instead of a scan. A binary heap was
//! rejected: it cannot remove an arbitrary task without a scan, and `pop_next` with a
//! predicate needs to walk tasks in order, which a heap cannot do without popping.
//!
//! Readiness is a predicate passed to [`TaskQueue::pop_next`] rather than state kept in
//! the queue, so the queue stays a plain ordered container and the dependency graph
//! (which knows what is ready) drives it.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

use crate::error::Error;
use crate::task::{Priority, Task, TaskId};

/// The sort key: priority, then creation time (tasks with none after those with
/// one), then id. Unique because ids are unique in a queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    priority: Priority,
    /// `(false, Some(t))` sorts before `(true, None)`.
    created: (bool, Option<Timestamp>),
    id: TaskId,
}

impl QueueKey {
    fn of(task: &Task) -> QueueKey {
        QueueKey {
            priority: task.priority,
            created: (task.created_at.is_none(), task.created_at),
            id: task.id.clone(),
        }
    }
}

/// Tasks ordered by priority (most urgent first), then creation time (oldest first;
/// tasks without one last), then id.
///
/// Ids are unique within a queue. An optional `max_size` bounds it: a push past the
/// bound is an error and nothing is dropped.
///
/// | operation | cost |
/// |---|---|
/// | [`push`](TaskQueue::push), [`remove`](TaskQueue::remove), [`pop`](TaskQueue::pop) | O(log n) |
/// | [`peek`](TaskQueue::peek), [`get`](TaskQueue::get) | O(log n) |
/// | [`contains`](TaskQueue::contains), [`len`](TaskQueue::len) | O(1) expected |
/// | [`pop_next`](TaskQueue::pop_next) | O((k + 1) log n) for k tasks skipped |
/// | [`iter`](TaskQueue::iter) | O(n) for the whole walk |
///
/// Memory: each task is stored once, and its id twice more (in the key and the index).
///
/// ```
/// use ssot_core::{Priority, Task, TaskId, TaskQueue};
///
/// let mut queue = TaskQueue::with_max_size(100);
/// let mut fix = Task::new(TaskId::new("fix")?, "Fix the outage");
/// fix.priority = Priority::Critical;
/// queue.push(Task::new(TaskId::new("docs")?, "Write docs"))?;
/// queue.push(fix)?;
///
/// assert_eq!(queue.peek().map(|t| t.id.as_str()), Some("fix"));
/// // Take the most urgent task that is ready; here "fix" is not.
/// let next = queue.pop_next(|t| t.id != "fix").unwrap();
/// assert_eq!(next.id, "docs");
/// assert_eq!(queue.len(), 1);
/// # Ok::<(), ssot_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TaskQueue {
    order: BTreeMap<QueueKey, Task>,
    index: HashMap<TaskId, QueueKey>,
    max_size: Option<usize>,
}

impl TaskQueue {
    /// An empty, unbounded queue.
    pub fn new() -> TaskQueue {
        TaskQueue::default()
    }

    /// An empty queue that holds at most `max_size` tasks.
    pub fn with_max_size(max_size: usize) -> TaskQueue {
        TaskQueue {
            max_size: Some(max_size),
            ..TaskQueue::default()
        }
    }

    /// The bound given to [`with_max_size`](TaskQueue::with_max_size), if any.
    #[must_use]
    pub fn max_size(&self) -> Option<usize> {
        self.max_size
    }

    /// Adds a task.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateTask`] if a task with the same id is queued, and
    /// [`Error::QueueFull`] if the queue is at its `max_size`. Either way the queue is
    /// unchanged.
    pub fn push(&mut self, task: Task) -> Result<(), Error> {
        if self.index.contains_key(&task.id) {
            return Err(Error::DuplicateTask { id: task.id });
        }
        if let Some(max_size) = self.max_size
            && self.order.len() >= max_size
        {
            return Err(Error::QueueFull {
                id: task.id,
                max_size,
            });
        }
        let key = QueueKey::of(&task);
        self.index.insert(task.id.clone(), key.clone());
        self.order.insert(key, task);
        Ok(())
    }

    /// The first task in queue order, without removing it.
    #[must_use]
    pub fn peek(&self) -> Option<&Task> {
        self.order.values().next()
    }

    /// Removes and returns the first task in queue order.
    #[must_use]
    pub fn pop(&mut self) -> Option<Task> {
        let (_, task) = self.order.pop_first()?;
        self.index.remove(&task.id);
        Some(task)
    }

    /// Removes and returns the first task, in queue order, for which `ready` returns
    /// true; tasks it skips stay queued in place. `None` if no task is ready.
    #[must_use]
    pub fn pop_next(&mut self, mut ready: impl FnMut(&Task) -> bool) -> Option<Task> {
        let key = self
            .order
            .iter()
            .find(|(_, task)| ready(task))
            .map(|(key, _)| key.clone())?;
        let task = self.order.remove(&key)?;
        self.index.remove(&task.id);
        Some(task)
    }

    /// Removes the task with id `id` and returns it, or `None` if it is not queued.
    pub fn remove(&mut self, id: &str) -> Option<Task> {
        let key = self.index.remove(id)?;
        self.order.remove(&key)
    }

    /// The queued task with id `id`.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Task> {
        self.index.get(id).and_then(|key| self.order.get(key))
    }

    /// Whether a task with id `id` is queued.
    #[must_use]
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// How many tasks are queued.
    #[must_use]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the queue is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The queued tasks, in queue order.
    pub fn iter(&self) -> impl Iterator<Item = &Task> + '_ {
        self.order.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, priority: Priority, created: Option<i64>) -> Task {
        let mut t = Task::new(TaskId::new(id).unwrap(), id);
        t.priority = priority;
        t.created_at = created.map(|s| Timestamp::from_second(s).unwrap());
        t
    }

    #[test]
    fn orders_by_priority_then_creation_then_id() {
        let mut q = TaskQueue::new();
        q.push(task("late-none", Priority::High, None)).unwrap();
        q.push(task("b", Priority::High, Some(10))).unwrap();
        q.push(task("a", Priority::High, Some(10))).unwrap();
        q.push(task("old", Priority::High, Some(5))).unwrap();
        q.push(task("crit", Priority::Critical, None)).unwrap();
        q.push(task("low", Priority::Low, Some(1))).unwrap();
        let order: Vec<&str> = q.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(order, ["crit", "old", "a", "b", "late-none", "low"]);
    }

    #[test]
    fn push_past_max_size_is_an_error_and_drops_nothing() {
        let mut q = TaskQueue::with_max_size(1);
        q.push(task("a", Priority::Normal, None)).unwrap();
        let err = q.push(task("b", Priority::Critical, None)).unwrap_err();
        assert!(matches!(err, Error::QueueFull { max_size: 1, .. }));
        assert_eq!(q.len(), 1);
        assert!(q.contains("a"));
    }

    #[test]
    fn duplicate_id_is_refused() {
        let mut q = TaskQueue::new();
        q.push(task("a", Priority::Normal, None)).unwrap();
        let err = q.push(task("a", Priority::High, None)).unwrap_err();
        assert!(err.to_string().contains("already in the queue"));
        assert_eq!(q.get("a").unwrap().priority, Priority::Normal);
    }

    #[test]
    fn pop_next_skips_tasks_that_are_not_ready() {
        let mut q = TaskQueue::new();
        q.push(task("a", Priority::High, None)).unwrap();
        q.push(task("b", Priority::Low, None)).unwrap();
        assert_eq!(q.pop_next(|t| t.id == "b").unwrap().id, "b");
        assert!(q.pop_next(|_| false).is_none());
        assert_eq!(q.len(), 1);
        assert_eq!(q.remove("a").unwrap().id, "a");
        assert!(q.is_empty());
        assert!(q.remove("a").is_none());
    }
}
