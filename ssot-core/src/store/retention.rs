//! Audit retention: `settings: audit_retention: 90d` prunes the audit log of whole
//! revisions older than the retention, and `.ssot/audit.anchor` keeps the log
//! provable after the cut.
//!
//! # The anchor
//!
//! A pruned log no longer starts at revision 1 with [`GENESIS`](super::GENESIS) as
//! its first `prev`, so the chain needs a new starting point that a reader trusts:
//! `.ssot/audit.anchor`, one JSON object holding the revision and `hash` of the last
//! pruned record, when it was pruned, how many records were pruned in all (over every
//! prune), and the last `after` hash of every path the pruned records touched. The
//! last one matters because drift compares each file with the last logged `after` of
//! its path: without them every file last changed before the cut would show as drift.
//! The anchor carries its own BLAKE3 (`check`, over its JSON without that member), so
//! an edited anchor is found; and the first kept record's `prev` must equal the
//! anchor's `hash`, its revision the anchor's plus one, so an anchor that does not
//! belong to the log is found too. (As for the log itself, someone who rewrites the
//! anchor, its check and the log together is not detected by the chain: that needs
//! a copy elsewhere, as for any hash chain.)
//!
//! # Order of writes, and a crash between them
//!
//! Under the log's own `flock` (the one `append` takes), the anchor is written first
//! (temporary file, fsync, rename, directory fsync), then the shortened log the same
//! way. A crash between the two leaves the new anchor beside the whole old log: a
//! reader accepts a log that starts at or before the anchor as long as the anchor's
//! record is in it with the anchor's hash, and treats the records up to the anchor as
//! pruned already ([`Store::audit_log`] does not return them). The next prune
//! finishes the cut.
//!
//! Other handles and processes read the log incrementally by byte offset; the
//! shortened log is a new file (a new inode), which they notice at their next `stat`
//! and read from its start, with the anchor, as a new handle would.
//!
//! # What is never pruned
//!
//! The last revision (the chain's head and the revision counter live in it), and any
//! revision after the write-ahead log's checkpoint: those records are what a crashed
//! apply is repaired from (`wal.rs`), so a prune first takes a checkpoint
//! ([`Store::checkpoint`]: it fsyncs the files changed since the last one) and cuts
//! no further. Only a prefix of whole revisions goes: the cut stops at the first
//! record younger than the retention, so a clock that went back keeps records rather
//! than losing them.
//!
//! # Cost
//!
//! [`Store::prune_audit`] reads and checks the whole log (linear in its size) and
//! writes the anchor and the kept part of the log, with 4 fsyncs, after a
//! checkpoint. `maybe_prune_audit` (meant to run after each commit) costs no I/O
//! when the oldest record this handle read is younger than the retention: the time
//! is kept in memory.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Store;
use super::audit::AuditRecord;
use super::manifest::AuditRetention;
use crate::error::Error;

/// What was pruned from the audit log, as `.ssot/audit.anchor` says: every record up
/// to revision [`revision`](Self::revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditPruned {
    /// The last pruned revision: the log now starts at the one after it.
    pub revision: u64,
    /// How many records were pruned in all (over every prune).
    pub records: u64,
    /// When the last prune ran.
    pub pruned_at: jiff::Timestamp,
}

impl std::fmt::Display for AuditPruned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "records up to revision {} pruned on {} ({} in all)",
            self.revision,
            self.pruned_at.strftime("%Y-%m-%d"),
            self.records
        )
    }
}

/// The result of [`Store::prune_audit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[must_use]
pub struct PruneAudit {
    /// How many records this prune removed (0: nothing was older than the
    /// retention, or the retention is `forever`).
    pub removed: u64,
    /// The log's state after the prune: what was pruned so far, if anything ever was.
    pub pruned: Option<AuditPruned>,
}

/// `.ssot/audit.anchor` (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Anchor {
    /// Revision of the last pruned record.
    pub(crate) revision: u64,
    /// `hash` of the last pruned record.
    pub(crate) hash: String,
    /// When it was pruned.
    pub(crate) pruned_at: jiff::Timestamp,
    /// Records pruned in all.
    pub(crate) records: u64,
    /// The last `after` of every path the pruned records touched.
    pub(crate) last: BTreeMap<String, Option<String>>,
    /// BLAKE3 (hex) of the anchor's JSON without `check`.
    #[serde(default)]
    pub(crate) check: String,
}

