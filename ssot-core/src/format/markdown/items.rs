//! Finding checkbox list items with a CommonMark parser.
//!
//! pulldown-cmark gives the block structure and the byte offset of every list item;
//! the checkbox and everything after it are read from the source bytes, so the
//! parser's inline results are never used. Offsets from the parser are only ever
//! used through `get`, so a wrong offset can make an item be missed, never a panic.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// YAML front matter (`---` at the top of a note, as Obsidian writes it) is metadata,
/// not Markdown: a `- [ ]` inside it is not a task.
///
/// Task lists stay off: pulldown-cmark's task-list option changes block structure
/// (an item holding only `[ ]` gets no paragraph, so a lazy continuation line after
/// it starts a paragraph of its own), which CommonMark and GFM do not.
const OPTIONS: Options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;

/// Where the parts of one checkbox item are, as byte offsets into the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ItemSpan {
    /// Start of the item's first line (before any indentation or `>` markers).
    pub(super) line_start: usize,
    /// The character between `[` and `]`.
    pub(super) status_at: usize,
    pub(super) status: char,
    /// Just after the checkbox's `]`.
    pub(super) rest_start: usize,
    /// End of the first line, before its line ending.
    pub(super) line_end: usize,
    /// End of the item's first paragraph (at least `line_end`): the continuation
    /// lines in between hold the description.
    pub(super) para_end: usize,
    /// How many block quotes the item is in.
    pub(super) quote_depth: usize,
    /// 1-based line number of the first line.
    pub(super) line: usize,
}

/// Every checkbox item of `text`, in document order.
///
/// An item is a task when its first line is a list marker (`-`, `*`, `+`, `1.`,
/// `1)`), blanks, a checkbox `[c]` holding one character, then a blank or the end of
/// the line, and its first block is a paragraph. Cost: one pulldown-cmark pass, O(n).
pub(super) fn find(text: &str) -> Vec<ItemSpan> {
    let mut found = Vec::new();
    let mut lines = LineCounter::new(text);
    let mut quote_depth = 0usize;
    // A checkbox item whose first paragraph is being measured, and whether its first
    // block has been seen yet.
    let mut pending: Option<(ItemSpan, bool)> = None;
    for (event, range) in Parser::new_ext(text, OPTIONS).into_offset_iter() {
        if let Some((mut item, started)) = pending.take() {
            if is_inline(&event) {
                item.para_end = item.para_end.max(range.end);
                pending = Some((item, true));
                continue;
            }
            if !started && matches!(event, Event::Start(Tag::Paragraph)) {
                item.para_end = item.para_end.max(range.end);
                found.push(finish(text, item));
                continue;
            }
            if started {
                found.push(finish(text, item));
            }
            // Otherwise the item's first block is not a paragraph: not a task.
        }
        match event {
            Event::Start(Tag::BlockQuote(_)) => quote_depth += 1,
            Event::End(TagEnd::BlockQuote(_)) => quote_depth = quote_depth.saturating_sub(1),
            Event::Start(Tag::Item) => {
                if let Some(mut item) = checkbox_item(text, lines.has_cr, range.start, quote_depth)
                {
                    item.line = lines.line_of(item.line_start);
                    pending = Some((item, false));
                }
            }
            _ => {}
        }
    }
    if let Some((item, true)) = pending {
        found.push(finish(text, item));
    }
    found
}

/// Clamps the paragraph end to the text, drops trailing line endings and blanks, and
/// keeps it at least at the end of the first line.
fn finish(text: &str, mut item: ItemSpan) -> ItemSpan {
    let bytes = text.as_bytes();
    let mut end = item.para_end.min(bytes.len());
    while end > item.line_end
        && bytes
            .get(end - 1)
            .is_some_and(|&b| matches!(b, b'\n' | b'\r' | b' ' | b'\t'))
    {
        end -= 1;
    }
    if end <= item.line_end || !text.is_char_boundary(end) {
        end = item.line_end;
    }
    item.para_end = end;
    item
}

fn is_inline(event: &Event<'_>) -> bool {
    match event {
        Event::Text(_)
        | Event::Code(_)
        | Event::InlineMath(_)
        | Event::DisplayMath(_)
        | Event::InlineHtml(_)
        | Event::FootnoteReference(_)
        | Event::SoftBreak
        | Event::HardBreak
        | Event::TaskListMarker(_) => true,
        Event::Start(tag) => matches!(
            tag,
            Tag::Emphasis
                | Tag::Strong
                | Tag::Strikethrough
                | Tag::Superscript
                | Tag::Subscript
                | Tag::Link { .. }
                | Tag::Image { .. }
        ),
        Event::End(tag) => matches!(
            tag,
            TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Superscript
                | TagEnd::Subscript
                | TagEnd::Link
                | TagEnd::Image
        ),
        Event::Html(_) | Event::Rule => false,
    }
}

