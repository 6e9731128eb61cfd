//! Every built-in schema accepts its example document (`examples/data/registries/`)
//! and rejects realistic mistakes, each reported at the expected pointer and line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use ssot_schema::{SchemaRegistry, builtin};

fn registry() -> SchemaRegistry {
    let mut r = SchemaRegistry::new();
    r.register_builtins().unwrap();
    r
}

fn example(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/data/registries")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const EXAMPLES: [(&str, &str); 6] = [
    (builtin::AUTOMATION_REGISTRY, "automation.yaml"),
    (builtin::PIPELINE_REGISTRY, "pipeline.yaml"),
    (builtin::ORCHESTRATION_REGISTRY, "orchestration.yaml"),
    (builtin::MONITORING_REGISTRY, "monitoring.yaml"),
    (builtin::SECURITY_REGISTRY, "security.yaml"),
    (builtin::TASK_LIST, "tasks.yaml"),
];

#[test]
fn every_builtin_schema_compiles_and_accepts_its_example() {
    let r = registry();
    for (schema, file) in EXAMPLES {
        let report = r.validate_yaml(schema, &example(file)).unwrap();
        assert!(report.is_valid(), "{file}:\n{report}");
    }
    let task = serde_json::json!({"id": "a.1", "title": "t", "estimated_time": "2h"});
    assert!(r.validate(builtin::TASK, &task).unwrap().is_valid());
    for (name, _) in builtin::ALL {
        assert!(r.contains(name), "{name}");
        assert!(builtin::text(name).is_some());
        assert_eq!(
            r.uri(name),
            Some(format!("https://ssot-schema.invalid/{name}").as_str())
        );
    }
}

#[test]
fn every_builtin_schema_describes_itself() {
    for (name, text) in builtin::ALL {
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(
            schema.get("description").is_some(),
            "{name} has no description"
        );
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
    }
}

/// A mistake: in `file`, replace the first `from` by `to`; expect a violation at
/// `pointer`, with `keyword`, on the line where `to` now stands.
struct Mistake {
    file: &'static str,
    from: &'static str,
    to: &'static str,
    pointer: &'static str,
    keyword: &'static str,
    message: &'static str,
}

