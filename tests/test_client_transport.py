"""Transport-level behaviour of JenkinsClient against a tiny scripted HTTP server (no Jenkins double needed):
timeouts, dropped connections, refused connections, retry/backoff policy, TLS, error rendering, and
that secret values never reach logs or exception text."""

from __future__ import annotations

import base64
import datetime
import http.server
import logging
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jenkins_kit.errors import ExitCode
from jenkins_kit.jenkins import errors as jerr
from jenkins_kit.jenkins.client import (
    InsecureJenkinsWarning,
    JenkinsClient,
    permission_title,
)
from jenkins_kit.jenkins.settings import JenkinsSettings

TOKEN = "tok-zz91-SECRET-abcdef"
PASSWORD = "pw-zz91-SECRET-ghijkl"

Handler = Callable[["_H"], None]


class _H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *a: Any) -> None:
        pass

    def reply(self, code: int, body: bytes | str = b"", headers: dict[str, str | None] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        # Jenkins sends X-Jenkins on every api/* answer and on its 404 page (jenkins-remote-api.md §0.2).
        for k, v in {"X-Jenkins": "2.479.3", **(headers or {})}.items():
            if v is not None:  # None: leave this header out
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(n) if n else b""
        self.server.log.append((self.command, self.path))
        route = self.path.split("?", 1)[0]
        fn = self.server.routes.get((self.command, route)) or self.server.routes.get(("*", route))
        if fn is None:
            self.reply(404, "<html><head><title>Not Found</title></head></html>")
        else:
            fn(self)

    do_GET = do_POST = do_DELETE = _dispatch


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[tuple[str, str], Handler]
    log: list[tuple[str, str]]

    def count(self, method: str, route: str) -> int:
        return sum(1 for m, p in self.log if m == method and p.split("?", 1)[0] == route)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _H)
    srv.routes, srv.log = {}, []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _settings(url: str, **kw: Any) -> JenkinsSettings:
    opts = {"retries": 3, "backoff_base": 0.001, "backoff_max": 0.01, "unavailable_wait": 1.0}
    opts.update({k: kw.pop(k) for k in list(kw) if k in opts or k == "probe_not_found"})
    env = {"JENKINS_URL": url, "JENKINS_USER_ID": "alice", "JENKINS_API_TOKEN": TOKEN}
    if kw.pop("password", False):
        env = {"JENKINS_URL": url, "JENKINS_USER_ID": "alice", "JENKINS_PASSWORD": PASSWORD}
    return JenkinsSettings.resolve(env=env, **kw, **opts)


def _client(srv: _Server, **kw: Any) -> JenkinsClient:
    return JenkinsClient(_settings(f"http://127.0.0.1:{srv.server_address[1]}/", **kw))


def _drop(h: _H) -> None:
    """Close the connection without answering (as a crashing proxy or a restart would)."""
    h.close_connection = True
    h.connection.shutdown(socket.SHUT_RDWR)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- timeouts and dropped connections
def test_post_read_timeout_is_not_repeated_and_says_it_may_have_applied(server: _Server) -> None:
    server.routes[("POST", "/job/a/build")] = lambda h: (time.sleep(0.6), h.reply(201))
    c = _client(server, timeout=0.2)
    with pytest.raises(jerr.JenkinsTimeoutError) as e:
        c.post("job/a/build")
    assert e.value.may_have_been_applied is True
    assert "may have been applied" in e.value.message
    assert e.value.exit_code == ExitCode.TIMEOUT
    assert server.count("POST", "/job/a/build") == 1


def test_get_read_timeout_is_retried_then_typed(server: _Server) -> None:
    server.routes[("GET", "/slow")] = lambda h: (time.sleep(0.4), h.reply(200, "{}"))
    c = _client(server, timeout=0.15, retries=2)
    with pytest.raises(jerr.JenkinsTimeoutError) as e:
        c.get("slow")
    assert e.value.attempts == 3
    assert server.count("GET", "/slow") == 3


def test_dropped_post_is_not_repeated(server: _Server) -> None:
    server.routes[("POST", "/createItem")] = _drop
    c = _client(server)
    with pytest.raises(jerr.JenkinsConnectionError) as e:
        c.post("createItem", params={"name": "x"}, data="<flow-definition/>", headers={"Content-Type": "text/xml"})
    assert e.value.may_have_been_applied is True
    assert e.value.exit_code == ExitCode.CONNECTION
    assert server.count("POST", "/createItem") == 1