/// Reads the list marker and checkbox of the item starting at `start`.
fn checkbox_item(text: &str, has_cr: bool, start: usize, quote_depth: usize) -> Option<ItemSpan> {
    let bytes = text.as_bytes();
    let mut i = start;
    while bytes.get(i).is_some_and(|&b| b == b' ' || b == b'\t') {
        i += 1;
    }
    match bytes.get(i)? {
        b'-' | b'*' | b'+' => i += 1,
        b'0'..=b'9' => {
            let digits = bytes
                .get(i..)?
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 9 || !matches!(bytes.get(i + digits)?, b'.' | b')') {
                return None;
            }
            i += digits + 1;
        }
        _ => return None,
    }
    let blanks = bytes
        .get(i..)?
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    if blanks == 0 || bytes.get(i + blanks) != Some(&b'[') {
        return None;
    }
    let status_at = i + blanks + 1;
    let status = text.get(status_at..)?.chars().next()?;
    if status == '\n' || status == '\r' {
        return None;
    }
    let close = status_at + status.len_utf8();
    if bytes.get(close) != Some(&b']') {
        return None;
    }
    let rest_start = close + 1;
    if !matches!(
        bytes.get(rest_start),
        None | Some(b' ' | b'\t' | b'\n' | b'\r')
    ) {
        return None;
    }
    let rest = bytes.get(rest_start..)?;
    // `memchr` (behind `<[u8]>::contains`-style searches) only takes one byte: look for
    // `\n` that way when the text has no `\r` at all, which is the common case.
    let line_end = rest_start
        + if has_cr {
            rest.iter().position(|&b| b == b'\n' || b == b'\r')
        } else {
            text.get(rest_start..)?.find('\n')
        }
        .unwrap_or(rest.len());
    let line_start = bytes
        .get(..start)?
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .map_or(0, |p| p + 1);
    Some(ItemSpan {
        line_start,
        status_at,
        status,
        rest_start,
        line_end,
        para_end: line_end,
        quote_depth,
        line: 0,
    })
}

/// Turns increasing byte offsets into 1-based line numbers in one pass over the text.
/// A line ends at `\n`, `\r\n` or a lone `\r`, as in CommonMark.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    has_cr: bool,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> LineCounter<'a> {
        let bytes = text.as_bytes();
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
            has_cr: bytes.contains(&b'\r'),
        }
    }

    /// The line of byte `offset`, which must not be inside a `\r\n` pair (a line
    /// start never is). Offsets are expected in increasing order; an earlier one
    /// restarts the count.
    fn line_of(&mut self, offset: usize) -> usize {
        if offset < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        let Some(span) = self.bytes.get(self.pos..offset) else {
            return self.line;
        };
        self.line += if self.has_cr {
            span.iter()
                .enumerate()
                .filter(|&(i, &b)| {
                    b == b'\n' || (b == b'\r' && self.bytes.get(self.pos + i + 1) != Some(&b'\n'))
                })
                .count()
        } else {
            span.iter().filter(|&&b| b == b'\n').count()
        };
        self.pos = offset;
        self.line
    }
}

/// The line ending used after byte `at` (`\r\n`, `\n` or `\r`), if one is there.
pub(super) fn line_ending_at(text: &str, at: usize) -> Option<&'static str> {
    let rest = text.get(at..)?;
    if rest.starts_with("\r\n") {
        Some("\r\n")
    } else if rest.starts_with('\n') {
        Some("\n")
    } else if rest.starts_with('\r') {
        Some("\r")
    } else {
        None
    }
}

/// The first line ending of `text`, or `\n` when it has none.
pub(super) fn first_line_ending(text: &str) -> &'static str {
    text.find(['\n', '\r'])
        .and_then(|at| line_ending_at(text, at))
        .unwrap_or("\n")
}

/// The indentation that continues a paragraph of the item whose first line starts
/// with `prefix` (everything before the checkbox's `[`): block-quote markers and tabs
/// are kept, everything else becomes a space.
pub(super) fn continuation_prefix(prefix: &str) -> String {
    prefix
        .chars()
        .map(|c| if c == '>' || c == '\t' { c } else { ' ' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<ItemSpan> {
        find(text)
    }

    #[test]
    fn finds_checkbox_items_with_their_first_paragraph() {
        let text = "- [ ] a\n  more\n  - [x] b\n\n```\n- [ ] no\n```\n1) [/] c\r\n> - [?] d\n> e\n";
        let found = items(text);
        let lines: Vec<_> = found
            .iter()
            .map(|i| {
                (
                    &text[i.line_start..i.line_end],
                    &text[i.line_end..i.para_end],
                    i.line,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("- [ ] a", "\n  more", 1),
                ("  - [x] b", "", 3),
                ("1) [/] c", "", 8),
                ("> - [?] d", "\n> e", 9),
            ]
        );
        assert_eq!(found[3].quote_depth, 1);
        assert_eq!(found[3].status, '?');
    }

    #[test]
    fn items_whose_first_block_is_not_a_paragraph_are_not_tasks() {
        assert!(items("-     [ ] indented code\n").is_empty());
        assert!(items("- [ ] heading\n  ===\n").is_empty());
        assert!(items("- [ ]x\n- []\n- [ab] c\n-\n  [ ] d\n").is_empty());
        assert!(items("---\n- [ ] front matter\n---\n").is_empty());
        assert!(items("<div>\n- [ ] html\n</div>\n").is_empty());
    }

    #[test]
    fn a_lazy_line_after_an_empty_checkbox_continues_its_paragraph() {
        let text = "- [ ] \nlazy";
        assert_eq!(items(text)[0].para_end, text.len());
    }

    #[test]
    fn counts_lone_cr_and_crlf_as_one_line_ending_each() {
        let found = items("a\r\rb\r\n- [ ] x\n\r- [ ] y");
        assert_eq!(found.iter().map(|i| i.line).collect::<Vec<_>>(), [4, 6]);
    }
}
