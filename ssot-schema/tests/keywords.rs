//! One case per keyword, through both text paths: the valid instance passes as YAML
//! and as JSON; the invalid one fails on that keyword, at the expected pointer, with
//! the YAML line of the offending value and the same pointer from JSON text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use ssot_schema::SchemaRegistry;

struct Case {
    keyword: &'static str,
    schema: Value,
    valid: &'static str,
    invalid: &'static str,
    pointer: &'static str,
    line: usize,
}

fn cases() -> Vec<Case> {
    let c = |keyword, schema, valid, invalid, pointer, line| Case {
        keyword,
        schema,
        valid,
        invalid,
        pointer,
        line,
    };
    vec![
        c(
            "type",
            json!({"properties": {"a": {"type": "integer"}}}),
            "a: 1\n",
            "x: 0\na: one\n",
            "/a",
            2,
        ),
        c(
            "enum",
            json!({"properties": {"a": {"enum": ["x", 2]}}}),
            "a: 2\n",
            "a: 3\n",
            "/a",
            1,
        ),
        c(
            "const",
            json!({"items": {"const": {"k": [1]}}}),
            "- {k: [1]}\n",
            "- {k: [1]}\n- {k: [2]}\n",
            "/1",
            2,
        ),
        c(
            "multipleOf",
            json!({"multipleOf": 0.5}),
            "1.5\n",
            "1.2\n",
            "",
            1,
        ),
        c(
            "maximum",
            json!({"properties": {"a": {"maximum": 3}}}),
            "a: 3\n",
            "\na: 4\n",
            "/a",
            2,
        ),
        c(
            "exclusiveMaximum",
            json!({"properties": {"a": {"exclusiveMaximum": 3}}}),
            "a: 2.9\n",
            "a: 3\n",
            "/a",
            1,
        ),
        c(
            "minimum",
            json!({"items": {"minimum": 0}}),
            "[0, 1]\n",
            "- 0\n- -1\n",
            "/1",
            2,
        ),
        c(
            "exclusiveMinimum",
            json!({"items": {"exclusiveMinimum": 0}}),
            "[1]\n",
            "- 1\n- 0\n",
            "/1",
            2,
        ),
        c(
            "maxLength",
            json!({"properties": {"a": {"maxLength": 2}}}),
            "a: é€\n",
            "a: abc\n",
            "/a",
            1,
        ),
        c(
            "minLength",
            json!({"properties": {"a": {"minLength": 1}}}),
            "a: x\n",
            "a: ''\n",
            "/a",
            1,
        ),
        c(
            "pattern",
            json!({"properties": {"a": {"pattern": "^[0-9]+[smh]$"}}}),
            "a: 5m\n",
            "a: 5 minutes\n",
            "/a",
            1,
        ),
        c(
            "maxItems",
            json!({"properties": {"a": {"maxItems": 1}}}),
            "a: [1]\n",
            "a:\n  - 1\n  - 2\n",
            "/a",
            2,
        ),
        c(
            "minItems",
            json!({"properties": {"a": {"minItems": 1}}}),
            "a: [1]\n",
            "a: []\n",
            "/a",
            1,
        ),
        c(
            "uniqueItems",
            json!({"uniqueItems": true}),
            "[1, 2]\n",
            "- 1\n- 1.0\n",
            "",
            1,
        ),
        c(
            "contains",
            json!({"contains": {"const": "x"}}),
            "[a, x]\n",
            "[a, b]\n",
            "",
            1,
        ),
        c(
            "maxContains",
            json!({"contains": {"const": "x"}, "maxContains": 1}),
            "[x]\n",
            "[x, x]\n",
            "",
            1,
        ),
        c(
            "minContains",
            json!({"contains": {"const": "x"}, "minContains": 2}),
            "[x, x]\n",
            "[x]\n",
            "",
            1,
        ),
        c(
            "prefixItems",
            json!({"prefixItems": [{"type": "string"}]}),
            "[a, 1]\n",
            "- 1\n- a\n",
            "/0",
            1,
        ),
        c(
            "items",
            json!({"prefixItems": [true], "items": {"type": "string"}}),
            "[1, a]\n",
            "- 1\n- a\n- 2\n",
            "/2",
            3,
        ),
        c(
            "unevaluatedItems",
            json!({"prefixItems": [true], "unevaluatedItems": false}),
            "[1]\n",
            "- 1\n- 2\n",
            "",
            1,
        ),
        c(
            "maxProperties",
            json!({"maxProperties": 1}),
            "a: 1\n",
            "a: 1\nb: 2\n",
            "",
            1,
        ),
        c(
            "minProperties",
            json!({"properties": {"a": {"minProperties": 1}}}),
            "a: {b: 1}\n",
            "a: {}\n",
            "/a",
            1,
        ),
        c(
            "required",
            json!({"items": {"required": ["id"]}}),
            "- id: 1\n",
            "- id: 1\n- name: x\n",
            "/1",
            2,
        ),
        c(
            "dependentRequired",
            json!({"dependentRequired": {"a": ["b"]}}),
            "a: 1\nb: 2\n",
            "c: 0\na: 1\n",
            "",
            1,
        ),
        c(
            "properties",
            json!({"properties": {"a": false}}),
            "b: 1\n",
            "b: 1\na: 1\n",
            "/a",
            2,
        ),
        c(
            "patternProperties",
            json!({"patternProperties": {"^x-": {"type": "string"}}}),
            "x-a: s\n",
            "y: 1\nx-a: 1\n",
            "/x-a",
            2,
        ),
        c(
            "additionalProperties",
            json!({"properties": {"a": true}, "additionalProperties": false}),
            "a: 1\n",
            "a: 1\nb: 2\n",
            "",
            2,
        ),
        c(
            "propertyNames",
            json!({"propertyNames": {"maxLength": 3}}),
            "abc: 1\n",
            "abc: 1\nabcd: 1\n",
            "",
            2,
        ),
        c(
            "dependentSchemas",
            json!({"dependentSchemas": {"a": {"required": ["b"]}}}),
            "a: 1\nb: 1\n",
            "a: 1\n",
            "",
            1,
        ),
        c(
            "unevaluatedProperties",
            json!({"allOf": [{"properties": {"a": true}}], "unevaluatedProperties": false}),
            "a: 1\n",
            "a: 1\nzz: 2\n",
            "",
            2,
        ),
        c(
            "allOf",
            json!({"allOf": [{"minimum": 1}, {"maximum": 2}]}),
            "2\n",
            "3\n",
            "",
            1,
        ),
        c(
            "anyOf",
            json!({"properties": {"a": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}),
            "a: 1\n",
            "a: 1.5\n",
            "/a",
            1,
        ),
        c(
            "oneOf",
            json!({"properties": {"a": {"oneOf": [{"minimum": 0}, {"maximum": 10}]}}}),
            "a: 20\n",
            "a: 5\n",
            "/a",
            1,
        ),
        c(
            "not",
            json!({"items": {"not": {"type": "null"}}}),
            "[1]\n",
            "- 1\n- ~\n",
            "/1",
            2,
        ),
        c(
            "if",
            json!({"items": {"if": {"type": "integer"}, "then": {"minimum": 0}, "else": {"type": "string"}}}),
            "[1, a]\n",
            "- 1\n- -1\n",
            "/1",
            2,
        ),
        c(
            "else",
            json!({"items": {"if": {"type": "integer"}, "then": {"minimum": 0}, "else": {"type": "string"}}}),
            "[1, a]\n",
            "- 1\n- [x]\n",
            "/1",
            2,
        ),
        c(
            "$ref",
            json!({"$defs": {"p": {"type": "integer", "minimum": 1}}, "properties": {"port": {"$ref": "#/$defs/p"}}}),
            "port: 80\n",
            "port: 0\n",
            "/port",
            1,
        ),
        c(
            "$dynamicRef",
            json!({"$dynamicAnchor": "node", "type": "object", "properties": {"kids": {"type": "array", "items": {"$dynamicRef": "#node"}}, "v": {"type": "integer"}}}),
            "v: 1\nkids: [{v: 2}]\n",
            "v: 1\nkids:\n  - v: two\n",
            "/kids/0/v",
            3,
        ),
        c(
            "false",
            json!({"properties": {"a": false}}),
            "{}\n",
            "a: 1\n",
            "/a",
            1,
        ),
    ]
}

/// The keyword a case's violation is reported under.
fn reported(keyword: &str) -> &str {
    match keyword {
        "maxContains" | "minContains" => "contains",
        "prefixItems" | "items" | "else" | "$dynamicRef" | "patternProperties" => "type",
        "if" | "$ref" => "minimum",
        "allOf" => "maximum",
        "properties" | "false" => "falseSchema",
        "const" => "const",
        "dependentRequired" => "dependentRequired",
        "dependentSchemas" => "required",
        "anyOf" => "anyOf",
        "oneOf" => "oneOf",
        k => k,
    }
}

#[test]
fn every_keyword_through_yaml_and_json_text() {
    for (i, case) in cases().into_iter().enumerate() {
        let mut r = SchemaRegistry::new();
        let name = format!("k{i}");
        r.register(&name, case.schema.clone()).unwrap();
        let valid: Value = serde_yaml::from_str(case.valid).unwrap();
        let invalid: Value = serde_yaml::from_str(case.invalid).unwrap();
        for (how, report) in [
            ("yaml", r.validate_yaml(&name, case.valid).unwrap()),
            ("json", r.validate_json(&name, &valid.to_string()).unwrap()),
        ] {
            assert!(
                report.is_valid(),
                "{} ({how}) valid case:\n{report}",
                case.keyword
            );
        }
        let yaml = r.validate_yaml(&name, case.invalid).unwrap();
        let json_text = serde_json::to_string_pretty(&invalid).unwrap();
        let json = r.validate_json(&name, &json_text).unwrap();
        let value = r.validate(&name, &invalid).unwrap();
        let want = reported(case.keyword);
        let e = yaml
            .errors()
            .iter()
            .find(|e| e.keyword() == want)
            .unwrap_or_else(|| panic!("{}: no `{want}` violation:\n{yaml}", case.keyword));
        assert_eq!(
            e.instance_location(),
            case.pointer,
            "{}:\n{yaml}",
            case.keyword
        );
        assert_eq!(e.line(), Some(case.line), "{}:\n{yaml}", case.keyword);
        let locations = |rep: &ssot_schema::Report| {
            rep.errors()
                .iter()
                .map(|e| (e.instance_location().to_owned(), e.keyword().to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(locations(&json), locations(&yaml), "{}", case.keyword);
        assert_eq!(locations(&value), locations(&yaml), "{}", case.keyword);
        assert!(json.errors().iter().all(|e| e.line().is_some()));
    }
}
