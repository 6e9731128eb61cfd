//! [`MarkdownDocument`]: a Markdown file edited in place, one task's lines at a time.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::items::{ItemSpan, continuation_prefix, first_line_ending, line_ending_at};
use super::line::{self, BLOCK_ID, Form, Key, STATUS_CHAR, Token, emoji_of_extra, sub};
use super::read::{Read, read};
use super::write::{self, checkbox_char, has_value, separate, write_field, write_title};
use crate::error::Error;
use crate::format::ids::{Draft, placeholder_id, resolve_ids};
use crate::format::kind::Format;
use crate::format::place::Position;
use crate::task::{Status, Task, TaskId};

/// A Markdown task list kept as text and edited in place.
///
/// Parsing keeps, for every task, the byte span of its lines. An edit rewrites only
/// the lines of the task it changes: every other byte of the file (headings, prose,
/// code blocks, blank lines, line endings, the `X`/`x` of other checkboxes, metadata
/// the model has no field for) stays as it was.
///
/// ```
/// use ssot_core::format::markdown::MarkdownDocument;
/// use ssot_core::Status;
///
/// let mut doc = MarkdownDocument::parse("# Plan\r\n\r\n- [ ] Draft 🆔 d 📅 2026-03-01\r\n- [X] Outline\r\n")?;
/// doc.set_status("d", Status::InProgress)?;
/// doc.set_title("d", "Draft the plan")?;
/// assert_eq!(
///     doc.as_str(),
///     "# Plan\r\n\r\n- [/] Draft the plan 🆔 d 📅 2026-03-01\r\n- [X] Outline\r\n"
/// );
/// // The state machine is enforced: a blocked task cannot be done.
/// doc.set_status("d", Status::Blocked)?;
/// assert!(doc.set_status("d", Status::Done).is_err());
/// assert_eq!(doc.get("d").map(|t| t.status()), Some(Status::Blocked));
/// # Ok::<(), ssot_core::Error>(())
/// ```
///
/// # Costs
///
/// With n tasks in a file of N bytes:
///
/// | operation | cost |
/// |---|---|
/// | [`parse`](MarkdownDocument::parse) | one parse of the file, O(N), plus an id index, O(n) |
/// | [`tasks`](MarkdownDocument::tasks), [`get`](MarkdownDocument::get), [`as_str`](MarkdownDocument::as_str) | O(1) (`get` is a hash lookup) |
/// | [`set_status`](MarkdownDocument::set_status) | O(1) when the checkbox character keeps its byte length (always, between the five standard characters): one byte rewritten in place. Otherwise one `String::replace_range`, a move of the rest of the file, O(N), plus shifting the spans of later tasks, O(n) |
/// | [`set_title`](MarkdownDocument::set_title), [`update`](MarkdownDocument::update) | re-reading and rewriting the task's own lines, O(line), then one `replace_range`, O(N) (a move of the rest of the file), and shifting later spans, O(n), both skipped when the lines keep their length; a change of id also re-derives the ids of the tasks without one, O(n) |
///
/// Nothing is re-parsed or re-rendered beyond the task's own lines, except in a file
/// with a lone `\r` line ending (old Mac style): there, whether a line opens a block
/// can depend on the text after the `\r`, so every edit also re-reads the whole
/// document, O(N), and an edit that would change which other lines are tasks is
/// refused with [`Error::Unrepresentable`] and undone.
#[derive(Debug, Clone)]
pub struct MarkdownDocument {
    text: String,
    tasks: Vec<Task>,
    entries: Vec<Entry>,
    index: HashMap<TaskId, usize>,
    /// Whether a line ends in a lone `\r`; see [`MarkdownDocument::checked`].
    lone_cr: bool,
    /// Whether the text holds `%%`, an Obsidian comment marker; see
    /// [`MarkdownDocument::checked`]. Edits never add one (titles escape `%%`, other
    /// values refuse it).
    comments: bool,
}

/// Where one task's lines are (byte offsets into `text`), and whether its line
/// gives its id.
#[derive(Debug, Clone, Copy)]
struct Entry {
    line_start: usize,
    status_at: usize,
    rest_start: usize,
    line_end: usize,
    para_end: usize,
    quote_depth: usize,
    explicit_id: bool,
}

impl Entry {
    fn new(span: &ItemSpan, explicit_id: bool) -> Entry {
        Entry {
            line_start: span.line_start,
            status_at: span.status_at,
            rest_start: span.rest_start,
            line_end: span.line_end,
            para_end: span.para_end,
            quote_depth: span.quote_depth,
            explicit_id,
        }
    }

