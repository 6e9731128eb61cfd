//! `ssot`: the command line of an ssot store, built only on `ssot-core`'s public API.
//!
//! Install it with `cargo install ssot-core --features cli`, or run it from the
//! repository with `cargo run -p ssot-core --features cli --bin ssot -- plan`.
//! `ssot --help` lists the subcommands; `ssot SUBCOMMAND --help` explains one.
//!
//! # Subcommands
//!
//! | subcommand | what it does | `--json` prints |
//! |---|---|---|
//! | `init` | writes a default `ssot.yaml` | `{"root", "manifest", "files"}` |
//! | `validate` | every problem of every file, on standard output | the report, `{"valid", "problems"}` |
//! | `plan [--dot]` | ready and blocked tasks, waves, critical path; `--dot` for Graphviz | `Plan::to_json` |
//! | `next [--id]` | the task to do next | the task, or `null` |
//! | `done ID`, `set ID STATUS` | change a task's status | the commit: `{"revision", "version", "records"}` |
//! | `add FILE TITLE [options]` | add a task, in the file's format and style | the commit |
//! | `remove ID` | remove a task | the commit |
//! | `patch FILE JSON` | an RFC 7396 merge patch, in place; prints the changed lines | the commit |
//! | `log [--since R] [-n N] [--verify]` | the audit log; `--verify` checks its hash chain | the records, or the check |
//! | `history` | the versions, newest first | the versions |
//! | `diff A B` | files added, modified, removed between two versions | `{"added", "modified", "removed"}` |
//! | `rollback VERSION` | restore a version, as a new revision | the commit |
//! | `status [--record]` | files changed outside the store (drift); `--record` audits them | the drift, or the commit |
//! | `explain CONFIG KEY` | which file and line set a configuration value | the explanation |
//! | `watch [--since R] [--count N]` | each change as it is committed, outside edits included | one event object per line |
//! | `health` | validation, drift, audit log, snapshots, locks, cache | the health report |
//! | `run [--workers N] [--dry-run] [--workflow NAME]` | runs each ready task's `command` field (tasks with unchanged `inputs` are up to date), writing outcomes back; `--dry-run` says what would run and why; `--workflow` runs a registry workflow's steps and records its `last_run`; exit 1 if any failed | the run record |
//!
//! Changes are made by the store: validated before anything is written (a refused
//! change writes nothing and exits 1), locked against other threads and processes,
//! audited, one revision each. `--actor NAME` names who made them in the audit log.
//!
//! # Output
//!
//! - Results go to standard output; errors, the problems that stop a command, and
//!   notes to standard error, so a pipe receives only the result. `validate` and
//!   `status`, whose result is a list of problems, print them on standard output.
//! - Problems are printed as `file:line:col: message`, one per line (the form
//!   compilers use, which editors jump to), paths relative to the current directory.
//! - `--json` prints one JSON document on standard output instead of text, for every
//!   subcommand (`watch`: one per line). A refused change or an error is printed on
//!   standard error as text and, with `--json`, also on standard output as
//!   `{"error": {"message", "exit_code", "problems"}}`; the exit code tells which
//!   happened. `validate --json` prints the report (`{"valid", "problems"}`) on
//!   standard output in both cases.
//! - Colour only when the stream is a terminal and `NO_COLOR` is unset or empty;
//!   `--color always|never` overrides.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the answer is no: problems found (`validate`, `plan`), a store that needs attention (`health`), a change refused (invalid, illegal status change, unknown task, key or version), drift found (`status`), a damaged chain (`log --verify`), nothing ready (`next`), a task or step that failed, was skipped or cancelled, or whose outcome could not be written, an unknown workflow or a bad task setting (`run`) |
//! | 2 | usage error: unknown option, malformed argument (clap's code) |
//! | 3 | I/O or store failure: a file or the store's own state cannot be read or written, the store's lock cannot be taken in time, the audit log is damaged (other than `log --verify`) |
//!
//! Code 1 means the store answered and the answer is "no"; code 3 means it could not
//! answer. A script may retry on 3 and must not on 1.
//!
//! # Design
//!
//! Each subcommand is a short function over [`ssot_core::store::Store`]: the command
//! adds presentation (text, colour, a changed-lines view, ids made from titles) and no
//! store logic, so what the command does, a program can do.
//! The store is opened afresh by each run (`Store::open` costs one walk of the
//! directory); there is no daemon.

mod args;
mod history;
mod live;
mod out;
mod read;
mod run;
mod write;

use std::io;
use std::process::ExitCode;

use clap::Parser;
use ssot_core::Error;
use ssot_core::store::Store;

use crate::args::{Cli, Command, Global};
use crate::out::Output;

/// How a subcommand that ran ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Success: exit 0.
    Done,
    /// The answer is no (problems, drift, nothing ready): exit 1.
    No,
}

/// The result of a subcommand: an outcome, or an error to print and map to 1 or 3.
pub(crate) type Run = Result<Outcome, Error>;

