"""Typed Jenkins errors: every HTTP failure becomes one of these, with the server's message and a hint.

Each error carries:
- `status` (HTTP status, or None for connection problems / timeouts), `method`, `url` (with
  `token=`-like query values redacted), `server_message` (from `X-Error`, the Jetty error title, or
  the reason phrase), `hint` (what to do), `exit_code` (jenkins_kit.errors.ExitCode);
- `may_have_been_applied`: False when the server certainly did not act on the request (4xx, crumb
  refusal, connection refused, Jenkins' start-up 503 page), True when it might have (connection
  dropped after the request was sent, a read timeout, a 500). Callers of non-idempotent POSTs
  (createItem, build) use it to decide to check state before trying again — the client never
  repeats such a request blindly.

Secret values never appear in these errors: messages are built from status, URL (no credentials)
and server text, and are scrubbed of the configured secret by the client before raising.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jenkins_kit.errors import ExitCode, KitError

# Query parameters whose values are secrets (job build token, CasC reload token).
_SECRET_PARAMS = {"token", "casc-reload-token", "password", "j_password", "api_token", "apitoken"}


def redact_url(url: str) -> str:
    """Drop userinfo and mask secret-looking query values."""
    try:
        p = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = p.netloc.rsplit("@", 1)[-1]
    query = p.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode([(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs])
    return urlunsplit((p.scheme, netloc, p.path, query, p.fragment))


def fix_header_text(value: str) -> str:
    """Header values arrive latin-1 decoded; Jenkins messages are UTF-8 (‘name’ quotes). Undo the mojibake."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.DOTALL | re.IGNORECASE)
_H2 = re.compile(r"<h2>\s*HTTP ERROR\s*(.*?)\s*</h2>", re.DOTALL | re.IGNORECASE)
_LOGGING_ID = re.compile(r"Logging ID=([0-9a-fA-F-]{8,})")
_TAGS = re.compile(r"<[^>]+>")


def server_message(status: int | None, headers: Mapping[str, str], body: str, reason: str = "") -> str:
    """The most specific message the server gave: X-Error, then the Jetty error reason, then what
    Jenkins' own pages (Oops, start-up, login-required) say, then the page title."""
    x_error = headers.get("X-Error")
    if x_error:
        return fix_header_text(x_error).strip()
    text = body or ""
    m = _H2.search(text)  # Jetty sendError page: <h2>HTTP ERROR 403 No valid crumb ...</h2>
    if m:
        msg = html.unescape(_TAGS.sub("", m.group(1))).strip()
        if status is not None and msg.startswith(str(status)):
            msg = msg[len(str(status)) :].strip()
        if msg:
            return msg
    if "Oops!" in text and "A problem occurred while processing the request" in text:
        lid = _LOGGING_ID.search(text)
        return "A problem occurred while processing the request" + (f" (Logging ID={lid.group(1)})" if lid else "")
    if "getting ready to work" in text:
        return "Jenkins is getting ready to work"
    if "Jenkins is restarting" in text:
        return "Jenkins is restarting"
    if status == 403 and "Authentication required" in text:
        return "Authentication required"
    m = _TITLE.search(text)
    if m:
        t = re.sub(r"^Error\s+\d{3}\s*", "", html.unescape(m.group(1)).strip()).strip()
        t = re.sub(r"\s*(\[Jenkins\]|- Jenkins)$", "", t).strip()  # "Access Denied [Jenkins]"
        if t and t.lower() not in ("jenkins", "error"):
            return t
    plain = text.strip()
    if plain and len(plain) <= 200 and "<" not in plain:
        return plain
    return reason or ""


class JenkinsError(KitError):
    """Base class: any failed conversation with Jenkins."""

    exit_code = ExitCode.ERROR
    default_hint: str | None = None

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        url: str | None = None,
        method: str | None = None,
        server_message: str | None = None,
        may_have_been_applied: bool = False,
        headers: Mapping[str, str] | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, hint if hint is not None else self.default_hint)
        self.status = status
        self.url = redact_url(url) if url else url
        self.method = method
        self.server_message = server_message
        self.may_have_been_applied = may_have_been_applied
        # Response headers only (never request headers, which hold the Authorization header).
        self.headers: dict[str, str] = dict(headers or {})
        self.attempts = attempts

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.message, self.hint, self.__dict__))


