//! [`TaskDocument`]: a YAML or JSON task list edited in place.

use std::collections::HashMap;

use serde_json::Value;

use super::render::Quoting;
use super::splice::{self, Cx, Refusal, Splice, eol_of, line_end, line_start, next_line, pad};
use super::tree::{self, Kind, Node};
use super::{Position, not_in_place};
use crate::error::Error;
use crate::format::field::Field;
use crate::format::ids::{Draft, placeholder_id, resolve_ids};
use crate::format::value::format_duration;
use crate::format::{Format, json, yaml};
use crate::task::{Status, Task, TaskId};

/// A YAML or JSON task list kept as text and edited in place.
///
/// Reads the same tasks as [`yaml::parse`] and [`json::parse`]; an edit rewrites
/// only the bytes of the values it changes (see the [module
/// documentation](super) for what survives and how each edit is checked).
///
/// ```
/// use ssot_core::format::edit::TaskDocument;
/// use ssot_core::{Format, Status};
///
/// let text = concat!(
///     "# Release plan\n",
///     "tasks:\n",
///     "  - id: build   # the CI job\n",
///     "    title: 'Build artifacts'\n",
///     "    status: in_progress\n",
///     "  - {id: ship, title: Ship it, dependencies: [build]}\n",
/// );
/// let mut doc = TaskDocument::parse(Format::Yaml, text)?;
/// doc.set_status("build", Status::Done)?;
/// doc.set_title("ship", "Ship it, finally")?;
/// assert_eq!(doc.as_str(), concat!(
///     "# Release plan\n",
///     "tasks:\n",
///     "  - id: build   # the CI job\n",
///     "    title: 'Build artifacts'\n",
///     "    status: done\n",
///     "  - {id: ship, title: 'Ship it, finally', dependencies: [build]}\n",
/// ));
/// # Ok::<(), ssot_core::Error>(())
/// ```
///
/// # Costs
///
/// With n tasks in a file of N bytes:
///
/// | operation | cost |
/// |---|---|
/// | [`parse`](TaskDocument::parse) | the strict reader's parse, O(N), plus one span pass, O(N), and an id index, O(n) |
/// | [`tasks`](TaskDocument::tasks), [`get`](TaskDocument::get), [`as_str`](TaskDocument::as_str) | O(1) |
/// | [`update`](TaskDocument::update), [`set_status`](TaskDocument::set_status), [`set_title`](TaskDocument::set_title) | two reads of the task's own text (spans, then the check), O(task); one `replace_range`, O(N) (a move of the rest of the file, skipped when the length is kept); shifting the spans of later tasks, O(n) |
/// | [`insert`](TaskDocument::insert), [`remove`](TaskDocument::remove) | as `update`, plus an O(n) renumbering of the id index for the tasks after the place |
///
/// Changing an id, or the title of a task without an explicit id, and removing or
/// inserting tasks in a file where some tasks have no explicit id, also re-derive
/// those ids, O(n), to refuse an edit that would change one.
#[derive(Debug, Clone)]
pub struct TaskDocument {
    format: Format,
    text: String,
    tasks: Vec<Task>,
    items: Vec<Item>,
    index: HashMap<TaskId, usize>,
    place: Place,
    eol: &'static str,
}

/// Where one task's text is. For a block sequence item, from the start of the line
/// of its `-` to the end of its last value; for an item of a flow sequence (every
/// JSON one), its `{...}`.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: usize,
    end: usize,
    explicit_id: bool,
}

/// The sequence that holds the tasks.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// A block sequence; new items go on lines of their own.
    Block,
    /// A flow sequence (`[...]`), from `[` to after `]`.
    Flow { start: usize, end: usize },
    /// No sequence: an empty document, `tasks:` with no value, or a block list whose
    /// last task was removed. A first task goes at `at` (on a line of its own), its
    /// `-` indented by `indent` spaces.
    Missing { at: usize, indent: usize },
}

impl TaskDocument {
    /// Parses `text` as a task list in `format` ([`Format::Yaml`] or
    /// [`Format::Json`]), keeping it for in-place edits.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] as [`yaml::parse`] and [`json::parse`] give;
    /// [`Error::NotInPlace`] for another format.
    pub fn parse(format: Format, text: impl Into<String>) -> Result<TaskDocument, Error> {
        let text = text.into();
        let list = match format {
            Format::Yaml => yaml::parse(&text)?,
            Format::Json => json::parse(&text)?,
            other => {
                return Err(Error::NotInPlace {
                    format: other,
                    line: 1,
                    column: 1,
                    reason: "TaskDocument edits YAML and JSON; use Document for this format"
                        .to_owned(),
                });
            }
        };
        let root = span_tree(format, &text)?;
        let seq = match &root {
            None => None,
            Some(
                n @ Node {
                    kind: Kind::Seq { .. },
                    ..
                },
            ) => Some(n),
            Some(map) => map.entry("tasks").map(|e| &e.value),
        };
        let (items, place) = match seq {
            Some(
                seq @ Node {
                    kind: Kind::Seq { flow, items },
                    ..
                },
            ) => {
                let place = if *flow {
                    Place::Flow {
                        start: seq.start,
                        end: seq.end,
                    }
                } else {
                    Place::Block
                };
                let items = items
                    .iter()
                    .map(|n| Item {
                        start: if *flow {
                            n.start
                        } else {
                            dash_line(&text, n.start)
                        },
                        end: n.end,
                        explicit_id: n.entry("id").is_some_and(|e| !is_null(&text, &e.value)),
                    })
                    .collect();
                (items, place)
            }
            Some(n) => {
                // `tasks:` with no value: the key's entry, to indent the list under it.
                let key_pad = root
                    .as_ref()
                    .and_then(|r| r.entry("tasks"))
                    .map_or(0, |e| pad(&text, e.key.start).len());
                (
                    Vec::new(),
                    Place::Missing {
                        at: n.end,
                        indent: key_pad + 2,
                    },
                )
            }
            None => (
                Vec::new(),
                Place::Missing {
                    at: text.len(),
                    indent: 0,
                },
            ),
        };
        let items: Vec<Item> = items;
        if items.len() != list.tasks.len() {
            return Err(not_in_place(
                format,
                &text,
                0,
                "the task sequence could not be located in the text",
            ));
        }
        let index = list
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let eol = eol_of(&text);
        Ok(TaskDocument {
            format,
            text,
            tasks: list.tasks,
            items,
            index,
            place,
            eol,
        })
    }

