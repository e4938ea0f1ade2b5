"""Formatting and reporting for native handles (rare paths, kept next to asyncio's own helpers).

The native ``Handle``/``TimerHandle`` call these functions for ``repr()``, for reporting an
exception raised by a callback, for debug-mode tracebacks and for the slow-callback warning, so
that every text matches what asyncio prints.
"""

from __future__ import annotations

import inspect
import sys
from asyncio import format_helpers, tasks
from asyncio.log import logger
from typing import Any

_DEBUG_KEYWORD = "debug" in inspect.signature(format_helpers._format_callback_source).parameters


def _loop_debug(handle: Any) -> bool:
    loop = handle._loop
    return bool(loop is not None and loop.get_debug())


def callback_source(handle: Any) -> str:
    """``func(args) at file:line`` for the handle's callback, as asyncio formats it."""
    if _DEBUG_KEYWORD:
        return format_helpers._format_callback_source(handle._callback, handle._args, debug=_loop_debug(handle))
    return format_helpers._format_callback_source(handle._callback, handle._args)


def handle_repr(handle: Any) -> str:
    """``repr()`` of a native handle: asyncio's ``Handle.__repr__``/``TimerHandle._repr_info``."""
    info = [type(handle).__name__]
    if handle._cancelled:
        info.append("cancelled")
    if handle._callback is not None:
        info.append(callback_source(handle))
    if handle._source_traceback:
        frame = handle._source_traceback[-1]
        info.append(f"created at {frame[0]}:{frame[1]}")
    if hasattr(handle, "_when"):
        info.insert(2 if handle._cancelled else 1, f"when={handle._when}")
    return "<{}>".format(" ".join(info))


def report_callback_error(handle: Any, exc: BaseException) -> None:
    """Hands an exception raised by a callback to the loop's exception handler."""
    context: dict[str, Any] = {
        "message": f"Exception in callback {callback_source(handle)}",
        "exception": exc,
        "handle": handle,
    }
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


def extract_stack() -> Any:
    """The debug-mode creation traceback of a handle, ending at the caller of the loop method."""
    return format_helpers.extract_stack(sys._getframe(1))


def format_handle(handle: Any) -> str:
    """A handle as asyncio's debug log names it (a task's step shows the task)."""
    callback = handle._callback
    if isinstance(getattr(callback, "__self__", None), tasks.Task):
        return repr(callback.__self__)
    return str(handle)


def log_slow_callback(handle: Any, duration: float) -> None:
    """Debug mode: a callback ran for ``slow_callback_duration`` or longer."""
    logger.warning("Executing %s took %.3f seconds", format_handle(handle), duration)
