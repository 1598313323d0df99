"""The stand-in chart accepts exactly the values we emit for the official chart, renders what the
bootstrap checks, and rejects what the official chart rejects (helm template; no cluster needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from jenkins_kit.config.loader import load_config
from jenkins_kit.kube.helm import parse_manifest
from jenkins_kit.render.helm_values import render_values
from jenkins_kit.render.jcasc import render_jcasc

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "tests" / "fixtures" / "charts" / "jenkins-standin"
OFFICIAL_VALUES = REPO.parent / "shared" / "data" / "jenkins-chart-values.yaml"


def _helm() -> str:
    env = os.environ.get("JENKINS_KIT_HELM")
    if env and os.access(env, os.X_OK):
        return env
    try:
        from tests.cluster.harness import tools_bin_dir

        h = tools_bin_dir() / "helm"
        if h.exists():
            return str(h)
    except Exception:
        pass
    found = shutil.which("helm")
    if not found:
        pytest.skip("no helm binary (scripts/build-tools builds one)")
    return found


def template(values: dict, release: str = "jenkins") -> subprocess.CompletedProcess:
    return subprocess.run([_helm(), "template", release, str(CHART), "--namespace", "jenkins", "--values", "-"],
                          input=yaml.safe_dump(values), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def values():
    return render_values(load_config(str(REPO / "examples" / "lab" / "jenkins-kit.yaml")))


def test_renders_what_the_bootstrap_checks(values):
    p = template(values)
    assert p.returncode == 0, p.stderr
    objs = parse_manifest(p.stdout)
    sts = objs[("StatefulSet", "jenkins", "jenkins")]
    pod = sts["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/hostname": "m-k8s"}
    assert {t["key"] for t in pod["tolerations"]} == {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}
    assert pod["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "runAsNonRoot": True}
    c = pod["containers"][0]
    assert c["image"] == "docker.io/jenkins/jenkins:2.568.2-jdk21"
    assert c["securityContext"]["runAsGroup"] == 1000 and c["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "jenkins"
    assert sts["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "jenkins-controller"
    svc = objs[("Service", "jenkins", "jenkins")]
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 8080
    assert svc["metadata"]["annotations"] == {"metallb.io/loadBalancerIPs": "192.168.1.11"}
    for key, text in render_jcasc(load_config(str(REPO / "examples" / "lab" / "jenkins-kit.yaml"))).items():
        cm = objs[("ConfigMap", "jenkins", f"jenkins-jenkins-config-{key}")]
        assert cm["metadata"]["labels"]["jenkins-jenkins-config"] == "true"
        assert cm["data"][f"{key}.yaml"] == text.rstrip("\n")


def test_release_naming_follows_the_official_chart(values):
    objs = parse_manifest(template(values, release="ci").stdout)
    assert ("StatefulSet", "jenkins", "ci-jenkins") in objs
    objs = parse_manifest(template(values, release="jenkins-lab").stdout)
    assert ("StatefulSet", "jenkins", "jenkins-lab") in objs


@pytest.mark.parametrize(
    "mutate,why",
    [
        (lambda v: v.update(master={"adminPassword": "x"}), "master"),
        (lambda v: v["controller"].update(runAsGroup=1000), "runAsGroup"),
        (lambda v: v["controller"].update(imageTag="2.1"), "imageTag"),
        (lambda v: v["controller"].update(adminPasword="typo"), "adminPasword"),
        (lambda v: v["persistence"].update(existingClam="jenkins"), "existingClam"),
    ],
)
def test_rejects_what_the_official_chart_does_not_have(values, mutate, why):
    v = yaml.safe_load(yaml.safe_dump(values))
    mutate(v)
    p = template(v)
    assert p.returncode != 0 and why in p.stderr


@pytest.mark.skipif(not OFFICIAL_VALUES.exists(), reason="shared/data/jenkins-chart-values.yaml not present")
def test_schema_keys_are_the_official_charts():
    import json

    schema = json.loads((CHART / "values.schema.json").read_text())
    official = yaml.safe_load(OFFICIAL_VALUES.read_text())
    assert set(schema["properties"]["controller"]["properties"]) == set(official["controller"])
    assert set(schema["properties"]["persistence"]["properties"]) == set(official["persistence"])
    assert set(schema["properties"]["agent"]["properties"]) == set(official["agent"])
    assert set(schema["properties"]) == set(official)
