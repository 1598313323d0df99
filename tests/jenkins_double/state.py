"""In-memory Jenkins model for the test double: items, builds, the queue and a scheduler thread.

Concurrency: one re-entrant lock (``Engine.lock``) guards all state; HTTP handlers hold it only
while they read or change state (never while sleeping for injected latency or writing to a
socket).  A single scheduler thread (``Engine._run``) moves queue items Waiting -> Buildable /
Blocked -> Left, starts builds on simulated executors, finishes them and expires Left items;
it sleeps on a Condition until the next due time or until a handler calls :meth:`Engine.kick`.
Lookups are dicts keyed by lower-cased name (Jenkins' item maps are case-insensitive TreeMaps,
spec §0.1), so no request scans all items.

Console logs are materialised lazily: a build has a list of planned lines with time offsets and
a raw byte buffer that is extended up to "now" whenever it is read or finished.
"""
from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import xmlconf
from .tree import Bean
from .views import ViewStore
from .xmlconf import ParamDef

WORKFLOW_RUN = "org.jenkinsci.plugins.workflow.job.WorkflowRun"
FREESTYLE_BUILD = "hudson.model.FreeStyleBuild"
RESULTS = ("SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED")
# BallColor by result [core BallColor.java, Result.color]
_COLOR = {"SUCCESS": "blue", "UNSTABLE": "yellow", "FAILURE": "red", "NOT_BUILT": "notbuilt",
          "ABORTED": "aborted"}


def now_ms() -> int:
    return int(time.time() * 1000)


def raw_encode(name: str) -> str:
    """Util.rawEncode-ish: percent-encode a path segment."""
    return quote(name, safe="!$&'()*+,-.:;=@_~")


def time_span(ms: float) -> str:
    """hudson.Util.getTimeSpanString (approximation: used in queue ``why`` texts)."""
    ms = max(0, int(ms))
    if ms < 1000:
        return f"{ms} ms"
    s = ms / 1000.0
    if s < 10:
        return f"{s:.1f} sec"
    s = int(s)
    if s < 60:
        return f"{s} sec"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s} sec"
    h, m = divmod(m, 60)
    return f"{h} hr {m} min"


# Hidden console note as pipeline writes it before "[Pipeline]" lines; consoleText and
# progressiveText strip these, but X-Text-Size counts their bytes (spec §5.1, §5.2).
def _note(seed: str) -> bytes:
    payload = base64.b64encode(hashlib.sha256(seed.encode()).digest() * 2).decode()
    return b"\x1b[8mha:////" + payload.encode() + b"\x1b[0m"


@dataclass
class Behaviour:
    result: str = "SUCCESS"
    duration_ms: int | None = None  # None -> engine default
    log_lines: list[str] | None = None
    count: int | None = None        # apply to the next N builds only (None: until changed)


@dataclass
class ParamValue:
    name: str
    cls: str
    value: Any

    def bean(self) -> Bean:
        return Bean(self.cls, (("name", 4, self.name, False), ("value", 4, self.value, False)))

    def short(self) -> str:
        # Queue.Item.getParams: "\n" + getShortDescription() per value; StringParameterValue's is
        # NAME=value, other types their toString (spec §4.3 `params`).
        if self.cls in ("hudson.model.StringParameterValue", "hudson.model.TextParameterValue"):
            return f"{self.name}={self.value}"
        v = "true" if self.value is True else "false" if self.value is False else self.value
        return f"({self.cls.rsplit('.', 1)[-1]}) {self.name}='{v}'"


class Group:
    """An ItemGroup: the root or a folder's children, keyed case-insensitively."""

    __slots__ = ("_sorted", "items")

    def __init__(self):
        self.items: dict[str, Item] = {}
        self._sorted: list[Item] | None = None

    def get(self, name: str) -> Item | None:
        return self.items.get(name.lower())

    def add(self, item: Item) -> None:
        self.items[item.name.lower()] = item
        self._sorted = None

    def remove(self, item: Item) -> None:
        self.items.pop(item.name.lower(), None)
        self._sorted = None

    def sorted(self) -> list[Item]:
        if self._sorted is None:
            self._sorted = sorted(self.items.values(), key=lambda i: i.name.lower())
        return self._sorted


