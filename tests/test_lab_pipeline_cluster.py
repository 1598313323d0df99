"""The pipeline's cluster side with real parts: the CNCF registry (distribution v3, TLS + htpasswd)
authenticates a real push made with the config.json Secret `up` created for the agents, `doctor`
probes that registry, and the generated Jenkinsfile's deploy commands run as the agent
ServiceAccount on the lab control plane, with kwok making the Deployment roll out.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import agent_kubectl
from tests.test_bootstrap_cluster import CHART, OUTPUTS, Kit, write_config

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REGISTRY_PASSWORD = "reg-pw-7f3a9c1e5b2d8046"  # the one tests/test_bootstrap_cluster.py's scan looks for
NS = "jk-pipe"


def _tls(d: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (the registry's address)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jenkins-kit test registry CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    d.mkdir(parents=True, exist_ok=True)
    (d / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return d / "ca.crt", d / "tls.crt", d / "tls.key"


@pytest.fixture(scope="module")
def lab(lab_cluster, tmp_path_factory):
    """`up` of a lab whose registry is a real registry on loopback; yields what the tests need."""
    from tests.official_chart import JENKINS_CHART, require_chart

    require_chart(JENKINS_CHART)
    if not lab_cluster.has_kwok:
        pytest.fail("kwok is not built (scripts/build-tools builds it)")
    bcrypt = pytest.importorskip("bcrypt")
    work = tmp_path_factory.mktemp("pipeline")
    ca, crt, key = _tls(work / "tls")
    htpasswd = work / "htpasswd"
    htpasswd.write_text("builder:" + bcrypt.hashpw(REGISTRY_PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode() + "\n")
    address = lab_cluster.start_registry(htpasswd, crt, key, ca)
    kit = Kit(lab_cluster, work)
    conf = write_config(work / "lab", NS, release="jenkins-pipe")
    data = yaml.safe_load(conf.read_text())
    data["registry"]["address"] = address
    conf.write_text(yaml.safe_dump(data))
    res = kit.run("up", "-c", str(conf), "--chart", str(CHART), "--timeout", "120", "--no-jobs")
    assert res.returncode == 0, res.stdout + res.stderr
    yield {"kit": kit, "conf": conf, "address": address, "ca": ca, "work": work}
    kit.run("down", "-c", str(conf), "--purge", "--yes")


def _crane(lab, docker_config: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(lab["work"]), "DOCKER_CONFIG": str(docker_config),
           "SSL_CERT_FILE": str(lab["ca"]), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    p = subprocess.run([str(lab["kit"].cluster.bin_dir / "crane"), *args], env=env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    OUTPUTS.extend([p.stdout, p.stderr])
    return p


def _layer(d: Path) -> Path:
    """A one-file layer, built here from scratch (no base image, nothing pulled)."""
    import tarfile

    src = d / "hello.txt"
    src.write_text("built by the jenkins-kit registry test\n")
    tar = d / "layer.tar"
    with tarfile.open(tar, "w") as t:
        t.add(src, arcname="hello.txt")
    return tar


def test_push_with_the_rendered_agent_credentials(lab):
    if not (lab["kit"].cluster.bin_dir / "crane").exists():
        pytest.fail("crane is not built (scripts/build-tools builds it)")
    kit = lab["kit"]
    secret = kit.get(f"/api/v1/namespaces/{NS}/secrets/registry-credentials")  # the Secret the agent template mounts
    config_json = base64.b64decode(secret["data"]["config.json"]).decode()
    assert lab["address"] in json.loads(config_json)["auths"]
    good = lab["work"] / "docker-good"
    good.mkdir()
    (good / "config.json").write_text(config_json)
    layer = _layer(lab["work"])
    ref = f"{lab['address']}/jenkins-kit/tiny:1"
    push = _crane(lab, good, "append", "-f", str(layer), "-t", ref)
    assert push.returncode == 0, push.stderr
    digest = _crane(lab, good, "digest", ref)
    assert digest.returncode == 0 and digest.stdout.startswith("sha256:")
    # The same config with a wrong password is refused by the registry.
    bad = lab["work"] / "docker-bad"
    bad.mkdir()
    auths = json.loads(config_json)
    entry = auths["auths"][lab["address"]]
    entry["password"] = "wrong-password"
    entry["auth"] = base64.b64encode(f"{entry['username']}:wrong-password".encode()).decode()
    (bad / "config.json").write_text(json.dumps(auths))
    refused = _crane(lab, bad, "append", "-f", str(layer), "-t", f"{lab['address']}/jenkins-kit/tiny:2")
    assert refused.returncode != 0
    assert "UNAUTHORIZED" in refused.stderr or "401" in refused.stderr, refused.stderr


def test_doctor_probes_the_registry_and_its_credentials(lab):
    kit = lab["kit"]
    env = dict(kit.env, REQUESTS_CA_BUNDLE=str(lab["ca"]))
    argv = kit.argv("doctor", "-c", str(lab["conf"]), "--json", "--skip", "nfs", "--skip", "jenkins")
    p = subprocess.run(argv, env=env, cwd=kit.workdir, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    OUTPUTS.extend([p.stdout, p.stderr])
    by = {c["name"]: c for c in json.loads(p.stdout)["checks"]}
    assert by["registry"]["status"] == "pass" and "requires credentials" in by["registry"]["detail"], by["registry"]
    assert by["registry login"]["status"] == "pass", by["registry login"]
    assert by["secret references"]["status"] == "pass", by["secret references"]
    env["JK_TEST_REGISTRY_PASSWORD"] = "not-the-password"
    p = subprocess.run(argv, env=env, cwd=kit.workdir, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    OUTPUTS.extend([p.stdout, p.stderr])
    by = {c["name"]: c for c in json.loads(p.stdout)["checks"]}
    assert by["registry login"]["status"] == "fail" and "rejected" in by["registry login"]["detail"]
    assert p.returncode != 0


def _deploy_steps(jenkinsfile: str) -> tuple[str, list[str]]:
    """The Deploy stage's writeFile expression and the kubectl shell steps, as rendered."""
    expr = re.search(r"writeFile file: 'jenkins-kit-deploy.yaml', text: (.+)$", jenkinsfile, re.M)
    assert expr, jenkinsfile
    steps = re.findall(r"^\s*sh '(kubectl [^']*)'$", jenkinsfile, re.M)
    return expr.group(1), steps


