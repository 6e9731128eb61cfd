//! The subcommands of the store's past: `log` (the audit log), `history`, `diff`
//! and `rollback` (versions), and `status` (drift: changes made outside the store).

use serde_json::{Value, json};
use ssot_core::Error;
use ssot_core::store::Report;
use ssot_core::version::Version;

use crate::args::{DiffArgs, Global, LogArgs, RollbackArgs, StatusArgs};
use crate::out::Output;
use crate::write::{record_text, short};
use crate::{Outcome, Run, open, stdout_error};

/// `ssot log`: the audit log, oldest first; `--verify` checks its hash chain.
pub(crate) fn log(global: &Global, args: &LogArgs, out: &mut Output) -> Run {
    let store = open(global)?;
    if args.verify {
        let check = store.verify_audit()?;
        if out.json {
            out.json_value(&check).map_err(stdout_error)?;
        } else if let Some(bad) = &check.first_bad {
            let at = out.path(".ssot/audit.log");
            out.line(format!("{at}:{}: {}", bad.line, bad.reason))
                .map_err(stdout_error)?;
        } else {
            let text = format!("audit log intact: {} records", check.records);
            let ok = out.paint.green(&text);
            out.line(ok).map_err(stdout_error)?;
            if let Some(pruned) = &check.pruned {
                out.note(&format!("{pruned} (audit_retention)"));
            }
            if check.head != ssot_core::store::AuditHead::Current {
                out.note(&format!("{}", check.head));
            }
        }
        return Ok(if check.is_ok() {
            Outcome::Done
        } else {
            Outcome::No
        });
    }
    let mut records = store.audit_log()?;
    records.retain(|r| r.revision > args.since);
    if let Some(n) = args.limit {
        let revisions: std::collections::BTreeSet<u64> =
            records.iter().map(|r| r.revision).collect();
        if let Some(&first) = revisions
            .iter()
            .rev()
            .nth(usize::try_from(n - 1).unwrap_or(usize::MAX))
        {
            records.retain(|r| r.revision >= first);
        }
    }
    if out.json {
        out.json_value(&records).map_err(stdout_error)?;
        return Ok(Outcome::Done);
    }
    let actor_width = records.iter().map(|r| r.actor.chars().count()).max();
    let what: Vec<String> = records.iter().map(record_text).collect();
    let what_width = what.iter().map(|w| w.chars().count()).max();
    let (actor_width, what_width) = (actor_width.unwrap_or(0), what_width.unwrap_or(0));
    let mut text = String::new();
    for (r, what) in records.iter().zip(&what) {
        let time = r.time.strftime("%Y-%m-%d %H:%M:%S").to_string();
        text.push_str(&format!(
            "{}  {}  {:<actor_width$}  {what:<what_width$}  {}",
            out.paint.bold(&format!("{:>4}", r.revision)),
            out.paint.dim(&time),
            r.actor,
            out.path(&r.path)
        ));
        if let Some(v) = &r.version {
            text.push_str(&out.paint.dim(&format!("  version {}", short(v))));
        }
        text.push('\n');
    }
    let pruned = store.audit_pruned()?;
    if let Some(p) = &pruned
        && args.since < p.revision
    {
        out.note(&format!(
            "{p} (audit_retention): the log starts at revision {}",
            p.revision + 1
        ));
    }
    if records.is_empty() && pruned.is_none() {
        out.note("no changes recorded yet");
    }
    out.raw(&text).map_err(stdout_error)?;
    Ok(Outcome::Done)
}
/// `ssot history`: the store's versions, newest first.
pub(crate) fn history(global: &Global, out: &mut Output) -> Run {
    let versions = open(global)?.history()?;
    if out.json {
        let list: Vec<Value> = versions.iter().map(version_json).collect();
        out.json_value(&list).map_err(stdout_error)?;
        return Ok(Outcome::Done);
    }
    let mut text = String::new();
    for v in &versions {
        text.push_str(&format!(
            "{}  {}  {:>3} files  {}",
            out.paint.bold(short(v.id().as_str())),
            out.paint.dim(&time_text(v.created())),
            v.files().len(),
            v.description()
        ));
        if let Some(from) = v.restored_from() {
            text.push_str(&format!(" (restores {})", short(from.as_str())));
        }
        text.push('\n');
    }
    if versions.is_empty() {
        out.note(
            "no versions yet (a change records one when ssot.yaml says `snapshot: every-change`)",
        );
    }
    out.raw(&text).map_err(stdout_error)?;
    Ok(Outcome::Done)
}

