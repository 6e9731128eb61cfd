//! Writing tasks as Markdown lines, and deciding what Markdown cannot hold.

use std::fmt::Write as _;

use serde_json::Value;

use super::line::{
    self, BLOCK_ID, Form, Key, STATUS_CHAR, char_of, dataview_key, dataview_priority,
    emoji_of_extra, is_blank, is_block_id, is_reserved_key, is_unknown_status_char,
    is_writable_key, is_writable_value, trim_blank,
};
use crate::error::Error;
use crate::format::ids::check_unique_ids;
use crate::format::kind::Format;
use crate::format::list::TaskList;
use crate::format::value::format_duration;
use crate::task::{Priority, Status, Task};

/// Renders `list` as one `- [c] title metadata` line per task, description lines
/// indented below it. Cost: O(total size), one output allocation.
pub(super) fn render(list: &TaskList) -> Result<String, Error> {
    check_unique_ids(Format::Markdown, &list.tasks)?;
    let mut out = String::with_capacity(list.tasks.len() * 96);
    for task in &list.tasks {
        check(task)?;
        write_task(&mut out, task);
    }
    Ok(out)
}

fn unrepresentable(task: &Task, field: &'static str, reason: impl Into<String>) -> Error {
    Error::Unrepresentable {
        format: Format::Markdown,
        id: task.id.clone(),
        field,
        reason: reason.into(),
    }
}

/// Checks that every field of `task` can be written as Markdown and read back
/// unchanged.
pub(super) fn check(task: &Task) -> Result<(), Error> {
    let title = &task.title;
    if title.contains(['\n', '\r']) {
        return Err(unrepresentable(
            task,
            "title",
            "contains a line break, and a Markdown task title is one line (move the rest to `description`)",
        ));
    }
    if trim_blank(title) != title {
        return Err(unrepresentable(
            task,
            "title",
            "starts or ends with a space or tab, which Markdown drops",
        ));
    }
    if !task.description.is_empty() {
        for (n, l) in task.description.split('\n').enumerate() {
            if let Some(why) = description_line_problem(l) {
                return Err(unrepresentable(
                    task,
                    "description",
                    format!("line {} {why}", n + 1),
                ));
            }
        }
    }
    if !task.category.is_empty() && !is_writable_value(&task.category) {
        return Err(unrepresentable(
            task,
            "category",
            "must be one line without surrounding spaces or `%%` and with balanced `[` `]` to fit in `[category:: ...]`",
        ));
    }
    for (key, value) in &task.extra {
        let Value::String(value) = value else {
            return Err(unrepresentable(
                task,
                "extra",
                format!("`{key}` is not a string, and Markdown keeps extra fields as text"),
            ));
        };
        if let Some(why) = extra_problem(task, key, value) {
            return Err(unrepresentable(task, "extra", format!("`{key}` {why}")));
        }
    }
    Ok(())
}

/// Why a description line would not read back unchanged, if it would not.
fn description_line_problem(l: &str) -> Option<&'static str> {
    if l.is_empty() {
        return Some("is empty, and a blank line would end the task's paragraph");
    }
    if l.contains('\r') {
        return Some("contains a carriage return, which Markdown reads as a line break");
    }
    if l.contains("%%") {
        return Some("contains `%%`, which opens an Obsidian comment and would hide what follows");
    }
    // pulldown-cmark, like many Markdown readers, also takes vertical tab and form
    // feed for blanks: a line of them would end the paragraph.
    if l.trim_matches([' ', '\t', '\u{b}', '\u{c}']) != l {
        return Some(
            "starts or ends with a space, tab, vertical tab or form feed, which Markdown drops",
        );
    }
    if starts_block(l) {
        return Some(
            "starts like a Markdown block (heading, list item, quote, fence, rule or HTML), which would end the task's paragraph",
        );
    }
    None
}

