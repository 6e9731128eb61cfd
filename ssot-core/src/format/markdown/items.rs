//! Finding checkbox list items with a CommonMark parser.
//!
//! pulldown-cmark gives the block structure and the byte offset of every list item;
//! the checkbox and everything after it are read from the source bytes, so the
//! parser's inline results are never used. Offsets from the parser are only ever
//! used through `get`, so a wrong offset can make an item be missed, never a panic.
//!
//! A document of *plain* lines only (tasks at the left margin, blank lines, ATX
//! headings, text), such as [`render`](super::render) writes, has a block structure
//! that is known line by line: it is read by a scan of its lines instead, which finds
//! the same items (a property test checks it against pulldown-cmark) in a small
//! fraction of the time. See [`find_plain`].
//!
//! # Obsidian comments
//!
//! Obsidian hides everything between two `%%` from the reader, and from every plugin:
//! its metadata cache, which the Tasks plugin and Dataview read, has no list items
//! there. So a checkbox item that starts inside a comment is not a task here either.
//! `%%` pair up in document order, wherever they are (`%%` on a line of its own opens
//! a block comment, `text %%note%% text` is an inline one); an unclosed `%%` runs to
//! the end of the document, as Obsidian's editor shows it. `%%` in a code block, a
//! code span or front matter, or escaped (`\%%`), is text. A task whose line starts
//! before a comment stays a task (`- [ ] call %%not Bob%%` is one, its title holding
//! the comment, kept byte for byte); its description stops where a comment spanning
//! lines opens. A document holding `%%` is read with pulldown-cmark, which tells
//! where code is: the line scan declines it.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use ssot_schema::lines::LineCounter;

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

impl ItemSpan {
    const EMPTY: ItemSpan = ItemSpan {
        line_start: 0,
        status_at: 0,
        status: ' ',
        rest_start: 0,
        line_end: 0,
        para_end: 0,
        quote_depth: 0,
        line: 0,
    };
}

/// Every checkbox item of `text`, in document order.
///
/// An item is a task when its first line is a list marker (`-`, `*`, `+`, `1.`,
/// `1)`), blanks, a checkbox `[c]` holding one character, then a blank or the end of
/// the line, and its first block is a paragraph. Cost: one pulldown-cmark pass, O(n),
/// or, for a document of plain lines (see [`find_plain`]), one scan of its lines.
pub(super) fn find(text: &str) -> Vec<ItemSpan> {
    // A byte-order mark is not content (editors on Windows write one): read what
    // follows it, with offsets into the whole text, so that edits keep the mark.
    const BOM: &str = "\u{feff}";
    let Some(body) = text.strip_prefix(BOM) else {
        return find_plain(text).unwrap_or_else(|| find_with_parser(text));
    };
    let mut spans = find_plain(body).unwrap_or_else(|| find_with_parser(body));
    for span in &mut spans {
        for at in [
            &mut span.line_start,
            &mut span.status_at,
            &mut span.rest_start,
            &mut span.line_end,
            &mut span.para_end,
        ] {
            *at += BOM.len();
        }
    }
    spans
}

/// How many items to make room for in `text` up front: one per 64 bytes, about the
/// shortest task line with metadata, so that a task list rarely regrows its vector
/// (a regrowth copies every span found so far) and prose costs at most about its own
/// size in spare room, dropped with the spans.
fn capacity_guess(text: &str) -> usize {
    text.len() / 64
}

/// What one line of a plain document is (see [`find_plain`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plain {
    /// `-`, `*` or `+`, one space and `[`; it must then be a checkbox that
    /// [`checkbox`] accepts, whose character is not `\\`.
    Task,
    /// Spaces and tabs only, or nothing.
    Blank,
    /// `#` to `######`, then a space, a tab or the end of the line.
    Heading,
    /// Spaces (any number, none included), then a letter or a non-ASCII character.
    Text,
}

