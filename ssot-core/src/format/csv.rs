//! CSV task lists (RFC 4180), read and written with the `csv` crate.
//!
//! The first row is a header naming the columns; every other row is a task. Columns
//! may come in any order; [`render`] writes the known ones in the order of the table,
//! always all of them, then the extra columns:
//!
//! | column | cell | empty cell |
//! |---|---|---|
//! | `id` | a valid [`TaskId`](crate::TaskId) | derived from the title (see [`format`](crate::format#ids)) |
//! | `title` | text | **error**: every task needs a title |
//! | `priority` | a name accepted by [`Priority::from_name`](crate::Priority::from_name) | `normal` |
//! | `status` | a name accepted by [`Status::from_name`](crate::Status::from_name) | `pending` |
//! | `category`, `description` | text | empty |
//! | `dependencies` | task ids separated by `;` (`build;test`) | none |
//! | `created_at`, `updated_at` | RFC 3339, `2026-11-23T09:30:00Z` | none |
//! | `estimated_time`, `actual_time` | duration, `1h30m`, `90m` | none |
//! | `tags` | tags without `#`, separated by `;` (`backend;area/db`) | none |
//! | any other column | text | the task has no such field |
//!
//! Header names are matched exactly (snake_case); a header naming a column twice is an
//! error. A task's `status` is its initial state, not a transition.
//!
//! # Design choices
//!
//! - **An empty cell is an absent value.** CSV cannot tell an empty string from a
//!   missing one (`a,,b` and `a,"",b` read the same), so an empty cell means "no
//!   value" everywhere: no title (an error), default priority, no extra field.
//! - **Lists in one cell.** Ids and tags can never contain `;`, `,` or whitespace (see
//!   [`TaskId`](crate::TaskId), [`Tag`](crate::Tag)), so any of them separates items
//!   when reading (`a; b`, `a,b` and `a b` all read as `a` and `b`); `;` is written,
//!   because it needs no quoting.
//! - **Extra columns are text.** A column the model does not know is kept per task as
//!   a string in [`Task::extra`](crate::Task::extra); a task with an empty cell in it
//!   simply has no such key. The extra columns written are those of every task, in the
//!   order first met, each task leaving empty the columns it lacks.
//! - **Refuse what CSV cannot hold.** [`render`] returns [`Error::Unrepresentable`]
//!   instead of writing a task it could not read back unchanged: an empty title, an
//!   extra value that is not a string (a number, `null`, a list...), an extra value
//!   that is the empty string, or an extra key that is a column name.
//! - [`TaskList::document`] is not written (it is always `None` when reading).
//!
//! Cells are quoted only when needed (a `,`, `"` or line break inside); line breaks
//! inside quoted cells are kept. Rows end with `\n`; `\r\n` and a lone `\r` are read
//! too. A leading UTF-8 byte-order mark is skipped; empty input, or a header alone,
//! is an empty list. Quoting that breaks RFC 4180 is read the way the `csv` crate
//! reads it, not refused: `"a"b` is the cell `ab`, and a `"` inside an unquoted cell
//! is kept as text.
//!
//! # Errors
//!
//! A [`ParseError`] gives the line and character column of the offending cell and
//! its column name as the field, as in ``csv line 7, column 12, field `priority`:
//! unknown priority `urgent`; ...``. A row with more or fewer cells than the
//! header is an error on its line.
//!
//! ```
//! use ssot_core::format::csv;
//!
//! let list = csv::parse("id,title,tags,owner\nship,Ship it,release;ops,kim\n")?;
//! assert_eq!(list.tasks[0].tags.len(), 2);
//! assert_eq!(list.tasks[0].extra["owner"], "kim");
//! let out = csv::render(&list)?;
//! assert!(out.starts_with("id,title,priority,status,"));
//! assert_eq!(csv::parse(&out)?, list);
//! # Ok::<(), ssot_core::Error>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::Value;
use ssot_schema::lines::line_column;

use crate::error::{Error, ParseError};
use crate::format::field::Field;
use crate::format::ids::{Draft, check_unique_ids, placeholder_id, resolve_ids};
use crate::format::kind::Format;
use crate::format::list::TaskList;
use crate::format::value::{
    format_duration, parse_duration, parse_id, parse_priority, parse_status, parse_tag,
    parse_timestamp,
};
use crate::task::Task;

/// What a header cell names.
enum Column {
    Known(Field),
    Extra(String),
}

