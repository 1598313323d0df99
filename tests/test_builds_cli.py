"""`jenkins-kit build|logs|status|stop` as a subprocess against the Jenkins double over HTTP."""

from __future__ import annotations

import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.test_builds_support import (
    client_for,
    create_job,
    job_xml,
    json_lines,
    run_cli,
    start_cli,
    stripped,
    wait_for,
)

RESULT_CODES = [("SUCCESS", 0), ("UNSTABLE", 1), ("FAILURE", 2), ("NOT_BUILT", 3), ("ABORTED", 4)]


@pytest.fixture
def jd(jenkins_double):
    c = client_for(jenkins_double)
    create_job(c, "team/app", job_xml())
    create_job(c, "param", job_xml([("String", "ID", ""), ("Choice", "ENV", ["dev", "prod"]), ("Password", "SECRET", "dflt")]))
    jenkins_double.client = c
    return jenkins_double


def _console(jd, job_path: str, n: int) -> bytes:
    return jd.client.get(f"{jd.client.job_url_path(job_path)}{n}/consoleText").content


def _build_info(jd, job_path: str, n: int) -> dict:
    return jd.client.get_json(f"{jd.client.job_url_path(job_path)}{n}/api/json")


# ------------------------------------------------------------------------------------------ exit codes


@pytest.mark.parametrize("result,code", RESULT_CODES)
def test_each_result_maps_to_its_exit_code(jd, result, code):
    jd.set_behaviour("team/app", result=result, duration_ms=150)
    p = run_cli(jd, "build", "team/app", "-s")
    assert p.returncode == code, p.stderr.decode()
    assert f"Finished team/app #1: {result}" in p.stderr.decode()
    f = run_cli(jd, "build", "team/app", "-f", "--json")
    assert f.returncode == code
    events = [e for e in json_lines(f.stdout) if e["event"] != "waiting"]  # "waiting" only if it had to
    assert [e["event"] for e in events] == ["queued", "started", "finished"]
    assert events[-1]["result"] == result and events[-1]["exit_code"] == code and events[1]["number"] == 2


def test_without_wait_returns_once_queued(jd):
    jd.set_executors(0)
    p = run_cli(jd, "build", "team/app")
    assert p.returncode == 0
    assert p.stdout.decode().strip().endswith("/queue/item/1/")
    assert "Queued team/app" in p.stderr.decode()


def test_wait_start_prints_build_url(jd):
    jd.set_behaviour("team/app", duration_ms=3000)
    p = run_cli(jd, "build", "team/app", "-w")
    assert p.returncode == 0
    assert p.stdout.decode().strip().endswith("/job/team/job/app/1/")
    assert _build_info(jd, "team/app", 1)["building"] is True


def test_queued_then_cancelled_exits_12(jd):
    jd.set_executors(0)
    proc = start_cli(jd, "build", "team/app", "-s")
    item = wait_for(lambda: (jd.client.get_json("queue/api/json").get("items") or [None])[0])
    jd.client.post("queue/cancelItem", params={"id": str(item["id"])})
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 12, err.decode()
    assert "was cancelled before the build started" in err.decode()


def test_disabled_job_exits_19(jd):
    create_job(jd.client, "off", job_xml(disabled=True))
    p = run_cli(jd, "build", "off", "-s")
    assert p.returncode == 19
    assert "job off is disabled" in p.stderr.decode()
    assert not stripped(jd.requests(), "/job/off/build", "POST")  # refused before triggering


def test_missing_job_exits_13(jd):
    p = run_cli(jd, "build", "team/nope", "-s")
    assert p.returncode == 13
    assert "job team/nope not found" in p.stderr.decode()
    p = run_cli(jd, "build", "ghost/app", "-s", "--json")
    assert p.returncode == 13
    assert json_lines(p.stdout)[-1]["event"] == "error"


def test_bad_credentials_exit_14(jd):
    p = run_cli(jd, "build", "team/app", "-s", token="11" + "0" * 32)
    assert p.returncode == 14
    assert "401" in p.stderr.decode() and "did not accept the credentials" in p.stderr.decode()
    assert "0" * 32 not in p.stderr.decode()


def test_503_window_is_ridden_out(jd):
    # Jenkins shows its start-up page (503) for 1.5 s while we follow: the client waits it out
    jd.set_behaviour("team/app", duration_ms=3000, log_lines=[f"l{i}" for i in range(30)])
    proc = start_cli(jd, "build", "team/app", "-s", "-v")
    wait_for(lambda: stripped(jd.requests(), "progressiveText"), timeout=15)
    jd.set_faults(unavailable_s=1.5)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert any(r["status"] == 503 for r in jd.requests())
    assert out == _console(jd, "team/app", 1)


def test_503_beyond_unavailable_wait_exits_15(jd):
    jd.set_faults(unavailable_s=30)
    t = time.monotonic()
    p = run_cli(jd, "build", "team/app", "-s", "--unavailable-wait", "1")
    assert p.returncode == 15, p.stderr.decode()
    assert "503" in p.stderr.decode() and "getting ready" in p.stderr.decode()
    assert time.monotonic() - t < 15