/// Whether a paragraph continuation line `l` (no surrounding blanks) could instead
/// start a block or turn the paragraph into a heading or table. Conservative: some
/// lines refused here would in fact continue the paragraph.
fn starts_block(l: &str) -> bool {
    let b = l.as_bytes();
    let first = b.first().copied().unwrap_or(b' ');
    let second = b.get(1).copied();
    let blank_or_end = |c: Option<u8>| matches!(c, None | Some(b' ' | b'\t' | 0x0b | 0x0c));
    let only = |set: &[u8]| {
        b.iter()
            .all(|c| set.contains(c) || matches!(c, b' ' | b'\t' | 0x0b | 0x0c))
    };
    match first {
        b'#' => {
            let hashes = b.iter().take_while(|&&c| c == b'#').count();
            hashes <= 6 && blank_or_end(b.get(hashes).copied())
        }
        b'>' | b'<' => true,
        b'`' | b'~' => b.iter().take_while(|&&c| c == first).count() >= 3,
        b'-' | b'*' | b'+' | b'_' | b'=' => {
            blank_or_end(second) || only(&[first]) || (first != b'=' && only(b"-|:"))
        }
        b'0'..=b'9' => {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            digits <= 9
                && matches!(b.get(digits), Some(b'.' | b')'))
                && blank_or_end(b.get(digits + 1).copied())
        }
        b'|' | b':' => only(b"-|:"),
        _ => false,
    }
}

/// Why an extra field cannot be written, if it cannot.
fn extra_problem(task: &Task, key: &str, value: &str) -> Option<String> {
    if key == STATUS_CHAR {
        let mut chars = value.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) if is_unknown_status_char(c) => (task.status() != Status::Pending)
                .then(|| format!("is the checkbox character of a pending task, but the task is {}; remove it", task.status())),
            _ => Some(
                "must be one character other than ` `, `x`, `X`, `/`, `-`, `h` and a line break, to be written between `[` and `]`"
                    .to_owned(),
            ),
        };
    }
    if key == BLOCK_ID {
        return (!is_block_id(value)).then(|| {
            "must be letters, digits and `-` to be written as an Obsidian block id `^id`".to_owned()
        });
    }
    if is_reserved_key(key) {
        return Some("would be read back as a task field; rename it".to_owned());
    }
    if !is_writable_key(key) {
        return Some(
            "cannot be written as a Dataview key (it must be one line without surrounding spaces, `:`, brackets or parentheses)"
                .to_owned(),
        );
    }
    let fits_emoji = emoji_of_extra(key).is_some_and(|(_, shape)| shape.accepts(value));
    (!fits_emoji && !is_writable_value(value)).then(|| {
        "must be one line without surrounding spaces or `%%` and with balanced `[` `]` to fit in `[key:: value]`"
            .to_owned()
    })
}

/// The checkbox character of `task`: its unknown `status_char` when pending, else the
/// character of its status.
pub(super) fn checkbox_char(task: &Task) -> char {
    if task.status() == Status::Pending
        && let Some(Value::String(s)) = task.extra.get(STATUS_CHAR)
        && let mut chars = s.chars()
        && let (Some(c), None) = (chars.next(), chars.next())
        && is_unknown_status_char(c)
    {
        return c;
    }
    char_of(task.status())
}

/// Writes one checked task: its line and description lines, each ended by `\n`.
fn write_task(out: &mut String, task: &Task) {
    out.push_str("- [");
    out.push(checkbox_char(task));
    out.push_str("] ");
    write_title(out, &task.title);
    for key in [
        Key::Id,
        Key::Dependencies,
        Key::Priority,
        Key::Estimate,
        Key::Tag,
    ] {
        write_field(out, key, Form::Emoji, task);
    }
    for key in task.extra.keys() {
        if key != STATUS_CHAR && key != BLOCK_ID {
            write_field(out, Key::Extra(key), Form::Emoji, task);
        }
    }
    for key in [
        Key::Category,
        Key::CreatedAt,
        Key::UpdatedAt,
        Key::ActualTime,
    ] {
        write_field(out, key, Form::Emoji, task);
    }
    write_field(out, Key::Extra(BLOCK_ID), Form::Emoji, task);
    out.push('\n');
    if !task.description.is_empty() {
        for l in task.description.split('\n') {
            out.push_str("  ");
            out.push_str(l);
            out.push('\n');
        }
    }
}

