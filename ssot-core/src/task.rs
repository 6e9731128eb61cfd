//! The task record: [`Task`], its [`Status`] state machine, [`Priority`], and the
//! validated string types [`TaskId`] and [`Tag`].
//!
//! # Why `status` is private
//!
//! Every other field is a plain public field: a task is data, and users edit it
//! directly. The status is the exception, because a task runner must be able to trust
//! it: a `Done` task silently becoming `InProgress` hides work. Status changes go
//! through [`Task::transition`], which enforces the state machine documented on
//! [`Status`]. The initial status of a new task is set with [`Task::with_status`],
//! which is construction, not a transition.
//!
//! # Why ids and tags are newtypes
//!
//! Ids and tags are written into Markdown (`🆔 a`, `⛔ a,b`, `#tag`) and CSV cells
//! (`a;b`), so a comma, a space or a `#` inside one would silently change its meaning
//! when the file is read back. [`TaskId`] and [`Tag`] can only hold text that every
//! format writes and reads back unchanged.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::error::Error;

/// Fields met in an input that the task model has no field for, kept in the order
/// they were read and written back unchanged.
///
/// JSON and YAML keep any value; CSV keeps unknown columns as strings; Markdown keeps
/// unknown inline metadata (see [`format::markdown`](crate::format::markdown)).
pub type Extra = Map<String, Value>;

/// A task: one record of the single source of truth.
///
/// Construct with [`Task::new`], then set the public fields. `PartialEq` compares
/// every field, including [`extra`](Task::extra).
///
/// ```
/// use ssot_core::{Priority, Status, Task, TaskId};
///
/// let mut task = Task::new(TaskId::new("deploy")?, "Deploy the release");
/// task.priority = Priority::High;
/// task.dependencies.push(TaskId::new("build")?);
/// task.transition(Status::InProgress)?;
/// task.transition(Status::Done)?;
///
/// // An illegal change is an error that names both states; the task is unchanged.
/// let err = task.transition(Status::InProgress).unwrap_err();
/// assert!(err.to_string().contains("from done to in_progress"));
/// assert_eq!(task.status(), Status::Done);
/// # Ok::<(), ssot_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Unique id within one task list.
    pub id: TaskId,
    /// One-line summary.
    pub title: String,
    /// Scheduling priority.
    pub priority: Priority,
    status: Status,
    /// Free-form category; empty when none.
    pub category: String,
    /// Longer description; empty when none.
    pub description: String,
    /// Ids of the tasks this one depends on, in the order written.
    pub dependencies: Vec<TaskId>,
    /// When the task was created, if known.
    pub created_at: Option<Timestamp>,
    /// When the task was last changed, if known.
    pub updated_at: Option<Timestamp>,
    /// How long the task is expected to take.
    pub estimated_time: Option<Duration>,
    /// How long the task actually took.
    pub actual_time: Option<Duration>,
    /// Tags, in the order written.
    pub tags: Vec<Tag>,
    /// Fields the model has no place for, kept so that nothing is lost on a
    /// read-modify-write cycle.
    pub extra: Extra,
}