/// Parses a CSV task list.
///
/// Reads row by row into one reused record buffer; time is linear in the input.
///
/// # Errors
///
/// [`Error::Parse`] with the line, column and column name of the first problem: an
/// unusable header, a row whose cell count differs from the header's, a value that
/// does not parse, a missing title, a duplicate explicit id.
pub fn parse(text: &str) -> Result<TaskList, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = ::csv::ByteRecord::new();
    if !read(&mut reader, &mut record, text)? {
        return Ok(TaskList::default());
    }
    let pos = Pos::of(&record, text);
    let columns = header(&Cells::new(text, &record, pos, reader_end(&reader)), pos)?;

    // Growing a vector of tasks, a few hundred bytes each, by doubling copies every
    // task about twice: reserve for a row per 64 bytes instead. Rows are rarely
    // shorter; when they are longer, the excess is address space never touched.
    let mut drafts = Vec::with_capacity(text.len() / 64);
    while read(&mut reader, &mut record, text)? {
        let pos = Pos::of(&record, text);
        if record.len() != columns.len() {
            return Err(ParseError::new(
                Format::Csv,
                pos.line,
                format!(
                    "this row has {} cells but the header has {} columns; \
                     quote cells that contain a `,`",
                    record.len(),
                    columns.len()
                ),
            )
            .into());
        }
        let end = reader_end(&reader);
        drafts.push(row(&columns, &Cells::new(text, &record, pos, end), pos)?);
    }
    let tasks = resolve_ids(Format::Csv, drafts)?;
    Ok(TaskList::new(tasks))
}

/// The reader's byte offset: the end of the record it read last.
fn reader_end(reader: &::csv::Reader<&[u8]>) -> usize {
    usize::try_from(reader.position().byte()).unwrap_or(usize::MAX)
}

/// Reads the next record; `false` at the end of the input.
fn read(
    reader: &mut ::csv::Reader<&[u8]>,
    record: &mut ::csv::ByteRecord,
    text: &str,
) -> Result<bool, Error> {
    reader.read_byte_record(record).map_err(|e| {
        let (line, column) = e.position().map_or((0, None), |p| {
            let (l, c) = line_column(text, usize::try_from(p.byte()).unwrap_or(usize::MAX));
            (l, Some(c))
        });
        let mut err = ParseError::new(Format::Csv, line, e.to_string());
        err.column = column;
        Error::from(err)
    })
}

/// The cells of one record, as text.
///
/// The input is a `&str`, so every cell is UTF-8 already; checking it again, as
/// `StringRecord` does, costs a sixth of a parse. A record written without quotes is
/// its cells joined by commas, so its cells are slices of the input at known offsets
/// and are taken from there, unchecked. A record with a quoted cell is shorter in the
/// reader's buffer than in the input (quoting adds at least two bytes); its cells are
/// checked as usual.
struct Cells<'a> {
    text: &'a str,
    record: &'a ::csv::ByteRecord,
    /// Where the record starts, for errors.
    pos: Pos,
    /// Byte offset in `text` of an unquoted record.
    unquoted_at: Option<usize>,
}

impl<'a> Cells<'a> {
    /// The cells of `record`, which starts at `pos` and ends at byte `end` of `text`
    /// (the reader's position after reading it).
    fn new(text: &'a str, record: &'a ::csv::ByteRecord, pos: Pos, end: usize) -> Cells<'a> {
        let raw = text.as_bytes().get(pos.byte..end).unwrap_or_default();
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let joined = record.as_slice().len() + record.len().saturating_sub(1);
        Cells {
            text,
            record,
            pos,
            unquoted_at: (raw.len() == joined).then_some(pos.byte),
        }
    }

    /// The number of cells.
    fn len(&self) -> usize {
        self.record.len()
    }

    /// Cell `i`, in the column named `field` (for errors).
    ///
    /// # Errors
    ///
    /// A parse error at the cell if there is no cell `i` or it is not UTF-8. Neither
    /// can happen (callers check the cell count, and cells split a `str` at ASCII
    /// bytes), but a cell is data: it is never read as empty in their place.
    fn get(&self, i: usize, field: &str) -> Result<&'a str, Error> {
        let (Some(bytes), Some(range)) = (self.record.get(i), self.record.range(i)) else {
            return Err(self.pos.error(
                self.text,
                i,
                field,
                format!(
                    "this row has no cell {} (it has {}); this is a bug in ssot-core, please \
                     report it",
                    i + 1,
                    self.record.len()
                ),
            ));
        };
        if let Some(at) = self.unquoted_at {
            // Cell `i` follows `i` commas.
            let start = at + range.start + i;
            if let Some(cell) = self.text.get(start..start + bytes.len())
                && cell.as_bytes() == bytes
            {
                return Ok(cell);
            }
        }
        std::str::from_utf8(bytes).map_err(|e| {
            self.pos.error(
                self.text,
                i,
                field,
                format!(
                    "this cell is not valid UTF-8 ({e}); cells of a text cannot be, so this is \
                     a bug in ssot-core, please report it"
                ),
            )
        })
    }
}

