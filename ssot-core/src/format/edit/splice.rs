//! Edits of one mapping entry, as byte ranges to replace: the layer shared by the
//! task editors and [`ConfigDocument::merge_patch`](super::ConfigDocument::merge_patch).
//!
//! Each function looks at the text around the node it changes and copies its
//! conventions: the indentation of the neighbouring keys, the separator between
//! entries of a flow collection (`, ` or `,\n    `), the text between a key and its
//! value (`: ` or `:`), the quoting of the value replaced. Nothing is normalized.

use serde_json::Value;

use super::indent::{self, Indent, json_unit};
use super::render::{
    Quoting, json_inline, json_pretty, yaml_block, yaml_flow, yaml_key, yaml_literal, yaml_string,
    yaml_under,
};
use super::tree::{Kind, Node, Style};
use crate::format::Format;

/// Replace `start..end` with `text`.
#[derive(Debug, Clone)]
pub(crate) struct Splice {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) text: String,
}

impl Splice {
    /// Applies the splice to `text`, writing line breaks as `eol`; the number of bytes
    /// written.
    ///
    /// # Errors
    ///
    /// A range that is not on character boundaries of `text` (a span that does not
    /// fit the text: a bug, refused rather than turned into a panic).
    pub(crate) fn apply(self, text: &mut String, eol: &str) -> Result<usize, Refusal> {
        if text.get(self.start..self.end).is_none() {
            return Err(refuse(
                self.start.min(text.len()),
                "the edit's place does not fit the text (this is a bug; please report it)",
            ));
        }
        let new = if eol == "\n" {
            self.text
        } else {
            self.text.replace("\r\n", "\n").replace('\n', eol)
        };
        let len = new.len();
        text.replace_range(self.start..self.end, &new);
        Ok(len)
    }
}

/// Why an edit cannot be made in place, and at which byte.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) at: usize,
    pub(crate) reason: String,
}

fn refuse(at: usize, reason: impl Into<String>) -> Refusal {
    Refusal {
        at,
        reason: reason.into(),
    }
}

/// The text being edited, its format, and how to quote new strings.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'t> {
    pub(crate) text: &'t str,
    pub(crate) format: Format,
    pub(crate) quoting: Quoting,
}

/// The start of the line holding byte `pos`.
pub(crate) fn line_start(text: &str, pos: usize) -> usize {
    text.get(..pos)
        .and_then(|t| t.rfind(['\n', '\r']))
        .map_or(0, |i| i + 1)
}

/// Where the line holding byte `pos` ends, before its line break.
pub(crate) fn line_end(text: &str, pos: usize) -> usize {
    text.get(pos..)
        .and_then(|t| t.find(['\n', '\r']))
        .map_or(text.len(), |i| pos + i)
}

/// The start of the line after the one holding byte `pos` (the end of the text if
/// there is none).
pub(crate) fn next_line(text: &str, pos: usize) -> usize {
    let end = line_end(text, pos);
    match text.as_bytes().get(end) {
        Some(b'\r') if text.as_bytes().get(end + 1) == Some(&b'\n') => end + 2,
        Some(_) => end + 1,
        None => end,
    }
}

/// The text before `pos` on its line, when it is only blanks.
fn blank_prefix(text: &str, pos: usize) -> Option<&str> {
    let prefix = text.get(line_start(text, pos)..pos)?;
    prefix
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(prefix)
}

/// Blanks as wide as the text before `pos` on its line: the indentation of a key that
/// follows `- `.
pub(crate) fn pad(text: &str, pos: usize) -> String {
    match blank_prefix(text, pos) {
        Some(p) => p.to_owned(),
        None => " ".repeat(
            text.get(line_start(text, pos)..pos)
                .map_or(0, |p| p.chars().count()),
        ),
    }
}

/// The line ending a text uses: that of its first line (`\n` when it has none).
pub(crate) fn eol_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes().get(i - 1) == Some(&b'\r') => "\r\n",
        _ => "\n",
    }
}

