//! Per-node settings read from data: a task's own fields, and the automation
//! registry's workflows as chains of steps.
//!
//! # Task fields
//!
//! [`TaskOptions::from_task_fields`] reads these fields of a [`Task`] (its
//! [`extra`](Task::extra) fields, as any format keeps them: `timeout: 30s` in YAML,
//! a `timeout` column in CSV, `[timeout:: 30s]` in Markdown):
//!
//! | field | value | meaning |
//! |---|---|---|
//! | `timeout` | a duration (`30s`, `1h30m`) or a number of seconds | time limit of each attempt |
//! | `retries` (or `max_retries`) | a whole number | attempts after the first |
//! | `retry_policy` | `none`, `fixed`, `linear`, `exponential` (or `exponential_backoff`) | how retries wait |
//! | `retry_delay` | a duration or seconds | the fixed wait, the linear step, or the first exponential wait |
//! | `retry_max_delay` | a duration or seconds | the exponential cap |
//! | `concurrency_group` (or `group`) | a name | the executor's concurrency group |
//!
//! | `inputs` | globs (a list, or one text with `;` between) | with `outputs`, what makes the task up to date ([`Inputs::from_task_fields`]) |
//! | `outputs` | paths (as `inputs`) | files the task must leave; one missing makes it run |
//! | `command` (or `run`) | a shell line | what `ssot run` runs ([`command_of`]); also hashed with the inputs |
//!
//! A field that is absent leaves the executor's default. The retry settings combine
//! with the executor's default policy field by field: `retries: 3` alone keeps the
//! default's kind and waits and changes its count (with no default policy it means
//! fixed waits of `retry_delay`, 1 s unless given); `retry_policy: linear` alone keeps
//! the default's count ([`DEFAULT_RETRIES`] when the default has none). Waits not
//! given anywhere are 1 s (first wait, step) and 60 s (cap).
//!
//! # Automation registry workflows
//!
//! [`AutomationRegistry::parse`] reads an automation registry (YAML or JSON):
//! `automation.workflows.<category>.<name>` with `steps`, `timeout` (seconds or a
//! duration), `retry_policy` and `max_retries`, and the defaults of
//! `automation.policies.execution` (`timeout_default`, `max_retries`,
//! `max_concurrent`). [`AutomationRegistry::plan`] turns workflows into one plan in
//! which each workflow is a chain: step `n` depends on step `n - 1`. Every step gets
//! its workflow's timeout and retry policy (falling back to the registry's
//! defaults); with `max_concurrent`, every step is in the concurrency group
//! [`WORKFLOW_GROUP`] of that limit, which [`AutomationRegistry::configure`] adds to
//! an executor builder. Node ids are `<category>.<name>/<step>`. A step is a name
//! (`build`), or a mapping giving the shell line to run (`{name: build, run: make}`;
//! `command` is read too), kept in [`Workflow::commands`]. With the `store` feature,
//! [`Executor::run_workflow`](crate::run::Executor::run_workflow) runs a workflow of
//! a registry kept in a store and records its `last_run` there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use ssot_graph::DepGraph;

use crate::error::Error;
use crate::format::value::parse_duration;
use crate::run::executor::ExecutorBuilder;
use crate::run::incremental::Inputs;
use crate::run::plan::{Plan, TaskOptions};
use crate::run::retry::RetryPolicy;
use crate::task::Task;

/// Retries of a named retry policy when neither the data nor the executor's default
/// gives a count (the automation registry's usual `max_retries`).
pub const DEFAULT_RETRIES: u32 = 3;

/// The concurrency group of workflow steps when the registry sets `max_concurrent`.
pub const WORKFLOW_GROUP: &str = "automation";

const DEFAULT_DELAY: Duration = Duration::from_secs(1);
const DEFAULT_CAP: Duration = Duration::from_secs(60);

