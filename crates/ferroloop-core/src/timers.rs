//! The timer heap: scheduled work ordered by `(when, insertion sequence)`.
//!
//! Invariants:
//! - The head is the entry with the smallest `when` (compared with [`f64::total_cmp`], so NaN and
//!   infinities have a fixed place); entries with equal `when` leave in insertion order.
//! - The heap holds cancelled entries until they are purged or popped: cancelling is the caller's
//!   business; the heap only counts cancellations reported through [`TimerHeap::note_cancelled`],
//!   exactly as asyncio's `_timer_cancelled_count`. The count is decremented only by the head purge
//!   of [`TimerHeap::purge`], reset by the full compaction and by [`TimerHeap::drain_all`]; popping
//!   a due entry leaves it unchanged (as asyncio does).
//! - The heap never drops an item: every item leaves through `purge`, `pop_due` or `drain_all`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// asyncio's `_MIN_SCHEDULED_TIMER_HANDLES`: no full compaction at or below this many timers.
pub const MIN_SCHEDULED_TIMERS: usize = 100;
/// asyncio's `_MIN_CANCELLED_TIMER_HANDLES_FRACTION`: compact when more than this fraction is cancelled.
pub const MIN_CANCELLED_FRACTION: f64 = 0.5;

#[derive(Debug)]
struct Entry<W> {
    when: f64,
    seq: u64,
    item: W,
}

impl<W> Entry<W> {
    fn key_cmp(&self, other: &Self) -> Ordering {
        self.when.total_cmp(&other.when).then(self.seq.cmp(&other.seq))
    }
}

impl<W> PartialEq for Entry<W> {
    fn eq(&self, other: &Self) -> bool {
        self.key_cmp(other) == Ordering::Equal
    }
}

impl<W> Eq for Entry<W> {}

impl<W> PartialOrd for Entry<W> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<W> Ord for Entry<W> {
    // Reversed: `BinaryHeap` is a max-heap, the timer heap wants the earliest entry on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key_cmp(self)
    }
}

/// A min-heap of timers keyed by `(when, insertion sequence)`.
#[derive(Debug)]
pub struct TimerHeap<W> {
    heap: BinaryHeap<Entry<W>>,
    next_seq: u64,
    cancelled: usize,
}

impl<W> Default for TimerHeap<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> TimerHeap<W> {
    /// An empty heap.
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
            cancelled: 0,
        }
    }

    /// Schedules `item` at `when`.
    pub fn push(&mut self, when: f64, item: W) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.heap.push(Entry { when, seq, item });
    }

    /// The number of entries, cancelled ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether the heap holds no entry.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The `when` of the head entry.
    pub fn peek_when(&self) -> Option<f64> {
        self.heap.peek().map(|e| e.when)
    }

    /// Records that a still-scheduled timer was cancelled (asyncio's `_timer_handle_cancelled`).
    pub fn note_cancelled(&mut self) {
        self.cancelled += 1;
    }

    /// The number of cancellations recorded and not yet purged.
    pub fn cancelled_count(&self) -> usize {
        self.cancelled
    }

    /// asyncio's purge at the start of `_run_once`.
    ///
    /// If more than [`MIN_SCHEDULED_TIMERS`] entries are scheduled and more than
    /// [`MIN_CANCELLED_FRACTION`] of them were reported cancelled, every cancelled entry is removed
    /// (in no particular order), the heap is rebuilt and the count reset to 0; otherwise cancelled
    /// entries are popped off the head, each decrementing the count (saturating). Removed entries
    /// are appended to `removed`.
    pub fn purge(&mut self, mut is_cancelled: impl FnMut(&W) -> bool, removed: &mut Vec<W>) {
        let len = self.heap.len();
        if len > MIN_SCHEDULED_TIMERS && self.cancelled as f64 / len as f64 > MIN_CANCELLED_FRACTION {
            let entries = std::mem::take(&mut self.heap).into_vec();
            let mut kept = Vec::with_capacity(entries.len());
            for e in entries {
                if is_cancelled(&e.item) {
                    removed.push(e.item);
                } else {
                    kept.push(e);
                }
            }
            self.heap = BinaryHeap::from(kept);
            self.cancelled = 0;
        } else {
            while self.heap.peek().is_some_and(|e| is_cancelled(&e.item)) {
                if let Some(e) = self.heap.pop() {
                    self.cancelled = self.cancelled.saturating_sub(1);
                    removed.push(e.item);
                }
            }
        }
    }

    /// Pops the head if its `when < end_time`, cancelled or not.
    pub fn pop_due(&mut self, end_time: f64) -> Option<W> {
        if self.heap.peek()?.when.total_cmp(&end_time) == Ordering::Less {
            self.heap.pop().map(|e| e.item)
        } else {
            None
        }
    }

    /// Removes and returns every entry in `(when, seq)` order and resets the cancelled count.
    pub fn drain_all(&mut self) -> Vec<W> {
        self.cancelled = 0;
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        entries.sort_by(|a, b| a.key_cmp(b));
        entries.into_iter().map(|e| e.item).collect()
    }

    /// Every timer item, in no particular order (for the binding's garbage-collector traversal).
    pub fn iter(&self) -> impl Iterator<Item = &W> + '_ {
        self.heap.iter().map(|entry| &entry.item)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ties_leave_in_insertion_order() {
        let mut h = TimerHeap::new();
        h.push(2.0, "c");
        h.push(1.0, "a");
        h.push(1.0, "b");
        h.push(3.0, "d");
        assert_eq!(h.peek_when(), Some(1.0));
        assert_eq!(h.pop_due(2.0), Some("a"));
        assert_eq!(h.pop_due(2.0), Some("b"));
        assert_eq!(h.pop_due(2.0), None, "when == end_time is not due");
        assert_eq!(h.drain_all(), vec!["c", "d"]);
    }

    #[test]
    fn head_purge_decrements_count() {
        let mut h = TimerHeap::new();
        for i in 0..5 {
            h.push(i as f64, i);
        }
        h.note_cancelled();
        h.note_cancelled();
        let mut removed = Vec::new();
        h.purge(|&i| i == 0 || i == 3, &mut removed);
        assert_eq!(removed, vec![0]);
        assert_eq!(h.cancelled_count(), 1);
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn compaction_needs_more_than_100_and_more_than_half() {
        let mut h = TimerHeap::new();
        for i in 0..101 {
            h.push(i as f64, i);
        }
        for _ in 0..51 {
            h.note_cancelled();
        }
        let mut removed = Vec::new();
        // Odd items cancelled: 50 of them, and the head (0) is live.
        h.purge(|&i| i % 2 == 1, &mut removed);
        assert_eq!(removed.len(), 50);
        assert_eq!(h.cancelled_count(), 0);
        assert_eq!(h.len(), 51);
        let mut h2 = TimerHeap::new();
        for i in 0..100 {
            h2.push(i as f64, i);
        }
        for _ in 0..100 {
            h2.note_cancelled();
        }
        let mut removed = Vec::new();
        h2.purge(|&i| i % 2 == 1, &mut removed);
        assert!(removed.is_empty(), "100 timers never compact; the head is live");
        assert_eq!(h2.cancelled_count(), 100);
    }

    #[test]
    fn nan_and_infinity_have_a_place() {
        let mut h = TimerHeap::new();
        h.push(f64::INFINITY, 1);
        h.push(0.0, 0);
        assert_eq!(h.pop_due(f64::INFINITY), Some(0));
        assert_eq!(h.pop_due(f64::INFINITY), None);
        assert_eq!(h.pop_due(f64::NAN), Some(1));
    }
}
