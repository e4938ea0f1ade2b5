//! The fd watcher table behind `add_reader`/`add_writer`/`remove_reader`/`remove_writer`.
//!
//! It reproduces `selectors.EpollSelector` as asyncio's `selector_events` drives it:
//! - Each known fd has an entry holding an optional reader and an optional writer; an entry exists
//!   exactly while the fd is registered in the reactor (level-triggered, token
//!   [`token::watcher_token`]), and its epoll interest is "readable iff a reader is set, writable iff
//!   a writer is set". An entry never has neither.
//! - Setting a handler on an unknown fd registers it (`EPOLL_CTL_ADD`); if the kernel refuses, no
//!   entry is created and the new handler comes back in [`Outcome::dropped`].
//! - Changing a known fd calls `EPOLL_CTL_MOD` only when its interest changes. If the kernel
//!   refuses, the whole entry is forgotten (selectors drops the key and asyncio does not reach its
//!   `cancel()`): the new handler (if any), then the entry's reader and writer, land in `dropped`.
//! - Removing the last direction deregisters the fd; errors are ignored there, as
//!   `selectors.unregister` ignores `OSError` (the fd may already be closed).
//! - Handlers that were replaced or removed come back in [`Outcome::previous`] (asyncio cancels
//!   them; the caller does). The table never drops a handler itself.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;

use crate::reactor::{Interest, Reactor, Trigger};
use crate::token;

/// What a change to the table did.
#[derive(Debug)]
pub struct Outcome<W> {
    /// The kernel refused the change.
    pub error: Option<io::Error>,
    /// The handler for this direction that was replaced or removed (to be cancelled by the caller).
    pub previous: Option<W>,
    /// Handlers the table let go of without them being replaced or removed on purpose.
    pub dropped: Vec<W>,
}

impl<W> Outcome<W> {
    fn empty() -> Self {
        Outcome {
            error: None,
            previous: None,
            dropped: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Entry<W> {
    reader: Option<W>,
    writer: Option<W>,
}

impl<W> Entry<W> {
    fn interest(&self) -> Interest {
        Interest {
            readable: self.reader.is_some(),
            writable: self.writer.is_some(),
        }
    }

    fn slot(&mut self, dir: Dir) -> &mut Option<W> {
        match dir {
            Dir::Read => &mut self.reader,
            Dir::Write => &mut self.writer,
        }
    }

    fn into_handlers(self, out: &mut Vec<W>) {
        out.extend(self.reader);
        out.extend(self.writer);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// The fd -> (reader, writer) table.
#[derive(Debug)]
pub struct Watchers<W> {
    entries: HashMap<RawFd, Entry<W>>,
}

impl<W> Default for Watchers<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> Watchers<W> {
    /// An empty table.
    pub fn new() -> Self {
        Watchers {
            entries: HashMap::new(),
        }
    }

    fn set(&mut self, reactor: &Reactor, fd: RawFd, dir: Dir, w: W) -> Outcome<W> {
        let mut out = Outcome::empty();
        let Some(entry) = self.entries.get_mut(&fd) else {
            let mut entry = Entry {
                reader: None,
                writer: None,
            };
            *entry.slot(dir) = Some(w);
            match reactor.register(fd, token::watcher_token(fd), entry.interest(), Trigger::Level) {
                Ok(()) => {
                    self.entries.insert(fd, entry);
                }
                Err(err) => {
                    out.error = Some(err);
                    entry.into_handlers(&mut out.dropped);
                }
            }
            return out;
        };
        let before = entry.interest();
        let mut after = before;
        match dir {
            Dir::Read => after.readable = true,
            Dir::Write => after.writable = true,
        }
        if after != before {
            if let Err(err) = reactor.modify(fd, token::watcher_token(fd), after, Trigger::Level) {
                out.error = Some(err);
                out.dropped.push(w);
                if let Some(entry) = self.entries.remove(&fd) {
                    entry.into_handlers(&mut out.dropped);
                }
                return out;
            }
        }
        out.previous = entry.slot(dir).replace(w);
        out
    }

    fn remove(&mut self, reactor: &Reactor, fd: RawFd, dir: Dir) -> Outcome<W> {
        let mut out = Outcome::empty();
        let Some(entry) = self.entries.get_mut(&fd) else {
            return out;
        };
        let before = entry.interest();
        let mut after = before;
        match dir {
            Dir::Read => after.readable = false,
            Dir::Write => after.writable = false,
        }
        if after.is_empty() {
            // As `selectors.unregister`: the fd may already be closed; the entry goes regardless.
            let _ = reactor.deregister(fd);
            if let Some(mut entry) = self.entries.remove(&fd) {
                out.previous = entry.slot(dir).take();
            }
        } else if after != before {
            if let Err(err) = reactor.modify(fd, token::watcher_token(fd), after, Trigger::Level) {
                out.error = Some(err);
                if let Some(entry) = self.entries.remove(&fd) {
                    entry.into_handlers(&mut out.dropped);
                }
            } else {
                out.previous = entry.slot(dir).take();
            }
        }
        out
    }

    /// Sets the reader of `fd`: registers an unknown fd, else modifies it if its interest changes.
    pub fn set_reader(&mut self, reactor: &Reactor, fd: RawFd, w: W) -> Outcome<W> {
        self.set(reactor, fd, Dir::Read, w)
    }

    /// Sets the writer of `fd`: registers an unknown fd, else modifies it if its interest changes.
    pub fn set_writer(&mut self, reactor: &Reactor, fd: RawFd, w: W) -> Outcome<W> {
        self.set(reactor, fd, Dir::Write, w)
    }

    /// Removes the reader of `fd`: deregisters the fd if no writer is left, else modifies it.
    /// An unknown fd, or a known fd without a reader, gives an empty outcome.
    pub fn remove_reader(&mut self, reactor: &Reactor, fd: RawFd) -> Outcome<W> {
        self.remove(reactor, fd, Dir::Read)
    }

    /// Removes the writer of `fd`: deregisters the fd if no reader is left, else modifies it.
    /// An unknown fd, or a known fd without a writer, gives an empty outcome.
    pub fn remove_writer(&mut self, reactor: &Reactor, fd: RawFd) -> Outcome<W> {
        self.remove(reactor, fd, Dir::Write)
    }

    /// The reader of `fd`.
    pub fn reader(&self, fd: RawFd) -> Option<&W> {
        self.entries.get(&fd)?.reader.as_ref()
    }

    /// The writer of `fd`.
    pub fn writer(&self, fd: RawFd) -> Option<&W> {
        self.entries.get(&fd)?.writer.as_ref()
    }

    /// The number of registered fds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no fd is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `fd` is registered.
    pub fn contains(&self, fd: RawFd) -> bool {
        self.entries.contains_key(&fd)
    }

    /// Deregisters every fd (errors ignored) and returns every handler (per fd: reader, then writer).
    pub fn drain_all(&mut self, reactor: &Reactor) -> Vec<W> {
        let mut out = Vec::new();
        for (fd, entry) in self.entries.drain() {
            let _ = reactor.deregister(fd);
            entry.into_handlers(&mut out);
        }
        out
    }

    /// Every registered handler, readers and writers (for the binding's garbage-collector traversal).
    pub fn iter(&self) -> impl Iterator<Item = &W> + '_ {
        self.entries
            .values()
            .flat_map(|entry| entry.reader.iter().chain(entry.writer.iter()))
    }
}
