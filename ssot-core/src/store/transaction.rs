//! [`Transaction`]: several changes committed as one revision.

use serde_json::Value;

use super::Store;
use super::change::{Change, Commit};
use crate::error::Error;
use crate::format::edit::Position;
use crate::task::{Status, Task};

/// A group of changes committed as one revision (one audit record group, one
/// version with `snapshot: every-change`). Made by [`Store::transaction`].
///
/// Nothing happens until [`commit`](Self::commit): then every change is applied in
/// the order given (several changes to one file compose), every new text is
/// validated, and only if all are valid are the files written, all or nothing (see
/// [`Store`]'s write-side docs for the protocol). An empty transaction is refused
/// ([`Error::EmptyTransaction`]): a revision always records at least one change.
///
/// ```
/// use ssot_core::{Status, store::Store};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("todo.md"), "- [ ] Build 🆔 build\n- [ ] Test 🆔 test\n")?;
/// let store = Store::init(dir.path())?;
/// let commit = store
///     .transaction()
///     .set_status("build", Status::Done)
///     .set_status("test", Status::InProgress)
///     .commit()?;
/// assert_eq!(commit.revision, 1);
/// assert_eq!(std::fs::read_to_string(dir.path().join("todo.md"))?, "- [x] Build 🆔 build\n- [/] Test 🆔 test\n");
/// # Ok(()) }
/// ```
#[must_use = "a transaction does nothing until it is committed"]
pub struct Transaction<'s> {
    store: &'s Store,
    changes: Vec<Change<'s>>,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("changes", &self.changes.len())
            .finish_non_exhaustive()
    }
}

impl<'s> Transaction<'s> {
    /// Moves task `id` to `status` (see [`Store::set_status`]).
    pub fn set_status(mut self, id: &str, status: Status) -> Self {
        self.changes.push(Change::SetStatus {
            id: id.to_owned(),
            status,
        });
        self
    }

    /// Applies `f` to task `id` (see [`Store::update_task`]).
    pub fn update_task(mut self, id: &str, f: impl FnOnce(&mut Task) + 's) -> Self {
        self.changes.push(Change::Update {
            id: id.to_owned(),
            f: Box::new(f),
        });
        self
    }

    /// Adds `task` to the task list at `path` (see [`Store::add_task`]).
    pub fn add_task(mut self, path: &str, task: Task, at: Position) -> Self {
        self.changes.push(Change::Add {
            path: path.to_owned(),
            task: Box::new(task),
            at,
        });
        self
    }

    /// Removes task `id` (see [`Store::remove_task`]).
    pub fn remove_task(mut self, id: &str) -> Self {
        self.changes.push(Change::Remove { id: id.to_owned() });
        self
    }

    /// Applies a JSON Merge Patch to the file at `path` (see [`Store::patch`]).
    pub fn patch(mut self, path: &str, patch: Value) -> Self {
        self.changes.push(Change::Patch {
            path: path.to_owned(),
            patch,
        });
        self
    }

    /// How many changes the transaction holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether the transaction holds no change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Validates every change, then writes them all as one revision.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyTransaction`]; the first change that cannot be applied
    /// ([`Error::TaskNotFound`], [`Error::IllegalTransition`], ...); [`Error::Invalid`]
    /// with every problem of every new text and the plan. On any error nothing is
    /// written.
    pub fn commit(self) -> Result<Commit, Error> {
        self.store.commit_changes(self.changes)
    }
}

impl Store {
    /// A new, empty transaction on this store.
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction {
            store: self,
            changes: Vec::new(),
        }
    }
}
