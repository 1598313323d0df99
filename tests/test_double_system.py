"""Conformance tests for the Jenkins double: plugins, computers, script console, CasC, python-jenkins
quirks (spec §6, §8)."""
from __future__ import annotations

import jenkins
import pytest
import requests

from tests.test_double_basics import PIPELINE, pw, tok
from tests.test_double_builds import wait_for
from tests.test_double_items import PARAMS, post_xml


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


@pytest.fixture
def s(d):
    return tok(d)


@pytest.fixture
def viewer(d):
    d.add_user("viewer", password="vpw", token="vtok", admin=False)
    sess = requests.Session()
    sess.auth = ("viewer", "vtok")
    return sess


# -- plugins / computers / me ------------------------------------------------------------------

def test_plugin_manager(d, s, viewer):
    j = s.get(d.url + "pluginManager/api/json?depth=0").json()
    assert j["_class"] == "hudson.LocalPluginManager"
    assert all(set(p) == {"_class"} for p in j["plugins"])  # depth 0: nothing useful
    j = s.get(d.url + "pluginManager/api/json?depth=2").json()
    short = {p["shortName"]: p for p in j["plugins"]}
    for name in ("workflow-job", "workflow-cps", "workflow-api", "workflow-step-api", "workflow-support",
                 "cloudbees-folder", "configuration-as-code", "script-security", "git",
                 "workflow-multibranch", "branch-api", "scm-api"):
        assert name in short and short[name]["active"] is True
    assert {"shortName", "version", "optional"} <= set(short["workflow-job"]["dependencies"][0])
    r = viewer.get(d.url + "pluginManager/api/json?depth=1")
    assert r.status_code == 403 and r.headers["X-Required-Permission"] == "hudson.model.Hudson.SystemRead"
    assert r.headers["X-You-Are-Authenticated-As"] == "viewer"


def test_computer_api(d, s):
    j = s.get(d.url + "computer/api/json").json()
    assert j["_class"] == "hudson.model.ComputerSet" and j["totalExecutors"] == 2
    c = j["computer"][0]
    assert c["_class"] == "hudson.model.Hudson$MasterComputer" and c["displayName"] == "Built-In Node"
    assert c["executors"] == [{}, {}] and c["offline"] is False and c["numExecutors"] == 2
    assert s.get(d.url + "computer/(built-in)/api/json?depth=2").status_code == 200


def test_me_and_whoami(d, s):
    assert s.get(d.url + "me/api/json").json()["id"] == "admin"
    assert requests.get(d.url + "me/api/json").status_code == 403


# -- script console --------------------------------------------------------------------------

def test_script_text(d, s, viewer):
    crumbless = s.post(d.url + "scriptText", data={"script": 'println("hello")\nprint(\')]}.\')'})
    assert crumbless.status_code == 200 and crumbless.text == "hello\n)]}."
    assert crumbless.headers["Content-Type"].startswith("text/plain")
    assert s.get(d.url + "scriptText").text == ""
    assert s.get(d.url + "scriptText?script=1").status_code == 405
    r = viewer.post(d.url + "scriptText", data={"script": "1"})
    assert r.status_code == 403 and r.headers["X-Required-Permission"] == "hudson.model.Hudson.Administer"
    assert requests.post(d.url + "scriptText", data={"script": "1"}).status_code == 403
    s.post(d.url + "__double__/script", json={"output": "Result: 42\n"})
    assert s.post(d.url + "scriptText", data={"script": "6*7"}).text == "Result: 42\n"


# -- configuration as code -------------------------------------------------------------------

