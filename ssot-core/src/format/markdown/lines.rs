//! [`parse_with_lines`]: the tasks of a Markdown document and the line each starts on.
//!
//! Added for the store (`ssot_core::store`), which reports problems across files
//! (an id used in two files, a dependency on an unknown id, a cycle) at the
//! `file:line` of each task. The parser already knows every task's line; this only
//! hands it out, so the store does not have to find the items a second time.

use super::read::read;
use crate::error::Error;
use crate::format::TaskList;

/// Parses a Markdown document as [`parse`](super::parse) does, and returns beside the
/// list the 1-based line on which each task's checkbox line is, in the same order as
/// [`TaskList::tasks`].
///
/// ```
/// use ssot_core::format::markdown;
///
/// let (list, lines) = markdown::parse_with_lines("# Plan\n\n- [ ] Draft 🆔 d\n\n- [x] Outline\n")?;
/// assert_eq!(list.tasks.len(), 2);
/// assert_eq!(lines, [3, 5]);
/// # Ok::<(), ssot_core::Error>(())
/// ```
///
/// # Errors
///
/// As [`parse`](super::parse).
pub fn parse_with_lines(text: &str) -> Result<(TaskList, Vec<usize>), Error> {
    let read = read(text)?;
    let lines = read.spans.iter().map(|s| s.line).collect();
    Ok((TaskList::new(read.tasks), lines))
}
