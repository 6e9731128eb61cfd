//! The task record as serde sees it: one hand-written (de)serialization shared by
//! [`json`](super::json) and [`yaml`](super::yaml), plus the field table and field
//! parsers that [`csv`](super::csv) reuses.
//!
//! # Why not `#[derive(Deserialize)]` with `#[serde(flatten)]`
//!
//! Keeping unknown fields with `flatten` makes serde buffer *every* field of every
//! task through its private `Content` tree before the derived code sees it, which
//! costs an allocation per field and loses the deserializer's own positions. The
//! visitors here read each map key once, match it against the known field names, and
//! either parse the value straight into the [`Task`] (borrowing `&str` from the input
//! where the deserializer allows) or read it into [`Task::extra`].
//!
//! # Errors that name their field
//!
//! serde's error types carry a message and a position but no structure. So every
//! visitor records, in a [`Ctx`] shared by all of them, the task field at fault, the
//! message it raised and, when the offending text was borrowed from the input, the
//! byte offset of that text. The format module turns the deserializer's error plus
//! that record into a [`ParseError`].
//!
//! # Where a task starts
//!
//! Neither serde_json nor yaml_serde tells a visitor where it is in the input. Keys
//! without escapes are handed to the visitor as `&str` slices *of the input*, so the
//! offset of a task's first key is a pointer difference; it gives the start of a task
//! that lacks a title, and the line of each task for a duplicate-id error. Only
//! addresses are compared, never dereferenced, so this needs no `unsafe`. Counting
//! lines for every task would cost a few percent of every parse for the sake of an
//! error that is rare, so [`parse_document`] counts them only when reading the input
//! a second time, after ids were found to clash.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

use crate::error::{Error, ParseError};
use crate::format::{
    Draft, Format, TaskList, check_unique_ids, count_newlines, format_duration, parse_duration,
    parse_timestamp, placeholder_id, resolve_ids,
};
use crate::task::{Extra, Priority, Status, Tag, Task, TaskId};

/// A known task field, in the order every format writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Title,
    Priority,
    Status,
    Category,
    Description,
    Dependencies,
    CreatedAt,
    UpdatedAt,
    EstimatedTime,
    ActualTime,
    Tags,
}

impl Field {
    /// Every field, in writing order.
    pub(crate) const ALL: [Field; 12] = [
        Field::Id,
        Field::Title,
        Field::Priority,
        Field::Status,
        Field::Category,
        Field::Description,
        Field::Dependencies,
        Field::CreatedAt,
        Field::UpdatedAt,
        Field::EstimatedTime,
        Field::ActualTime,
        Field::Tags,
    ];

    /// The snake_case name used as key (JSON, YAML) or column header (CSV).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Title => "title",
            Field::Priority => "priority",
            Field::Status => "status",
            Field::Category => "category",
            Field::Description => "description",
            Field::Dependencies => "dependencies",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::EstimatedTime => "estimated_time",
            Field::ActualTime => "actual_time",
            Field::Tags => "tags",
        }
    }

    /// The field named exactly `name`, if any.
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "id" => Field::Id,
            "title" => Field::Title,
            "priority" => Field::Priority,
            "status" => Field::Status,
            "category" => Field::Category,
            "description" => Field::Description,
            "dependencies" => Field::Dependencies,
            "created_at" => Field::CreatedAt,
            "updated_at" => Field::UpdatedAt,
            "estimated_time" => Field::EstimatedTime,
            "actual_time" => Field::ActualTime,
            "tags" => Field::Tags,
            _ => return None,
        })
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

// ---------------------------------------------------------------------------
// Field parsers, shared with CSV. Each returns the message of `ParseError`.
// ---------------------------------------------------------------------------

/// Parses a task id.
pub(crate) fn parse_id(s: &str) -> Result<TaskId, String> {
    TaskId::new(s).map_err(|e| e.to_string())
}

/// Parses a tag (without `#`).
pub(crate) fn parse_tag(s: &str) -> Result<Tag, String> {
    Tag::new(s).map_err(|e| e.to_string())
}

/// Parses a priority name.
pub(crate) fn parse_priority(s: &str) -> Result<Priority, String> {
    Priority::from_name(s).ok_or_else(|| Priority::unknown(s))
}

