//! What the visitors of one parse share: the input, for positions, and what is
//! known about the first error; and [`parse_document`], which reads and resolves ids.

use std::cell::RefCell;

use serde::de;
use ssot_schema::lines::line_column;
use ssot_schema::parse::Refusal;

use crate::error::{Error, ParseError};
use crate::format::ids::{Draft, resolve_ids};
use crate::format::kind::Format;
use crate::format::list::TaskList;
use crate::task::Extra;

/// What the visitors learned about the first (and only) error.
#[derive(Default)]
pub(super) struct Failure {
    /// Our own message, when a visitor raised the error (the deserializer's
    /// `Display` would add its own position and path around it).
    pub(super) message: Option<String>,
    /// The task field, or top-level key, at fault.
    pub(super) field: Option<String>,
    /// Byte offset of the offending text, when known more precisely than the
    /// deserializer's position.
    pub(super) offset: Option<usize>,
    /// The error came out of a task, which has already named its field.
    pub(super) in_task: bool,
}

/// The state shared by the visitors of one parse: the input, for positions, and what
/// is known about an error.
pub(crate) struct Ctx<'t> {
    pub(super) format: Format,
    pub(super) text: &'t str,
    pub(super) count_lines: bool,
    pub(super) failure: RefCell<Failure>,
    /// Why ssot-schema's strict reader refused an extra value, if it did.
    pub(crate) refusal: Refusal,
}

/// A document as read, before ids are resolved.
pub(crate) type Parsed = (Vec<Draft>, Option<Extra>);

/// Reads a document with `read` and resolves its ids.
///
/// `read(count_lines)` reads the whole input. The line of each task is only needed
/// to report a duplicate id, and counting lines costs a few percent of a parse, so
/// the first read leaves them out; in the rare case that ids clash, the input is read
/// again with lines counted, for the error message.
pub(crate) fn parse_document(
    format: Format,
    read: impl Fn(bool) -> Result<Parsed, Error>,
) -> Result<TaskList, Error> {
    let (drafts, document) = read(false)?;
    match resolve_ids(format, drafts) {
        Ok(tasks) => Ok(TaskList { tasks, document }),
        Err(_) => {
            let (drafts, document) = read(true)?;
            let tasks = resolve_ids(format, drafts)?;
            Ok(TaskList { tasks, document })
        }
    }
}

impl<'t> Ctx<'t> {
    /// A context for parsing `text` as `format`; `count_lines` says whether drafts
    /// get their line (otherwise it is 0).
    pub(crate) fn new(format: Format, text: &'t str, count_lines: bool) -> Ctx<'t> {
        Ctx {
            format,
            text,
            count_lines,
            failure: RefCell::new(Failure::default()),
            refusal: Refusal::new(),
        }
    }

    /// Builds the parse error from the deserializer's view and the visitors' record.
    pub(crate) fn error(&self, (line, column, message): (usize, Option<usize>, String)) -> Error {
        let failure = self.failure.take();
        let (line, column) = match failure.offset {
            Some(offset) => {
                let (l, c) = line_column(self.text, offset);
                (l, Some(c))
            }
            None => (line, column),
        };
        ParseError {
            format: self.format,
            line,
            column,
            field: failure.field,
            message: failure
                .message
                .or_else(|| self.refusal.take_message())
                .unwrap_or(message),
        }
        .into()
    }

    /// A deserializer error carrying `message`, which is recorded as the message of
    /// the parse error.
    pub(super) fn fail<E: de::Error>(&self, message: String) -> E {
        let e = E::custom(&message);
        self.failure.borrow_mut().message = Some(message);
        e
    }

    /// Like [`Ctx::fail`], pointing at `at` when it is a slice of the input.
    pub(super) fn fail_at<E: de::Error>(&self, message: String, at: &str) -> E {
        if let Some(offset) = self.offset_of(at) {
            self.failure.borrow_mut().offset = Some(offset);
        }
        self.fail(message)
    }

    /// Names the field at fault, unless an inner visitor already did.
    pub(super) fn blame(&self, field: &str) {
        let mut f = self.failure.borrow_mut();
        if f.field.is_none() {
            f.field = Some(field.to_owned());
        }
    }

    /// Points the error at byte `offset`, when known.
    pub(super) fn point_at(&self, offset: Option<usize>) {
        if offset.is_some() {
            self.failure.borrow_mut().offset = offset;
        }
    }

    /// Byte offset of `s` in the input, if `s` is a slice of it.
    pub(super) fn offset_of(&self, s: &str) -> Option<usize> {
        let start = self.text.as_ptr() as usize;
        let at = s.as_ptr() as usize;
        (at >= start && at + s.len() <= start + self.text.len()).then(|| at - start)
    }

    /// Where the task whose first key is at `key` starts: for JSON, the `{` before
    /// the key's opening quote; for YAML, the key itself.
    pub(super) fn task_start(&self, key: usize) -> usize {
        if self.format != Format::Json {
            return key;
        }
        let before = self.text.get(..key).unwrap_or("");
        let before = before.strip_suffix('"').unwrap_or(before);
        let trimmed = before.trim_end_matches([' ', '\t', '\n', '\r']);
        match trimmed.strip_suffix('{') {
            Some(rest) => rest.len(),
            None => key,
        }
    }
}
