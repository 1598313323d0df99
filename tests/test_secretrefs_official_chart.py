"""The secret-reference check against the pod the official chart really renders (helm template).

Before the fix, jenkins-kit set ``controller.admin.createSecret: false`` with an ``existingSecret``:
the official chart then mounts no ``jenkins-secrets`` volume and sets no ``SECRETS`` env
(templates/jenkins-controller-statefulset.yaml), so ``${chart-admin-username}`` resolved to "".
"""

from __future__ import annotations

import copy

import pytest

from jenkins_kit.kube.helm import ChartRef, Helm
from jenkins_kit.render.helm_values import render_values
from jenkins_kit.secretrefs import check_agents, check_controller, controller_sources, expectations, jcasc_variables
from tests.helpers import config_with, sample_config
from tests.official_chart import JENKINS_CHART, require_chart, require_helm


@pytest.fixture(scope="module")
def helm() -> Helm:
    require_chart(JENKINS_CHART)
    return Helm(require_helm())


def _render(helm: Helm, values: dict) -> str:
    return helm.template("jenkins", ChartRef(str(JENKINS_CHART)), "jenkins", values)


def _keys(present: dict[tuple[str, str], set[str]]):
    return lambda ns, name: present.get((ns, name))


SAMPLE_SECRETS = {
    ("jenkins", "jenkins-admin"): {"jenkins-admin-user", "jenkins-admin-password"},
    ("jenkins", "registry-credentials"): {"username", "password", "config.json"},
}


def test_sample_lab_resolves_every_reference_in_the_official_chart(helm):
    cfg = sample_config()
    values = render_values(cfg)
    manifest = _render(helm, values)
    src = controller_sources(manifest, "jenkins", _keys(SAMPLE_SECRETS))
    assert src is not None
    assert src.secrets_dir == "/run/secrets/additional"  # the chart's SECRETS env
    assert src.files["chart-admin-username"] == ("jenkins-admin", "jenkins-admin-user")
    assert src.files["chart-admin-password"] == ("jenkins-admin", "jenkins-admin-password")
    scripts = values["controller"]["JCasC"]["configScripts"]
    used = {v for t in scripts.values() for v in jcasc_variables(t)}
    assert {"chart-admin-username", "chart-admin-password"} <= used
    assert check_controller(scripts, manifest, "jenkins", _keys(SAMPLE_SECRETS), expectations(cfg)) == []


def test_create_secret_false_is_caught_with_the_variable_secret_and_values_key(helm):
    cfg = sample_config()
    values = copy.deepcopy(render_values(cfg))
    values["controller"]["admin"]["createSecret"] = False  # what jenkins-kit used to render
    manifest = _render(helm, values)
    problems = check_controller(values["controller"]["JCasC"]["configScripts"], manifest, "jenkins",
                                _keys(SAMPLE_SECRETS), expectations(cfg))
    text = "\n".join(p.format() for p in problems)
    assert {p.variable for p in problems} >= {"chart-admin-username", "chart-admin-password"}, text
    assert "${chart-admin-password} does not resolve in the controller pod" in text
    assert "key 'jenkins-admin-password' of Secret jenkins/jenkins-admin" in text
    assert "controller.admin.createSecret: true with controller.admin.existingSecret: jenkins-admin" in text


def test_a_credential_whose_secret_lacks_the_key_is_named(helm):
    cfg = config_with(jenkins={"credentials": [{"id": "gh", "secret": {"name": "gh-token", "key": "token"}}]})
    values = render_values(cfg)
    manifest = _render(helm, values)
    scripts = values["controller"]["JCasC"]["configScripts"]
    assert "gh-token-token" in {v for t in scripts.values() for v in jcasc_variables(t)}
    present = dict(SAMPLE_SECRETS)
    present[("jenkins", "gh-token")] = {"tokn"}  # a typo in the user's Secret
    problems = check_controller(scripts, manifest, "jenkins", _keys(present), expectations(cfg))
    assert [p.variable for p in problems] == ["gh-token-token"]
    assert "key 'token' of Secret jenkins/gh-token, which has no such key (it has: tokn)" in problems[0].message
    del present[("jenkins", "gh-token")]
    problems = check_controller(scripts, manifest, "jenkins", _keys(present), expectations(cfg))
    assert "Secret jenkins/gh-token, which does not exist" in problems[0].message


def test_agent_template_secret_volume_must_exist():
    cfg = config_with(registry={"credentials": {"username": "builder", "password": {"env": "REGISTRY_PASSWORD"}}})
    scripts = render_values(cfg)["controller"]["JCasC"]["configScripts"]
    ok = check_agents(scripts, _keys(SAMPLE_SECRETS), {"registry-credentials": ["config.json"]})
    assert ok == []
    missing = check_agents(scripts, _keys({}), {})
    assert len(missing) == 1 and "mounts Secret jenkins/registry-credentials, which does not exist" in missing[0].message
    no_key = check_agents(scripts, _keys({("jenkins", "registry-credentials"): {"username"}}), {"registry-credentials": ["config.json"]})
    assert "lacks key(s) config.json" in no_key[0].message


def test_escaped_and_defaulted_variables_need_no_source():
    text = 'a: "^${computer.jnlpmac}"\nb: "${X:-fallback}"\nc: "${base64:${Y}}"\nd: "${REAL}"\n'
    assert jcasc_variables(text) == ["Y", "REAL"]