const MISTAKES: &[Mistake] = &[
    // Automation registry.
    Mistake {
        file: "automation.yaml",
        from: "        retry_policy: linear",
        to: "        retry_policy: exponential",
        pointer: "/automation/workflows/release/preview/retry_policy",
        keyword: "enum",
        message: "\"exponential\" is not one of",
    },
    Mistake {
        file: "automation.yaml",
        from: "        timeout: 600",
        to: "        timeout: -600",
        pointer: "/automation/workflows/release/preview/timeout",
        keyword: "minimum",
        message: "-600 is less than the minimum of 1",
    },
    Mistake {
        file: "automation.yaml",
        from: "        timeout: 2400",
        to: "        timeout: 40m",
        pointer: "/automation/workflows/release/production/timeout",
        keyword: "type",
        message: "\"40m\" is not of type \"integer\"",
    },
    Mistake {
        file: "automation.yaml",
        from: "        interval: 10m",
        to: "        interval: 10 minutes",
        pointer: "/automation/workflows/upkeep/queue_health/interval",
        keyword: "pattern",
        message: "\"10 minutes\" does not have the expected form: A compact duration",
    },
    Mistake {
        file: "automation.yaml",
        from: "        retention: 14d",
        to: "        retension: 14d",
        pointer: "/automation/workflows/upkeep/nightly_backup",
        keyword: "additionalProperties",
        message: "property `retension` is not allowed here; did you mean `retention`?",
    },
    Mistake {
        file: "automation.yaml",
        from: "        schedule: \"30 3 * * *\"",
        to: "        comment: \"30 3 * * *\"",
        pointer: "/automation/workflows/upkeep/nightly_backup",
        keyword: "additionalProperties",
        message: "property `comment` is not allowed here",
    },
    Mistake {
        file: "automation.yaml",
        from: "        memory: 2Gi",
        to: "        memory: 2GB",
        pointer: "/automation/policies/execution/resource_limits/memory",
        keyword: "pattern",
        message: "\"2GB\" does not have the expected form",
    },
    Mistake {
        file: "automation.yaml",
        from: "      require_authentication: true",
        to: "      require_authentication: yes",
        pointer: "/automation/policies/security/require_authentication",
        keyword: "type",
        message: "\"yes\" is not of type \"boolean\"",
    },
    // Pipeline registry.
    Mistake {
        file: "pipeline.yaml",
        from: "        parallel: true\n        timeout: 1200",
        to: "        parallel: \"true\"\n        timeout: 1200",
        pointer: "/pipelines/ci/stages/1/parallel",
        keyword: "type",
        message: "\"true\" is not of type \"boolean\"",
    },
    Mistake {
        file: "pipeline.yaml",
        from: "      - name: package",
        to: "      - name: Package Step",
        pointer: "/pipelines/ci/stages/2/name",
        keyword: "pattern",
        message: "does not have the expected form: A snake_case name",
    },
    Mistake {
        file: "pipeline.yaml",
        from: "      triggers: [tag]",
        to: "      triggers: [release]",
        pointer: "/pipelines/cd/production/triggers/0",
        keyword: "enum",
        message: "\"release\" is not one of",
    },
    Mistake {
        file: "pipeline.yaml",
        from: "          steps: [upload_artifacts, run_e2e_tests]",
        to: "          step: [upload_artifacts, run_e2e_tests]",
        pointer: "/pipelines/cd/staging/stages/0",
        keyword: "additionalProperties",
        message: "did you mean `steps`?",
    },
    // Orchestration registry.
    Mistake {
        file: "orchestration.yaml",
        from: "        interval: 15s\n        timeout: 3s",
        to: "        interval: 15 s\n        timeout: 3s",
        pointer: "/orchestration/services/web/health_check/interval",
        keyword: "pattern",
        message: "does not have the expected form",
    },
    Mistake {
        file: "orchestration.yaml",
        from: "        target_cpu: 65",
        to: "        target_cpu: 650",
        pointer: "/orchestration/services/web/scaling/target_cpu",
        keyword: "maximum",
        message: "650 is greater than the maximum of 100",
    },
    Mistake {
        file: "orchestration.yaml",
        from: "      port: 8410",
        to: "      port: 84100",
        pointer: "/orchestration/coordination/scheduler/port",
        keyword: "maximum",
        message: "84100 is greater than the maximum of 65535",
    },
    Mistake {
        file: "orchestration.yaml",
        from: "        endpoint: /healthz",
        to: "        endpoint: healthz",
        pointer: "/orchestration/services/web/health_check/endpoint",
        keyword: "pattern",
        message: "does not have the expected form: HTTP path",
    },
    Mistake {
        file: "orchestration.yaml",
        from: "      max_scale_rate: 1.5",
        to: "      max_scale_rate: -1.5",
        pointer: "/orchestration/policies/scaling/max_scale_rate",
        keyword: "exclusiveMinimum",
        message: "-1.5 is less than or equal to the minimum of 0",
    },
    // Monitoring registry.
    Mistake {
        file: "monitoring.yaml",
        from: "        type: histogram",
        to: "        type: histogramm",
        pointer: "/monitoring/metrics/tasks/0/type",
        keyword: "enum",
        message: "\"histogramm\" is not one of",
    },
    Mistake {
        file: "monitoring.yaml",
        from: "      severity: warning",
        to: "      severity: high",
        pointer: "/monitoring/alerts/1/severity",
        keyword: "enum",
        message: "\"high\" is not one of",
    },
    Mistake {
        file: "monitoring.yaml",
        from: "      cooldown: 1h",
        to: "      cooldown: 1 hour",
        pointer: "/monitoring/alerts/1/cooldown",
        keyword: "pattern",
        message: "does not have the expected form: A compact duration",
    },
    Mistake {
        file: "monitoring.yaml",
        from: "      channels: [email]",
        to: "      channels: [emial]",
        pointer: "/monitoring/alerts/1/channels/0",
        keyword: "enum",
        message: "\"emial\" is not one of",
    },
    // Security registry.
    Mistake {
        file: "security.yaml",
        from: "      secret_key: ${SSOT_JWT_KEY}",
        to: "      secret_key: hunter2-very-secret",
        pointer: "/security/authentication/jwt/secret_key",
        keyword: "pattern",
        message: "never the key itself",
    },
    Mistake {
        file: "security.yaml",
        from: "    data_in_transit: TLS-1.3",
        to: "    data_in_transit: TLS-1.0",
        pointer: "/security/encryption/data_in_transit",
        keyword: "enum",
        message: "\"TLS-1.0\" is not one of",
    },
    Mistake {
        file: "security.yaml",
        from: "    allowed_ips: [10.20.0.0/16, 192.168.10.0/24]",
        to: "    allowed_ips: [10.20.0.0/16, 192.168.10.300/24]",
        pointer: "/security/network/allowed_ips/1",
        keyword: "pattern",
        message: "does not have the expected form: A network in CIDR notation",
    },
    Mistake {
        file: "security.yaml",
        from: "      - port: 5432",
        to: "      - port: \"5432\"",
        pointer: "/security/network/firewall_rules/1/port",
        keyword: "type",
        message: "\"5432\" is not of type \"integer\"",
    },
    // Task list.
    Mistake {
        file: "tasks.yaml",
        from: "    priority: high",
        to: "    priority: urgent",
        pointer: "/tasks/0/priority",
        keyword: "enum",
        message: "\"urgent\" is not one of",
    },
    Mistake {
        file: "tasks.yaml",
        from: "    estimated_time: 1h30m",
        to: "    estimated_time: 90 minutes",
        pointer: "/tasks/0/estimated_time",
        keyword: "pattern",
        message: "does not have the expected form: A compact duration",
    },
    Mistake {
        file: "tasks.yaml",
        from: "    dependencies: [parse]",
        to: "    dependencies: [parse, \"read yaml\"]",
        pointer: "/tasks/0/dependencies/1",
        keyword: "pattern",
        message: "does not have the expected form: A task id",
    },
    Mistake {
        file: "tasks.yaml",
        from: "    created_at: 2026-11-20T09:30:00Z",
        to: "    created_at: 2026-11-20",
        pointer: "/tasks/0/created_at",
        keyword: "pattern",
        message: "RFC 3339",
    },
    Mistake {
        file: "tasks.yaml",
        from: "    status: done",
        to: "    status: finished",
        pointer: "/tasks/1/status",
        keyword: "enum",
        message: "\"finished\" is not one of",
    },
    Mistake {
        file: "tasks.yaml",
        from: "    tags: [area/schema]",
        to: "    tags: [\"#schema\"]",
        pointer: "/tasks/0/tags/0",
        keyword: "pattern",
        message: "A tag without `#`",
    },
    Mistake {
        file: "tasks.yaml",
        from: "    x-owner: docs-team",
        to: "    Priority: docs-team",
        pointer: "/tasks/2",
        keyword: "additionalProperties",
        message: "property `Priority` is not allowed here",
    },
    Mistake {
        file: "tasks.yaml",
        from: "  - title: Write the release notes",
        to: "  - titel: Write the release notes",
        pointer: "/tasks/2",
        keyword: "required",
        message: "\"title\" is a required property",
    },
];

