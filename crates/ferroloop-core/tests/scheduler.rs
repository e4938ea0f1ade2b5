//! The order of one iteration: purge, timeout, inbox, I/O in kernel order, due timers, batch.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ferroloop_core::{token, Event, Interest, Scheduler, Trigger, WorkOps};

#[derive(Default)]
struct Ops {
    cancelled: HashSet<String>,
    popped: Vec<String>,
}

impl WorkOps<String> for Ops {
    fn is_cancelled(&mut self, w: &String) -> bool {
        self.cancelled.contains(w)
    }
    fn clone_work(&mut self, w: &String) -> String {
        w.clone()
    }
    fn timer_popped(&mut self, w: &String) {
        self.popped.push(w.clone());
    }
}

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

fn close(fd: RawFd) {
    // SAFETY: the test owns `fd`.
    unsafe { libc::close(fd) };
}

fn write_byte(fd: RawFd) {
    // SAFETY: writes one byte from a static buffer.
    let n = unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    assert_eq!(n, 1);
}

fn run_batch(s: &mut Scheduler<String>) -> Vec<String> {
    std::iter::from_fn(|| s.ready.next_in_batch()).collect()
}

#[test]
fn dispatch_order_inbox_then_io_then_timers() {
    let mut s: Scheduler<String> = Scheduler::new().unwrap();
    let mut ops = Ops::default();
    let mut graveyard = Vec::new();
    let mut io_events = Vec::new();
    let (a, a_peer) = socketpair();
    let (b, b_peer) = socketpair();
    let (t, t_peer) = socketpair();
    s.watchers.set_reader(&s.reactor, a, "read a".into());
    s.watchers.set_writer(&s.reactor, b, "write b".into());
    let transport = token::transport_token(token::Key {
        index: 3,
        generation: 1,
    });
    s.reactor
        .register(t, transport, Interest::WRITABLE, Trigger::Level)
        .unwrap();
    write_byte(a_peer);
    s.timers.push(2.0, "t2".into());
    s.timers.push(1.0, "t1".into());
    s.timers.push(9.0, "t9".into());
    let inbox = Arc::clone(&s.inbox);
    thread::spawn(move || {
        inbox.push("x1".into()).unwrap();
        inbox.push("x2".into()).unwrap();
    })
    .join()
    .unwrap();

    assert_eq!(
        s.prepare(|| 0.5, &mut ops, &mut graveyard),
        Some(Duration::from_millis(500))
    );
    let mut events = s.take_events();
    s.reactor.poller().wait(&mut events, Some(Duration::ZERO)).unwrap();
    let io_order: Vec<String> = events
        .iter()
        .filter(|e| token::kind(e.token) == token::KIND_WATCHER)
        .map(|e| {
            if token::watcher_fd(e.token) == a {
                "read a".into()
            } else {
                "write b".into()
            }
        })
        .collect();
    assert_eq!(io_order.len(), 2);
    assert_eq!(events.len(), 4, "waker, two watchers, one transport");

    let n = s.dispatch(events, 2.5, &mut ops, &mut graveyard, &mut io_events);
    let mut expected: Vec<String> = vec!["x1".into(), "x2".into()];
    expected.extend(io_order);
    expected.extend(["t1".to_string(), "t2".to_string()]);
    assert_eq!(n, expected.len());
    assert_eq!(ops.popped, vec!["t1", "t2"]);
    assert_eq!(
        io_events,
        vec![Event {
            token: transport,
            readable: false,
            writable: true
        }]
    );
    assert!(graveyard.is_empty());
    assert_eq!(run_batch(&mut s), expected);
    assert!(s.inbox.is_empty());
    // The handlers stay registered; the remaining timer is next.
    assert_eq!(s.watchers.len(), 2);
    assert_eq!(
        s.prepare(|| 3.0, &mut ops, &mut graveyard),
        Some(Duration::from_secs(6))
    );

    for fd in [a, a_peer, b, b_peer, t, t_peer] {
        close(fd);
    }
}

#[test]
fn cancelled_watchers_are_removed_not_run() {
    let mut s: Scheduler<String> = Scheduler::new().unwrap();
    let mut ops = Ops::default();
    let mut graveyard = Vec::new();
    let mut io_events = Vec::new();
    let (a, a_peer) = socketpair();
    s.watchers.set_reader(&s.reactor, a, "r".into());
    s.watchers.set_writer(&s.reactor, a, "w".into());
    write_byte(a_peer);
    ops.cancelled.insert("r".into());
    assert_eq!(s.prepare(|| 0.0, &mut ops, &mut graveyard), None);
    let mut events = s.take_events();
    s.reactor.poller().wait(&mut events, Some(Duration::ZERO)).unwrap();
    assert_eq!(s.dispatch(events, 0.0, &mut ops, &mut graveyard, &mut io_events), 1);
    assert_eq!(run_batch(&mut s), vec!["w"]);
    assert_eq!(graveyard, vec!["r"]);
    assert!(s.watchers.reader(a).is_none());
    assert_eq!(s.watchers.writer(a).map(String::as_str), Some("w"));
    close(a);
    close(a_peer);
}

#[test]
fn prepare_purges_and_picks_the_timeout() {
    let mut s: Scheduler<String> = Scheduler::new().unwrap();
    let mut ops = Ops::default();
    let mut graveyard = Vec::new();
    s.timers.push(1.0, "c1".into());
    s.timers.push(2.0, "live".into());
    s.timers.push(0.5, "c0".into());
    ops.cancelled.extend(["c0".to_string(), "c1".to_string()]);
    s.timers.note_cancelled();
    s.timers.note_cancelled();
    assert_eq!(
        s.prepare(|| 1.5, &mut ops, &mut graveyard),
        Some(Duration::from_millis(500))
    );
    assert_eq!(graveyard, vec!["c0", "c1"]);
    assert_eq!(ops.popped, vec!["c0", "c1"]);
    assert_eq!(s.timers.cancelled_count(), 0);
    assert_eq!(
        s.prepare(|| 5.0, &mut ops, &mut graveyard),
        Some(Duration::ZERO),
        "overdue"
    );
    s.stopping = true;
    assert_eq!(s.prepare(|| 0.0, &mut ops, &mut graveyard), Some(Duration::ZERO));
    s.stopping = false;
    s.ready.push("now".into());
    assert_eq!(s.prepare(|| 0.0, &mut ops, &mut graveyard), Some(Duration::ZERO));
    assert_eq!(s.ready.drain_all(), vec!["now"]);
    assert_eq!(s.timers.drain_all(), vec!["live"]);
    assert_eq!(s.prepare(|| 0.0, &mut ops, &mut graveyard), None);
}

#[test]
fn threadsafe_push_wakes_a_blocked_wait() {
    let mut s: Scheduler<String> = Scheduler::new().unwrap();
    let mut ops = Ops::default();
    let inbox = Arc::clone(&s.inbox);
    let pusher = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        inbox.push("late".into()).unwrap();
    });
    let mut events = s.take_events();
    let n = s
        .reactor
        .poller()
        .wait(&mut events, Some(Duration::from_secs(4)))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(events.iter().next().map(|e| e.token), Some(token::waker_token()));
    pusher.join().unwrap();
    let (mut g, mut io) = (Vec::new(), Vec::new());
    assert_eq!(s.dispatch(events, 0.0, &mut ops, &mut g, &mut io), 1);
    assert_eq!(run_batch(&mut s), vec!["late"]);
    let mut events = s.take_events();
    assert_eq!(
        s.reactor.poller().wait(&mut events, Some(Duration::ZERO)).unwrap(),
        0,
        "the take drained the waker"
    );
}
