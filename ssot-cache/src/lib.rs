//! placeholder
#![deny(missing_docs)]

mod clock;
mod disk;
mod error;
mod flight;
mod memory;
mod shard;
mod stats;
mod tier;
mod tiered;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use disk::{DiskStats, DiskTier, DiskTierBuilder};
pub use error::Error;
pub use memory::{MemoryCache, MemoryCacheBuilder};
pub use stats::{CacheStats, RemovalCause, TierStats};
pub use tier::{Tier, TierEntry};
pub use tiered::{TieredCache, TieredCacheBuilder};
