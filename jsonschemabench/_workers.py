"""Isolated workers: a peer that segfaults, hangs or eats memory on one schema costs that schema, not the run.

:class:`Worker` is the main process's handle on a spawned process (its own process group, so a kill takes its
children too). It sends a task and waits for ``("phase", ...)`` messages and the ``("result", dict)``, with a
deadline per phase; a worker that dies or overruns is killed and restarted and the task is reported as
``crash`` or ``timeout`` in the phase it reached.

:func:`fork_host_main` is a worker body for compile-only work (``compile-coverage``, ``maskbench``): it loads the
tokenizer and the engines once, then runs every task in a forked child with ``RLIMIT_AS`` (memory) and
``RLIMIT_CPU`` limits and a wall-clock kill, so each schema starts from the same clean state and its peak memory
is measured alone. :func:`run_forked` is that fork (also used by :mod:`jsonschemabench.random_walk`): messages
stream back over a pipe, so those sent before a child dies or is killed are kept.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import resource
import select
import signal
import struct
import tempfile
import time
import traceback
from typing import Any, Callable

__all__ = ["Worker", "WorkerStartError", "fork_host_main", "rss_mb", "run_forked", "set_memory_limit"]

_GRACE_S = 10.0  # beyond a phase's own limit before the main process kills the worker
_OOM_ERROR = "MemoryError (memory limit reached)"
_MSG, _DONE, _CRASH = "msg", "done", "crash"  # frame tags: a message, child_fn returned, an exception's traceback
_EXIT_OOM, _EXIT_CRASH = 3, 4


class WorkerStartError(Exception):
    """The worker could not start (its setup failed or it died before being ready)."""


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> tuple[float | None, float | None]:
    """``(current RSS, peak RSS)`` of this process in MiB (``None`` where /proc is unavailable)."""
    cur, peak = _status_kb("VmRSS"), _status_kb("VmHWM")
    return (cur / 1024 if cur else None), (peak / 1024 if peak else None)


def set_memory_limit(limit_mb: float | None) -> None:
    """Let the address space grow by at most ``limit_mb`` MiB from now (``RLIMIT_AS``); ``None``: no limit.

    Relative to the current size, because a process with a tokenizer (and torch) already maps gigabytes of
    address space that it never touches.
    """
    if not limit_mb:
        return
    size_kb = _status_kb("VmSize") or 0
    limit = int(size_kb * 1024 + limit_mb * (1 << 20))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


# ------------------------------------------------------------------------------------------- main side

class Worker:
    """A spawned worker process running ``target(conn, *args)``.

    ``target`` must first send ``("ready", info)`` (or ``("fatal", message)``), then answer each task with any
    number of ``("phase", name, data)`` messages and one ``("result", dict)``.
    """

    def __init__(self, target: Callable, args: tuple, *, start_timeout_s: float = 900.0):
        self.target, self.args = target, args
        self.start_timeout_s = start_timeout_s
        self.proc = None
        self.conn = None
        self.info: dict = {}
        self.restarts = 0

    def start(self) -> dict:
        """Start the process and wait until it is ready; returns its ``info``.

        Raises:
            WorkerStartError: it reported a fatal setup error, died, or did not get ready in time.
        """
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_bootstrap, args=(self.target, child) + tuple(self.args), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.conn.poll(min(left, 1.0)):
                if not self.proc.is_alive() or left <= 0:
                    code = self.proc.exitcode
                    self.kill()
                    raise WorkerStartError("the worker did not start" + (
                        f" (exit code {code})" if code is not None else f" within {self.start_timeout_s:.0f} s"))
                continue
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                self.kill()
                raise WorkerStartError(f"the worker died while starting (exit code {self.proc.exitcode})") from None
            if msg[0] == "ready":
                self.info = msg[1]
                return self.info
            if msg[0] == "fatal":
                self.kill()
                raise WorkerStartError(msg[1])

    def call(self, task: dict, limits: dict[str, float]) -> tuple[dict | None, str | None, str | None, dict]:
        """Run one task.

        Parameters: ``limits`` maps a phase name (``"start"`` for the time before the first phase message) to
        its wall-clock limit in seconds (a grace period is added).

        Returns ``(result, failure, phase, phase_data)``: ``result`` is the worker's dict, or None with
        ``failure`` ``"timeout"`` or ``"crash: ..."`` and the last ``phase`` reached (and its data).
        """
        if self.proc is None or not self.proc.is_alive():
            self.restart()
        phase, data = "start", {}
        try:
            self.conn.send(("task", task))
        except (OSError, BrokenPipeError):
            return None, self._dead("crash"), phase, data
        deadline = time.monotonic() + limits.get(phase, 60.0) + _GRACE_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return None, "timeout", phase, data
            try:
                ready = self.conn.poll(min(left, 1.0))
            except (OSError, EOFError):
                return None, self._dead("crash"), phase, data
            if not ready:
                if not self.proc.is_alive():
                    return None, self._dead("crash"), phase, data
                continue
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                return None, self._dead("crash"), phase, data
            if msg[0] == "phase":
                phase, data = msg[1], msg[2]
                deadline = time.monotonic() + limits.get(phase, 60.0) + _GRACE_S
            elif msg[0] == "result":
                return msg[1], None, phase, data

    def _dead(self, what: str) -> str:
        if self.proc is not None:
            self.proc.join(timeout=5)
        code = self.proc.exitcode if self.proc is not None else None
        self.kill()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"{what}: worker killed by {name}"
        return f"{what}: worker exited with code {code}"

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def kill(self) -> None:
        """Kill the worker and everything it started (its process group)."""
        if self.proc is not None and self.proc.pid is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # killed before it made its own group: the pid alone below
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(timeout=10)
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None

    def close(self) -> None:
        """Ask the worker to stop, then make sure it has."""
        if self.conn is not None:
            try:
                self.conn.send(("stop",))
            except (OSError, BrokenPipeError):
                pass
            if self.proc is not None:
                self.proc.join(timeout=5)
        self.kill()


def _bootstrap(target: Callable, conn, *args) -> None:
    os.setpgrp()  # its own group: killing the group also kills forked children
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    try:
        target(conn, *args)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    except Exception as e:  # noqa: BLE001 - report setup failures to the main process
        try:
            conn.send(("fatal", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}"))
        except (OSError, BrokenPipeError):
            pass


# ------------------------------------------------------------------------------------------- fork host

def fork_host_main(conn, tokenizer_spec: str, engines: list[str], options: dict) -> None:
    """Worker body: load tokenizer and engines, then run each ``("task", dict)`` in a forked child.

    A task names ``kind`` (a function in :mod:`jsonschemabench._tasks`), ``engine``, and its own fields; the
    host adds ``timeout_s`` and ``memory_mb`` enforcement and reports ``status`` ``timeout`` / ``crash`` /
    ``oom`` itself when the child cannot.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # forked children must not inherit a thread pool
    from . import _engines, _tasks

    bundle = _engines.load_tokenizer_bundle(tokenizer_spec)
    ready, missing = {}, {}
    for name in engines:
        try:
            cls = _engines.engine_class(name)
            eng = cls(bundle, options.get(cls.name, {}))
            eng.warmup()
            ready[name] = eng
        except _engines.EngineMissing as e:
            missing[name] = str(e)
        except Exception as e:  # noqa: BLE001 - an engine that cannot even start is reported, not fatal
            missing[name] = f"{type(e).__name__}: {e}"
    versions = {n: type(e).version() for n, e in ready.items()}
    # What is loaded now (tokenizer, torch, engines) lives for the whole run: freeze it, as inference servers
    # do after start-up, so a child's full collections scan only what its schema allocated. Without this a
    # single 100-400 ms collection of the tokenizer's heap lands inside whichever mask triggers it.
    gc.collect()
    gc.freeze()
    conn.send(("ready", {"engines": sorted(ready), "missing": missing, "versions": versions,
                         "vocab_size": bundle.size, "tokenizer": bundle.name}))
    while True:
        msg = conn.recv()
        if msg[0] != "task":
            break
        task = msg[1]
        conn.send(("phase", "run", {}))
        conn.send(("result", _run_task(task, ready, bundle, _tasks)))


