"""add_signal_handler / remove_signal_handler, on ferroloop and asyncio.

These tests change the process's signal dispositions; every test restores them.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

SIGNALS = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGHUP)


@pytest.fixture(autouse=True)
def restore_signals() -> Iterator[None]:
    """Put back the dispositions and wakeup fd the test found."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(-1)


def run_briefly(loop: Any, seconds: float = 0.05) -> None:
    loop.run_until_complete(asyncio.sleep(seconds))


def wait_for(loop: Any, fut: asyncio.Future[Any], timeout: float = 5.0) -> Any:
    return loop.run_until_complete(asyncio.wait_for(fut, timeout))


def test_handler_is_called_with_its_args(loop: Any) -> None:
    fut = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, lambda *args: fut.set_result(args), "a", 2)
    os.kill(os.getpid(), signal.SIGUSR1)
    assert wait_for(loop, fut) == ("a", 2)


def test_registration_is_synchronous_while_running(loop: Any) -> None:
    async def main() -> tuple[Any, ...]:
        running = asyncio.get_running_loop()
        fut = running.create_future()
        running.add_signal_handler(signal.SIGUSR2, fut.set_result, "got it")
        os.kill(os.getpid(), signal.SIGUSR2)
        return await asyncio.wait_for(fut, 5.0)

    assert loop.run_until_complete(main()) == "got it"


def test_signal_before_the_loop_runs_is_delivered(loop: Any) -> None:
    calls: list[int] = []
    loop.add_signal_handler(signal.SIGUSR1, calls.append, 1)
    os.kill(os.getpid(), signal.SIGUSR1)
    assert calls == []
    run_briefly(loop)
    assert calls == [1]


def test_handler_runs_in_the_context_of_registration(loop: Any) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    fut = loop.create_future()
    token = var.set("at registration")
    try:
        loop.add_signal_handler(signal.SIGUSR1, lambda: fut.set_result(var.get()))
    finally:
        var.reset(token)
    os.kill(os.getpid(), signal.SIGUSR1)
    assert wait_for(loop, fut) == "at registration"


def test_python_handler_is_installed_and_removed(loop: Any) -> None:
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    handler = signal.getsignal(signal.SIGUSR1)
    assert callable(handler)
    assert handler not in (signal.SIG_DFL, signal.SIG_IGN)
    assert loop.remove_signal_handler(signal.SIGUSR1) is True
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
    assert loop.remove_signal_handler(signal.SIGUSR1) is False
    assert loop.remove_signal_handler(signal.SIGUSR2) is False


def test_remove_sigint_restores_default_int_handler(loop: Any) -> None:
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    assert loop.remove_signal_handler(signal.SIGINT) is True
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_removed_handler_is_not_called(loop: Any) -> None:
    calls: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, calls.append, "usr1")
    loop.add_signal_handler(signal.SIGUSR2, calls.append, "usr2")
    loop.remove_signal_handler(signal.SIGUSR1)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    os.kill(os.getpid(), signal.SIGUSR1)
    os.kill(os.getpid(), signal.SIGUSR2)
    run_briefly(loop)
    assert calls == ["usr2"]


def test_new_handler_replaces_the_old_one(loop: Any) -> None:
    calls: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, calls.append, "old")
    loop.add_signal_handler(signal.SIGUSR1, calls.append, "new")
    os.kill(os.getpid(), signal.SIGUSR1)
    run_briefly(loop)
    assert calls == ["new"]


def test_wakeup_fd_is_released_with_the_last_handler(loop: Any) -> None:
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    loop.add_signal_handler(signal.SIGUSR2, lambda: None)
    loop.remove_signal_handler(signal.SIGUSR1)
    fd = signal.set_wakeup_fd(-1)
    assert fd != -1
    signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
    loop.remove_signal_handler(signal.SIGUSR2)
    assert signal.set_wakeup_fd(-1) == -1


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP])
def test_uncatchable_signals_are_refused(loop: Any, sig: int) -> None:
    with pytest.raises(RuntimeError) as info:
        loop.add_signal_handler(sig, lambda: None)
    assert str(info.value) == f"sig {sig} cannot be caught"
    assert isinstance(info.value.__context__, OSError)
    assert loop.remove_signal_handler(sig) is False
    # Nothing is left registered: the wakeup fd is released.
    assert signal.set_wakeup_fd(-1) == -1


@pytest.mark.parametrize("sig", [0, -1, signal.NSIG, 1000])
def test_invalid_signal_numbers(loop: Any, sig: int) -> None:
    with pytest.raises(ValueError) as info:
        loop.add_signal_handler(sig, lambda: None)
    assert str(info.value) == f"invalid signal number {sig}"
    with pytest.raises(ValueError, match=f"^invalid signal number {sig}$"):
        loop.remove_signal_handler(sig)


@pytest.mark.parametrize("sig", ["SIGUSR1", 10.0, None])
def test_signal_must_be_an_int(loop: Any, sig: Any) -> None:
    with pytest.raises(TypeError) as info:
        loop.add_signal_handler(sig, lambda: None)
    assert str(info.value) == f"sig must be an int, not {sig!r}"
    with pytest.raises(TypeError):
        loop.remove_signal_handler(sig)


def test_signals_enum_is_accepted(loop: Any) -> None:
    fut = loop.create_future()
    loop.add_signal_handler(signal.Signals.SIGUSR1, fut.set_result, "enum")
    os.kill(os.getpid(), signal.SIGUSR1)
    assert wait_for(loop, fut) == "enum"
    assert loop.remove_signal_handler(signal.Signals.SIGUSR1) is True