/// The anchor as checked: every member but `check`.
#[derive(Serialize)]
struct Unchecked<'a> {
    revision: u64,
    hash: &'a str,
    pruned_at: jiff::Timestamp,
    records: u64,
    last: &'a BTreeMap<String, Option<String>>,
}

impl Anchor {
    fn digest(&self) -> Result<String, serde_json::Error> {
        let body = serde_json::to_string(&Unchecked {
            revision: self.revision,
            hash: &self.hash,
            pruned_at: self.pruned_at,
            records: self.records,
            last: &self.last,
        })?;
        Ok(blake3::hash(body.as_bytes()).to_hex().to_string())
    }

    /// What [`AuditPruned`] says of this anchor.
    pub(crate) fn summary(&self) -> AuditPruned {
        AuditPruned {
            revision: self.revision,
            records: self.records,
            pruned_at: self.pruned_at,
        }
    }

    /// Reads the anchor at `path`: `Ok(None)` when there is none, `Err(reason)` when
    /// it cannot be read or fails its check.
    pub(crate) fn read(path: &Path) -> Result<Option<Anchor>, AnchorError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(AnchorError::Io(e)),
        };
        let anchor: Anchor = serde_json::from_str(&text).map_err(|e| {
            AnchorError::Bad(format!(
                ".ssot/audit.anchor is not an anchor ({e}); restore it from a backup"
            ))
        })?;
        let digest = anchor
            .digest()
            .map_err(|e| AnchorError::Bad(format!(".ssot/audit.anchor: {e}")))?;
        if digest != anchor.check {
            return Err(AnchorError::Bad(
                ".ssot/audit.anchor does not match its `check`: it was edited after it was written; restore it from a backup".into(),
            ));
        }
        Ok(Some(anchor))
    }

    /// Writes the anchor to `path` durably: temporary file, fsync, rename, fsync of
    /// the directory.
    pub(crate) fn write(&mut self, path: &Path) -> Result<(), Error> {
        self.check = self
            .digest()
            .map_err(|e| Error::io(path, io::Error::other(e)))?;
        let text = serde_json::to_string(self).map_err(|e| Error::io(path, io::Error::other(e)))?;
        write_durably(path, format!("{text}\n").as_bytes())
    }
}

/// Why an anchor could not be used.
#[derive(Debug)]
pub(crate) enum AnchorError {
    /// The file system failed.
    Io(io::Error),
    /// The anchor is damaged (the reason says how).
    Bad(String),
}

/// Replaces `path` with `bytes` durably: a temporary file beside it, fsync, rename,
/// fsync of the directory.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::io(path, e))
}

/// How many leading records of `records` (oldest first, whole revisions) a prune
/// removes: every revision whose records are all older than `cutoff`, up to `upto`
/// and never the last revision. Stops at the first record that must stay.
pub(crate) fn cut(records: &[AuditRecord], cutoff: jiff::Timestamp, upto: u64) -> usize {
    let Some(last) = records.last().map(|r| r.revision) else {
        return 0;
    };
    let limit = upto.min(last.saturating_sub(1));
    let stop = records
        .iter()
        .position(|r| r.revision > limit || r.time >= cutoff)
        .unwrap_or(records.len());
    // Back off to the start of the revision the stop is in: revisions go whole.
    let Some(stop_revision) = records.get(stop).map(|r| r.revision) else {
        return stop;
    };
    records[..stop]
        .iter()
        .position(|r| r.revision == stop_revision)
        .unwrap_or(stop)
}

/// The time before which records are pruned, `None` for `forever`.
pub(crate) fn cutoff(retention: AuditRetention, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
    match retention {
        AuditRetention::Forever => None,
        AuditRetention::For(d) => {
            let span = jiff::SignedDuration::try_from(d).ok()?;
            Some(now.checked_sub(span).unwrap_or(jiff::Timestamp::MIN))
        }
    }
}

