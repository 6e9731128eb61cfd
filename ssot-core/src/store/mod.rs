//! The SSOT store: one directory of task lists, documents and configuration files,
//! described by a manifest, validated as a whole, planned across files, and read
//! through a cache that is never stale.
//!
//! The read side: [`Store::init`] and [`Store::open`], the [`manifest`],
//! [`Store::validate`], [`Store::plan`] and [`Store::next_task`], cached reads
//! ([`Store::task_file`], [`Store::document`]) and configuration views
//! ([`Store::config`]).
//!
//! The write side: changes ([`Store::set_status`], [`Store::update_task`],
//! [`Store::add_task`], [`Store::remove_task`], [`Store::patch`]) and
//! [`Transaction`]s, each validated before anything is written, made under locks,
//! written in place by the [in-place editors](crate::format::edit), durably, and
//! recorded as one revision in the hash-chained audit log ([`Store::audit_log`],
//! [`Store::verify_audit`], [`Store::changes_since`], [`Store::subscribe`]). The
//! commit protocol, its locks and its fsyncs are described on [`Commit`]'s module
//! (`change.rs`), the log's format and crash rules on [`AuditRecord`]'s (`audit.rs`),
//! its pruning under `settings: audit_retention` ([`Store::prune_audit`]) on
//! [`AuditPruned`]'s (`retention.rs`).
//!
//! # Example: a store in a directory
//!
//! ```
//! use ssot_core::store::{ProblemKind, Store};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("todo.md"), "- [ ] Build 🆔 build ⏱ 2h\n- [ ] Ship 🆔 ship ⛔ build,test\n")?;
//! std::fs::write(dir.path().join("ci.tasks.yaml"), "- id: test\n  title: Test\n  dependencies: [build]\n")?;
//! let store = Store::init(dir.path())?;
//!
//! // One graph over both files: `ship` in todo.md waits on `test` in ci.tasks.yaml.
//! let plan = store.plan()?;
//! assert_eq!(plan.ready(), ["build"]);
//! assert_eq!(plan.blocked()[0].id, "ship");
//! assert_eq!(plan.blocked()[0].waiting_on, ["build", "test"]);
//! assert_eq!(*plan.blocked()[0].root_causes, ["build"]);
//! assert_eq!(plan.next_task().map(|t| t.location.to_string()), Some("todo.md:1".into()));
//!
//! // A dependency on a task no file holds is reported where it is written.
//! std::fs::write(dir.path().join("more.md"), "- [ ] Docs ⛔ nowhere\n")?;
//! let report = store.validate()?;
//! let problem = &report.problems()[0];
//! assert_eq!(problem.kind, ProblemKind::UnknownDependency);
//! assert!(problem.to_string().starts_with("more.md:1: task `"));
//! # Ok(())
//! # }
//! ```
//!
//! # Example: change, audit, roll back
//!
//! ```
//! use ssot_core::store::{Operation, Store};
//! use ssot_core::Status;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("todo.md"), "# Sprint\n- [ ] Build 🆔 build\n- [ ] Ship 🆔 ship ⛔ build\n")?;
//! let store = Store::builder().actor("ana").init(dir.path())?;
//! let before = store.snapshot("sprint start")?;
//!
//! // Validated, locked, written in place (the heading keeps its bytes), audited.
//! let commit = store.set_status("build", Status::Done)?;
//! assert_eq!(commit.revision, 1);
//! assert_eq!(std::fs::read_to_string(dir.path().join("todo.md"))?,
//!            "# Sprint\n- [x] Build 🆔 build\n- [ ] Ship 🆔 ship ⛔ build\n");
//!
//! // A change that would break the plan is refused; nothing is written.
//! assert!(store.remove_task("build").is_err());
//! assert_eq!(store.revision()?, 1);
//!
//! // The log: the first revision records the files as found, then the change.
//! let log = store.audit_log()?;
//! assert_eq!(log.last().map(|r| &r.operation),
//!            Some(&Operation::SetStatus { id: "build".into(), status: "done".into() }));
//! assert!(store.verify_audit()?.is_ok());
//!
//! // Rolling back is itself a revision.
//! assert_eq!(store.rollback(before.id().as_str())?.revision, 2);
//! assert_eq!(store.task_file("todo.md")?.tasks()[0].status(), Status::Pending);
//! # Ok(())
//! # }
//! ```
//!
//! # Design
//!
//! - **The manifest decides.** Which files belong to the store, and as what, is
//!   written in `ssot.yaml` (or the documented default), not inferred from a VCS's
//!   ignore files; see [`manifest`] and the `scan` notes on [`Store::files`].
//! - **Problems are data, failures are errors.** A broken file does not make
//!   [`Store::validate`] fail: it is one more [`Problem`] in the [`Report`]. Calls
//!   that cannot answer without the broken file ([`Store::plan`], a read of that
//!   file, a configuration view) return [`Error::Invalid`] with the report.
//! - **Every read is fresh.** Files are re-scanned by each whole-store call, and each
//!   file's cached parse is checked against the file's `stat` on every read (see
//!   the freshness rules on [`ReadStats`]); a parse is redone only when the bytes
//!   changed.
//! - **Layers.** The store uses the formats' public API and the leaf crates; the
//!   formats never use the store.
//!
//! # Costs
//!
//! | call | cost |
//! |---|---|
//! | [`Store::open`] | read and check the manifest, register the schemas it names (the built-in ones are compiled once per process and shared), walk the directory once |
//! | [`Store::files`] | one directory walk: one `readdir` per directory, one glob-set match per file |
//! | a read of an unchanged file | a cache lookup by the path as given and one `stat`, when the path is one the store already resolved (its relative form): no canonicalization, no glob match. A file modified in the last 2 s is also re-read and hashed; another spelling of the path (absolute, `./x`) takes the full path: resolution, a `canonicalize` for the containment check, the manifest's globs |
//! | a read of a changed file | read, hash, parse, validate; for JSON and YAML task lists, one more pass over the text to find each task's line ([`ssot_schema::position`]: a byte scan for JSON, saphyr's events for YAML) |
//! | [`Store::plan`] | a walk, a read of each task file, then O(V + E) to build the graph and O(V log V + E) for waves and the critical path |
//! | a change ([`Store::set_status`], ...) or a [`Transaction`] | find the task through the id index (checked against the indexed file's cached read; a walk of the store when it misses), the store's lock file, a read and parse of each file touched, the edit, a parse of the new text (and, for changes that can alter ids or dependencies, a plan of the store); then **one `fdatasync`** (the audit log's: the write-ahead commit) whatever the number of files, and the renames; a checkpoint every 128 revisions fsyncs the files changed since. With `snapshot: every-change`: the version store's 3 fsync rounds plus the log's. See `change.rs` and `wal.rs` |
//! | [`Store::revision`] | two `stat`s, and a read of the records other handles appended since |
//! | [`Store::audit_log`], [`Store::changes_since`], [`Store::verify_audit`] | a read and check of the whole log |
//! | [`Store::drift`], [`Store::record_drift`] | a walk and a `stat` per file; a read and hash of each file changed (or changed in the last 2 s) since this handle last looked |
//! | [`Store::rollback`] | a snapshot of the tree (a scan), a read and hash of every store file, a read of each file to restore from its pack, then one all-or-nothing write as a change's (3 fsync rounds, plus the audit log's 1) |
//! | [`Store::prune_audit`] | a [`Store::checkpoint`], a read and check of the whole log, then the anchor and the kept log written (4 fsyncs); see `retention.rs` |

