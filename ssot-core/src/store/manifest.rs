//! The manifest, `ssot.yaml`: which files are what, configuration overlay sets,
//! settings.
//!
//! # Format
//!
//! ```yaml
//! version: 1
//! files:                      # glob -> kind; the first glob that matches decides
//!   "notes/**": ignore        # not part of the store
//!   "**/*.md": tasks          # task lists, format from the extension
//!   "**/*.tasks.{yaml,yml,json,csv}": tasks
//!   "plan.txt": { tasks: markdown }            # format given
//!   "backlog.yaml": { tasks: yaml, schema: ssot/task-list }  # also schema-checked
//!   "registry/automation.yaml": { schema: ssot/automation-registry }
//!   "services/*.yaml": { schema: service }     # a user schema, below
//!   "jobs/*.json": { schema: schemas/job.json } # or a schema file's path
//! schemas:                    # user schemas: name -> file in the store
//!   service: schemas/service.json
//! configs:                    # overlay sets, merged in order by RFC 7396
//!   app: [config/base.yaml, config/production.yaml]
//!   app-checked: { files: [config/base.yaml], schema: app-config }
//! settings:
//!   snapshot: on-request      # or every-change
//!   cache: { documents: 1024 }
//!   lock_timeout: 5s
//!   audit_retention: forever  # or a duration: 90d (older revisions are pruned)
//! ```
//!
//! The manifest is checked in two steps. First against the built-in schema
//! [`MANIFEST_SCHEMA`] (`ssot-core/schemas/manifest.json`), which `ssot-schema`
//! reports with `ssot.yaml:line:col`; then each value that a schema cannot judge:
//! globs must compile and stay inside the root (no leading `/`, no `..` segment, no
//! drive letter), paths too, schema names must be known and not claim the reserved
//! `ssot/` prefix, durations must parse. Every problem of both steps is reported at
//! once, each at the line of its key or value.
//!
//! Every key is optional: without `files:` the default rules below apply, without
//! `settings:` (or one of its keys) the defaults of [`Settings`]. A file that no glob
//! matches is not part of the store; `ssot.yaml` itself never is.
//!
//! Globs use `globset` with `literal_separator`: `*` stays within one directory,
//! `**` crosses them, `{a,b}` is an alternative. They are matched against the path
//! relative to the root with `/` separators, whatever the platform.
//!
//! # Without a manifest
//!
//! A directory without `ssot.yaml` is read with [`Manifest::default`]: every
//! `**/*.md` is a Markdown task list, every `**/*.tasks.{yaml,yml,json,csv}` a task
//! file, no documents, no configurations, default settings. [`DEFAULT_MANIFEST`] is
//! that manifest, as `init` writes it.

use std::time::Duration;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use jiff::fmt::friendly::SpanParser;
use serde_json::Value;
use ssot_schema::SchemaRegistry;

use ssot_schema::position::{self, Syntax};

use super::report::{Location, Problem, ProblemKind, Report};
use crate::format::Format;

/// The name of the manifest file at a store's root.
pub const MANIFEST_FILE: &str = "ssot.yaml";

/// The name under which the manifest's schema is registered in a store's
/// [`SchemaRegistry`].
pub const MANIFEST_SCHEMA: &str = "ssot/manifest";

/// The manifest's JSON Schema.
pub const MANIFEST_SCHEMA_TEXT: &str = include_str!("../../schemas/manifest.json");

/// The manifest [`Store::init`](super::Store::init) writes, equal to
/// [`Manifest::default`].
pub const DEFAULT_MANIFEST: &str = "\
# ssot store manifest. See the documentation of `ssot_core::store::manifest`.
version: 1
files:
  # The first glob that matches a file decides what it is.
  \"**/*.md\": tasks
  \"**/*.tasks.{yaml,yml,json,csv}\": tasks
settings:
  snapshot: on-request
  cache:
    documents: 1024
  lock_timeout: 5s
  audit_retention: forever
";

/// What the files matched by a glob are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// Task lists; `format` `None` means from the file's extension. `schema`, for
    /// JSON and YAML, also checks the file against a schema.
    Tasks {
        /// The format, or `None` for the extension's.
        format: Option<Format>,
        /// A schema to check the file against, besides parsing it.
        schema: Option<String>,
    },
    /// Documents (JSON or YAML, from the extension) checked against a schema.
    Document {
        /// The schema: a built-in name, a user name or a registered path.
        schema: String,
    },
    /// Not part of the store.
    Ignore,
}

