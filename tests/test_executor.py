"""run_in_executor, the default executor and shutdown_default_executor, on ferroloop and asyncio."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest


class NotAThreadPool(concurrent.futures.Executor):
    """An executor that is not a ThreadPoolExecutor (refused as the default executor)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future


def current_thread_name() -> str:
    return threading.current_thread().name


def test_result_is_returned(loop: Any) -> None:
    fut = loop.run_in_executor(None, pow, 2, 10)
    assert isinstance(fut, asyncio.Future)
    assert loop.run_until_complete(fut) == 1024


def test_exception_is_raised(loop: Any) -> None:
    def fail() -> None:
        raise ZeroDivisionError("in a worker")

    with pytest.raises(ZeroDivisionError, match="in a worker"):
        loop.run_until_complete(loop.run_in_executor(None, fail))


def test_awaited_from_a_coroutine(loop: Any) -> None:
    async def main() -> list[int]:
        running = asyncio.get_running_loop()
        return list(await asyncio.gather(*(running.run_in_executor(None, abs, -i) for i in range(5))))

    assert loop.run_until_complete(main()) == [0, 1, 2, 3, 4]


def test_default_executor_is_created_once_and_reused(loop: Any) -> None:
    assert loop._default_executor is None
    name = loop.run_until_complete(loop.run_in_executor(None, current_thread_name))
    assert name.startswith("asyncio_")
    executor = loop._default_executor
    assert isinstance(executor, concurrent.futures.ThreadPoolExecutor)
    loop.run_until_complete(loop.run_in_executor(None, current_thread_name))
    assert loop._default_executor is executor


def test_custom_executor(loop: Any) -> None:
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="custom") as executor:
        name = loop.run_until_complete(loop.run_in_executor(executor, current_thread_name))
    assert name.startswith("custom_")
    assert loop._default_executor is None


def test_any_executor_may_be_passed_explicitly(loop: Any) -> None:
    assert loop.run_until_complete(loop.run_in_executor(NotAThreadPool(), divmod, 7, 2)) == (3, 1)


def test_set_default_executor(loop: Any) -> None:
    executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="chosen")
    try:
        loop.set_default_executor(executor)
        assert loop._default_executor is executor
        name = loop.run_until_complete(loop.run_in_executor(None, current_thread_name))
        assert name.startswith("chosen_")
    finally:
        loop.close()
        executor.shutdown(wait=True)


@pytest.mark.parametrize("executor", [NotAThreadPool(), object(), None])
def test_set_default_executor_refuses_other_executors(loop: Any, executor: Any) -> None:
    with pytest.raises(TypeError) as info:
        loop.set_default_executor(executor)
    assert str(info.value) == "executor must be ThreadPoolExecutor instance"
    assert loop._default_executor is None


def test_shutdown_then_default_executor_is_refused(loop: Any) -> None:
    loop.run_until_complete(loop.run_in_executor(None, time.sleep, 0))
    executor = loop._default_executor
    loop.run_until_complete(loop.shutdown_default_executor())
    assert loop._executor_shutdown_called
    assert executor._shutdown
    with pytest.raises(RuntimeError) as info:
        loop.run_in_executor(None, time.sleep, 0)
    assert str(info.value) == "Executor shutdown has been called"
    # Only the default executor is refused.
    with concurrent.futures.ThreadPoolExecutor() as other:
        assert loop.run_until_complete(loop.run_in_executor(other, len, "abc")) == 3


def test_shutdown_without_default_executor_still_refuses_it(loop: Any) -> None:
    loop.run_until_complete(loop.shutdown_default_executor())
    assert loop._default_executor is None
    with pytest.raises(RuntimeError, match=r"^Executor shutdown has been called$"):
        loop.run_in_executor(None, time.sleep, 0)


def test_shutdown_waits_for_running_work(loop: Any) -> None:
    done = threading.Event()

    def work() -> None:
        time.sleep(0.2)
        done.set()

    loop.run_in_executor(None, work)
    loop.run_until_complete(loop.shutdown_default_executor())
    assert done.is_set()