/// Parses a status name.
pub(crate) fn parse_status(s: &str) -> Result<Status, String> {
    Status::from_name(s).ok_or_else(|| Status::unknown(s))
}

// ---------------------------------------------------------------------------
// Positions.
// ---------------------------------------------------------------------------

/// The 1-based line and 1-based character column of byte `offset` in `text`.
///
/// An offset past the end or inside a character is moved back to the nearest
/// character boundary. Costs O(offset).
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    // A line ends at `\n`, `\r\n` or a lone `\r`, as CSV and YAML read them.
    let bytes = text.as_bytes();
    let (mut line, mut line_start) = (1, 0);
    for (i, &b) in bytes.iter().enumerate().take(offset) {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
            line_start = i + 1;
        }
    }
    let column = 1 + text
        .get(line_start..offset)
        .map_or(0, |l| l.chars().count());
    (line, column)
}

/// The byte offset of the start of 1-based `line` in `text` (the end of the text if
/// there are fewer lines).
pub(crate) fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map_or(text.len(), |(i, _)| i + 1)
}

/// Turns byte offsets of the input into 1-based lines, for offsets met in document
/// order.
///
/// Offsets normally grow, and each call counts the newlines since the previous one,
/// in text that was just parsed and is still in cache: O(input) in all. YAML aliases
/// can point back; the first time one does, a table of line starts is built
/// (O(input)) and searched (O(log lines)) from then on.
struct LineCounter<'t> {
    text: &'t str,
    at: usize,
    line: usize,
    starts: Option<Vec<usize>>,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> LineCounter<'t> {
        LineCounter {
            text,
            at: 0,
            line: 1,
            starts: None,
        }
    }

    /// The line of byte `offset`.
    fn line_of(&mut self, offset: usize) -> usize {
        let bytes = self.text.as_bytes();
        let offset = offset.min(bytes.len());
        if offset >= self.at {
            self.line += bytes.get(self.at..offset).map_or(0, count_newlines);
            self.at = offset;
            return self.line;
        }
        let text = self.text;
        let starts = self.starts.get_or_insert_with(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        starts.partition_point(|&s| s <= offset).max(1)
    }
}

// ---------------------------------------------------------------------------
// The error context shared by the visitors.
// ---------------------------------------------------------------------------

/// What the visitors learned about the first (and only) error.
#[derive(Default)]
struct Failure {
    /// Our own message, when a visitor raised the error (the deserializer's
    /// `Display` would add its own position and path around it).
    message: Option<String>,
    /// The task field, or top-level key, at fault.
    field: Option<String>,
    /// Byte offset of the offending text, when known more precisely than the
    /// deserializer's position.
    offset: Option<usize>,
    /// The error came out of a task, which has already named its field.
    in_task: bool,
}