/// Which [`Plain`] line `line` is, if any.
fn plain_line(line: &[u8]) -> Option<Plain> {
    let Some(&first) = line.first() else {
        return Some(Plain::Blank);
    };
    match first {
        b'-' | b'*' | b'+' => (line.get(1..3) == Some(b" [")).then_some(Plain::Task),
        b'#' => {
            let n = line.iter().take_while(|&&b| b == b'#').count();
            (n <= 6 && matches!(line.get(n), None | Some(b' ' | b'\t'))).then_some(Plain::Heading)
        }
        _ => {
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            match line.get(indent) {
                Some(&b) if b.is_ascii_alphabetic() || b >= 0x80 => Some(Plain::Text),
                Some(b' ' | b'\t') | None => line
                    .iter()
                    .all(|&b| b == b' ' || b == b'\t')
                    .then_some(Plain::Blank),
                Some(_) => None,
            }
        }
    }
}

/// Whether the last line of a paragraph, `line`, ends in a way that pulldown-cmark's
/// inline events reach and [`finish`] does not trim past: after trailing spaces and
/// tabs, a visible ASCII character or a non-ASCII one that is neither whitespace nor a
/// control character.
fn ends_plainly(line: &str) -> bool {
    let line = line.trim_end_matches([' ', '\t']);
    line.chars().next_back().is_some_and(|c| {
        c.is_ascii_graphic() || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
    })
}

/// The items of a document made only of *plain* lines, found without a Markdown
/// parser; `None` when any line is not plain, or the text holds a `\r` or `%%` (an
/// Obsidian comment marker, see the module documentation).
///
/// A plain line is a task item at the left margin (`- [c] ...`), a blank line, an
/// ATX heading, or text starting (after spaces) with a letter or a non-ASCII
/// character. For such a document CommonMark's block structure is known line by
/// line: no line can start a code block, an HTML block, a block quote, a nested list
/// or front matter that would hide a task, a task line always starts a new item
/// whose first block is a paragraph (its checkbox cannot open a link reference
/// definition, as `[c]` is followed by a blank or the end of the line and `c` is not
/// a backslash), and that paragraph runs on over the text lines right after it,
/// lazy or indented, up to the next task, blank or heading line. The result is the
/// one pulldown-cmark gives (tested against it), at the cost of one scan of the lines.
fn find_plain(text: &str) -> Option<Vec<ItemSpan>> {
    let bytes = text.as_bytes();
    if memchr::memchr(b'\r', bytes).is_some() || has_comment_marker(bytes) {
        return None;
    }
    let mut found = Vec::with_capacity(capacity_guess(text));
    // The item whose paragraph the current line may continue, and where the last line
    // of that paragraph so far starts.
    let mut open: Option<(ItemSpan, usize)> = None;
    let mut start = 0;
    let mut line_no = 0;
    loop {
        let end = memchr::memchr(b'\n', bytes.get(start..)?).map_or(bytes.len(), |p| start + p);
        line_no += 1;
        match plain_line(bytes.get(start..end)?)? {
            Plain::Task => {
                if let Some((item, last)) = open.take() {
                    found.push(finish_plain(text, item, last)?);
                }
                // The line is `start..end`: no search for its ends.
                let (status_at, status, rest_start) = checkbox(text, start)?;
                if status == '\\' {
                    return None;
                }
                let item = ItemSpan {
                    line_start: start,
                    status_at,
                    status,
                    rest_start,
                    line_end: end,
                    para_end: end,
                    quote_depth: 0,
                    line: line_no,
                };
                open = Some((item, start));
            }
            Plain::Text => {
                if let Some((item, last)) = open.as_mut() {
                    item.para_end = end;
                    *last = start;
                }
            }
            Plain::Blank | Plain::Heading => {
                if let Some((item, last)) = open.take() {
                    found.push(finish_plain(text, item, last)?);
                }
            }
        }
        if end == bytes.len() {
            break;
        }
        start = end + 1;
    }
    if let Some((item, last)) = open.take() {
        found.push(finish_plain(text, item, last)?);
    }
    Some(found)
}

/// [`finish`] for an item of a plain document whose paragraph's last line starts at
/// `last`: `None` when that line, if it is not the item's first, ends in a way the
/// line scan does not vouch for.
fn finish_plain(text: &str, item: ItemSpan, last: usize) -> Option<ItemSpan> {
    if last > item.line_start && !ends_plainly(text.get(last..item.para_end)?) {
        return None;
    }
    Some(finish(text, item))
}

