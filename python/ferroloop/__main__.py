"""``python -m ferroloop``: run an asyncio program on ferroloop.

    python -m ferroloop script.py [args ...]
    python -m ferroloop -m module [args ...]

The program runs as ``__main__`` with ``sys.argv`` set as if Python had run it directly, after
ferroloop's event loop policy was installed: every loop it creates with ``asyncio.run``,
``asyncio.new_event_loop`` or ``asyncio.Runner`` (without a ``loop_factory``) is a ferroloop
loop. Exit status and uncaught exceptions are reported as ``python script.py`` reports them.
"""

from __future__ import annotations

import asyncio
import builtins
import importlib.machinery
import importlib.util
import os
import runpy
import sys
import types
import warnings
import zipfile
from types import TracebackType

USAGE = """\
usage: python -m ferroloop script.py [args ...]
       python -m ferroloop -m module [args ...]

Run an asyncio program with ferroloop as its event loop: every loop created through
asyncio.run(), asyncio.new_event_loop() or asyncio.Runner() is a ferroloop loop.

  script.py    a Python file (or a directory or zip file with a __main__.py) run as __main__
  -m module    a module run as __main__, as python -m does
  args         passed to the program in sys.argv[1:]
"""

# runpy's own frames, and this module's, are left out of the tracebacks the program raises.
_RUNNER_FILES = frozenset({os.path.normcase(os.path.abspath(__file__)), os.path.normcase(runpy.__file__ or "")})


def _usage(message: str | None = None) -> int:
    text = USAGE if message is None else f"{USAGE}\nerror: {message}\n"
    sys.stderr.write(text)
    return 2


def _install_policy() -> None:
    from . import EventLoopPolicy

    with warnings.catch_warnings():
        # Event loop policies are deprecated from 3.14 on; they still decide what asyncio.run uses.
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(EventLoopPolicy())


def _program_traceback(tb: TracebackType | None) -> TracebackType | None:
    """Drop the leading frames that belong to this runner (this module and runpy)."""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.startswith("<frozen runpy"):
            tb = tb.tb_next
            continue
        if os.path.normcase(os.path.abspath(code.co_filename)) not in _RUNNER_FILES:
            break
        tb = tb.tb_next
    return tb


def _run_script(path: str, args: list[str]) -> None:
    try:
        with open(path, "rb") as file:
            source = file.read()
    except IsADirectoryError:
        source = None  # a directory with a __main__.py
    except OSError as exc:
        program = sys.orig_argv[0] if sys.orig_argv else sys.executable
        sys.stderr.write(f"{program}: can't open file {os.path.abspath(path)!r}: [Errno {exc.errno}] {exc.strerror}\n")
        raise SystemExit(2) from None
    sys.argv[:] = [path, *args]
    if source is None or zipfile.is_zipfile(path) or source.startswith(importlib.util.MAGIC_NUMBER):
        # Directories, zip files and compiled files: runpy knows how to find their code.
        sys.path[0] = path if os.path.isdir(path) or zipfile.is_zipfile(path) else _script_dir(path)
        runpy.run_path(path, run_name="__main__")
        return
    # A source file runs as `python script.py` runs it: in a fresh __main__ module that stays in
    # sys.modules, with an absolute __file__, sys.argv[0] as given and the script's directory
    # (not the cwd) first on sys.path.
    filename = os.path.join(os.getcwd(), path)
    sys.path[0] = _script_dir(path)
    code = compile(source, filename, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__dict__.update(
        __file__=filename,
        __cached__=None,
        __builtins__=builtins,
        __loader__=importlib.machinery.SourceFileLoader("__main__", filename),
    )
    sys.modules["__main__"] = module
    exec(code, module.__dict__)


def _script_dir(path: str) -> str:
    return os.path.dirname(os.path.realpath(path))


def _run_module(module: str, args: list[str]) -> None:
    # As for `python -m module`: sys.argv[0] becomes the module's file, sys.path[0] stays the cwd.
    sys.argv[:] = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def main(argv: list[str] | None = None) -> int:
    """Run the program named on the command line; return the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in {"-h", "--help"}:
        return _usage()
    first = args[0]
    module: str | None = None
    if first == "-m":
        if len(args) < 2:
            return _usage("argument -m: expected a module name")
        module, args = args[1], args[2:]
    elif first.startswith("-m"):
        module, args = first[2:], args[1:]
    elif first.startswith("-") and first != "-":
        return _usage(f"unknown option {first}")
    else:
        args = args[1:]

    _install_policy()
    try:
        if module is None:
            _run_script(first, args)
        else:
            _run_module(module, args)
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        # Re-raised so that the interpreter exits as for an unhandled Ctrl+C (killed by SIGINT).
        raise exc.with_traceback(_program_traceback(exc.__traceback__))  # noqa: B904 - the same exception
    except BaseException as exc:
        tb = _program_traceback(exc.__traceback__)
        if module is not None and tb is None and isinstance(exc, ImportError):
            # The module could not be found: reported as `python -m` does.
            sys.stderr.write(f"{sys.executable}: {exc}\n")
            return 1
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
