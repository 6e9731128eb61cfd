//! The subcommands that read the store: `init` (which only writes the manifest),
//! `validate`, `plan`, `next` and `explain`.

use std::time::Duration;

use serde_json::{Value, json};
use ssot_core::store::{Plan, PlannedTask, Store};
use ssot_core::{Status, TaskId};

use crate::args::{ExplainArgs, Global, NextArgs, PlanArgs};
use crate::out::Output;
use crate::{Outcome, Run, open, stdout_error};

/// `ssot init`: writes the default ssot.yaml.
pub(crate) fn init(global: &Global, out: &mut Output) -> Run {
    let store = Store::init(&global.dir)?;
    let manifest = store.root().join("ssot.yaml");
    if out.json {
        out.json_value(&json!({
            "root": store.root(),
            "manifest": manifest,
            "files": store.files()?.len(),
        }))
    } else {
        out.line(format!(
            "initialized a store in {}: wrote {} ({} files found)",
            store.root().display(),
            out.path("ssot.yaml"),
            store.files()?.len()
        ))
    }
    .map_err(stdout_error)?;
    Ok(Outcome::Done)
}

/// `ssot validate`: every problem on standard output; exit 1 when there is one.
pub(crate) fn validate(global: &Global, out: &mut Output) -> Run {
    let store = open(global)?;
    let report = store.validate()?;
    if out.json {
        out.json_value(&report).map_err(stdout_error)?;
    } else if report.is_valid() {
        let files = store.files()?.len();
        let text = format!("no problems in {files} files");
        let ok = out.paint.green(&text);
        out.line(ok).map_err(stdout_error)?;
    } else {
        out.problems(&report, true).map_err(stdout_error)?;
    }
    Ok(if report.is_valid() {
        Outcome::Done
    } else {
        Outcome::No
    })
}

/// `ssot plan`: text, `--json` or `--dot`.
pub(crate) fn plan(global: &Global, args: &PlanArgs, out: &mut Output) -> Run {
    let plan = open(global)?.plan()?;
    if args.dot {
        out.raw(&plan.to_dot())
    } else if out.json {
        out.json_value(&plan.to_json())
    } else {
        let text = plan_text(&plan, out);
        out.raw(&text)
    }
    .map_err(stdout_error)?;
    Ok(Outcome::Done)
}

/// The plan for a terminal: counts, ready and blocked tasks with their places, the
/// waves and the critical path.
fn plan_text(plan: &Plan, out: &Output) -> String {
    let paint = out.paint;
    let ids: Vec<&TaskId> = plan.waves().iter().flatten().collect();
    let count = |s: Status| {
        ids.iter()
            .filter(|id| plan.task(id.as_str()).is_some_and(|t| t.task.status() == s))
            .count()
    };
    let mut counts = vec![
        format!("{} ready", plan.ready().len()),
        format!("{} blocked", plan.blocked().len()),
    ];
    for (status, name) in [
        (Status::InProgress, "in progress"),
        (Status::Blocked, "on hold"),
        (Status::Done, "done"),
        (Status::Cancelled, "cancelled"),
    ] {
        let n = count(status);
        if n > 0 || status == Status::Done {
            counts.push(format!("{n} {name}"));
        }
    }
    let mut text = format!("{} tasks: {}\n", plan.len(), counts.join(", "));
    let id_width = ids.iter().map(|id| id.as_str().len()).max().unwrap_or(0);
    let title_width = ids
        .iter()
        .filter_map(|id| plan.task(id.as_str()))
        .map(|t| t.task.title.chars().count().min(40))
        .max()
        .unwrap_or(0);
    let at_width = ids
        .iter()
        .filter_map(|id| plan.task(id.as_str()))
        .map(|t| out.location(&t.location).chars().count())
        .max()
        .unwrap_or(0);
    // `colour` paints the id; `pad` aligns what follows the location.
    let row = |id: &TaskId, colour: fn(crate::out::Paint, &str) -> String, pad: bool| {
        let (title, at) = plan
            .task(id.as_str())
            .map_or((String::new(), String::new()), |t| {
                (clip(&t.task.title, 40), out.location(&t.location))
            });
        let at = if pad { format!("{at:<at_width$}") } else { at };
        let id = format!("{:<id_width$}", id.as_str());
        format!(
            "  {}  {title:<title_width$}  {}",
            colour(paint, &id),
            paint.dim(&at)
        )
    };
    if !plan.ready().is_empty() {
        text.push_str(&paint.bold("ready"));
        text.push('\n');
        for id in plan.ready() {
            text.push_str(&row(id, crate::out::Paint::green, false));
            text.push('\n');
        }
    }
    if !plan.blocked().is_empty() {
        text.push_str(&paint.bold("blocked"));
        text.push('\n');
        for b in plan.blocked() {
            text.push_str(&row(&b.id, crate::out::Paint::yellow, true));
            text.push_str(&format!("  waits on {}", list(&b.waiting_on)));
            if *b.root_causes != *b.waiting_on {
                text.push_str(&format!("; root causes: {}", list(&b.root_causes)));
            }
            text.push('\n');
        }
    }
    // Started or held tasks: neither ready nor waiting on a dependency.
    for (status, name) in [
        (Status::InProgress, "in progress"),
        (Status::Blocked, "on hold"),
    ] {
        let held: Vec<&TaskId> = ids
            .iter()
            .copied()
            .filter(|id| {
                plan.task(id.as_str())
                    .is_some_and(|t| t.task.status() == status)
            })
            .collect();
        if !held.is_empty() {
            text.push_str(&paint.bold(name));
            text.push('\n');
            for id in held {
                text.push_str(&row(id, crate::out::Paint::bold, false));
                text.push('\n');
            }
        }
    }
    if !plan.waves().is_empty() {
        text.push_str(&paint.bold("waves"));
        text.push('\n');
        for (i, wave) in plan.waves().iter().enumerate() {
            text.push_str(&format!("  {}  {}\n", i + 1, list(wave).replace(", ", " ")));
        }
    }
    if let Some(c) = plan.critical_path()
        && !c.tasks.is_empty()
    {
        text.push_str(&format!(
            "{} ({}): {}",
            paint.bold("critical path"),
            duration(c.total),
            c.tasks
                .iter()
                .map(TaskId::as_str)
                .collect::<Vec<_>>()
                .join(" -> ")
        ));
        if c.unestimated > 0 {
            text.push_str(&format!(
                " ({} unfinished task{} without estimate)",
                c.unestimated,
                if c.unestimated == 1 { "" } else { "s" }
            ));
        }
        text.push('\n');
    }
    text
}