/// The state shared by the visitors of one parse: the input, for positions, and what
/// is known about an error.
pub(crate) struct Ctx<'t> {
    format: Format,
    text: &'t str,
    count_lines: bool,
    failure: RefCell<Failure>,
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
        }
    }

    /// Reads a whole document with `de`. On error, pass the deserializer's error to
    /// [`Ctx::error`].
    pub(crate) fn read<'de, D: Deserializer<'de>>(&self, de: D) -> Result<Parsed, D::Error> {
        DocumentSeed { ctx: self }.deserialize(de)
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
            message: failure.message.unwrap_or(message),
        }
        .into()
    }

    /// A deserializer error carrying `message`, which is recorded as the message of
    /// the parse error.
    fn fail<E: de::Error>(&self, message: String) -> E {
        let e = E::custom(&message);
        self.failure.borrow_mut().message = Some(message);
        e
    }

    /// Like [`Ctx::fail`], pointing at `at` when it is a slice of the input.
    fn fail_at<E: de::Error>(&self, message: String, at: &str) -> E {
        if let Some(offset) = self.offset_of(at) {
            self.failure.borrow_mut().offset = Some(offset);
        }
        self.fail(message)
    }

    /// Names the field at fault, unless an inner visitor already did.
    fn blame(&self, field: &str) {
        let mut f = self.failure.borrow_mut();
        if f.field.is_none() {
            f.field = Some(field.to_owned());
        }
    }

    /// Points the error at byte `offset`, when known.
    fn point_at(&self, offset: Option<usize>) {
        if offset.is_some() {
            self.failure.borrow_mut().offset = offset;
        }
    }

    /// Byte offset of `s` in the input, if `s` is a slice of it.
    fn offset_of(&self, s: &str) -> Option<usize> {
        let start = self.text.as_ptr() as usize;
        let at = s.as_ptr() as usize;
        (at >= start && at + s.len() <= start + self.text.len()).then(|| at - start)
    }

    /// Where the task whose first key is at `key` starts: for JSON, the `{` before
    /// the key's opening quote; for YAML, the key itself.
    fn task_start(&self, key: usize) -> usize {
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

// ---------------------------------------------------------------------------
// Deserialization.
// ---------------------------------------------------------------------------

/// A whole document: a list of tasks, or a map with a `tasks` list.
struct DocumentSeed<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Parsed, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tasks, or a map with a `tasks` list")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        // An empty YAML document (or a bare `null`, `~`) is an empty list; JSON has no
        // empty document and its `null` is not a task list.
        if self.ctx.format == Format::Yaml {
            Ok((Vec::new(), None))
        } else {
            Err(de::Error::invalid_type(de::Unexpected::Unit, &self))
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Parsed, A::Error> {
        let drafts = TasksSeed { ctx: self.ctx }.visit_seq(seq)?;
        Ok((drafts, None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let ctx = self.ctx;
        let mut tasks = None;
        let mut document = Extra::new();
        while let Some(key) = map.next_key_seed(KeySeed { ctx })? {
            let at = key.offset;
            let key = key.text.into_owned();
            if key == "tasks" {
                if tasks.is_some() {
                    ctx.blame("tasks");
                    ctx.point_at(at);
                    return Err(ctx.fail("key `tasks` appears twice".to_owned()));
                }
                let drafts = map
                    .next_value_seed(OptionalTasks { ctx })
                    .inspect_err(|_| {
                        if !ctx.failure.borrow().in_task {
                            ctx.blame("tasks");
                        }
                    })?;
                tasks = Some(drafts);
            } else {
                let value = map.next_value_seed(ValueSeed { ctx }).inspect_err(|_| {
                    ctx.blame(&key);
                })?;
                if document.contains_key(&key) {
                    let message = format!("top-level key `{key}` appears twice");
                    ctx.blame(&key);
                    ctx.point_at(at);
                    return Err(ctx.fail(message));
                }
                document.insert(key, value);
            }
        }
        match tasks {
            Some(drafts) => Ok((drafts, Some(document))),
            None => Err(ctx.fail(
                "the top-level map has no `tasks` key; a task list is a list of tasks, \
                 or a map whose `tasks` key holds that list"
                    .to_owned(),
            )),
        }
    }
}

/// The value of a top-level `tasks` key: a list, or null for an empty one.
struct OptionalTasks<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for OptionalTasks<'_, '_> {
    type Value = Vec<Draft>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Vec<Draft>, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalTasks<'_, '_> {
    type Value = Vec<Draft>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tasks")
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<Draft>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<Draft>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Vec<Draft>, D::Error> {
        de.deserialize_seq(TasksSeed { ctx: self.ctx })
    }
}

/// A list of tasks.
struct TasksSeed<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> Visitor<'de> for TasksSeed<'_, '_> {
    type Value = Vec<Draft>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tasks")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Draft>, A::Error> {
        // serde_json and yaml_serde do not know the length of a list up front, and
        // growing a vector of tasks, a few hundred bytes each, by doubling would copy
        // every task about twice, into freshly faulted memory: a fifth of a parse.
        // Reserve for a task per 128 bytes of input instead. Tasks are rarely smaller;
        // when they are larger, the excess is address space that is never touched, and
        // the vector is dropped once ids are resolved.
        let text = self.ctx.text.len();
        let reserve = seq.size_hint().unwrap_or(text / 128).min(text / 2);
        let mut drafts = Vec::with_capacity(reserve);
        let mut lines = self
            .ctx
            .count_lines
            .then(|| LineCounter::new(self.ctx.text));
        let mut previous = 1;
        while seq
            .next_element_seed(TaskSeed {
                ctx: self.ctx,
                out: &mut drafts,
            })?
            .is_some()
        {
            let (Some(lines), Some(draft)) = (&mut lines, drafts.last_mut()) else {
                continue;
            };
            // `line` holds the task's offset. A task whose every key was escaped has
            // none: give it the previous task's line.
            draft.line = match draft.line {
                usize::MAX => previous,
                offset => lines.line_of(offset),
            };
            previous = draft.line;
        }
        Ok(drafts)
    }
}

/// One task, pushed onto `out` rather than returned: a task is a few hundred bytes,
/// and handing it back through the deserializer's layers of `Result` copies it each
/// time.
///
/// When lines are counted, the draft's `line` holds the byte offset of the task's
/// start (`usize::MAX` when unknown), which [`TasksSeed`] turns into a line;
/// otherwise it is 0.
struct TaskSeed<'c, 't, 'o> {
    ctx: &'c Ctx<'t>,
    out: &'o mut Vec<Draft>,
}

impl<'de> DeserializeSeed<'de> for TaskSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let ctx = self.ctx;
        de.deserialize_map(self).inspect_err(|_| {
            ctx.failure.borrow_mut().in_task = true;
        })
    }
}

