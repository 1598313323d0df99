"""`jenkins-kit doctor`: is the lab ready for `up`, and is Jenkins healthy once it runs?

Each check passes, warns, fails or is skipped, and says how to fix what is wrong. Every network
target comes from the config and can be overridden (`Targets`), so tests aim every probe at
loopback listeners; nothing here picks an address by itself.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.errors import KitError
from jenkins_kit.secrets import SecretValue, scrub

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass
class Targets:
    """Where each probe goes. Defaults come from the config; the CLI and tests override them."""

    nfs_host: str
    nfs_port: int = 2049
    nfs_path: str = "/"
    registry_url: str = ""
    registry_insecure: bool = False
    jenkins_url: str | None = None
    timeout: float = 3.0
    jenkins_verify: bool | str = True  # False: --insecure; a path: --ca-bundle
    rpcbind_port: int = 111

    @classmethod
    def from_config(cls, cfg: LabConfig, *, nfs: str | None = None, registry_url: str | None = None,
                    jenkins_url: str | None = None, timeout: float = 3.0, rpcbind_port: int = 111) -> Targets:
        host, port = cfg.nfs.server, 2049
        if nfs:
            host, port = split_host_port(nfs, 2049)
        reg = registry_url or f"https://{cfg.registry.address}"
        jurl = jenkins_url or os.environ.get("JENKINS_URL") or cfg.jenkins.url
        return cls(host, port, cfg.nfs.path, reg.rstrip("/"), cfg.registry.insecure, jurl.rstrip("/") + "/" if jurl else None, timeout,
                   rpcbind_port=rpcbind_port)


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, c: Check) -> Check:
        self.checks.append(c)
        return c

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(1 for c in self.checks if c.status == s) for s in ("pass", "warn", "fail", "skip")}
        return {"ok": self.ok, "counts": counts, "checks": [c.to_json() for c in self.checks]}


KubeFactory = Callable[[], Any]


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:port', '[v6]:port' or a bare IPv6 address."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


def _safe(fn: Callable[[], Check], name: str) -> Check:
    try:
        return fn()
    except KitError as e:
        return Check(name, "fail", scrub(e.message), e.hint)
    except Exception as e:  # a check must never crash the report
        return Check(name, "fail", f"{e.__class__.__name__}: {scrub(str(e))}")


# ---------------------------------------------------------------------- cluster


def check_cluster(cfg: LabConfig, connect: KubeFactory, report: Report) -> Any | None:
    kube = None

    def cluster() -> Check:
        nonlocal kube
        kube = connect()
        v = kube.version()
        return Check("cluster", "pass", f"reachable at {kube.server}, Kubernetes {v.get('gitVersion')}")

    report.add(_safe(cluster, "cluster"))
    if kube is None:
        for name in ("control-plane node", "builder", "load balancer"):
            report.add(Check(name, "skip", "cluster not reachable"))
        return None

    def node() -> Check:
        name = cfg.cluster.control_plane_node
        n = kube.get("v1", "Node", name)
        if n is None:
            names = sorted((x.get("metadata") or {}).get("name", "?") for x in kube.list("v1", "Node"))
            return Check("control-plane node", "fail", f"node {name} not found (nodes: {', '.join(names) or 'none'})",
                         "set cluster.control_plane_node to the control-plane node's name (kubectl get nodes)")
        taints = (n.get("spec") or {}).get("taints") or []
        keys = {t.get("key"): t.get("effect") for t in taints}
        if "node-role.kubernetes.io/control-plane" in keys:
            return Check("control-plane node", "pass",
                         f"{name} carries node-role.kubernetes.io/control-plane:{keys['node-role.kubernetes.io/control-plane']} "
                         "(tolerated by the controller)")
        if "node-role.kubernetes.io/master" in keys:
            return Check("control-plane node", "pass",
                         f"{name} carries the legacy node-role.kubernetes.io/master:{keys['node-role.kubernetes.io/master']} taint "
                         "(pre-1.25 kubeadm; tolerated by the controller too)")
        return Check("control-plane node", "warn", f"{name} exists but carries no control-plane taint, so other pods may land there too",
                     "kubectl taint nodes " + name + " node-role.kubernetes.io/control-plane:NoSchedule (if that is what you want)")

    report.add(_safe(node, "control-plane node"))
    report.add(_safe(lambda: check_builder(cfg, kube.list("v1", "Node"), (kube.version() or {}).get("gitVersion", ""),
                                           kube.get("v1", "Namespace", cfg.agents.namespace)), "builder"))

    def lb() -> Check:
        if cfg.jenkins.service.type != "LoadBalancer":
            return Check("load balancer", "skip", f"jenkins.service.type is {cfg.jenkins.service.type}")
        if kube.has_kind("metallb.io/v1beta1", "IPAddressPool"):
            pools = kube.list("metallb.io/v1beta1", "IPAddressPool")
            if pools:
                addrs = [a for p in pools for a in (p.get("spec") or {}).get("addresses") or []]
                return Check("load balancer", "pass", f"MetalLB with {len(pools)} address pool(s): {', '.join(addrs)}")
            if cfg.metallb is not None and cfg.metallb.enabled:
                return Check("load balancer", "warn", "MetalLB is installed without an IPAddressPool; 'up' will create one from metallb.addresses")
            return Check("load balancer", "warn", "MetalLB is installed but has no IPAddressPool: the Service will stay <pending>",
                         "add metallb: {addresses: [first-last]} to the config and rerun up")
        for svc in kube.list("v1", "Service"):
            if (svc.get("spec") or {}).get("type") == "LoadBalancer" and ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                meta = svc.get("metadata") or {}
                return Check("load balancer", "pass", f"a LoadBalancer controller works (Service {meta.get('namespace')}/{meta.get('name')} got an address)")
        if cfg.metallb is not None and cfg.metallb.enabled:
            return Check("load balancer", "warn", "no LoadBalancer controller yet; 'up' installs MetalLB from the metallb: section")
        return Check("load balancer", "warn",
                     "no LoadBalancer controller found (no MetalLB CRDs, no Service with an external address): "
                     "the Jenkins Service would stay EXTERNAL-IP <pending>",
                     "add a metallb: section (address range) to the config, or set jenkins.service.type: NodePort")

    report.add(_safe(lb, "load balancer"))
    return kube


_NO_USERNS_OS = re.compile(r"CentOS Linux 7|Red Hat Enterprise Linux (Server )?7|Oracle Linux Server 7|Scientific Linux 7", re.I)


def _minor(version: str) -> int | None:
    m = re.match(r"v?1\.([0-9]+)", version or "")
    return int(m.group(1)) if m else None


def _agent_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nodes agent pods can land on: schedulable and without a NoSchedule/NoExecute taint (the agent
    template tolerates none). All nodes when that leaves none, so the check still says something."""
    out = []
    for n in nodes:
        spec = n.get("spec") or {}
        if spec.get("unschedulable"):
            continue
        if any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints") or []):
            continue
        out.append(n)
    return out or list(nodes)


