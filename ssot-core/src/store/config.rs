//! Configuration views; the design is documented on [`ConfigView`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use serde::Serialize;
use serde_json::{Map, Value};
use ssot_schema::SchemaRegistry;

use ssot_schema::position::{self, segments};

use super::manifest::escape;
use super::read::Document;
use super::report::{Location, Problem, ProblemKind, Report};
use crate::Error;

/// What a secret is shown as.
pub const MASK: &str = "********";

/// Where the store reads environment variables from.
pub trait Env: Send + Sync {
    /// The value of `name`, or `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment (`std::env::var`; a value that is not Unicode counts as
/// unset).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: BuildHasher + Send + Sync> Env for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// One file's part in a configuration view.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) document: std::sync::Arc<Document>,
}

/// A key's value as one overlay file writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Origin {
    /// The file and the line of the key.
    #[serde(flatten)]
    pub location: Location,
    /// The value as written there (before interpolation; masked when secret).
    pub value: Value,
}

/// Where a configuration value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The configuration.
    pub config: String,
    /// The key as asked.
    pub key: String,
    /// Its JSON pointer in the view.
    pub pointer: String,
    /// The value in the view, interpolated (masked when secret).
    pub value: Value,
    /// Whether the schema marks it secret.
    pub secret: bool,
    /// The file (and line) whose value is in effect. For an object, the last file
    /// that wrote any part of it; earlier files may have given some of its keys.
    pub set_by: Origin,
    /// Earlier files that wrote the key, whose value the setter overrode (for an
    /// object: merged into), base first.
    pub overrode: Vec<Origin>,
}

impl fmt::Display for Explanation {
    /// `key = value` then `  set by file:line` and one `  overrides file:line (value)`
    /// per overridden file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} = {}", self.key, self.value)?;
        write!(f, "  set by {}", self.set_by.location)?;
        if self.set_by.value != self.value {
            write!(f, " as {}", self.set_by.value)?;
        }
        for o in &self.overrode {
            write!(f, "\n  overrides {} ({})", o.location, o.value)?;
        }
        Ok(())
    }
}

/// A configuration set, merged and resolved: overlay files merged by RFC 7396,
/// `${VAR}` resolved from the environment, every value explained, secrets masked.
///
/// # Overlays
///
/// A configuration set (`configs:` in the manifest) lists files, base first. The
/// view is `json_patch::merge` of each file's value onto the previous result, in
/// order: a later file's key replaces an earlier one's, objects merge key by key, and
/// `null` removes a key (RFC 7396). [`ConfigView::explain`] answers, for a key, which
/// file and line set its value and which earlier files it overrode.
///
/// # Interpolation
///
/// After merging, `${VAR}` and `${VAR:-default}` in string values are replaced by
/// the environment variable (`:-` also applies when the variable is empty, as in
/// POSIX shells); `$${` writes a literal `${`. Only values are interpolated, never
/// keys, and only in the loaded view: the files are never written back expanded.
/// Interpolating after merging means a reference that a later overlay replaces is
/// never resolved, so a base file may name variables that only some deployments set.
/// A variable that is missing and has no default is an error naming the key and the
/// `file:line` of the value that holds it. The environment comes from an [`Env`]
/// given to the store ([`ProcessEnv`] by default), so tests inject a map instead of
/// changing the process environment.
///
/// # Secrets
///
/// A value whose schema says `"writeOnly": true` (JSON Schema's own annotation for a
/// value that is written but never shown back) or `"x-secret": true` is a secret.
/// The view holds its real value ([`ConfigView::value`], for the program that needs
/// it), but every report, [`Explanation`] and [`ConfigView::masked`] shows
/// [`MASK`] instead, and a schema violation's message that would quote a secret is
/// masked too. The schema is followed through `properties`, `additionalProperties`,
/// `items`, `prefixItems`, `allOf`/`anyOf`/`oneOf` and `$ref` (local `#/...` and
/// registered schemas); `patternProperties` is not followed, so mark such secrets on
/// a named property. A configuration without a schema has no secrets.
#[derive(Debug, Clone)]
pub struct ConfigView {
    name: String,
    layers: Vec<Layer>,
    value: Value,
    secrets: Vec<String>,
}

/// Turns a key into a JSON pointer: `/a/b` is taken as is, `a.b` becomes `/a/b`.
fn pointer_of(key: &str) -> String {
    if key.is_empty() || key.starts_with('/') {
        key.to_owned()
    } else {
        key.split('.').map(|s| format!("/{}", escape(s))).collect()
    }
}