impl<'de> Visitor<'de> for TaskSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a task: a map of fields, with at least a `title`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let index = self.out.len();
        let mut task = Task::new(placeholder_id(), String::new());
        let mut explicit = false;
        let mut status = None;
        let mut seen = 0u16;
        let mut start = None;
        while let Some(key) = map.next_key_seed(KeySeed { ctx })? {
            if start.is_none() {
                start = key.offset;
            }
            let field = match Field::from_name(&key.text) {
                Some(field) => field,
                None => {
                    let name = key.text.into_owned();
                    let value = map.next_value_seed(ValueSeed { ctx }).inspect_err(|_| {
                        ctx.blame(&name);
                    })?;
                    if task.extra.contains_key(&name) {
                        ctx.blame(&name);
                        ctx.point_at(key.offset);
                        return Err(ctx.fail(format!("field `{name}` appears twice in this task")));
                    }
                    task.extra.insert(name, value);
                    continue;
                }
            };
            if seen & field.bit() != 0 {
                ctx.blame(field.name());
                ctx.point_at(key.offset);
                return Err(ctx.fail(format!(
                    "field `{}` appears twice in this task",
                    field.name()
                )));
            }
            seen |= field.bit();
            read_field(ctx, &mut map, &mut task, field, &mut explicit, &mut status).inspect_err(
                |_| {
                    ctx.blame(field.name());
                },
            )?;
        }
        if seen & Field::Title.bit() == 0 {
            let which = if explicit {
                format!("the task at index {index} (id `{}`)", task.id)
            } else {
                format!("the task at index {index}")
            };
            if let Some(start) = start {
                ctx.failure.borrow_mut().offset = Some(ctx.task_start(start));
            }
            ctx.blame("title");
            return Err(ctx.fail(format!(
                "{which} has no `title`; every task needs one (it is the only required field)"
            )));
        }
        if let Some(status) = status {
            task = task.with_status(status);
        }
        self.out.push(Draft {
            task,
            explicit,
            line: match (ctx.count_lines, start) {
                (false, _) => 0,
                (true, Some(start)) => ctx.task_start(start),
                (true, None) => usize::MAX,
            },
        });
        Ok(())
    }
}