/// Where the `:` after a key is.
fn colon_after(text: &str, key: &Node) -> Result<usize, Refusal> {
    let rest = text.get(key.end..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest.get(skipped..).is_some_and(|r| r.starts_with(':')) {
        Ok(key.end + skipped)
    } else {
        Err(refuse(key.start, "no `:` follows this key on its line"))
    }
}

/// Whether a flow collection spreads over several lines.
fn multiline(text: &str, node: &Node) -> bool {
    text.get(node.start..node.end)
        .is_some_and(|t| t.contains('\n'))
}

fn scalar_style(node: &Node) -> Style {
    match node.kind {
        Kind::Scalar(s) => s,
        _ => Style::Plain,
    }
}

/// Replaces the value of entry `index` of `map` with `value`.
pub(crate) fn set_value(
    cx: Cx<'_>,
    map: &Node,
    index: usize,
    value: &Value,
) -> Result<Splice, Refusal> {
    let text = cx.text;
    let entry = map
        .entries()
        .and_then(|e| e.get(index))
        .ok_or_else(|| refuse(map.start, "no such entry"))?;
    let old = &entry.value;
    if old.anchored {
        return Err(refuse(
            old.start,
            "the value carries an anchor (`&name`) whose aliases would change with it; edit it by hand",
        ));
    }
    if cx.format == Format::Json {
        let spaced = text
            .get(entry.key.end..old.start)
            .is_some_and(|gap| gap.contains(' '));
        let new = match value {
            Value::Array(a) if !a.is_empty() && multiline(text, old) => {
                json_pretty(value, &pad(text, entry.key.start), &json_unit(text, map))
            }
            Value::Object(o) if !o.is_empty() && (multiline(text, old) || multiline(text, map)) => {
                json_pretty(value, &pad(text, entry.key.start), &json_unit(text, map))
            }
            _ => json_inline(value, spaced),
        };
        return Ok(Splice {
            start: old.start,
            end: old.end,
            text: new,
        });
    }
    if map.is_flow() {
        let (start, lead) = if old.start == old.end {
            (colon_after(text, &entry.key)? + 1, " ")
        } else {
            (old.start, "")
        };
        return Ok(Splice {
            start,
            end: old.end.max(start),
            text: format!("{lead}{}", yaml_flow(value, scalar_style(old), cx.quoting)),
        });
    }
    // A block mapping.
    let key_pad = pad(text, entry.key.start);
    // Only a value written over several lines needs the file's indentation, which
    // may cost a read of the whole document: found when needed.
    let ind = || indent::yaml(text, map, entry.key.start);
    let after_colon = colon_after(text, &entry.key)? + 1;
    let inline = |v: &str| {
        if old.start == old.end {
            Splice {
                start: after_colon,
                end: after_colon,
                text: format!(" {v}"),
            }
        } else {
            Splice {
                start: old.start,
                end: old.end,
                text: v.to_owned(),
            }
        }
    };
    match value {
        Value::String(s) => {
            let style = scalar_style(old);
            if matches!(style, Style::Literal | Style::Folded)
                && s.contains('\n')
                && cx.quoting == Quoting::AsBefore
            {
                let content_pad = text
                    .get(next_line(text, old.start)..)
                    .map(|rest| {
                        let n = rest.len() - rest.trim_start_matches(' ').len();
                        " ".repeat(n)
                    })
                    .filter(|p| p.len() > key_pad.len())
                    .unwrap_or_else(|| ind().under(&key_pad, false));
                if let Some(lit) = yaml_literal(s, &content_pad) {
                    return Ok(inline(&lit));
                }
            }
            Ok(inline(&yaml_string(s, style, false, cx.quoting)))
        }
        Value::Array(items) if !items.is_empty() => match &old.kind {
            Kind::Seq {
                flow: false,
                items: old_items,
            } => {
                let ind = ind();
                let item_pad = old_items
                    .first()
                    .and_then(|i| {
                        let dash = text.get(..i.start)?.trim_end_matches([' ', '\t']);
                        dash.strip_suffix('-').map(|d| pad(text, d.len()))
                    })
                    .unwrap_or_else(|| ind.under(&key_pad, true));
                Ok(Splice {
                    start: after_colon,
                    end: old.end,
                    text: yaml_block(value, &item_pad, &ind, cx.quoting),
                })
            }
            _ if items.iter().any(|i| i.is_object() || i.is_array()) && !old.is_flow() => {
                Ok(Splice {
                    start: after_colon,
                    end: old.end.max(after_colon),
                    text: yaml_under(value, &key_pad, &ind(), cx.quoting),
                })
            }
            _ => Ok(inline(&yaml_flow(value, Style::Plain, cx.quoting))),
        },
        Value::Object(o) if !o.is_empty() && !old.is_flow() => {
            let ind = ind();
            let inner = match &old.kind {
                Kind::Map {
                    flow: false,
                    entries,
                } => entries
                    .first()
                    .map_or_else(|| ind.under(&key_pad, false), |e| pad(text, e.key.start)),
                _ => ind.under(&key_pad, false),
            };
            Ok(Splice {
                start: after_colon,
                end: old.end.max(after_colon),
                text: yaml_block(value, &inner, &ind, cx.quoting),
            })
        }
        other => Ok(inline(&yaml_flow(other, scalar_style(old), cx.quoting))),
    }
}

/// Adds `name: value` as the last entry of `map`.
pub(crate) fn add_entry(
    cx: Cx<'_>,
    map: &Node,
    name: &str,
    value: &Value,
) -> Result<Splice, Refusal> {
    let text = cx.text;
    let entries = map
        .entries()
        .ok_or_else(|| refuse(map.start, "not a mapping"))?;
    let json = cx.format == Format::Json;
    if !map.is_flow() {
        let Some(last) = entries.last() else {
            return Err(refuse(map.start, "an empty block mapping"));
        };
        let key_pad = pad(
            text,
            entries.first().map_or(last.key.start, |e| e.key.start),
        );
        let at = line_end(text, map.end);
        let rendered = match value {
            Value::Array(items) if !items.iter().any(|i| i.is_object() || i.is_array()) => {
                format!(" {}", yaml_flow(value, Style::Plain, cx.quoting))
            }
            Value::String(s) => {
                let style = entries
                    .iter()
                    .find(|e| {
                        matches!(e.value.kind, Kind::Scalar(_)) && e.value.start < e.value.end
                    })
                    .map_or(Style::Plain, |e| scalar_style(&e.value));
                let style = if matches!(style, Style::Literal | Style::Folded) {
                    Style::Plain
                } else {
                    style
                };
                format!(" {}", yaml_string(s, style, false, cx.quoting))
            }
            // Block lines: indented as the file indents.
            Value::Array(a) if !a.is_empty() => yaml_under(
                value,
                &key_pad,
                &indent::yaml(text, map, map.end),
                cx.quoting,
            ),
            Value::Object(o) if !o.is_empty() => yaml_under(
                value,
                &key_pad,
                &indent::yaml(text, map, map.end),
                cx.quoting,
            ),
            // One line: no indentation to find (which may cost a parse).
            _ => yaml_under(value, &key_pad, &Indent::default(), cx.quoting),
        };
        return Ok(Splice {
            start: at,
            end: at,
            text: format!("\n{key_pad}{}:{rendered}", yaml_key(name, false)),
        });
    }
    let key = if json {
        Value::from(name).to_string()
    } else {
        yaml_key(name, true)
    };
    let Some(last) = entries.last() else {
        let value = if json {
            json_inline(value, true)
        } else {
            yaml_flow(value, Style::Plain, cx.quoting)
        };
        return Ok(Splice {
            start: map.start + 1,
            end: map.start + 1,
            text: format!("{key}: {value}"),
        });
    };
    let kv = text
        .get(last.key.end..last.value.start)
        .filter(|g| !g.contains(['\n', '\r', '#']) && g.contains(':'))
        .unwrap_or(": ");
    let sep = match entries.len() {
        n if n >= 2 => entries
            .get(n - 2)
            .and_then(|prev| text.get(prev.value.end..last.key.start))
            .filter(|g| !g.contains('#'))
            .unwrap_or(", ")
            .to_owned(),
        _ => match text.get(map.start + 1..last.key.start) {
            Some(gap) if gap.contains('\n') => format!(",{gap}"),
            _ => ", ".to_owned(),
        },
    };
    let rendered = if json {
        match value {
            Value::Array(_) | Value::Object(_) if multiline(text, map) => {
                json_pretty(value, &pad(text, last.key.start), &json_unit(text, map))
            }
            _ => json_inline(value, kv.contains(' ')),
        }
    } else {
        let style = match last.value.kind {
            Kind::Scalar(s) if last.value.start < last.value.end => s,
            _ => Style::Plain,
        };
        let style = if matches!(style, Style::Literal | Style::Folded) {
            Style::Plain
        } else {
            style
        };
        yaml_flow(value, style, cx.quoting)
    };
    Ok(Splice {
        start: last.value.end.max(last.key.end),
        end: last.value.end.max(last.key.end),
        text: format!("{sep}{key}{kv}{rendered}"),
    })
}

/// Removes entry `index` of `map`, with its line when it has one of its own.
pub(crate) fn remove_entry(cx: Cx<'_>, map: &Node, index: usize) -> Result<Splice, Refusal> {
    let text = cx.text;
    let entries = map
        .entries()
        .ok_or_else(|| refuse(map.start, "not a mapping"))?;
    let entry = entries
        .get(index)
        .ok_or_else(|| refuse(map.start, "no such entry"))?;
    let value_end = entry.value.end.max(entry.key.end);
    if map.is_flow() {
        let (start, end) = if entries.len() == 1 {
            (map.start + 1, map.end.saturating_sub(1))
        } else if let Some(next) = entries.get(index + 1) {
            (entry.key.start, next.key.start)
        } else {
            let prev = entries
                .get(index.wrapping_sub(1))
                .ok_or_else(|| refuse(entry.key.start, "no such entry"))?;
            (prev.value.end.max(prev.key.end), value_end)
        };
        return Ok(Splice {
            start,
            end: end.max(start),
            text: String::new(),
        });
    }
    if entries.len() == 1 {
        return Ok(Splice {
            start: entry.key.start,
            end: value_end,
            text: "{}".to_owned(),
        });
    }
    if blank_prefix(text, entry.key.start).is_some() {
        return Ok(Splice {
            start: line_start(text, entry.key.start),
            end: next_line(text, value_end),
            text: String::new(),
        });
    }
    match entries.get(index + 1) {
        Some(next) => Ok(Splice {
            start: entry.key.start,
            end: next.key.start,
            text: String::new(),
        }),
        None => Err(refuse(
            entry.key.start,
            "the last key shares its line with other text; move it to a line of its own",
        )),
    }
}

/// The text of a new flow mapping with these entries, in the spacing of `template`
/// (a flow mapping of the same file), or `{k: v, ...}` without one.
pub(crate) fn flow_map(cx: Cx<'_>, template: Option<&Node>, entries: &[(String, Value)]) -> String {
    let text = cx.text;
    let json = cx.format == Format::Json;
    let t_entries = template.and_then(Node::entries).unwrap_or(&[]);
    let (open, sep, kv, close) = match (t_entries.first(), t_entries.last(), template) {
        (Some(first), Some(last), Some(t)) => {
            let open = text.get(t.start + 1..first.key.start).unwrap_or("");
            let close = text
                .get(last.value.end.max(last.key.end)..t.end.saturating_sub(1))
                .unwrap_or("");
            let sep = t_entries
                .get(1)
                .and_then(|second| text.get(first.value.end.max(first.key.end)..second.key.start))
                .unwrap_or(", ");
            let kv = text
                .get(first.key.end..first.value.start)
                .filter(|g| g.contains(':') && !g.contains('\n'))
                .unwrap_or(": ");
            (open, sep, kv, close)
        }
        _ => ("", ", ", ": ", ""),
    };
    let (open, sep, close) = if [open, sep, close].iter().any(|g| g.contains('#')) {
        ("", ", ", "")
    } else {
        (open, sep, close)
    };
    let style_of = |name: &str| {
        template
            .and_then(|t| t.entry(name))
            .map_or(Style::Plain, |e| match e.value.kind {
                Kind::Scalar(s @ (Style::Plain | Style::Single | Style::Double)) => s,
                _ => Style::Plain,
            })
    };
    let value_pad = t_entries.first().map(|f| pad(text, f.key.start));
    let mut out = String::from("{");
    out.push_str(open);
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        if json {
            out.push_str(&Value::from(k.as_str()).to_string());
            out.push_str(kv);
            match (v, &value_pad) {
                (Value::Object(o), Some(p)) if !o.is_empty() && open.contains('\n') => {
                    let unit = template.map_or_else(|| "  ".to_owned(), |t| json_unit(text, t));
                    out.push_str(&json_pretty(v, p, &unit));
                }
                _ => out.push_str(&json_inline(v, kv.contains(' '))),
            }
        } else {
            out.push_str(&yaml_key(k, true));
            out.push_str(kv);
            out.push_str(&yaml_flow(v, style_of(k), cx.quoting));
        }
    }
    out.push_str(close);
    out.push('}');
    out
}

