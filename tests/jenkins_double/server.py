"""The Jenkins test double: a threaded HTTP/1.1 server on 127.0.0.1 speaking Jenkins' remote API.

Spec: /work/shared/reference/jenkins-remote-api.md (section numbers in comments refer to it).
Request pipeline (mirrors the servlet filter order of a real controller):

1. ``/__double__/*`` control API (needs valid Basic credentials; bypasses faults; not logged).
2. Injected faults: latency, then the 503 window (start-up or injected), then the 500 error rate.
3. Authentication: Basic ``user:token`` / ``user:password``; bad credentials -> 401 (§1.1).
4. CrumbFilter: every POST needs a crumb bound to the session cookie unless token-authenticated
   or excluded (§2.2) -> 403 "No valid crumb was included in the request".
5. Overall/Read: anonymous -> 403 login page except always-readable paths (§1.2).
6. Stapler-style dispatch over ``/job/<a>/job/<b>/...``.
"""
from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import html
import json
import random
import re
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from typing_extensions import Self

from . import beans, xmlconf
from . import casc as casc_endpoints
from . import views as views_mod
from .http import HTML_CT, JSON_CT, TEXT_CT, Pages, Request, Response
from .state import RESULTS, Behaviour, Build, Engine, Item, ParamValue, raw_encode
from .tree import (
    ByDepth,
    TreeSyntaxError,
    export,
    parse_tree,
    to_json_bytes,
    to_python_bytes,
    to_xml_bytes,
)

try:  # PyYAML is only needed for the configuration-as-code endpoints
    import yaml as _yaml
except ImportError:  # pragma: no cover
    _yaml = None

CRUMB_FIELD = "Jenkins-Crumb"
# Jenkins.ALWAYS_READABLE_PATHS + UnprotectedRootActions the double has (spec §1.2)
ALWAYS_READABLE = {"login", "loginError", "logout", "accessDenied", "adjuncts", "error", "oops",
                   "signup", "tcpSlaveAgentListener", "404", "whoAmI", "reload-configuration-as-code",
                   "securityRealm", "static", "j_spring_security_check"}
# configuration-as-code root configurators installed in the double (jenkins, tool, unclassified,
# security, appearance: casc core; credentials: credentials plugin; jobs: job-dsl).  Unknown roots
# -> UnknownConfiguratorException "No configurator for the following root elements: x"
# [casc UnknownRootElementTest; error text seen in public casc logs, found via search].
CASC_ROOTS = {"jenkins", "credentials", "unclassified", "tool", "security", "appearance", "jobs",
              "configuration-as-code"}
ITEM_MODES = {
    "org.jenkinsci.plugins.workflow.job.WorkflowJob": "workflow",
    "com.cloudbees.hudson.plugins.folder.Folder": "folder",
    "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject": "multibranch",
    "hudson.model.FreeStyleProject": "freestyle",
}
_NOTE_RE = re.compile(rb"\x1b\[8mha:[A-Za-z0-9+/=]*\x1b\[0m")
_SCRIPT_PRINT_RE = re.compile(r"""\b(print|println)\s*\(?\s*(?:"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)')\s*\)?""")


