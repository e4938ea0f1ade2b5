//! The reactor, poller and watcher table over real fds (socketpairs, pipes, files).
#![allow(clippy::unwrap_used)]

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ferroloop_core::clock::monotonic_ns;
use ferroloop_core::{token, Event, Events, Interest, Poller, Reactor, Trigger, Watchers};

fn socketpair() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0);
    (fds[0], fds[1])
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0);
    (fds[0], fds[1])
}

fn close(fd: RawFd) {
    // SAFETY: the test owns `fd`.
    unsafe { libc::close(fd) };
}

fn write_byte(fd: RawFd) {
    // SAFETY: writes one byte from a static buffer.
    let n = unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    assert_eq!(n, 1);
}

fn poll_now(reactor: &Reactor) -> Vec<Event> {
    let mut events = Events::default();
    reactor.poller().wait(&mut events, Some(Duration::ZERO)).unwrap();
    events.iter().collect()
}

#[test]
fn level_triggered_watcher_keeps_reporting() {
    let reactor = Reactor::new().unwrap();
    let mut w = Watchers::new();
    let (a, b) = socketpair();
    assert!(w.set_reader(&reactor, a, "r").error.is_none());
    assert!(poll_now(&reactor).is_empty());
    write_byte(b);
    let expected = vec![Event {
        token: token::watcher_token(a),
        readable: true,
        writable: false,
    }];
    assert_eq!(poll_now(&reactor), expected);
    assert_eq!(poll_now(&reactor), expected, "an undrained fd is reported again");
    assert_eq!(w.drain_all(&reactor), vec!["r"]);
    assert!(poll_now(&reactor).is_empty());
    close(a);
    close(b);
}

#[test]
fn edge_trigger_reports_once() {
    let reactor = Reactor::new().unwrap();
    let (a, b) = socketpair();
    reactor.register(a, 9, Interest::READABLE, Trigger::Edge).unwrap();
    write_byte(b);
    assert_eq!(poll_now(&reactor).len(), 1);
    assert!(poll_now(&reactor).is_empty());
    reactor.modify(a, 10, Interest::BOTH, Trigger::Level).unwrap();
    assert_eq!(
        poll_now(&reactor),
        vec![Event {
            token: 10,
            readable: true,
            writable: true
        }]
    );
    reactor.deregister(a).unwrap();
    assert_eq!(reactor.deregister(a).unwrap_err().raw_os_error(), Some(libc::ENOENT));
    close(a);
    close(b);
}

#[test]
fn hangup_reports_both_directions() {
    let reactor = Reactor::new().unwrap();
    let mut w = Watchers::new();
    let (r, wr) = pipe();
    assert!(w.set_reader(&reactor, r, 1).error.is_none());
    close(wr);
    assert_eq!(
        poll_now(&reactor),
        vec![Event {
            token: token::watcher_token(r),
            readable: true,
            writable: true
        }]
    );
    w.drain_all(&reactor);
    close(r);
}

#[test]
fn replace_and_remove() {
    let reactor = Reactor::new().unwrap();
    let mut w = Watchers::new();
    let (a, b) = socketpair();
    let out = w.set_reader(&reactor, a, "r1");
    assert!(out.error.is_none() && out.previous.is_none() && out.dropped.is_empty());
    let out = w.set_reader(&reactor, a, "r2");
    assert_eq!(out.previous, Some("r1"));
    let out = w.set_writer(&reactor, a, "w1");
    assert!(out.error.is_none() && out.previous.is_none());
    assert_eq!((w.reader(a), w.writer(a), w.len()), (Some(&"r2"), Some(&"w1"), 1));
    // Both directions registered: the socket is writable.
    assert_eq!(
        poll_now(&reactor),
        vec![Event {
            token: token::watcher_token(a),
            readable: false,
            writable: true
        }]
    );
    let out = w.remove_reader(&reactor, a);
    assert_eq!(out.previous, Some("r2"));
    let out = w.remove_reader(&reactor, a);
    assert!(out.error.is_none() && out.previous.is_none() && out.dropped.is_empty());
    assert_eq!(w.len(), 1);
    write_byte(b);
    let evs = poll_now(&reactor);
    assert_eq!(
        evs,
        vec![Event {
            token: token::watcher_token(a),
            readable: false,
            writable: true
        }],
        "reader gone"
    );
    let out = w.remove_writer(&reactor, a);
    assert_eq!(out.previous, Some("w1"));
    assert!(w.is_empty());
    assert!(poll_now(&reactor).is_empty(), "deregistered");
    let out = w.remove_writer(&reactor, 12345);
    assert!(out.error.is_none() && out.previous.is_none() && out.dropped.is_empty());
    close(a);
    close(b);
}

#[test]
fn regular_file_is_refused_with_eperm() {
    let reactor = Reactor::new().unwrap();
    let mut w = Watchers::new();
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let out = w.set_reader(&reactor, fd, "r");
    assert_eq!(out.error.unwrap().raw_os_error(), Some(libc::EPERM));
    assert_eq!(out.dropped, vec!["r"]);
    assert!(out.previous.is_none());
    assert!(w.is_empty());
}

#[test]
fn closed_fd_is_refused_with_ebadf() {
    let reactor = Reactor::new().unwrap();
    let mut w = Watchers::new();
    // A number no test opens (tests run in parallel, so a just-closed number could be reused).
    let fd = dup_high_then_close();
    let out = w.set_writer(&reactor, fd, "w");
    assert_eq!(out.error.unwrap().raw_os_error(), Some(libc::EBADF));
    assert_eq!(out.dropped, vec!["w"]);
    assert!(w.is_empty());
}

