//! Configuration views: overlays merged by RFC 7396, `${VAR}` resolved from an
//! injected environment, `explain` with file and line, secrets masked everywhere.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_common;

use std::collections::BTreeMap;

use serde_json::json;
use ssot_core::Error;
use ssot_core::store::{MASK, ProblemKind, Store};
use store_common::{copy_of, write};

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn store(dir: &std::path::Path, vars: &[(&str, &str)]) -> Store {
    Store::builder().env(env(vars)).open(dir).unwrap()
}

#[test]
fn overlays_merge_in_order_and_variables_resolve() {
    let dir = copy_of("basic");
    let s = store(
        dir.path(),
        &[("DB_HOST", "db.internal"), ("DB_PASSWORD", "hunter2")],
    );
    let view = s.config("app").unwrap();
    assert_eq!(
        view.value(),
        &json!({
            "database": {
                "url": "postgres://db.internal/app",
                "password": "hunter2",
                "pool": 20
            },
            "log_level": "warn",
            "api_token": "none"
        })
    );
    assert_eq!(view.get("database.pool"), Some(&json!(20)));
    assert_eq!(
        view.get("/database/url"),
        Some(&json!("postgres://db.internal/app"))
    );
    assert_eq!(
        view.files().collect::<Vec<_>>(),
        ["config/base.yaml", "config/production.yaml"]
    );
}

#[test]
fn the_files_are_never_written_back_expanded() {
    let dir = copy_of("basic");
    let before = std::fs::read(dir.path().join("config/production.yaml")).unwrap();
    let s = store(dir.path(), &[("DB_HOST", "db")]);
    s.config("app").unwrap();
    assert!(s.validate().unwrap().is_valid());
    assert_eq!(
        std::fs::read(dir.path().join("config/production.yaml")).unwrap(),
        before
    );
}

