//! Task lists and configuration files edited in place: a change rewrites the bytes
//! of what changed and nothing else.
//!
//! - [`Document`]: one API over the four formats (`parse`, `tasks`, `get`,
//!   `set_status`, `set_title`, `update`, `insert`, `remove`, `as_str`), dispatching to
//!   the format's editor:
//!   - [`TaskDocument`]: a YAML or JSON task list;
//!   - [`CsvDocument`]: a CSV task list, one row at a time;
//!   - [`MarkdownDocument`](crate::format::markdown::MarkdownDocument): a Markdown
//!     task list, one task's lines at a time.
//! - [`ConfigDocument`]: any YAML or JSON document, changed by JSON Merge Patch
//!   (RFC 7396).
//!
//! Comments (also those inside an edited task, when not on a changed value), blank
//! lines, indentation, key order, quoting, flow or block style, line endings (`\r\n`
//! stays `\r\n`) and fields the model does not know all survive an edit. A new task
//! is written in the style of its neighbour: the same indentation, key order and
//! quoting.
//!
//! # How: splicing at spans, checked by reading back
//!
//! The readers of [`format`](crate::format) give the values; a span tree gives where
//! each value's text is. For YAML the spans come from `saphyr-parser`'s event stream
//! (already a dependency of the workspace, through `saphyr`): each event carries its
//! start and end, so a value's text is known exactly, with its quotes and block
//! indicators, and every byte outside it is left alone. For JSON a small scanner
//! finds the same spans. An edit computes the new text of one value (in the quoting
//! of the value it replaces), or of one new key (after the last one, at its
//! indentation, with the separators its neighbours use), or removes one key's text,
//! and splices it in.
//!
//! Every edit is then **checked by reading back**: the edited task's text is read
//! alone by the strict reader ([`yaml::parse`](crate::format::yaml::parse),
//! [`json::parse`](crate::format::json::parse); for CSV the header and the row) and
//! must give exactly the task asked for; a merge patch's result, and a Markdown
//! document after an insert or a remove, are read whole and must equal
//! [`json_patch::merge`] applied to the parsed value, or the tasks with that one task
//! added or taken away. If it does not, the edit is tried once more with
//! every new string double-quoted; if that fails too, the edit is refused with
//! [`Error::NotInPlace`] naming the line and column, and the document is unchanged.
//! Nothing is ever re-rendered behind the caller's back.
//!
//! Why the task editors read back only the task, not the file: reading a 10,000-task
//! file costs as much as rendering it, which is what in-place editing is meant to
//! avoid. An edit never writes outside the task's own span, and what it writes is a
//! whole value in the syntax of its place, so the task's text read alone decides
//! what the file reads. [`TaskDocument::verify`] reads the whole file, for callers
//! (and tests) that want that check too.
//!
//! # Indentation of new content
//!
//! A new value written over several lines (a mapping or list that a merge patch
//! adds, a nested field of a new task) is indented as the file indents: YAML by its
//! step (the nearest key with block children in the mapping edited decides, else the
//! document's most common step, else 2 spaces), with lists under a key written
//! indented or "indentless" (`key:` then `- a` at the key's column) as the file
//! writes them; JSON by its unit, spaces of any width or tabs, taken from the object
//! or array edited, else from the document. The column of a list item's content
//! (after `- `) is not a step: `steps:` with items `- {name: a}` two columns deeper
//! indents by 2, not 4. Reading the whole document for its majority costs a parse,
//! O(N), and happens only when the mapping edited does not show its style.
//!
//! # Alternatives considered
//!
//! - **`yaml-edit`** (a lossless YAML syntax tree on `rowan`, the design of
//!   `toml_edit`) was tried, not adopted, and not benchmarked here. Version 0.3.6,
//!   given the same five one-key edits as [`ConfigDocument::merge_patch`] (a compose
//!   file's quoted `image`, the same file with `\r\n`, a value in a flow mapping, a
//!   new top-level key, a workflow's `runs-on`), changed one line each and kept
//!   comments and `\r\n`, as we do; but it dropped the quotes of the replaced
//!   `image: "nginx:1.25"` (we keep the value's quoting style). More decisive: it
//!   reads YAML only, so JSON would need a second editor anyway; its parser recovers from
//!   errors, so it and the strict reader could disagree about what a file says, and
//!   every edit would still need the read-back check; and its own test suite keeps
//!   lists of known failures of its edit invariants, `\r\n` files among them. The
//!   span approach reuses the readers this crate already trusts, adds one dependency
//!   that was already in the tree (`saphyr-parser`, under `saphyr`), and leaves every
//!   byte it does not replace untouched by construction.
//! - **Re-rendering and diffing** loses comments and quoting by construction.
//! - **`json-patch`** is used for what it is: the reference semantics of RFC 7396
//!   ([`json_patch::merge`]) that [`ConfigDocument::merge_patch`] is checked against.
//!
//! # Tried on real files
//!
//! The 241 YAML files (GitHub workflows, dependabot, codecov, CircleCI configs) shipped
//! in the crates of this workspace's cargo registry, each given three merge patches (a
//! new top-level key, a changed first scalar leaf, that leaf removed): 698 edits read
//! back to exactly `json_patch::merge` of the parsed value, none touched more than the
//! one line (or one added line) of its key. Four files could not be edited: three that
//! libyaml reads but saphyr refuses (a flow list closed at its key's indentation; the
//! error says so and how to fix it) and one with a custom tag; one patch of an empty
//! file was refused (no mapping to patch).
//!
//! # What is refused
//!
//! [`Error::NotInPlace`], naming the line and column, for: a value that carries an
//! anchor (`&a`: its aliases would change with it); a task or value that is an alias
//! (`*a`); a last key that shares its line with other text and has to go; inserting
//! into a JSON list that is `null`; the Markdown-only positions
//! ([`Position::Subtask`], [`Position::UnderHeading`]) in YAML, JSON and CSV; in CSV, a
//! value for a column the file does not have (adding a column rewrites every row); in
//! Markdown, removing a task that has subtasks (they would be re-nested), and an
//! insert or remove after which the document would read differently.
//!
//! [`Error::IdConflict`] for an edit that would give a task a taken id, or change the
//! id another task derives from its title (see [`format`](crate::format#ids)). A
//! task without an explicit id whose title changes gets its old id written, so that
//! it keeps it.
//!
//! # Removing a task
//!
//! `remove` removes the task's own text: in YAML and JSON its item (a block item's
//! lines, comments inside it included; comment lines before it stay), in CSV its row,
//! in Markdown its line and description lines (a task with subtasks is refused).
//! Other tasks are not changed: a task that depends on the removed one keeps its id in
//! `dependencies` (the dependency graph reports it as missing), and nothing is
//! renumbered.
//!
//! # The status as it was written
//!
//! A task read from a YAML, JSON or CSV file without a `status` (no key, an empty
//! cell), or with a spelling such as `todo`, reads as [`Status::Pending`]; moving it
//! to another status and back would write `status: pending`. So that a change can
//! be undone to the byte (a runner that wrote `in_progress` puts the task back as it
//! found it), [`Document::status_text`] reads the status as written, and an
//! [`update`](Document::update) whose task carries an `extra` entry named
//! [`STATUS_AS_WRITTEN`] (`status`, which can never be an extra field: it is the
//! status's own name) writes the status in that form: `null` removes the key (or
//! empties the cell), a string is written as the status text. The entry is taken
//! out of the task before anything else happens, and must agree with the task's
//! status (`null` only for a pending task, a string only if it reads as the task's
//! status), or the edit is refused with [`Error::Unrepresentable`]. Markdown always
//! writes a checkbox; an unusual checkbox character is kept in the `status_char`
//! extra field, which its editor already writes back for a pending task.
//!
//! # Costs
//!
//! Each editor's documentation gives the cost of each operation. In short: a change
//! to one task costs O(size of that task) for the edit and its check, plus one move
//! of the text after it and an O(n) shift of the positions of later tasks; an insert
//! or remove in the middle also renumbers the id index, O(n). On the workspace
//! benchmark (a 10,000-task file) that is a small fraction of parsing and rendering
//! the file (see `BENCHMARKS.md`).

