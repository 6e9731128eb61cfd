//! The registry's behaviour: names and `$id`s, `$ref` between registered schemas,
//! errors at registration, drafts, `format`, YAML streams, files, and reports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use ssot_schema::{Draft, Error, SchemaRegistry};

#[test]
fn schemas_refer_to_each_other_by_name_and_by_id() {
    let mut r = SchemaRegistry::new();
    r.register("address", json!({"type": "object", "required": ["city"]}))
        .unwrap();
    r.register(
        "money",
        json!({"$id": "https://example.com/money.json", "type": "integer", "minimum": 0}),
    )
    .unwrap();
    r.register(
        "person",
        json!({
            "properties": {
                "home": {"$ref": "address"},
                "salary": {"$ref": "https://example.com/money.json"}
            }
        }),
    )
    .unwrap();
    let report = r
        .validate("person", &json!({"home": {}, "salary": -1}))
        .unwrap();
    let at: Vec<_> = report
        .errors()
        .iter()
        .map(|e| (e.instance_location(), e.keyword()))
        .collect();
    assert_eq!(at, [("/home", "required"), ("/salary", "minimum")]);
    // Looked up by `$id` too.
    assert!(r.contains("https://example.com/money.json"));
    assert!(
        r.validate("https://example.com/money.json", &json!(3))
            .unwrap()
            .is_valid()
    );
    assert_eq!(
        r.names().collect::<Vec<_>>(),
        ["address", "money", "person"]
    );
}

#[test]
fn cyclic_references_register_together() {
    let mut r = SchemaRegistry::new();
    let a = json!({"type": "object", "properties": {"b": {"$ref": "b"}}});
    let b = json!({"type": "object", "properties": {"a": {"$ref": "a"}}});
    // One at a time, the first cannot resolve the second...
    assert!(matches!(
        r.register("a", a.clone()),
        Err(Error::UnresolvableRef { .. })
    ));
    assert!(!r.contains("a"));
    // ...together they can.
    r.register_all([("a", a), ("b", b)]).unwrap();
    let report = r.validate("a", &json!({"b": {"a": {"b": 1}}})).unwrap();
    assert_eq!(report.errors()[0].instance_location(), "/b/a/b");
}

