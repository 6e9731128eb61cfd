//! Messages for failed combinators: what would make the document valid.
//!
//! `jsonschema` reports a failed `anyOf` as "not valid under any of the schemas
//! listed in the 'anyOf' keyword", a `dependentRequired` as a bare "\"b\" is a
//! required property", and an error of a `then` branch without its condition. The
//! rule the author meant is usually written in the schema itself, so this module
//! puts the schema's words first and what the validator found after, in parentheses:
//!
//! - the *hint* is the `x-message` (a string; our keyword, an annotation to every
//!   other validator) or else the `description` of the schema object that holds the
//!   combinator, or of the nearest schema object around it that applies to the same
//!   value (reached through `then`, `else`, `if`, `not`, `allOf`/`anyOf`/`oneOf`
//!   items or `dependentSchemas`). The search never crosses `properties`, `items` and
//!   the like: the description of an enclosing object describes another value.
//! - the *details* list each alternative's own errors (`anyOf`, `oneOf`), the
//!   alternatives that all hold (`oneOf`), the schema that matched (`not`), or the
//!   key whose presence requires the missing one (`dependentRequired`, draft 7's
//!   `dependencies`).
//!
//! An error raised by a keyword written directly in a `then`/`else` branch, or in
//! the one `anyOf`/`oneOf` alternative the report shows instead of the combinator
//! (see `expand` in the registry), gets the hint too. An error deeper inside the
//! branch (a property of the value, or behind a `$ref`) does not: it is about the
//! branch's content, which the branch's own schema describes.
//!
//! The schema object is found from the error's absolute keyword location
//! (`uri#/pointer`), walked from the document's root so that a property named
//! `then` is not taken for the keyword. All of this runs only for an invalid
//! document: a valid one never reaches this module.

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

/// The keyword of our own that holds a combinator's message.
pub(crate) const MESSAGE_KEYWORD: &str = "x-message";

/// At most this many errors of one alternative are listed; the rest are counted.
const ERRORS_PER_ALTERNATIVE: usize = 3;

/// The keyword and message that replace the violation's, when `error` is a failed
/// combinator or comes from a conditional branch; `None` leaves it as it is.
///
/// `document` finds a registered schema document by its URI; `instance` is the
/// validated document; `message` renders one `jsonschema` error as the report does.
pub(crate) fn explain<'d>(
    error: &ValidationError<'_>,
    instance: &Value,
    document: impl Fn(&str) -> Option<&'d Value>,
    message: impl Fn(&ValidationError<'_>) -> String,
) -> Option<(Option<String>, String)> {
    let absolute = error.absolute_keyword_location()?;
    let (base, fragment) = absolute.as_str().split_once('#')?;
    let root = document(base)?;
    let segments = segments(fragment);
    let path = walk(root, &segments);
    let rest = &segments[path.consumed..];
    let keyword = rest.first().map(String::as_str);
    let hint = || hint(&path.nodes);
    let subject = subject(error.instance());
    match (error.kind(), keyword) {
        (ValidationErrorKind::AnyOf { context }, _) => Some((
            None,
            none_holds(hint(), &subject, "anyOf", context, error, &message),
        )),
        (ValidationErrorKind::OneOfNotValid { context }, _) => Some((
            None,
            none_holds(hint(), &subject, "oneOf", context, error, &message),
        )),
        (ValidationErrorKind::OneOfMultipleValid { context }, _) => {
            let holding: Vec<String> = context
                .iter()
                .enumerate()
                .filter(|(_, errors)| errors.is_empty())
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            let details = format!(
                "{subject} is valid under alternatives {} of `oneOf`; exactly one must hold",
                and_list(&holding, "and")
            );
            Some((None, with_hint(hint(), details)))
        }
        (ValidationErrorKind::Not { schema }, _) => {
            let hint = hint()?;
            let details = format!("{subject} is valid under the schema of `not`: {schema}");
            Some((None, with_hint(Some(hint), details)))
        }
        (
            ValidationErrorKind::Required { property },
            Some(which @ ("dependentRequired" | "dependencies")),
        ) => {
            let holder = path.nodes.last()?.schema;
            let triggers = triggers(holder.get(which)?, instance, error, property);
            let details = if triggers.is_empty() {
                message(error)
            } else {
                format!(
                    "{property} is required when {} is present",
                    and_list(&triggers, "or")
                )
            };
            Some((Some(which.to_owned()), with_hint(hint(), details)))
        }
        _ => {
            // A keyword written directly in a `then`/`else` branch or an alternative.
            let last = path.nodes.last()?;
            if rest.len() != 1
                || !matches!(last.via, Via::InPlace("then" | "else" | "anyOf" | "oneOf"))
            {
                return None;
            }
            let hint = hint()?;
            let details = message(error);
            if details.contains(hint.trim_end_matches('.')) {
                return None;
            }
            Some((None, with_hint(Some(hint), details)))
        }
    }
}

