"""Issue 13 on the lab control plane: the sample lab's dev -> qa -> prod deploys. RBAC per namespace is
checked with SubjectAccessReview against the real kube-apiserver (least privilege: deploy where the
config says, nothing else), and the generated Jenkinsfile's own deploy steps run as the agent
ServiceAccount (`kubectl --as`), with kwok rolling the Deployments out and the pull Secret in place."""

from __future__ import annotations

import os
import re
import subprocess
import uuid

import pytest
import yaml

from tests.helpers import agent_kubectl

pytestmark = pytest.mark.cluster

REG_PW = "pull-pw-5c1d9e7a3b"


def _cfg(monkeypatch):
    from tests.helpers import config_with, sample_config

    monkeypatch.setenv("JK_TEST_REG_PW", REG_PW)
    reg = sample_config().registry.model_dump(exclude_none=True)
    reg["credentials"] = {"username": "builder", "password": {"env": "JK_TEST_REG_PW"}}
    return config_with(registry=reg)


@pytest.fixture(scope="module")
def applied(lab_cluster, tmp_path_factory):
    """The rendered namespaces, agent ServiceAccount and Roles, and the pull Secrets `up` writes."""
    from jenkins_kit.bootstrap import Bootstrap
    from jenkins_kit.kube.client import Kube
    from jenkins_kit.render.manifests import deploy_namespaces, render_manifests

    mp = pytest.MonkeyPatch()
    try:
        cfg = _cfg(mp)
        kube = Kube.connect(str(lab_cluster.kubeconfig))
        objs = Bootstrap(cfg, kube=kube, helm=None, chart=None).desired_objects()  # type: ignore[arg-type]
    finally:
        mp.undo()
    assert [o for o in objs if o["kind"] == "Role"] == [o for o in render_manifests(cfg) if o["kind"] == "Role"]
    work = tmp_path_factory.mktemp("lab-jobs")
    for o in objs:
        if o["kind"] == "Namespace":
            lab_cluster.create_namespace(o["metadata"]["name"])
    lab_cluster.create_namespace(cfg.agents.namespace)
    f = work / "objs.yaml"
    f.write_text(yaml.safe_dump_all([o for o in objs if o["kind"] != "Namespace"]))
    lab_cluster.kubectl_run("apply", "--server-side", "-f", str(f))
    f.unlink()  # it held the registry password
    return {"cfg": cfg, "deploy_ns": deploy_namespaces(cfg), "work": work}


def _allowed(lab_cluster, cfg, verb: str, group: str, resource: str, namespace: str) -> bool:
    sa_ns, sa = cfg.agents.namespace, cfg.agents.service_account
    review = lab_cluster.api.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": f"system:serviceaccount:{sa_ns}:{sa}",
                 "groups": ["system:serviceaccounts", f"system:serviceaccounts:{sa_ns}", "system:authenticated"],
                 "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group, "resource": resource}},
    })
    return bool(review["status"].get("allowed", False))


def test_agent_may_deploy_to_each_environment_and_nowhere_else(lab_cluster, applied):
    cfg, spaces = applied["cfg"], applied["deploy_ns"]
    assert spaces == ["default", "dev", "qa", "prod"]
    other = f"elsewhere-{uuid.uuid4().hex[:6]}"
    lab_cluster.create_namespace(other)
    try:
        for ns in spaces:
            for verb in ("create", "get", "patch", "update", "watch"):
                assert _allowed(lab_cluster, cfg, verb, "apps", "deployments", ns), (verb, ns)
                assert _allowed(lab_cluster, cfg, verb, "", "services", ns), (verb, ns)
            # least privilege: no deletes, no secrets, no pods, no RBAC in the deploy namespaces
            assert not _allowed(lab_cluster, cfg, "delete", "apps", "deployments", ns), ns
            assert not _allowed(lab_cluster, cfg, "get", "", "secrets", ns), ns
            assert not _allowed(lab_cluster, cfg, "create", "", "pods", ns), ns
            assert not _allowed(lab_cluster, cfg, "create", "rbac.authorization.k8s.io", "rolebindings", ns), ns
        for ns in (other, "kube-system", cfg.cluster.namespace):
            assert not _allowed(lab_cluster, cfg, "create", "apps", "deployments", ns), ns
    finally:
        lab_cluster.delete_namespace(other)