/// Whether `pointer` is `secret` or lies under it.
fn under(pointer: &str, secret: &str) -> bool {
    pointer == secret
        || (pointer.starts_with(secret) && pointer.as_bytes().get(secret.len()) == Some(&b'/'))
}

impl ConfigView {
    /// Merges `layers`, finds the secrets from `schema`, and interpolates.
    pub(crate) fn build(
        name: &str,
        layers: Vec<Layer>,
        schema: Option<&str>,
        registry: &SchemaRegistry,
        env: &dyn Env,
    ) -> Result<ConfigView, Report> {
        let mut value = Value::Null;
        for layer in &layers {
            json_patch::merge(&mut value, layer.document.value());
        }
        let mut view = ConfigView {
            name: name.to_owned(),
            layers,
            value: Value::Null,
            secrets: Vec::new(),
        };
        if let Some(schema) = schema.and_then(|s| registry.schema(s)) {
            let mut secrets = Vec::new();
            find_secrets(
                registry,
                schema,
                schema,
                &value,
                String::new(),
                0,
                &mut secrets,
            );
            secrets.sort();
            secrets.dedup();
            view.secrets = secrets;
        }
        let mut problems = Vec::new();
        let mut pointer = String::new();
        interpolate_value(&mut value, &mut pointer, env, &mut |pointer, message| {
            let at = view.origin_location(pointer);
            problems.push(Problem::new(at, ProblemKind::Interpolation, message));
        });
        view.value = value;
        if let Some(schema) = schema {
            match registry.validate(schema, &view.value) {
                Ok(report) => {
                    for v in report.errors() {
                        let pointer = v.instance_location();
                        let message = if view.is_secret(pointer) {
                            format!("secret value ({MASK}) fails `{}`", v.keyword())
                        } else {
                            view.mask_text(v.message())
                        };
                        problems.push(Problem::new(
                            view.origin_location(pointer),
                            ProblemKind::Schema,
                            format!(
                                "configuration `{name}`: {message} (at {}; schema `{schema}`)",
                                if pointer.is_empty() {
                                    "the root"
                                } else {
                                    pointer
                                }
                            ),
                        ));
                    }
                }
                Err(e) => problems.push(Problem::new(
                    Location::file("ssot.yaml"),
                    ProblemKind::Schema,
                    e.to_string(),
                )),
            }
        }
        if problems.is_empty() {
            Ok(view)
        } else {
            Err(Report::new(problems))
        }
    }

