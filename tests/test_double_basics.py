"""Conformance tests for the Jenkins double: auth, crumbs, headers, start-up, control API, CLI."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.jenkins_double import JenkinsDouble

PIPELINE = """<?xml version='1.0' encoding='UTF-8'?>
<flow-definition plugin="workflow-job">
  <description>demo</description>
  <keepDependencies>false</keepDependencies>
  <properties/>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">
    <script>pipeline { agent any; stages { stage('build') { steps { echo 'hi' } } stage("test") { steps { echo 'x' } } } }</script>
    <sandbox>true</sandbox>
  </definition>
  <triggers/>
  <disabled>false</disabled>
</flow-definition>
"""


def tok(d):
    s = requests.Session()
    s.auth = (d.user, d.token)
    return s


def pw(d):
    s = requests.Session()
    s.auth = (d.user, d.password)
    return s


# -- auth ----------------------------------------------------------------------------------

def test_anonymous_gets_403_login_page_with_headers(jenkins_double):
    r = requests.get(jenkins_double.url + "api/json")
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Authentication required" in r.text
    assert "url=/login?from=%2Fapi%2Fjson" in r.text
    assert r.headers["X-You-Are-Authenticated-As"] == "anonymous"
    assert r.headers["X-Required-Permission"] == "hudson.model.Hudson.Read"
    assert "JENKINS-39402" in r.headers["X-You-Are-In-Group-Disabled"]
    implied = r.raw.headers.getlist("X-Permission-Implied-By")
    assert implied == ["hudson.security.Permission.GenericRead", "hudson.model.Hudson.Administer"]
    assert r.headers["X-Hudson"] == "1.395"
    assert r.headers["X-Jenkins"] == "2.492.3"
    assert "WWW-Authenticate" not in r.headers  # never a 401 challenge for anonymous


def test_anonymous_xhr_gets_bare_403(jenkins_double):
    r = requests.get(jenkins_double.url + "api/json", headers={"X-Requested-With": "XMLHttpRequest"})
    assert r.status_code == 403 and "Authentication required" not in r.text


@pytest.mark.parametrize("auth", [("admin", "wrong"), ("nobody", "x")])
def test_wrong_credentials_401(jenkins_double, auth):
    r = requests.get(jenkins_double.url + "api/json", auth=auth)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Jenkins"'
    assert "X-Jenkins" not in r.headers


def test_malformed_basic_header_401(jenkins_double):
    r = requests.get(jenkins_double.url + "api/json", headers={"Authorization": "Basic !!!notbase64"})
    assert r.status_code == 401


def test_token_and_password_both_accepted(jenkins_double):
    for s in (tok(jenkins_double), pw(jenkins_double)):
        r = s.get(jenkins_double.url + "api/json")
        assert r.status_code == 200
        assert r.json()["_class"] == "hudson.model.Hudson"


def test_whoami_readable_anonymously(jenkins_double):
    r = requests.get(jenkins_double.url + "whoAmI/api/json")
    assert r.status_code == 200
    assert r.json() == {"_class": "hudson.security.WhoAmI", "anonymous": True, "authenticated": True,
                        "authorities": ["anonymous"], "name": "anonymous"}
    j = tok(jenkins_double).get(jenkins_double.url + "whoAmI/api/json").json()
    assert j["name"] == "admin" and j["authorities"] == ["authenticated"] and not j["anonymous"]


def test_api_headers_vs_html_headers(jenkins_double):
    s = tok(jenkins_double)
    r = s.get(jenkins_double.url + "api/json")
    assert r.headers["Content-Type"].lower() == "application/json;charset=utf-8"
    assert r.headers["X-Jenkins"] == "2.492.3"
    assert len(r.headers["X-Jenkins-Session"]) == 8
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "deny"
    assert "X-Hudson" not in r.headers
    r = s.get(jenkins_double.url)
    assert r.status_code == 200 and r.headers["X-Hudson"] == "1.395"
    assert r.headers["X-Jenkins"] == "2.492.3" and r.headers["X-Hudson-Theme"] == "default"
    assert r.headers["Cache-Control"] == "no-cache,no-store,must-revalidate"
    assert any(c.name.startswith("JSESSIONID.") for c in s.cookies)


# -- crumbs --------------------------------------------------------------------------------

def _create(d, name="app", xml=PIPELINE, folder=""):
    r = tok(d).post(d.url + folder + "createItem", params={"name": name}, data=xml.encode(),
                    headers={"Content-Type": "text/xml; charset=utf-8"})
    assert r.status_code == 200, r.text
    return r


def test_crumb_issuer_sets_session_cookie(jenkins_double):
    s = pw(jenkins_double)
    r = s.get(jenkins_double.url + "crumbIssuer/api/json")
    assert r.status_code == 200
    j = r.json()
    assert j["_class"] == "hudson.security.csrf.DefaultCrumbIssuer"
    assert j["crumbRequestField"] == "Jenkins-Crumb" and len(j["crumb"]) == 64
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("JSESSIONID.") and "Path=/" in cookie and "HttpOnly" in cookie


def test_password_post_needs_crumb_bound_to_session(jenkins_double):
    d = jenkins_double
    _create(d)
    s = pw(d)
    r = s.post(d.url + "job/app/description", data={"description": "x"})
    assert r.status_code == 403
    assert "No valid crumb was included in the request" in r.text
    assert r.reason == "No valid crumb was included in the request"
    crumb = s.get(d.url + "crumbIssuer/api/json").json()["crumb"]
    r = s.post(d.url + "job/app/description", data={"description": "x"}, headers={"Jenkins-Crumb": crumb})
    assert r.status_code == 204
    # the same crumb without the session cookie is rejected
    s2 = pw(d)
    r = s2.post(d.url + "job/app/description", data={"description": "y"}, headers={"Jenkins-Crumb": crumb})
    assert r.status_code == 403
    # crumb as a form field or a query parameter works too
    r = s.post(d.url + "job/app/description", data={"description": "z", "Jenkins-Crumb": crumb})
    assert r.status_code == 204
    r = s.post(d.url + "job/app/description", params={"Jenkins-Crumb": crumb, "description": "q"})
    assert r.status_code == 204


def test_token_post_skips_crumb_even_if_wrong(jenkins_double):
    d = jenkins_double
    _create(d)
    r = tok(d).post(d.url + "job/app/description", data={"description": "x"}, headers={"Jenkins-Crumb": "bogus"})
    assert r.status_code == 204


def test_anonymous_post_gets_crumb_403(jenkins_double):
    r = requests.post(jenkins_double.url + "createItem?name=x")
    assert r.status_code == 403 and "No valid crumb" in r.text


def test_invalidate_sessions_makes_crumb_stale(jenkins_double):
    d = jenkins_double
    _create(d)
    s = pw(d)
    crumb = s.get(d.url + "crumbIssuer/api/json").json()["crumb"]
    sess_before = s.get(d.url + "api/json").headers["X-Jenkins-Session"]
    d.set_faults(invalidate_sessions=True)
    r = s.post(d.url + "job/app/description", data={"description": "x"}, headers={"Jenkins-Crumb": crumb})
    assert r.status_code == 403
    assert s.get(d.url + "api/json").headers["X-Jenkins-Session"] != sess_before
    crumb = s.get(d.url + "crumbIssuer/api/json").json()["crumb"]
    r = s.post(d.url + "job/app/description", data={"description": "x"}, headers={"Jenkins-Crumb": crumb})
    assert r.status_code == 204


# -- start-up and faults ------------------------------------------------------------------

def test_startup_window_503_without_x_jenkins(jenkins_double_factory):
    d = jenkins_double_factory(startup_unavailable_s=1.0, token="t")
    r = requests.get(d.url + "api/json", auth=("admin", "t"))
    assert r.status_code == 503
    assert "Jenkins is getting ready to work" in r.text
    assert "X-Jenkins" not in r.headers
    assert r.headers["Cache-Control"] == "no-cache,no-store,must-revalidate"
    # every path, even with bad credentials or anonymous
    assert requests.get(d.url + "login").status_code == 503
    end = time.time() + 3
    while requests.get(d.url + "api/json", auth=("admin", "t")).status_code == 503 and time.time() < end:
        time.sleep(0.05)
    assert requests.get(d.url + "api/json", auth=("admin", "t")).status_code == 200


def test_fault_unavailable_window_and_clear(jenkins_double):
    d = jenkins_double
    s = tok(d)
    d.set_faults(unavailable_s=30)
    assert s.get(d.url + "api/json").status_code == 503
    d.set_faults()
    assert s.get(d.url + "api/json").status_code == 200


def test_fault_error_rate_and_latency_via_http_control(jenkins_double):
    d = jenkins_double
    s = tok(d)
    r = s.post(d.url + "__double__/faults", json={"error_rate": 1.0, "latency_ms": 30})
    assert r.status_code == 200
    t0 = time.time()
    r = s.get(d.url + "api/json")
    assert r.status_code == 500 and "Oops" in r.text and "Logging ID=" in r.text
    assert time.time() - t0 >= 0.03
    assert s.post(d.url + "__double__/faults", json={}).status_code == 200
    assert s.get(d.url + "api/json").status_code == 200


def test_fault_drop_connection_mid_response(jenkins_double):
    d = jenkins_double
    s = tok(d)
    d.set_faults(drop_rate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        s.get(d.url + "api/json")
    d.set_faults()
    assert s.get(d.url + "api/json").status_code == 200


def test_drop_happens_after_processing(jenkins_double):
    d = jenkins_double
    d.set_faults(drop_rate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        tok(d).post(d.url + "createItem", params={"name": "dropped"}, data=PIPELINE,
                    headers={"Content-Type": "text/xml"})
    d.set_faults()
    assert tok(d).get(d.url + "job/dropped/api/json").status_code == 200


# -- control API -----------------------------------------------------------------------------

def test_control_api_needs_credentials_and_is_unlisted(jenkins_double):
    d = jenkins_double
    assert requests.get(d.url + "__double__/requests").status_code == 403
    assert requests.get(d.url + "__double__/requests", auth=("admin", "bad")).status_code == 401
    s = tok(d)
    s.delete(d.url + "__double__/requests")
    s.get(d.url + "api/json?tree=jobs[name]")
    s.get(d.url + "job/missing/api/json")
    log = s.get(d.url + "__double__/requests").json()
    assert log == [{"method": "GET", "path": "/api/json?tree=jobs%5Bname%5D", "status": 200},
                   {"method": "GET", "path": "/job/missing/api/json", "status": 404}]
    assert d.requests() == log
    assert s.delete(d.url + "__double__/requests").status_code == 200
    assert d.requests() == []
    assert "__double__" not in s.get(d.url + "api/json?depth=2").text


def test_behaviour_via_http(jenkins_double):
    d = jenkins_double
    _create(d)
    s = tok(d)
    r = s.post(d.url + "__double__/behaviour",
               json={"job": "app", "result": "FAILURE", "duration_ms": 50, "log_lines": ["boom"]})
    assert r.status_code == 200
    s.post(d.url + "job/app/build")
    assert d.wait_idle(5)
    j = s.get(d.url + "job/app/1/api/json").json()
    assert j["result"] == "FAILURE"
    assert s.get(d.url + "job/app/1/consoleText").text == "Started by user admin\nboom\nFinished: FAILURE\n"
    assert s.get(d.url + "job/app/api/json").json()["color"] == "red"
    bad = s.post(d.url + "__double__/behaviour", json={"job": "app", "result": "MAYBE"})
    assert bad.status_code == 400


# -- CLI -------------------------------------------------------------------------------------

def test_cli_prints_ready_and_serves(tmp_path):
    env = dict(os.environ, DT_TOKEN="cli-token", DT_PW="cli-pw")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.Popen([sys.executable, "-m", "tests.jenkins_double", "--port", "0", "--user", "bob",
                          "--token-env", "DT_TOKEN", "--password-env", "DT_PW", "--quiet-period", "0"],
                         cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:") and line.endswith("/")
        url = line.split(" ", 1)[1]
        assert requests.get(url + "api/json", auth=("bob", "cli-token")).status_code == 200
        assert requests.get(url + "api/json", auth=("bob", "cli-pw")).status_code == 200
    finally:
        p.terminate()
        assert p.wait(10) == 0


def test_cli_with_fixed_port_and_token_flag():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.Popen([sys.executable, "-m", "tests.jenkins_double", "--port", str(port), "--user", "u",
                          "--token", "T", "--latency-ms", "1"], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == f"READY http://127.0.0.1:{port}/"
        assert requests.get(f"http://127.0.0.1:{port}/api/json", auth=("u", "T")).status_code == 200
    finally:
        p.send_signal(2)
        assert p.wait(10) == 0


def test_context_manager_and_loopback_only():
    with JenkinsDouble(token="t") as d:
        assert d.url.startswith("http://127.0.0.1:")
    with pytest.raises(ValueError):
        JenkinsDouble(host="0.0.0.0")


def test_control_faults_full_contract_and_get(jenkins_double):
    d = jenkins_double
    s = tok(d)
    body = {"latency_ms": 1, "unavailable_s": 0, "error_rate": 0, "drop_rate": 0, "invalidate_sessions": True}
    before = s.get(d.url + "api/json").headers["X-Jenkins-Session"]
    assert s.post(d.url + "__double__/faults", json=body).status_code == 200
    f = s.get(d.url + "__double__/faults").json()
    assert f["latency_ms"] == 1 and f["error_rate"] == 0
    assert s.get(d.url + "api/json").headers["X-Jenkins-Session"] != before
    assert s.post(d.url + "__double__/faults", data="not json").status_code == 400
    assert s.get(d.url + "__double__/nope").status_code == 404
    assert s.post(d.url + "__double__/behaviour", json={"executors": 3}).status_code == 200
    assert s.get(d.url + "computer/api/json").json()["totalExecutors"] == 3


def test_latin1_config_roundtrip(jenkins_double):
    d = jenkins_double
    xml = "<?xml version='1.0' encoding='ISO-8859-1'?><flow-definition><description>caf\u00e9</description></flow-definition>"
    r = tok(d).post(d.url + "createItem?name=l1", data=xml.encode("latin-1"), headers={"Content-Type": "application/xml"})
    assert r.status_code == 200
    assert tok(d).get(d.url + "job/l1/api/json").json()["description"] == "caf\u00e9"
    # XMLUtils.safeTransform re-encodes as UTF-8 and rewrites the declaration [core
    # ItemGroupMixIn.createProjectFromXML]
    assert tok(d).get(d.url + "job/l1/config.xml").content == (
        '<?xml version="1.0" encoding="UTF-8"?><flow-definition><description>caf\u00e9</description></flow-definition>'
    ).encode("utf-8")
    tok(d).post(d.url + "job/l1/disable")  # save(): re-serialized as UTF-8
    saved = tok(d).get(d.url + "job/l1/config.xml").content.decode("utf-8")
    assert saved.startswith("<?xml version='1.1' encoding='UTF-8'?>") and "caf\u00e9" in saved


def test_csrf_protection_disabled_option(jenkins_double_factory):
    import jenkins
    d = jenkins_double_factory(crumbs=False)
    s = pw(d)
    assert s.get(d.url + "crumbIssuer/api/json").status_code == 404
    assert s.get(d.url + "api/json").json()["useCrumbs"] is False
    r = s.post(d.url + "createItem?name=x", data=PIPELINE, headers={"Content-Type": "text/xml"})
    assert r.status_code == 200  # no CrumbFilter
    server = jenkins.Jenkins(d.url, username=d.user, password=d.password)
    server.create_job("y", PIPELINE)  # python-jenkins: crumbIssuer 404 -> no crumbs
    assert server.job_exists("y")