impl Task {
    /// A pending task of [`Priority::Normal`] with the given id and title and every
    /// other field empty.
    pub fn new(id: TaskId, title: impl Into<String>) -> Task {
        Task {
            id,
            title: title.into(),
            priority: Priority::default(),
            status: Status::default(),
            category: String::new(),
            description: String::new(),
            dependencies: Vec::new(),
            created_at: None,
            updated_at: None,
            estimated_time: None,
            actual_time: None,
            tags: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// Sets the initial status of a task being constructed or read from a file.
    ///
    /// This is not a transition and checks nothing; use [`Task::transition`] to change
    /// the status of an existing task.
    #[must_use]
    pub fn with_status(mut self, status: Status) -> Task {
        self.status = status;
        self
    }

    /// The task's status.
    #[must_use]
    pub fn status(&self) -> Status {
        self.status
    }

    /// Moves the task to status `to`, if the state machine on [`Status`] allows it.
    ///
    /// Moving to the current status is allowed and changes nothing. `updated_at` is
    /// not touched: the caller owns the clock (the store stamps it).
    ///
    /// # Errors
    ///
    /// [`Error::IllegalTransition`] naming both states and the allowed targets; the
    /// task is unchanged.
    pub fn transition(&mut self, to: Status) -> Result<(), Error> {
        if self.status.can_become(to) {
            self.status = to;
            Ok(())
        } else {
            Err(Error::IllegalTransition {
                id: self.id.clone(),
                from: self.status,
                to,
            })
        }
    }
}

/// How urgent a task is. Ordered from most urgent (`Critical`) to least (`Lowest`):
/// `Priority::Critical < Priority::High`, so sorting ascending puts urgent work first.
///
/// The levels are those of the Obsidian Tasks plugin, whose "no priority" level is
/// [`Priority::Normal`] and sits between medium and low:
///
/// | level | Markdown emoji | names accepted when reading |
/// |---|---|---|
/// | `Critical` | `🔺` | `critical`, `highest` |
/// | `High` | `⏫` | `high` |
/// | `Medium` | `🔼` | `medium` |
/// | `Normal` (default) | none | `normal`, `none` |
/// | `Low` | `🔽` | `low` |
/// | `Lowest` | `⏬` | `lowest` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Priority {
    /// Drop everything.
    Critical,
    /// Soon.
    High,
    /// Above the default.
    Medium,
    /// The default: no particular priority.
    #[default]
    Normal,
    /// Below the default.
    Low,
    /// Whenever.
    Lowest,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 6] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Normal,
        Priority::Low,
        Priority::Lowest,
    ];

    /// The canonical lowercase name, as written by every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Normal => "normal",
            Priority::Low => "low",
            Priority::Lowest => "lowest",
        }
    }

    /// Parses a priority name, case-insensitively, accepting the aliases in the table
    /// above. Returns `None` for anything else.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Priority> {
        const NAMES: [(&str, Priority); 8] = [
            ("critical", Priority::Critical),
            ("highest", Priority::Critical),
            ("high", Priority::High),
            ("medium", Priority::Medium),
            ("normal", Priority::Normal),
            ("none", Priority::Normal),
            ("low", Priority::Low),
            ("lowest", Priority::Lowest),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, p)| p)
    }

    /// The message used when a priority name is not recognized.
    pub(crate) fn unknown(name: &str) -> String {
        format!(
            "unknown priority `{name}`; expected one of {}",
            Priority::EXPECTED
        )
    }

    const EXPECTED: &'static str = "critical, high, medium, normal, low, lowest";
}

impl FromStr for Priority {
    type Err = Error;

    /// Parses a name as [`Priority::from_name`] does.
    fn from_str(s: &str) -> Result<Priority, Error> {
        Priority::from_name(s).ok_or_else(|| Error::UnknownName {
            what: "priority",
            name: s.to_owned(),
            expected: Priority::EXPECTED,
        })
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a task is in its life.
///
/// # State machine
///
/// ```text
///            ┌──────────────► Blocked ─────┐
///            │                  │  ▲       │
///            │                  ▼  │       ▼
///  Pending ◄─┴─► InProgress ────┴──┘   Cancelled
///     ▲  │          │                      ▲
///     │  └──────────┴──► Done              │
///     └──── (reopen) ◄── Done, Cancelled   │
///        Pending, InProgress, Blocked ─────┘
/// ```
///
/// | from \ to | Pending | InProgress | Done | Blocked | Cancelled |
/// |---|---|---|---|---|---|
/// | Pending | = | yes | yes | yes | yes |
/// | InProgress | yes | = | yes | yes | yes |
/// | Blocked | yes | yes | no | = | yes |
/// | Done | yes (reopen) | no | = | no | no |
/// | Cancelled | yes (reopen) | no | no | no | = |
///
/// A blocked task must be unblocked before it can be done; a finished (done or
/// cancelled) task must be reopened to pending before work resumes. Staying in the
/// same status is always allowed.
///
/// In a dependency graph a status becomes an [`ssot_graph::State`] through
/// `State::from(status)`; the mapping's table is on that `From` impl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Status {
    /// Not started.
    #[default]
    Pending,
    /// Being worked on.
    InProgress,
    /// Finished.
    Done,
    /// Cannot proceed until something else happens.
    Blocked,
    /// Will not be done.
    Cancelled,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::InProgress,
        Status::Done,
        Status::Blocked,
        Status::Cancelled,
    ];

