"""Conformance tests for the Jenkins double: triggering, queue, runs, stop, console (spec §4, §5)."""
from __future__ import annotations

import json
import time

import pytest

from tests.helpers import until
from tests.test_double_basics import PIPELINE, tok
from tests.test_double_items import PARAMS, post_xml


def wait_for(fn, timeout=5.0, interval=0.01):
    return until(fn, timeout, interval)


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


@pytest.fixture
def s(d):
    return tok(d)


def item_of(s, loc, suffix):
    """The queue item JSON once its _class ends with ``suffix``, else None (for wait_for)."""
    j = s.get(loc + "api/json").json()
    return j if j["_class"].endswith(suffix) else None


def qid(r):
    return int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_build_201_absolute_location_from_request_host(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    r = s.post(d.url + "job/p/build")
    assert r.status_code == 201 and r.content == b""
    assert r.headers["Location"] == f"{d.url}queue/item/{qid(r)}/"
    assert "X-Jenkins" not in r.headers
    r = s.post(f"http://localhost:{d.port}/job/p/build?delay=0sec")
    assert r.headers["Location"].startswith(f"http://localhost:{d.port}/queue/item/")
    assert s.get(d.url + "job/p/build").status_code == 405


def test_queue_lifecycle_executable_null_then_set(jenkins_double_factory):
    d = jenkins_double_factory(executable_delay_s=1.0, default_duration_ms=200)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    r = s.post(d.url + "job/p/build")
    loc = r.headers["Location"]
    left = wait_for(lambda: item_of(s, loc, "$LeftItem"))
    assert left["executable"] is None and left["cancelled"] is False and left["why"] is None
    assert left["url"] == f"queue/item/{qid(r)}/" and left["blocked"] is False and left["buildable"] is False
    assert left["task"] == {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "p",
                            "url": d.url + "job/p/", "color": "notbuilt"}
    assert left["actions"][0]["causes"][0] == {"_class": "hudson.model.Cause$UserIdCause",
                                               "shortDescription": "Started by user admin",
                                               "userId": "admin", "userName": "admin"}
    done = wait_for(lambda: s.get(loc + "api/json").json()["executable"])
    assert done == {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": 1, "url": d.url + "job/p/1/"}
    assert s.get(loc).text.startswith("Queue item exists.")


def test_quiet_period_waiting_item_and_delay(jenkins_double_factory):
    d = jenkins_double_factory(quiet_period=5)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    r = s.post(d.url + "job/p/build")
    j = s.get(r.headers["Location"] + "api/json").json()
    assert j["_class"] == "hudson.model.Queue$WaitingItem"
    assert j["why"].startswith("In the quiet period. Expires in ") and j["why"].endswith("sec")
    assert j["blocked"] is False and j["buildable"] is False and j["timestamp"] > j["inQueueSince"]
    job = s.get(d.url + "job/p/api/json").json()
    assert job["inQueue"] is True and job["queueItem"]["id"] == qid(r)
    assert job["queueItem"]["_class"] == "hudson.model.Queue$WaitingItem"
    # the same request coalesces: same id, still 201 on /build
    r2 = s.post(d.url + "job/p/build")
    assert r2.status_code == 201 and qid(r2) == qid(r)
    # delay=0sec pulls the due time in (earlier due time wins) and builds once
    r3 = s.post(d.url + "job/p/build?delay=0sec")
    assert qid(r3) == qid(r)
    wait_for(lambda: s.get(d.url + "job/p/api/json").json()["lastBuild"])
    assert d.wait_idle(5)
    assert s.get(d.url + "job/p/api/json").json()["nextBuildNumber"] == 2
    queue = s.get(d.url + "queue/api/json").json()
    assert queue == {"_class": "hudson.model.Queue", "discoverableItems": [], "items": []}


def test_bare_delay_is_milliseconds(jenkins_double_factory):
    d = jenkins_double_factory(quiet_period=30)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    r = s.post(d.url + "job/p/build?delay=30")  # 30 ms -> 0 s
    wait_for(lambda: s.get(r.headers["Location"] + "api/json").json()["_class"].endswith("LeftItem"))
    assert s.post(d.url + "job/p/build?delay=soon").status_code == 500


def test_parameterized_build_paths(jenkins_double_factory):
    d = jenkins_double_factory(quiet_period=5)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PARAMS)
    r = s.post(d.url + "job/p/build")
    assert r.status_code == 400 and "Nothing is submitted" in r.text
    r = s.post(d.url + "job/p/build?delay=0sec")
    assert r.status_code == 400 and "This page expects a form submission" in r.text
    assert s.get(d.url + "job/p/build").status_code == 200  # the parameters form
    r1 = s.post(d.url + "job/p/buildWithParameters", params={"BRANCH": "dev", "ENV": "prod"})
    assert r1.status_code == 201
    r2 = s.post(d.url + "job/p/buildWithParameters", params={"BRANCH": "dev", "ENV": "prod"}, allow_redirects=False)
    assert r2.status_code == 303 and qid(r2) == qid(r1)
    assert r2.headers["Location"] == r1.headers["Location"]
    r3 = s.post(d.url + "job/p/buildWithParameters", data={"BRANCH": "other"})
    assert r3.status_code == 201 and qid(r3) != qid(r1)
    j = s.get(r1.headers["Location"] + "api/json").json()
    assert j["params"] == "\nBRANCH=dev\n(BooleanParameterValue) DEPLOY='false'\nENV=prod"
    pa = j["actions"][1]
    assert pa["_class"] == "hudson.model.ParametersAction"
    assert pa["parameters"][0] == {"_class": "hudson.model.StringParameterValue", "name": "BRANCH", "value": "dev"}
    assert pa["parameters"][1] == {"_class": "hudson.model.BooleanParameterValue", "name": "DEPLOY", "value": False}
    # illegal choice / duplicate value -> 500; unknown extras ignored
    assert s.post(d.url + "job/p/buildWithParameters", params={"ENV": "qa"}).status_code == 500
    assert s.post(d.url + "job/p/buildWithParameters?BRANCH=a&BRANCH=b").status_code == 500
    assert s.post(d.url + "job/p/buildWithParameters", params={"BRANCH": "x", "NOPE": "1"}).status_code == 201
    # json form on /build
    form = {"json": json.dumps({"parameter": [{"name": "BRANCH", "value": "viajson"}]})}
    r = s.post(d.url + "job/p/build", data=form)
    assert r.status_code == 201
    form = {"json": json.dumps({"parameter": [{"name": "NOPE", "value": "1"}]})}
    assert s.post(d.url + "job/p/build", data=form).status_code == 500


def test_build_errors(d, s):
    post_xml(s, d.url + "createItem?name=plain", PIPELINE)
    r = s.post(d.url + "job/plain/buildWithParameters", params={"X": "1"})
    assert r.status_code == 500 and "Oops!" in r.text
    s.post(d.url + "job/plain/disable")
    assert s.post(d.url + "job/plain/build").status_code == 409
    post_xml(s, d.url + "createItem?name=pp", PARAMS)
    s.post(d.url + "job/pp/disable")
    assert s.post(d.url + "job/pp/buildWithParameters").status_code == 409
    assert s.post(d.url + "job/ghost/build").status_code == 404


def test_job_auth_token_allows_get_and_remote_cause(d, s):
    xml = PIPELINE.replace("<disabled>false</disabled>", "<authToken>sekrit</authToken><disabled>false</disabled>")
    post_xml(s, d.url + "createItem?name=p", xml)
    r = s.get(d.url + "job/p/build?token=sekrit&cause=ci")
    assert r.status_code == 201
    j = s.get(r.headers["Location"] + "api/json").json()
    cause = j["actions"][0]["causes"][0]
    assert cause["_class"] == "hudson.model.Cause$RemoteCause"
    assert cause["shortDescription"] == "Started by remote host 127.0.0.1 with note: ci"
    r = s.get(d.url + "job/p/build?token=wrong")
    assert r.status_code == 403 and "Invalid token provided." in r.text


def test_cancel_item(jenkins_double_factory):
    d = jenkins_double_factory(quiet_period=30)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    r = s.post(d.url + "job/p/build")
    q = qid(r)
    assert s.get(d.url + f"queue/cancelItem?id={q}").status_code == 405
    r = s.post(d.url + f"queue/cancelItem?id={q}")
    assert r.status_code == 204
    j = s.get(d.url + f"queue/item/{q}/api/json").json()
    assert j["_class"] == "hudson.model.Queue$LeftItem" and j["cancelled"] is True and j["executable"] is None
    r = s.post(d.url + f"queue/cancelItem?id={q}")
    # HttpResponses.error -> Jenkins' ErrorCustomizer -> the Oops page; the message ("Could not
    # cancel run for id N", "Provided id (N) not found") is only logged [core Queue.doCancelItem]
    assert r.status_code == 500 and "Oops!" in r.text and "Could not cancel" not in r.text
    r = s.post(d.url + "queue/cancelItem?id=9999")
    assert r.status_code == 404 and "Oops!" in r.text and "Provided id" not in r.text
    assert s.post(d.url + "queue/item/9999/cancelQueue").status_code == 404
    # cancelled items do not use up build numbers
    assert s.get(d.url + "job/p/api/json").json()["nextBuildNumber"] == 1


def test_left_items_expire(jenkins_double_factory):
    d = jenkins_double_factory(left_item_ttl=1.0)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    loc = s.post(d.url + "job/p/build").headers["Location"]
    wait_for(lambda: s.get(loc + "api/json").json()["_class"].endswith("LeftItem"))
    wait_for(lambda: s.get(loc + "api/json").status_code == 404, timeout=3)
    assert s.get(loc).status_code == 404


def test_executors_buildable_wait_and_blocked(jenkins_double_factory):
    d = jenkins_double_factory(executors=0, default_duration_ms=300)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    loc = s.post(d.url + "job/p/build").headers["Location"]
    j = wait_for(lambda: item_of(s, loc, "BuildableItem"))
    assert j["buildable"] is True and j["why"] == "Waiting for next available executor"
    assert "buildableStartMilliseconds" in j and j["pending"] is False
    s.post(d.url + "__double__/executors", json={"executors": 1})
    wait_for(lambda: s.get(loc + "api/json").json().get("executable"))
    # non-concurrent job: second item blocked while the first build runs
    post_xml(s, d.url + "createItem?name=nc", PARAMS)
    s.post(d.url + "__double__/executors", json={"executors": 4})
    d.set_behaviour("nc", duration_ms=1500)
    s.post(d.url + "job/nc/buildWithParameters?BRANCH=a")
    wait_for(lambda: s.get(d.url + "job/nc/lastBuild/api/json").status_code == 200)
    loc2 = s.post(d.url + "job/nc/buildWithParameters?BRANCH=b").headers["Location"]
    j = wait_for(lambda: item_of(s, loc2, "BlockedItem"))
    assert j["blocked"] is True and j["why"].startswith("Build #1 is already in progress")
    wait_for(lambda: s.get(loc2 + "api/json").json().get("executable"), timeout=5)


def test_run_json_while_running_and_after(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=1000)
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    run = s.get(d.url + "job/p/1/api/json").json()
    assert run["building"] is True and run["inProgress"] is True and run["result"] is None
    assert run["duration"] == 0 and run["executor"] is not None and run["number"] == 1 and run["id"] == "1"
    assert run["url"] == d.url + "job/p/1/" and run["queueId"] >= 1
    job = s.get(d.url + "job/p/api/json").json()
    assert job["color"] == "notbuilt_anime" and job["nextBuildNumber"] == 2
    assert s.get(d.url + "job/p/lastBuild/api/json").json()["number"] == 1
    assert d.wait_idle(5)
    run = s.get(d.url + "job/p/1/api/json").json()
    assert run["building"] is False and run["inProgress"] is False and run["result"] == "SUCCESS"
    assert run["duration"] >= 950 and run["executor"] is None
    job = s.get(d.url + "job/p/api/json").json()
    assert job["color"] == "blue"
    assert job["lastSuccessfulBuild"]["number"] == 1 and job["lastFailedBuild"] is None
    assert job["healthReport"][0]["score"] == 100
    # second build: previous colour + _anime, estimatedDuration from history
    d.set_behaviour("p", duration_ms=1000, result="UNSTABLE")
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/api/json").json()["color"] == "blue_anime")
    run2 = s.get(d.url + "job/p/2/api/json").json()
    assert run2["estimatedDuration"] >= 950
    assert run2["previousBuild"] == {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": 1, "url": d.url + "job/p/1/"}
    assert d.wait_idle(5)
    assert s.get(d.url + "job/p/api/json").json()["color"] == "yellow"
    assert s.get(d.url + "job/p/lastUnstableBuild/api/json").json()["number"] == 2


@pytest.mark.parametrize("how,line", [("stop", "Aborted by admin"), ("term", "Terminating"), ("kill", "Hard kill!")])
def test_stop_term_kill(d, s, how, line):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=5000)
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    assert s.get(d.url + f"job/p/1/{how}").status_code == 405
    r = s.post(d.url + f"job/p/1/{how}", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == d.url + "job/p/1/"
    run = s.get(d.url + "job/p/1/api/json").json()
    assert run["result"] == "ABORTED" and run["building"] is False
    text = s.get(d.url + "job/p/1/consoleText").text
    assert line in text and text.endswith("Finished: ABORTED\n")
    assert s.get(d.url + "job/p/api/json").json()["color"] == "aborted"
    # stopping a finished build is a no-op, still 302
    assert s.post(d.url + "job/p/1/stop", allow_redirects=False).status_code == 302
    assert s.post(d.url + "job/p/9/stop").status_code == 404


def test_console_default_lines_and_progressive_text(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=1500)
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    r = s.get(d.url + "job/p/1/logText/progressiveText?start=0")
    assert r.status_code == 200 and r.headers["X-More-Data"] == "true"
    assert r.text.endswith("\n") and r.text.startswith("Started by user admin\n")
    cursor = int(r.headers["X-Text-Size"])
    assert cursor >= len(r.content)  # raw bytes incl. hidden console notes
    body = r.text
    while True:
        r = s.get(d.url + f"job/p/1/logText/progressiveText?start={cursor}")
        if r.text:
            assert r.text.endswith("\n")  # complete lines only
        body += r.text
        cursor = int(r.headers["X-Text-Size"])
        if "X-More-Data" not in r.headers:
            break
        time.sleep(0.03)
    assert body == "Started by user admin\n[Pipeline] { (build)\n[Pipeline] { (test)\nFinished: SUCCESS\n"
    full = s.get(d.url + "job/p/1/consoleText")
    assert full.text == body and full.headers["Content-Type"].startswith("text/plain")
    assert "\x1b" not in full.text
    # start beyond the end: reset to 0, whole log
    r = s.get(d.url + "job/p/1/logText/progressiveText?start=999999")
    assert r.text == body and "X-More-Data" not in r.headers
    assert s.get(d.url + "job/p/1/logText/progressiveText?start=-5").status_code == 500
    r = s.get(d.url + "job/p/1/logText/progressiveHtml?start=0")
    assert r.headers["Content-Type"].startswith("text/html") and "X-ConsoleAnnotator" in r.headers


def test_partial_line_visible_in_console_text_only(jenkins_double_factory):
    d = jenkins_double_factory()
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=1200, log_lines=["aaaaaaaaaa", "bbbbbbbbbb"])
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    partial_seen = False
    while True:
        prog = s.get(d.url + "job/p/1/logText/progressiveText")
        text = s.get(d.url + "job/p/1/consoleText").text
        assert text.startswith(prog.text) and prog.text.endswith("\n")  # complete lines only
        if text in ("Started by user admin\naaaaa", "Started by user admin\naaaaaaaaaa\nbbbbb"):
            partial_seen = True
        if "X-More-Data" not in prog.headers:
            break
        time.sleep(0.02)
    assert partial_seen


def test_build_delete(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    s.post(d.url + "job/p/build")
    assert d.wait_idle(5)
    r = s.post(d.url + "job/p/1/doDelete", allow_redirects=False)
    assert r.status_code == 302
    assert s.get(d.url + "job/p/1/api/json").status_code == 404


def test_delete_job_aborts_running_and_cancels_queue(jenkins_double_factory):
    d = jenkins_double_factory(executors=1)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PARAMS)
    d.set_behaviour("p", duration_ms=5000)
    s.post(d.url + "job/p/buildWithParameters?BRANCH=1")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    loc = s.post(d.url + "job/p/buildWithParameters?BRANCH=2").headers["Location"]
    assert s.delete(d.url + "job/p/").status_code == 204
    j = s.get(loc + "api/json").json()
    assert j["cancelled"] is True
    assert d.wait_idle(2)


def test_quiet_down(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    assert s.post(d.url + "quietDown?message=maint", allow_redirects=False).status_code == 302
    j = s.get(d.url + "api/json").json()
    assert j["quietingDown"] is True and j["quietDownReason"] == "maint"
    loc = s.post(d.url + "job/p/build").headers["Location"]
    j = wait_for(lambda: item_of(s, loc, "BuildableItem"))
    assert j["why"] == "Jenkins is about to shut down"
    s.post(d.url + "cancelQuietDown")
    wait_for(lambda: s.get(loc + "api/json").json().get("executable"))


def test_partial_default_line_never_shows_a_console_note(jenkins_double_factory):
    d = jenkins_double_factory()
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=1500)
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    seen = set()
    end = time.time() + 1.6
    while time.time() < end:
        t = s.get(d.url + "job/p/1/consoleText").text
        assert "\x1b" not in t and "ha:" not in t
        seen.add(t)
        time.sleep(0.05)
    assert any(not t.endswith("\n") for t in seen)  # a half-written line was observed


def test_all_builds_tree_and_fetch_all_builds(d, s):
    import jenkins
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=10)
    for _ in range(3):
        s.post(d.url + "job/p/build?delay=0sec")
        assert d.wait_idle(5)
    j = s.get(d.url + "job/p/api/json").json()
    assert "allBuilds" not in j
    j = s.get(d.url + "job/p/api/json", params={"tree": "allBuilds[number,url]"}).json()
    assert [b["number"] for b in j["allBuilds"]] == [3, 2, 1]
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    info = server.get_job_info("p", fetch_all_builds=True)
    assert [b["number"] for b in info["builds"]] == [3, 2, 1]