    /// The configuration's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The merged, interpolated value, secrets included: for the program that uses
    /// the configuration. Show [`masked`](Self::masked) to people.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The value at `key` (`a.b` or a JSON pointer `/a/b`), secrets included.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.value.pointer(&pointer_of(key))
    }

    /// The value with every secret replaced by [`MASK`].
    #[must_use]
    pub fn masked(&self) -> Value {
        let mut v = self.value.clone();
        for s in &self.secrets {
            if let Some(slot) = v.pointer_mut(s) {
                *slot = Value::String(MASK.to_owned());
            }
        }
        v
    }

    /// The JSON pointers of the secret values.
    #[must_use]
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The files of the view, base first.
    pub fn files(&self) -> impl Iterator<Item = &str> + '_ {
        self.layers.iter().map(|l| l.document.path())
    }

    fn is_secret(&self, pointer: &str) -> bool {
        self.secrets.iter().any(|s| under(pointer, s))
    }

    /// Replaces the text of every secret string value in `text` with the mask.
    fn mask_text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            let mut values = vec![self.value.pointer(s)];
            values.extend(self.layers.iter().map(|l| l.document.value().pointer(s)));
            for v in values.into_iter().flatten() {
                let raw = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if !raw.is_empty() {
                    out = out.replace(&raw, MASK);
                }
            }
        }
        out
    }

    /// For each layer, in order, what it writes at `pointer`: `Some(Some(v))` a
    /// value, `Some(None)` a removal (`null`, or a non-object above the key), `None`
    /// nothing.
    fn writes(&self, pointer: &str) -> Vec<Option<Option<&Value>>> {
        let path: Vec<String> = segments(pointer).collect();
        self.layers
            .iter()
            .map(|layer| {
                let mut v = layer.document.value();
                for seg in &path {
                    match v {
                        Value::Object(o) => match o.get(seg) {
                            Some(next) => v = next,
                            None => return None,
                        },
                        // A non-object here replaces the whole parent: the key goes.
                        _ => return Some(None),
                    }
                }
                Some(if v.is_null() { None } else { Some(v) })
            })
            .collect()
    }

    /// The file and line of the value in effect at `pointer` (or of its nearest
    /// written ancestor).
    fn origin_location(&self, pointer: &str) -> Location {
        let mut p = pointer.to_owned();
        loop {
            if let Some(i) = self
                .writes(&p)
                .iter()
                .rposition(|w| matches!(w, Some(Some(_))))
            {
                let doc = &self.layers[i].document;
                let at = position::key_position(doc.syntax(), doc.text(), &p);
                return Location::at(doc.path(), at.map(|a| a.line), at.map(|a| a.column));
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => {
                    return Location::file(
                        self.layers
                            .last()
                            .map_or("ssot.yaml", |l| l.document.path()),
                    );
                }
            }
        }
    }

    /// Which file and line set `key` (`a.b` or `/a/b`), and which overlays it
    /// overrode. Secret values are masked.
    ///
    /// Cost: one walk of each file's value along the key, and one more read of the
    /// text of each file that writes it, to find the line.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] when the view has no such key (naming the file that
    /// removed it, if one did).
    pub fn explain(&self, key: &str) -> Result<Explanation, Error> {
        let pointer = pointer_of(key);
        let writes = self.writes(&pointer);
        let Some(value) = self.value.pointer(&pointer) else {
            let removed = writes
                .iter()
                .rposition(|w| matches!(w, Some(None)))
                .map(|i| format!("; {} removes it", self.layers[i].document.path()))
                .unwrap_or_default();
            return Err(Error::UnknownKey {
                config: self.name.clone(),
                key: key.to_owned(),
                removed,
            });
        };
        let secret = self.is_secret(&pointer);
        let show = |v: &Value| {
            if secret {
                Value::String(MASK.to_owned())
            } else {
                let mut v = v.clone();
                for s in &self.secrets {
                    if let Some(rest) = s.strip_prefix(&pointer)
                        && let Some(slot) = v.pointer_mut(rest)
                    {
                        *slot = Value::String(MASK.to_owned());
                    }
                }
                v
            }
        };
        let mut origins: Vec<Origin> = Vec::new();
        let mut last_removal = None;
        for (i, w) in writes.iter().enumerate() {
            match w {
                Some(Some(v)) => {
                    let doc = &self.layers[i].document;
                    let at = position::key_position(doc.syntax(), doc.text(), &pointer);
                    origins.push(Origin {
                        location: Location::at(
                            doc.path(),
                            at.map(|a| a.line),
                            at.map(|a| a.column),
                        ),
                        value: show(v),
                    });
                }
                Some(None) => last_removal = Some(origins.len()),
                None => {}
            }
        }
        // A removal drops what came before it: those values no longer reach the view.
        if let Some(n) = last_removal {
            origins.drain(..n);
        }
        let Some(set_by) = origins.pop() else {
            return Err(Error::UnknownKey {
                config: self.name.clone(),
                key: key.to_owned(),
                removed: String::new(),
            });
        };
        let value = show(value);
        Ok(Explanation {
            config: self.name.clone(),
            key: key.to_owned(),
            pointer,
            value,
            secret,
            set_by,
            overrode: origins,
        })
    }
}

