//! The disk tier: persistence, damage, capacity in bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;
use std::time::Duration;

use ssot_cache::{DiskTier, ManualClock};

fn open(dir: &Path, bytes: u64, clock: &ManualClock) -> DiskTier<String, Vec<u32>> {
    DiskTier::builder(dir)
        .max_bytes(bytes)
        .clock(clock.clone())
        .open()
        .unwrap()
}

fn key(i: usize) -> String {
    format!("key-{i}")
}

fn entry_files(dir: &Path) -> Vec<fs::DirEntry> {
    fs::read_dir(dir)
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".entry"))
        .collect()
}

#[test]
fn reopening_keeps_entries_and_their_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    {
        let disk = open(dir.path(), 1 << 20, &clock);
        disk.insert(key(1), vec![1, 2, 3]).unwrap();
        disk.insert_with_ttl(key(2), vec![4], Duration::from_secs(10))
            .unwrap();
    }
    let disk = open(dir.path(), 1 << 20, &clock);
    assert_eq!(disk.len(), 2);
    assert_eq!(disk.get(&key(1)).unwrap(), Some(vec![1, 2, 3]));
    clock.advance(Duration::from_secs(4));
    assert_eq!(
        disk.get_with_ttl(&key(2)).unwrap(),
        Some((vec![4], Some(Duration::from_secs(6))))
    );
    drop(disk);
    clock.advance(Duration::from_secs(6));
    let disk = open(dir.path(), 1 << 20, &clock);
    assert_eq!(
        disk.get(&key(2)).unwrap(),
        None,
        "expired entries are dropped on read"
    );
    assert_eq!(disk.len(), 1);
    assert_eq!(disk.stats().expired, 1);
    assert!(
        !disk.path_of(&key(2)).unwrap().exists(),
        "and their file removed"
    );
}

#[test]
fn every_corruption_or_truncation_is_a_miss_that_removes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let value: Vec<u32> = (0..20).collect();
    let disk = open(dir.path(), 1 << 20, &clock);
    disk.insert(key(0), value.clone()).unwrap();
    let path = disk.path_of(&key(0)).unwrap();
    let good = fs::read(&path).unwrap();
    // Every single-byte flip and every truncation, including to zero bytes.
    let damaged = (0..good.len())
        .map(|i| {
            let mut b = good.clone();
            b[i] ^= 0x5A;
            b
        })
        .chain((0..good.len()).map(|n| good[..n].to_vec()));
    let mut cases = 0;
    for bytes in damaged {
        disk.insert(key(0), value.clone()).unwrap();
        fs::write(&path, &bytes).unwrap();
        assert_eq!(
            disk.get(&key(0)).unwrap(),
            None,
            "a damaged entry is a miss"
        );
        assert!(!path.exists(), "and its file is removed");
        assert_eq!(disk.get(&key(0)).unwrap(), None);
        cases += 1;
    }
    assert_eq!(disk.stats().corrupt, cases);
    assert_eq!(disk.size_bytes(), 0);
}

#[test]
fn a_value_of_another_type_is_a_miss_not_a_wrong_value() {
    let dir = tempfile::tempdir().unwrap();
    {
        let disk: DiskTier<String, String> = DiskTier::open(dir.path(), 1 << 20).unwrap();
        disk.insert("k".to_string(), "a string".to_string())
            .unwrap();
    }
    // The same directory read with a value type whose encoding does not fit.
    let disk: DiskTier<String, [u64; 9]> = DiskTier::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(disk.get(&"k".to_string()).unwrap(), None);
    assert_eq!(disk.stats().corrupt, 1);
}

#[test]
fn capacity_in_bytes_holds_and_evicts_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let capacity = 2_000;
    let disk = open(dir.path(), capacity, &clock);
    for i in 0..100 {
        disk.insert(key(i), vec![7; i % 13]).unwrap();
        // Keep key 0 in use: it must survive every eviction.
        assert!(disk.get(&key(0)).unwrap().is_some(), "key-0 evicted at {i}");
        assert!(disk.size_bytes() <= capacity);
        let on_disk: u64 = entry_files(dir.path())
            .iter()
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert_eq!(
            on_disk,
            disk.size_bytes(),
            "the index counts what is on disk"
        );
    }
    assert!(disk.stats().evicted_capacity > 0);
    assert_eq!(disk.get(&key(1)).unwrap(), None, "an old entry was evicted");
    assert!(disk.get(&key(99)).unwrap().is_some());
}

