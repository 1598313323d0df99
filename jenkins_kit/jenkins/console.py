"""Progressive console following: `logText/progressiveText?start=N` (jenkins-remote-api.md §5.2).

The cursor is the `X-Text-Size` header of the previous answer, passed back as `start`. It counts
*raw* log bytes (including the hidden console notes Jenkins strips from the body), so it is opaque:
never add `len(body)` to it. While the build runs Jenkins sends only complete lines and sets
`X-More-Data: true`; once the log is closed it sends the rest and drops the header. Following the
cursor therefore gives every byte exactly once, and the absence of `X-More-Data` is the definitive
"log closed" signal (it comes after the result is set, §4.5).

Polling policy (`PollPolicy`): after a chunk with data we ask again after `active` seconds (at
once if the chunk was large, since Jenkins caps an answer at 10,000 lines); while the log is quiet
the interval doubles from `quiet_start` up to `quiet_max` (1 s: never more than one request per
second while nothing happens). If the build's expected end (`timestamp + estimatedDuration`) falls
inside a quiet interval, one poll is placed just after it (plus up to three quick follow-ups,
`EndAligner`), so a build that ends on schedule is noticed at once instead of up to `quiet_max`
later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jenkins_kit.errors import ExitCode, KitError

if TYPE_CHECKING:  # pragma: no cover
    from jenkins_kit.jenkins.client import JenkinsClient


@dataclass(frozen=True)
class PollPolicy:
    active: float = 0.1
    quiet_start: float = 0.25
    quiet_max: float = 1.0
    big_chunk: int = 256 * 1024  # an answer this large probably hit the 10,000-line cap: ask again at once

    def next_quiet(self, previous: float | None) -> float:
        if previous is None or previous <= 0:
            return self.quiet_start
        return min(self.quiet_max, previous * 2)


DEFAULT_POLICY = PollPolicy()


class EndAligner:
    """Shorten quiet poll intervals around a build's expected end (`timestamp + estimatedDuration`).

    One poll is placed just after the predicted end; if the build is still running then (the
    estimate is an average), up to three follow-ups at 0.1, 0.2 and 0.4 s; then the normal quiet
    back-off resumes. At most four extra requests per build, all within ~0.8 s of the prediction.
    """

    FOLLOW_UPS = (0.1, 0.2, 0.4)

    def __init__(self, expected_end: float | None, wall_clock: Callable[[], float] = time.time) -> None:
        self.expected_end = expected_end
        self.wall_clock = wall_clock
        self._follow_ups: list[float] | None = None

    def adjust(self, delay: float) -> float:
        if self.expected_end is None:
            return delay
        if self._follow_ups is None:
            until = self.expected_end - self.wall_clock()
            if until >= delay:
                return delay
            self._follow_ups = list(self.FOLLOW_UPS)
            if until > 0:
                return until + 0.05
        if self._follow_ups:
            return min(delay, self._follow_ups.pop(0))
        self.expected_end = None
        return delay


@dataclass(frozen=True)
class LogChunk:
    """One piece of console text: `data` is the raw body bytes; `start`/`end` are Jenkins' cursors."""

    data: bytes
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class LogFollowError(KitError):
    exit_code = ExitCode.SERVER


class Deadline:
    """A monotonic deadline shared by every wait of one command (`None` = no limit)."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seconds = seconds
        self.at = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - self.clock()

    def expired(self) -> bool:
        r = self.remaining()
        return r is not None and r <= 0

    def clamp(self, delay: float) -> float:
        r = self.remaining()
        return delay if r is None else max(0.0, min(delay, r))


class ProgressiveLog:
    """Follow one build's console from a cursor. Iterate to get `LogChunk`s until the log closes.

    `expected_end` (epoch seconds) lets the quiet back-off place one poll right after the
    build's predicted end. `on_timeout` is called (and must raise) when `deadline` passes.
    `requests_made` counts HTTP requests, for the benchmark.
    """

    def __init__(
        self,
        client: JenkinsClient,
        build_path: str,
        start: int = 0,
        *,
        policy: PollPolicy = DEFAULT_POLICY,
        deadline: Deadline | None = None,
        expected_end: float | None = None,
        on_timeout: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.path = build_path + "logText/progressiveText"
        self.cursor = start
        self.policy = policy
        self.deadline = deadline or Deadline(None)
        self.aligner = EndAligner(expected_end, wall_clock)
        self.on_timeout = on_timeout
        self.sleep = sleep
        self.wall_clock = wall_clock
        self.closed = False
        self.requests_made = 0
        self.restarts = 0  # times Jenkins reset the cursor (log shorter than our cursor)

    def fetch(self) -> LogChunk:
        """One request from the cursor. Advances the cursor; sets `closed` when the log is complete."""
        start = self.cursor
        resp = self.client.get(self.path, params={"start": str(start)})
        self.requests_made += 1
        size_header = resp.headers.get("X-Text-Size")
        if size_header is None or not size_header.strip().isdigit():
            raise LogFollowError(
                f"{self.path}: the answer has no X-Text-Size header (HTTP {resp.status_code})",
                "this is not a Jenkins progressive log; check JENKINS_URL points at Jenkins itself, not a proxy page",
            )
        end = int(size_header)
        data = resp.content
        if end < start:
            # §5.2: start beyond the raw length resets to 0 and Jenkins sends the whole log again.
            # Only possible if the log was truncated/replaced; say so instead of silently duplicating.
            self.restarts += 1
            start = 0
        self.cursor = end
        if resp.headers.get("X-More-Data", "").strip().lower() != "true":
            self.closed = True
        return LogChunk(data, start, end)

    def __iter__(self) -> Iterator[LogChunk]:
        quiet: float | None = None
        while not self.closed:
            chunk = self.fetch()
            if chunk.data:
                yield chunk
            if self.closed:
                return
            if chunk.data:
                quiet = None
                delay = 0.0 if len(chunk.data) >= self.policy.big_chunk else self.policy.active
            else:
                quiet = self.policy.next_quiet(quiet)
                delay = self.aligner.adjust(quiet)
            self._wait(delay)

    def _wait(self, delay: float) -> None:
        if self.deadline.expired():
            self._timeout()
        self.sleep(self.deadline.clamp(delay))
        if self.deadline.expired():
            self._timeout()

    def _timeout(self) -> None:
        if self.on_timeout is not None:
            self.on_timeout()
        raise LogFollowError("timed out while following the console")
