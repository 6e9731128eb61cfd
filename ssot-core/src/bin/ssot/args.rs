//! The command line, declared with clap's derive API: one struct per subcommand's
//! arguments, parsed into ssot-core's types (status, task id, priority, JSON) by
//! value parsers, so a malformed argument is a usage error (exit 2) before the store
//! is opened.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ssot_core::{Priority, Status, Tag, TaskId};

/// Examples and the exit codes, shown at the end of `--help`; the module docs of
/// `main.rs` give the same exit codes.
const AFTER_HELP: &str = "\
Examples:
  ssot validate                         check every file; exit 1 on a problem
  ssot plan --dot | dot -Tsvg > plan.svg
  ssot done \"$(ssot next --id)\"         finish the task to do next
  ssot patch config/base.yaml '{\"database\": {\"pool\": 10}}'
  ssot -C path/to/store log -n 5

Exit codes:
  0  success
  1  the answer is no: problems found (validate, plan, health), a change refused
     (invalid, illegal status change, unknown task, key or version), drift found
     (status), a damaged chain (log --verify), nothing ready (next), a task that
     failed or an unknown workflow (run)
  2  usage error: unknown option, malformed argument
  3  I/O or store failure: a file or the store's state cannot be read or written,
     the store's lock cannot be taken in time";

/// The task fields `ssot run` reads and its exit codes, shown after `ssot run --help`.
const RUN_AFTER_HELP: &str = "\
Task fields read (YAML/JSON keys, CSV columns, Markdown `[field:: value]`):
  command (or run)      the shell line, run with `sh -c` in the store's directory
  timeout               per attempt, e.g. 30s or 1h30m
  retries, retry_policy none, fixed, linear, exponential; retry_delay, retry_max_delay
  concurrency_group     a name; one task of a group runs at a time
  inputs, outputs       globs and paths: skipped as up to date while unchanged
While it runs a task shows in_progress ([/]); done ([x]) when it succeeded, before
any task waiting on it starts; a failed task is put back exactly as it was written.

Examples:
  ssot run --dry-run                  what would run and why, or up to date
  ssot run --workers 2 --json > run.json
  ssot run --workflow release.production

Exit codes:
  0  everything ran (or was up to date), or there was nothing to run
  1  a task or step failed, was skipped or cancelled, or its outcome could not be
     written; or nothing ran: a bad plan, task field or workflow name
  3  the store could not be read or written";

/// Validate, plan and change a directory of task lists and configuration files.
///
/// The store is the directory given with -C (default: the current directory), described
/// by its ssot.yaml (or the default manifest when there is none). Problems are printed
/// as `file:line:col: message`, one per line; results on standard output, errors on
/// standard error.
#[derive(Debug, Parser)]
#[command(name = "ssot", version, after_help = AFTER_HELP, max_term_width = 100)]
pub(crate) struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub(crate) global: Global,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The store's directory.
    #[arg(
        short = 'C',
        long = "dir",
        value_name = "DIR",
        default_value = ".",
        global = true
    )]
    pub(crate) dir: PathBuf,
    /// Print JSON on standard output, for tools (one document; `watch`: one per line).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// When to colour the output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
    /// Who is recorded in the audit log as making the changes (default: $USER, else `ssot`).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) actor: Option<String>,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Make the directory a store: write a default ssot.yaml.
    Init,
    /// Check every file of the store; print every problem.
    Validate,
    /// Show ready and blocked tasks, waves and the critical path.
    Plan(PlanArgs),
    /// Show the task to work on next (exit 1 when none is ready).
    Next(NextArgs),
    /// Mark a task done.
    Done {
        /// The task's id.
        #[arg(value_parser = task_id)]
        id: TaskId,
    },
    /// Change a task's status (pending, in-progress, done, blocked, cancelled).
    Set(SetArgs),
    /// Add a task to a task list, in the file's format and style.
    Add(AddArgs),
    /// Remove a task from its file (refused while another task depends on it).
    Remove {
        /// The task's id.
        #[arg(value_parser = task_id)]
        id: TaskId,
    },
    /// Change a JSON or YAML document with an RFC 7396 merge patch; comments survive.
    Patch(PatchArgs),
    /// Show the audit log: every change, who made it, when, to which file.
    Log(LogArgs),
    /// List the store's versions, newest first.
    History,
    /// Show the files that differ between two versions.
    Diff(DiffArgs),
    /// Restore the store's files as they were at a version (itself a new revision).
    Rollback(RollbackArgs),
    /// Show files changed outside the store since its last revision (exit 1 if any).
    Status(StatusArgs),
    /// Explain where a configuration value comes from.
    Explain(ExplainArgs),
    /// Print each change as it is committed, outside edits included, until Ctrl-C.
    Watch(WatchArgs),
    /// Report validation, drift, audit log, snapshots, locks, cache (exit 1 if unwell).
    Health,
    /// Run each ready task's `command` (else `run`) field as a shell line, writing
    /// outcomes back (exit 1 if any failed); or a registry workflow (`--workflow`).
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
}