/// `ssot diff A B`: the files added, modified and removed from version A to B.
pub(crate) fn diff(global: &Global, args: &DiffArgs, out: &mut Output) -> Run {
    let diff = open(global)?.diff(&args.from, &args.to)?;
    let lists = [
        ("added", &diff.added),
        ("modified", &diff.modified),
        ("removed", &diff.removed),
    ];
    print_file_lists(&lists, out)?;
    Ok(Outcome::Done)
}

/// `ssot rollback VERSION`: the store's files as they were at VERSION, as one new
/// revision.
pub(crate) fn rollback(global: &Global, args: &RollbackArgs, out: &mut Output) -> Run {
    let commit = open(global)?.rollback(&args.version)?;
    crate::write::print_commit(&commit, out)
}

/// `ssot status`: the files changed outside the store since its last revision;
/// exit 1 when there are any. `--record` writes them into the audit log.
pub(crate) fn status(global: &Global, args: &StatusArgs, out: &mut Output) -> Run {
    let store = open(global)?;
    if args.record {
        return match store.record_drift()? {
            Some(commit) => crate::write::print_commit(&commit, out),
            None => {
                if out.json {
                    out.json_value(&Value::Null).map_err(stdout_error)?;
                } else {
                    out.note("no drift: every file is as the audit log says");
                }
                Ok(Outcome::Done)
            }
        };
    }
    let drift = store.drift()?;
    let lists = [
        ("added", &drift.added),
        ("modified", &drift.modified),
        ("removed", &drift.removed),
    ];
    let none = lists.iter().all(|(_, l)| l.is_empty());
    if out.json {
        out.json_value(&drift).map_err(stdout_error)?;
    } else if none {
        out.note("no drift: every file is as the audit log says");
    } else {
        print_file_lists(&lists, out)?;
        if !drift.problems.is_empty() {
            // What a change would now be refused for, at file:line:col.
            let report = Report::new(drift.problems.clone());
            out.problems(&report, true).map_err(stdout_error)?;
        }
    }
    Ok(if none { Outcome::Done } else { Outcome::No })
}

/// Files by kind of change: JSON `{"added": [..], ...}`, or one `kind  path` line
/// each.
fn print_file_lists(lists: &[(&str, &Vec<String>)], out: &mut Output) -> Result<(), Error> {
    if out.json {
        let map: serde_json::Map<String, Value> = lists
            .iter()
            .map(|(k, l)| ((*k).to_owned(), json!(l)))
            .collect();
        return out.json_value(&map).map_err(stdout_error);
    }
    let mut text = String::new();
    for (kind, files) in lists {
        for f in *files {
            let label = format!("{kind:<8}");
            let label = match *kind {
                "added" => out.paint.green(&label),
                "removed" => out.paint.red(&label),
                _ => out.paint.yellow(&label),
            };
            text.push_str(&format!("{label}  {}\n", out.path(f)));
        }
    }
    out.raw(&text).map_err(stdout_error)
}

/// A version as JSON.
fn version_json(v: &Version) -> Value {
    json!({
        "id": v.id().as_str(),
        "parent": v.parent().map(|p| p.as_str()),
        "description": v.description(),
        "created": time_text(v.created()),
        "restored_from": v.restored_from().map(|p| p.as_str()),
        "files": v.files().len(),
        "bytes": v.total_size(),
    })
}

/// A time as RFC 3339 in UTC, to the second.
fn time_text(t: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "?".to_owned())
}