class Item:
    def __init__(self, engine: Engine, parent: Item | None, name: str, config_xml: str | bytes,
                 cfg: xmlconf.ParsedConfig, saved: bool):
        self.engine = engine
        self.parent = parent
        self.name = name
        # the stored config.xml, byte for byte as submitted until something calls save()
        self.config_bytes = config_xml.encode("utf-8") if isinstance(config_xml, str) else bytes(config_xml)
        self.children: Group | None = None
        self.builds: OrderedDict[int, Build] = OrderedDict()
        self.next_build_number = 1
        self.hold_off = False
        self.deleted = False
        self._bean = None
        self._url_path: tuple[int, str] | None = None
        self.apply_config(cfg)
        if self.kind in ("folder", "multibranch"):
            self.children = Group()

    # -- configuration ---------------------------------------------------------------------
    def apply_config(self, cfg: xmlconf.ParsedConfig) -> None:
        self.cfg = cfg
        self.kind = cfg.kind
        self.java_class = cfg.java_class
        self.description = cfg.description if cfg.description else None
        self.disabled = cfg.disabled
        self.params: list[ParamDef] = cfg.params
        self.stages = xmlconf.stages_of(cfg.script)

    def save(self) -> None:
        """What ``save()`` does to config.xml: re-serialize Jenkins-style (spec §3.2)."""
        text = xmlconf.serialize(self.cfg.root, self.kind, description=self.description,
                                 disabled=self.disabled)
        self.config_bytes = text.encode("utf-8")
        self.cfg = xmlconf.parse_config(self.config_bytes)
        self.hold_off = False

    # -- naming ---------------------------------------------------------------------------
    @property
    def full_name(self) -> str:
        return self.name if self.parent is None else f"{self.parent.full_name}/{self.name}"

    @property
    def full_display_name(self) -> str:
        return self.name if self.parent is None else f"{self.parent.full_display_name} \u00bb {self.name}"

    @property
    def url_path(self) -> str:
        gen = self.engine.name_gen
        c = self._url_path
        if c is not None and c[0] == gen:
            return c[1]
        p = "" if self.parent is None else self.parent.url_path
        path = f"{p}job/{raw_encode(self.name)}/"
        self._url_path = (gen, path)
        return path

    @property
    def url(self) -> str:
        return self.engine.root_url + self.url_path

    @property
    def is_job(self) -> bool:
        return self.kind in ("workflow", "freestyle")

    @property
    def is_group(self) -> bool:
        return self.children is not None

    # -- builds ---------------------------------------------------------------------------
    @property
    def buildable(self) -> bool:
        return self.is_job and not self.disabled and not self.hold_off

    @property
    def concurrent(self) -> bool:
        return self.cfg.concurrent

    def last_build(self) -> Build | None:
        return next(reversed(self.builds.values()), None) if self.builds else None

    def running(self) -> list[Build]:
        return [b for b in self.builds.values() if b.result is None]

    def permalink(self, name: str) -> Build | None:
        rev = list(reversed(self.builds.values()))
        preds = {
            "lastBuild": lambda b: True,
            "lastCompletedBuild": lambda b: b.result is not None,
            "lastSuccessfulBuild": lambda b: b.result in ("SUCCESS", "UNSTABLE"),
            "lastStableBuild": lambda b: b.result == "SUCCESS",
            "lastUnstableBuild": lambda b: b.result == "UNSTABLE",
            "lastFailedBuild": lambda b: b.result == "FAILURE",
            "lastUnsuccessfulBuild": lambda b: b.result is not None and b.result != "SUCCESS",
        }
        p = preds.get(name)
        if p is None:
            return None
        if name == "firstBuild":  # pragma: no cover
            return next(iter(self.builds.values()), None)
        return next((b for b in rev if p(b)), None)

    def color(self) -> str:
        # Job.getIconColor / Run.getIconColor: a running build shows the previous build's colour
        # + _anime; WorkflowJob shows "disabled" when disabled (spec §1.4)
        if self.disabled:
            return "disabled"
        lb = self.last_build()
        if lb is None:
            return "notbuilt"
        if lb.result is None:
            prev = next((b for b in reversed(self.builds.values()) if b.result is not None), None)
            return (_COLOR[prev.result] if prev else "notbuilt") + "_anime"
        return _COLOR[lb.result]

    def estimated_duration(self) -> int:
        done = [b for b in reversed(self.builds.values()) if b.result in ("SUCCESS", "UNSTABLE")][:3]
        if not done:
            return -1
        return int(sum(b.duration_ms() for b in done) / len(done))

    def health(self) -> list:
        done = [b for b in reversed(self.builds.values()) if b.result is not None][:5]
        if not done:
            return []
        failed = sum(1 for b in done if b.result != "SUCCESS")
        score = int(100 * (len(done) - failed) / len(done))
        desc = ("Build stability: No recent builds failed." if failed == 0 else
                f"Build stability: {failed} out of the last {len(done)} builds failed.")
        bucket = ("80plus" if score > 80 else "60to79" if score >= 60 else "40to59" if score >= 40
                  else "20to39" if score >= 20 else "00to19")
        return [Bean("hudson.model.HealthReport", (
            ("description", 2, desc, False), ("iconClassName", 2, f"icon-health-{bucket}", False),
            ("iconUrl", 2, f"health-{bucket}.png", False), ("score", 2, score, False)))]