mod audit;
mod change;
mod config;
mod drift;
mod fault;
mod health;
pub mod manifest;
mod plan;
mod read;
mod report;
mod retention;
mod scan;
mod transaction;
mod versions;
mod wal;
#[cfg(feature = "watch")]
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ssot_schema::SchemaRegistry;

use crate::error::Error;

pub use self::audit::{AuditCheck, AuditDamage, AuditHead, AuditRecord, Event, GENESIS, Operation};
pub use self::change::Commit;
pub use self::config::{ConfigView, Env, Explanation, MASK, Origin, ProcessEnv};
pub use self::drift::Drift;
pub use self::health::{
    AuditHealth, CacheHealth, DriftHealth, Health, LockHealth, SnapshotHealth, ValidationHealth,
};
pub use self::manifest::{
    AuditRetention, ConfigSet, FileKind, FileRule, Manifest, Settings, SnapshotPolicy,
};
pub use self::plan::{Blocked, CriticalPath, Plan, PlannedTask, SharedTask};
pub use self::read::{Document, RACY_WINDOW, ReadStats, TaskFile};
pub use self::report::{Location, Problem, ProblemKind, Report};
pub use self::retention::{AuditPruned, PruneAudit};
pub use self::scan::{Role, STATE_DIR, StoreFile};
pub use self::transaction::Transaction;
pub use self::wal::{CHECKPOINT_BYTES, CHECKPOINT_REVISIONS, Checkpointed, Redo};
#[cfg(feature = "watch")]
pub use self::watch::{DEFAULT_DEBOUNCE, Watcher};

