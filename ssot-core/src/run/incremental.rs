//! Incremental runs: a node that declares its inputs is skipped as up to date when the
//! hash of its inputs, command and environment equals the hash stored by its last
//! successful run.
//!
//! # Design
//!
//! The hash is blake3 over the sorted list of input files (path relative to the root,
//! then contents), the command line and the sorted environment. It is stored in a
//! small file per node under the executor's
//! [`state_dir`](crate::run::ExecutorBuilder::state_dir), named by the blake3 hash of
//! the node's `Display` text, written (temp file + rename) only after a success and
//! removed after a failure: a failed run is never recorded as up to date.
//!
//! A node is up to date only when every dependency of it in the same run was up to
//! date too (or done before the run): a dependency that ran may have changed what the
//! node reads, so its dependents run again. The check runs on the worker, before the
//! job, so the coordinator does no file I/O.
//!
//! The stored hash says *whether* a node's inputs changed, not *which*. For that,
//! [`Inputs::manifest`] lists each input file's hash, the command and the
//! environment, and [`InputManifest::changes_since`] compares two; a store run
//! ([`Executor::run_store`](crate::run::Executor::run_store)) records one after
//! each success so that `ssot run --dry-run` can name what changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::run::context::JobError;

/// What a node's result depends on: files matching globs under a root, a command
/// line and environment variables; and the outputs it must leave behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The directory globs are relative to.
    pub root: PathBuf,
    /// Globs of input files (`globset` syntax, e.g. `src/**/*.rs`). Directories
    /// named `.git` and `.ssot` are not walked.
    pub globs: Vec<String>,
    /// Output files (relative to `root`); a missing output makes the node run.
    pub outputs: Vec<PathBuf>,
    /// The command line, or any text naming what the job does.
    pub command: String,
    /// Environment variables the job depends on.
    pub env: Vec<(String, String)>,
}

impl Inputs {
    /// The blake3 hash of the inputs' paths and contents, the command and the
    /// environment. Cost: reading every file under `root` matched by a glob (the walk
    /// visits every file under `root`).
    ///
    /// # Errors
    ///
    /// A glob that does not parse, or a file or directory that cannot be read.
    pub fn fingerprint(&self) -> Result<blake3::Hash, JobError> {
        let files = self.files()?;
        let mut h = blake3::Hasher::new();
        for rel in &files {
            let path = self.root.join(rel);
            let data = std::fs::read(&path)
                .map_err(|e| JobError::new(format!("cannot read input {}: {e}", path.display())))?;
            h.update(rel.to_string_lossy().as_bytes());
            h.update(&[0]);
            h.update(&(data.len() as u64).to_le_bytes());
            h.update(&data);
        }
        h.update(b"\0command\0");
        h.update(self.command.as_bytes());
        let mut env = self.env.clone();
        env.sort();
        for (k, v) in env {
            h.update(b"\0env\0");
            h.update(k.as_bytes());
            h.update(b"=");
            h.update(v.as_bytes());
        }
        Ok(h.finalize())
    }

    /// The input files: those under `root` matched by a glob, relative to `root`,
    /// sorted.
    fn files(&self) -> Result<Vec<PathBuf>, JobError> {
        let mut set = GlobSetBuilder::new();
        for g in &self.globs {
            let glob = Glob::new(g).map_err(|e| {
                JobError::new(format!("input glob `{g}`: {e}; fix the glob's syntax"))
            })?;
            set.add(glob);
        }
        let set = set
            .build()
            .map_err(|e| JobError::new(format!("input globs: {e}")))?;
        let mut files = Vec::new();
        walk(&self.root, &self.root, &set, &mut files)?;
        files.sort();
        Ok(files)
    }

