"""Conformance: the remaining endpoints and error cases — export options (xml/xpath, jsonp, bad depth/tree),
checkJobName, quiet-down, run term/kill/doDelete, progressiveHtml, deprecated cancelQueue, the built-in
computer, and a controller restart (503 window, then sessions and crumbs gone) seen by both auth kinds."""

from __future__ import annotations

import time

import pytest

from jenkins_kit.jenkins import errors as jerr
from jenkins_kit.jenkins import paths
from tests.test_conformance_support import (  # noqa: F401 - fixtures
    Target,
    create_job,
    jenkins_target,
    sandbox,
    wait_build,
    wait_for,
)


def test_export_options(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    with pytest.raises(jerr.PermissionDeniedError) as e:
        c.get("api/json", {"jsonp": "cb"})
    assert "jsonp forbidden" in e.value.message
    for bad in ({"depth": "deep"}, {"tree": "jobs[name"}):
        with pytest.raises(jerr.ServerError) as e2:
            c.get("api/json", bad)
        assert e2.value.status == 500
    xml = c.get("api/xml", {"tree": "mode"})
    assert xml.headers["Content-Type"].lower().startswith("application/xml")
    assert "<mode>NORMAL</mode>" in xml.text
    crumbish = c.get("crumbIssuer/api/xml", {"xpath": 'concat(//crumbRequestField,":",//crumb)'})
    assert crumbish.text.startswith("Jenkins-Crumb:")
    with pytest.raises(jerr.PermissionDeniedError, match="primitive XPath result sets forbidden"):
        c.get("api/xml", {"xpath": 'concat(//mode,"!")'})
    with pytest.raises(jerr.NotFoundError):
        c.get("api/xml", {"xpath": "//noSuchElement"})
    pretty = c.get("api/json", {"pretty": "true", "tree": "mode"}).text
    assert "\n" in pretty


def test_check_job_name(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    create_job(c, f"{sandbox}/taken")
    base = c.job_url_path(sandbox) + "checkJobName"
    assert c.get_text(base, {"value": "fresh"}).strip() == "<div/>"
    assert "A job already exists with the name ‘TAKEN’" in c.get_text(base, {"value": "TAKEN"})
    assert "unsafe character" in c.get_text(base, {"value": "a?b"})
    assert c.get_text("checkJobName", {"value": ""}).strip() == "<div/>"


def test_quiet_down_holds_new_builds(jenkins_target: Target, sandbox: str) -> None:
    jenkins_target.need_double()  # quieting a real controller is not something a test should do
    c = jenkins_target.client()
    create_job(c, f"{sandbox}/qd")
    assert c.post("quietDown", params={"message": "maintenance"}).status_code == 302
    try:
        root = c.get_json("", tree="quietingDown,quietDownReason")
        assert root["quietingDown"] is True and root["quietDownReason"] == "maintenance"
        r = c.post(c.job_url_path(f"{sandbox}/qd") + "build", params={"delay": "0sec"})
        qid = paths.queue_id_from_location(r.headers["Location"])
        item = wait_for(lambda: (lambda i: i if i.get("buildable") else None)(c.get_json(paths.queue_item_path(qid))))
        assert item["why"] == "Jenkins is about to shut down"
    finally:
        assert c.post("cancelQuietDown").status_code == 302
    wait_build(c, r.headers["Location"])


def test_term_kill_and_delete_build(jenkins_target: Target, sandbox: str) -> None:
    d = jenkins_target.need_double()
    c = jenkins_target.client()
    name = f"{sandbox}/tk"
    create_job(c, name)
    d.set_behaviour(name, duration_ms=20000)
    nums = []
    for verb in ("term", "kill"):
        r = c.post(c.job_url_path(name) + "build", params={"delay": "0sec"})
        qid = paths.queue_id_from_location(r.headers["Location"])
        exe = wait_for(lambda: c.get_json(paths.queue_item_path(qid)).get("executable"))
        burl = c.rel_path(exe["url"])
        assert c.post(burl + verb).status_code == 302
        b = wait_for(lambda: (lambda x: x if x["result"] else None)(c.get_json(burl)))
        assert b["result"] in ("ABORTED", "FAILURE")
        nums.append(exe["number"])
    assert "Hard kill" in c.get_text(paths.build_url_path(name, nums[1]) + "consoleText")
    r = c.post(paths.build_url_path(name, nums[0]) + "doDelete")
    assert r.status_code == 302
    with pytest.raises(jerr.NotFoundError) as e:
        c.get_json(paths.build_url_path(name, nums[0]))
    assert e.value.missing == f"{name}#{nums[0]}"


def test_progressive_html_and_cancel_queue(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    name = f"{sandbox}/ph"
    create_job(c, name)
    r = c.post(c.job_url_path(name) + "build", params={"delay": "0sec"})
    b = wait_build(c, r.headers["Location"])
    burl = c.rel_path(b["url"])
    h = c.get(burl + "logText/progressiveHtml", {"start": 0})
    assert h.headers["Content-Type"].lower().startswith("text/html")
    assert "X-More-Data" not in h.headers and int(h.headers["X-Text-Size"]) > 0
    assert h.headers.get("X-ConsoleAnnotator")
    # the deprecated per-item cancel always answers 204
    r2 = c.post(c.job_url_path(name) + "build", params={"delay": "60sec"})
    qid = paths.queue_id_from_location(r2.headers["Location"])
    assert c.post(paths.queue_item_path(qid) + "cancelQueue").status_code == 204
    assert c.get_json(paths.queue_item_path(qid))["cancelled"] is True
    assert "Queue item exists" in c.get_text(paths.queue_item_path(qid))


def test_built_in_computer(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    comp = c.get_json("computer/(built-in)/")
    assert comp["_class"] == "hudson.model.Hudson$MasterComputer"
    assert "executors" in comp and comp["offline"] is False


@pytest.mark.parametrize("auth", ["token", "password"])
def test_restart_is_waited_out_and_sessions_renewed(jenkins_target: Target, sandbox: str, auth: str) -> None:
    d = jenkins_target.need_double()
    c = jenkins_target.client(auth, unavailable_wait=20.0)
    name = f"{sandbox}/rs-{auth}"
    create_job(c, name)
    c.post(c.job_url_path(name) + "disable")
    session_before = c.get("api/json", {"tree": "mode"}).headers["X-Jenkins-Session"]
    d.restart(window_s=0.8)
    d.clear_requests()
    t0 = time.monotonic()
    assert c.post(c.job_url_path(name) + "enable").status_code == 302  # waits for the 503 window, re-crumbs
    assert time.monotonic() - t0 >= 0.5
    statuses = [r["status"] for r in d.requests() if r["method"] == "POST"]
    assert statuses[-1] == 302 and statuses.count(302) == 1 and 503 in statuses
    if auth == "password":
        assert any(r["path"].startswith("/crumbIssuer/") for r in d.requests())
    assert c.get("api/json", {"tree": "mode"}).headers["X-Jenkins-Session"] != session_before
