//! The `ssot` command end to end: the built binary run on temporary directories and
//! on a copy of the shipped example store (`examples/data/store`), checking its
//! output, its streams and its exit codes.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `ssot -C dir args...` with a clean colour environment.
fn ssot(dir: &Path, args: &[&str]) -> Output {
    ssot_env(dir, args, &[])
}

fn ssot_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssot"));
    cmd.arg("-C").arg(dir).args(args);
    cmd.env_remove("NO_COLOR");
    cmd.env("USER", "tester");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the ssot binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 output")
}

/// A copy of the shipped example store in a fresh temporary directory.
fn example_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/store");
    copy_dir(&from, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read shipped data") {
        let entry = entry.expect("dir entry");
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A small store: two task files, one cross-file dependency.
fn small_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("todo.md"),
        "# Work\n\n- [ ] Build 🆔 build ⏱ 2h ⏫\n- [ ] Ship 🆔 ship ⛔ build,test\n",
    )
    .expect("write");
    fs::write(
        dir.path().join("ci.tasks.yaml"),
        "# CI\n- id: test   # the suite\n  title: Test\n  dependencies: [build]\n",
    )
    .expect("write");
    dir
}

#[test]
fn help_documents_every_subcommand_and_the_exit_codes() {
    let o = Command::new(env!("CARGO_BIN_EXE_ssot"))
        .arg("--help")
        .output()
        .expect("runs");
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    for sub in [
        "init", "validate", "plan", "next", "done", "set", "add", "remove", "patch", "log",
        "history", "diff", "rollback", "status", "explain", "watch", "health",
    ] {
        assert!(text.contains(sub), "--help lists `{sub}`:\n{text}");
    }
    assert!(text.contains("Exit codes:"), "{text}");
    assert!(text.contains("3  I/O or store failure"), "{text}");
}

#[test]
fn a_usage_error_exits_2() {
    let dir = small_store();
    let o = ssot(dir.path(), &["frobnicate"]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("frobnicate"));
}

#[test]
fn a_missing_directory_is_an_io_failure_exit_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = ssot(&dir.path().join("nowhere"), &["plan"]);
    assert_eq!(code(&o), 3);
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert!(stderr(&o).contains("nowhere"), "{}", stderr(&o));
    let json = ssot(&dir.path().join("nowhere"), &["plan", "--json"]);
    assert_eq!(code(&json), 3);
    let e: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(e["error"]["exit_code"], 3);
    assert!(e["error"]["message"].as_str().unwrap().contains("nowhere"));
}