def test_dropped_idempotent_post_and_get_are_retried_until_success(server: _Server) -> None:
    calls = {"n": 0}

    def flaky(h: _H) -> None:
        calls["n"] += 1
        _drop(h) if calls["n"] <= 2 else h.reply(200, '{"ok": true}', {"Content-Type": "application/json"})

    server.routes[("*", "/flaky")] = flaky
    server.routes[("GET", "/flaky/api/json")] = flaky
    c = _client(server)
    assert c.get_json("flaky/") == {"ok": True}
    assert server.count("GET", "/flaky/api/json") == 3
    calls["n"] = 0
    assert c.post("flaky", data="<x/>", idempotent=True).status_code == 200
    assert server.count("POST", "/flaky") == 3


def test_connection_refused_retried_even_for_post_because_nothing_was_sent() -> None:
    port = _free_port()
    sleeps: list[float] = []
    c = JenkinsClient(_settings(f"http://127.0.0.1:{port}/", retries=2), sleep=sleeps.append)
    with pytest.raises(jerr.JenkinsConnectionError) as e:
        c.post("job/a/build")
    assert e.value.may_have_been_applied is False
    assert e.value.attempts == 3 and len(sleeps) == 2
    assert "JENKINS_URL" in (e.value.hint or "")


def test_backoff_is_exponential_with_jitter_and_capped(server: _Server) -> None:
    server.routes[("GET", "/err")] = lambda h: h.reply(502, "bad gateway")
    sleeps: list[float] = []
    s = _settings(f"http://127.0.0.1:{server.server_address[1]}/", retries=5, backoff_base=0.1, backoff_max=0.8)
    c = JenkinsClient(s, sleep=sleeps.append)
    with pytest.raises(jerr.ServerError) as e:
        c.get("err")
    assert e.value.status == 502 and e.value.exit_code == ExitCode.SERVER
    assert len(sleeps) == 5
    for i, d in enumerate(sleeps):
        nominal = min(0.8, 0.1 * 2**i)
        assert nominal / 2 <= d <= nominal
    assert server.count("GET", "/err") == 6


def test_500_on_non_idempotent_post_raised_at_once(server: _Server) -> None:
    oops = ("<html><head><title>Jenkins</title></head><body><h1>Oops!</h1><p>A problem occurred while processing "
            "the request.</p><p>Logging ID=0b7c2d1e-1111-2222-3333-444455556666</p></body></html>")
    server.routes[("POST", "/job/a/buildWithParameters")] = lambda h: h.reply(500, oops, {"Content-Type": "text/html"})
    c = _client(server)
    with pytest.raises(jerr.ServerError) as e:
        c.post("job/a/buildWithParameters", params={"X": "1"})
    assert e.value.may_have_been_applied is True and e.value.attempts == 1
    assert "Logging ID=0b7c2d1e-1111-2222-3333-444455556666" in e.value.server_message
    assert server.count("POST", "/job/a/buildWithParameters") == 1


def test_503_startup_page_waited_out_even_for_post(server: _Server) -> None:
    loading = ("<html><head><title>Starting Jenkins</title></head><body><h1>Please wait while Jenkins is getting ready "
               "to work...</h1></body></html>")
    ready_at = time.monotonic() + 0.3
    server.routes[("POST", "/job/a/build")] = lambda h: (
        h.reply(503, loading, {"Content-Type": "text/html;charset=UTF-8"}) if time.monotonic() < ready_at
        else h.reply(201, "", {"Location": "http://x/queue/item/1/"}))
    c = _client(server, unavailable_wait=5.0, backoff_max=0.05)
    assert c.post("job/a/build").status_code == 201


def test_503_that_outlasts_the_wait_is_typed(server: _Server) -> None:
    server.routes[("GET", "/api/json")] = lambda h: h.reply(503, "<html><body>Jenkins is getting ready to work</body></html>")
    c = _client(server, unavailable_wait=0.2, backoff_max=0.05)
    with pytest.raises(jerr.UnavailableError) as e:
        c.get_json("")
    assert e.value.status == 503 and e.value.exit_code == ExitCode.SERVER
    assert "getting ready to work" in e.value.message


def test_delete_retry_after_possible_success_treats_404_as_done(server: _Server) -> None:
    state = {"n": 0}

    def delete(h: _H) -> None:
        state["n"] += 1
        if state["n"] == 1:
            _drop(h)  # deleted, but the answer is lost
        else:
            h.reply(404, "<html><title>Not Found</title></html>")

    server.routes[("DELETE", "/job/a/")] = delete
    c = _client(server)
    assert c.delete("job/a/").status_code == 404
    assert server.count("DELETE", "/job/a/") == 2


