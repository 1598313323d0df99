"""plan / up / down / doctor / admin-password on the real control plane (tests/cluster harness)
with the official charts (../shared/charts: jenkins 5.9.53, metallb 0.15.2), kwok as the node agent
(pods become Running/Ready, StatefulSets roll out) and the real MetalLB controller.

The commands run as subprocesses (`python -m jenkins_kit`) with the harness environment, exactly as
a user would run them; every byte they print is kept for the secret scan at the end.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.official_chart import JENKINS_CHART, METALLB_CHART, require_chart

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CHART = JENKINS_CHART
REGISTRY_PASSWORD = "reg-pw-7f3a9c1e5b2d8046"
ADMIN_PASSWORD_REF = "adm-pw-0c4e8a2f6b1d9357"  # used by the scenario with a referenced admin password

OUTPUTS: list[str] = []  # everything every command printed (stdout + stderr), for the scan


def write_config(d: Path, ns: str, release: str = "jenkins", volume: str | None = None, deploy_ns: str | None = None,
                 repositories: list | None = None, **jenkins) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    cfg = {
        "version": 1,
        "cluster": {"namespace": ns, "control_plane_node": "m-k8s"},
        # Never contacted: without a kubelet nothing mounts the volume.
        "nfs": {"server": "127.0.0.1", "path": f"/nfs_shared/{ns}", "volume_name": volume or f"{ns}-home", "clients": ["127.0.0.1"]},
        "jenkins": {"release": release, **jenkins},
        "registry": {"address": "127.0.0.1:5000", "credentials": {"username": "builder", "password": {"env": "JK_TEST_REGISTRY_PASSWORD"}}},
        "agents": {"namespace": ns, "deploy_namespace": deploy_ns or f"{ns}-apps"},
        "repositories": repositories or [],
    }
    p = d / "jenkins-kit.yaml"
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


class Kit:
    def __init__(self, cluster, workdir: Path):
        self.cluster = cluster
        self.workdir = workdir
        self.env = cluster.env()
        self.env["PYTHONPATH"] = str(REPO) + os.pathsep + self.env.get("PYTHONPATH", "")
        self.env["JK_TEST_REGISTRY_PASSWORD"] = REGISTRY_PASSWORD
        self.env["JK_TEST_ADMIN_PASSWORD"] = ADMIN_PASSWORD_REF
        self.env["JENKINS_KIT_HELM"] = str(cluster.helm)
        self.env.pop("JENKINS_URL", None)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "jenkins_kit", *args]

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        p = subprocess.run(self.argv(*args), env=self.env, cwd=self.workdir, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        OUTPUTS.extend([p.stdout, p.stderr])
        return p

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), env=self.env, cwd=self.workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def finish(self, proc: subprocess.Popen, timeout: float = 180) -> subprocess.CompletedProcess:
        out, err = proc.communicate(timeout=timeout)
        OUTPUTS.extend([out, err])
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    # -- reads through the harness' own client (independent of ours) --
    def get(self, path: str):
        return self.cluster.api.get_or_none(path)


def pod_node(kit: "Kit", ns: str, pod: str) -> str:
    p = kit.get(f"/api/v1/namespaces/{ns}/pods/{pod}")
    return (p or {}).get("spec", {}).get("nodeName") or ""


def up_and_wait(kit: "Kit", conf: Path, ns: str, pod: str, *extra: str) -> tuple[subprocess.CompletedProcess, str]:
    """Run `up` as a user would (it waits for the controller to be Ready); return where `pod` ran."""
    res = kit.run("up", "-c", str(conf), "--chart", str(CHART), "--timeout", "120", *extra)
    return res, pod_node(kit, ns, pod)


@pytest.fixture(scope="module")
def kit(lab_cluster, tmp_path_factory):
    require_chart(JENKINS_CHART)
    if not lab_cluster.has_kwok:
        pytest.fail("kwok is not built (scripts/build-tools builds it): without a node agent no pod ever becomes Ready")
    return Kit(lab_cluster, tmp_path_factory.mktemp("bootstrap"))


@pytest.fixture(scope="module")
def installed(kit):
    """A fresh `up` in namespace jk-up."""
    conf = write_config(kit.workdir / "main", "jk-up")
    res, node = up_and_wait(kit, conf, "jk-up", "jenkins-0")
    return {"conf": conf, "up": res, "node": node, "ns": "jk-up"}


# ---------------------------------------------------------------------- up, twice; plan; doctor


def test_up_on_a_fresh_cluster(kit, installed):
    res, ns = installed["up"], installed["ns"]
    assert res.returncode == 0, res.stdout + res.stderr
    assert installed["node"] == "m-k8s"
    out = res.stdout
    assert "pod jenkins-0 is on m-k8s" in out and "node-role.kubernetes.io/control-plane:NoSchedule" in out
    assert "controller jenkins-0 is ready" in out
    assert "<pending>" in out and "NodePort" in out  # no LoadBalancer controller in the harness, explained
    pvc = kit.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/jenkins")
    pv = kit.get("/api/v1/persistentvolumes/jk-up-home")
    assert pvc["status"]["phase"] == "Bound" and pv["status"]["phase"] == "Bound"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and pv["spec"]["nfs"] == {"server": "127.0.0.1", "path": "/nfs_shared/jk-up"}
    admin = kit.get(f"/api/v1/namespaces/{ns}/secrets/jenkins-admin")
    assert set(admin["data"]) == {"jenkins-admin-user", "jenkins-admin-password"}
    assert base64.b64decode(admin["data"]["jenkins-admin-user"]).decode() == "admin"
    assert len(base64.b64decode(admin["data"]["jenkins-admin-password"])) >= 24
    reg = kit.get(f"/api/v1/namespaces/{ns}/secrets/registry-credentials")
    assert base64.b64decode(reg["data"]["password"]).decode() == REGISTRY_PASSWORD
    auths = json.loads(base64.b64decode(reg["data"]["config.json"]))["auths"]
    assert auths["127.0.0.1:5000"]["username"] == "builder"
    for obj in (pvc, pv, admin, reg):
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "jenkins-kit"
        assert any(m["manager"] == "jenkins-kit" and m["operation"] == "Apply" for m in obj["metadata"]["managedFields"])
    assert kit.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/jenkins-agent")
    assert kit.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}-apps/rolebindings/jenkins-agent-deploy")
    sts = kit.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/jenkins")
    spec = sts["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"kubernetes.io/hostname": "m-k8s"}
    assert {t["key"] for t in spec["tolerations"]} >= {"node-role.kubernetes.io/control-plane"}
    assert spec["securityContext"]["runAsUser"] == 1000 and spec["securityContext"]["runAsGroup"] == 1000
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["jenkins-home"]["persistentVolumeClaim"]["claimName"] == "jenkins"
    # The admin Secret is mounted where the JCasC's ${chart-admin-*} are read (SECRETS dir).
    jenkins_c = next(c for c in spec["containers"] if c["name"] == "jenkins")
    env = {e["name"]: e.get("value") for e in jenkins_c["env"]}
    assert env["SECRETS"] == "/run/secrets/additional"
    assert any(m["name"] == "jenkins-secrets" and m["mountPath"] == "/run/secrets/additional" for m in jenkins_c["volumeMounts"])
    admin_src = next(src["secret"] for src in vols["jenkins-secrets"]["projected"]["sources"] if src["secret"]["name"] == "jenkins-admin")
    assert {i["path"]: i["key"] for i in admin_src["items"]} == {"chart-admin-username": "jenkins-admin-user",
                                                                "chart-admin-password": "jenkins-admin-password"}
    assert jenkins_c["image"].endswith(":2.568.2-jdk21")
    # kwok plays the kubelet: the pod is Ready and the StatefulSet rolled out, as `up` waited for.
    pod = kit.get(f"/api/v1/namespaces/{ns}/pods/jenkins-0")
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])
    assert sts["status"].get("readyReplicas") == 1
    cms = kit.get(f"/api/v1/namespaces/{ns}/configmaps?labelSelector=jenkins-jenkins-config%3Dtrue")["items"]
    assert {c["metadata"]["name"] for c in cms} >= {"jenkins-jenkins-config-jenkins-kit-system", "jenkins-jenkins-config-jenkins-kit-cloud"}
    hist = kit.cluster.helm_run("history", "jenkins", "-n", ns, "-o", "json")
    assert [h["revision"] for h in json.loads(hist.stdout)] == [1]


def test_second_up_changes_nothing_and_plan_is_empty(kit, installed):
    conf, ns = installed["conf"], installed["ns"]
    rv = {p: kit.get(p)["metadata"]["resourceVersion"] for p in (
        f"/api/v1/namespaces/{ns}/secrets/jenkins-admin", "/api/v1/persistentvolumes/jk-up-home",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/jenkins-agent")}
    res = kit.run("up", "-c", str(conf), "--chart", str(CHART), "--timeout", "30")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "No changes: the cluster already matches the config." in res.stdout
    assert "✓ created" not in res.stdout and "upgraded" not in res.stdout
    for p, v in rv.items():
        assert kit.get(p)["metadata"]["resourceVersion"] == v, p
    hist = kit.cluster.helm_run("history", "jenkins", "-n", ns, "-o", "json")
    assert [h["revision"] for h in json.loads(hist.stdout)] == [1]
    plan = kit.run("plan", "-c", str(conf), "--chart", str(CHART), "--detailed-exitcode", "--json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    data = json.loads(plan.stdout)
    assert data["empty"] and data["counts"]["create"] == data["counts"]["update"] == 0


def test_plan_shows_a_config_change_and_up_applies_it(kit, installed):
    ns = installed["ns"]
    conf = write_config(kit.workdir / "changed", "jk-up", session_timeout_minutes=60)
    plan = kit.run("plan", "-c", str(conf), "--chart", str(CHART), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "~ update   [helm] HelmRelease jk-up/jenkins" in plan.stdout
    assert "--sessionTimeout=60" in plan.stdout and "--sessionTimeout=1440" in plan.stdout
    # The JCasC fragments did not change, the cluster objects neither.
    assert "[cluster]" not in plan.stdout.replace("[cluster] Namespace", "")
    res, node = up_and_wait(kit, conf, ns, "jenkins-0")
    assert res.returncode == 0 and "upgraded HelmRelease jk-up/jenkins" in res.stdout, res.stdout + res.stderr
    assert node == "m-k8s" and "controller jenkins-0 is ready" in res.stdout
    # Back to the original config, so the next tests see the first install's state.
    res, _ = up_and_wait(kit, installed["conf"], ns, "jenkins-0")
    assert res.returncode == 0, res.stderr
    sts = kit.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/jenkins")
    env = {e["name"]: e.get("value") for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "--sessionTimeout=1440" in env["JENKINS_OPTS"]


def test_doctor_on_the_cluster(kit, installed):
    res = kit.run("doctor", "-c", str(installed["conf"]), "--json", "--skip", "nfs", "--skip", "registry", "--skip", "jenkins")
    data = json.loads(res.stdout)
    by = {c["name"]: c for c in data["checks"]}
    assert by["cluster"]["status"] == "pass" and "v1." in by["cluster"]["detail"]
    assert by["control-plane node"]["status"] == "pass" and "node-role.kubernetes.io/control-plane:NoSchedule" in by["control-plane node"]["detail"]
    assert by["helm"]["status"] == "pass" and "v3." in by["helm"]["detail"]
    assert by["load balancer"]["status"] == "warn" and "<pending>" in by["load balancer"]["detail"]
    assert "NodePort" in by["load balancer"]["fix"]
    assert res.returncode == 0  # warnings only


def test_admin_password_is_shown_only_when_asked(kit, installed):
    res = kit.run("admin-password", "-c", str(installed["conf"]))
    assert res.returncode == 0
    admin = kit.get(f"/api/v1/namespaces/{installed['ns']}/secrets/jenkins-admin")
    assert res.stdout.strip() == base64.b64decode(admin["data"]["jenkins-admin-password"]).decode()
    OUTPUTS.pop(-2)  # the one output allowed to hold the admin password is excluded from the scan


# ---------------------------------------------------------------------- placement problems


def _cleanup(kit: Kit, conf: Path, ns: str) -> None:
    kit.cluster.force_delete_pods(ns)
    kit.run("down", "-c", str(conf), "--purge", "--yes")
    kit.cluster.force_delete_pods(ns)


def _values_without(key: str) -> str:
    """A sitecustomize that drops one controller value, as if the config no longer produced it."""
    return (
        "import jenkins_kit.render.helm_values as hv\n"
        "_orig = hv.render_values\n"
        "def render_values(cfg, jcasc=None):\n"
        "    v = _orig(cfg, jcasc)\n"
        f"    v['controller'].pop({key!r}, None)\n"
        "    return v\n"
        "hv.render_values = render_values\n"
    )


def test_without_toleration_up_names_the_taint(kit):
    ns = "jk-notol"
    conf = write_config(kit.workdir / ns, ns, release="jenkins-notol")
    site = kit.workdir / f"{ns}-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_values_without("tolerations"))
    env = dict(kit.env, PYTHONPATH=f"{site}{os.pathsep}{kit.env['PYTHONPATH']}")
    try:
        p = subprocess.run(kit.argv("up", "-c", str(conf), "--chart", str(CHART), "--timeout", "30"), env=env, cwd=kit.workdir,
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        OUTPUTS.extend([p.stdout, p.stderr])
        assert p.returncode == 20, p.stdout + p.stderr  # ERROR (tool errors never use 1-4)
        assert "cannot be scheduled: m-k8s carries taint node-role.kubernetes.io/control-plane:NoSchedule" in p.stderr
        assert "untolerated taint" in p.stderr  # the scheduler's own words
        # Only the defaults admission adds (not-ready/unreachable NoExecute) remain.
        tolerates = next(l for l in p.stderr.splitlines() if "the pod tolerates" in l or "the pod has no tolerations" in l)
        assert "node-role.kubernetes.io" not in tolerates, tolerates
        assert "fix: tolerate node-role.kubernetes.io/control-plane:NoSchedule" in p.stderr
        pod = kit.get(f"/api/v1/namespaces/{ns}/pods/jenkins-notol-0")
        assert not pod["spec"].get("nodeName")
    finally:
        _cleanup(kit, conf, ns)


def test_without_node_selector_up_reports_the_worker(kit):
    ns = "jk-nosel"
    conf = write_config(kit.workdir / ns, ns, release="jenkins-nosel")
    site = kit.workdir / f"{ns}-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_values_without("nodeSelector"))
    env = dict(kit.env, PYTHONPATH=f"{site}{os.pathsep}{kit.env['PYTHONPATH']}")
    try:
        p = subprocess.run(kit.argv("up", "-c", str(conf), "--chart", str(CHART), "--no-wait"), env=env, cwd=kit.workdir,
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        OUTPUTS.extend([p.stdout, p.stderr])
        assert p.returncode == 0, p.stdout + p.stderr
        node = kit.get(f"/api/v1/namespaces/{ns}/pods/jenkins-nosel-0")["spec"]["nodeName"]
        assert node in ("w1-k8s", "w2-k8s", "w3-k8s")
        assert f"pod jenkins-nosel-0 went to {node}, a worker, not the control-plane node m-k8s" in p.stderr
        assert "no nodeSelector kubernetes.io/hostname=m-k8s" in p.stderr
    finally:
        _cleanup(kit, conf, ns)


def test_foreign_object_is_a_conflict_and_nothing_changes(kit):
    ns = "jk-foreign"
    kit.cluster.create_namespace(ns)
    kit.cluster.api.create(f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "registry-credentials"}, "data": {"password": base64.b64encode(b"theirs").decode()}})
    conf = write_config(kit.workdir / ns, ns, release="jenkins-foreign")
    try:
        res = kit.run("up", "-c", str(conf), "--chart", str(CHART), "--no-wait")
        assert res.returncode == 20
        assert "conflict" in res.stderr and "Secret jk-foreign/registry-credentials" in res.stderr and "--adopt" in res.stderr
        assert kit.get(f"/api/v1/persistentvolumes/{ns}-home") is None  # nothing applied
        s = kit.get(f"/api/v1/namespaces/{ns}/secrets/registry-credentials")
        assert base64.b64decode(s["data"]["password"]) == b"theirs"
        # --adopt shows the take-over in the plan, then takes it: our label, our value.
        plan = kit.run("plan", "-c", str(conf), "--chart", str(CHART), "--adopt")
        assert "~ update   [cluster] Secret jk-foreign/registry-credentials  (adopt:" in plan.stdout, plan.stdout
        assert REGISTRY_PASSWORD not in plan.stdout and "<redacted> (changed)" in plan.stdout
        res = kit.run("up", "-c", str(conf), "--chart", str(CHART), "--no-wait", "--adopt")
        assert res.returncode == 0, res.stdout + res.stderr
        s = kit.get(f"/api/v1/namespaces/{ns}/secrets/registry-credentials")
        assert base64.b64decode(s["data"]["password"]).decode() == REGISTRY_PASSWORD
        assert s["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "jenkins-kit"
    finally:
        kit.run("down", "-c", str(conf), "--purge", "--yes")
        kit.cluster.delete_namespace(ns)


# ---------------------------------------------------------------------- down


def test_down_keeps_data_then_purge_removes_only_ours(kit, installed, tmp_path):
    conf, ns = installed["conf"], installed["ns"]
    api = kit.cluster.api
    # NFS data the lab holds (a temp tree standing in for the NFS host).
    nfs_root = tmp_path / "nfs"
    ex = kit.run("nfs", "export", "-c", str(conf), "--root", str(nfs_root), "--no-reload")
    assert ex.returncode == 0, ex.stderr
    home = nfs_root / "nfs_shared" / ns
    (home / "config.xml").write_text("<hudson/>")
    # Objects jenkins-kit did not create: one in our namespace, one cluster-wide, one labelled by another lab.
    api.create(f"/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}, "data": {"a": "b"}})
    api.create("/api/v1/persistentvolumes", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "jk-theirs"},
                                              "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                                       "nfs": {"server": "127.0.0.1", "path": "/x"}}})
    api.create(f"/api/v1/namespaces/{ns}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "other-lab", "labels": {"app.kubernetes.io/managed-by": "jenkins-kit", "app.kubernetes.io/instance": "other"}}})

    res = kit.run("down", "-c", str(conf))
    assert res.returncode == 0, res.stderr
    assert "uninstalled HelmRelease jk-up/jenkins" in res.stdout and "kept (use --purge to remove)" in res.stdout
    assert kit.cluster.helm_run("status", "jenkins", "-n", ns, check=False).returncode != 0
    for p in (f"/api/v1/namespaces/{ns}/persistentvolumeclaims/jenkins", "/api/v1/persistentvolumes/jk-up-home",
              f"/api/v1/namespaces/{ns}/secrets/jenkins-admin", f"/api/v1/namespaces/{ns}/secrets/registry-credentials"):
        assert kit.get(p) is not None, p
    assert kit.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/jenkins")["status"]["phase"] == "Bound"

    # --purge without --yes and without a terminal refuses.
    res = kit.run("down", "-c", str(conf), "--purge")
    assert res.returncode != 0 and "--yes" in res.stderr
    assert kit.get("/api/v1/persistentvolumes/jk-up-home") is not None

    kit.cluster.force_delete_pods(ns)  # play kubelet: the uninstalled release's pod goes away
    res = kit.run("down", "-c", str(conf), "--purge", "--yes")
    assert res.returncode == 0, res.stderr
    assert "kept Namespace jk-up" in res.stdout and "ConfigMap theirs" in res.stdout
    assert "NFS data on 127.0.0.1:/nfs_shared/jk-up untouched" in res.stdout

    def gone(path):
        o = kit.get(path)
        return o is None or o["metadata"].get("deletionTimestamp")

    ours = [f"/api/v1/namespaces/{ns}/persistentvolumeclaims/jenkins", "/api/v1/persistentvolumes/jk-up-home",
            f"/api/v1/namespaces/{ns}/secrets/jenkins-admin", f"/api/v1/namespaces/{ns}/secrets/registry-credentials",
            f"/api/v1/namespaces/{ns}/serviceaccounts/jenkins-agent",
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/jenkins-agent",
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}-apps/roles/jenkins-agent-deploy", f"/api/v1/namespaces/{ns}-apps"]
    for p in ours:
        kit.cluster.wait_for(lambda p=p: gone(p), 30, p)
    assert kit.get(f"/api/v1/namespaces/{ns}/configmaps/theirs") is not None
    assert kit.get("/api/v1/persistentvolumes/jk-theirs") is not None
    assert kit.get(f"/api/v1/namespaces/{ns}/secrets/other-lab") is not None
    assert kit.get(f"/api/v1/namespaces/{ns}")["status"]["phase"] == "Active"
    assert (home / "config.xml").read_text() == "<hudson/>"
    api.delete("/api/v1/persistentvolumes/jk-theirs")
    kit.cluster.delete_namespace(ns)


# ---------------------------------------------------------------------- secret references


def test_plan_refuses_secret_references_the_pod_cannot_resolve(kit):
    """Every ${...} in the JCasC must resolve in the pod the official chart renders: a missing key
    or a values change that drops the mount fails plan and up before anything is applied."""
    ns = "jk-refs"
    kit.cluster.create_namespace(ns)
    kit.cluster.api.create(f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gh-token"}, "data": {"tokn": base64.b64encode(b"x").decode()}})
    conf = write_config(kit.workdir / ns, ns, release="jenkins-refs",
                        credentials=[{"id": "gh", "secret": {"name": "gh-token", "key": "token"}}])
    try:
        plan = kit.run("plan", "-c", str(conf), "--chart", str(CHART), "--no-jobs")
        assert plan.returncode == 20, plan.stdout + plan.stderr
        err = plan.stderr
        assert "JCasC jenkins-kit-credentials: ${gh-token-token} is read from key 'token' of Secret jk-refs/gh-token" in err, err
        assert "it has: tokn" in err and "add key token to Secret jk-refs/gh-token" in err
        up = kit.run("up", "-c", str(conf), "--chart", str(CHART), "--no-jobs")
        assert up.returncode == 20 and "secret reference(s) would not resolve" in up.stderr
        assert kit.get(f"/api/v1/persistentvolumes/{ns}-home") is None  # nothing applied
        assert kit.cluster.helm_run("status", "jenkins-refs", "-n", ns, check=False).returncode != 0
        # Fixing the Secret makes the same plan pass.
        kit.cluster.api.patch(f"/api/v1/namespaces/{ns}/secrets/gh-token", {"data": {"token": base64.b64encode(b"x").decode()}}, kind="merge")
        assert kit.run("plan", "-c", str(conf), "--chart", str(CHART), "--no-jobs").returncode == 0
        # Values that stop the chart mounting the admin Secret (what jenkins-kit used to render).
        site = kit.workdir / f"{ns}-site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(
            "import jenkins_kit.render.helm_values as hv\n"
            "_orig = hv.render_values\n"
            "def render_values(cfg, jcasc=None):\n"
            "    v = _orig(cfg, jcasc)\n"
            "    v['controller']['admin']['createSecret'] = False\n"
            "    return v\n"
            "hv.render_values = render_values\n")
        env = dict(kit.env, PYTHONPATH=f"{site}{os.pathsep}{kit.env['PYTHONPATH']}")
        p = subprocess.run(kit.argv("plan", "-c", str(conf), "--chart", str(CHART), "--no-jobs"), env=env, cwd=kit.workdir,
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        OUTPUTS.extend([p.stdout, p.stderr])
        assert p.returncode == 20, p.stdout + p.stderr
        assert "${chart-admin-password} does not resolve in the controller pod" in p.stderr
        assert "controller.admin.createSecret: true with controller.admin.existingSecret: jenkins-admin" in p.stderr
    finally:
        kit.run("down", "-c", str(conf), "--purge", "--yes")
        kit.cluster.delete_namespace(ns)


# ---------------------------------------------------------------------- MetalLB: the official chart and the real controller


def test_metallb_assigns_the_service_an_address_from_the_pool(kit):
    require_chart(METALLB_CHART)
    if not kit.cluster.has_metallb_controller:
        pytest.fail("metallb-controller is not built (scripts/build-tools builds it from go.universe.tf/metallb)")
    ns, mns = "jk-lb", "jk-metallb"
    conf = write_config(kit.workdir / ns, ns, release="jenkins-lb",
                        service={"type": "LoadBalancer", "load_balancer_ip": "127.0.0.241"})
    data = yaml.safe_load(conf.read_text())
    data["metallb"] = {"addresses": ["127.0.0.240-127.0.0.250"], "namespace": mns}
    conf.write_text(yaml.safe_dump(data))
    kit.cluster.start_metallb_controller(mns)  # starts once the chart has installed the CRDs
    chart = ("--metallb-chart", str(METALLB_CHART))
    try:
        plan = kit.run("plan", "-c", str(conf), "--chart", str(CHART), *chart)
        assert "+ create   [helm] HelmRelease jk-metallb/metallb" in plan.stdout, plan.stdout + plan.stderr
        assert "IPAddressPool jk-metallb/jenkins-lb-pool  (after MetalLB installs its CRDs)" in plan.stdout
        res, node = up_and_wait(kit, conf, ns, "jenkins-lb-0", *chart)
        assert res.returncode == 0, res.stdout + res.stderr
        assert node == "m-k8s"
        assert "created IPAddressPool jk-metallb/jenkins-lb-pool" in res.stdout and "created L2Advertisement" in res.stdout
        # The address comes from the real controller, honouring the fixed IP jenkins-kit asked for.
        assert "Jenkins: http://127.0.0.241/" in res.stdout, (
            res.stdout + res.stderr + "\n--- metallb-controller log ---\n" + kit.cluster.log_tail("metallb-controller", 40))
        svc = kit.get(f"/api/v1/namespaces/{ns}/services/jenkins-lb")
        assert svc["status"]["loadBalancer"]["ingress"][0]["ip"] == "127.0.0.241"
        pool = kit.get(f"/apis/metallb.io/v1beta1/namespaces/{mns}/ipaddresspools/jenkins-lb-pool")
        assert pool["spec"]["addresses"] == ["127.0.0.240-127.0.0.250"]
        again = kit.run("up", "-c", str(conf), "--chart", str(CHART), *chart, "--timeout", "60")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "No changes" in again.stdout and "Jenkins: http://127.0.0.241/" in again.stdout
        doc = kit.run("doctor", "-c", str(conf), "--json", "--skip", "nfs", "--skip", "registry", "--skip", "jenkins")
        lb = next(c for c in json.loads(doc.stdout)["checks"] if c["name"] == "load balancer")
        assert lb["status"] == "pass" and "127.0.0.240-127.0.0.250" in lb["detail"]
    finally:
        _cleanup(kit, conf, ns)
        assert kit.get(f"/apis/metallb.io/v1beta1/namespaces/{mns}/ipaddresspools/jenkins-lb-pool") is None
        kit.cluster.helm_run("uninstall", "metallb", "-n", mns, check=False)
        kit.cluster.delete_namespace(mns)


# ---------------------------------------------------------------------- referenced admin password + the scan (last)


def test_plan_masks_literal_passwords_of_a_release_installed_by_hand(kit, tmp_path):
    """A release installed the old way (`--set controller.admin.password=...`) holds a value that
    jenkins-kit never resolved; plan's values and JCasC diffs must still not show it."""
    ns = "jk-byhand"
    literal = "Hunter2-LivePassw0rd-by-hand"
    casc = "jenkins:\n  securityRealm:\n    local:\n      users:\n        - id: admin\n          password: " + literal + "\n"
    values = tmp_path / "byhand.yaml"
    values.write_text(yaml.safe_dump({"controller": {"admin": {"createSecret": True, "password": literal},
                                                     "JCasC": {"configScripts": {"jenkins-kit-system": casc}}}}))
    subprocess.run([str(kit.cluster.helm), "upgrade", "--install", "jenkins", str(CHART), "-n", ns, "--create-namespace",
                    "-f", str(values)], env=kit.env, check=True, capture_output=True, timeout=120)
    conf = write_config(tmp_path / "conf", ns, volume="jk-byhand-home")
    res = kit.run("plan", "-c", str(conf), "--chart", str(CHART), "--no-jobs", "--json")
    assert res.returncode in (0, 2), res.stdout + res.stderr
    assert literal not in res.stdout + res.stderr
    assert "<redacted>" in res.stdout  # the change is still shown, masked
    subprocess.run([str(kit.cluster.helm), "uninstall", "jenkins", "-n", ns], env=kit.env, capture_output=True, timeout=120)


