//! The Markdown format: Obsidian Tasks lines in both metadata forms, what is and is not
//! a task, errors, the round trip `parse(render(list)) == list`, refusals, and the
//! in-place editor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use ssot_core::format::markdown::{self, MarkdownDocument};
use ssot_core::{Error, Extra, Format, ParseError, Priority, Status, Tag, Task, TaskId, TaskList};

fn id(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

fn parse(text: &str) -> Vec<Task> {
    markdown::parse(text).unwrap().tasks
}

fn parse_err(text: &str) -> ParseError {
    match markdown::parse(text) {
        Err(Error::Parse(e)) => e,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn unrepresentable_field(task: Task) -> &'static str {
    match markdown::render(&TaskList::new(vec![task])) {
        Err(Error::Unrepresentable {
            format: Format::Markdown,
            field,
            ..
        }) => field,
        other => panic!("expected Unrepresentable, got {other:?}"),
    }
}

fn round_trip(tasks: Vec<Task>) -> String {
    let list = TaskList::new(tasks);
    let text = markdown::render(&list).unwrap();
    assert_eq!(markdown::parse(&text).unwrap(), list, "rendered:\n{text}");
    text
}

// ---------------------------------------------------------------------------------
// Reading real Obsidian Tasks lines.

#[test]
fn obsidian_tasks_emoji_lines_are_read() {
    let tasks = parse(
        "- [ ] Take out the trash 🔁 every week on Sunday 📅 2024-01-07 ➕ 2023-12-31\n\
         - [x] Pay the bills ⏫ 📅 2023-10-05 ✅ 2023-10-05\n\
         - [ ] Deploy 🆔 deploy ⛔ build, test 🔺 ⏱️ 1h30m #ops #area/backend\n\
         - [-] Old idea ❌ 2024-01-01 ^old-idea\n\
         - [/] Review 🔽\u{FE0F} ⏳ 2024-02-01 🛫 2024-01-20 🏁 delete\n",
    );
    assert_eq!(tasks.len(), 5);

    let trash = &tasks[0];
    assert_eq!(trash.title, "Take out the trash");
    assert_eq!(trash.extra["repeat"], "every week on Sunday");
    assert_eq!(trash.extra["due"], "2024-01-07");
    assert_eq!(trash.extra["created"], "2023-12-31");
    assert_eq!(trash.status(), Status::Pending);

    let bills = &tasks[1];
    assert_eq!(
        (bills.status(), bills.priority),
        (Status::Done, Priority::High)
    );
    assert_eq!(bills.extra["completion"], "2023-10-05");

    let deploy = &tasks[2];
    assert_eq!(deploy.id, "deploy");
    assert_eq!(deploy.dependencies, ["build", "test"]);
    assert_eq!(deploy.priority, Priority::Critical);
    assert_eq!(deploy.estimated_time, Some(Duration::from_secs(90 * 60)));
    assert_eq!(deploy.tags, ["ops", "area/backend"]);
    assert_eq!(deploy.title, "Deploy");

    let old = &tasks[3];
    assert_eq!(old.status(), Status::Cancelled);
    assert_eq!(old.extra["cancelled"], "2024-01-01");
    assert_eq!(old.extra["block_id"], "old-idea");

    let review = &tasks[4];
    assert_eq!(
        (review.status(), review.priority),
        (Status::InProgress, Priority::Low)
    );
    assert_eq!(review.extra["scheduled"], "2024-02-01");
    assert_eq!(review.extra["start"], "2024-01-20");
    assert_eq!(review.extra["onCompletion"], "delete");
}

#[test]
fn dataview_lines_are_read() {
    let tasks = parse(
        "- [ ] Pay the bills [priority:: highest] [due:: 2023-10-05] [id:: pay] [dependsOn:: a, b]\n\
         - [ ] Water plants (repeat:: every day) [estimate:: 1h 30m] [category:: home]\n\
         - [x] Ship [created_at:: 2026-11-23T09:30:00+01:00] [updated_at:: 2026-11-24T00:00:00Z] [actual_time:: 45m] [owner:: kim [[People/Kim]]]\n",
    );
    let pay = &tasks[0];
    assert_eq!((pay.id.as_str(), pay.priority), ("pay", Priority::Critical));
    assert_eq!(pay.dependencies, ["a", "b"]);
    assert_eq!(pay.extra["due"], "2023-10-05");
    assert_eq!(pay.title, "Pay the bills");

    let water = &tasks[1];
    assert_eq!(water.extra["repeat"], "every day");
    assert_eq!(water.estimated_time, Some(Duration::from_secs(5400)));
    assert_eq!(water.category, "home");

    let ship = &tasks[2];
    assert_eq!(ship.created_at.unwrap().to_string(), "2026-11-23T08:30:00Z");
    assert_eq!(ship.updated_at.unwrap().to_string(), "2026-11-24T00:00:00Z");
    assert_eq!(ship.actual_time, Some(Duration::from_secs(45 * 60)));
    assert_eq!(ship.extra["owner"], "kim [[People/Kim]]");
}

#[test]
fn the_example_vault_file_parses() {
    let text = include_str!("../../examples/data/todo.md");
    let tasks = parse(text);
    let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "bump",
            "changelog",
            "flaky",
            "artifacts",
            "linux",
            "macos",
            "draft",
            "publish",
            "video",
            "meeting"
        ]
    );
    let artifacts = &tasks[3];
    assert_eq!(artifacts.dependencies, ["bump", "flaky"]);
    assert_eq!(artifacts.priority, Priority::High);
    // Nested items are tasks of their own; nesting adds no dependency.
    assert_eq!(tasks[4].dependencies, ["artifacts"]);
    assert_eq!(tasks[8].status(), Status::Cancelled);
    assert_eq!(tasks[9].status(), Status::Done);
    assert_eq!(tasks[9].extra["completion"], "2026-11-20");
}