    /// Moves every offset at or after `edit_end` by `added - removed` bytes.
    fn shift(&mut self, edit_end: usize, removed: usize, added: usize) {
        for at in [
            &mut self.line_start,
            &mut self.status_at,
            &mut self.rest_start,
            &mut self.line_end,
            &mut self.para_end,
        ] {
            if *at >= edit_end {
                // `*at >= edit_end >= removed`: saturation never happens.
                *at = at.saturating_sub(removed) + added;
            }
        }
    }
}

/// The error for a span that no longer fits the text: a bug, reported rather than
/// turned into a panic.
fn stale(task: &Task) -> Error {
    Error::Write {
        format: Format::Markdown,
        message: format!(
            "the document's record of where task `{}` is no longer matches its text",
            task.id
        ),
    }
}

impl MarkdownDocument {
    /// Parses `text`, keeping it for in-place edits.
    ///
    /// Reads the same tasks as [`parse`](super::parse).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] as for [`parse`](super::parse).
    pub fn parse(text: impl Into<String>) -> Result<MarkdownDocument, Error> {
        let text = text.into();
        let Read {
            tasks,
            spans,
            explicit_ids,
        } = read(&text)?;
        let entries: Vec<Entry> = spans
            .iter()
            .zip(explicit_ids)
            .map(|(s, e)| Entry::new(s, e))
            .collect();
        let index = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let lone_cr = text
            .as_bytes()
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'));
        let comments = text.contains("%%");
        Ok(MarkdownDocument {
            text,
            tasks,
            entries,
            index,
            lone_cr,
            comments,
        })
    }

    /// The tasks, in document order.
    #[must_use]
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// The task with id `id`, if there is one. O(1).
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Task> {
        self.index.get(id).and_then(|&i| self.tasks.get(i))
    }

    /// The document's text, with every edit so far applied.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The document's text, with every edit so far applied.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }

    /// Runs `edit`, and in a document with a lone `\r` line ending or an Obsidian
    /// `%%` comment also checks that the whole document still reads as the edited
    /// tasks, undoing the edit if not.
    ///
    /// With lone `\r` endings, whether a line such as a fence opens a block can depend
    /// on the text after the `\r`; and rewriting a task line that holds a `%%` (its
    /// title, say) changes how the comment markers after it pair up. Either way
    /// rewriting one line could change which other lines are tasks. Such files are
    /// rare; for them an edit costs a copy and a parse of the document, O(N). Every
    /// other document skips the check.
    fn checked(
        &mut self,
        id: &str,
        edit: impl FnOnce(&mut MarkdownDocument) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !self.lone_cr && !self.comments {
            return edit(self);
        }
        let before = self.clone();
        edit(self)?;
        match read(&self.text) {
            Ok(read) if read.tasks == self.tasks => Ok(()),
            _ => {
                *self = before;
                Err(Error::Unrepresentable {
                    format: Format::Markdown,
                    id: TaskId::new(id)?,
                    field: "title",
                    reason: if self.lone_cr {
                        "in a file with lone carriage-return line endings this edit would \
                         change which other lines are tasks; convert the line endings to \
                         `\\n` or `\\r\\n` first"
                    } else {
                        "this edit would change how the file's Obsidian `%%` comments pair \
                         up, and so which other lines are tasks; edit the comment markers \
                         by hand"
                    }
                    .to_owned(),
                })
            }
        }
    }

