"""Issue 6: a pytest session using ``lab_cluster`` leaves no process running after it ends, and a
killed session does not leave the control plane behind either."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.harness import COMPONENTS, OPTIONAL_COMPONENTS, pid_alive

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]

INNER_TEST = """
import json, os, time

def test_inner(lab_cluster):
    assert lab_cluster.api.get("/api/v1/nodes/m-k8s")
    with open(os.environ["JK_INNER_OUT"], "w") as f:
        json.dump({"pids": lab_cluster.pids, "state_dir": str(lab_cluster.state_dir)}, f)
    time.sleep(float(os.environ.get("JK_INNER_SLEEP", "0")))
"""


def _inner_session(tmp_path, sleep=0.0):
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    out = tmp_path / "inner.json"
    env = dict(
        os.environ,
        PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        JK_INNER_OUT=str(out),
        JK_INNER_SLEEP=str(sleep),
        JENKINS_KIT_REQUIRE_CLUSTER="1",
    )
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.cluster.fixtures",
        "--rootdir",
        str(tmp_path),
        str(tmp_path / "test_inner.py"),
    ]
    return subprocess.Popen(
        argv,
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ), out


def test_finished_session_leaves_no_process(lab_cluster, tmp_path):
    proc, out = _inner_session(tmp_path)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    state = json.loads(out.read_text())
    assert set(COMPONENTS) <= set(state["pids"]) <= set(COMPONENTS) | set(OPTIONAL_COMPONENTS)
    left = {n: p for n, p in state["pids"].items() if pid_alive(p)}
    assert not left, f"processes left after the inner pytest session: {left}"
    assert not Path(state["state_dir"]).exists()
    assert "lab cluster: control plane + nodes started in" in output


def test_killed_session_takes_the_control_plane_with_it(lab_cluster, tmp_path):
    proc, out = _inner_session(tmp_path, sleep=120)
    try:
        deadline = time.monotonic() + 120
        while not out.exists() or not out.read_text():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, (
                "inner session never started its cluster"
            )
            time.sleep(0.2)
        state = json.loads(out.read_text())
        os.kill(
            proc.pid, signal.SIGKILL
        )  # no teardown, no atexit: only PR_SET_PDEATHSIG is left
        proc.wait(timeout=30)
        lab_cluster.wait_for(
            lambda: not any(pid_alive(p) for p in state["pids"].values()),
            timeout=15,
            what="the killed session's control plane to exit",
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    # The state dir of a SIGKILLed session cannot remove itself; it holds no process.
    shutil.rmtree(state["state_dir"], ignore_errors=True)
