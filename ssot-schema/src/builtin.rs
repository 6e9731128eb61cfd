//! The schemas shipped inside the crate: ssot-core's task record and task list, and
//! the five registry documents of the automation design.
//!
//! Register them all with
//! [`SchemaRegistry::register_builtins`](crate::SchemaRegistry::register_builtins),
//! then validate against the names below. Each schema's `$id` is
//! `https://ssot-schema.invalid/` followed by its name, so they can also be looked up
//! by `$id`, and a schema of your own can `$ref` them (`{"$ref":
//! "https://ssot-schema.invalid/ssot/task"}`). Their text is available through
//! [`text`] for tools and editors that want the files.
//!
//! # Strictness
//!
//! Every object refuses keys it does not declare (`additionalProperties: false`),
//! because the commonest mistake in a hand-edited configuration file is a misspelled
//! key that is then silently ignored; the report names the closest declared key.
//! The task record is the exception: ssot-core keeps every key it does not know as
//! an extra field and writes it back, so [`TASK`] accepts any such key except one
//! that misspells a field (a field name up to case, or one edit away: `prioirty`,
//! `Title`, `created-at`), and every task list ssot-core writes validates.
//! Durations are compact (`30s`, `5m`, `1h30m`; `5 minutes` is refused), timeouts are
//! positive whole seconds, retry policies, triggers, severities, channels, protocols
//! and ciphers are closed lists, and secrets must be `${ENV_VAR}` references. Each
//! rule says why in its `description`. What JSON Schema cannot express (unique task
//! ids, `min_replicas <= max_replicas`) is not checked and says so.
//!
//! | name                          | validates                                           |
//! |-------------------------------|-----------------------------------------------------|
//! | [`TASK`]                      | one task record, as ssot-core reads it              |
//! | [`TASK_LIST`]                 | a task list: a list of tasks or a map with `tasks`  |
//! | [`AUTOMATION_REGISTRY`]       | workflows, triggers, schedules, execution policies  |
//! | [`PIPELINE_REGISTRY`]         | CI/CD pipelines and their stages                    |
//! | [`ORCHESTRATION_REGISTRY`]    | services, health checks, scaling, failover          |
//! | [`MONITORING_REGISTRY`]       | metrics, alerts, dashboards                         |
//! | [`SECURITY_REGISTRY`]         | authentication, roles, encryption, network rules    |
//! | [`COMMON`]                    | shared definitions (durations, names, cron...)      |

/// Shared definitions referenced by the others (`common#/$defs/duration`).
pub const COMMON: &str = "ssot/common";
/// One task record.
pub const TASK: &str = "ssot/task";
/// A task list document.
pub const TASK_LIST: &str = "ssot/task-list";
/// The automation registry.
pub const AUTOMATION_REGISTRY: &str = "ssot/automation-registry";
/// The pipeline registry.
pub const PIPELINE_REGISTRY: &str = "ssot/pipeline-registry";
/// The orchestration registry.
pub const ORCHESTRATION_REGISTRY: &str = "ssot/orchestration-registry";
/// The monitoring registry.
pub const MONITORING_REGISTRY: &str = "ssot/monitoring-registry";
/// The security registry.
pub const SECURITY_REGISTRY: &str = "ssot/security-registry";

/// Every built-in schema: its name and its JSON text.
pub const ALL: [(&str, &str); 8] = [
    (COMMON, include_str!("../schemas/common.json")),
    (TASK, include_str!("../schemas/task.json")),
    (TASK_LIST, include_str!("../schemas/task-list.json")),
    (
        AUTOMATION_REGISTRY,
        include_str!("../schemas/automation-registry.json"),
    ),
    (
        PIPELINE_REGISTRY,
        include_str!("../schemas/pipeline-registry.json"),
    ),
    (
        ORCHESTRATION_REGISTRY,
        include_str!("../schemas/orchestration-registry.json"),
    ),
    (
        MONITORING_REGISTRY,
        include_str!("../schemas/monitoring-registry.json"),
    ),
    (
        SECURITY_REGISTRY,
        include_str!("../schemas/security-registry.json"),
    ),
];

/// The JSON text of the built-in schema `name`.
#[must_use]
pub fn text(name: &str) -> Option<&'static str> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
