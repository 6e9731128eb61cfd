//! [`Diff`]: which paths were added, removed or modified between two file lists.

use crate::manifest::FileEntry;

/// The paths that differ between two versions, or between the newest version and the
/// working tree ([`VersionStore::status`](crate::VersionStore::status)). Each list is
/// sorted by path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diff {
    /// Paths present only in the newer side.
    pub added: Vec<String>,
    /// Paths present only in the older side.
    pub removed: Vec<String>,
    /// Paths present in both whose content or executable bit differs.
    pub modified: Vec<String>,
}

impl Diff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }

    /// The number of paths that differ.
    pub fn len(&self) -> usize {
        self.added.len() + self.removed.len() + self.modified.len()
    }

    /// Compares two lists sorted by path, in one merge pass: O(|old| + |new|).
    pub(crate) fn between(old: &[FileEntry], new: &[FileEntry]) -> Diff {
        let mut diff = Diff::default();
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            match (old.get(i), new.get(j)) {
                (Some(a), Some(b)) => match a.path.cmp(&b.path) {
                    std::cmp::Ordering::Less => {
                        diff.removed.push(a.path.clone());
                        i += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        diff.added.push(b.path.clone());
                        j += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        if a.hash != b.hash || a.executable != b.executable {
                            diff.modified.push(a.path.clone());
                        }
                        i += 1;
                        j += 1;
                    }
                },
                (Some(a), None) => {
                    diff.removed.push(a.path.clone());
                    i += 1;
                }
                (None, Some(b)) => {
                    diff.added.push(b.path.clone());
                    j += 1;
                }
                (None, None) => break,
            }
        }
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ObjectHash;

    fn f(path: &str, content: &str, exec: bool) -> FileEntry {
        FileEntry::new(
            path,
            content.len() as u64,
            ObjectHash::of(content.as_bytes()),
            exec,
        )
    }

    #[test]
    fn diff_lists_added_removed_and_modified_paths() {
        let old = [f("a", "1", false), f("b", "2", false), f("c", "3", false)];
        let new = [f("b", "2", true), f("c", "3", false), f("d", "4", false)];
        let d = Diff::between(&old, &new);
        assert_eq!(d.added, ["d"]);
        assert_eq!(d.removed, ["a"]);
        assert_eq!(
            d.modified,
            ["b"],
            "an executable-bit change is a modification"
        );
        assert_eq!(d.len(), 3);
        assert!(Diff::between(&old, &old).is_empty());
    }
}