/// [`find`] with pulldown-cmark.
fn find_with_parser(text: &str) -> Vec<ItemSpan> {
    let mut found = Vec::with_capacity(capacity_guess(text));
    let mut lines = LineCounter::new(text);
    let mut quote_depth = 0usize;
    // The checkbox item whose first paragraph is being measured, if `state` is not
    // `Idle`. Kept out of an `Option` so that the common events (inline content)
    // update it in place instead of moving it out and back.
    let mut item = ItemSpan::EMPTY;
    let mut state = State::Idle;
    let mut comments = has_comment_marker(text.as_bytes()).then(Comments::default);
    for (event, range) in Parser::new_ext(text, OPTIONS).into_offset_iter() {
        if let Some(comments) = &mut comments {
            comments.see(text, &event, range.clone());
        }
        if state != State::Idle {
            if is_inline(&event) {
                item.para_end = item.para_end.max(range.end);
                state = State::Started;
                continue;
            }
            if state == State::Waiting && matches!(event, Event::Start(Tag::Paragraph)) {
                item.para_end = item.para_end.max(range.end);
                found.push(finish(text, item));
                state = State::Idle;
                continue;
            }
            if state == State::Started {
                found.push(finish(text, item));
            }
            // Otherwise the item's first block is not a paragraph: not a task.
            state = State::Idle;
        }
        match event {
            Event::Start(Tag::BlockQuote(_)) => quote_depth += 1,
            Event::End(TagEnd::BlockQuote(_)) => quote_depth = quote_depth.saturating_sub(1),
            Event::Start(Tag::Item) => {
                if let Some(next) = checkbox_item(text, lines.has_cr(), range.start, quote_depth) {
                    item = next;
                    item.line = lines.line_of(item.line_start);
                    // The first line holds no line ending: skip it uncounted.
                    lines.skip_to(item.line_end);
                    state = State::Waiting;
                }
            }
            _ => {}
        }
    }
    if state == State::Started {
        found.push(finish(text, item));
    }
    match comments {
        Some(comments) => comments.hide(text, found),
        None => found,
    }
}

/// Whether `bytes` holds `%%`, which may be an Obsidian comment marker.
fn has_comment_marker(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"%%").is_some()
}

/// The Obsidian comment markers (`%%`) of a document, met in pulldown-cmark's events.
#[derive(Default)]
struct Comments {
    /// Byte offsets of the markers, in document order.
    markers: Vec<usize>,
    /// Inside a code block or front matter, where `%%` is text.
    in_code: bool,
}

impl Comments {
    /// Records the markers of one event: text outside code blocks and front matter.
    /// Code spans are `Event::Code`, and HTML is `Event::Html`: neither is looked at.
    fn see(&mut self, text: &str, event: &Event<'_>, range: std::ops::Range<usize>) {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::MetadataBlock(_)) => self.in_code = true,
            Event::End(TagEnd::CodeBlock | TagEnd::MetadataBlock(_)) => self.in_code = false,
            Event::Text(_) if !self.in_code => {
                let bytes = text.as_bytes();
                let Some(raw) = bytes.get(range.clone()) else {
                    return;
                };
                let mut from = 0;
                while let Some(at) =
                    memchr::memmem::find(raw.get(from..).unwrap_or_default(), b"%%")
                {
                    let at = range.start + from + at;
                    // `\%%` is an escaped `%` followed by a `%`: text.
                    if at == 0 || bytes.get(at - 1) != Some(&b'\\') {
                        self.markers.push(at);
                    }
                    from = at + 2 - range.start;
                }
            }
            _ => {}
        }
    }

    /// `found` without the items that start inside a comment, and with descriptions
    /// cut where a comment spanning lines opens.
    fn hide(self, text: &str, mut found: Vec<ItemSpan>) -> Vec<ItemSpan> {
        // Comments as `[open, close)`; an unclosed one runs to the end.
        let spans: Vec<(usize, usize)> = self
            .markers
            .chunks(2)
            .map(|pair| match pair {
                [open, close] => (*open, close + 2),
                [open] => (*open, usize::MAX),
                _ => (0, 0),
            })
            .collect();
        found.retain_mut(|item| {
            let at = item.status_at;
            if spans.iter().any(|&(open, close)| open <= at && at < close) {
                return false;
            }
            // The first comment that opens in the item's text and ends on a later
            // line than it opens hides the rest of the paragraph.
            if let Some(&(open, _)) = spans.iter().find(|&&(open, close)| {
                open >= item.rest_start
                    && open < item.para_end
                    && text
                        .get(open..close.min(text.len()))
                        .is_none_or(|c| c.contains(['\n', '\r']))
            }) {
                let line_start = text
                    .get(..open)
                    .and_then(|before| before.rfind(['\n', '\r']))
                    .map_or(0, |p| p + 1);
                item.para_end = line_start.max(item.line_end);
                *item = finish(text, *item);
            }
            true
        });
        found
    }
}