/// The kinds of [`RetryPolicy`], as data names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Fixed,
    Linear,
    Exponential,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "none" | "never" => Some(Kind::None),
            "fixed" | "constant" => Some(Kind::Fixed),
            "linear" | "linear_backoff" => Some(Kind::Linear),
            "exponential" | "exponential_backoff" => Some(Kind::Exponential),
            _ => None,
        }
    }

    fn of(p: &RetryPolicy) -> Kind {
        match p {
            RetryPolicy::Fixed { .. } => Kind::Fixed,
            RetryPolicy::Linear { .. } => Kind::Linear,
            RetryPolicy::Exponential { .. } => Kind::Exponential,
            _ => Kind::None,
        }
    }
}

/// Retry settings read from data, each optional, resolved over a default policy.
#[derive(Debug, Clone, Copy, Default)]
struct RetrySettings {
    kind: Option<Kind>,
    retries: Option<u32>,
    delay: Option<Duration>,
    cap: Option<Duration>,
}

impl RetrySettings {
    fn is_empty(&self) -> bool {
        self.kind.is_none() && self.retries.is_none() && self.delay.is_none() && self.cap.is_none()
    }

    /// The policy these settings make of `base` (see the module docs).
    fn resolve(&self, base: RetryPolicy) -> RetryPolicy {
        let base_kind = Kind::of(&base);
        let kind = match (self.kind, base_kind) {
            (Some(k), _) => k,
            (None, Kind::None) if self.retries.is_some_and(|r| r > 0) => Kind::Fixed,
            (None, k) => k,
        };
        let (base_delay, base_cap) = match base {
            RetryPolicy::Fixed { delay, .. } => (Some(delay), None),
            RetryPolicy::Linear { step, .. } => (Some(step), None),
            RetryPolicy::Exponential { base, cap, .. } => (Some(base), Some(cap)),
            _ => (None, None),
        };
        let retries = self.retries.unwrap_or(match base.max_retries() {
            0 => DEFAULT_RETRIES,
            n => n,
        });
        let delay = self.delay.or(base_delay).unwrap_or(DEFAULT_DELAY);
        let cap = self.cap.or(base_cap).unwrap_or(DEFAULT_CAP);
        match kind {
            Kind::None => RetryPolicy::None,
            Kind::Fixed => RetryPolicy::Fixed { retries, delay },
            Kind::Linear => RetryPolicy::Linear {
                retries,
                step: delay,
            },
            Kind::Exponential => match base {
                // Keep the default's jitter when only the count or waits change.
                RetryPolicy::Exponential {
                    jitter_permille,
                    seed,
                    ..
                } => {
                    RetryPolicy::exponential(retries, delay, cap).with_jitter(jitter_permille, seed)
                }
                _ => RetryPolicy::exponential(retries, delay, cap),
            },
        }
    }
}

/// A duration in data: a number of seconds, or a duration text (`30s`, `1h30m`; a
/// bare number in text is seconds too).
fn duration_of(v: &Value) -> Result<Duration, String> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| format!("`{n}` is not a number of seconds; write e.g. `30` or `30s`")),
        Value::String(s) => match s.trim().parse::<u64>() {
            Ok(secs) => Ok(Duration::from_secs(secs)),
            Err(_) => parse_duration(s),
        },
        other => Err(format!(
            "`{other}` is not a duration; write a number of seconds or a duration like `30s`"
        )),
    }
}

/// A whole number in data (a number or its text).
fn count_of(v: &Value) -> Result<u32, String> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("`{v}` is not a whole number of retries; write e.g. `3`"))
}

fn text_of(v: &Value) -> Result<&str, String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("`{v}` is not a name; write a word such as `linear`"))
}

fn kind_of(v: &Value) -> Result<Kind, String> {
    let name = text_of(v)?;
    Kind::parse(name).ok_or_else(|| {
        format!(
            "unknown retry policy `{name}`; use none, fixed, linear, exponential or exponential_backoff"
        )
    })
}

