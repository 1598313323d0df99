"""pytest plugin: the session-scoped ``lab_cluster`` fixture.

Skips (with the reason) when the control-plane binaries are not built, unless
``JENKINS_KIT_REQUIRE_CLUSTER=1``, in which case that is a failure. Build them with
``scripts/build-tools``. The cluster is torn down at the end of the session, and the teardown
checks that none of its processes is left running.
"""

from __future__ import annotations

import atexit
import os

import pytest

from .harness import (
    LabCluster,
    ToolsMissing,
    find_kubectl,
    missing_tools,
    pid_alive,
    tools_bin_dir,
)

_started: list[LabCluster] = []


def _require() -> bool:
    return os.environ.get("JENKINS_KIT_REQUIRE_CLUSTER", "").strip().lower() in (
        "1",
        "true",
        "yes",
    )


def _unavailable(reason: str):
    if _require():
        pytest.fail(
            f"JENKINS_KIT_REQUIRE_CLUSTER=1 but the lab cluster cannot start: {reason}",
            pytrace=False,
        )
    pytest.skip(f"lab cluster unavailable: {reason}")


def _stop_all() -> None:
    while _started:
        _started.pop().stop()


atexit.register(_stop_all)  # also on KeyboardInterrupt / internal errors


@pytest.fixture(scope="session")
def lab_cluster():
    """A running kubelet-less control plane (etcd, kube-apiserver, kube-controller-manager,
    kube-scheduler) with Nodes m-k8s, w1-k8s, w2-k8s, w3-k8s. See tests/cluster/harness.py."""
    try:
        bin_dir = tools_bin_dir()
    except ToolsMissing as e:
        _unavailable(str(e))
    missing = missing_tools(bin_dir)
    if missing:
        _unavailable(
            f"{', '.join(missing)} not built in {bin_dir}; run scripts/build-tools (cold build ~20-40 min)"
        )
    if not find_kubectl(bin_dir):
        _unavailable("no kubectl on PATH (set JENKINS_KIT_KUBECTL)")

    cluster = LabCluster.start(bin_dir=bin_dir)
    _started.append(cluster)
    _timings["start_seconds"] = cluster.start_seconds
    try:
        yield cluster
    finally:
        pids = dict(cluster.pids)
        if cluster in _started:
            _started.remove(cluster)
        cluster.stop()
        left = {name: pid for name, pid in pids.items() if pid_alive(pid)}
        assert not left, f"lab cluster processes still running after teardown: {left}"
        assert not cluster.state_dir.exists(), (
            f"lab cluster state dir not removed: {cluster.state_dir}"
        )


_timings: dict[str, float | None] = {}


def pytest_terminal_summary(terminalreporter):
    seconds = _timings.get("start_seconds")
    if seconds is not None:
        terminalreporter.write_line(
            f"lab cluster: control plane + nodes started in {seconds:.1f}s"
        )
