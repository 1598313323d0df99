"""Plan and apply Jenkins items (folders, pipeline and multibranch jobs) against a live controller.

How it decides, per desired item (see docs/jobs.md):

* One listing request, `api/json?tree=jobs[name,description,color,jobs[...]]` nested as deep as the
  desired folders (deeper live folders cost one more listing each), gives every item's class and
  description. The description of an item we own ends with the ownership marker carrying the hash
  of the spec we last applied (`render.jobs.marker`).
* absent -> **create**; marker hash differs from the desired spec -> **update**; no marker ->
  **foreign** (never touched unless `adopt`); marker matches -> unchanged, or, with `verify` (which
  fetches every owned config.xml), **drifted** when the normalized live XML differs from the desired
  one (someone edited the job since our last apply). Items we own that are no longer desired are
  **orphaned**; `prune` decides whether they are left alone, disabled or deleted. A folder is only
  deleted when nothing inside it is foreign.
* Apply runs bounded workers; a child waits for its parent folder; deletes go children first. Every
  operation is idempotent and one item's failure never stops the others. A create that may or may not
  have reached Jenkins (dropped connection, 500) is never blindly repeated: the item is looked up
  first and only created again if it is not there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from jenkins_kit.jenkins.errors import JenkinsError, NotFoundError
from jenkins_kit.jenkins.xmlnorm import XmlNormError, normalize
from jenkins_kit.plan import Change, Plan, text_diff
from jenkins_kit.render.jobs import JENKINS_CLASS, RenderedJob, item_digest, read_marker, render_all

PRUNE_MODES = ("ignore", "disable", "delete")
_KIND_OF_CLASS = {v: k for k, v in JENKINS_CLASS.items()}
_KIND_TITLE = {"pipeline": "Pipeline", "multibranch": "Multibranch", "folder": "Folder", "freestyle": "Freestyle", "other": "Item"}
_LISTED_FIELDS = "name,description,color,disabled"


class JobsError(Exception):
    pass


# ----------------------------------------------------------------------------------------- live
@dataclass
class LiveItem:
    full_name: str
    cls: str
    description: str | None
    color: str | None = None
    disabled: bool | None = None
    is_container: bool = False
    children_listed: bool = True

    @property
    def kind(self) -> str:
        return _KIND_OF_CLASS.get(self.cls, "other")

    @property
    def owned_hash(self) -> str | None:
        """The spec hash of the marker, whoever wrote it (see `Owner.mine` for ours)."""
        m = read_marker(self.description)
        return m.spec if m else None

    @property
    def is_disabled(self) -> bool:
        return bool(self.disabled) or (self.color or "").startswith("disabled")


@dataclass(frozen=True)
class Owner:
    """Whose items a plan acts on: the config's `jobs.owner` (render.jobs.owner_of). `legacy` also claims
    items carrying the marker of jenkins-kit versions before ownership per config (no owner in it): true
    for a config that keeps the default owner, i.e. the single config such a Jenkins was managed with."""

    name: str
    legacy: bool = True

    def classify(self, item_name: str, description: str | None) -> tuple[str, str | None]:
        """("mine", spec) | ("none", None) | ("copy", None) | ("other", other owner) | ("legacy", None).

        "copy": our marker on an item whose full name is not the one we wrote it under (a UI copy, or
        an item moved by hand): it is not ours, so never updated or pruned (adoptable like any
        foreign item). "other": written by another config sharing this Jenkins: listed, never touched.
        """
        m = read_marker(description)
        if m is None:
            return "none", None
        if m.owner is None:
            return ("mine", m.spec) if self.legacy else ("legacy", None)
        if m.item != item_digest(item_name):
            return "copy", None
        if m.owner != self.name:
            return "other", m.owner
        return "mine", m.spec

    def mine(self, item: "LiveItem") -> str | None:
        state, spec = self.classify(item.full_name, item.description)
        return spec if state == "mine" else None


def owner_for(cfg: Any) -> Owner:
    """The config's Owner: with the default owner it also claims pre-ownership (legacy) markers."""
    from jenkins_kit.render.jobs import owner_of

    return Owner(owner_of(cfg), legacy=cfg.jobs.owner is None)


def _tree(levels: int) -> str:
    t = _LISTED_FIELDS
    for _ in range(levels - 1):
        t = f"{_LISTED_FIELDS},jobs[{t}]"
    return f"jobs[{t}]"