use self::config::Layer;
use self::manifest::MANIFEST_FILE;
use self::read::{ANY_SCHEMA, Content, Loaded, ReadAs, Reader};

/// A store: a directory of task lists, documents and configuration files, described
/// by its manifest. `Send + Sync`: share it between threads behind an `Arc`.
pub struct Store {
    root: PathBuf,
    manifest: Manifest,
    registry: Arc<SchemaRegistry>,
    reader: Reader,
    env: Arc<dyn Env>,
    write: change::WriteSide,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root)
            .field("manifest", &self.manifest)
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

/// Options for opening a store. Made by [`Store::builder`].
#[must_use]
pub struct StoreBuilder {
    env: Arc<dyn Env>,
    actor: Option<String>,
}

impl std::fmt::Debug for StoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBuilder").finish_non_exhaustive()
    }
}

impl StoreBuilder {
    /// Where `${VAR}` in configuration values is read from; default
    /// [`ProcessEnv`]. A `HashMap<String, String>` or `BTreeMap<String, String>`
    /// serves in tests.
    pub fn env(mut self, env: impl Env + 'static) -> StoreBuilder {
        self.env = Arc::new(env);
        self
    }

    /// Who is recorded as the actor of the changes made through this handle; default:
    /// `$USER`, else `ssot`.
    pub fn actor(mut self, name: impl Into<String>) -> StoreBuilder {
        self.actor = Some(name.into());
        self
    }