impl Store {
    /// Prunes the audit log of every whole revision older than the manifest's
    /// `audit_retention` (nothing with `forever`, the default), never the last
    /// revision. The kept log still proves itself: see `.ssot/audit.anchor` in
    /// [`verify_audit`](Self::verify_audit) and the module docs of `retention.rs`
    /// (crash-safe: anchor first, then the shortened log, each durable).
    ///
    /// After it, [`audit_log`](Self::audit_log) returns the kept records,
    /// [`changes_since`](Self::changes_since) a revision below the cut is
    /// [`Error::AuditPruned`], and [`drift`](Self::drift) is unchanged (the anchor
    /// keeps each path's last logged hash).
    ///
    /// Cost: a [`checkpoint`](Self::checkpoint), then reads and checks the whole
    /// log and writes the anchor and the kept part of the log (4 fsyncs), under the
    /// log's lock (commits wait meanwhile).
    ///
    /// # Errors
    ///
    /// [`Error::AuditDamaged`] when the log or the anchor is damaged (nothing is
    /// pruned from a log that does not check); [`Error::LockTimeout`] (the
    /// checkpoint takes the store's lock); [`Error::Io`].
    pub fn prune_audit(&self) -> Result<PruneAudit, Error> {
        self.prune_audit_at(jiff::Timestamp::now(), u64::MAX)
    }

    /// [`prune_audit`](Self::prune_audit) as if the time were `now`: records older
    /// than `now` minus the retention go. For replays and tests (a test makes
    /// records "old" without waiting).
    ///
    /// # Errors
    ///
    /// As [`prune_audit`](Self::prune_audit).
    pub fn prune_audit_as_of(&self, now: jiff::Timestamp) -> Result<PruneAudit, Error> {
        self.prune_audit_at(now, u64::MAX)
    }

    /// [`prune_audit`](Self::prune_audit) as of `now`, keeping every revision above
    /// `upto` (`u64::MAX`: no bound of the caller's).
    ///
    /// The write-ahead log needs the records after its checkpoint (they are what a
    /// crashed apply is repaired from, see `wal.rs`), so a prune first takes a
    /// [`checkpoint`](Self::checkpoint) and never cuts past it.
    pub(crate) fn prune_audit_at(
        &self,
        now: jiff::Timestamp,
        upto: u64,
    ) -> Result<PruneAudit, Error> {
        let Some(cutoff) = cutoff(self.settings().audit_retention, now) else {
            return Ok(PruneAudit {
                removed: 0,
                pruned: self.write.audit.pruned()?,
            });
        };
        let durable = self.checkpoint()?.revision;
        self.write.audit.prune(cutoff, now, upto.min(durable))
    }

    /// Prunes the audit log if this handle knows of a record older than the
    /// retention; without such a record it costs no I/O (the oldest record's time is
    /// kept in memory). Meant to run after each commit; errors are not the commit's
    /// and are dropped (the next call tries again).
    pub(crate) fn maybe_prune_audit(&self) {
        self.maybe_prune_audit_at(jiff::Timestamp::now(), u64::MAX);
    }

    /// [`maybe_prune_audit`](Self::maybe_prune_audit) as of `now`, up to `upto`.
    pub(crate) fn maybe_prune_audit_at(&self, now: jiff::Timestamp, upto: u64) -> bool {
        let Some(cutoff) = cutoff(self.settings().audit_retention, now) else {
            return false;
        };
        if !self.write.audit.may_prune(cutoff) {
            return false;
        }
        self.prune_audit_at(now, upto).is_ok_and(|p| p.removed > 0)
    }