def list_items(client: Any, levels: int = 2) -> dict[str, LiveItem]:
    """Every item, keyed by lower-cased full name, in as few requests as possible.

    Multibranch projects' branch jobs are not listed (Jenkins computes them; they are part of the
    project). Folders deeper than `levels` are listed with one more request each.
    """
    out: dict[str, LiveItem] = {}
    todo: list[tuple[str, int]] = [("", max(1, levels))]
    while todo:
        prefix, lv = todo.pop(0)
        path = client.job_url_path(prefix) if prefix else ""
        data = client.get_json(path, tree=_tree(lv))
        if prefix:
            out[prefix.lower()].children_listed = True  # its own listing has now been read
        _collect(data.get("jobs") or [], prefix, lv, out, todo)
    return out


def _collect(jobs: list[dict], prefix: str, lv: int, out: dict[str, LiveItem], todo: list[tuple[str, int]]) -> None:
    for j in jobs:
        name = j.get("name")
        if not isinstance(name, str):
            continue
        full = f"{prefix}/{name}" if prefix else name
        cls = j.get("_class") or ""
        kind = _KIND_OF_CLASS.get(cls, "other")
        container = "jobs" in j or kind in ("folder", "multibranch") or cls.endswith("Folder")
        item = LiveItem(full, cls, j.get("description"), j.get("color"), j.get("disabled"), container)
        out[full.lower()] = item
        if kind == "multibranch":
            continue  # branch jobs belong to the project
        if container:
            if "jobs" in j:
                _collect(j["jobs"] or [], full, lv - 1, out, todo)
            elif lv <= 1:
                item.children_listed = False
                todo.append((full, 3))


# ----------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class JobChange(Change):
    """A Change for one Jenkins item, with the sync state (create, update, unchanged, drifted,
    orphaned, foreign, adopt) and what apply will do (`op`: create, update, replace, delete,
    disable, or '' for nothing)."""

    state: str = ""
    op: str = ""
    item_kind: str = ""

    def to_json(self) -> dict[str, Any]:
        d = super().to_json()
        d.update(state=self.state, op=self.op, item_kind=self.item_kind)
        return d


@dataclass
class JobPlan:
    plan: Plan
    desired: dict[str, RenderedJob]  # lower full name -> job
    live: dict[str, LiveItem]
    requests: int = 0
    owner: Owner | None = None

    @property
    def changes(self) -> list[JobChange]:
        return list(self.plan.changes)  # type: ignore[arg-type]

    @property
    def pending(self) -> list[JobChange]:
        return [c for c in self.changes if c.op]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.state] = out.get(c.state, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "pending": len(self.pending),
            "counts": self.counts(),
            "changes": [c.to_json() for c in self.changes],
        }


def _change(job_kind: str, name: str, state: str, op: str, reason: str, before: str | None = None,
            after: str | None = None, diff: str = "") -> JobChange:
    action = {"create": "create", "update": "update", "replace": "update", "disable": "update", "delete": "delete"}.get(op)
    if action is None:
        action = "conflict" if state == "foreign" else ("skip" if state in ("orphaned", "other") else "noop")
    return JobChange(
        kind=_KIND_TITLE.get(job_kind, "Item"), name=name, action=action, before=before, after=after,  # type: ignore[arg-type]
        reason=reason, diff=diff, world="jobs", state=state, op=op, item_kind=job_kind,
    )


def _diff(live_xml: str | None, desired_xml: str, name: str) -> str:
    if live_xml is None:
        return ""
    try:
        return text_diff(normalize(live_xml), normalize(desired_xml), name)
    except XmlNormError:
        return text_diff(live_xml, desired_xml, name)


def _after(d: RenderedJob, live_xml: str | None, diffs: bool) -> tuple[str | None, str]:
    """(after, diff) of a change: rendered only when the plan shows diffs (apply renders what it sends)."""
    if not diffs:
        return None, ""
    return d.config_xml, _diff(live_xml, d.config_xml, d.full_name)


def _parallel(fn: Callable[[Any], Any], items: Iterable[Any], workers: int) -> list[Any]:
    items = list(items)
    if not items:
        return []
    if workers <= 1 or len(items) == 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(fn, items))


