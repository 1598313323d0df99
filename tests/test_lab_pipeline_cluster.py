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
from pathlib import Path

import pytest
import yaml

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
    shim = tmp_path / "bin"
    shim.mkdir()
    sa = f"system:serviceaccount:{cfg.agents.namespace}:{cfg.agents.service_account}"
    (shim / "kubectl").write_text(f'#!/bin/sh\nexec "{kit.cluster.kubectl}" --as="{sa}" "$@"\n')
    (shim / "kubectl").chmod(0o755)

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


def test_no_secret_in_any_output(lab):
    texts = OUTPUTS + [p.read_text(errors="replace") for p in Path(lab["work"]).rglob("*")
                       if p.is_file() and p.suffix not in (".tar",) and "docker-" not in str(p.parent) and p.name != "htpasswd"]
    for secret in (REGISTRY_PASSWORD, base64.b64encode(REGISTRY_PASSWORD.encode()).decode()):
        assert not [t[:120] for t in texts if secret in t]
