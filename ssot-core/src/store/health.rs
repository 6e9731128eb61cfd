//! One report on the state of a store: [`Store::health`] and [`Health`] (documented
//! there, where users see it).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::Store;
use super::audit::AuditHead;
use super::retention::AuditPruned;
use crate::Error;

/// The health of a store: one report, made by [`Store::health`].
///
/// [`Health`] gathers what an operator asks first: is every file valid, did anything
/// change behind the store's back, is the audit log whole, how old is the last
/// snapshot, and how the lock manager and the read cache are doing. It serializes to
/// JSON (`serde_json::to_string(&health)`) for tools and prints as a short aligned
/// block for terminals ([`Display`](std::fmt::Display)).
///
/// # Cost
///
/// One [`Store::validate`] (a walk and a cached read of every file), one
/// [`Store::drift`] (a walk, a read and hash of each file whose `stat` changed), one
/// [`Store::verify_audit`] (reads and hashes the whole audit log: linear in its
/// size), one [`Store::history`] (reads the version manifests); the statistics are
/// counters. Nothing is written and no lock of the store is held across the calls, so
/// the parts may describe slightly different instants when changes are committed
/// meanwhile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Health {
    /// The store's root.
    pub root: PathBuf,
    /// Whether every file is valid.
    pub validation: ValidationHealth,
    /// Files changed outside the store since the last revision; `None` when the
    /// audit log is damaged (drift is measured against it; see [`Health::audit`]).
    pub drift: Option<DriftHealth>,
    /// The store's revision (0 before the first change); `None` when the audit log
    /// is damaged.
    pub revision: Option<u64>,
    /// The audit log.
    pub audit: AuditHealth,
    /// The versions (snapshots).
    pub snapshots: SnapshotHealth,
    /// The store's in-process lock manager.
    pub locks: LockHealth,
    /// The read cache.
    pub cache: CacheHealth,
}

impl Health {
    /// Valid, no drift, audit chain intact: nothing for an operator to do.
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.validation.valid
            && self.drift.as_ref().is_some_and(DriftHealth::is_clean)
            && self.audit.intact
    }
}

/// Validation part of [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ValidationHealth {
    /// No problem in any file.
    pub valid: bool,
    /// How many problems [`Store::validate`] reported.
    pub problems: usize,
}

/// Drift part of [`Health`]: how many files changed outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DriftHealth {
    /// Files that appeared.
    pub added: usize,
    /// Files whose bytes changed.
    pub modified: usize,
    /// Files that disappeared.
    pub removed: usize,
    /// Problems of the added and modified files.
    pub problems: usize,
}

impl DriftHealth {
    /// No drift at all.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.added == 0 && self.modified == 0 && self.removed == 0
    }
}

/// Audit-log part of [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditHealth {
    /// Records in the log (as counted by [`Store::verify_audit`]).
    pub records: u64,
    /// The log's size on disk, in bytes (0 before the first change).
    pub bytes: u64,
    /// The hash chain checked out: the log was neither rewritten nor truncated.
    pub intact: bool,
    /// Where and why the chain broke, when it did.
    pub damage: Option<String>,
    /// What `audit_retention` pruned from the start of the log, if anything
    /// (`.ssot/audit.anchor`).
    pub pruned: Option<AuditPruned>,
    /// A note on `.ssot/audit.head` when it does not cover the whole log (missing or
    /// behind after a crash; not damage: see [`AuditHead`]).
    pub head: Option<String>,
}

/// Versions part of [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SnapshotHealth {
    /// How many versions the store keeps.
    pub versions: usize,
    /// The id of the newest version.
    pub last: Option<String>,
    /// How long ago the newest version was taken, in whole seconds (0 for a version
    /// stamped in the future by a clock that went back).
    pub last_age_secs: Option<u64>,
}

