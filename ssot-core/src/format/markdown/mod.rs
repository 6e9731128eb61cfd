//! Markdown task lists: CommonMark checkbox items carrying Obsidian Tasks metadata,
//! in its emoji form or its Dataview form, and [`MarkdownDocument`], which edits a
//! file in place.
//!
//! ```
//! use ssot_core::format::markdown;
//! use ssot_core::{Priority, Status};
//!
//! let list = markdown::parse(
//!     "## Release\n\
//!      - [/] Fix the upload test 🆔 flaky 🔺 ⏱ 2h #ci 📅 2026-11-30\n\
//!      - [ ] Build artifacts [id:: build] [dependsOn:: flaky] [priority:: high]\n\
//!      ```\n\
//!      - [ ] not a task: inside a code block\n\
//!      ```\n",
//! )?;
//! let (fix, build) = (&list.tasks[0], &list.tasks[1]);
//! assert_eq!((fix.id.as_str(), fix.status(), fix.priority), ("flaky", Status::InProgress, Priority::Critical));
//! assert_eq!(fix.extra["due"], "2026-11-30"); // no model field: kept, and written back
//! assert_eq!(build.dependencies, ["flaky"]);
//! assert_eq!(markdown::parse(&markdown::render(&list)?)?, list);
//! # Ok::<(), ssot_core::Error>(())
//! ```
//!
//! # Which items are tasks
//!
//! A task is a list item (`-`, `*`, `+`, `1.`, `1)`, nested at any depth, in block
//! quotes too) whose first line is the list marker, one or more spaces or tabs, a
//! checkbox `[c]` holding exactly one character, then a space, a tab or the end of the
//! line, and whose first block is a paragraph. Nested items are tasks in document
//! order; nesting does not make one task depend on another.
//!
//! Items are found with pulldown-cmark's offset iterator, not with a line regex, so a
//! `- [ ]` inside a fenced or indented code block, an HTML block or YAML front matter
//! is not a task, exactly as Obsidian shows it. The parser is used only for block
//! structure and item offsets: the checkbox and the rest of the line are read from the
//! source bytes (pulldown-cmark's own task-list marker knows only ` `, `x` and `X`).
//! Its offsets are only used through bounds-checked `get`, so a wrong offset could at
//! worst miss an item, never panic.
//!
//! Obsidian's `%%comments%%` are not CommonMark, but Obsidian hides them, and every
//! task plugin with them: a checkbox item that starts inside one is not a task, as an
//! item inside an HTML comment `<!-- -->` is not. `%%` pair up in document order
//! (`%%` on a line of its own opens a block comment, `a %%note%% b` is inline); an
//! unclosed `%%` runs to the end of the document; `%%` in code or escaped (`\%%`) is
//! text. A task whose line starts outside a comment keeps an inline comment in its
//! title, byte for byte; its description stops where a comment spanning lines opens.
//! Comments are never rewritten: an edit touches only task lines.
//!
//! A document made only of task lines at the left margin (`- [c] ...`, or with `*`
//! or `+`), blank lines, ATX headings and lines of text (starting, after spaces, with
//! a letter or a non-ASCII character), as [`render`] writes them, holds none of those
//! blocks, and its block structure is known line by line: its items are found by a
//! scan of its lines instead, with the same result (a property test holds it to
//! pulldown-cmark's) at a fraction of the cost. Any other line sends the whole
//! document through pulldown-cmark.
//!
//! # Status characters
//!
//! | checkbox | status |
//! |---|---|
//! | `[ ]` | pending |
//! | `[/]` | in progress |
//! | `[x]`, `[X]` | done (`x` is written) |
//! | `[-]` | cancelled |
//! | `[h]` | blocked |
//! | anything else | pending, with the character kept in `extra["status_char"]` |
//!
//! The first four are the Obsidian Tasks plugin's core statuses. The plugin has no
//! blocked status, and the popular custom-checkbox themes (Minimal, ITS) already use
//! `b` (bookmark), `!` (important), `?` (question), `>` (forwarded) and `<`
//! (scheduled); `h`, for *on hold*, is used by none of them. In the plugin, declare
//! `h` as a custom status of type `TODO` (or `NON_TASK`) to style it. Like the plugin,
//! an unknown character reads as pending; it is written back unchanged.
//!
//! # The line
//!
//! ```text
//! - [c] title  metadata metadata ...
//! ```
//!
//! Metadata tokens are read from the **end of the line backwards**, as the Tasks
//! plugin does; reading stops at the first piece of text that is not a token, and the
//! rest, without surrounding spaces and tabs, is the title. A token must follow a
//! space or a tab. So `#tags`, `[key:: value]` fields or emoji in the middle of a title
//! are title text.
//!
//! | field | emoji form | Dataview form |
//! |---|---|---|
//! | `id` | `🆔 abc` | `[id:: abc]` |
//! | `dependencies` | `⛔ a,b` (blanks around commas allowed) | `[dependsOn:: a,b]` |
//! | `priority` | `🔺` critical, `⏫` high, `🔼` medium, `🔽` low, `⏬` lowest | `[priority:: highest]`, `high`, `medium`, `low`, `lowest` (also `critical`, `normal`, `none`; any case) |
//! | `estimated_time` | `⏱ 1h30m` (one word) | `[estimate:: 1h30m]` |
//! | `tags` | `#tag` | `#tag` |
//! | `category` | | `[category:: text]` |
//! | `created_at`, `updated_at` | | `[created_at:: 2026-11-23T09:30:00Z]` (RFC 3339) |
//! | `actual_time` | | `[actual_time:: 45m]` |
//!
//! Metadata the model has no field for is kept in [`Task::extra`](crate::Task::extra)
//! as text, under these keys:
//!
//! | written | `extra` key |
//! |---|---|
//! | `📅 2026-01-31` (due) | `due` |
//! | `⏳ 2026-01-31` (scheduled) | `scheduled` |
//! | `🛫 2026-01-31` (start) | `start` |
//! | `➕ 2026-01-31` (created) | `created` |
//! | `✅ 2026-01-31` (done) | `completion` |
//! | `❌ 2026-01-31` (cancelled) | `cancelled` |
//! | `🔁 every week on Monday` | `repeat` |
//! | `🏁 delete` | `onCompletion` |
//! | `^block-id`, last on the line | `block_id` |
//! | `[key:: value]` or `(key:: value)`, any other key | `key` |
//! | an unknown checkbox character | `status_char` |
//!
//! These are the Tasks plugin's own Dataview names, so `📅 2026-01-31` and
//! `[due:: 2026-01-31]` read the same. Every emoji may be followed by U+FE0F (as in
//! `⏱️`). An emoji is a token only when what follows it has its value's shape (dates
//! are `YYYY-MM-DD`; `🔁` takes ASCII letters, digits, spaces, `,` and `!`; `🏁`
//! letters); otherwise it is title text, as in the plugin. Dataview keys are
//! case-sensitive; brackets inside a Dataview value must balance.
//!
//! **Errors.** A malformed value of a model field is a parse error naming the line,
//! the column of the value and the field: an invalid id (`🆔 a,b`), dependency,
//! priority name, duration or timestamp; a field given twice on one line; a
//! `[status_char:: ...]` or `[block_id:: ...]` field; and an id used by two tasks.
//!
//! # Titles
//!
//! The title is read as written, with two CommonMark decodings: a backslash before
//! ASCII punctuation is an escape and is dropped (`\#1` reads `#1`), and a numeric
//! character reference to a character that is not whitespace or a control character
//! is decoded (`&#x23EB;` reads `⏫`). Emphasis, links, `[[wiki links]]` and the like
//! stay as Markdown source. When writing, a backslash before ASCII punctuation is
//! doubled, `&#` is written `\&#` and each `%` of `%%` is written `\%` (so that no
//! comment opens); then, while the title would end with something
//! read as metadata, that token's first character is escaped: `#`, `[`, `(` and `^`
//! with a backslash (`Fix #12` is written `Fix \#12`), an emoji, which has no
//! backslash escape, with a numeric character reference (`Release ⏫` is written
//! `Release &#x23EB;`, which Obsidian renders as `⏫` and the Tasks plugin does not
//! take for a priority).
//!
//! # Descriptions
//!
//! The description is the rest of the item's first paragraph: its continuation lines,
//! each without indentation, block-quote markers and trailing blanks, joined with
//! `\n`, as written (no escapes decoded). Later paragraphs and nested lists of the item
//! are not part of it.
//!
//! ```text
//! - [ ] Write the release notes 🆔 notes
//!   Mention the new cache.
//!   Thank the contributors.
//! ```
//!
//! # What Markdown holds
//!
//! [`render`] refuses with [`Error::Unrepresentable`] any task that would not read
//! back unchanged:
//!
//! - a `title` with a line break or surrounding spaces or tabs;
//! - a `description` with an empty line, a carriage return, a line with surrounding
//!   spaces or tabs, or a line that Markdown could read as the start of a block
//!   (`# `, `> `, `<`, `- `, `* `, `+ `, `1. `, a fence, a rule, `===`, a table
//!   delimiter row);
//! - a `description` line holding `%%`, which would open an Obsidian comment;
//! - a `category` with a line break, surrounding blanks, `%%` or unbalanced `[` `]`;
//! - an `extra` value that is not a string; an extra whose key is a field's Dataview
//!   key, holds `:`, brackets, parentheses, control characters or surrounding blanks;
//!   an extra value with a line break, surrounding blanks, `%%` or unbalanced `[` `]`
//!   (unless the key has an emoji form that fits the value); a `status_char` that is
//!   not one unknown character, or on a task that is not pending; a `block_id` that
//!   is not letters, digits and `-`;
//! - two tasks with the same id.
//!
//! Ids, tags, dependencies, priorities, timestamps and durations always fit.
//!
//! # Writing
//!
//! [`render`] writes a fresh document, one line per task, `\n` line endings:
//!
//! ```text
//! - [c] title 🆔 id ⛔ deps priority ⏱ estimate #tags extras [category:: ...] [created_at:: ...] [updated_at:: ...] [actual_time:: ...] ^block-id
//!   description lines
//! ```
//!
//! using the emoji form wherever one exists and the value fits it. The id is always
//! written, so a derived id becomes explicit. [`MarkdownDocument`] instead rewrites
//! single tasks in an existing file and keeps the form (emoji or Dataview) each line
//! already uses.
//!
//! # Costs
//!
//! [`parse`] is one pass over the text to find the items (a scan of its lines, or one
//! pulldown-cmark pass, see above) plus, for each task, one scan of its line from the
//! end and the allocations of its strings: O(N) in the size of the text. On the
//! workspace benchmark (10,000 tasks as [`render`] writes them, `cargo bench -p
//! ssot-benches --bench formats -- markdown`) it reads about 190–240 MB/s, two thirds
//! of the speed at which pulldown-cmark alone walks the same text; building the tasks
//! (allocating their strings, which dropping the list frees again, checking ids, the
//! id index) is most of the cost. The same tasks in a document that needs
//! pulldown-cmark (after a fenced code block, say) read at about 110–135 MB/s.
//! [`render`] is O(N) with one output allocation (about 350–430 MB/s). See
//! [`MarkdownDocument`] for the cost of edits.

mod edit;
mod items;
mod line;
mod lines;
mod read;
mod write;

pub use self::edit::MarkdownDocument;
pub use self::lines::parse_with_lines;

use crate::error::Error;
use crate::format::list::TaskList;

/// Parses a Markdown document into its tasks, in document order.
///
/// The returned list's `document` is always `None`: what surrounds the tasks is not
/// kept (use [`MarkdownDocument`] to edit a file and keep it).
///
/// # Errors
///
/// [`Error::Parse`] naming the line, column and field of the first invalid metadata
/// value, or the line of a repeated id.
pub fn parse(text: &str) -> Result<TaskList, Error> {
    read::read(text).map(|r| TaskList::new(r.tasks))
}

/// Writes `list` as a fresh Markdown document: one `- [c] ...` line per task, in
/// order, followed by its description lines.
///
/// # Errors
///
/// [`Error::Unrepresentable`] for the first task Markdown cannot hold (see the
/// module documentation).
pub fn render(list: &TaskList) -> Result<String, Error> {
    write::render(list)
}
