//! [`CsvDocument`]: a CSV task list edited in place, one row at a time.

use std::collections::HashMap;

use serde_json::Value;

use super::tasks::{field_differs, field_value};
use super::{Position, not_in_place};
use crate::error::Error;
use crate::format::field::Field;
use crate::format::{Format, csv};
use crate::task::{Status, Task, TaskId};

/// A CSV task list kept as text and edited in place.
///
/// An edit rewrites only the cells of the row it changes, each in the file's quoting
/// (quoted only where needed, or every cell quoted when the file does that); the
/// header and every other row keep their bytes. A new row is written the same way;
/// a removed row takes its line break with it.
///
/// ```
/// use ssot_core::format::edit::CsvDocument;
/// use ssot_core::Status;
///
/// let text = "id,title,status,owner\r\nship,\"Ship it, now\",todo,kim\r\nfix,Fix,pending,\r\n";
/// let mut doc = CsvDocument::parse(text)?;
/// doc.set_status("ship", Status::InProgress)?;
/// assert_eq!(doc.as_str(), "id,title,status,owner\r\nship,\"Ship it, now\",in_progress,kim\r\nfix,Fix,pending,\r\n");
/// # Ok::<(), ssot_core::Error>(())
/// ```
///
/// A value in a column the file does not have (a first tag in a file without a `tags`
/// column) would need every row rewritten: that is refused with
/// [`Error::NotInPlace`].
///
/// # Costs
///
/// [`parse`](CsvDocument::parse) is the CSV reader's parse plus one pass for row
/// positions, O(N). An edit re-reads its row (and the header) to check it, O(row),
/// then one `replace_range`, O(N), and shifts the positions of later rows, O(n).
#[derive(Debug, Clone)]
pub struct CsvDocument {
    text: String,
    tasks: Vec<Task>,
    rows: Vec<Row>,
    index: HashMap<TaskId, usize>,
    columns: Vec<String>,
    /// Where the header row ends (before its line break).
    header_end: usize,
    quote_all: bool,
    eol: &'static str,
}

/// A data row: from its first byte to the end of its last cell (without the line
/// break).
#[derive(Debug, Clone, Copy)]
struct Row {
    start: usize,
    end: usize,
    explicit_id: bool,
}

impl CsvDocument {
    /// Parses a CSV task list, keeping it for in-place edits.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] as [`csv::parse`] gives it.
    pub fn parse(text: impl Into<String>) -> Result<CsvDocument, Error> {
        let text = text.into();
        let list = csv::parse(&text)?;
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let body = text.get(bom..).unwrap_or("");
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes());
        let mut starts = Vec::new();
        let mut columns = Vec::new();
        let mut record = ::csv::StringRecord::new();
        loop {
            // Where the reader stands before a record is where it starts, after any
            // blank lines it skips.
            let before = usize::try_from(reader.position().byte()).unwrap_or(0) + bom;
            if !reader.read_record(&mut record).unwrap_or(false) {
                break;
            }
            let at = before
                + text
                    .get(before..)
                    .map_or(0, |t| t.len() - t.trim_start_matches(['\r', '\n']).len());
            if columns.is_empty() && starts.is_empty() {
                columns = record.iter().map(str::to_owned).collect();
            }
            starts.push(at);
        }
        starts.push(text.len());
        let row_end = |next: usize| {
            let t = text.get(..next).unwrap_or("");
            t.trim_end_matches(['\r', '\n']).len()
        };
        let header_end = starts.get(1).map_or(text.len(), |&n| row_end(n));
        let id_column = columns.iter().position(|c| c == "id");
        let mut rows = Vec::new();
        for w in starts.windows(2).skip(1) {
            let (start, end) = (w[0], row_end(w[1]).max(w[0]));
            let explicit_id = id_column.is_some_and(|c| {
                text.get(start..end)
                    .map(cell_spans)
                    .and_then(|cells| cells.get(c).copied())
                    .is_some_and(|(a, b)| {
                        text.get(start + a..start + b)
                            .is_some_and(|cell| !unquote(cell).is_empty())
                    })
            });
            rows.push(Row {
                start,
                end,
                explicit_id,
            });
        }
        if rows.len() != list.tasks.len() {
            return Err(not_in_place(
                Format::Csv,
                &text,
                0,
                "the rows could not be matched with the tasks (blank rows?)",
            ));
        }
        let quote_all = text.get(bom..header_end).is_some_and(|h| {
            !h.is_empty()
                && cell_spans(h)
                    .iter()
                    .all(|&(a, _)| h.as_bytes().get(a) == Some(&b'"'))
        });
        let index = list
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let eol = super::splice::eol_of(&text);
        Ok(CsvDocument {
            text,
            tasks: list.tasks,
            rows,
            index,
            columns,
            header_end,
            quote_all,
            eol,
        })
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

