//! What a validation returns: a [`Report`] of every [`Violation`].
//!
//! A report is plain data: it owns its strings, is `Clone`, renders for a terminal
//! through `Display` (one `file:line:col: message` line per violation, the form
//! compilers use, so editors can jump to it) and serializes to JSON through serde for
//! tools.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::error::Error;

/// One way in which a document breaks its schema.
///
/// Serializes as an object with the field names of the accessors below;
/// `line`/`column` are `null` when unknown (a `Value` input has no text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub(crate) instance_location: String,
    pub(crate) schema_location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) absolute_schema_location: Option<String>,
    pub(crate) keyword: String,
    pub(crate) message: String,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
}

impl Violation {
    /// The JSON pointer (RFC 6901) of the offending value in the document: `""` for
    /// the root, `/tasks/3/priority` for a field.
    ///
    /// For `additionalProperties`, `unevaluatedProperties` and `propertyNames`,
    /// whose offending value is a key, this is the object holding the key;
    /// [`line`](Self::line) points at the key itself, and there is one violation per
    /// offending key.
    pub fn instance_location(&self) -> &str {
        &self.instance_location
    }

    /// The JSON pointer of the failing keyword in the schema, as reached from the
    /// root, through any `$ref`: `/properties/tasks/items/$ref/properties/id/pattern`.
    pub fn schema_location(&self) -> &str {
        &self.schema_location
    }

    /// The failing keyword's absolute location, `$id` plus fragment
    /// (`https://ssot.dev/schemas/task.json#/properties/id/pattern`), when the schema
    /// that holds it has an absolute URI.
    pub fn absolute_schema_location(&self) -> Option<&str> {
        self.absolute_schema_location.as_deref()
    }

    /// The keyword that failed: `type`, `required`, `pattern`, `additionalProperties`...
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// What is wrong, in a sentence.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The 1-based line of the offending value in the source text; `None` for a
    /// validated `Value`, or for YAML that saphyr cannot read although yaml_serde
    /// could (see [Line and column](crate#line-and-column)).
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The 1-based column, counted in characters, of the offending value's first
    /// character (the opening quote of a quoted string, the `{` or `[` of a JSON
    /// container, the first key of a YAML block mapping); `None` for a validated `Value`.
    pub fn column(&self) -> Option<usize> {
        self.column
    }
}

/// The result of one validation: the violations, in the order the validator found
/// them (schema order, then document order), each with its location.
///
/// Empty means valid. `Display` renders one line per violation:
///
/// ```text
/// tasks.yaml:3:15: "urgent" is not one of ["critical","high",...] (at /tasks/0/priority, schema /properties/...)
/// ```
#[must_use = "a report says whether the document is valid; check `is_valid()` or call `into_result()`"]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    #[serde(serialize_with = "shared_str")]
    pub(crate) schema: Arc<str>,
    pub(crate) source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) document: Option<usize>,
    pub(crate) valid: bool,
    pub(crate) errors: Vec<Violation>,
}

impl Report {
    pub(crate) fn new(schema: &Arc<str>, errors: Vec<Violation>) -> Report {
        Report {
            schema: Arc::clone(schema),
            source: None,
            document: None,
            valid: errors.is_empty(),
            errors,
        }
    }

    /// Whether the document satisfies its schema.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Every violation found; empty when valid.
    pub fn errors(&self) -> &[Violation] {
        &self.errors
    }

    /// The name the schema the document was validated against was registered under
    /// (also when it was looked up by `$id`).
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The source name used when rendering (a file path), if one was set.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// For a document of a YAML stream, its 0-based index in the stream.
    pub fn document(&self) -> Option<usize> {
        self.document
    }

    /// Names the source, usually a file path, for rendering (`file:line:col`).
    /// [`SchemaRegistry::validate_file`](crate::SchemaRegistry::validate_file) sets it.
    pub fn with_source(mut self, source: impl Into<String>) -> Report {
        self.source = Some(source.into());
        self
    }

    /// `Ok(())` when valid, otherwise [`Error::Invalid`] holding this report.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the report holds any violation.
    pub fn into_result(self) -> Result<(), Error> {
        if self.valid {
            Ok(())
        } else {
            Err(Error::Invalid(Box::new(self)))
        }
    }

    /// The report as a JSON value (the same shape `serde` serializes).
    pub fn to_json(&self) -> serde_json::Value {
        // Every field is a string, a number, a bool, null or a list of those: the
        // conversion cannot fail, and `Null` would only stand for a bug.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.source.as_deref().unwrap_or("<input>");
        if self.valid {
            return write!(f, "{source}: valid against schema `{}`", self.schema);
        }
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            match (e.line, e.column) {
                (Some(l), Some(c)) => write!(f, "{source}:{l}:{c}: ")?,
                _ => write!(f, "{source}: ")?,
            }
            let at = if e.instance_location.is_empty() {
                "the document root"
            } else {
                &e.instance_location
            };
            // One line per violation, whatever a key or a schema's `description`
            // holds, so that tools reading `file:line:col:` lines are not misled.
            let message = e.message.replace('\n', "\\n").replace('\r', "\\r");
            write!(
                f,
                "{message} (at {at}; schema `{}` {})",
                self.schema, e.schema_location
            )?;
        }
        Ok(())
    }
}

/// Serializes the shared schema name as a string (serde's `rc` feature is off).
fn shared_str<S: Serializer>(s: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(s)
}
