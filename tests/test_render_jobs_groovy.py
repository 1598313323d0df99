"""Helpers + checks: every rendered Jenkinsfile parses with Groovy 2.4 (one JVM for a whole batch)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import groovy_batch, java_home

SCRIPT = Path(__file__).parent / "fixtures" / "jobs" / "parse_jenkinsfiles.groovy"


def groovy_available() -> bool:
    return shutil.which("groovy") is not None and java_home() is not None


needs_groovy = pytest.mark.skipif(not groovy_available(), reason="groovy (Debian Groovy 2.4) is not installed")


def groovy_parse(texts: dict[str, str]) -> dict[str, dict]:
    """Parse every text with Groovy 2.4 in one JVM. Returns name -> {"error": msg} | {"strings": [...]}."""
    return groovy_batch(SCRIPT, texts)


@needs_groovy
def test_shipped_templates_parse_for_every_shape():
    from jenkins_kit.render.jobs import render_jobs
    from tests.test_render_jobs import shapes_config

    jobs = render_jobs(shapes_config())
    files = {j.full_name: j.jenkinsfile for j in jobs if j.jenkinsfile}
    assert len(files) >= 6
    res = groovy_parse(files)
    bad = {k: v["error"] for k, v in res.items() if "error" in v}
    assert not bad
    # the stage names the pipeline promises
    for name, r in res.items():
        for stage in ("Checkout", "Build and push image", "Deploy", "Rollout"):
            assert stage in r["strings"], (name, stage)


@needs_groovy
def test_parser_rejects_broken_groovy():
    res = groovy_parse({"ok": "pipeline { agent any }", "bad": "pipeline { sh '''x }"})
    assert "strings" in res["ok"] and "error" in res["bad"]
