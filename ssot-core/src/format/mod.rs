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

pub mod csv;
pub mod json;
pub mod markdown;
mod record;
pub mod yaml;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use jiff::fmt::friendly::{Spacing, SpanParser, SpanPrinter};

use crate::error::{Error, ParseError};
use crate::task::{Extra, Task, TaskId};

/// A task-list file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// CommonMark checkbox lists with Obsidian Tasks / Dataview metadata.
    Markdown,
    /// A JSON array of tasks, or an object with a `tasks` array.
    Json,
    /// A YAML sequence of tasks, or a mapping with a `tasks` sequence.
    Yaml,
    /// RFC 4180 CSV with one header row.
    Csv,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Markdown, Format::Json, Format::Yaml, Format::Csv];

    /// The format a file extension names (`md`, `markdown`, `json`, `yaml`, `yml`,
    /// `csv`, case-insensitive), or `None`.
    #[must_use]
    pub fn from_extension(ext: &str) -> Option<Format> {
        let ext = ext.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format of a path, from its extension.
    #[must_use]
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        path.as_ref()
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
    }

    /// The lowercase name of the format.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed task list: the tasks, in document order, and what surrounded them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskList {
    /// The tasks, in document order.
    pub tasks: Vec<Task>,
    /// For JSON and YAML: `None` when the document was a bare list of tasks, `Some`
    /// with every top-level key other than `tasks` when it was an object (an object
    /// with only `tasks` gives `Some` of an empty map). Rendering writes the same shape
    /// back. Markdown and CSV always give `None` and ignore it.
    pub document: Option<Extra>,
}

impl TaskList {
    /// A bare list of tasks.
    pub fn new(tasks: Vec<Task>) -> TaskList {
        TaskList {
            tasks,
            document: None,
        }
    }
}

impl From<Vec<Task>> for TaskList {
    fn from(tasks: Vec<Task>) -> TaskList {
        TaskList::new(tasks)
    }
}

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

/// Refuses a list in which two tasks share an id: every format reads duplicate ids
/// back as an error, so writing them would break `parse(render(list)) == list`.
pub(crate) fn check_unique_ids(format: Format, tasks: &[Task]) -> Result<(), Error> {
    // foldhash rather than SipHash: this runs on every render, and with SipHash it
    // was a fifth of a JSON render's time (randomly seeded per process, like std's).
    let mut seen: foldhash::HashSet<&str> =
        HashSet::with_capacity_and_hasher(tasks.len(), foldhash::fast::RandomState::default());
    match tasks.iter().find(|t| !seen.insert(t.id.as_str())) {
        None => Ok(()),
        Some(task) => Err(Error::Unrepresentable {
            format,
            id: task.id.clone(),
            field: "id",
            reason: "is also the id of another task in the list, and a file must not repeat \
                     an id; give each task its own"
                .to_owned(),
        }),
    }
}

/// A task as read from a document, before ids are resolved.
///
/// `task.id` holds the explicit id when `explicit` is true; otherwise it is a
/// placeholder that [`resolve_ids`] replaces. This is the only place a `TaskId` may
/// briefly be empty, and it never leaves this module's callers.
pub(crate) struct Draft {
    pub(crate) task: Task,
    pub(crate) explicit: bool,
    /// 1-based line where the task starts, for error messages.
    pub(crate) line: usize,
}

impl Draft {
    /// A draft with no explicit id yet.
    pub(crate) fn new(task: Task, line: usize) -> Draft {
        Draft {
            task,
            explicit: false,
            line,
        }
    }
}

/// The placeholder id of a [`Draft`] without an explicit id.
pub(crate) fn placeholder_id() -> TaskId {
    TaskId::unchecked(String::new())
}

/// Applies the id rules in this module's documentation.
pub(crate) fn resolve_ids(format: Format, drafts: Vec<Draft>) -> Result<Vec<Task>, Error> {
    let mut taken: foldhash::HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(drafts.len(), foldhash::fast::RandomState::default());
    for d in drafts.iter().filter(|d| d.explicit) {
        if let Some(first) = taken.insert(d.task.id.as_str(), d.line) {
            return Err(ParseError::new(
                format,
                d.line,
                format!(
                    "duplicate task id `{}`, first used on line {first}; ids must be unique within a file",
                    d.task.id
                ),
            )
            .with_field("id")
            .into());
        }
    }
    if drafts.iter().all(|d| d.explicit) {
        // The common case for files written by a tool: nothing to derive.
        return Ok(drafts.into_iter().map(|d| d.task).collect());
    }
    let mut ids = DerivedIds {
        used: taken.keys().map(|k| (*k).to_owned()).collect(),
        next_suffix: HashMap::new(),
    };
    let mut tasks = Vec::with_capacity(drafts.len());
    for mut d in drafts {
        if !d.explicit {
            d.task.id = ids.derive(&d.task.title);
        }
        tasks.push(d.task);
    }
    Ok(tasks)
}

/// The state of id derivation over one document.
struct DerivedIds {
    /// Every id taken so far, explicit or derived.
    used: HashSet<String>,
    /// For each base id, the next suffix to try: keeps many tasks with one title
    /// linear instead of quadratic.
    next_suffix: HashMap<String, u64>,
}