#[test]
fn metadata_is_only_read_at_the_end_of_the_line() {
    let t = &parse("- [ ] Call #bob about [who:: x] and 🆔 stuff ⏫ today\n")[0];
    assert_eq!(t.title, "Call #bob about [who:: x] and 🆔 stuff ⏫ today");
    assert!(t.tags.is_empty() && t.extra.is_empty());
    assert_eq!(t.priority, Priority::Normal);

    // An emoji followed by text of the wrong shape is title text, as in the plugin.
    let t = &parse("- [ ] Decide 📅 tomorrow\n")[0];
    assert_eq!(t.title, "Decide 📅 tomorrow");
    // Tokens must follow a blank; a link's `(...)` is not a Dataview field.
    let t = &parse("- [ ] See [docs](a:: b) ok#x\n")[0];
    assert_eq!(t.title, "See [docs](a:: b) ok#x");
    // Wiki links stay in the title.
    let t = &parse("- [ ] Read [[Some Page]] 🆔 r\n")[0];
    assert_eq!(
        (t.title.as_str(), t.id.as_str()),
        ("Read [[Some Page]]", "r")
    );
}

#[test]
fn status_characters_follow_the_plugin_and_h_is_blocked() {
    let tasks = parse("- [ ] a\n- [x] b\n- [X] c\n- [/] d\n- [-] e\n- [h] f\n- [?] g\n- [>] h\n");
    let statuses: Vec<Status> = tasks.iter().map(|t| t.status()).collect();
    use Status::*;
    assert_eq!(
        statuses,
        [
            Pending, Done, Done, InProgress, Cancelled, Blocked, Pending, Pending
        ]
    );
    assert_eq!(tasks[6].extra["status_char"], "?");
    assert_eq!(tasks[7].extra["status_char"], ">");
    assert!(tasks[0].extra.is_empty());
    // The unknown character is written back.
    let text = round_trip(tasks);
    assert!(text.contains("- [?] g") && text.contains("- [>] h") && text.contains("- [h] f"));
}

#[test]
fn every_list_marker_and_nesting_depth_holds_tasks() {
    let tasks = parse(
        "1. [ ] one\n2) [x] two\n+ [ ] plus\n* [X] star\n- [ ] parent\n  - [ ] child\n    1. [/] grandchild\n\n> - [ ] quoted\n> > * [-] deeper\n",
    );
    let titles: Vec<&str> = tasks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "one",
            "two",
            "plus",
            "star",
            "parent",
            "child",
            "grandchild",
            "quoted",
            "deeper"
        ]
    );
    assert!(tasks.iter().all(|t| t.dependencies.is_empty()));
}

#[test]
fn checkboxes_in_code_html_front_matter_and_malformed_items_are_not_tasks() {
    let text = "---\ntags: [x]\nitems:\n- [ ] yaml\n---\n\n\
                ```markdown\n- [ ] fenced\n```\n\n\
                ~~~\n- [ ] tilde fence\n~~~\n\n\
                \x20   - [ ] indented code\n\n\
                <div>\n- [ ] html block\n</div>\n\n\
                <!--\n- [ ] commented out\n\n- [ ] still commented\n-->\n\n\
                - [ ]no space\n- [] empty\n- [ab] two chars\n-     [ ] code in item\n\
                Some prose with - [ ] inside.\n\n\
                - [ ] real\n";
    let titles: Vec<String> = parse(text).into_iter().map(|t| t.title).collect();
    assert_eq!(titles, ["real"]);
}

#[test]
fn an_unclosed_fence_swallows_the_rest_of_the_file() {
    assert!(parse("- [ ] before\n```\n- [ ] after\n").len() == 1);
}

#[test]
fn continuation_lines_are_the_description() {
    let tasks = parse(
        "- [ ] Write the notes 🆔 notes\n  Mention the cache.   \n  Thank *everyone*.\nlazy line\n  - [ ] child\n\n  second paragraph is not description\n\
         > - [ ] quoted\n>   more\n",
    );
    assert_eq!(
        tasks[0].description,
        "Mention the cache.\nThank *everyone*.\nlazy line"
    );
    assert_eq!(tasks[1].description, "");
    assert_eq!(tasks[2].description, "more");
    round_trip(tasks);
}

#[test]
fn a_lazy_line_after_an_empty_checkbox_is_its_description_as_in_commonmark() {
    let text = "- [ ] \nlazy";
    let tasks = parse(text);
    assert_eq!(
        (tasks[0].title.as_str(), tasks[0].description.as_str()),
        ("", "lazy")
    );
    let mut doc = MarkdownDocument::parse(text).unwrap();
    let id = tasks[0].id.clone();
    doc.update(id.as_str(), |t| t.description = "desc".into())
        .unwrap();
    assert_eq!(doc.as_str(), "- [ ] \n  desc");
    reparsed(&doc);
}

#[test]
fn derived_ids_follow_the_shared_rules_and_render_writes_them() {
    let tasks = parse("- [ ] same\n- [ ] same\n- [ ] other 🆔 x\n");
    assert!(tasks[0].id.as_str().starts_with('t'));
    assert_eq!(tasks[1].id.as_str(), format!("{}-2", tasks[0].id));
    let text = round_trip(tasks.clone());
    assert!(text.contains(&format!("🆔 {}", tasks[0].id)));
}

// ---------------------------------------------------------------------------------
// Errors.

