"""Exported JSON shapes (Stapler beans) of the double's model objects.

Shapes and visibilities follow the spec: root (§1.4), WorkflowJob (§3.9), Folder (§3.9),
queue items (§4.3), WorkflowRun (§4.5), computers (§6.7), plugins (§6.1), whoAmI (§1.3).
Visibility numbers are chosen so that ``depth=0`` yields exactly the spec's depth-0 samples
(e.g. nested jobs show ``name``/``url``/``color``; runs ``number``/``url``; parameter
definitions with their ``defaultParameterValue`` are visible at depth 0).
"""
from __future__ import annotations

import time

from .state import FREESTYLE_BUILD, WORKFLOW_RUN, Build, Engine, Item, QItem
from .tree import Bean
from .views import view_bean
from .xmlconf import PLUGINS


def _p(name, vis, val, inline=False):
    return (name, vis, val, inline)


def run_class(b: Build) -> str:
    return FREESTYLE_BUILD if b.job.kind == "freestyle" else WORKFLOW_RUN


def cause_bean(c: dict) -> Bean:
    if c["kind"] == "remote":
        note = f" with note: {c['note']}" if c.get("note") else ""
        return Bean("hudson.model.Cause$RemoteCause", (
            _p("shortDescription", 3, f"Started by remote host {c['addr']}{note}"),
            _p("addr", 3, c["addr"]), _p("note", 3, c.get("note"))))
    return Bean("hudson.model.Cause$UserIdCause", (
        _p("shortDescription", 3, f"Started by user {c['user']}"),
        _p("userId", 3, c["user"]), _p("userName", 3, c["user"])))


def cause_action(causes: list[dict]) -> Bean:
    return Bean("hudson.model.CauseAction", (_p("causes", 2, [cause_bean(c) for c in causes]),))


def params_action(params) -> Bean:
    return Bean("hudson.model.ParametersAction", (_p("parameters", 2, [p.bean() for p in params]),))


def run_bean(b: Build) -> Bean:
    bean = b._bean
    if bean is None:
        bean = b._bean = _run_bean(b)
    return bean


def _run_bean(b: Build) -> Bean:
    job = b.job

    def actions():
        acts = [cause_action(b.causes)]
        if b.params is not None:
            acts.append(params_action(b.params))
        acts += [{}, Bean("org.jenkinsci.plugins.workflow.job.views.FlowGraphAction", ()), {}]
        return acts

    def prev():
        keys = [n for n in job.builds if n < b.number]
        return run_bean(job.builds[keys[-1]]) if keys else None

    def nxt():
        keys = [n for n in job.builds if n > b.number]
        return run_bean(job.builds[keys[0]]) if keys else None

    def executor():
        if b.result is not None:
            return None
        return Bean("hudson.model.OneOffExecutor", (
            _p("currentExecutable", 1, lambda: run_bean(b)), _p("idle", 1, False),
            _p("likelyStuck", 1, False), _p("number", 1, -1),
            _p("progress", 1, lambda: _progress(b))))

    return Bean(run_class(b), (
        _p("actions", 1, actions),
        _p("artifacts", 1, []),
        _p("building", 1, lambda: b.result is None),
        _p("description", 1, None),
        _p("displayName", 1, f"#{b.number}"),
        _p("duration", 1, lambda: b.duration_ms()),
        _p("estimatedDuration", 1, lambda: job.estimated_duration()),
        _p("executor", 1, executor),
        _p("fullDisplayName", 1, lambda: f"{job.full_display_name} #{b.number}"),
        _p("id", 1, str(b.number)),
        _p("inProgress", 1, lambda: b.result is None),
        _p("keepLog", 1, False),
        _p("number", 2, b.number),
        _p("queueId", 1, b.queue_id),
        _p("result", 1, lambda: b.result),
        _p("timestamp", 1, b.start_ms),
        _p("url", 2, lambda: b.url),
        _p("changeSets", 1, []),
        _p("culprits", 1, []),
        _p("nextBuild", 1, nxt),
        _p("previousBuild", 1, prev),
    ))


def _progress(b: Build) -> int:
    est = b.planned_s
    if est <= 0:
        return 99
    return min(99, int(100 * (time.time() - b.start) / est))


def param_def_bean(d) -> Bean:
    from .state import ParamValue
    props = [
        _p("defaultParameterValue", 3, ParamValue(d.name, d.value_class, d.default).bean()),
        _p("description", 3, d.description),
        _p("name", 3, d.name),
        _p("type", 3, d.type),
    ]
    if d.choices is not None:
        props.append(_p("choices", 3, list(d.choices)))
    return Bean(d.cls, props)


