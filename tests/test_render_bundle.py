"""The offline bundle: deterministic, valid for the real schemas, no secret values, chart-key exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from jenkins_kit.render.bundle import render_bundle, write_bundle
from jenkins_kit.render.helm_values import render_values
from jenkins_kit.render.jcasc import render_jcasc
from jenkins_kit.render.manifests import render_manifests
from tests.helpers import SAMPLE, SHARED, config_with, sample_config

CHART_VALUES = SHARED / "data" / "jenkins-chart-values.yaml"
# Keys the chart passes through as free-form maps or lists: anything below them is ours to shape.
PASSTHROUGH = {
    "controller.nodeSelector",
    "controller.tolerations",
    "controller.JCasC.configScripts",
    "controller.podSecurityContextOverride",
    "controller.serviceAnnotations",
    "controller.additionalExistingSecrets",
    "controller.installPlugins",
    "controller.JCasC.configUrls",
}


def _key_paths(d: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            out.append(path)
            if path not in PASSTHROUGH:
                out.extend(_key_paths(v, path))
    return out


def _chart_has(defaults: dict[str, Any], path: str) -> bool:
    node: Any = defaults
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_manifests_validate_strictly_against_kubernetes_openapi() -> None:
    cfg = sample_config()
    manifests = render_manifests(cfg)
    kinds = [m["kind"] for m in manifests]
    n = kinds.count("Namespace")  # the Jenkins namespace, then the sample's dev/qa/prod deploy namespaces
    assert n >= 1 and kinds[: n + 2] == ["Namespace"] * n + ["PersistentVolume", "PersistentVolumeClaim"]
    for m in manifests:
        kubernetes_validate.validate(m, cfg.cluster.kubernetes_version, strict=True)


def test_pv_and_pvc_are_bound_to_each_other_with_retain_and_no_storage_class() -> None:
    cfg = sample_config()
    pv, pvc = (m for m in render_manifests(cfg) if m["kind"] in ("PersistentVolume", "PersistentVolumeClaim"))
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "storageClassName" not in pv["spec"]
    assert pv["spec"]["nfs"] == {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"}
    assert pvc["spec"]["storageClassName"] == ""
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"]


def test_agent_rbac_is_exactly_plugin_rules_plus_deploy_rights() -> None:
    roles = [m for m in render_manifests(sample_config()) if m["kind"] == "Role"]
    granted = {(m["metadata"]["namespace"], r, v) for m in roles for rule in m["rules"] for r in rule["resources"] for v in rule["verbs"]}
    resources = {r for _, r, _ in granted}
    assert resources == {"pods", "pods/exec", "pods/log", "events", "secrets", "deployments", "services"}
    assert {v for _, r, v in granted if r == "secrets"} == {"get"}
    from jenkins_kit.render.manifests import deploy_namespaces

    # deploy rights only where pipelines deploy: agents.deploy_namespace and the repositories' environments
    assert {ns for ns, r, _ in granted if r in ("deployments", "services")} == set(deploy_namespaces(sample_config()))
    assert deploy_namespaces(sample_config()) == ["default", "dev", "qa", "prod"]
    assert not any(v in ("*", "escalate", "bind", "impersonate") for _, _, v in granted)


def test_every_helm_value_key_exists_in_the_official_chart() -> None:
    if not CHART_VALUES.is_file():
        pytest.skip(f"the official chart's values.yaml is not available: {CHART_VALUES} is missing (no ../shared beside the checkout)")
    defaults = yaml.safe_load(CHART_VALUES.read_text(encoding="utf-8"))
    values = render_values(config_with(registry={"address": "r:5000", "credentials": {"username": "u", "password": {"env": "REG_PW"}}}))
    missing = [p for p in _key_paths(values) if not _chart_has(defaults, p) and not any(p.startswith(x + ".") for x in PASSTHROUGH)]
    assert missing == []


def test_values_pin_controller_to_control_plane_with_modern_keys_only() -> None:
    values = render_values(sample_config())
    text = json.dumps(values)
    assert '"master"' not in text and "master." not in "".join(_key_paths(values))
    c = values["controller"]
    assert c["nodeSelector"] == {"kubernetes.io/hostname": "m-k8s"}
    assert {t["key"] for t in c["tolerations"]} == {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}
    assert all(t["operator"] == "Exists" and t["effect"] == "NoSchedule" for t in c["tolerations"])
    assert c["podSecurityContextOverride"]["runAsUser"] == 1000 and c["podSecurityContextOverride"]["runAsGroup"] == 1000
    assert "runAsGroup" not in c  # there is no controller.runAsGroup in chart 5.x
    assert c["image"]["tag"] == "2.568.2-jdk21"
    assert (c["serviceType"], c["servicePort"], c["targetPort"]) == ("LoadBalancer", 80, 8080)
    assert c["serviceAnnotations"] == {"metallb.io/loadBalancerIPs": "192.168.1.11"}
    assert "--sessionTimeout=1440" in c["jenkinsOpts"] and "--sessionEviction=86400" in c["jenkinsOpts"]
    assert "-Duser.timezone=Asia/Seoul" in c["javaOpts"]
    assert "casc.jenkins.config" not in text and c["JCasC"]["configUrls"] == []
    assert values["persistence"]["existingClaim"] == "jenkins"
    assert c["admin"]["existingSecret"] == "jenkins-admin"


def test_jcasc_fragments_are_yaml_with_known_roots_and_only_secret_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REG_PW", "s3cr3t-registry-value")
    cfg = config_with(
        registry={"address": "r:5000", "credentials": {"username": "builder", "password": {"env": "REG_PW"}}},
        jenkins={"credentials": [{"id": "slack-key", "secret": {"name": "slack", "key": "token"}}]},
    )
    fragments = render_jcasc(cfg)
    assert set(fragments) == {"jenkins-kit-system", "jenkins-kit-credentials", "jenkins-kit-cloud"}
    for text in fragments.values():
        doc = yaml.safe_load(text)
        assert set(doc) <= {"jenkins", "credentials", "unclassified", "security", "tool"}
        assert "s3cr3t-registry-value" not in text
    system = yaml.safe_load(fragments["jenkins-kit-system"])["jenkins"]
    assert system["numExecutors"] == 0
    assert system["securityRealm"]["local"]["users"][0]["password"] == "${chart-admin-password}"
    creds = yaml.safe_load(fragments["jenkins-kit-credentials"])["credentials"]["system"]["domainCredentials"][0]["credentials"]
    up = creds[0]["usernamePassword"]
    assert (up["username"], up["password"]) == ("${registry-credentials-username}", "${registry-credentials-password}")
    assert creds[1]["string"]["secret"] == "${slack-token}"
    cloud = yaml.safe_load(fragments["jenkins-kit-cloud"])["jenkins"]["clouds"][0]["kubernetes"]
    assert cloud["containerCapStr"] == "10"
    template = cloud["templates"][0]
    names = [c["name"] for c in template["containers"]]
    assert names == ["jnlp", "builder", "kubectl"]
    assert template["containers"][0]["args"] == "^${computer.jnlpmac} ^${computer.name}"
    assert template["serviceAccount"] == "jenkins-agent"
    assert template["volumes"][0]["secretVolume"]["secretName"] == "registry-credentials"
    assert "docker.sock" not in fragments["jenkins-kit-cloud"]


def test_bundle_is_deterministic_and_rewrite_is_a_no_op(tmp_path: Path) -> None:
    a = render_bundle(sample_config())
    b = render_bundle(sample_config())
    assert a.files == b.files
    first = write_bundle(a, tmp_path)
    assert {s for _, s in first} == {"created"}
    second = write_bundle(b, tmp_path)
    assert {s for _, s in second} == {"unchanged"}


def test_render_cli_json_summary_and_exit_status(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    cmd = [sys.executable, "-m", "jenkins_kit", "render", "--config", str(SAMPLE), "--out", str(out), "--json"]
    first = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    second = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    assert first["sha256"] == second["sha256"]
    assert {f["status"] for f in second["files"]} == {"unchanged"}
    paths = {f["path"] for f in first["files"]}
    assert {"helm/values.yaml", "nfs/exports", "nfs/setup.sh", "jcasc/jenkins-kit-cloud.yaml"} <= paths
    assert any(p.startswith("k8s/") for p in paths)
    for p in paths:
        assert (out / p).is_file()


def test_nfs_host_script_parses_in_sh_and_names_the_export(tmp_path: Path) -> None:
    bundle = render_bundle(sample_config())
    script = tmp_path / "setup.sh"
    script.write_text(bundle.files["nfs/setup.sh"])
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert bundle.files["nfs/exports"] == "/nfs_shared/jenkins 192.168.1.0/24(rw,sync,no_root_squash,no_subtree_check)\n"


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.test_escape import HOSTILE  # noqa: E402


def _jcasc_unescape(text: str) -> str:
    # What the configuration-as-code plugin does with an escaped `^${`: a literal `${`.
    return text.replace("^${", "${")


@given(message=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300)), description=st.text(max_size=100))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_text_in_jcasc_round_trips(message: str, description: str) -> None:
    cfg = config_with(
        jenkins={
            "system_message": message,
            "credentials": [{"id": "tok", "description": description, "secret": {"name": "s", "key": "k"}}],
        }
    )
    fragments = render_jcasc(cfg)
    system = yaml.safe_load(fragments["jenkins-kit-system"])
    assert _jcasc_unescape(system["jenkins"]["systemMessage"]) == message
    creds = yaml.safe_load(fragments["jenkins-kit-credentials"])["credentials"]["system"]["domainCredentials"][0]
    assert _jcasc_unescape(creds["credentials"][0]["string"]["description"]) == description
    assert "${" not in system["jenkins"]["systemMessage"].replace("^${", "")
    # The Helm values file embeds the fragments; it must still parse to the same text once the chart's
    # `tpl` pass has turned the escaped `{{ "{{" }}` back into `{{` (escape.helm_tpl_literal).
    values_text = render_bundle(cfg).files["helm/values.yaml"]
    scripts = yaml.safe_load(values_text)["controller"]["JCasC"]["configScripts"]
    assert {k: v.replace('{{ "{{" }}', "{{") for k, v in scripts.items()} == fragments


def test_jcasc_survives_the_charts_tpl_pass(lab_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The chart renders configScripts through Helm `tpl`; user text with `{{` must reach the
    ConfigMap byte for byte, not be executed (or break the install)."""
    message = 'Release {{ .Release.Name }} and a lone "{{" and {{ lookup "v1" "Secret" "jenkins" "x" }}'
    cfg = config_with(jenkins={"system_message": message})
    fragments = render_jcasc(cfg)
    values_file = tmp_path / "values.yaml"
    values_file.write_text(render_bundle(cfg).files["helm/values.yaml"], encoding="utf-8")
    from tests.official_chart import JENKINS_CHART, require_chart

    chart = require_chart(JENKINS_CHART)
    out = subprocess.run(
        [lab_cluster.helm, "template", "jenkins", str(chart), "-n", "jenkins", "-f", str(values_file)],
        check=True, capture_output=True, text=True, env=lab_cluster.env(),
    ).stdout
    maps = {
        m["metadata"]["name"]: m for m in yaml.safe_load_all(out) if m and m.get("kind") == "ConfigMap"
    }
    system = maps["jenkins-jenkins-config-jenkins-kit-system"]["data"]["jenkins-kit-system.yaml"]
    assert system == fragments["jenkins-kit-system"].rstrip("\n")
    assert yaml.safe_load(system)["jenkins"]["systemMessage"] == message


def test_string_parameter_without_default_renders_empty() -> None:
    from jenkins_kit.render.jobs import render_jobs

    cfg = config_with(repositories=[{"name": "app", "git": "https://e.com/a.git", "job": {"parameters": [{"name": "TARGET"}]}}])
    xml = next(j.config_xml for j in render_jobs(cfg) if j.full_name == "app")
    assert "<defaultValue></defaultValue>" in xml and "None" not in xml