    /// The canonical snake_case name, as written by every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InProgress => "in_progress",
            Status::Done => "done",
            Status::Blocked => "blocked",
            Status::Cancelled => "cancelled",
        }
    }

    /// Parses a status name, case-insensitively; `-` and space are read as `_`, so
    /// `in-progress` and `In Progress` are `InProgress`. `todo` is read as `Pending`,
    /// `canceled` as `Cancelled`. Returns `None` for anything else.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Status> {
        const NAMES: [(&str, Status); 7] = [
            ("pending", Status::Pending),
            ("todo", Status::Pending),
            ("in_progress", Status::InProgress),
            ("done", Status::Done),
            ("blocked", Status::Blocked),
            ("cancelled", Status::Cancelled),
            ("canceled", Status::Cancelled),
        ];
        let name = name.trim().as_bytes();
        // Compared byte by byte, folding case and `-`/space to `_`, without allocating:
        // this runs once per task read.
        let same = |canonical: &str| {
            canonical.len() == name.len()
                && canonical.bytes().zip(name).all(|(c, &n)| {
                    let n = match n {
                        b'-' | b' ' => b'_',
                        n => n.to_ascii_lowercase(),
                    };
                    c == n
                })
        };
        NAMES.iter().find(|(n, _)| same(n)).map(|&(_, s)| s)
    }

    /// The message used when a status name is not recognized.
    pub(crate) fn unknown(name: &str) -> String {
        format!(
            "unknown status `{name}`; expected one of {}",
            Status::EXPECTED
        )
    }

    const EXPECTED: &'static str = "pending, in_progress, done, blocked, cancelled";

    /// The statuses this one may move to, other than itself.
    #[must_use]
    pub fn allowed_next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Pending => &[InProgress, Done, Blocked, Cancelled],
            InProgress => &[Pending, Done, Blocked, Cancelled],
            Blocked => &[Pending, InProgress, Cancelled],
            Done | Cancelled => &[Pending],
        }
    }

    /// Whether the state machine allows moving from `self` to `to`.
    #[must_use]
    pub fn can_become(self, to: Status) -> bool {
        self == to || self.allowed_next().contains(&to)
    }

    /// Whether the task is finished (done or cancelled).
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Done | Status::Cancelled)
    }

    pub(crate) fn list(statuses: &[Status]) -> String {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        names.join(", ")
    }
}

impl FromStr for Status {
    type Err = Error;

