"""A real, kubelet-less Kubernetes control plane on loopback.

``LabCluster`` starts etcd -> kube-apiserver -> kube-controller-manager + kube-scheduler (binaries
built by ``scripts/build-tools``) with TLS, free ports and an admin kubeconfig, then registers Nodes
shaped like the lab: ``m-k8s`` (control-plane label and NoSchedule taint) and workers ``w1-k8s``,
``w2-k8s``, ``w3-k8s``.

There is no kubelet, so (see docs in shared/reference/control-plane.md, section 3.5/3.6):

* the node-lifecycle controller is not run and the ``TaintNodesByCondition`` admission plugin is
  off, so Nodes created Ready stay Ready and carry no ``not-ready`` taint;
* pods are scheduled (``spec.nodeName`` set by the real scheduler) but never run by themselves:
  ``mark_pod_running`` writes a Running/Ready status through the status subresource;
* graceful deletion of a scheduled pod never finishes: ``force_delete_pods`` / ``delete_namespace``
  delete with ``gracePeriodSeconds=0``.

Every process binds to 127.0.0.1 only, runs in its own process group, and ``stop`` kills exactly
those groups and removes the state directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pki as _pki
from .api import ApiClient, ApiError

REPO = Path(__file__).resolve().parents[2]
BUILD_TOOLS = REPO / "scripts" / "build-tools"
DEFAULT_STATE_DIR = "/tmp/jenkins-kit-lab-cluster"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
REQUIRED_BINARIES = COMPONENTS + ("helm",)
OPTIONAL_COMPONENTS = ("kwok", "metallb-controller", "registry")  # started when built / when asked
# Real upstream parts started when built (scripts/build-tools builds them all): kwok is the node
# agent (Ready nodes with heartbeats, pods Running/Ready, deletions finished), the MetalLB controller
# assigns LoadBalancer addresses, the CNCF registry serves images.
# Loopback on purpose: an address kwok hands a pod can never take a packet off this machine. The
# endpoint controllers leave such IPs out of Endpoints/EndpointSlices (loopback is invalid there),
# so nothing ever routes to a pod; nothing here needs to.
KWOK_POD_CIDR = "127.240.0.1/16"

# Controllers run by kube-controller-manager. node-lifecycle-controller (and the taint-eviction
# controller that acts on its taints) stay off: no kubelet heartbeats the Nodes.
CONTROLLERS = (
    "persistentvolume-binder-controller",
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    "persistentvolume-expander-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "legacy-serviceaccount-token-cleaner-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
    "deployment-controller",
    "replicaset-controller",
    "replicationcontroller-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
    "garbage-collector-controller",
    "pod-garbage-collector-controller",
    "disruption-controller",
    "resourcequota-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "ephemeral-volume-controller",
)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    address: str
    control_plane: bool = False
    cpu: str = "4"
    memory: str = "8Gi"
    pods: str = "110"
    ephemeral_storage: str = "50Gi"


LAB_NODES = (
    NodeSpec("m-k8s", "127.0.0.10", control_plane=True),
    NodeSpec("w1-k8s", "127.0.0.11"),
    NodeSpec("w2-k8s", "127.0.0.12"),
    NodeSpec("w3-k8s", "127.0.0.13"),
)


class ToolsMissing(RuntimeError):
    """The control-plane binaries are not built (run scripts/build-tools)."""


class ClusterError(RuntimeError):
    pass


# --- tools ----------------------------------------------------------------------------------------


def tools_bin_dir() -> Path:
    """Where scripts/build-tools puts (or would put) the binaries for the pinned versions."""
    override = os.environ.get("JENKINS_KIT_BIN_DIR")
    if override:
        return Path(override)
    try:
        out = subprocess.run(
            ["bash", str(BUILD_TOOLS), "--bin-dir"],
            check=True,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise ToolsMissing(
            f"cannot locate the tools cache ({BUILD_TOOLS} --bin-dir failed: {detail.strip()})"
        )
    return Path(out.stdout.strip())


def missing_tools(bin_dir: Path) -> list[str]:
    return [b for b in REQUIRED_BINARIES if not os.access(bin_dir / b, os.X_OK)]


def find_kubectl(bin_dir: Path | None = None) -> str | None:
    """JENKINS_KIT_KUBECTL, else the kubectl built alongside the control plane (same version as
    the server), else the machine's kubectl on PATH."""
    override = os.environ.get("JENKINS_KIT_KUBECTL")
    if override:
        return override
    if bin_dir is not None and os.access(Path(bin_dir) / "kubectl", os.X_OK):
        return str(Path(bin_dir) / "kubectl")
    return shutil.which("kubectl")