/// Where a record starts.
#[derive(Clone, Copy)]
struct Pos {
    line: usize,
    byte: usize,
}

impl Pos {
    /// Where `record` starts in `text`. The reader reports the position where it
    /// started looking, before any blank lines it skipped; step over those.
    fn of(record: &::csv::ByteRecord, text: &str) -> Pos {
        let (mut line, mut byte) = record.position().map_or((1, 0), |p| {
            (
                usize::try_from(p.line()).unwrap_or(usize::MAX),
                usize::try_from(p.byte()).unwrap_or(usize::MAX),
            )
        });
        let bytes = text.as_bytes();
        while let Some(&b) = bytes.get(byte) {
            match b {
                b'\n' => line += 1,
                b'\r' => {}
                _ => break,
            }
            byte += 1;
        }
        Pos { line, byte }
    }

    /// An error about cell `index` of this record, pointing at the cell.
    fn error(self, text: &str, index: usize, field: &str, message: String) -> Error {
        let (line, column) = line_column(text, cell_offset(text, self.byte, index));
        ParseError::new(Format::Csv, line, message)
            .with_column(column)
            .with_field(field)
            .into()
    }
}

/// The byte offset of cell `index` of the record starting at byte `start`.
///
/// Only used for error messages, so it re-scans the raw text: a quoted cell runs to
/// the closing quote (`""` is an escaped quote), any cell to the next `,`.
fn cell_offset(text: &str, start: usize, index: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = start.min(bytes.len());
    for _ in 0..index {
        if bytes.get(at) == Some(&b'"') {
            at += 1;
            while let Some(&b) = bytes.get(at) {
                at += 1;
                if b == b'"' {
                    if bytes.get(at) == Some(&b'"') {
                        at += 1;
                    } else {
                        break;
                    }
                }
            }
        }
        while let Some(&b) = bytes.get(at) {
            at += 1;
            if b == b',' {
                break;
            }
        }
    }
    at
}

/// Reads the header row.
fn header(cells: &Cells<'_>, pos: Pos) -> Result<Vec<Column>, Error> {
    let text = cells.text;
    let mut columns = Vec::with_capacity(cells.len());
    let mut seen = HashMap::with_capacity(cells.len());
    let mut has_title = false;
    for i in 0..cells.len() {
        let name = cells.get(i, "header")?;
        if let Some(first) = seen.insert(name, i) {
            return Err(pos.error(
                text,
                i,
                name,
                format!(
                    "the header names column `{name}` twice (columns {} and {}); \
                     column names must be unique",
                    first + 1,
                    i + 1
                ),
            ));
        }
        match Field::from_name(name) {
            Some(field) => {
                has_title |= field == Field::Title;
                columns.push(Column::Known(field));
            }
            None => columns.push(Column::Extra(name.to_owned())),
        }
    }
    if !has_title {
        let hint = (0..cells.len())
            .filter_map(|i| cells.get(i, "header").ok())
            .find(|n| n.trim().eq_ignore_ascii_case("title"))
            .map(|n| format!(" (column `{n}` is not `title`: names are matched exactly)"))
            .unwrap_or_default();
        return Err(ParseError::new(
            Format::Csv,
            pos.line,
            format!(
                "the header has no `title` column{hint}; the first row must name the columns, \
                 and every task needs a title"
            ),
        )
        .with_field("title")
        .into());
    }
    Ok(columns)
}