def check_builder(cfg: LabConfig, nodes: list[dict[str, Any]], server_version: str,
                  agents_namespace: dict[str, Any] | None) -> Check:
    """Can the chosen image builder run where agent pods land? Read from the Node objects' nodeInfo
    (kernelVersion, osImage), the API server's version and the agents namespace's Pod Security label."""
    name = "builder"
    builder = cfg.agents.builder
    problems: list[tuple[Status, str, str]] = []
    enforce = ((agents_namespace or {}).get("metadata") or {}).get("labels", {}).get("pod-security.kubernetes.io/enforce")
    if enforce in ("baseline", "restricted"):
        what = "a privileged container" if builder == "privileged" else "Unconfined seccomp/AppArmor for the builder"
        problems.append(("fail", f"namespace {cfg.agents.namespace} enforces Pod Security '{enforce}', which refuses {what}: "
                                 "agent pods would be rejected",
                         f"kubectl label --overwrite ns {cfg.agents.namespace} pod-security.kubernetes.io/enforce=privileged "
                         "(or run agents in a namespace of their own: agents.namespace)"))
    targets = _agent_nodes(nodes)
    if builder == "rootless":
        bad = []
        for n in targets:
            info = (n.get("status") or {}).get("nodeInfo") or {}
            kernel, os_image = str(info.get("kernelVersion", "")), str(info.get("osImage", ""))
            if kernel.startswith(("2.", "3.")) or _NO_USERNS_OS.search(os_image):
                bad.append(f"{(n.get('metadata') or {}).get('name', '?')} ({os_image or '?'}, kernel {kernel or '?'})")
        if bad:
            status: Status = "fail" if len(bad) == len(targets) else "warn"
            problems.append((status,
                             f"rootless BuildKit needs unprivileged user namespaces, which {', '.join(bad)} "
                             f"{'does' if len(bad) == 1 else 'do'} not give by default (CentOS/RHEL 7, kernel 3.10: "
                             "user.max_user_namespaces=0): image builds there fail ('newuidmap'/'operation not permitted')",
                             "either enable them on those nodes (CentOS 7.8+: echo user.max_user_namespaces=28633 > "
                             "/etc/sysctl.d/99-userns.conf && sysctl --system), or set agents.builder: privileged "
                             "(BuildKit as root in a privileged container) and rerun up"))
    server_minor = _minor(server_version)
    config_minor = _minor(cfg.cluster.kubernetes_version)
    if builder == "rootless" and server_minor is not None and config_minor is not None and server_minor < 30 <= config_minor:
        problems.append(("warn", f"the cluster runs Kubernetes 1.{server_minor}, but the config says cluster.kubernetes_version "
                                 f"{cfg.cluster.kubernetes_version}: the builder's appArmorProfile field (1.30+) would be "
                                 "dropped and AppArmor hosts would confine BuildKit",
                         f"set cluster.kubernetes_version: \"1.{server_minor}\" (jenkins-kit then writes the AppArmor annotation)"))
    if problems:
        worst: Status = "fail" if any(p[0] == "fail" for p in problems) else "warn"
        return Check(name, worst, "; ".join(p[1] for p in problems), " | ".join(p[2] for p in problems))
    where = ", ".join(sorted(str((n.get("metadata") or {}).get("name", "?")) for n in targets)) or "no nodes yet"
    if builder == "privileged":
        return Check(name, "pass", f"privileged BuildKit ({cfg.agents.builder_image}) needs no user namespaces; agent nodes: {where} "
                                   "(the builder container has full access to its node)")
    return Check(name, "pass", f"rootless BuildKit ({cfg.agents.builder_image}) can run on the agent nodes: {where}")