    /// What the inputs are now, file by file: each input file's blake3 hash, the
    /// command and the environment. Comparing two with
    /// [`InputManifest::changes_since`] says *which* input changed, where
    /// [`fingerprint`](Self::fingerprint) only says *whether*. Cost: as
    /// `fingerprint`.
    ///
    /// # Errors
    ///
    /// As [`fingerprint`](Self::fingerprint).
    pub fn manifest(&self) -> Result<InputManifest, JobError> {
        let mut files = BTreeMap::new();
        for rel in self.files()? {
            let path = self.root.join(&rel);
            let data = std::fs::read(&path)
                .map_err(|e| JobError::new(format!("cannot read input {}: {e}", path.display())))?;
            files.insert(
                rel.to_string_lossy().replace('\\', "/"),
                blake3::hash(&data).to_hex().to_string(),
            );
        }
        Ok(InputManifest {
            files,
            command: self.command.clone(),
            env: self.env.iter().cloned().collect(),
        })
    }

    /// Whether every declared output exists.
    #[must_use]
    pub fn outputs_exist(&self) -> bool {
        self.outputs.iter().all(|o| self.root.join(o).exists())
    }
}

/// A node's inputs file by file ([`Inputs::manifest`]), as recorded after a
/// successful run, so that a later dry run can say which input changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputManifest {
    /// Each input file (relative to the root, `/` separated) and the blake3 hash
    /// of its contents, in hex.
    pub files: BTreeMap<String, String>,
    /// The command line.
    pub command: String,
    /// The environment variables.
    pub env: BTreeMap<String, String>,
}

/// One difference between two [`InputManifest`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputChange {
    /// An input file that is new.
    Added(String),
    /// An input file whose contents changed.
    Modified(String),
    /// An input file that is gone.
    Removed(String),
    /// The command line changed.
    Command,
    /// This environment variable was added, removed or changed.
    Env(String),
}

impl std::fmt::Display for InputChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputChange::Added(p) => write!(f, "{p} (new)"),
            InputChange::Modified(p) => write!(f, "{p}"),
            InputChange::Removed(p) => write!(f, "{p} (removed)"),
            InputChange::Command => f.write_str("the command"),
            InputChange::Env(k) => write!(f, "${k}"),
        }
    }
}

impl InputManifest {
    /// What changed from `old` to `self`: files (sorted by path), then the command,
    /// then environment variables. Empty when nothing did. O(files).
    #[must_use]
    pub fn changes_since(&self, old: &InputManifest) -> Vec<InputChange> {
        let mut out = Vec::new();
        for (path, hash) in &self.files {
            match old.files.get(path) {
                None => out.push(InputChange::Added(path.clone())),
                Some(h) if h != hash => out.push(InputChange::Modified(path.clone())),
                Some(_) => {}
            }
        }
        for path in old.files.keys() {
            if !self.files.contains_key(path) {
                out.push(InputChange::Removed(path.clone()));
            }
        }
        out.sort_by(|a, b| change_path(a).cmp(change_path(b)));
        if self.command != old.command {
            out.push(InputChange::Command);
        }
        let keys: std::collections::BTreeSet<&String> =
            self.env.keys().chain(old.env.keys()).collect();
        for k in keys {
            if self.env.get(k) != old.env.get(k) {
                out.push(InputChange::Env(k.clone()));
            }
        }
        out
    }

    /// The manifest recorded for `node` in `dir` (see [`save`](Self::save)), if
    /// there is a readable one.
    #[must_use]
    pub fn load(dir: &Path, node: &str) -> Option<InputManifest> {
        let text = std::fs::read_to_string(manifest_path(dir, node)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let strings = |key: &str| -> Option<BTreeMap<String, String>> {
            v.get(key)?
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        };
        Some(InputManifest {
            files: strings("files")?,
            command: v.get("command")?.as_str()?.to_owned(),
            env: strings("env")?,
        })
    }

    /// Records this manifest for `node` in `dir` (a small JSON file named by the
    /// blake3 hash of `node`, beside the node's hash; temp file and rename).
    ///
    /// # Errors
    ///
    /// When the directory or file cannot be written.
    pub fn save(&self, dir: &Path, node: &str) -> Result<(), JobError> {
        let path = manifest_path(dir, node);
        let tmp = path.with_extension("tmp");
        let text = serde_json::json!({
            "node": node,
            "files": self.files,
            "command": self.command,
            "env": self.env,
        })
        .to_string();
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, text))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                JobError::new(format!(
                    "cannot record the inputs in {}: {e}",
                    path.display()
                ))
            })
    }
}

