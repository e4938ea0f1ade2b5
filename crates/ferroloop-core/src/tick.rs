//! One loop iteration, in the order of asyncio's `BaseEventLoop._run_once`.
//!
//! The [`Scheduler`] owns the structures of one loop and decides the order of an iteration; the
//! caller drives it (it reads the clock, waits on the [`Poller`](crate::Poller), runs the batch)
//! and supplies a [`WorkOps`] that answers questions about work items.
//!
//! Invariants:
//! - The inbox's eventfd is registered in the reactor for the scheduler's whole life, with
//!   [`token::waker_token`], level-triggered.
//! - Work leaves the scheduler only by being returned: into the ready queue's batches, into the
//!   caller's `graveyard` (purged timers, removed cancelled watchers), or from the `drain_all` of a
//!   structure. The scheduler never drops a work item.
//! - [`Scheduler::prepare`] and [`Scheduler::dispatch`] call back into `ops` but never while the
//!   caller could observe a half-done step: `ops` sees only the item it is asked about.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::inbox::Inbox;
use crate::reactor::{Event, Events, Interest, Reactor, Trigger};
use crate::ready::ReadyQueue;
use crate::timers::TimerHeap;
use crate::token;
use crate::watchers::Watchers;

/// Questions the scheduler asks about work items.
pub trait WorkOps<W> {
    /// Whether `w` was cancelled.
    fn is_cancelled(&mut self, w: &W) -> bool;
    /// A new reference to the same work (fd watcher handlers stay registered when they fire).
    fn clone_work(&mut self, w: &W) -> W;
    /// A timer left the heap (asyncio sets `handle._scheduled = False`).
    fn timer_popped(&mut self, w: &W);
}

/// asyncio's `MAXIMUM_SELECT_TIMEOUT`: the longest single wait, in seconds.
pub const MAXIMUM_SELECT_TIMEOUT: f64 = 24.0 * 3600.0;

/// The structures of one loop and the order of its iterations.
#[derive(Debug)]
pub struct Scheduler<W> {
    /// Work to run, in batches.
    pub ready: ReadyQueue<W>,
    /// Scheduled work.
    pub timers: TimerHeap<W>,
    /// The epoll instance.
    pub reactor: Reactor,
    /// The `add_reader`/`add_writer` table.
    pub watchers: Watchers<W>,
    /// Work queued by other threads.
    pub inbox: Arc<Inbox<W>>,
    /// `stop()` was called: the next wait does not block.
    pub stopping: bool,
    events: Option<Events>,
}

/// The poll timeout for a wait that should end at the earliest timer.
fn timeout_until(when: f64, now: f64) -> Duration {
    let t = when - now;
    // NaN fails `t > 0.0` and becomes 0: `Duration::from_secs_f64` would reject it.
    let t = if t > 0.0 { t.min(MAXIMUM_SELECT_TIMEOUT) } else { 0.0 };
    Duration::from_secs_f64(t)
}

impl<W: Send> Scheduler<W> {
    /// Creates the structures and registers the inbox's eventfd.
    pub fn new() -> io::Result<Self> {
        let reactor = Reactor::new()?;
        let inbox = Arc::new(Inbox::new()?);
        reactor.register(
            inbox.waker_fd(),
            token::waker_token(),
            Interest::READABLE,
            Trigger::Level,
        )?;
        Ok(Scheduler {
            ready: ReadyQueue::new(),
            timers: TimerHeap::new(),
            reactor,
            watchers: Watchers::new(),
            inbox,
            stopping: false,
            events: Some(Events::default()),
        })
    }

    /// Steps 1-2: purges cancelled timers, then computes the poll timeout.
    ///
    /// Purged timers go to `graveyard`, each reported through [`WorkOps::timer_popped`]. The timeout
    /// is zero if work is ready or the loop is stopping; else the time from `now` to the earliest
    /// timer, clamped to `[0, MAXIMUM_SELECT_TIMEOUT]`; else `None` (block).
    pub fn prepare(
        &mut self,
        now: impl FnOnce() -> f64,
        ops: &mut impl WorkOps<W>,
        graveyard: &mut Vec<W>,
    ) -> Option<Duration> {
        let start = graveyard.len();
        self.timers.purge(|w| ops.is_cancelled(w), graveyard);
        for w in &graveyard[start..] {
            ops.timer_popped(w);
        }
        if !self.ready.is_empty() || self.stopping {
            return Some(Duration::ZERO);
        }
        self.timers.peek_when().map(|when| timeout_until(when, now()))
    }

    /// Moves the event buffer out, so that the caller can wait without borrowing the scheduler.
    /// Give it back through [`Scheduler::dispatch`].
    pub fn take_events(&mut self) -> Events {
        self.events.take().unwrap_or_default()
    }

    /// Steps 4-6 after the wait; returns the size of the batch to run.
    ///
    /// Takes the buffer back, then: moves the inbox's items to the ready queue (in push order);
    /// routes the events in kernel order (the waker token needs nothing more, the take drained it;
    /// a watcher token queues a clone of its reader if readable and of its writer if writable, or
    /// removes that handler into `graveyard` if it was cancelled, as asyncio's `_process_events`
    /// does; transport tokens go to `io_events`; other tokens are ignored); moves due timers
    /// (`when < end_time`) to the ready queue in `(when, seq)` order, reporting each through
    /// [`WorkOps::timer_popped`]; finally begins the batch.
    pub fn dispatch(
        &mut self,
        events: Events,
        end_time: f64,
        ops: &mut impl WorkOps<W>,
        graveyard: &mut Vec<W>,
        io_events: &mut Vec<Event>,
    ) -> usize {
        for w in self.inbox.take() {
            self.ready.push(w);
        }
        for ev in events.iter() {
            match token::kind(ev.token) {
                token::KIND_WATCHER => self.route_watcher(ev, ops, graveyard),
                token::KIND_TRANSPORT => io_events.push(ev),
                _ => {}
            }
        }
        self.events = Some(events);
        while let Some(w) = self.timers.pop_due(end_time) {
            ops.timer_popped(&w);
            self.ready.push(w);
        }
        self.ready.begin_batch()
    }

    fn route_watcher(&mut self, ev: Event, ops: &mut impl WorkOps<W>, graveyard: &mut Vec<W>) {
        let fd = token::watcher_fd(ev.token);
        if ev.readable {
            if let Some(reader) = self.watchers.reader(fd) {
                if ops.is_cancelled(reader) {
                    let out = self.watchers.remove_reader(&self.reactor, fd);
                    graveyard.extend(out.previous);
                    graveyard.extend(out.dropped);
                } else {
                    let w = ops.clone_work(reader);
                    self.ready.push(w);
                }
            }
        }
        if ev.writable {
            if let Some(writer) = self.watchers.writer(fd) {
                if ops.is_cancelled(writer) {
                    let out = self.watchers.remove_writer(&self.reactor, fd);
                    graveyard.extend(out.previous);
                    graveyard.extend(out.dropped);
                } else {
                    let w = ops.clone_work(writer);
                    self.ready.push(w);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timeout_clamps() {
        assert_eq!(timeout_until(1.0, 2.0), Duration::ZERO);
        assert_eq!(timeout_until(f64::NAN, 2.0), Duration::ZERO);
        assert_eq!(timeout_until(f64::INFINITY, 2.0), Duration::from_secs(86400));
        assert_eq!(timeout_until(2.5, 2.0), Duration::from_millis(500));
    }
}
