//! The reactor: a thin layer over one epoll instance.
//!
//! Invariants:
//! - A [`Reactor`] owns its epoll fd (created with `EPOLL_CLOEXEC`) and closes it exactly once, on
//!   drop. [`Poller`] values copy the raw fd so that a wait can run without borrowing the reactor;
//!   they must not be used after the reactor is dropped (a wait then fails with `EBADF`, or worse
//!   polls an unrelated epoll fd that reused the number, so the owner keeps the reactor alive).
//! - Registrations carry a 64-bit token chosen by the caller (see [`crate::token`]); the reactor
//!   keeps no table of its own, so the kernel's registration set is the only state.
//! - Events are reported as `selectors.EpollSelector` reports them: readable when the flags hold any
//!   bit other than `EPOLLOUT`, writable when they hold any bit other than `EPOLLIN`, so hang-up and
//!   error report both directions.

mod epoll;
mod waker;

use std::io;
use std::os::fd::RawFd;

pub use epoll::{Events, Poller, DEFAULT_EVENTS, MAX_EVENTS};
pub use waker::Waker;

/// Which directions a registration watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Interest {
    /// Watch for readability (`EPOLLIN`).
    pub readable: bool,
    /// Watch for writability (`EPOLLOUT`).
    pub writable: bool,
}

impl Interest {
    /// Readable only.
    pub const READABLE: Interest = Interest {
        readable: true,
        writable: false,
    };
    /// Writable only.
    pub const WRITABLE: Interest = Interest {
        readable: false,
        writable: true,
    };
    /// Both directions.
    pub const BOTH: Interest = Interest {
        readable: true,
        writable: true,
    };

    /// Whether neither direction is watched.
    pub fn is_empty(&self) -> bool {
        !self.readable && !self.writable
    }
}

/// How the kernel reports readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Reported at every wait while the condition holds.
    Level,
    /// Reported when the condition changes (`EPOLLET`).
    Edge,
}

/// One readiness event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The token given at registration.
    pub token: u64,
    /// Any flag other than `EPOLLOUT` was reported.
    pub readable: bool,
    /// Any flag other than `EPOLLIN` was reported.
    pub writable: bool,
}

impl Event {
    /// Maps kernel flags the way `selectors.EpollSelector.select` does.
    pub fn from_flags(token: u64, flags: u32) -> Event {
        let epollin = libc::EPOLLIN as u32;
        let epollout = libc::EPOLLOUT as u32;
        Event {
            token,
            readable: flags & !epollout != 0,
            writable: flags & !epollin != 0,
        }
    }
}

pub(crate) fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn flags_for(interest: Interest, trigger: Trigger) -> u32 {
    let mut flags = 0u32;
    if interest.readable {
        flags |= libc::EPOLLIN as u32;
    }
    if interest.writable {
        flags |= libc::EPOLLOUT as u32;
    }
    if trigger == Trigger::Edge {
        flags |= libc::EPOLLET as u32;
    }
    flags
}

/// Owner of one epoll instance.
#[derive(Debug)]
pub struct Reactor {
    epfd: RawFd,
}

impl Reactor {
    /// Creates the epoll instance (`epoll_create1(EPOLL_CLOEXEC)`).
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscall without pointer arguments.
        let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Reactor { epfd })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, flags: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: flags,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call; the kernel only reads it.
        cvt(unsafe { libc::epoll_ctl(self.epfd, op, fd, &mut ev) })?;
        Ok(())
    }

    /// Adds `fd` (`EPOLL_CTL_ADD`).
    pub fn register(&self, fd: RawFd, token: u64, interest: Interest, trigger: Trigger) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, flags_for(interest, trigger))
    }

    /// Changes the token, interest or trigger of a registered `fd` (`EPOLL_CTL_MOD`).
    pub fn modify(&self, fd: RawFd, token: u64, interest: Interest, trigger: Trigger) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, flags_for(interest, trigger))
    }

    /// Removes `fd` (`EPOLL_CTL_DEL`).
    pub fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// A copyable handle that waits on this instance.
    pub fn poller(&self) -> Poller {
        Poller::from_raw(self.epfd)
    }

    /// The epoll fd.
    pub fn raw_fd(&self) -> RawFd {
        self.epfd
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // SAFETY: the reactor owns `epfd` and closes it exactly once, here.
        unsafe {
            libc::close(self.epfd);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flag_mapping_matches_selectors() {
        let e = |f: libc::c_int| Event::from_flags(7, f as u32);
        assert_eq!(
            e(libc::EPOLLIN),
            Event {
                token: 7,
                readable: true,
                writable: false
            }
        );
        assert_eq!(
            e(libc::EPOLLOUT),
            Event {
                token: 7,
                readable: false,
                writable: true
            }
        );
        assert_eq!(
            e(libc::EPOLLHUP),
            Event {
                token: 7,
                readable: true,
                writable: true
            }
        );
        assert_eq!(
            e(libc::EPOLLERR),
            Event {
                token: 7,
                readable: true,
                writable: true
            }
        );
        assert_eq!(
            e(libc::EPOLLIN | libc::EPOLLOUT),
            Event {
                token: 7,
                readable: true,
                writable: true
            }
        );
        assert_eq!(
            e(libc::EPOLLIN | libc::EPOLLRDHUP),
            Event {
                token: 7,
                readable: true,
                writable: true
            }
        );
    }

    #[test]
    fn interest_consts() {
        assert!(Interest::default().is_empty());
        assert!(!Interest::READABLE.is_empty());
        assert_eq!(
            flags_for(Interest::BOTH, Trigger::Edge),
            (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32
        );
    }
}
