"""The Python API (jenkins_kit.jenkins.builds) against the Jenkins double over HTTP."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest

from jenkins_kit.jenkins import builds as B
from jenkins_kit.jenkins.builds import (
    BuildTimeout,
    JobNotBuildable,
    JobNotFound,
    QueueItemCancelled,
    get_build,
    trigger,
)
from tests.test_builds_support import (
    client_for,
    create_job,
    job_xml,
    stripped,
    wait_for,
)


@pytest.fixture
def jd(jenkins_double):
    c = client_for(jenkins_double)
    create_job(c, "app", job_xml())
    create_job(c, "param", job_xml([("String", "ID", ""), ("Boolean", "FLAG", False)]))
    jenkins_double.client = c
    return jenkins_double


class Timed:
    """Wrap a client's HTTP layer to record (time, method, path) of each request."""

    def __init__(self, client):
        self.calls: list[tuple[float, str, str]] = []
        orig = client._request

        def wrap(method, path, *a, **k):
            self.calls.append((time.time(), method, path))
            return orig(method, path, *a, **k)

        client._request = wrap


def test_trigger_wait_iterate_log(jd):
    jd.set_behaviour("app", result="UNSTABLE", duration_ms=600, log_lines=[f"a{i}" for i in range(40)])
    q = trigger(jd.client, "app")
    b = q.wait_for_start(timeout=10)
    assert (b.number, q.resolved_by) == (1, "queue")
    data = b"".join(ch.data for ch in b.iter_log())
    res = b.wait()
    assert (res.result, res.exit_code, res.number) == ("UNSTABLE", 1, 1)
    assert data == b.console_text()


def test_expired_queue_item_is_resolved_by_queue_id(jenkins_double_factory):
    d = jenkins_double_factory(left_item_ttl=0.3, default_duration_ms=100)
    c = client_for(d)
    create_job(c, "param", job_xml([("String", "ID", "")]))
    qa = trigger(c, "param", {"ID": "a"})
    qb = trigger(c, "param", {"ID": "b"})  # a later build, so lastBuild would be wrong for qa
    assert wait_for(lambda: d.wait_idle(0.1) or None, timeout=10)
    time.sleep(0.5)  # both LeftItems have expired now
    d.clear_requests()
    ba = qa.wait_for_start(timeout=10)
    assert qa.resolved_by == "queueId-scan"
    assert {p.name: p.value for p in d.job("param").builds[ba.number].params}["ID"] == "a"
    bb = qb.wait_for_start(timeout=10)
    assert bb.number != ba.number
    assert {p.name: p.value for p in d.job("param").builds[bb.number].params}["ID"] == "b"
    reqs = d.requests()
    assert any(r["status"] == 404 and "/queue/item/" in r["path"] for r in reqs)
    assert stripped(reqs, "tree=builds")
    assert not stripped(reqs, "lastBuild")


def test_item_expiring_while_followed(jenkins_double_factory):
    # TTL 0: the LeftItem is gone the moment it leaves the queue, before we can read `executable`
    d = jenkins_double_factory(left_item_ttl=0.0, default_duration_ms=200)
    c = client_for(d)
    create_job(c, "app", job_xml())
    res = trigger(c, "app").wait(timeout=10)
    assert res.result == "SUCCESS" and res.number == 1


def test_parameterized_merge_is_reported(jd):
    q1 = trigger(jd.client, "param", {"ID": "same"}, delay=30)
    q2 = trigger(jd.client, "param", {"ID": "same"}, delay=30)
    q3 = trigger(jd.client, "param", {"ID": "other"}, delay=30)
    assert q1.merged is False and q3.merged is False
    assert q2.merged is True and q2.queue_id == q1.queue_id and "303" in q2.merged_reason
    assert q3.queue_id != q1.queue_id
    assert q2.queued_event().to_json()["merged"] is True


def test_unparameterized_merge_is_reported(jd):
    q1 = trigger(jd.client, "app", delay=30)
    q2 = trigger(jd.client, "app", delay=30)
    assert q1.merged is False
    assert q2.merged is True and q2.queue_id == q1.queue_id


def test_cancelled_queue_item(jd):
    jd.set_executors(0)
    q = trigger(jd.client, "app")
    assert q.abort() == f"cancelled queue item {q.queue_id}"
    with pytest.raises(QueueItemCancelled) as ei:
        q.wait_for_start(timeout=5)
    assert ei.value.exit_code == 12


def test_abort_after_start_stops_build(jd):
    jd.set_behaviour("app", duration_ms=20000)
    q = trigger(jd.client, "app")
    wait_for(lambda: jd.job("app").builds)
    # the handle has not seen the build yet: cancel fails (LeftItem -> 500) and it stops the build
    assert q.abort().startswith("stop requested for app #1")
    assert wait_for(lambda: get_build(jd.client, "app", 1).result == "ABORTED", timeout=5)


