//! [`VersionStore::verify`]: re-hash every object, check every manifest and reference.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;

use crate::error::{Error, Result, io_err};
use crate::id::{ObjectHash, VersionId};
use crate::manifest::{self, DecodeError};
use crate::pack::PackSet;
use crate::store::VersionStore;

/// What [`VersionStore::verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Objects read and re-hashed.
    pub objects_checked: usize,
    /// Manifests read and checked.
    pub versions_checked: usize,
    /// Everything wrong, in the order found. Empty for a healthy store.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether the store is healthy.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One thing [`VersionStore::verify`] found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// An object's bytes do not hash to its name.
    CorruptObject {
        /// The object's recorded hash.
        hash: ObjectHash,
        /// The pack file holding it.
        pack: String,
    },
    /// A pack file whose header, index or footer is damaged; its objects are unusable.
    UnreadablePack {
        /// The pack file.
        pack: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A manifest that cannot be read, does not match its id, or holds unsafe paths.
    CorruptManifest {
        /// The manifest file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A version refers to an object no pack holds (or only a corrupt copy).
    MissingObject {
        /// The version.
        version: VersionId,
        /// The file that needs the object.
        path: String,
        /// The object's hash.
        hash: ObjectHash,
    },
    /// A version records a size different from its object's.
    SizeMismatch {
        /// The version.
        version: VersionId,
        /// The file.
        path: String,
        /// The size in the manifest.
        recorded: u64,
        /// The size of the object.
        actual: u64,
    },
    /// `HEAD` is unreadable or names a version the store does not hold.
    BadHead {
        /// What is wrong.
        reason: String,
    },
    /// A tag names a version the store does not hold.
    DanglingTag {
        /// The tag.
        name: String,
        /// The version it names.
        id: VersionId,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CorruptObject { hash, pack } => {
                write!(f, "object {hash} in pack {pack} is corrupt")
            }
            Problem::UnreadablePack { pack, reason } => {
                write!(f, "pack {pack} is unreadable: {reason}")
            }
            Problem::CorruptManifest { file, reason } => write!(f, "manifest {file}: {reason}"),
            Problem::MissingObject {
                version,
                path,
                hash,
            } => {
                write!(
                    f,
                    "version {version}: `{path}` needs object {hash}, which is missing or corrupt"
                )
            }
            Problem::SizeMismatch {
                version,
                path,
                recorded,
                actual,
            } => write!(
                f,
                "version {version}: `{path}` records {recorded} bytes but its object has {actual}"
            ),
            Problem::BadHead { reason } => write!(f, "HEAD: {reason}"),
            Problem::DanglingTag { name, id } => write!(
                f,
                "tag `{name}` names version {id}, which is not in the store"
            ),
        }
    }
}

impl VersionStore {
    /// Re-hashes every object in every pack and checks every manifest (against its id,
    /// for safe paths, and that each file's object exists with the recorded size),
    /// `HEAD` and the tags. Reads the whole store: O(total stored bytes).
    ///
    /// # Errors
    /// Only for I/O failures; damage is reported in the [`VerifyReport`].
    pub fn verify(&self) -> Result<VerifyReport> {
        self.locked(|inner| {
            // Packs are immutable, so their indexes are cached; verify trusts no cache.
            inner.packs = PackSet::new(self.dirs.packs.clone());
            inner.packs.refresh()?;
            inner.manifests.clear();
            let mut report = VerifyReport::default();
            let mut good: HashMap<ObjectHash, u64> = HashMap::new();
            let mut bad: HashSet<ObjectHash> = HashSet::new();
            for (pack, reason) in inner.packs.broken() {
                report.problems.push(Problem::UnreadablePack {
                    pack: pack.clone(),
                    reason: reason.clone(),
                });
            }
            for (pack, entries) in inner.packs.packs() {
                for &(hash, offset, len) in entries {
                    report.objects_checked += 1;
                    match inner.packs.read_from(pack, hash, offset, len) {
                        Ok(_) => {
                            good.insert(hash, len);
                        }
                        Err(Error::CorruptObject { .. }) => {
                            bad.insert(hash);
                            report.problems.push(Problem::CorruptObject {
                                hash,
                                pack: pack.to_owned(),
                            });
                        }
                        Err(Error::Io { source, .. })
                            if source.kind() == std::io::ErrorKind::UnexpectedEof =>
                        {
                            bad.insert(hash);
                            report.problems.push(Problem::UnreadablePack {
                                pack: pack.to_owned(),
                                reason: format!("object {hash} extends past the end of the file"),
                            });
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            let ids = self.list_ids()?;
            for id in &ids {
                report.versions_checked += 1;
                let path = self.dirs.manifest(id);
                let bytes = fs::read(&path).map_err(io_err("read", &path))?;
                let file = format!("{id}.json");
                let version = match manifest::decode(id, &bytes) {
                    Ok(v) => v,
                    Err(DecodeError::Corrupt(reason)) => {
                        report
                            .problems
                            .push(Problem::CorruptManifest { file, reason });
                        continue;
                    }
                    Err(DecodeError::UnsafePath { path, reason }) => {
                        report.problems.push(Problem::CorruptManifest {
                            file,
                            reason: format!("unsafe path `{path}`: {reason}"),
                        });
                        continue;
                    }
                };
                for f in version.files() {
                    match good.get(&f.hash) {
                        Some(&len) if len != f.size => {
                            report.problems.push(Problem::SizeMismatch {
                                version: id.clone(),
                                path: f.path.clone(),
                                recorded: f.size,
                                actual: len,
                            })
                        }
                        Some(_) => {}
                        None => report.problems.push(Problem::MissingObject {
                            version: id.clone(),
                            path: f.path.clone(),
                            hash: f.hash,
                        }),
                    }
                }
            }
            let known: HashSet<&VersionId> = ids.iter().collect();
            match self.read_head() {
                Ok(Some(head)) if !known.contains(&head) => {
                    report.problems.push(Problem::BadHead {
                        reason: format!("names version {head}, which is not in the store"),
                    })
                }
                Ok(_) => {}
                Err(e) => report.problems.push(Problem::BadHead {
                    reason: e.to_string(),
                }),
            }
            match self.read_tags() {
                Ok(tags) => {
                    for (name, id) in tags {
                        if !known.contains(&id) {
                            report.problems.push(Problem::DanglingTag { name, id });
                        }
                    }
                }
                Err(e) => report.problems.push(Problem::CorruptManifest {
                    file: "tags.json".into(),
                    reason: e.to_string(),
                }),
            }
            Ok(report)
        })
    }
}
