"""Issue 13: jobs that would run in the textbook lab (agent any, compile-then-image, environments,
credentials) and several configs sharing one Jenkins."""

from __future__ import annotations

import yaml

from jenkins_kit.jcasc_schema import check
from jenkins_kit.render.jcasc import render_jcasc
from tests.helpers import config_with, sample_config


def _template(cfg) -> dict:
    cloud = yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])
    return cloud["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]


def test_default_template_takes_unlabelled_work_like_the_book():
    t = _template(sample_config())
    # kubernetes-plugin PodTemplateLabelFilter#transform: a build with no label (agent any, freestyle)
    # is provisioned only from a NORMAL template.
    assert t["nodeUsageMode"] == "NORMAL" and t["label"] == "jenkins-kit-agent"


def test_usage_mode_and_label_are_config_choices_and_pass_the_gate():
    cfg = config_with(agents={"usage_mode": "EXCLUSIVE", "label": "team-a"})
    t = _template(cfg)
    assert t["nodeUsageMode"] == "EXCLUSIVE" and t["label"] == "team-a" and t["name"] == "team-a"
    assert check(yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])) == []