    /// Opens the store at `dir`; see [`Store::open`].
    ///
    /// # Errors
    ///
    /// As [`Store::open`].
    pub fn open(self, dir: impl AsRef<Path>) -> Result<Store, Error> {
        let dir = dir.as_ref();
        let root = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
        if !root.is_dir() {
            return Err(Error::NotADirectory { path: root });
        }
        let base = read::base_registry()?;
        let manifest_path = root.join(MANIFEST_FILE);
        let manifest = match std::fs::read(&manifest_path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::Manifest(Box::new(Report::new(vec![Problem::new(
                        Location::file(MANIFEST_FILE),
                        ProblemKind::Encoding,
                        "not UTF-8 text; save it as UTF-8",
                    )])))
                })?;
                Manifest::parse(&text, &base).map_err(|r| Error::Manifest(Box::new(r)))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => return Err(Error::io(manifest_path, e)),
        };
        let registry = if manifest.schemas().is_empty() && manifest.schema_paths().is_empty() {
            base
        } else {
            let mut registry = read::new_registry()?;
            register_user_schemas(&root, &manifest, &mut registry)?;
            Arc::new(registry)
        };
        let store = Store {
            reader: Reader::new(manifest.settings().cache_documents),
            write: change::WriteSide::open(&root, self.actor),
            root,
            manifest,
            registry,
            env: self.env,
        };
        // Fail early on what would make every whole-store call fail.
        store.files()?;
        // Finish the applies of a commit a crash interrupted (`wal.rs`).
        store.recover_at_open();
        Ok(store)
    }

    /// Creates a store at `dir`; see [`Store::init`].
    ///
    /// # Errors
    ///
    /// As [`Store::init`].
    pub fn init(self, dir: impl AsRef<Path>) -> Result<Store, Error> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let manifest = dir.join(MANIFEST_FILE);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&manifest)
        {
            Ok(mut file) => {
                use std::io::Write as _;
                file.write_all(manifest::DEFAULT_MANIFEST.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| Error::io(&manifest, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyInitialized {
                    path: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::io(manifest, e)),
        }
        self.open(dir)
    }
}

/// Registers the schemas of `schemas:` and those named by path, together (so they
/// may `$ref` each other), each problem at its manifest line.
fn register_user_schemas(
    root: &Path,
    manifest: &Manifest,
    registry: &mut SchemaRegistry,
) -> Result<(), Error> {
    let mut named: Vec<(String, String)> = manifest.schemas().to_vec();
    named.extend(manifest.schema_paths().into_iter().map(|p| (p.clone(), p)));
    if named.is_empty() {
        return Ok(());
    }
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for (name, path) in &named {
        let (_, full) = match scan::resolve(root, path) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::new(
                    Location::file(MANIFEST_FILE),
                    ProblemKind::Manifest,
                    format!("schema `{name}`: {e}"),
                ));
                continue;
            }
        };
        let text = match std::fs::read_to_string(&full) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem::new(
                    Location::file(MANIFEST_FILE),
                    ProblemKind::Manifest,
                    format!("schema `{name}`: cannot read `{path}`: {e}"),
                ));
                continue;
            }
        };
        let syntax = manifest::syntax_of(path).unwrap_or(ssot_schema::position::Syntax::Yaml);
        let (value, errors) = read::schema_problems(registry, path, &text, ANY_SCHEMA, syntax);
        match value {
            Some(v) if errors.is_empty() => values.push((name.as_str(), v)),
            _ if errors.is_empty() => problems.push(Problem::new(
                Location::file(path.clone()),
                ProblemKind::Manifest,
                format!("schema `{name}`: cannot be read as JSON or YAML"),
            )),
            _ => problems.extend(errors.into_iter().map(|mut p| {
                p.kind = ProblemKind::Manifest;
                p.message = format!("schema `{name}`: {}", p.message);
                p
            })),
        }
    }
    if problems.is_empty()
        && let Err(e) = registry.register_all(values)
    {
        problems.push(Problem::new(
            Location::file(MANIFEST_FILE),
            ProblemKind::Manifest,
            format!("user schemas: {e}"),
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Manifest(Box::new(Report::new(problems))))
    }
}

impl Store {
    /// Options: the environment for configuration views.
    pub fn builder() -> StoreBuilder {
        StoreBuilder {
            env: Arc::new(ProcessEnv),
            actor: None,
        }
    }

