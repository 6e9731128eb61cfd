//! Which files are tracked and how the tree is walked: the include/exclude
//! [`Filter`], the [`walk`] that lists tracked regular files with their `lstat`
//! (never following a symbolic link), and [`under`], which turns a relative `/`-path
//! into a path under the root.

use std::fs::{self, Metadata};
use std::io;
use std::path::Path;

use globset::{GlobSet, GlobSetBuilder};

use crate::error::{Error, Result, io_err};
use crate::manifest::is_store_path;
use crate::parallel::{cpu_threads, parallel};

/// Which paths under the root the store tracks.
pub(crate) struct Filter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Filter {
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Filter> {
        let build = |globs: &[String]| -> Result<GlobSet> {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                let glob = globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map_err(|source| Error::Glob {
                        glob: g.clone(),
                        source,
                    })?;
                b.add(glob);
            }
            b.build().map_err(|source| Error::Glob {
                glob: globs.join(", "),
                source,
            })
        };
        Ok(Filter {
            include: if include.is_empty() {
                None
            } else {
                Some(build(include)?)
            },
            exclude: build(exclude)?,
        })
    }

    /// Whether the file at `rel` is tracked.
    pub(crate) fn tracks_file(&self, rel: &str) -> bool {
        !in_store(rel)
            && (self.exclude.is_empty() || !self.exclude.is_match(rel))
            && self.include.as_ref().is_none_or(|inc| inc.is_match(rel))
    }

    /// Whether a scan of the whole tree records the file at `rel`: the file is tracked
    /// and no directory above it is skipped (an excluded directory hides its files
    /// even when their own paths match no glob).
    pub(crate) fn tracks_path(&self, rel: &str) -> bool {
        self.tracks_file(rel)
            && !rel
                .match_indices('/')
                .any(|(i, _)| self.skips_dir(&rel[..i]))
    }

    /// Whether the walk may skip the directory at `rel` entirely.
    pub(crate) fn skips_dir(&self, rel: &str) -> bool {
        in_store(rel) || (!self.exclude.is_empty() && self.exclude.is_match(rel))
    }
}

fn in_store(rel: &str) -> bool {
    is_store_path(rel)
}

/// Appends every tracked regular file under `root/start` (`start` relative, `""` for
/// the whole tree) to `out` as (relative `/`-path, lstat metadata). Symbolic links
/// and special files are not followed and not tracked.
pub(crate) fn walk(
    root: &Path,
    start: &str,
    filter: &Filter,
    out: &mut Vec<(String, Metadata)>,
) -> Result<()> {
    let mut stack = vec![start.to_owned()];
    let mut files: Vec<(String, fs::DirEntry)> = Vec::new();
    let mut dirs_open = 0usize;
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_owned()
        } else {
            root.join(&rel)
        };
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !rel.is_empty() => continue,
            Err(e) => return Err(io_err("list", dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("list", &dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::UnsafePath {
                    path: entry.path().display().to_string(),
                    version: None,
                    reason: "the file name is not valid UTF-8; rename it or exclude its directory"
                        .into(),
                });
            };
            let child = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            let file_type = entry.file_type().map_err(io_err("stat", entry.path()))?;
            if file_type.is_dir() {
                if !filter.skips_dir(&child) {
                    stack.push(child);
                }
            } else if file_type.is_file() && filter.tracks_file(&child) {
                files.push((child, entry));
            }
        }
        // A pending entry keeps its directory open: stat in batches so that a tree
        // of many directories never holds many descriptors.
        dirs_open += 1;
        if files.len() >= 8192 || dirs_open >= 64 {
            stat_batch(&mut files, out)?;
            dirs_open = 0;
        }
    }
    stat_batch(&mut files, out)
}

/// Stats a batch of listed files (the calls that dominate a scan), spread over the
/// CPUs as git's preloaded index does, and moves them to `out`.
fn stat_batch(
    files: &mut Vec<(String, fs::DirEntry)>,
    out: &mut Vec<(String, Metadata)>,
) -> Result<()> {
    let threads = if files.len() < 512 { 1 } else { cpu_threads() };
    let metas = parallel(files, threads, |(_, entry)| match entry.metadata() {
        Ok(meta) => Ok(Some(meta)),
        // Deleted between listing and stat: it is simply not there.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("stat", entry.path())(e)),
    })?;
    out.extend(
        files
            .drain(..)
            .zip(metas)
            .filter_map(|((rel, _), meta)| meta.map(|m| (rel, m))),
    );
    Ok(())
}

/// Converts a relative `/`-path to a path under `root`.
pub(crate) fn under(root: &Path, rel: &str) -> std::path::PathBuf {
    let mut p = root.to_owned();
    for c in rel.split('/') {
        p.push(c);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_excludes_the_store_and_applies_globs() {
        let f = Filter::new(&[], &["*.tmp".into(), "target".into()]).unwrap();
        assert!(f.tracks_file("a.md"));
        assert!(!f.tracks_file("x.tmp"));
        assert!(f.tracks_file("dir/x.tmp"), "`*` does not cross `/`");
        assert!(!f.tracks_file(".ssot/versions/HEAD"));
        assert!(
            !f.tracks_file(".SSOT/Versions/HEAD"),
            "case-insensitive file systems"
        );
        assert!(f.skips_dir("target"));
        assert!(f.skips_dir(".ssot/versions"));
        let f = Filter::new(&["docs/**".into()], &[]).unwrap();
        assert!(f.tracks_file("docs/a/b.md"));
        assert!(!f.tracks_file("src/a.rs"));
    }

    #[test]
    fn a_bad_glob_names_itself() {
        let err = Filter::new(&["a[".into()], &[]).err().unwrap();
        assert!(err.to_string().contains("`a[`"), "{err}");
    }
}
