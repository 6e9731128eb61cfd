//! [`VersionStore::prune`]: forget old versions, then free the objects only they used.
//!
//! Versions are kept by policy (the newest N, those newer than a duration, tagged
//! ones) and `HEAD` is always kept. Removed manifests are deleted first (and the
//! directory fsynced). Then objects no remaining manifest refers to are freed pack by
//! pack: a pack whose objects are all dead is deleted; a pack with some live objects is
//! *repacked*: its live objects are copied into one new pack, which is made durable
//! before the old packs are deleted. So a crash at any point leaves every remaining
//! version whole, at worst with dead objects that the next prune frees. Repacking
//! reads and rewrites the live objects of partly dead packs: prune costs
//! O(total size of the packs it touches).
//!
//! Parents are not rewritten: a kept version may name a pruned parent, and
//! [`history`](VersionStore::history) ends there.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::time::{Duration, SystemTime};

use crate::durable;
use crate::error::{Result, io_err};
use crate::id::{ObjectHash, VersionId};
use crate::pack::PackWriter;
use crate::store::VersionStore;

/// Which versions [`VersionStore::prune`] keeps. A version is kept if any rule keeps
/// it; the newest version (`HEAD`) is always kept.
///
/// ```
/// use std::time::Duration;
/// use ssot_version::PrunePolicy;
///
/// // The last 10, anything from the past week, and every tagged version.
/// let policy = PrunePolicy::new()
///     .keep_last(10)
///     .keep_newer_than(Duration::from_secs(7 * 24 * 3600));
/// # let _ = policy;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct PrunePolicy {
    keep_last: usize,
    keep_newer_than: Option<Duration>,
    keep_tagged: bool,
}

impl Default for PrunePolicy {
    fn default() -> Self {
        PrunePolicy::new()
    }
}

impl PrunePolicy {
    /// Keeps `HEAD` and tagged versions only; add rules with the other methods.
    pub fn new() -> PrunePolicy {
        PrunePolicy {
            keep_last: 0,
            keep_newer_than: None,
            keep_tagged: true,
        }
    }

    /// Keeps the `n` most recently created versions.
    pub fn keep_last(mut self, n: usize) -> Self {
        self.keep_last = n;
        self
    }

    /// Keeps versions created less than `age` before now (by the store's clock).
    pub fn keep_newer_than(mut self, age: Duration) -> Self {
        self.keep_newer_than = Some(age);
        self
    }

    /// Whether tagged versions are kept (default `true`). With `false`, tags of
    /// removed versions are removed too.
    pub fn keep_tagged(mut self, keep: bool) -> Self {
        self.keep_tagged = keep;
        self
    }
}

/// What [`VersionStore::prune`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PruneReport {
    /// The versions removed, sorted.
    pub removed_versions: Vec<VersionId>,
    /// How many versions remain.
    pub kept_versions: usize,
    /// Objects freed.
    pub removed_objects: usize,
    /// Bytes of object content freed.
    pub freed_bytes: u64,
    /// Pack files deleted (wholly dead or repacked).
    pub packs_deleted: usize,
    /// Pack files written by repacking (0 or 1).
    pub packs_written: usize,
}

impl VersionStore {
    /// Removes the versions `policy` does not keep, then frees the objects no remaining
    /// version uses (see the module documentation of `prune.rs` for the repacking rule).
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) for I/O failures, and
    /// [`Error::CorruptObject`](crate::Error::CorruptObject) if a live object being
    /// repacked is corrupt (nothing is then deleted from the packs).
    pub fn prune(&self, policy: &PrunePolicy) -> Result<PruneReport> {
        self.locked(|inner| {
            let now = (self.clock)();
            let head = self.read_head()?;
            let mut tags = self.read_tags()?;
            let ids = self.list_ids()?;
            let mut versions = Vec::with_capacity(ids.len());
            for id in &ids {
                versions.push(self.load_version(inner, id)?);
            }
            versions.sort_by(|a, b| {
                b.created()
                    .cmp(&a.created())
                    .then_with(|| a.id().cmp(b.id()))
            });
            let tagged: HashSet<&VersionId> = tags.values().collect();
            let cutoff = policy
                .keep_newer_than
                .map(|age| now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH));
            let mut report = PruneReport::default();
            let mut live: HashSet<ObjectHash> = HashSet::new();
            for (rank, v) in versions.iter().enumerate() {
                let keep = head.as_ref() == Some(v.id())
                    || rank < policy.keep_last
                    || cutoff.is_some_and(|c| v.created() > c)
                    || (policy.keep_tagged && tagged.contains(v.id()));
                if keep {
                    report.kept_versions += 1;
                    live.extend(v.files().iter().map(|f| f.hash));
                } else {
                    report.removed_versions.push(v.id().clone());
                }
            }
            report.removed_versions.sort();
            for id in &report.removed_versions {
                let path = self.dirs.manifest(id);
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                inner.manifests.remove(id);
            }
            if !report.removed_versions.is_empty() {
                durable::sync_dir(&self.dirs.versions)?;
            }
            let removed: HashSet<&VersionId> = report.removed_versions.iter().collect();
            let before = tags.len();
            tags.retain(|_, id| !removed.contains(id));
            if tags.len() != before {
                self.write_tags(&tags)?;
            }

            // Free dead objects.
            let mut doomed = Vec::new();
            let mut to_copy: Vec<(String, ObjectHash, u64, u64)> = Vec::new();
            let mut in_kept_pack: HashSet<ObjectHash> = HashSet::new();
            let mut dead_counted: HashMap<ObjectHash, u64> = HashMap::new();
            for (name, entries) in inner.packs.packs() {
                let dead = entries.iter().filter(|e| !live.contains(&e.0)).count();
                if dead == 0 {
                    in_kept_pack.extend(entries.iter().map(|e| e.0));
                    continue;
                }
                doomed.push(name.to_owned());
                for &(hash, offset, len) in entries {
                    if live.contains(&hash) {
                        to_copy.push((name.to_owned(), hash, offset, len));
                    } else {
                        dead_counted.insert(hash, len);
                    }
                }
            }
            report.removed_objects = dead_counted.len();
            report.freed_bytes = dead_counted.values().sum();
            let mut writer: Option<PackWriter> = None;
            for (pack, hash, offset, len) in to_copy {
                if in_kept_pack.contains(&hash) {
                    continue;
                }
                let bytes = inner.packs.read_from(&pack, hash, offset, len)?;
                let w = match &mut writer {
                    Some(w) => w,
                    None => writer.insert(PackWriter::new(&self.dirs.tmp)?),
                };
                w.add(hash, &bytes)?;
            }
            if let Some(w) = writer {
                w.finish(&self.dirs.packs)?;
                report.packs_written = 1;
            }
            for name in &doomed {
                let path = inner.packs.dir().join(name);
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                report.packs_deleted += 1;
            }
            if !doomed.is_empty() {
                durable::sync_dir(&self.dirs.packs)?;
            }
            inner.packs.refresh()?;
            Ok(report)
        })
    }
}
