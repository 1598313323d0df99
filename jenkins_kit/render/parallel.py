"""Work over many items shared between this process and forked copies of it: rendering jobs, and
writing the files they render.

Why fork: rendering is pure Python (Jinja and the escapers), so threads share one core, and a new
interpreter would pay the imports and the config load again (0.2 s). A fork starts in a few
milliseconds with the templates compiled and the config validated, works its share with the very
same functions, and hands back only small results (the texts of a render, or the statuses of files
it staged). 1,000 jobs: 0.12 s -> 0.07 s on 2 cores; 10,000: 1.2 s -> 0.65 s. Creating files is
system calls, and two processes make them on two cores with no lock between them (1,000 folders of
two files on /dev/shm: 23 ms -> 13 ms).

Only where it is safe and useful: Linux, more than one usable core, and no other thread in this
process (a fork copies only the calling thread, and a lock another thread held would stay held in
the copy). Not macOS, where a process that has loaded system frameworks (urllib's proxy lookup
does) must not fork without exec, which is why Python defaults to spawn there. Otherwise, and
whenever a copy fails in any way (or is not done long after the parent's own share: it is then
killed), the parent does what is left itself, in order, so the result, and the first error raised,
are exactly those of a serial run. A copy's side effects (files staged) must therefore be safe to
redo. `JENKINS_KIT_RENDER_PROCESSES=1` turns it all off.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_MAX_PROCESSES = 4
_GRACE_S = 30.0  # at least this long for a copy to finish after the parent's share


def processes() -> int:
    """How many processes may work: the usable cores, at most _MAX_PROCESSES, or the override."""
    env = os.environ.get("JENKINS_KIT_RENDER_PROCESSES", "").strip()
    if env.isdigit() and int(env) >= 1:
        return min(int(env), 16)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, _MAX_PROCESSES))


def can_fork() -> bool:
    """Whether forked copies are both safe and useful here (see the module doc)."""
    return sys.platform.startswith("linux") and threading.active_count() == 1 and processes() >= 2


Claims = Callable[[], "dict[int, list[Any]]"]


def _child(work: Claims, w: int) -> None:
    """In the fork: claim and do chunks until none is left or one fails, and send back those done."""
    data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(data)
    while view:
        view = view[os.write(w, view):]


def _read_all(r: int, deadline: float) -> bytes | None:
    """Everything the copy sends, or None when it is not done by `deadline` (time.monotonic)."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r], [], [], left)[0]:
            return None
        b = os.read(r, 1 << 20)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


_CHUNKS_PER_PROCESS = 16


class Claimed(Generic[T, R]):
    """`fn` over `items` in forked copies that start claiming chunks at once, while this process goes
    on with other work; `finish` then joins in and returns what was done, or `cancel` stops them.

    Why apart from `map_forked`: a command can start rendering before it knows what it will send
    (`jobs apply`: during the HTTP stack's import and the listing of Jenkins), on a core that would
    otherwise wait. Nothing starts when forking is not possible (see `can_fork`)."""

    def __init__(self, items: Sequence[T], fn: Callable[[T], R], *, processes_: int | None = None) -> None:
        self.items, self.fn = items, fn
        self.kids: list[tuple[int, int]] = []
        self.bounds: list[tuple[int, int]] = []
        self._qr = -1
        n = processes_ if processes_ is not None else processes()
        if n < 2 or len(items) < 2 or not can_fork():
            return
        count = min(len(items), n * _CHUNKS_PER_PROCESS, 255)
        size = -(-len(items) // count)
        self.bounds = [(k, min(k + size, len(items))) for k in range(0, len(items), size)]
        self._qr, qw = os.pipe()
        os.write(qw, bytes(range(len(self.bounds))))  # at most 255 bytes: well inside a pipe's buffer
        os.close(qw)
        try:
            for _ in range(n - 1):
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:  # the copy: never returns, never runs the parent's exit handlers or flushes its buffers
                    code = 1
                    try:
                        os.close(r)
                        _child(self._work, w)
                        code = 0
                    finally:
                        os._exit(code)
                os.close(w)
                self.kids.append((pid, r))
        except OSError:  # no fork (limits, memory): the rest is done by the caller
            pass

    def _work(self) -> dict[int, list[Any]]:
        """Claim and do chunks until none is left or one fails (that one is done again, in order, by
        the caller of `finish`)."""
        done: dict[int, list[Any]] = {}
        while b := os.read(self._qr, 1):
            lo, hi = self.bounds[b[0]]
            try:
                done[b[0]] = [self.fn(x) for x in self.items[lo:hi]]
            except Exception:  # noqa: BLE001 - see above
                break
        return done

    def _end(self, grace: float) -> dict[int, list[Any]]:
        """Take what is left off the queue, and collect what the copies send by the deadline (a copy
        still busy then is stuck, not slow: it is stopped by its PID)."""
        got: dict[int, list[Any]] = {}
        try:
            if self._qr < 0:
                return got
            while os.read(self._qr, 256):  # no copy starts another chunk
                pass
            deadline = time.monotonic() + grace
            for pid, r in self.kids:
                try:
                    data = _read_all(r, deadline)
                finally:
                    os.close(r)
                if data is None:
                    os.kill(pid, signal.SIGKILL)  # our own fork, by its PID
                os.waitpid(pid, 0)
                try:
                    got.update(pickle.loads(data or b""))
                except Exception:  # noqa: BLE001 - a copy that died or was stopped: its chunks are the caller's
                    pass
        finally:
            self.kids = []
            if self._qr >= 0:
                os.close(self._qr)
                self._qr = -1
        return got

    def finish(self) -> dict[int, R]:
        """Join in until no chunk is left, then item index -> result for every chunk done. A failed
        chunk, or one a copy did not return, is left out for the caller to do."""
        if self._qr < 0:
            return {}
        t0 = time.monotonic()
        got: dict[int, list[Any]] = {}
        try:
            got.update(self._work())
        finally:
            # The copies do as much as this process did since it joined in: one still busy long after is stuck.
            got.update(self._end(max(_GRACE_S, 10 * (time.monotonic() - t0))))
        out: dict[int, R] = {}
        for c, results in got.items():
            lo = self.bounds[c][0]
            for k, res in enumerate(results):
                out[lo + k] = res
        return out

    def cancel(self) -> None:
        """Stop the copies (by PID) and forget what they did."""
        for pid, _ in self.kids:
            os.kill(pid, signal.SIGKILL)
        self._end(_GRACE_S)


def map_forked(items: Sequence[T], fn: Callable[[T], R], *, processes_: int | None = None) -> list[R]:
    """`[fn(x) for x in items]`, the items shared between this process and forked copies.

    The items are cut into chunks, and each process claims the next chunk when it is free (one byte
    read from a pipe holding a byte per chunk: a read is atomic, so no chunk is claimed twice). A copy
    is slower than its parent (its first touch of each memory page copies it), and other programs take
    turns on the cores; claiming keeps every process busy to the end, where fixed shares left the
    parent waiting for the slowest copy. A process stops at its first failure (the parent then takes
    the rest off the queue). Afterwards the parent does every item no copy returned, in order, so
    the first error raised is the first of a serial run. Serial when forking is not possible
    (see `can_fork`)."""
    done = Claimed(items, fn, processes_=processes_).finish()
    return [done[i] if i in done else fn(x) for i, x in enumerate(items)]  # the first error is raised here, in order