/// Duplicates a pipe end to a high number, closes everything and returns the closed high number.
fn dup_high_then_close() -> RawFd {
    let (r, w) = pipe();
    // SAFETY: F_DUPFD_CLOEXEC with a minimum takes no pointer.
    let fd = unsafe { libc::fcntl(r, libc::F_DUPFD_CLOEXEC, 900) };
    assert!(fd >= 900);
    close(fd);
    close(r);
    close(w);
    fd
}

#[test]
fn failed_modify_drops_the_whole_entry() {
    let reactor = Reactor::new().unwrap();
    let mut w = Watchers::new();
    let (a, b) = socketpair();
    w.set_reader(&reactor, a, "r");
    // The kernel forgets the fd (as when it is closed and its number reused); the table does not.
    reactor.deregister(a).unwrap();
    let out = w.set_writer(&reactor, a, "w");
    assert_eq!(out.error.unwrap().raw_os_error(), Some(libc::ENOENT));
    assert!(out.previous.is_none(), "asyncio never reaches cancel()");
    assert_eq!(out.dropped, vec!["w", "r"]);
    assert!(w.is_empty());

    // Removing one of two directions fails the same way.
    w.set_reader(&reactor, a, "r");
    w.set_writer(&reactor, a, "w");
    reactor.deregister(a).unwrap();
    let out = w.remove_writer(&reactor, a);
    assert_eq!(out.error.unwrap().raw_os_error(), Some(libc::ENOENT));
    assert!(out.previous.is_none());
    assert_eq!(out.dropped, vec!["r", "w"]);
    assert!(w.is_empty());

    // Removing the last direction ignores the deregistration error.
    w.set_reader(&reactor, a, "r");
    reactor.deregister(a).unwrap();
    let out = w.remove_reader(&reactor, a);
    assert!(out.error.is_none());
    assert_eq!(out.previous, Some("r"));
    assert!(w.is_empty());
    close(a);
    close(b);
}

#[test]
fn replacing_with_same_interest_does_not_touch_the_kernel() {
    let reactor = Reactor::new().unwrap();
    let mut w = Watchers::new();
    let (a, b) = socketpair();
    w.set_reader(&reactor, a, "r1");
    reactor.deregister(a).unwrap();
    // No MODIFY is needed, so the stale registration goes unnoticed, as in selectors.
    let out = w.set_reader(&reactor, a, "r2");
    assert!(out.error.is_none());
    assert_eq!(out.previous, Some("r1"));
    assert_eq!(w.drain_all(&reactor), vec!["r2"]);
    close(a);
    close(b);
}

fn assert_never_early(wait: impl Fn(&Poller, &mut Events, Option<Duration>) -> io::Result<usize>) {
    let reactor = Reactor::new().unwrap();
    let poller = reactor.poller();
    let mut events = Events::default();
    for micros in [1u64, 400, 1500, 3300, 7001] {
        let timeout = Duration::from_micros(micros);
        let start = monotonic_ns();
        assert_eq!(wait(&poller, &mut events, Some(timeout)).unwrap(), 0);
        let elapsed = (monotonic_ns() - start) as u128;
        assert!(
            elapsed >= timeout.as_nanos(),
            "woke after {elapsed} ns, before {timeout:?}"
        );
    }
}

#[test]
fn poller_never_wakes_early() {
    assert_never_early(|p, e, t| p.wait(e, t));
}

#[test]
fn millisecond_fallback_never_wakes_early() {
    assert_never_early(|p, e, t| p.wait_ms_precision(e, t));
}

#[test]
fn full_buffer_grows() {
    let reactor = Reactor::new().unwrap();
    let pairs: Vec<_> = (0..3).map(|_| socketpair()).collect();
    for (i, (a, _)) in pairs.iter().enumerate() {
        reactor
            .register(*a, i as u64, Interest::WRITABLE, Trigger::Level)
            .unwrap();
    }
    let mut events = Events::with_capacity(2);
    assert_eq!(reactor.poller().wait(&mut events, Some(Duration::ZERO)).unwrap(), 2);
    assert_eq!(events.capacity(), 4);
    assert_eq!(reactor.poller().wait(&mut events, Some(Duration::ZERO)).unwrap(), 3);
    assert_eq!(events.capacity(), 4);
    assert_eq!(events.len(), 3);
    events.clear();
    assert!(events.is_empty());
    for (a, b) in pairs {
        close(a);
        close(b);
    }
}

extern "C" fn on_sigusr1(_: libc::c_int) {}

#[test]
fn eintr_surfaces_as_interrupted() {
    // SAFETY: installs a handler that does nothing, without SA_RESTART; `sa` is fully initialised.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as *const () as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    let reactor = Reactor::new().unwrap();
    let poller = reactor.poller();
    // SAFETY: plain call returning the calling thread's id.
    let target = unsafe { libc::pthread_self() };
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            // Keep signalling until the wait saw one (a signal that lands before the wait begins
            // would be handled without interrupting anything).
            while !done.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(20));
                // SAFETY: the target thread outlives this loop (it sets `done` before returning).
                unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
            }
        })
    };
    let mut events = Events::default();
    let err = poller.wait(&mut events, Some(Duration::from_secs(4))).unwrap_err();
    done.store(true, Ordering::Release);
    sender.join().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::Interrupted);
    assert!(events.is_empty());
}