/// Reads one task row, which has one cell per column.
fn row(columns: &[Column], cells: &Cells<'_>, pos: Pos) -> Result<Draft, Error> {
    let text = cells.text;
    let mut task = Task::new(placeholder_id(), String::new());
    let mut explicit = false;
    let mut has_title = false;
    for (i, column) in columns.iter().enumerate() {
        let name = match column {
            Column::Known(field) => field.name(),
            Column::Extra(name) => name,
        };
        let cell = cells.get(i, name)?;
        if cell.is_empty() {
            continue;
        }
        let field = match column {
            Column::Extra(name) => {
                task.extra
                    .insert(name.clone(), Value::String(cell.to_owned()));
                continue;
            }
            Column::Known(field) => *field,
        };
        let fail = |message: String| pos.error(text, i, field.name(), message);
        match field {
            Field::Id => {
                task.id = parse_id(cell).map_err(fail)?;
                explicit = true;
            }
            Field::Title => {
                task.title = cell.to_owned();
                has_title = true;
            }
            Field::Priority => task.priority = parse_priority(cell).map_err(fail)?,
            Field::Status => task = task.with_status(parse_status(cell).map_err(fail)?),
            Field::Category => task.category = cell.to_owned(),
            Field::Description => task.description = cell.to_owned(),
            Field::Dependencies => {
                task.dependencies = split_list(cell)
                    .map(|d| parse_id(d).map_err(fail))
                    .collect::<Result<_, _>>()?;
            }
            Field::CreatedAt => task.created_at = Some(parse_timestamp(cell).map_err(fail)?),
            Field::UpdatedAt => task.updated_at = Some(parse_timestamp(cell).map_err(fail)?),
            Field::EstimatedTime => task.estimated_time = Some(parse_duration(cell).map_err(fail)?),
            Field::ActualTime => task.actual_time = Some(parse_duration(cell).map_err(fail)?),
            Field::Tags => {
                task.tags = split_list(cell)
                    .map(|t| parse_tag(t).map_err(fail))
                    .collect::<Result<_, _>>()?;
            }
        }
    }
    if !has_title {
        let title_index = columns
            .iter()
            .position(|c| matches!(c, Column::Known(Field::Title)))
            .unwrap_or(0);
        return Err(pos.error(
            text,
            title_index,
            "title",
            "this row has no title; every task needs one".to_owned(),
        ));
    }
    let mut draft = Draft::new(task, pos.line);
    draft.explicit = explicit;
    Ok(draft)
}

/// The items of a list cell: separated by `;`, `,` or whitespace, empty ones skipped.
fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

/// Renders a task list as CSV: a header, then one row per task.
///
/// Costs one pass over the tasks to collect the extra columns and check that every
/// task can be written, then one to write them.
///
/// # Errors
///
/// [`Error::Unrepresentable`] for a task that CSV cannot hold unchanged: an empty
/// title; an extra field whose value is not a string, or is the empty string; an extra
/// key that is a column name. Nothing is written in that case.
pub fn render(list: &TaskList) -> Result<String, Error> {
    check_unique_ids(Format::Csv, &list.tasks)?;
    let extra_columns = extra_columns(&list.tasks)?;
    let mut writer =
        ::csv::WriterBuilder::new().from_writer(Vec::with_capacity(128 * list.tasks.len() + 256));
    let failed = |e: ::csv::Error| write_failed(&e);
    for field in Field::ALL {
        writer.write_field(field.name()).map_err(failed)?;
    }
    for name in &extra_columns {
        writer.write_field(name).map_err(failed)?;
    }
    writer.write_record(None::<&[u8]>).map_err(failed)?;

    let mut cell = String::new();
    for task in &list.tasks {
        for field in Field::ALL {
            cell.clear();
            let text: &str = match field {
                Field::Id => task.id.as_str(),
                Field::Title => &task.title,
                Field::Priority => task.priority.as_str(),
                Field::Status => task.status().as_str(),
                Field::Category => &task.category,
                Field::Description => &task.description,
                Field::Dependencies => join(&task.dependencies, &mut cell),
                Field::CreatedAt | Field::UpdatedAt => {
                    let ts = if field == Field::CreatedAt {
                        &task.created_at
                    } else {
                        &task.updated_at
                    };
                    if let Some(ts) = ts {
                        // Writing to a `String` cannot fail.
                        let _ = write!(cell, "{ts}");
                    }
                    &cell
                }
                Field::EstimatedTime | Field::ActualTime => {
                    let d = if field == Field::EstimatedTime {
                        &task.estimated_time
                    } else {
                        &task.actual_time
                    };
                    if let Some(d) = d {
                        format_duration(d, &mut cell);
                    }
                    &cell
                }
                Field::Tags => join(&task.tags, &mut cell),
            };
            writer.write_field(text).map_err(failed)?;
        }
        for name in &extra_columns {
            let text = match task.extra.get(*name) {
                Some(Value::String(s)) => s.as_str(),
                _ => "",
            };
            writer.write_field(text).map_err(failed)?;
        }
        writer.write_record(None::<&[u8]>).map_err(failed)?;
    }
    let bytes = writer.into_inner().map_err(|e| write_failed(e.error()))?;
    String::from_utf8(bytes).map_err(|e| write_failed(&e))
}

