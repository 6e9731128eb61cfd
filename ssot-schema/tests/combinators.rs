//! A failed combinator (`anyOf`, `oneOf`, `not`, `if`/`then`/`else`,
//! `dependentRequired`) says what would make the document valid: the schema's own
//! words (`x-message`, else the nearest `description` of a schema applied to the same
//! value) come first, then what the validator found, branch by branch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use ssot_schema::{Report, SchemaRegistry};

fn registry(schema: Value) -> SchemaRegistry {
    let mut r = SchemaRegistry::new();
    r.register("s", schema).unwrap();
    r
}

/// The only violation of `report`, as (pointer, keyword, message, line, column).
fn only(report: &Report) -> (&str, &str, &str, Option<usize>, Option<usize>) {
    assert_eq!(report.errors().len(), 1, "{report}");
    let e = &report.errors()[0];
    (
        e.instance_location(),
        e.keyword(),
        e.message(),
        e.line(),
        e.column(),
    )
}

#[test]
fn a_failed_any_of_says_its_message_then_every_alternative() {
    let r = registry(json!({
        "type": "object",
        "properties": {"name": {}, "every": {"type": "string"}, "at": {"type": "string"}},
        "anyOf": [{"required": ["every"]}, {"required": ["at"]}],
        "x-message": "a job says when it runs: `every` (a duration) or `at` (a cron expression)"
    }));
    assert!(
        r.validate_yaml("s", "name: backup\nat: 0 2 * * *\n")
            .unwrap()
            .is_valid()
    );
    let report = r.validate_yaml("s", "name: backup\n").unwrap();
    assert_eq!(
        only(&report),
        (
            "",
            "anyOf",
            "a job says when it runs: `every` (a duration) or `at` (a cron expression) \
             (the object is valid under no alternative of `anyOf`: \
             1. \"every\" is a required property; 2. \"at\" is a required property)",
            Some(1),
            Some(1)
        )
    );
    // JSON text and a bare value get the same message.
    let json = r.validate_json("s", r#"{"name": "backup"}"#).unwrap();
    assert_eq!(json.errors()[0].message(), report.errors()[0].message());
    let value = r.validate("s", &json!({"name": "backup"})).unwrap();
    assert_eq!(value.errors()[0].message(), report.errors()[0].message());
}

#[test]
fn without_a_message_the_nearest_description_of_the_same_value_is_used() {
    let r = registry(json!({
        "description": "Jobs by name.",
        "additionalProperties": {"$ref": "#/$defs/job"},
        "$defs": {"job": {
            "description": "A scheduled job says when it runs, with `every` or `at`.",
            "if": {"properties": {"scheduled": {"const": true}}, "required": ["scheduled"]},
            "then": {"anyOf": [{"required": ["every"]}, {"required": ["at"]}]}
        }}
    }));
    let report = r
        .validate_yaml("s", "backup:\n  scheduled: true\n")
        .unwrap();
    assert_eq!(
        only(&report),
        (
            "/backup",
            "anyOf",
            "A scheduled job says when it runs, with `every` or `at` \
             (the object is valid under no alternative of `anyOf`: \
             1. \"every\" is a required property; 2. \"at\" is a required property)",
            Some(2),
            Some(3)
        )
    );
}

#[test]
fn a_description_of_an_enclosing_value_is_not_borrowed() {
    let r = registry(json!({
        "description": "A web server's configuration.",
        "properties": {"port": {
            "anyOf": [
                {"type": "integer", "minimum": 1024},
                {"type": "integer", "enum": [80, 443]}
            ]
        }}
    }));
    let report = r.validate_yaml("s", "port: 8\n").unwrap();
    assert_eq!(
        only(&report),
        (
            "/port",
            "anyOf",
            "8 is valid under no alternative of `anyOf`: \
             1. 8 is less than the minimum of 1024; 2. 8 is not one of 80, 443",
            Some(1),
            Some(7)
        )
    );
}

#[test]
fn errors_of_an_alternative_below_the_value_name_their_pointer() {
    let r = registry(json!({
        "anyOf": [
            {"type": "object", "properties": {"port": {"type": "integer"}}, "required": ["port"]},
            {"type": "object", "required": ["socket"]}
        ],
        "x-message": "listen on a TCP `port` or a unix `socket`"
    }));
    let report = r.validate_json("s", r#"{"port": "80"}"#).unwrap();
    assert_eq!(
        only(&report).2,
        "listen on a TCP `port` or a unix `socket` \
         (the object is valid under no alternative of `anyOf`: \
         1. at /port: \"80\" is not of type \"integer\"; 2. \"socket\" is a required property)"
    );
}

#[test]
fn one_of_names_the_alternatives_that_all_hold() {
    let r = registry(json!({
        "properties": {"probe": {
            "type": "object",
            "oneOf": [{"required": ["endpoint"]}, {"required": ["command"]}],
            "x-message": "a probe is an `endpoint` or a `command`, not both."
        }}
    }));
    let report = r
        .validate_yaml("s", "probe:\n  endpoint: /health\n  command: ping\n")
        .unwrap();
    assert_eq!(
        only(&report),
        (
            "/probe",
            "oneOf",
            "a probe is an `endpoint` or a `command`, not both \
             (the object is valid under alternatives 1 and 2 of `oneOf`; exactly one must hold)",
            Some(2),
            Some(3)
        )
    );
    let report = r.validate_yaml("s", "probe: {}\n").unwrap();
    assert_eq!(
        only(&report).2,
        "a probe is an `endpoint` or a `command`, not both \
         (the object is valid under no alternative of `oneOf`: \
         1. \"endpoint\" is a required property; 2. \"command\" is a required property)"
    );
}

#[test]
fn not_says_its_message_and_the_schema_that_matched() {
    let r = registry(json!({
        "properties": {
            "tags": {"items": {
                "not": {"const": "todo"},
                "x-message": "`todo` is a status, not a tag: set `status: todo` instead"
            }},
            "name": {"not": {"type": "null"}}
        }
    }));
    let report = r.validate_yaml("s", "tags: [a, todo]\nname: ~\n").unwrap();
    let got: Vec<_> = report
        .errors()
        .iter()
        .map(|e| (e.instance_location(), e.keyword(), e.message(), e.line()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "/tags/1",
                "not",
                "`todo` is a status, not a tag: set `status: todo` instead \
                 (\"todo\" is valid under the schema of `not`: {\"const\":\"todo\"})",
                Some(1)
            ),
            // No message and no description: the validator's words.
            (
                "/name",
                "not",
                "{\"type\":\"null\"} is not allowed for null",
                Some(2)
            ),
        ]
    );
}

#[test]
fn dependent_required_names_the_key_that_requires_the_other() {
    let r = registry(json!({
        "description": "TLS needs both a certificate and a key.",
        "properties": {"port": {}, "tls_cert": {}, "tls_key": {}, "tls_ca": {}},
        "dependentRequired": {"tls_cert": ["tls_key"], "tls_ca": ["tls_key"]}
    }));
    let report = r
        .validate_yaml(
            "s",
            "port: 443\ntls_cert: /etc/cert.pem\ntls_ca: /etc/ca.pem\n",
        )
        .unwrap();
    assert_eq!(
        only(&report),
        (
            "",
            "dependentRequired",
            "TLS needs both a certificate and a key \
             (\"tls_key\" is required when \"tls_cert\" or \"tls_ca\" is present)",
            Some(1),
            Some(1)
        )
    );
    // Draft 7's array form of `dependencies` reads the same.
    let mut r7 = SchemaRegistry::new();
    r7.register(
        "s",
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "dependencies": {"tls_cert": ["tls_key"]}
        }),
    )
    .unwrap();
    let report = r7.validate_json("s", r#"{"tls_cert": "c"}"#).unwrap();
    assert_eq!(
        only(&report),
        (
            "",
            "dependencies",
            "\"tls_key\" is required when \"tls_cert\" is present",
            Some(1),
            Some(1)
        )
    );
}