#[test]
fn errors_name_line_column_and_field() {
    let e = parse_err("# Tasks\n\n- [ ] Fix it 🆔 a,b\n");
    assert_eq!(
        (e.format, e.line, e.column, e.field.as_deref()),
        (Format::Markdown, 3, Some(16), Some("id"))
    );
    assert!(e.message.contains("a,b"), "{}", e.message);

    let e = parse_err("- [ ] ok\n  - [x] Pay [priority:: urgent]\n");
    assert_eq!((e.line, e.field.as_deref()), (2, Some("priority")));
    assert!(
        e.message.contains("urgent") && e.message.contains("critical"),
        "{}",
        e.message
    );

    let e = parse_err("\r\n\r\n- [ ] Estimate ⏱ soon\r\n");
    assert_eq!(
        (e.line, e.column, e.field.as_deref()),
        (3, Some(18), Some("estimated_time"))
    );

    let e = parse_err("- [ ] x ⛔ a,,b\n");
    assert_eq!(e.field.as_deref(), Some("dependencies"));
    let e = parse_err("- [ ] x [created_at:: yesterday]\n");
    assert_eq!(e.field.as_deref(), Some("created_at"));
    let e = parse_err("- [ ] x 🆔 a [id:: b]\n");
    assert!(e.message.contains("twice"), "{}", e.message);
    let e = parse_err("- [ ] x [status_char:: ?]\n");
    assert_eq!(e.field.as_deref(), Some("status_char"));
    let e = parse_err("- [ ] x 📅 2024-01-01 [due:: 2024-02-02]\n");
    assert_eq!(e.field.as_deref(), Some("due"));

    let e = parse_err("- [ ] a 🆔 same\n\n- [ ] b 🆔 same\n");
    assert_eq!((e.line, e.field.as_deref()), (3, Some("id")));
    assert!(e.message.contains("first used on line 1"), "{}", e.message);
    let shown = Error::Parse(e).to_string();
    assert!(shown.starts_with("markdown line 3"), "{shown}");
}

// ---------------------------------------------------------------------------------
// Writing.

fn task(id_: &str, title: &str) -> Task {
    Task::new(id(id_), title)
}

#[test]
fn render_writes_one_emoji_line_per_task() {
    let mut t = task("deploy", "Deploy").with_status(Status::InProgress);
    t.priority = Priority::High;
    t.dependencies = vec![id("build"), id("test")];
    t.estimated_time = Some(Duration::from_secs(5400));
    t.tags = vec![Tag::new("ops").unwrap()];
    t.extra.insert("due".into(), "2026-01-31".into());
    t.extra.insert("owner".into(), "kim".into());
    t.category = "release".into();
    t.description = "Check the logs.".into();
    let text = round_trip(vec![t, task("b", "").with_status(Status::Blocked)]);
    assert_eq!(
        text,
        "- [/] Deploy 🆔 deploy ⛔ build,test ⏫ ⏱ 1h30m #ops 📅 2026-01-31 [owner:: kim] [category:: release]\n  Check the logs.\n- [h] 🆔 b\n"
    );
}

#[test]
fn titles_that_look_like_metadata_are_protected() {
    let titles = [
        "Fix issue #123",
        "Release ⏫",
        "Release ⏫\u{FE0F}",
        "Show 🆔 badge",
        "Use [key:: value]",
        "Use (key:: value)",
        "see ^ref",
        "dates 📅 2024-01-01",
        "every 🔁 every day",
        "a ⛔ b, c",
        r"back\slash \# \\ \",
        "&#x23EB; &amp; &#35;",
        "#only",
        "⏫",
        "🆔 x ⏫ #t [a:: b]",
    ];
    let tasks: Vec<Task> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| task(&format!("t{i}"), t))
        .collect();
    let text = round_trip(tasks);
    assert!(text.contains(r"Fix issue \#123 🆔"), "{text}");
    assert!(text.contains("Release &#x23EB; 🆔"), "{text}");
}

#[test]
fn unrepresentable_tasks_are_refused_never_written_with_a_loss() {
    let t = || task("a", "title");
    let cases: Vec<(Task, &str)> = vec![
        (task("a", "two\nlines"), "title"),
        (task("a", "carriage\rreturn"), "title"),
        (task("a", " padded"), "title"),
        (task("a", "padded\t"), "title"),
        (
            {
                let mut x = t();
                x.description = "a\n\nb".into();
                x
            },
            "description",
        ),
        (
            {
                let mut x = t();
                x.description = "- looks like a list".into();
                x
            },
            "description",
        ),
        (
            {
                let mut x = t();
                x.description = "# heading".into();
                x
            },
            "description",
        ),
        (
            {
                let mut x = t();
                x.description = "===".into();
                x
            },
            "description",
        ),
        (
            {
                let mut x = t();
                x.description = " indented".into();
                x
            },
            "description",
        ),
        (
            {
                let mut x = t();
                x.category = "a]b".into();
                x
            },
            "category",
        ),
        (
            {
                let mut x = t();
                x.category = "a\nb".into();
                x
            },
            "category",
        ),
        (
            {
                let mut x = t();
                x.extra.insert("n".into(), Value::from(3));
                x
            },
            "extra",
        ),
        (
            {
                let mut x = t();
                x.extra.insert("priority".into(), "high".into());
                x
            },
            "extra",
        ),
        (
            {
                let mut x = t();
                x.extra.insert("bad key".into(), "v]".into());
                x
            },
            "extra",
        ),
        (
            {
                let mut x = t();
                x.extra.insert("k:".into(), "v".into());
                x
            },
            "extra",
        ),
        (
            {
                let mut x = t();
                x.extra.insert("status_char".into(), "?".into());
                x.with_status(Status::Done)
            },
            "extra",
        ),
        (
            {
                let mut x = t();
                x.extra.insert("status_char".into(), "x".into());
                x
            },
            "extra",
        ),
        (
            {
                let mut x = t();
                x.extra.insert("block_id".into(), "not valid".into());
                x
            },
            "extra",
        ),
    ];
    for (task, field) in cases {
        assert_eq!(unrepresentable_field(task.clone()), field, "{task:?}");
    }
    let dup = TaskList::new(vec![task("a", "x"), task("a", "y")]);
    assert!(matches!(
        markdown::render(&dup),
        Err(Error::Unrepresentable { field: "id", .. })
    ));
}