#[test]
fn a_missing_variable_names_the_key_and_its_file_and_line() {
    let dir = copy_of("basic");
    let s = store(dir.path(), &[]);
    match s.config("app") {
        Err(Error::Invalid(report)) => {
            assert_eq!(report.problems().len(), 1, "{report}");
            assert_eq!(report.problems()[0].kind, ProblemKind::Interpolation);
            assert_eq!(
                report.to_string(),
                "config/production.yaml:3:3: key `/database/url`: environment variable `DB_HOST` is not set; set it, or give a default: `${DB_HOST:-value}`"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // validate() reports it too.
    assert_eq!(
        s.validate()
            .unwrap()
            .of_kind(ProblemKind::Interpolation)
            .count(),
        1
    );
}

#[test]
fn a_reference_an_overlay_replaces_is_never_resolved() {
    let dir = copy_of("basic");
    write(
        dir.path(),
        "config/production.yaml",
        "database:\n  url: postgres://fixed/app\n",
    );
    // DB_HOST is not set, and need not be: base's `${DB_PASSWORD:-...}` has a
    // default, and production's url has no reference.
    let view = store(dir.path(), &[]).config("app").unwrap();
    assert_eq!(
        view.get("database.url"),
        Some(&json!("postgres://fixed/app"))
    );
    assert_eq!(view.get("database.password"), Some(&json!("dev-password")));
}

#[test]
fn explain_names_the_setting_file_and_line_and_what_it_overrode() {
    let dir = copy_of("basic");
    let s = store(dir.path(), &[("DB_HOST", "db")]);
    let e = s.explain("app", "database.pool").unwrap();
    assert_eq!(e.value, json!(20));
    assert_eq!(e.set_by.location.to_string(), "config/production.yaml:4:3");
    assert_eq!(e.overrode.len(), 1);
    assert_eq!(e.overrode[0].location.to_string(), "config/base.yaml:5:3");
    assert_eq!(e.overrode[0].value, json!(5));
    assert_eq!(
        e.to_string(),
        "database.pool = 20\n  set by config/production.yaml:4:3\n  overrides config/base.yaml:5:3 (5)"
    );
    // An interpolated value shows what the file says beside the result.
    let e = s.explain("app", "/database/url").unwrap();
    assert_eq!(
        e.to_string(),
        "/database/url = \"postgres://db/app\"\n  set by config/production.yaml:3:3 as \"postgres://${DB_HOST}/app\"\n  overrides config/base.yaml:3:3 (\"postgres://localhost/app\")"
    );
    // A key only the base sets.
    let e = s.explain("app", "api_token").unwrap();
    assert!(e.overrode.is_empty());
    assert_eq!(e.set_by.location.to_string(), "config/base.yaml:7:1");
    // The JSON form.
    let json = serde_json::to_value(s.explain("app", "log_level").unwrap()).unwrap();
    assert_eq!(json["set_by"]["file"], "config/production.yaml");
    assert_eq!(json["set_by"]["line"], 5);
    assert_eq!(json["overrode"][0]["value"], "debug");
}

#[test]
fn explain_of_a_missing_or_removed_key_is_an_error() {
    let dir = copy_of("basic");
    write(
        dir.path(),
        "config/production.yaml",
        "database:\n  url: x\nlog_level: null\n",
    );
    let s = store(dir.path(), &[]);
    let err = s.explain("app", "nope").unwrap_err();
    assert_eq!(err.to_string(), "configuration `app` has no key `nope`");
    let err = s.explain("app", "log_level").unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration `app` has no key `log_level`; config/production.yaml removes it"
    );
    let err = s.config("staging").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no configuration `staging` in ssot.yaml; declared: app"
    );
}

#[test]
fn secrets_are_masked_in_explain_and_masked_views() {
    let dir = copy_of("basic");
    let s = store(
        dir.path(),
        &[
            ("DB_HOST", "db"),
            ("DB_PASSWORD", "hunter2"),
            ("API_TOKEN", "tok-123"),
        ],
    );
    let view = s.config("app").unwrap();
    assert_eq!(view.secrets(), ["/api_token", "/database/password"]);
    // The program gets the real value...
    assert_eq!(view.get("database.password"), Some(&json!("hunter2")));
    // ...people do not.
    let masked = view.masked();
    assert_eq!(masked["database"]["password"], MASK);
    assert_eq!(masked["api_token"], MASK);
    assert_eq!(masked["database"]["pool"], 20);

    let e = view.explain("database.password").unwrap();
    assert!(e.secret);
    assert_eq!(e.value, json!(MASK));
    assert_eq!(e.set_by.value, json!(MASK));
    let shown = format!("{e}\n{}", serde_json::to_string(&e).unwrap());
    assert!(
        !shown.contains("hunter2") && !shown.contains("DB_PASSWORD"),
        "{shown}"
    );

    // Explaining the parent object masks the secret inside it.
    let e = view.explain("database").unwrap();
    let shown = format!("{e}\n{}", serde_json::to_string(&e).unwrap());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(e.value["password"], MASK);
    assert_eq!(e.value["pool"], 20);
}

#[test]
fn a_schema_violation_of_a_secret_is_reported_without_its_value() {
    let dir = copy_of("basic");
    write(
        dir.path(),
        "config/production.yaml",
        "database:\n  url: x\n  pool: 0\napi_token: 12345\nlog_level: loud\n",
    );
    let s = store(dir.path(), &[]);
    let report = match s.config("app") {
        Err(Error::Invalid(report)) => report,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let text = report.to_string();
    assert!(!text.contains("12345"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(
            "config/production.yaml:3:3: configuration `app`: 0 is less than the minimum of 1"
        ),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "config/production.yaml:4:1: configuration `app`: secret value ({MASK}) fails `type`"
        )),
        "{text}"
    );
    assert!(
        lines[2]
            .starts_with("config/production.yaml:5:1: configuration `app`: \"loud\" is not one of"),
        "{text}"
    );
    assert!(!report.to_json().to_string().contains("12345"));
}

#[test]
fn a_configuration_file_that_does_not_parse_is_reported_at_its_line() {
    let dir = copy_of("basic");
    write(
        dir.path(),
        "config/production.yaml",
        "database:\n  url: [\n",
    );
    let err = store(dir.path(), &[])
        .config("app")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("config/production.yaml:"), "{err}");
    std::fs::remove_file(dir.path().join("config/production.yaml")).unwrap();
    let err = store(dir.path(), &[])
        .config("app")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("config/production.yaml: cannot read: "),
        "{err}"
    );
}

#[test]
fn secrets_are_found_through_refs_and_array_items() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ssot.yaml",
        "schemas:\n  cred: schemas/cred.json\n  svc: schemas/svc.json\nconfigs:\n  svc: { files: [svc.yaml], schema: svc }\n",
    );
    write(
        dir.path(),
        "schemas/cred.json",
        r##"{"type": "object", "properties": {"key": {"$ref": "#/$defs/secret"}}, "$defs": {"secret": {"type": "string", "writeOnly": true}}}"##,
    );
    write(
        dir.path(),
        "schemas/svc.json",
        r#"{"type": "object", "properties": {"creds": {"type": "array", "items": {"$ref": "cred"}}}}"#,
    );
    write(dir.path(), "svc.yaml", "creds:\n  - key: k1\n  - key: k2\n");
    let view = Store::open(dir.path()).unwrap().config("svc").unwrap();
    assert_eq!(view.secrets(), ["/creds/0/key", "/creds/1/key"]);
    assert_eq!(
        view.masked(),
        json!({"creds": [{"key": MASK}, {"key": MASK}]})
    );
}
