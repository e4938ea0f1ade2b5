//! The ready queue: a FIFO of work with asyncio's batch rule.
//!
//! Invariants:
//! - Items leave in the order they were pushed.
//! - [`ReadyQueue::begin_batch`] fixes the batch to exactly the items queued at that moment;
//!   [`ReadyQueue::next_in_batch`] yields at most that many items, so work pushed while a batch
//!   runs always waits for the next batch (asyncio's `ntodo = len(self._ready)`).
//! - `batch_remaining() <= len()` at all times.
//! - The queue never drops an item: every item leaves through `next_in_batch` or `drain_all`.

use std::collections::VecDeque;

/// A FIFO of work items run in batches.
#[derive(Debug)]
pub struct ReadyQueue<W> {
    items: VecDeque<W>,
    batch: usize,
}

impl<W> Default for ReadyQueue<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> ReadyQueue<W> {
    /// An empty queue with no batch in progress.
    pub fn new() -> Self {
        Self {
            items: VecDeque::new(),
            batch: 0,
        }
    }

    /// Appends an item at the back.
    pub fn push(&mut self, w: W) {
        self.items.push_back(w);
    }

    /// The number of queued items (in the batch or not).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Starts a batch made of exactly the items queued now; returns its size.
    pub fn begin_batch(&mut self) -> usize {
        self.batch = self.items.len();
        self.batch
    }

    /// Pops the front item while the batch has items left; `None` once the batch is done.
    pub fn next_in_batch(&mut self) -> Option<W> {
        if self.batch == 0 {
            return None;
        }
        self.batch -= 1;
        self.items.pop_front()
    }

    /// How many items of the current batch have not been popped yet.
    pub fn batch_remaining(&self) -> usize {
        self.batch
    }

    /// Removes and returns every item in order, ending any batch.
    pub fn drain_all(&mut self) -> Vec<W> {
        self.batch = 0;
        self.items.drain(..).collect()
    }

    /// Every queued item, front first (for the binding's garbage-collector traversal).
    pub fn iter(&self) -> impl Iterator<Item = &W> + '_ {
        self.items.iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pushed_during_batch_waits() {
        let mut q = ReadyQueue::new();
        q.push(1);
        q.push(2);
        assert_eq!(q.begin_batch(), 2);
        assert_eq!(q.next_in_batch(), Some(1));
        q.push(3);
        assert_eq!(q.batch_remaining(), 1);
        assert_eq!(q.next_in_batch(), Some(2));
        assert_eq!(q.next_in_batch(), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.begin_batch(), 1);
        assert_eq!(q.next_in_batch(), Some(3));
        assert!(q.is_empty());
    }

    #[test]
    fn drain_all_resets_batch() {
        let mut q = ReadyQueue::new();
        q.push('a');
        q.push('b');
        q.begin_batch();
        assert_eq!(q.drain_all(), vec!['a', 'b']);
        assert_eq!(q.batch_remaining(), 0);
        q.push('c');
        assert_eq!(q.next_in_batch(), None);
    }
}