/// How a schema object was reached from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The document's root.
    Root,
    /// Through an applicator that applies it to the same value (`then`, `anyOf`...).
    InPlace(&'static str),
    /// Through one that applies it to another value (`properties`, `items`...), or
    /// a definition (`$defs`).
    Elsewhere,
}

struct Node<'d> {
    schema: &'d Value,
    via: Via,
}

struct Path<'d> {
    /// The schema objects from the root to the one holding the keyword.
    nodes: Vec<Node<'d>>,
    /// How many segments of the pointer lead to the last node.
    consumed: usize,
}

/// Follows `segments` from `root` through schema objects, as far as they are
/// schema objects: the first segment that is not an applicator (or is the last
/// segment) is the keyword.
fn walk<'d>(root: &'d Value, segments: &[String]) -> Path<'d> {
    let mut nodes = vec![Node {
        schema: root,
        via: Via::Root,
    }];
    let mut i = 0;
    while i + 1 < segments.len() {
        let Some(current) = nodes.last().map(|n| n.schema) else {
            break;
        };
        let keyword = segments[i].as_str();
        let next = &segments[i + 1];
        let (via, child, width) = match keyword {
            "then" => (Via::InPlace("then"), current.get(keyword), 1),
            "else" => (Via::InPlace("else"), current.get(keyword), 1),
            "if" => (Via::InPlace("if"), current.get(keyword), 1),
            "not" => (Via::InPlace("not"), current.get(keyword), 1),
            "allOf" | "anyOf" | "oneOf" => {
                let via = match keyword {
                    "allOf" => Via::InPlace("allOf"),
                    "anyOf" => Via::InPlace("anyOf"),
                    _ => Via::InPlace("oneOf"),
                };
                (via, element(current.get(keyword), next), 2)
            }
            "dependentSchemas" => (
                Via::InPlace("dependentSchemas"),
                current.get(keyword).and_then(|m| m.get(next.as_str())),
                2,
            ),
            // Draft 7: a schema (in place) or a list of names (a keyword's operand).
            "dependencies" => match current.get(keyword).and_then(|m| m.get(next.as_str())) {
                Some(schema @ (Value::Object(_) | Value::Bool(_))) => {
                    (Via::InPlace("dependentSchemas"), Some(schema), 2)
                }
                _ => break,
            },
            "properties" | "patternProperties" | "$defs" | "definitions" => (
                Via::Elsewhere,
                current.get(keyword).and_then(|m| m.get(next.as_str())),
                2,
            ),
            "prefixItems" => (Via::Elsewhere, element(current.get(keyword), next), 2),
            "items" => match current.get(keyword) {
                Some(Value::Array(_)) => (Via::Elsewhere, element(current.get(keyword), next), 2),
                schema => (Via::Elsewhere, schema, 1),
            },
            "additionalProperties"
            | "unevaluatedProperties"
            | "propertyNames"
            | "contains"
            | "additionalItems"
            | "unevaluatedItems"
            | "contentSchema" => (Via::Elsewhere, current.get(keyword), 1),
            _ => break,
        };
        match child {
            Some(schema @ (Value::Object(_) | Value::Bool(_))) if i + width < segments.len() => {
                nodes.push(Node { schema, via });
                i += width;
            }
            _ => break,
        }
    }
    Path { nodes, consumed: i }
}

fn element<'d>(list: Option<&'d Value>, index: &str) -> Option<&'d Value> {
    list?.as_array()?.get(index.parse::<usize>().ok()?)
}

