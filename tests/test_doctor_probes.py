"""`jenkins-kit doctor` against loopback listeners only.

Every probe target is configurable; these tests aim them at servers on 127.0.0.1 and a guard
fails the test if anything tries to connect elsewhere (the lab's 192.168.x addresses must never
be contacted from tests).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from jenkins_kit import doctor
from jenkins_kit.cli.main import cli
from jenkins_kit.config.schema import LabConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lab" / "jenkins-kit.yaml"
TOKEN = "tok-3e1f0c9a7b5d4c2e8f6a"  # a fake API token: must never be printed


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail on any connection to a non-loopback address (TCP or UDP, IPv4 or IPv6)."""
    real = socket.socket
    contacted: list[str] = []

    class Guarded(real):  # type: ignore[misc, valid-type]
        def _check(self, address):
            host = address[0] if isinstance(address, tuple) else str(address)
            contacted.append(host)
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise AssertionError(f"test tried to contact {host}: only loopback is allowed")

        def connect(self, address):
            self._check(address)
            return super().connect(address)

        def connect_ex(self, address):
            self._check(address)
            return super().connect_ex(address)

    def no_dns(host, *a, **k):
        if host not in ("127.0.0.1", "localhost", "::1") and not str(host).startswith("127."):
            raise AssertionError(f"test tried to resolve {host}")
        return real_getaddrinfo(host, *a, **k)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket, "socket", Guarded)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.delenv("JENKINS_URL", raising=False)
    monkeypatch.delenv("JENKINS_USER_ID", raising=False)
    monkeypatch.delenv("JENKINS_API_TOKEN", raising=False)
    return contacted


def _serve(handler_cls):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *a):  # keep pytest output clean
        pass

    def _send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Registry(_Quiet):
    def do_GET(self):
        if self.path == "/v2/":
            self._send(401, b"{}", {"Docker-Distribution-Api-Version": "registry/2.0", "WWW-Authenticate": 'Basic realm="r"'})
        else:
            self._send(404)


class NotRegistry(_Quiet):
    def do_GET(self):
        self._send(200 if self.path != "/v2/" else 404, b"hello")


def make_jenkins(plugins, user="admin", token=TOKEN, crumb=True):
    expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()

    class Jenkins(_Quiet):
        def do_GET(self):
            h = {"X-Jenkins": "2.568.2", "Content-Type": "application/json"}
            if self.path.startswith("/login"):
                return self._send(200, b"<html/>", h)
            if self.headers.get("Authorization") != expected:
                return self._send(401, b"", h)
            if self.path.startswith("/api/json"):
                return self._send(200, b'{"mode":"EXCLUSIVE"}', h)
            if self.path.startswith("/whoAmI/api/json"):
                return self._send(200, json.dumps({"name": user}).encode(), h)
            if self.path.startswith("/crumbIssuer/api/json"):
                if not crumb:
                    return self._send(404, b"", h)
                return self._send(200, b'{"crumb":"abc","crumbRequestField":"Jenkins-Crumb"}', h)
            if self.path.startswith("/pluginManager/api/json"):
                return self._send(200, json.dumps({"plugins": plugins}).encode(), h)
            self._send(404, b"", h)

    return Jenkins