/// Lock part of [`Health`]: the counters of the store's lock manager since the store
/// was opened (this process only; other processes wait on the file lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LockHealth {
    /// Locks granted.
    pub acquisitions: u64,
    /// Requests that had to wait.
    pub contended: u64,
    /// Requests that gave up after their timeout.
    pub timeouts: u64,
    /// Requests refused because waiting would have deadlocked.
    pub deadlocks: u64,
    /// Total time spent waiting, in microseconds.
    pub wait_micros: u64,
}

impl From<ssot_lock::LockStats> for LockHealth {
    fn from(s: ssot_lock::LockStats) -> LockHealth {
        LockHealth {
            acquisitions: s.acquisitions,
            contended: s.contended,
            timeouts: s.timeouts,
            deadlocks: s.deadlocks,
            wait_micros: u64::try_from(s.wait_time.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

/// Read-cache part of [`Health`]: [`Store::cache_stats`] and [`Store::read_stats`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CacheHealth {
    /// Cache lookups that found the file's parse.
    pub hits: u64,
    /// Cache lookups that found nothing.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 without lookups.
    pub hit_ratio: f64,
    /// Parses dropped for capacity or expiry.
    pub evictions: u64,
    /// Reads answered after a `stat` alone.
    pub fresh_hits: u64,
    /// Reads that re-read and hashed a file and found it unchanged.
    pub unchanged_rereads: u64,
    /// Reads that parsed and validated a file.
    pub parses: u64,
}

impl CacheHealth {
    fn new(cache: &ssot_cache::CacheStats, reads: &super::ReadStats) -> CacheHealth {
        CacheHealth {
            hits: cache.hits,
            misses: cache.misses,
            hit_ratio: cache.hit_ratio(),
            evictions: cache.evictions(),
            fresh_hits: reads.fresh_hits,
            unchanged_rereads: reads.unchanged_rereads,
            parses: reads.parses,
        }
    }
}

/// `1.5 KiB`, `3 B`: a size for people.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Display only: precision loss above 2^53 bytes does not matter.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `2d 3h`, `4m 10s`, `12s`: an age for people, to two units.
fn human_age(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3_600, "h"),
        (secs % 3_600 / 60, "m"),
        (secs % 60, "s"),
    ];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    parts[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0 || first == 3)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_healthy() {
            "healthy"
        } else {
            "needs attention"
        };
        writeln!(f, "store {}: {verdict}", self.root.display())?;
        let v = &self.validation;
        if v.valid {
            writeln!(f, "  validation  valid")?;
        } else {
            let s = if v.problems == 1 { "" } else { "s" };
            writeln!(
                f,
                "  validation  {} problem{s} (run validate for the report)",
                v.problems
            )?;
        }
        match &self.drift {
            None => writeln!(f, "  drift       unknown: the audit log is damaged")?,
            Some(d) if d.is_clean() => writeln!(f, "  drift       none")?,
            Some(d) => {
                let problems = match d.problems {
                    0 => String::new(),
                    1 => ", 1 problem in them".to_owned(),
                    n => format!(", {n} problems in them"),
                };
                writeln!(
                    f,
                    "  drift       {} added, {} modified, {} removed outside the store{problems}",
                    d.added, d.modified, d.removed
                )?;
            }
        }
        match self.revision {
            Some(revision) => writeln!(f, "  revision    {revision}")?,
            None => writeln!(f, "  revision    unknown: the audit log is damaged")?,
        }
        let a = &self.audit;
        let chain = match (&a.damage, a.intact) {
            (Some(damage), _) => format!("chain broken: {damage}"),
            (None, true) => "chain intact".to_owned(),
            (None, false) => "chain broken".to_owned(),
        };
        writeln!(
            f,
            "  audit log   {} records, {}, {chain}",
            a.records,
            human_bytes(a.bytes)
        )?;
        if let Some(p) = &a.pruned {
            writeln!(f, "              {p}")?;
        }
        if let Some(note) = &a.head {
            writeln!(f, "              note: {note}")?;
        }
        let s = &self.snapshots;
        match (&s.last, s.last_age_secs) {
            (Some(last), Some(age)) => writeln!(
                f,
                "  snapshots   {}, last {} ago ({last})",
                s.versions,
                human_age(age)
            )?,
            _ => writeln!(f, "  snapshots   none")?,
        }
        let l = &self.locks;
        writeln!(
            f,
            "  locks       {} taken, {} waited ({} ms in all), {} timed out, {} deadlocks refused",
            l.acquisitions,
            l.contended,
            l.wait_micros / 1000,
            l.timeouts,
            l.deadlocks
        )?;
        let c = &self.cache;
        write!(
            f,
            "  cache       {:.0}% hits ({} of {}), {} parses, {} evictions",
            c.hit_ratio * 100.0,
            c.hits,
            c.hits + c.misses,
            c.parses,
            c.evictions
        )
    }
}