def _eq(a: str, b: str) -> bool:
    """Constant-time comparison that also accepts non-ASCII text."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def strip_notes(raw: bytes) -> bytes:
    return _NOTE_RE.sub(b"", raw)


def _util_escape(text: str) -> str:
    """hudson.Util.escape: LF -> <br>, < > & " ' escaped, runs of spaces as &nbsp; but the last."""
    out = []
    for i, ch in enumerate(text):
        if ch == "\n":
            out.append("<br>")
        elif ch == " ":
            out.append("&nbsp;" if text[i + 1:i + 2] == " " else " ")
        else:
            out.append({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#039;"}.get(ch, ch))
    return "".join(out)


def _dom4j_el(el) -> str:
    """dom4j XMLWriter (default OutputFormat): attributes in double quotes, ``<x/>`` when empty,
    text escaping of ``& < >`` [dom4j XMLWriter.escapeElementEntities/escapeAttributeEntities]."""
    attrs = "".join(f' {k}="{v.replace("&", "&amp;").replace("<", "&lt;").replace(chr(34), "&quot;")}"'
                    for k, v in el.attrib.items())
    inner = (el.text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    inner += "".join(_dom4j_el(c) for c in el)
    return f"<{el.tag}{attrs}>{inner}</{el.tag}>" if inner else f"<{el.tag}{attrs}/>"


def _dom4j(wrapper: str, found: list) -> str:
    return _dom4j_el(_Wrapped(wrapper, found))


class _Wrapped:
    """A wrapper element for :func:`_dom4j_el` (duck-typed like an ElementTree element)."""

    def __init__(self, tag: str, children: list):
        self.tag, self.attrib, self.text, self._children = tag, {}, None, children

    def __iter__(self):
        return iter(self._children)


class _Auth:
    __slots__ = ("role", "user", "via")

    def __init__(self, user: str, via: str, role: str):
        self.user, self.via, self.role = user, via, role

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def anonymous(self) -> bool:
        return self.via == "anonymous"


class _Faults:
    __slots__ = ("drop_rate", "error_rate", "latency_ms", "unavailable_until")

    def __init__(self, latency_ms=0.0, unavailable_until=0.0, error_rate=0.0, drop_rate=0.0):
        self.latency_ms = float(latency_ms or 0)
        self.unavailable_until = float(unavailable_until or 0)
        self.error_rate = float(error_rate or 0)
        self.drop_rate = float(drop_rate or 0)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty"
    sys_version = ""
    double: JenkinsDouble = None  # set on a subclass per double

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover
            pass
        self.double._conns.add(self.connection)

    def finish(self):
        self.double._conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format, *args):  # silence stderr logging
        pass

    def _handle(self):
        self.double._serve(self)

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = do_PATCH = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    """The listening socket as Jenkins' has it. Its backlog is a class attribute because
    `server_activate` calls `listen(request_queue_size)` inside the constructor (socketserver), so
    setting it on the instance afterwards, as this double once did, left Python's default of 5: a
    client opening 24 connections at once then lost SYNs and waited a second to retry. Jenkins'
    Jetty connector binds with `acceptQueueSize` 0 (ServerConnector), which java.nio's
    `ServerSocketChannel.bind` takes as its default backlog, 50."""

    request_queue_size = 50
    daemon_threads = True


class JenkinsDouble:
    """A Jenkins controller double.  See the package docstring for the full contract."""

    def __init__(self, user: str = "admin", token: str | None = None, password: str | None = None,
                 port: int = 0, version: str = "2.492.3", *, quiet_period: float = 5.0,
                 executors: int = 2, left_item_ttl: float = 300.0,
                 startup_unavailable_s: float = 0.0, default_duration_ms: int = 1000,
                 executable_delay_s: float = 0.05, casc_reload_token: str | None = None,
                 casc_yaml: str | None = None, latency_ms: float = 0, error_rate: float = 0,
                 drop_rate: float = 0, unavailable_s: float = 0, seed: int | None = None,
                 restart_s: float = 0.5, jetty_headers: bool = False, log_close_delay_s: float = 0.0,
                 crumbs: bool = True, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the Jenkins double listens on loopback only")
        self.user = user
        self.token = token or ("11" + secrets.token_hex(16))
        self.password = password or secrets.token_urlsafe(12)
        self.port = port
        self.host = "127.0.0.1"
        self.version = version
        self.url = ""
        self.startup_unavailable_s = startup_unavailable_s
        self.casc_reload_token = casc_reload_token
        self.casc_yaml = casc_yaml if casc_yaml is not None else "jenkins:\n  systemMessage: jenkins-double\n"
        self.casc_applied: dict = {}
        self.script_output = ""
        # users: name -> {"password", "token", "role"}; roles: admin | developer | reader
        self.users: dict[str, dict] = {user: {"password": self.password, "token": self.token, "role": "admin"}}
        self.engine = Engine(quiet_period=quiet_period, executors=executors,
                             left_item_ttl=left_item_ttl, default_duration_ms=default_duration_ms,
                             executable_delay_s=executable_delay_s, log_close_delay_s=log_close_delay_s)
        self.pages = Pages(self)
        self._rng = random.Random(seed)
        self._faults = _Faults(latency_ms, 0, error_rate, drop_rate)
        self._initial_unavailable_s = unavailable_s
        # the request log keeps the newest 500,000 entries (bounded memory in long benchmarks)
        self._log: collections.deque[dict] = collections.deque(maxlen=500_000)
        self._log_lock = threading.Lock()
        self._conns: set = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ready_at = 0.0
        self._restart_until = 0.0
        self.restart_s = restart_s
        # Jetty's HttpGenerator.putSanitisedValue writes every header char > 0xFF (and CR/LF) as
        # a space [jetty-http HttpGenerator.java, 9.4-12.x, read via search], so a real X-Error of
        # "A job already exists with the name ‘x’" arrives as "... name  x ".  Off by default
        # (header values are sent as UTF-8 bytes, which other suites rely on); True = faithful.
        self.jetty_headers = jetty_headers
        # crumbs=False: as with -Dhudson.security.csrf.GlobalCrumbIssuerConfiguration
        # .DISABLE_CSRF_PROTECTION=true: no CrumbFilter, /crumbIssuer 404, useCrumbs false (§2.1)
        self.crumbs = crumbs
        self.stats = {"dropped": 0, "errors_injected": 0, "unavailable": 0}
        self._new_instance()

    # ------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------
    def _new_instance(self) -> None:
        """What a restart changes for clients: session cookie name, salt, X-Jenkins-Session."""
        self.instance_session = secrets.token_hex(4)
        self.cookie_name = "JSESSIONID." + secrets.token_hex(4)
        self._salt = secrets.token_bytes(16)
        self._sessions: dict[str, dict] = {}

    def start(self) -> JenkinsDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        server = _Server((self.host, self.port), handler)
        self._server = server
        self.port = server.server_address[1]
        self.url = f"http://{self.host}:{self.port}/"
        self.engine.root_url = self.url
        now = time.time()
        self._ready_at = now + self.startup_unavailable_s
        if self._initial_unavailable_s:
            self._faults.unavailable_until = now + self._initial_unavailable_s
        self.engine.start()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="jenkins-double-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            for c in list(self._conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server = None
        self.engine.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------
    # Python control helpers (mirror /__double__/*)
    # ------------------------------------------------------------------------------------
    def set_behaviour(self, job: str | None = None, result: str | None = None,
                      duration_ms: int | None = None, log_lines: list[str] | None = None,
                      count: int | None = None, executors: int | None = None) -> None:
        self._apply_behaviour({"job": job, "result": result, "duration_ms": duration_ms,
                               "log_lines": log_lines, "count": count, "executors": executors})

    def set_executors(self, n: int) -> None:
        with self.engine.lock:
            self.engine.set_executors(n)

    def set_faults(self, latency_ms: float | None = None, unavailable_s: float | None = None,
                   error_rate: float | None = None, drop_rate: float | None = None,
                   invalidate_sessions: bool = False, seed: int | None = None) -> None:
        self._apply_faults({"latency_ms": latency_ms, "unavailable_s": unavailable_s,
                            "error_rate": error_rate, "drop_rate": drop_rate,
                            "invalidate_sessions": invalidate_sessions, "seed": seed})

    def invalidate_sessions(self) -> None:
        self._apply_faults({"invalidate_sessions": True, "_keep": True})

    def requests(self) -> list[dict]:
        with self._log_lock:
            return [dict(e) for e in self._log]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def add_user(self, name: str, password: str | None = None, token: str | None = None,
                 admin: bool = False, role: str | None = None) -> None:
        """Add a user.  Roles: ``admin`` (everything), ``developer`` (Overall/Read and every
        Item permission; the default for ``admin=False``), ``reader`` (Overall/Read, Item/Read and
        Item/Discover only)."""
        role = role or ("admin" if admin else "developer")
        if role not in ("admin", "developer", "reader"):
            raise ValueError("role must be admin, developer or reader")
        self.users[name] = {"password": password, "token": token, "role": role}

    def set_branches(self, multibranch: str, branches: list[str]) -> None:
        """Branches the next indexing scan (``POST /job/<mb>/build``) of that project finds."""
        with self.engine.lock:
            self.engine.branches[multibranch.strip("/").lower()] = [str(b) for b in branches]

    def set_script_output(self, text: str) -> None:
        self.script_output = text

    def set_casc_source(self, yaml_text: str) -> None:
        """The YAML that ``/configuration-as-code/reload`` re-reads (CASC_JENKINS_CONFIG)."""
        self.casc_yaml = yaml_text

    def job(self, full_name: str) -> Item | None:
        with self.engine.lock:
            return self.engine.resolve(full_name)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is empty and no build is running."""
        end = time.time() + timeout
        while time.time() < end:
            with self.engine.lock:
                eng = self.engine
                if not eng.queue and not eng.running and not eng.busy and not eng._closing:
                    return True
            time.sleep(0.01)
        return False

    def restart(self, window_s: float | None = None) -> None:
        """Simulate a controller restart: a 503 "Jenkins is restarting" window, then a new
        instance (new session cookie name, crumb salt and X-Jenkins-Session; all sessions gone;
        Left queue items are not kept across restarts, spec §4.3).  Queued items and builds stay
        (the queue is persisted and pipelines resume)."""
        self._restart_until = time.time() + (self.restart_s if window_s is None else window_s)
        self._new_instance()
        with self.engine.lock:
            eng = self.engine
            eng.left.clear()
            eng._left_order.clear()
            eng.quieting_down, eng.quiet_down_reason, eng.on_idle = False, None, None
            eng.kick()

    def _apply_behaviour(self, body: dict) -> None:
        eng = self.engine
        with eng.lock:
            if body.get("executors") is not None:
                eng.set_executors(int(body["executors"]))
            keys = ("result", "duration_ms", "log_lines", "count")
            if not any(body.get(k) is not None for k in keys) and body.get("job") is None:
                return
            result = body.get("result") or "SUCCESS"
            if result not in RESULTS:
                raise ValueError(f"result must be one of {', '.join(RESULTS)}")
            log_lines = body.get("log_lines")
            if log_lines is not None and not isinstance(log_lines, list):
                raise ValueError("log_lines must be a list of strings")
            dur = body.get("duration_ms")
            b = Behaviour(result=result, duration_ms=None if dur is None else int(dur),
                          log_lines=None if log_lines is None else [str(x) for x in log_lines],
                          count=body.get("count"))
            job = body.get("job")
            if job in (None, "", "*"):
                eng.default_behaviour = b
            else:
                eng.behaviours[job.strip("/").lower()] = b

    def _apply_faults(self, body: dict) -> None:
        if body.get("invalidate_sessions"):
            self._new_instance()
        if body.get("_keep"):
            return
        if body.get("seed") is not None:  # repeatable fault draws for a test (one follower: one order)
            self._rng = random.Random(int(body["seed"]))
        un = body.get("unavailable_s")
        self._faults = _Faults(body.get("latency_ms"), time.time() + float(un) if un else 0,
                               body.get("error_rate"), body.get("drop_rate"))

    # ------------------------------------------------------------------------------------
    # request pipeline
    # ------------------------------------------------------------------------------------
    def _serve(self, h: _Handler) -> None:
        method = h.command
        body = self._read_body(h)
        if body is None:
            return
        host = h.headers.get("Host") or f"{self.host}:{self.port}"
        req = Request(method, h.path, h.headers, body, host, h.client_address[0])
        if req.path.startswith("/__double__/") or req.path == "/__double__":
            try:
                resp = self._control(req)
            except Exception:  # noqa: BLE001 - never kill the connection thread
                import traceback
                traceback.print_exc()
                resp = Response(500, b'{"error":"internal error in the double"}', [("Content-Type", JSON_CT)])
            self._write(h, req, resp, drop=False)
            return
        f = self._faults
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000.0)
        now = time.time()
        drop = False
        if now < self._ready_at or now < f.unavailable_until or now < self._restart_until:
            self.stats["unavailable"] += 1
            resp = self.pages.loading(restarting=now < self._restart_until)
        elif f.error_rate and self._rng.random() < f.error_rate:
            self.stats["errors_injected"] += 1
            resp = self.pages.oops(500)
        else:
            drop = bool(f.drop_rate) and self._rng.random() < f.drop_rate
            try:
                resp = self._process(req)
            except Exception:  # noqa: BLE001 - an uncaught exception -> Oops (spec §0.3)
                import traceback
                traceback.print_exc()
                resp = self.pages.oops(500)
        with self._log_lock:
            self._log.append({"method": method, "path": h.path, "status": resp.status})
        self._write(h, req, resp, drop)

    def _read_body(self, h: _Handler) -> bytes | None:
        te = (h.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = h.rfile.readline()
                if not line:
                    return None
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        n = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(n) if n > 0 else b""

    def _write(self, h: _Handler, req: Request, resp: Response, drop: bool) -> None:
        if resp.session_needed:
            self._ensure_session(req, resp)
        head_only = req.method == "HEAD"
        lines = [f"HTTP/1.1 {resp.status} {resp.reason}"]
        if self.jetty_headers:
            for k, v in resp.headers:
                lines.append(f"{k}: " + "".join(" " if (ord(c) > 0xFF or c in "\r\n") else c for c in v))
        else:
            for k, v in resp.headers:
                lines.append(f"{k}: " + v.replace("\r", " ").replace("\n", " "))
        lines.append(f"Content-Length: {len(resp.body)}")
        if h.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1" if self.jetty_headers else "utf-8")
        data = head if head_only else head + resp.body
        try:
            if drop:
                self.stats["dropped"] += 1
                # Mid-response: headers plus half the body; with no body, half the status
                # line (a client always sees a broken response, never a short valid one).
                cut = len(head) + len(resp.body) // 2 if resp.body and not head_only else 6
                h.wfile.write(data[:cut])
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            h.wfile.write(data)
        except OSError:
            h.close_connection = True

    # -- sessions and crumbs ----------------------------------------------------------------
    def _session_id(self, req: Request) -> str | None:
        sid = req.cookies.get(self.cookie_name)
        return sid if sid and sid in self._sessions else None

    def _ensure_session(self, req: Request, resp: Response, user: str | None = None) -> str:
        sid = self._session_id(req)
        if sid is None:
            sid = "node0" + secrets.token_hex(12)
            if len(self._sessions) > 100_000:
                self._sessions.clear()
            self._sessions[sid] = {"user": user}
            req.cookies[self.cookie_name] = sid
            resp.headers.append(("Set-Cookie", f"{self.cookie_name}={sid}; Path=/; HttpOnly"))
        return sid

    def _crumb(self, user: str, ip: str, sid: str) -> str:
        # DefaultCrumbIssuer: SHA-256 over user;ip;session with a per-instance salt (spec §2.1)
        return hmac.new(self._salt, f"{user};{ip};{sid}".encode(), hashlib.sha256).hexdigest()

    def _crumb_ok(self, req: Request, auth: _Auth) -> bool:
        crumb = req.headers.get(CRUMB_FIELD)
        if crumb is None:
            # CrumbFilter falls back to a request parameter (query string or urlencoded body);
            # reading parameters consumes a urlencoded body (spec §2.2, §6.3 note)
            crumb = req.param(CRUMB_FIELD) if req.is_form() else req.qparam(CRUMB_FIELD)
        if not crumb:
            return False
        sid = self._session_id(req)
        if sid is None:
            return False
        return _eq(crumb, self._crumb(auth.user, req.client_ip, sid))

    # -- authentication ---------------------------------------------------------------------
    def _authenticate(self, req: Request) -> _Auth | None:
        """Returns the authentication, or None for bad credentials (-> 401)."""
        h = req.headers.get("Authorization")
        if h:
            scheme, _, rest = h.partition(" ")
            if scheme.lower() == "basic":
                try:
                    user, sep, secret = base64.b64decode(rest.strip(), validate=True).decode("utf-8").partition(":")
                except Exception:  # noqa: BLE001 - any malformed header -> 401
                    return None
                if not sep:
                    return None
                u = self.users.get(user)
                if u is None:
                    return None
                if u.get("token") and _eq(secret, u["token"]):
                    return _Auth(user, "token", u["role"])
                if u.get("password") and _eq(secret, u["password"]):
                    return _Auth(user, "password", u["role"])
                return None
        sid = self._session_id(req)
        if sid is not None and self._sessions[sid].get("user"):
            name = self._sessions[sid]["user"]
            return _Auth(name, "session", self.users.get(name, {}).get("role", "reader"))
        return _Auth("anonymous", "anonymous", "anonymous")

    def _process(self, req: Request) -> Response:
        P = self.pages
        auth = self._authenticate(req)
        if auth is None:
            return P.unauthorized(req.path)
        segs = req.segments
        first = segs[0] if segs else ""
        if req.method == "POST" and auth.via != "token" and self.crumbs:
            # exclusions: the CasC token reload path while enabled (TokenReloadCrumbExclusion,
            # spec §6.3); the form login, which Spring's filter chain (HudsonFilter) handles
            # before CrumbFilter runs [core web.xml filter order; derived]
            excluded = ((self.casc_reload_token is not None and req.path == "/reload-configuration-as-code/")
                        or req.path == "/j_spring_security_check")
            if not excluded and not self._crumb_ok(req, auth):
                return P.jetty_error(403, "No valid crumb was included in the request", req.path)
        if auth.anonymous and first not in ALWAYS_READABLE:
            if req.headers.get("X-Requested-With") == "XMLHttpRequest":
                return P.jetty_error(403, None, req.path)
            return P.login_required(req)
        with self.engine.lock:
            return Router(self, req, auth).route()

    # ------------------------------------------------------------------------------------
    # control API
    # ------------------------------------------------------------------------------------
    def _control(self, req: Request) -> Response:
        P = self.pages
        auth = self._authenticate(req)
        if auth is None:
            return P.unauthorized(req.path)
        if auth.anonymous:
            return P.jetty_error(403, "The control API needs credentials", req.path)
        name = req.segments[1] if len(req.segments) > 1 else ""
        try:
            data = json.loads(req.body or b"{}") if req.method in ("POST", "PUT") else {}
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")  # noqa: TRY004 - answered as 400
        except ValueError as e:
            return Response(400, json.dumps({"error": str(e)}).encode(), [("Content-Type", JSON_CT)])

        def ok(obj=None):
            return Response(200, json.dumps(obj if obj is not None else {"ok": True}).encode(),
                            [("Content-Type", JSON_CT)])
        try:
            if name == "requests":
                if req.method == "GET":
                    return ok(self.requests())
                if req.method == "DELETE":
                    self.clear_requests()
                    return ok()
            elif name == "behaviour" and req.method == "POST":
                self._apply_behaviour(data)
                return ok()
            elif name == "executors" and req.method == "POST":
                self.set_executors(int(data.get("executors", 2)))
                return ok()
            elif name == "faults":
                if req.method == "POST":
                    self._apply_faults(data)
                    return ok()
                if req.method == "DELETE":
                    self._apply_faults({})
                    return ok()
                if req.method == "GET":
                    f = self._faults
                    return ok({"latency_ms": f.latency_ms, "error_rate": f.error_rate,
                               "drop_rate": f.drop_rate,
                               "unavailable_s": max(0.0, f.unavailable_until - time.time()),
                               **self.stats})
            elif name == "branches" and req.method == "POST":
                self.set_branches(str(data["job"]), list(data.get("branches", [])))
                return ok()
            elif name == "restart" and req.method == "POST":
                self.restart(data.get("window_s"))
                return ok()
            elif name == "script" and req.method == "POST":
                self.script_output = str(data.get("output", ""))
                return ok()
            elif name == "casc" and req.method == "POST":
                if "yaml" in data:
                    self.casc_yaml = str(data["yaml"])
                if "reload_token" in data:
                    self.casc_reload_token = data["reload_token"] or None
                return ok()
            elif name == "state" and req.method == "GET":
                eng = self.engine
                with eng.lock:
                    return ok({"queue": [q.id for q in eng.queue.values()],
                               "running": [b.url_path for b in eng.running.values()],
                               "executors": eng.executors, "busy": len(eng.busy),
                               "jobs": sum(1 for _ in eng.iter_jobs())})
        except (ValueError, TypeError, KeyError) as e:
            return Response(400, json.dumps({"error": str(e)}).encode(), [("Content-Type", JSON_CT)])
        return Response(404, b'{"error":"unknown control endpoint"}', [("Content-Type", JSON_CT)])


class Router:
    """Stapler-like dispatch for one request (runs under the engine lock)."""

    def __init__(self, d: JenkinsDouble, req: Request, auth: _Auth):
        self.d = d
        self.req = req
        self.auth = auth
        self.P = d.pages
        self.eng = d.engine

    # -- helpers ----------------------------------------------------------------------------
    def need(self, permission: str) -> Response | None:
        """Admin-level permission check for authenticated users."""
        if self.auth.admin:
            return None
        return self.P.access_denied(self.auth.user, permission)

    def item_perm(self, permission: str) -> Response | None:
        """Item-level permission check (readers only have Item/Read and Item/Discover)."""
        if self.auth.role in ("admin", "developer"):
            return None
        if permission in ("hudson.model.Item.Read", "hudson.model.Item.Discover"):
            return None
        return self.P.access_denied(self.auth.user, permission)

    def directory(self) -> Response | None:
        """stapler DirectoryishDispatcher, the first dispatcher of every MetaClass: a URL that
        ends at an object (item, run, queue item, view, computer, user, ...) without a trailing
        '/' is answered, whatever the method, with a redirect to the same path plus '/' (query
        string kept) [stapler DirectoryishDispatcher.java; MetaClass.buildDispatchers]."""
        req = self.req
        if req.trailing_slash:
            return None
        qs = req.raw_path.partition("?")[2]
        return self.P.redirect(req, req.path + "/" + ("?" + qs if qs else ""))

    def post_only(self) -> Response | None:
        return None if self.req.method == "POST" else self.P.require_post(self.req)

    def api(self, bean_fn, fmt: str, allow_primitive_xpath: bool = False) -> Response:
        req, P = self.req, self.P
        if fmt not in ("json", "xml", "python"):
            return P.not_found()
        if req.qparam("jsonp") is not None:
            return P.jetty_error(403, "jsonp forbidden; implement jenkins.security.SecureRequester", req.path)
        tree = req.qparam("tree")
        try:
            if tree is not None:
                pruner = parse_tree(tree)
            else:
                depth = req.qparam("depth")
                pruner = ByDepth(1 - (int(depth) if depth not in (None, "") else 0))
        except (TreeSyntaxError, ValueError):
            # "Malformed tree expression" / "Depth parameter must be a number" (ServletException)
            return P.oops(500)
        data = export(bean_fn(), pruner)
        pretty = req.qparam("pretty") == "true"
        if fmt == "json":
            return P.json(to_json_bytes(data, pretty))
        if fmt == "python":
            # Flavor.PYTHON [stapler export/Flavor.java]
            return P.json(to_python_bytes(data, pretty), ct="text/x-python;charset=UTF-8")
        xpath = req.qparam("xpath")
        if xpath is None:
            # Api.doXml: no xpath (and no exclude) -> serveExposedBean, `wrapper` is ignored
            # [core hudson/model/Api.java doXml]
            return P.json(to_xml_bytes(data), ct="application/xml;charset=UTF-8")
        return self._xpath(data, xpath, req.qparam("wrapper"), allow_primitive_xpath)

    def _xpath(self, data: dict, xpath: str, wrapper: str | None, allow_primitive: bool) -> Response:
        """Api.doXml with ``xpath=`` [core hudson/model/Api.java]: the document is re-read with
        dom4j and written with dom4j's XMLWriter (no declaration, ``_class="..."``, ``<x/>``).
        With ``wrapper`` every match (none too) goes under ``<wrapper>``; without it no match is
        404 and several are 500, both plain text (``Api.NoXPathMatch``/``Api.MultipleMatch``).
        A small XPath subset only: ``concat(//a,"x",//b)``, ``//name``, ``/root/child``."""
        import xml.etree.ElementTree as ET
        req, P = self.req, self.P
        doc = ET.fromstring(to_xml_bytes(data))
        m = re.fullmatch(r"concat\((.*)\)", xpath.strip())
        if m:
            parts = []
            for arg in re.findall(r'"[^"]*"|\'[^\']*\'|[^,]+', m.group(1)):
                arg = arg.strip()
                if arg[:1] in "\"'":
                    parts.append(arg[1:-1])
                else:
                    el = doc.find("." + arg if arg.startswith("//") else arg)
                    parts.append(el.text or "" if el is not None else "")
            if not allow_primitive:
                return P.jetty_error(403, "primitive XPath result sets forbidden; implement "
                                     "jenkins.security.SecureRequester", req.path)
            return P.json("".join(parts).encode("utf-8"), ct="text/plain;charset=UTF-8")
        path = xpath.strip()
        if path.startswith("//"):
            found = ([doc] if doc.tag == path[2:] else []) + doc.findall("." + path)
        else:
            parts = [p for p in path.split("/") if p]
            if not parts or parts[0] != doc.tag:
                found = []
            else:
                found = [doc] if len(parts) == 1 else doc.findall("/".join(parts[1:]))
        if wrapper is not None:
            if not re.fullmatch(r"[a-zA-Z_][\w\-.]*", wrapper):
                return Response(400, "The wrapper parameter can only contain alphanumeric characters or "
                                "dash/dot/underscore. The first character has to be a letter or "
                                "underscore.".encode(), P.api_headers())
            body = _dom4j(wrapper, found)
        elif not found:
            return Response(404, f"XPath {xpath} didn\u2019t match".encode(), P.api_headers())
        elif len(found) > 1:
            return Response(500, (f'XPath "{xpath}" matched {len(found)} nodes. Create XPath that only '
                                  'matches one, or use the "wrapper" query parameter to wrap them all '
                                  'under a root element.').encode(), P.api_headers())
        else:
            body = _dom4j_el(found[0])
        return P.json(body.encode("utf-8"), ct="application/xml;charset=UTF-8")

    # -- dispatch ---------------------------------------------------------------------------
    def route(self) -> Response:
        segs = self.req.segments
        cur: Item | None = None
        i = 0
        while i < len(segs):
            s = segs[i]
            if s == "job" and i + 1 < len(segs) and (cur is None or cur.is_group):
                child = self.eng.group_of(cur).get(segs[i + 1])
                if child is None:
                    return self.P.not_found()
                cur = child
                i += 2
                continue
            if s == "view" and i + 1 < len(segs) and (cur is None or cur.is_group):
                # Jenkins/AbstractFolder.getView(name): exact, case-sensitive name
                # [core ViewGroupMixIn.getView]; jobs resolve below a view (View.getItem)
                v = self.eng.view_store.get(cur, segs[i + 1])
                if v is None:
                    return self.P.not_found()
                i += 2
                if segs[i:i + 1] == ["job"]:
                    continue
                return self.view(v, segs[i:])
            break
        rest = segs[i:]
        if cur is not None and not rest:
            r = self.directory()
            if r:
                return r
        if cur is None:
            return self.root(rest)
        if cur.is_group:
            return self.folder(cur, rest)
        return self.job(cur, rest)

    # -- views ------------------------------------------------------------------------------
    def create_view(self, owner: Item | None) -> Response:
        """Jenkins.doCreateView / AbstractFolder.doCreateView -> View.create [core
        hudson/model/View.java create]: an XML body without ``mode`` -> 200 empty; a form with
        ``mode`` (a view class, or ``copy`` + ``from``) -> 302 to the new view's ``configure``."""
        req, P, store = self.req, self.P, self.eng.view_store
        if req.method != "POST":
            return P.require_post(req)  # @RequirePOST on doCreateView
        r = self.need("hudson.model.View.Create")
        if r:
            return r
        ct = req.content_type
        mode = req.param("mode")
        if ct is None and mode != "copy":
            return P.failure("No Content-Type header set")
        is_xml = (ct or "").lower().startswith(("application/xml", "text/xml"))
        name = req.param("name")
        try:
            xmlconf.check_good_name(name)
        except xmlconf.BadName as e:
            return P.failure(str(e))
        if store.get(owner, name) is not None:
            return P.failure(f'A view already exists with the name "{name}"')
        if not mode:
            if not is_xml:
                return P.failure("No view type is specified")
            try:
                v = views_mod.parse_view_xml(owner, req.body, name)
            except views_mod.ViewError:
                return P.oops(500)  # IOException("Unable to read")
            store.add(v)
            return P.empty(200)
        if mode == "copy":
            src_name = req.param("from")
            src = store.get(owner, src_name) if src_name else None
            if src is None:
                return P.failure("Specify which view to copy" if not src_name else f"No such view: {src_name}")
            import copy as _copy
            root = _copy.deepcopy(src.root)
            v = views_mod.View(owner, root)
            v.name = name
        elif mode in views_mod.VIEW_CLASSES:
            v = views_mod.View(owner, views_mod.default_xml(mode, name))
        else:
            return P.failure(f"No view type \u2018{mode}\u2019 is known")
        store.add(v)
        return P.redirect(req, "/" + v.url_path(store) + "configure")

    def view(self, v, rest: list[str]) -> Response:
        req, P, store = self.req, self.P, self.eng.view_store
        m = req.method
        if not rest:
            return self.directory() or P.layout(200, v.name, f"<h1>{html.escape(v.name)}</h1>")
        head = rest[0]
        if head == "api" and len(rest) == 2:
            return self.api(lambda: views_mod.view_bean(store, v, beans.job_bean), rest[1])
        if len(rest) != 1:
            return P.not_found()
        if head == "config.xml":
            # View.doConfigDotXml: GET -> writeXml (XStream2.toXMLUTF8); POST -> updateByXml,
            # the name and owner are kept, a different view class is an IOException (500)
            if m == "GET":
                return Response(200, v.config_xml(), [("Content-Type", "application/xml")])
            if m == "POST":
                r = self.need("hudson.model.View.Configure")
                if r:
                    return r
                try:
                    nv = views_mod.parse_view_xml(v.owner, req.body, v.name)
                except views_mod.ViewError:
                    return P.oops(500)
                if nv.cls != v.cls:
                    return P.oops(500)
                v.root = nv.root
                return P.empty(200)
            return P.jetty_error(400, None, req.path)
        if head == "doDelete":
            # View.doDoDelete (@RequirePOST): ViewGroupMixIn.deleteView refuses the last view
            r = self.post_only() or self.need("hudson.model.View.Delete")
            if r:
                return r
            if not store.delete(v):
                return P.oops(500)  # IllegalStateException("Cannot delete last view")
            return P.redirect(req, "/" + ("" if v.owner is None else v.owner.url_path))
        if head in ("addJobToView", "removeJobFromView") and v.cls == views_mod.LIST_VIEW:
            # ListView.doAddJobToView/doRemoveJobFromView (@RequirePOST) -> HttpResponses.ok()
            r = self.post_only() or self.need("hudson.model.View.Configure")
            if r:
                return r
            name = req.param("name")
            if name is None:
                return P.failure("Query parameter 'name' is required")
            item = self._resolve_relative(v.owner, name)
            if item is None:
                return P.failure("Query parameter 'name' does not correspond to a known item"
                                 if head == "addJobToView" else
                                 "Query parameter 'name' does not correspond to a known and readable item")
            names = [n for n in v.job_names() if n.lower() != item.name.lower()]
            v.set_job_names(names + [item.name] if head == "addJobToView" else names)
            return P.empty(200)
        if head == "configure" and m in ("GET", "HEAD"):
            return P.layout(200, f"{v.name} Config", "<form name='viewConfig'></form>")
        return P.not_found()

    # -- root -------------------------------------------------------------------------------
    def root(self, rest: list[str]) -> Response:
        req, P, eng, d = self.req, self.P, self.eng, self.d
        m = req.method
        if not rest:
            if m in ("GET", "HEAD"):
                return P.layout(200, "Dashboard", "<h1>Welcome to Jenkins!</h1>")
            return P.not_found()
        head = rest[0]
        if head == "api" and len(rest) == 2:
            return self.api(lambda: beans.root_bean(eng, eng.executors, d.crumbs), rest[1])
        if head == "createItem" and len(rest) == 1:
            return self.create_item(None)
        if head == "createView" and len(rest) == 1:
            return self.create_view(None)
        if head == "checkJobName" and len(rest) == 1:
            return self.check_job_name(None)
        if head == "crumbIssuer" and not d.crumbs:
            return P.not_found()
        if head == "crumbIssuer" and rest[1:2] == ["api"] and len(rest) == 3:
            resp_holder = Response(200)
            sid = d._ensure_session(req, resp_holder)
            crumb = d._crumb(self.auth.user, req.client_ip, sid)
            r = self.api(lambda: beans.crumb_bean(crumb), rest[2], allow_primitive_xpath=True)
            r.headers += [h for h in resp_holder.headers if h[0] == "Set-Cookie"]
            return r
        if head == "whoAmI":
            if rest[1:2] == ["api"] and len(rest) == 3:
                return self.api(lambda: beans.whoami_bean(self.auth.user), rest[2])
            if len(rest) == 1:
                return self.directory() or P.layout(
                    200, "Who Am I", f"<h1>Who Am I?</h1><p>Name: {html.escape(self.auth.user)}</p>")
            return P.not_found()
        if head in ("me", "user"):
            # /me -> Jenkins.getMe(); /user/<id> -> Jenkins.getUser(id) = User.get(id, false)
            # unless ALLOW_USER_CREATION_VIA_URL: unknown ids are null -> 404; ids match
            # case-insensitively (IdStrategy.CASE_INSENSITIVE) [core Jenkins.java getUser/getMe]
            if head == "me":
                uid, sub = self.auth.user, rest[1:]
            else:
                if len(rest) < 2:
                    return self.directory() or P.layout(200, "People", "<h1>People</h1>")
                uid = next((u for u in d.users if u.lower() == rest[1].lower()), None)
                if uid is None:
                    return P.not_found()
                sub = rest[2:]
            if not sub:
                return self.directory() or P.layout(200, uid, f"<h1>{html.escape(uid)}</h1>")
            if sub[0] == "api" and len(sub) == 2:
                return self.api(lambda: beans.user_bean(uid, eng.root_url, self.auth.admin), sub[1])
            return P.not_found()
        if head == "queue":
            return self.queue(rest[1:])
        if head == "computer":
            return self.computer(rest[1:])
        if head == "pluginManager":
            if len(rest) == 1:
                return self.need("hudson.model.Hudson.SystemRead") or self.directory() or P.layout(
                    200, "Plugins", "<h1>Plugins</h1>")
            if rest[1:2] == ["api"] and len(rest) == 3:
                # needs Overall/SystemRead (spec §6.1)
                return self.need("hudson.model.Hudson.SystemRead") or self.api(beans.plugins_bean, rest[2])
            return P.not_found()
        if head == "scriptText" and len(rest) == 1:
            return self.script_text()
        if head == "configuration-as-code":
            return self.casc(rest[1:])
        if head == "reload-configuration-as-code" and len(rest) == 1:
            return self.casc_token_reload()
        if head == "login" and len(rest) == 1:
            return P.layout(200, "Sign in", "<form method='post' action='j_spring_security_check'>"
                            "<input name='j_username'/><input name='j_password' type='password'/>"
                            "<input type='hidden' name='from'/></form>")
        if head == "j_spring_security_check" and len(rest) == 1 and m == "POST":
            return self._form_login()
        if head == "logout" and len(rest) == 1:
            sid = d._session_id(req)
            if sid:
                d._sessions.pop(sid, None)
            return P.redirect(req, "/")
        if head == "loginError" and len(rest) == 1:
            return P.layout(200, "Login Error", "<p>Invalid username or password</p>")
        if head in ("restart", "safeRestart", "reload") and len(rest) == 1:
            r = self.need("hudson.model.Hudson.Manage")
            if r:
                return r
            if m != "POST":
                return P.layout(200, "Restart", "<form method='post'><p>Are you sure about restarting "
                                "Jenkins?</p></form>")
            if head == "reload":
                d._ready_at = max(d._ready_at, time.time() + d.restart_s)  # HudsonIsLoading
            elif head == "safeRestart":
                if req.param("cancel") is not None:
                    eng.quieting_down, eng.quiet_down_reason, eng.on_idle = False, None, None
                    eng.kick()
                else:
                    # quiet down, then restart once no build is running (spec §6.4)
                    eng.quieting_down = True
                    eng.quiet_down_reason = req.param("message")
                    eng.on_idle = d.restart
                    eng.kick()
            else:
                d.restart()
            return P.redirect(req, ".")
        if head in ("quietDown", "cancelQuietDown") and len(rest) == 1:
            return self.need("hudson.model.Hudson.Manage") or self.post_only() or self._quiet(head)
        return P.not_found()

    def _form_login(self) -> Response:
        """POST /j_spring_security_check (spec §6.6): 302 to ``from`` with a fresh session bound
        to the user (session-fixation protection), or 302 to /loginError."""
        req, d = self.req, self.d
        user, pw_ = req.param("j_username"), req.param("j_password")
        u = d.users.get(user or "")
        if u is None or not u.get("password") or not _eq(pw_ or "", u["password"]):
            return self.P.redirect(req, "/loginError")
        old = d._session_id(req)
        if old:
            d._sessions.pop(old, None)
        req.cookies.pop(d.cookie_name, None)
        r = self.P.redirect(req, req.param("from") or "/")
        d._ensure_session(req, r, user=user)
        return r

    def _quiet(self, head: str) -> Response:
        eng = self.eng
        if head == "quietDown":
            eng.quieting_down = True
            eng.quiet_down_reason = self.req.param("message")
        else:
            eng.quieting_down = False
            eng.quiet_down_reason = None
            eng.kick()
        return self.P.redirect(self.req, ".")

    # -- items ------------------------------------------------------------------------------
    def check_job_name(self, parent: Item | None) -> Response:
        r = self.item_perm("hudson.model.Item.Create")
        if r:
            return r
        value = self.req.qparam("value") or ""

        # View.doCheckJobName -> FormValidation.respond: text/html;charset=UTF-8 and the three
        # CSP headers "sandbox; default-src 'none';" (APPLY_CONTENT_SECURITY_POLICY_HEADERS,
        # default true); error text escaped by Util.escape [core hudson/model/View.java,
        # hudson/util/FormValidation.java respond/_errorWithMarkup, hudson/Util.java escape]
        csp = [(h, "sandbox; default-src 'none';")
               for h in ("Content-Security-Policy", "X-WebKit-CSP", "X-Content-Security-Policy")]

        def div(msg):
            if msg is None:
                return Response(200, b"<div/>", [("Content-Type", "text/html;charset=UTF-8")] + csp)
            return Response(200, f'<div class="error">{_util_escape(msg)}</div>'.encode(),
                            [("Content-Type", "text/html;charset=UTF-8")] + csp)
        if not value:
            return div(None)
        try:
            xmlconf.check_good_name(value)
        except xmlconf.BadName as e:
            return div(str(e))
        if self.eng.group_of(parent).get(value.strip()) is not None:
            return div(f"A job already exists with the name \u2018{value.strip()}\u2019")
        return div(None)

    def create_item(self, parent: Item | None) -> Response:
        """ItemGroupMixIn.createTopLevelItem decision order (spec §3.1)."""
        req, P, eng = self.req, self.P, self.eng
        if req.method != "POST":
            return P.require_post(req)
        r = self.item_perm("hudson.model.Item.Create")  # step 1 (spec §3.1)
        if r:
            return r
        ct = req.content_type
        mode = req.param("mode")
        if ct is None and mode != "copy":
            return P.failure("No Content-Type header set")
        ctl = (ct or "").lower()
        is_xml = ctl.startswith(("application/xml", "text/xml"))
        name = req.param("name")
        if name is None:
            return P.failure("Query parameter 'name' is required")
        try:
            xmlconf.check_good_name(name)
        except xmlconf.BadName as e:
            return P.failure(str(e))
        name = name.strip()
        group = eng.group_of(parent)
        if group.get(name) is not None:
            return P.failure(f"A job already exists with the name \u2018{name}\u2019")
        if mode == "copy":
            src_name = req.param("from")
            if not src_name:
                return P.failure("Specify which job to copy")
            src = self._resolve_relative(parent, src_name)
            if src is None:
                return P.failure(f"No such job: {src_name}")
            cfg = xmlconf.parse_config(src.config_bytes)
            item = eng.create_item(parent, name, src.config_bytes, cfg, saved=False)
            if item.is_job:
                item.hold_off = True  # Job.onCopiedFrom: holdOffBuildUntilSave (spec §3.1)
            return P.redirect(req, "/" + item.url_path + "configure")
        if is_xml:
            # createProjectFromXML: config.xml = XMLUtils.safeTransform(body) (identity transform)
            try:
                stored = xmlconf.identity_transform(req.body)
                cfg = xmlconf.parse_config(stored)
            except xmlconf.ConfigError:
                return P.oops(500)
            eng.create_item(parent, name, stored, cfg, saved=False)
            return P.empty(200)
        if mode is None:
            return P.failure("No mode given")
        kind = ITEM_MODES.get(mode)
        if kind is None:
            return P.failure(f"No item type \u2018{mode}\u2019 is known")
        text = xmlconf.default_config(kind)
        item = eng.create_item(parent, name, text, xmlconf.parse_config(text), saved=True)
        return P.redirect(req, "/" + item.url_path + "configure")

    def _resolve_relative(self, parent: Item | None, path: str) -> Item | None:
        if path.startswith("/"):
            return self.eng.resolve(path)
        cur = parent
        parts = [p for p in path.split("/") if p]
        for j, p in enumerate(parts):
            if p == "..":
                if cur is None:
                    return None
                cur = cur.parent
                continue
            if p == ".":
                continue
            grp = self.eng.group_of(cur)
            if grp is None:
                return None
            cur = grp.get(p)
            if cur is None:
                return None
        return cur

    def config_xml(self, item: Item) -> Response:
        req, P = self.req, self.P
        if req.method in ("GET", "HEAD"):
            r = self.item_perm("hudson.model.Item.ExtendedRead")
            return r or Response(200, item.config_bytes, [("Content-Type", "application/xml")])
        if req.method == "POST":
            r = self.item_perm("hudson.model.Item.Configure")
            if r:
                return r
            # AbstractItem.updateByXml: XMLUtils.safeTransform(body) is what gets committed
            # (2.492.3; later cores re-serialize from memory, SECURITY-3744)
            try:
                stored = xmlconf.identity_transform(req.body)
                cfg = xmlconf.parse_config(stored)
            except xmlconf.ConfigError:
                return P.oops(500)  # "Failed to persist config.xml"; old config stays
            if cfg.java_class != item.java_class:
                return P.oops(500)  # "Expecting class X but got class Y instead"
            item.config_bytes = stored
            item.apply_config(cfg)
            self.eng.kick()
            return P.empty(200)
        return P.jetty_error(400, None, req.path)

    def common_item(self, item: Item, rest: list[str]) -> Response | None:
        """Endpoints shared by jobs and folders; None when not handled."""
        req, P, eng = self.req, self.P, self.eng
        m = req.method
        if not rest:
            if m == "DELETE":
                r = self.item_perm("hudson.model.Item.Delete")
                if r:
                    return r
                eng.delete_item(item, self.auth.user)
                return P.empty(204)
            if m in ("GET", "HEAD"):
                return P.layout(200, item.full_name, f"<h1>{html.escape(item.name)}</h1>")
            return None
        head = rest[0]
        if head == "api" and len(rest) == 2:
            return self.api(lambda: beans.job_bean(item), rest[1])
        if rest == ["move", "move"]:
            return self.move(item)
        if len(rest) != 1:
            return None
        if head == "config.xml":
            return self.config_xml(item)
        if head == "configure" and m in ("GET", "HEAD"):
            return P.layout(200, f"{item.full_name} Config", "<form name='config'></form>")
        if head == "doDelete":
            r = self.post_only() or self.item_perm("hudson.model.Item.Delete")
            if r:
                return r
            eng.delete_item(item, self.auth.user)
            target = "/" if item.parent is None else "/" + item.parent.url_path
            return P.redirect(req, target)
        if head == "description":
            if m in ("GET", "HEAD"):
                return Response(200, (item.description or "").encode("utf-8"), [("Content-Type", TEXT_CT)])
            r = self.item_perm("hudson.model.Item.Configure")
            if r:
                return r
            desc = req.param("description")
            if desc is None:
                return P.jetty_error(400, None, req.path)
            item.description = desc or None
            item.save()
            return P.empty(204)
        if head == "submitDescription":
            r = self.post_only() or self.item_perm("hudson.model.Item.Configure")
            if r:
                return r
            item.description = req.param("description") or None
            item.save()
            return P.redirect(req, ".")
        if head in ("confirmRename", "doRename"):
            r = self.post_only() or self.item_perm("hudson.model.Item.Configure")
            if r:
                return r
            return self.rename(item)
        return None

    def move(self, item: Item) -> Response:
        """cloudbees-folder RelocationAction ("move") -> DefaultRelocationUI.doMove (@RequirePOST):
        ``destination`` must be "/" + the full name of one of StandardHandler.validDestinations
        (the root unless another item there has the name; Folders (not computed folders) that
        are not the item, not inside it and hold no item of that name; the current parent).
        Not found or the current parent -> forwardToPreviousPage (302 to the Referer, else ".");
        moved -> 302 to the new parent's URL + the item's short URL (Items.move keeps the name
        and the builds) [cloudbees-folder relocate/DefaultRelocationUI.java doMove,
        relocate/StandardHandler.java validDestinations/handle; core Items.move]."""
        req, P, eng = self.req, self.P, self.eng
        r = self.post_only() or self.item_perm("hudson.model.Item.Move")
        if r:
            return r
        dest_name = req.param("destination")
        back = P.redirect(req, req.headers.get("Referer") or ".")
        if item.parent is not None and item.parent.kind != "folder":
            return P.not_found()  # StandardHandler SKIPs items of computed folders: no action
        dest: Item | None = None
        if dest_name == "/":
            other = eng.root.get(item.name)
            if other is not None and other is not item:
                return back
        else:
            dest = eng.resolve(dest_name or "") if (dest_name or "").startswith("/") else None
            if dest is None or dest.kind != "folder" or dest is item:
                return back
            anc = dest.parent
            while anc is not None:
                if anc is item:
                    return back
                anc = anc.parent
            if dest is not item.parent and dest.children.get(item.name) is not None:
                return back
        if dest is item.parent:
            return back
        eng.group_of(item.parent).remove(item)
        eng.view_store.on_moved(item)
        item.parent = dest
        eng.group_of(dest).add(item)
        eng.name_gen += 1
        return P.redirect(req, "/" + item.url_path)

    def rename(self, item: Item) -> Response:
        req, P = self.req, self.P
        new = req.param("newName")
        try:
            xmlconf.check_good_name(new or "")
        except xmlconf.BadName as e:
            return P.failure(str(e))
        new = new.strip()
        if new == item.name:
            return P.failure("The new name is the same as the current name.")
        grp = self.eng.group_of(item.parent)
        other = grp.get(new)
        if other is not None and other is not item:
            return P.failure(f"The name \u201c{new}\u201d is already in use.")
        if item.is_job and item.running():
            # Messages Job.NoRenameWhileBuilding (core Job.java doConfirmRename check)
            return P.failure("Unable to rename a job while it is building.")
        grp.remove(item)
        old = item.name
        item.name = new
        grp.add(item)
        self.eng.view_store.on_renamed(item, old)
        self.eng.name_gen += 1
        item.save()
        # AbstractItem.doConfirmRename: HttpResponses.redirectTo("../" + Functions.encode(newName)),
        # resolved against .../job/<old>/confirmRename: no trailing slash [core AbstractItem.java]
        return P.redirect(req, "../" + raw_encode(new))

    def folder(self, f: Item, rest: list[str]) -> Response:
        req, P = self.req, self.P
        r = self.common_item(f, rest)
        if r is not None:
            return r
        if len(rest) == 1:
            head = rest[0]
            if head == "createItem" and f.kind == "folder":
                return self.create_item(f)
            if head == "createView":
                return self.create_view(f)  # AbstractFolder.doCreateView -> View.create
            if head == "checkJobName":
                return self.check_job_name(f)
            if head == "build" and f.kind == "multibranch":
                # ComputedFolder.doBuild: schedules branch indexing, 302 to previous page; not
                # buildable -> 500 "cannot be recomputed" (spec §7.5)
                r = self.post_only() or self.item_perm("hudson.model.Item.Build")
                if r:
                    return r
                if f.disabled:
                    return P.oops(500)
                self.eng.index_branches(f)
                return P.redirect(req, req.headers.get("Referer") or ".")
            if head in ("enable", "disable") and f.kind == "multibranch":
                r = self.post_only() or self.item_perm("hudson.model.Item.Configure")
                if r:
                    return r
                want = head == "disable"
                if f.disabled != want:
                    f.disabled = want
                    f.save()
                return P.redirect(req, ".")
        return P.not_found()

    # -- jobs -------------------------------------------------------------------------------
    def job(self, job: Item, rest: list[str]) -> Response:
        req, P, eng = self.req, self.P, self.eng
        r = self.common_item(job, rest)
        if r is not None:
            return r
        if not rest:
            return P.not_found()
        head = rest[0]
        if len(rest) == 1:
            if head == "build":
                return self.build(job)
            if head == "buildWithParameters":
                return self.build_with_parameters(job)
            if head in ("enable", "disable"):
                r = self.post_only() or self.item_perm("hudson.model.Item.Configure")
                if r:
                    return r
                want = head == "disable"
                if job.disabled != want:
                    job.disabled = want
                    if want:  # makeDisabled cancels queued items (spec §3.5)
                        for q in eng.job_queue_items(job):
                            eng.cancel(q.id)
                    job.save()
                return P.redirect(req, ".")
        b: Build | None = None
        if head.isdigit():
            b = job.builds.get(int(head))
        elif head == "firstBuild":
            b = next(iter(job.builds.values()), None)
        elif head.startswith("last"):
            b = job.permalink(head)
        else:
            return P.not_found()
        if b is None:
            return P.not_found()
        if len(rest) == 1:
            r = self.directory()
            if r:
                return r
        return self.run(b, rest[1:])

    def _delay(self) -> tuple[float | None, bool]:
        """TimeDuration.fromString: "Nsec"/"Nsecs" seconds, bare number milliseconds (§4.1)."""
        raw = self.req.param("delay")
        if raw is None:
            return None, True
        s = raw.strip()
        mult = 1
        if s.endswith(("sec", "secs")):
            s = s[: s.rfind("sec")].strip()
            mult = 1000
        try:
            ms = int(s) * mult
        except ValueError:
            return None, False
        return float(ms // 1000), True  # getTimeInSeconds()

    def _token_check(self, job: Item) -> tuple[Response | None, bool]:
        """BuildAuthorizationToken.checkPermission; returns (error, remote_cause)."""
        req = self.req
        tok = req.param("token")
        if job.cfg.auth_token and tok is not None:
            if tok == job.cfg.auth_token:
                return None, True
            # AccessDeniedException -> AccessDeniedHandlerImpl: 403 accessDenied.jelly with the
            # message; no X-Required-Permission (not an AccessDeniedException3)
            # [core hudson/model/BuildAuthorizationToken.java checkPermission,
            # hudson/security/AccessDeniedHandlerImpl.java]
            return self.P.layout(403, "Access Denied", "<h1>Access Denied</h1>"
                                 "<p class=\"error\">Invalid token provided.</p>", session=False), False
        r = self.item_perm("hudson.model.Item.Build")
        if r:
            return r, False
        if req.method != "POST":
            return self.P.require_post(req), False
        return None, False

    def _cause(self, remote: bool) -> dict:
        if remote:
            return {"kind": "remote", "addr": self.req.client_ip, "note": self.req.param("cause")}
        return {"kind": "user", "user": self.auth.user}

    def _queued(self, q, created: bool, see_other_if_existing: bool) -> Response:
        status = 303 if (see_other_if_existing and not created) else 201
        return Response(status, b"", [("Location", f"http://{self.req.host}/{q.url_path}")])

    def build(self, job: Item) -> Response:
        req, P, eng = self.req, self.P, self.eng
        delay, ok = self._delay()
        if not ok:
            return P.oops(500)
        if not job.buildable:
            return P.oops(409)
        if job.params and req.method != "POST":
            return P.layout(200, job.full_name, "<form method='post' action='build'>parameters</form>")
        err, remote = self._token_check(job)
        if err:
            return err
        params = None
        if job.params:
            js = req.param("json")
            if js is None:
                others = [k for k, _ in req.form() if k != CRUMB_FIELD]
                msg = "This page expects a form submission" if others else "Nothing is submitted"
                return P.jetty_error(400, msg, req.path)
            try:
                form = json.loads(js)
                submitted = form.get("parameter", [])
                if isinstance(submitted, dict):
                    submitted = [submitted]
                by_name = {d.name: d for d in job.params}
                params = []
                for entry in submitted:
                    d = by_name.get(entry.get("name"))
                    if d is None:
                        raise ValueError(f"No such parameter definition: {entry.get('name')}")
                    v = entry.get("value")
                    if d.type == "BooleanParameterDefinition":
                        v = v is True or str(v).lower() == "true"
                    else:
                        v = d.create_value("" if v is None else str(v))
                    params.append(ParamValue(d.name, d.value_class, v))
                status = int(form.get("statusCode", 201)) if isinstance(form, dict) else 201
                redirect_to = form.get("redirectTo") if isinstance(form, dict) else None
            except (ValueError, AttributeError, TypeError):
                return P.oops(500)
            # ParametersDefinitionProperty._doBuild [core 2.492.3]: only the submitted values
            # (no defaults for the others), cause always `new Cause.UserIdCause()` (a build
            # token does not make it a RemoteCause here), Queue.schedule(...) returns null for
            # a duplicate -> rsp.sendRedirect(".") (302 to the job); else sendRedirect(
            # statusCode (201), redirectTo if Util.isSafeToRedirectTo, else the queue item)
            q, created = eng.schedule(job, delay, params, {"kind": "user", "user": self.auth.user})
            if not created:
                return P.redirect(req, ".")
            if isinstance(redirect_to, str) and redirect_to and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", redirect_to) \
                    and not redirect_to.startswith("\\") and not redirect_to.replace("\\", "/").startswith("//"):
                target = req.absolute(redirect_to)
            else:
                target = f"http://{req.host}/{q.url_path}"
            if status == 302:
                return P.redirect(req, target)
            return Response(status, b"", [("Location", target)])
        q, created = eng.schedule(job, delay, None, self._cause(remote))
        # /build answers 201 even for a coalesced item (JENKINS-66105, spec §4.1)
        return self._queued(q, created, see_other_if_existing=False)

    def build_with_parameters(self, job: Item) -> Response:
        req, P, eng = self.req, self.P, self.eng
        delay, ok = self._delay()
        if not ok:
            return P.oops(500)
        err, remote = self._token_check(job)
        if err:
            return err
        if not job.buildable:
            return P.oops(409)
        if not job.params:
            return P.oops(500)  # IllegalStateException("This build is not parameterized!")
        values = []
        for d in job.params:
            supplied = req.params(d.name)
            if len(supplied) > 1:
                return P.oops(500)
            if not supplied:
                v = d.default
            else:
                try:
                    v = d.create_value(supplied[0])
                except ValueError:
                    return P.oops(500)  # Illegal choice for parameter X: v
            values.append(ParamValue(d.name, d.value_class, v))
        q, created = eng.schedule(job, delay, values, self._cause(remote))
        return self._queued(q, created, see_other_if_existing=True)

    # -- runs -------------------------------------------------------------------------------
    def run(self, b: Build, rest: list[str]) -> Response:
        req, P, eng = self.req, self.P, self.eng
        now = time.time()
        if not rest:
            if req.method in ("GET", "HEAD"):
                return P.layout(200, f"{b.job.full_name} #{b.number}", f"<h1>Build #{b.number}</h1>")
            return P.not_found()
        head = rest[0]
        if head == "api" and len(rest) == 2:
            return self.api(lambda: beans.run_bean(b), rest[1])
        if head == "consoleText" and len(rest) == 1:
            b.materialize(now)
            body = strip_notes(bytes(b.raw) + b.partial(now))
            return Response(200, body, [("Content-Type", TEXT_CT)])
        if head == "console" and len(rest) == 1:
            b.materialize(now)
            return P.layout(200, f"Console #{b.number}",
                            "<pre>" + html.escape(strip_notes(bytes(b.raw)).decode("utf-8", "replace")) + "</pre>")
        if head == "logText" and len(rest) == 2 and rest[1] in ("progressiveText", "progressiveHtml"):
            return self.progressive(b, rest[1] == "progressiveHtml", now)
        if head in ("stop", "term", "kill") and len(rest) == 1:
            r = self.post_only() or self.item_perm("hudson.model.Item.Cancel")
            if r:
                return r
            eng.abort(b, self.auth.user, head)
            # forwardToPreviousPage: Referer or "." (spec §4.6)
            return P.redirect(req, req.headers.get("Referer") or ".")
        if head == "doDelete" and len(rest) == 1:
            r = self.post_only() or self.item_perm("hudson.model.Run.Delete")
            if r:
                return r
            if b.result is None:
                eng.abort(b, self.auth.user, "kill")
            b.job.builds.pop(b.number, None)
            return P.redirect(req, "/" + b.job.url_path)
        return P.not_found()

    def progressive(self, b: Build, as_html: bool, now: float) -> Response:
        """LargeText.doProgressTextImpl (spec §5.2)."""
        req, P = self.req, self.P
        raw_start = req.qparam("start")
        try:
            start = int(raw_start) if raw_start not in (None, "") else 0
        except ValueError:
            return P.oops(500)
        if start < 0:
            return P.oops(500)  # skip() fails -> EOFException
        b.materialize(now)
        raw = bytes(b.raw)
        complete = b.log_closed
        if start > len(raw):
            start = 0  # "rolled over": resend from the beginning
        if complete:
            end = len(raw)
        else:
            end = raw.rfind(b"\n") + 1  # complete lines only
            end = max(end, start)
            # at most 10,000 lines per call
            chunk = raw[start:end]
            if chunk.count(b"\n") > 10000:
                pos = start
                for _ in range(10000):
                    pos = raw.index(b"\n", pos) + 1
                end = pos
        body = strip_notes(raw[start:end])
        headers = [("X-Text-Size", str(end))]
        if not complete:
            headers.append(("X-More-Data", "true"))
        if as_html:
            text = html.escape(body.decode("utf-8", "replace")).encode("utf-8")
            headers.append(("X-ConsoleAnnotator", base64.b64encode(secrets.token_bytes(24)).decode()))
            return Response(200, text, [("Content-Type", HTML_CT)] + headers)
        return Response(200, body, [("Content-Type", TEXT_CT)] + headers)

    # -- queue ------------------------------------------------------------------------------
    def queue(self, rest: list[str]) -> Response:
        req, P, eng = self.req, self.P, self.eng
        if not rest:
            return self.directory() or P.layout(200, "Queue", "<h1>Build Queue</h1>")
        if rest[:1] == ["api"] and len(rest) == 2:
            return self.api(lambda: beans.queue_bean(eng), rest[1])
        if rest == ["cancelItem"]:
            r = self.post_only()
            if r:
                return r
            raw = req.param("id")
            try:
                qid = int(raw)
            except (TypeError, ValueError):
                return P.oops(500)
            # Queue.doCancelItem answers HttpResponses.error(code, message); Jenkins' ErrorCustomizer
            # (InstallUncaughtExceptionHandler) renders that as the Oops page with the status, the
            # message only in the log: 422 "Item for id (N) is not cancellable" (no Item/Cancel),
            # 500 "Could not cancel run for id N" (a LeftItem), 404 "Provided id (N) not found"
            # [core hudson/model/Queue.java doCancelItem; hudson/init/impl/
            # InstallUncaughtExceptionHandler.java ErrorCustomizer].  The spec's §4.4 (a Jetty page
            # with the message) is wrong here; the source wins.
            if self.auth.role == "reader" and eng.get_queue_item(qid) is not None:
                return P.oops(422)
            res = eng.cancel(qid)
            if res == "cancelled":
                return P.empty(204)
            if res == "left":
                return P.oops(500)
            return P.oops(404)
        if len(rest) >= 2 and rest[0] == "item" and rest[1].isdigit():
            q = eng.get_queue_item(int(rest[1]))
            if q is None:
                return P.not_found()
            sub = rest[2:]
            if not sub:
                r = self.directory()
                if r:
                    return r
                uri = f"{req.path if req.path.endswith('/') else req.path + '/'}"
                return P.text(f"Queue item exists. For details check, for example, {uri}api/json?tree=cancelled,executable[url]")
            if sub[0] == "api" and len(sub) == 2:
                return self.api(lambda: beans.queue_item_bean(q), sub[1])
            if sub == ["cancelQueue"]:
                r = self.post_only()
                if r:
                    return r
                eng.cancel(q.id)
                return P.empty(204)
        return P.not_found()

    # -- computers --------------------------------------------------------------------------
    def computer(self, rest: list[str]) -> Response:
        P, eng = self.P, self.eng
        if not rest:
            return self.directory() or P.layout(200, "Nodes", "<h1>Nodes</h1>")
        if rest[:1] == ["api"] and len(rest) == 2:
            return self.api(lambda: beans.computer_set_bean(eng), rest[1])
        # ComputerSet.getDynamic -> Jenkins.getComputer: "(built-in)" and "(master)" name the
        # built-in node, whose name is "" [core Jenkins.java getComputer]
        if rest and rest[0] in ("(built-in)", "(master)"):
            sub = rest[1:]
            if not sub:
                return self.directory() or P.layout(200, "Built-In Node", "<h1>Built-In Node</h1>")
            if sub[:1] == ["api"] and len(sub) == 2:
                return self.api(lambda: beans.computer_bean(eng), sub[1])
            if sub[0] in ("executors", "oneOffExecutors") and len(sub) >= 2:
                # Stapler indexes a List by number; Executor.getApi() [core Computer.java
                # getExecutors/getOneOffExecutors; Executor.java getApi]
                make = beans.executor_beans if sub[0] == "executors" else beans.one_off_beans
                execs = make(eng, root=True)
                if not sub[1].isdigit() or int(sub[1]) >= len(execs):
                    return P.not_found()
                ex = execs[int(sub[1])]
                if len(sub) == 2:
                    return self.directory() or P.layout(200, "Executor", "<h1>Executor</h1>")
                if sub[2] == "api" and len(sub) == 4:
                    return self.api(lambda: ex, sub[3])
                return P.not_found()
            if sub == ["scriptText"]:
                return self.script_text()
        elif rest and len(rest) >= 1 and rest[-1] == "scriptText":
            return P.not_found()
        return P.not_found()

    # -- script console ---------------------------------------------------------------------
    def script_text(self) -> Response:
        """Fixed reply; does NOT run Groovy.  The body is the configured canned output (empty by
        default) followed by the literal of every ``print``/``println`` call whose only argument
        is a plain string literal (``println`` adds a newline).  So python-jenkins' appended
        ``print(")]}.")`` round-trips."""
        req, P = self.req, self.P
        r = self.need("hudson.model.Hudson.Administer")
        if r:
            return r
        script = req.param("script")
        if script is None:
            return P.text("")
        if req.method != "POST":
            return P.require_post(req)
        out = [self.d.script_output]
        for m in _SCRIPT_PRINT_RE.finditer(script):
            lit = m.group(2) if m.group(2) is not None else m.group(3)
            lit = lit.replace('\\"', '"').replace("\\'", "'").replace("\\n", "\n").replace("\\\\", "\\")
            out.append(lit + ("\n" if m.group(1) == "println" else ""))
        return P.text("".join(out))

    # -- configuration as code --------------------------------------------------------------
    def _casc_parse(self, text: str) -> dict:
        """Raises ValueError (ConfiguratorException) for bad YAML or unknown roots."""
        if _yaml is None:  # pragma: no cover
            raise ValueError("PyYAML is not installed")
        try:
            data = _yaml.safe_load(text) if text.strip() else {}
        except _yaml.YAMLError as e:
            raise ValueError(f"Failed to parse YAML: {e}") from e
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ValueError("Configuration must be a mapping")  # noqa: TRY004 - a ConfiguratorException
        unknown = [k for k in data if k not in CASC_ROOTS]
        if unknown:
            raise ValueError("No configurator for the following root elements: " + ", ".join(map(str, unknown)))
        return data

    def casc(self, rest: list[str]) -> Response:
        req, P, d = self.req, self.P, self.d
        body = b"" if req.body_consumed else req.body
        if not rest:
            return self.need("hudson.model.Hudson.Manage") or P.layout(
                200, "Configuration as Code", "<h1>Configuration as Code</h1>")
        action = rest[0]
        if len(rest) != 1:
            return P.not_found()
        served = casc_endpoints.handle(self, action)  # check/reload/apply as casc 2115 answers them
        if served is not None:
            return served
        if action == "reload":
            r = self.post_only()
            if r:
                return r
            if not self.auth.admin:
                return P.jetty_error(403, None, req.path)
            try:
                d.casc_applied = self._casc_parse(d.casc_yaml)
            except ValueError as e:
                # ConfiguratorException -> error.jelly rendered with status 200 (spec §6.3)
                return P.layout(200, "Error loading configuration",
                                f"<h1>Error loading configuration</h1><p>{html.escape(str(e))}</p>")
            return P.redirect(req, "/configuration-as-code/")
        if action == "check":
            if req.method != "POST":
                return P.require_post(req)
            if not self.auth.admin:
                return P.jetty_error(403, None, req.path)
            try:
                self._casc_parse(body.decode("utf-8", "replace"))
            except ValueError:
                return P.oops(500)
            return Response(200, b"[]", [("Content-Type", "application/json")])
        if action == "apply":
            if req.method != "POST":
                return P.require_post(req)
            if not self.auth.admin:
                return P.jetty_error(403, None, req.path)
            try:
                data = self._casc_parse(body.decode("utf-8", "replace"))
            except ValueError:
                return P.oops(500)
            d.casc_applied.update(data)
            return P.empty(200)
        if action in ("export", "viewExport"):
            r = self.post_only()
            if r:
                return r
            if not self.auth.admin:
                return P.jetty_error(403, None, req.path)
            text = self._export_yaml()
            if action == "viewExport":
                return P.layout(200, "Export", f"<pre>{html.escape(text)}</pre>")
            return Response(200, text.encode("utf-8"), [
                ("Content-Type", "application/x-yaml; charset=utf-8"),
                ("Content-Disposition", "attachment; filename=jenkins.yaml")])
        if action == "schema":
            if not self.auth.admin:
                return P.jetty_error(403, None, req.path)
            schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                      "additionalProperties": False,
                      "properties": {k: {"type": "object"} for k in sorted(CASC_ROOTS)}}
            return Response(200, json.dumps(schema).encode(), [("Content-Type", "application/json; charset=utf-8")])
        if action == "reference":
            return self.need("hudson.model.Hudson.SystemRead") or P.layout(200, "Reference", "<h1>Reference</h1>")
        return P.not_found()

    def _export_yaml(self) -> str:
        eng = self.eng
        data = {
            "jenkins": {"mode": "NORMAL", "numExecutors": eng.executors, "quietPeriod": int(eng.quiet_period),
                        "crumbIssuer": {"standard": {"excludeClientIPFromCrumb": False}},
                        "securityRealm": {"local": {"allowsSignup": False,
                                                    "users": [{"id": u} for u in sorted(self.d.users)]}}},
            "unclassified": {"location": {"url": eng.root_url}},
        }
        for k, v in self.d.casc_applied.items():
            if isinstance(v, dict) and isinstance(data.get(k), dict):
                data[k] = {**data[k], **v}
            else:
                data[k] = v
        if _yaml is None:  # pragma: no cover
            return json.dumps(data)
        return _yaml.safe_dump(data, sort_keys=False)

    def casc_token_reload(self) -> Response:
        """TokenReloadAction (spec §6.3): 404 disabled / 405 GET / 401 bad token / 200."""
        req, P, d = self.req, self.P, self.d
        if d.casc_reload_token is None:
            return P.not_found()
        if req.method != "POST":
            return P.require_post(req)
        tok = req.qparam("casc-reload-token")
        if tok is None or not _eq(tok, d.casc_reload_token):
            return P.jetty_error(401, None, req.path)
        try:
            d.casc_applied = self._casc_parse(d.casc_yaml)
        except ValueError:
            return P.oops(500)
        return P.empty(200)