def property_beans(job: Item) -> list:
    out = []
    for cls in job.cfg.properties:
        if cls == "hudson.model.ParametersDefinitionProperty":
            out.append(Bean(cls, (_p("parameterDefinitions", 2, [param_def_bean(d) for d in job.params]),)))
        else:
            out.append(Bean(cls, ()))
    return out


def queue_item_bean(q: QItem) -> Bean:
    eng = q.job.engine
    kind = {"waiting": "WaitingItem", "blocked": "BlockedItem", "buildable": "BuildableItem",
            "left": "LeftItem"}[q.state]

    def actions():
        acts = [cause_action(q.causes)]
        if q.params is not None:
            acts.append(params_action(q.params))
        return acts

    def why():
        if q.state == "waiting":
            rem = (q.due - time.time()) * 1000
            if rem <= 0:
                return "Finished waiting"
            from .state import time_span
            return f"In the quiet period. Expires in {time_span(rem)}"
        if q.state == "blocked":
            return q.blocked_why
        if q.state == "buildable":
            if eng.quieting_down:
                return "Jenkins is about to shut down"
            return "Waiting for next available executor"
        return None

    props = [
        _p("actions", 1, actions),
        _p("blocked", 1, q.state == "blocked"),
        _p("buildable", 1, q.state == "buildable"),
        _p("id", 1, q.id),
        _p("inQueueSince", 1, q.in_queue_since),
        _p("params", 1, "".join("\n" + p.short() for p in (q.params or []))),
        _p("stuck", 1, False),
        _p("task", 1, lambda: job_bean(q.job)),
        _p("url", 1, q.url_path),
        _p("why", 1, why),
    ]
    if q.state == "waiting":
        props.append(_p("timestamp", 1, int(q.due * 1000)))
    elif q.state in ("blocked", "buildable"):
        props.append(_p("buildableStartMilliseconds", 1, q.buildable_since))
        if q.state == "buildable":
            props.append(_p("pending", 1, False))
    else:
        props.append(_p("cancelled", 1, q.cancelled))
        props.append(_p("executable", 1, lambda: run_bean(q.build) if q.build is not None else None))
    return Bean(f"hudson.model.Queue${kind}", props)


def _views(eng: Engine, owner: Item | None) -> list[Bean]:
    store = eng.view_store
    return [view_bean(store, v, job_bean) for v in store.views(owner)]


def _primary_view(eng: Engine, owner: Item | None) -> Bean:
    store = eng.view_store
    return view_bean(store, store.primary(owner), job_bean)


def job_bean(job: Item) -> Bean:
    """Cached per item: every changing value is a callable evaluated at export time."""
    b = job._bean
    if b is None:
        b = job._bean = folder_bean(job) if job.is_group else _job_bean(job)
    return b


def _job_bean(job: Item) -> Bean:
    eng = job.engine

    def builds():
        return [run_bean(b) for b in list(reversed(job.builds.values()))[:100]]

    def all_builds():
        return [run_bean(b) for b in reversed(job.builds.values())]

    def link(name):
        def f():
            if name == "firstBuild":
                b = next(iter(job.builds.values()), None)
            else:
                b = job.permalink(name)
            return run_bean(b) if b is not None else None
        return f

    def queue_item():
        qs = eng.job_queue_items(job)
        return queue_item_bean(qs[0]) if qs else None

    props = [
        _p("actions", 1, lambda: [{}, {}, Bean("com.cloudbees.plugins.credentials.ViewCredentialsAction", ())]),
        _p("description", 1, lambda: job.description),
        _p("displayName", 1, lambda: job.name),
        _p("displayNameOrNull", 1, None),
        _p("fullDisplayName", 1, lambda: job.full_display_name),
        _p("fullName", 1, lambda: job.full_name),
        _p("name", 2, lambda: job.name),
        _p("url", 2, lambda: job.url),
        _p("buildable", 1, lambda: job.buildable),
        _p("builds", 1, builds),
        _p("color", 2, job.color),
        _p("firstBuild", 1, link("firstBuild")),
        _p("healthReport", 1, job.health),
        _p("inQueue", 1, lambda: bool(eng.job_queue_items(job))),
        _p("keepDependencies", 1, False),
        _p("lastBuild", 1, link("lastBuild")),
        _p("lastCompletedBuild", 1, link("lastCompletedBuild")),
        _p("lastFailedBuild", 1, link("lastFailedBuild")),
        _p("lastStableBuild", 1, link("lastStableBuild")),
        _p("lastSuccessfulBuild", 1, link("lastSuccessfulBuild")),
        _p("lastUnstableBuild", 1, link("lastUnstableBuild")),
        _p("lastUnsuccessfulBuild", 1, link("lastUnsuccessfulBuild")),
        _p("nextBuildNumber", 1, lambda: job.next_build_number),
        _p("property", 1, lambda: property_beans(job)),
        _p("queueItem", 1, queue_item, True),
        _p("allBuilds", -2, all_builds),
    ]
    if job.kind == "workflow":
        # No "disabled" key: only exported since workflow-job 1532 (spec §3.5, checklist 12)
        props += [_p("concurrentBuild", 1, lambda: job.concurrent), _p("resumeBlocked", 1, False)]
    else:
        # FreeStyle projects always exported `disabled` (spec §3.5)
        props += [_p("concurrentBuild", 1, False), _p("disabled", 1, lambda: job.disabled),
                  _p("downstreamProjects", 1, []), _p("upstreamProjects", 1, []),
                  _p("scm", 1, Bean("hudson.scm.NullSCM", ()))]
    return Bean(job.java_class, props)