#[test]
fn an_error_of_a_then_or_else_branch_itself_gets_the_condition_message() {
    let r = registry(json!({
        "properties": {"kind": {}, "url": {"type": "string"}, "command": {}},
        "if": {"properties": {"kind": {"const": "http"}}, "required": ["kind"]},
        "then": {"required": ["url"]},
        "else": {"required": ["command"]},
        "x-message": "an `http` check needs a `url`; any other check a `command`"
    }));
    let report = r.validate_yaml("s", "kind: http\n").unwrap();
    assert_eq!(
        only(&report),
        (
            "",
            "required",
            "an `http` check needs a `url`; any other check a `command` \
             (\"url\" is a required property)",
            Some(1),
            Some(1)
        )
    );
    let report = r.validate_yaml("s", "kind: tcp\n").unwrap();
    assert_eq!(
        only(&report).2,
        "an `http` check needs a `url`; any other check a `command` \
         (\"command\" is a required property)"
    );
    // An error about a member of the value, not from the branch, is left as it is.
    let report = r.validate_yaml("s", "kind: http\nurl: 5\n").unwrap();
    assert_eq!(
        only(&report),
        (
            "/url",
            "type",
            "5 is not of type \"string\"",
            Some(2),
            Some(6)
        )
    );
}

#[test]
fn a_property_named_like_a_combinator_is_not_one() {
    let r = registry(json!({
        "properties": {"then": {"required": ["x"]}, "not": {"type": "string"}},
        "x-message": "never shown: no combinator here"
    }));
    let report = r.validate_json("s", r#"{"then": {}, "not": 1}"#).unwrap();
    let got: Vec<_> = report.errors().iter().map(|e| e.message()).collect();
    assert_eq!(
        got,
        [
            "\"x\" is a required property",
            "1 is not of type \"string\""
        ]
    );
}

#[test]
fn a_message_is_one_line_and_long_alternatives_are_cut() {
    let r = registry(json!({
        "anyOf": [
            {"required": ["a", "b", "c", "d", "e"]},
            {"required": ["f"]}
        ],
        "x-message": "say which:\nthe first or the second"
    }));
    let report = r.validate_json("s", "{}").unwrap();
    assert_eq!(
        only(&report).2,
        "say which:\nthe first or the second (the object is valid under no alternative of `anyOf`: \
         1. \"a\" is a required property and \"b\" is a required property and \
         \"c\" is a required property and 2 more; 2. \"f\" is a required property)"
    );
    assert!(!report.to_string().contains('\n'));
}

#[test]
fn only_repeats_of_one_dependent_requirement_are_merged() {
    let r = registry(json!({
        "required": ["name"],
        "dependentRequired": {"a": ["b"], "c": ["d"], "e": ["b"]}
    }));
    let report = r.validate_json("s", r#"{"a": 1, "c": 2, "e": 3}"#).unwrap();
    let got: Vec<_> = report
        .errors()
        .iter()
        .map(|e| (e.instance_location(), e.keyword(), e.message()))
        .collect();
    assert_eq!(
        got,
        [
            ("", "required", "\"name\" is a required property"),
            (
                "",
                "dependentRequired",
                "\"b\" is required when \"a\" or \"e\" is present"
            ),
            (
                "",
                "dependentRequired",
                "\"d\" is required when \"c\" is present"
            ),
        ],
        "{report}"
    );
}

#[test]
fn an_alternative_with_exactly_three_errors_lists_them_all_and_no_more() {
    let r = registry(json!({"anyOf": [{"required": ["a", "b", "c"]}, {"required": ["f"]}]}));
    let report = r.validate_json("s", "{}").unwrap();
    let (_, keyword, message, _, _) = only(&report);
    assert_eq!(keyword, "anyOf");
    assert!(
        message.contains("\"a\" is a required property and \"b\" is a required property and \"c\" is a required property;"),
        "{message}"
    );
    assert!(!message.contains("more"), "{message}");
}
