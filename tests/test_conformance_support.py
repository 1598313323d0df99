"""Shared fixtures for the conformance suite (tests/test_conformance_*.py).

Every conformance test takes `jenkins_target`, parametrized over:
- `double`: the project's Jenkins test double (tests/jenkins_double), always run;
- `live`: a real Jenkins, run only when JENKINS_KIT_LIVE_URL, JENKINS_KIT_LIVE_USER and
  JENKINS_KIT_LIVE_TOKEN are set (JENKINS_KIT_LIVE_PASSWORD additionally enables the password-auth
  tests). Otherwise the `live` parameter is not generated and `test_live_jenkins_configured` is
  skipped once, with a reason naming the variables (rather than one identical skip per test).

Tests touch only items inside a folder made for them (`sandbox`), which is deleted afterwards, so
they can run against a real Jenkins without disturbing it. Tests that need fault injection or
build behaviour control call `target.need_double()` and are skipped on a live Jenkins.

Other conformance modules import the fixtures from here (`from tests.test_conformance_support import *`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings

LIVE_ENV = ("JENKINS_KIT_LIVE_URL", "JENKINS_KIT_LIVE_USER", "JENKINS_KIT_LIVE_TOKEN")
LIVE_SKIP_REASON = (
    "live Jenkins not configured: set JENKINS_KIT_LIVE_URL, JENKINS_KIT_LIVE_USER and JENKINS_KIT_LIVE_TOKEN "
    "(and optionally JENKINS_KIT_LIVE_PASSWORD) to run the conformance suite against a real Jenkins"
)

PIPELINE_SCRIPT = "pipeline { agent none; stages { stage('one') { steps { echo 'hello' } } stage('two') { steps { echo 'bye' } } } }"


def pipeline_xml(description: str = "conformance", script: str = PIPELINE_SCRIPT, params: str = "", disabled: bool = False) -> str:
    props = (
        "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
        f"{params}</parameterDefinitions></hudson.model.ParametersDefinitionProperty></properties>"
        if params else "<properties/>"
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<flow-definition plugin="workflow-job">\n'
        f"  <description>{description}</description>\n"
        "  <keepDependencies>false</keepDependencies>\n"
        f"  {props}\n"
        '  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">\n'
        f"    <script>{script}</script>\n"
        "    <sandbox>true</sandbox>\n"
        "  </definition>\n"
        "  <triggers/>\n"
        f"  <disabled>{'true' if disabled else 'false'}</disabled>\n"
        "</flow-definition>\n"
    )


STRING_PARAM = (
    "<hudson.model.StringParameterDefinition><name>BRANCH</name><description>branch</description>"
    "<defaultValue>main</defaultValue><trim>false</trim></hudson.model.StringParameterDefinition>"
)
PARAM_XML = pipeline_xml("parameterized", params=STRING_PARAM)
FOLDER_XML = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<com.cloudbees.hudson.plugins.folder.Folder plugin="cloudbees-folder">\n'
    "  <description>conformance folder</description>\n  <properties/>\n"
    "</com.cloudbees.hudson.plugins.folder.Folder>\n"
)
FOLDER_MODE = "com.cloudbees.hudson.plugins.folder.Folder"
XML = {"Content-Type": "text/xml; charset=utf-8"}

FAST = {"retries": 4, "backoff_base": 0.02, "backoff_max": 0.25, "unavailable_wait": 15.0}


@dataclass
class Target:
    """One Jenkins to test against: the double or a live controller."""

    kind: str
    url: str
    user: str
    token: str
    password: str | None = None
    double: Any = None
    _clients: list[JenkinsClient] = field(default_factory=list)

    @property
    def is_double(self) -> bool:
        return self.kind == "double"

    def need_double(self) -> Any:
        if not self.is_double:
            pytest.skip("needs the test double (fault injection / build behaviour control)")
        return self.double

    def need_password(self) -> str:
        if not self.password:
            pytest.skip("password auth not configured for this target (JENKINS_KIT_LIVE_PASSWORD)")
        return self.password

    def settings(self, auth: str = "token", **kw: Any) -> JenkinsSettings:
        opts = {**FAST, **kw}
        if auth == "password":
            env = {"JENKINS_URL": self.url, "JENKINS_USER_ID": self.user, "JENKINS_PASSWORD": self.need_password()}
        else:
            env = {"JENKINS_URL": self.url, "JENKINS_USER_ID": self.user, "JENKINS_API_TOKEN": self.token}
        return JenkinsSettings.resolve(env=env, **opts)

    def client(self, auth: str = "token", **kw: Any) -> JenkinsClient:
        c = JenkinsClient(self.settings(auth, **kw))
        self._clients.append(c)
        return c

    def pyj(self, auth: str = "token", **kw: Any) -> Any:
        import jenkins

        secret = self.need_password() if auth == "password" else self.token
        return jenkins.Jenkins(self.url, username=self.user, password=secret, timeout=kw.pop("timeout", 30), **kw)

    def anonymous(self) -> requests.Session:
        return requests.Session()

    # Request-log helpers (double only).
    def requests_log(self) -> list[dict[str, Any]]:
        return list(self.need_double().requests())

    def clear_log(self) -> None:
        self.need_double().clear_requests()

    def count(self, method: str, path_contains: str, status: int | None = None) -> int:
        return sum(
            1 for r in self.requests_log()
            if r["method"] == method and path_contains in r["path"] and (status is None or r["status"] == status)
        )

    def close(self) -> None:
        for c in self._clients:
            c.close()


def _live_target() -> Target:
    missing = [k for k in LIVE_ENV if not os.environ.get(k)]
    if missing:
        pytest.skip(LIVE_SKIP_REASON)
    return Target(
        "live",
        os.environ["JENKINS_KIT_LIVE_URL"],
        os.environ["JENKINS_KIT_LIVE_USER"],
        os.environ["JENKINS_KIT_LIVE_TOKEN"],
        os.environ.get("JENKINS_KIT_LIVE_PASSWORD") or None,
    )


def live_configured() -> bool:
    return all(os.environ.get(k) for k in LIVE_ENV)


# The `live` parameter exists only when a live Jenkins is configured; otherwise a single test
# (`test_live_jenkins_configured` below) is skipped with the reason, instead of one skip per test.
_TARGETS = ["double"] + ([pytest.param("live", marks=pytest.mark.live)] if live_configured() else [])


@pytest.fixture(params=_TARGETS)
def jenkins_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "live":
        t = _live_target()
    else:
        # Headers as Jetty writes them (characters above U+00FF become spaces, so Jenkins' ‘quotes’
        # in X-Error arrive as blanks): what a client meets on a real controller.
        d = request.getfixturevalue("jenkins_double_factory")(jetty_headers=True)
        t = Target("double", d.url, d.user, d.token, getattr(d, "password", None), d)
    try:
        yield t
    finally:
        if t.is_double:
            t.double.set_faults()
        t.close()


@pytest.fixture
def sandbox(jenkins_target: Target) -> Iterator[str]:
    """A fresh folder (its full name) for this test's items, deleted afterwards."""
    name = f"jk-conf-{uuid.uuid4().hex[:10]}"
    c = jenkins_target.client()
    c.post("createItem", params={"name": name}, data=FOLDER_XML, headers=XML)
    try:
        yield name
    finally:
        try:
            c.delete(c.job_url_path(name), missing_ok=True)
        except Exception:
            pass