def folder_bean(f: Item) -> Bean:
    props = [
        _p("actions", 1, lambda: [{}, {}, Bean("com.cloudbees.plugins.credentials.ViewCredentialsAction", ())]),
        _p("description", 1, lambda: f.description),
        _p("displayName", 1, lambda: f.name),
        _p("displayNameOrNull", 1, None),
        _p("fullDisplayName", 1, lambda: f.full_display_name),
        _p("fullName", 1, lambda: f.full_name),
        _p("name", 2, lambda: f.name),
        _p("url", 2, lambda: f.url),
        _p("healthReport", 1, []),
        _p("jobs", 1, lambda: [job_bean(c) for c in f.children.sorted()]),
        _p("primaryView", 1, lambda: _primary_view(f.engine, f)),
        _p("views", 1, lambda: _views(f.engine, f)),
    ]
    if f.kind == "multibranch":
        props += [_p("buildable", 1, lambda: not f.disabled),
                  _p("disabled", 1, lambda: f.disabled)]
    return Bean(f.java_class, props)


def root_bean(eng: Engine, num_executors: int, use_crumbs: bool = True) -> Bean:
    url = eng.root_url
    return Bean("hudson.model.Hudson", (
        _p("assignedLabels", 1, [{"name": "built-in"}]),
        _p("mode", 1, "NORMAL"),
        _p("nodeDescription", 1, "the Jenkins controller's built-in node"),
        _p("nodeName", 1, ""),
        _p("numExecutors", 1, num_executors),
        _p("description", 1, None),
        _p("jobs", 1, lambda: [job_bean(c) for c in eng.root.sorted()]),
        _p("overallLoad", 1, {}),
        _p("primaryView", 1, lambda: _primary_view(eng, None)),
        _p("quietDownReason", 1, eng.quiet_down_reason),
        _p("quietingDown", 1, eng.quieting_down),
        _p("slaveAgentPort", 1, 50000),
        _p("unlabeledLoad", 1, Bean("jenkins.model.UnlabeledLoadStatistics", ())),
        _p("url", 1, url),
        _p("useCrumbs", 1, use_crumbs),
        _p("useSecurity", 1, True),
        _p("views", 1, lambda: _views(eng, None)),
    ))


def queue_bean(eng: Engine) -> Bean:
    return Bean("hudson.model.Queue", (
        _p("discoverableItems", 1, []),
        _p("items", 1, lambda: [queue_item_bean(q) for q in eng.queue.values()], True),
    ))


EXECUTOR = "hudson.model.Executor"


def executor_beans(eng: Engine, root: bool = False) -> list[Bean]:
    """``Computer.getExecutors()``.  Builds are shown on oneOffExecutors (WorkflowRun uses a
    flyweight executor, spec §4.3); the numbered executors only carry the simulated capacity.
    In a list their ``_class`` is not written (ExportConfig's ClassAttributeBehaviour.IF_NEEDED:
    the element type is Executor); as the root of ``executors/N/api/json`` it is
    [core hudson/model/Executor.java @Exported getNumber/isIdle/getProgress/isLikelyStuck,
    getCurrentExecutableForApi]."""
    return [Bean(EXECUTOR if root else None, (
        _p("currentExecutable", 1, None), _p("idle", 1, True), _p("likelyStuck", 1, False),
        _p("number", 1, i), _p("progress", 1, -1))) for i in range(eng.executors)]


def one_off_beans(eng: Engine, root: bool = False) -> list[Bean]:
    return [Bean("hudson.model.OneOffExecutor" if root else None, (
        _p("currentExecutable", 1, (lambda b=b: run_bean(b))), _p("idle", 1, False),
        _p("likelyStuck", 1, False), _p("number", 1, -1),
        _p("progress", 1, (lambda b=b: _progress(b)))))
        for b in list(eng.running.values())]


