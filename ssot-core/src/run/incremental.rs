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

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::run::context::JobError;

/// What a node's result depends on: files matching globs under a root, a command
/// line and environment variables; and the outputs it must leave behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The directory globs are relative to.
    pub root: PathBuf,
    /// Globs of input files (`globset` syntax, e.g. `src/**/*.rs`).
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

    /// Whether every declared output exists.
    #[must_use]
    pub fn outputs_exist(&self) -> bool {
        self.outputs.iter().all(|o| self.root.join(o).exists())
    }
}

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