def build_tools(stream=None) -> Path:
    """Run scripts/build-tools (builds only what is missing) and return the bin dir."""
    subprocess.run(
        ["bash", str(BUILD_TOOLS)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=stream,
        stderr=stream,
    )
    return tools_bin_dir()


# --- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _pid_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kubeconfig(
    path: Path, server: str, ca: Path, crt: Path, key: Path, user: str
) -> None:
    # JSON is valid YAML, so kubectl, helm and the kubernetes client all read this.
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "jenkins-kit-lab",
                        "cluster": {"server": server, "certificate-authority": str(ca)},
                    }
                ],
                "users": [
                    {
                        "name": user,
                        "user": {
                            "client-certificate": str(crt),
                            "client-key": str(key),
                        },
                    }
                ],
                "contexts": [
                    {
                        "name": "jenkins-kit-lab",
                        "context": {"cluster": "jenkins-kit-lab", "user": user},
                    }
                ],
                "current-context": "jenkins-kit-lab",
                "preferences": {},
            },
            indent=2,
        )
    )
    path.chmod(0o600)


# --- the cluster ----------------------------------------------------------------------------------


@dataclass
class LabCluster:
    """One control plane. ``LabCluster.start(...)`` or ``LabCluster.attach(state_dir)``."""

    state_dir: Path
    bin_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    nodes: tuple[NodeSpec, ...] = LAB_NODES
    start_seconds: float | None = None
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)
    _api: ApiClient | None = field(default=None, repr=False)
    _detach: bool = field(default=False, repr=False)
    _log: Callable[[str], None] = field(default=lambda msg: None, repr=False)
    _stop_watchers: threading.Event = field(default_factory=threading.Event, repr=False)

    # -- paths & environment ------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    @property
    def helm(self) -> Path:
        return self.bin_dir / "helm"

    @property
    def kubectl(self) -> str:
        k = find_kubectl(self.bin_dir)
        if not k:
            raise ClusterError("no kubectl on PATH (set JENKINS_KIT_KUBECTL)")
        return k

    @property
    def shim_dir(self) -> Path:
        """A directory holding only ``helm`` (and ``kubectl``), to put first on PATH."""
        return self.state_dir / "bin"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['kube-apiserver']}"

    @property
    def pki(self) -> _pki.Pki:
        return _pki.Pki(self.state_dir / "pki")

    @property
    def api(self) -> ApiClient:
        if self._api is None:
            p = self.pki
            self._api = ApiClient(
                "127.0.0.1",
                self.ports["kube-apiserver"],
                str(p.ca_crt),
                str(p.client_crt("admin")),
                str(p.client_key("admin")),
            )
        return self._api

    def env_vars(self) -> dict[str, str]:
        """Only the variables this cluster sets (see ``env`` for a full subprocess environment)."""
        no_proxy = ",".join(
            x
            for x in (
                os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or "",
                "127.0.0.1,localhost",
            )
            if x
        )
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CONFIG_HOME": str(self.state_dir / "helm" / "config"),
            "HELM_CACHE_HOME": str(self.state_dir / "helm" / "cache"),
            "HELM_DATA_HOME": str(self.state_dir / "helm" / "data"),
            "KUBECACHEDIR": str(self.state_dir / "kube-cache"),
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """A full environment for ``subprocess``: kubectl and helm talk to this cluster."""
        env = dict(os.environ if base is None else base)
        env.update(self.env_vars())
        env["PATH"] = f"{self.shim_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    # -- lifecycle ----------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        state_dir: str | Path | None = None,
        bin_dir: str | Path | None = None,
        *,
        detach: bool = False,
        nodes: Iterable[NodeSpec] = LAB_NODES,
        timeout: float = 120.0,
        log: Callable[[str], None] | None = None,
    ) -> LabCluster:
        """Start a new cluster. ``detach=True`` lets it outlive this Python process (shell use);
        otherwise the processes get SIGKILL if this process dies without calling ``stop``."""
        t0 = time.monotonic()
        bin_dir = Path(bin_dir) if bin_dir else tools_bin_dir()
        missing = missing_tools(bin_dir)
        if missing:
            raise ToolsMissing(
                f"missing {', '.join(missing)} in {bin_dir}: run scripts/build-tools"
            )
        if state_dir is None:
            state_dir = Path(tempfile.mkdtemp(prefix="jenkins-kit-lab-"))
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        state_dir.chmod(0o700)
        self = cls(state_dir=state_dir, bin_dir=bin_dir, nodes=tuple(nodes))
        self._detach = detach
        self._log = log or (lambda msg: None)
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        self._save_state()
        self._log(f"lab cluster up in {self.start_seconds:.1f}s ({self.server})")
        return self

    @classmethod
    def attach(cls, state_dir: str | Path) -> LabCluster | None:
        """The cluster recorded in ``state_dir``, or None if there is none."""
        state_file = Path(state_dir) / "state.json"
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            return None
        self = cls(
            state_dir=Path(state_dir),
            bin_dir=Path(state["bin_dir"]),
            ports={k: int(v) for k, v in state["ports"].items()},
            pids={k: int(v) for k, v in state["pids"].items()},
            start_seconds=state.get("start_seconds"),
        )
        return self

    def _save_state(self) -> None:
        state = {
            "bin_dir": str(self.bin_dir),
            "ports": self.ports,
            "pids": self.pids,
            "kubeconfig": str(self.kubeconfig),
            "server": self.server if "kube-apiserver" in self.ports else None,
            "start_seconds": self.start_seconds,
            "started_at": _now(),
        }
        tmp = self.state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_dir / "state.json")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=self.state_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills exactly this group
                preexec_fn=None if self._detach else _die_with_parent,  # noqa: PLW1509 - prctl only, no locks
                env={"PATH": "/usr/bin:/bin", "HOME": str(self.state_dir), "LANG": "C", **(env or {})},
            )
        self._procs[name] = proc
        self.pids[name] = proc.pid
        self._save_state()  # record pids as soon as they exist, so `down` can always find them

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(
                (self.state_dir / "logs" / f"{name}.log")
                .read_text(errors="replace")
                .splitlines()[-lines:]
            )
        except OSError:
            return "(no log)"

    def _check_alive(self, name: str) -> None:
        pid = self.pids.get(name)
        proc = self._procs.get(name)
        dead = (
            (proc.poll() is not None) if proc else (pid is None or not pid_alive(pid))
        )
        if dead:
            raise ClusterError(
                f"{name} exited early; last log lines:\n{self.log_tail(name)}"
            )

    def _wait(
        self,
        what: str,
        check: Callable[[], Any],
        timeout: float,
        watch: Iterable[str] = (),
    ) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            for name in watch:
                self._check_alive(name)
            try:
                result = check()
                if result:
                    return result
            except Exception as e:  # noqa: BLE001 - keep polling, report the last error
                last = e
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"timed out after {timeout:.0f}s waiting for {what} (last error: {last})"
                )
            time.sleep(0.1)

    def _start(self, timeout: float) -> None:
        d = self.state_dir
        log = self._log
        pki = _pki.generate(d / "pki")
        for name in (
            "etcd-client",
            "etcd-peer",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ):
            self.ports[name] = free_port()
        self.shim_dir.mkdir(exist_ok=True)
        for tool, target in (
            ("helm", self.helm),
            ("kubectl", find_kubectl(self.bin_dir)),
        ):
            link = self.shim_dir / tool
            if target and not link.exists():
                link.symlink_to(target)
        for sub in ("helm/config", "helm/cache", "helm/data", "kube-cache"):
            (d / sub).mkdir(parents=True, exist_ok=True)

        _kubeconfig(
            self.kubeconfig,
            self.server,
            pki.ca_crt,
            pki.client_crt("admin"),
            pki.client_key("admin"),
            "admin",
        )
        for who in ("kube-controller-manager", "kube-scheduler"):
            _kubeconfig(
                d / f"{who}.kubeconfig",
                self.server,
                pki.ca_crt,
                pki.client_crt(who),
                pki.client_key(who),
                who,
            )

        b = self.bin_dir
        etcd_url = f"http://127.0.0.1:{self.ports['etcd-client']}"
        peer_url = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        self._spawn(
            "etcd",
            [
                str(b / "etcd"),
                "--name=lab",
                f"--data-dir={d / 'etcd-data'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=lab={peer_url}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",
                "--auto-compaction-retention=1",
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
        )

        def etcd_healthy() -> bool:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"{etcd_url}/health", timeout=2
            ) as r:
                return json.loads(r.read()).get("health") == "true"

        self._wait("etcd /health", etcd_healthy, timeout, watch=["etcd"])
        log("etcd ready")

        port = self.ports["kube-apiserver"]
        self._spawn(
            "kube-apiserver",
            [
                str(b / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={pki.apiserver_crt}",
                f"--tls-private-key-file={pki.apiserver_key}",
                f"--client-ca-file={pki.ca_crt}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                # No node-lifecycle controller runs, so nothing would ever lift not-ready taints.
                # No pod network either: a webhook served from a pod (the MetalLB chart's
                # validating webhook) could never be reached, so admission webhooks are off. The
                # endpoint controllers also refuse kwok's loopback pod IPs, by design (see below).
                "--disable-admission-plugins=TaintNodesByCondition,ValidatingAdmissionWebhook,MutatingAdmissionWebhook",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--allow-privileged=true",
                "--enable-priority-and-fairness=false",

                "--profiling=false",
                f"--cert-dir={d / 'apiserver-certs'}",
            ],
        )
        self._wait(
            "kube-apiserver /readyz",
            lambda: self.api.request("GET", "/readyz", raw=True).strip() == "ok",
            timeout,
            watch=["etcd", "kube-apiserver"],
        )
        log("kube-apiserver ready")

        common = [
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            "--profiling=false",
            "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
        ]
        kcm_kc = d / "kube-controller-manager.kubeconfig"
        self._spawn(
            "kube-controller-manager",
            [
                str(b / "kube-controller-manager"),
                *common,
                f"--secure-port={self.ports['kube-controller-manager']}",
                f"--cert-dir={d / 'kcm-certs'}",
                f"--kubeconfig={kcm_kc}",
                f"--authentication-kubeconfig={kcm_kc}",
                f"--authorization-kubeconfig={kcm_kc}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_crt}",
                f"--cluster-signing-cert-file={pki.ca_crt}",
                f"--cluster-signing-key-file={pki.ca_key}",
                "--cluster-name=jenkins-kit-lab",
                f"--controllers={','.join(CONTROLLERS)}",
                "--pvclaimbinder-sync-period=5s",
                "--kube-api-qps=100",
                "--kube-api-burst=200",
            ],
        )
        sched_kc = d / "kube-scheduler.kubeconfig"
        self._spawn(
            "kube-scheduler",
            [
                str(b / "kube-scheduler"),
                *common,
                f"--secure-port={self.ports['kube-scheduler']}",
                f"--cert-dir={d / 'scheduler-certs'}",
                f"--kubeconfig={sched_kc}",
                f"--authentication-kubeconfig={sched_kc}",
                f"--authorization-kubeconfig={sched_kc}",
            ],
        )

        # Nodes need only the apiserver; register them while the controllers come up.
        self.register_nodes()
        log(f"nodes registered: {', '.join(n.name for n in self.nodes)}")
        if self.has_kwok:
            self._spawn(
                "kwok",
                [
                    str(b / "kwok"),
                    f"--kubeconfig={self.kubeconfig}",
                    f"--config={self.kwok_stages}",
                    "--manage-all-nodes=true",
                    f"--cidr={KWOK_POD_CIDR}",
                    "--node-ip=127.0.0.10",
                ],
            )
            log("kwok started (node heartbeats, pods Running/Ready)")

        everything = list(COMPONENTS)
        self._wait(
            "kube-scheduler /readyz",
            lambda: self._component_ok("kube-scheduler", "/readyz"),
            timeout,
            watch=everything,
        )
        self._wait(
            "kube-controller-manager /healthz",
            lambda: self._component_ok("kube-controller-manager", "/healthz"),
            timeout,
            watch=everything,
        )
        self._wait(
            "ServiceAccount default/default",
            lambda: self.api.get_or_none(
                "/api/v1/namespaces/default/serviceaccounts/default"
            ),
            timeout,
            watch=everything,
        )
        log("controller-manager and scheduler ready")

    def _component_ok(self, name: str, path: str) -> bool:
        # Their serving certificates are self-signed; the probe stays on loopback.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        url = f"https://127.0.0.1:{self.ports[name]}{path}"
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
        )
        with opener.open(url, timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"

    def running(self) -> dict[str, bool]:
        return {name: self._owns(name) for name in COMPONENTS + OPTIONAL_COMPONENTS if name in self.pids}

    # -- optional real parts ---------------------------------------------------------------------------

    @property
    def has_kwok(self) -> bool:
        return os.access(self.bin_dir / "kwok", os.X_OK) and self.kwok_stages.is_file()

    @property
    def kwok_stages(self) -> Path:
        return self.bin_dir.parent / "share" / "kwok-stages.yaml"

    @property
    def has_metallb_controller(self) -> bool:
        return os.access(self.bin_dir / "metallb-controller", os.X_OK)

    def start_metallb_controller(self, namespace: str, timeout: float = 600.0) -> threading.Thread:
        """Run the real MetalLB controller (built from go.universe.tf/metallb) against this cluster
        once the chart has installed its CRDs, as the chart's controller pod would in a real lab.

        The chart's own controller pod is only Running through kwok; this process does the work:
        it allocates addresses from IPAddressPools into Service status. Its webhook is off: with no
        pod network the API server could not call it (admission webhooks are disabled here)."""
        if not self.has_metallb_controller:
            raise ToolsMissing(f"metallb-controller not built in {self.bin_dir}: run scripts/build-tools")

        # The controller watches more kinds than IPAddressPool (Community, and the config kinds):
        # started while one of the chart's CRDs is still being established, its informer for that
        # kind never syncs and the manager gives up. Start it once every metallb.io CRD is.
        watched = {"ipaddresspools.metallb.io", "communities.metallb.io", "l2advertisements.metallb.io"}

        def crds_ready() -> bool:
            crds = self.api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").get("items") or []
            ours = {str(c["metadata"]["name"]): c for c in crds if (c.get("spec") or {}).get("group") == "metallb.io"}
            if not watched <= set(ours):
                return False
            return all(any(k.get("type") == "Established" and k.get("status") == "True"
                           for k in ((c.get("status") or {}).get("conditions") or [])) for c in ours.values())

        argv = [
            str(self.bin_dir / "metallb-controller"),
            f"--kubeconfig={self.kubeconfig}",
            f"--namespace={namespace}",
            "--deployment=metallb-controller",
            "--ml-secret-name=",
            # No metrics listener: the controller has no host flag and would bind
            # every address; an invalid port makes that one goroutine log and stop.
            "--port=-1",
            f"--cert-dir={self.state_dir / 'metallb-certs'}",
            "--webhook-mode=disabled",
            "--log-level=info",
        ]

        def run() -> None:
            deadline = time.monotonic() + timeout
            while not self._stop_watchers.is_set() and time.monotonic() < deadline:
                ready = False
                with contextlib.suppress(Exception):
                    ready = crds_ready()
                if ready:
                    break
                self._stop_watchers.wait(0.5)
            else:
                return
            # Supervise it as the kubelet would the chart's pod (restartPolicy Always, with a
            # bounded back-off). The child dies with the *thread* that forked it
            # (PR_SET_PDEATHSIG), so this thread lives until the cluster stops.
            restarts = 0
            while not self._stop_watchers.is_set():
                self._spawn("metallb-controller", argv, env={"KUBECONFIG": str(self.kubeconfig)})
                proc = self._procs["metallb-controller"]
                while not self._stop_watchers.is_set() and proc.poll() is None:
                    self._stop_watchers.wait(0.5)
                if self._stop_watchers.is_set() or restarts >= 5:
                    return
                restarts += 1
                self._stop_watchers.wait(min(2.0 ** restarts, 10.0))

        t = threading.Thread(target=run, name="metallb-controller-starter", daemon=True)
        t.start()
        return t

    def start_registry(self, htpasswd: Path, cert: Path, key: Path, ca: Path | None = None) -> str:
        """The CNCF registry (distribution v3) on 127.0.0.1 with TLS and htpasswd auth; returns host:port."""
        if not os.access(self.bin_dir / "registry", os.X_OK):
            raise ToolsMissing(f"registry not built in {self.bin_dir}: run scripts/build-tools")
        port = free_port()
        self.ports["registry"] = port
        root = self.state_dir / "registry-data"
        root.mkdir(exist_ok=True)
        conf = self.state_dir / "registry.yml"
        conf.write_text(json.dumps({
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": True}},
            "http": {"addr": f"127.0.0.1:{port}", "tls": {"certificate": str(cert), "key": str(key)},
                     "debug": {"addr": ""}},
            "auth": {"htpasswd": {"realm": "jenkins-kit-lab", "path": str(htpasswd)}},
        }))
        self._spawn("registry", [str(self.bin_dir / "registry"), "serve", str(conf)],
                    env={"OTEL_TRACES_EXPORTER": "none", "OTEL_SDK_DISABLED": "true"})
        ctx = ssl.create_default_context(cafile=str(ca or self.pki.ca_crt))

        def up() -> bool:
            req = urllib.request.Request(f"https://127.0.0.1:{port}/v2/")
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
            try:
                opener.open(req, timeout=2)
            except urllib.error.HTTPError as e:
                return e.code == 401  # up, and asking for credentials
            return False

        self._wait("registry /v2/", up, 30, watch=["registry"])
        return f"127.0.0.1:{port}"

    def _owns(self, name: str) -> bool:
        """True if the recorded pid is alive and still the process we started (not a reused pid)."""
        pid = self.pids.get(name)
        if not pid or not pid_alive(pid):
            return False
        argv = _pid_cmdline(pid)
        return (
            bool(argv)
            and argv[0] == str(self.bin_dir / name)
            and any(str(self.state_dir) in a for a in argv)
        )

    def healthy(self) -> bool:
        if (
            not self.pids
            or not all(self.running().values())
            or not all(name in self.running() for name in COMPONENTS)
        ):
            return False
        try:
            return self.api.request("GET", "/readyz", raw=True).strip() == "ok"
        except Exception:  # noqa: BLE001
            return False

    def stop(self, remove: bool = True, grace: float = 5.0) -> list[str]:
        """Kill exactly the process groups this cluster started (clients first, etcd last), then
        remove the state dir. Returns the names of components that needed SIGKILL."""
        killed: list[str] = []
        self._stop_watchers.set()
        for phase in (
            ("metallb-controller", "registry", "kwok"),
            ("kube-scheduler", "kube-controller-manager"),
            ("kube-apiserver",),
            ("etcd",),
        ):
            targets = {
                n: self.pids[n]
                for n in phase
                if n in self.pids and (self._procs.get(n) is not None or self._owns(n))
            }
            for sig in (signal.SIGTERM, signal.SIGKILL):
                alive = {
                    n: pid for n, pid in targets.items() if not self._exited(n, pid)
                }
                if not alive:
                    break
                if sig == signal.SIGKILL:
                    killed.extend(alive)
                for pid in alive.values():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, sig)
                deadline = time.monotonic() + grace
                while time.monotonic() < deadline and not all(
                    self._exited(n, p) for n, p in alive.items()
                ):
                    time.sleep(0.05)
            for n, pid in targets.items():
                if not self._exited(n, pid):
                    raise ClusterError(
                        f"{n} (pid {pid}) is still running after SIGKILL"
                    )
        self._procs.clear()
        if remove and self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return killed

    def _exited(self, name: str, pid: int) -> bool:
        proc = self._procs.get(name)
        if proc is not None:
            return proc.poll() is not None  # also reaps our own child
        return not pid_alive(pid)

    # -- nodes ---------------------------------------------------------------------------------------

    def node_manifest(self, spec: NodeSpec) -> dict:
        now = _now()
        labels = {
            "kubernetes.io/hostname": spec.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
        }
        taints = []
        if spec.control_plane:
            labels["node-role.kubernetes.io/control-plane"] = ""
            taints.append(
                {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
            )
        resources = {
            "cpu": spec.cpu,
            "memory": spec.memory,
            "pods": spec.pods,
            "ephemeral-storage": spec.ephemeral_storage,
        }

        def cond(kind: str, status: str, reason: str, message: str) -> dict:
            return {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }

        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": spec.name,
                "labels": labels,
                "annotations": {"jenkins-kit.dev/lab-node": "kubelet-less"},
            },
            "spec": {"taints": taints} if taints else {},
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "conditions": [
                    cond(
                        "MemoryPressure",
                        "False",
                        "KubeletHasSufficientMemory",
                        "lab node",
                    ),
                    cond(
                        "DiskPressure", "False", "KubeletHasNoDiskPressure", "lab node"
                    ),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "lab node"),
                    cond(
                        "Ready",
                        "True",
                        "KubeletReady",
                        "lab node (no kubelet; status written by the test harness)",
                    ),
                ],
                "addresses": [
                    {"type": "InternalIP", "address": spec.address},
                    {"type": "Hostname", "address": spec.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                    "kernelVersion": os.uname().release,
                    "osImage": "jenkins-kit lab (kubelet-less)",
                    "containerRuntimeVersion": "none://0",
                    "kubeletVersion": self._k8s_version(),
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        }

    def _k8s_version(self) -> str:
        try:
            return self.api.get("/version")["gitVersion"]
        except Exception:  # noqa: BLE001
            return "v0.0.0"

    def register_nodes(self) -> None:
        for spec in self.nodes:
            body = self.node_manifest(spec)
            path = f"/api/v1/nodes/{spec.name}"
            try:
                self.api.create("/api/v1/nodes", body)
            except ApiError as e:
                if e.status != 409:
                    raise
            # Status on create is kept, but write it through /status too, so an existing Node
            # (re-registered) is also Ready with fresh heartbeats.
            current = self.api.get(path)
            current["status"] = body["status"]
            self.api.replace(path + "/status", current)

    # -- pods without a kubelet -------------------------------------------------------------------------

    def mark_pod_running(
        self, namespace: str, name: str, pod_ip: str | None = None
    ) -> dict:
        """Play kubelet for one scheduled pod: write a Running, Ready status (status subresource)."""
        path = f"/api/v1/namespaces/{namespace}/pods/{name}"
        pod = self.api.get(path)
        node = pod["spec"].get("nodeName")
        if not node:
            raise ClusterError(
                f"pod {namespace}/{name} is not scheduled yet; cannot mark it Running"
            )
        host_ip = next((n.address for n in self.nodes if n.name == node), "127.0.0.1")
        if pod_ip is None:
            h = sum(map(ord, f"{namespace}/{name}"))
            pod_ip = f"10.244.{h % 250 + 1}.{(h // 250) % 250 + 2}"
        now = _now()

        def cstatus(c: dict) -> dict:
            return {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "containerID": f"lab://{name}/{c['name']}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }

        def istatus(c: dict) -> dict:
            return {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "containerID": f"lab://{name}/{c['name']}",
                "ready": True,
                "started": False,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": now,
                        "finishedAt": now,
                    }
                },
            }

        conds = [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        ]
        status = {
            "phase": "Running",
            "conditions": [
                {
                    "type": t,
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                }
                for t in conds
            ],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": now,
            "qosClass": pod.get("status", {}).get("qosClass", "BestEffort"),
            "containerStatuses": [cstatus(c) for c in pod["spec"]["containers"]],
        }
        if pod["spec"].get("initContainers"):
            status["initContainerStatuses"] = [
                istatus(c) for c in pod["spec"]["initContainers"]
            ]
        return self.api.patch(path + "/status", {"status": status}, kind="merge")

    def force_delete_pod(self, namespace: str, name: str) -> None:
        self.api.delete(
            f"/api/v1/namespaces/{namespace}/pods/{name}", grace_period_seconds=0
        )

    def force_delete_pods(
        self, namespace: str, label_selector: str | None = None
    ) -> int:
        pods = self.api.get(
            f"/api/v1/namespaces/{namespace}/pods", labelSelector=label_selector
        )["items"]
        for p in pods:
            self.force_delete_pod(namespace, p["metadata"]["name"])
        return len(pods)

    # -- namespaces & helpers ----------------------------------------------------------------------------

    def create_namespace(
        self, name: str, labels: dict[str, str] | None = None, timeout: float = 30
    ) -> dict:
        """Create a namespace and wait for its ``default`` ServiceAccount (pods need it)."""
        try:
            ns = self.api.create(
                "/api/v1/namespaces",
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": name, "labels": labels or {}},
                },
            )
        except ApiError as e:
            if e.status != 409:
                raise
            ns = self.api.get(f"/api/v1/namespaces/{name}")
        self.wait_for(
            lambda: self.api.get_or_none(
                f"/api/v1/namespaces/{name}/serviceaccounts/default"
            ),
            timeout,
            f"ServiceAccount {name}/default",
        )
        return ns

    def delete_namespace(
        self, name: str, wait: bool = False, timeout: float = 60
    ) -> None:
        """Delete a namespace; pods are force-deleted first since no kubelet finishes them."""
        self.api.delete(f"/api/v1/namespaces/{name}")
        with contextlib.suppress(ApiError):
            self.force_delete_pods(name)
        if wait:

            def gone() -> bool:
                with contextlib.suppress(ApiError):
                    self.force_delete_pods(name)
                return self.api.get_or_none(f"/api/v1/namespaces/{name}") is None

            self.wait_for(gone, timeout, f"namespace {name} to be deleted")

    @staticmethod
    def wait_for(
        predicate: Callable[[], Any],
        timeout: float = 30,
        what: str = "condition",
        interval: float = 0.2,
    ) -> Any:
        """Poll ``predicate`` until it returns something truthy; return that. ApiErrors are retried."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                result = predicate()
                if result:
                    return result
            except ApiError as e:
                last_error = e
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}"
                    + (f" (last error: {last_error})" if last_error else "")
                )
            time.sleep(interval)

    def run(
        self,
        *argv: str,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        """Run a command (e.g. ``"helm", "list"``) with this cluster's environment."""
        return subprocess.run(
            list(argv),
            env=self.env(),
            check=check,
            capture_output=True,
            text=True,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            timeout=timeout,
        )

    def kubectl_run(self, *args: str, **kw: Any) -> subprocess.CompletedProcess:
        return self.run(self.kubectl, *args, **kw)

    def helm_run(self, *args: str, **kw: Any) -> subprocess.CompletedProcess:
        return self.run(str(self.helm), *args, **kw)


def print_err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
