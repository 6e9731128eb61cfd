//! The subcommands that change the store: `done`, `set`, `add`, `remove` and
//! `patch`. Each is
//! one call of the store's write side, so each is validated before anything is
//! written, made under the store's locks, audited, and given one revision; a refused
//! change prints the problems and exits 1 with every file untouched.

use serde_json::{Value, json};
use ssot_core::format::edit::Position;
use ssot_core::store::{AuditRecord, Commit, Operation};
use ssot_core::{Status, Task, TaskId};

use crate::args::{AddArgs, Global, PatchArgs, SetArgs};
use crate::out::Output;
use crate::{Outcome, Run, open, stdout_error};

/// `ssot done ID`.
pub(crate) fn done(global: &Global, id: &TaskId, out: &mut Output) -> Run {
    let commit = open(global)?.set_status(id.as_str(), Status::Done)?;
    print_commit(&commit, out)
}

/// `ssot set ID STATUS`.
pub(crate) fn set(global: &Global, args: &SetArgs, out: &mut Output) -> Run {
    let commit = open(global)?.set_status(args.id.as_str(), args.status)?;
    print_commit(&commit, out)
}

/// `ssot add FILE TITLE`: a new task in the file's format and style.
pub(crate) fn add(global: &Global, args: &AddArgs, out: &mut Output) -> Run {
    let id = match &args.id {
        Some(id) => id.clone(),
        None => id_from_title(&args.title)?,
    };
    let mut task = Task::new(id, args.title.clone()).with_status(args.status);
    if let Some(p) = args.priority {
        task.priority = p;
    }
    task.dependencies.clone_from(&args.depends_on);
    task.tags.clone_from(&args.tags);
    task.estimated_time = args.estimate;
    if let Some(c) = &args.category {
        task.category.clone_from(c);
    }
    if let Some(d) = &args.description {
        task.description.clone_from(d);
    }
    let at = match (&args.after, &args.under, &args.heading) {
        (Some(id), _, _) => Position::After(id.clone()),
        (_, Some(id), _) => Position::Subtask(id.clone()),
        (_, _, Some(h)) => Position::UnderHeading(h.clone()),
        _ => Position::End,
    };
    let commit = open(global)?.add_task(&args.file, task, at)?;
    print_commit(&commit, out)
}

/// `ssot remove ID`.
pub(crate) fn remove(global: &Global, id: &TaskId, out: &mut Output) -> Run {
    let commit = open(global)?.remove_task(id.as_str())?;
    print_commit(&commit, out)
}

/// `ssot patch FILE JSON`: an RFC 7396 merge patch, applied in place; prints the
/// lines that changed.
pub(crate) fn patch(global: &Global, args: &PatchArgs, out: &mut Output) -> Run {
    let store = open(global)?;
    let path = store.root().join(&args.file);
    // Read for the report only; the store reads the file again under its lock.
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    let commit = store.patch(&args.file, &args.patch)?;
    if out.json {
        return print_commit(&commit, out);
    }
    print_commit(&commit, out)?;
    let after = std::fs::read_to_string(&path).unwrap_or_default();
    let mut text = String::new();
    for (sign, line) in changed_lines(&before, &after) {
        let shown = format!("{sign} {line}");
        text.push_str(&if sign == '-' {
            out.paint.red(&shown)
        } else {
            out.paint.green(&shown)
        });
        text.push('\n');
    }
    out.raw(&text).map_err(stdout_error)?;
    Ok(Outcome::Done)
}

/// The lines between the common head and the common tail of two texts: the old
/// ones as `-`, the new ones as `+`. An in-place edit changes one or a few
/// neighbouring lines, which this shows exactly; edits far apart show the lines
/// between them too.
pub(crate) fn changed_lines<'a>(before: &'a str, after: &'a str) -> Vec<(char, &'a str)> {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut lines: Vec<(char, &str)> = old[head..old.len() - tail]
        .iter()
        .map(|l| ('-', *l))
        .collect();
    lines.extend(new[head..new.len() - tail].iter().map(|l| ('+', *l)));
    lines
}

