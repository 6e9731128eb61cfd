//! Drift: files changed outside the store since the audit log last recorded them.
//!
//! The audit log knows the last content hash (`after`) of every file it recorded.
//! [`Store::drift`] hashes every file of the store (as the manifest selects them) and
//! compares: a file whose hash differs is `modified`, a file the log never recorded
//! (or recorded as deleted) is `added`, a file the log last recorded with content
//! that is gone is `removed`.
//!
//! **Baseline.** The log records every file of the store on the store's first
//! revision (the first change, or the first [`Store::record_drift`]): until then,
//! every file is reported `added`. Afterwards every change records the drift of the
//! files it touches first, as `External` records of its own revision, and
//! `record_drift` records all of it.
//!
//! **Not drift: a crashed apply.** A commit is durable once its audit records are
//! in the log (`wal.rs`); a crash before its files were all written leaves them at
//! their `before` state. [`Store::drift`] (when the store's lock is free) and
//! [`Store::record_drift`] first write such files from the log, so a crashed apply
//! is never reported or recorded as an outside change. A file being written by a
//! commit in another process at that moment can show as modified for that moment.
//!
//! **Cost.** A walk of the store and a `stat` of every file; a file is read and hashed
//! only when its fingerprint changed since this handle last hashed it, or when it
//! was modified less than [`RACY_WINDOW`](super::RACY_WINDOW) before that (the read
//! cache's racy-clean rule: a file changed twice within one timestamp tick is never
//! taken for unchanged).

use std::collections::BTreeSet;

use serde::Serialize;

use super::Store;
use super::audit::Operation;
use super::change::Commit;
use super::read::ReadAs;
use super::report::Problem;
use super::scan;
use crate::error::Error;

/// How the store's files differ from what the audit log last recorded. Each list is
/// sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Drift {
    /// Files the log has not recorded (or last recorded as deleted).
    pub added: Vec<String>,
    /// Files whose content differs from the log's last record.
    pub modified: Vec<String>,
    /// Files the log last recorded with content, now gone.
    pub removed: Vec<String>,
    /// The problems of the added and modified files, as a read would report them.
    pub problems: Vec<Problem>,
}

impl Drift {
    /// Whether no file drifted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

/// A drifted path, the log's last hash for it, and its hash now.
type Drifted = (String, Option<String>, Option<String>);

impl Store {
    /// Drift with, for each drifted path, the log's last hash and the file's hash now.
    fn drift_detail(&self) -> Result<(Drift, Vec<Drifted>), Error> {
        let now = self.file_hashes()?;
        let last = self.write.audit.last_after()?;
        let mut drift = Drift::default();
        let mut detail = Vec::new();
        let present: BTreeSet<&str> = now.iter().map(|(p, _)| p.as_str()).collect();
        for (path, hash) in &now {
            match last.get(path).cloned().flatten() {
                None => {
                    drift.added.push(path.clone());
                    detail.push((path.clone(), None, Some(hash.clone())));
                }
                Some(logged) if &logged != hash => {
                    drift.modified.push(path.clone());
                    detail.push((path.clone(), Some(logged), Some(hash.clone())));
                }
                Some(_) => {}
            }
        }
        let mut gone: Vec<(&String, &String)> = last
            .iter()
            .filter_map(|(p, a)| a.as_ref().map(|a| (p, a)))
            .filter(|(p, _)| !present.contains(p.as_str()))
            .collect();
        gone.sort();
        for (path, logged) in gone {
            // Only files that are still part of the store by the manifest.
            if self.is_tracked(path) {
                drift.removed.push(path.clone());
                detail.push((path.clone(), Some(logged.clone()), None));
            }
        }
        for path in drift.added.iter().chain(&drift.modified) {
            let read_as = match scan::role_of(&self.manifest, path) {
                Some(Ok(role)) => ReadAs::Role(role),
                Some(Err(problem)) => {
                    drift.problems.push(problem);
                    continue;
                }
                None => ReadAs::Config,
            };
            let loaded = self.load(path, &read_as);
            drift.problems.extend(loaded.problems.iter().cloned());
        }
        detail.sort();
        Ok((drift, detail))
    }

    /// Which files changed outside the store since the audit log last recorded them
    /// (see the module docs for the baseline), with the problems of the changed
    /// files. Writes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Io`]; [`Error::AuditDamaged`]; [`Error::SymlinkEscape`].
    pub fn drift(&self) -> Result<Drift, Error> {
        self.try_locked(|| self.recover_locked())?;
        Ok(self.drift_detail()?.0)
    }

    /// Under the store's lock, records the drift as one revision of `External`
    /// records (one per drifted file), or returns `None` when nothing drifted. The
    /// drifted files are validated and their problems reported by
    /// [`drift`](Self::drift), never refused: the bytes are already there.
    ///
    /// # Errors
    ///
    /// As [`drift`](Self::drift); [`Error::LockTimeout`].
    pub fn record_drift(&self) -> Result<Option<Commit>, Error> {
        self.locked(&BTreeSet::new(), || {
            // Finishes a write a crash interrupted before looking.
            if self.write.state_dir.join("versions").is_dir() {
                self.versions()?.head()?;
            }
            let (_, detail) = self.drift_detail()?;
            if detail.is_empty() {
                return Ok(None);
            }
            let now = jiff::Timestamp::now();
            let records: Vec<_> = detail
                .into_iter()
                .map(|(path, before, after)| {
                    self.pending(now, Operation::External, &path, before, after)
                })
                .collect();
            let appended = self
                .write
                .audit
                .append(&records, None, |_| Ok(false))?
                .map(|a| a.records)
                .unwrap_or_default();
            for r in &appended {
                self.reader.invalidate(&r.path);
            }
            self.write.publish(&appended);
            Ok(Some(Commit {
                revision: appended.first().map_or(0, |r| r.revision),
                version: None,
                records: appended,
            }))
        })
    }
}