/// Exit code 1: the answer is no.
const EXIT_NO: u8 = 1;
/// Exit code 3: I/O or store failure.
const EXIT_FAILURE: u8 = 3;

fn main() -> ExitCode {
    // Exits 2 on a usage error, 0 after --help and --version.
    let cli = Cli::parse();
    let mut out = Output::new(&cli.global);
    let result = run(&cli, &mut out).and_then(|outcome| {
        out.flush().map_err(stdout_error)?;
        Ok(outcome)
    });
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::No) => ExitCode::from(EXIT_NO),
        // The reader of a pipe left (`ssot plan | head`): not an error of ours.
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = exit_code(&e);
            report(&mut out, &e, code);
            if code == EXIT_NO && cli.command.changes() {
                out.note(cli.command.refusal_note());
            }
            ExitCode::from(code)
        }
    }
}

fn run(cli: &Cli, out: &mut Output) -> Run {
    let g = &cli.global;
    match &cli.command {
        Command::Init => read::init(g, out),
        Command::Validate => read::validate(g, out),
        Command::Plan(a) => read::plan(g, a, out),
        Command::Next(a) => read::next(g, a, out),
        Command::Done { id } => write::done(g, id, out),
        Command::Set(a) => write::set(g, a, out),
        Command::Add(a) => write::add(g, a, out),
        Command::Remove { id } => write::remove(g, id, out),
        Command::Patch(a) => write::patch(g, a, out),
        Command::Log(a) => history::log(g, a, out),
        Command::History => history::history(g, out),
        Command::Diff(a) => history::diff(g, a, out),
        Command::Rollback(a) => history::rollback(g, a, out),
        Command::Status(a) => history::status(g, a, out),
        Command::Explain(a) => read::explain(g, a, out),
        Command::Watch(a) => live::watch(g, a, out),
        Command::Health => live::health(g, out),
        Command::Run(a) => run::run(g, a, out),
    }
}

/// Opens the store of `-C DIR`, with `--actor` when given.
pub(crate) fn open(global: &Global) -> Result<Store, Error> {
    let builder = Store::builder();
    let builder = match &global.actor {
        Some(actor) => builder.actor(actor.clone()),
        None => builder,
    };
    builder.open(&global.dir)
}

/// An error writing standard output, as a store error.
pub(crate) fn stdout_error(source: io::Error) -> Error {
    Error::Io {
        path: "<standard output>".into(),
        source,
    }
}

/// Whether an error is the store's "no" (exit 1) or a failure to answer (exit 3).
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Invalid(_)
        | Error::Manifest(_)
        | Error::Parse(_)
        | Error::IllegalTransition { .. }
        | Error::InvalidId { .. }
        | Error::InvalidTag { .. }
        | Error::Unrepresentable { .. }
        | Error::InvalidDocument { .. }
        | Error::UnknownName { .. }
        | Error::IdConflict { .. }
        | Error::NotInPlace { .. }
        | Error::TaskNotFound { .. }
        | Error::AlreadyInitialized { .. }
        | Error::SymlinkEscape { .. }
        | Error::OutsideRoot { .. }
        | Error::NotManaged { .. }
        | Error::UnknownConfig { .. }
        | Error::UnknownKey { .. }
        | Error::EmptyTransaction
        | Error::Workflow { .. }
        | Error::TaskField { .. }
        | Error::Version(
            ssot_core::version::Error::UnknownVersion { .. }
            | ssot_core::version::Error::AmbiguousVersion { .. }
            | ssot_core::version::Error::NoVersions { .. },
        ) => EXIT_NO,
        _ => EXIT_FAILURE,
    }
}

/// Prints an error on standard error: a report's problems one per line, anything
/// else as `error: message` followed by its causes. With `--json`, the error is also
/// one JSON document on standard output, `{"error": {"message", "exit_code",
/// "problems"}}`, so a tool that reads standard output sees why there is no result.
fn report(out: &mut Output, e: &Error, code: u8) {
    let problems = match e {
        Error::Invalid(report) | Error::Manifest(report) => Some(report),
        _ => None,
    };
    let message = match e {
        Error::Invalid(_) => "the store's files have problems".to_owned(),
        Error::Manifest(_) => "the manifest ssot.yaml is invalid".to_owned(),
        _ => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let text = s.to_string();
                if !message.contains(&text) {
                    message.push_str(": ");
                    message.push_str(&text);
                }
                source = s.source();
            }
            message
        }
    };
    if out.json {
        let json = serde_json::json!({
            "error": {
                "message": message,
                "exit_code": code,
                "problems": problems.map_or_else(Vec::new, |r| r.problems().to_vec()),
            }
        });
        // Standard output may be the broken thing; standard error still tells.
        let _ = out.json_value(&json).and_then(|()| out.flush());
    }
    match (e, problems) {
        (Error::Manifest(_), Some(report)) => {
            let _ = out.problems(report, false);
            out.error("the manifest ssot.yaml is invalid; fix the problems above");
        }
        (_, Some(report)) => {
            let _ = out.problems(report, false);
        }
        (_, None) => out.error(&message),
    }
}
