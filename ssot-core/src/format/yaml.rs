//! YAML task lists, read and written with `yaml_serde` (the maintained continuation
//! of `serde_yaml`).
//!
//! A document is either a sequence of tasks or a mapping whose `tasks` key holds that
//! sequence (`tasks:` with no value is an empty list); every other top-level key is
//! kept in [`TaskList::document`] and written back, before `tasks`. An empty document
//! (no content, only comments, or a bare `null`) is an empty list. A task is a
//! mapping:
//!
//! | field | YAML | when absent or null |
//! |---|---|---|
//! | `id` | scalar, a valid [`TaskId`](crate::TaskId) | derived from the title (see [`format`](crate::format#ids)) |
//! | `title` | scalar, read as text (`title: 42` is the title `"42"`; `''` is empty) | **error**: the only required field |
//! | `priority` | scalar, a name accepted by [`Priority::from_name`](crate::Priority::from_name) | `normal` |
//! | `status` | scalar, a name accepted by [`Status::from_name`](crate::Status::from_name) | `pending` |
//! | `category`, `description` | scalar, read as text | empty |
//! | `dependencies` | sequence of task ids | empty |
//! | `created_at`, `updated_at` | RFC 3339 timestamp, `2026-11-23T09:30:00Z` | none |
//! | `estimated_time`, `actual_time` | duration, `1h30m`, `90m` | none |
//! | `tags` | sequence of tags, without `#` | empty |
//! | any other key | any value JSON can hold (below) | kept in [`Task::extra`](crate::Task::extra) |
//!
//! Field names are matched exactly (snake_case). A task's `status` is its initial
//! state, not a transition. The mapping is the same as [JSON's](super::json), through
//! the same code, so a list converts between the two without loss.
//!
//! # Extra fields hold JSON values
//!
//! [`Task::extra`](crate::Task::extra) is a JSON map, so an extra field keeps its
//! YAML value as the JSON value it denotes: integers stay integers (`0x1F` is read as
//! `31`, and written back as `31`), floats stay floats, strings stay strings. What
//! JSON cannot hold is an error with its line and column, never a silent change:
//!
//! - a mapping key that is not a string (`1: a`, `true: b`, `~: c`, or a sequence):
//!   quote it;
//! - a custom tag (`!secret x`); the standard ones (`!!str 1`) are fine;
//! - `.nan` and `.inf`, and integers that do not fit in 64 bits;
//! - a key given twice in one mapping.
//!
//! Anchors and aliases are expanded: the values are kept, the sharing is not. Merge
//! keys are not applied: `<<` is an ordinary key, kept as an extra field. Standard
//! tags yaml_serde does not interpret (`!!binary`, `!!timestamp`) give their text. A
//! tag on a task, or on one of its known fields, is ignored: the field's type is
//! fixed, so the tag could only repeat it.
//!
//! # Writing
//!
//! [`render`] writes the shape that was read, in yaml_serde's block style. Each task
//! has its known fields in the order of the table, leaving out empty ones (`id`,
//! `title`, `priority` and `status` are always written), then its extra fields in the
//! order they were read. Comments, quoting style, key positions and anchors are not
//! kept.
//!
//! # Errors
//!
//! Every [`ParseError`] has the line and column where yaml_serde
//! found the problem (the start of the offending value) and the field at fault.
//!
//! ```
//! use ssot_core::format::yaml;
//!
//! let list = yaml::parse("- title: Ship it\n  priority: high\n  owner: kim\n")?;
//! assert_eq!(list.tasks[0].extra["owner"], "kim");
//! let err = yaml::parse("- title: Ship it\n  priority: urgent\n").unwrap_err();
//! assert!(err.to_string().starts_with("yaml line 2, column 13, field `priority`"), "{err}");
//! # Ok::<(), ssot_core::Error>(())
//! ```

use ssot_schema::lines::line_column;

use crate::error::{Error, ParseError};
use crate::format::kind::Format;
use crate::format::list::TaskList;
use crate::format::record::{Ctx, DocumentOut, check_keys, parse_document};