def _fetch_config(client: Any, full_name: str) -> str | None:
    resp = client.get(client.job_url_path(full_name) + "config.xml", allow_404=True)
    if resp.status_code == 404:
        return None
    resp.encoding = resp.encoding or "utf-8"
    return resp.text


def plan_jobs(
    client: Any,
    desired: list[RenderedJob],
    *,
    verify: bool = False,
    adopt: bool = False,
    prune: str = "ignore",
    diffs: bool = True,
    workers: int = 16,
    live: dict[str, LiveItem] | None = None,
    owner: Owner | str | None = None,
    adopt_from: Iterable[str] = (),
) -> JobPlan:
    """Compare desired items with the live controller. `diffs` fetches the live config.xml of items
    that will change so the plan can show what changes (apply passes False: it does not need them).

    `owner` (default: the owner the desired items were rendered for) bounds everything: only items
    carrying its marker are updated, verified or pruned; `adopt` takes over unmanaged items (and UI
    copies), never another config's, except from the owners named in `adopt_from` (a renamed `jobs.owner`,
    jobs moved between configs): their items this config desires are taken over; the rest stay theirs."""
    if prune not in PRUNE_MODES:
        raise ValueError(f"prune must be one of {PRUNE_MODES}")
    if owner is None:
        names = {j.owner for j in desired if j.owner}
        if len(names) != 1:
            raise ValueError("plan_jobs needs the owner: pass owner= (no desired item says whose it is)")
        owner = Owner(names.pop())
    elif isinstance(owner, str):
        owner = Owner(owner)
    own = owner
    takeover = set(adopt_from)
    want = {j.full_name.lower(): j for j in desired}
    levels = max((j.depth for j in desired), default=0) + 2
    if live is None:
        live = list_items(client, levels)

    # Which live configs we need: owned items when verifying; changing/adopted items for the diff.
    fetch: list[str] = []
    for key, d in want.items():
        l = live.get(key)
        if l is None:
            continue
        h = own.mine(l)
        if h is None:
            if (adopt or own.classify(l.full_name, l.description)[1] in takeover) and diffs:
                fetch.append(l.full_name)
        elif h == d.spec_hash:
            if verify:
                fetch.append(l.full_name)
        elif diffs:
            fetch.append(l.full_name)
    configs: dict[str, str | None] = dict(zip([f.lower() for f in fetch], _parallel(lambda n: _fetch_config(client, n), fetch, workers)))
    # What the loop below compares or diffs, rendered at once (on every core when there are many);
    # in the loop's order, so the first error is the one the loop would meet.
    render_all([d for key, d in want.items() if key in configs or (diffs and key not in live)])

    plan = Plan()
    for key, d in want.items():
        l = live.get(key)
        name = d.full_name
        if l is None:
            plan.add(_change(d.kind, name, "create", "create", "not in Jenkins", None, d.config_xml if diffs else None,
                             text_diff("", d.config_xml, name) if diffs and d.kind != "folder" else ""))
            continue
        who, other = own.classify(l.full_name, l.description)
        h = own.mine(l)
        live_xml = configs.get(key)
        if who == "other" and other in takeover and l.kind == d.kind:
            plan.add(_change(d.kind, name, "adopt", "update", f"managed by jenkins-kit config {other!r}; --adopt-from takes it over",
                             live_xml, *_after(d, live_xml, diffs)))
            continue
        if who == "other":
            if d.kind == "folder" and l.kind == "folder":  # a folder both configs put jobs in: shared, as it is
                plan.add(_change(d.kind, name, "other", "", f"folder of another jenkins-kit config ({other!r}); "
                                 "this config's jobs go inside it"))
            else:
                plan.add(_change(d.kind, name, "foreign", "", f"managed by another jenkins-kit config ({other!r}), not touched: "
                                 "remove it from that config first (or give this one another name/folder)"))
            continue
        if h is None:
            what = {"copy": "carries a jenkins-kit marker written for another item (a copy made in Jenkins?)",
                    "legacy": "carries a jenkins-kit marker without an owner (written before jobs.owner was set)"}.get(
                who, "not managed by jenkins-kit")
            if l.kind != d.kind:
                plan.add(_change(d.kind, name, "foreign", "", f"exists as a {l.cls or 'different item'}, {what}"))
            elif adopt:
                plan.add(_change(d.kind, name, "adopt", "update", f"{what}; --adopt takes it over",
                                 live_xml, *_after(d, live_xml, diffs)))
            else:
                plan.add(_change(d.kind, name, "foreign", "", f"exists, {what} (use --adopt to take it over)"))
            continue
        if l.kind != d.kind:
            if d.kind == "folder" or l.kind == "folder":
                plan.add(_change(d.kind, name, "foreign", "", f"managed item is a {l.kind}, desired is a {d.kind}: "
                                 "replacing would delete what is inside; delete it by hand"))
            else:
                plan.add(_change(d.kind, name, "update", "replace", f"type changes from {l.kind} to {d.kind}: delete and create",
                                 live_xml, d.config_xml if diffs else None))
            continue
        if h != d.spec_hash:
            plan.add(_change(d.kind, name, "update", "update", "desired config changed since the last apply",
                             live_xml, *_after(d, live_xml, diffs)))
            continue
        if d.kind in ("pipeline", "freestyle") and l.is_disabled != d.disabled:  # known without rendering
            # Seen in the listing itself (color), e.g. after `--prune disable` or a UI toggle: the
            # marker cannot show it, and the job coming back must be enabled again.
            state_live = "disabled" if l.is_disabled else "enabled"
            plan.add(_change(d.kind, name, "drifted", "update", f"is {state_live} in Jenkins, not in the config",
                             live_xml, *_after(d, live_xml, diffs)))
            continue
        if verify:
            if live_xml is None:  # vanished between listing and fetch
                plan.add(_change(d.kind, name, "create", "create", "not in Jenkins", None, d.config_xml))
                continue
            # Equal once normalized: even unsaved, Jenkins never stores our bytes as sent; createItem
            # and POST config.xml keep the output of an identity transform (XMLUtils.safeTransform:
            # new declaration, <x/>, quotes unescaped), which normalize() maps back to the same text
            # (tests/test_double_identity.py checks this against the JDK). Byte equality is kept as
            # a cheap first test for controllers or proxies that do store bytes verbatim.
            try:
                same = live_xml == d.config_xml or normalize(live_xml) == normalize(d.config_xml)
            except XmlNormError:
                same = False
            if not same:
                plan.add(_change(d.kind, name, "drifted", "update", "live config was edited since the last apply",
                                 live_xml, d.config_xml, _diff(live_xml, d.config_xml, name)))
                continue
        plan.add(_change(d.kind, name, "unchanged", "", "verified" if verify else "marker matches the desired spec"))

    # Orphans: ours, not desired. Deepest first so deletes can run children before parents.
    for k, l in sorted(live.items()):
        if k in want or _inside_multibranch(l, live):
            continue
        who, other = own.classify(l.full_name, l.description)
        if who == "other":
            kind = l.kind if l.kind != "other" else "pipeline"
            plan.add(_change(kind, l.full_name, "other", "", f"managed by another jenkins-kit config ({other!r}): never pruned from here"))
    orphans = [l for k, l in live.items() if k not in want and own.mine(l) is not None and not _inside_multibranch(l, live)]
    orphans.sort(key=lambda l: (-l.full_name.count("/"), l.full_name.lower()))
    for l in orphans:
        kind = l.kind if l.kind != "other" else "pipeline"
        if prune == "ignore":
            plan.add(_change(kind, l.full_name, "orphaned", "", "managed by jenkins-kit, no longer desired (--prune=disable|delete)"))
        elif prune == "disable":
            if l.kind == "folder" or l.is_container and l.kind != "multibranch":
                plan.add(_change(kind, l.full_name, "orphaned", "", "no longer desired; folders cannot be disabled (--prune=delete)"))
            elif l.is_disabled:
                plan.add(_change(kind, l.full_name, "orphaned", "", "no longer desired; already disabled"))
            else:
                plan.add(_change(kind, l.full_name, "orphaned", "disable", "no longer desired: disable"))
        else:
            blockers = _foreign_inside(l, live, want, own)
            if blockers:
                plan.add(_change(kind, l.full_name, "orphaned", "", f"no longer desired, but holds items not managed by jenkins-kit "
                                 f"({', '.join(sorted(blockers)[:3])}{'...' if len(blockers) > 3 else ''}): not deleted"))
            else:
                plan.add(_change(kind, l.full_name, "orphaned", "delete", "no longer desired: delete"))
    return JobPlan(plan, want, live, owner=own)