class Build:
    def __init__(self, engine: Engine, job: Item, number: int, qitem: QItem,
                 behaviour: Behaviour, duration_ms: int):
        self.engine = engine
        self.job = job
        self.number = number
        self.queue_id = qitem.id
        self.causes = qitem.causes
        self.params = qitem.params
        self.start = time.time()
        self.start_ms = int(self.start * 1000)
        self.planned_s = duration_ms / 1000.0
        self.end: float | None = None
        self.result: str | None = None
        self.final_result = behaviour.result
        self.raw = bytearray()
        self.executor_slot: int | None = None
        self.log_closed = False
        self._bean = None
        # planned lines: (offset seconds, bytes)
        first = self._cause_line().encode("utf-8")
        body: list[bytes] = []
        if behaviour.log_lines is not None:
            body = [str(line).encode("utf-8") for line in behaviour.log_lines]
        else:
            for st in job.stages:
                body.append(_note(f"{job.full_name}#{number}#{st}") +
                            f"[Pipeline] {{ ({st})".encode())
        n = len(body)
        self.planned: list[tuple[float, bytes]] = [(0.0, first)]
        for i, line in enumerate(body, start=1):
            self.planned.append((self.planned_s * i / (n + 1), line))
        self.next_line = 0

    def _cause_line(self) -> str:
        c = self.causes[0] if self.causes else {"kind": "user", "user": "anonymous"}
        if c["kind"] == "remote":
            note = f" with note: {c['note']}" if c.get("note") else ""
            return f"Started by remote host {c['addr']}{note}"
        return f"Started by user {_note('user:' + c['user']).decode()}{c['user']}"

    @property
    def url_path(self) -> str:
        return f"{self.job.url_path}{self.number}/"

    @property
    def url(self) -> str:
        return self.engine.root_url + self.url_path

    @property
    def building(self) -> bool:
        return self.result is None

    def duration_ms(self) -> int:
        if self.end is None:
            return 0
        return int((self.end - self.start) * 1000)

    def materialize(self, now: float) -> None:
        off = now - self.start
        while self.next_line < len(self.planned) and self.planned[self.next_line][0] <= off:
            self.raw += self.planned[self.next_line][1] + b"\n"
            self.next_line += 1

    def partial(self, now: float) -> bytes:
        """The first half of the line being written (no newline yet), if any."""
        if self.log_closed or self.next_line >= len(self.planned):
            return b""
        t_next, line = self.planned[self.next_line]
        t_prev = self.planned[self.next_line - 1][0] if self.next_line else 0.0
        off = now - self.start
        if off >= t_prev + (t_next - t_prev) / 2 and len(line) > 1:
            vis = line.rfind(b"\x1b[0m") + 4 if line.startswith(b"\x1b[8m") else 0  # never cut a note
            cut = vis + (len(line) - vis) // 2
            while cut > 0 and (line[cut] & 0xC0) == 0x80:  # stay on a UTF-8 boundary
                cut -= 1
            return line[:cut]
        return b""

    def finish(self, now: float, result: str, extra: list[str] = (), close: bool = True) -> None:
        if self.result is not None:
            return
        if result != "ABORTED":
            self.materialize(float("inf"))
        else:
            self.materialize(now)
        self.next_line = len(self.planned)
        for line in extra:
            self.raw += line.encode("utf-8") + b"\n"
        self.result = result
        self.end = now
        if close:
            self.close()

    def close(self) -> None:
        """``listener.finished(result)``: the final line, then the log is complete."""
        if not self.log_closed:
            self.raw += f"Finished: {self.result}\n".encode()
            self.log_closed = True