/// Parses a YAML task list (one document).
///
/// yaml_serde reads the whole document into a list of events first, so memory is
/// proportional to the input; time is linear in it, given the bound on flow nesting
/// below.
///
/// # Errors
///
/// [`Error::Parse`] with the line, column and field of the first problem, including
/// a duplicate explicit id (see [`format`](crate::format#ids)), a stream with more
/// than one document, and flow collections nested deeper than [`MAX_FLOW_DEPTH`].
pub fn parse(text: &str) -> Result<TaskList, Error> {
    // A stream with no document at all (empty, or only comments) is an empty list;
    // yaml_serde would call it an unexpected end of input.
    if is_blank(text) {
        return Ok(TaskList::default());
    }
    check_flow_depth(text)?;
    parse_document(Format::Yaml, |count_lines| {
        let ctx = Ctx::new(Format::Yaml, text, count_lines);
        ctx.read(serde_yaml::Deserializer::from_str(text))
            .map_err(|e| ctx.error(position(text, &e)))
    })
}

/// The deepest nesting of flow collections (`[...]`, `{...}`) [`parse`] accepts.
pub const MAX_FLOW_DEPTH: usize = ssot_schema::parse::MAX_FLOW_DEPTH;

/// Refuses flow collections nested deeper than [`MAX_FLOW_DEPTH`], before libyaml
/// sees them: its scanner does work proportional to the nesting depth for every
/// token. The check is `ssot-schema`'s
/// [`yaml_flow_too_deep`](ssot_schema::parse::yaml_flow_too_deep), so both crates
/// refuse the same texts; brackets in comments and in quoted, plain and block scalars
/// do not count.
fn check_flow_depth(text: &str) -> Result<(), Error> {
    match ssot_schema::parse::yaml_flow_too_deep(text) {
        None => Ok(()),
        Some(offset) => {
            let (line, column) = line_column(text, offset);
            Err(ParseError::new(
                Format::Yaml,
                line,
                ssot_schema::parse::flow_too_deep_message(),
            )
            .with_column(column)
            .into())
        }
    }
}

/// Whether `text` holds no YAML node: only whitespace, comments and document markers.
fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim_start_matches('\u{feff}').trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

/// yaml_serde's position as a 1-based line and character column, and its message
/// without the position.
fn position(text: &str, e: &serde_yaml::Error) -> (usize, Option<usize>, String) {
    let message = e.to_string();
    let Some(loc) = e.location().or_else(|| second_document(text)) else {
        // yaml_serde gives no position for the end of the input, and the end is where
        // such errors are.
        return (text.lines().count().max(1), None, message);
    };
    let message = message.replacen(
        &format!(" at line {} column {}", loc.line(), loc.column()),
        "",
        1,
    );
    // yaml_serde puts the path of the value first (`.[0].title: invalid type: ...`);
    // the parse error already names the line and field.
    let message = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(char::is_whitespace) => rest.to_owned(),
        _ => message,
    };
    // The location's index is a byte offset; derive line and column from it, as for
    // the other formats, when it lies in the text.
    let (line, column) = if loc.index() <= text.len() {
        line_column(text, loc.index())
    } else {
        (loc.line(), loc.column())
    };
    (line, Some(column), message)
}

/// Where the second document of a stream starts, if there is one. yaml_serde's
/// "more than one document" error has no position; this finds it by reading the
/// second document with a visitor that refuses everything, which yaml_serde reports
/// at that document's first node. Only called on the error path.
fn second_document(text: &str) -> Option<serde_yaml::Location> {
    struct Refuse;
    impl serde::de::Visitor<'_> for Refuse {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("nothing")
        }
    }
    let second = serde_yaml::Deserializer::from_str(text).nth(1)?;
    serde::Deserializer::deserialize_any(second, Refuse)
        .err()?
        .location()
}

/// Renders a task list as YAML in the shape it was read.
///
/// # Errors
///
/// [`Error::Unrepresentable`] when a task's [`extra`](crate::Task::extra) holds a key
/// that is a task field name (it would be written twice), or the
/// [`document`](TaskList::document) holds a `tasks` key.
pub fn render(list: &TaskList) -> Result<String, Error> {
    check_keys(Format::Yaml, list)?;
    serde_yaml::to_string(&DocumentOut::new(list)).map_err(|e| Error::Write {
        format: Format::Yaml,
        message: e.to_string(),
    })
}
