//! Line and column of values in JSON and YAML text, through `ssot-schema`'s public
//! API.
//!
//! `ssot-schema` finds the position of every violation it reports, from a second,
//! span-carrying read of the text, but it has no public "where is this pointer"
//! call. So to find where values are, the store asks it to validate the text against
//! a schema built to fail exactly at those values (`"not": {}` there, nothing
//! elsewhere), and reads the positions off the violations. A key is found with
//! `propertyNames` on its object, which `ssot-schema` reports at the key itself. This
//! costs one more parse of the text and is only done for files whose positions are
//! needed; the result is cached with the parsed file.

use serde_json::{Map, Value, json};
use ssot_schema::SchemaRegistry;

/// A 1-based line and column.
pub(crate) type Position = (usize, usize);

/// The syntax of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Json,
    Yaml,
}

const LOCATOR: &str = "ssot-store/locate";

/// Validates `text` against `schema` and returns the violations' pointers and
/// positions. Nothing when the schema does not compile or the text does not parse.
fn fail_at(syntax: Syntax, text: &str, schema: Value) -> Vec<(String, Option<Position>)> {
    let mut registry = SchemaRegistry::new();
    if registry.register(LOCATOR, schema).is_err() {
        return Vec::new();
    }
    let report = match syntax {
        Syntax::Json => registry.validate_json(LOCATOR, text),
        Syntax::Yaml => registry.validate_yaml(LOCATOR, text),
    };
    let Ok(report) = report else {
        return Vec::new();
    };
    report
        .errors()
        .iter()
        .map(|v| {
            let at = v.line().zip(v.column());
            (v.instance_location().to_owned(), at)
        })
        .collect()
}

/// Where each task of a task list starts, and each entry of its `dependencies`.
pub(crate) struct TaskPositions {
    /// Per task, in document order.
    pub(crate) tasks: Vec<Option<Position>>,
    /// Per task, per dependency in the order written.
    pub(crate) dependencies: Vec<Vec<Option<Position>>>,
}

/// Finds the tasks of a JSON or YAML task list: `wrapped` when the tasks are under a
/// top-level `tasks` key, else the document is the list. `counts` gives, per task,
/// its number of dependencies.
pub(crate) fn task_positions(
    syntax: Syntax,
    text: &str,
    wrapped: bool,
    counts: &[usize],
) -> TaskPositions {
    let item = json!({
        "not": {},
        "properties": {"dependencies": {"items": {"not": {}}}}
    });
    let list = json!({ "items": item });
    let schema = if wrapped {
        json!({ "properties": { "tasks": list } })
    } else {
        list
    };
    let mut out = TaskPositions {
        tasks: vec![None; counts.len()],
        dependencies: counts.iter().map(|&n| vec![None; n]).collect(),
    };
    let prefix = if wrapped { "/tasks/" } else { "/" };
    for (pointer, at) in fail_at(syntax, text, schema) {
        let Some(rest) = pointer.strip_prefix(prefix) else {
            continue;
        };
        let mut parts = rest.split('/');
        let Some(task) = parts.next().and_then(|p| p.parse::<usize>().ok()) else {
            continue;
        };
        match (
            parts.next(),
            parts.next().and_then(|p| p.parse::<usize>().ok()),
        ) {
            (None, _) => {
                if let Some(slot) = out.tasks.get_mut(task) {
                    *slot = at;
                }
            }
            (Some("dependencies"), Some(dep)) => {
                if let Some(slot) = out.dependencies.get_mut(task).and_then(|d| d.get_mut(dep)) {
                    *slot = at;
                }
            }
            _ => {}
        }
    }
    out
}

/// Splits a JSON pointer into unescaped segments.
pub(crate) fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Escapes one segment for a JSON pointer.
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A schema that applies `inner` to the value at `path` and to nothing else.
fn at_path(path: &[String], inner: Value) -> Value {
    path.iter().rev().fold(inner, |schema, segment| {
        let mut node = Map::new();
        node.insert(
            "properties".into(),
            json!({ segment.as_str(): schema.clone() }),
        );
        if let Ok(index) = segment.parse::<usize>() {
            // The same segment names an array element: the items before it are free.
            if index <= 10_000 {
                let mut prefix = vec![Value::Bool(true); index];
                prefix.push(schema);
                node.insert("prefixItems".into(), Value::Array(prefix));
            }
        }
        Value::Object(node)
    })
}

/// Where the key that `pointer` ends with is written (for an array element, where
/// the element is). `None` for the root or when it cannot be found.
pub(crate) fn key_position(syntax: Syntax, text: &str, pointer: &str) -> Option<Position> {
    let mut path = segments(pointer);
    let last = path.pop()?;
    let schema = if last.parse::<usize>().is_ok() {
        // May be an array element: fall back to the value's position below.
        None
    } else {
        Some(at_path(
            &path,
            json!({ "propertyNames": { "not": { "const": last } } }),
        ))
    };
    if let Some(schema) = schema
        && let Some(at) = fail_at(syntax, text, schema)
            .into_iter()
            .find_map(|(_, at)| at)
    {
        return Some(at);
    }
    value_position(syntax, text, pointer)
}

/// Where the value at `pointer` starts.
pub(crate) fn value_position(syntax: Syntax, text: &str, pointer: &str) -> Option<Position> {
    let schema = at_path(&segments(pointer), json!({ "not": {} }));
    fail_at(syntax, text, schema)
        .into_iter()
        .find(|(p, _)| p == pointer)
        .and_then(|(_, at)| at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_yaml_tasks_and_their_dependencies() {
        let text = "# c\ntasks:\n  - id: a\n    title: A\n  - id: b\n    title: B\n    dependencies:\n      - a\n";
        let p = task_positions(Syntax::Yaml, text, true, &[0, 1]);
        assert_eq!(p.tasks, [Some((3, 5)), Some((5, 5))]);
        assert_eq!(p.dependencies[1], [Some((8, 9))]);
    }

    #[test]
    fn finds_json_keys_and_values() {
        let text = "{\n  \"db\": {\n    \"url\": \"x\"\n  }\n}\n";
        assert_eq!(key_position(Syntax::Json, text, "/db/url"), Some((3, 5)));
        assert_eq!(value_position(Syntax::Json, text, "/db/url"), Some((3, 12)));
        assert_eq!(key_position(Syntax::Json, text, "/nope"), None);
    }
}