/// Reads the value of known `field` into `task`.
fn read_field<'de, A: MapAccess<'de>>(
    ctx: &Ctx<'_>,
    map: &mut A,
    task: &mut Task,
    field: Field,
    explicit: &mut bool,
    status: &mut Option<Status>,
) -> Result<(), A::Error> {
    match field {
        Field::Id => {
            if let Some(id) = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_id,
                what: "a task id",
            }))? {
                task.id = id;
                *explicit = true;
            }
        }
        Field::Title => task.title = map.next_value_seed(Title { ctx })?,
        Field::Priority => {
            if let Some(p) = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_priority,
                what: "a priority name",
            }))? {
                task.priority = p;
            }
        }
        Field::Status => {
            *status = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_status,
                what: "a status name",
            }))?
        }
        Field::Category => task.category = map.next_value::<Option<String>>()?.unwrap_or_default(),
        Field::Description => {
            task.description = map.next_value::<Option<String>>()?.unwrap_or_default();
        }
        Field::Dependencies => {
            task.dependencies = map
                .next_value_seed(Opt(List(Text {
                    ctx,
                    parse: parse_id,
                    what: "a task id",
                })))?
                .unwrap_or_default();
        }
        Field::CreatedAt => {
            task.created_at = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_timestamp,
                what: "an RFC 3339 timestamp",
            }))?;
        }
        Field::UpdatedAt => {
            task.updated_at = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_timestamp,
                what: "an RFC 3339 timestamp",
            }))?;
        }
        Field::EstimatedTime => {
            task.estimated_time = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_duration,
                what: "a duration",
            }))?;
        }
        Field::ActualTime => {
            task.actual_time = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_duration,
                what: "a duration",
            }))?;
        }
        Field::Tags => {
            task.tags = map
                .next_value_seed(Opt(List(Text {
                    ctx,
                    parse: parse_tag,
                    what: "a tag",
                })))?
                .unwrap_or_default();
        }
    }
    Ok(())
}

/// A map key: its text, borrowed from the input where possible, and its offset in
/// the input when it is a slice of it.
struct Key<'de> {
    text: std::borrow::Cow<'de, str>,
    offset: Option<usize>,
}

/// A map key, which must be a string.
///
/// Keys are read with `deserialize_any`, not `deserialize_str`, so that a YAML key
/// that is not a string (`1:`, `true:`, `~:`) is an error rather than silently
/// becoming the string `"1"` and being written back quoted.
struct KeySeed<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key<'de>, D::Error> {
        de.deserialize_any(self)
    }
}

impl KeySeed<'_, '_> {
    fn not_a_string<E: de::Error>(&self, shown: &dyn fmt::Display) -> E {
        self.ctx.fail(format!(
            "map key `{shown}` is not a string; quote it (`\"{shown}\"`) to use it as a field name"
        ))
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name (a string)")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key {
            text: std::borrow::Cow::Borrowed(v),
            offset: self.ctx.offset_of(v),
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key {
            text: std::borrow::Cow::Owned(v.to_owned()),
            offset: None,
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key {
            text: std::borrow::Cow::Owned(v),
            offset: None,
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Key<'de>, E> {
        Err(self.ctx.fail(
            "map key is null (or empty), not a string; quote it (`\"null\"`) to use it as a field name"
                .to_owned(),
        ))
    }
}

/// The title: a string, possibly empty, but not null (nor, in YAML, left without a
/// value): a task must have one.
struct Title<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for Title<'_, '_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Title<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(self.ctx.fail(
            "the title is null (or has no value); every task needs one, even if it is an empty string"
                .to_owned(),
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_string(TitleText)
    }
}

struct TitleText;

impl Visitor<'_> for TitleText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

/// Something deserialized from `null` (or a missing YAML value) as `None`.
struct Opt<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Opt<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Opt<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(de).map(Some)
    }
}

/// A string parsed by `parse`, whose error message becomes the parse error's.
struct Text<'c, 't, T> {
    ctx: &'c Ctx<'t>,
    parse: fn(&str) -> Result<T, String>,
    /// What the string is, for "invalid type" messages: `a task id`.
    what: &'static str,
}

impl<T> Clone for Text<'_, '_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Text<'_, '_, T> {}

impl<'de, T> DeserializeSeed<'de> for Text<'_, '_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, T> Visitor<'de> for Text<'_, '_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (a string)", self.what)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<T, E> {
        (self.parse)(v).map_err(|m| self.ctx.fail_at(m, v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(|m| self.ctx.fail(m))
    }
}

/// A list of `S`.
struct List<S>(S);

impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for List<S> {
    type Value = Vec<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for List<S> {
    type Value = Vec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(self.0)? {
            out.push(item);
        }
        Ok(out)
    }
}

