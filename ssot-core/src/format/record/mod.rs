//! The task record as serde sees it: one hand-written (de)serialization shared by
//! [`json`](super::json) and [`yaml`](super::yaml).
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
//! # Unknown fields: `ssot-schema`'s reader
//!
//! The value of an unknown field (and of a top-level key other than `tasks`) is read
//! by [`ssot_schema::parse::StrictValue`], the reader `ssot-schema` validates with,
//! so that both crates accept and refuse the same values: it refuses, with a message
//! in the context's [`Refusal`](ssot_schema::parse::Refusal), what a JSON value cannot
//! hold instead of changing it (repeated keys, non-string keys, YAML tags, `.nan`,
//! integers beyond 64 bits).
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
//!
//! # Modules
//!
//! - `context`: [`Ctx`], what the visitors of one parse share (the input, and what
//!   is known about an error), and [`parse_document`].
//! - `read`: the deserialization visitors.
//! - `write`: the serializers, and the checks serialization cannot make itself.

mod context;
mod read;
mod write;

pub(crate) use self::context::{Ctx, parse_document};
pub(crate) use self::write::{DocumentOut, check_keys};
