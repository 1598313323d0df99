"""The toolkit's Jenkins client: auth, crumbs, timeouts, safe retries, typed errors.

Thin on purpose: it speaks HTTP to Jenkins' remote API (jenkins-remote-api.md) and turns every
failure into a `jenkins_kit.jenkins.errors.JenkinsError` subclass. Job sync and build triggering are
built on top of it (jobs*.py, builds*.py).

Rules it keeps:
- Credentials are sent preemptively with every request (Jenkins never challenges, §1.1).
- Password auth: a crumb is fetched from `crumbIssuer/api/json` before the first POST, the web
  session cookie (`JSESSIONID.<hex>`) it comes with is kept in the session, and the crumb header is
  sent on POSTs only. A 403 "No valid crumb" makes the client fetch a fresh crumb once and send
  the request again (the refusal comes from CrumbFilter, before Jenkins acted, so this is no blind
  repeat). Token auth skips crumbs (ApiCrumbExclusion) but still fetches one once if refused.
  python-jenkins, by contrast, caches its first crumb forever and sends it on every GET too.
- Every request has a timeout.
- Retries with exponential backoff and jitter only where repeating is safe: GET, DELETE and POSTs
  the caller marks `idempotent=True`. A request that certainly did not reach Jenkins (connection
  refused, connect timeout) or that Jenkins refused with its start-up 503 page is retried whatever
  the method. Anything else that fails on a non-idempotent POST raises at once with
  `may_have_been_applied=True`, so the caller can look before it tries again.
- TLS verification is on by default; `ca_bundle` adds trust; `insecure=True` turns it off and is
  warned about every time a client is made.
- Secret values never appear in logs or exception text.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import requests
import requests.adapters
import urllib3.exceptions

from jenkins_kit import __version__
from jenkins_kit import secrets as _secrets
from jenkins_kit.jenkins import paths
from jenkins_kit.jenkins.errors import (
    AuthenticationError,
    CrumbError,
    JenkinsConnectionError,
    JenkinsError,
    JenkinsTimeoutError,
    JenkinsTLSError,
    NotFoundError,
    NotJenkinsError,
    PermissionDeniedError,
    UnavailableError,
    UnexpectedResponseError,
    error_class_for,
    redact_url,
    server_message,
)
from jenkins_kit.jenkins.settings import JenkinsSettings
from jenkins_kit.secrets import SecretValue

log = logging.getLogger("jenkins_kit.jenkins")

CRUMB_PATH = "crumbIssuer/api/json"
_CRUMB_REFUSAL = "No valid crumb"
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_MAX_ERROR_BODY = 64 * 1024


class InsecureJenkinsWarning(UserWarning):
    """A Jenkins client was created with TLS verification turned off."""


class _BasicAuth(requests.auth.AuthBase):
    """Preemptive HTTP Basic auth that keeps its secret in a `SecretValue` (masked repr)."""

    def __init__(self, user: str, secret: SecretValue) -> None:
        self._user = user
        self._secret = secret

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = requests.auth._basic_auth_str(self._user, self._secret.reveal())
        return r

    def __repr__(self) -> str:
        return f"_BasicAuth(user={self._user!r}, secret=***)"


# Permission ids Jenkins names in X-Required-Permission -> how the UI (and matrix-auth) shows them.
_PERMISSION_GROUPS = {
    "hudson.model.Hudson": "Overall",
    "jenkins.model.Jenkins": "Overall",
    "hudson.model.Item": "Job",
    "hudson.model.Run": "Run",
    "hudson.model.View": "View",
    "hudson.model.Computer": "Agent",
    "hudson.scm.SCM": "SCM",
    "com.cloudbees.plugins.credentials.CredentialsProvider": "Credentials",
}


# Answers that always carry X-Jenkins when Jenkins sends them (core Api.java `setHeaders`): api/json|xml|python.
_API_PATH = re.compile(r"/api/(json|xml|python)$")
_SECRET_QUERY = re.compile(r"(?i)\b(token|casc-reload-token|password|j_password)=[^&\s\"']*")


class _RedactingFilter(logging.Filter):
    """Scrubs secrets from urllib3's DEBUG lines, which print full URLs (a job's `token=` query value)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is left alone
            return True
        clean = _secrets.scrub(_SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text))
        if clean != text:
            record.msg, record.args = clean, None
        return True


_REDACTOR = _RedactingFilter()