def _run_task(task: dict, engines: dict, bundle: Any, tasks_mod: Any) -> dict:
    # native engines print warnings on fd 2 (e.g. XGrammar approximating a keyword): keep them as data
    with tempfile.TemporaryFile() as err_file:
        def child(emit: Callable[[Any], None]) -> None:
            try:  # measure this schema's peak alone (resets VmHWM to the current RSS)
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass
            rss0, _ = rss_mb()
            try:
                out = getattr(tasks_mod, task["kind"])(task, engines[task["engine"]], bundle)
            except MemoryError:
                out = {"status": "oom", "error": _OOM_ERROR}
            err_file.seek(0)
            warnings = err_file.read(4000).decode("utf-8", "replace").strip()
            if warnings:
                out["stderr"] = warnings
            _, peak = rss_mb()
            out["rss_peak_mb"] = round(peak, 1) if peak else None
            out["rss_growth_mb"] = round(peak - rss0, 1) if peak and rss0 else None
            emit(out)

        messages, status, error = run_forked(child, float(task.get("timeout_s", 60.0)), task.get("memory_mb"),
                                             stderr=err_file.fileno())
    return messages[0] if status is None else {"status": status, "error": error}


# ------------------------------------------------------------------------------------------- forked child

def run_forked(child_fn: Callable[[Callable[[Any], None]], None], timeout_s: float, memory_mb: float | None, *,
               stderr: int | None = None) -> tuple[list[Any], str | None, str | None]:
    """Run ``child_fn(emit)`` in a forked child with wall-clock, CPU and memory limits; its messages stream back.

    Parameters: ``child_fn`` runs in the child and calls ``emit(message)`` for each picklable message;
    ``timeout_s`` the wall-clock limit (the CPU limit is 2 s above it); ``memory_mb`` the address-space growth
    allowed (:func:`set_memory_limit`; None: no limit); ``stderr`` the descriptor the child's fd 2 goes to
    (None: /dev/null, so native warnings cannot tear the parent's output).

    Returns ``(messages, status, error)``: the messages received, also those sent before the child died or
    was killed; ``status`` None when ``child_fn`` returned, else ``"timeout"``, ``"oom"`` or ``"crash"`` with
    ``error`` saying why.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child_main(child_fn, r, w, timeout_s, memory_mb, stderr)  # never returns
    os.close(w)
    frames: list[tuple[str, Any]] = []
    buf = bytearray()
    deadline = time.monotonic() + timeout_s
    timed_out = True  # until the pipe closes: an exception here must not leave the child running either
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not select.select([r], [], [], left)[0]:
                continue
            chunk = os.read(r, 1 << 20)
            if not chunk:
                timed_out = False
                break
            buf += chunk
            while len(buf) >= 8:
                n = struct.unpack_from("<Q", buf)[0]
                if len(buf) < 8 + n:
                    break
                frames.append(pickle.loads(bytes(buf[8:8 + n])))
                del buf[:8 + n]
    finally:
        os.close(r)
        if timed_out:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
    messages = [data for tag, data in frames if tag == _MSG]
    last = frames[-1] if frames else (None, None)
    if timed_out:
        return messages, "timeout", f"no result within {timeout_s:g} s (killed)"
    if last[0] == _DONE:
        return messages, None, None
    if last[0] == _CRASH:
        return messages, "crash", last[1]
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return messages, "timeout", f"CPU time limit ({timeout_s:g} s) reached"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = " (likely out of memory)" if sig in (signal.SIGABRT, signal.SIGKILL) else ""
        return messages, "crash", f"killed by {name}{hint}"
    code = os.WEXITSTATUS(status)
    if code == _EXIT_OOM:
        return messages, "oom", _OOM_ERROR
    return messages, "crash", f"exited with code {code}"


def _child_main(child_fn: Callable, r: int, w: int, timeout_s: float, memory_mb: float | None,
                stderr: int | None) -> None:
    code = 0
    try:
        os.close(r)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        cpu = int(timeout_s) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        os.dup2(os.open(os.devnull, os.O_WRONLY) if stderr is None else stderr, 2)
        set_memory_limit(memory_mb)
        child_fn(lambda message: _send(w, _MSG, message))
        _send(w, _DONE, None)
    except MemoryError:
        code = _EXIT_OOM  # nothing more can be sent reliably: the exit code says it
    except BaseException:  # noqa: BLE001 - anything else: report what we can
        code = _EXIT_CRASH
        try:
            _send(w, _CRASH, traceback.format_exc(limit=4)[-2000:])
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)


def _send(fd: int, tag: str, data: Any) -> None:
    """One frame: ``<Q length>`` then the pickled ``(tag, data)``."""
    payload = pickle.dumps((tag, data), protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(struct.pack("<Q", len(payload)) + payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]
