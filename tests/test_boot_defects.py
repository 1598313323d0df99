"""The five defects that kept the default lab from booting (issue 12), each pinned by a test that
fails on the old templates/defaults. The plugin facts come from ../shared/reference/jcasc-and-pipeline.md
(built from the plugins' source at the chart 5.9.53 pins) and from the official chart itself."""

from __future__ import annotations

import tarfile

import yaml

from jenkins_kit.config.schema import Jenkins
from jenkins_kit.render.jcasc import render_jcasc
from jenkins_kit.render.jobs import render_jobs
from tests.helpers import SHARED, config_with, sample_config
from tests.pipeline_ast import pipeline_calls, steps_with_container
from tests.test_render_jobs_groovy import needs_groovy

CHART = SHARED / "charts" / "jenkins-5.9.53.tgz"
# charts/jenkins/values.yaml @ jenkins-5.9.53, controller.installPlugins (used when ../shared is absent)
CHART_PINS = [
    "kubernetes:4540.v612369217f87",
    "workflow-aggregator:608.v67378e9d3db_1",
    "git:5.10.1",
    "configuration-as-code:2115.vf6de120eef70",
]


def _cloud_templates(cfg) -> list[dict]:
    cloud = yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])
    return cloud["jenkins"]["clouds"][0]["kubernetes"]["templates"]


def test_crumb_issuer_carries_no_attribute_core_2_568_removed() -> None:
    # core 2.568.2 DefaultCrumbIssuer: no-arg @DataBoundConstructor; excludeClientIPFromCrumb was removed by
    # jenkinsci/jenkins#25918 (2.543 / 2.555.1 LTS) -> UnknownAttributesException -> boot failure (helm-charts#1562).
    system = yaml.safe_load(render_jcasc(sample_config())["jenkins-kit-system"])
    issuer = system["jenkins"]["crumbIssuer"]
    assert issuer == "standard" or issuer == {"standard": None} or issuer == {"standard": {}}, issuer


def _chart_pins() -> list[str]:
    if not CHART.exists():
        return CHART_PINS
    with tarfile.open(CHART) as t:
        f = t.extractfile("jenkins/values.yaml")
        assert f is not None
        return yaml.safe_load(f.read())["controller"]["installPlugins"]


def test_default_pins_are_the_charts_tested_set() -> None:
    # The old defaults named cloudbees-folder:6.1008.v0e8ebb_4c5b_88, which was never released, and pinned
    # credentials-binding/cloudbees-folder below kubernetes' floors: jenkins-plugin-cli refused the set.
    pins = Jenkins().plugins
    assert _chart_pins() == CHART_PINS
    assert pins[: len(CHART_PINS)] == CHART_PINS
    assert not any(p.startswith(("cloudbees-folder:", "credentials-binding:")) for p in pins)


@needs_groovy
def test_git_checkout_never_runs_in_the_tool_image() -> None:
    # node:22-bookworm-slim and python:3.12-slim have no git; with `defaultContainer 'tool'` the whole stage body,
    # git included, ran there (kubernetes KubernetesDeclarativeAgentScript#run).
    from tests.test_render_jobs import shapes_config

    files = {j.full_name: j.jenkinsfile for j in render_jobs(shapes_config()) if j.jenkinsfile}
    parsed = pipeline_calls(files)
    seen_test = 0
    for name, res in parsed.items():
        assert "calls" in res, (name, res)
        for stage, step, container in steps_with_container(res["calls"]):
            if step["name"] == "git":
                assert container == "jnlp", (name, stage, container)
            if stage == "Compile and test" and step["name"] == "sh":
                assert container == "tool", (name, container)
                seen_test += 1
    assert seen_test == 5  # go, gradle, maven, node, python


def test_test_pods_keep_the_template_yaml() -> None:
    # Without inheritYamlMergeStrategy the Test stage's agent pod uses `override` and drops the template's
    # pod securityContext and the builder's seccomp/AppArmor settings (kubernetes PodTemplateUtils#combine).
    for t in _cloud_templates(sample_config()):
        if t.get("yamlMergeStrategy") == "merge":
            assert t.get("inheritYamlMergeStrategy") is True, t["name"]


def test_pod_template_id_is_stable_and_unique() -> None:
    # PodTemplate#<init>(id): without an id every JCasC apply makes a new UUID and agents that survive a
    # controller restart cannot resolve their template (KubernetesSlave#getTemplate).
    first = _cloud_templates(sample_config())
    again = _cloud_templates(config_with(agents={"container_cap": 3}))
    ids = [t.get("id") for t in first]
    assert all(isinstance(i, str) and i for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert ids == [t.get("id") for t in again]
