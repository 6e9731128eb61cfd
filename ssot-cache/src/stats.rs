//! What the caches count: [`RemovalCause`], [`CacheStats`] and [`TierStats`].

/// Why an entry left a cache, as told to an eviction listener and counted in
/// [`CacheStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Evicted to keep the cache within its capacity (the least recently used entry
    /// of its shard), or refused because it alone is heavier than a shard's capacity.
    Capacity,
    /// Its time-to-live or time-to-idle had passed.
    Expired,
    /// Removed by `remove`, `invalidate_all` or `invalidate_if`.
    Explicit,
    /// Overwritten by an insert of the same key; the listener is given the old value.
    Replaced,
}

impl RemovalCause {
    pub(crate) fn index(self) -> usize {
        match self {
            RemovalCause::Capacity => 0,
            RemovalCause::Expired => 1,
            RemovalCause::Explicit => 2,
            RemovalCause::Replaced => 3,
        }
    }
}

/// Counters of a [`MemoryCache`](crate::MemoryCache), summed over its shards.
///
/// Reads and writes made through `get`, `get_with_ttl` and the `get_or_insert_with`
/// family count; `contains_key` does not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads that found a live entry.
    pub hits: u64,
    /// Reads that found nothing or an expired entry.
    pub misses: u64,
    /// Calls that stored a value (`insert`, `insert_with_ttl`, and loads).
    pub inserts: u64,
    /// Entries evicted (or refused) for capacity.
    pub evicted_capacity: u64,
    /// Entries removed because they had expired.
    pub expired: u64,
    /// Entries removed explicitly.
    pub explicit: u64,
    /// Values overwritten by an insert of the same key.
    pub replaced: u64,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or 0 when there were no reads.
    #[must_use]
    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            0.0
        } else {
            // Precision loss above 2^53 reads is irrelevant for a ratio.
            #[allow(clippy::cast_precision_loss)]
            let r = self.hits as f64 / reads as f64;
            r
        }
    }

    /// Entries the cache dropped on its own: evicted for capacity (or refused as too
    /// heavy) and expired. Explicit removals and replacements are not evictions. This
    /// is what [`Tier::evictions`](crate::Tier::evictions),
    /// [`TierStats::evictions`] and [`DiskStats::evictions`](crate::DiskStats::evictions)
    /// count too.
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.evicted_capacity + self.expired
    }

    /// Entries that left the cache for any cause: evictions, explicit removals and
    /// replaced values.
    #[must_use]
    pub fn removals(&self) -> u64 {
        self.evictions() + self.explicit + self.replaced
    }

    pub(crate) fn add_removed(&mut self, removed: &[u64; 4]) {
        self.evicted_capacity += removed[RemovalCause::Capacity.index()];
        self.expired += removed[RemovalCause::Expired.index()];
        self.explicit += removed[RemovalCause::Explicit.index()];
        self.replaced += removed[RemovalCause::Replaced.index()];
    }
}

/// Counters of one tier of a [`TieredCache`](crate::TieredCache).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TierStats {
    /// The tier's [`name`](crate::Tier::name).
    pub name: String,
    /// Reads this tier answered (the tiers above it missed).
    pub hits: u64,
    /// Reads that reached this tier and missed.
    pub misses: u64,
    /// Entries written into this tier because a lower tier had them.
    pub promotions: u64,
    /// Entries this tier dropped on its own (capacity, expiry, and for the disk tier
    /// damage; never an explicit removal or a replacement), as the tier reports
    /// through [`Tier::evictions`](crate::Tier::evictions).
    pub evictions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_ratio_of_no_reads_is_zero() {
        assert_eq!(CacheStats::default().hit_ratio(), 0.0);
        let s = CacheStats {
            hits: 3,
            misses: 1,
            ..CacheStats::default()
        };
        assert_eq!(s.hit_ratio(), 0.75);
    }
}
