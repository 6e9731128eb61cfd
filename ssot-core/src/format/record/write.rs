//! Serialization: a task list in the shape it was read.

use std::cell::RefCell;
use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::error::Error;
use crate::format::field::Field;
use crate::format::ids::check_unique_ids;
use crate::format::kind::Format;
use crate::format::list::TaskList;
use crate::format::value::format_duration;
use crate::task::Task;

/// Checks what serialization cannot report itself: an extra key that is a task
/// field name, or a document key named `tasks`, would be written twice.
pub(crate) fn check_keys(format: Format, list: &TaskList) -> Result<(), Error> {
    check_unique_ids(format, &list.tasks)?;
    for task in &list.tasks {
        if let Some(key) = task.extra.keys().find(|k| Field::from_name(k).is_some()) {
            return Err(Error::Unrepresentable {
                format,
                id: task.id.clone(),
                field: "extra",
                reason: format!(
                    "holds key `{key}`, which is a task field and would be written twice; \
                     set the field itself instead"
                ),
            });
        }
    }
    if list
        .document
        .as_ref()
        .is_some_and(|doc| doc.contains_key("tasks"))
    {
        return Err(Error::InvalidDocument {
            format,
            reason: "`TaskList::document` holds a `tasks` key, where the task list is \
                     written; rename or remove it"
                .to_owned(),
        });
    }
    Ok(())
}

/// A task list in the shape it was read: a bare list, or a map with the document's
/// other keys first and then `tasks`.
pub(crate) struct DocumentOut<'a> {
    list: &'a TaskList,
    /// Reused to format durations and timestamps without an allocation each.
    scratch: RefCell<String>,
}

impl<'a> DocumentOut<'a> {
    pub(crate) fn new(list: &'a TaskList) -> DocumentOut<'a> {
        DocumentOut {
            list,
            scratch: RefCell::new(String::new()),
        }
    }
}

impl Serialize for DocumentOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let list = self.list;
        let tasks = TasksOut {
            tasks: &list.tasks,
            scratch: &self.scratch,
        };
        match &list.document {
            None => tasks.serialize(s),
            Some(doc) => {
                let mut map = s.serialize_map(Some(doc.len() + 1))?;
                for (k, v) in doc {
                    map.serialize_entry(k, v)?;
                }
                map.serialize_entry("tasks", &tasks)?;
                map.end()
            }
        }
    }
}

struct TasksOut<'a> {
    tasks: &'a [Task],
    scratch: &'a RefCell<String>,
}

impl Serialize for TasksOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.tasks.iter().map(|task| TaskOut {
            task,
            scratch: self.scratch,
        }))
    }
}

/// One task: known fields in [`Field::ALL`] order, empty ones left out (id, title,
/// priority and status are always written), then the extras in their order.
struct TaskOut<'a> {
    task: &'a Task,
    scratch: &'a RefCell<String>,
}

impl Serialize for TaskOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.task;
        let len = 4
            + usize::from(!t.category.is_empty())
            + usize::from(!t.description.is_empty())
            + usize::from(!t.dependencies.is_empty())
            + usize::from(t.created_at.is_some())
            + usize::from(t.updated_at.is_some())
            + usize::from(t.estimated_time.is_some())
            + usize::from(t.actual_time.is_some())
            + usize::from(!t.tags.is_empty())
            + t.extra.len();
        let mut map = s.serialize_map(Some(len))?;
        map.serialize_entry("id", t.id.as_str())?;
        map.serialize_entry("title", &t.title)?;
        map.serialize_entry("priority", t.priority.as_str())?;
        map.serialize_entry("status", t.status().as_str())?;
        if !t.category.is_empty() {
            map.serialize_entry("category", &t.category)?;
        }
        if !t.description.is_empty() {
            map.serialize_entry("description", &t.description)?;
        }
        if !t.dependencies.is_empty() {
            map.serialize_entry("dependencies", &StrList(&t.dependencies))?;
        }
        let mut scratch = self.scratch.borrow_mut();
        for (key, ts) in [("created_at", &t.created_at), ("updated_at", &t.updated_at)] {
            if let Some(ts) = ts {
                scratch.clear();
                // Writing to a `String` cannot fail.
                let _ = write!(scratch, "{ts}");
                map.serialize_entry(key, scratch.as_str())?;
            }
        }
        for (key, d) in [
            ("estimated_time", &t.estimated_time),
            ("actual_time", &t.actual_time),
        ] {
            if let Some(d) = d {
                scratch.clear();
                format_duration(d, &mut scratch);
                map.serialize_entry(key, scratch.as_str())?;
            }
        }
        drop(scratch);
        if !t.tags.is_empty() {
            map.serialize_entry("tags", &StrList(&t.tags))?;
        }
        for (k, v) in &t.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A list of ids or tags, as strings.
struct StrList<'a, T>(&'a [T]);

impl<T: AsRef<str>> Serialize for StrList<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(item.as_ref())?;
        }
        seq.end()
    }
}
