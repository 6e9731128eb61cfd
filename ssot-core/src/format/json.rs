//! JSON task lists.
//!
//! A document is either a list of tasks or an object whose `tasks` key holds that
//! list; every other top-level key is kept in [`TaskList::document`] and written back,
//! before `tasks`. A task is an object:
//!
//! | field | JSON | when absent or `null` |
//! |---|---|---|
//! | `id` | string, a valid [`TaskId`](crate::TaskId) | derived from the title (see [`format`](crate::format#ids)) |
//! | `title` | string, may be empty (`""`) | **error**: the only required field |
//! | `priority` | string, a name accepted by [`Priority::from_name`](crate::Priority::from_name) | `normal` |
//! | `status` | string, a name accepted by [`Status::from_name`](crate::Status::from_name) | `pending` |
//! | `category`, `description` | string | empty |
//! | `dependencies` | array of task-id strings | empty |
//! | `created_at`, `updated_at` | RFC 3339 string, `"2026-11-23T09:30:00Z"` | none |
//! | `estimated_time`, `actual_time` | duration string, `"1h30m"`, `"90m"` | none |
//! | `tags` | array of tag strings, without `#` | empty |
//! | any other key | any JSON value | kept in [`Task::extra`](crate::Task::extra) |
//!
//! Field names are matched exactly (snake_case). A task's `status` is its initial
//! state, not a transition, so any status may be read.
//!
//! # Writing
//!
//! [`render`] writes the shape that was read (see [`TaskList::document`]), pretty
//! printed with two-space indentation and a final newline. Each task is written with
//! its known fields in the order of the table, leaving out empty ones (`id`, `title`,
//! `priority` and `status` are always written), and then its extra fields, in the
//! order they were read. So a read-modify-write cycle keeps every value and the order
//! of the extra fields, but not the position of extra fields among known ones, nor of
//! `tasks` among the top-level keys, nor whitespace.
//!
//! # Values, not spellings
//!
//! Extra fields hold [`serde_json::Value`]s, so what survives is the value: `1e2` is
//! read as the float `100.0` and written back as `100.0`. Floats are read and written
//! exactly (the workspace enables serde_json's `float_roundtrip`). A value a
//! `Value` cannot hold exactly is refused with its line and column, never changed:
//! an integer that does not fit in 64 bits (`123456789012345678901234567890`, which
//! serde_json would round to `1.2345678901234568e29`) is an error saying to quote it,
//! as in YAML and in `ssot-schema`. (serde_json's `arbitrary_precision` feature would
//! keep the digits, but it changes how every `Value` in a program is read and
//! compared, `ssot-schema`'s and the validator's included.)
//!
//! # Errors
//!
//! Every [`ParseError`] has the line and character column where
//! serde_json stopped (or, for a bad value, where the value starts) and the field at
//! fault, as in ``json line 4, column 17, field `priority`: unknown priority
//! `urgent`; expected one of ...``. A field given twice in one task, or a top-level key given
//! twice, is an error rather than a silent "last one wins". An input that is empty or
//! only whitespace is an empty list; a leading UTF-8 byte-order mark is skipped.
//!
//! ```
//! use ssot_core::format::json;
//!
//! let text = r#"{"version": 2, "tasks": [{"id": "a", "title": "Ship", "owner": "kim"}]}"#;
//! let mut list = json::parse(text)?;
//! list.tasks[0].title = "Ship it".into();
//! let out = json::render(&list)?;
//! assert!(out.contains(r#""owner": "kim""#) && out.contains(r#""version": 2"#));
//! assert_eq!(json::parse(&out)?, list);
//! # Ok::<(), ssot_core::Error>(())
//! ```

use ssot_schema::lines::line_column;
use ssot_schema::parse::big_integer_message;

use crate::error::{Error, ParseError};
use crate::format::kind::Format;
use crate::format::list::TaskList;
use crate::format::record::{Ctx, DocumentOut, check_keys, parse_document};

/// Parses a JSON task list.
///
/// Runs in time linear in the input; the text is borrowed, not copied, except for
/// the strings that end up in the tasks.
///
/// # Errors
///
/// [`Error::Parse`] with the line, column and field of the first problem, including
/// a duplicate explicit id (see [`format`](crate::format#ids)).
pub fn parse(text: &str) -> Result<TaskList, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start_matches([' ', '\t', '\n', '\r']).is_empty() {
        return Ok(TaskList::default());
    }
    parse_document(Format::Json, |count_lines| {
        let ctx = Ctx::new(Format::Json, text, count_lines);
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = ctx
            .read(&mut de)
            .and_then(|parsed| de.end().map(|()| parsed))
            .map_err(|e| ctx.error(position(text, &e)))?;
        match ctx.refusal.rounded_integer(text) {
            None => Ok(parsed),
            Some((offset, literal)) => {
                let (line, column) = line_column(text, offset);
                Err(
                    ParseError::new(Format::Json, line, big_integer_message(&literal))
                        .with_column(column)
                        .into(),
                )
            }
        }
    })
}

/// serde_json's position (its column counts bytes) as a 1-based line and character
/// column, and its message without the position.
fn position(text: &str, e: &serde_json::Error) -> (usize, Option<usize>, String) {
    let message = e.to_string();
    if e.line() == 0 {
        // Not reported by serde_json for input from a string; the end of the input is
        // the best guess.
        return (text.lines().count().max(1), None, message);
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = match message.strip_suffix(&suffix) {
        Some(m) => m.to_owned(),
        None => message,
    };
    // serde_json's column is the number of bytes of the line read so far, so the
    // error is at the last of them.
    // serde_json counts lines by `\n` alone (a lone `\r` is whitespace to it), so its
    // line is found the same way; the shared index then gives the position as every
    // error reports it.
    let start = match e.line() {
        0 | 1 => 0,
        line => text
            .match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    let offset = start + e.column().saturating_sub(1);
    let (line, column) = line_column(text, offset);
    (line, Some(column), message)
}

/// Renders a task list as pretty-printed JSON in the shape it was read.
///
/// # Errors
///
/// [`Error::Unrepresentable`] when a task's [`extra`](crate::Task::extra) holds a key
/// that is a task field name (it would be written twice), or the
/// [`document`](TaskList::document) holds a `tasks` key.
pub fn render(list: &TaskList) -> Result<String, Error> {
    check_keys(Format::Json, list)?;
    // Writing our records to a `String` cannot fail; the error arm is reported rather
    // than unwrapped all the same.
    let mut out =
        serde_json::to_string_pretty(&DocumentOut::new(list)).map_err(|e| Error::Write {
            format: Format::Json,
            message: e.to_string(),
        })?;
    out.push('\n');
    Ok(out)
}
