//! Adjacency lists for every node, in one shared buffer.
//!
//! A `Vec<Vec<u32>>` costs a heap allocation for every node's first neighbour and a
//! reallocation each time a list doubles; building a graph of 100,000 nodes that way
//! spends more time in the allocator than in the cycle check. Here every list is a
//! block of one pool (`start`, `len`, `cap`): a full list moves to a block twice its
//! size at the end of the pool (or grows in place when it already ends the pool),
//! leaving its old block as garbage; once garbage outweighs the live entries, the
//! pool is rewritten compactly, O(entries), amortized over the pushes that made the
//! garbage. Each list stays contiguous, which is what the graph searches want.

/// One list's block in the pool.
#[derive(Debug, Clone, Copy, Default)]
struct Block {
    start: usize,
    len: u32,
    cap: u32,
}

/// A growable list of `u32` per index, all in one buffer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lists {
    pool: Vec<u32>,
    blocks: Vec<Block>,
    /// Pool entries in abandoned blocks.
    garbage: usize,
}

/// Blocks start with room for this many entries.
const FIRST_CAP: u32 = 4;

/// The pool is not compacted below this much garbage: small graphs never pay for
/// it. Unit tests compact early, so that every graph test exercises compaction.
const COMPACT_MIN: usize = if cfg!(test) { 16 } else { 4096 };

impl Lists {
    /// Room for `lists` lists and `entries` entries.
    pub(crate) fn with_capacity(lists: usize, entries: usize) -> Self {
        Lists {
            pool: Vec::with_capacity(entries),
            blocks: Vec::with_capacity(lists),
            garbage: 0,
        }
    }

    /// Lays out the given lists tightly.
    pub(crate) fn from_vecs(lists: &[Vec<u32>]) -> Self {
        let entries = lists.iter().map(Vec::len).sum();
        let mut out = Lists::with_capacity(lists.len(), entries);
        for list in lists {
            out.blocks.push(Block {
                start: out.pool.len(),
                len: list.len() as u32,
                cap: list.len() as u32,
            });
            out.pool.extend_from_slice(list);
        }
        out
    }

    /// Appends an empty list; its index is the number of lists before.
    pub(crate) fn push_list(&mut self) {
        self.blocks.push(Block::default());
    }

    /// The list at `i`.
    #[inline]
    pub(crate) fn get(&self, i: u32) -> &[u32] {
        let b = self.blocks[i as usize];
        &self.pool[b.start..b.start + b.len as usize]
    }

    /// The length of the list at `i`.
    #[inline]
    pub(crate) fn len(&self, i: u32) -> usize {
        self.blocks[i as usize].len as usize
    }

    /// Appends `value` to the list at `i`.
    pub(crate) fn push(&mut self, i: u32, value: u32) {
        let b = self.blocks[i as usize];
        if b.len == b.cap {
            self.grow(i);
        }
        let b = &mut self.blocks[i as usize];
        self.pool[b.start + b.len as usize] = value;
        b.len += 1;
    }

    #[cold]
    fn grow(&mut self, i: u32) {
        if self.garbage > COMPACT_MIN && self.garbage > self.pool.len() / 2 {
            self.compact();
        }
        let b = self.blocks[i as usize];
        let cap = (b.cap * 2).max(FIRST_CAP);
        if b.start + b.cap as usize == self.pool.len() {
            // The block ends the pool: extend it where it is.
            self.pool.resize(b.start + cap as usize, 0);
        } else {
            let start = self.pool.len();
            self.pool
                .extend_from_within(b.start..b.start + b.len as usize);
            self.pool.resize(start + cap as usize, 0);
            self.garbage += b.cap as usize;
            self.blocks[i as usize].start = start;
        }
        self.blocks[i as usize].cap = cap;
    }

    /// Removes one occurrence of `value` from the list at `i` (order not kept).
    /// Returns whether it was there.
    pub(crate) fn remove(&mut self, i: u32, value: u32) -> bool {
        let b = &mut self.blocks[i as usize];
        let list = &mut self.pool[b.start..b.start + b.len as usize];
        match list.iter().position(|&x| x == value) {
            Some(k) => {
                let last = b.len as usize - 1;
                list.swap(k, last);
                b.len -= 1;
                true
            }
            None => false,
        }
    }

    /// Empties the list at `i`, returning what it held, and gives its block up.
    pub(crate) fn take(&mut self, i: u32) -> Vec<u32> {
        let out = self.get(i).to_vec();
        let b = &mut self.blocks[i as usize];
        self.garbage += b.cap as usize;
        *b = Block::default();
        out
    }

    /// Rewrites the pool with every list tight, dropping the garbage.
    fn compact(&mut self) {
        #[cfg(test)]
        COMPACTIONS.with(|c| c.set(c.get() + 1));
        let live: usize = self.blocks.iter().map(|b| b.len as usize).sum();
        let mut pool = Vec::with_capacity(live + live / 2);
        for b in &mut self.blocks {
            let start = pool.len();
            pool.extend_from_slice(&self.pool[b.start..b.start + b.len as usize]);
            b.start = start;
            b.cap = b.len;
        }
        self.pool = pool;
        self.garbage = 0;
    }

    /// Total entries in every list.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.blocks.iter().map(|b| b.len as usize).sum()
    }
}

#[cfg(test)]
thread_local! {
    /// How many compactions this thread has run, so tests can see them happen.
    pub(crate) static COMPACTIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_grow_move_compact_and_keep_their_entries() {
        let mut lists = Lists::default();
        let n = 50u32;
        for _ in 0..n {
            lists.push_list();
        }
        let mut model: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
        for round in 0..400u32 {
            for i in 0..n {
                if (round + i) % 3 != 0 {
                    lists.push(i, round * 100 + i);
                    model[i as usize].push(round * 100 + i);
                }
            }
            if round % 7 == 0 {
                let i = round % n;
                if let Some(&v) = model[i as usize].first() {
                    assert!(lists.remove(i, v));
                    let k = model[i as usize].iter().position(|&x| x == v).unwrap();
                    model[i as usize].swap_remove(k);
                }
                assert!(!lists.remove(i, u32::MAX));
            }
            if round % 50 == 0 {
                let i = (round / 50) % n;
                assert_eq!(lists.take(i), model[i as usize]);
                model[i as usize].clear();
            }
        }
        for i in 0..n {
            let mut got = lists.get(i).to_vec();
            let mut want = model[i as usize].clone();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want);
            assert_eq!(lists.len(i), want.len());
        }
        assert_eq!(lists.entries(), model.iter().map(Vec::len).sum::<usize>());
        assert!(COMPACTIONS.with(|c| c.get()) > 0);
        // Garbage stays bounded by the live entries (plus the compaction threshold).
        assert!(lists.garbage <= COMPACT_MIN.max(lists.pool.len() / 2) + 1);
        let copy = Lists::from_vecs(&model);
        for i in 0..n {
            assert_eq!(copy.get(i), model[i as usize].as_slice());
        }
    }
}
