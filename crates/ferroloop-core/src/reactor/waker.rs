//! The waker: an eventfd that makes a blocked epoll wait return.
//!
//! Invariants:
//! - The eventfd is created with `EFD_CLOEXEC | EFD_NONBLOCK`, owned by the [`Waker`] and closed
//!   exactly once, on drop.
//! - After [`Waker::wake`] returns `Ok`, the fd is readable until [`Waker::drain`] runs.
//! - After [`Waker::drain`] the counter is 0 (the fd is not readable) unless a wake raced with it.

use std::io;
use std::os::fd::RawFd;

use super::cvt;

/// An eventfd used to interrupt a wait.
#[derive(Debug)]
pub struct Waker {
    fd: RawFd,
}

impl Waker {
    /// Creates the eventfd.
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscall without pointer arguments.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        Ok(Waker { fd })
    }

    /// Makes the fd readable. A full counter (`EAGAIN`) means it is already signalled: `Ok`.
    pub fn wake(&self) -> io::Result<()> {
        let one: u64 = 1;
        loop {
            // SAFETY: writes the 8 bytes of `one`, which lives for the duration of the call.
            let n = unsafe { libc::write(self.fd, (&one as *const u64).cast(), 8) };
            if n >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(()),
                _ => return Err(err),
            }
        }
    }

    /// Resets the counter: reads until `EAGAIN`.
    pub fn drain(&self) {
        let mut buf: u64 = 0;
        loop {
            // SAFETY: reads at most 8 bytes into `buf`, which lives for the duration of the call.
            let n = unsafe { libc::read(self.fd, (&mut buf as *mut u64).cast(), 8) };
            if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        }
    }

    /// The eventfd, to register in a reactor.
    pub fn raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // SAFETY: the waker owns `fd` and closes it exactly once, here.
        unsafe {
            libc::close(self.fd);
        }
    }
}
