//! The store's manifest, `init` and `open`: defaults, typed settings, and a clear
//! error at `ssot.yaml:line:col` for each kind of bad manifest.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_common;

use std::time::Duration;

use ssot_core::store::manifest::{DEFAULT_MANIFEST, MANIFEST_FILE};
use ssot_core::store::{
    AuditRetention, FileKind, Manifest, ProblemKind, Role, SnapshotPolicy, Store,
};
use ssot_core::{Error, Format};
use store_common::{copy_of, write};

fn manifest_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), MANIFEST_FILE, text);
    match Store::open(dir.path()) {
        Err(Error::Manifest(report)) => {
            assert!(
                report
                    .problems()
                    .iter()
                    .all(|p| p.kind == ProblemKind::Manifest || p.kind == ProblemKind::Encoding)
            );
            report.to_string()
        }
        other => panic!("expected a manifest error, got {other:?}"),
    }
}

#[test]
fn init_writes_the_default_manifest_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("new-store");
    let store = Store::init(&root).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join(MANIFEST_FILE)).unwrap(),
        DEFAULT_MANIFEST
    );
    assert!(store.manifest().is_from_file());
    assert_eq!(store.manifest().rules(), Manifest::default().rules());
    assert_eq!(store.settings(), Manifest::default().settings());

    let err = Store::init(&root).unwrap_err();
    assert!(matches!(err, Error::AlreadyInitialized { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(root.join(MANIFEST_FILE)).unwrap(),
        DEFAULT_MANIFEST
    );
}

#[test]
fn without_a_manifest_markdown_and_tasks_files_are_task_lists() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/todo.md", "- [ ] A\n");
    write(dir.path(), "b.tasks.csv", "id,title\nb,B\n");
    write(dir.path(), "c.tasks.yml", "- title: C\n");
    write(dir.path(), "config.yaml", "x: 1\n");
    write(dir.path(), ".git/HEAD.md", "- [ ] not walked\n");
    write(dir.path(), ".ssot/state.md", "- [ ] not walked\n");
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.manifest().is_from_file());
    let files: Vec<(String, Role)> = store
        .files()
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.role))
        .collect();
    let tasks = |format| Role::Tasks {
        format,
        schema: None,
    };
    assert_eq!(
        files,
        [
            ("a/todo.md".to_owned(), tasks(Format::Markdown)),
            ("b.tasks.csv".to_owned(), tasks(Format::Csv)),
            ("c.tasks.yml".to_owned(), tasks(Format::Yaml)),
        ]
    );
}

#[test]
fn a_manifest_is_read_into_rules_schemas_configs_and_typed_settings() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let m = store.manifest();
    assert_eq!(m.rules()[0].kind, FileKind::Ignore);
    assert_eq!(
        m.rules()[3].kind,
        FileKind::Tasks {
            format: Some(Format::Yaml),
            schema: Some("ssot/task-list".into())
        }
    );
    assert_eq!(
        m.rules()[4].kind,
        FileKind::Document {
            schema: "service".into()
        }
    );
    assert_eq!(
        m.configs()[0].files,
        ["config/base.yaml", "config/production.yaml"]
    );
    let s = store.settings();
    assert_eq!(s.snapshot, SnapshotPolicy::EveryChange);
    assert_eq!(s.cache_documents, 64);
    assert_eq!(s.lock_timeout, Duration::from_millis(750));
    assert_eq!(
        s.audit_retention,
        AuditRetention::For(Duration::from_secs(90 * 86_400))
    );
    assert!(store.schemas().contains("service"));
    assert!(store.schemas().contains("ssot/manifest"));
    // `notes/**` is ignored, before `**/*.md` could claim it.
    let paths: Vec<String> = store.files().unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(
        paths,
        [
            "backlog.yaml",
            "ci.tasks.yaml",
            "services/api.yaml",
            "todo.md"
        ]
    );
}

#[test]
fn a_schema_violation_in_the_manifest_is_reported_at_its_line() {
    let msg =
        manifest_error("version: 1\nfiles:\n  \"*.md\": taks\nsettings:\n  snapshot: always\n");
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 2, "{msg}");
    assert!(lines[0].starts_with("ssot.yaml:3:11: "), "{msg}");
    assert!(lines[1].starts_with("ssot.yaml:5:13: "), "{msg}");
}

#[test]
fn an_unknown_top_level_key_is_reported_with_a_suggestion() {
    let msg = manifest_error("version: 1\nfils:\n  \"*.md\": tasks\n");
    assert!(
        msg.starts_with(
            "ssot.yaml:2:1: property `fils` is not allowed here; did you mean `files`?"
        ),
        "{msg}"
    );
}

