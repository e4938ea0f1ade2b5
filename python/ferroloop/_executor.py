"""Executors: ``run_in_executor``, the default executor and its shutdown.

Everything here runs per call or per loop, so it stays in Python. The behaviour follows
``asyncio.BaseEventLoop`` of the running interpreter: the signature and the timeout handling of
``shutdown_default_executor`` differ between 3.11, 3.12 and 3.13+.
"""

from __future__ import annotations

import concurrent.futures
import sys
import threading
import warnings
from asyncio import coroutines, futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if sys.version_info >= (3, 13):
    from asyncio import timeouts

_T = TypeVar("_T")

if TYPE_CHECKING:
    import asyncio

    class _LoopPrimitives:
        """What this mixin needs from the loop it is mixed into."""

        _debug: bool

        def is_closed(self) -> bool: ...
        def _check_closed(self) -> None: ...
        def create_future(self) -> asyncio.Future[Any]: ...
        def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> Any: ...

else:
    _LoopPrimitives = object


def _set_result_unless_cancelled(fut: asyncio.Future[Any], result: Any) -> None:
    if not fut.cancelled():
        fut.set_result(result)


class ExecutorMixin(_LoopPrimitives):
    """``run_in_executor`` and the default executor of a loop.

    ``_init_executor()`` must run from the loop's ``__init__``; ``_close_executor()`` from its
    ``close()``.
    """

    _default_executor: concurrent.futures.ThreadPoolExecutor | None
    _executor_shutdown_called: bool

    def _init_executor(self) -> None:
        self._default_executor = None
        self._executor_shutdown_called = False

    def _close_executor(self) -> None:
        """What closing the loop does to the default executor: shut it down without waiting."""
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is not None:
            self._default_executor = None
            executor.shutdown(wait=False)

    def _check_default_executor(self) -> None:
        if self._executor_shutdown_called:
            raise RuntimeError("Executor shutdown has been called")

    def run_in_executor(
        self, executor: concurrent.futures.Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        """Run ``func(*args)`` in ``executor`` (the default one if None); return an asyncio future."""
        self._check_closed()
        if self._debug:
            if coroutines.iscoroutine(func) or coroutines.iscoroutinefunction(func):
                raise TypeError("coroutines cannot be used with run_in_executor()")
            if not callable(func):
                raise TypeError(f"a callable object was expected by run_in_executor(), got {func!r}")
        if executor is None:
            executor = self._default_executor
            # Only the default executor is refused after shutdown_default_executor().
            self._check_default_executor()
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio")
                self._default_executor = executor
        return futures.wrap_future(executor.submit(func, *args), loop=self)  # type: ignore[arg-type]

    def set_default_executor(self, executor: concurrent.futures.ThreadPoolExecutor) -> None:
        """Use ``executor`` for ``run_in_executor(None, ...)``."""
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError("executor must be ThreadPoolExecutor instance")
        self._default_executor = executor

    def _do_shutdown(self, future: asyncio.Future[None]) -> None:
        """Shut the default executor down, waiting for its threads (runs in a helper thread)."""
        executor = self._default_executor
        try:
            if executor is not None:
                executor.shutdown(wait=True)
            if not self.is_closed():
                self.call_soon_threadsafe(_set_result_unless_cancelled, future, None)
        except Exception as ex:
            if not self.is_closed() and not future.cancelled():
                self.call_soon_threadsafe(future.set_exception, ex)

    def _start_shutdown_thread(self) -> tuple[asyncio.Future[None], threading.Thread]:
        future = self.create_future()
        thread = threading.Thread(target=self._do_shutdown, args=(future,))
        thread.start()
        return future, thread

    if sys.version_info >= (3, 13):

        async def shutdown_default_executor(self, timeout: float | None = None) -> None:
            """Schedule the shutdown of the default executor.

            The executor is given ``timeout`` seconds (None: unlimited) to join its threads;
            after that a RuntimeWarning is emitted and it is shut down without waiting.
            """
            self._executor_shutdown_called = True
            if self._default_executor is None:
                return
            future, thread = self._start_shutdown_thread()
            try:
                async with timeouts.timeout(timeout):
                    await future
            except TimeoutError:
                warnings.warn(
                    f"The executor did not finishing joining its threads within {timeout} seconds.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._default_executor.shutdown(wait=False)
            else:
                thread.join()

    elif sys.version_info >= (3, 12):

        async def shutdown_default_executor(self, timeout: float | None = None) -> None:
            """Schedule the shutdown of the default executor.

            Once the executor has shut down, its helper thread is given ``timeout`` seconds
            (None: unlimited) to finish; if it is still alive a RuntimeWarning is emitted.
            """
            self._executor_shutdown_called = True
            if self._default_executor is None:
                return
            future, thread = self._start_shutdown_thread()
            try:
                await future
            finally:
                thread.join(timeout)
            if thread.is_alive():
                warnings.warn(
                    f"The executor did not finishing joining its threads within {timeout} seconds.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._default_executor.shutdown(wait=False)

    else:

        async def shutdown_default_executor(self) -> None:
            """Schedule the shutdown of the default executor and wait for its threads."""
            self._executor_shutdown_called = True
            if self._default_executor is None:
                return
            future, thread = self._start_shutdown_thread()
            try:
                await future
            finally:
                thread.join()


__all__ = ["ExecutorMixin"]
