//! [`Document`]: one editing API over the four formats.

use super::{CsvDocument, Position, TaskDocument};
use crate::error::Error;
use crate::format::Format;
use crate::format::markdown::MarkdownDocument;
use crate::task::{Status, Task, TaskId};

/// A task list in any of the four formats, kept as text and edited in place.
///
/// Each variant is the format's own editor; the methods here dispatch to it, so code
/// that edits "a task file" does not care which format it is.
///
/// ```
/// use ssot_core::format::edit::{Document, Position};
/// use ssot_core::{Format, Status, Task, TaskId};
///
/// for (format, text) in [
///     (Format::Markdown, "- [ ] Write docs 🆔 docs\n"),
///     (Format::Yaml, "- id: docs\n  title: Write docs\n"),
///     (Format::Json, "[{\"id\": \"docs\", \"title\": \"Write docs\"}]\n"),
///     (Format::Csv, "id,title,status\ndocs,Write docs,pending\n"),
/// ] {
///     let mut doc = Document::parse(format, text)?;
///     doc.set_status("docs", Status::Done)?;
///     doc.insert(Task::new(TaskId::new("ship")?, "Ship"), Position::End)?;
///     assert_eq!(ssot_core::format::parse(format, doc.as_str())?.tasks, doc.tasks());
/// }
/// # Ok::<(), ssot_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Document {
    /// A Markdown task list.
    Markdown(MarkdownDocument),
    /// A YAML or JSON task list.
    Structured(TaskDocument),
    /// A CSV task list.
    Csv(CsvDocument),
}

impl Document {
    /// Parses `text` as a task list in `format`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] as the format's reader gives it.
    pub fn parse(format: Format, text: impl Into<String>) -> Result<Document, Error> {
        Ok(match format {
            Format::Markdown => Document::Markdown(MarkdownDocument::parse(text)?),
            Format::Csv => Document::Csv(CsvDocument::parse(text)?),
            Format::Yaml | Format::Json => Document::Structured(TaskDocument::parse(format, text)?),
        })
    }

    /// The document's format.
    #[must_use]
    pub fn format(&self) -> Format {
        match self {
            Document::Markdown(_) => Format::Markdown,
            Document::Structured(d) => d.format(),
            Document::Csv(_) => Format::Csv,
        }
    }

    /// The tasks, in document order.
    #[must_use]
    pub fn tasks(&self) -> &[Task] {
        match self {
            Document::Markdown(d) => d.tasks(),
            Document::Structured(d) => d.tasks(),
            Document::Csv(d) => d.tasks(),
        }
    }

    /// The task with id `id`, if there is one.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Task> {
        match self {
            Document::Markdown(d) => d.get(id),
            Document::Structured(d) => d.get(id),
            Document::Csv(d) => d.get(id),
        }
    }

    /// The document's text, with every edit so far applied.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Document::Markdown(d) => d.as_str(),
            Document::Structured(d) => d.as_str(),
            Document::Csv(d) => d.as_str(),
        }
    }

    /// The document's text, with every edit so far applied.
    #[must_use]
    pub fn into_string(self) -> String {
        match self {
            Document::Markdown(d) => d.into_string(),
            Document::Structured(d) => d.into_string(),
            Document::Csv(d) => d.into_string(),
        }
    }

    /// Task `id`'s status as written: in YAML and JSON the value of its `status`
    /// key, in CSV its `status` cell (`None` when there is none, or the cell is
    /// empty), in Markdown its checkbox character (the unusual one it was written
    /// with, else the usual one of its status: ` `, `/`, `x`, `h`, `-`). See the [module
    /// documentation](super#the-status-as-it-was-written).
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`] (or [`Error::InvalidId`]), or as the format's
    /// editor gives them.
    pub fn status_text(&self, id: &str) -> Result<Option<String>, Error> {
        match self {
            Document::Markdown(d) => {
                let status = d
                    .get(id)
                    .map(Task::status)
                    .ok_or_else(|| match TaskId::new(id) {
                        Ok(id) => Error::TaskNotFound { id },
                        Err(e) => e,
                    })?;
                let unusual = d
                    .get(id)
                    .and_then(|t| t.extra.get("status_char"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned);
                Ok(Some(unusual.unwrap_or_else(|| {
                    match status {
                        Status::Pending => " ",
                        Status::InProgress => "/",
                        Status::Done => "x",
                        Status::Blocked => "h",
                        Status::Cancelled => "-",
                    }
                    .to_owned()
                })))
            }
            Document::Structured(d) => d.status_text(id),
            Document::Csv(d) => d.status_text(id),
        }
    }

    /// Moves task `id` to status `to` through the state machine of [`Status`].
    ///
    /// # Errors
    ///
    /// As the format's editor gives them; nothing changes on error.
    pub fn set_status(&mut self, id: &str, to: Status) -> Result<(), Error> {
        match self {
            Document::Markdown(d) => d.set_status(id, to),
            Document::Structured(d) => d.set_status(id, to),
            Document::Csv(d) => d.set_status(id, to),
        }
    }

    /// Sets the title of task `id`.
    ///
    /// # Errors
    ///
    /// As the format's editor gives them; nothing changes on error.
    pub fn set_title(&mut self, id: &str, title: &str) -> Result<(), Error> {
        match self {
            Document::Markdown(d) => d.set_title(id, title),
            Document::Structured(d) => d.set_title(id, title),
            Document::Csv(d) => d.set_title(id, title),
        }
    }

    /// Applies `f` to a copy of task `id` and writes what changed back in place.
    ///
    /// # Errors
    ///
    /// As the format's editor gives them; nothing changes on error.
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut Task)) -> Result<(), Error> {
        match self {
            Document::Markdown(d) => d.update(id, f),
            Document::Structured(d) => d.update(id, f),
            Document::Csv(d) => d.update(id, f),
        }
    }

    /// Adds `task` at `at`, in the style of the file.
    ///
    /// # Errors
    ///
    /// As the format's editor gives them ([`Position::Subtask`] and
    /// [`Position::UnderHeading`] are Markdown only); nothing changes on error.
    pub fn insert(&mut self, task: Task, at: Position) -> Result<(), Error> {
        match self {
            Document::Markdown(d) => d.insert(task, at),
            Document::Structured(d) => d.insert(task, at),
            Document::Csv(d) => d.insert(task, at),
        }
    }

    /// Removes task `id` and returns it; other tasks, and their dependencies on it,
    /// are not changed.
    ///
    /// # Errors
    ///
    /// As the format's editor gives them; nothing changes on error.
    pub fn remove(&mut self, id: &str) -> Result<Task, Error> {
        match self {
            Document::Markdown(d) => d.remove(id),
            Document::Structured(d) => d.remove(id),
            Document::Csv(d) => d.remove(id),
        }
    }
}