/// Collects the instance pointers under `instance` that `schema` marks secret.
fn find_secrets(
    registry: &SchemaRegistry,
    root: &Value,
    schema: &Value,
    instance: &Value,
    pointer: String,
    depth: usize,
    out: &mut Vec<String>,
) {
    // `$ref` chains and nesting deeper than this are not followed (a loop guard).
    if depth > 64 {
        return;
    }
    let Value::Object(s) = schema else {
        return;
    };
    let flag = |k: &str| s.get(k).and_then(Value::as_bool) == Some(true);
    if flag("writeOnly") || flag("x-secret") {
        out.push(pointer);
        return;
    }
    let mut recurse = |sub: &Value, root: &Value, instance: &Value, pointer: String| {
        find_secrets(registry, root, sub, instance, pointer, depth + 1, out);
    };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        if let Some(local) = r.strip_prefix('#') {
            if let Some(target) = root.pointer(local) {
                recurse(target, root, instance, pointer.clone());
            }
        } else {
            let (name, fragment) = r.split_once('#').unwrap_or((r, ""));
            if let Some(other) = registry.schema(name) {
                let target = if fragment.is_empty() {
                    Some(other)
                } else {
                    other.pointer(fragment)
                };
                if let Some(target) = target {
                    recurse(target, other, instance, pointer.clone());
                }
            }
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = s.get(key) {
            for b in branches {
                recurse(b, root, instance, pointer.clone());
            }
        }
    }
    match instance {
        Value::Object(o) => {
            let props = s.get("properties").and_then(Value::as_object);
            for (k, v) in o {
                let child = format!("{pointer}/{}", escape(k));
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => recurse(sub, root, v, child),
                    None => {
                        if let Some(sub) = s.get("additionalProperties") {
                            recurse(sub, root, v, child);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            let prefix = s.get("prefixItems").and_then(Value::as_array);
            for (i, v) in items.iter().enumerate() {
                let child = format!("{pointer}/{i}");
                match prefix.and_then(|p| p.get(i)) {
                    Some(sub) => recurse(sub, root, v, child),
                    None => {
                        if let Some(sub) = s.get("items") {
                            recurse(sub, root, v, child);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Interpolates every string under `value`, reporting each failure with its pointer.
fn interpolate_value(
    value: &mut Value,
    pointer: &mut String,
    env: &dyn Env,
    report: &mut dyn FnMut(&str, String),
) {
    match value {
        Value::String(s) if s.contains('$') => match interpolate(s, env) {
            Ok(done) => *s = done,
            Err(message) => {
                let key = if pointer.is_empty() {
                    "/"
                } else {
                    pointer.as_str()
                };
                report(pointer, format!("key `{key}`: {message}"));
            }
        },
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                interpolate_value(v, pointer, env, report);
                pointer.truncate(len);
            }
        }
        Value::Object(o) => {
            let map: &mut Map<String, Value> = o;
            for (k, v) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape(k));
                interpolate_value(v, pointer, env, report);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// Resolves `${VAR}`, `${VAR:-default}` and `$${` in `text`.
pub(crate) fn interpolate(text: &str, env: &dyn Env) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err(format!(
                "unterminated `${{` in `{text}`; close it with `}}`, or write `$${{` for a literal `${{`"
            ));
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`${{{body}}}` is not a variable reference; write `${{NAME}}` or `${{NAME:-default}}` (NAME: letters, digits, `_`)"
            ));
        }
        match (
            env.var(name).filter(|v| default.is_none() || !v.is_empty()),
            default,
        ) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable `{name}` is not set; set it, or give a default: `${{{name}:-value}}`"
                ));
            }
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn interpolation_forms() {
        let e = env(&[("HOST", "db"), ("EMPTY", "")]);
        assert_eq!(interpolate("pg://${HOST}/x", &e).unwrap(), "pg://db/x");
        assert_eq!(interpolate("${PORT:-5432}", &e).unwrap(), "5432");
        assert_eq!(interpolate("${EMPTY:-d}", &e).unwrap(), "d");
        assert_eq!(interpolate("${EMPTY}", &e).unwrap(), "");
        assert_eq!(
            interpolate("$${HOST} costs $5", &e).unwrap(),
            "${HOST} costs $5"
        );
        assert!(
            interpolate("${NOPE}", &e)
                .unwrap_err()
                .contains("`NOPE` is not set")
        );
        assert!(
            interpolate("${HOST", &e)
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(
            interpolate("${a b}", &e)
                .unwrap_err()
                .contains("not a variable")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Text without `$` is never changed; a reference is replaced by exactly the
        /// variable's value, whatever it holds (no second round of expansion); `$${`
        /// always reads as a literal `${`.
        #[test]
        fn interpolation_replaces_exactly_the_references(
            before in "[^$]{0,12}",
            after in "[^$]{0,12}",
            value in ".{0,12}",
            name in "[A-Za-z_][A-Za-z0-9_]{0,8}",
        ) {
            let e = env(&[(name.as_str(), value.as_str())]);
            proptest::prop_assert_eq!(interpolate(&before, &e).unwrap(), before.clone());
            let text = format!("{before}${{{name}}}{after}");
            proptest::prop_assert_eq!(interpolate(&text, &e).unwrap(), format!("{before}{value}{after}"));
            let escaped = format!("{before}$${{{name}}}{after}");
            proptest::prop_assert_eq!(interpolate(&escaped, &e).unwrap(), format!("{before}${{{name}}}{after}"));
        }
    }

    #[test]
    fn keys_become_pointers() {
        assert_eq!(pointer_of("a.b"), "/a/b");
        assert_eq!(pointer_of("/a/b"), "/a/b");
        assert!(under("/db/password", "/db"));
        assert!(!under("/dbx", "/db"));
    }
}
