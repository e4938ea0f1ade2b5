"""Shared fixtures: every behaviour test runs on ferroloop and on stock asyncio (the oracle)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

LOOP_NAMES = ("ferroloop", "asyncio")


def loop_factory_for(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """Return the factory that builds a fresh loop of the named kind."""
    if name == "asyncio":
        return asyncio.SelectorEventLoop
    import ferroloop

    return ferroloop.new_event_loop


class ExceptionRecorder:
    """An exception handler that records every context it is given.

    A test that expects the loop to report an error reads (and clears) ``contexts``; any context
    left over at teardown fails the test, so no unexpected error passes silently.
    """

    def __init__(self) -> None:
        self.contexts: list[dict[str, Any]] = []

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.contexts.append(context)

    def pop_all(self) -> list[dict[str, Any]]:
        contexts, self.contexts = self.contexts, []
        return contexts


@pytest.fixture(params=LOOP_NAMES)
def loop_name(request: pytest.FixtureRequest) -> str:
    """The kind of loop under test: ``"ferroloop"`` or ``"asyncio"``."""
    return request.param


@pytest.fixture
def loop_factory(loop_name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory for loops of the kind under test (for tests that need several loops)."""
    return loop_factory_for(loop_name)


@pytest.fixture
def loop_errors() -> ExceptionRecorder:
    """The recorder installed as the exception handler of the ``loop`` fixture."""
    return ExceptionRecorder()


@pytest.fixture
def loop(loop_factory: Callable[[], asyncio.AbstractEventLoop], loop_errors: ExceptionRecorder) -> Iterator[Any]:
    """A fresh loop of the kind under test, closed at teardown.

    Its exception handler records contexts in ``loop_errors``; a context nobody consumed fails
    the test at teardown.
    """
    loop = loop_factory()
    loop.set_exception_handler(loop_errors)
    try:
        yield loop
    finally:
        if not loop.is_closed():
            if not loop.is_running():
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        asyncio.set_event_loop(None)
        gc.collect()
    leftover = loop_errors.pop_all()
    assert not leftover, f"unexpected exception-handler calls: {leftover!r}"
