"""Conformance: plugins, nodes, scriptText, configuration-as-code and the start-up 503 window
(jenkins-remote-api.md §6), through the toolkit's client and python-jenkins.

Against a live Jenkins only read-only CasC calls run (check/export); apply/reload need the double."""

from __future__ import annotations

from typing import Any

import jenkins as pyjenkins
import pytest

from jenkins_kit.errors import ExitCode
from jenkins_kit.jenkins import errors as jerr
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings
from tests.test_conformance_support import FAST, Target, jenkins_target  # noqa: F401 - fixture

YAML = {"Content-Type": "application/x-yaml"}
EXPECTED_PLUGINS = {"workflow-job", "workflow-cps", "cloudbees-folder", "configuration-as-code", "git"}


def test_plugins(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    shallow = c.get_json("pluginManager/")
    # depth 0: plugins carry no fields (at most `_class`); depth=2 is the useful one
    assert all(set(p) <= {"_class"} for p in shallow["plugins"])
    data = c.get_json("pluginManager/", depth=2)
    by_name = {p["shortName"]: p for p in data["plugins"]}
    assert EXPECTED_PLUGINS <= set(by_name)
    wj = by_name["workflow-job"]
    assert wj["active"] is True and wj["enabled"] is True and wj["version"]
    assert all({"shortName", "version", "optional"} <= set(d) for d in wj["dependencies"])
    pj = jenkins_target.pyj()
    info = pj.get_plugins()
    assert info["workflow-job"]["version"] == wj["version"]  # keyed by shortName and by longName
    assert info[wj["longName"]]["shortName"] == "workflow-job"
    assert pj.get_plugin_info("cloudbees-folder")["shortName"] == "cloudbees-folder"


def test_computers(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    data = c.get_json("computer/")
    assert data["_class"] == "hudson.model.ComputerSet"
    assert isinstance(data["totalExecutors"], int) and isinstance(data["busyExecutors"], int)
    built_in = data["computer"][0]
    assert built_in["_class"] == "hudson.model.Hudson$MasterComputer"
    nodes = jenkins_target.pyj().get_nodes()
    assert nodes and "offline" in nodes[0]


def test_script_text(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    r = c.post("scriptText", data={"script": 'println("hello from script")'})
    assert r.status_code == 200 and r.headers["Content-Type"].lower().startswith("text/plain")
    assert "hello from script" in r.text
    with pytest.raises(jerr.MethodNotAllowedError):
        c.get("scriptText", {"script": 'println("x")'})
    assert c.get_text("scriptText") == ""  # GET without script: empty 200
    assert "hi" in jenkins_target.pyj().run_script('println("hi")')


def test_casc_check_and_export(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    ok = c.post("configuration-as-code/check", data="jenkins:\n  systemMessage: conformance\n", headers=YAML)
    assert ok.status_code == 200 and ok.json() == []
    with pytest.raises(jerr.ServerError) as e:
        c.post("configuration-as-code/check", data="notAPlugin:\n  x: 1\n", headers=YAML)
    assert e.value.status == 500
    exp = c.post("configuration-as-code/export")
    assert exp.status_code == 200
    assert exp.headers["Content-Type"].lower().startswith("application/x-yaml")
    assert "jenkins.yaml" in exp.headers.get("Content-Disposition", "")
    assert "jenkins:" in exp.text
    with pytest.raises(jerr.MethodNotAllowedError):
        c.get("configuration-as-code/export")


def test_casc_apply_and_reload(jenkins_target: Target) -> None:
    d = jenkins_target.need_double()
    c = jenkins_target.client()
    r = c.post("configuration-as-code/apply", data="jenkins:\n  systemMessage: applied\n", headers=YAML)
    assert r.status_code == 200 and r.content == b""
    with pytest.raises(jerr.ServerError):
        c.post("configuration-as-code/apply", data="bogusRoot: {}\n", headers=YAML)
    d.set_casc_source("jenkins:\n  systemMessage: reloaded\n")
    rr = c.post("configuration-as-code/reload")
    assert rr.status_code == 302 and rr.headers["Location"].endswith("/configuration-as-code/")
    d.set_casc_source("unknownRoot: {}\n")
    bad = c.post("configuration-as-code/reload")
    assert bad.status_code == 200 and "Error loading configuration" in bad.text  # errors render as a 200 page


def test_casc_token_reload(jenkins_target: Target, jenkins_double_factory: Any) -> None:
    jenkins_target.need_double()
    d = jenkins_double_factory(casc_reload_token="reload-secret-42")
    s = JenkinsSettings.resolve(env={"JENKINS_URL": d.url, "JENKINS_USER_ID": d.user, "JENKINS_API_TOKEN": d.token}, **FAST)
    c = JenkinsClient(s)
    assert c.post("reload-configuration-as-code/", params={"casc-reload-token": "reload-secret-42"}).status_code == 200
    with pytest.raises(jerr.AuthenticationError) as e:
        c.post("reload-configuration-as-code/", params={"casc-reload-token": "wrong-token-zz"})
    assert e.value.status == 401 and "CASC_RELOAD_TOKEN" in (e.value.hint or "")
    assert "wrong-token-zz" not in str(e.value) and "casc-reload-token=%2A%2A%2A" in (e.value.url or "")
    with pytest.raises(jerr.MethodNotAllowedError):
        c.get("reload-configuration-as-code/", {"casc-reload-token": "reload-secret-42"})
    # disabled (no token configured): 404
    with pytest.raises(jerr.NotFoundError):
        jenkins_target.client().post("reload-configuration-as-code/", params={"casc-reload-token": "x"})


def test_startup_503_waited_out(jenkins_target: Target, jenkins_double_factory: Any) -> None:
    jenkins_target.need_double()
    d = jenkins_double_factory(startup_unavailable_s=1.0)
    env = {"JENKINS_URL": d.url, "JENKINS_USER_ID": d.user, "JENKINS_API_TOKEN": d.token}
    impatient = JenkinsClient(JenkinsSettings.resolve(env=env, **{**FAST, "unavailable_wait": 0.1}))
    with pytest.raises(jerr.UnavailableError) as e:
        impatient.version()
    assert e.value.status == 503 and e.value.exit_code == ExitCode.SERVER
    assert "getting ready to work" in e.value.message
    assert "X-Jenkins" not in e.value.headers
    # python-jenkins: a 503 is a bare HTTPError inside get_info, BadHTTPException in get_version
    pj = pyjenkins.Jenkins(d.url, username=d.user, password=d.token, timeout=10)
    with pytest.raises(pyjenkins.BadHTTPException):
        pj.get_version()
    patient = JenkinsClient(JenkinsSettings.resolve(env=env, **FAST))
    assert patient.version() == d.version
    statuses = [r["status"] for r in d.requests()]
    assert 503 in statuses and statuses[-1] == 200