fn schema_of(file: &str) -> &'static str {
    EXAMPLES.iter().find(|(_, f)| *f == file).unwrap().0
}

#[test]
fn every_builtin_schema_rejects_realistic_mistakes_at_the_right_line() {
    let r = registry();
    for m in MISTAKES {
        let original = example(m.file);
        assert!(original.contains(m.from), "{}: no `{}`", m.file, m.from);
        let text = original.replacen(m.from, m.to, 1);
        let at = original.find(m.from).unwrap();
        let line = text[..at].matches('\n').count() + 1;
        let report = r.validate_yaml(schema_of(m.file), &text).unwrap();
        let hit = report
            .errors()
            .iter()
            .find(|e| e.instance_location() == m.pointer && e.keyword() == m.keyword);
        let Some(hit) = hit else {
            panic!(
                "{} `{}`: no {} at {}:\n{report}",
                m.file, m.to, m.keyword, m.pointer
            );
        };
        assert!(
            hit.message().contains(m.message),
            "{} `{}`: message {:?}",
            m.file,
            m.to,
            hit.message()
        );
        assert_eq!(hit.line(), Some(line), "{} `{}`:\n{report}", m.file, m.to);
        // The same mistake in JSON text is found at the same pointer.
        let value = serde_yaml::from_str::<serde_json::Value>(&text).unwrap();
        let json = serde_json::to_string_pretty(&value).unwrap();
        let from_json = r.validate_json(schema_of(m.file), &json).unwrap();
        assert_eq!(
            from_json
                .errors()
                .iter()
                .map(|e| e.instance_location())
                .collect::<Vec<_>>(),
            report
                .errors()
                .iter()
                .map(|e| e.instance_location())
                .collect::<Vec<_>>(),
        );
    }
}