def _inside_multibranch(item: LiveItem, live: dict[str, LiveItem]) -> bool:
    parts = item.full_name.split("/")
    for k in range(1, len(parts)):
        p = live.get("/".join(parts[:k]).lower())
        if p is not None and p.kind == "multibranch":
            return True
    return False


def _foreign_inside(folder: LiveItem, live: dict[str, LiveItem], want: dict[str, RenderedJob], own: Owner) -> list[str]:
    """What deleting this folder would take with it that is not ours (or whose content we never listed)."""
    if folder.kind == "multibranch" or not folder.is_container:
        return []
    if not folder.children_listed:
        return [f"{folder.full_name}/*"]
    prefix = folder.full_name.lower() + "/"
    out = []
    for k, l in live.items():
        if not k.startswith(prefix) or _inside_multibranch(l, live):
            continue
        if own.mine(l) is None or k in want or not l.children_listed:
            out.append(l.full_name)
    return out


# ----------------------------------------------------------------------------------------- apply
@dataclass
class Outcome:
    name: str
    op: str
    ok: bool
    message: str = ""
    attempts: int = 1


@dataclass
class ApplyReport:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            if o.ok:
                out[o.op] = out.get(o.op, 0) + 1
        out["failed"] = len(self.failures)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "outcomes": [o.__dict__ for o in self.outcomes],
            "failures": [o.__dict__ for o in self.failures],
        }


