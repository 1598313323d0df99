"""Bootstrap pieces that need no cluster: secrets, the helm wrapper's argv/stdin, desired objects,
diff normalisation and redaction, pod progress summaries."""

from __future__ import annotations

import base64
import json
import logging
import pickle
from pathlib import Path

import pytest
import yaml

from jenkins_kit.bootstrap import metallb_objects, pod_state, registry_secret_data
from jenkins_kit.config.schema import LabConfig, SecretRef
from jenkins_kit.kube.client import is_ours, normalize, redact, secret_manifest
from jenkins_kit.kube.helm import ChartRef, Helm, HelmError, HelmMissing, parse_manifest
from jenkins_kit.plan import Change, Plan
from jenkins_kit.secrets import (
    REDACTED,
    SecretError,
    SecretValue,
    generate_password,
    resolve,
    scrub,
)

SECRET = "s3cr3t-Value-9d8e7f6a"


def cfg(**extra) -> LabConfig:
    data = {"nfs": {"server": "127.0.0.1", "path": "/nfs_shared/jenkins"},
            "registry": {"address": "127.0.0.1:5000", "credentials": {"username": "builder", "password": {"env": "REG_PW"}}}}
    data.update(extra)
    return LabConfig.model_validate(data)


# ---------------------------------------------------------------------- secrets


def test_secret_value_never_prints(caplog):
    v = SecretValue(SECRET, "env $X")
    assert SECRET not in repr(v) and SECRET not in str(v) and SECRET not in f"{v}" and SECRET not in "%s" % v
    assert v.reveal() == SECRET
    with pytest.raises(TypeError):
        pickle.dumps(v)
    logging.getLogger("t").warning("value %s", v)
    assert SECRET not in caplog.text
    assert scrub(f"boom: {SECRET} and {base64.b64encode(SECRET.encode()).decode()}") == f"boom: {REDACTED} and {REDACTED}"


def test_resolve_env_file_secret(tmp_path):
    assert resolve(SecretRef(env="PW"), environ={"PW": SECRET}).reveal() == SECRET
    with pytest.raises(SecretError) as e:
        resolve(SecretRef(env="PW"), environ={})
    assert "PW" in e.value.message and "export PW" in e.value.hint
    f = tmp_path / "pw"
    f.write_text(SECRET + "\n")
    f.chmod(0o600)
    assert resolve(SecretRef(file=str(f))).reveal() == SECRET
    with pytest.raises(SecretError, match="does not exist"):
        resolve(SecretRef(file=str(tmp_path / "missing")))
    (tmp_path / "empty").write_text("")
    with pytest.raises(SecretError, match="empty"):
        resolve(SecretRef(file=str(tmp_path / "empty")))
    ref = SecretRef(secret={"name": "s", "key": "k"})
    assert resolve(ref, namespace="ns", read_secret=lambda ns, n, k: SECRET if (ns, n, k) == ("ns", "s", "k") else None).reveal() == SECRET
    with pytest.raises(SecretError) as e:
        resolve(ref, namespace="ns", read_secret=lambda *a: None)
    assert "kubectl -n ns create secret generic s" in e.value.hint


def test_generated_passwords():
    pws = {generate_password().reveal() for _ in range(50)}
    assert len(pws) == 50
    for p in pws:
        assert len(p) == 32 and p.isalnum() and any(c.isdigit() for c in p) and any(c.isupper() for c in p)
    with pytest.raises(ValueError):
        generate_password(8)


# ---------------------------------------------------------------------- desired objects


def test_registry_secret_has_docker_config():
    data = registry_secret_data(cfg(), SecretValue(SECRET, "t"))
    assert data["username"] == "builder" and data["password"] == SECRET
    auths = json.loads(data["config.json"])["auths"]
    assert base64.b64decode(auths["127.0.0.1:5000"]["auth"]).decode() == f"builder:{SECRET}"
    m = secret_manifest("registry-credentials", "jenkins", data, {"app.kubernetes.io/managed-by": "jenkins-kit"})
    assert is_ours(m) and base64.b64decode(m["data"]["password"]).decode() == SECRET
    shown = redact(m)
    assert SECRET not in json.dumps(shown) and set(shown["data"]) == {"config.json", "password", "username"}
    other = dict(m, data=dict(m["data"], password="eA=="))
    assert redact(m, other)["data"]["password"] == f"{REDACTED} (changed)"
    assert redact(m, other)["data"]["username"] == REDACTED


