"""Issue 6: the harness itself: lab-shaped Nodes, loopback-only listeners, shell entry point,
and teardown that leaves no process behind."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cluster.harness import COMPONENTS, OPTIONAL_COMPONENTS, pid_alive

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[1]
LAB_CLUSTER = REPO / "scripts" / "lab-cluster"


def test_lab_nodes_look_like_the_seed_lab(lab_cluster):
    nodes = {
        n["metadata"]["name"]: n for n in lab_cluster.api.get("/api/v1/nodes")["items"]
    }
    assert set(nodes) == {"m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"}
    for name, node in nodes.items():
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == name
        assert labels["kubernetes.io/os"] == "linux"
        assert labels["kubernetes.io/arch"] == "amd64"
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
        for key in ("cpu", "memory", "pods", "ephemeral-storage"):
            assert key in node["status"]["allocatable"]
        ips = [
            a["address"]
            for a in node["status"]["addresses"]
            if a["type"] == "InternalIP"
        ]
        assert ips and all(ip.startswith("127.") for ip in ips)
        taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints", [])}
        if name == "m-k8s":
            assert labels["node-role.kubernetes.io/control-plane"] == ""
            assert taints == {("node-role.kubernetes.io/control-plane", "NoSchedule")}
        else:
            assert "node-role.kubernetes.io/control-plane" not in labels
            assert taints == set()  # in particular no node.kubernetes.io/not-ready


def _listening(pid):
    """(ip, port) of every listening TCP socket owned by pid."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                addr, port = cols[1].split(":")
                if len(addr) == 8:
                    ip = ".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0))
                else:
                    ip = "v6:" + addr
                found.append((ip, int(port, 16)))
    return found


def test_everything_listens_on_loopback_only(lab_cluster):
    seen = {}
    for name in COMPONENTS:
        sockets = _listening(lab_cluster.pids[name])
        seen[name] = sockets
        assert sockets, f"{name} listens nowhere?"
    for name in OPTIONAL_COMPONENTS:  # kwok serves nothing; the others only on loopback
        if name in lab_cluster.pids:
            sockets = _listening(lab_cluster.pids[name])
            assert all(ip == "127.0.0.1" for ip, _ in sockets), (name, sockets)
        assert all(ip == "127.0.0.1" for ip, _ in sockets), (name, sockets)
    assert ("127.0.0.1", lab_cluster.ports["kube-apiserver"]) in seen["kube-apiserver"]


def test_kubectl_and_helm_through_env(lab_cluster):
    out = subprocess.run(
        ["bash", "-c", "kubectl get nodes -o name && command -v helm"],
        env=lab_cluster.env(),
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    ).stdout.split()
    assert out[:4] == ["node/m-k8s", "node/w1-k8s", "node/w2-k8s", "node/w3-k8s"]
    assert out[4] == str(lab_cluster.shim_dir / "helm")


@pytest.mark.slow
def test_shell_up_env_status_down(lab_cluster, tmp_path):
    # A second, separate cluster driven only through scripts/lab-cluster (the fixture's keeps running).
    state = tmp_path / "shell-cluster"
    pids = {}
    env = dict(os.environ, JENKINS_KIT_CLUSTER_DIR=str(state))

    def run(*args, check=True):
        return subprocess.run(
            list(args),
            env=env,
            capture_output=True,
            text=True,
            check=check,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )

    try:
        run(str(LAB_CLUSTER), "up")
        again = run(str(LAB_CLUSTER), "up")
        assert "already running" in again.stderr
        assert run(str(LAB_CLUSTER), "status").returncode == 0
        shell = run(
            "bash",
            "-c",
            f'eval "$({LAB_CLUSTER} env)" && kubectl get nodes -o name && helm list -A -q && '
            'echo "KC=$KUBECONFIG"',
        )
        assert "node/m-k8s" in shell.stdout
        assert f"KC={state}/admin.kubeconfig" in shell.stdout
        pids = json.loads((state / "state.json").read_text())["pids"]
        assert set(COMPONENTS) <= set(pids) <= set(COMPONENTS) | set(OPTIONAL_COMPONENTS)
        assert all(pid_alive(p) for p in pids.values())
    finally:
        down = run(str(LAB_CLUSTER), "down", check=False)
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(p) for p in pids.values()), (
        "lab-cluster down left processes running"
    )
    assert not state.exists()
    assert run(str(LAB_CLUSTER), "status", check=False).returncode == 1
