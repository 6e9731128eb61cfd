//! Cache parsed documents: a memory tier shared by threads that loads each document
//! once, in front of a disk tier that survives a restart; then look at the counters.
//!
//! Run from the repository root: `cargo run -p ssot-examples --example caching`
//! (it writes its disk tier into a fresh directory under the system temp dir and
//! removes it at the end).

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ssot_cache::{DiskTier, MemoryCache, RemovalCause, TieredCache};

/// What we cache: a document's words, counted. Expensive to compute, cheap to share.
type WordCount = Vec<(String, u32)>;

fn count_words(text: &str) -> WordCount {
    let mut counts: Vec<(String, u32)> = Vec::new();
    for word in text.split_whitespace().map(str::to_lowercase) {
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

const DOCS: [(&str, &str); 3] = [
    (
        "todo.md",
        "fix the bug then ship the fix then write the notes",
    ),
    ("plan.md", "plan the release plan the rollback"),
    ("notes.md", "the cache keeps the parsed notes"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A memory cache shared by threads. Values are `Arc`s: a hit clones a pointer.
    let parses = AtomicUsize::new(0);
    let memory: MemoryCache<String, Arc<WordCount>> = MemoryCache::builder()
        .max_capacity(1_000)
        .time_to_live(Duration::from_secs(600))
        .eviction_listener(|key: String, _value, cause: RemovalCause| {
            println!("  (listener: {key} left the memory tier: {cause:?})");
        })
        .build();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for (name, text) in DOCS {
                    // Four threads ask for each document; each is parsed once.
                    let counts = memory.get_or_insert_with(name, || {
                        parses.fetch_add(1, Ordering::SeqCst);
                        Arc::new(count_words(text))
                    });
                    assert!(!counts.is_empty());
                }
            });
        }
    });
    let stats = memory.stats();
    println!(
        "memory tier: {} reads, {} hits, {} documents parsed ({} asked for each)",
        stats.hits + stats.misses,
        stats.hits,
        parses.load(Ordering::SeqCst),
        4
    );
    if let Some(counts) = memory.get("todo.md") {
        println!("todo.md, most frequent words: {:?}", &counts[..3]);
    }
    memory.remove("plan.md");

    // 2. A tiered cache: memory in front of a disk tier in a directory of our own.
    let dir = scratch_dir()?;
    let result = tiered(&dir);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn tiered(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let open = || -> Result<TieredCache<String, WordCount>, ssot_cache::Error> {
        let memory = MemoryCache::new(100);
        let disk = DiskTier::builder(dir).max_bytes(1 << 20).open()?;
        Ok(TieredCache::builder().tier(memory).tier(disk).build())
    };
    {
        let cache = open()?;
        for (name, text) in DOCS {
            cache.insert(name.to_string(), count_words(text))?;
        }
        println!(
            "\nwrote {} documents through both tiers into {}",
            DOCS.len(),
            dir.display()
        );
    }
    // "Restart": a new process would start here with an empty memory tier.
    let cache = open()?;
    let todo = cache
        .get(&"todo.md".to_string())?
        .ok_or("todo.md should be on disk")?;
    println!(
        "after a restart, todo.md came from disk: {} distinct words",
        todo.len()
    );
    cache.get(&"todo.md".to_string())?; // now served by the memory tier
    cache.invalidate(&"notes.md".to_string())?;
    assert_eq!(cache.get(&"notes.md".to_string())?, None);
    for tier in cache.stats() {
        println!(
            "  {:<6} hits {}, misses {}, promotions {}, evictions {}",
            tier.name, tier.hits, tier.misses, tier.promotions, tier.evictions
        );
    }
    Ok(())
}

/// A fresh directory under the system temp dir, unique to this run.
fn scratch_dir() -> std::io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "ssot-caching-example-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
