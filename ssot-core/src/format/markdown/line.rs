//! The grammar of one task line: the checkbox, the title and the trailing metadata
//! tokens, read from the end of the line backwards.
//!
//! Everything here works on one line of text and nothing else, so the editor can
//! re-read a line it has just written and check that it reads back as intended.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::Error;
use crate::format::ids::placeholder_id;
use crate::format::value::{parse_duration, parse_timestamp};
use crate::task::{Priority, Status, Tag, Task, TaskId};

/// U+FE0F VARIATION SELECTOR-16, which may follow any metadata emoji.
pub(super) const VS16: char = '\u{FE0F}';

/// The `extra` key of an unknown checkbox character.
pub(super) const STATUS_CHAR: &str = "status_char";
/// The `extra` key of an Obsidian block id (`^abc`).
pub(super) const BLOCK_ID: &str = "block_id";

/// Space or tab: the only characters CommonMark strips around inline content, and the
/// only ones that separate metadata tokens.
pub(super) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_blank_byte(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing spaces and tabs. (Blanks are ASCII, so this
/// works on bytes, which is faster than `str::trim_matches` on chars.)
pub(super) fn trim_blank(s: &str) -> &str {
    trim_blank_end(trim_blank_start(s))
}

/// `s` without leading spaces and tabs.
pub(super) fn trim_blank_start(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_blank_byte(b)).count();
    s.get(n..).unwrap_or_default()
}

/// `s` without trailing spaces and tabs.
pub(super) fn trim_blank_end(s: &str) -> &str {
    let n = s.bytes().rev().take_while(|&b| is_blank_byte(b)).count();
    s.get(..s.len() - n).unwrap_or_default()
}

fn has_blank(s: &str) -> bool {
    s.bytes().any(is_blank_byte)
}

/// Whether every comma-separated part of `b`, without surrounding blanks, is free of
/// blanks: one pass, no blank between two other bytes of a part.
fn is_comma_list(b: &[u8]) -> bool {
    // 0: before a part's first non-blank; 1: inside it; 2: blanks after it.
    let mut state = 0u8;
    for &c in b {
        state = match (c, state) {
            (b',', _) => 0,
            (b' ' | b'\t', 0) => 0,
            (b' ' | b'\t', _) => 2,
            (_, 2) => return false,
            _ => 1,
        };
    }
    true
}

/// `s.get(range)`, or `""` when the range is not valid for `s`.
pub(super) fn sub(s: &str, start: usize, end: usize) -> &str {
    s.get(start..end).unwrap_or_default()
}

/// The status a checkbox character stands for, or `None` for an unknown character
/// (read as pending, with the character kept under `status_char`).
pub(super) fn status_of(c: char) -> Option<Status> {
    match c {
        ' ' => Some(Status::Pending),
        'x' | 'X' => Some(Status::Done),
        '/' => Some(Status::InProgress),
        '-' => Some(Status::Cancelled),
        'h' => Some(Status::Blocked),
        _ => None,
    }
}

/// The checkbox character written for a status.
pub(super) fn char_of(status: Status) -> char {
    match status {
        Status::Pending => ' ',
        Status::InProgress => '/',
        Status::Done => 'x',
        Status::Blocked => 'h',
        Status::Cancelled => '-',
    }
}

/// Whether `c` may stand between `[` and `]` as an unknown status character.
pub(super) fn is_unknown_status_char(c: char) -> bool {
    status_of(c).is_none() && c != '\n' && c != '\r'
}

/// Which spelling a metadata token uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// Obsidian Tasks emoji (`🆔 a`, `⏫`, `#tag`, `^block`).
    Emoji,
    /// A Dataview inline field (`[id:: a]` or `(id:: a)`).
    Dataview,
}

/// What a metadata token sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key<'a> {
    Id,
    Dependencies,
    Priority,
    Estimate,
    Category,
    CreatedAt,
    UpdatedAt,
    ActualTime,
    Tag,
    /// A field the model has no place for, kept in `Task::extra` under this key.
    Extra(&'a str),
}

