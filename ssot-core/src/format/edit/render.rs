//! The text of one new value, in the style of the place it goes.
//!
//! Everything here writes `\n`; the caller turns it into the file's line ending.
//! Scalars are written plain only when that cannot be read as anything but the same
//! string (conservatively: what looks like a number, a boolean, a null or YAML syntax
//! is quoted); a caller that verifies the result and finds it wrong retries with
//! [`Quoting::Always`].

use serde::Serialize;
use serde_json::Value;

use super::indent::Indent;
use super::tree::Style;

/// Whether new strings may be written plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// In the style of the value replaced (plain where safe).
    AsBefore,
    /// Always double-quoted: the fallback when the first attempt did not verify.
    Always,
}

/// Whether `s` can be written as a YAML plain scalar and read back as the same string.
pub(crate) fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control() || c == '\u{feff}')
        || (flow && s.contains([',', '[', ']', '{', '}']))
    {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "<<"
    ) || lower.starts_with(".inf")
        || lower.starts_with(".nan")
    {
        return false;
    }
    // Numbers in any base or notation YAML 1.1 or 1.2 knows, and anything close.
    let numeric = s.parse::<f64>().is_ok()
        || (first.is_ascii_digit() || first == '+' || first == '.')
            && s.chars()
                .all(|c| c.is_ascii_hexdigit() || "_:.+-xXoObB".contains(c));
    !numeric
}

/// A YAML double-quoted scalar: escapes everything YAML could read otherwise.
pub(crate) fn yaml_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML scalar for `s`, in style `prefer` where `s` allows it.
pub(crate) fn yaml_string(s: &str, prefer: Style, flow: bool, quoting: Quoting) -> String {
    if quoting == Quoting::Always {
        return yaml_double(s);
    }
    let printable = !s.chars().any(|c| c.is_control() || c == '\u{feff}');
    match prefer {
        Style::Plain if plain_ok(s, flow) => s.to_owned(),
        Style::Single | Style::Plain if printable => format!("'{}'", s.replace('\'', "''")),
        _ => yaml_double(s),
    }
}

/// A YAML literal block scalar (`|`, `|-`) whose content lines are indented by
/// `indent`, when `s` can be one.
pub(crate) fn yaml_literal(s: &str, indent: &str) -> Option<String> {
    let body = s.strip_suffix('\n');
    let (chomp, body) = match body {
        Some(b) => ("", b),
        None => ("-", s),
    };
    let fits = !body.is_empty()
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\t', '\n'])
        && !body
            .chars()
            .any(|c| c == '\r' || (c.is_control() && c != '\n' && c != '\t'))
        && !body.split('\n').any(|l| l.ends_with([' ', '\t']));
    if !fits {
        return None;
    }
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
    }
    Some(out)
}

/// A mapping key.
pub(crate) fn yaml_key(s: &str, flow: bool) -> String {
    if plain_ok(s, flow) {
        s.to_owned()
    } else {
        yaml_double(s)
    }
}

/// A value on one line, in flow style.
pub(crate) fn yaml_flow(v: &Value, prefer: Style, quoting: Quoting) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s, prefer, true, quoting),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| yaml_flow(i, prefer, quoting))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", yaml_key(k, true), yaml_flow(v, prefer, quoting)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// The text after `key:` for `v`, the key at `key_pad`: ` value` for a scalar or an
/// empty collection, and nested block lines for the rest, indented as `ind` says
/// (a sequence at the key's column when the file writes them indentless).
pub(crate) fn yaml_under(v: &Value, key_pad: &str, ind: &Indent, quoting: Quoting) -> String {
    yaml_block(v, &ind.under(key_pad, v.is_array()), ind, quoting)
}

/// The text after `key:` for `v` whose nested lines are indented by `indent`:
/// ` value` for a scalar or an empty collection, and nested block lines for the
/// rest; deeper levels are indented as `ind` says.
pub(crate) fn yaml_block(v: &Value, indent: &str, ind: &Indent, quoting: Quoting) -> String {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::new();
            for (k, v) in map {
                out.push('\n');
                out.push_str(indent);
                out.push_str(&yaml_key(k, false));
                out.push(':');
                out.push_str(&yaml_under(v, indent, ind, quoting));
            }
            out
        }
        Value::Array(items) if !items.is_empty() => {
            let mut out = String::new();
            for item in items {
                out.push('\n');
                out.push_str(indent);
                out.push_str("- ");
                out.push_str(&yaml_item(item, &format!("{indent}  "), ind, quoting));
            }
            out
        }
        Value::String(s) => format!(" {}", yaml_string(s, Style::Plain, false, quoting)),
        other => format!(" {}", yaml_flow(other, Style::Plain, quoting)),
    }
}

/// The text after `- ` for a sequence item whose own keys are indented by `indent`.
fn yaml_item(v: &Value, indent: &str, ind: &Indent, quoting: Quoting) -> String {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::new();
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    out.push_str(indent);
                }
                out.push_str(&yaml_key(k, false));
                out.push(':');
                out.push_str(&yaml_under(v, indent, ind, quoting));
            }
            out
        }
        Value::String(s) => yaml_string(s, Style::Plain, false, quoting),
        other => yaml_flow(other, Style::Plain, quoting),
    }
}

/// A JSON value on one line; `spaced` puts a space after `,` and `:`.
pub(crate) fn json_inline(v: &Value, spaced: bool) -> String {
    if !spaced {
        return v.to_string();
    }
    match v {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| json_inline(i, true)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), json_inline(v, true)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

/// A JSON value pretty-printed with `unit` per level, its later lines indented by
/// `base` (the indentation of the line it starts on).
pub(crate) fn json_pretty(v: &Value, base: &str, unit: &str) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    // Serializing a `Value` into memory cannot fail; the compact form is the fallback.
    if v.serialize(&mut ser).is_err() {
        return v.to_string();
    }
    let text = String::from_utf8(buf).unwrap_or_else(|_| v.to_string());
    text.replace('\n', &format!("\n{base}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_when_it_reads_back_as_the_string() {
        for ok in [
            "Ship it",
            "a-b",
            "1h30m",
            "v1.2",
            "2026-11-23T09:30:00Z",
            "é",
        ] {
            assert!(plain_ok(ok, false), "{ok}");
        }
        for no in [
            "", " a", "yes", "Null", "12", "1e3", "0x1F", "- a", "a: b", "a #b", "x:", "[a", "*a",
            "a\nb", ".5", "+1",
        ] {
            assert!(!plain_ok(no, false), "{no}");
        }
        assert!(!plain_ok("a, b", true));
        assert_eq!(
            yaml_string("it's", Style::Plain, false, Quoting::AsBefore),
            "it's"
        );
        assert_eq!(
            yaml_string("'q", Style::Plain, false, Quoting::AsBefore),
            "'''q'"
        );
        assert_eq!(yaml_double("a\"\u{1}"), "\"a\\\"\\u0001\"");
    }

    #[test]
    fn literal_blocks_keep_chomping() {
        assert_eq!(yaml_literal("a\nb\n", "  ").unwrap(), "|\n  a\n  b");
        assert_eq!(yaml_literal("a\n\nb", "  ").unwrap(), "|-\n  a\n\n  b");
        assert!(yaml_literal(" lead", "  ").is_none());
        assert!(yaml_literal("a\n\n", "  ").is_none());
    }
}