/// `Some` of a value read from the audit log, `None` when the log is damaged.
fn from_log<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::AuditDamaged { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The size of the audit log at `path` (0 when there is none yet).
fn audit_bytes(path: &std::path::Path) -> Result<u64, Error> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// How long ago `then` was, in whole seconds; 0 for a time in the future.
fn age_secs(then: SystemTime, now: SystemTime) -> u64 {
    now.duration_since(then).unwrap_or(Duration::ZERO).as_secs()
}

impl Store {
    /// The store's [`Health`]: validation, drift, revision, audit log (size and hash
    /// chain), last snapshot, lock and cache statistics. Writes nothing. See [`Health`]
    /// for the cost.
    ///
    /// ```
    /// use ssot_core::{Status, store::Store};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("todo.md"), "- [ ] Build 🆔 build\n")?;
    /// let store = Store::init(dir.path())?;
    /// let _ = store.set_status("build", Status::Done)?;
    /// let health = store.health()?;
    /// assert!(health.is_healthy());
    /// assert_eq!(health.revision, Some(1));
    /// println!("{health}"); // store /tmp/...: healthy, then one line per part
    /// let json = serde_json::to_value(&health)?;
    /// assert_eq!(json["audit"]["intact"], true);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Store::validate`], [`Store::drift`], [`Store::revision`],
    /// [`Store::verify_audit`] and [`Store::history`]: the store cannot be walked, or
    /// its state directory cannot be read. Problems in files, drift and a broken
    /// audit chain are not errors: they are in the report.
    pub fn health(&self) -> Result<Health, Error> {
        let report = self.validate()?;
        let check = self.verify_audit()?;
        // Drift and the revision are read from the audit log: with a damaged log
        // they are unknown, which the report says, rather than an error.
        let drift = from_log(self.drift())?;
        let revision = from_log(self.revision())?;
        let history = self.history()?;
        let last = history.iter().max_by_key(|v| v.created());
        let now = SystemTime::now();
        Ok(Health {
            root: self.root().to_path_buf(),
            validation: ValidationHealth {
                valid: report.problems().is_empty(),
                problems: report.problems().len(),
            },
            drift: drift.map(|d| DriftHealth {
                added: d.added.len(),
                modified: d.modified.len(),
                removed: d.removed.len(),
                problems: d.problems.len(),
            }),
            revision,
            audit: AuditHealth {
                records: check.records,
                bytes: audit_bytes(self.audit_log_path())?,
                intact: check.first_bad.is_none(),
                damage: check.first_bad.as_ref().map(ToString::to_string),
                head: (check.head != AuditHead::Current).then(|| check.head.to_string()),
                pruned: check.pruned,
            },
            snapshots: SnapshotHealth {
                versions: history.len(),
                last: last.map(|v| v.id().to_string()),
                last_age_secs: last.map(|v| age_secs(v.created(), now)),
            },
            locks: self.lock_stats().into(),
            cache: CacheHealth::new(&self.cache_stats(), &self.read_stats()),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn sample() -> Health {
        Health {
            root: PathBuf::from("/data/store"),
            validation: ValidationHealth {
                valid: true,
                problems: 0,
            },
            drift: Some(DriftHealth {
                added: 0,
                modified: 0,
                removed: 0,
                problems: 0,
            }),
            revision: Some(7),
            audit: AuditHealth {
                records: 9,
                bytes: 3_500,
                intact: true,
                damage: None,
                pruned: None,
                head: None,
            },
            snapshots: SnapshotHealth {
                versions: 2,
                last: Some("v2".into()),
                last_age_secs: Some(192),
            },
            locks: LockHealth {
                acquisitions: 10,
                contended: 1,
                timeouts: 0,
                deadlocks: 0,
                wait_micros: 2_500,
            },
            cache: CacheHealth {
                hits: 3,
                misses: 1,
                hit_ratio: 0.75,
                evictions: 0,
                fresh_hits: 3,
                unchanged_rereads: 0,
                parses: 1,
            },
        }
    }

    #[test]
    fn display_is_one_aligned_line_per_part() {
        let text = sample().to_string();
        assert_eq!(
            text,
            "store /data/store: healthy\n\
             \x20 validation  valid\n\
             \x20 drift       none\n\
             \x20 revision    7\n\
             \x20 audit log   9 records, 3.4 KiB, chain intact\n\
             \x20 snapshots   2, last 3m 12s ago (v2)\n\
             \x20 locks       10 taken, 1 waited (2 ms in all), 0 timed out, 0 deadlocks refused\n\
             \x20 cache       75% hits (3 of 4), 1 parses, 0 evictions"
        );
    }

    #[test]
    fn display_names_what_needs_attention() {
        let mut h = sample();
        h.validation = ValidationHealth {
            valid: false,
            problems: 1,
        };
        h.drift.as_mut().unwrap().modified = 2;
        h.audit.intact = false;
        h.audit.damage = Some("line 4: hash mismatch".into());
        h.snapshots = SnapshotHealth {
            versions: 0,
            last: None,
            last_age_secs: None,
        };
        assert!(!h.is_healthy());
        let text = h.to_string();
        assert!(
            text.starts_with("store /data/store: needs attention\n"),
            "{text}"
        );
        assert!(
            text.contains("validation  1 problem (run validate"),
            "{text}"
        );
        assert!(
            text.contains("drift       0 added, 2 modified, 0 removed"),
            "{text}"
        );
        assert!(
            text.contains("chain broken: line 4: hash mismatch"),
            "{text}"
        );
        assert!(text.contains("snapshots   none"), "{text}");
    }

    #[test]
    fn display_says_what_was_pruned_and_notes_a_stale_head() {
        let mut h = sample();
        h.audit.pruned = Some(AuditPruned {
            revision: 40,
            records: 52,
            pruned_at: "2026-11-30T10:00:00Z".parse().unwrap(),
        });
        h.audit.head = Some(AuditHead::Missing.to_string());
        assert!(h.is_healthy(), "pruning and a stale head are not damage");
        let text = h.to_string();
        assert!(
            text.contains("records up to revision 40 pruned on 2026-11-30 (52 in all)"),
            "{text}"
        );
        assert!(text.contains("note: .ssot/audit.head is missing"), "{text}");
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json["audit"]["pruned"]["revision"], 40);
    }

    #[test]
    fn serializes_to_json_with_every_part() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["validation"]["valid"], true);
        assert_eq!(json["drift"]["modified"], 0);
        assert_eq!(json["revision"], 7);
        assert_eq!(json["audit"]["records"], 9);
        assert_eq!(json["audit"]["damage"], serde_json::Value::Null);
        assert_eq!(json["snapshots"]["last_age_secs"], 192);
        assert_eq!(json["locks"]["wait_micros"], 2_500);
        assert_eq!(json["cache"]["hit_ratio"], 0.75);
        assert_eq!(json["root"], "/data/store");
    }

    #[test]
    fn sizes_and_ages_read_like_a_person_would_write_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_age(0), "0s");
        assert_eq!(human_age(59), "59s");
        assert_eq!(human_age(60), "1m");
        assert_eq!(human_age(192), "3m 12s");
        assert_eq!(human_age(3 * 86_400 + 5), "3d");
        assert_eq!(human_age(86_400 + 7_200), "1d 2h");
    }

    fn store_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).unwrap();
        }
        let store = Store::init(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_new_store_is_valid_with_every_file_new_to_the_empty_log() {
        let (_dir, store) = store_with(&[("todo.md", "- [ ] A 🆔 a\n")]);
        let h = store.health().unwrap();
        assert!(h.validation.valid);
        assert_eq!(h.validation.problems, 0);
        // Before the first revision every file is drift (the baseline comes with it).
        let d = h.drift.clone().unwrap();
        assert_eq!((d.added, d.modified, d.removed), (1, 0, 0));
        assert_eq!(h.revision, Some(0));
        assert_eq!(
            (h.audit.records, h.audit.bytes, h.audit.intact),
            (0, 0, true)
        );
        assert_eq!(h.snapshots.versions, 0);
        assert_eq!(h.snapshots.last, None);
        assert_eq!(h.root, store.root());
        assert!(!h.is_healthy());
    }

    #[test]
    fn health_follows_changes_snapshots_outside_edits_and_problems() {
        let (dir, store) = store_with(&[("todo.md", "- [ ] A 🆔 a\n- [ ] B 🆔 b\n")]);
        let _ = store.set_status("a", crate::Status::Done).unwrap();
        let version = store.snapshot("after a").unwrap();
        store.plan().unwrap();
        let h = store.health().unwrap();
        assert!(h.is_healthy(), "{h}");
        assert_eq!(h.revision, Some(1));
        let log = std::fs::metadata(dir.path().join(".ssot/audit.log")).unwrap();
        assert_eq!(h.audit.bytes, log.len());
        assert_eq!(h.audit.records, store.audit_log().unwrap().len() as u64);
        assert_eq!(h.snapshots.versions, store.history().unwrap().len());
        assert_eq!(h.snapshots.last.as_deref(), Some(version.id().as_str()));
        assert!(h.snapshots.last_age_secs.is_some());
        assert!(h.cache.hits + h.cache.misses > 0, "{h:?}");
        assert!(h.locks.acquisitions > 0, "{h:?}");

        // An outside edit that breaks the file: drift with a problem, invalid.
        std::fs::write(
            dir.path().join("todo.md"),
            "- [ ] A 🆔 a\n- [ ] C 🆔 c ⛔ nowhere\n",
        )
        .unwrap();
        let h = store.health().unwrap();
        assert_eq!(h.drift.as_ref().unwrap().modified, 1);
        assert!(!h.validation.valid);
        assert_eq!(h.validation.problems, 1);
        assert!(!h.is_healthy());
        let text = h.to_string();
        assert!(text.contains("needs attention"), "{text}");
        assert!(text.contains("1 modified"), "{text}");
    }

    #[test]
    fn a_damaged_audit_log_is_reported_not_an_error() {
        let (dir, store) = store_with(&[("todo.md", "- [ ] A 🆔 a\n")]);
        let _ = store.set_status("a", crate::Status::Done).unwrap();
        let path = dir.path().join(".ssot/audit.log");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"actor\":\"", "\"actor\":\"x", 1)).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let h = store.health().unwrap();
        assert!(!h.audit.intact);
        let damage = h.audit.damage.clone().unwrap();
        assert!(damage.starts_with(".ssot/audit.log:1"), "{damage}");
        assert_eq!((h.drift.clone(), h.revision), (None, None));
        let text = h.to_string();
        assert!(text.contains("chain broken: .ssot/audit.log:1"), "{text}");
        assert!(
            text.contains("revision    unknown: the audit log is damaged"),
            "{text}"
        );
    }

    #[test]
    fn a_snapshot_from_the_future_is_zero_seconds_old() {
        let now = SystemTime::now();
        assert_eq!(age_secs(now + Duration::from_secs(60), now), 0);
        assert_eq!(age_secs(now - Duration::from_secs(61), now), 61);
    }
}
