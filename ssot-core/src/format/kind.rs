//! [`Format`]: which of the four file formats a text is in.
//!
//! It sits below [`error`](crate::Error) in the crate's layers (a parse error names
//! its format), so it imports nothing from the crate.

use std::fmt;
use std::path::Path;

/// A task-list file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// CommonMark checkbox lists with Obsidian Tasks / Dataview metadata.
    Markdown,
    /// A JSON array of tasks, or an object with a `tasks` array.
    Json,
    /// A YAML sequence of tasks, or a mapping with a `tasks` sequence.
    Yaml,
    /// RFC 4180 CSV with one header row.
    Csv,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Markdown, Format::Json, Format::Yaml, Format::Csv];

    /// The format a file extension names (`md`, `markdown`, `json`, `yaml`, `yml`,
    /// `csv`, case-insensitive), or `None`.
    #[must_use]
    pub fn from_extension(ext: &str) -> Option<Format> {
        let ext = ext.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format of a path, from its extension.
    #[must_use]
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        path.as_ref()
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
    }

    /// The lowercase name of the format.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