def test_connection_refused_exits_17(jd):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env_url = f"http://127.0.0.1:{port}/"

    class Fake:
        url, user, token = env_url, jd.user, jd.token

    p = run_cli(Fake, "build", "team/app", "-s")
    assert p.returncode == 17


def test_usage_errors_exit_16_not_2(jd):
    assert run_cli(jd, "build").returncode == 16
    assert run_cli(jd, "build", "team/app", "--bogus").returncode == 16
    assert run_cli(jd, "build", "team/app", "--timeout", "-1").returncode == 16


# ------------------------------------------------------------------------------------------ parameters


def test_parameter_errors_before_trigger(jd):
    p = run_cli(jd, "build", "param", "-p", "Id=1", "-p", "ENV=prd", "-s")
    assert p.returncode == 16
    err = p.stderr.decode()
    assert "did you mean 'ID'" in err and "did you mean 'prod'" in err
    assert not stripped(jd.requests(), "buildWithParameters")
    p = run_cli(jd, "build", "team/app", "-p", "X=1")
    assert p.returncode == 16 and "not parameterized" in p.stderr.decode()


def test_password_from_file_never_shown(jd, tmp_path):
    secret = "s3cr3t-Value-42"
    f = tmp_path / "secret.txt"
    f.write_text(secret + "\n")
    p = run_cli(jd, "build", "param", "-p", "ID=7", "-p", f"SECRET=@{f}", "-s", "-v", "--json")
    assert p.returncode == 0, p.stderr.decode()
    events = json_lines(p.stdout)
    assert events[0]["parameters"] == {"ID": "7", "ENV": "dev", "SECRET": "********"}
    assert secret.encode() not in p.stdout + p.stderr
    assert all(secret not in r["path"] for r in jd.requests())  # sent in the POST body, not the URL
    build = jd.job("param").builds[1]
    assert {pv.name: pv.value for pv in build.params}["SECRET"] == secret
    st = run_cli(jd, "status", "param", "1", "--json")
    assert secret.encode() not in st.stdout and b'"SECRET": "********"' in st.stdout


# ------------------------------------------------------------------------------------------ concurrency


def test_20_concurrent_triggers_each_follow_their_own_build(jd):
    jd.set_executors(20)
    jd.set_behaviour("param", duration_ms=1200)

    def one(i: int):
        return i, run_cli(jd, "build", "param", "-p", f"ID=run-{i}", "-s", "--json", timeout=90)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    numbers = {}
    for i, p in results:
        assert p.returncode == 0, p.stderr.decode()
        ev = {e["event"]: e for e in json_lines(p.stdout)}
        assert ev["queued"]["merged"] is False
        assert ev["started"]["number"] == ev["finished"]["number"]
        numbers[i] = ev["started"]["number"]
    assert sorted(numbers.values()) == list(range(1, 21))  # none followed twice, none missed
    for i, n in numbers.items():
        params = {pv.name: pv.value for pv in jd.job("param").builds[n].params}
        assert params["ID"] == f"run-{i}"
    assert not stripped(jd.requests(), "lastBuild")


# ------------------------------------------------------------------------------------------ console


def test_streamed_console_equals_console_text(jd):
    lines = [f"line {i:05d} {'é' * (i % 7)} {'x' * (i % 53)} ✓" for i in range(3000)]
    jd.set_behaviour("team/app", duration_ms=2500, log_lines=lines)
    p = run_cli(jd, "build", "team/app", "-s", "-v")
    assert p.returncode == 0, p.stderr.decode()
    final = _console(jd, "team/app", 1)
    assert p.stdout == final
    assert len(stripped(jd.requests(), "progressiveText")) >= 5  # really streamed in many chunks
    j = run_cli(jd, "logs", "team/app", "1")
    assert j.returncode == 0 and j.stdout == final


def test_json_log_events_reassemble_console(jd):
    lines = [f"json line {i} ü" for i in range(400)]
    jd.set_behaviour("team/app", duration_ms=1200, log_lines=lines)
    p = run_cli(jd, "build", "team/app", "-v", "--json")  # -v implies -f
    assert p.returncode == 0
    events = [e for e in json_lines(p.stdout) if e["event"] != "waiting"]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "queued" and kinds[1] == "started" and kinds[-1] == "finished"
    assert set(kinds[2:-1]) == {"log"}
    assert "".join(e["text"] for e in events if e["event"] == "log").encode() == _console(jd, "team/app", 1)


def test_logs_follow_exits_with_result(jd):
    jd.set_behaviour("team/app", result="FAILURE", duration_ms=1500, log_lines=[f"l{i}" for i in range(30)])
    jd.client.post("job/team/job/app/build", params={"delay": "0sec"})
    wait_for(lambda: jd.job("team/app").builds)
    p = run_cli(jd, "logs", "team/app", "last", "--follow")
    assert p.returncode == 2
    assert p.stdout == _console(jd, "team/app", 1)
    assert run_cli(jd, "logs", "team/app", "9").returncode == 13


# ------------------------------------------------------------------------------------------ interrupts, timeouts


