//! Parsing and writing the values of task fields, shared by every format: durations,
//! timestamps (see [`format`](crate::format#durations-and-timestamps)), ids, tags,
//! priority and status names. Each parser returns the message of a
//! [`ParseError`](crate::ParseError), which the format completes with its position.

use std::time::Duration;

use jiff::Timestamp;
use jiff::fmt::friendly::{Spacing, SpanParser, SpanPrinter};

use crate::task::{Priority, Status, Tag, TaskId};

static DURATION_PRINTER: SpanPrinter = SpanPrinter::new().spacing(Spacing::None);
static DURATION_PARSER: SpanParser = SpanParser::new();

/// Writes `d` as a compact human duration (`1h30m`, `0s`).
pub(crate) fn format_duration(d: &Duration, out: &mut String) {
    // Writing to a `String` cannot fail; jiff's printer reports only writer errors.
    let _ = DURATION_PRINTER.print_unsigned_duration(d, &mut *out);
}

/// Parses a human duration; the error message names the accepted forms.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    DURATION_PARSER
        .parse_unsigned_duration(s.trim())
        .map_err(|e| format!("invalid duration `{s}` ({e}); write it like `90m`, `1h30m` or `2h`"))
}

/// Parses an RFC 3339 timestamp; the error message shows the expected form.
pub(crate) fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    s.trim().parse::<Timestamp>().map_err(|e| {
        format!("invalid timestamp `{s}` ({e}); write it as RFC 3339, like `2026-11-23T09:30:00Z`")
    })
}

/// Parses a task id.
pub(crate) fn parse_id(s: &str) -> Result<TaskId, String> {
    TaskId::new(s).map_err(|e| e.to_string())
}

/// Parses a tag (without `#`).
pub(crate) fn parse_tag(s: &str) -> Result<Tag, String> {
    Tag::new(s).map_err(|e| e.to_string())
}

/// Parses a priority name.
pub(crate) fn parse_priority(s: &str) -> Result<Priority, String> {
    Priority::from_name(s).ok_or_else(|| Priority::unknown(s))
}

/// Parses a status name.
pub(crate) fn parse_status(s: &str) -> Result<Status, String> {
    Status::from_name(s).ok_or_else(|| Status::unknown(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration_to_string(d: &Duration) -> String {
        let mut s = String::new();
        format_duration(d, &mut s);
        s
    }

    #[test]
    fn durations_print_compact_and_parse_friendly_forms() {
        assert_eq!(duration_to_string(&Duration::from_secs(5400)), "1h30m");
        assert_eq!(duration_to_string(&Duration::ZERO), "0s");
        for (s, secs) in [
            ("90m", 5400),
            ("1h30m", 5400),
            ("1h 30m", 5400),
            ("1.5h", 5400),
        ] {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_secs(secs), "{s}");
        }
        let odd = Duration::new(3 * 86_400 + 7, 123_456_789);
        assert_eq!(parse_duration(&duration_to_string(&odd)).unwrap(), odd);
        assert!(parse_duration("5 minutes later").is_err());
    }

    #[test]
    fn canonical_names_take_the_fast_path_to_the_same_values() {
        for p in Priority::ALL {
            assert_eq!(parse_priority(p.as_str()), Ok(p));
            assert_eq!(parse_priority(&p.as_str().to_uppercase()), Ok(p));
        }
        for st in Status::ALL {
            assert_eq!(parse_status(st.as_str()), Ok(st));
            assert_eq!(parse_status(&st.as_str().replace('_', " ")), Ok(st));
        }
        assert_eq!(parse_priority("highest"), Ok(Priority::Critical));
        assert!(parse_priority("urgent").is_err());
        assert!(parse_status("later").is_err());
    }
}
