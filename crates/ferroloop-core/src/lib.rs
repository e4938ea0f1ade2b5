//! The pure-Rust core of ferroloop: clock, timer heap, ready queue, epoll reactor and eventfd
//! waker, fd watcher table, cross-thread inbox, and the order of one loop iteration.
//!
//! Nothing here knows about Python. Work items are a generic `W`; the core never clones or drops
//! one behind the caller's back: items that leave a structure are returned to the caller.
//!
//! # One iteration
//!
//! [`Scheduler`] follows asyncio's `BaseEventLoop._run_once`:
//!
//! 1. **Purge timers** ([`Scheduler::prepare`]): more than 100 scheduled and more than half
//!    cancelled: drop every cancelled one and re-heapify; otherwise pop cancelled ones off the head.
//! 2. **Timeout** ([`Scheduler::prepare`]): zero if work is ready or the loop is stopping; else the
//!    time to the earliest timer clamped to `[0, 24 h]`; else block.
//! 3. **Poll**: the caller takes the buffer ([`Scheduler::take_events`]) and waits on
//!    [`Reactor::poller`] (`EINTR` comes back as [`std::io::ErrorKind::Interrupted`]).
//! 4. **Drain the inbox** ([`Scheduler::dispatch`]) into the ready queue, in push order.
//! 5. **Route events** in kernel order: readable fds queue their reader, writable fds their writer
//!    (hang-up and error count as both); cancelled handlers are removed instead.
//! 6. **Move due timers** (`when < end_time`, with `end_time = now + clock resolution`) to the
//!    ready queue in `(when, insertion)` order.
//! 7. **Run the batch**: the caller pops [`ReadyQueue::next_in_batch`] until `None`; work queued
//!    meanwhile waits for the next iteration.
#![deny(missing_docs)]

pub mod clock;
pub mod inbox;
pub mod reactor;
pub mod ready;
pub mod tick;
pub mod timers;
pub mod token;
pub mod watchers;

pub use inbox::Inbox;
pub use reactor::{Event, Events, Interest, Poller, Reactor, Trigger, Waker};
pub use ready::ReadyQueue;
pub use tick::{Scheduler, WorkOps, MAXIMUM_SELECT_TIMEOUT};
pub use timers::TimerHeap;
pub use token::{Key, Slab};
pub use watchers::{Outcome, Watchers};