# ---------------------------------------------------------------------- local tools and the lab network


def check_helm(helm_binary: str | None, report: Report) -> None:
    from jenkins_kit.kube.helm import Helm

    def helm() -> Check:
        h = Helm(helm_binary)
        v = h.version()
        if not v.startswith("v3."):
            return Check("helm", "warn", f"helm {v} at {h.binary}; jenkins-kit is tested with helm v3", "install helm v3")
        return Check("helm", "pass", f"helm {v} at {h.binary}")

    report.add(_safe(helm, "helm"))


def tcp_probe(host: str, port: int, timeout: float) -> str | None:
    """None if a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        return f"no answer within {timeout:.0f}s (firewall, or host down)"
    except ConnectionRefusedError:
        return "connection refused (nothing listens there)"
    except OSError as e:
        return e.strerror or e.__class__.__name__


# ONC RPC (RFC 5531) over TCP: one record-marked CALL of procedure 0 (NULL), which every RPC program
# answers without touching any state. The NFS server answers on its own port (2049) without rpcbind.
NFS_PROGRAM = 100003
MOUNT_PROGRAM = 100005
RPCBIND_PROGRAM = 100000
_RPC_CALL, _RPC_REPLY = 0, 1
_ACCEPT = {0: "SUCCESS", 1: "PROG_UNAVAIL", 2: "PROG_MISMATCH", 3: "PROC_UNAVAIL", 4: "GARBAGE_ARGS", 5: "SYSTEM_ERR"}


@dataclass(frozen=True)
class RpcAnswer:
    accepted: str | None  # an _ACCEPT name, or None when the call was denied (MSG_DENIED)
    versions: tuple[int, int] | None = None  # PROG_MISMATCH: the lowest and highest version served


def rpc_call(host: str, port: int, program: int, version: int, proc: int, args: bytes, timeout: float) -> tuple[RpcAnswer, bytes]:
    """One ONC RPC call over TCP with AUTH_NONE; returns the reply header and the result bytes.

    Raises OSError (connection), TimeoutError, or ValueError when what answers does not speak RPC."""
    xid = int.from_bytes(os.urandom(4), "big")
    # xid, CALL, rpcvers 2, prog, vers, proc, cred AUTH_NONE (flavor 0, length 0), verf AUTH_NONE.
    body = struct.pack(">IIIIIIIIII", xid, _RPC_CALL, 2, program, version, proc, 0, 0, 0, 0) + args
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">I", 0x80000000 | len(body)) + body)
        head = _recv_exact(sock, 4)
        length = struct.unpack(">I", head)[0] & 0x7FFFFFFF
        if length < 12 or length > 65536:
            raise ValueError(f"the answer is not an RPC record (length field {length})")
        reply = _recv_exact(sock, length)
    rxid, mtype, stat = struct.unpack(">III", reply[:12])
    if rxid != xid or mtype != _RPC_REPLY:
        raise ValueError("the answer is not an RPC reply to our call")
    if stat == 1:  # MSG_DENIED (RPC version mismatch or authentication)
        return RpcAnswer(None), b""
    if stat != 0 or len(reply) < 20:
        raise ValueError("malformed RPC reply")
    verf_len = struct.unpack(">I", reply[16:20])[0]
    off = 20 + ((verf_len + 3) // 4) * 4
    if len(reply) < off + 4:
        raise ValueError("malformed RPC reply")
    accept = struct.unpack(">I", reply[off : off + 4])[0]
    name = _ACCEPT.get(accept, f"accept_stat {accept}")
    if accept == 2 and len(reply) >= off + 12:
        lo, hi = struct.unpack(">II", reply[off + 4 : off + 12])
        return RpcAnswer(name, (lo, hi)), b""
    return RpcAnswer(name), reply[off + 4 :]


def rpc_null(host: str, port: int, program: int, version: int, timeout: float) -> RpcAnswer:
    """A NULL call (procedure 0): every RPC program answers it without touching any state."""
    return rpc_call(host, port, program, version, 0, b"", timeout)[0]


def rpcbind_getport(host: str, program: int, version: int, timeout: float, port: int = 111) -> int | None:
    """PMAPPROC_GETPORT (RFC 1833, portmapper version 2, procedure 3) for `program` over TCP;
    None when it is not registered (port 0)."""
    ans, result = rpc_call(host, port, RPCBIND_PROGRAM, 2, 3, struct.pack(">IIII", program, version, 6, 0), timeout)
    if ans.accepted != "SUCCESS" or len(result) < 4:
        raise ValueError(f"rpcbind answered {ans.accepted or 'MSG_DENIED'}")
    found = struct.unpack(">I", result[:4])[0]
    return found or None


def mountd_probe(host: str, timeout: float, rpcbind_port: int = 111) -> tuple[Status, str]:
    """(status, detail) of the mount daemon NFSv3 clients need: found through rpcbind, then a NULL call."""
    try:
        port = rpcbind_getport(host, MOUNT_PROGRAM, 3, timeout, rpcbind_port)
    except (OSError, ValueError) as e:
        why = "no answer" if isinstance(e, (TimeoutError, socket.timeout)) else (getattr(e, "strerror", None) or str(e))
        return "warn", f"rpcbind on {host}:{rpcbind_port} cannot be asked for mountd ({why}); NFSv4-only servers need neither"
    if port is None:
        return "warn", f"rpcbind on {host} has no mountd (program {MOUNT_PROGRAM} v3) registered: NFSv3 mounts will fail, NFSv4 works"
    try:
        ans = rpc_null(host, port, MOUNT_PROGRAM, 3, timeout)
    except (OSError, ValueError) as e:
        return "fail", f"mountd registered on port {port} does not answer: {getattr(e, 'strerror', None) or e}"
    if ans.accepted == "SUCCESS":
        return "pass", f"mountd (program {MOUNT_PROGRAM} v3) answers a NULL call on port {port}"
    return "fail", f"mountd on port {port} answered the NULL call with {ans.accepted or 'MSG_DENIED'}"


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ValueError("the connection closed before a complete RPC reply" if data else "the connection closed without an answer")
        data += chunk
    return data


def nfs_probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    """(ok, what was found): ask the NFS program itself (NULL call, version 4, then 3)."""
    served: tuple[int, int] | None = None
    for version in (4, 3):
        try:
            ans = rpc_null(host, port, NFS_PROGRAM, version, timeout)
        except ConnectionRefusedError:
            return False, "connection refused (nothing listens there)"
        except (TimeoutError, socket.timeout):
            return False, f"no RPC answer within {timeout:g}s (a firewall, the host is down, or what listens is not an NFS server)"
        except ValueError as e:
            return False, f"something listens there, but it is not an NFS server: {e}"
        except OSError as e:
            return False, e.strerror or e.__class__.__name__
        if ans.accepted == "SUCCESS":
            return True, f"NFS server (RPC program {NFS_PROGRAM}) answers a NULL call for version {version}"
        if ans.accepted == "PROG_MISMATCH" and ans.versions:
            served = ans.versions
            if not served[0] <= 3 <= served[1]:
                break
            continue
        if ans.accepted == "PROG_UNAVAIL":
            return False, f"an RPC server answers, but it does not serve NFS (program {NFS_PROGRAM})"
        if ans.accepted is None:
            return False, "an RPC server answers, but it denied the call"
        return False, f"the NFS server answered the NULL call with {ans.accepted}"
    if served:
        return False, f"the NFS server serves versions {served[0]}-{served[1]} only; Kubernetes mounts NFS 3 or 4"
    return False, "the NFS server did not accept a NULL call for version 4 or 3"


def check_nfs(t: Targets, report: Report, showmount: str | None = None) -> None:
    ok, what = nfs_probe(t.nfs_host, t.nfs_port, t.timeout)
    why = None if ok else what
    if ok:
        report.add(Check("nfs server", "pass", f"{t.nfs_host}:{t.nfs_port}: {what}"))
        status, detail = mountd_probe(t.nfs_host, t.timeout, t.rpcbind_port)
        report.add(Check("nfs mountd", status, detail,
                         None if status == "pass" else "on the NFS host: systemctl enable --now rpcbind nfs-mountd (or nfs-server); open TCP 111"))
    else:
        report.add(Check("nfs server", "fail", f"{t.nfs_host}:{t.nfs_port}: {what}",
                         "on the NFS host: systemctl enable --now nfs-server (Debian: nfs-kernel-server), open TCP 2049, "
                         "then run 'jenkins-kit nfs export' there"))
    tool = showmount or shutil.which("showmount")
    if tool is None:
        report.add(Check("nfs export", "skip", "showmount not installed here (Debian: nfs-common), export list not checked"))
        return
    if why is not None:
        report.add(Check("nfs export", "skip", "NFS server not reachable"))
        return
    try:
        proc = subprocess.run([tool, "-e", "--no-headers", t.nfs_host], capture_output=True, text=True, timeout=max(t.timeout, 5))
    except subprocess.TimeoutExpired:
        report.add(Check("nfs export", "warn", f"showmount -e {t.nfs_host} timed out", "is rpcbind (TCP/UDP 111) reachable?"))
        return
    except OSError as e:
        report.add(Check("nfs export", "warn", f"cannot run {tool}: {e.strerror or e}", "give a working showmount with --showmount, or install nfs-common"))
        return
    if proc.returncode != 0:
        report.add(Check("nfs export", "warn", f"showmount -e {t.nfs_host} failed: {proc.stderr.strip()}",
                         "NFSv4-only servers do not answer showmount; check the export on the host"))
        return
    exports = {line.split()[0].rstrip("/"): " ".join(line.split()[1:]) for line in proc.stdout.splitlines() if line.strip()}
    want = t.nfs_path.rstrip("/")
    if want in exports:
        report.add(Check("nfs export", "pass", f"{want} is exported to {exports[want] or '(everyone)'}"))
    else:
        report.add(Check("nfs export", "fail", f"{want} is not in the server's export list ({', '.join(sorted(exports)) or 'empty'})",
                         "run 'jenkins-kit nfs export' as root on the NFS host"))


def _session() -> Any:
    import requests

    s = requests.Session()
    s.trust_env = False  # lab addresses: never through a proxy from the environment
    # ...but a lab CA given the usual way is honoured, as the Jenkins client does.
    ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca:
        s.verify = ca
    return s


def _insecure_request_warning() -> type[Warning]:
    import urllib3

    return urllib3.exceptions.InsecureRequestWarning


def registry_login(cfg: LabConfig) -> tuple[str, Any] | None:
    """(username, SecretValue) when the registry password resolves here (env or file references;
    a reference to a Kubernetes Secret is checked by the cluster, not by this probe)."""
    from jenkins_kit.secrets import resolve

    cred = cfg.registry.credentials
    if cred is None or cred.password.secret is not None:
        return None
    try:
        return cred.username, resolve(cred.password)
    except KitError:
        return None


def check_registry(t: Targets, report: Report, login: tuple[str, Any] | None = None) -> None:
    import requests

    url = f"{t.registry_url}/v2/"
    session = _session()
    if t.registry_insecure:
        session.verify = False  # registry.insecure: the lab registry's certificate is self-signed
    try:
        with warnings.catch_warnings():
            # registry.insecure is reported once as this check's own warning, not by urllib3 per request.
            warnings.simplefilter("ignore", category=_insecure_request_warning())
            r = session.get(url, timeout=t.timeout, allow_redirects=False)
    except requests.exceptions.SSLError:
        report.add(Check("registry", "fail", f"TLS verification failed for {url}",
                         "set registry.insecure: true for a self-signed lab registry (and configure containerd on the nodes)"))
        return
    except requests.RequestException as e:
        report.add(Check("registry", "fail", f"cannot reach {url}: {e.__class__.__name__}", "is the registry running and reachable from here?"))
        return
    api = r.headers.get("Docker-Distribution-Api-Version", "")
    if r.status_code in (200, 401) and (api.startswith("registry/2") or r.status_code == 200):
        auth = " (requires credentials)" if r.status_code == 401 else ""
        if t.registry_insecure and url.startswith("https://"):
            report.add(Check("registry", "warn", f"{url} answers the registry v2 API{auth}, but its TLS certificate was NOT "
                             "verified (registry.insecure: true); pushes send the registry credentials over that connection",
                             "give the registry a certificate from a CA the nodes trust and set registry.insecure: false"))
        else:
            report.add(Check("registry", "pass", f"{url} answers the registry v2 API{auth}"))
        if r.status_code == 401 and login is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=_insecure_request_warning())
                _check_registry_login(session, url, t, login, report)
    else:
        report.add(Check("registry", "fail", f"{url} answered HTTP {r.status_code}, not the registry v2 API",
                         "check registry.address (host:port of a Docker registry v2)"))


def _check_registry_login(session: Any, url: str, t: Targets, login: tuple[str, Any], report: Report) -> None:
    """The credentials the agents will push with, tried against /v2/ (basic auth, as htpasswd
    registries take it; a token-auth registry answers with a Bearer challenge we report as such)."""
    import requests

    user, password = login
    try:
        r = session.get(url, timeout=t.timeout, allow_redirects=False, auth=(user, password.reveal()))
    except requests.RequestException as e:
        report.add(Check("registry login", "fail", f"cannot reach {url}: {e.__class__.__name__}"))
        return
    if r.status_code == 200:
        report.add(Check("registry login", "pass", f"registry.credentials ({user}) accepted by {url}"))
    elif "bearer" in r.headers.get("WWW-Authenticate", "").lower():
        report.add(Check("registry login", "skip", "the registry uses token auth; the credentials are checked on the first push"))
    else:
        report.add(Check("registry login", "fail", f"registry.credentials ({user}) rejected by {url}: HTTP {r.status_code}",
                         "check registry.credentials.username and the password reference (docker login with the same values)"))


def check_release_secrets(cfg: LabConfig, connect: KubeFactory, helm_binary: str | None, report: Report) -> None:
    """The live release's JCasC `${...}` and agent Secret volumes against its live pod spec and
    Secrets: what `plan` proves before an install, checked after one."""
    from jenkins_kit.kube.helm import Helm, HelmMissing
    from jenkins_kit.secretrefs import check_release

    def run() -> Check:
        try:
            helm = Helm(helm_binary)
        except HelmMissing:
            return Check("secret references", "skip", "helm not available")
        kube = connect()
        ns, rel = cfg.cluster.namespace, cfg.jenkins.release
        status = helm.status(rel, ns)
        if status is None:
            return Check("secret references", "skip", f"release {ns}/{rel} is not installed")
        scripts = (((status.get("config") or {}).get("controller") or {}).get("JCasC") or {}).get("configScripts") or {}

        def keys(n: str, name: str) -> set[str] | None:
            live = kube.get("v1", "Secret", name, n)
            return None if live is None else set(live.get("data") or {})

        problems = check_release(cfg, scripts, status.get("manifest") or "", keys)
        if problems:
            return Check("secret references", "fail", "; ".join(f"{p.where}: {p.message}" for p in problems),
                         "; ".join(dict.fromkeys(p.hint for p in problems)))
        return Check("secret references", "pass", f"every ${{...}} in the {len(scripts)} live JCasC fragment(s) resolves in the controller pod")

    report.add(_safe(run, "secret references"))


# ---------------------------------------------------------------------- Jenkins


def _jenkins_auth() -> tuple[str, SecretValue] | None:
    user, token = os.environ.get("JENKINS_USER_ID"), os.environ.get("JENKINS_API_TOKEN")
    if user and token:
        return user, SecretValue(token, "env $JENKINS_API_TOKEN")
    return None


def check_jenkins(cfg: LabConfig, t: Targets, report: Report) -> None:

    if not t.jenkins_url:
        for n in ("jenkins", "jenkins auth", "jenkins crumb", "jenkins plugins"):
            report.add(Check(n, "skip", "no Jenkins URL (set jenkins.url, JENKINS_URL or --jenkins-url once Jenkins runs)"))
        return
    base = t.jenkins_url
    s = _session()
    if t.jenkins_verify is not True:
        s.verify = t.jenkins_verify
    if t.jenkins_verify is False and base.startswith("https://"):
        report.add(Check("jenkins tls", "warn", f"TLS certificate verification is OFF for {base} (--insecure)",
                         "trust the controller's CA with --ca-bundle instead"))
    with warnings.catch_warnings():
        # Said once above as a check; urllib3 would repeat it for every request.
        warnings.simplefilter("ignore", category=_insecure_request_warning())
        _check_jenkins(cfg, t, report, s, base)


def _check_jenkins(cfg: LabConfig, t: Targets, report: Report, s: Any, base: str) -> None:
    import requests

    try:
        r = s.get(base + "login", timeout=t.timeout, allow_redirects=False)
    except requests.RequestException as e:
        report.add(Check("jenkins", "warn", f"cannot reach {base}: {e.__class__.__name__}", "not installed yet? run jenkins-kit up"))
        for n in ("jenkins auth", "jenkins crumb", "jenkins plugins"):
            report.add(Check(n, "skip", "Jenkins not reachable"))
        return
    version = r.headers.get("X-Jenkins")
    if not version:
        report.add(Check("jenkins", "fail", f"{base} answered HTTP {r.status_code} without an X-Jenkins header: not Jenkins?",
                         "check jenkins.url / JENKINS_URL"))
        return
    report.add(Check("jenkins", "pass", f"Jenkins {version} at {base}"))
    auth = _jenkins_auth()
    if auth is None:
        for n in ("jenkins auth", "jenkins crumb", "jenkins plugins"):
            report.add(Check(n, "skip", "set JENKINS_USER_ID and JENKINS_API_TOKEN to check"))
        return
    s.auth = (auth[0], auth[1].reveal())
    try:
        r = s.get(base + "api/json", timeout=t.timeout)
        if r.status_code in (401, 403):
            report.add(Check("jenkins auth", "fail", f"user {auth[0]} was refused (HTTP {r.status_code})",
                             "create an API token in Jenkins (user > Security) and export JENKINS_API_TOKEN"))
            return
        if r.status_code != 200:
            report.add(Check("jenkins auth", "fail", f"GET api/json: HTTP {r.status_code}"))
            return
        who = s.get(base + "whoAmI/api/json", timeout=t.timeout)
        name = who.json().get("name") if who.status_code == 200 else auth[0]
        report.add(Check("jenkins auth", "pass", f"authenticated as {name}"))
        r = s.get(base + "crumbIssuer/api/json", timeout=t.timeout)
        if r.status_code == 200 and r.json().get("crumb"):
            report.add(Check("jenkins crumb", "pass", f"crumb issued ({r.json().get('crumbRequestField')})"))
        elif r.status_code == 404:
            report.add(Check("jenkins crumb", "pass", "no crumb issuer (CSRF protection off); API tokens need none"))
        else:
            report.add(Check("jenkins crumb", "fail", f"crumb request failed: HTTP {r.status_code}", "check the crumb issuer in Manage Jenkins > Security"))
        with _jenkins_client(base, auth, t) as client:
            report.add(check_plugins(cfg, client, version))
    except (requests.RequestException, ValueError) as e:
        report.add(Check("jenkins auth", "fail", f"talking to {base} failed: {e.__class__.__name__}: {scrub(str(e))}"))


def _jenkins_client(base: str, auth: tuple[str, SecretValue], t: Targets) -> Any:
    from jenkins_kit.jenkins.client import JenkinsClient
    from jenkins_kit.jenkins.settings import JenkinsSettings

    return JenkinsClient(JenkinsSettings(url=base, user=auth[0], secret=auth[1], timeout=t.timeout, retries=0,
                                         unavailable_wait=0, source="doctor"))


def check_plugins(cfg: LabConfig, client: Any, core: str | None) -> Check:
    """The live controller's plugins (GET /pluginManager/api/json) against the pins and the pin table:
    a pin missing or inactive, a version other than pinned, a plugin below another's floor, a plugin
    needing a newer core than the controller runs."""
    from jenkins_kit.plugins import core_of_image_tag, live_problems

    name = "jenkins plugins"
    try:
        data = client.get_json("pluginManager/api/json", depth=1, tree="plugins[shortName,version,active]")
    except KitError as e:
        return Check(name, "fail", f"cannot list plugins: {scrub(e.message)}", e.hint or "the user needs Overall/SystemRead to list plugins")
    have = {p.get("shortName"): p for p in data.get("plugins") or []}
    missing, other, inactive = [], [], []
    for pin in cfg.jenkins.plugins:
        short, ver = pin.split(":", 1)
        p = have.get(short)
        if p is None:
            missing.append(short)
        elif p.get("active") is False:
            inactive.append(short)
        elif p.get("version") != ver:
            other.append(f"{short} {p.get('version')} (pinned {ver})")
    if missing or inactive:
        return Check(name, "fail", "missing: " + ", ".join(missing) + ("; inactive: " + ", ".join(inactive) if inactive else ""),
                     "plugins come from jenkins.plugins through the chart's installPlugins: rerun jenkins-kit up and watch the init container")
    broken = live_problems({k: str(v.get("version")) for k, v in have.items() if k}, core_of_image_tag(core or ""))
    if broken:
        return Check(name, "fail", "; ".join(broken),
                     "pin the named plugins at or above those versions in jenkins.plugins (or raise jenkins.image_tag), then rerun jenkins-kit up")
    if other:
        return Check(name, "warn", "versions differ from the pins: " + ", ".join(other),
                     "rerun jenkins-kit up to install the pinned versions, or pin what runs")
    return Check(name, "pass", f"all {len(cfg.jenkins.plugins)} pinned plugins present at the pinned versions; no floor broken")


def run(cfg: LabConfig, targets: Targets, *, connect: KubeFactory, helm_binary: str | None = None,
        showmount: str | None = None, skip: set[str] | None = None) -> Report:
    skip = skip or set()
    report = Report()
    if "cluster" not in skip:
        check_cluster(cfg, connect, report)
    if "helm" not in skip:
        check_helm(helm_binary, report)
    if "nfs" not in skip:
        check_nfs(targets, report, showmount)
    if "cluster" not in skip and "helm" not in skip:
        check_release_secrets(cfg, connect, helm_binary, report)
    if "registry" not in skip:
        check_registry(targets, report, registry_login(cfg))
    if "jenkins" not in skip:
        check_jenkins(cfg, targets, report)
    return report


def probe_hosts(t: Targets) -> list[str]:
    """Every host the network probes would contact (for --dry-run / tests)."""
    hosts = [t.nfs_host, urlsplit(t.registry_url).hostname or ""]
    if t.jenkins_url:
        hosts.append(urlsplit(t.jenkins_url).hostname or "")
    return [h for h in hosts if h]