#[test]
fn init_writes_a_manifest_once_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = ssot(dir.path(), &["init"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(dir.path().join("ssot.yaml").is_file());
    assert!(stdout(&o).contains("initialized a store"));

    let manifest = fs::read(dir.path().join("ssot.yaml")).expect("read");
    let again = ssot(dir.path(), &["init"]);
    assert_eq!(code(&again), 1);
    assert!(
        stderr(&again).contains("already a store"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        fs::read(dir.path().join("ssot.yaml")).expect("read"),
        manifest
    );
}

#[test]
fn validate_prints_each_problem_as_file_line_col_and_exits_1() {
    let dir = example_store();
    let o = ssot_env(dir.path(), &["validate"], &[("DB_HOST", "db")]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    let prefix = dir.path().join("services/web.yaml:3:7: ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&*prefix.to_string_lossy()))
        .unwrap_or_else(|| panic!("a problem at services/web.yaml:3:7 in:\n{text}"));
    assert!(
        line.contains("80800 is greater than the maximum of 65535"),
        "{line}"
    );
    assert!(text.ends_with("1 problem\n"), "{text}");
    assert!(!text.contains('\x1b'), "no colour in a pipe: {text:?}");
}

#[test]
fn validate_json_is_the_report_on_stdout() {
    let dir = example_store();
    let o = ssot_env(dir.path(), &["--json", "validate"], &[("DB_HOST", "db")]);
    assert_eq!(code(&o), 1);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(report["valid"], false);
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["file"], "services/web.yaml");
    assert_eq!(problems[0]["line"], 3);
    assert_eq!(problems[0]["column"], 7);
    assert_eq!(problems[0]["kind"], "schema");
}

#[test]
fn validate_of_a_valid_store_exits_0() {
    let dir = small_store();
    // (The example store's one problem is elsewhere, on purpose.)
    let o = ssot_env(dir.path(), &["validate"], &[("DB_HOST", "db")]);
    assert!(!stdout(&o).contains("registries"), "{}", stdout(&o));
    assert_eq!(stdout(&o), "no problems in 2 files\n");
    let json = ssot(dir.path(), &["validate", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(report, serde_json::json!({"valid": true, "problems": []}));
}

#[test]
fn plan_shows_ready_and_blocked_tasks_across_files() {
    let dir = example_store();
    let o = ssot(dir.path(), &["plan"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("6 tasks: 3 ready, 2 blocked"), "{text}");
    let test = text
        .lines()
        .find(|l| l.trim_start().starts_with("test "))
        .unwrap_or_else(|| panic!("a row for `test`:\n{text}"));
    assert!(test.contains("ci.tasks.yaml:3"), "{test}");
    assert!(test.contains("waits on build"), "{test}");
    assert!(
        text.contains("critical path (13h): design -> build -> test -> ship"),
        "{text}"
    );
}

#[test]
fn plan_json_and_dot_are_machine_readable() {
    let dir = example_store();
    let o = ssot(dir.path(), &["plan", "--json"]);
    assert_eq!(code(&o), 0);
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let ready: Vec<&str> = plan["ready"]
        .as_array()
        .expect("ready")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ready, ["build", "docs", "lint"]);
    assert_eq!(plan["tasks"], 6);

    let dot = ssot(dir.path(), &["plan", "--dot"]);
    assert_eq!(code(&dot), 0);
    let text = stdout(&dot);
    assert!(text.starts_with("digraph"), "{text}");
    assert!(text.trim_end().ends_with('}'), "{text}");

    let both = ssot(dir.path(), &["plan", "--dot", "--json"]);
    assert_eq!(code(&both), 2, "--dot and --json conflict");
}

#[test]
fn plan_of_a_store_with_a_cycle_reports_it_on_stderr_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("todo.md"),
        "- [ ] A 🆔 a ⛔ b\n- [ ] B 🆔 b ⛔ a\n",
    )
    .expect("write");
    let o = ssot(dir.path(), &["plan"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty(), "nothing on stdout: {}", stdout(&o));
    let err = stderr(&o);
    let at = format!("{}:", dir.path().join("todo.md").display());
    assert!(
        err.lines().next().is_some_and(|l| l.starts_with(&at)),
        "{err}"
    );
    assert!(err.contains("dependency cycle"), "{err}");

    // With --json, the error is also a JSON document on stdout.
    let json = ssot(dir.path(), &["plan", "--json"]);
    assert_eq!(code(&json), 1);
    let e: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(e["error"]["exit_code"], 1);
    assert_eq!(e["error"]["problems"][0]["kind"], "cycle");
    assert_eq!(e["error"]["problems"][0]["file"], "todo.md");
}

#[test]
fn next_names_the_first_ready_task_and_its_place() {
    let dir = small_store();
    let o = ssot(dir.path(), &["next"]);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    assert!(text.starts_with("build  Build  "), "{text}");
    assert!(text.contains("todo.md:3"), "{text}");

    let id = ssot(dir.path(), &["next", "--id"]);
    assert_eq!(stdout(&id), "build\n");

    let json = ssot(dir.path(), &["next", "--json"]);
    let task: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(task["id"], "build");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["file"], "todo.md");
    assert_eq!(task["line"], 3);
}

#[test]
fn next_exits_1_when_nothing_is_ready() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("todo.md"), "- [x] Done 🆔 a\n").expect("write");
    let o = ssot(dir.path(), &["next", "--id"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("nothing is ready"));
    let json = ssot(dir.path(), &["next", "--json"]);
    assert_eq!(code(&json), 1);
    assert_eq!(stdout(&json).trim(), "null");
}

#[test]
fn explain_names_the_file_and_line_that_set_a_value_and_what_it_overrode() {
    let dir = example_store();
    let o = ssot_env(
        dir.path(),
        &["explain", "app", "database.pool"],
        &[("DB_HOST", "db")],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("database.pool = 20\n"), "{text}");
    assert!(text.contains("config/production.yaml:4:3"), "{text}");
    assert!(text.contains("overrides"), "{text}");
    assert!(text.contains("config/base.yaml:5:3 (5)"), "{text}");

    let json = ssot_env(
        dir.path(),
        &["explain", "app", "database.password", "--json"],
        &[("DB_HOST", "db"), ("DB_PASSWORD", "hunter2")],
    );
    assert_eq!(code(&json), 0);
    assert!(!stdout(&json).contains("hunter2"), "secrets stay masked");
    let e: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(e["secret"], true);
    assert_eq!(e["set_by"]["file"], "config/base.yaml");
}

#[test]
fn explain_of_an_unknown_key_or_configuration_exits_1() {
    let dir = example_store();
    let key = ssot_env(
        dir.path(),
        &["explain", "app", "nope"],
        &[("DB_HOST", "db")],
    );
    assert_eq!(code(&key), 1);
    assert!(stderr(&key).contains("no key `nope`"), "{}", stderr(&key));
    let config = ssot(dir.path(), &["explain", "nope", "x"]);
    assert_eq!(code(&config), 1);
    assert!(
        stderr(&config).contains("declared: app"),
        "{}",
        stderr(&config)
    );
}

#[test]
fn colour_only_when_asked_for_or_on_a_terminal() {
    let dir = small_store();
    let piped = ssot(dir.path(), &["plan"]);
    assert!(!stdout(&piped).contains('\x1b'));
    let always = ssot(dir.path(), &["plan", "--color", "always"]);
    assert!(
        stdout(&always).contains("\x1b[32m"),
        "{:?}",
        stdout(&always)
    );
    let never = ssot(dir.path(), &["plan", "--color", "never"]);
    assert_eq!(stdout(&never), stdout(&piped));
}

#[test]
fn the_shipped_example_store_plans_from_the_current_directory() {
    // No -C: paths are printed as they are reached from the current directory.
    let dir = example_store();
    let o = Command::new(env!("CARGO_BIN_EXE_ssot"))
        .current_dir(dir.path())
        .args(["plan", "--color", "never"])
        .output()
        .expect("runs");
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("  build   Build the artifacts  todo.md:6\n"),
        "{}",
        stdout(&o)
    );
}

// ---- changes --------------------------------------------------------------------

#[test]
fn done_marks_a_task_done_in_place_and_the_log_names_the_actor() {
    let dir = small_store();
    let before = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    let o = ssot(dir.path(), &["done", "build"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("set build to done"), "{}", stdout(&o));
    let after = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    assert_eq!(
        after,
        before.replace("- [ ] Build 🆔 build", "- [x] Build 🆔 build"),
        "only the task's checkbox changed"
    );

    let log = ssot(dir.path(), &["log", "--json"]);
    assert_eq!(code(&log), 0, "{}", stderr(&log));
    let records: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    let last = records.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["operation"],
        serde_json::json!({"op": "set-status", "id": "build", "status": "done"})
    );
    assert_eq!(last["actor"], "tester");
    assert_eq!(last["path"], "todo.md");

    let next = ssot(
        dir.path(),
        &["--actor", "alice", "set", "test", "in-progress"],
    );
    assert_eq!(code(&next), 0, "{}", stderr(&next));
    let text = stdout(&ssot(dir.path(), &["log", "-n", "1"]));
    assert!(text.contains("alice"), "{text}");
    assert!(text.contains("set test to in_progress"), "{text}");
    assert!(
        !text.contains("set build"),
        "-n 1 shows only the last revision: {text}"
    );
    let since: serde_json::Value =
        serde_json::from_slice(&ssot(dir.path(), &["log", "--since", "1", "--json"]).stdout)
            .unwrap();
    let revisions: Vec<u64> = since
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, [2], "--since 1 shows the revisions after 1");
}

