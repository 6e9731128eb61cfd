//! Cached reads; the freshness rules are documented on [`ReadStats`].

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use ssot_cache::MemoryCache;
use ssot_schema::SchemaRegistry;

use super::locate::{self, Syntax};
use super::manifest::syntax_of;
use super::report::{Location, Problem, ProblemKind};
use super::scan::Role;
use crate::format::{self, Format, TaskList};
use crate::task::Task;

/// How much older than the read a file's modification time must be for its
/// fingerprint to be trusted (see the racy-clean rule on [`ReadStats`]).
pub const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The schema registered in every store's registry that accepts any document, used
/// to read configuration files through `ssot-schema`'s strict reader.
pub(crate) const ANY_SCHEMA: &str = "ssot-store/any";

/// A task list file of the store, parsed, with where each task is.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFile {
    path: String,
    format: Format,
    list: TaskList,
    lines: Vec<Option<usize>>,
    dependency_lines: Vec<Vec<Option<usize>>>,
}

impl TaskFile {
    /// The path relative to the root.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The file's format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The tasks, in document order.
    #[must_use]
    pub fn tasks(&self) -> &[Task] {
        &self.list.tasks
    }

    /// The whole list, with what surrounded the tasks (JSON and YAML).
    #[must_use]
    pub fn list(&self) -> &TaskList {
        &self.list
    }

    /// Where the `index`-th task is: its file and the line its record starts on (a
    /// Markdown checkbox line, a CSV row, the first key of a YAML mapping, the `{` of
    /// a JSON object).
    #[must_use]
    pub fn location(&self, index: usize) -> Location {
        Location::at(&self.path, self.lines.get(index).copied().flatten(), None)
    }

    /// Where the `index`-th task names its `dep`-th dependency: the dependency's own
    /// line in JSON and YAML, the task's line in Markdown and CSV.
    #[must_use]
    pub fn dependency_location(&self, index: usize, dep: usize) -> Location {
        let line = self
            .dependency_lines
            .get(index)
            .and_then(|d| d.get(dep))
            .copied()
            .flatten()
            .or_else(|| self.lines.get(index).copied().flatten());
        Location::at(&self.path, line, None)
    }
}

/// A JSON or YAML document of the store, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    path: String,
    schema: Option<String>,
    value: Value,
    text: String,
}

impl Document {
    /// The path relative to the root.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The schema it is checked against, if any.
    #[must_use]
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The parsed value.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The text as read.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn syntax(&self) -> Syntax {
        syntax_of(&self.path).unwrap_or(Syntax::Yaml)
    }
}

/// What reading a file gave.
#[derive(Debug)]
pub(crate) enum Content {
    Tasks(Arc<TaskFile>),
    Document(Arc<Document>),
}

/// One read of a file: its content when it could be read, and its problems.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) problems: Vec<Problem>,
    pub(crate) content: Option<Content>,
}

/// What the store reads a file as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ReadAs {
    Role(Role),
    /// A configuration overlay file: any JSON or YAML.
    Config,
}

/// A file's identity and version as `stat` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    unix: (u64, u64, i64, i64),
}

impl Fingerprint {
    fn of(meta: &fs::Metadata) -> Fingerprint {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Fingerprint {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            unix: (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()),
        }
    }
}

#[derive(Debug)]
struct Cached {
    fingerprint: Fingerprint,
    read_at: SystemTime,
    hash: blake3::Hash,
    read_as: ReadAs,
    loaded: Arc<Loaded>,
}

impl Cached {
    /// Whether the fingerprint alone may be trusted (see the racy-clean rule).
    fn fingerprint_trusted(&self) -> bool {
        match self.fingerprint.modified {
            Some(m) => m
                .checked_add(RACY_WINDOW)
                .is_some_and(|limit| limit <= self.read_at),
            None => false,
        }
    }
}