#[test]
fn extras_with_an_emoji_form_use_it_only_when_the_value_fits() {
    let mut t = task("a", "x");
    t.extra.insert("due".into(), "next week".into());
    t.extra.insert("repeat".into(), "every day".into());
    t.extra.insert("block_id".into(), "blk-1".into());
    t.extra.insert("status_char".into(), "!".into());
    let text = round_trip(vec![t]);
    assert_eq!(text, "- [!] x 🆔 a [due:: next week] 🔁 every day ^blk-1\n");
}

// ---------------------------------------------------------------------------------
// The editor.

const VAULT: &str = "---\ntitle: Week\n---\n# Week\r\n\r\nSome *prose*.\r\n\r\n```\n- [ ] not a task 🆔 fake\n```\n\n\
- [ ] Plan 🆔 plan ⏫ 📅 2026-01-05 ^plan-block\n\
* [X] Shop [id:: shop] [priority:: low] [due:: 2026-01-02]\n\
\x20 1. [ ] Milk\n\
\x20 2. [?] Eggs 🆔 eggs\n\
> - [ ] Quoted 🆔 quoted\n\
> continued\n\
- [ ] Last 🆔 last";

fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

fn changed_lines(before: &str, after: &str) -> Vec<usize> {
    let (a, b) = (lines(before), lines(after));
    assert_eq!(a.len(), b.len(), "line count changed:\n{after}");
    (0..a.len()).filter(|&i| a[i] != b[i]).collect()
}

fn reparsed(doc: &MarkdownDocument) {
    let again = MarkdownDocument::parse(doc.as_str()).unwrap();
    assert_eq!(
        again.tasks(),
        doc.tasks(),
        "re-parse differs:\n{}",
        doc.as_str()
    );
}

#[test]
fn set_status_rewrites_only_the_checkbox_character() {
    let mut doc = MarkdownDocument::parse(VAULT).unwrap();
    assert_eq!(doc.tasks().len(), 6);
    doc.set_status("plan", Status::Done).unwrap();
    doc.set_status("eggs", Status::Blocked).unwrap();
    doc.set_status("last", Status::Cancelled).unwrap();
    let expected = VAULT
        .replace("- [ ] Plan", "- [x] Plan")
        .replace("2. [?] Eggs", "2. [h] Eggs")
        .replace("- [ ] Last", "- [-] Last");
    assert_eq!(doc.as_str(), expected);
    assert!(!doc.get("eggs").unwrap().extra.contains_key("status_char"));
    reparsed(&doc);

    // Staying in the same status changes nothing, `X` included.
    doc.set_status("shop", Status::Done).unwrap();
    assert_eq!(doc.as_str(), expected);
}

#[test]
fn illegal_transitions_and_unknown_ids_change_nothing() {
    let mut doc = MarkdownDocument::parse(VAULT).unwrap();
    doc.set_status("plan", Status::Blocked).unwrap();
    let before = doc.as_str().to_owned();
    let err = doc.set_status("plan", Status::Done).unwrap_err();
    assert!(matches!(
        err,
        Error::IllegalTransition {
            from: Status::Blocked,
            to: Status::Done,
            ..
        }
    ));
    let err = doc
        .update("plan", |t| *t = t.clone().with_status(Status::Done))
        .unwrap_err();
    assert!(matches!(err, Error::IllegalTransition { .. }));
    assert!(matches!(
        doc.set_status("nope", Status::Done),
        Err(Error::TaskNotFound { .. })
    ));
    assert!(matches!(
        doc.set_title("no pe", "x"),
        Err(Error::InvalidId { .. })
    ));
    assert!(matches!(
        doc.set_title("plan", "two\nlines"),
        Err(Error::Unrepresentable { field: "title", .. })
    ));
    assert_eq!(doc.as_str(), before);
    assert_eq!(doc.get("plan").unwrap().title, "Plan");
}

#[test]
fn set_title_rewrites_only_the_title() {
    let mut doc = MarkdownDocument::parse(VAULT).unwrap();
    doc.set_title("plan", "Plan the week #1").unwrap();
    doc.set_title("shop", "Go shopping ⏫").unwrap();
    let expected = VAULT
        .replace("- [ ] Plan 🆔", r"- [ ] Plan the week \#1 🆔")
        .replace("* [X] Shop [id::", "* [X] Go shopping &#x23EB; [id::");
    assert_eq!(doc.as_str(), expected);
    assert_eq!(doc.get("shop").unwrap().title, "Go shopping ⏫");
    reparsed(&doc);
}

#[test]
fn retitling_a_task_without_an_id_writes_its_id_in_the_line_form() {
    let mut doc = MarkdownDocument::parse(VAULT).unwrap();
    let milk = doc.tasks()[2].id.clone();
    doc.set_title(milk.as_str(), "Oat milk").unwrap();
    assert!(
        doc.as_str()
            .contains(&format!("  1. [ ] Oat milk 🆔 {milk}\n")),
        "{}",
        doc.as_str()
    );
    assert_eq!(doc.get(milk.as_str()).unwrap().title, "Oat milk");
    reparsed(&doc);

    let mut doc = MarkdownDocument::parse("- [ ] a [priority:: high]\n- [ ] a\n").unwrap();
    let first = doc.tasks()[0].id.clone();
    let second = doc.tasks()[1].id.clone();
    doc.set_title(first.as_str(), "b").unwrap();
    assert_eq!(
        doc.as_str(),
        format!("- [ ] b [priority:: high] [id:: {first}]\n- [ ] a\n")
    );
    assert_eq!(
        MarkdownDocument::parse(doc.as_str()).unwrap().tasks()[1].id,
        second
    );
}

