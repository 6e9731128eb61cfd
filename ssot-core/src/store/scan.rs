//! Finding the store's files: a walk of the root, each file classified by the
//! manifest.
//!
//! # Why `walkdir`, not `ignore`
//!
//! `walkdir` (BurntSushi's, as `ignore` and ripgrep are) walks one directory tree,
//! sorted, and reports symbolic links without following them. `ignore` adds
//! `.gitignore` semantics and a parallel walker: the first would make which files are
//! part of the single source of truth depend on a VCS's configuration rather than on
//! `ssot.yaml` alone, and the second is of no use for a directory of task files. So
//! the manifest's `ignore` kind is the one way to leave files out.
//!
//! # What is walked
//!
//! Everything under the root, in name order, except directories named `.git` and the
//! store's own `.ssot` directory at the root, and `ssot.yaml` itself. Symbolic links
//! are not followed. A link that a glob matches is read as the file it names when
//! that file is inside the root, and is an error ([`Error::SymlinkEscape`])
//! when it leads outside; a link to a directory is not descended into.

use std::path::{Path, PathBuf};

use super::manifest::{FileKind, MANIFEST_FILE, Manifest};
use super::report::{Location, Problem, ProblemKind};
use crate::Error;
use crate::format::Format;

/// The store's own directory at the root (versions, audit log), never walked.
pub const STATE_DIR: &str = ".ssot";

/// What a file of the store is, resolved for that file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// A task list in this format, optionally also checked against a schema.
    Tasks {
        /// Its format.
        format: Format,
        /// A schema it is also checked against (JSON and YAML only).
        schema: Option<String>,
    },
    /// A JSON or YAML document checked against a schema.
    Document {
        /// The schema.
        schema: String,
    },
}

/// A file of the store: its path relative to the root, `/` separated, and its role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreFile {
    /// The path relative to the root, `/` separated.
    pub path: String,
    /// What it is.
    pub role: Role,
}

/// The role a manifest rule gives `path`, or the problem that prevents one.
pub(crate) fn role_of(manifest: &Manifest, path: &str) -> Option<Result<Role, Problem>> {
    let rule = manifest.rule_for(path)?;
    Some(match &rule.kind {
        FileKind::Ignore => return None,
        FileKind::Tasks { format, schema } => match format.or_else(|| Format::from_path(path)) {
            Some(format) => Ok(Role::Tasks {
                format,
                schema: schema.clone(),
            }),
            None => Err(Problem::new(
                Location::file(path),
                ProblemKind::UnknownFormat,
                format!(
                    "matched as a task list by `{}` in ssot.yaml, but its extension names no task format; \
                     rename it (.md, .yaml, .json, .csv) or write `{{ tasks: markdown }}` (or yaml, json, csv)",
                    rule.glob
                ),
            )),
        },
        FileKind::Document { schema } => {
            if super::manifest::syntax_of(path).is_some() {
                Ok(Role::Document {
                    schema: schema.clone(),
                })
            } else {
                Err(Problem::new(
                    Location::file(path),
                    ProblemKind::UnknownFormat,
                    format!(
                        "matched as a document by `{}` in ssot.yaml, but only `.json`, `.yaml` and `.yml` documents are read",
                        rule.glob
                    ),
                ))
            }
        }
    })
}

/// Walks `root` (canonical) and returns its files with their roles, sorted by path,
/// and the problems met (unreadable directories, undecidable formats).
///
/// # Errors
///
/// [`Error::SymlinkEscape`] for a matched link that leads outside the root.
pub(crate) fn scan(
    root: &Path,
    manifest: &Manifest,
) -> Result<(Vec<StoreFile>, Vec<Problem>), Error> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name();
            !(e.file_type().is_dir() && (name == ".git" || (e.depth() == 1 && name == STATE_DIR)))
        });
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .and_then(|p| relative(root, p))
                    .unwrap_or_else(|| ".".to_owned());
                problems.push(Problem::new(
                    Location::file(path),
                    ProblemKind::Io,
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let Some(rel) = relative(root, entry.path()) else {
            problems.push(Problem::new(
                Location::file(entry.path().to_string_lossy()),
                ProblemKind::Encoding,
                "the path is not UTF-8; rename it, or it cannot be part of the store",
            ));
            continue;
        };
        if rel == MANIFEST_FILE {
            continue;
        }
        let Some(role) = role_of(manifest, &rel) else {
            continue;
        };
        if file_type.is_symlink() {
            match std::fs::canonicalize(entry.path()) {
                Ok(target) if !target.starts_with(root) => {
                    return Err(Error::SymlinkEscape {
                        link: rel,
                        target,
                        root: root.to_path_buf(),
                    });
                }
                Ok(target) if target.is_dir() => continue,
                Ok(_) => {}
                Err(e) => {
                    problems.push(Problem::new(
                        Location::file(rel),
                        ProblemKind::Io,
                        format!("symbolic link that cannot be followed: {e}"),
                    ));
                    continue;
                }
            }
        }
        match role {
            Ok(role) => files.push(StoreFile { path: rel, role }),
            Err(problem) => problems.push(problem),
        }
    }
    Ok((files, problems))
}

/// `path` relative to `root`, `/` separated; `None` when not UTF-8 or not under it.
pub(crate) fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut out = String::new();
    for part in rel.components() {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part.as_os_str().to_str()?);
    }
    Some(out)
}

/// Resolves a path given by a caller (relative to the root, or absolute inside it)
/// to its relative form, refusing one that leads outside, also through a link.
pub(crate) fn resolve(root: &Path, path: &str) -> Result<(String, PathBuf), Error> {
    let outside = || Error::OutsideRoot {
        path: path.to_owned(),
        root: root.to_path_buf(),
    };
    let given = Path::new(path);
    let rel = if given.is_absolute() {
        relative(root, given).ok_or_else(outside)?
    } else {
        if super::manifest::outside_root(path).is_some() {
            return Err(outside());
        }
        path.replace('\\', "/").trim_start_matches("./").to_owned()
    };
    if super::manifest::outside_root(&rel).is_some() {
        return Err(outside());
    }
    let full = root.join(&rel);
    if let Ok(real) = std::fs::canonicalize(&full)
        && !real.starts_with(root)
    {
        return Err(Error::SymlinkEscape {
            link: rel,
            target: real,
            root: root.to_path_buf(),
        });
    }
    Ok((rel, full))
}
