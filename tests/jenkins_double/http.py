"""HTTP plumbing for the double: parsed requests, responses, and Jenkins/Jetty page renderers.

Header placement follows spec §0.2/§1.2/§1.5: ``api/*`` responses carry X-Jenkins,
X-Jenkins-Session, X-Content-Type-Options and X-Frame-Options (no X-Hudson); ``l:layout`` HTML
pages (including Jenkins' 404, Oops and Failure pages) carry X-Hudson, X-Jenkins,
X-Jenkins-Session, X-Hudson-Theme and the cache/referrer/COOP headers; Jetty ``sendError`` pages,
redirects, 201s, ``consoleText`` and ``config.xml`` carry none of them; the 503 start-up page has
no X-Jenkins.
"""
from __future__ import annotations

import html
import uuid
from urllib.parse import parse_qsl, quote, unquote

JSON_CT = "application/json;charset=utf-8"
HTML_CT = "text/html;charset=utf-8"
TEXT_CT = "text/plain;charset=utf-8"

REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 302: "Found", 303: "See Other",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 422: "Unprocessable Entity",
    500: "Server Error", 503: "Service Unavailable",
}


class Request:
    __slots__ = (
        "_form",
        "body",
        "body_consumed",
        "client_ip",
        "cookies",
        "headers",
        "host",
        "method",
        "path",
        "query",
        "raw_path",
        "segments",
        "trailing_slash",
    )

    def __init__(self, method: str, raw_path: str, headers, body: bytes, host: str, client_ip: str):
        self.method = method
        self.raw_path = raw_path
        path, _, qs = raw_path.partition("?")
        self.path = path
        self.query = parse_qsl(qs, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.host = host
        xff = headers.get("X-Forwarded-For")
        self.client_ip = xff.split(",")[0].strip() if xff else client_ip
        self.segments = [unquote(s) for s in path.split("/") if s]
        self.trailing_slash = path.endswith("/")
        self._form = None
        self.body_consumed = False
        self.cookies = {}
        for part in (headers.get("Cookie") or "").split(";"):
            k, sep, v = part.strip().partition("=")
            if sep:
                self.cookies[k] = v

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def is_form(self) -> bool:
        ct = (self.content_type or "").lower()
        return ct.startswith("application/x-www-form-urlencoded")

    def form(self) -> list[tuple[str, str]]:
        """Servlet parameters: query string first, then a urlencoded body."""
        if self._form is None:
            params = list(self.query)
            if self.method == "POST" and self.is_form() and self.body:
                params += parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
                self.body_consumed = True
            elif self.method == "POST" and self.is_multipart() and self.body:
                params += _multipart(self.content_type, self.body)
                self.body_consumed = True
            self._form = params
        return self._form

    def is_multipart(self) -> bool:
        return (self.content_type or "").lower().startswith("multipart/form-data")

    def param(self, name: str) -> str | None:
        for k, v in self.form():
            if k == name:
                return v
        return None

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.form() if k == name]

    def qparam(self, name: str) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return None

    def absolute(self, path: str) -> str:
        """An absolute URL on the host the client used (Stapler sendRedirect, spec §0.4)."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            base = self.path if self.path.endswith("/") else self.path.rsplit("/", 1)[0] + "/"
            path = _normalize(base + path)
        return f"http://{self.host}{path}"


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """Fields of a multipart/form-data body (file parts give their content as text)."""
    from email.parser import BytesParser
    from email.policy import HTTP
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    out = []
    if not msg.is_multipart():
        return out
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        out.append((name, payload.decode(part.get_content_charset() or "utf-8", "replace")))
    return out


def _normalize(path: str) -> str:
    out: list[str] = []
    parts = path.split("/")
    for i, p in enumerate(parts):
        if p == "..":
            if len(out) > 1:
                out.pop()
        elif p == "." :
            continue
        else:
            out.append(p)
    s = "/".join(out)
    if (path.endswith(("/.", "/..", "/"))) and not s.endswith("/"):
        s += "/"
    return s or "/"


class Response:
    __slots__ = ("body", "headers", "reason", "session_needed", "status")

    def __init__(self, status: int, body: bytes = b"", headers=None, reason: str | None = None):
        self.status = status
        self.reason = reason or REASONS.get(status, "Unknown")
        self.headers: list[tuple[str, str]] = list(headers or [])
        self.body = body
        self.session_needed = False

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


_ADM = "hudson.model.Hudson.Administer"
_GW = "hudson.security.Permission.GenericWrite"
_GC = "hudson.security.Permission.GenericCreate"
_GU = "hudson.security.Permission.GenericUpdate"
_GD = "hudson.security.Permission.GenericDelete"
_GCF = "hudson.security.Permission.GenericConfigure"


class Pages:
    """Renders Jenkins/Jetty pages; bound to one double for version/session headers."""

    def __init__(self, double):
        self.d = double

    # -- header sets ------------------------------------------------------------------------
    def api_headers(self):
        return [("X-Jenkins", self.d.version), ("X-Jenkins-Session", self.d.instance_session),
                ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "deny")]

    def layout_headers(self):
        return [("X-Hudson", "1.395"), ("X-Jenkins", self.d.version),
                ("X-Jenkins-Session", self.d.instance_session), ("X-Hudson-Theme", "default"),
                ("Expires", "0"), ("Cache-Control", "no-cache,no-store,must-revalidate"),
                ("Referrer-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin")]

    # -- bodies -----------------------------------------------------------------------------
    def layout(self, status: int, title: str, content: str, extra_headers=(), session=True) -> Response:
        body = (f"<!DOCTYPE html><html><head><title>{html.escape(title)} [Jenkins]</title></head>"
                f"<body><div id=\"main-panel\">{content}</div></body></html>").encode()
        r = Response(status, body, [("Content-Type", HTML_CT)] + self.layout_headers() + list(extra_headers))
        r.session_needed = session
        return r

    def json(self, data: bytes, status: int = 200, ct: str = JSON_CT) -> Response:
        return Response(status, data, [("Content-Type", ct)] + self.api_headers())

    def text(self, text: str | bytes, status: int = 200, headers=()) -> Response:
        body = text.encode("utf-8") if isinstance(text, str) else text
        return Response(status, body, [("Content-Type", TEXT_CT)] + list(headers))

    def empty(self, status: int = 200, headers=()) -> Response:
        return Response(status, b"", list(headers))

    def redirect(self, req: Request, location: str, status: int = 302) -> Response:
        return Response(status, b"", [("Location", req.absolute(location))])

    def not_found(self) -> Response:
        # web.xml maps 404 to Jenkins' own page (spec §0.1)
        return self.layout(404, "Not Found", "<h1>Not Found</h1><p>This page may not exist, or you "
                           "may not have permission to see it.</p>", session=False)

    def oops(self, status: int = 500) -> Response:
        # InstallUncaughtExceptionHandler: Oops page, message NOT in the body (spec §0.3)
        lid = uuid.uuid4()
        return self.layout(status, "Jenkins", "<h1>Oops!</h1><p>A problem occurred while processing "
                           f"the request.</p><p>Logging ID={lid}</p>", session=False)

    def failure(self, message: str) -> Response:
        # hudson.model.Failure -> 400 + X-Error (spec §0.3)
        return self.layout(400, "Error", f"<h1>Error</h1><p>{html.escape(message)}</p>",
                           extra_headers=[("X-Error", message)], session=False)

    def jetty_error(self, status: int, message: str | None, uri: str) -> Response:
        """``rsp.sendError(code, msg)``: Jetty's plain error page; message also as the reason."""
        reason = REASONS.get(status, "Error")
        msg = message if message is not None else reason
        esc = html.escape(msg)
        body = (
            "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=ISO-8859-1\"/>\n"
            f"<title>Error {status} {esc}</title>\n</head>\n<body>\n<h2>HTTP ERROR {status} {esc}</h2>\n"
            f"<table>\n<tr><th>URI:</th><td>{html.escape(uri)}</td></tr>\n"
            f"<tr><th>STATUS:</th><td>{status}</td></tr>\n"
            f"<tr><th>MESSAGE:</th><td>{esc}</td></tr>\n"
            "<tr><th>SERVLET:</th><td>Stapler</td></tr>\n</table>\n\n</body>\n</html>\n")
        # Jetty's ErrorHandler page: text/html;charset=iso-8859-1 and Cache-Control
        # must-revalidate,no-cache,no-store (captured Jetty 9.x error responses in public
        # repositories, found via search).  Keep the reason phrase Latin-1-safe.
        phrase = msg.encode("latin-1", "replace").decode("latin-1").replace("\r", " ").replace("\n", " ")
        return Response(status, body.encode("latin-1", "replace"),
                        [("Content-Type", "text/html;charset=iso-8859-1"),
                         ("Cache-Control", "must-revalidate,no-cache,no-store")], reason=phrase)

    def require_post(self, req: Request) -> Response:
        # stapler interceptor/RequirePOST: 405 + Allow: POST + a "Try POSTing" form (spec §0.3)
        r = self.layout(405, "Error", "<h1>This URL requires POST</h1><p>The URL you're trying to "
                        "access requires that requests be sent using POST (like a form submission)."
                        f"</p><form method=\"POST\" action=\"{html.escape(req.path)}\">"
                        "<input type=\"submit\" value=\"Try POSTing\"/></form>", session=False)
        r.headers.append(("Allow", "POST"))
        return r

    def login_required(self, req: Request) -> Response:
        """Anonymous without Overall/Read (spec §1.2, HudsonAuthenticationEntryPoint)."""
        frm = quote(req.raw_path, safe="")
        target = f"/login?from={frm}"
        body = (f"<html><head><meta http-equiv='refresh' content='1;url={target}'/>"
                f"<script id='redirect' data-redirect-url='{target}' src='/static/00000000/scripts/redirect.js'>"
                "</script></head><body style='background-color:white; color:white;'>\n"
                "Authentication required\n<!--\n" + (" " * 512) + "\n-->\n\n</body></html>")
        headers = [("Content-Type", HTML_CT), ("X-Hudson", "1.395"), ("X-Jenkins", self.d.version),
                   ("X-Jenkins-Session", self.d.instance_session)]
        headers += self.denied_headers("anonymous", "hudson.model.Hudson.Read")
        return Response(403, body.encode("utf-8"), headers)

    def denied_headers(self, user: str, permission: str):
        implied = {
            "hudson.model.Hudson.Read": ["hudson.security.Permission.GenericRead",
                                         "hudson.model.Hudson.Administer"],
            "hudson.model.Hudson.Manage": ["hudson.model.Hudson.Administer"],
            "hudson.model.Hudson.SystemRead": ["hudson.model.Hudson.Administer"],
            "hudson.model.Hudson.Administer": [],
            # Item permissions and their impliedBy chains [core hudson/model/Item.java, read via
            # search: CREATE<-Permission.CREATE, BUILD<-Permission.UPDATE, CANCEL<-BUILD,
            # CONFIGURE<-Permission.CONFIGURE, EXTENDED_READ<-CONFIGURE, DELETE<-Permission.DELETE;
            # the Generic* -> GenericWrite -> Administer links are from core Permission.java,
            # Unverified]
            "hudson.model.Item.Create": [_GC, _GW, _ADM],
            # RelocationAction.RELOCATE: Permission(Item.PERMISSIONS, "Move", ..., Permission.CREATE)
            # [cloudbees-folder relocate/RelocationAction.java]
            "hudson.model.Item.Move": [_GC, _GW, _ADM],
            "hudson.model.Item.Build": [_GU, _GW, _ADM],
            "hudson.model.Item.Cancel": ["hudson.model.Item.Build", _GU, _GW, _ADM],
            "hudson.model.Item.Configure": [_GCF, _GU, _GW, _ADM],
            "hudson.model.Item.ExtendedRead": ["hudson.model.Item.Configure", _GCF, _GU, _GW, _ADM],
            "hudson.model.Item.Delete": [_GD, _GW, _ADM],
            "hudson.model.Run.Delete": [_GD, _GW, _ADM],
        }.get(permission, [_ADM])
        h = [("X-You-Are-Authenticated-As", user),
             ("X-You-Are-In-Group-Disabled", ("JENKINS-39402: use -Dhudson.security.AccessDeniedException2"
              ".REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose")),
             ("X-Required-Permission", permission)]
        h += [("X-Permission-Implied-By", p) for p in implied]
        return h

    def access_denied(self, user: str, permission: str) -> Response:
        # AccessDeniedHandlerImpl: "Access Denied" page + permission headers (spec §1.2)
        return self.layout(403, "Access Denied",
                           f"<h1>Access Denied</h1><p>{html.escape(user)} is missing the "
                           f"{html.escape(permission.rsplit('.', 1)[-1])} permission</p>",
                           extra_headers=self.denied_headers(user, permission), session=False)

    def unauthorized(self, uri: str) -> Response:
        # Spring BasicAuthenticationEntryPoint, realm "Jenkins" (spec §1.1)
        r = self.jetty_error(401, "Unauthorized", uri)
        r.headers.append(("WWW-Authenticate", 'Basic realm="Jenkins"'))
        return r

    def loading(self, restarting: bool = False) -> Response:
        # HudsonIsLoading / HudsonIsRestarting: 503, no X-Jenkins (spec §6.4, §6.5)
        if restarting:
            body = ("<!DOCTYPE html><html><head><title>Restarting Jenkins</title></head><body>"
                    "<h1>Please wait while Jenkins is restarting...</h1><p>Jenkins is restarting</p>"
                    "<p>Your browser will reload automatically when Jenkins is ready.</p></body></html>")
        else:
            body = ("<!DOCTYPE html><html><head><title>Starting Jenkins</title></head><body>"
                    "<h1>Please wait while Jenkins is getting ready to work...</h1>"
                    "<p>Jenkins is getting ready to work</p>"
                    "<p>Your browser will reload automatically when Jenkins is ready.</p></body></html>")
        return Response(503, body.encode("utf-8"), [
            ("Content-Type", HTML_CT), ("Expires", "0"),
            ("Cache-Control", "no-cache,no-store,must-revalidate")])
