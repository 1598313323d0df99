"""Trigger and follow builds over REST with jenkins-cli semantics (issue 5; anchors.md §D).

    client = JenkinsClient(JenkinsSettings.resolve())
    queued = trigger(client, "team/app", {"BRANCH": "main"})      # validated against the job
    build = queued.wait_for_start(timeout=600)                     # number from the queue item
    for chunk in build.iter_log():                                 # progressiveText, each byte once
        sys.stdout.buffer.write(chunk.data)
    result = build.wait()                                          # BuildResult(result="SUCCESS", exit_code=0, ...)

Rules this module keeps (jenkins-remote-api.md §4):
- The build number comes only from the queue item's `executable` (never `lastBuild`/
  `nextBuildNumber`, which race with other triggers). A `LeftItem` with `executable: null` and
  `cancelled: false` is still pending (§4.3 race), so we keep polling.
- If the queue item is gone (404: LeftItems expire 5 min after leaving the queue, and do not survive
  a restart) the build is the one whose `queueId` equals our id (`builds[number,queueId]`, then
  `allBuilds[...]`).
- A `buildWithParameters` answered with 303 means Jenkins merged our request into an identical queued
  one (§4.2); `/build` answers 201 with the same id, which we detect from the queue item's folded
  cause count (§4.1). Either way `QueuedBuild.merged` is True and the build is shared.
- Parameters are validated against the job's definitions before triggering, and sent in the POST
  body (never in the URL), so values do not land in access logs. Password values are never shown.
- We schedule with `delay=0sec`, as `jenkins-cli build` does (`scheduleBuild2(0, ...)`).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.jenkins import paths
from jenkins_kit.jenkins.console import (
    DEFAULT_POLICY,
    Deadline,
    EndAligner,
    LogChunk,
    PollPolicy,
    ProgressiveLog,
)
from jenkins_kit.jenkins.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServerError,
)

if TYPE_CHECKING:  # pragma: no cover
    from jenkins_kit.jenkins.client import JenkinsClient

# ---------------------------------------------------------------------------------------------
# Exit codes. Build results mirror hudson.model.Result ordinals (jenkins-cli `build -s/-f`).
# Tool outcomes use ExitCode 10+ (jenkins_kit/errors.py, the one table).
# ---------------------------------------------------------------------------------------------
NOT_BUILDABLE = ExitCode.NOT_BUILDABLE
FOLLOW_DETACHED = ExitCode.FOLLOW_DETACHED

RESULT_EXIT_CODES: dict[str, int] = {
    "SUCCESS": ExitCode.SUCCESS,
    "UNSTABLE": ExitCode.UNSTABLE,
    "FAILURE": ExitCode.FAILURE,
    "NOT_BUILT": ExitCode.NOT_BUILT,
    "ABORTED": ExitCode.ABORTED,
}

EXIT_CODE_TABLE: list[tuple[int, str, str]] = [
    (0, "SUCCESS", "build result (with -s/-f); or: queued/started (without -s/-f)"),
    (1, "UNSTABLE", "build result"),
    (2, "FAILURE", "build result"),
    (3, "NOT_BUILT", "build result"),
    (4, "ABORTED", "build result (someone or something aborted the build)"),
    (ExitCode.TIMEOUT, "TIMEOUT", "--timeout passed (with -s the build is stopped, with -f it keeps running)"),
    (ExitCode.INTERRUPTED, "INTERRUPTED", "Ctrl-C/SIGTERM under -s (or -w): the build (or queue item) was stopped on the server"),
    (ExitCode.CANCELLED, "CANCELLED", "the queue item was cancelled before the build started"),
    (ExitCode.NOT_FOUND, "NOT_FOUND", "job, build or queue item does not exist (or you may not see it)"),
    (ExitCode.AUTH, "AUTH", "credentials rejected (401) or permission denied (403)"),
    (ExitCode.SERVER, "SERVER", "Jenkins answered 5xx, or stayed unavailable (503) past the retry window"),
    (ExitCode.INPUT, "INPUT", "bad arguments or parameters (unknown name, missing required value, bad choice)"),
    (ExitCode.CONNECTION, "CONNECTION", "Jenkins could not be reached"),
    (NOT_BUILDABLE, "NOT_BUILDABLE", "the job is disabled or not buildable; Jenkins refused to schedule it"),
    (FOLLOW_DETACHED, "DETACHED", "Ctrl-C/SIGTERM under -f: stopped following, the build keeps running (as jenkins-cli)"),
]


def result_exit_code(result: str | None) -> int:
    if result is None:
        return ExitCode.INTERRUPTED
    return RESULT_EXIT_CODES.get(result, ExitCode.FAILURE)


# --------------------------------------------------------------------------------------------- errors


class JobNotFound(KitError):
    exit_code = ExitCode.NOT_FOUND


class BuildNotFound(KitError):
    exit_code = ExitCode.NOT_FOUND


class QueueItemLost(KitError):
    exit_code = ExitCode.NOT_FOUND


class JobNotBuildable(KitError):
    exit_code = NOT_BUILDABLE


class ParameterError(KitError):
    exit_code = ExitCode.INPUT

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        self.problems = problems
        msg = problems[0] if len(problems) == 1 else "invalid parameters:\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(msg, hint)


class QueueItemCancelled(KitError):
    exit_code = ExitCode.CANCELLED


class BuildTimeout(KitError):
    exit_code = ExitCode.TIMEOUT


# --------------------------------------------------------------------------------------------- parameters

_PASSWORD_MASK = "********"


@dataclass(frozen=True)
class ParameterDefinition:
    """One entry of the job's `property[].parameterDefinitions` (jenkins-remote-api.md §3.9)."""

    name: str
    type: str
    has_default: bool  # `defaultParameterValue` is not null
    default: Any = None  # None when unknown (password defaults are not exported)
    choices: tuple[str, ...] | None = None
    description: str | None = None

    @property
    def is_password(self) -> bool:
        return "password" in self.type.lower()

    @property
    def is_boolean(self) -> bool:
        return self.type.startswith("Boolean")

    @property
    def is_file(self) -> bool:
        return self.type.startswith("File")

    @property
    def default_text(self) -> str | None:
        """The default as the string `buildWithParameters` expects; None if not known."""
        if not self.has_default or self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ParameterDefinition:
        ptype = d.get("type") or str(d.get("_class", "")).rsplit(".", 1)[-1] or "ParameterDefinition"
        dpv = d.get("defaultParameterValue")
        has_default = isinstance(dpv, Mapping)
        default = dpv.get("value") if isinstance(dpv, Mapping) else None
        choices = d.get("choices")
        return cls(
            name=str(d.get("name", "")),
            type=str(ptype),
            has_default=has_default,
            default=default,
            choices=tuple(str(c) for c in choices) if isinstance(choices, list) else None,
            description=d.get("description"),
        )


