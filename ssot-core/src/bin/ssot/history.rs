//! The subcommands of the store's past: `log` (the audit log), `history`, `diff`
//! and `rollback` (versions), and `status` (drift: changes made outside the store).

use crate::args::{Global, LogArgs};
use crate::out::Output;
use crate::write::{operation_text, short};
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
            .nth(usize::try_from(n - 1).unwrap_or(usize::MAX)) {
            records.retain(|r| r.revision >= first);
        }
    }
    if out.json {
        out.json_value(&records).map_err(stdout_error)?;
        return Ok(Outcome::Done);
    }
    let mut text = String::new();
    for r in &records {
        let time = r.time.strftime("%Y-%m-%d %H:%M:%S").to_string();
        text.push_str(&format!(
            "{}  {}  {}  {}  {}",
            out.paint.bold(&format!("{:>4}", r.revision)),
            out.paint.dim(&time),
            r.actor,
            operation_text(&r.operation),
            out.path(&r.path)
        ));
        if let Some(v) = &r.version {
            text.push_str(&out.paint.dim(&format!("  version {}", short(v))));
        }
        text.push('\n');
    }
    if records.is_empty() {
        out.note("no changes recorded yet");
    }
    out.raw(&text).map_err(stdout_error)?;
    Ok(Outcome::Done)
}