    fn position(&self, id: &str) -> Result<usize, Error> {
        match self.index.get(id) {
            Some(&i) => Ok(i),
            None => Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            }),
        }
    }

    /// Moves task `id` to status `to` through [`Task::transition`], rewriting only
    /// the character between its checkbox's brackets: ` ` pending, `/` in progress,
    /// `x` done, `h` blocked, `-` cancelled. A task already in status `to` is left as
    /// it is (a `[X]` stays `[X]`). Moving a task with an unknown checkbox character
    /// out of pending drops its `status_char`.
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`] (or [`Error::InvalidId`] when `id` cannot be an id);
    /// [`Error::IllegalTransition`] when the state machine forbids the change. On
    /// error nothing changes.
    pub fn set_status(&mut self, id: &str, to: Status) -> Result<(), Error> {
        self.checked(id, |doc| doc.set_status_inner(id, to))
    }

    fn set_status_inner(&mut self, id: &str, to: Status) -> Result<(), Error> {
        let i = self.position(id)?;
        let (Some(task), Some(entry)) = (self.tasks.get_mut(i), self.entries.get(i).copied())
        else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        let from = task.status();
        let old_char = self
            .text
            .get(entry.status_at..)
            .and_then(|s| s.chars().next());
        let Some(old_char) = old_char else {
            return Err(stale(task));
        };
        task.transition(to)?;
        if from == to {
            return Ok(());
        }
        if to != Status::Pending {
            task.extra.shift_remove(STATUS_CHAR);
        }
        let mut buf = [0u8; 4];
        let new = checkbox_char(task).encode_utf8(&mut buf);
        let end = entry.status_at + old_char.len_utf8();
        self.text.replace_range(entry.status_at..end, new);
        let added = new.len();
        if added != old_char.len_utf8() {
            for e in self.entries.get_mut(i..).unwrap_or_default() {
                e.shift(end, old_char.len_utf8(), added);
            }
        }
        Ok(())
    }

    /// Sets the title of task `id`; see [`update`](MarkdownDocument::update).
    ///
    /// A task whose line gives no id has an id derived from its title; so that the
    /// id stays the same, the line then gets an explicit id (`🆔 t1a2b3c4d`, or
    /// `[id:: ...]` on a Dataview line).
    ///
    /// # Errors
    ///
    /// As for [`update`](MarkdownDocument::update); for example
    /// [`Error::Unrepresentable`] for a title with a line break.
    pub fn set_title(&mut self, id: &str, title: &str) -> Result<(), Error> {
        self.checked(id, |doc| doc.set_title_inner(id, title))
    }

    fn set_title_inner(&mut self, id: &str, title: &str) -> Result<(), Error> {
        self.update_inner(id, |t| title.clone_into(&mut t.title))
    }

    /// Applies `f` to a copy of task `id` and writes the result back to that task's
    /// lines.
    ///
    /// Only what changed is rewritten: the checkbox character if the status changed,
    /// the title if it changed, the metadata tokens of the fields that changed (in
    /// the form, emoji or Dataview, the token already used), new tokens in the form
    /// the line mostly uses, and the description lines if the description changed.
    /// Every other token (dates, recurrences, block ids, unknown Dataview fields) is
    /// kept byte for byte, and so is the rest of the file.
    ///
    /// A status change made by `f` is checked against the state machine as if made
    /// with [`Task::transition`]; moving out of pending drops an unknown
    /// `status_char`. Changing the id, or the title of a task whose line gives no id,
    /// writes the id explicitly.
    ///
    /// ```
    /// use ssot_core::format::markdown::MarkdownDocument;
    /// use ssot_core::{Priority, Tag};
    ///
    /// let mut doc = MarkdownDocument::parse(
    ///     "- [ ] Pay rent [id:: rent] [due:: 2026-02-01] [priority:: low] (see:: bank)\n",
    /// )?;
    /// let home = Tag::new("home")?;
    /// doc.update("rent", |t| {
    ///     t.priority = Priority::High;
    ///     t.tags.push(home);
    /// })?;
    /// assert_eq!(
    ///     doc.as_str(),
    ///     "- [ ] Pay rent [id:: rent] [due:: 2026-02-01] [priority:: high] (see:: bank) #home\n"
    /// );
    /// # Ok::<(), ssot_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// On any error nothing changes:
    /// - [`Error::TaskNotFound`] (or [`Error::InvalidId`]) when there is no task `id`;
    /// - [`Error::IllegalTransition`] when `f` changed the status illegally;
    /// - [`Error::IdConflict`] when `f` gave the task an id another task has, or one
    ///   that would change the derived id of a task without an explicit id;
    /// - [`Error::Unrepresentable`] when the task no longer fits Markdown (see the
    ///   [module documentation](super)).
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut Task)) -> Result<(), Error> {
        self.checked(id, |doc| doc.update_inner(id, f))
    }

    fn update_inner(&mut self, id: &str, f: impl FnOnce(&mut Task)) -> Result<(), Error> {
        let i = self.position(id)?;
        let (Some(old), Some(entry)) = (self.tasks.get(i), self.entries.get(i).copied()) else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        let mut new = old.clone();
        f(&mut new);
        if new.status() != old.status() {
            Task::new(old.id.clone(), String::new())
                .with_status(old.status())
                .transition(new.status())?;
            if new.status() != Status::Pending {
                new.extra.shift_remove(STATUS_CHAR);
            }
        }
        if new == *old {
            return Ok(());
        }
        let id_changed = new.id != old.id;
        if id_changed {
            if self.index.contains_key(new.id.as_str()) {
                return Err(Error::IdConflict {
                    id: new.id.clone(),
                    reason: "another task in this document already has this id; choose another",
                });
            }
            self.check_derived_ids_kept(i, &new.id)?;
        }
        write::check(&new)?;
        let explicit = entry.explicit_id || id_changed || new.title != old.title;
        let Some(line) = self.text.get(entry.line_start..entry.line_end) else {
            return Err(stale(old));
        };
        let mut rewritten = None;
        let mut differing = "title";
        // First with the title's text as it is; if the line then reads back
        // differently (its end now looks like metadata), with the title re-escaped.
        for verbatim_title in [true, false] {
            let candidate = rewrite_line(line, &entry, old, &new, explicit, verbatim_title);
            let mut read = line::blank_task(candidate.status);
            let result = line::read_line(
                &candidate.text,
                candidate.rest_start,
                candidate.status,
                &mut read,
            );
            match result.map(|_| differing_field(&read, &new, explicit)) {
                Ok(None) => {
                    rewritten = Some(candidate);
                    break;
                }
                Ok(Some(field)) => differing = field,
                Err(_) => {}
            }
        }
        let Some(candidate) = rewritten else {
            return Err(Error::Unrepresentable {
                format: Format::Markdown,
                id: new.id.clone(),
                field: differing,
                reason: "the rewritten line would not read back as this task".to_owned(),
            });
        };
        let mut replacement = candidate.text;
        let line_len = replacement.len();
        let (end, desc_len) = if new.description == old.description {
            (
                entry.line_end,
                entry.para_end.saturating_sub(entry.line_end),
            )
        } else {
            let prefix = continuation_prefix(sub(
                line,
                0,
                entry.status_at.saturating_sub(entry.line_start + 1),
            ));
            let eol = line_ending_at(&self.text, entry.line_end)
                .unwrap_or_else(|| first_line_ending(&self.text));
            let start = replacement.len();
            if !new.description.is_empty() {
                for l in new.description.split('\n') {
                    replacement.push_str(eol);
                    replacement.push_str(&prefix);
                    replacement.push_str(l);
                }
            }
            let region = sub(&replacement, start, replacement.len());
            if line::read_description(region, entry.quote_depth) != new.description {
                return Err(Error::Unrepresentable {
                    format: Format::Markdown,
                    id: new.id.clone(),
                    field: "description",
                    reason: "the rewritten lines would not read back as this description"
                        .to_owned(),
                });
            }
            (entry.para_end, replacement.len() - start)
        };
        if self.text.get(entry.line_start..end).is_none() {
            return Err(stale(old));
        }
        let old_id = old.id.clone();
        self.text.replace_range(entry.line_start..end, &replacement);
        let removed = end - entry.line_start;
        if removed != replacement.len() {
            for e in self.entries.get_mut(i + 1..).unwrap_or_default() {
                e.shift(end, removed, replacement.len());
            }
        }
        if let Some(e) = self.entries.get_mut(i) {
            e.status_at = entry.line_start + candidate.status_at;
            e.rest_start = entry.line_start + candidate.rest_start;
            e.line_end = entry.line_start + line_len;
            e.para_end = e.line_end + desc_len;
            e.explicit_id = explicit;
        }
        if id_changed {
            self.index.remove(&old_id);
            self.index.insert(new.id.clone(), i);
        }
        if let Some(t) = self.tasks.get_mut(i) {
            *t = new;
        }
        Ok(())
    }

    /// Checks that giving task `i` the explicit id `new_id` leaves the derived id of
    /// every task without an explicit id as it is, so that a re-read of the file
    /// gives the same ids.
    fn check_derived_ids_kept(&self, i: usize, new_id: &TaskId) -> Result<(), Error> {
        let drafts = self
            .tasks
            .iter()
            .zip(&self.entries)
            .enumerate()
            .map(|(j, (t, e))| {
                let (task, explicit) = if j == i {
                    (Task::new(new_id.clone(), String::new()), true)
                } else if e.explicit_id {
                    (Task::new(t.id.clone(), String::new()), true)
                } else {
                    (Task::new(placeholder_id(), t.title.clone()), false)
                };
                let mut d = Draft::new(task, j + 1);
                d.explicit = explicit;
                d
            })
            .collect();
        let derived = resolve_ids(Format::Markdown, drafts)?;
        let moved = self
            .tasks
            .iter()
            .zip(&derived)
            .zip(&self.entries)
            .enumerate()
            .any(|(j, ((t, d), e))| j != i && !e.explicit_id && t.id != d.id);
        if moved {
            return Err(Error::IdConflict {
                id: new_id.clone(),
                reason: "this change would alter the derived id of another task with the same title; give that task an explicit id first",
            });
        }
        Ok(())
    }
}

