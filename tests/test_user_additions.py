"""User additions (docs/config.md "User additions"): extra JCasC fragments, extra pod templates and extra Helm
values pass the same checks as jenkins-kit's own output, and are refused where they would replace what
jenkins-kit manages unless the user names it."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from jenkins_kit.additions import CHART_VALUES_FILE, check_helm_values, values_shape
from jenkins_kit.config import load_config
from jenkins_kit.errors import ConfigError
from jenkins_kit.jcasc_schema import check
from jenkins_kit.render.bundle import render_bundle
from jenkins_kit.render.helm_values import managed_values
from tests.helpers import SAMPLE, SHARED
from tests.jenkins_double import casc as double_casc
from tests.test_schema_gate import MATRIX

CHART = SHARED / "charts" / "jenkins-5.9.53.tgz"
CHART_VALUES = SHARED / "data" / "jenkins-chart-values.yaml"


def _lab(tmp_path: Path, jenkins: dict[str, Any] | None = None, agents: dict[str, Any] | None = None,
         files: dict[str, str] | None = None) -> Path:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["jenkins"].update(jenkins or {})
    data["agents"].update(agents or {})
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    p = tmp_path / "jenkins-kit.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_config(path)
    return [p.format() for p in e.value.problems]


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in t)


# ------------------------------------------------------------------------------------------- Helm values


def test_vendored_chart_keys_are_the_charts() -> None:
    vendored = json.loads(CHART_VALUES_FILE.read_text(encoding="utf-8"))["shape"]
    if not CHART_VALUES.exists() and not CHART.exists():
        pytest.skip("../shared is absent (a clone without it): the vendored key list is used as is")
    if CHART_VALUES.exists():
        assert values_shape(yaml.safe_load(CHART_VALUES.read_text(encoding="utf-8"))) == vendored
    if CHART.exists():
        with tarfile.open(CHART) as t:
            f = t.extractfile("jenkins/values.yaml")
            assert f is not None
            assert values_shape(yaml.safe_load(f.read())) == vendored


def test_jenkins_kits_own_values_are_chart_keys() -> None:
    # what jenkins-kit renders must itself pass the check it applies to users
    for name, cfg in MATRIX:
        assert check_helm_values(managed_values(cfg, {}), {}, []) == [], name


def test_helm_values_merge_and_are_checked(tmp_path: Path) -> None:
    cfg_path = _lab(tmp_path, jenkins={
        "helm_values": {"controller": {"resources": {"limits": {"memory": "4Gi", "ephemeral-storage": "1Gi"}},
                                       "javaOpts": "-Xmx2g", "podAnnotations": {"team": "ci"}}},
        "helm_values_override": ["controller.javaOpts"]})
    values = yaml.safe_load(render_bundle(load_config(cfg_path), base_dir=tmp_path).files["helm/values.yaml"])
    c = values["controller"]
    assert c["resources"]["limits"] == {"memory": "4Gi", "ephemeral-storage": "1Gi"} and c["javaOpts"] == "-Xmx2g"
    assert c["podAnnotations"] == {"team": "ci"} and c["admin"]["existingSecret"] == "jenkins-admin"  # ours kept


@pytest.mark.parametrize(("values", "override", "expect"), [
    ({"controller": {"imagee": {"tag": "x"}}}, [], "jenkins.helm_values.controller.imagee: controller.imagee is not a key of the jenkins chart 5.9.53's values. Fix: did you mean 'controller.image'?"),
    ({"controller": {"javaOpts": "-Xmx2g"}}, [], "controller.javaOpts is set by jenkins-kit (controller.javaOpts). Fix: to replace jenkins-kit's value, add 'controller.javaOpts' to jenkins.helm_values_override"),
    ({"controller": {"admin": {"createSecret": True}}}, [], "controller.admin.createSecret is set by jenkins-kit"),
    ({"controller": {"JCasC": {"configScripts": {"x": "jenkins: {}"}}}}, ["controller.JCasC.configScripts"][:0],
     "Fix: use jenkins.jcasc_files (checked by the JCasC schema gate) instead"),
    ({"controller": {"installPlugins": ["git:1"]}}, [], "Fix: use jenkins.plugins (checked against the pin table) instead"),
    ({"persistence": "yes"}, [], "the chart expects a mapping at persistence"),
], ids=["unknown", "managed", "managed-nested", "configScripts", "plugins", "kind"])
def test_helm_values_refused_with_the_fix(tmp_path: Path, values: dict, override: list, expect: str) -> None:
    cfg_path = _lab(tmp_path, jenkins={"helm_values": values, "helm_values_override": override})
    problems = _problems(cfg_path)
    assert any(expect in p for p in problems), problems
    assert all(p.startswith(f"{cfg_path}:") for p in problems)


def test_unknown_value_key_is_positioned(tmp_path: Path) -> None:
    cfg_path = _lab(tmp_path, jenkins={"helm_values": {"controller": {"imagee": {"tag": "x"}}}})
    (p,) = _problems(cfg_path)
    line = _line_of(cfg_path, "tag: x")  # the loader points at the field's value
    assert p.startswith(f"{cfg_path}:{line}:")


# ------------------------------------------------------------------------------------------- pod templates

GRADLE = {"name": "gradle", "label": "gradle", "nodeUsageMode": "EXCLUSIVE",
          "containers": [{"name": "gradle", "image": "gradle:8.14-jdk21", "command": "cat", "ttyEnabled": True}]}


def _cloud(bundle) -> dict[str, Any]:
    return yaml.safe_load(bundle.files["jcasc/jenkins-kit-cloud.yaml"])


def test_extra_pod_template_lands_in_our_cloud_with_a_stable_id(tmp_path: Path) -> None:
    cfg_path = _lab(tmp_path, agents={"pod_templates": [{"template": GRADLE}]})
    cloud = _cloud(render_bundle(load_config(cfg_path), base_dir=tmp_path))
    templates = cloud["jenkins"]["clouds"][0]["kubernetes"]["templates"]
    assert [(t["id"], t["name"]) for t in templates] == [("jenkins-kit-agent", "jenkins-kit-agent"),
                                                         ("jenkins-kit-agent-shell", "jenkins-kit-agent-shell"), ("gradle", "gradle")]
    assert templates[2]["containers"] == GRADLE["containers"]
    assert check(cloud) == []


@pytest.mark.parametrize(("template", "expect", "needle"), [
    ({**GRADLE, "privileged": True}, "agents.pod_templates[0].template.privileged: 'privileged' is deprecated", "privileged:"),
    ({**GRADLE, "containers": [{"name": "g", "image": "x", "securityContext": {}}]},
     "agents.pod_templates[0].template.containers[0].securityContext: unknown attribute 'securityContext'", "securityContext:"),
    ({**GRADLE, "name": "jenkins-kit-agent"}, "agents.pod_templates[0].template.name: 'jenkins-kit-agent' is jenkins-kit's own pod template", "name: jenkins-kit-agent"),
    ({**GRADLE, "nodeUsageMode": "exclusive"}, "'exclusive' is not one of NORMAL, EXCLUSIVE (exact case)", "nodeUsageMode:"),
    ({**GRADLE, "label": "gradle jenkins-kit-agent"}, "agents.pod_templates[0].template.label: label 'jenkins-kit-agent' selects jenkins-kit's own pod template", "label: gradle jenkins-kit-agent"),
], ids=["deprecated", "unknown", "ours", "enum", "our-label"])
def test_bad_pod_templates_are_refused_in_place(tmp_path: Path, template: dict, expect: str, needle: str) -> None:
    cfg_path = _lab(tmp_path, agents={"pod_templates": [{"template": template}]})
    (p,) = _problems(cfg_path)
    assert expect in p, p
    assert p.startswith(f"{cfg_path}:{_line_of(cfg_path, needle)}:"), p


def test_override_replaces_our_template_only_when_said(tmp_path: Path) -> None:
    mine = {**GRADLE, "name": "jenkins-kit-agent", "label": "jenkins-kit-agent"}
    cfg_path = _lab(tmp_path, agents={"pod_templates": [{"template": mine, "override": True}]})
    cloud = _cloud(render_bundle(load_config(cfg_path), base_dir=tmp_path))
    templates = cloud["jenkins"]["clouds"][0]["kubernetes"]["templates"]
    assert [t["id"] for t in templates] == ["jenkins-kit-agent-shell", "jenkins-kit-agent"]  # the shell template stays
    assert templates[1]["containers"] == GRADLE["containers"]


# ------------------------------------------------------------------------------------------- JCasC fragments

ADMIN_ADDRESS = "unclassified:\n  location:\n    adminAddress: ci@lab.example\n"
BANNER = "jenkins:\n  systemMessage: Team CI\n"


def test_fragment_is_delivered_after_ours(tmp_path: Path) -> None:
    cfg_path = _lab(tmp_path, jenkins={"jcasc_files": [{"file": "casc/admin-address.yaml"}]},
                    files={"casc/admin-address.yaml": ADMIN_ADDRESS})
    bundle = render_bundle(load_config(cfg_path), base_dir=tmp_path)
    assert bundle.files["jcasc/user-admin-address.yaml"] == ADMIN_ADDRESS
    scripts = yaml.safe_load(bundle.files["helm/values.yaml"])["controller"]["JCasC"]["configScripts"]
    assert sorted(scripts)[-1] == "user-admin-address" and "casc.merge.strategy" not in bundle.files["helm/values.yaml"]
    # the double merges the files as the plugin does: accepted together
    docs = {f"{k}.yaml": v for k, v in scripts.items()}
    assert double_casc.load(docs)["unclassified"]["location"] == {"url": "http://192.168.1.11/", "adminAddress": "ci@lab.example"}


@pytest.mark.parametrize(("text", "expect", "at"), [
    ("jenkins:\n  crumbIssuer:\n    standard:\n      excludeClientIPFromCrumb: true\n",
     "jenkins.crumbIssuer.standard.excludeClientIPFromCrumb: unknown attribute", (4, 7)),
    (BANNER, "jenkins.systemMessage: sets jenkins.systemMessage, which jenkins-kit's jenkins-kit-system fragment sets", (2, 3)),
    ("jenkins:\n  securityRealm:\n    local:\n      allowsSignup: true\n",
     "sets jenkins.securityRealm.local.allowsSignup, which jenkins-kit's jenkins-kit-system fragment sets", (4, 7)),
    ("configuration-as-code:\n  unknown: warn\n", "relaxes JCasC's rejection of unknown", (1, 1)),
    ("jenkins:\n  clouds:\n    - kubernetes:\n        name: kubernetes\n", "a cloud named 'kubernetes' is jenkins-kit's", None),
    ("tool:\n  git: {}\n", "no configurator for root element 'tool'", (1, 1)),
    ("jenkins: [\n", "not valid YAML", (2, 1)),
], ids=["unknown-attr", "scalar-conflict", "nested-conflict", "relax", "dup-cloud", "root", "yaml"])
def test_bad_fragments_are_refused_in_the_fragment(tmp_path: Path, text: str, expect: str, at: tuple[int, int] | None) -> None:
    cfg_path = _lab(tmp_path, jenkins={"jcasc_files": [{"file": "extra.yaml"}]}, files={"extra.yaml": text})
    problems = _problems(cfg_path)
    frag = tmp_path / "extra.yaml"
    assert any(expect in p for p in problems), problems
    if at is not None:
        assert any(p.startswith(f"{frag}:{at[0]}:{at[1]}:") for p in problems), problems


def test_the_conflict_is_real_and_override_resolves_it(tmp_path: Path) -> None:
    cfg_ok = _lab(tmp_path, jenkins={"jcasc_files": [{"file": "banner.yaml", "override": ["jenkins.systemMessage"]}]},
                  files={"banner.yaml": BANNER})
    bundle = render_bundle(load_config(cfg_ok), base_dir=tmp_path)
    values = yaml.safe_load(bundle.files["helm/values.yaml"])
    assert values["controller"]["javaOpts"].endswith(" -Dcasc.merge.strategy=override")
    docs = {f"{k}.yaml": v for k, v in values["controller"]["JCasC"]["configScripts"].items()}
    # what the refusal protects against: the plugin's default merge stops at the duplicate scalar
    with pytest.raises(double_casc.ConfiguratorError, match="Found conflicting configuration at user-banner.yaml"):
        double_casc.load(docs)


def test_missing_fragment_file_points_at_the_config(tmp_path: Path) -> None:
    cfg_path = _lab(tmp_path, jenkins={"jcasc_files": [{"file": "nope.yaml"}]})
    (p,) = _problems(cfg_path)
    assert p.startswith(f"{cfg_path}:{_line_of(cfg_path, 'nope.yaml')}:") and "cannot read" in p


def test_cli_validate_reports_a_bad_fragment_and_writes_nothing(tmp_path: Path) -> None:
    cfg_path = _lab(tmp_path, jenkins={"jcasc_files": [{"file": "extra.yaml"}]},
                    files={"extra.yaml": "jenkins:\n  numExecutors: two\n"})
    for verb in (["config", "validate"], ["render", "--out", str(tmp_path / "out")]):
        proc = subprocess.run([sys.executable, "-m", "jenkins_kit", *verb, "--config", str(cfg_path)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 16, proc.stderr  # INPUT
        assert f"{tmp_path / 'extra.yaml'}:2:17: jenkins.numExecutors: expected an integer, got 'two'" in proc.stderr
    assert not (tmp_path / "out").exists()
