"""``python -m ferroloop``: a program runs on ferroloop exactly as ``python`` would run it.

The oracle is the same program run by ``python script.py`` / ``python -m module``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TIMEOUT = 30


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


def outcome(proc: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return proc.returncode, proc.stdout, proc.stderr


def test_loops_are_ferroloop_loops(tmp_path: Path) -> None:
    script = write(
        tmp_path / "loops.py",
        """
        import asyncio, json

        async def kind():
            return type(asyncio.get_running_loop()).__module__

        result = {"run": asyncio.run(kind())}
        with asyncio.Runner() as runner:
            result["runner"] = runner.run(kind())
        loop = asyncio.new_event_loop()
        result["new_event_loop"] = loop.run_until_complete(kind())
        loop.close()
        result["policy"] = type(asyncio.get_event_loop_policy()).__module__
        print(json.dumps(result))
        """,
    )
    proc = run(["-m", "ferroloop", str(script)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"run", "runner", "new_event_loop", "policy"}
    for where, module in result.items():
        assert module.split(".")[0] == "ferroloop", where
    # The same script on plain python uses asyncio's loop.
    plain = json.loads(run([str(script)], tmp_path).stdout)
    assert plain["run"].split(".")[0] == "asyncio"


PROGRAM_STATE = """
import json, sys
print(json.dumps({
    "argv": sys.argv,
    "name": __name__,
    "file": globals().get("__file__"),
    "spec": __spec__ and (__spec__.name, __spec__.origin),
    "package": __package__,
    "path0": sys.path[0],
    "main_is_this": sys.modules["__main__"].__dict__ is globals(),
}))
"""


@pytest.mark.parametrize("args", [[], ["a", "--flag", "-m", "x", ""], ["-h"]])
def test_script_sees_what_python_gives_it(tmp_path: Path, args: list[str]) -> None:
    write(tmp_path / "state.py", PROGRAM_STATE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for script in ["state.py", str(tmp_path / "state.py")]:
        expected = run([script, *args], tmp_path)
        assert expected.returncode == 0, expected.stderr
        assert outcome(run(["-m", "ferroloop", script, *args], tmp_path)) == outcome(expected)
    # Run from another directory: the script's directory (not the cwd) is sys.path[0].
    relative = "../state.py"
    expected = run([relative, *args], elsewhere)
    assert json.loads(expected.stdout)["path0"] == str(tmp_path.resolve())
    assert outcome(run(["-m", "ferroloop", relative, *args], elsewhere)) == outcome(expected)


def test_script_imports_its_siblings(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    write(tmp_path / "pkg" / "helper.py", "VALUE = 'sibling'\n")
    write(tmp_path / "pkg" / "main.py", "import helper\nprint(helper.VALUE)\n")
    proc = run(["-m", "ferroloop", "pkg/main.py"], tmp_path)
    assert outcome(proc) == (0, "sibling\n", "")


def test_module_sees_what_python_gives_it(tmp_path: Path) -> None:
    write(tmp_path / "statemod.py", PROGRAM_STATE)
    for args in [[], ["x", "--y"]]:
        expected = run(["-m", "statemod", *args], tmp_path)
        assert expected.returncode == 0, expected.stderr
        assert outcome(run(["-m", "ferroloop", "-m", "statemod", *args], tmp_path)) == outcome(expected)
        assert outcome(run(["-m", "ferroloop", "-mstatemod", *args], tmp_path)) == outcome(expected)


def test_module_runs_on_ferroloop(tmp_path: Path) -> None:
    write(
        tmp_path / "loopmod.py",
        """
        import asyncio

        async def main():
            print(type(asyncio.get_running_loop()).__module__)

        if __name__ == "__main__":
            asyncio.run(main())
        """,
    )
    proc = run(["-m", "ferroloop", "-m", "loopmod"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split(".")[0] == "ferroloop"


ENDINGS = {
    "falls off the end": "print('done')",
    "exit 0": "import sys; sys.exit(0)",
    "exit None": "import sys; sys.exit()",
    "exit 3": "import sys; print('before'); sys.exit(3)",
    "exit message": "import sys; sys.exit('bad things happened')",
    "raise": "def f():\n    raise ValueError('boom')\nf()",
    "raise chained": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    raise KeyError('k') from e",
    "raise in asyncio.run": (
        "import asyncio\nasync def main():\n    raise RuntimeError('in a task')\nasyncio.run(main())"
    ),
    "exit in asyncio.run": "import asyncio, sys\nasync def main():\n    sys.exit(5)\nasyncio.run(main())",
    "syntax error": "def broken(:\n    pass",
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_exit_status_and_errors_match_python(tmp_path: Path, ending: str) -> None:
    script = write(tmp_path / "ending.py", ENDINGS[ending] + "\n")
    expected = run([str(script)], tmp_path)
    actual = run(["-m", "ferroloop", str(script)], tmp_path)
    if "asyncio.run" not in ending:
        assert outcome(actual) == outcome(expected)
        return
    # A traceback that passes through the event loop shows that loop's frames: compare the rest.
    assert (actual.returncode, actual.stdout) == (expected.returncode, expected.stdout)
    expected_lines, actual_lines = expected.stderr.splitlines(), actual.stderr.splitlines()
    assert actual_lines[:4] == expected_lines[:4]
    assert actual_lines[-1:] == expected_lines[-1:]


@pytest.mark.parametrize("ending", ["exit 3", "exit message", "raise", "raise in asyncio.run"])
def test_module_exit_status_and_errors_match_python(tmp_path: Path, ending: str) -> None:
    write(tmp_path / "endingmod.py", ENDINGS[ending] + "\n")
    expected = run(["-m", "endingmod"], tmp_path)
    actual = run(["-m", "ferroloop", "-m", "endingmod"], tmp_path)
    assert (actual.returncode, actual.stdout) == (expected.returncode, expected.stdout)
    # python -m shows runpy's frames at the top of a traceback; the error itself is the same.
    assert actual.stderr.splitlines()[-1:] == expected.stderr.splitlines()[-1:]


def test_missing_script(tmp_path: Path) -> None:
    expected = run(["no_such_script.py"], tmp_path)
    assert expected.returncode == 2
    assert outcome(run(["-m", "ferroloop", "no_such_script.py"], tmp_path)) == outcome(expected)


def test_missing_module(tmp_path: Path) -> None:
    expected = run(["-m", "no_such_module_here"], tmp_path)
    assert expected.returncode == 1
    assert outcome(run(["-m", "ferroloop", "-m", "no_such_module_here"], tmp_path)) == outcome(expected)


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["-m"], ["--bogus"]])
def test_usage(tmp_path: Path, args: list[str]) -> None:
    proc = run(["-m", "ferroloop", *args], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("usage: python -m ferroloop script.py [args ...]\n")


def test_ctrl_c_matches_python(tmp_path: Path) -> None:
    script = write(
        tmp_path / "sleeper.py",
        """
        import asyncio

        async def main():
            print("ready", flush=True)
            await asyncio.sleep(30)

        asyncio.run(main())
        """,
    )

    def interrupt(args: list[str]) -> tuple[int, str, str]:
        with subprocess.Popen(
            [sys.executable, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            try:
                assert proc.stdout is not None
                first = proc.stdout.readline()
                if first == "ready\n":
                    proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
        assert first == "ready\n", err
        return proc.returncode, out, err.strip().splitlines()[-1]

    expected = interrupt([str(script)])
    assert expected == (-signal.SIGINT, "", "KeyboardInterrupt")
    assert interrupt(["-m", "ferroloop", str(script)]) == expected