/// A rewritten first line, with where its checkbox character and text start.
struct Rewritten {
    text: String,
    status: char,
    status_at: usize,
    rest_start: usize,
}

/// The keys a line already has tokens for. A set, not a list: a line may hold
/// thousands of fields, and looking each one up must not be linear.
#[derive(Default)]
struct Handled<'a> {
    fields: u16,
    extras: HashSet<&'a str>,
}

impl<'a> Handled<'a> {
    fn insert(&mut self, key: Key<'a>) {
        match key {
            Key::Extra(k) => {
                self.extras.insert(k);
            }
            other => self.fields |= other.bit(),
        }
    }

    fn contains(&self, key: Key<'_>) -> bool {
        match key {
            Key::Extra(k) => self.extras.contains(k),
            other => self.fields & other.bit() != 0,
        }
    }
}

/// What to do with an existing token.
enum Action {
    Keep,
    Rewrite,
    Drop,
}

/// The form a line mostly uses for the fields that have both.
fn line_form(tokens: &[Token<'_>]) -> Form {
    let (mut emoji, mut dataview) = (0, 0);
    for t in tokens {
        let both = match t.key {
            Key::Id | Key::Dependencies | Key::Priority | Key::Estimate => true,
            Key::Extra(k) => emoji_of_extra(k).is_some(),
            _ => false,
        };
        if both {
            match t.form {
                Form::Emoji => emoji += 1,
                Form::Dataview => dataview += 1,
            }
        }
    }
    if dataview > emoji {
        Form::Dataview
    } else {
        Form::Emoji
    }
}

fn same_field(old: &Task, new: &Task, key: Key<'_>) -> bool {
    match key {
        Key::Id => old.id == new.id,
        Key::Dependencies => old.dependencies == new.dependencies,
        Key::Priority => old.priority == new.priority,
        Key::Estimate => old.estimated_time == new.estimated_time,
        Key::Category => old.category == new.category,
        Key::CreatedAt => old.created_at == new.created_at,
        Key::UpdatedAt => old.updated_at == new.updated_at,
        Key::ActualTime => old.actual_time == new.actual_time,
        Key::Tag => old.tags == new.tags,
        Key::Extra(k) => old.extra.get(k) == new.extra.get(k),
    }
}

/// Builds the new first line of a task from its old `line`.
fn rewrite_line(
    line: &str,
    entry: &Entry,
    old: &Task,
    new: &Task,
    explicit: bool,
    verbatim_title: bool,
) -> Rewritten {
    let status_rel = entry.status_at.saturating_sub(entry.line_start);
    let rest_rel = entry.rest_start.saturating_sub(entry.line_start);
    let old_char = sub(line, status_rel, line.len())
        .chars()
        .next()
        .unwrap_or(' ');
    let status = if new.status() == Status::Pending
        && matches!(new.extra.get(STATUS_CHAR), Some(Value::String(_)))
    {
        checkbox_char(new)
    } else if line::status_of(old_char) == Some(new.status()) {
        old_char
    } else {
        checkbox_char(new)
    };
    let (tokens, scan_end) = line::tokens(line, rest_rel);
    let region = sub(line, rest_rel, scan_end);
    let t0 = scan_end - line::trim_blank_start(region).len();
    let t1 = (rest_rel + line::trim_blank_end(region).len()).max(t0);
    let form = line_form(&tokens);

    let mut out = String::with_capacity(line.len() + 32);
    out.push_str(sub(line, 0, status_rel));
    out.push(status);
    let rest_start = out.len() + 1;
    out.push_str(sub(line, status_rel + old_char.len_utf8(), t0));
    if verbatim_title && new.title == old.title {
        out.push_str(sub(line, t0, t1));
    } else if !new.title.is_empty() {
        separate(&mut out);
        write_title(&mut out, &new.title);
    }

    let mut handled = Handled::default();
    // Compared once: a line may hold very many tags.
    let tags_same = same_field(old, new, Key::Tag);
    let mut tags_written = false;
    let mut missing_written = false;
    let mut cursor = t1;
    for tok in &tokens {
        if tok.key == Key::Extra(BLOCK_ID) && !missing_written {
            write_missing(&mut out, new, explicit, form, &handled);
            missing_written = true;
        }
        let action = match tok.key {
            Key::Tag if tags_same => Action::Keep,
            Key::Tag => {
                if tags_written || !has_value(new, Key::Tag) {
                    Action::Drop
                } else {
                    tags_written = true;
                    Action::Rewrite
                }
            }
            key if same_field(old, new, key) => Action::Keep,
            key if has_value(new, key) => Action::Rewrite,
            _ => Action::Drop,
        };
        let gap = sub(line, cursor, tok.start);
        cursor = tok.end;
        match action {
            Action::Keep => {
                out.push_str(gap);
                separate(&mut out);
                out.push_str(sub(line, tok.start, tok.end));
            }
            Action::Rewrite => {
                out.push_str(gap);
                write_field(&mut out, tok.key, tok.form, new);
            }
            Action::Drop => {}
        }
        handled.insert(tok.key);
    }
    if !missing_written {
        write_missing(&mut out, new, explicit, form, &handled);
    }
    if !handled.contains(Key::Extra(BLOCK_ID)) {
        write_field(&mut out, Key::Extra(BLOCK_ID), form, new);
    }
    out.push_str(sub(line, cursor.max(t1), line.len()));
    Rewritten {
        text: out,
        status,
        status_at: status_rel,
        rest_start,
    }
}

/// Writes the fields `new` has that the line has no token for, in the order a fresh
/// line writes them (the block id excepted: it must stay last).
fn write_missing(out: &mut String, new: &Task, explicit: bool, form: Form, handled: &Handled<'_>) {
    let mut put = |key: Key<'_>| {
        if !handled.contains(key) {
            write_field(out, key, form, new);
        }
    };
    if explicit {
        put(Key::Id);
    }
    for key in [Key::Dependencies, Key::Priority, Key::Estimate, Key::Tag] {
        put(key);
    }
    for key in new.extra.keys() {
        if key != STATUS_CHAR && key != BLOCK_ID {
            put(Key::Extra(key));
        }
    }
    for key in [
        Key::Category,
        Key::CreatedAt,
        Key::UpdatedAt,
        Key::ActualTime,
    ] {
        put(key);
    }
}