    /// What was pruned from the audit log so far (`None`: nothing ever was), as
    /// `.ssot/audit.anchor` says.
    ///
    /// # Errors
    ///
    /// [`Error::AuditDamaged`] when the anchor is damaged; [`Error::Io`].
    pub fn audit_pruned(&self) -> Result<Option<AuditPruned>, Error> {
        self.write.audit.pruned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::store::audit::Operation;

    fn record(revision: u64, secs: i64) -> AuditRecord {
        AuditRecord {
            revision,
            time: jiff::Timestamp::from_second(secs).unwrap(),
            actor: "t".into(),
            operation: Operation::External,
            path: "a.md".into(),
            before: None,
            after: None,
            version: None,
            redo: None,
            group: None,
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn the_cut_takes_whole_old_revisions_and_never_the_last() {
        let cutoff = jiff::Timestamp::from_second(100).unwrap();
        let all_old = [record(1, 1), record(1, 1), record(2, 2), record(3, 3)];
        assert_eq!(
            cut(&all_old, cutoff, u64::MAX),
            3,
            "all but the last revision"
        );
        assert_eq!(cut(&all_old, cutoff, 1), 2, "bounded by upto");
        assert_eq!(cut(&all_old, cutoff, 0), 0);
        // A revision half old, half young stays whole.
        let split = [record(1, 1), record(2, 50), record(2, 150), record(3, 200)];
        assert_eq!(cut(&split, cutoff, u64::MAX), 1);
        // The cut stops at the first young record, even if older ones follow.
        let clock_back = [record(1, 150), record(2, 1), record(3, 200)];
        assert_eq!(cut(&clock_back, cutoff, u64::MAX), 0);
        assert_eq!(cut(&[], cutoff, u64::MAX), 0);
        assert_eq!(cut(&[record(1, 1)], cutoff, u64::MAX), 0);
    }

    #[test]
    fn forever_has_no_cutoff_and_a_duration_counts_back_from_now() {
        let now = jiff::Timestamp::from_second(1_000).unwrap();
        assert_eq!(cutoff(AuditRetention::Forever, now), None);
        assert_eq!(
            cutoff(
                AuditRetention::For(std::time::Duration::from_secs(100)),
                now
            ),
            Some(jiff::Timestamp::from_second(900).unwrap())
        );
    }

    #[test]
    fn maybe_prune_acts_only_on_records_older_than_the_retention() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("todo.md"),
            "- [ ] A 🆔 a\n- [ ] B 🆔 b\n- [ ] C 🆔 c\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("ssot.yaml"),
            "version: 1\nsettings:\n  audit_retention: 90d\n",
        )
        .unwrap();
        let store = Store::open(dir.path()).unwrap();
        let _ = store.set_status("a", crate::Status::Done).unwrap();
        let _ = store.set_status("b", crate::Status::Done).unwrap();
        let now = jiff::Timestamp::now();
        // Nothing is 90 days old: no prune, and `may_prune` says so without I/O.
        assert!(!store.maybe_prune_audit_at(now, u64::MAX));
        let later = now
            .checked_add(jiff::SignedDuration::from_hours(24 * 91))
            .unwrap();
        // Bounded by `upto`: nothing below revision 1 may go.
        assert!(!store.maybe_prune_audit_at(later, 0));
        // ... and it does not try again before the log grows.
        assert!(!store.write.audit.may_prune(later));
        let _ = store.set_status("c", crate::Status::Done).unwrap();
        assert!(store.maybe_prune_audit_at(later, u64::MAX));
        assert_eq!(store.audit_pruned().unwrap().unwrap().revision, 2);
        assert_eq!(store.revision().unwrap(), 3);
        assert!(store.verify_audit().unwrap().is_ok());
        assert!(store.drift().unwrap().is_empty());
    }

    #[test]
    fn an_anchor_round_trips_and_an_edited_one_fails_its_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.anchor");
        assert!(Anchor::read(&path).unwrap().is_none());
        let mut anchor = Anchor {
            revision: 4,
            hash: "ab".repeat(32),
            pruned_at: jiff::Timestamp::from_second(7).unwrap(),
            records: 9,
            last: [("a.md".to_owned(), Some("cd".repeat(32)))].into(),
            check: String::new(),
        };
        anchor.write(&path).unwrap();
        let read = Anchor::read(&path).unwrap().unwrap();
        assert_eq!(read, anchor);
        assert_eq!(read.summary().revision, 4);
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("\"records\":9", "\"records\":8");
        fs::write(&path, text).unwrap();
        assert!(matches!(Anchor::read(&path), Err(AnchorError::Bad(r)) if r.contains("edited")));
    }
}