def computer_bean(eng: Engine) -> Bean:
    def executors():
        return executor_beans(eng)

    def one_off():
        return one_off_beans(eng)

    return Bean("hudson.model.Hudson$MasterComputer", (
        _p("actions", 1, []),
        _p("assignedLabels", 1, [{"name": "built-in"}]),
        _p("description", 1, "the Jenkins controller's built-in node"),
        _p("displayName", 1, "Built-In Node"),
        _p("executors", 1, executors),
        _p("icon", 1, "symbol-computer"),
        _p("iconClassName", 1, "symbol-computer"),
        _p("idle", 1, lambda: not eng.running),
        _p("jnlpAgent", 1, False),
        _p("launchSupported", 1, True),
        _p("loadStatistics", 1, Bean("hudson.model.Label$1", ())),
        _p("manualLaunchAllowed", 1, True),
        _p("monitorData", 1, {}),
        _p("numExecutors", 1, eng.executors),
        _p("offline", 1, False),
        _p("offlineCause", 1, None),
        _p("offlineCauseReason", 1, ""),
        _p("oneOffExecutors", 1, one_off),
        _p("temporarilyOffline", 1, False),
    ))


def computer_set_bean(eng: Engine) -> Bean:
    return Bean("hudson.model.ComputerSet", (
        _p("busyExecutors", 1, lambda: len(eng.running)),
        _p("computer", 1, lambda: [computer_bean(eng)], True),
        _p("displayName", 1, "Nodes"),
        _p("totalExecutors", 1, eng.executors),
    ))


def plugins_bean() -> Bean:
    deps = {
        "workflow-job": ["workflow-api", "workflow-step-api", "workflow-support"],
        "workflow-cps": ["workflow-api", "workflow-step-api", "workflow-support", "script-security"],
        "workflow-multibranch": ["workflow-job", "branch-api", "scm-api", "cloudbees-folder"],
        "branch-api": ["cloudbees-folder", "scm-api"],
        "git": ["scm-api", "credentials"],
    }

    def plugin(short):
        ver, long_name = PLUGINS[short]
        return Bean("hudson.PluginWrapper", (
            _p("active", 1, True), _p("backupVersion", 1, None), _p("bundled", 1, False),
            _p("deleted", 1, False),
            _p("dependencies", 1, [Bean(None, (_p("optional", 1, False), _p("shortName", 1, d),
                                               _p("version", 1, PLUGINS[d][0])))
                                   for d in deps.get(short, [])]),
            _p("detached", 1, False), _p("downgradable", 1, False), _p("enabled", 1, True),
            _p("hasUpdate", 1, False), _p("longName", 1, long_name), _p("pinned", 1, False),
            _p("requiredCoreVersion", 1, "2.479.3"), _p("shortName", 1, short),
            _p("supportsDynamicLoad", 1, "MAYBE"),
            _p("url", 1, f"https://plugins.jenkins.io/{short}"), _p("version", 1, ver)))

    return Bean("hudson.LocalPluginManager", (_p("plugins", 1, [plugin(s) for s in sorted(PLUGINS)]),))


def whoami_bean(name: str) -> Bean:
    anon = name == "anonymous"
    return Bean("hudson.security.WhoAmI", (
        _p("anonymous", 1, anon), _p("authenticated", 1, True),
        _p("authorities", 1, ["anonymous"] if anon else ["authenticated"]),
        _p("name", 1, name)))


def user_bean(name: str, root_url: str, admin: bool = True) -> Bean:
    """hudson.model.User: ``id`` and ``description`` (visibility 1), ``absoluteUrl`` and
    ``fullName`` (999), ``property`` inline, all properties only for Overall/Administer; the URL
    is ``user/`` + the id strategy's key (lower case) [core hudson/model/User.java]."""
    from .state import raw_encode
    props = [Bean("jenkins.security.ApiTokenProperty", ()), Bean("hudson.model.MyViewsProperty", ()),
             Bean("hudson.tasks.Mailer$UserProperty", (_p("address", 1, None),))]
    return Bean("hudson.model.User", (
        _p("absoluteUrl", 999, f"{root_url}user/{raw_encode(name.lower())}"),
        _p("description", 1, None),
        _p("fullName", 999, name), _p("id", 1, name),
        _p("property", 1, props if admin else props[2:], True)))


def crumb_bean(crumb: str) -> Bean:
    return Bean("hudson.security.csrf.DefaultCrumbIssuer", (
        _p("crumb", 1, crumb), _p("crumbRequestField", 1, "Jenkins-Crumb")))
