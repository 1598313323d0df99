"""Fault injection (double only): under latency, a 503 window, injected 500s, dropped connections and
session invalidation, the toolkit's client either succeeds after retrying or raises the typed error —
and never repeats a non-idempotent request blindly (POSTs are counted in the double's request log)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jenkins_kit.jenkins import errors as jerr
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings
from tests.test_conformance_support import (  # noqa: F401 - fixture
    FAST,
    XML,
    Target,
    create_job,
    jenkins_target,
    pipeline_xml,
    wait_for,
)


def _client(d: Any, auth: str = "token", **kw: Any) -> JenkinsClient:
    env = {"JENKINS_URL": d.url, "JENKINS_USER_ID": d.user}
    if auth == "token":
        env["JENKINS_API_TOKEN"] = d.token
    else:
        env["JENKINS_PASSWORD"] = d.password
    return JenkinsClient(JenkinsSettings.resolve(env=env, **{**FAST, **kw}))


def _posts(d: Any, fragment: str) -> list[dict[str, Any]]:
    return [r for r in d.requests() if r["method"] == "POST" and fragment in r["path"]]


@pytest.fixture
def double(jenkins_target: Target) -> Any:
    return jenkins_target.need_double()


@pytest.fixture
def seeded(jenkins_double_factory: Any) -> Any:
    """A double with a fixed random seed, so injected faults fall the same way on every run."""
    return jenkins_double_factory(seed=20261127)


def test_latency_is_tolerated(double: Any) -> None:
    c = _client(double)
    create_job(c, "lat")
    double.set_faults(latency_ms=80)
    assert c.get_json(c.job_url_path("lat"), tree="name")["name"] == "lat"
    assert c.post(c.job_url_path("lat") + "build").status_code == 201


def test_latency_beyond_timeout_on_post_is_not_repeated(double: Any) -> None:
    c = _client(double, timeout=0.3)
    create_job(c, "slowpost")
    double.set_faults(latency_ms=600)
    double.clear_requests()
    with pytest.raises(jerr.JenkinsTimeoutError) as e:
        c.post(c.job_url_path("slowpost") + "build")
    assert e.value.may_have_been_applied is True and e.value.attempts == 1
    double.set_faults()
    # The server does act on it once its latency is over — which is why it is never re-sent blindly.
    wait_for(lambda: _posts(double, "/job/slowpost/build"), 5)
    time.sleep(0.7)
    assert len(_posts(double, "/job/slowpost/build")) == 1


def test_latency_beyond_timeout_on_get_is_retried_then_typed(double: Any) -> None:
    c = _client(double, timeout=0.2, retries=2)
    double.set_faults(latency_ms=500)
    double.clear_requests()
    with pytest.raises(jerr.JenkinsTimeoutError) as e:
        c.get_json("", tree="mode")
    assert e.value.attempts == 3


def test_503_window_get_and_post_wait_and_create_happens_once(double: Any) -> None:
    c = _client(double)
    double.set_faults(unavailable_s=1.0)
    double.clear_requests()
    assert c.whoami()["name"] == double.user
    double.set_faults(unavailable_s=0.8)
    create_job(c, "after503")
    posts = _posts(double, "/createItem")
    assert [p["status"] for p in posts if p["status"] != 503] == [200]
    assert any(p["status"] == 503 for p in posts)
    assert c.item_exists("after503")


def test_503_window_longer_than_wait_is_unavailable_error(double: Any) -> None:
    c = _client(double, unavailable_wait=0.3)
    double.set_faults(unavailable_s=5)
    with pytest.raises(jerr.UnavailableError) as e:
        c.get_json("")
    assert e.value.status == 503 and e.value.attempts >= 2
    with pytest.raises(jerr.UnavailableError) as e2:
        c.post("createItem", params={"name": "never"}, data=pipeline_xml(), headers=XML)
    assert e2.value.may_have_been_applied is False  # the start-up page says nothing was processed


def test_error_rate_gets_recover_and_posts_are_never_repeated(seeded: Any) -> None:
    d = seeded
    c = _client(d)
    create_job(c, "flaky")
    d.set_faults(error_rate=0.3)
    d.clear_requests()
    for _ in range(20):  # GETs: retried through the injected 500s
        assert c.get_json(c.job_url_path("flaky"), tree="name")["name"] == "flaky"
    gets = [r for r in d.requests() if r["method"] == "GET"]
    assert any(r["status"] == 500 for r in gets)
    outcomes = {"ok": 0, "failed": 0}
    for _ in range(20):  # non-idempotent POSTs: one attempt each, a typed error when it fails
        try:
            c.post(c.job_url_path("flaky") + "build", params={"delay": "0sec"})
            outcomes["ok"] += 1
        except jerr.ServerError as e:
            assert e.status == 500 and e.attempts == 1 and e.may_have_been_applied is True
            assert "may have been applied" in e.message
            outcomes["failed"] += 1
    assert outcomes["failed"] > 0 and outcomes["ok"] > 0
    assert len(_posts(d, "/job/flaky/build")) == 20
    # idempotent POSTs (config.xml update) are retried to success
    for i in range(5):
        assert c.post_xml(c.job_url_path("flaky") + "config.xml", pipeline_xml(f"v{i}"), idempotent=True).status_code == 200
    d.set_faults()
    assert "v4" in c.get_text(c.job_url_path("flaky") + "config.xml")


def test_drop_rate_gets_recover_and_dropped_creates_are_checked_not_resent(seeded: Any) -> None:
    d = seeded
    c = _client(d)
    d.set_faults(drop_rate=0.3)
    d.clear_requests()
    for _ in range(20):
        assert c.whoami()["name"] == d.user
    assert d.stats["dropped"] > 0
    created, unsure = [], []
    for i in range(15):
        name = f"drop{i}"
        try:
            c.post("createItem", params={"name": name}, data=pipeline_xml(), headers=XML)
            created.append(name)
        except jerr.JenkinsConnectionError as e:
            assert e.may_have_been_applied is True and e.attempts == 1
            unsure.append(name)
    assert unsure, "the seed should drop at least one create"
    # every create was sent exactly once
    for i in range(15):
        assert [p["path"] for p in _posts(d, "/createItem")].count(f"/createItem?name=drop{i}") == 1
    # the caller's move: look before trying again (a dropped answer after Jenkins acted)
    d.set_faults()
    for name in unsure:
        assert c.item_exists(name)


def test_dropped_delete_retry_counts_404_as_done(seeded: Any) -> None:
    d = seeded
    c = _client(d)
    for i in range(6):
        create_job(c, f"del{i}")
    d.set_faults(drop_rate=0.5)
    for i in range(6):
        r = c.delete(c.job_url_path(f"del{i}"))
        assert r.status_code in (204, 404)
    d.set_faults()
    assert not any(c.item_exists(f"del{i}") for i in range(6))


def test_invalidated_sessions_password_client_recovers(double: Any) -> None:
    c = _client(double, auth="password")
    create_job(c, "sess")
    for _ in range(3):
        double.set_faults(invalidate_sessions=True)
        double.clear_requests()
        assert c.post(c.job_url_path("sess") + "disable").status_code == 302
        assert [p["status"] for p in _posts(double, "/disable")] == [403, 302]
        c.post(c.job_url_path("sess") + "enable")
    # token clients do not care
    t = _client(double)
    double.set_faults(invalidate_sessions=True)
    double.clear_requests()
    assert t.post(t.job_url_path("sess") + "disable").status_code == 302
    assert [p["status"] for p in _posts(double, "/disable")] == [302]


def test_all_faults_at_once_non_idempotent_posts_sent_at_most_once(seeded: Any) -> None:
    d = seeded
    c = _client(d, auth="password", timeout=2.0)
    create_job(c, "storm")
    d.set_faults(latency_ms=5, error_rate=0.15, drop_rate=0.15, invalidate_sessions=True)
    d.clear_requests()
    results: dict[str, int] = {}
    for _ in range(25):
        try:
            c.post(c.job_url_path("storm") + "build", params={"delay": "0sec"})
            results["ok"] = results.get("ok", 0) + 1
        except jerr.JenkinsError as e:
            assert isinstance(e, (jerr.ServerError, jerr.JenkinsConnectionError)), e
            assert e.may_have_been_applied is True
            results[type(e).__name__] = results.get(type(e).__name__, 0) + 1
    posts = _posts(d, "/job/storm/build")
    # A crumb refusal (403) is the only answer that leads to a second send of the same request.
    refused = [p for p in posts if p["status"] == 403]
    assert len(posts) - len(refused) == 25
    assert results.get("ok", 0) > 0
    d.set_faults()
    d.wait_idle(15)
    builds = c.get_json(c.job_url_path("storm"), tree="builds[number]")["builds"]
    assert builds  # the triggers that got through became builds (coalescing may merge a few)


def test_one_password_client_shared_by_threads_survives_session_loss(double: Any) -> None:
    """Job sync shares one client across workers: a stale crumb is refreshed once, not once per thread."""
    from concurrent.futures import ThreadPoolExecutor

    c = _client(double, auth="password")
    names = [f"t{i}" for i in range(8)]
    for n in names:
        create_job(c, n)
    double.set_faults(invalidate_sessions=True)
    double.clear_requests()

    def work(n: str) -> int:
        return c.post(c.job_url_path(n) + "disable").status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, names)) == [302] * 8
    crumb_gets = [r for r in double.requests() if r["method"] == "GET" and "crumbIssuer" in r["path"]]
    assert 1 <= len(crumb_gets) <= 2
    assert len([p for p in _posts(double, "/disable") if p["status"] == 302]) == 8


def test_no_secrets_in_logs_or_errors_under_faults(seeded: Any, caplog: pytest.LogCaptureFixture,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import base64
    import logging

    d = seeded
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for auth in ("token", "password"):
            c = _client(d, auth=auth, timeout=0.5, retries=1)
            create_job(c, f"sec-{auth}")
            d.set_faults(error_rate=0.3, drop_rate=0.3, invalidate_sessions=True)
            for i in range(15):
                for call in (lambda: c.post(c.job_url_path(f"sec-{auth}") + "build", params={"token": d.token}),
                             lambda: c.get_json(f"job/missing-{i}/job/x/"),
                             lambda: c.post("createItem", params={"name": "a?b"}, data=pipeline_xml(), headers=XML)):
                    try:
                        call()
                    except jerr.JenkinsError as e:
                        texts += [str(e), repr(e), repr(e.__dict__), repr(e.args)]
            d.set_faults()
    out = capsys.readouterr()
    blob = "\n".join(texts) + caplog.text + out.out + out.err
    assert texts
    for secret in (d.token, d.password, base64.b64encode(f"{d.user}:{d.token}".encode()).decode(),
                   base64.b64encode(f"{d.user}:{d.password}".encode()).decode()):
        assert secret not in blob
