"""Conformance: authentication, permissions, crumbs, whoAmI and version (jenkins-remote-api.md §1, §2, §8),
through the toolkit's client and through python-jenkins, against the double and (optionally) a live Jenkins."""

from __future__ import annotations

import jenkins as pyjenkins
import pytest
import requests

from jenkins_kit.errors import ExitCode
from jenkins_kit.jenkins import errors as jerr
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings
from tests.test_conformance_support import (
    FAST,
    Target,
    create_job,
    jenkins_target,
    sandbox,
)


def test_whoami_and_version(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    me = c.whoami()
    assert me["name"] == jenkins_target.user
    assert me["anonymous"] is False and me["authenticated"] is True
    assert me["_class"] == "hudson.security.WhoAmI"
    v = c.version()
    assert v and v[0].isdigit()
    # python-jenkins sees the same identity through /me/api/json
    pj = jenkins_target.pyj()
    assert pj.get_whoami()["id"] == jenkins_target.user


def test_root_api_headers(jenkins_target: Target) -> None:
    c = jenkins_target.client()
    r = c.get("api/json")
    assert r.headers["X-Jenkins"] == c.version()
    assert len(r.headers["X-Jenkins-Session"]) == 8
    assert "X-Hudson" not in r.headers
    assert r.headers["Content-Type"].lower().startswith("application/json")
    data = r.json()
    assert data["_class"] == "hudson.model.Hudson" and data["useCrumbs"] is True


def test_wrong_token_is_401_authentication_error(jenkins_target: Target) -> None:
    s = jenkins_target.settings().with_options(secret=type(jenkins_target.settings().secret)("not-the-token-123", "test"))
    c = JenkinsClient(s)
    with pytest.raises(jerr.AuthenticationError) as e:
        c.whoami()
    assert e.value.status == 401
    assert e.value.headers.get("WWW-Authenticate") == 'Basic realm="Jenkins"'
    assert e.value.exit_code == ExitCode.AUTH
    assert "JENKINS_API_TOKEN" in (e.value.hint or "")
    assert "not-the-token-123" not in str(e.value)
    # python-jenkins hides the difference between 401/403/500 behind one JenkinsException.
    pj = pyjenkins.Jenkins(jenkins_target.url, username=jenkins_target.user, password="not-the-token-123", timeout=10)
    with pytest.raises(pyjenkins.JenkinsException, match=r"\[401\]"):
        pj.get_info()


def test_anonymous_gets_403_login_page_with_permission_headers(jenkins_target: Target) -> None:
    r = requests.get(jenkins_target.url + "api/json", timeout=10)
    assert r.status_code == 403
    assert r.headers.get("X-You-Are-Authenticated-As") == "anonymous"
    assert r.headers.get("X-Required-Permission") == "hudson.model.Hudson.Read"
    assert "Authentication required" in r.text
    assert "login?from=%2Fapi%2Fjson" in r.text
    assert "WWW-Authenticate" not in r.headers  # Jenkins never challenges anonymous requests
    # whoAmI is always readable
    w = requests.get(jenkins_target.url + "whoAmI/api/json", timeout=10).json()
    assert w["anonymous"] is True and w["name"] == "anonymous"


def test_permission_denied_names_the_permission(jenkins_target: Target) -> None:
    d = jenkins_target.need_double()
    d.add_user("reader", token="reader-token-0123456789")
    s = JenkinsSettings.resolve(env={"JENKINS_URL": d.url, "JENKINS_USER_ID": "reader", "JENKINS_API_TOKEN": "reader-token-0123456789"}, **FAST)
    c = JenkinsClient(s)
    assert c.whoami()["name"] == "reader"
    with pytest.raises(jerr.PermissionDeniedError) as e:
        c.get_json("pluginManager/", depth=1)
    assert e.value.status == 403
    assert e.value.required_permission == "hudson.model.Hudson.SystemRead"
    assert e.value.authenticated_as == "reader"
    assert "Overall/SystemRead" in e.value.message and "reader" in (e.value.hint or "")
    assert e.value.exit_code == ExitCode.AUTH
    with pytest.raises(jerr.PermissionDeniedError) as e2:
        c.post("scriptText", data={"script": "println 1"})
    assert "Administer" in (e2.value.required_permission or "")
    # Queue.doCancelItem without Item/Cancel: HttpResponses.error(422, ...) -> Oops page, no message
    # [core Queue.java doCancelItem]; jenkins-kit names the item and the permission
    d.add_user("reader2", token="reader2-token-0123456789", role="reader")
    admin = JenkinsClient(JenkinsSettings.resolve(env={"JENKINS_URL": d.url, "JENKINS_USER_ID": d.user,
                                                       "JENKINS_API_TOKEN": d.token}, **FAST))
    admin.post_xml("createItem", "<flow-definition/>", params={"name": "q422"})
    loc = admin.post("job/q422/build", params={"delay": "600sec"}).headers["Location"]
    qid = loc.rstrip("/").rsplit("/", 1)[1]
    ro = JenkinsClient(JenkinsSettings.resolve(env={"JENKINS_URL": d.url, "JENKINS_USER_ID": "reader2",
                                                    "JENKINS_API_TOKEN": "reader2-token-0123456789"}, **FAST))
    with pytest.raises(jerr.PermissionDeniedError) as e3:
        ro.post("queue/cancelItem", params={"id": qid})
    assert e3.value.status == 422 and f"queue item {qid} is not cancellable" in e3.value.message
    assert e3.value.required_permission == "hudson.model.Item.Cancel"


# ---------------------------------------------------------------- crumbs
def test_token_auth_needs_no_crumb(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    if jenkins_target.is_double:
        jenkins_target.clear_log()
    create_job(c, f"{sandbox}/app")
    c.post(c.job_url_path(f"{sandbox}/app") + "disable")
    if jenkins_target.is_double:
        assert jenkins_target.count("GET", "/crumbIssuer/") == 0
        assert jenkins_target.count("POST", "/", 403) == 0


def test_password_auth_post_without_crumb_is_refused(jenkins_target: Target) -> None:
    pw = jenkins_target.need_password()
    r = requests.post(jenkins_target.url + "createItem", params={"name": "never"}, data="<flow-definition/>",
                      headers={"Content-Type": "text/xml"}, auth=(jenkins_target.user, pw), timeout=10)
    assert r.status_code == 403
    assert "No valid crumb was included in the request" in r.text


def test_crumb_is_bound_to_the_session_cookie(jenkins_target: Target) -> None:
    pw = jenkins_target.need_password()
    s = requests.Session()
    s.auth = (jenkins_target.user, pw)
    r = s.get(jenkins_target.url + "crumbIssuer/api/json", timeout=10)
    crumb = r.json()
    assert crumb["crumbRequestField"] == "Jenkins-Crumb"
    assert any(c.name.startswith("JSESSIONID.") for c in s.cookies)
    hdr = {crumb["crumbRequestField"]: crumb["crumb"]}
    # Without the session cookie the crumb is worthless.
    r2 = requests.post(jenkins_target.url + "quietDown", headers=hdr, auth=s.auth, timeout=10, allow_redirects=False)
    assert r2.status_code == 403 and "No valid crumb" in r2.text
    r3 = s.post(jenkins_target.url + "cancelQuietDown", headers=hdr, timeout=10, allow_redirects=False)
    assert r3.status_code == 302


def test_password_client_fetches_crumb_once_and_keeps_session(jenkins_target: Target, sandbox: str) -> None:
    jenkins_target.need_password()
    c = jenkins_target.client("password")
    if jenkins_target.is_double:
        jenkins_target.clear_log()
    create_job(c, f"{sandbox}/p1")
    for verb in ("disable", "enable", "disable"):
        assert c.post(c.job_url_path(f"{sandbox}/p1") + verb).status_code == 302
    if jenkins_target.is_double:
        assert jenkins_target.count("GET", "/crumbIssuer/") == 1
        assert jenkins_target.count("POST", "/", 403) == 0


def test_stale_crumb_refreshed_once_but_python_jenkins_stays_broken(jenkins_target: Target, sandbox: str) -> None:
    """python-jenkins caches its first crumb forever (§8.1): after a restart/session loss every POST fails.
    The toolkit's client fetches a fresh crumb once on 'No valid crumb' and carries on."""
    d = jenkins_target.need_double()
    jenkins_target.need_password()
    name = f"{sandbox}/q1"
    create_job(jenkins_target.client(), name)

    pj = jenkins_target.pyj("password")
    pj.disable_job(name)  # fetches and caches a crumb, keeps the session cookie
    c = jenkins_target.client("password")
    c.post(c.job_url_path(name) + "enable")

    d.set_faults(invalidate_sessions=True)  # as after a restart: sessions gone, new cookie name, new salt
    jenkins_target.clear_log()
    for _ in range(2):
        with pytest.raises(pyjenkins.JenkinsException, match=r"\[403\]"):
            pj.enable_job(name)
    assert jenkins_target.count("GET", "/crumbIssuer/") == 0  # python-jenkins never asks again

    jenkins_target.clear_log()
    assert c.post(c.job_url_path(name) + "disable").status_code == 302
    assert c.post(c.job_url_path(name) + "enable").status_code == 302
    assert jenkins_target.count("GET", "/crumbIssuer/") == 1
    assert jenkins_target.count("POST", "/disable", 403) == 1
    assert jenkins_target.count("POST", "/disable", 302) == 1
    assert jenkins_target.count("POST", "/enable") == 1


def test_token_client_handles_an_unexpected_crumb_refusal(jenkins_target: Target) -> None:
    """If something (a proxy, an old Jenkins) demands a crumb from a token client, it fetches one once."""
    d = jenkins_target.need_double()
    d.add_user("pwonly", password="pwonly-password-1", token=None, admin=True)
    # A 'token' client whose secret is really a password: Jenkins treats it as password auth and wants a crumb.
    s = JenkinsSettings.resolve(env={"JENKINS_URL": d.url, "JENKINS_USER_ID": "pwonly", "JENKINS_API_TOKEN": "pwonly-password-1"}, **FAST)
    c = JenkinsClient(s)
    jenkins_target.clear_log()
    assert c.post("quietDown").status_code == 302
    assert c.post("cancelQuietDown").status_code == 302
    assert jenkins_target.count("POST", "/quietDown", 403) == 1
    assert jenkins_target.count("GET", "/crumbIssuer/") == 1
    assert jenkins_target.count("POST", "/cancelQuietDown", 403) == 0


# ---------------------------------------------------------------- python-jenkins get_version quirk
def test_python_jenkins_get_version_sends_no_credentials(jenkins_target: Target) -> None:
    """§8.2: get_version() skips auth; as the first call on a secured Jenkins it fails. Ours authenticates."""
    pj = jenkins_target.pyj()
    with pytest.raises(pyjenkins.BadHTTPException):
        pj.get_version()
    pj.get_info()  # resolves auth as a side effect...
    assert pj.get_version() == jenkins_target.client().version()  # ...after which it works
    fresh = jenkins_target.client()
    if jenkins_target.is_double:
        jenkins_target.clear_log()
    assert fresh.version()
    if jenkins_target.is_double:
        assert [r["status"] for r in jenkins_target.requests_log()] == [200]
