//! Task ids while reading: [`Draft`]s, the derivation rules documented in
//! [`format`](crate::format#ids), and the check that a list to write repeats no id.
//!
//! Shared by every format, below them: it knows nothing of any syntax.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, ParseError};
use crate::format::kind::Format;
use crate::task::{Task, TaskId};

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
/// briefly be empty, and it never leaves the format modules.
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

/// Applies the id rules documented in [`format`](crate::format#ids).
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