impl Key<'_> {
    /// A distinct bit for each model field a token can set (0 for extras), for sets
    /// of fields kept in a `u16`.
    pub(super) fn bit(&self) -> u16 {
        match self {
            Key::Id => 1,
            Key::Dependencies => 2,
            Key::Priority => 4,
            Key::Estimate => 8,
            Key::Category => 16,
            Key::CreatedAt => 32,
            Key::UpdatedAt => 64,
            Key::ActualTime => 128,
            Key::Tag => 256,
            Key::Extra(_) => 0,
        }
    }

    /// The task field named in error messages.
    pub(super) fn field(&self) -> &str {
        match self {
            Key::Id => "id",
            Key::Dependencies => "dependencies",
            Key::Priority => "priority",
            Key::Estimate => "estimated_time",
            Key::Category => "category",
            Key::CreatedAt => "created_at",
            Key::UpdatedAt => "updated_at",
            Key::ActualTime => "actual_time",
            Key::Tag => "tags",
            Key::Extra(k) => k,
        }
    }
}

/// The Dataview key of a model field, for the fields that have one.
pub(super) fn dataview_key(key: Key<'_>) -> Option<&'static str> {
    Some(match key {
        Key::Id => "id",
        Key::Dependencies => "dependsOn",
        Key::Priority => "priority",
        Key::Estimate => "estimate",
        Key::Category => "category",
        Key::CreatedAt => "created_at",
        Key::UpdatedAt => "updated_at",
        Key::ActualTime => "actual_time",
        Key::Tag | Key::Extra(_) => return None,
    })
}

/// The model field a Dataview key names; any other key is an extra.
fn key_of_dataview(key: &str) -> Key<'_> {
    match key {
        "id" => Key::Id,
        "dependsOn" => Key::Dependencies,
        "priority" => Key::Priority,
        "estimate" => Key::Estimate,
        "category" => Key::Category,
        "created_at" => Key::CreatedAt,
        "updated_at" => Key::UpdatedAt,
        "actual_time" => Key::ActualTime,
        other => Key::Extra(other),
    }
}

/// Whether `key` names a model field in Dataview form, or is reserved for the
/// checkbox character or the block id: such a key cannot be an extra.
pub(super) fn is_reserved_key(key: &str) -> bool {
    !matches!(key_of_dataview(key), Key::Extra(_)) || key == STATUS_CHAR || key == BLOCK_ID
}

/// The priority emoji, most urgent first.
pub(super) const PRIORITY_EMOJI: [(char, Priority); 5] = [
    ('🔺', Priority::Critical),
    ('⏫', Priority::High),
    ('🔼', Priority::Medium),
    ('🔽', Priority::Low),
    ('⏬', Priority::Lowest),
];

/// The priority a priority emoji stands for.
pub(super) fn priority_of_emoji(c: char) -> Option<Priority> {
    PRIORITY_EMOJI
        .iter()
        .find(|(e, _)| *e == c)
        .map(|&(_, p)| p)
}

/// The priority names the Obsidian Tasks plugin writes in Dataview form.
pub(super) fn dataview_priority(p: Priority) -> &'static str {
    match p {
        Priority::Critical => "highest",
        other => other.as_str(),
    }
}

/// What may follow a value-carrying emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueShape {
    /// One word without blanks (validated by the field: an id, a duration).
    Word,
    /// Ids separated by commas, with optional blanks around the commas.
    CommaList,
    /// `YYYY-MM-DD`.
    Date,
    /// The plugin's recurrence text: ASCII letters, digits, `,`, ` ` and `!`.
    Recurrence,
    /// ASCII letters (the plugin's on-completion action).
    Letters,
}

impl ValueShape {
    /// Whether `value` (not empty, no trailing blanks) has this shape.
    pub(super) fn accepts(self, value: &str) -> bool {
        if value.is_empty() {
            return false;
        }
        match self {
            ValueShape::Word => !has_blank(value),
            ValueShape::CommaList => is_comma_list(value.as_bytes()),
            ValueShape::Date => {
                let b = value.as_bytes();
                b.len() == 10
                    && b.iter().enumerate().all(|(i, &c)| {
                        if i == 4 || i == 7 {
                            c == b'-'
                        } else {
                            c.is_ascii_digit()
                        }
                    })
            }
            ValueShape::Recurrence => {
                trim_blank(value) == value
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ',' | ' ' | '!'))
            }
            ValueShape::Letters => value.bytes().all(|c| c.is_ascii_alphabetic()),
        }
    }
}

