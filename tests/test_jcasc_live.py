"""JCasC checked live before it is reloaded: `plan` posts each document to the controller's
configuration-as-code check endpoint and shows its verdict; `up` reloads only a configuration that passed and
reports the reload's answer. Against the Jenkins double serving configuration-as-code 2115's check/reload
(tests/jenkins_double/casc.py, from the plugin's ConfigurationAsCode#doCheck/#doReload)."""

from __future__ import annotations

import pytest
import requests

from jenkins_kit.bootstrap import Bootstrap, BootstrapError, BootstrapPlan
from jenkins_kit.jenkins import casc
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings
from jenkins_kit.kube.helm import ChartRef
from jenkins_kit.plan import Change, Plan
from jenkins_kit.render.jcasc import render_jcasc
from jenkins_kit.secrets import SecretValue
from tests.helpers import sample_config
from tests.jenkins_double import casc as double_casc
from tests.jenkins_double import xmlconf

# The system fragment jenkins-kit rendered before issue 12 (git show e2c51c2~1:jcasc/system.yaml.j2, rendered):
# on core 2.568.2 it is a boot failure.
OLD_SYSTEM = """jenkins:
  systemMessage: "Managed by jenkins-kit"
  numExecutors: 0
  mode: EXCLUSIVE
  crumbIssuer:
    standard:
      excludeClientIPFromCrumb: true
"""
UNKNOWN_ATTR = ("standard: Invalid configuration elements for type: class hudson.security.csrf.DefaultCrumbIssuer : "
                "excludeClientIPFromCrumb.\nAvailable attributes : ")


@pytest.fixture
def d(jenkins_double, monkeypatch):
    monkeypatch.setitem(xmlconf.PLUGINS, "configuration-as-code", ("2115.vf6de120eef70", "Configuration as Code Plugin"))
    monkeypatch.setenv("JENKINS_URL", jenkins_double.url)
    monkeypatch.setenv("JENKINS_USER_ID", jenkins_double.user)
    monkeypatch.setenv("JENKINS_API_TOKEN", jenkins_double.token)
    return jenkins_double


def _client(d) -> JenkinsClient:
    return JenkinsClient(JenkinsSettings(url=d.url, user=d.user, secret=SecretValue(d.token, "test"), retries=0, timeout=5))


def _bootstrap(docs: dict[str, str] | None = None) -> Bootstrap:
    bs = Bootstrap(sample_config(), kube=None, helm=None, chart=ChartRef("jenkins", "5.9.53", "https://charts.jenkins.io"))
    if docs is not None:
        bs.jcasc_documents = lambda: docs  # type: ignore[method-assign]
    return bs


def _plan_with_updates(keys) -> BootstrapPlan:
    """What _plan_release puts on the plan for an upgrade whose fragments changed."""
    bp = BootstrapPlan(Plan())
    bp.release = Change("HelmRelease", "jenkins/jenkins", "update", reason="values differ", world="helm")
    bp.plan.add(bp.release)
    for k in keys:
        bp.plan.add(Change("JCasC", k, "update", reason="fragment changed", diff="-a\n+b\n", world="jcasc"))
    return bp


def _reloads(d) -> list[dict]:
    return [r for r in d.requests() if r["path"].startswith("/configuration-as-code/reload")]


# ------------------------------------------------------------------------------------------ the double's endpoints


def test_check_endpoint_answers_like_the_plugin(d) -> None:
    with _client(d) as c:
        bad = casc.check(c, OLD_SYSTEM)
        good = casc.check(c, render_jcasc(sample_config())["jenkins-kit-system"])
        root = casc.check(c, "notAPlugin:\n  x: 1\n")
    assert (bad.accepted, bad.status, bad.problems) == (False, 400, [UNKNOWN_ATTR])
    assert (good.accepted, good.status, good.warnings) == (True, 200, [])
    assert root.problems[0].startswith("No configurator found for the following root element: notAPlugin. This may indicate")
    # @RequirePOST, Administer, crumbs: as any POST there
    assert requests.get(d.url + "configuration-as-code/check", auth=(d.user, d.token)).status_code == 405
    d.add_user("viewer", token="vt", role="reader")
    assert requests.post(d.url + "configuration-as-code/check", data=OLD_SYSTEM, auth=("viewer", "vt")).status_code == 403
    assert requests.post(d.url + "configuration-as-code/check", data=OLD_SYSTEM, auth=(d.user, d.password)).status_code == 403  # no crumb