#[test]
fn update_rewrites_changed_tokens_in_their_own_form_and_keeps_the_rest() {
    let mut doc = MarkdownDocument::parse(VAULT).unwrap();
    doc.update("shop", |t| {
        t.priority = Priority::Critical;
        t.tags.push(Tag::new("errand").unwrap());
        t.estimated_time = Some(Duration::from_secs(1800));
    })
    .unwrap();
    assert!(
        doc.as_str()
            .contains("* [X] Shop [id:: shop] [priority:: highest] [due:: 2026-01-02] [estimate:: 30m] #errand\n"),
        "{}",
        doc.as_str()
    );
    doc.update("plan", |t| {
        t.priority = Priority::Normal;
        t.dependencies.push(id("shop"));
        t.extra.insert("due".into(), "2026-01-06".into());
        t.extra.insert("where".into(), "home".into());
    })
    .unwrap();
    assert!(
        doc.as_str()
            .contains("- [ ] Plan 🆔 plan 📅 2026-01-06 ⛔ shop [where:: home] ^plan-block\n"),
        "{}",
        doc.as_str()
    );
    reparsed(&doc);
    assert_eq!(changed_lines(VAULT, doc.as_str()), [11, 12]);
}

#[test]
fn update_edits_descriptions_in_place() {
    let mut doc = MarkdownDocument::parse(VAULT).unwrap();
    doc.update("quoted", |t| t.description = "one\ntwo".into())
        .unwrap();
    assert!(
        doc.as_str()
            .contains("> - [ ] Quoted 🆔 quoted\n>   one\n>   two\n- [ ] Last"),
        "{}",
        doc.as_str()
    );
    doc.update("last", |t| t.description = "note".into())
        .unwrap();
    assert!(
        doc.as_str().ends_with("- [ ] Last 🆔 last\n  note"),
        "{:?}",
        doc.as_str()
    );
    doc.update("quoted", |t| t.description.clear()).unwrap();
    assert!(
        doc.as_str()
            .contains("> - [ ] Quoted 🆔 quoted\n- [ ] Last"),
        "{}",
        doc.as_str()
    );
    reparsed(&doc);
    let err = doc
        .update("last", |t| t.description = "- list".into())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Unrepresentable {
            field: "description",
            ..
        }
    ));
}

#[test]
fn update_can_rename_but_not_onto_a_taken_id() {
    let mut doc = MarkdownDocument::parse(VAULT).unwrap();
    doc.update("plan", |t| t.id = id("plan-2")).unwrap();
    assert!(doc.as_str().contains("- [ ] Plan 🆔 plan-2 ⏫"));
    assert!(doc.get("plan").is_none() && doc.get("plan-2").is_some());
    let err = doc.update("plan-2", |t| t.id = id("shop")).unwrap_err();
    assert!(matches!(err, Error::IdConflict { .. }));
    reparsed(&doc);

    // Renaming a task must not shift the derived id of another.
    let mut doc = MarkdownDocument::parse("- [ ] x\n- [ ] x\n").unwrap();
    let first = doc.tasks()[0].id.clone();
    let err = doc
        .update(first.as_str(), |t| t.id = id("renamed"))
        .unwrap_err();
    assert!(matches!(err, Error::IdConflict { .. }));
}

#[test]
fn editing_a_task_next_to_a_multibyte_status_character_keeps_spans_right() {
    let mut doc = MarkdownDocument::parse("- [✓] a 🆔 a\n- [ ] b 🆔 b\n").unwrap();
    doc.set_status("a", Status::Done).unwrap();
    doc.set_title("b", "bee").unwrap();
    assert_eq!(doc.as_str(), "- [x] a 🆔 a\n- [ ] bee 🆔 b\n");
    reparsed(&doc);
}

// ---------------------------------------------------------------------------------
// Properties.

/// Strings built from fragments that exercise the line grammar and escaping.
fn tricky_text() -> BoxedStrategy<String> {
    let fragment = prop::sample::select(vec![
        "word",
        "%",
        "%%",
        " ",
        "\t",
        "#tag",
        "#",
        "⏫",
        "⏫\u{FE0F}",
        "🔺",
        "🆔",
        "🆔 x",
        "⛔ a,b",
        "⏱ 1h",
        "📅 2024-01-01",
        "🔁 every day",
        "🏁 delete",
        "^blk",
        "[k:: v]",
        "(k:: v)",
        "[[Page]]",
        "[",
        "]",
        "(",
        ")",
        "::",
        "\\",
        "\\#",
        "&#35;",
        "&#x23EB;",
        "&",
        "é",
        "日本",
        "\u{0}",
        "*",
        "`",
        "<b>",
        ",",
        "!",
        "\u{FE0F}",
        "-",
        "x",
    ]);
    prop::collection::vec(fragment, 0..8)
        .prop_map(|v| v.concat())
        .boxed()
}

/// Any text except line breaks, sometimes long, sometimes from tricky fragments.
fn one_line() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[^\r\n]{0,24}",
        1 => "[^\r\n]{100,300}",
        3 => tricky_text(),
    ]
    .boxed()
}