def _rebuild(cls: type[JenkinsError], message: str, hint: str | None, state: dict[str, Any]) -> JenkinsError:
    e = cls.__new__(cls)
    KitError.__init__(e, message, hint)
    e.__dict__.update(state)
    return e


class AuthenticationError(JenkinsError):
    """401: Jenkins did not accept the user/token (or password)."""

    exit_code = ExitCode.AUTH
    default_hint = (
        "check JENKINS_USER_ID and JENKINS_API_TOKEN: the token must belong to that user "
        "(create one on <JENKINS_URL>/user/<user>/security/) and must not have been revoked"
    )


class PermissionDeniedError(JenkinsError):
    """403 (not a crumb problem): the user lacks a permission, or was treated as anonymous."""

    exit_code = ExitCode.AUTH

    def __init__(self, message: str, hint: str | None = None, *, required_permission: str | None = None,
                 authenticated_as: str | None = None, **kw: Any) -> None:
        self.required_permission = required_permission
        self.authenticated_as = authenticated_as
        super().__init__(message, hint, **kw)


class CrumbError(JenkinsError):
    """403 'No valid crumb was included in the request', still refused after fetching a fresh crumb."""

    exit_code = ExitCode.AUTH
    default_hint = (
        "Jenkins refused the CSRF crumb even after a fresh one was fetched; use an API token "
        "(JENKINS_API_TOKEN), which Jenkins exempts from crumbs, or check that no proxy drops the "
        "JSESSIONID cookie or the Jenkins-Crumb header"
    )


class NotFoundError(JenkinsError):
    """404: the item, build, queue item or endpoint does not exist. `missing` names the first missing part."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, message: str, hint: str | None = None, *, missing: str | None = None, **kw: Any) -> None:
        self.missing = missing
        super().__init__(message, hint, **kw)


class BadRequestError(JenkinsError):
    """400: Jenkins refused the input; `server_message` holds X-Error (e.g. 'A job already exists ...')."""

    exit_code = ExitCode.INPUT


class MethodNotAllowedError(JenkinsError):
    """405: the endpoint wants another HTTP method (usually POST)."""

    exit_code = ExitCode.ERROR


class ConflictError(JenkinsError):
    """409: e.g. building a disabled job (or a copied job not saved yet)."""

    exit_code = ExitCode.NOT_BUILDABLE
    default_hint = "the job is not buildable: enable it (jenkins-kit jobs apply, or POST .../enable); a copied job must be saved once"


class ServerError(JenkinsError):
    """500/502/504: Jenkins (or a proxy) failed; the cause is in the Jenkins log under the Logging ID."""

    exit_code = ExitCode.SERVER


class UnavailableError(ServerError):
    """503 after waiting: Jenkins is starting, restarting or overloaded."""

    default_hint = "Jenkins is starting or restarting; wait and try again (jenkins-kit waits up to unavailable_wait seconds)"


class JenkinsConnectionError(JenkinsError):
    """The TCP/TLS connection failed or was dropped."""

    exit_code = ExitCode.CONNECTION


class JenkinsTLSError(JenkinsConnectionError):
    """The server's certificate was not trusted."""

    default_hint = "trust the controller's CA with --ca-bundle PATH (PEM); --insecure turns verification off (not recommended)"


class JenkinsTimeoutError(JenkinsError):
    """No answer within the timeout."""

    exit_code = ExitCode.TIMEOUT


class UnexpectedResponseError(JenkinsError):
    """Jenkins answered 2xx/3xx but not with what the endpoint documents (e.g. non-JSON from api/json)."""

    exit_code = ExitCode.SERVER


class NotJenkinsError(UnexpectedResponseError):
    """The URL answers HTTP, but not as Jenkins: no `X-Jenkins` header where Jenkins always sends one
    (every api/* answer and Jenkins' own 404 page; jenkins-remote-api.md §0.2, core Api.java `setHeaders`)."""

    default_hint = "check JENKINS_URL (or --url): it must be the Jenkins root URL, including any context path such as /jenkins/"


_BY_STATUS: dict[int, type[JenkinsError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    500: ServerError,
    502: ServerError,
    503: UnavailableError,
    504: ServerError,
}


def error_class_for(status: int) -> type[JenkinsError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else JenkinsError