/// A workflow step in data: its name, or a mapping with `name` and a shell line
/// in `run` (or `command`).
fn step_of(v: &Value) -> Result<(String, Option<String>), String> {
    let Value::Object(m) = v else {
        return text_of(v).map(|s| (s.to_owned(), None));
    };
    let name = m.get("name").map(text_of).transpose()?.ok_or_else(|| {
        format!("step `{v}` has no `name`; write `{{name: build, run: make}}` or just `build`")
    })?;
    let command = ["run", "command"]
        .iter()
        .find_map(|k| m.get(*k))
        .map(|c| text_of(c).map(str::to_owned))
        .transpose()?;
    Ok((name.to_owned(), command))
}

impl TaskOptions {
    /// The settings a task's own fields give (its [`extra`](Task::extra) fields, as
    /// any format keeps them: `timeout: 30s` in YAML, a `timeout` column in CSV,
    /// `[timeout:: 30s]` in Markdown). Fields that are absent stay `None` (the
    /// executor's defaults apply); `inputs` is left `None`.
    ///
    /// | field | value | meaning |
    /// |---|---|---|
    /// | `timeout` | a duration (`30s`, `1h30m`) or a number of seconds | time limit of each attempt |
    /// | `retries` (or `max_retries`) | a whole number | attempts after the first |
    /// | `retry_policy` | `none`, `fixed`, `linear`, `exponential` (or `exponential_backoff`) | how retries wait |
    /// | `retry_delay` | a duration or seconds | the fixed wait, the linear step, or the first exponential wait |
    /// | `retry_max_delay` | a duration or seconds | the exponential cap |
    /// | `concurrency_group` (or `group`) | a name | the executor's concurrency group |
    ///
    /// Retry fields combine with `default_retry` (the executor's default policy)
    /// field by field: `retries: 3` alone keeps the
    /// default's kind and waits and changes its count (with no default policy it means
    /// fixed waits of `retry_delay`, 1 s unless given); `retry_policy: linear` alone keeps
    /// the default's count ([`DEFAULT_RETRIES`] when the default has none). Waits not
    /// given anywhere are 1 s (first wait, step) and 60 s (cap).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ssot_core::run::{RetryPolicy, TaskOptions};
    /// use ssot_core::{Task, TaskId};
    ///
    /// let mut task = Task::new(TaskId::new("deploy")?, "Deploy");
    /// task.extra.insert("timeout".into(), "30s".into());
    /// task.extra.insert("retries".into(), 2.into());
    /// let o = TaskOptions::from_task_fields(&task, RetryPolicy::None)?;
    /// assert_eq!(o.timeout, Some(Duration::from_secs(30)));
    /// assert_eq!(o.retry.map(|r| r.max_retries()), Some(2));
    /// # Ok::<(), ssot_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TaskField`] naming the task and field when a value does not parse.
    pub fn from_task_fields(task: &Task, default_retry: RetryPolicy) -> Result<TaskOptions, Error> {
        let bad = |field: &str, message: String| Error::TaskField {
            id: task.id.to_string(),
            field: field.to_owned(),
            message,
        };
        let get = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|&n| task.extra.get(n).filter(|v| !v.is_null()).map(|v| (n, v)))
        };
        let mut o = TaskOptions::default();
        if let Some((f, v)) = get(&["timeout"]) {
            o.timeout = Some(duration_of(v).map_err(|m| bad(f, m))?);
        }
        let mut r = RetrySettings::default();
        if let Some((f, v)) = get(&["retry_policy"]) {
            r.kind = Some(kind_of(v).map_err(|m| bad(f, m))?);
        }
        if let Some((f, v)) = get(&["retries", "max_retries"]) {
            r.retries = Some(count_of(v).map_err(|m| bad(f, m))?);
        }
        if let Some((f, v)) = get(&["retry_delay"]) {
            r.delay = Some(duration_of(v).map_err(|m| bad(f, m))?);
        }
        if let Some((f, v)) = get(&["retry_max_delay"]) {
            r.cap = Some(duration_of(v).map_err(|m| bad(f, m))?);
        }
        if !r.is_empty() {
            o.retry = Some(r.resolve(default_retry));
        }
        if let Some((f, v)) = get(&["concurrency_group", "group"]) {
            o.group = Some(text_of(v).map_err(|m| bad(f, m))?.to_owned());
        }
        Ok(o)
    }

    /// These options, with every field that is `None` taken from `fallback`.
    #[must_use]
    pub fn or(self, fallback: TaskOptions) -> TaskOptions {
        TaskOptions {
            retry: self.retry.or(fallback.retry),
            timeout: self.timeout.or(fallback.timeout),
            group: self.group.or(fallback.group),
            inputs: self.inputs.or(fallback.inputs),
        }
    }
}

