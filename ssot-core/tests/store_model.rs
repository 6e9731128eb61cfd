//! A model-based test of the store: random sequences of changes (status changes, new,
//! edited and removed tasks, merge patches), transactions, snapshots and rollbacks,
//! outside edits (a file written directly), reopenings and switches between two open
//! handles of the store, run against the store and against a simple model: a map from
//! path to expected content, the expected audit log (revision, operation, path of every
//! record) and the versions taken.
//!
//! The model computes each file's expected text with the in-place editors
//! ([`ssot_core::format::edit`]) applied to its own copy of the text, and decides
//! whether a change must be refused (an illegal status move, an unknown task, a
//! duplicate id, an unknown dependency). After every step the directory's files, the
//! plan's ready tasks and the audit log equal the model's, and the log verifies.
//!
//! 32 cases of up to 12 steps by default (fits CI on 2 cores); a deeper run:
//! `PROPTEST_CASES=1000 cargo test -p ssot-core --all-features --test store_model`
//! (and `PROPTEST_MAX_SHRINK_ITERS` to bound shrinking).
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use proptest::prelude::*;
use ssot_core::format::edit::{ConfigDocument, Document, Position};
use ssot_core::format::{self, Format};
use ssot_core::store::{AuditRecord, Commit, Operation, STATE_DIR, Store, Transaction};
use ssot_core::{Error, Status, Task, TaskId};

const MANIFEST: &str = "version: 1\nfiles:\n  \"**/*.md\": tasks\n  \"**/*.tasks.{yaml,yml,json,csv}\": tasks\n  \"config/*.yaml\": { schema: any }\nschemas:\n  any: schemas/any.json\nsettings:\n  snapshot: on-request\n";

/// The task files, their format and initial text.
const TASK_FILES: [(&str, Format, &str); 3] = [
    (
        "a.md",
        Format::Markdown,
        "# A\n\n- [ ] Alpha 🆔 a1\n- [ ] Beta 🆔 a2 ⛔ a1\n",
    ),
    (
        "b.tasks.yaml",
        Format::Yaml,
        "# B tasks\n- id: b1\n  title: Gamma # keep me\n  dependencies: [a1]\n",
    ),
    (
        "c.tasks.json",
        Format::Json,
        "[\n  {\"id\": \"c1\", \"title\": \"Delta\"}\n]\n",
    ),
];
const CONFIG: &str = "config/app.yaml";
const CONFIG_TEXT: &str = "# settings\nname: app\nk0: 0\n";

/// One change, as the store's single-change calls and transactions take them.
#[derive(Debug, Clone)]
enum Change {
    /// The status of the `task`-th task (of the model's sorted ids, modulo).
    SetStatus { task: usize, status: Status },
    /// A new task `n<serial>` at the end of file `file`, depending on the
    /// `dep`-th task, or on an unknown id when `dep` is `Some(usize::MAX)`.
    Add { file: usize, dep: Option<usize> },
    /// A new title for the `task`-th task.
    Retitle { task: usize },
    /// Removes the `task`-th task.
    Remove { task: usize },
    /// `{"k<key>": value}` merged into the config document (`None`: remove the key).
    Patch { key: u8, value: Option<i64> },
}

#[derive(Debug, Clone)]
enum Step {
    One(Change),
    Transaction(Vec<Change>),
    Snapshot,
    /// Rolls back to the `version`-th version taken (modulo; nothing without one).
    Rollback {
        version: usize,
    },
    /// Writes a file directly: appends a task to `a.md`, or rewrites the config.
    Outside {
        config: bool,
    },
    /// Drops the store handle and opens the store again.
    Reopen,
    /// Makes the other open handle of the same store the one used (both stay open:
    /// each must see what the other committed).
    Switch,
}