def test_pull_secret_is_in_every_deploy_namespace(lab_cluster, applied):
    import base64
    import json

    cfg = applied["cfg"]
    for ns in applied["deploy_ns"]:
        s = lab_cluster.api.get(f"/api/v1/namespaces/{ns}/secrets/{cfg.registry.credentials.pull_secret_name}")
        assert s["type"] == "kubernetes.io/dockerconfigjson"
        auths = json.loads(base64.b64decode(s["data"][".dockerconfigjson"]))["auths"]
        assert list(auths) == [cfg.registry.address] and auths[cfg.registry.address]["username"] == "builder"
        assert set(s["data"]) == {".dockerconfigjson"}  # not the agent's username/password keys


def _groovy(expr: str) -> str:
    from tests.helpers import java_home

    out = subprocess.run(["groovy", "-e", f"def env = [BUILD_NUMBER: '7']\nprint({expr})"], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, JAVA_HOME=java_home() or ""))
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_echo_ip_promotes_through_dev_qa_prod_as_the_agent(lab_cluster, applied, tmp_path):
    """Each environment's own steps, as rendered, as the agent ServiceAccount; kwok rolls them out."""
    from jenkins_kit.render.jobs import render_jobs
    from tests.test_lab_jobs import _sh_steps

    if subprocess.run(["sh", "-c", "command -v groovy"], capture_output=True).returncode != 0:
        pytest.skip("groovy is not installed")
    cfg = applied["cfg"]
    job = next(j for j in render_jobs(cfg) if j.repository == "echo-ip")
    jf = job.jenkinsfile
    assert "<name>DEPLOY_TO_QA</name>" in job.config_xml  # the qa gate is a job parameter
    shim = agent_kubectl(tmp_path, lab_cluster.kubectl, cfg)
    env_base = lab_cluster.env()
    env_base["PATH"] = f"{shim}{os.pathsep}{env_base['PATH']}"
    for name in ("dev", "qa", "prod"):
        expr = re.search(rf"writeFile file: 'jenkins-kit-deploy-{name}.yaml', text: (.+)$", jf, re.M)
        assert expr, name
        (tmp_path / f"jenkins-kit-deploy-{name}.yaml").write_text(_groovy(expr.group(1)))
        steps = _sh_steps(jf, f"Deploy to {name}") + _sh_steps(jf, f"Rollout {name}")
        assert len(steps) == 2, steps
        for vars_, script in steps:
            assert vars_["KIT_NAMESPACE"] == name
            out = subprocess.run(["sh", "-ec", script.replace("--timeout=300s", "--timeout=90s")], cwd=tmp_path,
                                 env={**env_base, **vars_, "BUILD_NUMBER": "7"}, capture_output=True, text=True,
                                 timeout=150, stdin=subprocess.DEVNULL)
            assert out.returncode == 0, (name, out.stdout, out.stderr)
        dep = lab_cluster.api.get(f"/apis/apps/v1/namespaces/{name}/deployments/echo-ip")
        spec = dep["spec"]["template"]["spec"]
        assert spec["containers"][0]["image"] == f"{cfg.registry.address}/echo-ip:7"
        assert spec["imagePullSecrets"] == [{"name": cfg.registry.credentials.pull_secret_name}]
        assert dep["status"].get("readyReplicas") == 1


def _doctor_builder(lab_cluster, tmp_path, **sections):
    import json

    from click.testing import CliRunner

    from jenkins_kit.cli.main import cli
    from tests.helpers import SAMPLE

    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    for k, v in sections.items():
        data[k] = {**data.get(k, {}), **v}
    p = tmp_path / "doctor.yaml"
    p.write_text(yaml.safe_dump(data))
    r = CliRunner().invoke(cli, ["doctor", "-c", str(p), "--kubeconfig", str(lab_cluster.kubeconfig), "--skip", "helm",
                                 "--skip", "nfs", "--skip", "registry", "--skip", "jenkins", "-o", "json"])
    doc = json.loads(r.stdout)
    return next(c for c in doc["checks"] if c["name"] == "builder")