/// One `glob: kind` entry of `files:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRule {
    /// The glob, as written.
    pub glob: String,
    /// What matching files are.
    pub kind: FileKind,
}

/// One configuration overlay set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSet {
    /// Its name under `configs:`.
    pub name: String,
    /// Its files, base first; each later one overrides the earlier ones.
    pub files: Vec<String>,
    /// A schema the merged, resolved view is checked against.
    pub schema: Option<String>,
}

/// When the store records a version of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SnapshotPolicy {
    /// After every change.
    EveryChange,
    /// Only when asked.
    #[default]
    OnRequest,
}

/// How long audit records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuditRetention {
    /// Always.
    #[default]
    Forever,
    /// For this long after they are written.
    For(Duration),
}

/// The store's settings, typed. Parsed and checked at open.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// When versions are recorded: with every commit (in the same all-or-nothing
    /// write), or only by [`Store::snapshot`](super::Store::snapshot). Default: on
    /// request.
    pub snapshot: SnapshotPolicy,
    /// How many parsed documents the read cache keeps. Default: 1,024.
    pub cache_documents: u64,
    /// How long a change waits for its locks (each file's in-process lock and
    /// `.ssot/lock`, together) before [`Error::LockTimeout`](crate::Error::LockTimeout).
    /// Default: 5 s.
    pub lock_timeout: Duration,
    /// How long audit records are kept. Default: forever. With a duration, whole
    /// revisions older than it are pruned from the start of the audit log by
    /// [`Store::prune_audit`](super::Store::prune_audit) (and after commits), never
    /// the last revision; `.ssot/audit.anchor` keeps the kept log provable and
    /// drift exact (see `retention.rs`).
    pub audit_retention: AuditRetention,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            snapshot: SnapshotPolicy::OnRequest,
            cache_documents: 1024,
            lock_timeout: Duration::from_secs(5),
            audit_retention: AuditRetention::Forever,
        }
    }
}

/// A parsed and checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    rules: Vec<FileRule>,
    globs: GlobSet,
    schemas: Vec<(String, String)>,
    configs: Vec<ConfigSet>,
    settings: Settings,
    from_file: bool,
}

impl Default for Manifest {
    /// The manifest of a directory without `ssot.yaml` (see the module docs).
    fn default() -> Manifest {
        let rules = vec![
            FileRule {
                glob: "**/*.md".into(),
                kind: FileKind::Tasks {
                    format: None,
                    schema: None,
                },
            },
            FileRule {
                glob: "**/*.tasks.{yaml,yml,json,csv}".into(),
                kind: FileKind::Tasks {
                    format: None,
                    schema: None,
                },
            },
        ];
        let mut set = GlobSetBuilder::new();
        for rule in &rules {
            // Both globs are constants that compile; a test proves it.
            if let Ok(glob) = glob(&rule.glob) {
                set.add(glob);
            }
        }
        Manifest {
            globs: set.build().unwrap_or_else(|_| GlobSet::empty()),
            rules,
            schemas: Vec::new(),
            configs: Vec::new(),
            settings: Settings::default(),
            from_file: false,
        }
    }
}

fn glob(text: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(text).literal_separator(true).build()
}

/// Why a relative path given in the manifest or to the store is refused, if it is.
pub(crate) fn outside_root(path: &str) -> Option<&'static str> {
    if path.starts_with('/') || path.starts_with('\\') {
        return Some("it is absolute; write it relative to the directory holding ssot.yaml");
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some("it names a drive; write it relative to the directory holding ssot.yaml");
    }
    if path.split(['/', '\\']).any(|s| s == "..") {
        return Some("it has a `..` segment, which reaches outside the store's root");
    }
    None
}

static DURATIONS: SpanParser = SpanParser::new();