#[test]
fn a_scheduled_workflow_must_say_when() {
    let r = registry();
    let text = example("automation.yaml").replacen("        interval: 10m\n", "", 1);
    let report = r
        .validate_yaml(builtin::AUTOMATION_REGISTRY, &text)
        .unwrap();
    assert!(!report.is_valid());
    assert!(
        report
            .errors()
            .iter()
            .any(|e| e.instance_location() == "/automation/workflows/upkeep/queue_health"),
        "{report}"
    );
}

#[test]
fn a_health_check_needs_exactly_one_probe() {
    let r = registry();
    let text = example("orchestration.yaml").replacen(
        "        command: redis-cli ping\n",
        "        command: redis-cli ping\n        endpoint: /ping\n",
        1,
    );
    let report = r
        .validate_yaml(builtin::ORCHESTRATION_REGISTRY, &text)
        .unwrap();
    let e = &report.errors()[0];
    assert_eq!(
        e.instance_location(),
        "/orchestration/services/cache/health_check"
    );
    assert_eq!(e.keyword(), "oneOf");
}

#[test]
fn task_list_accepts_a_bare_list_nulls_and_aliases() {
    let r = registry();
    let text = "- title: a\n  id: ~\n  priority: highest\n  status: in-progress\n  tags: ~\n- title: ''\n  estimated_time: 1h 30m\n";
    let report = r.validate_yaml(builtin::TASK_LIST, text).unwrap();
    assert!(report.is_valid(), "{report}");
    assert!(
        r.validate_yaml(builtin::TASK_LIST, "tasks: ~\n")
            .unwrap()
            .is_valid()
    );
    // An empty (or comment-only) YAML file is an empty list to ssot-core.
    for empty in ["", "# no tasks yet\n", "~\n"] {
        let report = r.validate_yaml(builtin::TASK_LIST, empty).unwrap();
        assert!(report.is_valid(), "{empty:?}: {report}");
    }
    let report = r.validate_yaml(builtin::TASK_LIST, "name: x\n").unwrap();
    assert_eq!(report.errors()[0].keyword(), "required");
}

/// ssot-core accepts (and writes back) every id and tag made of characters for which
/// Rust's `char::is_alphanumeric` holds, plus its punctuation: that is Unicode's
/// `Alphabetic` property or a number, which includes combining vowel signs of Indic
/// and Thai script and circled letters, none of which is in `\p{L}`.
#[test]
fn task_ids_and_tags_accept_every_character_ssot_core_accepts() {
    let r = registry();
    for word in ["हिंदी", "ไทย", "Ⓐ", "Ⅻ", "x²", "é"] {
        assert!(
            word.chars().all(char::is_alphanumeric),
            "{word} is not what ssot-core accepts"
        );
        let text = format!(
            "- id: {word}\n  title: t\n  tags: [{word}]\n  dependencies: [{word}]\n  estimated_time: 1h30m500ms\n  actual_time: 2h5m3s7ms8µs9ns\n"
        );
        let report = r.validate_yaml(builtin::TASK_LIST, &text).unwrap();
        assert!(report.is_valid(), "{word}: {report}");
    }
    // Punctuation ssot-core refuses stays refused.
    let report = r
        .validate_yaml(builtin::TASK_LIST, "- id: a\u{301}b c\n  title: t\n")
        .unwrap();
    assert_eq!(report.errors()[0].instance_location(), "/0/id");
}