# ---------------------------------------------------------------- error rendering
def test_x_error_header_utf8_is_decoded(server: _Server) -> None:
    msg = "A job already exists with the name ‘app’"
    server.routes[("POST", "/createItem")] = lambda h: (
        h.send_response(400), h.send_header("X-Error", msg.encode().decode("latin-1")), h.send_header("Content-Length", "0"),
        h.end_headers())
    with pytest.raises(jerr.BadRequestError) as e:
        _client(server).post("createItem", params={"name": "app"})
    assert e.value.server_message == msg
    assert msg in e.value.message and "case-insensitive" in (e.value.hint or "")
    assert e.value.exit_code == ExitCode.INPUT


def test_permission_denied_names_the_permission(server: _Server) -> None:
    server.routes[("POST", "/createItem")] = lambda h: h.reply(403, "<html><title>Access Denied</title></html>", {
        "X-You-Are-Authenticated-As": "alice", "X-Required-Permission": "hudson.model.Item.Create",
        "X-Permission-Implied-By": "hudson.model.Hudson.Administer"})
    with pytest.raises(jerr.PermissionDeniedError) as e:
        _client(server).post("createItem", params={"name": "x"})
    assert e.value.required_permission == "hudson.model.Item.Create"
    assert "Job/Create" in e.value.message and "alice" in e.value.message
    assert "Job/Create" in (e.value.hint or "")
    assert e.value.exit_code == ExitCode.AUTH
    assert permission_title("hudson.model.Hudson.Read") == "Overall/Read (hudson.model.Hudson.Read)"


def test_401_hint_names_token(server: _Server) -> None:
    server.routes[("GET", "/whoAmI/api/json")] = lambda h: h.reply(401, "", {"WWW-Authenticate": 'Basic realm="Jenkins"'})
    with pytest.raises(jerr.AuthenticationError) as e:
        _client(server).whoami()
    assert e.value.status == 401 and e.value.exit_code == ExitCode.AUTH
    assert "JENKINS_API_TOKEN" in (e.value.hint or "") and "'alice'" in e.value.message


def test_jetty_error_page_reason_is_used(server: _Server) -> None:
    page = ("<html><head><title>Error 400 Nothing is submitted</title></head><body><h2>HTTP ERROR 400 Nothing is "
            "submitted</h2></body></html>")
    server.routes[("POST", "/job/p/build")] = lambda h: h.reply(400, page)
    with pytest.raises(jerr.BadRequestError) as e:
        _client(server).post("job/p/build")
    assert e.value.server_message == "Nothing is submitted"
    assert "buildWithParameters" in (e.value.hint or "")


def test_not_json_is_unexpected_response(server: _Server) -> None:
    server.routes[("GET", "/api/json")] = lambda h: h.reply(200, "<html>login</html>", {"Content-Type": "text/html"})
    with pytest.raises(jerr.UnexpectedResponseError):
        _client(server).get_json("")


def test_version_requires_x_jenkins(server: _Server) -> None:
    server.routes[("GET", "/api/json")] = lambda h: h.reply(200, "{}", {"Content-Type": "application/json", "X-Jenkins": None})
    with pytest.raises(jerr.UnexpectedResponseError) as e:
        _client(server).version()
    assert "X-Jenkins" in e.value.message


def test_crumb_refused_twice_is_crumb_error_and_post_sent_twice_only(server: _Server) -> None:
    server.routes[("GET", "/crumbIssuer/api/json")] = lambda h: h.reply(
        200, '{"crumb":"c1","crumbRequestField":"Jenkins-Crumb"}', {"Set-Cookie": "JSESSIONID.0a1b2c3d=n1; Path=/"})
    server.routes[("POST", "/job/a/disable")] = lambda h: h.reply(
        403, "<html><head><title>Error 403 No valid crumb was included in the request</title></head></html>")
    c = _client(server, password=True)
    with pytest.raises(jerr.CrumbError) as e:
        c.post("job/a/disable")
    assert e.value.may_have_been_applied is False
    assert server.count("POST", "/job/a/disable") == 2
    assert server.count("GET", "/crumbIssuer/api/json") == 2


def test_no_crumb_issuer_means_no_crumb(server: _Server) -> None:
    seen: list[str | None] = []
    server.routes[("POST", "/job/a/enable")] = lambda h: (seen.append(h.headers.get("Jenkins-Crumb")), h.reply(302, "", {"Location": "/job/a/"}))
    c = _client(server, password=True)
    assert c.post("job/a/enable").status_code == 302
    assert c.post("job/a/enable").status_code == 302
    assert seen == [None, None]
    assert server.count("GET", "/crumbIssuer/api/json") == 1