def test_doctor_reads_the_nodes_and_warns_when_rootless_buildkit_cannot_run(lab_cluster, tmp_path):
    """The nodes' kernel and OS image from the API: a CentOS 7 worker (kernel 3.10, no user namespaces by
    default) gets a warning with the fix; the privileged builder passes there."""
    node = "w3-k8s"
    path = f"/api/v1/nodes/{node}/status"
    before = lab_cluster.api.get(f"/api/v1/nodes/{node}")["status"]["nodeInfo"]
    ok = _doctor_builder(lab_cluster, tmp_path)
    assert ok["status"] == "pass" and "rootless BuildKit" in ok["detail"], ok
    lab_cluster.api.patch(path, {"status": {"nodeInfo": {"kernelVersion": "3.10.0-1160.el7.x86_64",
                                                         "osImage": "CentOS Linux 7 (Core)"}}})
    try:
        assert lab_cluster.api.get(f"/api/v1/nodes/{node}")["status"]["nodeInfo"]["osImage"] == "CentOS Linux 7 (Core)"
        c = _doctor_builder(lab_cluster, tmp_path)
        assert c["status"] == "warn", c  # one of three worker nodes
        assert node in c["detail"] and "user.max_user_namespaces=0" in c["detail"]
        assert "agents.builder: privileged" in c["fix"] and "sysctl" in c["fix"]
        p = _doctor_builder(lab_cluster, tmp_path, agents={"builder": "privileged"})
        assert p["status"] == "pass" and "privileged BuildKit" in p["detail"], p
        # the lab's API server is 1.3x: a config claiming an older cluster is fine, the reverse is said
        server = lab_cluster.api.get("/version")["minor"]
        assert int(server.rstrip("+")) >= 30
    finally:
        lab_cluster.api.patch(path, {"status": {"nodeInfo": {"kernelVersion": before["kernelVersion"],
                                                             "osImage": before["osImage"]}}})


def test_doctor_refuses_a_pod_security_level_the_builder_breaks(lab_cluster, tmp_path):
    ns = f"jk-psa-{uuid.uuid4().hex[:6]}"
    lab_cluster.create_namespace(ns, labels={"pod-security.kubernetes.io/enforce": "baseline"})
    try:
        c = _doctor_builder(lab_cluster, tmp_path, agents={"namespace": ns})
        assert c["status"] == "fail" and "Pod Security 'baseline'" in c["detail"], c
        assert f"kubectl label --overwrite ns {ns} pod-security.kubernetes.io/enforce=privileged" in c["fix"]
    finally:
        lab_cluster.delete_namespace(ns)


def test_own_manifests_get_the_pull_secret_too(lab_cluster, applied, tmp_path, monkeypatch):
    """A repository with its own manifests: the Deploy step applies them, points the Deployment at the new
    image and, since the registry needs auth, at the pull Secret; run as the agent ServiceAccount in dev."""
    from jenkins_kit.render.jobs import render_jobs
    from tests.helpers import config_with
    from tests.test_lab_jobs import _sh_steps

    if subprocess.run(["sh", "-c", "command -v groovy"], capture_output=True).returncode != 0:
        pytest.skip("groovy is not installed")
    monkeypatch.setenv("JK_TEST_REG_PW", REG_PW)
    base = applied["cfg"]
    cfg = config_with(registry=base.registry.model_dump(exclude_none=True), repositories=[
        {"name": "own", "git": "https://e.com/own.git", "deploy": {"manifests": "k8s", "environments": [{"name": "dev"}]}}])
    jf = next(j.jenkinsfile for j in render_jobs(cfg) if j.repository == "own")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "deployment.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "own"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "own"}},
                 "template": {"metadata": {"labels": {"app": "own"}},
                              "spec": {"containers": [{"name": "app", "image": "placeholder:0"}]}}}}))
    shim = agent_kubectl(tmp_path, lab_cluster.kubectl, cfg)
    env = lab_cluster.env()
    env["PATH"] = f"{shim}{os.pathsep}{env['PATH']}"
    for vars_, script in _sh_steps(jf, "Deploy to dev") + _sh_steps(jf, "Rollout dev"):
        out = subprocess.run(["sh", "-ec", script.replace("--timeout=300s", "--timeout=90s")], cwd=tmp_path,
                             env={**env, **vars_, "BUILD_NUMBER": "9"}, capture_output=True, text=True, timeout=150,
                             stdin=subprocess.DEVNULL)
        assert out.returncode == 0, (out.stdout, out.stderr)
    spec = lab_cluster.api.get("/apis/apps/v1/namespaces/dev/deployments/own")["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == f"{cfg.registry.address}/own:9"
    assert spec["imagePullSecrets"] == [{"name": cfg.registry.credentials.pull_secret_name}]