def test_up_syncs_jobs_then_no_secret_anywhere(kit, lab_cluster, jenkins_double):
    """A referenced admin password, jobs synced into a Jenkins (the double) once the controller is
    ready; then the scan over every output and file of this module."""
    ns = "jk-ref"
    repos = [{"name": "echo-buildtime", "git": "https://git.example.invalid/echo.git", "deploy": {"generate": {}}},
             {"name": "hello", "git": "https://git.example.invalid/hello.git"}]
    conf = write_config(kit.workdir / ns, ns, release="jenkins-ref", repositories=repos,
                        admin={"password": {"env": "JK_TEST_ADMIN_PASSWORD"}})
    saved = dict(kit.env)
    kit.env.update(JENKINS_URL=jenkins_double.url, JENKINS_USER_ID=jenkins_double.user, JENKINS_API_TOKEN=jenkins_double.token)
    try:
        res, node = up_and_wait(kit, conf, ns, "jenkins-ref-0")
        assert res.returncode == 0, res.stdout + res.stderr
        assert node == "m-k8s"
        assert "jobs: 2 created" in res.stdout, res.stdout
        s = kit.get(f"/api/v1/namespaces/{ns}/secrets/jenkins-admin")
        assert base64.b64decode(s["data"]["jenkins-admin-password"]).decode() == ADMIN_PASSWORD_REF
        # The release's stored values never carry a secret (admin and registry come from Secrets).
        vals = kit.cluster.helm_run("get", "values", "jenkins-ref", "-n", ns, "-a", "-o", "json").stdout
        OUTPUTS.append(vals)
        plan = kit.run("plan", "-c", str(conf), "--chart", str(CHART), "--json")
        data = json.loads(plan.stdout)
        assert data["empty"], plan.stdout
        assert sum(1 for c in data["changes"] if c["world"] == "jobs" and c["action"] == "noop") == 2
        again = kit.run("up", "-c", str(conf), "--chart", str(CHART), "--timeout", "30")
        assert "No changes" in again.stdout and "jobs: 2 up to date" in again.stdout, again.stdout + again.stderr
    finally:
        kit.env.clear()
        kit.env.update(saved)
        _cleanup(kit, conf, ns)
    secrets = [REGISTRY_PASSWORD, ADMIN_PASSWORD_REF, base64.b64encode(REGISTRY_PASSWORD.encode()).decode(),
               base64.b64encode(ADMIN_PASSWORD_REF.encode()).decode(), jenkins_double.token, jenkins_double.password]
    # Files: the work tree of these tests, the harness' helm/kube caches and component logs
    # (not etcd's data: the cluster's store is where Secrets are meant to live).
    etcd = Path(lab_cluster.state_dir) / "etcd-data"
    files = [p for root in (kit.workdir, lab_cluster.state_dir) for p in Path(root).rglob("*")
             if p.is_file() and etcd not in p.parents]
    texts = OUTPUTS + [p.read_bytes().decode("utf-8", "replace") for p in files if p.stat().st_size < 5_000_000]
    assert len(OUTPUTS) >= 8
    for secret in secrets:
        hits = [t[:200] for t in texts if secret in t]
        assert not hits, f"a secret value leaked into output or files: {hits}"
