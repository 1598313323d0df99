"""The live JCasC check and reload through the commands a user runs, on the real control plane with the
official chart (tests/cluster harness), the Jenkins double standing in for the running controller.

A controller whose kubernetes plugin lacks an attribute jenkins-kit emits (set_missing: what an older plugin
version looks like to configuration-as-code) rejects the changed cloud fragment: `plan` shows the plugin's
own message, `up` changes nothing and reloads nothing. Once the controller accepts it, `up` upgrades the
release and reloads, and says what the reload endpoint answered.
"""

from __future__ import annotations

import json

import pytest

from tests.jenkins_double import casc as double_casc
from tests.jenkins_double import xmlconf
from tests.test_bootstrap_cluster import CHART, _cleanup, kit, up_and_wait, write_config  # noqa: F401 (kit: fixture)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TEMPLATES = "jenkins.clouds[].kubernetes.templates[]"


def _release_revision(kit, ns: str) -> int:
    out = kit.cluster.helm_run("status", "jenkins", "-n", ns, "-o", "json").stdout
    return int(json.loads(out)["version"])


def test_rejected_jcasc_is_never_applied_nor_reloaded_then_a_passing_one_is(kit, jenkins_double, monkeypatch):
    ns = "jk-casc"
    conf = write_config(kit.workdir / ns, ns)
    try:
        first, node = up_and_wait(kit, conf, ns, "jenkins-0", "--no-jobs")
        assert first.returncode == 0 and node == "m-k8s", first.stdout + first.stderr
        assert "JCasC: loaded by the new controller at start-up" in first.stdout, first.stdout
        rev = _release_revision(kit, ns)

        monkeypatch.setitem(xmlconf.PLUGINS, "configuration-as-code", ("2115.vf6de120eef70", "Configuration as Code Plugin"))
        kit.env.update(JENKINS_URL=jenkins_double.url, JENKINS_USER_ID=jenkins_double.user, JENKINS_API_TOKEN=jenkins_double.token)
        double_casc.set_missing(jenkins_double, {TEMPLATES: ["inheritYamlMergeStrategy"]})
        changed = write_config(kit.workdir / ns, ns, )
        changed.write_text(changed.read_text().replace(f"  namespace: {ns}\n  deploy_namespace", f"  namespace: {ns}\n  container_cap: 3\n  deploy_namespace"))
        assert "container_cap: 3" in changed.read_text()

        plan = kit.run("plan", "-c", str(changed), "--chart", str(CHART), "--no-jobs", "--json")
        assert plan.returncode == 0, plan.stderr
        cloud = next(c for c in json.loads(plan.stdout)["changes"] if c["world"] == "jcasc" and c["name"] == "jenkins-kit-cloud")
        assert cloud["action"] == "conflict"
        assert (f"{jenkins_double.url}configuration-as-code/check: rejected: podTemplate: Invalid configuration elements for type: "
                "class org.csanchez.jenkins.plugins.kubernetes.PodTemplate : inheritYamlMergeStrategy.") in cloud["reason"]

        up = kit.run("up", "-c", str(changed), "--chart", str(CHART), "--no-jobs", "--timeout", "120")
        assert up.returncode != 0 and "nothing was changed: 1 conflict" in up.stderr, up.stdout + up.stderr
        assert _release_revision(kit, ns) == rev
        assert not [r for r in jenkins_double.requests() if r["path"].startswith("/configuration-as-code/reload")]

        double_casc.set_missing(jenkins_double, {})
        res, _ = up_and_wait(kit, changed, ns, "jenkins-0", "--no-jobs")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "upgraded HelmRelease" in res.stdout and "JCasC: configuration reloaded" in res.stdout, res.stdout
        assert _release_revision(kit, ns) == rev + 1
        assert [r["status"] for r in jenkins_double.requests() if r["path"].startswith("/configuration-as-code/reload")] == [302]
    finally:
        kit.env.pop("JENKINS_URL", None)
        _cleanup(kit, conf, ns)