/// The first field in which the task read back from a line differs from the task
/// meant to be written, if any. The description is compared separately.
fn differing_field(read: &Task, want: &Task, explicit: bool) -> Option<&'static str> {
    if explicit && read.id != want.id {
        return Some("id");
    }
    let checks = [
        ("title", read.title == want.title),
        ("status", read.status() == want.status()),
        ("priority", read.priority == want.priority),
        ("dependencies", read.dependencies == want.dependencies),
        ("tags", read.tags == want.tags),
        ("estimated_time", read.estimated_time == want.estimated_time),
        ("actual_time", read.actual_time == want.actual_time),
        ("created_at", read.created_at == want.created_at),
        ("updated_at", read.updated_at == want.updated_at),
        ("category", read.category == want.category),
        ("extra", read.extra == want.extra),
    ];
    checks.iter().find(|(_, same)| !same).map(|(f, _)| *f)
}

// ---------------------------------------------------------------------------
// Adding and removing tasks.
// ---------------------------------------------------------------------------

impl MarkdownDocument {
    /// Adds `task` as a new checkbox line (and its description lines) at `at`:
    ///
    /// - [`Position::End`]: after the last task, at its nesting;
    /// - [`Position::After`]: after that task and its subtasks, at its nesting;
    /// - [`Position::Subtask`]: as that task's last subtask;
    /// - [`Position::UnderHeading`]: at the end of the tasks of the section under the
    ///   first ATX heading (`## Text`) with that text, or right under the heading
    ///   when the section has none.
    ///
    /// The line copies its neighbour's list marker and indentation, and the form its
    /// neighbour's metadata uses (emoji, or Dataview `[key:: value]`); the id is
    /// always written. The whole document is then read again (O(N)) and must give
    /// the tasks as before with this one in its place; a new line can change the
    /// block structure around it (a lazy continuation, a list that becomes loose), so
    /// reading only the new line would not prove that.
    ///
    /// # Errors
    ///
    /// On any error nothing changes: [`Error::IdConflict`] for an id that is taken;
    /// [`Error::TaskNotFound`]; [`Error::Unrepresentable`] for a task Markdown cannot
    /// hold; [`Error::NotInPlace`] for a heading that is not there, or a line that would
    /// not read back in its place.
    pub fn insert(&mut self, task: Task, at: Position) -> Result<(), Error> {
        if self.index.contains_key(task.id.as_str()) {
            return Err(Error::IdConflict {
                id: task.id.clone(),
                reason: "another task in this document already has this id; choose another",
            });
        }
        write::check(&task)?;
        let n = self.entries.len();
        // `anchor`: the task whose style is copied; `pos`: the end of the line after
        // which the new lines go; `slot`: the new task's index; `nested`: a subtask.
        let (anchor, pos, slot, nested) = match &at {
            Position::End => match self.entries.last() {
                Some(last) => (Some(n - 1), last.para_end, n, false),
                None => (None, self.text.len(), 0, false),
            },
            Position::After(id) | Position::Subtask(id) => {
                let i = self.position(id.as_str())?;
                let last = self.last_descendant(i);
                let end = self.entries.get(last).map_or(0, |e| e.para_end);
                (Some(i), end, last + 1, matches!(at, Position::Subtask(_)))
            }
            Position::UnderHeading(heading) => {
                let (line_end, section_end) = self.section(heading)?;
                let inside: Vec<usize> = (0..n)
                    .filter(|&j| {
                        self.entries
                            .get(j)
                            .is_some_and(|e| e.line_start > line_end && e.line_start < section_end)
                    })
                    .collect();
                match inside.last() {
                    Some(&j) => (
                        Some(j),
                        self.entries.get(j).map_or(line_end, |e| e.para_end),
                        j + 1,
                        false,
                    ),
                    None => {
                        let slot = (0..n)
                            .find(|&j| self.entries.get(j).is_some_and(|e| e.line_start > line_end))
                            .unwrap_or(n);
                        (None, line_end, slot, false)
                    }
                }
            }
        };
        let anchor_entry = anchor.and_then(|a| self.entries.get(a)).copied();
        let (prefix, form) = match anchor_entry {
            Some(e) => {
                let line = sub(&self.text, e.line_start, e.line_end);
                let marker = sub(line, 0, e.status_at.saturating_sub(e.line_start + 1));
                let (tokens, _) = line::tokens(line, e.rest_start.saturating_sub(e.line_start));
                let form = line_form(&tokens);
                let prefix = if nested {
                    let child = continuation_prefix(marker);
                    let bullet = marker.trim_start_matches([' ', '\t', '>']);
                    format!("{child}{bullet}")
                } else {
                    marker.to_owned()
                };
                (prefix, form)
            }
            None => ("- ".to_owned(), Form::Emoji),
        };
        let eol = line_ending_at(&self.text, pos).unwrap_or_else(|| first_line_ending(&self.text));
        let mut new_lines = String::new();
        new_lines.push_str(eol);
        new_lines.push_str(&prefix);
        new_lines.push('[');
        new_lines.push(checkbox_char(&task));
        new_lines.push(']');
        if !task.title.is_empty() {
            new_lines.push(' ');
            write_title(&mut new_lines, &task.title);
        }
        for key in [
            Key::Id,
            Key::Dependencies,
            Key::Priority,
            Key::Estimate,
            Key::Tag,
        ] {
            write_field(&mut new_lines, key, form, &task);
        }
        for key in task.extra.keys() {
            if key != STATUS_CHAR && key != BLOCK_ID {
                write_field(&mut new_lines, Key::Extra(key), form, &task);
            }
        }
        for key in [
            Key::Category,
            Key::CreatedAt,
            Key::UpdatedAt,
            Key::ActualTime,
        ] {
            write_field(&mut new_lines, key, form, &task);
        }
        write_field(&mut new_lines, Key::Extra(BLOCK_ID), form, &task);
        if !task.description.is_empty() {
            let cont = continuation_prefix(&prefix);
            for l in task.description.split('\n') {
                new_lines.push_str(eol);
                new_lines.push_str(&cont);
                new_lines.push_str(l);
            }
        }
        let pos = pos.min(self.text.len());
        // At the start of a line (an empty document, or one whose last line is ended),
        // the line break goes after the new lines instead of before.
        let at_line_start =
            pos == 0 || matches!(self.text.as_bytes().get(pos - 1), Some(b'\n' | b'\r'));
        let new_lines = if at_line_start {
            format!("{}{eol}", new_lines.trim_start_matches(['\r', '\n']))
        } else {
            new_lines
        };
        let mut text = self.text.clone();
        if !text.is_char_boundary(pos) {
            return Err(stale(&task));
        }
        text.insert_str(pos, &new_lines);
        let mut expected = self.tasks.clone();
        expected.insert(slot.min(expected.len()), task.clone());
        self.replace_checked(
            text,
            &expected,
            &task.id,
            "the new line would not read back as this task in its place",
        )
    }