/// `ssot run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// How many commands run at once (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) workers: Option<usize>,
    /// Show, per task, whether it would run and why (no previous run, which inputs
    /// changed, command changed) or is up to date, and what is left out, without
    /// running or writing anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Run this workflow of the store's automation registry (`CATEGORY.NAME`, e.g.
    /// `release.production`) instead of the tasks: its steps' `run` commands as a
    /// chain; its `last_run` is written into the registry.
    #[arg(long, value_name = "NAME")]
    pub(crate) workflow: Option<String>,
    /// The registry document holding the workflow (default: the one store document
    /// with `automation.workflows` that has it).
    #[arg(long, value_name = "FILE", requires = "workflow")]
    pub(crate) registry: Option<String>,
}

impl Command {
    /// The note after a refusal (exit 1) of a subcommand that [changes](Self::changes)
    /// the store's files.
    pub(crate) fn refusal_note(&self) -> &'static str {
        match self {
            // `run` refuses before it starts anything: a bad plan, task setting or
            // workflow. Its failed tasks are not refusals (they are its record).
            Command::Run(_) => "nothing ran; no file was written",
            _ => "the change was refused; no file was written",
        }
    }

    /// Whether the subcommand changes the store's files (so a refusal means nothing
    /// was written).
    pub(crate) fn changes(&self) -> bool {
        matches!(
            self,
            Command::Done { .. }
                | Command::Set(_)
                | Command::Add(_)
                | Command::Remove { .. }
                | Command::Patch(_)
                | Command::Rollback(_)
                | Command::Run(_)
        )
    }
}

/// `ssot watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// First print the changes after this revision (default: only new ones).
    #[arg(long, value_name = "REVISION")]
    pub(crate) since: Option<u64>,
    /// Stop after printing N changes (`--count 1` waits for the next one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
}

/// `ssot set`.
#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The task's id.
    #[arg(value_parser = task_id)]
    pub(crate) id: TaskId,
    /// The new status.
    #[arg(value_parser = status)]
    pub(crate) status: Status,
}

/// `ssot add`.
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The task list, relative to the store's root (created when it is a new
    /// Markdown or CSV file).
    pub(crate) file: String,
    /// The task's title.
    pub(crate) title: String,
    /// The task's id (default: the title in lowercase, words joined by `-`).
    #[arg(long, value_parser = task_id)]
    pub(crate) id: Option<TaskId>,
    /// Its priority (critical, high, medium, normal, low, lowest).
    #[arg(short, long, value_parser = priority)]
    pub(crate) priority: Option<Priority>,
    /// Its status.
    #[arg(long, value_parser = status, default_value = "pending")]
    pub(crate) status: Status,
    /// A task it depends on (repeat, or separate with commas).
    #[arg(short = 'd', long = "depends-on", value_name = "ID", value_parser = task_id, value_delimiter = ',')]
    pub(crate) depends_on: Vec<TaskId>,
    /// A tag (repeat, or separate with commas).
    #[arg(short = 't', long = "tag", value_name = "TAG", value_parser = tag, value_delimiter = ',')]
    pub(crate) tags: Vec<Tag>,
    /// The estimated time: `90m`, `1h30m`, `2h`.
    #[arg(short, long, value_parser = duration)]
    pub(crate) estimate: Option<Duration>,
    /// Its category.
    #[arg(long)]
    pub(crate) category: Option<String>,
    /// Its description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Insert right after this task (default: after the last task).
    #[arg(long, value_name = "ID", value_parser = task_id, group = "position")]
    pub(crate) after: Option<TaskId>,
    /// Markdown: insert as the last subtask of this task.
    #[arg(long, value_name = "ID", value_parser = task_id, group = "position")]
    pub(crate) under: Option<TaskId>,
    /// Markdown: insert at the end of the section under this heading.
    #[arg(long, value_name = "TEXT", group = "position")]
    pub(crate) heading: Option<String>,
}

