//! The crate's one error type.
//!
//! [`Error`] is for what stops a validation from happening at all: a schema that does
//! not compile, a `$ref` that leads nowhere, a document that is not JSON or YAML, a
//! YAML value JSON cannot hold. A document that parses but breaks its schema is *not*
//! an error: validation returns a [`Report`](crate::Report) listing every violation.
//! [`Report::into_result`](crate::Report::into_result) turns an invalid report into
//! [`Error::Invalid`] for callers who want `?`.

use std::path::PathBuf;

use crate::report::Report;

/// Everything that can go wrong in `ssot-schema`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schema name that cannot be used.
    #[error(
        "invalid schema name `{name}`: names are non-empty and use only ASCII letters, digits, `-`, `_`, `.` and `/`, with no empty, `.` or `..` part between slashes (or are absolute URIs)"
    )]
    InvalidName {
        /// The rejected name.
        name: String,
    },

    /// A name, or a `$id`, that is already registered.
    #[error(
        "cannot register schema `{name}`: {what} `{taken}` is already taken by schema `{by}`; pick another name or remove the duplicate `$id`"
    )]
    AlreadyRegistered {
        /// The schema being registered.
        name: String,
        /// `"name"`, `"$id"`, or `"URI"` (the URI the schema would be reached by, see
        /// [`SchemaRegistry::uri`](crate::SchemaRegistry::uri)).
        what: &'static str,
        /// The clashing name or `$id`.
        taken: String,
        /// The schema that holds it.
        by: String,
    },

    /// A `$ref` that points at no registered schema, or into nothing in one.
    #[error(
        "schema `{name}`: unresolvable `$ref`: {reason}; register the referenced schema first (or together, with `register_all`); remote references are never fetched"
    )]
    UnresolvableRef {
        /// The schema being registered.
        name: String,
        /// What the resolver said, naming the reference.
        reason: String,
    },

    /// A schema that is not a valid schema of its draft.
    #[error("schema `{name}` does not compile: {reason}")]
    InvalidSchema {
        /// The schema being registered.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A validation asked for a schema that is not registered.
    #[error("no schema named `{name}` (or with that `$id`) is registered; registered: {known}")]
    UnknownSchema {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },

    /// Text that is not well-formed JSON or YAML.
    #[error("{source_name}:{line}:{column}: not valid {format}: {message}")]
    Syntax {
        /// The file name, or `<input>` for text given directly.
        source_name: String,
        /// `"JSON"` or `"YAML"`.
        format: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What the parser said.
        message: String,
    },

    /// A YAML value the JSON data model cannot hold (a non-string key, `.nan`, a tag,
    /// an integer beyond 64 bits), or a key repeated in one mapping or object.
    #[error("{source_name}:{line}:{column}: {message}")]
    Unrepresentable {
        /// The file name, or `<input>` for text given directly.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What the value is and how to write it instead.
        message: String,
    },

    /// A YAML stream with more than one document given where one was expected.
    #[error(
        "{source_name}:{line}:1: a second YAML document starts here; validate a stream of documents with `validate_yaml_stream`, or remove the `---` separator"
    )]
    MultipleDocuments {
        /// The file name, or `<input>` for text given directly.
        source_name: String,
        /// The 1-based line where the second document starts.
        line: usize,
    },

    /// A file that could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A file whose extension names neither JSON nor YAML.
    #[error(
        "cannot tell the format of `{}`: use a `.json`, `.yaml` or `.yml` extension, or read the file yourself and call `validate_json`/`validate_yaml`",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },

    /// A document that breaks its schema, from [`Report::into_result`]. The report
    /// holds every violation; its `Display` renders them one per line.
    #[error("{0}")]
    Invalid(Box<Report>),
}

/// The result type of this crate: `Result<T, ssot_schema::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
