"""The lean HTTP transport under `JenkinsClient`: urllib3 on kept-alive connections, no requests machinery.

Why: a job sync is thousands of small requests, and `requests.Session.request` spends 1-1.5 ms of
CPU on each (request preparation and settings merging, hooks, the pool-key lookup, cookie policy
checks), several times what the request itself costs on a kept-alive connection. With 8 workers on
a 2-core machine that CPU, not the network, set the pace. This module sends the same request (same
headers, auth, cookies, TLS settings, timeouts) straight through one urllib3 connection pool per
client, one connection per worker, and raises the *same* `requests` exceptions `requests`' own
adapter would (the mapping below follows `requests.adapters.HTTPAdapter.send` and
`Response.iter_content`), so the client's retry, crumb and "may have been applied" decisions are
untouched.

It is used only where it is exactly equivalent; the client falls back to its `requests.Session`
for a streamed response, a proxy, a GET that is redirected, or a session the caller injected.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import requests.cookies
import requests.exceptions as rex
import requests.utils
import urllib3
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.exceptions import HTTPError as _HTTPError
from urllib3.exceptions import ProxyError as _ProxyError
from urllib3.exceptions import SSLError as _SSLError
from urllib3.util.retry import Retry

_NO_RETRIES = Retry(0, read=False)  # as requests' HTTPAdapter(max_retries=0): the client decides
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~!#$%&'()*+,/:;=?@\[\]]")  # outside requote_uri's safe set


class LeanResponse:
    """The part of `requests.Response` the client and its callers use, with the body already read."""

    __slots__ = ("status_code", "reason", "headers", "url", "content", "encoding", "raw", "_content_consumed")

    def __init__(self, status: int, reason: str, headers: Any, url: str, content: bytes) -> None:
        self.status_code = status
        self.reason = reason
        self.headers = headers  # urllib3 HTTPHeaderDict: case-insensitive, like requests' headers
        self.url = url
        self.content = content
        self.encoding = requests.utils.get_encoding_from_headers(headers)
        self.raw = None
        self._content_consumed = True

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self, **kw: Any) -> Any:
        if self.encoding:
            return json.loads(self.content.decode(self.encoding, errors="strict"), **kw)
        return json.loads(self.content, **kw)  # bytes: the JSON decoder detects UTF-8/16/32 itself

    def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Any:
        data = self.text if decode_unicode else self.content
        step = chunk_size or len(data) or 1
        return iter([data[i : i + step] for i in range(0, len(data), step)])

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<LeanResponse [{self.status_code}]>"


class _CookieRequest:
    """What `requests.cookies` needs of a request to apply the cookie policy (domain, path, secure)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers


class LeanTransport:
    """One urllib3 pool for the client's origin; thread-safe (each worker takes its own connection)."""

    def __init__(self, url: str, *, verify: bool | str, timeout: float, session: requests.Session, maxsize: int = 64) -> None:
        p = urlsplit(url)
        self.scheme = p.scheme.lower()
        self._session = session  # its cookie jar is the one cookie store, shared with the fallback path
        kw: dict[str, Any] = {"maxsize": maxsize, "block": False, "retries": _NO_RETRIES, "timeout": timeout}
        if self.scheme == "https":
            if verify:
                loc = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
                if not loc or not os.path.exists(loc):
                    raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {loc}")
                kw["cert_reqs"] = "CERT_REQUIRED"
                kw["ca_cert_dir" if os.path.isdir(loc) else "ca_certs"] = loc
            else:
                kw["cert_reqs"] = "CERT_NONE"
            self._pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(p.hostname or "", p.port, **kw)
        else:
            self._pool = urllib3.HTTPConnectionPool(p.hostname or "", p.port, **kw)
        self._timeout = timeout
        base: dict[str, Any] = dict(requests.utils.default_headers())
        base.update(session.headers)
        self._base_headers = base
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.close()

    def _cookie_header(self, url: str, headers: dict[str, str]) -> str | None:
        jar = self._session.cookies
        with self._lock:  # a worker may be storing a new session cookie meanwhile
            if not jar._cookies:  # type: ignore[attr-defined]  # (token auth: no cookies, no policy work)
                return None
            return requests.cookies.get_cookie_header(jar, _CookieRequest(url, headers))

    def send(self, method: str, url: str, *, params: Any = None, data: bytes | None = None,
             headers: Mapping[str, str] | None = None, auth_header: str | None = None,
             timeout: float | None = None) -> LeanResponse:
        """Send one request and read the whole answer. Raises the `requests` exception requests would."""
        if params:
            pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
            q = urlencode([(k, v) for k, v in pairs if v is not None], doseq=True)  # requests drops None values too
            if q:
                url = url + ("&" if "?" in url else "?") + q
        hdrs = dict(self._base_headers)
        if headers:
            hdrs.update(headers)
        if auth_header:
            hdrs["Authorization"] = auth_header
        if data is None and method not in ("GET", "HEAD"):
            hdrs["Content-Length"] = "0"
        cookie = self._cookie_header(url, hdrs)
        if cookie:
            hdrs["Cookie"] = cookie
        p = urlsplit(url)
        target = p.path + (f"?{p.query}" if p.query else "")
        if _NEEDS_QUOTING.search(target):  # a raw space, non-ASCII...: quoted as requests' prepare_url does
            target = requests.utils.requote_uri(target)
        try:
            r = self._pool.urlopen(method, target or "/", body=data, headers=hdrs, redirect=False, assert_same_host=False,
                                   preload_content=False, decode_content=False, retries=_NO_RETRIES,
                                   timeout=self._timeout if timeout is None else timeout)
        except (ProtocolError, OSError) as err:
            raise rex.ConnectionError(err) from None
        except MaxRetryError as e:
            if isinstance(e.reason, ConnectTimeoutError) and not isinstance(e.reason, NewConnectionError):
                raise rex.ConnectTimeout(e) from None
            if isinstance(e.reason, ResponseError):
                raise rex.RetryError(e) from None
            if isinstance(e.reason, _ProxyError):
                raise rex.ProxyError(e) from None
            if isinstance(e.reason, _SSLError):
                raise rex.SSLError(e) from None
            raise rex.ConnectionError(e) from None
        except ClosedPoolError as e:
            raise rex.ConnectionError(e) from None
        except _SSLError as e:
            raise rex.SSLError(e) from None
        except ReadTimeoutError as e:
            raise rex.ReadTimeout(e) from None
        except _HTTPError as e:
            raise rex.ConnectionError(e) from None
        try:
            body = r.read(decode_content=True) if method != "HEAD" else b""
        except ProtocolError as e:
            raise rex.ChunkedEncodingError(e) from None
        except DecodeError as e:
            raise rex.ContentDecodingError(e) from None
        except ReadTimeoutError as e:
            raise rex.ConnectionError(e) from None
        except _SSLError as e:
            raise rex.SSLError(e) from None
        finally:
            r.release_conn()
        if "set-cookie" in r.headers:
            with self._lock:
                requests.cookies.extract_cookies_to_jar(self._session.cookies, _CookieRequest(url, hdrs), r)  # type: ignore[arg-type]
        return LeanResponse(r.status, r.reason or "", r.headers, url, body or b"")


def is_redirect(resp: LeanResponse) -> bool:
    return resp.status_code in _REDIRECTS and "location" in resp.headers


__all__ = ["LeanResponse", "LeanTransport", "is_redirect"]
