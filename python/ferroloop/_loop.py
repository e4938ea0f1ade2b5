"""``ferroloop.Loop``: the per-loop half of the event loop.

The native base class ``LoopCore`` owns everything that runs per callback or per event
(scheduling, timers, fd watchers, one loop iteration). This class adds what runs once per loop:
the run/stop/close lifecycle, tasks and futures (CPython's C ``Task``/``Future``), the
exception handler, debug mode and async generator hooks. The mixins add executors, signals,
``sock_*`` and name resolution.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
import warnings
import weakref
from asyncio import coroutines, events, futures, tasks
from asyncio.log import logger
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

from ._dns import DnsMixin
from ._executor import ExecutorMixin
from ._ferroloop import LoopCore
from ._signals import SignalMixin
from ._sock import SockMixin

_T = TypeVar("_T")

# asyncio.constants.DEBUG_STACK_DEPTH: frames kept by coroutine origin tracking in debug mode.
_DEBUG_STACK_DEPTH = 10
# Since 3.12 a custom exception handler runs in the context of the task, future or handle.
_HANDLER_IN_CONTEXT = sys.version_info >= (3, 12)


def _run_until_complete_cb(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        exc = fut.exception()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            # run_forever() already ended: these exceptions propagate out of it by themselves.
            return
    futures._get_loop(fut).stop()


class Loop(LoopCore, SockMixin, DnsMixin, SignalMixin, ExecutorMixin, asyncio.AbstractEventLoop):  # type: ignore[misc]
    """An asyncio event loop with a native engine."""

    slow_callback_duration: float

    def __init__(self) -> None:
        self._exception_handler: Callable[..., object] | None = None
        self._task_factory: Callable[..., asyncio.Future[Any]] | None = None
        self._asyncgens: weakref.WeakSet[Any] = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._coroutine_origin_tracking_enabled = False
        self._coroutine_origin_tracking_saved_depth: int | None = None
        self._old_agen_hooks: tuple[Any, ...] | None = None
        self.slow_callback_duration = 0.1
        self._init_executor()
        self._init_signals()
        self.set_debug(coroutines._is_debug_mode())

    def __repr__(self) -> str:
        return (
            f"<{self.__class__.__name__} running={self.is_running()} "
            f"closed={self.is_closed()} debug={self.get_debug()}>"
        )

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if not self.is_closed():
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()

    # -- checks -------------------------------------------------------------------------------

    def _check_closed(self) -> None:
        if self._closed:
            raise RuntimeError("Event loop is closed")

    def _check_running(self) -> None:
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        if events._get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")

    def _check_thread(self) -> None:
        """Debug mode: refuse a non-thread-safe call from a thread other than the loop's."""
        if self._thread_id is None:
            return
        if threading.get_ident() != self._thread_id:
            raise RuntimeError("Non-thread-safe operation invoked on an event loop other than the current one")

    def _check_callback(self, callback: object, method: str) -> None:
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError(f"coroutines cannot be used with {method}()")
        if not callable(callback):
            raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")

    # -- running and stopping -----------------------------------------------------------------

    def is_running(self) -> bool:
        return self._thread_id is not None

    def _run_forever_setup(self) -> None:
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        self._old_agen_hooks = sys.get_asyncgen_hooks()
        self._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook)
        events._set_running_loop(self)

    def _run_forever_cleanup(self) -> None:
        self._stopping = False
        self._thread_id = None
        events._set_running_loop(None)
        self._set_coroutine_origin_tracking(False)
        if self._old_agen_hooks is not None:
            sys.set_asyncgen_hooks(*self._old_agen_hooks)
            self._old_agen_hooks = None

    def run_forever(self) -> None:
        """Run until stop() is called."""
        try:
            self._run_forever_setup()
            self._run()
        finally:
            self._run_forever_cleanup()

    def run_until_complete(self, future: Generator[Any, None, _T] | Coroutine[Any, Any, _T] | asyncio.Future[_T]) -> _T:
        """Run until the future (or coroutine, wrapped in a task) is done; return its result."""
        self._check_closed()
        self._check_running()
        new_task = not futures.isfuture(future)
        fut = tasks.ensure_future(future, loop=self)
        if new_task:
            # The caller has no handle on this task: an unfinished one raises below instead.
            fut._log_destroy_pending = False  # type: ignore[attr-defined]
        fut.add_done_callback(_run_until_complete_cb)
        try:
            self.run_forever()
        except BaseException:
            if new_task and fut.done() and not fut.cancelled():
                # Consume the exception so that the task does not log it as never retrieved.
                fut.exception()
            raise
        finally:
            fut.remove_done_callback(_run_until_complete_cb)
        if not fut.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return fut.result()

    def close(self) -> None:
        """Close the loop: drop pending callbacks, timers and fd watchers, shut the executor down."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:
            return
        if self._debug:
            logger.debug("Close %r", self)
        self._close_core()
        self._close_executor()
        self._close_signals()

    # -- debug mode ---------------------------------------------------------------------------

    def _set_coroutine_origin_tracking(self, enabled: bool) -> None:
        if bool(enabled) == bool(self._coroutine_origin_tracking_enabled):
            return
        if enabled:
            self._coroutine_origin_tracking_saved_depth = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(_DEBUG_STACK_DEPTH)
        else:
            sys.set_coroutine_origin_tracking_depth(self._coroutine_origin_tracking_saved_depth or 0)
        self._coroutine_origin_tracking_enabled = enabled

    # -- futures and tasks --------------------------------------------------------------------

    def create_future(self) -> asyncio.Future[Any]:
        return futures.Future(loop=self)

    def create_task(
        self,
        coro: Coroutine[Any, Any, _T] | Generator[Any, None, _T],
        *,
        name: str | None = None,
        context: Any = None,
        **kwargs: Any,
    ) -> asyncio.Task[_T]:
        """Schedule a coroutine; return its task (CPython's C ``asyncio.Task``)."""
        self._check_closed()
        if self._task_factory is None:
            task = tasks.Task(coro, loop=self, name=name, context=context, **kwargs)
            if task._source_traceback:  # type: ignore[attr-defined]
                del task._source_traceback[-1]  # type: ignore[attr-defined]
            return task
        if context is not None:
            kwargs["context"] = context
        task = self._task_factory(self, coro, **kwargs)
        if name is not None:
            task.set_name(name)  # type: ignore[attr-defined]
        return task  # type: ignore[return-value]

    def set_task_factory(self, factory: Callable[..., asyncio.Future[Any]] | None) -> None:
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self) -> Callable[..., asyncio.Future[Any]] | None:
        return self._task_factory

    # -- async generators ---------------------------------------------------------------------

    def _asyncgen_finalizer_hook(self, agen: Any) -> None:
        self._asyncgens.discard(agen)
        if not self.is_closed():
            self.call_soon_threadsafe(self.create_task, agen.aclose())

    def _asyncgen_firstiter_hook(self, agen: Any) -> None:
        if self._asyncgens_shutdown_called:
            warnings.warn(
                f"asynchronous generator {agen!r} was scheduled after loop.shutdown_asyncgens() call",
                ResourceWarning,
                stacklevel=1,
                source=self,
            )
        self._asyncgens.add(agen)

    async def shutdown_asyncgens(self) -> None:
        """Shutdown all active asynchronous generators."""
        self._asyncgens_shutdown_called = True
        if not len(self._asyncgens):
            return
        closing_agens = list(self._asyncgens)
        self._asyncgens.clear()
        results = await tasks.gather(*[ag.aclose() for ag in closing_agens], return_exceptions=True)
        for result, agen in zip(results, closing_agens, strict=True):
            if isinstance(result, Exception):
                self.call_exception_handler(
                    {
                        "message": f"an error occurred during closing of asynchronous generator {agen!r}",
                        "exception": result,
                        "asyncgen": agen,
                    }
                )

    # -- exception handling -------------------------------------------------------------------

    def get_exception_handler(self) -> Callable[..., object] | None:
        return self._exception_handler

    def set_exception_handler(self, handler: Callable[..., object] | None) -> None:
        if handler is not None and not callable(handler):
            raise TypeError(f"A callable object or None is expected, got {handler!r}")
        self._exception_handler = handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        """Log the context on the ``asyncio`` logger, in asyncio's format."""
        message = context.get("message")
        if not message:
            message = "Unhandled exception in event loop"
        exception = context.get("exception")
        exc_info: Any = (type(exception), exception, exception.__traceback__) if exception is not None else False
        current = self._current_handle
        if "source_traceback" not in context and current is not None and current._source_traceback:
            context["handle_traceback"] = current._source_traceback
        log_lines = [message]
        for key in sorted(context):
            if key in {"message", "exception"}:
                continue
            value = context[key]
            if key == "source_traceback":
                tb = "".join(traceback.format_list(value))
                value = "Object created at (most recent call last):\n" + tb.rstrip()
            elif key == "handle_traceback":
                tb = "".join(traceback.format_list(value))
                value = "Handle created at (most recent call last):\n" + tb.rstrip()
            else:
                value = repr(value)
            log_lines.append(f"{key}: {value}")
        logger.error("\n".join(log_lines), exc_info=exc_info)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Hand ``context`` to the exception handler (or the default one)."""
        if self._exception_handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error("Exception in default exception handler", exc_info=True)
            return
        try:
            self._call_custom_handler(context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler(
                    {"message": "Unhandled error in exception handler", "exception": exc, "context": context}
                )
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error(
                    "Exception in default exception handler while handling an unexpected error "
                    "in custom exception handler",
                    exc_info=True,
                )

    def _call_custom_handler(self, context: dict[str, Any]) -> None:
        handler = self._exception_handler
        assert handler is not None
        ctx = None
        if _HANDLER_IN_CONTEXT:
            thing = context.get("task")
            if thing is None:
                thing = context.get("future")
            if thing is None:
                thing = context.get("handle")
            if thing is not None and hasattr(thing, "get_context"):
                ctx = thing.get_context()
        if ctx is not None and hasattr(ctx, "run"):
            ctx.run(handler, self, context)
        else:
            handler(self, context)


def new_event_loop() -> Loop:
    """Return a new ferroloop event loop."""
    return Loop()


__all__ = ["Loop", "new_event_loop"]