def _msg(e: BaseException) -> str:
    if isinstance(e, JenkinsError):
        status = f"HTTP {e.status}: " if e.status else ""
        sm = getattr(e, "server_message", None)
        return f"{status}{sm or e.message}"
    return f"{type(e).__name__}: {e}"


class _Applier:
    def __init__(self, client: Any, jplan: JobPlan, create_retries: int = 3) -> None:
        self.client = client
        self.jplan = jplan
        self.create_retries = create_retries

    def _parent_path(self, full: str) -> str:
        parent = full.rsplit("/", 1)[0] if "/" in full else ""
        return self.client.job_url_path(parent) if parent else ""

    def _lookup(self, full: str) -> tuple[str | None, str | None] | None:
        """(class, description) of an item, or None if it does not exist."""
        resp = self.client.get(self.client.job_url_path(full) + "api/json", {"tree": "name,description"}, allow_404=True)
        if resp.status_code == 404:
            return None
        data = resp.json()
        return data.get("_class"), data.get("description")

    def create(self, job: RenderedJob) -> int:
        """Create, never twice: after any error that may have reached Jenkins, look before trying again."""
        attempts = 0
        while True:
            attempts += 1
            try:
                self.client.post_xml(self._parent_path(job.full_name) + "createItem", job.config_xml,
                                     params={"name": job.name}, idempotent=False)
                return attempts
            except JenkinsError as e:
                already = e.status == 400 and "already exists" in (getattr(e, "server_message", "") or e.message)
                if not (already or e.may_have_been_applied or e.status in (500, 502, 503, 504)):
                    raise
                if attempts > self.create_retries:
                    raise
                found = self._lookup(job.full_name)
                if found is None:
                    time.sleep(min(0.05 * attempts, 0.5))
                    continue  # it did not happen: create again
                cls, desc = found
                own = self.jplan.owner or Owner(job.owner or "")
                h = own.mine(LiveItem(job.full_name, cls or "", desc))
                if h == job.spec_hash:
                    return attempts  # the earlier attempt went through
                if h is not None and _KIND_OF_CLASS.get(cls or "") == job.kind:
                    self.update(job)
                    return attempts + 1
                raise JobsError(f"{job.full_name} appeared meanwhile and is not managed by jenkins-kit "
                                f"(created by someone else?): left alone") from None

    def update(self, job: RenderedJob) -> int:
        try:
            self.client.post_xml(self.client.job_url_path(job.full_name) + "config.xml", job.config_xml, idempotent=True)
            return 1
        except NotFoundError:
            return 1 + self.create(job)  # deleted since we listed it

    def after_create(self, job: RenderedJob) -> None:
        if job.kind == "multibranch":  # creating from XML does not schedule branch indexing (§7.5)
            try:
                self.client.post(self.client.job_url_path(job.full_name) + "build", params={"delay": "0sec"}, idempotent=True)
            except JenkinsError:
                pass  # a scan is a convenience; Jenkins scans on its own trigger or the next apply

    def run(self, c: JobChange) -> Outcome:
        jobs = self.jplan.desired
        job = jobs.get(c.name.lower())
        try:
            if c.op == "create":
                assert job is not None
                n = self.create(job)
                self.after_create(job)
            elif c.op == "update":
                assert job is not None
                n = self.update(job)
            elif c.op == "replace":
                assert job is not None
                self.client.delete(self.client.job_url_path(job.full_name), missing_ok=True)
                n = 1 + self.create(job)
                self.after_create(job)
            elif c.op == "delete":
                self.client.delete(self.client.job_url_path(c.name), missing_ok=True)
                n = 1
            elif c.op == "disable":
                self.client.post(self.client.job_url_path(c.name) + "disable", idempotent=True)
                n = 1
            else:
                return Outcome(c.name, c.op or c.state, True, "", 0)
            return Outcome(c.name, c.op, True, "", n)
        except Exception as e:  # noqa: BLE001 -- one item's failure never stops the others
            return Outcome(c.name, c.op, False, _msg(e))