/// Pushes a space unless `out` already ends with a blank.
pub(super) fn separate(out: &mut String) {
    if !out.ends_with(is_blank) {
        out.push(' ');
    }
}

/// Whether `task` has a value for `key` that a line must write.
pub(super) fn has_value(task: &Task, key: Key<'_>) -> bool {
    match key {
        Key::Id => true,
        Key::Dependencies => !task.dependencies.is_empty(),
        Key::Priority => task.priority != Priority::Normal,
        Key::Estimate => task.estimated_time.is_some(),
        Key::Category => !task.category.is_empty(),
        Key::CreatedAt => task.created_at.is_some(),
        Key::UpdatedAt => task.updated_at.is_some(),
        Key::ActualTime => task.actual_time.is_some(),
        Key::Tag => !task.tags.is_empty(),
        Key::Extra(k) => k != STATUS_CHAR && task.extra.contains_key(k),
    }
}

/// Writes the token(s) of `key` for `task` in `form` (where the field has that form),
/// each preceded by a blank; writes nothing when the field is empty.
pub(super) fn write_field(out: &mut String, key: Key<'_>, form: Form, task: &Task) {
    if !has_value(task, key) {
        return;
    }
    separate(out);
    let emoji = form == Form::Emoji;
    match key {
        Key::Id if emoji => {
            out.push_str("🆔 ");
            out.push_str(task.id.as_str());
        }
        Key::Dependencies if emoji => {
            out.push_str("⛔ ");
            write_ids(out, task);
        }
        Key::Priority if emoji => {
            if let Some((e, _)) = line::PRIORITY_EMOJI
                .iter()
                .find(|(_, p)| *p == task.priority)
            {
                out.push(*e);
            }
        }
        Key::Estimate if emoji => {
            out.push_str("⏱ ");
            if let Some(d) = &task.estimated_time {
                format_duration(d, out);
            }
        }
        Key::Tag => {
            for (i, tag) in task.tags.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push('#');
                out.push_str(tag.as_str());
            }
        }
        Key::Extra(k) => {
            let Some(Value::String(v)) = task.extra.get(k) else {
                return;
            };
            if k == BLOCK_ID {
                out.push('^');
                out.push_str(v);
            } else {
                match emoji_of_extra(k) {
                    Some((e, shape)) if emoji && shape.accepts(v) => {
                        out.push(e);
                        out.push(' ');
                        out.push_str(v);
                    }
                    _ => write_dataview(out, k, v),
                }
            }
        }
        _ => {
            let Some(name) = dataview_key(key) else {
                return;
            };
            out.push('[');
            out.push_str(name);
            out.push_str(":: ");
            match key {
                Key::Id => out.push_str(task.id.as_str()),
                Key::Dependencies => write_ids(out, task),
                Key::Priority => out.push_str(dataview_priority(task.priority)),
                Key::Estimate => {
                    if let Some(d) = &task.estimated_time {
                        format_duration(d, out);
                    }
                }
                Key::ActualTime => {
                    if let Some(d) = &task.actual_time {
                        format_duration(d, out);
                    }
                }
                Key::Category => out.push_str(&task.category),
                Key::CreatedAt | Key::UpdatedAt => {
                    let ts = if key == Key::CreatedAt {
                        task.created_at
                    } else {
                        task.updated_at
                    };
                    if let Some(ts) = ts {
                        let _ = write!(out, "{ts}");
                    }
                }
                Key::Tag | Key::Extra(_) => {}
            }
            out.push(']');
        }
    }
}