def test_http_delete_needs_no_crumb_with_password(d):
    from tests.test_double_basics import pw
    post_xml(tok(d), d.url + "createItem?name=p", PIPELINE)
    assert pw(d).delete(d.url + "job/p/").status_code == 204


def test_crumb_bound_to_client_ip_via_forwarded_for(d):
    from tests.test_double_basics import pw
    post_xml(tok(d), d.url + "createItem?name=p", PIPELINE)
    sp = pw(d)
    crumb = sp.get(d.url + "crumbIssuer/api/json", headers={"X-Forwarded-For": "10.0.0.1"}).json()["crumb"]
    ok = sp.post(d.url + "job/p/description", data={"description": "a"},
                 headers={"Jenkins-Crumb": crumb, "X-Forwarded-For": "10.0.0.1, 127.0.0.1"})
    assert ok.status_code == 204
    bad = sp.post(d.url + "job/p/description", data={"description": "a"},
                  headers={"Jenkins-Crumb": crumb, "X-Forwarded-For": "10.0.0.2"})
    assert bad.status_code == 403


def test_log_still_open_after_result_option(jenkins_double_factory):
    d = jenkins_double_factory(log_close_delay_s=0.8)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=100, log_lines=["only"])
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200
             and s.get(d.url + "job/p/1/api/json").json()["building"] is False)
    run = s.get(d.url + "job/p/1/api/json").json()
    assert run["result"] == "SUCCESS"
    r = s.get(d.url + "job/p/1/logText/progressiveText")
    assert r.headers.get("X-More-Data") == "true" and "Finished" not in r.text
    assert d.wait_idle(5)
    r = s.get(d.url + "job/p/1/logText/progressiveText")
    assert "X-More-Data" not in r.headers and r.text.endswith("Finished: SUCCESS\n")