def _install_redactor() -> None:
    lg = logging.getLogger("urllib3.connectionpool")
    if _REDACTOR not in lg.filters:
        lg.addFilter(_REDACTOR)


def permission_title(perm_id: str) -> str:
    """`hudson.model.Item.Create` -> `Job/Create (hudson.model.Item.Create)`."""
    owner, _, name = perm_id.rpartition(".")
    group = _PERMISSION_GROUPS.get(owner)
    return f"{group}/{name} ({perm_id})" if group else perm_id


def _was_possibly_sent(exc: BaseException) -> bool:
    """False only when the request certainly never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        if isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return False
    return True


def _is_jenkins_starting(resp: requests.Response, body: str) -> bool:
    """Jenkins' own 503 loading/restarting page: nothing was processed (§6.5)."""
    return resp.status_code == 503 and ("getting ready to work" in body or "Jenkins is restarting" in body or "Starting Jenkins" in body)


def _body_text(resp: requests.Response) -> str:
    try:
        raw = resp.raw.read(_MAX_ERROR_BODY, decode_content=True) if resp.raw is not None and not resp._content_consumed else resp.content[:_MAX_ERROR_BODY]  # type: ignore[attr-defined]
        if isinstance(raw, str):
            return raw
        return (raw or b"").decode(resp.encoding or "utf-8", errors="replace")
    except Exception:  # noqa: BLE001 - a body we cannot read is just not shown
        return ""


def _api_json_path(path: str) -> str:
    base, sep, query = path.partition("?")
    if base.rstrip("/").endswith("api/json"):
        out = base
    elif base == "" or base.endswith("/"):
        out = base + "api/json"
    else:
        out = base + "/api/json"
    return out + (sep + query if sep else "")


def _query_param(url: str, name: str) -> str | None:
    vals = parse_qs(urlsplit(url).query).get(name)
    return vals[0] if vals else None