def unique(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(pred: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def create_job(c: JenkinsClient, full_name: str, xml: str | None = None) -> None:
    from jenkins_kit.jenkins import paths

    c.post(paths.parent_url_path(full_name) + "createItem", params={"name": paths.leaf_name(full_name)},
           data=xml or pipeline_xml(), headers=XML)


def wait_build(c: JenkinsClient, queue_url: str, timeout: float = 30.0) -> dict[str, Any]:
    """Follow a queue item until it has an executable; then the build until it is complete."""
    q = c.rel_path(queue_url)

    def executable() -> Any:
        item = c.get_json(q)
        assert not item.get("cancelled"), item
        return item.get("executable")

    exe = wait_for(executable, timeout)
    burl = c.rel_path(exe["url"])
    return wait_for(lambda: (lambda b: b if not b["building"] and b["result"] else None)(c.get_json(burl)), timeout)


@pytest.mark.live
def test_live_jenkins_configured() -> None:
    """Reports, once, whether the conformance suite also ran against a real Jenkins."""
    if not live_configured():
        pytest.skip(LIVE_SKIP_REASON)
    t = _live_target()
    c = JenkinsClient(t.settings())
    assert c.whoami()["name"] == t.user


def test_live_target_skips_with_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in LIVE_ENV:
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(pytest.skip.Exception) as e:
        _live_target()
    assert "JENKINS_KIT_LIVE_URL" in str(e.value)


def test_pipeline_xml_is_well_formed() -> None:
    import xml.etree.ElementTree as ET

    for doc in (pipeline_xml(), PARAM_XML, FOLDER_XML):
        ET.fromstring(doc.split("?>", 1)[1])


_QUOTES = str.maketrans({"\u2018": " ", "\u2019": " ", "\u201c": " ", "\u201d": " "})


def loose(text: str) -> str:
    """Compare Jenkins messages the way a client must: curly quotes may arrive as spaces (Jetty)."""
    return " ".join(text.translate(_QUOTES).split())
