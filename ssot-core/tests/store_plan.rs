//! `Store::plan`: one dependency graph over every task file, with every problem
//! reported at the `file:line` of the tasks and dependencies involved.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_common;

use std::time::Duration;

use ssot_core::Error;
use ssot_core::graph::State;
use ssot_core::store::{Location, ProblemKind, Store};
use ssot_core::{Status, TaskId};
use store_common::{copy_of, write};

fn ids(ids: &[TaskId]) -> Vec<&str> {
    ids.iter().map(TaskId::as_str).collect()
}

fn invalid(store: &Store) -> ssot_core::store::Report {
    match store.plan() {
        Err(Error::Invalid(report)) => *report,
        other => panic!("expected an invalid plan, got {other:?}"),
    }
}

#[test]
fn one_plan_spans_every_task_file() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let plan = store.plan().unwrap();
    assert_eq!(plan.len(), 7);
    assert_eq!(ids(plan.ready()), ["build", "docs", "lint", "polish"]);

    let blocked: Vec<(&str, Vec<&str>, Vec<&str>)> = plan
        .blocked()
        .iter()
        .map(|b| (b.id.as_str(), ids(&b.waiting_on), ids(&b.root_causes)))
        .collect();
    assert_eq!(
        blocked,
        [
            // `ship` waits on `test`, in another file, which waits on `build`.
            ("ship", vec!["build", "docs", "test"], vec!["build", "docs"]),
            ("test", vec!["build"], vec!["build"]),
        ]
    );
    let waves: Vec<Vec<&str>> = plan.waves().iter().map(|w| ids(w)).collect();
    assert_eq!(
        waves,
        [
            vec!["design", "lint", "polish"],
            vec!["build", "docs"],
            vec!["test"],
            vec!["ship"]
        ]
    );
    // Remaining work: `design` is done and weighs nothing.
    let critical = plan.critical_path().unwrap();
    assert_eq!(critical.total, Duration::from_secs(13 * 3600));
    assert!(ids(&critical.tasks).ends_with(&["build", "test", "ship"]));
    assert_eq!(critical.unestimated, 1); // polish

    // Where each task is written.
    assert_eq!(
        plan.task("build").unwrap().location,
        Location::at("todo.md", Some(6), None)
    );
    assert_eq!(
        plan.task("test").unwrap().location,
        Location::at("ci.tasks.yaml", Some(3), None)
    );
    assert_eq!(
        plan.task("polish").unwrap().location,
        Location::at("backlog.yaml", Some(1), None)
    );
    assert_eq!(
        plan.graph().state(&TaskId::new("design").unwrap()),
        Some(State::Done)
    );
}

#[test]
fn next_task_follows_the_queue_order_among_ready_tasks() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    // Ready: build (high), docs (normal), lint (high), polish (low); high first,
    // then by id.
    let next = store.next_task().unwrap().unwrap();
    assert_eq!(next.task.id, "build");
    assert_eq!(next.location.to_string(), "todo.md:6");

    write(
        dir.path(),
        "todo.md",
        "- [ ] Only this 🆔 only\n- [x] Done 🆔 done 🔺\n",
    );
    write(dir.path(), "ci.tasks.yaml", "tasks: []\n");
    write(dir.path(), "backlog.yaml", "[]\n");
    assert_eq!(store.next_task().unwrap().unwrap().task.id, "only");
    write(dir.path(), "todo.md", "- [x] Done 🆔 done\n");
    assert!(store.next_task().unwrap().is_none());
}

#[test]
fn a_duplicate_id_across_files_is_reported_with_both_locations() {
    let dir = copy_of("basic");
    write(dir.path(), "later.md", "\n- [ ] Another lint 🆔 lint\n");
    let store = Store::open(dir.path()).unwrap();
    let report = invalid(&store);
    assert_eq!(report.problems().len(), 1, "{report}");
    let p = &report.problems()[0];
    assert_eq!(p.kind, ProblemKind::DuplicateId);
    // Files are read in path order: ci.tasks.yaml comes first.
    assert_eq!(
        p.to_string(),
        "later.md:2: task id `lint` is also used at ci.tasks.yaml:8; ids are unique across the store: give one of them another id"
    );
    assert_eq!(p.related, [Location::at("ci.tasks.yaml", Some(8), None)]);
    let json = report.to_json();
    assert_eq!(json["problems"][0]["related"][0]["file"], "ci.tasks.yaml");
}

#[test]
fn an_unknown_dependency_is_reported_where_it_is_written() {
    let dir = copy_of("basic");
    write(
        dir.path(),
        "ci.tasks.yaml",
        "tasks:\n  - id: test\n    title: Test\n    dependencies:\n      - build\n      - compile\n",
    );
    let env = std::collections::BTreeMap::from([("DB_HOST".to_owned(), "db".to_owned())]);
    let store = Store::builder().env(env).open(dir.path()).unwrap();
    let report = invalid(&store);
    assert_eq!(report.problems().len(), 1, "{report}");
    assert_eq!(
        report.problems()[0].to_string(),
        "ci.tasks.yaml:6: task `test` depends on `compile`, which no task file of the store holds; add that task, correct the id, or remove the dependency"
    );
    // validate() reports the same.
    assert_eq!(store.validate().unwrap().problems(), report.problems());
}

