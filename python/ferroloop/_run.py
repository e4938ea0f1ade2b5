"""``ferroloop.run``: ``asyncio.run`` on a ferroloop loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._loop import new_event_loop

_T = TypeVar("_T")


def run(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """Run the coroutine ``main`` on a new ferroloop loop and return its result.

    It behaves as ``asyncio.run``: the loop is created, ``main`` runs to completion (Ctrl+C
    cancels it), remaining tasks are cancelled, async generators and the default executor are
    shut down, and the loop is closed.
    """
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)