    fn position(&self, id: &str) -> Result<usize, Error> {
        match self.index.get(id) {
            Some(&i) => Ok(i),
            None => Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            }),
        }
    }

    /// Task `id`'s status as written: its `status` cell, unquoted (`None` when the
    /// file has no `status` column or the cell is empty). See the [module
    /// documentation](super#the-status-as-it-was-written) for writing it back in
    /// that form. O(row).
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`] (or [`Error::InvalidId`]).
    pub fn status_text(&self, id: &str) -> Result<Option<String>, Error> {
        let i = self.position(id)?;
        let Some(row) = self.rows.get(i).copied() else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        let Some(column) = self
            .columns
            .iter()
            .position(|c| Field::from_name(c) == Some(Field::Status))
        else {
            return Ok(None);
        };
        let line = self.text.get(row.start..row.end).unwrap_or("");
        Ok(cell_spans(line)
            .get(column)
            .map(|&(a, b)| unquote(line.get(a..b).unwrap_or("")))
            .filter(|c| !c.is_empty()))
    }

    /// Moves task `id` to status `to`, rewriting only its `status` cell.
    ///
    /// # Errors
    ///
    /// As for [`update`](Self::update).
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

    /// Sets the title of task `id`, rewriting only its `title` cell (and writing its
    /// id into the `id` cell when the row had none, so that it keeps it).
    ///
    /// # Errors
    ///
    /// As for [`update`](Self::update).
    pub fn set_title(&mut self, id: &str, title: &str) -> Result<(), Error> {
        self.update(id, |t| title.clone_into(&mut t.title))
    }

    /// Applies `f` to a copy of task `id` and rewrites the cells of the fields that
    /// changed.
    ///
    /// # Errors
    ///
    /// On any error nothing changes: [`Error::TaskNotFound`],
    /// [`Error::IllegalTransition`], [`Error::IdConflict`] (an id taken),
    /// [`Error::Unrepresentable`] (a value CSV cannot hold: an empty title, an extra
    /// value that is not a non-empty string), [`Error::NotInPlace`] (a value for a
    /// column the file does not have, or a title change without an `id` column).
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut Task)) -> Result<(), Error> {
        let i = self.position(id)?;
        let (Some(old), Some(row)) = (self.tasks.get(i), self.rows.get(i).copied()) else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        let mut new = old.clone();
        f(&mut new);
        let form = super::take_status_form(Format::Csv, &mut new)?;
        if new.status() != old.status() {
            Task::new(old.id.clone(), String::new())
                .with_status(old.status())
                .transition(new.status())?;
        }
        if new == *old && form.is_none() {
            return Ok(());
        }
        let id_changed = new.id != old.id;
        if id_changed && self.index.contains_key(new.id.as_str()) {
            return Err(Error::IdConflict {
                id: new.id.clone(),
                reason: "another task in this document already has this id; choose another",
            });
        }
        let write_id = id_changed || (!row.explicit_id && new.title != old.title);
        if write_id
            && self
                .rows
                .iter()
                .enumerate()
                .any(|(j, r)| j != i && !r.explicit_id)
        {
            return Err(Error::IdConflict {
                id: new.id.clone(),
                reason: "other tasks in this file have derived ids that this change could alter; give every task an explicit id first",
            });
        }
        let line = self.text.get(row.start..row.end).unwrap_or("");
        let spans = cell_spans(line);
        let mut cells: Vec<String> = spans
            .iter()
            .map(|&(a, b)| line.get(a..b).unwrap_or("").to_owned())
            .collect();
        for (column, name) in self.columns.iter().enumerate() {
            let (changed, value) = match Field::from_name(name) {
                Some(field) => (
                    field_differs(old, &new, field) || (field == Field::Id && write_id),
                    field_value(&new, field),
                ),
                None => (
                    old.extra.get(name) != new.extra.get(name),
                    new.extra.get(name).cloned(),
                ),
            };
            if let (Some(form), Some(Field::Status)) = (&form, Field::from_name(name)) {
                if let Some(cell) = cells.get_mut(column) {
                    *cell = self.quote(form.as_deref().unwrap_or(""));
                }
                continue;
            }
            if changed && let Some(cell) = cells.get_mut(column) {
                *cell = self.quote(&cell_text(&new, name, value.as_ref())?);
            }
        }
        self.check_columns(&new, write_id)?;
        let old_id = old.id.clone();
        let rewritten = cells.join(",");
        self.check_row(&rewritten, &new, row.explicit_id || write_id, row.start)?;
        let removed = row.end - row.start;
        self.text.replace_range(row.start..row.end, &rewritten);
        let added = rewritten.len();
        if let Some(r) = self.rows.get_mut(i) {
            r.end = r.start + added;
            r.explicit_id = row.explicit_id || write_id;
        }
        for r in self.rows.get_mut(i + 1..).unwrap_or_default() {
            r.start = r.start - removed + added;
            r.end = r.end - removed + added;
        }
        if id_changed {
            self.index.remove(&old_id);
            self.index.insert(new.id.clone(), i);
        }
        if let Some(t) = self.tasks.get_mut(i) {
            *t = new;
        }
        Ok(())
    }

    /// Adds `task` as a new row at `at` ([`Position::End`] or [`Position::After`]),
    /// its cells in the header's order and the file's quoting.
    ///
    /// # Errors
    ///
    /// [`Error::IdConflict`], [`Error::TaskNotFound`], [`Error::Unrepresentable`], or
    /// [`Error::NotInPlace`] for a value in a column the file does not have, or a
    /// Markdown-only position; nothing changes.
    pub fn insert(&mut self, task: Task, at: Position) -> Result<(), Error> {
        if self.index.contains_key(task.id.as_str()) {
            return Err(Error::IdConflict {
                id: task.id.clone(),
                reason: "another task in this document already has this id; choose another",
            });
        }
        let after = match &at {
            Position::End => self.rows.len().checked_sub(1),
            Position::After(id) => Some(self.position(id.as_str())?),
            _ => {
                return Err(not_in_place(
                    Format::Csv,
                    &self.text,
                    0,
                    "only Markdown places a task as a subtask or under a heading; use End or After",
                ));
            }
        };
        if !self.columns.iter().any(|c| c == "id") {
            return Err(not_in_place(
                Format::Csv,
                &self.text,
                0,
                "the file has no `id` column to hold the new task's id",
            ));
        }
        self.check_columns(&task, true)?;
        let mut cells = Vec::with_capacity(self.columns.len());
        for name in &self.columns {
            let value = match Field::from_name(name) {
                Some(field) => field_value(&task, field),
                None => task.extra.get(name).cloned(),
            };
            cells.push(self.quote(&cell_text(&task, name, value.as_ref())?));
        }
        let row_text = cells.join(",");
        let slot = after.map_or(0, |a| a + 1);
        let anchor_end = after
            .and_then(|a| self.rows.get(a))
            .map_or(self.header_end, |r| r.end);
        self.check_row(&row_text, &task, true, anchor_end)?;
        let inserted = format!("{}{row_text}", self.eol);
        self.text.insert_str(anchor_end, &inserted);
        let added = inserted.len();
        for r in self.rows.get_mut(slot..).unwrap_or_default() {
            r.start += added;
            r.end += added;
        }
        let start = anchor_end + self.eol.len();
        self.rows.insert(
            slot,
            Row {
                start,
                end: start + row_text.len(),
                explicit_id: true,
            },
        );
        for v in self.index.values_mut() {
            if *v >= slot {
                *v += 1;
            }
        }
        self.index.insert(task.id.clone(), slot);
        self.tasks.insert(slot, task);
        Ok(())
    }

    /// Removes task `id`'s row with its line break and returns the task. Other rows
    /// are not changed: a task that depends on it keeps the id in its `dependencies`.
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`]; [`Error::IdConflict`] in a file where some rows have
    /// no id (removing a row could change their derived ids).
    pub fn remove(&mut self, id: &str) -> Result<Task, Error> {
        let i = self.position(id)?;
        if self.rows.iter().any(|r| !r.explicit_id) {
            return Err(Error::IdConflict {
                id: TaskId::new(id)?,
                reason: "other tasks in this file have derived ids that removing a row could alter; give every task an explicit id first",
            });
        }
        let Some(row) = self.rows.get(i).copied() else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        // From the end of the row before (header or data) to the end of this one: the
        // line break before the row goes with it.
        let start = match i.checked_sub(1).and_then(|p| self.rows.get(p)) {
            Some(prev) => prev.end,
            None => self.header_end,
        };
        let end = row.end;
        if self.text.get(start..end).is_none() {
            return Err(not_in_place(
                Format::Csv,
                &self.text,
                start.min(self.text.len()),
                "the row's place does not fit the text (this is a bug; please report it)",
            ));
        }
        self.text.replace_range(start..end, "");
        let removed = end - start;
        self.rows.remove(i);
        for r in self.rows.get_mut(i..).unwrap_or_default() {
            r.start -= removed;
            r.end -= removed;
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

    /// A cell in the file's quoting.
    fn quote(&self, s: &str) -> String {
        if self.quote_all
            || s.contains([',', '"', '\n', '\r'])
            || s.starts_with(' ')
            || s.ends_with(' ')
        {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }

    /// Refuses a task with a value in a column the file does not have.
    fn check_columns(&self, task: &Task, with_id: bool) -> Result<(), Error> {
        let has = |name: &str| self.columns.iter().any(|c| c == name);
        for field in Field::ALL {
            let needed = match field {
                Field::Id => with_id,
                Field::Priority => task.priority != crate::task::Priority::Normal,
                Field::Status => task.status() != Status::Pending,
                f => field_value(task, f).is_some(),
            };
            if needed && !has(field.name()) {
                return Err(not_in_place(
                    Format::Csv,
                    &self.text,
                    0,
                    &format!(
                        "the file has no `{}` column; adding one would rewrite every row",
                        field.name()
                    ),
                ));
            }
        }
        if let Some(key) = task.extra.keys().find(|k| !has(k)) {
            return Err(not_in_place(
                Format::Csv,
                &self.text,
                0,
                &format!("the file has no `{key}` column; adding one would rewrite every row"),
            ));
        }
        Ok(())
    }

    /// Reads the header and `row` alone and checks they give `want`.
    fn check_row(&self, row: &str, want: &Task, explicit: bool, at: usize) -> Result<(), Error> {
        let header = self.text.get(..self.header_end).unwrap_or("");
        let local = format!("{header}\n{row}\n");
        let read = csv::parse(&local)
            .ok()
            .and_then(|l| l.tasks.into_iter().next())
            .map(|mut t| {
                if !explicit {
                    t.id = want.id.clone();
                }
                t
            });
        if read.as_ref() == Some(want) {
            Ok(())
        } else {
            Err(not_in_place(
                Format::Csv,
                &self.text,
                at,
                &format!(
                    "task `{}` written as a row would not read back as itself",
                    want.id
                ),
            ))
        }
    }
}

/// The text of a task's cell in column `name`.
fn cell_text(task: &Task, name: &str, value: Option<&Value>) -> Result<String, Error> {
    match value {
        None => Ok(String::new()),
        Some(Value::String(s)) if Field::from_name(name).is_some() || !s.is_empty() => {
            Ok(s.clone())
        }
        Some(Value::Array(items)) if Field::from_name(name).is_some() => Ok(items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(";")),
        Some(other) => Err(Error::Unrepresentable {
            format: Format::Csv,
            id: task.id.clone(),
            field: "extra",
            reason: format!("`{name}` is {other}, but a CSV cell holds non-empty text only"),
        }),
    }
}

/// The byte ranges of the cells of one row, quotes included.
fn cell_spans(row: &str) -> Vec<(usize, usize)> {
    let bytes = row.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            while i < bytes.len() {
                if bytes.get(i) == Some(&b'"') {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
        }
        while i < bytes.len() && bytes.get(i) != Some(&b',') {
            i += 1;
        }
        spans.push((start, i));
        if i >= bytes.len() {
            return spans;
        }
        i += 1;
    }
}

/// A cell's text without its quotes.
fn unquote(cell: &str) -> String {
    match cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => cell.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::format::edit::STATUS_AS_WRITTEN;

    #[test]
    fn an_empty_or_spelled_status_cell_is_put_back_as_it_was() {
        let text = "id,title,status,owner\r\nc1,C one,,kim\r\nc2,\"C, two\",TODO,\r\n";
        let mut doc = CsvDocument::parse(text).unwrap();
        assert_eq!(doc.status_text("c1").unwrap(), None);
        assert_eq!(doc.status_text("c2").unwrap().as_deref(), Some("TODO"));
        let forms: Vec<Option<String>> = ["c1", "c2"]
            .iter()
            .map(|id| doc.status_text(id).unwrap())
            .collect();
        for id in ["c1", "c2"] {
            doc.set_status(id, Status::InProgress).unwrap();
        }
        assert!(doc.as_str().contains("c1,C one,in_progress,kim\r\n"));
        for (id, form) in ["c1", "c2"].iter().zip(forms) {
            doc.update(id, |t| {
                t.transition(Status::Pending).unwrap();
                t.extra.insert(
                    STATUS_AS_WRITTEN.to_owned(),
                    form.map_or(Value::Null, Value::String),
                );
            })
            .unwrap();
        }
        assert_eq!(doc.as_str(), text);
    }

    #[test]
    fn a_file_without_a_status_column_has_no_status_text() {
        let doc = CsvDocument::parse("id,title\na,A\n").unwrap();
        assert_eq!(doc.status_text("a").unwrap(), None);
    }
}