fn trimmed(s: String) -> String {
    s.trim_matches([' ', '\t']).to_owned()
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// No `%%`, which would open an Obsidian comment: Markdown refuses it in values.
fn without_comment_marker(mut s: String) -> String {
    while s.contains("%%") {
        s = s.replace("%%", "%");
    }
    s
}

fn dataview_value(s: String) -> String {
    trimmed(without_comment_marker(if balanced(&s) {
        s
    } else {
        s.replace(['[', ']'], "")
    }))
}

/// Descriptions Markdown holds: lines that start with a letter and do not end in a blank.
fn arb_description() -> BoxedStrategy<String> {
    prop_oneof![
        2 => Just(String::new()),
        1 => prop::collection::vec("\\p{L}[^\r\n]{0,20}", 1..4)
            .prop_map(|v| {
                let lines: Vec<&str> = v.iter().map(|l| l.trim_end_matches([' ', '\t', '\u{b}', '\u{c}'])).collect();
                without_comment_marker(lines.join("\n"))
            }),
    ]
    .boxed()
}

/// Extras Markdown holds, including the keys with an emoji form.
fn arb_md_extra() -> BoxedStrategy<Extra> {
    let key = common::arb_extra_key().prop_filter("not a Markdown field key", |k| {
        ![
            "id",
            "priority",
            "estimate",
            "category",
            "status_char",
            "block_id",
        ]
        .contains(&k.as_str())
    });
    let plain = prop::collection::vec((key, one_line().prop_map(dataview_value)), 0..3);
    let special = prop::collection::vec(
        prop::sample::select(vec![
            ("due", "2024-01-31"),
            ("due", "someday"),
            ("repeat", "every week on Monday"),
            ("onCompletion", "delete"),
            ("completion", "2026-12-01"),
            ("block_id", "abc-1"),
        ]),
        0..3,
    );
    (plain, special)
        .prop_map(|(plain, special)| {
            let mut extra = Extra::new();
            for (k, v) in plain {
                extra.insert(k, Value::String(v));
            }
            for (k, v) in special {
                extra.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            extra
        })
        .boxed()
}

fn arb_md_task() -> impl Strategy<Value = Task> {
    (
        common::arb_task_with(one_line().prop_map(trimmed).boxed(), arb_md_extra()),
        one_line(),
        arb_description(),
        proptest::option::of(prop::sample::select(vec!['?', '>', '!', '✓', '\t'])),
    )
        .prop_map(|(mut t, category, description, status_char)| {
            t.category = dataview_value(category);
            t.description = description;
            if let (Some(c), Status::Pending) = (status_char, t.status()) {
                t.extra
                    .insert("status_char".into(), Value::String(c.to_string()));
            }
            t
        })
}

/// Any task at all: arbitrary strings everywhere, JSON extras.
fn arb_any_task() -> impl Strategy<Value = Task> {
    let text = prop_oneof![
        any::<String>(),
        tricky_text(),
        "[^\r\n]{0,30}".prop_map(trimmed)
    ]
    .boxed();
    let extra = prop_oneof![
        common::arb_json_extra(),
        common::arb_string_extra(text.clone()).boxed(),
        arb_md_extra(),
    ]
    .boxed();
    common::arb_task_with(text, extra)
}

proptest! {
    #![proptest_config(common::cases(256))]

    #[test]
    fn representable_lists_round_trip(list in common::arb_tasks(arb_md_task(), 8)) {
        let text = markdown::render(&list).unwrap();
        prop_assert_eq!(markdown::parse(&text).unwrap(), list, "rendered:\n{}", text);
    }

    #[test]
    fn any_list_either_round_trips_or_is_refused(list in common::arb_tasks(arb_any_task(), 4)) {
        match markdown::render(&list) {
            Ok(text) => prop_assert_eq!(markdown::parse(&text).unwrap(), list, "rendered:\n{}", text),
            Err(Error::Unrepresentable { format: Format::Markdown, .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn titles_with_line_breaks_are_refused(a in "[^\r\n]{0,10}", brk in prop::sample::select(vec!["\n", "\r", "\r\n"]), b in "[^\r\n]{0,10}") {
        let t = Task::new(id("a"), format!("{a}{brk}{b}"));
        prop_assert_eq!(unrepresentable_field(t), "title");
    }
}

/// A generated document: the text, and for each task (by explicit id) its line.
struct Doc {
    text: String,
    tasks: Vec<(String, usize)>,
}

#[derive(Debug, Clone)]
enum Block {
    Heading(String),
    Prose(String),
    Fence(usize),
    Html,
    Tasks(Vec<(u8, char, String)>),
}

fn arb_block() -> impl Strategy<Value = Block> {
    let words = "[a-zA-Z][a-zA-Z ]{0,20}[a-z]";
    prop_oneof![
        1 => words.prop_map(Block::Heading),
        2 => words.prop_map(Block::Prose),
        1 => (1usize..4).prop_map(Block::Fence),
        1 => Just(Block::Html),
        4 => prop::collection::vec(
            (0u8..3, prop::sample::select(vec![' ', 'x', 'X', '/', '-', 'h', '?']), tricky_text()),
            1..6,
        )
        .prop_map(Block::Tasks),
    ]
}

fn build_doc(blocks: &[Block], crlf: &[bool]) -> Doc {
    let mut lines: Vec<String> = Vec::new();
    let mut tasks = Vec::new();
    for block in blocks {
        match block {
            Block::Heading(h) => lines.push(format!("## {h}")),
            Block::Prose(p) => lines.push(p.clone()),
            Block::Fence(n) => {
                lines.push("```".into());
                for i in 0..*n {
                    lines.push(format!("- [ ] fenced {i} 🆔 fenced{i}"));
                }
                lines.push("```".into());
            }
            Block::Html => {
                lines.push("<div>".into());
                lines.push("- [ ] in html 🆔 html".into());
                lines.push("</div>".into());
            }
            Block::Tasks(items) => {
                let mut depth = 0u8;
                for (d, c, title) in items {
                    depth = (*d).min(depth + 1);
                    let n = tasks.len();
                    let mut line = "  ".repeat(usize::from(depth));
                    // Ordered items only at the top: a child must be indented past its
                    // parent's marker, or it is a continuation line of the parent.
                    line.push_str(if n % 2 == 0 || depth > 0 {
                        "- ["
                    } else {
                        "1. ["
                    });
                    line.push(*c);
                    line.push_str("] ");
                    let mut title_text = String::new();
                    ssot_core_title(&mut title_text, title);
                    line.push_str(&title_text);
                    line.push_str(&format!(" 🆔 task{n} 📅 2024-01-0{}", n % 9 + 1));
                    tasks.push((format!("task{n}"), lines.len()));
                    lines.push(line);
                }
            }
        }
        lines.push(String::new());
    }
    let mut text = String::new();
    for (i, l) in lines.iter().enumerate() {
        text.push_str(l);
        text.push_str(
            if crlf.get(i % crlf.len().max(1)).copied().unwrap_or(false) {
                "\r\n"
            } else {
                "\n"
            },
        );
    }
    Doc { text, tasks }
}

/// Writes a title the way `render` does, by rendering a one-task list and cutting
/// the title out of its line.
fn ssot_core_title(out: &mut String, title: &str) {
    let title = trimmed(title.to_owned());
    let text = markdown::render(&TaskList::new(vec![Task::new(id("z"), title)])).unwrap();
    let line = text.strip_prefix("- [ ] ").unwrap();
    out.push_str(line.strip_suffix("🆔 z\n").unwrap().trim_end());
}

#[derive(Debug, Clone)]
enum Edit {
    Status(Status),
    Title(String),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        common::arb_status().prop_map(Edit::Status),
        one_line().prop_map(|s| Edit::Title(trimmed(s))),
    ]
}

proptest! {
    #![proptest_config(common::cases(128))]

    #[test]
    fn the_editor_changes_exactly_the_targeted_line(
        blocks in prop::collection::vec(arb_block(), 1..8),
        crlf in prop::collection::vec(any::<bool>(), 1..5),
        pick in any::<prop::sample::Index>(),
        edit in arb_edit(),
    ) {
        let doc_spec = build_doc(&blocks, &crlf);
        prop_assume!(!doc_spec.tasks.is_empty());
        let mut doc = MarkdownDocument::parse(doc_spec.text.clone()).unwrap();
        prop_assert_eq!(doc.tasks().len(), doc_spec.tasks.len());
        let (target, line) = pick.get(&doc_spec.tasks).clone();
        let before = doc.get(&target).unwrap().clone();
        let result = match &edit {
            Edit::Status(s) => doc.set_status(&target, *s),
            Edit::Title(t) => doc.set_title(&target, t),
        };
        match (&edit, result) {
            (Edit::Status(s), Ok(())) => prop_assert_eq!(doc.get(&target).unwrap().status(), *s),
            (Edit::Status(s), Err(Error::IllegalTransition { .. })) => {
                prop_assert!(!before.status().can_become(*s));
                prop_assert_eq!(doc.as_str(), doc_spec.text.as_str());
            }
            (Edit::Title(t), Ok(())) => prop_assert_eq!(&doc.get(&target).unwrap().title, t),
            (_, r) => prop_assert!(false, "unexpected result {:?}", r),
        }
        let changed = changed_lines(&doc_spec.text, doc.as_str());
        prop_assert!(changed.is_empty() || changed == [line], "changed {:?}, target line {}", changed, line);
        let again = MarkdownDocument::parse(doc.as_str()).unwrap();
        prop_assert_eq!(again.tasks(), doc.tasks());
    }
}

/// Markdown-ish fragments for the no-panic property.
fn markdownish() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(vec![
        "- [ ] ",
        "- [x] ",
        "* [X] ",
        "1. [/] ",
        "2) [?] ",
        "+ [h] ",
        "- [",
        "[ ]",
        "]",
        "  ",
        "    ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "```",
        "~~~",
        "> ",
        ">",
        "<div>",
        "</div>",
        "<!--",
        "-->",
        "# ",
        "---",
        "===",
        "***",
        "🆔 ",
        "🆔 a",
        "⛔ a,b",
        "⛔ ,",
        "⏫",
        "\u{FE0F}",
        "[id:: ",
        "[priority:: high]",
        "[estimate:: 1h]",
        "(due:: x)",
        "::",
        "#tag",
        "^blk",
        "📅 2024-01-01",
        "🔁 every day",
        "⏱ 1h",
        "⏱ soon",
        "x",
        "é",
        "日本",
        "\u{0}",
        "&#x23EB;",
        "\\",
        "[[",
        "]]",
        "|",
        "- ",
        "1.",
        "\u{2028}",
    ]);
    prop::collection::vec(fragment, 0..40).prop_map(|v| v.concat())
}

fn exercise(text: &str) {
    let _ = markdown::parse(text);
    let Ok(mut doc) = MarkdownDocument::parse(text) else {
        return;
    };
    let ids: Vec<TaskId> = doc.tasks().iter().map(|t| t.id.clone()).take(4).collect();
    for id in &ids {
        for s in Status::ALL {
            let _ = doc.set_status(id.as_str(), s);
        }
        let _ = doc.set_title(id.as_str(), "new ⏫ #t");
        let _ = doc.update(id.as_str(), |t| {
            t.description = "desc".into();
            t.priority = Priority::Low;
            t.tags.push(Tag::new("x").unwrap());
        });
    }
    let again = MarkdownDocument::parse(doc.as_str()).unwrap();
    assert_eq!(
        again.tasks(),
        doc.tasks(),
        "after edits:\n{:?}",
        doc.as_str()
    );
    let list = markdown::parse(text).unwrap();
    if let Ok(rendered) = markdown::render(&list) {
        assert_eq!(markdown::parse(&rendered).unwrap(), list);
    }
}

proptest! {
    #![proptest_config(common::cases(512))]

    #[test]
    fn arbitrary_input_never_panics(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn markdownish_input_never_panics(text in markdownish()) {
        exercise(&text);
    }
}

#[test]
fn nasty_inputs_never_panic() {
    let deep_list: String = (0..200)
        .map(|i| format!("{}- [ ] d{i}\n", "  ".repeat(i)))
        .collect();
    let deep_quote = format!("{}- [ ] q\n", "> ".repeat(500));
    let inputs = [
        String::new(),
        "\u{0}".into(),
        "- [".into(),
        "- [ ".into(),
        "- [ ]".into(),
        "- [\u{0}] x".into(),
        "- [ ] \u{FE0F}".into(),
        "- [ ] 🆔".into(),
        "- [ ] x ⏫\u{FE0F}\u{FE0F}".into(),
        "- [ ] [a:: [b:: c]]".into(),
        "- [ ] ]]]] ((((".into(),
        "```\n- [ ] unclosed fence".into(),
        "<!--\n- [ ] unclosed comment".into(),
        "- [ ] a\r- [ ] b\r\r- [ ] c".into(),
        "\t-\t[ ]\tx\t🆔\ta".into(),
        "- [ ] &#x110000; &#xD800; &#99999999; &#;".into(),
        "1234567890. [ ] too many digits".into(),
        "- [ ] 日本語\u{FE0F}".into(),
        deep_list,
        deep_quote,
        "- [ ] x\n".repeat(300),
    ];
    for text in &inputs {
        exercise(text);
    }
}

#[test]
fn a_byte_order_mark_is_skipped_when_reading_and_kept_when_editing() {
    let text = "\u{feff}- [ ] First 🆔 a\r\n- [ ] Second\r\n";
    let list = markdown::parse(text).unwrap();
    assert_eq!(list.tasks.len(), 2);
    assert_eq!(list.tasks[0].title, "First");
    let mut doc = MarkdownDocument::parse(text).unwrap();
    doc.set_status("a", Status::Done).unwrap();
    doc.set_title("a", "First task").unwrap();
    assert_eq!(
        doc.as_str(),
        "\u{feff}- [x] First task 🆔 a\r\n- [ ] Second\r\n"
    );
}

#[test]
fn with_lone_cr_endings_an_edit_that_would_change_other_lines_is_refused_and_undone() {
    let text = "```\r- [ ] ```";
    let mut doc = MarkdownDocument::parse(text).unwrap();
    assert_eq!(
        doc.tasks().len(),
        1,
        "pulldown-cmark reads the item as a task"
    );
    let id = doc.tasks()[0].id.clone();
    let err = doc.set_title(id.as_str(), "new ⏫ #t").unwrap_err();
    assert!(matches!(err, Error::Unrepresentable { .. }), "{err}");
    assert_eq!(doc.as_str(), text);
    assert_eq!(doc.tasks().len(), 1);
    // Edits that keep the structure still work in such a file.
    doc.set_status(id.as_str(), Status::Done).unwrap();
    assert_eq!(doc.as_str(), "```\r- [x] ```");
}

#[test]
fn a_description_line_that_a_vertical_tab_or_form_feed_makes_a_heading_is_refused() {
    for blank in ['\u{b}', '\u{c}'] {
        let mut task = Task::new(TaskId::new("a").unwrap(), "x");
        task.description = format!("first\n#{blank}b");
        let err = markdown::render(&TaskList::new(vec![task])).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Unrepresentable {
                    field: "description",
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn tasks_in_obsidian_comments_are_hidden_and_comments_survive_edits_byte_for_byte() {
    let text = "# Week\n\
                - [ ] Visible 🆔 v\n\
                %%\n\
                - [ ] Hidden in a block comment 🆔 h\n\
                %%\n\
                - [ ] Call Ann %%not Bob%% 🆔 c\n\
                Notes %% an inline comment that runs on\n\
                - [ ] Hidden too\n\
                and closes here %%\n\
                - [x] Done ✅ 2026-01-02\n";
    let titles: Vec<String> = parse(text).into_iter().map(|t| t.title).collect();
    assert_eq!(titles, ["Visible", "Call Ann %%not Bob%%", "Done"]);

    let mut doc = MarkdownDocument::parse(text).unwrap();
    assert!(doc.get("h").is_none());
    doc.set_status("v", Status::Done).unwrap();
    doc.set_status("c", Status::Done).unwrap();
    let expected = text
        .replace("- [ ] Visible", "- [x] Visible")
        .replace("- [ ] Call Ann", "- [x] Call Ann");
    assert_eq!(doc.as_str(), expected);
}

#[test]
fn render_never_opens_an_obsidian_comment() {
    // A title with `%%` is escaped and reads back the same.
    let t = task("p", "50% done, %%not%% a comment");
    let out = round_trip(vec![t.clone(), task("q", "after")]);
    assert!(out.contains(r"\%\%not\%\%"), "{out}");
    // Where there is no escape, `%%` is refused.
    let mut d = task("d", "x");
    d.description = "see %% here".to_owned();
    assert_eq!(unrepresentable_field(d), "description");
    let mut c = task("c", "x");
    c.category = "a %% b".to_owned();
    assert_eq!(unrepresentable_field(c), "category");
    let mut e = task("e", "x");
    e.extra.insert("note".to_owned(), Value::from("%%"));
    assert_eq!(unrepresentable_field(e), "extra");
}

#[test]
fn an_edit_that_would_re_pair_comment_markers_is_refused_and_undone() {
    let text = "- [ ] Draft %% 🆔 d\n- [ ] hidden\n%%\n- [ ] Ship 🆔 s\n";
    let mut doc = MarkdownDocument::parse(text).unwrap();
    assert_eq!(doc.tasks().len(), 2);
    // Rewriting the title drops the `%%` that opens the comment.
    let err = doc.set_title("d", "Draft").unwrap_err();
    assert!(err.to_string().contains("comments pair"), "{err}");
    assert_eq!(doc.as_str(), text);
    // Edits that keep the markers go through.
    doc.set_status("d", Status::Done).unwrap();
    doc.set_title("s", "Ship it").unwrap();
    assert_eq!(
        doc.as_str(),
        "- [x] Draft %% 🆔 d\n- [ ] hidden\n%%\n- [ ] Ship it 🆔 s\n"
    );
}