    /// The document's format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The tasks, in document order.
    #[must_use]
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// The task with id `id`, if there is one. O(1).
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Task> {
        self.index.get(id).and_then(|&i| self.tasks.get(i))
    }

    /// The document's text, with every edit so far applied.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The document's text, with every edit so far applied.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }

    /// Re-reads the whole text and checks that it gives exactly [`tasks`](Self::tasks):
    /// the edits check only the text they wrote; this checks everything, O(N).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] if the text no longer reads; [`Error::NotInPlace`] if it reads
    /// as other tasks (a bug: please report it).
    pub fn verify(&self) -> Result<(), Error> {
        let list = crate::format::parse(self.format, &self.text)?;
        if list.tasks == self.tasks {
            Ok(())
        } else {
            Err(not_in_place(
                self.format,
                &self.text,
                0,
                "the text no longer reads as the edited tasks (this is a bug; please report it)",
            ))
        }
    }

    fn position(&self, id: &str) -> Result<usize, Error> {
        match self.index.get(id) {
            Some(&i) => Ok(i),
            None => Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            }),
        }
    }

    /// Task `id`'s status as written: the value of its `status` key (`None` when it
    /// has none), e.g. `Some("todo")` for a task that reads as pending. See the
    /// [module documentation](super#the-status-as-it-was-written) for writing it
    /// back in that form. O(task).
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`] (or [`Error::InvalidId`]); [`Error::NotInPlace`] when
    /// the task's text is not a mapping.
    pub fn status_text(&self, id: &str) -> Result<Option<String>, Error> {
        let i = self.position(id)?;
        let Some(item) = self.items.get(i).copied() else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        let region = self.text.get(item.start..item.end).unwrap_or("");
        let (local, lead, _) = self.local_text_of(region, self.broken_at(item.end));
        let map = self.local_map(&local).map_err(|r| {
            not_in_place(
                self.format,
                &self.text,
                (item.start + r.at).saturating_sub(lead),
                &r.reason,
            )
        })?;
        let Some(entry) = map
            .entries()
            .and_then(|e| e.iter().find(|e| e.name == Field::Status.name()))
        else {
            return Ok(None);
        };
        let raw = local.get(entry.value.start..entry.value.end).unwrap_or("");
        let value = match self.format {
            Format::Json => serde_json::from_str::<Value>(raw).ok(),
            _ => serde_yaml::from_str::<Value>(raw).ok(),
        };
        Ok(Some(match value {
            Some(Value::String(s)) => s,
            _ => raw.trim().to_owned(),
        }))
    }

    /// Moves task `id` to status `to` through the state machine of [`Status`],
    /// rewriting only its `status` value (or adding a `status` key after its last
    /// one). A task already in status `to` is left as it is.
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`], [`Error::IllegalTransition`], or as for
    /// [`update`](Self::update). On error nothing changes.
    pub fn set_status(&mut self, id: &str, to: Status) -> Result<(), Error> {
        let i = self.position(id)?;
        if let Some(task) = self.tasks.get(i) {
            task.clone().transition(to)?;
        }
        self.update(id, |t| {
            // Checked just above on a copy of the same task.
            let _ = t.transition(to);
        })
    }

    /// Sets the title of task `id`, rewriting only its `title` value. A task without
    /// an explicit id has one derived from its title; so that it keeps it, an `id`
    /// key with that id is added.
    ///
    /// # Errors
    ///
    /// As for [`update`](Self::update).
    pub fn set_title(&mut self, id: &str, title: &str) -> Result<(), Error> {
        self.update(id, |t| title.clone_into(&mut t.title))
    }

    /// Applies `f` to a copy of task `id` and writes what changed back in place.
    ///
    /// Each changed field's value is replaced where it is written, in the quoting and
    /// style of the value it replaces (plain, `'single'`, `"double"`, a `|` block, a
    /// flow or block list); a field that gains a value gets a new key after the task's
    /// last one, at the indentation of its keys; a field emptied (no description, no
    /// tags, an extra field removed) loses its key and, when the key has a line of its
    /// own, that line. Every other byte of the task, and of the file, stays. A status
    /// change is checked as [`Task::transition`] checks it.
    ///
    /// # Errors
    ///
    /// On any error nothing changes:
    /// - [`Error::TaskNotFound`] (or [`Error::InvalidId`]);
    /// - [`Error::IllegalTransition`] when `f` changed the status illegally;
    /// - [`Error::IdConflict`] when `f` gave the task an id another task has, or one
    ///   that would change the derived id of a task without an explicit id;
    /// - [`Error::Unrepresentable`] when an extra field is named like a task field;
    /// - [`Error::NotInPlace`] when the change cannot be written in place (an anchored
    ///   value, an alias, a task that is not a mapping), naming its line and column.
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut Task)) -> Result<(), Error> {
        let i = self.position(id)?;
        let (Some(old), Some(item)) = (self.tasks.get(i), self.items.get(i).copied()) else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        let mut new = old.clone();
        f(&mut new);
        let form = super::take_status_form(self.format, &mut new)?;
        if new.status() != old.status() {
            Task::new(old.id.clone(), String::new())
                .with_status(old.status())
                .transition(new.status())?;
        }
        if new == *old && form.is_none() {
            return Ok(());
        }
        check_extra_keys(self.format, &new)?;
        let id_changed = new.id != old.id;
        if id_changed && self.index.contains_key(new.id.as_str()) {
            return Err(Error::IdConflict {
                id: new.id.clone(),
                reason: "another task in this document already has this id; choose another",
            });
        }
        let write_id = id_changed || (!item.explicit_id && new.title != old.title);
        if write_id && !item.explicit_id || id_changed {
            self.check_derived_ids(
                |tasks| {
                    if let Some(d) = tasks.get_mut(i) {
                        *d = Draft::new(Task::new(new.id.clone(), String::new()), i + 1);
                        d.explicit = true;
                    }
                },
                &new.id,
            )?;
        }
        let mut changes = changes(old, &new, write_id);
        if let Some(form) = form {
            let name = Field::Status.name();
            changes.retain(|(n, _)| n != name);
            changes.push((name.to_owned(), form.map(Value::String)));
        }
        let old_id = old.id.clone();
        let region = self.rewrite(item, &changes, &new, item.explicit_id || write_id)?;
        let removed = item.end - item.start;
        let added = self.splice_text(item.start, item.end, &region)?;
        if let Some(it) = self.items.get_mut(i) {
            it.end = it.start + added;
            it.explicit_id = item.explicit_id || write_id;
        }
        self.shift_after(i, item.end, removed, added);
        if id_changed {
            self.index.remove(&old_id);
            self.index.insert(new.id.clone(), i);
        }
        if let Some(t) = self.tasks.get_mut(i) {
            *t = new;
        }
        Ok(())
    }

    /// Adds `task` at `at` ([`Position::End`] or [`Position::After`]), written in the
    /// style of the task before it (or, for the first, after it): the same
    /// indentation, the same key order for the keys it has (the others after them, in
    /// the usual order), the same quoting per key, flow or block as that task is.
    /// `priority: normal` and `status: pending` are left out when that task leaves
    /// them out. The id is always written.
    ///
    /// # Errors
    ///
    /// On any error nothing changes: [`Error::IdConflict`] when the id is taken (or
    /// would change a derived id); [`Error::TaskNotFound`] for an `After` id that is
    /// not there; [`Error::NotInPlace`] for a Markdown-only position, or a list with
    /// no task and no `[]` to copy a style from.
    pub fn insert(&mut self, task: Task, at: Position) -> Result<(), Error> {
        if self.index.contains_key(task.id.as_str()) {
            return Err(Error::IdConflict {
                id: task.id.clone(),
                reason: "another task in this document already has this id; choose another",
            });
        }
        check_extra_keys(self.format, &task)?;
        let after = match &at {
            Position::End => self.items.len().checked_sub(1),
            Position::After(id) => Some(self.position(id.as_str())?),
            _ => {
                return Err(not_in_place(
                    self.format,
                    &self.text,
                    0,
                    "only Markdown places a task as a subtask or under a heading; use End or After",
                ));
            }
        };
        let slot = after.map_or(0, |a| a + 1);
        self.check_derived_ids(
            |tasks| {
                let mut d = Draft::new(Task::new(task.id.clone(), String::new()), slot + 1);
                d.explicit = true;
                tasks.insert(slot.min(tasks.len()), d);
            },
            &task.id,
        )?;
        let template = after.or(if self.items.is_empty() { None } else { Some(0) });
        let (pos, prefix, body, suffix) = self.new_item_text(&task, after, template)?;
        let eol = |s: String| {
            if self.eol == "\n" {
                s
            } else {
                s.replace("\r\n", "\n").replace('\n', self.eol)
            }
        };
        let (prefix, body, suffix) = (eol(prefix), eol(body), eol(suffix));
        // Check the new item by reading it alone, before changing anything.
        let broken = !suffix.is_empty() || self.broken_at(pos);
        let (local, _, _) = self.local_text_of(&body, broken);
        let read = self.read_one(&local).ok_or_else(|| {
            not_in_place(
                self.format,
                &self.text,
                pos,
                "the new task, written in this file's style, would not read back as itself",
            )
        })?;
        if read != task {
            return Err(not_in_place(
                self.format,
                &self.text,
                pos,
                "the new task, written in this file's style, would not read back as itself",
            ));
        }
        let inserted = format!("{prefix}{body}{suffix}");
        let added = self.splice_text(pos, pos, &inserted)?;
        let start = pos + prefix.len();
        let item = Item {
            start,
            end: start + body.len(),
            explicit_id: true,
        };
        for it in self.items.get_mut(slot..).unwrap_or_default() {
            it.start += added;
            it.end += added;
        }
        match &mut self.place {
            Place::Flow { end, .. } => *end += added,
            Place::Missing { .. } => self.place = Place::Block,
            Place::Block => {}
        }
        self.items.insert(slot, item);
        for v in self.index.values_mut() {
            if *v >= slot {
                *v += 1;
            }
        }
        self.index.insert(task.id.clone(), slot);
        self.tasks.insert(slot, task);
        Ok(())
    }

    /// Removes task `id` and returns it. In a block list its lines go (its `-` line
    /// to its last value's line, with comments inside it); comment lines before it,
    /// which may describe the tasks after it, stay. In a flow list, the item and one
    /// separator go.
    ///
    /// Other tasks are not touched: a task that depends on the removed one keeps the
    /// id in its `dependencies` (the graph layer reports it as missing).
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`]; [`Error::IdConflict`] when removing the task would
    /// change the derived id of a task without an explicit id (one with the same
    /// title); nothing changes.
    pub fn remove(&mut self, id: &str) -> Result<Task, Error> {
        let i = self.position(id)?;
        let target = self.tasks.get(i).map(|t| t.id.clone());
        if let Some(target) = &target {
            self.check_derived_ids(
                |tasks| {
                    if i < tasks.len() {
                        tasks.remove(i);
                    }
                },
                target,
            )?;
        }
        let Some(item) = self.items.get(i).copied() else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        let (start, end) = match self.place {
            Place::Flow { start, end } => {
                let n = self.items.len();
                if n == 1 {
                    (start + 1, end.saturating_sub(1))
                } else if let Some(next) = self.items.get(i + 1) {
                    (item.start, next.start)
                } else {
                    let prev = self
                        .items
                        .get(i.wrapping_sub(1))
                        .map_or(item.start, |p| p.end);
                    (prev, item.end)
                }
            }
            _ => (item.start, next_line(&self.text, item.end)),
        };
        let removed = end.saturating_sub(start);
        let indent = pad(&self.text, item.start).len()
            + self
                .text
                .get(item.start..item.end)
                .map_or(0, |t| t.len() - t.trim_start_matches([' ', '\t']).len());
        if self.text.get(start..end).is_none() {
            return Err(not_in_place(
                self.format,
                &self.text,
                start.min(self.text.len()),
                "the task's place does not fit the text (this is a bug; please report it)",
            ));
        }
        self.text.replace_range(start..end, "");
        self.items.remove(i);
        if self.items.is_empty() && matches!(self.place, Place::Block) {
            self.place = Place::Missing { at: start, indent };
        }
        for it in self.items.get_mut(i..).unwrap_or_default() {
            it.start -= removed;
            it.end -= removed;
        }
        if let Place::Flow { end, .. } = &mut self.place {
            *end -= removed;
        }
        let task = self.tasks.remove(i);
        self.index.remove(task.id.as_str());
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        Ok(task)
    }

    // -----------------------------------------------------------------------
    // Internals.
    // -----------------------------------------------------------------------

    /// Replaces `start..end` with `new` (line breaks as the file's); the number of
    /// bytes written.
    fn splice_text(&mut self, start: usize, end: usize, new: &str) -> Result<usize, Error> {
        Splice {
            start,
            end,
            text: new.to_owned(),
        }
        .apply(&mut self.text, self.eol)
        .map_err(|r| not_in_place(self.format, &self.text, r.at, &r.reason))
    }

    /// Moves the spans after task `i` by the change of an edit that ended at `end`.
    fn shift_after(&mut self, i: usize, end: usize, removed: usize, added: usize) {
        if removed == added {
            return;
        }
        for it in self.items.get_mut(i + 1..).unwrap_or_default() {
            it.start = it.start - removed + added;
            it.end = it.end - removed + added;
        }
        if let Place::Flow { end: e, .. } = &mut self.place
            && *e >= end
        {
            *e = *e - removed + added;
        }
    }

    /// A task's text as a document of its own: a block item's lines as they are (with
    /// the line break that follows them in the file, when one does: a `|` scalar's
    /// last line break is part of its value), a flow item inside `[...]`. Returns the
    /// text and how many bytes were put before and after the task's text.
    fn local_text_of(&self, region: &str, broken: bool) -> (String, usize, usize) {
        match self.place {
            Place::Block | Place::Missing { .. } if broken => {
                (format!("{region}{}", self.eol), 0, self.eol.len())
            }
            Place::Block | Place::Missing { .. } => (region.to_owned(), 0, 0),
            Place::Flow { .. } => (format!("[{region}]"), 1, 1),
        }
    }

    /// Whether a line break follows byte `end` of the text.
    fn broken_at(&self, end: usize) -> bool {
        matches!(self.text.as_bytes().get(end), Some(b'\n' | b'\r'))
    }

    /// The one task a local text holds, read by the strict reader.
    fn read_one(&self, local: &str) -> Option<Task> {
        let list = match self.format {
            Format::Yaml => yaml::parse(local).ok()?,
            _ => json::parse(local).ok()?,
        };
        let mut tasks = list.tasks.into_iter();
        let task = tasks.next()?;
        tasks.next().is_none().then_some(task)
    }

    /// The mapping node of the one item of a local text.
    fn local_map(&self, local: &str) -> Result<Node, Refusal> {
        let root = match self.format {
            Format::Yaml => tree::yaml(local),
            _ => tree::json(local),
        }
        .map_err(|e| Refusal {
            at: e.at,
            reason: e.message,
        })?;
        let item = root
            .and_then(|r| match r.kind {
                Kind::Seq { items, .. } => items.into_iter().next(),
                _ => None,
            })
            .ok_or_else(|| Refusal {
                at: 0,
                reason: "the task is not an item of the list".to_owned(),
            })?;
        match item.kind {
            Kind::Map { .. } => Ok(item),
            Kind::Alias => Err(Refusal {
                at: item.start,
                reason: "the task is an alias (`*name`) of another node; edit the anchored node"
                    .to_owned(),
            }),
            _ => Err(Refusal {
                at: item.start,
                reason: "the task is not a mapping".to_owned(),
            }),
        }
    }

    /// The new text of a task's region with `changes` applied and checked to read
    /// back as `want`.
    fn rewrite(
        &self,
        item: Item,
        changes: &[(String, Option<Value>)],
        want: &Task,
        explicit: bool,
    ) -> Result<String, Error> {
        let region = self.text.get(item.start..item.end).unwrap_or("");
        let (local, lead, tail) = self.local_text_of(region, self.broken_at(item.end));
        let to_error = |r: Refusal| {
            let at = (item.start + r.at).saturating_sub(lead);
            not_in_place(self.format, &self.text, at, &r.reason)
        };
        let mut first_error = None;
        for quoting in [Quoting::AsBefore, Quoting::Always] {
            let mut work = local.clone();
            let mut failed = false;
            for (name, value) in changes {
                let map = self.local_map(&work).map_err(to_error)?;
                let cx = Cx {
                    text: &work,
                    format: self.format,
                    quoting,
                };
                let at = map
                    .entries()
                    .and_then(|e| e.iter().position(|e| &e.name == name));
                let splice = match (at, value) {
                    (Some(ix), Some(v)) => splice::set_value(cx, &map, ix, v),
                    (None, Some(v)) => splice::add_entry(cx, &map, name, v),
                    (Some(ix), None) => splice::remove_entry(cx, &map, ix),
                    (None, None) => continue,
                };
                match splice.and_then(|s| s.apply(&mut work, self.eol)) {
                    Ok(_) => {}
                    Err(r) => {
                        first_error.get_or_insert(to_error(r));
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                continue;
            }
            let read = self.read_one(&work).map(|mut t| {
                if !explicit {
                    t.id = want.id.clone();
                }
                t
            });
            if read.as_ref() == Some(want) {
                let end = work.len() - tail;
                return Ok(work.get(lead..end).unwrap_or("").to_owned());
            }
        }
        Err(first_error.unwrap_or_else(|| {
            not_in_place(
                self.format,
                &self.text,
                item.start,
                &format!(
                    "task `{}` rewritten in place would not read back as the edited task",
                    want.id
                ),
            )
        }))
    }

    /// The text of a new item: where it goes, what comes before it (a separator or
    /// line break), its own text, and what comes after.
    fn new_item_text(
        &self,
        task: &Task,
        after: Option<usize>,
        template: Option<usize>,
    ) -> Result<(usize, String, String, String), Error> {
        let text = &self.text;
        let t_item = template.and_then(|t| self.items.get(t).copied());
        let t_map = match t_item {
            Some(it) => {
                let region = text.get(it.start..it.end).unwrap_or("");
                let (local, lead, _) = self.local_text_of(region, self.broken_at(it.end));
                let mut map = self
                    .local_map(&local)
                    .map_err(|r| not_in_place(self.format, text, it.start, &r.reason))?;
                // Back to the document's offsets.
                map.relocate(it.start, lead);
                Some(map)
            }
            None => None,
        };
        let entries = ordered_entries(task, t_map.as_ref());
        let cx = Cx {
            text,
            format: self.format,
            quoting: Quoting::AsBefore,
        };
        match self.place {
            Place::Block => {
                let (Some(it), Some(map)) = (t_item, &t_map) else {
                    return Err(not_in_place(
                        self.format,
                        text,
                        0,
                        "no task to copy a style from",
                    ));
                };
                let first_key = map
                    .entries()
                    .and_then(|e| e.first())
                    .map_or(map.start, |e| e.key.start);
                let first = text
                    .get(it.start..map.start.min(first_key))
                    .filter(|p| p.trim_start().starts_with('-') && !p.contains('\n'))
                    .map_or_else(|| format!("{}- ", pad(text, it.start)), str::to_owned);
                let body = if map.is_flow() {
                    format!("{first}{}", splice::flow_map(cx, Some(map), &entries))
                } else {
                    let key_pad = map
                        .entries()
                        .and_then(|e| e.get(1))
                        .map_or_else(|| pad(text, first_key), |e| pad(text, e.key.start));
                    let mut lines = splice::block_item(cx, Some(map), &first, &key_pad, &entries);
                    lines.pop();
                    lines
                };
                let anchor = after.and_then(|a| self.items.get(a)).copied();
                let pos = match anchor {
                    Some(a) => next_line(text, a.end),
                    None => line_start(text, it.start),
                };
                let ends_line =
                    pos > 0 && matches!(text.as_bytes().get(pos - 1), Some(b'\n' | b'\r'));
                if anchor.is_some() && !ends_line {
                    Ok((pos, "\n".to_owned(), body, String::new()))
                } else {
                    Ok((pos, String::new(), body, "\n".to_owned()))
                }
            }
            Place::Flow { start, .. } => {
                let body = splice::flow_map(cx, t_map.as_ref(), &entries);
                let sep = |a: &Item, b: &Item| {
                    text.get(a.end..b.start)
                        .filter(|g| !g.contains('#'))
                        .map(str::to_owned)
                };
                let items = &self.items;
                let gap = match (items.first(), items.get(1)) {
                    (Some(a), Some(b)) => sep(a, b),
                    (Some(a), None) => text
                        .get(start + 1..a.start)
                        .filter(|g| g.contains('\n'))
                        .map(|g| format!(",{g}")),
                    _ => None,
                }
                .unwrap_or_else(|| ", ".to_owned());
                match after.and_then(|a| items.get(a)) {
                    Some(a) => Ok((a.end, gap, body, String::new())),
                    None => match items.first() {
                        Some(first) => Ok((first.start, String::new(), body, gap)),
                        None => Ok((start + 1, String::new(), body, String::new())),
                    },
                }
            }
            Place::Missing { at, indent } if self.format == Format::Yaml => {
                let first = format!("{}- ", " ".repeat(indent));
                let key_pad = " ".repeat(indent + 2);
                let mut body = splice::block_item(cx, None, &first, &key_pad, &entries);
                body.pop();
                let at_line_start =
                    at == 0 || matches!(text.as_bytes().get(at - 1), Some(b'\n' | b'\r'));
                if at_line_start {
                    Ok((at, String::new(), body, "\n".to_owned()))
                } else {
                    Ok((line_end(text, at), "\n".to_owned(), body, String::new()))
                }
            }
            Place::Missing { at, .. } => Err(not_in_place(
                self.format,
                text,
                at,
                "the task list is `null` and has no `[]` to write into; write `[]` first",
            )),
        }
    }

    /// Refuses an edit that would change the derived id of a task without an explicit
    /// id: `edit` changes the drafts (one per task, explicit ones with their id) as
    /// the edit would.
    fn check_derived_ids(
        &self,
        edit: impl FnOnce(&mut Vec<Draft>),
        id: &TaskId,
    ) -> Result<(), Error> {
        if self.items.iter().all(|it| it.explicit_id) {
            return Ok(());
        }
        let mut drafts: Vec<Draft> = self
            .tasks
            .iter()
            .zip(&self.items)
            .enumerate()
            .map(|(j, (t, it))| {
                let mut d = if it.explicit_id {
                    Draft::new(Task::new(t.id.clone(), String::new()), j + 1)
                } else {
                    Draft::new(Task::new(placeholder_id(), t.title.clone()), j + 1)
                };
                d.explicit = it.explicit_id;
                d
            })
            .collect();
        let before: Vec<(TaskId, bool)> = self
            .tasks
            .iter()
            .zip(&self.items)
            .map(|(t, it)| (t.id.clone(), it.explicit_id))
            .collect();
        edit(&mut drafts);
        let after = resolve_ids(self.format, drafts)?;
        let kept = before
            .iter()
            .filter(|(_, explicit)| !explicit)
            .all(|(old, _)| after.iter().any(|t| t.id == *old) || old == id);
        if kept {
            Ok(())
        } else {
            Err(Error::IdConflict {
                id: id.clone(),
                reason: "this change would alter the derived id of another task with the same \
                         title; give that task an explicit id first",
            })
        }
    }
}

/// The span tree of a whole document, as a parse error when it fails.
fn span_tree(format: Format, text: &str) -> Result<Option<Node>, Error> {
    let tree = match format {
        Format::Yaml => tree::yaml(text),
        _ => tree::json(text),
    };
    tree.map_err(|e| not_in_place(format, text, e.at, &e.message))
}

/// The start of the line of the `-` before a block sequence item starting at `at`.
fn dash_line(text: &str, at: usize) -> usize {
    let before = text.get(..at).unwrap_or("");
    let trimmed = before.trim_end_matches([' ', '\t', '\r', '\n']);
    match trimmed.strip_suffix('-') {
        Some(rest) => line_start(text, rest.len()),
        None => line_start(text, at),
    }
}

/// Whether a value node is a YAML or JSON null.
fn is_null(text: &str, node: &Node) -> bool {
    matches!(node.kind, Kind::Scalar(tree::Style::Plain))
        && matches!(
            text.get(node.start..node.end),
            Some("" | "~" | "null" | "Null" | "NULL")
        )
}

/// Refuses an extra field named like a task field: it would be written twice.
fn check_extra_keys(format: Format, task: &Task) -> Result<(), Error> {
    match task.extra.keys().find(|k| Field::from_name(k).is_some()) {
        Some(key) => Err(Error::Unrepresentable {
            format,
            id: task.id.clone(),
            field: "extra",
            reason: format!(
                "holds key `{key}`, which is a task field and would be written twice; set the field itself instead"
            ),
        }),
        None => Ok(()),
    }
}

/// The value a task field is written as, `None` when it is left out.
pub(super) fn field_value(task: &Task, field: Field) -> Option<Value> {
    let list = |items: Vec<&str>| (!items.is_empty()).then(|| Value::from(items));
    let duration = |d: &Option<std::time::Duration>| {
        d.as_ref().map(|d| {
            let mut s = String::new();
            format_duration(d, &mut s);
            Value::from(s)
        })
    };
    let text = |s: &str| (!s.is_empty()).then(|| Value::from(s));
    match field {
        Field::Id => Some(Value::from(task.id.as_str())),
        Field::Title => Some(Value::from(task.title.as_str())),
        Field::Priority => Some(Value::from(task.priority.as_str())),
        Field::Status => Some(Value::from(task.status().as_str())),
        Field::Category => text(&task.category),
        Field::Description => text(&task.description),
        Field::Dependencies => list(task.dependencies.iter().map(TaskId::as_str).collect()),
        Field::CreatedAt => task.created_at.map(|t| Value::from(t.to_string())),
        Field::UpdatedAt => task.updated_at.map(|t| Value::from(t.to_string())),
        Field::EstimatedTime => duration(&task.estimated_time),
        Field::ActualTime => duration(&task.actual_time),
        Field::Tags => list(task.tags.iter().map(|t| t.as_str()).collect()),
    }
}

/// Whether a field differs between two tasks.
pub(super) fn field_differs(old: &Task, new: &Task, field: Field) -> bool {
    match field {
        Field::Id => old.id != new.id,
        Field::Title => old.title != new.title,
        Field::Priority => old.priority != new.priority,
        Field::Status => old.status() != new.status(),
        Field::Category => old.category != new.category,
        Field::Description => old.description != new.description,
        Field::Dependencies => old.dependencies != new.dependencies,
        Field::CreatedAt => old.created_at != new.created_at,
        Field::UpdatedAt => old.updated_at != new.updated_at,
        Field::EstimatedTime => old.estimated_time != new.estimated_time,
        Field::ActualTime => old.actual_time != new.actual_time,
        Field::Tags => old.tags != new.tags,
    }
}

/// The keys to set (`Some`) or remove (`None`) to turn `old` into `new`.
fn changes(old: &Task, new: &Task, write_id: bool) -> Vec<(String, Option<Value>)> {
    let mut out = Vec::new();
    for field in Field::ALL {
        let differs = field_differs(old, new, field) || (field == Field::Id && write_id);
        if differs {
            out.push((field.name().to_owned(), field_value(new, field)));
        }
    }
    for (k, v) in &old.extra {
        if !new.extra.contains_key(k) {
            out.push((k.clone(), None));
        } else if new.extra.get(k) != Some(v) {
            out.push((k.clone(), new.extra.get(k).cloned()));
        }
    }
    for (k, v) in &new.extra {
        if !old.extra.contains_key(k) {
            out.push((k.clone(), Some(v.clone())));
        }
    }
    out
}

/// A new task's keys and values: those the template has first, in its order, then
/// the rest in the usual order; a default priority or status only when the template
/// writes one.
fn ordered_entries(task: &Task, template: Option<&Node>) -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = Vec::new();
    for field in Field::ALL {
        if let Some(v) = field_value(task, field) {
            let default = match field {
                Field::Priority => task.priority == crate::task::Priority::Normal,
                Field::Status => task.status() == Status::Pending,
                _ => false,
            };
            if default && template.is_some_and(|t| t.entry(field.name()).is_none()) {
                continue;
            }
            all.push((field.name().to_owned(), v));
        }
    }
    all.extend(task.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(names) = template.and_then(Node::entries) {
        let rank = |k: &str| names.iter().position(|e| e.name == k).unwrap_or(usize::MAX);
        all.sort_by_key(|(k, _)| rank(k));
    }
    all
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::format::edit::STATUS_AS_WRITTEN;

    const YAML: &str = "tasks:\n  - id: a   # no status\n    title: A\n  - id: b\n    title: B\n    status: 'todo'\n";

    #[test]
    fn status_text_is_the_status_as_written_or_none_without_a_key() {
        let doc = TaskDocument::parse(Format::Yaml, YAML).unwrap();
        assert_eq!(doc.status_text("a").unwrap(), None);
        assert_eq!(doc.status_text("b").unwrap().as_deref(), Some("todo"));
        assert!(matches!(
            doc.status_text("zz"),
            Err(Error::TaskNotFound { .. })
        ));
        let json = "[{\"id\": \"j\", \"title\": \"J\", \"status\": \"In Progress\"}]";
        let doc = TaskDocument::parse(Format::Json, json).unwrap();
        assert_eq!(
            doc.status_text("j").unwrap().as_deref(),
            Some("In Progress")
        );
    }

    #[test]
    fn a_status_put_back_in_its_written_form_restores_the_text_to_the_byte() {
        for (format, text) in [
            (Format::Yaml, YAML.to_owned()),
            (
                Format::Json,
                "{\"tasks\": [\n  {\"id\": \"a\", \"title\": \"A\"},\n  {\"id\": \"b\", \"title\": \"B\", \"status\": \"todo\"}\n]}\n"
                    .to_owned(),
            ),
        ] {
            let mut doc = TaskDocument::parse(format, text.as_str()).unwrap();
            let forms: Vec<Option<String>> = ["a", "b"]
                .iter()
                .map(|id| doc.status_text(id).unwrap())
                .collect();
            for id in ["a", "b"] {
                doc.set_status(id, Status::InProgress).unwrap();
            }
            assert_ne!(doc.as_str(), text);
            for (id, form) in ["a", "b"].iter().zip(forms) {
                doc.update(id, |t| {
                    t.transition(Status::Pending).unwrap();
                    t.extra.insert(
                        STATUS_AS_WRITTEN.to_owned(),
                        form.map_or(Value::Null, Value::String),
                    );
                })
                .unwrap();
            }
            assert_eq!(doc.as_str(), text, "{format:?}");
            assert!(doc.tasks().iter().all(|t| t.extra.is_empty()));
            doc.verify().unwrap();
        }
    }

    #[test]
    fn a_written_form_that_disagrees_with_the_status_is_refused() {
        let mut doc = TaskDocument::parse(Format::Yaml, YAML).unwrap();
        let with = |v: Value| {
            move |t: &mut Task| {
                t.extra.insert(STATUS_AS_WRITTEN.to_owned(), v);
            }
        };
        doc.set_status("a", Status::InProgress).unwrap();
        let before = doc.as_str().to_owned();
        // No key reads as pending, not in progress.
        assert!(matches!(
            doc.update("a", with(Value::Null)),
            Err(Error::Unrepresentable {
                field: "status",
                ..
            })
        ));
        // `done` does not read as in progress; a number is no status.
        assert!(doc.update("a", with("done".into())).is_err());
        assert!(doc.update("a", with(3.into())).is_err());
        assert_eq!(doc.as_str(), before);
        // A spelling of the same status is written as given.
        doc.update("a", with("In Progress".into())).unwrap();
        assert!(
            doc.as_str().contains("status: In Progress\n"),
            "{}",
            doc.as_str()
        );
        assert_eq!(doc.get("a").map(Task::status), Some(Status::InProgress));
    }

    /// How a generated task writes its status: no key, or one of these texts (all
    /// read as pending), in the format's quoting.
    const FORMS: [Option<&str>; 5] = [
        None,
        Some("pending"),
        Some("todo"),
        Some("Pending"),
        Some("TODO"),
    ];

    fn render(format: Format, forms: &[(usize, usize)]) -> String {
        let mut out = String::new();
        match format {
            Format::Yaml => {
                out.push_str("# generated\ntasks:\n");
                for (i, &(form, quote)) in forms.iter().enumerate() {
                    out.push_str(&format!("  - id: t{i}   # task {i}\n    title: Task {i}\n"));
                    if let Some(f) = FORMS[form % FORMS.len()] {
                        let q = ["", "'", "\""][quote % 3];
                        out.push_str(&format!("    status: {q}{f}{q}\n"));
                    }
                }
            }
            _ => {
                out.push_str("{\"tasks\": [\n");
                for (i, &(form, _)) in forms.iter().enumerate() {
                    let status = FORMS[form % FORMS.len()]
                        .map(|f| format!(", \"status\": \"{f}\""))
                        .unwrap_or_default();
                    let comma = if i + 1 < forms.len() { "," } else { "" };
                    out.push_str(&format!(
                        "  {{\"id\": \"t{i}\", \"title\": \"Task {i}\"{status}}}{comma}\n"
                    ));
                }
                out.push_str("]}\n");
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever form a pending task's status is written in, moving some tasks
        /// to in progress and putting them back in their written form gives the
        /// original text, byte for byte.
        #[test]
        fn in_progress_and_back_in_the_written_form_is_the_identity(
            json in proptest::bool::ANY,
            forms in proptest::collection::vec((0usize..5, 0usize..3), 1..6),
            picks in proptest::collection::vec(0usize..6, 1..4),
        ) {
            let format = if json { Format::Json } else { Format::Yaml };
            let text = render(format, &forms);
            let mut doc = TaskDocument::parse(format, text.as_str()).unwrap();
            let mut ids: Vec<String> = picks.iter().map(|p| format!("t{}", p % forms.len())).collect();
            ids.dedup();
            ids.sort();
            ids.dedup();
            let written: Vec<Option<String>> =
                ids.iter().map(|id| doc.status_text(id).unwrap()).collect();
            for id in &ids {
                doc.set_status(id, Status::InProgress).unwrap();
            }
            for (id, form) in ids.iter().zip(written) {
                doc.update(id, |t| {
                    t.transition(Status::Pending).unwrap();
                    t.extra.insert(
                        STATUS_AS_WRITTEN.to_owned(),
                        form.map_or(Value::Null, Value::String),
                    );
                })
                .unwrap();
            }
            proptest::prop_assert_eq!(doc.as_str(), text.as_str());
        }
    }
}