impl DerivedIds {
    /// Derives the id of a task titled `title` and records it as used.
    fn derive(&mut self, title: &str) -> TaskId {
        let mut normalized = String::with_capacity(title.len());
        for word in title.split_whitespace() {
            if !normalized.is_empty() {
                normalized.push(' ');
            }
            normalized.push_str(word);
        }
        let hash = blake3::hash(normalized.as_bytes());
        let mut candidate = String::with_capacity(12);
        candidate.push('t');
        // A BLAKE3 hex digest is 64 ASCII digits, so the first 8 bytes are 8 whole
        // characters: this slice cannot panic.
        candidate.push_str(&hash.to_hex().as_str()[..8]);
        if self.used.contains(&candidate) {
            let base = candidate;
            let n = self.next_suffix.entry(base.clone()).or_insert(2);
            loop {
                candidate = format!("{base}-{n}");
                *n += 1;
                if !self.used.contains(&candidate) {
                    break;
                }
            }
        }
        self.used.insert(candidate.clone());
        // `t`, hex digits, and optionally `-` and digits: only id characters.
        TaskId::unchecked(candidate)
    }
}

/// How many `\n` bytes `bytes` holds. Counted in blocks whose per-byte sums fit a
/// `u8`, which the compiler turns into vector code.
pub(crate) fn count_newlines(bytes: &[u8]) -> usize {
    let mut blocks = bytes.chunks_exact(128);
    let mut n = 0;
    for block in &mut blocks {
        n += usize::from(block.iter().fold(0u8, |acc, &b| acc + u8::from(b == b'\n')));
    }
    n + blocks.remainder().iter().filter(|&&b| b == b'\n').count()
}

static DURATION_PRINTER: SpanPrinter = SpanPrinter::new().spacing(Spacing::None);
static DURATION_PARSER: SpanParser = SpanParser::new();

/// Writes `d` as a compact human duration (`1h30m`, `0s`).
pub(crate) fn format_duration(d: &Duration, out: &mut String) {
    // Writing to a `String` cannot fail; jiff's printer reports only writer errors.
    let _ = DURATION_PRINTER.print_unsigned_duration(d, &mut *out);
}

/// Parses a human duration; the error message names the accepted forms.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    DURATION_PARSER
        .parse_unsigned_duration(s.trim())
        .map_err(|e| format!("invalid duration `{s}` ({e}); write it like `90m`, `1h30m` or `2h`"))
}

/// Parses an RFC 3339 timestamp; the error message shows the expected form.
pub(crate) fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    s.trim().parse::<Timestamp>().map_err(|e| {
        format!("invalid timestamp `{s}` ({e}); write it as RFC 3339, like `2026-11-23T09:30:00Z`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration_to_string(d: &Duration) -> String {
        let mut s = String::new();
        format_duration(d, &mut s);
        s
    }

    fn draft(id: Option<&str>, title: &str, line: usize) -> Draft {
        let explicit = id.is_some();
        let id = id.map_or_else(placeholder_id, |i| TaskId::new(i).unwrap());
        Draft {
            task: Task::new(id, title),
            explicit,
            line,
        }
    }

    #[test]
    fn derived_ids_depend_on_title_not_position() {
        let a = resolve_ids(
            Format::Json,
            vec![draft(None, "write docs", 1), draft(None, "ship", 2)],
        )
        .unwrap();
        let b = resolve_ids(
            Format::Json,
            vec![
                draft(None, "ship", 1),
                draft(None, "new task", 2),
                draft(None, "  write   docs ", 3),
            ],
        )
        .unwrap();
        assert_eq!(a[0].id, b[2].id);
        assert_eq!(a[1].id, b[0].id);
        assert!(a[0].id.as_str().starts_with('t'));
        assert_eq!(a[0].id.as_str().len(), 9);
    }

    #[test]
    fn identical_titles_get_suffixes_in_document_order() {
        let t = resolve_ids(
            Format::Csv,
            vec![
                draft(None, "same", 1),
                draft(None, "same", 2),
                draft(None, "same", 3),
            ],
        )
        .unwrap();
        let base = t[0].id.as_str().to_owned();
        assert_eq!(t[1].id.as_str(), format!("{base}-2"));
        assert_eq!(t[2].id.as_str(), format!("{base}-3"));
    }

    #[test]
    fn many_identical_titles_get_consecutive_suffixes() {
        let drafts = (1..=2000).map(|line| draft(None, "x", line)).collect();
        let t = resolve_ids(Format::Markdown, drafts).unwrap();
        let base = t[0].id.as_str().to_owned();
        assert_eq!(t[1999].id.as_str(), format!("{base}-2000"));
    }

    #[test]
    fn derived_id_avoids_explicit_ids_even_when_they_come_later() {
        let derived = resolve_ids(Format::Yaml, vec![draft(None, "x", 1)]).unwrap()[0]
            .id
            .clone();
        let t = resolve_ids(
            Format::Yaml,
            vec![draft(None, "x", 1), draft(Some(derived.as_str()), "y", 2)],
        )
        .unwrap();
        assert_eq!(t[1].id, derived);
        assert_eq!(t[0].id.as_str(), format!("{derived}-2"));
    }

    #[test]
    fn duplicate_explicit_ids_are_an_error_naming_both_lines() {
        let err = resolve_ids(
            Format::Markdown,
            vec![draft(Some("a"), "x", 3), draft(Some("a"), "y", 9)],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("markdown line 9"), "{msg}");
        assert!(msg.contains("first used on line 3"), "{msg}");
    }

    #[test]
    fn durations_print_compact_and_parse_friendly_forms() {
        assert_eq!(duration_to_string(&Duration::from_secs(5400)), "1h30m");
        assert_eq!(duration_to_string(&Duration::ZERO), "0s");
        for (s, secs) in [
            ("90m", 5400),
            ("1h30m", 5400),
            ("1h 30m", 5400),
            ("1.5h", 5400),
        ] {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_secs(secs), "{s}");
        }
        let odd = Duration::new(3 * 86_400 + 7, 123_456_789);
        assert_eq!(parse_duration(&duration_to_string(&odd)).unwrap(), odd);
        assert!(parse_duration("5 minutes later").is_err());
    }
}
