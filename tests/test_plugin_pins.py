"""The pin table (jenkins_kit/plugins.py): the default set installs, a set the plugin installer or core would
refuse is refused by `config validate` and `plan` with the fix, and `doctor` reads the live controller's list."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jenkins_kit import doctor
from jenkins_kit.config.schema import Jenkins
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings
from jenkins_kit.plugins import CHART_PINS, TABLE, check_pins, core_of_image_tag, older, version_key
from jenkins_kit.secrets import SecretValue
from tests.helpers import SAMPLE, SHARED, config_with
from tests.jenkins_double import xmlconf

REFERENCE = SHARED / "reference" / "jcasc-and-pipeline.md"
OLD_DEFAULTS = [
    "kubernetes:4358.vcfd9c5a_0a_f51", "workflow-aggregator:608.v67378e9d3db_1", "git:5.7.0",
    "configuration-as-code:1971.vf9280461ea_89", "credentials-binding:696.v256688029804",
    "cloudbees-folder:6.1008.v0e8ebb_4c5b_88", "workflow-multibranch:806.vb_b_688f609ee9",
]


def test_default_pins_have_no_problem_on_the_default_image() -> None:
    j = Jenkins()
    assert list(j.plugins) == list(CHART_PINS)
    assert check_pins(list(j.plugins), core_of_image_tag(j.image_tag)) == []


def test_version_order() -> None:
    assert older("6.1008.v5ed27a_3a_e475", "6.1023.v4fcb_72152519")
    assert older("1971.vf9280461ea_89", "2031.veb_a_fdda_b_3ffd") and not older("2115.vf6de120eef70", "2031.veb_a_fdda_b_3ffd")
    assert older("5.7.0", "5.10.1") and version_key("2.568.2-jdk21") == (2, 568, 2)
    assert core_of_image_tag("2.568.2-jdk21") == "2.568.2" and core_of_image_tag("lts-jdk21") is None


def test_the_old_defaults_are_refused_for_each_reason() -> None:
    problems = check_pins(OLD_DEFAULTS, "2.568.2")
    text = [(OLD_DEFAULTS[p.index].split(":")[0], p.message) for p in problems]
    assert ("cloudbees-folder", "cloudbees-folder:6.1008.v0e8ebb_4c5b_88 is not a version jenkins-kit's pin table knows "
            "(known: 6.1026.ve06dfa_cf31c3, 6.1023.v4fcb_72152519, 6.1008.v5ed27a_3a_e475)") in text
    # even the real 6.1008 is below kubernetes 4358's floor
    fixed = [p.replace("6.1008.v0e8ebb_4c5b_88", "6.1008.v5ed27a_3a_e475") for p in OLD_DEFAULTS]
    (floor,) = check_pins(fixed, "2.568.2", require=False)
    assert "6.1023.v4fcb_72152519, which kubernetes:4358.vcfd9c5a_0a_f51 requires" in floor.message
    # bumping git alone breaks credentials-binding and configuration-as-code (reference §1)
    bumped = [p.replace("git:5.7.0", "git:5.10.1") for p in fixed if not p.startswith("cloudbees-folder")]
    msgs = " | ".join(p.message for p in check_pins(bumped, "2.568.2"))
    assert "credentials-binding:696.v256688029804 is older than 702.vfe613e537e88, which git:5.10.1 requires" in msgs
    assert "configuration-as-code:1971.vf9280461ea_89 is older than 2031.veb_a_fdda_b_3ffd, which git:5.10.1 requires" in msgs


def test_core_older_than_a_plugin_needs() -> None:
    (p,) = check_pins(["configuration-as-code:2115.vf6de120eef70"], "2.504.3", require=False)
    assert "needs Jenkins core 2.541.1 or newer, but jenkins.image_tag runs 2.504.3" in p.message
    assert "configuration-as-code:1971.vf9280461ea_89" in p.fix  # the newest known release that fits
    assert check_pins(["configuration-as-code:2115.vf6de120eef70"], None, require=False) == []  # a tag without a version


def test_a_plugin_the_rendered_files_need_must_be_pinned() -> None:
    # jenkins.plugins replaces the chart's installPlugins: without kubernetes the cloud in jenkins-kit-cloud is an
    # unknown symbol (boot failure), without configuration-as-code no JCasC is read at all
    problems = check_pins(["git:5.10.1", "workflow-aggregator:608.v67378e9d3db_1"], "2.568.2")
    assert [p.index for p in problems] == [-1, -1]
    assert problems[0].message.startswith("configuration-as-code is not pinned, but reads every JCasC fragment")
    assert problems[0].fix == "add configuration-as-code:2115.vf6de120eef70 (the chart 5.9.53's pin) to jenkins.plugins"
    assert problems[1].message.startswith("kubernetes is not pinned")


def test_table_agrees_with_the_reference() -> None:
    """Every floor and min core in the reference's §1 is in the table (the reference is the source)."""
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is absent (a clone without ../shared)")
    text = REFERENCE.read_text(encoding="utf-8").split("## 2.", 1)[0]
    floors = set(re.findall(r"\b([a-z][a-z-]+) ≥ ([0-9][0-9A-Za-z_.]*[0-9A-Za-z_])", text))
    # the transitive table: "| credentials | ... | kubernetes 4358 (≥1415.v831096eb_5534) |"
    for dep, row in re.findall(r"^\| ([a-z-]+) \|(.*)$", text, re.M):
        floors |= {(dep, v) for v in re.findall(r"\(≥([0-9][0-9A-Za-z_.]*[0-9A-Za-z_])\)", row)}
    assert len(floors) >= 12
    ours = {(dep, v) for rels in TABLE.values() for r in rels.values() for dep, v in r.requires.items()}
    aliases = {"casc": "configuration-as-code"}
    missing = {(aliases.get(d, d), v) for d, v in floors} - ours
    assert missing == set(), missing
    for row in re.findall(r"^\| (kubernetes|workflow-aggregator|git|configuration-as-code|credentials-binding|cloudbees-folder|workflow-multibranch) \|.*$",
                          text, re.M):
        assert row in TABLE
    assert "6.1008.v0e8ebb_4c5b_88" not in TABLE["cloudbees-folder"]


