"""The official jenkins chart (5.9.53, ../shared/charts) renders what the bootstrap checks from the
values jenkins-kit emits, and refuses what it refuses (helm template; no cluster needed).

This replaced a stand-in chart written for the tests: it had a values schema stricter than the
official chart (which validates no keys; templates/deprecation.yaml only refuses removed ones), so
it agreed with our assumptions instead of testing them. Unknown keys are caught by
test_render_bundle.py::test_every_helm_value_key_exists_in_the_official_chart.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from jenkins_kit.kube.helm import parse_manifest
from jenkins_kit.render.helm_values import render_values
from jenkins_kit.render.jcasc import render_jcasc
from tests.helpers import sample_config
from tests.official_chart import JENKINS_CHART, require_chart, require_helm


def template(values: dict, release: str = "jenkins") -> subprocess.CompletedProcess:
    return subprocess.run([require_helm(), "template", release, str(require_chart(JENKINS_CHART)), "--namespace", "jenkins",
                           "--values", "-", "--skip-tests"],
                          input=yaml.safe_dump(values), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def values():
    return render_values(sample_config())


def test_renders_what_the_bootstrap_checks(values):
    p = template(values)
    assert p.returncode == 0, p.stderr
    objs = parse_manifest(p.stdout)
    sts = objs[("StatefulSet", "jenkins", "jenkins")]
    pod = sts["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/hostname": "m-k8s"}
    assert {t["key"] for t in pod["tolerations"]} == {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}
    assert pod["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "runAsNonRoot": True}
    c = next(c for c in pod["containers"] if c["name"] == "jenkins")
    assert c["image"] == "docker.io/jenkins/jenkins:2.568.2-jdk21"
    assert c["securityContext"]["runAsGroup"] == 1000 and c["securityContext"]["readOnlyRootFilesystem"] is True
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["jenkins-home"]["persistentVolumeClaim"]["claimName"] == "jenkins"
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert "--sessionTimeout=1440" in env["JENKINS_OPTS"] and "-Duser.timezone=Asia/Seoul" in env["JAVA_OPTS"]
    svc = objs[("Service", "jenkins", "jenkins")]
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 8080
    assert svc["metadata"]["annotations"] == {"metallb.io/loadBalancerIPs": "192.168.1.11"}
    # No Secret of the chart's own: the admin credentials come from the existing Secret.
    assert not [k for k in objs if k[0] == "Secret"]
    for key, text in render_jcasc(sample_config()).items():
        cm = objs[("ConfigMap", "jenkins", f"jenkins-jenkins-config-{key}")]
        assert cm["metadata"]["labels"]["jenkins-jenkins-config"] == "true"
        assert cm["data"][f"{key}.yaml"] == text.rstrip("\n")


def test_test_hooks_are_not_part_of_what_is_compared(values):
    """`helm template` prints the chart's test hooks; a release manifest never holds them."""
    out = subprocess.run([require_helm(), "template", "jenkins", str(require_chart(JENKINS_CHART)), "-n", "jenkins", "--values", "-"],
                         input=yaml.safe_dump(values), capture_output=True, text=True, timeout=60, check=True).stdout
    assert "helm.sh/hook" in out  # the chart has them...
    assert not [k for k in parse_manifest(out) if k[0] == "Pod"]  # ...and they are left out


def test_release_naming_follows_the_official_chart(values):
    objs = parse_manifest(template(values, release="ci").stdout)
    assert ("StatefulSet", "jenkins", "ci-jenkins") in objs
    objs = parse_manifest(template(values, release="jenkins-lab").stdout)
    assert ("StatefulSet", "jenkins", "jenkins-lab") in objs


@pytest.mark.parametrize("mutate,why", [
    (lambda v: v.update(master={"adminPassword": "x"}), "`master` does no longer exist"),
    (lambda v: v["controller"].update(imageTag="2.1"), "controller.imageTag"),
])
def test_refuses_removed_keys(values, mutate, why):
    v = yaml.safe_load(yaml.safe_dump(values))
    mutate(v)
    p = template(v)
    assert p.returncode != 0 and why in p.stderr