#[test]
fn a_glob_reaching_outside_the_root_is_refused_at_its_line() {
    let msg = manifest_error(
        "files:\n  \"*.md\": tasks\n  \"../other/*.md\": tasks\n  \"/etc/*.yaml\": tasks\n",
    );
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 2, "{msg}");
    assert!(
        lines[0].starts_with("ssot.yaml:3:3: glob `../other/*.md` reaches outside the store's root: it has a `..` segment"),
        "{msg}"
    );
    assert!(
        lines[1].starts_with(
            "ssot.yaml:4:3: glob `/etc/*.yaml` reaches outside the store's root: it is absolute"
        ),
        "{msg}"
    );
}

#[test]
fn an_invalid_glob_an_unknown_schema_and_a_bad_duration_are_each_reported() {
    let msg = manifest_error(
        "files:\n  \"a[.md\": tasks\n  \"*.yaml\": { schema: nope }\nsettings:\n  lock_timeout: 5 fortnights\n",
    );
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 3, "{msg}");
    assert!(
        lines[0].starts_with("ssot.yaml:2:3: invalid glob `a[.md`"),
        "{msg}"
    );
    assert!(
        lines[1].starts_with("ssot.yaml:3:23: unknown schema `nope`; use one of ssot/"),
        "{msg}"
    );
    assert!(
        lines[2].starts_with("ssot.yaml:5:17: lock_timeout: invalid duration `5 fortnights`"),
        "{msg}"
    );
}

#[test]
fn schema_names_may_not_claim_the_builtin_prefix_nor_files_outside() {
    let msg = manifest_error(
        "schemas:\n  ssot/mine: a.json\n  other: ../x.json\nconfigs:\n  app: [base.toml]\n",
    );
    assert!(
        msg.contains(
            "ssot.yaml:2:3: schema name `ssot/mine`: names starting with `ssot/` are reserved"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("ssot.yaml:3:10: schema file `../x.json`: it has a `..` segment"),
        "{msg}"
    );
    assert!(
        msg.contains("ssot.yaml:5:9: configuration file `base.toml`: name it `.yaml`"),
        "{msg}"
    );
}

#[test]
fn a_user_schema_that_is_missing_or_broken_fails_open() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        MANIFEST_FILE,
        "schemas:\n  svc: schemas/svc.json\n",
    );
    let err = Store::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("schema `svc`: cannot read `schemas/svc.json`"),
        "{err}"
    );
    write(dir.path(), "schemas/svc.json", "{\"type\": \n");
    let err = Store::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("schemas/svc.json:2:1: schema `svc`: not valid JSON"),
        "{err}"
    );
}

#[test]
fn a_manifest_that_is_not_yaml_or_not_utf8_is_an_error() {
    let msg = manifest_error("files: [\n");
    assert!(msg.starts_with("ssot.yaml:"), "{msg}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MANIFEST_FILE), b"files: \xff\n").unwrap();
    let err = Store::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("ssot.yaml: not UTF-8"), "{err}");
}

#[test]
fn opening_a_missing_directory_or_a_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    write(dir.path(), "file.md", "");
    let err = Store::open(dir.path().join("file.md")).unwrap_err();
    assert!(matches!(err, Error::NotADirectory { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn a_matched_symlink_escaping_the_root_is_an_error() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.md", "- [ ] outside\n");
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.md"), dir.path().join("link.md"))
        .unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    match &err {
        Error::SymlinkEscape { link, .. } => assert_eq!(link, "link.md"),
        other => panic!("expected SymlinkEscape, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with("link.md: symbolic link to `"),
        "{err}"
    );

    // Marked `ignore`, the link is not the store's business.
    write(
        dir.path(),
        MANIFEST_FILE,
        "files:\n  \"link.md\": ignore\n  \"*.md\": tasks\n",
    );
    assert!(Store::open(dir.path()).is_ok());
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_the_root_is_read_as_its_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "real/list.txt",
        "- [ ] Through a link 🆔 linked\n",
    );
    std::os::unix::fs::symlink(
        dir.path().join("real/list.txt"),
        dir.path().join("alias.md"),
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.task_file("alias.md").unwrap().tasks()[0].id, "linked");
}

#[test]
fn reads_outside_the_root_or_of_unmanaged_files_are_refused() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    for path in ["../x.md", "/etc/passwd", "a/../../x.md"] {
        let err = store.task_file(path).unwrap_err();
        assert!(matches!(err, Error::OutsideRoot { .. }), "{path}: {err}");
    }
    let err = store.task_file("config/base.yaml").unwrap_err();
    assert!(matches!(err, Error::NotManaged { .. }), "{err}");
    let err = store.document("todo.md").unwrap_err();
    assert_eq!(
        err.to_string(),
        "todo.md: not a document of this store (no glob under `files:` in ssot.yaml makes it one)"
    );
}