/// The task fields a task's shell command is read from, the first present wins:
/// `command`, else `run`.
pub const COMMAND_FIELDS: [&str; 2] = ["command", "run"];

/// The task's shell command: its first non-empty [`COMMAND_FIELDS`] field.
#[must_use]
pub fn command_of(task: &Task) -> Option<&str> {
    COMMAND_FIELDS
        .iter()
        .find_map(|f| task.extra.get(*f).and_then(Value::as_str))
        .filter(|c| !c.trim().is_empty())
}

/// A list of texts in data: a list of strings, or one string (`;` separates
/// several, as CSV cells write lists).
fn texts_of(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(s
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| text_of(i).map(str::to_owned))
            .collect(),
        other => Err(format!(
            "`{other}` is not a list of paths or globs; write e.g. `[src/**/*.rs, Cargo.toml]`"
        )),
    }
}

impl Inputs {
    /// What a task's own fields declare it reads and writes, for incremental runs:
    /// `inputs` (globs, relative to `root`) and `outputs` (paths), each a list or
    /// one text (`;` separates several, as in a CSV cell); the command text hashed is
    /// the task's [`command_of`]. `None` when the task has neither field (it then
    /// runs every time).
    ///
    /// ```
    /// use std::path::Path;
    /// use ssot_core::run::Inputs;
    /// use ssot_core::{Task, TaskId};
    ///
    /// let mut task = Task::new(TaskId::new("build")?, "Build");
    /// task.extra.insert("inputs".into(), "src/**/*.c; Makefile".into());
    /// task.extra.insert("outputs".into(), "build/app".into());
    /// task.extra.insert("command".into(), "make".into());
    /// let inputs = Inputs::from_task_fields(&task, Path::new("/proj"))?.unwrap();
    /// assert_eq!(inputs.globs, ["src/**/*.c", "Makefile"]);
    /// assert_eq!(inputs.command, "make");
    /// # Ok::<(), ssot_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TaskField`] naming the task and field when a value is not a text or
    /// a list of texts.
    pub fn from_task_fields(task: &Task, root: &Path) -> Result<Option<Inputs>, Error> {
        let get = |name: &str| -> Result<Option<Vec<String>>, Error> {
            task.extra
                .get(name)
                .filter(|v| !v.is_null())
                .map(|v| {
                    texts_of(v).map_err(|message| Error::TaskField {
                        id: task.id.to_string(),
                        field: name.to_owned(),
                        message,
                    })
                })
                .transpose()
        };
        let (globs, outputs) = (get("inputs")?, get("outputs")?);
        if globs.is_none() && outputs.is_none() {
            return Ok(None);
        }
        Ok(Some(Inputs {
            root: root.to_path_buf(),
            globs: globs.unwrap_or_default(),
            outputs: outputs
                .unwrap_or_default()
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            command: command_of(task).unwrap_or_default().to_owned(),
            env: Vec::new(),
        }))
    }
}