fn arb_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<usize>(), prop::sample::select(Status::ALL.to_vec()))
            .prop_map(|(task, status)| Change::SetStatus { task, status }),
        (
            0..TASK_FILES.len(),
            prop_oneof![
                3 => Just(None),
                3 => any::<usize>().prop_map(Some),
                1 => Just(Some(usize::MAX)),
            ]
        )
            .prop_map(|(file, dep)| Change::Add { file, dep }),
        any::<usize>().prop_map(|task| Change::Retitle { task }),
        any::<usize>().prop_map(|task| Change::Remove { task }),
        (0u8..3, prop::option::of(-5i64..5)).prop_map(|(key, value)| Change::Patch { key, value }),
    ]
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => arb_change().prop_map(Step::One),
        2 => prop::collection::vec(arb_change(), 1..4).prop_map(Step::Transaction),
        1 => Just(Step::Snapshot),
        1 => any::<usize>().prop_map(|version| Step::Rollback { version }),
        1 => any::<bool>().prop_map(|config| Step::Outside { config }),
        1 => Just(Step::Reopen),
        1 => Just(Step::Switch),
    ]
}

/// The operation of a record, reduced to what the model predicts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    SetStatus(String, Status),
    Update(String),
    Add(String),
    Remove(String),
    Patch,
    Rollback(String),
    External,
}

fn op_of(operation: &Operation) -> Op {
    match operation {
        Operation::SetStatus { id, status } => Op::SetStatus(
            id.clone(),
            Status::from_name(&status.to_string())
                .unwrap_or_else(|| panic!("status `{status}` is not a status name")),
        ),
        Operation::UpdateTask { id } => Op::Update(id.clone()),
        Operation::AddTask { id } => Op::Add(id.clone()),
        Operation::RemoveTask { id } => Op::Remove(id.clone()),
        Operation::Patch => Op::Patch,
        Operation::Rollback { version } => Op::Rollback(version.clone()),
        Operation::External => Op::External,
        other => panic!("an operation the model does not know: {other:?}"),
    }
}

type Files = BTreeMap<String, String>;

/// The files of the store (those the manifest manages): recorded as `External` on
/// the first revision, the baseline drift is measured against.
fn managed(path: &str) -> bool {
    task_format(path).is_some() || path == CONFIG
}

#[derive(Debug, Clone)]
struct Model {
    files: Files,
    /// (revision, operation, path) of every record, oldest first.
    log: Vec<(u64, Op, String)>,
    revision: u64,
    /// The content each path had at its last record (`None`: deleted).
    recorded: BTreeMap<String, Option<String>>,
    versions: Vec<(String, Files)>,
    serial: usize,
}

fn task_format(path: &str) -> Option<Format> {
    TASK_FILES
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, f, _)| *f)
}

impl Model {
    fn new() -> Model {
        let mut files = Files::new();
        files.insert("ssot.yaml".into(), MANIFEST.into());
        files.insert("schemas/any.json".into(), "{}".into());
        for (path, _, text) in TASK_FILES {
            files.insert(path.into(), text.into());
        }
        files.insert(CONFIG.into(), CONFIG_TEXT.into());
        Model {
            files,
            log: Vec::new(),
            revision: 0,
            recorded: BTreeMap::new(),
            versions: Vec::new(),
            serial: 0,
        }
    }