/// Any value kept in [`Task::extra`] or [`TaskList::document`], as a JSON value.
///
/// Unlike `serde_json::Value`'s own `Deserialize`, this refuses (with a position)
/// what a JSON value cannot hold instead of changing it: non-string map keys, YAML
/// tags, non-finite floats (which `Value` turns into `null`), integers beyond 64 bits,
/// and duplicate keys (which `Value` resolves by keeping the last).
struct ValueSeed<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value that JSON can hold")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => Ok(Value::Number(i.into())),
            (_, Ok(u)) => Ok(Value::Number(u.into())),
            _ => Err(self.ctx.fail(format!(
                "integer {v} does not fit in 64 bits, the most an extra field can hold; quote it to keep it as text"
            ))),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match u64::try_from(v) {
            Ok(u) => Ok(Value::Number(u.into())),
            Err(_) => Err(self.ctx.fail(format!(
                "integer {v} does not fit in 64 bits, the most an extra field can hold; quote it to keep it as text"
            ))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            let shown = match (v.is_nan(), v > 0.0) {
                (true, _) => ".nan",
                (false, true) => ".inf",
                (false, false) => "-.inf",
            };
            self.ctx.fail(format!(
                "`{shown}` is not a finite number, which an extra field cannot hold; quote it to keep it as text"
            ))
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(self
            .ctx
            .fail("binary data cannot be kept in an extra field".to_owned()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ValueSeed { ctx: self.ctx })? {
            out.push(item);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let ctx = self.ctx;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed { ctx })? {
            let key = key.text.into_owned();
            let value = map.next_value_seed(ValueSeed { ctx })?;
            if out.contains_key(&key) {
                return Err(ctx.fail(format!("key `{key}` appears twice in the same map")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // yaml_serde reports a value with a non-standard tag (`!name value`) as an enum
        // whose variant is the tag.
        let (tag, _) = data.variant::<String>()?;
        Err(self.ctx.fail(format!(
            "YAML tag `!{tag}` cannot be kept in an extra field (extra fields hold JSON values); remove the tag"
        )))
    }
}

// ---------------------------------------------------------------------------
// Serialization.
// ---------------------------------------------------------------------------

/// Checks what serialization cannot report itself: an extra key that is a task
/// field name, or a document key named `tasks`, would be written twice.
pub(crate) fn check_keys(format: Format, list: &TaskList) -> Result<(), Error> {
    check_unique_ids(format, &list.tasks)?;
    for task in &list.tasks {
        if let Some(key) = task.extra.keys().find(|k| Field::from_name(k).is_some()) {
            return Err(Error::Unrepresentable {
                format,
                id: task.id.clone(),
                field: "extra",
                reason: format!(
                    "holds key `{key}`, which is a task field and would be written twice; \
                     set the field itself instead"
                ),
            });
        }
    }
    if list
        .document
        .as_ref()
        .is_some_and(|doc| doc.contains_key("tasks"))
    {
        return Err(Error::InvalidDocument {
            format,
            reason: "`TaskList::document` holds a `tasks` key, where the task list is \
                     written; rename or remove it"
                .to_owned(),
        });
    }
    Ok(())
}

/// A task list in the shape it was read: a bare list, or a map with the document's
/// other keys first and then `tasks`.
pub(crate) struct DocumentOut<'a> {
    list: &'a TaskList,
    /// Reused to format durations and timestamps without an allocation each.
    scratch: RefCell<String>,
}

impl<'a> DocumentOut<'a> {
    pub(crate) fn new(list: &'a TaskList) -> DocumentOut<'a> {
        DocumentOut {
            list,
            scratch: RefCell::new(String::new()),
        }
    }
}

impl Serialize for DocumentOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let list = self.list;
        let tasks = TasksOut {
            tasks: &list.tasks,
            scratch: &self.scratch,
        };
        match &list.document {
            None => tasks.serialize(s),
            Some(doc) => {
                let mut map = s.serialize_map(Some(doc.len() + 1))?;
                for (k, v) in doc {
                    map.serialize_entry(k, v)?;
                }
                map.serialize_entry("tasks", &tasks)?;
                map.end()
            }
        }
    }
}

struct TasksOut<'a> {
    tasks: &'a [Task],
    scratch: &'a RefCell<String>,
}

impl Serialize for TasksOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.tasks.iter().map(|task| TaskOut {
            task,
            scratch: self.scratch,
        }))
    }
}