/// One workflow of an automation registry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Workflow {
    /// `<category>.<name>`, e.g. `release.production`.
    pub name: String,
    /// Its category: the key under `automation.workflows`, e.g. `release`.
    pub category: String,
    /// Its key in the category, e.g. `production`.
    pub key: String,
    /// Its steps, in order.
    pub steps: Vec<String>,
    /// The shell command of each step that gives one (a step written as a
    /// mapping, `{name: build, run: make}`; `command` is read too).
    pub commands: BTreeMap<String, String>,
    /// Time limit of each step: the workflow's `timeout`, else the registry's
    /// `timeout_default`.
    pub timeout: Option<Duration>,
    /// Retry policy of each step: the workflow's `retry_policy` and `max_retries`,
    /// else the registry's `max_retries`; `None` when neither names a policy.
    pub retry: Option<RetryPolicy>,
}

impl Workflow {
    /// The node id of `step` in a plan: `<workflow>/<step>`.
    #[must_use]
    pub fn node(&self, step: &str) -> String {
        format!("{}/{step}", self.name)
    }
}

/// The workflows of an automation registry and its execution policy.
///
/// [`AutomationRegistry::parse`] reads an automation registry (YAML or JSON):
/// `automation.workflows.<category>.<name>` with `steps`, `timeout` (seconds or a
/// duration), `retry_policy` and `max_retries`, and the defaults of
/// `automation.policies.execution` (`timeout_default`, `max_retries`,
/// `max_concurrent`). [`AutomationRegistry::plan`] turns workflows into one plan in
/// which each workflow is a chain: step `n` depends on step `n - 1`. Every step gets
/// its workflow's timeout and retry policy (falling back to the registry's
/// defaults); with `max_concurrent`, every step is in the concurrency group
/// [`WORKFLOW_GROUP`] of that limit, which [`AutomationRegistry::configure`] adds to
/// an executor builder. Node ids are `<category>.<name>/<step>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AutomationRegistry {
    /// Every workflow, sorted by name.
    pub workflows: Vec<Workflow>,
    /// `policies.execution.max_concurrent`: steps running at once, across workflows.
    pub max_concurrent: Option<usize>,
}