    /// Opens the store at `dir`: reads and checks `ssot.yaml` (or uses
    /// [`Manifest::default`] when there is none), registers the schemas it names,
    /// and walks the directory once.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `dir` cannot be read, [`Error::NotADirectory`],
    /// [`Error::Manifest`] with every problem of the manifest (and of the user
    /// schemas it names), [`Error::SymlinkEscape`] for a matched symbolic link
    /// out of the directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store, Error> {
        Store::builder().open(dir)
    }

    /// Makes `dir` a store (creating it if needed) by writing
    /// [`DEFAULT_MANIFEST`](manifest::DEFAULT_MANIFEST) as its `ssot.yaml`, then
    /// opens it.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyInitialized`] when `ssot.yaml` exists (nothing is
    /// written), [`Error::Io`], then as [`Store::open`].
    pub fn init(dir: impl AsRef<Path>) -> Result<Store, Error> {
        Store::builder().init(dir)
    }

    /// The store's root, canonical.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest in force.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The settings of the manifest.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        self.manifest.settings()
    }

    /// The schema registry: the built-in schemas, the manifest's, and the user
    /// schemas the manifest names.
    #[must_use]
    pub fn schemas(&self) -> &SchemaRegistry {
        &self.registry
    }

    /// What the reads did so far.
    #[must_use]
    pub fn read_stats(&self) -> ReadStats {
        self.reader.stats()
    }

    /// The statistics of the read cache.
    #[must_use]
    pub fn cache_stats(&self) -> ssot_cache::CacheStats {
        self.reader.cache_stats()
    }

    /// The files of the store now, sorted by path, each with its role.
    ///
    /// The directory is walked afresh (see [`manifest`] for what is walked): `.git`
    /// and the store's own `.ssot` directory are skipped, symbolic links are not
    /// followed; a matched link to a file inside the root is read as that file.
    ///
    /// # Errors
    ///
    /// [`Error::SymlinkEscape`] for a matched link that leads out of the root.
    pub fn files(&self) -> Result<Vec<StoreFile>, Error> {
        scan::scan(&self.root, &self.manifest).map(|(files, _)| files)
    }

    fn load(&self, rel: &str, read_as: &ReadAs) -> Arc<Loaded> {
        self.reader
            .load(&self.registry, rel, &self.root.join(rel), read_as)
    }

    /// The task list at `path` (relative to the root), parsed, through the cache.
    ///
    /// # Errors
    ///
    /// [`Error::OutsideRoot`], [`Error::NotManaged`] when the manifest
    /// does not make it a task list, [`Error::Invalid`] when it cannot be read
    /// or parsed, or breaks the schema the manifest gives it.
    pub fn task_file(&self, path: &str) -> Result<Arc<TaskFile>, Error> {
        if let Some(hit) = self.reader.fresh_tasks(path) {
            return Ok(hit);
        }
        let (rel, _) = scan::resolve(&self.root, path)?;
        let role = match scan::role_of(&self.manifest, &rel) {
            Some(Ok(role @ Role::Tasks { .. })) => role,
            Some(Err(problem)) => {
                return Err(Error::Invalid(Box::new(Report::new(vec![problem]))));
            }
            _ => {
                return Err(Error::NotManaged {
                    path: rel,
                    wanted: "task list",
                });
            }
        };
        let loaded = self.load(&rel, &ReadAs::Role(role));
        match (&loaded.content, loaded.problems.is_empty()) {
            (Some(Content::Tasks(t)), true) => Ok(Arc::clone(t)),
            _ => Err(Error::Invalid(Box::new(Report::new(
                loaded.problems.clone(),
            )))),
        }
    }

    /// The document at `path`, parsed and valid against its schema, through the
    /// cache.
    ///
    /// # Errors
    ///
    /// [`Error::OutsideRoot`], [`Error::NotManaged`] when the manifest
    /// does not make it a document, [`Error::Invalid`] when it cannot be read
    /// or breaks its schema.
    pub fn document(&self, path: &str) -> Result<Arc<Document>, Error> {
        if let Some(hit) = self.reader.fresh_document(path) {
            return Ok(hit);
        }
        let (rel, _) = scan::resolve(&self.root, path)?;
        let role = match scan::role_of(&self.manifest, &rel) {
            Some(Ok(role @ Role::Document { .. })) => role,
            Some(Err(problem)) => {
                return Err(Error::Invalid(Box::new(Report::new(vec![problem]))));
            }
            _ => {
                return Err(Error::NotManaged {
                    path: rel,
                    wanted: "document",
                });
            }
        };
        let loaded = self.load(&rel, &ReadAs::Role(role));
        match (&loaded.content, loaded.problems.is_empty()) {
            (Some(Content::Document(d)), true) => Ok(Arc::clone(d)),
            _ => Err(Error::Invalid(Box::new(Report::new(
                loaded.problems.clone(),
            )))),
        }
    }

    /// Reads every task file; returns those that parsed and the problems.
    fn task_files(&self) -> Result<(Vec<Arc<TaskFile>>, Vec<Problem>), Error> {
        let (files, mut problems) = scan::scan(&self.root, &self.manifest)?;
        let mut out = Vec::new();
        for file in files {
            if let Role::Tasks { .. } = file.role {
                let loaded = self.load(&file.path, &ReadAs::Role(file.role));
                problems.extend(loaded.problems.iter().cloned());
                if let Some(Content::Tasks(t)) = &loaded.content {
                    out.push(Arc::clone(t));
                }
            }
        }
        Ok((out, problems))
    }

    /// Checks the whole store and reports every problem: every task list parsed
    /// (and checked against its schema, where the manifest gives one), every
    /// document against its schema, every id unique across files, every dependency
    /// known, no cycle, and every configuration view merged, resolved and checked.
    ///
    /// # Errors
    ///
    /// Only when the store cannot be walked: [`Error::SymlinkEscape`]. Problems
    /// in files are in the returned [`Report`].
    pub fn validate(&self) -> Result<Report, Error> {
        let (files, mut problems) = scan::scan(&self.root, &self.manifest)?;
        let mut task_files = Vec::new();
        for file in files {
            let is_tasks = matches!(file.role, Role::Tasks { .. });
            let loaded = self.load(&file.path, &ReadAs::Role(file.role));
            problems.extend(loaded.problems.iter().cloned());
            if let (true, Some(Content::Tasks(t))) = (is_tasks, &loaded.content) {
                task_files.push(Arc::clone(t));
            }
        }
        if let Err(report) = Plan::check(&task_files) {
            problems.extend(report.problems().iter().cloned());
        }
        for set in self.manifest.configs() {
            match self.config(&set.name) {
                Ok(_) => {}
                Err(Error::Invalid(report)) => {
                    problems.extend(report.problems().iter().cloned());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Report::new(problems))
    }

    /// The plan over every task file: ready and blocked tasks (with their root
    /// causes), waves, the critical path, DOT; see [`Plan`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] with every problem of the task files (a file that
    /// does not parse, an id in two files, an unknown dependency, a cycle with the
    /// `file:line` of each edge); [`Error::SymlinkEscape`].
    pub fn plan(&self) -> Result<Plan, Error> {
        let (files, problems) = self.task_files()?;
        Report::new(problems).into_result()?;
        Plan::build(&files).map_err(|r| Error::Invalid(Box::new(r)))
    }

    /// The task to work on next: among the ready tasks, the first in
    /// [`TaskQueue`](crate::TaskQueue) order. `None` when nothing is ready.
    ///
    /// # Errors
    ///
    /// As [`Store::plan`].
    pub fn next_task(&self) -> Result<Option<PlannedTask>, Error> {
        Ok(self.plan()?.next_task().cloned())
    }

    /// The configuration view `name` (under `configs:` in the manifest): its files
    /// merged in order by RFC 7396, `${VAR}` resolved, checked against its schema.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConfig`]; [`Error::Invalid`] with every problem: a
    /// file that cannot be read or parsed, a variable without value or default (at
    /// its key's `file:line`), a schema violation (secrets masked).
    pub fn config(&self, name: &str) -> Result<ConfigView, Error> {
        let Some(set) = self.manifest.configs().iter().find(|c| c.name == name) else {
            let known: Vec<&str> = self
                .manifest
                .configs()
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(Error::UnknownConfig {
                name: name.to_owned(),
                known: if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
            });
        };
        let mut layers = Vec::new();
        let mut problems = Vec::new();
        for file in &set.files {
            let (rel, _) = scan::resolve(&self.root, file)?;
            let loaded = self.load(&rel, &ReadAs::Config);
            problems.extend(loaded.problems.iter().cloned());
            if let Some(Content::Document(d)) = &loaded.content {
                layers.push(Layer {
                    document: Arc::clone(d),
                });
            }
        }
        Report::new(problems).into_result()?;
        ConfigView::build(
            name,
            layers,
            set.schema.as_deref(),
            &self.registry,
            &*self.env,
        )
        .map_err(|r| Error::Invalid(Box::new(r)))
    }

    /// Explains `key` of configuration `config`; see [`ConfigView::explain`].
    ///
    /// # Errors
    ///
    /// As [`Store::config`] and [`ConfigView::explain`].
    pub fn explain(&self, config: &str, key: &str) -> Result<Explanation, Error> {
        self.config(config)?.explain(key)
    }
}