def test_unknown_attribute_is_rejected_at_any_depth_with_its_own_type(d) -> None:
    cloud = render_jcasc(sample_config())["jenkins-kit-cloud"].replace("            nodeUsageMode:", "            nodeUsagemode2: x\n            nodeUsageMode:")
    with _client(d) as c:
        res = casc.check(c, cloud)
    assert res.problems == ["podTemplate: Invalid configuration elements for type: class org.csanchez.jenkins.plugins.kubernetes.PodTemplate : "
                            "nodeUsagemode2.\nAvailable attributes : " + ", ".join(double_casc.jcasc_schema.schema()["jenkins.clouds[].kubernetes.templates[]"])]


def test_reload_error_page_is_read(d) -> None:
    double_casc.set_sources(d, {"jenkins.yaml": OLD_SYSTEM})
    with _client(d) as c:
        res = casc.reload(c)
    assert not res.ok
    assert res.message == ("the controller refused the configuration: standard: Invalid configuration elements for type:; "
                           "attribute 'excludeClientIPFromCrumb'")


# ------------------------------------------------------------------------------------------ plan and up


def test_plan_shows_the_verdict_and_a_rejected_configuration_is_never_reloaded(d) -> None:
    bs = _bootstrap({"jenkins-kit-system": OLD_SYSTEM, "jenkins-kit-cloud": render_jcasc(sample_config())["jenkins-kit-cloud"]})
    bp = _plan_with_updates(["jenkins-kit-system", "jenkins-kit-cloud"])
    bs.check_jcasc_live(bp)
    by = {c.name: c for c in bp.plan.changes if c.world == "jcasc"}
    assert by["jenkins-kit-system"].action == "conflict"
    assert f"{d.url}configuration-as-code/check: rejected: {UNKNOWN_ATTR}" in by["jenkins-kit-system"].reason
    assert by["jenkins-kit-cloud"].action == "update" and by["jenkins-kit-cloud"].reason.endswith("check: accepted")
    with pytest.raises(BootstrapError, match="nothing was changed: 1 conflict"):
        bs.apply(bp)  # refuses before touching the cluster or Helm
    ok, line = bs.reload_jcasc(bp)
    assert not ok and line == "JCasC: not reloaded: rejected by the live check (jenkins-kit-system)"
    assert _reloads(d) == []
    assert len([r for r in d.requests() if r["path"] == "/configuration-as-code/check"]) == 2


def test_up_reloads_a_configuration_that_passed_and_reports_it(d) -> None:
    docs = render_jcasc(sample_config())
    bs = _bootstrap()
    bp = _plan_with_updates(sorted(docs))
    bs.check_jcasc_live(bp)
    assert not bp.plan.conflicts and bp.jcasc_checks and all(r.accepted for r in bp.jcasc_checks.values())
    double_casc.set_sources(d, {f"{k}.yaml": v for k, v in docs.items()})  # what helm upgrade + the chart write
    ok, line = bs.reload_jcasc(bp)
    assert (ok, line) == (True, "JCasC: configuration reloaded")
    assert [r["status"] for r in _reloads(d)] == [302]
    assert d.casc_applied["jenkins"]["numExecutors"] == 0 and "clouds" in d.casc_applied["jenkins"]


def test_up_reports_a_reload_the_controller_refused(d) -> None:
    docs = render_jcasc(sample_config())
    bs = _bootstrap()
    bp = _plan_with_updates(sorted(docs))
    bs.check_jcasc_live(bp)
    # two sources setting the same scalar: ErrorOnConflictMergeStrategy refuses the merge at reload
    double_casc.set_sources(d, {**{f"{k}.yaml": v for k, v in docs.items()}, "zz-extra.yaml": "jenkins:\n  numExecutors: 2\n"})
    ok, line = bs.reload_jcasc(bp)
    assert not ok and line.startswith("JCasC: reload failed: the controller refused the configuration: Found conflicting configuration")


def test_without_a_controller_the_check_is_skipped_and_said(monkeypatch) -> None:
    for v in ("JENKINS_URL", "JENKINS_USER_ID", "JENKINS_API_TOKEN", "JENKINS_PASSWORD"):
        monkeypatch.delenv(v, raising=False)
    bs = _bootstrap()
    bp = _plan_with_updates(["jenkins-kit-system"])
    bs.check_jcasc_live(bp)
    skip = [c for c in bp.plan.changes if c.action == "skip"]
    assert len(skip) == 1 and skip[0].reason.startswith("not checked live: ") and bp.jcasc_checks is None
    ok, line = bs.reload_jcasc(bp)
    assert ok and "not checked live" in line