def test_shutdown_signature_matches_asyncio(loop: Any) -> None:
    expected = inspect.signature(asyncio.BaseEventLoop.shutdown_default_executor)
    actual = inspect.signature(type(loop).shutdown_default_executor)
    assert list(actual.parameters) == list(expected.parameters)
    assert [p.default for p in actual.parameters.values()] == [p.default for p in expected.parameters.values()]
    assert inspect.iscoroutinefunction(type(loop).shutdown_default_executor)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 added the timeout parameter")
def test_shutdown_has_no_timeout_before_312(loop: Any) -> None:
    with pytest.raises(TypeError):
        loop.shutdown_default_executor(1.0)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the timeout parameter is new in 3.12")
def test_shutdown_timeout_with_a_hung_thread(loop: Any) -> None:
    release = threading.Event()
    loop.run_in_executor(None, release.wait, 2.0)
    executor = loop._default_executor
    start = time.monotonic()
    try:
        if sys.version_info >= (3, 13):
            # 3.13 stops waiting after the timeout, warns and shuts the executor down without waiting.
            message = "The executor did not finishing joining its threads within 0.1 seconds."
            with pytest.warns(RuntimeWarning) as record:
                loop.run_until_complete(loop.shutdown_default_executor(0.1))
            assert [str(w.message) for w in record] == [message]
            assert time.monotonic() - start < 1.5
        else:
            # 3.12 waits for the executor; the timeout only bounds the join of the helper thread.
            loop.run_until_complete(loop.shutdown_default_executor(0.1))
            assert time.monotonic() - start >= 1.5
        assert executor._shutdown
    finally:
        release.set()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the timeout parameter is new in 3.12")
def test_shutdown_timeout_not_reached(loop: Any) -> None:
    loop.run_until_complete(loop.run_in_executor(None, time.sleep, 0))
    loop.run_until_complete(loop.shutdown_default_executor(5.0))
    assert loop._default_executor._shutdown


def test_close_shuts_the_default_executor_down_without_waiting(loop: Any) -> None:
    release = threading.Event()
    loop.run_in_executor(None, release.wait, 5.0)
    executor = loop._default_executor
    start = time.monotonic()
    try:
        loop.close()
        assert time.monotonic() - start < 1.0
        assert loop._default_executor is None
        assert loop._executor_shutdown_called
        assert executor._shutdown
    finally:
        release.set()
    executor.shutdown(wait=True)


def test_closed_loop_refuses_run_in_executor(loop: Any) -> None:
    loop.close()
    with pytest.raises(RuntimeError, match=r"^Event loop is closed$"):
        loop.run_in_executor(None, time.sleep, 0)
    with concurrent.futures.ThreadPoolExecutor() as executor, pytest.raises(RuntimeError, match="is closed"):
        loop.run_in_executor(executor, time.sleep, 0)


def test_debug_mode_refuses_coroutines(loop: Any) -> None:
    async def coro_func() -> None:
        pass

    loop.set_debug(True)
    with pytest.raises(TypeError) as info:
        loop.run_in_executor(None, coro_func)
    assert str(info.value) == "coroutines cannot be used with run_in_executor()"
    coro = coro_func()
    try:
        with pytest.raises(TypeError, match=r"^coroutines cannot be used with run_in_executor\(\)$"):
            loop.run_in_executor(None, coro)
    finally:
        coro.close()
    with pytest.raises(TypeError) as info:
        loop.run_in_executor(None, 42)
    assert str(info.value) == "a callable object was expected by run_in_executor(), got 42"
    # Nothing was submitted: no default executor exists.
    assert loop._default_executor is None


def test_runner_shuts_the_default_executor_down(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    async def main() -> str:
        return await asyncio.get_running_loop().run_in_executor(None, current_thread_name)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(main()).startswith("asyncio_")
        loop: Any = runner.get_loop()
        executor = loop._default_executor
    assert executor._shutdown
    assert loop.is_closed()