#[test]
fn an_unresolvable_ref_is_an_error_at_registration_naming_it() {
    let mut r = SchemaRegistry::new();
    for (schema, needle) in [
        (
            json!({"$ref": "missing"}),
            "https://ssot-schema.invalid/missing",
        ),
        (json!({"$ref": "#/$defs/nothing"}), "/$defs/nothing"),
        (
            json!({"$ref": "https://example.com/remote.json"}),
            "https://example.com/remote.json",
        ),
    ] {
        let e = r.register("s", schema).unwrap_err();
        assert!(matches!(e, Error::UnresolvableRef { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(shown.contains(needle), "{shown}");
        assert!(shown.contains("never fetched"), "{shown}");
    }
    assert_eq!(r.names().count(), 0);
}

#[test]
fn names_and_ids_are_unique_and_validated() {
    let mut r = SchemaRegistry::new();
    r.register("a", json!({"$id": "https://example.com/a"}))
        .unwrap();
    assert!(matches!(
        r.register("a", json!({})),
        Err(Error::AlreadyRegistered { what: "name", .. })
    ));
    assert!(matches!(
        r.register("b", json!({"$id": "https://example.com/a"})),
        Err(Error::AlreadyRegistered { what: "$id", .. })
    ));
    assert!(matches!(
        r.register("has space", json!({})),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        r.register("bad", json!({"type": "strin"})),
        Err(Error::InvalidSchema { .. })
    ));
    let e = r.validate("nope", &json!(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no schema named `nope` (or with that `$id`) is registered; registered: a"
    );
    r.register("x", json!({})).unwrap();
    assert!(matches!(
        r.register("y", json!({"$id": "https://ssot-schema.invalid/x"})),
        Err(Error::AlreadyRegistered { what: "URI", .. })
    ));
    assert!(r.remove("a"));
    assert!(!r.remove("a"));
    r.register("b", json!({"$id": "https://example.com/a"}))
        .unwrap();
}

/// Removing a schema that another one refers to used to make every later
/// registration fail with an unresolvable `$ref` blamed on the new schema.
#[test]
fn removing_a_referenced_schema_leaves_the_registry_usable() {
    let mut r = SchemaRegistry::new();
    r.register(
        "a",
        json!({"$id": "https://example.com/a", "type": "string"}),
    )
    .unwrap();
    r.register("uses-a", json!({"$ref": "https://example.com/a"}))
        .unwrap();
    assert!(r.remove("a"));
    assert!(!r.contains("a") && !r.contains("https://example.com/a"));
    // What referred to it keeps working, and so does registration.
    assert!(!r.validate("uses-a", &json!(1)).unwrap().is_valid());
    r.register("later", json!({"type": "integer"})).unwrap();
    r.register("also-uses-a", json!({"$ref": "https://example.com/a"}))
        .unwrap();
    assert!(!r.validate("also-uses-a", &json!(1)).unwrap().is_valid());
    // A schema registered at its URI replaces it for schemas registered later.
    r.register(
        "a2",
        json!({"$id": "https://example.com/a", "type": "integer"}),
    )
    .unwrap();
    r.register("uses-a2", json!({"$ref": "https://example.com/a"}))
        .unwrap();
    assert!(r.validate("uses-a2", &json!(1)).unwrap().is_valid());
    assert!(!r.validate("uses-a", &json!(1)).unwrap().is_valid());
}

#[test]
fn a_ref_by_name_to_a_schema_with_an_id_says_to_use_the_id() {
    let mut r = SchemaRegistry::new();
    r.register(
        "a",
        json!({"$id": "https://example.com/a", "type": "string"}),
    )
    .unwrap();
    let e = r.register("b", json!({"$ref": "a"})).unwrap_err();
    assert!(
        e.to_string().contains(
            "schema `a` is registered with `$id` `https://example.com/a`: refer to it by that"
        ),
        "{e}"
    );
    r.register("b", json!({"$ref": "https://example.com/a"}))
        .unwrap();
}

#[test]
fn draft_2020_12_is_the_default_and_schema_keyword_wins() {
    // `items` as an array is a draft 7 tuple; in 2020-12 it must be a schema.
    let tuple = json!({"items": [{"type": "integer"}]});
    let mut r = SchemaRegistry::new();
    assert!(r.register("t", tuple.clone()).is_err());
    let mut with_schema = tuple.clone();
    with_schema["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    r.register("t7", with_schema).unwrap();
    assert!(!r.validate("t7", &json!(["x"])).unwrap().is_valid());
    assert!(r.validate("t7", &json!([1, "x"])).unwrap().is_valid());

    let mut r7 = SchemaRegistry::builder()
        .default_draft(Draft::Draft7)
        .build();
    r7.register("t", tuple).unwrap();
    assert!(r7.validate("t", &json!([1, "x"])).unwrap().is_valid());
    // A 2020-12 `$schema` wins over the registry's default.
    r7.register(
        "p",
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "prefixItems": [{"type": "integer"}]}),
    )
    .unwrap();
    assert!(!r7.validate("p", &json!(["x"])).unwrap().is_valid());
    // Draft 4: `exclusiveMaximum` is a boolean.
    r7.register(
        "d4",
        json!({"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 3, "exclusiveMaximum": true}),
    )
    .unwrap();
    assert!(!r7.validate("d4", &json!(3)).unwrap().is_valid());
    // Draft 2019-09 and 6 are recognized too.
    for uri in [
        "https://json-schema.org/draft/2019-09/schema",
        "http://json-schema.org/draft-06/schema#",
    ] {
        let name = format!("s{}", uri.len());
        r7.register(&name, json!({"$schema": uri, "const": 1}))
            .unwrap();
        assert!(!r7.validate(&name, &json!(2)).unwrap().is_valid());
    }
}

#[test]
fn format_assertions_are_configurable() {
    let schema = json!({"format": "date-time"});
    let mut annotate = SchemaRegistry::new();
    annotate.register("f", schema.clone()).unwrap();
    assert!(
        annotate
            .validate("f", &json!("yesterday"))
            .unwrap()
            .is_valid()
    );
    let mut assert = SchemaRegistry::builder().validate_formats(true).build();
    assert.register("f", schema.clone()).unwrap();
    let report = assert.validate("f", &json!("yesterday")).unwrap();
    assert_eq!(report.errors()[0].keyword(), "format");
    assert!(
        assert
            .validate("f", &json!("2026-11-23T09:30:00Z"))
            .unwrap()
            .is_valid()
    );
    // Draft 7's default: `format` asserts.
    let mut seven = SchemaRegistry::builder()
        .default_draft(Draft::Draft7)
        .build();
    seven.register("f", schema.clone()).unwrap();
    assert!(!seven.validate("f", &json!("yesterday")).unwrap().is_valid());
    let mut off = SchemaRegistry::builder()
        .default_draft(Draft::Draft7)
        .validate_formats(false)
        .build();
    off.register("f", schema).unwrap();
    assert!(off.validate("f", &json!("yesterday")).unwrap().is_valid());
}

#[test]
fn schemas_register_from_json_yaml_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let yaml_schema = dir.path().join("port.yaml");
    std::fs::write(&yaml_schema, "type: integer\nminimum: 1\nmaximum: 65535\n").unwrap();
    let mut r = SchemaRegistry::new();
    r.register_file("port", &yaml_schema).unwrap();
    r.register_json("name", r#"{"type": "string", "minLength": 1}"#)
        .unwrap();
    r.register_yaml("flag", "type: boolean\n").unwrap();
    assert!(!r.validate("port", &json!(0)).unwrap().is_valid());
    assert!(!r.validate("name", &json!("")).unwrap().is_valid());
    assert!(r.validate("flag", &json!(true)).unwrap().is_valid());
    let e = r.register_json("broken", "{\"type\": ").unwrap_err();
    assert!(e.to_string().starts_with("broken:1:"), "{e}");
    let e = r.register_file("x", dir.path().join("x.toml")).unwrap_err();
    assert!(matches!(e, Error::UnknownFormat { .. }));
    let e = r
        .register_file("x", dir.path().join("missing.json"))
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
}

#[test]
fn validate_file_names_the_file_in_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ports.yaml");
    std::fs::write(&path, "- 80\n- 0\n- 70000\n").unwrap();
    let mut r = SchemaRegistry::new();
    r.register("ports", json!({"items": {"minimum": 1, "maximum": 65535}}))
        .unwrap();
    let report = r.validate_file("ports", &path).unwrap();
    let shown = report.to_string();
    let lines: Vec<_> = shown.lines().collect();
    let file = path.display().to_string();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0].starts_with(&format!("{file}:2:3: 0 is less than the minimum of 1")),
        "{shown}"
    );
    assert!(
        lines[1].starts_with(&format!("{file}:3:3: 70000 is greater")),
        "{shown}"
    );
    let json_path = dir.path().join("ports.json");
    std::fs::write(&json_path, "[80,\n 0]").unwrap();
    let report = r.validate_file("ports", &json_path).unwrap();
    assert_eq!(
        (report.errors()[0].line(), report.errors()[0].column()),
        (Some(2), Some(2))
    );
}

#[test]
fn reports_serialize_to_json_and_convert_to_errors() {
    let mut r = SchemaRegistry::new();
    r.register(
        "n",
        json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
    )
    .unwrap();
    let report = r.validate_yaml("n", "n: 1.5\n").unwrap();
    assert_eq!(
        report.to_json(),
        json!({
            "schema": "n",
            "source": null,
            "valid": false,
            "errors": [{
                "instance_location": "/n",
                "schema_location": "/properties/n/type",
                "absolute_schema_location": "https://ssot-schema.invalid/n#/properties/n/type",
                "keyword": "type",
                "message": "1.5 is not of type \"integer\"",
                "line": 1,
                "column": 4
            }]
        })
    );
    assert_eq!(serde_json::to_value(&report).unwrap(), report.to_json());
    let e = report.clone().into_result().unwrap_err();
    assert_eq!(
        e.to_string(),
        "<input>:1:4: 1.5 is not of type \"integer\" (at /n; schema `n` /properties/n/type)"
    );
    let ok = r.validate_yaml("n", "n: 1.0\n").unwrap();
    assert!(ok.is_valid(), "1.0 is an integer, as in JSON: {ok}");
    assert!(ok.into_result().is_ok());
}

#[test]
fn yaml_streams_are_refused_by_validate_yaml_and_split_by_validate_yaml_stream() {
    let mut r = SchemaRegistry::new();
    r.register("obj", json!({"type": "object", "required": ["a"]}))
        .unwrap();
    let text = "a: 1\n---\nb: 2\n---\na: 3\n";
    let e = r.validate_yaml("obj", text).unwrap_err();
    assert!(
        matches!(e, Error::MultipleDocuments { line: 2, .. }),
        "{e:?}"
    );
    let reports = r.validate_yaml_stream("obj", text).unwrap();
    let verdicts: Vec<_> = reports
        .iter()
        .map(|r| (r.document(), r.is_valid()))
        .collect();
    assert_eq!(
        verdicts,
        [(Some(0), true), (Some(1), false), (Some(2), true)]
    );
    assert_eq!(reports[1].errors()[0].line(), Some(3));
    // An empty stream is one null document, which is not an object with `a`.
    let reports = r.validate_yaml_stream("obj", "# nothing yet\n").unwrap();
    assert_eq!(reports.len(), 1);
    assert!(!reports[0].is_valid());
}

/// The stream is read for positions once, not once per invalid document (which
/// made 2,000 invalid documents take half a minute).
#[test]
fn every_document_of_a_long_invalid_stream_gets_its_own_line() {
    let mut r = SchemaRegistry::new();
    r.register("obj", json!({"properties": {"a": {"type": "string"}}}))
        .unwrap();
    let text: String = (0..500).map(|i| format!("---\nb: x\na: {i}\n")).collect();
    let reports = r.validate_yaml_stream("obj", &text).unwrap();
    assert_eq!(reports.len(), 500);
    for (i, report) in reports.iter().enumerate() {
        let e = &report.errors()[0];
        assert_eq!(
            (e.line(), e.column()),
            (Some(3 * i + 3), Some(4)),
            "{report}"
        );
    }
}

#[test]
fn unrepresentable_yaml_and_syntax_errors_are_errors_with_positions() {
    let mut r = SchemaRegistry::new();
    r.register("any", json!(true)).unwrap();
    let e = r.validate_yaml("any", "a: 1\nb: .nan\n").unwrap_err();
    assert!(e.to_string().starts_with("<input>:2:"), "{e}");
    let e = r.validate_yaml("any", "a: 1\n? [x]\n: 2\n").unwrap_err();
    assert!(matches!(e, Error::Unrepresentable { line: 2, .. }), "{e:?}");
    let e = r.validate_yaml("any", "a: [1\n").unwrap_err();
    assert!(matches!(e, Error::Syntax { format: "YAML", .. }), "{e:?}");
    let e = r.validate_json("any", "{\"a\": 1, \"a\": 2}").unwrap_err();
    assert!(e.to_string().contains("`a` appears twice"), "{e}");
    // The schema is checked before the text is read.
    assert!(matches!(
        r.validate_yaml("none", ": : :"),
        Err(Error::UnknownSchema { .. })
    ));
}

#[test]
fn a_report_renders_one_line_per_violation_even_for_keys_with_line_breaks() {
    let mut r = SchemaRegistry::new();
    r.register("closed", json!({"additionalProperties": false}))
        .unwrap();
    let report = r
        .validate_json("closed", "{\"a\\nb\": 1, \"c\\r\": 2}")
        .unwrap();
    assert_eq!(report.errors().len(), 2, "{report:?}");
    assert_eq!(
        report.errors()[0].message(),
        "property `a\nb` is not allowed here"
    );
    let shown = report.to_string();
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(
        shown.starts_with("<input>:1:2: property `a\\nb` is not allowed"),
        "{shown}"
    );
}

/// `jsonschema` reports `"additionalProperties": false` without `properties` as
/// one false-schema error at the object showing the first value ("False schema
/// does not allow 1"); it is reported like any other unexpected key.
#[test]
fn additional_properties_false_alone_is_reported_per_key() {
    let mut r = SchemaRegistry::new();
    r.register(
        "s",
        json!({"properties": {"opts": {"type": "object", "additionalProperties": false}}}),
    )
    .unwrap();
    let report = r.validate_yaml("s", "opts:\n  a: 1\n  c: 2\n").unwrap();
    let found: Vec<_> = report
        .errors()
        .iter()
        .map(|e| {
            (
                e.instance_location(),
                e.keyword(),
                e.message(),
                e.line(),
                e.column(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "/opts",
                "additionalProperties",
                "property `a` is not allowed here",
                Some(2),
                Some(3)
            ),
            (
                "/opts",
                "additionalProperties",
                "property `c` is not allowed here",
                Some(3),
                Some(3)
            ),
        ]
    );
    // A property that is itself named `additionalProperties` is not mistaken for it.
    r.register("t", json!({"properties": {"additionalProperties": false}}))
        .unwrap();
    let report = r
        .validate_json("t", r#"{"additionalProperties": {"x": 1}}"#)
        .unwrap();
    assert_eq!(report.errors()[0].keyword(), "falseSchema");
    assert_eq!(
        report.errors()[0].instance_location(),
        "/additionalProperties"
    );
}

#[test]
fn additional_properties_are_reported_one_per_key_at_the_key() {
    let mut r = SchemaRegistry::new();
    r.register(
        "cfg",
        json!({"properties": {"timeout": {}, "retries": {}}, "additionalProperties": false}),
    )
    .unwrap();
    let report = r
        .validate_yaml("cfg", "timeout: 3\ntimeot: 4\nretires: 5\ncolour: red\n")
        .unwrap();
    let got: Vec<_> = report
        .errors()
        .iter()
        .map(|e| (e.message(), e.line(), e.column()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "property `timeot` is not allowed here; did you mean `timeout`?",
                Some(2),
                Some(1)
            ),
            (
                "property `retires` is not allowed here; did you mean `retries`?",
                Some(3),
                Some(1)
            ),
            ("property `colour` is not allowed here", Some(4), Some(1)),
        ]
    );
}

#[test]
fn any_of_failures_are_reported_through_the_branch_that_was_meant() {
    let mut r = SchemaRegistry::new();
    r.register(
        "opt",
        json!({"anyOf": [{"type": "string", "maxLength": 2}, {"type": "null"}]}),
    )
    .unwrap();
    let report = r.validate_json("opt", "\"abc\"").unwrap();
    assert_eq!(report.errors()[0].keyword(), "maxLength");
    // When no branch is clearly meant, the anyOf error itself is reported.
    let report = r.validate_json("opt", "3").unwrap();
    assert_eq!(report.errors()[0].keyword(), "anyOf");
}

#[test]
fn the_builder_and_the_result_alias_have_the_names_a_user_guesses() {
    fn build() -> ssot_schema::Result<SchemaRegistry> {
        let mut r = ssot_schema::SchemaRegistryBuilder::default()
            .default_draft(Draft::Draft7)
            .build();
        r.register("n", json!({"type": "integer"}))?;
        Ok(r)
    }
    let r = build().unwrap();
    assert!(r.validate("n", &json!("x")).unwrap().errors()[0].keyword() == "type");
}

/// The suggestion is the declared property at the smallest edit distance, counted in
/// characters, within a third of the key's length (at least 1, at most 3).
#[test]
fn suggestions_are_the_closest_property_within_a_third_of_the_key() {
    let mut r = SchemaRegistry::new();
    r.register(
        "cfg",
        json!({
            "properties": {"priority": {}, "tags": {}, "größe": {}, "environment": {}, "ab": {}},
            "additionalProperties": false
        }),
    )
    .unwrap();
    let hint = |key: &str| {
        let report = r.validate("cfg", &json!({ key: 1 })).unwrap();
        let message = report.errors()[0].message().to_owned();
        message
            .split_once("did you mean `")
            .map(|(_, s)| s.trim_end_matches("`?").to_owned())
    };
    // Two swapped letters are two edits: within 8 / 3 = 2.
    assert_eq!(hint("prioirty").as_deref(), Some("priority"));
    // Characters, not bytes: `ä` for `a` is one edit (two bytes).
    assert_eq!(hint("tägs").as_deref(), Some("tags"));
    assert_eq!(hint("grösse").as_deref(), Some("größe"));
    // A short key still gets one edit; three is the cap even for a long key.
    assert_eq!(hint("a").as_deref(), Some("ab"));
    assert_eq!(hint("enviromnentt").as_deref(), Some("environment"));
    assert_eq!(hint("xnvironmxnt").as_deref(), Some("environment"));
    assert_eq!(hint("xnvxrxnmxnt"), None);
    // Within a third: two edits are too many for a four-letter key.
    assert_eq!(hint("tgas"), None);
    assert_eq!(hint("tagss").as_deref(), Some("tags"));
    assert_eq!(hint("colour"), None);
}

#[test]
fn every_accessor_of_a_report_and_a_violation_returns_its_field() {
    let mut r = SchemaRegistry::new();
    r.register(
        "svc",
        json!({"properties": {"port": {"type": "integer", "minimum": 1}}}),
    )
    .unwrap();
    let report = r.validate_json("svc", "{\n  \"port\": 0\n}").unwrap();
    assert_eq!(report.schema(), "svc");
    assert_eq!(report.source(), None);
    assert_eq!(report.document(), None);
    let e = &report.errors()[0];
    assert_eq!(e.instance_location(), "/port");
    assert_eq!(e.schema_location(), "/properties/port/minimum");
    assert_eq!(
        e.absolute_schema_location(),
        Some("https://ssot-schema.invalid/svc#/properties/port/minimum")
    );
    assert_eq!(e.keyword(), "minimum");
    assert_eq!(e.message(), "0 is less than the minimum of 1");
    assert_eq!((e.line(), e.column()), (Some(2), Some(11)));
    let named = report.clone().with_source("svc.json");
    assert_eq!(named.source(), Some("svc.json"));
    assert_eq!(named.schema(), "svc");
    assert_eq!(named.errors(), report.errors());
    assert!(named.to_string().starts_with("svc.json:2:11: 0 is less"));
    // Two violations render as two lines, the first one first.
    let two = r.validate_json("svc", "[{\"port\": 0}, 1]").unwrap();
    assert!(two.is_valid(), "an array is not checked by `properties`");
    r.register(
        "both",
        json!({"properties": {"a": {"type": "string"}, "b": {"type": "string"}}}),
    )
    .unwrap();
    let two = r.validate_json("both", r#"{"a": 1, "b": 2}"#).unwrap();
    let shown = two.to_string();
    let lines: Vec<_> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(lines[0].starts_with("<input>:1:7: 1 is not"), "{shown}");
    assert!(lines[1].starts_with("<input>:1:15: 2 is not"), "{shown}");
    // A valid report says so.
    let valid = r.validate_json("both", "{}").unwrap();
    assert_eq!(valid.to_string(), "<input>: valid against schema `both`");
    assert!(valid.errors().is_empty());
}

#[test]
fn a_registry_debugs_as_its_options_and_schema_names() {
    let mut r = SchemaRegistry::builder().validate_formats(true).build();
    r.register("a", json!(true)).unwrap();
    r.register("b", json!(false)).unwrap();
    let shown = format!("{r:?}");
    assert!(shown.starts_with("SchemaRegistry {"), "{shown}");
    assert!(shown.contains("formats: Some(true)"), "{shown}");
    assert!(shown.contains("schemas: [\"a\", \"b\"]"), "{shown}");
}

#[test]
fn a_batch_that_repeats_a_name_or_an_id_says_which() {
    let mut r = SchemaRegistry::new();
    let e = r
        .register_all([("a", json!(true)), ("a", json!(false))])
        .unwrap_err();
    assert!(
        matches!(&e, Error::AlreadyRegistered { what: "name", taken, by, .. } if taken == "a" && by == "a"),
        "{e:?}"
    );
    let e = r
        .register_all([
            ("a", json!({"$id": "https://example.com/s"})),
            ("b", json!({"$id": "https://example.com/s"})),
        ])
        .unwrap_err();
    assert!(
        matches!(&e, Error::AlreadyRegistered { what: "$id", by, .. } if by == "a"),
        "{e:?}"
    );
    // A name that is the `$id` of another schema of the batch.
    let e = r
        .register_all([
            ("a", json!({"$id": "https://example.com/s"})),
            ("https://example.com/s", json!(true)),
        ])
        .unwrap_err();
    assert!(
        matches!(&e, Error::AlreadyRegistered { what: "name", by, .. } if by == "a"),
        "{e:?}"
    );
    assert_eq!(r.names().count(), 0);
}

#[test]
fn a_name_that_is_an_absolute_uri_is_the_schema_uri() {
    let mut r = SchemaRegistry::new();
    r.register(
        "http://localhost:1234/integer.json",
        json!({"type": "integer"}),
    )
    .unwrap();
    assert_eq!(
        r.uri("http://localhost:1234/integer.json"),
        Some("http://localhost:1234/integer.json")
    );
    // Even beside a `$id`: the name is where the schema stands in for a document.
    r.register(
        "https://example.com/n.json",
        json!({"$id": "https://example.com/other.json", "type": "string"}),
    )
    .unwrap();
    assert_eq!(
        r.uri("https://example.com/n.json"),
        Some("https://example.com/n.json")
    );
    r.register(
        "user",
        json!({"properties": {"age": {"$ref": "http://localhost:1234/integer.json"}}}),
    )
    .unwrap();
    let report = r.validate("user", &json!({"age": "x"})).unwrap();
    assert_eq!(report.errors()[0].keyword(), "type");
}

#[test]
fn an_unresolvable_ref_in_a_batch_names_the_whole_batch() {
    let mut r = SchemaRegistry::new();
    let e = r
        .register_all([("a", json!({"$ref": "nowhere"})), ("b", json!(true))])
        .unwrap_err();
    assert!(
        matches!(&e, Error::UnresolvableRef { name, .. } if name == "a`, `b"),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("schema `a`, `b`: unresolvable `$ref`"),
        "{e}"
    );
    let e = r.register("c", json!({"$ref": "nowhere"})).unwrap_err();
    assert!(
        matches!(&e, Error::UnresolvableRef { name, .. } if name == "c"),
        "{e:?}"
    );
}

#[test]
fn a_pattern_of_a_schema_without_id_quotes_its_description() {
    let mut r = SchemaRegistry::new();
    r.register(
        "svc",
        json!({"properties": {"timeout": {
            "type": "string",
            "pattern": "^[0-9]+[smh]$",
            "description": "A compact duration (`30s`, `5m`)."
        }}}),
    )
    .unwrap();
    let report = r.validate_yaml("svc", "timeout: 5 minutes\n").unwrap();
    assert_eq!(
        report.errors()[0].message(),
        "\"5 minutes\" does not have the expected form: A compact duration (`30s`, `5m`)."
    );
}

#[test]
fn an_unresolvable_ref_names_only_the_schema_it_meant() {
    let mut r = SchemaRegistry::new();
    r.register(
        "a",
        json!({"$id": "https://example.com/a", "type": "string"}),
    )
    .unwrap();
    let e = r.register("b", json!({"$ref": "nowhere"})).unwrap_err();
    assert!(matches!(e, Error::UnresolvableRef { .. }), "{e:?}");
    assert!(!e.to_string().contains("schema `a`"), "{e}");
}

#[test]
fn names_that_only_look_like_uris_are_refused_and_draft_4_ids_count() {
    let mut r = SchemaRegistry::new();
    for bad in ["a:", "1x:y", "-x:y"] {
        assert!(
            matches!(r.register(bad, json!(true)), Err(Error::InvalidName { .. })),
            "{bad}"
        );
    }
    r.register(
        "d4",
        json!({"$schema": "http://json-schema.org/draft-04/schema#", "id": "https://example.com/d4"}),
    )
    .unwrap();
    assert!(r.contains("https://example.com/d4"));
}