    /// Every task of every task file: (id, status, dependencies, file), by id.
    fn tasks(files: &Files) -> Vec<(String, Status, Vec<String>, String)> {
        let mut out = Vec::new();
        for (path, text) in files {
            if let Some(fmt) = task_format(path) {
                for t in format::parse(fmt, text).unwrap().tasks {
                    out.push((
                        t.id.to_string(),
                        t.status(),
                        t.dependencies.iter().map(ToString::to_string).collect(),
                        path.clone(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    /// The `i`-th task (modulo) of `files`: its id and file.
    fn pick(files: &Files, i: usize) -> Option<(String, String)> {
        let tasks = Model::tasks(files);
        if tasks.is_empty() {
            return None;
        }
        let t = &tasks[i % tasks.len()];
        Some((t.0.clone(), t.3.clone()))
    }

    /// Ids unique across files and every dependency known (the changes cannot make
    /// a cycle: new tasks depend only on existing ones, and no edit adds a
    /// dependency).
    fn valid(files: &Files) -> bool {
        let tasks = Model::tasks(files);
        let ids: BTreeSet<&str> = tasks.iter().map(|t| t.0.as_str()).collect();
        ids.len() == tasks.len()
            && tasks
                .iter()
                .all(|t| t.2.iter().all(|d| ids.contains(d.as_str())))
    }

    /// Pending tasks whose dependencies are all done, by id.
    fn ready(files: &Files) -> Vec<String> {
        let tasks = Model::tasks(files);
        let status: BTreeMap<&str, Status> = tasks.iter().map(|t| (t.0.as_str(), t.1)).collect();
        tasks
            .iter()
            .filter(|t| t.1 == Status::Pending)
            .filter(|t| {
                t.2.iter()
                    .all(|d| status.get(d.as_str()) == Some(&Status::Done))
            })
            .map(|t| t.0.clone())
            .collect()
    }

    /// The task `change` adds, as both the model and the store get it.
    fn new_task(ids_from: &Files, serial: usize, dep: Option<usize>) -> Task {
        let id = format!("n{serial}");
        let mut task = Task::new(TaskId::new(&id).unwrap(), format!("New {id}"));
        match dep {
            Some(usize::MAX) => task.dependencies.push(TaskId::new("nowhere").unwrap()),
            Some(i) => {
                if let Some((d, _)) = Model::pick(ids_from, i) {
                    task.dependencies.push(TaskId::new(d).unwrap());
                }
            }
            None => {}
        }
        task
    }

    /// Applies `change` to `files`, choosing tasks among those of `ids_from` (the
    /// state before the transaction: the store finds each change's task before
    /// applying any). Returns the operation and path it records, or `None` when the
    /// store must refuse it. `serial` gives new ids and titles.
    fn apply(
        files: &mut Files,
        ids_from: &Files,
        change: &Change,
        serial: &mut usize,
    ) -> Option<(Op, String)> {
        let edit = |files: &mut Files, path: &str, f: &mut dyn FnMut(&mut Document) -> bool| {
            let fmt = task_format(path).unwrap();
            let mut doc = Document::parse(fmt, files[path].clone()).unwrap();
            if !f(&mut doc) {
                return false;
            }
            files.insert(path.to_owned(), doc.into_string());
            true
        };
        let n = *serial;
        *serial += 1;
        match change {
            Change::SetStatus { task, status } => {
                let (id, path) = Model::pick(ids_from, *task)?;
                edit(files, &path, &mut |d| d.set_status(&id, *status).is_ok())
                    .then_some((Op::SetStatus(id, *status), path))
            }
            Change::Add { file, dep } => {
                let path = TASK_FILES[*file].0;
                let task = Model::new_task(ids_from, n, *dep);
                let id = task.id.to_string();
                edit(files, path, &mut |d| {
                    d.insert(task.clone(), Position::End).is_ok()
                })
                .then(|| (Op::Add(id), path.to_owned()))
            }
            Change::Retitle { task } => {
                let (id, path) = Model::pick(ids_from, *task)?;
                edit(files, &path, &mut |d| {
                    d.update(&id, |t| t.title = format!("Renamed {n}")).is_ok()
                })
                .then_some((Op::Update(id), path))
            }
            Change::Remove { task } => {
                let (id, path) = Model::pick(ids_from, *task)?;
                edit(files, &path, &mut |d| d.remove(&id).is_ok()).then_some((Op::Remove(id), path))
            }
            Change::Patch { key, value } => {
                let mut doc = ConfigDocument::parse(Format::Yaml, files[CONFIG].clone()).unwrap();
                let patch = serde_json::json!({ format!("k{key}"): value });
                doc.merge_patch(&patch).ok()?;
                files.insert(CONFIG.to_owned(), doc.into_string());
                Some((Op::Patch, CONFIG.to_owned()))
            }
        }
    }

    /// `External` records for the paths of `paths` (every managed file on the first
    /// revision) whose content differs from their last record.
    fn drift_records(&self, paths: &BTreeSet<String>) -> Vec<(Op, String, Option<String>)> {
        let mut all = paths.clone();
        if self.revision == 0 {
            all.extend(self.files.keys().filter(|p| managed(p)).cloned());
        }
        all.into_iter()
            .filter_map(|p| {
                let now = self.files.get(&p).cloned();
                let logged = self.recorded.get(&p).cloned().flatten();
                (now != logged).then_some((Op::External, p, now))
            })
            .collect()
    }

    /// Commits `records` (of changes that turned the files into `after`) as one
    /// revision, after the drift of the paths they touch.
    fn commit(&mut self, records: Vec<(Op, String)>, after: Files) {
        let touched: BTreeSet<String> = records.iter().map(|r| r.1.clone()).collect();
        let drift = self.drift_records(&touched);
        self.revision += 1;
        for (op, path, now) in drift {
            self.log.push((self.revision, op, path.clone()));
            self.recorded.insert(path, now);
        }
        self.files = after;
        for (op, path) in records {
            self.log.push((self.revision, op, path.clone()));
            self.recorded
                .insert(path.clone(), self.files.get(&path).cloned());
        }
    }

    /// [`Store::rollback`] to `target`, version `id`: the drift of every file first
    /// (`External`), then one `Rollback` record per store file the rollback changes
    /// (one for `.` when the revision would hold no record), as one revision.
    fn rollback(&mut self, id: &str, target: Files) {
        let mut paths: BTreeSet<String> =
            self.files.keys().filter(|p| managed(p)).cloned().collect();
        paths.extend(self.recorded.keys().cloned());
        let drift = self.drift_records(&paths);
        let changed: BTreeSet<String> = self
            .files
            .keys()
            .chain(target.keys())
            .filter(|p| managed(p) && self.files.get(*p) != target.get(*p))
            .cloned()
            .collect();
        self.revision += 1;
        let empty = drift.is_empty() && changed.is_empty();
        for (op, path, now) in drift {
            self.log.push((self.revision, op, path.clone()));
            self.recorded.insert(path, now);
        }
        if empty {
            self.log
                .push((self.revision, Op::Rollback(id.to_owned()), ".".to_owned()));
        }
        for path in changed {
            self.log
                .push((self.revision, Op::Rollback(id.to_owned()), path.clone()));
            self.recorded
                .insert(path.clone(), target.get(&path).cloned());
        }
        self.files = target;
    }

    /// [`Store::record_drift`]: the drift of every managed file, as one revision
    /// (none when there is no drift).
    fn record_drift(&mut self) -> bool {
        let mut paths: BTreeSet<String> =
            self.files.keys().filter(|p| managed(p)).cloned().collect();
        paths.extend(self.recorded.keys().cloned());
        let drift = self.drift_records(&paths);
        if drift.is_empty() {
            return false;
        }
        self.revision += 1;
        for (op, path, now) in drift {
            self.log.push((self.revision, op, path.clone()));
            self.recorded.insert(path, now);
        }
        true
    }
}

/// Every file under `root` except the store's state directory.
fn disk(root: &Path) -> Files {
    let mut out = Files::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .replace('\\', "/");
            if rel == STATE_DIR {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                out.insert(rel, fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

fn log_of(records: &[AuditRecord]) -> Vec<(u64, Op, String)> {
    records
        .iter()
        .map(|r| (r.revision, op_of(&r.operation), r.path.clone()))
        .collect()
}

/// Records of one revision are compared as a set: their order within the group is
/// the store's choice.
fn normalized(mut log: Vec<(u64, Op, String)>) -> Vec<(u64, Op, String)> {
    log.sort();
    log
}

fn check(store: &Store, root: &Path, model: &Model, step: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(&disk(root), &model.files, "files after step {}", step);
    let ready: Vec<String> = store
        .plan()
        .unwrap()
        .ready()
        .iter()
        .map(ToString::to_string)
        .collect();
    prop_assert_eq!(
        ready,
        Model::ready(&model.files),
        "ready after step {}",
        step
    );
    let records = store.audit_log().unwrap();
    prop_assert_eq!(
        normalized(log_of(&records)),
        normalized(model.log.clone()),
        "audit log after step {}",
        step
    );
    prop_assert_eq!(store.revision().unwrap(), model.revision);
    let verified = store.verify_audit().unwrap();
    prop_assert!(verified.first_bad.is_none(), "{:?}", verified);
    prop_assert_eq!(verified.records, records.len() as u64);
    // The last after-hash of each path is the content the model last recorded.
    let mut last: BTreeMap<&str, &Option<String>> = BTreeMap::new();
    for r in &records {
        last.insert(&r.path, &r.after);
    }
    for (path, after) in last {
        let expected = model
            .recorded
            .get(path)
            .cloned()
            .flatten()
            .as_ref()
            .map(|t| blake3::hash(t.as_bytes()).to_hex().to_string());
        prop_assert_eq!(after, &expected, "{}: last after-hash", path);
    }
    Ok(())
}

/// Hands `change` to a transaction, with the same task and ids the model uses.
fn stage<'s>(
    tx: Transaction<'s>,
    ids_from: &Files,
    change: &Change,
    serial: usize,
) -> Transaction<'s> {
    let id = |task: usize| Model::pick(ids_from, task).map_or("none".to_owned(), |t| t.0);
    match change {
        Change::SetStatus { task, status } => tx.set_status(&id(*task), *status),
        Change::Add { file, dep } => tx.add_task(
            TASK_FILES[*file].0,
            Model::new_task(ids_from, serial, *dep),
            Position::End,
        ),
        Change::Retitle { task } => {
            let title = format!("Renamed {serial}");
            tx.update_task(&id(*task), move |t| t.title = title)
        }
        Change::Remove { task } => tx.remove_task(&id(*task)),
        Change::Patch { key, value } => {
            tx.patch(CONFIG, serde_json::json!({ format!("k{key}"): value }))
        }
    }
}

/// Makes `change` through the store's single-change call.
fn single(
    store: &Store,
    ids_from: &Files,
    change: &Change,
    serial: usize,
) -> Result<Commit, Error> {
    let id = |task: usize| Model::pick(ids_from, task).map_or("none".to_owned(), |t| t.0);
    match change {
        Change::SetStatus { task, status } => store.set_status(&id(*task), *status),
        Change::Add { file, dep } => store.add_task(
            TASK_FILES[*file].0,
            Model::new_task(ids_from, serial, *dep),
            Position::End,
        ),
        Change::Retitle { task } => {
            store.update_task(&id(*task), |t| t.title = format!("Renamed {serial}"))
        }
        Change::Remove { task } => store.remove_task(&id(*task)),
        Change::Patch { key, value } => {
            store.patch(CONFIG, &serde_json::json!({ format!("k{key}"): value }))
        }
    }
}

fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut model = Model::new();
    for (path, text) in &model.files {
        let full = root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, text).unwrap();
    }
    let mut store = Store::open(root).unwrap();
    let mut other = Store::open(root).unwrap();
    check(&store, root, &model, 0)?;
    for (n, step) in steps.iter().enumerate() {
        let n = n + 1;
        match step {
            Step::One(change) => {
                let mut files = model.files.clone();
                let serial = model.serial;
                let record = Model::apply(&mut files, &model.files, change, &mut model.serial);
                let ok = record.is_some() && Model::valid(&files);
                let result = single(&store, &model.files, change, serial);
                match (result, ok) {
                    (Ok(commit), true) => {
                        model.commit(record.into_iter().collect(), files);
                        prop_assert_eq!(commit.revision, model.revision);
                    }
                    (Err(_), false) => {}
                    (Ok(commit), false) => prop_assert!(
                        false,
                        "step {}: {:?} should be refused: {:?}",
                        n,
                        change,
                        commit
                    ),
                    (Err(e), true) => {
                        prop_assert!(false, "step {}: {:?} refused: {}", n, change, e)
                    }
                }
            }
            Step::Transaction(changes) => {
                let start = model.files.clone();
                let mut files = start.clone();
                let mut records = Vec::new();
                let mut ok = true;
                let mut tx = store.transaction();
                for change in changes {
                    let serial = model.serial;
                    match Model::apply(&mut files, &start, change, &mut model.serial) {
                        Some(r) => records.push(r),
                        None => ok = false,
                    }
                    tx = stage(tx, &start, change, serial);
                }
                let ok = ok && Model::valid(&files);
                match (tx.commit(), ok) {
                    (Ok(commit), true) => {
                        model.commit(records, files);
                        prop_assert_eq!(commit.revision, model.revision);
                    }
                    (Err(_), false) => {}
                    (Ok(commit), false) => prop_assert!(
                        false,
                        "step {}: {:?} should be refused: {:?}",
                        n,
                        changes,
                        commit
                    ),
                    (Err(e), true) => {
                        prop_assert!(false, "step {}: {:?} refused: {}", n, changes, e)
                    }
                }
            }
            Step::Snapshot => {
                let version = store.snapshot(&format!("step {n}")).unwrap();
                model
                    .versions
                    .push((version.id().to_string(), model.files.clone()));
            }
            Step::Rollback { version } => {
                if model.versions.is_empty() {
                    continue;
                }
                let (id, target) = model.versions[version % model.versions.len()].clone();
                let commit = store.rollback(&id).unwrap();
                model.rollback(&id, target);
                prop_assert_eq!(commit.revision, model.revision);
            }
            Step::Outside { config } => {
                let (path, text) = if *config {
                    let text = format!("# rewritten outside\nname: app\nk0: {}\n", model.serial);
                    (CONFIG.to_owned(), text)
                } else {
                    let mut text = model.files["a.md"].clone();
                    text.push_str(&format!("- [ ] Outside 🆔 o{}\n", model.serial));
                    ("a.md".to_owned(), text)
                };
                model.serial += 1;
                fs::write(root.join(&path), &text).unwrap();
                model.files.insert(path, text);
            }
            Step::Reopen => {
                drop(store);
                store = Store::open(root).unwrap();
            }
            Step::Switch => std::mem::swap(&mut store, &mut other),
        }
        check(&store, root, &model, n)?;
    }
    // At the end, whatever is still unrecorded is recorded on request.
    let commit = store.record_drift().unwrap();
    let recorded = model.record_drift();
    prop_assert_eq!(
        commit.map(|c| c.revision),
        recorded.then_some(model.revision)
    );
    check(&store, root, &model, steps.len() + 1)?;
    check(&other, root, &model, steps.len() + 1)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn the_store_equals_the_model_after_every_step(steps in prop::collection::vec(arb_step(), 1..=12)) {
        run(&steps)?;
    }
}

#[test]
fn the_model_agrees_on_a_fixed_sequence_with_every_kind_of_step() {
    use Change::*;
    let steps = vec![
        Step::One(SetStatus {
            task: 0,
            status: Status::Done,
        }),
        Step::Snapshot,
        Step::Transaction(vec![
            Add {
                file: 1,
                dep: Some(0),
            },
            Patch {
                key: 1,
                value: Some(3),
            },
            Retitle { task: 2 },
        ]),
        Step::Outside { config: false },
        Step::One(Remove { task: 1 }),
        Step::Reopen,
        Step::Switch,
        Step::One(SetStatus {
            task: 3,
            status: Status::InProgress,
        }),
        Step::Switch,
        Step::Rollback { version: 0 },
        Step::One(Add {
            file: 0,
            dep: Some(usize::MAX),
        }),
        Step::Outside { config: true },
    ];
    run(&steps).unwrap();
}
