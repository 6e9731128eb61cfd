//! [`ConfigDocument`]: any YAML or JSON document, changed by JSON Merge Patch in place.

use serde_json::Value;

use super::not_in_place;
use super::render::{Quoting, json_inline, yaml_flow};
use super::splice::{self, Cx, Refusal, Splice, eol_of};
use super::tree::{self, Kind, Node, Style};
use crate::error::{Error, ParseError};
use crate::format::Format;
use ssot_schema::lines::line_column;

/// A YAML or JSON document of any shape (a CI workflow, a compose file, a Kubernetes
/// manifest, a `package.json`), kept as text and changed in place by
/// [JSON Merge Patch](https://www.rfc-editor.org/rfc/rfc7396) (RFC 7396).
///
/// ```
/// use ssot_core::format::edit::ConfigDocument;
/// use ssot_core::Format;
/// use serde_json::json;
///
/// let text = concat!(
///     "# deploy settings\n",
///     "services:\n",
///     "  web:\n",
///     "    image: 'nginx:1.25'   # pinned\n",
///     "    ports: [\"80:80\"]\n",
///     "    debug: true\n",
/// );
/// let mut doc = ConfigDocument::parse(Format::Yaml, text)?;
/// let patch = json!({"services": {"web": {"image": "nginx:1.27", "debug": null, "replicas": 2}}});
/// doc.merge_patch(&patch)?;
/// assert_eq!(doc.as_str(), concat!(
///     "# deploy settings\n",
///     "services:\n",
///     "  web:\n",
///     "    image: 'nginx:1.27'   # pinned\n",
///     "    ports: [\"80:80\"]\n",
///     "    replicas: 2\n",
/// ));
/// # Ok::<(), ssot_core::Error>(())
/// ```
///
/// # Costs
///
/// [`parse`](ConfigDocument::parse) reads the document once into a
/// [`serde_json::Value`] and once for spans, O(N). [`merge_patch`](ConfigDocument::merge_patch)
/// finds each key the patch names in a fresh span tree (O(N) per key named, which
/// keeps the code simple; patches are small) and checks the result by reading the
/// whole document again, O(N).
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    format: Format,
    text: String,
    value: Value,
    eol: &'static str,
}

impl ConfigDocument {
    /// Parses `text` as YAML or JSON ([`Format::Yaml`], [`Format::Json`]).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] when the text does not read as a value JSON can hold (YAML with
    /// non-string keys, custom tags or several documents included);
    /// [`Error::NotInPlace`] for another format.
    pub fn parse(format: Format, text: impl Into<String>) -> Result<ConfigDocument, Error> {
        let text = text.into();
        if !matches!(format, Format::Yaml | Format::Json) {
            return Err(not_in_place(
                format,
                &text,
                0,
                "ConfigDocument edits YAML and JSON documents",
            ));
        }
        let value = read_value(format, &text)?;
        tree_of(format, &text)?;
        let eol = eol_of(&text);
        Ok(ConfigDocument {
            format,
            text,
            value,
            eol,
        })
    }

    /// The document's value, with every patch so far applied.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The document's text, with every patch so far applied.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The document's text, with every patch so far applied.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }

    /// Applies `patch` as RFC 7396 does, in place: a `null` removes the key it names
    /// (with its line, when it has one of its own), an object is merged key by key
    /// into a mapping, anything else replaces the value it names, written in the
    /// style of the value it replaces. Keys the patch does not name keep their bytes,
    /// comments included. New keys go after the last key of their mapping, at its
    /// indentation; what they hold over several lines is indented as the file
    /// indents (its step, its style of lists under a key, its JSON unit: see the
    /// [module documentation](super#indentation-of-new-content)); in JSON the key before a new last key gains its comma, the one
    /// byte outside the patched keys that changes. A patch that changes nothing leaves
    /// the text as it is.
    ///
    /// The result is read back and must equal [`json_patch::merge`] applied to
    /// [`value`](Self::value); if it does not, strings are requoted (double quotes)
    /// and it is tried once more.
    ///
    /// # Errors
    ///
    /// [`Error::NotInPlace`] naming the line and column of the node that cannot be
    /// changed in place (an anchored value with aliases elsewhere, a key that shares
    /// its line with other text, an empty document); nothing changes.
    pub fn merge_patch(&mut self, patch: &Value) -> Result<(), Error> {
        let mut expected = self.value.clone();
        json_patch::merge(&mut expected, patch);
        if expected == self.value {
            return Ok(());
        }
        let mut first_error = None;
        for quoting in [Quoting::AsBefore, Quoting::Always] {
            let mut work = self.text.clone();
            match self.apply(&mut work, &mut Vec::new(), patch, quoting) {
                Ok(()) => {}
                Err(r) => {
                    first_error.get_or_insert(not_in_place(self.format, &work, r.at, &r.reason));
                    continue;
                }
            }
            if read_value(self.format, &work).ok().as_ref() == Some(&expected) {
                self.text = work;
                self.value = expected;
                return Ok(());
            }
        }
        Err(first_error.unwrap_or_else(|| {
            not_in_place(
                self.format,
                &self.text,
                0,
                "the patched text would not read back as the patched value",
            )
        }))
    }