def parameter_definitions(job_json: Mapping[str, Any]) -> list[ParameterDefinition]:
    defs: list[ParameterDefinition] = []
    for prop in job_json.get("property") or []:
        if isinstance(prop, Mapping):
            for d in prop.get("parameterDefinitions") or []:
                if isinstance(d, Mapping) and d.get("name"):
                    defs.append(ParameterDefinition.from_json(d))
    return defs


@dataclass
class ResolvedParameters:
    """Values to send, which of them the user gave, and which are passwords (never displayed)."""

    values: dict[str, str] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)
    passwords: set[str] = field(default_factory=set)

    def display(self) -> dict[str, str]:
        return {k: (_PASSWORD_MASK if k in self.passwords else v) for k, v in self.values.items()}

    def __repr__(self) -> str:  # never leak a password through a debug print
        return f"ResolvedParameters({self.display()!r})"


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _suggest(name: str, candidates: list[str]) -> str | None:
    lower = {c.lower(): c for c in candidates}
    if name.lower() in lower:
        return lower[name.lower()]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6) or difflib.get_close_matches(
        name.lower(), list(lower), n=1, cutoff=0.6
    )
    if not close:
        return None
    return lower.get(close[0], close[0])


def resolve_parameters(job: str, defs: list[ParameterDefinition], given: Mapping[str, str]) -> ResolvedParameters:
    """Check `given` against the job's definitions (as jenkins-cli `build -p` does) and apply defaults.

    Raises ParameterError listing every problem: unknown names (with a "did you mean"), values for a
    job without parameters, missing values with no default, bad choices and bad booleans.
    """
    problems: list[str] = []
    hint: str | None = None
    if given and not defs:
        raise ParameterError(
            [f"{job} is not parameterized, but parameters were given: {', '.join(sorted(given))}"],
            "drop -p; if the parameters are declared in the Jenkinsfile, run the job once without them so Jenkins learns them",
        )
    by_name = {d.name: d for d in defs}
    out = ResolvedParameters(passwords={d.name for d in defs if d.is_password})
    for name in given:
        if name not in by_name:
            s = _suggest(name, list(by_name))
            problems.append(f"unknown parameter {name!r}" + (f" (did you mean {s!r}?)" if s else ""))
    if any(n not in by_name for n in given):
        hint = f"{job} takes: " + ", ".join(f"{d.name} ({d.type.replace('ParameterDefinition', '') or 'value'})" for d in defs)
    for d in defs:
        if d.name in given:
            value = given[d.name]
            if d.is_file:
                problems.append(f"{d.name}: file parameters cannot be sent with -p (upload is not supported)")
                continue
            if d.is_boolean:
                low = value.strip().lower()
                if low in _TRUE:
                    value = "true"
                elif low in _FALSE:
                    value = "false"
                else:
                    problems.append(f"{d.name}: expected true or false, got {value!r}")
                    continue
            if d.choices is not None and value not in d.choices:
                s = _suggest(value, list(d.choices))
                problems.append(
                    f"{d.name}: {value!r} is not one of the choices {list(d.choices)}" + (f" (did you mean {s!r}?)" if s else "")
                )
                continue
            out.values[d.name] = value
            out.given.add(d.name)
        elif not d.has_default:
            if not d.is_file:
                problems.append(f"missing required parameter {d.name!r} (it has no default): pass -p {d.name}=VALUE")
        else:
            text = d.default_text
            if text is not None:
                out.values[d.name] = text
            # a password (or other) default Jenkins does not export: let Jenkins apply it itself
    if problems:
        if hint is None and defs:  # every problem gets advice: what the job takes, choices spelled out
            hint = f"{job} takes: " + ", ".join(_describe_definition(d) for d in defs)
        raise ParameterError(problems, hint)
    return out


