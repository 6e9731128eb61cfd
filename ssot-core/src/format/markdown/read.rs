//! Reading a document's tasks: the items the line scan finds, each line's metadata,
//! and the ids, shared by [`parse`](super::parse) and the editor.

use super::items::{self, ItemSpan};
use super::line::{self, LineError};
use crate::error::{Error, ParseError};
use crate::format::ids::{Draft, resolve_ids};
use crate::format::kind::Format;
use crate::task::Task;

/// The tasks of a document, where each one is, and whether its line gives its id.
pub(super) struct Read {
    pub(super) tasks: Vec<Task>,
    pub(super) spans: Vec<ItemSpan>,
    pub(super) explicit_ids: Vec<bool>,
}

/// Reads every task of `text`.
pub(super) fn read(text: &str) -> Result<Read, Error> {
    // Finding the items first sizes the task vector exactly: tasks are large, and
    // growing a vector of them costs more than the small spans.
    let spans = items::find(text);
    // Blank drafts first, then each filled in place: a task is large, and extending a
    // vector from an iterator builds each one where it stays.
    let mut drafts: Vec<Draft> = spans
        .iter()
        .map(|item| Draft::new(line::blank_task(item.status), item.line))
        .collect();
    let mut explicit_ids = Vec::with_capacity(spans.len());
    for (item, draft) in spans.iter().zip(&mut drafts) {
        let line = slice(text, item.line_start, item.line_end, item.line)?;
        let rest = item.rest_start.saturating_sub(item.line_start);
        let task = &mut draft.task;
        draft.explicit = line::read_line(line, rest, item.status, task)
            .map_err(|e| parse_error(line, item.line, e))?;
        if item.para_end > item.line_end {
            task.description = line::read_description(
                slice(text, item.line_end, item.para_end, item.line)?,
                item.quote_depth,
            );
        }
        explicit_ids.push(draft.explicit);
    }
    Ok(Read {
        tasks: resolve_ids(Format::Markdown, drafts)?,
        spans,
        explicit_ids,
    })
}

fn parse_error(line: &str, line_no: usize, e: LineError) -> Error {
    let column = line.get(..e.at).map_or(1, |s| s.chars().count() + 1);
    ParseError::new(Format::Markdown, line_no, e.message)
        .with_column(column)
        .with_field(e.field)
        .into()
}

/// `text[start..end]`, for offsets the item scanner found. They are always character
/// boundaries within the text; should one not be, that is an error at the task's line
/// rather than a task read as empty.
fn slice(text: &str, start: usize, end: usize, line_no: usize) -> Result<&str, Error> {
    text.get(start..end).ok_or_else(|| {
        ParseError::new(
            Format::Markdown,
            line_no,
            format!(
                "the scanner found this task at bytes {start}..{end}, which do not fall on \
                 characters of the text; this is a bug in ssot-core, please report it"
            ),
        )
        .into()
    })
}