    /// Parses a name as [`Status::from_name`] does.
    fn from_str(s: &str) -> Result<Status, Error> {
        Status::from_name(s).ok_or_else(|| Error::UnknownName {
            what: "status",
            name: s.to_owned(),
            expected: Status::EXPECTED,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The task's status as a node state of an `ssot-graph` dependency graph: the one
/// place where the two are mapped.
///
/// | `Status` | [`ssot_graph::State`] | why |
/// |---|---|---|
/// | `Pending` | `Pending` | not started: the only state that can become ready |
/// | `InProgress` | `Running` | under way |
/// | `Done` | `Done` | finished: the only state that releases its dependents |
/// | `Blocked` | `OnHold` | held for a reason outside the graph (a person, a manual block) |
/// | `Cancelled` | `Cancelled` | will not be done: its dependents stay blocked |
///
/// The mapping is total and has no catch-all: a new `Status` does not compile until
/// it is given a state here. There is no mapping back: `State::Failed` has no
/// status.
///
/// ```
/// use ssot_core::{Status, TaskId};
/// use ssot_graph::{DepGraph, State};
///
/// let mut graph: DepGraph<TaskId> = DepGraph::new();
/// graph.add_node(TaskId::new("build")?)?;
/// graph.set_state("build", Status::InProgress.into())?;
/// assert_eq!(graph.state("build"), Some(State::Running));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl From<Status> for ssot_graph::State {
    fn from(status: Status) -> ssot_graph::State {
        use ssot_graph::State;
        match status {
            Status::Pending => State::Pending,
            Status::InProgress => State::Running,
            Status::Done => State::Done,
            Status::Blocked => State::OnHold,
            Status::Cancelled => State::Cancelled,
        }
    }
}

/// A task id: non-empty, made only of letters, digits (any script), `-`, `_` and `.`.
///
/// These are the characters that survive every format unchanged: no whitespace,
/// comma or semicolon (list separators), and no brackets or `#` (Markdown syntax).
///
/// ```
/// use ssot_core::TaskId;
/// assert!(TaskId::new("build-42").is_ok());
/// assert!(TaskId::new("a,b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(String);

impl TaskId {
    /// Validates `id`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidId`] when it is empty or holds another character.
    pub fn new(id: impl Into<String>) -> Result<TaskId, Error> {
        let id = id.into();
        match check_word(&id, |c| matches!(c, '-' | '_' | '.')) {
            Ok(()) => Ok(TaskId(id)),
            Err(reason) => Err(Error::InvalidId { value: id, reason }),
        }
    }

    /// An id the caller has already proven valid (or the empty placeholder of a
    /// draft, see `format::Draft`).
    pub(crate) fn unchecked(id: String) -> TaskId {
        TaskId(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `c` may appear in an id.
    pub fn is_id_char(c: char) -> bool {
        c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
    }
}

/// A tag, without its leading `#`: non-empty, made only of letters, digits (any
/// script), `-`, `_` and `/` (for nested tags such as `area/backend`).
///
/// ```
/// use ssot_core::Tag;
/// assert!(Tag::new("area/backend").is_ok());
/// assert!(Tag::new("two words").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Validates `tag` (without a leading `#`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTag`] when it is empty or holds another character.
    pub fn new(tag: impl Into<String>) -> Result<Tag, Error> {
        let tag = tag.into();
        match check_word(&tag, |c| matches!(c, '-' | '_' | '/')) {
            Ok(()) => Ok(Tag(tag)),
            Err(reason) => Err(Error::InvalidTag { value: tag, reason }),
        }
    }

    /// The tag as text, without `#`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `c` may appear in a tag.
    pub fn is_tag_char(c: char) -> bool {
        c.is_alphanumeric() || matches!(c, '-' | '_' | '/')
    }
}

fn check_word(s: &str, extra: impl Fn(char) -> bool) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.chars().all(|c| c.is_alphanumeric() || extra(c)) {
        Ok(())
    } else {
        Err("it contains a character that is not allowed")
    }
}

macro_rules! string_newtype {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<$t, Error> {
                $t::new(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<$t, Error> {
                $t::new(s)
            }
        }

        impl TryFrom<&str> for $t {
            type Error = Error;
            fn try_from(s: &str) -> Result<$t, Error> {
                $t::new(s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_newtype!(TaskId);
string_newtype!(Tag);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_matches_documentation() {
        use Status::*;
        let allowed = |from: Status, to: Status| from.can_become(to);
        assert!(allowed(Pending, Done));
        assert!(allowed(Blocked, Pending));
        assert!(!allowed(Blocked, Done));
        assert!(!allowed(Done, InProgress));
        assert!(allowed(Done, Pending));
        assert!(!allowed(Cancelled, Done));
        for s in Status::ALL {
            assert!(allowed(s, s), "{s} -> {s} must be allowed");
        }
    }

    #[test]
    fn illegal_transition_names_both_states_and_leaves_task_unchanged() {
        let mut task = Task::new(TaskId::new("t").unwrap(), "x").with_status(Status::Done);
        let err = task.transition(Status::InProgress).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("from done to in_progress"), "{msg}");
        assert!(msg.contains("may go to: pending"), "{msg}");
        assert_eq!(task.status(), Status::Done);
    }

    #[test]
    fn priority_orders_most_urgent_first_and_parses_aliases() {
        assert!(Priority::Critical < Priority::High);
        assert!(Priority::Normal < Priority::Low);
        assert_eq!(Priority::from_name("Highest"), Some(Priority::Critical));
        assert_eq!(Priority::from_name("none"), Some(Priority::Normal));
        assert_eq!(Priority::from_name("urgent"), None);
        assert_eq!("High".parse::<Priority>().unwrap(), Priority::High);
        let err = "urgent".parse::<Priority>().unwrap_err().to_string();
        assert!(
            err.contains("unknown priority `urgent`; expected one of"),
            "{err}"
        );
        for p in Priority::ALL {
            assert_eq!(Priority::from_name(p.as_str()), Some(p));
        }
    }

    #[test]
    fn status_names_round_trip_and_accept_spellings() {
        for s in Status::ALL {
            assert_eq!(Status::from_name(s.as_str()), Some(s));
        }
        assert_eq!(Status::from_name("In Progress"), Some(Status::InProgress));
        assert_eq!(Status::from_name("in-progress"), Some(Status::InProgress));
        assert_eq!(Status::from_name("canceled"), Some(Status::Cancelled));
        assert_eq!(Status::from_name("later"), None);
        assert_eq!("in progress".parse::<Status>().unwrap(), Status::InProgress);
        assert!("later".parse::<Status>().is_err());
    }

    #[test]
    fn ids_and_tags_reject_separators() {
        for bad in ["", "a b", "a,b", "a;b", "a#b", "a]b", "a\nb"] {
            assert!(TaskId::new(bad).is_err(), "{bad:?}");
            assert!(Tag::new(bad).is_err(), "{bad:?}");
        }
        assert!(TaskId::new("émile.2").is_ok());
        assert!(Tag::new("projet/été").is_ok());
        assert!(TaskId::new("a/b").is_err());
        assert!(Tag::new("a.b").is_err());
    }
}
