//! Reading and writing task lists: Markdown, JSON, YAML and CSV.
//!
//! Each format has its own module with a `parse(&str) -> Result<TaskList, Error>` and
//! a `render(&TaskList) -> Result<String, Error>`; [`parse`] and [`render`] dispatch on
//! a [`Format`]. The guarantee for every format is `parse(render(list)) == list` for
//! every list the format can hold; `render` refuses, with
//! [`Error::Unrepresentable`], a task it could not write without losing data.
//!
//! # Ids
//!
//! A task read without an explicit id gets a derived one, by these rules:
//!
//! 1. Explicit ids are collected first; two equal explicit ids are a parse error that
//!    names both lines.
//! 2. A task without one gets `t` followed by the first 8 hex digits of the BLAKE3 hash
//!    of its title, with surrounding whitespace trimmed and inner runs of whitespace
//!    folded to one space (`Fix  the bug ` and `Fix the bug` get the same id).
//! 3. If that id is already taken (an explicit id, or an earlier task with the same
//!    title), `-2`, `-3`, ... is appended, in document order, until it is free.
//!
//! So an id depends on the task's own title, not on its position: re-reading a file
//! yields the same ids, and adding, removing or moving *other* tasks changes no id,
//! except between tasks with identical titles, whose suffixes follow document order.
//! Editing a title changes its derived id; give an explicit id to any task that others
//! depend on. Writing a list always writes every id, so a derived id becomes explicit
//! in the output.
//!
//! # Durations and timestamps
//!
//! `estimated_time` and `actual_time` are written as compact human durations (`1h30m`,
//! `45m`, `2h5s`) and read in any form of jiff's friendly format (`90m`, `1h 30m`,
//! `1.5h`, `2 hours`). Timestamps are RFC 3339 (`2026-11-23T09:30:00Z`; an offset
//! other than `Z` is accepted and converted to UTC).
//!
//! # Layers
//!
//! This module only dispatches. Below the four formats sit the modules they share,
//! none of which imports a format or this module: [`Format`] (below the crate's
//! error type), [`TaskList`], the id rules (`ids`), field values (`value`: durations,
//! timestamps, names), the field table (`field`), and the serde records JSON and YAML
//! share (`record`). Byte offsets become lines and columns through
//! [`ssot_schema::lines`], the one line index of the workspace.

pub mod csv;
pub mod edit;
mod field;
mod ids;
pub mod json;
pub(crate) mod kind;
mod list;
pub mod markdown;
mod place;
mod record;
pub(crate) mod value;
pub mod yaml;

pub use self::kind::Format;
pub use self::list::TaskList;
use crate::error::Error;

/// Parses `text` as a task list in `format`.
///
/// # Errors
///
/// [`Error::Parse`] with the line (and column where known) of the first problem.
pub fn parse(format: Format, text: &str) -> Result<TaskList, Error> {
    match format {
        Format::Markdown => markdown::parse(text),
        Format::Json => json::parse(text),
        Format::Yaml => yaml::parse(text),
        Format::Csv => csv::parse(text),
    }
}

/// Renders `list` as `format`.
///
/// Markdown and CSV have no place for [`TaskList::document`] and leave it out; every
/// task field is written or refused.
///
/// # Errors
///
/// [`Error::Unrepresentable`] when a task holds a value the format cannot write back
/// unchanged.
pub fn render(format: Format, list: &TaskList) -> Result<String, Error> {
    match format {
        Format::Markdown => markdown::render(list),
        Format::Json => json::render(list),
        Format::Yaml => yaml::render(list),
        Format::Csv => csv::render(list),
    }
}
