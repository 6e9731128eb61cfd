//! [`Report`]: every problem found in a store's files, each at its `file:line:col`.
//!
//! One type serves validation, planning, configuration views and the manifest, so a
//! terminal shows one `file:line:col: message` line per problem (the form compilers
//! use, which editors jump to) and a tool reads one JSON shape
//! (`{"valid": bool, "problems": [{"file", "line", "column", "kind", "message",
//! "related"}]}`). Lines and columns are 1-based; a column counts characters.

use std::fmt;

use serde::Serialize;

/// A place in a store's file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// The file, relative to the store's root, `/` separated.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column in characters, when known.
    pub column: Option<usize>,
}

impl Location {
    /// The whole file, no line.
    pub fn file(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// A line (and column) of `file`.
    pub fn at(file: impl Into<String>, line: Option<usize>, column: Option<usize>) -> Location {
        Location {
            file: file.into(),
            line,
            column: line.and(column),
        }
    }
}

impl fmt::Display for Location {
    /// `file`, `file:line` or `file:line:col`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// What kind of problem a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The file could not be read.
    Io,
    /// The file is not UTF-8 text.
    Encoding,
    /// A task list that does not parse, or a document that is not well-formed JSON
    /// or YAML.
    Parse,
    /// A value that breaks the file's schema.
    Schema,
    /// A file matched as a task list whose format cannot be told from its name.
    UnknownFormat,
    /// A task id used twice in the store.
    DuplicateId,
    /// A dependency on a task no file holds.
    UnknownDependency,
    /// Dependencies that form a cycle.
    Cycle,
    /// A problem in the manifest, `ssot.yaml`.
    Manifest,
    /// A `${VAR}` that cannot be resolved.
    Interpolation,
    /// Estimates that do not add up (their sum overflows).
    Estimate,
}

impl ProblemKind {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Io => "io",
            ProblemKind::Encoding => "encoding",
            ProblemKind::Parse => "parse",
            ProblemKind::Schema => "schema",
            ProblemKind::UnknownFormat => "unknown_format",
            ProblemKind::DuplicateId => "duplicate_id",
            ProblemKind::UnknownDependency => "unknown_dependency",
            ProblemKind::Cycle => "cycle",
            ProblemKind::Manifest => "manifest",
            ProblemKind::Interpolation => "interpolation",
            ProblemKind::Estimate => "estimate",
        }
    }
}

/// One problem in one place, and the other places it involves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// Where it is.
    #[serde(flatten)]
    pub location: Location,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What is wrong and how to fix it, on one line.
    pub message: String,
    /// Other places involved: the first use of a duplicate id, the edges of a
    /// cycle. Their `file:line` is also in the message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Location>,
}

impl Problem {
    /// A problem at `location`.
    pub fn new(location: Location, kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            location,
            kind,
            message: message.into(),
            related: Vec::new(),
        }
    }

    /// Adds places involved.
    #[must_use]
    pub fn with_related(mut self, related: Vec<Location>) -> Problem {
        self.related = related;
        self
    }
}

impl fmt::Display for Problem {
    /// `file:line:col: message`, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.message.replace('\n', "\\n").replace('\r', "\\r");
        write!(f, "{}: {message}", self.location)
    }
}

/// Every problem found, sorted by file, line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Report {
    problems: Vec<Problem>,
}

impl Report {
    /// A report of `problems`, sorted by place (file, line, column), then kind.
    pub fn new(mut problems: Vec<Problem>) -> Report {
        problems.sort_by(|a, b| {
            (&a.location.file, a.location.line, a.location.column, a.kind).cmp(&(
                &b.location.file,
                b.location.line,
                b.location.column,
                b.kind,
            ))
        });
        problems.dedup();
        Report { problems }
    }

    /// Whether nothing is wrong.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems, sorted by place.
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems of one kind.
    pub fn of_kind(&self, kind: ProblemKind) -> impl Iterator<Item = &Problem> + '_ {
        self.problems.iter().filter(move |p| p.kind == kind)
    }

    /// The report as JSON: `{"valid": bool, "problems": [...]}`, the shape it
    /// serializes to.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        // Strings, numbers and lists of them: the conversion cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// `Ok(())` when valid, else [`Error::Invalid`](crate::Error::Invalid).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) with this report.
    pub fn into_result(self) -> Result<(), crate::Error> {
        if self.is_valid() {
            Ok(())
        } else {
            Err(crate::Error::Invalid(Box::new(self)))
        }
    }
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Report", 2)?;
        s.serialize_field("valid", &self.is_valid())?;
        s.serialize_field("problems", &self.problems)?;
        s.end()
    }
}

impl fmt::Display for Report {
    /// One `file:line:col: message` line per problem, or `no problems`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() {
            return f.write_str("no problems");
        }
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
