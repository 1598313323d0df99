"""plan / up / down: the cluster side of a lab, as one idempotent operation.

    config ─render─▶ desired objects + Helm values ─(server dry-run, helm template)─▶ Plan ─▶ apply

`plan()` only reads (server-side dry-run apply, `helm template`, `helm status`); `up()` computes the
same plan and executes exactly it, then verifies (PVC Bound, controller placement, readiness, the
LoadBalancer address). `down()` uninstalls the release and keeps data unless `purge`.

Secret values exist only in the in-memory manifests sent to the API server; the Plan carries
redacted copies.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.kube.client import (
    Kube,
    ObjectDiff,
    ident,
    is_ours,
    secret_manifest,
)
from jenkins_kit.kube.helm import ChartRef, Helm, parse_manifest
from jenkins_kit.kube.placement import PlacementReport, explain
from jenkins_kit.plan import Action, Change, Plan, text_diff, yaml_diff
from jenkins_kit.render.manifests import render_metallb as metallb_objects
from jenkins_kit.secretrefs import check_release
from jenkins_kit.secrets import SecretValue, describe, generate_password, redact_casc_text, redact_values, resolve

METALLB_REPO = "https://metallb.github.io/metallb"
CONTROLLER_COMPONENT = "jenkins-controller"


class BootstrapError(KitError):
    exit_code = ExitCode.ERROR


class SecretReferenceError(BootstrapError):
    """A `${...}` in the JCasC or a Secret volume of an agent template would not resolve."""


class NotReady(KitError):
    exit_code = ExitCode.TIMEOUT


Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


# ---------------------------------------------------------------------- desired state


def _labels(cfg: LabConfig, component: str) -> dict[str, str]:
    from jenkins_kit.render.names import labels

    return labels(cfg, component)


def registry_secret_data(cfg: LabConfig, password: SecretValue) -> dict[str, str]:
    """username, password and a docker config.json (BuildKit/buildah read it) for the registry."""
    cred = cfg.registry.credentials
    assert cred is not None
    pw = password.reveal()
    auth = base64.b64encode(f"{cred.username}:{pw}".encode()).decode()
    config = {"auths": {cfg.registry.address: {"username": cred.username, "password": pw, "auth": auth}}}
    return {"username": cred.username, "password": pw, "config.json": json.dumps(config, sort_keys=True)}


@dataclass
class Bootstrap:
    cfg: LabConfig
    kube: Kube
    helm: Helm | None
    chart: ChartRef
    adopt: bool = False
    metallb_chart: ChartRef | None = None
    progress: Progress = _noop
    config_dir: str | None = None  # relative paths in the config (job templates) are taken from here
    jobs: bool = True  # plan/sync jobs when a Jenkins URL and credentials are configured
    jenkins: Any = None  # cli.connection.Connection: --url/--insecure/--ca-bundle/--request-timeout

    # ------------------------------------------------------------------ plan

    def _admin_secret(self) -> tuple[dict[str, Any] | None, Change | None]:
        cfg = self.cfg
        a = cfg.jenkins.admin
        ns = cfg.cluster.namespace
        live = self.kube.get("v1", "Secret", a.existing_secret, ns)
        name = f"{ns}/{a.existing_secret}"
        if a.password is not None and a.password.secret is not None:
            ref = a.password.secret
            if ref.name == a.existing_secret and ref.key == a.password_key:
                if live is None:
                    return None, Change("Secret", name, "conflict", reason=f"admin.password points at {describe(a.password)}, which does not exist", world="cluster")
                return None, Change("Secret", name, "noop", reason="admin password kept in its own Secret (referenced)", world="cluster")
        if a.password is None:
            if live is not None:
                data = live.get("data") or {}
                missing = [k for k in (a.user_key, a.password_key) if k not in data]
                if missing:
                    return None, Change("Secret", name, "conflict", reason=f"exists without key(s) {', '.join(missing)} the chart reads", world="cluster")
                return None, Change("Secret", name, "noop", reason="exists; password kept (jenkins-kit admin-password shows it)", world="cluster")
            password = generate_password()
        else:
            password = resolve(a.password, namespace=ns, read_secret=self.kube.read_secret_key)
        m = secret_manifest(a.existing_secret, ns, {a.user_key: a.user, a.password_key: password.reveal()}, _labels(cfg, "admin"))
        return m, None

    def desired_objects(self) -> list[dict[str, Any]]:
        """Our objects in apply order (rendered manifests, Secrets, MetalLB pool). Holds secret values."""
        from jenkins_kit.render.manifests import deploy_namespaces, render_manifests

        cfg = self.cfg
        objs = list(render_manifests(cfg))
        # Secrets go after the namespaces and before RBAC / the release that mounts them.
        first_rbac = next((i for i, o in enumerate(objs) if o["kind"] in ("ServiceAccount", "Role", "RoleBinding")), len(objs))
        secrets: list[dict[str, Any]] = []
        cred = cfg.registry.credentials
        if cred is not None:
            pw = resolve(cred.password, namespace=cfg.cluster.namespace, read_secret=self.kube.read_secret_key)
            data = registry_secret_data(cfg, pw)
            for ns in dict.fromkeys([cfg.cluster.namespace, cfg.agents.namespace]):
                secrets.append(secret_manifest(cred.secret_name, ns, data, _labels(cfg, "registry")))
            # What the nodes pull deployed apps with (the Deployments' imagePullSecrets): only the docker
            # config, in each namespace the pipelines deploy to.
            pull = {".dockerconfigjson": data["config.json"]}
            for ns in deploy_namespaces(cfg):
                secrets.append(secret_manifest(cred.pull_secret_name, ns, pull, _labels(cfg, "registry-pull"),
                                               "kubernetes.io/dockerconfigjson"))
        objs[first_rbac:first_rbac] = secrets
        return objs

    def values(self) -> dict[str, Any]:
        from jenkins_kit.render.helm_values import render_values

        return render_values(self.cfg, self.jcasc_documents())

    def plan(self) -> BootstrapPlan:
        cfg = self.cfg
        bp = BootstrapPlan(Plan())
        self.progress("reading the cluster")
        # Namespaces and the admin Secret first: everything else may live in them.
        admin_manifest, admin_change = self._admin_secret()
        objs = self.desired_objects()
        if admin_manifest is not None:
            idx = next((i for i, o in enumerate(objs) if o["kind"] != "Namespace"), len(objs))
            objs.insert(idx, admin_manifest)
        missing_ns: set[str] = set()
        for obj in objs:
            ns = obj["metadata"].get("namespace")
            if ns and ns in missing_ns:
                # A server dry-run cannot create inside a namespace that does not exist yet.
                shown = {**obj, "data": {k: "<redacted>" for k in obj.get("data", {})}} if obj["kind"] == "Secret" else obj
                ch = Change(obj["kind"], ident(obj), "create", None, shown, f"absent (namespace {ns} is created first)",
                            yaml_diff(None, shown, f"{obj['kind'].lower()}/{ident(obj)}"), "cluster")
                bp.objects.append(ObjectDiff(obj, None, None, ch))
                bp.plan.add(ch)
                continue
            d = self.kube.diff(obj, adopt=self.adopt)
            if obj["kind"] == "Namespace" and d.change.action == "create":
                missing_ns.add(obj["metadata"]["name"])
            if obj is admin_manifest and admin_change is None and d.change.action == "create":
                d = ObjectDiff(d.obj, d.live, d.desired, Change(d.change.kind, d.change.name, "create", d.change.before, d.change.after,
                                                                 "absent: a random admin password will be generated", d.change.diff, "cluster"))
            bp.objects.append(d)
            bp.plan.add(d.change)
        if admin_change is not None:
            bp.plan.add(admin_change)
        if cfg.metallb is not None and cfg.metallb.enabled:
            if self.helm is None:
                bp.plan.add(Change("HelmRelease", f"{cfg.metallb.namespace}/metallb", "skip", reason="helm not available", world="helm"))
            else:
                self._plan_metallb(bp)
        if self.helm is None:
            bp.plan.add(Change("HelmRelease", f"{cfg.cluster.namespace}/{cfg.jenkins.release}", "skip", reason="helm not available", world="helm"))
        else:
            self._plan_release(bp)
            self.check_secret_references(bp, objs)
        self.check_jcasc_live(bp)
        if self.jobs:
            try:
                jp = self.plan_jobs(diffs=True)
                bp.plan.extend(jp.changes)
            except KitError as e:
                bp.plan.add(Change("Jobs", "*", "skip", reason=f"not checked: {e.message}", world="jobs"))
        return bp

    # ------------------------------------------------------------------ JCasC checked live, then reloaded

    def jcasc_documents(self) -> dict[str, str]:
        """The JCasC documents the controller will read (configScripts key -> YAML), as the chart writes them."""
        from jenkins_kit.render.jcasc import render_jcasc

        return render_jcasc(self.cfg, self.config_dir)

    def check_jcasc_live(self, bp: BootstrapPlan) -> None:
        """POST every document to the running controller's configuration-as-code check endpoint and put its
        verdict on the plan: a rejected document is a conflict, so `up` changes nothing and reloads nothing.
        No controller to ask (first install, no JENKINS_URL/credentials): one `skip` line says so."""
        from dataclasses import replace

        from jenkins_kit.jenkins import casc

        docs = self.jcasc_documents()
        try:
            client = self._jenkins()
            with client:
                bp.jcasc_checks = {key: casc.check(client, text) for key, text in docs.items()}
                where = f"{client.url}{casc.CHECK}"
        except KitError as e:
            bp.plan.add(Change("JCasC", "*", "skip", reason=f"not checked live: {e.message}", world="jcasc"))
            return
        for key, res in bp.jcasc_checks.items():
            verdict = f"{where}: {res.summary()}"
            idx = next((i for i, c in enumerate(bp.plan.changes) if c.world == "jcasc" and c.kind == "JCasC" and c.name == key), None)
            if idx is None:
                bp.plan.add(Change("JCasC", key, "conflict" if not res.accepted else "noop", reason=verdict, world="jcasc"))
                continue
            old = bp.plan.changes[idx]
            bp.plan.changes[idx] = replace(old, action="conflict" if not res.accepted else old.action,
                                           reason=f"{old.reason}; {verdict}" if old.reason else verdict)

    def reload_jcasc(self, bp: BootstrapPlan) -> tuple[bool, str]:
        """After the release is up: reload the configuration when it changed and every document passed the
        live check; report what the reload endpoint answered. (ok, one line for the report)."""
        from jenkins_kit.jenkins import casc

        changed = [c.name for c in bp.plan.changes if c.world == "jcasc" and c.kind == "JCasC" and c.action in ("create", "update", "delete")]
        if not changed:
            return True, "JCasC: unchanged, nothing to reload"
        if bp.release is not None and bp.release.action == "create":
            return True, "JCasC: loaded by the new controller at start-up"
        if bp.jcasc_checks is None:
            return True, ("JCasC: not reloaded by jenkins-kit: it was not checked live (set JENKINS_URL, JENKINS_USER_ID and "
                          "JENKINS_API_TOKEN); the chart's config-reload sidecar applies it")
        rejected = [k for k, r in bp.jcasc_checks.items() if not r.accepted]
        if rejected:  # apply() refuses such a plan; never reload it
            return False, f"JCasC: not reloaded: rejected by the live check ({', '.join(rejected)})"
        try:
            with self._jenkins() as client:
                res = casc.reload(client)
        except KitError as e:
            return False, f"JCasC: reload failed: {e.message}"
        return res.ok, f"JCasC: {res.message}" if res.ok else f"JCasC: reload failed: {res.message}"

    # ------------------------------------------------------------------ jobs (through issue 3's job sync)

    def _jenkins(self) -> Any:
        from jenkins_kit.jenkins.client import JenkinsClient
        from jenkins_kit.jenkins.settings import JenkinsSettings

        if self.jenkins is not None:
            settings = self.jenkins.settings(self.cfg).with_options(retries=1, unavailable_wait=0)
        else:
            settings = JenkinsSettings.resolve(config=self.cfg, timeout=10).with_options(retries=1, unavailable_wait=0)
        return JenkinsClient(settings)

    def plan_jobs(self, diffs: bool) -> Any:
        from jenkins_kit.jenkins.jobs import owner_for, plan_jobs
        from jenkins_kit.render.jobs import render_jobs

        desired = render_jobs(self.cfg, base_dir=self.config_dir)
        return plan_jobs(self._jenkins(), desired, diffs=diffs, workers=self.cfg.jobs.workers, owner=owner_for(self.cfg))

    def sync_jobs(self) -> str:
        """After `up`: create/update the configured jobs. Returns one line for the report."""
        from jenkins_kit.jenkins.jobs import apply_plan

        try:
            jp = self.plan_jobs(diffs=False)
            if not jp.pending:
                return f"jobs: {len(jp.changes)} up to date"
            self.progress(f"syncing {len(jp.pending)} job(s)")
            report = apply_plan(self._jenkins(), jp, workers=self.cfg.jobs.workers)
        except KitError as e:
            return f"jobs: not synced ({e.message}); run jenkins-kit jobs apply once Jenkins answers"
        counts = ", ".join(f"{n} {op}d" if op != "failed" else f"{n} failed" for op, n in sorted(report.counts().items()) if n)
        return f"jobs: {counts or 'nothing to do'}"

    def _plan_metallb(self, bp: BootstrapPlan) -> None:
        m = self.cfg.metallb
        assert m is not None and self.helm is not None
        st = self.helm.status("metallb", m.namespace)
        chart = self.metallb_chart or ChartRef("metallb", m.chart_version, METALLB_REPO)
        ver = self.helm.metadata("metallb", m.namespace).get("version") if st is not None else None
        name = f"{m.namespace}/metallb"
        if st is None:
            ch = Change("HelmRelease", name, "create", reason=f"install MetalLB {chart.describe()}", world="helm")
        elif not chart.local and ver != m.chart_version:
            ch = Change("HelmRelease", name, "update", reason=f"MetalLB {ver} -> {m.chart_version}", world="helm")
        else:
            ch = Change("HelmRelease", name, "noop", reason=f"MetalLB {ver} installed", world="helm")
        bp.metallb = ch
        bp.metallb_chart = chart
        bp.plan.add(ch)
        crd = self.kube.has_kind("metallb.io/v1beta1", "IPAddressPool")
        for obj in metallb_objects(self.cfg):
            if not crd:
                c = Change(obj["kind"], ident(obj), "create", None, obj, "after MetalLB installs its CRDs",
                           yaml_diff(None, obj, ident(obj)), "cluster")
                bp.metallb_objects.append(ObjectDiff(obj, None, None, c))
                bp.plan.add(c)
                continue
            d = self.kube.diff(obj, adopt=self.adopt)
            bp.metallb_objects.append(d)
            bp.plan.add(d.change)

    def _plan_release(self, bp: BootstrapPlan) -> None:
        cfg = self.cfg
        assert self.helm is not None
        rel, ns = cfg.jenkins.release, cfg.cluster.namespace
        values = self.values()
        bp.values = values
        name = f"{ns}/{rel}"
        status = self.helm.status(rel, ns)
        desired_scripts = ((values.get("controller") or {}).get("JCasC") or {}).get("configScripts") or {}
        rendered = self.helm.template(rel, self.chart, ns, values, is_upgrade=status is not None, kube_version=self._kube_version())
        bp.rendered = rendered
        if status is None:
            bp.release = Change("HelmRelease", name, "create", None, {"chart": self.chart.describe()},
                                f"install {self.chart.describe()}", "", "helm")
            bp.plan.add(bp.release)
            for key, text in sorted(desired_scripts.items()):
                bp.plan.add(Change("JCasC", key, "create", None, None, "new configScripts fragment", text_diff("", text, key), "jcasc"))
            return
        live_values = status.get("config") or {}
        live_version = self.helm.metadata(rel, ns).get("version")
        reasons = []
        canon = lambda v: json.loads(json.dumps(v, sort_keys=True))
        vdiff = ""
        if canon(live_values) != canon(values):
            reasons.append("values differ")
            lv = json.loads(json.dumps(live_values))
            dv = json.loads(json.dumps(values))
            # configScripts are shown per fragment (world jcasc) rather than twice.
            for v in (lv, dv):
                (v.get("controller") or {}).get("JCasC", {}).pop("configScripts", None)
            # A release installed by hand may carry literal passwords jenkins-kit never resolved.
            vdiff = yaml_diff(redact_values(lv), redact_values(dv), "values")
        want_version = self._chart_version()
        if want_version and live_version != want_version:
            reasons.append(f"chart {live_version} -> {want_version}")
        state = (status.get("info") or {}).get("status")
        if state != "deployed":
            reasons.append(f"release is {state}")
        mdiff = ""
        live_objs, new_objs = parse_manifest(status.get("manifest") or ""), parse_manifest(rendered)
        for key in sorted(set(live_objs) | set(new_objs)):
            a, b = live_objs.get(key), new_objs.get(key)
            if a != b:
                label = "/".join(k for k in key if k)
                mdiff += yaml_diff(_redact_manifest(a), _redact_manifest(b), label) or f"(values of {label} differ; not shown)\n"
        if mdiff:
            reasons.append("rendered manifest differs from the live release")
        action = "update" if reasons else "noop"
        bp.release = Change("HelmRelease", name, cast(Action, action), {"version": live_version}, {"version": want_version},
                            "; ".join(reasons) or f"revision {status.get('version')} up to date", vdiff + mdiff, "helm")
        bp.plan.add(bp.release)
        live_scripts = ((live_values.get("controller") or {}).get("JCasC") or {}).get("configScripts") or {}
        for key in sorted(set(live_scripts) | set(desired_scripts)):
            old: str | None = live_scripts.get(key)
            new: str | None = desired_scripts.get(key)
            if old != new:  # compare the real texts, show masked ones
                old = redact_casc_text(old) if isinstance(old, str) else old
                new = redact_casc_text(new) if isinstance(new, str) else new
                if old == new:
                    new = (new or "") + "\n# (a secret value differs)"
            if old == new:
                bp.plan.add(Change("JCasC", key, "noop", reason="unchanged", world="jcasc"))
            elif old is None:
                bp.plan.add(Change("JCasC", key, "create", None, None, "new fragment", text_diff("", new or "", key), "jcasc"))
            elif new is None:
                bp.plan.add(Change("JCasC", key, "delete", None, None, "fragment no longer rendered", text_diff(old, "", key), "jcasc"))
            else:
                bp.plan.add(Change("JCasC", key, "update", None, None, "fragment changed", text_diff(old, new, key), "jcasc"))

    def secret_keys_lookup(self, desired: list[dict[str, Any]]) -> Callable[[str, str], set[str] | None]:
        """Keys of a Secret as it will be after apply: ours as rendered, anything else as it is live."""
        ours = {(o["metadata"].get("namespace") or "", o["metadata"]["name"]): set(o.get("data") or {}) | set(o.get("stringData") or {})
                for o in desired if o.get("kind") == "Secret"}
        cache: dict[tuple[str, str], set[str] | None] = {}

        def keys(ns: str, name: str) -> set[str] | None:
            if (ns, name) in ours:
                return ours[(ns, name)]
            if (ns, name) not in cache:
                live = self.kube.get("v1", "Secret", name, ns)
                cache[(ns, name)] = None if live is None else set(live.get("data") or {}) | set(live.get("stringData") or {})
            return cache[(ns, name)]

        return keys

    def check_secret_references(self, bp: BootstrapPlan, desired: list[dict[str, Any]]) -> None:
        """Refuse the plan when the JCasC or an agent template reads a secret the pods will not have."""
        values = bp.values or {}
        scripts = ((values.get("controller") or {}).get("JCasC") or {}).get("configScripts") or {}
        problems = check_release(self.cfg, scripts, bp.rendered or "", self.secret_keys_lookup(desired))
        if problems:
            raise SecretReferenceError(
                f"nothing was changed: {len(problems)} secret reference(s) would not resolve:\n" + "\n".join(p.format() for p in problems),
                "fix the Secrets or values named above, then rerun plan")

    def _chart_version(self) -> str | None:
        if not self.chart.local:
            return self.chart.version
        import os
        import tarfile

        import yaml

        path = self.chart.chart
        try:
            if os.path.isdir(path):
                with open(os.path.join(path, "Chart.yaml"), encoding="utf-8") as f:
                    return str(yaml.safe_load(f).get("version"))
            with tarfile.open(path) as t:
                member = next(m for m in t.getmembers() if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml"))
                fh = t.extractfile(member)
                return str(yaml.safe_load(fh.read()).get("version")) if fh else None
        except Exception:
            return None

    def _kube_version(self) -> str | None:
        try:
            v = self.kube.version().get("gitVersion") or ""
        except KitError:
            return None
        return v.split("+")[0].split("-")[0] or None

    # ------------------------------------------------------------------ apply

    def apply(self, bp: BootstrapPlan) -> list[str]:
        """Execute exactly the plan. Returns one line per change made."""
        conflicts = [c for c in bp.plan.conflicts if c.world != "jobs"]  # job conflicts are sync's business
        if conflicts:
            lines = "; ".join(f"{c.kind} {c.name}: {c.reason}" for c in conflicts)
            raise BootstrapError(f"nothing was changed: {len(conflicts)} conflict(s): {lines}",
                                 "resolve them (or use --adopt for objects you want jenkins-kit to take over), then rerun")
        done: list[str] = []
        for d in bp.objects:
            if d.change.action in ("create", "update"):
                self.progress(f"{d.change.action} {d.change.kind} {d.change.name}")
                self.kube.apply(d.obj, force=d.live is not None and not is_ours(d.live))  # foreign only with --adopt
                done.append(f"{d.change.action}d {d.change.kind} {d.change.name}")
        if bp.metallb is not None and bp.metallb.action in ("create", "update"):
            m = self.cfg.metallb
            assert m is not None and self.helm is not None and bp.metallb_chart is not None
            self.progress("installing MetalLB")
            self.helm.upgrade_install("metallb", bp.metallb_chart, m.namespace, {}, create_namespace=True)
            done.append(f"{bp.metallb.action}d HelmRelease {bp.metallb.name}")
        for d in bp.metallb_objects:
            if d.change.action in ("create", "update"):
                self._apply_retrying(d.obj, what="MetalLB webhook")
                done.append(f"{d.change.action}d {d.change.kind} {d.change.name}")
        self.wait_bound()
        if bp.release is not None and bp.release.action in ("create", "update"):
            assert self.helm is not None and bp.values is not None
            self.progress(f"helm upgrade --install {self.cfg.jenkins.release} ({self.chart.describe()})")
            self.helm.upgrade_install(self.cfg.jenkins.release, self.chart, self.cfg.cluster.namespace, bp.values)
            done.append(f"{'installed' if bp.release.action == 'create' else 'upgraded'} HelmRelease {bp.release.name}")
        return done

    def _apply_retrying(self, obj: dict[str, Any], what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.kube.apply(obj)
                return
            except KitError as e:
                if time.monotonic() > deadline:
                    raise
                self.progress(f"waiting for {what}: {e.message[:80]}")
                time.sleep(3)

    # ------------------------------------------------------------------ verify

    def wait_bound(self, timeout: float = 60.0) -> None:
        cfg = self.cfg
        ns, claim, volume = cfg.cluster.namespace, cfg.nfs.claim_name, cfg.nfs.volume_name
        deadline = time.monotonic() + timeout
        while True:
            pvc = self.kube.get("v1", "PersistentVolumeClaim", claim, ns)
            phase = ((pvc or {}).get("status") or {}).get("phase")
            if phase == "Bound":
                return
            if time.monotonic() > deadline:
                raise BootstrapError(f"PersistentVolumeClaim {ns}/{claim} is {phase or 'missing'}, not Bound, after {timeout:.0f}s",
                                     self.explain_unbound(pvc))
            self.progress(f"waiting for PVC {ns}/{claim} to bind to PV {volume} ({phase or 'absent'})")
            time.sleep(1)

    def explain_unbound(self, pvc: dict[str, Any] | None) -> str:
        cfg = self.cfg
        pv = self.kube.get("v1", "PersistentVolume", cfg.nfs.volume_name)
        if pvc is None:
            return "the claim does not exist; rerun jenkins-kit up"
        if pv is None:
            return f"PV {cfg.nfs.volume_name} does not exist"
        spec = pv.get("spec") or {}
        ref = spec.get("claimRef") or {}
        if ref and (ref.get("name"), ref.get("namespace")) != (cfg.nfs.claim_name, cfg.cluster.namespace):
            return f"PV {cfg.nfs.volume_name} is reserved for {ref.get('namespace')}/{ref.get('name')}; free it or pick another nfs.volume_name"
        pvphase = (pv.get("status") or {}).get("phase")
        if pvphase == "Released":
            return (f"PV {cfg.nfs.volume_name} is Released (its old claim was deleted; reclaim policy Retain keeps the data): "
                    f"kubectl patch pv {cfg.nfs.volume_name} --type json -p '[{{\"op\":\"remove\",\"path\":\"/spec/claimRef/uid\"}}]' lets it bind again")
        if spec.get("storageClassName"):
            return f"PV has storageClassName {spec['storageClassName']!r} but the claim asks for \"\"; they must match"
        return ("the PV controller has not bound them; is kube-controller-manager running? "
                f"(kubectl describe pvc -n {cfg.cluster.namespace} {cfg.nfs.claim_name})")

    def controller_pod(self) -> dict[str, Any] | None:
        """The controller pod of the StatefulSet's current revision (not one being replaced)."""
        from jenkins_kit.render.names import controller_service

        ns = self.cfg.cluster.namespace
        sel = f"app.kubernetes.io/instance={self.cfg.jenkins.release},app.kubernetes.io/component={CONTROLLER_COMPONENT}"
        sts = self.kube.get("apps/v1", "StatefulSet", controller_service(self.cfg), ns)
        revision = None
        if sts is not None:
            st = sts.get("status") or {}
            if (st.get("observedGeneration") or 0) < ((sts.get("metadata") or {}).get("generation") or 0):
                return None  # the controller has not looked at the new spec yet
            revision = st.get("updateRevision")
        pods = [p for p in self.kube.pods(ns, sel) if not (p.get("metadata") or {}).get("deletionTimestamp")]
        if revision:
            pods = [p for p in pods if ((p.get("metadata") or {}).get("labels") or {}).get("controller-revision-hash") == revision]
        pods.sort(key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "", reverse=True)
        return pods[0] if pods else None

    def verify_placement(self, timeout: float = 60.0) -> PlacementReport:
        """Wait until the scheduler decided (node set, or Unschedulable) and explain the result."""
        deadline = time.monotonic() + timeout
        expected = self.cfg.cluster.control_plane_node
        while True:
            pod = self.controller_pod()
            if pod is not None:
                spec, status = pod.get("spec") or {}, pod.get("status") or {}
                decided = bool(spec.get("nodeName")) or any(
                    c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
                    for c in status.get("conditions") or []
                )
                if decided or time.monotonic() > deadline:
                    nodes = self.kube.list("v1", "Node")
                    return explain(pod, nodes, expected)
            elif time.monotonic() > deadline:
                ns = self.cfg.cluster.namespace
                sel = f"app.kubernetes.io/instance={self.cfg.jenkins.release},app.kubernetes.io/component={CONTROLLER_COMPONENT}"
                old = [str((p.get("metadata") or {}).get("name")) for p in self.kube.pods(ns, sel) if (p.get("metadata") or {}).get("deletionTimestamp")]
                why = f"; the previous pod {', '.join(old)} is still terminating (its node's kubelet must finish it)" if old else ""
                raise NotReady(f"no controller pod of release {self.cfg.jenkins.release} appeared within {timeout:.0f}s{why}",
                               f"kubectl -n {ns} describe statefulset; kubectl -n {ns} get events")
            self.progress("waiting for the scheduler to place the controller pod")
            time.sleep(1)

    def wait_ready(self, timeout: float, progress: Progress | None = None) -> dict[str, Any]:
        progress = progress or self.progress
        deadline = time.monotonic() + timeout
        start = time.monotonic()
        while True:
            pod = self.controller_pod()
            state = pod_state(pod)
            if state["ready"]:
                return pod or {}
            elapsed = time.monotonic() - start
            progress(f"controller {state['name']}: {state['summary']} ({elapsed:.0f}s / {timeout:.0f}s)")
            if time.monotonic() > deadline:
                raise NotReady(f"the controller pod is not ready after {timeout:.0f}s: {state['summary']}",
                               state.get("hint") or f"kubectl -n {self.cfg.cluster.namespace} describe pod {state['name']}; "
                               "first start downloads plugins and can take several minutes (--timeout)")
            time.sleep(2)

    def service_address(self) -> tuple[str | None, str]:
        """(address, explanation) of the controller Service."""
        from jenkins_kit.render.names import controller_service

        cfg = self.cfg
        ns = cfg.cluster.namespace
        svc = self.kube.get("v1", "Service", controller_service(cfg), ns)
        if svc is None:
            return None, f"Service {ns}/{controller_service(cfg)} not found"
        spec = svc.get("spec") or {}
        typ = spec.get("type")
        port = (spec.get("ports") or [{}])[0]
        if typ == "LoadBalancer":
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if ingress:
                addr = ingress[0].get("ip") or ingress[0].get("hostname")
                return f"http://{addr}{'' if port.get('port') == 80 else ':' + str(port.get('port'))}/", "LoadBalancer address assigned"
            return None, self.explain_pending_lb(svc)
        if typ == "NodePort":
            return None, f"NodePort {port.get('nodePort')}: http://<any node IP>:{port.get('nodePort')}/"
        return None, f"ClusterIP only: kubectl -n {ns} port-forward svc/{controller_service(cfg)} 8080:{port.get('port')}"

    def wait_address(self, timeout: float, progress: Progress | None = None) -> tuple[str | None, str]:
        """The Service address, waiting (bounded) only while a LoadBalancer controller has pools
        and has not assigned yet: MetalLB allocates within seconds of seeing the Service."""
        say = progress or self.progress
        deadline = time.monotonic() + timeout
        while True:
            addr, why = self.service_address()
            left = deadline - time.monotonic()
            if addr or left <= 0 or "assigned nothing yet" not in why:
                return addr, why
            say(f"waiting for the LoadBalancer address ({left:.0f}s left)")
            time.sleep(min(1.0, max(left, 0.05)))

    def explain_pending_lb(self, svc: dict[str, Any]) -> str:
        name = str((svc.get("metadata") or {}).get("name"))
        ns = str((svc.get("metadata") or {}).get("namespace"))
        fallback = "or set jenkins.service.type: NodePort and reach Jenkins at http://<node IP>:<nodePort>/"
        if not self.kube.has_kind("metallb.io/v1beta1", "IPAddressPool"):
            return ("EXTERNAL-IP stays <pending>: no LoadBalancer controller in the cluster (no MetalLB CRDs). "
                    f"Add a metallb: section to the config (address range on your LAN) and rerun up, {fallback}")
        pools = self.kube.list("metallb.io/v1beta1", "IPAddressPool")
        if not pools:
            return f"EXTERNAL-IP <pending>: MetalLB is installed but has no IPAddressPool; set metallb.addresses, {fallback}"
        msgs = [e.get("message", "") for e in self.kube.events_for(ns, "Service", name) if e.get("type") == "Warning"]
        return "EXTERNAL-IP <pending>: MetalLB has pools but assigned nothing yet" + (f" ({msgs[-1]})" if msgs else "") + f"; {fallback}"

    # ------------------------------------------------------------------ down

    def owned_objects(self) -> list[dict[str, Any]]:
        """Live objects created by jenkins-kit for this release (ownership label + instance)."""
        cfg = self.cfg
        sel = f"app.kubernetes.io/managed-by=jenkins-kit,app.kubernetes.io/instance={cfg.jenkins.release}"
        namespaces = list(dict.fromkeys([cfg.cluster.namespace, cfg.agents.namespace, cfg.agents.deploy_namespace]))
        out: list[dict[str, Any]] = []
        for api, kind in (("rbac.authorization.k8s.io/v1", "RoleBinding"), ("rbac.authorization.k8s.io/v1", "Role"),
                          ("v1", "ServiceAccount"), ("v1", "Secret"), ("v1", "PersistentVolumeClaim")):
            for ns in namespaces:
                out += [dict(o, apiVersion=api, kind=kind) for o in self.kube.list(api, kind, ns, sel)]
        if cfg.metallb is not None and self.kube.has_kind("metallb.io/v1beta1", "IPAddressPool"):
            for kind in ("L2Advertisement", "IPAddressPool"):
                out += [dict(o, apiVersion="metallb.io/v1beta1", kind=kind) for o in self.kube.list("metallb.io/v1beta1", kind, cfg.metallb.namespace, sel)]
        out += [dict(o, apiVersion="v1", kind="PersistentVolume") for o in self.kube.list("v1", "PersistentVolume", label_selector=sel)]
        out += [dict(o, apiVersion="v1", kind="Namespace") for o in self.kube.list("v1", "Namespace", label_selector=sel)]
        return [o for o in out if is_ours(o)]

    def foreign_in_namespace(self, ns: str) -> list[str]:
        """Objects in `ns` that jenkins-kit did not create (and Kubernetes did not create by itself)."""
        found = []
        for api, kind in (("v1", "Pod"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount"),
                          ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
                          ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding")):
            for o in self.kube.list(api, kind, ns):
                meta = o.get("metadata") or {}
                n = meta.get("name", "")
                if is_ours(o) or meta.get("deletionTimestamp"):
                    continue
                if (kind, n) in (("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")):
                    continue
                if kind == "Secret" and (o.get("type") == "kubernetes.io/service-account-token"):
                    continue
                if (meta.get("labels") or {}).get("app.kubernetes.io/instance") == self.cfg.jenkins.release and kind in ("Pod",):
                    continue  # the uninstalled release's pods, on their way out
                found.append(f"{kind} {n}")
        return found

    def down(self, purge: bool) -> list[str]:
        cfg = self.cfg
        lines: list[str] = []
        ns, rel = cfg.cluster.namespace, cfg.jenkins.release
        if self.helm is not None:
            self.progress(f"helm uninstall {rel}")
            lines.append(f"uninstalled HelmRelease {ns}/{rel}" if self.helm.uninstall(rel, ns) else f"HelmRelease {ns}/{rel} was not installed")
        else:
            lines.append("helm not available: release left in place")
        owned = self.owned_objects()
        if not purge:
            kept = [f"{o['kind']} {ident(o)}" for o in owned if o["kind"] in ("PersistentVolume", "PersistentVolumeClaim", "Secret")]
            if kept:
                lines.append("kept (use --purge to remove): " + ", ".join(kept))
            lines.append(f"NFS data on {cfg.nfs.server}:{cfg.nfs.path} untouched")
            return lines
        order = {"L2Advertisement": 0, "IPAddressPool": 1, "RoleBinding": 2, "Role": 3, "ServiceAccount": 4, "Secret": 5,
                 "PersistentVolumeClaim": 6, "PersistentVolume": 7, "Namespace": 8}
        for o in sorted(owned, key=lambda o: order.get(o["kind"], 99)):
            meta = o.get("metadata") or {}
            if o["kind"] == "Namespace":
                foreign = self.foreign_in_namespace(meta["name"])
                if foreign:
                    lines.append(f"kept Namespace {meta['name']}: it holds objects jenkins-kit did not create ({', '.join(foreign[:5])})")
                    continue
            self.progress(f"delete {o['kind']} {ident(o)}")
            if self.kube.delete(o["apiVersion"], o["kind"], meta["name"], meta.get("namespace")):
                lines.append(f"deleted {o['kind']} {ident(o)}")
        lines.append(f"NFS data on {cfg.nfs.server}:{cfg.nfs.path} untouched (PV reclaim policy Retain); remove it on the NFS host if you mean to")
        return lines


def _redact_manifest(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """Secrets lose their values; ConfigMaps (the chart's JCasC files) lose literal secret values."""
    if obj is None or obj.get("kind") not in ("Secret", "ConfigMap"):
        return obj
    o = dict(obj)
    if obj["kind"] == "ConfigMap":
        if isinstance(o.get("data"), dict):
            o["data"] = {k: redact_casc_text(v) if isinstance(v, str) else v for k, v in o["data"].items()}
        return o
    for f in ("data", "stringData"):
        if isinstance(o.get(f), dict):
            o[f] = {k: "<redacted>" for k in o[f]}
    return o


def pod_state(pod: dict[str, Any] | None) -> dict[str, Any]:
    """A one-line summary of a pod's progress towards Ready, and a hint if it is stuck."""
    if pod is None:
        return {"name": "(none yet)", "ready": False, "summary": "no pod yet"}
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name = meta.get("name", "?")
    conds = {c.get("type"): c for c in status.get("conditions") or []}
    ready = (conds.get("Ready") or {}).get("status") == "True" and status.get("phase") == "Running"
    phase = status.get("phase") or "Pending"
    parts = [phase]
    hint = None
    if not spec.get("nodeName"):
        c = conds.get("PodScheduled") or {}
        parts.append("not scheduled" + (f": {c.get('message')}" if c.get("message") else ""))
    else:
        parts.append(f"on {spec['nodeName']}")
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            parts.append(f"{cs.get('name')}: {waiting['reason']}")
            if waiting["reason"] in ("ImagePullBackOff", "ErrImagePull"):
                hint = "an image cannot be pulled: check jenkins.image_tag and the nodes' access to docker.io"
            elif waiting["reason"] == "CrashLoopBackOff":
                hint = f"a container keeps crashing: kubectl logs -n {meta.get('namespace')} {name} -c {cs.get('name')} --previous"
    return {"name": name, "ready": ready, "summary": ", ".join(parts), "hint": hint}


@dataclass
class BootstrapPlan:
    plan: Plan
    rendered: str | None = None  # `helm template` of the release as it would be installed
    objects: list[ObjectDiff] = field(default_factory=list)
    release: Change | None = None
    values: dict[str, Any] | None = None
    metallb: Change | None = None
    metallb_chart: ChartRef | None = None
    metallb_objects: list[ObjectDiff] = field(default_factory=list)
    jcasc_checks: dict[str, Any] | None = None  # configScripts key -> casc.CheckResult; None: not checked live