def test_coroutines_are_refused(loop: Any) -> None:
    async def handler() -> None:
        pass

    with pytest.raises(TypeError) as info:
        loop.add_signal_handler(signal.SIGUSR1, handler)
    assert str(info.value) == "coroutines cannot be used with add_signal_handler()"
    coro = handler()
    try:
        with pytest.raises(TypeError, match=r"^coroutines cannot be used with add_signal_handler\(\)$"):
            loop.add_signal_handler(signal.SIGUSR1, coro)
    finally:
        coro.close()
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_refused_signal_leaves_other_handlers_working(loop: Any) -> None:
    calls: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, calls.append, "usr1")
    with pytest.raises(RuntimeError):
        loop.add_signal_handler(signal.SIGKILL, calls.append, "kill")
    with pytest.raises(ValueError):
        loop.add_signal_handler(0, calls.append, "zero")
    loop.add_signal_handler(signal.SIGUSR2, calls.append, "usr2")
    os.kill(os.getpid(), signal.SIGUSR1)
    run_briefly(loop)
    os.kill(os.getpid(), signal.SIGUSR2)
    run_briefly(loop)
    assert calls == ["usr1", "usr2"]


def test_off_the_main_thread_is_refused(loop: Any) -> None:
    errors: list[BaseException] = []

    def register() -> None:
        try:
            loop.add_signal_handler(signal.SIGUSR1, lambda: None)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=register)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert type(errors[0]) is RuntimeError
    assert "main thread" in str(errors[0])
    assert isinstance(errors[0].__context__, ValueError)
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_closed_loop_refuses_handlers(loop: Any) -> None:
    loop.close()
    with pytest.raises(RuntimeError, match=r"^Event loop is closed$"):
        loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    assert loop.remove_signal_handler(signal.SIGUSR1) is False


def test_close_removes_every_handler(loop: Any) -> None:
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    loop.add_signal_handler(signal.SIGHUP, lambda: None)
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    loop.close()
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.set_wakeup_fd(-1) == -1
    assert loop._signal_handlers == {}


def test_cancelled_handler_is_removed_when_its_signal_arrives(loop: Any) -> None:
    calls: list[int] = []
    loop.add_signal_handler(signal.SIGUSR1, calls.append, 1)
    loop._signal_handlers[signal.SIGUSR1].cancel()
    os.kill(os.getpid(), signal.SIGUSR1)
    run_briefly(loop)
    assert calls == []
    assert signal.SIGUSR1 not in loop._signal_handlers
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_handler_error_goes_to_the_exception_handler(loop: Any, loop_errors: Any) -> None:
    def boom() -> None:
        raise ZeroDivisionError("in a signal handler")

    loop.add_signal_handler(signal.SIGUSR1, boom)
    os.kill(os.getpid(), signal.SIGUSR1)
    run_briefly(loop)
    [context] = loop_errors.pop_all()
    assert context["message"].startswith("Exception in callback ")
    assert "boom" in context["message"]
    assert isinstance(context["exception"], ZeroDivisionError)
    # The loop keeps handling the signal.
    fut = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, fut.set_result, "still working")
    os.kill(os.getpid(), signal.SIGUSR1)
    assert wait_for(loop, fut) == "still working"


def test_handler_stops_a_running_loop(loop: Any) -> None:
    loop.add_signal_handler(signal.SIGHUP, loop.stop)
    loop.call_soon(os.kill, os.getpid(), signal.SIGHUP)
    loop.run_forever()
    assert not loop.is_running()


# -- Ctrl+C ----------------------------------------------------------------------------------

CTRL_C_SCRIPT = """
import asyncio, os, signal, sys

name, mode = sys.argv[1], sys.argv[2]
if name == "asyncio":
    factory = asyncio.SelectorEventLoop
else:
    import ferroloop
    factory = ferroloop.new_event_loop

async def main():
    loop = asyncio.get_running_loop()
    if mode == "handlers":
        loop.add_signal_handler(signal.SIGUSR1, print, "usr1")
    elif mode == "loop-sigint":
        loop.add_signal_handler(signal.SIGINT, lambda: print("sigint handled by the loop", flush=True))
    print("ready", flush=True)
    if mode == "loop-sigint":
        await asyncio.sleep(0.5)
        print("main done", flush=True)
        return
    try:
        await asyncio.sleep(30)
    finally:
        print("main cancelled", flush=True)

if mode == "run" and name != "asyncio":
    ferroloop.run(main())
else:
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())
print("after run", flush=True)
"""


def ctrl_c(loop_name: str, mode: str) -> tuple[int, list[str], str]:
    """Run the script, send SIGINT once it is ready; return (exit status, stdout lines, last stderr line)."""
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CTRL_C_SCRIPT), loop_name, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            if first == "ready\n":
                proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert first == "ready\n", err
    lines = err.strip().splitlines()
    return proc.returncode, out.splitlines(), lines[-1] if lines else ""


@pytest.mark.parametrize("mode", ["runner", "handlers", "loop-sigint", "run"])
def test_ctrl_c_under_a_runner(loop_name: str, mode: str) -> None:
    expected = ctrl_c("asyncio", mode)
    assert ctrl_c(loop_name, mode) == expected
    if mode == "loop-sigint":
        assert expected == (0, ["sigint handled by the loop", "main done", "after run"], "")
    else:
        assert expected == (-signal.SIGINT, ["main cancelled"], "KeyboardInterrupt")