#[test]
fn a_cycle_across_files_names_the_place_of_each_edge() {
    let dir = copy_of("basic");
    // design (todo.md) now depends on test (ci.tasks.yaml), which depends on build,
    // which depends on design.
    let todo = std::fs::read_to_string(dir.path().join("todo.md")).unwrap();
    write(
        dir.path(),
        "todo.md",
        &todo.replace("🆔 design ⏱ 3h", "🆔 design ⛔ test ⏱ 3h"),
    );
    let store = Store::open(dir.path()).unwrap();
    let report = invalid(&store);
    assert_eq!(report.problems().len(), 1, "{report}");
    let p = &report.problems()[0];
    assert_eq!(p.kind, ProblemKind::Cycle);
    assert_eq!(
        p.message,
        "dependency cycle build -> design -> test -> build: \
         `build` depends on `design` at todo.md:6, \
         `design` depends on `test` at todo.md:5, \
         `test` depends on `build` at ci.tasks.yaml:7; remove one of these dependencies"
    );
    assert_eq!(
        p.related,
        [
            Location::at("todo.md", Some(6), None),
            Location::at("todo.md", Some(5), None),
            Location::at("ci.tasks.yaml", Some(7), None),
        ]
    );
}

#[test]
fn a_task_file_that_does_not_parse_stops_the_plan() {
    let dir = copy_of("basic");
    write(
        dir.path(),
        "ci.tasks.yaml",
        "tasks:\n  - id: test\n    title: [\n",
    );
    let store = Store::open(dir.path()).unwrap();
    let report = invalid(&store);
    assert_eq!(report.problems()[0].kind, ProblemKind::Parse);
    assert!(report.to_string().starts_with("ci.tasks.yaml:"), "{report}");
}

#[test]
fn json_and_csv_task_files_have_lines_too() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.tasks.json",
        "{\n  \"tasks\": [\n    {\"id\": \"a\", \"title\": \"A\"},\n    {\n      \"id\": \"b\", \"title\": \"B\",\n      \"dependencies\": [\"a\", \"zz\"]\n    }\n  ]\n}\n",
    );
    write(
        dir.path(),
        "c.tasks.csv",
        "id,title,dependencies\n\nc,C,b\nd,\"D\nover two lines\",c\ne,E,yy\n",
    );
    let store = Store::open(dir.path()).unwrap();
    let report = invalid(&store);
    let got: Vec<String> = report
        .problems()
        .iter()
        .map(|p| p.location.to_string())
        .collect();
    assert_eq!(got, ["a.tasks.json:6", "c.tasks.csv:6"], "{report}");
    let csv = store.task_file("c.tasks.csv").unwrap();
    assert_eq!(csv.location(0).line, Some(3));
    assert_eq!(csv.location(1).line, Some(4));
    let json = store.task_file("a.tasks.json").unwrap();
    assert_eq!(json.location(1).line, Some(4));
}

#[test]
fn the_dot_output_has_every_task_and_dependency() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let plan = store.plan().unwrap();
    let dot = plan.to_dot();
    assert!(dot.starts_with("digraph dependencies {"));
    assert_eq!(dot.matches("label=").count(), 7);
    assert_eq!(dot.matches(" -> ").count(), 6);
    let json = plan.to_json();
    assert_eq!(json["ready"][0]["id"], "build");
    assert_eq!(json["ready"][0]["file"], "todo.md");
    assert_eq!(json["blocked"][0]["root_causes"][0], "build");
    assert_eq!(json["critical_path"]["total_seconds"], 13.0 * 3600.0);
    let text = plan.to_string();
    assert!(
        text.starts_with(
            "7 tasks, 4 ready, 2 blocked\nready    build  Build the artifacts  (todo.md:6)\n"
        ),
        "{text}"
    );
    assert!(text.contains("critical path (13h): "), "{text}");
}

#[test]
fn every_status_maps_to_one_graph_state() {
    let got: Vec<State> = Status::ALL.iter().map(|&s| State::from(s)).collect();
    assert_eq!(
        got,
        [
            State::Pending,
            State::Running,
            State::Done,
            State::OnHold,
            State::Cancelled
        ]
    );
}

#[test]
fn the_plan_shares_tasks_and_root_causes_instead_of_copying_them() {
    let dir = tempfile::tempdir().unwrap();
    // A chain `a <- b <- c <- d`, and `e` held by `d` and by `x` (ready).
    write(
        dir.path(),
        "todo.md",
        "- [ ] A 🆔 a\n- [ ] B 🆔 b ⛔ a\n- [ ] C 🆔 c ⛔ b\n- [ ] D 🆔 d ⛔ c\n\
         - [ ] X 🆔 x\n- [ ] E 🆔 e ⛔ d,x\n",
    );
    let store = Store::open(dir.path()).unwrap();
    let plan = store.plan().unwrap();

    // The planned task is the parsed file's task, not a copy of it.
    let file = store.task_file("todo.md").unwrap();
    let c = plan.task("c").unwrap();
    assert_eq!(c.task.index(), 2);
    assert!(std::ptr::eq::<ssot_core::Task>(&*c.task, &file.tasks()[2]));
    assert_eq!(c.task.title, "C");
    assert_eq!(c.task.to_task(), file.tasks()[2]);

    // Along the chain every blocked task has `a` as root cause: one shared slice.
    let blocked = |id: &str| plan.blocked().iter().find(|b| b.id == id).unwrap();
    for id in ["b", "c", "d"] {
        assert_eq!(ids(&blocked(id).root_causes), ["a"]);
    }
    assert!(std::sync::Arc::ptr_eq(
        &blocked("b").root_causes,
        &blocked("d").root_causes
    ));
    assert_eq!(ids(&blocked("e").root_causes), ["a", "x"]);
}
