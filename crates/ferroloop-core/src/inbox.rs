//! The inbox: work queued by other threads for the loop thread.
//!
//! This is the only `Sync` structure of the core. It is a mutex-protected vector, an eventfd
//! [`Waker`] registered in the loop's reactor, and a `signalled` flag.
//!
//! Invariants:
//! - Every pushed item is returned by exactly one [`Inbox::take`], and items pushed by one thread
//!   come out in that thread's push order.
//! - Whenever the vector is non-empty, the eventfd is readable or a pusher is about to make it
//!   readable (it has appended and will write after releasing the lock). Hence a loop that
//!   waits on the eventfd never sleeps while work is queued.
//! - The eventfd is written at most once per batch of pushes between two takes: only the pusher
//!   that flips `signalled` from false to true writes it.
//!
//! Why `take` runs in the order "drain the eventfd, clear `signalled`, swap the vector out": a
//! pusher appends under the lock and only then flips `signalled`. If its append lands after the
//! take's swap, its lock acquisition follows the take's unlock, so the take's clearing of
//! `signalled` happens before the pusher's flip: the pusher sees `false` (or a later pusher does,
//! and that one writes) and the write comes after the take's drain, so it survives until the next
//! take. If the append lands before the swap, the item is taken now, and a write that follows is at
//! worst one spurious wake-up. Clearing before draining would be wrong: a pusher could flip
//! `signalled` between the two, have its write eaten by the drain, and leave `signalled` set, so
//! that the next pushers never write and their items sit in the inbox without a signal.
//! A poisoned mutex is recovered (the vector is always in a consistent state between operations).

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::reactor::Waker;

/// Work queued by other threads, with an eventfd that signals it.
#[derive(Debug)]
pub struct Inbox<W> {
    items: Mutex<Vec<W>>,
    waker: Waker,
    signalled: AtomicBool,
}

impl<W: Send> Inbox<W> {
    /// An empty inbox with its own eventfd.
    pub fn new() -> io::Result<Self> {
        Ok(Inbox {
            items: Mutex::new(Vec::new()),
            waker: Waker::new()?,
            signalled: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<W>> {
        self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends `w` and, if it is the first push since the last take, writes the eventfd.
    ///
    /// The item is queued even when the eventfd write fails; the error is returned and the next
    /// push tries the write again.
    pub fn push(&self, w: W) -> io::Result<()> {
        self.lock().push(w);
        if !self.signalled.swap(true, Ordering::AcqRel) {
            if let Err(err) = self.waker.wake() {
                self.signalled.store(false, Ordering::Release);
                return Err(err);
            }
        }
        Ok(())
    }

    /// Takes every queued item, in push order (see the module docs for the order of the steps).
    pub fn take(&self) -> Vec<W> {
        // Fast path, taken on almost every iteration: nobody pushed since the last take. A push
        // that is under way (item stored, flag not yet set) sets the flag and writes the eventfd
        // right after, so the next wait returns at once and the item is taken then.
        if !self.signalled.load(Ordering::Acquire) {
            return Vec::new();
        }
        self.waker.drain();
        self.signalled.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.lock())
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The eventfd to register in the loop's reactor.
    pub fn waker_fd(&self) -> RawFd {
        self.waker.raw_fd()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `p` is a valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n == 1 && p.revents & libc::POLLIN != 0
    }

    #[test]
    fn signal_follows_content() {
        let inbox = Inbox::new().unwrap();
        assert!(!readable(inbox.waker_fd()));
        inbox.push(1).unwrap();
        inbox.push(2).unwrap();
        assert!(readable(inbox.waker_fd()));
        assert!(!inbox.is_empty());
        assert_eq!(inbox.take(), vec![1, 2]);
        assert!(!readable(inbox.waker_fd()));
        assert!(inbox.is_empty());
        assert!(inbox.take().is_empty());
        inbox.push(3).unwrap();
        assert!(readable(inbox.waker_fd()));
    }
}