def test_casc_endpoints(d, s, viewer):
    good = "jenkins:\n  systemMessage: hi\nunclassified:\n  location:\n    url: http://x/\ncredentials: {}\n"
    bad = "jenkins: {}\nalice: 1\n"
    h = {"Content-Type": "application/x-yaml"}
    r = s.post(d.url + "configuration-as-code/check", data=good, headers=h)
    assert r.status_code == 200 and r.json() == []
    assert s.post(d.url + "configuration-as-code/check", data=bad, headers=h).status_code == 500
    assert s.post(d.url + "configuration-as-code/check", data="a: [", headers=h).status_code == 500
    r = s.post(d.url + "configuration-as-code/apply", data=good, headers=h)
    assert r.status_code == 200 and r.content == b""
    assert s.post(d.url + "configuration-as-code/apply", data=bad, headers=h).status_code == 500
    r = s.post(d.url + "configuration-as-code/export")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-yaml; charset=utf-8"
    assert r.headers["Content-Disposition"] == "attachment; filename=jenkins.yaml"
    assert "systemMessage: hi" in r.text
    assert s.get(d.url + "configuration-as-code/export").status_code == 405
    # reload re-reads the configured source
    r = s.post(d.url + "configuration-as-code/reload", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/configuration-as-code/")
    d.set_casc_source(bad)
    r = s.post(d.url + "configuration-as-code/reload", allow_redirects=False)
    assert r.status_code == 200 and "Error loading configuration" in r.text
    assert "No configurator for the following root elements: alice" in r.text
    assert viewer.post(d.url + "configuration-as-code/reload").status_code == 403
    assert viewer.post(d.url + "configuration-as-code/apply", data=good, headers=h).status_code == 403


def test_casc_form_body_consumed_by_crumb_lookup(d):
    # password auth + crumb as header: body read raw; with form content type and no header the
    # crumb filter consumes the body (spec §6.3 note)
    s = pw(d)
    crumb = s.get(d.url + "crumbIssuer/api/json").json()["crumb"]
    r = s.post(d.url + "configuration-as-code/check", data="alice: 1\n",
               headers={"Content-Type": "text/plain", "Jenkins-Crumb": crumb})
    assert r.status_code == 500


def test_casc_token_reload(jenkins_double_factory):
    d = jenkins_double_factory()
    assert requests.post(d.url + "reload-configuration-as-code/?casc-reload-token=x").status_code == 403  # crumb filter
    assert tok(d).post(d.url + "reload-configuration-as-code/?casc-reload-token=x").status_code == 404
    d2 = jenkins_double_factory(casc_reload_token="rt")
    u = d2.url + "reload-configuration-as-code/"
    assert requests.post(u + "?casc-reload-token=rt").status_code == 200
    assert requests.post(u + "?casc-reload-token=nope").status_code == 401
    assert requests.post(u).status_code == 401
    assert requests.get(u + "?casc-reload-token=rt").status_code == 405
    # without the trailing slash the crumb exclusion does not apply
    assert requests.post(d2.url + "reload-configuration-as-code?casc-reload-token=rt").status_code == 403


# -- python-jenkins ------------------------------------------------------------------------------

def test_pyjenkins_basic_calls(d):
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    assert server.get_whoami()["id"] == "admin"
    assert server.get_version() == "2.492.3"
    assert server.get_info()["_class"] == "hudson.model.Hudson"
    plugins = server.get_plugins()
    assert plugins["workflow-job"]["longName"] == "Pipeline: Job"
    assert server.get_nodes()[0]["name"] == "Built-In Node"
    assert server.run_script('println("ok")').strip() == "ok"
    assert server.get_queue_info() == []


def test_pyjenkins_get_version_without_auth_quirk(d):
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    with pytest.raises(jenkins.BadHTTPException):
        server.get_version()  # first call: auth not yet applied -> 403
    server.get_whoami()
    assert server.get_version() == "2.492.3"


def test_pyjenkins_build_flow(jenkins_double_factory):
    d = jenkins_double_factory(quiet_period=2)
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    server.create_job("p", PIPELINE)
    q1 = server.build_job("p")
    q2 = server.build_job("p")
    assert isinstance(q1, int) and q1 == q2  # coalesced in the quiet period
    item = server.get_queue_item(q1)
    assert item["_class"] == "hudson.model.Queue$WaitingItem"
    assert server.get_queue_info()[0]["id"] == q1
    server.cancel_queue(q1)
    assert server.get_queue_item(q1)["cancelled"] is True
    server.cancel_queue(123456)  # swallows 404
    with pytest.raises(jenkins.JenkinsException, match="does not exist"):
        server.get_queue_item(987654)
    s = tok(d)
    s.post(d.url + "job/p/build?delay=0sec")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    d.wait_idle(5)
    info = server.get_build_info("p", 1)
    assert info["result"] == "SUCCESS" and info["number"] == 1
    assert server.get_build_console_output("p", 1).endswith("Finished: SUCCESS\n")
    assert server.get_job_info("p")["lastBuild"]["number"] == 1
    with pytest.raises(jenkins.JenkinsException):
        server.get_build_info("p", 99)
    assert server.get_running_builds() == []


def test_pyjenkins_param_quirks(jenkins_double_factory):
    d = jenkins_double_factory(quiet_period=5)
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    server.create_job("pp", PARAMS)
    # parameters={} on a parameterized job goes to /build -> 400 -> requests.HTTPError
    with pytest.raises(requests.HTTPError) as e:
        server.build_job("pp", parameters={})
    assert e.value.response.status_code == 400
    q = server.build_job("pp", parameters={"BRANCH": "x"})
    assert isinstance(q, int)
    # identical trigger -> 303 -> requests follows with GET queue/item/N/ (200, no Location)
    with pytest.raises(jenkins.EmptyResponseException):
        server.build_job("pp", parameters={"BRANCH": "x"})
    server.disable_job("pp")
    with pytest.raises(requests.HTTPError) as e:
        server.build_job("pp", parameters={"BRANCH": "y"})
    assert e.value.response.status_code == 409


def test_pyjenkins_stop_build(d):
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    server.create_job("p", PIPELINE)
    d.set_behaviour("p", duration_ms=5000)
    server.build_job("p")
    wait_for(lambda: server.get_job_info("p")["lastBuild"])
    server.stop_build("p", 1)
    assert server.get_build_info("p", 1)["result"] == "ABORTED"


def test_pyjenkins_crumb_cached_forever_with_password(d):
    server = jenkins.Jenkins(d.url, username=d.user, password=d.password)
    server.create_job("p", PIPELINE)  # fetches and caches a crumb bound to the session cookie
    server.disable_job("p")
    d.set_faults(invalidate_sessions=True)  # as after a restart
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        server.enable_job("p")
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        server.enable_job("p")  # still stale: never refreshed
    # with an API token the stale crumb is ignored
    tserver = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    tserver.create_job("q", PIPELINE)
    d.set_faults(invalidate_sessions=True)
    tserver.disable_job("q")
    assert tserver.get_job_info("q")["color"] == "disabled"


def test_pyjenkins_wait_for_normal_op_through_startup(jenkins_double_factory):
    d = jenkins_double_factory(startup_unavailable_s=0.5)
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    # quirk: get_version() never applies auth, so a fresh object never sees "normal op" on a
    # secured controller (403 forever) ...
    assert server.wait_for_normal_op(0.6) is False
    # ... once auth is resolved by any other call it works through the 503 window
    d2 = jenkins_double_factory(startup_unavailable_s=0.5)
    server = jenkins.Jenkins(d2.url, username=d2.user, password=d2.token)
    with pytest.raises(jenkins.JenkinsException):
        server.get_whoami()  # 503 during start-up
    assert server.wait_for_normal_op(5)


def test_pyjenkins_503_is_http_error(jenkins_double_factory):
    d = jenkins_double_factory(startup_unavailable_s=30)
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    with pytest.raises((requests.HTTPError, jenkins.BadHTTPException)):
        server.get_info()
    with pytest.raises(requests.HTTPError) as e:
        server.jenkins_request(requests.Request("GET", d.url + "api/json"))
    assert e.value.response.status_code == 503


# -- restart, form login, multipart ------------------------------------------------------------

def test_restart_window_and_new_instance(jenkins_double_factory):
    d = jenkins_double_factory(restart_s=1.0)
    s = pw(d)
    crumb = s.get(d.url + "crumbIssuer/api/json").json()["crumb"]
    before = s.get(d.url + "api/json").headers["X-Jenkins-Session"]
    post_xml(tok(d), d.url + "createItem?name=p", PIPELINE)
    loc = tok(d).post(d.url + "job/p/build").headers["Location"]
    wait_for(lambda: tok(d).get(loc + "api/json").json()["_class"].endswith("LeftItem"))
    r = s.post(d.url + "restart", headers={"Jenkins-Crumb": crumb}, allow_redirects=False)
    assert r.status_code == 302
    r = s.get(d.url + "api/json")
    assert r.status_code == 503 and "Jenkins is restarting" in r.text and "X-Jenkins" not in r.headers
    wait_for(lambda: s.get(d.url + "api/json").status_code == 200, timeout=3)
    assert s.get(d.url + "api/json").headers["X-Jenkins-Session"] != before
    assert s.post(d.url + "job/p/description", data={"description": "x"},
                  headers={"Jenkins-Crumb": crumb}).status_code == 403  # stale session/crumb
    assert tok(d).get(loc + "api/json").status_code == 404  # left items are not kept
    assert tok(d).get(d.url + "job/p/1/api/json").status_code == 200
    assert tok(d).get(d.url + "restart").status_code == 200  # confirmation page


def test_form_login_session_needs_crumb(d):
    s = requests.Session()
    r = s.post(d.url + "j_spring_security_check", data={"j_username": "admin", "j_password": "wrong"},
               allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/loginError")
    r = s.post(d.url + "j_spring_security_check",
               data={"j_username": "admin", "j_password": d.password, "from": "/api/json"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/api/json")
    assert s.get(d.url + "whoAmI/api/json").json()["name"] == "admin"
    assert s.get(d.url + "api/json").status_code == 200
    post_xml(tok(d), d.url + "createItem?name=p", PIPELINE)
    assert s.post(d.url + "job/p/description", data={"description": "x"}).status_code == 403
    crumb = s.get(d.url + "crumbIssuer/api/json").json()["crumb"]
    assert s.post(d.url + "job/p/description", data={"description": "x"},
                  headers={"Jenkins-Crumb": crumb}).status_code == 204
    s.get(d.url + "logout")
    assert s.get(d.url + "api/json").status_code == 403


def test_build_with_parameters_multipart(d, s):
    post_xml(s, d.url + "createItem?name=pp", PARAMS)
    r = s.post(d.url + "job/pp/buildWithParameters", files={"BRANCH": (None, "multi")})
    assert r.status_code == 201
    j = s.get(r.headers["Location"] + "api/json").json()
    assert "\nBRANCH=multi" in j["params"]


def test_reader_role_item_permissions(d, s):
    d.add_user("ro", token="rotok", role="reader")
    ro = requests.Session()
    ro.auth = ("ro", "rotok")
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    assert ro.get(d.url + "job/p/api/json").status_code == 200
    cases = [
        (ro.post(d.url + "createItem?name=x", data=PIPELINE, headers={"Content-Type": "text/xml"}), "hudson.model.Item.Create"),
        (ro.post(d.url + "job/p/build"), "hudson.model.Item.Build"),
        (ro.get(d.url + "job/p/config.xml"), "hudson.model.Item.ExtendedRead"),
        (ro.post(d.url + "job/p/config.xml", data=PIPELINE), "hudson.model.Item.Configure"),
        (ro.post(d.url + "job/p/disable"), "hudson.model.Item.Configure"),
        (ro.delete(d.url + "job/p/"), "hudson.model.Item.Delete"),
    ]
    for r, perm in cases:
        assert r.status_code == 403, perm
        assert r.headers["X-Required-Permission"] == perm
        assert r.headers["X-You-Are-Authenticated-As"] == "ro"
        assert "Access Denied" in r.text
    r = ro.post(d.url + "job/p/build")
    assert r.raw.headers.getlist("X-Permission-Implied-By") == [
        "hudson.security.Permission.GenericUpdate", "hudson.security.Permission.GenericWrite",
        "hudson.model.Hudson.Administer"]
    assert ro.get(d.url + "job/p/build").status_code == 403  # permission before 405
    loc = s.post(d.url + "job/p/build?delay=600sec").headers["Location"]
    qid = loc.rstrip("/").rsplit("/", 1)[1]
    r = ro.post(d.url + f"queue/cancelItem?id={qid}")
    # HttpResponses.error(422, "Item for id (N) is not cancellable") -> Oops page [core Queue.doCancelItem]
    assert r.status_code == 422 and "Oops!" in r.text


def test_safe_restart_waits_for_running_builds(jenkins_double_factory):
    d = jenkins_double_factory(restart_s=0.5)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    d.set_behaviour("p", duration_ms=4000)  # long enough that the steps below happen while it runs, even on a busy machine
    s.post(d.url + "job/p/build")
    wait_for(lambda: s.get(d.url + "job/p/1/api/json").status_code == 200)
    assert s.post(d.url + "safeRestart", allow_redirects=False).status_code == 302
    j = s.get(d.url + "api/json").json()
    assert j["quietingDown"] is True  # still up while the build runs
    loc = s.post(d.url + "job/p/build").headers["Location"]  # queued, not started
    # Waiting ("Finished waiting" once its quiet period ends) until maintenance makes it buildable,
    # then blocked by the quiet-down (Queue.BuildableItem.getCauseOfBlockage).
    wait_for(lambda: s.get(loc + "api/json").json()["why"] == "Jenkins is about to shut down", timeout=5)
    wait_for(lambda: s.get(d.url + "api/json").status_code == 503, timeout=15)
    wait_for(lambda: s.get(d.url + "api/json").status_code == 200, timeout=15)
    assert s.get(d.url + "api/json").json()["quietingDown"] is False
    assert s.get(d.url + "job/p/1/api/json").json()["result"] == "SUCCESS"
    wait_for(lambda: s.get(d.url + "job/p/2/api/json").status_code == 200, timeout=5)  # queue survived