class QItem:
    def __init__(self, qid: int, job: Item, params: list[ParamValue] | None, causes: list[dict],
                 due: float):
        self.id = qid
        self.job = job
        self.params = params
        self.causes = causes
        self.in_queue_since = now_ms()
        self.due = due
        self.state = "waiting"          # waiting | blocked | buildable | left
        self.buildable_since: int | None = None
        self.left_at: float | None = None
        self.cancelled = False
        self.build: Build | None = None
        self.blocked_why = ""

    @property
    def url_path(self) -> str:
        return f"queue/item/{self.id}/"

    def same_params(self, params: list[ParamValue] | None) -> bool:
        a = [(p.name, p.value) for p in (self.params or [])]
        b = [(p.name, p.value) for p in (params or [])]
        return a == b


class Engine:
    def __init__(self, *, quiet_period: float = 5.0, executors: int = 2,
                 left_item_ttl: float = 300.0, default_duration_ms: int = 1000,
                 executable_delay_s: float = 0.05, log_close_delay_s: float = 0.0,
                 root_url: str = "http://127.0.0.1/"):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.root = Group()
        self.root_url = root_url
        self.quiet_period = quiet_period
        self.executors = executors
        self.left_item_ttl = left_item_ttl
        self.default_duration_ms = default_duration_ms
        self.executable_delay_s = executable_delay_s
        # WorkflowRun: result is set before listener.finished() writes "Finished: X" and closes
        # the log, so building=false can come with X-More-Data: true for a moment (spec §4.5)
        self.log_close_delay_s = log_close_delay_s
        self._closing: list[tuple[float, int, Build]] = []
        self.queue: OrderedDict[int, QItem] = OrderedDict()
        self.left: dict[int, QItem] = {}
        self._left_order: list[tuple[float, int]] = []  # heap of (left_at, id)
        self._qid = itertools.count(1)
        self.busy: dict[int, Build | QItem] = {}  # executor slot -> running build / starting item
        self._pending_start: list[tuple[float, int, QItem]] = []  # heap (start time, id, item)
        self.running: dict[int, Build] = {}  # id(build) -> build
        self.behaviours: dict[str, Behaviour] = {}
        self.default_behaviour = Behaviour()
        self.quieting_down = False
        self.quiet_down_reason: str | None = None
        self.indexing_requests: dict[str, int] = {}
        self.branches: dict[str, list[str]] = {}
        self.on_idle = None  # callback run once nothing is running (safeRestart)  # multibranch full name (lower) -> branch names
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.name_gen = 0  # bumped on rename: invalidates cached URL paths
        self.view_store = ViewStore(self)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jenkins-double-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self.cond:
            self._stopped = True
            self.cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def kick(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def _run(self) -> None:
        with self.cond:
            while not self._stopped:
                now = time.time()
                nxt = self._maintain(now)
                timeout = None if nxt is None else max(0.0, nxt - time.time())
                self.cond.wait(timeout if timeout is None else min(timeout, 5.0))

    # -- items ----------------------------------------------------------------------------
    def group_of(self, item: Item | None) -> Group:
        return self.root if item is None else item.children

    def resolve(self, full_name: str) -> Item | None:
        cur: Item | None = None
        for part in [p for p in full_name.split("/") if p]:
            grp = self.group_of(cur)
            if grp is None:
                return None
            cur = grp.get(part)
            if cur is None:
                return None
        return cur

    def create_item(self, parent: Item | None, name: str, config_xml: str | bytes,
                    cfg: xmlconf.ParsedConfig, saved: bool) -> Item:
        item = Item(self, parent, name, config_xml, cfg, saved)
        self.group_of(parent).add(item)
        return item

    def delete_item(self, item: Item, user: str) -> None:
        now = time.time()
        if item.children is not None:
            for child in list(item.children.items.values()):
                self.delete_item(child, user)
        for q in [q for q in self.queue.values() if q.job is item]:
            self._cancel(q, now)
        for b in item.running():
            self._finish_build(b, now, "ABORTED", [f"Aborted by {user}"])
        item.deleted = True
        self.view_store.on_deleted(item)
        grp = self.group_of(item.parent)
        grp.remove(item)
        self.kick()

    def index_branches(self, mb: Item) -> None:
        """A branch-indexing scan: create the branch jobs set for this project (default
        ``main``), remove vanished ones.  Branch names with ``/`` are stored %2F-encoded
        (spec §7.5, Unverified there)."""
        self.indexing_requests[mb.full_name] = self.indexing_requests.get(mb.full_name, 0) + 1
        wanted = [b.replace("/", "%2F") for b in self.branches.get(mb.full_name.lower(), ["main"])]
        for child in list(mb.children.items.values()):
            if child.name not in wanted:
                self.delete_item(child, "SYSTEM")
        for b in wanted:
            if mb.children.get(b) is None:
                xml = ("<flow-definition><definition class=\"org.jenkinsci.plugins.workflow.multibranch."
                       "SCMBinder\"><scriptPath>Jenkinsfile</scriptPath></definition></flow-definition>")
                self.create_item(mb, b, xml, xmlconf.parse_config(xml), saved=True)

    def iter_jobs(self):
        stack = [self.root]
        while stack:
            g = stack.pop()
            for it in g.items.values():
                yield it
                if it.children is not None:
                    stack.append(it.children)

    # -- behaviour ------------------------------------------------------------------------
    def behaviour_for(self, job: Item, consume: bool = False) -> Behaviour:
        key = job.full_name.lower()
        b = self.behaviours.get(key)
        if b is None:
            return self.default_behaviour
        if consume and b.count is not None:
            b.count -= 1
            if b.count <= 0:
                del self.behaviours[key]
        return b

    # -- queue ----------------------------------------------------------------------------
    def schedule(self, job: Item, delay_s: float | None, params: list[ParamValue] | None,
                 cause: dict) -> tuple[QItem, bool]:
        """Queue.schedule2: returns (item, created).  Coalesces with an equivalent queued item."""
        now = time.time()
        if delay_s is None:
            qp = job.cfg.quiet_period
            delay_s = qp if qp is not None else self.quiet_period
        due = now + max(0.0, delay_s)
        for q in self.queue.values():
            if q.job is job and q.same_params(params):
                # Coalescing: cause folded in, earlier due time wins (spec §4.1).
                if cause not in q.causes:
                    q.causes.append(cause)
                if q.state == "waiting" and due < q.due:
                    q.due = due
                self.kick()
                return q, False
        q = QItem(next(self._qid), job, params, [cause], due)
        self.queue[q.id] = q
        self.kick()
        return q, True

    def get_queue_item(self, qid: int) -> QItem | None:
        q = self.queue.get(qid)
        if q is not None:
            return q
        q = self.left.get(qid)
        if q is not None and time.time() - q.left_at >= self.left_item_ttl:
            self.left.pop(qid, None)
            return None
        return q

    def job_queue_items(self, job: Item) -> list[QItem]:
        return [q for q in self.queue.values() if q.job is job]

    def cancel(self, qid: int) -> str:
        """Returns 'cancelled', 'left' (already left: cannot cancel) or 'missing'."""
        q = self.queue.get(qid)
        if q is not None:
            self._cancel(q, time.time())
            self.kick()
            return "cancelled"
        if self.get_queue_item(qid) is not None:
            return "left"
        return "missing"

    def _cancel(self, q: QItem, now: float) -> None:
        self.queue.pop(q.id, None)
        q.cancelled = True
        self._leave(q, now)

    def _leave(self, q: QItem, now: float) -> None:
        q.state = "left"
        q.left_at = now
        self.left[q.id] = q
        heapq.heappush(self._left_order, (now, q.id))

    def free_executors(self) -> int:
        return self.executors - len(self.busy)

    def _free_slot(self) -> int | None:
        if len(self.busy) >= self.executors:  # e.g. after the count was lowered
            return None
        for i in range(max(self.executors, 0)):
            if i not in self.busy:
                return i
        return None

    def _maintain(self, now: float) -> float | None:
        """Advance the simulation to ``now``; returns the next time something is due."""
        nxt: list[float] = []
        # 1. builds that end
        for b in list(self.running.values()):
            if b.start + b.planned_s <= now:
                self._finish_build(b, now, b.final_result)
        # 2. items whose executable appears
        while self._pending_start and self._pending_start[0][0] <= now:
            _, _, q = heapq.heappop(self._pending_start)
            self._start_build(q, now)
        if self._pending_start:
            nxt.append(self._pending_start[0][0])
        # 3. waiting -> buildable/blocked -> left
        for q in list(self.queue.values()):
            if q.state == "waiting":
                if q.due > now:
                    nxt.append(q.due)
                    continue
                q.state = "buildable"
                q.buildable_since = int(now * 1000)
            job = q.job
            if not job.concurrent:
                busy = [b for b in job.running()] or [x for x in self.busy.values()
                                                      if isinstance(x, QItem) and x.job is job]
                if busy:
                    q.state = "blocked"
                    if isinstance(busy[0], Build):
                        est = job.estimated_duration()
                        eta = "" if est < 0 else f" (ETA: {time_span(max(0, est - busy[0].duration_ms_running(now)))})"
                        q.blocked_why = f"Build #{busy[0].number} is already in progress{eta}"
                    else:
                        q.blocked_why = "A build is already in progress"
                    continue
            q.state = "buildable"
            if self.quieting_down:
                continue
            slot = self._free_slot()
            if slot is None:
                continue
            # Queue.onStartExecuting: the LeftItem exists before the executable is set (spec §4.3)
            del self.queue[q.id]
            self._leave(q, now)
            self.busy[slot] = q
            q._slot = slot
            start_at = now + self.executable_delay_s
            heapq.heappush(self._pending_start, (start_at, q.id, q))
            nxt.append(start_at)
        # logs that close after the result is set
        while self._closing and self._closing[0][0] <= now:
            heapq.heappop(self._closing)[2].close()
        if self._closing:
            nxt.append(self._closing[0][0])
        # builds started above end later
        for b in self.running.values():
            nxt.append(b.start + b.planned_s)
        if self.on_idle is not None and not self.running and not self.busy:
            cb, self.on_idle = self.on_idle, None
            cb()
            nxt.append(now)  # the callback may have changed what can run: maintain again
        # 4. left items expire
        while self._left_order and self._left_order[0][0] + self.left_item_ttl <= now:
            _, qid = heapq.heappop(self._left_order)
            self.left.pop(qid, None)
        if self._left_order:
            nxt.append(self._left_order[0][0] + self.left_item_ttl)
        return min(nxt) if nxt else None

    def _start_build(self, q: QItem, now: float) -> None:
        job = q.job
        slot = getattr(q, "_slot", None)
        if job.deleted:
            self.busy.pop(slot, None)
            return
        beh = self.behaviour_for(job, consume=True)
        dur = beh.duration_ms if beh.duration_ms is not None else self.default_duration_ms
        number = job.next_build_number
        job.next_build_number += 1
        b = Build(self, job, number, q, beh, dur)
        b.executor_slot = slot
        job.builds[number] = b
        q.build = b
        self.busy[slot] = b
        self.running[id(b)] = b

    def _finish_build(self, b: Build, now: float, result: str, extra: list[str] = ()) -> None:
        if b.result is not None:
            return
        delay = self.log_close_delay_s
        b.finish(now, result, extra, close=delay <= 0)
        if delay > 0:
            heapq.heappush(self._closing, (now + delay, id(b), b))
        self.running.pop(id(b), None)
        if b.executor_slot is not None and self.busy.get(b.executor_slot) is b:
            del self.busy[b.executor_slot]
        self.kick()

    def abort(self, b: Build, user: str, how: str) -> None:
        now = time.time()
        if b.result is not None:
            return
        extra = {"stop": [f"Aborted by {user}"], "term": ["Terminating the build"],
                 "kill": ["Hard kill!"]}[how]
        self._finish_build(b, now, "ABORTED", extra)

    def set_executors(self, n: int) -> None:
        self.executors = max(0, int(n))
        self.kick()


def _running_ms(self: Build, now: float) -> int:
    return int((now - self.start) * 1000)


Build.duration_ms_running = _running_ms