def test_deploy_stage_runs_as_the_agent_service_account(lab, tmp_path):
    """The Jenkinsfile's own deploy steps (manifest text evaluated by Groovy, the real consumer;
    kubectl commands as rendered), impersonating the agent ServiceAccount; kwok rolls it out."""
    from jenkins_kit.config import load_config
    from jenkins_kit.render.jobs import render_jobs
    from tests.helpers import java_home

    kit = lab["kit"]
    data = yaml.safe_load(lab["conf"].read_text())
    data["repositories"] = [{"name": "echo-buildtime", "git": "https://git.example.invalid/echo.git",
                             "deploy": {"generate": {"replicas": 2, "container_port": 18080, "service_port": 80}}}]
    conf = tmp_path / "jenkins-kit.yaml"
    conf.write_text(yaml.safe_dump(data))
    cfg = load_config(str(conf))
    # kubectl, as the agent ServiceAccount: a shim first on PATH adds the impersonation.
    shim = agent_kubectl(tmp_path, kit.cluster.kubectl, cfg)

    def rehearse(deploy_namespace: str) -> subprocess.CompletedProcess:
        data["agents"]["deploy_namespace"] = deploy_namespace
        conf.write_text(yaml.safe_dump(data))
        jf = next(j.jenkinsfile for j in render_jobs(load_config(str(conf))) if j.jenkinsfile)
        expr, steps = _deploy_steps(jf)
        assert len(steps) == 2 and "apply" in steps[0] and "rollout status" in steps[1], steps
        groovy = subprocess.run(["groovy", "-e", f"def env = [BUILD_NUMBER: '7']\nprint({expr})"], capture_output=True,
                                text=True, timeout=120, env=dict(os.environ, JAVA_HOME=java_home() or ""))
        assert groovy.returncode == 0, groovy.stderr
        (tmp_path / "jenkins-kit-deploy.yaml").write_text(groovy.stdout)
        env = dict(kit.env, PATH=f"{shim}{os.pathsep}{kit.env['PATH']}", KIT_NAMESPACE=deploy_namespace,
                   KIT_DEPLOYMENT="echo-buildtime", BUILD_NUMBER="7")
        out = subprocess.CompletedProcess([], 0, "", "")
        for step in steps:
            out = subprocess.run(["sh", "-c", step.replace("--timeout=300s", "--timeout=90s")], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
            OUTPUTS.extend([out.stdout, out.stderr])
            if out.returncode != 0:
                return out
        return out

    granted = cfg.agents.deploy_namespace
    ok = rehearse(granted)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert 'deployment "echo-buildtime" successfully rolled out' in ok.stdout
    dep = kit.get(f"/apis/apps/v1/namespaces/{granted}/deployments/echo-buildtime")
    assert dep["status"]["readyReplicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":7")
    assert dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 18080
    # Jobs rendered for a namespace the agent's RBAC does not grant are refused by the API server.
    kit.cluster.create_namespace("jk-pipe-other")
    try:
        denied = rehearse("jk-pipe-other")
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower(), denied.stderr
        assert kit.get("/apis/apps/v1/namespaces/jk-pipe-other/deployments/echo-buildtime") is None
    finally:
        kit.cluster.delete_namespace("jk-pipe-other")


def _plugin_pod(template: dict, name: str) -> dict:
    """The Pod the kubernetes plugin would create from a JCasC pod template: its structured containers,
    the workspace volume it adds to every container (PodTemplateBuilder#build), and the template's `yaml`
    merged over them by container name (PodTemplateUtils#combine). A model of the plugin's merge, kept
    to what the shell template uses; the referee is the API server, which validates the result."""
    raw = yaml.safe_load(template["yaml"])
    spec = raw["spec"]
    work = {"name": "workspace-volume", "mountPath": "/home/jenkins/agent"}
    containers = []
    for c in template["containers"]:
        env = [{"name": e["envVar"]["key"], "value": e["envVar"]["value"]} for e in c.get("envVars", [])]
        containers.append({"name": c["name"], "image": c["image"], "args": c["args"].replace("^$", "$").split(),
                           "workingDir": c["workingDir"], "env": env, "volumeMounts": [work],
                           "resources": {"requests": {"cpu": c["resourceRequestCpu"], "memory": c["resourceRequestMemory"]}}})
    by_name = {c["name"]: c for c in containers}
    for c in spec["containers"]:
        if c["name"] in by_name:
            by_name[c["name"]]["volumeMounts"] += c.get("volumeMounts", [])
        else:
            containers.append({**c, "volumeMounts": [*c.get("volumeMounts", []), work]})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"jenkins/label": template["label"]}, **(raw.get("metadata") or {})},
            "spec": {"serviceAccountName": template["serviceAccount"], "restartPolicy": "Never",
                     "securityContext": spec["securityContext"], "initContainers": spec["initContainers"],
                     "containers": containers, "volumes": [*spec["volumes"], {"name": "workspace-volume", "emptyDir": {}}]}}