def _write(tmp_path: Path, plugins: list[str], image: str = "2.568.2-jdk21") -> Path:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["jenkins"]["plugins"] = plugins
    data["jenkins"]["image_tag"] = image
    p = tmp_path / "jenkins-kit.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


@pytest.mark.parametrize("verb", [["config", "validate"], ["plan", "--no-jobs"]])
def test_cli_refuses_a_pin_below_a_floor_with_the_fix(tmp_path: Path, verb: list[str]) -> None:
    cfg = _write(tmp_path, ["kubernetes:4540.v612369217f87", "cloudbees-folder:6.1023.v4fcb_72152519", *CHART_PINS[1:]])
    line = next(i for i, t in enumerate(cfg.read_text().splitlines(), 1) if "cloudbees-folder" in t)
    env = {"PATH": "/usr/bin:/bin", "KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "jenkins_kit", *verb, "--config", str(cfg)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 16, proc.stderr  # INPUT
    assert f"{cfg}:{line}:" in proc.stderr and "jenkins.plugins[1]" in proc.stderr
    assert "older than 6.1026.ve06dfa_cf31c3, which kubernetes:4540.v612369217f87 requires" in proc.stderr
    assert "Fix: pin cloudbees-folder at 6.1026.ve06dfa_cf31c3 or newer, or drop the pin" in proc.stderr
    assert "Traceback" not in proc.stderr


def _client(d) -> JenkinsClient:
    return JenkinsClient(JenkinsSettings(url=d.url, user=d.user, secret=SecretValue(d.token, "test"), retries=0, timeout=5))


def test_doctor_compares_the_live_plugin_list(jenkins_double, monkeypatch) -> None:
    cfg = config_with(jenkins={"plugins": list(CHART_PINS), "image_tag": "2.568.2-jdk21"})
    for pin in CHART_PINS:
        if not pin.startswith("git:"):
            name, ver = pin.split(":")
            monkeypatch.setitem(xmlconf.PLUGINS, name, (ver, name))
    # kubernetes 4540 beside the double's folders plugin 6.951: below its floor
    with _client(jenkins_double) as c:
        check = doctor.check_plugins(cfg, c, "2.568.2")
    assert (check.status, check.detail) == ("fail", "cloudbees-folder 6.951.v5f91d88d76b_b_ is older than 6.1026.ve06dfa_cf31c3, "
                                                    "which kubernetes 4540.v612369217f87 requires")
    monkeypatch.setitem(xmlconf.PLUGINS, "cloudbees-folder", ("6.1026.ve06dfa_cf31c3", "Folders Plugin"))
    # the double runs git 5.7.0: not the pin
    with _client(jenkins_double) as c:
        check = doctor.check_plugins(cfg, c, "2.568.2")
    assert (check.status, check.detail) == ("warn", "versions differ from the pins: git 5.7.0 (pinned 5.10.1)")
    # git 5.10.1 installed beside credentials-binding 696 on core 2.492.3: a floor and core both broken
    monkeypatch.setitem(xmlconf.PLUGINS, "git", ("5.10.1", "Git plugin"))
    monkeypatch.setitem(xmlconf.PLUGINS, "credentials-binding", ("696.v256688029804", "Credentials Binding Plugin"))
    with _client(jenkins_double) as c:
        check = doctor.check_plugins(cfg, c, "2.492.3")
    assert check.status == "fail", check
    assert "git 5.10.1 needs core 2.504.3, the controller runs 2.492.3" in check.detail
    assert "configuration-as-code 2115.vf6de120eef70 needs core 2.541.1, the controller runs 2.492.3" in check.detail
    assert "credentials-binding 696.v256688029804 is older than 702.vfe613e537e88, which git 5.10.1 requires" in check.detail
    assert check.fix and "jenkins.plugins" in check.fix
    assert any(r["path"].startswith("/pluginManager/api/json") for r in jenkins_double.requests())
    # a pin the controller lacks
    monkeypatch.delitem(xmlconf.PLUGINS, "kubernetes")
    with _client(jenkins_double) as c:
        check = doctor.check_plugins(cfg, c, "2.568.2")
    assert check.status == "fail" and check.detail == "missing: kubernetes"