#[test]
fn an_entry_larger_than_the_capacity_is_not_stored_and_removes_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let disk = open(dir.path(), 200, &clock);
    disk.insert(key(0), vec![1]).unwrap();
    disk.insert(key(0), vec![9; 500]).unwrap();
    assert_eq!(
        disk.get(&key(0)).unwrap(),
        None,
        "never the stale small value"
    );
    assert_eq!(disk.size_bytes(), 0);
}

#[test]
fn reopening_with_a_smaller_capacity_keeps_the_most_recently_written() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    {
        let disk = open(dir.path(), 1 << 20, &clock);
        for i in 0..10 {
            disk.insert(key(i), vec![0; 10]).unwrap();
            // Distinct modification times even on coarse file systems.
            let f = fs::File::options()
                .write(true)
                .open(disk.path_of(&key(i)).unwrap())
                .unwrap();
            f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_000 + i as u64))
                .unwrap();
        }
    }
    let one = fs::metadata(open(dir.path(), 1 << 20, &clock).path_of(&key(0)).unwrap())
        .unwrap()
        .len();
    let disk = open(dir.path(), one * 3, &clock);
    assert_eq!(disk.len(), 3);
    for i in 7..10 {
        assert!(disk.get(&key(i)).unwrap().is_some(), "key-{i}");
    }
}

#[test]
fn open_removes_leftover_temporary_files_and_ignores_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    // A temporary file as the tier names them: its prefix and 12 random characters.
    let leftover = dir.path().join(".ssot-cache-tmp-Crashed01234");
    fs::write(&leftover, b"half a write").unwrap();
    fs::write(dir.path().join("README.txt"), b"not ours").unwrap();
    let clock = ManualClock::new();
    let disk = open(dir.path(), 1 << 20, &clock);
    assert!(!leftover.exists());
    assert!(dir.path().join("README.txt").exists());
    assert_eq!(disk.len(), 0);
    disk.insert(key(1), vec![1]).unwrap();
    disk.clear().unwrap();
    assert!(entry_files(dir.path()).is_empty());
    assert!(
        dir.path().join("README.txt").exists(),
        "clear removes only entries"
    );
}

#[test]
fn files_whose_names_this_tier_would_not_write_are_not_indexed_nor_counted() {
    // Entry names are lowercase hex; an uppercase or signed "hex" name is someone
    // else's file. Indexed, it would count towards the capacity (evicting real
    // entries) yet never be found or removed under its lowercase name.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let disk = open(dir.path(), 1 << 20, &clock);
    disk.insert(key(1), vec![1]).unwrap();
    let real = disk.path_of(&key(1)).unwrap();
    let name = real.file_name().unwrap().to_str().unwrap().to_string();
    drop(disk);
    let foreign = [
        name.to_uppercase().replace(".ENTRY", ".entry"),
        format!("+a{}", &name[2..]),
    ];
    for f in &foreign {
        fs::write(dir.path().join(f), vec![0u8; 4096]).unwrap();
    }
    let disk = open(dir.path(), 1 << 20, &clock);
    assert_eq!(disk.len(), 1, "only the real entry is indexed");
    assert_eq!(disk.size_bytes(), fs::metadata(&real).unwrap().len());
    assert_eq!(disk.get(&key(1)).unwrap(), Some(vec![1]));
    disk.clear().unwrap();
    for f in &foreign {
        assert!(dir.path().join(f).exists(), "{f} is left alone");
    }
}

#[test]
fn a_file_deleted_behind_the_tiers_back_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let disk = open(dir.path(), 1 << 20, &clock);
    disk.insert(key(1), vec![1]).unwrap();
    fs::remove_file(disk.path_of(&key(1)).unwrap()).unwrap();
    assert_eq!(disk.get(&key(1)).unwrap(), None);
    assert_eq!(disk.len(), 0);
}

#[test]
fn concurrent_writers_and_readers_never_see_a_wrong_value() {
    let dir = tempfile::tempdir().unwrap();
    let disk: DiskTier<u32, (u32, Vec<u8>)> = DiskTier::open(dir.path(), 20_000).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let disk = &disk;
            s.spawn(move || {
                for n in 0..200u32 {
                    let k = (n * 7 + t) % 16;
                    if n % 3 == 0 {
                        disk.insert(k, (k, vec![u8::try_from(k).unwrap(); (n % 50) as usize]))
                            .unwrap();
                    } else if let Some((stored, bytes)) = disk.get(&k).unwrap() {
                        assert_eq!(stored, k);
                        assert!(bytes.iter().all(|&b| u32::from(b) == k));
                    }
                }
            });
        }
    });
    assert!(disk.size_bytes() <= 20_000);
}

