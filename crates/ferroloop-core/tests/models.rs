//! Property tests of the timer heap and the ready queue against simple models.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;

use ferroloop_core::timers::{MIN_CANCELLED_FRACTION, MIN_SCHEDULED_TIMERS};
use ferroloop_core::{ReadyQueue, TimerHeap};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum TimerOp {
    Push(u8),
    PushMany(u8, u8),
    Cancel(usize),
    CancelMany(u8),
    Purge,
    PopDue(u8),
}

fn timer_op() -> impl Strategy<Value = TimerOp> {
    prop_oneof![
        3 => (0u8..20).prop_map(TimerOp::Push),
        1 => (0u8..20, 1u8..60).prop_map(|(w, n)| TimerOp::PushMany(w, n)),
        3 => (0usize..1000).prop_map(TimerOp::Cancel),
        1 => (1u8..80).prop_map(TimerOp::CancelMany),
        2 => Just(TimerOp::Purge),
        1 => (0u8..22).prop_map(TimerOp::PopDue),
    ]
}

/// The model: a vector kept sorted by (when, seq), cancellation flags by id, asyncio's counter.
#[derive(Default)]
struct Model {
    sorted: Vec<(f64, u64, u32)>,
    cancelled: Vec<bool>,
    count: usize,
    seq: u64,
}

impl Model {
    fn push(&mut self, when: f64, id: u32) {
        self.sorted.push((when, self.seq, id));
        self.seq += 1;
        self.sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }

    fn purge(&mut self) -> Vec<u32> {
        let len = self.sorted.len();
        let mut removed = Vec::new();
        if len > MIN_SCHEDULED_TIMERS && self.count as f64 / len as f64 > MIN_CANCELLED_FRACTION {
            let cancelled = &self.cancelled;
            self.sorted.retain(|e| {
                if cancelled[e.2 as usize] {
                    removed.push(e.2);
                    false
                } else {
                    true
                }
            });
            self.count = 0;
        } else {
            while self.sorted.first().is_some_and(|e| self.cancelled[e.2 as usize]) {
                removed.push(self.sorted.remove(0).2);
                self.count = self.count.saturating_sub(1);
            }
        }
        removed
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn timer_heap_matches_model(ops in proptest::collection::vec(timer_op(), 0..120)) {
        let mut heap: TimerHeap<u32> = TimerHeap::new();
        let mut model = Model::default();
        let mut next_id = 0u32;
        let mut push = |heap: &mut TimerHeap<u32>, model: &mut Model, when: f64| {
            heap.push(when, next_id);
            model.push(when, next_id);
            model.cancelled.push(false);
            next_id += 1;
        };
        for op in ops {
            match op {
                TimerOp::Push(w) => push(&mut heap, &mut model, w as f64 / 2.0),
                TimerOp::PushMany(w, n) => {
                    for i in 0..n {
                        push(&mut heap, &mut model, (w as f64 + i as f64 / 7.0).floor());
                    }
                }
                TimerOp::Cancel(_) | TimerOp::CancelMany(_) if model.sorted.is_empty() => {}
                TimerOp::Cancel(i) => {
                    // Cancelling a scheduled, not yet cancelled timer is what asyncio counts.
                    let id = model.sorted[i % model.sorted.len()].2 as usize;
                    if !model.cancelled[id] {
                        model.cancelled[id] = true;
                        model.count += 1;
                        heap.note_cancelled();
                    }
                }
                TimerOp::CancelMany(n) => {
                    for k in 0..n as usize {
                        let id = model.sorted[(k * 7) % model.sorted.len()].2 as usize;
                        if !model.cancelled[id] {
                            model.cancelled[id] = true;
                            model.count += 1;
                            heap.note_cancelled();
                        }
                    }
                }
                TimerOp::Purge => {
                    let mut removed = Vec::new();
                    let full = heap.len() > MIN_SCHEDULED_TIMERS;
                    heap.purge(|id| model.cancelled[*id as usize], &mut removed);
                    let mut expected = model.purge();
                    if full {
                        // The full compaction returns the cancelled entries in no particular order.
                        removed.sort_unstable();
                        expected.sort_unstable();
                    }
                    prop_assert_eq!(removed, expected);
                }
                TimerOp::PopDue(end) => {
                    let end = end as f64;
                    loop {
                        let got = heap.pop_due(end);
                        let want = if model.sorted.first().is_some_and(|e| e.0 < end) {
                            Some(model.sorted.remove(0).2)
                        } else {
                            None
                        };
                        prop_assert_eq!(got, want);
                        if got.is_none() {
                            break;
                        }
                    }
                }
            }
            prop_assert_eq!(heap.len(), model.sorted.len());
            prop_assert_eq!(heap.cancelled_count(), model.count);
            prop_assert_eq!(heap.peek_when(), model.sorted.first().map(|e| e.0));
        }
        let all: Vec<u32> = model.sorted.iter().map(|e| e.2).collect();
        prop_assert_eq!(heap.drain_all(), all);
        prop_assert_eq!(heap.cancelled_count(), 0);
    }
}

#[derive(Debug, Clone)]
enum ReadyOp {
    Push,
    Begin,
    Next,
}

fn ready_op() -> impl Strategy<Value = ReadyOp> {
    prop_oneof![Just(ReadyOp::Push), Just(ReadyOp::Begin), Just(ReadyOp::Next)]
}

proptest! {
    #[test]
    fn ready_batches_never_run_later_work(ops in proptest::collection::vec(ready_op(), 0..200)) {
        let mut q = ReadyQueue::new();
        let mut model: VecDeque<u32> = VecDeque::new();
        let mut next = 0u32;
        // The last id that belongs to the current batch.
        let mut batch_last: Option<u32> = None;
        for op in ops {
            match op {
                ReadyOp::Push => {
                    q.push(next);
                    model.push_back(next);
                    next += 1;
                }
                ReadyOp::Begin => {
                    prop_assert_eq!(q.begin_batch(), model.len());
                    batch_last = model.back().copied();
                }
                ReadyOp::Next => {
                    let got = q.next_in_batch();
                    let in_batch = q.batch_remaining() < model.len()
                        && model.front().is_some_and(|f| batch_last.is_some_and(|l| *f <= l));
                    if let Some(id) = got {
                        prop_assert!(batch_last.is_some_and(|l| id <= l), "item pushed after the batch began ran in it");
                        prop_assert_eq!(Some(id), model.pop_front());
                    } else {
                        prop_assert!(!in_batch);
                        let later = match (model.front(), batch_last) {
                            (Some(f), Some(l)) => *f > l,
                            _ => true,
                        };
                        prop_assert!(later);
                    }
                }
            }
            prop_assert_eq!(q.len(), model.len());
            prop_assert!(q.batch_remaining() <= q.len());
        }
        prop_assert_eq!(q.drain_all(), Vec::from(model));
    }
}