impl AutomationRegistry {
    /// Reads an automation registry (YAML, or JSON, which is YAML too): see
    /// [`AutomationRegistry`] for the keys read. Other keys (triggers, schedules, ...) are
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`Error::Workflow`] naming the key when the text is not YAML, has no
    /// `automation.workflows` map, or a setting does not parse.
    pub fn parse(text: &str) -> Result<AutomationRegistry, Error> {
        let bad = |key: &str, message: String| Error::Workflow {
            key: key.to_owned(),
            message,
        };
        let root: Value = serde_yaml::from_str(text).map_err(|e| bad("", e.to_string()))?;
        let auto = root.get("automation").ok_or_else(|| {
            bad(
                "automation",
                "missing; an automation registry has `automation.workflows`".into(),
            )
        })?;
        let exec = auto.pointer("/policies/execution");
        let setting = |name: &str| exec.and_then(|e| e.get(name)).filter(|v| !v.is_null());
        let key = |name: &str| format!("automation.policies.execution.{name}");
        let timeout_default = setting("timeout_default")
            .map(|v| duration_of(v).map_err(|m| bad(&key("timeout_default"), m)))
            .transpose()?;
        let retries_default = setting("max_retries")
            .map(|v| count_of(v).map_err(|m| bad(&key("max_retries"), m)))
            .transpose()?;
        let max_concurrent = setting("max_concurrent")
            .map(|v| {
                count_of(v)
                    .ok()
                    .filter(|&n| n > 0)
                    .map(|n| n as usize)
                    .ok_or_else(|| {
                        bad(
                            &key("max_concurrent"),
                            format!("`{v}` is not a positive whole number"),
                        )
                    })
            })
            .transpose()?;
        let categories = auto
            .get("workflows")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                bad(
                    "automation.workflows",
                    "missing or not a map of categories".into(),
                )
            })?;
        let mut workflows = BTreeMap::new();
        for (cat, entries) in categories {
            let entries = entries.as_object().ok_or_else(|| {
                bad(
                    &format!("automation.workflows.{cat}"),
                    "not a map of workflows".into(),
                )
            })?;
            for (name, w) in entries {
                let at = format!("automation.workflows.{cat}.{name}");
                let field = |f: &str| w.get(f).filter(|v| !v.is_null());
                let mut commands = BTreeMap::new();
                let steps: Vec<String> = match field("steps") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|s| {
                            let (name, command) = step_of(s)?;
                            if let Some(c) = command {
                                commands.insert(name.clone(), c);
                            }
                            Ok(name)
                        })
                        .collect::<Result<_, String>>()
                        .map_err(|m| bad(&format!("{at}.steps"), m))?,
                    Some(other) => {
                        return Err(bad(
                            &format!("{at}.steps"),
                            format!("`{other}` is not a list of step names"),
                        ));
                    }
                    None => Vec::new(),
                };
                let timeout = field("timeout")
                    .map(|v| duration_of(v).map_err(|m| bad(&format!("{at}.timeout"), m)))
                    .transpose()?
                    .or(timeout_default);
                let mut r = RetrySettings::default();
                if let Some(v) = field("retry_policy") {
                    r.kind = Some(kind_of(v).map_err(|m| bad(&format!("{at}.retry_policy"), m))?);
                }
                if let Some(v) = field("max_retries") {
                    r.retries =
                        Some(count_of(v).map_err(|m| bad(&format!("{at}.max_retries"), m))?);
                }
                let retry = match (r.kind, r.retries.or(retries_default)) {
                    (None, None) => None,
                    (kind, retries) => Some(
                        RetrySettings {
                            kind: Some(kind.unwrap_or(Kind::Fixed)),
                            retries: Some(retries.unwrap_or(DEFAULT_RETRIES)),
                            ..r
                        }
                        .resolve(RetryPolicy::None),
                    ),
                };
                workflows.insert(
                    format!("{cat}.{name}"),
                    Workflow {
                        name: format!("{cat}.{name}"),
                        category: cat.clone(),
                        key: name.clone(),
                        steps,
                        commands,
                        timeout,
                        retry,
                    },
                );
            }
        }
        Ok(AutomationRegistry {
            workflows: workflows.into_values().collect(),
            max_concurrent,
        })
    }

    /// The workflow named `<category>.<name>`.
    #[must_use]
    pub fn workflow(&self, name: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.name == name)
    }

    /// Adds what the plan's steps need to an executor: the concurrency group
    /// [`WORKFLOW_GROUP`] limited to `max_concurrent`, when the registry sets it.
    #[must_use]
    pub fn configure(&self, builder: ExecutorBuilder) -> ExecutorBuilder {
        match self.max_concurrent {
            Some(n) => builder.group(WORKFLOW_GROUP, n),
            None => builder,
        }
    }

    /// One plan holding the named workflows (all of them when `names` is empty),
    /// each a chain of its steps (node ids from [`Workflow::node`]), with each
    /// workflow's timeout and retry policy and, when `max_concurrent` is set, the
    /// group [`WORKFLOW_GROUP`] on every step. Among ready steps, workflows run in
    /// the order named, then by name. O(steps log steps).
    ///
    /// # Errors
    ///
    /// [`Error::Workflow`] for a name not in the registry or a workflow that lists
    /// a step twice (a chain cannot visit a node twice).
    pub fn plan(&self, names: &[&str]) -> Result<Plan<String>, Error> {
        let chosen: Vec<&Workflow> = if names.is_empty() {
            self.workflows.iter().collect()
        } else {
            names
                .iter()
                .map(|n| {
                    self.workflow(n).ok_or_else(|| Error::Workflow {
                        key: format!("automation.workflows.{n}"),
                        message: format!(
                            "no such workflow; the registry has: {}",
                            self.workflows
                                .iter()
                                .map(|w| w.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let mut nodes: Vec<(String, Vec<String>)> = Vec::new();
        let mut order = Vec::new();
        for w in &chosen {
            let mut prev: Option<String> = None;
            for step in &w.steps {
                let id = w.node(step);
                if nodes.iter().any(|(n, _)| *n == id) {
                    return Err(Error::Workflow {
                        key: format!("automation.workflows.{}.steps", w.name),
                        message: format!(
                            "step `{step}` is listed twice; give each step its own name"
                        ),
                    });
                }
                nodes.push((id.clone(), prev.iter().cloned().collect()));
                order.push(id.clone());
                prev = Some(id);
            }
        }
        // Ids are unique (checked above) and each step depends on the one before.
        let graph = DepGraph::from_tasks(nodes).map_err(|e| Error::Graph(e.to_string()))?;
        let mut plan = Plan::new(graph).with_order(order)?;
        for w in &chosen {
            for step in &w.steps {
                plan.set_options(
                    w.node(step),
                    TaskOptions {
                        retry: w.retry,
                        timeout: w.timeout,
                        group: self.max_concurrent.map(|_| WORKFLOW_GROUP.to_owned()),
                        inputs: None,
                    },
                )?;
            }
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskId;

    fn task(fields: &[(&str, Value)]) -> Task {
        let mut t = Task::new(TaskId::new("t").unwrap_or_else(|_| unreachable!()), "T");
        for (k, v) in fields {
            t.extra.insert((*k).to_owned(), v.clone());
        }
        t
    }

    #[test]
    fn retries_alone_keep_the_default_policy_kind_and_waits() {
        let base = RetryPolicy::exponential(1, Duration::from_millis(10), Duration::from_secs(2));
        let o = TaskOptions::from_task_fields(&task(&[("retries", 4.into())]), base)
            .unwrap_or_default();
        assert_eq!(
            o.retry,
            Some(RetryPolicy::exponential(
                4,
                Duration::from_millis(10),
                Duration::from_secs(2)
            ))
        );
        let o = TaskOptions::from_task_fields(&task(&[("retries", "2".into())]), RetryPolicy::None)
            .unwrap_or_default();
        assert_eq!(
            o.retry,
            Some(RetryPolicy::Fixed {
                retries: 2,
                delay: DEFAULT_DELAY
            })
        );
    }

    #[test]
    fn a_named_policy_without_a_count_takes_the_default_count() {
        let o = TaskOptions::from_task_fields(
            &task(&[
                ("retry_policy", "linear".into()),
                ("retry_delay", "250ms".into()),
            ]),
            RetryPolicy::None,
        )
        .unwrap_or_default();
        assert_eq!(
            o.retry,
            Some(RetryPolicy::Linear {
                retries: DEFAULT_RETRIES,
                step: Duration::from_millis(250)
            })
        );
        let o = TaskOptions::from_task_fields(
            &task(&[("retry_policy", "none".into())]),
            RetryPolicy::Fixed {
                retries: 5,
                delay: Duration::ZERO,
            },
        )
        .unwrap_or_default();
        assert_eq!(o.retry, Some(RetryPolicy::None));
    }

    #[test]
    fn absent_fields_leave_the_defaults_and_bad_ones_name_task_and_field() {
        assert_eq!(
            TaskOptions::from_task_fields(&task(&[]), RetryPolicy::None).ok(),
            Some(TaskOptions::default())
        );
        let err =
            TaskOptions::from_task_fields(&task(&[("timeout", "soon".into())]), RetryPolicy::None);
        let msg = err.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
        assert!(
            msg.contains("task `t`") && msg.contains("`timeout`"),
            "{msg}"
        );
        let err = TaskOptions::from_task_fields(
            &task(&[("retry_policy", "sometimes".into())]),
            RetryPolicy::None,
        );
        assert!(matches!(err, Err(Error::TaskField { ref field, .. }) if field == "retry_policy"));
    }

    #[test]
    fn durations_are_seconds_or_duration_text() {
        assert_eq!(duration_of(&Value::from(90)), Ok(Duration::from_secs(90)));
        assert_eq!(duration_of(&Value::from("90")), Ok(Duration::from_secs(90)));
        assert_eq!(
            duration_of(&Value::from("1m30s")),
            Ok(Duration::from_secs(90))
        );
        assert!(duration_of(&Value::from(-1)).is_err());
    }
}
