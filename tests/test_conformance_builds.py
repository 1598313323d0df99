"""Conformance: builds, the queue and console output (jenkins-remote-api.md §4, §5, §8.2-8.3), through the
toolkit's client and python-jenkins; includes python-jenkins' `/build` with empty parameters quirk."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import jenkins as pyjenkins
import pytest
import requests

from jenkins_kit.jenkins import errors as jerr
from jenkins_kit.jenkins import paths
from jenkins_kit.jenkins.client import JenkinsClient
from tests.test_conformance_support import (
    PARAM_XML,
    Target,
    create_job,
    jenkins_target,
    pipeline_xml,
    sandbox,
    wait_build,
    wait_for,
)


def _trigger(c: JenkinsClient, name: str, verb: str = "build", **params: str) -> requests.Response:
    return c.post(c.job_url_path(name) + verb, params=params or None)


def test_build_201_location_queue_item_and_run(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    name = f"{sandbox}/app"
    create_job(c, name)
    r = _trigger(c, name, delay="0sec")
    assert r.status_code == 201 and r.content == b""
    loc = r.headers["Location"]
    # absolute, built from the request's host (not the configured root URL)
    assert urlsplit(loc).netloc == urlsplit(c.url).netloc and urlsplit(loc).scheme == "http"
    qid = paths.queue_id_from_location(loc)
    item = c.get_json(paths.queue_item_path(qid))
    assert item["id"] == qid and item["url"] == f"queue/item/{qid}/"
    assert item["task"]["name"] == "app"
    build = wait_build(c, loc)
    assert build["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowRun"
    assert build["result"] == "SUCCESS" and build["building"] is False and build["inProgress"] is False
    assert build["number"] == 1 and build["id"] == "1" and build["queueId"] == qid
    assert build["duration"] > 0
    left = c.get_json(paths.queue_item_path(qid))
    assert left["_class"] == "hudson.model.Queue$LeftItem" and left["cancelled"] is False
    assert left["executable"]["number"] == 1
    job = c.get_json(c.job_url_path(name))
    assert job["color"] == "blue" and job["lastBuild"]["number"] == 1 and job["nextBuildNumber"] == 2
    text = c.get_text(paths.build_url_path(name, 1) + "consoleText")
    assert text.rstrip().endswith("Finished: SUCCESS")
    assert "Started by user" in text
    # permalinks
    assert c.get_json(paths.build_url_path(name, "lastSuccessfulBuild"))["number"] == 1
    with pytest.raises(jerr.NotFoundError) as e:
        c.get_json(paths.build_url_path(name, "lastFailedBuild"))
    assert "no lastFailedBuild" in e.value.message
    with pytest.raises(jerr.NotFoundError) as e2:
        c.get_json(paths.build_url_path(name, 42))
    assert e2.value.missing == f"{name}#42"


def test_waiting_item_coalesces_and_cancels(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    name = f"{sandbox}/slow"
    create_job(c, name)
    r1 = _trigger(c, name, delay="30sec")
    r2 = _trigger(c, name, delay="30sec")
    assert r1.status_code == r2.status_code == 201  # /build answers 201 even when coalesced
    assert r1.headers["Location"] == r2.headers["Location"]
    qid = paths.queue_id_from_location(r1.headers["Location"])
    item = c.get_json(paths.queue_item_path(qid))
    assert item["_class"] == "hudson.model.Queue$WaitingItem"
    assert item["blocked"] is False and item["buildable"] is False
    assert item["why"].startswith("In the quiet period")
    assert any(i["id"] == qid for i in c.get_json("queue/")["items"])
    job = c.get_json(c.job_url_path(name), tree="inQueue,queueItem[id]")
    assert job["inQueue"] is True and job["queueItem"]["id"] == qid
    assert c.post("queue/cancelItem", params={"id": qid}).status_code == 204
    left = c.get_json(paths.queue_item_path(qid))
    assert left["_class"] == "hudson.model.Queue$LeftItem"
    assert left["cancelled"] is True and left["executable"] is None
    # Queue.doCancelItem: HttpResponses.error(500, "Could not cancel run ...") / (404, "Provided id
    # (N) not found"), rendered by Jenkins' ErrorCustomizer as the Oops page: the message is only
    # in the log [core Queue.java; InstallUncaughtExceptionHandler.ErrorCustomizer]
    with pytest.raises(jerr.ServerError) as e:  # already left the queue
        c.post("queue/cancelItem", params={"id": qid})
    assert "A problem occurred while processing the request" in e.value.server_message
    with pytest.raises(jerr.NotFoundError) as e2:
        c.post("queue/cancelItem", params={"id": 987654})
    assert "queue item 987654 not found" in e2.value.message and e2.value.missing == "queue item 987654"
    with pytest.raises(jerr.NotFoundError) as e3:
        c.get_json(paths.queue_item_path(987654))
    assert "5 minutes" in (e3.value.hint or "")


def test_parameterized_builds(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    name = f"{sandbox}/param"
    create_job(c, name, PARAM_XML)
    props = c.get_json(c.job_url_path(name))["property"]
    pdefs = next(p for p in props if p["_class"] == "hudson.model.ParametersDefinitionProperty")["parameterDefinitions"]
    assert pdefs[0]["name"] == "BRANCH" and pdefs[0]["defaultParameterValue"]["value"] == "main"
    # /build on a parameterized job without the form's json field: 400 "Nothing is submitted"
    with pytest.raises(jerr.BadRequestError) as e:
        _trigger(c, name)
    assert e.value.server_message == "Nothing is submitted"
    assert "buildWithParameters" in (e.value.hint or "")
    with pytest.raises(jerr.BadRequestError, match="This page expects a form submission"):
        _trigger(c, name, delay="0sec")
    # buildWithParameters with nothing: the defaults apply
    r1 = _trigger(c, name, "buildWithParameters", delay="30sec")
    assert r1.status_code == 201
    # the identical request while the first waits: 303 to the same item
    r2 = _trigger(c, name, "buildWithParameters", delay="30sec")
    assert r2.status_code == 303 and r2.headers["Location"] == r1.headers["Location"]
    # different parameter values: a new item
    r3 = _trigger(c, name, "buildWithParameters", delay="0sec", BRANCH="dev", IGNORED="x")
    assert r3.status_code == 201 and r3.headers["Location"] != r1.headers["Location"]
    b = wait_build(c, r3.headers["Location"])
    params = next(a for a in b["actions"] if a.get("_class") == "hudson.model.ParametersAction")["parameters"]
    assert params == [{"_class": "hudson.model.StringParameterValue", "name": "BRANCH", "value": "dev"}]
    c.post("queue/cancelItem", params={"id": paths.queue_id_from_location(r1.headers["Location"])})
    # the json form of /build works
    r4 = c.post(c.job_url_path(name) + "build", data={"json": '{"parameter":[{"name":"BRANCH","value":"feature"}]}'})
    assert r4.status_code == 201


def test_python_jenkins_build_job_with_empty_parameters_quirk(jenkins_target: Target, sandbox: str) -> None:
    """§8.2: build_job(name, {}) on a parameterized job posts to /build -> 400 'Nothing is submitted',
    raised as a bare requests.HTTPError. The toolkit triggers parameterized jobs via buildWithParameters."""
    c = jenkins_target.client()
    name = f"{sandbox}/pq"
    create_job(c, name, PARAM_XML)
    pj = jenkins_target.pyj()
    for empty in ({}, None):
        with pytest.raises(requests.HTTPError) as e:
            pj.build_job(name, empty)
        assert e.value.response.status_code == 400
    qid = pj.build_job(name, {"BRANCH": "x"})
    assert isinstance(qid, int)
    # ours: buildWithParameters with no values runs with the defaults
    r = _trigger(c, name, "buildWithParameters", delay="0sec", BRANCH="main2")
    b = wait_build(c, r.headers["Location"])
    assert b["result"] == "SUCCESS"


def test_non_parameterized_build_with_parameters_is_500_and_disabled_is_409(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    name = f"{sandbox}/plain"
    create_job(c, name)
    with pytest.raises(jerr.ServerError) as e:
        _trigger(c, name, "buildWithParameters")
    assert e.value.status == 500 and e.value.attempts == 1
    c.post(c.job_url_path(name) + "disable")
    with pytest.raises(jerr.ConflictError) as e2:
        _trigger(c, name)
    assert e2.value.status == 409 and e2.value.may_have_been_applied is False
    c.post(c.job_url_path(name) + "enable")
    with pytest.raises(jerr.MethodNotAllowedError) as e3:
        c.get(c.job_url_path(name) + "build")
    assert e3.value.status == 405


def test_behaviour_result_log_and_progressive_text(jenkins_target: Target, sandbox: str) -> None:
    d = jenkins_target.need_double()
    c = jenkins_target.client()
    name = f"{sandbox}/beh"
    create_job(c, name)
    d.set_behaviour(name, result="FAILURE", duration_ms=600, log_lines=["line one", "line two ‘quoted’", "line three"])
    r = _trigger(c, name, delay="0sec")
    qid = paths.queue_id_from_location(r.headers["Location"])
    exe = wait_for(lambda: c.get_json(paths.queue_item_path(qid)).get("executable"))
    burl = c.rel_path(exe["url"])
    running = c.get_json(burl)
    assert running["building"] is True and running["result"] is None and running["inProgress"] is True
    assert c.get_json(c.job_url_path(name), tree="color")["color"].endswith("_anime")
    # follow the log with the progressive cursor
    start, chunks, saw_more = 0, [], False
    for _ in range(400):
        resp = c.get(burl + "logText/progressiveText", {"start": start})
        assert resp.headers["Content-Type"].lower().startswith("text/plain")
        text = resp.content.decode("utf-8")
        more = resp.headers.get("X-More-Data") == "true"
        if more:
            saw_more = True
            assert text == "" or text.endswith("\n")  # complete lines only while running
        chunks.append(text)
        start = int(resp.headers["X-Text-Size"])
        if not more:
            break
        time.sleep(0.05)
    assert saw_more
    full = "".join(chunks)
    assert full == c.get_text(burl + "consoleText")
    assert "line two ‘quoted’" in full and full.rstrip().endswith("Finished: FAILURE")
    final = c.get_json(burl)
    assert final["result"] == "FAILURE" and final["building"] is False
    # start beyond the end resets to 0
    again = c.get(burl + "logText/progressiveText", {"start": 10**9})
    assert again.content.decode("utf-8") == full


def test_stop_running_build(jenkins_target: Target, sandbox: str) -> None:
    d = jenkins_target.need_double()
    c = jenkins_target.client()
    name = f"{sandbox}/long"
    create_job(c, name)
    d.set_behaviour(name, duration_ms=20000)
    r = _trigger(c, name, delay="0sec")
    qid = paths.queue_id_from_location(r.headers["Location"])
    exe = wait_for(lambda: c.get_json(paths.queue_item_path(qid)).get("executable"))
    burl = c.rel_path(exe["url"])
    s = c.post(burl + "stop")
    assert s.status_code == 302
    b = wait_for(lambda: (lambda x: x if x["result"] else None)(c.get_json(burl)))
    assert b["result"] == "ABORTED"
    assert c.post(burl + "stop").status_code == 302  # finished: a no-op, still 302


def test_python_jenkins_build_and_queue_calls(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    name = f"{sandbox}/pjb"
    create_job(c, name)
    pj = jenkins_target.pyj()
    qid = pj.build_job(name)
    assert isinstance(qid, int)
    wait_for(lambda: pj.get_queue_item(qid).get("executable"))
    number = pj.get_queue_item(qid)["executable"]["number"]
    wait_for(lambda: not pj.get_build_info(name, number)["building"])
    info = pj.get_build_info(name, number)
    assert info["result"] == "SUCCESS"
    assert "Finished: SUCCESS" in pj.get_build_console_output(name, number)
    assert isinstance(pj.get_queue_info(), list)
    with pytest.raises(pyjenkins.JenkinsException, match="does not exist"):
        pj.get_queue_item(987654)
    with pytest.raises(pyjenkins.JenkinsException):
        pj.get_build_info(name, 99)
    pj.cancel_queue(987654)  # python-jenkins swallows the 404