def test_disabled_between_check_and_trigger_gives_409_error(jd, monkeypatch):
    create_job(jd.client, "off", job_xml(disabled=True))
    real = B.job_info
    monkeypatch.setattr(B, "job_info", lambda c, j: {**real(c, j), "buildable": True, "color": "blue"})
    with pytest.raises(JobNotBuildable) as ei:
        trigger(jd.client, "off")
    assert ei.value.exit_code == 19
    assert stripped(jd.requests(), "/job/off/build", "POST")[0]["status"] == 409


def test_missing_job(jd):
    with pytest.raises(JobNotFound) as ei:
        trigger(jd.client, "nope")
    assert ei.value.exit_code == 13


def test_start_timeout(jd):
    jd.set_executors(0)
    q = trigger(jd.client, "app")
    t = time.monotonic()
    with pytest.raises(BuildTimeout) as ei:
        q.wait_for_start(timeout=0.5)
    assert time.monotonic() - t < 1.5 and ei.value.exit_code == 10


def test_20_concurrent_api_triggers(jd):
    jd.set_executors(20)
    jd.set_behaviour("param", duration_ms=500)

    def one(i):
        q = trigger(jd.client, "param", {"ID": f"t{i}"})
        return i, q.wait(timeout=60)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    assert sorted(r.number for _, r in results) == list(range(1, 21))
    for i, r in results:
        assert {p.name: p.value for p in jd.job("param").builds[r.number].params}["ID"] == f"t{i}"


def test_long_log_many_chunks_byte_exact(jd):
    lines = [f"{i:06d} " + ("ü€" * (i % 11)) + ("y" * (i % 97)) for i in range(5000)]
    jd.set_behaviour("app", duration_ms=2500, log_lines=lines)
    b = trigger(jd.client, "app").wait_for_start(timeout=10)
    chunks = list(b.iter_log())
    assert len(chunks) >= 5
    for prev, nxt in pairwise(chunks):
        assert nxt.start == prev.end  # the cursor is X-Text-Size, passed back as is
    streamed = b"".join(c.data for c in chunks)
    assert streamed == b.console_text()
    assert streamed.endswith(b"Finished: SUCCESS\n")
    # X-Text-Size counts hidden console-note bytes: it is larger than what the body carries
    assert chunks[-1].end > len(streamed)


def test_quiet_log_polls_at_most_once_per_second(jd):
    jd.set_behaviour("app", duration_ms=5000, log_lines=[])
    t = Timed(jd.client)
    res = trigger(jd.client, "app").wait(timeout=20, on_log=lambda b: None)
    assert res.result == "SUCCESS"
    polls = [c[0] for c in t.calls if "progressiveText" in c[2]]
    gaps = [b - a for a, b in pairwise(polls)]
    # first line ("Started by"), then quiet: 0.1 after data, 0.25, 0.5, then 1 s steps
    assert gaps[0] < 0.2 and 0.2 < gaps[1] < 0.4 and 0.45 < gaps[2] < 0.7, gaps
    assert all(g >= 0.95 for g in gaps[3:-1]), gaps
    assert len(polls) <= 5 + 4  # ~1 per second of a 5 s build, plus the first back-off steps


# The 0.5 s target itself is measured by bench/build_follow.py (speed targets live in benchmarks);
# here the bound only has to catch a follower that waits for a whole back-off cycle or more.
END_SLACK_S = 1.5


def test_finish_to_return_delay(jd):
    # A build that writes output until its end: the end is seen within one active poll interval.
    jd.set_behaviour("app", duration_ms=2000, log_lines=[f"busy {i}" for i in range(100)])
    q = trigger(jd.client, "app")
    q.wait(timeout=20, on_log=lambda b: None)
    done = time.time()
    info = q.build.info()
    end = (info["timestamp"] + info["duration"]) / 1000.0
    assert 0 <= done - end < END_SLACK_S

    # A silent build whose duration is known from history: one poll is placed just after the
    # expected end, so the 1 s quiet back-off does not delay the exit.
    jd.set_behaviour("app", duration_ms=3300, log_lines=[])
    trigger(jd.client, "app").wait(timeout=20)  # history: estimatedDuration = 3300 ms
    for follow_log in (True, False):
        q = trigger(jd.client, "app")
        q.wait(timeout=20, on_log=(lambda b: None) if follow_log else None)
        done = time.time()
        info = q.build.info()
        end = (info["timestamp"] + info["duration"]) / 1000.0
        assert 0 <= done - end < END_SLACK_S, (follow_log, done - end)


def test_follow_survives_injected_500s_and_dropped_connections(jd):
    # GETs are retried by the client; the cursor makes a repeated progressiveText read harmless
    lines = [f"flaky {i} " + "z" * (i % 40) for i in range(1500)]
    jd.set_behaviour("app", duration_ms=2000, log_lines=lines)
    q = trigger(jd.client, "app")
    jd.set_faults(error_rate=0.15, drop_rate=0.05, seed=20261129)
    got: list[bytes] = []
    res = q.wait(timeout=60, on_log=got.append)
    jd.set_faults()
    assert res.result == "SUCCESS"
    assert b"".join(got) == q.build.console_text()
    assert any(r["status"] == 500 for r in jd.requests())