fn change_path(c: &InputChange) -> &str {
    match c {
        InputChange::Added(p) | InputChange::Modified(p) | InputChange::Removed(p) => p,
        _ => "",
    }
}

fn manifest_path(dir: &Path, node: &str) -> PathBuf {
    dir.join(format!(
        "{}.inputs.json",
        blake3::hash(node.as_bytes()).to_hex()
    ))
}

/// Directories never walked for inputs: version control's and the store's own
/// state (which a store run writes to, so a `**` glob would never be up to date).
const SKIPPED_DIRS: [&str; 2] = [".git", ".ssot"];

fn walk(root: &Path, dir: &Path, set: &GlobSet, out: &mut Vec<PathBuf>) -> Result<(), JobError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| JobError::new(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| JobError::new(format!("cannot list {}: {e}", dir.display())))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| JobError::new(format!("cannot stat {}: {e}", path.display())))?;
        if kind.is_dir() {
            if SKIPPED_DIRS.iter().any(|d| entry.file_name() == *d) {
                continue;
            }
            walk(root, &path, set, out)?;
        } else if let Ok(rel) = path.strip_prefix(root)
            && set.is_match(rel)
        {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

/// The stored hashes of last successful runs, one small file per node.
#[derive(Debug, Clone)]
pub(crate) struct HashStore {
    dir: PathBuf,
}

impl HashStore {
    pub(crate) fn new(dir: PathBuf) -> HashStore {
        HashStore { dir }
    }

    fn path(&self, node: &str) -> PathBuf {
        self.dir
            .join(format!("{}.hash", blake3::hash(node.as_bytes()).to_hex()))
    }

    pub(crate) fn get(&self, node: &str) -> Option<blake3::Hash> {
        let text = std::fs::read_to_string(self.path(node)).ok()?;
        blake3::Hash::from_hex(text.trim()).ok()
    }

    /// Records a success (temp file + rename, so a reader never sees half a hash).
    pub(crate) fn record_success(&self, node: &str, hash: blake3::Hash) -> Result<(), JobError> {
        let path = self.path(node);
        let tmp = path.with_extension("tmp");
        std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&tmp, hash.to_hex().as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                JobError::new(format!(
                    "cannot record the input hash in {}: {e}",
                    path.display()
                ))
            })
    }

    /// Forgets the node's last success (after a failure).
    pub(crate) fn forget(&self, node: &str) {
        // Missing already is the wanted state.
        let _ = std::fs::remove_file(self.path(node));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_manifest_names_each_changed_input_and_the_command() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        write(root, "src/a.c", "a");
        write(root, "src/b.c", "b");
        write(root, ".ssot/run/x.c", "state is never an input");
        let inputs = Inputs {
            root: root.to_path_buf(),
            globs: vec!["**/*.c".into()],
            command: "cc".into(),
            ..Inputs::default()
        };
        let old = inputs.manifest().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old.files.keys().collect::<Vec<_>>(), ["src/a.c", "src/b.c"]);
        assert!(old.changes_since(&old).is_empty());
        old.save(&root.join("state"), "build")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            InputManifest::load(&root.join("state"), "build").as_ref(),
            Some(&old)
        );
        assert_eq!(InputManifest::load(&root.join("state"), "other"), None);

        write(root, "src/a.c", "a2");
        std::fs::remove_file(root.join("src/b.c")).unwrap_or_else(|e| panic!("{e}"));
        write(root, "src/c.c", "c");
        let now = Inputs {
            command: "cc -O2".into(),
            env: vec![("CC".into(), "clang".into())],
            ..inputs
        }
        .manifest()
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            now.changes_since(&old),
            [
                InputChange::Modified("src/a.c".into()),
                InputChange::Removed("src/b.c".into()),
                InputChange::Added("src/c.c".into()),
                InputChange::Command,
                InputChange::Env("CC".into()),
            ]
        );
    }
}
