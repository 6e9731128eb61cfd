//! Conformance with the official JSON Schema Test Suite (draft 2020-12 and draft 7,
//! required tests), with every instance validated three ways: as a `Value`, as JSON
//! text and as YAML text (the instance serialized with yaml_serde).
//!
//! The suite is vendored in `tests/suite/` (see its README). Remote references
//! (`http://localhost:1234/...`) are served by registering each file of
//! `tests/suite/remotes/` under that URI; nothing is fetched.
//!
//! A case that fails because of `jsonschema` itself is listed in `KNOWN_FAILURES`
//! with the reason; the test fails on any other failure, and also when a listed case
//! starts to pass, so the list stays exact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use ssot_schema::{Draft, Error, SchemaRegistry};

/// Cases that fail because of `jsonschema` 0.61, as `draft/file/group/test/path`.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/suite")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A registry holding every remote document, under its `http://localhost:1234/` URI.
///
/// The remotes of the other draft's folder are left out: they are written for it. So
/// are, for draft 7, the shared remotes that use `$defs`, a 2019-09 keyword: under
/// draft 7 their `$defs` is not a schema location, and their inner `$id`s and
/// `$ref`s mean nothing (the draft 7 tests do not refer to them).
fn registry_with_remotes(draft: Draft, other: &str) -> SchemaRegistry {
    let mut registry = SchemaRegistry::builder().default_draft(draft).build();
    let root = suite().join("remotes");
    let remotes: Vec<(String, Value)> = json_files(&root)
        .into_iter()
        .filter(|path| !path.starts_with(root.join(other)))
        .filter_map(|path| {
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).unwrap();
            if draft == Draft::Draft7 && text.contains("\"$defs\"") {
                return None;
            }
            Some((
                format!("http://localhost:1234/{rel}"),
                serde_json::from_str(&text).unwrap(),
            ))
        })
        .collect();
    registry
        .register_all(remotes.iter().map(|(n, v)| (n.as_str(), v.clone())))
        .unwrap_or_else(|e| panic!("remotes do not register: {e}"));
    registry
}

/// Runs one draft's tests; returns the ids of the failing cases and how many ran.
fn run(dir: &str, draft: Draft) -> (BTreeSet<String>, usize) {
    let other = if dir == "draft7" {
        "draft2020-12"
    } else {
        "draft7"
    };
    let mut registry = registry_with_remotes(draft, other);
    let mut failures = BTreeSet::new();
    let mut ran = 0;
    let root = suite().join("tests").join(dir);
    for path in json_files(&root) {
        let file = path.file_stem().unwrap().to_string_lossy().into_owned();
        let groups: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for group in &groups {
            let description = group["description"].as_str().unwrap();
            let schema = group["schema"].clone();
            let name = "suite-case";
            // A case's `$id` may repeat a remote's: give such a case a registry of its
            // own without that remote... which is simplest done by a fresh registry.
            let registered = match registry.register(name, schema.clone()) {
                Err(Error::AlreadyRegistered { .. }) => {
                    let mut alone = SchemaRegistry::builder().default_draft(draft).build();
                    alone.register(name, schema.clone()).map(|()| Some(alone))
                }
                other => other.map(|()| None),
            };
            let own;
            let r = match registered {
                Ok(Some(alone)) => {
                    own = alone;
                    &own
                }
                Ok(None) => &registry,
                Err(e) => {
                    for test in group["tests"].as_array().unwrap() {
                        ran += 1;
                        let t = test["description"].as_str().unwrap();
                        failures.insert(format!("{dir}/{file}/{description}/{t}/compile: {e}"));
                    }
                    continue;
                }
            };
            for test in group["tests"].as_array().unwrap() {
                ran += 1;
                let t = test["description"].as_str().unwrap();
                let data = &test["data"];
                let valid = test["valid"].as_bool().unwrap();
                let id = |how: &str| format!("{dir}/{file}/{description}/{t}/{how}");
                let by_value = r.validate(name, data).unwrap();
                if by_value.is_valid() != valid {
                    failures.insert(id("value"));
                }
                let json = serde_json::to_string(data).unwrap();
                match r.validate_json(name, &json) {
                    Ok(report) if report.is_valid() == valid => {}
                    _ => {
                        failures.insert(id("json"));
                    }
                }
                let yaml = serde_yaml::to_string(data).unwrap();
                match r.validate_yaml(name, &yaml) {
                    Ok(report) if report.is_valid() == valid => {
                        // The three paths agree on where the violations are.
                        let at = |rep: &ssot_schema::Report| {
                            rep.errors()
                                .iter()
                                .map(|e| e.instance_location().to_owned())
                                .collect::<Vec<_>>()
                        };
                        assert_eq!(at(&report), at(&by_value), "{}", id("yaml locations"));
                    }
                    _ => {
                        failures.insert(id("yaml"));
                    }
                }
            }
            registry.remove(name);
        }
    }
    (failures, ran)
}

fn check(dir: &str, draft: Draft) {
    let (failures, ran) = run(dir, draft);
    assert!(ran > 500, "only {ran} cases ran");
    let known: BTreeSet<String> = KNOWN_FAILURES
        .iter()
        .filter(|(id, _)| id.starts_with(&format!("{dir}/")))
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let unexpected: Vec<_> = failures.difference(&known).collect();
    let fixed: Vec<_> = known.difference(&failures).collect();
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{dir}: {} of {ran} cases fail unexpectedly:\n{}\nlisted as known failures but passing:\n{}",
        unexpected.len(),
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        fixed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

#[test]
fn agrees_with_the_draft_2020_12_suite_through_value_json_and_yaml() {
    check("draft2020-12", Draft::Draft202012);
}

#[test]
fn agrees_with_the_draft_7_suite_through_value_json_and_yaml() {
    check("draft7", Draft::Draft7);
}