    /// Removes task `id`'s lines (its checkbox line and description lines) and returns
    /// it. Other tasks are not changed: a task that depends on it keeps the id in its
    /// `dependencies`.
    ///
    /// # Errors
    ///
    /// [`Error::TaskNotFound`]; [`Error::NotInPlace`] when the task has subtasks
    /// (remove or move them first: removing the parent would re-nest them) or when
    /// the document would then read differently (a derived id of a task with the same
    /// title would change); nothing changes.
    pub fn remove(&mut self, id: &str) -> Result<Task, Error> {
        let i = self.position(id)?;
        let Some(entry) = self.entries.get(i).copied() else {
            return Err(Error::TaskNotFound {
                id: TaskId::new(id)?,
            });
        };
        if self.last_descendant(i) != i {
            return Err(self.not_in_place(
                entry.line_start,
                "the task has subtasks; remove or move them first",
            ));
        }
        let end = match line_ending_at(&self.text, entry.para_end) {
            Some(eol) => entry.para_end + eol.len(),
            None => entry.para_end,
        };
        let mut text = self.text.clone();
        if text.get(entry.line_start..end).is_none() {
            return Err(stale(
                self.tasks
                    .get(i)
                    .unwrap_or(&Task::new(TaskId::new(id)?, "")),
            ));
        }
        text.replace_range(entry.line_start..end, "");
        let mut expected = self.tasks.clone();
        let removed = expected.remove(i);
        self.replace_checked(
            text,
            &expected,
            &removed.id,
            "without this task the document would read differently",
        )?;
        Ok(removed)
    }

