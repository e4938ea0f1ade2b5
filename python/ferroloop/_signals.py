"""Unix signal handlers: ``add_signal_handler`` and ``remove_signal_handler``.

Python's C-level signal handler writes the number of every signal it catches into the wakeup
fd (``signal.set_wakeup_fd``). The loop owns a non-blocking socketpair: its write end is the
wakeup fd and its read end is watched with ``add_reader``, so a signal wakes the loop and each
byte read schedules the handler registered for that signal. A signal with a handler is given a
Python handler that does nothing, which is what makes the C handler write the byte.

The semantics, exceptions and messages are those of asyncio's Unix event loop.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
import warnings
from asyncio import coroutines, events
from asyncio.log import logger
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import FrameType

    class _LoopPrimitives:
        """What this mixin needs from the loop it is mixed into."""

        def _check_closed(self) -> None: ...
        def call_soon(self, callback: Callable[..., object], *args: Any, context: Any = None) -> Any: ...
        def add_reader(self, fd: int, callback: Callable[..., object], *args: Any) -> None: ...
        def remove_reader(self, fd: int) -> bool: ...
        def is_closed(self) -> bool: ...

else:
    _LoopPrimitives = object


def _sighandler_noop(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler of a signal the loop handles: the wakeup fd does the work."""


class SignalMixin(_LoopPrimitives):
    """Signal handling for a loop that runs in the main thread.

    ``_init_signals()`` must run from the loop's ``__init__``; ``_close_signals()`` from its
    ``close()`` (after the fd watchers are gone: it never touches the loop).
    """

    _signal_handlers: dict[int, events.Handle]
    _signal_rsock: socket.socket | None
    _signal_wsock: socket.socket | None

    def _init_signals(self) -> None:
        self._signal_handlers = {}
        self._signal_rsock = None
        self._signal_wsock = None

    # -- the wakeup socketpair ----------------------------------------------------------------

    def _signal_socketpair(self) -> tuple[socket.socket, bool]:
        """Return the write end of the socketpair, creating the pair if needed (and saying so)."""
        wsock = self._signal_wsock
        if wsock is not None:
            return wsock, False
        rsock, wsock = socket.socketpair()
        rsock.setblocking(False)
        wsock.setblocking(False)
        self._signal_rsock = rsock
        self._signal_wsock = wsock
        return wsock, True

    def _read_signals(self) -> None:
        """Reader of the socketpair: dispatch every signal number it received."""
        rsock = self._signal_rsock
        while rsock is not None:
            try:
                data = rsock.recv(4096)
            except InterruptedError:
                continue
            except BlockingIOError:
                break
            if not data:
                break
            for signum in data:
                if signum:
                    self._handle_signal(signum)

    def _handle_signal(self, sig: int) -> None:
        """Schedule the handler of ``sig``; a cancelled handler is removed."""
        handle = self._signal_handlers.get(sig)
        if handle is None:
            return  # removed since the signal arrived
        if handle._cancelled:
            self.remove_signal_handler(sig)
        else:
            self.call_soon(handle._callback, *handle._args, context=handle._context)

    def _close_signal_sockets(self) -> None:
        rsock, wsock = self._signal_rsock, self._signal_wsock
        self._signal_rsock = self._signal_wsock = None
        if rsock is not None:
            if not self.is_closed():
                self.remove_reader(rsock.fileno())
            rsock.close()
        if wsock is not None:
            wsock.close()

    # -- public API ---------------------------------------------------------------------------

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        """Add a handler for a signal.

        Raise ValueError if the signal number is invalid or uncatchable.
        Raise RuntimeError if there is a problem setting up the handler.
        """
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()
        wsock, created = self._signal_socketpair()
        try:
            # Off the main thread this raises ValueError: a loop running in another thread
            # cannot handle signals.
            signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError) as exc:
            if created:
                self._close_signal_sockets()
            raise RuntimeError(str(exc))  # noqa: B904 - chained implicitly, as asyncio does
        if created:
            assert self._signal_rsock is not None
            self.add_reader(self._signal_rsock.fileno(), self._read_signals)

        handle = events.Handle(callback, args, self, None)  # type: ignore[arg-type]
        self._signal_handlers[sig] = handle
        try:
            signal.signal(sig, _sighandler_noop)
            # SA_RESTART: fewer system calls interrupted with EINTR.
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers:
                try:
                    signal.set_wakeup_fd(-1)
                except (ValueError, OSError) as nexc:
                    logger.info("set_wakeup_fd(-1) failed: %s", nexc)
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig} cannot be caught")  # noqa: B904
            raise

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove the handler of a signal; return True if one was removed, False if not."""
        self._check_signal(sig)
        try:
            del self._signal_handlers[sig]
        except KeyError:
            return False

        handler = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig} cannot be caught")  # noqa: B904
            raise

        if not self._signal_handlers:
            try:
                signal.set_wakeup_fd(-1)
            except (ValueError, OSError) as exc:
                logger.info("set_wakeup_fd(-1) failed: %s", exc)
        return True

    def _check_signal(self, sig: object) -> None:
        """Refuse anything but a valid signal number (TypeError, ValueError)."""
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in signal.valid_signals():
            raise ValueError(f"invalid signal number {sig}")

    def _close_signals(self) -> None:
        """Remove every signal handler (as closing asyncio's Unix loop does) and the socketpair."""
        if not sys.is_finalizing():
            for sig in list(self._signal_handlers):
                self.remove_signal_handler(sig)
        elif self._signal_handlers:
            warnings.warn(
                f"Closing the loop {self!r} on interpreter shutdown stage, skipping signal handlers removal",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )
            self._signal_handlers.clear()
        self._close_signal_sockets()


__all__ = ["SignalMixin"]