/// A task id from a title: lowercase letters and digits, runs of anything else as
/// one `-` (`"Write the docs"` -> `write-the-docs`).
fn id_from_title(title: &str) -> Result<TaskId, ssot_core::Error> {
    let mut id = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            id.extend(c.to_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    while id.ends_with('-') {
        id.pop();
    }
    if id.is_empty() {
        return Err(ssot_core::Error::InvalidId {
            value: id,
            reason: "the title has no letter or digit to make an id from; give one with --id",
        });
    }
    TaskId::new(id)
}

/// What an operation did, in a few words.
pub(crate) fn operation_text(op: &Operation) -> String {
    match op {
        Operation::SetStatus { id, status } => format!("set {id} to {status}"),
        Operation::UpdateTask { id } => format!("edited {id}"),
        Operation::AddTask { id } => format!("added {id}"),
        Operation::RemoveTask { id } => format!("removed {id}"),
        Operation::Patch => "patched".to_owned(),
        Operation::Rollback { version } => format!("rolled back to {}", short(version)),
        Operation::External => "changed outside the store".to_owned(),
        _ => "changed".to_owned(),
    }
}

/// What a record did, in a few words; an outside change says whether the file was
/// new to the log or deleted.
pub(crate) fn record_text(r: &AuditRecord) -> String {
    match &r.operation {
        Operation::External if r.before.is_none() => "first recorded, as found".to_owned(),
        Operation::External if r.after.is_none() => "deleted outside the store".to_owned(),
        op => operation_text(op),
    }
}

/// Whether a record is part of the log's baseline: a file recorded as found.
fn is_baseline(r: &AuditRecord) -> bool {
    r.operation == Operation::External && r.before.is_none()
}

/// The first 8 digits of a version id (any unique prefix names a version).
pub(crate) fn short(version: &str) -> &str {
    version.get(..8).unwrap_or(version)
}

/// A commit as JSON: `{"revision", "version", "records": [audit records]}`.
pub(crate) fn commit_json(commit: &Commit) -> Value {
    json!({
        "revision": commit.revision,
        "version": commit.version.as_ref().map(|v| v.as_str()),
        "records": commit.records,
    })
}

/// One line per record, `revision N  what  file` (files first recorded as found
/// counted on one line), then the version.
pub(crate) fn print_commit(commit: &Commit, out: &mut Output) -> Run {
    if out.json {
        out.json_value(&commit_json(commit)).map_err(stdout_error)?;
        return Ok(Outcome::Done);
    }
    let mut text = String::new();
    let baseline = commit.records.iter().filter(|r| is_baseline(r)).count();
    if baseline > 1 {
        text.push_str(&format!(
            "{}  {}\n",
            out.paint.bold(&format!("revision {}", commit.revision)),
            out.paint
                .dim(&format!("{baseline} files first recorded, as found"))
        ));
    }
    for r in commit
        .records
        .iter()
        .filter(|r| baseline < 2 || !is_baseline(r))
    {
        text.push_str(&record_line(r, out));
        text.push('\n');
    }
    if let Some(v) = &commit.version {
        text.push_str(&out.paint.dim(&format!("version {}", short(v.as_str()))));
        text.push('\n');
    }
    out.raw(&text).map_err(stdout_error)?;
    Ok(Outcome::Done)
}

/// `revision N  what  file`.
pub(crate) fn record_line(r: &AuditRecord, out: &Output) -> String {
    let what = record_text(r);
    let what = if r.operation == Operation::External {
        out.paint.yellow(&what)
    } else {
        out.paint.green(&what)
    };
    format!(
        "{}  {what}  {}",
        out.paint.bold(&format!("revision {}", r.revision)),
        out.path(&r.path)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_lines_show_only_the_edited_region() {
        let before = "# c\na: 1\nb: 2\nc: 3\n";
        let after = "# c\na: 1\nb: 20\nc: 3\n";
        assert_eq!(
            changed_lines(before, after),
            [('-', "b: 2"), ('+', "b: 20")]
        );
        assert!(changed_lines(before, before).is_empty());
        assert_eq!(changed_lines("a\n", "a\nb\n"), [('+', "b")]);
    }

    #[test]
    fn ids_from_titles_are_lowercase_words_joined_by_dashes() {
        assert_eq!(
            id_from_title("Write the docs!").unwrap().as_str(),
            "write-the-docs"
        );
        assert_eq!(id_from_title("  Ship v2.0 ").unwrap().as_str(), "ship-v2-0");
        assert!(id_from_title("!!!").is_err());
    }
}
