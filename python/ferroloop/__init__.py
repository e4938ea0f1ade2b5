"""ferroloop: a drop-in asyncio event loop with a Rust engine.

Use it with ``ferroloop.run(main())``, ``asyncio.run(main(), loop_factory=ferroloop.new_event_loop)``,
``asyncio.Runner(loop_factory=ferroloop.new_event_loop)``, or install its policy with
``ferroloop.install()`` on Pythons that still have event loop policies.
"""

from __future__ import annotations

import sys

if getattr(sys, "_is_gil_enabled", lambda: True)() is False:  # pragma: no cover - free-threaded builds only
    raise ImportError("ferroloop needs a CPython build with the GIL; free-threaded builds are not supported yet")

from ._ferroloop import Handle, TimerHandle, __version__, build_profile
from ._loop import Loop, new_event_loop
from ._policy import EventLoopPolicy, install
from ._run import run

__all__ = [
    "EventLoopPolicy",
    "Handle",
    "Loop",
    "TimerHandle",
    "__version__",
    "build_profile",
    "install",
    "new_event_loop",
    "run",
]