/// `ssot patch`.
#[derive(Debug, Args)]
pub(crate) struct PatchArgs {
    /// The JSON or YAML file, relative to the store's root.
    pub(crate) file: String,
    /// The merge patch, as JSON: `'{"database": {"pool": 10}}'`; `null` removes a key.
    #[arg(value_parser = json)]
    pub(crate) patch: serde_json::Value,
}

/// `ssot diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The older version: an id, a unique prefix of one, or a tag.
    pub(crate) from: String,
    /// The newer version.
    pub(crate) to: String,
}

/// `ssot rollback`.
#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The version to restore: an id, a unique prefix of one (see `ssot history`), or a tag.
    pub(crate) version: String,
}

/// `ssot status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Record the drift in the audit log as external changes (one revision).
    #[arg(long)]
    pub(crate) record: bool,
}

/// `ssot log`.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Only the revisions after this one.
    #[arg(long, value_name = "REVISION", default_value_t = 0)]
    pub(crate) since: u64,
    /// Only the last N revisions.
    #[arg(short = 'n', long = "limit", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) limit: Option<u64>,
    /// Check the log's hash chain instead (exit 1 when it was rewritten or truncated).
    #[arg(long)]
    pub(crate) verify: bool,
}

/// `ssot plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Print the dependency graph in Graphviz DOT (pipe it to `dot -Tsvg`).
    #[arg(long, conflicts_with = "json")]
    pub(crate) dot: bool,
}

/// `ssot next`.
#[derive(Debug, Args)]
pub(crate) struct NextArgs {
    /// Print only the task's id (for `ssot done "$(ssot next --id)"`).
    #[arg(long, conflicts_with = "json")]
    pub(crate) id: bool,
}

/// `ssot explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The configuration's name, as under `configs:` in ssot.yaml.
    pub(crate) config: String,
    /// The key, dotted (`database.pool`) or a JSON pointer (`/database/pool`).
    pub(crate) key: String,
}

/// Parses a status name (`in-progress`, `done`, ...).
pub(crate) fn status(s: &str) -> Result<Status, String> {
    s.parse::<Status>().map_err(|e| e.to_string())
}

/// Parses a task id.
pub(crate) fn task_id(s: &str) -> Result<TaskId, String> {
    TaskId::new(s).map_err(|e| e.to_string())
}

/// Parses a priority name.
pub(crate) fn priority(s: &str) -> Result<Priority, String> {
    s.parse::<Priority>().map_err(|e| e.to_string())
}

/// Parses a tag, with or without its `#`.
pub(crate) fn tag(s: &str) -> Result<Tag, String> {
    Tag::new(s.strip_prefix('#').unwrap_or(s)).map_err(|e| e.to_string())
}

/// Parses a human duration: `90m`, `1h30m`, `2h`.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    static PARSER: jiff::fmt::friendly::SpanParser = jiff::fmt::friendly::SpanParser::new();
    PARSER
        .parse_unsigned_duration(s.trim())
        .map_err(|e| format!("invalid duration `{s}` ({e}); write it like `90m`, `1h30m` or `2h`"))
}

/// Parses a JSON document.
pub(crate) fn json(s: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(s).map_err(|e| {
        format!("not JSON ({e}); quote it for the shell, like '{{\"database\": {{\"pool\": 10}}}}'")
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