    /// The last task nested under task `i` (or `i` itself): the tasks after it whose
    /// checkbox sits deeper.
    fn last_descendant(&self, i: usize) -> usize {
        let depth = |e: &Entry| sub(&self.text, e.line_start, e.status_at).chars().count();
        let Some(own) = self.entries.get(i).map(depth) else {
            return i;
        };
        // Nested means deeper, with nothing in between that sits at the parent's
        // depth or less (a heading, a paragraph: the parent's list ended there).
        let inside = |from: usize, to: usize| {
            sub(&self.text, from, to).lines().all(|l| {
                l.trim().is_empty() || l.len() - l.trim_start_matches([' ', '\t']).len() > own
            })
        };
        let mut last = i;
        while let (Some(prev), Some(e)) = (self.entries.get(last), self.entries.get(last + 1)) {
            if depth(e) <= own || !inside(prev.para_end, e.line_start) {
                break;
            }
            last += 1;
        }
        last
    }

    /// The end of the line of the first ATX heading whose text is `heading`, and where
    /// its section ends (the next heading of the same or a higher level, or the end).
    fn section(&self, heading: &str) -> Result<(usize, usize), Error> {
        let mut at = 0;
        let mut found: Option<(usize, usize)> = None;
        for line in self.text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\r', '\n']);
            let trimmed = body.trim_start_matches(' ');
            let level = trimmed.chars().take_while(|&c| c == '#').count();
            let is_heading = (1..=6).contains(&level) && trimmed[level..].starts_with([' ', '\t'])
                || (level > 0 && level <= 6 && trimmed.len() == level);
            if is_heading {
                let text = trimmed[level..].trim().trim_end_matches('#').trim();
                match found {
                    Some((end, lvl)) if level <= lvl => return Ok((end, at)),
                    None if text == heading => found = Some((at + body.len(), level)),
                    _ => {}
                }
            }
            at += line.len();
        }
        match found {
            Some((end, _)) => Ok((end, self.text.len())),
            None => Err(self.not_in_place(0, &format!("no heading `{heading}` in the document"))),
        }
    }

    fn not_in_place(&self, at: usize, reason: &str) -> Error {
        let (line, column) = ssot_schema::lines::line_column(&self.text, at);
        Error::NotInPlace {
            format: Format::Markdown,
            line,
            column,
            reason: reason.to_owned(),
        }
    }

    /// Reads `text` whole and, when it gives exactly `expected`, makes it the
    /// document.
    fn replace_checked(
        &mut self,
        text: String,
        expected: &[Task],
        id: &TaskId,
        why: &str,
    ) -> Result<(), Error> {
        match MarkdownDocument::parse(text) {
            Ok(doc) if doc.tasks == expected => {
                *self = doc;
                Ok(())
            }
            _ => Err(self.not_in_place(
                self.index
                    .get(id)
                    .and_then(|&i| self.entries.get(i))
                    .map_or(0, |e| e.line_start),
                &format!("task `{id}`: {why}"),
            )),
        }
    }
}