/// Parses a duration of the manifest (`500ms`, `5s`, `1h30m`, `90d`; a day is
/// 24 hours).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let fail = |e: &dyn std::fmt::Display| {
        format!("invalid duration `{text}` ({e}); write it like `500ms`, `5s`, `1h30m` or `90d`")
    };
    let span = DURATIONS.parse_span(text.trim()).map_err(|e| fail(&e))?;
    let seconds = span
        .total((
            jiff::Unit::Second,
            jiff::SpanRelativeTo::days_are_24_hours(),
        ))
        .map_err(|e| fail(&e))?;
    if !(0.0..=1e15).contains(&seconds) {
        return Err(fail(&"out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Collects problems at positions in the manifest text.
struct Problems<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl Problems<'_> {
    /// A problem at the key `pointer` ends with.
    fn at_key(&mut self, pointer: &str, message: String) {
        let at = position::key_position(Syntax::Yaml, self.text, pointer);
        self.push(at, message);
    }

    /// A problem at the value at `pointer`.
    fn at_value(&mut self, pointer: &str, message: String) {
        let at = position::value_position(Syntax::Yaml, self.text, pointer);
        self.push(at, message);
    }

    fn push(&mut self, at: Option<position::Position>, message: String) {
        self.problems.push(Problem::new(
            Location::at(MANIFEST_FILE, at.map(|a| a.line), at.map(|a| a.column)),
            ProblemKind::Manifest,
            message,
        ));
    }
}

impl Manifest {
    /// Parses and checks manifest text against the built-in schema registered in
    /// `registry` under [`MANIFEST_SCHEMA`] (see the module docs). `is_schema`
    /// tells whether a name is a registered schema (built-in or user).
    ///
    /// Every problem is reported in one [`Report`], each at its
    /// `ssot.yaml:line:col`.
    pub(crate) fn parse(text: &str, registry: &SchemaRegistry) -> Result<Manifest, Report> {
        let manifest_location =
            |line: Option<usize>, column| Location::at(MANIFEST_FILE, line, column);
        let report = match registry.validate_yaml(MANIFEST_SCHEMA, text) {
            Ok(report) => report,
            Err(e) => {
                return Err(Report::new(vec![Problem::new(
                    manifest_location(None, None),
                    ProblemKind::Manifest,
                    e.to_string(),
                )]));
            }
        };
        if !report.is_valid() {
            return Err(Report::new(
                report
                    .errors()
                    .iter()
                    .map(|v| {
                        let at = if v.instance_location().is_empty() {
                            "the document root".to_owned()
                        } else {
                            v.instance_location().to_owned()
                        };
                        Problem::new(
                            manifest_location(v.line(), v.column()),
                            ProblemKind::Manifest,
                            format!("{} (at {at})", v.message()),
                        )
                    })
                    .collect(),
            ));
        }
        let value: Value = match serde_yaml::from_str(text) {
            Ok(Value::Null) => Value::Object(serde_json::Map::new()),
            Ok(v) => v,
            Err(e) => {
                let at = e.location().map(|l| (l.line(), l.column()));
                return Err(Report::new(vec![Problem::new(
                    manifest_location(at.map(|a| a.0), at.map(|a| a.1)),
                    ProblemKind::Manifest,
                    e.to_string(),
                )]));
            }
        };
        let mut problems = Problems {
            text,
            problems: Vec::new(),
        };
        let mut manifest = Manifest::read(&value, &mut problems);
        manifest.from_file = true;
        manifest.check_schema_names(registry, &mut problems);
        if problems.problems.is_empty() {
            Ok(manifest)
        } else {
            Err(Report::new(problems.problems))
        }
    }

    /// Reads the schema-valid `value`, checking what the schema cannot.
    fn read(value: &Value, problems: &mut Problems<'_>) -> Manifest {
        let mut manifest = Manifest {
            rules: Vec::new(),
            globs: GlobSet::empty(),
            schemas: Vec::new(),
            configs: Vec::new(),
            settings: Settings::default(),
            from_file: true,
        };
        let mut set = GlobSetBuilder::new();
        if let Some(files) = value.get("files").and_then(Value::as_object) {
            for (pattern, kind) in files {
                let pointer = format!("/files/{}", escape(pattern));
                if let Some(why) = outside_root(pattern) {
                    problems.at_key(
                        &pointer,
                        format!("glob `{pattern}` reaches outside the store's root: {why}"),
                    );
                    continue;
                }
                match glob(pattern) {
                    Ok(g) => {
                        set.add(g);
                    }
                    Err(e) => {
                        problems
                            .at_key(&pointer, format!("invalid glob `{pattern}`: {}", e.kind()));
                        continue;
                    }
                }
                manifest.rules.push(FileRule {
                    glob: pattern.clone(),
                    kind: read_kind(kind),
                });
            }
        } else {
            manifest.rules = Manifest::default().rules;
            for rule in &manifest.rules {
                if let Ok(g) = glob(&rule.glob) {
                    set.add(g);
                }
            }
        }
        match set.build() {
            Ok(globs) => manifest.globs = globs,
            Err(e) => problems.at_key("/files", format!("the globs do not compile together: {e}")),
        }
        if let Some(schemas) = value.get("schemas").and_then(Value::as_object) {
            for (name, path) in schemas {
                let pointer = format!("/schemas/{}", escape(name));
                let path = path.as_str().unwrap_or_default();
                if name.starts_with("ssot/") {
                    problems.at_key(
                        &pointer,
                        format!("schema name `{name}`: names starting with `ssot/` are reserved for the built-in schemas; choose another"),
                    );
                } else if let Some(why) = outside_root(path) {
                    problems.at_value(&pointer, format!("schema file `{path}`: {why}"));
                } else {
                    manifest.schemas.push((name.clone(), path.to_owned()));
                }
            }
        }
        if let Some(configs) = value.get("configs").and_then(Value::as_object) {
            for (name, entry) in configs {
                let (files, schema) = match entry {
                    Value::Array(files) => (files.as_slice(), None),
                    Value::Object(o) => (
                        o.get("files")
                            .and_then(Value::as_array)
                            .map_or(&[][..], Vec::as_slice),
                        o.get("schema").and_then(Value::as_str).map(str::to_owned),
                    ),
                    _ => (&[][..], None),
                };
                let mut set = ConfigSet {
                    name: name.clone(),
                    files: Vec::new(),
                    schema,
                };
                let files_pointer = if entry.is_array() {
                    format!("/configs/{}", escape(name))
                } else {
                    format!("/configs/{}/files", escape(name))
                };
                for (i, file) in files.iter().enumerate() {
                    let file = file.as_str().unwrap_or_default();
                    let pointer = format!("{files_pointer}/{i}");
                    if let Some(why) = outside_root(file) {
                        problems.at_value(&pointer, format!("configuration file `{file}`: {why}"));
                    } else if syntax_of(file).is_none() {
                        problems.at_value(
                            &pointer,
                            format!("configuration file `{file}`: name it `.yaml`, `.yml` or `.json` so its syntax is known"),
                        );
                    } else {
                        set.files.push(file.to_owned());
                    }
                }
                manifest.configs.push(set);
            }
        }
        if let Some(settings) = value.get("settings") {
            let s = &mut manifest.settings;
            if let Some(v) = settings.get("snapshot").and_then(Value::as_str) {
                s.snapshot = if v == "every-change" {
                    SnapshotPolicy::EveryChange
                } else {
                    SnapshotPolicy::OnRequest
                };
            }
            if let Some(n) = settings.pointer("/cache/documents").and_then(Value::as_u64) {
                s.cache_documents = n;
            }
            if let Some(v) = settings.get("lock_timeout").and_then(Value::as_str) {
                match parse_duration(v) {
                    Ok(d) => s.lock_timeout = d,
                    Err(e) => {
                        problems.at_value("/settings/lock_timeout", format!("lock_timeout: {e}"))
                    }
                }
            }
            if let Some(v) = settings.get("audit_retention").and_then(Value::as_str) {
                if v == "forever" {
                    s.audit_retention = AuditRetention::Forever;
                } else {
                    match parse_duration(v) {
                        Ok(d) => s.audit_retention = AuditRetention::For(d),
                        Err(e) => problems.at_value(
                            "/settings/audit_retention",
                            format!("audit_retention: {e}, or `forever`"),
                        ),
                    }
                }
            }
        }
        manifest
    }

    /// Checks that every schema named is a built-in one, a user one, or a schema
    /// file's path inside the store.
    fn check_schema_names(&self, registry: &SchemaRegistry, problems: &mut Problems<'_>) {
        let known = |name: &str| {
            registry.contains(name)
                || self.schemas.iter().any(|(n, _)| n == name)
                || (syntax_of(name).is_some() && outside_root(name).is_none())
        };
        let listed = || {
            let mut names: Vec<String> = registry
                .names()
                .filter(|n| n.starts_with("ssot/") && *n != MANIFEST_SCHEMA)
                .map(str::to_owned)
                .collect();
            names.extend(self.schemas.iter().map(|(n, _)| n.clone()));
            names.join(", ")
        };
        for rule in &self.rules {
            let schema = match &rule.kind {
                FileKind::Tasks { schema, .. } => schema.as_deref(),
                FileKind::Document { schema } => Some(schema.as_str()),
                FileKind::Ignore => None,
            };
            if let Some(schema) = schema.filter(|s| !known(s)) {
                problems.at_value(
                    &format!("/files/{}/schema", escape(&rule.glob)),
                    format!(
                        "unknown schema `{schema}`; use one of {}, declare it under `schemas:`, or give the path of a `.json`/`.yaml` schema file in the store",
                        listed()
                    ),
                );
            }
        }
        for set in &self.configs {
            if let Some(schema) = set.schema.as_deref().filter(|s| !known(s)) {
                problems.at_value(
                    &format!("/configs/{}/schema", escape(&set.name)),
                    format!(
                        "unknown schema `{schema}`; use one of {}, declare it under `schemas:`, or give the path of a `.json`/`.yaml` schema file in the store",
                        listed()
                    ),
                );
            }
        }
    }

    /// The `files:` rules, in the order written.
    #[must_use]
    pub fn rules(&self) -> &[FileRule] {
        &self.rules
    }

    /// The rule that decides what `path` (relative, `/` separated) is: the first
    /// whose glob matches, or `None`.
    #[must_use]
    pub fn rule_for(&self, path: &str) -> Option<&FileRule> {
        self.globs
            .matches(path)
            .into_iter()
            .min()
            .and_then(|i| self.rules.get(i))
    }

    /// The user schemas: name and path, as written.
    #[must_use]
    pub fn schemas(&self) -> &[(String, String)] {
        &self.schemas
    }

    /// Schema files named by path in `files:` or `configs:`, which the store
    /// registers under their path.
    pub(crate) fn schema_paths(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let rules = self.rules.iter().filter_map(|r| match &r.kind {
            FileKind::Tasks { schema, .. } => schema.clone(),
            FileKind::Document { schema } => Some(schema.clone()),
            FileKind::Ignore => None,
        });
        let configs = self.configs.iter().filter_map(|c| c.schema.clone());
        for s in rules.chain(configs) {
            let user = self.schemas.iter().any(|(n, _)| *n == s);
            if !s.starts_with("ssot/") && !user && syntax_of(&s).is_some() && !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// The configuration overlay sets, in the order written.
    #[must_use]
    pub fn configs(&self) -> &[ConfigSet] {
        &self.configs
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the manifest was read from `ssot.yaml` (`false`: the default).
    #[must_use]
    pub fn is_from_file(&self) -> bool {
        self.from_file
    }
}

fn read_kind(kind: &Value) -> FileKind {
    match kind {
        Value::String(s) if s == "ignore" => FileKind::Ignore,
        Value::Object(o) if o.contains_key("tasks") => FileKind::Tasks {
            format: o
                .get("tasks")
                .and_then(Value::as_str)
                .and_then(|f| match f {
                    "markdown" => Some(Format::Markdown),
                    "json" => Some(Format::Json),
                    "yaml" => Some(Format::Yaml),
                    "csv" => Some(Format::Csv),
                    _ => None,
                }),
            schema: o.get("schema").and_then(Value::as_str).map(str::to_owned),
        },
        Value::Object(o) => FileKind::Document {
            schema: o
                .get("schema")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        },
        _ => FileKind::Tasks {
            format: None,
            schema: None,
        },
    }
}

/// Escapes one segment for a JSON pointer (`~` as `~0`, `/` as `~1`).
pub(crate) fn escape(segment: &str) -> String {
    let mut pointer = String::new();
    position::push_segment(&mut pointer, segment);
    pointer.split_off(1)
}

/// The syntax of a document or schema file, from its extension.
pub(crate) fn syntax_of(path: &str) -> Option<Syntax> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "json" => Some(Syntax::Json),
        "yaml" | "yml" => Some(Syntax::Yaml),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_days_and_milliseconds() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_duration("90d").unwrap(),
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_default_globs_compile_and_match() {
        let m = Manifest::default();
        assert_eq!(m.rules().len(), 2);
        assert!(m.rule_for("a/b/todo.md").is_some());
        assert!(m.rule_for("x.tasks.csv").is_some());
        assert!(m.rule_for("x.yaml").is_none());
    }

    #[test]
    fn paths_outside_the_root_are_refused() {
        assert!(outside_root("../x").is_some());
        assert!(outside_root("a/../../x").is_some());
        assert!(outside_root("/etc/passwd").is_some());
        assert!(outside_root("C:/x").is_some());
        assert!(outside_root("a/b..c/x").is_none());
    }
}
