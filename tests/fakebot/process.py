"""Bot processes for crash tests: each bot run is a real, separate OS process, started in milliseconds.

Importing a bot takes seconds (aiogram's types alone take over a second), and a crash test starts the
bot at least twice. A ``ForkServer`` is one Python process that imports the given modules once and
then forks a child for every start. Each child is a fresh process — its own pid, event loop, database
connections and sockets — that runs the script as ``__main__`` with the given argv, environment and
working directory, exactly as ``python script args...`` would, with its stdout and stderr in a log
file. SIGKILL (``BotProcess.kill``, or a kill hook of the fake) ends only that child.

    forks = ForkServer(["bot.app"], root=ROOT)
    forks.start()
    bot = forks.spawn(["main.py", "run"], env={...}, cwd=tmp_path, log=tmp_path / "bot.log")
    ...
    await bot.kill()
    forks.close()

Children die with the fork server (PR_SET_PDEATHSIG), and the fork server dies with the process that
started it (and when its stdin closes), so no bot outlives the test run, also when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_FORK_SERVER = r"""
import ctypes, importlib, json, os, runpy, signal, sys, traceback

def die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass

die_with_parent()
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they exit
sys.stdout.write("ready\n")
sys.stdout.flush()
children = []
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            die_with_parent()
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            sys.argv = list(request["argv"])
            script = os.path.abspath(os.path.join(request["root"], sys.argv[0]))
            sys.path[0] = os.path.dirname(script)
            try:
                runpy.run_path(script, run_name="__main__")
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                traceback.print_exc()
            print(f"[process exited with code {code}]", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    children.append(pid)
    sys.stdout.write(f"{pid}\n")
    sys.stdout.flush()
for pid in children:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
"""


@dataclass(eq=False)
class BotProcess:
    """A running (or ended) child of a ForkServer."""

    pid: int
    log_path: Path
    argv: list[str]

    @property
    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return not _is_zombie(self.pid)

    async def wait_dead(self, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while self.alive:
            if time.monotonic() > deadline:
                raise AssertionError(f"process {self.pid} ({' '.join(self.argv)}) is still running")
            await asyncio.sleep(0.005)

    async def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        await self.wait_dead()

    async def terminate(self, grace: float = 5.0) -> None:
        """SIGTERM (a clean stop), then SIGKILL if it hasn't ended within ``grace`` seconds."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(AssertionError):
                await self.wait_dead(grace)
        await self.kill()

    def log(self, tail: int = 4000) -> str:
        """The end of what the process wrote to stdout/stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text[-tail:]


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


class ForkServer:
    """Starts processes by forking a Python process that already imported ``preload``.

    Synchronous (a spawn is one line written and one read, a few milliseconds), so one fork server
    can serve tests that each run in their own event loop."""

    def __init__(self, preload: list[str], *, root: Path, python: str = sys.executable) -> None:
        self.preload = preload
        self.root = root
        self.python = python
        self._proc: subprocess.Popen[str] | None = None
        self.children: list[BotProcess] = []

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.root), env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [self.python, "-c", _FORK_SERVER, json.dumps(self.preload)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=self.root,
            env=env,
            text=True,
        )
        line = self._read_line()
        if line != "ready":
            raise RuntimeError(f"the fork server did not start: {line!r}")

    def spawn(self, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> BotProcess:
        """Start ``argv`` (a script path relative to ``root``, then its arguments) as a new process."""
        assert self._proc is not None and self._proc.stdin is not None, "ForkServer.start() first"
        request = {"argv": argv, "env": env, "cwd": str(cwd), "log": str(log), "root": str(self.root)}
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        child = BotProcess(int(self._read_line()), log, argv)
        self.children.append(child)
        return child

    def close(self) -> None:
        for child in self.children:
            if child.alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _read_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server exited (code {self._proc.wait()})")
        return line.strip()


class ColdStarter:
    """The same interface as ForkServer, but every start is a plain ``python script args...``
    (seconds each): to check that nothing depends on the fork server's preloading."""

    def __init__(self, *, root: Path, python: str = sys.executable) -> None:
        self.root = root
        self.python = python
        self._procs: list[subprocess.Popen[bytes]] = []
        self.children: list[BotProcess] = []

    def start(self) -> None:
        pass

    def spawn(self, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> BotProcess:
        script = os.path.abspath(os.path.join(self.root, argv[0]))
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [self.python, script, *argv[1:]], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )
        self._procs.append(proc)
        child = BotProcess(proc.pid, log, argv)
        self.children.append(child)
        return child

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