/// Counts of what the store's reads did.
///
/// The store reads its files through `ssot-cache`: each file is parsed and validated
/// once per content change, and never served stale.
///
/// # The cache and its freshness check
///
/// A [`MemoryCache`] maps a file's path to what reading it gave: the parsed task
/// list or document, every problem found in it, the BLAKE3 hash of its bytes, and the
/// file's *fingerprint* at the time it was read: size, modification time and, on
/// Unix, device, inode and change time (`ctime`, which no user call can set back).
/// Every read first takes the file's fingerprint (one `stat`):
///
/// - the same fingerprint, and the entry is not *racy* (below): the cached result is
///   served without opening the file;
/// - otherwise the file is read and hashed; when the hash equals the cached one (a
///   `touch`, a rewrite of the same bytes) the parsed result is kept and only the
///   fingerprint refreshed; else the file is parsed and validated again.
///
/// # The racy-clean rule
///
/// A file written twice within one tick of its file system's timestamp clock can
/// keep its size and modification time while its content changes (git calls such an
/// index entry "racily clean"). So the fingerprint is trusted only for a file whose
/// modification time is at least [`RACY_WINDOW`] older than the moment the store
/// began reading it; a younger one is re-read and re-hashed on every access until it
/// ages out of the window (cheap: no parse unless the hash changed). The window is
/// 2 s, the coarsest timestamp granularity of a file system in use (FAT); on ext4,
/// XFS, APFS or NTFS it is far more than needed, which costs only re-hashing files
/// changed in the last two seconds.
///
/// A file whose modification time lies in the future (a clock set back, a copy from
/// another machine) stays racy until the clock passes it, so it is re-hashed on
/// every read meanwhile: correct, and slower only for such files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadStats {
    /// Reads answered from the cache after a `stat` alone.
    pub fresh_hits: u64,
    /// Reads that read and hashed the file and found the cached content unchanged.
    pub unchanged_rereads: u64,
    /// Reads that parsed and validated the file (first reads and changed content).
    pub parses: u64,
}

#[derive(Debug, Default)]
struct Counters {
    fresh_hits: AtomicU64,
    unchanged_rereads: AtomicU64,
    parses: AtomicU64,
}