def render_pending(jplan: JobPlan) -> None:
    """Render what the plan will send, before anything is sent: a value no template can carry is an
    error that changes nothing, not a failure halfway through. Call it before starting threads of
    your own (a progress bar's): with none running, many jobs render on every core."""
    render_all([jplan.desired[c.name.lower()] for c in jplan.pending if c.name.lower() in jplan.desired])


def apply_plan(client: Any, jplan: JobPlan, *, workers: int = 16,
               progress: Callable[[Outcome], None] | None = None) -> ApplyReport:
    """Execute the pending changes of a plan. Parents before children, deletes children first."""
    t0 = time.monotonic()
    applier = _Applier(client, jplan)
    pending = jplan.pending
    render_pending(jplan)
    writes = [c for c in pending if c.op in ("create", "update", "replace", "disable")]
    deletes = [c for c in pending if c.op == "delete"]
    # Folders first by depth, then the rest: FIFO submission means a parent always starts before
    # its children, so waiting on the parent's future cannot deadlock the pool.
    writes.sort(key=lambda c: (0 if c.item_kind == "folder" else 1, c.name.count("/"), c.name.lower()))
    deletes.sort(key=lambda c: (-c.name.count("/"), c.name.lower()))
    report = ApplyReport()
    lock = threading.Lock()
    futures: dict[str, Future] = {}

    def record(o: Outcome) -> Outcome:
        with lock:
            report.outcomes.append(o)
        if progress:
            progress(o)
        return o

    def do_write(c: JobChange) -> Outcome:
        parts = c.name.split("/")
        for k in range(len(parts) - 1, 0, -1):
            f = futures.get("/".join(parts[:k]).lower())
            if f is not None:
                po = f.result()
                if not po.ok:
                    return record(Outcome(c.name, c.op, False, f"not attempted: folder {po.name} failed ({po.message})", 0))
                break
        return record(applier.run(c))

    def do_delete(c: JobChange) -> Outcome:
        prefix = c.name.lower() + "/"
        for k, f in list(futures.items()):
            if k.startswith(prefix):
                co = f.result()
                if not co.ok:
                    return record(Outcome(c.name, c.op, False, f"not attempted: {co.name} inside it failed", 0))
        return record(applier.run(c))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        for c in writes:
            futures[c.name.lower()] = ex.submit(do_write, c)
        for f in list(futures.values()):
            f.result()
        futures.clear()
        for c in deletes:
            futures[c.name.lower()] = ex.submit(do_delete, c)
        for f in list(futures.values()):
            f.result()
    report.seconds = time.monotonic() - t0
    return report


def sync(client: Any, desired: list[RenderedJob], *, verify: bool = False, adopt: bool = False, prune: str = "ignore",
         workers: int = 16, owner: Owner | str | None = None, adopt_from: Iterable[str] = ()) -> tuple[JobPlan, ApplyReport]:
    """plan (without diffs) + apply: what `jenkins-kit jobs apply` does."""
    jp = plan_jobs(client, desired, verify=verify, adopt=adopt, prune=prune, diffs=False, workers=workers, owner=owner,
                   adopt_from=adopt_from)
    return jp, apply_plan(client, jp, workers=workers)