def tcp_listener():
    """Accepts connections and never answers: what a bare TCP check used to call a pass."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


class FakeRpcResponder:
    """A STAND-IN WE WROTE for an NFS server's RPC endpoints (no NFS server can run here): it answers
    ONC RPC (RFC 5531) record-marked CALLs over TCP on loopback, as nfsd (program 100003), mountd
    (100005) and rpcbind (100000, GETPORT of RFC 1833) would, all on one port. `versions` is the range
    of NFS versions it claims; `program` replaces NFS by another program. It proves only that our
    probe and our reading of the RFCs agree; the wire layout is cited in jenkins_kit/doctor.py."""

    def __init__(self, program: int = 100003, versions: tuple[int, int] = (3, 4), mountd: bool = True) -> None:
        self.served: dict[int, tuple[int, int]] = {program: versions, 100000: (2, 4)}
        if mountd:
            self.served[100005] = (1, 3)
        self.calls: list[tuple[int, int, int]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import struct

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    head = conn.recv(4)
                    n = struct.unpack(">I", head)[0] & 0x7FFFFFFF
                    body = b""
                    while len(body) < n:
                        body += conn.recv(n - len(body))
                    xid, mtype, rpcvers, prog, vers, proc = struct.unpack(">IIIIII", body[:24])
                    self.calls.append((prog, vers, proc))
                    verf = struct.pack(">II", 0, 0)
                    if prog not in self.served:
                        tail = struct.pack(">I", 1)  # PROG_UNAVAIL
                    elif not self.served[prog][0] <= vers <= self.served[prog][1]:
                        tail = struct.pack(">III", 2, *self.served[prog])  # PROG_MISMATCH low high
                    elif prog == 100000 and proc == 3:  # GETPORT(prog, vers, prot, port) -> port
                        want = struct.unpack(">I", body[40:44])[0]
                        tail = struct.pack(">II", 0, self.port if want in self.served else 0)
                    else:
                        tail = struct.pack(">I", 0)  # SUCCESS, NULL returns nothing
                    reply = struct.pack(">III", xid, 1, 0) + verf + tail
                    conn.sendall(struct.pack(">I", 0x80000000 | len(reply)) + reply)
                except (OSError, struct.error):
                    pass

    def close(self) -> None:
        # shutdown wakes the thread blocked in accept(); a bare close() would leave it accepting on
        # whatever socket reuses the file descriptor next.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def closed_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def lab_cfg() -> LabConfig:
    return LabConfig.model_validate(yaml.safe_load(EXAMPLE.read_text()))


def test_targets_default_to_the_lab_and_are_overridable():
    cfg = lab_cfg()
    t = doctor.Targets.from_config(cfg)
    assert t.nfs_host == "192.168.1.10" and t.nfs_port == 2049
    assert t.registry_url == "https://192.168.1.10:8443" and t.registry_insecure
    t2 = doctor.Targets.from_config(cfg, nfs="127.0.0.1:12049", registry_url="http://127.0.0.1:5000/", jenkins_url="http://127.0.0.1:8080")
    assert doctor.probe_hosts(t2) == ["127.0.0.1", "127.0.0.1", "127.0.0.1"]
    assert t2.nfs_port == 12049 and t2.jenkins_url == "http://127.0.0.1:8080/"
    assert doctor.split_host_port("[::1]:2049", 1) == ("::1", 2049)
    assert doctor.split_host_port("::1", 2049) == ("::1", 2049)


def test_guard_blocks_lab_addresses(loopback_only):
    with pytest.raises(AssertionError, match="192.168.1.10"):
        doctor.tcp_probe("192.168.1.10", 2049, 0.1)


def test_nfs_registry_and_jenkins_pass_on_loopback(monkeypatch, tmp_path, loopback_only):
    cfg = lab_cfg()
    nfs = FakeRpcResponder()
    reg = _serve(Registry)
    plugins = [{"shortName": p.split(":")[0], "version": p.split(":")[1], "active": True} for p in cfg.jenkins.plugins]
    jen = _serve(make_jenkins(plugins))
    showmount = tmp_path / "showmount"
    showmount.write_text("#!/bin/sh\necho '/nfs_shared/jenkins 192.168.1.0/24'\necho '/srv *'\n")
    showmount.chmod(0o755)
    monkeypatch.setenv("JENKINS_USER_ID", "admin")
    monkeypatch.setenv("JENKINS_API_TOKEN", TOKEN)
    try:
        t = doctor.Targets.from_config(
            cfg, nfs=f"127.0.0.1:{nfs.getsockname()[1]}", registry_url=f"http://127.0.0.1:{reg.server_port}",
            jenkins_url=f"http://127.0.0.1:{jen.server_port}/", timeout=2, rpcbind_port=nfs.port,
        )
        report = doctor.run(cfg, t, connect=lambda: None, skip={"cluster", "helm"}, showmount=str(showmount))
    finally:
        nfs.close(), reg.shutdown(), jen.shutdown()
    by = {c.name: c for c in report.checks}
    assert {n: c.status for n, c in by.items()} == {
        "nfs server": "pass", "nfs mountd": "pass", "nfs export": "pass", "registry": "pass",
        "jenkins": "pass", "jenkins auth": "pass", "jenkins crumb": "pass", "jenkins plugins": "pass",
    }, report.to_json()
    assert "requires credentials" in by["registry"].detail
    assert "192.168.1.0/24" in by["nfs export"].detail
    assert TOKEN not in json.dumps(report.to_json())
    assert set(loopback_only) == {"127.0.0.1"}


def test_failures_come_with_fixes(monkeypatch, tmp_path):
    cfg = lab_cfg()
    plugins = [{"shortName": "kubernetes", "version": "1.0", "active": True}]
    jen = _serve(make_jenkins(plugins, crumb=False))
    reg = _serve(NotRegistry)
    showmount = tmp_path / "showmount"
    showmount.write_text("#!/bin/sh\necho '/srv *'\n")
    showmount.chmod(0o755)
    nfs = FakeRpcResponder()
    monkeypatch.setenv("JENKINS_USER_ID", "admin")
    monkeypatch.setenv("JENKINS_API_TOKEN", TOKEN)
    try:
        t = doctor.Targets.from_config(cfg, nfs=f"127.0.0.1:{nfs.getsockname()[1]}", registry_url=f"http://127.0.0.1:{reg.server_port}",
                                       jenkins_url=f"http://127.0.0.1:{jen.server_port}", timeout=2, rpcbind_port=nfs.port)
        report = doctor.run(cfg, t, connect=lambda: None, skip={"cluster", "helm"}, showmount=str(showmount))
        by = {c.name: c for c in report.checks}
        assert by["nfs export"].status == "fail" and "nfs export" in by["nfs export"].fix
        assert by["registry"].status == "fail" and "registry.address" in by["registry"].fix
        assert by["jenkins crumb"].status == "pass" and "no crumb issuer" in by["jenkins crumb"].detail
        assert by["jenkins plugins"].status == "fail" and "workflow-aggregator" in by["jenkins plugins"].detail
        assert not report.ok
        # Wrong token: auth fails, never echoing the token.
        monkeypatch.setenv("JENKINS_API_TOKEN", "wrong-token-value-123")
        report = doctor.run(cfg, t, connect=lambda: None, skip={"cluster", "helm", "nfs", "registry"})
        auth = next(c for c in report.checks if c.name == "jenkins auth")
        assert auth.status == "fail" and "refused" in auth.detail and "wrong-token" not in json.dumps(report.to_json())
    finally:
        jen.shutdown(), reg.shutdown(), nfs.close()
    # Nothing listening: NFS fails with the fix, Jenkins is only a warning (not installed yet).
    t = doctor.Targets.from_config(cfg, nfs=f"127.0.0.1:{closed_port()}", registry_url=f"http://127.0.0.1:{closed_port()}",
                                   jenkins_url=f"http://127.0.0.1:{closed_port()}", timeout=1)
    report = doctor.run(cfg, t, connect=lambda: None, skip={"cluster", "helm"}, showmount=str(showmount))
    by = {c.name: c for c in report.checks}
    assert by["nfs server"].status == "fail" and "refused" in by["nfs server"].detail and "2049" in by["nfs server"].fix
    assert by["nfs export"].status == "skip"
    assert by["registry"].status == "fail"
    assert by["jenkins"].status == "warn" and "jenkins-kit up" in by["jenkins"].fix


def test_cluster_unreachable_is_a_failure_with_a_fix(tmp_path):
    conf = tmp_path / "jenkins-kit.yaml"
    data = yaml.safe_load(EXAMPLE.read_text())
    data["cluster"]["kubeconfig"] = str(tmp_path / "missing.kubeconfig")
    conf.write_text(yaml.safe_dump(data))
    nfs = FakeRpcResponder()
    reg = _serve(Registry)
    try:
        res = CliRunner().invoke(cli, [
            "doctor", "-c", str(conf), "--json", "--helm", str(tmp_path / "no-helm"),
            "--nfs-address", f"127.0.0.1:{nfs.getsockname()[1]}", "--rpcbind-port", str(nfs.port),
            "--registry-url", f"http://127.0.0.1:{reg.server_port}",
        ])
    finally:
        nfs.close(), reg.shutdown()
    assert res.exit_code == 20, res.output  # ERROR: a failed check
    data = json.loads(res.stdout)
    by = {c["name"]: c for c in data["checks"]}
    assert by["cluster"]["status"] == "fail" and "KUBECONFIG" in by["cluster"]["fix"]
    assert by["control-plane node"]["status"] == "skip"
    assert by["helm"]["status"] == "fail" and "JENKINS_KIT_HELM" in by["helm"]["fix"]
    assert by["nfs server"]["status"] == "pass" and by["registry"]["status"] == "pass"
    assert by["jenkins"]["status"] == "skip"  # no URL configured: nothing is guessed


def test_doctor_text_output_lists_fixes(tmp_path):
    conf = tmp_path / "jenkins-kit.yaml"
    conf.write_text(EXAMPLE.read_text())
    res = CliRunner().invoke(cli, ["doctor", "-c", str(conf), "--skip", "cluster", "--skip", "helm", "--skip", "registry",
                                   "--skip", "jenkins", "--nfs-address", f"127.0.0.1:{closed_port()}", "--probe-timeout", "1"])
    assert res.exit_code == 20
    assert "fail nfs server" in res.output and "fix: on the NFS host" in res.output
    assert "0 passed" in res.output


def test_unreachable_api_server_on_loopback(tmp_path):
    """A kubeconfig whose server is a closed loopback port: a failure naming the server, with a fix."""
    port = closed_port()
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token-1234"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "u"}}],
    }))
    conf = tmp_path / "jenkins-kit.yaml"
    conf.write_text(EXAMPLE.read_text())
    res = CliRunner().invoke(cli, ["doctor", "-c", str(conf), "--kubeconfig", str(kc), "--json",
                                   "--skip", "helm", "--skip", "nfs", "--skip", "registry", "--skip", "jenkins"])
    assert res.exit_code == 20, res.output  # ERROR: a failed check
    c = json.loads(res.stdout)["checks"][0]
    assert c["name"] == "cluster" and c["status"] == "fail"
    assert f"127.0.0.1:{port}" in c["detail"] and "doctor" not in c["detail"] and c["fix"]
    assert "not-a-real-token" not in res.output


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab-registry")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, k = tmp_path / "reg.crt", tmp_path / "reg.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return crt, k


def test_registry_tls_is_verified_unless_insecure_and_then_warned(tmp_path, monkeypatch):
    import ssl

    crt, key = _self_signed(tmp_path)
    srv = _serve(Registry)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    url = f"https://127.0.0.1:{srv.server_address[1]}"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    try:
        verified = doctor.Report()
        doctor.check_registry(doctor.Targets("127.0.0.1", registry_url=url, registry_insecure=False), verified)
        assert verified.checks[-1].status == "fail" and "TLS verification failed" in verified.checks[-1].detail

        insecure = doctor.Report()
        doctor.check_registry(doctor.Targets("127.0.0.1", registry_url=url, registry_insecure=True), insecure)
        assert insecure.checks[-1].status == "warn" and "NOT verified" in insecure.checks[-1].detail

        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(crt))  # a lab CA given the usual way is trusted
        trusted = doctor.Report()
        doctor.check_registry(doctor.Targets("127.0.0.1", registry_url=url, registry_insecure=False), trusted)
        assert trusted.checks[-1].status == "pass", trusted.checks[-1].detail
    finally:
        srv.shutdown()


def test_nfs_check_asks_the_nfs_program_not_just_tcp(loopback_only):
    """Issue 14 #17: a port that accepts TCP is not an NFS server; the probe is an RPC NULL call."""
    cfg = lab_cfg()

    def nfs_check(address: str) -> doctor.Check:
        t = doctor.Targets.from_config(cfg, nfs=address, timeout=1, rpcbind_port=int(address.rsplit(":", 1)[1]))
        report = doctor.Report()
        doctor.check_nfs(t, report, showmount="/nonexistent/showmount")
        return report.checks[0]

    good = FakeRpcResponder()
    try:
        c = nfs_check(f"127.0.0.1:{good.port}")
        assert c.status == "pass" and "NULL call for version 4" in c.detail
        assert good.calls[0] == (100003, 4, 0)  # program NFS, version 4, procedure NULL (then mountd)
    finally:
        good.close()
    v3only = FakeRpcResponder(versions=(3, 3))
    try:
        c = nfs_check(f"127.0.0.1:{v3only.port}")
        assert c.status == "pass" and "version 3" in c.detail
        assert v3only.calls[:2] == [(100003, 4, 0), (100003, 3, 0)]
    finally:
        v3only.close()
    for responder, expected in ((FakeRpcResponder(versions=(2, 2)), "versions 2-2 only"),
                                (FakeRpcResponder(program=100005), "does not serve NFS")):
        try:
            c = nfs_check(f"127.0.0.1:{responder.port}")
            assert c.status == "fail" and expected in c.detail, c.detail
        finally:
            responder.close()
    # mountd: found through rpcbind (GETPORT), then a NULL call; missing is a warning (NFSv4 needs none).
    def mountd_check(responder: FakeRpcResponder) -> doctor.Check:
        t = doctor.Targets.from_config(cfg, nfs=f"127.0.0.1:{responder.port}", timeout=1, rpcbind_port=responder.port)
        report = doctor.Report()
        doctor.check_nfs(t, report, showmount="/nonexistent/showmount")
        return next(c for c in report.checks if c.name == "nfs mountd")

    with_mountd = FakeRpcResponder()
    try:
        c = mountd_check(with_mountd)
        assert c.status == "pass" and f"port {with_mountd.port}" in c.detail
        assert (100000, 2, 3) in with_mountd.calls and (100005, 3, 0) in with_mountd.calls  # GETPORT, then NULL
    finally:
        with_mountd.close()
    no_mountd = FakeRpcResponder(mountd=False)
    try:
        c = mountd_check(no_mountd)
        assert c.status == "warn" and "no mountd" in c.detail and c.fix
    finally:
        no_mountd.close()
    silent = tcp_listener()  # accepts, never answers: the old check called this a pass
    try:
        c = nfs_check(f"127.0.0.1:{silent.getsockname()[1]}")
        assert c.status == "fail" and "no RPC answer" in c.detail and c.fix
    finally:
        silent.close()
    http = _serve(NotRegistry)  # an HTTP server on the NFS port
    try:
        c = nfs_check(f"127.0.0.1:{http.server_port}")
        assert c.status == "fail" and "not an NFS server" in c.detail, c.detail
    finally:
        http.shutdown()