/// Writes `items` separated by `;` into `buf`.
fn join<'b, T: AsRef<str>>(items: &[T], buf: &'b mut String) -> &'b str {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(';');
        }
        buf.push_str(item.as_ref());
    }
    buf
}

/// The extra columns of `tasks`, in the order first met, after checking that every
/// task can be written.
fn extra_columns(tasks: &[Task]) -> Result<Vec<&str>, Error> {
    let mut columns = Vec::new();
    let mut seen = HashSet::new();
    for task in tasks {
        let refuse = |field, reason| Error::Unrepresentable {
            format: Format::Csv,
            id: task.id.clone(),
            field,
            reason,
        };
        if task.title.is_empty() {
            return Err(refuse(
                "title",
                "is empty, and an empty CSV cell reads back as a missing title".to_owned(),
            ));
        }
        for (key, value) in &task.extra {
            if Field::from_name(key).is_some() {
                return Err(refuse(
                    "extra",
                    format!(
                        "holds key `{key}`, which is a column of its own; set the field itself"
                    ),
                ));
            }
            match value {
                Value::String(s) if !s.is_empty() => {}
                Value::String(_) => {
                    return Err(refuse(
                        "extra",
                        format!(
                            "`{key}` is the empty string, and an empty CSV cell reads back as \
                             no value; remove the key instead"
                        ),
                    ));
                }
                other => {
                    return Err(refuse(
                        "extra",
                        format!(
                            "`{key}` holds {}, but CSV cells hold only text; store it as a \
                             string, or use JSON or YAML",
                            describe(other)
                        ),
                    ));
                }
            }
            if seen.insert(key.as_str()) {
                columns.push(key.as_str());
            }
        }
    }
    Ok(columns)
}

/// What kind of JSON value `v` is, for messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
    }
}

/// Writing to memory cannot fail; should it, say so rather than panic.
fn write_failed(e: &dyn std::fmt::Display) -> Error {
    Error::Write {
        format: Format::Csv,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For each record of `text`: whether its cells were taken from the input, and
    /// the cells.
    fn records(text: &str) -> Vec<(bool, Vec<String>)> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = ::csv::ByteRecord::new();
        let mut out = Vec::new();
        while read(&mut reader, &mut record, text).unwrap() {
            let cells = Cells::new(text, &record, Pos::of(&record, text), reader_end(&reader));
            let texts = (0..cells.len())
                .map(|i| cells.get(i, "x").unwrap().to_owned())
                .collect();
            out.push((cells.unquoted_at.is_some(), texts));
        }
        out
    }

    #[test]
    fn unquoted_records_are_sliced_from_the_input_and_quoted_ones_copied() {
        let s = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            records("a,é\r\n\r\n\"q,\"\"\",x\nb,a\"b,\n,\n\nlast,ü"),
            [
                (true, s(&["a", "é"])),
                (false, s(&["q,\"", "x"])),
                (true, s(&["b", "a\"b", ""])),
                (true, s(&["", ""])),
                (true, s(&["last", "ü"])),
            ]
        );
    }

    #[test]
    fn a_cell_that_is_not_utf8_is_an_error_at_the_cell_not_an_empty_value() {
        let text = "id,title\nship,\u{e9}\n";
        // Half of `é`: no reader makes such a cell from a `str`, so build it by hand.
        let record = ::csv::ByteRecord::from(vec![&b"ship"[..], &b"\xc3"[..]]);
        let cells = Cells::new(text, &record, Pos { line: 2, byte: 9 }, text.len());
        let err = cells.get(1, "title").unwrap_err().to_string();
        assert!(
            err.starts_with("csv line 2, column 6, field `title`: this cell is not valid UTF-8"),
            "{err}"
        );
        let err = cells.get(2, "owner").unwrap_err().to_string();
        assert!(err.contains("no cell 3"), "{err}");
        assert_eq!(cells.get(0, "id").unwrap(), "ship");
    }
}