def test_metallb_objects_are_the_crd_era_pair():
    assert metallb_objects(cfg()) == []
    objs = metallb_objects(cfg(metallb={"addresses": ["192.168.1.11-192.168.1.29"]}))
    assert [o["kind"] for o in objs] == ["IPAddressPool", "L2Advertisement"]
    assert objs[0]["apiVersion"] == "metallb.io/v1beta1" and objs[0]["metadata"]["namespace"] == "metallb-system"
    assert objs[0]["spec"]["addresses"] == ["192.168.1.11-192.168.1.29"]
    assert objs[1]["spec"]["ipAddressPools"] == [objs[0]["metadata"]["name"]]
    assert all(is_ours(o) for o in objs)
    assert metallb_objects(cfg(metallb={"enabled": False})) == []


def test_normalize_drops_server_bookkeeping():
    live = {"kind": "X", "metadata": {"name": "a", "resourceVersion": "5", "uid": "u", "managedFields": [{}], "generation": 2,
                                      "creationTimestamp": "t", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"a": 1}}
    assert normalize(live) == {"kind": "X", "metadata": {"name": "a"}, "spec": {"a": 1}}
    assert live["metadata"]["uid"] == "u"  # not mutated


def test_pod_state_summaries():
    assert pod_state(None)["summary"] == "no pod yet"
    pending = {"metadata": {"name": "jenkins-0", "namespace": "j"}, "spec": {},
               "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/4 nodes"}]}}
    assert "not scheduled: 0/4 nodes" in pod_state(pending)["summary"]
    pulling = {"metadata": {"name": "jenkins-0", "namespace": "j"}, "spec": {"nodeName": "m-k8s"},
               "status": {"phase": "Pending", "initContainerStatuses": [{"name": "init", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}
    st = pod_state(pulling)
    assert "on m-k8s" in st["summary"] and "init: ImagePullBackOff" in st["summary"] and "image_tag" in st["hint"]
    ready = {"metadata": {"name": "jenkins-0"}, "spec": {"nodeName": "m-k8s"},
             "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    assert pod_state(ready)["ready"]


def test_plan_type():
    p = Plan()
    p.add(Change("Secret", "a/b", "noop", world="cluster"))
    assert p.is_empty
    p.add(Change("Job", "x", "skip", world="jobs"))
    assert p.is_empty
    p.add(Change("PV", "c", "create", diff="+x\n", world="cluster"))
    assert not p.is_empty and p.counts()["create"] == 1 and p.to_json()["changes"][2]["diff"] == "+x\n"


# ---------------------------------------------------------------------- helm wrapper


@pytest.fixture
def fake_helm(tmp_path):
    """A helm that records argv and stdin, answering like helm for the calls we make."""
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "helm"
    script.write_text(f"""#!/usr/bin/env python3
import json, sys
args = sys.argv[1:]
stdin = sys.stdin.read() if "-" in args else ""
with open({str(log)!r}, "a") as f:
    f.write(json.dumps({{"argv": args, "stdin": stdin}}) + "\\n")
if args[0] == "version":
    print("v3.22.0+gtest")
elif args[0] == "status":
    if args[1] == "missing":
        sys.stderr.write("Error: release: not found\\n"); sys.exit(1)
    print(json.dumps({{"name": args[1], "info": {{"status": "deployed"}}, "config": {{}}, "manifest": ""}}))
elif args[0] == "upgrade":
    print(json.dumps({{"name": args[2], "version": 1}}))
elif args[0] == "template":
    print("---\\napiVersion: v1\\nkind: Service\\nmetadata:\\n  name: a\\n---\\napiVersion: v1\\nkind: Secret\\nmetadata:\\n  name: b\\n")
elif args[0] == "uninstall":
    if args[1] == "missing":
        sys.stderr.write("Error: uninstall: Release not loaded: missing: release: not found\\n"); sys.exit(1)
elif args[0] == "fail":
    sys.stderr.write("Error: boom {SECRET}\\n"); sys.exit(1)
""")
    script.chmod(0o755)
    return script, log


def test_helm_values_go_through_stdin_never_argv(fake_helm, tmp_path):
    script, log = fake_helm
    h = Helm(str(script), kubeconfig=str(tmp_path / "kc"), context="lab")
    values = {"controller": {"admin": {"existingSecret": "jenkins-admin"}, "nodeSelector": {"kubernetes.io/hostname": "m-k8s"}}}
    chart = ChartRef("jenkins", "5.9.53", "https://charts.jenkins.io")
    h.upgrade_install("jenkins", chart, "jenkins", values)
    h.template("jenkins", ChartRef(str(tmp_path)), "jenkins", values, is_upgrade=True, kube_version="v1.36.3")
    calls = [json.loads(l) for l in log.read_text().splitlines()]
    up, tpl = calls
    assert up["argv"][:4] == ["upgrade", "--install", "jenkins", "jenkins"]
    assert up["argv"][up["argv"].index("--version") + 1] == "5.9.53"
    assert up["argv"][up["argv"].index("--repo") + 1] == "https://charts.jenkins.io"
    assert up["argv"][up["argv"].index("--values") + 1] == "-"
    assert "--wait" not in up["argv"] and not any(a.startswith("--set") for a in up["argv"])
    assert up["argv"][-4:] == ["--kubeconfig", str(tmp_path / "kc"), "--kube-context", "lab"]
    assert yaml.safe_load(up["stdin"]) == values
    assert "--version" not in tpl["argv"]  # a local chart carries its own version
    assert "--is-upgrade" in tpl["argv"] and "v1.36.3" in tpl["argv"]
    # Every call is an argument list (no shell string), recorded for inspection.
    assert all(isinstance(c, list) and c[0] == str(script) for c in h.calls)


def test_helm_status_errors_and_scrubbing(fake_helm, tmp_path):
    script, _ = fake_helm
    SecretValue(SECRET, "test")  # registered for scrubbing
    h = Helm(str(script))
    assert h.status("missing", "ns") is None
    assert h.status("jenkins", "ns")["info"]["status"] == "deployed"
    assert h.uninstall("missing", "ns") is False
    with pytest.raises(HelmError) as e:
        h.run(["fail"])
    assert SECRET not in str(e.value) and REDACTED in str(e.value)
    assert parse_manifest(h.template("r", ChartRef("c", "1.0.0"), "ns", {})).keys() == {("Service", "", "a"), ("Secret", "", "b")}
    with pytest.raises(HelmMissing):
        Helm(str(tmp_path / "nope"))


def test_chart_ref():
    assert ChartRef("jenkins", "5.9.53", "https://charts.jenkins.io").args() == ["jenkins", "--repo", "https://charts.jenkins.io", "--version", "5.9.53"]
    assert ChartRef("/charts/jenkins-5.9.53.tgz").local
    assert ChartRef("/charts/jenkins-5.9.53.tgz", "5.9.53").args() == ["/charts/jenkins-5.9.53.tgz"]


def test_bootstrap_modules_do_not_log_or_print_secret_values():
    """A static guard next to the runtime scan: no reveal() result is ever formatted into text."""
    root = Path(__file__).resolve().parents[1] / "jenkins_kit"
    for f in ["bootstrap.py", "doctor.py", "nfs.py", "secrets.py", "kube/client.py", "kube/helm.py", "cli/cluster.py"]:
        text = (root / f).read_text()
        for line in text.splitlines():
            if "reveal()" in line:
                assert not any(s in line for s in ("print(", "progress(", "f\"", "Change(", "log")), f"{f}: {line.strip()}"