/// The `x-message`, else the `description`, of the last node or of the nearest
/// node before it that applies to the same value.
fn hint(nodes: &[Node<'_>]) -> Option<String> {
    for node in nodes.iter().rev() {
        for key in [MESSAGE_KEYWORD, "description"] {
            if let Some(text) = node.schema.get(key).and_then(Value::as_str) {
                return Some(text.to_owned());
            }
        }
        if !matches!(node.via, Via::InPlace(_)) {
            break;
        }
    }
    None
}

/// `hint (details)`, or the details alone.
fn with_hint(hint: Option<String>, details: String) -> String {
    match hint {
        Some(hint) => format!("{} ({details})", hint.trim_end().trim_end_matches('.')),
        None => details,
    }
}

/// The message of an `anyOf`/`oneOf` that no alternative satisfies.
fn none_holds(
    hint: Option<String>,
    subject: &str,
    keyword: &str,
    context: &[Vec<ValidationError<'static>>],
    error: &ValidationError<'_>,
    message: &impl Fn(&ValidationError<'_>) -> String,
) -> String {
    let at = error.instance_path().as_str();
    let alternatives: Vec<String> = context
        .iter()
        .enumerate()
        .map(|(i, errors)| {
            let listed: Vec<String> = errors
                .iter()
                .take(ERRORS_PER_ALTERNATIVE)
                .map(|e| match e.instance_path().as_str() {
                    path if path == at => message(e),
                    path => format!("at {path}: {}", message(e)),
                })
                .collect();
            let mut text = listed.join(" and ");
            if errors.len() > ERRORS_PER_ALTERNATIVE {
                text = format!("{text} and {} more", errors.len() - ERRORS_PER_ALTERNATIVE);
            }
            format!("{}. {text}", i + 1)
        })
        .collect();
    let details = format!(
        "{subject} is valid under no alternative of `{keyword}`: {}",
        alternatives.join("; ")
    );
    with_hint(hint, details)
}

/// The value as messages show it: a container is not printed whole.
fn subject(instance: &Value) -> String {
    match instance {
        Value::Object(_) => "the object".to_owned(),
        Value::Array(_) => "the array".to_owned(),
        other => other.to_string(),
    }
}

/// The keys present in the object at the error's location whose entry in the
/// `dependentRequired` map lists the missing `property`, as JSON strings.
fn triggers(
    map: &Value,
    instance: &Value,
    error: &ValidationError<'_>,
    property: &Value,
) -> Vec<String> {
    let (Some(map), Some(object)) = (
        map.as_object(),
        instance
            .pointer(error.instance_path().as_str())
            .and_then(Value::as_object),
    ) else {
        return Vec::new();
    };
    map.iter()
        .filter(|(key, needs)| {
            object.contains_key(key.as_str())
                && needs.as_array().is_some_and(|n| n.contains(property))
        })
        .map(|(key, _)| Value::from(key.as_str()).to_string())
        .collect()
}

/// `a`, `a and b`, `a, b and c` (or `or`).
fn and_list(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

/// The segments of a URI fragment holding a JSON pointer: percent-decoded, then
/// `~1` and `~0` unescaped. A fragment that is not a pointer has no segments.
fn segments(fragment: &str) -> Vec<String> {
    let decoded = percent_decode(fragment);
    let Some(pointer) = decoded.strip_prefix('/') else {
        return Vec::new();
    };
    pointer
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let (h, l) = (hex(h).unwrap_or(0), hex(l).unwrap_or(0));
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path_of(schema: &Value, fragment: &str) -> (Vec<Via>, Vec<String>) {
        let segments = segments(fragment);
        let path = walk(schema, &segments);
        (
            path.nodes.iter().map(|n| n.via).collect(),
            segments[path.consumed..].to_vec(),
        )
    }

    #[test]
    fn the_walk_enters_each_in_place_applicator_under_its_own_name() {
        let schema = json!({
            "not": {"type": "string"},
            "allOf": [{"type": "string"}],
            "anyOf": [{"type": "string"}],
            "oneOf": [{"type": "string"}],
            "if": {"type": "string"},
            "then": {"type": "string"},
            "else": {"type": "string"}
        });
        for (fragment, via) in [
            ("/not/type", "not"),
            ("/allOf/0/type", "allOf"),
            ("/anyOf/0/type", "anyOf"),
            ("/oneOf/0/type", "oneOf"),
            ("/if/type", "if"),
            ("/then/type", "then"),
            ("/else/type", "else"),
        ] {
            assert_eq!(
                path_of(&schema, fragment),
                (vec![Via::Root, Via::InPlace(via)], vec!["type".to_owned()]),
                "{fragment}"
            );
        }
    }

    #[test]
    fn the_walk_tells_keywords_from_names() {
        let schema = json!({
            "properties": {"then": {"anyOf": [{"required": ["x"]}]}},
            "$defs": {"w": {"then": {"anyOf": [{}]}}}
        });
        assert_eq!(
            path_of(&schema, "/properties/then/anyOf/0/required"),
            (
                vec![Via::Root, Via::Elsewhere, Via::InPlace("anyOf")],
                vec!["required".to_owned()]
            )
        );
        assert_eq!(
            path_of(&schema, "/$defs/w/then/anyOf"),
            (
                vec![Via::Root, Via::Elsewhere, Via::InPlace("then")],
                vec!["anyOf".to_owned()]
            )
        );
        // The last segment is always the keyword, even when it names an applicator.
        assert_eq!(
            path_of(&schema, "/not"),
            (vec![Via::Root], vec!["not".to_owned()])
        );
        // ... or a property whose value is a schema: the walk stops before it.
        assert_eq!(
            path_of(&schema, "/properties/then"),
            (
                vec![Via::Root],
                vec!["properties".to_owned(), "then".to_owned()]
            )
        );
    }

    #[test]
    fn the_walk_knows_every_applicator_form() {
        let schema = json!({
            "dependentSchemas": {"a": {"required": ["b"]}},
            "dependencies": {"c": {"required": ["d"]}, "e": ["f"]},
            "items": [{"type": "string"}],
            "prefixItems": [true, {"type": "integer"}],
            "if": {"required": ["x"]},
            "additionalProperties": {"type": "string"}
        });
        let rest = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            path_of(&schema, "/dependentSchemas/a/required"),
            (
                vec![Via::Root, Via::InPlace("dependentSchemas")],
                rest(&["required"])
            )
        );
        assert_eq!(
            path_of(&schema, "/dependencies/c/required"),
            (
                vec![Via::Root, Via::InPlace("dependentSchemas")],
                rest(&["required"])
            )
        );
        // Draft 7's list form is the keyword itself.
        assert_eq!(
            path_of(&schema, "/dependencies/e"),
            (vec![Via::Root], rest(&["dependencies", "e"]))
        );
        assert_eq!(
            path_of(&schema, "/items/0/type"),
            (vec![Via::Root, Via::Elsewhere], rest(&["type"]))
        );
        assert_eq!(
            path_of(&schema, "/prefixItems/1/type"),
            (vec![Via::Root, Via::Elsewhere], rest(&["type"]))
        );
        assert_eq!(
            path_of(&schema, "/if/required"),
            (vec![Via::Root, Via::InPlace("if")], rest(&["required"]))
        );
        assert_eq!(
            path_of(&schema, "/additionalProperties/type"),
            (vec![Via::Root, Via::Elsewhere], rest(&["type"]))
        );
        // A pointer into nothing stops where the schema ends.
        assert_eq!(
            path_of(&schema, "/properties/nope/type"),
            (vec![Via::Root], rest(&["properties", "nope", "type"]))
        );
        assert_eq!(
            path_of(&json!({"items": {"type": "string"}}), "/items/type"),
            (vec![Via::Root, Via::Elsewhere], rest(&["type"]))
        );
    }

    #[test]
    fn the_hint_is_the_nearest_message_or_description_of_the_same_value() {
        fn node(schema: &Value, via: Via) -> Node<'_> {
            Node { schema, via }
        }
        let described = &json!({"description": "d", "x-message": "m"});
        let only_description = &json!({"description": "outer"});
        let bare = &json!({});
        // `x-message` wins over `description` in the same object.
        assert_eq!(hint(&[node(described, Via::Root)]).as_deref(), Some("m"));
        // Through in-place links, up to the first object that has either.
        assert_eq!(
            hint(&[
                node(only_description, Via::Root),
                node(bare, Via::InPlace("then")),
                node(bare, Via::InPlace("anyOf")),
            ])
            .as_deref(),
            Some("outer")
        );
        // Never across a link to another value.
        assert_eq!(
            hint(&[
                node(only_description, Via::Root),
                node(bare, Via::Elsewhere)
            ]),
            None
        );
        assert_eq!(hint(&[node(bare, Via::Root)]), None);
    }

    #[test]
    fn fragments_are_percent_decoded_and_unescaped() {
        assert_eq!(
            segments("/properties/a%20b/x~1y~0z"),
            ["properties", "a b", "x/y~z"]
        );
        assert_eq!(segments("/%C3%A9t%C3%A9"), ["été"]);
        assert_eq!(segments("/bad%zz%4"), ["bad%zz%4"]);
        assert!(segments("anchor").is_empty());
    }

    #[test]
    fn lists_read_as_english() {
        let l = |items: &[&str]| {
            and_list(
                &items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
                "and",
            )
        };
        assert_eq!(l(&["1"]), "1");
        assert_eq!(l(&["1", "2"]), "1 and 2");
        assert_eq!(l(&["1", "2", "3"]), "1, 2 and 3");
    }
}