/// One task: known fields in [`Field::ALL`] order, empty ones left out (id, title,
/// priority and status are always written), then the extras in their order.
struct TaskOut<'a> {
    task: &'a Task,
    scratch: &'a RefCell<String>,
}

impl Serialize for TaskOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.task;
        let len = 4
            + usize::from(!t.category.is_empty())
            + usize::from(!t.description.is_empty())
            + usize::from(!t.dependencies.is_empty())
            + usize::from(t.created_at.is_some())
            + usize::from(t.updated_at.is_some())
            + usize::from(t.estimated_time.is_some())
            + usize::from(t.actual_time.is_some())
            + usize::from(!t.tags.is_empty())
            + t.extra.len();
        let mut map = s.serialize_map(Some(len))?;
        map.serialize_entry("id", t.id.as_str())?;
        map.serialize_entry("title", &t.title)?;
        map.serialize_entry("priority", t.priority.as_str())?;
        map.serialize_entry("status", t.status().as_str())?;
        if !t.category.is_empty() {
            map.serialize_entry("category", &t.category)?;
        }
        if !t.description.is_empty() {
            map.serialize_entry("description", &t.description)?;
        }
        if !t.dependencies.is_empty() {
            map.serialize_entry("dependencies", &StrList(&t.dependencies))?;
        }
        let mut scratch = self.scratch.borrow_mut();
        for (key, ts) in [("created_at", &t.created_at), ("updated_at", &t.updated_at)] {
            if let Some(ts) = ts {
                scratch.clear();
                // Writing to a `String` cannot fail.
                let _ = write!(scratch, "{ts}");
                map.serialize_entry(key, scratch.as_str())?;
            }
        }
        for (key, d) in [
            ("estimated_time", &t.estimated_time),
            ("actual_time", &t.actual_time),
        ] {
            if let Some(d) = d {
                scratch.clear();
                format_duration(d, &mut scratch);
                map.serialize_entry(key, scratch.as_str())?;
            }
        }
        drop(scratch);
        if !t.tags.is_empty() {
            map.serialize_entry("tags", &StrList(&t.tags))?;
        }
        for (k, v) in &t.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A list of ids or tags, as strings.
struct StrList<'a, T>(&'a [T]);

impl<T: AsRef<str>> Serialize for StrList<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(item.as_ref())?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_take_the_fast_path_to_the_same_values() {
        for p in Priority::ALL {
            assert_eq!(parse_priority(p.as_str()), Ok(p));
            assert_eq!(parse_priority(&p.as_str().to_uppercase()), Ok(p));
        }
        for st in Status::ALL {
            assert_eq!(parse_status(st.as_str()), Ok(st));
            assert_eq!(parse_status(&st.as_str().replace('_', " ")), Ok(st));
        }
        assert_eq!(parse_priority("highest"), Ok(Priority::Critical));
        assert!(parse_priority("urgent").is_err());
        assert!(parse_status("later").is_err());
    }

    #[test]
    fn field_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        assert_eq!(Field::from_name("Title"), None);
    }

    #[test]
    fn line_column_counts_characters_not_bytes() {
        let text = "ab\nçé x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        // `x` is after two two-byte characters and a space.
        assert_eq!(line_column(text, 8), (2, 4));
        // Inside a character: moved back to its start.
        assert_eq!(line_column(text, 4), (2, 1));
        assert_eq!(line_column(text, 99), (3, 1));
        assert_eq!(line_start(text, 2), 3);
        assert_eq!(line_start(text, 9), text.len());
    }

    #[test]
    fn line_counter_counts_forward_and_looks_back() {
        let text = "a\nb\nc\nd\n".repeat(40);
        let mut lines = LineCounter::new(&text);
        assert_eq!(lines.line_of(0), 1);
        assert_eq!(lines.line_of(2), 2);
        assert_eq!(lines.line_of(150), 76);
        assert_eq!(lines.line_of(6), 4);
        assert_eq!(lines.line_of(151), 76);
        assert_eq!(lines.line_of(152), 77);
        assert_eq!(lines.line_of(10_000), 161);
        assert_eq!(count_newlines(text.as_bytes()), 160);
    }
}
