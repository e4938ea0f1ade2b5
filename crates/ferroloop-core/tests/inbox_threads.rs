//! The inbox under concurrent pushers: every item is taken exactly once, in per-thread order, and
//! a consumer that sleeps on the eventfd never misses work.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ferroloop_core::{token, Events, Inbox, Interest, Reactor, Trigger};
use proptest::prelude::*;

fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `p` is a valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n == 1 && p.revents & libc::POLLIN != 0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn concurrent_pushes_are_taken_once_in_order(counts in proptest::collection::vec(0usize..300, 1..4)) {
        let inbox: Arc<Inbox<(usize, usize)>> = Arc::new(Inbox::new().unwrap());
        let reactor = Reactor::new().unwrap();
        reactor.register(inbox.waker_fd(), token::waker_token(), Interest::READABLE, Trigger::Level).unwrap();
        let total: usize = counts.iter().sum();
        let pushers: Vec<_> = counts
            .iter()
            .enumerate()
            .map(|(t, &n)| {
                let inbox = Arc::clone(&inbox);
                thread::spawn(move || {
                    for i in 0..n {
                        inbox.push((t, i)).unwrap();
                        if i % 64 == 0 {
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        // The consumer sleeps on the eventfd like the loop does; a lost signal shows as a timeout.
        let poller = reactor.poller();
        let mut events = Events::with_capacity(4);
        let mut next = vec![0usize; counts.len()];
        let mut got = 0;
        while got < total {
            let n = poller.wait(&mut events, Some(Duration::from_secs(3))).unwrap();
            prop_assert!(n > 0, "inbox holds work but the eventfd stayed silent");
            for (t, i) in inbox.take() {
                prop_assert_eq!(i, next[t], "out of order or duplicated");
                next[t] += 1;
                got += 1;
            }
        }
        for p in pushers {
            p.join().unwrap();
        }
        prop_assert_eq!(next, counts);
        prop_assert!(inbox.is_empty());
        prop_assert!(inbox.take().is_empty());
        prop_assert!(!readable(inbox.waker_fd()));
    }

    #[test]
    fn eventfd_readable_whenever_non_empty(counts in proptest::collection::vec(0usize..100, 1..4), takes in 0usize..5) {
        let inbox: Arc<Inbox<usize>> = Arc::new(Inbox::new().unwrap());
        let pushers: Vec<_> = counts
            .iter()
            .map(|&n| {
                let inbox = Arc::clone(&inbox);
                thread::spawn(move || (0..n).for_each(|i| inbox.push(i).unwrap()))
            })
            .collect();
        let mut taken = 0;
        for _ in 0..takes {
            taken += inbox.take().len();
            thread::yield_now();
        }
        for p in pushers {
            p.join().unwrap();
        }
        // Once the pushers are done, queued work is always signalled (a spurious signal for an
        // empty inbox is allowed: a pusher's write may land after the take that took its item).
        prop_assert!(inbox.is_empty() || readable(inbox.waker_fd()));
        taken += inbox.take().len();
        prop_assert_eq!(taken, counts.iter().sum::<usize>());
        prop_assert!(!readable(inbox.waker_fd()));
    }
}
