"""The event loop policy, for Pythons that still have policies (3.11 to 3.13)."""

from __future__ import annotations

import asyncio

from ._loop import Loop


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An asyncio event loop policy whose loops are ferroloop loops."""

    _loop_factory = Loop


def install() -> None:
    """Make ferroloop the loop of ``asyncio.run``, ``asyncio.new_event_loop`` and ``asyncio.Runner``."""
    asyncio.set_event_loop_policy(EventLoopPolicy())