    /// Applies `patch` at `path` (keys from the root) to `work`.
    fn apply(
        &self,
        work: &mut String,
        path: &mut Vec<String>,
        patch: &Value,
        quoting: Quoting,
    ) -> Result<(), Refusal> {
        let Value::Object(members) = patch else {
            return self.replace_at(work, path, patch, quoting);
        };
        let target = self.find(work, path)?;
        if target.entries().is_none() {
            return self.replace_at(work, path, &stripped(patch), quoting);
        }
        for (key, value) in members {
            let map = self.find(work, path)?;
            let cx = Cx {
                text: work,
                format: self.format,
                quoting,
            };
            let index = map
                .entries()
                .and_then(|e| e.iter().position(|e| &e.name == key));
            let splice: Option<Splice> = match (index, value) {
                (None, Value::Null) => None,
                (Some(ix), Value::Null) => Some(splice::remove_entry(cx, &map, ix)?),
                (Some(ix), Value::Object(_))
                    if map
                        .entries()
                        .and_then(|e| e.get(ix))
                        .is_some_and(|e| e.value.entries().is_some()) =>
                {
                    path.push(key.clone());
                    self.apply(work, path, value, quoting)?;
                    path.pop();
                    None
                }
                (Some(ix), v) => Some(splice::set_value(cx, &map, ix, &stripped(v))?),
                (None, v) => Some(splice::add_entry(cx, &map, key, &stripped(v))?),
            };
            if let Some(s) = splice {
                s.apply(work, self.eol)?;
            }
        }
        Ok(())
    }

    /// Replaces the node at `path` with `value`.
    fn replace_at(
        &self,
        work: &mut String,
        path: &[String],
        value: &Value,
        quoting: Quoting,
    ) -> Result<(), Refusal> {
        let Some((last, parent)) = path.split_last() else {
            // The whole document.
            let root = tree_at(self.format, work)?.ok_or_else(|| Refusal {
                at: 0,
                reason: "the document is empty; there is no value to patch".to_owned(),
            })?;
            let text = match self.format {
                Format::Json => json_inline(value, true),
                _ => yaml_flow(value, Style::Plain, quoting),
            };
            Splice {
                start: root.start,
                end: root.end,
                text,
            }
            .apply(work, self.eol)?;
            return Ok(());
        };
        let map = self.find(work, parent)?;
        let index = map
            .entries()
            .and_then(|e| e.iter().position(|e| &e.name == last))
            .ok_or_else(|| Refusal {
                at: map.start,
                reason: format!("no key `{last}`"),
            })?;
        let cx = Cx {
            text: work,
            format: self.format,
            quoting,
        };
        let s = splice::set_value(cx, &map, index, value)?;
        s.apply(work, self.eol)?;
        Ok(())
    }

    /// The node at `path` in a fresh span tree of `work`.
    fn find(&self, work: &str, path: &[String]) -> Result<Node, Refusal> {
        let mut node = tree_at(self.format, work)?.ok_or_else(|| Refusal {
            at: 0,
            reason: "the document is empty; there is no mapping to patch".to_owned(),
        })?;
        for key in path {
            let next = node
                .entry(key)
                .map(|e| e.value.clone())
                .ok_or_else(|| Refusal {
                    at: node.start,
                    reason: format!("no key `{key}`"),
                })?;
            node = next;
        }
        if matches!(node.kind, Kind::Alias) {
            return Err(Refusal {
                at: node.start,
                reason: "this value is an alias (`*name`); patch the anchored value".to_owned(),
            });
        }
        Ok(node)
    }
}

/// `v` without the `null` members a merge patch would drop (RFC 7396 applied to
/// nothing).
fn stripped(v: &Value) -> Value {
    let mut out = Value::Null;
    json_patch::merge(&mut out, v);
    out
}

/// The value a YAML or JSON text denotes.
fn read_value(format: Format, text: &str) -> Result<Value, Error> {
    let result = match format {
        Format::Json => {
            serde_json::from_str::<Value>(text.strip_prefix('\u{feff}').unwrap_or(text))
                .map_err(|e| (e.line(), e.to_string()))
        }
        _ => serde_yaml::from_str::<Value>(text).map_err(|e| {
            let line = e.location().map_or(1, |l| l.line());
            (line, e.to_string())
        }),
    };
    result.map_err(|(line, message)| ParseError::new(format, line.max(1), message).into())
}

fn tree_at(format: Format, text: &str) -> Result<Option<Node>, Refusal> {
    match format {
        Format::Json => tree::json(text),
        _ => tree::yaml(text),
    }
    .map_err(|e| Refusal {
        at: e.at,
        reason: e.message,
    })
}

fn tree_of(format: Format, text: &str) -> Result<Option<Node>, Error> {
    tree_at(format, text).map_err(|r| {
        let (line, column) = line_column(text, r.at);
        ParseError::new(format, line, r.reason)
            .with_column(column)
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scalar_document_with_a_comment_is_replaced_by_a_patch() {
        let mut doc = ConfigDocument::parse(Format::Yaml, "0 #🌀").unwrap();
        doc.merge_patch(&serde_json::json!({"a": {"x": null, "w": [1]}}))
            .unwrap();
        assert_eq!(doc.as_str(), "{a: {w: [1]}} #🌀");
        doc.merge_patch(&serde_json::json!({"a": null})).unwrap();
        assert_eq!(doc.as_str(), "{} #🌀");
    }
}