/// `ssot next`: the task to work on next; exit 1 when nothing is ready.
pub(crate) fn next(global: &Global, args: &NextArgs, out: &mut Output) -> Run {
    let next = open(global)?.next_task()?;
    let Some(task) = next else {
        if out.json {
            out.json_value(&Value::Null).map_err(stdout_error)?;
        } else {
            out.note("nothing is ready: every pending task waits on another (see `ssot plan`)");
        }
        return Ok(Outcome::No);
    };
    if out.json {
        out.json_value(&task_json(&task))
    } else if args.id {
        out.line(task.task.id.as_str())
    } else {
        let id = out.paint.bold(task.task.id.as_str());
        let at = out.paint.dim(&out.location(&task.location));
        let mut text = format!("{id}  {}  {at}", task.task.title);
        let mut facts = vec![task.task.priority.as_str().to_owned()];
        if let Some(e) = task.task.estimated_time {
            facts.push(duration(e));
        }
        text.push_str(&format!("  ({})", facts.join(", ")));
        out.line(text)
    }
    .map_err(stdout_error)?;
    Ok(Outcome::Done)
}

/// `ssot explain CONFIG KEY`: which file and line set a value, what it overrode.
pub(crate) fn explain(global: &Global, args: &ExplainArgs, out: &mut Output) -> Run {
    let explanation = open(global)?.explain(&args.config, &args.key)?;
    if out.json {
        out.json_value(&explanation)
    } else {
        let mut text = format!(
            "{} = {}\n  set by {}",
            out.paint.bold(&explanation.key),
            explanation.value,
            out.location(&explanation.set_by.location)
        );
        if explanation.set_by.value != explanation.value {
            text.push_str(&format!(" as {}", explanation.set_by.value));
        }
        for o in &explanation.overrode {
            text.push_str(&format!(
                "\n  overrides {} ({})",
                out.location(&o.location),
                o.value
            ));
        }
        if explanation.secret {
            text.push_str("\n  secret: masked in every report");
        }
        out.line(text)
    }
    .map_err(stdout_error)?;
    Ok(Outcome::Done)
}

/// A task of the plan as JSON, the shape of `plan --json`'s entries plus its
/// details.
pub(crate) fn task_json(t: &PlannedTask) -> Value {
    json!({
        "id": t.task.id.as_str(),
        "title": t.task.title,
        "status": t.task.status().as_str(),
        "priority": t.task.priority.as_str(),
        "file": t.location.file,
        "line": t.location.line,
        "dependencies": t.task.dependencies.iter().map(TaskId::as_str).collect::<Vec<_>>(),
        "tags": t.task.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "estimated_seconds": t.task.estimated_time.map(|d| d.as_secs_f64()),
    })
}

/// Ids, comma separated.
fn list(ids: &[TaskId]) -> String {
    ids.iter()
        .map(TaskId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most `max` characters of `s`, an ellipsis marking a cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A duration as `1h30m`, `45m`, `20s`, `0s`.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    if h > 0 {
        text.push_str(&format!("{h}h"));
    }
    if m > 0 {
        text.push_str(&format!("{m}m"));
    }
    if s > 0 || text.is_empty() {
        text.push_str(&format!("{s}s"));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_print_compactly() {
        assert_eq!(super::duration(Duration::ZERO), "0s");
        assert_eq!(super::duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(super::duration(Duration::from_secs(3601)), "1h1s");
    }

    #[test]
    fn long_titles_are_clipped_with_an_ellipsis() {
        assert_eq!(super::clip("abcdef", 4), "abc…");
        assert_eq!(super::clip("abc", 4), "abc");
    }
}
