//! Waiting on an epoll instance: [`Poller`] and its event buffer [`Events`].
//!
//! Invariants:
//! - `Events` owns a buffer of `capacity` kernel records and the count `filled <= capacity`
//!   written by the last wait; only the first `filled` records are ever read.
//! - When a wait fills the whole buffer, the buffer doubles (never beyond [`MAX_EVENTS`]) before the
//!   next wait, so a busy loop converges on a buffer large enough for one wait's events.
//! - A wait never returns before its timeout: with `epoll_pwait2` the timeout is passed in
//!   nanoseconds; without it (`ENOSYS`, or `EPERM` from a seccomp filter; remembered process-wide)
//!   `epoll_wait` gets the timeout rounded up to whole milliseconds.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Event;

/// The default buffer size of [`Events`].
pub const DEFAULT_EVENTS: usize = 256;
/// The largest buffer [`Events`] grows to.
pub const MAX_EVENTS: usize = 65536;

/// Set once the kernel answered `ENOSYS` (or a seccomp filter `EPERM`) to `epoll_pwait2`.
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

fn empty_event() -> libc::epoll_event {
    libc::epoll_event { events: 0, u64: 0 }
}

/// A buffer of kernel events filled by [`Poller::wait`].
pub struct Events {
    buf: Vec<libc::epoll_event>,
    filled: usize,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.buf.len())
            .field("filled", &self.filled)
            .finish()
    }
}

impl Default for Events {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_EVENTS)
    }
}

impl Events {
    /// A buffer for up to `n` events per wait (at least 1, at most [`MAX_EVENTS`]).
    pub fn with_capacity(n: usize) -> Self {
        let n = n.clamp(1, MAX_EVENTS);
        Events {
            buf: vec![empty_event(); n],
            filled: 0,
        }
    }

    /// How many events the buffer holds per wait.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The number of events filled by the last wait.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether the last wait reported nothing.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Forgets the events of the last wait.
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// The events of the last wait, in kernel order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.filled].iter().map(|ev| {
            // Copies out of the (possibly packed) record; no reference to a field is taken.
            let flags = ev.events;
            let token = ev.u64;
            Event::from_flags(token, flags)
        })
    }

    fn grow_if_full(&mut self) {
        let cap = self.buf.len();
        if self.filled == cap && cap < MAX_EVENTS {
            self.buf.resize((cap * 2).min(MAX_EVENTS), empty_event());
        }
    }
}

/// Waits on an epoll instance without borrowing its [`super::Reactor`].
#[derive(Clone, Copy, Debug)]
pub struct Poller {
    epfd: RawFd,
}

fn to_timespec(d: Duration) -> libc::timespec {
    // Far beyond any real timeout; keeps `tv_sec` representable.
    let secs = d.as_secs().min(i32::MAX as u64);
    libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// The timeout in whole milliseconds, rounded up, saturating at `i32::MAX`; -1 blocks.
fn to_millis(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            ms.min(i32::MAX as u128) as libc::c_int
        }
    }
}

impl Poller {
    pub(super) fn from_raw(epfd: RawFd) -> Self {
        Poller { epfd }
    }

    /// Waits for events.
    ///
    /// `None` blocks; `Some(Duration::ZERO)` does not block. Uses `epoll_pwait2` (nanosecond
    /// timeout) when the kernel has it, else `epoll_wait` with the timeout rounded up to whole
    /// milliseconds, so the wait never ends early. `EINTR` is returned as an error of kind
    /// [`io::ErrorKind::Interrupted`]: the caller runs its signal handlers and decides whether to
    /// wait again. Fills `events` and returns the count; a full buffer grows for the next wait.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.filled = 0;
        let n = self.wait_raw(&mut events.buf, timeout)?;
        events.filled = n;
        events.grow_if_full();
        Ok(n)
    }

    fn wait_raw(&self, buf: &mut [libc::epoll_event], timeout: Option<Duration>) -> io::Result<usize> {
        let max = buf.len().min(i32::MAX as usize) as libc::c_int;
        if !NO_PWAIT2.load(Ordering::Relaxed) {
            let ts = timeout.map(to_timespec);
            let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `buf` has room for `max` records and `ts` (if any) outlives the call; a null
            // sigmask leaves the signal mask alone, so the size argument is not read.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    self.epfd,
                    buf.as_mut_ptr(),
                    max,
                    ts_ptr,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if rc >= 0 {
                return Ok(rc as usize);
            }
            let err = io::Error::last_os_error();
            // ENOSYS: kernel older than 5.11. EPERM: a seccomp filter that refuses syscalls it does
            // not know (epoll_pwait2 itself never fails with EPERM).
            if !matches!(err.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) {
                return Err(err);
            }
            NO_PWAIT2.store(true, Ordering::Relaxed);
        }
        self.wait_millis(buf, max, timeout)
    }

    fn wait_millis(
        &self,
        buf: &mut [libc::epoll_event],
        max: libc::c_int,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        // SAFETY: `buf` has room for `max` records for the duration of the call.
        let rc = unsafe { libc::epoll_wait(self.epfd, buf.as_mut_ptr(), max, to_millis(timeout)) };
        super::cvt(rc).map(|n| n as usize)
    }

    /// Waits with `epoll_wait` and millisecond rounding even when `epoll_pwait2` is available.
    pub fn wait_ms_precision(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.filled = 0;
        let max = events.buf.len().min(i32::MAX as usize) as libc::c_int;
        let n = self.wait_millis(&mut events.buf, max, timeout)?;
        events.filled = n;
        events.grow_if_full();
        Ok(n)
    }

    /// Whether waits use `epoll_pwait2` (false once the kernel answered `ENOSYS`).
    pub fn has_ns_precision() -> bool {
        !NO_PWAIT2.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_up() {
        assert_eq!(to_millis(None), -1);
        assert_eq!(to_millis(Some(Duration::ZERO)), 0);
        assert_eq!(to_millis(Some(Duration::from_nanos(1))), 1);
        assert_eq!(to_millis(Some(Duration::from_micros(1000))), 1);
        assert_eq!(to_millis(Some(Duration::from_micros(1001))), 2);
        assert_eq!(to_millis(Some(Duration::from_secs(u64::MAX))), i32::MAX);
    }

    #[test]
    fn capacity_bounds_and_growth() {
        let mut e = Events::with_capacity(0);
        assert_eq!(e.capacity(), 1);
        e.filled = 1;
        e.grow_if_full();
        assert_eq!(e.capacity(), 2);
        let mut e = Events::with_capacity(MAX_EVENTS);
        e.filled = MAX_EVENTS;
        e.grow_if_full();
        assert_eq!(e.capacity(), MAX_EVENTS);
        assert_eq!(Events::default().capacity(), DEFAULT_EVENTS);
    }

    #[test]
    fn large_timeout_is_clamped() {
        let ts = to_timespec(Duration::new(u64::MAX, 5));
        assert_eq!(ts.tv_sec, i32::MAX as libc::time_t);
        assert_eq!(ts.tv_nsec, 5);
    }
}