def test_not_found_probes_parents(server: _Server) -> None:
    server.routes[("GET", "/job/team/api/json")] = lambda h: h.reply(200, '{"name":"team"}')
    c = _client(server)
    with pytest.raises(jerr.NotFoundError) as e:
        c.get_json("job/team/job/app/")
    assert e.value.missing == "team/app"
    assert "folder 'team' has no item 'app'" in e.value.message
    assert e.value.exit_code == ExitCode.NOT_FOUND
    with pytest.raises(jerr.NotFoundError) as e2:
        c.get("queue/item/99/api/json")
    assert "5 minutes" in (e2.value.hint or "")
    no_probe = _client(server, probe_not_found=False)
    before = len(server.log)
    with pytest.raises(jerr.NotFoundError):
        no_probe.get("job/x/job/y/")
    assert len(server.log) == before + 1


# ---------------------------------------------------------------- TLS
@pytest.fixture(scope="module")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jenkins-kit test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return {"ca": str(d / "ca.pem"), "cert": str(d / "cert.pem"), "key": str(d / "key.pem")}


@pytest.fixture
def tls_server(server: _Server, tls_material: dict[str, str]) -> _Server:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_material["cert"], tls_material["key"])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.routes[("GET", "/api/json")] = lambda h: h.reply(200, '{"mode":"NORMAL"}', {"X-Jenkins": "2.492.3", "Content-Type": "application/json"})
    return server


def _https(srv: _Server) -> str:
    return f"https://127.0.0.1:{srv.server_address[1]}/"


def test_tls_verified_by_default(tls_server: _Server) -> None:
    c = JenkinsClient(_settings(_https(tls_server)))
    with pytest.raises(jerr.JenkinsTLSError) as e:
        c.version()
    assert "--ca-bundle" in (e.value.hint or "")
    assert e.value.may_have_been_applied is False
    assert e.value.exit_code == ExitCode.CONNECTION


def test_tls_with_ca_bundle(tls_server: _Server, tls_material: dict[str, str]) -> None:
    c = JenkinsClient(_settings(_https(tls_server), ca_bundle=tls_material["ca"]))
    assert c.version() == "2.492.3"


def test_insecure_works_and_warns_every_time(tls_server: _Server, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="jenkins_kit.jenkins"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(2):
            c = JenkinsClient(_settings(_https(tls_server), insecure=True))
            assert c.version() == "2.492.3"
    records = [r for r in caplog.records if "verification is OFF" in r.getMessage()]
    assert len(records) == 2
    assert sum(1 for x in w if issubclass(x.category, InsecureJenkinsWarning)) == 2


# ---------------------------------------------------------------- secrets
def test_no_secret_in_logs_or_errors(server: _Server, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    echo = lambda h: h.reply(400, "", {"X-Error": f"bad auth header {h.headers.get('Authorization')}"})
    server.routes[("POST", "/createItem")] = echo
    server.routes[("GET", "/whoAmI/api/json")] = lambda h: h.reply(401, "")
    server.routes[("POST", "/job/a/build")] = _drop
    server.routes[("GET", "/crumbIssuer/api/json")] = lambda h: h.reply(200, '{"crumb":"c","crumbRequestField":"Jenkins-Crumb"}')
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for kw in ({}, {"password": True}):
            c = _client(server, **kw)
            texts.append(repr(c) + repr(c.settings) + repr(c._auth))
            for call in (lambda: c.post("createItem", params={"name": "x", "token": TOKEN}), c.whoami,
                         lambda: c.post("job/a/build"), lambda: c.get("job/missing/job/x/"),
                         lambda: JenkinsClient(_settings(f"http://127.0.0.1:{_free_port()}/", retries=0)).get("x")):
                with pytest.raises(jerr.JenkinsError) as e:
                    call()
                err = e.value
                texts += [str(err), repr(err), err.message, err.hint or "", err.server_message or "", err.url or "",
                          repr(err.headers), repr(err.__dict__), repr(err.args)]
    out = capsys.readouterr()
    blob = "\n".join(texts) + caplog.text + out.out + out.err
    for secret in (TOKEN, PASSWORD, base64.b64encode(f"alice:{TOKEN}".encode()).decode(),
                   base64.b64encode(f"alice:{PASSWORD}".encode()).decode()):
        assert secret not in blob
    assert "token=%2A%2A%2A" in blob or "token=***" in blob