#[test]
fn a_change_of_an_unknown_task_exits_1_and_writes_nothing() {
    let dir = small_store();
    let o = ssot(dir.path(), &["done", "nope"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let log = ssot(dir.path(), &["log", "--json"]);
    assert_eq!(code(&log), 0, "{}", stderr(&log));
    assert_eq!(stdout(&log).trim(), "[]", "no revision was made");
}

#[test]
fn an_illegal_status_change_is_refused_with_exit_1() {
    let dir = small_store();
    assert_eq!(code(&ssot(dir.path(), &["done", "build"])), 0);
    let o = ssot(dir.path(), &["set", "build", "in-progress"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("cannot change status from done to in_progress"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_malformed_status_json_or_id_is_a_usage_error() {
    let dir = small_store();
    let status = ssot(dir.path(), &["set", "build", "finished"]);
    assert_eq!(code(&status), 2);
    assert!(
        stderr(&status).contains("unknown status `finished`"),
        "{}",
        stderr(&status)
    );
    let json = ssot(dir.path(), &["patch", "ci.tasks.yaml", "{not json"]);
    assert_eq!(code(&json), 2);
    let id = ssot(dir.path(), &["done", "a b"]);
    assert_eq!(code(&id), 2);
}

#[test]
fn add_writes_a_task_in_the_files_style_and_keeps_its_comments() {
    let dir = small_store();
    let o = ssot(
        dir.path(),
        &[
            "add",
            "ci.tasks.yaml",
            "Deploy it",
            "-d",
            "test",
            "-e",
            "1h",
            "-p",
            "high",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("added deploy-it"), "{}", stdout(&o));
    let text = fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap();
    assert!(
        text.starts_with("# CI\n- id: test   # the suite\n"),
        "{text}"
    );
    assert!(text.contains("- id: deploy-it"), "{text}");

    let plan: serde_json::Value =
        serde_json::from_slice(&ssot(dir.path(), &["plan", "--json"]).stdout).unwrap();
    let blocked = plan["blocked"].as_array().unwrap();
    let deploy = blocked.iter().find(|b| b["id"] == "deploy-it").unwrap();
    assert_eq!(deploy["waiting_on"], serde_json::json!(["test"]));
    assert_eq!(deploy["file"], "ci.tasks.yaml");
}

#[test]
fn add_with_an_unknown_dependency_is_refused_and_the_file_is_untouched() {
    let dir = small_store();
    let before = fs::read(dir.path().join("todo.md")).unwrap();
    let o = ssot(dir.path(), &["add", "todo.md", "Docs", "-d", "nowhere"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("nowhere"), "{err}");
    assert!(err.contains("todo.md:"), "problems are located: {err}");
    assert!(
        err.ends_with("the change was refused; no file was written\n"),
        "{err}"
    );
    assert_eq!(fs::read(dir.path().join("todo.md")).unwrap(), before);
}

#[test]
fn remove_is_refused_while_a_task_depends_on_it_and_then_removes_the_line() {
    let dir = small_store();
    let o = ssot(dir.path(), &["remove", "build"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stderr(&o).contains("build"), "{}", stderr(&o));

    let o = ssot(dir.path(), &["remove", "ship"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("removed ship"), "{}", stdout(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("todo.md")).unwrap(),
        "# Work\n\n- [ ] Build 🆔 build ⏱ 2h ⏫\n"
    );
}

#[test]
fn patch_changes_a_configuration_in_place_and_prints_the_changed_lines() {
    let dir = example_store();
    let o = ssot(
        dir.path(),
        &[
            "patch",
            "config/production.yaml",
            r#"{"database": {"pool": 40}}"#,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("patched"), "{text}");
    assert!(text.contains("-   pool: 20\n"), "{text}");
    assert!(text.contains("+   pool: 40\n"), "{text}");
    let file = fs::read_to_string(dir.path().join("config/production.yaml")).unwrap();
    assert!(file.starts_with("# Production overrides.\n"), "{file}");
    assert!(file.contains("  pool: 40\n"), "{file}");
}

#[test]
fn a_patch_that_breaks_the_schema_is_refused_and_the_file_is_untouched() {
    let dir = example_store();
    let before = fs::read(dir.path().join("services/api.yaml")).unwrap();
    let o = ssot(
        dir.path(),
        &["patch", "services/api.yaml", r#"{"port": 0}"#],
    );
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let err = stderr(&o);
    let at = format!("{}:", dir.path().join("services/api.yaml").display());
    assert!(err.lines().any(|l| l.starts_with(&at)), "{err}");
    assert_eq!(
        fs::read(dir.path().join("services/api.yaml")).unwrap(),
        before
    );
}

#[test]
fn a_change_prints_its_commit_as_json() {
    let dir = small_store();
    let o = ssot(dir.path(), &["done", "build", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let commit: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let revision = commit["revision"].as_u64().unwrap();
    assert!(revision >= 1);
    let records = commit["records"].as_array().unwrap();
    assert!(records.iter().all(|r| r["revision"] == revision));
    assert!(records.iter().any(|r| r["path"] == "todo.md"));
}

#[test]
fn log_verify_detects_a_rewritten_audit_log() {
    let dir = small_store();
    assert_eq!(code(&ssot(dir.path(), &["done", "build"])), 0);
    let ok = ssot(dir.path(), &["log", "--verify"]);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));
    assert!(
        stdout(&ok).starts_with("audit log intact"),
        "{}",
        stdout(&ok)
    );

    let path = dir.path().join(".ssot/audit.log");
    let log = fs::read_to_string(&path).unwrap();
    fs::write(&path, log.replace("tester", "mallory")).unwrap();
    let bad = ssot(dir.path(), &["log", "--verify"]);
    assert_eq!(code(&bad), 1, "{}", stdout(&bad));
    assert!(
        stdout(&bad).contains(".ssot/audit.log:1:"),
        "{}",
        stdout(&bad)
    );
}

// ---- versions and drift ---------------------------------------------------------

/// The version ids of `history --json`, newest first.
fn versions(dir: &Path) -> Vec<String> {
    let o = ssot(dir, &["history", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn history_diff_and_rollback_restore_an_earlier_version_as_a_new_revision() {
    // The shipped store snapshots every change.
    let dir = example_store();
    let todo = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    assert_eq!(code(&ssot(dir.path(), &["done", "build"])), 0);
    let after_done = versions(dir.path());
    assert_eq!(
        code(&ssot(
            dir.path(),
            &["patch", "services/web.yaml", r#"{"port": 8080}"#]
        )),
        0
    );
    let all = versions(dir.path());
    assert_eq!(all.len(), after_done.len() + 1);
    let (newest, before_done) = (&all[0], after_done.last().unwrap());

    let text = stdout(&ssot(dir.path(), &["history"]));
    assert!(
        text.lines().next().unwrap().starts_with(&newest[..8]),
        "{text}"
    );

    let diff = ssot(dir.path(), &["diff", before_done, newest, "--json"]);
    assert_eq!(code(&diff), 0, "{}", stderr(&diff));
    let diff: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(
        diff["modified"],
        serde_json::json!(["services/web.yaml", "todo.md"])
    );

    // Back to the files as shipped: a new revision, the task pending again.
    let o = ssot(dir.path(), &["rollback", &before_done[..8]]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("rolled back to"), "{}", stdout(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("todo.md")).unwrap(),
        todo
    );
    let web = fs::read_to_string(dir.path().join("services/web.yaml")).unwrap();
    assert!(web.contains("port: 80800"), "{web}");
    assert_eq!(versions(dir.path()).len(), all.len() + 1);
}

#[test]
fn rollback_to_an_unknown_version_exits_1() {
    let dir = small_store();
    assert_eq!(code(&ssot(dir.path(), &["done", "build"])), 0);
    let o = ssot(dir.path(), &["rollback", "ffffffffff"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("ffffffffff"), "{}", stderr(&o));
}

#[test]
fn status_reports_an_outside_edit_with_exit_1_until_it_is_recorded() {
    let dir = small_store();
    assert_eq!(code(&ssot(dir.path(), &["done", "build"])), 0);
    let clean = ssot(dir.path(), &["status"]);
    assert_eq!(code(&clean), 0, "{}", stdout(&clean));
    assert!(stdout(&clean).is_empty());

    let mut todo = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    todo.push_str("- [ ] Docs 🆔 docs\n");
    fs::write(dir.path().join("todo.md"), todo).unwrap();
    let o = ssot(dir.path(), &["status"]);
    assert_eq!(code(&o), 1);
    let expected = format!("modified  {}\n", dir.path().join("todo.md").display());
    assert_eq!(stdout(&o), expected);
    let json: serde_json::Value =
        serde_json::from_slice(&ssot(dir.path(), &["status", "--json"]).stdout).unwrap();
    assert_eq!(json["modified"], serde_json::json!(["todo.md"]));

    let record = ssot(dir.path(), &["status", "--record"]);
    assert_eq!(code(&record), 0, "{}", stderr(&record));
    assert!(
        stdout(&record).contains("changed outside the store"),
        "{}",
        stdout(&record)
    );
    assert_eq!(code(&ssot(dir.path(), &["status"])), 0);
}

// ---- health and watch -----------------------------------------------------------

#[test]
fn health_exits_1_while_the_store_needs_attention_and_0_when_it_is_healthy() {
    let dir = example_store();
    let env = [("DB_HOST", "db")];
    let sick = ssot_env(dir.path(), &["health"], &env);
    assert_eq!(code(&sick), 1, "{}", stderr(&sick));
    let text = stdout(&sick);
    assert!(text.contains("needs attention"), "{text}");
    assert!(text.contains("validation  1 problem"), "{text}");
    assert!(text.ends_with('\n'), "{text:?}");

    // The fix is a change, which also records the baseline: no drift is left.
    let fix = ssot_env(
        dir.path(),
        &["patch", "services/web.yaml", r#"{"port": 8080}"#],
        &env,
    );
    assert_eq!(code(&fix), 0, "{}", stderr(&fix));
    let well = ssot_env(dir.path(), &["health", "--json"], &env);
    assert_eq!(code(&well), 0, "{}", stdout(&well));
    let health: serde_json::Value = serde_json::from_slice(&well.stdout).unwrap();
    assert_eq!(health["validation"]["valid"], true);
    assert_eq!(health["revision"], 1);
    assert_eq!(health["audit"]["intact"], true);
}

#[test]
fn watch_prints_an_outside_edit_and_other_processes_changes_as_they_are_committed() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let dir = small_store();
    // A first change, so that the log has a baseline and revision 1.
    assert_eq!(code(&ssot(dir.path(), &["done", "build"])), 0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssot"))
        .arg("-C")
        .arg(dir.path())
        .args(["watch", "--count", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The watch is in place once it says so on standard error.
    let mut ready = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("watching "), "{ready}");

    // An edit by hand, then a change by another process.
    let mut todo = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    todo.push_str("- [ ] Docs 🆔 docs\n");
    // Replaced in one rename, as editors save: a plain `fs::write` truncates first, and
    // a watcher that reads between the truncation and the write rightly records the
    // empty file as one more outside change, which would make the event count racy.
    let tmp = dir.path().join(".todo.md.tmp");
    fs::write(&tmp, todo).unwrap();
    fs::rename(&tmp, dir.path().join("todo.md")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while ssot(dir.path(), &["status"]).status.code() != Some(0) {
        assert!(Instant::now() < deadline, "the watcher records the edit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(code(&ssot(dir.path(), &["done", "docs"])), 0);

    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("watch --count 2 did not end");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{out}");
    assert_eq!(events[0]["revision"], 2);
    assert_eq!(events[0]["external"], true);
    assert_eq!(events[0]["path"], "todo.md");
    assert_eq!(events[1]["revision"], 3);
    assert_eq!(events[1]["external"], false, "{out}");
    assert_eq!(events[1]["operation"]["op"], "set-status");
}

#[test]
fn status_shows_the_problems_of_a_drifted_file_at_file_line_col() {
    let dir = small_store();
    assert_eq!(code(&ssot(dir.path(), &["done", "build"])), 0);
    fs::write(
        dir.path().join("ci.tasks.yaml"),
        "- id: test\n  title: Test\n  priority: urgent\n",
    )
    .unwrap();
    let o = ssot(dir.path(), &["status"]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    let at = format!("{}:3", dir.path().join("ci.tasks.yaml").display());
    assert!(text.lines().any(|l| l.starts_with(&at)), "{text}");
    assert!(text.contains("urgent"), "{text}");
}

#[test]
fn plan_lists_tasks_in_progress_and_on_hold_apart_from_ready_and_blocked() {
    let dir = small_store();
    assert_eq!(code(&ssot(dir.path(), &["set", "build", "in-progress"])), 0);
    assert_eq!(code(&ssot(dir.path(), &["set", "ship", "blocked"])), 0);
    let text = stdout(&ssot(dir.path(), &["plan"]));
    assert!(
        text.starts_with("3 tasks: 0 ready, 1 blocked, 1 in progress, 1 on hold, 0 done\n"),
        "{text}"
    );
    let after = |heading: &str| {
        let i = text.find(&format!("\n{heading}\n")).unwrap();
        text[i + heading.len() + 2..]
            .lines()
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(
        after("in progress").trim_start().starts_with("build "),
        "{text}"
    );
    assert!(after("on hold").trim_start().starts_with("ship "), "{text}");
    assert!(after("blocked").trim_start().starts_with("test "), "{text}");
}

/// A store whose YAML tasks carry shell commands: `build` (`true`), `test` (`false`,
/// after `build`), `ship` (`true`, after `test`); `manual` (Markdown) has none.
fn command_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("todo.md"), "- [ ] Manual 🆔 manual\n").expect("write");
    fs::write(
        dir.path().join("ci.tasks.yaml"),
        "tasks:\n  - id: build\n    title: Build\n    status: pending\n    command: \"true\"\n  \
         - id: test\n    title: Test\n    status: pending\n    command: \"false\"\n    dependencies: [build]\n  \
         - id: ship\n    title: Ship\n    status: pending\n    command: \"true\"\n    dependencies: [test, manual]\n",
    )
    .expect("write");
    dir
}

#[test]
fn run_runs_task_commands_writes_outcomes_back_and_exits_1_on_failure() {
    let dir = command_store();
    let yaml = fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap();

    // --dry-run says what would run and writes nothing.
    let o = ssot(dir.path(), &["run", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("would run build: true"), "{text}");
    assert!(text.contains("would run test: false"), "{text}");
    assert!(
        text.contains("would leave out manual: no `command` field"),
        "{text}"
    );
    assert!(
        text.contains("would leave out ship: waits on `manual`"),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap(),
        yaml
    );

    let o = ssot(dir.path(), &["run", "--workers", "2", "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let record: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(record["succeeded"], false);
    let outcomes: Vec<(&str, &str)> = record["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("build", "succeeded"), ("test", "failed")]);
    assert_eq!(record["left_out"], serde_json::json!(["manual", "ship"]));
    let err = stderr(&o);
    assert!(err.contains("started build\n"), "{err}");
    assert!(err.contains("done build\n"), "{err}");
    assert!(
        err.contains("failed test: `sh -c false` exited with code 1"),
        "{err}"
    );
    assert!(
        err.contains("left out 1 task without a `command` field: `manual`"),
        "{err}"
    );
    assert!(
        err.contains("left out 1 task waiting on a task left out: `ship` (on `manual`)"),
        "{err}"
    );

    // `build` is done, the failed `test` is back to pending, the rest untouched.
    assert_eq!(
        fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap(),
        yaml.replacen("status: pending", "status: done", 1)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("todo.md")).unwrap(),
        "- [ ] Manual 🆔 manual\n"
    );

    // A second run retries only `test` (still failing); text mode prints the record.
    let o = ssot(dir.path(), &["run"]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(
        text.contains("0 succeeded, 0 up to date, 1 failed, 0 skipped, 2 left out"),
        "{text}"
    );

    // With every command succeeding the run exits 0.
    let fixed = fs::read_to_string(dir.path().join("ci.tasks.yaml"))
        .unwrap()
        .replace("command: \"false\"", "command: \"true\"");
    fs::write(dir.path().join("ci.tasks.yaml"), fixed).unwrap();
    fs::write(dir.path().join("todo.md"), "- [x] Manual 🆔 manual\n").unwrap();
    let o = ssot(dir.path(), &["run"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let yaml = fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap();
    assert_eq!(yaml.matches("status: done").count(), 3, "{yaml}");
}

#[test]
fn run_interrupted_stops_the_command_group_and_puts_the_task_back_to_pending() {
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = "tasks:\n  - id: slow\n    title: Slow\n    status: pending\n    \
                command: \"echo $$ > pid; exec sleep 60\"\n";
    fs::write(dir.path().join("ci.tasks.yaml"), yaml).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ssot"))
        .arg("-C")
        .arg(dir.path())
        .arg("run")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (by state, not by time) until the command runs and its task is in progress.
    let pid_file = dir.path().join("pid");
    let started = std::time::Instant::now();
    let command_pid: i32 = loop {
        let text = fs::read_to_string(&pid_file).unwrap_or_default();
        let in_progress = fs::read_to_string(dir.path().join("ci.tasks.yaml"))
            .unwrap()
            .contains("status: in_progress");
        if let (Ok(pid), true) = (text.trim().parse(), in_progress) {
            break pid;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "the command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("1 cancelled"), "{}", stdout(&o));
    assert!(stderr(&o).contains("cancelled slow"), "{}", stderr(&o));
    assert!(
        ssot_core::run::process_gone(command_pid),
        "the command was left running"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap(),
        yaml
    );
}

/// A store of commands with declared inputs: `gen` concatenates `src/*.txt` into
/// `out/gen.txt`, `use` reads that (after `gen`), `plain` declares nothing.
const INCREMENTAL_YAML: &str = "tasks:\n  - id: gen\n    title: Generate\n    inputs: [\"src/*.txt\"]\n    outputs: [out/gen.txt]\n    command: \"mkdir -p out && cat src/*.txt > out/gen.txt\"\n  - id: use\n    title: Use\n    dependencies: [gen]\n    inputs: out/gen.txt\n    command: \"test -s out/gen.txt\"\n  - id: plain\n    title: Plain\n    command: \"true\"\n";

fn dry_lines(dir: &Path) -> Vec<String> {
    let o = ssot(dir, &["run", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn run_dry_run_says_per_task_why_it_would_run_or_that_it_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("src/a.txt"), "alpha\n").unwrap();
    fs::write(dir.path().join("ci.tasks.yaml"), INCREMENTAL_YAML).unwrap();
    let gen_cmd = "mkdir -p out && cat src/*.txt > out/gen.txt";

    assert_eq!(
        dry_lines(dir.path()),
        [
            format!("would run gen: {gen_cmd} (why: no previous successful run recorded)"),
            "would run plain: true (why: declares no `inputs` or `outputs`: runs every time)"
                .to_owned(),
            "would run use: test -s out/gen.txt (why: dependency `gen` runs)".to_owned(),
        ]
    );
    let o = ssot(dir.path(), &["run"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));

    // The statuses are reset (as a checkout would): nothing changed, so the tasks
    // with inputs are up to date, in the dry run and in the run.
    fs::write(dir.path().join("ci.tasks.yaml"), INCREMENTAL_YAML).unwrap();
    let lines = dry_lines(dir.path());
    assert!(lines.contains(&"up to date gen".to_owned()), "{lines:?}");
    assert!(lines.contains(&"up to date use".to_owned()), "{lines:?}");
    let o = ssot(dir.path(), &["run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("1 succeeded, 2 up to date, 0 failed"),
        "{text}"
    );
    assert!(stderr(&o).contains("up to date gen"), "{}", stderr(&o));
    // What the run found up to date is written done, as the run treats it: the
    // file agrees with the record, and the next dry run has nothing left.
    let yaml = fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap();
    assert_eq!(yaml.matches("status: done").count(), 3, "{yaml}");
    let o = ssot(dir.path(), &["run", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "{}", stdout(&o));
    assert!(
        stderr(&o).contains("nothing to run: every task is finished"),
        "{}",
        stderr(&o)
    );

    // An input changes: the dry run names it; the dependent runs because `gen` does.
    fs::write(dir.path().join("ci.tasks.yaml"), INCREMENTAL_YAML).unwrap();
    fs::write(dir.path().join("src/a.txt"), "alpha, changed\n").unwrap();
    fs::write(dir.path().join("src/b.txt"), "beta\n").unwrap();
    let lines = dry_lines(dir.path());
    assert!(
        lines.contains(&format!(
            "would run gen: {gen_cmd} (why: inputs changed: src/a.txt, src/b.txt (new))"
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(
            &"would run use: test -s out/gen.txt (why: dependency `gen` runs)".to_owned()
        ),
        "{lines:?}"
    );

    // The command changes (inputs as recorded): the dry run says so.
    fs::write(dir.path().join("src/a.txt"), "alpha\n").unwrap();
    fs::remove_file(dir.path().join("src/b.txt")).unwrap();
    let changed = INCREMENTAL_YAML.replace("> out/gen.txt", ">out/gen.txt");
    fs::write(dir.path().join("ci.tasks.yaml"), &changed).unwrap();
    let lines = dry_lines(dir.path());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("would run gen:") && l.ends_with("(why: command changed)")),
        "{lines:?}"
    );

    // --json gives the same verdicts as data.
    let o = ssot(dir.path(), &["run", "--dry-run", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let generate = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "gen")
        .unwrap();
    assert_eq!(generate["runs"], true);
    assert_eq!(generate["why"], "command changed");
    // The dry runs wrote nothing.
    assert_eq!(
        fs::read_to_string(dir.path().join("ci.tasks.yaml")).unwrap(),
        changed
    );
}

#[test]
fn run_on_the_shipped_example_store_explains_that_no_task_has_a_command() {
    let dir = example_store();
    let before = fs::read_to_string(dir.path().join("todo.md")).unwrap();
    let o = ssot(dir.path(), &["run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("left out 5 tasks without a `command` field: `build`, `docs`, `lint`"),
        "{err}"
    );
    assert!(
        err.contains("nothing to run: give a task a shell line"),
        "{err}"
    );
    assert!(
        stdout(&o).contains("0 succeeded, 0 up to date, 0 failed, 0 skipped, 5 left out"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("todo.md")).unwrap(),
        before
    );
    let o = ssot(dir.path(), &["run", "--dry-run"]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("would leave out test: no `command` field"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn run_workflow_runs_a_registry_workflow_and_writes_its_last_run() {
    let dir = example_store();
    let registry = dir.path().join("registries/automation.yaml");
    let before = fs::read_to_string(&registry).unwrap();

    let o = ssot(
        dir.path(),
        &["run", "--workflow", "docs.check", "--dry-run"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("would run docs.check/lists: test -f todo.md"),
        "{}",
        stdout(&o)
    );
    assert_eq!(fs::read_to_string(&registry).unwrap(), before);

    let o = ssot(dir.path(), &["run", "--workflow", "docs.check"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("docs.check/count"), "{text}");
    assert!(
        text.contains("3 succeeded, 0 up to date, 0 failed"),
        "{text}"
    );
    let err = stderr(&o);
    assert!(err.contains("done docs.check/lists"), "{err}");
    assert!(
        err.contains("recorded as `last_run` of `docs.check` in registries/automation.yaml"),
        "{err}"
    );
    // Patched in place: the file is what it was plus the `last_run` lines.
    let after = fs::read_to_string(&registry).unwrap();
    let added: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert!(added.iter().any(|l| l.contains("last_run")), "{after}");
    assert!(
        added.iter().any(|l| l.contains("outcome: succeeded")),
        "{after}"
    );
    assert!(
        before.lines().all(|l| after.lines().any(|a| a == l)),
        "{after}"
    );
    // (The example store's one problem is elsewhere, on purpose.)
    let o = ssot_env(dir.path(), &["validate"], &[("DB_HOST", "db")]);
    assert!(!stdout(&o).contains("registries"), "{}", stdout(&o));
    let o = ssot(dir.path(), &["log", "--json"]);
    assert!(
        stdout(&o).contains("registries/automation.yaml"),
        "{}",
        stdout(&o)
    );

    // A step that fails: exit 1, recorded as failed.
    let broken = after.replace("test -f config/base.yaml", "test -f config/missing.yaml");
    fs::write(&registry, broken).unwrap();
    let o = ssot(dir.path(), &["run", "--workflow", "docs.check", "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["last_run"]["outcome"], "failed");
    assert_eq!(doc["last_run"]["steps"]["count"], "skipped");

    // Steps without commands, or an unknown workflow: exit 1, saying what to do.
    let o = ssot(dir.path(), &["run", "--workflow", "release.production"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("have no command to run"),
        "{}",
        stderr(&o)
    );
    let o = ssot(dir.path(), &["run", "--workflow", "nope.nope"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("docs.check"), "{}", stderr(&o));
}

#[test]
fn run_tasks_of_one_concurrency_group_never_overlap() {
    // Each command fails if the other holds the lock file: with the group a mutex
    // they take turns, on two workers.
    let dir = tempfile::tempdir().unwrap();
    let cmd = "set -C; : > lock || exit 7; sleep 0.3; rm lock";
    let yaml = format!(
        "tasks:\n  - id: a\n    title: A\n    concurrency_group: db\n    command: \"{cmd}\"\n  \
         - id: b\n    title: B\n    concurrency_group: db\n    command: \"{cmd}\"\n"
    );
    fs::write(dir.path().join("ci.tasks.yaml"), yaml).unwrap();
    let o = ssot(dir.path(), &["run", "--workers", "2"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("2 succeeded"), "{}", stdout(&o));
}