mod model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn cases(default: u32) -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, Vec<u32>),
        InsertTtl(u8, Vec<u32>, u64),
        Get(u8),
        Remove(u8),
        Advance(u64),
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0u8..8;
        let value = prop::collection::vec(any::<u32>(), 0..6);
        prop_oneof![
            3 => (key.clone(), value.clone()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (key.clone(), value, 1u64..5).prop_map(|(k, v, t)| Op::InsertTtl(k, v, t)),
            4 => key.clone().prop_map(Op::Get),
            1 => key.prop_map(Op::Remove),
            2 => (0u64..3).prop_map(Op::Advance),
            1 => Just(Op::Reopen),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases(48)))]

        /// Without capacity pressure the disk tier is a map with deadlines that
        /// survives reopening: every read agrees with a `HashMap` model.
        #[test]
        fn disk_tier_matches_a_map_with_deadlines_across_reopens(ops in prop::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let clock = ManualClock::new();
            let open = || DiskTier::<u8, Vec<u32>>::builder(dir.path()).clock(clock.clone()).open().unwrap();
            let mut disk = open();
            let mut model: HashMap<u8, (Vec<u32>, u64)> = HashMap::new();
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        disk.insert(k, v.clone()).unwrap();
                        model.insert(k, (v, u64::MAX));
                    }
                    Op::InsertTtl(k, v, t) => {
                        disk.insert_with_ttl(k, v.clone(), Duration::from_secs(t)).unwrap();
                        model.insert(k, (v, now + t));
                    }
                    Op::Get(k) => {
                        let want = model.get(&k).filter(|(_, d)| now < *d).map(|(v, _)| v.clone());
                        if want.is_none() {
                            model.remove(&k);
                        }
                        prop_assert_eq!(disk.get(&k).unwrap(), want);
                    }
                    Op::Remove(k) => {
                        disk.remove(&k).unwrap();
                        model.remove(&k);
                    }
                    Op::Advance(d) => {
                        clock.advance(Duration::from_secs(d));
                        now += d;
                    }
                    Op::Reopen => {
                        drop(disk);
                        disk = open();
                    }
                }
                prop_assert_eq!(disk.len(), model.len());
            }
        }
    }
}

#[test]
fn synced_writes_are_stored_and_survive_reopening() {
    // Durability across a crash cannot be tested here; this runs the flushing path
    // (file and directory) and checks it stores what plain writes store.
    let dir = tempfile::tempdir().unwrap();
    let disk: DiskTier<String, Vec<u32>> = DiskTier::builder(dir.path())
        .sync_writes(true)
        .open()
        .unwrap();
    disk.insert(key(1), vec![1, 2]).unwrap();
    disk.insert(key(1), vec![3]).unwrap();
    drop(disk);
    let disk: DiskTier<String, Vec<u32>> = DiskTier::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(disk.get(&key(1)).unwrap(), Some(vec![3]));
}

#[test]
fn foreign_files_named_like_entries_are_not_indexed_counted_evicted_or_cleared() {
    // A file whose name this tier could have written (64 lowercase hex digits and
    // `.entry`) but whose bytes it did not write belongs to someone else.
    let dir = tempfile::tempdir().unwrap();
    let foreign: Vec<_> = (0..3u32)
        .map(|i| dir.path().join(format!("{i:064x}.entry")))
        .collect();
    let content = b"not a cache entry, but someone's notes".repeat(100);
    for f in &foreign {
        fs::write(f, &content).unwrap();
    }
    let temp_like = dir.path().join(".tmp-notes");
    fs::write(&temp_like, b"someone's temporary file").unwrap();
    let clock = ManualClock::new();
    // Each foreign file alone is larger than the capacity: indexed, it would be evicted.
    let disk = open(dir.path(), 2_000, &clock);
    assert_eq!(disk.len(), 0, "foreign files are not indexed");
    assert_eq!(disk.size_bytes(), 0, "nor counted towards the capacity");
    for i in 0..60 {
        disk.insert(key(i), vec![7; 20]).unwrap();
    }
    assert!(
        disk.stats().evicted_capacity > 0,
        "the capacity was reached"
    );
    disk.clear().unwrap();
    drop(disk);
    let disk = open(dir.path(), 2_000, &clock);
    assert_eq!(disk.len(), 0);
    for f in &foreign {
        assert_eq!(
            fs::read(f).unwrap(),
            content,
            "{} is left alone",
            f.display()
        );
    }
    assert!(temp_like.exists(), "a foreign `.tmp-` file is left alone");
}
