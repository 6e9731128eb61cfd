//! The command line, declared with clap's derive API: one struct per subcommand's
//! arguments, parsed into ssot-core's types (status, task id, priority, JSON) by
//! value parsers, so a malformed argument is a usage error (exit 2) before the store
//! is opened.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, shown at the end of `--help`; the module docs of `main.rs` say
/// the same.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the answer is no: problems found (validate, plan, health), a change refused
     (invalid, illegal status change, unknown task, key or version), drift found
     (status), nothing ready (next)
  2  usage error: unknown option, malformed argument
  3  I/O or store failure: a file or the store's state cannot be read or written,
     the store's lock cannot be taken";

/// Validate, plan and change a directory of task lists and configuration files.
///
/// The store is the directory given with -C (default: the current directory), described
/// by its ssot.yaml (or the default manifest when there is none). Problems are printed
/// as `file:line:col: message`, one per line, on standard error.
#[derive(Debug, Parser)]
#[command(name = "ssot", version, after_help = EXIT_CODES, max_term_width = 100)]
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
    /// Print JSON on standard output, for tools (one document per command).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// When to colour the output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
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
    /// Explain where a configuration value comes from.
    Explain(ExplainArgs),
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