/// The cached reader of a store's files.
pub(crate) struct Reader {
    cache: MemoryCache<String, Arc<Cached>>,
    counters: Counters,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("cached", &self.cache.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Reader {
    pub(crate) fn new(capacity: u64) -> Reader {
        Reader {
            cache: MemoryCache::new(capacity.max(1)),
            counters: Counters::default(),
        }
    }

    pub(crate) fn stats(&self) -> ReadStats {
        ReadStats {
            fresh_hits: self.counters.fresh_hits.load(Ordering::Relaxed),
            unchanged_rereads: self.counters.unchanged_rereads.load(Ordering::Relaxed),
            parses: self.counters.parses.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn cache_stats(&self) -> ssot_cache::CacheStats {
        self.cache.stats()
    }

    /// Forgets what was read of `rel` (the write side calls it after changing the
    /// file), so that the next read parses the new bytes.
    pub(crate) fn invalidate(&self, rel: &str) {
        self.cache.remove(rel);
    }

    /// Forgets every file read (after a rollback).
    pub(crate) fn clear(&self) {
        self.cache.invalidate_all();
    }

    /// Reads `rel` (at `full`) as `read_as`, through the cache.
    pub(crate) fn load(
        &self,
        registry: &SchemaRegistry,
        rel: &str,
        full: &Path,
        read_as: &ReadAs,
    ) -> Arc<Loaded> {
        let read_at = SystemTime::now();
        let meta = match fs::metadata(full) {
            Ok(m) => m,
            Err(e) => {
                self.cache.remove(rel);
                return Arc::new(failed(rel, ProblemKind::Io, format!("cannot read: {e}")));
            }
        };
        let fingerprint = Fingerprint::of(&meta);
        let cached = self.cache.get(rel).filter(|c| c.read_as == *read_as);
        if let Some(c) = &cached
            && c.fingerprint == fingerprint
            && c.fingerprint_trusted()
        {
            self.counters.fresh_hits.fetch_add(1, Ordering::Relaxed);
            return Arc::clone(&c.loaded);
        }
        let bytes = match fs::read(full) {
            Ok(b) => b,
            Err(e) => {
                self.cache.remove(rel);
                return Arc::new(failed(rel, ProblemKind::Io, format!("cannot read: {e}")));
            }
        };
        let hash = blake3::hash(&bytes);
        let loaded = match cached {
            Some(c) if c.hash == hash => {
                self.counters
                    .unchanged_rereads
                    .fetch_add(1, Ordering::Relaxed);
                Arc::clone(&c.loaded)
            }
            _ => {
                self.counters.parses.fetch_add(1, Ordering::Relaxed);
                Arc::new(parse(registry, rel, bytes, read_as))
            }
        };
        self.cache.insert(
            rel.to_owned(),
            Arc::new(Cached {
                fingerprint,
                read_at,
                hash,
                read_as: read_as.clone(),
                loaded: Arc::clone(&loaded),
            }),
        );
        loaded
    }
}

fn failed(rel: &str, kind: ProblemKind, message: String) -> Loaded {
    Loaded {
        problems: vec![Problem::new(Location::file(rel), kind, message)],
        content: None,
    }
}

pub(crate) fn parse(
    registry: &SchemaRegistry,
    rel: &str,
    bytes: Vec<u8>,
    read_as: &ReadAs,
) -> Loaded {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            return Loaded {
                problems: vec![Problem::new(
                    Location::at(rel, Some(line), None),
                    ProblemKind::Encoding,
                    format!("not UTF-8 text (invalid byte at offset {at}); save the file as UTF-8"),
                )],
                content: None,
            };
        }
    };
    match read_as {
        ReadAs::Role(Role::Tasks { format, schema }) => {
            parse_tasks(registry, rel, text, *format, schema.as_deref())
        }
        ReadAs::Role(Role::Document { schema }) => {
            parse_document(registry, rel, text, Some(schema))
        }
        ReadAs::Config => parse_document(registry, rel, text, None),
    }
}

fn parse_tasks(
    registry: &SchemaRegistry,
    rel: &str,
    text: String,
    format: Format,
    schema: Option<&str>,
) -> Loaded {
    let parsed = match format {
        Format::Markdown => format::markdown::parse_with_lines(&text)
            .map(|(list, lines)| (list, lines.into_iter().map(Some).collect::<Vec<_>>(), None)),
        Format::Csv => format::parse(format, &text).map(|list| {
            let lines = csv_lines(&text, list.tasks.len());
            (list, lines, None)
        }),
        _ => format::parse(format, &text).map(|list| {
            let syntax = if format == Format::Json {
                Syntax::Json
            } else {
                Syntax::Yaml
            };
            let counts: Vec<usize> = list.tasks.iter().map(|t| t.dependencies.len()).collect();
            let p = locate::task_positions(syntax, &text, list.document.is_some(), &counts);
            let lines = p.tasks.iter().map(|a| a.map(|a| a.0)).collect();
            let deps = p
                .dependencies
                .iter()
                .map(|d| d.iter().map(|a| a.map(|a| a.0)).collect())
                .collect();
            (list, lines, Some(deps))
        }),
    };
    let (list, lines, dependency_lines) = match parsed {
        Ok(p) => p,
        Err(e) => {
            let (line, column, message) = match &e {
                crate::Error::Parse(p) => {
                    let field = p
                        .field
                        .as_deref()
                        .map(|f| format!("field `{f}`: "))
                        .unwrap_or_default();
                    (
                        (p.line > 0).then_some(p.line),
                        p.column,
                        format!("{field}{}", p.message),
                    )
                }
                other => (None, None, other.to_string()),
            };
            return Loaded {
                problems: vec![Problem::new(
                    Location::at(rel, line, column),
                    ProblemKind::Parse,
                    format!("{format} task list: {message}"),
                )],
                content: None,
            };
        }
    };
    let mut problems = Vec::new();
    if let Some(schema) = schema {
        match format {
            Format::Json => problems = schema_problems(registry, rel, &text, schema, Syntax::Json).1,
            Format::Yaml => problems = schema_problems(registry, rel, &text, schema, Syntax::Yaml).1,
            _ => problems.push(Problem::new(
                Location::file(rel),
                ProblemKind::Manifest,
                format!(
                    "ssot.yaml gives this {format} task list the schema `{schema}`, but schemas check \
                     only JSON and YAML task lists; remove `schema:` from its rule"
                ),
            )),
        }
    }
    let dependency_lines =
        dependency_lines.unwrap_or_else(|| list.tasks.iter().map(|_| Vec::new()).collect());
    Loaded {
        problems,
        content: Some(Content::Tasks(Arc::new(TaskFile {
            path: rel.to_owned(),
            format,
            list,
            lines,
            dependency_lines,
        }))),
    }
}

/// The line of each CSV record after the header, as the `csv` crate counts them
/// (the same reader settings as the format's, so record `i` is task `i`).
fn csv_lines(text: &str, tasks: usize) -> Vec<Option<usize>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = ::csv::ByteRecord::new();
    let mut lines = Vec::with_capacity(tasks + 1);
    let bytes = text.as_bytes();
    while let Ok(true) = reader.read_byte_record(&mut record) {
        // The reader reports where it started looking, before the blank lines it
        // skipped: step over those, as the format's reader does.
        lines.push(record.position().map(|p| {
            let mut line = usize::try_from(p.line()).unwrap_or(usize::MAX);
            let mut at = usize::try_from(p.byte()).unwrap_or(usize::MAX);
            while let Some(&b) = bytes.get(at) {
                match b {
                    b'\n' => line += 1,
                    b'\r' => {}
                    _ => break,
                }
                at += 1;
            }
            line
        }));
    }
    let mut lines: Vec<Option<usize>> = lines.into_iter().skip(1).collect();
    lines.resize(tasks, None);
    lines
}

/// Validates `text` against `schema`; returns the parsed value, when the text could
/// be read, and the problems.
pub(crate) fn schema_problems(
    registry: &SchemaRegistry,
    rel: &str,
    text: &str,
    schema: &str,
    syntax: Syntax,
) -> (Option<Value>, Vec<Problem>) {
    let report = match syntax {
        Syntax::Json => registry.validate_json(schema, text),
        Syntax::Yaml => registry.validate_yaml(schema, text),
    };
    match report {
        Ok(report) => {
            let problems = report
                .errors()
                .iter()
                .map(|v| {
                    let at = if v.instance_location().is_empty() {
                        "the document root"
                    } else {
                        v.instance_location()
                    };
                    Problem::new(
                        Location::at(rel, v.line(), v.column()),
                        ProblemKind::Schema,
                        format!("{} (at {at}; schema `{schema}`)", v.message()),
                    )
                })
                .collect();
            let value = match syntax {
                Syntax::Json => serde_json::from_str(text).ok(),
                Syntax::Yaml => serde_yaml::from_str(text).ok(),
            };
            (value, problems)
        }
        Err(ssot_schema::Error::Syntax {
            line,
            column,
            message,
            format,
            ..
        }) => (
            None,
            vec![Problem::new(
                Location::at(rel, Some(line), Some(column)),
                ProblemKind::Parse,
                format!("not valid {format}: {message}"),
            )],
        ),
        Err(ssot_schema::Error::Unrepresentable {
            line,
            column,
            message,
            ..
        }) => (
            None,
            vec![Problem::new(
                Location::at(rel, Some(line), Some(column)),
                ProblemKind::Parse,
                message,
            )],
        ),
        Err(ssot_schema::Error::MultipleDocuments { line, .. }) => (
            None,
            vec![Problem::new(
                Location::at(rel, Some(line), Some(1)),
                ProblemKind::Parse,
                "a second YAML document starts here; a store document is one document (remove the `---`)",
            )],
        ),
        Err(e) => (
            None,
            vec![Problem::new(
                Location::file(rel),
                ProblemKind::Schema,
                e.to_string(),
            )],
        ),
    }
}

fn parse_document(
    registry: &SchemaRegistry,
    rel: &str,
    text: String,
    schema: Option<&str>,
) -> Loaded {
    let syntax = syntax_of(rel).unwrap_or(Syntax::Yaml);
    let (value, problems) =
        schema_problems(registry, rel, &text, schema.unwrap_or(ANY_SCHEMA), syntax);
    let Some(value) = value else {
        return Loaded {
            problems,
            content: None,
        };
    };
    Loaded {
        problems,
        content: Some(Content::Document(Arc::new(Document {
            path: rel.to_owned(),
            schema: schema.map(str::to_owned),
            value,
            text,
        }))),
    }
}