/// The emoji that carry a value, what they set, and what their value looks like.
pub(super) const VALUE_EMOJI: [(char, Key<'static>, ValueShape); 11] = [
    ('🆔', Key::Id, ValueShape::Word),
    ('⛔', Key::Dependencies, ValueShape::CommaList),
    ('⏱', Key::Estimate, ValueShape::Word),
    ('📅', Key::Extra("due"), ValueShape::Date),
    ('⏳', Key::Extra("scheduled"), ValueShape::Date),
    ('🛫', Key::Extra("start"), ValueShape::Date),
    ('➕', Key::Extra("created"), ValueShape::Date),
    ('✅', Key::Extra("completion"), ValueShape::Date),
    ('❌', Key::Extra("cancelled"), ValueShape::Date),
    ('🔁', Key::Extra("repeat"), ValueShape::Recurrence),
    ('🏁', Key::Extra("onCompletion"), ValueShape::Letters),
];

fn value_emoji(c: char) -> Option<(Key<'static>, ValueShape)> {
    VALUE_EMOJI
        .iter()
        .find(|(e, _, _)| *e == c)
        .map(|&(_, k, s)| (k, s))
}

/// The emoji and value shape of an extra key that has an emoji form.
pub(super) fn emoji_of_extra(key: &str) -> Option<(char, ValueShape)> {
    VALUE_EMOJI
        .iter()
        .find(|(_, k, _)| *k == Key::Extra(key))
        .map(|&(e, _, s)| (e, s))
}

/// Whether `s` is a valid tag (after the `#`): [`Tag::is_tag_char`], with a fast
/// path for ASCII.
fn is_tag(s: &str) -> bool {
    !s.is_empty()
        && (s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
            || s.chars().all(Tag::is_tag_char))
}

/// Whether `s` is an Obsidian block id (after the `^`).
pub(super) fn is_block_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `key` can be read as a Dataview key.
fn is_dataview_key(key: &str) -> bool {
    !key.is_empty() && !key.contains(|c: char| matches!(c, '[' | ']' | '(' | ')') || c.is_control())
}

/// The offset of the first `::` in `s` (as `str::find("::")`, without a substring
/// searcher's set-up cost on such short text).
fn find_double_colon(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    memchr::memchr_iter(b':', b).find(|&i| b.get(i + 1) == Some(&b':'))
}

/// Whether `key` can be written as a Dataview key and read back unchanged.
pub(super) fn is_writable_key(key: &str) -> bool {
    is_dataview_key(key) && trim_blank(key) == key && !key.contains(':')
}

/// Whether `value` can be written inside `[key:: value]` and read back unchanged:
/// one line, no surrounding blanks, no `%%` (an Obsidian comment marker), and square
/// brackets balanced.
pub(super) fn is_writable_value(value: &str) -> bool {
    // `%%` would open an Obsidian comment, hiding the rest of the line and beyond.
    if trim_blank(value) != value
        || value.bytes().any(|b| b == b'\n' || b == b'\r')
        || value.contains("%%")
    {
        return false;
    }
    let mut depth = 0usize;
    for b in value.bytes() {
        match b {
            b'[' => depth += 1,
            b']' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

/// One metadata token of a line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token<'a> {
    /// Byte range of the whole token within the line.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) key: Key<'a>,
    pub(super) form: Form,
    /// The value as written (trimmed); for a priority emoji, the emoji; for a tag,
    /// the tag without `#`; for a block id, the id without `^`.
    pub(super) value: &'a str,
    /// Byte offset of `value` within the line, for error columns.
    pub(super) value_at: usize,
}

/// Reads metadata tokens from the end of a line backwards.
///
/// Every token must start at `min` or right after a blank. Scanning stops at the
/// first piece of text that is not a token; what is left is the title.
pub(super) struct Scanner<'a> {
    line: &'a str,
    min: usize,
    end: usize,
    first: bool,
}

impl<'a> Scanner<'a> {
    /// A scanner of `line` whose tokens start at or after `min`.
    pub(super) fn new(line: &'a str, min: usize) -> Scanner<'a> {
        let min = min.min(line.len());
        Scanner {
            line,
            min,
            end: line.len(),
            first: true,
        }
    }

    /// Where the text not yet read as tokens ends.
    pub(super) fn end(&self) -> usize {
        self.end
    }

    /// The next token from the end, if the text before the tokens read so far ends
    /// with one.
    pub(super) fn next_token(&mut self) -> Option<Token<'a>> {
        let text = self.line.get(self.min..self.end)?;
        let e = self.min + trim_blank_end(text).len();
        if e == self.min {
            return None;
        }
        // Returned as it comes: no copy of the token through a `?`.
        let token = self.token_ending_at(e);
        if let Some(t) = &token {
            self.end = t.start;
            self.first = false;
        }
        token
    }

    /// Whether a token may start at byte `at`.
    fn starts_token(&self, at: usize) -> bool {
        at == self.min
            || (at > self.min
                && self
                    .line
                    .as_bytes()
                    .get(at - 1)
                    .is_some_and(|&b| is_blank_byte(b)))
    }

    fn token_ending_at(&self, e: usize) -> Option<Token<'a>> {
        let s = self.line.get(..e)?;
        let last = *s.as_bytes().last()?;
        if (last == b']' || last == b')')
            && let Some(t) = self.dataview(s, last)
        {
            return Some(t);
        }
        // A priority emoji, optionally followed by VS16 (both end in a non-ASCII byte).
        if last >= 0x80 {
            let mut chars = s.char_indices().rev();
            let (mut at, mut c) = chars.next()?;
            if c == VS16 {
                (at, c) = chars.next()?;
            }
            if at >= self.min && priority_of_emoji(c).is_some() && self.starts_token(at) {
                return Some(Token {
                    start: at,
                    end: e,
                    key: Key::Priority,
                    form: Form::Emoji,
                    value: sub(s, at, e),
                    value_at: at,
                });
            }
        }
        // The last word: a tag or a block id. Blanks are ASCII, so a byte search is
        // safe in UTF-8.
        let word_start = self.min
            + memchr::memrchr2(b' ', b'\t', s.as_bytes().get(self.min..e)?).map_or(0, |p| p + 1);
        let word = sub(s, word_start, e);
        if let Some(tag) = word.strip_prefix('#')
            && is_tag(tag)
            && self.starts_token(word_start)
        {
            return Some(Token {
                start: word_start,
                end: e,
                key: Key::Tag,
                form: Form::Emoji,
                value: tag,
                value_at: word_start + 1,
            });
        }
        // A block id is only one when nothing follows it.
        if self.first
            && let Some(id) = word.strip_prefix('^')
            && is_block_id(id)
            && self.starts_token(word_start)
        {
            return Some(Token {
                start: word_start,
                end: e,
                key: Key::Extra(BLOCK_ID),
                form: Form::Emoji,
                value: id,
                value_at: word_start + 1,
            });
        }
        self.value_token(s)
    }

    /// `[key:: value]` or `(key:: value)` ending `s`, with balanced brackets.
    fn dataview(&self, s: &'a str, close: u8) -> Option<Token<'a>> {
        let open = if close == b']' { b'[' } else { b'(' };
        let bytes = s.as_bytes();
        let mut depth = 0usize;
        let mut at = None;
        for i in (self.min..bytes.len()).rev() {
            let b = *bytes.get(i)?;
            if b == close {
                depth += 1;
            } else if b == open {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    at = Some(i);
                    break;
                }
            }
        }
        let at = at?;
        if !self.starts_token(at) {
            return None;
        }
        let inner = s.get(at + 1..s.len() - 1)?;
        let sep = find_double_colon(inner)?;
        let key = trim_blank(inner.get(..sep)?);
        if !is_dataview_key(key) {
            return None;
        }
        let raw_value = inner.get(sep + 2..)?;
        let value = trim_blank(raw_value);
        let value_at = at + 1 + sep + 2 + (raw_value.len() - trim_blank_start(raw_value).len());
        Some(Token {
            start: at,
            end: s.len(),
            key: key_of_dataview(key),
            form: Form::Dataview,
            value,
            value_at,
        })
    }

    /// An emoji with a value (`🆔 a`, `📅 2026-01-31`, ...) ending `s`: the value-carrying
    /// emoji nearest the end, if what follows it has the shape its field needs.
    fn value_token(&self, s: &'a str) -> Option<Token<'a>> {
        // Every value-carrying emoji is encoded starting with byte 0xE2 (U+2000 to
        // U+2FFF) or 0xF0 (U+10000 and up): look for those bytes, not for chars.
        let bytes = s.as_bytes();
        let mut end = bytes.len();
        let (at, emoji, key, shape) = loop {
            let at = self.min + memchr::memrchr2(0xE2, 0xF0, bytes.get(self.min..end)?)?;
            if let Some(c) = s.get(at..).and_then(|t| t.chars().next())
                && let Some((k, shape)) = value_emoji(c)
            {
                break (at, c, k, shape);
            }
            end = at;
        };
        if !self.starts_token(at) {
            return None;
        }
        let mut after = s.get(at + emoji.len_utf8()..)?;
        after = after.strip_prefix(VS16).unwrap_or(after);
        let value = trim_blank_start(after);
        if !shape.accepts(value) {
            return None;
        }
        Some(Token {
            start: at,
            end: s.len(),
            key,
            form: Form::Emoji,
            value,
            value_at: s.len() - value.len(),
        })
    }
}

/// The tokens of `line` after `min`, in line order, and where the title region ends.
pub(super) fn tokens(line: &str, min: usize) -> (Vec<Token<'_>>, usize) {
    let mut scanner = Scanner::new(line, min);
    let mut out = Vec::new();
    while let Some(t) = scanner.next_token() {
        out.push(t);
    }
    out.reverse();
    (out, scanner.end())
}

/// Where a title that is the whole of `s` would stop being a title: the start of a
/// token that ends `s`, if one does. Used to protect titles when writing.
pub(super) fn token_ending(s: &str) -> Option<usize> {
    Scanner::new(s, 0).next_token().map(|t| t.start)
}

/// A problem in one line: where (byte offset in the line), which field, what.
#[derive(Debug)]
pub(super) struct LineError {
    pub(super) at: usize,
    pub(super) field: String,
    pub(super) message: String,
}

impl LineError {
    fn new(at: usize, field: &str, message: impl Into<String>) -> LineError {
        LineError {
            at,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The status a checkbox character gives a task, and the character itself when it
/// is an unknown one (kept under `status_char`).
pub(super) fn read_status(c: char) -> (Status, Option<char>) {
    match status_of(c) {
        Some(s) => (s, None),
        None => (Status::Pending, Some(c)),
    }
}

/// A new task, as [`read_line`] expects it: a placeholder id and the status of the
/// checkbox character `c`.
pub(super) fn blank_task(c: char) -> Task {
    Task::new(placeholder_id(), String::new()).with_status(read_status(c).0)
}

/// Reads the task on `line`, whose checkbox holds `status` and whose text after the
/// checkbox's `]` starts at byte `rest`, into `task`, a [`blank_task`] of `status`
/// (filled in place: a task is large, and moving it costs). The id stays a
/// placeholder unless the line gives one, which the returned flag says; the
/// description is left empty.
pub(super) fn read_line(
    line: &str,
    rest: usize,
    status: char,
    task: &mut Task,
) -> Result<bool, LineError> {
    let mut seen = 0u16;
    let mut explicit_id = false;
    // Tokens arrive last first; extras are collected to be inserted in line order.
    let mut extras: Vec<(&str, &str, usize)> = Vec::new();
    let mut scanner = Scanner::new(line, rest);
    loop {
        // Used where it was returned: copying a token just written field by field
        // stalls on the stores (no store-to-load forwarding across them).
        let token = scanner.next_token();
        let Some(t) = token.as_ref() else {
            break;
        };
        apply(t, task, &mut seen, &mut extras)?;
        explicit_id |= t.key == Key::Id;
    }
    task.tags.reverse();
    task.title = decode_title(trim_blank(sub(line, rest, scanner.end()))).into_owned();
    if let Some(c) = read_status(status).1 {
        task.extra
            .insert(STATUS_CHAR.to_owned(), Value::String(c.to_string()));
    }
    for (k, v, at) in extras.into_iter().rev() {
        if task
            .extra
            .insert(k.to_owned(), Value::String(v.to_owned()))
            .is_some()
        {
            return Err(twice(at, k));
        }
    }
    Ok(explicit_id)
}

fn twice(at: usize, field: &str) -> LineError {
    LineError::new(
        at,
        field,
        format!("`{field}` is given twice on this line; keep one"),
    )
}

fn apply<'a>(
    t: &Token<'a>,
    task: &mut Task,
    seen: &mut u16,
    extras: &mut Vec<(&'a str, &'a str, usize)>,
) -> Result<(), LineError> {
    // A line may hold many tags; every other field once.
    let bit = if matches!(t.key, Key::Tag) {
        0
    } else {
        t.key.bit()
    };
    if *seen & bit != 0 {
        return Err(twice(t.start, t.key.field()));
    }
    *seen |= bit;
    // The field's name is only looked up for an error.
    let bad = |message: String| LineError::new(t.value_at, t.key.field(), message);
    match t.key {
        Key::Id => task.id = task_id(t.value).map_err(|e| bad(e.to_string()))?,
        Key::Dependencies => {
            if !trim_blank(t.value).is_empty() {
                for part in t.value.split(',') {
                    let part = trim_blank(part);
                    if part.is_empty() {
                        return Err(bad(format!(
                            "empty id in the dependency list `{}`; separate ids with single commas",
                            t.value
                        )));
                    }
                    task.dependencies
                        .push(task_id(part).map_err(|e| bad(e.to_string()))?);
                }
            }
        }
        Key::Priority => {
            let p = match t.form {
                Form::Emoji => t.value.chars().next().and_then(priority_of_emoji),
                Form::Dataview => Priority::from_name(t.value),
            };
            task.priority = p.ok_or_else(|| bad(Priority::unknown(t.value)))?;
        }
        Key::Estimate => task.estimated_time = Some(parse_duration(t.value).map_err(bad)?),
        Key::ActualTime => task.actual_time = Some(parse_duration(t.value).map_err(bad)?),
        Key::CreatedAt => task.created_at = Some(parse_timestamp(t.value).map_err(bad)?),
        Key::UpdatedAt => task.updated_at = Some(parse_timestamp(t.value).map_err(bad)?),
        Key::Category => t.value.clone_into(&mut task.category),
        Key::Tag => task
            .tags
            .push(Tag::new(t.value).map_err(|e| bad(e.to_string()))?),
        Key::Extra(k) => {
            if t.form == Form::Dataview && (k == STATUS_CHAR || k == BLOCK_ID) {
                return Err(LineError::new(
                    t.start,
                    k,
                    format!(
                        "`[{k}:: ...]` is reserved: the status character is the one in the checkbox and a block id is written `^id` at the end of the line"
                    ),
                ));
            }
            extras.push((k, t.value, t.start));
        }
    }
    Ok(())
}

/// `TaskId::new(s)`, with a fast path for the common all-ASCII id: the same check,
/// without decoding characters.
fn task_id(s: &str) -> Result<TaskId, Error> {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Ok(TaskId::unchecked(s.to_owned()))
    } else {
        TaskId::new(s)
    }
}

/// Whether a numeric character reference to `c` is decoded in a title. Whitespace and
/// control characters are not: a title never starts or ends with a blank nor holds a
/// line break.
fn decodes(c: char) -> bool {
    !c.is_whitespace() && !c.is_control()
}

/// The character a numeric character reference at the start of `s` (`&#35;`,
/// `&#x1F194;`) stands for, and its length.
fn char_reference(s: &str) -> Option<(char, usize)> {
    let body = s.strip_prefix("&#")?;
    let (digits, radix, skip) = match body.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16, 3),
        None => (body, 10, 2),
    };
    let len = digits
        .bytes()
        .take_while(|b| {
            if radix == 16 {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        })
        .count();
    let max = if radix == 16 { 6 } else { 7 };
    if len == 0 || len > max || digits.as_bytes().get(len) != Some(&b';') {
        return None;
    }
    let n = u32::from_str_radix(digits.get(..len)?, radix).ok()?;
    let c = char::from_u32(n).filter(|&c| decodes(c))?;
    Some((c, skip + len + 1))
}

/// The title a line's title text stands for: a backslash before ASCII punctuation is
/// dropped (a CommonMark escape), and a numeric character reference to a character
/// that is not whitespace or a control character is decoded.
pub(super) fn decode_title(raw: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'\\', b'&', raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        if c == '\\'
            && let Some(p) = rest.get(1..).and_then(|r| r.chars().next())
            && p.is_ascii_punctuation()
        {
            out.push(p);
            rest = rest.get(2..).unwrap_or_default();
            continue;
        }
        if c == '&'
            && let Some((d, len)) = char_reference(rest)
        {
            out.push(d);
            rest = rest.get(len..).unwrap_or_default();
            continue;
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    Cow::Owned(out)
}

/// Reads the description held by the continuation lines of a task's first
/// paragraph. `region` runs from the end of the task's first line (its line ending
/// included) to the end of the paragraph; each line loses its indentation, up to
/// `quote_depth` block-quote markers, and trailing blanks.
pub(super) fn read_description(region: &str, quote_depth: usize) -> String {
    let mut out = String::new();
    let mut rest = region;
    // Skip the first line's ending.
    rest = rest.strip_prefix('\r').unwrap_or(rest);
    rest = rest.strip_prefix('\n').unwrap_or(rest);
    let mut first = true;
    loop {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let mut line = trim_blank_start(sub(rest, 0, end));
        for _ in 0..quote_depth {
            match line.strip_prefix('>') {
                Some(l) => line = trim_blank_start(l),
                None => break,
            }
        }
        if !first {
            out.push('\n');
        }
        first = false;
        out.push_str(trim_blank_end(line));
        let after = rest.get(end..).unwrap_or_default();
        if after.is_empty() {
            break;
        }
        rest = match after.strip_prefix("\r\n") {
            Some(a) => a,
            None => after.get(1..).unwrap_or_default(),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Task {
        let rest = line.find(']').unwrap() + 1;
        let c = line[rest - 2..].chars().next().unwrap();
        let mut task = blank_task(c);
        read_line(line, rest, c, &mut task).unwrap();
        task
    }

    #[test]
    fn tokens_are_read_from_the_end_and_the_rest_is_the_title() {
        let t = read("- [ ] Ship #it now #a 🆔 x ⛔ a, b ⏫ ⏱ 1h30m #b 📅 2026-01-31 ^blk");
        assert_eq!(t.title, "Ship #it now");
        assert_eq!(t.id, "x");
        assert_eq!(t.dependencies, ["a", "b"]);
        assert_eq!(t.priority, Priority::High);
        assert_eq!(t.estimated_time, Some(std::time::Duration::from_secs(5400)));
        assert_eq!(t.tags, ["a", "b"]);
        assert_eq!(t.extra["due"], "2026-01-31");
        assert_eq!(t.extra["block_id"], "blk");
    }

    #[test]
    fn title_escapes_and_references_are_decoded() {
        assert_eq!(decode_title(r"a \#b \\ \q"), r"a #b \ \q");
        assert_eq!(
            decode_title("a &#x23EB; &#35; &#32; &#0; &#xZZ;"),
            "a ⏫ # &#32; &#0; &#xZZ;"
        );
    }

    #[test]
    fn description_lines_lose_indentation_and_quote_markers() {
        assert_eq!(read_description("\r\n  a  \r\n> > b\n  c", 2), "a\nb\nc");
        assert_eq!(read_description("\r  a\r  b", 0), "a\nb");
    }
}
