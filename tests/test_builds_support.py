"""Helpers shared by the test_builds_* suites (no tests here): job XML, clients, CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings
from tests.helpers import until

REPO = Path(__file__).resolve().parents[1]
_EMPTY_DIR = tempfile.mkdtemp(prefix="jk-builds-cwd-")


def job_xml(params: list[tuple[str, str, Any]] | None = None, *, disabled: bool = False, stages: tuple[str, ...] = ("build",)) -> str:
    """A WorkflowJob config.xml (jenkins-remote-api.md §7.1/§7.3). params: (type, name, default)
    with type in String/Boolean/Choice/Password; a Choice default is the list of choices."""
    props = ""
    if params:
        defs = []
        for ptype, name, default in params:
            if ptype == "Choice":
                choices = "".join(f"<string>{escape(c)}</string>" for c in default)
                defs.append(
                    f"<hudson.model.ChoiceParameterDefinition><name>{name}</name><description></description>"
                    f"<choices class=\"java.util.Arrays$ArrayList\"><a class=\"string-array\">{choices}</a></choices>"
                    "</hudson.model.ChoiceParameterDefinition>"
                )
            else:
                d = ("true" if default else "false") if ptype == "Boolean" else escape(str(default))
                defs.append(
                    f"<hudson.model.{ptype}ParameterDefinition><name>{name}</name><description></description>"
                    f"<defaultValue>{d}</defaultValue></hudson.model.{ptype}ParameterDefinition>"
                )
        props = (
            "<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
            + "".join(defs)
            + "</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
        )
    script = "; ".join(f"stage('{s}') {{ echo 'x' }}" for s in stages)
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        '<flow-definition plugin="workflow-job"><description>test</description><keepDependencies>false</keepDependencies>'
        f"<properties>{props}</properties>"
        '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">'
        f"<script>{escape(script)}</script><sandbox>true</sandbox></definition>"
        f"<triggers/><disabled>{'true' if disabled else 'false'}</disabled></flow-definition>"
    )


def client_for(double: Any, **options: Any) -> JenkinsClient:
    settings = JenkinsSettings.resolve(url=double.url, user=double.user, token=double.token, env={}, **options)
    return JenkinsClient(settings)


def create_job(client: JenkinsClient, full_name: str, xml: str) -> None:
    parts = full_name.split("/")
    parent = ""
    for folder in parts[:-1]:
        if not client.item_exists((parent + "/" + folder).strip("/")):
            client.post_xml(
                client.job_url_path(parent) + "createItem" if parent else "createItem",
                "<com.cloudbees.hudson.plugins.folder.Folder><properties/></com.cloudbees.hudson.plugins.folder.Folder>",
                params={"name": folder},
            )
        parent = (parent + "/" + folder).strip("/")
    client.post_xml(client.job_url_path(parent) + "createItem" if parent else "createItem", xml, params={"name": parts[-1]})


def cli_env(double: Any, token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JENKINS_")}
    env.update(JENKINS_URL=double.url, JENKINS_USER_ID=double.user, JENKINS_API_TOKEN=token or double.token)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("JENKINS_KIT_CONFIG", None)  # the default ./jenkins-kit.yaml is used only if present; cwd is empty
    return env


def run_cli(double: Any, *args: str, token: str | None = None, timeout: float = 60, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jenkins_kit", *args],
        env=cli_env(double, token),
        capture_output=True,
        check=False,
        timeout=timeout,
        cwd=cwd or _EMPTY_DIR,
    )


def start_cli(double: Any, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jenkins_kit", *args],
        env=cli_env(double),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=_EMPTY_DIR,
    )


def json_lines(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def wait_for(pred, timeout: float = 10.0, interval: float = 0.02) -> Any:
    return until(pred, timeout, interval)


def stripped(reqs: list[dict], needle: str, method: str | None = None) -> list[dict]:
    return [r for r in reqs if needle in r["path"] and (method is None or r["method"] == method)]