def _describe_definition(d: ParameterDefinition) -> str:
    if d.choices is not None:
        return f"{d.name} (one of: {', '.join(d.choices)})"
    if d.is_boolean:
        return f"{d.name} (true or false)"
    return f"{d.name} ({d.type.replace('ParameterDefinition', '') or 'value'})"


def parse_parameter_args(items: list[str] | tuple[str, ...], read_file: Callable[[str], bytes] | None = None) -> dict[str, str]:
    """`['K=V', 'S=@secret.txt']` -> dict. `K=@file` reads the file (one trailing newline dropped);
    `K=@@x` is the literal `@x`. A name given twice is an error (Jenkins answers 500 to that)."""

    def _read(path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    read_file = read_file or _read
    out: dict[str, str] = {}
    problems: list[str] = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(f"-p {item.split('=', 1)[0]!r}: expected NAME=VALUE or NAME=@FILE")
            continue
        if name in out:
            problems.append(f"-p {name} given twice")
            continue
        if value.startswith("@@"):
            value = value[1:]
        elif value.startswith("@"):
            path = value[1:]
            try:
                raw = read_file(path)
            except OSError as e:
                problems.append(f"-p {name}=@{path}: cannot read the file ({e.strerror or e})")
                continue
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(f"-p {name}=@{path}: the file is not UTF-8 text")
                continue
            if value.endswith("\r\n"):
                value = value[:-2]
            elif value.endswith("\n"):
                value = value[:-1]
        out[name] = value
    if problems:
        raise ParameterError(problems, "write parameters as -p NAME=VALUE, or -p NAME=@path to read the value from a file")
    return out


# --------------------------------------------------------------------------------------------- events


@dataclass
class BuildEvent:
    """What `QueuedBuild.events()` yields: queued, waiting, started, log, finished."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)
    data: bytes | None = None  # log bytes, exactly as Jenkins sent them

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"event": self.event, **self.fields}
        if self.data is not None:
            d["text"] = self.data.decode("utf-8", errors="replace")
        return d


@dataclass(frozen=True)
class BuildResult:
    job: str
    number: int
    url: str
    result: str
    duration_ms: int

    @property
    def exit_code(self) -> int:
        return result_exit_code(self.result)


def _backoff(previous: float | None, start: float = 0.1, cap: float = 1.0) -> float:
    return start if previous is None else min(cap, previous * 2)


# --------------------------------------------------------------------------------------------- build handle

_BUILD_TREE = "number,url,building,inProgress,result,duration,timestamp,estimatedDuration,queueId"


class Build:
    """One build of `job`. Reads go to `job/<...>/<number>/` on the configured URL."""

    def __init__(self, client: JenkinsClient, job: str, number: int, url: str | None = None, *, queue_id: int | None = None) -> None:
        self.client = client
        self.job = job
        self.number = int(number)
        self.path = paths.build_url_path(job, self.number)
        self.url = url or (client.url.rstrip("/") + "/" + self.path)
        self.queue_id = queue_id
        self.requests_made = 0
        self.final: BuildResult | None = None
        self._sleep: Callable[[float], None] = time.sleep
        self.policy: PollPolicy = DEFAULT_POLICY

    def __repr__(self) -> str:
        return f"Build({self.job!r}, #{self.number})"

    # -- reads
    def info(self, tree: str | None = _BUILD_TREE) -> dict[str, Any]:
        self.requests_made += 1
        try:
            return self.client.get_json(self.path + "api/json", tree=tree)
        except NotFoundError as e:
            raise BuildNotFound(f"{self.job} #{self.number} does not exist", "list builds with `jenkins-kit status JOB`") from e

    @property
    def result(self) -> str | None:
        """The result, or None while the build runs."""
        info = self.info()
        return None if _running(info) else info.get("result")

    def console_text(self) -> bytes:
        self.requests_made += 1
        try:
            return self.client.get(self.path + "consoleText").content
        except NotFoundError as e:
            raise BuildNotFound(f"{self.job} #{self.number} does not exist") from e

    def iter_log(self, start: int = 0, *, deadline: Deadline | None = None, expected_end: float | None = None) -> Iterator[LogChunk]:
        """Yield console chunks from raw offset `start` until the log closes (each byte once)."""
        log = ProgressiveLog(
            self.client,
            self.path,
            start,
            policy=self.policy,
            deadline=deadline,
            expected_end=expected_end,
            on_timeout=lambda: self._raise_timeout(deadline),
            sleep=self._sleep,
        )
        try:
            yield from log
        except NotFoundError as e:
            raise BuildNotFound(f"{self.job} #{self.number} disappeared while its log was followed (deleted?)") from e
        finally:
            self.requests_made += log.requests_made

    def _raise_timeout(self, deadline: Deadline | None) -> None:
        secs = deadline.seconds if deadline else None
        raise BuildTimeout(
            f"{self.job} #{self.number} did not finish within {secs:g} s" if secs is not None else "timed out",
            f"it may still be running: {self.url}",
        )

    # -- waiting
    def events(
        self,
        *,
        log: bool = False,
        deadline: Deadline | None = None,
        first_info: Mapping[str, Any] | None = None,
        watch_log: bool = True,
    ) -> Iterator[BuildEvent]:
        """Yield `log` events (if `log`) and finally one `finished` event.

        The end is detected through progressiveText even when `log` is False (`watch_log`): the
        log's activity keeps polling fast while the build writes, and the log closing is the
        earliest end signal, so the caller returns within one poll interval of the end. The cost
        is downloading the log once; `watch_log=False` polls `api/json` only (cheaper for huge
        logs, but the end is then noticed up to `quiet_max` late).
        """
        deadline = deadline or Deadline(None)
        info = dict(first_info) if first_info is not None else self.info()
        expected_end = _expected_end(info)
        if (log or watch_log) and _running(info):
            for chunk in self.iter_log(deadline=deadline, expected_end=expected_end):
                if log:
                    yield BuildEvent("log", {"number": self.number}, chunk.data)
            # the log closes after the result is set (§4.5), so one read normally suffices
            info = self.info()
        elif log:
            for chunk in self.iter_log(deadline=deadline):
                yield BuildEvent("log", {"number": self.number}, chunk.data)
        delay: float | None = None
        aligner = EndAligner(expected_end)
        while _running(info):
            delay = self.policy.next_quiet(delay)
            step = aligner.adjust(delay)
            if deadline.expired():
                self._raise_timeout(deadline)
            self._sleep(deadline.clamp(step))
            if deadline.expired():
                self._raise_timeout(deadline)
            info = self.info()
        result = str(info.get("result"))
        self.final = BuildResult(self.job, self.number, self.url, result, int(info.get("duration") or 0))
        yield BuildEvent(
            "finished",
            {
                "job": self.job,
                "number": self.number,
                "url": self.url,
                "result": result,
                "duration": int(info.get("duration") or 0),
                "exit_code": result_exit_code(result),
            },
        )

    def wait(self, timeout: float | None = None, *, on_log: Callable[[bytes], None] | None = None) -> BuildResult:
        """Block until the build finishes; stream the console to `on_log` if given."""
        for ev in self.events(log=on_log is not None, deadline=Deadline(timeout)):
            if ev.event == "log" and on_log is not None and ev.data is not None:
                on_log(ev.data)
        assert self.final is not None  # events() ends only after the finished event, which sets it
        return self.final

    # -- control
    def stop(self, how: str = "stop") -> None:
        """POST `stop` (or `term`/`kill`, §4.6). Jenkins answers 302 whether or not it was running."""
        if how not in ("stop", "term", "kill"):
            raise ValueError(how)
        self.requests_made += 1
        try:
            self.client.post(self.path + how)
        except NotFoundError as e:
            raise BuildNotFound(f"{self.job} #{self.number} does not exist") from e


def _running(info: Mapping[str, Any]) -> bool:
    return bool(info.get("building")) or bool(info.get("inProgress")) or info.get("result") is None


def _expected_end(info: Mapping[str, Any]) -> float | None:
    ts, est = info.get("timestamp"), info.get("estimatedDuration")
    if isinstance(ts, (int, float)) and isinstance(est, (int, float)) and ts > 0 and est > 0:
        return (ts + est) / 1000.0
    return None


# --------------------------------------------------------------------------------------------- queue handle

_QUEUE_TREE = "id,url,why,blocked,buildable,stuck,cancelled,inQueueSince,executable[number,url],actions[causes[shortDescription]]"


class QueuedBuild:
    """A triggered build, known by its queue item until the build starts."""

    def __init__(
        self,
        client: JenkinsClient,
        job: str,
        queue_id: int,
        *,
        location: str | None = None,
        merged: bool = False,
        parameters: ResolvedParameters | None = None,
    ) -> None:
        self.client = client
        self.job = job
        self.queue_id = int(queue_id)
        self.location = location or (client.url.rstrip("/") + "/" + paths.queue_item_path(queue_id))
        self.merged = merged
        self.merged_reason: str | None = "Jenkins answered 303: an identical request was already queued" if merged else None
        self.parameters = parameters or ResolvedParameters()
        self.build: Build | None = None
        self.resolved_by: str | None = None  # "queue" | "queueId-scan"
        self.last_why: str | None = None
        self.requests_made = 1  # the trigger POST
        self.policy: PollPolicy = DEFAULT_POLICY
        self._sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"QueuedBuild({self.job!r}, queue_id={self.queue_id}, merged={self.merged})"

    @property
    def total_requests(self) -> int:
        return self.requests_made + (self.build.requests_made if self.build else 0)

    def queued_event(self) -> BuildEvent:
        f: dict[str, Any] = {
            "job": self.job,
            "queue_id": self.queue_id,
            "url": self.location,
            "merged": self.merged,
            "parameters": self.parameters.display(),
        }
        if self.merged_reason:
            f["merged_reason"] = self.merged_reason
        return BuildEvent("queued", f)

    def poll(self) -> dict[str, Any] | None:
        """The queue item JSON, or None if Jenkins no longer knows it (404)."""
        self.requests_made += 1
        try:
            return self.client.get_json(paths.queue_item_path(self.queue_id) + "api/json", tree=_QUEUE_TREE)
        except NotFoundError:
            return None

    def find_build_by_queue_id(self) -> Build | None:
        """Scan the job's builds for `queueId == self.queue_id` (newest 100, then all)."""
        for tree in ("builds[number,url,queueId]", "allBuilds[number,url,queueId]"):
            self.requests_made += 1
            try:
                data = self.client.get_json(paths.job_url_path(self.job) + "api/json", tree=tree)
            except NotFoundError as e:
                raise JobNotFound(f"job {self.job} disappeared while its build was queued") from e
            key = tree.split("[", 1)[0]
            for b in data.get(key) or []:
                if isinstance(b, Mapping) and b.get("queueId") == self.queue_id:
                    return Build(self.client, self.job, int(b["number"]), b.get("url"), queue_id=self.queue_id)
        return None

    def events(self, *, deadline: Deadline | None = None) -> Iterator[BuildEvent]:
        """Poll until the build starts: yields `waiting` on each new reason, then `started`."""
        deadline = deadline or Deadline(None)
        delay: float | None = None
        misses = 0
        while self.build is None:
            item = self.poll()
            if item is None:
                build = self.find_build_by_queue_id()
                if build is not None:
                    self.build, self.resolved_by = build, "queueId-scan"
                    break
                misses += 1
                if misses >= 3:
                    raise QueueItemLost(
                        f"queue item {self.queue_id} of {self.job} is gone and no build has queueId {self.queue_id}",
                        "it was cancelled more than 5 minutes ago, or Jenkins restarted and dropped its queue",
                    )
            else:
                misses = 0
                self._note_merge(item)
                exe = item.get("executable")
                if isinstance(exe, Mapping) and exe.get("number") is not None:
                    self.build = Build(self.client, self.job, int(exe["number"]), exe.get("url"), queue_id=self.queue_id)
                    self.resolved_by = "queue"
                    break
                if item.get("cancelled"):
                    raise QueueItemCancelled(
                        f"queue item {self.queue_id} of {self.job} was cancelled before the build started",
                        "someone cancelled it, or the job was disabled or deleted while it waited",
                    )
                why = item.get("why")
                if why and why != self.last_why:
                    self.last_why = why
                    yield BuildEvent("waiting", {"job": self.job, "queue_id": self.queue_id, "why": why})
            delay = _backoff(delay, start=self.policy.active, cap=self.policy.quiet_max)
            if deadline.expired():
                raise BuildTimeout(
                    f"{self.job}: the build did not start within {deadline.seconds:g} s (queue item {self.queue_id}"
                    + (f": {self.last_why}" if self.last_why else "")
                    + ")",
                    "look at the queue reason; the item stays queued unless it was cancelled",
                )
            self._sleep(deadline.clamp(delay))
        self.build._sleep = self._sleep
        self.build.policy = self.policy
        yield BuildEvent(
            "started",
            {"job": self.job, "number": self.build.number, "url": self.build.url, "queue_id": self.queue_id, "resolved_by": self.resolved_by},
        )

    def _note_merge(self, item: Mapping[str, Any]) -> None:
        if self.merged:
            return
        causes = 0
        for a in item.get("actions") or []:
            if isinstance(a, Mapping) and isinstance(a.get("causes"), list):
                causes += len(a["causes"])
        if causes > 1:
            self.merged = True
            self.merged_reason = f"the queue item carries {causes} causes: Jenkins folded identical requests into one build"

    def wait_for_start(self, timeout: float | None = None) -> Build:
        for _ in self.events(deadline=Deadline(timeout)):
            pass
        assert self.build is not None
        return self.build

    def follow(self, *, log: bool = False, timeout: float | None = None, until: str = "finished") -> Iterator[BuildEvent]:
        """All events of this build: queued, waiting*, started, log*, finished. `until="started"`
        stops after `started`. `timeout` covers the whole wait (queue + build)."""
        deadline = Deadline(timeout)
        yield self.queued_event()
        if self.build is None:
            yield from self.events(deadline=deadline)
        if until == "started":
            return
        assert self.build is not None
        first = self.build.info()
        yield from self.build.events(log=log, deadline=deadline, first_info=first)

    def wait(self, timeout: float | None = None, *, on_log: Callable[[bytes], None] | None = None) -> BuildResult:
        """Wait for the build to start and finish; returns its BuildResult."""
        for ev in self.follow(log=on_log is not None, timeout=timeout):
            if ev.event == "log" and on_log is not None and ev.data is not None:
                on_log(ev.data)
        assert self.build is not None and self.build.final is not None  # as in Build.wait
        return self.build.final

    def cancel(self) -> bool:
        """Cancel the queue item. True if cancelled; False if it had already left the queue."""
        self.requests_made += 1
        try:
            self.client.post("queue/cancelItem", params={"id": str(self.queue_id)})
            return True
        except NotFoundError:
            return False  # gone: expired or never visible to us
        except ServerError:
            return False  # §4.4: a LeftItem (already started or cancelled) -> 500 "Could not cancel"

    def abort(self, *, settle: float = 5.0) -> str:
        """Stop whatever this trigger became: cancel the queue item, or stop the running build.
        Returns a short description of what happened."""
        if self.build is None:
            if self.cancel():
                return f"cancelled queue item {self.queue_id}"
            # it started in the meantime: find the build and stop it
            try:
                for _ in self.events(deadline=Deadline(settle)):
                    pass
            except (QueueItemCancelled, QueueItemLost):
                return f"queue item {self.queue_id} was already cancelled"
            except BuildTimeout:
                return f"could not cancel queue item {self.queue_id}; it has not started yet"
        assert self.build is not None
        self.build.stop()
        return f"stop requested for {self.job} #{self.build.number}"


# --------------------------------------------------------------------------------------------- entry points

_JOB_TREE = (
    "name,fullName,url,buildable,color,inQueue,queueItem[id],jobs[name],"
    "property[parameterDefinitions[name,type,description,choices,defaultParameterValue[name,value]]]"
)


def job_info(client: JenkinsClient, job: str) -> dict[str, Any]:
    try:
        return client.get_json(paths.job_url_path(job) + "api/json", tree=_JOB_TREE)
    except NotFoundError as e:
        raise JobNotFound(
            f"job {job} not found at {client.url.rstrip('/')}/{paths.job_url_path(job)}",
            "check the name (folders as 'folder/job'); a job you may not read also looks missing",
        ) from e


def _not_buildable(job: str, info: Mapping[str, Any] | None) -> JobNotBuildable:
    color = str((info or {}).get("color") or "")
    if color.startswith("disabled"):
        return JobNotBuildable(f"job {job} is disabled", f"enable it in Jenkins (POST {paths.job_url_path(job)}enable) or with `jenkins-kit jobs apply`")
    return JobNotBuildable(
        f"job {job} is not buildable (Jenkins answered 409)",
        "it is disabled, or was copied and never saved; open its configuration and save it once",
    )


def trigger(
    client: JenkinsClient,
    job: str,
    parameters: Mapping[str, str] | None = None,
    *,
    delay: float = 0.0,
) -> QueuedBuild:
    """Validate `parameters` against the job, POST the trigger and return the queue handle."""
    parameters = dict(parameters or {})
    info = job_info(client, job)
    if "buildable" not in info and not str(info.get("_class", "")).endswith("WorkflowMultiBranchProject"):
        # Folders (and other item groups) export no `buildable`: there is nothing to trigger.
        inside = [str(j.get("name")) for j in info.get("jobs") or [] if isinstance(j, Mapping)]
        shown = ", ".join(inside[:5]) + (" ..." if len(inside) > 5 else "")
        err = KitError(
            f"{job} is a folder ({str(info.get('_class', '')).rsplit('.', 1)[-1] or 'not a job'}), not a job that can be built",
            f"build a job inside it, e.g. jenkins-kit build '{job}/{inside[0] if inside else '<job>'}'" + (f"; it holds: {shown}" if inside else "; it is empty"),
        )
        err.exit_code = ExitCode.INPUT
        raise err
    if str(info.get("_class", "")).endswith("WorkflowMultiBranchProject"):
        # Its /build schedules a branch scan and answers 302 (§7.5): there is no build to follow.
        err = KitError(
            f"{job} is a multibranch project: Jenkins builds its branches, not the project itself",
            f"build a branch, e.g. jenkins-kit build '{job}/main' (branch names are URL-encoded: feature%2Fx); "
            "to rescan branches run jenkins-kit jobs apply or use the project's 'Scan' in Jenkins",
        )
        err.exit_code = ExitCode.INPUT
        raise err
    defs = parameter_definitions(info)
    resolved = resolve_parameters(job, defs, parameters)
    if info.get("buildable") is False:
        raise _not_buildable(job, info)
    job_path = paths.job_url_path(job)
    query: dict[str, str] = {}
    if not any(d.name == "delay" for d in defs):
        query["delay"] = f"{max(0, int(delay))}sec"
    try:
        if defs:
            # buildWithParameters even with no -p: `/build` on a parameterized job is 400 (§4.1).
            resp = client.post(job_path + "buildWithParameters", data=resolved.values, params=query)
        else:
            resp = client.post(job_path + "build", params=query)
    except ConflictError as e:
        raise _not_buildable(job, info) from e
    except NotFoundError as e:
        raise JobNotFound(f"job {job} disappeared before it could be triggered") from e
    except BadRequestError as e:
        raise JobNotBuildable(
            f"Jenkins refused the trigger for {job}: {e}",
            "the job's parameters probably changed since they were read; run the command again",
        ) from e
    status = resp.status_code
    location = resp.headers.get("Location")
    if status in (201, 303) and location:
        try:
            qid = paths.queue_id_from_location(location)
        except ValueError as e:
            err = KitError(f"Jenkins answered {status} with an unexpected Location {location!r}", "is JENKINS_URL the Jenkins root?")
            err.exit_code = ExitCode.SERVER
            raise err from e
        q = QueuedBuild(client, job, qid, location=location, merged=status == 303, parameters=resolved)
        already = (info.get("queueItem") or {}).get("id") if isinstance(info.get("queueItem"), Mapping) else None
        if status == 201 and already is not None and int(already) == qid:
            # `/build` answers 201 with the id of the item that was already queued (§4.1, JENKINS-66105)
            q.merged = True
            q.merged_reason = f"queue item {qid} was already waiting before this request: Jenkins folded the request into it"
        return q
    raise JobNotBuildable(
        f"Jenkins did not schedule {job} (HTTP {status}{', Location ' + location if location else ''})",
        "an extension refused the build, or Jenkins is quieting down for a restart",
    )


_PERMALINKS = {
    "last": "lastBuild",
    "lastbuild": "lastBuild",
    "lastsuccessful": "lastSuccessfulBuild",
    "lastsuccessfulbuild": "lastSuccessfulBuild",
    "lastfailed": "lastFailedBuild",
    "lastfailedbuild": "lastFailedBuild",
    "lastcompleted": "lastCompletedBuild",
    "lastcompletedbuild": "lastCompletedBuild",
    "laststable": "lastStableBuild",
    "laststablebuild": "lastStableBuild",
    "lastunstable": "lastUnstableBuild",
    "lastunstablebuild": "lastUnstableBuild",
    "lastunsuccessful": "lastUnsuccessfulBuild",
    "lastunsuccessfulbuild": "lastUnsuccessfulBuild",
}


def get_build(client: JenkinsClient, job: str, number: int | str = "last") -> Build:
    """A handle for build `number` of `job`; `number` may be a permalink (`last`, `lastSuccessful`, ...)."""
    ref = str(number).strip()
    if ref.isdigit():
        return Build(client, job, int(ref))
    link = _PERMALINKS.get(ref.lower().lstrip("#"))
    if link is None:
        raise ParameterError([f"build {ref!r}: expected a number or one of last, lastSuccessful, lastFailed, lastCompleted"])
    try:
        data = client.get_json(paths.job_url_path(job) + link + "/api/json", tree="number,url")
    except NotFoundError:
        job_info(client, job)  # raises JobNotFound if the job itself is missing
        raise BuildNotFound(f"{job} has no {link} yet") from None
    return Build(client, job, int(data["number"]), data.get("url"))


def build_status(client: JenkinsClient, job: str, number: int | str = "last") -> dict[str, Any]:
    """A summary of one build (parameters with password values masked)."""
    b = get_build(client, job, number)
    info = b.info(
        tree=_BUILD_TREE + ",displayName,description,actions[parameters[_class,name,value],causes[shortDescription]]"
    )
    params: dict[str, Any] = {}
    causes: list[str] = []
    for a in info.get("actions") or []:
        if not isinstance(a, Mapping):
            continue
        for p in a.get("parameters") or []:
            if isinstance(p, Mapping) and p.get("name"):
                secret = "Password" in str(p.get("_class", ""))
                params[p["name"]] = _PASSWORD_MASK if secret else p.get("value")
        for c in a.get("causes") or []:
            if isinstance(c, Mapping) and c.get("shortDescription"):
                causes.append(c["shortDescription"])
    running = _running(info)
    result = None if running else info.get("result")
    return {
        "job": job,
        "number": int(info.get("number", b.number)),
        "url": info.get("url") or b.url,
        "building": running,
        "result": result,
        "exit_code": None if running else result_exit_code(result),
        "duration": int(info.get("duration") or 0),
        "estimated_duration": info.get("estimatedDuration"),
        "timestamp": info.get("timestamp"),
        "queue_id": info.get("queueId"),
        "display_name": info.get("displayName"),
        "description": info.get("description"),
        "parameters": params,
        "causes": causes,
    }