/// Where [`find`] is with the checkbox item it last saw.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// No item is being measured.
    Idle,
    /// An item was found; its first block has not started yet.
    Waiting,
    /// The item's first block is inline content (a tight list item's paragraph).
    Started,
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
    let (status_at, status, rest_start) = checkbox(text, start)?;
    let bytes = text.as_bytes();
    let rest = bytes.get(rest_start..)?;
    // Look for `\n` alone when the text has no `\r` at all, the common case.
    let line_end = rest_start
        + if has_cr {
            memchr::memchr2(b'\n', b'\r', rest)
        } else {
            memchr::memchr(b'\n', rest)
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

/// The list marker and checkbox of the item starting at `start`: where the checkbox
/// character is, the character, and where the text after the `]` starts.
fn checkbox(text: &str, start: usize) -> Option<(usize, char, usize)> {
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
    Some((status_at, status, rest_start))
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

    use proptest::prelude::*;

    /// The items pulldown-cmark finds, checked against the line scan when it applies.
    fn items(text: &str) -> Vec<ItemSpan> {
        let found = find_with_parser(text);
        if let Some(plain) = find_plain(text) {
            assert_eq!(plain, found, "{text:?}");
        }
        found
    }

    /// Inline content that stresses what the line scan must not get wrong: code
    /// spans, HTML, link syntax, escapes, odd whitespace and control characters.
    const INLINE: &[&str] = &[
        "word",
        "x",
        " ",
        "  ",
        "\t",
        "`code",
        "`",
        "*",
        "**",
        "_",
        "[",
        "]",
        "](u)",
        "[l](u)",
        "]: /u",
        "<",
        "<!--",
        "-->",
        "<div>",
        "<a href=\"x\">",
        "&amp;",
        "&#35;",
        "\\",
        "🆔 a",
        "#tag",
        "\u{0}",
        "\u{b}",
        "\u{c}",
        "\u{a0}",
        "\u{3000}",
        "\u{85}",
        "\u{2028}",
        "é",
        "日本",
        "$",
        "$$",
        "~~",
        "|",
        "|--|",
        "\u{200b}",
        "\u{feff}",
        "---",
        "===",
        ">",
        "1.",
        "1)",
        "- [ ]",
        "* ",
        "```",
        "~~~",
        "<pre>",
        "<script>",
        "[^1]",
        "[^1]: x",
        "![i](u)",
        "[[w]]",
        "<http://a>",
        "    ",
        "%",
        "%%",
        "\\%%",
    ];

    /// Lines of every plain kind, with awkward inline content; with `odd`, also
    /// awkward checkbox characters and line starts, and lines that are not plain.
    fn arb_line(odd: bool) -> impl Strategy<Value = String> {
        let pick = |plain: &[&'static str], more: &[&'static str]| {
            let mut all = plain.to_vec();
            if odd {
                all.extend_from_slice(more);
            }
            prop::sample::select(all)
        };
        let inline =
            prop::collection::vec(prop::sample::select(INLINE), 0..6).prop_map(|v| v.concat());
        let marker = pick(&["- ", "* ", "+ "], &["-  ", "-\t", "1. ", " - "]);
        let status = pick(
            &[
                " ", "x", "/", "-", "h", "?", "[", "]", "<", "`", "*", "#", "^", "\t", "é",
                "\u{a0}",
            ],
            &["\\", "", "ab"],
        );
        let after = pick(&["", " ", "\t"], &[":", "]:", "\u{c}", "x"]);
        let task = (marker, status, after, inline.clone())
            .prop_map(|(m, c, a, rest)| format!("{m}[{c}]{a}{rest}"));
        let blank = pick(&["", " ", "\t", "  \t"], &["\u{c}", "\u{b}"]).prop_map(String::from);
        let hashes = if odd { 1usize..9 } else { 1usize..7 };
        let heading = (
            hashes,
            pick(&["", " ", "\t"], &["x", "\u{c}"]),
            inline.clone(),
        )
            .prop_map(|(n, sep, rest)| format!("{}{sep}{rest}", "#".repeat(n)));
        let first = pick(
            &[
                "a", "Z", "é", "日", "\u{a0}", "\u{3000}", "\u{85}", "\u{feff}", "\u{2028}",
            ],
            &[
                "1", "-", ">", "#", "`", "<", "=", "[", "\\", "*", "_", "|", ":", "~", "\u{c}",
            ],
        );
        let text = (0usize..7, first, inline)
            .prop_map(|(n, f, rest)| format!("{}{f}{rest}", " ".repeat(n)));
        let other = pick(
            &["- [ ] plain"],
            &[
                "---",
                "===",
                "```",
                "~~~",
                "> - [ ] q",
                "  - [ ] n",
                "    - [ ] c",
                "<div>",
                "***",
            ],
        )
        .prop_map(String::from);
        prop_oneof![4 => task, 2 => blank, 1 => heading, 3 => text, 1 => other]
    }

    fn document(lines: &[String], newline_at_end: bool) -> String {
        let mut text = lines.join("\n");
        if newline_at_end {
            text.push('\n');
        }
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// The line scan finds exactly what pulldown-cmark finds.
        #[test]
        fn plain_documents_read_as_with_the_parser(
            lines in prop::collection::vec(arb_line(false), 0..24),
            newline_at_end in any::<bool>(),
        ) {
            items(&document(&lines, newline_at_end));
        }

        /// ... and declines what it does not vouch for.
        #[test]
        fn odd_documents_read_as_with_the_parser(
            lines in prop::collection::vec(arb_line(true), 0..8),
            newline_at_end in any::<bool>(),
        ) {
            items(&document(&lines, newline_at_end));
        }
    }

    #[test]
    fn items_inside_obsidian_comments_are_not_tasks() {
        let titles = |text: &str| -> Vec<String> {
            items(text)
                .iter()
                .map(|i| text[i.rest_start..i.para_end].trim().to_owned())
                .collect()
        };
        // A block comment, an inline one on a task line, and tasks around them.
        let text = "- [ ] a\n%%\n- [ ] hidden\n- [x] hidden too\n%%\n- [ ] b %%note%%\n";
        assert_eq!(titles(text), ["a", "b %%note%%"]);
        // The comment closes on a task line: that task started inside it.
        assert_eq!(titles("%% start\n- [ ] hidden %% end\n- [ ] c\n"), ["c"]);
        // Unclosed: to the end of the document.
        assert_eq!(titles("- [ ] a\ntext %%\n\n- [ ] hidden\n"), ["a"]);
        // Code blocks, code spans and escapes hold text, not markers.
        assert_eq!(
            titles("```\n%%\n```\n- [ ] a `%%`\n- [ ] b \\%%\n- [ ] c\n"),
            ["a `%%`", "b \\%%", "c"]
        );
        // A comment spanning lines ends the description where it opens.
        assert_eq!(
            titles("- [ ] a\n  more\n  %% hidden\n  hidden %%\n- [ ] b\n"),
            ["a\n  more", "b"]
        );
        // And the line scan leaves such documents to pulldown-cmark.
        assert!(find_plain("- [ ] a %%b%%\n").is_none());
    }

    #[test]
    fn documents_of_tasks_headings_and_text_are_plain() {
        let text =
            "# Tasks\n\n- [ ] a 🆔 a\n  more\nlazy\n* [x] b\n\nNotes.\n  indented\n\n+ [?] c\n";
        assert!(find_plain(text).is_some());
        assert_eq!(items(text).len(), 3);
        for not_plain in [
            "- [ ] a\r\n",
            "```\n- [ ] a\n```\n",
            "> - [ ] a\n",
            "- [ ] a\n---\n",
        ] {
            assert!(find_plain(not_plain).is_none(), "{not_plain:?}");
        }
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