mod config;
mod csv;
mod document;
mod indent;
mod render;
mod splice;
mod tasks;
mod tree;

pub use self::config::ConfigDocument;
pub use self::csv::CsvDocument;
pub use self::document::Document;
pub use self::tasks::TaskDocument;
pub use crate::format::place::Position;

use serde_json::Value;

use crate::error::Error;
use crate::format::Format;
use crate::task::{Status, Task};
use ssot_schema::lines::line_column;

/// The `extra` key through which [`Document::update`] is told how to write the
/// status (see the module documentation, "The status as it was written").
pub const STATUS_AS_WRITTEN: &str = "status";

/// Takes the [`STATUS_AS_WRITTEN`] entry out of `task`: `None` when there is none,
/// `Some(None)` to leave the status unwritten, `Some(Some(text))` to write `text`.
///
/// # Errors
///
/// [`Error::Unrepresentable`] when the entry disagrees with the task's status or is
/// neither `null` nor a string.
pub(crate) fn take_status_form(
    format: Format,
    task: &mut Task,
) -> Result<Option<Option<String>>, Error> {
    let Some(form) = task.extra.shift_remove(STATUS_AS_WRITTEN) else {
        return Ok(None);
    };
    let refuse = |reason: String| Error::Unrepresentable {
        format,
        id: task.id.clone(),
        field: "status",
        reason,
    };
    match form {
        Value::Null if task.status() == Status::Pending => Ok(Some(None)),
        Value::Null => Err(refuse(format!(
            "a task without a written status reads as pending, not {}; write its status",
            task.status()
        ))),
        Value::String(s) if Status::from_name(s.trim()) == Some(task.status()) => Ok(Some(Some(s))),
        other => Err(refuse(format!(
            "the status text {other} does not read as {}; give a spelling of it (e.g. `{}`)",
            task.status(),
            task.status().as_str()
        ))),
    }
}

/// The error for an edit that cannot be made in place at byte `at` of `text`.
pub(crate) fn not_in_place(format: Format, text: &str, at: usize, reason: &str) -> Error {
    let (line, column) = line_column(text, at);
    Error::NotInPlace {
        format,
        line,
        column,
        reason: reason.to_owned(),
    }
}