fn write_dataview(out: &mut String, key: &str, value: &str) {
    out.push('[');
    out.push_str(key);
    out.push_str(":: ");
    out.push_str(value);
    out.push(']');
}

fn write_ids(out: &mut String, task: &Task) {
    for (i, d) in task.dependencies.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(d.as_str());
    }
}

/// Writes `title` so that it reads back unchanged before any metadata.
///
/// A backslash before ASCII punctuation is doubled and `&#` becomes `\&#`, so the
/// escapes the reader decodes stand only for themselves. Then, while the title would
/// end in something the reader takes for metadata, that token's first character is
/// escaped: ASCII punctuation (`#`, `[`, `(`, `^`) with a backslash, an emoji with a
/// numeric character reference (`&#x23EB;`), which Markdown renders as the emoji.
pub(super) fn write_title(out: &mut String, title: &str) {
    let start = out.len();
    let mut chars = title.chars().peekable();
    let mut previous = None;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        // `%%` would open an Obsidian comment: every `%` of a run is escaped.
        if (c == '\\' && next.is_some_and(|n| n.is_ascii_punctuation()))
            || (c == '&' && next == Some('#'))
            || (c == '%' && (next == Some('%') || previous == Some('%')))
        {
            out.push('\\');
        }
        out.push(c);
        previous = Some(c);
    }
    // Each round escapes one more token start, so this ends within `title.len()` rounds.
    for _ in 0..=title.len() {
        let Some(at) = out.get(start..).and_then(line::token_ending) else {
            return;
        };
        let at = start + at;
        let Some(c) = out.get(at..).and_then(|s| s.chars().next()) else {
            return;
        };
        // `get` succeeded, so `at` is a char boundary and `insert` cannot panic.
        if c.is_ascii_punctuation() {
            out.insert(at, '\\');
        } else {
            out.replace_range(at..at + c.len_utf8(), &format!("&#x{:X};", u32::from(c)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskId;

    fn title_line(title: &str) -> String {
        let mut s = String::new();
        write_title(&mut s, title);
        s
    }

    #[test]
    fn titles_that_end_like_metadata_are_escaped() {
        assert_eq!(title_line("Fix #12"), r"Fix \#12");
        assert_eq!(title_line("Release ⏫"), "Release &#x23EB;");
        assert_eq!(title_line("see [a:: b]"), r"see \[a:: b]");
        assert_eq!(title_line("x 🆔 y"), "x &#x1F194; y");
        assert_eq!(title_line(r"a\#b &#1;"), r"a\\#b \&#1;");
        assert_eq!(title_line("plain words ⏫ inside"), "plain words ⏫ inside");
        assert_eq!(title_line("50% done, %%x%%% y"), r"50% done, \%\%x\%\%\% y");
    }

    #[test]
    fn description_lines_that_start_blocks_are_refused() {
        for bad in [
            "# h", "- x", "-", "* x", "1. x", "10) x", "> q", "<div>", "```", "~~~", "***", "===",
            "--|--", "", " x", "x ",
        ] {
            assert!(description_line_problem(bad).is_some(), "{bad:?}");
        }
        for ok in [
            "#tag",
            "-5 degrees",
            "2024.5 percent",
            "*emphasis*",
            "``code``",
            "a | b",
            "plain",
        ] {
            assert!(description_line_problem(ok).is_none(), "{ok:?}");
        }
    }

    #[test]
    fn status_char_must_fit_the_status() {
        let mut t = Task::new(TaskId::new("a").unwrap(), "x");
        t.extra.insert(STATUS_CHAR.into(), "?".into());
        assert!(check(&t).is_ok());
        assert_eq!(checkbox_char(&t), '?');
        let done = t.clone().with_status(Status::Done);
        assert!(matches!(
            check(&done),
            Err(Error::Unrepresentable { field: "extra", .. })
        ));
        t.extra.insert(STATUS_CHAR.into(), "x".into());
        assert!(check(&t).is_err());
    }
}