/// The lines of a new block mapping that is a sequence item: `first` before the first
/// key (`  - `), `key_pad` before the others, each value in the style the template's
/// value for the same key has.
pub(crate) fn block_item(
    cx: Cx<'_>,
    template: Option<&Node>,
    first: &str,
    key_pad: &str,
    entries: &[(String, Value)],
) -> String {
    let text = cx.text;
    // Found when a value needs it: without a template it reads the whole document.
    let ind = std::cell::OnceCell::new();
    let ind = || {
        ind.get_or_init(|| match template {
            Some(t) => indent::yaml(text, t, t.end),
            None => indent::yaml_document(text),
        })
    };
    let kv = template
        .and_then(Node::entries)
        .and_then(|e| e.first())
        .and_then(|e| text.get(e.key.end..e.value.start))
        .filter(|g| g.starts_with(':') && g.trim() == ":" && !g.contains(['\n', '\r']))
        .unwrap_or(": ");
    let mut out = String::new();
    for (i, (k, v)) in entries.iter().enumerate() {
        out.push_str(if i == 0 { first } else { key_pad });
        out.push_str(&yaml_key(k, false));
        let old = template.and_then(|t| t.entry(k)).map(|e| &e.value);
        let rendered = match (v, old.map(|o| &o.kind)) {
            (Value::String(s), Some(Kind::Scalar(style))) => {
                let style = match style {
                    Style::Literal | Style::Folded => Style::Plain,
                    s => *s,
                };
                format!("{kv}{}", yaml_string(s, style, false, cx.quoting))
            }
            (Value::Array(_), Some(Kind::Seq { flow: false, .. })) => {
                format!(":{}", yaml_under(v, key_pad, ind(), cx.quoting))
            }
            (Value::Object(o), _) if !o.is_empty() => {
                format!(":{}", yaml_under(v, key_pad, ind(), cx.quoting))
            }
            (Value::String(s), _) => {
                format!("{kv}{}", yaml_string(s, Style::Plain, false, cx.quoting))
            }
            (other, _) => format!("{kv}{}", yaml_flow(other, Style::Plain, cx.quoting)),
        };
        out.push_str(&rendered);
        out.push('\n');
    }
    out
}