class JenkinsClient:
    """A connection to one Jenkins controller. Thread-safe: job sync may share one across workers."""

    def __init__(self, settings: JenkinsSettings, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        _install_redactor()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # No transport-level retries: repeating is decided here, per method (never for a POST).
            adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=16)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = f"jenkins-kit/{__version__}"
            # requests re-reads proxy and CA variables from os.environ on every request (about a
            # quarter of a job sync's client CPU). They cannot change under us: resolve them once.
            session.proxies.update(requests.utils.get_environ_proxies(settings.url))
            session.trust_env = False
        self.session = session
        verify = settings.verify
        if verify is True and self._owns_session:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._verify = verify
        self._auth = _BasicAuth(settings.user, settings.secret)
        self._sleep = sleep
        self._lock = threading.RLock()
        self._crumb: tuple[str, str] | None = None
        self._crumb_state = "unknown"  # unknown | have | none (issuer 404: CSRF protection off)
        self._crumb_fetches = 0
        self._deadline: float | None = None  # time.monotonic() after which no request starts or waits
        self._seen_jenkins = False  # an answer carried X-Jenkins: this is a Jenkins
        base = urlsplit(settings.url)
        self._origin = (base.scheme, base.netloc)
        self._base_path = base.path
        if settings.insecure:
            msg = (
                f"TLS certificate verification is OFF for {settings.url} (--insecure): "
                "credentials can be intercepted; use --ca-bundle instead"
            )
            log.warning(msg)
            warnings.warn(msg, InsecureJenkinsWarning, stacklevel=2)
            # urllib3 would warn on every single request; the warning above says it once per client.
            # (Filtered for this category only; nothing else is silenced.)
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

    # ------------------------------------------------------------------ basics
    @property
    def url(self) -> str:
        """Base URL of the controller, ending with '/'."""
        return self.settings.url

    def __repr__(self) -> str:
        return f"JenkinsClient(url={self.url!r}, user={self.settings.user!r}, auth={self.settings.auth!r})"

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> JenkinsClient:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def job_url_path(full_name: str) -> str:
        """`'team/app'` -> `'job/team/job/app/'` (see jenkins_kit.jenkins.paths)."""
        return paths.job_url_path(full_name)

    def absolute_url(self, path: str) -> str:
        """The full URL for a path relative to the root (absolute Jenkins URLs are rebased, see `rel_path`)."""
        if path.startswith(("http://", "https://")):
            p = urlsplit(path)
            if (p.scheme, p.netloc) == self._origin:
                return path
            return self.url + self.rel_path(path)
        return self.url + path.lstrip("/")

    def rel_path(self, url: str) -> str:
        """A path relative to the root for a URL Jenkins gave us.

        JSON `url` fields use the *configured* root URL, which may not be the one we talk to (a
        port-forward, a proxy); the path part is kept and put under our base URL. This also means
        credentials are never sent to another host than the configured one.
        """
        if not url.startswith(("http://", "https://")):
            return url.lstrip("/")
        p = urlsplit(url)
        path = p.path
        if path.startswith(self._base_path):
            path = path[len(self._base_path) :]
        else:
            path = path.lstrip("/")
        return path + (f"?{p.query}" if p.query else "")

    # ------------------------------------------------------------------ public verbs
    def get(self, path: str, params: Any = None, *, stream: bool = False, allow_404: bool = False,
            headers: Mapping[str, str] | None = None) -> requests.Response:
        """GET, retried on connection errors, timeouts and 5xx. With `allow_404`, a 404 is returned, not raised."""
        return self._request("GET", path, params=params, stream=stream, headers=headers, idempotent=True,
                             allow_statuses=(404,) if allow_404 else ())

    def get_json(self, path: str, params: Any = None, *, tree: str | None = None, depth: int | None = None) -> Any:
        """GET `<path>api/json` (appended unless `path` already ends with `api/json`) and decode it."""
        p: list[tuple[str, Any]] = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        if tree is not None:
            p.append(("tree", tree))
        if depth is not None:
            p.append(("depth", int(depth)))
        target = _api_json_path(path)
        resp = self.get(target, p or None)
        try:
            return resp.json()
        except ValueError:
            raise self._scrub(UnexpectedResponseError(
                f"GET /{self.rel_path(resp.url)}: expected JSON, got {resp.headers.get('Content-Type', 'no content type')}",
                "is the URL the Jenkins root? (a login page or a proxy page is not Jenkins)",
                status=resp.status_code, url=resp.url, method="GET",
            )) from None

    def get_text(self, path: str, params: Any = None) -> str:
        """GET a text resource (config.xml, consoleText, description)."""
        resp = self.get(path, params)
        resp.encoding = resp.encoding or "utf-8"
        return resp.text

    def post(self, path: str, *, data: Any = None, params: Any = None, headers: Mapping[str, str] | None = None,
             idempotent: bool = False, allow_redirects: bool = False, allow_statuses: tuple[int, ...] = ()) -> requests.Response:
        """POST with crumb handling. Retried only when `idempotent=True` (or when it certainly never reached Jenkins).

        A 2xx or 3xx response is returned (redirects are not followed unless asked: Jenkins answers
        many POSTs with 302, and following it is a GET nobody needs), and so is one whose status is in
        `allow_statuses` (an endpoint whose error body is its answer, e.g. configuration-as-code/check's 400).
        """
        return self._request("POST", path, data=data, params=params, headers=headers, idempotent=idempotent,
                             allow_redirects=allow_redirects, allow_statuses=allow_statuses)

    def post_xml(self, path: str, xml: str | bytes, *, params: Any = None, idempotent: bool = False) -> requests.Response:
        """POST an XML document (createItem, config.xml) as `text/xml; charset=utf-8`."""
        body = xml.encode("utf-8") if isinstance(xml, str) else xml
        return self.post(path, data=body, params=params, headers={"Content-Type": "text/xml; charset=utf-8"}, idempotent=idempotent)

    def delete(self, path: str, *, missing_ok: bool = False) -> requests.Response:
        """HTTP DELETE (204 from Jenkins). Retried; a 404 on a retry after an attempt that may have
        gone through counts as done. With `missing_ok`, any 404 is returned instead of raised."""
        return self._request("DELETE", path, idempotent=True, allow_statuses=(404,) if missing_ok else (),
                             missing_ok_after_retry=True)

    def whoami(self) -> dict[str, Any]:
        """`/whoAmI/api/json`: `{"name", "anonymous", "authenticated", "authorities"}` for our credentials."""
        data = self.get_json("whoAmI/api/json")
        if not isinstance(data, dict):
            raise self._scrub(UnexpectedResponseError("whoAmI/api/json did not return an object", status=200, url=self.url + "whoAmI/api/json", method="GET"))
        return data

    def version(self) -> str:
        """The controller's version from `X-Jenkins` on an authenticated `api/json` (python-jenkins' get_version
        sends no credentials and fails on a secured Jenkins; this does not)."""
        resp = self.get("api/json", {"tree": "mode"})
        v = resp.headers.get("X-Jenkins")
        if not v:
            raise self._scrub(UnexpectedResponseError(
                f"{self.url} answered without an X-Jenkins header", "is JENKINS_URL the Jenkins root URL (not a proxy or another service)?",
                status=resp.status_code, url=resp.url, method="GET",
            ))
        return v

    def item_exists(self, full_name: str) -> bool:
        """Whether an item exists (case-insensitively, as Jenkins looks names up)."""
        resp = self.get(self.job_url_path(full_name) + "api/json", {"tree": "name"}, allow_404=True)
        return resp.status_code != 404

    def crumb(self, *, refresh: bool = False) -> tuple[str, str] | None:
        """The current (field, value) crumb, fetching one if needed; None when Jenkins has CSRF protection off."""
        with self._lock:
            if refresh or self._crumb_state == "unknown":
                self._fetch_crumb_locked()
            return self._crumb

    # ------------------------------------------------------------------ crumbs
    def _fetch_crumb_locked(self) -> None:
        self._crumb_fetches += 1
        resp = self._request("GET", CRUMB_PATH, idempotent=True, allow_statuses=(404,))
        if resp.status_code == 404:
            self._crumb, self._crumb_state = None, "none"
            log.debug("crumb issuer not found: CSRF protection is off")
            return
        try:
            data = resp.json()
            field = data.get("crumbRequestField") or "Jenkins-Crumb"
            value = data["crumb"]
        except (ValueError, KeyError, AttributeError, TypeError):
            raise self._scrub(UnexpectedResponseError(
                "crumbIssuer/api/json did not return a crumb", status=resp.status_code, url=resp.url, method="GET")) from None
        self._crumb, self._crumb_state = (str(field), str(value)), "have"

    def _crumb_for_post(self) -> tuple[str, str] | None:
        with self._lock:
            if self._crumb_state == "unknown" and not self.settings.uses_token:
                self._fetch_crumb_locked()
            return self._crumb

    def _refresh_crumb(self, stale: tuple[str, str] | None) -> None:
        with self._lock:
            if self._crumb_state == "have" and self._crumb != stale:
                return  # another thread already refreshed it
            self._fetch_crumb_locked()

    # ------------------------------------------------------------------ core
    def set_deadline(self, seconds: float | None) -> None:
        """Bound every later request, retries and backoff included, to end within `seconds` from now
        (a command's --timeout): each attempt's timeout is cut to what is left, and no retry starts
        that could not finish in time."""
        self._deadline = None if seconds is None else time.monotonic() + seconds

    def _time_left(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - time.monotonic()

    def _backoff(self, retry_no: int, resp: requests.Response | None = None) -> float:
        s = self.settings
        delay = min(s.backoff_max, s.backoff_base * (2**retry_no))
        delay = delay / 2 + random.uniform(0, delay / 2)  # "equal jitter"
        if resp is not None:
            ra = resp.headers.get("Retry-After")
            if ra:
                try:
                    wanted = float(ra)
                except ValueError:
                    try:
                        wanted = parsedate_to_datetime(ra).timestamp() - time.time()
                    except (TypeError, ValueError):
                        wanted = 0.0
                delay = max(delay, min(wanted, s.backoff_max * 2))
        return max(0.0, delay)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        allow_redirects: bool | None = None,
        idempotent: bool,
        allow_statuses: tuple[int, ...] = (),
        missing_ok_after_retry: bool = False,
    ) -> requests.Response:
        s = self.settings
        url = self.absolute_url(path)
        if allow_redirects is None:
            allow_redirects = method == "GET"
        if isinstance(data, str):
            data = data.encode("utf-8")
        started = time.monotonic()
        retries_used = 0
        attempts = 0
        crumb_retry_done = False
        possibly_applied = False  # some earlier attempt may have reached Jenkins and been acted on

        while True:
            attempts += 1
            hdrs = dict(headers or {})
            sent_crumb: tuple[str, str] | None = None
            if method == "POST":
                sent_crumb = self._crumb_for_post()
                if sent_crumb:
                    hdrs[sent_crumb[0]] = sent_crumb[1]
            t0 = time.monotonic()
            left = self._time_left()
            if left <= 0:
                raise self._scrub(JenkinsTimeoutError(
                    f"{method} {self._show(url)}: the command's time limit passed before this request could be sent",
                    "raise --timeout", url=url, method=method, may_have_been_applied=possibly_applied, attempts=attempts - 1))
            timeout = min(s.timeout, left)
            try:
                resp = self.session.request(
                    method, url, params=params, data=data, headers=hdrs, stream=stream,
                    allow_redirects=allow_redirects, timeout=timeout, verify=self._verify, auth=self._auth,
                )
            except requests.exceptions.SSLError as e:
                raise self._scrub(JenkinsTLSError(
                    f"TLS handshake with {self._host()} failed: {_short_exc(e)}",
                    status=None, url=url, method=method, may_have_been_applied=False, attempts=attempts,
                )) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as e:
                sent = _was_possibly_sent(e)
                possibly_applied = possibly_applied or sent
                log.debug("%s %s failed after %.0f ms: %s", method, redact_url(url), (time.monotonic() - t0) * 1000, _short_exc(e))
                delay = self._backoff(retries_used)
                if (idempotent or not sent) and retries_used < s.retries and self._time_left() > delay:
                    log.info("retrying %s %s in %.2fs after %s (retry %d of %d)", method, self._show(url), delay,
                             type(e).__name__, retries_used + 1, s.retries)
                    retries_used += 1
                    self._sleep(delay)
                    continue
                raise self._transport_error(e, method, url, possibly_applied, attempts, idempotent, timeout) from None

            status = resp.status_code
            log.debug("%s %s -> %d in %.0f ms", method, self._show(resp.url or url), status, (time.monotonic() - t0) * 1000)
            if "X-Jenkins" in resp.headers:
                self._seen_jenkins = True
            elif (not self._seen_jenkins and method in ("GET", "HEAD")
                  and (status == 404 or (status < 300 and _API_PATH.search(urlsplit(resp.url or url).path)))):
                # Until this server has shown itself as Jenkins once, an answer Jenkins always marks
                # (api/*, its own 404 page) without the mark means another HTTP server.
                resp.close()
                raise self._scrub(NotJenkinsError(
                    f"{method} {self._show(url)}: {self._host()} answered HTTP {status} without an X-Jenkins header: this is not a Jenkins",
                    status=status, url=url, method=method, headers=resp.headers, attempts=attempts,
                ))

            if status < 400 or status in allow_statuses:
                return resp
            if status == 404 and missing_ok_after_retry and possibly_applied:
                log.info("%s %s: 404 on a retry after an attempt that may have succeeded; treating as done", method, self._show(url))
                return resp

            body = _body_text(resp)
            resp.close()

            # CSRF: a crumb refusal is decided by CrumbFilter before Jenkins acts, so one more try is safe.
            if status == 403 and method == "POST" and _CRUMB_REFUSAL in (body + " " + (resp.reason or "")):
                if not crumb_retry_done:
                    crumb_retry_done = True
                    log.info("Jenkins refused the crumb for %s %s; fetching a fresh one", method, self._show(url))
                    self._refresh_crumb(sent_crumb)
                    continue
                raise self._http_error(resp, body, method, url, possibly_applied=possibly_applied, attempts=attempts, crumb=True)

            if status in _RETRY_STATUSES:
                starting = _is_jenkins_starting(resp, body)
                if idempotent or starting:
                    if status == 503:
                        delay = self._backoff(min(retries_used, 16), resp)
                        within = (time.monotonic() - started) + delay <= s.unavailable_wait
                        can = within if starting else (retries_used < s.retries or within)
                    else:
                        delay = self._backoff(retries_used, resp)
                        can = retries_used < s.retries
                    if can and self._time_left() > delay:
                        log.info("retrying %s %s in %.2fs after HTTP %d (retry %d)", method, self._show(url), delay, status, retries_used + 1)
                        retries_used += 1
                        if status != 503:
                            possibly_applied = possibly_applied or (status == 500 and method == "POST")
                        self._sleep(delay)
                        continue
                elif not starting:
                    possibly_applied = True
            raise self._http_error(resp, body, method, url, possibly_applied=possibly_applied, attempts=attempts)

    # ------------------------------------------------------------------ errors
    def _host(self) -> str:
        return self._origin[1]

    def _show(self, url: str) -> str:
        """How a URL is shown in messages: '/path?query' relative to the host, secrets redacted."""
        p = urlsplit(redact_url(url))
        return urlunsplit(("", "", p.path, p.query, ""))

    def _scrub(self, err: JenkinsError) -> JenkinsError:
        """Remove our secret (and every secret jenkins_kit.secrets knows) from an error before it is raised."""
        secret = self.settings.secret.reveal()

        def clean(v: Any) -> Any:
            if not isinstance(v, str):
                return v
            if secret and len(secret) >= 3 and secret in v:
                v = v.replace(secret, "***")
            return _secrets.scrub(v)

        for attr in ("message", "hint", "server_message", "url"):
            setattr(err, attr, clean(getattr(err, attr, None)))
        err.args = tuple(clean(a) for a in err.args)
        err.headers = {k: clean(v) for k, v in err.headers.items()}
        return err

    def _transport_error(self, e: BaseException, method: str, url: str, possibly_applied: bool, attempts: int,
                         idempotent: bool, timeout: float | None = None) -> JenkinsError:
        applied = possibly_applied and method not in ("GET", "HEAD")
        tail = ""
        if method == "POST" and not idempotent and applied:
            tail = "; the request may have been applied: check before repeating it"
        if isinstance(e, requests.exceptions.Timeout) and not isinstance(e, requests.exceptions.ConnectTimeout):
            return self._scrub(JenkinsTimeoutError(
                f"{method} {self._show(url)}: no answer from {self._host()} within {round(timeout or self.settings.timeout, 1):g}s"
                f" (after {attempts} attempt{'s' if attempts != 1 else ''}){tail}",
                "Jenkins may be overloaded; raise --timeout, or check the controller's health",
                url=url, method=method, may_have_been_applied=applied, attempts=attempts,
            ))
        if not _was_possibly_sent(e):
            what = "timed out connecting to" if isinstance(e, requests.exceptions.ConnectTimeout) else "cannot connect to"
            return self._scrub(JenkinsConnectionError(
                f"{method} {self._show(url)}: {what} {self._host()} (after {attempts} attempt{'s' if attempts != 1 else ''}): {_short_exc(e)}",
                "check JENKINS_URL (host and port) and that Jenkins is running and reachable from here",
                url=url, method=method, may_have_been_applied=applied, attempts=attempts,
            ))
        return self._scrub(JenkinsConnectionError(
            f"{method} {self._show(url)}: the connection to {self._host()} was dropped before a complete answer"
            f" (after {attempts} attempt{'s' if attempts != 1 else ''}){tail}",
            "a proxy or load balancer may be cutting connections; check Jenkins' health",
            url=url, method=method, may_have_been_applied=applied, attempts=attempts,
        ))

    def _http_error(self, resp: requests.Response, body: str, method: str, url: str, *, possibly_applied: bool,
                    attempts: int, crumb: bool = False) -> JenkinsError:
        status = resp.status_code
        msg = server_message(status, resp.headers, body, resp.reason or "")
        where = f"{method} {self._show(resp.url or url)}"
        kw: dict[str, Any] = {"status": status, "url": resp.url or url, "method": method, "server_message": msg,
                              "headers": dict(resp.headers), "attempts": attempts}
        s = self.settings
        hint: str | None
        if crumb:
            return self._scrub(CrumbError(f"{where}: 403 {msg or 'No valid crumb was included in the request'} (after a fresh crumb)",
                                          may_have_been_applied=False, **kw))
        if status == 401 and "reload-configuration-as-code" in url:
            return self._scrub(AuthenticationError(
                f"{where}: 401 the configuration-as-code reload token was not accepted",
                "pass the value of the controller's CASC_RELOAD_TOKEN (or casc.reload.token) as casc-reload-token",
                may_have_been_applied=False, **kw))
        if status == 401:
            return self._scrub(AuthenticationError(
                f"{where}: 401 Jenkins did not accept the credentials of user {s.user!r} ({s.auth} auth)",
                AuthenticationError.default_hint if s.uses_token else
                "check JENKINS_USER_ID and the password; an API token (JENKINS_API_TOKEN) is preferred",
                may_have_been_applied=False, **kw))
        if status == 403:
            perm = resp.headers.get("X-Required-Permission")
            who = resp.headers.get("X-You-Are-Authenticated-As")
            if who == "anonymous" or (msg == "Authentication required"):
                hint = ("Jenkins saw no credentials: check that nothing between you and Jenkins strips the "
                        "Authorization header, and that JENKINS_USER_ID/JENKINS_API_TOKEN are set")
                text = f"{where}: 403 Jenkins treated the request as anonymous"
            else:
                pname = permission_title(perm) if perm else None
                text = f"{where}: 403 user {who or s.user!r} lacks " + (f"the permission {pname}" if pname else "a permission") + (
                    f": {msg}" if msg and msg not in ("Forbidden", "Access Denied") else "")
                hint = (f"grant {pname.split(' (')[0] if pname else 'the permission'} to {who or s.user!r} "
                        "(authorization strategy / JCasC), or use an administrator's API token")
            return self._scrub(PermissionDeniedError(text, hint, required_permission=perm, authenticated_as=who,
                                                     may_have_been_applied=False, **kw))
        if status == 404:
            missing, text, hint = self._describe_missing(resp.url or url, method, msg)
            return self._scrub(NotFoundError(f"{where}: 404 {text}", hint, missing=missing, may_have_been_applied=possibly_applied and method != "GET", **kw))
        cls = error_class_for(status)
        if status == 400:
            return self._scrub(cls(f"{where}: 400 {msg or 'Bad Request'}", _hint_400(msg), may_have_been_applied=False, **kw))
        if status == 405:
            allow = resp.headers.get("Allow")
            return self._scrub(cls(f"{where}: 405 method not allowed" + (f" (allowed: {allow})" if allow else ""),
                                   "this endpoint needs another HTTP method", may_have_been_applied=False, **kw))
        if status == 409:
            return self._scrub(cls(f"{where}: 409 {msg or 'Conflict'}", may_have_been_applied=False, **kw))
        if status == 422 and self.rel_path(url).split("?", 1)[0].strip("/") == "queue/cancelItem":
            # Queue.doCancelItem: the item exists but the user lacks Item/Cancel on its job (the
            # message "Item for id (N) is not cancellable" is only in the Jenkins log)
            qid = _query_param(resp.url or url, "id")
            return self._scrub(PermissionDeniedError(
                f"{where}: 422 queue item {qid} is not cancellable by user {s.user!r}",
                f"grant Job/Cancel on the job to {s.user!r}, or use an administrator's API token",
                required_permission="hudson.model.Item.Cancel", authenticated_as=s.user,
                may_have_been_applied=False, **kw))
        if status == 503:
            waited = ""
            return self._scrub(UnavailableError(
                f"{where}: 503 {msg or 'Service Unavailable'}{waited} (after {attempts} attempt{'s' if attempts != 1 else ''})"
                + ("; the request may have been applied: check before repeating it" if possibly_applied and method == "POST" else ""),
                may_have_been_applied=possibly_applied and method != "GET", **kw))
        if status >= 500:
            applied = possibly_applied and method != "GET"
            lid = ""
            return self._scrub(cls(
                f"{where}: {status} {msg or resp.reason or 'Server Error'}{lid} (after {attempts} attempt{'s' if attempts != 1 else ''})"
                + ("; the request may have been applied: check before repeating it" if applied and method == "POST" else ""),
                "the cause is only in the Jenkins log (look up the Logging ID); for createItem/config.xml a 500 usually "
                "means malformed XML or a root element that is not the job's type",
                may_have_been_applied=applied, **kw))
        return self._scrub(cls(f"{where}: {status} {msg or resp.reason or ''}".rstrip(), may_have_been_applied=False, **kw))

    def _probe(self, names: list[str]) -> int | None:
        """Status of GET <item>/api/json?tree=name for one prefix of a path (one try, no retries); None on failure."""
        prefix = "".join(f"job/{paths.quote_segment(n)}/" for n in names)
        try:
            r = self.session.get(self.url + prefix + "api/json", params={"tree": "name"}, auth=self._auth,
                                 timeout=self.settings.timeout, verify=self._verify, allow_redirects=False)
            r.close()
            return r.status_code
        except requests.RequestException:
            return None

    def _describe_missing(self, url: str, method: str, msg: str = "") -> tuple[str | None, str, str | None]:
        """Name the first path segment that does not exist, probing parent items with cheap GETs."""
        rel = self.rel_path(url).split("?", 1)[0]
        parts = [p for p in rel.split("/") if p]
        if parts == ["queue", "cancelItem"]:
            # Queue.doCancelItem's "Provided id (N) not found" only reaches the Jenkins log: the
            # reply is the Oops page (HttpResponses.error + Jenkins' ErrorCustomizer)
            qid = _query_param(url, "id")
            return (f"queue item {qid}" if qid else "queue item", f"queue item {qid or ''} not found".replace("  ", " "),
                    "the item is unknown, or expired (Jenkins forgets a queue item 5 minutes after it leaves the queue)")
        if len(parts) >= 3 and parts[0] == "queue" and parts[1] == "item":
            return (f"queue item {parts[2]}", f"queue item {parts[2]} does not exist",
                    ("Jenkins forgets a queue item 5 minutes after it leaves the queue, and on restart; "
                     "look the build up by job and number instead"))
        names: list[str] = []
        i = 0
        while i + 1 < len(parts) and parts[i] == "job":
            names.append(unquote(parts[i + 1]))
            i += 2
        rest = parts[i:]
        if not names and msg and not msg.lower().startswith("not found"):
            return ("/" + rel, msg, None)  # an endpoint's own 404 message (sendError), e.g. CasC token reload
        if not names:
            return ("/" + rel, f"Jenkins has no page at /{rel}",
                    "check JENKINS_URL (it must be the Jenkins root) and that the plugin serving this page is installed")
        # When the request was for the item itself (its page, api/json, config.xml), its 404 already
        # says the last segment is missing: no need to ask again.
        item_itself = rest in ([], ["api", "json"], ["api", "xml"], ["api", "python"], ["config.xml"])
        if self.settings.probe_not_found:
            code: int | None
            for k in range(1, len(names) + 1):
                if k == len(names) and item_itself:
                    code = 404
                else:
                    code = self._probe(names[:k])
                    if code is None:
                        break
                if code == 404:
                    item = names[k - 1]
                    if k == 1:
                        return (item, f"no item {item!r} at the Jenkins root",
                                f"create it first (jenkins-kit jobs apply), or check the spelling of {'/'.join(names)!r}")
                    parent = "/".join(names[: k - 1])
                    return ("/".join(names[:k]), f"folder {parent!r} has no item {item!r}",
                            f"create {'/'.join(names[:k])!r} first (jenkins-kit jobs apply), or check the spelling")
                if code != 200:
                    break
            else:
                full = "/".join(names)
                if rest:
                    head = unquote(rest[0])
                    if head.isdigit():
                        return (f"{full}#{head}", f"job {full!r} has no build #{head}",
                                "the build may have been discarded by the job's log rotation, or not started yet")
                    if head.startswith("last") and head.endswith("Build"):
                        return (f"{full}/{head}", f"job {full!r} has no {head} yet", "no build of that kind exists yet")
                    if head in ("createItem", "checkJobName"):
                        return (full, f"{full!r} is not a folder, so it cannot hold items", "create items in a folder or at the root")
                    return (f"{full}/{'/'.join(rest)}", f"item {full!r} exists but has no page {'/'.join(rest)!r}",
                            "the item may be of another type than expected, or a plugin is missing")
                return (full, f"item {full!r} was not found", None)
        full = "/".join(names)
        return (full, f"{full!r} (or a part of its path) does not exist" + (f" (requested /{rel})" if rest else ""),
                "check each folder of the path exists")


def _hint_400(msg: str) -> str | None:
    if not msg:
        return None
    if "already exists" in msg:
        return "the name is taken (Jenkins compares names case-insensitively); update the existing item instead"
    if "unsafe character" in msg or "is not an allowed name" in msg or "cannot end with" in msg or "control code" in msg:
        return "rename the item: Jenkins refuses ?*/\\%!@#$^&|<>[]:; control characters, '.'/'..' and a trailing '.'"
    if "Nothing is submitted" in msg or "expects a form submission" in msg:
        return "the job is parameterized: trigger it through buildWithParameters (defaults apply to omitted parameters)"
    if "Content-Type" in msg:
        return "send the XML with Content-Type: text/xml"
    return None


def _short_exc(e: BaseException) -> str:
    """A one-line description of a transport error without object reprs (no headers, no auth)."""
    reason: Any = e.args[0] if e.args else e
    if isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = str(reason)
    # urllib3 puts "<urllib3.connection.HTTPConnection object at 0x..>: " in front of messages.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
    return _secrets.scrub(text.strip().rstrip(")").strip("(")) or type(e).__name__


__all__ = ["InsecureJenkinsWarning", "JenkinsClient", "permission_title"]