def test_shell_template_pod_and_the_books_freestyle_steps(lab, tmp_path):
    """Issue 13: the shell template that freestyle jobs run on. The API server accepts the pod the plugin
    would build from it (init containers, shared volumes, the registry Secret `up` created) and kwok starts
    it; the chapter's 5.4.1 kubectl steps, taken from the rendered freestyle config.xml, run as the agent
    ServiceAccount in the deploy namespace. (The buildctl step needs a BuildKit daemon, which cannot run
    without a kubelet: not executed here.)"""
    import xml.etree.ElementTree as ET

    from jenkins_kit.config import load_config
    from jenkins_kit.render.jcasc import render_jcasc
    from jenkins_kit.render.jobs import render_jobs

    kit = lab["kit"]
    data = yaml.safe_load(lab["conf"].read_text())
    steps = ['buildctl build --frontend dockerfile.v0 --local context=. --local dockerfile=. '
             '--output "type=image,name=$KIT_REGISTRY/echo-ip:$BUILD_NUMBER,push=true$KIT_OUTPUT_OPTS"',
             'kubectl -n "$KIT_DEPLOY_NAMESPACE" create deployment fs-echo-ip --image="$KIT_REGISTRY/echo-ip:$BUILD_NUMBER"'
             ' --dry-run=client -o yaml | kubectl apply -f -',
             'kubectl -n "$KIT_DEPLOY_NAMESPACE" expose deployment fs-echo-ip --type=LoadBalancer --port=8080 --target-port=80'
             ' --dry-run=client -o yaml | kubectl apply -f -']
    data["repositories"] = [{"name": "echo-ip-101", "git": "https://git.example.invalid/echo-ip.git",
                             "job": {"type": "freestyle", "steps": steps}}]
    conf = tmp_path / "jenkins-kit.yaml"
    conf.write_text(yaml.safe_dump(data))
    cfg = load_config(str(conf))
    cloud = yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])
    shell = next(t for t in cloud["jenkins"]["clouds"][0]["kubernetes"]["templates"] if t["name"] == cfg.agents.shell_label)
    (job,) = render_jobs(cfg)
    root = ET.fromstring(job.config_xml.encode("utf-8"))
    assert root.findtext("assignedNode") == shell["label"]

    ns = cfg.agents.namespace
    pod = _plugin_pod(shell, "jk-shell-agent")
    kit.cluster.api.create(f"/api/v1/namespaces/{ns}/pods", pod)
    try:
        live = kit.get(f"/api/v1/namespaces/{ns}/pods/jk-shell-agent")
        mounts = {c["name"]: {m["mountPath"] for m in c["volumeMounts"]} for c in live["spec"]["containers"]}
        assert {"/opt/jenkins-kit/bin", "/run/buildkit", "/home/jenkins/.docker"} <= mounts["jnlp"]
        assert "/run/buildkit" in mounts["buildkitd"]
        secret = next(v for v in live["spec"]["volumes"] if v["name"] == "registry-config")["secret"]["secretName"]
        assert kit.get(f"/api/v1/namespaces/{ns}/secrets/{secret}") is not None  # what `up` created
        phase = ""
        for _ in range(60):
            phase = ((kit.get(f"/api/v1/namespaces/{ns}/pods/jk-shell-agent") or {}).get("status") or {}).get("phase", "")
            if phase == "Running":
                break
            time.sleep(0.5)
        assert phase == "Running"
    finally:
        kit.cluster.api.delete(f"/api/v1/namespaces/{ns}/pods/jk-shell-agent")

    shim = agent_kubectl(tmp_path, kit.cluster.kubectl, cfg)
    # the agent container's environment as the shell template sets it (minus PATH: the shim and this kubectl)
    jnlp_env = {e["envVar"]["key"]: e["envVar"]["value"] for e in shell["containers"][0]["envVars"]}
    env = dict(kit.env, PATH=f"{shim}{os.pathsep}{kit.env['PATH']}", BUILD_NUMBER="3",
               **{k: v for k, v in jnlp_env.items() if k.startswith("KIT_")})
    commands = [b.findtext("command") for b in root.find("builders")]
    assert commands == steps
    try:
        for step in commands[1:] + commands[1:]:  # twice: a rebuild must not fail on what the first one made
            out = subprocess.run(["sh", "-c", step], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                 stdin=subprocess.DEVNULL)
            OUTPUTS.extend([out.stdout, out.stderr])
            assert out.returncode == 0, out.stdout + out.stderr
        dep = kit.get(f"/apis/apps/v1/namespaces/{cfg.agents.deploy_namespace}/deployments/fs-echo-ip")
        assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == f"{cfg.registry.address}/echo-ip:3"
        svc = kit.get(f"/api/v1/namespaces/{cfg.agents.deploy_namespace}/services/fs-echo-ip")
        assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["ports"][0]["port"] == 8080
    finally:
        kit.cluster.api.delete(f"/apis/apps/v1/namespaces/{cfg.agents.deploy_namespace}/deployments/fs-echo-ip")
        kit.cluster.api.delete(f"/api/v1/namespaces/{cfg.agents.deploy_namespace}/services/fs-echo-ip")


def test_no_secret_in_any_output(lab):
    texts = OUTPUTS + [p.read_text(errors="replace") for p in Path(lab["work"]).rglob("*")
                       if p.is_file() and p.suffix not in (".tar",) and "docker-" not in str(p.parent) and p.name != "htpasswd"]
    for secret in (REGISTRY_PASSWORD, base64.b64encode(REGISTRY_PASSWORD.encode()).decode()):
        assert not [t[:120] for t in texts if secret in t]