def _start_and_wait_following(jd, *args: str):
    jd.set_behaviour("team/app", duration_ms=30000, log_lines=[f"slow {i}" for i in range(30)])
    proc = start_cli(jd, "build", "team/app", *args)
    # the CLI follows the build once it reads the build's api/json or its log
    wait_for(lambda: stripped(jd.requests(), "/job/team/job/app/1/"), timeout=15)
    time.sleep(0.3)
    return proc


def test_sigint_under_s_stops_the_build(jd):
    proc = _start_and_wait_following(jd, "-s", "-v")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 11, err.decode()
    assert _build_info(jd, "team/app", 1)["result"] == "ABORTED"
    assert stripped(jd.requests(), "/job/team/job/app/1/stop", "POST")
    assert "stop requested" in err.decode()


def test_sigint_under_f_leaves_the_build_running(jd):
    proc = _start_and_wait_following(jd, "-f", "-v")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 125, err.decode()
    info = _build_info(jd, "team/app", 1)
    assert info["building"] is True and info["result"] is None
    assert not stripped(jd.requests(), "/stop", "POST")
    assert "keeps running" in err.decode()


def test_sigterm_under_s_stops_the_build(jd):
    proc = _start_and_wait_following(jd, "-s")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 11
    assert _build_info(jd, "team/app", 1)["result"] == "ABORTED"


def test_sigint_under_s_while_queued_cancels_the_item(jd):
    jd.set_executors(0)
    proc = start_cli(jd, "build", "team/app", "-s")
    wait_for(lambda: stripped(jd.requests(), "/queue/item/1/api/json"))
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 11
    assert jd.client.get_json("queue/item/1/api/json")["cancelled"] is True
    assert "cancelled queue item 1" in err.decode()


def test_timeout_under_s_stops_under_f_leaves(jd):
    jd.set_behaviour("team/app", duration_ms=20000)
    p = run_cli(jd, "build", "team/app", "-s", "--timeout", "1")
    assert p.returncode == 10
    assert wait_for(lambda: _build_info(jd, "team/app", 1)["result"] == "ABORTED", timeout=5)
    p = run_cli(jd, "build", "team/app", "-f", "--timeout", "1")
    assert p.returncode == 10
    assert _build_info(jd, "team/app", 2)["building"] is True


# ------------------------------------------------------------------------------------------ status / stop


def test_status_and_stop(jd):
    jd.set_behaviour("param", duration_ms=20000)
    p = run_cli(jd, "build", "param", "-p", "ID=9", "-w")
    assert p.returncode == 0
    st = json_lines(run_cli(jd, "status", "param", "--json").stdout)[0]
    assert st["number"] == 1 and st["building"] is True and st["result"] is None and st["parameters"]["ID"] == "9"
    human = run_cli(jd, "status", "param", "1").stdout.decode()
    assert "param #1  RUNNING" in human
    s = run_cli(jd, "stop", "param", "1")
    assert s.returncode == 0, s.stderr.decode()
    assert "param #1: ABORTED" in s.stdout.decode()
    again = run_cli(jd, "stop", "param", "1")
    assert again.returncode == 0 and "already finished: ABORTED" in again.stdout.decode()
    assert run_cli(jd, "stop", "param", "5").returncode == 13
    assert run_cli(jd, "status", "nope").returncode == 13


def test_closed_stdout_keeps_following_and_exits_with_result(jd):
    # `jenkins-kit build -s -v | head -3`: the reader goes away, the exit code is still the result
    import subprocess

    from tests.test_builds_support import cli_env

    jd.set_behaviour("team/app", result="UNSTABLE", duration_ms=1200, log_lines=[f"line {i}" for i in range(3000)])
    p = subprocess.run(
        f"{sys.executable} -m jenkins_kit build team/app -s -v | head -3; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", env=cli_env(jd), capture_output=True, timeout=60, cwd="/", check=False,
    )
    assert p.returncode == 1, p.stderr.decode()
    assert p.stdout.decode().splitlines()[0] == "Started by user admin"
    assert "Traceback" not in p.stderr.decode() and "Finished team/app #1: UNSTABLE" in p.stderr.decode()


def test_multibranch_project_is_refused_with_advice_and_not_scanned(jd):
    from tests.test_conformance_jobs import MULTIBRANCH_XML

    jd.client.post_xml("createItem", MULTIBRANCH_XML, params={"name": "mb"})
    jd.clear_requests()
    p = run_cli(jd, "build", "mb", "-s")
    assert p.returncode == 16, p.stderr.decode()
    assert "multibranch project" in p.stderr.decode() and "mb/main" in p.stderr.decode()
    assert not [r for r in jd.requests() if r["method"] == "POST"]


def test_status_prints_boolean_parameters_as_jenkins_does(jd):
    c = jd.client
    create_job(c, "flags", job_xml([("Boolean", "DEPLOY", False)]))
    assert run_cli(jd, "build", "flags", "-s").returncode == 0
    out = run_cli(jd, "status", "flags").stdout.decode()
    assert "DEPLOY=false" in out and "False" not in out
